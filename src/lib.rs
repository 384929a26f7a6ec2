//! `oidc-jwt-verifier`: hardened verification of OAuth 2.0 / OpenID Connect access
//! tokens (JWTs) with a self-healing JWKS lifecycle, and integrations for axum,
//! actix-web and any tower/hyper stack.
//!
//! This facade re-exports [`verifier_core`] at its root, and the integrations behind
//! cargo features:
//!
//! | feature    | module       | what                                                  |
//! |------------|--------------|-------------------------------------------------------|
//! | `blocking` | (root)       | [`JwtVerifier`] / [`JwksClient`], and blocking support in the integrations |
//! | `axum`     | [`axum`]     | `Claims<C>` extractor, optional claims, scope guards   |
//! | `actix`    | [`actix`]    | extractor, middleware, per-route scope middleware      |
//! | `tower`    | [`tower`]    | `BearerAuthLayer` for any `http`/`hyper` service       |
//! | `testkit`  | [`testkit`]  | a real test issuer on 127.0.0.1 for your own tests     |
//!
//! ```no_run
//! # async fn run(token: &str) -> Result<(), Box<dyn std::error::Error>> {
//! use oidc_jwt_verifier::{AsyncJwtVerifier, AuthConfig};
//! let verifier = AsyncJwtVerifier::new(AuthConfig::from_env()?)?;
//! let claims = verifier.verify_access_token(token).await?;
//! # Ok(()) }
//! ```
#![forbid(unsafe_code)]
#![deny(missing_docs)]

pub use verifier_core::*;

#[cfg(feature = "actix")]
pub use verifier_actix as actix;
#[cfg(feature = "axum")]
pub use verifier_axum as axum;
#[cfg(feature = "testkit")]
pub use verifier_testkit as testkit;
#[cfg(feature = "tower")]
pub use verifier_tower as tower;
