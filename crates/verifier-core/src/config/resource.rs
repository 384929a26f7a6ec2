//! [`ResourceConfig`]: the API's own settings (SPEC-2 §0.1, §4.3): its resource
//! identifier and RFC 9728 protected-resource metadata, and the MCP preset (§4.7).
//! Its own field table, like [`AuthConfig`](super::AuthConfig)'s.

use std::collections::BTreeSet;

use serde::de::Error as _;
use serde::Deserialize;
use url::Url;

use super::builder::fetch_url as http_url;
use super::kind::{Algs, Flag, List, Text, Words};
use super::table::config_table;
use crate::alg::Algorithm;
use crate::error::ConfigError;

config_table! {
    storage ResourceFields, resolved ResourceResolved, raw RawResourceConfig;
    // field                                kind   environment variable              presence / default
    resource:                               Text,  "OIDC_RESOURCE",                  optional;
    resource_metadata_url:                  Text,  "OIDC_RESOURCE_METADATA_URL",     optional;
    authorization_servers:                  List,  "OIDC_AUTHORIZATION_SERVERS",     optional;
    scopes_supported:                       Words, "OIDC_SCOPES_SUPPORTED",          optional;
    resource_name:                          Text,  "OIDC_RESOURCE_NAME",             optional;
    resource_documentation:                 Text,  "OIDC_RESOURCE_DOCUMENTATION",    optional;
    resource_policy_uri:                    Text,  "OIDC_RESOURCE_POLICY_URI",       optional;
    resource_tos_uri:                       Text,  "OIDC_RESOURCE_TOS_URI",          optional;
    resource_signing_alg_values_supported:  Algs,  none,                             optional;
    mcp:                                    Flag,  "OIDC_MCP",                       default false;
    token_cookie:                           Text,  "OIDC_TOKEN_COOKIE",              optional;
    allow_insecure_http:                    Flag,  "OIDC_ALLOW_INSECURE_HTTP",       default false;
}

/// The API's own settings: its resource identifier (RFC 8707 / RFC 9728), the members of
/// its protected-resource metadata, and the MCP preset. Everything is off by default
/// (`ResourceConfig::default()`: no resource, no metadata, no `resource_metadata` in
/// challenges).
///
/// Build it with [`ResourceConfig::builder`], deserialize it, or read `OIDC_RESOURCE`,
/// `OIDC_RESOURCE_METADATA_URL`, `OIDC_AUTHORIZATION_SERVERS` (comma-separated),
/// `OIDC_SCOPES_SUPPORTED` (space-separated), `OIDC_RESOURCE_NAME`,
/// `OIDC_RESOURCE_DOCUMENTATION`, `OIDC_RESOURCE_POLICY_URI`, `OIDC_RESOURCE_TOS_URI`,
/// `OIDC_MCP`, `OIDC_TOKEN_COOKIE` and `OIDC_ALLOW_INSECURE_HTTP` with
/// [`from_env`](Self::from_env).
///
/// ```
/// use verifier_core::ResourceConfig;
/// let config = ResourceConfig::builder()
///     .resource("https://api.example.com/mcp")
///     .mcp()
///     .build()?;
/// assert_eq!(config.resource(), Some("https://api.example.com/mcp"));
/// assert_eq!(
///     config.resource_metadata_url().unwrap().as_str(),
///     "https://api.example.com/.well-known/oauth-protected-resource/mcp"
/// );
/// # Ok::<(), verifier_core::ConfigError>(())
/// ```
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ResourceConfig {
    resource: Option<Resource>,
    authorization_servers: Vec<String>,
    scopes_supported: Vec<String>,
    resource_name: Option<String>,
    resource_documentation: Option<Url>,
    resource_policy_uri: Option<Url>,
    resource_tos_uri: Option<Url>,
    resource_signing_alg_values_supported: Vec<Algorithm>,
    mcp: bool,
    token_cookie: Option<String>,
}

/// A validated resource identifier and its metadata URL.
#[derive(Clone, Debug, PartialEq, Eq)]
struct Resource {
    /// The configured string, byte for byte (what `aud` and the document's `resource`
    /// are compared with).
    id: String,
    metadata_url: Url,
}

impl ResourceConfig {
    /// Starts a builder (every setting optional).
    pub fn builder() -> ResourceConfigBuilder {
        ResourceConfigBuilder::default()
    }

    /// Reads the `OIDC_*` variables listed above; errors name the variable.
    pub fn from_env() -> Result<ResourceConfig, ConfigError> {
        Self::from_env_lookup(|name| std::env::var(name).ok())
    }

    /// Like [`from_env`](Self::from_env), reading variables through `lookup`.
    ///
    /// ```
    /// use verifier_core::ResourceConfig;
    /// let err = ResourceConfig::from_env_lookup(|k| (k == "OIDC_MCP").then(|| "true".into())).unwrap_err();
    /// assert_eq!(err.field(), "OIDC_RESOURCE");
    /// ```
    pub fn from_env_lookup<F>(lookup: F) -> Result<ResourceConfig, ConfigError>
    where
        F: Fn(&str) -> Option<String>,
    {
        let fields = ResourceFields::from_env(&lookup)?;
        ResourceConfigBuilder { fields }.build().map_err(|e| {
            match ResourceFields::env_var(e.field()) {
                Some(var) => e.renamed(var),
                None => e,
            }
        })
    }

    /// The resource identifier, exactly as configured; `None` when the feature is off.
    pub fn resource(&self) -> Option<&str> {
        self.resource.as_ref().map(|r| r.id.as_str())
    }
    /// The protected-resource metadata URL: configured, or derived from the resource
    /// ([`resource_metadata_url`](crate::resource_metadata_url)).
    pub fn resource_metadata_url(&self) -> Option<&Url> {
        self.resource.as_ref().map(|r| &r.metadata_url)
    }
    /// The configured authorization servers, in order (empty: the verifier's issuers).
    pub fn authorization_servers(&self) -> &[String] {
        &self.authorization_servers
    }
    /// The configured `scopes_supported`, sorted (empty: the issuers' required scopes).
    pub fn scopes_supported(&self) -> &[String] {
        &self.scopes_supported
    }
    /// `resource_name`, if set.
    pub fn resource_name(&self) -> Option<&str> {
        self.resource_name.as_deref()
    }
    /// `resource_documentation`, if set.
    pub fn resource_documentation(&self) -> Option<&Url> {
        self.resource_documentation.as_ref()
    }
    /// `resource_policy_uri`, if set.
    pub fn resource_policy_uri(&self) -> Option<&Url> {
        self.resource_policy_uri.as_ref()
    }
    /// `resource_tos_uri`, if set.
    pub fn resource_tos_uri(&self) -> Option<&Url> {
        self.resource_tos_uri.as_ref()
    }
    /// `resource_signing_alg_values_supported` (for APIs that sign their responses; never
    /// derived from the token algorithms).
    pub fn resource_signing_alg_values_supported(&self) -> &[Algorithm] {
        &self.resource_signing_alg_values_supported
    }
    /// Whether the MCP preset is on (SPEC-2 §4.7).
    pub fn mcp(&self) -> bool {
        self.mcp
    }
    /// The name of the cookie a token is also read from when a request has no
    /// `Authorization` header, if set ([`ResourceConfigBuilder::token_cookie`]).
    pub fn token_cookie(&self) -> Option<&str> {
        self.token_cookie.as_deref()
    }
}

impl<'de> Deserialize<'de> for ResourceConfig {
    /// Deserializes and validates; unknown members are refused.
    ///
    /// ```
    /// let config: verifier_core::ResourceConfig = serde_json::from_str(
    ///     r#"{"resource": "https://api.example.com", "resource_name": "Orders"}"#,
    /// ).unwrap();
    /// assert_eq!(config.resource_name(), Some("Orders"));
    /// ```
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let raw = RawResourceConfig::deserialize(deserializer)?;
        let fields = ResourceFields::from_raw(raw).map_err(D::Error::custom)?;
        ResourceConfigBuilder { fields }
            .build()
            .map_err(D::Error::custom)
    }
}

/// Builder for [`ResourceConfig`]; every rule is checked in [`build`](Self::build).
#[derive(Clone, Debug, Default)]
#[must_use]
pub struct ResourceConfigBuilder {
    fields: ResourceFields,
}

impl ResourceConfigBuilder {
    /// The resource identifier (`OIDC_RESOURCE`): an absolute `https` URL (or `http` on a
    /// loopback host or with [`allow_insecure_http`](Self::allow_insecure_http)) with a
    /// host and no userinfo, query or fragment. Kept as the configured string (surrounding
    /// whitespace trimmed): no slash is added or removed.
    pub fn resource(mut self, resource: impl Into<String>) -> Self {
        self.fields.resource = Some(resource.into());
        self
    }
    /// The metadata URL (default: derived from the resource, RFC 9728 §3.1); same scheme
    /// rule. Its path is the path the metadata is served at.
    pub fn resource_metadata_url(mut self, url: impl Into<String>) -> Self {
        self.fields.resource_metadata_url = Some(url.into());
        self
    }
    /// The `authorization_servers` of the document (default: the verifier's issuers, in
    /// order); each a URL.
    pub fn authorization_servers<I, S>(mut self, servers: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        self.fields
            .authorization_servers
            .get_or_insert_with(Vec::new)
            .extend(servers.into_iter().map(Into::into));
        self
    }
    /// The `scopes_supported` of the document (default: the union of the issuers'
    /// required scopes; omitted when empty). Trimmed, de-duplicated, sorted.
    pub fn scopes_supported<I, S>(mut self, scopes: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        self.fields
            .scopes_supported
            .get_or_insert_with(Vec::new)
            .extend(scopes.into_iter().map(Into::into));
        self
    }
    /// `resource_name`: a human-readable name for the API.
    pub fn resource_name(mut self, name: impl Into<String>) -> Self {
        self.fields.resource_name = Some(name.into());
        self
    }
    /// `resource_documentation`: a URL.
    pub fn resource_documentation(mut self, url: impl Into<String>) -> Self {
        self.fields.resource_documentation = Some(url.into());
        self
    }
    /// `resource_policy_uri`: a URL.
    pub fn resource_policy_uri(mut self, url: impl Into<String>) -> Self {
        self.fields.resource_policy_uri = Some(url.into());
        self
    }
    /// `resource_tos_uri`: a URL.
    pub fn resource_tos_uri(mut self, url: impl Into<String>) -> Self {
        self.fields.resource_tos_uri = Some(url.into());
        self
    }
    /// `resource_signing_alg_values_supported`: only for APIs that sign their responses
    /// (RFC 9728 §2); never derived from the token algorithms. Code and file only.
    pub fn resource_signing_alg_values_supported(
        mut self,
        algs: impl IntoIterator<Item = Algorithm>,
    ) -> Self {
        self.fields.resource_signing_alg_values_supported = Some(algs.into_iter().collect());
        self
    }
    /// The MCP preset (MCP authorization 2025-06-18): the resource must be a canonical
    /// server URI (lowercase scheme and host, no default port, no trailing slash, no
    /// query or fragment) and is required.
    pub fn mcp(mut self) -> Self {
        self.fields.mcp = Some(true);
        self
    }
    /// Also reads the access token from the cookie `name` (`OIDC_TOKEN_COOKIE`), for
    /// browser-facing services whose pages cannot set an `Authorization` header. Off by
    /// default. The `Authorization` header wins when both are present; the cookie's token
    /// is taken as presented with the Bearer scheme (a DPoP-bound token in a cookie is
    /// `dpop_bound_token`), and not read when DPoP is `required`.
    ///
    /// **A cookie is sent by the browser on cross-site requests too: protect every
    /// state-changing route against CSRF** (`SameSite=Strict` or `Lax` on the cookie, and
    /// a CSRF token or an `Origin` check for unsafe methods). See docs/security.md.
    ///
    /// `name` must be a cookie name (RFC 6265 token characters, at most 256 bytes).
    ///
    /// ```
    /// use verifier_core::ResourceConfig;
    /// let config = ResourceConfig::builder().token_cookie("access_token").build()?;
    /// assert_eq!(config.token_cookie(), Some("access_token"));
    /// assert_eq!(ResourceConfig::builder().token_cookie("a b").build().unwrap_err().field(), "token_cookie");
    /// # Ok::<(), verifier_core::ConfigError>(())
    /// ```
    pub fn token_cookie(mut self, name: impl Into<String>) -> Self {
        self.fields.token_cookie = Some(name.into());
        self
    }
    /// Allow plain `http` URLs on non-loopback hosts (never in production).
    pub fn allow_insecure_http(mut self, on: bool) -> Self {
        self.fields.allow_insecure_http = Some(on);
        self
    }

    /// Checks every rule and builds the configuration.
    pub fn build(self) -> Result<ResourceConfig, ConfigError> {
        let f = self.fields.resolve();
        let insecure = f.allow_insecure_http;
        let id = f.resource.as_deref().map(str::trim);
        if f.mcp && id.is_none_or(str::is_empty) {
            return Err(ConfigError::new(
                "resource",
                "must be set when the MCP preset is on",
            ));
        }
        let resource = match id {
            None => {
                if f.resource_metadata_url.is_some() {
                    return Err(ConfigError::new(
                        "resource_metadata_url",
                        "needs resource to be set",
                    ));
                }
                None
            }
            Some(id) => {
                let url = resource_url(id, insecure)?;
                if f.mcp {
                    check_canonical(id, &url)?;
                }
                let metadata_url = match f.resource_metadata_url.as_deref().map(str::trim) {
                    Some(m) => http_url("resource_metadata_url", m, insecure)?,
                    None => crate::resource::resource_metadata_url(&url),
                };
                Some(Resource {
                    id: id.to_owned(),
                    metadata_url,
                })
            }
        };
        let authorization_servers: Vec<String> = f
            .authorization_servers
            .unwrap_or_default()
            .iter()
            .map(|s| s.trim().to_owned())
            .collect();
        for server in &authorization_servers {
            http_url("authorization_servers", server, insecure)?;
        }
        let scopes_supported: Vec<String> = f
            .scopes_supported
            .unwrap_or_default()
            .iter()
            .map(|s| s.trim())
            .filter(|s| !s.is_empty())
            .map(str::to_owned)
            .collect::<BTreeSet<_>>()
            .into_iter()
            .collect();
        let optional_url = |field: &'static str, value: Option<String>| {
            value
                .map(|v| http_url(field, v.trim(), insecure))
                .transpose()
        };
        let resource_name = match f.resource_name.as_deref().map(str::trim) {
            Some("") => return Err(ConfigError::new("resource_name", "must be non-empty")),
            other => other.map(str::to_owned),
        };
        let token_cookie = f
            .token_cookie
            .map(|name| cookie_name(name.trim()).map(str::to_owned))
            .transpose()?;
        let mut signing = f.resource_signing_alg_values_supported.unwrap_or_default();
        signing.dedup();
        Ok(ResourceConfig {
            resource,
            authorization_servers,
            scopes_supported,
            resource_name,
            resource_documentation: optional_url(
                "resource_documentation",
                f.resource_documentation,
            )?,
            resource_policy_uri: optional_url("resource_policy_uri", f.resource_policy_uri)?,
            resource_tos_uri: optional_url("resource_tos_uri", f.resource_tos_uri)?,
            resource_signing_alg_values_supported: signing,
            mcp: f.mcp,
            token_cookie,
        })
    }
}

/// A cookie name: RFC 6265 `token` (RFC 7230 `tchar`s), 1 to 256 bytes.
fn cookie_name(name: &str) -> Result<&str, ConfigError> {
    const TCHAR: &[u8] = b"!#$%&'*+-.^_`|~";
    let ok = !name.is_empty()
        && name.len() <= 256
        && name
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || TCHAR.contains(&b));
    if ok {
        Ok(name)
    } else {
        Err(ConfigError::new(
            "token_cookie",
            "must be a cookie name (letters, digits and !#$%&'*+-.^_`|~, at most 256 bytes)",
        ))
    }
}

/// The resource identifier: an http(s) URL (`fetch_url`) without userinfo, query or fragment.
fn resource_url(id: &str, insecure: bool) -> Result<Url, ConfigError> {
    let url = http_url("resource", id, insecure)?;
    if !url.username().is_empty() || url.password().is_some() {
        return Err(ConfigError::new("resource", "must not have userinfo"));
    }
    if url.query().is_some() || url.fragment().is_some() {
        return Err(ConfigError::new(
            "resource",
            "must not have a query or a fragment",
        ));
    }
    Ok(url)
}

/// The MCP preset's canonical server URI (SPEC-2 §4.7): the configured string must be
/// exactly what its parts spell in canonical form.
fn check_canonical(id: &str, url: &Url) -> Result<(), ConfigError> {
    let host = url.host_str().unwrap_or_default();
    let port = url.port().map(|p| format!(":{p}")).unwrap_or_default();
    let path = url.path().trim_end_matches('/');
    let canonical = format!("{}://{host}{port}{path}", url.scheme());
    if id != canonical {
        return Err(ConfigError::new(
            "resource",
            format!(
                "is not a canonical MCP server URI (lowercase scheme and host, no default port, no trailing slash); the canonical form is {canonical:?}"
            ),
        ));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::ResourceFields;

    /// Variables are `OIDC_` + the field in capitals (none for file-only fields).
    #[test]
    fn variables_follow_the_field_names() {
        for (field, var, _) in ResourceFields::TABLE {
            if let Some(var) = var {
                assert_eq!(*var, format!("OIDC_{}", field.to_ascii_uppercase()));
            }
        }
    }
}
