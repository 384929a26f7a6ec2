//! The JWS signature algorithms the testkit can produce.

use std::fmt;

/// A JWS signature algorithm (RFC 7518 section 3, RFC 8037 for `EdDSA`).
///
/// ```
/// use verifier_testkit::Alg;
///
/// assert_eq!(Alg::PS384.as_str(), "PS384");
/// assert_eq!(Alg::from_name("EdDSA"), Some(Alg::EdDSA));
/// assert_eq!(Alg::ALL.len(), 10);
/// ```
#[allow(clippy::upper_case_acronyms)]
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Alg {
    /// RSASSA-PKCS1-v1_5 with SHA-256.
    RS256,
    /// RSASSA-PKCS1-v1_5 with SHA-384.
    RS384,
    /// RSASSA-PKCS1-v1_5 with SHA-512.
    RS512,
    /// RSASSA-PSS with SHA-256, MGF1 with SHA-256, salt length 32.
    PS256,
    /// RSASSA-PSS with SHA-384, MGF1 with SHA-384, salt length 48.
    PS384,
    /// RSASSA-PSS with SHA-512, MGF1 with SHA-512, salt length 64.
    PS512,
    /// ECDSA on P-256 with SHA-256.
    ES256,
    /// ECDSA on P-384 with SHA-384.
    ES384,
    /// ECDSA on P-521 with SHA-512.
    ES512,
    /// Ed25519 (RFC 8037).
    EdDSA,
}

impl Alg {
    /// Every algorithm, in declaration order.
    ///
    /// ```
    /// use verifier_testkit::Alg;
    ///
    /// let names: Vec<&str> = Alg::ALL.iter().map(|a| a.as_str()).collect();
    /// assert_eq!(names[0], "RS256");
    /// assert_eq!(names[9], "EdDSA");
    /// ```
    pub const ALL: &'static [Alg] = &[
        Alg::RS256,
        Alg::RS384,
        Alg::RS512,
        Alg::PS256,
        Alg::PS384,
        Alg::PS512,
        Alg::ES256,
        Alg::ES384,
        Alg::ES512,
        Alg::EdDSA,
    ];

    /// The registered JWS name (`"RS256"`, ..., `"EdDSA"`), as used in the
    /// `alg` header member.
    ///
    /// ```
    /// use verifier_testkit::Alg;
    ///
    /// assert_eq!(Alg::ES512.as_str(), "ES512");
    /// ```
    pub fn as_str(self) -> &'static str {
        match self {
            Alg::RS256 => "RS256",
            Alg::RS384 => "RS384",
            Alg::RS512 => "RS512",
            Alg::PS256 => "PS256",
            Alg::PS384 => "PS384",
            Alg::PS512 => "PS512",
            Alg::ES256 => "ES256",
            Alg::ES384 => "ES384",
            Alg::ES512 => "ES512",
            Alg::EdDSA => "EdDSA",
        }
    }

    /// The algorithm with this exact (case-sensitive) JWS name, if any.
    ///
    /// ```
    /// use verifier_testkit::Alg;
    ///
    /// assert_eq!(Alg::from_name("RS512"), Some(Alg::RS512));
    /// assert_eq!(Alg::from_name("rs512"), None);
    /// assert_eq!(Alg::from_name("none"), None);
    /// ```
    pub fn from_name(name: &str) -> Option<Alg> {
        Alg::ALL.iter().copied().find(|alg| alg.as_str() == name)
    }

    /// Whether this is an RSA algorithm (`RS*` or `PS*`).
    ///
    /// ```
    /// use verifier_testkit::Alg;
    ///
    /// assert!(Alg::PS256.is_rsa());
    /// assert!(!Alg::ES256.is_rsa());
    /// ```
    pub fn is_rsa(self) -> bool {
        matches!(
            self,
            Alg::RS256 | Alg::RS384 | Alg::RS512 | Alg::PS256 | Alg::PS384 | Alg::PS512
        )
    }

    /// Whether this is an ECDSA algorithm (`ES*`).
    ///
    /// ```
    /// use verifier_testkit::Alg;
    ///
    /// assert!(Alg::ES384.is_ecdsa());
    /// assert!(!Alg::EdDSA.is_ecdsa());
    /// ```
    pub fn is_ecdsa(self) -> bool {
        matches!(self, Alg::ES256 | Alg::ES384 | Alg::ES512)
    }
}

impl fmt::Display for Alg {
    /// Writes [`Alg::as_str`].
    ///
    /// ```
    /// assert_eq!(verifier_testkit::Alg::EdDSA.to_string(), "EdDSA");
    /// ```
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}
