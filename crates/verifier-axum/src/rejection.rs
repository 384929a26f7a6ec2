//! [`AuthRejection`]: why an extractor refused a request.

use std::fmt;
use std::sync::Arc;

use axum::body::Body;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use verifier_core::bearer::ErrorResponse;
use verifier_core::{AuthError, Challenge};

/// The rejection of the [`Claims`](crate::Claims) and [`Authorized`](crate::Authorized)
/// extractors: the [`AuthError`] and the realm of the [`Auth`](crate::Auth) state.
///
/// As a response it is [`ErrorResponse`]: the error's status (400, 401, 403 or
/// 503), `WWW-Authenticate` (RFC 6750) on 400/401/403, `Retry-After` on 503, and a JSON body
/// `{"code": "...", "detail": "..."}`. To answer differently, extract
/// `Result<Claims, AuthRejection>` and build your own response from
/// [`AuthRejection::error`].
///
/// ```
/// use axum::response::IntoResponse;
/// use verifier_axum::AuthRejection;
/// use verifier_core::{AuthError, ErrorCode};
///
/// let rejection = AuthRejection::new(AuthError::new(ErrorCode::TokenExpired), Some("api".into()));
/// assert_eq!(rejection.error().code(), ErrorCode::TokenExpired);
/// // Like axum's own rejections:
/// assert_eq!(rejection.status(), 401);
/// assert_eq!(
///     rejection.body_text(),
///     r#"{"code":"token_expired","detail":"Token is expired"}"#
/// );
/// let response = rejection.into_response();
/// assert_eq!(response.status(), 401);
/// assert_eq!(
///     response.headers()["www-authenticate"],
///     r#"Bearer realm="api", error="invalid_token", error_description="Token is expired""#
/// );
/// ```
#[derive(Clone, Debug)]
pub struct AuthRejection {
    error: AuthError,
    challenge: Arc<Challenge>,
}

impl AuthRejection {
    /// A rejection for `error`, answered with `realm` in the challenge.
    pub fn new(error: AuthError, realm: Option<Arc<str>>) -> Self {
        let challenge = Arc::new(Challenge::bearer(realm.as_deref()));
        AuthRejection { error, challenge }
    }

    /// A rejection for `error`, answered with `challenge` (realm, `resource_metadata`, …).
    pub fn with_challenge(error: AuthError, challenge: Arc<Challenge>) -> Self {
        AuthRejection { error, challenge }
    }

    /// The error.
    pub fn error(&self) -> &AuthError {
        &self.error
    }

    /// Takes the error.
    pub fn into_error(self) -> AuthError {
        self.error
    }

    /// The realm used in the challenge.
    pub fn realm(&self) -> Option<&str> {
        self.challenge.realm()
    }

    /// The challenge it answers with.
    pub fn challenge(&self) -> &Challenge {
        &self.challenge
    }

    /// The status it answers with (like axum's own rejections' `status()`): 400, 401,
    /// 403 or 503.
    pub fn status(&self) -> StatusCode {
        self.error.status()
    }

    /// The body it answers with (like axum's own rejections' `body_text()`): the JSON
    /// `{"code": "...", "detail": "..."}`.
    pub fn body_text(&self) -> String {
        self.error_response().body
    }

    /// The response parts (status, headers, body) this rejection answers with.
    pub fn error_response(&self) -> ErrorResponse {
        ErrorResponse::with_challenge(&self.error, &self.challenge)
    }
}

impl IntoResponse for AuthRejection {
    fn into_response(self) -> Response {
        self.error_response().into_response::<Body>()
    }
}

impl fmt::Display for AuthRejection {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(&self.error, f)
    }
}

impl std::error::Error for AuthRejection {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        Some(&self.error)
    }
}

impl From<AuthRejection> for AuthError {
    fn from(rejection: AuthRejection) -> Self {
        rejection.error
    }
}
