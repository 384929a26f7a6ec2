//! axum API protected by bearer tokens: the example server of the README and
//! docs/axum.md.
//!
//! ```text
//! cargo run --example axum_api --features axum,testkit
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

use axum::extract::State;
use axum::http::StatusCode;
use axum::routing::get;
use axum::{Json, Router};
use oidc_jwt_verifier::axum::{Auth, Claims};
use oidc_jwt_verifier::AsyncJwtVerifier;
use serde_json::Value;

/// `GET /healthz`: readiness (`healthcheck(false)`: no forced refresh), and why.
async fn healthz(State(auth): State<Auth>) -> (StatusCode, Json<Value>) {
    let health = auth.verifier().health().await;
    let status = if health.ready {
        StatusCode::OK
    } else {
        StatusCode::SERVICE_UNAVAILABLE
    };
    (status, Json(common::health_body(&health)))
}

/// `GET /me` (and `/admin`): the verified claims.
async fn me(Claims(claims): Claims) -> Json<oidc_jwt_verifier::Claims> {
    Json(claims)
}

#[tokio::main]
async fn main() -> Result<(), Box<dyn Error>> {
    let listen = common::listen_addr();
    // Real identity provider from the environment, or the in-process test issuer.
    let (config, demo_issuer) = common::config()?;

    let auth = Auth::new(AsyncJwtVerifier::from_config(config)?).with_realm(common::REALM);
    let app = Router::new()
        // With OIDC_RESOURCE: the RFC 9728 document, public (otherwise no route).
        .merge(auth.resource_metadata_router())
        .route("/healthz", get(healthz))
        // The `Claims` extractor finds the verifier in the state.
        .route("/me", get(me))
        // `route_layer`: only this route; unknown paths stay 404.
        .route(
            "/admin",
            get(me).route_layer(auth.require_scopes(["admin"])),
        )
        .with_state(auth);

    let listener = tokio::net::TcpListener::bind(listen.as_str()).await?;
    let addr = listener.local_addr()?.to_string();
    println!("listening on http://{addr}");
    if let Some(issuer) = &demo_issuer {
        common::print_demo(issuer, &addr);
    }

    axum::serve(listener, app).await?;
    drop(demo_issuer);
    Ok(())
}
