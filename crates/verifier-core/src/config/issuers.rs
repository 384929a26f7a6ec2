//! [`VerifierConfig`]: the issuers a verifier accepts tokens from (SPEC-2 §0.1, §2.3).

use std::collections::HashSet;

use serde::de::Error as _;
use serde::{Deserialize, Deserializer};

use super::{AuthConfig, ResourceConfig};
use crate::dpop::{DpopConfig, DpopMode};
use crate::error::ConfigError;

/// The most issuers one verifier accepts.
pub const MAX_ISSUERS: usize = 256;

/// What a verifier is built from: one or several issuers, each an independent
/// [`AuthConfig`] (audiences, algorithms, key source, claim names, lifecycle).
///
/// Tokens are routed to their issuer by the exact `iss` before any I/O; a token from any
/// other issuer is `invalid_issuer` and costs nothing (no fetch).
///
/// ```
/// use verifier_core::{AuthConfig, VerifierConfig};
///
/// let config = VerifierConfig::new([
///     AuthConfig::builder().issuer("https://a.example").audience("api").build()?,
///     AuthConfig::builder().issuer("https://b.example").audience("api").build()?,
/// ])?;
/// assert_eq!(config.issuers().len(), 2);
/// # Ok::<(), verifier_core::ConfigError>(())
/// ```
///
/// From a file, either the flat single-issuer form of [`AuthConfig`] or
/// `{"issuers": [{...}, {...}], "resource": {...}}`; from the environment,
/// `OIDC_ISSUERS` (see [`from_env`](Self::from_env)).
///
/// Beside the issuers it holds the API's own settings: its [`ResourceConfig`]
/// (protected-resource metadata, MCP preset, token cookie) and its DPoP settings
/// ([`DpopConfig`]; none: only Bearer). The rules that span both (the MCP audience) are
/// checked by [`with_resource`](Self::with_resource).
#[derive(Clone, Debug)]
#[non_exhaustive]
pub struct VerifierConfig {
    issuers: Vec<AuthConfig>,
    resource: ResourceConfig,
    dpop: Option<DpopConfig>,
}

impl From<AuthConfig> for VerifierConfig {
    fn from(config: AuthConfig) -> Self {
        VerifierConfig {
            issuers: vec![config],
            resource: ResourceConfig::default(),
            dpop: None,
        }
    }
}

impl VerifierConfig {
    /// The configuration of these issuers: 1 to [`MAX_ISSUERS`], each issuer string
    /// once (compared exactly). Errors name the field `issuers`.
    pub fn new(issuers: impl IntoIterator<Item = AuthConfig>) -> Result<Self, ConfigError> {
        let issuers: Vec<AuthConfig> = issuers.into_iter().collect();
        if issuers.is_empty() {
            return Err(ConfigError::new("issuers", "must list at least one issuer"));
        }
        if issuers.len() > MAX_ISSUERS {
            return Err(ConfigError::new(
                "issuers",
                format!(
                    "must list at most {MAX_ISSUERS} issuers, got {}",
                    issuers.len()
                ),
            ));
        }
        let mut seen = HashSet::new();
        for config in &issuers {
            if !seen.insert(config.issuer()) {
                return Err(ConfigError::new(
                    "issuers",
                    format!("lists {:?} twice", config.issuer()),
                ));
            }
        }
        Ok(VerifierConfig {
            issuers,
            resource: ResourceConfig::default(),
            dpop: None,
        })
    }

    /// The issuers, in configuration order.
    pub fn issuers(&self) -> &[AuthConfig] {
        &self.issuers
    }

    /// The API's own settings (default: no resource, no metadata).
    pub fn resource(&self) -> &ResourceConfig {
        &self.resource
    }

    /// The DPoP settings, when DPoP is accepted.
    pub fn dpop(&self) -> Option<&DpopConfig> {
        self.dpop.as_ref()
    }

    /// Sets the API's own settings. With the MCP preset, every issuer's audiences must
    /// be exactly the resource (SPEC-2 §4.7): a [`ConfigError`] naming `audience`
    /// otherwise.
    ///
    /// ```
    /// use verifier_core::{AuthConfig, ResourceConfig, VerifierConfig};
    /// let mcp = ResourceConfig::builder().resource("https://mcp.example.com/mcp").mcp().build()?;
    /// let issuer = |aud: &str| AuthConfig::builder().issuer("https://idp.example.com").audience(aud).build();
    /// assert!(VerifierConfig::from(issuer("https://mcp.example.com/mcp")?).with_resource(mcp.clone()).is_ok());
    /// let err = VerifierConfig::from(issuer("api://other")?).with_resource(mcp).unwrap_err();
    /// assert_eq!(err.field(), "audience");
    /// # Ok::<(), verifier_core::ConfigError>(())
    /// ```
    pub fn with_resource(mut self, resource: ResourceConfig) -> Result<Self, ConfigError> {
        if let (true, Some(id)) = (resource.mcp(), resource.resource()) {
            for issuer in &self.issuers {
                if issuer.audiences() != [id] {
                    return Err(ConfigError::new(
                        "audience",
                        format!(
                            "must be the MCP resource URI {id:?} (issuer {:?} has {:?})",
                            issuer.issuer(),
                            issuer.audiences()
                        ),
                    ));
                }
            }
        }
        self.resource = resource;
        Ok(self)
    }

    /// Sets the DPoP settings (a mode of `off` is the same as none).
    #[must_use]
    pub fn with_dpop(mut self, dpop: DpopConfig) -> Self {
        self.dpop = (dpop.mode() != DpopMode::Off).then_some(dpop);
        self
    }

    /// Reads the configuration from the environment: `OIDC_ISSUERS` (comma-separated)
    /// for several issuers, each with every other `OIDC_*` variable; otherwise
    /// [`AuthConfig::from_env`] for one.
    ///
    /// `OIDC_ISSUERS` excludes `OIDC_ISSUER`, and several issuers cannot share one
    /// `OIDC_JWKS_URL`: their keys are discovered.
    pub fn from_env() -> Result<Self, ConfigError> {
        Self::from_env_lookup(|name| std::env::var(name).ok())
    }

    /// Like [`from_env`](Self::from_env), reading variables through `lookup`.
    ///
    /// ```
    /// use std::collections::HashMap;
    /// use verifier_core::VerifierConfig;
    /// let vars = HashMap::from([
    ///     ("OIDC_ISSUERS", "https://a.example, https://b.example/realms/x"),
    ///     ("OIDC_AUDIENCE", "api"),
    /// ]);
    /// let config = VerifierConfig::from_env_lookup(|k| vars.get(k).map(|v| v.to_string()))?;
    /// assert_eq!(config.issuers()[1].issuer(), "https://b.example/realms/x");
    /// # Ok::<(), verifier_core::ConfigError>(())
    /// ```
    pub fn from_env_lookup<F>(lookup: F) -> Result<Self, ConfigError>
    where
        F: Fn(&str) -> Option<String>,
    {
        let resource = ResourceConfig::from_env_lookup(&lookup)?;
        // The MCP preset: the audience defaults to the resource; the DPoP base URL to the
        // resource's origin.
        let id = resource.resource().map(str::to_owned);
        let origin = id
            .as_deref()
            .and_then(|r| url::Url::parse(r).ok())
            .map(|u| u.origin().ascii_serialization());
        let mcp = resource.mcp();
        let dpop_on = lookup("OIDC_DPOP")
            .is_some_and(|v| !v.trim().is_empty() && !v.trim().eq_ignore_ascii_case("off"));
        let lookup = |name: &str| match name {
            "OIDC_AUDIENCE" if mcp => lookup(name)
                .filter(|v| !v.trim().is_empty())
                .or_else(|| id.clone()),
            "OIDC_PUBLIC_BASE_URL" if dpop_on => lookup(name)
                .filter(|v| !v.trim().is_empty())
                .or_else(|| origin.clone()),
            _ => lookup(name),
        };
        let dpop = DpopConfig::from_env_lookup(lookup)?;
        let config = Self::issuers_from_env(lookup)?;
        let config = config
            .with_resource(resource)
            .map_err(|e| match e.field() {
                "audience" => e.renamed("OIDC_AUDIENCE"),
                _ => e,
            })?;
        Ok(config.with_dpop(dpop))
    }

    /// The issuers of [`from_env_lookup`](Self::from_env_lookup).
    fn issuers_from_env<F>(lookup: F) -> Result<Self, ConfigError>
    where
        F: Fn(&str) -> Option<String>,
    {
        let set = |name: &str| lookup(name).filter(|v| !v.trim().is_empty());
        let Some(list) = set("OIDC_ISSUERS") else {
            return AuthConfig::from_env_lookup(lookup).map(VerifierConfig::from);
        };
        if set("OIDC_ISSUER").is_some() {
            return Err(ConfigError::new(
                "OIDC_ISSUERS",
                "cannot be set together with OIDC_ISSUER",
            ));
        }
        if set("OIDC_JWKS_URL").is_some() {
            return Err(ConfigError::new(
                "OIDC_JWKS_URL",
                "cannot be shared by several issuers; use discovery",
            ));
        }
        let mut issuers = Vec::new();
        for issuer in list.split(',').map(str::trim).filter(|s| !s.is_empty()) {
            let config = AuthConfig::from_env_lookup(|name| match name {
                "OIDC_ISSUER" => Some(issuer.to_owned()),
                other => lookup(other),
            })
            .map_err(|e| match e.field() {
                "OIDC_ISSUER" => {
                    ConfigError::new("OIDC_ISSUERS", format!("entry {issuer:?}: {}", e.reason()))
                }
                _ => e,
            })?;
            issuers.push(config);
        }
        VerifierConfig::new(issuers)
            .map_err(|e| ConfigError::new("OIDC_ISSUERS", e.reason().to_owned()))
    }
}

/// `{"issuers": [...]}`, or the flat single-issuer form of [`AuthConfig`].
impl<'de> Deserialize<'de> for VerifierConfig {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        #[derive(Deserialize)]
        struct Form {
            #[serde(default)]
            issuers: Option<Vec<AuthConfig>>,
            #[serde(default)]
            resource: Option<ResourceConfig>,
            #[serde(flatten)]
            rest: serde_json::Map<String, serde_json::Value>,
        }
        let form = Form::deserialize(deserializer)?;
        match form.issuers {
            Some(issuers) => {
                if let Some(field) = form.rest.keys().next() {
                    return Err(D::Error::custom(format!(
                        "unknown field `{field}` next to `issuers` (per-issuer settings go inside each issuer)"
                    )));
                }
                let config = VerifierConfig::new(issuers).map_err(D::Error::custom)?;
                config
                    .with_resource(form.resource.unwrap_or_default())
                    .map_err(D::Error::custom)
            }
            None => {
                if form.resource.is_some() {
                    return Err(D::Error::custom(
                        "`resource` goes next to `issuers` (use the {\"issuers\": [...], \"resource\": {...}} form)",
                    ));
                }
                AuthConfig::deserialize(serde_json::Value::Object(form.rest))
                    .map(VerifierConfig::from)
                    .map_err(D::Error::custom)
            }
        }
    }
}
