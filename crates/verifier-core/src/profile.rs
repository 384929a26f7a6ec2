//! Access-token profiles: which header `typ` values a token may carry (step 5b of the
//! pipeline in docs/security.md) and which claims it must have (step 11).

use std::fmt;
use std::str::FromStr;

use crate::error::ConfigError;

/// How strictly tokens are held to the JWT access-token format.
///
/// - [`Generic`](Self::Generic) (the default): any `typ` (or none) except an explicitly
///   typed non-access JWT (`dpop+jwt`, `logout+jwt`, `secevent+jwt`, … see
///   docs/profiles.md), which is refused with `invalid_token_type`.
/// - [`Rfc9068`](Self::Rfc9068): RFC 9068 — the header `typ` must be `at+jwt` or
///   `application/at+jwt` (ASCII case-insensitive, nothing else), and `sub`,
///   `client_id`, `iat` and `jti` are required.
///
/// ```
/// use verifier_core::AccessTokenProfile;
/// assert_eq!(" RFC9068 ".parse::<AccessTokenProfile>().unwrap(), AccessTokenProfile::Rfc9068);
/// assert_eq!(AccessTokenProfile::default().as_str(), "generic");
/// assert!("strict".parse::<AccessTokenProfile>().is_err());
/// ```
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum AccessTokenProfile {
    /// Today's checks; explicitly typed non-access JWTs are refused.
    #[default]
    Generic,
    /// RFC 9068 JWT access tokens (`typ: at+jwt`, required `sub`, `client_id`, `iat`, `jti`).
    Rfc9068,
}

impl AccessTokenProfile {
    /// The configuration name: `generic` or `rfc9068`.
    pub const fn as_str(self) -> &'static str {
        match self {
            AccessTokenProfile::Generic => "generic",
            AccessTokenProfile::Rfc9068 => "rfc9068",
        }
    }

    /// Whether a header `typ` is acceptable under this profile (step 5b).
    pub(crate) fn accepts(self, typ: Typ) -> bool {
        match self {
            AccessTokenProfile::Generic => typ != Typ::NonAccess,
            AccessTokenProfile::Rfc9068 => typ == Typ::AtJwt,
        }
    }
}

impl fmt::Display for AccessTokenProfile {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for AccessTokenProfile {
    type Err = ConfigError;
    /// `generic` or `rfc9068`, ASCII case-insensitive, surrounding spaces ignored.
    fn from_str(s: &str) -> Result<Self, ConfigError> {
        let name = s.trim();
        if name.eq_ignore_ascii_case("generic") {
            Ok(AccessTokenProfile::Generic)
        } else if name.eq_ignore_ascii_case("rfc9068") {
            Ok(AccessTokenProfile::Rfc9068)
        } else {
            Err(ConfigError::new(
                "access_token_profile",
                format!("must be generic or rfc9068, got {s:?}"),
            ))
        }
    }
}

/// What a token's header `typ` says, classified once while the header is parsed.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Typ {
    /// No `typ` member.
    Absent,
    /// `at+jwt` or `application/at+jwt`.
    AtJwt,
    /// An explicitly typed JWT that is not an access token ([`NON_ACCESS_TYPES`]).
    NonAccess,
    /// Anything else: another string (`JWT`), or a value that is not a string.
    Other,
}

impl Typ {
    /// The class of a string `typ`.
    pub(crate) fn of_str(typ: &str) -> Typ {
        if typ_matches_at_jwt(typ) {
            Typ::AtJwt
        } else if is_non_access_type(typ) {
            Typ::NonAccess
        } else {
            Typ::Other
        }
    }
}

/// Media types of JWTs that are not access tokens (RFC 9449 DPoP proofs, OpenID Connect
/// back-channel logout tokens, RFC 8417 security event tokens, RFC 9701 introspection
/// responses, RFC 9101 request objects, SD-JWT key-binding JWTs). Refused in every
/// profile (decision D12 of SPEC-2), with or without the `application/` prefix.
pub(crate) const NON_ACCESS_TYPES: [&str; 6] = [
    "dpop+jwt",
    "logout+jwt",
    "secevent+jwt",
    "token-introspection+jwt",
    "oauth-authz-req+jwt",
    "kb+jwt",
];

/// Whether `typ` names a JWT access token under RFC 9068 §2.1: `at+jwt` or
/// `application/at+jwt`, ASCII case-insensitively; no trimming and no media-type
/// parameters.
///
/// ```
/// use verifier_core::typ_matches_at_jwt;
/// assert!(typ_matches_at_jwt("at+jwt"));
/// assert!(typ_matches_at_jwt("Application/At+Jwt"));
/// assert!(!typ_matches_at_jwt("JWT"));
/// assert!(!typ_matches_at_jwt("at+jwt "));
/// assert!(!typ_matches_at_jwt("application/at+jwt; v=1"));
/// ```
pub fn typ_matches_at_jwt(typ: &str) -> bool {
    typ.eq_ignore_ascii_case("at+jwt") || typ.eq_ignore_ascii_case("application/at+jwt")
}

fn is_non_access_type(typ: &str) -> bool {
    let bare = match typ.get(..12) {
        Some(prefix) if prefix.eq_ignore_ascii_case("application/") => &typ[12..],
        _ => typ,
    };
    NON_ACCESS_TYPES
        .iter()
        .any(|t| bare.eq_ignore_ascii_case(t))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn classes() {
        for s in [
            "at+jwt",
            "AT+JWT",
            "application/at+jwt",
            "Application/At+Jwt",
        ] {
            assert_eq!(Typ::of_str(s), Typ::AtJwt, "{s}");
        }
        for s in [
            "dpop+jwt",
            "DPoP+JWT",
            "application/dpop+jwt",
            "APPLICATION/logout+jwt",
            "secevent+jwt",
            "kb+jwt",
        ] {
            assert_eq!(Typ::of_str(s), Typ::NonAccess, "{s}");
        }
        for s in [
            "JWT",
            "",
            "application/",
            "xapplication/dpop+jwt",
            "dpop+jwt ",
            "at+jwt2",
            "é",
            "applicationé/dpop+jwt",
        ] {
            assert_eq!(Typ::of_str(s), Typ::Other, "{s}");
        }
    }

    #[test]
    fn profiles_accept() {
        use AccessTokenProfile::*;
        assert!(Generic.accepts(Typ::Absent) && Generic.accepts(Typ::Other));
        assert!(Generic.accepts(Typ::AtJwt) && !Generic.accepts(Typ::NonAccess));
        assert!(Rfc9068.accepts(Typ::AtJwt));
        for t in [Typ::Absent, Typ::Other, Typ::NonAccess] {
            assert!(!Rfc9068.accepts(t));
        }
    }
}
