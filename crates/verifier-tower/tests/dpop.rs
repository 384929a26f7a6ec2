//! DPoP (RFC 9449) through the tower layer over real HTTP: the challenges of SPEC-2
//! §5.10 byte for byte, the modes, `DPoP-Nonce` on success, and a 403 that leaves the
//! proof unused. Proofs are made for the public origin `https://api.example.com`
//! (`public_base_url`) plus the request path, as behind a TLS-terminating proxy.

mod common;

use std::sync::Arc;
use std::time::Duration;

use common::*;
use http::StatusCode;
use reqwest::Method;
use serde_json::json;
use verifier_core::dpop::DpopVerifier;
use verifier_core::{AsyncJwtVerifier, ResourceConfig, ResourceServer};
use verifier_testkit::conformance::challenges::{
    dpop_config, DpopCase, Expected, Mode, PUBLIC_ORIGIN, REALM, REQUIRED_SCOPE, RESOURCE,
};
use verifier_testkit::{Alg, DpopProof, TestClock, TestIssuer, TestKey};
use verifier_tower::BearerAuthLayer;

/// A verifier of `issuer` with `dpop`, and the resource of the SPEC-2 tables when
/// `with_resource`.
fn verifier(issuer: &TestIssuer, dpop: DpopVerifier, with_resource: bool) -> AsyncJwtVerifier {
    let mut builder = AsyncJwtVerifier::builder()
        .issuer(config(issuer))
        .dpop(dpop);
    if with_resource {
        builder = builder.resource(
            ResourceConfig::builder()
                .resource(RESOURCE)
                .build()
                .unwrap(),
        );
    }
    builder.build().expect("verifier")
}

/// A valid DPoP request for `GET path`: a token bound to `key` and its proof.
fn dpop_request(issuer: &TestIssuer, key: &TestKey, path: &str) -> Vec<(&'static str, String)> {
    let token = issuer
        .token()
        .claim("scope", json!("read"))
        .cnf_jkt(key)
        .build();
    let proof = DpopProof::new(key)
        .htu(&format!("{PUBLIC_ORIGIN}{path}"))
        .ath_for(&token)
        .build();
    vec![("authorization", format!("DPoP {token}")), ("dpop", proof)]
}

/// Runs one row of §5.10 through a layer with `expected`'s realm and resource.
async fn run_case(case: DpopCase, with_resource: bool) -> reqwest::Response {
    let issuer = TestIssuer::start();
    let key = TestKey::generate(Alg::ES256, "client");
    let dpop = DpopVerifier::new(dpop_config(case.mode(), case.nonce_mode()));
    let mut layer = BearerAuthLayer::new(verifier(&issuer, dpop, with_resource)).realm(REALM);
    if case.requires_scope() {
        layer = layer.require_scopes([REQUIRED_SCOPE]);
    }
    let addr = serve(vec![("/mcp", protect(layer))]).await;
    let fields = case.headers(&issuer, &key, "/mcp");
    if case.sent_twice() {
        let first = send(addr, Method::GET, "/mcp", &fields).await;
        assert_eq!(first.status(), StatusCode::OK, "{case:?}: first use");
    }
    send(addr, Method::GET, "/mcp", &fields).await
}

// DP29 (tower, axum: the tower part): every header of §5.10, byte for byte and
// through the strict parser, with and without a resource (`, M` dropped).
#[tokio::test]
async fn every_dpop_challenge_is_exact() {
    for with_resource in [true, false] {
        let expected = match with_resource {
            true => Expected::spec(),
            false => Expected::new(Some(REALM)),
        };
        for case in DpopCase::ALL {
            let resp = run_case(case, with_resource).await;
            assert_eq!(resp.status().as_u16(), case.status(), "{case:?}");
            assert_eq!(
                www_authenticate_all(&resp),
                case.fields(&expected),
                "{case:?} resource: {with_resource}"
            );
            let nonce = resp.headers().get("dpop-nonce");
            assert_eq!(nonce.is_some(), case.dpop_nonce(), "{case:?}");
            if let Some(nonce) = nonce {
                assert!(!nonce.is_empty());
            }
        }
    }
}

// DP23 (tower, axum: the tower part)
#[tokio::test]
async fn dpop_scheme_in_mode_off_is_missing_token_and_optional_routes_pass() {
    let issuer = TestIssuer::start();
    let key = TestKey::generate(Alg::ES256, "client");
    let v = verifier(
        &issuer,
        DpopVerifier::new(dpop_config(Mode::Off, false)),
        true,
    );
    let layer = BearerAuthLayer::new(v).realm(REALM);
    let addr = serve(vec![
        ("/me", protect(layer.clone())),
        ("/optional", protect(layer.optional())),
    ])
    .await;
    let resp = send(
        addr,
        Method::GET,
        "/me",
        &dpop_request(&issuer, &key, "/me"),
    )
    .await;
    assert_eq!(resp.status(), StatusCode::UNAUTHORIZED);
    assert_eq!(
        www_authenticate_all(&resp),
        [Expected::spec().bearer()],
        "Bearer only"
    );
    assert_eq!(json(resp).await["code"], "missing_token");
    let fields = dpop_request(&issuer, &key, "/optional");
    let resp = send(addr, Method::GET, "/optional", &fields).await;
    assert_eq!(resp.status(), StatusCode::OK);
    assert_eq!(resp.text().await.unwrap(), "anonymous");
}

// DP24 (tower, axum: the tower part)
#[tokio::test]
async fn bearer_in_mode_required_gets_the_dpop_challenge_only() {
    let resp = run_case(DpopCase::RequiredBearer, true).await;
    assert_eq!(resp.status(), StatusCode::UNAUTHORIZED);
    assert_eq!(
        www_authenticate_all(&resp),
        [
            r#"DPoP realm="api", algs="ES256 EdDSA", resource_metadata="https://api.example.com/.well-known/oauth-protected-resource/mcp""#
        ]
    );
}

/// A valid DPoP request reaches the service with `Authenticated` (scheme DPoP, the
/// proof key's thumbprint) next to the claims.
#[tokio::test]
async fn valid_dpop_request_reaches_the_service() {
    let issuer = TestIssuer::start();
    let key = TestKey::generate(Alg::EdDSA, "client");
    let v = verifier(
        &issuer,
        DpopVerifier::new(dpop_config(Mode::Required, false)),
        true,
    );
    let seen = Arc::new(std::sync::Mutex::new(None));
    let seen_in = seen.clone();
    let inner = tower::service_fn(move |req: http::Request<hyper::body::Incoming>| {
        let seen = seen_in.clone();
        async move {
            let auth = req
                .extensions()
                .get::<verifier_core::Authenticated>()
                .cloned();
            *seen.lock().unwrap() = auth;
            Ok::<_, std::convert::Infallible>(http::Response::new(Body::from("ok")))
        }
    });
    let service = tower::Layer::layer(&BearerAuthLayer::new(v), inner);
    let addr = serve(vec![("/me", Route::new(service))]).await;
    let resp = send(
        addr,
        Method::GET,
        "/me",
        &dpop_request(&issuer, &key, "/me"),
    )
    .await;
    assert_eq!(resp.status(), StatusCode::OK);
    assert!(resp.headers().get("dpop-nonce").is_none());
    let auth = seen
        .lock()
        .unwrap()
        .take()
        .expect("Authenticated in the extensions");
    assert_eq!(auth.scheme, verifier_core::Scheme::Dpop);
    assert_eq!(auth.dpop.expect("confirmation").jkt, key.thumbprint());
}

// DP27 (tower, axum: the tower part)
#[tokio::test]
async fn previous_window_nonce_passes_with_a_fresh_nonce_on_the_response() {
    let issuer = TestIssuer::start();
    let key = TestKey::generate(Alg::ES256, "client");
    let clock = TestClock::new();
    let dpop = DpopVerifier::with_clock(dpop_config(Mode::Allowed, true), Arc::new(clock.clone()));
    let v = verifier(&issuer, dpop, true);
    let previous = v.dpop().unwrap().current_nonce().expect("nonce mode");
    let addr = serve(vec![("/me", protect(BearerAuthLayer::new(v.clone())))]).await;
    clock.advance(Duration::from_secs(60));
    let token = issuer.token().cnf_jkt(&key).build();
    let proof = DpopProof::new(&key)
        .htu(&format!("{PUBLIC_ORIGIN}/me"))
        .ath_for(&token)
        .iat(clock.unix_secs())
        .nonce(previous.to_str().unwrap())
        .build();
    let fields = [("authorization", format!("DPoP {token}")), ("dpop", proof)];
    let resp = send(addr, Method::GET, "/me", &fields).await;
    assert_eq!(resp.status(), StatusCode::OK);
    let fresh = resp
        .headers()
        .get("dpop-nonce")
        .expect("a fresh DPoP-Nonce")
        .clone();
    assert_ne!(fresh, previous);
    assert_eq!(Some(fresh), v.dpop().unwrap().current_nonce());
    assert_eq!(json(resp).await["sub"], "user-123");
}

/// A DPoP request refused 403 for scope does not use up its proof: the same proof is
/// then accepted on a route without the requirement (same verifier, same replay store),
/// and only then refused as replayed.
#[tokio::test]
async fn a_403_for_scope_leaves_the_proof_unused() {
    let issuer = TestIssuer::start();
    let key = TestKey::generate(Alg::ES256, "client");
    let v = verifier(
        &issuer,
        DpopVerifier::new(dpop_config(Mode::Allowed, false)),
        true,
    );
    let strict = serve(vec![(
        "/mcp",
        protect(BearerAuthLayer::new(v.clone()).require_scopes(["admin"])),
    )])
    .await;
    let lenient = serve(vec![("/mcp", protect(BearerAuthLayer::new(v)))]).await;
    let fields = dpop_request(&issuer, &key, "/mcp");
    let resp = send(strict, Method::GET, "/mcp", &fields).await;
    assert_eq!(resp.status(), StatusCode::FORBIDDEN);
    assert_eq!(
        www_authenticate_all(&resp),
        DpopCase::MissingScope.fields(&Expected::spec().realm(None))
    );
    let resp = send(lenient, Method::GET, "/mcp", &fields).await;
    assert_eq!(resp.status(), StatusCode::OK);
    let resp = send(lenient, Method::GET, "/mcp", &fields).await;
    assert_eq!(resp.status(), StatusCode::UNAUTHORIZED);
    assert_eq!(json(resp).await["code"], "dpop_proof_replayed");
}
