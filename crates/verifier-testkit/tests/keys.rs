//! TestKey: key generation, JWK format and signatures, checked by verifying
//! with aws-lc-rs from the JWK components only.

mod common;

use aws_lc_rs::signature::{self, UnparsedPublicKey};
use common::{unb64, verify_with_jwk};
use verifier_testkit::{jwk_thumbprint, Alg, TestKey};

const MSG: &[u8] = b"eyJhbGciOiJSUzI1NiJ9.eyJzdWIiOiJ4In0";

#[test]
fn every_alg_signs_and_verifies_through_its_jwk() {
    let other_rsa = TestKey::generate(Alg::RS256, "other");
    for &alg in Alg::ALL {
        let key = TestKey::generate(alg, format!("kid-{alg}"));
        assert_eq!(key.alg(), alg);
        assert_eq!(key.kid(), format!("kid-{alg}"));
        let jwk = key.public_jwk();
        let sig = key.sign(alg, MSG);
        verify_with_jwk(&jwk, alg, MSG, &sig).unwrap_or_else(|e| panic!("{alg}: {e}; jwk = {jwk}"));
        assert!(
            verify_with_jwk(&jwk, alg, b"tampered", &sig).is_err(),
            "{alg}: tampered message accepted"
        );
        // Another key of the same type does not verify it (one RSA key
        // stands for all RSA algs, to keep the test fast).
        let other = match alg {
            a if a.is_rsa() => other_rsa.public_jwk(),
            a => TestKey::generate(a, "other").public_jwk(),
        };
        assert!(verify_with_jwk(&other, alg, MSG, &sig).is_err());
    }
}

#[test]
fn jwk_members_are_exactly_as_specified() {
    let expect = |alg: Alg, kty: &str, members: &[&str]| {
        let jwk = TestKey::generate(alg, "k").public_jwk();
        let obj = jwk.as_object().unwrap();
        let mut keys: Vec<&str> = obj.keys().map(String::as_str).collect();
        keys.sort_unstable();
        let mut want = members.to_vec();
        want.sort_unstable();
        assert_eq!(keys, want, "{alg}: {jwk}");
        assert_eq!(jwk["kty"], kty);
        assert_eq!(jwk["kid"], "k");
        assert_eq!(jwk["use"], "sig");
        for (name, value) in obj {
            let s = value.as_str().unwrap();
            assert!(
                !s.contains('=') && !s.contains('+') && !s.contains('/'),
                "{name}: {s}"
            );
        }
        jwk
    };
    let rsa = expect(Alg::RS256, "RSA", &["kty", "kid", "use", "n", "e"]);
    let n = unb64(rsa["n"].as_str().unwrap());
    assert_eq!(n.len(), 256);
    assert_ne!(n[0], 0, "n must be minimal (no leading zero)");
    assert_eq!(unb64(rsa["e"].as_str().unwrap()), vec![1, 0, 1]);

    for (alg, crv, len) in [
        (Alg::ES256, "P-256", 32),
        (Alg::ES384, "P-384", 48),
        (Alg::ES512, "P-521", 66),
    ] {
        let jwk = expect(alg, "EC", &["kty", "kid", "use", "crv", "x", "y"]);
        assert_eq!(jwk["crv"], crv);
        assert_eq!(unb64(jwk["x"].as_str().unwrap()).len(), len);
        assert_eq!(unb64(jwk["y"].as_str().unwrap()).len(), len);
    }

    let ed = expect(Alg::EdDSA, "OKP", &["kty", "kid", "use", "crv", "x"]);
    assert_eq!(ed["crv"], "Ed25519");
    assert_eq!(unb64(ed["x"].as_str().unwrap()).len(), 32);
}

#[test]
fn public_jwk_with_alg_adds_only_alg() {
    let key = TestKey::generate(Alg::ES256, "k");
    let mut with = key.public_jwk_with_alg("ES256");
    assert_eq!(with["alg"], "ES256");
    with.as_object_mut().unwrap().remove("alg");
    assert_eq!(with, key.public_jwk());
    assert_eq!(key.public_jwk_with_alg("HS256")["alg"], "HS256");
}

#[test]
fn signature_sizes() {
    let sizes = [
        (Alg::RS256, 256),
        (Alg::PS512, 256),
        (Alg::ES256, 64),
        (Alg::ES384, 96),
        (Alg::ES512, 132),
        (Alg::EdDSA, 64),
    ];
    for (alg, len) in sizes {
        assert_eq!(
            TestKey::generate(alg, "k").sign(alg, MSG).len(),
            len,
            "{alg}"
        );
    }
}

#[test]
fn one_rsa_key_signs_every_rsa_alg() {
    let key = TestKey::generate(Alg::RS256, "rsa");
    let jwk = key.public_jwk();
    for alg in Alg::ALL.iter().copied().filter(|a| a.is_rsa()) {
        assert!(key.supports(alg));
        verify_with_jwk(&jwk, alg, MSG, &key.sign(alg, MSG)).unwrap();
    }
    assert!(!key.supports(Alg::ES256));
    assert!(!key.supports(Alg::EdDSA));
}

#[test]
fn pss_salt_is_random_pkcs1_is_deterministic() {
    let key = TestKey::generate(Alg::PS256, "k");
    assert_ne!(key.sign(Alg::PS256, MSG), key.sign(Alg::PS256, MSG));
    assert_eq!(key.sign(Alg::RS256, MSG), key.sign(Alg::RS256, MSG));
}

#[test]
fn with_kid_shares_material() {
    let a = TestKey::generate(Alg::ES384, "a");
    let b = a.with_kid("b");
    assert_eq!(b.kid(), "b");
    assert_eq!(a.kid(), "a");
    assert_eq!(b.alg(), Alg::ES384);
    let (mut ja, mut jb) = (a.public_jwk(), b.public_jwk());
    assert_eq!(jb["kid"], "b");
    ja["kid"] = "x".into();
    jb["kid"] = "x".into();
    assert_eq!(ja, jb);
    verify_with_jwk(&a.public_jwk(), Alg::ES384, MSG, &b.sign(Alg::ES384, MSG)).unwrap();
}

#[test]
fn der_signatures_are_asn1_not_fixed() {
    for (alg, asn1, fixed) in [
        (
            Alg::ES256,
            &signature::ECDSA_P256_SHA256_ASN1,
            &signature::ECDSA_P256_SHA256_FIXED,
        ),
        (
            Alg::ES384,
            &signature::ECDSA_P384_SHA384_ASN1,
            &signature::ECDSA_P384_SHA384_FIXED,
        ),
        (
            Alg::ES512,
            &signature::ECDSA_P521_SHA512_ASN1,
            &signature::ECDSA_P521_SHA512_FIXED,
        ),
    ] {
        let key = TestKey::generate(alg, "ec");
        let jwk = key.public_jwk();
        let mut point = vec![0x04];
        point.extend(unb64(jwk["x"].as_str().unwrap()));
        point.extend(unb64(jwk["y"].as_str().unwrap()));
        let der = key.sign_der(alg, MSG);
        assert_eq!(der[0], 0x30, "{alg}: DER SEQUENCE");
        UnparsedPublicKey::new(asn1, &point)
            .verify(MSG, &der)
            .unwrap();
        assert!(UnparsedPublicKey::new(fixed, &point)
            .verify(MSG, &der)
            .is_err());
        // And the JWS form is not DER.
        let jws = key.sign(alg, MSG);
        assert!(UnparsedPublicKey::new(asn1, &point)
            .verify(MSG, &jws)
            .is_err());
    }
}

#[test]
#[should_panic(expected = "cannot sign ES256")]
fn sign_with_mismatched_alg_panics() {
    TestKey::generate(Alg::RS256, "rsa").sign(Alg::ES256, MSG);
}

#[test]
#[should_panic(expected = "cannot sign ES384")]
fn sign_with_other_curve_panics() {
    TestKey::generate(Alg::ES256, "ec").sign(Alg::ES384, MSG);
}

#[test]
#[should_panic(expected = "DER signatures exist only for EC keys")]
fn sign_der_on_rsa_panics() {
    TestKey::generate(Alg::RS256, "rsa").sign_der(Alg::RS256, MSG);
}

#[test]
fn rsa_1024_fixture_signs_verifiably() {
    let key = TestKey::rsa(1024, "weak");
    assert_eq!(key.rsa_bits(), Some(1024));
    assert_eq!(key.alg(), Alg::RS256);
    let jwk = key.public_jwk();
    assert_eq!(jwk["kid"], "weak");
    let n = unb64(jwk["n"].as_str().unwrap());
    assert_eq!(n.len(), 128);
    for alg in [Alg::RS256, Alg::RS512] {
        let sig = key.sign(alg, MSG);
        assert_eq!(sig.len(), 128);
        verify_with_jwk(&jwk, alg, MSG, &sig).unwrap();
    }
    // The regular (2048+) verifier refuses the short key: what the verifier
    // under test must do too.
    let sig = key.sign(Alg::RS256, MSG);
    let e = unb64(jwk["e"].as_str().unwrap());
    assert!(signature::RsaPublicKeyComponents { n: &n, e: &e }
        .verify(&signature::RSA_PKCS1_2048_8192_SHA256, MSG, &sig)
        .is_err());
    // PS256/PS384 fit a 1024-bit modulus.
    assert_eq!(key.sign(Alg::PS256, MSG).len(), 128);
    assert_eq!(key.sign(Alg::PS384, MSG).len(), 128);
}

#[test]
fn rsa_sizes() {
    for bits in [2048, 3072] {
        let key = TestKey::rsa(bits, "k");
        assert_eq!(key.rsa_bits(), Some(bits));
        assert_eq!(key.alg(), Alg::RS256);
        assert_eq!(
            unb64(key.public_jwk()["n"].as_str().unwrap()).len(),
            bits / 8
        );
        verify_with_jwk(
            &key.public_jwk(),
            Alg::RS256,
            MSG,
            &key.sign(Alg::RS256, MSG),
        )
        .unwrap();
    }
}

#[test]
#[should_panic(expected = "unsupported RSA size 1000")]
fn rsa_odd_size_panics() {
    TestKey::rsa(1000, "k");
}

#[test]
fn keys_are_fresh_per_generate() {
    let a = TestKey::generate(Alg::EdDSA, "k");
    let b = TestKey::generate(Alg::EdDSA, "k");
    assert_ne!(a.public_jwk()["x"], b.public_jwk()["x"]);
}

#[test]
fn alg_names_round_trip() {
    for &alg in Alg::ALL {
        assert_eq!(Alg::from_name(alg.as_str()), Some(alg));
        assert_eq!(alg.to_string(), alg.as_str());
    }
    assert_eq!(Alg::from_name("HS256"), None);
    assert_eq!(Alg::from_name("none"), None);
}

#[test]
fn debug_does_not_leak_material() {
    let text = format!("{:?}", TestKey::generate(Alg::RS256, "dbg"));
    assert!(text.contains("dbg") && text.contains("RS256") && text.contains("RSA-2048"));
    assert!(text.len() < 120, "{text}");
}

#[test]
fn types_are_send_and_sync() {
    fn check<T: Send + Sync + 'static>() {}
    check::<TestKey>();
    check::<verifier_testkit::TokenBuilder>();
    check::<verifier_testkit::TestIssuer>();
    check::<verifier_testkit::Fault>();
}

/// RFC 7638 §3.1: the example RSA key and its thumbprint.
#[test]
fn thumbprint_matches_rfc7638_example() {
    let jwk = serde_json::json!({
        "kty": "RSA",
        "n": "0vx7agoebGcQSuuPiLJXZptN9nndrQmbXEps2aiAFbWhM78LhWx4cbbfAAtVT86zwu1RK7aPFFxuhDR1L6tSoc_BJECPebWKRXjBZCiFV4n3oknjhMstn64tZ_2W-5JsGY4Hc5n9yBXArwl93lqt7_RN5w6Cf0h4QyQ5v-65YGjQR0_FDW2QvzqY368QQMicAtaSqzs8KJZgnYb9c7d0zgdAZHzu6qMQvRL5hajrn1n91CbOpbISD08qNLyrdkt-bFTWhAI4vMQFh6WeZu0fM4lFd2NcRwr3XPksINHaQ-G_xBniIqbw0Ls1jF44-csFCur-kEgU8awapJzKnqDKgw",
        "e": "AQAB",
        "alg": "RS256",
        "kid": "2011-04-29"
    });
    assert_eq!(
        jwk_thumbprint(&jwk).as_deref(),
        Some("NzbLsXh8uDCcd-6MNwXF4W_7noWXFZAfHkxZsRGC9Xs")
    );
}

/// RFC 8037 Appendix A.3: the Ed25519 example key's thumbprint.
#[test]
fn thumbprint_matches_rfc8037_example() {
    let jwk = serde_json::json!({
        "kty": "OKP",
        "crv": "Ed25519",
        "x": "11qYAYKxCrfVS_7TyWQHOg7hcvPapiMlrwIaaPcHURo"
    });
    assert_eq!(
        jwk_thumbprint(&jwk).as_deref(),
        Some("kPrK_qmxVWaYVA9wwBF6Iuo3vVzz7TxHCTwXBygrS4k")
    );
}

#[test]
fn thumbprint_covers_only_the_required_members_in_order() {
    use aws_lc_rs::digest::{digest, SHA256};
    use base64::engine::general_purpose::URL_SAFE_NO_PAD;
    use base64::Engine as _;

    for &alg in &[Alg::RS256, Alg::ES256, Alg::ES384, Alg::ES512, Alg::EdDSA] {
        let key = TestKey::generate(alg, "a");
        let jwk = key.public_jwk();
        let s = |name: &str| jwk[name].as_str().unwrap().to_owned();
        let canonical = match s("kty").as_str() {
            "RSA" => format!(r#"{{"e":"{}","kty":"RSA","n":"{}"}}"#, s("e"), s("n")),
            "EC" => format!(
                r#"{{"crv":"{}","kty":"EC","x":"{}","y":"{}"}}"#,
                s("crv"),
                s("x"),
                s("y")
            ),
            _ => format!(r#"{{"crv":"Ed25519","kty":"OKP","x":"{}"}}"#, s("x")),
        };
        let want = URL_SAFE_NO_PAD.encode(digest(&SHA256, canonical.as_bytes()));
        assert_eq!(key.thumbprint(), want, "{alg}");
        // kid, use and alg do not count; another key of the same kind differs.
        assert_eq!(key.with_kid("b").thumbprint(), want);
        assert_eq!(
            jwk_thumbprint(&key.public_jwk_with_alg("XX")),
            Some(want.clone())
        );
        assert_ne!(TestKey::generate(alg, "a").thumbprint(), want);
    }
}

#[test]
fn thumbprint_of_an_unusable_jwk_is_none() {
    use serde_json::json;
    for jwk in [
        json!({"kty": "oct", "k": "AA"}),
        json!({"kty": "RSA", "n": "AA"}),
        json!({"kty": "EC", "crv": "P-256", "x": "AA", "y": 5}),
        json!({"crv": "Ed25519", "x": "AA"}),
        json!("RSA"),
    ] {
        assert_eq!(jwk_thumbprint(&jwk), None, "{jwk}");
    }
}
