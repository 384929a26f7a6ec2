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
//! | `redis`    | [`dpop`]     | `RedisReplayStore`, a DPoP replay store shared by replicas |
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

/// The repository's Markdown, one private module each, so that every Rust code block of
/// `README.md`, `MIGRATION.md` and `docs/*.md` is compiled (and, unless `no_run`, run)
/// as a doctest through this facade, exactly as a user would write it:
/// `cargo test --doc -p oidc-jwt-verifier --all-features`.
#[cfg(all(
    doctest,
    feature = "blocking",
    feature = "axum",
    feature = "actix",
    feature = "tower",
    feature = "testkit"
))]
mod docs {
    #[doc = include_str!("../README.md")]
    mod readme {}
    #[doc = include_str!("../MIGRATION.md")]
    mod migration {}
    #[doc = include_str!("../docs/getting-started.md")]
    mod getting_started {}
    #[doc = include_str!("../docs/configuration.md")]
    mod configuration {}
    #[doc = include_str!("../docs/errors.md")]
    mod errors {}
    #[cfg(feature = "redis")]
    #[doc = include_str!("../docs/dpop.md")]
    mod dpop {}
    #[doc = include_str!("../docs/security.md")]
    mod security {}
    #[doc = include_str!("../docs/jwks-lifecycle.md")]
    mod jwks_lifecycle {}
    #[doc = include_str!("../docs/discovery.md")]
    mod discovery {}
    #[doc = include_str!("../docs/multi-issuer.md")]
    mod multi_issuer {}
    #[doc = include_str!("../docs/profiles.md")]
    mod profiles {}
    #[doc = include_str!("../docs/resource-metadata.md")]
    mod resource_metadata {}
    #[doc = include_str!("../docs/mcp.md")]
    mod mcp {}
    #[doc = include_str!("../docs/axum.md")]
    mod axum {}
    #[doc = include_str!("../docs/actix.md")]
    mod actix {}
    #[doc = include_str!("../docs/tower.md")]
    mod tower {}
    #[doc = include_str!("../docs/testing.md")]
    mod testing {}
    #[doc = include_str!("../docs/cli.md")]
    mod cli {}
    #[doc = include_str!("../docs/benchmarks.md")]
    mod benchmarks {}
    #[doc = include_str!("../docs/idp/auth0.md")]
    mod idp_auth0 {}
    #[doc = include_str!("../docs/idp/okta.md")]
    mod idp_okta {}
    #[doc = include_str!("../docs/idp/keycloak.md")]
    mod idp_keycloak {}
    #[doc = include_str!("../docs/idp/entra-id.md")]
    mod idp_entra_id {}
    #[doc = include_str!("../docs/idp/cognito.md")]
    mod idp_cognito {}
    #[doc = include_str!("../docs/idp/google.md")]
    mod idp_google {}
}
