//! `verifier-axum` over real HTTP: axum::serve on 127.0.0.1:0, reqwest and
//! tokio-tungstenite clients, the testkit issuer.

use std::net::SocketAddr;

use axum::extract::ws::{Message, WebSocketUpgrade};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::{Json, Router};
use futures_util::StreamExt;
use reqwest::StatusCode;
use serde::{Deserialize, Serialize};
use serde_json::json;
use tokio_tungstenite::tungstenite::client::IntoClientRequest;
use verifier_axum::{Auth, AuthRejection, Authorized, Claims, Requirement};
use verifier_core::{AsyncJwtVerifier, AuthConfig};
use verifier_testkit::{Alg, Fault, TestIssuer, TestKey, DEFAULT_AUDIENCE};

const MISSING: &str = r#"Bearer realm="api""#;
const NO_ADMIN: &str = r#"Bearer realm="api", error="insufficient_scope", error_description="Insufficient scope", scope="admin""#;

fn invalid(description: &str) -> String {
    format!(r#"Bearer realm="api", error="invalid_token", error_description="{description}""#)
}

fn verifier_for(issuer: &TestIssuer, audience: &str) -> AsyncJwtVerifier {
    AsyncJwtVerifier::new(
        AuthConfig::builder()
            .issuer(issuer.issuer())
            .audience(audience)
            .jwks_url(issuer.jwks_url())
            .build()
            .expect("config"),
    )
    .expect("verifier")
}

fn auth(issuer: &TestIssuer) -> Auth {
    Auth::new(verifier_for(issuer, DEFAULT_AUDIENCE)).with_realm("api")
}

struct Admin;
impl Requirement for Admin {
    const SCOPES: &'static [&'static str] = &["admin"];
}

#[derive(Deserialize, Serialize)]
struct Mine {
    sub: String,
    tenant: Option<String>,
}

async fn me(Claims(claims): Claims) -> Json<verifier_core::Claims> {
    Json(claims)
}

async fn mine(Claims(mine): Claims<Mine>) -> Json<Mine> {
    Json(mine)
}

async fn optional(claims: Option<Claims>) -> String {
    match claims {
        Some(Claims(claims)) => format!("hello {}", claims.sub().unwrap_or("?")),
        None => "hello stranger".to_owned(),
    }
}

async fn guarded(claims: Authorized<Admin>) -> String {
    format!("admin {}", claims.sub().unwrap_or("?"))
}

/// Handles the rejection itself.
async fn custom(claims: Result<Claims, AuthRejection>) -> Response {
    match claims {
        Ok(Claims(claims)) => claims.sub().unwrap_or("?").to_owned().into_response(),
        Err(rejection) => (
            StatusCode::IM_A_TEAPOT,
            format!("custom {}", rejection.error().code()),
        )
            .into_response(),
    }
}

async fn ws(Claims(claims): Claims, upgrade: WebSocketUpgrade) -> Response {
    let sub = claims.sub().unwrap_or("?").to_owned();
    upgrade.on_upgrade(move |mut socket| async move {
        let _ = socket
            .send(Message::Text(format!("hello {sub}").into()))
            .await;
    })
}

fn app(auth: Auth) -> Router {
    Router::new()
        .route("/me", get(me))
        .route("/mine", get(mine))
        .route(
            "/admin",
            get(me).route_layer(auth.require_scopes(["admin"])),
        )
        .route(
            "/perm",
            get(me).route_layer(auth.require_permissions(["read:users"])),
        )
        .route("/guarded", get(guarded))
        .route("/optional", get(optional))
        .route("/custom", get(custom))
        .route("/ws", get(ws))
        .with_state(auth)
}

async fn serve(app: Router) -> SocketAddr {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let addr = listener.local_addr().expect("addr");
    tokio::spawn(async move {
        axum::serve(listener, app).await.expect("serve");
    });
    addr
}

async fn fetch(addr: SocketAddr, path: &str, authorization: Option<&str>) -> reqwest::Response {
    let client = reqwest::Client::builder().no_proxy().build().unwrap();
    let mut req = client.get(format!("http://{addr}{path}"));
    if let Some(value) = authorization {
        req = req.header("authorization", value);
    }
    req.send().await.expect("request")
}

async fn get_bearer(addr: SocketAddr, path: &str, token: &str) -> reqwest::Response {
    fetch(addr, path, Some(&format!("Bearer {token}"))).await
}

/// The challenge, checked with the testkit's strict RFC 9110 parser on the way.
fn www_authenticate(resp: &reqwest::Response) -> Option<String> {
    let value = resp
        .headers()
        .get("www-authenticate")
        .map(|v| v.to_str().unwrap().to_owned())?;
    if let Err(e) = verifier_testkit::conformance::challenge_parser::parse(&value) {
        panic!("not a valid challenge: {value:?}: {e}");
    }
    Some(value)
}

async fn json(resp: reqwest::Response) -> serde_json::Value {
    resp.json().await.expect("JSON body")
}

#[tokio::test]
async fn valid_token_gives_claims() {
    let issuer = TestIssuer::start();
    let addr = serve(app(auth(&issuer))).await;
    let token = issuer.token().claim("tenant", json!("t1")).build();

    let resp = get_bearer(addr, "/me", &token).await;
    assert_eq!(resp.status(), StatusCode::OK);
    let claims = json(resp).await;
    assert_eq!(claims["sub"], "user-123");
    assert_eq!(claims["aud"], DEFAULT_AUDIENCE);

    let resp = get_bearer(addr, "/mine", &token).await;
    assert_eq!(resp.status(), StatusCode::OK);
    assert_eq!(json(resp).await, json!({"sub": "user-123", "tenant": "t1"}));

    // A claim set that does not fit the caller's type is invalid_token.
    let no_sub = issuer.token().remove_claim("sub").build();
    let resp = get_bearer(addr, "/mine", &no_sub).await;
    assert_eq!(resp.status(), StatusCode::UNAUTHORIZED);
    assert_eq!(
        www_authenticate(&resp).as_deref(),
        Some(invalid("Invalid token").as_str())
    );
    assert_eq!(json(resp).await["code"], "invalid_token");
}

#[tokio::test]
async fn scheme_in_any_case_and_extra_spaces_are_accepted() {
    let issuer = TestIssuer::start();
    let addr = serve(app(auth(&issuer))).await;
    let token = issuer.token().build();
    for value in [
        format!("bearer {token}"),
        format!("BEARER {token}"),
        format!("Bearer     {token}"),
    ] {
        let resp = fetch(addr, "/me", Some(&value)).await;
        assert_eq!(resp.status(), StatusCode::OK, "{value:.12}");
    }
}

#[tokio::test]
async fn no_bearer_credentials_is_missing_token() {
    let issuer = TestIssuer::start();
    let addr = serve(app(auth(&issuer))).await;
    for path in ["/me", "/admin", "/guarded"] {
        for value in [None, Some("Basic dXNlcjpwYXNz"), Some("Bearer")] {
            let resp = fetch(addr, path, value).await;
            assert_eq!(resp.status(), StatusCode::UNAUTHORIZED, "{path} {value:?}");
            assert_eq!(
                www_authenticate(&resp).as_deref(),
                Some(MISSING),
                "{path} {value:?}"
            );
            assert_eq!(resp.headers()["content-type"], "application/json");
            assert_eq!(
                json(resp).await,
                json!({"code": "missing_token", "detail": "Missing access token"})
            );
        }
    }
    assert_eq!(issuer.fetch_count(), 0);
}

#[tokio::test]
async fn invalid_tokens_get_an_invalid_token_challenge() {
    let issuer = TestIssuer::start();
    let addr = serve(app(auth(&issuer))).await;
    let cases: Vec<(String, &str, &str)> = issuer
        .refused_tokens()
        .into_iter()
        .map(|c| (c.token, c.code, c.description))
        .collect();
    for path in ["/me", "/admin"] {
        for (token, code, message) in &cases {
            let resp = get_bearer(addr, path, token).await;
            assert_eq!(resp.status(), StatusCode::UNAUTHORIZED, "{path} {code}");
            assert_eq!(
                www_authenticate(&resp).as_deref(),
                Some(invalid(message).as_str()),
                "{path} {code}"
            );
            assert_eq!(json(resp).await["code"], *code, "{path}");
        }
    }
}

#[tokio::test]
async fn per_route_scopes_and_permissions() {
    let issuer = TestIssuer::start();
    let addr = serve(app(auth(&issuer))).await;
    let plain = issuer.token().claim("scope", json!("read")).build();
    let admin = issuer.token().claim("scope", json!("read admin")).build();

    for path in ["/admin", "/guarded"] {
        let resp = get_bearer(addr, path, &plain).await;
        assert_eq!(resp.status(), StatusCode::FORBIDDEN, "{path}");
        assert_eq!(www_authenticate(&resp).as_deref(), Some(NO_ADMIN), "{path}");
        assert_eq!(
            json(resp).await,
            json!({"code": "insufficient_scope", "detail": "Insufficient scope"})
        );
        let resp = get_bearer(addr, path, &admin).await;
        assert_eq!(resp.status(), StatusCode::OK, "{path}");
    }
    // The plain token is fine where no scope is required.
    assert_eq!(
        get_bearer(addr, "/me", &plain).await.status(),
        StatusCode::OK
    );

    let resp = get_bearer(addr, "/perm", &admin).await;
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
        .claim("permissions", json!(["read:users", "write:users"]))
        .build();
    assert_eq!(
        get_bearer(addr, "/perm", &reader).await.status(),
        StatusCode::OK
    );
}

#[tokio::test]
async fn issuer_down_with_a_cold_cache_is_503_with_retry_after() {
    for fault in [Fault::Status(500), Fault::DropConnection] {
        let issuer = TestIssuer::start();
        issuer.set_fault(Some(fault.clone()));
        let addr = serve(app(auth(&issuer))).await;
        let token = issuer.token().build();
        for path in ["/me", "/admin"] {
            let resp = get_bearer(addr, path, &token).await;
            assert_eq!(resp.status(), StatusCode::SERVICE_UNAVAILABLE, "{fault:?}");
            assert!(www_authenticate(&resp).is_none(), "{fault:?}");
            let retry_after: u64 = resp.headers()["retry-after"]
                .to_str()
                .unwrap()
                .parse()
                .expect("seconds");
            assert!(retry_after >= 1);
            assert_eq!(json(resp).await["code"], "jwks_fetch_failed");
        }
    }
}

#[tokio::test]
async fn optional_claims() {
    let issuer = TestIssuer::start();
    let addr = serve(app(auth(&issuer))).await;

    for value in [None, Some("Basic dXNlcjpwYXNz")] {
        let resp = fetch(addr, "/optional", value).await;
        assert_eq!(resp.status(), StatusCode::OK);
        assert_eq!(resp.text().await.unwrap(), "hello stranger");
    }
    let token = issuer.token().build();
    let resp = get_bearer(addr, "/optional", &token).await;
    assert_eq!(resp.text().await.unwrap(), "hello user-123");

    let forged = issuer
        .token()
        .signing_key(&TestKey::generate(Alg::RS256, "x"))
        .build();
    let resp = get_bearer(addr, "/optional", &forged).await;
    assert_eq!(resp.status(), StatusCode::UNAUTHORIZED);
    assert_eq!(
        www_authenticate(&resp).as_deref(),
        Some(invalid("Invalid token signature").as_str())
    );
    let resp = fetch(addr, "/optional", Some("Bearer")).await;
    assert_eq!(resp.status(), StatusCode::UNAUTHORIZED);
    assert_eq!(www_authenticate(&resp).as_deref(), Some(MISSING));
}

#[tokio::test]
async fn rejection_can_be_handled_by_the_handler() {
    let issuer = TestIssuer::start();
    let addr = serve(app(auth(&issuer))).await;
    let resp = fetch(addr, "/custom", None).await;
    assert_eq!(resp.status(), StatusCode::IM_A_TEAPOT);
    assert_eq!(resp.text().await.unwrap(), "custom missing_token");
    let token = issuer.token().build();
    let resp = get_bearer(addr, "/custom", &token).await;
    assert_eq!(resp.text().await.unwrap(), "user-123");
}

#[tokio::test]
async fn router_level_auth_keeps_unknown_paths_404_with_route_layer() {
    let issuer = TestIssuer::start();
    let auth = auth(&issuer);
    let token = issuer.token().build();

    // route_layer: only matched routes are authenticated.
    let routed = Router::new()
        .route("/me", get(me))
        .route_layer(auth.layer())
        .with_state(auth.clone());
    let addr = serve(routed).await;
    assert_eq!(
        fetch(addr, "/me", None).await.status(),
        StatusCode::UNAUTHORIZED
    );
    assert_eq!(
        get_bearer(addr, "/me", &token).await.status(),
        StatusCode::OK
    );
    assert_eq!(
        fetch(addr, "/nope", None).await.status(),
        StatusCode::NOT_FOUND
    );
    assert_eq!(
        get_bearer(addr, "/nope", &token).await.status(),
        StatusCode::NOT_FOUND
    );

    // layer: the fallback is wrapped too, so an unknown path without a token is 401.
    let layered = Router::new()
        .route("/me", get(me))
        .layer(auth.layer())
        .with_state(auth);
    let addr = serve(layered).await;
    let resp = fetch(addr, "/nope", None).await;
    assert_eq!(resp.status(), StatusCode::UNAUTHORIZED);
    assert_eq!(www_authenticate(&resp).as_deref(), Some(MISSING));
    assert_eq!(
        get_bearer(addr, "/nope", &token).await.status(),
        StatusCode::NOT_FOUND
    );
}

#[tokio::test]
async fn claims_from_the_tower_layer_are_reused() {
    let issuer = TestIssuer::start();
    // The state's verifier accepts nothing (wrong audience); the layer's does. A 200
    // shows the extractor took the layer's claims instead of verifying again.
    let state = Auth::new(verifier_for(&issuer, "https://nobody.example")).with_realm("api");
    let layer = auth(&issuer).layer();
    let app = Router::new()
        .route("/me", get(me))
        .route("/guarded", get(guarded))
        .route_layer(layer)
        .with_state(state);
    let addr = serve(app).await;

    let admin = issuer.token().claim("scope", json!("admin")).build();
    let resp = get_bearer(addr, "/me", &admin).await;
    assert_eq!(resp.status(), StatusCode::OK);
    assert_eq!(json(resp).await["sub"], "user-123");
    assert_eq!(
        get_bearer(addr, "/guarded", &admin).await.status(),
        StatusCode::OK
    );
    // The guard still checks its requirement on reused claims.
    let plain = issuer.token().build();
    let resp = get_bearer(addr, "/guarded", &plain).await;
    assert_eq!(resp.status(), StatusCode::FORBIDDEN);
    assert_eq!(www_authenticate(&resp).as_deref(), Some(NO_ADMIN));
    assert_eq!(issuer.fetch_count(), 1);
}

#[tokio::test]
async fn verifier_as_state_works_without_a_realm() {
    let issuer = TestIssuer::start();
    let app = Router::new()
        .route("/me", get(me))
        .with_state(verifier_for(&issuer, DEFAULT_AUDIENCE));
    let addr = serve(app).await;
    let resp = fetch(addr, "/me", None).await;
    assert_eq!(resp.status(), StatusCode::UNAUTHORIZED);
    assert_eq!(www_authenticate(&resp).as_deref(), Some("Bearer"));
    let token = issuer.token().build();
    assert_eq!(
        get_bearer(addr, "/me", &token).await.status(),
        StatusCode::OK
    );
}

#[tokio::test]
async fn websocket_upgrades_are_authenticated() {
    let issuer = TestIssuer::start();
    let addr = serve(app(auth(&issuer))).await;
    let url = format!("ws://{addr}/ws");

    let mut request = url.as_str().into_client_request().unwrap();
    let token = issuer.token().build();
    request
        .headers_mut()
        .insert("authorization", format!("Bearer {token}").parse().unwrap());
    let (mut socket, response) = tokio_tungstenite::connect_async(request)
        .await
        .expect("upgrade accepted");
    assert_eq!(response.status(), StatusCode::SWITCHING_PROTOCOLS);
    let message = socket.next().await.expect("a message").expect("ok");
    assert_eq!(message.into_text().unwrap().as_str(), "hello user-123");
    let _ = socket.close(None).await;

    let request = url.as_str().into_client_request().unwrap();
    match tokio_tungstenite::connect_async(request).await {
        Err(tokio_tungstenite::tungstenite::Error::Http(response)) => {
            assert_eq!(response.status(), StatusCode::UNAUTHORIZED);
            assert_eq!(response.headers()["www-authenticate"], MISSING);
        }
        other => panic!("expected a 401 refusal, got {other:?}"),
    }
}

/// GET `path` with every value as its own `Authorization` field.
async fn fetch_fields(addr: SocketAddr, path: &str, values: &[&str]) -> reqwest::Response {
    let client = reqwest::Client::builder().no_proxy().build().unwrap();
    let mut req = client.get(format!("http://{addr}{path}"));
    for value in values {
        req = req.header("authorization", *value);
    }
    req.send().await.expect("request")
}

/// RFC 6750 §3.1: two `Authorization` fields are two credentials: 400 `invalid_request`
/// from every extractor and layer, optional ones included, with or without a realm.
#[tokio::test]
async fn two_authorization_fields_are_400_invalid_request() {
    let issuer = TestIssuer::start();
    let addr = serve(app(auth(&issuer))).await;
    let no_realm = serve(
        Router::new()
            .route("/me", get(me))
            .with_state(verifier_for(&issuer, DEFAULT_AUDIENCE)),
    )
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
        for path in ["/me", "/mine", "/admin", "/perm", "/guarded", "/optional"] {
            let resp = fetch_fields(addr, path, fields).await;
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
        let resp = fetch_fields(addr, "/custom", fields).await;
        assert_eq!(resp.status(), StatusCode::IM_A_TEAPOT);
        assert_eq!(resp.text().await.unwrap(), "custom invalid_request");

        let resp = fetch_fields(no_realm, "/me", fields).await;
        assert_eq!(resp.status(), StatusCode::BAD_REQUEST);
        assert_eq!(
            www_authenticate(&resp).as_deref(),
            Some(r#"Bearer error="invalid_request", error_description="Multiple credentials""#)
        );
        assert_eq!(json(resp).await["code"], "invalid_request");
    }
    assert_eq!(issuer.fetch_count(), 0, "refused before any verification");
    let resp = fetch_fields(addr, "/guarded", &[&bearer]).await;
    assert_eq!(resp.text().await.unwrap(), "admin user-123");
}
