//! Replay protection for DPoP proofs (SPEC-2 §5.5, D5): the [`ReplayStore`] trait
//! (atomic check-and-insert with a time to live) and the default in-memory store.

use std::cmp::Reverse;
use std::collections::{BinaryHeap, HashMap};
use std::fmt;
use std::future::Future;
use std::pin::Pin;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::time::{Duration, Instant};

use crate::clock::{Clock, SystemClock};
use crate::error::{AuthError, ErrorCode};

/// The replay-store key of a proof: the first 16 bytes of
/// SHA-256(`jkt` ‖ 0x00 ‖ `jti`), so the same `jti` from two keys are two entries and
/// nothing the client chose is stored as it was sent.
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct ReplayKey([u8; 16]);

impl ReplayKey {
    /// The key of a proof with thumbprint `jkt` and `jti`.
    ///
    /// ```
    /// use verifier_core::dpop::ReplayKey;
    /// assert_ne!(ReplayKey::new("k1", "a"), ReplayKey::new("k2", "a"));
    /// // The separator keeps ("ab", "c") and ("a", "bc") apart.
    /// assert_ne!(ReplayKey::new("ab", "c"), ReplayKey::new("a", "bc"));
    /// assert_eq!(ReplayKey::new("k", "j").to_hex().len(), 32);
    /// ```
    pub fn new(jkt: &str, jti: &str) -> ReplayKey {
        let mut ctx = aws_lc_rs::digest::Context::new(&aws_lc_rs::digest::SHA256);
        ctx.update(jkt.as_bytes());
        ctx.update(&[0]);
        ctx.update(jti.as_bytes());
        let digest = ctx.finish();
        let mut key = [0u8; 16];
        key.copy_from_slice(&digest.as_ref()[..16]);
        ReplayKey(key)
    }

    /// The 16 bytes.
    pub fn as_bytes(&self) -> &[u8; 16] {
        &self.0
    }

    /// The 16 bytes as 32 lower-case hex digits (e.g. a Redis key suffix).
    pub fn to_hex(&self) -> String {
        use fmt::Write as _;
        let mut out = String::with_capacity(32);
        for b in self.0 {
            let _ = write!(out, "{b:02x}");
        }
        out
    }
}

impl fmt::Debug for ReplayKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "ReplayKey({})", self.to_hex())
    }
}

/// What a check-and-insert found.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Seen {
    /// The key was not there (or had expired) and is now stored: the proof is fresh.
    First,
    /// The key is there: the proof was already used.
    Replayed,
}

/// Why a replay store could not answer. Every variant refuses the request with a 503
/// `dpop_replay_cache_full` (never an accept: a store that cannot tell must not let a
/// replay through).
#[derive(Debug)]
#[non_exhaustive]
pub enum ReplayError {
    /// The store is full of live entries; one expires after `retry_after`.
    Full {
        /// When the oldest entry expires.
        retry_after: Duration,
    },
    /// The store did not answer (connection refused, timeout, an error reply).
    Unavailable(Box<dyn std::error::Error + Send + Sync>),
}

impl fmt::Display for ReplayError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ReplayError::Full { retry_after } => write!(
                f,
                "replay store full of live entries (the oldest expires in {retry_after:?})"
            ),
            ReplayError::Unavailable(e) => write!(f, "replay store unavailable: {e}"),
        }
    }
}

impl std::error::Error for ReplayError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            ReplayError::Full { .. } => None,
            ReplayError::Unavailable(e) => Some(&**e),
        }
    }
}

impl ReplayError {
    /// The error a request gets: 503 `dpop_replay_cache_full`, with `Retry-After` when
    /// the store knows when room frees up (1 s for an unavailable store).
    pub fn into_auth_error(self) -> AuthError {
        let retry_after = match &self {
            ReplayError::Full { retry_after } => *retry_after,
            ReplayError::Unavailable(_) => Duration::from_secs(1),
        };
        AuthError::new(ErrorCode::DpopReplayCacheFull)
            .with_retry_after(retry_after)
            .with_source(self)
    }
}

/// The future of [`ReplayStore::check_and_insert`].
pub type ReplayFuture<'a> = Pin<Box<dyn Future<Output = Result<Seen, ReplayError>> + Send + 'a>>;

/// A store of seen proofs, shared by every request of a verifier (and, for a shared
/// store such as Redis, by every replica).
///
/// `check_and_insert` must be **atomic**: of any number of concurrent calls with one
/// key, exactly one may answer [`Seen::First`] while the entry lives. An entry lives
/// for `ttl` after its insertion and is then forgotten. A store that cannot answer
/// returns an error, which refuses the request (503): it must never answer `First`
/// when it does not know.
pub trait ReplayStore: Send + Sync + fmt::Debug {
    /// Inserts `key` for `ttl` unless it is present.
    fn check_and_insert(&self, key: ReplayKey, ttl: Duration) -> ReplayFuture<'_>;
}

/// The blocking flavour of [`ReplayStore`], for the blocking verifier.
#[cfg(feature = "blocking")]
pub trait BlockingReplayStore: Send + Sync + fmt::Debug {
    /// Inserts `key` for `ttl` unless it is present (atomic, as
    /// [`ReplayStore::check_and_insert`]).
    fn check_and_insert(&self, key: ReplayKey, ttl: Duration) -> Result<Seen, ReplayError>;
}

const SHARDS: usize = 16;

/// The default replay store: in memory, for one process (it does not protect a fleet
/// of replicas: use a shared store such as the Redis one for that).
///
/// Bounded: it holds at most `capacity` live entries over 16 independently locked
/// shards. Expired entries are swept on insertion; when it is full of live entries a
/// new proof is refused with [`ReplayError::Full`] (503) rather than evicting a live
/// entry, which would let that proof be replayed. Entries expire on the monotonic
/// clock ([`Clock::now`]), so a wall-clock jump neither keeps nor drops them early.
///
/// ```
/// use std::time::Duration;
/// use verifier_core::dpop::{InMemoryReplayStore, ReplayKey, Seen};
///
/// let store = InMemoryReplayStore::new(16);
/// let key = ReplayKey::new("thumbprint", "jti-1");
/// let ttl = Duration::from_secs(65);
/// assert_eq!(store.check_and_insert_now(key, ttl).unwrap(), Seen::First);
/// assert_eq!(store.check_and_insert_now(key, ttl).unwrap(), Seen::Replayed);
/// assert_eq!(store.len(), 1);
/// ```
pub struct InMemoryReplayStore {
    shards: Box<[Mutex<Shard>]>,
    /// Live and not yet swept entries over all shards; never above `capacity`.
    count: AtomicUsize,
    capacity: usize,
    clock: Arc<dyn Clock>,
}

#[derive(Default)]
struct Shard {
    /// key → expiry.
    entries: HashMap<ReplayKey, Instant>,
    /// (expiry, key), soonest first. An element whose expiry differs from the map's is
    /// stale (the key was re-inserted after expiring) and is dropped when popped.
    expiries: BinaryHeap<Reverse<(Instant, ReplayKey)>>,
}

impl Shard {
    /// Removes the expired entries; returns how many.
    fn sweep(&mut self, now: Instant) -> usize {
        let mut removed = 0;
        while let Some(Reverse((expiry, key))) = self.expiries.peek().copied() {
            if expiry > now {
                break;
            }
            self.expiries.pop();
            if self.entries.get(&key) == Some(&expiry) {
                self.entries.remove(&key);
                removed += 1;
            }
        }
        removed
    }

    fn oldest_expiry(&self) -> Option<Instant> {
        self.expiries.peek().map(|Reverse((e, _))| *e)
    }
}

impl fmt::Debug for InMemoryReplayStore {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("InMemoryReplayStore")
            .field("len", &self.len())
            .field("capacity", &self.capacity)
            .finish()
    }
}

impl InMemoryReplayStore {
    /// A store for at most `capacity` live entries (at least 1), on the system clock.
    pub fn new(capacity: usize) -> InMemoryReplayStore {
        Self::with_clock(capacity, Arc::new(SystemClock))
    }

    /// A store on `clock` (its monotonic reading, [`Clock::now`], ages the entries).
    pub fn with_clock(capacity: usize, clock: Arc<dyn Clock>) -> InMemoryReplayStore {
        InMemoryReplayStore {
            shards: (0..SHARDS).map(|_| Mutex::new(Shard::default())).collect(),
            count: AtomicUsize::new(0),
            capacity: capacity.max(1),
            clock,
        }
    }

    /// How many live entries are stored (expired ones are swept first).
    pub fn len(&self) -> usize {
        let now = self.clock.now();
        for i in 0..SHARDS {
            self.sweep(&mut self.shard(i), now);
        }
        self.count.load(Ordering::Acquire)
    }

    /// Whether no entry is stored.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The capacity, in entries.
    pub fn capacity(&self) -> usize {
        self.capacity
    }

    fn shard(&self, i: usize) -> MutexGuard<'_, Shard> {
        // A panic while holding the lock cannot leave a shard inconsistent in a way
        // that matters (worst case: an entry without its heap element, dropped never):
        // keep serving.
        self.shards[i]
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
    }

    fn try_reserve(&self) -> bool {
        self.count
            .fetch_update(Ordering::AcqRel, Ordering::Acquire, |n| {
                (n < self.capacity).then_some(n + 1)
            })
            .is_ok()
    }

    /// Sweeps the expired entries of a shard, keeping the count.
    fn sweep(&self, shard: &mut Shard, now: Instant) {
        let removed = shard.sweep(now);
        if removed > 0 {
            self.count.fetch_sub(removed, Ordering::AcqRel);
        }
    }

    /// Under the shard's lock: `Replayed` when the key is live, else `First` after
    /// inserting it when a unit of capacity is free, else `None` (full).
    fn try_insert(
        &self,
        shard: &mut Shard,
        key: ReplayKey,
        ttl: Duration,
        now: Instant,
    ) -> Option<Seen> {
        self.sweep(shard, now);
        if shard.entries.get(&key).is_some_and(|expiry| *expiry > now) {
            return Some(Seen::Replayed);
        }
        if !self.try_reserve() {
            return None;
        }
        let expiry = now + ttl;
        if shard.entries.insert(key, expiry).is_some() {
            // An expired entry still there (only with a clock that went back): it held
            // a unit of capacity already; its heap element is now stale.
            self.count.fetch_sub(1, Ordering::AcqRel);
        }
        shard.expiries.push(Reverse((expiry, key)));
        Some(Seen::First)
    }

    /// The check-and-insert itself (synchronous: it only takes shard locks).
    ///
    /// Atomic per key: the key's shard stays locked from the lookup to the insertion.
    /// When the store looks full, every shard is swept (one lock at a time, so two
    /// callers cannot deadlock) and the insertion is tried once more.
    pub fn check_and_insert_now(&self, key: ReplayKey, ttl: Duration) -> Result<Seen, ReplayError> {
        let now = self.clock.now();
        let i = usize::from(key.0[0]) % SHARDS;
        if let Some(seen) = self.try_insert(&mut self.shard(i), key, ttl, now) {
            return Ok(seen);
        }
        let mut oldest: Option<Instant> = None;
        for j in 0..SHARDS {
            let mut shard = self.shard(j);
            self.sweep(&mut shard, now);
            if let Some(e) = shard.oldest_expiry() {
                oldest = Some(oldest.map_or(e, |o| o.min(e)));
            }
        }
        if let Some(seen) = self.try_insert(&mut self.shard(i), key, ttl, now) {
            return Ok(seen);
        }
        let retry_after = oldest.map_or(Duration::from_secs(1), |e| {
            e.saturating_duration_since(now)
                .max(Duration::from_millis(1))
        });
        Err(ReplayError::Full { retry_after })
    }
}

impl ReplayStore for InMemoryReplayStore {
    fn check_and_insert(&self, key: ReplayKey, ttl: Duration) -> ReplayFuture<'_> {
        let outcome = self.check_and_insert_now(key, ttl);
        Box::pin(std::future::ready(outcome))
    }
}

#[cfg(feature = "blocking")]
impl BlockingReplayStore for InMemoryReplayStore {
    fn check_and_insert(&self, key: ReplayKey, ttl: Duration) -> Result<Seen, ReplayError> {
        self.check_and_insert_now(key, ttl)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Debug)]
    struct ManualClock(Mutex<Instant>);

    impl Clock for ManualClock {
        fn now(&self) -> Instant {
            *self.0.lock().unwrap()
        }
        fn system_time(&self) -> std::time::SystemTime {
            std::time::SystemTime::now()
        }
    }

    fn key(i: u32) -> ReplayKey {
        ReplayKey::new("jkt", &i.to_string())
    }

    #[test]
    fn full_store_refuses_then_frees_up() {
        let clock = Arc::new(ManualClock(Mutex::new(Instant::now())));
        let store = InMemoryReplayStore::with_clock(16, clock.clone());
        let ttl = Duration::from_secs(65);
        for i in 0..16 {
            assert_eq!(
                store.check_and_insert_now(key(i), ttl).unwrap(),
                Seen::First
            );
        }
        assert_eq!(store.len(), 16);
        // A replay is still recognised when full.
        assert_eq!(
            store.check_and_insert_now(key(3), ttl).unwrap(),
            Seen::Replayed
        );
        match store.check_and_insert_now(key(16), ttl) {
            Err(ReplayError::Full { retry_after }) => assert_eq!(retry_after, ttl),
            other => panic!("{other:?}"),
        }
        *clock.0.lock().unwrap() += Duration::from_secs(30);
        match store.check_and_insert_now(key(16), ttl) {
            Err(ReplayError::Full { retry_after }) => {
                assert_eq!(retry_after, Duration::from_secs(35))
            }
            other => panic!("{other:?}"),
        }
        *clock.0.lock().unwrap() += Duration::from_secs(35);
        assert_eq!(
            store.check_and_insert_now(key(16), ttl).unwrap(),
            Seen::First
        );
        assert_eq!(store.len(), 1);
        // The expired entries are forgotten: their proofs are new again (their `iat`
        // is then out of the window, which the proof check refuses).
        assert_eq!(
            store.check_and_insert_now(key(3), ttl).unwrap(),
            Seen::First
        );
    }

    #[test]
    fn reinsert_after_expiry_keeps_the_count() {
        let clock = Arc::new(ManualClock(Mutex::new(Instant::now())));
        let store = InMemoryReplayStore::with_clock(16, clock.clone());
        let ttl = Duration::from_secs(1);
        for round in 0..100 {
            assert_eq!(
                store.check_and_insert_now(key(7), ttl).unwrap(),
                Seen::First,
                "{round}"
            );
            assert_eq!(store.len(), 1);
            *clock.0.lock().unwrap() += Duration::from_secs(2);
        }
    }
}
