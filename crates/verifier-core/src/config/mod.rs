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

mod audience;
mod builder;
mod env;
mod fields;
mod kind;
mod serde;
mod table;

pub use audience::AudienceMode;
pub use builder::AuthConfigBuilder;

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
    jwks_url: Url,
    allowed_algs: Vec<Algorithm>,
    leeway: Duration,
    jwks_timeout: Duration,
    jwks_cache_ttl: Duration,
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
    clock: Arc<dyn Clock>,
    claim_names: Arc<ClaimNames>,
    allowed_clients: Vec<String>,
    audience_mode: AudienceMode,
    required_token_use: Option<String>,
    rules: Vec<ClaimRule>,
}

impl AuthConfig {
    /// Starts a builder; `issuer`, `audience` and `jwks_url` are required.
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
    /// Where keys come from (and the only place they come from).
    pub fn jwks_url(&self) -> &Url {
        &self.jwks_url
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
