//! [axum] integration for `oidc-jwt-verifier`.
//!
//! - [`Auth`]: the state (a verifier of either flavour and the challenge realm), found by
//!   the extractors through [`FromRef`](axum::extract::FromRef).
//! - [`Claims<C>`](Claims): the verified claims (or your own `Deserialize` type);
//!   `Option<Claims<C>>` for optional authentication (no credentials → `None`, bad
//!   credentials → rejected).
//! - Per-route requirements: [`Auth::require_scopes`] / [`Auth::require_permissions`]
//!   return the tower [`BearerAuthLayer`] for
//!   [`route_layer`](axum::routing::MethodRouter::route_layer), or the
//!   [`Authorized<R, C>`](Authorized) guard with a [`Requirement`] marker type.
//! - [`AuthRejection`]: the error as a response (400/401/403 with an RFC 6750
//!   `WWW-Authenticate` challenge, 503 with `Retry-After`, JSON body `{"code","detail"}`),
//!   exposing the [`AuthError`](verifier_core::AuthError).
//!
//! Claims put in the request extensions by the tower layer are reused by the extractors:
//! a token is verified once per request.
//!
//! # Router-level authentication and unknown paths
//!
//! Use [`Router::route_layer`](axum::Router::route_layer) to authenticate every route of a
//! router: it runs only when a route matched, so an unknown path answers `404` as usual.
//! [`Router::layer`](axum::Router::layer) also wraps the fallback: an unknown path without
//! a token would answer `401` (and with a valid one, `404`).
//!
//! # Realm
//!
//! No realm by default (`WWW-Authenticate: Bearer ...`), as everywhere in this workspace;
//! set one with [`Auth::with_realm`] (the example servers use `"api"`).
//!
//! ```no_run
//! # async fn run() -> Result<(), Box<dyn std::error::Error>> {
//! use axum::{routing::get, Json, Router};
//! use verifier_axum::{Auth, Claims};
//! use verifier_core::{AsyncJwtVerifier, AuthConfig};
//!
//! async fn me(Claims(claims): Claims) -> Json<verifier_core::Claims> {
//!     Json(claims)
//! }
//!
//! let auth = Auth::new(AsyncJwtVerifier::new(AuthConfig::from_env()?)?).with_realm("api");
//! let app = Router::new()
//!     .route("/me", get(me))
//!     .route("/admin", get(me).route_layer(auth.require_scopes(["admin"])))
//!     .with_state(auth);
//! let listener = tokio::net::TcpListener::bind("127.0.0.1:3000").await?;
//! axum::serve(listener, app).await?;
//! # Ok(()) }
//! ```
//!
//! [axum]: https://docs.rs/axum
#![forbid(unsafe_code)]
#![deny(missing_docs)]

mod auth;
mod extract;
mod guard;
mod rejection;

pub use auth::Auth;
pub use extract::Claims;
pub use guard::{Authorized, Requirement};
pub use rejection::AuthRejection;
pub use verifier_tower::{BearerAuthLayer, Verifier};

/// The core crate, re-exported.
pub use verifier_core;
/// The tower crate, re-exported.
pub use verifier_tower;
