//! The refresh state machine shared by every fetched document (key sets today, provider
//! metadata next), in both flavours.
//!
//! A [`Lifecycle`] holds the current parsed document `D` behind an atomically swapped
//! pointer (readers never take a lock on the warm path) and the refresh bookkeeping
//! behind a small mutex that is never held across I/O: the refresh in flight (single
//! flight, flavour-specific `F`), the generation counter, TTL and stale bound, and the
//! exponential backoff with jitter after failures.
//!
//! **TTL jitter.** Each installed document is fresh for `ttl − U[0, ttl_jitter]`, drawn
//! once when it is installed (`ttl_jitter` is 0 unless configured, which keeps the TTL
//! exact). Replicas that fetched together (a deployment, a rotation seen by the whole
//! fleet) then refresh at different moments instead of in step; the stale bound stays
//! `ttl + max_stale` from the fetch, whatever was drawn. Ages and delays are read on the
//! configured [`Clock`], so tests can move them by hand; network deadlines (the fetch
//! timeout, a waiter's bound) are tokio and condvar timers in real time.
//!
//! What a document means (how it parses, what a caller looks up in it, when a miss may
//! refresh) stays with the document's own module; [`Document`] is the little the machine
//! needs to know.
//!
//! The flavours drive it: [`asynchronous`] runs a refresh as a task whose result its
//! waiters share, [`blocking`] on the caller's thread with a condvar for the waiters.

pub(crate) mod asynchronous;
#[cfg(feature = "blocking")]
pub(crate) mod blocking;

use std::sync::atomic::{AtomicU64, Ordering};
#[cfg(feature = "blocking")]
use std::sync::Condvar;
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, Instant, SystemTime};

use arc_swap::ArcSwapOption;

use crate::clock::Clock;
use crate::error::{AuthError, ErrorCode};
use crate::fetch::{FetchError, FetchParams};

/// A fetched document type: how it parses, how its fetches are logged and reported.
///
/// Tracing targets are constant per callsite, so each document logs through its own
/// methods under its own target.
pub(crate) trait Document: Sized + Send + Sync + 'static {
    /// What parsing needs from the configuration.
    type Policy: Send + Sync + 'static;
    /// A failed fetch or an unusable body.
    type Error: From<FetchError> + std::fmt::Display + Send + Sync + 'static;
    /// The `Accept` header of its requests.
    const ACCEPT: &'static str;
    /// The code when no refresh result is there to explain a failure (a waiter timed
    /// out, the refresh task died).
    const UNAVAILABLE: ErrorCode;

    /// Parses a fetched body (outside the lock).
    fn parse(body: &[u8], policy: &Self::Policy) -> Result<Self, Self::Error>;
    /// The caller-facing error for a failed refresh.
    fn into_auth_error(err: Self::Error) -> AuthError;
    /// Logs the start of refresh `generation` (`url`: the last URL fetched, if any).
    fn log_start(url: LogUrl<'_>, generation: u64);
    /// Logs a successful refresh that produced `self`.
    fn log_ok(&self, url: LogUrl<'_>, status: u16, duration_ms: u64);
    /// Logs a failed refresh.
    fn log_failed(url: LogUrl<'_>, failure: &Failure<'_, Self>);
}

/// A lifecycle's URL in logs: the one last fetched, or a placeholder before a
/// discovered URL is known.
#[derive(Clone, Copy)]
pub(crate) struct LogUrl<'a>(pub(crate) Option<&'a url::Url>);

impl std::fmt::Display for LogUrl<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self.0 {
            Some(url) => f.write_str(url.as_str()),
            None => f.write_str("(not yet discovered)"),
        }
    }
}

/// What [`Document::log_failed`] reports.
pub(crate) struct Failure<'a, D: Document> {
    pub(crate) error: &'a D::Error,
    pub(crate) duration_ms: u64,
    pub(crate) consecutive_failures: u32,
    pub(crate) retry_in: Duration,
}

/// A refresh in flight, flavour-specific.
pub(crate) trait Flight: Send + 'static {
    /// The generation it will install.
    fn generation(&self) -> u64;
    /// Stops it (the lifecycle is being dropped).
    fn cancel(&self) {}
}

/// One successfully fetched document.
#[derive(Debug)]
pub(crate) struct Snapshot<D> {
    pub(crate) doc: D,
    pub(crate) fetched_at: Instant,
    pub(crate) generation: u64,
    /// How long after `fetched_at` it is fresh: the TTL less its jitter, drawn once.
    pub(crate) fresh_for: Duration,
}

/// What the caller should do next.
pub(crate) enum Decision<D> {
    /// Use this document; when the generation is set, the caller owns a new background
    /// refresh (already marked started with this generation).
    Use(Arc<Snapshot<D>>, Option<u64>),
    /// Wait for the refresh in flight, or the one just started (`start`); if it fails,
    /// fall back on `fallback` (a still-usable document, for a refresh on a miss).
    Join {
        start: Option<u64>,
        fallback: Option<Arc<Snapshot<D>>>,
    },
    /// Fail at once (backoff after a failure, nothing usable).
    Fail(AuthError),
}

/// The result a finished refresh leaves for waiters.
pub(crate) type Outcome<D> = Result<Arc<Snapshot<D>>, AuthError>;

/// Refresh bookkeeping, guarded by the lifecycle mutex.
pub(crate) struct State<F, D> {
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
    pub(crate) last_result: Option<(u64, Outcome<D>)>,
}

/// The timing knobs of one lifecycle.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Timing {
    /// How long a document is fresh.
    pub(crate) ttl: Duration,
    /// Most taken off `ttl` at random, per document (0: the TTL is exact).
    pub(crate) ttl_jitter: Duration,
    /// How long past the TTL it may serve while refreshes fail.
    pub(crate) max_stale: Duration,
    /// First retry delay after a failure (doubles per failure).
    pub(crate) backoff_initial: Duration,
    /// Longest retry delay.
    pub(crate) backoff_max: Duration,
    /// How long a waiter waits for a refresh at most (the fetch has its own deadline).
    pub(crate) wait_limit: Duration,
}

/// Counters and state of a lifecycle, for the document's public stats type.
pub(crate) struct Stats<D> {
    /// The code of the last failure, until a success erases it.
    pub(crate) last_error: Option<crate::error::ErrorCode>,
    pub(crate) fetches: u64,
    pub(crate) failures: u64,
    pub(crate) consecutive_failures: u32,
    pub(crate) last_success: Option<SystemTime>,
    pub(crate) serving_stale: bool,
    pub(crate) refreshing: bool,
    pub(crate) current: Option<Arc<Snapshot<D>>>,
}

pub(crate) struct Lifecycle<F: Flight, D: Document> {
    /// Deadline and body cap of each fetch.
    pub(crate) params: FetchParams,
    /// The URL of the latest fetch (set by the fetch when it is resolved late, as a
    /// discovered key-set URL or the metadata URL that answered).
    url: Arc<ArcSwapOption<url::Url>>,
    policy: D::Policy,
    timing: Timing,
    clock: Arc<dyn Clock>,
    current: ArcSwapOption<Snapshot<D>>,
    state: Mutex<State<F, D>>,
    /// Blocking waiters park here until the refresh in flight ends.
    #[cfg(feature = "blocking")]
    pub(crate) cond: Condvar,
    fetches: AtomicU64,
    failures: AtomicU64,
}

impl<F: Flight, D: Document> Drop for Lifecycle<F, D> {
    fn drop(&mut self) {
        // The last handle is gone: stop any refresh still running.
        if let Some(flight) = self.lock().in_flight.take() {
            flight.cancel();
        }
    }
}

impl<F: Flight, D: Document> Lifecycle<F, D> {
    pub(crate) fn new(
        params: FetchParams,
        policy: D::Policy,
        timing: Timing,
        clock: Arc<dyn Clock>,
    ) -> Self {
        Lifecycle {
            url: Arc::new(ArcSwapOption::from(params.url.clone().map(Arc::new))),
            params,
            policy,
            timing,
            clock,
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

    /// The lifecycle's notion of now, on its clock: freshness, staleness, quiet periods
    /// and backoff are measured on it.
    #[inline]
    pub(crate) fn now(&self) -> Instant {
        self.clock.now()
    }

    /// The URL of the latest fetch (`None` before a discovered URL is known).
    pub(crate) fn url(&self) -> Option<Arc<url::Url>> {
        self.url.load_full()
    }

    /// A handle a fetch uses to record the URL it resolved.
    pub(crate) fn url_slot(&self) -> Arc<ArcSwapOption<url::Url>> {
        self.url.clone()
    }

    /// How long a waiter waits for a refresh at most.
    pub(crate) fn wait_limit(&self) -> Duration {
        self.timing.wait_limit
    }

    pub(crate) fn lock(&self) -> MutexGuard<'_, State<F, D>> {
        // A panic while holding this lock cannot leave it inconsistent (plain fields).
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// The lock-free warm path: `look` applied to the current document while it is fresh.
    #[inline]
    pub(crate) fn with_fresh<R>(&self, look: impl FnOnce(&D) -> Option<R>) -> Option<R> {
        let guard = self.current.load();
        let snapshot = guard.as_ref()?;
        if self.now().duration_since(snapshot.fetched_at) > snapshot.fresh_for {
            return None;
        }
        look(&snapshot.doc)
    }

    /// The generation of the current document (0 before the first fetch).
    pub(crate) fn generation(&self) -> u64 {
        self.current.load().as_ref().map_or(0, |s| s.generation)
    }

    /// The current document while it may serve (within TTL + max stale).
    pub(crate) fn usable(&self, now: Instant) -> Option<Arc<Snapshot<D>>> {
        self.current.load_full().filter(|snapshot| {
            now.duration_since(snapshot.fetched_at)
                <= self.timing.ttl.saturating_add(self.timing.max_stale)
        })
    }

    fn backoff_ok(st: &State<F, D>, now: Instant) -> bool {
        st.next_retry_at.is_none_or(|t| now >= t)
    }

    /// Whether a refresh may start because of a miss: none in flight, none started or
    /// ended within `quiet`, and no backoff pending.
    pub(crate) fn quiet_for(&self, st: &State<F, D>, now: Instant, quiet: Duration) -> bool {
        let cooled = |t: Option<Instant>| t.is_none_or(|t| now.duration_since(t) >= quiet);
        st.in_flight.is_none()
            && cooled(st.last_started)
            && cooled(st.last_ended)
            && Self::backoff_ok(st, now)
    }

    /// Decides under the lock for a caller that wants whatever is usable now: the
    /// current document (starting a background refresh when it is past its TTL), or a
    /// refresh to wait for when there is none, or the last failure while backing off.
    /// Starting a refresh marks it; the caller must then run it.
    pub(crate) fn decide(&self, st: &mut State<F, D>, now: Instant) -> Decision<D> {
        match self.usable(now) {
            Some(snapshot) => {
                let stale = now.duration_since(snapshot.fetched_at) > snapshot.fresh_for;
                let background = stale && st.in_flight.is_none() && Self::backoff_ok(st, now);
                let generation = background.then(|| self.begin(st, now));
                Decision::Use(snapshot, generation)
            }
            None => {
                if st.in_flight.is_none() && !Self::backoff_ok(st, now) {
                    let retry = st.next_retry_at.map(|t| t.saturating_duration_since(now));
                    let err = st
                        .last_error
                        .clone()
                        .unwrap_or_else(|| AuthError::new(D::UNAVAILABLE));
                    return Decision::Fail(match retry {
                        Some(d) => err.with_retry_after(d),
                        None => err,
                    });
                }
                self.join_or_start(st, now, None)
            }
        }
    }

    /// Decides under the lock for a refresh behind the current document: the current
    /// document at once, with a new refresh started unless one is in flight (the caller
    /// must then run it); with no current document, a refresh to wait for.
    pub(crate) fn refresh_behind(&self, st: &mut State<F, D>, now: Instant) -> Decision<D> {
        match self.current.load_full() {
            Some(snapshot) => {
                let generation = st.in_flight.is_none().then(|| self.begin(st, now));
                Decision::Use(snapshot, generation)
            }
            None => self.join_or_start(st, now, None),
        }
    }

    /// Joins the refresh in flight or starts one; on failure the caller falls back on
    /// `fallback`.
    pub(crate) fn join_or_start(
        &self,
        st: &mut State<F, D>,
        now: Instant,
        fallback: Option<Arc<Snapshot<D>>>,
    ) -> Decision<D> {
        let start = st.in_flight.is_none().then(|| self.begin(st, now));
        Decision::Join { start, fallback }
    }

    /// Marks a refresh as started and returns its generation. The flavour must set
    /// `in_flight` before releasing the lock.
    fn begin(&self, st: &mut State<F, D>, now: Instant) -> u64 {
        st.next_generation += 1;
        st.last_started = Some(now);
        self.fetches.fetch_add(1, Ordering::Relaxed);
        D::log_start(LogUrl(self.url().as_deref()), st.next_generation);
        st.next_generation
    }

    /// Parses a fetched body (outside the lock).
    pub(crate) fn parse(&self, body: &[u8]) -> Result<D, D::Error> {
        D::parse(body, &self.policy)
    }

    /// Records the end of refresh `generation`: installs a newer document on success, or
    /// counts the failure and schedules the next retry. Clears the in-flight marker.
    /// `started` is the real (not the lifecycle's) time the fetch began, for the log.
    pub(crate) fn finish(
        &self,
        st: &mut State<F, D>,
        generation: u64,
        started: Instant,
        outcome: Result<(u16, D), D::Error>,
    ) -> Outcome<D> {
        let now = self.now();
        let elapsed_ms = started.elapsed().as_millis() as u64;
        st.in_flight = None;
        st.last_ended = Some(now);
        let result = match outcome {
            Ok((status, doc)) => {
                doc.log_ok(LogUrl(self.url().as_deref()), status, elapsed_ms);
                let snapshot = Arc::new(Snapshot {
                    doc,
                    fetched_at: now,
                    generation,
                    fresh_for: self.fresh_for(),
                });
                let newer = self
                    .current
                    .load()
                    .as_ref()
                    .is_none_or(|cur| cur.generation < generation);
                if newer {
                    self.current.store(Some(snapshot.clone()));
                }
                st.consecutive_failures = 0;
                st.next_retry_at = None;
                st.last_error = None;
                st.last_success = Some(self.clock.system_time());
                Ok(self.current.load_full().unwrap_or(snapshot))
            }
            Err(err) => {
                self.failures.fetch_add(1, Ordering::Relaxed);
                st.consecutive_failures = st.consecutive_failures.saturating_add(1);
                let delay = self.backoff(st.consecutive_failures);
                st.next_retry_at = now.checked_add(delay);
                D::log_failed(
                    LogUrl(self.url().as_deref()),
                    &Failure {
                        error: &err,
                        duration_ms: elapsed_ms,
                        consecutive_failures: st.consecutive_failures,
                        retry_in: delay,
                    },
                );
                let err = D::into_auth_error(err).with_retry_after(delay);
                st.last_error = Some(err.clone());
                Err(err)
            }
        };
        st.last_result = Some((generation, result.clone()));
        result
    }

    /// Ends refresh `generation` as failed because it was cancelled or aborted, if it is
    /// still the one in flight.
    pub(crate) fn abandon(
        &self,
        st: &mut State<F, D>,
        generation: u64,
        started: Instant,
        reason: &'static str,
    ) {
        if st
            .in_flight
            .as_ref()
            .is_some_and(|f| f.generation() == generation)
        {
            let err = FetchError::Transport(reason.into()).into();
            let _ = self.finish(st, generation, started, Err(err));
        }
    }

    /// A new document's fresh lifetime: `ttl − U[0, ttl_jitter]`.
    fn fresh_for(&self) -> Duration {
        let jitter = self.timing.ttl_jitter.min(self.timing.ttl);
        if jitter.is_zero() {
            return self.timing.ttl;
        }
        self.timing.ttl - jitter.mul_f64(fastrand::f64())
    }

    /// Exponential backoff with equal jitter: half the delay fixed, half random.
    fn backoff(&self, failures: u32) -> Duration {
        let exp = failures.saturating_sub(1).min(20);
        let full = self
            .timing
            .backoff_initial
            .saturating_mul(1u32 << exp)
            .min(self.timing.backoff_max);
        let half = full / 2;
        half + half.mul_f64(fastrand::f64())
    }

    /// The current document, whatever its age (`None` before the first success).
    pub(crate) fn current(&self) -> Option<Arc<Snapshot<D>>> {
        self.current.load_full()
    }

    pub(crate) fn stats(&self) -> Stats<D> {
        let st = self.lock();
        let current = self.current.load_full();
        let now = self.now();
        Stats {
            last_error: st.last_error.as_ref().map(AuthError::code),
            fetches: self.fetches.load(Ordering::Relaxed),
            failures: self.failures.load(Ordering::Relaxed),
            consecutive_failures: st.consecutive_failures,
            last_success: st.last_success,
            serving_stale: current
                .as_ref()
                .is_some_and(|s| now.duration_since(s.fetched_at) > s.fresh_for),
            refreshing: st.in_flight.is_some(),
            current,
        }
    }
}
