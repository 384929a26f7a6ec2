//! Shared fixtures: both verifier flavours over one test issuer.
#![allow(dead_code)]

use std::time::Duration;

use verifier_core::{
    AsyncJwtVerifier, AuthConfig, AuthConfigBuilder, AuthError, Claims, ErrorCode, JwtVerifier,
};
use verifier_testkit::{TestIssuer, DEFAULT_AUDIENCE};

/// A builder preset for `issuer`.
pub fn config_for(issuer: &TestIssuer) -> AuthConfigBuilder {
    AuthConfig::builder()
        .issuer(issuer.issuer())
        .audience(DEFAULT_AUDIENCE)
        .jwks_url(issuer.jwks_url())
        .jwks_timeout(Duration::from_secs(2))
}

pub fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap()
}

/// A multi-threaded runtime and an async verifier for `config`.
pub fn async_verifier(config: AuthConfig) -> (tokio::runtime::Runtime, AsyncJwtVerifier) {
    (runtime(), AsyncJwtVerifier::new(config).unwrap())
}

/// The async and blocking verifiers over the same configuration; every verification
/// runs through both and must agree.
pub struct Both {
    pub rt: tokio::runtime::Runtime,
    pub async_v: AsyncJwtVerifier,
    pub blocking_v: JwtVerifier,
}

impl Both {
    pub fn new(config: AuthConfig) -> Both {
        let (rt, async_v) = async_verifier(config.clone());
        Both {
            rt,
            async_v,
            blocking_v: JwtVerifier::new(config).unwrap(),
        }
    }

    pub fn verify(&self, token: &str) -> Result<Claims, AuthError> {
        let a = self.rt.block_on(self.async_v.verify_access_token(token));
        let b = self.blocking_v.verify_access_token(token);
        match (&a, &b) {
            (Ok(x), Ok(y)) => assert_eq!(x, y, "flavours disagree on claims"),
            (Err(x), Err(y)) => {
                assert_eq!(x.code(), y.code(), "flavours disagree");
                assert_eq!(x.message(), y.message(), "flavours disagree");
            }
            _ => panic!("flavours disagree: async {a:?} vs blocking {b:?}"),
        }
        a
    }

    /// Verifies and returns the refusal code (panics if accepted).
    pub fn code(&self, token: &str) -> ErrorCode {
        match self.verify(token) {
            Ok(claims) => panic!("token accepted: {claims:?}"),
            Err(err) => err.code(),
        }
    }
}

/// Waits (at most 10 s) until `done` holds: for background work whose end is observable.
pub fn eventually(what: &str, done: impl Fn() -> bool) {
    let deadline = std::time::Instant::now() + Duration::from_secs(10);
    while !done() {
        assert!(
            std::time::Instant::now() < deadline,
            "timed out waiting for {what}"
        );
        std::thread::sleep(Duration::from_millis(10));
    }
}

pub fn json_obj(v: serde_json::Value) -> serde_json::Map<String, serde_json::Value> {
    v.as_object().cloned().unwrap()
}
