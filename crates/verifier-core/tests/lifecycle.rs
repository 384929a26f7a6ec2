//! docs/jwks-lifecycle.md: the JWKS lifecycle against a misbehaving issuer, for both flavours.
//! Durations are configured in milliseconds; no assertion depends on wall-clock speed.

mod common;

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use common::{async_verifier, config_for, runtime};
use serde_json::json;
use verifier_core::{
    Algorithm, AsyncJwtVerifier, AuthConfig, AuthError, Claims, ErrorCode, JwksStats, JwtVerifier,
    SigningKey,
};
use verifier_testkit::{Alg, Fault, TestIssuer, TestKey};

/// The operations every scenario needs, implemented by both flavours.
trait Flavour {
    fn verify(&self, token: &str) -> Result<Claims, AuthError>;
    fn keys(&self, refresh: bool) -> Result<Vec<SigningKey>, AuthError>;
    fn key(&self, kid: &str, refresh: bool) -> Result<SigningKey, AuthError>;
    fn health(&self, refresh: bool) -> bool;
    fn stats(&self) -> JwksStats;
}

struct Async {
    rt: tokio::runtime::Runtime,
    v: AsyncJwtVerifier,
}

impl Flavour for Async {
    fn verify(&self, token: &str) -> Result<Claims, AuthError> {
        self.rt.block_on(self.v.verify_access_token(token))
    }
    fn keys(&self, refresh: bool) -> Result<Vec<SigningKey>, AuthError> {
        self.rt.block_on(self.v.get_signing_keys(refresh))
    }
    fn key(&self, kid: &str, refresh: bool) -> Result<SigningKey, AuthError> {
        self.rt.block_on(self.v.get_signing_key(kid, refresh))
    }
    fn health(&self, refresh: bool) -> bool {
        self.rt.block_on(self.v.healthcheck(refresh))
    }
    fn stats(&self) -> JwksStats {
        self.v.stats()
    }
}

impl Flavour for JwtVerifier {
    fn verify(&self, token: &str) -> Result<Claims, AuthError> {
        self.verify_access_token(token)
    }
    fn keys(&self, refresh: bool) -> Result<Vec<SigningKey>, AuthError> {
        self.get_signing_keys(refresh)
    }
    fn key(&self, kid: &str, refresh: bool) -> Result<SigningKey, AuthError> {
        self.get_signing_key(kid, refresh)
    }
    fn health(&self, refresh: bool) -> bool {
        self.healthcheck(refresh)
    }
    fn stats(&self) -> JwksStats {
        JwtVerifier::stats(self)
    }
}

fn flavours(config: &AuthConfig) -> Vec<(&'static str, Box<dyn Flavour>)> {
    let (rt, v) = async_verifier(config.clone());
    vec![
        ("async", Box::new(Async { rt, v })),
        (
            "blocking",
            Box::new(JwtVerifier::new(config.clone()).unwrap()),
        ),
    ]
}

/// Runs `scenario` once per flavour, each against a fresh issuer.
fn for_both(
    make_issuer: impl Fn() -> TestIssuer,
    configure: impl Fn(&TestIssuer) -> AuthConfig,
    scenario: impl Fn(&str, &TestIssuer, &dyn Flavour),
) {
    for name in ["async", "blocking"] {
        let issuer = make_issuer();
        let config = configure(&issuer);
        let (_, flavour) = flavours(&config)
            .into_iter()
            .find(|(n, _)| *n == name)
            .unwrap();
        scenario(name, &issuer, flavour.as_ref());
    }
}

fn wait_until(what: &str, limit: Duration, mut cond: impl FnMut() -> bool) {
    let deadline = Instant::now() + limit;
    while !cond() {
        assert!(Instant::now() < deadline, "timed out waiting for {what}");
        std::thread::sleep(Duration::from_millis(5));
    }
}

#[test]
fn readiness_apis() {
    for_both(
        TestIssuer::start,
        |i| config_for(i).build().unwrap(),
        |name, issuer, v| {
            let kid = issuer.default_key().kid().to_owned();
            let keys = v.keys(false).unwrap();
            assert_eq!(
                keys.iter().map(|k| k.kid()).collect::<Vec<_>>(),
                [kid.as_str()],
                "{name}"
            );
            v.keys(false).unwrap();
            assert_eq!(issuer.fetch_count(), 1, "{name}: cached read fetched");
            v.keys(true).unwrap();
            assert_eq!(issuer.fetch_count(), 2, "{name}: forced refresh");
            assert!(v.health(false));
            assert_eq!(issuer.fetch_count(), 2);
            assert!(v.health(true));
            assert_eq!(issuer.fetch_count(), 3);

            // Same kid, new material: a forced refresh sees it.
            let before = v.key(&kid, false).unwrap();
            let rotated = TestKey::generate(Alg::RS256, kid.clone());
            issuer.set_keys(std::slice::from_ref(&rotated));
            assert_eq!(
                v.key(&kid, false).unwrap().jwk(),
                before.jwk(),
                "{name}: cached"
            );
            let after = v.key(&kid, true).unwrap();
            assert_eq!(after.jwk()["n"], rotated.public_jwk()["n"]);
            assert_ne!(after.jwk()["n"], before.jwk()["n"]);
            // Verification follows the new material at once.
            v.verify(&issuer.token_for(&rotated).build()).unwrap();

            assert_eq!(
                v.key("missing-key", true).unwrap_err().code(),
                ErrorCode::KeyNotFound
            );
            issuer.set_fault(Some(Fault::Status(500)));
            assert!(!v.health(true), "{name}: healthcheck true on failure");
            issuer.set_jwks(Some(json!({"keys": "not-a-list"})));
            issuer.set_fault(None);
            assert!(
                !v.health(true),
                "{name}: healthcheck true on malformed jwks"
            );
            let stats = v.stats();
            assert!(
                stats.failures >= 2 && stats.key_count == 1,
                "{name}: {stats:?}"
            );
        },
    );
}

#[test]
fn fetch_failures_map_to_codes() {
    let issuer = TestIssuer::start();
    let cases: Vec<(Option<Fault>, Option<serde_json::Value>, ErrorCode)> = vec![
        (Some(Fault::Status(500)), None, ErrorCode::JwksFetchFailed),
        (Some(Fault::Status(404)), None, ErrorCode::JwksFetchFailed),
        (Some(Fault::Status(302)), None, ErrorCode::JwksFetchFailed),
        (
            Some(Fault::DropConnection),
            None,
            ErrorCode::JwksFetchFailed,
        ),
        (
            Some(Fault::Body(b"not json".to_vec())),
            None,
            ErrorCode::JwksError,
        ),
        (
            Some(Fault::Body(b"[1,2]".to_vec())),
            None,
            ErrorCode::JwksError,
        ),
        (None, Some(json!({"keys": {}})), ErrorCode::JwksError),
        // A well-formed set with no usable key is no longer a failed fetch: see
        // `a_key_set_without_usable_keys_revokes` (issue 10 item 2).
        (
            Some(Fault::DeclaredLength(5 * 1024 * 1024)),
            None,
            ErrorCode::JwksError,
        ),
    ];
    for (fault, doc, code) in cases {
        issuer.set_fault(fault.clone());
        issuer.set_jwks(doc.clone());
        let config = config_for(&issuer).build().unwrap();
        for (name, v) in flavours(&config) {
            let err = v.verify(&issuer.token().build()).unwrap_err();
            assert_eq!(err.code(), code, "{name} {fault:?} {doc:?}");
            assert_eq!(err.status().as_u16(), 503);
            assert!(
                std::error::Error::source(&err).is_some(),
                "{name}: cause kept"
            );
        }
    }
    // Unreachable endpoint.
    let config = AuthConfig::builder()
        .issuer(issuer.issuer())
        .audience(verifier_testkit::DEFAULT_AUDIENCE)
        .jwks_url("http://127.0.0.1:1/jwks.json")
        .build()
        .unwrap();
    for (name, v) in flavours(&config) {
        assert_eq!(
            v.verify(&issuer.token().build()).unwrap_err().code(),
            ErrorCode::JwksFetchFailed,
            "{name}"
        );
        assert!(!v.health(false));
    }
}

#[test]
fn body_caps() {
    let issuer = TestIssuer::start();
    let big =
        json!({"keys": [issuer.default_key().public_jwk()], "pad": "x".repeat(4096)}).to_string();
    for fault in [
        Fault::Body(big.clone().into_bytes()),
        Fault::BodyWithoutLength(big.clone().into_bytes()),
    ] {
        issuer.set_fault(Some(fault.clone()));
        let config = config_for(&issuer).jwks_max_bytes(2048).build().unwrap();
        for (name, v) in flavours(&config) {
            let err = v.verify(&issuer.token().build()).unwrap_err();
            assert_eq!(err.code(), ErrorCode::JwksError, "{name} {fault:?}");
            assert!(
                std::error::Error::source(&err)
                    .unwrap()
                    .to_string()
                    .contains("exceeds"),
                "{name}"
            );
        }
        // The same body under a larger cap is fine.
        let config = config_for(&issuer).jwks_max_bytes(8192).build().unwrap();
        for (name, v) in flavours(&config) {
            v.verify(&issuer.token().build())
                .unwrap_or_else(|e| panic!("{name} {fault:?}: {e:?}"));
        }
    }
}

#[test]
fn tolerant_key_set_parsing() {
    let good = TestKey::generate(Alg::RS256, "good");
    let short = TestKey::rsa(1024, "short");
    let ec = TestKey::generate(Alg::ES256, "ec");
    let mut bad_ec = ec.public_jwk();
    bad_ec["kid"] = json!("bad-ec");
    bad_ec["x"] = json!("AAAA");
    let mut enc = TestKey::generate(Alg::RS256, "enc").public_jwk();
    enc["use"] = json!("enc");
    let doc = json!({"keys": [
        good.public_jwk(),
        {"kty": "OKP", "crv": "Ed448", "kid": "ed448", "x": "AAAA"},
        {"kty": "XYZ", "kid": "unknown-kty"},
        enc,
        bad_ec,
        short.public_jwk(),
    ]});
    for_both(
        || {
            let issuer = TestIssuer::start_with_keys(std::slice::from_ref(&good));
            issuer.set_jwks(Some(doc.clone()));
            issuer
        },
        |i| config_for(i).build().unwrap(),
        |name, issuer, v| {
            v.verify(&issuer.token_for(&good).build())
                .unwrap_or_else(|e| panic!("{name}: {e:?}"));
            let stats = v.stats();
            assert_eq!(stats.skipped_entries, 4, "{name}: {stats:?}");
            assert_eq!(stats.key_count, 2, "{name}");
            let err = v.verify(&issuer.token_for(&short).build()).unwrap_err();
            assert_eq!(err.code(), ErrorCode::InvalidToken, "{name}");
            assert!(v
                .keys(false)
                .unwrap()
                .iter()
                .any(|k| k.kid() == "short" && k.is_short_rsa()));
        },
    );
}

#[test]
fn max_cached_keys_and_duplicates() {
    let keys: Vec<TestKey> = (0..4)
        .map(|i| TestKey::generate(Alg::ES256, format!("k{i}")))
        .collect();
    let dup = TestKey::generate(Alg::ES256, "k0");
    for_both(
        || {
            let issuer = TestIssuer::start_with_keys(&keys);
            let mut doc = issuer.jwks();
            doc["keys"]
                .as_array_mut()
                .unwrap()
                .insert(1, dup.public_jwk());
            issuer.set_jwks(Some(doc));
            issuer
        },
        |i| {
            config_for(i)
                .allowed_algs([verifier_core::Algorithm::ES256])
                .jwks_max_cached_keys(2)
                .build()
                .unwrap()
        },
        |name, issuer, v| {
            // First k0 wins over the duplicate; only two keys kept.
            v.verify(&issuer.token_for(&keys[0]).build())
                .unwrap_or_else(|e| panic!("{name}: {e:?}"));
            assert_eq!(
                v.verify(&issuer.token_for(&dup).build())
                    .unwrap_err()
                    .code(),
                ErrorCode::InvalidSignature
            );
            v.verify(&issuer.token_for(&keys[1]).build()).unwrap();
            assert_eq!(
                v.verify(&issuer.token_for(&keys[3]).build())
                    .unwrap_err()
                    .code(),
                ErrorCode::KeyNotFound
            );
            assert_eq!(v.stats().key_count, 2);
        },
    );
}

#[test]
fn unknown_kid_cooldown_and_cheap_checks() {
    for_both(
        TestIssuer::start,
        |i| {
            config_for(i)
                .jwks_refresh_cooldown(Duration::from_millis(1000))
                .build()
                .unwrap()
        },
        |name, issuer, v| {
            v.verify(&issuer.token().build()).unwrap();
            assert_eq!(issuer.fetch_count(), 1);
            // Inside the cooldown: refused at once, no fetch.
            let unknown = |kid: &str| issuer.token().header("kid", json!(kid)).build();
            assert_eq!(
                v.verify(&unknown("a")).unwrap_err().code(),
                ErrorCode::KeyNotFound
            );
            assert_eq!(
                issuer.fetch_count(),
                1,
                "{name}: fetched inside the cooldown"
            );
            std::thread::sleep(Duration::from_millis(1050));
            // Past the cooldown, but failing the cheap checks: no fetch.
            let wrong_iss = issuer
                .token()
                .header("kid", json!("b"))
                .claim("iss", json!("https://evil/"))
                .build();
            let expired = issuer
                .token()
                .header("kid", json!("c"))
                .claim("exp", json!(verifier_testkit::now() - 10))
                .build();
            let wrong_aud = issuer
                .token()
                .header("kid", json!("d"))
                .claim("aud", json!("other"))
                .build();
            for t in [&wrong_iss, &expired, &wrong_aud] {
                assert_eq!(v.verify(t).unwrap_err().code(), ErrorCode::KeyNotFound);
            }
            assert_eq!(
                issuer.fetch_count(),
                1,
                "{name}: a token failing cheap checks caused a fetch"
            );
            // Plausible token: one refresh.
            assert_eq!(
                v.verify(&unknown("e")).unwrap_err().code(),
                ErrorCode::KeyNotFound
            );
            assert_eq!(issuer.fetch_count(), 2, "{name}");
            assert_eq!(
                v.verify(&unknown("f")).unwrap_err().code(),
                ErrorCode::KeyNotFound
            );
            assert_eq!(issuer.fetch_count(), 2, "{name}");
        },
    );
}

#[test]
fn rotation() {
    for_both(
        TestIssuer::start,
        |i| {
            config_for(i)
                .jwks_refresh_cooldown(Duration::from_millis(100))
                .build()
                .unwrap()
        },
        |name, issuer, v| {
            let old = issuer.default_key();
            v.verify(&issuer.token().build()).unwrap();
            std::thread::sleep(Duration::from_millis(150));
            // A newly published key, used at once: accepted after one refresh.
            let new = TestKey::generate(Alg::RS256, "new");
            issuer.set_keys(std::slice::from_ref(&new));
            v.verify(&issuer.token_for(&new).build())
                .unwrap_or_else(|e| panic!("{name}: {e:?}"));
            assert_eq!(issuer.fetch_count(), 2);
            // The removed key stopped verifying with that same refresh.
            let err = v.verify(&issuer.token_for(&old).build()).unwrap_err();
            assert_eq!(err.code(), ErrorCode::KeyNotFound, "{name}");
        },
    );
}

fn outage_config(issuer: &TestIssuer) -> AuthConfig {
    config_for(issuer)
        .jwks_cache_ttl(Duration::from_millis(300))
        .jwks_max_stale(Duration::from_millis(900))
        .jwks_backoff_initial(Duration::from_millis(100))
        .jwks_backoff_max(Duration::from_millis(200))
        .jwks_timeout(Duration::from_millis(300))
        .build()
        .unwrap()
}

#[test]
fn outage_serves_stale_then_fails_closed_then_recovers() {
    // 500s, dropped connections, and responses slower than the 300 ms timeout (`None`).
    for fault in [Some(Fault::Status(500)), Some(Fault::DropConnection), None] {
        for_both(TestIssuer::start, outage_config, |name, issuer, v| {
            let token = issuer.token().build();
            v.verify(&token).unwrap();
            let warm = Instant::now();
            match &fault {
                Some(fault) => issuer.set_fault(Some(fault.clone())),
                None => issuer.set_delay(Duration::from_secs(2)),
            }
            // Hammer through TTL + max_stale: valid tokens keep verifying while stale.
            let mut served_stale = false;
            let mut ok_after_failure = false;
            let mut first_failure: Option<Instant> = None;
            while warm.elapsed() < Duration::from_millis(1600) {
                match v.verify(&token) {
                    Ok(_) => {
                        ok_after_failure |= first_failure.is_some();
                        served_stale |= warm.elapsed() > Duration::from_millis(350);
                    }
                    Err(e) => {
                        assert_eq!(e.code(), ErrorCode::JwksFetchFailed, "{name} {fault:?}");
                        assert_eq!(e.status().as_u16(), 503);
                        first_failure.get_or_insert(Instant::now());
                    }
                }
                std::thread::sleep(Duration::from_millis(10));
            }
            assert!(served_stale, "{name} {fault:?}: stale keys never served");
            let failed_at = first_failure.expect("never failed closed");
            // The set was fetched just before `warm`, so TTL + max_stale ends a little
            // before warm + 1200 ms.
            assert!(
                failed_at.duration_since(warm) >= Duration::from_millis(1100),
                "{name}: failed before TTL + max_stale"
            );
            assert!(
                !ok_after_failure,
                "{name}: accepted again after failing closed"
            );
            // Attempts follow the backoff: about 1.6 s of outage with 100-200 ms delays
            // is at most ~16 attempts, not one per request (~150 requests were made).
            let attempts = issuer.fetch_count() - 1;
            assert!(
                (2..=20).contains(&attempts),
                "{name} {fault:?}: {attempts} attempts"
            );
            assert!(v.stats().consecutive_failures >= 2);
            // Recovery.
            issuer.set_fault(None);
            issuer.set_delay(Duration::ZERO);
            wait_until("recovery", Duration::from_secs(3), || {
                v.verify(&token).is_ok()
            });
            assert_eq!(v.stats().consecutive_failures, 0);
        });
    }
}

#[test]
fn slow_responses_are_timeouts() {
    for_both(TestIssuer::start, outage_config, |name, issuer, v| {
        issuer.set_delay(Duration::from_millis(1500));
        let err = v.verify(&issuer.token().build()).unwrap_err();
        assert_eq!(err.code(), ErrorCode::JwksFetchFailed, "{name}");
        issuer.set_delay(Duration::ZERO);
    });
}

#[test]
fn max_stale_zero_fails_closed_at_ttl() {
    for_both(
        TestIssuer::start,
        |i| {
            config_for(i)
                .jwks_cache_ttl(Duration::from_millis(200))
                .jwks_max_stale(Duration::ZERO)
                .build()
                .unwrap()
        },
        |name, issuer, v| {
            let token = issuer.token().build();
            v.verify(&token).unwrap();
            issuer.set_fault(Some(Fault::Status(503)));
            std::thread::sleep(Duration::from_millis(250));
            assert_eq!(
                v.verify(&token).unwrap_err().code(),
                ErrorCode::JwksFetchFailed,
                "{name}"
            );
        },
    );
}

#[test]
fn failed_refresh_keeps_previous_keys() {
    let docs = [
        Fault::Body(b"not json".to_vec()),
        Fault::Body(b"\"str\"".to_vec()),
        Fault::Body(br#"{"keys":{}}"#.to_vec()),
        // `{"keys":[{"kty":"XYZ","kid":"x"}]}` is a well-formed set: it revokes
        // (issue 10 item 2, `a_key_set_without_usable_keys_revokes`).
    ];
    for fault in docs {
        for_both(
            TestIssuer::start,
            |i| config_for(i).build().unwrap(),
            |name, issuer, v| {
                let token = issuer.token().build();
                v.verify(&token).unwrap();
                issuer.set_fault(Some(fault.clone()));
                assert_eq!(
                    v.keys(true).unwrap_err().code(),
                    ErrorCode::JwksError,
                    "{name} {fault:?}"
                );
                v.verify(&token)
                    .unwrap_or_else(|e| panic!("{name} {fault:?}: previous keys lost: {e:?}"));
                assert!(v.health(false));
            },
        );
    }
}

// ---- concurrency (async flavour) ----

#[test]
fn cold_cache_single_flight_async() {
    let issuer = TestIssuer::start();
    issuer.set_delay(Duration::from_millis(100));
    let (rt, v) = async_verifier(config_for(&issuer).build().unwrap());
    let token = Arc::new(issuer.token().build());
    let ok = rt.block_on(async {
        let tasks: Vec<_> = (0..1000)
            .map(|_| {
                let v = v.clone();
                let token = token.clone();
                tokio::spawn(async move { v.verify_access_token(token.as_str()).await.is_ok() })
            })
            .collect();
        let mut ok = 0;
        for t in tasks {
            ok += usize::from(t.await.unwrap());
        }
        ok
    });
    assert_eq!(ok, 1000);
    assert_eq!(issuer.fetch_count(), 1);
}

#[test]
fn unknown_kid_storm_async() {
    let issuer = TestIssuer::start();
    let (rt, v) = async_verifier(
        config_for(&issuer)
            .jwks_refresh_cooldown(Duration::from_millis(200))
            .jwks_timeout(Duration::from_secs(120))
            .build()
            .unwrap(),
    );
    rt.block_on(v.verify_access_token(issuer.token().build()))
        .unwrap();
    std::thread::sleep(Duration::from_millis(250));
    // The one allowed refresh hangs until the issuer goes away; everything else must
    // be refused without waiting for it.
    issuer.set_delay(Duration::from_secs(120));
    let tokens: Vec<String> = (0..10_000)
        .map(|i| {
            issuer
                .token()
                .header("kid", json!(format!("rand-{i}-{}", fastrand_kid(i))))
                .signature(vec![7; 256])
                .build()
        })
        .collect();
    let issuer = std::sync::Mutex::new(Some(issuer));
    let done_while_fetching = rt.block_on(async {
        let first = {
            let v = v.clone();
            let t = tokens[0].clone();
            tokio::spawn(async move { v.verify_access_token(t).await })
        };
        // Let the first one start the refresh.
        while !v.stats().refreshing {
            tokio::time::sleep(Duration::from_millis(2)).await;
        }
        let mut codes = Vec::new();
        for t in &tokens[1..] {
            codes.push(v.verify_access_token(t).await.unwrap_err().code());
        }
        let still_fetching = v.stats().refreshing;
        assert_eq!(
            v.stats().fetches,
            2,
            "more than one refresh in one cooldown"
        );
        // Stopping the issuer ends the hanging refresh; the first caller then gets
        // key_not_found from the set it still has.
        drop(issuer.lock().unwrap().take());
        assert_eq!(
            first.await.unwrap().unwrap_err().code(),
            ErrorCode::KeyNotFound
        );
        assert!(codes.iter().all(|c| *c == ErrorCode::KeyNotFound));
        still_fetching
    });
    assert!(
        done_while_fetching,
        "unknown-kid requests waited on the network"
    );
}

fn fastrand_kid(i: usize) -> u64 {
    (i as u64).wrapping_mul(0x9E37_79B9_7F4A_7C15)
}

#[test]
fn cold_start_with_issuer_down_async() {
    let issuer = TestIssuer::start();
    issuer.set_fault(Some(Fault::DropConnection));
    let (rt, v) = async_verifier(
        config_for(&issuer)
            .jwks_timeout(Duration::from_millis(300))
            .jwks_backoff_initial(Duration::from_secs(5))
            .build()
            .unwrap(),
    );
    let token = issuer.token().build();
    let codes = rt.block_on(async {
        let tasks: Vec<_> = (0..200)
            .map(|_| {
                let v = v.clone();
                let t = token.clone();
                tokio::spawn(async move { v.verify_access_token(t).await.unwrap_err().code() })
            })
            .collect();
        let mut codes = Vec::new();
        for t in tasks {
            codes.push(t.await.unwrap());
        }
        codes
    });
    assert!(codes.iter().all(|c| *c == ErrorCode::JwksFetchFailed));
    assert_eq!(
        issuer.fetch_count(),
        1,
        "waiters piled up into several fetches"
    );
    // Within the backoff, callers fail at once without another request.
    let err = rt.block_on(v.verify_access_token(&token)).unwrap_err();
    assert_eq!(err.code(), ErrorCode::JwksFetchFailed);
    assert!(err.retry_after().is_some());
    assert_eq!(issuer.fetch_count(), 1);
}

#[test]
fn warm_verifications_do_not_wait_for_a_slow_refresh_async() {
    let issuer = TestIssuer::start();
    let (rt, v) = async_verifier(
        config_for(&issuer)
            .jwks_cache_ttl(Duration::from_millis(100))
            .jwks_timeout(Duration::from_secs(60))
            .build()
            .unwrap(),
    );
    let token = issuer.token().build();
    rt.block_on(v.verify_access_token(&token)).unwrap();
    std::thread::sleep(Duration::from_millis(150));
    // The refresh hangs for the rest of the test (dropping the verifier aborts it).
    issuer.set_delay(Duration::from_secs(60));
    rt.block_on(async {
        // This call starts the background refresh and is served from the current set.
        v.verify_access_token(&token).await.unwrap();
        assert!(v.stats().refreshing);
        for _ in 0..100 {
            v.verify_access_token(&token).await.unwrap();
        }
        assert!(
            v.stats().refreshing,
            "verifications waited for the slow refresh"
        );
        assert!(v.stats().serving_stale);
    });
    // One refresh started (the request itself may still be on its way to the issuer).
    assert_eq!(v.stats().fetches, 2);
    wait_until("the refresh request", Duration::from_secs(5), || {
        issuer.fetch_count() == 2
    });
}

#[test]
fn dropping_the_last_handle_ends_background_work() {
    let issuer = TestIssuer::start();
    let (rt, v) = async_verifier(
        config_for(&issuer)
            .jwks_cache_ttl(Duration::from_millis(50))
            .build()
            .unwrap(),
    );
    let token = issuer.token().build();
    rt.block_on(v.verify_access_token(&token)).unwrap();
    std::thread::sleep(Duration::from_millis(80));
    issuer.set_delay(Duration::from_secs(3));
    rt.block_on(v.verify_access_token(&token)).unwrap();
    assert!(v.stats().refreshing);
    let metrics = rt.metrics();
    assert!(metrics.num_alive_tasks() >= 1);
    let clone = v.clone();
    drop(v);
    assert!(
        metrics.num_alive_tasks() >= 1,
        "a clone still holds the verifier"
    );
    drop(clone);
    wait_until("background task to end", Duration::from_secs(1), || {
        metrics.num_alive_tasks() == 0
    });
}

// ---- concurrency (blocking flavour) ----

#[test]
fn blocking_single_flight_and_stale_serving() {
    let issuer = TestIssuer::start();
    issuer.set_delay(Duration::from_millis(200));
    let v = JwtVerifier::new(
        config_for(&issuer)
            .jwks_cache_ttl(Duration::from_millis(300))
            .jwks_timeout(Duration::from_secs(20))
            .build()
            .unwrap(),
    )
    .unwrap();
    let token = issuer.token().build();
    let ok = AtomicUsize::new(0);
    std::thread::scope(|s| {
        for _ in 0..32 {
            s.spawn(|| {
                if v.verify_access_token(&token).is_ok() {
                    ok.fetch_add(1, Ordering::Relaxed);
                }
            });
        }
    });
    assert_eq!(ok.load(Ordering::Relaxed), 32);
    assert_eq!(issuer.fetch_count(), 1);

    // Past the TTL with a slow issuer: one thread refreshes, the others keep verifying.
    std::thread::sleep(Duration::from_millis(350));
    issuer.set_delay(Duration::from_secs(3));
    std::thread::scope(|s| {
        let refresher = s.spawn(|| v.verify_access_token(&token).is_ok());
        wait_until("refresh to start", Duration::from_secs(2), || {
            v.stats().refreshing
        });
        for _ in 0..50 {
            v.verify_access_token(&token).unwrap();
        }
        assert!(
            v.stats().refreshing,
            "blocking verifications waited for the refresh"
        );
        assert!(refresher.join().unwrap());
    });
    assert_eq!(issuer.fetch_count(), 2);
}

#[test]
fn blocking_verifier_inside_spawn_blocking() {
    let issuer = TestIssuer::start();
    let config = config_for(&issuer).build().unwrap();
    let token = issuer.token().build();
    let rt = runtime();
    let claims = rt.block_on(async move {
        tokio::task::spawn_blocking(move || {
            let v = JwtVerifier::new(config).unwrap();
            let claims = v.verify_access_token(&token);
            drop(v);
            claims
        })
        .await
        .unwrap()
    });
    assert_eq!(claims.unwrap().sub(), Some("user-123"));
}

#[test]
fn caller_supplied_clients_are_not_owned() {
    let issuer = TestIssuer::start();
    let config = config_for(&issuer).build().unwrap();
    let token = issuer.token().build();
    let rt = runtime();
    rt.block_on(async {
        let client = verifier_core::reqwest::Client::new();
        let v = AsyncJwtVerifier::with_client(config.clone(), client.clone());
        assert!(v.healthcheck(true).await);
        v.verify_access_token(&token).await.unwrap();
        drop(v);
        let status = client.get(issuer.jwks_url()).send().await.unwrap().status();
        assert_eq!(
            status, 200,
            "our client stopped working after the verifier was dropped"
        );
    });
    let client = verifier_core::reqwest::blocking::Client::new();
    let v = JwtVerifier::with_client(config, client.clone());
    v.verify_access_token(&token).unwrap();
    drop(v);
    assert_eq!(client.get(issuer.jwks_url()).send().unwrap().status(), 200);
    assert_eq!(issuer.fetch_count(), 4);
}

#[test]
fn blocking_verifier_can_be_built_on_an_async_executor_thread() {
    let issuer = TestIssuer::start();
    let config = config_for(&issuer).build().unwrap();
    let token = issuer.token().build();
    let rt = runtime();
    let v = rt.block_on(async move { JwtVerifier::new(config).unwrap() });
    assert_eq!(
        v.verify_access_token(&token).unwrap().sub(),
        Some("user-123")
    );
}

// ---- issue 10: hardening ----

/// Issue 10 item 2: the issuer's published set is authoritative. A well-formed set with
/// no usable key (empty, or its only key now `use: enc`, or of a type no allowed
/// algorithm fits) is installed: the removed key stops verifying at once (`key_not_found`,
/// 401, after an explicit refresh; within one TTL otherwise), readiness is false, and
/// stats say why. Only transport failures, non-2xx, over-size and unparsable documents
/// count as failed fetches.
#[test]
fn a_key_set_without_usable_keys_revokes() {
    let mut enc = TestKey::generate(Alg::RS256, "test-key").public_jwk();
    enc["use"] = json!("enc");
    let docs = [
        json!({"keys": []}),
        json!({"keys": [enc]}),
        json!({"keys": [{"kty": "oct", "kid": "s", "k": "c2VjcmV0"}]}),
        json!({"keys": [{"kty": "XYZ", "kid": "x"}]}),
        json!({"keys": [TestKey::generate(Alg::ES256, "ec").public_jwk()]}),
    ];
    for doc in docs {
        // An explicit refresh revokes at once.
        for_both(
            TestIssuer::start,
            |i| config_for(i).build().unwrap(),
            |name, issuer, v| {
                let token = issuer.token().build();
                v.verify(&token).unwrap();
                assert!(v.health(false), "{name}");
                issuer.set_jwks(Some(doc.clone()));
                assert!(v.keys(true).unwrap().is_empty(), "{name} {doc}");
                let err = v.verify(&token).unwrap_err();
                assert_eq!(err.code(), ErrorCode::KeyNotFound, "{name} {doc}");
                assert_eq!(err.status().as_u16(), 401, "{name}");
                assert!(!v.health(false), "{name} {doc}");
                assert!(!v.health(true), "{name} {doc}");
                let stats = v.stats();
                assert_eq!(stats.key_count, 0, "{name}");
                assert_eq!(
                    stats.skipped_entries,
                    doc["keys"].as_array().unwrap().len(),
                    "{name}"
                );
                assert_eq!(stats.consecutive_failures, 0, "{name}: not a failure");
                // The issuer publishes a key again: it verifies again.
                issuer.set_jwks(None);
                assert!(v.health(true), "{name}");
                v.verify(&token).unwrap();
            },
        );
    }
    // Without an explicit refresh: within one TTL.
    for_both(
        TestIssuer::start,
        |i| {
            config_for(i)
                .jwks_cache_ttl(Duration::from_millis(100))
                .build()
                .unwrap()
        },
        |name, issuer, v| {
            let token = issuer.token().build();
            v.verify(&token).unwrap();
            issuer.set_jwks(Some(json!({"keys": []})));
            std::thread::sleep(Duration::from_millis(150));
            // Past the TTL: the request that notices starts the refresh (and may still
            // be served from the stale set); the refresh installs the empty set.
            wait_until("the empty set to revoke", Duration::from_secs(5), || {
                v.verify(&token)
                    .is_err_and(|e| e.code() == ErrorCode::KeyNotFound)
            });
            assert!(!v.health(false), "{name}");
        },
    );
    // A cold start on an empty set: 401 key_not_found, not 503.
    for_both(
        || {
            let issuer = TestIssuer::start();
            issuer.set_jwks(Some(json!({"keys": []})));
            issuer
        },
        |i| config_for(i).build().unwrap(),
        |name, issuer, v| {
            let err = v.verify(&issuer.token().build()).unwrap_err();
            assert_eq!(err.code(), ErrorCode::KeyNotFound, "{name}");
            assert!(!v.health(false), "{name}");
        },
    );
}

/// Issue 10 item 1: a background refresh whose runtime shuts down before it finishes
/// must not leave the refresh marked in flight (which would stop every later refresh).
#[test]
fn a_cancelled_refresh_does_not_wedge_the_cache() {
    let issuer = TestIssuer::start();
    let config = config_for(&issuer)
        .jwks_cache_ttl(Duration::from_millis(100))
        .jwks_timeout(Duration::from_secs(10))
        .jwks_backoff_initial(Duration::from_millis(10))
        .jwks_backoff_max(Duration::from_millis(20))
        .build()
        .unwrap();
    let v = AsyncJwtVerifier::new(config).unwrap();
    let token = issuer.token().build();
    let runtime_a = runtime();
    runtime_a.block_on(v.verify_access_token(&token)).unwrap();
    std::thread::sleep(Duration::from_millis(150));
    // Past the TTL against a slow issuer: served stale, a background refresh starts on A.
    issuer.set_delay(Duration::from_secs(5));
    runtime_a.block_on(v.verify_access_token(&token)).unwrap();
    assert!(v.stats().refreshing);
    assert_eq!(v.stats().fetches, 2);
    drop(runtime_a);
    assert!(!v.stats().refreshing, "the cancelled refresh ended");
    // The issuer heals; on runtime B a verification after the TTL fetches again.
    issuer.set_delay(Duration::ZERO);
    std::thread::sleep(Duration::from_millis(30));
    let runtime_b = runtime();
    runtime_b.block_on(v.verify_access_token(&token)).unwrap();
    wait_until("a new refresh to succeed", Duration::from_secs(5), || {
        let stats = v.stats();
        stats.fetches >= 3 && !stats.refreshing && stats.consecutive_failures == 0
    });
    assert!(!v.stats().serving_stale);
    assert!(runtime_b.block_on(v.healthcheck(true)));
}

/// Issue 10 item 5: RFC 7517 §4.5 allows one `kid` on keys of different types; the
/// token's `alg` picks the key. Keys no allowed algorithm fits take no kid and no slot.
#[test]
fn keys_sharing_a_kid_are_chosen_by_alg() {
    let rsa = TestKey::generate(Alg::RS256, "k1");
    let ec = TestKey::generate(Alg::ES256, "k1");
    // Both algorithms allowed: each token verifies with its own key.
    for_both(
        || TestIssuer::start_with_keys(&[rsa.clone(), ec.clone()]),
        |i| {
            config_for(i)
                .allowed_algs([Algorithm::RS256, Algorithm::ES256])
                .build()
                .unwrap()
        },
        |name, issuer, v| {
            v.verify(&issuer.token_for(&rsa).build())
                .unwrap_or_else(|e| panic!("{name} RS256: {e:?}"));
            v.verify(&issuer.token_for(&ec).build())
                .unwrap_or_else(|e| panic!("{name} ES256: {e:?}"));
            assert_eq!(v.stats().key_count, 2, "{name}");
            assert_eq!(v.key("k1", false).unwrap().key_type(), "RSA", "{name}");
        },
    );
    // Only ES256 allowed: the RSA key is skipped (it could verify nothing), the EC key
    // takes the kid, and an unusable key does not count against jwks_max_cached_keys.
    for_both(
        || TestIssuer::start_with_keys(&[rsa.clone(), ec.clone()]),
        |i| {
            config_for(i)
                .allowed_algs([Algorithm::ES256])
                .jwks_max_cached_keys(1)
                .build()
                .unwrap()
        },
        |name, issuer, v| {
            v.verify(&issuer.token_for(&ec).build())
                .unwrap_or_else(|e| panic!("{name} ES256: {e:?}"));
            let stats = v.stats();
            assert_eq!((stats.key_count, stats.skipped_entries), (1, 1), "{name}");
            assert_eq!(v.key("k1", false).unwrap().key_type(), "EC", "{name}");
        },
    );
    // Two keys with one kid that could verify the same algorithm: the first wins.
    let rsa2 = TestKey::generate(Alg::RS256, "k1");
    for_both(
        || TestIssuer::start_with_keys(&[rsa.clone(), rsa2.clone()]),
        |i| config_for(i).build().unwrap(),
        |name, issuer, v| {
            v.verify(&issuer.token_for(&rsa).build()).unwrap();
            assert_eq!(
                v.verify(&issuer.token_for(&rsa2).build())
                    .unwrap_err()
                    .code(),
                ErrorCode::InvalidSignature,
                "{name}"
            );
            assert_eq!(v.stats().key_count, 1, "{name}");
        },
    );
}

/// Issue 10 item 7: an Ed25519 key of small order (here the identity) accepts a
/// signature nobody made (R = identity, S = 0) for any message; such keys are skipped.
#[test]
fn small_order_ed25519_keys_are_skipped() {
    use base64::Engine as _;
    let b64 = |b: &[u8]| base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(b);
    let mut identity = [0u8; 32];
    identity[0] = 1;
    let good = TestKey::generate(Alg::EdDSA, "good");
    let doc = json!({"keys": [
        good.public_jwk(),
        {"kty": "OKP", "crv": "Ed25519", "kid": "evil", "x": b64(&identity)},
    ]});
    let mut forged_sig = [0u8; 64];
    forged_sig[0] = 1; // R = the identity's encoding, S = 0
    for_both(
        || {
            let issuer = TestIssuer::start_with_keys(std::slice::from_ref(&good));
            issuer.set_jwks(Some(doc.clone()));
            issuer
        },
        |i| {
            config_for(i)
                .allowed_algs([Algorithm::EdDSA])
                .build()
                .unwrap()
        },
        |name, issuer, v| {
            let forged = issuer
                .token_for(&good)
                .header("kid", json!("evil"))
                .claim("sub", json!("admin"))
                .signature(forged_sig.to_vec())
                .build();
            let err = v.verify(&forged).unwrap_err();
            assert_eq!(err.code(), ErrorCode::KeyNotFound, "{name}");
            v.verify(&issuer.token_for(&good).build()).unwrap();
            let stats = v.stats();
            assert_eq!((stats.key_count, stats.skipped_entries), (1, 1), "{name}");
        },
    );
}
