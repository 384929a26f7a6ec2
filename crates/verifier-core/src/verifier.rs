//! The verifiers: parse → key → signature → claims policy.

use std::sync::Arc;

use crate::alg::Algorithm;
use crate::cache::TokenCache;
use crate::claims::{self, ClaimNames, Claims};
use crate::config::AuthConfig;
use crate::error::{AuthError, ConfigError};
use crate::health::Health;
use crate::jwks::{AsyncJwksClient, JwksStats};
use crate::keys::SigningKey;
use crate::token::{self, UnverifiedToken};

/// What both verifier flavours share.
struct Policy {
    config: AuthConfig,
    names: Arc<ClaimNames>,
    cache: Option<TokenCache>,
}

impl Policy {
    fn new(config: AuthConfig) -> Arc<Self> {
        let names = ClaimNames::from_config(&config);
        let cache = (config.verified_token_cache() > 0)
            .then(|| TokenCache::new(config.verified_token_cache()));
        Arc::new(Policy {
            config,
            names,
            cache,
        })
    }

    /// Seconds since the epoch on the configured clock, for the time claims and the cache.
    #[inline]
    fn now(&self) -> f64 {
        self.config.clock().unix_time()
    }

    /// Steps 1-7 (no I/O), after a verified-token cache lookup; also picks up the key
    /// when the warm cache has it, so only a miss goes to the (async or blocking) lifecycle.
    fn start<'a>(
        &self,
        raw: &'a [u8],
        generation: u64,
        fast_get: impl FnOnce(&str, Algorithm) -> Option<SigningKey>,
    ) -> Result<Start<'a>, AuthError> {
        if let Some(cache) = &self.cache {
            let leeway = self.config.leeway().as_secs_f64();
            if let Some(claims) = cache.get(raw.trim_ascii(), self.now(), leeway, generation) {
                return Ok(Start::Cached(claims));
            }
        }
        let token = token::parse(
            raw,
            self.config.max_token_bytes(),
            self.config.allowed_algs(),
        )?;
        let key = fast_get(&token.kid, token.alg);
        Ok(Start::Parsed { token, key })
    }

    /// Whether an unknown kid may refresh: the unverified claims pass the cheap checks.
    fn may_refresh(&self, token: &UnverifiedToken<'_>) -> bool {
        claims::passes_cheap_checks(&token.payload, &self.config, self.now())
    }

    /// Steps 9-13, then remembers a success in the verified-token cache (if enabled).
    fn complete(
        &self,
        raw: &[u8],
        token: UnverifiedToken<'_>,
        key: &SigningKey,
        generation: u64,
    ) -> Result<Claims, AuthError> {
        key.verify(
            token.alg,
            token.signing_input,
            &token.signature,
            self.config.enforce_minimum_key_length(),
        )?;
        claims::validate(&token.payload, &self.config, self.now())?;
        let claims = Claims::new(token.payload, self.names.clone());
        if let Some(cache) = &self.cache {
            cache.insert(raw.trim_ascii(), &claims, generation);
        }
        Ok(claims)
    }
}

/// The first half of a verification.
enum Start<'a> {
    /// A verified-token cache hit.
    Cached(Claims),
    /// A structurally valid token, and its key when the warm cache had it.
    Parsed {
        token: UnverifiedToken<'a>,
        key: Option<SigningKey>,
    },
}

fn log_refusal(result: &Result<Claims, AuthError>) {
    if let Err(err) = result {
        tracing::debug!(target: "oidc_jwt_verifier::verify", code = err.code().as_str(), "token refused");
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
#[derive(Clone)]
pub struct AsyncJwtVerifier {
    policy: Arc<Policy>,
    jwks: AsyncJwksClient,
}

impl std::fmt::Debug for AsyncJwtVerifier {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AsyncJwtVerifier")
            .field("issuer", &self.policy.config.issuer())
            .finish_non_exhaustive()
    }
}

impl AsyncJwtVerifier {
    /// A verifier with its own HTTP client.
    pub fn new(config: AuthConfig) -> Result<Self, ConfigError> {
        let jwks = AsyncJwksClient::new(&config)?;
        Ok(AsyncJwtVerifier {
            policy: Policy::new(config),
            jwks,
        })
    }

    /// A verifier over a caller-supplied HTTP client (custom TLS roots, proxy). The
    /// verifier uses it but does not own it: your other clones keep working.
    pub fn with_client(config: AuthConfig, client: reqwest::Client) -> Self {
        let jwks = AsyncJwksClient::with_client(&config, client);
        AsyncJwtVerifier {
            policy: Policy::new(config),
            jwks,
        }
    }

    /// The configuration.
    pub fn config(&self) -> &AuthConfig {
        &self.policy.config
    }

    /// The key-set client behind this verifier.
    pub fn jwks(&self) -> &AsyncJwksClient {
        &self.jwks
    }

    /// Verifies a compact JWS access token (as text or UTF-8 bytes) and returns its claims.
    pub async fn verify_access_token(&self, token: impl AsRef<[u8]>) -> Result<Claims, AuthError> {
        let result = self.verify(token.as_ref()).await;
        log_refusal(&result);
        result
    }

    async fn verify(&self, raw: &[u8]) -> Result<Claims, AuthError> {
        let generation = self.jwks.generation();
        let (token, key) = match self
            .policy
            .start(raw, generation, |kid, alg| self.jwks.fast_get(kid, alg))?
        {
            Start::Cached(claims) => return Ok(claims),
            Start::Parsed { token, key } => (token, key),
        };
        let key = match key {
            Some(key) => key,
            None => {
                let may_refresh = self.policy.may_refresh(&token);
                self.jwks
                    .key_for_token(&token.kid, token.alg, may_refresh)
                    .await?
            }
        };
        self.policy.complete(raw, token, &key, generation)
    }

    /// The usable keys (see [`AsyncJwksClient::get_signing_keys`]).
    pub async fn get_signing_keys(&self, refresh: bool) -> Result<Vec<SigningKey>, AuthError> {
        self.jwks.get_signing_keys(refresh).await
    }

    /// One key by `kid` (see [`AsyncJwksClient::get_signing_key`]).
    pub async fn get_signing_key(&self, kid: &str, refresh: bool) -> Result<SigningKey, AuthError> {
        self.jwks.get_signing_key(kid, refresh).await
    }

    /// True when at least one usable key can be had (and, when keys are discovered, a
    /// usable metadata document); never errors.
    pub async fn healthcheck(&self, refresh: bool) -> bool {
        self.jwks.healthcheck(refresh).await
    }

    /// Readiness that says why: [`healthcheck(false)`](Self::healthcheck) per issuer
    /// (fetching what is missing), with the state of its metadata and key-set
    /// lifecycles. `Serialize`, for a readiness endpoint's body.
    pub async fn health(&self) -> Health {
        let ready = self.jwks.healthcheck(false).await;
        let issuer = self.jwks.issuer_health(self.policy.config.issuer(), ready);
        Health::of(vec![issuer])
    }

    /// Lifecycle counters, for health endpoints.
    pub fn stats(&self) -> JwksStats {
        self.jwks.stats()
    }
}

#[cfg(feature = "blocking")]
pub use blocking::JwtVerifier;

#[cfg(feature = "blocking")]
mod blocking {
    use super::*;
    use crate::jwks::JwksClient;

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
        policy: Arc<Policy>,
        jwks: JwksClient,
    }

    impl std::fmt::Debug for JwtVerifier {
        fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
            f.debug_struct("JwtVerifier")
                .field("issuer", &self.policy.config.issuer())
                .finish_non_exhaustive()
        }
    }

    impl JwtVerifier {
        /// A verifier with its own blocking HTTP client.
        pub fn new(config: AuthConfig) -> Result<Self, ConfigError> {
            let jwks = JwksClient::new(&config)?;
            Ok(JwtVerifier {
                policy: Policy::new(config),
                jwks,
            })
        }

        /// A verifier over a caller-supplied blocking HTTP client, which it does not own.
        pub fn with_client(config: AuthConfig, client: reqwest::blocking::Client) -> Self {
            let jwks = JwksClient::with_client(&config, client);
            JwtVerifier {
                policy: Policy::new(config),
                jwks,
            }
        }

        /// The configuration.
        pub fn config(&self) -> &AuthConfig {
            &self.policy.config
        }

        /// The key-set client behind this verifier.
        pub fn jwks(&self) -> &JwksClient {
            &self.jwks
        }

        /// Verifies a compact JWS access token and returns its claims.
        pub fn verify_access_token(&self, token: impl AsRef<[u8]>) -> Result<Claims, AuthError> {
            let result = self.verify(token.as_ref());
            log_refusal(&result);
            result
        }

        fn verify(&self, raw: &[u8]) -> Result<Claims, AuthError> {
            let generation = self.jwks.generation();
            let (token, key) = match self
                .policy
                .start(raw, generation, |kid, alg| self.jwks.fast_get(kid, alg))?
            {
                Start::Cached(claims) => return Ok(claims),
                Start::Parsed { token, key } => (token, key),
            };
            let key = match key {
                Some(key) => key,
                None => {
                    let may_refresh = self.policy.may_refresh(&token);
                    self.jwks
                        .key_for_token(&token.kid, token.alg, may_refresh)?
                }
            };
            self.policy.complete(raw, token, &key, generation)
        }

        /// The usable keys (see [`JwksClient::get_signing_keys`]).
        pub fn get_signing_keys(&self, refresh: bool) -> Result<Vec<SigningKey>, AuthError> {
            self.jwks.get_signing_keys(refresh)
        }

        /// One key by `kid` (see [`JwksClient::get_signing_key`]).
        pub fn get_signing_key(&self, kid: &str, refresh: bool) -> Result<SigningKey, AuthError> {
            self.jwks.get_signing_key(kid, refresh)
        }

        /// True when at least one usable key can be had (and, when keys are discovered,
        /// a usable metadata document); never errors.
        pub fn healthcheck(&self, refresh: bool) -> bool {
            self.jwks.healthcheck(refresh)
        }

        /// Readiness that says why (see [`AsyncJwtVerifier::health`]).
        pub fn health(&self) -> Health {
            let ready = self.jwks.healthcheck(false);
            let issuer = self.jwks.issuer_health(self.policy.config.issuer(), ready);
            Health::of(vec![issuer])
        }

        /// Lifecycle counters, for health endpoints.
        pub fn stats(&self) -> JwksStats {
            self.jwks.stats()
        }
    }
}
