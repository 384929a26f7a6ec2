//! JWK → verification key, and tolerant key-set parsing.
//!
//! Key material is parsed once per fetched key set into `aws-lc-rs` public keys, one per
//! allowed algorithm the key can serve, so a verification never re-parses a key.

use std::collections::HashMap;
use std::fmt;
use std::sync::Arc;

use aws_lc_rs::signature::{self, ParsedPublicKey, VerificationAlgorithm};
use serde_json::{Map, Value};

use crate::alg::{Algorithm, Curve, KeyFamily};
use crate::error::{AuthError, ErrorCode};

/// RSA keys shorter than this are refused when minimum-length enforcement is on.
pub const MIN_RSA_BITS: usize = 2048;
const MAX_RSA_BITS: usize = 8192;
/// At most this many skipped entries are remembered (with reasons) per key set.
const MAX_SKIPPED_RECORDED: usize = 64;

/// A usable public key from the key set, ready to verify signatures. Cheap to clone.
#[derive(Clone)]
pub struct SigningKey {
    inner: Arc<KeyInner>,
}

struct KeyInner {
    kid: String,
    family: KeyFamily,
    jwk_alg: Option<Algorithm>,
    bits: usize,
    /// One parsed key per allowed algorithm this key may verify.
    verifiers: Vec<(Algorithm, ParsedPublicKey)>,
    jwk: Value,
}

impl SigningKey {
    /// The key id.
    pub fn kid(&self) -> &str {
        &self.inner.kid
    }
    /// The JWK key type: `"RSA"`, `"EC"` or `"OKP"`.
    pub fn key_type(&self) -> &'static str {
        match self.inner.family {
            KeyFamily::Rsa => "RSA",
            KeyFamily::Ec(_) => "EC",
            KeyFamily::Ed25519 => "OKP",
        }
    }
    /// The curve for EC and OKP keys.
    pub fn curve(&self) -> Option<&'static str> {
        match self.inner.family {
            KeyFamily::Rsa => None,
            KeyFamily::Ec(Curve::P256) => Some("P-256"),
            KeyFamily::Ec(Curve::P384) => Some("P-384"),
            KeyFamily::Ec(Curve::P521) => Some("P-521"),
            KeyFamily::Ed25519 => Some("Ed25519"),
        }
    }
    /// The key size in bits (RSA modulus length, or the curve size).
    pub fn bits(&self) -> usize {
        self.inner.bits
    }
    /// The JWK's `alg` member, when it names a supported algorithm.
    pub fn jwk_alg(&self) -> Option<Algorithm> {
        self.inner.jwk_alg
    }
    /// The allowed algorithms this key will verify (empty for a short RSA key when
    /// minimum-length enforcement is on, or when no allowed algorithm fits it).
    pub fn algorithms(&self) -> Vec<Algorithm> {
        self.inner.verifiers.iter().map(|(a, _)| *a).collect()
    }
    /// Whether this is an RSA key under 2048 bits.
    pub fn is_short_rsa(&self) -> bool {
        self.inner.family == KeyFamily::Rsa && self.inner.bits < MIN_RSA_BITS
    }
    /// The public JWK as published.
    pub fn jwk(&self) -> &Value {
        &self.inner.jwk
    }

    /// Whether the key's type (and its JWK `alg`, when present) fits `alg`, whatever the
    /// key length.
    pub(crate) fn fits(&self, alg: Algorithm) -> bool {
        self.inner.family == alg.family() && self.inner.jwk_alg.is_none_or(|a| a == alg)
    }

    /// Whether the key holds a parsed verifier for `alg`.
    pub(crate) fn verifies(&self, alg: Algorithm) -> bool {
        self.inner.verifiers.iter().any(|(a, _)| *a == alg)
    }

    /// Step 9 and 10: the key must fit `alg`, then the signature must verify.
    pub(crate) fn verify(
        &self,
        alg: Algorithm,
        message: &[u8],
        signature: &[u8],
        enforce_min_len: bool,
    ) -> Result<(), AuthError> {
        let key = &*self.inner;
        if !self.fits(alg) {
            return Err(AuthError::new(ErrorCode::DisallowedAlg));
        }
        if key.family == KeyFamily::Rsa && key.bits < MIN_RSA_BITS && enforce_min_len {
            return Err(AuthError::new(ErrorCode::InvalidToken).with_message("Invalid token"));
        }
        let Some((_, parsed)) = key.verifiers.iter().find(|(a, _)| *a == alg) else {
            // e.g. a short RSA key with an algorithm aws-lc-rs has no legacy form for.
            return Err(AuthError::new(ErrorCode::InvalidToken));
        };
        parsed
            .verify_sig(message, signature)
            .map_err(|_| AuthError::new(ErrorCode::InvalidSignature))
    }
}

impl fmt::Debug for SigningKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SigningKey")
            .field("kid", &self.inner.kid)
            .field("kty", &self.key_type())
            .field("crv", &self.curve())
            .field("bits", &self.inner.bits)
            .field("alg", &self.inner.jwk_alg)
            .finish()
    }
}

/// A key-set entry that was skipped, and why.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct SkippedKey {
    /// The entry's `kid`, when it had a string one.
    pub kid: Option<String>,
    /// Why it was skipped.
    pub reason: String,
}

/// A parsed key set: kid → keys, plus what was skipped.
///
/// A `kid` usually names one key. RFC 7517 §4.5 allows the same `kid` on keys of
/// different types (an RSA and an EC alternative): such keys are all kept, as long as no
/// two of them can verify the same algorithm, and the token's `alg` picks among them.
#[derive(Debug, Default)]
pub(crate) struct ParsedKeySet {
    keys: HashMap<String, Vec<SigningKey>>,
    /// Keys in document order (for listing).
    order: Vec<SigningKey>,
    pub(crate) skipped_count: usize,
    pub(crate) skipped: Vec<SkippedKey>,
}

impl ParsedKeySet {
    /// The key named `kid` for a token signed with `alg`: the one that verifies `alg`,
    /// else one whose type fits it (a short RSA key, refused at verification), else
    /// the first key with that kid (refused as `disallowed_alg`). With no `alg`, the
    /// first key with that kid.
    pub(crate) fn get(&self, kid: &str, alg: Option<Algorithm>) -> Option<&SigningKey> {
        let keys = self.keys.get(kid)?;
        let Some(alg) = alg else {
            return keys.first();
        };
        keys.iter()
            .find(|k| k.verifies(alg))
            .or_else(|| keys.iter().find(|k| k.fits(alg)))
            .or_else(|| keys.first())
    }

    /// Whether some key has this `kid`.
    pub(crate) fn has_kid(&self, kid: &str) -> bool {
        self.keys.contains_key(kid)
    }

    /// The usable keys in document order.
    pub(crate) fn keys(&self) -> &[SigningKey] {
        &self.order
    }

    /// How many usable keys the set holds.
    pub(crate) fn len(&self) -> usize {
        self.order.len()
    }

    fn skip(&mut self, kid: Option<String>, reason: String) {
        self.skipped_count += 1;
        if self.skipped.len() < MAX_SKIPPED_RECORDED {
            self.skipped.push(SkippedKey { kid, reason });
        }
    }

    /// Why a key of `kid` that can serve `algs` may not join the set, if it may not.
    fn refuse(&self, kid: &str, algs: &[Algorithm], max_keys: usize) -> Option<String> {
        if let Some(existing) = self.keys.get(kid) {
            let overlaps = existing.iter().any(|k| algs.iter().any(|a| k.fits(*a)));
            if overlaps {
                return Some("duplicate kid (first wins)".to_owned());
            }
        }
        (self.order.len() >= max_keys).then(|| format!("over jwks_max_cached_keys ({max_keys})"))
    }
}

/// Options that shape key parsing.
#[derive(Clone, Debug)]
pub(crate) struct KeyPolicy {
    pub(crate) allowed: Vec<Algorithm>,
    pub(crate) enforce_min_len: bool,
    pub(crate) max_keys: usize,
}

/// Why a key-set document was refused as a whole.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum KeySetError {
    /// The body is not JSON (the parser's error is the [`source`](std::error::Error::source)).
    #[error("key set is not valid JSON: {0}")]
    Json(#[source] Box<dyn std::error::Error + Send + Sync>),
    /// The document is not an object with a `keys` array.
    #[error("key set is not an object with a \"keys\" array")]
    Shape,
    /// No entry was usable. A well-formed key set without a usable key is not a failed
    /// fetch: it is installed (and revokes every key); this variant describes it to
    /// tools that report on a key set, such as `oidc-verify jwks`.
    #[error("key set has no usable keys ({skipped} entries skipped)")]
    NoUsableKeys {
        /// How many entries were skipped.
        skipped: usize,
    },
    /// The response exceeded the configured size cap.
    #[error("key set response exceeds {limit} bytes")]
    TooLarge {
        /// The cap, in bytes.
        limit: usize,
    },
    /// The endpoint answered with a non-2xx status.
    #[error("key set endpoint answered HTTP {0}")]
    Status(u16),
    /// The request was redirected (redirects are never followed).
    #[error("key set request was redirected")]
    Redirected,
    /// Connection, TLS or timeout failure.
    #[error("key set request failed: {0}")]
    Transport(#[source] Box<dyn std::error::Error + Send + Sync>),
    /// The issuer's metadata could not supply the key-set URL (`discovery_failed` or
    /// `discovery_error`; the metadata failure is the source).
    #[error("key set URL not discovered: {0}")]
    Discovery(#[source] AuthError),
}

impl KeySetError {
    /// The pipeline code: transport problems are `jwks_fetch_failed`, bad documents `jwks_error`.
    pub fn code(&self) -> ErrorCode {
        match self {
            KeySetError::Status(_) | KeySetError::Redirected | KeySetError::Transport(_) => {
                ErrorCode::JwksFetchFailed
            }
            KeySetError::Discovery(err) => err.code(),
            _ => ErrorCode::JwksError,
        }
    }

    pub(crate) fn into_auth_error(self) -> AuthError {
        if let KeySetError::Discovery(err) = self {
            return err;
        }
        AuthError::new(self.code()).with_source(self)
    }
}

/// Parses a key-set document. Unusable entries are skipped and counted; a document
/// that is not `{"keys": [...]}` is an error. A well-formed document with no usable
/// entry is a valid, empty set: the issuer's published set is authoritative.
pub(crate) fn parse_key_set(body: &[u8], policy: &KeyPolicy) -> Result<ParsedKeySet, KeySetError> {
    let doc: Value = serde_json::from_slice(body).map_err(|e| KeySetError::Json(Box::new(e)))?;
    let Some(entries) = doc.get("keys").and_then(Value::as_array) else {
        return Err(KeySetError::Shape);
    };
    if !doc.is_object() {
        return Err(KeySetError::Shape);
    }
    let mut set = ParsedKeySet::default();
    for entry in entries {
        let kid = entry.get("kid").and_then(Value::as_str).map(str::to_owned);
        let outcome = parse_jwk(entry, policy, |kid, algs| {
            set.refuse(kid, algs, policy.max_keys).map_or(Ok(()), Err)
        });
        match outcome {
            Ok(key) => {
                set.keys
                    .entry(key.inner.kid.clone())
                    .or_default()
                    .push(key.clone());
                set.order.push(key);
            }
            Err(reason) => set.skip(kid, reason),
        }
    }
    Ok(set)
}

fn field<'a>(jwk: &'a Map<String, Value>, name: &str) -> Result<&'a str, String> {
    jwk.get(name)
        .and_then(Value::as_str)
        .ok_or_else(|| format!("missing or non-string \"{name}\""))
}

fn b64_field(jwk: &Map<String, Value>, name: &str) -> Result<Vec<u8>, String> {
    crate::b64::decode(field(jwk, name)?.as_bytes())
        .map_err(|_| format!("\"{name}\" is not base64url"))
}

/// One JWK → a [`SigningKey`], or the reason it is unusable.
///
/// The cheap checks run first; then `admit` (given the kid and the allowed algorithms
/// the key fits) may refuse the key before its material is parsed, so entries that
/// cannot join the set (duplicate kid, set full) cost no key parsing.
pub(crate) fn parse_jwk(
    entry: &Value,
    policy: &KeyPolicy,
    admit: impl FnOnce(&str, &[Algorithm]) -> Result<(), String>,
) -> Result<SigningKey, String> {
    let jwk = entry.as_object().ok_or("entry is not an object")?;
    let kid = match jwk.get("kid") {
        Some(Value::String(k)) if !k.is_empty() => k.clone(),
        _ => return Err("missing kid".into()),
    };
    if let Some(u) = jwk.get("use") {
        if u != "sig" {
            return Err(format!("use is {u}, not \"sig\""));
        }
    }
    if let Some(ops) = jwk.get("key_ops") {
        let verifies = ops
            .as_array()
            .is_some_and(|ops| ops.iter().any(|o| o == "verify"));
        if !verifies {
            return Err("key_ops does not include \"verify\"".into());
        }
    }
    let jwk_alg = match jwk.get("alg") {
        None | Some(Value::Null) => None,
        Some(Value::String(a)) => {
            Some(Algorithm::from_name(a).ok_or_else(|| format!("unsupported alg {a:?}"))?)
        }
        Some(_) => return Err("alg is not a string".into()),
    };
    let (family, material, bits) = public_material(jwk)?;
    if let Some(a) = jwk_alg {
        if a.family() != family {
            return Err(format!("alg {a} does not fit the key"));
        }
    }
    // The allowed algorithms this key fits. A key that fits none of them could never
    // verify a token: it takes no kid and no slot in the set.
    let fitting: Vec<Algorithm> = policy
        .allowed
        .iter()
        .copied()
        .filter(|alg| alg.family() == family && jwk_alg.is_none_or(|a| a == *alg))
        .collect();
    if fitting.is_empty() {
        return Err("fits none of the allowed algorithms".into());
    }
    admit(&kid, &fitting)?;
    let short = family == KeyFamily::Rsa && bits < MIN_RSA_BITS;
    let mut verifiers = Vec::new();
    for &alg in &fitting {
        if short && policy.enforce_min_len {
            continue;
        }
        let Some(params) = verification_params(alg, short) else {
            continue;
        };
        let parsed = ParsedPublicKey::new(params, &material)
            .map_err(|e| format!("bad key material ({e})"))?;
        verifiers.push((alg, parsed));
    }
    Ok(SigningKey {
        inner: Arc::new(KeyInner {
            kid,
            family,
            jwk_alg,
            bits,
            verifiers,
            jwk: entry.clone(),
        }),
    })
}

/// The key family, the public key in the form aws-lc-rs takes (DER `RSAPublicKey`, the
/// uncompressed EC point, the raw Ed25519 key) and the key size in bits, from a JWK's
/// public members. Refuses symmetric, unknown and malformed keys, RSA over 8192 bits and
/// small-order Ed25519 keys. Whether the material is a valid point is checked when it
/// is parsed (`ParsedPublicKey::new`).
fn public_material(jwk: &Map<String, Value>) -> Result<(KeyFamily, Vec<u8>, usize), String> {
    let kty = field(jwk, "kty")?;
    Ok(match kty {
        "RSA" => {
            let n = strip_zeros(b64_field(jwk, "n")?);
            let e = strip_zeros(b64_field(jwk, "e")?);
            let bits = bit_len(&n);
            if bits == 0 || e.is_empty() || e.len() > 8 {
                return Err("bad RSA material".into());
            }
            if bits > MAX_RSA_BITS {
                return Err(format!("RSA key of {bits} bits is over {MAX_RSA_BITS}"));
            }
            (KeyFamily::Rsa, rsa_public_key_der(&n, &e), bits)
        }
        "EC" => {
            let (curve, size) = match field(jwk, "crv")? {
                "P-256" => (Curve::P256, 32),
                "P-384" => (Curve::P384, 48),
                "P-521" => (Curve::P521, 66),
                other => return Err(format!("unsupported curve {other:?}")),
            };
            let x = b64_field(jwk, "x")?;
            let y = b64_field(jwk, "y")?;
            if x.len() != size || y.len() != size {
                return Err("bad EC coordinates".into());
            }
            let mut point = Vec::with_capacity(1 + 2 * size);
            point.push(0x04);
            point.extend_from_slice(&x);
            point.extend_from_slice(&y);
            let bits = match curve {
                Curve::P256 => 256,
                Curve::P384 => 384,
                Curve::P521 => 521,
            };
            (KeyFamily::Ec(curve), point, bits)
        }
        "OKP" => {
            match field(jwk, "crv")? {
                "Ed25519" => {}
                other => return Err(format!("unsupported curve {other:?}")),
            }
            let x = b64_field(jwk, "x")?;
            if x.len() != 32 {
                return Err("bad Ed25519 key".into());
            }
            if is_small_order_ed25519(&x) {
                // Such a key accepts forged signatures (R = identity, S = 0) for any
                // message, or for a share of them: never a real issuer's key.
                return Err("Ed25519 key of small order".into());
            }
            (KeyFamily::Ed25519, x, 256)
        }
        "oct" => return Err("symmetric key".into()),
        other => return Err(format!("unsupported kty {other:?}")),
    })
}

/// JWK members that carry private or symmetric key material (RFC 7518 §6.2.2, §6.3.2,
/// §6.4): a public key presented with any of them is refused.
pub(crate) const PRIVATE_MEMBERS: [&str; 8] = ["d", "p", "q", "dp", "dq", "qi", "oth", "k"];

/// The RFC 7638 SHA-256 thumbprint of a JWK, base64url without padding.
pub(crate) type Thumbprint = String;

/// A public JWK carried by a DPoP proof (RFC 9449 §4.2) → a key that verifies `alg`,
/// and its RFC 7638 thumbprint.
///
/// The DPoP proof-key cache is keyed on the members this reads (`kty crv x y n e alg`, see
/// `dpop::borrowed::JWK_MEMBERS`) and the presence of a private member: reading another
/// member here means adding it there.
///
/// Stricter than key-set parsing: no `kid` is needed, but private members (`d p q dp dq
/// qi oth k`) refuse the key, RSA must be at least 2048 bits whatever the configuration,
/// the key must be of `alg`'s family and curve, and a JWK `alg` member must equal `alg`.
pub(crate) fn parse_public_jwk(
    jwk: &Map<String, Value>,
    alg: Algorithm,
) -> Result<(ParsedPublicKey, Thumbprint), String> {
    if let Some(name) = PRIVATE_MEMBERS.iter().find(|m| jwk.contains_key(**m)) {
        // The member's name only, never its value.
        return Err(format!("private member {name:?} in a public key"));
    }
    match jwk.get("alg") {
        None => {}
        Some(Value::String(a)) if a == alg.as_str() => {}
        Some(_) => return Err("the key's alg is not the proof's alg".into()),
    }
    let (family, material, bits) = public_material(jwk)?;
    if family != alg.family() {
        return Err(format!("alg {alg} does not fit the key"));
    }
    if family == KeyFamily::Rsa && bits < MIN_RSA_BITS {
        return Err(format!("RSA key of {bits} bits is under {MIN_RSA_BITS}"));
    }
    let params = verification_params(alg, false).ok_or("no verifier for alg")?;
    let parsed =
        ParsedPublicKey::new(params, &material).map_err(|e| format!("bad key material ({e})"))?;
    let thumbprint = jwk_thumbprint(jwk)?;
    Ok((parsed, thumbprint))
}

/// The RFC 7638 thumbprint of a JWK: SHA-256 of the JSON object of its required
/// members only (RSA `e kty n`; EC `crv kty x y`; OKP `crv kty x`), in lexicographic
/// order, without whitespace, with the published strings as they are; base64url.
pub(crate) fn jwk_thumbprint(jwk: &Map<String, Value>) -> Result<Thumbprint, String> {
    let members: &[&str] = match field(jwk, "kty")? {
        "RSA" => &["e", "kty", "n"],
        "EC" => &["crv", "kty", "x", "y"],
        "OKP" => &["crv", "kty", "x"],
        other => return Err(format!("unsupported kty {other:?}")),
    };
    let mut canonical = String::with_capacity(512);
    canonical.push('{');
    for (i, name) in members.iter().enumerate() {
        if i > 0 {
            canonical.push(',');
        }
        // Member names are plain ASCII; values are JSON-escaped as serde_json writes
        // them (base64url strings need no escaping; anything else is escaped as JSON).
        canonical.push('"');
        canonical.push_str(name);
        canonical.push_str("\":");
        canonical.push_str(&Value::from(field(jwk, name)?).to_string());
    }
    canonical.push('}');
    let digest = aws_lc_rs::digest::digest(&aws_lc_rs::digest::SHA256, canonical.as_bytes());
    Ok(crate::b64::encode(digest.as_ref()))
}

fn verification_params(
    alg: Algorithm,
    short_rsa: bool,
) -> Option<&'static dyn VerificationAlgorithm> {
    Some(match (alg, short_rsa) {
        (Algorithm::RS256, false) => &signature::RSA_PKCS1_2048_8192_SHA256,
        (Algorithm::RS384, false) => &signature::RSA_PKCS1_2048_8192_SHA384,
        (Algorithm::RS512, false) => &signature::RSA_PKCS1_2048_8192_SHA512,
        (Algorithm::PS256, false) => &signature::RSA_PSS_2048_8192_SHA256,
        (Algorithm::PS384, false) => &signature::RSA_PSS_2048_8192_SHA384,
        (Algorithm::PS512, false) => &signature::RSA_PSS_2048_8192_SHA512,
        // Legacy forms exist only for these two; other algorithms refuse short keys.
        (Algorithm::RS256, true) => &signature::RSA_PKCS1_1024_8192_SHA256_FOR_LEGACY_USE_ONLY,
        (Algorithm::RS512, true) => &signature::RSA_PKCS1_1024_8192_SHA512_FOR_LEGACY_USE_ONLY,
        (_, true) => return None,
        (Algorithm::ES256, _) => &signature::ECDSA_P256_SHA256_FIXED,
        (Algorithm::ES384, _) => &signature::ECDSA_P384_SHA384_FIXED,
        (Algorithm::ES512, _) => &signature::ECDSA_P521_SHA512_FIXED,
        (Algorithm::EdDSA, _) => &signature::ED25519,
    })
}

/// The encodings of the eight Ed25519 points of small order (orders 1, 2, 4 and 8), in
/// both sign-bit forms, and the non-canonical encodings (y >= p) of two of them.
const ED25519_SMALL_ORDER: [[u8; 32]; 14] = {
    const fn point(low: [u8; 31], high: u8) -> [u8; 32] {
        let mut out = [0u8; 32];
        let mut i = 0;
        while i < 31 {
            out[i] = low[i];
            i += 1;
        }
        out[31] = high;
        out
    }
    const fn ff(first: u8) -> [u8; 31] {
        let mut out = [0xff; 31];
        out[0] = first;
        out
    }
    const fn zero(first: u8) -> [u8; 31] {
        let mut out = [0; 31];
        out[0] = first;
        out
    }
    const ORDER8_A: [u8; 31] = [
        0x26, 0xe8, 0x95, 0x8f, 0xc2, 0xb2, 0x27, 0xb0, 0x45, 0xc3, 0xf4, 0x89, 0xf2, 0xef, 0x98,
        0xf0, 0xd5, 0xdf, 0xac, 0x05, 0xd3, 0xc6, 0x33, 0x39, 0xb1, 0x38, 0x02, 0x88, 0x6d, 0x53,
        0xfc,
    ];
    const ORDER8_B: [u8; 31] = [
        0xc7, 0x17, 0x6a, 0x70, 0x3d, 0x4d, 0xd8, 0x4f, 0xba, 0x3c, 0x0b, 0x76, 0x0d, 0x10, 0x67,
        0x0f, 0x2a, 0x20, 0x53, 0xfa, 0x2c, 0x39, 0xcc, 0xc6, 0x4e, 0xc7, 0xfd, 0x77, 0x92, 0xac,
        0x03,
    ];
    [
        point(zero(0), 0x00), // y = 0: order 4
        point(zero(0), 0x80),
        point(zero(1), 0x00), // y = 1: the identity
        point(zero(1), 0x80),
        point(ff(0xec), 0x7f), // y = p - 1: order 2
        point(ff(0xec), 0xff),
        point(ff(0xed), 0x7f), // y = p, non-canonical 0
        point(ff(0xed), 0xff),
        point(ff(0xee), 0x7f), // y = p + 1, non-canonical 1
        point(ff(0xee), 0xff),
        point(ORDER8_A, 0x05), // order 8
        point(ORDER8_A, 0x85),
        point(ORDER8_B, 0x7a),
        point(ORDER8_B, 0xfa),
    ]
};

/// Whether a 32-byte Ed25519 public key encodes a point of small order.
fn is_small_order_ed25519(x: &[u8]) -> bool {
    ED25519_SMALL_ORDER.iter().any(|p| p.as_slice() == x)
}

fn strip_zeros(mut v: Vec<u8>) -> Vec<u8> {
    let first = v.iter().position(|b| *b != 0).unwrap_or(v.len());
    v.drain(..first);
    v
}

fn bit_len(n: &[u8]) -> usize {
    match n.first() {
        None => 0,
        Some(b) => (n.len() - 1) * 8 + (8 - b.leading_zeros() as usize),
    }
}

/// DER `RSAPublicKey ::= SEQUENCE { modulus INTEGER, publicExponent INTEGER }` (RFC 8017).
fn rsa_public_key_der(n: &[u8], e: &[u8]) -> Vec<u8> {
    fn integer(out: &mut Vec<u8>, v: &[u8]) {
        let pad = v.first().is_some_and(|b| b & 0x80 != 0);
        out.push(0x02);
        length(out, v.len() + usize::from(pad));
        if pad {
            out.push(0);
        }
        out.extend_from_slice(v);
    }
    fn length(out: &mut Vec<u8>, len: usize) {
        if len < 0x80 {
            out.push(len as u8);
        } else {
            let bytes = len.to_be_bytes();
            let skip = bytes
                .iter()
                .position(|b| *b != 0)
                .unwrap_or(bytes.len() - 1);
            out.push(0x80 | (bytes.len() - skip) as u8);
            out.extend_from_slice(&bytes[skip..]);
        }
    }
    let mut body = Vec::with_capacity(n.len() + e.len() + 16);
    integer(&mut body, n);
    integer(&mut body, e);
    let mut out = Vec::with_capacity(body.len() + 4);
    out.push(0x30);
    length(&mut out, body.len());
    out.extend_from_slice(&body);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Issue 10 item 7: every listed encoding is a real small-order key: with it, a
    /// signature (R = a small-order point, S = 0) that nobody made verifies.
    #[test]
    fn small_order_ed25519_keys_accept_forgeries() {
        let mut forged_keys = 0;
        for key in &ED25519_SMALL_ORDER {
            let mut forged = 0;
            for n in 0u8..64 {
                let message = [n; 3];
                let accepted = ED25519_SMALL_ORDER.iter().any(|r| {
                    let mut sig = [0u8; 64];
                    sig[..32].copy_from_slice(r);
                    signature::UnparsedPublicKey::new(&signature::ED25519, key)
                        .verify(&message, &sig)
                        .is_ok()
                });
                forged += usize::from(accepted);
            }
            if forged > 0 {
                forged_keys += 1;
            }
            assert!(is_small_order_ed25519(key));
        }
        // The eight canonical encodings forge; aws-lc's decoder refuses the six
        // non-canonical ones today, and they are listed anyway (defence in depth).
        assert!(forged_keys >= 8, "{forged_keys}");
        let real = [7u8; 32];
        assert!(!is_small_order_ed25519(&real));
    }

    #[test]
    fn der_lengths() {
        let der = rsa_public_key_der(&[0x80; 256], &[1, 0, 1]);
        assert_eq!(&der[..4], &[0x30, 0x82, 0x01, 0x0a]);
        assert_eq!(bit_len(&[0x01, 0x00]), 9);
        assert_eq!(strip_zeros(vec![0, 0, 5]), vec![5]);
    }
}
