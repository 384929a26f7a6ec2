//! `Authorization: Bearer` parsing and the framework-neutral failure response, so the
//! framework crates only translate types.

use std::time::Duration;

use http::header::{
    HeaderMap, HeaderName, HeaderValue, AUTHORIZATION, CONTENT_TYPE, RETRY_AFTER, WWW_AUTHENTICATE,
};
use http::StatusCode;

use crate::challenge::Challenge;
use crate::dpop::DpopMode;
use crate::error::{AuthError, ErrorCode};
use crate::request::Scheme;

/// Default `Retry-After` for 503 responses when the lifecycle has no better estimate.
pub const DEFAULT_RETRY_AFTER: Duration = Duration::from_secs(5);

/// The token from an `Authorization` header value: scheme `Bearer` in any case, one or
/// more spaces, then the token. Anything else is `missing_token` (RFC 6750 §3.1: a
/// request without bearer credentials gets a challenge without an error code).
///
/// ```
/// use http::HeaderValue;
/// use verifier_core::bearer::bearer_token;
/// assert_eq!(bearer_token(&HeaderValue::from_static("bearer  abc.def.ghi")).unwrap(), "abc.def.ghi");
/// assert!(bearer_token(&HeaderValue::from_static("Basic dXNlcjpwYXNz")).is_err());
/// assert!(bearer_token(&HeaderValue::from_static("Bearer")).is_err());
/// ```
pub fn bearer_token(value: &HeaderValue) -> Result<&str, AuthError> {
    let missing = || AuthError::new(ErrorCode::MissingToken);
    let value = value.to_str().map_err(|_| missing())?;
    let (scheme, rest) = value.split_once(' ').ok_or_else(missing)?;
    if !scheme.eq_ignore_ascii_case("bearer") {
        return Err(missing());
    }
    let token = rest.trim_matches(' ');
    if token.is_empty() {
        return Err(missing());
    }
    Ok(token)
}

/// The bearer token from request headers: [`bearer_from_values`] over every
/// `Authorization` field.
///
/// `Ok(None)` when there is no `Authorization` header at all, so optional-auth routes can
/// tell "no credentials" from "bad credentials"; another scheme is also `Ok(None)`. Two
/// or more `Authorization` fields are `invalid_request` (400).
pub fn bearer_from_headers(headers: &HeaderMap) -> Result<Option<&str>, AuthError> {
    bearer_from_values(headers.get_all(AUTHORIZATION))
}

/// The bearer token from all the `Authorization` field values of a request, for
/// integrations whose header map is not an `http::HeaderMap`.
///
/// - No value: `Ok(None)` (no credentials).
/// - More than one value: `invalid_request` (400), whatever the schemes. RFC 6750 §3.1
///   forbids more than one credential, and a proxy that reads another field than we do
///   would disagree about who the caller is. One field holding a comma-joined list is
///   one value, parsed as below (its token is then refused as malformed).
/// - One value: [`bearer_token`]; another scheme (`Basic ...`) is `Ok(None)`, `Bearer`
///   without a token `missing_token`.
///
/// ```
/// use http::HeaderValue;
/// use verifier_core::{bearer::bearer_from_values, ErrorCode};
/// let one = [HeaderValue::from_static("Bearer abc")];
/// assert_eq!(bearer_from_values(&one).unwrap(), Some("abc"));
/// let two = [HeaderValue::from_static("Bearer abc"), HeaderValue::from_static("Bearer def")];
/// let err = bearer_from_values(&two).unwrap_err();
/// assert_eq!(err.code(), ErrorCode::InvalidRequest);
/// assert_eq!(err.status().as_u16(), 400);
/// assert_eq!(bearer_from_values(&[]).unwrap(), None);
/// ```
pub fn bearer_from_values<'a, I>(values: I) -> Result<Option<&'a str>, AuthError>
where
    I: IntoIterator<Item = &'a HeaderValue>,
{
    let mut values = values.into_iter();
    let Some(value) = values.next() else {
        return Ok(None);
    };
    if values.next().is_some() {
        return Err(AuthError::new(ErrorCode::InvalidRequest));
    }
    match bearer_token(value) {
        Ok(token) => Ok(Some(token)),
        Err(_) if !is_bearer_scheme(value) => Ok(None),
        Err(err) => Err(err),
    }
}

/// The credentials of a request under a DPoP mode (SPEC-2 §0.2, §5.6): the scheme the
/// client used and its token.
///
/// - No `Authorization` field, or a scheme not accepted in `mode` (`Basic`; `DPoP` when
///   the mode is `off`; `Bearer` when it is `required`): `Ok(None)`.
/// - More than one field: `invalid_request` (400).
/// - An accepted scheme without a token: `missing_token`.
///
/// Scheme names are matched case-insensitively as a whole token, like `Bearer` today.
///
/// ```
/// use http::{header::AUTHORIZATION, HeaderMap, HeaderValue};
/// use verifier_core::bearer::credentials_from_headers;
/// use verifier_core::dpop::DpopMode;
/// use verifier_core::Scheme;
/// let mut headers = HeaderMap::new();
/// headers.insert(AUTHORIZATION, HeaderValue::from_static("DPoP abc"));
/// assert_eq!(credentials_from_headers(&headers, DpopMode::Off).unwrap(), None);
/// assert_eq!(
///     credentials_from_headers(&headers, DpopMode::Allowed).unwrap(),
///     Some((Scheme::Dpop, "abc"))
/// );
/// ```
pub fn credentials_from_headers(
    headers: &HeaderMap,
    mode: DpopMode,
) -> Result<Option<(Scheme, &str)>, AuthError> {
    let mut values = headers.get_all(AUTHORIZATION).into_iter();
    let Some(value) = values.next() else {
        return Ok(None);
    };
    if values.next().is_some() {
        return Err(AuthError::new(ErrorCode::InvalidRequest));
    }
    let scheme = if is_scheme(value, b"bearer") {
        Scheme::Bearer
    } else if is_scheme(value, b"dpop") {
        Scheme::Dpop
    } else {
        return Ok(None);
    };
    let accepted = match scheme {
        Scheme::Bearer => mode != DpopMode::Required,
        Scheme::Dpop => mode != DpopMode::Off,
    };
    if !accepted {
        return Ok(None);
    }
    let missing = || AuthError::new(ErrorCode::MissingToken);
    let text = value.to_str().map_err(|_| missing())?;
    let (_, rest) = text.split_once(' ').ok_or_else(missing)?;
    let token = rest.trim_matches(' ');
    if token.is_empty() {
        return Err(missing());
    }
    Ok(Some((scheme, token)))
}

/// The token in the cookie `name` (RFC 6265 `Cookie` header; HTTP/2 may split it into
/// several fields, all are read), for a verifier configured with
/// [`token_cookie`](crate::ResourceConfigBuilder::token_cookie).
///
/// - No cookie of that name, or an empty one (a cleared cookie): `Ok(None)`.
/// - The name twice (two cookies of different paths or domains): `invalid_request`
///   (400): which one is the caller's is ambiguous.
/// - A value in double quotes is unquoted; bytes that are not UTF-8 are
///   `malformed_token`.
///
/// ```
/// use http::{header::COOKIE, HeaderMap, HeaderValue};
/// use verifier_core::bearer::token_from_cookies;
/// let mut headers = HeaderMap::new();
/// headers.insert(COOKIE, HeaderValue::from_static("theme=dark; access_token=abc.def.ghi"));
/// assert_eq!(token_from_cookies(&headers, "access_token").unwrap(), Some("abc.def.ghi"));
/// assert_eq!(token_from_cookies(&headers, "session").unwrap(), None);
/// headers.append(COOKIE, HeaderValue::from_static("access_token=other"));
/// assert_eq!(token_from_cookies(&headers, "access_token").unwrap_err().code().as_str(), "invalid_request");
/// ```
pub fn token_from_cookies<'h>(
    headers: &'h HeaderMap,
    name: &str,
) -> Result<Option<&'h str>, AuthError> {
    let mut found: Option<&[u8]> = None;
    for field in headers.get_all(http::header::COOKIE) {
        for pair in field.as_bytes().split(|&b| b == b';') {
            let pair = pair.trim_ascii();
            let Some(eq) = pair.iter().position(|&b| b == b'=') else {
                continue;
            };
            if &pair[..eq] != name.as_bytes() {
                continue;
            }
            if found.is_some() {
                return Err(AuthError::new(ErrorCode::InvalidRequest));
            }
            let value = pair[eq + 1..].trim_ascii();
            let value = match value {
                [b'"', inner @ .., b'"'] => inner,
                other => other,
            };
            found = Some(value);
        }
    }
    match found {
        None | Some([]) => Ok(None),
        Some(value) => std::str::from_utf8(value)
            .map(Some)
            .map_err(|_| AuthError::new(ErrorCode::MalformedToken)),
    }
}

/// Whether the credentials use the `Bearer` scheme: the whole scheme token (RFC 7235
/// `token`), not merely a prefix, so `Bearerx abc` is another scheme.
fn is_bearer_scheme(value: &HeaderValue) -> bool {
    is_scheme(value, b"bearer")
}

/// Whether the credentials use the scheme `name` (lower case): the whole scheme token.
fn is_scheme(value: &HeaderValue, name: &[u8]) -> bool {
    const TCHAR: &[u8] = b"!#$%&'*+-.^_`|~";
    let b = value.as_bytes();
    let n = name.len();
    b.len() >= n
        && b[..n].eq_ignore_ascii_case(name)
        && b.get(n)
            .is_none_or(|c| !(c.is_ascii_alphanumeric() || TCHAR.contains(c)))
}

/// The response parts for a refused request: status, headers and JSON body.
///
/// 400/401/403 carry `WWW-Authenticate` (RFC 6750); 503 carries `Retry-After` instead. The
/// body is `{"code": "...", "detail": "..."}` as `application/json`.
///
/// ```
/// use verifier_core::{bearer::ErrorResponse, AuthError, ErrorCode};
/// let resp = ErrorResponse::new(&AuthError::new(ErrorCode::MissingToken), Some("api"));
/// assert_eq!(resp.status.as_u16(), 401);
/// assert_eq!(resp.headers[0].1, r#"Bearer realm="api""#);
/// assert_eq!(resp.body, r#"{"code":"missing_token","detail":"Missing access token"}"#);
/// ```
#[derive(Clone, Debug)]
#[non_exhaustive]
pub struct ErrorResponse {
    /// 401, 403, 503, or 400 (`invalid_request`).
    pub status: StatusCode,
    /// `WWW-Authenticate` (one field per challenge) or `Retry-After`, then `DPoP-Nonce`
    /// when the error carries one, then `Content-Type`.
    pub headers: Vec<(HeaderName, HeaderValue)>,
    /// The JSON body.
    pub body: String,
}

impl ErrorResponse {
    /// Builds the response for `err`, with `realm` in the challenge when given: the same
    /// as [`with_challenge`](Self::with_challenge) with [`Challenge::bearer`]`(realm)`.
    pub fn new(err: &AuthError, realm: Option<&str>) -> Self {
        Self::with_challenge(err, &Challenge::bearer(realm))
    }

    /// Builds the response for `err` with `challenge`'s parameters (realm,
    /// `resource_metadata`, scope hint, DPoP): one `WWW-Authenticate` field per value of
    /// [`Challenge::headers`].
    ///
    /// ```
    /// use verifier_core::{bearer::ErrorResponse, AuthError, Challenge, ErrorCode};
    /// let challenge = Challenge::bearer(Some("api"))
    ///     .with_resource_metadata("https://api.example/.well-known/oauth-protected-resource");
    /// let resp = ErrorResponse::with_challenge(&AuthError::new(ErrorCode::MissingToken), &challenge);
    /// assert_eq!(
    ///     resp.headers[0].1,
    ///     r#"Bearer realm="api", resource_metadata="https://api.example/.well-known/oauth-protected-resource""#
    /// );
    /// ```
    pub fn with_challenge(err: &AuthError, challenge: &Challenge) -> Self {
        let values = challenge.headers(err);
        let mut headers = Vec::with_capacity(values.len() + 2);
        if !values.is_empty() {
            headers.extend(values.into_iter().map(|v| (WWW_AUTHENTICATE, v)));
        } else if err.status() == StatusCode::SERVICE_UNAVAILABLE {
            let after = err.retry_after().unwrap_or(DEFAULT_RETRY_AFTER);
            let secs = after.as_secs() + u64::from(after.subsec_nanos() > 0);
            headers.push((RETRY_AFTER, HeaderValue::from(secs.max(1))));
        }
        if let Some(nonce) = err.dpop_nonce() {
            headers.push((crate::dpop::DPOP_NONCE, nonce.clone()));
        }
        headers.push((CONTENT_TYPE, HeaderValue::from_static("application/json")));
        let body =
            serde_json::json!({"code": err.code().as_str(), "detail": err.message()}).to_string();
        ErrorResponse {
            status: err.status(),
            headers,
            body,
        }
    }

    /// As an `http::Response` with any body type built from a `String`.
    pub fn into_response<B: From<String>>(self) -> http::Response<B> {
        let mut response = http::Response::new(B::from(self.body));
        *response.status_mut() = self.status;
        response.headers_mut().extend(self.headers);
        response
    }
}
