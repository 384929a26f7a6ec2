//! [`Auth`]: the verifier plus the HTTP-facing settings (realm, extra requirements,
//! error responses) shared by the extractor and the middleware.

use std::fmt;
use std::sync::Arc;

use actix_web::http::header::{HeaderMap, AUTHORIZATION};
use actix_web::{web, HttpMessage, HttpRequest, HttpResponse};
use verifier_core::{
    AsyncJwtVerifier, AuthError, Challenge, Claims as CoreClaims, ErrorCode, Health,
};

use crate::error::BearerError;

/// A custom error response: receives the refusal and the configured challenge.
pub(crate) type ErrorHandler = Arc<dyn Fn(&AuthError, &Challenge) -> HttpResponse + Send + Sync>;

#[derive(Clone)]
enum Flavour {
    Async(AsyncJwtVerifier),
    #[cfg(feature = "blocking")]
    Blocking(verifier_core::JwtVerifier),
}

#[derive(Clone)]
struct Inner {
    verifier: Flavour,
    challenge: Arc<Challenge>,
    required_scopes: Vec<String>,
    required_permissions: Vec<String>,
    on_error: Option<ErrorHandler>,
}

/// Bearer authentication settings for an actix-web application: the verifier, the
/// `WWW-Authenticate` realm, extra required scopes/permissions and the error response.
///
/// Register it as application data, either directly or wrapped in [`web::Data`]; the
/// [`Claims`](crate::Claims) / [`OptionalClaims`](crate::OptionalClaims) extractors and
/// the [`RequireScopes`](crate::RequireScopes) / [`RequirePermissions`](crate::RequirePermissions)
/// middleware find it there. The [`BearerAuth`](crate::BearerAuth) middleware takes it
/// as an argument instead. `Auth` is cheap to clone (one `Arc`).
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
            Flavour::Async(_) => "async",
            #[cfg(feature = "blocking")]
            Flavour::Blocking(_) => "blocking",
        };
        f.debug_struct("Auth")
            .field("verifier", &flavour)
            .field("challenge", &self.inner.challenge)
            .field("required_scopes", &self.inner.required_scopes)
            .field("required_permissions", &self.inner.required_permissions)
            .field("custom_error_response", &self.inner.on_error.is_some())
            .finish()
    }
}

impl Auth {
    /// Authentication with the async verifier (the default flavour).
    pub fn new(verifier: AsyncJwtVerifier) -> Self {
        Self::from_flavour(Flavour::Async(verifier))
    }

    /// Authentication with the blocking verifier (feature `blocking`).
    ///
    /// Every verification runs on actix's blocking thread pool through [`web::block`],
    /// so a slow key-set fetch (up to `jwks_timeout`) never holds up the worker thread
    /// and its other requests.
    ///
    /// Build the [`JwtVerifier`](verifier_core::JwtVerifier) outside the async runtime
    /// (before `#[actix_web::main]` starts, or on a plain thread): its blocking HTTP
    /// client panics when built on an async executor thread.
    /// [`Auth::blocking_from_config`] does that for you.
    #[cfg(feature = "blocking")]
    pub fn blocking(verifier: verifier_core::JwtVerifier) -> Self {
        Self::from_flavour(Flavour::Blocking(verifier))
    }

    /// Authentication with a blocking verifier built from `config` on a short-lived
    /// plain thread (feature `blocking`), so it is safe to call from async code such as
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
        config: verifier_core::AuthConfig,
    ) -> Result<Self, verifier_core::ConfigError> {
        let verifier = std::thread::spawn(move || verifier_core::JwtVerifier::new(config))
            .join()
            .unwrap_or_else(|panic| std::panic::resume_unwind(panic))?;
        Ok(Self::blocking(verifier))
    }

    fn from_flavour(verifier: Flavour) -> Self {
        Auth {
            inner: Arc::new(Inner {
                verifier,
                challenge: Arc::new(Challenge::bearer(None)),
                required_scopes: Vec::new(),
                required_permissions: Vec::new(),
                on_error: None,
            }),
        }
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
    /// hint, schemes); [`realm`](Self::realm) edits its realm.
    pub fn challenge(mut self, challenge: Challenge) -> Self {
        self.inner_mut().challenge = Arc::new(challenge);
        self
    }

    /// The `WWW-Authenticate` challenge refusals are answered with.
    pub fn challenge_ref(&self) -> &Challenge {
        &self.inner.challenge
    }

    /// Scopes every authenticated request must carry, on top of the verifier's own
    /// `required_scopes`. Entries are trimmed; empty entries are ignored. A missing
    /// scope is `insufficient_scope` (403).
    pub fn require_scopes<I, S>(mut self, scopes: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: AsRef<str>,
    {
        self.inner_mut().required_scopes = clean(scopes);
        self
    }

    /// Permissions every authenticated request must carry, on top of the verifier's own
    /// `required_permissions`. Entries are trimmed; empty entries are ignored. A missing
    /// permission is `insufficient_permissions` (403).
    pub fn require_permissions<I, S>(mut self, permissions: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: AsRef<str>,
    {
        self.inner_mut().required_permissions = clean(permissions);
        self
    }

    /// Replaces the failure response. The function gets the refusal and the realm and
    /// returns the whole response; the status, challenge and `Retry-After` that
    /// [`error_response`](crate::error_response) would write are yours to keep or drop.
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
    /// [`error_response_with`](crate::error_response_with)).
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
        &self.inner.required_scopes
    }

    /// The extra permissions required by this `Auth`.
    pub fn required_permissions(&self) -> &[String] {
        &self.inner.required_permissions
    }

    /// The async verifier, when this `Auth` uses one.
    pub fn async_verifier(&self) -> Option<&AsyncJwtVerifier> {
        match &self.inner.verifier {
            Flavour::Async(v) => Some(v),
            #[cfg(feature = "blocking")]
            Flavour::Blocking(_) => None,
        }
    }

    /// The blocking verifier, when this `Auth` uses one (feature `blocking`).
    #[cfg(feature = "blocking")]
    pub fn blocking_verifier(&self) -> Option<&verifier_core::JwtVerifier> {
        match &self.inner.verifier {
            Flavour::Blocking(v) => Some(v),
            Flavour::Async(_) => None,
        }
    }

    /// Verifies a token with either flavour, then checks this `Auth`'s extra scopes and
    /// permissions. The blocking flavour runs on the blocking pool.
    pub async fn verify(&self, token: &str) -> Result<CoreClaims, AuthError> {
        let claims = match &self.inner.verifier {
            Flavour::Async(verifier) => verifier.verify_access_token(token).await?,
            #[cfg(feature = "blocking")]
            Flavour::Blocking(verifier) => {
                let verifier = verifier.clone();
                let token = token.to_owned();
                web::block(move || verifier.verify_access_token(token))
                    .await
                    .map_err(|e| AuthError::new(ErrorCode::JwksError).with_source(e))??
            }
        };
        self.check(&claims)?;
        Ok(claims)
    }

    /// Checks this `Auth`'s extra scopes and permissions against verified claims.
    pub fn check(&self, claims: &CoreClaims) -> Result<(), AuthError> {
        if !self.inner.required_scopes.is_empty() {
            claims.require_scopes(&self.inner.required_scopes)?;
        }
        if !self.inner.required_permissions.is_empty() {
            claims.require_permissions(&self.inner.required_permissions)?;
        }
        Ok(())
    }

    /// Authenticates a request from its headers.
    ///
    /// `Ok(None)`: no bearer credentials (no `Authorization` header, or another scheme
    /// such as `Basic`). `Err`: `Bearer` without a token, or a refused token.
    pub async fn authenticate(&self, headers: &HeaderMap) -> Result<Option<CoreClaims>, AuthError> {
        match bearer_token(headers)? {
            None => Ok(None),
            Some(token) => self.verify(&token).await.map(Some),
        }
    }

    /// The key set's readiness (`healthcheck(refresh)` of the verifier), with either
    /// flavour; the blocking one runs on the blocking pool.
    pub async fn healthcheck(&self, refresh: bool) -> bool {
        match &self.inner.verifier {
            Flavour::Async(verifier) => verifier.healthcheck(refresh).await,
            #[cfg(feature = "blocking")]
            Flavour::Blocking(verifier) => {
                let verifier = verifier.clone();
                web::block(move || verifier.healthcheck(refresh))
                    .await
                    .unwrap_or(false)
            }
        }
    }

    /// Readiness that says why (the verifier's `health()`), with either flavour; the
    /// blocking one runs on the blocking pool. `Serialize`, for a readiness endpoint's
    /// body.
    pub async fn health(&self) -> Health {
        match &self.inner.verifier {
            Flavour::Async(verifier) => verifier.health().await,
            #[cfg(feature = "blocking")]
            Flavour::Blocking(verifier) => {
                let verifier = verifier.clone();
                web::block(move || verifier.health())
                    .await
                    .unwrap_or_default()
            }
        }
    }

    /// The actix error for a refusal, rendered with this `Auth`'s realm and handler.
    pub fn reject(&self, error: AuthError) -> BearerError {
        BearerError::with_parts(
            error,
            self.inner.challenge.clone(),
            self.inner.on_error.clone(),
        )
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

fn clean<I, S>(entries: I) -> Vec<String>
where
    I: IntoIterator<Item = S>,
    S: AsRef<str>,
{
    entries
        .into_iter()
        .map(|s| s.as_ref().trim().to_owned())
        .filter(|s| !s.is_empty())
        .collect()
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
/// verified now with the request's [`Auth`]. `Ok((auth, None))`: no credentials.
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
    match auth.authenticate(req.headers()).await {
        Ok(claims) => Ok((Some(auth), claims)),
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
