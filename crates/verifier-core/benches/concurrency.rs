//! Throughput of one warm verifier shared by 1 and 2 OS threads (fixed iteration counts).
//!
//! For RS256, ES256 and EdDSA, the small and the Keycloak-sized token (`-kc`): the raw aws-lc-rs check (the scaling ceiling: no shared
//! state at all), the blocking `JwtVerifier`, and the `AsyncJwtVerifier` driven by a
//! current-thread runtime per thread (`block_on` over the whole loop). Each thread runs
//! the same fixed number of verifications; throughput = all verifications / wall time
//! from a common start (a barrier) to the last thread's end. Each configuration is run
//! seven times (1 and 2 threads alternating) and the best run is kept, which filters out
//! interference from other processes; the verifier's scaling is also shown relative to
//! the raw check's, measured in the same way (1.0 = scales as well as the crypto).
//!
//! Run: `cargo bench -p verifier-core --bench concurrency`

mod common;

use std::hint::black_box;
use std::sync::Barrier;
use std::time::Instant;

use verifier_core::{AsyncJwtVerifier, JwtVerifier};
use verifier_testkit::Alg;

use common::{loadavg, Case, Fixture};

/// Verifications per thread and run: about 0.1-0.15 s of work for each algorithm.
fn iterations(alg: Alg) -> u32 {
    match alg {
        Alg::RS256 => 8_000,
        Alg::ES256 => 2_500,
        _ => 3_500,
    }
}

/// Runs per configuration; the best is kept.
const REPEATS: usize = 7;

#[derive(Clone, Copy)]
enum Flavour {
    Raw,
    Blocking,
    Async,
}

impl Flavour {
    fn name(self) -> &'static str {
        match self {
            Flavour::Raw => "raw aws-lc-rs",
            Flavour::Blocking => "JwtVerifier",
            Flavour::Async => "AsyncJwtVerifier",
        }
    }
}

/// Verifications per second with `threads` threads, each doing `n`.
fn throughput(
    threads: usize,
    n: u32,
    flavour: Flavour,
    case: &Case,
    blocking: &JwtVerifier,
    async_v: &AsyncJwtVerifier,
) -> f64 {
    let barrier = Barrier::new(threads + 1);
    let elapsed = std::thread::scope(|s| {
        let handles: Vec<_> = (0..threads)
            .map(|_| {
                let barrier = &barrier;
                s.spawn(move || {
                    let token = case.token.as_str();
                    let rt = tokio::runtime::Builder::new_current_thread()
                        .enable_all()
                        .build()
                        .expect("runtime");
                    barrier.wait();
                    match flavour {
                        Flavour::Raw => {
                            for _ in 0..n {
                                assert!(black_box(case).raw_verify());
                            }
                        }
                        Flavour::Blocking => {
                            for _ in 0..n {
                                black_box(blocking.verify_access_token(black_box(token)))
                                    .expect("valid token");
                            }
                        }
                        Flavour::Async => rt.block_on(async {
                            for _ in 0..n {
                                black_box(async_v.verify_access_token(black_box(token)).await)
                                    .expect("valid token");
                            }
                        }),
                    }
                    Instant::now()
                })
            })
            .collect();
        barrier.wait();
        let start = Instant::now();
        let end = handles
            .into_iter()
            .map(|h| h.join().expect("bench thread"))
            .max()
            .expect("at least one thread");
        end.duration_since(start)
    });
    f64::from(n) * threads as f64 / elapsed.as_secs_f64()
}

fn main() {
    let args: Vec<String> = std::env::args().collect();
    // Under `cargo test --benches` (no --bench), only check that everything runs.
    let measuring = args.iter().any(|a| a == "--bench");
    let wall = Instant::now();

    let fx = Fixture::new();
    let blocking = JwtVerifier::new(fx.config().build().unwrap()).unwrap();
    let async_v = AsyncJwtVerifier::new(fx.config().build().unwrap()).unwrap();
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("runtime");
    for case in fx.all() {
        blocking.verify_access_token(&case.token).expect("warm up");
        rt.block_on(async_v.verify_access_token(&case.token))
            .expect("warm up");
    }
    let fetches = fx.issuer.fetch_count();

    let cpus = std::thread::available_parallelism().map_or(1, |n| n.get());
    println!("{cpus} CPUs; loadavg at start {}", loadavg());
    if !measuring {
        println!("(smoke test: 50 iterations, one run; the figures mean nothing)");
    }
    println!(
        "{:<9} {:<17} {:>12} {:>12} {:>9} {:>12}",
        "alg", "flavour", "1 thread/s", "2 threads/s", "2t/1t", "vs raw 2t/1t"
    );
    for case in fx.all() {
        let n = if measuring { iterations(case.alg) } else { 50 };
        let repeats = if measuring { REPEATS } else { 1 };
        let mut raw_scaling = f64::NAN;
        for flavour in [Flavour::Raw, Flavour::Blocking, Flavour::Async] {
            let (mut one, mut two) = (0.0f64, 0.0f64);
            for _ in 0..repeats {
                one = one.max(throughput(1, n, flavour, case, &blocking, &async_v));
                two = two.max(throughput(2, n, flavour, case, &blocking, &async_v));
            }
            let scaling = two / one;
            if let Flavour::Raw = flavour {
                raw_scaling = scaling;
            }
            println!(
                "{:<9} {:<17} {:>12.0} {:>12.0} {:>9.3} {:>12.3}",
                if case.size == "small" {
                    case.name.to_owned()
                } else {
                    format!("{}-kc", case.name)
                },
                flavour.name(),
                one,
                two,
                scaling,
                scaling / raw_scaling
            );
        }
    }
    assert_eq!(fx.issuer.fetch_count(), fetches, "no fetch while measuring");
    println!(
        "loadavg at end {}; wall time {:.1} s",
        loadavg(),
        wall.elapsed().as_secs_f64()
    );
}
