//! Property tests for every parser that sees attacker-controlled input: the token parser,
//! the claims policy (also through a warm verifier over really signed tokens), the key-set
//! parser, the `Authorization` header parser and the `WWW-Authenticate` writer.
//!
//! Each property runs 10,000 cases. Where the outcome is specified exactly (docs/security.md,
//! docs/jwks-lifecycle.md, docs/tower.md, docs/errors.md) the test computes it with an independent model and compares codes (and messages);
//! elsewhere it checks that the parser never panics and ends in a specified error.
//!
//! Hostile inputs found here are pinned as plain `#[test]` regressions at the end.

use std::collections::{BTreeSet, HashSet};
use std::sync::OnceLock;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine as _;
use http::header::{HeaderMap, HeaderValue, AUTHORIZATION};
use proptest::prelude::*;
use proptest::test_runner::{Config as ProptestConfig, RngAlgorithm};
use serde_json::{json, Map, Value};
use verifier_core::bearer::{bearer_from_headers, bearer_from_values, bearer_token, ErrorResponse};
use verifier_core::{fuzzing, Algorithm, AsyncJwtVerifier, AuthConfig, AuthError, ErrorCode};
use verifier_testkit::{Alg, TestIssuer, TestKey, TokenBuilder};

const CASES: u32 = 10_000;

fn config() -> ProptestConfig {
    ProptestConfig {
        cases: CASES,
        // Regressions are pinned as explicit tests below, not in files.
        failure_persistence: None,
        // Unoptimized test builds spend most of their time in the ChaCha generator;
        // XorShift is plenty for input generation and keeps 10,000 cases cheap.
        rng_algorithm: RngAlgorithm::XorShift,
        ..ProptestConfig::default()
    }
}

// ---------------------------------------------------------------------------------------
// Shared checks.

/// Every code docs/errors.md lists.
fn spec_codes() -> HashSet<&'static str> {
    [
        "missing_token",
        "malformed_token",
        "forbidden_header",
        "disallowed_alg",
        "missing_kid",
        "key_not_found",
        "invalid_signature",
        "token_expired",
        "token_not_yet_valid",
        "invalid_issuer",
        "invalid_audience",
        "missing_claim",
        "invalid_token",
        "insufficient_scope",
        "insufficient_permissions",
        "jwks_fetch_failed",
        "jwks_error",
        "invalid_request",
        "discovery_failed",
        "discovery_error",
    ]
    .into_iter()
    .collect()
}

/// The error is a code of docs/errors.md with its status and one of its specified messages, and
/// (for 401/403) a challenge that is a valid header value.
fn assert_spec_error(err: &AuthError) {
    let code = err.code().as_str();
    assert!(spec_codes().contains(code), "unknown code {code}");
    let status = match code {
        "insufficient_scope" | "insufficient_permissions" => 403,
        "jwks_fetch_failed" | "jwks_error" | "discovery_failed" | "discovery_error" => 503,
        "invalid_request" => 400,
        _ => 401,
    };
    assert_eq!(err.status().as_u16(), status, "{err:?}");
    let message = err.message();
    let ok = match err.code() {
        ErrorCode::MalformedToken => {
            ["Malformed token", "Missing alg header", "Token too large"].contains(&message)
        }
        ErrorCode::MissingClaim => {
            message.starts_with("Token is missing the \"") && message.ends_with("\" claim")
        }
        c => message == c.default_message(),
    };
    assert!(ok, "unexpected message {message:?} for {code}");
    if status != 503 {
        assert!(err.www_authenticate(Some("api")).is_some());
        assert!(err.www_authenticate(None).is_some());
    }
}

fn b64(bytes: &[u8]) -> String {
    URL_SAFE_NO_PAD.encode(bytes)
}

fn now() -> f64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_secs_f64()
}

// ---------------------------------------------------------------------------------------
// JSON strategies.

/// Characters that matter to JSON, header quoting and whitespace handling, plus any.
fn arb_char() -> impl Strategy<Value = char> {
    prop_oneof![
        4 => prop::char::range('a', 'z'),
        2 => any::<char>(),
        2 => prop::sample::select(vec![
            '"', '\\', '\u{0}', '\u{1f}', '\u{7f}', '\u{85}', '\u{2028}', 'é', ' ', '\t', '\r',
            '\n', '=', ',', ';', '.',
        ]),
    ]
}

fn arb_string() -> impl Strategy<Value = String> {
    prop::collection::vec(arb_char(), 0..10).prop_map(String::from_iter)
}

fn arb_number() -> impl Strategy<Value = Value> {
    prop_oneof![
        any::<i64>().prop_map(Value::from),
        any::<u64>().prop_map(Value::from),
        any::<f64>()
            .prop_filter("finite", |f| f.is_finite())
            .prop_map(Value::from),
    ]
}

fn arb_json() -> impl Strategy<Value = Value> {
    let leaf = prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::from),
        arb_number(),
        arb_string().prop_map(Value::from),
    ];
    leaf.prop_recursive(2, 12, 4, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..5).prop_map(Value::Array),
            prop::collection::vec((arb_string(), inner), 0..5)
                .prop_map(|kv| Value::Object(kv.into_iter().collect())),
        ]
    })
}

// ---------------------------------------------------------------------------------------
// 1. Token parser (docs/security.md, pipeline steps 1-7).

const PARSE_CODES: [ErrorCode; 5] = [
    ErrorCode::MissingToken,
    ErrorCode::MalformedToken,
    ErrorCode::ForbiddenHeader,
    ErrorCode::DisallowedAlg,
    ErrorCode::MissingKid,
];

const ALLOWED: [Algorithm; 2] = [Algorithm::RS256, Algorithm::ES256];

/// How a JSON segment is written.
#[derive(Clone, Debug)]
enum Segment {
    /// Members written in order (duplicates possible); `escape` writes the first
    /// character of every key as a `\uXXXX` escape.
    Members {
        members: Vec<(String, Value)>,
        escape: bool,
    },
    /// Raw bytes (not an object, or not JSON).
    Raw(Vec<u8>),
}

impl Segment {
    fn bytes(&self) -> Vec<u8> {
        match self {
            Segment::Raw(bytes) => bytes.clone(),
            Segment::Members { members, escape } => {
                let mut out = String::from("{");
                for (i, (key, value)) in members.iter().enumerate() {
                    if i > 0 {
                        out.push(',');
                    }
                    let quoted = serde_json::to_string(key).unwrap();
                    match key.chars().next() {
                        Some(c) if *escape && c.is_ascii_alphanumeric() => {
                            out.push_str(&format!("\"\\u{:04x}{}", c as u32, &quoted[2..]));
                        }
                        _ => out.push_str(&quoted),
                    }
                    out.push(':');
                    out.push_str(&serde_json::to_string(value).unwrap());
                }
                out.push('}');
                out.into_bytes()
            }
        }
    }

    /// The decoded object, `None` when not an object or with duplicate members.
    fn object(&self) -> Option<Map<String, Value>> {
        match self {
            // `arb_json` output has no duplicate members; random bytes practically never
            // spell an object with duplicates.
            Segment::Raw(bytes) => serde_json::from_slice::<Value>(bytes)
                .ok()?
                .as_object()
                .cloned(),
            Segment::Members { members, .. } => {
                let mut map = Map::new();
                for (k, v) in members {
                    if map.insert(k.clone(), v.clone()).is_some() {
                        return None;
                    }
                }
                Some(map)
            }
        }
    }
}

fn header_value_for(name: &str) -> BoxedStrategy<Value> {
    match name {
        "alg" => prop_oneof![
            4 => prop::sample::select(vec![
                "RS256", "ES256", "RS384", "PS256", "EdDSA", "HS256", "none", "None", "NONE",
                "rs256", "RS256 ", " ES256", "", "RS256\u{0}",
            ])
            .prop_map(Value::from),
            1 => arb_json(),
        ]
        .boxed(),
        "kid" => prop_oneof![
            4 => "[a-z0-9-]{0,6}".prop_map(Value::from),
            1 => arb_json(),
        ]
        .boxed(),
        _ => arb_json().boxed(),
    }
}

fn arb_header() -> impl Strategy<Value = Segment> {
    let member = prop_oneof![
        3 => header_value_for("alg").prop_map(|v| ("alg".to_owned(), v)),
        3 => header_value_for("kid").prop_map(|v| ("kid".to_owned(), v)),
        4 => (
            prop::sample::select(vec![
                "typ", "jku", "x5u", "crit", "jwk", "x5c", "cty", "b64", "zip", "x",
            ]),
            arb_json(),
        )
            .prop_map(|(k, v)| (k.to_owned(), v)),
    ];
    prop_oneof![
        8 => (prop::collection::vec(member, 0..6), prop::bool::weighted(0.1))
            .prop_map(|(members, escape)| Segment::Members { members, escape }),
        // The common near-valid shape: alg and kid first.
        8 => (header_value_for("alg"), header_value_for("kid"), prop::collection::vec((prop::sample::select(vec!["typ", "jwk", "x5c", "jku", "crit", "alg", "kid"]), arb_json()), 0..2))
            .prop_map(|(alg, kid, extra)| {
                let mut members = vec![("alg".to_owned(), alg), ("kid".to_owned(), kid)];
                members.extend(extra.into_iter().map(|(k, v)| (k.to_owned(), v)));
                Segment::Members { members, escape: false }
            }),
        1 => arb_json().prop_map(|v| Segment::Raw(serde_json::to_vec(&v).unwrap())),
        1 => prop::collection::vec(any::<u8>(), 0..24).prop_map(Segment::Raw),
    ]
}

fn arb_payload() -> impl Strategy<Value = Segment> {
    prop_oneof![
        6 => prop::collection::vec(
            (prop::sample::select(vec!["exp", "iss", "aud", "sub", "x"]), arb_json()),
            0..5,
        )
        .prop_map(|m| Segment::Members {
            members: m.into_iter().map(|(k, v)| (k.to_owned(), v)).collect(),
            escape: false,
        }),
        1 => arb_json().prop_map(|v| Segment::Raw(serde_json::to_vec(&v).unwrap())),
        1 => prop::collection::vec(any::<u8>(), 0..24).prop_map(Segment::Raw),
    ]
}

/// The outcome of pipeline steps 1-7 (docs/security.md), computed independently of the parser.
fn model_parse(
    header: &Segment,
    payload: &Segment,
    token_len: usize,
    max_bytes: usize,
) -> Result<(), (ErrorCode, &'static str)> {
    let malformed = (ErrorCode::MalformedToken, "Malformed token");
    if token_len > max_bytes {
        return Err((ErrorCode::MalformedToken, "Token too large"));
    }
    if header.bytes().is_empty() || payload.bytes().is_empty() {
        return Err(malformed);
    }
    let header = header.object().ok_or(malformed)?;
    if ["jku", "x5u", "crit"]
        .iter()
        .any(|k| header.contains_key(*k))
    {
        return Err((
            ErrorCode::ForbiddenHeader,
            "Forbidden token header parameter",
        ));
    }
    let alg = match header.get("alg") {
        Some(Value::String(a)) if !a.is_empty() => a.as_str(),
        _ => return Err((ErrorCode::MalformedToken, "Missing alg header")),
    };
    if !ALLOWED.iter().any(|a| a.as_str() == alg) {
        return Err((ErrorCode::DisallowedAlg, "Disallowed signing algorithm"));
    }
    match header.get("kid") {
        Some(Value::String(k)) if !k.is_empty() => {}
        _ => return Err((ErrorCode::MissingKid, "Missing kid header")),
    }
    payload.object().ok_or(malformed)?;
    Ok(())
}

/// Edits that break the compact serialization itself.
#[derive(Clone, Debug)]
enum Mutation {
    None,
    /// Surrounding ASCII whitespace: must not change the outcome.
    Surround(&'static str, &'static str),
    Insert(usize, u8),
    Remove(usize),
    Replace(usize, u8),
    Truncate(usize),
}

fn arb_mutation() -> impl Strategy<Value = Mutation> {
    prop_oneof![
        6 => Just(Mutation::None),
        2 => (
            prop::sample::select(vec!["", " ", "\t", "\r\n", " \x0c"]),
            prop::sample::select(vec!["", " ", "\n", "\t ", "\r"]),
        )
            .prop_map(|(a, b)| Mutation::Surround(a, b)),
        1 => (any::<usize>(), prop::sample::select(b".=+/ \t\0\xff-_A".to_vec()))
            .prop_map(|(i, b)| Mutation::Insert(i, b)),
        1 => any::<usize>().prop_map(Mutation::Remove),
        1 => (any::<usize>(), any::<u8>()).prop_map(|(i, b)| Mutation::Replace(i, b)),
        1 => any::<usize>().prop_map(Mutation::Truncate),
    ]
}

fn apply(token: &[u8], mutation: &Mutation) -> Vec<u8> {
    let mut t = token.to_vec();
    let at = |i: usize, len: usize| if len == 0 { 0 } else { i % len };
    match *mutation {
        Mutation::None => {}
        Mutation::Surround(a, b) => {
            t = [a.as_bytes(), token, b.as_bytes()].concat();
        }
        Mutation::Insert(i, b) => {
            let i = at(i, t.len() + 1);
            t.insert(i, b);
        }
        Mutation::Remove(i) => {
            if !t.is_empty() {
                let i = at(i, t.len());
                t.remove(i);
            }
        }
        Mutation::Replace(i, b) => {
            if !t.is_empty() {
                let i = at(i, t.len());
                t[i] = b;
            }
        }
        Mutation::Truncate(i) => {
            let i = at(i, t.len() + 1);
            t.truncate(i);
        }
    }
    t
}

proptest! {
    #![proptest_config(config())]

    /// Arbitrary bytes never panic and end in a parse-step error with a documented message.
    #[test]
    fn token_parser_arbitrary_bytes(
        bytes in prop::collection::vec(any::<u8>(), 0..256),
        max in prop::sample::select(vec![8usize, 64, 16 * 1024]),
    ) {
        if let Err(err) = fuzzing::parse_token(&bytes, max, &ALLOWED) {
            assert_spec_error(&err);
            prop_assert!(PARSE_CODES.contains(&err.code()), "{err:?}");
        }
    }

    /// Near-valid tokens: the outcome is exactly the model's (code and message), and
    /// serialization-breaking edits still end in a parse-step error.
    #[test]
    fn token_parser_structured(
        header in arb_header(),
        payload in arb_payload(),
        signature in prop::collection::vec(any::<u8>(), 0..80),
        mutation in arb_mutation(),
        max in prop::sample::select(vec![24usize, 200, 16 * 1024]),
    ) {
        let token = format!("{}.{}.{}", b64(&header.bytes()), b64(&payload.bytes()), b64(&signature));
        let mutated = apply(token.as_bytes(), &mutation);
        let got = fuzzing::parse_token(&mutated, max, &ALLOWED);
        if let Err(err) = &got {
            assert_spec_error(err);
            prop_assert!(PARSE_CODES.contains(&err.code()), "{err:?}");
        }
        if matches!(mutation, Mutation::None | Mutation::Surround(..)) {
            let want = model_parse(&header, &payload, token.len(), max);
            let got = got.map_err(|e| (e.code(), e.message().to_owned()));
            let want = want.map_err(|(c, m)| (c, m.to_owned()));
            prop_assert_eq!(got, want, "token {}", token);
        }
    }
}

// ---------------------------------------------------------------------------------------
// 2. Claims policy (docs/security.md, pipeline steps 11-12), directly and through a warm verifier.

const AUD: &str = "https://api.example";
const AUD2: &str = "urn:second";

/// Policy parameters of one verifier.
struct Policy {
    leeway: f64,
    scopes: Vec<&'static str>,
    permissions: Vec<&'static str>,
}

/// Policy 0: no leeway, no requirements. Policy 1: 30 s leeway, scopes `read write`,
/// permission `p:1`.
fn policy(i: usize) -> Policy {
    match i {
        0 => Policy {
            leeway: 0.0,
            scopes: Vec::new(),
            permissions: Vec::new(),
        },
        _ => Policy {
            leeway: 30.0,
            scopes: vec!["read", "write"],
            permissions: vec!["p:1"],
        },
    }
}

impl Policy {
    fn config(&self, issuer: &str, jwks_url: &str) -> AuthConfig {
        AuthConfig::builder()
            .issuer(issuer)
            .audiences([AUD, AUD2])
            .jwks_url(jwks_url)
            .allowed_algs([Algorithm::EdDSA])
            .leeway(Duration::from_secs_f64(self.leeway))
            .required_scopes(self.scopes.clone())
            .required_permissions(self.permissions.clone())
            .build()
            .unwrap()
    }
}

/// One issuer, one Ed25519 key, two warm verifiers (one per policy), one runtime.
struct Warm {
    runtime: tokio::runtime::Runtime,
    issuer: TestIssuer,
    key: TestKey,
    verifiers: Vec<AsyncJwtVerifier>,
    configs: Vec<AuthConfig>,
}

fn warm() -> &'static Warm {
    static WARM: OnceLock<Warm> = OnceLock::new();
    WARM.get_or_init(|| {
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(1)
            .enable_all()
            .build()
            .unwrap();
        let key = TestKey::generate(Alg::EdDSA, "ed");
        let issuer = TestIssuer::start_with_keys(std::slice::from_ref(&key));
        let configs: Vec<AuthConfig> = (0..2)
            .map(|i| policy(i).config(&issuer.issuer(), &issuer.jwks_url()))
            .collect();
        let verifiers: Vec<AsyncJwtVerifier> = configs
            .iter()
            .map(|c| AsyncJwtVerifier::new(c.clone()).unwrap())
            .collect();
        for v in &verifiers {
            runtime
                .block_on(v.get_signing_keys(true))
                .expect("warm-up fetch");
        }
        Warm {
            runtime,
            issuer,
            key,
            verifiers,
            configs,
        }
    })
}

/// A time claim value, never within 100 s of `now` ± leeway (no boundary flakiness).
/// `future` picks which side passes: `exp` wants the future, `nbf` and `iat` the past
/// (or absence). Passing values come half the time, so whole payloads often pass.
fn arb_time(future: bool) -> impl Strategy<Value = Option<Value>> {
    let sign = if future { 1.0 } else { -1.0 };
    let good = (100.0..1.0e6f64).prop_map(move |o| sign * o);
    let bad = (100.0..1.0e6f64).prop_map(move |o| -sign * o);
    prop_oneof![
        (if future { 0 } else { 4 }) => Just(None),
        1 => Just(Some(Value::Null)),
        5 => good.clone().prop_map(|o| Some(json!((now() + o).round() as i64))),
        3 => good.clone().prop_map(|o| Some(json!(now() + o))),
        2 => bad.clone().prop_map(|o| Some(json!((now() + o).round() as i64))),
        1 => bad.prop_map(|o| Some(json!(now() + o))),
        1 => prop::sample::select(vec![
            json!(1e300), json!(-1e300), json!(u64::MAX), json!(i64::MIN), json!(0),
        ]).prop_map(Some),
        1 => good.prop_map(|o| Some(json!(((now() + o) as i64).to_string()))),
        1 => arb_json().prop_map(Some),
    ]
}

/// A claim: a passing value (`None` = absent) about half the time, else an edge case.
fn arb_claim(good: Vec<Option<Value>>, bad: Vec<Option<Value>>) -> BoxedStrategy<Option<Value>> {
    prop_oneof![
        6 => prop::sample::select(good),
        4 => prop::sample::select(bad),
        1 => arb_json().prop_map(Some),
    ]
    .boxed()
}

/// A payload near the policy's edges: every claim the policy reads, plus noise.
fn arb_claims(issuer: String) -> impl Strategy<Value = Map<String, Value>> {
    let iss = arb_claim(
        vec![Some(json!(issuer.clone()))],
        vec![
            None,
            Some(Value::Null),
            Some(json!(issuer.trim_end_matches('/'))),
            Some(json!(issuer.to_uppercase())),
            Some(json!(format!("{issuer} "))),
            Some(json!([issuer.clone()])),
            Some(json!("")),
        ],
    );
    let aud = arb_claim(
        vec![
            Some(json!(AUD)),
            Some(json!(AUD2)),
            Some(json!([AUD])),
            Some(json!(["other", AUD2])),
        ],
        vec![
            None,
            Some(Value::Null),
            Some(json!("https://api.example/")),
            Some(json!("other")),
            Some(json!("")),
            Some(json!([])),
            Some(json!(["other"])),
            Some(json!([AUD, 5])),
            Some(json!([Value::Null])),
            Some(json!([""])),
            Some(json!({"aud": AUD})),
            Some(json!(5)),
        ],
    );
    let id = arb_claim(
        vec![None, Some(json!("u1")), Some(json!(""))],
        vec![Some(json!(5)), Some(Value::Null), Some(json!(["u1"]))],
    );
    let scope = arb_claim(
        vec![
            Some(json!("read write")),
            Some(json!("  write\tread\nadmin ")),
            Some(json!(["read", "write"])),
            Some(json!(["read", 5, "write", ""])),
        ],
        vec![
            None,
            Some(json!("read")),
            Some(json!(["read write"])),
            Some(json!("")),
            Some(json!(5)),
            Some(json!({"read": true})),
        ],
    );
    let permissions = arb_claim(
        vec![Some(json!(["p:1"])), Some(json!("p:1 p:2"))],
        vec![
            None,
            Some(json!(["p:2"])),
            Some(json!([])),
            Some(json!("P:1")),
            Some(Value::Null),
        ],
    );
    (
        (arb_time(true), arb_time(false), arb_time(false)),
        (iss, aud, id.clone(), id),
        (scope, permissions),
        prop::collection::vec(("[a-z]{1,6}", arb_json()), 0..3),
    )
        .prop_map(
            |((exp, nbf, iat), (iss, aud, sub, jti), (scope, permissions), extra)| {
                let mut map = Map::new();
                for (k, v) in extra {
                    map.insert(k, v);
                }
                for (k, v) in [
                    ("exp", exp),
                    ("nbf", nbf),
                    ("iat", iat),
                    ("iss", iss),
                    ("aud", aud),
                    ("sub", sub),
                    ("jti", jti),
                    ("scope", scope),
                    ("permissions", permissions),
                ] {
                    match v {
                        Some(v) => {
                            map.insert(k.to_owned(), v);
                        }
                        None => {
                            map.remove(k);
                        }
                    }
                }
                map
            },
        )
}

/// What pipeline steps 11-12 (docs/security.md) say about `claims`: `Ok`, or the code with the message (for
/// `missing_claim`) or the missing scopes/permissions (for 403s).
fn model_claims(
    claims: &Map<String, Value>,
    issuer: &str,
    policy: &Policy,
) -> Result<(), (ErrorCode, String)> {
    let err = |c: ErrorCode| Err((c, String::new()));
    let present = |name: &str| claims.get(name).filter(|v| !v.is_null());
    for name in ["exp", "iss", "aud"] {
        if present(name).is_none() {
            return Err((ErrorCode::MissingClaim, name.to_owned()));
        }
    }
    let number = |name: &str, code: ErrorCode| match present(name) {
        None => Ok(None),
        Some(Value::Number(n)) => Ok(n.as_f64()),
        Some(_) => Err((code, String::new())),
    };
    let exp = number("exp", ErrorCode::MalformedToken)?;
    let nbf = number("nbf", ErrorCode::MalformedToken)?;
    let iat = number("iat", ErrorCode::InvalidToken)?;
    let now = now();
    if exp.is_some_and(|e| e <= now - policy.leeway) {
        return err(ErrorCode::TokenExpired);
    }
    if nbf.is_some_and(|t| t > now + policy.leeway) || iat.is_some_and(|t| t > now + policy.leeway)
    {
        return err(ErrorCode::TokenNotYetValid);
    }
    if present("iss") != Some(&Value::from(issuer)) {
        return err(ErrorCode::InvalidIssuer);
    }
    let wanted = [AUD, AUD2];
    match present("aud").unwrap() {
        Value::String(s) if s.is_empty() => {
            return Err((ErrorCode::MissingClaim, "aud".to_owned()))
        }
        Value::String(s) if wanted.contains(&s.as_str()) => {}
        Value::Array(a) if a.is_empty() => return Err((ErrorCode::MissingClaim, "aud".to_owned())),
        Value::Array(a) if a.iter().all(Value::is_string) => {
            if !a.iter().any(|v| wanted.contains(&v.as_str().unwrap())) {
                return err(ErrorCode::InvalidAudience);
            }
        }
        _ => return err(ErrorCode::InvalidAudience),
    }
    for name in ["sub", "jti"] {
        if claims.get(name).is_some_and(|v| !v.is_string()) {
            return err(ErrorCode::InvalidToken);
        }
    }
    let set = |name: &str| -> BTreeSet<String> {
        match claims.get(name) {
            // RFC 6749 §3.3: U+0020 is the only separator.
            Some(Value::String(s)) => s
                .split(' ')
                .filter(|t| !t.is_empty())
                .map(str::to_owned)
                .collect(),
            Some(Value::Array(a)) => a
                .iter()
                .filter_map(Value::as_str)
                .filter(|s| !s.is_empty())
                .map(str::to_owned)
                .collect(),
            _ => BTreeSet::new(),
        }
    };
    for (name, required, code) in [
        ("scope", &policy.scopes, ErrorCode::InsufficientScope),
        (
            "permissions",
            &policy.permissions,
            ErrorCode::InsufficientPermissions,
        ),
    ] {
        let have = set(name);
        let missing: Vec<&str> = required
            .iter()
            .copied()
            .filter(|r| !have.contains(*r))
            .collect::<BTreeSet<_>>()
            .into_iter()
            .collect();
        if !missing.is_empty() {
            return Err((code, missing.join(" ")));
        }
    }
    Ok(())
}

/// The comparable part of an outcome: code plus the detail the model predicts.
fn outcome(result: Result<(), AuthError>) -> Result<(), (ErrorCode, String)> {
    result.map_err(|e| {
        assert_spec_error(&e);
        let detail = match e.code() {
            ErrorCode::MissingClaim => e
                .message()
                .trim_start_matches("Token is missing the \"")
                .trim_end_matches("\" claim")
                .to_owned(),
            ErrorCode::InsufficientScope => e.required_scopes().join(" "),
            ErrorCode::InsufficientPermissions => e.required_permissions().join(" "),
            _ => String::new(),
        };
        (e.code(), detail)
    })
}

/// A policy index and a payload: mostly near the policy's edges, sometimes any JSON.
fn arb_claims_case() -> impl Strategy<Value = (usize, Value)> {
    (
        0..2usize,
        prop_oneof![
            5 => arb_claims(warm().issuer.issuer()).prop_map(Value::Object),
            1 => arb_json(),
        ],
    )
}

proptest! {
    #![proptest_config(config())]

    /// Arbitrary JSON (any shape) through the policy: never panics, documented codes only;
    /// objects get exactly the model's outcome.
    #[test]
    fn claims_policy_arbitrary_json(value in arb_json(), which in 0..2usize) {
        let w = warm();
        let bytes = serde_json::to_vec(&value).unwrap();
        let got = outcome(fuzzing::validate_claims(&bytes, &w.configs[which]));
        match &value {
            Value::Object(map) => {
                prop_assert_eq!(got, model_claims(map, &w.issuer.issuer(), &policy(which)));
            }
            _ => prop_assert_eq!(got, Err((ErrorCode::MalformedToken, String::new()))),
        }
    }

    /// Arbitrary bytes as a payload: never panics, documented codes only.
    #[test]
    fn claims_policy_arbitrary_bytes(bytes in prop::collection::vec(any::<u8>(), 0..128)) {
        let w = warm();
        let _ = outcome(fuzzing::validate_claims(&bytes, &w.configs[0]));
    }

    /// Really signed tokens through a warm verifier: the outcome is exactly the model's,
    /// and the same as the policy alone (the signature binds, the policy decides).
    #[test]
    fn claims_policy_signed_through_warm_verifier((which, payload) in arb_claims_case()) {
        let w = warm();
        let token = TokenBuilder::new(&w.key).claims(payload.clone()).build();
        let verified = w
            .runtime
            .block_on(w.verifiers[which].verify_access_token(&token))
            .map(|_| ());
        let got = outcome(verified);
        let want = match &payload {
            Value::Object(claims) => model_claims(claims, &w.issuer.issuer(), &policy(which)),
            _ => Err((ErrorCode::MalformedToken, String::new())),
        };
        prop_assert_eq!(&got, &want, "payload {}", payload);
        let alone = outcome(fuzzing::validate_claims(
            &serde_json::to_vec(&payload).unwrap(),
            &w.configs[which],
        ));
        prop_assert_eq!(got, alone);
    }

    /// Any one-byte edit inside a valid signed token is refused (or is a no-op).
    #[test]
    fn signed_token_edits_are_refused(index in any::<usize>(), byte in any::<u8>()) {
        let w = warm();
        let claims = json!({
            "iss": w.issuer.issuer(), "aud": AUD, "exp": now() as i64 + 3600, "sub": "u1",
        });
        let token = TokenBuilder::new(&w.key).claims(claims).build();
        let mut bytes = token.clone().into_bytes();
        let i = index % bytes.len();
        prop_assume!(bytes[i] != byte);
        bytes[i] = byte;
        let result = w.runtime.block_on(w.verifiers[0].verify_access_token(&bytes));
        match result {
            Ok(claims) => prop_assert!(false, "edited token accepted: {:?} {:?}", String::from_utf8_lossy(&bytes), claims),
            Err(err) => assert_spec_error(&err),
        }
    }
}

/// Every whitespace character but U+0020 (Unicode `White_Space`, as `char::is_whitespace`
/// defines it): tab, LF, VT, FF, CR, NEL, NBSP, U+1680, U+2000-U+200A, U+2028, U+2029,
/// U+202F, U+205F, U+3000.
fn non_space_whitespace() -> Vec<char> {
    let all: Vec<char> = (0..=0x3000u32)
        .filter_map(char::from_u32)
        .filter(|c| c.is_whitespace() && *c != ' ')
        .collect();
    assert_eq!(all.len(), 24, "{all:?}");
    all
}

/// A scope token: 1-8 characters, none of them whitespace.
fn arb_scope_token() -> impl Strategy<Value = String> {
    let c = prop_oneof![
        4 => prop::char::range('a', 'z'),
        1 => prop::sample::select(vec![':', '.', '/', '_', '-', '*']),
        1 => any::<char>().prop_filter("not whitespace", |c| !c.is_whitespace()),
    ];
    prop::collection::vec(c, 1..8).prop_map(String::from_iter)
}

/// Two to four scope tokens, the index of one of them, and a non-U+0020 whitespace char.
fn arb_scope_join() -> impl Strategy<Value = (Vec<String>, usize, char)> {
    (
        prop::collection::vec(arb_scope_token(), 2..5),
        any::<usize>(),
        prop::sample::select(non_space_whitespace()),
    )
        .prop_map(|(parts, i, sep)| {
            let i = i % parts.len();
            (parts, i, sep)
        })
}

proptest! {
    #![proptest_config(config())]

    /// RFC 6749 §3.3: scope tokens are separated by U+0020 only. Tokens joined by any
    /// other whitespace character are one token: a required scope (or permission) equal
    /// to one part is never granted. Joined by spaces, every part is.
    #[test]
    fn only_space_separates_scopes((parts, i, sep) in arb_scope_join()) {
        let joined = parts.join(&sep.to_string());
        let required = parts[i].as_str();
        prop_assume!(joined != required);
        let w = warm();
        let config = AuthConfig::builder()
            .issuer(w.issuer.issuer())
            .audience(AUD)
            .jwks_url(w.issuer.jwks_url())
            .allowed_algs([Algorithm::EdDSA])
            .required_scopes([required])
            .required_permissions([required])
            .build()
            .unwrap();
        let claims = |scope: &str, permissions: &str| json!({
            "iss": w.issuer.issuer(), "aud": AUD, "exp": now() as i64 + 3600,
            "scope": scope, "permissions": permissions,
        });

        // Through the policy (as the verifiers run it).
        let payload = serde_json::to_vec(&claims(&joined, required)).unwrap();
        let err = fuzzing::validate_claims(&payload, &config).unwrap_err();
        prop_assert_eq!(err.code(), ErrorCode::InsufficientScope);
        prop_assert_eq!(err.required_scopes(), [required.to_owned()]);
        let payload = serde_json::to_vec(&claims(required, &joined)).unwrap();
        let err = fuzzing::validate_claims(&payload, &config).unwrap_err();
        prop_assert_eq!(err.code(), ErrorCode::InsufficientPermissions);

        // Through the public `Claims` API (per-route requirements).
        let map = claims(&joined, &joined);
        let c = verifier_core::Claims::from_map(map.as_object().unwrap().clone());
        prop_assert!(!c.has_scope(required));
        prop_assert!(!c.has_permission(required));
        prop_assert!(c.require_scopes(&[required]).is_err());
        prop_assert!(c.require_permissions(&[required]).is_err());
        prop_assert_eq!(c.scopes(), vec![joined.as_str()]);

        // Control: joined by U+0020 (even repeated), every part is granted.
        let spaced = parts.join("  ");
        let payload = serde_json::to_vec(&claims(&spaced, &spaced)).unwrap();
        prop_assert!(fuzzing::validate_claims(&payload, &config).is_ok());
    }
}

// ---------------------------------------------------------------------------------------
// 3. Key-set parser (docs/jwks-lifecycle.md, docs/security.md).

/// Real public keys, generated once.
fn real_keys() -> &'static Vec<(Value, &'static str)> {
    static KEYS: OnceLock<Vec<(Value, &'static str)>> = OnceLock::new();
    KEYS.get_or_init(|| {
        vec![
            (TestKey::generate(Alg::RS256, "x").public_jwk(), "RS256"),
            (TestKey::rsa(1024, "x").public_jwk(), "RS256"),
            (TestKey::generate(Alg::ES256, "x").public_jwk(), "ES256"),
            (TestKey::generate(Alg::ES384, "x").public_jwk(), "ES384"),
            (TestKey::generate(Alg::ES512, "x").public_jwk(), "ES512"),
            (TestKey::generate(Alg::EdDSA, "x").public_jwk(), "EdDSA"),
        ]
    })
}

/// Edits to a real JWK whose effect on usability is known.
#[derive(Clone, Copy, Debug)]
enum JwkEdit {
    Keep,
    UseSig,
    KeyOpsVerify,
    MatchingAlg,
    NullAlg,
    ExtraMembers,
    // Unusable:
    UseEnc,
    UseNumber,
    KeyOpsSign,
    KeyOpsString,
    UnsupportedAlg,
    MismatchedAlg,
    AlgNumber,
    KtyUnknown,
    KtyOct,
    KtyMissing,
    KidMissing,
    KidEmpty,
    KidNumber,
    CrvUnknown,
    MaterialNotBase64,
    MaterialEmpty,
    MaterialPadded,
    EcOffCurve,
    EcWrongLength,
    NotAnObject,
}

impl JwkEdit {
    const ALL: [JwkEdit; 26] = [
        JwkEdit::Keep,
        JwkEdit::UseSig,
        JwkEdit::KeyOpsVerify,
        JwkEdit::MatchingAlg,
        JwkEdit::NullAlg,
        JwkEdit::ExtraMembers,
        JwkEdit::UseEnc,
        JwkEdit::UseNumber,
        JwkEdit::KeyOpsSign,
        JwkEdit::KeyOpsString,
        JwkEdit::UnsupportedAlg,
        JwkEdit::MismatchedAlg,
        JwkEdit::AlgNumber,
        JwkEdit::KtyUnknown,
        JwkEdit::KtyOct,
        JwkEdit::KtyMissing,
        JwkEdit::KidMissing,
        JwkEdit::KidEmpty,
        JwkEdit::KidNumber,
        JwkEdit::CrvUnknown,
        JwkEdit::MaterialNotBase64,
        JwkEdit::MaterialEmpty,
        JwkEdit::MaterialPadded,
        JwkEdit::EcOffCurve,
        JwkEdit::EcWrongLength,
        JwkEdit::NotAnObject,
    ];

    /// Applies the edit; `None` when it does not apply to this key type.
    fn apply(self, jwk: &Value, alg: &str, kid: &str) -> Option<(Value, bool)> {
        let mut j = jwk.as_object().unwrap().clone();
        j.insert("kid".into(), json!(kid));
        j.remove("use");
        let kty = j["kty"].as_str().unwrap().to_owned();
        let material = if kty == "RSA" { "n" } else { "x" };
        let good = match self {
            JwkEdit::Keep => true,
            JwkEdit::UseSig => {
                j.insert("use".into(), json!("sig"));
                true
            }
            JwkEdit::KeyOpsVerify => {
                j.insert("key_ops".into(), json!(["sign", "verify"]));
                true
            }
            JwkEdit::MatchingAlg => {
                j.insert("alg".into(), json!(alg));
                true
            }
            JwkEdit::NullAlg => {
                j.insert("alg".into(), Value::Null);
                true
            }
            JwkEdit::ExtraMembers => {
                j.insert("x5c".into(), json!(["not a cert"]));
                j.insert("ext".into(), json!(true));
                true
            }
            JwkEdit::UseEnc => {
                j.insert("use".into(), json!("enc"));
                false
            }
            JwkEdit::UseNumber => {
                j.insert("use".into(), json!(1));
                false
            }
            JwkEdit::KeyOpsSign => {
                j.insert("key_ops".into(), json!(["sign"]));
                false
            }
            JwkEdit::KeyOpsString => {
                j.insert("key_ops".into(), json!("verify"));
                false
            }
            JwkEdit::UnsupportedAlg => {
                j.insert("alg".into(), json!("HS256"));
                false
            }
            JwkEdit::MismatchedAlg => {
                let other = if kty == "RSA" { "ES256" } else { "RS256" };
                j.insert("alg".into(), json!(other));
                false
            }
            JwkEdit::AlgNumber => {
                j.insert("alg".into(), json!(256));
                false
            }
            JwkEdit::KtyUnknown => {
                j.insert("kty".into(), json!("rsa"));
                false
            }
            JwkEdit::KtyOct => {
                j.insert("kty".into(), json!("oct"));
                j.insert("k".into(), json!("c2VjcmV0"));
                false
            }
            JwkEdit::KtyMissing => {
                j.remove("kty");
                false
            }
            JwkEdit::KidMissing => {
                j.remove("kid");
                false
            }
            JwkEdit::KidEmpty => {
                j.insert("kid".into(), json!(""));
                false
            }
            JwkEdit::KidNumber => {
                j.insert("kid".into(), json!(7));
                false
            }
            JwkEdit::CrvUnknown => {
                if kty == "RSA" {
                    return None;
                }
                j.insert("crv".into(), json!("secp256k1"));
                false
            }
            JwkEdit::MaterialNotBase64 => {
                j.insert(material.into(), json!("***"));
                false
            }
            JwkEdit::MaterialEmpty => {
                j.insert(material.into(), json!(""));
                false
            }
            JwkEdit::MaterialPadded => {
                let v = format!("{}=", j[material].as_str().unwrap());
                j.insert(material.into(), json!(v));
                false
            }
            JwkEdit::EcOffCurve => {
                if kty != "EC" {
                    return None;
                }
                let y = URL_SAFE_NO_PAD.decode(j["y"].as_str().unwrap()).unwrap();
                let mut y = y;
                let last = y.len() - 1;
                y[last] ^= 1;
                j.insert("y".into(), json!(b64(&y)));
                false
            }
            JwkEdit::EcWrongLength => {
                if kty != "EC" {
                    return None;
                }
                let x = URL_SAFE_NO_PAD.decode(j["x"].as_str().unwrap()).unwrap();
                j.insert("x".into(), json!(b64(&x[1..])));
                false
            }
            JwkEdit::NotAnObject => return Some((json!([kid]), false)),
        };
        Some((Value::Object(j), good))
    }
}

#[derive(Clone, Debug)]
struct KeySetCase {
    /// (key index, edit, kid)
    entries: Vec<(usize, JwkEdit, String)>,
    allowed: Vec<Algorithm>,
    enforce: bool,
    max_keys: usize,
}

fn arb_key_set_case() -> impl Strategy<Value = KeySetCase> {
    let entry = (
        0..6usize,
        prop::sample::select(JwkEdit::ALL.to_vec()),
        prop::sample::select(vec!["a", "b", "c", "d", "e", "f", "g", "h"]),
    )
        .prop_map(|(k, e, kid)| (k, e, kid.to_owned()));
    (
        prop::collection::vec(entry, 0..8),
        prop::sample::subsequence(Algorithm::ALL.to_vec(), 1..=4),
        any::<bool>(),
        1..6usize,
    )
        .prop_map(|(entries, allowed, enforce, max_keys)| KeySetCase {
            entries,
            allowed,
            enforce,
            max_keys,
        })
}

/// The key type an algorithm needs: every RS*/PS* one RSA key, each other its own curve.
fn key_family(alg: Algorithm) -> &'static str {
    match alg.as_str() {
        a if a.starts_with("RS") || a.starts_with("PS") => "RSA",
        a => a,
    }
}

fn key_config(allowed: &[Algorithm], enforce: bool, max_keys: usize) -> AuthConfig {
    AuthConfig::builder()
        .issuer("https://issuer.example/")
        .audience(AUD)
        .jwks_url("https://issuer.example/jwks")
        .allowed_algs(allowed.iter().copied())
        .enforce_minimum_key_length(enforce)
        .jwks_max_cached_keys(max_keys)
        .build()
        .unwrap()
}

fn arb_jwk_noise() -> impl Strategy<Value = Value> {
    let kty = prop::sample::select(vec!["RSA", "EC", "OKP", "oct", "", "rsa"]);
    let crv = prop::sample::select(vec!["P-256", "P-384", "P-521", "Ed25519", "X25519", ""]);
    let material = prop::collection::vec(any::<u8>(), 0..70).prop_map(|b| b64(&b));
    (
        kty,
        crv,
        material.clone(),
        material,
        prop::option::of("[a-z]{0,3}"),
        prop::option::of(prop::sample::select(vec![
            "RS256", "ES256", "EdDSA", "none", "HS256", "PS512",
        ])),
        prop::option::of(arb_json()),
    )
        .prop_map(|(kty, crv, a, b, kid, alg, junk)| {
            let mut j = json!({"kty": kty, "crv": crv, "n": a, "x": a, "e": "AQAB", "y": b});
            if let Some(kid) = kid {
                j["kid"] = json!(kid);
            }
            if let Some(alg) = alg {
                j["alg"] = json!(alg);
            }
            if let Some(junk) = junk {
                j["use"] = junk;
            }
            j
        })
}

proptest! {
    #![proptest_config(config())]

    /// Real keys with known edits: the count of usable keys is exactly the model's
    /// (skipped entries never fatal; a key that fits no allowed algorithm is skipped;
    /// one kid may name keys that fit disjoint algorithms, else the first wins; at most
    /// `jwks_max_cached_keys`; a well-formed set with no usable key is a valid empty set).
    #[test]
    fn key_set_parser_known_entries(case in arb_key_set_case()) {
        let keys = real_keys();
        let mut entries = Vec::new();
        let mut inserted: Vec<(String, Vec<Algorithm>)> = Vec::new();
        for (k, edit, kid) in &case.entries {
            let (jwk, alg) = &keys[*k];
            let Some((entry, good)) = edit.apply(jwk, alg, kid) else { continue };
            let natural = Algorithm::from_name(alg).unwrap();
            let fitting: Vec<Algorithm> = case
                .allowed
                .iter()
                .copied()
                .filter(|a| key_family(*a) == key_family(natural))
                .filter(|a| !matches!(edit, JwkEdit::MatchingAlg) || *a == natural)
                .collect();
            let clash = inserted
                .iter()
                .any(|(k, algs)| k == kid && algs.iter().any(|a| fitting.contains(a)));
            if good && !fitting.is_empty() && !clash && inserted.len() < case.max_keys {
                inserted.push((kid.clone(), fitting));
            }
            entries.push(entry);
        }
        let doc = serde_json::to_vec(&json!({"keys": entries, "extra": 1})).unwrap();
        let config = key_config(&case.allowed, case.enforce, case.max_keys);
        let n = fuzzing::parse_key_set(&doc, &config);
        prop_assert_eq!(n.ok(), Some(inserted.len()), "{:?}", case);
    }

    /// Random JWK entries: never panics; a well-formed set always parses, to a count
    /// within bounds.
    #[test]
    fn key_set_parser_arbitrary_entries(
        entries in prop::collection::vec(prop_oneof![3 => arb_jwk_noise(), 1 => arb_json()], 0..6),
        max_keys in 1..4usize,
    ) {
        let doc = serde_json::to_vec(&json!({"keys": entries})).unwrap();
        let config = key_config(&[Algorithm::RS256, Algorithm::ES256, Algorithm::EdDSA], true, max_keys);
        match fuzzing::parse_key_set(&doc, &config) {
            Ok(n) => prop_assert!(n <= max_keys.min(entries.len())),
            Err(err) => prop_assert!(false, "a well-formed set was refused: {}", err),
        }
    }

    /// Arbitrary JSON documents and bytes: never panics; `jwks_error` unless an object
    /// with a `keys` array.
    #[test]
    fn key_set_parser_arbitrary_documents(
        doc in prop_oneof![
            arb_json().prop_map(|v| serde_json::to_vec(&v).unwrap()),
            prop::collection::vec(arb_json(), 0..4)
                .prop_map(|keys| serde_json::to_vec(&json!({"keys": keys})).unwrap()),
            prop::collection::vec(any::<u8>(), 0..64),
        ],
    ) {
        let config = key_config(&[Algorithm::RS256], true, 16);
        let well_formed = serde_json::from_slice::<Value>(&doc)
            .is_ok_and(|v| v.is_object() && v["keys"].is_array());
        match fuzzing::parse_key_set(&doc, &config) {
            Ok(_) => prop_assert!(well_formed),
            Err(err) => {
                prop_assert!(!well_formed);
                prop_assert_eq!(err.code(), ErrorCode::JwksError);
            }
        }
    }
}

// ---------------------------------------------------------------------------------------
// 4. Bearer header parser (docs/tower.md, RFC 6750 section 2.1).

/// RFC 7230 `tchar`.
fn is_tchar(b: u8) -> bool {
    b.is_ascii_alphanumeric() || b"!#$%&'*+-.^_`|~".contains(&b)
}

/// The bearer header rules (docs/tower.md), independently: visible ASCII (and tab) only; the scheme is everything up to
/// the first space, `Bearer` in any case; then one or more spaces; the token is the rest
/// without surrounding spaces, non-empty.
fn model_bearer(bytes: &[u8]) -> Option<String> {
    if !bytes
        .iter()
        .all(|b| *b == b'\t' || (0x20..0x7f).contains(b))
    {
        return None;
    }
    let space = bytes.iter().position(|b| *b == b' ')?;
    if !bytes[..space].eq_ignore_ascii_case(b"bearer") {
        return None;
    }
    let rest = &bytes[space..];
    let start = rest.iter().position(|b| *b != b' ')?;
    let end = rest.iter().rposition(|b| *b != b' ').unwrap();
    Some(String::from_utf8(rest[start..=end].to_vec()).unwrap())
}

fn arb_authorization() -> impl Strategy<Value = Vec<u8>> {
    let scheme = prop::sample::select(vec![
        "Bearer", "bearer", "BEARER", "bEaReR", "Bearerx", "Bearer-1", "Basic", "Bear", "",
        "Bearer\t", "Bearer,", "DPoP",
    ]);
    let sep = prop::sample::select(vec!["", " ", "  ", "\t", " \t", "   "]);
    let token = prop_oneof!["[A-Za-z0-9._~+/=-]{0,24}", "[ -~\t]{0,12}"];
    let tail = prop::sample::select(vec!["", " ", "  ", "\t", " x"]);
    prop_oneof![
        4 => (scheme, sep, token, tail)
            .prop_map(|(a, b, c, d)| format!("{a}{b}{c}{d}").into_bytes()),
        1 => prop::collection::vec(any::<u8>(), 0..40),
    ]
}

proptest! {
    #![proptest_config(config())]

    /// `bearer_token` matches the model; its errors are `missing_token`.
    #[test]
    fn bearer_header_parser(bytes in arb_authorization()) {
        let Ok(value) = HeaderValue::from_bytes(&bytes) else {
            return Ok(()); // not a header value a server could receive
        };
        let got = bearer_token(&value);
        match (&got, model_bearer(&bytes)) {
            (Ok(token), Some(want)) => prop_assert_eq!(*token, want.as_str()),
            (Err(err), None) => prop_assert_eq!(err.code(), ErrorCode::MissingToken),
            (got, want) => prop_assert!(false, "{:?}: got {:?}, want {:?}", value, got, want),
        }
    }

    /// `bearer_from_headers`: another scheme (the auth-scheme token before the first
    /// space is not `Bearer`) is "no bearer credentials" (`Ok(None)`), so optional-auth
    /// routes let it through; a `Bearer` scheme without a token is `missing_token`.
    #[test]
    fn bearer_from_headers_schemes(bytes in arb_authorization()) {
        let Ok(value) = HeaderValue::from_bytes(&bytes) else { return Ok(()) };
        let mut headers = HeaderMap::new();
        headers.insert(AUTHORIZATION, value.clone());
        let got = bearer_from_headers(&headers);
        let scheme_end = bytes.iter().position(|b| *b == b' ').unwrap_or(bytes.len());
        let scheme = &bytes[..scheme_end];
        if !scheme.iter().all(|b| is_tchar(*b)) {
            // Not a well-formed credentials value: either answer is acceptable, but
            // never a token the model would not extract.
            if let Ok(Some(token)) = got {
                prop_assert_eq!(Some(token.to_owned()), model_bearer(&bytes));
            }
            return Ok(());
        }
        if scheme.eq_ignore_ascii_case(b"bearer") {
            match (got, model_bearer(&bytes)) {
                (Ok(Some(t)), Some(want)) => prop_assert_eq!(t, want.as_str()),
                (Err(e), None) => prop_assert_eq!(e.code(), ErrorCode::MissingToken),
                (got, want) => prop_assert!(false, "{:?}: got {:?}, want {:?}", value, got, want),
            }
        } else {
            // Found by this property: `Bearerx abc` is another scheme, not a bad bearer
            // (see `regression_scheme_starting_with_bearer_is_another_scheme`).
            prop_assert!(matches!(got, Ok(None)), "{:?}: another scheme gave {:?}", value, got);
        }
        prop_assert!(bearer_from_headers(&HeaderMap::new()).unwrap().is_none());
    }

    /// RFC 6750 §3.1: two or more `Authorization` fields are `invalid_request` (400),
    /// whatever each one holds (valid bearer, another scheme, empty); one field is
    /// exactly the single-value parse.
    #[test]
    fn several_authorization_fields_are_invalid_request(
        fields in prop::collection::vec(arb_authorization(), 1..4),
    ) {
        let values: Vec<HeaderValue> = fields
            .iter()
            .filter_map(|b| HeaderValue::from_bytes(b).ok())
            .collect();
        prop_assume!(!values.is_empty());
        let mut headers = HeaderMap::new();
        for value in &values {
            headers.append(AUTHORIZATION, value.clone());
        }
        let got = bearer_from_headers(&headers);
        let direct = bearer_from_values(&values);
        prop_assert_eq!(
            got.as_ref().map_err(AuthError::code),
            direct.as_ref().map_err(AuthError::code)
        );
        if values.len() == 1 {
            let mut single = HeaderMap::new();
            single.insert(AUTHORIZATION, values[0].clone());
            let one = bearer_from_headers(&single);
            prop_assert_eq!(got.map_err(|e| e.code()), one.map_err(|e| e.code()));
        } else {
            let err = got.unwrap_err();
            assert_spec_error(&err);
            prop_assert_eq!(err.code(), ErrorCode::InvalidRequest);
            prop_assert_eq!(err.status().as_u16(), 400);
            prop_assert_eq!(err.message(), "Multiple credentials");
        }
    }
}

// ---------------------------------------------------------------------------------------
// 5. WWW-Authenticate writer (docs/errors.md) and an RFC 7235 challenge parser.

/// One parsed challenge: scheme and (name, value) auth-params, values unescaped.
#[derive(Debug, PartialEq)]
struct Challenge {
    scheme: String,
    params: Vec<(String, String)>,
}

/// Parses exactly one RFC 7235 challenge with auth-params (no token68):
///
/// ```text
/// challenge     = auth-scheme [ 1*SP #auth-param ]
/// auth-param    = token BWS "=" BWS ( token / quoted-string )
/// quoted-string = DQUOTE *( qdtext / quoted-pair ) DQUOTE
/// qdtext        = HTAB / SP / %x21 / %x23-5B / %x5D-7E / obs-text
/// quoted-pair   = "\" ( HTAB / SP / VCHAR / obs-text )
/// ```
fn parse_challenge(input: &[u8]) -> Result<Challenge, String> {
    let mut i = 0;
    let token = |i: &mut usize| -> Result<String, String> {
        let start = *i;
        while *i < input.len() && is_tchar(input[*i]) {
            *i += 1;
        }
        if *i == start {
            return Err(format!("token expected at {start}"));
        }
        Ok(String::from_utf8(input[start..*i].to_vec()).unwrap())
    };
    let ows = |i: &mut usize| {
        while *i < input.len() && (input[*i] == b' ' || input[*i] == b'\t') {
            *i += 1;
        }
    };
    let scheme = token(&mut i)?;
    let mut params = Vec::new();
    if i == input.len() {
        return Ok(Challenge { scheme, params });
    }
    if input[i] != b' ' {
        return Err(format!("SP expected after the scheme at {i}"));
    }
    while i < input.len() && input[i] == b' ' {
        i += 1;
    }
    loop {
        let name = token(&mut i)?;
        ows(&mut i);
        if input.get(i) != Some(&b'=') {
            return Err(format!("'=' expected at {i}"));
        }
        i += 1;
        ows(&mut i);
        let value = if input.get(i) == Some(&b'"') {
            i += 1;
            let mut out = Vec::new();
            loop {
                match input.get(i) {
                    None => return Err("unterminated quoted-string".into()),
                    Some(b'"') => {
                        i += 1;
                        break;
                    }
                    Some(b'\\') => {
                        match input.get(i + 1) {
                            Some(&c)
                                if c == b'\t'
                                    || c == b' '
                                    || (0x21..=0x7e).contains(&c)
                                    || c >= 0x80 =>
                            {
                                out.push(c)
                            }
                            other => return Err(format!("bad quoted-pair {other:?} at {i}")),
                        }
                        i += 2;
                    }
                    Some(&c)
                        if c == b'\t'
                            || c == b' '
                            || c == 0x21
                            || (0x23..=0x5b).contains(&c)
                            || (0x5d..=0x7e).contains(&c)
                            || c >= 0x80 =>
                    {
                        out.push(c);
                        i += 1;
                    }
                    Some(c) => {
                        return Err(format!("byte {c:#x} not allowed in a quoted-string at {i}"))
                    }
                }
            }
            String::from_utf8(out).map_err(|e| e.to_string())?
        } else {
            token(&mut i)?
        };
        params.push((name, value));
        ows(&mut i);
        if i == input.len() {
            break;
        }
        if input[i] != b',' {
            return Err(format!("',' expected at {i}"));
        }
        i += 1;
        ows(&mut i);
    }
    Ok(Challenge { scheme, params })
}

/// What a value becomes in the challenge: control characters (CR, LF, ...) removed, tab kept.
fn stripped(s: &str) -> String {
    s.chars()
        .filter(|c| *c == '\t' || !c.is_control())
        .collect()
}

fn arb_text() -> impl Strategy<Value = String> {
    prop::collection::vec(arb_char(), 0..16).prop_map(String::from_iter)
}

proptest! {
    #![proptest_config(config())]

    /// The challenge is a valid header value that parses back (RFC 7235) to exactly the
    /// parameters docs/errors.md lists, in order, with control-stripped values.
    #[test]
    fn www_authenticate_round_trips(
        code in prop::sample::select(ErrorCode::ALL.to_vec()),
        realm in prop::option::of(arb_text()),
        message in arb_text(),
        scopes in prop::collection::vec(arb_text(), 0..3),
        permissions in prop::collection::vec(arb_text(), 0..3),
    ) {
        let err = AuthError::new(code)
            .with_message(message.clone())
            .with_required_scopes(scopes.clone())
            .with_required_permissions(permissions.clone());
        let header = err.www_authenticate(realm.as_deref());
        if code.status().as_u16() == 503 {
            prop_assert!(header.is_none());
            return Ok(());
        }
        let header = header.expect("a challenge for 400/401/403");
        // A valid HeaderValue: re-validate its bytes.
        prop_assert!(HeaderValue::from_bytes(header.as_bytes()).is_ok());
        let parsed = parse_challenge(header.as_bytes())
            .map_err(|e| TestCaseError::fail(format!("{e}: {:?}", header)))?;

        let sorted = |v: &[String]| -> String {
            let set: BTreeSet<&String> = v.iter().collect();
            set.into_iter().cloned().collect::<Vec<_>>().join(" ")
        };
        let mut want = Vec::new();
        if let Some(realm) = &realm {
            want.push(("realm".to_owned(), stripped(realm)));
        }
        if code != ErrorCode::MissingToken {
            let error = match code.status().as_u16() {
                403 => "insufficient_scope",
                400 => "invalid_request",
                _ => "invalid_token",
            };
            want.push(("error".to_owned(), error.to_owned()));
            want.push(("error_description".to_owned(), stripped(&message)));
        }
        if !scopes.is_empty() {
            want.push(("scope".to_owned(), stripped(&sorted(&scopes))));
        }
        if !permissions.is_empty() {
            want.push(("permissions".to_owned(), stripped(&sorted(&permissions))));
        }
        prop_assert_eq!(parsed, Challenge { scheme: "Bearer".to_owned(), params: want });

        // The whole error response is well-formed too.
        let resp = ErrorResponse::new(&err, realm.as_deref());
        prop_assert_eq!(resp.status, code.status());
        let body: Value = serde_json::from_str(&resp.body).unwrap();
        prop_assert_eq!(&body["code"], code.as_str());
        prop_assert_eq!(&body["detail"], message.as_str());
    }
}

// ---------------------------------------------------------------------------------------
// Regressions and sanity checks for the models themselves.

#[test]
fn challenge_parser_accepts_the_spec_examples_and_refuses_broken_ones() {
    let ok = parse_challenge(
        br#"Bearer realm="api", error="invalid_token", error_description="a \"b\" \\c""#,
    )
    .unwrap();
    assert_eq!(ok.params[2].1, r#"a "b" \c"#);
    assert_eq!(parse_challenge(b"Bearer").unwrap().params, []);
    assert!(parse_challenge(b"Bearer realm=\"a\nb\"").is_err());
    assert!(parse_challenge(b"Bearer realm=\"a").is_err());
    assert!(parse_challenge(b"Bearer realm=\"a\" error=\"b\"").is_err());
}

#[test]
fn models_agree_on_known_tokens() {
    let key = TestKey::generate(Alg::RS256, "k");
    let token = TokenBuilder::new(&key).claims(json!({"sub": "x"})).build();
    assert!(fuzzing::parse_token(token.as_bytes(), 16 * 1024, &ALLOWED).is_ok());
    // Escaped member names are decoded before the forbidden-header check.
    let header = br#"{"alg":"RS256","kid":"k","\u006aku":"http://127.0.0.1/"}"#;
    let token = format!("{}.{}.", b64(header), b64(b"{}"));
    let err = fuzzing::parse_token(token.as_bytes(), 16 * 1024, &ALLOWED).unwrap_err();
    assert_eq!(err.code(), ErrorCode::ForbiddenHeader);
    // Duplicate members, however spelled, are refused.
    let header = br#"{"alg":"RS256","kid":"k","\u0061lg":"ES256"}"#;
    let token = format!("{}.{}.", b64(header), b64(b"{}"));
    let err = fuzzing::parse_token(token.as_bytes(), 16 * 1024, &ALLOWED).unwrap_err();
    assert_eq!(err.code(), ErrorCode::MalformedToken);
}

/// docs/axum.md, "Optional authentication": "another scheme" is "no bearer credentials": optional-auth routes pass it
/// through without claims. `Bearerx` / `Bearer-1` are other schemes (an RFC 7235
/// auth-scheme is a whole token), not a `Bearer` header without a token.
#[test]
fn regression_scheme_starting_with_bearer_is_another_scheme() {
    for value in [
        "Bearerx ",
        "Bearerx abc.def.ghi",
        "Bearer-1 token",
        "BEARERTOKEN abc",
        "bearer_ x",
    ] {
        let mut headers = HeaderMap::new();
        headers.insert(AUTHORIZATION, HeaderValue::from_static(value));
        assert!(
            matches!(bearer_from_headers(&headers), Ok(None)),
            "{value:?}: {:?}",
            bearer_from_headers(&headers)
        );
    }
    // Still a Bearer header without a token:
    for value in ["Bearer", "bearer ", "BEARER   "] {
        let mut headers = HeaderMap::new();
        headers.insert(AUTHORIZATION, HeaderValue::from_static(value));
        let err = bearer_from_headers(&headers).unwrap_err();
        assert_eq!(err.code(), ErrorCode::MissingToken, "{value:?}");
    }
}

/// Two parsers reading different values from one token is a known bypass: a signed
/// payload with a duplicate `exp` (expired first, valid second, or the reverse) is
/// malformed, whatever order.
#[test]
fn regression_duplicate_claims_in_a_signed_payload_are_malformed() {
    let w = warm();
    let iss = w.issuer.issuer();
    let past = now() as i64 - 3600;
    let future = now() as i64 + 3600;
    for payload in [
        format!(r#"{{"iss":"{iss}","aud":"{AUD}","exp":{past},"exp":{future}}}"#),
        format!(r#"{{"iss":"{iss}","aud":"{AUD}","exp":{future},"exp":{past}}}"#),
        format!(r#"{{"iss":"x","aud":"{AUD}","exp":{future},"\u0069ss":"{iss}"}}"#),
    ] {
        let token = TokenBuilder::new(&w.key)
            .raw_payload(payload.clone())
            .build();
        let err = w
            .runtime
            .block_on(w.verifiers[0].verify_access_token(&token))
            .unwrap_err();
        assert_eq!(err.code(), ErrorCode::MalformedToken, "{payload}");
    }
}

/// A URL-ish string: scheme, host (names, IPv4, IPv6, IDN), port, path, query.
fn arb_htu() -> impl Strategy<Value = String> {
    (
        prop::sample::select(vec!["https://", "HTTP://", "http://", "https:", "//", ""]),
        prop::sample::select(vec![
            "api.example.com",
            "API.Example.COM",
            "bücher.example",
            "xn--bcher-kva.example",
            "[2001:0db8:0:0::1]",
            "[::1]",
            "127.0.0.1",
            "0x7f.1",
            "a.example.",
            "u@h.example",
            "",
        ]),
        prop::sample::select(vec!["", ":443", ":0443", ":80", ":8443", ":65536", ":"]),
        "(/[a-zA-Z0-9%._~!$&'()*+,;=:@-]{0,8}){0,4}",
        prop::sample::select(vec!["", "?", "?a=b", "#f", "?a#b"]),
    )
        .prop_map(|(s, h, p, path, q)| format!("{s}{h}{p}{path}{q}"))
}

proptest! {
    #![proptest_config(config())]

    /// `htu` normalisation (SPEC-2 §5.4) never panics, is idempotent, and its normal
    /// form always matches itself as a request behind its own origin.
    #[test]
    fn htu_normalisation_is_idempotent(input in arb_htu()) {
        if let Some(normal) = fuzzing::normalize_htu(&input) {
            prop_assert_eq!(fuzzing::normalize_htu(&normal), Some(normal.clone()));
            let url = url::Url::parse(&normal).unwrap();
            let origin = url.origin().ascii_serialization();
            prop_assert_eq!(fuzzing::htu_matches(&input, url.path(), &origin), Some(true));
        }
    }

    /// Arbitrary `DPoP` header values never panic and are refused with the proof code.
    #[test]
    fn dpop_proof_arbitrary_bytes(bytes in prop::collection::vec(any::<u8>(), 0..256)) {
        if let Err(err) = fuzzing::parse_dpop_proof(&bytes, Algorithm::ALL) {
            prop_assert_eq!(err.code(), ErrorCode::InvalidDpopProof);
        }
    }
}

// ---------------------------------------------------------------------------------------
// The borrowed payload pass against the map-based reference (issue 15): the verifiers run
// the claims policy on the registered claims of one borrowed pass over the payload; the
// map parser and the map-based policy they replaced are kept as the reference. Same
// acceptance, same codes and messages, same cheap checks, same accessor values.

/// The warm policies, plus the Cognito-like one: `aud_or_client_id`, `token_use` required,
/// an allow-list of clients (azp, else client_id).
fn comparison_configs() -> &'static Vec<AuthConfig> {
    static CONFIGS: OnceLock<Vec<AuthConfig>> = OnceLock::new();
    CONFIGS.get_or_init(|| {
        let w = warm();
        let mut configs = w.configs.clone();
        configs.push(
            AuthConfig::builder()
                .issuer(w.issuer.issuer())
                .audiences([AUD, AUD2])
                .jwks_url(w.issuer.jwks_url())
                .allowed_algs([Algorithm::EdDSA])
                .audience_mode(verifier_core::AudienceMode::AudOrClientId)
                .required_token_use("access")
                .allowed_clients(["web", AUD])
                .build()
                .unwrap(),
        );
        configs
    })
}

/// Values the registered claims are compared on: the right ones, wrong shapes, nulls.
fn arb_registered_value(issuer: String) -> BoxedStrategy<Value> {
    prop_oneof![
        Just(json!(issuer)),
        Just(json!(AUD)),
        Just(json!([AUD2, "other"])),
        Just(json!(["other", 7])),
        Just(json!([])),
        Just(json!("")),
        Just(json!(null)),
        Just(json!("access")),
        Just(json!("web")),
        Just(json!(now() as i64 + 3600)),
        Just(json!(now() as i64 - 3600)),
        Just(json!(now() + 3600.5)),
        Just(json!(1e300)),
        Just(json!(u64::MAX)),
        Just(json!(i64::MIN)),
        Just(json!({"nested": [issuer]})),
        Just(json!(true)),
        arb_json(),
    ]
    .boxed()
}

/// Payload bytes: objects over the registered names (duplicates and escaped names
/// possible), arbitrary JSON, and raw bytes with JSON's hard cases spliced in (lone
/// surrogates, invalid UTF-8, control characters, deep nesting).
fn arb_comparison_payload() -> impl Strategy<Value = Vec<u8>> {
    let w = warm();
    let names = vec![
        "exp",
        "nbf",
        "iat",
        "iss",
        "aud",
        "sub",
        "jti",
        "client_id",
        "azp",
        "token_use",
        "scope",
        "permissions",
        "x",
    ];
    prop_oneof![
        6 => (
            prop::collection::vec(
                (prop::sample::select(names), arb_registered_value(w.issuer.issuer())),
                0..9,
            ),
            any::<bool>(),
        )
            .prop_map(|(m, escape)| {
                Segment::Members {
                    members: m.into_iter().map(|(k, v)| (k.to_owned(), v)).collect(),
                    escape,
                }
                .bytes()
            }),
        2 => arb_claims(w.issuer.issuer()).prop_map(|m| serde_json::to_vec(&m).unwrap()),
        1 => arb_json().prop_map(|v| serde_json::to_vec(&v).unwrap()),
        1 => (
            prop::sample::select(vec![
                &br#"{"iss":"\ud800","aud":"a"}"#[..],
                &b"{\"iss\":\"\xff\xfe\"}"[..],
                &b"{\"x\":\"\x01\"}"[..],
                &br#"{"x":{"a":1,"a":2},"aud":"a"}"#[..],
                &br#"{"sub":"a","sub":"a"}"#[..],
                &br#"{"\u0073ub":"a","sub":"b"}"#[..],
                &br#"{"aud":["a",null]}"#[..],
                &br#"{"exp":1e400}"#[..],
                &br#"{"exp":-0,"iat":1.5e2}"#[..],
                &br#"{"x":[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]}"#[..],
                &br#"{"x":1} "#[..],
                &br#"{"x":1}x"#[..],
            ]),
            any::<usize>(),
            any::<u8>(),
            any::<bool>(),
        )
            .prop_map(|(base, i, b, edit)| {
                let mut bytes = base.to_vec();
                if edit {
                    let i = i % bytes.len();
                    bytes[i] = b;
                }
                bytes
            }),
        1 => prop::collection::vec(any::<u8>(), 0..48),
    ]
}

proptest! {
    #![proptest_config(config())]

    /// The payload pass and the map reference agree on every payload and policy: same
    /// acceptance (step 7), same code and message (steps 11-12), same cheap checks.
    #[test]
    fn payload_pass_matches_the_map_reference(bytes in arb_comparison_payload(), which in 0..3usize) {
        let config = &comparison_configs()[which];
        let fast = fuzzing::validate_claims(&bytes, config)
            .map_err(|e| (e.code(), e.message().to_owned(), e.required_scopes().to_vec(), e.required_permissions().to_vec()));
        let reference = fuzzing::validate_claims_reference(&bytes, config)
            .map_err(|e| (e.code(), e.message().to_owned(), e.required_scopes().to_vec(), e.required_permissions().to_vec()));
        prop_assert_eq!(&fast, &reference, "payload {:?}", String::from_utf8_lossy(&bytes));
        let (fast, reference) = fuzzing::cheap_checks_both(&bytes, config);
        prop_assert_eq!(fast, reference, "payload {:?}", String::from_utf8_lossy(&bytes));
    }

    /// Verified claims read without the map (`iss`, `sub`, `jti`, `aud`, `exp`, `nbf`,
    /// `iat`) give what the same claims read through the map give.
    #[test]
    fn verified_claims_accessors_match_the_map(payload in arb_claims(warm().issuer.issuer())) {
        let w = warm();
        let token = TokenBuilder::new(&w.key).claims(Value::Object(payload)).build();
        let Ok(claims) = w.runtime.block_on(w.verifiers[0].verify_access_token(&token)) else {
            return Ok(());
        };
        let fresh = claims.clone();
        // Read the registered accessors before anything builds the map.
        let lazy = (
            fresh.iss().map(str::to_owned),
            fresh.sub().map(str::to_owned),
            fresh.jti().map(str::to_owned),
            fresh.aud().into_iter().map(str::to_owned).collect::<Vec<_>>(),
            fresh.exp(),
            fresh.nbf(),
            fresh.iat(),
        );
        let map = verifier_core::Claims::from_map(claims.as_map().clone());
        let eager = (
            map.iss().map(str::to_owned),
            map.sub().map(str::to_owned),
            map.jti().map(str::to_owned),
            map.aud().into_iter().map(str::to_owned).collect::<Vec<_>>(),
            map.exp(),
            map.nbf(),
            map.iat(),
        );
        prop_assert_eq!(lazy, eager);
        prop_assert_eq!(&claims, &fresh);
        prop_assert_eq!(serde_json::to_value(&claims).unwrap(), Value::Object(claims.clone().into_map()));
    }
}
