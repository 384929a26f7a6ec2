//! A claims type the verified claims do not fit: `invalid_token`, and a `debug` event on
//! target `oidc_jwt_verifier::verify` that names the field but never a claim value
//! (docs/errors.md, "Observability").

use std::io;
use std::sync::{Arc, Mutex};

use serde::Deserialize;
use serde_json::json;
use verifier_core::{AuthConfig, Claims, ErrorCode, FromClaims, JwtVerifier};
use verifier_testkit::{TestIssuer, DEFAULT_AUDIENCE};

/// Everything the subscriber writes.
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

impl Captured {
    fn text(&self) -> String {
        String::from_utf8_lossy(&self.0.lock().unwrap()).into_owned()
    }
}

/// Runs `f` with `filter` (an `EnvFilter` directive, as in `RUST_LOG`) and returns the log.
fn logs(filter: &str, f: impl FnOnce()) -> String {
    let captured = Captured::default();
    let writer = captured.clone();
    let subscriber = tracing_subscriber::fmt()
        .with_env_filter(tracing_subscriber::EnvFilter::new(filter))
        .with_writer(move || writer.clone())
        .with_ansi(false)
        .finish();
    tracing::subscriber::with_default(subscriber, f);
    captured.text()
}

/// Real claims: a token from the test issuer, verified over HTTP.
fn verified(claims: serde_json::Value) -> Claims {
    let issuer = TestIssuer::start();
    let verifier = JwtVerifier::new(
        AuthConfig::builder()
            .issuer(issuer.issuer())
            .audience(DEFAULT_AUDIENCE)
            .jwks_url(issuer.jwks_url())
            .build()
            .unwrap(),
    )
    .unwrap();
    let mut token = issuer.token();
    for (name, value) in claims.as_object().unwrap() {
        token = token.claim(name, value.clone());
    }
    verifier.verify_access_token(token.build()).unwrap()
}

#[derive(Debug, Deserialize)]
#[allow(dead_code)]
struct Profile {
    sub: String,
    level: u64,
    tenant: String,
    address: Address,
}

#[derive(Debug, Deserialize)]
#[allow(dead_code)]
struct Address {
    zip: u32,
}

const FILTER: &str = "oidc_jwt_verifier::verify=debug";

#[test]
fn a_mistyped_field_is_named_without_its_value() {
    let claims = verified(json!({
        "level": "secret-level-value",
        "tenant": "secret-tenant",
        "address": {"zip": 75001}
    }));
    let mut result = None;
    let log = logs(FILTER, || result = Some(Profile::from_claims(claims)));
    assert_eq!(result.unwrap().unwrap_err().code(), ErrorCode::InvalidToken);
    assert!(log.contains("DEBUG oidc_jwt_verifier::verify"), "{log}");
    assert!(log.contains("claims do not deserialize"), "{log}");
    assert!(log.contains(r#"field="level""#), "{log}");
    assert!(log.contains(r#"error="invalid type""#), "{log}");
    assert!(log.contains(r#"expected="u64""#), "{log}");
    assert!(log.contains(r#"found="string""#), "{log}");
    assert!(log.contains("typed_claims::Profile"), "{log}");
    for value in ["secret-level-value", "secret-tenant", "75001", "user-123"] {
        assert!(!log.contains(value), "{value} logged: {log}");
    }
}

#[test]
fn a_missing_field_is_named_with_its_path() {
    let claims = verified(json!({"level": 3, "tenant": "secret-tenant", "address": {}}));
    let mut result = None;
    let log = logs(FILTER, || result = Some(Profile::from_claims(claims)));
    assert_eq!(result.unwrap().unwrap_err().code(), ErrorCode::InvalidToken);
    assert!(log.contains(r#"field="address.zip""#), "{log}");
    assert!(log.contains(r#"error="missing field""#), "{log}");
    assert!(!log.contains("secret-tenant"), "{log}");

    // The error source keeps serde's own message for the application.
    let claims = verified(json!({"level": 3, "address": {"zip": 1}}));
    let err = Profile::from_claims(claims).unwrap_err();
    let source = std::error::Error::source(&err).unwrap().to_string();
    assert_eq!(source, "missing field `tenant`");
}

#[test]
fn nothing_is_logged_above_debug_or_on_success() {
    let claims = verified(json!({"level": "secret", "tenant": "t", "address": {"zip": 1}}));
    let log = logs("oidc_jwt_verifier::verify=info", || {
        assert!(Profile::from_claims(claims).is_err());
    });
    assert_eq!(log, "");

    let claims = verified(json!({"level": 3, "tenant": "t", "address": {"zip": 1}}));
    let log = logs(FILTER, || {
        assert_eq!(Profile::from_claims(claims.clone()).unwrap().level, 3);
        assert!(Claims::from_claims(claims).is_ok());
    });
    assert_eq!(log, "");
}
