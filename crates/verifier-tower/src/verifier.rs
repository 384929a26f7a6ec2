//! The verifier flavours a layer can use.

use std::future::Future;
use std::pin::Pin;

use http::HeaderMap;
#[cfg(feature = "blocking")]
use verifier_core::JwtVerifier;
use verifier_core::{bearer, AsyncJwtVerifier, AuthConfig, AuthError, Claims, Health};

/// A boxed, `Send` verification future.
pub(crate) type VerifyFuture = Pin<Box<dyn Future<Output = Result<Claims, AuthError>> + Send>>;

/// Either verifier flavour, behind one async interface.
///
/// - [`Verifier::Async`]: [`AsyncJwtVerifier`], awaited in place.
/// - `Verifier::Blocking` (feature `blocking`): [`JwtVerifier`](verifier_core::JwtVerifier),
///   run on tokio's blocking thread pool through [`tokio::task::spawn_blocking`], so a slow
///   key-set fetch never stalls the async executor. It therefore needs a tokio runtime.
///   Build the `JwtVerifier` outside the runtime or inside `spawn_blocking`: its
///   `reqwest::blocking` client must not be created on an async executor thread.
///
/// Cheap to clone (both flavours are `Arc`s inside). Build one with `From`:
///
/// ```no_run
/// # fn run() -> Result<(), Box<dyn std::error::Error>> {
/// use verifier_core::{AsyncJwtVerifier, AuthConfig};
/// use verifier_tower::Verifier;
///
/// let config = AuthConfig::from_env()?;
/// let verifier: Verifier = AsyncJwtVerifier::new(config)?.into();
/// # Ok(()) }
/// ```
#[derive(Clone, Debug)]
#[non_exhaustive]
pub enum Verifier {
    /// The async verifier.
    Async(AsyncJwtVerifier),
    /// The blocking verifier, offloaded with `spawn_blocking`.
    #[cfg(feature = "blocking")]
    Blocking(JwtVerifier),
}

impl From<AsyncJwtVerifier> for Verifier {
    fn from(verifier: AsyncJwtVerifier) -> Self {
        Verifier::Async(verifier)
    }
}

#[cfg(feature = "blocking")]
impl From<JwtVerifier> for Verifier {
    fn from(verifier: JwtVerifier) -> Self {
        Verifier::Blocking(verifier)
    }
}

impl Verifier {
    /// The configuration of the underlying verifier.
    pub fn config(&self) -> &AuthConfig {
        match self {
            Verifier::Async(v) => v.config(),
            #[cfg(feature = "blocking")]
            Verifier::Blocking(v) => v.config(),
        }
    }

    /// Verifies a token and returns its claims (verifier-wide policy only).
    ///
    /// With the blocking flavour the token is copied and verified on the blocking pool.
    pub async fn verify_access_token(&self, token: &str) -> Result<Claims, AuthError> {
        self.verify_owned(token.to_owned()).await
    }

    /// Authenticates a request from its headers.
    ///
    /// - `Ok(None)`: the request carries no bearer credentials (no `Authorization` header,
    ///   or another scheme such as `Basic`). Required auth turns this into `missing_token`;
    ///   optional auth lets the request through without claims.
    /// - `Err(_)`: bearer credentials that are unusable (`Bearer` with no token) or a token
    ///   that fails verification.
    /// - `Ok(Some(claims))`: a verified token.
    ///
    /// ```no_run
    /// # async fn run(verifier: verifier_tower::Verifier, headers: http::HeaderMap) {
    /// match verifier.authenticate(&headers).await {
    ///     Ok(Some(claims)) => println!("hello {:?}", claims.sub()),
    ///     Ok(None) => println!("anonymous"),
    ///     Err(err) => println!("refused: {}", err.code()),
    /// }
    /// # }
    /// ```
    pub async fn authenticate(&self, headers: &HeaderMap) -> Result<Option<Claims>, AuthError> {
        match bearer::bearer_from_headers(headers)? {
            None => Ok(None),
            Some(token) => self.verify_owned(token.to_owned()).await.map(Some),
        }
    }

    /// True when at least one usable key can be had; never errors (blocking flavour: on
    /// the blocking pool).
    pub async fn healthcheck(&self, refresh: bool) -> bool {
        match self {
            Verifier::Async(v) => v.healthcheck(refresh).await,
            #[cfg(feature = "blocking")]
            Verifier::Blocking(v) => {
                let v = v.clone();
                tokio::task::spawn_blocking(move || v.healthcheck(refresh))
                    .await
                    .unwrap_or(false)
            }
        }
    }

    /// Readiness that says why ([`AsyncJwtVerifier::health`]); blocking flavour: on the
    /// blocking pool. `Serialize`, for a readiness endpoint's body.
    pub async fn health(&self) -> Health {
        match self {
            Verifier::Async(v) => v.health().await,
            #[cfg(feature = "blocking")]
            Verifier::Blocking(v) => {
                let v = v.clone();
                tokio::task::spawn_blocking(move || v.health())
                    .await
                    .unwrap_or_default()
            }
        }
    }

    /// A `'static` verification future over an owned token.
    pub(crate) fn verify_owned(&self, token: String) -> VerifyFuture {
        match self {
            Verifier::Async(v) => {
                let v = v.clone();
                Box::pin(async move { v.verify_access_token(token).await })
            }
            #[cfg(feature = "blocking")]
            Verifier::Blocking(v) => {
                let v = v.clone();
                let handle = tokio::task::spawn_blocking(move || v.verify_access_token(token));
                Box::pin(async move {
                    match handle.await {
                        Ok(result) => result,
                        // The verifier does not panic by contract; if it did, behave as the
                        // async flavour would and let the panic reach the caller.
                        Err(err) if err.is_panic() => std::panic::resume_unwind(err.into_panic()),
                        // The runtime is shutting down.
                        Err(err) => {
                            Err(AuthError::new(verifier_core::ErrorCode::JwksError)
                                .with_source(err))
                        }
                    }
                })
            }
        }
    }
}
