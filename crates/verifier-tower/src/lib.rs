//! [tower] middleware for `oidc-jwt-verifier`: authentication for any `http` / `hyper` /
//! `axum` service stack, as a thin adapter over the core's request-level
//! [`Verifier::authenticate`].
//!
//! [`BearerAuthLayer`] wraps a service in [`BearerAuth`], which
//! - answers `GET`/`HEAD` on the RFC 9728 protected-resource metadata path itself, before
//!   any authentication, when the verifier has a resource configured
//!   ([`BearerAuthLayer::serve_resource_metadata`]; or mount [`ResourceMetadataService`]);
//! - authenticates the request with either verifier flavour ([`Verifier`]: the
//!   [`AsyncJwtVerifier`](verifier_core::AsyncJwtVerifier), or with feature `blocking` the
//!   `JwtVerifier` offloaded through `tokio::task::spawn_blocking`): `Authorization:
//!   Bearer`, `Authorization: DPoP` with its `DPoP` proof when the verifier accepts DPoP,
//!   or the token cookie when one is configured; the layer's own required scopes and
//!   permissions are checked inside the pipeline (before a DPoP proof is recorded as
//!   used), on top of the verifier-wide ones;
//! - puts the [`Claims`](verifier_core::Claims) and the
//!   [`Authenticated`](verifier_core::Authenticated) (scheme, issuer, DPoP key thumbprint)
//!   in the request extensions and calls the inner service, adding `DPoP-Nonce` to its
//!   response when the client's nonce is from the previous window;
//! - or answers the request itself: by default with
//!   [`ErrorResponse`](verifier_core::bearer::ErrorResponse) and the verifier's
//!   [`Challenge`](verifier_core::Challenge) (400/401/403 with `WWW-Authenticate`, one field
//!   per offered scheme, `resource_metadata` when a resource is configured; `DPoP-Nonce`
//!   when a nonce is needed; 503 with `Retry-After`; JSON body `{"code","detail"}`),
//!   customisable with [`BearerAuthLayer::on_failure`].
//!
//! In [optional mode](BearerAuthLayer::optional) a request without credentials passes
//! through without claims, while bad credentials are still refused.
//!
//! Layers stack: an inner `BearerAuth` reuses the claims an outer one put in the
//! extensions and only adds its own requirements, so a router-wide layer plus a stricter
//! per-route layer verify each token once.
//!
//! Behind a router that strips a path prefix, tell the layer where the original URI is
//! ([`BearerAuthLayer::request_uri`]): a DPoP proof signs the URI the client used.
//!
//! # Names
//!
//! The same names in `verifier-tower`, `verifier-axum` and `verifier-actix`:
//!
//! | what | here |
//! |---|---|
//! | realm | [`BearerAuthLayer::realm`]`("api")`; read back with [`realm_name`](BearerAuthLayer::realm_name) |
//! | the whole challenge | [`challenge`](BearerAuthLayer::challenge)`(Challenge)`; [`challenge_ref`](BearerAuthLayer::challenge_ref) |
//! | requirements | [`require_scopes`](BearerAuthLayer::require_scopes), [`require_permissions`](BearerAuthLayer::require_permissions) |
//! | blocking construction | `BearerAuthLayer::new(jwt_verifier)` with feature `blocking` (`From<JwtVerifier> for Verifier`, `Verifier::Blocking`) |
//! | health | [`healthcheck`](BearerAuthLayer::healthcheck)`(refresh)`, [`health`](BearerAuthLayer::health)`()` |
//!
//! ```no_run
//! # fn run() -> Result<(), Box<dyn std::error::Error>> {
//! use std::convert::Infallible;
//! use http::{Request, Response};
//! use tower::{service_fn, ServiceBuilder};
//! use verifier_core::{AsyncJwtVerifier, AuthConfig, Claims};
//! use verifier_tower::BearerAuthLayer;
//!
//! let verifier = AsyncJwtVerifier::new(AuthConfig::from_env()?)?;
//! let admin = ServiceBuilder::new()
//!     .layer(BearerAuthLayer::new(verifier).realm("api").require_scopes(["admin"]))
//!     .service(service_fn(|req: Request<hyper::body::Incoming>| async move {
//!         let claims = req.extensions().get::<Claims>().expect("set by BearerAuth");
//!         Ok::<_, Infallible>(Response::new(format!("hello admin {:?}", claims.sub())))
//!     }));
//! // serve `admin` with hyper-util's `TowerToHyperService`, or mount it in axum.
//! # let _ = admin; Ok(()) }
//! ```
//!
//! [tower]: https://docs.rs/tower
#![forbid(unsafe_code)]
#![deny(missing_docs)]

mod failure;
mod future;
mod layer;
mod metadata;
mod service;

pub use failure::{DefaultOnFailure, OnFailure};
pub use future::ResponseFuture;
pub use layer::{BearerAuthLayer, UriSource};
pub use metadata::ResourceMetadataService;
pub use service::BearerAuth;
/// Either verifier flavour (moved to the core crate; re-exported here).
pub use verifier_core::Verifier;

/// The core crate, re-exported.
pub use verifier_core;
