//! PF3 through the axum extractor: under the RFC 9068 profile an ID token of the same
//! issuer for our audience is refused with the exact challenge of SPEC-2 §3.5; and an
//! `Auth` given a `Challenge` with `resource_metadata` (SPEC-2 §4.6) emits it, from the
//! extractor and from its layers.

use std::net::SocketAddr;

use axum::routing::get;
use axum::{Json, Router};
use serde_json::json;
use verifier_axum::{Auth, Claims};
use verifier_core::{AsyncJwtVerifier, AuthConfig, Challenge};
use verifier_testkit::{TestIssuer, DEFAULT_AUDIENCE};

const M: &str =
    r#"resource_metadata="https://api.example.com/.well-known/oauth-protected-resource/mcp""#;

async fn me(Claims(claims): Claims) -> Json<verifier_core::Claims> {
    Json(claims)
}

async fn serve(auth: Auth) -> SocketAddr {
    let app = Router::new()
        .route("/me", get(me))
        .route(
            "/admin",
            get(me).route_layer(auth.require_scopes(["admin"])),
        )
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
        req = req.header("authorization", format!("Bearer {token}"));
    }
    req.send().await.unwrap()
}

/// The challenge, checked with the strict RFC 9110 parser.
fn challenge(resp: &reqwest::Response) -> String {
    let value = resp.headers()["www-authenticate"]
        .to_str()
        .unwrap()
        .to_owned();
    verifier_testkit::conformance::challenge_parser::parse(&value).unwrap();
    value
}

fn config(issuer: &TestIssuer) -> verifier_core::AuthConfigBuilder {
    AuthConfig::builder()
        .issuer(issuer.issuer())
        .audience(DEFAULT_AUDIENCE)
        .jwks_url(issuer.jwks_url())
}

// PF3
#[tokio::test]
async fn pf3_id_token_gets_the_token_type_challenge() {
    let issuer = TestIssuer::start();
    let verifier = AsyncJwtVerifier::new(config(&issuer).rfc9068().build().unwrap()).unwrap();
    let addr = serve(Auth::new(verifier).with_realm("api")).await;
    let id_token = issuer
        .token()
        .claim("nonce", json!("n"))
        .claim("auth_time", json!(verifier_testkit::now()))
        .build();
    for path in ["/me", "/admin"] {
        let resp = fetch(addr, path, Some(&id_token)).await;
        assert_eq!(resp.status(), 401, "{path}");
        assert_eq!(
            challenge(&resp),
            r#"Bearer realm="api", error="invalid_token", error_description="Invalid token type""#
        );
    }
    assert_eq!(issuer.fetch_count(), 0);
    let access = issuer
        .token()
        .typ("at+jwt")
        .claim("client_id", json!("c"))
        .claim("jti", json!("j"))
        .build();
    assert_eq!(fetch(addr, "/me", Some(&access)).await.status(), 200);
}

#[tokio::test]
async fn auth_challenge_carries_resource_metadata() {
    let issuer = TestIssuer::start();
    let verifier = AsyncJwtVerifier::new(config(&issuer).build().unwrap()).unwrap();
    let auth =
        Auth::new(verifier).with_challenge(Challenge::bearer(Some("api")).with_resource_metadata(
            "https://api.example.com/.well-known/oauth-protected-resource/mcp",
        ));
    assert_eq!(auth.realm_name(), Some("api"));
    let addr = serve(auth).await;
    for path in ["/me", "/admin"] {
        let resp = fetch(addr, path, None).await;
        assert_eq!(resp.status(), 401);
        assert_eq!(
            challenge(&resp),
            format!(r#"Bearer realm="api", {M}"#),
            "{path}"
        );
    }
    let resp = fetch(addr, "/admin", Some(&issuer.token().build())).await;
    assert_eq!(resp.status(), 403);
    assert_eq!(
        challenge(&resp),
        format!(
            r#"Bearer realm="api", error="insufficient_scope", error_description="Insufficient scope", scope="admin", {M}"#
        )
    );
}
