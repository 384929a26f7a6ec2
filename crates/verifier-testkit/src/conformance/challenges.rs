//! The exact challenges of SPEC-2 §4.6 (RFC 9728 `resource_metadata`) and §5.10 (DPoP),
//! written out independently of the verifier, so tower, axum and actix-web assert the
//! same bytes.
//!
//! - [`Expected`] writes one `WWW-Authenticate` field with the parameters in the order
//!   of SPEC-2 §0.3 (`realm`, `error`, `error_description`, `scope`, `algs`,
//!   `resource_metadata`).
//! - [`ResourceMetadataCase`]: the rows of §4.6 (realm `api`, resource [`RESOURCE`]).
//! - [`DpopCase`]: the rows of §5.10 (DPoP algorithms [`DPOP_ALGS`]), each with the mode
//!   the verifier runs in and the request headers that produce it
//!   ([`DpopCase::headers`]).
//! - [`unauthenticated_authorizations`]: `Authorization` values that are not usable
//!   credentials (none, `Basic`, `Bearer` without a token).
//!
//! ```
//! use verifier_testkit::conformance::challenges::{DpopCase, Expected, ResourceMetadataCase};
//!
//! let spec = Expected::spec();
//! assert_eq!(
//!     ResourceMetadataCase::NoCredentials.fields(&spec),
//!     [r#"Bearer realm="api", resource_metadata="https://api.example.com/.well-known/oauth-protected-resource/mcp""#]
//! );
//! assert_eq!(DpopCase::AllowedNoCredentials.fields(&spec).len(), 2);
//! // Without a resource the `, M` part is dropped.
//! assert_eq!(DpopCase::RequiredNoCredentials.fields(&Expected::new(Some("api"))),
//!            [r#"DPoP realm="api", algs="ES256 EdDSA""#]);
//! ```

use serde_json::json;
use verifier_core::dpop::{DpopConfig, DpopMode};
use verifier_core::{Algorithm, ResourceConfig};

use crate::{now, Alg, DpopProof, TestIssuer, TestKey};

/// The realm of the SPEC-2 tables.
pub const REALM: &str = "api";
/// The resource identifier of the SPEC-2 tables (`OIDC_RESOURCE`).
pub const RESOURCE: &str = "https://api.example.com/mcp";
/// The metadata URL of [`RESOURCE`] (RFC 9728 §3.1), the value of `M`.
pub const RESOURCE_METADATA_URL: &str =
    "https://api.example.com/.well-known/oauth-protected-resource/mcp";
/// The path the metadata document of [`RESOURCE`] is served at.
pub const RESOURCE_METADATA_PATH: &str = "/.well-known/oauth-protected-resource/mcp";
/// The public origin DPoP proofs are made for: the origin of [`RESOURCE`] (the default
/// `public_base_url`). A proof's `htu` is this plus the request path.
pub const PUBLIC_ORIGIN: &str = "https://api.example.com";
/// The `algs` of the SPEC-2 §5.10 table (configure `dpop_algs` = `ES256, EdDSA`).
pub const DPOP_ALGS: &str = "ES256 EdDSA";
/// The scope the "missing scope" rows require of the route (the tokens lack it).
pub const REQUIRED_SCOPE: &str = "admin";

/// The document of SPEC-2 §4.5, byte for byte: what [`metadata_resource_config`] with DPoP
/// `allowed` ([`dpop_config`]`(Mode::Allowed, false)`) publishes.
pub const METADATA_BODY: &str = concat!(
    r#"{"resource":"https://api.example.com/mcp","#,
    r#""authorization_servers":["https://idp.example.com/realms/acme"],"#,
    r#""scopes_supported":["mcp:resources","mcp:tools"],"#,
    r#""bearer_methods_supported":["header"],"#,
    r#""dpop_signing_alg_values_supported":["ES256","EdDSA"],"#,
    r#""dpop_bound_access_tokens_required":false,"#,
    r#""resource_name":"Example MCP server"}"#
);

/// The resource of the §4.5 example: [`RESOURCE`], `authorization_servers`
/// `https://idp.example.com/realms/acme`, `scopes_supported` `mcp:tools mcp:resources`
/// (served sorted), `resource_name` `Example MCP server`.
///
/// ```
/// let config = verifier_testkit::conformance::challenges::metadata_resource_config();
/// assert_eq!(config.resource(), Some("https://api.example.com/mcp"));
/// ```
pub fn metadata_resource_config() -> ResourceConfig {
    ResourceConfig::builder()
        .resource(RESOURCE)
        .authorization_servers(["https://idp.example.com/realms/acme"])
        .scopes_supported(["mcp:tools", "mcp:resources"])
        .resource_name("Example MCP server")
        .build()
        .expect("a valid resource configuration")
}

/// The DPoP configuration of the §5.10 rows: `mode`, algorithms `ES256, EdDSA`
/// ([`DPOP_ALGS`]), proofs for [`PUBLIC_ORIGIN`], nonces when `nonce`.
///
/// ```
/// use verifier_testkit::conformance::challenges::{dpop_config, Mode};
/// assert_eq!(dpop_config(Mode::Required, false).mode().as_str(), "required");
/// ```
pub fn dpop_config(mode: Mode, nonce: bool) -> DpopConfig {
    let mode = match mode {
        Mode::Off => DpopMode::Off,
        Mode::Allowed => DpopMode::Allowed,
        Mode::Required => DpopMode::Required,
    };
    DpopConfig::builder()
        .mode(mode)
        .algs([Algorithm::ES256, Algorithm::EdDSA])
        .public_base_url(PUBLIC_ORIGIN)
        .nonce(nonce)
        .build()
        .expect("a valid DPoP configuration")
}

/// Checks one emitted `WWW-Authenticate` field (SPEC-2 RM8): it parses with the strict
/// [`challenge_parser`](super::challenge_parser) as exactly one challenge (so each
/// parameter once), and every parameter but `realm` stays within RFC 6750 §3's
/// characters (%x20-21 / %x23-5B / %x5D-7E), `scope` as single-space-separated tokens.
///
/// ```
/// use verifier_testkit::conformance::challenges::check_field;
/// assert!(check_field(r#"Bearer realm="a \"q\"", error="invalid_token""#).is_ok());
/// assert!(check_field(r#"Bearer scope="a  b""#).is_err());
/// assert!(check_field(r#"Bearer realm="a", realm="b""#).is_err());
/// assert!(check_field(r#"Bearer, DPoP"#).is_err());
/// ```
pub fn check_field(field: &str) -> Result<(), String> {
    let challenges =
        super::challenge_parser::parse(field).map_err(|e| format!("{field:?}: {e}"))?;
    if challenges.len() != 1 {
        return Err(format!(
            "{field:?}: {} challenges in one field",
            challenges.len()
        ));
    }
    for (name, value) in challenges[0].params() {
        if name.eq_ignore_ascii_case("realm") {
            continue;
        }
        let in_set = value
            .bytes()
            .all(|b| matches!(b, 0x20..=0x21 | 0x23..=0x5B | 0x5D..=0x7E));
        if !in_set {
            return Err(format!("{field:?}: {name} outside the RFC 6750 characters"));
        }
        if name.eq_ignore_ascii_case("scope") && value.split(' ').any(str::is_empty) {
            return Err(format!("{field:?}: scope is not space-separated tokens"));
        }
    }
    Ok(())
}

/// Writes expected `WWW-Authenticate` fields: a realm (or none), a `resource_metadata`
/// URL (or none) and the DPoP `algs`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Expected {
    realm: Option<String>,
    resource_metadata: Option<String>,
    algs: String,
}

/// RFC 9110 quoted-string of `value` (`"` and `\` escaped).
fn quoted(value: &str) -> String {
    format!("\"{}\"", value.replace('\\', "\\\\").replace('"', "\\\""))
}

impl Expected {
    /// The SPEC-2 tables: realm [`REALM`], `resource_metadata` [`RESOURCE_METADATA_URL`],
    /// `algs` [`DPOP_ALGS`].
    pub fn spec() -> Self {
        Expected::new(Some(REALM)).resource_metadata(Some(RESOURCE_METADATA_URL))
    }

    /// With `realm`, no `resource_metadata`, `algs` [`DPOP_ALGS`].
    pub fn new(realm: Option<&str>) -> Self {
        Expected {
            realm: realm.map(str::to_owned),
            resource_metadata: None,
            algs: DPOP_ALGS.to_owned(),
        }
    }

    /// Sets (or removes) the `resource_metadata` URL.
    pub fn resource_metadata(mut self, url: Option<&str>) -> Self {
        self.resource_metadata = url.map(str::to_owned);
        self
    }

    /// Sets the realm (or removes it).
    pub fn realm(mut self, realm: Option<&str>) -> Self {
        self.realm = realm.map(str::to_owned);
        self
    }

    /// Sets the DPoP `algs` value (space-separated names).
    pub fn algs(mut self, algs: &str) -> Self {
        self.algs = algs.to_owned();
        self
    }

    /// One field of `scheme` (`"Bearer"` or `"DPoP"`), with `error` =
    /// `(error, error_description)` and `scope` when given.
    ///
    /// ```
    /// # use verifier_testkit::conformance::challenges::Expected;
    /// let e = Expected::new(Some("a\"b"));
    /// assert_eq!(e.field("Bearer", None, None), r#"Bearer realm="a\"b""#);
    /// assert_eq!(Expected::new(None).field("Bearer", None, None), "Bearer");
    /// ```
    pub fn field(&self, scheme: &str, error: Option<(&str, &str)>, scope: Option<&str>) -> String {
        let mut params = Vec::new();
        if let Some(realm) = &self.realm {
            params.push(format!("realm={}", quoted(realm)));
        }
        if let Some((error, description)) = error {
            params.push(format!("error={}", quoted(error)));
            params.push(format!("error_description={}", quoted(description)));
        }
        if let Some(scope) = scope {
            params.push(format!("scope={}", quoted(scope)));
        }
        if scheme == "DPoP" {
            params.push(format!("algs={}", quoted(&self.algs)));
        }
        if let Some(url) = &self.resource_metadata {
            params.push(format!("resource_metadata={}", quoted(url)));
        }
        if params.is_empty() {
            scheme.to_owned()
        } else {
            format!("{scheme} {}", params.join(", "))
        }
    }

    /// The bare `Bearer` challenge (no error).
    pub fn bearer(&self) -> String {
        self.field("Bearer", None, None)
    }

    /// The bare `DPoP` challenge (no error).
    pub fn dpop(&self) -> String {
        self.field("DPoP", None, None)
    }

    /// `Bearer` with `error="invalid_token"` and `description`: what every
    /// [`RefusedToken`](crate::RefusedToken) gets.
    pub fn invalid_token(&self, description: &str) -> String {
        self.field("Bearer", Some(("invalid_token", description)), None)
    }
}

/// The rows of SPEC-2 §4.6 (with `Expected::spec()`; with no resource configured the
/// same rows without `M`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ResourceMetadataCase {
    /// No credentials: 401.
    NoCredentials,
    /// An expired token: 401 `invalid_token`.
    ExpiredToken,
    /// A valid token without the route's [`REQUIRED_SCOPE`]: 403 with `scope=`.
    MissingScope,
    /// No realm configured, no credentials: 401 `Bearer M`.
    NoRealmNoCredentials,
    /// The IdP is down and the verifier cold: 503, no challenge, `Retry-After`.
    Outage,
}

impl ResourceMetadataCase {
    /// Every row, in the table's order.
    pub const ALL: [ResourceMetadataCase; 5] = [
        ResourceMetadataCase::NoCredentials,
        ResourceMetadataCase::ExpiredToken,
        ResourceMetadataCase::MissingScope,
        ResourceMetadataCase::NoRealmNoCredentials,
        ResourceMetadataCase::Outage,
    ];

    /// The response status.
    pub fn status(self) -> u16 {
        match self {
            ResourceMetadataCase::MissingScope => 403,
            ResourceMetadataCase::Outage => 503,
            _ => 401,
        }
    }

    /// The realm the integration is configured with for this row ([`REALM`], or none).
    pub fn realm(self) -> Option<&'static str> {
        match self {
            ResourceMetadataCase::NoRealmNoCredentials => None,
            _ => Some(REALM),
        }
    }

    /// Whether the route requires [`REQUIRED_SCOPE`].
    pub fn requires_scope(self) -> bool {
        self == ResourceMetadataCase::MissingScope
    }

    /// The `Authorization` value to send (a token of `issuer`, or none). For
    /// [`Outage`](Self::Outage) a valid token: make the issuer fail before sending it to
    /// a cold verifier.
    pub fn authorization(self, issuer: &TestIssuer) -> Option<String> {
        match self {
            ResourceMetadataCase::NoCredentials | ResourceMetadataCase::NoRealmNoCredentials => {
                None
            }
            ResourceMetadataCase::ExpiredToken => Some(format!(
                "Bearer {}",
                issuer.token().claim("exp", json!(now() - 120)).build()
            )),
            ResourceMetadataCase::MissingScope | ResourceMetadataCase::Outage => Some(format!(
                "Bearer {}",
                issuer.token().claim("scope", json!("read")).build()
            )),
        }
    }

    /// The `WWW-Authenticate` fields, in order (none for 503). `expected`'s realm is
    /// replaced by [`realm`](Self::realm).
    pub fn fields(self, expected: &Expected) -> Vec<String> {
        let e = expected.clone().realm(self.realm());
        match self {
            ResourceMetadataCase::NoCredentials | ResourceMetadataCase::NoRealmNoCredentials => {
                vec![e.bearer()]
            }
            ResourceMetadataCase::ExpiredToken => vec![e.invalid_token("Token is expired")],
            ResourceMetadataCase::MissingScope => vec![e.field(
                "Bearer",
                Some(("insufficient_scope", "Insufficient scope")),
                Some(REQUIRED_SCOPE),
            )],
            ResourceMetadataCase::Outage => Vec::new(),
        }
    }
}

/// `Authorization` values that carry no usable credentials: none, `Basic`, and `Bearer`
/// without a token. Each is 401 `missing_token`: the bare challenge
/// ([`Expected::bearer`]), no `error`.
pub fn unauthenticated_authorizations() -> [Option<&'static str>; 3] {
    [None, Some("Basic dXNlcjpwYXNz"), Some("Bearer")]
}

/// The DPoP mode a [`DpopCase`] runs in (`ResourceConfig` `dpop`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Mode {
    /// `off`: Bearer only.
    Off,
    /// `allowed`: Bearer and DPoP.
    Allowed,
    /// `required`: DPoP only.
    Required,
}

impl Mode {
    /// The configuration value (`OIDC_DPOP`): `off`, `allowed`, `required`.
    pub fn as_str(self) -> &'static str {
        match self {
            Mode::Off => "off",
            Mode::Allowed => "allowed",
            Mode::Required => "required",
        }
    }
}

/// The rows of SPEC-2 §5.10. Configure the verifier with [`mode`](Self::mode), DPoP
/// algorithms `ES256, EdDSA`, nonces when [`nonce_mode`](Self::nonce_mode), a route
/// requiring [`REQUIRED_SCOPE`] when [`requires_scope`](Self::requires_scope); send
/// [`headers`](Self::headers) with `GET` (twice for [`Replay`](Self::Replay): the first
/// is 200); expect [`status`](Self::status), [`fields`](Self::fields), and a `DPoP-Nonce`
/// header when [`dpop_nonce`](Self::dpop_nonce).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum DpopCase {
    /// `allowed`, no credentials.
    AllowedNoCredentials,
    /// `allowed`, an expired (unbound) token as Bearer.
    AllowedBearerExpired,
    /// `allowed`, DPoP scheme with a proof signed by another key.
    AllowedBadProof,
    /// DPoP scheme, a proof for another path.
    HtuMismatch,
    /// DPoP scheme, a proof already used.
    Replay,
    /// DPoP scheme, a token bound to another key.
    Binding,
    /// DPoP scheme without a nonce, nonces on.
    NonceNeeded,
    /// DPoP scheme, valid, route requiring [`REQUIRED_SCOPE`]: 403.
    MissingScope,
    /// `allowed`, a DPoP-bound token as Bearer.
    BoundTokenAsBearerAllowed,
    /// `off`, a DPoP-bound token as Bearer.
    BoundTokenAsBearerOff,
    /// `required`, no credentials.
    RequiredNoCredentials,
    /// `required`, an unbound token as Bearer.
    RequiredBearer,
}

impl DpopCase {
    /// Every row, in the table's order (its last row twice: no credentials, Bearer).
    pub const ALL: [DpopCase; 12] = [
        DpopCase::AllowedNoCredentials,
        DpopCase::AllowedBearerExpired,
        DpopCase::AllowedBadProof,
        DpopCase::HtuMismatch,
        DpopCase::Replay,
        DpopCase::Binding,
        DpopCase::NonceNeeded,
        DpopCase::MissingScope,
        DpopCase::BoundTokenAsBearerAllowed,
        DpopCase::BoundTokenAsBearerOff,
        DpopCase::RequiredNoCredentials,
        DpopCase::RequiredBearer,
    ];

    /// The DPoP mode of the verifier.
    pub fn mode(self) -> Mode {
        match self {
            DpopCase::BoundTokenAsBearerOff => Mode::Off,
            DpopCase::RequiredNoCredentials | DpopCase::RequiredBearer => Mode::Required,
            _ => Mode::Allowed,
        }
    }

    /// Whether the verifier requires nonces (`dpop_nonce` on).
    pub fn nonce_mode(self) -> bool {
        self == DpopCase::NonceNeeded
    }

    /// Whether the route requires [`REQUIRED_SCOPE`].
    pub fn requires_scope(self) -> bool {
        self == DpopCase::MissingScope
    }

    /// Whether the request is sent once before (answered 200) and then again.
    pub fn sent_twice(self) -> bool {
        self == DpopCase::Replay
    }

    /// The response status.
    pub fn status(self) -> u16 {
        match self {
            DpopCase::MissingScope => 403,
            _ => 401,
        }
    }

    /// Whether the response carries `DPoP-Nonce`.
    pub fn dpop_nonce(self) -> bool {
        self == DpopCase::NonceNeeded
    }

    /// The request headers (`Authorization`, `DPoP`) for a `GET` of `path`, with tokens
    /// of `issuer` (its default audience, no scope but `read`) bound to `key`, and proofs
    /// signed by `key` for `htu` = [`PUBLIC_ORIGIN`] + `path`.
    pub fn headers(
        self,
        issuer: &TestIssuer,
        key: &TestKey,
        path: &str,
    ) -> Vec<(&'static str, String)> {
        let htu = format!("{PUBLIC_ORIGIN}{path}");
        let bound = issuer
            .token()
            .claim("scope", json!("read"))
            .cnf_jkt(key)
            .build();
        let proof = |token: &str| DpopProof::new(key).htu(&htu).ath_for(token);
        let dpop = |token: &str, proof: DpopProof| {
            vec![
                ("authorization", format!("DPoP {token}")),
                ("dpop", proof.build()),
            ]
        };
        match self {
            DpopCase::AllowedNoCredentials | DpopCase::RequiredNoCredentials => Vec::new(),
            DpopCase::AllowedBearerExpired => vec![(
                "authorization",
                format!(
                    "Bearer {}",
                    issuer.token().claim("exp", json!(now() - 120)).build()
                ),
            )],
            DpopCase::AllowedBadProof => {
                let other = TestKey::generate(key.alg(), "other");
                dpop(&bound, proof(&bound).signing_key(&other))
            }
            DpopCase::HtuMismatch => {
                let elsewhere = DpopProof::new(key)
                    .htu(&format!("{PUBLIC_ORIGIN}{path}/elsewhere"))
                    .ath_for(&bound);
                dpop(&bound, elsewhere)
            }
            DpopCase::Replay | DpopCase::NonceNeeded | DpopCase::MissingScope => {
                dpop(&bound, proof(&bound))
            }
            DpopCase::Binding => {
                let other = TestKey::generate(Alg::ES256, "other");
                let token = issuer.token().cnf_jkt(&other).build();
                dpop(&token, proof(&token))
            }
            DpopCase::BoundTokenAsBearerAllowed | DpopCase::BoundTokenAsBearerOff => {
                vec![("authorization", format!("Bearer {bound}"))]
            }
            DpopCase::RequiredBearer => vec![(
                "authorization",
                format!("Bearer {}", issuer.token().build()),
            )],
        }
    }

    /// The `WWW-Authenticate` fields, in order.
    pub fn fields(self, e: &Expected) -> Vec<String> {
        let dpop_error = |error, description| e.field("DPoP", Some((error, description)), None);
        match self {
            DpopCase::AllowedNoCredentials => vec![e.bearer(), e.dpop()],
            DpopCase::AllowedBearerExpired => {
                vec![e.invalid_token("Token is expired"), e.dpop()]
            }
            DpopCase::AllowedBadProof => vec![
                dpop_error("invalid_dpop_proof", "Invalid DPoP proof"),
                e.bearer(),
            ],
            DpopCase::HtuMismatch => vec![
                dpop_error(
                    "invalid_dpop_proof",
                    "DPoP proof does not match the request",
                ),
                e.bearer(),
            ],
            DpopCase::Replay => vec![
                dpop_error("invalid_dpop_proof", "DPoP proof replayed"),
                e.bearer(),
            ],
            DpopCase::Binding => vec![
                dpop_error("invalid_token", "Invalid DPoP key binding"),
                e.bearer(),
            ],
            DpopCase::NonceNeeded => vec![
                dpop_error(
                    "use_dpop_nonce",
                    "Resource server requires nonce in DPoP proof",
                ),
                e.bearer(),
            ],
            DpopCase::MissingScope => vec![e.field(
                "DPoP",
                Some(("insufficient_scope", "Insufficient scope")),
                Some(REQUIRED_SCOPE),
            )],
            DpopCase::BoundTokenAsBearerAllowed => vec![
                e.invalid_token("DPoP-bound token requires the DPoP scheme"),
                e.dpop(),
            ],
            DpopCase::BoundTokenAsBearerOff => {
                vec![e.invalid_token("DPoP-bound token requires the DPoP scheme")]
            }
            DpopCase::RequiredNoCredentials | DpopCase::RequiredBearer => vec![e.dpop()],
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const M: &str =
        r#"resource_metadata="https://api.example.com/.well-known/oauth-protected-resource/mcp""#;

    /// The tables of SPEC-2 §4.6 and §5.10, as printed there.
    #[test]
    fn spec_tables_verbatim() {
        let e = Expected::spec();
        let rm: Vec<Vec<String>> = ResourceMetadataCase::ALL
            .iter()
            .map(|c| c.fields(&e))
            .collect();
        assert_eq!(rm[0], [format!(r#"Bearer realm="api", {M}"#)]);
        assert_eq!(
            rm[1],
            [format!(
                r#"Bearer realm="api", error="invalid_token", error_description="Token is expired", {M}"#
            )]
        );
        assert_eq!(
            rm[2],
            [format!(
                r#"Bearer realm="api", error="insufficient_scope", error_description="Insufficient scope", scope="admin", {M}"#
            )]
        );
        assert_eq!(rm[3], [format!("Bearer {M}")]);
        assert!(rm[4].is_empty());

        let dpop = format!(r#"DPoP realm="api", algs="ES256 EdDSA", {M}"#);
        let bearer = format!(r#"Bearer realm="api", {M}"#);
        assert_eq!(
            DpopCase::AllowedNoCredentials.fields(&e),
            [bearer.clone(), dpop.clone()]
        );
        assert_eq!(
            DpopCase::HtuMismatch.fields(&e),
            [
                format!(
                    r#"DPoP realm="api", error="invalid_dpop_proof", error_description="DPoP proof does not match the request", algs="ES256 EdDSA", {M}"#
                ),
                bearer
            ]
        );
        assert_eq!(
            DpopCase::MissingScope.fields(&e),
            [format!(
                r#"DPoP realm="api", error="insufficient_scope", error_description="Insufficient scope", scope="admin", algs="ES256 EdDSA", {M}"#
            )]
        );
        assert_eq!(DpopCase::RequiredBearer.fields(&e), [dpop]);
        // Without a resource: no `, M`.
        let plain = Expected::new(Some("api"));
        assert_eq!(
            DpopCase::BoundTokenAsBearerOff.fields(&plain),
            [
                r#"Bearer realm="api", error="invalid_token", error_description="DPoP-bound token requires the DPoP scheme""#
            ]
        );
    }

    /// Every expected field passes the strict parser.
    #[test]
    fn expected_fields_parse() {
        for e in [
            Expected::spec(),
            Expected::new(None),
            Expected::new(Some(r#"a "q" \b"#)),
        ] {
            let all = DpopCase::ALL
                .iter()
                .flat_map(|c| c.fields(&e))
                .chain(ResourceMetadataCase::ALL.iter().flat_map(|c| c.fields(&e)));
            for field in all {
                super::super::challenge_parser::parse(&field).expect(&field);
            }
        }
    }
}
