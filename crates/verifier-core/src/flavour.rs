//! [`Verifier`]: either verifier flavour behind one async, `'static` interface, for the
//! framework integrations.

use std::future::Future;
use std::pin::Pin;

use http::header::{HeaderMap, AUTHORIZATION, COOKIE};
use http::{Method, Uri};

use crate::claims::Claims;
use crate::config::AuthConfig;
use crate::error::AuthError;
use crate::health::Health;
use crate::request::{Authenticated, RequestParts};
use crate::requirements::Requirements;
use crate::surface::Surface;
use crate::AsyncJwtVerifier;
#[cfg(feature = "blocking")]
use crate::JwtVerifier;

/// A boxed, `Send`, `'static` future of [`Verifier::authenticate`].
pub type AuthenticateFuture =
    Pin<Box<dyn Future<Output = Result<Option<Authenticated>, AuthError>> + Send>>;

/// Either verifier flavour, behind one async interface whose futures own what they need
/// (so a tower service or an actix middleware can hold them).
///
/// - [`Verifier::Async`]: [`AsyncJwtVerifier`], awaited in place.
/// - `Verifier::Blocking` (feature `blocking`): [`JwtVerifier`](crate::JwtVerifier),
///   run on tokio's blocking thread pool through `tokio::task::spawn_blocking`, so a slow
///   key-set fetch never stalls the async executor. It therefore needs a tokio runtime
///   (actix-web runs on one). Build the `JwtVerifier` outside the runtime or inside
///   `spawn_blocking`: its `reqwest::blocking` client must not be created on an async
///   executor thread.
///
/// Cheap to clone (both flavours are `Arc`s inside). Build one with `From`:
///
/// ```no_run
/// # fn run() -> Result<(), Box<dyn std::error::Error>> {
/// use verifier_core::{AsyncJwtVerifier, AuthConfig, Verifier};
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

/// What [`Verifier::authenticate`] copies out of a request: method, URI, the headers the
/// pipeline reads, and the route's requirements.
struct OwnedRequest {
    method: Method,
    uri: Uri,
    headers: HeaderMap,
    requirements: Option<Requirements>,
}

impl OwnedRequest {
    fn new(request: RequestParts<'_>, cookie: bool) -> Self {
        let mut headers = HeaderMap::new();
        let mut copy = |name: &http::HeaderName| {
            for value in request.headers.get_all(name) {
                headers.append(name.clone(), value.clone());
            }
        };
        copy(&AUTHORIZATION);
        copy(&crate::dpop::DPOP);
        if cookie {
            copy(&COOKIE);
        }
        OwnedRequest {
            method: request.method.clone(),
            uri: request.uri.clone(),
            headers,
            requirements: request.requirements.cloned(),
        }
    }

    fn parts(&self) -> RequestParts<'_> {
        let parts = RequestParts::new(&self.method, &self.uri, &self.headers);
        match &self.requirements {
            Some(r) => parts.requiring(r),
            None => parts,
        }
    }
}

impl Verifier {
    /// The configuration of the underlying verifier (of its first issuer).
    pub fn config(&self) -> &AuthConfig {
        match self {
            Verifier::Async(v) => v.config(),
            #[cfg(feature = "blocking")]
            Verifier::Blocking(v) => v.config(),
        }
    }

    pub(crate) fn surface(&self) -> &Surface {
        match self {
            Verifier::Async(v) => v.surface(),
            #[cfg(feature = "blocking")]
            Verifier::Blocking(v) => v.surface(),
        }
    }

    /// Verifies a token presented as Bearer and returns its claims (verifier-wide policy
    /// only). With the blocking flavour the token is copied and verified on the blocking
    /// pool.
    pub async fn verify_access_token(&self, token: &str) -> Result<Claims, AuthError> {
        match self {
            Verifier::Async(v) => v.verify_access_token(token).await,
            #[cfg(feature = "blocking")]
            Verifier::Blocking(v) => {
                let (v, token) = (v.clone(), token.to_owned());
                offload(move || v.verify_access_token(token)).await
            }
        }
    }

    /// Authenticates a request ([`AsyncJwtVerifier::authenticate`]: credentials, the
    /// pipeline, the route's requirements, DPoP). The future owns copies of the method,
    /// the URI and the headers it reads, so it is `'static`.
    ///
    /// `Ok(None)`: no credentials of an accepted scheme (no `Authorization` header, or
    /// another scheme such as `Basic`, and no token cookie). Required auth turns this into
    /// `missing_token`; optional auth lets the request through without claims.
    ///
    /// ```no_run
    /// # async fn run(verifier: verifier_core::Verifier, req: http::Request<()>) {
    /// use verifier_core::RequestParts;
    /// let parts = RequestParts::new(req.method(), req.uri(), req.headers());
    /// match verifier.authenticate(parts).await {
    ///     Ok(Some(auth)) => println!("hello {:?}", auth.claims.sub()),
    ///     Ok(None) => println!("anonymous"),
    ///     Err(err) => println!("refused: {}", err.code()),
    /// }
    /// # }
    /// ```
    pub fn authenticate(&self, request: RequestParts<'_>) -> AuthenticateFuture {
        let surface = self.surface();
        // Requests without credentials are answered without copying anything.
        if !request.headers.contains_key(AUTHORIZATION)
            && (surface.token_cookie.is_none() || !request.headers.contains_key(COOKIE))
        {
            return Box::pin(std::future::ready(Ok(None)));
        }
        let owned = OwnedRequest::new(request, surface.token_cookie.is_some());
        match self {
            Verifier::Async(v) => {
                let v = v.clone();
                Box::pin(async move { v.authenticate(owned.parts()).await })
            }
            #[cfg(feature = "blocking")]
            Verifier::Blocking(v) => {
                let v = v.clone();
                Box::pin(offload(move || v.authenticate(owned.parts())))
            }
        }
    }

    /// True when every issuer has a usable key set; never errors (blocking flavour: on
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
}

/// Runs `f` on tokio's blocking pool.
#[cfg(feature = "blocking")]
async fn offload<T, F>(f: F) -> Result<T, AuthError>
where
    F: FnOnce() -> Result<T, AuthError> + Send + 'static,
    T: Send + 'static,
{
    match tokio::task::spawn_blocking(f).await {
        Ok(result) => result,
        // The verifier does not panic by contract; if it did, behave as the async
        // flavour would and let the panic reach the caller.
        Err(err) if err.is_panic() => std::panic::resume_unwind(err.into_panic()),
        // The runtime is shutting down.
        Err(err) => Err(AuthError::new(crate::ErrorCode::JwksError).with_source(err)),
    }
}
