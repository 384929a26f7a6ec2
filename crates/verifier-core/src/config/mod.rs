//! Verifier configuration, validated once at construction.
//!
//! - [`fields`]: every field once (kind, environment variable, default); the builder's
//!   storage, the file form and `from_env` are generated from it by [`table`].
//! - [`builder`]: the setters and every rule ([`AuthConfigBuilder::build`]).
//! - [`env`](mod@env) and [`serde`](mod@serde): `from_env` and `Deserialize`.

use std::net::IpAddr;
use std::sync::Arc;
use std::time::Duration;

use url::Url;

use crate::alg::Algorithm;
use crate::claims::{ClaimNames, ClaimPath, ClaimRule};
use crate::clock::Clock;
use crate::discovery::Discovery;

mod audience;
mod builder;
mod env;
mod fields;
mod issuers;
mod kind;
mod resource;
mod serde;
mod table;

pub use audience::AudienceMode;
pub use builder::AuthConfigBuilder;
pub use issuers::{VerifierConfig, MAX_ISSUERS};
pub use resource::{ResourceConfig, ResourceConfigBuilder};

/// Everything a verifier needs to know, validated once.
///
/// Build it with [`AuthConfig::builder`], deserialize it (seconds as numbers), or read it
/// from `OIDC_*` environment variables with [`AuthConfig::from_env`]. Fields are private;
/// a value that exists always satisfies every rule.
///
/// ```
/// use std::time::Duration;
/// use verifier_core::{AuthConfig, Algorithm};
///
/// let config = AuthConfig::builder()
///     .issuer("https://issuer.example/")
///     .audience("https://api.example")
///     .jwks_url("https://issuer.example/.well-known/jwks.json")
///     .allowed_algs([Algorithm::RS256, Algorithm::ES256])
///     .leeway(Duration::from_secs(30))
///     .required_scopes(["read:users"])
///     .build()?;
/// assert_eq!(config.jwks_cache_ttl(), Duration::from_secs(300));
/// # Ok::<(), verifier_core::ConfigError>(())
/// ```
#[derive(Clone, Debug)]
pub struct AuthConfig {
    issuer: String,
    audiences: Vec<String>,
    key_source: Source,
    allowed_algs: Vec<Algorithm>,
    leeway: Duration,
    jwks_timeout: Duration,
    jwks_cache_ttl: Duration,
    jwks_cache_ttl_jitter: Duration,
    jwks_max_cached_keys: usize,
    enforce_minimum_key_length: bool,
    required_scopes: Vec<String>,
    required_permissions: Vec<String>,
    scope_claim: String,
    permissions_claim: String,
    max_token_bytes: usize,
    jwks_refresh_cooldown: Duration,
    jwks_max_stale: Duration,
    jwks_max_bytes: usize,
    allow_insecure_http: bool,
    jwks_backoff_initial: Duration,
    jwks_backoff_max: Duration,
    verified_token_cache: usize,
    discovery_cache_ttl: Duration,
    discovery_max_stale: Duration,
    clock: Arc<dyn Clock>,
    claim_names: Arc<ClaimNames>,
    allowed_clients: Vec<String>,
    audience_mode: AudienceMode,
    required_token_use: Option<String>,
    rules: Vec<ClaimRule>,
    allow_unverified_token_binding: bool,
    access_token_profile: crate::profile::AccessTokenProfile,
}

/// Where a configuration's keys come from (validated; see [`AuthConfig::key_source`]).
#[derive(Clone, Debug)]
pub(crate) enum Source {
    JwksUrl(Url),
    Discovery { mode: Discovery, url: Option<Url> },
    Static(Arc<str>),
}

/// Where an issuer's keys come from: exactly one of these per [`AuthConfig`].
///
/// ```
/// use verifier_core::{AuthConfig, KeySource};
/// use verifier_core::discovery::Discovery;
///
/// let discovering = AuthConfig::builder()
///     .issuer("https://issuer.example")
///     .audience("api")
///     .build()?;
/// assert!(matches!(
///     discovering.key_source(),
///     KeySource::Discovery { mode: Discovery::Auto, url: None }
/// ));
/// assert_eq!(discovering.jwks_url(), None);
/// # Ok::<(), verifier_core::ConfigError>(())
/// ```
#[derive(Clone, Copy, Debug)]
#[non_exhaustive]
pub enum KeySource<'a> {
    /// A configured key-set URL (`jwks_url`).
    JwksUrl(&'a Url),
    /// The issuer's metadata names the key-set URL (`jwks_uri`): OpenID Connect
    /// Discovery or RFC 8414, or the metadata document at `url` when one is configured.
    Discovery {
        /// How the metadata URL is found.
        mode: Discovery,
        /// An explicit metadata URL (`discovery_url`).
        url: Option<&'a Url>,
    },
    /// A key set given in code ([`AuthConfigBuilder::static_jwks`]): never fetched.
    Static,
}

impl AuthConfig {
    /// Starts a builder; `issuer` and `audience` are required. Keys come from
    /// `jwks_url` when it is set, from a key set given in code
    /// ([`static_jwks`](AuthConfigBuilder::static_jwks)), and otherwise from the issuer's
    /// metadata (discovery).
    pub fn builder() -> AuthConfigBuilder {
        AuthConfigBuilder::default()
    }

    /// The expected `iss`, compared exactly.
    pub fn issuer(&self) -> &str {
        &self.issuer
    }
    /// The accepted audiences; a token must name at least one.
    pub fn audiences(&self) -> &[String] {
        &self.audiences
    }
    /// The configured key-set URL; `None` when keys are discovered from the issuer's
    /// metadata or given in code (see [`key_source`](Self::key_source)).
    pub fn jwks_url(&self) -> Option<&Url> {
        match &self.key_source {
            Source::JwksUrl(url) => Some(url),
            _ => None,
        }
    }
    /// Where keys come from (and the only place they come from).
    pub fn key_source(&self) -> KeySource<'_> {
        match &self.key_source {
            Source::JwksUrl(url) => KeySource::JwksUrl(url),
            Source::Discovery { mode, url } => KeySource::Discovery {
                mode: *mode,
                url: url.as_ref(),
            },
            Source::Static(_) => KeySource::Static,
        }
    }
    /// How metadata is found: [`Discovery::Off`] when keys come from `jwks_url` or from
    /// code, else the configured mode (default [`Discovery::Auto`]).
    pub fn discovery(&self) -> Discovery {
        match &self.key_source {
            Source::Discovery { mode, .. } => *mode,
            _ => Discovery::Off,
        }
    }
    /// An explicit metadata URL, fetched as is (its `issuer` must still equal ours).
    pub fn discovery_url(&self) -> Option<&Url> {
        match &self.key_source {
            Source::Discovery { url, .. } => url.as_ref(),
            _ => None,
        }
    }
    /// How long a metadata document is fresh (default 3600 s).
    pub fn discovery_cache_ttl(&self) -> Duration {
        self.discovery_cache_ttl
    }
    /// How long past its TTL a metadata document keeps supplying `jwks_uri` while
    /// metadata refreshes fail (default 86400 s).
    pub fn discovery_max_stale(&self) -> Duration {
        self.discovery_max_stale
    }
    pub(crate) fn source(&self) -> &Source {
        &self.key_source
    }
    /// Algorithms accepted in token headers (default `RS256`).
    pub fn allowed_algs(&self) -> &[Algorithm] {
        &self.allowed_algs
    }
    /// Clock skew tolerated on `exp`, `nbf` and `iat` (default 0).
    pub fn leeway(&self) -> Duration {
        self.leeway
    }
    /// Deadline for a whole key-set request (default 3 s).
    pub fn jwks_timeout(&self) -> Duration {
        self.jwks_timeout
    }
    /// How long a fetched key set is fresh (default 300 s).
    pub fn jwks_cache_ttl(&self) -> Duration {
        self.jwks_cache_ttl
    }
    /// Most taken off each key set's freshness at random (default 0: exact TTL).
    pub fn jwks_cache_ttl_jitter(&self) -> Duration {
        self.jwks_cache_ttl_jitter
    }
    /// Most keys kept from one key set (default 16).
    pub fn jwks_max_cached_keys(&self) -> usize {
        self.jwks_max_cached_keys
    }
    /// Whether RSA keys under 2048 bits are refused (default true).
    pub fn enforce_minimum_key_length(&self) -> bool {
        self.enforce_minimum_key_length
    }
    /// Scopes every token must carry, sorted.
    pub fn required_scopes(&self) -> &[String] {
        &self.required_scopes
    }
    /// Permissions every token must carry, sorted.
    pub fn required_permissions(&self) -> &[String] {
        &self.required_permissions
    }
    /// Claim holding scopes (default `scope`).
    pub fn scope_claim(&self) -> &str {
        &self.scope_claim
    }
    /// Claim holding permissions (default `permissions`).
    pub fn permissions_claim(&self) -> &str {
        &self.permissions_claim
    }
    /// Largest accepted token, in bytes (default 16 KiB).
    pub fn max_token_bytes(&self) -> usize {
        self.max_token_bytes
    }
    /// Least time between two refreshes caused by unknown `kid`s (default 30 s).
    pub fn jwks_refresh_cooldown(&self) -> Duration {
        self.jwks_refresh_cooldown
    }
    /// How long past its TTL a key set may serve while the endpoint fails (default 1 h).
    pub fn jwks_max_stale(&self) -> Duration {
        self.jwks_max_stale
    }
    /// Largest accepted key-set response, in bytes (default 1 MiB).
    pub fn jwks_max_bytes(&self) -> usize {
        self.jwks_max_bytes
    }
    /// Whether plain `http` key-set URLs are allowed for non-loopback hosts (default false).
    pub fn allow_insecure_http(&self) -> bool {
        self.allow_insecure_http
    }
    /// Whether a token bound by a `cnf` member this library cannot verify (e.g. an mTLS
    /// `x5t#S256`, RFC 8705) is accepted, for proxies that check that binding (default
    /// false: "Unsupported token binding"). A `cnf.jkt` (DPoP) binding is never ignored.
    pub fn allow_unverified_token_binding(&self) -> bool {
        self.allow_unverified_token_binding
    }
    /// First retry delay after a failed refresh (default 1 s; doubles per failure).
    pub fn jwks_backoff_initial(&self) -> Duration {
        self.jwks_backoff_initial
    }
    /// Longest retry delay after failed refreshes (default 60 s).
    pub fn jwks_backoff_max(&self) -> Duration {
        self.jwks_backoff_max
    }

    /// Capacity of the optional verified-token cache (0 = off, the default).
    pub fn verified_token_cache(&self) -> usize {
        self.verified_token_cache
    }

    /// The time source (default [`SystemClock`](crate::SystemClock); see [`AuthConfigBuilder::clock`]).
    pub fn clock(&self) -> &Arc<dyn Clock> {
        &self.clock
    }

    /// [`scope_claim`](Self::scope_claim) as a path (see [`ClaimPath`]).
    pub fn scope_claim_path(&self) -> &ClaimPath {
        &self.claim_names.scope
    }
    /// [`permissions_claim`](Self::permissions_claim) as a path (see [`ClaimPath`]).
    pub fn permissions_claim_path(&self) -> &ClaimPath {
        &self.claim_names.permissions
    }
    /// The clients allowed to present tokens (`azp`, else `client_id`), sorted; empty =
    /// any client (the default).
    pub fn allowed_clients(&self) -> &[String] {
        &self.allowed_clients
    }
    /// Which claim names the audience (default [`AudienceMode::Aud`]).
    pub fn audience_mode(&self) -> AudienceMode {
        self.audience_mode
    }
    /// The `token_use` value every token must carry (AWS Cognito: `access`), if any.
    pub fn required_token_use(&self) -> Option<&str> {
        self.required_token_use.as_deref()
    }
    /// The access-token profile (default [`Generic`](crate::AccessTokenProfile::Generic)).
    pub fn access_token_profile(&self) -> crate::profile::AccessTokenProfile {
        self.access_token_profile
    }
    /// How many rules were added with [`AuthConfigBuilder::rule`].
    pub fn rule_count(&self) -> usize {
        self.rules.len()
    }

    pub(crate) fn claim_names(&self) -> &Arc<ClaimNames> {
        &self.claim_names
    }
    pub(crate) fn rules(&self) -> &[ClaimRule] {
        &self.rules
    }
}

pub(crate) fn is_loopback(url: &Url) -> bool {
    match url.host() {
        Some(url::Host::Domain(d)) => d.eq_ignore_ascii_case("localhost"),
        Some(url::Host::Ipv4(ip)) => IpAddr::V4(ip).is_loopback(),
        Some(url::Host::Ipv6(ip)) => IpAddr::V6(ip).is_loopback(),
        None => false,
    }
}
