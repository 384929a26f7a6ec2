//! A plain loop over one flavour of verification, for profilers (callgrind, perf) and for
//! instruction counts that do not depend on how busy the machine is.
//!
//! `hotpath [--alg RS256|ES256|EdDSA] [--size small|keycloak] [--what raw|async|blocking|cache|jwt|none] [--iters N]`
//!
//! With no `--alg`/`--what` (as under `cargo bench`), it runs every combination for a
//! short while and prints ns per verification. `--what none` does the setup only, so a
//! profile of it can be subtracted from the others.
//!
//! Profile, e.g.:
//! ```text
//! valgrind --tool=callgrind --toggle-collect='hotpath::measured*' \
//!     --callgrind-out-file=cg.async \
//!     target/release/deps/hotpath-<hash> --alg RS256 --what async --iters 2000
//! callgrind_annotate --inclusive=yes cg.async | head -60
//! ```

mod common;

use std::hint::black_box;
use std::time::Instant;

use jsonwebtoken::{DecodingKey, Validation};
use serde_json::{Map, Value};
use verifier_core::{AsyncJwtVerifier, JwtVerifier};

use common::{jwt_setup, Case, Fixture};

const WHATS: [&str; 5] = ["raw", "jwt", "async", "blocking", "cache"];

fn arg(args: &[String], name: &str) -> Option<String> {
    args.iter()
        .position(|a| a == name)
        .and_then(|i| args.get(i + 1).cloned())
}

struct Setup {
    rt: tokio::runtime::Runtime,
    async_v: AsyncJwtVerifier,
    cached_v: AsyncJwtVerifier,
    blocking_v: JwtVerifier,
}

/// Runs `what` `iters` times; returns ns per iteration.
fn run(fx: &Fixture, s: &Setup, case: &Case, what: &str, iters: u32) -> f64 {
    let jwt = jwt_setup(fx, case);
    let start = Instant::now();
    measured(s, case, &jwt, what, iters);
    start.elapsed().as_nanos() as f64 / f64::from(iters.max(1))
}

/// The loop alone, never inlined, so that a profiler can collect just this function:
/// `valgrind --tool=callgrind --toggle-collect='hotpath::measured*' ...`.
#[inline(never)]
fn measured(s: &Setup, case: &Case, jwt: &(DecodingKey, Validation), what: &str, iters: u32) {
    let token = case.token.as_str();
    match what {
        "none" => {}
        "raw" => {
            for _ in 0..iters {
                assert!(black_box(case).raw_verify());
            }
        }
        "jwt" => {
            for _ in 0..iters {
                jsonwebtoken::decode::<Map<String, Value>>(black_box(token), &jwt.0, &jwt.1)
                    .unwrap();
            }
        }
        "async" => s.rt.block_on(async {
            for _ in 0..iters {
                black_box(s.async_v.verify_access_token(black_box(token)).await).unwrap();
            }
        }),
        "cache" => s.rt.block_on(async {
            for _ in 0..iters {
                black_box(s.cached_v.verify_access_token(black_box(token)).await).unwrap();
            }
        }),
        "blocking" => {
            for _ in 0..iters {
                black_box(s.blocking_v.verify_access_token(black_box(token))).unwrap();
            }
        }
        other => panic!("unknown --what {other}"),
    }
}

fn main() {
    let args: Vec<String> = std::env::args().collect();
    let fx = Fixture::new();
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let async_v = AsyncJwtVerifier::new(fx.config().build().unwrap()).unwrap();
    let cached_v =
        AsyncJwtVerifier::new(fx.config().verified_token_cache(1024).build().unwrap()).unwrap();
    let blocking_v = JwtVerifier::new(fx.config().build().unwrap()).unwrap();
    for case in &fx.cases {
        rt.block_on(async_v.verify_access_token(&case.token))
            .unwrap();
        rt.block_on(cached_v.verify_access_token(&case.token))
            .unwrap();
        blocking_v.verify_access_token(&case.token).unwrap();
    }
    let s = Setup {
        rt,
        async_v,
        cached_v,
        blocking_v,
    };

    let alg = arg(&args, "--alg");
    let what = arg(&args, "--what");
    if alg.is_some() || what.is_some() {
        let alg = alg.unwrap_or_else(|| "RS256".into());
        let what = what.unwrap_or_else(|| "async".into());
        let iters: u32 = arg(&args, "--iters").map_or(2000, |n| n.parse().expect("--iters N"));
        let size = arg(&args, "--size").unwrap_or_else(|| "small".into());
        let case = fx
            .all()
            .find(|c| c.name == alg && c.size == size)
            .expect("--alg RS256|ES256|EdDSA --size small|keycloak");
        let ns = run(&fx, &s, case, &what, iters);
        println!("{alg} {size} {what}: {iters} iterations, {ns:.0} ns each");
        return;
    }
    // Overview (what `cargo bench` runs): short, so not precise; see benches/verify.rs.
    let iters = if args.iter().any(|a| a == "--bench") {
        1000
    } else {
        10
    };
    for case in fx.all() {
        let line: Vec<String> = WHATS
            .iter()
            .map(|w| format!("{w} {:.0} ns", run(&fx, &s, case, w, iters)))
            .collect();
        println!("hotpath {} {}: {}", case.name, case.size, line.join(", "));
    }
}
