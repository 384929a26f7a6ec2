//! Test fixtures for `oidc-jwt-verifier`: a real OpenID issuer on
//! `127.0.0.1`, signing keys for every JWS algorithm the verifier supports,
//! and a token builder that can also produce deliberately broken tokens.
//!
//! * [`TestKey`]: RSA (2048 to 8192 bits, plus a 1024-bit fixture for
//!   "short key" tests with the feature `legacy-rsa`), ECDSA P-256/P-384/P-521
//!   and Ed25519 keys, their public JWKs, and JWS signatures ([`Alg`] lists the algorithms).
//! * [`TokenBuilder`]: compact JWS tokens with any header, payload or
//!   signature, including raw (non-JSON, duplicate-member) segments,
//!   DER-form ECDSA signatures and "right kid, wrong key" forgeries.
//! * [`DpopProof`]: DPoP proofs (RFC 9449) signed with a [`TestKey`], with overrides
//!   for every member to build hostile ones; tokens bind to a key with
//!   [`TokenBuilder::cnf_jkt`] and [`TestKey::thumbprint`].
//! * [`TestIssuer`]: an HTTP server on std threads serving
//!   `/jwks.json` and `/.well-known/openid-configuration`, with key rotation,
//!   overridable documents, injectable [`Fault`]s, delays and fetch
//!   counters. It needs no async runtime, so it works in sync and async tests.
//!   [`TestIssuer::builder`] sets an issuer path and where the metadata is
//!   served ([`Layout`]: OIDC, RFC 8414, both or neither).
//! * [`conformance`]: the tokens an API must refuse, and a strict
//!   `WWW-Authenticate` parser ([`conformance::challenge_parser`]).
//! * [`TestClock`]: a manual clock for the verifier (`AuthConfigBuilder::clock`), so
//!   tests move past a TTL, a cooldown, a backoff or a token's `exp` without sleeping.
//!
//! Everything here is for tests only: keys are generated per process (the
//! 1024-bit one is even public), and the server binds only `127.0.0.1`.
//!
//! ```
//! use serde_json::json;
//! use verifier_testkit::{Alg, Fault, TestIssuer, DEFAULT_AUDIENCE};
//!
//! let issuer = TestIssuer::start();
//!
//! // A valid token: iss, aud, sub, iat, nbf and exp set, RS256, kid "test-rs256".
//! let good = issuer.token().build();
//!
//! // Variants for negative tests.
//! let expired = issuer.token().claim("exp", json!(verifier_testkit::now() - 60)).build();
//! let wrong_aud = issuer.token().claim("aud", json!("https://other.example")).build();
//! let alg_none = issuer.token().header("alg", json!("none")).signature(Vec::new()).build();
//!
//! // Rotation and faults on the JWKS endpoint.
//! let new_key = issuer.rotate(Alg::ES256, "2024-06");
//! let rotated = issuer.token_for(&new_key).build();
//! issuer.set_fault(Some(Fault::Status(500)));
//! # let _ = (good, expired, wrong_aud, alg_none, rotated, DEFAULT_AUDIENCE);
//! ```
#![deny(missing_docs)]
#![forbid(unsafe_code)]

mod alg;
mod clock;
pub mod conformance;
mod dpop;
mod issuer;
mod key;
#[cfg(feature = "legacy-rsa")]
mod legacy_rsa;
mod token;

pub use alg::Alg;
pub use clock::TestClock;
pub use conformance::RefusedToken;
pub use dpop::DpopProof;
pub use issuer::{Fault, Layout, TestIssuer, TestIssuerBuilder};
pub use key::{jwk_thumbprint, TestKey};
pub use token::TokenBuilder;

/// The `aud` claim of tokens made by [`TestIssuer::token`].
///
/// ```
/// assert_eq!(verifier_testkit::DEFAULT_AUDIENCE, "https://api.example");
/// ```
pub const DEFAULT_AUDIENCE: &str = "https://api.example";

/// The current time in whole seconds since the Unix epoch.
///
/// ```
/// let t = verifier_testkit::now();
/// assert!(t > 1_600_000_000);
/// ```
pub fn now() -> i64 {
    let since_epoch = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .expect("system clock is after 1970");
    i64::try_from(since_epoch.as_secs()).expect("time fits in i64")
}

/// base64url without padding.
pub(crate) fn b64(bytes: &[u8]) -> String {
    use base64::Engine as _;
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(bytes)
}
