//! The signing algorithms a verifier may accept.

use std::fmt;
use std::str::FromStr;

use crate::error::ConfigError;

/// A JWS signing algorithm this library can verify.
///
/// Symmetric algorithms (`HS*`) and `none` are deliberately absent: a verifier that
/// accepts tokens signed with a shared secret lets anyone holding that secret mint
/// tokens, and `HS256` confusion with an RSA public key is a classic attack.
///
/// ```
/// use verifier_core::Algorithm;
/// assert_eq!("ES256".parse::<Algorithm>().unwrap(), Algorithm::ES256);
/// assert!("HS256".parse::<Algorithm>().is_err());
/// assert_eq!(Algorithm::PS384.as_str(), "PS384");
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
#[allow(clippy::upper_case_acronyms)]
#[non_exhaustive]
pub enum Algorithm {
    /// RSASSA-PKCS1-v1_5 with SHA-256.
    RS256,
    /// RSASSA-PKCS1-v1_5 with SHA-384.
    RS384,
    /// RSASSA-PKCS1-v1_5 with SHA-512.
    RS512,
    /// RSASSA-PSS with SHA-256.
    PS256,
    /// RSASSA-PSS with SHA-384.
    PS384,
    /// RSASSA-PSS with SHA-512.
    PS512,
    /// ECDSA on P-256 with SHA-256.
    ES256,
    /// ECDSA on P-384 with SHA-384.
    ES384,
    /// ECDSA on P-521 with SHA-512.
    ES512,
    /// Ed25519 (the only EdDSA curve accepted).
    EdDSA,
}

impl Algorithm {
    /// Every supported algorithm (a slice, so that adding one is not a breaking change).
    pub const ALL: &'static [Algorithm] = &[
        Algorithm::RS256,
        Algorithm::RS384,
        Algorithm::RS512,
        Algorithm::PS256,
        Algorithm::PS384,
        Algorithm::PS512,
        Algorithm::ES256,
        Algorithm::ES384,
        Algorithm::ES512,
        Algorithm::EdDSA,
    ];

    /// The JOSE name (`"RS256"`, ..., `"EdDSA"`).
    pub const fn as_str(self) -> &'static str {
        match self {
            Algorithm::RS256 => "RS256",
            Algorithm::RS384 => "RS384",
            Algorithm::RS512 => "RS512",
            Algorithm::PS256 => "PS256",
            Algorithm::PS384 => "PS384",
            Algorithm::PS512 => "PS512",
            Algorithm::ES256 => "ES256",
            Algorithm::ES384 => "ES384",
            Algorithm::ES512 => "ES512",
            Algorithm::EdDSA => "EdDSA",
        }
    }

    /// Exact, case-sensitive lookup of a JOSE name (as in a token header).
    pub fn from_name(name: &str) -> Option<Algorithm> {
        Algorithm::ALL.iter().copied().find(|a| a.as_str() == name)
    }

    pub(crate) fn family(self) -> KeyFamily {
        match self {
            Algorithm::RS256
            | Algorithm::RS384
            | Algorithm::RS512
            | Algorithm::PS256
            | Algorithm::PS384
            | Algorithm::PS512 => KeyFamily::Rsa,
            Algorithm::ES256 => KeyFamily::Ec(Curve::P256),
            Algorithm::ES384 => KeyFamily::Ec(Curve::P384),
            Algorithm::ES512 => KeyFamily::Ec(Curve::P521),
            Algorithm::EdDSA => KeyFamily::Ed25519,
        }
    }
}

/// The kind of key an algorithm needs.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum KeyFamily {
    Rsa,
    Ec(Curve),
    Ed25519,
}

/// NIST curves used by the ES* algorithms.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Curve {
    P256,
    P384,
    P521,
}

impl fmt::Display for Algorithm {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for Algorithm {
    type Err = ConfigError;

    /// Parses a configured algorithm name (surrounding whitespace trimmed, exact case).
    ///
    /// A supported name in another case is refused with the right spelling:
    ///
    /// ```
    /// use verifier_core::Algorithm;
    /// let err = "rs256".parse::<Algorithm>().unwrap_err();
    /// assert_eq!(
    ///     err.to_string(),
    ///     r#"invalid configuration: allowed_algs must list supported algorithms in their exact case: "rs256" is not one; did you mean "RS256"?"#
    /// );
    /// ```
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let name = s.trim();
        if name.eq_ignore_ascii_case("none") {
            return Err(ConfigError::new("allowed_algs", "must not include 'none'"));
        }
        if name.get(..2).is_some_and(|p| p.eq_ignore_ascii_case("HS")) {
            return Err(ConfigError::new(
                "allowed_algs",
                format!(
                    "must not include the symmetric algorithm {name:?}: shared-secret tokens are never accepted"
                ),
            ));
        }
        Algorithm::from_name(name).ok_or_else(|| {
            let reason = match Algorithm::ALL
                .iter()
                .find(|alg| alg.as_str().eq_ignore_ascii_case(name))
            {
                Some(alg) => format!(
                    "must list supported algorithms in their exact case: {name:?} is not one; did you mean {:?}?",
                    alg.as_str()
                ),
                None => format!(
                    "must list supported algorithms: {name:?} is not one of {}",
                    Algorithm::ALL
                        .iter()
                        .map(|alg| alg.as_str())
                        .collect::<Vec<_>>()
                        .join(", ")
                ),
            };
            ConfigError::new("allowed_algs", reason)
        })
    }
}
