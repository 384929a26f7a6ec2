//! jsonwebtoken 12 as a differential oracle: random tokens, valid and mutated, for every
//! supported algorithm, each judged by our blocking verifier and by `jsonwebtoken::decode`
//! under an equivalent strict `Validation`. The verdicts (accept / refuse) must agree, except
//! where a named [`Stricter`] rule says we refuse on purpose what jsonwebtoken accepts, or a
//! named [`Lenient`] rule says why jsonwebtoken's refusal does not apply to us. Both lists
//! are mirrored in docs/security.md ("Checked against jsonwebtoken").
//!
//! One test issuer serves a fixed key set (some JWKs carry `alg`, one RSA key is short, one
//! JWK is mislabelled) to three verifier configurations (leeway 0, 5 and 30 s; one or two
//! audiences; all algorithms or a subset). The oracle gets the JWK the token's `kid` names
//! (or, for a token without a usable `kid`, the key it was made for), the allowed algorithms
//! of that key's family, the issuer, the audiences, the leeway, and `exp`, `iss`, `aud` as
//! required claims with `exp` and `nbf` validated.

// Issue 10 item 9

use std::collections::BTreeMap;
use std::fmt;
use std::sync::{Mutex, OnceLock};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine as _;
use jsonwebtoken::errors::ErrorKind;
use jsonwebtoken::jwk::Jwk;
use jsonwebtoken::{DecodingKey, Validation};
use proptest::prelude::*;
use proptest::test_runner::{Config as ProptestConfig, RngAlgorithm, TestCaseError, TestRunner};
use serde::de::{Deserialize, Deserializer, MapAccess, Visitor};
use serde_json::{json, Map, Value};
use verifier_core::{Algorithm, AuthConfig, ErrorCode, JwtVerifier};
use verifier_testkit::{Alg, TestIssuer, TestKey, TokenBuilder, DEFAULT_AUDIENCE};

/// Random cases per run: a few seconds in a debug build (30,000 passed once when written).
const CASES: u32 = 512;
/// `max_token_bytes`, left at its default.
const MAX_TOKEN_BYTES: usize = 16 * 1024;
const EVIL_ISSUER: &str = "https://evil.example/";
const OTHER_AUDIENCE: &str = "https://other.example";
const SECOND_AUDIENCE: &str = "urn:example:reports";

// ---------------------------------------------------------------------------------------
// The named exceptions.

/// Where we refuse on purpose what jsonwebtoken 12 accepts. Each rule holds only when our
/// refusal carries the code that rule produces, so it cannot stand in for another refusal.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
enum Stricter {
    /// Over `max_token_bytes` (16 KiB): refused before any decoding.
    TokenTooLarge,
    /// A member name twice in the header or the payload: parsers disagree on which one counts.
    DuplicateMembers,
    /// `jku`, `x5u` or `crit` present: nothing in a token may locate a key, and we
    /// implement no critical extension (jsonwebtoken ignores `jku`/`x5u`, allows `crit: ["b64"]`).
    ForbiddenHeader,
    /// No `kid`, or a null or empty one: keys are only ever chosen by `kid`.
    RequiredKid,
    /// The JWK carries an `alg` other than the header's: a key serves only its declared
    /// algorithm (jsonwebtoken's `DecodingKey::from_jwk` drops the JWK `alg`).
    JwkAlgBinding,
    /// `iat` after now + leeway: a token from the future (jsonwebtoken ignores `iat`).
    IatInFuture,
    /// `iat` present but not a number (jsonwebtoken ignores `iat`).
    IatNotNumber,
    /// `sub` or `jti` present but not a string (null included).
    SubOrJtiNotString,
    /// `iss` as an array (jsonwebtoken takes an array naming the issuer).
    IssuerNotString,
    /// `exp` in the second at now - leeway: RFC 7519 expires a token *at* `exp`; jsonwebtoken
    /// only past it, with its clock truncated and `exp` rounded to whole seconds.
    ExpiryInstant,
    /// A fractional `nbf` less than half a second after now + leeway: jsonwebtoken rounds it
    /// down to a second that has begun.
    NbfFraction,
}

impl Stricter {
    const ALL: [Stricter; 11] = [
        Stricter::TokenTooLarge,
        Stricter::DuplicateMembers,
        Stricter::ForbiddenHeader,
        Stricter::RequiredKid,
        Stricter::JwkAlgBinding,
        Stricter::IatInFuture,
        Stricter::IatNotNumber,
        Stricter::SubOrJtiNotString,
        Stricter::IssuerNotString,
        Stricter::ExpiryInstant,
        Stricter::NbfFraction,
    ];

    /// Whether this rule explains our refusal (`code`) of `token`.
    fn explains(self, t: &Inspected, ctx: &Ctx, code: ErrorCode) -> bool {
        let l = ctx.leeway as f64;
        let now = ctx.now as f64;
        match self {
            Stricter::TokenTooLarge => {
                t.raw.trim().len() > MAX_TOKEN_BYTES && code == ErrorCode::MalformedToken
            }
            Stricter::DuplicateMembers => {
                (has_duplicates(&t.header) || has_duplicates(&t.payload))
                    && code == ErrorCode::MalformedToken
            }
            Stricter::ForbiddenHeader => {
                ["jku", "x5u", "crit"]
                    .iter()
                    .any(|m| member(&t.header, m).is_some())
                    && code == ErrorCode::ForbiddenHeader
            }
            Stricter::RequiredKid => {
                let kid = member(&t.header, "kid");
                (kid.is_none() || kid == Some(&Value::Null) || kid == Some(&json!("")))
                    && code == ErrorCode::MissingKid
            }
            Stricter::JwkAlgBinding => {
                let header_alg = member(&t.header, "alg").and_then(Value::as_str);
                let jwk_alg = member(&t.header, "kid")
                    .and_then(Value::as_str)
                    .and_then(published_jwk)
                    .and_then(|jwk| jwk.get("alg"))
                    .and_then(Value::as_str);
                matches!((header_alg, jwk_alg), (Some(h), Some(j)) if h != j)
                    && matches!(code, ErrorCode::DisallowedAlg | ErrorCode::KeyNotFound)
            }
            Stricter::IatInFuture => {
                number(&t.payload, "iat").is_some_and(|iat| iat > now + l)
                    && code == ErrorCode::TokenNotYetValid
            }
            Stricter::IatNotNumber => {
                member(&t.payload, "iat").is_some_and(|v| !v.is_null() && !v.is_number())
                    && code == ErrorCode::InvalidToken
            }
            Stricter::SubOrJtiNotString => {
                ["sub", "jti"]
                    .iter()
                    .any(|m| member(&t.payload, m).is_some_and(|v| !v.is_string()))
                    && code == ErrorCode::InvalidToken
            }
            Stricter::IssuerNotString => {
                member(&t.payload, "iss").is_some_and(Value::is_array)
                    && code == ErrorCode::InvalidIssuer
            }
            Stricter::ExpiryInstant => {
                number(&t.payload, "exp").is_some_and(|exp| {
                    let edge = now - l;
                    edge - 0.5 <= exp && exp < edge + 1.0
                }) && code == ErrorCode::TokenExpired
            }
            Stricter::NbfFraction => {
                number(&t.payload, "nbf").is_some_and(|nbf| {
                    let edge = now + l;
                    edge < nbf && nbf < edge + 0.5
                }) && code == ErrorCode::TokenNotYetValid
            }
        }
    }
}

/// Where jsonwebtoken 12 refuses what we accept. Every entry is a potential hole, so each is
/// narrow and says why it is not one. Each rule holds only for the error jsonwebtoken gives.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
enum Lenient {
    /// Whitespace around the token: we trim it (SPEC 4 step 1); the signed bytes are the same.
    /// Holds only if jsonwebtoken accepts the trimmed token (or another rule explains why not).
    SurroundingWhitespace,
    /// A header member we never read (`typ`, `cty`, `jwk`, `x5c`, `x5t`, `x5t#S256`, `enc`,
    /// `zip`, `url`, `nonce`, `b64`) with a value jsonwebtoken's typed header refuses, or
    /// `b64: false` without `crit` (RFC 7797 needs `crit`; without it `b64` means nothing
    /// and the signature still covers the encoded payload we read).
    IgnoredHeaderMember,
    /// `exp` or `nbf` a number outside [0, 2^64): jsonwebtoken reads NumericDate as `u64`;
    /// a negative `nbf` or a far `exp` is still a valid instant.
    TimeOutsideU64,
    /// `nbf: null`: null is absent, for every claim (SPEC 4 step 11), so it bounds nothing;
    /// jsonwebtoken's NumericDate parser has no case for null.
    NullNbf,
    /// A fractional `nbf` at least half a second after now + leeway, yet not after our
    /// sub-second clock: jsonwebtoken rounds it up and truncates its clock.
    NbfRounding,
    /// ES512: jsonwebtoken 12 does not implement it, so it has no verdict to compare.
    NoEs512InOracle,
}

impl Lenient {
    const ALL: [Lenient; 6] = [
        Lenient::SurroundingWhitespace,
        Lenient::IgnoredHeaderMember,
        Lenient::TimeOutsideU64,
        Lenient::NullNbf,
        Lenient::NbfRounding,
        Lenient::NoEs512InOracle,
    ];

    /// Whether this rule explains jsonwebtoken's refusal (`kind`) of a token we accepted.
    fn explains(self, t: &Inspected, ctx: &Ctx, kind: &ErrorKind) -> bool {
        let l = ctx.leeway as f64;
        let now = ctx.now as f64;
        match self {
            Lenient::SurroundingWhitespace => {
                t.raw != t.raw.trim()
                    && matches!(kind, ErrorKind::Base64(_) | ErrorKind::Json(_))
                    && match &ctx.theirs_on_trimmed {
                        Some(Ok(())) => true,
                        // Refused for another reason a rule explains.
                        Some(Err(kind)) => Lenient::ALL
                            .into_iter()
                            .filter(|r| *r != Lenient::SurroundingWhitespace)
                            .any(|r| r.explains(t, ctx, kind)),
                        None => false,
                    }
            }
            Lenient::IgnoredHeaderMember => {
                t.header
                    .as_deref()
                    .unwrap_or_default()
                    .iter()
                    .any(|(name, value)| !jsonwebtoken_takes_header_member(name, value))
                    && matches!(kind, ErrorKind::Json(_) | ErrorKind::InvalidToken)
            }
            Lenient::TimeOutsideU64 => {
                let outside = |v: f64| !(0.0..18_446_744_073_709_551_616.0).contains(&v);
                let exp = number(&t.payload, "exp").is_some_and(outside);
                let nbf = number(&t.payload, "nbf").is_some_and(outside);
                exp && matches!(kind, ErrorKind::MissingRequiredClaim(c) if c == "exp")
                    || nbf && matches!(kind, ErrorKind::InvalidClaimFormat(c) if c == "nbf")
            }
            Lenient::NullNbf => {
                member(&t.payload, "nbf") == Some(&Value::Null)
                    && matches!(kind, ErrorKind::InvalidClaimFormat(c) if c == "nbf")
            }
            Lenient::NbfRounding => {
                number(&t.payload, "nbf").is_some_and(|nbf| {
                    let edge = now + l;
                    edge + 0.5 <= nbf && nbf < edge + 1.0
                }) && matches!(kind, ErrorKind::ImmatureSignature)
            }
            Lenient::NoEs512InOracle => {
                member(&t.header, "alg") == Some(&json!("ES512"))
                    && matches!(kind, ErrorKind::Json(_))
            }
        }
    }
}

/// Whether jsonwebtoken's typed `Header` takes this member's value (the members it types
/// but we never read; `alg`, `kid`, `jku`, `x5u` and `crit` are judged elsewhere).
fn jsonwebtoken_takes_header_member(name: &str, value: &Value) -> bool {
    match name {
        "typ" | "cty" | "x5t" | "x5t#S256" | "url" | "nonce" | "enc" | "zip" => {
            value.is_null() || value.is_string()
        }
        "x5c" => {
            value.is_null()
                || value
                    .as_array()
                    .is_some_and(|a| a.iter().all(Value::is_string))
        }
        "jwk" => value.is_null() || serde_json::from_value::<Jwk>(value.clone()).is_ok(),
        "b64" => value == &json!(true),
        _ => true,
    }
}

// ---------------------------------------------------------------------------------------
// The fixture: one issuer, a fixed key set, three verifier configurations.

/// A published key: `(kid, key material, JWK alg)`. Kids sharing material share a key.
const PUBLISHED: [(&str, Material, Option<&str>); 11] = [
    ("rsa", Material::Rsa, None),
    ("rsa-rs256", Material::Rsa, Some("RS256")),
    ("rsa-ps512", Material::Rsa, Some("PS512")),
    ("p256", Material::P256, None),
    // Mislabelled: a P-256 key declaring ES384. We skip it; jsonwebtoken ignores the label.
    ("p256-es384", Material::P256, Some("ES384")),
    ("p384", Material::P384, None),
    ("p384-es384", Material::P384, Some("ES384")),
    ("p521", Material::P521, None),
    ("ed25519", Material::Ed25519, None),
    ("ed25519-eddsa", Material::Ed25519, Some("EdDSA")),
    // RSA-1024: refused by both (minimum length).
    ("rsa-1024", Material::Rsa1024, None),
];

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Material {
    Rsa,
    Rsa1024,
    P256,
    P384,
    P521,
    Ed25519,
}

impl Material {
    /// The algorithms a key of this material signs.
    fn algs(self) -> &'static [Alg] {
        match self {
            Material::Rsa => &[
                Alg::RS256,
                Alg::RS384,
                Alg::RS512,
                Alg::PS256,
                Alg::PS384,
                Alg::PS512,
            ],
            // The testkit's 1024-bit key cannot sign PS512.
            Material::Rsa1024 => &[Alg::RS256, Alg::RS384, Alg::RS512, Alg::PS256, Alg::PS384],
            Material::P256 => &[Alg::ES256],
            Material::P384 => &[Alg::ES384],
            Material::P521 => &[Alg::ES512],
            Material::Ed25519 => &[Alg::EdDSA],
        }
    }

    fn generate(self) -> TestKey {
        match self {
            Material::Rsa => TestKey::generate(Alg::RS256, "m"),
            Material::Rsa1024 => TestKey::rsa(1024, "m"),
            Material::P256 => TestKey::generate(Alg::ES256, "m"),
            Material::P384 => TestKey::generate(Alg::ES384, "m"),
            Material::P521 => TestKey::generate(Alg::ES512, "m"),
            Material::Ed25519 => TestKey::generate(Alg::EdDSA, "m"),
        }
    }
}

/// A verifier configuration and the same settings for the oracle.
struct Setup {
    verifier: JwtVerifier,
    audiences: &'static [&'static str],
    leeway: i64,
    allowed: &'static [Algorithm],
}

const SETUPS: [(&[&str], i64, &[Algorithm]); 3] = [
    (&[DEFAULT_AUDIENCE], 0, Algorithm::ALL),
    (&[DEFAULT_AUDIENCE, SECOND_AUDIENCE], 30, Algorithm::ALL),
    (
        &[DEFAULT_AUDIENCE],
        5,
        &[
            Algorithm::RS256,
            Algorithm::PS384,
            Algorithm::ES256,
            Algorithm::EdDSA,
        ],
    ),
];

struct Fixture {
    issuer: TestIssuer,
    /// Signing keys, in [`PUBLISHED`] order (kid as published).
    keys: Vec<TestKey>,
    /// The published JWKs, in [`PUBLISHED`] order.
    jwks: Vec<Value>,
    /// Unpublished keys of every material: the "wrong key".
    attackers: Vec<TestKey>,
    setups: Vec<Setup>,
}

fn fixture() -> &'static Fixture {
    static FIXTURE: OnceLock<Fixture> = OnceLock::new();
    FIXTURE.get_or_init(|| {
        let materials = [
            Material::Rsa,
            Material::Rsa1024,
            Material::P256,
            Material::P384,
            Material::P521,
            Material::Ed25519,
        ];
        let generated: Vec<(Material, TestKey)> =
            materials.iter().map(|&m| (m, m.generate())).collect();
        let material_key = |m: Material| &generated.iter().find(|(g, _)| *g == m).unwrap().1;
        let keys: Vec<TestKey> = PUBLISHED
            .iter()
            .map(|&(kid, m, _)| material_key(m).with_kid(kid))
            .collect();
        let jwks: Vec<Value> = PUBLISHED
            .iter()
            .zip(&keys)
            .map(|(&(_, _, alg), key)| match alg {
                Some(alg) => key.public_jwk_with_alg(alg),
                None => key.public_jwk(),
            })
            .collect();
        let attackers = materials
            .iter()
            .filter(|&&m| m != Material::Rsa1024)
            .map(|m| m.generate().with_kid("attacker"))
            .collect();
        let issuer = TestIssuer::start_with_keys(&keys);
        issuer.set_jwks(Some(json!({ "keys": jwks })));
        let setups = SETUPS
            .iter()
            .map(|&(audiences, leeway, allowed)| {
                let config = AuthConfig::builder()
                    .issuer(issuer.issuer())
                    .jwks_url(issuer.jwks_url())
                    .jwks_timeout(Duration::from_secs(2))
                    .audiences(audiences.iter().copied())
                    .leeway(Duration::from_secs(leeway as u64))
                    .allowed_algs(allowed.iter().copied())
                    .build()
                    .unwrap();
                let verifier = JwtVerifier::new(config).unwrap();
                // Warm the key cache, so no case pays for the first fetch.
                verifier.get_signing_keys(false).unwrap();
                Setup {
                    verifier,
                    audiences,
                    leeway,
                    allowed,
                }
            })
            .collect();
        Fixture {
            issuer,
            keys,
            jwks,
            attackers,
            setups,
        }
    })
}

/// The published JWK with this kid.
fn published_jwk(kid: &str) -> Option<&'static Value> {
    let fx = fixture();
    PUBLISHED
        .iter()
        .position(|(k, _, _)| *k == kid)
        .map(|i| &fx.jwks[i])
}

// ---------------------------------------------------------------------------------------
// A case: a plausible token description plus any number of mutations.

#[derive(Clone, Debug)]
struct Case {
    setup: usize,
    /// Index into [`PUBLISHED`]: the key the token is made for.
    key: usize,
    /// The algorithm it is signed with (one the key signs).
    alg: Alg,
    header: HeaderPlan,
    claims: ClaimsPlan,
    signature: SigPlan,
    wrap: Wrap,
    /// The mutations applied to a valid case (for failure reports).
    mutations: Vec<Mutation>,
}

#[derive(Clone, Debug)]
struct HeaderPlan {
    alg: AlgPlan,
    kid: KidPlan,
    typ: Option<Value>,
    extras: Vec<(String, Value)>,
    duplicate: Option<(&'static str, bool)>,
}

#[derive(Clone, Debug)]
enum AlgPlan {
    Keep,
    /// Another `alg` in the header; re-signed with it when the key can, or left signed
    /// with the original algorithm.
    Relabel {
        to: &'static str,
        resign: bool,
    },
}

#[derive(Clone, Debug)]
enum KidPlan {
    Keep,
    Absent,
    Null,
    Empty,
    Number,
    Unknown,
    /// The kid of another published key (index).
    Other(usize),
}

#[derive(Clone, Debug)]
struct ClaimsPlan {
    iss: Iss,
    aud: Aud,
    exp: Time,
    nbf: Time,
    iat: Time,
    sub: Option<Value>,
    jti: Option<Value>,
    extras: Vec<(String, Value)>,
    /// A claim padding the token to around or over the size cap (characters).
    pad: Option<usize>,
    duplicate: Option<(&'static str, bool)>,
}

#[derive(Clone, Debug)]
enum Iss {
    Exact,
    Absent,
    Null,
    Other,
    NoTrailingSlash,
    UpperScheme,
    Padded,
    Empty,
    Number,
    Array { with_issuer: bool, with_other: bool },
}

#[derive(Clone, Debug)]
enum Aud {
    /// The n-th configured audience (modulo their number).
    Configured(usize),
    Other,
    Array(Vec<AudItem>),
    Absent,
    Null,
    EmptyString,
    Number,
    Object,
}

#[derive(Clone, Debug)]
enum AudItem {
    Configured(usize),
    Other,
    Number,
    Null,
}

#[derive(Clone, Copy, Debug)]
enum Anchor {
    Now,
    /// now - leeway: where expiry starts.
    ExpiryEdge,
    /// now + leeway: where "not yet valid" starts.
    FutureEdge,
}

#[derive(Clone, Debug)]
enum Time {
    Absent,
    Null,
    Int(Anchor, i64),
    /// anchor + whole seconds + quarters/4.
    Frac(Anchor, i64, u8),
    /// The instant as a numeric string.
    Str(Anchor, i64),
    Bool,
    /// 2e19, beyond u64 seconds.
    Huge,
    Negative(i64),
}

#[derive(Clone, Debug)]
enum SigPlan {
    Good,
    /// ECDSA in ASN.1 DER form (EC keys; a good signature otherwise).
    Der,
    /// An unpublished key of the same material, kid unchanged.
    WrongKey,
    /// An unpublished key of any material (index), kid unchanged.
    ForeignKey(usize),
    /// Signed by another published key (index), kid unchanged.
    OtherPublished(usize),
    /// The signature of another token from the same key.
    Swapped,
    /// The payload changed after signing.
    TamperedPayload,
    Truncated,
    Empty,
    Extended,
    BitFlip(usize),
    /// `=` padding after the signature segment.
    Padded,
}

#[derive(Clone, Debug)]
enum Wrap {
    None,
    Spaces,
    Newline,
}

// ---------------------------------------------------------------------------------------
// Strategies: a valid, plausible case, then up to three mutations.

fn case_strategy() -> impl Strategy<Value = Case> {
    let mutations = prop_oneof![
        2 => Just(Vec::new()),
        3 => prop::collection::vec(mutation(), 1..4),
    ];
    (valid_case_strategy(), mutations).prop_map(|(mut case, mutations)| {
        for m in &mutations {
            m.apply(&mut case);
        }
        case.mutations = mutations;
        case
    })
}

/// The (key, alg) pairs a setup accepts: the key signs the alg, the setup allows it, the
/// JWK's `alg` (if any) names it, the key is long enough.
fn valid_key_algs(setup: usize) -> Vec<(usize, Alg)> {
    let allowed = SETUPS[setup].2;
    let mut pairs = Vec::new();
    for (i, &(_, material, jwk_alg)) in PUBLISHED.iter().enumerate() {
        for &alg in material.algs() {
            if material != Material::Rsa1024
                && jwk_alg.is_none_or(|j| j == alg.as_str())
                && allowed.iter().any(|a| a.as_str() == alg.as_str())
            {
                pairs.push((i, alg));
            }
        }
    }
    pairs
}

fn valid_case_strategy() -> impl Strategy<Value = Case> {
    (0..SETUPS.len())
        .prop_flat_map(|setup| {
            (
                Just(setup),
                prop::sample::select(valid_key_algs(setup)),
                valid_header(),
                valid_claims(),
            )
        })
        .prop_map(|(setup, (key, alg), header, claims)| Case {
            setup,
            key,
            alg,
            header,
            claims,
            signature: SigPlan::Good,
            wrap: Wrap::None,
            mutations: Vec::new(),
        })
}

/// Keeps the first member of each name.
fn unique(mut members: Vec<(String, Value)>) -> Vec<(String, Value)> {
    let mut seen = std::collections::HashSet::new();
    members.retain(|(k, _)| seen.insert(k.clone()));
    members
}

fn valid_header() -> impl Strategy<Value = HeaderPlan> {
    let typ = prop::sample::select(vec![
        Some(json!("JWT")),
        None,
        Some(json!("at+jwt")),
        Some(json!("application/at+jwt")),
    ]);
    let pair = |name: &'static str, values: Vec<Value>| {
        prop::sample::select(values).prop_map(move |v| (name.to_owned(), v))
    };
    let benign = prop_oneof![
        6 => ("x-[a-z]{1,8}", json_value()),
        1 => pair("cty", vec![json!("JWT")]),
        1 => pair("x5t", vec![json!("dGh1bWJwcmludA")]),
        1 => pair("x5t#S256", vec![json!("dGh1bWJwcmludA")]),
        1 => pair("x5c", vec![json!(["MIIBIjANBgkq"])]),
        1 => pair("nonce", vec![json!("n-0S6_WzA2Mj")]),
        1 => pair("url", vec![json!("https://api.example/x")]),
        1 => pair("enc", vec![json!("A128GCM")]),
        1 => pair("zip", vec![json!("DEF")]),
        1 => pair("b64", vec![json!(true)]),
        // An attacker's public key embedded in the header (CVE-2018-0114 style): both
        // ignore it.
        1 => Just(()).prop_map(|()| ("jwk".to_owned(), fixture().attackers[0].public_jwk())),
    ];
    let extras = prop_oneof![
        3 => Just(Vec::new()),
        1 => prop::collection::vec(benign, 1..3).prop_map(unique),
    ];
    (typ, extras).prop_map(|(typ, extras)| HeaderPlan {
        alg: AlgPlan::Keep,
        kid: KidPlan::Keep,
        typ,
        extras,
        duplicate: None,
    })
}

/// Plausible claim and header values: strings (also non-ASCII), numbers, booleans, and
/// small arrays and objects of those.
fn json_value() -> impl Strategy<Value = Value> {
    let leaf = prop_oneof![
        "[ -~]{0,16}".prop_map(Value::from),
        "\\PC{0,8}".prop_map(Value::from),
        any::<i64>().prop_map(Value::from),
        (-1e12f64..1e12).prop_map(Value::from),
        any::<bool>().prop_map(Value::from),
        Just(Value::Null),
    ];
    leaf.prop_recursive(2, 8, 4, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..4).prop_map(Value::from),
            prop::collection::btree_map("[a-z_]{1,8}", inner, 0..3)
                .prop_map(|m| Value::Object(m.into_iter().collect())),
        ]
    })
}

const REGISTERED: [&str; 8] = ["iss", "sub", "aud", "exp", "nbf", "iat", "jti", "pad"];

fn claim_name() -> impl Strategy<Value = String> {
    prop_oneof![
        3 => prop::sample::select(vec![
            "scope", "scp", "roles", "permissions", "email", "email_verified", "name", "tenant",
            "azp", "client_id", "sid", "auth_time", "acr", "amr", "https://example.com/groups",
        ])
        .prop_map(String::from),
        1 => "[a-z_]{1,12}".prop_filter("a registered claim", |n| !REGISTERED.contains(&n.as_str())),
    ]
}

fn valid_claims() -> impl Strategy<Value = ClaimsPlan> {
    let aud = prop_oneof![
        3 => (0usize..2).prop_map(Aud::Configured),
        1 => (
            prop::collection::vec(
                prop_oneof![(0usize..2).prop_map(AudItem::Configured), Just(AudItem::Other)],
                0..3,
            ),
            0usize..2,
            any::<prop::sample::Index>(),
        )
            .prop_map(|(mut items, i, at)| {
                items.insert(at.index(items.len() + 1), AudItem::Configured(i));
                Aud::Array(items)
            }),
    ];
    // Leeway edges on the accepting side: exp up to 2 minutes after now - leeway (expired
    // but within the leeway when there is one), nbf and iat up to now + leeway.
    let exp = prop_oneof![
        6 => (60i64..86_400).prop_map(|d| Time::Int(Anchor::Now, d)),
        2 => (60i64..86_400, 1u8..4).prop_map(|(d, q)| Time::Frac(Anchor::Now, d, q)),
        2 => (1i64..=120).prop_map(|d| Time::Int(Anchor::ExpiryEdge, d)),
    ];
    let nbf = prop_oneof![
        3 => Just(Time::Absent),
        3 => (-3600i64..=0).prop_map(|d| Time::Int(Anchor::Now, d)),
        2 => (-120i64..=0).prop_map(|d| Time::Int(Anchor::FutureEdge, d)),
        1 => (-3600i64..-1, 1u8..4).prop_map(|(d, q)| Time::Frac(Anchor::Now, d, q)),
    ];
    let iat = prop_oneof![
        2 => Just(Time::Absent),
        4 => (-3600i64..=0).prop_map(|d| Time::Int(Anchor::Now, d)),
        1 => (-60i64..=0).prop_map(|d| Time::Int(Anchor::FutureEdge, d)),
        1 => (-3600i64..-1, 1u8..4).prop_map(|(d, q)| Time::Frac(Anchor::Now, d, q)),
    ];
    let string_claim = || {
        prop_oneof![
            3 => "[a-zA-Z0-9|@._-]{1,24}".prop_map(|s| Some(Value::from(s))),
            1 => Just(None),
        ]
    };
    let extras = prop::collection::vec((claim_name(), json_value()), 0..5).prop_map(unique);
    (aud, exp, nbf, iat, string_claim(), string_claim(), extras).prop_map(
        |(aud, exp, nbf, iat, sub, jti, extras)| ClaimsPlan {
            iss: Iss::Exact,
            aud,
            exp,
            nbf,
            iat,
            sub,
            jti,
            extras,
            pad: None,
            duplicate: None,
        },
    )
}

/// One change to a valid case; several combine.
#[derive(Clone, Debug)]
enum Mutation {
    /// Any published key with any algorithm it signs (short, mislabelled, bound to another
    /// alg, or not allowed by the setup).
    KeyAlg(usize, Alg),
    Alg(AlgPlan),
    Kid(KidPlan),
    Typ(Value),
    HeaderMember(String, Value),
    HeaderDuplicate(&'static str, bool),
    Iss(Iss),
    Aud(Aud),
    Exp(Time),
    Nbf(Time),
    Iat(Time),
    Sub(Value),
    Jti(Value),
    ClaimDuplicate(&'static str, bool),
    Pad(usize),
    Signature(SigPlan),
    Wrap(Wrap),
}

impl Mutation {
    fn apply(&self, case: &mut Case) {
        let (h, c) = (&mut case.header, &mut case.claims);
        match self.clone() {
            Mutation::KeyAlg(key, alg) => (case.key, case.alg) = (key, alg),
            Mutation::Alg(plan) => h.alg = plan,
            Mutation::Kid(plan) => h.kid = plan,
            Mutation::Typ(v) => h.typ = Some(v),
            Mutation::HeaderMember(name, v) => h.extras.push((name, v)),
            Mutation::HeaderDuplicate(name, same) => h.duplicate = Some((name, same)),
            Mutation::Iss(iss) => c.iss = iss,
            Mutation::Aud(aud) => c.aud = aud,
            Mutation::Exp(t) => c.exp = t,
            Mutation::Nbf(t) => c.nbf = t,
            Mutation::Iat(t) => c.iat = t,
            Mutation::Sub(v) => c.sub = Some(v),
            Mutation::Jti(v) => c.jti = Some(v),
            Mutation::ClaimDuplicate(name, same) => c.duplicate = Some((name, same)),
            Mutation::Pad(n) => c.pad = Some(n),
            Mutation::Signature(plan) => case.signature = plan,
            Mutation::Wrap(wrap) => case.wrap = wrap,
        }
    }
}

const ALG_NAMES: [&str; 17] = [
    "RS256", "RS384", "RS512", "PS256", "PS384", "PS512", "ES256", "ES384", "ES512", "EdDSA",
    "HS256", "none", "NONE", "rs256", "ES256K", "Ed25519", "",
];

fn mutation() -> impl Strategy<Value = Mutation> {
    let pair = |name: &'static str, values: Vec<Value>| {
        prop::sample::select(values).prop_map(move |v| Mutation::HeaderMember(name.to_owned(), v))
    };
    let not_a_string = || {
        prop::sample::select(vec![
            json!(42),
            Value::Null,
            json!(["user"]),
            json!({}),
            json!(true),
        ])
    };
    prop_oneof![
        (0..PUBLISHED.len())
            .prop_flat_map(|key| (
                Just(key),
                prop::sample::select(PUBLISHED[key].1.algs().to_vec())
            ))
            .prop_map(|(key, alg)| Mutation::KeyAlg(key, alg)),
        (prop::sample::select(ALG_NAMES.to_vec()), any::<bool>())
            .prop_map(|(to, resign)| Mutation::Alg(AlgPlan::Relabel { to, resign })),
        prop_oneof![
            Just(KidPlan::Absent),
            Just(KidPlan::Null),
            Just(KidPlan::Empty),
            Just(KidPlan::Number),
            Just(KidPlan::Unknown),
            (0..PUBLISHED.len()).prop_map(KidPlan::Other),
        ]
        .prop_map(Mutation::Kid),
        prop::sample::select(vec![json!(5), json!(["JWT"]), json!({}), json!(true)])
            .prop_map(Mutation::Typ),
        prop_oneof![
            pair(
                "jku",
                vec![
                    json!("https://evil.example/jwks.json"),
                    Value::Null,
                    json!(7)
                ]
            ),
            pair("x5u", vec![json!("https://evil.example/cert.pem")]),
            pair("crit", vec![json!(["exp"]), json!(["b64"]), json!([])]),
            pair("b64", vec![json!(false), json!("false")]),
            pair("cty", vec![json!(5)]),
            pair("x5t", vec![json!([1])]),
            pair("x5c", vec![json!("MIIBIjANBgkq"), json!([1])]),
            pair("jwk", vec![json!("embedded"), json!({"kty": "nope"})]),
            pair("nonce", vec![json!(7)]),
            pair("enc", vec![json!(1)]),
            pair("zip", vec![json!(1)]),
        ],
        (
            prop::sample::select(vec!["alg", "kid", "typ", "x-tenant"]),
            any::<bool>()
        )
            .prop_map(|(name, same)| Mutation::HeaderDuplicate(name, same)),
        prop_oneof![
            Just(Iss::Absent),
            Just(Iss::Null),
            Just(Iss::Other),
            Just(Iss::NoTrailingSlash),
            Just(Iss::UpperScheme),
            Just(Iss::Padded),
            Just(Iss::Empty),
            Just(Iss::Number),
            (any::<bool>(), any::<bool>()).prop_map(|(with_issuer, with_other)| Iss::Array {
                with_issuer,
                with_other
            }),
        ]
        .prop_map(Mutation::Iss),
        prop_oneof![
            Just(Aud::Other),
            prop::collection::vec(
                prop_oneof![
                    (0usize..2).prop_map(AudItem::Configured),
                    Just(AudItem::Other),
                    Just(AudItem::Number),
                    Just(AudItem::Null),
                ],
                0..4,
            )
            .prop_map(Aud::Array),
            Just(Aud::Absent),
            Just(Aud::Null),
            Just(Aud::EmptyString),
            Just(Aud::Number),
            Just(Aud::Object),
        ]
        .prop_map(Mutation::Aud),
        prop_oneof![
            (-2i64..=2).prop_map(|d| Time::Int(Anchor::ExpiryEdge, d)),
            (-2i64..=1, 1u8..4).prop_map(|(d, q)| Time::Frac(Anchor::ExpiryEdge, d, q)),
            (-86_400i64..0).prop_map(|d| Time::Int(Anchor::Now, d)),
            Just(Time::Absent),
            Just(Time::Null),
            (60i64..86_400).prop_map(|d| Time::Str(Anchor::Now, d)),
            Just(Time::Bool),
            Just(Time::Huge),
            (1i64..2_000_000_000).prop_map(Time::Negative),
        ]
        .prop_map(Mutation::Exp),
        prop_oneof![
            (-2i64..=2).prop_map(|d| Time::Int(Anchor::FutureEdge, d)),
            (-1i64..=1, 1u8..4).prop_map(|(d, q)| Time::Frac(Anchor::FutureEdge, d, q)),
            (60i64..86_400).prop_map(|d| Time::Int(Anchor::Now, d)),
            Just(Time::Null),
            (-600i64..0).prop_map(|d| Time::Str(Anchor::Now, d)),
            Just(Time::Bool),
            Just(Time::Huge),
            (1i64..2_000_000_000).prop_map(Time::Negative),
        ]
        .prop_map(Mutation::Nbf),
        prop_oneof![
            (-2i64..=2).prop_map(|d| Time::Int(Anchor::FutureEdge, d)),
            (-1i64..=1, 1u8..4).prop_map(|(d, q)| Time::Frac(Anchor::FutureEdge, d, q)),
            (60i64..86_400).prop_map(|d| Time::Int(Anchor::Now, d)),
            Just(Time::Null),
            (-600i64..0).prop_map(|d| Time::Str(Anchor::Now, d)),
            Just(Time::Bool),
            Just(Time::Huge),
            (1i64..2_000_000_000).prop_map(Time::Negative),
        ]
        .prop_map(Mutation::Iat),
        not_a_string().prop_map(Mutation::Sub),
        not_a_string().prop_map(Mutation::Jti),
        (
            prop::sample::select(vec!["sub", "exp", "iss", "aud", "scope", "iat", "role"]),
            any::<bool>(),
        )
            .prop_map(|(name, same)| Mutation::ClaimDuplicate(name, same)),
        (11_500usize..13_000).prop_map(Mutation::Pad),
        prop_oneof![
            Just(SigPlan::Der),
            Just(SigPlan::WrongKey),
            (0usize..5).prop_map(SigPlan::ForeignKey),
            (0..PUBLISHED.len()).prop_map(SigPlan::OtherPublished),
            Just(SigPlan::Swapped),
            Just(SigPlan::TamperedPayload),
            Just(SigPlan::Truncated),
            Just(SigPlan::Empty),
            Just(SigPlan::Extended),
            any::<usize>().prop_map(SigPlan::BitFlip),
            Just(SigPlan::Padded),
        ]
        .prop_map(Mutation::Signature),
        prop_oneof![Just(Wrap::Spaces), Just(Wrap::Newline)].prop_map(Mutation::Wrap),
    ]
}

// ---------------------------------------------------------------------------------------
// Rendering a case at a given second.

impl Time {
    fn render(&self, now: i64, leeway: i64) -> Option<Value> {
        let at = |anchor: Anchor, d: i64| match anchor {
            Anchor::Now => now + d,
            Anchor::ExpiryEdge => now - leeway + d,
            Anchor::FutureEdge => now + leeway + d,
        };
        match *self {
            Time::Absent => None,
            Time::Null => Some(Value::Null),
            Time::Int(a, d) => Some(json!(at(a, d))),
            Time::Frac(a, d, q) => Some(json!(at(a, d) as f64 + f64::from(q) / 4.0)),
            Time::Str(a, d) => Some(json!(at(a, d).to_string())),
            Time::Bool => Some(json!(true)),
            Time::Huge => Some(json!(2e19)),
            Time::Negative(d) => Some(json!(-d)),
        }
    }
}

/// JSON object text from members in order, duplicates allowed.
fn object_text(members: &[(String, Value)]) -> String {
    let body: Vec<String> = members
        .iter()
        .map(|(k, v)| format!("{}:{}", Value::from(k.as_str()), v))
        .collect();
    format!("{{{}}}", body.join(","))
}

fn push(members: &mut Vec<(String, Value)>, name: &str, value: Option<Value>) {
    if let Some(value) = value {
        members.push((name.to_owned(), value));
    }
}

/// Appends a second `name` member: the same value, or a different one.
fn push_duplicate(members: &mut Vec<(String, Value)>, name: &str, same: bool, now: i64) {
    let first = members
        .iter()
        .find(|(k, _)| k == name)
        .map(|(_, v)| v.clone());
    if first.is_none() {
        members.push((name.to_owned(), json!("user")));
    }
    let value = match (same, first) {
        (true, Some(v)) => v,
        (true, None) => json!("user"),
        _ => match name {
            "alg" => json!("none"),
            "kid" => json!("attacker"),
            "exp" => json!(now + 1_000_000),
            "iat" => json!(now),
            "iss" => json!(EVIL_ISSUER),
            "aud" => json!(OTHER_AUDIENCE),
            _ => json!("admin"),
        },
    };
    members.push((name.to_owned(), value));
}

impl Case {
    fn setup(&self) -> &'static Setup {
        &fixture().setups[self.setup]
    }

    fn claims(&self, now: i64) -> Vec<(String, Value)> {
        let fx = fixture();
        let setup = self.setup();
        let issuer = fx.issuer.issuer();
        let c = &self.claims;
        let configured = |i: usize| json!(setup.audiences[i % setup.audiences.len()]);
        let mut m = Vec::new();
        let iss = match &c.iss {
            Iss::Exact => Some(json!(issuer)),
            Iss::Absent => None,
            Iss::Null => Some(Value::Null),
            Iss::Other => Some(json!(EVIL_ISSUER)),
            Iss::NoTrailingSlash => Some(json!(issuer.trim_end_matches('/'))),
            Iss::UpperScheme => Some(json!(issuer.replacen("http", "HTTP", 1))),
            Iss::Padded => Some(json!(format!(" {issuer}"))),
            Iss::Empty => Some(json!("")),
            Iss::Number => Some(json!(42)),
            Iss::Array {
                with_issuer,
                with_other,
            } => {
                let mut items = Vec::new();
                if *with_other {
                    items.push(json!(EVIL_ISSUER));
                }
                if *with_issuer {
                    items.push(json!(issuer));
                }
                Some(Value::Array(items))
            }
        };
        push(&mut m, "iss", iss);
        push(&mut m, "sub", c.sub.clone());
        let aud = match &c.aud {
            Aud::Configured(i) => Some(configured(*i)),
            Aud::Other => Some(json!(OTHER_AUDIENCE)),
            Aud::Array(items) => Some(Value::Array(
                items
                    .iter()
                    .map(|item| match item {
                        AudItem::Configured(i) => configured(*i),
                        AudItem::Other => json!(OTHER_AUDIENCE),
                        AudItem::Number => json!(1),
                        AudItem::Null => Value::Null,
                    })
                    .collect(),
            )),
            Aud::Absent => None,
            Aud::Null => Some(Value::Null),
            Aud::EmptyString => Some(json!("")),
            Aud::Number => Some(json!(7)),
            Aud::Object => Some(json!({ "aud": DEFAULT_AUDIENCE })),
        };
        push(&mut m, "aud", aud);
        push(&mut m, "exp", c.exp.render(now, setup.leeway));
        push(&mut m, "nbf", c.nbf.render(now, setup.leeway));
        push(&mut m, "iat", c.iat.render(now, setup.leeway));
        push(&mut m, "jti", c.jti.clone());
        m.extend(c.extras.iter().cloned());
        if let Some(n) = c.pad {
            m.push(("pad".to_owned(), json!("x".repeat(n))));
        }
        if let Some((name, same)) = c.duplicate {
            push_duplicate(&mut m, name, same, now);
        }
        m
    }

    fn header(&self, now: i64) -> Vec<(String, Value)> {
        let h = &self.header;
        let mut m = Vec::new();
        let alg = match &h.alg {
            AlgPlan::Keep => self.alg.as_str(),
            AlgPlan::Relabel { to, .. } => to,
        };
        m.push(("alg".to_owned(), json!(alg)));
        push(&mut m, "typ", h.typ.clone());
        let kid = match &h.kid {
            KidPlan::Keep => Some(json!(PUBLISHED[self.key].0)),
            KidPlan::Absent => None,
            KidPlan::Null => Some(Value::Null),
            KidPlan::Empty => Some(json!("")),
            KidPlan::Number => Some(json!(7)),
            KidPlan::Unknown => Some(json!("no-such-kid")),
            KidPlan::Other(i) => Some(json!(PUBLISHED[*i].0)),
        };
        push(&mut m, "kid", kid);
        m.extend(h.extras.iter().cloned());
        if let Some((name, same)) = h.duplicate {
            push_duplicate(&mut m, name, same, now);
        }
        m
    }

    /// The token as sent, for the second `now`.
    fn render(&self, now: i64) -> String {
        let fx = fixture();
        let key = &fx.keys[self.key];
        let header = object_text(&self.header(now));
        let claims = self.claims(now);
        let attacker_of_same_material = || {
            let i = match PUBLISHED[self.key].1 {
                Material::Rsa | Material::Rsa1024 => 0,
                Material::P256 => 1,
                Material::P384 => 2,
                Material::P521 => 3,
                Material::Ed25519 => 4,
            };
            &fx.attackers[i]
        };
        let signer = match &self.signature {
            SigPlan::WrongKey => attacker_of_same_material(),
            SigPlan::ForeignKey(i) => &fx.attackers[*i],
            SigPlan::OtherPublished(i) => &fx.keys[*i],
            _ => key,
        };
        // The header's alg when re-signing, else the case's; one the signer can make.
        let signs =
            |a: &Alg| signer.supports(*a) && !(*a == Alg::PS512 && signer.rsa_bits() == Some(1024));
        let wanted = match self.header.alg {
            AlgPlan::Keep => Some(self.alg),
            AlgPlan::Relabel { to, resign: true } => Alg::from_name(to),
            AlgPlan::Relabel { resign: false, .. } => None,
        };
        let signing_alg = wanted
            .filter(signs)
            .or(Some(self.alg).filter(signs))
            .or_else(|| Alg::ALL.iter().copied().find(signs))
            .unwrap();
        let builder = TokenBuilder::new(key)
            .raw_header(header)
            .raw_payload(object_text(&claims))
            .signing_key(signer)
            .signing_alg(signing_alg);
        let with_claim = |name: &str, value: Value| {
            let mut other = claims.clone();
            other.push((name.to_owned(), value));
            object_text(&other)
        };
        let token = match &self.signature {
            SigPlan::Good
            | SigPlan::WrongKey
            | SigPlan::ForeignKey(_)
            | SigPlan::OtherPublished(_) => builder.build(),
            SigPlan::Der if PUBLISHED[self.key].1.algs()[0].is_ecdsa() => {
                builder.der_signature().build()
            }
            SigPlan::Der => builder.build(),
            SigPlan::Swapped => {
                let good = builder.clone().build();
                let other = builder
                    .raw_payload(with_claim("nonce", json!("swapped")))
                    .build();
                splice(&good, &good, &other)
            }
            SigPlan::TamperedPayload => {
                let good = builder.build();
                let tampered = format!(
                    "x.{}.x",
                    URL_SAFE_NO_PAD.encode(with_claim("role", json!("admin")))
                );
                splice(&good, &tampered, &good)
            }
            SigPlan::Truncated => edit_signature(&builder.build(), |s| {
                s.truncate(s.len() / 2);
            }),
            SigPlan::Empty => edit_signature(&builder.build(), Vec::clear),
            SigPlan::Extended => edit_signature(&builder.build(), |s| s.push(0)),
            SigPlan::BitFlip(at) => edit_signature(&builder.build(), |s| {
                if !s.is_empty() {
                    let i = at % s.len();
                    s[i] ^= 1 << (at % 8);
                }
            }),
            SigPlan::Padded => format!("{}==", builder.build()),
        };
        match self.wrap {
            Wrap::None => token,
            Wrap::Spaces => format!("  {token} "),
            Wrap::Newline => format!("{token}\r\n"),
        }
    }
}

/// Header and signature of `a`, payload of `b`, signature of `c`... as `a.h + b.p + c.s`.
fn splice(a: &str, b: &str, c: &str) -> String {
    let part = |t: &str, i: usize| t.split('.').nth(i).unwrap().to_owned();
    format!("{}.{}.{}", part(a, 0), part(b, 1), part(c, 2))
}

fn edit_signature(token: &str, edit: impl FnOnce(&mut Vec<u8>)) -> String {
    let (input, sig) = token.rsplit_once('.').unwrap();
    let mut sig = URL_SAFE_NO_PAD.decode(sig).unwrap();
    edit(&mut sig);
    format!("{input}.{}", URL_SAFE_NO_PAD.encode(sig))
}

// ---------------------------------------------------------------------------------------
// Inspecting a token (what the exception rules look at).

/// A token's header and payload members in order, duplicates kept.
struct Inspected {
    raw: String,
    header: Option<Vec<(String, Value)>>,
    payload: Option<Vec<(String, Value)>>,
}

struct Members(Vec<(String, Value)>);

impl<'de> Deserialize<'de> for Members {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct V;
        impl<'de> Visitor<'de> for V {
            type Value = Members;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a JSON object")
            }
            fn visit_map<A: MapAccess<'de>>(self, mut access: A) -> Result<Members, A::Error> {
                let mut members = Vec::new();
                while let Some(entry) = access.next_entry::<String, Value>()? {
                    members.push(entry);
                }
                Ok(Members(members))
            }
        }
        deserializer.deserialize_map(V)
    }
}

fn inspect(token: &str) -> Inspected {
    let segments: Vec<&str> = token.trim().split('.').collect();
    let members = |i: usize| {
        let bytes = URL_SAFE_NO_PAD.decode(segments.get(i)?).ok()?;
        serde_json::from_slice::<Members>(&bytes).ok().map(|m| m.0)
    };
    Inspected {
        raw: token.to_owned(),
        header: members(0),
        payload: members(1),
    }
}

/// The first member with this name.
fn member<'a>(members: &'a Option<Vec<(String, Value)>>, name: &str) -> Option<&'a Value> {
    members
        .as_deref()?
        .iter()
        .find(|(k, _)| k == name)
        .map(|(_, v)| v)
}

fn number(members: &Option<Vec<(String, Value)>>, name: &str) -> Option<f64> {
    member(members, name).and_then(Value::as_f64)
}

fn has_duplicates(members: &Option<Vec<(String, Value)>>) -> bool {
    let Some(members) = members else {
        return false;
    };
    let mut names: Vec<&str> = members.iter().map(|(k, _)| k.as_str()).collect();
    names.sort_unstable();
    names.windows(2).any(|w| w[0] == w[1])
}

impl fmt::Display for Inspected {
    /// Header and claims, long values shortened: small enough for a failure message.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let show = |members: &Option<Vec<(String, Value)>>| match members {
            None => "(not a JSON object)".to_owned(),
            Some(members) => {
                let shown: Vec<String> = members
                    .iter()
                    .map(|(k, v)| {
                        let v = v.to_string();
                        let v = if v.len() > 80 {
                            let head: String = v.chars().take(60).collect();
                            format!("{head}…({} bytes)", v.len())
                        } else {
                            v
                        };
                        format!("{k:?}: {v}")
                    })
                    .collect();
                format!("{{{}}}", shown.join(", "))
            }
        };
        writeln!(f, "  header: {}", show(&self.header))?;
        writeln!(f, "  claims: {}", show(&self.payload))?;
        write!(f, "  length: {} bytes", self.raw.len())
    }
}

// ---------------------------------------------------------------------------------------
// The two verdicts.

/// When the verdicts were taken: the whole second both verifiers saw, and the leeway.
struct Ctx {
    now: i64,
    leeway: i64,
    /// jsonwebtoken's verdict on the token without surrounding whitespace, when it had some.
    theirs_on_trimmed: Option<Result<(), ErrorKind>>,
}

fn unix_now() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_secs() as i64
}

fn jsonwebtoken_alg(alg: Algorithm) -> Option<jsonwebtoken::Algorithm> {
    use jsonwebtoken::Algorithm as J;
    Some(match alg {
        Algorithm::RS256 => J::RS256,
        Algorithm::RS384 => J::RS384,
        Algorithm::RS512 => J::RS512,
        Algorithm::PS256 => J::PS256,
        Algorithm::PS384 => J::PS384,
        Algorithm::PS512 => J::PS512,
        Algorithm::ES256 => J::ES256,
        Algorithm::ES384 => J::ES384,
        Algorithm::EdDSA => J::EdDSA,
        // jsonwebtoken 12 has no ES512 (nor, by definition, any algorithm added later).
        _ => return None,
    })
}

/// jsonwebtoken's verdict under the same settings as `setup`. The key is the published JWK
/// the header's `kid` names; a token without a usable `kid` gets the key it was made for
/// (as an application with one known key would do). No JWK for the kid: refused.
fn oracle(token: &str, case: &Case) -> Result<(), ErrorKind> {
    let fx = fixture();
    let setup = case.setup();
    let header = inspect(token).header;
    let jwk = match member(&header, "kid") {
        Some(Value::String(kid)) if !kid.is_empty() => match published_jwk(kid) {
            Some(jwk) => jwk,
            None => return Err(ErrorKind::InvalidKeyFormat),
        },
        _ => &fx.jwks[case.key],
    };
    let jwk: Jwk = serde_json::from_value(jwk.clone()).expect("jsonwebtoken reads our JWKs");
    let key = DecodingKey::from_jwk(&jwk).expect("jsonwebtoken takes our JWKs");
    let family = key.family();
    let family = family.algorithms();
    let mut validation = Validation::new(family[0]);
    validation.algorithms = setup
        .allowed
        .iter()
        .filter_map(|&a| jsonwebtoken_alg(a))
        .filter(|a| family.contains(a))
        .collect();
    validation.leeway = setup.leeway as u64;
    validation.validate_exp = true;
    validation.validate_nbf = true;
    validation.validate_aud = true;
    validation.reject_tokens_expiring_in_less_than = 0;
    validation.set_issuer(&[fx.issuer.issuer()]);
    validation.set_audience(setup.audiences);
    validation.set_required_spec_claims(&["exp", "iss", "aud"]);
    jsonwebtoken::decode::<Map<String, Value>>(token, &key, &validation)
        .map(drop)
        .map_err(|e| e.into_kind())
}

struct Verdicts {
    token: Inspected,
    ctx: Ctx,
    ours: Result<(), ErrorCode>,
    theirs: Result<(), ErrorKind>,
}

/// Renders the case and takes both verdicts within one second of the clock (the time claims
/// are relative to it), rendering again if the second turned meanwhile.
fn judge(case: &Case) -> Verdicts {
    let setup = case.setup();
    for _ in 0..10 {
        let now = unix_now();
        let token = case.render(now);
        let ours = setup
            .verifier
            .verify_access_token(&token)
            .map(drop)
            .map_err(|e| e.code());
        let theirs = oracle(&token, case);
        let theirs_on_trimmed = (token.trim() != token).then(|| oracle(token.trim(), case));
        if unix_now() == now {
            return Verdicts {
                token: inspect(&token),
                ctx: Ctx {
                    now,
                    leeway: setup.leeway,
                    theirs_on_trimmed,
                },
                ours,
                theirs,
            };
        }
    }
    panic!("the clock turned a second during each of 10 attempts");
}

#[derive(Debug)]
enum Outcome {
    BothAccept,
    BothRefuse,
    Stricter(Vec<Stricter>),
    Lenient(Vec<Lenient>),
}

/// Compares the verdicts: agreement, or a disagreement some named rule explains, or an error
/// message showing the token.
fn compare(v: &Verdicts) -> Result<Outcome, String> {
    match (&v.ours, &v.theirs) {
        (Ok(()), Ok(())) => Ok(Outcome::BothAccept),
        (Err(_), Err(_)) => Ok(Outcome::BothRefuse),
        (Err(code), Ok(())) => {
            let rules: Vec<Stricter> = Stricter::ALL
                .into_iter()
                .filter(|r| r.explains(&v.token, &v.ctx, *code))
                .collect();
            if rules.is_empty() {
                Err(format!(
                    "we refuse ({}) what jsonwebtoken accepts, and no Stricter rule explains it\n{}\n  now {} leeway {}",
                    code.as_str(),
                    v.token,
                    v.ctx.now,
                    v.ctx.leeway
                ))
            } else {
                Ok(Outcome::Stricter(rules))
            }
        }
        (Ok(()), Err(kind)) => {
            let rules: Vec<Lenient> = Lenient::ALL
                .into_iter()
                .filter(|r| r.explains(&v.token, &v.ctx, kind))
                .collect();
            if rules.is_empty() {
                Err(format!(
                    "POTENTIAL SECURITY BUG: we accept what jsonwebtoken refuses ({kind:?}), and no Lenient rule explains it\n{}\n  now {} leeway {}",
                    v.token, v.ctx.now, v.ctx.leeway
                ))
            } else {
                Ok(Outcome::Lenient(rules))
            }
        }
    }
}

// ---------------------------------------------------------------------------------------
// Tests.

fn runner_config() -> ProptestConfig {
    ProptestConfig {
        cases: CASES,
        // Failures are pinned as explicit cases in `every_named_exception_is_a_real_disagreement`
        // or fixed, not kept in files.
        failure_persistence: None,
        rng_algorithm: RngAlgorithm::XorShift,
        max_shrink_iters: 256,
        ..ProptestConfig::default()
    }
}

#[test]
fn our_verdict_matches_jsonwebtoken_on_random_tokens() {
    let stats: Mutex<BTreeMap<String, usize>> = Mutex::default();
    let mut runner = TestRunner::new(runner_config());
    let result = runner.run(&case_strategy(), |case| {
        let verdicts = judge(&case);
        let outcome = compare(&verdicts).map_err(TestCaseError::fail)?;
        let mut stats = stats.lock().unwrap();
        let mut count = |name: String| *stats.entry(name).or_default() += 1;
        match outcome {
            Outcome::BothAccept => count("both accept".into()),
            Outcome::BothRefuse => count("both refuse".into()),
            Outcome::Stricter(rules) => {
                rules.iter().for_each(|r| count(format!("stricter: {r:?}")))
            }
            Outcome::Lenient(rules) => rules.iter().for_each(|r| count(format!("lenient: {r:?}"))),
        }
        Ok(())
    });
    let stats = stats.into_inner().unwrap();
    eprintln!("oracle verdicts over {CASES} cases: {stats:#?}");
    if let Err(e) = result {
        panic!("{e}");
    }
    // Not vacuous: both sides accept and refuse a fair share of the cases.
    let share = |k: &str| stats.get(k).copied().unwrap_or(0);
    assert!(share("both accept") >= CASES as usize / 10, "{stats:?}");
    assert!(share("both refuse") >= CASES as usize / 10, "{stats:?}");
}

/// A case for `key` (index into [`PUBLISHED`]) signed with its first algorithm, every
/// claim plausible and valid: both verifiers accept it.
fn valid_case(key: usize) -> Case {
    Case {
        setup: 0,
        key,
        alg: PUBLISHED[key].1.algs()[0],
        header: HeaderPlan {
            alg: AlgPlan::Keep,
            kid: KidPlan::Keep,
            typ: Some(json!("JWT")),
            extras: Vec::new(),
            duplicate: None,
        },
        claims: ClaimsPlan {
            iss: Iss::Exact,
            aud: Aud::Configured(0),
            exp: Time::Int(Anchor::Now, 300),
            nbf: Time::Int(Anchor::Now, -10),
            iat: Time::Int(Anchor::Now, -10),
            sub: Some(json!("user-123")),
            jti: Some(json!("id-1")),
            extras: vec![("scope".to_owned(), json!("read write"))],
            pad: None,
            duplicate: None,
        },
        signature: SigPlan::Good,
        wrap: Wrap::None,
        mutations: Vec::new(),
    }
}

const ED25519: usize = 8;

/// Waits until the current second's fraction is in `range` (for fractional time claims,
/// whose verdict under our sub-second clock depends on it).
fn wait_for_fraction(range: std::ops::Range<f64>) {
    loop {
        let since = SystemTime::now().duration_since(UNIX_EPOCH).unwrap();
        let fraction = f64::from(since.subsec_millis()) / 1000.0;
        if range.contains(&fraction) {
            return;
        }
        std::thread::sleep(Duration::from_millis(10));
    }
}

#[test]
fn valid_tokens_of_every_algorithm_pass_both() {
    for (key, &(kid, material, jwk_alg)) in PUBLISHED.iter().enumerate() {
        if material == Material::Rsa1024 {
            continue;
        }
        for &alg in material.algs() {
            if jwk_alg.is_some_and(|a| a != alg.as_str()) {
                continue;
            }
            let case = Case {
                alg,
                ..valid_case(key)
            };
            let v = judge(&case);
            assert_eq!(v.ours, Ok(()), "{kid} {alg}:\n{}", v.token);
            match alg {
                Alg::ES512 => assert!(matches!(v.theirs, Err(ErrorKind::Json(_)))),
                _ => assert!(v.theirs.is_ok(), "{kid} {alg}: {:?}\n{}", v.theirs, v.token),
            }
        }
    }
}

#[test]
fn a_short_rsa_key_is_refused_by_both() {
    let v = judge(&valid_case(10));
    assert_eq!(v.ours, Err(ErrorCode::InvalidToken));
    assert!(v.theirs.is_err());
}

#[test]
fn every_named_exception_is_a_real_disagreement() {
    let claims = |edit: fn(&mut ClaimsPlan)| {
        let mut case = valid_case(ED25519);
        edit(&mut case.claims);
        case
    };
    let header = |edit: fn(&mut HeaderPlan)| {
        let mut case = valid_case(ED25519);
        edit(&mut case.header);
        case
    };
    let stricter: Vec<(Stricter, Case)> = vec![
        (Stricter::TokenTooLarge, claims(|c| c.pad = Some(13_000))),
        (
            Stricter::DuplicateMembers,
            claims(|c| c.duplicate = Some(("scope", false))),
        ),
        (
            Stricter::DuplicateMembers,
            header(|h| h.duplicate = Some(("x-tenant", true))),
        ),
        (
            Stricter::ForbiddenHeader,
            header(|h| h.extras = vec![("jku".into(), json!("https://evil.example/jwks.json"))]),
        ),
        (
            Stricter::ForbiddenHeader,
            header(|h| h.extras = vec![("x5u".into(), json!("https://evil.example/c.pem"))]),
        ),
        (
            Stricter::ForbiddenHeader,
            header(|h| {
                h.extras = vec![("crit".into(), json!(["b64"])), ("b64".into(), json!(true))]
            }),
        ),
        (Stricter::RequiredKid, header(|h| h.kid = KidPlan::Absent)),
        (Stricter::RequiredKid, header(|h| h.kid = KidPlan::Empty)),
        (
            Stricter::JwkAlgBinding,
            Case {
                alg: Alg::PS256,
                ..valid_case(1) // rsa-rs256
            },
        ),
        (Stricter::JwkAlgBinding, valid_case(4)), // p256 labelled ES384
        (
            Stricter::IatInFuture,
            claims(|c| c.iat = Time::Int(Anchor::Now, 3600)),
        ),
        (
            Stricter::IatNotNumber,
            claims(|c| c.iat = Time::Str(Anchor::Now, -10)),
        ),
        (
            Stricter::SubOrJtiNotString,
            claims(|c| c.sub = Some(json!(42))),
        ),
        (
            Stricter::SubOrJtiNotString,
            claims(|c| c.jti = Some(Value::Null)),
        ),
        (
            Stricter::IssuerNotString,
            claims(|c| {
                c.iss = Iss::Array {
                    with_issuer: true,
                    with_other: false,
                }
            }),
        ),
        (
            Stricter::ExpiryInstant,
            claims(|c| c.exp = Time::Int(Anchor::ExpiryEdge, 0)),
        ),
    ];
    for (rule, case) in &stricter {
        let v = judge(case);
        let outcome = compare(&v).unwrap_or_else(|e| panic!("{rule:?}: {e}"));
        assert!(
            matches!(&outcome, Outcome::Stricter(rules) if rules.contains(rule)),
            "{rule:?}: {outcome:?} (ours {:?}, theirs {:?})\n{}",
            v.ours,
            v.theirs,
            v.token
        );
    }

    let lenient: Vec<(Lenient, Case)> = vec![
        (
            Lenient::SurroundingWhitespace,
            Case {
                wrap: Wrap::Spaces,
                ..valid_case(ED25519)
            },
        ),
        (
            Lenient::SurroundingWhitespace,
            Case {
                wrap: Wrap::Newline,
                ..valid_case(ED25519)
            },
        ),
        (
            Lenient::IgnoredHeaderMember,
            header(|h| h.typ = Some(json!(5))),
        ),
        (
            Lenient::IgnoredHeaderMember,
            header(|h| h.extras = vec![("b64".into(), json!(false))]),
        ),
        (
            Lenient::IgnoredHeaderMember,
            header(|h| h.extras = vec![("jwk".into(), json!("embedded"))]),
        ),
        (Lenient::TimeOutsideU64, claims(|c| c.exp = Time::Huge)),
        (
            Lenient::TimeOutsideU64,
            claims(|c| c.nbf = Time::Negative(1)),
        ),
        (Lenient::NullNbf, claims(|c| c.nbf = Time::Null)),
        (Lenient::NoEs512InOracle, valid_case(7)),
    ];
    for (rule, case) in &lenient {
        let v = judge(case);
        let outcome = compare(&v).unwrap_or_else(|e| panic!("{rule:?}: {e}"));
        assert!(
            matches!(&outcome, Outcome::Lenient(rules) if rules.contains(rule)),
            "{rule:?}: {outcome:?} (ours {:?}, theirs {:?})\n{}",
            v.ours,
            v.theirs,
            v.token
        );
    }

    // The sub-second ones: our clock has fractions, jsonwebtoken's has whole seconds, so
    // the outcome depends on when in the second the token is judged. Every outcome must
    // still be explained; the disagreement must show within a few tries (a busy machine can
    // push one past its window).
    let sub_second = |quarters: u8, window: std::ops::Range<f64>, shows: fn(&Outcome) -> bool| {
        let case = claims_with_nbf_quarters(quarters);
        (0..5).any(|_| {
            wait_for_fraction(window.clone());
            let v = judge(&case);
            shows(&compare(&v).unwrap_or_else(|e| panic!("{e}")))
        })
    };
    assert!(sub_second(1, 0.0..0.15, |o| {
        matches!(o, Outcome::Stricter(r) if r.contains(&Stricter::NbfFraction))
    }));
    assert!(sub_second(3, 0.8..0.9, |o| {
        matches!(o, Outcome::Lenient(r) if r.contains(&Lenient::NbfRounding))
    }));
}

/// A valid Ed25519 case whose `nbf` is now + leeway + quarters/4.
fn claims_with_nbf_quarters(quarters: u8) -> Case {
    let mut case = valid_case(ED25519);
    case.claims.nbf = Time::Frac(Anchor::FutureEdge, 0, quarters);
    case
}
