//! Per-route scope and permission requirements: [`RequireScopes`], [`RequirePermissions`].

use std::future::{ready, Ready};
use std::rc::Rc;

use actix_web::body::{EitherBody, MessageBody};
use actix_web::dev::{Service, ServiceRequest, ServiceResponse, Transform};
use actix_web::{HttpMessage, ResponseError};
use verifier_core::{AuthError, Claims as CoreClaims, ErrorCode, Requirements};

use crate::auth::{not_configured, record, Auth};
use crate::error::BearerError;
use crate::middleware::{finish, public_document, AuthFuture, Next};

macro_rules! requirement_middleware {
    ($name:ident, $kind:ident, $what:literal, $code:literal, $example:literal) => {
        #[doc = concat!("Middleware requiring ", $what, " on the routes it wraps: `.wrap()` it on a")]
        /// `web::resource`, `web::scope` or `App`.
        ///
        /// Authenticates the request first when no [`BearerAuth`](crate::BearerAuth) middleware
        /// did (401 as usual; the [`Auth`] comes from the application data), then checks
        #[doc = concat!("the ", $what, ": any missing one is answered with 403 `", $code, "`,")]
        /// listing the missing ones (sorted) in the `WWW-Authenticate` challenge. When
        /// this middleware authenticates, the requirements are checked inside the core
        /// pipeline together with the [`Auth`]'s own, so a refused DPoP request leaves its
        /// proof unused. The verified claims go into the request extensions, so the
        /// [`Claims`](crate::Claims) extractor in the handler reuses them; a fresh
        /// `DPoP-Nonce` goes on the response as with [`BearerAuth`](crate::BearerAuth).
        ///
        /// # Why not a guard
        ///
        /// actix `guard`s only answer true or false: a failing guard makes the router look
        /// for another route and ends in 404 (or 405), never 401 or 403 with a challenge.
        /// Authorization therefore lives in middleware (this type) or in the handler
        /// (`claims.require_scopes(..)` with [`BearerError`](crate::BearerError)).
        ///
        /// ```
        /// use actix_web::{web, App};
        #[doc = concat!("use verifier_actix::{Auth, Claims, ", stringify!($name), "};")]
        ///
        /// # fn app(auth: Auth) {
        /// let app = App::new().app_data(auth).service(
        ///     web::resource("/admin")
        #[doc = concat!("        .wrap(", stringify!($name), "::new([\"", $example, "\"]))")]
        ///         .route(web::get().to(|Claims(c): Claims| async move { web::Json(c) })),
        /// );
        /// # }
        /// ```
        #[derive(Clone, Debug)]
        pub struct $name {
            requirement: Requirements,
        }

        impl $name {
            #[doc = concat!("Requires every one of these ", $what, " (entries trimmed, empty ones ignored).")]
            pub fn new<I, S>(required: I) -> Self
            where
                I: IntoIterator<Item = S>,
                S: AsRef<str>,
            {
                $name {
                    requirement: Requirements::new().$kind(required),
                }
            }
        }

        impl<S, B> Transform<S, ServiceRequest> for $name
        where
            S: Service<ServiceRequest, Response = ServiceResponse<B>, Error = actix_web::Error>
                + 'static,
            B: MessageBody + 'static,
        {
            type Response = ServiceResponse<EitherBody<B>>;
            type Error = actix_web::Error;
            type Transform = RequireMiddleware<S>;
            type InitError = ();
            type Future = Ready<Result<Self::Transform, Self::InitError>>;

            fn new_transform(&self, service: S) -> Self::Future {
                ready(Ok(RequireMiddleware {
                    service: Rc::new(service),
                    requirement: self.requirement.clone(),
                }))
            }
        }
    };
}

requirement_middleware!(
    RequireScopes,
    scopes,
    "scopes",
    "insufficient_scope",
    "admin"
);
requirement_middleware!(
    RequirePermissions,
    permissions,
    "permissions",
    "insufficient_permissions",
    "reports:read"
);

/// The service built by [`RequireScopes`] and [`RequirePermissions`].
#[derive(Debug)]
pub struct RequireMiddleware<S> {
    service: Rc<S>,
    requirement: Requirements,
}

impl<S, B> Service<ServiceRequest> for RequireMiddleware<S>
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
        let requirement = self.requirement.clone();
        Box::pin(async move {
            let auth = Auth::from_request(req.request());
            // The protected-resource metadata is public (as with `BearerAuth`).
            if let Some(next) = auth.as_ref().and_then(|a| public_document(a, &req)) {
                return finish(&service, req, next).await;
            }
            let checked = req
                .extensions()
                .get::<CoreClaims>()
                .map(|claims| requirement.check(claims));
            let outcome = match checked {
                Some(result) => result.map(|()| None),
                None => {
                    let Some(auth) = &auth else {
                        return Ok(req.error_response(not_configured()).map_into_right_body());
                    };
                    // This route's requirements are checked inside the pipeline, with
                    // the `Auth`'s, before a DPoP proof is recorded as used.
                    match auth
                        .authenticate_with(req.request(), Some(&requirement))
                        .await
                    {
                        Ok(Some(authenticated)) => Ok(record(req.request(), authenticated)),
                        Ok(None) => Err(AuthError::new(ErrorCode::MissingToken)),
                        Err(err) => Err(err),
                    }
                }
            };
            let next = match outcome {
                Ok(nonce) => Next::Call(nonce),
                Err(err) => {
                    let error = match &auth {
                        Some(auth) => auth.reject_on_route(err, Some(&requirement)),
                        None => BearerError::new(err),
                    };
                    Next::Answer(error.error_response())
                }
            };
            finish(&service, req, next).await
        })
    }
}
