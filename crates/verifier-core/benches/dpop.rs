//! DPoP at the cost of its two signatures (issue 14, SPEC-2 DP33): warm
//! `authenticate` with an ES256 token bound to an ES256 proof key, against two raw
//! ES256 signature checks (the token's and the proof's, pre-parsed keys) in the same
//! process: the floor for DPoP. Also the Bearer path through `authenticate` against
//! `verify_access_token`.
//!
//! `cargo bench -p verifier-core --bench dpop`
//!
//! Each proof is single-use (replay protection), so every timed request gets a proof
//! made before its batch; proofs are made per batch so none outlives the 60 s window.
//! Alternating batches, median of per-round ratios (robust on a loaded machine), and the
//! ratio of the fastest batches (robust to bursts of other load).
//!
//! `dpop --what dpop|raw2|none --iters N` instead runs one plain loop, for instruction
//! counts (the proofs are made before the loop):
//! ```text
//! valgrind --tool=callgrind --toggle-collect='dpop::measured*' \
//!     --callgrind-out-file=cg.dpop target/release/deps/dpop-<hash> --what dpop --iters 500
//! ```

mod common;

use std::hint::black_box;
use std::time::Instant;

use aws_lc_rs::signature::{self, ParsedPublicKey};
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine as _;
use http::header::AUTHORIZATION;
use http::{HeaderMap, HeaderValue, Method, Uri};
use verifier_core::dpop::{DpopConfig, DpopMode, DpopVerifier};
use verifier_core::{AsyncJwtVerifier, RequestParts};
use verifier_testkit::{Alg, DpopProof, TestKey};

use common::Fixture;

const ROUNDS: usize = 41;
const BATCH: usize = 200;
const URL: &str = "https://api.example.com/me";

/// `header.payload` and the decoded signature of a compact JWS.
fn split(jws: &str) -> (Vec<u8>, Vec<u8>) {
    let (input, sig) = jws.rsplit_once('.').unwrap();
    (
        input.as_bytes().to_vec(),
        URL_SAFE_NO_PAD.decode(sig).unwrap(),
    )
}

fn es256(key: &TestKey) -> ParsedPublicKey {
    ParsedPublicKey::new(&signature::ECDSA_P256_SHA256_FIXED, key.public_key_bytes()).unwrap()
}

fn median(mut ratios: Vec<f64>) -> f64 {
    ratios.sort_by(f64::total_cmp);
    ratios[ratios.len() / 2]
}

fn arg(args: &[String], name: &str) -> Option<String> {
    args.iter()
        .position(|a| a == name)
        .and_then(|i| args.get(i + 1).cloned())
}

/// The loop alone, never inlined, so that a profiler can collect just this function:
/// `valgrind --tool=callgrind --toggle-collect='dpop::measured*' ...`.
#[inline(never)]
fn measured(
    rt: &tokio::runtime::Runtime,
    verifier: &AsyncJwtVerifier,
    requests: &[HeaderMap],
    raw_two: &dyn Fn(),
    what: &str,
) {
    let (method, uri) = (Method::GET, Uri::from_static("/me"));
    match what {
        "none" => {}
        "raw2" => {
            for _ in requests {
                raw_two();
            }
        }
        "dpop" => rt.block_on(async {
            for h in requests {
                let parts = RequestParts::new(&method, &uri, h);
                black_box(verifier.authenticate(parts).await).unwrap();
            }
        }),
        other => panic!("unknown --what {other}"),
    }
}

fn main() {
    let args: Vec<String> = std::env::args().collect();
    let fx = Fixture::new();
    let case = fx.cases.iter().find(|c| c.name == "ES256").unwrap();
    let holder = TestKey::generate(Alg::ES256, "holder");
    let token = fx
        .issuer
        .token_for(&case.key)
        .claim("exp", serde_json::json!(verifier_testkit::now() + 3600))
        .cnf_jkt(&holder)
        .build();
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let dpop = DpopConfig::builder()
        .mode(DpopMode::Allowed)
        .public_base_url("https://api.example.com")
        .replay_cache_size(16 * 1024 * 1024)
        .build()
        .unwrap();
    let verifier = AsyncJwtVerifier::builder()
        .issuer(fx.config().build().unwrap())
        .dpop(DpopVerifier::new(dpop))
        .build()
        .unwrap();
    let plain = AsyncJwtVerifier::new(fx.config().build().unwrap()).unwrap();
    let (method, uri) = (Method::GET, Uri::from_static("/me"));
    let proofs = |n: usize| -> Vec<HeaderMap> {
        (0..n)
            .map(|_| {
                let proof = DpopProof::new(&holder)
                    .htm("GET")
                    .htu(URL)
                    .ath_for(&token)
                    .build();
                let mut h = HeaderMap::new();
                h.insert(
                    AUTHORIZATION,
                    HeaderValue::from_str(&format!("DPoP {token}")).unwrap(),
                );
                h.insert("dpop", HeaderValue::from_str(&proof).unwrap());
                h
            })
            .collect()
    };
    // Warm: the key set is fetched once.
    let warm = proofs(1);
    rt.block_on(verifier.authenticate(RequestParts::new(&method, &uri, &warm[0])))
        .unwrap()
        .unwrap();

    // The floor: the token's and one proof's signature, keys parsed once.
    let token_key = es256(&case.key);
    let proof_key = es256(&holder);
    let (token_input, token_sig) = split(&token);
    let sample = DpopProof::new(&holder)
        .htm("GET")
        .htu(URL)
        .ath_for(&token)
        .build();
    let (proof_input, proof_sig) = split(&sample);
    let raw_two = || {
        black_box(token_key.verify_sig(&token_input, &token_sig).is_ok());
        black_box(proof_key.verify_sig(&proof_input, &proof_sig).is_ok());
    };

    if let Some(what) = arg(&args, "--what") {
        let iters: usize = arg(&args, "--iters").map_or(500, |n| n.parse().expect("--iters N"));
        let requests = proofs(iters);
        let start = Instant::now();
        measured(&rt, &verifier, &requests, &raw_two, &what);
        let ns = start.elapsed().as_nanos() as f64 / iters.max(1) as f64;
        println!("{what}: {iters} iterations, {ns:.0} ns each");
        return;
    }

    let mut vs_raw = Vec::new();
    let mut dpop_us = Vec::new();
    let (mut fastest_dpop, mut fastest_raw) = (f64::MAX, f64::MAX);
    for round in 0..ROUNDS {
        let batch = proofs(BATCH);
        let time_dpop = || {
            let start = Instant::now();
            for h in &batch {
                let parts = RequestParts::new(&method, &uri, h);
                black_box(rt.block_on(verifier.authenticate(parts)).unwrap());
            }
            start.elapsed()
        };
        let time_raw = || {
            let start = Instant::now();
            for _ in 0..BATCH {
                raw_two();
            }
            start.elapsed()
        };
        let (d, r) = if round % 2 == 0 {
            let d = time_dpop();
            (d, time_raw())
        } else {
            let r = time_raw();
            (time_dpop(), r)
        };
        vs_raw.push(d.as_secs_f64() / r.as_secs_f64());
        fastest_dpop = fastest_dpop.min(d.as_secs_f64());
        fastest_raw = fastest_raw.min(r.as_secs_f64());
        dpop_us.push(d.as_secs_f64() * 1e6 / BATCH as f64);
    }

    // The Bearer path: authenticate vs verify_access_token (same unbound token).
    let bearer_token = &case.token;
    let mut bearer = HeaderMap::new();
    bearer.insert(
        AUTHORIZATION,
        HeaderValue::from_str(&format!("Bearer {bearer_token}")).unwrap(),
    );
    let mut vs_verify = Vec::new();
    let mut bearer_us = Vec::new();
    for round in 0..ROUNDS {
        let time_auth = || {
            let start = Instant::now();
            for _ in 0..BATCH {
                let parts = RequestParts::new(&method, &uri, &bearer);
                black_box(rt.block_on(plain.authenticate(parts)).unwrap());
            }
            start.elapsed()
        };
        let time_verify = || {
            let start = Instant::now();
            for _ in 0..BATCH {
                black_box(
                    rt.block_on(plain.verify_access_token(bearer_token))
                        .unwrap(),
                );
            }
            start.elapsed()
        };
        let (a, v) = if round % 2 == 0 {
            let a = time_auth();
            (a, time_verify())
        } else {
            let v = time_verify();
            (time_auth(), v)
        };
        vs_verify.push(a.as_secs_f64() / v.as_secs_f64());
        bearer_us.push(a.as_secs_f64() * 1e6 / BATCH as f64);
    }

    println!(
        "DPoP, warm, ES256 token + ES256 proof (async authenticate), {ROUNDS} rounds of {BATCH}:"
    );
    let (dpop_p50, bearer_p50) = (median(dpop_us), median(bearer_us));
    println!(
        "  vs two raw ES256 checks: median ratio {:.3} ({dpop_p50:.1} µs per request, median); \
         fastest batches {:.3}",
        median(vs_raw),
        fastest_dpop / fastest_raw
    );
    // DP33: what DPoP adds to the same token presented as Bearer, p50 of the batches.
    println!(
        "  DPoP adds {:.1} µs per request (p50: {dpop_p50:.1} µs with DPoP, {bearer_p50:.1} µs \
         as Bearer; SPEC-2 DP33: ≤ 100 µs)",
        dpop_p50 - bearer_p50
    );
    println!(
        "Bearer through authenticate vs verify_access_token: median ratio {:.3}",
        median(vs_verify)
    );
}
