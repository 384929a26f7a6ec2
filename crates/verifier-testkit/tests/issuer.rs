//! TestIssuer over real HTTP, with a plain std TcpStream client.

mod common;

use std::io::{Read, Write};
use std::net::TcpStream;
use std::thread;
use std::time::{Duration, Instant};

use common::{get, parse_response, raw_exchange, verify_token};
use serde_json::json;
use verifier_testkit::{Alg, Fault, TestIssuer, TestKey};

fn kids(doc: &serde_json::Value) -> Vec<String> {
    doc["keys"]
        .as_array()
        .unwrap()
        .iter()
        .map(|k| k["kid"].as_str().unwrap().to_owned())
        .collect()
}

#[test]
fn urls() {
    let issuer = TestIssuer::start();
    let port = issuer.addr().port();
    assert_eq!(issuer.addr().ip().to_string(), "127.0.0.1");
    assert_eq!(issuer.base_url(), format!("http://127.0.0.1:{port}"));
    assert_eq!(issuer.issuer(), format!("http://127.0.0.1:{port}/"));
    assert_eq!(
        issuer.jwks_url(),
        format!("http://127.0.0.1:{port}/jwks.json")
    );
    assert_eq!(
        issuer.discovery_url(),
        format!("http://127.0.0.1:{port}/.well-known/openid-configuration")
    );
}

#[test]
fn serves_the_jwks() {
    let issuer = TestIssuer::start();
    let resp = get(issuer.addr(), "/jwks.json").expect("response");
    assert_eq!(resp.status, 200);
    assert_eq!(resp.header("Content-Type"), Some("application/json"));
    assert_eq!(resp.header("Connection"), Some("close"));
    assert_eq!(
        resp.header("Content-Length"),
        Some(resp.body.len().to_string().as_str())
    );
    let doc = resp.json();
    assert_eq!(doc, json!({"keys": [issuer.default_key().public_jwk()]}));
    assert_eq!(doc, issuer.jwks());
    assert_eq!(kids(&doc), ["test-rs256"]);
    assert!(doc["keys"][0].get("alg").is_none());

    // A token verifies against the served JWK.
    let token = issuer.token().build();
    verify_token(&doc["keys"][0], Alg::RS256, &token).unwrap();

    // Query strings are ignored for routing.
    assert_eq!(get(issuer.addr(), "/jwks.json?x=1").unwrap().status, 200);
}

#[test]
fn serves_discovery() {
    let issuer = TestIssuer::start();
    let resp = get(issuer.addr(), "/.well-known/openid-configuration").unwrap();
    assert_eq!(resp.status, 200);
    assert_eq!(resp.header("Content-Type"), Some("application/json"));
    assert_eq!(
        resp.json(),
        json!({"issuer": issuer.issuer(), "jwks_uri": issuer.jwks_url()})
    );
    assert_eq!(issuer.discovery_fetch_count(), 1);
    assert_eq!(issuer.fetch_count(), 0);

    issuer.set_discovery(Some(json!({"issuer": "https://other.example/"})));
    let resp = get(issuer.addr(), "/.well-known/openid-configuration").unwrap();
    assert_eq!(resp.json(), json!({"issuer": "https://other.example/"}));
    issuer.set_discovery(None);
    let resp = get(issuer.addr(), "/.well-known/openid-configuration").unwrap();
    assert_eq!(resp.json()["issuer"], issuer.issuer());

    // Faults only affect the JWKS endpoint.
    issuer.set_fault(Some(Fault::Status(500)));
    let resp = get(issuer.addr(), "/.well-known/openid-configuration").unwrap();
    assert_eq!(resp.status, 200);
}

#[test]
fn not_found_and_method_not_allowed() {
    let issuer = TestIssuer::start();
    assert_eq!(get(issuer.addr(), "/").unwrap().status, 404);
    assert_eq!(get(issuer.addr(), "/jwks").unwrap().status, 404);
    let raw = raw_exchange(
        issuer.addr(),
        b"POST /jwks.json HTTP/1.1\r\nHost: x\r\nContent-Length: 0\r\n\r\n",
    );
    assert_eq!(parse_response(&raw).unwrap().status, 405);
    assert_eq!(issuer.fetch_count(), 0);
}

#[test]
fn oversized_and_malformed_requests() {
    let issuer = TestIssuer::start();
    let mut big = b"GET /jwks.json HTTP/1.1\r\nX-Big: ".to_vec();
    big.extend(std::iter::repeat_n(b'a', 20 * 1024));
    big.extend_from_slice(b"\r\n\r\n");
    let raw = raw_exchange(issuer.addr(), &big);
    assert_eq!(parse_response(&raw).unwrap().status, 431);

    let raw = raw_exchange(issuer.addr(), b"garbage\r\n\r\n");
    assert_eq!(parse_response(&raw).unwrap().status, 400);
    assert_eq!(issuer.fetch_count(), 0);
}

#[test]
fn fault_status() {
    let issuer = TestIssuer::start();
    for status in [500, 503, 404, 429] {
        issuer.set_fault(Some(Fault::Status(status)));
        let resp = get(issuer.addr(), "/jwks.json").unwrap();
        assert_eq!(resp.status, status);
        assert!(!resp.body.is_empty());
        assert_eq!(
            resp.header("Content-Length"),
            Some(resp.body.len().to_string().as_str())
        );
    }
    issuer.set_fault(Some(Fault::Status(204)));
    let resp = get(issuer.addr(), "/jwks.json").unwrap();
    assert_eq!(resp.status, 204);
    assert!(resp.body.is_empty());

    issuer.set_fault(None);
    assert_eq!(get(issuer.addr(), "/jwks.json").unwrap().status, 200);
    assert_eq!(issuer.fetch_count(), 6);
}

#[test]
fn fault_body() {
    let issuer = TestIssuer::start();
    issuer.set_fault(Some(Fault::Body(b"{\"keys\": 5".to_vec())));
    let resp = get(issuer.addr(), "/jwks.json").unwrap();
    assert_eq!(resp.status, 200);
    assert_eq!(resp.header("Content-Type"), Some("application/json"));
    assert_eq!(resp.header("Content-Length"), Some("10"));
    assert_eq!(resp.body, b"{\"keys\": 5");
}

#[test]
fn fault_body_without_length() {
    let issuer = TestIssuer::start();
    let body = vec![b' '; 100_000];
    issuer.set_fault(Some(Fault::BodyWithoutLength(body.clone())));
    let resp = get(issuer.addr(), "/jwks.json").unwrap();
    assert_eq!(resp.status, 200);
    assert_eq!(resp.header("Content-Length"), None);
    assert_eq!(resp.header("Connection"), Some("close"));
    assert_eq!(resp.body, body);
}

#[test]
fn fault_declared_length() {
    let issuer = TestIssuer::start();
    issuer.set_fault(Some(Fault::DeclaredLength(50 * 1024 * 1024)));
    let resp = get(issuer.addr(), "/jwks.json").unwrap();
    assert_eq!(resp.status, 200);
    assert_eq!(resp.header("Content-Length"), Some("52428800"));
    // The body is the normal JWKS, then the connection closes.
    assert_eq!(resp.body, serde_json::to_vec(&issuer.jwks()).unwrap());
}

#[test]
fn fault_drop_connection() {
    let issuer = TestIssuer::start();
    issuer.set_fault(Some(Fault::DropConnection));
    let raw = raw_exchange(issuer.addr(), b"GET /jwks.json HTTP/1.1\r\nHost: x\r\n\r\n");
    assert!(raw.is_empty(), "got {:?}", String::from_utf8_lossy(&raw));
    assert_eq!(issuer.fetch_count(), 1);
}

#[test]
fn fetch_count_and_reset() {
    let issuer = TestIssuer::start();
    assert_eq!(issuer.fetch_count(), 0);
    for _ in 0..3 {
        get(issuer.addr(), "/jwks.json").unwrap();
    }
    get(issuer.addr(), "/other").unwrap();
    assert_eq!(issuer.fetch_count(), 3);
    issuer.reset_fetch_count();
    assert_eq!(issuer.fetch_count(), 0);
    issuer.set_fault(Some(Fault::DropConnection));
    assert!(get(issuer.addr(), "/jwks.json").is_none());
    assert_eq!(issuer.fetch_count(), 1);
}

#[test]
fn key_management_is_visible_at_once() {
    let a = TestKey::generate(Alg::ES256, "a");
    let b = TestKey::generate(Alg::EdDSA, "b");
    let issuer = TestIssuer::start_with_keys(&[a.clone(), b.clone()]);
    assert_eq!(issuer.default_key().kid(), "a");
    let served = || get(issuer.addr(), "/jwks.json").unwrap().json();
    assert_eq!(kids(&served()), ["a", "b"]);

    let c = TestKey::generate(Alg::RS256, "c");
    issuer.add_key(&c);
    assert_eq!(kids(&served()), ["a", "b", "c"]);
    issuer.remove_key("a");
    assert_eq!(kids(&served()), ["b", "c"]);
    assert_eq!(
        issuer
            .keys()
            .iter()
            .map(|k| k.kid().to_owned())
            .collect::<Vec<_>>(),
        ["b", "c"]
    );
    issuer.set_keys(std::slice::from_ref(&a));
    assert_eq!(served(), json!({"keys": [a.public_jwk()]}));
    issuer.set_keys(&[]);
    assert_eq!(served(), json!({"keys": []}));

    let rotated = issuer.rotate(Alg::ES384, "r1");
    assert_eq!(rotated.alg(), Alg::ES384);
    let doc = served();
    assert_eq!(doc, json!({"keys": [rotated.public_jwk()]}));
    verify_token(
        &doc["keys"][0],
        Alg::ES384,
        &issuer.token_for(&rotated).build(),
    )
    .unwrap();
    // The default key stays the first key given at start.
    assert_eq!(issuer.default_key().kid(), "a");
}

#[test]
fn start_with_no_keys() {
    let issuer = TestIssuer::start_with_keys(&[]);
    assert_eq!(
        get(issuer.addr(), "/jwks.json").unwrap().json(),
        json!({"keys": []})
    );
    assert_eq!(issuer.default_key().kid(), "test-rs256");
    assert!(issuer.keys().is_empty());
}

#[test]
fn set_jwks_overrides_and_restores() {
    let issuer = TestIssuer::start();
    let mut doc = issuer.jwks();
    let keys = doc["keys"].as_array_mut().unwrap();
    keys.push(json!({"kty": "OKP", "crv": "Ed448", "kid": "ed448", "x": "AAAA"}));
    keys.push(json!({"kty": "oct", "kid": "sym", "k": "c2VjcmV0"}));
    keys.push(json!({"kty": "RSA", "kid": "enc", "use": "enc", "n": "AQAB", "e": "AQAB"}));
    issuer.set_jwks(Some(doc.clone()));
    assert_eq!(get(issuer.addr(), "/jwks.json").unwrap().json(), doc);
    assert_eq!(issuer.jwks(), doc);

    issuer.set_jwks(Some(json!("not a key set")));
    assert_eq!(
        get(issuer.addr(), "/jwks.json").unwrap().json(),
        json!("not a key set")
    );

    issuer.set_jwks(None);
    assert_eq!(
        kids(&get(issuer.addr(), "/jwks.json").unwrap().json()),
        ["test-rs256"]
    );
}

#[test]
fn delay_applies_to_jwks_only_and_does_not_block_others() {
    let issuer = TestIssuer::start();
    issuer.set_delay(Duration::from_secs(1));
    let addr = issuer.addr();
    let slow = thread::spawn(move || {
        let start = Instant::now();
        let resp = get(addr, "/jwks.json").unwrap();
        (start.elapsed(), resp.status)
    });
    thread::sleep(Duration::from_millis(50));
    let start = Instant::now();
    let resp = get(addr, "/.well-known/openid-configuration").unwrap();
    assert_eq!(resp.status, 200);
    assert!(
        start.elapsed() < Duration::from_millis(700),
        "discovery was blocked"
    );
    // The delayed request has been counted already.
    assert_eq!(issuer.fetch_count(), 1);
    let (elapsed, status) = slow.join().unwrap();
    assert_eq!(status, 200);
    assert!(elapsed >= Duration::from_secs(1), "{elapsed:?}");

    // Delay combined with a fault.
    issuer.set_delay(Duration::from_millis(300));
    issuer.set_fault(Some(Fault::Status(502)));
    let start = Instant::now();
    assert_eq!(get(addr, "/jwks.json").unwrap().status, 502);
    assert!(start.elapsed() >= Duration::from_millis(300));

    issuer.set_delay(Duration::ZERO);
    let start = Instant::now();
    assert_eq!(get(addr, "/jwks.json").unwrap().status, 502);
    assert!(start.elapsed() < Duration::from_millis(250));
}

#[test]
fn concurrent_requests() {
    let issuer = TestIssuer::start();
    let addr = issuer.addr();
    let handles: Vec<_> = (0..16)
        .map(|_| thread::spawn(move || get(addr, "/jwks.json").unwrap().status))
        .collect();
    for h in handles {
        assert_eq!(h.join().unwrap(), 200);
    }
    assert_eq!(issuer.fetch_count(), 16);
}

#[test]
fn drop_is_prompt_and_closes_the_listener() {
    let issuer = TestIssuer::start();
    let addr = issuer.addr();
    assert_eq!(get(addr, "/jwks.json").unwrap().status, 200);
    let start = Instant::now();
    drop(issuer);
    assert!(
        start.elapsed() < Duration::from_secs(1),
        "{:?}",
        start.elapsed()
    );
    assert!(TcpStream::connect(addr).is_err(), "listener still open");
}

#[test]
fn drop_cuts_pending_delays_short() {
    let issuer = TestIssuer::start();
    issuer.set_delay(Duration::from_secs(60));
    let addr = issuer.addr();
    let mut stream = TcpStream::connect(addr).unwrap();
    stream
        .write_all(b"GET /jwks.json HTTP/1.1\r\nHost: x\r\n\r\n")
        .unwrap();
    // Wait until the server has read the request.
    let deadline = Instant::now() + Duration::from_secs(5);
    while issuer.fetch_count() == 0 {
        assert!(Instant::now() < deadline, "request never arrived");
        thread::sleep(Duration::from_millis(5));
    }
    let start = Instant::now();
    drop(issuer);
    assert!(
        start.elapsed() < Duration::from_secs(1),
        "{:?}",
        start.elapsed()
    );
    stream
        .set_read_timeout(Some(Duration::from_secs(5)))
        .unwrap();
    let mut out = Vec::new();
    let _ = stream.read_to_end(&mut out);
    assert!(out.is_empty());
    assert!(
        start.elapsed() < Duration::from_secs(2),
        "delay was not cut short"
    );
}

#[test]
fn drop_with_idle_client_connected() {
    let issuer = TestIssuer::start();
    let addr = issuer.addr();
    // A client that connects and sends nothing must not hold up drop.
    let _idle = TcpStream::connect(addr).unwrap();
    thread::sleep(Duration::from_millis(20));
    let start = Instant::now();
    drop(issuer);
    assert!(start.elapsed() < Duration::from_secs(1));
}

#[test]
fn many_issuers_side_by_side() {
    let a = TestIssuer::start();
    let b = TestIssuer::start();
    assert_ne!(a.addr(), b.addr());
    assert_ne!(a.issuer(), b.issuer());
    // Fresh key material per issuer, although the kids are equal.
    assert_ne!(a.jwks(), b.jwks());
    a.set_fault(Some(Fault::Status(500)));
    assert_eq!(get(b.addr(), "/jwks.json").unwrap().status, 200);
}

#[test]
fn extra_jwks_headers() {
    let issuer = TestIssuer::start();
    assert_eq!(
        get(issuer.addr(), "/jwks.json")
            .unwrap()
            .header("Cache-Control"),
        None
    );
    issuer.set_jwks_headers(&[("Cache-Control", "max-age=60"), ("ETag", "\"v1\"")]);
    let resp = get(issuer.addr(), "/jwks.json").unwrap();
    assert_eq!(resp.header("Cache-Control"), Some("max-age=60"));
    assert_eq!(resp.header("ETag"), Some("\"v1\""));
    issuer.set_fault(Some(Fault::Status(503)));
    let resp = get(issuer.addr(), "/jwks.json").unwrap();
    assert_eq!(resp.status, 503);
    assert_eq!(resp.header("Cache-Control"), Some("max-age=60"));
    // Discovery is unaffected.
    let resp = get(issuer.addr(), "/.well-known/openid-configuration").unwrap();
    assert_eq!(resp.header("Cache-Control"), None);
    issuer.set_jwks_headers(&[]);
    issuer.set_fault(None);
    assert_eq!(
        get(issuer.addr(), "/jwks.json").unwrap().header("ETag"),
        None
    );
}

#[test]
#[should_panic(expected = "CR/LF")]
fn extra_header_injection_is_refused() {
    TestIssuer::start().set_jwks_headers(&[("X", "a\r\nInjected: 1")]);
}
