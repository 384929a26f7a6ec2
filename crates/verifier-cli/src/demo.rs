//! `oidc-verify demo`: a scripted tour of the axum integration against the test issuer.
//!
//! Everything runs in-process on 127.0.0.1: the `verifier_testkit::TestIssuer` (JWKS and
//! tokens) and an axum API with the routes of the example servers (`/healthz`, `/me`,
//! `/admin` requiring scope `admin`, realm `api`). Each request is printed with its
//! status and its `WWW-Authenticate` or `Retry-After` header; the exit code is 0 only if
//! every step got the expected status.

use std::io;
use std::time::Duration;

use axum::extract::State;
use axum::http::StatusCode;
use axum::routing::get;
use axum::{Json, Router};
use reqwest::header::{RETRY_AFTER, WWW_AUTHENTICATE};
use serde_json::{json, Value};
use verifier_axum::{Auth, Claims};
use verifier_core::{AsyncJwtVerifier, AuthConfig};
use verifier_testkit::{now, Fault, TestIssuer, DEFAULT_AUDIENCE};

use crate::Outcome;

const REALM: &str = "api";
/// The example servers the tour points at, with their integration feature.
const EXAMPLES: [(&str, &str); 3] = [
    ("axum_api", "axum"),
    ("actix_api", "actix"),
    ("tower_api", "tower"),
];
/// A short key-set TTL, so the tour can get past it in well under a second (the
/// default is 300 s; the tour says so).
const TTL: Duration = Duration::from_millis(400);
/// Past the TTL, a key set keeps serving this long while the issuer fails.
const MAX_STALE: Duration = Duration::from_secs(60);
/// Retry delay after a failed fetch (jittered between half and all of it; no growth).
const BACKOFF: Duration = Duration::from_millis(200);

/// `GET /healthz`: 200 when a usable key can be had (`healthcheck(false)`), else 503.
async fn healthz(State(auth): State<Auth>) -> (StatusCode, Json<Value>) {
    if auth.verifier().healthcheck(false).await {
        (StatusCode::OK, Json(json!({"status": "ok"})))
    } else {
        (
            StatusCode::SERVICE_UNAVAILABLE,
            Json(json!({"status": "unavailable"})),
        )
    }
}

/// `GET /me` and `GET /admin`: the verified claims.
async fn me(Claims(claims): Claims) -> Json<verifier_core::Claims> {
    Json(claims)
}

/// The API of the example servers (`examples/*_api.rs`).
fn app(auth: Auth) -> Router {
    Router::new()
        .route("/healthz", get(healthz))
        .route("/me", get(me))
        .route(
            "/admin",
            get(me).route_layer(auth.require_scopes(["admin"])),
        )
        .with_state(auth)
}

/// Serves the API for `verifier` on 127.0.0.1 and returns its base URL.
async fn serve(verifier: AsyncJwtVerifier) -> io::Result<String> {
    let listener = tokio::net::TcpListener::bind(("127.0.0.1", 0)).await?;
    let addr = listener.local_addr()?;
    let app = app(Auth::new(verifier).with_realm(REALM));
    tokio::spawn(async move {
        let _ = axum::serve(listener, app).await;
    });
    Ok(format!("http://{addr}"))
}

fn config(issuer: &TestIssuer) -> Result<AuthConfig, verifier_core::ConfigError> {
    AuthConfig::builder()
        .issuer(issuer.issuer())
        .audience(DEFAULT_AUDIENCE)
        .jwks_url(issuer.jwks_url())
        .jwks_cache_ttl(TTL)
        .jwks_max_stale(MAX_STALE)
        .jwks_backoff_initial(BACKOFF)
        // Every retry delay is at most BACKOFF, so the tour knows how long to wait.
        .jwks_backoff_max(BACKOFF)
        .jwks_timeout(Duration::from_secs(2))
        .build()
}

/// Everything is on 127.0.0.1: never go through a proxy from the environment.
fn http_client() -> reqwest::Result<reqwest::Client> {
    reqwest::Client::builder()
        .no_proxy()
        .redirect(reqwest::redirect::Policy::none())
        .timeout(Duration::from_secs(5))
        .build()
}

fn verifier(issuer: &TestIssuer) -> Result<AsyncJwtVerifier, String> {
    let config = config(issuer).map_err(|e| e.to_string())?;
    let client = http_client().map_err(|e| e.to_string())?;
    Ok(AsyncJwtVerifier::with_client(config, client))
}

/// What a `/me` answer says about the verified token: its subject and scopes.
fn claims_line(body: &str) -> Option<String> {
    let claims: Value = serde_json::from_str(body).ok()?;
    let sub = claims.get("sub")?.as_str()?;
    let scopes: Vec<&str> = match claims.get("scope") {
        Some(Value::String(scope)) => scope.split_whitespace().collect(),
        _ => Vec::new(),
    };
    Some(format!("claims: sub {sub:?}, scopes {scopes:?}"))
}

struct Tour {
    client: reqwest::Client,
    steps: usize,
    failed: usize,
}

impl Tour {
    /// One request; prints it and records whether the status was the expected one.
    async fn get(
        &mut self,
        base: &str,
        path: &str,
        token: Option<&str>,
        what: &str,
        expected: u16,
    ) {
        self.steps += 1;
        let mut request = self.client.get(format!("{base}{path}"));
        if let Some(token) = token {
            request = request.bearer_auth(token);
        }
        let line = format!("{:>2}. GET {path:<8} {what}", self.steps);
        let response = match request.send().await {
            Ok(response) => response,
            Err(err) => {
                self.failed += 1;
                println!("{line}\n    -> request failed: {err}   << UNEXPECTED, wanted {expected}");
                return;
            }
        };
        let status = response.status();
        let header = |name| {
            response
                .headers()
                .get(name)
                .map(|v: &reqwest::header::HeaderValue| {
                    String::from_utf8_lossy(v.as_bytes()).into_owned()
                })
        };
        let challenge = header(WWW_AUTHENTICATE);
        let retry_after = header(RETRY_AFTER);
        let body = response.text().await.unwrap_or_default();
        let ok = status.as_u16() == expected;
        if !ok {
            self.failed += 1;
        }
        let verdict = if ok {
            String::new()
        } else {
            format!("   << UNEXPECTED, wanted {expected}")
        };
        println!("{line}\n    -> {status}{verdict}");
        if let Some(challenge) = challenge {
            println!("       WWW-Authenticate: {challenge}");
        }
        if let Some(retry_after) = retry_after {
            println!("       Retry-After: {retry_after}");
        }
        if !status.is_success() && !body.is_empty() {
            println!("       body: {body}");
        }
        if status.is_success() {
            if let Some(claims) = claims_line(&body) {
                println!("       {claims}");
            }
        }
    }

    /// A check that is not an HTTP status (printed, counted as a step).
    fn check(&mut self, what: &str, ok: bool) {
        self.steps += 1;
        if !ok {
            self.failed += 1;
        }
        let verdict = if ok { "yes" } else { "NO   << UNEXPECTED" };
        println!("{:>2}. {what}\n    -> {verdict}", self.steps);
    }
}

pub(crate) async fn run() -> Outcome {
    match tour().await {
        Ok(outcome) => outcome,
        Err(err) => {
            eprintln!("error: the demo could not run: {err}");
            Outcome::Rejected
        }
    }
}

async fn tour() -> Result<Outcome, String> {
    let issuer = TestIssuer::start();
    let warm = verifier(&issuer)?;
    let base = serve(warm.clone()).await.map_err(|e| e.to_string())?;
    let mut tour = Tour {
        client: http_client().map_err(|e| e.to_string())?,
        steps: 0,
        failed: 0,
    };

    let valid = issuer.token().claim("scope", json!("read")).build();
    let admin = issuer.token().claim("scope", json!("read admin")).build();
    let expired = issuer.token().claim("exp", json!(now() - 3600)).build();
    let alg_none = issuer
        .token()
        .header("alg", json!("none"))
        .signature(Vec::new())
        .build();
    // The admin token's header and payload with the plain token's signature.
    let forged = match (admin.rsplit_once('.'), valid.rsplit_once('.')) {
        (Some((signed_part, _)), Some((_, signature))) => format!("{signed_part}.{signature}"),
        _ => return Err("the test issuer made a token that is not a compact JWS".into()),
    };

    println!("oidc-verify demo");
    println!(
        "  test issuer  {}  (JWKS {})",
        issuer.issuer(),
        issuer.jwks_url()
    );
    println!("  axum API     {base}  (realm \"{REALM}\"; /healthz public, /me authenticated, /admin needs scope admin)");
    println!(
        "  key-set cache: TTL {} ms, max stale {} s, retry backoff up to {} ms",
        TTL.as_millis(),
        MAX_STALE.as_secs(),
        BACKOFF.as_millis()
    );
    println!(
        "    (shortened for the demo, so it gets past the TTL in under a second; the defaults are"
    );
    println!("     TTL 300 s, max stale 3600 s, backoff 1 s doubling up to 60 s)");

    println!("\n== Tokens");
    tour.get(
        &base,
        "/healthz",
        None,
        "readiness probe (public; fetches the JWKS)",
        200,
    )
    .await;
    tour.get(&base, "/me", Some(&valid), "a valid token", 200)
        .await;
    tour.get(
        &base,
        "/me",
        None,
        "no Authorization header (challenge without error=)",
        401,
    )
    .await;
    tour.get(
        &base,
        "/me",
        Some(&expired),
        "a token that expired an hour ago",
        401,
    )
    .await;
    tour.get(
        &base,
        "/me",
        Some(&alg_none),
        "alg \"none\" (never accepted)",
        401,
    )
    .await;
    tour.get(
        &base,
        "/me",
        Some(&forged),
        "admin scope pasted onto another token's signature",
        401,
    )
    .await;
    tour.get(
        &base,
        "/admin",
        Some(&valid),
        "a valid token without scope admin",
        403,
    )
    .await;
    tour.get(
        &base,
        "/admin",
        Some(&admin),
        "a valid token with scope admin",
        200,
    )
    .await;

    println!("\n== The issuer goes down (its JWKS endpoint answers 500)");
    issuer.set_fault(Some(Fault::Status(500)));
    // Let any refresh that started before the fault end, then get past the TTL.
    for _ in 0..100 {
        if !warm.stats().refreshing {
            break;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    tokio::time::sleep(TTL + Duration::from_millis(150)).await;
    tour.get(
        &base,
        "/me",
        Some(&valid),
        "keys past their TTL, refresh fails: stale keys serve",
        200,
    )
    .await;
    tokio::time::sleep(Duration::from_millis(100)).await;
    tour.get(
        &base,
        "/me",
        Some(&valid),
        "again, while refreshes back off",
        200,
    )
    .await;
    // The background refresh that found the issuer down may still be finishing.
    let mut stats = warm.stats();
    for _ in 0..100 {
        if stats.failures > 0 && !stats.refreshing {
            break;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
        stats = warm.stats();
    }
    println!(
        "    (cache: serving stale = {}, fetches = {}, failed = {})",
        stats.serving_stale, stats.fetches, stats.failures
    );
    tour.check(
        "the warm verifier is serving a stale key set after failed refreshes",
        stats.serving_stale && stats.failures > 0,
    );

    println!("\n== A fresh replica starts while the issuer is down (cold cache)");
    let cold = verifier(&issuer)?;
    let cold_base = serve(cold).await.map_err(|e| e.to_string())?;
    println!("  axum API     {cold_base}  (same routes, new verifier)");
    tour.get(
        &cold_base,
        "/healthz",
        None,
        "readiness probe: no usable key",
        503,
    )
    .await;
    tour.get(
        &cold_base,
        "/me",
        Some(&valid),
        "a valid token, but no key to check it: fail closed",
        503,
    )
    .await;

    println!("\n== The issuer comes back");
    issuer.set_fault(None);
    // Past the retry delay (at most BACKOFF) of the failed fetch.
    tokio::time::sleep(BACKOFF + Duration::from_millis(150)).await;
    tour.get(
        &cold_base,
        "/me",
        Some(&valid),
        "the cold replica fetches the keys again",
        200,
    )
    .await;

    println!();
    let outcome = if tour.failed == 0 {
        println!("demo: all {} steps got the expected result", tour.steps);
        Outcome::Success
    } else {
        println!(
            "demo: {} of {} steps did NOT get the expected result",
            tour.failed, tour.steps
        );
        Outcome::Rejected
    };
    println!();
    println!("Next, try an API by hand: each example server starts a test issuer and prints");
    println!("ready-made tokens and curl commands (from a clone of the repository):");
    for (example, feature) in EXAMPLES {
        println!("  cargo run --example {example} --features {feature},testkit");
    }
    Ok(outcome)
}
