//! The verifiers: parse → route → key → signature → claims policy.

use std::sync::Arc;

use crate::alg::Algorithm;
use crate::claims::Claims;
use crate::config::{AuthConfig, ResourceConfig, VerifierConfig};
use crate::dpop::{CheckedProof, DpopVerifier, Presented};
use crate::error::{AuthError, ConfigError, ErrorCode};
use crate::health::Health;
use crate::issuers::{Issuer, IssuerSet, Start, WarmKeys};
use crate::jwks::{AsyncJwksClient, JwksStats};
use crate::keys::SigningKey;
use crate::request::{Authenticated, DpopConfirmation, RequestParts, Scheme};
use crate::surface::Surface;

fn log_refusal<T>(result: &Result<T, AuthError>) {
    if let Err(err) = result {
        tracing::debug!(target: "oidc_jwt_verifier::verify", code = err.code().as_str(), "token refused");
    }
}

/// Step 7c: the DPoP proof of a request presenting `token` with the DPoP scheme (`None`
/// for Bearer).
fn check_proof(
    dpop: Option<&DpopVerifier>,
    token: &[u8],
    scheme: Scheme,
    request: Option<RequestParts<'_>>,
) -> Result<Option<CheckedProof>, AuthError> {
    match (scheme, request, dpop) {
        (Scheme::Dpop, Some(req), Some(dpop)) => {
            let token = std::str::from_utf8(token.trim_ascii())
                .map_err(|_| AuthError::new(ErrorCode::MalformedToken))?;
            dpop.check_proof(req.method, req.uri, req.headers, token)
                .map(Some)
        }
        // The DPoP scheme is only read when the verifier has DPoP (credentials parsing).
        (Scheme::Dpop, _, _) => Err(AuthError::new(ErrorCode::MissingToken)),
        _ => Ok(None),
    }
}

/// Step 12: the route's requirements, when the request carries some.
fn check_requirements(request: Option<RequestParts<'_>>, claims: &Claims) -> Result<(), AuthError> {
    match request.and_then(|r| r.requirements) {
        Some(requirements) => requirements.check(claims),
        None => Ok(()),
    }
}

fn presented(proof: Option<&CheckedProof>) -> Presented<'_> {
    proof.map_or(Presented::Bearer, |p| Presented::Dpop { jkt: p.jkt() })
}

fn confirmation(proof: CheckedProof) -> DpopConfirmation {
    DpopConfirmation {
        jkt: proof.jkt().to_owned(),
        next_nonce: proof.next_nonce().cloned(),
    }
}

impl WarmKeys for AsyncJwksClient {
    #[inline]
    fn fast_get(&self, kid: &str, alg: Algorithm) -> Option<SigningKey> {
        AsyncJwksClient::fast_get(self, kid, alg)
    }
    #[inline]
    fn generation(&self) -> u64 {
        AsyncJwksClient::generation(self)
    }
}

/// Builds a verifier of one or several issuers ([`AsyncJwtVerifier::builder`],
/// [`JwtVerifier::builder`](crate::JwtVerifier::builder)).
///
/// ```
/// use verifier_core::{AsyncJwtVerifier, AuthConfig};
///
/// let verifier = AsyncJwtVerifier::builder()
///     .issuer(AuthConfig::builder().issuer("https://a.example").audience("api").build()?)
///     .issuer(AuthConfig::builder().issuer("https://b.example").audience("api").build()?)
///     .build()?;
/// assert_eq!(verifier.issuers().count(), 2);
/// # Ok::<(), verifier_core::ConfigError>(())
/// ```
#[derive(Debug)]
#[must_use]
pub struct VerifierBuilder<C> {
    issuers: Vec<AuthConfig>,
    resource: ResourceConfig,
    client: Option<C>,
    dpop: Option<DpopVerifier>,
}

impl<C> VerifierBuilder<C> {
    fn new() -> Self {
        VerifierBuilder {
            issuers: Vec::new(),
            resource: ResourceConfig::default(),
            client: None,
            dpop: None,
        }
    }

    /// Accepts the DPoP scheme (RFC 9449) as `dpop`'s configuration says (mode, proof
    /// algorithms, public base URLs, nonces, replay store), through
    /// [`AsyncJwtVerifier::authenticate`]. Without it, only Bearer is accepted.
    pub fn dpop(mut self, dpop: DpopVerifier) -> Self {
        self.dpop = Some(dpop);
        self
    }

    /// The API's own settings: its resource identifier and protected-resource metadata
    /// (served by the integrations, advertised as `resource_metadata` in challenges), the
    /// MCP preset, the token cookie. [`build`](VerifierBuilder::build) checks the rules
    /// that span issuers and resource (see [`VerifierConfig::with_resource`]).
    ///
    /// ```
    /// use verifier_core::{AsyncJwtVerifier, AuthConfig, ResourceConfig, ResourceServer};
    /// let verifier = AsyncJwtVerifier::builder()
    ///     .issuer(AuthConfig::builder().issuer("https://idp.example.com").audience("https://api.example.com").build()?)
    ///     .resource(ResourceConfig::builder().resource("https://api.example.com").build()?)
    ///     .build()?;
    /// let doc = verifier.resource_metadata().unwrap();
    /// assert_eq!(doc.path(), "/.well-known/oauth-protected-resource");
    /// assert_eq!(doc.authorization_servers(), ["https://idp.example.com"]);
    /// # Ok::<(), verifier_core::ConfigError>(())
    /// ```
    pub fn resource(mut self, resource: ResourceConfig) -> Self {
        self.resource = resource;
        self
    }

    /// Adds an issuer (its own audiences, algorithms, key source and policy).
    pub fn issuer(mut self, config: AuthConfig) -> Self {
        self.issuers.push(config);
        self
    }

    /// Adds several issuers.
    pub fn issuers(mut self, configs: impl IntoIterator<Item = AuthConfig>) -> Self {
        self.issuers.extend(configs);
        self
    }

    /// The HTTP client every issuer's fetches use (custom TLS roots, proxy); configure it
    /// not to follow redirects. Default: one built for the verifier.
    pub fn http_client(mut self, client: C) -> Self {
        self.client = Some(client);
        self
    }
}

impl VerifierBuilder<reqwest::Client> {
    /// The verifier; a [`ConfigError`] naming `issuers` for none, more than
    /// [`MAX_ISSUERS`](crate::MAX_ISSUERS) or a duplicate.
    pub fn build(self) -> Result<AsyncJwtVerifier, ConfigError> {
        let config = VerifierConfig::new(self.issuers)?.with_resource(self.resource)?;
        let client = match self.client {
            Some(client) => client,
            None => crate::fetch::async_client()
                .map_err(|e| ConfigError::new("http_client", format!("could not be built: {e}")))?,
        };
        AsyncJwtVerifier::over(config, client, self.dpop)
    }
}

/// Verifies access tokens (async). The default flavour; cheap to clone.
///
/// ```no_run
/// # async fn run(token: &str) -> Result<(), Box<dyn std::error::Error>> {
/// use verifier_core::{AsyncJwtVerifier, AuthConfig};
/// let verifier = AsyncJwtVerifier::new(
///     AuthConfig::builder()
///         .issuer("https://issuer.example/")
///         .audience("https://api.example")
///         .jwks_url("https://issuer.example/.well-known/jwks.json")
///         .build()?,
/// )?;
/// let claims = verifier.verify_access_token(token).await?;
/// println!("hello {}", claims.sub().unwrap_or("?"));
/// # Ok(()) }
/// ```
///
/// Several issuers: [`builder`](Self::builder) or [`from_config`](Self::from_config).
/// The single-issuer accessors ([`config`](Self::config), [`jwks`](Self::jwks),
/// [`get_signing_keys`](Self::get_signing_keys), [`stats`](Self::stats)) then concern the
/// first issuer; [`healthcheck`](Self::healthcheck) and [`health`](Self::health) cover
/// them all.
#[derive(Clone)]
pub struct AsyncJwtVerifier {
    set: Arc<IssuerSet<AsyncJwksClient>>,
}

impl std::fmt::Debug for AsyncJwtVerifier {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let issuers: Vec<&str> = self.issuers().map(AuthConfig::issuer).collect();
        f.debug_struct("AsyncJwtVerifier")
            .field("issuers", &issuers)
            .finish_non_exhaustive()
    }
}

impl AsyncJwtVerifier {
    /// A verifier of one issuer, with its own HTTP client.
    pub fn new(config: AuthConfig) -> Result<Self, ConfigError> {
        Self::from_config(config.into())
    }

    /// A verifier over a caller-supplied HTTP client (custom TLS roots, proxy). The
    /// verifier uses it but does not own it: your other clones keep working.
    pub fn with_client(config: AuthConfig, client: reqwest::Client) -> Self {
        Self::over_surface(&config.into(), client, Surface::default())
    }

    /// A verifier of every issuer of `config`, sharing one HTTP client of its own.
    pub fn from_config(config: VerifierConfig) -> Result<Self, ConfigError> {
        let client = crate::fetch::async_client()
            .map_err(|e| ConfigError::new("http_client", format!("could not be built: {e}")))?;
        Self::over(config, client, None)
    }

    /// A builder for a verifier of several issuers (and of the DPoP scheme).
    pub fn builder() -> VerifierBuilder<reqwest::Client> {
        VerifierBuilder::new()
    }

    fn over(
        config: VerifierConfig,
        client: reqwest::Client,
        dpop: Option<DpopVerifier>,
    ) -> Result<Self, ConfigError> {
        let surface = Surface::new(&config, dpop)?;
        Ok(Self::over_surface(&config, client, surface))
    }

    fn over_surface(config: &VerifierConfig, client: reqwest::Client, surface: Surface) -> Self {
        let issuers = config
            .issuers()
            .iter()
            .map(|c| Issuer::new(c, AsyncJwksClient::with_client(c, client.clone())))
            .collect();
        AsyncJwtVerifier {
            set: Arc::new(IssuerSet::new(issuers, surface)),
        }
    }

    pub(crate) fn surface(&self) -> &Surface {
        &self.set.surface
    }

    /// The configuration (of the first issuer, with several).
    pub fn config(&self) -> &AuthConfig {
        &self.set.first().policy.config
    }

    /// Every issuer's configuration, in configuration order.
    pub fn issuers(&self) -> impl ExactSizeIterator<Item = &AuthConfig> {
        self.set.all().iter().map(|i| &i.policy.config)
    }

    /// The configuration of the issuer configured with exactly this string.
    pub fn issuer_config(&self, iss: &str) -> Option<&AuthConfig> {
        self.set.get(iss).map(|i| &i.policy.config)
    }

    /// The key-set client behind this verifier (of the first issuer, with several).
    pub fn jwks(&self) -> &AsyncJwksClient {
        &self.set.first().jwks
    }

    /// The key-set client of the issuer configured with exactly this string.
    pub fn issuer_jwks(&self, iss: &str) -> Option<&AsyncJwksClient> {
        self.set.get(iss).map(|i| &i.jwks)
    }

    /// Verifies a compact JWS access token (as text or UTF-8 bytes) and returns its claims.
    ///
    /// The token is taken as presented with the Bearer scheme: one bound to a DPoP key
    /// (`cnf.jkt`) is `dpop_bound_token`. With a request at hand, prefer
    /// [`authenticate`](Self::authenticate).
    pub async fn verify_access_token(&self, token: impl AsRef<[u8]>) -> Result<Claims, AuthError> {
        let result = self.run(token.as_ref(), Scheme::Bearer, None).await;
        log_refusal(&result);
        result.map(|authenticated| authenticated.claims)
    }

    /// Authenticates a request: its credentials (`Authorization: Bearer`, or `DPoP` with
    /// a `DPoP` proof when the verifier was built with [`VerifierBuilder::dpop`]), then
    /// the whole pipeline (SPEC-2 §0.6).
    ///
    /// `Ok(None)`: no credentials of an accepted scheme (another scheme such as `Basic`,
    /// or `DPoP` without DPoP configured). Two `Authorization` fields are
    /// `invalid_request`.
    ///
    /// ```no_run
    /// # async fn run(verifier: verifier_core::AsyncJwtVerifier, req: http::Request<()>) {
    /// use verifier_core::RequestParts;
    /// let parts = RequestParts::new(req.method(), req.uri(), req.headers());
    /// match verifier.authenticate(parts).await {
    ///     Ok(Some(auth)) => println!("{} via {}", auth.claims.sub().unwrap_or("?"), auth.scheme.as_str()),
    ///     Ok(None) => println!("anonymous"),
    ///     Err(err) => println!("refused: {}", err.code()),
    /// }
    /// # }
    /// ```
    pub async fn authenticate(
        &self,
        request: RequestParts<'_>,
    ) -> Result<Option<Authenticated>, AuthError> {
        let Some((scheme, token)) = self.set.credentials(request.headers)? else {
            return Ok(None);
        };
        // The error lands on the challenge of the scheme the client used.
        let result = self
            .run(token.as_bytes(), scheme, Some(request))
            .await
            .map_err(|err| err.with_scheme(scheme));
        log_refusal(&result);
        result.map(Some)
    }

    /// Steps 1-13 for a token presented with `scheme` (the request, for DPoP).
    async fn run(
        &self,
        raw: &[u8],
        scheme: Scheme,
        request: Option<RequestParts<'_>>,
    ) -> Result<Authenticated, AuthError> {
        let start = self.set.start(raw)?;
        let proof = check_proof(self.set.surface.dpop.as_ref(), raw, scheme, request)?;
        let presented = presented(proof.as_ref());
        let (issuer, claims) = match start {
            Start::Cached(issuer, claims) => {
                issuer.policy.check_binding(&claims, presented)?;
                (issuer, claims)
            }
            Start::Parsed {
                issuer,
                token,
                generation,
                key,
            } => {
                let key = match key {
                    Some(key) => key,
                    None => {
                        let may_refresh = issuer.policy.may_refresh(&token);
                        issuer
                            .jwks
                            .key_for_token(&token.kid, token.alg, may_refresh)
                            .await?
                    }
                };
                let claims = issuer
                    .policy
                    .complete(raw, token, &key, generation, presented)?;
                (issuer, claims)
            }
        };
        check_requirements(request, &claims)?;
        let dpop = match (proof, self.set.surface.dpop.as_ref()) {
            (Some(proof), Some(dpop)) => {
                dpop.check_replay(&proof).await?;
                Some(confirmation(proof))
            }
            _ => None,
        };
        Ok(Authenticated {
            claims,
            scheme,
            issuer: issuer.name.clone(),
            dpop,
        })
    }

    /// The usable keys of the first issuer (see [`AsyncJwksClient::get_signing_keys`]).
    pub async fn get_signing_keys(&self, refresh: bool) -> Result<Vec<SigningKey>, AuthError> {
        self.jwks().get_signing_keys(refresh).await
    }

    /// One key of the first issuer by `kid` (see [`AsyncJwksClient::get_signing_key`]).
    pub async fn get_signing_key(&self, kid: &str, refresh: bool) -> Result<SigningKey, AuthError> {
        self.jwks().get_signing_key(kid, refresh).await
    }

    /// True when every issuer has a usable key set (and, when its keys are discovered, a
    /// usable metadata document); never errors. Issuers are checked concurrently.
    pub async fn healthcheck(&self, refresh: bool) -> bool {
        let checks = self.set.all().iter().map(|i| i.jwks.healthcheck(refresh));
        futures_util::future::join_all(checks)
            .await
            .into_iter()
            .all(|ok| ok)
    }

    /// Readiness that says why: [`healthcheck(false)`](Self::healthcheck) per issuer
    /// (fetching what is missing), with the state of its metadata and key-set
    /// lifecycles. `Serialize`, for a readiness endpoint's body.
    pub async fn health(&self) -> Health {
        let checks = self.set.all().iter().map(|i| async move {
            let ready = i.jwks.healthcheck(false).await;
            i.jwks.issuer_health(i.policy.config.issuer(), ready)
        });
        Health::of(futures_util::future::join_all(checks).await)
    }

    /// Lifecycle counters of the first issuer's key set, for health endpoints.
    pub fn stats(&self) -> JwksStats {
        self.jwks().stats()
    }
}

#[cfg(feature = "blocking")]
pub use blocking::JwtVerifier;

#[cfg(feature = "blocking")]
mod blocking {
    use super::*;
    use crate::jwks::JwksClient;

    impl WarmKeys for JwksClient {
        #[inline]
        fn fast_get(&self, kid: &str, alg: Algorithm) -> Option<SigningKey> {
            JwksClient::fast_get(self, kid, alg)
        }
        #[inline]
        fn generation(&self) -> u64 {
            JwksClient::generation(self)
        }
    }

    /// A blocking client with `config`'s `jwks_timeout` for the whole request.
    fn default_client(config: &AuthConfig) -> Result<reqwest::blocking::Client, ConfigError> {
        crate::fetch::blocking_client(config.jwks_timeout())
            .map_err(|e| ConfigError::new("http_client", format!("could not be built: {e}")))
    }

    impl VerifierBuilder<reqwest::blocking::Client> {
        /// The blocking verifier; a [`ConfigError`] naming `issuers` for none, more than
        /// [`MAX_ISSUERS`](crate::MAX_ISSUERS) or a duplicate. Without a client, each
        /// issuer gets one with its own `jwks_timeout`.
        pub fn build(self) -> Result<JwtVerifier, ConfigError> {
            let config = VerifierConfig::new(self.issuers)?.with_resource(self.resource)?;
            let dpop = self.dpop;
            match self.client {
                Some(client) => JwtVerifier::over(config, |_| Ok(client.clone()), dpop),
                None => JwtVerifier::over(config, default_client, dpop),
            }
        }
    }

    /// Verifies access tokens on the calling thread (feature `blocking`); cheap to clone.
    ///
    /// Same policy and methods as [`AsyncJwtVerifier`]. From async code, call it through
    /// `tokio::task::spawn_blocking` (or actix-web's `web::block`): a key-set fetch blocks
    /// the thread for up to `jwks_timeout`.
    ///
    /// ```no_run
    /// # fn run(token: &str) -> Result<(), Box<dyn std::error::Error>> {
    /// use verifier_core::{AuthConfig, JwtVerifier};
    /// let verifier = JwtVerifier::new(
    ///     AuthConfig::builder()
    ///         .issuer("https://issuer.example/")
    ///         .audience("https://api.example")
    ///         .jwks_url("https://issuer.example/.well-known/jwks.json")
    ///         .build()?,
    /// )?;
    /// let claims = verifier.verify_access_token(token)?;
    /// # Ok(()) }
    /// ```
    #[derive(Clone)]
    pub struct JwtVerifier {
        set: Arc<IssuerSet<JwksClient>>,
    }

    impl std::fmt::Debug for JwtVerifier {
        fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
            let issuers: Vec<&str> = self.issuers().map(AuthConfig::issuer).collect();
            f.debug_struct("JwtVerifier")
                .field("issuers", &issuers)
                .finish_non_exhaustive()
        }
    }

    impl JwtVerifier {
        /// A verifier of one issuer, with its own blocking HTTP client.
        pub fn new(config: AuthConfig) -> Result<Self, ConfigError> {
            Self::from_config(config.into())
        }

        /// A verifier over a caller-supplied blocking HTTP client.
        pub fn with_client(config: AuthConfig, client: reqwest::blocking::Client) -> Self {
            let issuer = Issuer::new(&config, JwksClient::with_client(&config, client));
            JwtVerifier {
                set: Arc::new(IssuerSet::new(vec![issuer], Surface::default())),
            }
        }

        /// A verifier of every issuer of `config`, each with a blocking HTTP client of
        /// its own (its `jwks_timeout` applies to the whole request).
        pub fn from_config(config: VerifierConfig) -> Result<Self, ConfigError> {
            Self::over(config, default_client, None)
        }

        /// A builder for a verifier of several issuers.
        pub fn builder() -> VerifierBuilder<reqwest::blocking::Client> {
            VerifierBuilder::new()
        }

        fn over(
            config: VerifierConfig,
            client: impl Fn(&AuthConfig) -> Result<reqwest::blocking::Client, ConfigError>,
            dpop: Option<DpopVerifier>,
        ) -> Result<Self, ConfigError> {
            let surface = Surface::new(&config, dpop)?;
            let mut issuers = Vec::with_capacity(config.issuers().len());
            for c in config.issuers() {
                issuers.push(Issuer::new(c, JwksClient::with_client(c, client(c)?)));
            }
            Ok(JwtVerifier {
                set: Arc::new(IssuerSet::new(issuers, surface)),
            })
        }

        pub(crate) fn surface(&self) -> &Surface {
            &self.set.surface
        }

        /// The configuration (of the first issuer, with several).
        pub fn config(&self) -> &AuthConfig {
            &self.set.first().policy.config
        }

        /// Every issuer's configuration, in configuration order.
        pub fn issuers(&self) -> impl ExactSizeIterator<Item = &AuthConfig> {
            self.set.all().iter().map(|i| &i.policy.config)
        }

        /// The configuration of the issuer configured with exactly this string.
        pub fn issuer_config(&self, iss: &str) -> Option<&AuthConfig> {
            self.set.get(iss).map(|i| &i.policy.config)
        }

        /// The key-set client behind this verifier (of the first issuer, with several).
        pub fn jwks(&self) -> &JwksClient {
            &self.set.first().jwks
        }

        /// The key-set client of the issuer configured with exactly this string.
        pub fn issuer_jwks(&self, iss: &str) -> Option<&JwksClient> {
            self.set.get(iss).map(|i| &i.jwks)
        }

        /// Verifies a compact JWS access token and returns its claims (as presented with
        /// the Bearer scheme; see [`AsyncJwtVerifier::verify_access_token`]).
        pub fn verify_access_token(&self, token: impl AsRef<[u8]>) -> Result<Claims, AuthError> {
            let result = self.run(token.as_ref(), Scheme::Bearer, None);
            log_refusal(&result);
            result.map(|authenticated| authenticated.claims)
        }

        /// Authenticates a request (see [`AsyncJwtVerifier::authenticate`]); the replay
        /// check of a DPoP proof uses the blocking replay store.
        pub fn authenticate(
            &self,
            request: RequestParts<'_>,
        ) -> Result<Option<Authenticated>, AuthError> {
            let Some((scheme, token)) = self.set.credentials(request.headers)? else {
                return Ok(None);
            };
            let result = self
                .run(token.as_bytes(), scheme, Some(request))
                .map_err(|err| err.with_scheme(scheme));
            log_refusal(&result);
            result.map(Some)
        }

        fn run(
            &self,
            raw: &[u8],
            scheme: Scheme,
            request: Option<RequestParts<'_>>,
        ) -> Result<Authenticated, AuthError> {
            let start = self.set.start(raw)?;
            let proof = check_proof(self.set.surface.dpop.as_ref(), raw, scheme, request)?;
            let presented = presented(proof.as_ref());
            let (issuer, claims) = match start {
                Start::Cached(issuer, claims) => {
                    issuer.policy.check_binding(&claims, presented)?;
                    (issuer, claims)
                }
                Start::Parsed {
                    issuer,
                    token,
                    generation,
                    key,
                } => {
                    let key = match key {
                        Some(key) => key,
                        None => {
                            let may_refresh = issuer.policy.may_refresh(&token);
                            issuer
                                .jwks
                                .key_for_token(&token.kid, token.alg, may_refresh)?
                        }
                    };
                    let claims = issuer
                        .policy
                        .complete(raw, token, &key, generation, presented)?;
                    (issuer, claims)
                }
            };
            check_requirements(request, &claims)?;
            let dpop = match (proof, self.set.surface.dpop.as_ref()) {
                (Some(proof), Some(dpop)) => {
                    dpop.check_replay_blocking(&proof)?;
                    Some(confirmation(proof))
                }
                _ => None,
            };
            Ok(Authenticated {
                claims,
                scheme,
                issuer: issuer.name.clone(),
                dpop,
            })
        }

        /// The usable keys of the first issuer (see [`JwksClient::get_signing_keys`]).
        pub fn get_signing_keys(&self, refresh: bool) -> Result<Vec<SigningKey>, AuthError> {
            self.jwks().get_signing_keys(refresh)
        }

        /// One key of the first issuer by `kid` (see [`JwksClient::get_signing_key`]).
        pub fn get_signing_key(&self, kid: &str, refresh: bool) -> Result<SigningKey, AuthError> {
            self.jwks().get_signing_key(kid, refresh)
        }

        /// True when every issuer has a usable key set (and, when its keys are
        /// discovered, a usable metadata document); never errors.
        pub fn healthcheck(&self, refresh: bool) -> bool {
            self.set.all().iter().all(|i| i.jwks.healthcheck(refresh))
        }

        /// Readiness that says why (see [`AsyncJwtVerifier::health`]).
        pub fn health(&self) -> Health {
            let issuers = self.set.all().iter().map(|i| {
                let ready = i.jwks.healthcheck(false);
                i.jwks.issuer_health(i.policy.config.issuer(), ready)
            });
            Health::of(issuers.collect())
        }

        /// Lifecycle counters of the first issuer's key set, for health endpoints.
        pub fn stats(&self) -> JwksStats {
            self.jwks().stats()
        }
    }
}
