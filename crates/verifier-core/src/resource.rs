//! RFC 9728 protected-resource metadata: the metadata URL rule (SPEC-2 §4.4) and the
//! document an API serves about itself (§4.5).

use bytes::Bytes;
use http::header::{HeaderValue, ACCESS_CONTROL_ALLOW_ORIGIN, ALLOW, CACHE_CONTROL, CONTENT_TYPE};
use http::{Method, Response, StatusCode};
use serde::Serialize;
use url::Url;

use crate::alg::Algorithm;
use crate::challenge::Challenge;
use crate::config::{AuthConfig, ResourceConfig};
use crate::error::ConfigError;

/// The well-known path segment of RFC 9728 §3.
const WELL_KNOWN: &str = "/.well-known/oauth-protected-resource";

/// The metadata URL of a resource identifier (RFC 9728 §3.1): one terminating `/` is
/// removed from the resource's path, and `/.well-known/oauth-protected-resource` is
/// inserted between the origin and the path. Query and fragment are dropped (a resource
/// identifier has none).
///
/// ```
/// use url::Url;
/// use verifier_core::resource_metadata_url;
/// let url = |s: &str| resource_metadata_url(&Url::parse(s).unwrap()).to_string();
/// assert_eq!(url("https://api.example.com"), "https://api.example.com/.well-known/oauth-protected-resource");
/// assert_eq!(url("https://api.example.com/mcp"), "https://api.example.com/.well-known/oauth-protected-resource/mcp");
/// assert_eq!(url("https://api.example.com:8443/v1/"), "https://api.example.com:8443/.well-known/oauth-protected-resource/v1");
/// ```
pub fn resource_metadata_url(resource: &Url) -> Url {
    let path = resource.path();
    let path = path.strip_suffix('/').unwrap_or(path);
    let mut url = resource.clone();
    url.set_path(&format!("{WELL_KNOWN}{path}"));
    url.set_query(None);
    url.set_fragment(None);
    url
}

/// An API's RFC 9728 protected-resource metadata document, built once from its
/// [`ResourceConfig`] and its issuers, and served as bytes.
///
/// Members, in this order, omitted when unset: `resource` (the configured string, byte
/// for byte), `authorization_servers` (configured, else the issuers in order),
/// `scopes_supported` (configured, else the union of the issuers' `required_scopes`,
/// sorted; omitted when empty), `bearer_methods_supported` (always `["header"]`),
/// `resource_signing_alg_values_supported`, `dpop_signing_alg_values_supported`,
/// `dpop_bound_access_tokens_required`, `resource_name`, `resource_documentation`,
/// `resource_policy_uri`, `resource_tos_uri`.
///
/// ```
/// use verifier_core::{AuthConfig, ProtectedResourceMetadata, ResourceConfig};
/// let issuer = AuthConfig::builder()
///     .issuer("https://idp.example.com/realms/acme")
///     .audience("https://api.example.com/mcp")
///     .required_scopes(["mcp:tools"])
///     .build()?;
/// let resource = ResourceConfig::builder().resource("https://api.example.com/mcp").build()?;
/// let doc = ProtectedResourceMetadata::new(&resource, [&issuer])?;
/// assert_eq!(doc.path(), "/.well-known/oauth-protected-resource/mcp");
/// assert_eq!(
///     doc.body(),
///     r#"{"resource":"https://api.example.com/mcp","authorization_servers":["https://idp.example.com/realms/acme"],"scopes_supported":["mcp:tools"],"bearer_methods_supported":["header"]}"#
/// );
/// # Ok::<(), verifier_core::ConfigError>(())
/// ```
#[derive(Clone, Debug)]
pub struct ProtectedResourceMetadata {
    url: Url,
    document: Document,
    body: Bytes,
}

/// The serialized document: members in the order above.
#[derive(Clone, Debug, Serialize)]
struct Document {
    resource: String,
    authorization_servers: Vec<String>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    scopes_supported: Vec<String>,
    bearer_methods_supported: [&'static str; 1],
    #[serde(skip_serializing_if = "Vec::is_empty")]
    resource_signing_alg_values_supported: Vec<&'static str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    dpop_signing_alg_values_supported: Option<Vec<&'static str>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    dpop_bound_access_tokens_required: Option<bool>,
    #[serde(skip_serializing_if = "Option::is_none")]
    resource_name: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    resource_documentation: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    resource_policy_uri: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    resource_tos_uri: Option<String>,
}

impl ProtectedResourceMetadata {
    /// The document of `resource` for a verifier of `issuers` (in configuration order).
    /// A [`ConfigError`] naming `resource` when none is configured, and
    /// `authorization_servers` when there would be none.
    pub fn new<'a>(
        resource: &ResourceConfig,
        issuers: impl IntoIterator<Item = &'a AuthConfig>,
    ) -> Result<Self, ConfigError> {
        let (Some(id), Some(url)) = (resource.resource(), resource.resource_metadata_url()) else {
            return Err(ConfigError::new(
                "resource",
                "must be set to publish protected-resource metadata",
            ));
        };
        let issuers: Vec<&AuthConfig> = issuers.into_iter().collect();
        let authorization_servers: Vec<String> = if resource.authorization_servers().is_empty() {
            issuers.iter().map(|c| c.issuer().to_owned()).collect()
        } else {
            resource.authorization_servers().to_vec()
        };
        if authorization_servers.is_empty() {
            return Err(ConfigError::new(
                "authorization_servers",
                "must be non-empty",
            ));
        }
        let scopes_supported = if resource.scopes_supported().is_empty() {
            let mut scopes: Vec<String> = issuers
                .iter()
                .flat_map(|c| c.required_scopes().iter().cloned())
                .collect();
            scopes.sort_unstable();
            scopes.dedup();
            scopes
        } else {
            resource.scopes_supported().to_vec()
        };
        let document = Document {
            resource: id.to_owned(),
            authorization_servers,
            scopes_supported,
            bearer_methods_supported: ["header"],
            resource_signing_alg_values_supported: names(
                resource.resource_signing_alg_values_supported(),
            ),
            dpop_signing_alg_values_supported: None,
            dpop_bound_access_tokens_required: None,
            resource_name: resource.resource_name().map(str::to_owned),
            resource_documentation: resource.resource_documentation().map(Url::to_string),
            resource_policy_uri: resource.resource_policy_uri().map(Url::to_string),
            resource_tos_uri: resource.resource_tos_uri().map(Url::to_string),
        };
        Ok(Self::of(url.clone(), document))
    }

    fn of(url: Url, document: Document) -> Self {
        // A struct of strings, string lists and booleans always serializes.
        let body = serde_json::to_vec(&document).unwrap_or_default();
        ProtectedResourceMetadata {
            url,
            document,
            body: Bytes::from(body),
        }
    }

    /// Adds the DPoP members (RFC 9728 §2): `dpop_signing_alg_values_supported` and
    /// `dpop_bound_access_tokens_required` (true when DPoP is required).
    ///
    /// ```
    /// # use verifier_core::{Algorithm, AuthConfig, ProtectedResourceMetadata, ResourceConfig};
    /// # let issuer = AuthConfig::builder().issuer("https://idp.example.com").audience("a").build()?;
    /// # let resource = ResourceConfig::builder().resource("https://api.example.com").build()?;
    /// let doc = ProtectedResourceMetadata::new(&resource, [&issuer])?
    ///     .with_dpop(false, &[Algorithm::ES256, Algorithm::EdDSA]);
    /// assert!(doc.body().ends_with(r#""dpop_signing_alg_values_supported":["ES256","EdDSA"],"dpop_bound_access_tokens_required":false}"#));
    /// # Ok::<(), verifier_core::ConfigError>(())
    /// ```
    pub fn with_dpop(self, required: bool, algs: &[Algorithm]) -> Self {
        let mut document = self.document;
        document.dpop_signing_alg_values_supported = Some(names(algs));
        document.dpop_bound_access_tokens_required = Some(required);
        Self::of(self.url, document)
    }

    /// The metadata URL (`resource_metadata` of the challenges).
    pub fn url(&self) -> &Url {
        &self.url
    }

    /// The path the document is served at (exactly; no trailing-slash variant).
    pub fn path(&self) -> &str {
        self.url.path()
    }

    /// The resource identifier, as configured.
    pub fn resource(&self) -> &str {
        &self.document.resource
    }

    /// The `authorization_servers` member.
    pub fn authorization_servers(&self) -> &[String] {
        &self.document.authorization_servers
    }

    /// The JSON document, as served.
    pub fn body(&self) -> &str {
        // Built by serde_json from Rust strings: always UTF-8.
        std::str::from_utf8(&self.body).unwrap_or_default()
    }

    /// The JSON document's bytes, as served (cheap to clone).
    pub fn bytes(&self) -> Bytes {
        self.body.clone()
    }

    /// A `Bearer` challenge with `realm` and this document's URL as `resource_metadata`.
    pub fn challenge(&self, realm: Option<&str>) -> Challenge {
        Challenge::bearer(realm).with_resource_metadata(self.url.as_str())
    }

    /// The answer to a request for the metadata path (SPEC-2 §4.5), for any framework:
    /// `GET` → 200 with the document, `Content-Type: application/json`, `Cache-Control:
    /// public, max-age=3600` and `Access-Control-Allow-Origin: *`; `HEAD` → the same
    /// without a body; any other method → 405 with `Allow: GET, HEAD`.
    ///
    /// ```
    /// # use verifier_core::{AuthConfig, ProtectedResourceMetadata, ResourceConfig};
    /// # let issuer = AuthConfig::builder().issuer("https://idp.example.com").audience("a").build()?;
    /// # let resource = ResourceConfig::builder().resource("https://api.example.com").build()?;
    /// let doc = ProtectedResourceMetadata::new(&resource, [&issuer])?;
    /// let get = doc.respond(&http::Method::GET);
    /// assert_eq!(get.status(), 200);
    /// assert_eq!(get.headers()["cache-control"], "public, max-age=3600");
    /// let post = doc.respond(&http::Method::POST);
    /// assert_eq!(post.status(), 405);
    /// assert_eq!(post.headers()["allow"], "GET, HEAD");
    /// # Ok::<(), verifier_core::ConfigError>(())
    /// ```
    pub fn respond(&self, method: &Method) -> Response<Bytes> {
        let (status, body) = match *method {
            Method::GET => (StatusCode::OK, self.body.clone()),
            Method::HEAD => (StatusCode::OK, Bytes::new()),
            _ => (StatusCode::METHOD_NOT_ALLOWED, Bytes::new()),
        };
        let mut response = Response::new(body);
        *response.status_mut() = status;
        let headers = response.headers_mut();
        if status == StatusCode::OK {
            headers.insert(CONTENT_TYPE, HeaderValue::from_static("application/json"));
            headers.insert(
                CACHE_CONTROL,
                HeaderValue::from_static("public, max-age=3600"),
            );
            headers.insert(ACCESS_CONTROL_ALLOW_ORIGIN, HeaderValue::from_static("*"));
        } else {
            headers.insert(ALLOW, HeaderValue::from_static("GET, HEAD"));
        }
        response
    }
}

fn names(algs: &[Algorithm]) -> Vec<&'static str> {
    algs.iter().map(|a| a.as_str()).collect()
}
