//! PF3 through actix-web: under the RFC 9068 profile an ID token of the same issuer for
//! our audience is refused with the exact challenge of SPEC-2 §3.5; and an `Auth` given a
//! `Challenge` with `resource_metadata` (SPEC-2 §4.6) emits it.

#[macro_use]
mod common;

use actix_web::{web, App, HttpResponse};
use serde_json::json;
use verifier_actix::{Auth, BearerAuth, Claims, RequireScopes};
use verifier_core::{AsyncJwtVerifier, Challenge};
use verifier_testkit::TestIssuer;

use common::{bearer, config_builder, get};

const M: &str =
    r#"resource_metadata="https://api.example.com/.well-known/oauth-protected-resource/mcp""#;

async fn me(Claims(claims): Claims) -> HttpResponse {
    HttpResponse::Ok().json(claims)
}

// PF3
#[actix_web::test]
async fn pf3_id_token_gets_the_token_type_challenge() {
    let issuer = TestIssuer::start();
    let verifier =
        AsyncJwtVerifier::new(config_builder(&issuer).rfc9068().build().unwrap()).unwrap();
    let auth = Auth::new(verifier).realm("api");
    let server = serve!({
        let auth = auth.clone();
        move || {
            App::new()
                .app_data(auth.clone())
                .route("/me", web::get().to(me))
                .service(
                    web::scope("/mw")
                        .wrap(BearerAuth::required(auth.clone()))
                        .route("", web::get().to(me)),
                )
        }
    });
    let id_token = issuer
        .token()
        .claim("nonce", json!("n"))
        .claim("auth_time", json!(verifier_testkit::now()))
        .build();
    for path in ["/me", "/mw"] {
        let reply = get(&server.url(path), Some(&bearer(&id_token))).await;
        assert_eq!(reply.status, 401, "{path}");
        assert_eq!(
            reply.challenge(),
            r#"Bearer realm="api", error="invalid_token", error_description="Invalid token type""#
        );
        assert_eq!(reply.code(), "invalid_token_type");
    }
    assert_eq!(issuer.fetch_count(), 0);
    let access = issuer
        .token()
        .typ("at+jwt")
        .claim("client_id", json!("c"))
        .claim("jti", json!("j"))
        .build();
    assert_eq!(
        get(&server.url("/me"), Some(&bearer(&access))).await.status,
        200
    );
    server.stop().await;
}

#[actix_web::test]
async fn auth_challenge_carries_resource_metadata() {
    let issuer = TestIssuer::start();
    let verifier = AsyncJwtVerifier::new(config_builder(&issuer).build().unwrap()).unwrap();
    let auth =
        Auth::new(verifier).challenge(Challenge::bearer(Some("api")).with_resource_metadata(
            "https://api.example.com/.well-known/oauth-protected-resource/mcp",
        ));
    assert_eq!(auth.realm_name(), Some("api"));
    let server = serve!({
        let auth = auth.clone();
        move || {
            App::new()
                .app_data(auth.clone())
                .service(
                    web::scope("/admin")
                        .wrap(RequireScopes::new(["admin"]))
                        .route("", web::get().to(me)),
                )
                .route("/me", web::get().to(me))
        }
    });
    let reply = get(&server.url("/me"), None).await;
    assert_eq!(reply.status, 401);
    assert_eq!(reply.challenge(), format!(r#"Bearer realm="api", {M}"#));
    let reply = get(
        &server.url("/admin"),
        Some(&bearer(&issuer.token().build())),
    )
    .await;
    assert_eq!(reply.status, 403);
    assert_eq!(
        reply.challenge(),
        format!(
            r#"Bearer realm="api", error="insufficient_scope", error_description="Insufficient scope", scope="admin", {M}"#
        )
    );
    server.stop().await;
}
