//! `Deserialize` for [`AuthConfig`]: the field table's serialized form, then the rules.

use serde::de::Error as _;
use serde::Deserialize;

use super::fields::{Fields, RawConfig};
use super::{AuthConfig, AuthConfigBuilder};

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
        let fields = Fields::from_raw(raw).map_err(D::Error::custom)?;
        AuthConfigBuilder::from_fields(fields)
            .build()
            .map_err(D::Error::custom)
    }
}
