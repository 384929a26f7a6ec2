//! verifier-tower (under a plain hyper server) against real tokens from a real OpenID
//! provider.

use std::convert::Infallible;

use e2e_tests::{conformance, Provider};
use http::{Request, Response, StatusCode};
use http_body_util::Full;
use hyper::body::{Bytes, Incoming};
use hyper_util::rt::TokioIo;
use hyper_util::service::TowerToHyperService;
use tower::util::BoxCloneSyncService;
use tower::{service_fn, Layer, ServiceExt};
use verifier_core::{AsyncJwtVerifier, Claims};
use verifier_tower::BearerAuthLayer;

type Body = Full<Bytes>;
type Route = BoxCloneSyncService<Request<Incoming>, Response<Body>, Infallible>;

/// Answers the claims the layer put in the request extensions, as JSON.
fn claims_handler() -> Route {
    BoxCloneSyncService::new(service_fn(|req: Request<Incoming>| async move {
        let claims = req
            .extensions()
            .get::<Claims>()
            .expect("BearerAuth puts the claims in the extensions");
        let mut resp = Response::new(Full::from(serde_json::to_string(claims).unwrap()));
        resp.headers_mut()
            .insert("content-type", "application/json".parse().unwrap());
        Ok::<_, Infallible>(resp)
    }))
}

/// `/me` (authenticated) and `/admin` (scope `admin`), realm `api`; others 404.
async fn serve(provider: &Provider) -> String {
    let verifier = AsyncJwtVerifier::new(provider.config().build().unwrap()).unwrap();
    let layer = BearerAuthLayer::new(verifier).realm("api");
    let me: Route = BoxCloneSyncService::new(layer.clone().layer(claims_handler()));
    let admin: Route = BoxCloneSyncService::new(
        layer
            .clone()
            .require_scopes(["admin"])
            .layer(claims_handler()),
    );
    let router = service_fn(move |req: Request<Incoming>| {
        let route = match req.uri().path() {
            "/me" => Some(me.clone()),
            "/admin" => Some(admin.clone()),
            _ => None,
        };
        async move {
            match route {
                Some(route) => route.oneshot(req).await,
                None => {
                    let mut resp = Response::new(Full::from("not found"));
                    *resp.status_mut() = StatusCode::NOT_FOUND;
                    Ok(resp)
                }
            }
        }
    });
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
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
    format!("http://{addr}")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn tower_accepts_real_tokens_and_refuses_tampered_ones() {
    let provider = Provider::start().await;
    let base = serve(&provider).await;
    conformance::run(&provider, &base).await;
}
