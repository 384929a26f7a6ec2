//! [axum] integration for `oidc-jwt-verifier`: a thin adapter over the core's
//! request-level [`Verifier::authenticate`](verifier_core::Verifier::authenticate).
//!
//! - [`Auth`]: the state (a verifier of either flavour and its
//!   [`Challenge`](verifier_core::Challenge)), found by the extractors through
//!   [`FromRef`](axum::extract::FromRef).
//! - [`Claims<C>`](Claims): the verified claims (or your own `Deserialize` type);
//!   `Option<Claims<C>>` for optional authentication (no credentials → `None`, bad
//!   credentials → rejected). Credentials are `Authorization: Bearer`, `Authorization:
//!   DPoP` with a `DPoP` proof when the verifier accepts DPoP, or the token cookie when
//!   one is configured.
//! - Per-route requirements: [`Auth::require_scopes`] / [`Auth::require_permissions`]
//!   return the tower [`BearerAuthLayer`] for
//!   [`route_layer`](axum::routing::MethodRouter::route_layer), or the
//!   [`Authorized<R, C>`](Authorized) guard with a [`Requirement`] marker type; both
//!   check inside the pipeline, so a request refused for scope leaves its DPoP proof
//!   unused.
//! - [`AuthRejection`]: the error as a response (400/401/403 with the
//!   `WWW-Authenticate` challenges, `DPoP-Nonce` when a nonce is needed, 503 with
//!   `Retry-After`, JSON body `{"code","detail"}`), exposing the
//!   [`AuthError`](verifier_core::AuthError), [`status`](AuthRejection::status) and
//!   [`body_text`](AuthRejection::body_text) like axum's own rejections.
//! - RFC 9728: [`Auth::resource_metadata_router`] serves the protected-resource metadata
//!   document (to `merge`); [`Auth::layer`] also answers its path before authenticating.
//!
//! Claims put in the request extensions by the tower layer are reused by the extractors:
//! a token is verified once per request.
//!
//! # Nested routers and DPoP
//!
//! A DPoP proof signs the URI the client used. Behind
//! [`Router::nest`](axum::Router::nest) the request's URI lacks the prefix, so the
//! extractors and [`Auth::layer`] read axum's
//! [`OriginalUri`](axum::extract::OriginalUri) when it is there. Only the layer can add
//! `DPoP-Nonce` to a successful response (a handler's response is out of an extractor's
//! reach); nonces still work through the `use_dpop_nonce` round trip.
//!
//! # Router-level authentication and unknown paths
//!
//! Use [`Router::route_layer`](axum::Router::route_layer) to authenticate every route of a
//! router: it runs only when a route matched, so an unknown path answers `404` as usual.
//! [`Router::layer`](axum::Router::layer) also wraps the fallback: an unknown path without
//! a token would answer `401` (and with a valid one, `404`).
//!
//! # Names
//!
//! The same names in `verifier-tower`, `verifier-axum` and `verifier-actix`:
//!
//! | what | here |
//! |---|---|
//! | realm | [`Auth::realm`]`("api")` (no realm by default; [`with_realm`](Auth::with_realm) is its earlier name); read back with [`realm_name`](Auth::realm_name) |
//! | the whole challenge | [`Auth::with_challenge`]`(Challenge)`; read back with [`challenge_ref`](Auth::challenge_ref) (or [`challenge`](Auth::challenge)) |
//! | requirements | [`Auth::require_scopes`], [`Auth::require_permissions`] (layers), [`Authorized`] (guard) |
//! | blocking construction | `Auth::new(jwt_verifier)` with feature `blocking` (`From<JwtVerifier> for Verifier`, `Verifier::Blocking`) |
//! | health | [`Auth::healthcheck`]`(refresh)`, [`Auth::health`]`()` |
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
//! let auth = Auth::new(AsyncJwtVerifier::new(AuthConfig::from_env()?)?).realm("api");
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
