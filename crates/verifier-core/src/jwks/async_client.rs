use std::sync::Arc;

use futures_util::FutureExt;

use crate::alg::Algorithm;
use crate::config::AuthConfig;
use crate::discovery::lifecycle::{AsyncMetadata, MetadataParams};
use crate::discovery::MetadataStats;
use crate::error::{AuthError, ConfigError};
use crate::fetch::{async_client, fetch};
use crate::health::IssuerHealth;
use crate::jwks::lifecycle::unresolvable;
use crate::jwks::lifecycle::{key_from, JwksLifecycle, JwksStats, KeySet, Mode, Origin};
use crate::keys::{KeySetError, ParsedKeySet, SigningKey, SkippedKey};
use crate::refresh::asynchronous::{self, AsyncFlight, Owner};
use crate::refresh::{Document, Lifecycle};

struct Inner {
    keys: JwksLifecycle<AsyncFlight<ParsedKeySet>>,
    client: reqwest::Client,
    origin: Origin<AsyncMetadata>,
}

impl Owner for Inner {
    type Doc = ParsedKeySet;

    fn lifecycle(&self) -> &Lifecycle<AsyncFlight<ParsedKeySet>, ParsedKeySet> {
        &self.keys.life
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
            .field(
                "jwks_url",
                &self.inner.keys.life.url().as_deref().map(url::Url::as_str),
            )
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
        let origin = Origin::of(config, || {
            let params = MetadataParams::from_config(config)?;
            AsyncMetadata::new(&params, client.clone(), config.clock().clone())
        });
        let inner = Arc::new(Inner {
            keys: JwksLifecycle::new(config),
            client,
            origin,
        });
        if let Origin::Discovered(metadata) = &inner.origin {
            let weak = Arc::downgrade(&inner);
            metadata.set_listener(Box::new(move |jwks_uri| {
                if let Some(inner) = weak.upgrade() {
                    AsyncJwksClient { inner }.jwks_uri_published(jwks_uri);
                }
            }));
        }
        AsyncJwksClient { inner }
    }

    /// A refreshed metadata document names `jwks_uri`: when it differs from the URL the
    /// current key set came from, fetch from it in the background (SPEC-2 §1.6). The
    /// current set keeps serving until that fetch succeeds. A fetch already in flight
    /// may still be using the old URL: it is waited out first (by a task that holds
    /// only a weak reference, so dropping the client still stops everything).
    fn jwks_uri_published(&self, jwks_uri: &url::Url) {
        let life = &self.inner.keys.life;
        let Some(from) = life.current().and(life.url()) else {
            return;
        };
        if *from == *jwks_uri {
            return;
        }
        tracing::info!(
            target: "oidc_jwt_verifier::discovery",
            from = %from,
            to = %jwks_uri,
            "jwks_uri changed: fetching the key set from the new URL"
        );
        let weak = Arc::downgrade(&self.inner);
        let jwks_uri = jwks_uri.clone();
        tokio::spawn(async move {
            let pending = match weak.upgrade() {
                Some(inner) => asynchronous::in_flight(&*inner),
                None => return,
            };
            if let Some(pending) = pending {
                let _ = pending.await;
            }
            let Some(inner) = weak.upgrade() else {
                return;
            };
            let client = AsyncJwksClient { inner };
            if client.inner.keys.life.url().as_deref() != Some(&jwks_uri) {
                client.refresh_behind();
            }
        });
    }

    /// Starts a refresh behind the current set (unless one is in flight) and returns at
    /// once; the refresh runs as its own task.
    fn refresh_behind(&self) {
        let life = &self.inner.keys.life;
        // With a current set this completes at once; without one (never the case here)
        // the started refresh still runs when the waiter is dropped.
        let _ = asynchronous::acquire(
            &self.inner,
            |st| life.refresh_behind(st, life.now()),
            || self.fetch(),
        )
        .now_or_never();
    }

    /// The fetch of one refresh: the static set, or the configured or discovered URL.
    fn fetch(
        &self,
    ) -> impl std::future::Future<Output = Result<(u16, Vec<u8>), KeySetError>> + Send + 'static
    {
        let client = self.inner.client.clone();
        let params = self.inner.keys.life.params.clone();
        let origin = self.inner.origin.clone();
        let slot = self.inner.keys.life.url_slot();
        async move {
            let url = match origin {
                Origin::Url(url) => url,
                Origin::Discovered(metadata) => {
                    let snapshot = metadata.get().await.map_err(KeySetError::Discovery)?;
                    let url = snapshot.doc.jwks_uri().clone();
                    slot.store(Some(Arc::new(url.clone())));
                    url
                }
                Origin::Static(body) => return Ok((200, body.as_bytes().to_vec())),
                Origin::Unresolvable => return Err(unresolvable()),
            };
            let accept = ParsedKeySet::ACCEPT;
            fetch(&client, &url, accept, params.timeout, params.max_bytes)
                .await
                .map_err(KeySetError::from)
        }
    }

    /// Runs the lifecycle decision and waits where it says to.
    async fn acquire(&self, kid: Option<&str>, mode: Mode) -> Result<Arc<KeySet>, AuthError> {
        let keys = &self.inner.keys;
        asynchronous::acquire(
            &self.inner,
            |st| keys.decide(st, kid, mode, keys.life.now()),
            || self.fetch(),
        )
        .await
    }

    /// The key for a token's `kid` (the verifier's path). `may_refresh`: the token's
    /// unverified claims passed the cheap checks, so an unknown kid may refresh.
    pub(crate) async fn key_for_token(
        &self,
        kid: &str,
        alg: Algorithm,
        may_refresh: bool,
    ) -> Result<SigningKey, AuthError> {
        if let Some(key) = self.inner.keys.fast_get(kid, alg) {
            return Ok(key);
        }
        let set = self
            .acquire(Some(kid), Mode::Verify { may_refresh })
            .await?;
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

    /// True when at least one usable key can be had (and, when keys are discovered, a
    /// usable metadata document); never errors.
    pub async fn healthcheck(&self, refresh: bool) -> bool {
        if let Origin::Discovered(metadata) = &self.inner.origin {
            if metadata.get().await.is_err() {
                return false;
            }
        }
        self.get_signing_keys(refresh)
            .await
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
        self.inner.keys.skipped()
    }

    /// Counters and state of the lifecycle.
    pub fn stats(&self) -> JwksStats {
        self.inner.keys.stats()
    }
}
