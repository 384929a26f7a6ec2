//! Resource indicators (RFC 8707) with a real OpenID provider: a `client_credentials`
//! grant with `resource` = a loopback MCP server's URI gives a JWT access token with
//! exactly that audience, which a verifier for that audience accepts and a verifier of
//! another resource refuses.

use std::net::TcpListener;

use e2e_tests::tamper;
use e2e_tests::{Provider, TestClient, API_RESOURCE};
use serde_json::Value;
use verifier_core::{AsyncJwtVerifier, ErrorCode};

fn http_client() -> reqwest::Client {
    reqwest::Client::builder()
        .no_proxy()
        .build()
        .expect("client")
}

fn verifier_for(provider: &Provider, audience: &str) -> AsyncJwtVerifier {
    AsyncJwtVerifier::new(provider.config_for(audience).build().expect("config")).expect("verifier")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn token_for_a_loopback_mcp_resource_has_that_audience() {
    let provider = Provider::start().await;
    // The port an MCP server would listen on.
    let listener = TcpListener::bind("127.0.0.1:0").expect("bind");
    let port = listener.local_addr().expect("addr").port();
    let mcp = format!("http://127.0.0.1:{port}/mcp");

    let token = provider.client_credentials_for_resource(&mcp).await;
    let payload = tamper::payload(&token);
    assert_eq!(payload["aud"], Value::from(mcp.as_str()));
    assert_eq!(tamper::header(&token)["typ"], "at+jwt");
    // `permissions` are only added for the API resource.
    assert!(!payload.contains_key("permissions"), "{payload:?}");

    let mcp_verifier = verifier_for(&provider, &mcp);
    let claims = mcp_verifier
        .verify_access_token(&token)
        .await
        .expect("token for the MCP resource");
    assert_eq!(claims.aud(), [mcp.as_str()]);
    assert_eq!(claims.scopes(), ["read", "admin"]);
    assert_eq!(claims.sub(), Some("e2e-rs"));

    // Audiences are compared exactly: the API's verifier, and the MCP URI with a
    // trailing slash or on another port, refuse it.
    let other_port = format!("http://127.0.0.1:{}/mcp", port.wrapping_add(1).max(1));
    for audience in [API_RESOURCE, &format!("{mcp}/"), &other_port] {
        let err = verifier_for(&provider, audience)
            .verify_access_token(&token)
            .await
            .unwrap_err();
        assert_eq!(
            err.code(),
            ErrorCode::InvalidAudience,
            "{audience}: {err:?}"
        );
    }
    // And the MCP verifier refuses the API's tokens.
    let api_token = provider
        .token(TestClient::Rs256, API_RESOURCE, "read")
        .await;
    let err = mcp_verifier
        .verify_access_token(&api_token)
        .await
        .unwrap_err();
    assert_eq!(err.code(), ErrorCode::InvalidAudience, "{err:?}");

    // A client that found the token endpoint in the provider's metadata (as an MCP
    // client does) gets the same audience, here for the ES256 client.
    let metadata: Value = http_client()
        .get(format!(
            "{}/.well-known/openid-configuration",
            provider.issuer()
        ))
        .send()
        .await
        .expect("metadata")
        .json()
        .await
        .expect("metadata JSON");
    let token_endpoint = metadata["token_endpoint"].as_str().expect("token_endpoint");
    assert_eq!(token_endpoint, provider.token_endpoint());
    let es = provider
        .token_at(token_endpoint, TestClient::Es256, &mcp, "read")
        .await;
    assert_eq!(tamper::header(&es)["alg"], "ES256");
    let claims = mcp_verifier.verify_access_token(&es).await.expect("ES256");
    assert_eq!(claims.aud(), [mcp.as_str()]);
    drop(listener);
}

/// Resources outside the configured ones and loopback `http` are refused by the
/// provider (`invalid_target`): the harness cannot mint tokens for arbitrary audiences.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn provider_refuses_unknown_resources() {
    let provider = Provider::start().await;
    let client = http_client();
    for resource in [
        "https://mcp.example.com/mcp",
        "http://localhost:8080/mcp",
        "http://127.0.0.1:8080/mcp?x=1",
        "http://user@127.0.0.1:8080/mcp",
    ] {
        let response = client
            .post(provider.token_endpoint())
            .basic_auth("e2e-rs", Some("e2e-rs-secret"))
            .form(&[
                ("grant_type", "client_credentials"),
                ("resource", resource),
                ("scope", "read"),
            ])
            .send()
            .await
            .expect("token request");
        assert_eq!(response.status(), 400, "{resource}");
        let body: Value = response.json().await.expect("JSON");
        assert_eq!(body["error"], "invalid_target", "{resource}: {body}");
    }
}
