//! DPoP settings (SPEC-2 §5.8): [`DpopConfig`], built and validated by
//! [`DpopConfigBuilder`] or read from the environment.

use std::fmt;
use std::str::FromStr;
use std::time::Duration;

use super::htu::BaseUrl;
use super::nonce::{Nonces, MIN_SECRET_LEN};
use crate::alg::Algorithm;
use crate::error::ConfigError;

/// Whether, and how, the `DPoP` authorization scheme is accepted (SPEC-2 §5.6).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum DpopMode {
    /// Only `Bearer` (the default). A DPoP-bound token presented as Bearer is still
    /// refused (`dpop_bound_token`, the downgrade guard).
    #[default]
    Off,
    /// `Bearer` for unbound tokens and `DPoP` (proof + bound token) both accepted.
    Allowed,
    /// Only `DPoP`.
    Required,
}

impl DpopMode {
    /// The configuration name: `"off"`, `"allowed"` or `"required"`.
    pub const fn as_str(self) -> &'static str {
        match self {
            DpopMode::Off => "off",
            DpopMode::Allowed => "allowed",
            DpopMode::Required => "required",
        }
    }
}

impl fmt::Display for DpopMode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for DpopMode {
    type Err = ConfigError;

    /// `off`, `allowed` or `required` (ASCII case-insensitive, surrounding whitespace
    /// trimmed).
    ///
    /// ```
    /// use verifier_core::dpop::DpopMode;
    /// assert_eq!("Allowed".parse::<DpopMode>().unwrap(), DpopMode::Allowed);
    /// assert_eq!("maybe".parse::<DpopMode>().unwrap_err().field(), "dpop");
    /// ```
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let s = s.trim();
        [DpopMode::Off, DpopMode::Allowed, DpopMode::Required]
            .into_iter()
            .find(|m| m.as_str().eq_ignore_ascii_case(s))
            .ok_or_else(|| ConfigError::new("dpop", "must be off, allowed or required"))
    }
}

/// Default `dpop_max_age`.
const DEFAULT_MAX_AGE: Duration = Duration::from_secs(60);
/// Default `dpop_leeway`.
const DEFAULT_LEEWAY: Duration = Duration::from_secs(5);
/// Default `dpop_replay_cache_size`.
const DEFAULT_REPLAY_CACHE_SIZE: usize = 65_536;
/// Bounds of `dpop_replay_cache_size`.
const REPLAY_CACHE_SIZE_RANGE: std::ops::RangeInclusive<usize> = 16..=16_777_216;
/// Default `dpop_nonce_lifetime`.
const DEFAULT_NONCE_LIFETIME: Duration = Duration::from_secs(60);

/// Validated DPoP settings (SPEC-2 §5.8). Build one with [`DpopConfig::builder`] or
/// [`DpopConfig::from_env`].
///
/// ```
/// use std::time::Duration;
/// use verifier_core::dpop::{DpopConfig, DpopMode};
/// use verifier_core::Algorithm;
///
/// let config = DpopConfig::builder()
///     .mode(DpopMode::Allowed)
///     .public_base_url("https://api.example.com")
///     .algs([Algorithm::ES256, Algorithm::EdDSA])
///     .build()
///     .unwrap();
/// assert_eq!(config.max_age(), Duration::from_secs(60));
/// assert_eq!(config.public_base_urls(), ["https://api.example.com"]);
///
/// // DPoP on without a public base URL cannot match any `htu`.
/// let err = DpopConfig::builder().mode(DpopMode::Required).build().unwrap_err();
/// assert_eq!(err.field(), "public_base_url");
/// ```
#[derive(Clone)]
pub struct DpopConfig {
    pub(super) mode: DpopMode,
    pub(super) algs: Vec<Algorithm>,
    pub(super) max_age: Duration,
    pub(super) leeway: Duration,
    pub(super) replay_cache_size: usize,
    pub(super) nonces: Option<Nonces>,
    pub(super) nonce_lifetime: Duration,
    pub(super) base_urls: Vec<BaseUrl>,
    pub(super) base_url_strings: Vec<String>,
    pub(super) allow_unverified_token_binding: bool,
}

impl fmt::Debug for DpopConfig {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // The nonce secret is never printed.
        f.debug_struct("DpopConfig")
            .field("mode", &self.mode)
            .field("algs", &self.algs)
            .field("max_age", &self.max_age)
            .field("leeway", &self.leeway)
            .field("replay_cache_size", &self.replay_cache_size)
            .field("nonce", &self.nonces.is_some())
            .field("nonce_lifetime", &self.nonce_lifetime)
            .field("public_base_urls", &self.base_url_strings)
            .field(
                "allow_unverified_token_binding",
                &self.allow_unverified_token_binding,
            )
            .finish()
    }
}

impl Default for DpopConfig {
    /// DPoP off, every other setting at its default.
    fn default() -> Self {
        DpopConfig {
            mode: DpopMode::Off,
            algs: Algorithm::ALL.to_vec(),
            max_age: DEFAULT_MAX_AGE,
            leeway: DEFAULT_LEEWAY,
            replay_cache_size: DEFAULT_REPLAY_CACHE_SIZE,
            nonces: None,
            nonce_lifetime: DEFAULT_NONCE_LIFETIME,
            base_urls: Vec::new(),
            base_url_strings: Vec::new(),
            allow_unverified_token_binding: false,
        }
    }
}

impl DpopConfig {
    /// A builder with every setting at its default (DPoP off).
    pub fn builder() -> DpopConfigBuilder {
        DpopConfigBuilder::default()
    }

    /// The settings from the `OIDC_DPOP*` and `OIDC_PUBLIC_BASE_URL` environment
    /// variables (SPEC-2 §5.8); errors name the variable.
    pub fn from_env() -> Result<DpopConfig, ConfigError> {
        Self::from_env_lookup(|name| std::env::var(name).ok())
    }

    /// Like [`from_env`](Self::from_env), reading variables through `lookup`.
    ///
    /// ```
    /// use verifier_core::dpop::{DpopConfig, DpopMode};
    ///
    /// let vars = [("OIDC_DPOP", "required"), ("OIDC_PUBLIC_BASE_URL", "https://api.example.com")];
    /// let lookup = |k: &str| vars.iter().find(|(n, _)| *n == k).map(|(_, v)| v.to_string());
    /// assert_eq!(DpopConfig::from_env_lookup(lookup).unwrap().mode(), DpopMode::Required);
    ///
    /// let bad = [("OIDC_DPOP", "allowed"), ("OIDC_PUBLIC_BASE_URL", "https://a.example"),
    ///            ("OIDC_DPOP_ALGS", "HS256")];
    /// let lookup = |k: &str| bad.iter().find(|(n, _)| *n == k).map(|(_, v)| v.to_string());
    /// assert_eq!(DpopConfig::from_env_lookup(lookup).unwrap_err().field(), "OIDC_DPOP_ALGS");
    /// ```
    pub fn from_env_lookup<F>(lookup: F) -> Result<DpopConfig, ConfigError>
    where
        F: Fn(&str) -> Option<String>,
    {
        let get = |name: &str| lookup(name).filter(|v| !v.trim().is_empty());
        let mut b = DpopConfig::builder();
        if let Some(v) = get("OIDC_DPOP") {
            b = b.mode(v.parse().map_err(|e: ConfigError| e.renamed("OIDC_DPOP"))?);
        }
        if let Some(v) = get("OIDC_DPOP_ALGS") {
            let algs = v
                .split(',')
                .filter(|s| !s.trim().is_empty())
                .map(|s| s.parse::<Algorithm>())
                .collect::<Result<Vec<_>, _>>()
                .map_err(|e| e.renamed("OIDC_DPOP_ALGS"))?;
            b = b.algs(algs);
        }
        let secs = |name: &'static str, v: String| {
            v.trim()
                .parse::<u64>()
                .map(Duration::from_secs)
                .map_err(|_| ConfigError::new(name, "must be a whole number of seconds"))
        };
        let mut rename: Vec<(&'static str, &'static str)> = Vec::new();
        if let Some(v) = get("OIDC_DPOP_MAX_AGE_S") {
            b = b.max_age(secs("OIDC_DPOP_MAX_AGE_S", v)?);
            rename.push(("dpop_max_age", "OIDC_DPOP_MAX_AGE_S"));
        }
        if let Some(v) = get("OIDC_DPOP_LEEWAY_S") {
            b = b.leeway(secs("OIDC_DPOP_LEEWAY_S", v)?);
            rename.push(("dpop_leeway", "OIDC_DPOP_LEEWAY_S"));
        }
        if let Some(v) = get("OIDC_DPOP_REPLAY_CACHE_SIZE") {
            let n = v.trim().parse::<usize>().map_err(|_| {
                ConfigError::new("OIDC_DPOP_REPLAY_CACHE_SIZE", "must be a whole number")
            })?;
            b = b.replay_cache_size(n);
            rename.push(("dpop_replay_cache_size", "OIDC_DPOP_REPLAY_CACHE_SIZE"));
        }
        if let Some(v) = get("OIDC_DPOP_NONCE") {
            b = b.nonce(bool_var("OIDC_DPOP_NONCE", &v)?);
        }
        if let Some(v) = get("OIDC_DPOP_NONCE_SECRET") {
            let secret = crate::b64::decode(v.trim().trim_end_matches('=').as_bytes())
                .map_err(|_| ConfigError::new("OIDC_DPOP_NONCE_SECRET", "must be base64url"))?;
            b = b.nonce_secret(secret);
            rename.push(("dpop_nonce_secret", "OIDC_DPOP_NONCE_SECRET"));
        }
        if let Some(v) = get("OIDC_DPOP_NONCE_LIFETIME_S") {
            b = b.nonce_lifetime(secs("OIDC_DPOP_NONCE_LIFETIME_S", v)?);
            rename.push(("dpop_nonce_lifetime", "OIDC_DPOP_NONCE_LIFETIME_S"));
        }
        if let Some(v) = get("OIDC_ALLOW_UNVERIFIED_TOKEN_BINDING") {
            b = b.allow_unverified_token_binding(bool_var(
                "OIDC_ALLOW_UNVERIFIED_TOKEN_BINDING",
                &v,
            )?);
        }
        if let Some(v) = get("OIDC_PUBLIC_BASE_URL") {
            for url in v.split(',').filter(|s| !s.trim().is_empty()) {
                b = b.public_base_url(url.trim());
            }
        }
        b.build().map_err(|e| {
            let var = match e.field() {
                "dpop_algs" => Some("OIDC_DPOP_ALGS"),
                "dpop_nonce" => Some("OIDC_DPOP_NONCE"),
                "public_base_url" => Some("OIDC_PUBLIC_BASE_URL"),
                field => rename.iter().find(|(f, _)| *f == field).map(|(_, v)| *v),
            };
            match var {
                Some(var) => e.renamed(var),
                None => e,
            }
        })
    }

    /// The mode.
    pub fn mode(&self) -> DpopMode {
        self.mode
    }

    /// The algorithms a proof may be signed with (`algs` of the `DPoP` challenge).
    pub fn algs(&self) -> &[Algorithm] {
        &self.algs
    }

    /// How old a proof's `iat` may be.
    pub fn max_age(&self) -> Duration {
        self.max_age
    }

    /// How far in the future a proof's `iat` may be.
    pub fn leeway(&self) -> Duration {
        self.leeway
    }

    /// The capacity of the in-memory replay cache, in proofs.
    pub fn replay_cache_size(&self) -> usize {
        self.replay_cache_size
    }

    /// How long a proof's replay entry is kept: `max_age + leeway`, the whole window in
    /// which its `iat` is accepted.
    pub fn replay_ttl(&self) -> Duration {
        self.max_age + self.leeway
    }

    /// Whether proofs must carry a server nonce (RFC 9449 §9).
    pub fn nonce(&self) -> bool {
        self.nonces.is_some()
    }

    /// Whether nonces are on with a secret drawn at random by this process (so other
    /// replicas do not accept this one's nonces).
    pub fn nonce_secret_is_random(&self) -> bool {
        self.nonces.as_ref().is_some_and(Nonces::has_random_secret)
    }

    /// The nonce window.
    pub fn nonce_lifetime(&self) -> Duration {
        self.nonce_lifetime
    }

    /// Whether `cnf` members that cannot be verified here are ignored.
    pub fn allows_unverified_token_binding(&self) -> bool {
        self.allow_unverified_token_binding
    }

    /// The public base URLs an `htu` is matched against, in normal form without a
    /// trailing `/`.
    pub fn public_base_urls(&self) -> Vec<&str> {
        self.base_urls.iter().map(BaseUrl::as_str).collect()
    }
}

/// Builds a [`DpopConfig`]; [`build`](DpopConfigBuilder::build) checks every rule of
/// SPEC-2 §5.8 and names the field that breaks one.
#[derive(Clone, Default)]
pub struct DpopConfigBuilder {
    mode: Option<DpopMode>,
    algs: Option<Vec<Algorithm>>,
    max_age: Option<Duration>,
    leeway: Option<Duration>,
    replay_cache_size: Option<usize>,
    nonce: bool,
    nonce_secret: Option<Vec<u8>>,
    nonce_lifetime: Option<Duration>,
    base_urls: Vec<String>,
    allow_unverified_token_binding: bool,
}

impl fmt::Debug for DpopConfigBuilder {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("DpopConfigBuilder")
            .field("mode", &self.mode)
            .field("algs", &self.algs)
            .field("nonce", &self.nonce)
            .field(
                "nonce_secret",
                &self.nonce_secret.as_ref().map(|_| "<redacted>"),
            )
            .field("public_base_urls", &self.base_urls)
            .finish_non_exhaustive()
    }
}

impl DpopConfigBuilder {
    /// `dpop`: off (default), allowed or required.
    pub fn mode(mut self, mode: DpopMode) -> Self {
        self.mode = Some(mode);
        self
    }

    /// `dpop_algs`: the algorithms a proof may use (default: every supported one, in
    /// [`Algorithm::ALL`] order). Must not be empty.
    pub fn algs(mut self, algs: impl IntoIterator<Item = Algorithm>) -> Self {
        self.algs = Some(algs.into_iter().collect());
        self
    }

    /// `dpop_max_age`: how old a proof's `iat` may be, in (0, 600] s (default 60 s).
    pub fn max_age(mut self, max_age: Duration) -> Self {
        self.max_age = Some(max_age);
        self
    }

    /// `dpop_leeway`: how far in the future a proof's `iat` may be, in [0, 60] s
    /// (default 5 s).
    pub fn leeway(mut self, leeway: Duration) -> Self {
        self.leeway = Some(leeway);
        self
    }

    /// `dpop_replay_cache_size`: capacity of the in-memory replay cache, in
    /// [16, 16 777 216] proofs (default 65 536).
    pub fn replay_cache_size(mut self, size: usize) -> Self {
        self.replay_cache_size = Some(size);
        self
    }

    /// `dpop_nonce`: require a server nonce in every proof (default false).
    pub fn nonce(mut self, on: bool) -> Self {
        self.nonce = on;
        self
    }

    /// `dpop_nonce_secret`: the HMAC secret of the nonces, at least 32 bytes; share it
    /// between replicas. Without it each process draws a random one.
    pub fn nonce_secret(mut self, secret: impl Into<Vec<u8>>) -> Self {
        self.nonce_secret = Some(secret.into());
        self
    }

    /// `dpop_nonce_lifetime`: the nonce window, whole seconds in [1, 600] (default 60 s).
    pub fn nonce_lifetime(mut self, lifetime: Duration) -> Self {
        self.nonce_lifetime = Some(lifetime);
        self
    }

    /// `public_base_url`: adds a public base URL (scheme, host, port, optional path
    /// prefix) under which clients reach this API; a proof's `htu` must be one of them
    /// plus the request path. Required when DPoP is on.
    pub fn public_base_url(mut self, url: impl Into<String>) -> Self {
        self.base_urls.push(url.into());
        self
    }

    /// `allow_unverified_token_binding`: accept tokens whose `cnf` has members this
    /// crate cannot verify (e.g. `x5t#S256`, when a proxy checks mTLS) instead of
    /// refusing them as "Unsupported token binding" (default false). `cnf.jkt` is
    /// always checked.
    pub fn allow_unverified_token_binding(mut self, allow: bool) -> Self {
        self.allow_unverified_token_binding = allow;
        self
    }

    /// Checks every rule and builds the configuration.
    pub fn build(self) -> Result<DpopConfig, ConfigError> {
        let defaults = DpopConfig::default();
        let mode = self.mode.unwrap_or_default();
        let algs = self.algs.unwrap_or(defaults.algs);
        if algs.is_empty() {
            return Err(ConfigError::new("dpop_algs", "must not be empty"));
        }
        let mut unique = algs.clone();
        unique.sort_unstable();
        unique.dedup();
        let algs: Vec<Algorithm> = Algorithm::ALL
            .iter()
            .copied()
            .filter(|a| unique.contains(a))
            .collect();
        let max_age = self.max_age.unwrap_or(defaults.max_age);
        if max_age.is_zero() || max_age > Duration::from_secs(600) {
            return Err(ConfigError::new(
                "dpop_max_age",
                "must be in (0, 600] seconds",
            ));
        }
        let leeway = self.leeway.unwrap_or(defaults.leeway);
        if leeway > Duration::from_secs(60) {
            return Err(ConfigError::new(
                "dpop_leeway",
                "must be in [0, 60] seconds",
            ));
        }
        let replay_cache_size = self.replay_cache_size.unwrap_or(defaults.replay_cache_size);
        if !REPLAY_CACHE_SIZE_RANGE.contains(&replay_cache_size) {
            return Err(ConfigError::new(
                "dpop_replay_cache_size",
                "must be in [16, 16777216]",
            ));
        }
        let mut base_urls = Vec::with_capacity(self.base_urls.len());
        for url in &self.base_urls {
            let parsed = BaseUrl::parse(url)
                .map_err(|reason| ConfigError::new("public_base_url", reason))?;
            if parsed.as_str().starts_with("http://") && !is_loopback(parsed.as_str()) {
                return Err(ConfigError::new(
                    "public_base_url",
                    "must use https (http only for a loopback host)",
                ));
            }
            if !base_urls.contains(&parsed) {
                base_urls.push(parsed);
            }
        }
        if mode != DpopMode::Off && base_urls.is_empty() {
            return Err(ConfigError::new(
                "public_base_url",
                "is required when dpop is allowed or required (the URLs clients use, to match a proof's htu)",
            ));
        }
        let nonce_lifetime = self.nonce_lifetime.unwrap_or(defaults.nonce_lifetime);
        if let Some(secret) = &self.nonce_secret {
            if secret.len() < MIN_SECRET_LEN {
                return Err(ConfigError::new(
                    "dpop_nonce_secret",
                    format!("must be at least {MIN_SECRET_LEN} bytes"),
                ));
            }
        }
        let nonces = if self.nonce {
            let Some(first) = base_urls.first() else {
                return Err(ConfigError::new(
                    "public_base_url",
                    "is required when dpop_nonce is on (it names the service the nonces are for)",
                ));
            };
            let nonces = Nonces::new(self.nonce_secret.as_deref(), nonce_lifetime, first.as_str())?;
            if nonces.has_random_secret() {
                tracing::warn!(
                    target: "oidc_jwt_verifier::dpop",
                    "dpop_nonce is on without dpop_nonce_secret: this process drew a random secret, so other replicas will refuse its nonces (set OIDC_DPOP_NONCE_SECRET, or use sticky sessions)"
                );
            }
            Some(nonces)
        } else {
            // Checked even when off, so that turning nonces on later cannot fail.
            Nonces::new(self.nonce_secret.as_deref(), nonce_lifetime, "")?;
            None
        };
        let base_url_strings = base_urls.iter().map(|b| b.as_str().to_owned()).collect();
        Ok(DpopConfig {
            mode,
            algs,
            max_age,
            leeway,
            replay_cache_size,
            nonces,
            nonce_lifetime,
            base_urls,
            base_url_strings,
            allow_unverified_token_binding: self.allow_unverified_token_binding,
        })
    }
}

/// Whether a normalised `http://host[:port]...` base URL names a loopback host.
fn is_loopback(normal: &str) -> bool {
    let Ok(url) = url::Url::parse(normal) else {
        return false;
    };
    match url.host() {
        Some(url::Host::Domain(d)) => d == "localhost" || d.ends_with(".localhost"),
        Some(url::Host::Ipv4(ip)) => ip.is_loopback(),
        Some(url::Host::Ipv6(ip)) => ip.is_loopback(),
        None => false,
    }
}

/// A boolean environment variable: `true`/`false` (also `1`/`0`, `yes`/`no`, `on`/`off`).
fn bool_var(var: &'static str, value: &str) -> Result<bool, ConfigError> {
    match value.trim().to_ascii_lowercase().as_str() {
        "true" | "1" | "yes" | "on" => Ok(true),
        "false" | "0" | "no" | "off" => Ok(false),
        _ => Err(ConfigError::new(var, "must be true or false")),
    }
}
