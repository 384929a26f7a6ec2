//! Documentation tests for the repository's Markdown.
//!
//! The `oidc-verify` binary lives in `src/main.rs`. This library target has no API: it
//! compiles every Rust code block of `README.md`, `MIGRATION.md` and `docs/*.md` as a
//! doctest (with this crate's dependencies and dev-dependencies: every workspace crate,
//! axum, actix-web, tower, hyper), so the documentation cannot drift from the code. Blocks
//! that would need a real identity provider are `no_run` (compiled, not run); the others
//! run against the test issuer on 127.0.0.1.
#![forbid(unsafe_code)]
#![deny(missing_docs)]

/// The Markdown files, one private module each (doctests only).
#[cfg(doctest)]
mod docs {
    #[doc = include_str!("../../../README.md")]
    mod readme {}
    #[doc = include_str!("../../../MIGRATION.md")]
    mod migration {}
    #[doc = include_str!("../../../docs/getting-started.md")]
    mod getting_started {}
    #[doc = include_str!("../../../docs/configuration.md")]
    mod configuration {}
    #[doc = include_str!("../../../docs/errors.md")]
    mod errors {}
    #[doc = include_str!("../../../docs/security.md")]
    mod security {}
    #[doc = include_str!("../../../docs/jwks-lifecycle.md")]
    mod jwks_lifecycle {}
    #[doc = include_str!("../../../docs/axum.md")]
    mod axum {}
    #[doc = include_str!("../../../docs/actix.md")]
    mod actix {}
    #[doc = include_str!("../../../docs/tower.md")]
    mod tower {}
    #[doc = include_str!("../../../docs/testing.md")]
    mod testing {}
    #[doc = include_str!("../../../docs/cli.md")]
    mod cli {}
}
