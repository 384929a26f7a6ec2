//! [`BearerAuth`]: authentication middleware putting verified claims in request
//! extensions.

use std::future::{ready, Future, Ready};
use std::pin::Pin;
use std::rc::Rc;

use actix_web::body::{EitherBody, MessageBody};
use actix_web::dev::{Service, ServiceRequest, ServiceResponse, Transform};
use actix_web::http::header::{HeaderName, HeaderValue};
use actix_web::http::Method;
use actix_web::{HttpMessage, HttpResponse, ResponseError};
use verifier_core::{AuthError, Claims as CoreClaims, ErrorCode};

use crate::auth::{record, Auth, AuthContext};
use crate::metadata::{metadata_at, metadata_response};

/// Middleware authenticating every request it wraps; use with `.wrap()` on an `App`, a
/// `web::scope` or a `web::resource`.
///
/// On success the verified [`verifier_core::Claims`] go into the request extensions
/// (`req.extensions().get::<verifier_core::Claims>()`), where the [`Claims`](crate::Claims)
/// extractor and the [`RequireScopes`](crate::RequireScopes) middleware reuse them
/// without verifying again, next to the whole
/// [`Authenticated`](verifier_core::Authenticated) (scheme, issuer, DPoP confirmation).
/// On failure the middleware answers itself with the [`Auth`]'s error
/// response (400/401/403/503); the wrapped service is not called.
///
/// - [`BearerAuth::required`]: no credentials → 401 `missing_token`.
/// - [`BearerAuth::optional`]: no credentials → the request goes on without claims; bad
///   credentials are still refused.
///
/// # DPoP
///
/// When the verifier accepts DPoP, `Authorization: DPoP <token>` with its `DPoP` proof
/// is checked against the request's method and URI (path and query as the client sent
/// them; actix scopes do not strip their prefix). A middleware that rewrites the URI
/// (such as `NormalizePath`) must therefore run after `BearerAuth` (`.wrap()` it first).
/// When the client's nonce was of the previous window, the successful response carries a
/// fresh `DPoP-Nonce` header.
///
/// # Protected-resource metadata
///
/// When the verifier has a resource, `GET` and `HEAD` on exactly its metadata path go
/// through unauthenticated (to [`resource_metadata`](crate::resource_metadata)'s route),
/// with or without [`skip_unmatched`](BearerAuth::skip_unmatched); other methods on
/// that path are answered 405 with `Allow: GET, HEAD`.
///
/// # Unknown paths stay 404
///
/// actix runs `App`-level middleware *before* routing, so a required `BearerAuth` on the
/// `App` answers 401 for any path, including ones no route serves. That is safe (it does
/// not reveal which paths exist). To keep 404 for unknown paths, either
/// - call [`skip_unmatched`](BearerAuth::skip_unmatched): requests whose path matches no
///   registered resource or service pass through unauthenticated to the default service
///   (404 unless you set one: don't use this if your default service serves protected
///   content); or
/// - wrap only the protected `web::scope`s / resources instead of the `App`, or use the
///   [`Claims`](crate::Claims) extractor with [`Auth`] in the application data.
///
/// # Ordering with other middleware
///
/// The last `.wrap()` runs first. Register CORS middleware *after* `BearerAuth` so
/// it answers preflight `OPTIONS` requests (which carry no credentials) before
/// authentication does.
///
/// ```no_run
/// use actix_web::{web, App, HttpServer};
/// use verifier_actix::{Auth, BearerAuth, Claims};
///
/// # async fn run(auth: Auth) -> std::io::Result<()> {
/// HttpServer::new(move || {
///     App::new()
///         .route("/healthz", web::get().to(|| async { "ok" }))
///         .service(
///             web::scope("/api")
///                 .wrap(BearerAuth::required(auth.clone()))
///                 .route("/me", web::get().to(|Claims(c): Claims| async move { web::Json(c) })),
///         )
/// })
/// .bind(("127.0.0.1", 3000))?
/// .run()
/// .await
/// # }
/// ```
#[derive(Clone, Debug)]
pub struct BearerAuth {
    auth: Auth,
    optional: bool,
    skip_unmatched: bool,
}

impl BearerAuth {
    /// Every request must carry a valid bearer token.
    pub fn required(auth: Auth) -> Self {
        BearerAuth {
            auth,
            optional: false,
            skip_unmatched: false,
        }
    }

    /// Requests without bearer credentials go on without claims; a `Bearer` header
    /// without a token, or a refused token, is still answered with an error.
    pub fn optional(auth: Auth) -> Self {
        BearerAuth {
            optional: true,
            ..BearerAuth::required(auth)
        }
    }

    /// Lets requests whose path matches no registered resource or service through
    /// without authentication, so the default service answers them (404 unless you set
    /// one). The match uses the same normalized path as actix's router; guards and
    /// methods are ignored (a path with a resource is always authenticated).
    pub fn skip_unmatched(mut self) -> Self {
        self.skip_unmatched = true;
        self
    }
}

impl<S, B> Transform<S, ServiceRequest> for BearerAuth
where
    S: Service<ServiceRequest, Response = ServiceResponse<B>, Error = actix_web::Error> + 'static,
    B: MessageBody + 'static,
{
    type Response = ServiceResponse<EitherBody<B>>;
    type Error = actix_web::Error;
    type Transform = BearerAuthMiddleware<S>;
    type InitError = ();
    type Future = Ready<Result<Self::Transform, Self::InitError>>;

    fn new_transform(&self, service: S) -> Self::Future {
        ready(Ok(BearerAuthMiddleware {
            service: Rc::new(service),
            config: self.clone(),
        }))
    }
}

/// The service built by [`BearerAuth`].
#[derive(Debug)]
pub struct BearerAuthMiddleware<S> {
    service: Rc<S>,
    config: BearerAuth,
}

/// The future of [`BearerAuthMiddleware`] and the scope-checking middleware.
pub type AuthFuture<B> =
    Pin<Box<dyn Future<Output = Result<ServiceResponse<EitherBody<B>>, actix_web::Error>>>>;

impl<S, B> Service<ServiceRequest> for BearerAuthMiddleware<S>
where
    S: Service<ServiceRequest, Response = ServiceResponse<B>, Error = actix_web::Error> + 'static,
    B: MessageBody + 'static,
{
    type Response = ServiceResponse<EitherBody<B>>;
    type Error = actix_web::Error;
    type Future = AuthFuture<B>;

    actix_web::dev::forward_ready!(service);

    fn call(&self, req: ServiceRequest) -> Self::Future {
        let service = Rc::clone(&self.service);
        let BearerAuth {
            auth,
            optional,
            skip_unmatched,
        } = self.config.clone();
        Box::pin(async move {
            if let Some(next) = public_document(&auth, &req) {
                return finish(&service, req, next).await;
            }
            if skip_unmatched && !req.resource_map().has_resource(req.match_info().as_str()) {
                return finish(&service, req, Next::Call(None)).await;
            }
            let already = req.extensions().get::<CoreClaims>().map(|c| auth.check(c));
            let outcome = match already {
                // An outer middleware verified the token: only this Auth's extras remain.
                Some(checked) => checked.map(|()| None),
                None => match auth.authenticate_request(req.request()).await {
                    Ok(None) if !optional => Err(AuthError::new(ErrorCode::MissingToken)),
                    other => other,
                },
            };
            let next = match outcome {
                Ok(authenticated) => {
                    let nonce = authenticated.map(|a| record(req.request(), a));
                    req.extensions_mut().insert(AuthContext(auth));
                    Next::Call(nonce.flatten())
                }
                Err(err) => Next::Answer(auth.reject(err).error_response()),
            };
            finish(&service, req, next).await
        })
    }
}

/// What a middleware does with a request once it has looked at it.
pub(crate) enum Next {
    /// Call the wrapped service, and put `DPoP-Nonce` on its response when given.
    Call(Option<HeaderValue>),
    /// Answer the request with this response (a refusal, a 405).
    Answer(HttpResponse),
}

/// Carries out `next` for `req`.
pub(crate) async fn finish<S, B>(
    service: &S,
    req: ServiceRequest,
    next: Next,
) -> Result<ServiceResponse<EitherBody<B>>, actix_web::Error>
where
    S: Service<ServiceRequest, Response = ServiceResponse<B>, Error = actix_web::Error>,
{
    match next {
        Next::Call(nonce) => {
            let mut response = service.call(req).await?;
            if let Some(nonce) = nonce {
                response
                    .headers_mut()
                    .insert(HeaderName::from_static("dpop-nonce"), nonce);
            }
            Ok(response.map_into_left_body())
        }
        Next::Answer(response) => Ok(req.into_response(response).map_into_right_body()),
    }
}

/// Requests for the protected-resource metadata, which is public (SPEC-2 §4.5): `GET`
/// and `HEAD` on its exact path reach its route unauthenticated, other methods are
/// answered 405 here. `None` for every other request.
pub(crate) fn public_document(auth: &Auth, req: &ServiceRequest) -> Option<Next> {
    let doc = metadata_at(auth, req.path())?;
    Some(match *req.method() {
        Method::GET | Method::HEAD => Next::Call(None),
        _ => Next::Answer(metadata_response(doc, req.method())),
    })
}
