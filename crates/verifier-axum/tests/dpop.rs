//! DPoP (RFC 9449) through axum over real HTTP, with the extractors and with
//! `Auth::layer`: the challenges of SPEC-2 §5.10 byte for byte, the modes, nested routers
//! (`OriginalUri`), `DPoP-Nonce`, and a 403 that leaves the proof unused. Proofs are
//! made for `https://api.example.com` (`public_base_url`) plus the path the client used.

mod common;

use std::sync::Arc;
use std::time::Duration;

use axum::routing::get;
use axum::Router;
use common::*;
use reqwest::{Method, StatusCode};
use serde_json::json;
use verifier_axum::Auth;
use verifier_core::dpop::DpopVerifier;
use verifier_core::ResourceServer;
use verifier_testkit::conformance::challenges::{DpopCase, Expected, Mode, PUBLIC_ORIGIN, REALM};
use verifier_testkit::{Alg, DpopProof, TestClock, TestIssuer, TestKey};

/// A valid DPoP request for `GET htu_path`: a token bound to `key`, its proof.
fn dpop_request(issuer: &TestIssuer, key: &TestKey, htu_path: &str) -> Vec<(&'static str, String)> {
    let token = issuer
        .token()
        .claim("scope", json!("read"))
        .cnf_jkt(key)
        .build();
    let proof = DpopProof::new(key)
        .htu(&format!("{PUBLIC_ORIGIN}{htu_path}"))
        .ath_for(&token)
        .build();
    vec![("authorization", format!("DPoP {token}")), ("dpop", proof)]
}

async fn run_case(case: DpopCase, style: Style, with_resource: bool) -> reqwest::Response {
    let issuer = TestIssuer::start();
    let key = TestKey::generate(Alg::ES256, "client");
    let dpop = DpopVerifier::new(dpop_config(case.mode(), case.nonce_mode()));
    let auth = Auth::new(dpop_verifier(&issuer, dpop, with_resource)).realm(REALM);
    let addr = serve(app(auth, style, "/mcp", case.requires_scope())).await;
    let sent = case.headers(&issuer, &key, "/mcp");
    if case.sent_twice() {
        let first = send(addr, Method::GET, "/mcp", &sent).await;
        assert_eq!(
            first.status(),
            StatusCode::OK,
            "{case:?} {style:?}: first use"
        );
    }
    send(addr, Method::GET, "/mcp", &sent).await
}

// DP29 (tower, axum: the axum part): every header of §5.10, byte for byte and
// through the strict parser, from the extractors and from the layer, with and without a
// resource; `DPoP-Nonce` on the nonce rejection.
#[tokio::test]
async fn every_dpop_challenge_is_exact() {
    for style in STYLES {
        for with_resource in [true, false] {
            let expected = match with_resource {
                true => Expected::spec(),
                false => Expected::new(Some(REALM)),
            };
            for case in DpopCase::ALL {
                let resp = run_case(case, style, with_resource).await;
                let what = format!("{case:?} {style:?} resource: {with_resource}");
                assert_eq!(resp.status().as_u16(), case.status(), "{what}");
                assert_eq!(fields(&resp), case.fields(&expected), "{what}");
                let nonce = resp.headers().get("dpop-nonce");
                assert_eq!(nonce.is_some(), case.dpop_nonce(), "{what}");
            }
        }
    }
}

// DP10 (axum): behind `Router::nest("/api", ..)` the proof signs the original URI.
#[tokio::test]
async fn dp10_nested_router_matches_htu_against_the_original_uri() {
    let issuer = TestIssuer::start();
    let key = TestKey::generate(Alg::ES256, "client");
    let dpop = DpopVerifier::new(dpop_config(Mode::Allowed, false));
    let auth = Auth::new(dpop_verifier(&issuer, dpop, true)).realm(REALM);
    let extractor = Router::new().route("/me", get(me)).with_state(auth.clone());
    let layered = Router::new()
        .route("/me", get(me))
        .route_layer(auth.layer())
        .with_state(auth.clone());
    for (what, inner) in [("extractor", extractor), ("layer", layered)] {
        let addr = serve(Router::new().nest("/api", inner)).await;
        let resp = send(
            addr,
            Method::GET,
            "/api/me",
            &dpop_request(&issuer, &key, "/api/me"),
        )
        .await;
        assert_eq!(resp.status(), StatusCode::OK, "{what}");
        assert_eq!(json(resp).await["sub"], "user-123");

        let resp = send(
            addr,
            Method::GET,
            "/api/me",
            &dpop_request(&issuer, &key, "/me"),
        )
        .await;
        assert_eq!(resp.status(), StatusCode::UNAUTHORIZED, "{what}");
        assert_eq!(
            fields(&resp)[0],
            Expected::spec().field(
                "DPoP",
                Some((
                    "invalid_dpop_proof",
                    "DPoP proof does not match the request"
                )),
                None
            ),
            "{what}"
        );
    }
}

// DP23 (tower, axum: the axum part)
#[tokio::test]
async fn dpop_scheme_in_mode_off_is_missing_token_and_optional_routes_pass() {
    let issuer = TestIssuer::start();
    let key = TestKey::generate(Alg::ES256, "client");
    let dpop = DpopVerifier::new(dpop_config(Mode::Off, false));
    let auth = Auth::new(dpop_verifier(&issuer, dpop, true)).realm(REALM);
    for style in STYLES {
        let optional_route = match style {
            Style::Extractor => Router::new().route("/optional", get(optional)),
            Style::Layer => Router::new()
                .route("/optional", get(optional))
                .route_layer(auth.optional_layer()),
        };
        let router =
            app(auth.clone(), style, "/me", false).merge(optional_route.with_state(auth.clone()));
        let addr = serve(router).await;
        let resp = send(
            addr,
            Method::GET,
            "/me",
            &dpop_request(&issuer, &key, "/me"),
        )
        .await;
        assert_eq!(resp.status(), StatusCode::UNAUTHORIZED, "{style:?}");
        assert_eq!(
            fields(&resp),
            [Expected::spec().bearer()],
            "{style:?}: Bearer only"
        );
        assert_eq!(json(resp).await["code"], "missing_token");
        let sent = dpop_request(&issuer, &key, "/optional");
        let resp = send(addr, Method::GET, "/optional", &sent).await;
        assert_eq!(resp.status(), StatusCode::OK, "{style:?}");
        assert_eq!(resp.text().await.unwrap(), "anonymous", "{style:?}");
    }
}

// DP24 (tower, axum: the axum part)
#[tokio::test]
async fn bearer_in_mode_required_gets_the_dpop_challenge_only() {
    for style in STYLES {
        let resp = run_case(DpopCase::RequiredBearer, style, true).await;
        assert_eq!(resp.status(), StatusCode::UNAUTHORIZED, "{style:?}");
        assert_eq!(
            fields(&resp),
            [
                r#"DPoP realm="api", algs="ES256 EdDSA", resource_metadata="https://api.example.com/.well-known/oauth-protected-resource/mcp""#
            ],
            "{style:?}"
        );
    }
}

// DP27 (tower, axum: the axum part): through `Auth::layer` (extractors alone
// cannot set headers on a handler's response; documented).
#[tokio::test]
async fn previous_window_nonce_passes_with_a_fresh_nonce_on_the_response() {
    let issuer = TestIssuer::start();
    let key = TestKey::generate(Alg::ES256, "client");
    let clock = TestClock::new();
    let dpop = DpopVerifier::with_clock(dpop_config(Mode::Allowed, true), Arc::new(clock.clone()));
    let verifier = dpop_verifier(&issuer, dpop, true);
    let previous = verifier
        .dpop()
        .unwrap()
        .current_nonce()
        .expect("nonce mode");
    let auth = Auth::new(verifier.clone());
    let addr = serve(app(auth, Style::Layer, "/me", false)).await;
    clock.advance(Duration::from_secs(60));
    let token = issuer.token().cnf_jkt(&key).build();
    let proof = DpopProof::new(&key)
        .htu(&format!("{PUBLIC_ORIGIN}/me"))
        .ath_for(&token)
        .iat(clock.unix_secs())
        .nonce(previous.to_str().unwrap())
        .build();
    let sent = [("authorization", format!("DPoP {token}")), ("dpop", proof)];
    let resp = send(addr, Method::GET, "/me", &sent).await;
    assert_eq!(resp.status(), StatusCode::OK);
    let fresh = resp
        .headers()
        .get("dpop-nonce")
        .expect("a fresh DPoP-Nonce")
        .clone();
    assert_ne!(fresh.as_bytes(), previous.as_bytes());
    assert_eq!(
        Some(fresh.as_bytes()),
        verifier
            .dpop()
            .unwrap()
            .current_nonce()
            .as_ref()
            .map(|n| n.as_bytes())
    );
}

/// A DPoP request refused 403 for scope (the `Authorized` guard, and `require_scopes`
/// on the layer) does not use up its proof: the same verifier then accepts it on a
/// route without the requirement, and only then refuses it as replayed.
#[tokio::test]
async fn a_403_for_scope_leaves_the_proof_unused() {
    for style in STYLES {
        let issuer = TestIssuer::start();
        let key = TestKey::generate(Alg::ES256, "client");
        let dpop = DpopVerifier::new(dpop_config(Mode::Allowed, false));
        let auth = Auth::new(dpop_verifier(&issuer, dpop, true)).realm(REALM);
        let strict = serve(app(auth.clone(), style, "/mcp", true)).await;
        let lenient = serve(app(auth, style, "/mcp", false)).await;
        let sent = dpop_request(&issuer, &key, "/mcp");
        let resp = send(strict, Method::GET, "/mcp", &sent).await;
        assert_eq!(resp.status(), StatusCode::FORBIDDEN, "{style:?}");
        assert_eq!(
            fields(&resp),
            DpopCase::MissingScope.fields(&Expected::spec()),
            "{style:?}"
        );
        let resp = send(lenient, Method::GET, "/mcp", &sent).await;
        assert_eq!(resp.status(), StatusCode::OK, "{style:?}");
        let resp = send(lenient, Method::GET, "/mcp", &sent).await;
        assert_eq!(resp.status(), StatusCode::UNAUTHORIZED, "{style:?}");
        assert_eq!(json(resp).await["code"], "dpop_proof_replayed");
    }
}
