//! Does a warm verification cost more when the key set holds more keys? 1, 10 and 100
//! keys, for each algorithm and both token sizes.
//!
//! Each key count has its own `TestIssuer` serving only a key set: the three bench keys
//! plus Ed25519 filler keys under other kids (the filler is cheap to generate and parse;
//! the lookup is by kid whatever the key type). The verifiers keep the fixture's issuer
//! name, so they accept its tokens. For each pair (N keys against 1 key), the async
//! verifier is timed in alternating batches of about 2 ms, 101 rounds, and the median of
//! the per-round ratios is printed: 1.00 means the same cost.
//!
//! Run: `cargo bench -p verifier-core --bench keycount`

mod common;

use std::hint::black_box;
use std::time::{Duration, Instant};

use serde_json::Value;
use verifier_core::AsyncJwtVerifier;
use verifier_testkit::{Alg, TestIssuer, TestKey};

use common::{loadavg, Case, Fixture};

const ROUNDS: usize = 101;
const COUNTS: [usize; 3] = [1, 10, 100];

/// An issuer whose key set holds `case`'s key among `n` keys in all (`n` ≥ 1).
fn key_server(fx: &Fixture, case: &Case, n: usize, filler: &Value) -> TestIssuer {
    let server = TestIssuer::start_with_keys(std::slice::from_ref(&case.key));
    let mut doc = fx.issuer.jwks();
    let keys = doc["keys"].as_array_mut().expect("keys");
    keys.retain(|k| k["kid"] == case.key.kid());
    for i in 1..n {
        let mut k = filler.clone();
        k["kid"] = Value::String(format!("filler-{i:03}"));
        keys.push(k);
    }
    assert_eq!(keys.len(), n);
    server.set_jwks(Some(doc));
    server
}

fn median_ratio(n: u32, mut a: impl FnMut(u32), mut b: impl FnMut(u32)) -> f64 {
    let time = |f: &mut dyn FnMut(u32)| {
        let start = Instant::now();
        f(n);
        start.elapsed().as_secs_f64()
    };
    let mut ratios: Vec<f64> = (0..ROUNDS)
        .map(|i| {
            let (ta, tb) = if i % 2 == 0 {
                let ta = time(&mut a);
                (ta, time(&mut b))
            } else {
                let tb = time(&mut b);
                (time(&mut a), tb)
            };
            tb / ta
        })
        .collect();
    ratios.sort_by(f64::total_cmp);
    ratios[ROUNDS / 2]
}

/// `n` warm verifications of `token` by `v`.
fn batch<'a>(
    rt: &'a tokio::runtime::Runtime,
    v: &'a AsyncJwtVerifier,
    token: &'a str,
) -> impl FnMut(u32) + 'a {
    move |n| {
        rt.block_on(async {
            for _ in 0..n {
                black_box(v.verify_access_token(black_box(token)).await).unwrap();
            }
        })
    }
}

fn main() {
    let args: Vec<String> = std::env::args().collect();
    let measuring = args.iter().any(|a| a == "--bench");
    let fx = Fixture::new();
    let filler = TestKey::generate(Alg::EdDSA, "filler").public_jwk();
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("runtime");
    println!("loadavg at start {}", loadavg());
    println!(
        "{:<9} {:>10} {:>11} {:>12}",
        "alg", "1 key µs", "10 keys/1", "100 keys/1"
    );
    for case in fx.all() {
        let servers: Vec<TestIssuer> = COUNTS
            .iter()
            .map(|n| key_server(&fx, case, *n, &filler))
            .collect();
        let verifiers: Vec<AsyncJwtVerifier> = servers
            .iter()
            .map(|s| {
                let config = fx
                    .config()
                    .jwks_url(s.jwks_url())
                    .jwks_max_cached_keys(128)
                    .build()
                    .expect("config");
                let v = AsyncJwtVerifier::new(config).expect("verifier");
                rt.block_on(v.verify_access_token(&case.token))
                    .expect("warm up");
                v
            })
            .collect();
        let fetches: Vec<usize> = servers.iter().map(TestIssuer::fetch_count).collect();
        let token = case.token.as_str();
        let run = |v| batch(&rt, v, token);
        let mut one = run(&verifiers[0]);
        let start = Instant::now();
        one(200);
        let per = start.elapsed() / 200;
        let n = if measuring {
            ((Duration::from_millis(2).as_nanos() / per.as_nanos().max(1)) as u32).max(20)
        } else {
            2
        };
        let r10 = median_ratio(n, run(&verifiers[0]), run(&verifiers[1]));
        let r100 = median_ratio(n, run(&verifiers[0]), run(&verifiers[2]));
        let after: Vec<usize> = servers.iter().map(TestIssuer::fetch_count).collect();
        assert_eq!(fetches, after, "no key-set fetch while measuring");
        println!(
            "{:<9} {:>10.2} {:>11.3} {:>12.3}",
            if case.size == "small" {
                case.name.to_owned()
            } else {
                format!("{}-kc", case.name)
            },
            per.as_secs_f64() * 1e6,
            r10,
            r100
        );
    }
    println!("loadavg at end {}", loadavg());
}
