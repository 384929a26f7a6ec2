//! Warm verification with 1, 10 and 100 configured issuers (SPEC-2 §2): routing is one
//! hash lookup on the token's `iss`, so the cost must not grow with the number of issuers.
//!
//! `cargo bench -p verifier-core --bench issuers`
//!
//! The token's issuer is configured **last**, so a scan would pay for every issuer before
//! it. The other issuers hold a key set given in code (never fetched). After criterion's
//! groups, a paired run (alternating batches, median of per-round ratios) prints each
//! count's cost as a ratio to one issuer and to the raw signature check.

mod common;

use std::hint::black_box;
use std::time::{Duration, Instant};

use criterion::Criterion;
use verifier_core::{Algorithm, AsyncJwtVerifier, AuthConfig, JwtVerifier};
use verifier_testkit::DEFAULT_AUDIENCE;

use common::{Case, Fixture};

const COUNTS: [usize; 3] = [1, 10, 100];

/// `n` issuers: `n - 1` stand-ins with the same keys given in code, then the fixture's.
fn configs(fx: &Fixture, n: usize) -> Vec<AuthConfig> {
    let jwks = serde_json::to_string(&fx.issuer.jwks()).unwrap();
    let mut configs: Vec<AuthConfig> = (1..n)
        .map(|i| {
            AuthConfig::builder()
                .issuer(format!("https://tenant-{i}.example/"))
                .audience(DEFAULT_AUDIENCE)
                .allowed_algs([Algorithm::RS256, Algorithm::ES256, Algorithm::EdDSA])
                .static_jwks(jwks.clone())
                .build()
                .unwrap()
        })
        .collect();
    configs.push(fx.config().build().unwrap());
    configs
}

fn blocking(fx: &Fixture, n: usize) -> JwtVerifier {
    let v = JwtVerifier::builder()
        .issuers(configs(fx, n))
        .build()
        .unwrap();
    for case in &fx.cases {
        v.verify_access_token(&case.token).expect("warm-up");
    }
    v
}

fn time(n: u32, f: &mut impl FnMut()) -> Duration {
    let start = Instant::now();
    for _ in 0..n {
        f();
    }
    start.elapsed()
}

/// Median over rounds of `b`'s time over `a`'s, in alternating batches.
fn paired(rounds: usize, n: u32, mut a: impl FnMut(), mut b: impl FnMut()) -> f64 {
    let mut ratios: Vec<f64> = (0..rounds)
        .map(|i| {
            let (ta, tb) = if i % 2 == 0 {
                let ta = time(n, &mut a);
                (ta, time(n, &mut b))
            } else {
                let tb = time(n, &mut b);
                (time(n, &mut a), tb)
            };
            tb.as_secs_f64() / ta.as_secs_f64()
        })
        .collect();
    ratios.sort_by(f64::total_cmp);
    ratios[ratios.len() / 2]
}

fn bench(c: &mut Criterion, fx: &Fixture, case: &Case, rt: &tokio::runtime::Runtime) {
    let mut group = c.benchmark_group(format!("issuers-{}", case.name));
    group.bench_function("raw", |b| b.iter(|| black_box(case).raw_verify()));
    for n in COUNTS {
        let v = rt.block_on(async {
            let v = AsyncJwtVerifier::builder()
                .issuers(configs(fx, n))
                .build()
                .unwrap();
            v.verify_access_token(&case.token).await.expect("warm-up");
            v
        });
        group.bench_function(format!("async-{n}"), |b| {
            b.iter(|| {
                rt.block_on(v.verify_access_token(black_box(&case.token)))
                    .unwrap()
            })
        });
    }
    group.finish();
}

fn main() {
    let fx = Fixture::new();
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let mut c = Criterion::default()
        .configure_from_args()
        .warm_up_time(Duration::from_millis(500))
        .measurement_time(Duration::from_secs(2));
    for case in &fx.cases {
        bench(&mut c, &fx, case, &rt);
    }
    c.final_summary();

    println!("\nwarm verification (blocking) by number of issuers, token's issuer last;");
    println!("median of per-round ratios over alternating batches (same process):");
    println!("alg    | issuers | vs 1 issuer | vs raw check");
    for case in &fx.cases {
        let one = blocking(&fx, 1);
        for n in COUNTS {
            let v = blocking(&fx, n);
            let verify = || {
                black_box(v.verify_access_token(black_box(&case.token)).unwrap());
            };
            let base = || {
                black_box(one.verify_access_token(black_box(&case.token)).unwrap());
            };
            let raw = || {
                black_box(case.raw_verify());
            };
            let vs_one = paired(21, 200, base, verify);
            let vs_raw = paired(21, 200, raw, verify);
            println!(
                "{:<6} | {n:>7} | {vs_one:>11.3} | {vs_raw:>12.3}",
                case.name
            );
        }
    }
}
