//! Verifier configuration, validated once at construction.

use std::collections::BTreeSet;
use std::net::IpAddr;
use std::sync::Arc;
use std::time::Duration;

use serde::Deserialize;
use url::Url;

use crate::alg::Algorithm;
use crate::clock::{Clock, SystemClock};
use crate::error::ConfigError;

const MAX_TTL: Duration = Duration::from_secs(86_400);
/// Upper bounds of the other durations (documented in docs/configuration.md): past them
/// a value is a configuration mistake, and bounding them keeps every instant arithmetic
/// of the lifecycle far from overflow.
const MAX_LEEWAY: Duration = Duration::from_secs(3_600);
const MAX_JWKS_TIMEOUT: Duration = Duration::from_secs(300);
const MAX_REFRESH_COOLDOWN: Duration = Duration::from_secs(86_400);
const MAX_STALE: Duration = Duration::from_secs(7 * 86_400);
const MAX_BACKOFF: Duration = Duration::from_secs(86_400);
const MAX_CACHED_KEYS: usize = 1024;

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
}

/// Largest verified-token cache allowed.
const MAX_TOKEN_CACHE: usize = 1 << 20;

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

    /// The time source (default [`SystemClock`]; see [`AuthConfigBuilder::clock`]).
    pub fn clock(&self) -> &Arc<dyn Clock> {
        &self.clock
    }

    /// Reads the configuration from `OIDC_*` environment variables.
    ///
    /// `OIDC_ISSUER`, `OIDC_AUDIENCE` (comma-separated), `OIDC_JWKS_URL`,
    /// `OIDC_ALLOWED_ALGS` (comma-separated), `OIDC_LEEWAY_S`, `OIDC_JWKS_TIMEOUT_S`,
    /// `OIDC_JWKS_CACHE_TTL_S`, `OIDC_JWKS_MAX_CACHED_KEYS`, `OIDC_REQUIRED_SCOPES`,
    /// `OIDC_REQUIRED_PERMISSIONS` (space-separated), `OIDC_SCOPE_CLAIM`,
    /// `OIDC_PERMISSIONS_CLAIM`, `OIDC_JWKS_REFRESH_COOLDOWN_S`, `OIDC_JWKS_MAX_STALE_S`,
    /// `OIDC_ALLOW_INSECURE_HTTP`, and also `OIDC_MAX_TOKEN_BYTES`, `OIDC_JWKS_MAX_BYTES`,
    /// `OIDC_ENFORCE_MINIMUM_KEY_LENGTH`. `_S` variables take seconds, fractions allowed.
    /// A bad value is a [`ConfigError`] naming the variable.
    pub fn from_env() -> Result<AuthConfig, ConfigError> {
        Self::from_env_lookup(|name| std::env::var(name).ok())
    }

    /// Like [`from_env`](Self::from_env), reading variables through `lookup`.
    ///
    /// ```
    /// use std::collections::HashMap;
    /// use verifier_core::AuthConfig;
    /// let vars = HashMap::from([
    ///     ("OIDC_ISSUER", "https://issuer.example/"),
    ///     ("OIDC_AUDIENCE", "api-1, api-2"),
    ///     ("OIDC_JWKS_URL", "https://issuer.example/jwks.json"),
    ///     ("OIDC_LEEWAY_S", "0.5"),
    /// ]);
    /// let config = AuthConfig::from_env_lookup(|k| vars.get(k).map(|v| v.to_string()))?;
    /// assert_eq!(config.audiences(), ["api-1", "api-2"]);
    /// assert_eq!(config.leeway().as_millis(), 500);
    /// # Ok::<(), verifier_core::ConfigError>(())
    /// ```
    pub fn from_env_lookup<F>(lookup: F) -> Result<AuthConfig, ConfigError>
    where
        F: Fn(&str) -> Option<String>,
    {
        let mut b = AuthConfig::builder();
        let required =
            |name: &'static str| lookup(name).ok_or_else(|| ConfigError::new(name, "must be set"));
        b = b.issuer(required("OIDC_ISSUER")?);
        b = b.audiences(split_list(&required("OIDC_AUDIENCE")?, ','));
        b = b.jwks_url(required("OIDC_JWKS_URL")?);
        if let Some(v) = lookup("OIDC_ALLOWED_ALGS") {
            let algs = split_list(&v, ',')
                .iter()
                .map(|a| a.parse::<Algorithm>())
                .collect::<Result<Vec<_>, _>>()
                .map_err(|e| e.renamed("OIDC_ALLOWED_ALGS"))?;
            if algs.is_empty() {
                return Err(ConfigError::new("OIDC_ALLOWED_ALGS", "must be non-empty"));
            }
            b = b.allowed_algs(algs);
        }
        let secs = |name: &'static str| -> Result<Option<Duration>, ConfigError> {
            lookup(name)
                .map(|v| parse_secs(&v).map_err(|r| ConfigError::new(name, r)))
                .transpose()
        };
        let count = |name: &'static str| -> Result<Option<usize>, ConfigError> {
            lookup(name)
                .map(|v| {
                    v.trim().parse::<usize>().map_err(|_| {
                        ConfigError::new(name, format!("must be a non-negative integer, got {v:?}"))
                    })
                })
                .transpose()
        };
        let flag = |name: &'static str| -> Result<Option<bool>, ConfigError> {
            lookup(name)
                .map(|v| {
                    parse_bool(&v).ok_or_else(|| {
                        ConfigError::new(name, format!("must be true or false, got {v:?}"))
                    })
                })
                .transpose()
        };
        let map_err = |name: &'static str| move |e: ConfigError| e.renamed(name);
        // Each setter's rule is checked in build(); rename the error to the variable.
        let mut env_names: Vec<(&'static str, &'static str)> = Vec::new();
        if let Some(d) = secs("OIDC_LEEWAY_S")? {
            b = b.leeway(d);
            env_names.push(("leeway", "OIDC_LEEWAY_S"));
        }
        if let Some(d) = secs("OIDC_JWKS_TIMEOUT_S")? {
            b = b.jwks_timeout(d);
            env_names.push(("jwks_timeout", "OIDC_JWKS_TIMEOUT_S"));
        }
        if let Some(d) = secs("OIDC_JWKS_CACHE_TTL_S")? {
            b = b.jwks_cache_ttl(d);
            env_names.push(("jwks_cache_ttl", "OIDC_JWKS_CACHE_TTL_S"));
        }
        if let Some(n) = count("OIDC_JWKS_MAX_CACHED_KEYS")? {
            b = b.jwks_max_cached_keys(n);
            env_names.push(("jwks_max_cached_keys", "OIDC_JWKS_MAX_CACHED_KEYS"));
        }
        if let Some(v) = lookup("OIDC_REQUIRED_SCOPES") {
            b = b.required_scopes(v.split_whitespace().map(str::to_owned));
        }
        if let Some(v) = lookup("OIDC_REQUIRED_PERMISSIONS") {
            b = b.required_permissions(v.split_whitespace().map(str::to_owned));
        }
        if let Some(v) = lookup("OIDC_SCOPE_CLAIM") {
            b = b.scope_claim(v);
            env_names.push(("scope_claim", "OIDC_SCOPE_CLAIM"));
        }
        if let Some(v) = lookup("OIDC_PERMISSIONS_CLAIM") {
            b = b.permissions_claim(v);
            env_names.push(("permissions_claim", "OIDC_PERMISSIONS_CLAIM"));
        }
        if let Some(d) = secs("OIDC_JWKS_REFRESH_COOLDOWN_S")? {
            b = b.jwks_refresh_cooldown(d);
            env_names.push(("jwks_refresh_cooldown", "OIDC_JWKS_REFRESH_COOLDOWN_S"));
        }
        if let Some(d) = secs("OIDC_JWKS_MAX_STALE_S")? {
            b = b.jwks_max_stale(d);
            env_names.push(("jwks_max_stale", "OIDC_JWKS_MAX_STALE_S"));
        }
        if let Some(v) = flag("OIDC_ALLOW_INSECURE_HTTP")? {
            b = b.allow_insecure_http(v);
        }
        if let Some(v) = flag("OIDC_ENFORCE_MINIMUM_KEY_LENGTH")? {
            b = b.enforce_minimum_key_length(v);
        }
        if let Some(n) = count("OIDC_MAX_TOKEN_BYTES")? {
            b = b.max_token_bytes(n);
            env_names.push(("max_token_bytes", "OIDC_MAX_TOKEN_BYTES"));
        }
        if let Some(n) = count("OIDC_JWKS_MAX_BYTES")? {
            b = b.jwks_max_bytes(n);
            env_names.push(("jwks_max_bytes", "OIDC_JWKS_MAX_BYTES"));
        }
        env_names.extend([
            ("issuer", "OIDC_ISSUER"),
            ("audience", "OIDC_AUDIENCE"),
            ("jwks_url", "OIDC_JWKS_URL"),
            ("allowed_algs", "OIDC_ALLOWED_ALGS"),
        ]);
        b.build().map_err(
            |e| match env_names.iter().find(|(field, _)| *field == e.field()) {
                Some((_, var)) => map_err(var)(e),
                None => e,
            },
        )
    }
}

fn split_list(value: &str, sep: char) -> Vec<String> {
    value
        .split(sep)
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .map(str::to_owned)
        .collect()
}

fn parse_secs(value: &str) -> Result<Duration, String> {
    let v: f64 = value
        .trim()
        .parse()
        .map_err(|_| format!("must be a number of seconds, got {value:?}"))?;
    secs_to_duration(v)
}

fn secs_to_duration(v: f64) -> Result<Duration, String> {
    if !v.is_finite() || v < 0.0 {
        return Err(format!("must be a finite number of seconds >= 0, got {v}"));
    }
    Duration::try_from_secs_f64(v).map_err(|_| format!("is out of range: {v}"))
}

fn parse_bool(value: &str) -> Option<bool> {
    match value.trim().to_ascii_lowercase().as_str() {
        "1" | "true" | "yes" | "on" => Some(true),
        "0" | "false" | "no" | "off" | "" => Some(false),
        _ => None,
    }
}

/// Builder for [`AuthConfig`]; every rule is checked in [`build`](Self::build).
#[derive(Clone, Debug, Default)]
#[must_use]
pub struct AuthConfigBuilder {
    issuer: Option<String>,
    audiences: Vec<String>,
    jwks_url: Option<String>,
    allowed_algs: Option<Vec<Algorithm>>,
    leeway: Option<Duration>,
    jwks_timeout: Option<Duration>,
    jwks_cache_ttl: Option<Duration>,
    jwks_max_cached_keys: Option<usize>,
    enforce_minimum_key_length: Option<bool>,
    required_scopes: Vec<String>,
    required_permissions: Vec<String>,
    scope_claim: Option<String>,
    permissions_claim: Option<String>,
    max_token_bytes: Option<usize>,
    jwks_refresh_cooldown: Option<Duration>,
    jwks_max_stale: Option<Duration>,
    jwks_max_bytes: Option<usize>,
    allow_insecure_http: Option<bool>,
    jwks_backoff_initial: Option<Duration>,
    jwks_backoff_max: Option<Duration>,
    verified_token_cache: Option<usize>,
    clock: Option<Arc<dyn Clock>>,
}

impl AuthConfigBuilder {
    /// The expected `iss` (required; trimmed, non-empty).
    pub fn issuer(mut self, issuer: impl Into<String>) -> Self {
        self.issuer = Some(issuer.into());
        self
    }
    /// Adds an accepted audience (at least one is required).
    pub fn audience(mut self, audience: impl Into<String>) -> Self {
        self.audiences.push(audience.into());
        self
    }
    /// Adds several accepted audiences.
    pub fn audiences<I, S>(mut self, audiences: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        self.audiences.extend(audiences.into_iter().map(Into::into));
        self
    }
    /// The key-set URL (required; `https` unless loopback or [`allow_insecure_http`](Self::allow_insecure_http)).
    pub fn jwks_url(mut self, url: impl Into<String>) -> Self {
        self.jwks_url = Some(url.into());
        self
    }
    /// Replaces the accepted algorithms (default `[RS256]`; must be non-empty).
    pub fn allowed_algs(mut self, algs: impl IntoIterator<Item = Algorithm>) -> Self {
        self.allowed_algs = Some(algs.into_iter().collect());
        self
    }
    /// Clock skew tolerated on time claims (default 0; at most 3600 s).
    pub fn leeway(mut self, leeway: Duration) -> Self {
        self.leeway = Some(leeway);
        self
    }
    /// Whole-request deadline for key-set fetches (default 3 s; in (0, 300 s]).
    pub fn jwks_timeout(mut self, timeout: Duration) -> Self {
        self.jwks_timeout = Some(timeout);
        self
    }
    /// Key-set freshness (default 300 s; in (0, 86400 s]).
    pub fn jwks_cache_ttl(mut self, ttl: Duration) -> Self {
        self.jwks_cache_ttl = Some(ttl);
        self
    }
    /// Most keys kept from one key set (default 16; in [1, 1024]).
    pub fn jwks_max_cached_keys(mut self, n: usize) -> Self {
        self.jwks_max_cached_keys = Some(n);
        self
    }
    /// Refuse RSA keys under 2048 bits (default true).
    pub fn enforce_minimum_key_length(mut self, on: bool) -> Self {
        self.enforce_minimum_key_length = Some(on);
        self
    }
    /// Adds scopes every token must carry (entries trimmed, empty ones ignored; a string is one scope).
    pub fn required_scopes<I, S>(mut self, scopes: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        self.required_scopes
            .extend(scopes.into_iter().map(Into::into));
        self
    }
    /// Adds permissions every token must carry (entries trimmed, empty ones ignored).
    pub fn required_permissions<I, S>(mut self, permissions: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        self.required_permissions
            .extend(permissions.into_iter().map(Into::into));
        self
    }
    /// Claim holding scopes (default `scope`).
    pub fn scope_claim(mut self, name: impl Into<String>) -> Self {
        self.scope_claim = Some(name.into());
        self
    }
    /// Claim holding permissions (default `permissions`).
    pub fn permissions_claim(mut self, name: impl Into<String>) -> Self {
        self.permissions_claim = Some(name.into());
        self
    }
    /// Largest accepted token in bytes (default 16 KiB; > 0).
    pub fn max_token_bytes(mut self, n: usize) -> Self {
        self.max_token_bytes = Some(n);
        self
    }
    /// Least time between refreshes caused by unknown `kid`s (default 30 s; at most 86400 s).
    pub fn jwks_refresh_cooldown(mut self, d: Duration) -> Self {
        self.jwks_refresh_cooldown = Some(d);
        self
    }
    /// How long past its TTL a key set may serve while the endpoint fails (default 3600 s; 0 = fail closed at TTL; at most 604800 s, 7 days).
    pub fn jwks_max_stale(mut self, d: Duration) -> Self {
        self.jwks_max_stale = Some(d);
        self
    }
    /// Largest accepted key-set response in bytes (default 1 MiB; > 0).
    pub fn jwks_max_bytes(mut self, n: usize) -> Self {
        self.jwks_max_bytes = Some(n);
        self
    }
    /// Allow plain `http` key-set URLs for non-loopback hosts (default false; never in production).
    pub fn allow_insecure_http(mut self, on: bool) -> Self {
        self.allow_insecure_http = Some(on);
        self
    }
    /// First retry delay after a failed refresh (default 1 s; in (0, 86400 s]).
    pub fn jwks_backoff_initial(mut self, d: Duration) -> Self {
        self.jwks_backoff_initial = Some(d);
        self
    }
    /// Longest retry delay after failed refreshes (default 60 s; >= the initial delay, at most 86400 s).
    pub fn jwks_backoff_max(mut self, d: Duration) -> Self {
        self.jwks_backoff_max = Some(d);
        self
    }

    /// Enables a cache of this many verified tokens (default 0 = off; at most 2^20).
    ///
    /// A repeated token then skips the signature check: keyed by the whole token, never
    /// used at or past `exp`, `nbf` re-checked on every hit, flushed whenever the key set
    /// is refetched. Worth it when clients reuse tokens across many requests.
    pub fn verified_token_cache(mut self, capacity: usize) -> Self {
        self.verified_token_cache = Some(capacity);
        self
    }

    /// The time source for the time claims, the verified-token cache and the key-set
    /// lifecycle (default [`SystemClock`]). Meant for tests that move time by hand
    /// (`verifier_testkit::TestClock`) instead of sleeping; network deadlines
    /// (`jwks_timeout`) stay real time. Code only: not read from serde or the environment.
    ///
    /// ```
    /// use std::sync::Arc;
    /// use verifier_core::{AuthConfig, SystemClock};
    /// let config = AuthConfig::builder()
    ///     .issuer("https://issuer.example/")
    ///     .audience("api")
    ///     .jwks_url("https://issuer.example/jwks.json")
    ///     .clock(Arc::new(SystemClock))
    ///     .build()?;
    /// # let _ = config;
    /// # Ok::<(), verifier_core::ConfigError>(())
    /// ```
    pub fn clock(mut self, clock: Arc<dyn Clock>) -> Self {
        self.clock = Some(clock);
        self
    }

    /// Checks every rule and builds the configuration.
    pub fn build(self) -> Result<AuthConfig, ConfigError> {
        let issuer = non_empty("issuer", self.issuer.as_deref())?;
        let audiences: Vec<String> = self.audiences.iter().map(|a| a.trim().to_owned()).collect();
        if audiences.is_empty() || audiences.iter().any(String::is_empty) {
            return Err(ConfigError::new("audience", "must be non-empty"));
        }
        let jwks_url_str = non_empty("jwks_url", self.jwks_url.as_deref())?;
        let allow_insecure_http = self.allow_insecure_http.unwrap_or(false);
        let jwks_url = Url::parse(&jwks_url_str)
            .map_err(|e| ConfigError::new("jwks_url", format!("must be a URL ({e})")))?;
        match jwks_url.scheme() {
            "https" => {}
            "http" if allow_insecure_http || is_loopback(&jwks_url) => {}
            "http" => {
                return Err(ConfigError::new(
                    "jwks_url",
                    "must use https (plain http is allowed only for loopback hosts or with allow_insecure_http)",
                ))
            }
            other => {
                return Err(ConfigError::new(
                    "jwks_url",
                    format!("must use https, not {other:?}"),
                ))
            }
        }
        if jwks_url.host().is_none() {
            return Err(ConfigError::new("jwks_url", "must have a host"));
        }
        let mut allowed_algs = self.allowed_algs.unwrap_or_else(|| vec![Algorithm::RS256]);
        if allowed_algs.is_empty() {
            return Err(ConfigError::new("allowed_algs", "must be non-empty"));
        }
        allowed_algs.dedup();
        let leeway = at_most("leeway", self.leeway.unwrap_or(Duration::ZERO), MAX_LEEWAY)?;
        let jwks_timeout = self.jwks_timeout.unwrap_or(Duration::from_secs(3));
        if jwks_timeout.is_zero() {
            return Err(ConfigError::new("jwks_timeout", "must be > 0"));
        }
        let jwks_timeout = at_most("jwks_timeout", jwks_timeout, MAX_JWKS_TIMEOUT)?;
        let jwks_cache_ttl = self.jwks_cache_ttl.unwrap_or(Duration::from_secs(300));
        if jwks_cache_ttl.is_zero() || jwks_cache_ttl > MAX_TTL {
            return Err(ConfigError::new(
                "jwks_cache_ttl",
                "must be in (0, 86400] seconds",
            ));
        }
        let jwks_max_cached_keys = self.jwks_max_cached_keys.unwrap_or(16);
        if !(1..=MAX_CACHED_KEYS).contains(&jwks_max_cached_keys) {
            return Err(ConfigError::new(
                "jwks_max_cached_keys",
                "must be in [1, 1024]",
            ));
        }
        let max_token_bytes = self.max_token_bytes.unwrap_or(16 * 1024);
        if max_token_bytes == 0 {
            return Err(ConfigError::new("max_token_bytes", "must be > 0"));
        }
        let jwks_max_bytes = self.jwks_max_bytes.unwrap_or(1024 * 1024);
        if jwks_max_bytes == 0 {
            return Err(ConfigError::new("jwks_max_bytes", "must be > 0"));
        }
        let jwks_backoff_initial = self.jwks_backoff_initial.unwrap_or(Duration::from_secs(1));
        if jwks_backoff_initial.is_zero() {
            return Err(ConfigError::new("jwks_backoff_initial", "must be > 0"));
        }
        let jwks_backoff_initial =
            at_most("jwks_backoff_initial", jwks_backoff_initial, MAX_BACKOFF)?;
        let jwks_backoff_max = self.jwks_backoff_max.unwrap_or(Duration::from_secs(60));
        let jwks_backoff_max = at_most("jwks_backoff_max", jwks_backoff_max, MAX_BACKOFF)?;
        if jwks_backoff_max < jwks_backoff_initial {
            return Err(ConfigError::new(
                "jwks_backoff_max",
                "must be >= jwks_backoff_initial",
            ));
        }
        let verified_token_cache = self.verified_token_cache.unwrap_or(0);
        if verified_token_cache > MAX_TOKEN_CACHE {
            return Err(ConfigError::new(
                "verified_token_cache",
                "must be at most 1048576",
            ));
        }
        Ok(AuthConfig {
            verified_token_cache,
            issuer,
            audiences,
            jwks_url,
            allowed_algs,
            leeway,
            jwks_timeout,
            jwks_cache_ttl,
            jwks_max_cached_keys,
            enforce_minimum_key_length: self.enforce_minimum_key_length.unwrap_or(true),
            required_scopes: clean_set(self.required_scopes),
            required_permissions: clean_set(self.required_permissions),
            scope_claim: non_empty(
                "scope_claim",
                Some(self.scope_claim.as_deref().unwrap_or("scope")),
            )?,
            permissions_claim: non_empty(
                "permissions_claim",
                Some(self.permissions_claim.as_deref().unwrap_or("permissions")),
            )?,
            max_token_bytes,
            jwks_refresh_cooldown: at_most(
                "jwks_refresh_cooldown",
                self.jwks_refresh_cooldown
                    .unwrap_or(Duration::from_secs(30)),
                MAX_REFRESH_COOLDOWN,
            )?,
            jwks_max_stale: at_most(
                "jwks_max_stale",
                self.jwks_max_stale.unwrap_or(Duration::from_secs(3600)),
                MAX_STALE,
            )?,
            jwks_max_bytes,
            allow_insecure_http,
            jwks_backoff_initial,
            jwks_backoff_max,
            clock: self.clock.unwrap_or_else(|| Arc::new(SystemClock)),
        })
    }
}

/// `value`, or a `ConfigError` naming `field` when it is over `max`.
fn at_most(field: &'static str, value: Duration, max: Duration) -> Result<Duration, ConfigError> {
    if value > max {
        return Err(ConfigError::new(
            field,
            format!("must be at most {} seconds", max.as_secs()),
        ));
    }
    Ok(value)
}

fn non_empty(field: &'static str, value: Option<&str>) -> Result<String, ConfigError> {
    match value.map(str::trim) {
        Some(v) if !v.is_empty() => Ok(v.to_owned()),
        _ => Err(ConfigError::new(field, "must be non-empty")),
    }
}

fn clean_set(items: Vec<String>) -> Vec<String> {
    items
        .iter()
        .map(|s| s.trim())
        .filter(|s| !s.is_empty())
        .map(str::to_owned)
        .collect::<BTreeSet<_>>()
        .into_iter()
        .collect()
}

pub(crate) fn is_loopback(url: &Url) -> bool {
    match url.host() {
        Some(url::Host::Domain(d)) => d.eq_ignore_ascii_case("localhost"),
        Some(url::Host::Ipv4(ip)) => IpAddr::V4(ip).is_loopback(),
        Some(url::Host::Ipv6(ip)) => IpAddr::V6(ip).is_loopback(),
        None => false,
    }
}

/// One string or a list of strings.
#[derive(Deserialize)]
#[serde(untagged)]
enum OneOrMany {
    One(String),
    Many(Vec<String>),
}

impl OneOrMany {
    fn into_vec(self) -> Vec<String> {
        match self {
            OneOrMany::One(s) => vec![s],
            OneOrMany::Many(v) => v,
        }
    }
}

/// The serialized form: durations are numbers of seconds (fractions allowed).
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawConfig {
    issuer: String,
    audience: OneOrMany,
    jwks_url: String,
    #[serde(default)]
    allowed_algs: Option<OneOrMany>,
    #[serde(default)]
    leeway: Option<f64>,
    #[serde(default)]
    jwks_timeout: Option<f64>,
    #[serde(default)]
    jwks_cache_ttl: Option<f64>,
    #[serde(default)]
    jwks_max_cached_keys: Option<usize>,
    #[serde(default)]
    enforce_minimum_key_length: Option<bool>,
    #[serde(default)]
    required_scopes: Option<OneOrMany>,
    #[serde(default)]
    required_permissions: Option<OneOrMany>,
    #[serde(default)]
    scope_claim: Option<String>,
    #[serde(default)]
    permissions_claim: Option<String>,
    #[serde(default)]
    max_token_bytes: Option<usize>,
    #[serde(default)]
    jwks_refresh_cooldown: Option<f64>,
    #[serde(default)]
    jwks_max_stale: Option<f64>,
    #[serde(default)]
    jwks_max_bytes: Option<usize>,
    #[serde(default)]
    allow_insecure_http: Option<bool>,
    #[serde(default)]
    jwks_backoff_initial: Option<f64>,
    #[serde(default)]
    jwks_backoff_max: Option<f64>,
    #[serde(default)]
    verified_token_cache: Option<usize>,
}

impl TryFrom<RawConfig> for AuthConfig {
    type Error = ConfigError;

    fn try_from(raw: RawConfig) -> Result<Self, Self::Error> {
        let secs = |field: &'static str, v: Option<f64>| -> Result<Option<Duration>, ConfigError> {
            v.map(|v| secs_to_duration(v).map_err(|r| ConfigError::new(field, r)))
                .transpose()
        };
        let mut b = AuthConfig::builder()
            .issuer(raw.issuer)
            .audiences(raw.audience.into_vec())
            .jwks_url(raw.jwks_url);
        if let Some(algs) = raw.allowed_algs {
            let algs = algs
                .into_vec()
                .iter()
                .filter(|a| !a.trim().is_empty())
                .map(|a| a.parse::<Algorithm>())
                .collect::<Result<Vec<_>, _>>()?;
            b = b.allowed_algs(algs);
        }
        if let Some(d) = secs("leeway", raw.leeway)? {
            b = b.leeway(d);
        }
        if let Some(d) = secs("jwks_timeout", raw.jwks_timeout)? {
            b = b.jwks_timeout(d);
        }
        if let Some(d) = secs("jwks_cache_ttl", raw.jwks_cache_ttl)? {
            b = b.jwks_cache_ttl(d);
        }
        if let Some(n) = raw.jwks_max_cached_keys {
            b = b.jwks_max_cached_keys(n);
        }
        if let Some(v) = raw.enforce_minimum_key_length {
            b = b.enforce_minimum_key_length(v);
        }
        if let Some(v) = raw.required_scopes {
            b = b.required_scopes(v.into_vec());
        }
        if let Some(v) = raw.required_permissions {
            b = b.required_permissions(v.into_vec());
        }
        if let Some(v) = raw.scope_claim {
            b = b.scope_claim(v);
        }
        if let Some(v) = raw.permissions_claim {
            b = b.permissions_claim(v);
        }
        if let Some(n) = raw.max_token_bytes {
            b = b.max_token_bytes(n);
        }
        if let Some(d) = secs("jwks_refresh_cooldown", raw.jwks_refresh_cooldown)? {
            b = b.jwks_refresh_cooldown(d);
        }
        if let Some(d) = secs("jwks_max_stale", raw.jwks_max_stale)? {
            b = b.jwks_max_stale(d);
        }
        if let Some(n) = raw.jwks_max_bytes {
            b = b.jwks_max_bytes(n);
        }
        if let Some(v) = raw.allow_insecure_http {
            b = b.allow_insecure_http(v);
        }
        if let Some(d) = secs("jwks_backoff_initial", raw.jwks_backoff_initial)? {
            b = b.jwks_backoff_initial(d);
        }
        if let Some(d) = secs("jwks_backoff_max", raw.jwks_backoff_max)? {
            b = b.jwks_backoff_max(d);
        }
        if let Some(n) = raw.verified_token_cache {
            b = b.verified_token_cache(n);
        }
        b.build()
    }
}

impl<'de> Deserialize<'de> for AuthConfig {
    /// Deserializes and validates; durations are numbers of seconds.
    ///
    /// ```
    /// let config: verifier_core::AuthConfig = serde_json::from_str(r#"{
    ///     "issuer": "https://issuer.example/",
    ///     "audience": ["api-1", "api-2"],
    ///     "jwks_url": "https://issuer.example/jwks.json",
    ///     "allowed_algs": "ES256",
    ///     "jwks_cache_ttl": 600
    /// }"#).unwrap();
    /// assert_eq!(config.jwks_cache_ttl().as_secs(), 600);
    /// ```
    fn deserialize<D>(deserializer: D) -> Result<Self, D::Error>
    where
        D: serde::Deserializer<'de>,
    {
        let raw = RawConfig::deserialize(deserializer)?;
        AuthConfig::try_from(raw).map_err(serde::de::Error::custom)
    }
}
