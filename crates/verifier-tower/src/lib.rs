//! [tower] middleware for `oidc-jwt-verifier`: bearer-token authentication for any
//! `http` / `hyper` / `axum` service stack.
//!
//! [`BearerAuthLayer`] wraps a service in [`BearerAuth`], which
//! - reads the `Authorization` header (scheme `Bearer` in any case, one or more spaces,
//!   the token);
//! - verifies the token with either verifier flavour ([`Verifier`]: the
//!   [`AsyncJwtVerifier`](verifier_core::AsyncJwtVerifier), or with feature `blocking` the
//!   `JwtVerifier` offloaded through `tokio::task::spawn_blocking`);
//! - checks the layer's own required scopes and permissions, on top of the verifier-wide
//!   ones from the configuration;
//! - puts the [`Claims`](verifier_core::Claims) in the request extensions and calls the
//!   inner service;
//! - or answers the request itself: by default with
//!   [`ErrorResponse`](verifier_core::bearer::ErrorResponse) (400/401/403 with an RFC 6750
//!   `WWW-Authenticate` challenge, 503 with `Retry-After`, JSON body
//!   `{"code","detail"}`), customisable with [`BearerAuthLayer::on_failure`].
//!
//! In [optional mode](BearerAuthLayer::optional) a request without bearer credentials
//! passes through without claims, while bad credentials are still refused.
//!
//! Layers stack: an inner `BearerAuth` reuses the claims an outer one put in the
//! extensions and only adds its own requirements, so a router-wide layer plus a stricter
//! per-route layer verify each token once.
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
