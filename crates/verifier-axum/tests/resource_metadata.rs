//! RFC 9728 through axum over real HTTP: the metadata route (`Auth::resource_metadata_router`
//! and the interception of `Auth::layer`), `resource_metadata` on every challenge of the
//! extractors and the layer (SPEC-2 §4.6), the token cookie. Expected bytes from
//! `verifier_testkit::conformance::challenges`, shared with tower and actix-web.

mod common;

use axum::routing::get;
use axum::Router;
use common::*;
use reqwest::{Method, StatusCode};
use serde_json::json;
use verifier_axum::{Auth, AuthRejection};
use verifier_core::dpop::DpopVerifier;
use verifier_core::{AsyncJwtVerifier, AuthError, ErrorCode, ResourceConfig};
use verifier_testkit::conformance::challenges::{
    metadata_resource_config, unauthenticated_authorizations, Expected, Mode, ResourceMetadataCase,
    METADATA_BODY, REALM, RESOURCE_METADATA_PATH,
};
use verifier_testkit::{Fault, TestIssuer};

const M: &str =
    r#"resource_metadata="https://api.example.com/.well-known/oauth-protected-resource/mcp""#;

/// The §4.5 example document (DPoP `allowed`, ES256 and EdDSA).
fn full_auth(issuer: &TestIssuer) -> Auth {
    let dpop = DpopVerifier::new(dpop_config(Mode::Allowed, false));
    let verifier = AsyncJwtVerifier::builder()
        .issuer(config(issuer))
        .resource(metadata_resource_config())
        .dpop(dpop)
        .build()
        .unwrap();
    Auth::new(verifier).realm(REALM)
}

async fn assert_metadata_endpoint(addr: std::net::SocketAddr, what: &str) {
    let resp = send(addr, Method::GET, RESOURCE_METADATA_PATH, &[]).await;
    assert_eq!(resp.status(), StatusCode::OK, "{what}");
    assert_eq!(resp.headers()["content-type"], "application/json", "{what}");
    assert_eq!(
        resp.headers()["cache-control"],
        "public, max-age=3600",
        "{what}"
    );
    assert_eq!(resp.headers()["access-control-allow-origin"], "*", "{what}");
    assert!(resp.headers().get("www-authenticate").is_none(), "{what}");
    assert_eq!(resp.text().await.unwrap(), METADATA_BODY, "{what}");

    let query = format!("{RESOURCE_METADATA_PATH}?x=1");
    let resp = send(addr, Method::GET, &query, &[]).await;
    assert_eq!(
        resp.text().await.unwrap(),
        METADATA_BODY,
        "{what}: query ignored"
    );

    let resp = send(addr, Method::HEAD, RESOURCE_METADATA_PATH, &[]).await;
    assert_eq!(resp.status(), StatusCode::OK, "{what}");
    assert_eq!(resp.headers()["content-type"], "application/json", "{what}");
    assert_eq!(
        resp.headers()["cache-control"],
        "public, max-age=3600",
        "{what}"
    );
    assert_eq!(resp.headers()["access-control-allow-origin"], "*", "{what}");
    assert!(resp.bytes().await.unwrap().is_empty(), "{what}");

    for method in [Method::POST, Method::PUT, Method::DELETE] {
        let resp = send(addr, method.clone(), RESOURCE_METADATA_PATH, &[]).await;
        assert_eq!(
            resp.status(),
            StatusCode::METHOD_NOT_ALLOWED,
            "{what} {method}"
        );
        assert_eq!(resp.headers()["allow"], "GET, HEAD", "{what} {method}");
    }
    // The protected route still needs credentials.
    let resp = send(addr, Method::GET, "/mcp", &[]).await;
    assert_eq!(resp.status(), StatusCode::UNAUTHORIZED, "{what}");
}

// RM3 (tower, axum: the axum part). Auth router-wide (`Router::layer`), the
// metadata router merged under `route_layer`, and extractors only.
#[tokio::test]
async fn metadata_route_needs_no_credentials() {
    let issuer = TestIssuer::start();
    let auth = full_auth(&issuer);

    let router_wide = Router::new()
        .route("/mcp", get(me))
        .layer(auth.layer())
        .with_state(auth.clone());
    let addr = serve(router_wide).await;
    assert_metadata_endpoint(addr, "Router::layer").await;
    // Not the path: authenticated as any other (the layer wraps the fallback).
    let slash = format!("{RESOURCE_METADATA_PATH}/");
    let resp = send(addr, Method::GET, &slash, &[]).await;
    assert_eq!(resp.status(), StatusCode::UNAUTHORIZED);

    let merged = Router::new()
        .route("/mcp", get(me))
        .merge(auth.resource_metadata_router())
        .route_layer(auth.layer())
        .with_state(auth.clone());
    let addr = serve(merged).await;
    assert_metadata_endpoint(addr, "merged + route_layer").await;
    let resp = send(addr, Method::GET, &slash, &[]).await;
    assert_eq!(resp.status(), StatusCode::NOT_FOUND, "trailing slash: 404");

    let extractors = app(auth.clone(), Style::Extractor, "/mcp", false);
    let addr = serve(extractors).await;
    assert_metadata_endpoint(addr, "extractors").await;
    assert_eq!(issuer.fetch_count(), 0);

    // No resource: an empty router.
    let plain = Auth::new(common::verifier_with(&issuer, ResourceConfig::default()));
    let addr = serve(plain.resource_metadata_router()).await;
    let resp = send(addr, Method::GET, RESOURCE_METADATA_PATH, &[]).await;
    assert_eq!(resp.status(), StatusCode::NOT_FOUND);
}

/// One row of §4.6 through `style`.
async fn section_4_6(
    issuer: &TestIssuer,
    case: ResourceMetadataCase,
    style: Style,
) -> reqwest::Response {
    let mut auth = Auth::new(verifier_with(issuer, resource()));
    if let Some(realm) = case.realm() {
        auth = auth.realm(realm);
    }
    let addr = serve(app(auth, style, "/mcp", case.requires_scope())).await;
    let authorization = case.authorization(issuer);
    if case == ResourceMetadataCase::Outage {
        issuer.set_fault(Some(Fault::Status(500)));
    }
    let sent: Vec<(&str, String)> = authorization
        .into_iter()
        .map(|a| ("authorization", a))
        .collect();
    send(addr, Method::GET, "/mcp", &sent).await
}

#[tokio::test]
async fn section_4_6_challenges_are_exact() {
    for style in STYLES {
        for case in ResourceMetadataCase::ALL {
            let issuer = TestIssuer::start();
            let resp = section_4_6(&issuer, case, style).await;
            assert_eq!(resp.status().as_u16(), case.status(), "{style:?} {case:?}");
            assert_eq!(
                fields(&resp),
                case.fields(&Expected::spec()),
                "{style:?} {case:?}"
            );
        }
    }
}

// RM6 (tower, axum: the axum part)
#[tokio::test]
async fn route_requirement_403_has_scope_and_resource_metadata() {
    for style in STYLES {
        let issuer = TestIssuer::start();
        let resp = section_4_6(&issuer, ResourceMetadataCase::MissingScope, style).await;
        assert_eq!(resp.status(), StatusCode::FORBIDDEN, "{style:?}");
        assert_eq!(
            fields(&resp),
            [format!(
                r#"Bearer realm="api", error="insufficient_scope", error_description="Insufficient scope", scope="admin", {M}"#
            )],
            "{style:?}"
        );
    }
}

// RM7 (tower, axum: the axum part)
#[tokio::test]
async fn idp_down_cold_is_503_without_challenge() {
    for style in STYLES {
        let issuer = TestIssuer::start();
        let resp = section_4_6(&issuer, ResourceMetadataCase::Outage, style).await;
        assert_eq!(resp.status(), StatusCode::SERVICE_UNAVAILABLE, "{style:?}");
        assert!(
            resp.headers().get("www-authenticate").is_none(),
            "{style:?}"
        );
        let after: u64 = resp.headers()["retry-after"]
            .to_str()
            .unwrap()
            .parse()
            .unwrap();
        assert!(after >= 1);
    }
}

// RM5 (tower, axum: the axum part)
#[tokio::test]
async fn every_401_carries_the_exact_resource_metadata_challenge() {
    let issuer = TestIssuer::start();
    let expected = Expected::spec();
    for style in STYLES {
        let auth = Auth::new(verifier_with(&issuer, resource())).realm(REALM);
        let addr = serve(app(auth, style, "/mcp", false)).await;
        for case in issuer.refused_tokens() {
            let sent = [("authorization", format!("Bearer {}", case.token))];
            let resp = send(addr, Method::GET, "/mcp", &sent).await;
            assert_eq!(
                resp.status(),
                StatusCode::UNAUTHORIZED,
                "{style:?} {}",
                case.code
            );
            assert_eq!(
                fields(&resp),
                [expected.invalid_token(case.description)],
                "{style:?} {}",
                case.code
            );
            assert_eq!(json(resp).await["code"], case.code);
        }
        for value in unauthenticated_authorizations()
            .into_iter()
            .chain([Some("Bearer   ")])
        {
            let sent: Vec<(&str, String)> = value
                .into_iter()
                .map(|v| ("authorization", v.to_owned()))
                .collect();
            let resp = send(addr, Method::GET, "/mcp", &sent).await;
            assert_eq!(
                resp.status(),
                StatusCode::UNAUTHORIZED,
                "{style:?} {value:?}"
            );
            assert_eq!(
                fields(&resp),
                [format!(r#"Bearer realm="api", {M}"#)],
                "{style:?} {value:?}"
            );
            assert_eq!(json(resp).await["code"], "missing_token");
        }
    }
}

// RM9 (tower, axum: the axum part)
#[tokio::test]
async fn hostile_realm_is_escaped_and_resource_metadata_unchanged() {
    let issuer = TestIssuer::start();
    let realm = r#"a "q" \b"#;
    for style in STYLES {
        let auth = Auth::new(verifier_with(&issuer, resource())).realm(realm);
        let addr = serve(app(auth, style, "/mcp", false)).await;
        let resp = send(addr, Method::GET, "/mcp", &[]).await;
        let got = fields(&resp);
        assert_eq!(
            got,
            [format!(r#"Bearer realm="a \"q\" \\b", {M}"#)],
            "{style:?}"
        );
        let parsed = verifier_testkit::conformance::challenge_parser::parse(&got[0]).unwrap();
        assert_eq!(parsed[0].param("realm"), Some(realm));
        let expired = issuer.refused_tokens().remove(0);
        let sent = [("authorization", format!("Bearer {}", expired.token))];
        let resp = send(addr, Method::GET, "/mcp", &sent).await;
        assert_eq!(
            fields(&resp),
            [Expected::spec()
                .realm(Some(realm))
                .invalid_token("Token is expired")],
            "{style:?}"
        );
    }
}

// RM10 (tower, axum: the axum part)
#[tokio::test]
async fn without_resource_headers_are_the_wave_1_bytes() {
    let issuer = TestIssuer::start();
    for style in STYLES {
        let auth = Auth::new(verifier_with(&issuer, ResourceConfig::default())).realm(REALM);
        assert_eq!(auth.challenge_ref().resource_metadata(), None);
        let addr = serve(app(auth.clone(), style, "/mcp", false)).await;
        let admin = serve(app(auth, style, "/mcp", true)).await;
        for case in issuer.refused_tokens() {
            let sent = [("authorization", format!("Bearer {}", case.token))];
            let resp = send(addr, Method::GET, "/mcp", &sent).await;
            assert_eq!(
                fields(&resp),
                [case.challenge(Some(REALM))],
                "{style:?} {}",
                case.code
            );
        }
        for value in unauthenticated_authorizations() {
            let sent: Vec<(&str, String)> = value
                .into_iter()
                .map(|v| ("authorization", v.to_owned()))
                .collect();
            let resp = send(addr, Method::GET, "/mcp", &sent).await;
            assert_eq!(
                fields(&resp),
                [r#"Bearer realm="api""#],
                "{style:?} {value:?}"
            );
        }
        let token = issuer.token().claim("scope", json!("read")).build();
        let resp = send(
            admin,
            Method::GET,
            "/mcp",
            &[("authorization", format!("Bearer {token}"))],
        )
        .await;
        assert_eq!(
            fields(&resp),
            [
                r#"Bearer realm="api", error="insufficient_scope", error_description="Insufficient scope", scope="admin""#
            ],
            "{style:?}"
        );
    }
}

// RM8 (tower, axum: the axum part): every field of the §4.6 rows, the refused
// tokens and hostile realms, from the extractors and the layer, passes the strict
// parser, each parameter once, within the RFC 6750 character set (checked by `fields`).
#[tokio::test]
async fn every_emitted_challenge_passes_the_strict_parser() {
    let mut checked = 0;
    for style in STYLES {
        for case in ResourceMetadataCase::ALL {
            let issuer = TestIssuer::start();
            checked += fields(&section_4_6(&issuer, case, style).await).len();
        }
        let issuer = TestIssuer::start();
        for realm in [REALM, r#"a "q" \b"#, ""] {
            let auth = Auth::new(verifier_with(&issuer, resource())).realm(realm);
            let addr = serve(app(auth, style, "/mcp", false)).await;
            for case in issuer.refused_tokens() {
                let sent = [("authorization", format!("Bearer {}", case.token))];
                checked += fields(&send(addr, Method::GET, "/mcp", &sent).await).len();
            }
        }
    }
    assert!(checked >= 38, "{checked}");
}

/// `Auth::new` takes the verifier's challenge; `AuthRejection` exposes status and body
/// like axum's own rejections.
#[tokio::test]
async fn auth_defaults_to_the_verifiers_challenge() {
    let issuer = TestIssuer::start();
    let auth = Auth::new(verifier_with(&issuer, resource())).realm(REALM);
    assert_eq!(auth.realm_name(), Some(REALM));
    assert_eq!(
        auth.challenge_ref().resource_metadata(),
        Some("https://api.example.com/.well-known/oauth-protected-resource/mcp")
    );
    assert!(auth.healthcheck(false).await);
    assert!(auth.health().await.ready);
    let rejection: AuthRejection = auth.reject(AuthError::new(ErrorCode::MissingToken));
    assert_eq!(rejection.status(), StatusCode::UNAUTHORIZED);
    assert_eq!(
        rejection.body_text(),
        r#"{"code":"missing_token","detail":"Missing access token"}"#
    );
    let response = axum::response::IntoResponse::into_response(rejection);
    assert_eq!(
        response.headers()["www-authenticate"],
        format!(r#"Bearer realm="api", {M}"#).as_str()
    );
}

/// The token cookie: read by the extractors and the layer when there is no
/// `Authorization` header, which wins when both are present; the cookie twice is 400.
#[tokio::test]
async fn token_cookie_authenticates_through_the_extractor_and_the_layer() {
    let issuer = TestIssuer::start();
    let token = issuer.token().build();
    let expired = issuer.refused_tokens().remove(0).token;
    let cookie = |v: String| ("cookie", v);
    for style in STYLES {
        let cookie_config = ResourceConfig::builder()
            .token_cookie("access_token")
            .build()
            .unwrap();
        let auth = Auth::new(verifier_with(&issuer, cookie_config)).realm(REALM);
        let addr = serve(app(auth, style, "/me", false)).await;

        let resp = send(
            addr,
            Method::GET,
            "/me",
            &[cookie(format!("theme=dark; access_token={token}"))],
        )
        .await;
        assert_eq!(resp.status(), StatusCode::OK, "{style:?}");
        assert_eq!(json(resp).await["sub"], "user-123");

        let both = [
            ("authorization", format!("Bearer {expired}")),
            cookie(format!("access_token={token}")),
        ];
        let resp = send(addr, Method::GET, "/me", &both).await;
        assert_eq!(
            resp.status(),
            StatusCode::UNAUTHORIZED,
            "{style:?}: Authorization wins"
        );
        assert_eq!(json(resp).await["code"], "token_expired");
        let both = [
            ("authorization", format!("Bearer {token}")),
            cookie("access_token=garbage".to_owned()),
        ];
        let resp = send(addr, Method::GET, "/me", &both).await;
        assert_eq!(
            resp.status(),
            StatusCode::OK,
            "{style:?}: Authorization wins"
        );

        for twice in [
            vec![cookie(format!(
                "access_token={token}; access_token={token}"
            ))],
            vec![
                cookie(format!("access_token={token}")),
                cookie("access_token=other".to_owned()),
            ],
        ] {
            let resp = send(addr, Method::GET, "/me", &twice).await;
            assert_eq!(resp.status(), StatusCode::BAD_REQUEST, "{style:?}");
            assert_eq!(
                fields(&resp),
                [
                    r#"Bearer realm="api", error="invalid_request", error_description="Multiple credentials""#
                ]
            );
            assert_eq!(json(resp).await["code"], "invalid_request");
        }
    }
}
