//! Compact JWS parsing: every structural check of the pipeline's steps 1-7, with no I/O.

use std::fmt;

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine as _;
use serde::de::{self, Deserializer, MapAccess, Visitor};
use serde::Deserialize;
use serde_json::{Map, Value};

use crate::alg::Algorithm;
use crate::error::{AuthError, ErrorCode};

/// Header members that would let a token choose where its key comes from, or demand
/// processing we do not do. Their mere presence refuses the token.
const FORBIDDEN_HEADERS: [&str; 3] = ["jku", "x5u", "crit"];

/// A token that passed steps 1-7: structurally sound, allowed algorithm, has a `kid`.
/// Nothing here is trusted yet.
#[derive(Debug)]
pub(crate) struct UnverifiedToken<'a> {
    pub(crate) alg: Algorithm,
    pub(crate) kid: String,
    pub(crate) payload: Map<String, Value>,
    pub(crate) signing_input: &'a [u8],
    pub(crate) signature: Vec<u8>,
}

fn malformed() -> AuthError {
    AuthError::new(ErrorCode::MalformedToken)
}

/// Step 1: trims ASCII whitespace; empty is `missing_token`, too long `malformed_token`.
pub(crate) fn trim_token(token: &[u8], max_bytes: usize) -> Result<&[u8], AuthError> {
    let token = token.trim_ascii();
    if token.is_empty() {
        return Err(AuthError::new(ErrorCode::MissingToken));
    }
    if token.len() > max_bytes {
        return Err(malformed().with_message("Token too large"));
    }
    Ok(token)
}

/// Steps 1-7 of the pipeline, in order.
pub(crate) fn parse<'a>(
    token: &'a [u8],
    max_bytes: usize,
    allowed: &[Algorithm],
) -> Result<UnverifiedToken<'a>, AuthError> {
    let token = trim_token(token, max_bytes)?;

    // Step 2: exactly three segments, base64url without padding.
    let mut parts = token.split(|b| *b == b'.');
    let (Some(h), Some(p), Some(s), None) =
        (parts.next(), parts.next(), parts.next(), parts.next())
    else {
        return Err(malformed());
    };
    if h.is_empty() || p.is_empty() {
        return Err(malformed());
    }
    let header = b64(h)?;
    let payload = b64(p)?;
    let signature = b64(s)?;
    let signing_input = &token[..h.len() + 1 + p.len()];

    // Step 3: the header is a JSON object without duplicate members.
    let header = parse_object(&header)?;

    // Step 4: nothing in the token may locate or constrain key material.
    if FORBIDDEN_HEADERS
        .iter()
        .any(|name| header.contains_key(*name))
    {
        return Err(AuthError::new(ErrorCode::ForbiddenHeader));
    }

    // Step 5: alg, exactly one of the allowed names.
    let alg = match header.get("alg") {
        Some(Value::String(a)) if !a.is_empty() => a,
        _ => return Err(malformed().with_message("Missing alg header")),
    };
    let alg = match Algorithm::from_name(alg) {
        Some(a) if allowed.contains(&a) => a,
        _ => return Err(AuthError::new(ErrorCode::DisallowedAlg)),
    };

    // Step 6: kid, a non-empty string.
    let kid = match header.get("kid") {
        Some(Value::String(k)) if !k.is_empty() => k.clone(),
        _ => return Err(AuthError::new(ErrorCode::MissingKid)),
    };

    // Step 7: the payload is a JSON object without duplicate members.
    let payload = parse_object(&payload)?;

    Ok(UnverifiedToken {
        alg,
        kid,
        payload,
        signing_input,
        signature,
    })
}

fn b64(segment: &[u8]) -> Result<Vec<u8>, AuthError> {
    URL_SAFE_NO_PAD
        .decode(segment)
        .map_err(|e| malformed().with_source(e))
}

/// Parses a JSON object, refusing duplicate member names at the top level (two parsers
/// reading different values from one token is a known bypass).
pub(crate) fn parse_object(bytes: &[u8]) -> Result<Map<String, Value>, AuthError> {
    let mut de = serde_json::Deserializer::from_slice(bytes);
    let obj = StrictObject::deserialize(&mut de).map_err(|e| malformed().with_source(e))?;
    de.end().map_err(|e| malformed().with_source(e))?;
    Ok(obj.0)
}

struct StrictObject(Map<String, Value>);

impl<'de> Deserialize<'de> for StrictObject {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct V;
        impl<'de> Visitor<'de> for V {
            type Value = StrictObject;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a JSON object")
            }
            fn visit_map<A: MapAccess<'de>>(self, mut access: A) -> Result<StrictObject, A::Error> {
                let mut map = Map::new();
                while let Some(key) = access.next_key::<String>()? {
                    let value: Value = access.next_value()?;
                    if let Some(_old) = map.insert(key, value) {
                        return Err(de::Error::custom("duplicate member name"));
                    }
                }
                Ok(StrictObject(map))
            }
        }
        deserializer.deserialize_map(V)
    }
}

/// Decodes a token's header and payload without verifying anything.
///
/// For diagnostics only (the CLI's `decode`): the result is attacker-controlled.
///
/// ```
/// let token = "eyJhbGciOiJSUzI1NiJ9.eyJzdWIiOiJhIn0.c2ln";
/// let (header, payload) = verifier_core::decode_unverified(token).unwrap();
/// assert_eq!(header["alg"], "RS256");
/// assert_eq!(payload["sub"], "a");
/// ```
pub fn decode_unverified(token: impl AsRef<[u8]>) -> Result<(Value, Value), AuthError> {
    let token = token.as_ref().trim_ascii();
    let mut parts = token.split(|b| *b == b'.');
    let (Some(h), Some(p), Some(_), None) =
        (parts.next(), parts.next(), parts.next(), parts.next())
    else {
        return Err(malformed());
    };
    let header: Value = serde_json::from_slice(&b64(h)?).map_err(|e| malformed().with_source(e))?;
    let payload: Value =
        serde_json::from_slice(&b64(p)?).map_err(|e| malformed().with_source(e))?;
    Ok((header, payload))
}
