//! Shared fixtures for the verifier benches: one test issuer on 127.0.0.1 publishing an
//! RS256, an ES256 and an EdDSA key, tokens for each, and the pre-parsed raw keys.
//!
//! Two tokens per algorithm: `cases`, a small access token (the testkit's default claims
//! plus `scope` and `jti`, payload about 280 bytes), and `large`, a Keycloak-sized one
//! (realm and client roles, groups, allowed origins, a dozen profile claims; payload
//! about 1.2 KB, the whole RS256 token about 1.9 KB).

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
    /// "small" or "keycloak".
    pub size: &'static str,
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
    /// The criterion group: `verify-RS256` (small token) or `verify-RS256-kc`.
    pub fn group(&self, prefix: &str) -> String {
        match self.size {
            "small" => format!("{prefix}-{}", self.name),
            _ => format!("{prefix}-{}-kc", self.name),
        }
    }

    /// The decoded payload's length in bytes.
    pub fn payload_len(&self) -> usize {
        let payload = self.token.split('.').nth(1).expect("payload segment");
        URL_SAFE_NO_PAD
            .decode(payload)
            .expect("base64url payload")
            .len()
    }

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
    /// The small token, one per algorithm.
    pub cases: Vec<Case>,
    /// The Keycloak-sized token, one per algorithm (same keys).
    pub large: Vec<Case>,
}

/// Keycloak-like access-token claims beyond the testkit's defaults (iss, aud, sub, iat,
/// nbf, exp): what a realm with a few clients, roles and groups puts in every token.
pub fn keycloak_claims() -> Vec<(&'static str, serde_json::Value)> {
    vec![
        ("exp", json!(now() + 3600)),
        ("auth_time", json!(now() - 120)),
        ("jti", json!("onrtac:5b8f2d1e-7c4a-4e39-9f0b-2d6a8c1e3f57")),
        ("aud", json!(["orders-api", "account", DEFAULT_AUDIENCE])),
        ("typ", json!("Bearer")),
        ("azp", json!("web-frontend")),
        ("sid", json!("0c4e8a7d-3b1f-4d62-8e95-7a2c6f1b9d04")),
        ("acr", json!("1")),
        (
            "allowed-origins",
            json!([
                "https://app.example.com",
                "https://admin.example.com",
                "http://localhost:3000"
            ]),
        ),
        (
            "realm_access",
            json!({"roles": ["offline_access", "uma_authorization", "default-roles-example", "app-user", "app-admin"]}),
        ),
        (
            "resource_access",
            json!({
                "orders-api": {"roles": ["orders:read", "orders:write", "orders:cancel"]},
                "billing-api": {"roles": ["invoices:read", "payments:read"]},
                "account": {"roles": ["manage-account", "manage-account-links", "view-profile"]}
            }),
        ),
        (
            "scope",
            json!("openid profile email phone address offline_access orders"),
        ),
        ("email_verified", json!(true)),
        ("name", json!("Alexandra Montgomery-Ferreira")),
        ("preferred_username", json!("alexandra.montgomery")),
        ("given_name", json!("Alexandra")),
        ("family_name", json!("Montgomery-Ferreira")),
        ("email", json!("alexandra.montgomery@example.com")),
        ("locale", json!("en-GB")),
        ("tenant_id", json!("acme-eu-west")),
        ("department", json!("Platform Engineering")),
        (
            "groups",
            json!([
                "/engineering",
                "/engineering/platform",
                "/oncall/primary",
                "/employees"
            ]),
        ),
    ]
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
        let make = |alg: Alg, name: &'static str, key: &TestKey, size: &'static str| {
            let token = if size == "small" {
                // A typical access token: the testkit's default claims plus a scope and
                // a jti, valid for an hour so no bench run can outlive it.
                issuer
                    .token_for(key)
                    .claim("exp", json!(now() + 3600))
                    .claim("scope", json!("read:items write:items"))
                    .claim("jti", json!("3f1c2a9e-6b7d-4f0e-9a51-0c8d2e7b4a10"))
                    .build()
            } else {
                keycloak_claims()
                    .into_iter()
                    .fold(issuer.token_for(key), |b, (n, v)| b.claim(n, v))
                    .build()
            };
            let (signing_input, sig) = token.rsplit_once('.').expect("compact JWS");
            let signature = URL_SAFE_NO_PAD.decode(sig).expect("base64url signature");
            let case = Case {
                name,
                size,
                alg,
                key: key.clone(),
                signing_input: signing_input.as_bytes().to_vec(),
                signature,
                token,
                raw_key: parsed_key(alg, key),
            };
            assert!(case.raw_verify(), "{name}: raw verification must succeed");
            case
        };
        let cases = ALGS
            .iter()
            .zip(&keys)
            .map(|((alg, name), key)| make(*alg, name, key, "small"))
            .collect();
        let large = ALGS
            .iter()
            .zip(&keys)
            .map(|((alg, name), key)| make(*alg, name, key, "keycloak"))
            .collect();
        Fixture {
            issuer,
            cases,
            large,
        }
    }

    /// Every case: the small tokens, then the Keycloak-sized ones.
    pub fn all(&self) -> impl Iterator<Item = &Case> {
        self.cases.iter().chain(&self.large)
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
