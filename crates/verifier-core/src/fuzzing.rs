//! Thin wrappers over the crate-private parsers, for property tests and fuzz targets.
//!
//! Not part of the public API: hidden from the docs, exempt from semver. Each wrapper
//! runs exactly the code the verifiers run, without network I/O.
#![doc(hidden)]

use crate::alg::Algorithm;
use crate::claims;
use crate::config::AuthConfig;
use crate::error::AuthError;
use crate::keys::{self, KeyPolicy, KeySetError};
use crate::token;

/// Pipeline steps 1-7 (the crate's token parser) on raw token bytes.
///
/// ```
/// use verifier_core::{fuzzing, Algorithm, ErrorCode};
/// let err = fuzzing::parse_token(b"a.b", 16 * 1024, &[Algorithm::RS256]).unwrap_err();
/// assert_eq!(err.code(), ErrorCode::MalformedToken);
/// ```
pub fn parse_token(bytes: &[u8], max_bytes: usize, allowed: &[Algorithm]) -> Result<(), AuthError> {
    token::parse(
        bytes,
        max_bytes,
        allowed,
        Some(crate::profile::AccessTokenProfile::Generic),
    )
    .map(|_| ())
}

/// Steps 7 and 11-12: a payload (JSON bytes, as decoded from the token) through the
/// strict object parser and the claims policy of `config`, at the current time (of its clock).
///
/// ```
/// use verifier_core::{fuzzing, AuthConfig, ErrorCode};
/// let config = AuthConfig::builder().issuer("i").audience("a").jwks_url("http://127.0.0.1/").build().unwrap();
/// let err = fuzzing::validate_claims(br#"{"iss":"i","aud":"a"}"#, &config).unwrap_err();
/// assert_eq!(err.code(), ErrorCode::MissingClaim);
/// ```
pub fn validate_claims(payload: &[u8], config: &AuthConfig) -> Result<(), AuthError> {
    let payload = claims::Payload::parse(payload.to_vec())?;
    claims::validate(
        &payload,
        config,
        config.clock().unix_time(),
        crate::dpop::Presented::Bearer,
    )
}

/// The map-based reference of [`validate_claims`]: the strict map parser, then the
/// claims policy on the map (what the verifiers ran before the borrowed payload pass).
/// Property tests compare the two.
///
/// ```
/// use verifier_core::{fuzzing, AuthConfig, ErrorCode};
/// let config = AuthConfig::builder().issuer("i").audience("a").jwks_url("http://127.0.0.1/").build().unwrap();
/// let err = fuzzing::validate_claims_reference(br#"{"iss":"i","aud":"a"}"#, &config).unwrap_err();
/// assert_eq!(err.code(), ErrorCode::MissingClaim);
/// ```
pub fn validate_claims_reference(payload: &[u8], config: &AuthConfig) -> Result<(), AuthError> {
    let payload = token::parse_object(payload)?;
    claims::validate_map(
        &payload,
        config,
        config.clock().unix_time(),
        crate::dpop::Presented::Bearer,
    )
}

/// Whether step 7's reader accepts a payload.
pub fn parse_payload(data: &[u8]) -> bool {
    claims::Payload::parse(data.to_vec()).is_ok()
}

/// The `payload` fuzz target: step 7's one-pass reader against the map parser it
/// replaces on arbitrary bytes. Panics unless both accept or both refuse, every
/// registered claim reads the same from both, and the claims policy (two configurations)
/// gives the same outcome on both.
///
/// ```
/// verifier_core::fuzzing::payload_target(br#"{"iss":"i","aud":["a",1e3],"x":{"y":[null]}}"#);
/// ```
pub fn payload_target(data: &[u8]) {
    let fast = claims::Payload::parse(data.to_vec());
    let reference = token::parse_object(data);
    match (&fast, &reference) {
        (Ok(payload), Ok(map)) => {
            if let Some(diff) = claims::registered_differ(payload, map) {
                panic!("registered claims differ: {diff}");
            }
        }
        (Err(_), Err(_)) => return,
        _ => panic!(
            "acceptance differs: reader {:?}, map parser {:?}",
            fast.as_ref().err().map(|e| e.to_string()),
            reference.as_ref().err().map(|e| e.to_string())
        ),
    }
    for config in policy_configs() {
        let outcome = |r: Result<(), AuthError>| r.map_err(|e| (e.code(), e.to_string()));
        assert_eq!(
            outcome(validate_claims(data, config)),
            outcome(validate_claims_reference(data, config)),
        );
    }
}

/// The `header` fuzz target: step 3's one-pass reader against the `serde_json` reader
/// it replaced, on arbitrary bytes (a decoded header). Panics unless both accept or both
/// refuse and read the same `alg`, `kid`, `typ` and forbidden member; returns whether
/// they accept.
///
/// ```
/// assert!(verifier_core::fuzzing::header_target(br#"{"alg":"RS256","kid":"k\u0031"}"#));
/// assert!(!verifier_core::fuzzing::header_target(br#"{"alg":"RS256","\u0061lg":"x"}"#));
/// ```
pub fn header_target(data: &[u8]) -> bool {
    token::header_compare(data).unwrap_or_else(|diff| panic!("header readers differ: {diff}"))
}

/// The two configurations the claims fuzz targets check payloads against: one issuer, two
/// audiences; the second with leeway, required scopes and a required permission.
pub fn policy_configs() -> &'static [AuthConfig; 2] {
    static CONFIGS: std::sync::OnceLock<[AuthConfig; 2]> = std::sync::OnceLock::new();
    CONFIGS.get_or_init(|| {
        let base = || {
            AuthConfig::builder()
                .issuer("https://issuer.example/")
                .audiences(["https://api.example", "urn:second"])
                .jwks_url("https://issuer.example/jwks")
        };
        [
            base().build().expect("a valid configuration"),
            base()
                .leeway(std::time::Duration::from_secs(30))
                .required_scopes(["read", "write"])
                .required_permissions(["p:1"])
                .build()
                .expect("a valid configuration"),
        ]
    })
}

/// Whether an unverified payload passes the cheap checks that gate an unknown-kid
/// refresh: `(payload pass, map reference)`, both `false` when the payload is malformed.
pub fn cheap_checks_both(payload: &[u8], config: &AuthConfig) -> (bool, bool) {
    let now = config.clock().unix_time();
    let fast = claims::Payload::parse(payload.to_vec())
        .is_ok_and(|p| claims::passes_cheap_checks(&p, config, now));
    let reference = token::parse_object(payload)
        .is_ok_and(|m| claims::passes_cheap_checks_map(&m, config, now));
    (fast, reference)
}

/// A key-set document through the tolerant key-set parser, with the key policy of
/// `config` (allowed algorithms, minimum RSA length, most keys kept). Returns the number
/// of usable keys.
///
/// ```
/// use verifier_core::{fuzzing, AuthConfig};
/// let config = AuthConfig::builder().issuer("i").audience("a").jwks_url("http://127.0.0.1/").build().unwrap();
/// assert_eq!(fuzzing::parse_key_set(br#"{"keys":[]}"#, &config).unwrap(), 0);
/// assert!(fuzzing::parse_key_set(br#"{"keys":{}}"#, &config).is_err());
/// ```
pub fn parse_key_set(bytes: &[u8], config: &AuthConfig) -> Result<usize, KeySetError> {
    let policy = KeyPolicy {
        allowed: config.allowed_algs().to_vec(),
        enforce_min_len: config.enforce_minimum_key_length(),
        max_keys: config.jwks_max_cached_keys(),
    };
    keys::parse_key_set(bytes, &policy).map(|set| set.len())
}

/// DPoP proof checks D1–D6 (the `DPoP` field rules, header, key, signature, claims) on
/// an arbitrary header value, with `algs` as `dpop_algs`.
///
/// ```
/// use verifier_core::{fuzzing, Algorithm, ErrorCode};
/// let err = fuzzing::parse_dpop_proof(b"a.b", Algorithm::ALL).unwrap_err();
/// assert_eq!(err.code(), ErrorCode::InvalidDpopProof);
/// ```
pub fn parse_dpop_proof(value: &[u8], algs: &[Algorithm]) -> Result<(), AuthError> {
    let Ok(value) = http::HeaderValue::from_bytes(value) else {
        return Err(AuthError::new(crate::ErrorCode::InvalidDpopProof));
    };
    let mut headers = http::HeaderMap::new();
    headers.insert("dpop", value);
    let compact = crate::dpop::proof::proof_field(&headers)?;
    crate::dpop::proof::parse(compact, algs).map(|_| ())
}

/// [`parse_dpop_proof`] through the verifiers' fast path (borrowed pass, proof-key
/// cache) as well: `[reference, fast with a cold cache, fast with the cache that run
/// warmed]`, each the accepted proof's members (`Debug`) or the refusal's message. The
/// fuzz target asserts they agree.
///
/// ```
/// use verifier_core::{fuzzing, Algorithm};
/// let [a, b, c] = fuzzing::parse_dpop_proof_all(b"a.b.c", Algorithm::ALL);
/// assert_eq!(a, b);
/// assert_eq!(b, c);
/// ```
pub fn parse_dpop_proof_all(value: &[u8], algs: &[Algorithm]) -> [Result<String, String>; 3] {
    let outcome = |r: Result<crate::dpop::proof::ParsedProof, AuthError>| {
        r.map(|p| format!("{p:?}"))
            .map_err(|e| e.message().to_owned())
    };
    let Ok(value) = http::HeaderValue::from_bytes(value) else {
        let refused = Err(AuthError::new(crate::ErrorCode::InvalidDpopProof)
            .message()
            .to_owned());
        return [refused.clone(), refused.clone(), refused];
    };
    let mut headers = http::HeaderMap::new();
    headers.insert("dpop", value);
    let compact = match crate::dpop::proof::proof_field(&headers) {
        Ok(compact) => compact,
        Err(e) => {
            let refused = Err(e.message().to_owned());
            return [refused.clone(), refused.clone(), refused];
        }
    };
    let cache = crate::dpop::keycache::ProofKeyCache::default();
    [
        outcome(crate::dpop::proof::parse(compact, algs)),
        outcome(crate::dpop::proof::parse_cached(compact, algs, &cache)),
        outcome(crate::dpop::proof::parse_cached(compact, algs, &cache)),
    ]
}

/// The `htu` normal form (SPEC-2 §5.4), `None` for a refused URL.
///
/// ```
/// use verifier_core::fuzzing;
/// assert_eq!(fuzzing::normalize_htu("HTTPS://A.example:443/%7e").as_deref(), Some("https://a.example/~"));
/// assert_eq!(fuzzing::normalize_htu("//a.example/"), None);
/// ```
pub fn normalize_htu(input: &str) -> Option<String> {
    crate::dpop::htu::normalize(input).ok()
}

/// Whether `htu` matches a request for `path` behind the public base URL `base`
/// (`None` when `base` is not a valid base URL).
///
/// ```
/// use verifier_core::fuzzing;
/// assert_eq!(fuzzing::htu_matches("https://a.example/v1/me", "/me", "https://a.example/v1"), Some(true));
/// ```
pub fn htu_matches(htu: &str, path: &str, base: &str) -> Option<bool> {
    let base = crate::dpop::htu::BaseUrl::parse(base).ok()?;
    Some(crate::dpop::htu::matches(htu, path, std::slice::from_ref(&base)).unwrap_or(false))
}

/// The `dpop_proof` fuzz target's body: the proof checks D1–D6 never panic, every refusal
/// is `invalid_dpop_proof` with one of its fixed messages, and the verifiers' fast path
/// (borrowed pass, proof-key cache cold and warm) answers exactly as the reference.
/// Panics when one of these does not hold (the fuzz target's finding); the corpus replay
/// test runs the same body.
///
/// ```
/// verifier_core::fuzzing::dpop_proof_target(b"eyJhbGciOiJub25lIn0.e30.");
/// ```
pub fn dpop_proof_target(data: &[u8]) {
    const MESSAGES: [&str; 3] = [
        "Invalid DPoP proof",
        "Missing DPoP proof",
        "Multiple DPoP proofs",
    ];
    if let Err(err) = parse_dpop_proof(data, Algorithm::ALL) {
        assert_eq!(err.code(), crate::ErrorCode::InvalidDpopProof, "{err:?}");
        assert!(MESSAGES.contains(&err.message()), "{err:?}");
    }
    let [reference, cold, warm] = parse_dpop_proof_all(data, Algorithm::ALL);
    assert_eq!(reference, cold);
    assert_eq!(reference, warm);
}

/// The `htu` fuzz target's body: on any string, as `htu`, as a request path and as a base
/// URL, normalisation and matching never panic, and the normal form is idempotent.
/// Panics when one of these does not hold.
///
/// ```
/// verifier_core::fuzzing::htu_target(b"HTTPS://A.example:443/%7e");
/// ```
pub fn htu_target(data: &[u8]) {
    let Ok(input) = std::str::from_utf8(data) else {
        return;
    };
    if let Some(normal) = normalize_htu(input) {
        assert_eq!(normalize_htu(&normal).as_deref(), Some(normal.as_str()));
    }
    // The input as a request path behind a fixed base, and as a base URL.
    let _ = htu_matches(
        "https://api.example.com/me",
        input,
        "https://api.example.com",
    );
    let _ = htu_matches(input, "/me", "https://api.example.com/v1");
    let _ = htu_matches("https://api.example.com/me", "/me", input);
}
