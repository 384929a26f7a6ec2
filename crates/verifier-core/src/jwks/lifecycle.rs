//! The key-set lifecycle state machine shared by the async and blocking clients.
//!
//! Readers load the current key set through an atomically swapped pointer and never
//! take a lock on the warm path. The small `state` mutex guards refresh bookkeeping
//! (in-flight marker, timestamps, failures, backoff) and is never held across I/O.

use std::sync::atomic::{AtomicU64, Ordering};
#[cfg(feature = "blocking")]
use std::sync::Condvar;
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, Instant, SystemTime};

use arc_swap::ArcSwapOption;

use crate::alg::Algorithm;
use crate::config::AuthConfig;
use crate::error::{AuthError, ErrorCode};
use crate::jwks::fetch::FetchParams;
use crate::keys::{parse_key_set, KeyPolicy, KeySetError, ParsedKeySet, SigningKey, SkippedKey};

/// One successfully fetched key set.
#[derive(Debug)]
pub(crate) struct KeySet {
    pub(crate) parsed: ParsedKeySet,
    pub(crate) fetched_at: Instant,
    pub(crate) generation: u64,
}

impl KeySet {
    /// The key for `kid` (and the token's `alg`, which picks among keys sharing a kid).
    pub(crate) fn get(&self, kid: &str, alg: Option<Algorithm>) -> Option<&SigningKey> {
        self.parsed.get(kid, alg)
    }

    pub(crate) fn keys(&self) -> Vec<SigningKey> {
        self.parsed.keys().to_vec()
    }
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

/// What the caller should do next.
pub(crate) enum Decision {
    /// Use this set; when `refresh` is true the caller owns a new background refresh
    /// (already marked in flight with this generation).
    Use(Arc<KeySet>, Option<u64>),
    /// Wait for the refresh in flight, or the one just started (`start`); if it fails,
    /// fall back on `fallback` (a still-usable set, for an unknown-kid refresh).
    Join {
        start: Option<u64>,
        fallback: Option<Arc<KeySet>>,
    },
    /// Fail at once (backoff after a failure, nothing usable).
    Fail(AuthError),
}

/// Refresh bookkeeping, guarded by the lifecycle mutex.
pub(crate) struct State<F> {
    /// The refresh in flight, flavour-specific.
    pub(crate) in_flight: Option<F>,
    last_started: Option<Instant>,
    last_ended: Option<Instant>,
    consecutive_failures: u32,
    next_retry_at: Option<Instant>,
    last_error: Option<AuthError>,
    next_generation: u64,
    last_success: Option<SystemTime>,
    /// Result of the latest finished refresh (blocking waiters read it).
    pub(crate) last_result: Option<(u64, Result<Arc<KeySet>, AuthError>)>,
}

/// A point-in-time view of the lifecycle, for health endpoints and tests.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct JwksStats {
    /// Fetches started.
    pub fetches: u64,
    /// Fetches that failed.
    pub failures: u64,
    /// Failures since the last success.
    pub consecutive_failures: u32,
    /// When the last successful fetch ended.
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

pub(crate) struct Lifecycle<F> {
    pub(crate) params: FetchParams,
    policy: KeyPolicy,
    ttl: Duration,
    max_stale: Duration,
    cooldown: Duration,
    backoff_initial: Duration,
    backoff_max: Duration,
    current: ArcSwapOption<KeySet>,
    state: Mutex<State<F>>,
    /// Blocking waiters park here until the refresh in flight ends.
    #[cfg(feature = "blocking")]
    pub(crate) cond: Condvar,
    fetches: AtomicU64,
    failures: AtomicU64,
}

impl<F> Lifecycle<F> {
    pub(crate) fn new(config: &AuthConfig) -> Self {
        Lifecycle {
            params: FetchParams {
                url: config.jwks_url().clone(),
                timeout: config.jwks_timeout(),
                max_bytes: config.jwks_max_bytes(),
            },
            policy: KeyPolicy {
                allowed: config.allowed_algs().to_vec(),
                enforce_min_len: config.enforce_minimum_key_length(),
                max_keys: config.jwks_max_cached_keys(),
            },
            ttl: config.jwks_cache_ttl(),
            max_stale: config.jwks_max_stale(),
            cooldown: config.jwks_refresh_cooldown(),
            backoff_initial: config.jwks_backoff_initial(),
            backoff_max: config.jwks_backoff_max(),
            current: ArcSwapOption::empty(),
            state: Mutex::new(State {
                in_flight: None,
                last_started: None,
                last_ended: None,
                consecutive_failures: 0,
                next_retry_at: None,
                last_error: None,
                next_generation: 0,
                last_success: None,
                last_result: None,
            }),
            #[cfg(feature = "blocking")]
            cond: Condvar::new(),
            fetches: AtomicU64::new(0),
            failures: AtomicU64::new(0),
        }
    }

    /// How long a waiter waits for a refresh at most (the fetch has its own deadline).
    pub(crate) fn wait_limit(&self) -> Duration {
        self.params
            .timeout
            .saturating_add(Duration::from_millis(250))
    }

    pub(crate) fn lock(&self) -> MutexGuard<'_, State<F>> {
        // A panic while holding this lock cannot leave it inconsistent (plain fields).
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// The lock-free warm path: a fresh set that has the kid.
    pub(crate) fn fast_get(&self, kid: &str, alg: Algorithm) -> Option<SigningKey> {
        let guard = self.current.load();
        let set = guard.as_ref()?;
        if set.fetched_at.elapsed() > self.ttl {
            return None;
        }
        set.get(kid, Some(alg)).cloned()
    }

    /// The generation of the current set (0 before the first fetch).
    pub(crate) fn generation(&self) -> u64 {
        self.current.load().as_ref().map_or(0, |s| s.generation)
    }

    fn backoff_ok(st: &State<F>, now: Instant) -> bool {
        st.next_retry_at.is_none_or(|t| now >= t)
    }

    /// Decides under the lock; starting a refresh marks it (the caller must then run it).
    pub(crate) fn decide(
        &self,
        st: &mut State<F>,
        kid: Option<&str>,
        mode: Mode,
        now: Instant,
    ) -> Decision {
        if mode == Mode::Forced {
            return self.join_or_start(st, now, None);
        }
        let current = self.current.load_full();
        let usable = current.filter(|set| {
            now.duration_since(set.fetched_at) <= self.ttl.saturating_add(self.max_stale)
        });
        match usable {
            Some(set) => {
                let stale = now.duration_since(set.fetched_at) > self.ttl;
                let known = kid.is_none_or(|k| set.parsed.has_kid(k));
                if !known {
                    if let Mode::Verify { may_refresh: true } = mode {
                        // One refresh per cooldown, never while one is in flight (an
                        // unknown kid never waits on someone else's fetch).
                        let cooled = |t: Option<Instant>| {
                            t.is_none_or(|t| now.duration_since(t) >= self.cooldown)
                        };
                        if st.in_flight.is_none()
                            && cooled(st.last_started)
                            && cooled(st.last_ended)
                            && Self::backoff_ok(st, now)
                        {
                            return self.join_or_start(st, now, Some(set));
                        }
                    }
                }
                let background = stale && st.in_flight.is_none() && Self::backoff_ok(st, now);
                let generation = background.then(|| self.begin(st, now));
                Decision::Use(set, generation)
            }
            None => {
                if st.in_flight.is_none() && !Self::backoff_ok(st, now) {
                    let retry = st.next_retry_at.map(|t| t.saturating_duration_since(now));
                    let err = st
                        .last_error
                        .clone()
                        .unwrap_or_else(|| AuthError::new(ErrorCode::JwksFetchFailed));
                    return Decision::Fail(match retry {
                        Some(d) => err.with_retry_after(d),
                        None => err,
                    });
                }
                self.join_or_start(st, now, None)
            }
        }
    }

    fn join_or_start(
        &self,
        st: &mut State<F>,
        now: Instant,
        fallback: Option<Arc<KeySet>>,
    ) -> Decision {
        let start = st.in_flight.is_none().then(|| self.begin(st, now));
        Decision::Join { start, fallback }
    }

    /// Marks a refresh as started and returns its generation. The flavour must set
    /// `in_flight` before releasing the lock.
    fn begin(&self, st: &mut State<F>, now: Instant) -> u64 {
        st.next_generation += 1;
        st.last_started = Some(now);
        self.fetches.fetch_add(1, Ordering::Relaxed);
        tracing::debug!(target: "oidc_jwt_verifier::jwks", url = %self.params.url, generation = st.next_generation, "jwks fetch start");
        st.next_generation
    }

    /// Parses a fetched body into a key set (outside the lock).
    pub(crate) fn parse(&self, body: &[u8]) -> Result<ParsedKeySet, KeySetError> {
        parse_key_set(body, &self.policy)
    }

    /// Records the end of refresh `generation`: installs a newer set on success, or
    /// counts the failure and schedules the next retry. Clears the in-flight marker.
    pub(crate) fn finish(
        &self,
        st: &mut State<F>,
        generation: u64,
        started: Instant,
        outcome: Result<(u16, ParsedKeySet), KeySetError>,
    ) -> Result<Arc<KeySet>, AuthError> {
        let now = Instant::now();
        let elapsed_ms = now.duration_since(started).as_millis() as u64;
        st.in_flight = None;
        st.last_ended = Some(now);
        let result = match outcome {
            Ok((status, parsed)) => {
                tracing::info!(
                    target: "oidc_jwt_verifier::jwks",
                    url = %self.params.url,
                    status,
                    duration_ms = elapsed_ms,
                    keys = parsed.len(),
                    skipped = parsed.skipped_count,
                    "jwks fetch ok"
                );
                for skipped in &parsed.skipped {
                    tracing::debug!(target: "oidc_jwt_verifier::jwks", kid = ?skipped.kid, reason = %skipped.reason, "jwks entry skipped");
                }
                if parsed.len() == 0 {
                    // Authoritative: the issuer publishes no key we can use, so every
                    // key we had is revoked. Not a failed fetch (no backoff, no stale).
                    tracing::warn!(
                        target: "oidc_jwt_verifier::jwks",
                        url = %self.params.url,
                        skipped = parsed.skipped_count,
                        "jwks has no usable keys: every token is refused until the issuer publishes one"
                    );
                }
                let set = Arc::new(KeySet {
                    parsed,
                    fetched_at: now,
                    generation,
                });
                let newer = self
                    .current
                    .load()
                    .as_ref()
                    .is_none_or(|cur| cur.generation < generation);
                if newer {
                    self.current.store(Some(set.clone()));
                }
                st.consecutive_failures = 0;
                st.next_retry_at = None;
                st.last_error = None;
                st.last_success = Some(SystemTime::now());
                Ok(self.current.load_full().unwrap_or(set))
            }
            Err(err) => {
                self.failures.fetch_add(1, Ordering::Relaxed);
                st.consecutive_failures = st.consecutive_failures.saturating_add(1);
                let delay = self.backoff(st.consecutive_failures);
                st.next_retry_at = now.checked_add(delay);
                tracing::warn!(
                    target: "oidc_jwt_verifier::jwks",
                    url = %self.params.url,
                    duration_ms = elapsed_ms,
                    error = %err,
                    consecutive_failures = st.consecutive_failures,
                    retry_in_ms = delay.as_millis() as u64,
                    "jwks fetch failed"
                );
                let err = err.into_auth_error().with_retry_after(delay);
                st.last_error = Some(err.clone());
                Err(err)
            }
        };
        st.last_result = Some((generation, result.clone()));
        result
    }

    /// Exponential backoff with equal jitter: half the delay fixed, half random.
    fn backoff(&self, failures: u32) -> Duration {
        let exp = failures.saturating_sub(1).min(20);
        let full = self
            .backoff_initial
            .saturating_mul(1u32 << exp)
            .min(self.backoff_max);
        let half = full / 2;
        half + half.mul_f64(fastrand::f64())
    }

    /// The entries skipped in the current set (with reasons; the first 64 are recorded).
    pub(crate) fn skipped(&self) -> Vec<SkippedKey> {
        self.current
            .load()
            .as_ref()
            .map_or_else(Vec::new, |set| set.parsed.skipped.clone())
    }

    pub(crate) fn stats(&self) -> JwksStats {
        let st = self.lock();
        let current = self.current.load();
        JwksStats {
            fetches: self.fetches.load(Ordering::Relaxed),
            failures: self.failures.load(Ordering::Relaxed),
            consecutive_failures: st.consecutive_failures,
            last_success: st.last_success,
            key_count: current.as_ref().map_or(0, |s| s.parsed.len()),
            skipped_entries: current.as_ref().map_or(0, |s| s.parsed.skipped_count),
            serving_stale: current
                .as_ref()
                .is_some_and(|s| s.fetched_at.elapsed() > self.ttl),
            refreshing: st.in_flight.is_some(),
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
