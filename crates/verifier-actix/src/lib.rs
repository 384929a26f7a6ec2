//! actix-web 4 integration for `oidc-jwt-verifier`: OAuth 2.0 bearer-token
//! authentication with RFC 6750 error responses.
//!
//! - [`Auth`]: the verifier (async [`AsyncJwtVerifier`](verifier_core::AsyncJwtVerifier),
//!   or with feature `blocking` the [`JwtVerifier`](verifier_core::JwtVerifier) run on
//!   the blocking pool), the challenge (realm, `resource_metadata`, DPoP), extra
//!   requirements and the error response.
//! - [`Claims<C>`]: extractor for the verified claims ([`verifier_core::Claims`] or your
//!   own `serde` type); [`OptionalClaims<C>`] for optional authentication.
//! - [`BearerAuth`]: middleware that authenticates and puts the claims in request
//!   extensions (required or optional mode).
//! - [`RequireScopes`] / [`RequirePermissions`]: per-route requirements (403).
//! - [`resource_metadata`]: the RFC 9728 protected-resource metadata route.
//! - [`BearerError`]: the refusal as an actix [`ResponseError`](actix_web::ResponseError):
//!   status, `WWW-Authenticate` (400/401/403) or `Retry-After` (503), JSON body
//!   `{"code", "detail"}`; customisable with [`Auth::error_handler`].
//!
//! # Example
//!
//! ```no_run
//! use actix_web::{web, App, HttpResponse, HttpServer};
//! use verifier_actix::{Auth, Claims, OptionalClaims, RequireScopes};
//! use verifier_core::{AsyncJwtVerifier, AuthConfig};
//!
//! async fn me(Claims(claims): Claims) -> HttpResponse {
//!     HttpResponse::Ok().json(claims)
//! }
//!
//! async fn hello(OptionalClaims(claims): OptionalClaims) -> String {
//!     match claims {
//!         Some(c) => format!("hello {}", c.sub().unwrap_or("?")),
//!         None => "hello stranger".into(),
//!     }
//! }
//!
//! #[actix_web::main]
//! async fn main() -> Result<(), Box<dyn std::error::Error>> {
//!     let verifier = AsyncJwtVerifier::new(AuthConfig::from_env()?)?;
//!     let auth = Auth::new(verifier).realm("api");
//!     HttpServer::new(move || {
//!         App::new()
//!             .app_data(auth.clone())
//!             .route("/me", web::get().to(me))
//!             .route("/hello", web::get().to(hello))
//!             .service(
//!                 web::resource("/admin")
//!                     .wrap(RequireScopes::new(["admin"]))
//!                     .route(web::get().to(me)),
//!             )
//!     })
//!     .bind(("127.0.0.1", 3000))?
//!     .run()
//!     .await?;
//!     Ok(())
//! }
//! ```
//!
//! # Choosing between extractor and middleware
//!
//! The extractor alone is enough for most applications: put the [`Auth`] in the
//! application data and ask for [`Claims`] where a handler needs a user. Unknown paths stay
//! 404 and public routes need nothing special. Use [`BearerAuth`] to protect a whole
//! `web::scope` (every route in it, even those whose handler takes no claims), or to
//! make claims available to other middleware through the request extensions. The
//! extractor reuses claims a middleware already verified, so combining them costs one
//! verification.
//!
//! # Per-route scopes: middleware, not guards
//!
//! actix `guard`s can only return true or false; a failing guard sends the router on to
//! the next route and ends in 404/405. A correct 403 `insufficient_scope` with its
//! challenge therefore needs middleware ([`RequireScopes`], [`RequirePermissions`] on a
//! resource or scope) or a check in the handler (`claims.require_scopes(..)` mapped into
//! a [`BearerError`]).
//!
//! # Naming: the same words in the three integrations
//!
//! | what | verifier-actix | the same in verifier-tower / verifier-axum |
//! |---|---|---|
//! | construction, either flavour | [`Auth::new`]`(verifier)` (`impl Into<`[`Verifier`](verifier_core::Verifier)`>`) | `new(verifier)` |
//! | blocking construction off the runtime | [`Auth::blocking_from_config`] | the verifier's `Into<Verifier>` |
//! | realm | [`Auth::realm`]`("api")` | `realm` |
//! | whole challenge | [`Auth::challenge`]`(Challenge)` (default [`Challenge::for_verifier`](verifier_core::Challenge::for_verifier)) | `challenge` |
//! | requirements | [`Auth::require_scopes`], [`Auth::require_permissions`] ([`Requirements`](verifier_core::Requirements)); per route [`RequireScopes`], [`RequirePermissions`] | `require_scopes`, `require_permissions` |
//! | health | [`Auth::health`], [`Auth::healthcheck`] (= [`Auth::verifier`]`().health()`) | `health`, `healthcheck` |
//! | reading them back | [`Auth::realm_name`], [`Auth::challenge_ref`], [`Auth::verifier`] | `realm_name`, `challenge_ref`, `verifier` |
//!
//! Every request goes through the core's [`Verifier::authenticate`](verifier_core::Verifier::authenticate);
//! this crate converts the actix request (method, URI, `Authorization` / `DPoP` /
//! `Cookie`) and the responses, nothing else.
//!
//! # DPoP, resource metadata, token cookie
//!
//! What the verifier is configured with ([`VerifierConfig`](verifier_core::VerifierConfig),
//! `OIDC_RESOURCE`, `OIDC_DPOP`, `OIDC_TOKEN_COOKIE`) applies here without more code:
//! - the `DPoP` scheme through the extractors and the middleware (proof checked against
//!   the request's method and full path), `DPoP-Nonce` on refusals and, from
//!   [`BearerAuth`] / [`RequireScopes`], on successful responses;
//! - [`resource_metadata`]: the RFC 9728 document route; `resource_metadata` in every
//!   401/403 challenge; [`BearerAuth`] lets the document through unauthenticated;
//! - the token cookie, read when there is no `Authorization` header.
//!
//! After authentication the request extensions hold the [`verifier_core::Claims`] and the
//! [`verifier_core::Authenticated`] (scheme, issuer, DPoP confirmation).
//!
//! # Blocking verifier
//!
//! With feature `blocking`, [`Auth::new`] (or [`Auth::blocking`]) takes a
//! [`JwtVerifier`](verifier_core::JwtVerifier); each verification runs on tokio's
//! blocking thread pool (actix-web runs on tokio), so a key-set fetch (up to
//! `jwks_timeout`) never stalls the worker thread and the other requests it serves.
#![forbid(unsafe_code)]
#![deny(missing_docs)]

mod auth;
mod error;
mod extract;
mod metadata;
mod middleware;
mod request;
mod require;

pub use auth::{bearer_token, Auth};
pub use error::{error_response, error_response_with, BearerError};
pub use extract::{Claims, OptionalClaims};
pub use metadata::resource_metadata;
pub use middleware::{AuthFuture, BearerAuth, BearerAuthMiddleware};
pub use require::{RequireMiddleware, RequirePermissions, RequireScopes};

/// The core crate, re-exported (configuration, verifiers, errors, claims).
pub use verifier_core;
