//! A fleet in one process: 200 async verifiers (each its own key-set cache, as separate
//! replicas would have) against one test issuer, on one `TestClock`, over real HTTP.
//!
//! - Scheduled refreshes: every replica sees traffic every tick (a fiftieth of the TTL)
//!   for 10 TTLs; key-set requests are counted per window of a tenth of the TTL. Without
//!   TTL jitter the replicas, started together, stay in step (every refresh of the fleet
//!   lands in one window); with `jwks_cache_ttl_jitter` of half the TTL the busiest window
//!   after the start carries at most 3× the mean.
//! - Unknown-kid flood: every replica gets tokens with unknown kids all the time; the
//!   issuer sees at most one request per replica per cooldown.
//! - Memory: what one warm verifier holds (the growth of the resident set over 200 warm
//!   verifiers, divided by 200; Linux only).
//!
//! No wall-clock time is asserted: the clock is the test clock, and the counts are
//! request counts. Run with `--nocapture` to see the per-window counts (the sizing table
//! in docs/jwks-lifecycle.md comes from them).

mod common;

use std::sync::Arc;
use std::time::{Duration, Instant};

use common::{config_for, runtime};
use serde_json::json;
use verifier_core::{AsyncJwtVerifier, ErrorCode};
use verifier_testkit::{TestClock, TestIssuer};

const REPLICAS: usize = 200;
const TTL: Duration = Duration::from_secs(100);
/// Ticks per TTL (traffic reaches every replica once per tick).
const TICKS: u32 = 50;
/// Windows per TTL.
const WINDOWS: u32 = 10;
const TTLS: u32 = 10;

struct Fleet {
    rt: tokio::runtime::Runtime,
    issuer: TestIssuer,
    clock: TestClock,
    replicas: Vec<AsyncJwtVerifier>,
}

impl Fleet {
    fn start(jitter: Duration, cooldown: Duration, ttl: Duration) -> Fleet {
        let issuer = TestIssuer::start();
        let clock = TestClock::new();
        let rt = runtime();
        let replicas = (0..REPLICAS)
            .map(|_| {
                let config = config_for(&issuer)
                    .clock(Arc::new(clock.clone()))
                    .jwks_cache_ttl(ttl)
                    .jwks_cache_ttl_jitter(jitter)
                    .jwks_refresh_cooldown(cooldown)
                    .build()
                    .unwrap();
                let _guard = rt.enter();
                AsyncJwtVerifier::new(config).unwrap()
            })
            .collect();
        Fleet {
            rt,
            issuer,
            clock,
            replicas,
        }
    }

    /// A valid token for a day of clock time.
    fn token(&self, kid: Option<&str>) -> String {
        let now = self.clock.unix_secs();
        let mut b = self.issuer.token();
        if let Some(kid) = kid {
            b = b.header("kid", json!(kid));
        }
        b.claim("iat", json!(now))
            .claim("nbf", json!(now))
            .claim("exp", json!(now + 86_400))
            .build()
    }

    /// Sends `token` to every replica, then waits (in real time) for the background
    /// refreshes it started. Returns the issuer's requests meanwhile.
    fn tick(&self, token: &str, expect: Result<(), ErrorCode>) -> usize {
        let before = self.issuer.fetch_count();
        self.rt.block_on(async {
            for v in &self.replicas {
                let got = v
                    .verify_access_token(token)
                    .await
                    .map(|_| ())
                    .map_err(|e| e.code());
                assert_eq!(got, expect);
            }
        });
        let deadline = Instant::now() + Duration::from_secs(20);
        while self.replicas.iter().any(|v| v.stats().refreshing) {
            assert!(
                Instant::now() < deadline,
                "background refreshes never ended"
            );
            self.rt.block_on(tokio::task::yield_now());
        }
        self.issuer.fetch_count() - before
    }
}

/// Requests per window of TTL/10 over `TTLS` TTLs of steady traffic.
fn scheduled_windows(jitter: Duration) -> Vec<usize> {
    let fleet = Fleet::start(jitter, Duration::from_secs(30), TTL);
    let token = fleet.token(None);
    let mut windows = vec![0; (TTLS * WINDOWS) as usize];
    for t in 0..TTLS * TICKS {
        let n = fleet.tick(&token, Ok(()));
        windows[(t / (TICKS / WINDOWS)) as usize] += n;
        fleet.clock.advance(TTL / TICKS);
    }
    windows
}

/// Busiest window after the first (the cold start), against the mean of all windows.
fn peak_over_mean(windows: &[usize]) -> f64 {
    let mean = windows.iter().sum::<usize>() as f64 / windows.len() as f64;
    *windows[1..].iter().max().unwrap() as f64 / mean
}

#[test]
fn replicas_started_together_refresh_in_step_without_jitter_and_spread_with_it() {
    let plain = scheduled_windows(Duration::ZERO);
    println!("no jitter, requests per TTL/10: {plain:?}");
    // Cold start: every replica fetches at once, then once per TTL, all in one window.
    assert_eq!(plain[0], REPLICAS);
    assert_eq!(plain.iter().sum::<usize>(), REPLICAS * TTLS as usize);
    assert!(peak_over_mean(&plain) > 3.0, "{plain:?}");

    let jittered = scheduled_windows(TTL / 2);
    let ratio = peak_over_mean(&jittered);
    println!(
        "jitter TTL/2, requests per TTL/10: {jittered:?}; total {}, busiest/mean {ratio:.2}",
        jittered.iter().sum::<usize>()
    );
    assert_eq!(jittered[0], REPLICAS);
    assert!(
        ratio <= 3.0,
        "busiest window {ratio:.2}× the mean: {jittered:?}"
    );
    // Jitter only shortens freshness, by a quarter on average: at most one request per
    // replica per TTL/2, and more than one per TTL.
    let total = jittered.iter().sum::<usize>();
    assert!(total > REPLICAS * TTLS as usize, "{total}");
    assert!(total <= REPLICAS * TTLS as usize * 2, "{total}");
}

#[test]
fn an_unknown_kid_flood_on_every_replica_costs_one_request_per_replica_per_cooldown() {
    let cooldown = Duration::from_secs(30);
    // A TTL far beyond the run: every request is a miss-driven refresh.
    let fleet = Fleet::start(Duration::ZERO, cooldown, Duration::from_secs(86_400));
    let good = fleet.token(None);
    assert_eq!(fleet.tick(&good, Ok(())), REPLICAS, "cold start");
    let cooldowns = 5;
    let ticks = 10;
    let mut per_cooldown = Vec::new();
    for c in 0..cooldowns {
        let mut n = 0;
        for t in 0..ticks {
            // A fresh unknown kid every tick: an attacker does not repeat itself.
            let bad = fleet.token(Some(&format!("unknown-{c}-{t}")));
            n += fleet.tick(&bad, Err(ErrorCode::KeyNotFound));
            fleet.clock.advance(cooldown / ticks);
        }
        per_cooldown.push(n);
    }
    println!("unknown-kid flood, requests per cooldown: {per_cooldown:?}");
    assert!(
        per_cooldown.iter().all(|n| *n <= REPLICAS),
        "{per_cooldown:?}"
    );
    // The bound is reached: each replica does refresh once per cooldown.
    assert!(
        per_cooldown[1..].iter().all(|n| *n == REPLICAS),
        "{per_cooldown:?}"
    );
}

/// The resident set size in bytes (`/proc/self/status`), when the platform has it.
fn rss() -> Option<usize> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = status.lines().find(|l| l.starts_with("VmRSS:"))?;
    let kb: usize = line.split_whitespace().nth(1)?.parse().ok()?;
    Some(kb * 1024)
}

#[test]
fn one_warm_verifier_holds_a_few_tens_of_kilobytes() {
    let issuer = TestIssuer::start();
    let rt = runtime();
    let token = issuer.token().build();
    let make = || {
        let _guard = rt.enter();
        let v = AsyncJwtVerifier::new(config_for(&issuer).build().unwrap()).unwrap();
        rt.block_on(v.verify_access_token(&token)).unwrap();
        v
    };
    // Warm the allocator and the runtime first, so they are not counted.
    let warm: Vec<AsyncJwtVerifier> = (0..10).map(|_| make()).collect();
    let Some(before) = rss() else {
        return; // no /proc: nothing to measure
    };
    let fleet: Vec<AsyncJwtVerifier> = (0..REPLICAS).map(|_| make()).collect();
    let after = rss().unwrap_or(before);
    let per = after.saturating_sub(before) / REPLICAS;
    println!("one warm verifier (one RS256 key) adds about {per} bytes to the resident set");
    assert!(per < 1024 * 1024, "{per} bytes per verifier");
    drop((warm, fleet));
}

#[test]
fn a_ttl_jitter_over_half_the_ttl_is_refused() {
    let issuer = TestIssuer::start();
    let build = |jitter| {
        config_for(&issuer)
            .jwks_cache_ttl(Duration::from_secs(60))
            .jwks_cache_ttl_jitter(jitter)
            .build()
    };
    assert!(build(Duration::from_secs(30)).is_ok());
    let err = build(Duration::from_secs(31)).unwrap_err();
    assert_eq!(err.field(), "jwks_cache_ttl_jitter");
}
