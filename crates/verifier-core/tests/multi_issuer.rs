//! Several issuers in one verifier (SPEC-2 §2): routing by the exact `iss` before any
//! I/O, and a fully separate lifecycle and policy per issuer.

mod common;

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

use common::{config_for, eventually, runtime};
use serde_json::json;
use verifier_core::{
    Algorithm, AsyncJwtVerifier, AuthConfig, AuthError, ErrorCode, JwtVerifier, UnknownIssuer,
    VerifierConfig,
};
use verifier_testkit::{Alg, Fault, TestClock, TestIssuer, TestKey, DEFAULT_AUDIENCE};

/// Both flavours over the same issuers; every verification runs through both.
struct Both {
    rt: tokio::runtime::Runtime,
    a: AsyncJwtVerifier,
    b: JwtVerifier,
}

impl Both {
    fn new(configs: Vec<AuthConfig>) -> Both {
        let rt = runtime();
        let a = AsyncJwtVerifier::builder()
            .issuers(configs.clone())
            .build()
            .unwrap();
        let b = JwtVerifier::builder().issuers(configs).build().unwrap();
        Both { rt, a, b }
    }

    fn verify(&self, token: &str) -> Result<verifier_core::Claims, AuthError> {
        let x = self.rt.block_on(self.a.verify_access_token(token));
        let y = self.b.verify_access_token(token);
        match (&x, &y) {
            (Ok(p), Ok(q)) => assert_eq!(p, q),
            (Err(p), Err(q)) => assert_eq!(p.code(), q.code(), "flavours disagree"),
            _ => panic!("flavours disagree: {x:?} vs {y:?}"),
        }
        x
    }

    fn code(&self, token: &str) -> ErrorCode {
        self.verify(token).unwrap_err().code()
    }
}

/// MI1: tokens of either issuer verify, each routed to its own issuer (`Claims::iss`
/// names it here; `authenticate` answers it as `Authenticated::issuer`).
#[test]
fn mi1_tokens_of_each_issuer_verify() {
    let a = TestIssuer::start();
    let b = TestIssuer::builder().path("/realms/b").start();
    let both = Both::new(vec![
        config_for(&a).build().unwrap(),
        config_for(&b).build().unwrap(),
    ]);
    let claims = both.verify(&a.token().build()).unwrap();
    assert_eq!(claims.iss(), Some(a.issuer().as_str()));
    let claims = both.verify(&b.token().build()).unwrap();
    assert_eq!(claims.iss(), Some(b.issuer().as_str()));
    // Through the request-level entry point, the issuer that verified the token.
    let (method, uri) = (http::Method::GET, http::Uri::from_static("/me"));
    let mut headers = http::HeaderMap::new();
    let bearer = format!("Bearer {}", b.token().build());
    headers.insert(http::header::AUTHORIZATION, bearer.parse().unwrap());
    let parts = verifier_core::RequestParts::new(&method, &uri, &headers);
    let authenticated = both.b.authenticate(parts).unwrap().unwrap();
    assert_eq!(&*authenticated.issuer, b.issuer().as_str());
    assert_eq!(both.a.issuers().count(), 2);
    assert_eq!(both.a.config().issuer(), a.issuer(), "the first issuer");
    assert!(both.a.issuer_config(&b.issuer()).is_some());
    assert!(both.b.issuer_jwks(&format!("{}/", b.issuer())).is_none());
}

/// MI2: the same kid at two issuers never crosses: a token of A signed with B's `k1`
/// fails its signature check against A's `k1`, and B's key set is never fetched for it.
#[test]
fn mi2_same_kid_at_two_issuers_never_crosses() {
    let a_key = TestKey::generate(Alg::RS256, "k1");
    let b_key = TestKey::generate(Alg::RS256, "k1");
    let a = TestIssuer::start_with_keys(std::slice::from_ref(&a_key));
    let b = TestIssuer::start_with_keys(std::slice::from_ref(&b_key));
    let both = Both::new(vec![
        config_for(&a).build().unwrap(),
        config_for(&b).build().unwrap(),
    ]);
    let forged = b.token_for(&b_key).claim("iss", json!(a.issuer())).build();
    assert_eq!(both.code(&forged), ErrorCode::InvalidSignature);
    assert_eq!(b.fetch_count(), 0);
    assert!(both.verify(&a.token_for(&a_key).build()).is_ok());
}

/// MI3: a kid only B publishes, in a token of A: `key_not_found` after at most one
/// refresh of A (its cooldown), and no request to B.
#[test]
fn mi3_unknown_kid_refreshes_only_its_issuer() {
    let a = TestIssuer::start();
    let b_only = TestKey::generate(Alg::RS256, "b-only");
    let b = TestIssuer::start_with_keys(std::slice::from_ref(&b_only));
    let both = Both::new(vec![
        config_for(&a).build().unwrap(),
        config_for(&b).build().unwrap(),
    ]);
    assert!(both.verify(&a.token().build()).is_ok());
    let fetches = a.fetch_count();
    let token = a.token_for(&b_only).build();
    for _ in 0..5 {
        assert_eq!(both.code(&token), ErrorCode::KeyNotFound);
    }
    // One refresh per flavour (each has its own cooldown), no more.
    assert!(
        a.fetch_count() - fetches <= 2,
        "{}",
        a.fetch_count() - fetches
    );
    assert_eq!(b.fetch_count(), 0);
}

/// MI4: a flood of tokens from an unknown issuer with random kids and valid-looking
/// claims: all `invalid_issuer` with the `UnknownIssuer` source, and no request to
/// anyone (metadata or key sets). (The p99 bound of SPEC-2 is not asserted: tests here
/// assert no wall-clock times.)
#[test]
fn mi4_unknown_issuer_flood_costs_no_request() {
    let a = TestIssuer::start();
    let b = TestIssuer::start();
    let c = TestIssuer::start();
    // A and B discover their keys: an unknown issuer must not reach discovery either.
    let discovering = |i: &TestIssuer| {
        AuthConfig::builder()
            .issuer(i.issuer())
            .audience(DEFAULT_AUDIENCE)
            .build()
            .unwrap()
    };
    let both = Both::new(vec![discovering(&a), discovering(&b)]);
    for n in 0..10_000u32 {
        let key = c.default_key();
        let token = c
            .token_for(&key)
            .header("kid", json!(format!("kid-{n}")))
            .build();
        let err = if n % 2 == 0 {
            both.rt.block_on(both.a.verify_access_token(&token))
        } else {
            both.b.verify_access_token(&token)
        }
        .unwrap_err();
        assert_eq!(err.code(), ErrorCode::InvalidIssuer);
        if n == 0 {
            let source = std::error::Error::source(&err).unwrap();
            assert!(source.downcast_ref::<UnknownIssuer>().is_some());
        }
    }
    for issuer in [&a, &b, &c] {
        assert_eq!(issuer.fetch_count(), 0);
        assert_eq!(issuer.discovery_fetch_count(), 0);
    }
}

/// MI5: `iss` missing or null is `missing_claim`; anything but an exact configured
/// string is `invalid_issuer`; never a fetch.
#[test]
fn mi5_iss_is_compared_exactly() {
    let a = TestIssuer::start();
    let b = TestIssuer::start();
    let both = Both::new(vec![
        config_for(&a).build().unwrap(),
        config_for(&b).build().unwrap(),
    ]);
    let iss = a.issuer();
    let with = |value: Option<serde_json::Value>| match value {
        Some(v) => a.token().claim("iss", v).build(),
        None => a.token().remove_claim("iss").build(),
    };
    let missing = both.verify(&with(None)).unwrap_err();
    assert_eq!(missing.code(), ErrorCode::MissingClaim);
    assert_eq!(missing.message(), "Token is missing the \"iss\" claim");
    assert_eq!(both.code(&with(Some(json!(null)))), ErrorCode::MissingClaim);
    let variants = [
        json!(42),
        json!([iss]),
        json!(format!("{iss}/")),
        json!(format!("{iss} ")),
        json!(iss.replace("http://", "HTTP://")),
        // A Cyrillic "і" in place of the Latin "i" of "http".
        json!(iss.replacen('t', "\u{0442}", 1)),
    ];
    for v in variants {
        assert_eq!(
            both.code(&with(Some(v.clone()))),
            ErrorCode::InvalidIssuer,
            "{v}"
        );
    }
    assert_eq!(a.fetch_count() + b.fetch_count(), 0);
}

/// MI6: each issuer's algorithms: an RS256 token claiming A, which allows only ES256,
/// is `disallowed_alg` without any fetch (B allows RS256).
#[test]
fn mi6_algorithms_are_per_issuer() {
    let ec = TestKey::generate(Alg::ES256, "ec");
    let a = TestIssuer::start_with_keys(std::slice::from_ref(&ec));
    let b = TestIssuer::start();
    let both = Both::new(vec![
        config_for(&a)
            .allowed_algs([Algorithm::ES256])
            .build()
            .unwrap(),
        config_for(&b).build().unwrap(),
    ]);
    let rs_for_a = b.token().claim("iss", json!(a.issuer())).build();
    assert_eq!(both.code(&rs_for_a), ErrorCode::DisallowedAlg);
    assert_eq!(a.fetch_count() + b.fetch_count(), 0);
    assert!(both.verify(&a.token_for(&ec).build()).is_ok());
    assert!(both.verify(&b.token().build()).is_ok());
}

/// MI7: each issuer's audiences.
#[test]
fn mi7_audiences_are_per_issuer() {
    let a = TestIssuer::start();
    let b = TestIssuer::start();
    let both = Both::new(vec![
        config_for(&a).build().unwrap(),
        AuthConfig::builder()
            .issuer(b.issuer())
            .audience("https://b-api.example")
            .jwks_url(b.jwks_url())
            .build()
            .unwrap(),
    ]);
    let token = a
        .token()
        .claim("aud", json!("https://b-api.example"))
        .build();
    assert_eq!(both.code(&token), ErrorCode::InvalidAudience);
    let token = b
        .token()
        .claim("aud", json!("https://b-api.example"))
        .build();
    assert!(both.verify(&token).is_ok());
}

/// MI8: profiles are per issuer: A requires RFC 9068 access tokens, B is generic; a
/// `typ: JWT` token is `invalid_token_type` for A (before any key lookup), accepted for B.
#[test]
fn mi8_profiles_are_per_issuer() {
    let a = TestIssuer::start();
    let b = TestIssuer::start();
    let both = Both::new(vec![
        config_for(&a).rfc9068().build().unwrap(),
        config_for(&b).build().unwrap(),
    ]);
    let for_a = a.token().typ("JWT").build();
    assert_eq!(both.code(&for_a), ErrorCode::InvalidTokenType);
    assert_eq!(a.fetch_count(), 0);
    assert!(both.verify(&b.token().typ("JWT").build()).is_ok());
    // A's own access tokens verify.
    let access = a
        .token()
        .typ("at+jwt")
        .claim("client_id", json!("client-1"))
        .claim("jti", json!("j-1"))
        .build();
    assert!(both.verify(&access).is_ok());
}

/// MI9: a bogus-kid flood on A spends A's cooldown only: B's new kid is accepted at
/// first sight.
#[test]
fn mi9_cooldowns_are_per_issuer() {
    let a = TestIssuer::start();
    let b = TestIssuer::start();
    let cooldown = Duration::from_millis(300);
    let both = Both::new(vec![
        config_for(&a)
            .jwks_refresh_cooldown(cooldown)
            .build()
            .unwrap(),
        config_for(&b)
            .jwks_refresh_cooldown(cooldown)
            .build()
            .unwrap(),
    ]);
    assert!(both.verify(&a.token().build()).is_ok());
    assert!(both.verify(&b.token().build()).is_ok());
    // Past both cooldowns since the first fetches; A's flood then starts a refresh of
    // A (and keeps its cooldown running), never one of B.
    std::thread::sleep(cooldown + Duration::from_millis(50));
    let b_fetches = b.fetch_count();
    for n in 0..50 {
        let token = a.token().header("kid", json!(format!("bogus-{n}"))).build();
        assert_eq!(both.code(&token), ErrorCode::KeyNotFound);
    }
    assert_eq!(b.fetch_count(), b_fetches);
    let rotated = b.rotate(Alg::RS256, "b-2");
    assert!(both.verify(&b.token_for(&rotated).build()).is_ok());
}

/// MI10: A's identity provider down past its max stale: A's tokens are 503, B's verify,
/// and `health()` says which is not ready.
#[test]
fn mi10_an_issuer_down_does_not_affect_the_others() {
    let a = TestIssuer::start();
    let b = TestIssuer::start();
    let clock = TestClock::new();
    let tuned = |i: &TestIssuer| {
        config_for(i)
            .jwks_cache_ttl(Duration::from_secs(60))
            .jwks_max_stale(Duration::from_secs(60))
            .jwks_backoff_initial(Duration::from_millis(10))
            .jwks_backoff_max(Duration::from_millis(20))
            .clock(Arc::new(clock.clone()))
            .build()
            .unwrap()
    };
    let both = Both::new(vec![tuned(&a), tuned(&b)]);
    let now = clock.unix_secs();
    let token = |i: &TestIssuer| {
        i.token()
            .claim("iat", json!(now))
            .claim("nbf", json!(now))
            .claim("exp", json!(now + 3600))
            .build()
    };
    assert!(both.verify(&token(&a)).is_ok());
    assert!(both.verify(&token(&b)).is_ok());
    a.set_fault(Some(Fault::Status(500)));
    clock.advance(Duration::from_secs(121));
    // B refreshes normally; A cannot, and is past TTL + max stale.
    assert!(both.verify(&token(&b)).is_ok());
    let err = both.verify(&token(&a)).unwrap_err();
    assert_eq!(err.status().as_u16(), 503);
    let health = both.rt.block_on(both.a.health());
    assert!(!health.ready);
    assert!(!health.issuers[0].ready);
    assert!(health.issuers[1].ready);
    assert_eq!(health.issuers[0].issuer, a.issuer());
    assert_eq!(
        health.issuers[0].last_error,
        Some(ErrorCode::JwksFetchFailed)
    );
    let health = both.b.health();
    assert!(!health.issuers[0].ready && health.issuers[1].ready);
    assert!(!both.b.healthcheck(false));
}

/// MI11: 1,000 concurrent cold requests split over A and B (both discovering): exactly
/// one metadata and one key-set request per issuer.
#[test]
fn mi11_cold_requests_fetch_once_per_issuer() {
    let a = TestIssuer::start();
    let b = TestIssuer::builder().path("/realms/b").start();
    for i in [&a, &b] {
        i.set_discovery_delay(Duration::from_millis(100));
    }
    let discovering = |i: &TestIssuer| {
        AuthConfig::builder()
            .issuer(i.issuer())
            .audience(DEFAULT_AUDIENCE)
            .build()
            .unwrap()
    };
    let rt = runtime();
    let verifier = AsyncJwtVerifier::builder()
        .issuer(discovering(&a))
        .issuer(discovering(&b))
        .build()
        .unwrap();
    let tokens = [a.token().build(), b.token().build()];
    let results = rt.block_on(async {
        let tasks: Vec<_> = (0..1000)
            .map(|n| {
                let verifier = verifier.clone();
                let token = tokens[n % 2].clone();
                tokio::spawn(async move { verifier.verify_access_token(&token).await })
            })
            .collect();
        let mut results = Vec::new();
        for task in tasks {
            results.push(task.await.unwrap());
        }
        results
    });
    assert!(results.iter().all(Result::is_ok));
    for i in [&a, &b] {
        assert_eq!(i.discovery_fetch_count(), 1);
        assert_eq!(i.fetch_count(), 1);
    }
}

/// MI12: verified-token cache entries belong to their issuer: after A's key set is
/// refetched (A's generation moves past B's), a cached A token is verified again.
#[test]
fn mi12_cache_entries_are_tagged_by_issuer() {
    let a = TestIssuer::start();
    let b = TestIssuer::start();
    let cached = |i: &TestIssuer| config_for(i).verified_token_cache(64).build().unwrap();
    let both = Both::new(vec![cached(&a), cached(&b)]);
    let a_token = a.token().build();
    assert!(both.verify(&a_token).is_ok());
    assert!(both.verify(&b.token().build()).is_ok());
    assert!(both.verify(&a_token).is_ok(), "a cache hit");
    // A rotates; its set is refetched (generation 2, while B stays at 1).
    a.rotate(Alg::RS256, "a-2");
    both.rt
        .block_on(
            both.a
                .issuer_jwks(&a.issuer())
                .unwrap()
                .get_signing_keys(true),
        )
        .unwrap();
    both.b
        .issuer_jwks(&a.issuer())
        .unwrap()
        .get_signing_keys(true)
        .unwrap();
    // Verified again: its key is gone.
    assert_eq!(both.code(&a_token), ErrorCode::KeyNotFound);
}

/// MI13: configuration errors name the field or the variable.
#[test]
fn mi13_configuration_errors_name_the_field() {
    let config = |iss: &str| {
        AuthConfig::builder()
            .issuer(iss)
            .audience("api")
            .build()
            .unwrap()
    };
    let e = VerifierConfig::new([config("https://a.example"), config("https://a.example")])
        .unwrap_err();
    assert_eq!(e.field(), "issuers");
    let many = (0..257).map(|n| config(&format!("https://i{n}.example")));
    assert_eq!(VerifierConfig::new(many).unwrap_err().field(), "issuers");
    assert_eq!(VerifierConfig::new([]).unwrap_err().field(), "issuers");
    let e = AsyncJwtVerifier::builder()
        .issuer(config("https://a.example"))
        .issuer(config("https://a.example"))
        .build()
        .unwrap_err();
    assert_eq!(e.field(), "issuers");
    assert_eq!(
        VerifierConfig::new((0..256).map(|n| config(&format!("https://i{n}.example"))))
            .unwrap()
            .issuers()
            .len(),
        256
    );

    let env = |pairs: &[(&str, &str)]| {
        let map: HashMap<String, String> = pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        VerifierConfig::from_env_lookup(|k| map.get(k).cloned())
    };
    let e = env(&[
        ("OIDC_ISSUER", "https://a.example"),
        ("OIDC_ISSUERS", "https://a.example,https://b.example"),
        ("OIDC_AUDIENCE", "api"),
    ])
    .unwrap_err();
    assert_eq!(e.field(), "OIDC_ISSUERS");
    let e = env(&[
        ("OIDC_ISSUERS", "https://a.example,https://b.example"),
        ("OIDC_JWKS_URL", "https://a.example/keys"),
        ("OIDC_AUDIENCE", "api"),
    ])
    .unwrap_err();
    assert_eq!(
        (e.field(), e.reason()),
        (
            "OIDC_JWKS_URL",
            "cannot be shared by several issuers; use discovery"
        )
    );
    let e = env(&[
        ("OIDC_ISSUERS", "https://a.example, https://a.example"),
        ("OIDC_AUDIENCE", "api"),
    ])
    .unwrap_err();
    assert_eq!(e.field(), "OIDC_ISSUERS");
    let e = env(&[
        ("OIDC_ISSUERS", "https://a.example, http://b.example"),
        ("OIDC_AUDIENCE", "api"),
    ])
    .unwrap_err();
    assert_eq!(e.field(), "OIDC_ISSUERS");
    assert!(e.reason().contains("http://b.example"), "{e}");
    // Every other variable applies to each issuer.
    let ok = env(&[
        (
            "OIDC_ISSUERS",
            "https://a.example, https://b.example/realms/x",
        ),
        ("OIDC_AUDIENCE", "api"),
        ("OIDC_ALLOWED_ALGS", "ES256"),
    ])
    .unwrap();
    assert_eq!(ok.issuers().len(), 2);
    assert!(ok
        .issuers()
        .iter()
        .all(|c| c.allowed_algs() == [Algorithm::ES256] && c.audiences() == ["api"]));
    // Without OIDC_ISSUERS, one issuer as before.
    let one = env(&[
        ("OIDC_ISSUER", "https://a.example"),
        ("OIDC_AUDIENCE", "api"),
    ])
    .unwrap();
    assert_eq!(one.issuers().len(), 1);
}

/// A file holds either form; settings beside `issuers` are refused.
#[test]
fn verifier_config_deserializes_both_forms() {
    let many: VerifierConfig = serde_json::from_value(json!({"issuers": [
        {"issuer": "https://a.example", "audience": "api"},
        {"issuer": "https://b.example", "audience": ["api", "other"], "allowed_algs": ["ES256"]},
    ]}))
    .unwrap();
    assert_eq!(many.issuers()[1].audiences(), ["api", "other"]);
    let one: VerifierConfig =
        serde_json::from_value(json!({"issuer": "https://a.example", "audience": "api"})).unwrap();
    assert_eq!(one.issuers()[0].issuer(), "https://a.example");
    let e = serde_json::from_value::<VerifierConfig>(json!({
        "issuers": [{"issuer": "https://a.example", "audience": "api"}],
        "audience": "api",
    }))
    .unwrap_err();
    assert!(e.to_string().contains("`audience`"), "{e}");
    let e = serde_json::from_value::<VerifierConfig>(json!({"issuers": []})).unwrap_err();
    assert!(e.to_string().contains("issuers"), "{e}");
}

/// MI14: dropping the verifier with fetches in flight at A and B aborts them all.
#[test]
fn mi14_drop_aborts_every_issuers_fetch() {
    let a = TestIssuer::start();
    let b = TestIssuer::start();
    for i in [&a, &b] {
        i.set_delay(Duration::from_secs(10));
    }
    let rt = runtime();
    let verifier = AsyncJwtVerifier::builder()
        .issuer(
            config_for(&a)
                .jwks_timeout(Duration::from_secs(30))
                .build()
                .unwrap(),
        )
        .issuer(
            config_for(&b)
                .jwks_timeout(Duration::from_secs(30))
                .build()
                .unwrap(),
        )
        .build()
        .unwrap();
    let waiters: Vec<_> = [a.token().build(), b.token().build()]
        .into_iter()
        .map(|token| {
            let verifier = verifier.clone();
            rt.spawn(async move { verifier.verify_access_token(&token).await })
        })
        .collect();
    let metrics = rt.metrics();
    eventually("both key-set fetches", || {
        verifier.issuers().count() == 2
            && verifier
                .issuer_jwks(&a.issuer())
                .unwrap()
                .stats()
                .refreshing
            && verifier
                .issuer_jwks(&b.issuer())
                .unwrap()
                .stats()
                .refreshing
    });
    for waiter in &waiters {
        waiter.abort();
    }
    std::thread::sleep(Duration::from_millis(100));
    assert!(
        metrics.num_alive_tasks() >= 2,
        "the fetches run while a handle lives"
    );
    drop(verifier);
    eventually("every fetch task to end", || metrics.num_alive_tasks() == 0);
}
