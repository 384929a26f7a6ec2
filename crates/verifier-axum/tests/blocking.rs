//! The blocking verifier behind `Auth` (feature `blocking`): offloaded with `spawn_blocking`.
#![cfg(feature = "blocking")]

use std::net::SocketAddr;
use std::time::Duration;

use axum::routing::get;
use axum::{Json, Router};
use reqwest::StatusCode;
use verifier_axum::{Auth, Claims};
use verifier_core::{AuthConfig, JwtVerifier};
use verifier_testkit::{TestIssuer, DEFAULT_AUDIENCE};

fn config(issuer: &TestIssuer, timeout: Duration) -> AuthConfig {
    AuthConfig::builder()
        .issuer(issuer.issuer())
        .audience(DEFAULT_AUDIENCE)
        .jwks_url(issuer.jwks_url())
        .jwks_timeout(timeout)
        .build()
        .unwrap()
}

/// `reqwest::blocking` clients must not be built on an async executor thread.
async fn blocking_auth(config: AuthConfig) -> Auth {
    let verifier = tokio::task::spawn_blocking(move || JwtVerifier::new(config))
        .await
        .unwrap()
        .unwrap();
    Auth::new(verifier).with_realm("api")
}

async fn me(Claims(claims): Claims) -> Json<verifier_core::Claims> {
    Json(claims)
}

async fn public() -> &'static str {
    "public"
}

async fn serve(auth: Auth) -> SocketAddr {
    let app = Router::new()
        .route("/me", get(me))
        .route(
            "/admin",
            get(me).route_layer(auth.require_scopes(["admin"])),
        )
        .route("/public", get(public))
        .with_state(auth);
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    addr
}

async fn fetch(addr: SocketAddr, path: &str, token: Option<&str>) -> reqwest::Response {
    let client = reqwest::Client::builder().no_proxy().build().unwrap();
    let mut req = client.get(format!("http://{addr}{path}"));
    if let Some(token) = token {
        req = req.bearer_auth(token);
    }
    req.send().await.unwrap()
}

#[tokio::test(flavor = "current_thread")]
async fn blocking_verifier_in_extractor_and_layer() {
    let issuer = TestIssuer::start();
    let addr = serve(blocking_auth(config(&issuer, Duration::from_secs(3))).await).await;
    let token = issuer.token().build();

    let resp = fetch(addr, "/me", Some(&token)).await;
    assert_eq!(resp.status(), StatusCode::OK);
    let claims: serde_json::Value = resp.json().await.unwrap();
    assert_eq!(claims["sub"], "user-123");

    let resp = fetch(addr, "/admin", Some(&token)).await;
    assert_eq!(resp.status(), StatusCode::FORBIDDEN);
    assert_eq!(
        resp.headers()["www-authenticate"],
        r#"Bearer realm="api", error="insufficient_scope", error_description="Insufficient scope", scope="admin""#
    );
}

/// One executor thread: a blocking fetch run on it would hold every other request.
#[tokio::test(flavor = "current_thread")]
async fn slow_jwks_fetch_does_not_stall_the_executor() {
    let issuer = TestIssuer::start();
    issuer.set_delay(Duration::from_secs(60));
    let addr = serve(blocking_auth(config(&issuer, Duration::from_secs(60))).await).await;

    let token = issuer.token().build();
    let slow = tokio::spawn(async move { fetch(addr, "/me", Some(&token)).await.status() });
    for _ in 0..2000 {
        if issuer.fetch_count() == 1 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    assert_eq!(issuer.fetch_count(), 1, "the JWKS fetch started");

    let resp = fetch(addr, "/public", None).await;
    assert_eq!(resp.text().await.unwrap(), "public");
    assert!(
        !slow.is_finished(),
        "the other request completed while the slow verification was pending"
    );

    // Dropping the issuer closes the delayed connection: the fetch fails, 503.
    drop(issuer);
    let status = tokio::time::timeout(Duration::from_secs(30), slow)
        .await
        .expect("ends once the issuer is gone")
        .unwrap();
    assert_eq!(status, StatusCode::SERVICE_UNAVAILABLE);
}
