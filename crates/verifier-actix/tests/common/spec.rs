//! Helpers for the SPEC-2 suites (resource metadata, DPoP, token cookie): verifiers with
//! a resource and DPoP, and a reply that keeps every `WWW-Authenticate` field.

use std::sync::Arc;
use std::time::Duration;

use actix_web::{web, HttpMessage, HttpRequest, HttpResponse};
use serde_json::json;
use verifier_actix::{resource_metadata, Auth, BearerAuth, Claims, OptionalClaims, RequireScopes};
use verifier_core::dpop::{DpopConfig, DpopMode, DpopVerifier};
use verifier_core::{Algorithm, AsyncJwtVerifier, Authenticated, Clock, ResourceConfig};
use verifier_testkit::conformance::challenge_parser;
use verifier_testkit::conformance::challenges::{Mode, PUBLIC_ORIGIN, REQUIRED_SCOPE, RESOURCE};
use verifier_testkit::TestIssuer;

/// A 32-byte-or-longer nonce secret for the nonce tests.
pub const NONCE_SECRET: &[u8] = b"an actix nonce secret of at least 32 bytes";

/// What a SPEC-2 verifier is built with.
#[derive(Clone, Default)]
pub struct Setup {
    /// `Some(mode)`: DPoP with `dpop_algs` = ES256, EdDSA and the public origin of the
    /// SPEC-2 tables; `None`: no DPoP verifier at all.
    pub dpop: Option<Mode>,
    /// Nonces on (with [`NONCE_SECRET`]).
    pub nonce: bool,
    /// The DPoP verifier's clock (nonce windows, proof freshness).
    pub clock: Option<Arc<dyn Clock>>,
    /// `resource` = the SPEC-2 `RESOURCE`.
    pub resource: bool,
    /// The token cookie name.
    pub cookie: Option<&'static str>,
}

impl Setup {
    /// The SPEC-2 tables' verifier: resource set, DPoP in `mode`.
    pub fn spec(mode: Mode) -> Self {
        Setup {
            dpop: Some(mode),
            resource: true,
            ..Setup::default()
        }
    }

    pub fn verifier(&self, issuer: &TestIssuer) -> AsyncJwtVerifier {
        let mut resource = ResourceConfig::builder();
        if self.resource {
            resource = resource.resource(RESOURCE);
        }
        if let Some(cookie) = self.cookie {
            resource = resource.token_cookie(cookie);
        }
        let mut builder = AsyncJwtVerifier::builder()
            .issuer(super::config(issuer))
            .resource(resource.build().expect("resource config"));
        if let Some(mode) = self.dpop {
            let mode = match mode {
                Mode::Off => DpopMode::Off,
                Mode::Allowed => DpopMode::Allowed,
                Mode::Required => DpopMode::Required,
            };
            let mut config = DpopConfig::builder()
                .mode(mode)
                .algs([Algorithm::ES256, Algorithm::EdDSA])
                .public_base_url(PUBLIC_ORIGIN)
                .nonce_lifetime(Duration::from_secs(60));
            if self.nonce {
                config = config.nonce(true).nonce_secret(NONCE_SECRET.to_vec());
            }
            let config = config.build().expect("dpop config");
            let dpop = match &self.clock {
                Some(clock) => DpopVerifier::with_clock(config, Arc::clone(clock)),
                None => DpopVerifier::new(config),
            };
            builder = builder.dpop(dpop);
        }
        builder.build().expect("verifier")
    }
}

/// A response with every header the SPEC-2 suites look at.
#[derive(Debug)]
pub struct Full {
    pub status: u16,
    /// Every `WWW-Authenticate` field, in order.
    pub challenges: Vec<String>,
    pub dpop_nonce: Option<String>,
    pub retry_after: Option<String>,
    pub headers: reqwest::header::HeaderMap,
    pub body: String,
}

impl Full {
    pub fn code(&self) -> String {
        let json: serde_json::Value =
            serde_json::from_str(&self.body).unwrap_or_else(|e| panic!("{e}: {:?}", self.body));
        json["code"].as_str().unwrap_or_default().to_owned()
    }

    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name).map(|v| v.to_str().expect("ascii"))
    }
}

/// Sends `method url` with `headers` (each its own field).
pub async fn send(method: reqwest::Method, url: &str, headers: &[(&str, String)]) -> Full {
    let mut request = super::client().request(method, url);
    for (name, value) in headers {
        request = request.header(*name, value);
    }
    let response = request.send().await.expect("request");
    let challenges: Vec<String> = response
        .headers()
        .get_all("www-authenticate")
        .iter()
        .map(|v| v.to_str().expect("ascii challenge").to_owned())
        .collect();
    // Every field passes the strict RFC 9110 parser, one challenge per field.
    for field in &challenges {
        let parsed = challenge_parser::parse(field)
            .unwrap_or_else(|e| panic!("not a valid challenge: {field:?}: {e}"));
        assert_eq!(parsed.len(), 1, "one challenge per field: {field:?}");
    }
    let one = |name: &str| {
        let mut values = response.headers().get_all(name).iter();
        let first = values.next().map(|v| v.to_str().unwrap().to_owned());
        assert!(values.next().is_none(), "one {name} header at most");
        first
    };
    let dpop_nonce = one("dpop-nonce");
    let retry_after = one("retry-after");
    let headers = response.headers().clone();
    let status = response.status().as_u16();
    let body = response.text().await.expect("body");
    Full {
        status,
        challenges,
        dpop_nonce,
        retry_after,
        headers,
        body,
    }
}

/// `GET url` with `headers`.
pub async fn get(url: &str, headers: &[(&str, String)]) -> Full {
    send(reqwest::Method::GET, url, headers).await
}

/// `Authorization` only.
pub fn authorization(value: Option<&str>) -> Vec<(&'static str, String)> {
    value
        .map(|v| vec![("authorization", v.to_owned())])
        .unwrap_or_default()
}

/// The claims and how they were presented (from the request extensions).
pub async fn me(Claims(claims): Claims, req: HttpRequest) -> HttpResponse {
    let authenticated = req.extensions().get::<Authenticated>().cloned();
    let authenticated = authenticated.expect("Authenticated next to the claims");
    assert_eq!(authenticated.claims, claims);
    HttpResponse::Ok().json(json!({
        "sub": claims.sub(),
        "scheme": authenticated.scheme.as_str(),
        "jkt": authenticated.dpop.map(|d| d.jkt),
    }))
}

pub async fn hello(OptionalClaims(claims): OptionalClaims) -> String {
    match claims {
        Some(claims) => format!("hello {}", claims.sub().unwrap_or("?")),
        None => "hello stranger".to_owned(),
    }
}

/// Every way a route can be protected, on one server (`Auth` also in the app data):
/// - the metadata document (`resource_metadata`);
/// - `/me`: the `Claims` extractor; `/admin`: `RequireScopes(admin)` around it;
/// - `/mw/me`: `BearerAuth` on a scope; `/mw-admin`: `BearerAuth` with
///   `Auth::require_scopes(admin)`;
/// - `/opt`: `OptionalClaims`; `/mw-opt/hello`: optional `BearerAuth`.
pub fn routes(auth: Auth) -> impl Fn(&mut web::ServiceConfig) + Clone {
    move |cfg: &mut web::ServiceConfig| {
        cfg.service(resource_metadata(&auth))
            .route("/me", web::get().to(me))
            .route("/opt", web::get().to(hello))
            .service(
                web::resource("/admin")
                    .wrap(RequireScopes::new([REQUIRED_SCOPE]))
                    .route(web::get().to(me)),
            )
            .service(
                web::scope("/mw")
                    .wrap(BearerAuth::required(auth.clone()))
                    .route("/me", web::get().to(me)),
            )
            .service(
                web::scope("/mw-admin")
                    .wrap(BearerAuth::required(
                        auth.clone().require_scopes([REQUIRED_SCOPE]),
                    ))
                    .route("", web::get().to(me)),
            )
            .service(
                web::scope("/mw-opt")
                    .wrap(BearerAuth::optional(auth.clone()))
                    .route("/hello", web::get().to(hello)),
            );
    }
}

/// Serves [`routes`] for `$auth`, with the `Auth` in the app data.
macro_rules! serve_routes {
    ($auth:expr) => {{
        let auth: verifier_actix::Auth = $auth;
        serve!(move || actix_web::App::new()
            .app_data(auth.clone())
            .configure(common::spec::routes(auth.clone())))
    }};
}
