//! [`BearerError`]: a refusal as an actix-web [`ResponseError`].

use std::fmt;
use std::sync::Arc;

use actix_web::http::header::{HeaderName, HeaderValue};
use actix_web::http::StatusCode;
use actix_web::{HttpResponse, ResponseError};
use verifier_core::bearer::ErrorResponse;
use verifier_core::{AuthError, Challenge};

use crate::auth::ErrorHandler;

/// The standard failure response for `error`: the error's status (400, 401, 403 or
/// 503), `WWW-Authenticate` (400/401/403, with `realm` when given) or `Retry-After`
/// (503), and the JSON body `{"code": "...", "detail": "..."}`.
///
/// Built from [`verifier_core::bearer::ErrorResponse`], so every integration answers
/// the same bytes. Useful inside a custom [`Auth::error_handler`](crate::Auth::error_handler).
///
/// ```
/// use verifier_actix::error_response;
/// use verifier_core::{AuthError, ErrorCode};
/// let response = error_response(&AuthError::new(ErrorCode::MissingToken), Some("api"));
/// assert_eq!(response.status().as_u16(), 401);
/// assert_eq!(response.headers().get("www-authenticate").unwrap(), r#"Bearer realm="api""#);
/// ```
pub fn error_response(error: &AuthError, realm: Option<&str>) -> HttpResponse {
    error_response_with(error, &Challenge::bearer(realm))
}

/// [`error_response`] with a whole [`Challenge`] (realm, `resource_metadata`, scope hint,
/// schemes): one `WWW-Authenticate` field per challenge value.
pub fn error_response_with(error: &AuthError, challenge: &Challenge) -> HttpResponse {
    let parts = ErrorResponse::with_challenge(error, challenge);
    let status =
        StatusCode::from_u16(parts.status.as_u16()).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    let mut response = HttpResponse::with_body(status, parts.body);
    let headers = response.headers_mut();
    for (name, value) in parts.headers {
        // `http` 1 → actix's `http` 0.2 types, through bytes; both sides validate the
        // same grammar, so these conversions do not fail.
        if let (Ok(name), Ok(value)) = (
            HeaderName::from_bytes(name.as_str().as_bytes()),
            HeaderValue::from_bytes(value.as_bytes()),
        ) {
            headers.append(name, value);
        }
    }
    response.map_into_boxed_body()
}

/// A refused request, as an actix-web error: renders [`error_response`] (or the
/// [`Auth`](crate::Auth)'s custom handler) with the configured realm.
///
/// Returned (converted into [`actix_web::Error`]) by the extractors; the middleware
/// answers with the same response. Build one yourself to refuse from a handler:
///
/// ```
/// use actix_web::{HttpResponse, ResponseError};
/// use verifier_actix::{BearerError, Claims};
///
/// async fn reports(Claims(claims): Claims) -> Result<HttpResponse, BearerError> {
///     claims
///         .require_scopes(&["reports:read"])
///         .map_err(|e| BearerError::new(e).with_realm("api"))?;
///     Ok(HttpResponse::Ok().finish())
/// }
/// ```
#[derive(Clone)]
pub struct BearerError {
    error: AuthError,
    challenge: Arc<Challenge>,
    handler: Option<ErrorHandler>,
}

impl BearerError {
    /// A refusal with no realm and the standard response. Prefer
    /// [`Auth::reject`](crate::Auth::reject), which applies the realm and custom handler.
    pub fn new(error: AuthError) -> Self {
        BearerError {
            error,
            challenge: Arc::new(Challenge::bearer(None)),
            handler: None,
        }
    }

    pub(crate) fn with_parts(
        error: AuthError,
        challenge: Arc<Challenge>,
        handler: Option<ErrorHandler>,
    ) -> Self {
        BearerError {
            error,
            challenge,
            handler,
        }
    }

    /// Sets the realm of the challenge.
    pub fn with_realm(mut self, realm: impl Into<String>) -> Self {
        let challenge = (*self.challenge).clone().with_realm(&realm.into());
        self.challenge = Arc::new(challenge);
        self
    }

    /// Sets the whole challenge (realm, `resource_metadata`, …).
    pub fn with_challenge(mut self, challenge: Challenge) -> Self {
        self.challenge = Arc::new(challenge);
        self
    }

    /// The underlying refusal (code, message, missing scopes...).
    pub fn auth_error(&self) -> &AuthError {
        &self.error
    }

    /// The underlying refusal, by value.
    pub fn into_auth_error(self) -> AuthError {
        self.error
    }

    /// The realm used in the challenge.
    pub fn realm(&self) -> Option<&str> {
        self.challenge.realm()
    }
}

impl From<AuthError> for BearerError {
    fn from(error: AuthError) -> Self {
        BearerError::new(error)
    }
}

impl fmt::Debug for BearerError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("BearerError")
            .field("error", &self.error)
            .field("challenge", &self.challenge)
            .field("custom_handler", &self.handler.is_some())
            .finish()
    }
}

impl fmt::Display for BearerError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(&self.error, f)
    }
}

impl std::error::Error for BearerError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        Some(&self.error)
    }
}

impl ResponseError for BearerError {
    fn status_code(&self) -> StatusCode {
        StatusCode::from_u16(self.error.status().as_u16())
            .unwrap_or(StatusCode::INTERNAL_SERVER_ERROR)
    }

    fn error_response(&self) -> HttpResponse {
        match &self.handler {
            Some(handler) => handler(&self.error, &self.challenge),
            None => error_response_with(&self.error, &self.challenge),
        }
    }
}
