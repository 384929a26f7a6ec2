//! A verifier that outlives an actix-web server: each worker runs its own runtime, and a
//! background key-set refresh started on a worker ends with it when the server stops.
//! Issue 10 item 1: such a refresh must not stay marked in flight (which stopped every
//! later refresh: stale keys served until the stale bound, then 503 until a restart).

#[macro_use]
mod common;

use std::time::{Duration, Instant};

use actix_web::{web, App, HttpResponse};
use verifier_actix::{Auth, Claims};
use verifier_core::AsyncJwtVerifier;
use verifier_testkit::TestIssuer;

use common::{bearer, config_builder, get, REALM};

async fn me(Claims(claims): Claims) -> HttpResponse {
    HttpResponse::Ok().json(claims)
}

#[actix_web::test]
async fn a_refresh_cut_off_by_a_server_stop_does_not_wedge_the_next_server() {
    let issuer = TestIssuer::start();
    let verifier = AsyncJwtVerifier::new(
        config_builder(&issuer)
            .jwks_cache_ttl(Duration::from_millis(200))
            .jwks_timeout(Duration::from_secs(10))
            .jwks_backoff_initial(Duration::from_millis(10))
            .jwks_backoff_max(Duration::from_millis(20))
            .build()
            .unwrap(),
    )
    .unwrap();
    let token = bearer(&issuer.token().build());
    let start = |verifier: &AsyncJwtVerifier| {
        let auth = Auth::new(verifier.clone()).realm(REALM);
        serve!(move || App::new()
            .app_data(auth.clone())
            .route("/me", web::get().to(me)))
    };

    // Server 1: warm, then past the TTL against a slow issuer: served stale while a
    // background refresh runs on the worker's runtime.
    let first = start(&verifier);
    assert_eq!(get(&first.url("/me"), Some(&token)).await.status, 200);
    actix_web::rt::time::sleep(Duration::from_millis(250)).await;
    issuer.set_delay(Duration::from_secs(5));
    assert_eq!(get(&first.url("/me"), Some(&token)).await.status, 200);
    assert!(verifier.stats().refreshing);
    assert_eq!(verifier.stats().fetches, 2);
    // The server stops: its worker runtime, and the refresh task on it, are gone.
    first.stop().await;
    let deadline = Instant::now() + Duration::from_secs(5);
    while verifier.stats().refreshing {
        assert!(
            Instant::now() < deadline,
            "the cut-off refresh is still in flight"
        );
        actix_web::rt::time::sleep(Duration::from_millis(10)).await;
    }

    // Server 2, same verifier, healed issuer: the next request past the TTL refreshes.
    issuer.set_delay(Duration::ZERO);
    let second = start(&verifier);
    actix_web::rt::time::sleep(Duration::from_millis(30)).await;
    assert_eq!(get(&second.url("/me"), Some(&token)).await.status, 200);
    let deadline = Instant::now() + Duration::from_secs(5);
    loop {
        let stats = verifier.stats();
        if stats.fetches >= 3 && !stats.refreshing && stats.consecutive_failures == 0 {
            break;
        }
        assert!(Instant::now() < deadline, "no new refresh: {stats:?}");
        actix_web::rt::time::sleep(Duration::from_millis(10)).await;
    }
    assert!(!verifier.stats().serving_stale);
    assert!(verifier.healthcheck(true).await);
    second.stop().await;
}
