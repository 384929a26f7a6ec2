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

// ---------------------------------------------------------------------------------------
// The lifecycle: a verifier configured with an issuer only, against a real test issuer.

mod common;

use std::collections::HashMap;
use std::sync::Arc;
use std::time::{Duration, Instant};

use common::eventually;
use serde_json::json;
use verifier_core::{
    AsyncJwtVerifier, AuthConfig, AuthConfigBuilder, ConfigError, ErrorCode, JwtVerifier,
};
use verifier_testkit::{Alg, Fault, Layout, TestClock, TestIssuer, DEFAULT_AUDIENCE};

/// An issuer-only configuration (keys discovered), with short backoffs.
fn discovering(issuer: &TestIssuer) -> AuthConfigBuilder {
    AuthConfig::builder()
        .issuer(issuer.issuer())
        .audience(DEFAULT_AUDIENCE)
        .jwks_timeout(Duration::from_secs(2))
        .jwks_backoff_initial(Duration::from_millis(50))
        .jwks_backoff_max(Duration::from_millis(100))
}

fn oidc_path(issuer: &TestIssuer) -> String {
    format!("{}{OIDC}", issuer.issuer().trim_end_matches('/'))
}

fn oauth_path(issuer: &TestIssuer) -> String {
    let path = Url::parse(&issuer.issuer()).unwrap().path().to_owned();
    let path = path.strip_suffix('/').unwrap_or(&path).to_owned();
    format!("{}{OAUTH}{path}", issuer.base_url())
}

/// DS1: `OIDC_ISSUER` (and the audience) only: keys are discovered, tokens verify, and
/// the health view names the metadata URL that answered. DS18: the same on `JwtVerifier`.
#[test]
fn ds1_issuer_only_verifies_and_health_names_the_metadata_url() {
    let issuer = TestIssuer::start();
    let vars: HashMap<&str, String> = HashMap::from([
        ("OIDC_ISSUER", issuer.issuer()),
        ("OIDC_AUDIENCE", DEFAULT_AUDIENCE.to_owned()),
    ]);
    let config = AuthConfig::from_env_lookup(|k| vars.get(k).cloned()).unwrap();
    assert_eq!(config.jwks_url(), None);
    let token = issuer.token().build();

    let (rt, verifier) = common::async_verifier(config.clone());
    assert!(rt.block_on(verifier.verify_access_token(&token)).is_ok());
    let health = rt.block_on(verifier.health());
    assert!(health.ready);
    let entry = &health.issuers[0];
    assert_eq!(entry.issuer, issuer.issuer());
    let metadata = entry.metadata.as_ref().unwrap();
    assert_eq!(
        metadata.url.as_ref().unwrap().as_str(),
        issuer.discovery_url()
    );
    assert_eq!(
        metadata.jwks_uri.as_ref().unwrap().as_str(),
        issuer.jwks_url()
    );
    assert_eq!(entry.jwks.key_count, 1);
    assert_eq!(entry.last_error, None);
    // The JSON a readiness endpoint returns.
    let body = serde_json::to_value(&health).unwrap();
    assert_eq!(body["ready"], json!(true));
    assert_eq!(
        body["issuers"][0]["metadata"]["url"],
        json!(issuer.discovery_url())
    );
    assert!(body["issuers"][0]["jwks"]["last_success"].is_u64());

    let blocking = JwtVerifier::new(config).unwrap();
    assert!(blocking.verify_access_token(&token).is_ok());
    let health = blocking.health();
    assert!(health.ready);
    let metadata = health.issuers[0].metadata.as_ref().unwrap();
    assert_eq!(
        metadata.url.as_ref().unwrap().as_str(),
        issuer.discovery_url()
    );
    assert_eq!(issuer.discovery_fetch_count(), 2, "one per verifier");
    assert_eq!(issuer.fetch_count(), 2, "one per verifier");
}

/// DS3: RFC 8414 layout only: exactly one OIDC and one RFC 8414 request, and later
/// refreshes go only to the RFC 8414 URL. DS18: both flavours.
#[test]
fn ds3_rfc8414_only_layout_is_found_and_remembered() {
    for blocking in [false, true] {
        let issuer = TestIssuer::builder()
            .path("/realms/acme")
            .discovery(Layout::Rfc8414)
            .start();
        let clock = TestClock::new();
        let config = discovering(&issuer)
            .discovery_cache_ttl(Duration::from_secs(60))
            .jwks_cache_ttl(Duration::from_secs(60))
            .clock(Arc::new(clock.clone()))
            .build()
            .unwrap();
        let now = clock.unix_secs();
        let token = issuer
            .token()
            .claim("iat", json!(now))
            .claim("nbf", json!(now))
            .claim("exp", json!(now + 3600))
            .build();
        let flavour = common::Both::new(config);
        let verify = |t: &str| {
            if blocking {
                flavour.blocking_v.verify_access_token(t)
            } else {
                flavour.rt.block_on(flavour.async_v.verify_access_token(t))
            }
        };
        assert!(verify(&token).is_ok());
        assert_eq!(issuer.discovery_fetch_count_at(&oidc_path(&issuer)), 1);
        assert_eq!(issuer.discovery_fetch_count_at(&oauth_path(&issuer)), 1);
        // Past both TTLs: the key set refreshes, and with it the metadata, at the
        // remembered URL only.
        clock.advance(Duration::from_secs(61));
        assert!(verify(&token).is_ok());
        eventually("the metadata refresh", || {
            issuer.discovery_fetch_count_at(&oauth_path(&issuer)) == 2
        });
        assert_eq!(issuer.discovery_fetch_count_at(&oidc_path(&issuer)), 1);
    }
}

/// DS4: any answer of the OIDC URL but a "not there" 4xx is final: `discovery_failed`
/// (503, `Retry-After`), and the RFC 8414 URL is never requested.
#[test]
fn ds4_no_fallback_after_server_errors_throttling_redirects_or_timeouts() {
    let faults = [
        Fault::Status(500),
        Fault::Status(429),
        Fault::Status(408),
        Fault::Status(302),
        Fault::DropConnection,
    ];
    for fault in faults.into_iter().map(Some).chain([None]) {
        let issuer = TestIssuer::builder().discovery(Layout::Both).start();
        let config = match &fault {
            Some(fault) => {
                issuer.set_discovery_fault_at(&oidc_path(&issuer), Some(fault.clone()));
                discovering(&issuer).build().unwrap()
            }
            // A timeout: the OIDC URL answers after the deadline.
            None => {
                issuer.set_discovery_delay(Duration::from_millis(1500));
                discovering(&issuer)
                    .jwks_timeout(Duration::from_millis(300))
                    .build()
                    .unwrap()
            }
        };
        let both = common::Both::new(config);
        let err = both.verify(&issuer.token().build()).unwrap_err();
        assert_eq!(err.code(), ErrorCode::DiscoveryFailed, "{fault:?}");
        assert_eq!(err.status().as_u16(), 503);
        assert!(err.retry_after().is_some(), "{fault:?}");
        assert_eq!(
            issuer.discovery_fetch_count_at(&oauth_path(&issuer)),
            0,
            "{fault:?}: no fallback"
        );
        assert_eq!(issuer.fetch_count(), 0);
    }
}

/// DS5: a 403 from the OIDC URL (static hosting) is "not there": the RFC 8414 URL is
/// tried and its document used.
#[test]
fn ds5_forbidden_oidc_url_falls_back() {
    let issuer = TestIssuer::builder().discovery(Layout::Both).start();
    issuer.set_discovery_fault_at(&oidc_path(&issuer), Some(Fault::Status(403)));
    let both = common::Both::new(discovering(&issuer).build().unwrap());
    assert!(both.verify(&issuer.token().build()).is_ok());
    assert_eq!(issuer.discovery_fetch_count_at(&oauth_path(&issuer)), 2);
    assert_eq!(issuer.discovery_fetch_count_at(&oidc_path(&issuer)), 2);
}

/// A document from `issuer`'s OIDC URL whose `jwks_uri` points at `elsewhere`.
fn serve(issuer: &TestIssuer, doc: serde_json::Value) {
    issuer.set_discovery(Some(doc));
}

/// DS6: a metadata `issuer` that is not byte-equal to the configured one is
/// `discovery_error`; neither the issuer's key set nor the document's `jwks_uri` is
/// ever requested.
#[test]
fn ds6_issuer_mismatch_is_refused_before_any_key_fetch() {
    let issuer = TestIssuer::start();
    let elsewhere = TestIssuer::start();
    let configured = issuer.issuer();
    let other_host = configured.replace("127.0.0.1", "localhost");
    let upper = configured.replace("http://", "HTTP://");
    let values = [
        json!(format!("{configured}/")),
        json!(other_host),
        json!(upper),
        json!(42),
        json!(null),
    ];
    for value in values.iter().map(Some).chain([None]) {
        let mut doc = json!({"jwks_uri": elsewhere.jwks_url()});
        if let Some(value) = value {
            doc["issuer"] = value.clone();
        }
        serve(&issuer, doc);
        let both = common::Both::new(discovering(&issuer).build().unwrap());
        let err = both.verify(&issuer.token().build()).unwrap_err();
        assert_eq!(err.code(), ErrorCode::DiscoveryError, "{value:?}");
        assert_eq!(err.status().as_u16(), 503);
    }
    assert_eq!(issuer.fetch_count(), 0);
    assert_eq!(elsewhere.fetch_count(), 0);
}

/// DS7: a document with a duplicate `issuer` member is refused.
#[test]
fn ds7_duplicate_members_are_refused() {
    let issuer = TestIssuer::start();
    let elsewhere = TestIssuer::start();
    let body = format!(
        r#"{{"issuer":"{}","issuer":"https://evil.example","jwks_uri":"{}"}}"#,
        issuer.issuer(),
        elsewhere.jwks_url()
    );
    issuer.set_discovery_fault(Some(Fault::Body(body.into_bytes())));
    let both = common::Both::new(discovering(&issuer).build().unwrap());
    assert_eq!(
        both.code(&issuer.token().build()),
        ErrorCode::DiscoveryError
    );
    assert_eq!(elsewhere.fetch_count(), 0);
}

/// DS8: unusable `jwks_uri` values from a loopback-http issuer (without
/// `allow_insecure_http`) are `discovery_error`.
#[test]
fn ds8_bad_jwks_uris_are_refused() {
    let issuer = TestIssuer::start();
    let values = [
        json!("http://10.0.0.1/k"),
        json!("ftp://127.0.0.1/k"),
        json!("/relative"),
        json!("https://u:p@127.0.0.1/k"),
        json!("https://127.0.0.1/k#f"),
        json!(""),
        json!([issuer.jwks_url()]),
    ];
    for value in values {
        serve(
            &issuer,
            json!({"issuer": issuer.issuer(), "jwks_uri": value}),
        );
        let both = common::Both::new(discovering(&issuer).build().unwrap());
        assert_eq!(
            both.code(&issuer.token().build()),
            ErrorCode::DiscoveryError,
            "{value}"
        );
    }
    assert_eq!(issuer.fetch_count(), 0);
}

/// SPEC-2 §1.9, the document limits (the memory bound is measured in
/// `discovery_memory.rs`): over-size, endless, HTML and
/// non-object documents are `discovery_error`.
#[test]
fn oversized_endless_and_non_object_documents_are_refused() {
    let big = vec![b' '; 2 * 1024 * 1024];
    let faults = [
        Fault::DeclaredLength(2 * 1024 * 1024),
        Fault::BodyWithoutLength(big),
        Fault::Body(b"<html><body>Sign in</body></html>".to_vec()),
        Fault::Body(b"[]".to_vec()),
    ];
    for fault in faults {
        let issuer = TestIssuer::start();
        issuer.set_discovery_fault(Some(fault));
        let both = common::Both::new(
            discovering(&issuer)
                .jwks_max_bytes(64 * 1024)
                .build()
                .unwrap(),
        );
        assert_eq!(
            both.code(&issuer.token().build()),
            ErrorCode::DiscoveryError
        );
        assert_eq!(issuer.fetch_count(), 0);
    }
}

/// DS10: 1,000 concurrent first requests make exactly one metadata and one key-set
/// request, and all succeed. DS18: the same with threads on `JwtVerifier`.
#[test]
fn ds10_cold_start_fetches_once() {
    let issuer = TestIssuer::start();
    issuer.set_discovery_delay(Duration::from_millis(100));
    let (rt, verifier) = common::async_verifier(discovering(&issuer).build().unwrap());
    let token = issuer.token().build();
    let results = rt.block_on(async {
        let tasks: Vec<_> = (0..1000)
            .map(|_| {
                let verifier = verifier.clone();
                let token = token.clone();
                tokio::spawn(async move { verifier.verify_access_token(&token).await })
            })
            .collect();
        let mut results = Vec::new();
        for task in tasks {
            results.push(task.await.unwrap());
        }
        results
    });
    assert!(results.iter().all(Result::is_ok));
    assert_eq!(issuer.discovery_fetch_count(), 1);
    assert_eq!(issuer.fetch_count(), 1);

    let issuer = TestIssuer::start();
    issuer.set_discovery_delay(Duration::from_millis(100));
    let verifier = JwtVerifier::new(discovering(&issuer).build().unwrap()).unwrap();
    let token = issuer.token().build();
    std::thread::scope(|s| {
        let handles: Vec<_> = (0..64)
            .map(|_| s.spawn(|| verifier.verify_access_token(&token)))
            .collect();
        for handle in handles {
            assert!(handle.join().unwrap().is_ok());
        }
    });
    assert_eq!(issuer.discovery_fetch_count(), 1);
    assert_eq!(issuer.fetch_count(), 1);
}

/// DS11: a failed metadata fetch is not cached: the first caller gets 503, a request
/// after the backoff succeeds, and `last_error` is cleared. DS18: both flavours.
#[test]
fn ds11_failures_are_not_cached() {
    let issuer = TestIssuer::start();
    issuer.set_discovery_fault(Some(Fault::Status(503)));
    let both = common::Both::new(discovering(&issuer).build().unwrap());
    let token = issuer.token().build();
    assert_eq!(both.code(&token), ErrorCode::DiscoveryFailed);
    let health = both.blocking_v.health();
    assert!(!health.ready);
    assert_eq!(
        health.issuers[0].last_error,
        Some(ErrorCode::DiscoveryFailed)
    );
    issuer.set_discovery_fault(None);
    std::thread::sleep(Duration::from_millis(120));
    assert!(both.verify(&token).is_ok());
    let health = both.rt.block_on(both.async_v.health());
    assert!(health.ready);
    assert_eq!(health.issuers[0].last_error, None);
    assert_eq!(both.blocking_v.health().issuers[0].last_error, None);
}

/// DS12: the metadata TTL passes and the new document moves `jwks_uri` while the keys
/// rotate: old-kid tokens keep verifying meanwhile, the new kid verifies once the
/// background fetch from the new URL lands, and no request waits for it.
#[test]
fn ds12_moved_jwks_uri_is_fetched_in_the_background() {
    let issuer = TestIssuer::start();
    let clock = TestClock::new();
    let (rt, verifier) = common::async_verifier(
        discovering(&issuer)
            .discovery_cache_ttl(Duration::from_secs(60))
            .jwks_cache_ttl(Duration::from_secs(60))
            .clock(Arc::new(clock.clone()))
            .build()
            .unwrap(),
    );
    let now = clock.unix_secs();
    let old = issuer
        .token()
        .claim("iat", json!(now))
        .claim("nbf", json!(now))
        .claim("exp", json!(now + 3600))
        .build();
    assert!(rt.block_on(verifier.verify_access_token(&old)).is_ok());
    let fetches = issuer.fetch_count();

    // The issuer moves its key set and rotates: the old path now answers 404.
    issuer.set_jwks_path("/keys/v2");
    let key = issuer.rotate(Alg::RS256, "k2");
    let new = issuer
        .token_for(&key)
        .claim("iat", json!(now))
        .claim("nbf", json!(now))
        .claim("exp", json!(now + 3600))
        .build();
    clock.advance(Duration::from_secs(61));
    let started = Instant::now();
    assert!(rt.block_on(verifier.verify_access_token(&old)).is_ok());
    assert!(
        started.elapsed() < Duration::from_secs(1),
        "the stale set served without waiting"
    );
    eventually("the key set from the new jwks_uri", || {
        rt.block_on(verifier.health()).issuers[0].jwks.key_count == 1
            && rt
                .block_on(verifier.jwks().get_signing_key("k2", false))
                .is_ok()
    });
    assert!(rt.block_on(verifier.verify_access_token(&new)).is_ok());
    let stats = verifier.jwks().metadata_stats().unwrap();
    assert_eq!(stats.jwks_uri.unwrap().as_str(), issuer.jwks_url());
    assert!(issuer.fetch_count() > fetches);
}

/// DS13: 10,000 tokens with random kids whose claims pass the cheap checks: key-set
/// fetches at most one per cooldown (plus the first), and no metadata request beyond the
/// first. Both flavours.
#[test]
fn ds13_unknown_kid_flood_refreshes_keys_only_per_cooldown() {
    let issuer = TestIssuer::start();
    let cooldown = Duration::from_secs(30);
    let both = common::Both::new(
        discovering(&issuer)
            .jwks_refresh_cooldown(cooldown)
            .build()
            .unwrap(),
    );
    assert!(both.verify(&issuer.token().build()).is_ok());
    let (jwks, metadata) = (issuer.fetch_count(), issuer.discovery_fetch_count());
    let started = Instant::now();
    for n in 0..10_000u32 {
        let token = issuer
            .token()
            .header("kid", json!(format!("random-{n:05}")))
            .build();
        let err = if n % 2 == 0 {
            both.rt.block_on(both.async_v.verify_access_token(&token))
        } else {
            both.blocking_v.verify_access_token(&token)
        }
        .unwrap_err();
        assert_eq!(err.code(), ErrorCode::KeyNotFound);
    }
    let windows = 1 + (started.elapsed().as_secs_f64() / cooldown.as_secs_f64()) as usize;
    let refreshes = issuer.fetch_count() - jwks;
    // Each flavour has its own lifecycle (and cooldown).
    assert!(
        refreshes <= 2 * windows,
        "{refreshes} refreshes in {windows} cooldowns"
    );
    assert_eq!(
        issuer.discovery_fetch_count(),
        metadata,
        "no metadata request"
    );
}

/// DS14: the metadata endpoint down while the key set works: verification is unaffected
/// and the metadata serves stale up to its bound; past it, a key-set fetch fails with
/// `discovery_failed` while the current keys keep verifying.
#[test]
fn ds14_metadata_outage_is_bounded_by_max_stale() {
    let issuer = TestIssuer::start();
    let clock = TestClock::new();
    let (rt, verifier) = common::async_verifier(
        discovering(&issuer)
            .discovery_cache_ttl(Duration::from_secs(60))
            .discovery_max_stale(Duration::from_secs(120))
            .jwks_cache_ttl(Duration::from_secs(60))
            .clock(Arc::new(clock.clone()))
            .build()
            .unwrap(),
    );
    let now = clock.unix_secs();
    let token = issuer
        .token()
        .claim("iat", json!(now))
        .claim("nbf", json!(now))
        .claim("exp", json!(now + 3600))
        .build();
    assert!(rt.block_on(verifier.verify_access_token(&token)).is_ok());
    issuer.set_discovery_fault(Some(Fault::Status(500)));

    // One second inside the bound: the key set refreshes from the last good jwks_uri.
    clock.advance(Duration::from_secs(60 + 120 - 1));
    assert!(rt.block_on(verifier.verify_access_token(&token)).is_ok());
    eventually("the key-set refresh", || verifier.stats().fetches == 2);
    eventually("the failed metadata refresh", || {
        verifier.jwks().metadata_stats().unwrap().failures == 1
    });
    assert_eq!(verifier.stats().failures, 0);
    let metadata = verifier.jwks().metadata_stats().unwrap();
    assert!(metadata.serving_stale);
    assert!(rt.block_on(verifier.verify_access_token(&token)).is_ok());
    // A background refresh still in flight would have read the clock inside the bound:
    // let it end before the clock moves.
    eventually("no refresh in flight", || {
        !verifier.stats().refreshing && !verifier.jwks().metadata_stats().unwrap().refreshing
    });

    // Past the bound: the document is unusable; a key-set fetch needs it and fails.
    clock.advance(Duration::from_secs(2));
    let err = rt.block_on(verifier.get_signing_keys(true)).unwrap_err();
    assert_eq!(err.code(), ErrorCode::DiscoveryFailed);
    assert_eq!(err.status().as_u16(), 503);
    // The key set itself is fresh (fetched at the bound): its keys keep verifying.
    assert!(rt.block_on(verifier.verify_access_token(&token)).is_ok());
}

/// DS15: cold start with the identity provider down: 503 `discovery_failed`,
/// `healthcheck(false)` and `health().ready` false; recovery within one backoff.
#[test]
fn ds15_cold_start_with_the_idp_down_recovers() {
    let issuer = TestIssuer::start();
    issuer.set_discovery_fault(Some(Fault::DropConnection));
    let both = common::Both::new(discovering(&issuer).build().unwrap());
    let token = issuer.token().build();
    assert_eq!(both.code(&token), ErrorCode::DiscoveryFailed);
    assert!(!both.blocking_v.healthcheck(false));
    assert!(!both.rt.block_on(both.async_v.healthcheck(false)));
    assert!(!both.blocking_v.health().ready);
    issuer.set_discovery_fault(None);
    std::thread::sleep(Duration::from_millis(120));
    assert!(both.rt.block_on(both.async_v.health()).ready);
    assert!(both.blocking_v.healthcheck(false));
    assert!(both.verify(&token).is_ok());
}

/// DS16: a metadata endpoint that answers after 30 s: callers get 503 within
/// `2 × jwks_timeout + 250 ms`, with one request in flight.
#[test]
fn ds16_slow_metadata_bounds_the_wait() {
    let issuer = TestIssuer::start();
    issuer.set_discovery_delay(Duration::from_secs(30));
    let timeout = Duration::from_millis(200);
    let (rt, verifier) =
        common::async_verifier(discovering(&issuer).jwks_timeout(timeout).build().unwrap());
    let token = issuer.token().build();
    let started = Instant::now();
    let results = rt.block_on(async {
        let tasks: Vec<_> = (0..20)
            .map(|_| {
                let verifier = verifier.clone();
                let token = token.clone();
                tokio::spawn(async move { verifier.verify_access_token(&token).await })
            })
            .collect();
        let mut results = Vec::new();
        for task in tasks {
            results.push(task.await.unwrap());
        }
        results
    });
    let elapsed = started.elapsed();
    for result in results {
        let err = result.unwrap_err();
        assert_eq!(err.status().as_u16(), 503);
        assert_eq!(err.code(), ErrorCode::DiscoveryFailed);
    }
    assert!(
        elapsed < timeout * 2 + Duration::from_millis(250) + Duration::from_millis(500),
        "{elapsed:?}"
    );
    assert_eq!(issuer.discovery_fetch_count(), 1);
}

/// DS17: the configuration rules of SPEC-2 §1.3, each a `ConfigError` naming the field
/// (builder) or the variable (environment).
#[test]
fn ds17_configuration_errors_name_the_field() {
    let base = || {
        AuthConfig::builder()
            .issuer("https://idp.example")
            .audience("api")
    };
    let err = |b: AuthConfigBuilder| -> ConfigError { b.build().unwrap_err() };
    let e = err(base()
        .jwks_url("https://idp.example/keys")
        .discovery(verifier_core::discovery::Discovery::Oidc));
    assert_eq!(
        (e.field(), e.reason()),
        ("discovery", "set jwks_url or discovery, not both")
    );
    let e = err(base().discovery(verifier_core::discovery::Discovery::Off));
    assert_eq!(
        (e.field(), e.reason()),
        ("jwks_url", "must be set when discovery is off")
    );
    for issuer in [
        "https://idp.example/?tenant=1",
        "https://idp.example/#x",
        "https://user:pw@idp.example/",
        "http://idp.example/",
        "ftp://idp.example/",
        "idp.example",
    ] {
        let e = err(AuthConfig::builder().issuer(issuer).audience("api"));
        assert_eq!(e.field(), "issuer", "{issuer}: {e}");
    }
    // A loopback http issuer is fine (development), and so is any issuer string when
    // keys come from a jwks_url.
    assert!(AuthConfig::builder()
        .issuer("http://127.0.0.1:8080/realms/dev")
        .audience("api")
        .build()
        .is_ok());
    assert!(base()
        .issuer("urn:not-a-url")
        .jwks_url("https://idp.example/keys")
        .build()
        .is_ok());

    let env = |pairs: &[(&str, &str)]| {
        let map: HashMap<String, String> = pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        AuthConfig::from_env_lookup(|k| map.get(k).cloned())
    };
    let required = [
        ("OIDC_ISSUER", "https://idp.example"),
        ("OIDC_AUDIENCE", "api"),
    ];
    let with = |extra: &[(&'static str, &'static str)]| {
        let mut vars = required.to_vec();
        vars.extend_from_slice(extra);
        env(&vars)
    };
    let e = with(&[
        ("OIDC_JWKS_URL", "https://idp.example/k"),
        ("OIDC_DISCOVERY", "oidc"),
    ])
    .unwrap_err();
    assert_eq!(e.field(), "OIDC_DISCOVERY");
    let e = with(&[("OIDC_DISCOVERY", "off")]).unwrap_err();
    assert_eq!(e.field(), "OIDC_JWKS_URL");
    let e = with(&[("OIDC_DISCOVERY", "openid")]).unwrap_err();
    assert_eq!(e.field(), "OIDC_DISCOVERY");
    let e = with(&[("OIDC_DISCOVERY_CACHE_TTL_S", "0")]).unwrap_err();
    assert_eq!(e.field(), "OIDC_DISCOVERY_CACHE_TTL_S");
    let e = with(&[("OIDC_DISCOVERY_URL", "ftp://idp.example/meta")]).unwrap_err();
    assert_eq!(e.field(), "OIDC_DISCOVERY_URL");
    let e = env(&[
        ("OIDC_ISSUER", "https://idp.example/?q"),
        ("OIDC_AUDIENCE", "api"),
    ])
    .unwrap_err();
    assert_eq!(e.field(), "OIDC_ISSUER");
    let ok = with(&[
        ("OIDC_DISCOVERY", "oauth"),
        ("OIDC_DISCOVERY_CACHE_TTL_S", "120"),
        ("OIDC_DISCOVERY_MAX_STALE_S", "0"),
    ])
    .unwrap();
    assert_eq!(ok.discovery(), verifier_core::discovery::Discovery::OAuth);
    assert_eq!(ok.discovery_cache_ttl(), Duration::from_secs(120));
    assert_eq!(ok.discovery_max_stale(), Duration::ZERO);
}

/// DS19: dropping the verifier during a slow metadata fetch aborts it (the key-set
/// fetch waiting on it, and the metadata fetch itself): no task outlives the verifier.
#[test]
fn ds19_drop_aborts_the_metadata_fetch() {
    let issuer = TestIssuer::start();
    issuer.set_discovery_delay(Duration::from_secs(10));
    let rt = common::runtime();
    let config = discovering(&issuer)
        .jwks_timeout(Duration::from_secs(30))
        .build()
        .unwrap();
    let verifier = AsyncJwtVerifier::new(config).unwrap();
    let token = issuer.token().build();
    let waiter = {
        let verifier = verifier.clone();
        rt.spawn(async move { verifier.verify_access_token(&token).await })
    };
    let metrics = rt.metrics();
    // The waiter, the key-set and metadata refresh tasks (and the HTTP client's
    // connection task).
    eventually("the metadata request", || {
        verifier.jwks().metadata_stats().unwrap().refreshing && metrics.num_alive_tasks() >= 3
    });
    std::thread::sleep(Duration::from_millis(100));
    let running = metrics.num_alive_tasks();
    waiter.abort();
    eventually("the waiter to end", || {
        metrics.num_alive_tasks() == running - 1
    });
    std::thread::sleep(Duration::from_millis(100));
    assert_eq!(
        metrics.num_alive_tasks(),
        running - 1,
        "the refreshes run while a handle lives"
    );
    assert!(verifier.jwks().metadata_stats().unwrap().refreshing);
    drop(verifier);
    eventually("every refresh task to end", || {
        metrics.num_alive_tasks() == 0
    });
}

/// A key set given in code is never fetched, and verifies like a fetched one.
#[test]
fn a_static_key_set_verifies_without_any_request() {
    let issuer = TestIssuer::start();
    let jwks = serde_json::to_string(&issuer.jwks()).unwrap();
    let config = AuthConfig::builder()
        .issuer(issuer.issuer())
        .audience(DEFAULT_AUDIENCE)
        .static_jwks(jwks)
        .build()
        .unwrap();
    assert!(matches!(
        config.key_source(),
        verifier_core::KeySource::Static
    ));
    let both = common::Both::new(config);
    assert!(both.verify(&issuer.token().build()).is_ok());
    assert!(both.blocking_v.health().ready);
    assert_eq!(issuer.fetch_count(), 0);
    assert_eq!(issuer.discovery_fetch_count(), 0);
    // A document with no usable key is refused when the configuration is built.
    let e = AuthConfig::builder()
        .issuer(issuer.issuer())
        .audience(DEFAULT_AUDIENCE)
        .static_jwks(r#"{"keys":[]}"#)
        .build()
        .unwrap_err();
    assert_eq!(e.field(), "static_jwks");
}
