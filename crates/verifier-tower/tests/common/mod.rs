//! A real hyper server on 127.0.0.1:0 serving tower services, and test fixtures.
#![allow(dead_code)]

use std::collections::HashMap;
use std::convert::Infallible;
use std::net::SocketAddr;
use std::sync::Arc;

use bytes::Bytes;
use http::{Request, Response, StatusCode};
use http_body_util::Full;
use hyper::body::Incoming;
use hyper_util::rt::TokioIo;
use hyper_util::service::TowerToHyperService;
use tower::util::BoxCloneSyncService;
use tower::{service_fn, Layer, ServiceExt};
use verifier_core::{AsyncJwtVerifier, AuthConfig, Claims};
use verifier_testkit::{TestIssuer, DEFAULT_AUDIENCE};

pub type Body = Full<Bytes>;
pub type Route = BoxCloneSyncService<Request<Incoming>, Response<Body>, Infallible>;

/// The test configuration for `issuer`.
pub fn config(issuer: &TestIssuer) -> AuthConfig {
    AuthConfig::builder()
        .issuer(issuer.issuer())
        .audience(DEFAULT_AUDIENCE)
        .jwks_url(issuer.jwks_url())
        .build()
        .expect("valid config")
}

pub fn async_verifier(issuer: &TestIssuer) -> AsyncJwtVerifier {
    AsyncJwtVerifier::new(config(issuer)).expect("verifier")
}

/// Answers 200 with the claims from the extensions as JSON, or `anonymous`.
pub fn handler() -> Route {
    BoxCloneSyncService::new(service_fn(|req: Request<Incoming>| async move {
        let body = match req.extensions().get::<Claims>() {
            Some(claims) => serde_json::to_string(claims).expect("json"),
            None => "anonymous".to_owned(),
        };
        Ok::<_, Infallible>(Response::new(Full::from(body)))
    }))
}

/// The handler behind `layer`.
pub fn protect<L>(layer: L) -> Route
where
    L: Layer<Route>,
    L::Service: tower::Service<Request<Incoming>, Response = Response<Body>, Error = Infallible>
        + Clone
        + Send
        + Sync
        + 'static,
    <L::Service as tower::Service<Request<Incoming>>>::Future: Send + 'static,
{
    BoxCloneSyncService::new(layer.layer(handler()))
}

/// Serves `routes` (exact paths; others 404) on 127.0.0.1:0 with hyper.
pub async fn serve(routes: Vec<(&'static str, Route)>) -> SocketAddr {
    let routes: Arc<HashMap<&'static str, Route>> = Arc::new(routes.into_iter().collect());
    let router = service_fn(move |req: Request<Incoming>| {
        let routes = routes.clone();
        async move {
            match routes.get(req.uri().path()) {
                Some(route) => route.clone().oneshot(req).await,
                None => {
                    let mut not_found = Response::new(Full::from("not found"));
                    *not_found.status_mut() = StatusCode::NOT_FOUND;
                    Ok(not_found)
                }
            }
        }
    });
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let addr = listener.local_addr().expect("addr");
    tokio::spawn(async move {
        loop {
            let Ok((stream, _)) = listener.accept().await else {
                continue;
            };
            let service = TowerToHyperService::new(router.clone());
            tokio::spawn(async move {
                let _ = hyper::server::conn::http1::Builder::new()
                    .serve_connection(TokioIo::new(stream), service)
                    .await;
            });
        }
    });
    addr
}

/// A reqwest client that does not pool connections (each test request is independent).
pub fn client() -> reqwest::Client {
    reqwest::Client::builder()
        .no_proxy()
        .build()
        .expect("client")
}

/// GET `path` with an optional raw `Authorization` value.
pub async fn get(addr: SocketAddr, path: &str, authorization: Option<&str>) -> reqwest::Response {
    let mut req = client().get(format!("http://{addr}{path}"));
    if let Some(value) = authorization {
        req = req.header("authorization", value);
    }
    req.send().await.expect("request")
}

/// The challenge, checked with the testkit's strict RFC 9110 parser on the way.
pub fn www_authenticate(resp: &reqwest::Response) -> Option<String> {
    let value = resp
        .headers()
        .get("www-authenticate")
        .map(|v| v.to_str().expect("ascii").to_owned())?;
    if let Err(e) = verifier_testkit::conformance::challenge_parser::parse(&value) {
        panic!("not a valid challenge: {value:?}: {e}");
    }
    Some(value)
}

pub async fn json(resp: reqwest::Response) -> serde_json::Value {
    let text = resp.text().await.expect("body");
    serde_json::from_str(&text).unwrap_or_else(|_| panic!("not JSON: {text}"))
}

/// Serves one service for every path on 127.0.0.1:0 (a layer applied router-wide).
pub async fn serve_all(route: Route) -> SocketAddr {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let addr = listener.local_addr().expect("addr");
    tokio::spawn(async move {
        loop {
            let Ok((stream, _)) = listener.accept().await else {
                continue;
            };
            let service = TowerToHyperService::new(route.clone());
            tokio::spawn(async move {
                let _ = hyper::server::conn::http1::Builder::new()
                    .serve_connection(TokioIo::new(stream), service)
                    .await;
            });
        }
    });
    addr
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

/// Every `WWW-Authenticate` field, in order, each checked with the strict parser.
pub fn www_authenticate_all(resp: &reqwest::Response) -> Vec<String> {
    resp.headers()
        .get_all("www-authenticate")
        .iter()
        .map(|v| {
            let value = v.to_str().expect("ascii").to_owned();
            if let Err(e) = verifier_testkit::conformance::challenge_parser::parse(&value) {
                panic!("not a valid challenge: {value:?}: {e}");
            }
            value
        })
        .collect()
}
