//! The token cookie (`ResourceConfig::token_cookie`, `OIDC_TOKEN_COOKIE`) through
//! actix-web over real HTTP: read by the core when there is no `Authorization` header,
//! through the extractor, `RequireScopes` and `BearerAuth`.

#[macro_use]
mod common;

use serde_json::json;
use verifier_actix::Auth;
use verifier_testkit::TestIssuer;

use common::spec::{get, Setup};
use common::REALM;

const COOKIE: &str = "access_token";

/// The `Auth` reading the token cookie, behind every kind of protection.
macro_rules! serve_cookie_app {
    ($issuer:expr) => {{
        let setup = Setup {
            cookie: Some(COOKIE),
            ..Setup::default()
        };
        serve_routes!(Auth::new(setup.verifier($issuer)).realm(REALM))
    }};
}

const PATHS: [&str; 4] = ["/me", "/opt", "/admin", "/mw/me"];

fn cookie(value: String) -> (&'static str, String) {
    ("cookie", value)
}

#[actix_web::test]
async fn a_token_in_the_configured_cookie_authenticates() {
    let issuer = TestIssuer::start();
    let srv = serve_cookie_app!(&issuer);
    let token = issuer.token().claim("scope", json!("admin")).build();
    for value in [
        format!("{COOKIE}={token}"),
        format!("theme=dark; {COOKIE}={token}; lang=en"),
        format!("{COOKIE}=\"{token}\""),
    ] {
        for path in PATHS {
            let reply = get(&srv.url(path), &[cookie(value.clone())]).await;
            assert_eq!(reply.status, 200, "{value} {path}: {reply:?}");
        }
    }
    // Another cookie name, or an empty (cleared) cookie: no credentials.
    for value in [format!("session={token}"), format!("{COOKIE}=")] {
        let reply = get(&srv.url("/me"), &[cookie(value.clone())]).await;
        assert_eq!(reply.status, 401, "{value}");
        assert_eq!(reply.code(), "missing_token");
        assert_eq!(reply.challenges, [r#"Bearer realm="api""#]);
        let reply = get(&srv.url("/opt"), &[cookie(value)]).await;
        assert_eq!(reply.body, "hello stranger");
    }
    // A refused token in the cookie is refused like one in the header.
    let expired = issuer
        .token()
        .claim("exp", json!(verifier_testkit::now() - 120))
        .build();
    for path in PATHS {
        let reply = get(&srv.url(path), &[cookie(format!("{COOKIE}={expired}"))]).await;
        assert_eq!(reply.status, 401, "{path}");
        assert_eq!(reply.code(), "token_expired");
    }
    srv.stop().await;
}

#[actix_web::test]
async fn the_authorization_header_wins_over_the_cookie() {
    let issuer = TestIssuer::start();
    let srv = serve_cookie_app!(&issuer);
    let good = issuer.token().claim("scope", json!("admin")).build();
    let expired = issuer
        .token()
        .claim("exp", json!(verifier_testkit::now() - 120))
        .build();
    for path in PATHS {
        // A good header and a bad cookie: the header is used.
        let headers = [
            ("authorization", format!("Bearer {good}")),
            cookie(format!("{COOKIE}=not-a-jwt")),
        ];
        let reply = get(&srv.url(path), &headers).await;
        assert_eq!(reply.status, 200, "{path}: {reply:?}");
        // A refused header and a good cookie: refused, the cookie is not a fallback.
        let headers = [
            ("authorization", format!("Bearer {expired}")),
            cookie(format!("{COOKIE}={good}")),
        ];
        let reply = get(&srv.url(path), &headers).await;
        assert_eq!(reply.status, 401, "{path}");
        assert_eq!(reply.code(), "token_expired");
        // Another scheme in the header still means the cookie is not read.
        let headers = [
            ("authorization", "Basic dXNlcjpwYXNz".to_owned()),
            cookie(format!("{COOKIE}={good}")),
        ];
        let reply = get(&srv.url(path), &headers).await;
        match path {
            "/opt" => assert_eq!(reply.body, "hello stranger"),
            _ => assert_eq!(reply.code(), "missing_token", "{path}"),
        }
    }
    srv.stop().await;
}

#[actix_web::test]
async fn the_cookie_twice_is_400_invalid_request() {
    let issuer = TestIssuer::start();
    let srv = serve_cookie_app!(&issuer);
    let good = issuer.token().claim("scope", json!("admin")).build();
    let one_field = vec![cookie(format!("{COOKIE}={good}; {COOKIE}={good}"))];
    let two_fields = vec![
        cookie(format!("{COOKIE}={good}")),
        cookie(format!("{COOKIE}=other")),
    ];
    for headers in [one_field, two_fields] {
        for path in PATHS {
            let reply = get(&srv.url(path), &headers).await;
            assert_eq!(reply.status, 400, "{path}: {reply:?}");
            assert_eq!(reply.code(), "invalid_request");
            assert_eq!(
                reply.challenges,
                [
                    r#"Bearer realm="api", error="invalid_request", error_description="Multiple credentials""#
                ]
            );
        }
    }
    assert_eq!(issuer.fetch_count(), 0, "refused before any verification");
    srv.stop().await;
}
