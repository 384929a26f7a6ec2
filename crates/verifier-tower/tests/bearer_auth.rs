//! `BearerAuth` over real HTTP (hyper server, reqwest client, testkit issuer).

mod common;

use common::*;
use http::{Response, StatusCode};
use http_body_util::Full;
use serde_json::json;
use verifier_core::{AuthError, ErrorCode};
use verifier_testkit::{Fault, TestIssuer};
use verifier_tower::BearerAuthLayer;

const MISSING: &str = r#"Bearer realm="api""#;

fn invalid(description: &str) -> String {
    format!(r#"Bearer realm="api", error="invalid_token", error_description="{description}""#)
}

/// /me: required; /admin: scope admin; /perm: permission read:users; /optional: optional.
async fn app(issuer: &TestIssuer) -> std::net::SocketAddr {
    let layer = BearerAuthLayer::new(async_verifier(issuer)).realm("api");
    serve(vec![
        ("/me", protect(layer.clone())),
        ("/admin", protect(layer.clone().require_scopes(["admin"]))),
        (
            "/perm",
            protect(layer.clone().require_permissions(["read:users"])),
        ),
        ("/optional", protect(layer.clone().optional())),
        ("/public", handler()),
    ])
    .await
}

#[tokio::test]
async fn valid_token_reaches_the_service_with_claims() {
    let issuer = TestIssuer::start();
    let addr = app(&issuer).await;
    let token = issuer.token().claim("tenant", json!("t1")).build();

    let resp = get(addr, "/me", Some(&format!("Bearer {token}"))).await;
    assert_eq!(resp.status(), StatusCode::OK);
    assert!(resp.headers().get("www-authenticate").is_none());
    let claims = json(resp).await;
    assert_eq!(claims["sub"], "user-123");
    assert_eq!(claims["tenant"], "t1");
    assert_eq!(claims["iss"], issuer.issuer());
}

#[tokio::test]
async fn scheme_in_any_case_and_extra_spaces_are_accepted() {
    let issuer = TestIssuer::start();
    let addr = app(&issuer).await;
    let token = issuer.token().build();
    for value in [
        format!("bearer {token}"),
        format!("BEARER {token}"),
        format!("Bearer    {token}"),
        format!("bEaReR  {token}"),
    ] {
        let resp = get(addr, "/me", Some(&value)).await;
        assert_eq!(resp.status(), StatusCode::OK, "{value:.12}");
        assert_eq!(json(resp).await["sub"], "user-123");
    }
}

#[tokio::test]
async fn no_bearer_credentials_is_missing_token_without_error_params() {
    let issuer = TestIssuer::start();
    let addr = app(&issuer).await;
    for value in [
        None,
        Some("Basic dXNlcjpwYXNz"),
        Some("Bearer"),
        Some("Bearer   "),
    ] {
        let resp = get(addr, "/me", value).await;
        assert_eq!(resp.status(), StatusCode::UNAUTHORIZED, "{value:?}");
        assert_eq!(
            www_authenticate(&resp).as_deref(),
            Some(MISSING),
            "{value:?}"
        );
        assert_eq!(
            resp.headers()["content-type"],
            "application/json",
            "{value:?}"
        );
        let body = json(resp).await;
        assert_eq!(body["code"], "missing_token");
        assert_eq!(body["detail"], "Missing access token");
    }
    // Nothing was fetched for requests without a token.
    assert_eq!(issuer.fetch_count(), 0);
}

#[tokio::test]
async fn invalid_tokens_get_an_invalid_token_challenge() {
    let issuer = TestIssuer::start();
    let addr = app(&issuer).await;
    let cases: Vec<(String, &str, &str)> = issuer
        .refused_tokens()
        .into_iter()
        .map(|c| (c.token, c.code, c.description))
        .collect();
    for (token, code, message) in cases {
        let resp = get(addr, "/me", Some(&format!("Bearer {token}"))).await;
        assert_eq!(resp.status(), StatusCode::UNAUTHORIZED, "{code}");
        assert_eq!(
            www_authenticate(&resp).as_deref(),
            Some(invalid(message).as_str()),
            "{code}"
        );
        let body = json(resp).await;
        assert_eq!(body["code"], code);
        assert_eq!(body["detail"], message);
    }
}

#[tokio::test]
async fn per_layer_scopes_and_permissions() {
    let issuer = TestIssuer::start();
    let addr = app(&issuer).await;

    let plain = issuer.token().claim("scope", json!("read")).build();
    let resp = get(addr, "/admin", Some(&format!("Bearer {plain}"))).await;
    assert_eq!(resp.status(), StatusCode::FORBIDDEN);
    assert_eq!(
        www_authenticate(&resp).as_deref(),
        Some(
            r#"Bearer realm="api", error="insufficient_scope", error_description="Insufficient scope", scope="admin""#
        )
    );
    assert_eq!(json(resp).await["code"], "insufficient_scope");

    let admin = issuer.token().claim("scope", json!("read admin")).build();
    let resp = get(addr, "/admin", Some(&format!("Bearer {admin}"))).await;
    assert_eq!(resp.status(), StatusCode::OK);
    assert_eq!(json(resp).await["scope"], "read admin");

    let resp = get(addr, "/perm", Some(&format!("Bearer {admin}"))).await;
    assert_eq!(resp.status(), StatusCode::FORBIDDEN);
    assert_eq!(
        www_authenticate(&resp).as_deref(),
        Some(
            r#"Bearer realm="api", error="insufficient_scope", error_description="Insufficient permissions", permissions="read:users""#
        )
    );
    assert_eq!(json(resp).await["code"], "insufficient_permissions");

    let reader = issuer
        .token()
        .claim("permissions", json!(["read:users"]))
        .build();
    let resp = get(addr, "/perm", Some(&format!("Bearer {reader}"))).await;
    assert_eq!(resp.status(), StatusCode::OK);
}

#[tokio::test]
async fn optional_mode_lets_anonymous_requests_through_but_refuses_bad_tokens() {
    let issuer = TestIssuer::start();
    let addr = app(&issuer).await;

    for value in [None, Some("Basic dXNlcjpwYXNz")] {
        let resp = get(addr, "/optional", value).await;
        assert_eq!(resp.status(), StatusCode::OK, "{value:?}");
        assert_eq!(resp.text().await.unwrap(), "anonymous");
    }

    let expired = issuer
        .token()
        .claim("exp", json!(verifier_testkit::now() - 60))
        .build();
    let resp = get(addr, "/optional", Some(&format!("Bearer {expired}"))).await;
    assert_eq!(resp.status(), StatusCode::UNAUTHORIZED);
    assert_eq!(
        www_authenticate(&resp).as_deref(),
        Some(invalid("Token is expired").as_str())
    );

    // `Bearer` with no token is bad credentials, not "no credentials".
    let resp = get(addr, "/optional", Some("Bearer")).await;
    assert_eq!(resp.status(), StatusCode::UNAUTHORIZED);
    assert_eq!(json(resp).await["code"], "missing_token");

    let token = issuer.token().build();
    let resp = get(addr, "/optional", Some(&format!("Bearer {token}"))).await;
    assert_eq!(resp.status(), StatusCode::OK);
    assert_eq!(json(resp).await["sub"], "user-123");
}

#[tokio::test]
async fn issuer_down_with_a_cold_cache_is_503_with_retry_after() {
    for fault in [Fault::Status(500), Fault::DropConnection] {
        let issuer = TestIssuer::start();
        issuer.set_fault(Some(fault.clone()));
        let addr = app(&issuer).await;
        let token = issuer.token().build();

        let resp = get(addr, "/me", Some(&format!("Bearer {token}"))).await;
        assert_eq!(resp.status(), StatusCode::SERVICE_UNAVAILABLE, "{fault:?}");
        assert!(www_authenticate(&resp).is_none(), "{fault:?}");
        let retry_after: u64 = resp.headers()["retry-after"]
            .to_str()
            .unwrap()
            .parse()
            .expect("Retry-After in seconds");
        assert!(retry_after >= 1);
        assert_eq!(json(resp).await["code"], "jwks_fetch_failed", "{fault:?}");
        assert!(issuer.fetch_count() >= 1);
    }
}

#[tokio::test]
async fn stacked_layers_reuse_the_outer_claims() {
    let issuer = TestIssuer::start();
    // The inner layer's verifier could verify nothing (wrong audience): a 200 proves the
    // outer layer's claims were reused, not verified again.
    let wrong = verifier_core::AsyncJwtVerifier::new(
        verifier_core::AuthConfig::builder()
            .issuer(issuer.issuer())
            .audience("https://nobody.example")
            .jwks_url(issuer.jwks_url())
            .build()
            .unwrap(),
    )
    .unwrap();
    let outer = BearerAuthLayer::new(async_verifier(&issuer)).realm("api");
    let inner = BearerAuthLayer::new(wrong)
        .realm("api")
        .require_scopes(["admin"]);
    let stacked = tower::ServiceBuilder::new()
        .layer(outer)
        .layer(inner)
        .service(handler());
    let addr = serve(vec![(
        "/admin",
        tower::util::BoxCloneSyncService::new(stacked),
    )])
    .await;

    let admin = issuer.token().claim("scope", json!("admin")).build();
    let resp = get(addr, "/admin", Some(&format!("Bearer {admin}"))).await;
    assert_eq!(resp.status(), StatusCode::OK);
    assert_eq!(issuer.fetch_count(), 1);

    let plain = issuer.token().build();
    let resp = get(addr, "/admin", Some(&format!("Bearer {plain}"))).await;
    assert_eq!(resp.status(), StatusCode::FORBIDDEN);
}

#[tokio::test]
async fn failure_response_is_customisable_and_realm_defaults_to_none() {
    let issuer = TestIssuer::start();
    let custom = BearerAuthLayer::new(async_verifier(&issuer)).on_failure(|err: &AuthError| {
        let mut resp = Response::new(Full::from(format!("nope: {}", err.code())));
        *resp.status_mut() = if err.code() == ErrorCode::MissingToken {
            StatusCode::IM_A_TEAPOT
        } else {
            err.status()
        };
        resp
    });
    let no_realm = BearerAuthLayer::new(async_verifier(&issuer));
    let addr = serve(vec![
        ("/custom", protect(custom)),
        ("/plain", protect(no_realm)),
    ])
    .await;

    let resp = get(addr, "/custom", None).await;
    assert_eq!(resp.status(), StatusCode::IM_A_TEAPOT);
    assert!(www_authenticate(&resp).is_none());
    assert_eq!(resp.text().await.unwrap(), "nope: missing_token");

    let resp = get(addr, "/plain", None).await;
    assert_eq!(resp.status(), StatusCode::UNAUTHORIZED);
    assert_eq!(www_authenticate(&resp).as_deref(), Some("Bearer"));
    let resp = get(addr, "/plain", Some("Bearer x.y.z")).await;
    assert_eq!(
        www_authenticate(&resp).as_deref(),
        Some(r#"Bearer error="invalid_token", error_description="Malformed token""#)
    );
}

/// GET `path` with every value as its own `Authorization` field.
async fn get_with_fields(
    addr: std::net::SocketAddr,
    path: &str,
    values: &[&str],
) -> reqwest::Response {
    let mut req = client().get(format!("http://{addr}{path}"));
    for value in values {
        req = req.header("authorization", *value);
    }
    req.send().await.expect("request")
}

/// RFC 6750 §3.1: two `Authorization` fields are two credentials: 400 `invalid_request`
/// before any verification, on required and optional routes, with or without a realm.
#[tokio::test]
async fn two_authorization_fields_are_400_invalid_request() {
    let issuer = TestIssuer::start();
    let addr = app(&issuer).await;
    let no_realm = serve(vec![(
        "/plain",
        protect(BearerAuthLayer::new(async_verifier(&issuer))),
    )])
    .await;
    let token = issuer.token().claim("scope", json!("admin")).build();
    let bearer = format!("Bearer {token}");
    let pairs: [[&str; 2]; 4] = [
        [&bearer, &bearer],
        [&bearer, "Bearer x.y.z"],
        ["Basic dXNlcjpwYXNz", &bearer],
        [&bearer, "Basic dXNlcjpwYXNz"],
    ];
    for fields in &pairs {
        for path in ["/me", "/admin", "/optional"] {
            let resp = get_with_fields(addr, path, fields).await;
            assert_eq!(resp.status(), StatusCode::BAD_REQUEST, "{path}");
            assert_eq!(
                www_authenticate(&resp).as_deref(),
                Some(
                    r#"Bearer realm="api", error="invalid_request", error_description="Multiple credentials""#
                ),
                "{path}"
            );
            assert_eq!(resp.headers()["content-type"], "application/json");
            assert_eq!(
                json(resp).await,
                json!({"code": "invalid_request", "detail": "Multiple credentials"})
            );
        }
        let resp = get_with_fields(no_realm, "/plain", fields).await;
        assert_eq!(resp.status(), StatusCode::BAD_REQUEST);
        assert_eq!(
            www_authenticate(&resp).as_deref(),
            Some(r#"Bearer error="invalid_request", error_description="Multiple credentials""#)
        );
        assert_eq!(json(resp).await["code"], "invalid_request");
    }
    assert_eq!(issuer.fetch_count(), 0, "refused before any verification");
    // One field with the same token still passes.
    let resp = get_with_fields(addr, "/admin", &[&bearer]).await;
    assert_eq!(resp.status(), StatusCode::OK);
    // One field holding two comma-joined credentials is one (malformed) token: 401.
    let joined = format!("{bearer}, {bearer}");
    let resp = get_with_fields(addr, "/admin", &[&joined]).await;
    assert_eq!(resp.status(), StatusCode::UNAUTHORIZED);
    assert_eq!(json(resp).await["code"], "malformed_token");
}
