//! The request-level entry point (SPEC-2 §0.2): what a verifier needs from a request
//! (method, URI, headers) and what it answers for one (the claims, how they were
//! presented, by which issuer, and the DPoP confirmation).

use std::fmt;
use std::sync::Arc;

use http::{HeaderMap, HeaderValue, Method, Uri};

use crate::claims::Claims;
use crate::requirements::Requirements;

/// The parts of a request a verifier reads. The URI is the one the client used: behind
/// a router that strips a prefix, pass the original URI (DPoP proofs sign it).
#[derive(Clone, Copy, Debug)]
#[non_exhaustive]
pub struct RequestParts<'a> {
    /// The request method (a DPoP proof's `htm`).
    pub method: &'a Method,
    /// The request URI; its path is matched against a DPoP proof's `htu`.
    pub uri: &'a Uri,
    /// The request headers (`Authorization`, `DPoP`, and `Cookie` when the verifier
    /// reads a token cookie).
    pub headers: &'a HeaderMap,
    /// What this route requires beyond the verifier-wide policy (none by default).
    pub requirements: Option<&'a Requirements>,
}

impl<'a> RequestParts<'a> {
    /// The parts of a request.
    ///
    /// ```
    /// use http::{HeaderMap, Method, Uri};
    /// use verifier_core::RequestParts;
    /// let (method, uri, headers) = (Method::GET, Uri::from_static("/me"), HeaderMap::new());
    /// let parts = RequestParts::new(&method, &uri, &headers);
    /// assert_eq!(parts.uri.path(), "/me");
    /// ```
    pub fn new(method: &'a Method, uri: &'a Uri, headers: &'a HeaderMap) -> Self {
        RequestParts {
            method,
            uri,
            headers,
            requirements: None,
        }
    }

    /// Adds a route's requirements, checked after the claims and before a DPoP proof is
    /// recorded as used.
    ///
    /// ```
    /// use http::{HeaderMap, Method, Uri};
    /// use verifier_core::{RequestParts, Requirements};
    /// let (method, uri, headers) = (Method::GET, Uri::from_static("/admin"), HeaderMap::new());
    /// let admin = Requirements::new().scopes(["admin"]);
    /// let parts = RequestParts::new(&method, &uri, &headers).requiring(&admin);
    /// assert_eq!(parts.requirements, Some(&admin));
    /// ```
    #[must_use]
    pub fn requiring(mut self, requirements: &'a Requirements) -> Self {
        self.requirements = Some(requirements);
        self
    }
}

/// The authorization scheme a client used (and that a challenge names).
///
/// ```
/// use verifier_core::Scheme;
/// assert_eq!(Scheme::Bearer.as_str(), "Bearer");
/// assert_eq!(Scheme::Dpop.to_string(), "DPoP");
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Scheme {
    /// `Authorization: Bearer` (RFC 6750).
    Bearer,
    /// `Authorization: DPoP` with a `DPoP` proof header (RFC 9449).
    Dpop,
}

impl Scheme {
    /// The scheme's name as sent: `Bearer` or `DPoP`.
    pub const fn as_str(self) -> &'static str {
        match self {
            Scheme::Bearer => "Bearer",
            Scheme::Dpop => "DPoP",
        }
    }
}

impl fmt::Display for Scheme {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// An authenticated request.
#[derive(Clone, Debug)]
#[non_exhaustive]
pub struct Authenticated {
    /// The verified claims.
    pub claims: Claims,
    /// How the token was presented.
    pub scheme: Scheme,
    /// The configured issuer that verified it.
    pub issuer: Arc<str>,
    /// For the DPoP scheme: the proof key's thumbprint, and a nonce to send back.
    pub dpop: Option<DpopConfirmation>,
}

/// What a verified DPoP presentation established.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct DpopConfirmation {
    /// The RFC 7638 thumbprint of the proof key (equal to the token's `cnf.jkt`).
    pub jkt: String,
    /// A fresh nonce for the response's `DPoP-Nonce` header, when the client's nonce is
    /// from the previous window (nonce mode).
    pub next_nonce: Option<HeaderValue>,
}
