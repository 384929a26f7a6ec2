//! DPoP (RFC 9449) at the core: proof checks D1–D10, `htu` matching, token binding,
//! replay and nonces (SPEC-2 §5), through `verifier_core::dpop::DpopVerifier`.
//!
//! A test carries a SPEC-2 acceptance ID only when it meets that ID's whole pass
//! criterion at this level; the HTTP ones (a 200, response headers, challenges) wait for
//! the integrations.

use std::io::Write as _;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant, SystemTime};

use http::{HeaderMap, HeaderValue, Method, Uri};
use serde_json::{json, Map, Value};
use verifier_core::dpop::{
    check_token_binding, CheckedProof, DpopConfig, DpopConfigBuilder, DpopMode, DpopVerifier,
    Presented,
};
use verifier_core::{Algorithm, AuthError, Clock, ErrorCode};
use verifier_testkit::{Alg, DpopProof, TestClock, TestKey, TokenBuilder};

const BASE: &str = "https://api.example.com";
const URL: &str = "https://api.example.com/me";

const INVALID: &str = "Invalid DPoP proof";
const NOT_REQUEST: &str = "DPoP proof does not match the request";
const NOT_FRESH: &str = "DPoP proof is not fresh";
const NOT_TOKEN: &str = "DPoP proof does not match the access token";

fn builder() -> DpopConfigBuilder {
    DpopConfig::builder()
        .mode(DpopMode::Allowed)
        .public_base_url(BASE)
}

fn verifier() -> DpopVerifier {
    DpopVerifier::new(builder().build().unwrap())
}

fn headers(proof: &str) -> HeaderMap {
    let mut h = HeaderMap::new();
    h.insert("dpop", HeaderValue::from_str(proof).unwrap());
    h
}

fn uri(path: &str) -> Uri {
    path.parse().unwrap()
}

/// A token bound to `key` (the issuer's own key does not matter here: the DPoP steps
/// take the raw token for `ath` and the verified claims for the binding).
fn bound_token(key: &TestKey) -> String {
    let issuer_key = TestKey::generate(Alg::ES256, "issuer");
    TokenBuilder::new(&issuer_key)
        .claim("sub", json!("alice"))
        .cnf_jkt(key)
        .build()
}

fn claims_of(token: &str) -> Map<String, Value> {
    let (_, payload) = verifier_core::decode_unverified(token).unwrap();
    payload.as_object().unwrap().clone()
}

/// A valid proof of `key` for `GET /me` and `token`.
fn proof(key: &TestKey, token: &str) -> DpopProof {
    DpopProof::new(key).htm("GET").htu(URL).ath_for(token)
}

/// Step 7c alone, for `GET /me`.
fn check(v: &DpopVerifier, proof: &DpopProof, token: &str) -> Result<CheckedProof, AuthError> {
    v.check_proof(&Method::GET, &uri("/me"), &headers(&proof.build()), token)
}

fn refused(v: &DpopVerifier, proof: &DpopProof, token: &str) -> AuthError {
    match check(v, proof, token) {
        Ok(p) => panic!("accepted: {p:?}"),
        Err(e) => e,
    }
}

fn assert_invalid(err: &AuthError, message: &str) {
    assert_eq!(err.code(), ErrorCode::InvalidDpopProof, "{err:?}");
    assert_eq!(err.message(), message, "{err:?}");
    assert_eq!(err.status().as_u16(), 401);
}

/// Steps 7c, 11b and 12b: what the verifier does for a DPoP request.
async fn accept(
    v: &DpopVerifier,
    method: &Method,
    path: &str,
    proof_value: &str,
    token: &str,
) -> Result<CheckedProof, AuthError> {
    let checked = v.check_proof(method, &uri(path), &headers(proof_value), token)?;
    v.check_binding(&checked, &claims_of(token))?;
    v.check_replay(&checked).await?;
    Ok(checked)
}

/// Valid proofs of four algorithms with tokens bound to their keys pass every step, in
/// both DPoP modes, and the proof's thumbprint is the testkit's (RFC 7638).
#[tokio::test]
async fn valid_proofs_of_every_family_pass_every_step() {
    for mode in [DpopMode::Allowed, DpopMode::Required] {
        let v = DpopVerifier::new(
            DpopConfig::builder()
                .mode(mode)
                .public_base_url(BASE)
                .build()
                .unwrap(),
        );
        for alg in [Alg::ES256, Alg::EdDSA, Alg::PS256, Alg::RS256] {
            let key = TestKey::generate(alg, "client");
            let token = bound_token(&key);
            let p = proof(&key, &token).build();
            let checked = accept(&v, &Method::GET, "/me", &p, &token)
                .await
                .unwrap_or_else(|e| panic!("{alg:?}: {e:?}"));
            assert_eq!(checked.jkt(), key.thumbprint(), "{alg:?}");
            assert!(checked.next_nonce().is_none());
        }
    }
}

// DP2
#[test]
fn dp2_proof_signed_by_another_key_is_refused() {
    let v = verifier();
    let k1 = TestKey::generate(Alg::ES256, "k1");
    let k2 = TestKey::generate(Alg::ES256, "k2");
    let token = bound_token(&k2);
    // Header jwk = K2, signed by K1.
    let forged = proof(&k2, &token).signing_key(&k1);
    assert_invalid(&refused(&v, &forged, &token), INVALID);
    // The same proof signed by K2 passes (the refusal is the signature's).
    assert!(check(&v, &proof(&k2, &token), &token).is_ok());
}

/// A writer into a shared buffer, to capture `tracing` output.
#[derive(Clone, Default)]
struct Captured(Arc<Mutex<Vec<u8>>>);

impl std::io::Write for Captured {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

// DP3
#[test]
fn dp3_private_and_symmetric_jwks_are_refused_and_never_logged() {
    let v = verifier();
    let captured = Captured::default();
    let writer = captured.clone();
    let subscriber = tracing_subscriber::fmt()
        .with_max_level(tracing::Level::TRACE)
        .with_ansi(false)
        .with_writer(move || writer.clone())
        .finish();
    const SECRET: &str = "c2VjcmV0LXByaXZhdGUtbWF0ZXJpYWwtZG8tbm90LWxvZw";
    let ec = TestKey::generate(Alg::ES256, "ec");
    let rsa = TestKey::generate(Alg::RS256, "rsa");
    let mut cases: Vec<(TestKey, Value)> = Vec::new();
    let mut with_d = ec.public_jwk();
    with_d["d"] = json!(SECRET);
    cases.push((ec.clone(), with_d));
    for member in ["d", "p", "q", "dp", "dq", "qi", "oth"] {
        let mut jwk = rsa.public_jwk();
        jwk[member] = if member == "oth" {
            json!([{ "r": SECRET, "d": SECRET, "t": SECRET }])
        } else {
            json!(SECRET)
        };
        cases.push((rsa.clone(), jwk));
    }
    cases.push((ec.clone(), json!({"kty": "oct", "k": SECRET})));
    cases.push((
        ec.clone(),
        json!({"kty": "oct", "k": SECRET, "alg": "ES256"}),
    ));
    tracing::subscriber::with_default(subscriber, || {
        for (key, jwk) in &cases {
            let token = bound_token(key);
            let err = refused(&v, &proof(key, &token).jwk(jwk.clone()), &token);
            assert_invalid(&err, INVALID);
            // Not in the error either: message, Debug (with its source chain), Display.
            let shown = format!("{err:?} {err}");
            assert!(!shown.contains(SECRET), "{shown}");
        }
    });
    let logs = String::from_utf8(captured.0.lock().unwrap().clone()).unwrap();
    // The capture works (the refusals were logged, by member name) ...
    assert!(logs.contains("private member"), "{logs}");
    assert!(logs.contains(r#"private member "k""#), "{logs}");
    assert!(logs.contains(r#"private member "oth""#), "{logs}");
    // ... and no private value was.
    assert!(!logs.contains(SECRET), "{logs}");
    assert!(!logs.contains(&SECRET[..16]), "{logs}");
}

// DP4
#[test]
fn dp4_bad_algorithms_and_keys_are_refused() {
    let v = DpopVerifier::new(
        builder()
            .algs([Algorithm::ES256, Algorithm::RS256, Algorithm::EdDSA])
            .build()
            .unwrap(),
    );
    let ec = TestKey::generate(Alg::ES256, "ec");
    let token = bound_token(&ec);
    for alg in [
        "none", "None", "NONE", "HS256", "hs256", "es256", "", "ES256 ",
    ] {
        let p = proof(&ec, &token).alg(alg);
        assert_invalid(&refused(&v, &p, &token), INVALID);
    }
    // alg none with an empty signature.
    let p = proof(&ec, &token).alg("none").signature(Vec::new());
    assert_invalid(&refused(&v, &p, &token), INVALID);
    // alg not a string, or absent.
    let p = proof(&ec, &token).header("alg", json!(7));
    assert_invalid(&refused(&v, &p, &token), INVALID);
    let p = proof(&ec, &token).remove_header("alg");
    assert_invalid(&refused(&v, &p, &token), INVALID);
    // Supported, not in dpop_algs.
    let es384 = TestKey::generate(Alg::ES384, "es384");
    let t384 = bound_token(&es384);
    assert_invalid(&refused(&v, &proof(&es384, &t384), &t384), INVALID);
    let ps = TestKey::generate(Alg::PS256, "ps");
    let tps = bound_token(&ps);
    assert_invalid(&refused(&v, &proof(&ps, &tps), &tps), INVALID);
    // RS256 with an EC jwk (signed by an RSA key, so only the family mismatch is wrong).
    let rsa = TestKey::generate(Alg::RS256, "rsa");
    let p = proof(&rsa, &token).jwk(ec.public_jwk());
    assert_invalid(&refused(&v, &p, &token), INVALID);
    // ES256 with an RSA jwk.
    let p = proof(&ec, &token).jwk(rsa.public_jwk());
    assert_invalid(&refused(&v, &p, &token), INVALID);
    // A jwk whose own alg differs.
    let mut jwk = ec.public_jwk();
    jwk["alg"] = json!("ES384");
    assert_invalid(&refused(&v, &proof(&ec, &token).jwk(jwk), &token), INVALID);
    // RSA-1024, correctly signed.
    let short = TestKey::rsa(1024, "short");
    let tshort = bound_token(&short);
    assert_invalid(&refused(&v, &proof(&short, &tshort), &tshort), INVALID);
    // EC point off the curve (y changed), and the wrong curve for ES256.
    let mut off = ec.public_jwk();
    let y = off["y"].as_str().unwrap().to_owned();
    let flipped = if y.starts_with('A') { "B" } else { "A" };
    off["y"] = json!(format!("{flipped}{}", &y[1..]));
    assert_invalid(&refused(&v, &proof(&ec, &token).jwk(off), &token), INVALID);
    let mut p384 = es384.public_jwk();
    p384["crv"] = json!("P-256");
    assert_invalid(&refused(&v, &proof(&ec, &token).jwk(p384), &token), INVALID);
    // jwk absent, not an object.
    assert_invalid(
        &refused(&v, &proof(&ec, &token).remove_header("jwk"), &token),
        INVALID,
    );
    assert_invalid(
        &refused(&v, &proof(&ec, &token).jwk(json!("x")), &token),
        INVALID,
    );
    // The unmodified proof passes.
    assert!(check(&v, &proof(&ec, &token), &token).is_ok());
}

// DP5
#[test]
fn dp5_typ_must_be_dpop_jwt() {
    let v = verifier();
    let key = TestKey::generate(Alg::ES256, "k");
    let token = bound_token(&key);
    let absent = proof(&key, &token).remove_header("typ");
    assert_invalid(&refused(&v, &absent, &token), INVALID);
    for typ in ["JWT", "at+jwt", "dpop", "application/jwt", "dpop+jwt "] {
        assert_invalid(&refused(&v, &proof(&key, &token).typ(typ), &token), INVALID);
    }
    let p = proof(&key, &token).header("typ", json!(["dpop+jwt"]));
    assert_invalid(&refused(&v, &p, &token), INVALID);
    for typ in ["DPoP+JWT", "application/dpop+jwt", "dpop+jwt"] {
        assert!(
            check(&v, &proof(&key, &token).typ(typ), &token).is_ok(),
            "{typ}"
        );
    }
}

// DP6
#[test]
fn dp6_forbidden_header_members_and_duplicates_are_refused() {
    let v = verifier();
    let key = TestKey::generate(Alg::ES256, "k");
    let token = bound_token(&key);
    for (name, value) in [
        ("jku", json!("https://evil.example/jwks")),
        ("x5u", json!("https://evil.example/cert")),
        ("x5c", json!(["MIIB"])),
        ("crit", json!(["htu"])),
    ] {
        let p = proof(&key, &token).header(name, value);
        assert_invalid(&refused(&v, &p, &token), INVALID);
    }
    let jwk = serde_json::to_string(&{
        let mut j = key.public_jwk();
        j.as_object_mut().unwrap().remove("kid");
        j
    })
    .unwrap();
    let dup_header = format!(r#"{{"typ":"dpop+jwt","alg":"ES256","jwk":{jwk},"typ":"dpop+jwt"}}"#);
    let p = proof(&key, &token).raw_header(dup_header.clone());
    assert_invalid(&refused(&v, &p, &token), INVALID);
    // The same header without the duplicate passes (the raw path itself is fine).
    let single = format!(r#"{{"typ":"dpop+jwt","alg":"ES256","jwk":{jwk}}}"#);
    assert!(check(&v, &proof(&key, &token).raw_header(single), &token).is_ok());
    let ath = verifier_testkit_ath(&token);
    let now = verifier_testkit::now();
    let dup_payload =
        format!(r#"{{"jti":"a","htm":"GET","htu":"{URL}","iat":{now},"ath":"{ath}","jti":"b"}}"#);
    let p = proof(&key, &token).raw_payload(dup_payload);
    assert_invalid(&refused(&v, &p, &token), INVALID);
    // Header or payload not an object.
    let p = proof(&key, &token).raw_header("[1]");
    assert_invalid(&refused(&v, &p, &token), INVALID);
    let p = proof(&key, &token).raw_payload("\"x\"");
    assert_invalid(&refused(&v, &p, &token), INVALID);
}

fn verifier_testkit_ath(token: &str) -> String {
    let p = DpopProof::new(&TestKey::generate(Alg::ES256, "x"))
        .ath_for(token)
        .build();
    let (_, claims) = verifier_core::decode_unverified(&p).unwrap();
    claims["ath"].as_str().unwrap().to_owned()
}

// DP7
#[test]
fn dp7_htm_must_be_the_method_exactly() {
    let v = verifier();
    let key = TestKey::generate(Alg::ES256, "k");
    let token = bound_token(&key);
    for htm in ["POST", "get", "Get", "GET ", ""] {
        let p = proof(&key, &token).htm(htm);
        assert_invalid(&refused(&v, &p, &token), NOT_REQUEST);
    }
    let post = proof(&key, &token).htm("POST").build();
    let ok = v.check_proof(&Method::POST, &uri("/me"), &headers(&post), &token);
    assert!(ok.is_ok(), "{ok:?}");
    let p = proof(&key, &token).claim("htm", json!(1));
    assert_invalid(&refused(&v, &p, &token), INVALID);
}

fn htu_accepted(v: &DpopVerifier, htu: &str, path: &str, headers_extra: &[(&str, &str)]) -> bool {
    let key = TestKey::generate(Alg::ES256, "k");
    let token = bound_token(&key);
    let p = proof(&key, &token).htu(htu).build();
    let mut h = headers(&p);
    for (name, value) in headers_extra {
        h.append(
            http::HeaderName::from_bytes(name.as_bytes()).unwrap(),
            HeaderValue::from_str(value).unwrap(),
        );
    }
    match v.check_proof(&Method::GET, &uri(path), &h, &token) {
        Ok(_) => true,
        Err(e) => {
            assert_invalid(&e, NOT_REQUEST);
            false
        }
    }
}

// DP8
#[test]
fn dp8_equal_forms_of_the_url_are_accepted() {
    let v = verifier();
    for htu in [
        "https://api.example.com/me",
        "https://API.Example.COM/me",
        "HTTPS://api.example.com/me",
        "https://api.example.com:443/me",
        "https://api.example.com:0443/me",
        "https://api.example.com/a/../me",
        "https://api.example.com/./me",
        "https://api.example.com/me?x=1",
        "https://api.example.com/me#frag",
        "https://api.example.com/me?x=1#frag",
    ] {
        assert!(htu_accepted(&v, htu, "/me", &[]), "{htu}");
    }
    assert!(htu_accepted(
        &v,
        "https://api.example.com/%7euser",
        "/~user",
        &[]
    ));
    assert!(htu_accepted(
        &v,
        "https://api.example.com/~user",
        "/%7Euser",
        &[]
    ));
    assert!(htu_accepted(
        &v,
        "https://api.example.com/a%2fb",
        "/a%2Fb",
        &[]
    ));
    // The request's query is not part of the comparison either.
    let key = TestKey::generate(Alg::ES256, "k");
    let token = bound_token(&key);
    let p = proof(&key, &token).build();
    let ok = v.check_proof(&Method::GET, &uri("/me?page=2"), &headers(&p), &token);
    assert!(ok.is_ok(), "{ok:?}");

    let v6 = DpopVerifier::new(
        DpopConfig::builder()
            .mode(DpopMode::Allowed)
            .public_base_url("https://[2001:db8::1]:8443")
            .build()
            .unwrap(),
    );
    for htu in [
        "https://[2001:db8::1]:8443/me",
        "https://[2001:0db8:0000:0000:0000:0000:0000:0001]:8443/me",
        "https://[2001:DB8:0::1]:8443/me",
    ] {
        assert!(htu_accepted(&v6, htu, "/me", &[]), "{htu}");
    }
    let idn = DpopVerifier::new(
        DpopConfig::builder()
            .mode(DpopMode::Allowed)
            .public_base_url("https://bücher.example")
            .build()
            .unwrap(),
    );
    assert!(htu_accepted(
        &idn,
        "https://xn--bcher-kva.example/me",
        "/me",
        &[]
    ));
    assert!(htu_accepted(&idn, "https://bücher.example/me", "/me", &[]));
}

// DP9
#[test]
fn dp9_other_urls_are_refused_whatever_the_host_headers_say() {
    let v = verifier();
    for htu in [
        "http://api.example.com/me",
        "https://api.example.com:8443/me",
        "https://other.example.com/me",
        "https://api.example.com./me",
        "https://api.example.com.evil/me",
        "https://api.example.com/ME",
        "https://api.example.com/me/",
        "https://api.example.com/me%2F",
        "//api.example.com/me",
        "/me",
        "https://user@api.example.com/me",
        "https://user:pw@api.example.com/me",
        "https://api.example.com/m e",
        "https://api.example.com\\me",
        "https://api.example.com:65536/me",
        "https://api.example.com/v1/me",
        "",
    ] {
        assert!(!htu_accepted(&v, htu, "/me", &[]), "{htu:?}");
    }
    // `%2F` is not `/`.
    assert!(!htu_accepted(
        &v,
        "https://api.example.com/a%2Fb",
        "/a/b",
        &[]
    ));
    assert!(!htu_accepted(
        &v,
        "https://api.example.com/a/b",
        "/a%2Fb",
        &[]
    ));
    // A path prefix that is not configured.
    assert!(!htu_accepted(
        &v,
        "https://api.example.com/api/me",
        "/me",
        &[]
    ));
    // Host and X-Forwarded-* name the evil host: no effect either way.
    let evil = [
        ("host", "evil.example"),
        ("x-forwarded-host", "evil.example"),
        ("x-forwarded-proto", "http"),
        ("x-forwarded-port", "8080"),
        ("forwarded", "host=evil.example;proto=http"),
    ];
    assert!(!htu_accepted(&v, "https://evil.example/me", "/me", &evil));
    assert!(!htu_accepted(
        &v,
        "http://evil.example:8080/me",
        "/me",
        &evil
    ));
    assert!(htu_accepted(&v, URL, "/me", &evil));
}

/// A verifier on `clock`.
fn verifier_on(clock: Arc<dyn Clock>, b: DpopConfigBuilder) -> DpopVerifier {
    DpopVerifier::with_clock(b.build().unwrap(), clock)
}

// DP11
#[test]
fn dp11_iat_must_be_in_the_window() {
    let clock = TestClock::new();
    let v = verifier_on(Arc::new(clock.clone()), builder());
    let now = clock.unix_secs();
    let key = TestKey::generate(Alg::ES256, "k");
    let token = bound_token(&key);
    for iat in [now - 61, now + 6, now - 3600, 0] {
        let p = proof(&key, &token).iat(iat);
        assert_invalid(&refused(&v, &p, &token), NOT_FRESH);
    }
    for iat in [now - 60, now + 5, now] {
        assert!(
            check(&v, &proof(&key, &token).iat(iat), &token).is_ok(),
            "{iat}"
        );
    }
    for bad in [
        json!("now"),
        json!(null),
        json!(now.to_string()),
        json!([now]),
    ] {
        let p = proof(&key, &token).claim("iat", bad);
        assert_invalid(&refused(&v, &p, &token), INVALID);
    }
    let p = proof(&key, &token).remove_claim("iat");
    assert_invalid(&refused(&v, &p, &token), INVALID);
    // Fractions count (a float iat in the window is fine, just outside is not).
    let p = proof(&key, &token).claim("iat", json!(now as f64 - 60.5));
    assert_invalid(&refused(&v, &p, &token), NOT_FRESH);
    let p = proof(&key, &token).claim("iat", json!(now as f64 + 4.5));
    assert!(check(&v, &p, &token).is_ok());
}

// DP12
#[test]
fn dp12_jti_must_be_a_string_of_1_to_256_bytes() {
    let v = verifier();
    let key = TestKey::generate(Alg::ES256, "k");
    let token = bound_token(&key);
    let missing = proof(&key, &token).remove_claim("jti");
    assert_invalid(&refused(&v, &missing, &token), INVALID);
    for bad in [json!(""), json!("x".repeat(257)), json!(42), json!(null)] {
        let p = proof(&key, &token).claim("jti", bad);
        assert_invalid(&refused(&v, &p, &token), INVALID);
    }
    let p = proof(&key, &token).jti(&"x".repeat(256));
    assert!(check(&v, &p, &token).is_ok());
}

/// The same proof twice: first accepted, second `dpop_proof_replayed`.
#[tokio::test]
async fn the_same_proof_twice_is_a_replay() {
    let v = verifier();
    let key = TestKey::generate(Alg::ES256, "k");
    let token = bound_token(&key);
    let p = proof(&key, &token).build();
    assert!(accept(&v, &Method::GET, "/me", &p, &token).await.is_ok());
    let err = accept(&v, &Method::GET, "/me", &p, &token)
        .await
        .unwrap_err();
    assert_eq!(err.code(), ErrorCode::DpopProofReplayed);
    assert_eq!(err.message(), "DPoP proof replayed");
    assert_eq!(err.status().as_u16(), 401);
    assert_eq!(v.replay_cache().unwrap().len(), 1);
}

/// 64 concurrent checks of one proof on the in-memory store: exactly one passes, the
/// others are replays.
#[test]
fn sixty_four_concurrent_identical_proofs_pass_once() {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(8)
        .build()
        .unwrap();
    let v = Arc::new(verifier());
    let key = TestKey::generate(Alg::ES256, "k");
    let token = bound_token(&key);
    let p = proof(&key, &token).build();
    let barrier = Arc::new(tokio::sync::Barrier::new(64));
    let outcomes: Vec<Result<CheckedProof, AuthError>> = runtime.block_on(async {
        let tasks: Vec<_> = (0..64)
            .map(|_| {
                let (v, p, token, barrier) = (v.clone(), p.clone(), token.clone(), barrier.clone());
                tokio::spawn(async move {
                    barrier.wait().await;
                    accept(&v, &Method::GET, "/me", &p, &token).await
                })
            })
            .collect();
        let mut out = Vec::new();
        for t in tasks {
            out.push(t.await.unwrap());
        }
        out
    });
    let accepted = outcomes.iter().filter(|o| o.is_ok()).count();
    assert_eq!(accepted, 1);
    assert!(outcomes
        .iter()
        .filter_map(|o| o.as_ref().err())
        .all(|e| e.code() == ErrorCode::DpopProofReplayed));
}

// DP15
#[tokio::test]
async fn dp15_the_same_jti_from_two_keys_is_two_proofs() {
    let v = verifier();
    for alg in [Alg::ES256, Alg::EdDSA] {
        let key = TestKey::generate(alg, "k");
        let token = bound_token(&key);
        let p = proof(&key, &token).jti("shared-jti").build();
        let ok = accept(&v, &Method::GET, "/me", &p, &token).await;
        assert!(ok.is_ok(), "{alg:?}: {ok:?}");
    }
    assert_eq!(v.replay_cache().unwrap().len(), 2);
}

/// Proofs with a bad `ath` or a bad binding never reach the replay store.
#[tokio::test]
async fn refused_proofs_take_no_room_in_the_replay_cache() {
    let v = verifier();
    let key = TestKey::generate(Alg::ES256, "k");
    let other = TestKey::generate(Alg::ES256, "other");
    let token = bound_token(&key);
    let unbound_to_key = bound_token(&other);
    for i in 0..500 {
        let bad_ath = proof(&key, &token).ath_for("another token").build();
        assert!(accept(&v, &Method::GET, "/me", &bad_ath, &token)
            .await
            .is_err());
        let bad_binding = proof(&key, &unbound_to_key).build();
        let err = accept(&v, &Method::GET, "/me", &bad_binding, &unbound_to_key)
            .await
            .unwrap_err();
        assert_eq!(err.code(), ErrorCode::DpopBindingMismatch, "{i}");
    }
    assert_eq!(v.replay_cache().unwrap().len(), 0);
}

// DP17
#[tokio::test]
async fn dp17_a_full_replay_cache_refuses_with_503_until_entries_expire() {
    let clock = TestClock::new();
    let v = verifier_on(Arc::new(clock.clone()), builder().replay_cache_size(16));
    let key = TestKey::generate(Alg::ES256, "k");
    let token = bound_token(&key);
    for i in 0..16 {
        let p = proof(&key, &token).iat(clock.unix_secs()).build();
        let ok = accept(&v, &Method::GET, "/me", &p, &token).await;
        assert!(ok.is_ok(), "{i}: {ok:?}");
    }
    let p17 = proof(&key, &token).iat(clock.unix_secs()).build();
    let err = accept(&v, &Method::GET, "/me", &p17, &token)
        .await
        .unwrap_err();
    assert_eq!(err.code(), ErrorCode::DpopReplayCacheFull);
    assert_eq!(err.status().as_u16(), 503);
    assert_eq!(err.message(), "DPoP replay cache full");
    // Retry-After: until the oldest entry expires (max_age + leeway = 65 s).
    assert_eq!(err.retry_after(), Some(Duration::from_secs(65)));
    clock.advance(Duration::from_secs(66));
    let fresh = proof(&key, &token).iat(clock.unix_secs()).build();
    let ok = accept(&v, &Method::GET, "/me", &fresh, &token).await;
    assert!(ok.is_ok(), "{ok:?}");
    assert_eq!(v.replay_cache().unwrap().len(), 1);
}

// DP18
#[test]
fn dp18_ath_must_hash_the_presented_token() {
    let v = verifier();
    let key = TestKey::generate(Alg::ES256, "k");
    let token = bound_token(&key);
    let missing = proof(&key, &token).remove_claim("ath");
    assert_invalid(&refused(&v, &missing, &token), NOT_TOKEN);
    let other = proof(&key, &token).ath_for("another.access.token");
    assert_invalid(&refused(&v, &other, &token), NOT_TOKEN);
    let ath = verifier_testkit_ath(&token);
    let padded = proof(&key, &token).ath(&format!("{ath}="));
    assert_invalid(&refused(&v, &padded, &token), NOT_TOKEN);
    let std_alphabet = ath.replace('-', "+").replace('_', "/");
    if std_alphabet != ath {
        let p = proof(&key, &token).ath(&std_alphabet);
        assert_invalid(&refused(&v, &p, &token), NOT_TOKEN);
    }
    let p = proof(&key, &token).claim("ath", json!(7));
    assert_invalid(&refused(&v, &p, &token), INVALID);
    assert!(check(&v, &proof(&key, &token).ath(&ath), &token).is_ok());
}

// DP19
#[test]
fn dp19_the_token_must_be_bound_to_the_proof_key() {
    let v = verifier();
    let key = TestKey::generate(Alg::ES256, "k");
    let other = TestKey::generate(Alg::ES256, "other");
    let issuer_key = TestKey::generate(Alg::ES256, "issuer");
    let cases = [
        (
            TokenBuilder::new(&issuer_key).cnf_jkt(&other).build(),
            ErrorCode::DpopBindingMismatch,
        ),
        (
            TokenBuilder::new(&issuer_key)
                .claim("sub", json!("a"))
                .build(),
            ErrorCode::DpopBindingMismatch,
        ),
        (
            TokenBuilder::new(&issuer_key)
                .claim("cnf", json!({}))
                .build(),
            ErrorCode::DpopBindingMismatch,
        ),
        (
            TokenBuilder::new(&issuer_key)
                .claim("cnf", json!("x"))
                .build(),
            ErrorCode::InvalidToken,
        ),
    ];
    for (token, code) in cases {
        let checked = check(&v, &proof(&key, &token), &token).unwrap();
        let err = v.check_binding(&checked, &claims_of(&token)).unwrap_err();
        assert_eq!(err.code(), code, "{err:?}");
        assert_eq!(err.status().as_u16(), 401);
        if code == ErrorCode::DpopBindingMismatch {
            assert_eq!(err.message(), "Invalid DPoP key binding");
        }
    }
    // cnf.jkt not a string.
    let token = TokenBuilder::new(&issuer_key)
        .claim("cnf", json!({"jkt": 1}))
        .build();
    let checked = check(&v, &proof(&key, &token), &token).unwrap();
    let err = v.check_binding(&checked, &claims_of(&token)).unwrap_err();
    assert_eq!(err.code(), ErrorCode::DpopBindingMismatch);
    // The right binding passes.
    let token = bound_token(&key);
    let checked = check(&v, &proof(&key, &token), &token).unwrap();
    assert!(v.check_binding(&checked, &claims_of(&token)).is_ok());
}

/// The downgrade guard at the core: a bound token as Bearer is `dpop_bound_token`
/// (every mode: it does not depend on the DPoP configuration at all).
#[test]
fn a_bound_token_presented_as_bearer_is_refused() {
    let key = TestKey::generate(Alg::ES256, "k");
    let claims = claims_of(&bound_token(&key));
    for allow in [false, true] {
        let err = check_token_binding(&claims, Presented::Bearer, allow).unwrap_err();
        assert_eq!(err.code(), ErrorCode::DpopBoundToken);
        assert_eq!(err.message(), "DPoP-bound token requires the DPoP scheme");
    }
    let off = DpopVerifier::new(DpopConfig::default());
    assert_eq!(
        off.check_bearer_binding(&claims).unwrap_err().code(),
        ErrorCode::DpopBoundToken
    );
    // Unbound tokens are fine as Bearer.
    let unbound = claims_of(&TokenBuilder::new(&key).claim("sub", json!("a")).build());
    assert!(off.check_bearer_binding(&unbound).is_ok());
}

// DP21
#[test]
fn dp21_unverifiable_bindings_are_refused_in_both_schemes() {
    let key = TestKey::generate(Alg::ES256, "k");
    let x5t = json!({"cnf": {"x5t#S256": "bwcK0esc3ACC3DB2Y5_lESsXE8o9ltc05O89jdN-dg2"}});
    let claims = x5t.as_object().unwrap();
    let jkt = key.thumbprint();
    for presented in [Presented::Bearer, Presented::Dpop { jkt: &jkt }] {
        let err = check_token_binding(claims, presented, false).unwrap_err();
        assert_eq!(err.code(), ErrorCode::InvalidToken);
        assert_eq!(err.message(), "Unsupported token binding");
    }
    // Also next to a matching jkt: fail closed.
    let both = json!({"cnf": {"jkt": jkt, "x5t#S256": "abc"}});
    let err = check_token_binding(
        both.as_object().unwrap(),
        Presented::Dpop { jkt: &jkt },
        false,
    )
    .unwrap_err();
    assert_eq!(err.message(), "Unsupported token binding");
    // allow_unverified_token_binding: ignored (Bearer passes; DPoP still needs jkt).
    assert!(check_token_binding(claims, Presented::Bearer, true).is_ok());
    let err = check_token_binding(claims, Presented::Dpop { jkt: &jkt }, true).unwrap_err();
    assert_eq!(err.code(), ErrorCode::DpopBindingMismatch);
    assert!(check_token_binding(
        both.as_object().unwrap(),
        Presented::Dpop { jkt: &jkt },
        true
    )
    .is_ok());
}

// DP22
#[test]
fn dp22_several_or_oversized_proofs_are_refused_before_decoding() {
    let v = verifier();
    let key = TestKey::generate(Alg::ES256, "k");
    let token = bound_token(&key);
    let p = proof(&key, &token).build();
    let mut two = headers(&p);
    two.append("dpop", HeaderValue::from_str(&p).unwrap());
    let err = v
        .check_proof(&Method::GET, &uri("/me"), &two, &token)
        .unwrap_err();
    assert_invalid(&err, "Multiple DPoP proofs");
    let joined = format!("{p}, {p}");
    let err = v
        .check_proof(&Method::GET, &uri("/me"), &headers(&joined), &token)
        .unwrap_err();
    assert_invalid(&err, INVALID);
    // Just over 8 KiB, of otherwise valid base64url.
    let big = format!("{}.{}.{}", "A".repeat(4096), "A".repeat(4096), "A");
    assert!(big.len() > 8192);
    let err = v
        .check_proof(&Method::GET, &uri("/me"), &headers(&big), &token)
        .unwrap_err();
    assert_invalid(&err, INVALID);
    let none = v
        .check_proof(&Method::GET, &uri("/me"), &HeaderMap::new(), &token)
        .unwrap_err();
    assert_invalid(&none, "Missing DPoP proof");
    // A valid proof padded with a large claim past 8 KiB is refused too.
    let padded = proof(&key, &token)
        .claim("pad", json!("x".repeat(8192)))
        .build();
    let err = v
        .check_proof(&Method::GET, &uri("/me"), &headers(&padded), &token)
        .unwrap_err();
    assert_invalid(&err, INVALID);
}

fn nonce_builder(secret: &[u8]) -> DpopConfigBuilder {
    builder().nonce(true).nonce_secret(secret.to_vec())
}

const SECRET_A: &[u8] = b"nonce secret A, thirty-two bytes or more";
const SECRET_B: &[u8] = b"nonce secret B, thirty-two bytes or more";

/// Nonces on: every bad nonce answers `use_dpop_nonce` with a fresh nonce, and a retry
/// with that nonce passes every step.
#[tokio::test]
async fn nonces_are_required_and_issued() {
    let clock = TestClock::new();
    let v = verifier_on(Arc::new(clock.clone()), nonce_builder(SECRET_A));
    let key = TestKey::generate(Alg::ES256, "k");
    let token = bound_token(&key);
    let current = v.current_nonce().unwrap();
    let current = current.to_str().unwrap().to_owned();

    // Two windows old: the nonce of 2 minutes ago, on a clone of the clock.
    let past = TestClock::new();
    let old_verifier = verifier_on(Arc::new(past.clone()), nonce_builder(SECRET_A));
    let old_nonce = old_verifier.current_nonce().unwrap();
    clock.advance(Duration::from_secs(120));
    let now_nonce = v.current_nonce().unwrap().to_str().unwrap().to_owned();
    assert_ne!(now_nonce, current);

    let other_secret = verifier_on(Arc::new(clock.clone()), nonce_builder(SECRET_B))
        .current_nonce()
        .unwrap();
    let other_service = DpopVerifier::with_clock(
        DpopConfig::builder()
            .mode(DpopMode::Allowed)
            .public_base_url("https://other.example.com")
            .nonce(true)
            .nonce_secret(SECRET_A.to_vec())
            .build()
            .unwrap(),
        Arc::new(clock.clone()),
    )
    .current_nonce()
    .unwrap();
    let mut forged = now_nonce.clone().into_bytes();
    let last = forged.len() - 2;
    forged[last] = if forged[last] == b'A' { b'B' } else { b'A' };
    let forged = String::from_utf8(forged).unwrap();

    let iat = clock.unix_secs();
    let base = proof(&key, &token).iat(iat);
    let cases: Vec<(&str, DpopProof)> = vec![
        ("no nonce", base.clone()),
        ("forged MAC", base.clone().nonce(&forged)),
        (
            "two windows old",
            base.clone().nonce(old_nonce.to_str().unwrap()),
        ),
        (
            "another secret",
            base.clone().nonce(other_secret.to_str().unwrap()),
        ),
        (
            "another service",
            base.clone().nonce(other_service.to_str().unwrap()),
        ),
        ("garbage", base.clone().nonce("x")),
    ];
    for (what, p) in cases {
        let err = refused(&v, &p, &token);
        assert_eq!(err.code(), ErrorCode::UseDpopNonce, "{what}");
        assert_eq!(err.status().as_u16(), 401);
        assert_eq!(
            err.message(),
            "Resource server requires nonce in DPoP proof",
            "{what}"
        );
        let issued = err.dpop_nonce().expect("a DPoP-Nonce value");
        assert_eq!(issued.to_str().unwrap(), now_nonce, "{what}");
        // The retry with that nonce passes every step.
        let retry = base
            .clone()
            .jti(&format!("retry-{what}"))
            .nonce(issued.to_str().unwrap())
            .build();
        let ok = accept(&v, &Method::GET, "/me", &retry, &token).await;
        assert!(ok.is_ok(), "{what}: {ok:?}");
        assert!(ok.unwrap().next_nonce().is_none());
    }
    // A nonce of the previous window passes, with a fresh one for the response.
    let previous = now_nonce;
    clock.advance(Duration::from_secs(60));
    let p = proof(&key, &token)
        .iat(clock.unix_secs())
        .nonce(&previous)
        .build();
    let ok = accept(&v, &Method::GET, "/me", &p, &token).await.unwrap();
    let next = ok.next_nonce().expect("a fresh nonce");
    assert_ne!(next.to_str().unwrap(), previous);
    assert_eq!(Some(next.clone()), v.current_nonce());
}

// DP28
#[test]
fn dp28_replicas_sharing_the_nonce_secret_accept_each_others_nonces() {
    use base64::Engine as _;
    let secret = base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(SECRET_A);
    let vars = [
        ("OIDC_DPOP", "required".to_owned()),
        ("OIDC_PUBLIC_BASE_URL", BASE.to_owned()),
        ("OIDC_DPOP_NONCE", "true".to_owned()),
        ("OIDC_DPOP_NONCE_SECRET", secret),
    ];
    let lookup = |k: &str| vars.iter().find(|(n, _)| *n == k).map(|(_, v)| v.clone());
    let a = DpopVerifier::new(DpopConfig::from_env_lookup(lookup).unwrap());
    let b = DpopVerifier::new(DpopConfig::from_env_lookup(lookup).unwrap());
    let key = TestKey::generate(Alg::ES256, "k");
    let token = bound_token(&key);
    let nonce = a.current_nonce().unwrap();
    let p = proof(&key, &token).nonce(nonce.to_str().unwrap());
    let ok = check(&b, &p, &token);
    assert!(ok.is_ok(), "{ok:?}");
    // Without the shared secret, each process draws its own: refused.
    let random = |k: &str| lookup(k).filter(|_| k != "OIDC_DPOP_NONCE_SECRET");
    let c = DpopVerifier::new(DpopConfig::from_env_lookup(random).unwrap());
    assert!(c.config().nonce_secret_is_random());
    assert_eq!(refused(&c, &p, &token).code(), ErrorCode::UseDpopNonce);
}

/// The configuration rules of §5.8, from the environment (errors name the variable).
#[test]
fn configuration_errors_name_the_variable() {
    let run = |vars: &[(&str, &str)]| {
        let lookup = |k: &str| {
            vars.iter()
                .find(|(n, _)| *n == k)
                .map(|(_, v)| v.to_string())
        };
        DpopConfig::from_env_lookup(lookup)
    };
    let base = ("OIDC_PUBLIC_BASE_URL", BASE);
    let cases: [(&[(&str, &str)], &str); 12] = [
        (&[("OIDC_DPOP", "allowed")], "OIDC_PUBLIC_BASE_URL"),
        (&[("OIDC_DPOP", "maybe"), base], "OIDC_DPOP"),
        (
            &[("OIDC_DPOP", "allowed"), base, ("OIDC_DPOP_ALGS", "HS256")],
            "OIDC_DPOP_ALGS",
        ),
        (
            &[("OIDC_DPOP", "allowed"), base, ("OIDC_DPOP_ALGS", "none")],
            "OIDC_DPOP_ALGS",
        ),
        (
            &[
                ("OIDC_DPOP", "allowed"),
                base,
                ("OIDC_DPOP_NONCE_SECRET", "AAAAAAAAAAAAAAAAAAAAAA"),
            ],
            "OIDC_DPOP_NONCE_SECRET",
        ),
        (
            &[("OIDC_DPOP", "allowed"), base, ("OIDC_DPOP_MAX_AGE_S", "0")],
            "OIDC_DPOP_MAX_AGE_S",
        ),
        (
            &[
                ("OIDC_DPOP", "allowed"),
                base,
                ("OIDC_DPOP_MAX_AGE_S", "601"),
            ],
            "OIDC_DPOP_MAX_AGE_S",
        ),
        (
            &[("OIDC_DPOP", "allowed"), base, ("OIDC_DPOP_LEEWAY_S", "61")],
            "OIDC_DPOP_LEEWAY_S",
        ),
        (
            &[
                ("OIDC_DPOP", "allowed"),
                base,
                ("OIDC_DPOP_REPLAY_CACHE_SIZE", "15"),
            ],
            "OIDC_DPOP_REPLAY_CACHE_SIZE",
        ),
        (
            &[
                ("OIDC_DPOP", "allowed"),
                base,
                ("OIDC_DPOP_NONCE_LIFETIME_S", "0"),
            ],
            "OIDC_DPOP_NONCE_LIFETIME_S",
        ),
        (
            &[
                ("OIDC_DPOP", "allowed"),
                ("OIDC_PUBLIC_BASE_URL", "http://api.example.com"),
            ],
            "OIDC_PUBLIC_BASE_URL",
        ),
        (
            &[
                ("OIDC_DPOP", "allowed"),
                ("OIDC_PUBLIC_BASE_URL", "https://api.example.com/?q=1"),
            ],
            "OIDC_PUBLIC_BASE_URL",
        ),
    ];
    for (vars, field) in cases {
        let err = run(vars).unwrap_err();
        assert_eq!(err.field(), field, "{vars:?}: {err}");
    }
    // 16 bytes of secret (base64url) is too short; 32 is enough.
    let ok = run(&[
        ("OIDC_DPOP", "allowed"),
        base,
        ("OIDC_DPOP_NONCE", "true"),
        (
            "OIDC_DPOP_NONCE_SECRET",
            "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA",
        ),
    ])
    .unwrap();
    assert!(ok.nonce() && !ok.nonce_secret_is_random());
    // Defaults.
    let d = run(&[("OIDC_DPOP", "allowed"), base]).unwrap();
    assert_eq!(d.algs(), Algorithm::ALL);
    assert_eq!(d.max_age(), Duration::from_secs(60));
    assert_eq!(d.leeway(), Duration::from_secs(5));
    assert_eq!(d.replay_cache_size(), 65_536);
    assert!(!d.nonce());
    // Off needs nothing.
    assert_eq!(run(&[]).unwrap().mode(), DpopMode::Off);
    // Loopback http is fine (tests, local development).
    assert!(run(&[
        ("OIDC_DPOP", "allowed"),
        ("OIDC_PUBLIC_BASE_URL", "http://127.0.0.1:8080")
    ])
    .is_ok());
}

/// A clock whose wall time can jump while its monotonic time runs on.
#[derive(Debug)]
struct JumpyClock {
    start: Instant,
    start_wall: SystemTime,
    monotonic: Mutex<Duration>,
    wall_offset: Mutex<i64>,
}

impl JumpyClock {
    fn new() -> JumpyClock {
        JumpyClock {
            start: Instant::now(),
            start_wall: SystemTime::now(),
            monotonic: Mutex::new(Duration::ZERO),
            wall_offset: Mutex::new(0),
        }
    }
    fn run(&self, d: Duration) {
        *self.monotonic.lock().unwrap() += d;
    }
    fn jump_wall(&self, secs: i64) {
        *self.wall_offset.lock().unwrap() += secs;
    }
}

impl Clock for JumpyClock {
    fn now(&self) -> Instant {
        self.start + *self.monotonic.lock().unwrap()
    }
    fn system_time(&self) -> SystemTime {
        let elapsed = self.start_wall + *self.monotonic.lock().unwrap();
        let off = *self.wall_offset.lock().unwrap();
        if off >= 0 {
            elapsed + Duration::from_secs(off as u64)
        } else {
            elapsed - Duration::from_secs(off.unsigned_abs())
        }
    }
}

// DP31
#[tokio::test]
async fn dp31_replay_entries_age_on_monotonic_time_and_iat_on_wall_time() {
    let clock = Arc::new(JumpyClock::new());
    let v = verifier_on(clock.clone(), builder().replay_cache_size(16));
    let key = TestKey::generate(Alg::ES256, "k");
    let token = bound_token(&key);
    let wall = |c: &JumpyClock| c.unix_time().floor() as i64;
    // Fill the cache.
    let first = proof(&key, &token).iat(wall(&clock)).build();
    assert!(accept(&v, &Method::GET, "/me", &first, &token)
        .await
        .is_ok());
    for _ in 1..16 {
        let p = proof(&key, &token).iat(wall(&clock)).build();
        assert!(accept(&v, &Method::GET, "/me", &p, &token).await.is_ok());
    }
    // The wall clock jumps an hour forward: `iat` follows it (a proof stamped with the
    // new wall time is fresh, the old one is stale), but no replay entry expired.
    clock.jump_wall(3600);
    let err = accept(&v, &Method::GET, "/me", &first, &token)
        .await
        .unwrap_err();
    assert_invalid(&err, NOT_FRESH);
    let p = proof(&key, &token).iat(wall(&clock)).build();
    let err = accept(&v, &Method::GET, "/me", &p, &token)
        .await
        .unwrap_err();
    assert_eq!(err.code(), ErrorCode::DpopReplayCacheFull, "{err:?}");
    // An hour back (to the original wall time, then one more hour back): still full,
    // and the first proof, fresh again on the wall clock, is still a replay.
    clock.jump_wall(-3600);
    let err = accept(&v, &Method::GET, "/me", &first, &token)
        .await
        .unwrap_err();
    assert_eq!(err.code(), ErrorCode::DpopProofReplayed);
    clock.jump_wall(-3600);
    let p = proof(&key, &token).iat(wall(&clock)).build();
    let err = accept(&v, &Method::GET, "/me", &p, &token)
        .await
        .unwrap_err();
    assert_eq!(err.code(), ErrorCode::DpopReplayCacheFull);
    // Monotonic time passes the TTL (65 s): room again, whatever the wall clock says.
    clock.run(Duration::from_secs(66));
    let p = proof(&key, &token).iat(wall(&clock)).build();
    let ok = accept(&v, &Method::GET, "/me", &p, &token).await;
    assert!(ok.is_ok(), "{ok:?}");
}

/// Hostile proofs never panic: a sample of truncations and byte flips of a valid proof.
#[test]
fn mangled_proofs_are_errors_not_panics() {
    let v = verifier();
    let key = TestKey::generate(Alg::ES256, "k");
    let token = bound_token(&key);
    let p = proof(&key, &token).build();
    let alphabet = b"AZaz09-_.";
    for i in 0..p.len() {
        for &c in alphabet {
            let mut bytes = p.clone().into_bytes();
            if bytes[i] == c {
                continue;
            }
            bytes[i] = c;
            let s = String::from_utf8(bytes).unwrap();
            let r = v.check_proof(&Method::GET, &uri("/me"), &headers(&s), &token);
            if let Err(e) = r {
                assert_eq!(e.code(), ErrorCode::InvalidDpopProof);
            }
        }
        let cut = &p[..i];
        if let Ok(value) = HeaderValue::from_str(cut) {
            let mut h = HeaderMap::new();
            h.insert("dpop", value);
            let r = v.check_proof(&Method::GET, &uri("/me"), &h, &token);
            assert!(r.is_err());
        }
    }
    let _ = std::io::stderr().flush();
}

/// A clock stopped at a Unix time.
#[derive(Debug)]
struct FixedClock(u64);

impl Clock for FixedClock {
    fn now(&self) -> Instant {
        Instant::now()
    }
    fn system_time(&self) -> SystemTime {
        SystemTime::UNIX_EPOCH + Duration::from_secs(self.0)
    }
}

/// Interoperability: the example proof of RFC 9449 §4.1 (made by another
/// implementation) passes every check up to `ath` at its own `iat`, and its key's
/// thumbprint is the `jkt` of RFC 9449 §6.1.
#[test]
fn the_rfc_9449_example_proof_passes_the_proof_checks() {
    // Also the seed of the `dpop_proof` fuzz target (fuzz/corpus/dpop_proof).
    const PROOF: &str = concat!(
        "eyJ0eXAiOiJkcG9wK2p3dCIsImFsZyI6IkVTMjU2IiwiandrIjp7Imt0eSI6IkVDIiwieCI6Imw4dEZyaHgtMzR0",
        "VjNoUklDUkRZOXpDa0RscEJoRjQyVVFVZldWQVdCRnMiLCJ5IjoiOVZFNGpmX09rX282NHpiVFRsY3VOSmFqSG10",
        "NnY5VERWclUwQ2R2R1JEQSIsImNydiI6IlAtMjU2In19.eyJqdGkiOiItQndDM0VTYzZhY2MybFRjIiwiaHRtIjoi",
        "UE9TVCIsImh0dSI6Imh0dHBzOi8vc2VydmVyLmV4YW1wbGUuY29tL3Rva2VuIiwiaWF0IjoxNTYyMjYyNjE2fQ.2-",
        "GxA6T8lP4vfrg8v-FdWP0A0zdrj8igiMLvqRMUvwnQg4PtFLbdLXiOSsX0x7NVY-FNyJK70nfbV37xRZT3Lg",
    );
    let v = DpopVerifier::with_clock(
        DpopConfig::builder()
            .mode(DpopMode::Allowed)
            .public_base_url("https://server.example.com")
            .build()
            .unwrap(),
        Arc::new(FixedClock(1_562_262_616)),
    );
    let err = v
        .check_proof(&Method::POST, &uri("/token"), &headers(PROOF), "token")
        .unwrap_err();
    // The example has no `ath` (it is a token-endpoint proof): everything before passed.
    assert_invalid(&err, NOT_TOKEN);
    // Its key is the one of the §6.1 `cnf.jkt` example.
    assert!(verifier_core::fuzzing::parse_dpop_proof(PROOF.as_bytes(), Algorithm::ALL).is_ok());
    let claims = json!({"cnf": {"jkt": "0ZcOCORZNYy-DWpqq30jZyJGHTN0d2HglBV3uiguA4I"}});
    let (header, _) = verifier_core::decode_unverified(PROOF).unwrap();
    let jwk = header["jwk"].clone();
    let key_thumbprint = verifier_testkit::jwk_thumbprint(&jwk).unwrap();
    assert_eq!(
        key_thumbprint,
        "0ZcOCORZNYy-DWpqq30jZyJGHTN0d2HglBV3uiguA4I"
    );
    let presented = Presented::Dpop {
        jkt: &key_thumbprint,
    };
    assert!(check_token_binding(claims.as_object().unwrap(), presented, false).is_ok());
    // A second later than iat + max_age + ... : stale.
    let late =
        DpopVerifier::with_clock(v.config().clone(), Arc::new(FixedClock(1_562_262_616 + 61)));
    let err = late
        .check_proof(&Method::POST, &uri("/token"), &headers(PROOF), "token")
        .unwrap_err();
    assert_invalid(&err, NOT_FRESH);
}

/// The wired pipeline: `AsyncJwtVerifier::authenticate` with these DPoP checks, against
/// the test issuer: proof checks before the key lookup, then the token, the binding and
/// the replay check.
#[tokio::test]
async fn with_a_token_from_the_test_issuer_verified_by_the_verifier() {
    use verifier_core::{AsyncJwtVerifier, AuthConfig, RequestParts, Scheme};
    use verifier_testkit::{TestIssuer, DEFAULT_AUDIENCE};
    let issuer = TestIssuer::start();
    let verifier = AsyncJwtVerifier::builder()
        .issuer(
            AuthConfig::builder()
                .issuer(issuer.issuer())
                .audience(DEFAULT_AUDIENCE)
                .jwks_url(issuer.jwks_url())
                .build()
                .unwrap(),
        )
        .dpop(verifier_on(Arc::new(verifier_core::SystemClock), builder()))
        .build()
        .unwrap();
    let client = TestKey::generate(Alg::EdDSA, "client");
    let token = issuer.token().cnf_jkt(&client).build();
    let request = |scheme: &str, proof: Option<&str>| {
        let mut h = proof.map_or_else(HeaderMap::new, headers);
        h.insert(
            http::header::AUTHORIZATION,
            HeaderValue::from_str(&format!("{scheme} {token}")).unwrap(),
        );
        h
    };
    let (method, me) = (Method::GET, uri("/me"));

    // A bad proof is refused before the token is even looked at (no key-set request).
    let bad = proof(&client, &token)
        .htu("https://evil.example/me")
        .build();
    let h = request("DPoP", Some(&bad));
    let err = verifier
        .authenticate(RequestParts::new(&method, &me, &h))
        .await
        .unwrap_err();
    assert_invalid(&err, NOT_REQUEST);
    assert_eq!(issuer.fetch_count(), 0);

    let good = proof(&client, &token).build();
    let h = request("DPoP", Some(&good));
    let auth = verifier
        .authenticate(RequestParts::new(&method, &me, &h))
        .await
        .unwrap()
        .unwrap();
    assert_eq!(auth.scheme, Scheme::Dpop);
    assert_eq!(auth.dpop.unwrap().jkt, client.thumbprint());

    // The same token with another client's proof: bound to the wrong key.
    let thief = TestKey::generate(Alg::EdDSA, "thief");
    let stolen = proof(&thief, &token).build();
    let h = request("DPoP", Some(&stolen));
    let err = verifier
        .authenticate(RequestParts::new(&method, &me, &h))
        .await
        .unwrap_err();
    assert_eq!(err.code(), ErrorCode::DpopBindingMismatch);
    // As Bearer: the downgrade guard.
    let h = request("Bearer", None);
    let err = verifier
        .authenticate(RequestParts::new(&method, &me, &h))
        .await
        .unwrap_err();
    assert_eq!(err.code(), ErrorCode::DpopBoundToken);
}
