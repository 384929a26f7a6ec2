//! [`Auth`]: the verifier and realm shared through router state.

use std::sync::Arc;

use axum::body::Body;
use axum::extract::{FromRef, OriginalUri};
use axum::http::request::Parts;
use axum::http::{Extensions, Method, Uri};
use axum::response::Response;
use axum::routing::any;
use axum::Router;
use verifier_core::{
    AsyncJwtVerifier, AuthError, Authenticated, Challenge, ErrorCode, Health,
    ProtectedResourceMetadata, RequestParts, Requirements, ResourceServer,
};
use verifier_tower::{BearerAuthLayer, Verifier};

use crate::rejection::AuthRejection;

/// The authentication state: a verifier (either flavour) and the challenge realm.
///
/// Extractors find it through [`FromRef`]: put it in the router state directly
/// (`.with_state(auth)`), or implement `FromRef<AppState> for Auth` for your own state.
/// A bare `AsyncJwtVerifier` (or `JwtVerifier`, feature `blocking`) as state also works,
/// with no realm.
///
/// The realm defaults to none (`WWW-Authenticate: Bearer`, `Bearer error="..."`), like the
/// core crate and the tower layer; set one with [`Auth::realm`]. The example servers
/// use `"api"`.
///
/// Cheap to clone.
///
/// ```no_run
/// # fn run() -> Result<(), Box<dyn std::error::Error>> {
/// use axum::{routing::get, Router};
/// use verifier_axum::{Auth, Claims};
/// use verifier_core::{AsyncJwtVerifier, AuthConfig};
///
/// async fn me(Claims(claims): Claims) -> String {
///     format!("hello {}", claims.sub().unwrap_or("?"))
/// }
///
/// let auth = Auth::new(AsyncJwtVerifier::new(AuthConfig::from_env()?)?).realm("api");
/// let app: Router = Router::new()
///     .route("/me", get(me))
///     .route("/admin", get(me).route_layer(auth.require_scopes(["admin"])))
///     .with_state(auth);
/// # let _ = app; Ok(()) }
/// ```
#[derive(Clone, Debug)]
pub struct Auth {
    verifier: Verifier,
    challenge: Arc<Challenge>,
}

impl Auth {
    /// State for `verifier` (an `AsyncJwtVerifier`, a `JwtVerifier` with feature
    /// `blocking`, or a [`Verifier`]), without a realm.
    ///
    /// The challenge is the verifier's ([`Challenge::for_verifier`]): `resource_metadata`
    /// when a resource is configured, the `DPoP` scheme when DPoP is accepted.
    pub fn new(verifier: impl Into<Verifier>) -> Self {
        let verifier = verifier.into();
        Auth {
            challenge: Arc::new(Challenge::for_verifier(&verifier, None)),
            verifier,
        }
    }

    /// Sets the `realm` of the `WWW-Authenticate` challenge (the same name as the tower
    /// layer's and the actix-web `Auth`'s).
    pub fn realm(mut self, realm: impl Into<String>) -> Self {
        let challenge = (*self.challenge).clone();
        self.challenge = Arc::new(challenge.with_realm(&realm.into()));
        self
    }

    /// The same as [`realm`](Self::realm) (its earlier name).
    pub fn with_realm(self, realm: impl Into<String>) -> Self {
        self.realm(realm)
    }

    /// Replaces the whole `WWW-Authenticate` challenge (realm, `resource_metadata`, scope
    /// hint, schemes) of the extractors and layers; [`realm`](Self::realm) edits its
    /// realm. The same name as tower's and actix-web's setter.
    pub fn challenge(mut self, challenge: Challenge) -> Self {
        self.challenge = Arc::new(challenge);
        self
    }

    /// The same as [`challenge`](Self::challenge) (its earlier name).
    pub fn with_challenge(self, challenge: Challenge) -> Self {
        self.challenge(challenge)
    }

    /// The `WWW-Authenticate` challenge refusals are answered with.
    pub fn challenge_ref(&self) -> &Challenge {
        &self.challenge
    }

    /// The verifier.
    pub fn verifier(&self) -> &Verifier {
        &self.verifier
    }

    /// The realm, if any.
    pub fn realm_name(&self) -> Option<&str> {
        self.challenge.realm()
    }

    /// Readiness of the verifier: true when every issuer has a usable key set
    /// ([`Verifier::healthcheck`]).
    pub async fn healthcheck(&self, refresh: bool) -> bool {
        self.verifier.healthcheck(refresh).await
    }

    /// Readiness that says why ([`Verifier::health`]); `Serialize`, for a readiness
    /// endpoint's body.
    pub async fn health(&self) -> Health {
        self.verifier.health().await
    }

    /// A router answering the protected-resource metadata document (RFC 9728, SPEC-2
    /// §4.5) at its path, to [`merge`](axum::Router::merge) into the application:
    /// `GET` 200 with the document, `HEAD` without a body, other methods 405 with
    /// `Allow: GET, HEAD`. Empty when the verifier has no resource configured.
    ///
    /// Merged outside the authenticated routes (or next to a [`layer`](Self::layer),
    /// which answers the path itself), it needs no credentials.
    ///
    /// ```no_run
    /// # fn run(auth: verifier_axum::Auth) {
    /// use axum::{routing::get, Router};
    /// use verifier_axum::Claims;
    /// async fn me(Claims(claims): Claims) -> String { claims.sub().unwrap_or("?").to_owned() }
    /// let app: Router = Router::new()
    ///     .route("/me", get(me))
    ///     .merge(auth.resource_metadata_router())
    ///     .with_state(auth);
    /// # let _ = app; }
    /// ```
    pub fn resource_metadata_router<S>(&self) -> Router<S>
    where
        S: Clone + Send + Sync + 'static,
    {
        let Some(doc) = self.verifier.resource_metadata().cloned() else {
            return Router::new();
        };
        let path = doc.path().to_owned();
        let answer = move |method: Method| {
            let doc = doc.clone();
            async move { metadata_response(&doc, &method) }
        };
        Router::new().route(&path, any(answer))
    }

    /// A tower layer requiring authentication, with this realm: claims go into the request
    /// extensions, where [`Claims`](crate::Claims) picks them up without verifying again.
    ///
    /// Prefer [`Router::route_layer`](axum::Router::route_layer) over
    /// [`Router::layer`](axum::Router::layer): `route_layer` runs only when a route
    /// matched, so an unknown path stays `404`; `layer` also wraps the fallback, so an
    /// unknown path without a token answers `401`.
    ///
    /// The layer answers the protected-resource metadata path itself (see
    /// [`BearerAuthLayer::serve_resource_metadata`]), and reads the URI the client used
    /// from axum's [`OriginalUri`] (behind [`Router::nest`](axum::Router::nest) the
    /// request's own URI lacks the prefix a DPoP proof signs).
    pub fn layer(&self) -> BearerAuthLayer {
        BearerAuthLayer::new(self.verifier.clone())
            .challenge((*self.challenge).clone())
            .request_uri(original_uri)
    }

    /// Like [`Auth::layer`], in optional mode: no credentials pass without claims, bad
    /// credentials are refused.
    pub fn optional_layer(&self) -> BearerAuthLayer {
        self.layer().optional()
    }

    /// A layer requiring these scopes (403 `insufficient_scope` otherwise), for
    /// `route_layer` on a route or a group of routes.
    pub fn require_scopes<I, S>(&self, scopes: I) -> BearerAuthLayer
    where
        I: IntoIterator<Item = S>,
        S: AsRef<str>,
    {
        self.layer().require_scopes(scopes)
    }

    /// A layer requiring these permissions (403 `insufficient_permissions` otherwise).
    pub fn require_permissions<I, S>(&self, permissions: I) -> BearerAuthLayer
    where
        I: IntoIterator<Item = S>,
        S: AsRef<str>,
    {
        self.layer().require_permissions(permissions)
    }

    /// A rejection for `error` carrying this realm, e.g. for checks made in a handler.
    ///
    /// ```
    /// # use verifier_axum::{Auth, AuthRejection};
    /// # fn check(auth: &Auth, claims: &verifier_core::Claims) -> Result<(), AuthRejection> {
    /// claims.require_scopes(&["write"]).map_err(|err| auth.reject(err))?;
    /// # Ok(()) }
    /// ```
    pub fn reject(&self, error: AuthError) -> AuthRejection {
        AuthRejection::with_challenge(error, self.challenge.clone())
    }

    /// The request's verified claims: those already in the extensions (from the tower
    /// layer or an earlier extractor, then checked against `requirements` here), or from
    /// authenticating the request with `requirements` (checked inside the pipeline,
    /// before a DPoP proof is recorded as used), which are then stored in the extensions
    /// for later extractors. `Ok(None)`: no credentials.
    pub(crate) async fn claims_from_parts(
        &self,
        parts: &mut Parts,
        requirements: Option<&Requirements>,
    ) -> Result<Option<verifier_core::Claims>, AuthRejection> {
        if let Some(claims) = parts.extensions.get::<verifier_core::Claims>() {
            if let Some(requirements) = requirements {
                if let Err(err) = requirements.check(claims) {
                    let err = match parts.extensions.get::<Authenticated>() {
                        Some(authenticated) => err.with_scheme(authenticated.scheme),
                        None => err,
                    };
                    return Err(self.reject(err));
                }
            }
            return Ok(Some(claims.clone()));
        }
        let uri = original_uri(&parts.extensions).unwrap_or(&parts.uri);
        let request = RequestParts::new(&parts.method, uri, &parts.headers);
        let request = match requirements {
            Some(requirements) => request.requiring(requirements),
            None => request,
        };
        match self.verifier.authenticate(request).await {
            Ok(Some(authenticated)) => {
                let claims = authenticated.claims.clone();
                parts.extensions.insert(claims.clone());
                parts.extensions.insert(authenticated);
                Ok(Some(claims))
            }
            Ok(None) => Ok(None),
            Err(err) => Err(self.reject(err)),
        }
    }

    /// Like [`Auth::claims_from_parts`], with no credentials as `missing_token`.
    pub(crate) async fn required_claims(
        &self,
        parts: &mut Parts,
        requirements: Option<&Requirements>,
    ) -> Result<verifier_core::Claims, AuthRejection> {
        self.claims_from_parts(parts, requirements)
            .await?
            .ok_or_else(|| self.reject(AuthError::new(ErrorCode::MissingToken)))
    }
}

/// The URI the client used: axum's [`OriginalUri`] (set by the router before `nest`
/// strips a prefix), when present.
fn original_uri(extensions: &Extensions) -> Option<&Uri> {
    extensions.get::<OriginalUri>().map(|original| &original.0)
}

/// The metadata path's answer (SPEC-2 §4.5).
fn metadata_response(doc: &ProtectedResourceMetadata, method: &Method) -> Response {
    doc.respond(method).map(Body::from)
}

impl From<AsyncJwtVerifier> for Auth {
    fn from(verifier: AsyncJwtVerifier) -> Self {
        Auth::new(verifier)
    }
}

impl From<Verifier> for Auth {
    fn from(verifier: Verifier) -> Self {
        Auth::new(verifier)
    }
}

impl FromRef<AsyncJwtVerifier> for Auth {
    fn from_ref(verifier: &AsyncJwtVerifier) -> Self {
        Auth::new(verifier.clone())
    }
}

impl FromRef<Verifier> for Auth {
    fn from_ref(verifier: &Verifier) -> Self {
        Auth::new(verifier.clone())
    }
}

#[cfg(feature = "blocking")]
impl From<verifier_core::JwtVerifier> for Auth {
    fn from(verifier: verifier_core::JwtVerifier) -> Self {
        Auth::new(verifier)
    }
}

#[cfg(feature = "blocking")]
impl FromRef<verifier_core::JwtVerifier> for Auth {
    fn from_ref(verifier: &verifier_core::JwtVerifier) -> Self {
        Auth::new(verifier.clone())
    }
}
