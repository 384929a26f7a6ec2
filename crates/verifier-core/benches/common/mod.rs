//! Shared fixtures for the verifier benches: one test issuer on 127.0.0.1 publishing an
//! RS256, an ES256 and an EdDSA key, tokens for each, and the pre-parsed raw keys.

#![allow(dead_code)] // each bench uses a different part

use std::time::Duration;

use aws_lc_rs::signature::{self, ParsedPublicKey};
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine as _;
use jsonwebtoken::{DecodingKey, Validation};
use serde_json::json;
use verifier_core::{Algorithm, AuthConfig};
use verifier_testkit::{now, Alg, TestIssuer, TestKey, DEFAULT_AUDIENCE};

/// One algorithm under test.
pub struct Case {
    /// "RS256", "ES256", "EdDSA".
    pub name: &'static str,
    pub alg: Alg,
    pub key: TestKey,
    /// A valid access token for the issuer, expiring in an hour.
    pub token: String,
    /// `header.payload` of `token`.
    pub signing_input: Vec<u8>,
    /// The decoded signature of `token`.
    pub signature: Vec<u8>,
    /// The same public key, parsed once by aws-lc-rs.
    pub raw_key: ParsedPublicKey,
}

impl Case {
    /// The raw signature check: the floor every ratio is measured against.
    #[inline]
    pub fn raw_verify(&self) -> bool {
        self.raw_key
            .verify_sig(&self.signing_input, &self.signature)
            .is_ok()
    }
}

pub struct Fixture {
    pub issuer: TestIssuer,
    pub cases: Vec<Case>,
}

/// The algorithms the benches cover.
pub const ALGS: [(Alg, &str); 3] = [
    (Alg::RS256, "RS256"),
    (Alg::ES256, "ES256"),
    (Alg::EdDSA, "EdDSA"),
];

impl Fixture {
    pub fn new() -> Fixture {
        let keys: Vec<TestKey> = ALGS
            .iter()
            .map(|(alg, name)| TestKey::generate(*alg, format!("bench-{name}")))
            .collect();
        let issuer = TestIssuer::start_with_keys(&keys);
        let cases = ALGS
            .iter()
            .zip(keys)
            .map(|((alg, name), key)| {
                // A typical access token: the testkit's default claims plus a scope and
                // a jti, valid for an hour so no bench run can outlive it.
                let token = issuer
                    .token_for(&key)
                    .claim("exp", json!(now() + 3600))
                    .claim("scope", json!("read:items write:items"))
                    .claim("jti", json!("3f1c2a9e-6b7d-4f0e-9a51-0c8d2e7b4a10"))
                    .build();
                let (signing_input, sig) = token.rsplit_once('.').expect("compact JWS");
                let signature = URL_SAFE_NO_PAD.decode(sig).expect("base64url signature");
                let raw_key = parsed_key(*alg, &key);
                let case = Case {
                    name,
                    alg: *alg,
                    key,
                    signing_input: signing_input.as_bytes().to_vec(),
                    signature,
                    token,
                    raw_key,
                };
                assert!(case.raw_verify(), "{name}: raw verification must succeed");
                case
            })
            .collect();
        Fixture { issuer, cases }
    }

    /// The configuration every verifier in the benches uses: the three algorithms, a key
    /// set that stays fresh for the whole run (so "warm" means no fetch at all).
    pub fn config(&self) -> verifier_core::AuthConfigBuilder {
        AuthConfig::builder()
            .issuer(self.issuer.issuer())
            .audience(DEFAULT_AUDIENCE)
            .jwks_url(self.issuer.jwks_url())
            .allowed_algs([Algorithm::RS256, Algorithm::ES256, Algorithm::EdDSA])
            .jwks_cache_ttl(Duration::from_secs(3600))
    }
}

/// The key as an aws-lc-rs key, parsed once (what the verifier does per key-set fetch).
fn parsed_key(alg: Alg, key: &TestKey) -> ParsedPublicKey {
    let params: &'static dyn signature::VerificationAlgorithm = match alg {
        Alg::RS256 => &signature::RSA_PKCS1_2048_8192_SHA256,
        Alg::ES256 => &signature::ECDSA_P256_SHA256_FIXED,
        Alg::EdDSA => &signature::ED25519,
        other => panic!("no bench for {other:?}"),
    };
    ParsedPublicKey::new(params, key.public_key_bytes()).expect("public key")
}

/// jsonwebtoken 12's equivalent: a prepared `DecodingKey` and a `Validation` checking the
/// algorithm, `iss`, `aud`, `exp` and `nbf` (required: `exp`, `iss`, `aud`), no leeway.
pub fn jwt_setup(fx: &Fixture, case: &Case) -> (DecodingKey, Validation) {
    let jwk = case.key.public_jwk();
    let s = |name: &str| jwk[name].as_str().unwrap().to_owned();
    let (key, alg) = match case.alg {
        Alg::RS256 => (
            DecodingKey::from_rsa_components(&s("n"), &s("e")),
            jsonwebtoken::Algorithm::RS256,
        ),
        Alg::ES256 => (
            DecodingKey::from_ec_components(&s("x"), &s("y")),
            jsonwebtoken::Algorithm::ES256,
        ),
        Alg::EdDSA => (
            DecodingKey::from_ed_components(&s("x")),
            jsonwebtoken::Algorithm::EdDSA,
        ),
        other => panic!("no bench for {other:?}"),
    };
    let mut validation = Validation::new(alg);
    validation.set_issuer(&[fx.issuer.issuer()]);
    validation.set_audience(&[DEFAULT_AUDIENCE]);
    validation.set_required_spec_claims(&["exp", "iss", "aud"]);
    validation.validate_exp = true;
    validation.validate_nbf = true;
    validation.leeway = 0;
    (key.expect("jsonwebtoken key"), validation)
}

/// `/proc/loadavg`'s first three fields, to judge how noisy a run was.
pub fn loadavg() -> String {
    std::fs::read_to_string("/proc/loadavg")
        .map(|s| s.split_whitespace().take(3).collect::<Vec<_>>().join(" "))
        .unwrap_or_else(|_| "?".into())
}
