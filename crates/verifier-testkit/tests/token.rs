//! TokenBuilder: segments, header/claim editing, raw segments and the
//! choice of signing key, algorithm and signature form.

mod common;

use common::{unb64, verify_token, verify_with_jwk};
use serde_json::{json, Value};
use verifier_testkit::{now, Alg, TestIssuer, TestKey, TokenBuilder, DEFAULT_AUDIENCE};

fn segments(token: &str) -> (Vec<u8>, Vec<u8>, Vec<u8>) {
    let parts: Vec<&str> = token.split('.').collect();
    assert_eq!(parts.len(), 3, "{token}");
    for part in &parts {
        assert!(
            part.bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_'),
            "not base64url without padding: {part}"
        );
    }
    (unb64(parts[0]), unb64(parts[1]), unb64(parts[2]))
}

fn json_of(bytes: &[u8]) -> Value {
    serde_json::from_slice(bytes).unwrap()
}

#[test]
fn default_header_and_claims_for_every_alg() {
    for &alg in Alg::ALL {
        let key = TestKey::generate(alg, format!("k-{alg}"));
        let token = TokenBuilder::new(&key).build();
        let (header, payload) = verify_token(&key.public_jwk(), alg, &token).unwrap();
        assert_eq!(
            header,
            json!({"alg": alg.as_str(), "typ": "JWT", "kid": format!("k-{alg}")})
        );
        assert_eq!(payload, json!({}));
    }
}

#[test]
fn header_edits() {
    let key = TestKey::generate(Alg::ES256, "e");
    let token = TokenBuilder::new(&key)
        .header("kid", json!(7))
        .header("jku", json!("https://attacker.example/jwks"))
        .header("crit", json!(["b64"]))
        .header("typ", Value::Null)
        .remove_header("alg")
        .build();
    let (header, _, _) = segments(&token);
    assert_eq!(
        json_of(&header),
        json!({"kid": 7, "jku": "https://attacker.example/jwks", "crit": ["b64"], "typ": null})
    );
    // Still signed with the key's own alg.
    verify_token(&key.public_jwk(), Alg::ES256, &token).unwrap();
}

#[test]
fn claim_edits() {
    let key = TestKey::generate(Alg::EdDSA, "ed");
    let token = TokenBuilder::new(&key)
        .claim("a", json!(1))
        .claim("b", json!([1, 2]))
        .claim("a", json!("replaced"))
        .remove_claim("b")
        .build();
    let (_, payload) = verify_token(&key.public_jwk(), Alg::EdDSA, &token).unwrap();
    assert_eq!(payload, json!({"a": "replaced"}));
}

#[test]
fn claims_can_be_any_json() {
    let key = TestKey::generate(Alg::EdDSA, "ed");
    for value in [json!([1, 2]), json!("str"), json!(null), json!(42)] {
        let token = TokenBuilder::new(&key).claims(value.clone()).build();
        let (_, payload, _) = segments(&token);
        assert_eq!(json_of(&payload), value);
    }
    // claim() on a non-object payload starts a new object.
    let token = TokenBuilder::new(&key)
        .claims(json!([1]))
        .claim("x", json!(true))
        .build();
    assert_eq!(json_of(&segments(&token).1), json!({"x": true}));
}

#[test]
fn raw_segments_are_encoded_as_given_and_signed() {
    let key = TestKey::generate(Alg::ES384, "e");
    let raw_header = br#"{"alg":"ES384","alg":"none","kid":"e"}"#.to_vec();
    let raw_payload = b"\x00not json\xff".to_vec();
    let token = TokenBuilder::new(&key)
        .raw_header(raw_header.clone())
        .raw_payload(raw_payload.clone())
        .header("ignored", json!(1)) // raw header wins
        .claim("ignored", json!(1)) // raw payload wins
        .build();
    let (header, payload, _) = segments(&token);
    assert_eq!(header, raw_header);
    assert_eq!(payload, raw_payload);
    let (input, sig) = token.rsplit_once('.').unwrap();
    verify_with_jwk(&key.public_jwk(), Alg::ES384, input.as_bytes(), &unb64(sig)).unwrap();

    // claims() replaces a raw payload.
    let token = TokenBuilder::new(&key)
        .raw_payload("x")
        .claims(json!({"y": 1}))
        .build();
    assert_eq!(json_of(&segments(&token).1), json!({"y": 1}));

    // A raw header that is an array.
    let token = TokenBuilder::new(&key).raw_header("[]").build();
    assert_eq!(segments(&token).0, b"[]");
}

#[test]
fn signing_alg_defaults_to_header_alg_when_the_key_supports_it() {
    let key = TestKey::generate(Alg::RS256, "rsa");
    let jwk = key.public_jwk();
    let token = TokenBuilder::new(&key)
        .header("alg", json!("PS384"))
        .build();
    verify_token(&jwk, Alg::PS384, &token).unwrap();
    assert!(verify_token(&jwk, Alg::RS256, &token).is_err());

    // Raw header alg is honoured too.
    let token = TokenBuilder::new(&key)
        .raw_header(r#"{"alg":"RS512","kid":"rsa"}"#)
        .build();
    verify_token(&jwk, Alg::RS512, &token).unwrap();

    // An alg the key cannot do (or no/unknown alg): the key's own alg.
    for header_alg in [json!("ES256"), json!("none"), json!("HS256"), json!(5)] {
        let token = TokenBuilder::new(&key)
            .header("alg", header_alg.clone())
            .build();
        verify_token(&jwk, Alg::RS256, &token)
            .unwrap_or_else(|e| panic!("header alg {header_alg}: {e}"));
        assert_eq!(json_of(&segments(&token).0)["alg"], header_alg);
    }
}

#[test]
fn explicit_signing_alg() {
    let key = TestKey::generate(Alg::RS256, "rsa");
    let token = TokenBuilder::new(&key).signing_alg(Alg::PS256).build();
    assert_eq!(json_of(&segments(&token).0)["alg"], "RS256");
    verify_token(&key.public_jwk(), Alg::PS256, &token).unwrap();
}

#[test]
#[should_panic(expected = "cannot sign ES256")]
fn explicit_signing_alg_that_does_not_fit_panics() {
    let key = TestKey::generate(Alg::RS256, "rsa");
    TokenBuilder::new(&key).signing_alg(Alg::ES256).build();
}

#[test]
fn signing_key_keeps_the_header_kid() {
    let key = TestKey::generate(Alg::ES256, "published");
    let attacker = TestKey::generate(Alg::ES256, "attacker");
    let token = TokenBuilder::new(&key).signing_key(&attacker).build();
    assert_eq!(json_of(&segments(&token).0)["kid"], "published");
    assert!(verify_token(&key.public_jwk(), Alg::ES256, &token).is_err());
    verify_token(&attacker.public_jwk(), Alg::ES256, &token).unwrap();

    // Different key type: header still says ES256, signature is RS256.
    let rsa = TestKey::generate(Alg::RS256, "rsa");
    let token = TokenBuilder::new(&key).signing_key(&rsa).build();
    assert_eq!(json_of(&segments(&token).0)["alg"], "ES256");
    verify_token(&rsa.public_jwk(), Alg::RS256, &token).unwrap();
}

#[test]
fn raw_signature_bytes() {
    let key = TestKey::generate(Alg::EdDSA, "ed");
    let token = TokenBuilder::new(&key).signature(vec![1, 2, 3]).build();
    assert_eq!(segments(&token).2, vec![1, 2, 3]);
    let unsigned = TokenBuilder::new(&key)
        .header("alg", json!("none"))
        .signature(Vec::new())
        .build();
    assert!(unsigned.ends_with('.'));
    assert_eq!(unsigned.matches('.').count(), 2);
}

#[test]
fn der_signature_token() {
    let key = TestKey::generate(Alg::ES256, "ec");
    let token = TokenBuilder::new(&key).der_signature().build();
    let (_, _, sig) = segments(&token);
    assert_eq!(sig[0], 0x30);
    assert!(verify_token(&key.public_jwk(), Alg::ES256, &token).is_err());
    // The last signature choice wins.
    let token = TokenBuilder::new(&key)
        .der_signature()
        .signature(vec![9])
        .build();
    assert_eq!(segments(&token).2, vec![9]);
}

#[test]
fn builder_is_reusable() {
    let key = TestKey::generate(Alg::ES256, "ec");
    let base = TokenBuilder::new(&key).claim("sub", json!("s"));
    let a = base.clone().claim("n", json!(1)).build();
    let b = base.build();
    assert_eq!(json_of(&segments(&a).1), json!({"sub": "s", "n": 1}));
    assert_eq!(json_of(&segments(&b).1), json!({"sub": "s"}));
}

#[test]
fn issuer_token_has_the_default_claims() {
    let issuer = TestIssuer::start();
    let before = now();
    let token = issuer.token().build();
    let after = now();
    let key = issuer.default_key();
    let (header, claims) = verify_token(&key.public_jwk(), Alg::RS256, &token).unwrap();
    assert_eq!(
        header,
        json!({"alg": "RS256", "typ": "JWT", "kid": "test-rs256"})
    );
    assert_eq!(claims["iss"], issuer.issuer());
    assert_eq!(claims["aud"], DEFAULT_AUDIENCE);
    assert_eq!(claims["sub"], "user-123");
    let iat = claims["iat"].as_i64().expect("integer iat");
    assert!(before <= iat && iat <= after);
    assert_eq!(claims["nbf"].as_i64(), Some(iat));
    assert_eq!(claims["exp"].as_i64(), Some(iat + 300));
    assert_eq!(claims.as_object().unwrap().len(), 6);
}

#[test]
fn issuer_token_for_other_key() {
    let issuer = TestIssuer::start();
    let ed = TestKey::generate(Alg::EdDSA, "ed-1");
    let token = issuer.token_for(&ed).build();
    let (header, claims) = verify_token(&ed.public_jwk(), Alg::EdDSA, &token).unwrap();
    assert_eq!(header["alg"], "EdDSA");
    assert_eq!(header["kid"], "ed-1");
    assert_eq!(claims["iss"], issuer.issuer());
}

#[test]
fn typ_sets_the_header_and_keeps_the_others() {
    let issuer = TestIssuer::start();
    let token = issuer.token().typ("at+jwt").build();
    let (header, _, _) = segments(&token);
    assert_eq!(
        json_of(&header),
        json!({"alg": "RS256", "typ": "at+jwt", "kid": "test-rs256"})
    );
    verify_token(&issuer.default_key().public_jwk(), Alg::RS256, &token).unwrap();
}

#[test]
fn cnf_jkt_binds_the_token_to_a_key() {
    let issuer = TestIssuer::start();
    let proof_key = TestKey::generate(Alg::ES256, "dpop");
    let token = issuer.token().cnf_jkt(&proof_key).build();
    let (_, payload, _) = segments(&token);
    let claims = json_of(&payload);
    assert_eq!(claims["cnf"], json!({"jkt": proof_key.thumbprint()}));
    assert_eq!(claims["iss"], issuer.issuer());
    assert_ne!(proof_key.thumbprint(), issuer.default_key().thumbprint());
}
