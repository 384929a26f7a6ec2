//! axum::serve on 127.0.0.1:0, a reqwest client, verifiers of the testkit issuer with the
//! resource and DPoP settings of the SPEC-2 tables.
#![allow(dead_code)]

use std::net::SocketAddr;

use axum::routing::get;
use axum::{Json, Router};
use verifier_axum::{Auth, Authorized, Claims, Requirement};
use verifier_core::dpop::DpopVerifier;
use verifier_core::{AsyncJwtVerifier, AuthConfig, ResourceConfig};
pub use verifier_testkit::conformance::challenges::dpop_config;
use verifier_testkit::conformance::challenges::{check_field, RESOURCE};
use verifier_testkit::{TestIssuer, DEFAULT_AUDIENCE};

pub fn config(issuer: &TestIssuer) -> AuthConfig {
    AuthConfig::builder()
        .issuer(issuer.issuer())
        .audience(DEFAULT_AUDIENCE)
        .jwks_url(issuer.jwks_url())
        .build()
        .expect("config")
}

pub fn resource() -> ResourceConfig {
    ResourceConfig::builder()
        .resource(RESOURCE)
        .build()
        .unwrap()
}

pub fn verifier_with(issuer: &TestIssuer, resource: ResourceConfig) -> AsyncJwtVerifier {
    AsyncJwtVerifier::builder()
        .issuer(config(issuer))
        .resource(resource)
        .build()
        .expect("verifier")
}

pub fn dpop_verifier(
    issuer: &TestIssuer,
    dpop: DpopVerifier,
    with_resource: bool,
) -> AsyncJwtVerifier {
    let mut builder = AsyncJwtVerifier::builder()
        .issuer(config(issuer))
        .dpop(dpop);
    if with_resource {
        builder = builder.resource(resource());
    }
    builder.build().expect("verifier")
}

pub struct Admin;
impl Requirement for Admin {
    const SCOPES: &'static [&'static str] = &["admin"];
}

pub async fn me(Claims(claims): Claims) -> Json<verifier_core::Claims> {
    Json(claims)
}

pub async fn admin(claims: Authorized<Admin>) -> Json<verifier_core::Claims> {
    Json(claims.into_inner())
}

pub async fn optional(claims: Option<Claims>) -> String {
    match claims {
        Some(_) => "someone".to_owned(),
        None => "anonymous".to_owned(),
    }
}

/// How the routes are protected.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Style {
    /// Extractors only (`Claims`, `Authorized<Admin>`), the metadata router merged.
    Extractor,
    /// `Auth::layer()` on every path with `Router::layer` (`require_scopes` on `/admin`).
    Layer,
}

pub const STYLES: [Style; 2] = [Style::Extractor, Style::Layer];

/// `path` answering the claims; with `admin`, requiring the scope `admin`.
pub fn app(auth: Auth, style: Style, path: &str, admin_required: bool) -> Router {
    match style {
        Style::Extractor => {
            let route = match admin_required {
                true => get(self::admin),
                false => get(me),
            };
            Router::new()
                .route(path, route)
                .merge(auth.resource_metadata_router())
                .with_state(auth)
        }
        Style::Layer => {
            let layer = match admin_required {
                true => auth.require_scopes(["admin"]),
                false => auth.layer(),
            };
            Router::new()
                .route(path, get(me))
                .layer(layer)
                .with_state(auth)
        }
    }
}

pub async fn serve(app: Router) -> SocketAddr {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let addr = listener.local_addr().expect("addr");
    tokio::spawn(async move {
        axum::serve(listener, app).await.expect("serve");
    });
    addr
}

pub fn client() -> reqwest::Client {
    reqwest::Client::builder()
        .no_proxy()
        .build()
        .expect("client")
}

/// Sends `method path` with these header fields (a name may repeat).
pub async fn send(
    addr: SocketAddr,
    method: reqwest::Method,
    path: &str,
    fields: &[(&str, String)],
) -> reqwest::Response {
    let mut req = client().request(method, format!("http://{addr}{path}"));
    for (name, value) in fields {
        req = req.header(*name, value);
    }
    req.send().await.expect("request")
}

/// Every `WWW-Authenticate` field, in order, each through the strict parser (one
/// challenge per field) and within the RFC 6750 character set (RM8, `check_field`).
pub fn fields(resp: &reqwest::Response) -> Vec<String> {
    resp.headers()
        .get_all("www-authenticate")
        .iter()
        .map(|v| {
            let value = v.to_str().expect("ascii").to_owned();
            assert_rfc6750(&value);
            value
        })
        .collect()
}

/// RM8: the strict parser, one challenge per field, the RFC 6750 characters.
pub fn assert_rfc6750(field: &str) {
    if let Err(e) = check_field(field) {
        panic!("{e}");
    }
}

pub async fn json(resp: reqwest::Response) -> serde_json::Value {
    let text = resp.text().await.expect("body");
    serde_json::from_str(&text).unwrap_or_else(|_| panic!("not JSON: {text}"))
}
