//! JWK → verification key, and tolerant key-set parsing.
//!
//! Key material is parsed once per fetched key set into `aws-lc-rs` public keys, one per
//! allowed algorithm the key can serve, so a verification never re-parses a key.

use std::collections::HashMap;
use std::fmt;
use std::sync::Arc;

use aws_lc_rs::signature::{self, ParsedPublicKey, VerificationAlgorithm};
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine as _;
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

    /// Step 9 and 10: the key must fit `alg`, then the signature must verify.
    pub(crate) fn verify(
        &self,
        alg: Algorithm,
        message: &[u8],
        signature: &[u8],
        enforce_min_len: bool,
    ) -> Result<(), AuthError> {
        let key = &*self.inner;
        if key.family != alg.family() || key.jwk_alg.is_some_and(|a| a != alg) {
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
pub struct SkippedKey {
    /// The entry's `kid`, when it had a string one.
    pub kid: Option<String>,
    /// Why it was skipped.
    pub reason: String,
}

/// A parsed key set: kid → key, plus what was skipped.
#[derive(Debug, Default)]
pub(crate) struct ParsedKeySet {
    pub(crate) keys: HashMap<String, SigningKey>,
    /// Keys in document order (for listing).
    pub(crate) order: Vec<String>,
    pub(crate) skipped_count: usize,
    pub(crate) skipped: Vec<SkippedKey>,
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
    /// The body is not JSON.
    #[error("key set is not valid JSON: {0}")]
    Json(#[from] serde_json::Error),
    /// The document is not an object with a `keys` array.
    #[error("key set is not an object with a \"keys\" array")]
    Shape,
    /// No entry was usable.
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
}

impl KeySetError {
    /// The pipeline code: transport problems are `jwks_fetch_failed`, bad documents `jwks_error`.
    pub fn code(&self) -> ErrorCode {
        match self {
            KeySetError::Status(_) | KeySetError::Redirected | KeySetError::Transport(_) => {
                ErrorCode::JwksFetchFailed
            }
            _ => ErrorCode::JwksError,
        }
    }

    pub(crate) fn into_auth_error(self) -> AuthError {
        AuthError::new(self.code()).with_source(self)
    }
}

/// Parses a key-set document. Unusable entries are skipped and counted; a document
/// that is not `{"keys": [...]}` or has no usable entry is an error.
pub(crate) fn parse_key_set(body: &[u8], policy: &KeyPolicy) -> Result<ParsedKeySet, KeySetError> {
    let doc: Value = serde_json::from_slice(body)?;
    let Some(entries) = doc.get("keys").and_then(Value::as_array) else {
        return Err(KeySetError::Shape);
    };
    if !doc.is_object() {
        return Err(KeySetError::Shape);
    }
    let mut set = ParsedKeySet::default();
    for entry in entries {
        let kid = entry.get("kid").and_then(Value::as_str).map(str::to_owned);
        let outcome = match &kid {
            Some(k) if set.keys.contains_key(k) => Err("duplicate kid (first wins)".to_owned()),
            _ if set.keys.len() >= policy.max_keys => {
                Err(format!("over jwks_max_cached_keys ({})", policy.max_keys))
            }
            _ => parse_jwk(entry, policy),
        };
        match outcome {
            Ok(key) => {
                set.order.push(key.inner.kid.clone());
                set.keys.insert(key.inner.kid.clone(), key);
            }
            Err(reason) => {
                set.skipped_count += 1;
                if set.skipped.len() < MAX_SKIPPED_RECORDED {
                    set.skipped.push(SkippedKey { kid, reason });
                }
            }
        }
    }
    if set.keys.is_empty() {
        return Err(KeySetError::NoUsableKeys {
            skipped: set.skipped_count,
        });
    }
    Ok(set)
}

fn field<'a>(jwk: &'a Map<String, Value>, name: &str) -> Result<&'a str, String> {
    jwk.get(name)
        .and_then(Value::as_str)
        .ok_or_else(|| format!("missing or non-string \"{name}\""))
}

fn b64_field(jwk: &Map<String, Value>, name: &str) -> Result<Vec<u8>, String> {
    URL_SAFE_NO_PAD
        .decode(field(jwk, name)?)
        .map_err(|_| format!("\"{name}\" is not base64url"))
}

/// One JWK → a [`SigningKey`], or the reason it is unusable.
pub(crate) fn parse_jwk(entry: &Value, policy: &KeyPolicy) -> Result<SigningKey, String> {
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
    let kty = field(jwk, "kty")?;
    let (family, material, bits) = match kty {
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
            (KeyFamily::Ed25519, x, 256)
        }
        "oct" => return Err("symmetric key".into()),
        other => return Err(format!("unsupported kty {other:?}")),
    };
    if let Some(a) = jwk_alg {
        if a.family() != family {
            return Err(format!("alg {a} does not fit the key"));
        }
    }
    let short = family == KeyFamily::Rsa && bits < MIN_RSA_BITS;
    let mut verifiers = Vec::new();
    for &alg in &policy.allowed {
        if alg.family() != family || jwk_alg.is_some_and(|a| a != alg) {
            continue;
        }
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
    if !short {
        // Validate the material even when no allowed algorithm fits this key.
        if verifiers.is_empty() {
            let probe = match family {
                KeyFamily::Rsa => verification_params(Algorithm::RS256, false),
                KeyFamily::Ec(Curve::P256) => verification_params(Algorithm::ES256, false),
                KeyFamily::Ec(Curve::P384) => verification_params(Algorithm::ES384, false),
                KeyFamily::Ec(Curve::P521) => verification_params(Algorithm::ES512, false),
                KeyFamily::Ed25519 => verification_params(Algorithm::EdDSA, false),
            };
            if let Some(params) = probe {
                ParsedPublicKey::new(params, &material)
                    .map_err(|e| format!("bad key material ({e})"))?;
            }
        }
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

    #[test]
    fn der_lengths() {
        let der = rsa_public_key_der(&[0x80; 256], &[1, 0, 1]);
        assert_eq!(&der[..4], &[0x30, 0x82, 0x01, 0x0a]);
        assert_eq!(bit_len(&[0x01, 0x00]), 9);
        assert_eq!(strip_zeros(vec![0, 0, 5]), vec![5]);
    }
}
