//! OpenID Connect Discovery 1.0 / RFC 8414 metadata: the well-known URL derivation and
//! the document rules. The lifecycle scenarios join this file when discovery is wired
//! into the key-set lifecycle.

use proptest::prelude::*;
use url::Url;
use verifier_core::discovery::{well_known_urls, DiscoveryError, ProviderMetadata};

const OIDC: &str = "/.well-known/openid-configuration";
const OAUTH: &str = "/.well-known/oauth-authorization-server";

/// DS2: the derivation table, exact strings.
#[test]
fn ds2_well_known_urls_follow_the_table() {
    let table = [
        (
            "https://idp.example",
            "https://idp.example/.well-known/openid-configuration",
            "https://idp.example/.well-known/oauth-authorization-server",
        ),
        (
            "https://idp.example/",
            "https://idp.example/.well-known/openid-configuration",
            "https://idp.example/.well-known/oauth-authorization-server",
        ),
        (
            "https://kc.example/realms/acme",
            "https://kc.example/realms/acme/.well-known/openid-configuration",
            "https://kc.example/.well-known/oauth-authorization-server/realms/acme",
        ),
        (
            "https://as.example/tenant/",
            "https://as.example/tenant/.well-known/openid-configuration",
            "https://as.example/.well-known/oauth-authorization-server/tenant",
        ),
        (
            "https://login.microsoftonline.com/TID/v2.0",
            "https://login.microsoftonline.com/TID/v2.0/.well-known/openid-configuration",
            "https://login.microsoftonline.com/.well-known/oauth-authorization-server/TID/v2.0",
        ),
        (
            "https://as.example:8443/x",
            "https://as.example:8443/x/.well-known/openid-configuration",
            "https://as.example:8443/.well-known/oauth-authorization-server/x",
        ),
        // Percent-encoding is kept as it is; only one terminating slash is removed.
        (
            "https://as.example/a%20b//",
            "https://as.example/a%20b//.well-known/openid-configuration",
            "https://as.example/.well-known/oauth-authorization-server/a%20b/",
        ),
    ];
    for (issuer, oidc, oauth) in table {
        let (o, a) = well_known_urls(&Url::parse(issuer).unwrap());
        assert_eq!(o.as_str(), oidc, "{issuer}");
        assert_eq!(a.as_str(), oauth, "{issuer}");
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 2_000, ..ProptestConfig::default() })]

    /// DS2 (property): the derived URLs always share the issuer's origin, and hold the
    /// issuer's path (less one terminating slash) around the well-known segment.
    #[test]
    fn ds2_derived_urls_keep_the_origin(
        scheme in prop::sample::select(vec!["https", "http"]),
        host in "[a-z][a-z0-9-]{0,10}(\\.[a-z]{2,5}){0,2}",
        port in prop::option::of(1u16..),
        segments in prop::collection::vec("[A-Za-z0-9._~%-]{0,8}", 0..4),
        slash in any::<bool>(),
    ) {
        let port = port.map_or(String::new(), |p| format!(":{p}"));
        let mut path = segments.iter().map(|s| format!("/{s}")).collect::<String>();
        if slash { path.push('/'); }
        let Ok(issuer) = Url::parse(&format!("{scheme}://{host}{port}{path}")) else {
            return Ok(());
        };
        let (oidc, oauth) = well_known_urls(&issuer);
        prop_assert_eq!(oidc.origin(), issuer.origin());
        prop_assert_eq!(oauth.origin(), issuer.origin());
        let p = issuer.path().strip_suffix('/').unwrap_or(issuer.path());
        prop_assert_eq!(oidc.path(), format!("{p}{OIDC}"));
        prop_assert_eq!(oauth.path(), format!("{OAUTH}{p}"));
        prop_assert!(oidc.query().is_none() && oauth.query().is_none());
    }
}

fn parse(doc: &str, issuer: &str) -> Result<ProviderMetadata, DiscoveryError> {
    ProviderMetadata::parse(doc.as_bytes(), issuer, false)
}

#[test]
fn metadata_issuer_must_be_byte_equal() {
    let issuer = "https://idp.example/realms/acme";
    let ok = format!(r#"{{"issuer":"{issuer}","jwks_uri":"https://idp.example/keys"}}"#);
    let meta = parse(&ok, issuer).unwrap();
    assert_eq!(meta.issuer(), issuer);
    assert_eq!(meta.jwks_uri().as_str(), "https://idp.example/keys");
    assert_eq!(meta.get("issuer").and_then(|v| v.as_str()), Some(issuer));
    for bad in [
        r#""https://idp.example/realms/acme/""#,
        r#""https://other.example/realms/acme""#,
        r#""https://IDP.example/realms/acme""#,
        r#""https://idp.example/realms/ACME""#,
        "42",
        "null",
        r#"["https://idp.example/realms/acme"]"#,
    ] {
        let doc = format!(r#"{{"issuer":{bad},"jwks_uri":"https://idp.example/keys"}}"#);
        let err = parse(&doc, issuer).unwrap_err();
        assert!(
            matches!(err, DiscoveryError::IssuerMismatch { .. }),
            "{bad}: {err:?}"
        );
    }
    let err = parse(r#"{"jwks_uri":"https://idp.example/keys"}"#, issuer).unwrap_err();
    assert!(matches!(
        err,
        DiscoveryError::IssuerMismatch { found: None, .. }
    ));
}

#[test]
fn metadata_with_duplicate_members_is_refused() {
    let doc = r#"{"issuer":"https://idp.example","issuer":"https://evil.example","jwks_uri":"https://idp.example/keys"}"#;
    assert!(matches!(
        parse(doc, "https://idp.example").unwrap_err(),
        DiscoveryError::Json(_)
    ));
    let doc = r#"{"issuer":"https://evil.example","issuer":"https://idp.example","jwks_uri":"https://idp.example/keys"}"#;
    assert!(parse(doc, "https://idp.example").is_err());
}

#[test]
fn metadata_must_be_a_json_object() {
    for doc in ["[]", "\"x\"", "<html></html>", "", "{"] {
        let err = parse(doc, "https://idp.example").unwrap_err();
        assert!(
            matches!(err, DiscoveryError::Json(_) | DiscoveryError::Shape),
            "{doc}: {err:?}"
        );
    }
}

#[test]
fn jwks_uri_rules() {
    let meta = |issuer: &str, jwks_uri: &str, insecure: bool| {
        let doc = serde_json::json!({"issuer": issuer, "jwks_uri": jwks_uri}).to_string();
        ProviderMetadata::parse(doc.as_bytes(), issuer, insecure)
    };
    let https = "https://idp.example";
    let loopback = "http://127.0.0.1:8080";
    for bad in [
        "ftp://idp.example/k",
        "/relative",
        "https://u:p@idp.example/k",
        "https://idp.example/k#f",
        "",
        "not a url",
    ] {
        assert!(meta(https, bad, false).is_err(), "{bad}");
    }
    // An https issuer never hands out a plain-http key URL, loopback or not ...
    for bad in [
        "http://idp.example/k",
        "http://127.0.0.1/k",
        "http://10.0.0.1/k",
    ] {
        assert!(
            matches!(
                meta(https, bad, false).unwrap_err(),
                DiscoveryError::InsecureJwksUri(_)
            ),
            "{bad}"
        );
    }
    // ... a loopback http issuer may point at loopback http only ...
    assert!(meta(loopback, "http://127.0.0.1:8080/k", false).is_ok());
    assert!(meta(loopback, "http://localhost:9/k", false).is_ok());
    assert!(meta(loopback, "http://10.0.0.1/k", false).is_err());
    // ... unless allow_insecure_http says otherwise.
    assert!(meta(https, "http://idp.example/k", true).is_ok());
    // Not a string.
    let doc = r#"{"issuer":"https://idp.example","jwks_uri":["https://idp.example/k"]}"#;
    assert!(matches!(
        parse(doc, https).unwrap_err(),
        DiscoveryError::MissingJwksUri
    ));
}
