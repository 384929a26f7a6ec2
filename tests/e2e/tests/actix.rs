//! verifier-actix against real tokens from a real OpenID provider.

use actix_web::{web, App, HttpResponse, HttpServer};
use e2e_tests::{conformance, Provider};
use verifier_actix::{Auth, Claims, RequireScopes};
use verifier_core::AsyncJwtVerifier;

async fn me(Claims(claims): Claims) -> HttpResponse {
    HttpResponse::Ok().json(claims)
}

#[actix_web::test]
async fn actix_accepts_real_tokens_and_refuses_tampered_ones() {
    let provider = Provider::start().await;
    let verifier = AsyncJwtVerifier::new(provider.config().build().unwrap()).unwrap();
    let auth = Auth::new(verifier).realm("api");

    // `/me` (authenticated, extractor) and `/admin` (scope `admin`, middleware).
    let server = HttpServer::new(move || {
        App::new()
            .app_data(auth.clone())
            .route("/me", web::get().to(me))
            .service(
                web::resource("/admin")
                    .wrap(RequireScopes::new(["admin"]))
                    .route(web::get().to(me)),
            )
    })
    .workers(1)
    .disable_signals()
    .shutdown_timeout(1)
    .bind(("127.0.0.1", 0))
    .expect("bind 127.0.0.1:0");
    let addr = server.addrs()[0];
    let server = server.run();
    let handle = server.handle();
    actix_web::rt::spawn(server);

    conformance::run(&provider, &format!("http://{addr}")).await;
    handle.stop(false).await;
}
