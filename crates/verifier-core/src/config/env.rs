//! [`AuthConfig::from_env`]: the field table's environment variables.

use super::fields::Fields;
use super::{AuthConfig, AuthConfigBuilder};
use crate::error::ConfigError;

impl AuthConfig {
    /// Reads the configuration from `OIDC_*` environment variables.
    ///
    /// `OIDC_ISSUER`, `OIDC_AUDIENCE` (comma-separated), `OIDC_JWKS_URL`,
    /// `OIDC_ALLOWED_ALGS` (comma-separated), `OIDC_LEEWAY_S`, `OIDC_JWKS_TIMEOUT_S`,
    /// `OIDC_JWKS_CACHE_TTL_S`, `OIDC_JWKS_CACHE_TTL_JITTER_S`, `OIDC_JWKS_MAX_CACHED_KEYS`, `OIDC_REQUIRED_SCOPES`,
    /// `OIDC_REQUIRED_PERMISSIONS` (space-separated), `OIDC_SCOPE_CLAIM`,
    /// `OIDC_PERMISSIONS_CLAIM`, `OIDC_JWKS_REFRESH_COOLDOWN_S`, `OIDC_JWKS_MAX_STALE_S`,
    /// `OIDC_ALLOW_INSECURE_HTTP`, `OIDC_ENFORCE_MINIMUM_KEY_LENGTH`,
    /// `OIDC_MAX_TOKEN_BYTES`, `OIDC_JWKS_MAX_BYTES`, `OIDC_JWKS_BACKOFF_INITIAL_S`,
    /// `OIDC_JWKS_BACKOFF_MAX_S`, `OIDC_VERIFIED_TOKEN_CACHE`, `OIDC_ALLOWED_CLIENTS`
    /// (comma-separated), `OIDC_AUDIENCE_MODE`, `OIDC_REQUIRED_TOKEN_USE` and
    /// `OIDC_ACCESS_TOKEN_PROFILE` (`generic`, `rfc9068`): one variable per field,
    /// named after it. `_S` variables take seconds, fractions allowed.
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
        let fields = Fields::from_env(&lookup)?;
        // A rule of build() names the field; from here, it names the variable.
        AuthConfigBuilder::from_fields(fields).build().map_err(|e| {
            match Fields::env_var(e.field()) {
                Some(var) => e.renamed(var),
                None => e,
            }
        })
    }
}
