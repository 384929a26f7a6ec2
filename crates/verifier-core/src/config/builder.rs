//! [`AuthConfigBuilder`]: the setters, and every rule, checked in [`build`](AuthConfigBuilder::build).

use std::collections::BTreeSet;
use std::sync::Arc;
use std::time::Duration;

use url::Url;

use super::fields::Fields;
use super::AudienceMode;
use super::{is_loopback, AuthConfig, Source};
use crate::alg::Algorithm;
use crate::claims::{ClaimNames, ClaimPath, ClaimRule, Claims};
use crate::clock::{Clock, SystemClock};
use crate::discovery::Discovery;
use crate::error::AuthError;
use crate::error::ConfigError;
use crate::keys::{parse_key_set, KeyPolicy};

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
/// Largest verified-token cache allowed.
const MAX_TOKEN_CACHE: usize = 1 << 20;

/// Builder for [`AuthConfig`]; every rule is checked in [`build`](Self::build).
#[derive(Clone, Debug, Default)]
#[must_use]
pub struct AuthConfigBuilder {
    fields: Fields,
    /// Code only: not in the field table (no file or environment form).
    clock: Option<Arc<dyn Clock>>,
    /// Code only: a key set given in code.
    static_jwks: Option<String>,
    /// Code only, like `clock`: the application's own claim rules, in order.
    rules: Vec<ClaimRule>,
}

impl AuthConfigBuilder {
    /// A builder holding fields read from a configuration file or the environment.
    pub(super) fn from_fields(fields: Fields) -> Self {
        AuthConfigBuilder {
            fields,
            clock: None,
            static_jwks: None,
            rules: Vec::new(),
        }
    }

    /// The expected `iss` (required; trimmed, non-empty).
    pub fn issuer(mut self, issuer: impl Into<String>) -> Self {
        self.fields.issuer = Some(issuer.into());
        self
    }
    /// Adds an accepted audience (at least one is required).
    pub fn audience(mut self, audience: impl Into<String>) -> Self {
        self.fields
            .audience
            .get_or_insert_with(Vec::new)
            .push(audience.into());
        self
    }
    /// Adds several accepted audiences.
    pub fn audiences<I, S>(mut self, audiences: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        self.fields
            .audience
            .get_or_insert_with(Vec::new)
            .extend(audiences.into_iter().map(Into::into));
        self
    }
    /// The key-set URL (`https` unless loopback or [`allow_insecure_http`](Self::allow_insecure_http)).
    /// Unset, keys are discovered from the issuer's metadata (see [`discovery`](Self::discovery)).
    pub fn jwks_url(mut self, url: impl Into<String>) -> Self {
        self.fields.jwks_url = Some(url.into());
        self
    }
    /// How the issuer's metadata is found when no `jwks_url` is set (default
    /// [`Discovery::Auto`]; [`Discovery::Off`] requires `jwks_url`). Discovery needs the
    /// issuer to be an `https` URL (or `http` on a loopback host or with
    /// `allow_insecure_http`) without userinfo, query or fragment.
    ///
    /// ```
    /// use verifier_core::AuthConfig;
    /// use verifier_core::discovery::Discovery;
    /// let config = AuthConfig::builder()
    ///     .issuer("https://kc.example/realms/acme")
    ///     .audience("orders-api")
    ///     .discovery(Discovery::Oidc)
    ///     .build()?;
    /// assert_eq!(config.discovery(), Discovery::Oidc);
    /// # Ok::<(), verifier_core::ConfigError>(())
    /// ```
    pub fn discovery(mut self, mode: Discovery) -> Self {
        self.fields.discovery = Some(mode);
        self
    }
    /// An explicit metadata URL, fetched as is instead of the well-known ones (same
    /// scheme rule as `jwks_url`); the document's `issuer` must still equal the issuer.
    pub fn discovery_url(mut self, url: impl Into<String>) -> Self {
        self.fields.discovery_url = Some(url.into());
        self
    }
    /// How long a metadata document is fresh (default 3600 s; in (0, 86400 s]).
    pub fn discovery_cache_ttl(mut self, ttl: Duration) -> Self {
        self.fields.discovery_cache_ttl = Some(ttl);
        self
    }
    /// How long past its TTL a metadata document keeps supplying `jwks_uri` while
    /// metadata refreshes fail (default 86400 s; at most 604800 s, 7 days).
    pub fn discovery_max_stale(mut self, d: Duration) -> Self {
        self.fields.discovery_max_stale = Some(d);
        self
    }
    /// Keys given in code instead of fetched: a JWKS document (`{"keys": [...]}`), parsed
    /// with the same rules as a fetched one (allowed algorithms, key sizes, at most
    /// `jwks_max_cached_keys`). No request is ever made. For air-gapped services and
    /// tests; code only (no file or environment form), and not with `jwks_url` or
    /// discovery. `build()` refuses a document with no usable key.
    ///
    /// ```
    /// use verifier_core::{AuthConfig, KeySource};
    /// let jwks = r#"{"keys":[{"kty":"OKP","crv":"Ed25519","kid":"k1",
    ///     "x":"11qYAYKxCrfVS_7TyWQHOg7hcvPapiMlrwIaaPcHURo"}]}"#;
    /// let config = AuthConfig::builder()
    ///     .issuer("https://issuer.example/")
    ///     .audience("api")
    ///     .allowed_algs([verifier_core::Algorithm::EdDSA])
    ///     .static_jwks(jwks)
    ///     .build()?;
    /// assert!(matches!(config.key_source(), KeySource::Static));
    /// # Ok::<(), verifier_core::ConfigError>(())
    /// ```
    pub fn static_jwks(mut self, document: impl Into<String>) -> Self {
        self.static_jwks = Some(document.into());
        self
    }
    /// Replaces the accepted algorithms (default `[RS256]`; must be non-empty).
    pub fn allowed_algs(mut self, algs: impl IntoIterator<Item = Algorithm>) -> Self {
        self.fields.allowed_algs = Some(algs.into_iter().collect());
        self
    }
    /// Clock skew tolerated on time claims (default 0; at most 3600 s).
    pub fn leeway(mut self, leeway: Duration) -> Self {
        self.fields.leeway = Some(leeway);
        self
    }
    /// Whole-request deadline for key-set fetches (default 3 s; in (0, 300 s]).
    pub fn jwks_timeout(mut self, timeout: Duration) -> Self {
        self.fields.jwks_timeout = Some(timeout);
        self
    }
    /// Key-set freshness (default 300 s; in (0, 86400 s]).
    pub fn jwks_cache_ttl(mut self, ttl: Duration) -> Self {
        self.fields.jwks_cache_ttl = Some(ttl);
        self
    }
    /// Most taken off each key set's freshness at random (default 0: every set is fresh
    /// for exactly `jwks_cache_ttl`; at most half of it). A set is then fresh for
    /// `jwks_cache_ttl − U[0, jitter]`, drawn per fetch, so replicas that fetched together
    /// refresh apart; the stale bound (`jwks_max_stale` past the TTL) does not move. For
    /// fleets, about half the TTL spreads replicas started together (docs/jwks-lifecycle.md).
    pub fn jwks_cache_ttl_jitter(mut self, jitter: Duration) -> Self {
        self.fields.jwks_cache_ttl_jitter = Some(jitter);
        self
    }
    /// Most keys kept from one key set (default 16; in [1, 1024]).
    pub fn jwks_max_cached_keys(mut self, n: usize) -> Self {
        self.fields.jwks_max_cached_keys = Some(n);
        self
    }
    /// Refuse RSA keys under 2048 bits (default true).
    pub fn enforce_minimum_key_length(mut self, on: bool) -> Self {
        self.fields.enforce_minimum_key_length = Some(on);
        self
    }
    /// Adds scopes every token must carry (entries trimmed, empty ones ignored; a string is one scope).
    pub fn required_scopes<I, S>(mut self, scopes: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        self.fields
            .required_scopes
            .get_or_insert_with(Vec::new)
            .extend(scopes.into_iter().map(Into::into));
        self
    }
    /// Adds permissions every token must carry (entries trimmed, empty ones ignored).
    pub fn required_permissions<I, S>(mut self, permissions: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        self.fields
            .required_permissions
            .get_or_insert_with(Vec::new)
            .extend(permissions.into_iter().map(Into::into));
        self
    }
    /// Claim holding scopes (default `scope`).
    pub fn scope_claim(mut self, name: impl Into<String>) -> Self {
        self.fields.scope_claim = Some(name.into());
        self
    }
    /// Claim holding permissions (default `permissions`).
    pub fn permissions_claim(mut self, name: impl Into<String>) -> Self {
        self.fields.permissions_claim = Some(name.into());
        self
    }
    /// Largest accepted token in bytes (default 16 KiB; > 0).
    pub fn max_token_bytes(mut self, n: usize) -> Self {
        self.fields.max_token_bytes = Some(n);
        self
    }
    /// Least time between refreshes caused by unknown `kid`s (default 30 s; at most 86400 s).
    pub fn jwks_refresh_cooldown(mut self, d: Duration) -> Self {
        self.fields.jwks_refresh_cooldown = Some(d);
        self
    }
    /// How long past its TTL a key set may serve while the endpoint fails (default 3600 s; 0 = fail closed at TTL; at most 604800 s, 7 days).
    pub fn jwks_max_stale(mut self, d: Duration) -> Self {
        self.fields.jwks_max_stale = Some(d);
        self
    }
    /// Largest accepted key-set response in bytes (default 1 MiB; > 0).
    pub fn jwks_max_bytes(mut self, n: usize) -> Self {
        self.fields.jwks_max_bytes = Some(n);
        self
    }
    /// Allow plain `http` key-set URLs for non-loopback hosts (default false; never in production).
    pub fn allow_insecure_http(mut self, on: bool) -> Self {
        self.fields.allow_insecure_http = Some(on);
        self
    }
    /// Accept tokens whose `cnf` binding cannot be verified here (an mTLS `x5t#S256`),
    /// for deployments whose proxy checks it (default false; a `cnf.jkt` DPoP binding
    /// still requires the DPoP scheme).
    pub fn allow_unverified_token_binding(mut self, on: bool) -> Self {
        self.fields.allow_unverified_token_binding = Some(on);
        self
    }
    /// First retry delay after a failed refresh (default 1 s; in (0, 86400 s]).
    pub fn jwks_backoff_initial(mut self, d: Duration) -> Self {
        self.fields.jwks_backoff_initial = Some(d);
        self
    }
    /// Longest retry delay after failed refreshes (default 60 s; >= the initial delay, at most 86400 s).
    pub fn jwks_backoff_max(mut self, d: Duration) -> Self {
        self.fields.jwks_backoff_max = Some(d);
        self
    }

    /// Enables a cache of this many verified tokens (default 0 = off; at most 2^20).
    ///
    /// A repeated token then skips the signature check: keyed by the whole token, never
    /// used at or past `exp`, `nbf` re-checked on every hit, flushed whenever the key set
    /// is refetched. Worth it when clients reuse tokens across many requests.
    pub fn verified_token_cache(mut self, capacity: usize) -> Self {
        self.fields.verified_token_cache = Some(capacity);
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

    /// Adds clients allowed to present tokens: the token's `azp`, else its `client_id`,
    /// must be one of them, or it is refused with `invalid_token` "Client not allowed"
    /// (the value goes to `tracing` at debug level only). Empty (the default) = any
    /// client. Entries are trimmed; an empty entry is a [`ConfigError`].
    pub fn allowed_clients<I, S>(mut self, clients: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        self.fields
            .allowed_clients
            .get_or_insert_with(Vec::new)
            .extend(clients.into_iter().map(Into::into));
        self
    }

    /// Which claim names the audience (default [`AudienceMode::Aud`];
    /// [`AudienceMode::AudOrClientId`] for AWS Cognito access tokens).
    pub fn audience_mode(mut self, mode: AudienceMode) -> Self {
        self.fields.audience_mode = Some(mode);
        self
    }

    /// The `token_use` value every token must carry (default none; AWS Cognito access
    /// tokens: `access`). Absent → `missing_claim`; another value (a Cognito ID token's
    /// `id`) → `invalid_token_type`. Trimmed; empty is a [`ConfigError`].
    pub fn required_token_use(mut self, token_use: impl Into<String>) -> Self {
        self.fields.required_token_use = Some(token_use.into());
        self
    }

    /// The AWS Cognito access-token preset: [`AudienceMode::AudOrClientId`] (Cognito
    /// access tokens carry `client_id`, no `aud`) and
    /// [`required_token_use`](Self::required_token_use) `access`, so Cognito ID tokens
    /// (`token_use: id`) are refused with `invalid_token_type`. The audiences are the
    /// app client ids. Environment: `OIDC_AUDIENCE_MODE=aud_or_client_id` and
    /// `OIDC_REQUIRED_TOKEN_USE=access`.
    ///
    /// ```
    /// use verifier_core::{AudienceMode, AuthConfig};
    /// let config = AuthConfig::builder()
    ///     .issuer("https://cognito-idp.us-east-1.amazonaws.com/us-east-1_Example")
    ///     .audience("1example23456789")
    ///     .jwks_url("https://cognito-idp.us-east-1.amazonaws.com/us-east-1_Example/.well-known/jwks.json")
    ///     .cognito()
    ///     .build()?;
    /// assert_eq!(config.audience_mode(), AudienceMode::AudOrClientId);
    /// assert_eq!(config.required_token_use(), Some("access"));
    /// # Ok::<(), verifier_core::ConfigError>(())
    /// ```
    pub fn cognito(self) -> Self {
        self.audience_mode(AudienceMode::AudOrClientId)
            .required_token_use("access")
    }

    /// Adds a rule of the application's own over the verified claims; several run in
    /// the order added, the first error wins. Code only (like [`clock`](Self::clock)).
    ///
    /// Rules run in both verifier flavours (and so behind every integration), after
    /// every built-in check (signature, time, issuer, audience, `token_use`, allowed
    /// clients, then the configured scopes and permissions): a rule sees only tokens the
    /// verifier would otherwise accept. The error a rule returns is the verifier's
    /// answer, code, message and status unchanged. Routes' own scopes are checked later,
    /// by the integrations.
    ///
    /// A rule must be quick, must not block, do I/O or panic, and must depend on the
    /// claims only: with the [verified-token cache](Self::verified_token_cache) on, a
    /// cached token is not checked again until it leaves the cache.
    ///
    /// ```
    /// use verifier_core::{AuthConfig, AuthError, ErrorCode};
    /// let config = AuthConfig::builder()
    ///     .issuer("https://issuer.example/")
    ///     .audience("api")
    ///     .jwks_url("https://issuer.example/jwks.json")
    ///     .rule(|claims| match claims.get_str("tenant") {
    ///         Some("acme") => Ok(()),
    ///         _ => Err(AuthError::new(ErrorCode::InvalidToken).with_message("Unknown tenant")),
    ///     })
    ///     .build()?;
    /// assert_eq!(config.rule_count(), 1);
    /// # Ok::<(), verifier_core::ConfigError>(())
    /// ```
    pub fn rule<F>(mut self, rule: F) -> Self
    where
        F: Fn(&Claims) -> Result<(), AuthError> + Send + Sync + 'static,
    {
        self.rules.push(ClaimRule::new(rule));
        self
    }

    /// The access-token profile (default [`Generic`](crate::AccessTokenProfile::Generic); environment
    /// `OIDC_ACCESS_TOKEN_PROFILE`, `generic` or `rfc9068`). See docs/profiles.md.
    pub fn access_token_profile(mut self, profile: crate::AccessTokenProfile) -> Self {
        self.fields.access_token_profile = Some(profile);
        self
    }

    /// The RFC 9068 preset: header `typ` `at+jwt` (checked before any key lookup) and
    /// `sub`, `client_id`, `iat`, `jti` required. Same as
    /// `.access_token_profile(AccessTokenProfile::Rfc9068)`.
    ///
    /// ```
    /// use verifier_core::{AccessTokenProfile, AuthConfig};
    /// let config = AuthConfig::builder()
    ///     .issuer("https://issuer.example/")
    ///     .audience("https://api.example")
    ///     .rfc9068()
    ///     .build()?;
    /// assert_eq!(config.access_token_profile(), AccessTokenProfile::Rfc9068);
    /// # Ok::<(), verifier_core::ConfigError>(())
    /// ```
    pub fn rfc9068(self) -> Self {
        self.access_token_profile(crate::AccessTokenProfile::Rfc9068)
    }

    /// Checks every rule and builds the configuration.
    pub fn build(self) -> Result<AuthConfig, ConfigError> {
        let f = self.fields.resolve();
        let issuer = non_empty("issuer", f.issuer.as_deref())?;
        let audiences: Vec<String> = f
            .audience
            .unwrap_or_default()
            .iter()
            .map(|a| a.trim().to_owned())
            .collect();
        if audiences.is_empty() || audiences.iter().any(String::is_empty) {
            return Err(ConfigError::new("audience", "must be non-empty"));
        }
        let allow_insecure_http = f.allow_insecure_http;
        let mut allowed_algs = f.allowed_algs;
        if allowed_algs.is_empty() {
            return Err(ConfigError::new("allowed_algs", "must be non-empty"));
        }
        allowed_algs.dedup();
        let leeway = at_most("leeway", f.leeway, MAX_LEEWAY)?;
        if f.jwks_timeout.is_zero() {
            return Err(ConfigError::new("jwks_timeout", "must be > 0"));
        }
        let jwks_timeout = at_most("jwks_timeout", f.jwks_timeout, MAX_JWKS_TIMEOUT)?;
        let jwks_cache_ttl = f.jwks_cache_ttl;
        if jwks_cache_ttl.is_zero() || jwks_cache_ttl > MAX_TTL {
            return Err(ConfigError::new(
                "jwks_cache_ttl",
                "must be in (0, 86400] seconds",
            ));
        }
        let jwks_cache_ttl_jitter = f.jwks_cache_ttl_jitter;
        if jwks_cache_ttl_jitter > jwks_cache_ttl / 2 {
            return Err(ConfigError::new(
                "jwks_cache_ttl_jitter",
                "must be at most half of jwks_cache_ttl",
            ));
        }
        let jwks_max_cached_keys = f.jwks_max_cached_keys;
        if !(1..=MAX_CACHED_KEYS).contains(&jwks_max_cached_keys) {
            return Err(ConfigError::new(
                "jwks_max_cached_keys",
                "must be in [1, 1024]",
            ));
        }
        let max_token_bytes = f.max_token_bytes;
        if max_token_bytes == 0 {
            return Err(ConfigError::new("max_token_bytes", "must be > 0"));
        }
        let jwks_max_bytes = f.jwks_max_bytes;
        if jwks_max_bytes == 0 {
            return Err(ConfigError::new("jwks_max_bytes", "must be > 0"));
        }
        if f.jwks_backoff_initial.is_zero() {
            return Err(ConfigError::new("jwks_backoff_initial", "must be > 0"));
        }
        let jwks_backoff_initial =
            at_most("jwks_backoff_initial", f.jwks_backoff_initial, MAX_BACKOFF)?;
        let jwks_backoff_max = at_most("jwks_backoff_max", f.jwks_backoff_max, MAX_BACKOFF)?;
        if jwks_backoff_max < jwks_backoff_initial {
            return Err(ConfigError::new(
                "jwks_backoff_max",
                "must be >= jwks_backoff_initial",
            ));
        }
        let verified_token_cache = f.verified_token_cache;
        if verified_token_cache > MAX_TOKEN_CACHE {
            return Err(ConfigError::new(
                "verified_token_cache",
                "must be at most 1048576",
            ));
        }
        let discovery_cache_ttl = f.discovery_cache_ttl;
        if discovery_cache_ttl.is_zero() || discovery_cache_ttl > MAX_TTL {
            return Err(ConfigError::new(
                "discovery_cache_ttl",
                "must be in (0, 86400] seconds",
            ));
        }
        let discovery_max_stale = at_most("discovery_max_stale", f.discovery_max_stale, MAX_STALE)?;
        let key_source = key_source(
            &issuer,
            f.jwks_url.as_deref(),
            f.discovery,
            f.discovery_url.as_deref(),
            self.static_jwks,
            allow_insecure_http,
        )?;
        if let Source::Static(document) = &key_source {
            check_static_jwks(
                document,
                &allowed_algs,
                f.enforce_minimum_key_length,
                jwks_max_cached_keys,
            )?;
        }
        let claim_names = Arc::new(ClaimNames {
            scope: claim_path("scope_claim", &f.scope_claim)?,
            permissions: claim_path("permissions_claim", &f.permissions_claim)?,
        });
        let allowed_clients: Vec<String> = f
            .allowed_clients
            .iter()
            .map(|c| c.trim().to_owned())
            .collect::<BTreeSet<_>>()
            .into_iter()
            .collect();
        if allowed_clients.iter().any(String::is_empty) {
            return Err(ConfigError::new(
                "allowed_clients",
                "must not contain an empty entry",
            ));
        }
        let required_token_use = f
            .required_token_use
            .map(|t| non_empty("required_token_use", Some(&t)))
            .transpose()?;
        Ok(AuthConfig {
            verified_token_cache,
            issuer,
            audiences,
            key_source,
            discovery_cache_ttl,
            discovery_max_stale,
            allowed_algs,
            leeway,
            jwks_timeout,
            jwks_cache_ttl,
            jwks_cache_ttl_jitter,
            jwks_max_cached_keys,
            enforce_minimum_key_length: f.enforce_minimum_key_length,
            required_scopes: clean_set(f.required_scopes),
            required_permissions: clean_set(f.required_permissions),
            scope_claim: non_empty("scope_claim", Some(&f.scope_claim))?,
            permissions_claim: non_empty("permissions_claim", Some(&f.permissions_claim))?,
            max_token_bytes,
            jwks_refresh_cooldown: at_most(
                "jwks_refresh_cooldown",
                f.jwks_refresh_cooldown,
                MAX_REFRESH_COOLDOWN,
            )?,
            jwks_max_stale: at_most("jwks_max_stale", f.jwks_max_stale, MAX_STALE)?,
            jwks_max_bytes,
            allow_insecure_http,
            jwks_backoff_initial,
            jwks_backoff_max,
            clock: self.clock.unwrap_or_else(|| Arc::new(SystemClock)),
            claim_names,
            allowed_clients,
            audience_mode: f.audience_mode,
            required_token_use,
            rules: self.rules,
            allow_unverified_token_binding: f.allow_unverified_token_binding,
            access_token_profile: f.access_token_profile,
        })
    }
}

/// The one key source the fields describe, checked.
fn key_source(
    issuer: &str,
    jwks_url: Option<&str>,
    discovery: Option<Discovery>,
    discovery_url: Option<&str>,
    static_jwks: Option<String>,
    allow_insecure_http: bool,
) -> Result<Source, ConfigError> {
    let discovering = discovery.is_some_and(|d| d != Discovery::Off) || discovery_url.is_some();
    if let Some(document) = static_jwks {
        if jwks_url.is_some() {
            return Err(ConfigError::new(
                "static_jwks",
                "set jwks_url or static_jwks, not both",
            ));
        }
        if discovering {
            return Err(ConfigError::new(
                "discovery",
                "set static_jwks or discovery, not both",
            ));
        }
        return Ok(Source::Static(document.into()));
    }
    if let Some(url) = jwks_url {
        if discovering {
            return Err(ConfigError::new(
                "discovery",
                "set jwks_url or discovery, not both",
            ));
        }
        let url = non_empty("jwks_url", Some(url))?;
        return Ok(Source::JwksUrl(fetch_url(
            "jwks_url",
            &url,
            allow_insecure_http,
        )?));
    }
    let mode = discovery.unwrap_or(Discovery::Auto);
    if mode == Discovery::Off {
        return Err(ConfigError::new(
            "jwks_url",
            "must be set when discovery is off",
        ));
    }
    check_discovery_issuer(issuer, allow_insecure_http)?;
    let url = match discovery_url {
        Some(url) => {
            let url = non_empty("discovery_url", Some(url))?;
            Some(fetch_url("discovery_url", &url, allow_insecure_http)?)
        }
        None => None,
    };
    Ok(Source::Discovery { mode, url })
}

/// A URL we fetch from or publish: `https`, or `http` on a loopback host or with
/// `allow_insecure_http`, with a host.
pub(super) fn fetch_url(
    field: &'static str,
    value: &str,
    allow_insecure_http: bool,
) -> Result<Url, ConfigError> {
    let url =
        Url::parse(value).map_err(|e| ConfigError::new(field, format!("must be a URL ({e})")))?;
    match url.scheme() {
        "https" => {}
        "http" if allow_insecure_http || is_loopback(&url) => {}
        "http" => {
            return Err(ConfigError::new(
                field,
                "must use https (plain http is allowed only for loopback hosts or with allow_insecure_http)",
            ))
        }
        other => {
            return Err(ConfigError::new(
                field,
                format!("must use https, not {other:?}"),
            ))
        }
    }
    if url.host().is_none() {
        return Err(ConfigError::new(field, "must have a host"));
    }
    Ok(url)
}

/// Discovery derives URLs from the issuer (SPEC-2 §1.3): it must be an `https` URL (or
/// `http` on a loopback host or with `allow_insecure_http`) with a host and without
/// userinfo, query or fragment. The configured string, not its parsed form, is what
/// the metadata's `issuer` is compared with.
fn check_discovery_issuer(issuer: &str, allow_insecure_http: bool) -> Result<(), ConfigError> {
    let Ok(url) = Url::parse(issuer) else {
        return Err(ConfigError::new(
            "issuer",
            "must be a URL when keys are discovered (set jwks_url otherwise)",
        ));
    };
    match url.scheme() {
        "https" => {}
        "http" if allow_insecure_http || is_loopback(&url) => {}
        _ => {
            return Err(ConfigError::new(
                "issuer",
                "must use https when keys are discovered (plain http is allowed only for loopback hosts or with allow_insecure_http)",
            ))
        }
    }
    if url.host().is_none() {
        return Err(ConfigError::new("issuer", "must have a host"));
    }
    if !url.username().is_empty() || url.password().is_some() {
        return Err(ConfigError::new(
            "issuer",
            "must not have userinfo when keys are discovered",
        ));
    }
    if url.query().is_some() || url.fragment().is_some() {
        return Err(ConfigError::new(
            "issuer",
            "must not have a query or a fragment when keys are discovered",
        ));
    }
    Ok(())
}

/// A key set given in code must have at least one usable key under the same rules as a
/// fetched one.
fn check_static_jwks(
    document: &str,
    allowed: &[Algorithm],
    enforce_min_len: bool,
    max_keys: usize,
) -> Result<(), ConfigError> {
    let policy = KeyPolicy {
        allowed: allowed.to_vec(),
        enforce_min_len,
        max_keys,
    };
    let set = parse_key_set(document.as_bytes(), &policy)
        .map_err(|e| ConfigError::new("static_jwks", format!("is not a usable key set ({e})")))?;
    if set.len() == 0 {
        let reasons: Vec<String> = set
            .skipped
            .iter()
            .map(|s| format!("{}: {}", s.kid.as_deref().unwrap_or("(no kid)"), s.reason))
            .collect();
        return Err(ConfigError::new(
            "static_jwks",
            format!("has no usable key ({})", reasons.join("; ")),
        ));
    }
    Ok(())
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

/// A claim path (trimmed, non-empty); errors name `field`.
fn claim_path(field: &'static str, text: &str) -> Result<ClaimPath, ConfigError> {
    ClaimPath::parse(&non_empty(field, Some(text))?).map_err(|e| e.renamed(field))
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
