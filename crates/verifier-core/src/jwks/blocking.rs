use std::sync::Arc;
use std::time::Instant;

use crate::alg::Algorithm;
use crate::config::AuthConfig;
use crate::error::{AuthError, ConfigError, ErrorCode};
use crate::jwks::fetch::{blocking_client, fetch_blocking};
use crate::jwks::lifecycle::{key_from, Decision, JwksStats, KeySet, Lifecycle, Mode};
use crate::keys::{KeySetError, SigningKey};

pub(crate) struct BlockingFlight {
    generation: u64,
}

struct Inner {
    life: Lifecycle<BlockingFlight>,
    client: reqwest::blocking::Client,
}

/// The blocking key-set client: the same lifecycle as [`AsyncJwksClient`](crate::AsyncJwksClient)
/// on the calling thread.
///
/// Call it from plain threads, or from async code through
/// `tokio::task::spawn_blocking` (never directly on an async executor thread: it blocks).
/// The caller that wins a refresh performs it; others keep using the current set, or
/// wait (bounded by the fetch timeout) when there is none.
#[derive(Clone)]
pub struct JwksClient {
    inner: Arc<Inner>,
}

impl std::fmt::Debug for JwksClient {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("JwksClient")
            .field("jwks_url", &self.inner.life.params.url.as_str())
            .finish_non_exhaustive()
    }
}

/// Ends a blocking refresh even if the fetching thread panics.
struct FlightGuard<'a> {
    inner: &'a Inner,
    generation: u64,
    started: Instant,
    done: bool,
}

impl FlightGuard<'_> {
    fn finish(
        mut self,
        outcome: Result<(u16, crate::keys::ParsedKeySet), KeySetError>,
    ) -> Result<Arc<KeySet>, AuthError> {
        self.done = true;
        let mut st = self.inner.life.lock();
        let result = self
            .inner
            .life
            .finish(&mut st, self.generation, self.started, outcome);
        drop(st);
        self.inner.life.cond.notify_all();
        result
    }
}

impl Drop for FlightGuard<'_> {
    fn drop(&mut self) {
        if !self.done {
            let mut st = self.inner.life.lock();
            let err = KeySetError::Transport("refresh aborted".into());
            let _ = self
                .inner
                .life
                .finish(&mut st, self.generation, self.started, Err(err));
            drop(st);
            self.inner.life.cond.notify_all();
        }
    }
}

impl JwksClient {
    /// A client with its own blocking HTTP client (rustls, no redirects).
    pub fn new(config: &AuthConfig) -> Result<Self, ConfigError> {
        let client = blocking_client(config.jwks_timeout())
            .map_err(|e| ConfigError::new("http_client", format!("could not be built: {e}")))?;
        Ok(Self::with_client(config, client))
    }

    /// A client over a caller-supplied blocking HTTP client (custom TLS roots, proxy).
    pub fn with_client(config: &AuthConfig, client: reqwest::blocking::Client) -> Self {
        JwksClient {
            inner: Arc::new(Inner {
                life: Lifecycle::new(config),
                client,
            }),
        }
    }

    fn run(&self, generation: u64) -> Result<Arc<KeySet>, AuthError> {
        let guard = FlightGuard {
            inner: &self.inner,
            generation,
            started: Instant::now(),
            done: false,
        };
        let outcome = fetch_blocking(&self.inner.client, &self.inner.life.params)
            .and_then(|(status, body)| self.inner.life.parse(&body).map(|parsed| (status, parsed)));
        guard.finish(outcome)
    }

    fn acquire(&self, kid: Option<&str>, mode: Mode) -> Result<Arc<KeySet>, AuthError> {
        let life = &self.inner.life;
        let mut st = life.lock();
        let (start, fallback) = match life.decide(&mut st, kid, mode, Instant::now()) {
            Decision::Use(set, None) => return Ok(set),
            Decision::Use(set, Some(generation)) => {
                st.in_flight = Some(BlockingFlight { generation });
                drop(st);
                return Ok(self.run(generation).unwrap_or(set));
            }
            Decision::Fail(err) => return Err(err),
            Decision::Join { start, fallback } => (start, fallback),
        };
        let result = match start {
            Some(generation) => {
                st.in_flight = Some(BlockingFlight { generation });
                drop(st);
                self.run(generation)
            }
            None => {
                let generation = st.in_flight.as_ref().map_or(0, |f| f.generation);
                let (st, timeout) = life
                    .cond
                    .wait_timeout_while(st, life.wait_limit(), |st| {
                        st.in_flight
                            .as_ref()
                            .is_some_and(|f| f.generation == generation)
                    })
                    .unwrap_or_else(|e| e.into_inner());
                match &st.last_result {
                    Some((g, result)) if *g >= generation && !timeout.timed_out() => result.clone(),
                    _ => Err(AuthError::new(ErrorCode::JwksFetchFailed)),
                }
            }
        };
        match (result, fallback) {
            (Ok(set), _) => Ok(set),
            (Err(_), Some(set)) => Ok(set),
            (Err(err), None) => Err(err),
        }
    }

    pub(crate) fn key_for_token(
        &self,
        kid: &str,
        alg: Algorithm,
        may_refresh: bool,
    ) -> Result<SigningKey, AuthError> {
        if let Some(key) = self.inner.life.fast_get(kid, alg) {
            return Ok(key);
        }
        let set = self.acquire(Some(kid), Mode::Verify { may_refresh })?;
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
    pub fn get_signing_keys(&self, refresh: bool) -> Result<Vec<SigningKey>, AuthError> {
        let mode = if refresh { Mode::Forced } else { Mode::Cached };
        Ok(self.acquire(None, mode)?.keys())
    }

    /// The key with this `kid` (`key_not_found` when absent), freshly fetched when `refresh`.
    pub fn get_signing_key(&self, kid: &str, refresh: bool) -> Result<SigningKey, AuthError> {
        let mode = if refresh { Mode::Forced } else { Mode::Cached };
        let set = self.acquire(Some(kid), mode)?;
        key_from(&set, kid, None)
    }

    /// True when at least one usable key can be had; never errors.
    pub fn healthcheck(&self, refresh: bool) -> bool {
        self.get_signing_keys(refresh)
            .is_ok_and(|keys| !keys.is_empty())
    }

    /// Counters and state of the lifecycle.
    pub fn stats(&self) -> JwksStats {
        self.inner.life.stats()
    }
}
