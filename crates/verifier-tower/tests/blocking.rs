//! The blocking verifier behind `BearerAuth`: offloaded with `spawn_blocking`.
#![cfg(feature = "blocking")]

mod common;

use std::time::Duration;

use common::*;
use http::StatusCode;
use verifier_core::{AuthConfig, JwtVerifier};
use verifier_testkit::{TestIssuer, DEFAULT_AUDIENCE};
use verifier_tower::{BearerAuthLayer, Verifier};

/// `reqwest::blocking` clients must not be built on an async executor thread.
async fn blocking_verifier(config: AuthConfig) -> JwtVerifier {
    tokio::task::spawn_blocking(move || JwtVerifier::new(config))
        .await
        .expect("join")
        .expect("verifier")
}

async fn wait_until(what: &str, mut condition: impl FnMut() -> bool) {
    for _ in 0..2000 {
        if condition() {
            return;
        }
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    panic!("timed out waiting for {what}");
}

#[tokio::test(flavor = "current_thread")]
async fn blocking_verifier_verifies_and_checks_health() {
    let issuer = TestIssuer::start();
    let verifier = blocking_verifier(config(&issuer)).await;
    let as_enum = Verifier::from(verifier.clone());
    assert!(as_enum.healthcheck(false).await);

    let addr = serve(vec![
        (
            "/me",
            protect(BearerAuthLayer::new(verifier.clone()).realm("api")),
        ),
        (
            "/admin",
            protect(
                BearerAuthLayer::new(verifier)
                    .realm("api")
                    .require_scopes(["admin"]),
            ),
        ),
    ])
    .await;
    let token = issuer.token().build();
    let resp = get(addr, "/me", Some(&format!("Bearer {token}"))).await;
    assert_eq!(resp.status(), StatusCode::OK);
    assert_eq!(json(resp).await["sub"], "user-123");

    let resp = get(addr, "/admin", Some(&format!("Bearer {token}"))).await;
    assert_eq!(resp.status(), StatusCode::FORBIDDEN);
    assert_eq!(
        www_authenticate(&resp).as_deref(),
        Some(
            r#"Bearer realm="api", error="insufficient_scope", error_description="Insufficient scope", scope="admin""#
        )
    );
}

/// One executor thread: if the blocking verifier ran on it, the slow key-set fetch would
/// hold every other request (and the test's own client) until it ended.
#[tokio::test(flavor = "current_thread")]
async fn slow_jwks_fetch_does_not_stall_the_executor() {
    let issuer = TestIssuer::start();
    // Far longer than the test: the fetch only ends when the issuer is dropped below.
    issuer.set_delay(Duration::from_secs(60));
    let config = AuthConfig::builder()
        .issuer(issuer.issuer())
        .audience(DEFAULT_AUDIENCE)
        .jwks_url(issuer.jwks_url())
        .jwks_timeout(Duration::from_secs(60))
        .build()
        .unwrap();
    let verifier = blocking_verifier(config).await;
    let addr = serve(vec![
        ("/me", protect(BearerAuthLayer::new(verifier).realm("api"))),
        ("/public", handler()),
    ])
    .await;

    let token = issuer.token().build();
    let slow = tokio::spawn(async move {
        get(addr, "/me", Some(&format!("Bearer {token}")))
            .await
            .status()
    });
    // The verification is now blocked inside the JWKS fetch (cold cache).
    wait_until("the JWKS fetch to start", || issuer.fetch_count() == 1).await;

    let resp = get(addr, "/public", None).await;
    assert_eq!(resp.status(), StatusCode::OK);
    assert_eq!(resp.text().await.unwrap(), "anonymous");
    assert!(
        !slow.is_finished(),
        "the other request completed while the slow verification was still pending"
    );

    // Dropping the issuer closes the delayed connection: the fetch fails, 503.
    drop(issuer);
    let status = tokio::time::timeout(Duration::from_secs(30), slow)
        .await
        .expect("the slow request ends once the issuer is gone")
        .expect("join");
    assert_eq!(status, StatusCode::SERVICE_UNAVAILABLE);
}

/// The blocking flavour through the layer: the metadata document, a DPoP request, a 403
/// for scope that leaves the proof unused, then the replay refused; the layer's health.
#[tokio::test]
async fn blocking_verifier_serves_metadata_and_dpop() {
    use reqwest::Method;
    use verifier_core::dpop::DpopVerifier;
    use verifier_testkit::conformance::challenges::{
        dpop_config, metadata_resource_config, Mode, METADATA_BODY, PUBLIC_ORIGIN,
        RESOURCE_METADATA_PATH,
    };
    use verifier_testkit::{Alg, DpopProof, TestKey};

    let issuer = TestIssuer::start();
    let config = config(&issuer);
    let verifier = tokio::task::spawn_blocking(move || {
        JwtVerifier::builder()
            .issuer(config)
            .resource(metadata_resource_config())
            .dpop(DpopVerifier::new(dpop_config(Mode::Allowed, false)))
            .build()
    })
    .await
    .expect("join")
    .expect("verifier");
    let layer = BearerAuthLayer::new(verifier);
    assert!(layer.healthcheck(false).await);
    assert!(layer.health().await.ready);
    let strict = serve(vec![(
        "/mcp",
        protect(layer.clone().require_scopes(["admin"])),
    )])
    .await;
    let lenient = serve_all(protect(layer)).await;

    let resp = send(lenient, Method::GET, RESOURCE_METADATA_PATH, &[]).await;
    assert_eq!(resp.status(), StatusCode::OK);
    assert_eq!(resp.text().await.unwrap(), METADATA_BODY);

    let key = TestKey::generate(Alg::ES256, "client");
    let token = issuer.token().cnf_jkt(&key).build();
    let proof = DpopProof::new(&key)
        .htu(&format!("{PUBLIC_ORIGIN}/mcp"))
        .ath_for(&token)
        .build();
    let fields = [("authorization", format!("DPoP {token}")), ("dpop", proof)];
    let resp = send(strict, Method::GET, "/mcp", &fields).await;
    assert_eq!(resp.status(), StatusCode::FORBIDDEN);
    let resp = send(lenient, Method::GET, "/mcp", &fields).await;
    assert_eq!(resp.status(), StatusCode::OK);
    assert_eq!(json(resp).await["sub"], "user-123");
    let resp = send(lenient, Method::GET, "/mcp", &fields).await;
    assert_eq!(resp.status(), StatusCode::UNAUTHORIZED);
    assert_eq!(json(resp).await["code"], "dpop_proof_replayed");
}
