//! Core of `oidc-jwt-verifier`: hardened verification of OAuth 2.0 / OpenID Connect
//! access tokens (JWTs) with a self-healing JWKS lifecycle.
//!
//! - [`AuthConfig`]: configuration, validated once ([`ConfigError`] names the field).
//! - [`AsyncJwtVerifier`] (and [`JwtVerifier`] with feature `blocking`): parse → key →
//!   signature → claims, in the order of `docs/security.md` ("The pipeline, in order"),
//!   with no network I/O before the key lookup.
//! - [`AuthError`] / [`ErrorCode`]: stable codes, 400/401/403/503 statuses and RFC 6750
//!   `WWW-Authenticate` challenges.
//! - [`AsyncJwksClient`] / [`JwksClient`]: the key-set cache with single flight, refresh
//!   cooldown, stale serving and readiness checks.
//! - [`bearer`]: `Authorization` header parsing and error responses for integrations.
//!
//! # Security model
//!
//! A token never chooses its key source (`jku`, `x5u`, `crit` are refused; `jwk` and
//! `x5c` ignored), symmetric algorithms and `none` cannot be configured, the header
//! `alg` must be allowed *and* fit the key (type, curve, the JWK's own `alg`), RSA keys
//! under 2048 bits are refused by default, every input is bounded (token size, key-set
//! size, key count, fetch deadline), and every failure is an [`AuthError`], never a panic.
#![forbid(unsafe_code)]
#![deny(missing_docs)]

mod alg;
mod b64;
pub mod bearer;
mod cache;
mod challenge;
mod claims;
mod clock;
mod config;
pub mod discovery;
pub mod dpop;
mod error;
mod fetch;
mod flavour;
#[cfg(feature = "fuzzing")]
#[doc(hidden)]
pub mod fuzzing;
mod health;
mod issuers;
mod json;
pub mod jwks;
mod keys;
mod mismatch;
mod profile;
mod refresh;
mod request;
mod requirements;
mod resource;
mod surface;
mod token;
mod verifier;

pub use alg::Algorithm;
pub use challenge::Challenge;
pub use claims::ClaimPath;
pub use claims::{Claims, FromClaims};
pub use clock::{Clock, SystemClock};
pub use config::AudienceMode;
pub use config::{AuthConfig, AuthConfigBuilder, KeySource, VerifierConfig, MAX_ISSUERS};
pub use config::{ResourceConfig, ResourceConfigBuilder};
pub use error::{quote, AuthError, ConfigError, ErrorCode};
pub use flavour::{AuthenticateFuture, Verifier};
pub use health::{Health, IssuerHealth};
pub use issuers::UnknownIssuer;
#[cfg(feature = "blocking")]
pub use jwks::JwksClient;
pub use jwks::{AsyncJwksClient, JwksStats};
pub use keys::{KeySetError, SigningKey, SkippedKey, MIN_RSA_BITS};
pub use profile::{typ_matches_at_jwt, AccessTokenProfile};
pub use request::{Authenticated, DpopConfirmation, RequestParts, Scheme};
pub use requirements::Requirements;
pub use resource::{resource_metadata_url, ProtectedResourceMetadata};
pub use surface::ResourceServer;
pub use token::decode_unverified;
#[cfg(feature = "blocking")]
pub use verifier::JwtVerifier;
pub use verifier::{AsyncJwtVerifier, VerifierBuilder};

/// Re-exported so callers can build a custom HTTP client of the same version.
pub use reqwest;
