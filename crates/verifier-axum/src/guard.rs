//! [`Authorized`]: claims plus compile-time scope / permission requirements.

use std::fmt;
use std::marker::PhantomData;
use std::ops::Deref;

use axum::extract::{FromRef, FromRequestParts};
use axum::http::request::Parts;
use verifier_core::{FromClaims, Requirements};

use crate::auth::Auth;
use crate::rejection::AuthRejection;

/// Per-route requirements for [`Authorized`], declared on a marker type.
///
/// ```
/// use verifier_axum::Requirement;
///
/// struct Admin;
/// impl Requirement for Admin {
///     const SCOPES: &'static [&'static str] = &["admin"];
/// }
///
/// struct ReadUsers;
/// impl Requirement for ReadUsers {
///     const PERMISSIONS: &'static [&'static str] = &["read:users"];
/// }
/// ```
pub trait Requirement {
    /// Scopes the token must carry (403 `insufficient_scope` listing the missing ones).
    const SCOPES: &'static [&'static str] = &[];
    /// Permissions the token must carry (403 `insufficient_permissions`).
    const PERMISSIONS: &'static [&'static str] = &[];
}

/// Like [`Claims`](crate::Claims), and the token must meet the requirement `R` (scopes,
/// then permissions) on top of the verifier-wide ones: a guard in the handler signature.
///
/// The alternative, [`Auth::require_scopes`] with `route_layer`, keeps requirements out of
/// handler types; both give the same responses.
///
/// ```no_run
/// use axum::{routing::get, Router};
/// use verifier_axum::{Auth, Authorized, Requirement};
///
/// struct Admin;
/// impl Requirement for Admin {
///     const SCOPES: &'static [&'static str] = &["admin"];
/// }
///
/// async fn admin(claims: Authorized<Admin>) -> String {
///     format!("hello admin {}", claims.sub().unwrap_or("?"))
/// }
///
/// fn app(auth: Auth) -> Router {
///     Router::new().route("/admin", get(admin)).with_state(auth)
/// }
/// ```
pub struct Authorized<R, C = verifier_core::Claims> {
    claims: C,
    requirement: PhantomData<fn() -> R>,
}

impl<R, C> Authorized<R, C> {
    /// The claims.
    pub fn into_inner(self) -> C {
        self.claims
    }
}

impl<R, C> Deref for Authorized<R, C> {
    type Target = C;
    fn deref(&self) -> &C {
        &self.claims
    }
}

impl<R, C: fmt::Debug> fmt::Debug for Authorized<R, C> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_tuple("Authorized").field(&self.claims).finish()
    }
}

impl<R, C: Clone> Clone for Authorized<R, C> {
    fn clone(&self) -> Self {
        Authorized {
            claims: self.claims.clone(),
            requirement: PhantomData,
        }
    }
}

impl<S, R, C> FromRequestParts<S> for Authorized<R, C>
where
    S: Send + Sync,
    Auth: FromRef<S>,
    R: Requirement,
    C: FromClaims,
{
    type Rejection = AuthRejection;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Self::Rejection> {
        let auth = Auth::from_ref(state);
        // Checked inside the pipeline: a request refused for scope leaves its DPoP proof
        // unused.
        let requirements = Requirements::new()
            .scopes(R::SCOPES)
            .permissions(R::PERMISSIONS);
        let requirements = (!requirements.is_empty()).then_some(requirements);
        let claims = auth.required_claims(parts, requirements.as_ref()).await?;
        match C::from_claims(claims) {
            Ok(claims) => Ok(Authorized {
                claims,
                requirement: PhantomData,
            }),
            Err(err) => Err(auth.reject(err)),
        }
    }
}
