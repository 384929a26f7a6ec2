//! An MCP-style server (JSON-RPC 2.0 over `POST /mcp`) protected the way the MCP
//! authorization specification asks: RFC 9728 protected-resource metadata, its URL in
//! every 401 challenge, and tokens whose audience is this server's canonical URI.
//! docs/mcp.md walks through it.
//!
//! ```text
//! cargo run --example mcp_server --features axum,testkit
//! ```
//!
//! Configuration: `VerifierConfig::from_env()` (`OIDC_ISSUER`, `OIDC_JWKS_URL`, ...) with
//! `OIDC_RESOURCE` (default `http://<listen address>/mcp`) and `OIDC_MCP` (default `true`),
//! and `LISTEN_ADDR` (default `127.0.0.1:3000`). Without `OIDC_ISSUER` or `OIDC_ISSUERS`, a
//! test issuer starts in-process and the example prints a token for the resource and curl
//! commands.
//!
//! Routes (realm `mcp`):
//! - `GET /.well-known/oauth-protected-resource/mcp` (the path follows `OIDC_RESOURCE`):
//!   the metadata document, public.
//! - `POST /mcp`: JSON-RPC (`initialize`, `tools/list`, `tools/call` of the tool `whoami`);
//!   requires a token for the resource with scope `mcp:tools`. Without one: 401 with
//!   `resource_metadata` and a `scope` hint; with too few scopes: 403 `insufficient_scope`.
//! - `GET /healthz`: public readiness, as in the other examples.

#[path = "common/mod.rs"]
mod common;

use std::error::Error;

use axum::extract::State;
use axum::http::StatusCode;
use axum::routing::{get, post};
use axum::{Json, Router};
use oidc_jwt_verifier::axum::{Auth, Claims};
use oidc_jwt_verifier::testkit::{now, TestIssuer};
use oidc_jwt_verifier::{AsyncJwtVerifier, ProtectedResourceMetadata, ResourceServer};
use serde_json::{json, Value};

/// The scope `POST /mcp` requires.
const SCOPE: &str = "mcp:tools";

/// `POST /mcp`: one JSON-RPC 2.0 request, answered for the token's subject.
async fn rpc(Claims(claims): Claims, Json(request): Json<Value>) -> Json<Value> {
    let id = request.get("id").cloned().unwrap_or(Value::Null);
    let result = match request.get("method").and_then(Value::as_str) {
        Some("initialize") => Ok(json!({
            "protocolVersion": "2025-06-18",
            "capabilities": {"tools": {}},
            "serverInfo": {"name": "oidc-jwt-verifier example", "version": "0.1.0"},
        })),
        Some("tools/list") => Ok(json!({"tools": [{
            "name": "whoami",
            "description": "Who the access token says you are",
            "inputSchema": {"type": "object", "properties": {}},
        }]})),
        Some("tools/call")
            if request.pointer("/params/name").and_then(Value::as_str) == Some("whoami") =>
        {
            let text = format!(
                "sub={} client_id={}",
                claims.sub().unwrap_or("?"),
                claims.client_id().unwrap_or("?")
            );
            Ok(json!({"content": [{"type": "text", "text": text}]}))
        }
        Some("tools/call") => Err((-32602, "Unknown tool")),
        _ => Err((-32601, "Method not found")),
    };
    Json(match result {
        Ok(result) => json!({"jsonrpc": "2.0", "id": id, "result": result}),
        Err((code, message)) => {
            json!({"jsonrpc": "2.0", "id": id, "error": {"code": code, "message": message}})
        }
    })
}

/// `GET /healthz`: readiness, and why.
async fn healthz(State(auth): State<Auth>) -> (StatusCode, Json<Value>) {
    let health = auth.verifier().health().await;
    let status = if health.ready {
        StatusCode::OK
    } else {
        StatusCode::SERVICE_UNAVAILABLE
    };
    (status, Json(common::health_body(&health)))
}

#[tokio::main]
async fn main() -> Result<(), Box<dyn Error>> {
    // Bind first: the default resource is this server's own URL.
    let listener = tokio::net::TcpListener::bind(common::listen_addr()).await?;
    let addr = listener.local_addr()?.to_string();
    let default_resource = format!("http://{addr}/mcp");
    let (config, demo_issuer) = common::config_with(|name| match name {
        "OIDC_RESOURCE" => Some(default_resource.clone()),
        "OIDC_MCP" => Some("true".to_owned()),
        _ => None,
    })?;
    let verifier = AsyncJwtVerifier::from_config(config)?;
    let metadata: ProtectedResourceMetadata = verifier
        .resource_metadata()
        .cloned()
        .ok_or("OIDC_RESOURCE must be set")?;

    let auth = Auth::new(verifier).realm("mcp");
    let app = Router::new()
        // The metadata document, public.
        .merge(auth.resource_metadata_router())
        .route("/healthz", get(healthz))
        // Under the MCP preset a 401 names the scopes to ask for (`scope="mcp:tools"`).
        .route("/mcp", post(rpc).route_layer(auth.require_scopes([SCOPE])))
        .with_state(auth);

    println!("listening on http://{addr}");
    println!("resource {}", metadata.resource());
    println!("metadata {}", metadata.url());
    if let Some(issuer) = &demo_issuer {
        print_demo(issuer, &addr, metadata.resource(), metadata.path());
    }
    axum::serve(listener, app).await?;
    drop(demo_issuer);
    Ok(())
}

/// A token for the resource and curl commands to try it.
fn print_demo(issuer: &TestIssuer, addr: &str, resource: &str, metadata_path: &str) {
    let token = issuer
        .token()
        .claim("aud", json!(resource))
        .claim("scope", json!(SCOPE))
        .claim("client_id", json!("mcp-client"))
        .claim("exp", json!(now() + 3600))
        .build();
    println!(
        "OIDC_ISSUER is not set: using the in-process test issuer {}",
        issuer.issuer()
    );
    println!();
    println!("token for {resource} with scope {SCOPE}, valid for one hour:");
    println!("  TOKEN={token}");
    println!();
    println!("try:");
    println!("  curl -i -X POST http://{addr}/mcp   # 401, with resource_metadata and scope");
    println!("  curl -s http://{addr}{metadata_path}");
    println!(
        "  curl -s -H \"Authorization: Bearer $TOKEN\" -H 'Content-Type: application/json' \\\n       -d '{{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"tools/list\"}}' http://{addr}/mcp"
    );
}
