//! What the axum integration adds to a request, beyond the signature check.
//!
//! In process, no sockets: `tower::ServiceExt::oneshot` on a cloned `Router`, on a
//! current-thread runtime (criterion's `to_async`, one `block_on` per batch). Every request
//! carries the same `Authorization: Bearer <token>` header and the handler returns the
//! same static body, so the only difference between the variants is authentication:
//! - `plain`: the handler without auth (the header is ignored);
//! - `<ALG>/extractor`: the handler takes `verifier_axum::Claims` (verification in the
//!   extractor, with `Auth` as router state);
//! - `<ALG>/route_layer`: `route_layer(auth.layer())` verifies, the `Claims` extractor
//!   picks the claims up from the request extensions;
//! - `<ALG>/raw_aws_lc`: the raw aws-lc-rs check of the token's signature with a
//!   pre-parsed key (decoded once).
//!
//! Reported: framework overhead = (auth variant - plain) - raw verification, in µs: the
//! cost of header parsing, token parsing, claims policy, extensions and the extractor.
//! Both from criterion's estimates of this run and from an own-timing cross-check
//! (variants in alternating ~2 ms batches, fastest batch of each, robust to other load).
//!
//! Run: `cargo bench -p verifier-axum --bench overhead`

use std::hint::black_box;
use std::path::PathBuf;
use std::time::{Duration, Instant, SystemTime};

use aws_lc_rs::signature::{self, ParsedPublicKey};
use axum::body::Body;
use axum::http::{header::AUTHORIZATION, Request, StatusCode};
use axum::routing::get;
use axum::Router;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine as _;
use criterion::Criterion;
use serde_json::{json, Value};
use tokio::runtime::Runtime;
use tower::ServiceExt as _;
use verifier_axum::{Auth, Claims};
use verifier_core::{Algorithm, AsyncJwtVerifier, AuthConfig};
use verifier_testkit::{now, Alg, TestIssuer, TestKey, DEFAULT_AUDIENCE};

const ALGS: [(Alg, &str); 3] = [
    (Alg::RS256, "RS256"),
    (Alg::ES256, "ES256"),
    (Alg::EdDSA, "EdDSA"),
];

struct Case {
    name: &'static str,
    /// `Bearer <token>`.
    authorization: String,
    signing_input: Vec<u8>,
    signature: Vec<u8>,
    raw_key: ParsedPublicKey,
}

impl Case {
    fn raw_verify(&self) -> bool {
        self.raw_key
            .verify_sig(&self.signing_input, &self.signature)
            .is_ok()
    }
}

fn raw_key(alg: Alg, key: &TestKey) -> ParsedPublicKey {
    let params: &'static dyn signature::VerificationAlgorithm = match alg {
        Alg::RS256 => &signature::RSA_PKCS1_2048_8192_SHA256,
        Alg::ES256 => &signature::ECDSA_P256_SHA256_FIXED,
        _ => &signature::ED25519,
    };
    ParsedPublicKey::new(params, key.public_key_bytes()).expect("public key")
}

async fn plain() -> &'static str {
    "ok"
}

async fn authed(Claims(claims): Claims) -> &'static str {
    black_box(claims);
    "ok"
}

fn request(authorization: &str) -> Request<Body> {
    Request::builder()
        .uri("/me")
        .header(AUTHORIZATION, authorization)
        .body(Body::empty())
        .expect("request")
}

async fn call(router: &Router, authorization: &str) -> StatusCode {
    router
        .clone()
        .oneshot(request(authorization))
        .await
        .expect("infallible")
        .status()
}

struct Setup {
    rt: Runtime,
    plain: Router,
    extractor: Router,
    layered: Router,
    cases: Vec<Case>,
    _issuer: TestIssuer,
}

fn setup() -> Setup {
    let keys: Vec<TestKey> = ALGS
        .iter()
        .map(|(alg, name)| TestKey::generate(*alg, format!("bench-{name}")))
        .collect();
    let issuer = TestIssuer::start_with_keys(&keys);
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("runtime");
    let config = AuthConfig::builder()
        .issuer(issuer.issuer())
        .audience(DEFAULT_AUDIENCE)
        .jwks_url(issuer.jwks_url())
        .allowed_algs([Algorithm::RS256, Algorithm::ES256, Algorithm::EdDSA])
        .jwks_cache_ttl(Duration::from_secs(3600))
        .build()
        .expect("config");
    let auth = Auth::new(AsyncJwtVerifier::new(config).expect("verifier"));
    let plain = Router::new().route("/me", get(plain));
    let extractor = Router::new()
        .route("/me", get(authed))
        .with_state(auth.clone());
    let layered = Router::new()
        .route("/me", get(authed))
        .route_layer(auth.layer())
        .with_state(auth);
    let cases: Vec<Case> = ALGS
        .iter()
        .zip(&keys)
        .map(|((alg, name), key)| {
            let token = issuer
                .token_for(key)
                .claim("exp", json!(now() + 3600))
                .claim("scope", json!("read:items write:items"))
                .claim("jti", json!("3f1c2a9e-6b7d-4f0e-9a51-0c8d2e7b4a10"))
                .build();
            let (signing_input, sig) = token.rsplit_once('.').expect("compact JWS");
            let case = Case {
                name,
                authorization: format!("Bearer {token}"),
                signing_input: signing_input.as_bytes().to_vec(),
                signature: URL_SAFE_NO_PAD.decode(sig).expect("signature"),
                raw_key: raw_key(*alg, key),
            };
            assert!(case.raw_verify(), "{name}: raw verification");
            case
        })
        .collect();
    // Warm up: the first request fetches the key set; every variant must answer 200.
    for case in &cases {
        for router in [&plain, &extractor, &layered] {
            let status = rt.block_on(call(router, &case.authorization));
            assert_eq!(status, StatusCode::OK, "{}", case.name);
        }
    }
    assert_eq!(
        rt.block_on(call(&extractor, "Bearer not-a-token")),
        StatusCode::UNAUTHORIZED,
        "a bad token must be refused (the auth variants really authenticate)"
    );
    Setup {
        rt,
        plain,
        extractor,
        layered,
        cases,
        _issuer: issuer,
    }
}

const GROUP: &str = "axum-overhead";

fn benches(c: &mut Criterion, s: &Setup) {
    let mut group = c.benchmark_group(GROUP);
    let any = &s.cases[0].authorization;
    group.bench_function("plain", |b| {
        b.to_async(&s.rt).iter(|| call(&s.plain, black_box(any)))
    });
    for case in &s.cases {
        let auth = case.authorization.as_str();
        group.bench_function(format!("{}_raw_aws_lc", case.name), |b| {
            b.iter(|| black_box(case).raw_verify())
        });
        group.bench_function(format!("{}_extractor", case.name), |b| {
            b.to_async(&s.rt)
                .iter(|| call(&s.extractor, black_box(auth)))
        });
        group.bench_function(format!("{}_route_layer", case.name), |b| {
            b.to_async(&s.rt).iter(|| call(&s.layered, black_box(auth)))
        });
    }
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
    let exe = std::env::current_exe().expect("current exe");
    exe.ancestors()
        .nth(3)
        .map(|t| t.join("criterion"))
        .unwrap_or_else(|| "target/criterion".into())
}

/// Criterion's estimate for one bench of this run, in µs (slope, else mean).
fn estimate_us(bench: &str, since: SystemTime) -> Option<f64> {
    let path = criterion_home()
        .join(GROUP)
        .join(bench)
        .join("new")
        .join("estimates.json");
    if std::fs::metadata(&path).ok()?.modified().ok()? < since {
        return None;
    }
    let doc: Value = serde_json::from_slice(&std::fs::read(&path).ok()?).ok()?;
    doc["slope"]["point_estimate"]
        .as_f64()
        .or_else(|| doc["mean"]["point_estimate"].as_f64())
        .map(|ns| ns / 1000.0)
}

/// The fastest of `rounds` batches of `n` calls of each closure, interleaved, in µs per call.
fn fastest(rounds: usize, n: u32, fs: &mut [&mut dyn FnMut(u32)]) -> Vec<f64> {
    let mut best = vec![Duration::MAX; fs.len()];
    for round in 0..rounds {
        for k in 0..fs.len() {
            // Rotate the order so no variant always runs first.
            let i = (k + round) % fs.len();
            let start = Instant::now();
            fs[i](n);
            best[i] = best[i].min(start.elapsed());
        }
    }
    best.iter()
        .map(|d| d.as_secs_f64() * 1e6 / f64::from(n))
        .collect()
}

/// `n` requests through `router`, as one `block_on`.
fn run<'a>(rt: &'a Runtime, router: &'a Router, auth: &'a str) -> impl FnMut(u32) + 'a {
    move |n| {
        rt.block_on(async {
            for _ in 0..n {
                black_box(call(router, black_box(auth)).await);
            }
        })
    }
}

fn report(s: &Setup, since: SystemTime) {
    let fmt = |x: Option<f64>| x.map_or_else(|| "-".to_owned(), |v| format!("{v:.3}"));
    println!();
    println!("== axum framework overhead, criterion estimates of this run (µs) ==");
    println!("   overhead = (auth variant - plain) - raw verification");
    let plain = estimate_us("plain", since);
    println!("plain handler: {} µs", fmt(plain));
    println!(
        "{:<6} {:>9} {:>10} {:>12} {:>13} {:>15}",
        "alg", "raw", "extractor", "route_layer", "overhead ext", "overhead layer"
    );
    for case in &s.cases {
        let raw = estimate_us(&format!("{}_raw_aws_lc", case.name), since);
        let ext = estimate_us(&format!("{}_extractor", case.name), since);
        let layer = estimate_us(&format!("{}_route_layer", case.name), since);
        let over = |v: Option<f64>| Some(v? - plain? - raw?);
        println!(
            "{:<6} {:>9} {:>10} {:>12} {:>13} {:>15}",
            case.name,
            fmt(raw),
            fmt(ext),
            fmt(layer),
            fmt(over(ext)),
            fmt(over(layer))
        );
    }

    println!();
    println!("== Cross-check, own timing: fastest of 101 interleaved ~2 ms batches (µs) ==");
    println!(
        "{:<6} {:>9} {:>9} {:>10} {:>12} {:>13} {:>15}",
        "alg", "plain", "raw", "extractor", "route_layer", "overhead ext", "overhead layer"
    );
    for case in &s.cases {
        let auth = case.authorization.as_str();
        let mut plain = run(&s.rt, &s.plain, auth);
        let mut ext = run(&s.rt, &s.extractor, auth);
        let mut layer = run(&s.rt, &s.layered, auth);
        let mut raw = |n: u32| {
            for _ in 0..n {
                assert!(black_box(case).raw_verify());
            }
        };
        // ~2 ms per batch of the slowest variant.
        let start = Instant::now();
        layer(50);
        let per = start.elapsed() / 50;
        let n = ((Duration::from_millis(2).as_nanos() / per.as_nanos().max(1)) as u32).max(10);
        let t = fastest(101, n, &mut [&mut plain, &mut raw, &mut ext, &mut layer]);
        println!(
            "{:<6} {:>9.3} {:>9.3} {:>10.3} {:>12.3} {:>13.3} {:>15.3}",
            case.name,
            t[0],
            t[1],
            t[2],
            t[3],
            t[2] - t[0] - t[1],
            t[3] - t[0] - t[1]
        );
    }
}

fn main() {
    let args: Vec<String> = std::env::args().collect();
    // `cargo bench` passes --bench; under `cargo test --benches` criterion runs each
    // bench once and the report is skipped.
    let measuring =
        args.iter().any(|a| a == "--bench") && !args.iter().any(|a| a == "--list" || a == "--test");
    let started = SystemTime::now();
    let s = setup();
    let mut c = Criterion::default()
        .measurement_time(Duration::from_secs(3))
        .warm_up_time(Duration::from_secs(1))
        .sample_size(30)
        .configure_from_args();
    benches(&mut c, &s);
    c.final_summary();
    if measuring {
        report(&s, started);
    }
}
