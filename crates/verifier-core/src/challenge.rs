//! [`Challenge`]: the one place `WWW-Authenticate` values are written (SPEC-2 §0.3).

use std::fmt;
use std::sync::Arc;

use http::{HeaderValue, StatusCode};

use crate::alg::Algorithm;
use crate::error::{quote, AuthError, ErrorCode};
use crate::request::Scheme;

/// What an API advertises in its `WWW-Authenticate` challenges: the realm, the RFC 9728
/// `resource_metadata` URL, scope hints for requests without credentials, and the
/// schemes offered (Bearer, and DPoP with its `algs`).
///
/// Built once per layer or extractor state; every value is quoted at construction, so
/// answering a refused request formats no configuration. Cheap to clone.
///
/// Parameters come in this order, for every scheme: `realm`, `error`,
/// `error_description`, `scope`, `permissions`, `algs` (DPoP only), `resource_metadata`.
/// A [`bearer`](Self::bearer) challenge with nothing else configured gives exactly the
/// bytes of [`AuthError::www_authenticate`].
///
/// ```
/// use verifier_core::{AuthError, Challenge, ErrorCode};
///
/// let challenge = Challenge::bearer(Some("api"))
///     .with_resource_metadata("https://api.example.com/.well-known/oauth-protected-resource/mcp");
/// let headers = challenge.headers(&AuthError::new(ErrorCode::TokenExpired));
/// assert_eq!(
///     headers[0],
///     "Bearer realm=\"api\", error=\"invalid_token\", error_description=\"Token is expired\", \
///      resource_metadata=\"https://api.example.com/.well-known/oauth-protected-resource/mcp\""
/// );
/// // 503: no challenge at all.
/// assert!(challenge.headers(&AuthError::new(ErrorCode::JwksFetchFailed)).is_empty());
/// ```
#[derive(Clone, Default, PartialEq, Eq)]
pub struct Challenge {
    realm: Option<Quoted>,
    resource_metadata: Option<Quoted>,
    scope_hint: Option<Quoted>,
    dpop: Option<DpopOffer>,
}

/// A configured value and its quoted-string form.
#[derive(Clone, PartialEq, Eq)]
struct Quoted {
    raw: Arc<str>,
    quoted: Arc<str>,
}

impl Quoted {
    fn new(raw: &str) -> Self {
        Quoted {
            raw: Arc::from(raw),
            quoted: Arc::from(quote(raw)),
        }
    }
}

/// The DPoP scheme, when offered.
#[derive(Clone, PartialEq, Eq)]
struct DpopOffer {
    /// DPoP only (no Bearer challenge).
    required: bool,
    /// The `algs` parameter (space-separated names), quoted.
    algs: Quoted,
}

impl Challenge {
    /// A `Bearer` challenge with `realm` when given (and nothing else).
    ///
    /// ```
    /// use verifier_core::{AuthError, Challenge, ErrorCode};
    /// let missing = AuthError::new(ErrorCode::MissingToken);
    /// assert_eq!(Challenge::bearer(Some("api")).headers(&missing)[0], r#"Bearer realm="api""#);
    /// assert_eq!(Challenge::bearer(None).headers(&missing)[0], "Bearer");
    /// ```
    pub fn bearer(realm: Option<&str>) -> Self {
        Challenge {
            realm: realm.map(Quoted::new),
            ..Challenge::default()
        }
    }

    /// The challenge of `verifier` with `realm`: `resource_metadata` when it has a
    /// resource configured, and the `DPoP` scheme with its `algs` when it accepts DPoP
    /// (only `DPoP` when DPoP is `required`). With neither, the same as
    /// [`bearer`](Self::bearer).
    ///
    /// ```
    /// use verifier_core::{AsyncJwtVerifier, AuthConfig, AuthError, Challenge, ErrorCode, ResourceConfig};
    /// let verifier = AsyncJwtVerifier::builder()
    ///     .issuer(AuthConfig::builder().issuer("https://idp.example.com").audience("https://api.example.com/mcp").build()?)
    ///     .resource(ResourceConfig::builder().resource("https://api.example.com/mcp").build()?)
    ///     .build()?;
    /// let challenge = Challenge::for_verifier(&verifier, Some("api"));
    /// assert_eq!(
    ///     challenge.headers(&AuthError::new(ErrorCode::MissingToken))[0],
    ///     r#"Bearer realm="api", resource_metadata="https://api.example.com/.well-known/oauth-protected-resource/mcp""#
    /// );
    /// # Ok::<(), verifier_core::ConfigError>(())
    /// ```
    pub fn for_verifier(verifier: &impl crate::ResourceServer, realm: Option<&str>) -> Self {
        verifier.challenge(realm)
    }

    /// This challenge for a route that requires `requirements`, on `verifier`: under the
    /// MCP preset (SPEC-2 D11, MCP 2025-11-25 step-up) a 401 without credentials also
    /// names the route's scopes (`scope="…"`), unless a scope hint is already set. `None`
    /// when nothing changes (no preset, no scopes, or a hint of your own).
    ///
    /// ```
    /// use verifier_core::{AsyncJwtVerifier, AuthConfig, AuthError, Challenge, ErrorCode, Requirements, ResourceConfig};
    /// const MCP: &str = "https://mcp.example.com/mcp";
    /// let verifier = AsyncJwtVerifier::builder()
    ///     .issuer(AuthConfig::builder().issuer("https://idp.example.com").audience(MCP).build()?)
    ///     .resource(ResourceConfig::builder().resource(MCP).mcp().build()?)
    ///     .build()?;
    /// let challenge = Challenge::for_verifier(&verifier, None);
    /// let tools = Requirements::new().scopes(["mcp:tools"]);
    /// let route = challenge.for_route(&verifier, &tools).unwrap();
    /// assert_eq!(
    ///     route.headers(&AuthError::new(ErrorCode::MissingToken))[0],
    ///     r#"Bearer scope="mcp:tools", resource_metadata="https://mcp.example.com/.well-known/oauth-protected-resource/mcp""#
    /// );
    /// assert!(challenge.for_route(&verifier, &Requirements::new()).is_none());
    /// # Ok::<(), verifier_core::ConfigError>(())
    /// ```
    pub fn for_route(
        &self,
        verifier: &impl crate::ResourceServer,
        requirements: &crate::Requirements,
    ) -> Option<Self> {
        let scopes = requirements.required_scopes();
        (verifier.mcp() && !scopes.is_empty() && self.scope_hint.is_none())
            .then(|| self.clone().with_scope_hint(scopes))
    }

    /// Replaces the realm.
    pub fn with_realm(mut self, realm: &str) -> Self {
        self.realm = Some(Quoted::new(realm));
        self
    }

    /// Adds `resource_metadata="url"` (RFC 9728 §5.1) to every challenge, last: the URL
    /// of the API's protected-resource metadata document.
    pub fn with_resource_metadata(mut self, url: &str) -> Self {
        self.resource_metadata = Some(Quoted::new(url));
        self
    }

    /// Scopes advertised with `scope="…"` when a request has no credentials (SPEC-2
    /// decision D11: the MCP step-up hint for a route with required scopes). Sorted and
    /// de-duplicated; empty entries dropped; no scopes removes the hint. A 403 always
    /// names the missing scopes, hint or not.
    ///
    /// ```
    /// use verifier_core::{AuthError, Challenge, ErrorCode};
    /// let c = Challenge::bearer(Some("api")).with_scope_hint(["mcp:tools", "mcp:read"]);
    /// assert_eq!(
    ///     c.headers(&AuthError::new(ErrorCode::MissingToken))[0],
    ///     r#"Bearer realm="api", scope="mcp:read mcp:tools""#
    /// );
    /// ```
    pub fn with_scope_hint<I, S>(mut self, scopes: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: AsRef<str>,
    {
        let mut scopes: Vec<String> = scopes
            .into_iter()
            .map(|s| s.as_ref().trim().to_owned())
            .filter(|s| !s.is_empty())
            .collect();
        scopes.sort_unstable();
        scopes.dedup();
        self.scope_hint = (!scopes.is_empty()).then(|| Quoted::new(&scopes.join(" ")));
        self
    }

    /// Offers the DPoP scheme (RFC 9449 §7.1) with these proof algorithms: next to
    /// Bearer, or alone when `required`. Each scheme is its own `WWW-Authenticate`
    /// field; the one the client used (see [`AuthError::scheme`]) comes first and
    /// carries the error, the others are offered bare.
    ///
    /// ```
    /// use verifier_core::{Algorithm, AuthError, Challenge, ErrorCode};
    /// let c = Challenge::bearer(Some("api")).with_dpop(false, &[Algorithm::ES256, Algorithm::EdDSA]);
    /// let fields = c.headers(&AuthError::new(ErrorCode::MissingToken));
    /// assert_eq!(fields[0], r#"Bearer realm="api""#);
    /// assert_eq!(fields[1], r#"DPoP realm="api", algs="ES256 EdDSA""#);
    /// ```
    pub fn with_dpop(mut self, required: bool, algs: &[Algorithm]) -> Self {
        let names: Vec<&str> = algs.iter().map(|a| a.as_str()).collect();
        self.dpop = Some(DpopOffer {
            required,
            algs: Quoted::new(&names.join(" ")),
        });
        self
    }

    /// The realm, if any.
    pub fn realm(&self) -> Option<&str> {
        self.realm.as_ref().map(|q| &*q.raw)
    }

    /// The `resource_metadata` URL, if any.
    pub fn resource_metadata(&self) -> Option<&str> {
        self.resource_metadata.as_ref().map(|q| &*q.raw)
    }

    /// The scope hint for requests without credentials (space-separated), if any.
    pub fn scope_hint(&self) -> Option<&str> {
        self.scope_hint.as_ref().map(|q| &*q.raw)
    }

    /// The schemes offered, in their default order.
    pub fn schemes(&self) -> &'static [Scheme] {
        match &self.dpop {
            None => &[Scheme::Bearer],
            Some(d) if d.required => &[Scheme::Dpop],
            Some(_) => &[Scheme::Bearer, Scheme::Dpop],
        }
    }

    /// The `WWW-Authenticate` values for `error`, one per field; empty for errors
    /// answered without a challenge (503).
    ///
    /// The scheme the client used ([`AuthError::scheme`], when offered; else the first
    /// offered) comes first with the error's parameters. On a 401 the other offered
    /// schemes follow, bare; a 400 or 403 gets that one field only. `error` is
    /// [`ErrorCode::challenge_error`], except that a Bearer challenge never carries the
    /// DPoP-only `invalid_dpop_proof` / `use_dpop_nonce` (it says `invalid_token`, as
    /// [`AuthError::www_authenticate`] always has); `missing_token` has none (RFC 6750
    /// §3.1).
    ///
    /// ```
    /// use verifier_core::{AuthError, Challenge, ErrorCode};
    /// let err = AuthError::new(ErrorCode::InsufficientScope).with_required_scopes(["admin"]);
    /// assert_eq!(
    ///     Challenge::bearer(None).headers(&err)[0],
    ///     r#"Bearer error="insufficient_scope", error_description="Insufficient scope", scope="admin""#
    /// );
    /// ```
    pub fn headers(&self, error: &AuthError) -> Vec<HeaderValue> {
        let status = error.status();
        if !has_challenge(status) {
            return Vec::new();
        }
        let offered = self.schemes();
        let used = error
            .scheme()
            .filter(|s| offered.contains(s))
            .unwrap_or(offered[0]);
        let mut out = Vec::with_capacity(offered.len());
        out.extend(self.value(used, Some(error)));
        if status == StatusCode::UNAUTHORIZED {
            for &scheme in offered.iter().filter(|&&s| s != used) {
                out.extend(self.value(scheme, None));
            }
        }
        out
    }

    /// The first (or only) `WWW-Authenticate` value for `error`; `None` for 503.
    pub fn header(&self, error: &AuthError) -> Option<HeaderValue> {
        self.headers(error).into_iter().next()
    }

    /// One challenge: the scheme and its parameters, with `error`'s when given.
    fn value(&self, scheme: Scheme, error: Option<&AuthError>) -> Option<HeaderValue> {
        let mut out = String::with_capacity(128);
        out.push_str(scheme.as_str());
        let mut first = true;
        let mut param = |name: &str, quoted: &str| {
            out.push_str(if first { " " } else { ", " });
            first = false;
            out.push_str(name);
            out.push('=');
            out.push_str(quoted);
        };
        if let Some(realm) = &self.realm {
            param("realm", &realm.quoted);
        }
        if let Some(error) = error {
            if let Some(code) = error_param(error.code(), scheme) {
                param("error", &quote(code));
                param("error_description", &quote(error.message()));
            }
            if !error.required_scopes().is_empty() {
                param("scope", &quote(&error.required_scopes().join(" ")));
            } else if error.code() == ErrorCode::MissingToken {
                if let Some(hint) = &self.scope_hint {
                    param("scope", &hint.quoted);
                }
            }
            if !error.required_permissions().is_empty() {
                param(
                    "permissions",
                    &quote(&error.required_permissions().join(" ")),
                );
            }
        }
        if let (Scheme::Dpop, Some(dpop)) = (scheme, &self.dpop) {
            param("algs", &dpop.algs.quoted);
        }
        if let Some(url) = &self.resource_metadata {
            param("resource_metadata", &url.quoted);
        }
        // `quote` removes every control character, so the value is always valid.
        HeaderValue::try_from(out).ok()
    }
}

/// The `error` parameter of `code` on a challenge of `scheme`.
fn error_param(code: ErrorCode, scheme: Scheme) -> Option<&'static str> {
    match (code.challenge_error(), scheme) {
        (Some("invalid_dpop_proof" | "use_dpop_nonce"), Scheme::Bearer) => Some("invalid_token"),
        (error, _) => error,
    }
}

/// Statuses answered with a challenge (RFC 6750 §3: 400, 401, 403).
fn has_challenge(status: StatusCode) -> bool {
    matches!(
        status,
        StatusCode::UNAUTHORIZED | StatusCode::FORBIDDEN | StatusCode::BAD_REQUEST
    )
}

impl fmt::Debug for Challenge {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Challenge")
            .field("realm", &self.realm())
            .field("resource_metadata", &self.resource_metadata())
            .field("scope_hint", &self.scope_hint())
            .field("schemes", &self.schemes())
            .finish()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const M: &str =
        r#"resource_metadata="https://api.example.com/.well-known/oauth-protected-resource/mcp""#;
    const URL: &str = "https://api.example.com/.well-known/oauth-protected-resource/mcp";

    fn texts(values: Vec<HeaderValue>) -> Vec<String> {
        values
            .into_iter()
            .map(|v| v.to_str().unwrap().to_owned())
            .collect()
    }

    /// SPEC-2 §4.6, exact.
    #[test]
    fn resource_metadata_challenges() {
        let c = Challenge::bearer(Some("api")).with_resource_metadata(URL);
        let missing = AuthError::new(ErrorCode::MissingToken);
        assert_eq!(
            texts(c.headers(&missing)),
            [format!(r#"Bearer realm="api", {M}"#)]
        );
        let expired = AuthError::new(ErrorCode::TokenExpired);
        assert_eq!(
            texts(c.headers(&expired)),
            [format!(
                r#"Bearer realm="api", error="invalid_token", error_description="Token is expired", {M}"#
            )]
        );
        let scope = AuthError::new(ErrorCode::InsufficientScope).with_required_scopes(["admin"]);
        assert_eq!(
            texts(c.headers(&scope)),
            [format!(
                r#"Bearer realm="api", error="insufficient_scope", error_description="Insufficient scope", scope="admin", {M}"#
            )]
        );
        let no_realm = Challenge::bearer(None).with_resource_metadata(URL);
        assert_eq!(texts(no_realm.headers(&missing)), [format!("Bearer {M}")]);
        for code in [ErrorCode::JwksFetchFailed, ErrorCode::DiscoveryFailed] {
            assert!(c.headers(&AuthError::new(code)).is_empty());
        }
        assert_eq!(c.resource_metadata(), Some(URL));
        assert_eq!(c.realm(), Some("api"));
    }

    /// SPEC-2 §5.10, exact (the challenge side: which fields, in which order).
    #[test]
    fn dpop_challenges() {
        let algs = [Algorithm::ES256, Algorithm::EdDSA];
        let allowed = Challenge::bearer(Some("api"))
            .with_resource_metadata(URL)
            .with_dpop(false, &algs);
        let dpop_bare = format!(r#"DPoP realm="api", algs="ES256 EdDSA", {M}"#);
        let bearer_bare = format!(r#"Bearer realm="api", {M}"#);
        let missing = AuthError::new(ErrorCode::MissingToken);
        assert_eq!(
            texts(allowed.headers(&missing)),
            [bearer_bare.clone(), dpop_bare.clone()]
        );
        let expired = AuthError::new(ErrorCode::TokenExpired).with_scheme(Scheme::Bearer);
        assert_eq!(
            texts(allowed.headers(&expired)),
            [
                format!(
                    r#"Bearer realm="api", error="invalid_token", error_description="Token is expired", {M}"#
                ),
                dpop_bare.clone()
            ]
        );
        let cases = [
            (
                ErrorCode::InvalidDpopProof,
                "invalid_dpop_proof",
                "Invalid DPoP proof",
            ),
            (
                ErrorCode::DpopProofReplayed,
                "invalid_dpop_proof",
                "DPoP proof replayed",
            ),
            (
                ErrorCode::DpopBindingMismatch,
                "invalid_token",
                "Invalid DPoP key binding",
            ),
            (
                ErrorCode::UseDpopNonce,
                "use_dpop_nonce",
                "Resource server requires nonce in DPoP proof",
            ),
        ];
        for (code, error, description) in cases {
            let err = AuthError::new(code).with_scheme(Scheme::Dpop);
            assert_eq!(
                texts(allowed.headers(&err)),
                [
                    format!(
                        r#"DPoP realm="api", error="{error}", error_description="{description}", algs="ES256 EdDSA", {M}"#
                    ),
                    bearer_bare.clone()
                ],
                "{code}"
            );
        }
        let scope = AuthError::new(ErrorCode::InsufficientScope)
            .with_required_scopes(["admin"])
            .with_scheme(Scheme::Dpop);
        assert_eq!(
            texts(allowed.headers(&scope)),
            [format!(
                r#"DPoP realm="api", error="insufficient_scope", error_description="Insufficient scope", scope="admin", algs="ES256 EdDSA", {M}"#
            )]
        );
        let bound = AuthError::new(ErrorCode::DpopBoundToken).with_scheme(Scheme::Bearer);
        let bound_bearer = format!(
            r#"Bearer realm="api", error="invalid_token", error_description="DPoP-bound token requires the DPoP scheme", {M}"#
        );
        assert_eq!(
            texts(allowed.headers(&bound)),
            [bound_bearer.clone(), dpop_bare.clone()]
        );
        let off = Challenge::bearer(Some("api")).with_resource_metadata(URL);
        assert_eq!(texts(off.headers(&bound)), [bound_bearer]);
        let required = Challenge::bearer(Some("api"))
            .with_resource_metadata(URL)
            .with_dpop(true, &algs);
        assert_eq!(
            texts(required.headers(&missing)),
            std::slice::from_ref(&dpop_bare)
        );
        // A Bearer-scheme error under `required` lands on the DPoP challenge.
        let bearer_missing = AuthError::new(ErrorCode::MissingToken).with_scheme(Scheme::Bearer);
        assert_eq!(texts(required.headers(&bearer_missing)), [dpop_bare]);
    }

    #[test]
    fn scope_hint_only_without_credentials() {
        let c = Challenge::bearer(Some("api")).with_scope_hint(["b", " a ", "", "b"]);
        assert_eq!(c.scope_hint(), Some("a b"));
        let missing = AuthError::new(ErrorCode::MissingToken);
        assert_eq!(
            texts(c.headers(&missing)),
            [r#"Bearer realm="api", scope="a b""#]
        );
        let expired = AuthError::new(ErrorCode::TokenExpired);
        assert_eq!(
            texts(c.headers(&expired)),
            [r#"Bearer realm="api", error="invalid_token", error_description="Token is expired""#]
        );
        let scope = AuthError::new(ErrorCode::InsufficientScope).with_required_scopes(["c"]);
        assert!(texts(c.headers(&scope))[0].ends_with(r#"scope="c""#));
        assert_eq!(
            Challenge::bearer(None)
                .with_scope_hint([""; 0])
                .scope_hint(),
            None
        );
    }

    /// `AuthError::www_authenticate` as it was written before `Challenge` existed.
    fn legacy(err: &AuthError, realm: Option<&str>) -> Option<HeaderValue> {
        let error = match err.status() {
            StatusCode::UNAUTHORIZED => "invalid_token",
            StatusCode::FORBIDDEN => "insufficient_scope",
            StatusCode::BAD_REQUEST => "invalid_request",
            _ => return None,
        };
        let mut params: Vec<(&str, String)> = Vec::new();
        if let Some(realm) = realm {
            params.push(("realm", realm.to_owned()));
        }
        if err.code() != ErrorCode::MissingToken {
            params.push(("error", error.to_owned()));
            params.push(("error_description", err.message().to_owned()));
        }
        if !err.required_scopes().is_empty() {
            params.push(("scope", err.required_scopes().join(" ")));
        }
        if !err.required_permissions().is_empty() {
            params.push(("permissions", err.required_permissions().join(" ")));
        }
        let mut out = String::from("Bearer");
        for (i, (name, value)) in params.iter().enumerate() {
            out.push_str(if i == 0 { " " } else { ", " });
            out.push_str(name);
            out.push('=');
            out.push_str(&quote(value));
        }
        HeaderValue::from_bytes(out.as_bytes()).ok()
    }

    /// With nothing new configured, every code, realm, scope list and message gives the
    /// bytes of the pre-`Challenge` implementation, whatever scheme the error records.
    #[test]
    fn bearer_challenges_are_byte_identical_to_before() {
        let realms = [
            None,
            Some("api"),
            Some(""),
            Some(r#"a "q" \b"#),
            Some("x\r\ny\u{7f}"),
        ];
        let mut compared = 0;
        for &code in ErrorCode::ALL {
            let errors = [
                AuthError::new(code),
                AuthError::new(code).with_required_scopes(["write", "admin"]),
                AuthError::new(code)
                    .with_required_permissions(["p:1"])
                    .with_required_scopes(["s"])
                    .with_message("custom \"message\"\r\n"),
                AuthError::new(code).with_scheme(Scheme::Dpop),
            ];
            for err in &errors {
                for realm in realms {
                    let want = legacy(err, realm);
                    assert_eq!(err.www_authenticate(realm), want, "{code} {realm:?}");
                    let got = Challenge::bearer(realm).headers(err);
                    assert_eq!(got.first(), want.as_ref(), "{code} {realm:?}");
                    assert!(got.len() <= 1);
                    compared += 1;
                }
            }
        }
        assert!(compared > 400);
    }

    /// Realms and URLs are quoted once, as `www_authenticate` quotes them.
    #[test]
    fn values_are_quoted() {
        let c = Challenge::bearer(Some("a \"q\" \\b\r\n")).with_resource_metadata("https://x/\"");
        let missing = AuthError::new(ErrorCode::MissingToken);
        assert_eq!(
            texts(c.headers(&missing)),
            [r#"Bearer realm="a \"q\" \\b", resource_metadata="https://x/\"""#]
        );
        assert_eq!(c.realm(), Some("a \"q\" \\b\r\n"));
    }
}
