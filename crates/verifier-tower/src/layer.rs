//! [`BearerAuthLayer`]: configuration and builder methods.

use std::sync::Arc;

use tower_layer::Layer;
use verifier_core::{
    AuthError, Challenge, Health, ProtectedResourceMetadata, Requirements, ResourceServer, Verifier,
};

use crate::failure::DefaultOnFailure;
use crate::service::BearerAuth;

/// Where the layer reads the URI the client used: from the request extensions (e.g.
/// the original URI a prefix-stripping router saved), `None` meaning `Request::uri`.
///
/// ```
/// use http::{Extensions, Uri};
/// /// What my router stores before stripping a prefix.
/// #[derive(Clone)]
/// struct FullUri(Uri);
/// fn full_uri(extensions: &Extensions) -> Option<&Uri> {
///     extensions.get::<FullUri>().map(|u| &u.0)
/// }
/// let source: verifier_tower::UriSource = full_uri;
/// # let _ = source;
/// ```
pub type UriSource = fn(&http::Extensions) -> Option<&http::Uri>;

/// What a layer and its services share.
#[derive(Clone, Debug)]
pub(crate) struct Settings<F> {
    pub(crate) verifier: Verifier,
    pub(crate) challenge: Arc<Challenge>,
    pub(crate) requirements: Requirements,
    pub(crate) optional: bool,
    /// The metadata document answered on its path, when served.
    pub(crate) metadata: Option<ProtectedResourceMetadata>,
    pub(crate) request_uri: Option<UriSource>,
    pub(crate) on_failure: F,
}

impl<F> Settings<F> {
    pub(crate) fn failure<B>(&self, error: &AuthError) -> http::Response<B>
    where
        F: crate::OnFailure<B>,
    {
        self.on_failure.on_failure_with(error, &self.challenge)
    }

    /// The URI the client used.
    pub(crate) fn uri<'r, B>(&self, req: &'r http::Request<B>) -> &'r http::Uri {
        self.request_uri
            .and_then(|source| source(req.extensions()))
            .unwrap_or(req.uri())
    }

    /// The metadata document, when `uri` is exactly its path.
    pub(crate) fn metadata_for(&self, uri: &http::Uri) -> Option<&ProtectedResourceMetadata> {
        self.metadata
            .as_ref()
            .filter(|doc| doc.path() == uri.path())
    }
}

/// Applies [`BearerAuth`] to services: authentication of the request (Bearer, DPoP, the
/// token cookie, as the verifier is configured), claims into request extensions,
/// failures answered directly, the protected-resource metadata path answered.
///
/// Defaults: authentication required; the verifier's challenge
/// ([`Challenge::for_verifier`]: no realm, `resource_metadata` when a resource is
/// configured, the `DPoP` scheme when accepted); no per-layer scopes or permissions (the
/// verifier-wide ones from [`AuthConfig`](verifier_core::AuthConfig) always apply); the
/// metadata document served when a resource is configured; the request's own URI;
/// [`DefaultOnFailure`] responses.
///
/// ```no_run
/// # fn run() -> Result<(), Box<dyn std::error::Error>> {
/// use verifier_core::{AsyncJwtVerifier, AuthConfig};
/// use verifier_tower::BearerAuthLayer;
///
/// let verifier = AsyncJwtVerifier::new(AuthConfig::from_env()?)?;
/// let admin_only = BearerAuthLayer::new(verifier)
///     .realm("api")
///     .require_scopes(["admin"]);
/// // tower::ServiceBuilder::new().layer(admin_only).service(my_service)
/// # let _ = admin_only; Ok(()) }
/// ```
#[derive(Clone, Debug)]
pub struct BearerAuthLayer<F = DefaultOnFailure> {
    settings: Settings<F>,
}

impl BearerAuthLayer<DefaultOnFailure> {
    /// A layer verifying with `verifier` (an [`AsyncJwtVerifier`](verifier_core::AsyncJwtVerifier),
    /// a `JwtVerifier` with feature `blocking`, or a [`Verifier`]).
    pub fn new(verifier: impl Into<Verifier>) -> Self {
        let verifier = verifier.into();
        BearerAuthLayer {
            settings: Settings {
                challenge: Arc::new(Challenge::for_verifier(&verifier, None)),
                metadata: verifier.resource_metadata().cloned(),
                verifier,
                requirements: Requirements::new(),
                optional: false,
                request_uri: None,
                on_failure: DefaultOnFailure,
            },
        }
    }
}

impl<F> BearerAuthLayer<F> {
    /// The `realm` of the `WWW-Authenticate` challenge (none by default: `Bearer` alone).
    pub fn realm(mut self, realm: impl Into<String>) -> Self {
        let challenge = (*self.settings.challenge).clone();
        self.settings.challenge = Arc::new(challenge.with_realm(&realm.into()));
        self
    }

    /// Replaces the whole `WWW-Authenticate` challenge (realm, `resource_metadata`, scope
    /// hint, schemes); [`realm`](Self::realm) edits its realm.
    ///
    /// ```no_run
    /// # fn run(verifier: verifier_core::AsyncJwtVerifier) {
    /// use verifier_core::Challenge;
    /// use verifier_tower::BearerAuthLayer;
    /// let layer = BearerAuthLayer::new(verifier).challenge(
    ///     Challenge::bearer(Some("api"))
    ///         .with_resource_metadata("https://api.example.com/.well-known/oauth-protected-resource"),
    /// );
    /// # let _ = layer; }
    /// ```
    pub fn challenge(mut self, challenge: Challenge) -> Self {
        self.settings.challenge = Arc::new(challenge);
        self
    }

    /// Adds scopes every request through this layer must carry (403
    /// `insufficient_scope` otherwise), beyond the verifier-wide `required_scopes`.
    /// Entries are trimmed, empty ones ignored; a string is one scope, not split.
    pub fn require_scopes<I, S>(mut self, scopes: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: AsRef<str>,
    {
        self.settings.requirements = self.settings.requirements.clone().scopes(scopes);
        self
    }

    /// Adds permissions every request through this layer must carry (403
    /// `insufficient_permissions` otherwise), beyond the verifier-wide ones.
    pub fn require_permissions<I, S>(mut self, permissions: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: AsRef<str>,
    {
        self.settings.requirements = self.settings.requirements.clone().permissions(permissions);
        self
    }

    /// Optional authentication: a request without bearer credentials (no `Authorization`
    /// header, or another scheme) reaches the inner service without claims; bearer
    /// credentials that fail verification (or per-layer requirements) are still refused.
    pub fn optional(mut self) -> Self {
        self.settings.optional = true;
        self
    }

    /// Whether the layer answers `GET`/`HEAD` on the verifier's protected-resource
    /// metadata path itself, before authentication (RFC 9728, SPEC-2 §4.5): 200 with the
    /// document (no body for `HEAD`), other methods 405 with `Allow: GET, HEAD`. The
    /// path is matched exactly (query ignored, no trailing-slash variant) against the
    /// [request URI](Self::request_uri).
    ///
    /// On by default when the verifier has a resource configured
    /// ([`ResourceConfig`](verifier_core::ResourceConfig)); `true` without a resource
    /// serves nothing. Turn it off when you mount [`ResourceMetadataService`](crate::ResourceMetadataService)
    /// yourself.
    pub fn serve_resource_metadata(mut self, serve: bool) -> Self {
        self.settings.metadata = match serve {
            true => self.settings.verifier.resource_metadata().cloned(),
            false => None,
        };
        self
    }

    /// Where the URI the client used is found, for DPoP's `htu` and the metadata path:
    /// behind a router that strips a prefix from `Request::uri` (axum's `nest`), the
    /// original URI it keeps in the extensions. `None` from `source` falls back to
    /// `Request::uri`. `verifier_axum::Auth::layer` sets it to axum's `OriginalUri`.
    pub fn request_uri(mut self, source: UriSource) -> Self {
        self.settings.request_uri = Some(source);
        self
    }

    /// Replaces the failure response: an [`OnFailure`](crate::OnFailure) implementation or
    /// a closure `Fn(&AuthError) -> http::Response<B>`.
    ///
    /// ```no_run
    /// # fn run(verifier: verifier_core::AsyncJwtVerifier) {
    /// use verifier_core::{bearer::ErrorResponse, AuthError};
    /// use verifier_tower::BearerAuthLayer;
    ///
    /// let layer = BearerAuthLayer::new(verifier).on_failure(|err: &AuthError| {
    ///     let mut resp = ErrorResponse::new(err, Some("api")).into_response::<String>();
    ///     resp.headers_mut().insert("cache-control", http::HeaderValue::from_static("no-store"));
    ///     resp
    /// });
    /// # let _ = layer; }
    /// ```
    pub fn on_failure<G>(self, on_failure: G) -> BearerAuthLayer<G> {
        let Settings {
            verifier,
            challenge,
            requirements,
            optional,
            metadata,
            request_uri,
            ..
        } = self.settings;
        BearerAuthLayer {
            settings: Settings {
                verifier,
                challenge,
                requirements,
                optional,
                metadata,
                request_uri,
                on_failure,
            },
        }
    }

    /// The verifier.
    pub fn verifier(&self) -> &Verifier {
        &self.settings.verifier
    }

    /// The configured realm (the same as [`realm_name`](Self::realm_name)).
    pub fn realm_str(&self) -> Option<&str> {
        self.settings.challenge.realm()
    }

    /// The configured realm.
    pub fn realm_name(&self) -> Option<&str> {
        self.settings.challenge.realm()
    }

    /// The protected-resource metadata document the layer answers on its path, when it
    /// serves one (see [`serve_resource_metadata`](Self::serve_resource_metadata)).
    pub fn resource_metadata(&self) -> Option<&ProtectedResourceMetadata> {
        self.settings.metadata.as_ref()
    }

    /// Readiness of the verifier: true when every issuer has a usable key set
    /// ([`Verifier::healthcheck`]); for a readiness endpoint.
    pub async fn healthcheck(&self, refresh: bool) -> bool {
        self.settings.verifier.healthcheck(refresh).await
    }

    /// Readiness that says why ([`Verifier::health`]); `Serialize`, for a readiness
    /// endpoint's body.
    pub async fn health(&self) -> Health {
        self.settings.verifier.health().await
    }

    /// The `WWW-Authenticate` challenge refusals are answered with.
    pub fn challenge_ref(&self) -> &Challenge {
        &self.settings.challenge
    }

    /// The per-layer scopes.
    pub fn required_scopes(&self) -> &[String] {
        self.settings.requirements.required_scopes()
    }

    /// The per-layer permissions.
    pub fn required_permissions(&self) -> &[String] {
        self.settings.requirements.required_permissions()
    }

    /// Whether authentication is optional.
    pub fn is_optional(&self) -> bool {
        self.settings.optional
    }
}

impl<S, F: Clone> Layer<S> for BearerAuthLayer<F> {
    type Service = BearerAuth<S, F>;

    fn layer(&self, inner: S) -> Self::Service {
        let mut settings = self.settings.clone();
        // MCP step-up (SPEC-2 D11): a 401 without credentials names this layer's scopes.
        let route = settings
            .challenge
            .for_route(&settings.verifier, &settings.requirements);
        if let Some(challenge) = route {
            settings.challenge = Arc::new(challenge);
        }
        BearerAuth::from_settings(inner, Arc::new(settings))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn layer() -> BearerAuthLayer {
        let config = verifier_core::AuthConfig::builder()
            .issuer("https://issuer.example/")
            .audience("https://api.example")
            .jwks_url("https://issuer.example/jwks.json")
            .build()
            .unwrap();
        BearerAuthLayer::new(verifier_core::AsyncJwtVerifier::new(config).unwrap())
    }

    #[test]
    fn requirements_are_trimmed_deduplicated_and_not_split() {
        let layer = layer()
            .require_scopes([" admin ", "", "admin", "read write"])
            .require_scopes(["extra"])
            .require_permissions(["  ", "read:users"]);
        assert_eq!(layer.required_scopes(), ["admin", "read write", "extra"]);
        assert_eq!(layer.required_permissions(), ["read:users"]);
    }

    #[test]
    fn defaults_and_builders() {
        let layer = layer();
        assert_eq!(layer.realm_str(), None);
        assert!(!layer.is_optional());
        let layer = layer.realm("api").optional();
        assert_eq!(layer.realm_str(), Some("api"));
        assert!(layer.is_optional());
        // Settings survive replacing the failure handler.
        let custom = layer.on_failure(|_: &AuthError| http::Response::new(String::new()));
        assert_eq!(custom.realm_str(), Some("api"));
        assert!(custom.is_optional());
    }
}
