//! What a refused request gets back.

use http::Response;
use verifier_core::bearer::ErrorResponse;
use verifier_core::{AuthError, Challenge};

/// Builds the response for a refused request.
///
/// Implemented by [`DefaultOnFailure`] and by every closure
/// `Fn(&AuthError) -> http::Response<B>` (closures do not receive the realm; capture it
/// if you need it).
///
/// ```
/// use http::{Response, StatusCode};
/// use verifier_core::AuthError;
/// use verifier_tower::OnFailure;
///
/// let plain = |err: &AuthError| -> Response<String> {
///     let mut resp = Response::new(format!("denied: {}", err.code()));
///     *resp.status_mut() = err.status();
///     resp
/// };
/// let resp = plain.on_failure(&AuthError::new(verifier_core::ErrorCode::TokenExpired), None);
/// assert_eq!(resp.status(), StatusCode::UNAUTHORIZED);
/// assert_eq!(resp.body(), "denied: token_expired");
/// ```
pub trait OnFailure<B> {
    /// The response for `error`; `realm` is the layer's configured realm.
    fn on_failure(&self, error: &AuthError, realm: Option<&str>) -> Response<B>;

    /// The response for `error` with the layer's whole [`Challenge`] (realm,
    /// `resource_metadata`, schemes). What the layer calls; by default
    /// [`on_failure`](Self::on_failure) with the challenge's realm.
    fn on_failure_with(&self, error: &AuthError, challenge: &Challenge) -> Response<B> {
        self.on_failure(error, challenge.realm())
    }
}

/// The default failure response: [`ErrorResponse`] (status 400/401/403/503,
/// `WWW-Authenticate` per RFC 6750 for 400/401/403, `Retry-After` for 503, JSON body
/// `{"code","detail"}`).
///
/// Works for every response body type `B: From<String>` (`String`, `axum::body::Body`,
/// `http_body_util::Full<Bytes>`, ...).
///
/// ```
/// use verifier_core::{AuthError, ErrorCode};
/// use verifier_tower::{DefaultOnFailure, OnFailure};
///
/// let resp: http::Response<String> =
///     DefaultOnFailure.on_failure(&AuthError::new(ErrorCode::MissingToken), Some("api"));
/// assert_eq!(resp.status(), 401);
/// assert_eq!(resp.headers()["www-authenticate"], r#"Bearer realm="api""#);
/// ```
#[derive(Clone, Copy, Debug, Default)]
pub struct DefaultOnFailure;

impl<B: From<String>> OnFailure<B> for DefaultOnFailure {
    fn on_failure(&self, error: &AuthError, realm: Option<&str>) -> Response<B> {
        ErrorResponse::new(error, realm).into_response()
    }

    fn on_failure_with(&self, error: &AuthError, challenge: &Challenge) -> Response<B> {
        ErrorResponse::with_challenge(error, challenge).into_response()
    }
}

impl<B, F> OnFailure<B> for F
where
    F: Fn(&AuthError) -> Response<B>,
{
    fn on_failure(&self, error: &AuthError, _realm: Option<&str>) -> Response<B> {
        self(error)
    }
}
