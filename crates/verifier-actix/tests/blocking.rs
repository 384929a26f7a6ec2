//! The blocking verifier (feature `blocking`) behind actix: verifications run on the
//! blocking pool through `web::block`, never on the worker thread.

#[macro_use]
mod common;

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use actix_web::{web, App, HttpResponse};
use serde_json::json;
use verifier_actix::{Auth, BearerAuth, Claims, RequireScopes};
use verifier_testkit::{Fault, TestIssuer};

use common::{assert_missing_token, bearer, config_builder, get, invalid_token, REALM};

fn blocking_auth(issuer: &TestIssuer, jwks_timeout: Duration) -> Auth {
    let config = config_builder(issuer)
        .jwks_timeout(jwks_timeout)
        .build()
        .unwrap();
    Auth::blocking_from_config(config).unwrap().realm(REALM)
}

async fn me(Claims(claims): Claims) -> HttpResponse {
    HttpResponse::Ok().json(claims)
}

fn routes(cfg: &mut web::ServiceConfig) {
    cfg.route("/me", web::get().to(me))
        .route("/ping", web::get().to(|| async { "pong" }))
        .service(
            web::resource("/admin")
                .wrap(RequireScopes::new(["admin"]))
                .route(web::get().to(me)),
        );
}

#[actix_web::test]
async fn blocking_verifier_gives_the_same_responses() {
    let issuer = TestIssuer::start();
    let auth = blocking_auth(&issuer, Duration::from_secs(3));
    let srv = serve!(move || App::new().app_data(auth.clone()).configure(routes));

    let token = issuer.token().build();
    let reply = get(&srv.url("/me"), Some(&bearer(&token))).await;
    assert_eq!(reply.status, 200, "{reply:?}");
    assert_eq!(reply.json()["sub"], "user-123");

    assert_missing_token(&get(&srv.url("/me"), None).await);
    assert_missing_token(&get(&srv.url("/me"), Some("Basic dXNlcjpwYXNz")).await);

    let expired = issuer
        .token()
        .claim("exp", json!(verifier_testkit::now() - 120))
        .build();
    let reply = get(&srv.url("/me"), Some(&bearer(&expired))).await;
    assert_eq!(reply.status, 401);
    assert_eq!(reply.challenge(), invalid_token("Token is expired"));

    let reply = get(&srv.url("/admin"), Some(&bearer(&token))).await;
    assert_eq!(reply.status, 403);
    assert_eq!(
        reply.challenge(),
        r#"Bearer realm="api", error="insufficient_scope", error_description="Insufficient scope", scope="admin""#
    );
    srv.stop().await;
}

#[actix_web::test]
async fn blocking_verifier_issuer_down_is_503() {
    let issuer = TestIssuer::start();
    issuer.set_fault(Some(Fault::Status(500)));
    let auth = blocking_auth(&issuer, Duration::from_secs(3));
    let srv = serve!(move || App::new()
        .wrap(BearerAuth::required(auth.clone()))
        .configure(routes));
    let reply = get(&srv.url("/me"), Some(&bearer(&issuer.token().build()))).await;
    assert_eq!(reply.status, 503, "{reply:?}");
    assert!(reply.www_authenticate.is_none());
    assert!(reply.retry_after.is_some());
    srv.stop().await;
}

/// One worker thread. A verification waits on a slow JWKS fetch; meanwhile a request to
/// another route on the same worker completes. Were the blocking verifier run on the
/// worker thread, the second request could only be served after the first.
#[actix_web::test]
async fn slow_jwks_fetch_does_not_stall_the_worker() {
    let issuer = TestIssuer::start();
    issuer.set_delay(Duration::from_millis(1500));
    for middleware in [false, true] {
        // A fresh verifier per pass: its cache is cold, so the first request fetches.
        let auth = blocking_auth(&issuer, Duration::from_secs(10));
        let srv = if middleware {
            serve!(move || App::new()
                .service(
                    web::scope("/api")
                        .wrap(BearerAuth::required(auth.clone()))
                        .configure(routes)
                )
                .configure(routes))
        } else {
            serve!(move || App::new().app_data(auth.clone()).configure(routes))
        };
        let prefix = if middleware { "/api" } else { "" };
        issuer.reset_fetch_count();
        let token = issuer.token().build();

        let slow_done = Arc::new(AtomicBool::new(false));
        let slow = {
            let url = srv.url(&format!("{prefix}/me"));
            let done = Arc::clone(&slow_done);
            actix_web::rt::spawn(async move {
                let reply = get(&url, Some(&bearer(&token))).await;
                done.store(true, Ordering::SeqCst);
                reply
            })
        };

        // Wait (bounded) until the verifier is inside the JWKS fetch.
        let deadline = Instant::now() + Duration::from_secs(10);
        while issuer.fetch_count() == 0 {
            assert!(Instant::now() < deadline, "the JWKS fetch never started");
            actix_web::rt::time::sleep(Duration::from_millis(5)).await;
        }
        assert!(!slow_done.load(Ordering::SeqCst));

        let fast = get(&srv.url("/ping"), None).await;
        assert_eq!((fast.status, fast.body.as_str()), (200, "pong"));
        assert!(
            !slow_done.load(Ordering::SeqCst),
            "the request on another route had to wait for the JWKS fetch"
        );

        let slow = slow.await.unwrap();
        assert!(slow_done.load(Ordering::SeqCst));
        assert_eq!(slow.status, 200, "{slow:?}");
        srv.stop().await;
    }
}

/// The blocking verifier with a resource and DPoP `allowed`, built off the runtime: the
/// DPoP scheme, the replay check, a 403 for scope and the challenges of SPEC-2 §5.10
/// are the same through the extractor, `RequireScopes` and `BearerAuth`.
#[actix_web::test]
async fn blocking_verifier_with_dpop_and_a_resource() {
    use verifier_core::dpop::{DpopConfig, DpopMode, DpopVerifier};
    use verifier_core::{Algorithm, JwtVerifier, ResourceConfig};
    use verifier_testkit::conformance::challenges::{DpopCase, Expected, PUBLIC_ORIGIN, RESOURCE};
    use verifier_testkit::{Alg, DpopProof, TestKey};

    let issuer = TestIssuer::start();
    let config = config_builder(&issuer).build().unwrap();
    let verifier = std::thread::spawn(move || {
        JwtVerifier::builder()
            .issuer(config)
            .resource(ResourceConfig::builder().resource(RESOURCE).build()?)
            .dpop(DpopVerifier::new(
                DpopConfig::builder()
                    .mode(DpopMode::Allowed)
                    .algs([Algorithm::ES256, Algorithm::EdDSA])
                    .public_base_url(PUBLIC_ORIGIN)
                    .build()?,
            ))
            .build()
    })
    .join()
    .unwrap()
    .unwrap();
    let auth = Auth::new(verifier).realm(REALM);
    assert!(auth.blocking_verifier().is_some());
    let srv = serve_routes!(auth);
    let key = TestKey::generate(Alg::ES256, "holder");
    let token = issuer
        .token()
        .claim("scope", json!("read"))
        .cnf_jkt(&key)
        .build();
    for path in ["/me", "/mw/me"] {
        let proof = DpopProof::new(&key)
            .htu(&format!("{PUBLIC_ORIGIN}{path}"))
            .ath_for(&token)
            .build();
        let headers = [("authorization", format!("DPoP {token}")), ("dpop", proof)];
        let reply = common::spec::get(&srv.url(path), &headers).await;
        assert_eq!(reply.status, 200, "{path}: {reply:?}");
        let body: serde_json::Value = serde_json::from_str(&reply.body).unwrap();
        assert_eq!(body["scheme"], "DPoP");
        assert_eq!(body["jkt"], key.thumbprint());
        let again = common::spec::get(&srv.url(path), &headers).await;
        assert_eq!(again.code(), "dpop_proof_replayed", "{path}");
    }
    let e = Expected::spec();
    for case in [
        DpopCase::AllowedNoCredentials,
        DpopCase::AllowedBadProof,
        DpopCase::MissingScope,
    ] {
        let paths = match case.requires_scope() {
            true => ["/admin", "/mw-admin"],
            false => ["/me", "/mw/me"],
        };
        for path in paths {
            let reply = common::spec::get(&srv.url(path), &case.headers(&issuer, &key, path)).await;
            assert_eq!(reply.status, case.status(), "{case:?} {path}: {reply:?}");
            assert_eq!(reply.challenges, case.fields(&e), "{case:?} {path}");
        }
    }
    srv.stop().await;
}
