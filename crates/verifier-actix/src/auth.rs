//! [`Auth`]: the verifier plus the HTTP-facing settings (challenge, route requirements,
//! error responses) shared by the extractors and the middleware.

use std::fmt;
use std::future::Future;
use std::sync::Arc;

use actix_web::http::header::{HeaderMap, HeaderValue as ActixValue, AUTHORIZATION};
use actix_web::{web, HttpMessage, HttpRequest, HttpResponse};
use verifier_core::{
    AsyncJwtVerifier, AuthError, Authenticated, Challenge, Claims as CoreClaims, ErrorCode, Health,
    Requirements, Verifier,
};

use crate::error::BearerError;
use crate::request::{to_actix_value, Converted};

/// A custom error response: receives the refusal and the configured challenge.
pub(crate) type ErrorHandler = Arc<dyn Fn(&AuthError, &Challenge) -> HttpResponse + Send + Sync>;

#[derive(Clone)]
struct Inner {
    verifier: Verifier,
    challenge: Arc<Challenge>,
    requirements: Requirements,
    on_error: Option<ErrorHandler>,
}

/// Authentication settings for an actix-web application: the verifier (either flavour),
/// the `WWW-Authenticate` challenge (realm, `resource_metadata`, DPoP), extra required
/// scopes/permissions and the error response.
///
/// Register it as application data, either directly or wrapped in [`web::Data`]; the
/// [`Claims`](crate::Claims) / [`OptionalClaims`](crate::OptionalClaims) extractors and
/// the [`RequireScopes`](crate::RequireScopes) / [`RequirePermissions`](crate::RequirePermissions)
/// middleware find it there. The [`BearerAuth`](crate::BearerAuth) middleware takes it
/// as an argument instead. `Auth` is cheap to clone (one `Arc`).
///
/// Every request is authenticated by the core ([`Verifier::authenticate`]): the
/// `Authorization` header (`Bearer`, or `DPoP` with its proof when the verifier accepts
/// DPoP), else the token cookie when one is configured; the route's requirements are
/// checked inside the pipeline, before a DPoP proof is recorded as used.
///
/// ```no_run
/// use actix_web::{web, App, HttpServer};
/// use verifier_actix::{Auth, Claims};
/// use verifier_core::{AsyncJwtVerifier, AuthConfig};
///
/// async fn me(Claims(claims): Claims) -> web::Json<verifier_core::Claims> {
///     web::Json(claims)
/// }
///
/// # async fn run() -> Result<(), Box<dyn std::error::Error>> {
/// let verifier = AsyncJwtVerifier::new(AuthConfig::from_env()?)?;
/// let auth = Auth::new(verifier).realm("api");
/// HttpServer::new(move || App::new().app_data(auth.clone()).route("/me", web::get().to(me)))
///     .bind(("127.0.0.1", 3000))?
///     .run()
///     .await?;
/// # Ok(()) }
/// ```
#[derive(Clone)]
pub struct Auth {
    inner: Arc<Inner>,
}

impl fmt::Debug for Auth {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let flavour = match &self.inner.verifier {
            Verifier::Async(_) => "async",
            #[cfg(feature = "blocking")]
            Verifier::Blocking(_) => "blocking",
            #[allow(unreachable_patterns)]
            _ => "other",
        };
        f.debug_struct("Auth")
            .field("verifier", &flavour)
            .field("challenge", &self.inner.challenge)
            .field("requirements", &self.inner.requirements)
            .field("custom_error_response", &self.inner.on_error.is_some())
            .finish()
    }
}

impl Auth {
    /// Authentication with `verifier`: an [`AsyncJwtVerifier`], a
    /// [`JwtVerifier`](verifier_core::JwtVerifier) (feature `blocking`; run on the
    /// blocking thread pool) or a [`Verifier`].
    ///
    /// The challenge defaults to [`Challenge::for_verifier`] without a realm:
    /// `resource_metadata` when the verifier has a resource, the `DPoP` scheme when it
    /// accepts DPoP.
    pub fn new(verifier: impl Into<Verifier>) -> Self {
        let verifier = verifier.into();
        Auth {
            inner: Arc::new(Inner {
                challenge: Arc::new(Challenge::for_verifier(&verifier, None)),
                verifier,
                requirements: Requirements::new(),
                on_error: None,
            }),
        }
    }

    /// Authentication with the blocking verifier (feature `blocking`); the same as
    /// [`Auth::new`].
    ///
    /// Every verification runs on the blocking thread pool (tokio's `spawn_blocking`, on
    /// which actix-web runs), so a slow key-set fetch (up to `jwks_timeout`) never holds
    /// up the worker thread and its other requests.
    ///
    /// Build the [`JwtVerifier`](verifier_core::JwtVerifier) outside the async runtime
    /// (before `#[actix_web::main]` starts, or on a plain thread): its blocking HTTP
    /// client panics when built on an async executor thread.
    /// [`Auth::blocking_from_config`] does that for you.
    #[cfg(feature = "blocking")]
    pub fn blocking(verifier: verifier_core::JwtVerifier) -> Self {
        Self::new(verifier)
    }

    /// Authentication with a blocking verifier built from `config` (an
    /// [`AuthConfig`](verifier_core::AuthConfig) or a
    /// [`VerifierConfig`](verifier_core::VerifierConfig)) on a short-lived plain thread
    /// (feature `blocking`), so it is safe to call from async code such as
    /// `#[actix_web::main]`.
    ///
    /// ```no_run
    /// # #[actix_web::main]
    /// # async fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// use verifier_actix::Auth;
    /// let auth = Auth::blocking_from_config(verifier_core::AuthConfig::from_env()?)?.realm("api");
    /// # Ok(()) }
    /// ```
    #[cfg(feature = "blocking")]
    pub fn blocking_from_config(
        config: impl Into<verifier_core::VerifierConfig>,
    ) -> Result<Self, verifier_core::ConfigError> {
        let config = config.into();
        let verifier = std::thread::spawn(move || verifier_core::JwtVerifier::from_config(config))
            .join()
            .unwrap_or_else(|panic| std::panic::resume_unwind(panic))?;
        Ok(Self::blocking(verifier))
    }

    fn inner_mut(&mut self) -> &mut Inner {
        Arc::make_mut(&mut self.inner)
    }

    /// The `realm` advertised in `WWW-Authenticate` challenges (e.g. `"api"`); none by
    /// default. CR and LF are removed and quotes escaped when the header is written.
    pub fn realm(mut self, realm: impl Into<String>) -> Self {
        let challenge = (*self.inner.challenge).clone().with_realm(&realm.into());
        self.inner_mut().challenge = Arc::new(challenge);
        self
    }

    /// Replaces the whole `WWW-Authenticate` challenge (realm, `resource_metadata`, scope
    /// hint, schemes); [`realm`](Self::realm) edits its realm. The default is
    /// [`Challenge::for_verifier`]; start from it to keep the verifier's
    /// `resource_metadata` and DPoP offer.
    pub fn challenge(mut self, challenge: Challenge) -> Self {
        self.inner_mut().challenge = Arc::new(challenge);
        self
    }

    /// The `WWW-Authenticate` challenge refusals are answered with.
    pub fn challenge_ref(&self) -> &Challenge {
        &self.inner.challenge
    }

    /// Adds scopes every authenticated request must carry, on top of the verifier's own
    /// `required_scopes`. Entries are trimmed; empty entries are ignored. A missing
    /// scope is `insufficient_scope` (403).
    pub fn require_scopes<I, S>(mut self, scopes: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: AsRef<str>,
    {
        let requirements = self.inner.requirements.clone().scopes(scopes);
        self.inner_mut().requirements = requirements;
        self
    }

    /// Adds permissions every authenticated request must carry, on top of the verifier's
    /// own `required_permissions`. Entries are trimmed; empty entries are ignored. A
    /// missing permission is `insufficient_permissions` (403).
    pub fn require_permissions<I, S>(mut self, permissions: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: AsRef<str>,
    {
        let requirements = self.inner.requirements.clone().permissions(permissions);
        self.inner_mut().requirements = requirements;
        self
    }

    /// Replaces the failure response. The function gets the refusal and the realm and
    /// returns the whole response; the status, challenge, `Retry-After` and `DPoP-Nonce`
    /// that [`error_response`](crate::error_response) would write are yours to keep or
    /// drop.
    ///
    /// ```
    /// use actix_web::HttpResponse;
    /// use verifier_actix::{error_response, Auth};
    /// # fn f(verifier: verifier_core::AsyncJwtVerifier) -> Auth {
    /// Auth::new(verifier).realm("api").error_handler(|err, realm| {
    ///     // Keep the standard status and headers, add one of our own.
    ///     let mut response = error_response(err, realm);
    ///     response.headers_mut().insert(
    ///         actix_web::http::header::CACHE_CONTROL,
    ///         actix_web::http::header::HeaderValue::from_static("no-store"),
    ///     );
    ///     response
    /// })
    /// # }
    /// ```
    pub fn error_handler<F>(mut self, handler: F) -> Self
    where
        F: Fn(&AuthError, Option<&str>) -> HttpResponse + Send + Sync + 'static,
    {
        self.inner_mut().on_error = Some(Arc::new(move |err, challenge| {
            handler(err, challenge.realm())
        }));
        self
    }

    /// Like [`error_handler`](Self::error_handler), with the whole [`Challenge`] (for
    /// [`error_response_with`](crate::error_response_with), which keeps
    /// `resource_metadata` and the DPoP challenge).
    pub fn error_handler_with<F>(mut self, handler: F) -> Self
    where
        F: Fn(&AuthError, &Challenge) -> HttpResponse + Send + Sync + 'static,
    {
        self.inner_mut().on_error = Some(Arc::new(handler));
        self
    }

    /// The configured realm.
    pub fn realm_name(&self) -> Option<&str> {
        self.inner.challenge.realm()
    }

    /// The extra scopes required by this `Auth`.
    pub fn required_scopes(&self) -> &[String] {
        self.inner.requirements.required_scopes()
    }

    /// The extra permissions required by this `Auth`.
    pub fn required_permissions(&self) -> &[String] {
        self.inner.requirements.required_permissions()
    }

    /// The extra scopes and permissions required by this `Auth`.
    pub fn requirements(&self) -> &Requirements {
        &self.inner.requirements
    }

    /// The verifier (either flavour): [`Verifier::health`], [`Verifier::healthcheck`],
    /// and with [`ResourceServer`](verifier_core::ResourceServer) its resource metadata
    /// and DPoP settings.
    pub fn verifier(&self) -> &Verifier {
        &self.inner.verifier
    }

    /// The async verifier, when this `Auth` uses one.
    pub fn async_verifier(&self) -> Option<&AsyncJwtVerifier> {
        match &self.inner.verifier {
            Verifier::Async(v) => Some(v),
            #[allow(unreachable_patterns)]
            _ => None,
        }
    }

    /// The blocking verifier, when this `Auth` uses one (feature `blocking`).
    #[cfg(feature = "blocking")]
    pub fn blocking_verifier(&self) -> Option<&verifier_core::JwtVerifier> {
        match &self.inner.verifier {
            Verifier::Blocking(v) => Some(v),
            _ => None,
        }
    }

    /// Verifies a token presented as Bearer without request context, then checks this
    /// `Auth`'s extra scopes and permissions. The blocking flavour runs on the blocking
    /// pool. Requests go through [`authenticate_request`](Self::authenticate_request).
    pub async fn verify(&self, token: &str) -> Result<CoreClaims, AuthError> {
        let claims = self.inner.verifier.verify_access_token(token).await?;
        self.check(&claims)?;
        Ok(claims)
    }

    /// Checks this `Auth`'s extra scopes and permissions against verified claims.
    pub fn check(&self, claims: &CoreClaims) -> Result<(), AuthError> {
        self.inner.requirements.check(claims)
    }

    /// Authenticates a request known only by its headers, as `GET /`, with this
    /// `Auth`'s requirements.
    ///
    /// `Ok(None)`: no credentials (no `Authorization` header, or another scheme such as
    /// `Basic`, and no token cookie). `Err`: `Bearer` without a token, or a refused
    /// token. A DPoP proof signs the real method and URI: use
    /// [`authenticate_request`](Self::authenticate_request) for DPoP.
    pub async fn authenticate(&self, headers: &HeaderMap) -> Result<Option<CoreClaims>, AuthError> {
        let converted = Converted::from_headers(headers)?;
        let verify = self
            .inner
            .verifier
            .authenticate(converted.parts(&self.inner.requirements));
        Ok(verify.await?.map(|a| a.claims))
    }

    /// Authenticates an actix request with this `Auth`'s requirements: its method, URI
    /// (path and query, as the client sent them) and credential headers go to
    /// [`Verifier::authenticate`]. Nothing is read from or written to the extensions.
    ///
    /// `Ok(None)`: no credentials of an accepted scheme.
    pub fn authenticate_request(
        &self,
        req: &HttpRequest,
    ) -> impl Future<Output = Result<Option<Authenticated>, AuthError>> + 'static {
        self.authenticate_with(req, None)
    }

    /// [`authenticate_request`](Self::authenticate_request) with a route's own
    /// requirements added to this `Auth`'s.
    pub(crate) fn authenticate_with(
        &self,
        req: &HttpRequest,
        route: Option<&Requirements>,
    ) -> impl Future<Output = Result<Option<Authenticated>, AuthError>> + 'static {
        let verify = Converted::from_request(req).map(|converted| {
            let own = &self.inner.requirements;
            let requirements = match route {
                Some(route) if own.is_empty() => route.clone(),
                Some(route) => own
                    .clone()
                    .scopes(route.required_scopes())
                    .permissions(route.required_permissions()),
                None => own.clone(),
            };
            self.inner
                .verifier
                .authenticate(converted.parts(&requirements))
        });
        async move { verify?.await }
    }

    /// The key set's readiness ([`Verifier::healthcheck`]), with either flavour; the
    /// blocking one runs on the blocking pool.
    pub async fn healthcheck(&self, refresh: bool) -> bool {
        self.inner.verifier.healthcheck(refresh).await
    }

    /// Readiness that says why ([`Verifier::health`]), with either flavour; the blocking
    /// one runs on the blocking pool. `Serialize`, for a readiness endpoint's body.
    pub async fn health(&self) -> Health {
        self.inner.verifier.health().await
    }

    /// The actix error for a refusal, rendered with this `Auth`'s challenge and handler.
    pub fn reject(&self, error: AuthError) -> BearerError {
        self.reject_on_route(error, None)
    }

    /// [`reject`](Self::reject) on a route with its own requirements: under the MCP preset
    /// the 401 without credentials names the scopes of both (SPEC-2 D11).
    pub(crate) fn reject_on_route(
        &self,
        error: AuthError,
        route: Option<&Requirements>,
    ) -> BearerError {
        let all = match route {
            Some(route) => self
                .inner
                .requirements
                .clone()
                .scopes(route.required_scopes()),
            None => self.inner.requirements.clone(),
        };
        let challenge = match self.inner.challenge.for_route(&self.inner.verifier, &all) {
            Some(challenge) => Arc::new(challenge),
            None => self.inner.challenge.clone(),
        };
        BearerError::with_parts(error, challenge, self.inner.on_error.clone())
    }

    /// The `Auth` for a request: the one a [`BearerAuth`](crate::BearerAuth) middleware
    /// recorded, else `web::Data<Auth>`, else `Auth` from the application data.
    pub fn from_request(req: &HttpRequest) -> Option<Auth> {
        if let Some(ctx) = req.extensions().get::<AuthContext>() {
            return Some(ctx.0.clone());
        }
        req.app_data::<web::Data<Auth>>()
            .map(|data| data.get_ref().clone())
            .or_else(|| req.app_data::<Auth>().cloned())
    }
}

/// Request extension recording the `Auth` of the middleware that already looked at the
/// request, so later extractors render errors the same way.
#[derive(Clone)]
pub(crate) struct AuthContext(pub(crate) Auth);

/// Records a successful authentication in the request extensions: the [`Authenticated`]
/// and its claims (which the extractors and the middleware reuse). Returns the fresh
/// DPoP nonce for the response, when the client's nonce was of the previous window.
pub(crate) fn record(req: &HttpRequest, authenticated: Authenticated) -> Option<ActixValue> {
    let nonce = authenticated
        .dpop
        .as_ref()
        .and_then(|d| d.next_nonce.as_ref())
        .and_then(to_actix_value);
    let mut ext = req.extensions_mut();
    ext.insert(authenticated.claims.clone());
    ext.insert(authenticated);
    nonce
}

/// The bearer token of an actix request, parsed by [`verifier_core::bearer`].
///
/// actix-web 4 uses `http` 0.2 types; every `Authorization` value is converted to an
/// `http` 1 value through its bytes (never re-parsed here).
///
/// `Ok(None)`: no `Authorization` header, or another scheme. `Err(missing_token)`:
/// `Bearer` with no token. `Err(invalid_request)` (400): more than one `Authorization`
/// field.
///
/// ```
/// use actix_web::test::TestRequest;
/// use verifier_actix::bearer_token;
/// let req = TestRequest::default().insert_header(("Authorization", "bearer  abc")).to_http_request();
/// assert_eq!(bearer_token(req.headers()).unwrap().as_deref(), Some("abc"));
/// let req = TestRequest::default().insert_header(("Authorization", "Basic dXNlcg==")).to_http_request();
/// assert_eq!(bearer_token(req.headers()).unwrap(), None);
/// let req = TestRequest::default().insert_header(("Authorization", "Bearer")).to_http_request();
/// assert!(bearer_token(req.headers()).is_err());
/// let req = TestRequest::default()
///     .append_header(("Authorization", "Bearer abc"))
///     .append_header(("Authorization", "Bearer def"))
///     .to_http_request();
/// assert_eq!(bearer_token(req.headers()).unwrap_err().code().as_str(), "invalid_request");
/// ```
pub fn bearer_token(headers: &HeaderMap) -> Result<Option<String>, AuthError> {
    let values = headers
        .get_all(AUTHORIZATION)
        .map(|value| http::HeaderValue::from_bytes(value.as_bytes()))
        .collect::<Result<Vec<_>, _>>()
        .map_err(|_| AuthError::new(ErrorCode::MissingToken))?;
    verifier_core::bearer::bearer_from_values(&values).map(|token| token.map(str::to_owned))
}

/// Claims for a request: those a middleware already verified (request extensions), else
/// verified now with the request's [`Auth`] and recorded in the extensions (so a second
/// extractor does not present a DPoP proof twice). `Ok((auth, None))`: no credentials.
pub(crate) async fn resolve(
    req: &HttpRequest,
) -> Result<(Option<Auth>, Option<CoreClaims>), actix_web::Error> {
    let auth = Auth::from_request(req);
    if let Some(claims) = req.extensions().get::<CoreClaims>().cloned() {
        return Ok((auth, Some(claims)));
    }
    let Some(auth) = auth else {
        return Err(not_configured());
    };
    match auth.authenticate_request(req).await {
        Ok(Some(authenticated)) => {
            let claims = authenticated.claims.clone();
            record(req, authenticated);
            Ok((Some(auth), Some(claims)))
        }
        Ok(None) => Ok((Some(auth), None)),
        Err(err) => Err(auth.reject(err).into()),
    }
}

/// The error when no [`Auth`] can be found for a request: a 500, logged, with a body
/// that tells the client nothing about the setup.
pub(crate) fn not_configured() -> actix_web::Error {
    tracing::error!(
        "verifier_actix: no Auth for this request; register one with \
         `App::app_data(auth)` / `App::app_data(web::Data::new(auth))` or wrap the \
         route in `BearerAuth`"
    );
    actix_web::error::ErrorInternalServerError("Authentication is not configured")
}
