//! Request-level types shared by the challenge builder and the integrations (SPEC-2 §0.2).

use std::fmt;

/// An HTTP authentication scheme the verifier accepts credentials with.
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
    /// The scheme name as written in `Authorization` and `WWW-Authenticate`.
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
