//! The MCP preset through actix-web (SPEC-2 §4.7, D11): a 401 without credentials on a
//! route with required scopes names them, next to `resource_metadata`; the 403 of a
//! missing scope names them too; tokens for another audience are refused.

#[macro_use]
mod common;

use actix_web::{web, App};
use serde_json::json;
use verifier_actix::{Auth, RequireScopes};
use verifier_core::{AsyncJwtVerifier, AuthConfig, ResourceConfig};
use verifier_testkit::TestIssuer;

use common::spec::{authorization, get, me};

const MCP: &str = "https://mcp.example.com/mcp";
const M: &str =
    r#"resource_metadata="https://mcp.example.com/.well-known/oauth-protected-resource/mcp""#;

fn mcp_auth(issuer: &TestIssuer) -> Auth {
    let verifier = AsyncJwtVerifier::builder()
        .issuer(
            AuthConfig::builder()
                .issuer(issuer.issuer())
                .audience(MCP)
                .jwks_url(issuer.jwks_url())
                .build()
                .unwrap(),
        )
        .resource(
            ResourceConfig::builder()
                .resource(MCP)
                .mcp()
                .build()
                .unwrap(),
        )
        .build()
        .unwrap();
    Auth::new(verifier).realm("mcp")
}

#[actix_web::test]
async fn mcp_routes_name_their_scopes_in_the_401() {
    let issuer = TestIssuer::start();
    let auth = mcp_auth(&issuer);
    let wide = auth.clone().require_scopes(["mcp:read"]);
    let server = serve!(move || {
        App::new()
            .app_data(auth.clone())
            // Route requirement through the middleware.
            .service(
                web::resource("/tools")
                    .wrap(RequireScopes::new(["mcp:tools"]))
                    .route(web::get().to(me)),
            )
            // No requirement: no hint.
            .route("/me", web::get().to(me))
            // An Auth-wide requirement, through the extractor.
            .service(
                web::scope("/wide")
                    .app_data(wide.clone())
                    .route("/me", web::get().to(me)),
            )
    });

    let reply = get(&server.url("/tools"), &authorization(None)).await;
    assert_eq!(reply.status, 401);
    assert_eq!(
        reply.challenges,
        [format!(r#"Bearer realm="mcp", scope="mcp:tools", {M}"#)]
    );
    let reply = get(&server.url("/me"), &authorization(None)).await;
    assert_eq!(reply.challenges, [format!(r#"Bearer realm="mcp", {M}"#)]);
    let reply = get(&server.url("/wide/me"), &authorization(None)).await;
    assert_eq!(
        reply.challenges,
        [format!(r#"Bearer realm="mcp", scope="mcp:read", {M}"#)]
    );

    // The token for the resource with the scope passes; without it, 403 names it.
    let token = |scope: &str, aud: &str| {
        let t = issuer
            .token()
            .claim("aud", json!(aud))
            .claim("scope", json!(scope))
            .build();
        format!("Bearer {t}")
    };
    let reply = get(
        &server.url("/tools"),
        &authorization(Some(&token("mcp:tools", MCP))),
    )
    .await;
    assert_eq!(reply.status, 200, "{reply:?}");
    let reply = get(
        &server.url("/tools"),
        &authorization(Some(&token("other", MCP))),
    )
    .await;
    assert_eq!(reply.status, 403);
    assert_eq!(
        reply.challenges,
        [format!(
            r#"Bearer realm="mcp", error="insufficient_scope", error_description="Insufficient scope", scope="mcp:tools", {M}"#
        )]
    );
    // Audience bound to the resource exactly.
    let reply = get(
        &server.url("/tools"),
        &authorization(Some(&token("mcp:tools", &format!("{MCP}/")))),
    )
    .await;
    assert_eq!(reply.status, 401);
    assert_eq!(reply.code(), "invalid_audience");
    server.stop().await;
}
