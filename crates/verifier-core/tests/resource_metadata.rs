//! RFC 9728 protected-resource metadata (SPEC-2 §4): the metadata URL rule, the
//! resource configuration's rules, the document's exact bytes and the endpoint answer.
//! (The framework endpoints are not wired yet: see the per-integration suites later.)

use std::collections::HashMap;

use proptest::prelude::*;
use url::Url;
use verifier_core::{
    resource_metadata_url, Algorithm, AsyncJwtVerifier, AuthConfig, AuthError, ConfigError,
    ErrorCode, ProtectedResourceMetadata, ResourceConfig,
};

fn env(pairs: &[(&str, &str)]) -> Result<ResourceConfig, ConfigError> {
    let map: HashMap<String, String> = pairs
        .iter()
        .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
        .collect();
    ResourceConfig::from_env_lookup(|k| map.get(k).cloned())
}

fn issuer(iss: &str) -> AuthConfig {
    AuthConfig::builder()
        .issuer(iss)
        .audience("https://api.example.com/mcp")
        .build()
        .unwrap()
}

/// RM1: the table of SPEC-2 §4.4, through the function and through the configuration.
#[test]
fn rm1_metadata_url_table() {
    let table = [
        (
            "https://api.example.com",
            "https://api.example.com/.well-known/oauth-protected-resource",
        ),
        (
            "https://api.example.com/",
            "https://api.example.com/.well-known/oauth-protected-resource",
        ),
        (
            "https://api.example.com/mcp",
            "https://api.example.com/.well-known/oauth-protected-resource/mcp",
        ),
        (
            "https://api.example.com:8443/v1/",
            "https://api.example.com:8443/.well-known/oauth-protected-resource/v1",
        ),
    ];
    for (resource, expected) in table {
        assert_eq!(
            resource_metadata_url(&Url::parse(resource).unwrap()).as_str(),
            expected
        );
        let config = ResourceConfig::builder()
            .resource(resource)
            .build()
            .unwrap();
        assert_eq!(config.resource_metadata_url().unwrap().as_str(), expected);
    }
}

proptest! {
    /// RM1 (property): the derived URL shares the resource's origin, and its path is the
    /// well-known prefix followed by the resource's path minus one terminating slash.
    #[test]
    fn rm1_derived_url_keeps_the_origin(
        host in "[a-z][a-z0-9-]{0,10}(\\.[a-z]{2,5}){1,2}",
        port in proptest::option::of(1u16..),
        path in "(/[A-Za-z0-9._~-]{0,6}){0,4}/?",
    ) {
        let port = port.map(|p| format!(":{p}")).unwrap_or_default();
        let resource = Url::parse(&format!("https://{host}{port}{path}")).unwrap();
        let derived = resource_metadata_url(&resource);
        prop_assert_eq!(derived.origin(), resource.origin());
        let rest = derived.path().strip_prefix("/.well-known/oauth-protected-resource").unwrap();
        let p = resource.path();
        prop_assert_eq!(rest, p.strip_suffix('/').unwrap_or(p));
        prop_assert_eq!(derived.query(), None);
    }
}

/// RM2: resource identifiers that are not absolute https URLs without userinfo, query or
/// fragment are configuration errors naming `resource` / `OIDC_RESOURCE`.
#[test]
fn rm2_bad_resources_are_configuration_errors() {
    let bad = [
        "https://api.example.com/mcp#frag",
        "https://api.example.com/mcp#",
        "https://api.example.com/mcp?a=1",
        "https://api.example.com/mcp?",
        "https://user:pw@api.example.com/mcp",
        "https://user@api.example.com/mcp",
        "/mcp",
        "api.example.com/mcp",
        "ftp://api.example.com/mcp",
        "http://api.example.com/mcp",
        "",
    ];
    for resource in bad {
        let err = ResourceConfig::builder()
            .resource(resource)
            .build()
            .unwrap_err();
        assert_eq!(err.field(), "resource", "{resource:?}: {err}");
        let err = env(&[("OIDC_RESOURCE", resource)]).unwrap_err();
        assert_eq!(err.field(), "OIDC_RESOURCE", "{resource:?}: {err}");
    }
    // Loopback http is allowed, and any http with allow_insecure_http.
    ResourceConfig::builder()
        .resource("http://127.0.0.1:8080/mcp")
        .build()
        .unwrap();
    ResourceConfig::builder()
        .resource("http://api.internal/mcp")
        .allow_insecure_http(true)
        .build()
        .unwrap();
}

/// RM4: the document's `resource` is the configured string, byte for byte (no slash added
/// or removed).
#[test]
fn rm4_resource_is_kept_byte_for_byte() {
    for resource in [
        "https://api.example.com",
        "https://api.example.com/",
        "https://API.example.com/Mcp",
    ] {
        let config = ResourceConfig::builder()
            .resource(resource)
            .build()
            .unwrap();
        assert_eq!(config.resource(), Some(resource));
        let doc =
            ProtectedResourceMetadata::new(&config, [&issuer("https://idp.example.com")]).unwrap();
        assert_eq!(doc.resource(), resource);
        let body: serde_json::Value = serde_json::from_str(doc.body()).unwrap();
        assert_eq!(body["resource"], resource);
        assert!(doc
            .body()
            .starts_with(&format!(r#"{{"resource":"{resource}","#)));
    }
}

/// The exact document of SPEC-2 §4.5 (member order, omitted members, DPoP members).
#[test]
fn document_bytes_are_exact() {
    let config = ResourceConfig::builder()
        .resource("https://api.example.com/mcp")
        .scopes_supported(["mcp:tools", " mcp:resources", "mcp:tools"])
        .resource_name("Example MCP server")
        .build()
        .unwrap();
    let doc =
        ProtectedResourceMetadata::new(&config, [&issuer("https://idp.example.com/realms/acme")])
            .unwrap()
            .with_dpop(false, &[Algorithm::ES256, Algorithm::EdDSA]);
    assert_eq!(
        doc.body(),
        concat!(
            r#"{"resource":"https://api.example.com/mcp","#,
            r#""authorization_servers":["https://idp.example.com/realms/acme"],"#,
            r#""scopes_supported":["mcp:resources","mcp:tools"],"#,
            r#""bearer_methods_supported":["header"],"#,
            r#""dpop_signing_alg_values_supported":["ES256","EdDSA"],"#,
            r#""dpop_bound_access_tokens_required":false,"#,
            r#""resource_name":"Example MCP server"}"#
        )
    );
    assert_eq!(
        doc.url().as_str(),
        "https://api.example.com/.well-known/oauth-protected-resource/mcp"
    );
    // Minimal: no scopes anywhere, no DPoP, no name.
    let config = ResourceConfig::builder()
        .resource("https://api.example.com")
        .build()
        .unwrap();
    let doc =
        ProtectedResourceMetadata::new(&config, [&issuer("https://idp.example.com")]).unwrap();
    assert_eq!(
        doc.body(),
        r#"{"resource":"https://api.example.com","authorization_servers":["https://idp.example.com"],"bearer_methods_supported":["header"]}"#
    );
    assert_eq!(doc.path(), "/.well-known/oauth-protected-resource");
}

/// The optional members, and `resource_signing_alg_values_supported` only when
/// configured (never derived from the token algorithms).
#[test]
fn optional_members_when_configured() {
    let config: ResourceConfig = serde_json::from_value(serde_json::json!({
        "resource": "https://api.example.com",
        "authorization_servers": ["https://as.example.com"],
        "resource_documentation": "https://docs.example.com/api",
        "resource_policy_uri": "https://example.com/policy",
        "resource_tos_uri": "https://example.com/tos",
        "resource_signing_alg_values_supported": ["ES256"],
    }))
    .unwrap();
    let es256_issuer = AuthConfig::builder()
        .issuer("https://idp.example.com")
        .audience("a")
        .allowed_algs([Algorithm::PS256])
        .build()
        .unwrap();
    let doc = ProtectedResourceMetadata::new(&config, [&es256_issuer]).unwrap();
    assert_eq!(
        doc.body(),
        concat!(
            r#"{"resource":"https://api.example.com","#,
            r#""authorization_servers":["https://as.example.com"],"#,
            r#""bearer_methods_supported":["header"],"#,
            r#""resource_signing_alg_values_supported":["ES256"],"#,
            r#""resource_documentation":"https://docs.example.com/api","#,
            r#""resource_policy_uri":"https://example.com/policy","#,
            r#""resource_tos_uri":"https://example.com/tos"}"#
        )
    );
    for (field, value) in [
        ("resource_documentation", "not a url"),
        ("resource_tos_uri", "ftp://example.com/tos"),
        ("authorization_servers", "https://"),
    ] {
        let err = serde_json::from_value::<ResourceConfig>(serde_json::json!({
            "resource": "https://api.example.com",
            field: value,
        }))
        .unwrap_err();
        assert!(err.to_string().contains(field), "{field}: {err}");
    }
    let err =
        serde_json::from_value::<ResourceConfig>(serde_json::json!({"resourse": "x"})).unwrap_err();
    assert!(err.to_string().contains("unknown field"), "{err}");
}

/// RM11: with several issuers, `authorization_servers` lists every issuer in configured
/// order; `scopes_supported` defaults to the union of their required scopes.
#[test]
fn rm11_authorization_servers_are_the_issuers_in_order() {
    let a = AuthConfig::builder()
        .issuer("https://b.example.com")
        .audience("api")
        .required_scopes(["read"])
        .build()
        .unwrap();
    let b = AuthConfig::builder()
        .issuer("https://a.example.com/realms/x")
        .audience("api")
        .required_scopes(["admin", "read"])
        .build()
        .unwrap();
    let verifier = AsyncJwtVerifier::builder()
        .issuer(a)
        .issuer(b)
        .build()
        .unwrap();
    let config = ResourceConfig::builder()
        .resource("https://api.example.com")
        .build()
        .unwrap();
    let doc = ProtectedResourceMetadata::new(&config, verifier.issuers()).unwrap();
    assert_eq!(
        doc.authorization_servers(),
        ["https://b.example.com", "https://a.example.com/realms/x"]
    );
    assert!(doc
        .body()
        .contains(r#""scopes_supported":["admin","read"]"#));
    // Configured servers win, in their order.
    let config = ResourceConfig::builder()
        .resource("https://api.example.com")
        .authorization_servers(["https://z.example.com", "https://y.example.com"])
        .build()
        .unwrap();
    let doc = ProtectedResourceMetadata::new(&config, verifier.issuers()).unwrap();
    assert_eq!(
        doc.authorization_servers(),
        ["https://z.example.com", "https://y.example.com"]
    );
    // None at all is refused.
    let err = ProtectedResourceMetadata::new(&config_without_servers(), []).unwrap_err();
    assert_eq!(err.field(), "authorization_servers");
    let err =
        ProtectedResourceMetadata::new(&ResourceConfig::default(), verifier.issuers()).unwrap_err();
    assert_eq!(err.field(), "resource");
}

fn config_without_servers() -> ResourceConfig {
    ResourceConfig::builder()
        .resource("https://api.example.com")
        .build()
        .unwrap()
}

/// The endpoint's answer (SPEC-2 §4.5): GET and HEAD 200 with the listed headers, other
/// methods 405 with `Allow`.
#[test]
fn endpoint_answer() {
    let doc = ProtectedResourceMetadata::new(
        &config_without_servers(),
        [&issuer("https://idp.example.com")],
    )
    .unwrap();
    let get = doc.respond(&http::Method::GET);
    assert_eq!(get.status(), 200);
    assert_eq!(get.headers()["content-type"], "application/json");
    assert_eq!(get.headers()["cache-control"], "public, max-age=3600");
    assert_eq!(get.headers()["access-control-allow-origin"], "*");
    assert_eq!(get.body().as_ref(), doc.body().as_bytes());
    let head = doc.respond(&http::Method::HEAD);
    assert_eq!(head.status(), 200);
    assert_eq!(head.headers()["content-type"], "application/json");
    assert!(head.body().is_empty());
    for method in [http::Method::POST, http::Method::PUT, http::Method::DELETE] {
        let resp = doc.respond(&method);
        assert_eq!(resp.status(), 405);
        assert_eq!(resp.headers()["allow"], "GET, HEAD");
        assert!(resp.body().is_empty());
        assert!(resp.headers().get("content-type").is_none());
    }
}

/// The challenges of SPEC-2 §4.6 from the document, with an awkward realm: the realm is
/// escaped as today, `resource_metadata` unchanged, and every value parses strictly.
#[test]
fn challenges_carry_the_metadata_url() {
    let config = ResourceConfig::builder()
        .resource("https://api.example.com/mcp")
        .build()
        .unwrap();
    let doc =
        ProtectedResourceMetadata::new(&config, [&issuer("https://idp.example.com")]).unwrap();
    let m =
        r#"resource_metadata="https://api.example.com/.well-known/oauth-protected-resource/mcp""#;
    let missing = AuthError::new(ErrorCode::MissingToken);
    assert_eq!(
        doc.challenge(Some("api")).headers(&missing)[0],
        format!(r#"Bearer realm="api", {m}"#)
    );
    let odd = doc.challenge(Some(r#"a "b" \c"#));
    let expired = AuthError::new(ErrorCode::TokenExpired);
    let value = odd.headers(&expired).remove(0);
    assert_eq!(
        value,
        format!(
            r#"Bearer realm="a \"b\" \\c", error="invalid_token", error_description="Token is expired", {m}"#
        )
    );
    let parsed = verifier_testkit::conformance::challenge_parser::parse(value.as_bytes()).unwrap();
    assert_eq!(parsed[0].param("realm"), Some(r#"a "b" \c"#));
    assert_eq!(
        parsed[0].param("resource_metadata"),
        Some("https://api.example.com/.well-known/oauth-protected-resource/mcp")
    );
}

/// The MCP preset's canonical-URI rule (SPEC-2 §4.7, part of RM12: the audience rule
/// needs the verifier wiring and is not here yet).
#[test]
fn mcp_preset_requires_a_canonical_resource() {
    for resource in [
        "HTTPS://MCP.example.com/mcp",
        "https://MCP.example.com/mcp",
        "https://mcp.example.com/mcp/",
        "https://mcp.example.com/",
        "https://mcp.example.com:443/mcp",
        "https://mcp.example.com/mcp#x",
        "https://mcp.example.com/mcp?a=1",
    ] {
        let err = ResourceConfig::builder()
            .resource(resource)
            .mcp()
            .build()
            .unwrap_err();
        assert_eq!(err.field(), "resource", "{resource}: {err}");
        let err = env(&[("OIDC_RESOURCE", resource), ("OIDC_MCP", "true")]).unwrap_err();
        assert_eq!(err.field(), "OIDC_RESOURCE", "{resource}: {err}");
    }
    let err = env(&[("OIDC_MCP", "true")]).unwrap_err();
    assert_eq!(err.field(), "OIDC_RESOURCE");
    for resource in [
        "https://mcp.example.com",
        "https://mcp.example.com/mcp",
        "https://mcp.example.com:8443/v1/mcp",
        "http://127.0.0.1:3000/mcp",
    ] {
        let config = env(&[("OIDC_RESOURCE", resource), ("OIDC_MCP", "1")]).unwrap();
        assert!(config.mcp());
        assert_eq!(config.resource(), Some(resource));
    }
    // Without the preset a trailing slash or upper case is fine (kept as configured).
    ResourceConfig::builder()
        .resource("https://MCP.example.com/mcp/")
        .build()
        .unwrap();
}

/// Defaults: everything off; a metadata URL without a resource is an error.
#[test]
fn defaults_and_metadata_url_override() {
    let config = env(&[]).unwrap();
    assert_eq!(config, ResourceConfig::default());
    assert_eq!(config.resource(), None);
    assert!(!config.mcp());
    let err = env(&[("OIDC_RESOURCE_METADATA_URL", "https://x.example.com/m")]).unwrap_err();
    assert_eq!(err.field(), "OIDC_RESOURCE_METADATA_URL");
    let config = env(&[
        ("OIDC_RESOURCE", "https://api.example.com/mcp"),
        (
            "OIDC_RESOURCE_METADATA_URL",
            "https://api.example.com/meta/prm.json",
        ),
        (
            "OIDC_AUTHORIZATION_SERVERS",
            "https://a.example.com, https://b.example.com",
        ),
        ("OIDC_SCOPES_SUPPORTED", "b a  b"),
        ("OIDC_RESOURCE_NAME", "Orders"),
    ])
    .unwrap();
    assert_eq!(
        config.resource_metadata_url().unwrap().path(),
        "/meta/prm.json"
    );
    assert_eq!(
        config.authorization_servers(),
        ["https://a.example.com", "https://b.example.com"]
    );
    assert_eq!(config.scopes_supported(), ["a", "b"]);
    assert_eq!(config.resource_name(), Some("Orders"));
    let err = env(&[
        ("OIDC_RESOURCE", "https://api.example.com"),
        ("OIDC_RESOURCE_METADATA_URL", "http://x.example.com/m"),
    ])
    .unwrap_err();
    assert_eq!(err.field(), "OIDC_RESOURCE_METADATA_URL");
}
