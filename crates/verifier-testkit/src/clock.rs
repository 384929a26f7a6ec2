//! A manual clock for tests that need time to pass without sleeping.

use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use verifier_core::Clock;

/// A [`Clock`] that starts at the real now and moves only when told to.
///
/// Give it to a verifier with `AuthConfigBuilder::clock`, keep a clone, and
/// [`advance`](TestClock::advance) it to expire a key set's TTL, run past
/// `jwks_max_stale`, end a refresh cooldown or a backoff, or reach a token's `exp`,
/// all at once and deterministically. Clones share one time.
///
/// Only the verifier's decisions follow it: HTTP deadlines (`jwks_timeout`) stay real
/// time, and tokens from [`TestIssuer::token`](crate::TestIssuer::token) carry real
/// `iat`/`nbf`/`exp` (now + 300 s), so a test that advances the clock by minutes sets
/// them from [`unix_secs`](TestClock::unix_secs).
///
/// ```
/// use std::sync::Arc;
/// use std::time::Duration;
/// use serde_json::json;
/// use verifier_core::{AuthConfig, ErrorCode, JwtVerifier};
/// use verifier_testkit::{TestClock, TestIssuer, DEFAULT_AUDIENCE};
///
/// let issuer = TestIssuer::start();
/// let clock = TestClock::new();
/// let verifier = JwtVerifier::new(
///     AuthConfig::builder()
///         .issuer(issuer.issuer())
///         .audience(DEFAULT_AUDIENCE)
///         .jwks_url(issuer.jwks_url())
///         .clock(Arc::new(clock.clone()))
///         .build()
///         .unwrap(),
/// )
/// .unwrap();
/// let now = clock.unix_secs();
/// let token = issuer
///     .token()
///     .claim("iat", json!(now))
///     .claim("nbf", json!(now))
///     .claim("exp", json!(now + 60))
///     .build();
/// assert!(verifier.verify_access_token(&token).is_ok());
///
/// clock.advance(Duration::from_secs(61)); // past exp: expired, no sleep
/// let err = verifier.verify_access_token(&token).unwrap_err();
/// assert_eq!(err.code(), ErrorCode::TokenExpired);
/// ```
#[derive(Clone, Debug)]
pub struct TestClock {
    inner: Arc<Inner>,
}

#[derive(Debug)]
struct Inner {
    start: Instant,
    start_system: SystemTime,
    offset: Mutex<Duration>,
}

impl TestClock {
    /// A clock reading the real time now, and standing still from then on.
    pub fn new() -> TestClock {
        TestClock {
            inner: Arc::new(Inner {
                start: Instant::now(),
                start_system: SystemTime::now(),
                offset: Mutex::new(Duration::ZERO),
            }),
        }
    }

    /// Moves this clock and all its clones forward by `by`.
    ///
    /// ```
    /// use std::time::Duration;
    /// use verifier_core::Clock;
    /// let clock = verifier_testkit::TestClock::new();
    /// let before = clock.now();
    /// clock.clone().advance(Duration::from_secs(5));
    /// assert_eq!(clock.now() - before, Duration::from_secs(5));
    /// ```
    ///
    /// # Panics
    ///
    /// If the clock would leave what [`Instant`] can represent.
    pub fn advance(&self, by: Duration) {
        let mut offset = self.offset();
        let next = offset
            .checked_add(by)
            .filter(|next| self.inner.start.checked_add(*next).is_some())
            .expect("TestClock advanced out of range");
        *offset = next;
    }

    /// How far the clock has been advanced since it was made.
    ///
    /// ```
    /// use std::time::Duration;
    /// let clock = verifier_testkit::TestClock::new();
    /// clock.advance(Duration::from_millis(1500));
    /// assert_eq!(clock.elapsed(), Duration::from_millis(1500));
    /// ```
    pub fn elapsed(&self) -> Duration {
        *self.offset()
    }

    /// The clock's time in whole seconds since the Unix epoch, like [`crate::now`]: what
    /// to base `iat`, `nbf` and `exp` on.
    ///
    /// ```
    /// use std::time::Duration;
    /// let clock = verifier_testkit::TestClock::new();
    /// let t = clock.unix_secs();
    /// clock.advance(Duration::from_secs(90));
    /// assert_eq!(clock.unix_secs(), t + 90);
    /// ```
    pub fn unix_secs(&self) -> i64 {
        let since_epoch = self
            .system_time()
            .duration_since(UNIX_EPOCH)
            .expect("system clock is after 1970");
        i64::try_from(since_epoch.as_secs()).expect("time fits in i64")
    }

    fn offset(&self) -> std::sync::MutexGuard<'_, Duration> {
        self.inner
            .offset
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
    }
}

impl Default for TestClock {
    fn default() -> Self {
        TestClock::new()
    }
}

impl Clock for TestClock {
    fn now(&self) -> Instant {
        self.inner.start + *self.offset()
    }

    fn system_time(&self) -> SystemTime {
        self.inner.start_system + *self.offset()
    }
}
