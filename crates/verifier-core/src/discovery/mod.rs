//! OpenID Connect Discovery and RFC 8414 authorization server metadata: where the
//! metadata of an issuer lives, and what a metadata document must hold before its
//! `jwks_uri` may be used.
//!
//! This module holds the rules, with no I/O: the well-known URLs of an issuer
//! ([`well_known_urls`]) and the checks of a fetched document
//! ([`ProviderMetadata::parse`]). The issuer always comes from configuration, never from
//! a token, and a document is only accepted when its `issuer` is byte-equal to the
//! configured one (OpenID Connect Discovery 1.0 §4.3, RFC 8414 §3.3).

pub(crate) mod lifecycle;

use std::fmt;
use std::time::SystemTime;

use serde_json::{Map, Value};
use url::Url;

use crate::config::is_loopback;
use crate::error::{AuthError, ErrorCode};
use crate::fetch::FetchError;

/// How an issuer's metadata is found.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Discovery {
    /// No discovery: keys come from a configured `jwks_url`.
    Off,
    /// The OpenID Connect URL first; the RFC 8414 URL only when the first answers a
    /// "not there" status (4xx other than 408 and 429).
    #[default]
    Auto,
    /// Only `{issuer}/.well-known/openid-configuration`.
    Oidc,
    /// Only the RFC 8414 URL, `{origin}/.well-known/oauth-authorization-server{path}`.
    OAuth,
}

impl Discovery {
    /// The configuration spelling: `off`, `auto`, `oidc` or `oauth`.
    pub const fn as_str(self) -> &'static str {
        match self {
            Discovery::Off => "off",
            Discovery::Auto => "auto",
            Discovery::Oidc => "oidc",
            Discovery::OAuth => "oauth",
        }
    }

    /// Parses the configuration spelling (ASCII case-insensitive).
    pub fn from_name(name: &str) -> Option<Discovery> {
        [
            Discovery::Off,
            Discovery::Auto,
            Discovery::Oidc,
            Discovery::OAuth,
        ]
        .into_iter()
        .find(|d| d.as_str().eq_ignore_ascii_case(name.trim()))
    }

    /// Whether a status from the OpenID Connect URL lets [`Discovery::Auto`] try the
    /// RFC 8414 URL: 4xx, except 408 (timeout) and 429 (rate limit), which say the
    /// server is there but unwell. Any other outcome is final for the attempt, so an
    /// outage or a hostile answer is never masked by a second probe.
    pub const fn falls_back_on(status: u16) -> bool {
        matches!(status, 400..=499) && status != 408 && status != 429
    }
}

impl fmt::Display for Discovery {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// The metadata URLs of `issuer`: (OpenID Connect, RFC 8414), in probing order.
///
/// With `P` the issuer's path less one terminating `/`: OpenID Connect is
/// `origin + P + "/.well-known/openid-configuration"`, RFC 8414 §3.1 is
/// `origin + "/.well-known/oauth-authorization-server" + P`. The path keeps its
/// percent-encoding; query and fragment are dropped (a valid issuer has none).
///
/// ```
/// use url::Url;
/// use verifier_core::discovery::well_known_urls;
///
/// let issuer = Url::parse("https://kc.example/realms/acme").unwrap();
/// let (oidc, oauth) = well_known_urls(&issuer);
/// assert_eq!(oidc.as_str(), "https://kc.example/realms/acme/.well-known/openid-configuration");
/// assert_eq!(oauth.as_str(), "https://kc.example/.well-known/oauth-authorization-server/realms/acme");
/// ```
pub fn well_known_urls(issuer: &Url) -> (Url, Url) {
    let path = issuer.path();
    let path = path.strip_suffix('/').unwrap_or(path);
    let at = |new_path: String| {
        let mut url = issuer.clone();
        url.set_query(None);
        url.set_fragment(None);
        url.set_path(&new_path);
        url
    };
    (
        at(format!("{path}/.well-known/openid-configuration")),
        at(format!("/.well-known/oauth-authorization-server{path}")),
    )
}

/// Why a metadata document, or the request for it, was refused.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum DiscoveryError {
    /// The document's `issuer` is not byte-equal to the configured issuer (or is
    /// missing, or not a string). The document is discarded; its `jwks_uri` is never
    /// requested.
    #[error("metadata issuer {found:?} is not the configured issuer {expected:?}")]
    IssuerMismatch {
        /// The configured issuer.
        expected: String,
        /// What the document said (`None` when missing or not a string).
        found: Option<String>,
    },
    /// No `jwks_uri`, or one that is not an absolute URL without userinfo and fragment.
    #[error("metadata has no usable jwks_uri")]
    MissingJwksUri,
    /// A `jwks_uri` whose scheme the configuration does not allow (`http` from an
    /// `https` issuer, or anything but http(s)).
    #[error("metadata jwks_uri {0:?} is not https")]
    InsecureJwksUri(String),
    /// The body is not JSON, or has duplicate top-level members.
    #[error("metadata is not a valid JSON object: {0}")]
    Json(#[source] Box<dyn std::error::Error + Send + Sync>),
    /// The body is JSON but not an object.
    #[error("metadata is not a JSON object")]
    Shape,
    /// The response exceeded the configured size cap.
    #[error("metadata response exceeds {limit} bytes")]
    TooLarge {
        /// The cap, in bytes.
        limit: usize,
    },
    /// The endpoint answered with a non-2xx status.
    #[error("metadata endpoint answered HTTP {0}")]
    Status(u16),
    /// The request was redirected (redirects are never followed).
    #[error("metadata request was redirected")]
    Redirected,
    /// Connection, TLS or timeout failure.
    #[error("metadata request failed: {0}")]
    Transport(#[source] Box<dyn std::error::Error + Send + Sync>),
    /// Every probed URL answered a "not there" status.
    #[error("no metadata at {tried:?}")]
    NotFound {
        /// The URLs tried, in order.
        tried: Vec<String>,
    },
}

impl DiscoveryError {
    /// The pipeline code: a document that could not be had is `discovery_failed`, one
    /// that was had but is unusable is `discovery_error` (both 503).
    pub fn code(&self) -> ErrorCode {
        match self {
            DiscoveryError::Status(_)
            | DiscoveryError::Redirected
            | DiscoveryError::Transport(_)
            | DiscoveryError::NotFound { .. } => ErrorCode::DiscoveryFailed,
            _ => ErrorCode::DiscoveryError,
        }
    }

    pub(crate) fn into_auth_error(self) -> AuthError {
        AuthError::new(self.code()).with_source(self)
    }
}

impl From<FetchError> for DiscoveryError {
    fn from(err: FetchError) -> Self {
        match err {
            FetchError::Status(status) => DiscoveryError::Status(status),
            FetchError::Redirected => DiscoveryError::Redirected,
            FetchError::TooLarge { limit } => DiscoveryError::TooLarge { limit },
            FetchError::Transport(err) => DiscoveryError::Transport(err),
        }
    }
}

/// An issuer's metadata document, checked: its `issuer` is the configured one and its
/// `jwks_uri` is allowed. Nothing in it widens policy (advertised algorithms do not
/// change `allowed_algs`).
#[derive(Clone, Debug)]
pub struct ProviderMetadata {
    issuer: String,
    jwks_uri: Url,
    document: Map<String, Value>,
}

impl ProviderMetadata {
    /// Checks a fetched document (already bounded in size by the fetch) against the
    /// configured issuer.
    ///
    /// `jwks_uri` must be an absolute URL without userinfo or fragment, and `https`,
    /// unless `allow_insecure_http` is set, or the issuer itself is a loopback `http` URL
    /// and `jwks_uri` is loopback too: an https issuer's document can never point the
    /// verifier at a plain-http URL, loopback or not.
    ///
    /// ```
    /// use verifier_core::discovery::ProviderMetadata;
    ///
    /// let doc = br#"{"issuer":"https://idp.example","jwks_uri":"https://idp.example/keys"}"#;
    /// let meta = ProviderMetadata::parse(doc, "https://idp.example", false).unwrap();
    /// assert_eq!(meta.jwks_uri().as_str(), "https://idp.example/keys");
    /// // One trailing slash of difference is a different issuer.
    /// assert!(ProviderMetadata::parse(doc, "https://idp.example/", false).is_err());
    /// ```
    pub fn parse(
        body: &[u8],
        expected_issuer: &str,
        allow_insecure_http: bool,
    ) -> Result<ProviderMetadata, DiscoveryError> {
        let value: Value =
            serde_json::from_slice(body).map_err(|e| DiscoveryError::Json(Box::new(e)))?;
        if !value.is_object() {
            return Err(DiscoveryError::Shape);
        }
        // Duplicate members: two parsers could read two different issuers.
        let document =
            crate::token::parse_object(body).map_err(|e| DiscoveryError::Json(Box::new(e)))?;
        match document.get("issuer") {
            Some(Value::String(found)) if found == expected_issuer => {}
            found => {
                return Err(DiscoveryError::IssuerMismatch {
                    expected: expected_issuer.to_owned(),
                    found: found.and_then(Value::as_str).map(str::to_owned),
                })
            }
        }
        let raw = document
            .get("jwks_uri")
            .and_then(Value::as_str)
            .ok_or(DiscoveryError::MissingJwksUri)?;
        let jwks_uri = Url::parse(raw).map_err(|_| DiscoveryError::MissingJwksUri)?;
        if jwks_uri.host().is_none()
            || !jwks_uri.username().is_empty()
            || jwks_uri.password().is_some()
            || jwks_uri.fragment().is_some()
        {
            return Err(DiscoveryError::MissingJwksUri);
        }
        let allowed = match jwks_uri.scheme() {
            "https" => true,
            "http" if allow_insecure_http => true,
            "http" => Url::parse(expected_issuer).is_ok_and(|issuer| {
                issuer.scheme() == "http" && is_loopback(&issuer) && is_loopback(&jwks_uri)
            }),
            _ => false,
        };
        if !allowed {
            return Err(DiscoveryError::InsecureJwksUri(raw.to_owned()));
        }
        Ok(ProviderMetadata {
            issuer: expected_issuer.to_owned(),
            jwks_uri,
            document,
        })
    }

    /// The issuer (equal to the configured one).
    pub fn issuer(&self) -> &str {
        &self.issuer
    }

    /// Where the issuer publishes its keys.
    pub fn jwks_uri(&self) -> &Url {
        &self.jwks_uri
    }

    /// Any member of the document, as published.
    pub fn get(&self, name: &str) -> Option<&Value> {
        self.document.get(name)
    }
}

/// A point-in-time view of an issuer's metadata lifecycle (part of
/// [`IssuerHealth`](crate::IssuerHealth)).
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize)]
#[non_exhaustive]
pub struct MetadataStats {
    /// The URL that answered last (later refreshes start there).
    pub url: Option<Url>,
    /// The `jwks_uri` of the current document.
    pub jwks_uri: Option<Url>,
    /// Fetches started.
    pub fetches: u64,
    /// Fetches that failed.
    pub failures: u64,
    /// Failures since the last success.
    pub consecutive_failures: u32,
    /// When the last successful fetch ended (seconds since the Unix epoch in JSON).
    #[serde(serialize_with = "crate::health::unix_seconds")]
    pub last_success: Option<SystemTime>,
    /// Whether the current document is past its TTL (served while refreshes fail).
    pub serving_stale: bool,
    /// Whether a refresh is in flight.
    pub refreshing: bool,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn falls_back_only_on_not_there_statuses() {
        for status in [400, 401, 403, 404, 405, 410, 451, 499] {
            assert!(Discovery::falls_back_on(status), "{status}");
        }
        for status in [200, 302, 399, 408, 429, 500, 502, 503] {
            assert!(!Discovery::falls_back_on(status), "{status}");
        }
    }

    #[test]
    fn names_round_trip() {
        for d in [
            Discovery::Off,
            Discovery::Auto,
            Discovery::Oidc,
            Discovery::OAuth,
        ] {
            assert_eq!(Discovery::from_name(d.as_str()), Some(d));
            assert_eq!(Discovery::from_name(&d.as_str().to_uppercase()), Some(d));
        }
        assert_eq!(Discovery::from_name("openid"), None);
    }
}
