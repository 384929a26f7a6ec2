//! PF3 through the tower layer: under the RFC 9068 profile an ID token of the same
//! issuer for our audience is refused with the exact challenge of SPEC-2 §3.5; and a
//! layer given a `Challenge` with `resource_metadata` (SPEC-2 §4.6) emits it.

mod common;

use common::{get, serve, www_authenticate};
use serde_json::json;
use verifier_core::{AsyncJwtVerifier, AuthConfig, Challenge};
use verifier_testkit::{TestIssuer, DEFAULT_AUDIENCE};
use verifier_tower::BearerAuthLayer;

const M: &str =
    r#"resource_metadata="https://api.example.com/.well-known/oauth-protected-resource/mcp""#;

fn rfc9068(issuer: &TestIssuer) -> AsyncJwtVerifier {
    AsyncJwtVerifier::new(
        AuthConfig::builder()
            .issuer(issuer.issuer())
            .audience(DEFAULT_AUDIENCE)
            .jwks_url(issuer.jwks_url())
            .rfc9068()
            .build()
            .unwrap(),
    )
    .unwrap()
}

// PF3
#[tokio::test]
async fn pf3_id_token_gets_the_token_type_challenge() {
    let issuer = TestIssuer::start();
    let layer = BearerAuthLayer::new(rfc9068(&issuer)).realm("api");
    let addr = serve(vec![("/p", common::protect(layer))]).await;
    let id_token = issuer
        .token()
        .claim("nonce", json!("n"))
        .claim("auth_time", json!(verifier_testkit::now()))
        .build();
    let resp = get(addr, "/p", Some(&format!("Bearer {id_token}"))).await;
    assert_eq!(resp.status(), 401);
    assert_eq!(
        www_authenticate(&resp).as_deref(),
        Some(
            r#"Bearer realm="api", error="invalid_token", error_description="Invalid token type""#
        )
    );
    assert_eq!(common::json(resp).await["code"], "invalid_token_type");
    assert_eq!(issuer.fetch_count(), 0);
    let access = issuer
        .token()
        .typ("at+jwt")
        .claim("client_id", json!("c"))
        .claim("jti", json!("j"))
        .build();
    let resp = get(addr, "/p", Some(&format!("Bearer {access}"))).await;
    assert_eq!(resp.status(), 200);
}

#[tokio::test]
async fn layer_challenge_carries_resource_metadata() {
    let issuer = TestIssuer::start();
    let challenge = Challenge::bearer(Some("api"))
        .with_resource_metadata("https://api.example.com/.well-known/oauth-protected-resource/mcp");
    let layer = BearerAuthLayer::new(common::async_verifier(&issuer)).challenge(challenge);
    assert_eq!(layer.realm_str(), Some("api"));
    let addr = serve(vec![("/p", common::protect(layer))]).await;
    let resp = get(addr, "/p", None).await;
    assert_eq!(resp.status(), 401);
    assert_eq!(
        www_authenticate(&resp),
        Some(format!(r#"Bearer realm="api", {M}"#))
    );
    let expired = issuer
        .token()
        .claim("exp", json!(verifier_testkit::now() - 60))
        .build();
    let resp = get(addr, "/p", Some(&format!("Bearer {expired}"))).await;
    assert_eq!(
        www_authenticate(&resp),
        Some(format!(
            r#"Bearer realm="api", error="invalid_token", error_description="Token is expired", {M}"#
        ))
    );
}
