//! The error model: stable codes, HTTP statuses, messages and the RFC 6750 challenge.

use std::borrow::Cow;
use std::error::Error as StdError;
use std::fmt;
use std::sync::Arc;
use std::time::Duration;

use http::{HeaderValue, StatusCode};

use crate::challenge::Challenge;
use crate::request::Scheme;

/// A stable, machine-readable reason for refusing a request.
///
/// The string form ([`ErrorCode::as_str`]) is part of the public contract: it appears
/// in JSON error bodies and CLI output and never changes between releases.
///
/// ```
/// use verifier_core::ErrorCode;
/// assert_eq!(ErrorCode::TokenExpired.as_str(), "token_expired");
/// assert_eq!(ErrorCode::InsufficientScope.status().as_u16(), 403);
/// assert_eq!(ErrorCode::JwksFetchFailed.status().as_u16(), 503);
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum ErrorCode {
    /// No bearer token was presented (401).
    MissingToken,
    /// The token is not a well-formed compact JWS, or is too large (401).
    MalformedToken,
    /// The header carries `jku`, `x5u` or `crit` (401).
    ForbiddenHeader,
    /// The header `alg` is `none`, not allowed, or does not fit the key (401).
    DisallowedAlg,
    /// The header has no usable `kid` (401).
    MissingKid,
    /// No key with the token's `kid` is published (401).
    KeyNotFound,
    /// The signature does not verify (401).
    InvalidSignature,
    /// `exp` has passed (401).
    TokenExpired,
    /// `nbf` or `iat` lies in the future (401).
    TokenNotYetValid,
    /// `iss` is not the configured issuer (401).
    InvalidIssuer,
    /// `aud` names none of the configured audiences (401).
    InvalidAudience,
    /// A required claim is absent (401).
    MissingClaim,
    /// The token is otherwise unacceptable (401).
    InvalidToken,
    /// The token lacks required scopes (403).
    InsufficientScope,
    /// The token lacks required permissions (403).
    InsufficientPermissions,
    /// The key set could not be fetched (503).
    JwksFetchFailed,
    /// The key set was fetched but is unusable (503).
    JwksError,
    /// The request carries more than one credential, e.g. two `Authorization` fields
    /// (400; RFC 6750 §3.1 `invalid_request`).
    InvalidRequest,
    /// The issuer's metadata (OpenID Connect Discovery / RFC 8414) could not be fetched:
    /// transport, timeout, non-2xx, redirect, or no document at any probed URL (503).
    DiscoveryFailed,
    /// The issuer's metadata was fetched but is unusable: not a JSON object, duplicate
    /// members, too large, an `issuer` other than the configured one, or a missing,
    /// invalid or insecure `jwks_uri` (503).
    DiscoveryError,
    /// The header `typ` is not accepted by the access-token profile: an explicitly typed
    /// non-access JWT (`dpop+jwt`, `logout+jwt`, `secevent+jwt`), or anything but
    /// `at+jwt` under the RFC 9068 profile (401).
    InvalidTokenType,
    /// The DPoP proof is missing, malformed, badly signed, stale, or does not match the
    /// request or the access token (401; RFC 9449).
    InvalidDpopProof,
    /// The DPoP proof was already used (401).
    DpopProofReplayed,
    /// The DPoP proof lacks a current server nonce; the response carries one in
    /// `DPoP-Nonce` (401; RFC 9449 §9).
    UseDpopNonce,
    /// The token's `cnf.jkt` does not name the DPoP proof's key, or the token is not
    /// bound at all (401).
    DpopBindingMismatch,
    /// A DPoP-bound token was presented as a Bearer token (401; RFC 9449 §7.2).
    DpopBoundToken,
    /// The DPoP replay cache is full of live entries, or the shared replay store failed
    /// (503).
    DpopReplayCacheFull,
}

impl ErrorCode {
    /// Every code, in the order of the table in docs/errors.md (a slice, so that adding
    /// a code is not a breaking change).
    pub const ALL: &'static [ErrorCode] = &[
        ErrorCode::MissingToken,
        ErrorCode::MalformedToken,
        ErrorCode::ForbiddenHeader,
        ErrorCode::DisallowedAlg,
        ErrorCode::MissingKid,
        ErrorCode::KeyNotFound,
        ErrorCode::InvalidSignature,
        ErrorCode::TokenExpired,
        ErrorCode::TokenNotYetValid,
        ErrorCode::InvalidIssuer,
        ErrorCode::InvalidAudience,
        ErrorCode::MissingClaim,
        ErrorCode::InvalidToken,
        ErrorCode::InsufficientScope,
        ErrorCode::InsufficientPermissions,
        ErrorCode::JwksFetchFailed,
        ErrorCode::JwksError,
        ErrorCode::InvalidRequest,
        ErrorCode::DiscoveryFailed,
        ErrorCode::DiscoveryError,
        ErrorCode::InvalidTokenType,
        ErrorCode::InvalidDpopProof,
        ErrorCode::DpopProofReplayed,
        ErrorCode::UseDpopNonce,
        ErrorCode::DpopBindingMismatch,
        ErrorCode::DpopBoundToken,
        ErrorCode::DpopReplayCacheFull,
    ];

    /// The stable snake_case name, e.g. `"invalid_signature"`.
    pub const fn as_str(self) -> &'static str {
        match self {
            ErrorCode::MissingToken => "missing_token",
            ErrorCode::MalformedToken => "malformed_token",
            ErrorCode::ForbiddenHeader => "forbidden_header",
            ErrorCode::DisallowedAlg => "disallowed_alg",
            ErrorCode::MissingKid => "missing_kid",
            ErrorCode::KeyNotFound => "key_not_found",
            ErrorCode::InvalidSignature => "invalid_signature",
            ErrorCode::TokenExpired => "token_expired",
            ErrorCode::TokenNotYetValid => "token_not_yet_valid",
            ErrorCode::InvalidIssuer => "invalid_issuer",
            ErrorCode::InvalidAudience => "invalid_audience",
            ErrorCode::MissingClaim => "missing_claim",
            ErrorCode::InvalidToken => "invalid_token",
            ErrorCode::InsufficientScope => "insufficient_scope",
            ErrorCode::InsufficientPermissions => "insufficient_permissions",
            ErrorCode::JwksFetchFailed => "jwks_fetch_failed",
            ErrorCode::JwksError => "jwks_error",
            ErrorCode::InvalidRequest => "invalid_request",
            ErrorCode::DiscoveryFailed => "discovery_failed",
            ErrorCode::DiscoveryError => "discovery_error",
            ErrorCode::InvalidTokenType => "invalid_token_type",
            ErrorCode::InvalidDpopProof => "invalid_dpop_proof",
            ErrorCode::DpopProofReplayed => "dpop_proof_replayed",
            ErrorCode::UseDpopNonce => "use_dpop_nonce",
            ErrorCode::DpopBindingMismatch => "dpop_binding_mismatch",
            ErrorCode::DpopBoundToken => "dpop_bound_token",
            ErrorCode::DpopReplayCacheFull => "dpop_replay_cache_full",
        }
    }

    /// The HTTP status: 401, 403 for missing scopes or permissions, 503 for key-set and
    /// metadata failures, 400 for a malformed request (more than one credential).
    pub const fn status(self) -> StatusCode {
        match self {
            ErrorCode::InvalidRequest => StatusCode::BAD_REQUEST,
            ErrorCode::InsufficientScope | ErrorCode::InsufficientPermissions => {
                StatusCode::FORBIDDEN
            }
            ErrorCode::JwksFetchFailed
            | ErrorCode::JwksError
            | ErrorCode::DiscoveryFailed
            | ErrorCode::DiscoveryError
            | ErrorCode::DpopReplayCacheFull => StatusCode::SERVICE_UNAVAILABLE,
            _ => StatusCode::UNAUTHORIZED,
        }
    }

    /// The default human-readable message.
    pub const fn default_message(self) -> &'static str {
        match self {
            ErrorCode::MissingToken => "Missing access token",
            ErrorCode::MalformedToken => "Malformed token",
            ErrorCode::ForbiddenHeader => "Forbidden token header parameter",
            ErrorCode::DisallowedAlg => "Disallowed signing algorithm",
            ErrorCode::MissingKid => "Missing kid header",
            ErrorCode::KeyNotFound => "No matching signing key",
            ErrorCode::InvalidSignature => "Invalid token signature",
            ErrorCode::TokenExpired => "Token is expired",
            ErrorCode::TokenNotYetValid => "Token is not valid yet",
            ErrorCode::InvalidIssuer => "Invalid issuer",
            ErrorCode::InvalidAudience => "Invalid audience",
            ErrorCode::MissingClaim => "Token is missing a required claim",
            ErrorCode::InvalidToken => "Invalid token",
            ErrorCode::InsufficientScope => "Insufficient scope",
            ErrorCode::InsufficientPermissions => "Insufficient permissions",
            ErrorCode::JwksFetchFailed => "JWKS fetch failed",
            ErrorCode::JwksError => "JWKS lookup failed",
            ErrorCode::InvalidRequest => "Multiple credentials",
            ErrorCode::DiscoveryFailed => "Authorization server metadata fetch failed",
            ErrorCode::DiscoveryError => "Authorization server metadata is unusable",
            ErrorCode::InvalidTokenType => "Invalid token type",
            ErrorCode::InvalidDpopProof => "Invalid DPoP proof",
            ErrorCode::DpopProofReplayed => "DPoP proof replayed",
            ErrorCode::UseDpopNonce => "Resource server requires nonce in DPoP proof",
            ErrorCode::DpopBindingMismatch => "Invalid DPoP key binding",
            ErrorCode::DpopBoundToken => "DPoP-bound token requires the DPoP scheme",
            ErrorCode::DpopReplayCacheFull => "DPoP replay cache full",
        }
    }

    /// The `error` parameter of this code's challenge (RFC 6750 §3, RFC 9449 §7.1), or
    /// `None` when the challenge carries none: `missing_token` (RFC 6750 §3.1) and the
    /// 503 codes (no challenge at all).
    ///
    /// `invalid_dpop_proof` and `dpop_proof_replayed` → `invalid_dpop_proof`;
    /// `use_dpop_nonce` → `use_dpop_nonce`; `invalid_request` → `invalid_request`; every
    /// other 401 → `invalid_token`; 403 → `insufficient_scope`.
    ///
    /// ```
    /// use verifier_core::ErrorCode;
    /// assert_eq!(ErrorCode::TokenExpired.challenge_error(), Some("invalid_token"));
    /// assert_eq!(ErrorCode::InsufficientPermissions.challenge_error(), Some("insufficient_scope"));
    /// assert_eq!(ErrorCode::DpopProofReplayed.challenge_error(), Some("invalid_dpop_proof"));
    /// assert_eq!(ErrorCode::MissingToken.challenge_error(), None);
    /// assert_eq!(ErrorCode::JwksFetchFailed.challenge_error(), None);
    /// ```
    pub const fn challenge_error(self) -> Option<&'static str> {
        match self {
            ErrorCode::MissingToken => None,
            ErrorCode::InvalidDpopProof | ErrorCode::DpopProofReplayed => {
                Some("invalid_dpop_proof")
            }
            ErrorCode::UseDpopNonce => Some("use_dpop_nonce"),
            code => match code.status() {
                StatusCode::UNAUTHORIZED => Some("invalid_token"),
                StatusCode::FORBIDDEN => Some("insufficient_scope"),
                StatusCode::BAD_REQUEST => Some("invalid_request"),
                _ => None,
            },
        }
    }

    /// Parses the stable name back into a code.
    pub fn from_name(name: &str) -> Option<ErrorCode> {
        ErrorCode::ALL.iter().copied().find(|c| c.as_str() == name)
    }
}

impl fmt::Display for ErrorCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

type Source = Arc<dyn StdError + Send + Sync + 'static>;

/// Why a token (or the key set behind it) was refused.
///
/// Cheap to clone. The [`message`](AuthError::message) is safe to show to clients: it
/// never contains the token, key material, a URL or an inner error. Operators find the
/// underlying cause through [`std::error::Error::source`].
///
/// ```
/// use verifier_core::{AuthError, ErrorCode};
/// let err = AuthError::new(ErrorCode::TokenExpired);
/// assert_eq!(err.status().as_u16(), 401);
/// assert_eq!(err.message(), "Token is expired");
/// assert_eq!(
///     err.www_authenticate(Some("api")).unwrap(),
///     r#"Bearer realm="api", error="invalid_token", error_description="Token is expired""#
/// );
/// ```
#[derive(Clone)]
pub struct AuthError {
    code: ErrorCode,
    message: Cow<'static, str>,
    required_scopes: Vec<String>,
    required_permissions: Vec<String>,
    retry_after: Option<Duration>,
    /// Boxed: rare, and it keeps `AuthError` small (it is the `Err` of every step).
    dpop_nonce: Option<Box<HeaderValue>>,
    source: Option<Source>,
    scheme: Option<Scheme>,
}

impl AuthError {
    /// An error with the code's default message.
    pub fn new(code: ErrorCode) -> Self {
        AuthError {
            code,
            message: Cow::Borrowed(code.default_message()),
            required_scopes: Vec::new(),
            required_permissions: Vec::new(),
            retry_after: None,
            dpop_nonce: None,
            source: None,
            scheme: None,
        }
    }

    /// Replaces the message (keep it free of secrets: it is shown to clients).
    pub fn with_message(mut self, message: impl Into<Cow<'static, str>>) -> Self {
        self.message = message.into();
        self
    }

    /// Attaches the underlying cause, reachable through [`std::error::Error::source`].
    pub fn with_source(mut self, source: impl StdError + Send + Sync + 'static) -> Self {
        self.source = Some(Arc::new(source));
        self
    }

    /// Sets the scopes the challenge advertises (stored sorted and de-duplicated).
    pub fn with_required_scopes<I, S>(mut self, scopes: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        self.required_scopes = sorted(scopes);
        self
    }

    /// Sets the permissions the challenge advertises (stored sorted and de-duplicated).
    pub fn with_required_permissions<I, S>(mut self, permissions: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        self.required_permissions = sorted(permissions);
        self
    }

    /// `missing_claim` for the named claim: `Token is missing the "exp" claim`.
    pub fn missing_claim(name: &str) -> Self {
        AuthError::new(ErrorCode::MissingClaim)
            .with_message(format!("Token is missing the \"{name}\" claim"))
    }

    /// Suggests when to retry (503 errors: the lifecycle's next refresh attempt).
    pub fn with_retry_after(mut self, after: Duration) -> Self {
        self.retry_after = Some(after);
        self
    }

    /// Records the scheme the client used, so the error lands on that scheme's
    /// challenge ([`Challenge::headers`](crate::Challenge::headers)).
    pub fn with_scheme(mut self, scheme: Scheme) -> Self {
        self.scheme = Some(scheme);
        self
    }

    /// The scheme the client used, when known.
    pub fn scheme(&self) -> Option<Scheme> {
        self.scheme
    }

    /// When a retry may succeed, for 503 errors whose lifecycle knows it.
    pub fn retry_after(&self) -> Option<Duration> {
        self.retry_after
    }

    /// Attaches the nonce the client must put in its next DPoP proof, sent back in a
    /// `DPoP-Nonce` response header (RFC 9449 §8, §9; `use_dpop_nonce` errors).
    pub fn with_dpop_nonce(mut self, nonce: HeaderValue) -> Self {
        self.dpop_nonce = Some(Box::new(nonce));
        self
    }

    /// The `DPoP-Nonce` value to send with this error's response, if any.
    pub fn dpop_nonce(&self) -> Option<&HeaderValue> {
        self.dpop_nonce.as_deref()
    }

    /// The stable code.
    pub fn code(&self) -> ErrorCode {
        self.code
    }

    /// The client-safe message.
    pub fn message(&self) -> &str {
        &self.message
    }

    /// The HTTP status for this error (401, 403, 503, or 400 for `invalid_request`).
    pub fn status(&self) -> StatusCode {
        self.code.status()
    }

    /// For `insufficient_scope`: the missing scopes, sorted.
    pub fn required_scopes(&self) -> &[String] {
        &self.required_scopes
    }

    /// For `insufficient_permissions`: the missing permissions, sorted.
    pub fn required_permissions(&self) -> &[String] {
        &self.required_permissions
    }

    /// The `WWW-Authenticate` value (RFC 6750 §3) for 400, 401 and 403 errors, `None` for 503.
    ///
    /// Parameters come in this order: `realm` (when given), `error`
    /// (`insufficient_scope` for 403, `invalid_token` for 401, `invalid_request` for
    /// 400), `error_description`, `scope`, `permissions`. A `missing_token` error yields
    /// no `error` and no `error_description` (RFC 6750 §3.1): `Bearer realm="api"` or
    /// `Bearer`.
    ///
    /// ```
    /// use verifier_core::{AuthError, ErrorCode};
    /// let missing = AuthError::new(ErrorCode::MissingToken);
    /// assert_eq!(missing.www_authenticate(Some("api")).unwrap(), r#"Bearer realm="api""#);
    /// assert_eq!(missing.www_authenticate(None).unwrap(), "Bearer");
    /// let scope = AuthError::new(ErrorCode::InsufficientScope).with_required_scopes(["write", "admin"]);
    /// assert_eq!(
    ///     scope.www_authenticate(None).unwrap(),
    ///     r#"Bearer error="insufficient_scope", error_description="Insufficient scope", scope="admin write""#
    /// );
    /// assert!(AuthError::new(ErrorCode::JwksError).www_authenticate(Some("api")).is_none());
    /// assert_eq!(
    ///     AuthError::new(ErrorCode::InvalidRequest).www_authenticate(Some("api")).unwrap(),
    ///     r#"Bearer realm="api", error="invalid_request", error_description="Multiple credentials""#
    /// );
    /// ```
    ///
    /// The same as [`Challenge::bearer`](crate::Challenge::bearer)`(realm).header(self)`:
    /// a Bearer challenge only, whatever [`scheme`](Self::scheme) says.
    pub fn www_authenticate(&self, realm: Option<&str>) -> Option<HeaderValue> {
        Challenge::bearer(realm).header(self)
    }
}

/// Quotes a challenge parameter value (RFC 6750 §3, RFC 7230 quoted-string): CR, LF and
/// other control characters are removed, `\` and `"` are escaped.
///
/// ```
/// assert_eq!(verifier_core::quote(r#"a "b" \c"#), r#""a \"b\" \\c""#);
/// assert_eq!(verifier_core::quote("Line1\r\nLine2"), r#""Line1Line2""#);
/// ```
pub fn quote(value: &str) -> String {
    let mut out = String::with_capacity(value.len() + 2);
    out.push('"');
    for c in value.chars() {
        match c {
            '\\' | '"' => {
                out.push('\\');
                out.push(c);
            }
            '\t' => out.push(c),
            c if c.is_control() => {}
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

fn sorted<I, S>(items: I) -> Vec<String>
where
    I: IntoIterator<Item = S>,
    S: Into<String>,
{
    let mut v: Vec<String> = items.into_iter().map(Into::into).collect();
    v.sort_unstable();
    v.dedup();
    v
}

impl fmt::Debug for AuthError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut d = f.debug_struct("AuthError");
        d.field("code", &self.code).field("message", &self.message);
        if !self.required_scopes.is_empty() {
            d.field("required_scopes", &self.required_scopes);
        }
        if !self.required_permissions.is_empty() {
            d.field("required_permissions", &self.required_permissions);
        }
        if let Some(source) = &self.source {
            d.field("source", source);
        }
        d.finish()
    }
}

impl fmt::Display for AuthError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)
    }
}

impl StdError for AuthError {
    fn source(&self) -> Option<&(dyn StdError + 'static)> {
        self.source
            .as_deref()
            .map(|e| e as &(dyn StdError + 'static))
    }
}

impl From<ErrorCode> for AuthError {
    fn from(code: ErrorCode) -> Self {
        AuthError::new(code)
    }
}

impl PartialEq<ErrorCode> for AuthError {
    fn eq(&self, other: &ErrorCode) -> bool {
        self.code == *other
    }
}

/// A configuration value broke a rule; names the field (or environment variable).
///
/// Its `Display` is one sentence, `invalid configuration: {field} {reason}`; [`field`]
/// and [`reason`] give the two parts.
///
/// ```
/// use verifier_core::AuthConfig;
/// let err = AuthConfig::builder().issuer(" ").audience("a").jwks_url("https://x/").build().unwrap_err();
/// assert_eq!(err.field(), "issuer");
/// assert_eq!(err.reason(), "must be non-empty");
/// assert_eq!(err.to_string(), "invalid configuration: issuer must be non-empty");
/// ```
///
/// [`field`]: ConfigError::field
/// [`reason`]: ConfigError::reason
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("invalid configuration: {field} {reason}")]
pub struct ConfigError {
    field: Cow<'static, str>,
    reason: String,
}

impl ConfigError {
    pub(crate) fn new(field: impl Into<Cow<'static, str>>, reason: impl Into<String>) -> Self {
        ConfigError {
            field: field.into(),
            reason: reason.into(),
        }
    }

    /// The field (`"jwks_cache_ttl"`) or environment variable (`"OIDC_JWKS_CACHE_TTL_S"`).
    pub fn field(&self) -> &str {
        &self.field
    }

    /// What is wrong with it, as the rest of the sentence (`"must be non-empty"`).
    pub fn reason(&self) -> &str {
        &self.reason
    }

    pub(crate) fn renamed(mut self, field: impl Into<Cow<'static, str>>) -> Self {
        self.field = field.into();
        self
    }
}
