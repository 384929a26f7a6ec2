use std::sync::Arc;

use crate::alg::Algorithm;
use crate::config::AuthConfig;
use crate::error::{AuthError, ConfigError};
use crate::fetch::{blocking_client, fetch_blocking};
use crate::jwks::lifecycle::{key_from, JwksLifecycle, JwksStats, KeySet, Mode};
use crate::keys::{KeySetError, ParsedKeySet, SigningKey};
use crate::refresh::blocking::{self, BlockingFlight};
use crate::refresh::Document;

struct Inner {
    keys: JwksLifecycle<BlockingFlight>,
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
            .field("jwks_url", &self.inner.keys.life.params.url.as_str())
            .finish_non_exhaustive()
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
                keys: JwksLifecycle::new(config),
                client,
            }),
        }
    }

    fn acquire(&self, kid: Option<&str>, mode: Mode) -> Result<Arc<KeySet>, AuthError> {
        let keys = &self.inner.keys;
        blocking::acquire(
            &keys.life,
            |st| keys.decide(st, kid, mode, keys.life.now()),
            || {
                let params = &keys.life.params;
                let accept = ParsedKeySet::ACCEPT;
                fetch_blocking(
                    &self.inner.client,
                    &params.url,
                    accept,
                    params.timeout,
                    params.max_bytes,
                )
                .map_err(KeySetError::from)
            },
        )
    }

    pub(crate) fn key_for_token(
        &self,
        kid: &str,
        alg: Algorithm,
        may_refresh: bool,
    ) -> Result<SigningKey, AuthError> {
        if let Some(key) = self.inner.keys.fast_get(kid, alg) {
            return Ok(key);
        }
        let set = self.acquire(Some(kid), Mode::Verify { may_refresh })?;
        key_from(&set, kid, Some(alg))
    }

    pub(crate) fn fast_get(&self, kid: &str, alg: Algorithm) -> Option<SigningKey> {
        self.inner.keys.fast_get(kid, alg)
    }

    pub(crate) fn generation(&self) -> u64 {
        self.inner.keys.life.generation()
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
        self.inner.keys.stats()
    }
}
