//! actix-web API protected by bearer tokens: the example server of the README and
//! docs/actix.md.
//!
//! ```text
//! cargo run --example actix_api --features actix,testkit
//! ```
//!
//! Configuration comes from `VerifierConfig::from_env()` (`OIDC_ISSUER`, or
//! `OIDC_ISSUERS` for several issuers, `OIDC_AUDIENCE`, `OIDC_JWKS_URL` (unset: keys are
//! discovered from the issuer's metadata), ...) and `LISTEN_ADDR` (default
//! `127.0.0.1:3000`). Without `OIDC_ISSUER` or `OIDC_ISSUERS`, a test issuer starts
//! in-process and the example prints ready-to-use tokens and curl commands.
//!
//! Routes (realm `api`):
//! - `GET /healthz`: public; 200 when the key set is usable (`healthcheck(false)`), else 503;
//!   the body says why (`health()`: per issuer, metadata and key-set state, last error).
//! - `GET /me`: authenticated; the claims as JSON.
//! - `GET /admin`: requires scope `admin` (403 `insufficient_scope` otherwise).
//! - With `OIDC_RESOURCE`: `GET /.well-known/oauth-protected-resource[/path]`, the RFC 9728
//!   document (public), and `resource_metadata` in every challenge.

#[path = "common/mod.rs"]
mod common;

use std::error::Error;

use actix_web::{web, App, HttpResponse, HttpServer};
use oidc_jwt_verifier::actix::{resource_metadata, Auth, Claims, RequireScopes};
use oidc_jwt_verifier::AsyncJwtVerifier;
use oidc_jwt_verifier::ResourceServer;

/// `GET /healthz`: readiness (`healthcheck(false)`: no forced refresh), and why.
async fn healthz(auth: web::Data<Auth>) -> HttpResponse {
    let health = auth.health().await;
    let mut response = if health.ready {
        HttpResponse::Ok()
    } else {
        HttpResponse::ServiceUnavailable()
    };
    response.json(common::health_body(&health))
}

/// `GET /me` (and `/admin`): the verified claims.
async fn me(Claims(claims): Claims) -> HttpResponse {
    HttpResponse::Ok().json(claims)
}

#[actix_web::main]
async fn main() -> Result<(), Box<dyn Error>> {
    let listen = common::listen_addr();
    // Real identity provider from the environment, or the in-process test issuer.
    let (config, demo_issuer) = common::config()?;

    let auth =
        web::Data::new(Auth::new(AsyncJwtVerifier::from_config(config)?).realm(common::REALM));
    let server = HttpServer::new(move || {
        App::new()
            // The `Claims` extractor and `RequireScopes` find the `Auth` here.
            .app_data(auth.clone())
            .route("/healthz", web::get().to(healthz))
            // With OIDC_RESOURCE: the RFC 9728 document, public.
            .configure(|cfg| {
                if auth.verifier().resource_metadata().is_some() {
                    cfg.service(resource_metadata(&auth));
                }
            })
            .route("/me", web::get().to(me))
            .service(
                // actix guards can only pick another route (404); a 403 with its
                // challenge needs middleware like this one.
                web::resource("/admin")
                    .wrap(RequireScopes::new(["admin"]))
                    .route(web::get().to(me)),
            )
    })
    .bind(listen.as_str())?;

    let addr = server
        .addrs()
        .first()
        .map(|a| a.to_string())
        .unwrap_or(listen);
    println!("listening on http://{addr}");
    if let Some(issuer) = &demo_issuer {
        common::print_demo(issuer, &addr);
    }

    server.run().await?;
    drop(demo_issuer);
    Ok(())
}
