//! verifier-axum against real tokens from a real OpenID provider.

use axum::routing::get;
use axum::{Json, Router};
use e2e_tests::{conformance, Provider};
use verifier_axum::{Auth, Claims};
use verifier_core::AsyncJwtVerifier;

async fn me(Claims(claims): Claims) -> Json<verifier_core::Claims> {
    Json(claims)
}

/// `/me` (authenticated, extractor) and `/admin` (scope `admin`, route layer), realm `api`.
async fn serve(provider: &Provider) -> String {
    let verifier = AsyncJwtVerifier::new(provider.config().build().unwrap()).unwrap();
    let auth = Auth::new(verifier).with_realm("api");
    let app = Router::new()
        .route("/me", get(me))
        .route(
            "/admin",
            get(me).route_layer(auth.require_scopes(["admin"])),
        )
        .with_state(auth);
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    format!("http://{addr}")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn axum_accepts_real_tokens_and_refuses_tampered_ones() {
    let provider = Provider::start().await;
    let base = serve(&provider).await;
    conformance::run(&provider, &base).await;
}
