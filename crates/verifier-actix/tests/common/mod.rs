//! Shared helpers: a real `HttpServer` on 127.0.0.1:0 and a plain HTTP client.
#![allow(dead_code, unused_macros)]

use std::time::Duration;

use actix_web::dev::ServerHandle;
use verifier_core::AuthConfig;
use verifier_testkit::{TestIssuer, DEFAULT_AUDIENCE};

#[macro_use]
pub mod spec;

pub const REALM: &str = "api";

/// The configuration for tests against `issuer`.
pub fn config(issuer: &TestIssuer) -> AuthConfig {
    config_builder(issuer).build().expect("test config")
}

pub fn config_builder(issuer: &TestIssuer) -> verifier_core::AuthConfigBuilder {
    AuthConfig::builder()
        .issuer(issuer.issuer())
        .audience(DEFAULT_AUDIENCE)
        .jwks_url(issuer.jwks_url())
}

/// A running server; `stop()` it at the end of the test.
pub struct TestServer {
    pub base: String,
    pub handle: ServerHandle,
}

impl TestServer {
    pub fn url(&self, path: &str) -> String {
        format!("{}{}", self.base, path)
    }

    pub async fn stop(self) {
        self.handle.stop(false).await;
    }
}

/// Starts `HttpServer::new($factory)` with one worker on 127.0.0.1:0.
macro_rules! serve {
    ($factory:expr) => {{
        let server = actix_web::HttpServer::new($factory)
            .workers(1)
            .disable_signals()
            .shutdown_timeout(1)
            .bind(("127.0.0.1", 0))
            .expect("bind 127.0.0.1:0");
        let addr = server.addrs()[0];
        let server = server.run();
        let handle = server.handle();
        actix_web::rt::spawn(server);
        common::TestServer {
            base: format!("http://{addr}"),
            handle,
        }
    }};
}

pub fn client() -> reqwest::Client {
    reqwest::Client::builder()
        .no_proxy()
        .timeout(Duration::from_secs(20))
        .build()
        .expect("client")
}

/// A response reduced to what the assertions need.
#[derive(Debug)]
pub struct Reply {
    pub status: u16,
    pub www_authenticate: Option<Vec<u8>>,
    pub retry_after: Option<String>,
    pub content_type: Option<String>,
    pub body: String,
}

impl Reply {
    pub fn json(&self) -> serde_json::Value {
        serde_json::from_str(&self.body).unwrap_or_else(|e| panic!("{e}: {:?}", self.body))
    }

    pub fn code(&self) -> String {
        self.json()["code"].as_str().unwrap_or_default().to_owned()
    }

    /// The `WWW-Authenticate` header as text (exact bytes).
    pub fn challenge(&self) -> &str {
        std::str::from_utf8(
            self.www_authenticate
                .as_deref()
                .expect("WWW-Authenticate present"),
        )
        .expect("ascii challenge")
    }
}

/// GET `url` with an optional raw `Authorization` value.
pub async fn get(url: &str, authorization: Option<&str>) -> Reply {
    get_fields(url, authorization.as_slice()).await
}

/// GET `url` with each value as its own `Authorization` field.
pub async fn get_fields(url: &str, authorization: &[&str]) -> Reply {
    let mut request = client().get(url);
    for value in authorization {
        request = request.header("authorization", *value);
    }
    let response = request.send().await.expect("request");
    let header = |name: &str| {
        let mut values = response.headers().get_all(name).iter();
        let first = values.next().map(|v| v.as_bytes().to_vec());
        assert!(values.next().is_none(), "one {name} header at most");
        first
    };
    let www_authenticate = header("www-authenticate");
    // Every challenge the suite sees passes the testkit's strict RFC 9110 parser.
    if let Some(value) = &www_authenticate {
        if let Err(e) = verifier_testkit::conformance::challenge_parser::parse(value) {
            panic!(
                "not a valid challenge: {:?}: {e}",
                String::from_utf8_lossy(value)
            );
        }
    }
    let retry_after = header("retry-after").map(|v| String::from_utf8(v).unwrap());
    let content_type = header("content-type").map(|v| String::from_utf8(v).unwrap());
    let status = response.status().as_u16();
    let body = response.text().await.expect("body");
    Reply {
        status,
        www_authenticate,
        retry_after,
        content_type,
        body,
    }
}

pub fn bearer(token: &str) -> String {
    format!("Bearer {token}")
}

/// The exact 401 challenge for a refused token.
pub fn invalid_token(description: &str) -> String {
    format!(r#"Bearer realm="api", error="invalid_token", error_description="{description}""#)
}

/// Asserts a `missing_token` refusal.
pub fn assert_missing_token(reply: &Reply) {
    assert_eq!(reply.status, 401, "{reply:?}");
    assert_eq!(reply.challenge(), r#"Bearer realm="api""#);
    assert_eq!(reply.code(), "missing_token");
    assert_eq!(reply.json()["detail"], "Missing access token");
    assert_eq!(reply.content_type.as_deref(), Some("application/json"));
}
