//! RFC 9728 through the tower layer over real HTTP: the metadata endpoint answered before
//! authentication (SPEC-2 §4.5), `resource_metadata` on every challenge (§4.6), the
//! token cookie. The expected bytes come from `verifier_testkit::conformance::challenges`,
//! shared with the axum and actix-web suites.

mod common;

use common::*;
use http::StatusCode;
use reqwest::Method;
use serde_json::json;
use verifier_core::dpop::DpopVerifier;
use verifier_core::{AsyncJwtVerifier, ResourceConfig, ResourceConfigBuilder};
use verifier_testkit::conformance::challenges::{
    check_field, dpop_config, metadata_resource_config, unauthenticated_authorizations, Expected,
    Mode, ResourceMetadataCase, METADATA_BODY, REALM, RESOURCE, RESOURCE_METADATA_PATH,
};
use verifier_testkit::{Fault, TestIssuer};
use verifier_tower::{BearerAuthLayer, ResourceMetadataService};

fn resource() -> ResourceConfigBuilder {
    ResourceConfig::builder().resource(RESOURCE)
}

fn verifier_with(issuer: &TestIssuer, resource: ResourceConfig) -> AsyncJwtVerifier {
    AsyncJwtVerifier::builder()
        .issuer(config(issuer))
        .resource(resource)
        .build()
        .expect("verifier")
}

/// The §4.5 example: every member, DPoP `allowed` with ES256 and EdDSA.
fn full_verifier(issuer: &TestIssuer) -> AsyncJwtVerifier {
    AsyncJwtVerifier::builder()
        .issuer(config(issuer))
        .resource(metadata_resource_config())
        .dpop(DpopVerifier::new(dpop_config(Mode::Allowed, false)))
        .build()
        .expect("verifier")
}

/// Every `WWW-Authenticate` field, each through the strict parser and within the
/// RFC 6750 character set (RM8, `check_field`).
fn fields(resp: &reqwest::Response) -> Vec<String> {
    let all = www_authenticate_all(resp);
    for field in &all {
        if let Err(e) = check_field(field) {
            panic!("{e}");
        }
    }
    all
}

/// A router-wide layer in front of a handler answering every path.
async fn serve_layer(layer: BearerAuthLayer) -> std::net::SocketAddr {
    serve_all(protect(layer)).await
}

// RM3 (tower, axum: the tower part). The metadata path is answered by a layer
// applied to every path, without credentials and before authentication.
#[tokio::test]
async fn metadata_endpoint_is_answered_before_authentication() {
    let issuer = TestIssuer::start();
    let addr = serve_layer(BearerAuthLayer::new(full_verifier(&issuer)).realm(REALM)).await;

    let resp = send(addr, Method::GET, RESOURCE_METADATA_PATH, &[]).await;
    assert_eq!(resp.status(), StatusCode::OK);
    let h = resp.headers().clone();
    assert_eq!(h["content-type"], "application/json");
    assert_eq!(h["cache-control"], "public, max-age=3600");
    assert_eq!(h["access-control-allow-origin"], "*");
    assert!(h.get("www-authenticate").is_none());
    assert_eq!(resp.text().await.unwrap(), METADATA_BODY);

    // A query string is ignored.
    let resp = send(
        addr,
        Method::GET,
        &format!("{RESOURCE_METADATA_PATH}?x=1"),
        &[],
    )
    .await;
    assert_eq!(resp.status(), StatusCode::OK);
    assert_eq!(resp.text().await.unwrap(), METADATA_BODY);

    let resp = send(addr, Method::HEAD, RESOURCE_METADATA_PATH, &[]).await;
    assert_eq!(resp.status(), StatusCode::OK);
    assert_eq!(resp.headers()["content-type"], "application/json");
    assert_eq!(resp.headers()["cache-control"], "public, max-age=3600");
    assert_eq!(resp.headers()["access-control-allow-origin"], "*");
    assert!(resp.bytes().await.unwrap().is_empty());

    for method in [Method::POST, Method::PUT, Method::DELETE] {
        let resp = send(addr, method.clone(), RESOURCE_METADATA_PATH, &[]).await;
        assert_eq!(resp.status(), StatusCode::METHOD_NOT_ALLOWED, "{method}");
        assert_eq!(resp.headers()["allow"], "GET, HEAD", "{method}");
    }

    // Not the path: the trailing-slash variant and a prefix are authenticated as usual.
    for path in [
        format!("{RESOURCE_METADATA_PATH}/"),
        "/.well-known/oauth-protected-resource".to_owned(),
    ] {
        let resp = send(addr, Method::GET, &path, &[]).await;
        assert_eq!(resp.status(), StatusCode::UNAUTHORIZED, "{path}");
    }
    // Serving it needs no key set.
    assert_eq!(issuer.fetch_count(), 0);
}

#[tokio::test]
async fn metadata_serving_can_be_turned_off_and_mounted_as_a_service() {
    let issuer = TestIssuer::start();
    let verifier = verifier_with(&issuer, resource().build().unwrap());
    let layer = BearerAuthLayer::new(verifier.clone());
    assert!(layer.resource_metadata().is_some());
    let off = layer.clone().serve_resource_metadata(false);
    assert!(off.resource_metadata().is_none());
    let addr = serve_layer(off).await;
    let resp = send(addr, Method::GET, RESOURCE_METADATA_PATH, &[]).await;
    assert_eq!(resp.status(), StatusCode::UNAUTHORIZED);

    // The service mounted at its path, next to a protected route.
    let service = ResourceMetadataService::<Body>::for_verifier(&verifier).expect("resource");
    assert_eq!(service.path(), RESOURCE_METADATA_PATH);
    let addr = serve(vec![
        (RESOURCE_METADATA_PATH, Route::new(service)),
        ("/me", protect(BearerAuthLayer::new(verifier))),
    ])
    .await;
    let resp = send(addr, Method::GET, RESOURCE_METADATA_PATH, &[]).await;
    assert_eq!(resp.status(), StatusCode::OK);
    let want = format!(
        r#"{{"resource":"{RESOURCE}","authorization_servers":["{}"],"bearer_methods_supported":["header"]}}"#,
        issuer.issuer()
    );
    assert_eq!(resp.text().await.unwrap(), want);
    let resp = send(addr, Method::POST, RESOURCE_METADATA_PATH, &[]).await;
    assert_eq!(resp.status(), StatusCode::METHOD_NOT_ALLOWED);
    assert_eq!(resp.headers()["allow"], "GET, HEAD");

    // Without a resource nothing is served, even when asked.
    let plain = BearerAuthLayer::new(async_verifier(&issuer)).serve_resource_metadata(true);
    assert!(plain.resource_metadata().is_none());
    assert!(ResourceMetadataService::<Body>::for_verifier(&async_verifier(&issuer)).is_none());
}

/// The rows of SPEC-2 §4.6 (RM6 and RM7 among them) through a router-wide layer; the
/// "missing scope" row through a layer requiring `admin`.
async fn section_4_6(issuer: &TestIssuer, case: ResourceMetadataCase) -> reqwest::Response {
    let verifier = verifier_with(issuer, resource().build().unwrap());
    let mut layer = BearerAuthLayer::new(verifier);
    if let Some(realm) = case.realm() {
        layer = layer.realm(realm);
    }
    if case.requires_scope() {
        layer = layer.require_scopes(["admin"]);
    }
    let addr = serve_layer(layer).await;
    let authorization = case.authorization(issuer);
    if case == ResourceMetadataCase::Outage {
        issuer.set_fault(Some(Fault::Status(500)));
    }
    let fields: Vec<(&str, String)> = authorization
        .into_iter()
        .map(|a| ("authorization", a))
        .collect();
    send(addr, Method::GET, "/mcp", &fields).await
}

#[tokio::test]
async fn section_4_6_challenges_are_exact() {
    for case in ResourceMetadataCase::ALL {
        let issuer = TestIssuer::start();
        let resp = section_4_6(&issuer, case).await;
        assert_eq!(resp.status().as_u16(), case.status(), "{case:?}");
        assert_eq!(fields(&resp), case.fields(&Expected::spec()), "{case:?}");
    }
}

// RM6 (tower, axum: the tower part)
#[tokio::test]
async fn route_requirement_403_has_scope_and_resource_metadata() {
    let issuer = TestIssuer::start();
    let case = ResourceMetadataCase::MissingScope;
    let resp = section_4_6(&issuer, case).await;
    assert_eq!(resp.status(), StatusCode::FORBIDDEN);
    assert_eq!(
        fields(&resp),
        [
            r#"Bearer realm="api", error="insufficient_scope", error_description="Insufficient scope", scope="admin", resource_metadata="https://api.example.com/.well-known/oauth-protected-resource/mcp""#
        ]
    );
}

// RM7 (tower, axum: the tower part)
#[tokio::test]
async fn idp_down_cold_is_503_without_challenge() {
    let issuer = TestIssuer::start();
    let resp = section_4_6(&issuer, ResourceMetadataCase::Outage).await;
    assert_eq!(resp.status(), StatusCode::SERVICE_UNAVAILABLE);
    assert!(resp.headers().get("www-authenticate").is_none());
    let after: u64 = resp.headers()["retry-after"]
        .to_str()
        .unwrap()
        .parse()
        .unwrap();
    assert!(after >= 1);
}

// RM5 (tower, axum: the tower part)
#[tokio::test]
async fn every_401_carries_the_exact_resource_metadata_challenge() {
    let issuer = TestIssuer::start();
    let verifier = verifier_with(&issuer, resource().build().unwrap());
    let addr = serve_layer(BearerAuthLayer::new(verifier).realm(REALM)).await;
    let expected = Expected::spec();
    for case in issuer.refused_tokens() {
        let auth = [("authorization", format!("Bearer {}", case.token))];
        let resp = send(addr, Method::GET, "/mcp", &auth).await;
        assert_eq!(resp.status(), StatusCode::UNAUTHORIZED, "{}", case.code);
        assert_eq!(
            fields(&resp),
            [expected.invalid_token(case.description)],
            "{}",
            case.code
        );
        assert_eq!(json(resp).await["code"], case.code);
    }
    for value in unauthenticated_authorizations()
        .into_iter()
        .chain([Some("Bearer   ")])
    {
        let auth: Vec<(&str, String)> = value
            .into_iter()
            .map(|v| ("authorization", v.to_owned()))
            .collect();
        let resp = send(addr, Method::GET, "/mcp", &auth).await;
        assert_eq!(resp.status(), StatusCode::UNAUTHORIZED, "{value:?}");
        assert_eq!(
            fields(&resp),
            [
                r#"Bearer realm="api", resource_metadata="https://api.example.com/.well-known/oauth-protected-resource/mcp""#
            ],
            "{value:?}"
        );
        assert_eq!(json(resp).await["code"], "missing_token");
    }
}

// RM9 (tower, axum: the tower part)
#[tokio::test]
async fn hostile_realm_is_escaped_and_resource_metadata_unchanged() {
    let issuer = TestIssuer::start();
    let realm = r#"a "q" \b"#;
    let verifier = verifier_with(&issuer, resource().build().unwrap());
    let addr = serve_layer(BearerAuthLayer::new(verifier).realm(realm)).await;
    let resp = send(addr, Method::GET, "/mcp", &[]).await;
    assert_eq!(
        fields(&resp),
        [
            r#"Bearer realm="a \"q\" \\b", resource_metadata="https://api.example.com/.well-known/oauth-protected-resource/mcp""#
        ]
    );
    let parsed = verifier_testkit::conformance::challenge_parser::parse(&fields(&resp)[0]).unwrap();
    assert_eq!(parsed[0].param("realm"), Some(realm));
    let expired = issuer.refused_tokens().remove(0);
    let auth = [("authorization", format!("Bearer {}", expired.token))];
    let resp = send(addr, Method::GET, "/mcp", &auth).await;
    assert_eq!(
        fields(&resp),
        [Expected::spec()
            .realm(Some(realm))
            .invalid_token("Token is expired")]
    );
}

// RM10 (tower, axum: the tower part)
#[tokio::test]
async fn without_resource_headers_are_the_wave_1_bytes() {
    let issuer = TestIssuer::start();
    let layer = BearerAuthLayer::new(async_verifier(&issuer)).realm(REALM);
    assert!(layer.resource_metadata().is_none());
    let addr = serve_layer(layer.clone()).await;
    let admin = serve_layer(layer.require_scopes(["admin"])).await;
    for case in issuer.refused_tokens() {
        let auth = [("authorization", format!("Bearer {}", case.token))];
        let resp = send(addr, Method::GET, "/mcp", &auth).await;
        assert_eq!(
            fields(&resp),
            [case.challenge(Some(REALM))],
            "{}",
            case.code
        );
    }
    for value in unauthenticated_authorizations() {
        let auth: Vec<(&str, String)> = value
            .into_iter()
            .map(|v| ("authorization", v.to_owned()))
            .collect();
        let resp = send(addr, Method::GET, "/mcp", &auth).await;
        assert_eq!(fields(&resp), [r#"Bearer realm="api""#], "{value:?}");
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
        ]
    );
    // The metadata path is an ordinary path.
    let resp = send(addr, Method::GET, RESOURCE_METADATA_PATH, &[]).await;
    assert_eq!(resp.status(), StatusCode::UNAUTHORIZED);
}

// RM8 (tower, axum: the tower part): every field the §4.6 rows, the refused
// tokens and a hostile realm produce passes the strict parser, each parameter once,
// within the RFC 6750 character set (checked by `fields`).
#[tokio::test]
async fn every_emitted_challenge_passes_the_strict_parser() {
    let mut checked = 0;
    for case in ResourceMetadataCase::ALL {
        let issuer = TestIssuer::start();
        let resp = section_4_6(&issuer, case).await;
        checked += fields(&resp).len();
    }
    let issuer = TestIssuer::start();
    for realm in [REALM, r#"a "q" \b"#, ""] {
        let verifier = verifier_with(&issuer, resource().build().unwrap());
        let addr = serve_layer(BearerAuthLayer::new(verifier).realm(realm)).await;
        for case in issuer.refused_tokens() {
            let auth = [("authorization", format!("Bearer {}", case.token))];
            checked += fields(&send(addr, Method::GET, "/mcp", &auth).await).len();
        }
    }
    assert!(checked >= 19, "{checked}");
}

/// The token cookie: read when there is no `Authorization` header, which wins when
/// both are present; the cookie twice is 400 `invalid_request`.
#[tokio::test]
async fn token_cookie_authenticates_through_the_layer() {
    let issuer = TestIssuer::start();
    let verifier = verifier_with(
        &issuer,
        ResourceConfig::builder()
            .token_cookie("access_token")
            .build()
            .unwrap(),
    );
    let addr = serve_layer(BearerAuthLayer::new(verifier).realm(REALM)).await;
    let token = issuer.token().build();
    let cookie = |v: &str| ("cookie", v.to_owned());

    let resp = send(
        addr,
        Method::GET,
        "/me",
        &[cookie(&format!("theme=dark; access_token={token}"))],
    )
    .await;
    assert_eq!(resp.status(), StatusCode::OK);
    assert_eq!(json(resp).await["sub"], "user-123");

    // Authorization wins: a bad header with a good cookie is refused...
    let expired = issuer.refused_tokens().remove(0).token;
    let resp = send(
        addr,
        Method::GET,
        "/me",
        &[
            ("authorization", format!("Bearer {expired}")),
            cookie(&format!("access_token={token}")),
        ],
    )
    .await;
    assert_eq!(resp.status(), StatusCode::UNAUTHORIZED);
    assert_eq!(json(resp).await["code"], "token_expired");
    // ...and a good header with a bad cookie passes.
    let resp = send(
        addr,
        Method::GET,
        "/me",
        &[
            ("authorization", format!("Bearer {token}")),
            cookie("access_token=garbage"),
        ],
    )
    .await;
    assert_eq!(resp.status(), StatusCode::OK);

    // The cookie twice (two fields, or twice in one): ambiguous.
    for fields_sent in [
        vec![cookie(&format!(
            "access_token={token}; access_token={token}"
        ))],
        vec![
            cookie(&format!("access_token={token}")),
            cookie("access_token=other"),
        ],
    ] {
        let resp = send(addr, Method::GET, "/me", &fields_sent).await;
        assert_eq!(resp.status(), StatusCode::BAD_REQUEST);
        assert_eq!(
            fields(&resp),
            [
                r#"Bearer realm="api", error="invalid_request", error_description="Multiple credentials""#
            ]
        );
        assert_eq!(json(resp).await["code"], "invalid_request");
    }
    // Another cookie only: no credentials.
    let resp = send(addr, Method::GET, "/me", &[cookie("theme=dark")]).await;
    assert_eq!(resp.status(), StatusCode::UNAUTHORIZED);
    assert_eq!(json(resp).await["code"], "missing_token");
}
