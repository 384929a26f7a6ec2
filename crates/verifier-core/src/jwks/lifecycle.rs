//! The key-set side of the refresh state machine ([`crate::refresh`]): what a key set
//! is to it, and the one key-set-only rule, the unknown-`kid` refresh with its cooldown.

use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime};

use url::Url;

use crate::alg::Algorithm;
use crate::config::{AuthConfig, KeySource, Source};
use crate::error::{AuthError, ErrorCode};
use crate::fetch::{FetchError, FetchParams};
use crate::keys::{parse_key_set, KeyPolicy, KeySetError, ParsedKeySet, SigningKey, SkippedKey};
use crate::refresh::{
    Decision, Document, Failure, Flight, Lifecycle, LogUrl, Snapshot, State, Timing,
};

/// One successfully fetched key set.
pub(crate) type KeySet = Snapshot<ParsedKeySet>;

impl From<FetchError> for KeySetError {
    fn from(err: FetchError) -> Self {
        match err {
            FetchError::Status(status) => KeySetError::Status(status),
            FetchError::Redirected => KeySetError::Redirected,
            FetchError::TooLarge { limit } => KeySetError::TooLarge { limit },
            FetchError::Transport(err) => KeySetError::Transport(err),
        }
    }
}

impl Document for ParsedKeySet {
    type Policy = KeyPolicy;
    type Error = KeySetError;
    const ACCEPT: &'static str = "application/json, application/jwk-set+json";
    const UNAVAILABLE: ErrorCode = ErrorCode::JwksFetchFailed;

    fn parse(body: &[u8], policy: &KeyPolicy) -> Result<Self, KeySetError> {
        parse_key_set(body, policy)
    }

    fn into_auth_error(err: KeySetError) -> AuthError {
        err.into_auth_error()
    }

    fn log_start(url: LogUrl<'_>, generation: u64) {
        tracing::debug!(target: "oidc_jwt_verifier::jwks", url = %url, generation, "jwks fetch start");
    }

    fn log_ok(&self, url: LogUrl<'_>, status: u16, duration_ms: u64) {
        tracing::info!(
            target: "oidc_jwt_verifier::jwks",
            url = %url,
            status,
            duration_ms,
            keys = self.len(),
            skipped = self.skipped_count,
            "jwks fetch ok"
        );
        for skipped in &self.skipped {
            tracing::debug!(target: "oidc_jwt_verifier::jwks", kid = ?skipped.kid, reason = %skipped.reason, "jwks entry skipped");
        }
        if self.len() == 0 {
            // Authoritative: the issuer publishes no key we can use, so every key we
            // had is revoked. Not a failed fetch (no backoff, no stale).
            tracing::warn!(
                target: "oidc_jwt_verifier::jwks",
                url = %url,
                skipped = self.skipped_count,
                "jwks has no usable keys: every token is refused until the issuer publishes one"
            );
        }
    }

    fn log_failed(url: LogUrl<'_>, failure: &Failure<'_, Self>) {
        tracing::warn!(
            target: "oidc_jwt_verifier::jwks",
            url = %url,
            duration_ms = failure.duration_ms,
            error = %failure.error,
            consecutive_failures = failure.consecutive_failures,
            retry_in_ms = failure.retry_in.as_millis() as u64,
            "jwks fetch failed"
        );
    }
}

impl KeySet {
    /// The key for `kid` (and the token's `alg`, which picks among keys sharing a kid).
    pub(crate) fn get(&self, kid: &str, alg: Option<Algorithm>) -> Option<&SigningKey> {
        self.doc.get(kid, alg)
    }

    pub(crate) fn keys(&self) -> Vec<SigningKey> {
        self.doc.keys().to_vec()
    }
}

/// Where a client's key-set document comes from.
#[derive(Clone)]
pub(crate) enum Origin<M> {
    /// The configured `jwks_url`.
    Url(Url),
    /// A key set given in code: never fetched (a refresh parses it again).
    Static(Arc<str>),
    /// The `jwks_uri` of the issuer's metadata, resolved when a fetch starts.
    Discovered(M),
    /// Discovery configured but nothing to probe (configuration validation refuses
    /// this): every fetch fails closed with `discovery_failed`.
    Unresolvable,
}

impl<M> Origin<M> {
    /// The origin of `config`'s keys; `metadata` builds the metadata client when keys
    /// are discovered (`None`: nothing to probe).
    pub(crate) fn of(config: &AuthConfig, metadata: impl FnOnce() -> Option<M>) -> Self {
        match config.source() {
            Source::JwksUrl(url) => Origin::Url(url.clone()),
            Source::Static(body) => Origin::Static(body.clone()),
            Source::Discovery { .. } => metadata().map_or(Origin::Unresolvable, Origin::Discovered),
        }
    }
}

/// The failure of every fetch from an [`Origin::Unresolvable`].
pub(crate) fn unresolvable() -> KeySetError {
    KeySetError::Discovery(AuthError::new(ErrorCode::DiscoveryFailed))
}

/// What the caller asks of the lifecycle.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Mode {
    /// A verification: an unknown kid may refresh when `may_refresh` (cheap checks passed).
    Verify { may_refresh: bool },
    /// Readiness / listing: whatever is usable now, fetching only when nothing is.
    Cached,
    /// An explicit refresh: always fetch (joining one in flight).
    Forced,
}

/// A point-in-time view of the lifecycle, for health endpoints and tests.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize)]
#[non_exhaustive]
pub struct JwksStats {
    /// Fetches started.
    pub fetches: u64,
    /// Fetches that failed.
    pub failures: u64,
    /// Failures since the last success.
    pub consecutive_failures: u32,
    /// When the last successful fetch ended (seconds since the Unix epoch in JSON).
    #[serde(serialize_with = "crate::health::unix_seconds")]
    pub last_success: Option<SystemTime>,
    /// Usable keys in the current set. Zero after a fetch of a well-formed set with no
    /// usable key: the set is installed (every earlier key is revoked), readiness is
    /// false, and `skipped_entries` with `skipped_keys()` say why.
    pub key_count: usize,
    /// Entries skipped in the current set.
    pub skipped_entries: usize,
    /// Whether the current set is past its TTL (served while refreshes fail).
    pub serving_stale: bool,
    /// Whether a refresh is in flight.
    pub refreshing: bool,
}

/// The key-set lifecycle of one client: the generic machine plus the unknown-kid cooldown.
pub(crate) struct JwksLifecycle<F: Flight> {
    pub(crate) life: Lifecycle<F, ParsedKeySet>,
    cooldown: Duration,
}

impl<F: Flight> JwksLifecycle<F> {
    pub(crate) fn new(config: &AuthConfig) -> Self {
        let params = FetchParams {
            url: config.jwks_url().cloned(),
            timeout: config.jwks_timeout(),
            max_bytes: config.jwks_max_bytes(),
        };
        // Discovery may make two metadata requests before the key-set one; waiters give
        // up after two deadlines (SPEC-2 §1.6), the refresh itself goes on.
        let deadlines = match config.key_source() {
            KeySource::Discovery { .. } => 2,
            _ => 1,
        };
        let policy = KeyPolicy {
            allowed: config.allowed_algs().to_vec(),
            enforce_min_len: config.enforce_minimum_key_length(),
            max_keys: config.jwks_max_cached_keys(),
        };
        let timing = Timing {
            ttl: config.jwks_cache_ttl(),
            ttl_jitter: config.jwks_cache_ttl_jitter(),
            max_stale: config.jwks_max_stale(),
            backoff_initial: config.jwks_backoff_initial(),
            backoff_max: config.jwks_backoff_max(),
            wait_limit: config
                .jwks_timeout()
                .saturating_mul(deadlines)
                .saturating_add(Duration::from_millis(250)),
        };
        JwksLifecycle {
            life: Lifecycle::new(params, policy, timing, config.clock().clone()),
            cooldown: config.jwks_refresh_cooldown(),
        }
    }

    /// The lock-free warm path: a fresh set that has the kid.
    #[inline]
    pub(crate) fn fast_get(&self, kid: &str, alg: Algorithm) -> Option<SigningKey> {
        self.life.with_fresh(|set| set.get(kid, Some(alg)).cloned())
    }

    /// Decides under the lock (see [`Lifecycle::decide`]); an unknown kid in a
    /// verification that may refresh starts one refresh per cooldown, never while one
    /// is in flight (an unknown kid never waits on someone else's fetch).
    pub(crate) fn decide(
        &self,
        st: &mut State<F, ParsedKeySet>,
        kid: Option<&str>,
        mode: Mode,
        now: Instant,
    ) -> Decision<ParsedKeySet> {
        match mode {
            Mode::Forced => self.life.join_or_start(st, now, None),
            Mode::Verify { may_refresh: true } => {
                if let Some(set) = self.life.usable(now) {
                    let unknown = kid.is_some_and(|k| !set.doc.has_kid(k));
                    if unknown && self.life.quiet_for(st, now, self.cooldown) {
                        return self.life.join_or_start(st, now, Some(set));
                    }
                }
                self.life.decide(st, now)
            }
            Mode::Verify { may_refresh: false } | Mode::Cached => self.life.decide(st, now),
        }
    }

    /// The entries skipped in the current set (with reasons; the first 64 are recorded).
    pub(crate) fn skipped(&self) -> Vec<SkippedKey> {
        self.life
            .current()
            .map_or_else(Vec::new, |set| set.doc.skipped.clone())
    }

    /// The stats, and the code of the last failure until a success erases it.
    pub(crate) fn stats_and_error(&self) -> (JwksStats, Option<ErrorCode>) {
        let stats = self.life.stats();
        let error = stats.last_error;
        (Self::public(stats), error)
    }

    pub(crate) fn stats(&self) -> JwksStats {
        Self::public(self.life.stats())
    }

    fn public(stats: crate::refresh::Stats<ParsedKeySet>) -> JwksStats {
        let current = stats.current.as_ref();
        JwksStats {
            fetches: stats.fetches,
            failures: stats.failures,
            consecutive_failures: stats.consecutive_failures,
            last_success: stats.last_success,
            key_count: current.map_or(0, |s| s.doc.len()),
            skipped_entries: current.map_or(0, |s| s.doc.skipped_count),
            serving_stale: stats.serving_stale,
            refreshing: stats.refreshing,
        }
    }
}

/// After a decision and possibly a refresh: the key for `kid` (and `alg`), or why not.
pub(crate) fn key_from(
    set: &KeySet,
    kid: &str,
    alg: Option<Algorithm>,
) -> Result<SigningKey, AuthError> {
    set.get(kid, alg)
        .cloned()
        .ok_or_else(|| AuthError::new(ErrorCode::KeyNotFound))
}
