//! The [`Claims`] and [`OptionalClaims`] extractors.

use std::future::Future;
use std::ops::{Deref, DerefMut};
use std::pin::Pin;

use actix_web::dev::Payload;
use actix_web::{FromRequest, HttpRequest};
use verifier_core::{AuthError, Claims as CoreClaims, ErrorCode, FromClaims};

use crate::auth::{resolve, Auth};
use crate::error::BearerError;

type LocalFuture<T> = Pin<Box<dyn Future<Output = Result<T, actix_web::Error>>>>;

/// Extracts the verified claims of a request; refuses the request otherwise.
///
/// `C` is [`verifier_core::Claims`] (the default) or any `serde` type the claims
/// deserialize into ([`FromClaims`]); a claims set that does not fit `C` is
/// `invalid_token` (401).
///
/// Where the claims come from, in order:
/// 1. request extensions, when a [`BearerAuth`](crate::BearerAuth) or
///    [`RequireScopes`](crate::RequireScopes) middleware already verified the token
///    (no second verification);
/// 2. otherwise the `Authorization: Bearer` header, verified with the [`Auth`] in the
///    application data (`app_data(auth)` or `app_data(web::Data::new(auth))`).
///
/// Failures answer the [`Auth`]'s error response: 401 `missing_token` without bearer
/// credentials, 401 for a refused token, 403 for missing scopes/permissions, 503 when the
/// key set cannot be fetched. No `Auth` at all is a server misconfiguration: 500.
///
/// ```
/// use actix_web::web;
/// use serde::Deserialize;
/// use verifier_actix::Claims;
///
/// // The default claims type, with accessors.
/// async fn me(Claims(claims): Claims) -> String {
///     format!("hello {}", claims.sub().unwrap_or("?"))
/// }
///
/// // Your own type.
/// #[derive(Deserialize)]
/// struct User { sub: String, #[serde(default)] tenant: Option<String> }
/// async fn tenant(Claims(user): Claims<User>) -> String {
///     format!("{} in {:?}", user.sub, user.tenant)
/// }
/// ```
#[derive(Clone, Debug)]
pub struct Claims<C = CoreClaims>(pub C);

impl<C> Claims<C> {
    /// The claims.
    pub fn into_inner(self) -> C {
        self.0
    }
}

impl<C> Deref for Claims<C> {
    type Target = C;
    fn deref(&self) -> &C {
        &self.0
    }
}

impl<C> DerefMut for Claims<C> {
    fn deref_mut(&mut self) -> &mut C {
        &mut self.0
    }
}

fn convert<C: FromClaims>(auth: Option<&Auth>, claims: CoreClaims) -> Result<C, actix_web::Error> {
    C::from_claims(claims).map_err(|e| reject(auth, e))
}

fn reject(auth: Option<&Auth>, error: AuthError) -> actix_web::Error {
    match auth {
        Some(auth) => auth.reject(error).into(),
        None => BearerError::new(error).into(),
    }
}

impl<C: FromClaims + 'static> FromRequest for Claims<C> {
    type Error = actix_web::Error;
    type Future = LocalFuture<Self>;

    fn from_request(req: &HttpRequest, _: &mut Payload) -> Self::Future {
        let req = req.clone();
        Box::pin(async move {
            match resolve(&req).await? {
                (auth, Some(claims)) => convert(auth.as_ref(), claims).map(Claims),
                (auth, None) => Err(reject(
                    auth.as_ref(),
                    AuthError::new(ErrorCode::MissingToken),
                )),
            }
        })
    }
}

/// Optional authentication: `OptionalClaims(None)` when the request has no bearer
/// credentials (no `Authorization` header, or another scheme such as `Basic`);
/// `OptionalClaims(Some(claims))` for a valid token; and **refused** (400/401/403/503, like
/// [`Claims`]) for bad credentials: a `Bearer` header without a token, two
/// `Authorization` fields, or a token that fails verification.
///
/// Use this rather than `Option<Claims>`: actix-web's `Option<T>` extractor turns *every*
/// extraction error into `None`, so an expired or forged token would silently look
/// like an anonymous request.
///
/// ```
/// use verifier_actix::OptionalClaims;
///
/// async fn greet(OptionalClaims(claims): OptionalClaims) -> String {
///     match claims {
///         Some(claims) => format!("hello {}", claims.sub().unwrap_or("?")),
///         None => "hello stranger".to_owned(),
///     }
/// }
/// ```
#[derive(Clone, Debug)]
pub struct OptionalClaims<C = CoreClaims>(pub Option<C>);

impl<C> OptionalClaims<C> {
    /// The claims, if the request had credentials.
    pub fn into_inner(self) -> Option<C> {
        self.0
    }
}

impl<C> Deref for OptionalClaims<C> {
    type Target = Option<C>;
    fn deref(&self) -> &Option<C> {
        &self.0
    }
}

impl<C: FromClaims + 'static> FromRequest for OptionalClaims<C> {
    type Error = actix_web::Error;
    type Future = LocalFuture<Self>;

    fn from_request(req: &HttpRequest, _: &mut Payload) -> Self::Future {
        let req = req.clone();
        Box::pin(async move {
            match resolve(&req).await? {
                (auth, Some(claims)) => {
                    convert(auth.as_ref(), claims).map(|c| OptionalClaims(Some(c)))
                }
                (_, None) => Ok(OptionalClaims(None)),
            }
        })
    }
}
