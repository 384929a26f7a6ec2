//! [`BearerAuth`]: the middleware service.

use std::sync::Arc;
use std::task::{Context, Poll};

use http::{Request, Response};
use tower_service::Service;
use verifier_core::{Authenticated, Claims, RequestParts, Verifier};

use crate::failure::{DefaultOnFailure, OnFailure};
use crate::future::ResponseFuture;
use crate::layer::{BearerAuthLayer, Settings};

/// Authentication middleware (see [`BearerAuthLayer`] for the settings).
///
/// For each request:
/// 1. `GET`/`HEAD` (or any other method, answered 405) on exactly the protected-resource
///    metadata path, when served: the document, without authentication.
/// 2. If the request extensions already hold [`Claims`] (an outer `BearerAuth` verified
///    the token), they are reused: only this layer's requirements are checked.
/// 3. Otherwise [`Verifier::authenticate`] reads the credentials (`Authorization: Bearer`,
///    `Authorization: DPoP` with a `DPoP` proof, the token cookie) and runs the pipeline
///    with this layer's requirements (the blocking flavour on the blocking pool). No
///    credentials → `missing_token` (or, in optional mode, the request passes through
///    without claims).
/// 4. The [`Claims`] and the [`Authenticated`] are inserted into the request extensions
///    before the inner service is called; a fresh DPoP nonce goes on its response as
///    `DPoP-Nonce`.
///
/// Any failure is answered by the failure handler without calling the inner service.
///
/// Generic over the request body `ReqBody` (untouched) and the response body `ResBody`,
/// which must be `From<String>` (for the metadata document and the default JSON error
/// body): `axum::body::Body`, `http_body_util::Full<Bytes>`, `String` all are.
///
/// ```
/// use std::convert::Infallible;
/// use http::{Request, Response};
/// use tower::{service_fn, ServiceBuilder, ServiceExt};
/// use verifier_core::{AsyncJwtVerifier, AuthConfig};
/// use verifier_tower::BearerAuthLayer;
///
/// # fn main() -> Result<(), Box<dyn std::error::Error>> {
/// # let rt = tokio::runtime::Builder::new_current_thread().enable_all().build()?;
/// # rt.block_on(async {
/// let verifier = AsyncJwtVerifier::new(
///     AuthConfig::builder()
///         .issuer("https://issuer.example/")
///         .audience("https://api.example")
///         .jwks_url("https://issuer.example/jwks.json")
///         .build()?,
/// )?;
/// let handler = service_fn(|req: Request<String>| async move {
///     let claims = req.extensions().get::<verifier_core::Claims>().expect("set by the layer");
///     Ok::<_, Infallible>(Response::new(format!("hello {}", claims.sub().unwrap_or("?"))))
/// });
/// let service = ServiceBuilder::new()
///     .layer(BearerAuthLayer::new(verifier).realm("api"))
///     .service(handler);
///
/// // No credentials: refused without calling the handler (and without network I/O).
/// let response = service.oneshot(Request::new(String::new())).await?;
/// assert_eq!(response.status(), 401);
/// assert_eq!(response.headers()["www-authenticate"], r#"Bearer realm="api""#);
/// # Ok::<_, Box<dyn std::error::Error>>(())
/// # })
/// # }
/// ```
#[derive(Debug)]
pub struct BearerAuth<S, F = DefaultOnFailure> {
    inner: S,
    settings: Arc<Settings<F>>,
}

impl<S: Clone, F> Clone for BearerAuth<S, F> {
    fn clone(&self) -> Self {
        BearerAuth {
            inner: self.inner.clone(),
            settings: self.settings.clone(),
        }
    }
}

impl BearerAuth<(), DefaultOnFailure> {
    /// A [`BearerAuthLayer`] for `verifier` (same as [`BearerAuthLayer::new`]).
    pub fn layer(verifier: impl Into<Verifier>) -> BearerAuthLayer {
        BearerAuthLayer::new(verifier)
    }
}

impl<S> BearerAuth<S, DefaultOnFailure> {
    /// Wraps `inner` with default settings (required auth, no realm).
    pub fn new(inner: S, verifier: impl Into<Verifier>) -> Self {
        tower_layer::Layer::layer(&BearerAuthLayer::new(verifier), inner)
    }
}

impl<S, F> BearerAuth<S, F> {
    pub(crate) fn from_settings(inner: S, settings: Arc<Settings<F>>) -> Self {
        BearerAuth { inner, settings }
    }

    /// The inner service.
    pub fn get_ref(&self) -> &S {
        &self.inner
    }

    /// The inner service, mutably.
    pub fn get_mut(&mut self) -> &mut S {
        &mut self.inner
    }

    /// Unwraps the inner service.
    pub fn into_inner(self) -> S {
        self.inner
    }
}

impl<S, F, ReqBody, ResBody> Service<Request<ReqBody>> for BearerAuth<S, F>
where
    S: Service<Request<ReqBody>, Response = Response<ResBody>> + Clone,
    F: OnFailure<ResBody>,
    ResBody: From<String>,
{
    type Response = Response<ResBody>;
    type Error = S::Error;
    type Future = ResponseFuture<S, ReqBody, F>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, req: Request<ReqBody>) -> Self::Future {
        let settings = &self.settings;
        let uri = settings.uri(&req);
        if let Some(doc) = settings.metadata_for(uri) {
            return ResponseFuture::answered(crate::metadata::respond(doc, req.method()));
        }
        if let Some(claims) = req.extensions().get::<Claims>() {
            // An outer layer authenticated the request: only this layer's requirements.
            let scheme = req.extensions().get::<Authenticated>().map(|a| a.scheme);
            return match settings.requirements.check(claims) {
                Ok(()) => ResponseFuture::inner(self.inner.call(req)),
                Err(err) => {
                    let err = match scheme {
                        Some(scheme) => err.with_scheme(scheme),
                        None => err,
                    };
                    ResponseFuture::answered(settings.failure(&err))
                }
            };
        }
        let parts = RequestParts::new(req.method(), uri, req.headers());
        let parts = match settings.requirements.is_empty() {
            true => parts,
            false => parts.requiring(&settings.requirements),
        };
        let verify = settings.verifier.authenticate(parts);
        // The clone may not be ready; keep the one that is (tower's usual dance).
        let clone = self.inner.clone();
        let inner = std::mem::replace(&mut self.inner, clone);
        ResponseFuture::verifying(verify, req, inner, self.settings.clone())
    }
}
