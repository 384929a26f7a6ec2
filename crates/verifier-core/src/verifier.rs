//! The verifiers: parse → route → key → signature → claims policy.

use std::sync::Arc;

use crate::alg::Algorithm;
use crate::claims::Claims;
use crate::config::{AuthConfig, VerifierConfig};
use crate::error::{AuthError, ConfigError};
use crate::health::Health;
use crate::issuers::{Issuer, IssuerSet, Policy, Start, WarmKeys};
use crate::jwks::{AsyncJwksClient, JwksStats};
use crate::keys::SigningKey;

fn log_refusal(result: &Result<Claims, AuthError>) {
    if let Err(err) = result {
        tracing::debug!(target: "oidc_jwt_verifier::verify", code = err.code().as_str(), "token refused");
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
    client: Option<C>,
}

impl<C> VerifierBuilder<C> {
    fn new() -> Self {
        VerifierBuilder {
            issuers: Vec::new(),
            client: None,
        }
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
        let config = VerifierConfig::new(self.issuers)?;
        let client = match self.client {
            Some(client) => client,
            None => crate::fetch::async_client()
                .map_err(|e| ConfigError::new("http_client", format!("could not be built: {e}")))?,
        };
        Ok(AsyncJwtVerifier::over(config, client))
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
        Self::over(config.into(), client)
    }

    /// A verifier of every issuer of `config`, sharing one HTTP client of its own.
    pub fn from_config(config: VerifierConfig) -> Result<Self, ConfigError> {
        let client = crate::fetch::async_client()
            .map_err(|e| ConfigError::new("http_client", format!("could not be built: {e}")))?;
        Ok(Self::over(config, client))
    }

    /// A builder for a verifier of several issuers.
    pub fn builder() -> VerifierBuilder<reqwest::Client> {
        VerifierBuilder::new()
    }

    fn over(config: VerifierConfig, client: reqwest::Client) -> Self {
        let issuers = config
            .issuers()
            .iter()
            .map(|c| Issuer {
                jwks: AsyncJwksClient::with_client(c, client.clone()),
                policy: Policy::new(c.clone()),
            })
            .collect();
        AsyncJwtVerifier {
            set: Arc::new(IssuerSet::new(issuers)),
        }
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
    pub async fn verify_access_token(&self, token: impl AsRef<[u8]>) -> Result<Claims, AuthError> {
        let result = self.verify(token.as_ref()).await;
        log_refusal(&result);
        result
    }

    async fn verify(&self, raw: &[u8]) -> Result<Claims, AuthError> {
        let (issuer, token, generation, key) = match self.set.start(raw)? {
            Start::Cached(claims) => return Ok(claims),
            Start::Parsed {
                issuer,
                token,
                generation,
                key,
            } => (issuer, token, generation, key),
        };
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
        issuer.policy.complete(raw, token, &key, generation)
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

    impl VerifierBuilder<reqwest::blocking::Client> {
        /// The blocking verifier; a [`ConfigError`] naming `issuers` for none, more than
        /// [`MAX_ISSUERS`](crate::MAX_ISSUERS) or a duplicate. Without a client, each
        /// issuer gets one with its own `jwks_timeout`.
        pub fn build(self) -> Result<JwtVerifier, ConfigError> {
            let config = VerifierConfig::new(self.issuers)?;
            match self.client {
                Some(client) => Ok(JwtVerifier::over(config, |_| Ok(client.clone()))?),
                None => JwtVerifier::from_config(config),
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
            let issuer = Issuer {
                jwks: JwksClient::with_client(&config, client),
                policy: Policy::new(config),
            };
            JwtVerifier {
                set: Arc::new(IssuerSet::new(vec![issuer])),
            }
        }

        /// A verifier of every issuer of `config`, each with a blocking HTTP client of
        /// its own (its `jwks_timeout` applies to the whole request).
        pub fn from_config(config: VerifierConfig) -> Result<Self, ConfigError> {
            Self::over(config, |c| {
                crate::fetch::blocking_client(c.jwks_timeout()).map_err(|e| {
                    ConfigError::new("http_client", format!("could not be built: {e}"))
                })
            })
        }

        /// A builder for a verifier of several issuers.
        pub fn builder() -> VerifierBuilder<reqwest::blocking::Client> {
            VerifierBuilder::new()
        }

        fn over(
            config: VerifierConfig,
            client: impl Fn(&AuthConfig) -> Result<reqwest::blocking::Client, ConfigError>,
        ) -> Result<Self, ConfigError> {
            let mut issuers = Vec::with_capacity(config.issuers().len());
            for c in config.issuers() {
                issuers.push(Issuer {
                    jwks: JwksClient::with_client(c, client(c)?),
                    policy: Policy::new(c.clone()),
                });
            }
            Ok(JwtVerifier {
                set: Arc::new(IssuerSet::new(issuers)),
            })
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

        /// Verifies a compact JWS access token and returns its claims.
        pub fn verify_access_token(&self, token: impl AsRef<[u8]>) -> Result<Claims, AuthError> {
            let result = self.verify(token.as_ref());
            log_refusal(&result);
            result
        }

        fn verify(&self, raw: &[u8]) -> Result<Claims, AuthError> {
            let (issuer, token, generation, key) = match self.set.start(raw)? {
                Start::Cached(claims) => return Ok(claims),
                Start::Parsed {
                    issuer,
                    token,
                    generation,
                    key,
                } => (issuer, token, generation, key),
            };
            let key = match key {
                Some(key) => key,
                None => {
                    let may_refresh = issuer.policy.may_refresh(&token);
                    issuer
                        .jwks
                        .key_for_token(&token.kid, token.alg, may_refresh)?
                }
            };
            issuer.policy.complete(raw, token, &key, generation)
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
