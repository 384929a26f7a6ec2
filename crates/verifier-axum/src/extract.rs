//! The [`Claims`] extractor.

use std::ops::{Deref, DerefMut};

use axum::extract::{FromRef, FromRequestParts, OptionalFromRequestParts};
use axum::http::request::Parts;
use verifier_core::FromClaims;

use crate::auth::Auth;
use crate::rejection::AuthRejection;

/// Extracts the verified claims of the request's bearer token.
///
/// `C` is [`verifier_core::Claims`] by default, or any [`FromClaims`] type, which includes
/// every `serde::de::DeserializeOwned` type (a claim set that does not deserialize is
/// `invalid_token`, 401).
///
/// Where the claims come from, in order:
/// 1. the request extensions, when a [`BearerAuthLayer`](verifier_tower::BearerAuthLayer)
///    (e.g. [`Auth::layer`]) or an earlier extractor already verified the token: no
///    second verification;
/// 2. otherwise the `Authorization` header, verified with the [`Auth`] found in the state
///    through [`FromRef`] (the claims are then stored in the extensions for later
///    extractors of the same request).
///
/// No bearer credentials → `missing_token` (401); see [`AuthRejection`]. As
/// `Option<Claims<C>>` the extractor is optional: no credentials → `None`, bad
/// credentials → still rejected.
///
/// WebSocket upgrade requests are ordinary requests: put `Claims` before
/// `WebSocketUpgrade` and a request without a valid token is refused before the upgrade.
///
/// ```no_run
/// use axum::{routing::get, Json, Router};
/// use serde::Deserialize;
/// use verifier_axum::{Auth, Claims};
///
/// #[derive(Deserialize)]
/// struct MyClaims { sub: String, tenant: Option<String> }
///
/// async fn me(Claims(claims): Claims) -> Json<verifier_core::Claims> {
///     Json(claims)
/// }
/// async fn tenant(Claims(mine): Claims<MyClaims>) -> String {
///     format!("{} @ {:?}", mine.sub, mine.tenant)
/// }
/// async fn greet(claims: Option<Claims>) -> String {
///     match claims {
///         Some(Claims(c)) => format!("hello {}", c.sub().unwrap_or("?")),
///         None => "hello stranger".into(),
///     }
/// }
///
/// fn app(auth: Auth) -> Router {
///     Router::new()
///         .route("/me", get(me))
///         .route("/tenant", get(tenant))
///         .route("/greet", get(greet))
///         .with_state(auth)
/// }
/// ```
#[derive(Clone, Debug)]
pub struct Claims<C = verifier_core::Claims>(pub C);

impl<C> Claims<C> {
    /// The inner value.
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

impl<S, C> FromRequestParts<S> for Claims<C>
where
    S: Send + Sync,
    Auth: FromRef<S>,
    C: FromClaims,
{
    type Rejection = AuthRejection;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Self::Rejection> {
        let auth = Auth::from_ref(state);
        let claims = auth.required_claims(parts, None).await?;
        C::from_claims(claims)
            .map(Claims)
            .map_err(|err| auth.reject(err))
    }
}

impl<S, C> OptionalFromRequestParts<S> for Claims<C>
where
    S: Send + Sync,
    Auth: FromRef<S>,
    C: FromClaims,
{
    type Rejection = AuthRejection;

    async fn from_request_parts(
        parts: &mut Parts,
        state: &S,
    ) -> Result<Option<Self>, Self::Rejection> {
        let auth = Auth::from_ref(state);
        match auth.claims_from_parts(parts, None).await? {
            None => Ok(None),
            Some(claims) => C::from_claims(claims)
                .map(|c| Some(Claims(c)))
                .map_err(|err| auth.reject(err)),
        }
    }
}
