use std::sync::{Arc, Weak};
use std::time::Instant;

use futures_util::future::{BoxFuture, FutureExt, Shared};

use crate::alg::Algorithm;
use crate::config::AuthConfig;
use crate::error::{AuthError, ConfigError, ErrorCode};
use crate::jwks::fetch::{async_client, fetch_async};
use crate::jwks::lifecycle::{key_from, Decision, JwksStats, KeySet, Lifecycle, Mode, State};
use crate::keys::{KeySetError, SigningKey, SkippedKey};

type SharedFetch = Shared<BoxFuture<'static, Result<Arc<KeySet>, AuthError>>>;

pub(crate) struct AsyncFlight {
    generation: u64,
    fetch: SharedFetch,
    abort: tokio::task::AbortHandle,
}

/// Ends an async refresh as failed if its task is dropped before it finishes: aborted,
/// or its runtime shut down (a per-call `Runtime::block_on`, a `#[tokio::test]` sharing
/// a verifier). Without it the in-flight marker would stay set and no refresh would
/// ever start again.
struct FlightGuard {
    inner: Weak<Inner>,
    generation: u64,
    started: Instant,
    done: bool,
}

impl Drop for FlightGuard {
    fn drop(&mut self) {
        if self.done {
            return;
        }
        let Some(inner) = self.inner.upgrade() else {
            return;
        };
        let mut st = inner.life.lock();
        if st
            .in_flight
            .as_ref()
            .is_some_and(|f| f.generation == self.generation)
        {
            let err = KeySetError::Transport("refresh cancelled before it finished".into());
            let _ = inner
                .life
                .finish(&mut st, self.generation, self.started, Err(err));
        }
    }
}

struct Inner {
    life: Lifecycle<AsyncFlight>,
    client: reqwest::Client,
}

impl Drop for Inner {
    fn drop(&mut self) {
        // The last handle is gone: stop any refresh still running.
        if let Some(flight) = self.life.lock().in_flight.take() {
            flight.abort.abort();
        }
    }
}

/// The async key-set client: fetches, caches and refreshes the configured JWKS.
///
/// Cheap to clone (handles share one cache). Dropping the last handle aborts any
/// refresh in flight; background work holds only a weak reference.
///
/// ```no_run
/// # async fn run() -> Result<(), Box<dyn std::error::Error>> {
/// use verifier_core::{AsyncJwksClient, AuthConfig};
/// let config = AuthConfig::builder()
///     .issuer("https://issuer.example/")
///     .audience("api")
///     .jwks_url("https://issuer.example/jwks.json")
///     .build()?;
/// let jwks = AsyncJwksClient::new(&config)?;
/// if !jwks.healthcheck(true).await {
///     eprintln!("identity provider not reachable yet");
/// }
/// for key in jwks.get_signing_keys(false).await? {
///     println!("{} {}", key.kid(), key.key_type());
/// }
/// # Ok(()) }
/// ```
#[derive(Clone)]
pub struct AsyncJwksClient {
    inner: Arc<Inner>,
}

impl std::fmt::Debug for AsyncJwksClient {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AsyncJwksClient")
            .field("jwks_url", &self.inner.life.params.url.as_str())
            .finish_non_exhaustive()
    }
}

impl AsyncJwksClient {
    /// A client with its own HTTP client (rustls, no redirects).
    pub fn new(config: &AuthConfig) -> Result<Self, ConfigError> {
        let client = async_client()
            .map_err(|e| ConfigError::new("http_client", format!("could not be built: {e}")))?;
        Ok(Self::with_client(config, client))
    }

    /// A client over a caller-supplied HTTP client (custom TLS roots, proxy). Configure
    /// it not to follow redirects; a redirected response is refused either way.
    pub fn with_client(config: &AuthConfig, client: reqwest::Client) -> Self {
        AsyncJwksClient {
            inner: Arc::new(Inner {
                life: Lifecycle::new(config),
                client,
            }),
        }
    }

    /// Starts refresh `generation` on the runtime and records it as in flight.
    fn start(&self, st: &mut State<AsyncFlight>, generation: u64) -> SharedFetch {
        let weak: Weak<Inner> = Arc::downgrade(&self.inner);
        let client = self.inner.client.clone();
        let params = self.inner.life.params.clone();
        let started = Instant::now();
        // Moved into the task: dropped with it even if it is never polled.
        let guard = FlightGuard {
            inner: weak.clone(),
            generation,
            started,
            done: false,
        };
        let task = tokio::spawn(async move {
            let mut guard = guard;
            let fetched = fetch_async(&client, &params).await;
            let Some(inner) = weak.upgrade() else {
                guard.done = true;
                return Err(AuthError::new(ErrorCode::JwksFetchFailed));
            };
            let outcome = fetched
                .and_then(|(status, body)| inner.life.parse(&body).map(|parsed| (status, parsed)));
            let mut st = inner.life.lock();
            guard.done = true;
            inner.life.finish(&mut st, generation, started, outcome)
        });
        let abort = task.abort_handle();
        let fetch = async move {
            task.await
                .unwrap_or_else(|e| Err(AuthError::new(ErrorCode::JwksFetchFailed).with_source(e)))
        }
        .boxed()
        .shared();
        st.in_flight = Some(AsyncFlight {
            generation,
            fetch: fetch.clone(),
            abort,
        });
        fetch
    }

    /// Runs the lifecycle decision and waits where it says to.
    async fn acquire(&self, kid: Option<&str>, mode: Mode) -> Result<Arc<KeySet>, AuthError> {
        let (fetch, fallback) = {
            let mut st = self.inner.life.lock();
            match self.inner.life.decide(&mut st, kid, mode, Instant::now()) {
                Decision::Use(set, None) => return Ok(set),
                Decision::Use(set, Some(generation)) => {
                    drop(self.start(&mut st, generation));
                    return Ok(set);
                }
                Decision::Fail(err) => return Err(err),
                Decision::Join { start, fallback } => {
                    let fetch = match (start, st.in_flight.as_ref()) {
                        (Some(generation), _) => self.start(&mut st, generation),
                        (None, Some(flight)) => flight.fetch.clone(),
                        // `decide` starts a refresh whenever none is in flight.
                        (None, None) => return Err(AuthError::new(ErrorCode::JwksFetchFailed)),
                    };
                    (fetch, fallback)
                }
            }
        };
        let result = match tokio::time::timeout(self.inner.life.wait_limit(), fetch).await {
            Ok(result) => result,
            Err(elapsed) => Err(AuthError::new(ErrorCode::JwksFetchFailed).with_source(elapsed)),
        };
        match (result, fallback) {
            (Ok(set), _) => Ok(set),
            (Err(_), Some(set)) => Ok(set),
            (Err(err), None) => Err(err),
        }
    }

    /// The key for a token's `kid` (the verifier's path). `may_refresh`: the token's
    /// unverified claims passed the cheap checks, so an unknown kid may refresh.
    pub(crate) async fn key_for_token(
        &self,
        kid: &str,
        alg: Algorithm,
        may_refresh: bool,
    ) -> Result<SigningKey, AuthError> {
        if let Some(key) = self.inner.life.fast_get(kid, alg) {
            return Ok(key);
        }
        let set = self
            .acquire(Some(kid), Mode::Verify { may_refresh })
            .await?;
        key_from(&set, kid, Some(alg))
    }

    pub(crate) fn fast_get(&self, kid: &str, alg: Algorithm) -> Option<SigningKey> {
        self.inner.life.fast_get(kid, alg)
    }

    pub(crate) fn generation(&self) -> u64 {
        self.inner.life.generation()
    }

    /// The usable keys: from the cache (fetching only when there is none), or freshly
    /// fetched when `refresh` is true.
    pub async fn get_signing_keys(&self, refresh: bool) -> Result<Vec<SigningKey>, AuthError> {
        let mode = if refresh { Mode::Forced } else { Mode::Cached };
        Ok(self.acquire(None, mode).await?.keys())
    }

    /// The key with this `kid` (`key_not_found` when absent), freshly fetched when `refresh`.
    pub async fn get_signing_key(&self, kid: &str, refresh: bool) -> Result<SigningKey, AuthError> {
        let mode = if refresh { Mode::Forced } else { Mode::Cached };
        let set = self.acquire(Some(kid), mode).await?;
        key_from(&set, kid, None)
    }

    /// True when at least one usable key can be had; never errors.
    pub async fn healthcheck(&self, refresh: bool) -> bool {
        self.get_signing_keys(refresh)
            .await
            .is_ok_and(|keys| !keys.is_empty())
    }

    /// The key-set entries that were skipped as unusable in the current set, with the
    /// reason for each (unknown `kty`, `use` other than `sig`, symmetric key, bad
    /// material, missing `kid`, duplicate `kid`, over `jwks_max_cached_keys`, ...).
    ///
    /// Empty before the first successful fetch. At most the first 64 skipped entries are
    /// recorded; [`JwksStats::skipped_entries`] has the full count.
    ///
    /// ```no_run
    /// # async fn run(jwks: verifier_core::AsyncJwksClient) -> Result<(), verifier_core::AuthError> {
    /// jwks.get_signing_keys(true).await?;
    /// for skipped in jwks.skipped_keys() {
    ///     println!("{:?}: {}", skipped.kid, skipped.reason);
    /// }
    /// # Ok(()) }
    /// ```
    pub fn skipped_keys(&self) -> Vec<SkippedKey> {
        self.inner.life.skipped()
    }

    /// Counters and state of the lifecycle.
    pub fn stats(&self) -> JwksStats {
        self.inner.life.stats()
    }
}
