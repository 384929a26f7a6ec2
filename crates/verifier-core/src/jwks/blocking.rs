use std::sync::Arc;

use crate::alg::Algorithm;
use crate::config::AuthConfig;
use crate::discovery::lifecycle::{BlockingMetadata, MetadataParams};
use crate::discovery::MetadataStats;
use crate::error::{AuthError, ConfigError};
use crate::fetch::{blocking_client, fetch_blocking};
use crate::health::IssuerHealth;
use crate::jwks::lifecycle::{
    key_from, unresolvable, JwksLifecycle, JwksStats, KeySet, Mode, Origin,
};
use crate::keys::{KeySetError, ParsedKeySet, SigningKey};
use crate::refresh::blocking::{self, BlockingFlight};
use crate::refresh::Document;

struct Inner {
    keys: JwksLifecycle<BlockingFlight>,
    client: reqwest::blocking::Client,
    origin: Origin<BlockingMetadata>,
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
            .field(
                "jwks_url",
                &self.inner.keys.life.url().as_deref().map(url::Url::as_str),
            )
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
        let origin = Origin::of(config, || {
            let params = MetadataParams::from_config(config)?;
            BlockingMetadata::new(&params, client.clone(), config.clock().clone())
        });
        JwksClient {
            inner: Arc::new(Inner {
                keys: JwksLifecycle::new(config),
                client,
                origin,
            }),
        }
    }

    /// The fetch of one refresh: the static set, or the configured or discovered URL.
    /// A discovered `jwks_uri` is resolved first (refreshing metadata past its TTL on
    /// this thread, so this fetch already uses a moved `jwks_uri`).
    fn fetch(&self) -> Result<(u16, Vec<u8>), KeySetError> {
        let url = match &self.inner.origin {
            Origin::Url(url) => url.clone(),
            Origin::Discovered(metadata) => {
                let snapshot = metadata.get().map_err(KeySetError::Discovery)?;
                let url = snapshot.doc.jwks_uri().clone();
                self.inner
                    .keys
                    .life
                    .url_slot()
                    .store(Some(Arc::new(url.clone())));
                url
            }
            Origin::Static(body) => return Ok((200, body.as_bytes().to_vec())),
            Origin::Unresolvable => return Err(unresolvable()),
        };
        let params = &self.inner.keys.life.params;
        fetch_blocking(
            &self.inner.client,
            &url,
            ParsedKeySet::ACCEPT,
            params.timeout,
            params.max_bytes,
        )
        .map_err(KeySetError::from)
    }

    fn acquire(&self, kid: Option<&str>, mode: Mode) -> Result<Arc<KeySet>, AuthError> {
        let keys = &self.inner.keys;
        blocking::acquire(
            &keys.life,
            |st| keys.decide(st, kid, mode, keys.life.now()),
            || self.fetch(),
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

    /// True when at least one usable key can be had (and, when keys are discovered, a
    /// usable metadata document); never errors.
    pub fn healthcheck(&self, refresh: bool) -> bool {
        if let Origin::Discovered(metadata) = &self.inner.origin {
            if metadata.get().is_err() {
                return false;
            }
        }
        self.get_signing_keys(refresh)
            .is_ok_and(|keys| !keys.is_empty())
    }

    /// The metadata lifecycle's counters and state; `None` when keys are not discovered.
    pub fn metadata_stats(&self) -> Option<MetadataStats> {
        match &self.inner.origin {
            Origin::Discovered(metadata) => Some(metadata.stats().0),
            _ => None,
        }
    }

    /// The health entry of this client's issuer, `ready` as found by the caller.
    pub(crate) fn issuer_health(&self, issuer: &str, ready: bool) -> IssuerHealth {
        let metadata = match &self.inner.origin {
            Origin::Discovered(metadata) => Some(metadata.stats()),
            _ => None,
        };
        IssuerHealth::new(issuer, ready, self.inner.keys.stats_and_error(), metadata)
    }

    /// Counters and state of the lifecycle.
    pub fn stats(&self) -> JwksStats {
        self.inner.keys.stats()
    }
}
