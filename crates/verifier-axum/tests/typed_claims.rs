//! `Claims<MyClaims>` with claims that do not fit: 401 `invalid_token`, and a `debug`
//! event on `oidc_jwt_verifier::verify` naming the field, never its value or the token
//! (docs/errors.md, "Why is my `Claims<MyClaims>` refused?").

use std::io;
use std::sync::{Arc, Mutex};

use axum::body::Body;
use axum::http::{header, Request, StatusCode};
use axum::routing::get;
use axum::Router;
use serde::Deserialize;
use serde_json::json;
use tower::ServiceExt;
use tracing_subscriber::util::SubscriberInitExt;
use verifier_axum::{Auth, Claims};
use verifier_core::{AsyncJwtVerifier, AuthConfig};
use verifier_testkit::{TestIssuer, DEFAULT_AUDIENCE};

#[derive(Clone, Default)]
struct Captured(Arc<Mutex<Vec<u8>>>);

impl io::Write for Captured {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

#[derive(Deserialize)]
struct Profile {
    sub: String,
    level: u64,
}

async fn profile(Claims(profile): Claims<Profile>) -> String {
    format!("{} {}", profile.sub, profile.level)
}

#[tokio::test]
async fn a_mismatch_is_refused_and_logged_by_field_without_values() {
    let captured = Captured::default();
    let writer = captured.clone();
    // The test runs on one thread (current-thread runtime): a thread-local subscriber.
    let _guard = tracing_subscriber::fmt()
        .with_env_filter(tracing_subscriber::EnvFilter::new(
            "oidc_jwt_verifier::verify=debug",
        ))
        .with_writer(move || writer.clone())
        .with_ansi(false)
        .set_default();

    let issuer = TestIssuer::start();
    let verifier = AsyncJwtVerifier::new(
        AuthConfig::builder()
            .issuer(issuer.issuer())
            .audience(DEFAULT_AUDIENCE)
            .jwks_url(issuer.jwks_url())
            .build()
            .unwrap(),
    )
    .unwrap();
    let app = Router::new()
        .route("/profile", get(profile))
        .with_state(Auth::new(verifier).with_realm("api"));
    let get = |token: &str| {
        Request::get("/profile")
            .header(header::AUTHORIZATION, format!("Bearer {token}"))
            .body(Body::empty())
            .unwrap()
    };

    let fits = issuer.token().claim("level", json!(7)).build();
    let ok = app.clone().oneshot(get(&fits)).await.unwrap();
    assert_eq!(ok.status(), StatusCode::OK);

    let mistyped = issuer
        .token()
        .claim("level", json!("secret-level-value"))
        .build();
    let refused = app.clone().oneshot(get(&mistyped)).await.unwrap();
    assert_eq!(refused.status(), StatusCode::UNAUTHORIZED);
    assert_eq!(
        refused.headers()[header::WWW_AUTHENTICATE],
        r#"Bearer realm="api", error="invalid_token", error_description="Invalid token""#
    );

    let log = String::from_utf8_lossy(&captured.0.lock().unwrap()).into_owned();
    assert_eq!(log.matches("claims do not deserialize").count(), 1, "{log}");
    assert!(log.contains(r#"field="level""#), "{log}");
    assert!(log.contains(r#"error="invalid type""#), "{log}");
    assert!(log.contains(r#"found="string""#), "{log}");
    assert!(!log.contains("secret-level-value"), "{log}");
    assert!(!log.contains("user-123"), "{log}");
    assert!(!log.contains(&mistyped), "{log}");
}
