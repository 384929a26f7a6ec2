//! Warm verification cost against a raw aws-lc-rs signature check, for RS256, ES256, EdDSA.
//!
//! Per algorithm and token size (one criterion group `verify-<ALG>` for the small token,
//! `verify-<ALG>-kc` for the Keycloak-sized one, see `common`):
//! - `a_raw_aws_lc`: `ParsedPublicKey::verify_sig` over the token's signing input and its
//!   signature bytes (decoded once, outside the loop): the floor.
//! - `b_jsonwebtoken`: jsonwebtoken 12 `decode` with a prepared `DecodingKey` and an
//!   equivalent `Validation` (alg, iss, aud, exp, nbf).
//! - `c_async_verifier`: `AsyncJwtVerifier::verify_access_token`, warm key set, driven by
//!   criterion's `to_async` on a current-thread tokio runtime (one `block_on` per batch of
//!   iterations, so the runtime is not what is measured).
//! - `d_blocking_verifier`: `JwtVerifier::verify_access_token` (feature `blocking`).
//! - `e_cache_hit`: the async verifier with `verified_token_cache(1024)`, same token.
//!
//! Then a ratio table from criterion's own estimates of this run
//! (`<target>/criterion/<group>/<bench>/new/estimates.json`, slope when criterion sampled
//! linearly, else mean), and a cross-check that does not depend on the machine being
//! equally loaded during different benches: a and c timed in alternating short batches,
//! median of the per-round ratios. Last, the size slope: how much the verifier's added
//! cost (c − a) grows per KB of decoded payload, from the two token sizes.
//!
//! Run: `cargo bench -p verifier-core --bench verify`

mod common;

use std::hint::black_box;
use std::path::PathBuf;
use std::time::{Duration, Instant, SystemTime};

use criterion::Criterion;
use jsonwebtoken::{DecodingKey, Validation};
use serde_json::{Map, Value};
use tokio::runtime::Runtime;
use verifier_core::{AsyncJwtVerifier, JwtVerifier};

use common::{jwt_setup, loadavg, Case, Fixture};

/// Rounds of the alternating cross-check.
const ROUNDS: usize = 101;

const BENCHES: [&str; 5] = [
    "a_raw_aws_lc",
    "b_jsonwebtoken",
    "c_async_verifier",
    "d_blocking_verifier",
    "e_cache_hit",
];

struct Verifiers {
    rt: Runtime,
    async_v: AsyncJwtVerifier,
    blocking_v: JwtVerifier,
    cached_v: AsyncJwtVerifier,
}

fn jwt_decode(token: &str, key: &DecodingKey, validation: &Validation) -> bool {
    jsonwebtoken::decode::<Map<String, Value>>(token, key, validation).is_ok()
}

fn verifiers(fx: &Fixture) -> Verifiers {
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("runtime");
    let async_v = AsyncJwtVerifier::new(fx.config().build().unwrap()).unwrap();
    let cached_v =
        AsyncJwtVerifier::new(fx.config().verified_token_cache(1024).build().unwrap()).unwrap();
    // The blocking client owns a runtime of its own: build it outside any tokio context.
    let blocking_v = JwtVerifier::new(fx.config().build().unwrap()).unwrap();
    // Warm up once per verifier and algorithm (the first call fetches the key set).
    for case in fx.all() {
        rt.block_on(async_v.verify_access_token(&case.token))
            .expect("async verifier accepts the token");
        rt.block_on(cached_v.verify_access_token(&case.token))
            .expect("cached verifier accepts the token");
        blocking_v
            .verify_access_token(&case.token)
            .expect("blocking verifier accepts the token");
    }
    Verifiers {
        rt,
        async_v,
        blocking_v,
        cached_v,
    }
}

fn bench_case(c: &mut Criterion, fx: &Fixture, v: &Verifiers, case: &Case) {
    let (jwt_key, validation) = jwt_setup(fx, case);
    assert!(
        jwt_decode(&case.token, &jwt_key, &validation),
        "{}: jsonwebtoken accepts the token",
        case.name
    );
    let token = case.token.as_str();
    let mut group = c.benchmark_group(case.group("verify"));
    group.bench_function(BENCHES[0], |b| b.iter(|| black_box(case).raw_verify()));
    group.bench_function(BENCHES[1], |b| {
        b.iter(|| jwt_decode(black_box(token), &jwt_key, &validation))
    });
    group.bench_function(BENCHES[2], |b| {
        b.to_async(&v.rt)
            .iter(|| v.async_v.verify_access_token(black_box(token)))
    });
    group.bench_function(BENCHES[3], |b| {
        b.iter(|| v.blocking_v.verify_access_token(black_box(token)))
    });
    group.bench_function(BENCHES[4], |b| {
        b.to_async(&v.rt)
            .iter(|| v.cached_v.verify_access_token(black_box(token)))
    });
    group.finish();
}

/// Where criterion writes this run's estimates (its own lookup order, with the bench
/// executable's target directory standing in for `cargo metadata`).
fn criterion_home() -> PathBuf {
    if let Some(home) = std::env::var_os("CRITERION_HOME") {
        return home.into();
    }
    if let Some(target) = std::env::var_os("CARGO_TARGET_DIR") {
        return PathBuf::from(target).join("criterion");
    }
    // <target>/release/deps/verify-<hash>
    let exe = std::env::current_exe().expect("current exe");
    exe.ancestors()
        .nth(3)
        .map(|t| t.join("criterion"))
        .unwrap_or_else(|| "target/criterion".into())
}

/// Criterion's point estimate in ns for one bench, if it was measured in this run.
fn estimate(group: &str, bench: &str, since: SystemTime) -> Option<f64> {
    let path = criterion_home()
        .join(group)
        .join(bench)
        .join("new")
        .join("estimates.json");
    let modified = std::fs::metadata(&path).ok()?.modified().ok()?;
    if modified < since {
        return None; // stale: filtered out of this run
    }
    let doc: Value = serde_json::from_slice(&std::fs::read(&path).ok()?).ok()?;
    doc["slope"]["point_estimate"]
        .as_f64()
        .or_else(|| doc["mean"]["point_estimate"].as_f64())
}

/// Times one call of `f(n)`.
fn time(n: u32, f: &mut impl FnMut(u32)) -> Duration {
    let start = Instant::now();
    f(n);
    start.elapsed()
}

/// `b` against `a`, timed in alternating batches of `n` iterations (which goes first
/// alternates too).
struct Paired {
    /// Ratio of the fastest batches: robust when other processes compete for the CPU
    /// (a batch can only be slowed down, never sped up).
    min: f64,
    /// Median of the per-round ratios.
    median: f64,
    /// Difference of the fastest batches, per iteration, in µs.
    diff_us: f64,
    /// `(median ratio − 1) ×` the fastest `a` batch, per iteration, in µs.
    median_diff_us: f64,
}

fn paired_ratio(rounds: usize, n: u32, mut a: impl FnMut(u32), mut b: impl FnMut(u32)) -> Paired {
    let mut ta_min = Duration::MAX;
    let mut tb_min = Duration::MAX;
    let mut ratios: Vec<f64> = (0..rounds)
        .map(|i| {
            let (ta, tb) = if i % 2 == 0 {
                let ta = time(n, &mut a);
                (ta, time(n, &mut b))
            } else {
                let tb = time(n, &mut b);
                (time(n, &mut a), tb)
            };
            ta_min = ta_min.min(ta);
            tb_min = tb_min.min(tb);
            tb.as_secs_f64() / ta.as_secs_f64()
        })
        .collect();
    ratios.sort_by(f64::total_cmp);
    Paired {
        min: tb_min.as_secs_f64() / ta_min.as_secs_f64(),
        median: ratios[ratios.len() / 2],
        diff_us: (tb_min.as_secs_f64() - ta_min.as_secs_f64()) * 1e6 / f64::from(n),
        median_diff_us: (ratios[ratios.len() / 2] - 1.0) * ta_min.as_secs_f64() * 1e6
            / f64::from(n),
    }
}

fn fmt_ratio(x: Option<f64>) -> String {
    x.map_or_else(|| "   -  ".into(), |r| format!("{r:6.3}"))
}

fn report(fx: &Fixture, v: &Verifiers, since: SystemTime) {
    println!();
    println!("== Ratios from criterion's estimates of this run (slope, else mean) ==");
    println!(
        "{:<9} {:>9} {:>9} {:>9} {:>9} {:>9}   {:>6} {:>6} {:>6}  {:>6}",
        "alg",
        "a raw µs",
        "b jwt µs",
        "c async",
        "d block",
        "e cache",
        "c/a",
        "c/b",
        "d/a",
        "c-a µs"
    );
    for case in fx.all() {
        let group = case.group("verify");
        let est: Vec<Option<f64>> = BENCHES
            .iter()
            .map(|b| estimate(&group, b, since).map(|ns| ns / 1000.0))
            .collect();
        let ratio = |x: usize, y: usize| Some(est[x]? / est[y]?);
        let us = |x: Option<f64>| x.map_or_else(|| "-".into(), |u| format!("{u:.3}"));
        println!(
            "{:<9} {:>9} {:>9} {:>9} {:>9} {:>9}   {} {} {}  {:>6}",
            label(case),
            us(est[0]),
            us(est[1]),
            us(est[2]),
            us(est[3]),
            us(est[4]),
            fmt_ratio(ratio(2, 0)),
            fmt_ratio(ratio(2, 1)),
            fmt_ratio(ratio(3, 0)),
            us(est[2].zip(est[0]).map(|(c, a)| c - a)),
        );
    }
    println!("(goal: c/a <= 1.10; e = verified-token-cache hit, in µs)");

    println!();
    println!(
        "== Cross-check, own timing: a, b, c, d in alternating batches of ~2 ms, {ROUNDS} rounds =="
    );
    println!("   min = ratio of the fastest batches (robust to other load); med = median ratio");
    println!(
        "{:<9} {:>7} {:>7} {:>7} {:>7} {:>7} {:>7} {:>9} {:>9}",
        "alg",
        "c/a min",
        "c/a med",
        "d/a min",
        "d/a med",
        "c/b min",
        "c/b med",
        "c-a µs min",
        "c-a µs med"
    );
    let mut added = Vec::new();
    for case in fx.all() {
        // ~2 ms per batch whatever the algorithm.
        let mut raw_once = |n: u32| {
            for _ in 0..n {
                assert!(black_box(case).raw_verify());
            }
        };
        let per = time(200, &mut raw_once) / 200;
        let n = ((Duration::from_millis(2).as_nanos() / per.as_nanos().max(1)) as u32).max(20);
        let token = case.token.as_str();
        let raw = |n: u32| {
            for _ in 0..n {
                assert!(black_box(case).raw_verify());
            }
        };
        let async_c = |n: u32| {
            v.rt.block_on(async {
                for _ in 0..n {
                    black_box(v.async_v.verify_access_token(black_box(token)).await).unwrap();
                }
            })
        };
        let blocking_d = |n: u32| {
            for _ in 0..n {
                black_box(v.blocking_v.verify_access_token(black_box(token))).unwrap();
            }
        };
        let (jwt_key, validation) = jwt_setup(fx, case);
        let jwt_b = |n: u32| {
            for _ in 0..n {
                assert!(jwt_decode(black_box(token), &jwt_key, &validation));
            }
        };
        let ca = paired_ratio(ROUNDS, n, raw, async_c);
        let da = paired_ratio(ROUNDS, n, raw, blocking_d);
        let cb = paired_ratio(ROUNDS, n, jwt_b, async_c);
        println!(
            "{:<9} {:7.3} {:7.3} {:7.3} {:7.3} {:7.3} {:7.3} {:9.3} {:9.3}",
            label(case),
            ca.min,
            ca.median,
            da.min,
            da.median,
            cb.min,
            cb.median,
            ca.diff_us,
            ca.median_diff_us
        );
        added.push((case.name, case.payload_len(), ca.median_diff_us));
    }
    println!();
    println!("== Size slope: added cost (c - a, median) per KB of decoded payload ==");
    for (name, small, large) in fx.cases.iter().map(|s| {
        let pick = |size: usize| added.iter().filter(|a| a.0 == s.name).nth(size).copied();
        (s.name, pick(0), pick(1))
    }) {
        if let (Some((_, ps, us)), Some((_, pl, ul))) = (small, large) {
            let kb = (pl as f64 - ps as f64) / 1024.0;
            println!(
                "{name:<6} payload {ps} B -> {pl} B: c-a {us:.3} -> {ul:.3} µs, slope {:.3} µs/KB",
                (ul - us) / kb
            );
        }
    }
}

/// `RS256` for the small token, `RS256-kc` for the Keycloak-sized one.
fn label(case: &Case) -> String {
    match case.size {
        "small" => case.name.to_owned(),
        _ => format!("{}-kc", case.name),
    }
}

fn main() {
    let args: Vec<String> = std::env::args().collect();
    // `cargo bench` passes --bench; `cargo test --benches` does not (criterion then runs
    // each bench once as a smoke test), and --list only lists.
    let measuring =
        args.iter().any(|a| a == "--bench") && !args.iter().any(|a| a == "--list" || a == "--test");
    let started = SystemTime::now();
    let wall = Instant::now();

    let fx = Fixture::new();
    let v = verifiers(&fx);
    let fetches_after_warmup = fx.issuer.fetch_count();
    if measuring {
        println!(
            "machine: {} CPUs, {}; loadavg at start {}",
            std::thread::available_parallelism().map_or(0, |n| n.get()),
            cpu_model(),
            loadavg()
        );
    }

    let mut c = Criterion::default()
        .measurement_time(Duration::from_secs(3))
        .warm_up_time(Duration::from_secs(1))
        .sample_size(30)
        .configure_from_args();
    for case in fx.all() {
        bench_case(&mut c, &fx, &v, case);
    }
    c.final_summary();

    assert_eq!(
        fx.issuer.fetch_count(),
        fetches_after_warmup,
        "the key set must stay warm: no fetch during measurement"
    );
    if measuring {
        report(&fx, &v, started);
        println!();
        println!(
            "key-set fetches during measurement: 0; loadavg at end {}; bench wall time {:.1} s",
            loadavg(),
            wall.elapsed().as_secs_f64()
        );
    }
}

fn cpu_model() -> String {
    std::fs::read_to_string("/proc/cpuinfo")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("model name"))
                .and_then(|l| l.split(':').nth(1))
                .map(|m| m.trim().to_owned())
        })
        .unwrap_or_else(|| "unknown CPU".into())
}
