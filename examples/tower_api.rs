//! tower + hyper API protected by bearer tokens: the example server of the README and
//! docs/tower.md.
//!
//! ```text
//! cargo run --example tower_api --features tower,testkit
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
//!
//! No router framework: each protected route is a `tower` service wrapped in
//! `BearerAuthLayer`, and a small dispatcher picks the route by path.

#[path = "common/mod.rs"]
mod common;

use std::convert::Infallible;
use std::error::Error;

use bytes::Bytes;
use http::{header, Method, Request, Response, StatusCode};
use http_body_util::Full;
use hyper::body::Incoming;
use hyper_util::rt::TokioIo;
use hyper_util::service::TowerToHyperService;
use oidc_jwt_verifier::tower::{BearerAuthLayer, ResourceMetadataService, Verifier};
use oidc_jwt_verifier::{AsyncJwtVerifier, Claims};
use serde_json::{json, Value};
use tower::util::BoxCloneSyncService;
use tower::{service_fn, Layer, ServiceExt};

type Body = Full<Bytes>;
type Route = BoxCloneSyncService<Request<Incoming>, Response<Body>, Infallible>;

fn json_response(status: StatusCode, value: &Value) -> Response<Body> {
    let mut response = Response::new(Full::from(value.to_string()));
    *response.status_mut() = status;
    response.headers_mut().insert(
        header::CONTENT_TYPE,
        header::HeaderValue::from_static("application/json"),
    );
    response
}

/// `GET /healthz`: readiness (`healthcheck(false)`: no forced refresh), and why.
async fn healthz(verifier: Verifier) -> Response<Body> {
    let health = verifier.health().await;
    let status = if health.ready {
        StatusCode::OK
    } else {
        StatusCode::SERVICE_UNAVAILABLE
    };
    json_response(status, &common::health_body(&health))
}

/// `GET /me` (and `/admin`): the claims `BearerAuth` put in the request extensions.
async fn me(req: Request<Incoming>) -> Result<Response<Body>, Infallible> {
    let claims = req.extensions().get::<Claims>().expect("set by BearerAuth");
    Ok(json_response(StatusCode::OK, &json!(claims)))
}

#[tokio::main]
async fn main() -> Result<(), Box<dyn Error>> {
    let listen = common::listen_addr();
    // Real identity provider from the environment, or the in-process test issuer.
    let (config, demo_issuer) = common::config()?;

    let verifier = Verifier::from(AsyncJwtVerifier::from_config(config)?);
    let auth = BearerAuthLayer::new(verifier.clone()).realm(common::REALM);
    let me_route: Route = BoxCloneSyncService::new(auth.clone().layer(service_fn(me)));
    let admin_route: Route =
        BoxCloneSyncService::new(auth.require_scopes(["admin"]).layer(service_fn(me)));

    // With OIDC_RESOURCE: the RFC 9728 document, public.
    let metadata = ResourceMetadataService::<Body>::for_verifier(&verifier);

    let app = service_fn(move |req: Request<Incoming>| {
        let (verifier, me_route, admin_route) =
            (verifier.clone(), me_route.clone(), admin_route.clone());
        let metadata = metadata.clone().filter(|m| m.path() == req.uri().path());
        async move {
            if let Some(metadata) = metadata {
                return metadata.oneshot(req).await;
            }
            let route = match req.uri().path() {
                "/healthz" | "/me" | "/admin" if req.method() != Method::GET => {
                    return Ok(json_response(
                        StatusCode::METHOD_NOT_ALLOWED,
                        &json!({"status": "method not allowed"}),
                    ))
                }
                "/healthz" => return Ok(healthz(verifier).await),
                "/me" => me_route,
                "/admin" => admin_route,
                _ => {
                    return Ok(json_response(
                        StatusCode::NOT_FOUND,
                        &json!({"status": "not found"}),
                    ))
                }
            };
            route.oneshot(req).await
        }
    });

    let listener = tokio::net::TcpListener::bind(listen.as_str()).await?;
    let addr = listener.local_addr()?.to_string();
    println!("listening on http://{addr}");
    if let Some(issuer) = &demo_issuer {
        common::print_demo(issuer, &addr);
    }

    loop {
        let (stream, _) = listener.accept().await?;
        let service = TowerToHyperService::new(app.clone());
        tokio::spawn(async move {
            if let Err(err) = hyper::server::conn::http1::Builder::new()
                .serve_connection(TokioIo::new(stream), service)
                .await
            {
                eprintln!("connection error: {err}");
            }
        });
    }
}
