//! SPEC-2 §5 through actix-web over real HTTP: the DPoP scheme through the extractor,
//! `RequireScopes` and `BearerAuth` (method and full path from the actix request), the
//! challenges of §5.10 byte for byte, `DPoP-Nonce` on responses, and requirements
//! checked before a proof is recorded.

#[macro_use]
mod common;

use std::sync::Arc;
use std::time::Duration;

use actix_web::{web, App};
use serde_json::json;
use verifier_actix::{Auth, BearerAuth};
use verifier_core::ResourceServer;
use verifier_testkit::conformance::challenges::{DpopCase, Expected, Mode, PUBLIC_ORIGIN, REALM};
use verifier_testkit::{Alg, DpopProof, TestClock, TestIssuer, TestKey};

use common::spec::{authorization, get, me, Full, Setup};

/// The extractor and the middleware, for a route with or without the scope requirement.
fn paths(requires_scope: bool) -> [&'static str; 2] {
    match requires_scope {
        true => ["/admin", "/mw-admin"],
        false => ["/me", "/mw/me"],
    }
}

fn holder() -> TestKey {
    TestKey::generate(Alg::ES256, "holder")
}

fn bound_token(issuer: &TestIssuer, key: &TestKey, scope: &str) -> String {
    issuer
        .token()
        .claim("scope", json!(scope))
        .cnf_jkt(key)
        .build()
}

/// `Authorization: DPoP token` and a fresh proof for `GET {PUBLIC_ORIGIN}{path}`.
fn dpop_headers(token: &str, proof: DpopProof) -> Vec<(&'static str, String)> {
    vec![
        ("authorization", format!("DPoP {token}")),
        ("dpop", proof.ath_for(token).build()),
    ]
}

fn proof_for(key: &TestKey, path: &str) -> DpopProof {
    DpopProof::new(key).htu(&format!("{PUBLIC_ORIGIN}{path}"))
}

fn assert_row(reply: &Full, case: DpopCase, e: &Expected, what: &str) {
    assert_eq!(reply.status, case.status(), "{what}: {reply:?}");
    assert_eq!(reply.challenges, case.fields(e), "{what}");
    assert_eq!(reply.dpop_nonce.is_some(), case.dpop_nonce(), "{what}");
}

#[actix_web::test]
async fn dpop_scheme_through_the_extractor_and_the_middleware() {
    let issuer = TestIssuer::start();
    for mode in [Mode::Allowed, Mode::Required] {
        let srv = serve_routes!(Auth::new(Setup::spec(mode).verifier(&issuer)).realm(REALM));
        for alg in [Alg::ES256, Alg::EdDSA] {
            let key = TestKey::generate(alg, "holder");
            let token = bound_token(&issuer, &key, "read admin");
            for path in paths(false).into_iter().chain(paths(true)) {
                let headers = dpop_headers(&token, proof_for(&key, path));
                let reply = get(&srv.url(path), &headers).await;
                let what = format!("{mode:?} {alg:?} {path}");
                assert_eq!(reply.status, 200, "{what}: {reply:?}");
                let body: serde_json::Value = serde_json::from_str(&reply.body).unwrap();
                assert_eq!(body["scheme"], "DPoP", "{what}");
                assert_eq!(body["jkt"], key.thumbprint(), "{what}");
                assert!(reply.dpop_nonce.is_none(), "{what}");
                // The same proof again is a replay, wherever it is presented.
                let again = get(&srv.url(path), &headers).await;
                assert_eq!(again.status, 401, "{what}: {again:?}");
                assert_eq!(again.code(), "dpop_proof_replayed", "{what}");
            }
            // The proof signs the full path and the query: a scope does not strip its
            // prefix, and the query is ignored by `htu` but kept in the URI.
            let headers = dpop_headers(&token, proof_for(&key, "/me"));
            let reply = get(&srv.url("/mw/me"), &headers).await;
            assert_eq!(reply.status, 401, "{mode:?}: {reply:?}");
            assert_eq!(reply.code(), "invalid_dpop_proof");
            let headers = dpop_headers(&token, proof_for(&key, "/mw/me"));
            let reply = get(&srv.url("/mw/me?page=2"), &headers).await;
            assert_eq!(reply.status, 200, "{mode:?}: {reply:?}");
            // `htm` is the actix request's method.
            let headers = dpop_headers(&token, proof_for(&key, "/me").htm("POST"));
            let reply = get(&srv.url("/me"), &headers).await;
            assert_eq!(reply.code(), "invalid_dpop_proof", "{mode:?}");
        }
        srv.stop().await;
    }
}

// DP23 (actix)
#[actix_web::test]
async fn dp23_dpop_scheme_with_dpop_off_is_missing_token() {
    let issuer = TestIssuer::start();
    let key = holder();
    let unbound = issuer.token().build();
    for resource in [true, false] {
        let setup = Setup {
            resource,
            ..Setup::spec(Mode::Off)
        };
        let srv = serve_routes!(Auth::new(setup.verifier(&issuer)).realm(REALM));
        let e = Expected::new(Some(REALM)).resource_metadata(
            resource.then_some(verifier_testkit::conformance::challenges::RESOURCE_METADATA_URL),
        );
        for path in paths(false).into_iter().chain(paths(true)) {
            let headers = dpop_headers(&unbound, proof_for(&key, path));
            let reply = get(&srv.url(path), &headers).await;
            assert_eq!(reply.status, 401, "{path}: {reply:?}");
            assert_eq!(reply.code(), "missing_token", "{path}");
            assert_eq!(reply.challenges, [e.bearer()], "{path}");
        }
        // Optional routes treat it as no credentials.
        for path in ["/opt", "/mw-opt/hello"] {
            let headers = dpop_headers(&unbound, proof_for(&key, path));
            let reply = get(&srv.url(path), &headers).await;
            assert_eq!(
                (reply.status, reply.body.as_str()),
                (200, "hello stranger"),
                "{path}"
            );
        }
        srv.stop().await;
    }
    assert_eq!(issuer.fetch_count(), 0);
}

// DP24 (actix)
#[actix_web::test]
async fn dp24_bearer_with_dpop_required_gets_only_the_dpop_challenge() {
    let issuer = TestIssuer::start();
    let srv = serve_routes!(Auth::new(Setup::spec(Mode::Required).verifier(&issuer)).realm(REALM));
    let e = Expected::spec();
    let unbound = format!("Bearer {}", issuer.token().build());
    for path in paths(false).into_iter().chain(paths(true)) {
        let reply = get(&srv.url(path), &authorization(Some(&unbound))).await;
        assert_eq!(reply.status, 401, "{path}: {reply:?}");
        assert_eq!(
            reply.challenges,
            [
                r#"DPoP realm="api", algs="ES256 EdDSA", resource_metadata="https://api.example.com/.well-known/oauth-protected-resource/mcp""#
            ],
            "{path}"
        );
        assert_eq!(reply.challenges, [e.dpop()]);
        assert_eq!(reply.code(), "missing_token");
    }
    srv.stop().await;
}

// DP29 (actix)
#[actix_web::test]
async fn dp29_every_challenge_of_the_dpop_table_byte_exact() {
    let issuer = TestIssuer::start();
    let key = holder();
    for resource in [true, false] {
        let e = match resource {
            true => Expected::spec(),
            false => Expected::new(Some(REALM)),
        };
        for case in DpopCase::ALL {
            let setup = Setup {
                dpop: Some(case.mode()),
                nonce: case.nonce_mode(),
                resource,
                ..Setup::default()
            };
            let srv = serve_routes!(Auth::new(setup.verifier(&issuer)).realm(REALM));
            for path in paths(case.requires_scope()) {
                let what = format!("{case:?} on {path}, resource {resource}");
                let headers = case.headers(&issuer, &key, path);
                if case.sent_twice() {
                    let first = get(&srv.url(path), &headers).await;
                    assert_eq!(first.status, 200, "{what}: {first:?}");
                    assert!(first.challenges.is_empty());
                }
                let reply = get(&srv.url(path), &headers).await;
                assert_row(&reply, case, &e, &what);
            }
            srv.stop().await;
        }
    }
}

/// A 403 for scope on a DPoP request leaves its proof unused: the requirement is checked
/// inside the pipeline before the `jti` is recorded. The same proof, sent to a server
/// sharing the verifier (and its replay store) whose route has no requirement, is then
/// accepted once.
#[actix_web::test]
async fn a_403_for_scope_leaves_the_dpop_proof_unused() {
    let issuer = TestIssuer::start();
    let verifier = Setup::spec(Mode::Allowed).verifier(&issuer);
    let auth = Auth::new(verifier.clone()).realm(REALM);
    let strict = serve_routes!(auth.clone());
    let open = {
        let auth = auth.clone();
        serve!(move || App::new()
            .app_data(auth.clone())
            .route("/admin", web::get().to(me))
            .service(
                web::scope("/mw-admin")
                    .wrap(BearerAuth::required(auth.clone()))
                    .route("", web::get().to(me))
            ))
    };
    let key = holder();
    let token = bound_token(&issuer, &key, "read");
    let cache = verifier.dpop().unwrap().replay_cache().unwrap();
    let mut recorded = 0;
    for path in paths(true) {
        let headers = dpop_headers(&token, proof_for(&key, path));
        for _ in 0..2 {
            let reply = get(&strict.url(path), &headers).await;
            assert_eq!(reply.status, 403, "{path}: {reply:?}");
            assert_eq!(reply.code(), "insufficient_scope");
        }
        assert_eq!(cache.len(), recorded, "{path}: nothing recorded");
        let reply = get(&open.url(path), &headers).await;
        assert_eq!(reply.status, 200, "{path}: {reply:?}");
        let reply = get(&open.url(path), &headers).await;
        assert_eq!(reply.code(), "dpop_proof_replayed", "{path}");
        recorded += 1;
        assert_eq!(cache.len(), recorded, "{path}");
    }
    strict.stop().await;
    open.stop().await;
}

// DP27 (actix)
#[actix_web::test]
async fn dp27_previous_window_nonce_gets_a_fresh_dpop_nonce_from_the_middleware() {
    let issuer = TestIssuer::start();
    let clock = TestClock::new();
    let setup = Setup {
        nonce: true,
        clock: Some(Arc::new(clock.clone())),
        ..Setup::spec(Mode::Allowed)
    };
    let verifier = setup.verifier(&issuer);
    let dpop = verifier.dpop().unwrap();
    let srv = serve_routes!(Auth::new(verifier.clone()).realm(REALM));
    let key = holder();
    let token = bound_token(&issuer, &key, "read admin");
    // The middleware (`BearerAuth`) and the route middleware (`RequireScopes`).
    for path in ["/mw/me", "/mw-admin", "/admin"] {
        let previous = dpop.current_nonce().unwrap();
        let previous = previous.to_str().unwrap().to_owned();
        // A current-window nonce: 200 without a new nonce.
        let proof = proof_for(&key, path)
            .iat(clock.unix_secs())
            .nonce(&previous);
        let reply = get(&srv.url(path), &dpop_headers(&token, proof)).await;
        assert_eq!(reply.status, 200, "{path}: {reply:?}");
        assert_eq!(reply.dpop_nonce, None, "{path}");
        // One window later the same nonce is of the previous window: accepted, and
        // the response carries the current one.
        clock.advance(Duration::from_secs(60));
        let proof = proof_for(&key, path)
            .iat(clock.unix_secs())
            .nonce(&previous);
        let reply = get(&srv.url(path), &dpop_headers(&token, proof)).await;
        assert_eq!(reply.status, 200, "{path}: {reply:?}");
        let fresh = reply.dpop_nonce.clone().expect("DPoP-Nonce on the 200");
        assert_ne!(fresh, previous);
        assert_eq!(
            Some(fresh.as_str()),
            dpop.current_nonce().as_ref().map(|n| n.to_str().unwrap()),
            "{path}"
        );
        // And the fresh nonce works.
        let proof = proof_for(&key, path).iat(clock.unix_secs()).nonce(&fresh);
        let reply = get(&srv.url(path), &dpop_headers(&token, proof)).await;
        assert_eq!((reply.status, reply.dpop_nonce), (200, None), "{path}");
    }
    srv.stop().await;
}

/// `use_dpop_nonce`: the `DPoP-Nonce` of the refusal (from `ErrorResponse`) lets the
/// client retry, through the extractor and the middleware.
#[actix_web::test]
async fn nonce_round_trip_through_the_refusal() {
    let issuer = TestIssuer::start();
    let setup = Setup {
        nonce: true,
        ..Setup::spec(Mode::Allowed)
    };
    let srv = serve_routes!(Auth::new(setup.verifier(&issuer)).realm(REALM));
    let key = holder();
    let token = bound_token(&issuer, &key, "read admin");
    for path in paths(false).into_iter().chain(paths(true)) {
        let reply = get(&srv.url(path), &dpop_headers(&token, proof_for(&key, path))).await;
        assert_eq!(reply.status, 401, "{path}: {reply:?}");
        assert_eq!(reply.code(), "use_dpop_nonce");
        let nonce = reply.dpop_nonce.expect("DPoP-Nonce on the 401");
        let proof = proof_for(&key, path).nonce(&nonce);
        let reply = get(&srv.url(path), &dpop_headers(&token, proof)).await;
        assert_eq!(reply.status, 200, "{path}: {reply:?}");
    }
    srv.stop().await;
}
