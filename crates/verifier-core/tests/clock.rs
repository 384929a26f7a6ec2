//! The injectable clock: key-set freshness, stale serving, cooldown, backoff and the time
//! claims move with a `TestClock`, over real HTTP, for both flavours, without sleeping.
//! (The real clock keeps its own real-time tests in `lifecycle.rs`.)

mod common;

use std::sync::Arc;
use std::time::{Duration, Instant, UNIX_EPOCH};

use common::{config_for, runtime};
use serde_json::json;
use verifier_core::{
    AsyncJwtVerifier, AuthConfigBuilder, AuthError, Claims, Clock, ErrorCode, JwksStats,
    JwtVerifier,
};
use verifier_testkit::{Alg, Fault, TestClock, TestIssuer, TestKey};

/// One verifier of either flavour.
enum Verifier {
    Async(tokio::runtime::Runtime, AsyncJwtVerifier),
    Blocking(JwtVerifier),
}

impl Verifier {
    fn verify(&self, token: &str) -> Result<Claims, AuthError> {
        match self {
            Verifier::Async(rt, v) => rt.block_on(v.verify_access_token(token)),
            Verifier::Blocking(v) => v.verify_access_token(token),
        }
    }

    fn code(&self, token: &str) -> ErrorCode {
        match self.verify(token) {
            Ok(claims) => panic!("token accepted: {claims:?}"),
            Err(err) => err.code(),
        }
    }

    fn stats(&self) -> JwksStats {
        match self {
            Verifier::Async(_, v) => v.stats(),
            Verifier::Blocking(v) => v.stats(),
        }
    }

    /// Waits (in real time, without sleeping) for a background refresh to end: the
    /// async flavour runs it as a task; the blocking one has already run it inline.
    fn settle(&self) {
        let deadline = Instant::now() + Duration::from_secs(5);
        while self.stats().refreshing {
            assert!(Instant::now() < deadline, "background refresh never ended");
            std::thread::yield_now();
        }
    }
}

/// Runs `scenario` once per flavour, each with a fresh issuer and clock.
fn for_both(
    configure: impl Fn(AuthConfigBuilder) -> AuthConfigBuilder,
    scenario: impl Fn(&str, &TestIssuer, &TestClock, &Verifier),
) {
    for name in ["async", "blocking"] {
        let issuer = TestIssuer::start();
        let clock = TestClock::new();
        let config = configure(config_for(&issuer).clock(Arc::new(clock.clone())))
            .build()
            .unwrap();
        let verifier = match name {
            "async" => Verifier::Async(runtime(), AsyncJwtVerifier::new(config).unwrap()),
            _ => Verifier::Blocking(JwtVerifier::new(config).unwrap()),
        };
        scenario(name, &issuer, &clock, &verifier);
    }
}

/// A valid token whose times come from `clock`, good for a day of clock time.
fn token(issuer: &TestIssuer, key: &TestKey, clock: &TestClock) -> String {
    let now = clock.unix_secs();
    issuer
        .token_for(key)
        .claim("iat", json!(now))
        .claim("nbf", json!(now))
        .claim("exp", json!(now + 86_400))
        .build()
}

fn unknown_kid(issuer: &TestIssuer, kid: &str, clock: &TestClock) -> String {
    let now = clock.unix_secs();
    issuer
        .token()
        .header("kid", json!(kid))
        .claim("iat", json!(now))
        .claim("nbf", json!(now))
        .claim("exp", json!(now + 86_400))
        .build()
}

/// How far `clock` is from the whole second `secs` since the epoch.
fn until(clock: &TestClock, secs: i64) -> Duration {
    (UNIX_EPOCH + Duration::from_secs(secs as u64))
        .duration_since(clock.system_time())
        .expect("target is ahead of the clock")
}

const MS: Duration = Duration::from_millis(1);

#[test]
fn a_fresh_key_set_is_not_refetched_and_one_past_its_ttl_is_refreshed_in_the_background() {
    for_both(
        |b| b.jwks_cache_ttl(Duration::from_secs(60)),
        |name, issuer, clock, v| {
            let tok = token(issuer, &issuer.default_key(), clock);
            v.verify(&tok).unwrap();
            clock.advance(Duration::from_secs(60));
            v.verify(&tok).unwrap();
            assert_eq!(v.stats().fetches, 1, "{name}: refetched within the TTL");
            assert!(!v.stats().serving_stale, "{name}");

            // Rotated at the issuer: the old set still serves past the TTL while one
            // background refresh picks up the new one.
            let new = TestKey::generate(Alg::RS256, "next");
            issuer.set_keys(&[issuer.default_key(), new.clone()]);
            clock.advance(MS);
            assert!(v.stats().serving_stale, "{name}");
            v.verify(&tok).unwrap();
            assert_eq!(v.stats().fetches, 2, "{name}: one background refresh");
            v.settle();
            assert_eq!(issuer.fetch_count(), 2, "{name}");
            assert!(!v.stats().serving_stale, "{name}");
            assert_eq!(v.stats().key_count, 2, "{name}");
            v.verify(&token(issuer, &new, clock)).unwrap();
            assert_eq!(v.stats().fetches, 2, "{name}");
        },
    );
}

#[test]
fn stale_keys_serve_up_to_max_stale_then_fail_closed_then_recover() {
    for_both(
        |b| {
            b.jwks_cache_ttl(Duration::from_secs(60))
                .jwks_max_stale(Duration::from_secs(120))
                .jwks_backoff_initial(Duration::from_secs(1))
                .jwks_backoff_max(Duration::from_secs(2))
        },
        |name, issuer, clock, v| {
            let tok = token(issuer, &issuer.default_key(), clock);
            v.verify(&tok).unwrap();
            issuer.set_fault(Some(Fault::Status(500)));

            // Past the TTL: served stale; the background refresh fails.
            clock.advance(Duration::from_secs(61));
            v.verify(&tok).unwrap();
            v.settle();
            let stats = v.stats();
            assert!(stats.serving_stale, "{name}");
            assert_eq!(stats.consecutive_failures, 1, "{name}");

            // Up to TTL + max_stale exactly: still served (retrying after each backoff).
            clock.advance(Duration::from_secs(119));
            v.verify(&tok).unwrap();
            v.settle();
            assert_eq!(v.stats().consecutive_failures, 2, "{name}");

            // Past it: fails closed with 503, at once while the last failure backs off
            // (1-2 s here), with Retry-After counting down and no request made.
            clock.advance(MS);
            let err = v.verify(&tok).unwrap_err();
            assert_eq!(err.code(), ErrorCode::JwksFetchFailed, "{name}");
            assert_eq!(err.status().as_u16(), 503);
            let retry = err.retry_after().expect("Retry-After");
            assert!(retry <= Duration::from_secs(2), "{name}: {retry:?}");
            clock.advance(retry / 2);
            let err = v.verify(&tok).unwrap_err();
            assert_eq!(err.code(), ErrorCode::JwksFetchFailed, "{name}");
            assert_eq!(err.retry_after(), Some(retry - retry / 2), "{name}");
            assert_eq!(v.stats().fetches, 3, "{name}: fetched during backoff");

            // Recovery: the first need after the backoff fetches, and succeeds.
            issuer.set_fault(None);
            clock.advance(retry);
            v.verify(&tok).unwrap();
            let stats = v.stats();
            assert_eq!(stats.consecutive_failures, 0, "{name}");
            assert!(!stats.serving_stale, "{name}");
            assert_eq!(issuer.fetch_count(), 4, "{name}");
        },
    );
}

#[test]
fn max_stale_zero_fails_closed_at_the_ttl() {
    for_both(
        |b| {
            b.jwks_cache_ttl(Duration::from_secs(60))
                .jwks_max_stale(Duration::ZERO)
        },
        |name, issuer, clock, v| {
            let tok = token(issuer, &issuer.default_key(), clock);
            v.verify(&tok).unwrap();
            issuer.set_fault(Some(Fault::Status(503)));
            clock.advance(Duration::from_secs(60));
            v.verify(&tok).unwrap();
            clock.advance(MS);
            assert_eq!(v.code(&tok), ErrorCode::JwksFetchFailed, "{name}");
        },
    );
}

#[test]
fn an_unknown_kid_refreshes_once_per_cooldown() {
    for_both(
        |b| b.jwks_refresh_cooldown(Duration::from_secs(30)),
        |name, issuer, clock, v| {
            v.verify(&token(issuer, &issuer.default_key(), clock))
                .unwrap();
            // Right after a fetch: inside the cooldown, refused with no fetch.
            assert_eq!(
                v.code(&unknown_kid(issuer, "a", clock)),
                ErrorCode::KeyNotFound
            );
            clock.advance(Duration::from_secs(30) - MS);
            assert_eq!(
                v.code(&unknown_kid(issuer, "b", clock)),
                ErrorCode::KeyNotFound
            );
            assert_eq!(
                issuer.fetch_count(),
                1,
                "{name}: fetched inside the cooldown"
            );

            // Cooldown over, but the token is expired on the clock (not in real time):
            // the cheap checks read the clock, so no refresh.
            clock.advance(MS);
            let expired = issuer
                .token()
                .header("kid", json!("x"))
                .claim("exp", json!(clock.unix_secs() - 1))
                .build();
            assert_eq!(v.code(&expired), ErrorCode::KeyNotFound, "{name}");
            assert_eq!(
                issuer.fetch_count(),
                1,
                "{name}: refreshed for an expired token"
            );

            // A plausible token: one refresh, then quiet again.
            assert_eq!(
                v.code(&unknown_kid(issuer, "c", clock)),
                ErrorCode::KeyNotFound
            );
            assert_eq!(issuer.fetch_count(), 2, "{name}");
            assert_eq!(
                v.code(&unknown_kid(issuer, "d", clock)),
                ErrorCode::KeyNotFound
            );
            assert_eq!(issuer.fetch_count(), 2, "{name}");

            // A newly published key is picked up by the next allowed refresh.
            let new = TestKey::generate(Alg::RS256, "new");
            issuer.add_key(&new);
            let new_token = token(issuer, &new, clock);
            assert_eq!(v.code(&new_token), ErrorCode::KeyNotFound, "{name}");
            clock.advance(Duration::from_secs(30));
            v.verify(&new_token)
                .unwrap_or_else(|e| panic!("{name}: {e:?}"));
            assert_eq!(issuer.fetch_count(), 3, "{name}");
        },
    );
}

#[test]
fn failed_fetches_back_off_exponentially_with_jitter_up_to_the_maximum() {
    for_both(
        |b| {
            b.jwks_backoff_initial(Duration::from_secs(8))
                .jwks_backoff_max(Duration::from_secs(20))
        },
        |name, issuer, clock, v| {
            issuer.set_fault(Some(Fault::Status(500)));
            let tok = token(issuer, &issuer.default_key(), clock);
            // Equal jitter: each delay is in [full / 2, full], full = 8 s, 16 s, then 20 s.
            let bounds = [(4, 8), (8, 16), (10, 20), (10, 20)];
            for (attempt, (low, high)) in bounds.into_iter().enumerate() {
                let err = v.verify(&tok).unwrap_err();
                assert_eq!(err.code(), ErrorCode::JwksFetchFailed, "{name}");
                assert_eq!(issuer.fetch_count(), attempt + 1, "{name}");
                let retry = err.retry_after().expect("Retry-After");
                assert!(
                    (Duration::from_secs(low)..=Duration::from_secs(high)).contains(&retry),
                    "{name}: attempt {attempt}: {retry:?} not in [{low}, {high}] s"
                );
                // Just before the retry time: refused at once, without a request.
                clock.advance(retry - MS);
                let err = v.verify(&tok).unwrap_err();
                assert_eq!(err.retry_after(), Some(MS), "{name}");
                assert_eq!(issuer.fetch_count(), attempt + 1, "{name}");
                clock.advance(MS);
            }
            // Recovered: the next attempt succeeds and clears the failures.
            issuer.set_fault(None);
            v.verify(&tok).unwrap();
            assert_eq!(v.stats().consecutive_failures, 0, "{name}");
            assert_eq!(v.stats().failures, 4, "{name}");
        },
    );
}

#[test]
fn exp_and_nbf_boundaries_follow_the_clock() {
    for_both(
        |b| b.jwks_cache_ttl(Duration::from_secs(86_400)),
        |name, issuer, clock, v| {
            let now = clock.unix_secs();
            let (nbf, exp) = (now + 100, now + 200);
            let tok = issuer
                .token()
                .claim("iat", json!(now))
                .claim("nbf", json!(nbf))
                .claim("exp", json!(exp))
                .build();
            assert_eq!(v.code(&tok), ErrorCode::TokenNotYetValid, "{name}");
            clock.advance(until(clock, nbf) - MS);
            assert_eq!(v.code(&tok), ErrorCode::TokenNotYetValid, "{name}");
            clock.advance(MS);
            v.verify(&tok)
                .unwrap_or_else(|e| panic!("{name}: at nbf: {e:?}"));
            clock.advance(until(clock, exp) - MS);
            v.verify(&tok)
                .unwrap_or_else(|e| panic!("{name}: before exp: {e:?}"));
            clock.advance(MS);
            assert_eq!(v.code(&tok), ErrorCode::TokenExpired, "{name}");

            // `iat` in the clock's future is refused too.
            let now = clock.unix_secs();
            let future = issuer
                .token()
                .claim("iat", json!(now + 10))
                .claim("nbf", json!(now))
                .claim("exp", json!(now + 100))
                .build();
            assert_eq!(v.code(&future), ErrorCode::TokenNotYetValid, "{name}");
            clock.advance(Duration::from_secs(10));
            v.verify(&future).unwrap();
        },
    );
}

#[test]
fn leeway_widens_the_boundaries_on_the_clock() {
    for_both(
        |b| {
            b.leeway(Duration::from_secs(5))
                .jwks_cache_ttl(Duration::from_secs(86_400))
        },
        |name, issuer, clock, v| {
            let now = clock.unix_secs();
            let (nbf, exp) = (now + 100, now + 200);
            let tok = issuer
                .token()
                .claim("iat", json!(now))
                .claim("nbf", json!(nbf))
                .claim("exp", json!(exp))
                .build();
            clock.advance(until(clock, nbf - 5) - MS);
            assert_eq!(v.code(&tok), ErrorCode::TokenNotYetValid, "{name}");
            clock.advance(MS);
            v.verify(&tok).unwrap();
            clock.advance(until(clock, exp + 5) - MS);
            v.verify(&tok).unwrap();
            clock.advance(MS);
            assert_eq!(v.code(&tok), ErrorCode::TokenExpired, "{name}");
        },
    );
}

#[test]
fn the_verified_token_cache_never_serves_a_token_past_its_exp() {
    for_both(
        |b| {
            b.verified_token_cache(16)
                .jwks_cache_ttl(Duration::from_secs(86_400))
        },
        |name, issuer, clock, v| {
            let now = clock.unix_secs();
            let tok = issuer
                .token()
                .claim("iat", json!(now))
                .claim("nbf", json!(now))
                .claim("exp", json!(now + 60))
                .build();
            v.verify(&tok).unwrap();
            v.verify(&tok).unwrap();
            clock.advance(until(clock, now + 60));
            assert_eq!(v.code(&tok), ErrorCode::TokenExpired, "{name}");
        },
    );
}

#[test]
fn stats_report_last_success_on_the_clock() {
    for_both(
        |b| b,
        |name, issuer, clock, v| {
            clock.advance(Duration::from_secs(3600));
            v.verify(&token(issuer, &issuer.default_key(), clock))
                .unwrap();
            assert_eq!(v.stats().last_success, Some(clock.system_time()), "{name}");
        },
    );
}
