//! Tokens that an API in front of a [`TestIssuer`] must refuse with 401, and the exact
//! RFC 6750 challenge it must answer with: one list shared by every integration's tests,
//! and usable for checking your own API. [`challenge_parser`] checks the structure of
//! any `WWW-Authenticate` value.

pub mod challenge_parser;
pub mod challenges;

use serde_json::json;

use crate::{now, Alg, TestIssuer, TestKey};

/// A token that must be refused with 401 `invalid_token`, and why.
///
/// ```
/// use verifier_testkit::TestIssuer;
/// let issuer = TestIssuer::start();
/// for case in issuer.refused_tokens() {
///     // send `Authorization: Bearer {case.token}` to your API, then:
///     let expected = case.challenge(Some("api"));
///     assert!(expected.starts_with(r#"Bearer realm="api", error="invalid_token""#));
/// }
/// ```
#[derive(Clone, Debug)]
#[non_exhaustive]
pub struct RefusedToken {
    /// The stable error code the verifier reports (e.g. `"token_expired"`).
    pub code: &'static str,
    /// The challenge's `error_description`: the specification's message for `code`.
    pub description: &'static str,
    /// The compact token.
    pub token: String,
}

impl RefusedToken {
    /// The exact `WWW-Authenticate` value expected for this token, with `realm` if given
    /// (quoted as RFC 7230 requires).
    ///
    /// ```
    /// # let issuer = verifier_testkit::TestIssuer::start();
    /// let expired = &issuer.refused_tokens()[0];
    /// assert_eq!(
    ///     expired.challenge(None),
    ///     r#"Bearer error="invalid_token", error_description="Token is expired""#
    /// );
    /// ```
    pub fn challenge(&self, realm: Option<&str>) -> String {
        let realm = realm
            .map(|r| {
                format!(
                    "realm=\"{}\", ",
                    r.replace('\\', "\\\\").replace('"', "\\\"")
                )
            })
            .unwrap_or_default();
        format!(
            "Bearer {realm}error=\"invalid_token\", error_description=\"{}\"",
            self.description
        )
    }
}

impl TestIssuer {
    /// Tokens every API verifying this issuer's tokens (default audience, RS256 allowed)
    /// must refuse with 401 `invalid_token`: expired, signed by another key under the
    /// right kid, for another audience, with an unknown kid, and not a JWT at all.
    pub fn refused_tokens(&self) -> Vec<RefusedToken> {
        let impostor = TestKey::generate(Alg::RS256, self.default_key().kid());
        let stranger = TestKey::generate(Alg::RS256, "unknown-kid");
        let case = |code, description, token| RefusedToken {
            code,
            description,
            token,
        };
        vec![
            case(
                "token_expired",
                "Token is expired",
                self.token().claim("exp", json!(now() - 120)).build(),
            ),
            case(
                "invalid_signature",
                "Invalid token signature",
                self.token().signing_key(&impostor).build(),
            ),
            case(
                "invalid_audience",
                "Invalid audience",
                self.token()
                    .claim("aud", json!("https://other.example"))
                    .build(),
            ),
            case(
                "key_not_found",
                "No matching signing key",
                self.token_for(&stranger).build(),
            ),
            case("malformed_token", "Malformed token", "not-a-jwt".to_owned()),
        ]
    }
}
