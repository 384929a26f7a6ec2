//! What the three example servers share (docs/getting-started.md): configuration from the
//! environment, or an in-process test issuer with ready-to-use tokens.
// Each example uses a part of this module.
#![allow(dead_code)]

use std::error::Error;

use oidc_jwt_verifier::testkit::{now, TestIssuer, DEFAULT_AUDIENCE};
use oidc_jwt_verifier::{Health, VerifierConfig};
use serde_json::{json, Value};

/// The realm of every example.
pub const REALM: &str = "api";

/// `LISTEN_ADDR`, default `127.0.0.1:3000`.
pub fn listen_addr() -> String {
    std::env::var("LISTEN_ADDR").unwrap_or_else(|_| "127.0.0.1:3000".to_owned())
}

/// `VerifierConfig::from_env()` when `OIDC_ISSUER` (one issuer) or `OIDC_ISSUERS`
/// (several, keys discovered) is set; otherwise a test issuer started in-process (keep it
/// alive while serving) and a configuration pointing at it. Either way the API's own
/// variables apply (`OIDC_RESOURCE`, `OIDC_MCP`, `OIDC_DPOP*`, `OIDC_TOKEN_COOKIE`, ...).
pub fn config() -> Result<(VerifierConfig, Option<TestIssuer>), Box<dyn Error>> {
    config_with(|_| None)
}

/// Like [`config`], with `defaults` for variables the environment leaves unset (the MCP
/// example's resource, say).
pub fn config_with(
    defaults: impl Fn(&str) -> Option<String>,
) -> Result<(VerifierConfig, Option<TestIssuer>), Box<dyn Error>> {
    let env = |name: &str| {
        std::env::var(name)
            .ok()
            .filter(|v| !v.trim().is_empty())
            .or_else(|| defaults(name))
    };
    if env("OIDC_ISSUER").is_some() || env("OIDC_ISSUERS").is_some() {
        return Ok((VerifierConfig::from_env_lookup(env)?, None));
    }
    let issuer = TestIssuer::start();
    let (iss, jwks) = (issuer.issuer().to_string(), issuer.jwks_url().to_string());
    // Under the MCP preset the audience defaults to the resource.
    let mcp = env("OIDC_MCP").is_some_and(|v| {
        matches!(
            v.trim().to_ascii_lowercase().as_str(),
            "1" | "true" | "yes" | "on"
        )
    });
    let config = VerifierConfig::from_env_lookup(|name| match name {
        "OIDC_ISSUER" => Some(iss.clone()),
        "OIDC_JWKS_URL" => Some(jwks.clone()),
        "OIDC_AUDIENCE" => env(name).or_else(|| (!mcp).then(|| DEFAULT_AUDIENCE.to_owned())),
        other => env(other),
    })?;
    Ok((config, Some(issuer)))
}

/// The body of `GET /healthz`: `{"status": "ok" | "unavailable"}` plus the readiness
/// view (`ready`, and per issuer its metadata and key-set state and last error).
pub fn health_body(health: &Health) -> Value {
    let mut body = serde_json::to_value(health).unwrap_or_else(|_| json!({}));
    let status = if health.ready { "ok" } else { "unavailable" };
    body["status"] = json!(status);
    body
}

/// Prints tokens from the test issuer and curl commands to try them.
pub fn print_demo(issuer: &TestIssuer, addr: &str) {
    let exp = json!(now() + 3600);
    let user = issuer.token().claim("exp", exp.clone()).build();
    let admin = issuer
        .token()
        .claim("exp", exp)
        .claim("scope", json!("admin"))
        .build();
    println!(
        "OIDC_ISSUER is not set: using the in-process test issuer {}",
        issuer.issuer()
    );
    println!("  JWKS:     {}", issuer.jwks_url());
    println!("  audience: {DEFAULT_AUDIENCE}");
    println!();
    println!("token (sub user-123, valid for one hour):");
    println!("  TOKEN={user}");
    println!("token with scope admin:");
    println!("  ADMIN_TOKEN={admin}");
    println!();
    println!("try:");
    println!("  curl -i http://{addr}/healthz");
    println!(
        "  curl -i http://{addr}/me                                          # 401 missing_token"
    );
    println!(
        "  curl -i -H \"Authorization: Bearer $TOKEN\" http://{addr}/me         # 200, the claims"
    );
    println!("  curl -i -H \"Authorization: Bearer $TOKEN\" http://{addr}/admin      # 403 insufficient_scope");
    println!("  curl -i -H \"Authorization: Bearer $ADMIN_TOKEN\" http://{addr}/admin # 200");
}
