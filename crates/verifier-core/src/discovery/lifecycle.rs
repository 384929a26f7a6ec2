//! The metadata side of the refresh state machine ([`crate::refresh`]): an issuer's
//! metadata document is fetched, cached and refreshed like a key set (single flight,
//! TTL, bounded staleness, backoff with jitter, failures never cached past the backoff),
//! with its own TTL and stale bound.
//!
//! Probing ([`Discovery::Auto`]): the OpenID Connect URL first, the RFC 8414 URL only when
//! the first answers a "not there" status ([`Discovery::falls_back_on`]); any other
//! outcome is final for the attempt. The URL that answered is remembered, and later
//! refreshes start there.
//!
//! The key-set lifecycle resolves its URL through this one when keys are discovered.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, OnceLock};
use std::time::Duration;

use arc_swap::ArcSwapOption;
use url::Url;

use super::{well_known_urls, Discovery, DiscoveryError, MetadataStats, ProviderMetadata};
use crate::clock::Clock;
use crate::config::{AuthConfig, KeySource};
use crate::error::{AuthError, ErrorCode};
use crate::fetch::{fetch, FetchError, FetchParams};
use crate::refresh::asynchronous::{self, AsyncFlight, Owner};
use crate::refresh::Flight;
use crate::refresh::{Document, Failure, Lifecycle, LogUrl, Snapshot, Timing};

/// What checking a metadata document needs from the configuration.
#[derive(Clone, Debug)]
pub(crate) struct MetadataPolicy {
    /// The configured issuer, as configured (the document's `issuer` must equal it).
    pub(crate) issuer: String,
    pub(crate) allow_insecure_http: bool,
}

impl Document for ProviderMetadata {
    type Policy = MetadataPolicy;
    type Error = DiscoveryError;
    const ACCEPT: &'static str = "application/json";
    const UNAVAILABLE: ErrorCode = ErrorCode::DiscoveryFailed;

    fn parse(body: &[u8], policy: &MetadataPolicy) -> Result<Self, DiscoveryError> {
        ProviderMetadata::parse(body, &policy.issuer, policy.allow_insecure_http)
    }

    fn into_auth_error(err: DiscoveryError) -> AuthError {
        err.into_auth_error()
    }

    fn log_start(url: LogUrl<'_>, generation: u64) {
        tracing::debug!(target: "oidc_jwt_verifier::discovery", url = %url, generation, "metadata fetch start");
    }

    fn log_ok(&self, url: LogUrl<'_>, status: u16, duration_ms: u64) {
        tracing::info!(
            target: "oidc_jwt_verifier::discovery",
            url = %url,
            status,
            duration_ms,
            jwks_uri = %self.jwks_uri(),
            "metadata fetch ok"
        );
    }

    fn log_failed(url: LogUrl<'_>, failure: &Failure<'_, Self>) {
        tracing::warn!(
            target: "oidc_jwt_verifier::discovery",
            url = %url,
            duration_ms = failure.duration_ms,
            error = %failure.error,
            consecutive_failures = failure.consecutive_failures,
            retry_in_ms = failure.retry_in.as_millis() as u64,
            "metadata fetch failed"
        );
    }
}

/// One issuer's discovery settings.
#[derive(Clone, Debug)]
pub(crate) struct MetadataParams {
    /// The configured issuer string (compared byte for byte).
    pub(crate) issuer: String,
    /// How to find the document.
    pub(crate) mode: Discovery,
    /// An explicit metadata URL, fetched as is (`mode` is then ignored).
    pub(crate) discovery_url: Option<Url>,
    pub(crate) allow_insecure_http: bool,
    /// Per-request deadline and body cap (the key-set ones).
    pub(crate) timeout: Duration,
    pub(crate) max_bytes: usize,
    pub(crate) ttl: Duration,
    pub(crate) max_stale: Duration,
    pub(crate) backoff_initial: Duration,
    pub(crate) backoff_max: Duration,
}

impl MetadataParams {
    /// The discovery settings of `config`; `None` when its keys do not come from
    /// metadata.
    pub(crate) fn from_config(config: &AuthConfig) -> Option<MetadataParams> {
        let KeySource::Discovery { mode, url } = config.key_source() else {
            return None;
        };
        Some(MetadataParams {
            issuer: config.issuer().to_owned(),
            mode,
            discovery_url: url.cloned(),
            allow_insecure_http: config.allow_insecure_http(),
            timeout: config.jwks_timeout(),
            max_bytes: config.jwks_max_bytes(),
            ttl: config.discovery_cache_ttl(),
            max_stale: config.discovery_max_stale(),
            backoff_initial: config.jwks_backoff_initial(),
            backoff_max: config.jwks_backoff_max(),
        })
    }

    /// The URLs to probe, in order. `None` when discovery is off or the issuer is not
    /// a URL (configuration validation refuses both before this is reached).
    fn urls(&self) -> Option<Vec<Url>> {
        if let Some(url) = &self.discovery_url {
            return Some(vec![url.clone()]);
        }
        let (oidc, oauth) = well_known_urls(&Url::parse(&self.issuer).ok()?);
        match self.mode {
            Discovery::Off => None,
            Discovery::Auto => Some(vec![oidc, oauth]),
            Discovery::Oidc => Some(vec![oidc]),
            Discovery::OAuth => Some(vec![oauth]),
        }
    }

    /// The lifecycle of these settings, and the URLs it probes.
    fn lifecycle<F: Flight>(
        &self,
        clock: Arc<dyn Clock>,
    ) -> Option<(Lifecycle<F, ProviderMetadata>, Probe)> {
        let urls: Arc<[Url]> = self.urls()?.into();
        let fetch = FetchParams {
            url: None,
            timeout: self.timeout,
            max_bytes: self.max_bytes,
        };
        let policy = MetadataPolicy {
            issuer: self.issuer.clone(),
            allow_insecure_http: self.allow_insecure_http,
        };
        // `auto` may make two requests, each with its own deadline.
        let probes = u32::try_from(urls.len()).unwrap_or(2);
        let timing = Timing {
            ttl: self.ttl,
            ttl_jitter: Duration::ZERO,
            max_stale: self.max_stale,
            backoff_initial: self.backoff_initial,
            backoff_max: self.backoff_max,
            wait_limit: self
                .timeout
                .saturating_mul(probes)
                .saturating_add(Duration::from_millis(250)),
        };
        let life = Lifecycle::new(fetch, policy, timing, clock);
        let probe = Probe {
            urls,
            answered: Arc::new(AtomicUsize::new(NONE_ANSWERED)),
            slot: life.url_slot(),
            timeout: self.timeout,
            max_bytes: self.max_bytes,
        };
        Some((life, probe))
    }
}

/// No URL has answered yet.
const NONE_ANSWERED: usize = usize::MAX;

/// The probing state of one issuer: the URLs in order, and which one answered last.
#[derive(Clone)]
struct Probe {
    urls: Arc<[Url]>,
    /// Index in `urls` of the URL that last answered with a document.
    answered: Arc<AtomicUsize>,
    /// The lifecycle's URL, set to the one that answered (for logs and stats).
    slot: Arc<ArcSwapOption<Url>>,
    timeout: Duration,
    max_bytes: usize,
}

/// What one probe step did.
enum Step {
    /// An answer (2xx, body within the cap).
    Answer(u16, Vec<u8>),
    /// A "not there" status: try the next URL.
    NotThere,
    /// Final for the attempt.
    Failed(DiscoveryError),
}

impl Probe {
    /// The probe order: the remembered URL first, then the others in order.
    fn order(&self) -> Vec<usize> {
        let first = match self.answered.load(Ordering::Relaxed) {
            NONE_ANSWERED => 0,
            i => i,
        };
        std::iter::once(first)
            .chain((0..self.urls.len()).filter(|i| *i != first))
            .collect()
    }

    fn step(&self, i: usize, result: Result<(u16, Vec<u8>), FetchError>) -> Step {
        let url = &self.urls[i];
        match result {
            Ok((status, body)) => {
                self.answered.store(i, Ordering::Relaxed);
                self.slot.store(Some(Arc::new(url.clone())));
                Step::Answer(status, body)
            }
            Err(FetchError::Status(status)) if Discovery::falls_back_on(status) => {
                tracing::debug!(target: "oidc_jwt_verifier::discovery", url = %url, status, "no metadata here");
                Step::NotThere
            }
            Err(err) => {
                self.slot.store(Some(Arc::new(url.clone())));
                Step::Failed(err.into())
            }
        }
    }

    fn not_found(&self) -> DiscoveryError {
        DiscoveryError::NotFound {
            tried: self.urls.iter().map(Url::to_string).collect(),
        }
    }

    /// The URL that answered last.
    fn answered_url(&self) -> Option<Url> {
        match self.answered.load(Ordering::Relaxed) {
            NONE_ANSWERED => None,
            i => self.urls.get(i).cloned(),
        }
    }
}

/// Called with the `jwks_uri` of every newly installed document.
pub(crate) type Listener = Box<dyn Fn(&Url) + Send + Sync>;

struct Inner {
    life: Lifecycle<AsyncFlight<ProviderMetadata>, ProviderMetadata>,
    client: reqwest::Client,
    probe: Probe,
    listener: OnceLock<Listener>,
}

impl Owner for Inner {
    type Doc = ProviderMetadata;

    fn lifecycle(&self) -> &Lifecycle<AsyncFlight<ProviderMetadata>, ProviderMetadata> {
        &self.life
    }

    fn installed(&self, snapshot: &Snapshot<ProviderMetadata>) {
        if let Some(listener) = self.listener.get() {
            listener(snapshot.doc.jwks_uri());
        }
    }
}

/// The async metadata client of one issuer. Cheap to clone; dropping the last handle
/// aborts a fetch in flight.
#[derive(Clone)]
pub(crate) struct AsyncMetadata {
    inner: Arc<Inner>,
}

impl AsyncMetadata {
    /// `None` when `params` has nothing to probe (discovery off).
    pub(crate) fn new(
        params: &MetadataParams,
        client: reqwest::Client,
        clock: Arc<dyn Clock>,
    ) -> Option<AsyncMetadata> {
        let (life, probe) = params.lifecycle(clock)?;
        Some(AsyncMetadata {
            inner: Arc::new(Inner {
                life,
                client,
                probe,
                listener: OnceLock::new(),
            }),
        })
    }

    /// Sets the function told the `jwks_uri` of every document installed from now on
    /// (once; later calls are ignored).
    pub(crate) fn set_listener(&self, listener: Listener) {
        let _ = self.inner.listener.set(listener);
    }

    /// The current document while it may serve (starting a background refresh past
    /// its TTL), or a fetch to wait for when there is none.
    pub(crate) async fn get(&self) -> Result<Arc<Snapshot<ProviderMetadata>>, AuthError> {
        let life = &self.inner.life;
        asynchronous::acquire(
            &self.inner,
            |st| life.decide(st, life.now()),
            || self.probe(),
        )
        .await
    }

    /// A fresh document (joining a fetch in flight).
    #[cfg(test)]
    pub(crate) async fn refresh(&self) -> Result<Arc<Snapshot<ProviderMetadata>>, AuthError> {
        let life = &self.inner.life;
        asynchronous::acquire(
            &self.inner,
            |st| life.join_or_start(st, life.now(), None),
            || self.probe(),
        )
        .await
    }

    /// The fetch of one attempt: the remembered URL first, then the others in order,
    /// moving on only after a "not there" status.
    fn probe(
        &self,
    ) -> impl std::future::Future<Output = Result<(u16, Vec<u8>), DiscoveryError>> + Send + 'static
    {
        let client = self.inner.client.clone();
        let probe = self.inner.probe.clone();
        async move {
            for i in probe.order() {
                let url = &probe.urls[i];
                let result = fetch(
                    &client,
                    url,
                    ProviderMetadata::ACCEPT,
                    probe.timeout,
                    probe.max_bytes,
                )
                .await;
                match probe.step(i, result) {
                    Step::Answer(status, body) => return Ok((status, body)),
                    Step::NotThere => {}
                    Step::Failed(err) => return Err(err),
                }
            }
            Err(probe.not_found())
        }
    }

    /// Counters and state of the lifecycle, and the code of the last failure until a
    /// success erases it.
    pub(crate) fn stats(&self) -> (MetadataStats, Option<ErrorCode>) {
        stats(&self.inner.life, &self.inner.probe)
    }
}

fn stats<F: Flight>(
    life: &Lifecycle<F, ProviderMetadata>,
    probe: &Probe,
) -> (MetadataStats, Option<ErrorCode>) {
    let stats = life.stats();
    let error = stats.last_error;
    let public = MetadataStats {
        url: probe.answered_url(),
        jwks_uri: stats.current.as_ref().map(|s| s.doc.jwks_uri().clone()),
        fetches: stats.fetches,
        failures: stats.failures,
        consecutive_failures: stats.consecutive_failures,
        last_success: stats.last_success,
        serving_stale: stats.serving_stale,
        refreshing: stats.refreshing,
    };
    (public, error)
}

#[cfg(feature = "blocking")]
pub(crate) use blocking::BlockingMetadata;

#[cfg(feature = "blocking")]
mod blocking {
    use super::*;
    use crate::fetch::fetch_blocking;
    use crate::refresh::blocking::{self, BlockingFlight};

    struct Inner {
        life: Lifecycle<BlockingFlight, ProviderMetadata>,
        client: reqwest::blocking::Client,
        probe: Probe,
    }

    /// The blocking metadata client of one issuer: the same lifecycle on the calling
    /// thread. A refresh past the TTL runs on the thread that needs it (the key-set
    /// fetch that asked), so that fetch already uses the new `jwks_uri`.
    #[derive(Clone)]
    pub(crate) struct BlockingMetadata {
        inner: Arc<Inner>,
    }

    impl BlockingMetadata {
        /// `None` when `params` has nothing to probe (discovery off).
        pub(crate) fn new(
            params: &MetadataParams,
            client: reqwest::blocking::Client,
            clock: Arc<dyn Clock>,
        ) -> Option<BlockingMetadata> {
            let (life, probe) = params.lifecycle(clock)?;
            Some(BlockingMetadata {
                inner: Arc::new(Inner {
                    life,
                    client,
                    probe,
                }),
            })
        }

        /// The current document while it may serve (refreshing it first past its
        /// TTL), or a fetch when there is none.
        pub(crate) fn get(&self) -> Result<Arc<Snapshot<ProviderMetadata>>, AuthError> {
            let life = &self.inner.life;
            blocking::acquire(life, |st| life.decide(st, life.now()), || self.probe())
        }

        fn probe(&self) -> Result<(u16, Vec<u8>), DiscoveryError> {
            let probe = &self.inner.probe;
            for i in probe.order() {
                let url = &probe.urls[i];
                let result = fetch_blocking(
                    &self.inner.client,
                    url,
                    ProviderMetadata::ACCEPT,
                    probe.timeout,
                    probe.max_bytes,
                );
                match probe.step(i, result) {
                    Step::Answer(status, body) => return Ok((status, body)),
                    Step::NotThere => {}
                    Step::Failed(err) => return Err(err),
                }
            }
            Err(probe.not_found())
        }

        /// Counters and state of the lifecycle, and the code of the last failure.
        pub(crate) fn stats(&self) -> (MetadataStats, Option<ErrorCode>) {
            stats(&self.inner.life, &self.inner.probe)
        }
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;
    use verifier_testkit::{Fault, TestIssuer};

    use super::*;
    use crate::clock::SystemClock;
    use crate::fetch::async_client;

    fn params(issuer: &TestIssuer) -> MetadataParams {
        MetadataParams {
            issuer: issuer.issuer(),
            mode: Discovery::Auto,
            discovery_url: None,
            allow_insecure_http: false,
            timeout: Duration::from_secs(2),
            max_bytes: 1024 * 1024,
            ttl: Duration::from_secs(3600),
            max_stale: Duration::from_secs(86_400),
            backoff_initial: Duration::from_millis(20),
            backoff_max: Duration::from_millis(40),
        }
    }

    fn client(params: &MetadataParams) -> AsyncMetadata {
        AsyncMetadata::new(params, async_client().unwrap(), Arc::new(SystemClock)).unwrap()
    }

    fn runtime() -> tokio::runtime::Runtime {
        tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .enable_all()
            .build()
            .unwrap()
    }

    #[test]
    fn discovers_the_jwks_uri_once_for_many_callers() {
        let issuer = TestIssuer::start();
        let meta = client(&params(&issuer));
        let rt = runtime();
        let uris = rt.block_on(async {
            let tasks: Vec<_> = (0..200)
                .map(|_| {
                    let meta = meta.clone();
                    tokio::spawn(async move { meta.get().await.map(|s| s.doc.jwks_uri().clone()) })
                })
                .collect();
            let mut uris = Vec::new();
            for task in tasks {
                uris.push(task.await.unwrap().unwrap());
            }
            uris
        });
        assert!(uris.iter().all(|u| u.as_str() == issuer.jwks_url()));
        assert_eq!(issuer.discovery_fetch_count(), 1);
        assert_eq!(issuer.fetch_count(), 0, "the key set is not fetched here");
        let stats = meta.stats().0;
        assert_eq!(stats.url.unwrap().as_str(), issuer.discovery_url());
        assert_eq!(stats.fetches, 1);
    }

    #[test]
    fn an_issuer_mismatch_is_discovery_error_and_is_not_cached() {
        let issuer = TestIssuer::start();
        issuer.set_discovery(Some(json!({
            "issuer": format!("{}/", issuer.issuer()),
            "jwks_uri": "https://evil.example/keys",
        })));
        let meta = client(&params(&issuer));
        let rt = runtime();
        let err = rt.block_on(meta.get()).unwrap_err();
        assert_eq!(err.code(), ErrorCode::DiscoveryError);
        assert_eq!(err.status().as_u16(), 503);
        assert!(err.retry_after().is_some());
        // The issuer fixes its document: after the backoff, the next caller succeeds.
        issuer.set_discovery(None);
        std::thread::sleep(Duration::from_millis(60));
        let snapshot = rt.block_on(meta.get()).unwrap();
        assert_eq!(snapshot.doc.jwks_uri().as_str(), issuer.jwks_url());
        assert_eq!(meta.stats().0.consecutive_failures, 0);
    }

    /// Auto probing moves on after a "not there" status, and remembers the URL that
    /// answered.
    #[test]
    fn falls_back_after_not_there_and_remembers_the_answer() {
        let issuer = TestIssuer::start();
        let mut p = params(&issuer);
        let missing = Url::parse(&format!("{}/no/such/metadata", issuer.base_url())).unwrap();
        let real = Url::parse(&issuer.discovery_url()).unwrap();
        let meta = client(&p);
        // Probe order under test: a 404 URL, then the real one.
        let mut inner = Arc::try_unwrap(meta.inner).ok().unwrap();
        inner.probe.urls = vec![missing.clone(), real.clone()].into();
        let meta = AsyncMetadata {
            inner: Arc::new(inner),
        };
        let rt = runtime();
        rt.block_on(meta.get()).unwrap();
        assert_eq!(meta.stats().0.url.as_ref(), Some(&real));
        assert_eq!(issuer.discovery_fetch_count(), 1);
        // A refresh starts at the remembered URL: one request, to it.
        rt.block_on(meta.refresh()).unwrap();
        assert_eq!(issuer.discovery_fetch_count(), 2);
        assert_eq!(meta.stats().0.fetches, 2);
        // Every URL "not there": discovery_failed, listing them.
        p.discovery_url = Some(missing);
        let nowhere = client(&p);
        let err = rt.block_on(nowhere.get()).unwrap_err();
        assert_eq!(err.code(), ErrorCode::DiscoveryFailed);
        assert!(std::error::Error::source(&err)
            .unwrap()
            .to_string()
            .contains("no/such/metadata"));
    }

    /// Any outcome but a "not there" status is final: a 500 from the first URL is never
    /// masked by a second probe.
    #[test]
    fn a_server_error_is_final_for_the_attempt() {
        let issuer = TestIssuer::start();
        // The key-set path answers 500 through the fault; the real metadata comes second.
        issuer.set_fault(Some(Fault::Status(500)));
        let failing = Url::parse(&issuer.jwks_url()).unwrap();
        let real = Url::parse(&issuer.discovery_url()).unwrap();
        let meta = client(&params(&issuer));
        let mut inner = Arc::try_unwrap(meta.inner).ok().unwrap();
        inner.probe.urls = vec![failing, real].into();
        let meta = AsyncMetadata {
            inner: Arc::new(inner),
        };
        let err = runtime().block_on(meta.get()).unwrap_err();
        assert_eq!(err.code(), ErrorCode::DiscoveryFailed);
        assert_eq!(issuer.discovery_fetch_count(), 0, "no fallback after a 500");
    }

    #[test]
    fn probe_urls_follow_the_mode() {
        let issuer = TestIssuer::start();
        let mut p = params(&issuer);
        let (oidc, oauth) = well_known_urls(&Url::parse(&issuer.issuer()).unwrap());
        assert_eq!(p.urls().unwrap(), vec![oidc.clone(), oauth.clone()]);
        p.mode = Discovery::Oidc;
        assert_eq!(p.urls().unwrap(), vec![oidc]);
        p.mode = Discovery::OAuth;
        assert_eq!(p.urls().unwrap(), vec![oauth]);
        p.mode = Discovery::Off;
        assert!(p.urls().is_none());
        let explicit = Url::parse("http://127.0.0.1:9/meta").unwrap();
        p.discovery_url = Some(explicit.clone());
        assert_eq!(p.urls().unwrap(), vec![explicit]);
    }
}
