//! Acceptance tests over real HTTP: an actix `HttpServer` on 127.0.0.1:0, tokens and
//! JWKS from `verifier-testkit`, requests with reqwest.

#[macro_use]
mod common;

use actix_web::dev::Service;
use actix_web::{web, App, HttpMessage, HttpResponse};
use serde::Deserialize;
use serde_json::json;
use verifier_actix::{
    error_response, Auth, BearerAuth, Claims, OptionalClaims, RequirePermissions, RequireScopes,
};
use verifier_core::AsyncJwtVerifier;
use verifier_testkit::{Alg, Fault, TestIssuer, TestKey};

use common::{assert_missing_token, bearer, config, get, invalid_token, REALM};

fn auth(issuer: &TestIssuer) -> Auth {
    Auth::new(AsyncJwtVerifier::new(config(issuer)).unwrap()).realm(REALM)
}

async fn me(Claims(claims): Claims) -> HttpResponse {
    HttpResponse::Ok().json(claims)
}

async fn hello(OptionalClaims(claims): OptionalClaims) -> String {
    match claims {
        Some(claims) => format!("hello {}", claims.sub().unwrap_or("?")),
        None => "hello stranger".to_owned(),
    }
}

#[derive(Deserialize)]
struct User {
    sub: String,
}

#[derive(Deserialize)]
struct Tenant {
    tenant: String,
}

fn routes(cfg: &mut web::ServiceConfig) {
    cfg.route("/me", web::get().to(me))
        .route("/hello", web::get().to(hello))
        .route("/public", web::get().to(|| async { "public" }))
        .route(
            "/user",
            web::get().to(|Claims(user): Claims<User>| async move { user.sub }),
        )
        .route(
            "/tenant",
            web::get().to(|Claims(t): Claims<Tenant>| async move { t.tenant }),
        )
        .service(
            web::resource("/admin")
                .wrap(RequireScopes::new(["admin"]))
                .route(web::get().to(me)),
        )
        .service(
            web::resource("/reports")
                .wrap(RequirePermissions::new(["reports:read"]))
                .route(web::get().to(me)),
        );
}

/// The common app: `Auth` in the application data, extractors and route wrappers.
macro_rules! serve_app {
    ($auth:expr) => {{
        let auth = $auth;
        serve!(move || App::new().app_data(auth.clone()).configure(routes))
    }};
}

#[actix_web::test]
async fn valid_token_reaches_the_handler_with_its_claims() {
    let issuer = TestIssuer::start();
    let srv = serve_app!(auth(&issuer));
    let token = issuer.token().claim("tenant", json!("acme")).build();

    let reply = get(&srv.url("/me"), Some(&bearer(&token))).await;
    assert_eq!(reply.status, 200, "{reply:?}");
    let body = reply.json();
    assert_eq!(body["sub"], "user-123");
    assert_eq!(body["iss"], issuer.issuer());
    assert!(reply.www_authenticate.is_none());

    let reply = get(&srv.url("/user"), Some(&bearer(&token))).await;
    assert_eq!((reply.status, reply.body.as_str()), (200, "user-123"));
    let reply = get(&srv.url("/tenant"), Some(&bearer(&token))).await;
    assert_eq!((reply.status, reply.body.as_str()), (200, "acme"));
    srv.stop().await;
}

#[actix_web::test]
async fn scheme_is_case_insensitive_and_extra_spaces_are_accepted() {
    let issuer = TestIssuer::start();
    let srv = serve_app!(auth(&issuer));
    let token = issuer.token().build();
    for header in [
        format!("bearer {token}"),
        format!("BEARER {token}"),
        format!("Bearer    {token}"),
        format!("bEaReR  {token}   "),
    ] {
        let reply = get(&srv.url("/me"), Some(&header)).await;
        assert_eq!(reply.status, 200, "{header:?}: {reply:?}");
        assert_eq!(reply.json()["sub"], "user-123");
    }
    srv.stop().await;
}

#[actix_web::test]
async fn missing_credentials_are_401_without_error_code_in_the_challenge() {
    let issuer = TestIssuer::start();
    let srv = serve_app!(auth(&issuer));
    for header in [
        None,
        Some("Basic dXNlcjpwYXNz"),
        Some("Bearer"),
        Some("Bearer    "),
        Some("Token abc"),
    ] {
        for path in ["/me", "/admin", "/reports", "/user"] {
            let reply = get(&srv.url(path), header).await;
            assert_missing_token(&reply);
        }
    }
    // No key-set fetch happens for requests without a token.
    assert_eq!(issuer.fetch_count(), 0);
    srv.stop().await;
}

#[actix_web::test]
async fn refused_tokens_are_401_with_the_exact_challenge() {
    let issuer = TestIssuer::start();
    let srv = serve_app!(auth(&issuer));
    let cases: Vec<(String, &str, &str)> = issuer
        .refused_tokens()
        .into_iter()
        .map(|c| (c.token, c.code, c.description))
        .collect();
    for (token, code, message) in &cases {
        for path in ["/me", "/admin", "/hello"] {
            let reply = get(&srv.url(path), Some(&bearer(token))).await;
            assert_eq!(reply.status, 401, "{code} on {path}: {reply:?}");
            assert_eq!(reply.challenge(), invalid_token(message), "{code}");
            assert_eq!(reply.code(), *code);
            assert_eq!(reply.json()["detail"], *message);
            assert_eq!(reply.content_type.as_deref(), Some("application/json"));
        }
    }
    srv.stop().await;
}

#[actix_web::test]
async fn claims_that_do_not_fit_the_handler_type_are_invalid_token() {
    let issuer = TestIssuer::start();
    let srv = serve_app!(auth(&issuer));
    let reply = get(&srv.url("/tenant"), Some(&bearer(&issuer.token().build()))).await;
    assert_eq!(reply.status, 401);
    assert_eq!(reply.challenge(), invalid_token("Invalid token"));
    assert_eq!(reply.code(), "invalid_token");
    srv.stop().await;
}

#[actix_web::test]
async fn missing_scope_is_403_and_a_granted_scope_passes() {
    let issuer = TestIssuer::start();
    let srv = serve_app!(auth(&issuer));

    for scope in [None, Some("read write"), Some("administrator")] {
        let mut token = issuer.token();
        if let Some(scope) = scope {
            token = token.claim("scope", json!(scope));
        }
        let reply = get(&srv.url("/admin"), Some(&bearer(&token.build()))).await;
        assert_eq!(reply.status, 403, "{scope:?}: {reply:?}");
        assert_eq!(
            reply.challenge(),
            r#"Bearer realm="api", error="insufficient_scope", error_description="Insufficient scope", scope="admin""#
        );
        assert_eq!(reply.code(), "insufficient_scope");
        assert_eq!(reply.json()["detail"], "Insufficient scope");
    }

    let admin = issuer.token().claim("scope", json!("read admin")).build();
    let reply = get(&srv.url("/admin"), Some(&bearer(&admin))).await;
    assert_eq!(reply.status, 200, "{reply:?}");
    assert_eq!(reply.json()["scope"], "read admin");
    srv.stop().await;
}

#[actix_web::test]
async fn missing_permission_is_403_and_a_granted_permission_passes() {
    let issuer = TestIssuer::start();
    let srv = serve_app!(auth(&issuer));

    let token = issuer
        .token()
        .claim("permissions", json!(["reports:write"]))
        .build();
    let reply = get(&srv.url("/reports"), Some(&bearer(&token))).await;
    assert_eq!(reply.status, 403, "{reply:?}");
    assert_eq!(
        reply.challenge(),
        r#"Bearer realm="api", error="insufficient_scope", error_description="Insufficient permissions", permissions="reports:read""#
    );
    assert_eq!(reply.code(), "insufficient_permissions");

    let token = issuer
        .token()
        .claim("permissions", json!(["reports:write", "reports:read"]))
        .build();
    let reply = get(&srv.url("/reports"), Some(&bearer(&token))).await;
    assert_eq!(reply.status, 200, "{reply:?}");
    srv.stop().await;
}

#[actix_web::test]
async fn auth_wide_requirements_apply_to_every_route() {
    let issuer = TestIssuer::start();
    let srv = serve_app!(auth(&issuer)
        .require_scopes(["read", " ", "write "])
        .require_permissions(["p1"]));

    let token = issuer.token().claim("scope", json!("read")).build();
    let reply = get(&srv.url("/me"), Some(&bearer(&token))).await;
    assert_eq!(reply.status, 403);
    assert_eq!(
        reply.challenge(),
        r#"Bearer realm="api", error="insufficient_scope", error_description="Insufficient scope", scope="write""#
    );

    let token = issuer.token().claim("scope", json!("write read")).build();
    let reply = get(&srv.url("/me"), Some(&bearer(&token))).await;
    assert_eq!(reply.status, 403);
    assert_eq!(reply.code(), "insufficient_permissions");

    let token = issuer
        .token()
        .claim("scope", json!("write read"))
        .claim("permissions", json!(["p1"]))
        .build();
    let reply = get(&srv.url("/me"), Some(&bearer(&token))).await;
    assert_eq!(reply.status, 200, "{reply:?}");
    srv.stop().await;
}

#[actix_web::test]
async fn issuer_down_with_a_cold_cache_is_503_with_retry_after() {
    for fault in [Fault::Status(500), Fault::DropConnection] {
        let issuer = TestIssuer::start();
        issuer.set_fault(Some(fault.clone()));
        let srv = serve_app!(auth(&issuer));
        let token = issuer.token().build();
        for path in ["/me", "/admin", "/hello"] {
            let reply = get(&srv.url(path), Some(&bearer(&token))).await;
            assert_eq!(reply.status, 503, "{fault:?} {path}: {reply:?}");
            assert!(reply.www_authenticate.is_none(), "{reply:?}");
            let after: u64 = reply
                .retry_after
                .as_deref()
                .expect("Retry-After")
                .parse()
                .expect("Retry-After in seconds");
            assert!(after >= 1);
            assert!(reply.code().starts_with("jwks_"), "{reply:?}");
        }
        assert!(issuer.fetch_count() >= 1);

        srv.stop().await;
    }
}

#[actix_web::test]
async fn optional_claims_no_token_runs_without_claims_bad_token_is_refused() {
    let issuer = TestIssuer::start();
    let srv = serve_app!(auth(&issuer));

    let reply = get(&srv.url("/hello"), None).await;
    assert_eq!((reply.status, reply.body.as_str()), (200, "hello stranger"));
    let reply = get(&srv.url("/hello"), Some("Basic dXNlcjpwYXNz")).await;
    assert_eq!((reply.status, reply.body.as_str()), (200, "hello stranger"));

    let good = issuer.token().build();
    let reply = get(&srv.url("/hello"), Some(&bearer(&good))).await;
    assert_eq!((reply.status, reply.body.as_str()), (200, "hello user-123"));

    let expired = issuer
        .token()
        .claim("exp", json!(verifier_testkit::now() - 120))
        .build();
    let reply = get(&srv.url("/hello"), Some(&bearer(&expired))).await;
    assert_eq!(reply.status, 401);
    assert_eq!(reply.challenge(), invalid_token("Token is expired"));

    // `Bearer` without a token is bad credentials, not "no credentials".
    let reply = get(&srv.url("/hello"), Some("Bearer")).await;
    assert_missing_token(&reply);
    srv.stop().await;
}

#[actix_web::test]
async fn app_level_middleware_protects_routes_and_unknown_paths_stay_404() {
    let issuer = TestIssuer::start();
    let auth = auth(&issuer);
    let srv = serve!(move || App::new()
        .wrap(BearerAuth::required(auth.clone()).skip_unmatched())
        .configure(routes));
    let token = issuer.token().build();

    // Unknown paths reach the default service: 404 with or without a token.
    for header in [None, Some(bearer(&token))] {
        let reply = get(&srv.url("/no/such/path"), header.as_deref()).await;
        assert_eq!(reply.status, 404, "{reply:?}");
        assert!(reply.www_authenticate.is_none());
    }
    // Known paths are authenticated, including ones the handler would not check
    // (`/public`) and percent-encoded spellings of protected paths.
    for path in ["/me", "/public", "/%6De", "/hello"] {
        let reply = get(&srv.url(path), None).await;
        assert_missing_token(&reply);
    }
    let reply = get(&srv.url("/me"), Some(&bearer(&token))).await;
    assert_eq!(reply.status, 200, "{reply:?}");
    assert_eq!(reply.json()["sub"], "user-123");
    // The route-level scope check reuses the middleware's claims and realm.
    let reply = get(&srv.url("/admin"), Some(&bearer(&token))).await;
    assert_eq!(reply.status, 403);
    assert_eq!(reply.code(), "insufficient_scope");
    let reply = get(
        &srv.url("/admin"),
        Some(&bearer(
            &issuer.token().claim("scope", json!("admin")).build(),
        )),
    )
    .await;
    assert_eq!(reply.status, 200);
    srv.stop().await;
}

#[actix_web::test]
async fn app_level_required_middleware_without_skip_answers_401_everywhere() {
    let issuer = TestIssuer::start();
    let auth = auth(&issuer);
    let srv = serve!(move || App::new()
        .wrap(BearerAuth::required(auth.clone()))
        .configure(routes));
    let reply = get(&srv.url("/no/such/path"), None).await;
    assert_missing_token(&reply);
    let token = issuer.token().build();
    let reply = get(&srv.url("/no/such/path"), Some(&bearer(&token))).await;
    assert_eq!(reply.status, 404);
    srv.stop().await;
}

#[actix_web::test]
async fn optional_middleware_on_a_scope() {
    let issuer = TestIssuer::start();
    let auth = auth(&issuer);
    let srv = serve!(move || App::new().service(
        web::scope("/opt")
            .wrap(BearerAuth::optional(auth.clone()))
            .route("/hello", web::get().to(hello))
            .route("/me", web::get().to(me))
    ));
    let reply = get(&srv.url("/opt/hello"), None).await;
    assert_eq!((reply.status, reply.body.as_str()), (200, "hello stranger"));
    // A `Claims` extractor behind an optional middleware still requires a token, and
    // renders the middleware's realm (no `Auth` in the application data here).
    let reply = get(&srv.url("/opt/me"), None).await;
    assert_missing_token(&reply);

    let token = issuer.token().build();
    let reply = get(&srv.url("/opt/hello"), Some(&bearer(&token))).await;
    assert_eq!((reply.status, reply.body.as_str()), (200, "hello user-123"));
    let reply = get(&srv.url("/opt/me"), Some(&bearer(&token))).await;
    assert_eq!(reply.status, 200);

    let forged = issuer
        .token_for(&TestKey::generate(Alg::RS256, "test-rs256"))
        .build();
    let reply = get(&srv.url("/opt/hello"), Some(&bearer(&forged))).await;
    assert_eq!(reply.status, 401);
    assert_eq!(reply.challenge(), invalid_token("Invalid token signature"));
    srv.stop().await;
}

#[actix_web::test]
async fn extractor_reuses_claims_already_in_request_extensions() {
    // No Auth anywhere: the extractor can only succeed by reusing the extension.
    let srv = serve!(|| App::new()
        .wrap_fn(|req, srv| {
            let claims = verifier_core::Claims::from_map(
                json!({"sub": "from-extensions"})
                    .as_object()
                    .unwrap()
                    .clone(),
            );
            req.extensions_mut().insert(claims);
            srv.call(req)
        })
        .route("/me", web::get().to(me)));
    let reply = get(&srv.url("/me"), Some("Bearer not-even-a-jwt")).await;
    assert_eq!(reply.status, 200, "{reply:?}");
    assert_eq!(reply.json()["sub"], "from-extensions");
    srv.stop().await;
}

#[actix_web::test]
async fn missing_auth_configuration_is_a_500() {
    let srv = serve!(|| App::new().route("/me", web::get().to(me)).service(
        web::resource("/admin")
            .wrap(RequireScopes::new(["admin"]))
            .route(web::get().to(me))
    ));
    for path in ["/me", "/admin"] {
        let reply = get(&srv.url(path), Some("Bearer abc")).await;
        assert_eq!(reply.status, 500, "{reply:?}");
        assert!(reply.www_authenticate.is_none());
    }
    srv.stop().await;
}

#[actix_web::test]
async fn web_data_registration_works_too() {
    let issuer = TestIssuer::start();
    let data = web::Data::new(auth(&issuer));
    let srv = serve!(move || App::new().app_data(data.clone()).configure(routes));
    let reply = get(&srv.url("/me"), None).await;
    assert_missing_token(&reply);
    let reply = get(&srv.url("/admin"), Some(&bearer(&issuer.token().build()))).await;
    assert_eq!(reply.status, 403);
    srv.stop().await;
}

#[actix_web::test]
async fn error_response_is_customisable() {
    let issuer = TestIssuer::start();
    let custom = auth(&issuer).error_handler(|err, realm| {
        let mut response = error_response(err, realm);
        response.headers_mut().insert(
            actix_web::http::header::HeaderName::from_static("x-auth-code"),
            actix_web::http::header::HeaderValue::from_str(err.code().as_str()).unwrap(),
        );
        response
    });
    let srv = serve_app!(custom);
    let reply = get(&srv.url("/me"), None).await;
    assert_missing_token(&reply);
    let response = common::client()
        .get(srv.url("/admin"))
        .header("authorization", bearer(&issuer.token().build()))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 403);
    assert_eq!(response.headers()["x-auth-code"], "insufficient_scope");

    let replaced = auth(&issuer).error_handler(|err, _| {
        HttpResponse::build(actix_web::http::StatusCode::IM_A_TEAPOT).body(err.message().to_owned())
    });
    srv.stop().await;
    let srv = serve_app!(replaced);
    let reply = get(&srv.url("/me"), None).await;
    assert_eq!(
        (reply.status, reply.body.as_str()),
        (418, "Missing access token")
    );
    assert!(reply.www_authenticate.is_none());
    srv.stop().await;
}

#[actix_web::test]
async fn no_realm_gives_a_bare_challenge() {
    let issuer = TestIssuer::start();
    let bare = Auth::new(AsyncJwtVerifier::new(config(&issuer)).unwrap());
    let srv = serve_app!(bare);
    let reply = get(&srv.url("/me"), None).await;
    assert_eq!(reply.status, 401);
    assert_eq!(reply.challenge(), "Bearer");
    srv.stop().await;
}

/// RFC 6750 §3.1: two `Authorization` fields are two credentials: 400 `invalid_request`
/// from the extractors, the optional extractor, the route wrappers and the middleware,
/// with or without a realm, before any verification.
#[actix_web::test]
async fn two_authorization_fields_are_400_invalid_request() {
    const MULTIPLE: &str =
        r#"Bearer realm="api", error="invalid_request", error_description="Multiple credentials""#;
    let issuer = TestIssuer::start();
    let token = issuer.token().claim("scope", json!("admin")).build();
    let good = bearer(&token);
    let pairs: [[&str; 2]; 4] = [
        [&good, &good],
        [&good, "Bearer x.y.z"],
        ["Basic dXNlcjpwYXNz", &good],
        [&good, "Basic dXNlcjpwYXNz"],
    ];
    let assert_400 = |reply: &common::Reply, challenge: &str, what: &str| {
        assert_eq!(reply.status, 400, "{what}: {reply:?}");
        assert_eq!(reply.challenge(), challenge, "{what}");
        assert_eq!(reply.content_type.as_deref(), Some("application/json"));
        assert_eq!(
            reply.json(),
            json!({"code": "invalid_request", "detail": "Multiple credentials"}),
            "{what}"
        );
    };

    let srv = serve_app!(auth(&issuer));
    let auth_mw = auth(&issuer);
    let mw = serve!(move || App::new()
        .wrap(BearerAuth::required(auth_mw.clone()))
        .configure(routes));
    let auth_opt = auth(&issuer);
    let opt = serve!(move || App::new().service(
        web::scope("/opt")
            .wrap(BearerAuth::optional(auth_opt.clone()))
            .route("/hello", web::get().to(hello))
    ));
    let bare = serve_app!(Auth::new(AsyncJwtVerifier::new(config(&issuer)).unwrap()));
    for fields in &pairs {
        for path in ["/me", "/hello", "/user", "/admin", "/reports"] {
            let reply = common::get_fields(&srv.url(path), fields).await;
            assert_400(&reply, MULTIPLE, path);
            let reply = common::get_fields(&mw.url(path), fields).await;
            assert_400(&reply, MULTIPLE, path);
        }
        let reply = common::get_fields(&opt.url("/opt/hello"), fields).await;
        assert_400(&reply, MULTIPLE, "optional middleware");
        let reply = common::get_fields(&bare.url("/me"), fields).await;
        assert_400(
            &reply,
            r#"Bearer error="invalid_request", error_description="Multiple credentials""#,
            "no realm",
        );
    }
    assert_eq!(issuer.fetch_count(), 0, "refused before any verification");
    let reply = common::get_fields(&srv.url("/admin"), &[&good]).await;
    assert_eq!(reply.status, 200);
    for s in [srv, mw, opt, bare] {
        s.stop().await;
    }
}
