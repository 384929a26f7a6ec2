//! The pipeline of docs/security.md, step by step, over real HTTP with the test issuer, through both the
//! async and the blocking verifier.

mod common;

use std::time::Duration;

use base64::Engine as _;
use common::{config_for, Both};
use serde_json::{json, Value};
use verifier_core::{Algorithm, ErrorCode};
use verifier_testkit::{now, Alg, TestIssuer, TestKey, TokenBuilder, DEFAULT_AUDIENCE};

fn b64(bytes: &[u8]) -> String {
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(bytes)
}

fn setup() -> (TestIssuer, Both) {
    let issuer = TestIssuer::start();
    let both = Both::new(config_for(&issuer).build().unwrap());
    (issuer, both)
}

#[test]
fn valid_token_is_accepted_and_cached() {
    let (issuer, v) = setup();
    let token = issuer
        .token()
        .claim("aud", json!([DEFAULT_AUDIENCE, "userinfo"]))
        .build();
    let claims = v.verify(&token).unwrap();
    assert_eq!(claims.iss(), Some(issuer.issuer().as_str()));
    assert_eq!(claims.sub(), Some("user-123"));
    assert_eq!(claims.aud(), vec![DEFAULT_AUDIENCE, "userinfo"]);
    v.verify(&token).unwrap();
    // One fetch per flavour, then the cache serves.
    assert_eq!(issuer.fetch_count(), 2);
    // Bytes input and surrounding whitespace.
    let claims =
        v.rt.block_on(
            v.async_v
                .verify_access_token(format!("  {token}\n").as_bytes()),
        )
        .unwrap();
    assert_eq!(claims.sub(), Some("user-123"));
}

// ---- steps 1-7: refused before any network request ----

#[test]
fn structural_refusals_make_no_request() {
    let (issuer, v) = setup();
    let key = issuer.default_key();
    let base = || issuer.token();
    let big = "a".repeat(1024 * 1024);
    let cases: Vec<(String, ErrorCode, &str)> = vec![
        ("".into(), ErrorCode::MissingToken, "empty"),
        ("  \t\n ".into(), ErrorCode::MissingToken, "whitespace"),
        (big.clone(), ErrorCode::MalformedToken, "1 MiB"),
        ("abc".into(), ErrorCode::MalformedToken, "1 segment"),
        ("abc.def".into(), ErrorCode::MalformedToken, "2 segments"),
        (
            format!("{}.extra", base().build()),
            ErrorCode::MalformedToken,
            "4 segments",
        ),
        (
            "%%%.e30.c2ln".into(),
            ErrorCode::MalformedToken,
            "bad base64",
        ),
        (
            format!(
                "{}=.e30.c2ln",
                b64(br#"{"alg":"RS256","kid":"test-rs256"}"#)
            ),
            ErrorCode::MalformedToken,
            "padding",
        ),
        (
            ".e30.c2ln".into(),
            ErrorCode::MalformedToken,
            "empty header",
        ),
        (
            format!("{}..c2ln", b64(br#"{"alg":"RS256","kid":"test-rs256"}"#)),
            ErrorCode::MalformedToken,
            "empty payload",
        ),
        (
            base().raw_header(b"not-json".to_vec()).build(),
            ErrorCode::MalformedToken,
            "header not JSON",
        ),
        (
            base().raw_header(b"[1,2,3]".to_vec()).build(),
            ErrorCode::MalformedToken,
            "header array",
        ),
        (
            format!("{}.e30.c2ln", b64(&[0xff, 0xfe])),
            ErrorCode::MalformedToken,
            "header not UTF-8",
        ),
        (
            base()
                .raw_header(br#"{"alg":"RS256","kid":"test-rs256","alg":"RS256"}"#.to_vec())
                .build(),
            ErrorCode::MalformedToken,
            "duplicate header member",
        ),
        (
            base()
                .raw_header(br#"{"alg":"none","kid":"test-rs256","alg":"RS256"}"#.to_vec())
                .build(),
            ErrorCode::MalformedToken,
            "duplicate alg hiding none",
        ),
        (
            base()
                .header("jku", json!("https://evil.example/jwks"))
                .build(),
            ErrorCode::ForbiddenHeader,
            "jku",
        ),
        (
            base()
                .header("x5u", json!("https://evil.example/cert"))
                .build(),
            ErrorCode::ForbiddenHeader,
            "x5u",
        ),
        (
            base().header("crit", json!(["exp"])).build(),
            ErrorCode::ForbiddenHeader,
            "crit",
        ),
        (
            base().header("jku", Value::Null).build(),
            ErrorCode::ForbiddenHeader,
            "jku null",
        ),
        (
            base().header("x5u", Value::Null).build(),
            ErrorCode::ForbiddenHeader,
            "x5u null",
        ),
        (
            base().header("crit", Value::Null).build(),
            ErrorCode::ForbiddenHeader,
            "crit null",
        ),
        (
            base().remove_header("alg").build(),
            ErrorCode::MalformedToken,
            "no alg",
        ),
        (
            base().header("alg", json!("")).build(),
            ErrorCode::MalformedToken,
            "empty alg",
        ),
        (
            base().header("alg", json!(256)).build(),
            ErrorCode::MalformedToken,
            "numeric alg",
        ),
        (
            base()
                .header("alg", json!("none"))
                .signature(Vec::new())
                .build(),
            ErrorCode::DisallowedAlg,
            "none",
        ),
        (
            base()
                .header("alg", json!("None"))
                .signature(Vec::new())
                .build(),
            ErrorCode::DisallowedAlg,
            "None",
        ),
        (
            base()
                .header("alg", json!("NONE"))
                .signature(Vec::new())
                .build(),
            ErrorCode::DisallowedAlg,
            "NONE",
        ),
        (
            base().header("alg", json!("rs256")).build(),
            ErrorCode::DisallowedAlg,
            "wrong case",
        ),
        (
            base().header("alg", json!("ES256")).build(),
            ErrorCode::DisallowedAlg,
            "not allowed",
        ),
        (
            base().remove_header("kid").build(),
            ErrorCode::MissingKid,
            "no kid",
        ),
        (
            base().header("kid", json!("")).build(),
            ErrorCode::MissingKid,
            "empty kid",
        ),
        (
            base().header("kid", json!(7)).build(),
            ErrorCode::MissingKid,
            "numeric kid",
        ),
        (
            base().header("kid", Value::Null).build(),
            ErrorCode::MissingKid,
            "null kid",
        ),
        (
            base().claims(json!([1, 2])).build(),
            ErrorCode::MalformedToken,
            "payload array",
        ),
        (
            base().claims(json!("text")).build(),
            ErrorCode::MalformedToken,
            "payload string",
        ),
        (
            base().raw_payload(b"{\"exp\":1}trailing".to_vec()).build(),
            ErrorCode::MalformedToken,
            "payload trailing",
        ),
        (
            base().raw_payload(b"not json".to_vec()).build(),
            ErrorCode::MalformedToken,
            "payload not JSON",
        ),
        (
            base()
                .raw_payload(br#"{"sub":"a","sub":"admin"}"#.to_vec())
                .build(),
            ErrorCode::MalformedToken,
            "duplicate claim",
        ),
    ];
    let _ = key;
    for (token, code, what) in &cases {
        assert_eq!(v.code(token), *code, "{what}");
    }
    assert_eq!(
        issuer.fetch_count(),
        0,
        "a token refused at steps 1-7 caused a fetch"
    );
    // The size message is specific.
    let err = v.verify(&big).unwrap_err();
    assert_eq!(err.message(), "Token too large");
    let err = v
        .verify(&issuer.token().remove_header("alg").build())
        .unwrap_err();
    assert_eq!(err.message(), "Missing alg header");
}

#[test]
fn hs256_signed_with_the_rsa_public_key_is_refused() {
    let (issuer, v) = setup();
    let key = issuer.default_key();
    let secret = serde_json::to_vec(&key.public_jwk()).unwrap();
    let unsigned = issuer.token().header("alg", json!("HS256"));
    let token = unsigned.clone().signature(Vec::new()).build();
    let signing_input = token.rsplit_once('.').unwrap().0;
    let tag = aws_lc_rs::hmac::sign(
        &aws_lc_rs::hmac::Key::new(aws_lc_rs::hmac::HMAC_SHA256, &secret),
        signing_input.as_bytes(),
    );
    let forged = unsigned.signature(tag.as_ref().to_vec()).build();
    assert_eq!(v.code(&forged), ErrorCode::DisallowedAlg);
    assert_eq!(issuer.fetch_count(), 0);
}

// ---- steps 8-10: keys and signatures ----

fn all_algs_setup() -> (TestIssuer, Both, Vec<TestKey>) {
    let keys: Vec<TestKey> = Alg::ALL
        .iter()
        .map(|alg| TestKey::generate(*alg, format!("k-{}", alg.as_str())))
        .collect();
    let issuer = TestIssuer::start_with_keys(&keys);
    let both = Both::new(
        config_for(&issuer)
            .allowed_algs(Algorithm::ALL.iter().copied())
            .build()
            .unwrap(),
    );
    (issuer, both, keys)
}

#[test]
fn every_algorithm_verifies_and_a_flipped_byte_does_not() {
    let (issuer, v, keys) = all_algs_setup();
    for key in &keys {
        let token = issuer.token_for(key).build();
        let claims = v
            .verify(&token)
            .unwrap_or_else(|e| panic!("{:?}: {e:?}", key.alg()));
        assert_eq!(claims.sub(), Some("user-123"));

        let (input, sig) = token.rsplit_once('.').unwrap();
        let mut raw = base64::engine::general_purpose::URL_SAFE_NO_PAD
            .decode(sig)
            .unwrap();
        let mid = raw.len() / 2;
        raw[mid] ^= 0x01;
        let flipped = format!("{input}.{}", b64(&raw));
        assert_eq!(
            v.code(&flipped),
            ErrorCode::InvalidSignature,
            "{:?}",
            key.alg()
        );

        // A tampered payload under the original signature.
        let tampered = issuer
            .token_for(key)
            .claim("sub", json!("admin"))
            .signature(raw)
            .build();
        assert_eq!(
            v.code(&tampered),
            ErrorCode::InvalidSignature,
            "{:?}",
            key.alg()
        );
    }
}

#[test]
fn signature_shape_and_key_binding() {
    let (issuer, v, keys) = all_algs_setup();
    let key = |alg: Alg| keys.iter().find(|k| k.alg() == alg).unwrap().clone();

    // ES256 signature in DER form.
    let der = issuer.token_for(&key(Alg::ES256)).der_signature().build();
    assert_eq!(v.code(&der), ErrorCode::InvalidSignature);
    // Empty signature.
    let empty = issuer
        .token_for(&key(Alg::RS256))
        .signature(Vec::new())
        .build();
    assert_eq!(v.code(&empty), ErrorCode::InvalidSignature);
    // Signed by another key under the right kid.
    let other = TestKey::generate(Alg::RS256, "other");
    let forged = issuer
        .token_for(&key(Alg::RS256))
        .signing_key(&other)
        .build();
    assert_eq!(v.code(&forged), ErrorCode::InvalidSignature);
    // ES256 token naming the P-384 key.
    let cross = issuer
        .token_for(&key(Alg::ES384))
        .header("alg", json!("ES256"))
        .signing_key(&key(Alg::ES256))
        .build();
    assert_eq!(v.code(&cross), ErrorCode::DisallowedAlg);
    // RS256 token naming the EdDSA key.
    let cross = issuer
        .token_for(&key(Alg::EdDSA))
        .header("alg", json!("RS256"))
        .signing_key(&key(Alg::RS256))
        .build();
    assert_eq!(v.code(&cross), ErrorCode::DisallowedAlg);
    // PS256 with a key published without alg is fine; RSA keys serve every RSA alg.
    for alg in [Alg::RS384, Alg::PS256, Alg::PS512, Alg::RS512] {
        let token = issuer
            .token_for(&key(Alg::RS256))
            .header("alg", json!(alg.as_str()))
            .signing_alg(alg)
            .build();
        v.verify(&token)
            .unwrap_or_else(|e| panic!("{alg:?}: {e:?}"));
    }
}

#[test]
fn jwk_alg_binds_the_key() {
    let key = TestKey::generate(Alg::RS256, "bound");
    let issuer = TestIssuer::start_with_keys(std::slice::from_ref(&key));
    issuer.set_jwks(Some(json!({"keys": [key.public_jwk_with_alg("RS512")]})));
    let v = Both::new(
        config_for(&issuer)
            .allowed_algs([Algorithm::RS256, Algorithm::RS512])
            .build()
            .unwrap(),
    );
    // Header RS256, key says RS512: refused even though the signature is RS256-valid.
    assert_eq!(
        v.code(&issuer.token_for(&key).build()),
        ErrorCode::DisallowedAlg
    );
    let ok = issuer
        .token_for(&key)
        .header("alg", json!("RS512"))
        .signing_alg(Alg::RS512)
        .build();
    v.verify(&ok).unwrap();
}

#[test]
fn unknown_kid_is_key_not_found() {
    let (issuer, v) = setup();
    let token = issuer.token().header("kid", json!("nope")).build();
    assert_eq!(v.code(&token), ErrorCode::KeyNotFound);
    assert!(issuer.fetch_count() >= 1);
}

#[test]
fn short_rsa_keys() {
    let short = TestKey::rsa(1024, "short");
    let issuer =
        TestIssuer::start_with_keys(&[short.clone(), TestKey::generate(Alg::RS256, "good")]);
    let token = issuer.token_for(&short).build();
    let v = Both::new(config_for(&issuer).build().unwrap());
    let err = v.verify(&token).unwrap_err();
    assert_eq!(err.code(), ErrorCode::InvalidToken);
    assert_eq!(err.message(), "Invalid token");
    let lax = Both::new(
        config_for(&issuer)
            .enforce_minimum_key_length(false)
            .build()
            .unwrap(),
    );
    assert_eq!(lax.verify(&token).unwrap().sub(), Some("user-123"));
}

// ---- step 11: claims ----

#[test]
fn required_claims_in_order() {
    let (issuer, v) = setup();
    for name in ["exp", "iss", "aud"] {
        let err = v
            .verify(&issuer.token().remove_claim(name).build())
            .unwrap_err();
        assert_eq!(err.code(), ErrorCode::MissingClaim);
        assert_eq!(
            err.message(),
            format!("Token is missing the \"{name}\" claim")
        );
        let err = v
            .verify(&issuer.token().claim(name, Value::Null).build())
            .unwrap_err();
        assert_eq!(err.code(), ErrorCode::MissingClaim, "{name} null");
    }
    let err = v
        .verify(
            &issuer
                .token()
                .remove_claim("aud")
                .remove_claim("iss")
                .build(),
        )
        .unwrap_err();
    assert_eq!(err.message(), "Token is missing the \"iss\" claim");
}

#[test]
fn time_claims() {
    let issuer = TestIssuer::start();
    let strict = Both::new(config_for(&issuer).build().unwrap());
    let lax = Both::new(
        config_for(&issuer)
            .leeway(Duration::from_secs(10))
            .build()
            .unwrap(),
    );
    let t = now();
    let tok = |name: &str, value: Value| issuer.token().claim(name, value).build();

    assert_eq!(
        strict.code(&tok("exp", json!(t))),
        ErrorCode::TokenExpired,
        "exp == now"
    );
    assert_eq!(
        strict.code(&tok("exp", json!(t - 5))),
        ErrorCode::TokenExpired
    );
    lax.verify(&tok("exp", json!(t - 5))).unwrap();
    assert_eq!(
        lax.code(&tok("exp", json!(t - 11))),
        ErrorCode::TokenExpired
    );
    strict.verify(&tok("exp", json!(t as f64 + 30.5))).unwrap();

    assert_eq!(
        strict.code(&tok("nbf", json!(t + 5))),
        ErrorCode::TokenNotYetValid
    );
    lax.verify(&tok("nbf", json!(t + 5))).unwrap();
    assert_eq!(
        lax.code(&tok("nbf", json!(t + 30))),
        ErrorCode::TokenNotYetValid
    );
    assert_eq!(
        strict.code(&tok("iat", json!(t + 5))),
        ErrorCode::TokenNotYetValid
    );
    lax.verify(&tok("iat", json!(t + 5))).unwrap();

    assert_eq!(
        strict.code(&tok("exp", json!((t + 300).to_string()))),
        ErrorCode::MalformedToken,
        "numeric-string exp"
    );
    assert_eq!(
        strict.code(&tok("exp", json!(true))),
        ErrorCode::MalformedToken
    );
    assert_eq!(
        strict.code(&tok("exp", json!([t + 300]))),
        ErrorCode::MalformedToken
    );
    assert_eq!(
        strict.code(&tok("nbf", json!(t.to_string()))),
        ErrorCode::MalformedToken
    );
    assert_eq!(
        strict.code(&tok("iat", json!(t.to_string()))),
        ErrorCode::InvalidToken
    );
    assert_eq!(strict.code(&tok("iat", json!({}))), ErrorCode::InvalidToken);
}

#[test]
fn issuer_and_audience() {
    let issuer = TestIssuer::start();
    let config = verifier_core::AuthConfig::builder()
        .issuer(issuer.issuer())
        .audiences(["api-1", "api-2"])
        .jwks_url(issuer.jwks_url())
        .build()
        .unwrap();
    let v = Both::new(config);
    let iss = issuer.issuer();
    let tok = |name: &str, value: Value| {
        issuer
            .token()
            .claim("aud", json!("api-2"))
            .claim(name, value)
            .build()
    };

    assert_eq!(
        v.code(&tok("iss", json!(iss[..iss.len() - 1]))),
        ErrorCode::InvalidIssuer,
        "substring"
    );
    assert_eq!(
        v.code(&tok("iss", json!(format!("{iss}x")))),
        ErrorCode::InvalidIssuer,
        "superstring"
    );
    assert_eq!(
        v.code(&tok("iss", json!([iss.clone()]))),
        ErrorCode::InvalidIssuer,
        "array"
    );
    assert_eq!(
        v.code(&tok("iss", json!(iss.to_uppercase()))),
        ErrorCode::InvalidIssuer,
        "case"
    );

    v.verify(&tok("aud", json!("api-2"))).unwrap();
    v.verify(&tok("aud", json!(["x", "api-2"]))).unwrap();
    assert_eq!(
        v.code(&tok("aud", json!(DEFAULT_AUDIENCE))),
        ErrorCode::InvalidAudience
    );
    assert_eq!(
        v.code(&tok("aud", json!(["api-3", "api-4"]))),
        ErrorCode::InvalidAudience
    );
    let claims = v.verify(&tok("aud", json!("api-1"))).unwrap();
    assert_eq!(claims.get("aud"), Some(&json!("api-1")));
    assert_eq!(
        v.code(&tok("aud", json!([]))),
        ErrorCode::MissingClaim,
        "empty array"
    );
    assert_eq!(
        v.code(&tok("aud", json!(""))),
        ErrorCode::MissingClaim,
        "empty string"
    );
    assert_eq!(
        v.code(&tok("aud", json!(["api-2", 7]))),
        ErrorCode::InvalidAudience,
        "mixed types"
    );
    assert_eq!(v.code(&tok("aud", json!(42))), ErrorCode::InvalidAudience);
    assert_eq!(
        v.code(&tok("aud", json!({"aud": "api-2"}))),
        ErrorCode::InvalidAudience
    );
    assert_eq!(
        v.code(&tok("aud", json!("api-2 "))),
        ErrorCode::InvalidAudience
    );
}

#[test]
fn subject_and_id_types() {
    let (issuer, v) = setup();
    v.verify(&issuer.token().claim("jti", json!("id-1")).build())
        .unwrap();
    for (name, value) in [
        ("sub", json!(12)),
        ("sub", json!(["a"])),
        ("jti", json!(1)),
        ("jti", json!({})),
    ] {
        assert_eq!(
            v.code(&issuer.token().claim(name, value).build()),
            ErrorCode::InvalidToken,
            "{name}"
        );
    }
}

#[test]
fn scopes_and_permissions() {
    let issuer = TestIssuer::start();
    let v = Both::new(
        config_for(&issuer)
            .required_scopes(["write:users", "read:users", " ", ""])
            .required_permissions(["admin"])
            .build()
            .unwrap(),
    );
    let ok = issuer
        .token()
        .claim("scope", json!("read:users write:users other"))
        .claim("permissions", json!(["admin", 3, "x"]))
        .build();
    let claims = v.verify(&ok).unwrap();
    assert_eq!(claims.scopes(), vec!["read:users", "write:users", "other"]);
    assert_eq!(claims.permissions(), vec!["admin", "x"]);
    let as_array = issuer
        .token()
        .claim("scope", json!(["write:users", "read:users"]))
        .claim("permissions", json!("admin"))
        .build();
    v.verify(&as_array).unwrap();

    // Missing scopes are listed sorted, in the error and the challenge; scopes come first.
    let err = v
        .verify(&issuer.token().claim("scope", json!("other")).build())
        .unwrap_err();
    assert_eq!(err.code(), ErrorCode::InsufficientScope);
    assert_eq!(err.status().as_u16(), 403);
    assert_eq!(err.required_scopes(), ["read:users", "write:users"]);
    assert_eq!(
        err.www_authenticate(Some("api")).unwrap(),
        r#"Bearer realm="api", error="insufficient_scope", error_description="Insufficient scope", scope="read:users write:users""#
    );
    // A scope string is not split in the array form, nor are entries trimmed.
    let err = v
        .verify(
            &issuer
                .token()
                .claim("scope", json!(["read:users write:users"]))
                .build(),
        )
        .unwrap_err();
    assert_eq!(err.code(), ErrorCode::InsufficientScope);
    // Other shapes count as no scopes.
    for shape in [json!(12345), Value::Null, json!({"read:users": true})] {
        assert_eq!(
            v.code(&issuer.token().claim("scope", shape).build()),
            ErrorCode::InsufficientScope
        );
    }

    let err = v
        .verify(
            &issuer
                .token()
                .claim("scope", json!("read:users write:users"))
                .claim("permissions", json!(["editor"]))
                .build(),
        )
        .unwrap_err();
    assert_eq!(err.code(), ErrorCode::InsufficientPermissions);
    assert_eq!(err.required_permissions(), ["admin"]);
    assert_eq!(
        err.www_authenticate(None).unwrap(),
        r#"Bearer error="insufficient_scope", error_description="Insufficient permissions", permissions="admin""#
    );
}

/// RFC 6749 §3.3: scope tokens are separated by U+0020 only. Any other whitespace is
/// part of a token, so `"read\u{a0}admin"` is one scope and grants neither `read` nor
/// `admin`; the same for a string `permissions` claim. Repeated spaces are ignored.
#[test]
fn only_space_separates_scopes_and_permissions() {
    let issuer = TestIssuer::start();
    let v = Both::new(
        config_for(&issuer)
            .required_scopes(["admin"])
            .required_permissions(["delete"])
            .build()
            .unwrap(),
    );
    let granted = |scope: &str, permissions: &str| {
        v.verify(
            &issuer
                .token()
                .claim("scope", json!(scope))
                .claim("permissions", json!(permissions))
                .build(),
        )
    };
    for sep in [
        '\u{a0}', '\t', '\n', '\r', '\u{b}', '\u{c}', '\u{85}', '\u{1680}', '\u{2000}', '\u{2003}',
        '\u{200a}', '\u{2028}', '\u{2029}', '\u{202f}', '\u{205f}', '\u{3000}',
    ] {
        let joined = format!("read{sep}admin");
        let err = granted(&joined, "delete").unwrap_err();
        assert_eq!(err.code(), ErrorCode::InsufficientScope, "{sep:?}");
        assert_eq!(err.required_scopes(), ["admin"], "{sep:?}");
        let err = granted("admin", &format!("read{sep}delete")).unwrap_err();
        assert_eq!(err.code(), ErrorCode::InsufficientPermissions, "{sep:?}");
        // The whole string is one token.
        let claims = verifier_core::Claims::from_map(
            json!({"scope": joined.clone()})
                .as_object()
                .unwrap()
                .clone(),
        );
        assert_eq!(claims.scopes(), vec![joined.as_str()], "{sep:?}");
        assert!(!claims.has_scope("admin"), "{sep:?}");
        assert!(claims.require_scopes(&["admin"]).is_err(), "{sep:?}");
    }
    // Spaces separate; runs of spaces and leading / trailing spaces make no empty tokens.
    let claims = granted("  read   admin ", " delete  ").unwrap();
    assert_eq!(claims.scopes(), vec!["read", "admin"]);
    assert_eq!(claims.permissions(), vec!["delete"]);
}

#[test]
fn custom_claim_names() {
    let issuer = TestIssuer::start();
    let v = Both::new(
        config_for(&issuer)
            .scope_claim("scp")
            .permissions_claim("grants")
            .required_scopes(["a"])
            .required_permissions(["g"])
            .build()
            .unwrap(),
    );
    let claims = v
        .verify(
            &issuer
                .token()
                .claim("scp", json!("a b"))
                .claim("grants", json!(["g"]))
                .build(),
        )
        .unwrap();
    assert_eq!(claims.scopes(), vec!["a", "b"]);
    assert_eq!(claims.get("scp"), Some(&json!("a b")));
    assert_eq!(
        v.code(
            &issuer
                .token()
                .claim("scope", json!("a"))
                .claim("grants", json!(["g"]))
                .build()
        ),
        ErrorCode::InsufficientScope
    );
}

#[test]
fn hostile_payloads_never_panic() {
    let issuer = TestIssuer::start();
    let v = Both::new(config_for(&issuer).build().unwrap());
    // 5,000-deep nesting: a clear refusal (JSON depth limit), not a crash.
    let deep = format!("{{\"deep\":{}{}}}", "[".repeat(5000), "]".repeat(5000));
    let token = issuer.token().raw_payload(deep.into_bytes()).build();
    assert!(token.len() < 16 * 1024);
    assert_eq!(v.code(&token), ErrorCode::MalformedToken);
    // Unicode claims survive intact.
    let token = issuer
        .token()
        .claim("name", json!("Zoë 🦀 \u{202e}"))
        .claim("sub", json!("ユーザー"))
        .build();
    let claims = v.verify(&token).unwrap();
    assert_eq!(claims.get_str("name"), Some("Zoë 🦀 \u{202e}"));
    assert_eq!(claims.sub(), Some("ユーザー"));
    // Random garbage in every segment.
    for i in 0..200u32 {
        let junk: Vec<u8> = (0..(i % 40 + 1))
            .map(|j| (i.wrapping_mul(31).wrapping_add(j * 7) % 256) as u8)
            .collect();
        let t = format!(
            "{}.{}.{}",
            b64(&junk),
            b64(&junk[..junk.len() / 2]),
            b64(&junk)
        );
        let _ = v.verify(&t);
    }
}

#[test]
fn typed_claims() {
    #[derive(serde::Deserialize)]
    struct Mine {
        sub: String,
        tenant: String,
    }
    let (issuer, v) = setup();
    let claims = v
        .verify(&issuer.token().claim("tenant", json!("t1")).build())
        .unwrap();
    let mine: Mine = claims.deserialize().unwrap();
    assert_eq!(
        (mine.sub.as_str(), mine.tenant.as_str()),
        ("user-123", "t1")
    );
    assert!(claims.deserialize::<Mine>().is_ok());
    let bad = v.verify(&issuer.token().build()).unwrap();
    assert!(bad.deserialize::<Mine>().is_err());
}

#[test]
fn token_builder_defaults_match_config() {
    // Guards the fixture itself: a default token carries what the config expects.
    let issuer = TestIssuer::start();
    let t = TokenBuilder::new(&issuer.default_key())
        .claim("iss", json!(issuer.issuer()))
        .claim("aud", json!(DEFAULT_AUDIENCE))
        .claim("exp", json!(now() + 60))
        .build();
    let v = Both::new(config_for(&issuer).build().unwrap());
    v.verify(&t).unwrap();
}

#[test]
fn verified_token_cache_never_outlives_exp_or_the_key_set() {
    let issuer = TestIssuer::start();
    let v = Both::new(
        config_for(&issuer)
            .verified_token_cache(64)
            .build()
            .unwrap(),
    );
    let token = issuer.token().build();
    let first = v.verify(&token).unwrap();
    assert_eq!(v.verify(&token).unwrap(), first);
    // Past exp: refused, not served from the cache.
    let short = issuer.token().claim("exp", json!(now() + 1)).build();
    v.verify(&short).unwrap();
    std::thread::sleep(Duration::from_millis(2100));
    assert_eq!(v.code(&short), ErrorCode::TokenExpired);
    // The key set changes (the key is removed): the cached verification is gone.
    issuer.set_keys(&[TestKey::generate(Alg::RS256, "other")]);
    v.rt.block_on(v.async_v.get_signing_keys(true)).unwrap();
    v.blocking_v.get_signing_keys(true).unwrap();
    assert_eq!(v.code(&token), ErrorCode::KeyNotFound);
}
