//! The MCP authorization walk (SPEC-2 RM14) against a real OpenID provider with resource
//! indicators: an MCP client with no token gets a 401 whose `resource_metadata` leads it
//! to the protected-resource metadata, from there to the authorization server's
//! metadata and token endpoint, asks for a token for the MCP server's URI (RFC 8707),
//! and is let in.

use axum::routing::post;
use axum::{Json, Router};
use e2e_tests::{Provider, TestClient};
use serde_json::{json, Value};
use verifier_axum::{Auth, Claims};
use verifier_core::{AsyncJwtVerifier, ResourceConfig};
use verifier_testkit::conformance::challenge_parser;

async fn rpc(Claims(claims): Claims, Json(request): Json<Value>) -> Json<Value> {
    Json(json!({"jsonrpc": "2.0", "id": request["id"], "result": {
        "tools": [{"name": "whoami", "description": claims.sub()}],
    }}))
}

/// An MCP server for `resource` on `listener`, under the MCP preset, requiring `read`.
async fn serve(provider: &Provider, listener: std::net::TcpListener, resource: &str) {
    let verifier = AsyncJwtVerifier::builder()
        .issuer(provider.config_for(resource).build().unwrap())
        .resource(
            ResourceConfig::builder()
                .resource(resource)
                .mcp()
                .build()
                .unwrap(),
        )
        .build()
        .unwrap();
    let auth = Auth::new(verifier).realm("mcp");
    let app = Router::new()
        .merge(auth.resource_metadata_router())
        .route("/mcp", post(rpc).route_layer(auth.require_scopes(["read"])))
        .with_state(auth);
    listener.set_nonblocking(true).unwrap();
    let listener = tokio::net::TcpListener::from_std(listener).unwrap();
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
}

fn client() -> reqwest::Client {
    reqwest::Client::builder().no_proxy().build().unwrap()
}

// RM14
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rm14_an_mcp_client_finds_its_way_to_a_token_and_in() {
    let provider = Provider::start().await;
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap();
    let mcp = format!("http://{addr}/mcp");
    serve(&provider, listener, &mcp).await;
    let http = client();
    let call = json!({"jsonrpc": "2.0", "id": 1, "method": "tools/list"});

    // 1. No token: 401, with where to look and what to ask for.
    let response = http.post(&mcp).json(&call).send().await.unwrap();
    assert_eq!(response.status(), 401);
    let header = response.headers()["www-authenticate"]
        .to_str()
        .unwrap()
        .to_owned();
    let challenges = challenge_parser::parse(&header).unwrap();
    assert_eq!(challenges.len(), 1, "{header}");
    assert_eq!(challenges[0].scheme(), "Bearer");
    assert_eq!(challenges[0].param("scope"), Some("read"));
    let metadata_url = challenges[0].param("resource_metadata").unwrap().to_owned();
    assert_eq!(
        metadata_url,
        format!("http://{addr}/.well-known/oauth-protected-resource/mcp")
    );

    // 2. The protected-resource metadata names this resource and its authorization server.
    let document: Value = http
        .get(&metadata_url)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(document["resource"], mcp.as_str());
    let server = document["authorization_servers"][0]
        .as_str()
        .unwrap()
        .to_owned();
    assert_eq!(server, provider.issuer());

    // 3. The authorization server's metadata gives the token endpoint.
    let as_metadata: Value = http
        .get(format!("{server}/.well-known/openid-configuration"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let token_endpoint = as_metadata["token_endpoint"].as_str().unwrap();

    // 4. A token for the MCP server's URI (resource indicator), and the call goes through.
    let token = provider
        .token_at(token_endpoint, TestClient::Rs256, &mcp, "read")
        .await;
    let response = http
        .post(&mcp)
        .bearer_auth(&token)
        .json(&call)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    let answer: Value = response.json().await.unwrap();
    assert_eq!(answer["id"], 1);
    assert_eq!(answer["result"]["tools"][0]["name"], "whoami");

    // A token the same provider issued for another resource is refused.
    let other = provider
        .token(TestClient::Rs256, e2e_tests::API_RESOURCE, "read")
        .await;
    let response = http
        .post(&mcp)
        .bearer_auth(&other)
        .json(&call)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 401);
    let header = response.headers()["www-authenticate"].to_str().unwrap();
    assert!(
        header.contains(r#"error_description="Invalid audience""#),
        "{header}"
    );
    assert!(
        header.contains(&format!(r#"resource_metadata="{metadata_url}""#)),
        "{header}"
    );
}
