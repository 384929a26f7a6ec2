//! TestIssuer metadata layouts (SPEC-2 §1.4), metadata faults, delays and
//! per-path counters, and a moving JWKS URL, over real HTTP with a std client.

mod common;

use std::time::{Duration, Instant};

use common::{get, raw_exchange};
use serde_json::json;
use verifier_testkit::{Alg, Fault, Layout, TestIssuer, TestKey};

const OIDC: &str = "/.well-known/openid-configuration";
const RFC8414: &str = "/.well-known/oauth-authorization-server";

fn status(issuer: &TestIssuer, path: &str) -> u16 {
    get(issuer.addr(), path).expect("a response").status
}

#[test]
fn start_keeps_its_urls_and_document() {
    let issuer = TestIssuer::start();
    let built = TestIssuer::builder().start();
    for issuer in [&issuer, &built] {
        let base = issuer.base_url();
        assert_eq!(issuer.issuer(), format!("{base}/"));
        assert_eq!(issuer.jwks_url(), format!("{base}/jwks.json"));
        assert_eq!(issuer.discovery_url(), format!("{base}{OIDC}"));
        assert_eq!(issuer.oauth_metadata_url(), format!("{base}{RFC8414}"));
        assert_eq!(issuer.layout(), Layout::Oidc);
        assert_eq!(issuer.default_key().kid(), "test-rs256");
        let resp = get(issuer.addr(), OIDC).unwrap();
        assert_eq!(resp.status, 200);
        assert_eq!(
            resp.json(),
            json!({"issuer": issuer.issuer(), "jwks_uri": issuer.jwks_url()})
        );
        assert_eq!(status(issuer, RFC8414), 404);
        assert_eq!(issuer.discovery_fetch_count(), 2);
        assert_eq!(issuer.discovery_fetch_count_at(OIDC), 1);
        assert_eq!(issuer.discovery_fetch_count_at(RFC8414), 1);
    }
}

#[test]
fn path_issuer_urls_follow_the_derivation_table() {
    for (path, oidc, rfc8414, jwks) in [
        (
            "/realms/acme",
            "/realms/acme/.well-known/openid-configuration",
            "/.well-known/oauth-authorization-server/realms/acme",
            "/realms/acme/jwks.json",
        ),
        (
            "/tenant/",
            "/tenant/.well-known/openid-configuration",
            "/.well-known/oauth-authorization-server/tenant",
            "/tenant/jwks.json",
        ),
        (
            "/TID/v2.0",
            "/TID/v2.0/.well-known/openid-configuration",
            "/.well-known/oauth-authorization-server/TID/v2.0",
            "/TID/v2.0/jwks.json",
        ),
        ("/", OIDC, RFC8414, "/jwks.json"),
    ] {
        let issuer = TestIssuer::builder()
            .path(path)
            .discovery(Layout::Both)
            .start();
        let base = issuer.base_url();
        assert_eq!(issuer.issuer(), format!("{base}{path}"));
        assert_eq!(issuer.discovery_url(), format!("{base}{oidc}"));
        assert_eq!(issuer.oauth_metadata_url(), format!("{base}{rfc8414}"));
        assert_eq!(issuer.jwks_url(), format!("{base}{jwks}"));
        for url_path in [oidc, rfc8414] {
            let resp = get(issuer.addr(), url_path).unwrap();
            assert_eq!(resp.status, 200, "{path}: {url_path}");
            assert_eq!(resp.header("Content-Type"), Some("application/json"));
            let doc = resp.json();
            assert_eq!(doc["issuer"], issuer.issuer());
            assert_eq!(doc["jwks_uri"], issuer.jwks_url());
        }
        let resp = get(issuer.addr(), jwks).unwrap();
        assert_eq!(resp.status, 200);
        assert_eq!(resp.json(), issuer.jwks());
        assert_eq!(issuer.fetch_count(), 1);
        // The token's iss is the issuer, byte for byte.
        let token = issuer.token().build();
        let payload = token.split('.').nth(1).unwrap();
        let claims: serde_json::Value = serde_json::from_slice(&common::unb64(payload)).unwrap();
        assert_eq!(claims["iss"], issuer.issuer());
    }
}

/// The testkit serves exactly where verifier-core looks (SPEC-2 §1.4).
#[test]
fn urls_agree_with_the_verifier_derivation() {
    for path in ["/", "/realms/acme", "/tenant/", "/TID/v2.0", "/a%20b/c"] {
        let issuer = TestIssuer::builder().path(path).start();
        let url = url::Url::parse(&issuer.issuer()).unwrap();
        assert_eq!(url.as_str(), issuer.issuer(), "{path}");
        let (oidc, oauth) = verifier_core::discovery::well_known_urls(&url);
        assert_eq!(oidc.as_str(), issuer.discovery_url(), "{path}");
        assert_eq!(oauth.as_str(), issuer.oauth_metadata_url(), "{path}");
    }
}

#[test]
fn layouts_serve_and_404_as_declared() {
    let cases = [
        (Layout::Oidc, 200, 404),
        (Layout::Rfc8414, 404, 200),
        (Layout::Both, 200, 200),
        (Layout::None, 404, 404),
    ];
    for (layout, want_oidc, want_rfc8414) in cases {
        let issuer = TestIssuer::builder()
            .path("/realms/acme")
            .discovery(layout)
            .start();
        let oidc = "/realms/acme/.well-known/openid-configuration";
        let rfc8414 = "/.well-known/oauth-authorization-server/realms/acme";
        assert_eq!(status(&issuer, oidc), want_oidc, "{layout:?}");
        assert_eq!(status(&issuer, rfc8414), want_rfc8414, "{layout:?}");
        // Neither the root-level URLs nor a trailing-slash variant are served.
        assert_eq!(status(&issuer, OIDC), 404);
        assert_eq!(status(&issuer, RFC8414), 404);
        assert_eq!(status(&issuer, &format!("{oidc}/")), 404);
        // Served or not, each metadata URL counts its requests, and only its own.
        assert_eq!(issuer.discovery_fetch_count_at(oidc), 1);
        assert_eq!(issuer.discovery_fetch_count_at(&issuer.discovery_url()), 1);
        assert_eq!(issuer.discovery_fetch_count_at(rfc8414), 1);
        assert_eq!(
            issuer.discovery_fetch_count_at(&issuer.oauth_metadata_url()),
            1
        );
        assert_eq!(issuer.discovery_fetch_count_at(OIDC), 1);
        assert_eq!(issuer.discovery_fetch_count_at("/never"), 0);
        assert_eq!(issuer.discovery_fetch_count(), 2);
        assert_eq!(issuer.fetch_count(), 0);
    }
}

#[test]
fn counters_ignore_the_query_and_other_methods() {
    let issuer = TestIssuer::builder()
        .path("/realms/acme")
        .discovery(Layout::Rfc8414)
        .start();
    let rfc8414 = "/.well-known/oauth-authorization-server/realms/acme";
    assert_eq!(status(&issuer, &format!("{rfc8414}?x=1")), 200);
    let raw = raw_exchange(
        issuer.addr(),
        format!("POST {rfc8414} HTTP/1.1\r\nHost: x\r\nContent-Length: 0\r\n\r\n").as_bytes(),
    );
    assert_eq!(common::parse_response(&raw).unwrap().status, 405);
    assert_eq!(issuer.discovery_fetch_count_at(rfc8414), 1);
    assert_eq!(issuer.discovery_fetch_count_at(&format!("{rfc8414}?y")), 1);
    assert_eq!(issuer.discovery_fetch_count(), 1);
}

#[test]
fn set_discovery_serves_at_every_served_url() {
    let issuer = TestIssuer::builder()
        .path("/r")
        .discovery(Layout::Both)
        .start();
    let doc = json!({"issuer": "https://evil.example/r", "jwks_uri": "http://10.0.0.1/k"});
    issuer.set_discovery(Some(doc.clone()));
    assert_eq!(issuer.discovery(), doc);
    assert_eq!(
        get(issuer.addr(), "/r/.well-known/openid-configuration")
            .unwrap()
            .json(),
        doc
    );
    assert_eq!(
        get(issuer.addr(), "/.well-known/oauth-authorization-server/r")
            .unwrap()
            .json(),
        doc
    );
    issuer.set_discovery(None);
    assert_eq!(issuer.discovery()["issuer"], issuer.issuer());
}

#[test]
fn discovery_faults_hit_both_urls_and_not_the_jwks() {
    let issuer = TestIssuer::builder()
        .path("/realms/acme")
        .discovery(Layout::Rfc8414)
        .start();
    let oidc = "/realms/acme/.well-known/openid-configuration";
    let rfc8414 = "/.well-known/oauth-authorization-server/realms/acme";
    for code in [500, 429, 408, 302] {
        issuer.set_discovery_fault(Some(Fault::Status(code)));
        // Also at the URL the layout does not serve (instead of its 404).
        assert_eq!(status(&issuer, oidc), code);
        assert_eq!(status(&issuer, rfc8414), code);
        assert_eq!(status(&issuer, "/realms/acme/jwks.json"), 200);
    }
    issuer.set_discovery_fault(Some(Fault::Body(b"<html>".to_vec())));
    let resp = get(issuer.addr(), rfc8414).unwrap();
    assert_eq!((resp.status, resp.body.as_slice()), (200, &b"<html>"[..]));

    issuer.set_discovery_fault(Some(Fault::BodyWithoutLength(b"[]".to_vec())));
    let resp = get(issuer.addr(), rfc8414).unwrap();
    assert_eq!(resp.header("Content-Length"), None);
    assert_eq!(resp.body, b"[]");

    issuer.set_discovery_fault(Some(Fault::DeclaredLength(2 * 1024 * 1024)));
    let resp = get(issuer.addr(), rfc8414).unwrap();
    assert_eq!(resp.header("Content-Length"), Some("2097152"));
    assert_eq!(resp.body, serde_json::to_vec(&issuer.discovery()).unwrap());

    issuer.set_discovery_fault(Some(Fault::DropConnection));
    let raw = raw_exchange(
        issuer.addr(),
        format!("GET {rfc8414} HTTP/1.1\r\nHost: x\r\n\r\n").as_bytes(),
    );
    assert!(raw.is_empty());

    // JWKS faults leave the metadata alone.
    issuer.set_discovery_fault(None);
    issuer.set_fault(Some(Fault::Status(503)));
    assert_eq!(status(&issuer, rfc8414), 200);
    assert_eq!(status(&issuer, oidc), 404);
    assert_eq!(status(&issuer, "/realms/acme/jwks.json"), 503);
    assert_eq!(issuer.fetch_count(), 5);
    assert_eq!(issuer.discovery_fetch_count_at(oidc), 5);
    assert_eq!(issuer.discovery_fetch_count_at(rfc8414), 9);
}

#[test]
fn a_fault_for_one_url_takes_precedence() {
    // The fallback scenario: the OIDC URL answers 403, the RFC 8414 one serves.
    let issuer = TestIssuer::builder()
        .path("/t")
        .discovery(Layout::Both)
        .start();
    let oidc = issuer.discovery_url();
    let rfc8414 = "/.well-known/oauth-authorization-server/t";
    issuer.set_discovery_fault_at(&oidc, Some(Fault::Status(403)));
    assert_eq!(status(&issuer, "/t/.well-known/openid-configuration"), 403);
    assert_eq!(status(&issuer, rfc8414), 200);
    issuer.set_discovery_fault(Some(Fault::Status(500)));
    assert_eq!(status(&issuer, "/t/.well-known/openid-configuration"), 403);
    assert_eq!(status(&issuer, rfc8414), 500);
    issuer.set_discovery_fault_at(&oidc, None);
    issuer.set_discovery_fault(None);
    assert_eq!(status(&issuer, "/t/.well-known/openid-configuration"), 200);
}

#[test]
#[should_panic(expected = "not a metadata path")]
fn a_fault_for_another_path_is_refused() {
    let issuer = TestIssuer::start();
    issuer.set_discovery_fault_at("/jwks.json", Some(Fault::Status(500)));
}

#[test]
fn discovery_delay_holds_only_the_metadata() {
    let issuer = TestIssuer::start();
    issuer.set_discovery_delay(Duration::from_millis(400));
    let started = Instant::now();
    assert_eq!(status(&issuer, "/jwks.json"), 200);
    assert!(started.elapsed() < Duration::from_millis(300));
    let started = Instant::now();
    assert_eq!(status(&issuer, OIDC), 200);
    assert!(started.elapsed() >= Duration::from_millis(400));
    // Counted before the delay is waited.
    issuer.set_discovery_delay(Duration::from_secs(30));
    let addr = issuer.addr();
    let pending = std::thread::spawn(move || get(addr, OIDC));
    let deadline = Instant::now() + Duration::from_secs(5);
    while issuer.discovery_fetch_count() < 2 {
        assert!(Instant::now() < deadline, "request not counted");
        std::thread::sleep(Duration::from_millis(10));
    }
    // Dropping the issuer cuts the delay short: no response.
    let started = Instant::now();
    drop(issuer);
    assert!(pending.join().unwrap().is_none());
    assert!(started.elapsed() < Duration::from_secs(5));
}

#[test]
fn set_jwks_path_moves_the_key_set_and_the_document_follows() {
    let issuer = TestIssuer::builder().path("/realms/acme").start();
    let old = issuer.jwks_url();
    assert_eq!(
        get(issuer.addr(), "/realms/acme/jwks.json").unwrap().status,
        200
    );

    let next = TestKey::generate(Alg::ES256, "next");
    issuer.set_keys(std::slice::from_ref(&next));
    issuer.set_jwks_path("/realms/acme/protocol/openid-connect/certs");
    let new = issuer.jwks_url();
    assert_ne!(new, old);
    assert_eq!(
        new,
        format!(
            "{}/realms/acme/protocol/openid-connect/certs",
            issuer.base_url()
        )
    );
    let doc = get(
        issuer.addr(),
        "/realms/acme/.well-known/openid-configuration",
    )
    .unwrap()
    .json();
    assert_eq!(doc["jwks_uri"], new);
    assert_eq!(doc["issuer"], issuer.issuer());

    let resp = get(issuer.addr(), "/realms/acme/protocol/openid-connect/certs").unwrap();
    assert_eq!(resp.status, 200);
    assert_eq!(resp.json(), json!({"keys": [next.public_jwk()]}));
    assert_eq!(
        get(issuer.addr(), "/realms/acme/jwks.json").unwrap().status,
        404
    );
    // fetch_count counts the JWKS at its current path only; the per-path counts tell them apart.
    assert_eq!(issuer.fetch_count(), 2);
    assert_eq!(issuer.discovery_fetch_count_at(&old), 2);
    assert_eq!(issuer.discovery_fetch_count_at(&new), 1);
}

#[test]
#[should_panic(expected = "not an absolute path")]
fn a_relative_path_is_refused() {
    let _ = TestIssuer::builder().path("realms/acme");
}

#[test]
#[should_panic(expected = "not an absolute path")]
fn a_path_with_a_query_is_refused() {
    TestIssuer::start().set_jwks_path("/jwks?x");
}
