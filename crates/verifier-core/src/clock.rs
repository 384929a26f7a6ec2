//! The time source of a verifier, injectable so tests can move time by hand.

use std::time::{Instant, SystemTime, UNIX_EPOCH};

/// Where a verifier reads the time.
///
/// It drives every time decision: the time claims (`exp`, `nbf`, `iat`), the
/// verified-token cache, and the key-set lifecycle's freshness (TTL), stale serving
/// (`jwks_max_stale`), unknown-`kid` cooldown and retry backoff. It does **not** drive
/// network deadlines: a fetch's `jwks_timeout` and a waiter's bound stay real time.
///
/// The default is [`SystemClock`]; set another with
/// [`AuthConfigBuilder::clock`](crate::AuthConfigBuilder::clock). The two readings
/// must move together (a clock that advances one should advance the other by as much).
/// `verifier-testkit` has a manual `TestClock` for tests.
///
/// ```
/// use std::time::{Instant, SystemTime};
/// use verifier_core::Clock;
///
/// /// A clock an hour behind, to see what a skewed host would accept.
/// #[derive(Debug)]
/// struct HourBehind;
///
/// impl Clock for HourBehind {
///     fn now(&self) -> Instant {
///         Instant::now()
///     }
///     fn system_time(&self) -> SystemTime {
///         SystemTime::now() - std::time::Duration::from_secs(3600)
///     }
/// }
///
/// assert!(HourBehind.unix_time() < verifier_core::SystemClock.unix_time());
/// ```
pub trait Clock: Send + Sync + std::fmt::Debug {
    /// Monotonic now, for the lifecycle's ages and delays.
    fn now(&self) -> Instant;

    /// Wall-clock now, for the time claims.
    fn system_time(&self) -> SystemTime;

    /// Seconds since the Unix epoch (fractions kept), as the time claims are compared;
    /// 0 for a time before the epoch.
    fn unix_time(&self) -> f64 {
        self.system_time()
            .duration_since(UNIX_EPOCH)
            .map(|d| d.as_secs_f64())
            .unwrap_or(0.0)
    }
}

/// The real clock: [`Instant::now`] and [`SystemTime::now`]. The default.
///
/// ```
/// use verifier_core::{Clock, SystemClock};
/// assert!(SystemClock.unix_time() > 1_600_000_000.0);
/// ```
#[derive(Clone, Copy, Debug, Default)]
pub struct SystemClock;

impl Clock for SystemClock {
    #[inline]
    fn now(&self) -> Instant {
        Instant::now()
    }

    #[inline]
    fn system_time(&self) -> SystemTime {
        SystemTime::now()
    }
}
