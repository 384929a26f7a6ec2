//! DPoP (RFC 9449) end to end through the framework integrations (SPEC-2 DP34):
//! oidc-provider binds an access token to the client's key; each integration accepts the
//! token with a fresh proof, refuses it as Bearer (`dpop_bound_token`) and refuses a
//! replayed proof, with the challenges of SPEC-2 §5.10.

use std::convert::Infallible;

use axum::routing::get;
use axum::{Json, Router};
use e2e_tests::{api_proof, Provider, TestClient, API_RESOURCE};
use http::{Request, Response};
use http_body_util::Full;
use hyper::body::{Bytes, Incoming};
use hyper_util::rt::TokioIo;
use hyper_util::service::TowerToHyperService;
use serde_json::Value;
use tower::{service_fn, Layer};
use verifier_core::dpop::{DpopConfig, DpopMode};
use verifier_core::{Algorithm, AsyncJwtVerifier, Claims, VerifierConfig};
use verifier_tower::BearerAuthLayer;

/// A verifier of the provider's API tokens accepting DPoP for `base`.
fn verifier(provider: &Provider, base: &str) -> AsyncJwtVerifier {
    let dpop = DpopConfig::builder()
        .mode(DpopMode::Allowed)
        // What the provider accepts for proofs.
        .algs([Algorithm::ES256, Algorithm::EdDSA])
        .public_base_url(base)
        .build()
        .unwrap();
    let config = VerifierConfig::from(provider.config().build().unwrap()).with_dpop(dpop);
    AsyncJwtVerifier::from_config(config).unwrap()
}

/// `GET /me` on `base` with these headers: (status, `WWW-Authenticate` fields, body).
async fn get_me(base: &str, headers: &[(&str, &str)]) -> (u16, Vec<String>, Value) {
    let mut request = reqwest::Client::builder()
        .no_proxy()
        .build()
        .unwrap()
        .get(format!("{base}/me"));
    for (name, value) in headers {
        request = request.header(*name, *value);
    }
    let response = request.send().await.unwrap();
    let status = response.status().as_u16();
    let challenges = response
        .headers()
        .get_all("www-authenticate")
        .iter()
        .map(|v| v.to_str().unwrap().to_owned())
        .collect();
    let body = response.json().await.unwrap_or(Value::Null);
    (status, challenges, body)
}

/// The DP34 walk against one server at `base` (realm `api`).
async fn dp34(provider: &Provider, base: &str, name: &str) {
    let (token, key) = provider
        .dpop_token(TestClient::Rs256, API_RESOURCE, "read")
        .await;
    let url = format!("{base}/me");
    let dpop_auth = format!("DPoP {token}");

    let proof = api_proof(&key, "GET", &url, &token);
    let (status, _, body) = get_me(base, &[("Authorization", &dpop_auth), ("DPoP", &proof)]).await;
    assert_eq!(status, 200, "{name}: {body}");
    assert_eq!(body["sub"], "e2e-rs", "{name}: {body}");
    assert_eq!(body["cnf"]["jkt"], key.thumbprint().as_str(), "{name}");

    // The same proof again: replayed.
    let (status, challenges, body) =
        get_me(base, &[("Authorization", &dpop_auth), ("DPoP", &proof)]).await;
    assert_eq!(status, 401, "{name}");
    assert_eq!(body["code"], "dpop_proof_replayed", "{name}: {body}");
    assert_eq!(
        challenges,
        [
            r#"DPoP realm="api", error="invalid_dpop_proof", error_description="DPoP proof replayed", algs="ES256 EdDSA""#
                .to_owned(),
            r#"Bearer realm="api""#.to_owned(),
        ],
        "{name}"
    );

    // The bound token as Bearer, with or without a proof: the downgrade guard.
    let bearer = format!("Bearer {token}");
    let fresh = api_proof(&key, "GET", &url, &token);
    for headers in [
        vec![("Authorization", bearer.as_str())],
        vec![("Authorization", bearer.as_str()), ("DPoP", fresh.as_str())],
    ] {
        let (status, challenges, body) = get_me(base, &headers).await;
        assert_eq!(status, 401, "{name}");
        assert_eq!(body["code"], "dpop_bound_token", "{name}: {body}");
        assert_eq!(
            challenges,
            [
                r#"Bearer realm="api", error="invalid_token", error_description="DPoP-bound token requires the DPoP scheme""#
                    .to_owned(),
                r#"DPoP realm="api", algs="ES256 EdDSA""#.to_owned(),
            ],
            "{name}"
        );
    }

    // A fresh proof is accepted again.
    let proof = api_proof(&key, "GET", &url, &token);
    let (status, _, _) = get_me(base, &[("Authorization", &dpop_auth), ("DPoP", &proof)]).await;
    assert_eq!(status, 200, "{name}");
}

/// A listener on 127.0.0.1 and the base URL clients use for it.
async fn listen() -> (tokio::net::TcpListener, String) {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    (listener, base)
}

async fn me(axum_claims: verifier_axum::Claims) -> Json<Claims> {
    Json(axum_claims.0)
}

async fn actix_me(claims: verifier_actix::Claims) -> actix_web::HttpResponse {
    actix_web::HttpResponse::Ok().json(claims.0)
}

// DP34 (actix)
#[actix_web::test]
async fn dp34_bound_tokens_with_proofs_through_actix() {
    let provider = Provider::start().await;
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    let auth = verifier_actix::Auth::new(verifier(&provider, &base)).realm("api");
    let server = actix_web::HttpServer::new(move || {
        actix_web::App::new()
            .app_data(auth.clone())
            .route("/me", actix_web::web::get().to(actix_me))
    })
    .workers(1)
    .disable_signals()
    .shutdown_timeout(1)
    .listen(listener)
    .unwrap()
    .run();
    let handle = server.handle();
    actix_web::rt::spawn(server);
    dp34(&provider, &base, "actix").await;
    handle.stop(false).await;
}

// DP34 (axum, tower)
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn dp34_bound_tokens_with_proofs_through_axum_and_tower() {
    let provider = Provider::start().await;
    // axum: the extractor.
    let (listener, base) = listen().await;
    let auth = verifier_axum::Auth::new(verifier(&provider, &base)).with_realm("api");
    let app = Router::new().route("/me", get(me)).with_state(auth);
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    dp34(&provider, &base, "axum").await;

    // tower, under hyper.
    let (listener, base) = listen().await;
    let layer = BearerAuthLayer::new(verifier(&provider, &base)).realm("api");
    let service = layer.layer(service_fn(|req: Request<Incoming>| async move {
        let claims = req.extensions().get::<Claims>().expect("claims");
        Ok::<_, Infallible>(Response::new(Full::<Bytes>::from(
            serde_json::to_string(claims).unwrap(),
        )))
    }));
    tokio::spawn(async move {
        loop {
            let Ok((stream, _)) = listener.accept().await else {
                continue;
            };
            let service = TowerToHyperService::new(service.clone());
            tokio::spawn(async move {
                let _ = hyper::server::conn::http1::Builder::new()
                    .serve_connection(TokioIo::new(stream), service)
                    .await;
            });
        }
    });
    dp34(&provider, &base, "tower").await;
}
