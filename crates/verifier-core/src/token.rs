//! Compact JWS parsing: every structural check of steps 1-7 of the pipeline in
//! docs/security.md, with no I/O.

use std::fmt;

use serde::de::{self, Deserializer, MapAccess, Visitor};
use serde::Deserialize;
use serde_json::{Map, Value};

use crate::alg::Algorithm;
use crate::claims::Payload;
use crate::error::{AuthError, ErrorCode};
use crate::json::{self, Reader};
use crate::profile::{AccessTokenProfile, Typ};

/// Header members that would let a token choose where its key comes from, or demand
/// processing we do not do. Their mere presence refuses the token.
const FORBIDDEN_HEADERS: [&str; 3] = ["jku", "x5u", "crit"];

/// A token that passed steps 1-7: structurally sound, allowed algorithm, has a `kid`.
/// Nothing here is trusted yet.
#[derive(Debug)]
pub(crate) struct UnverifiedToken<'a> {
    pub(crate) alg: Algorithm,
    /// The header `typ`, classified (step 5b).
    pub(crate) typ: Typ,
    pub(crate) kid: String,
    pub(crate) payload: Payload,
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

/// Steps 1-7 of the pipeline, in order; step 5b (`typ`) when `profile` is given (a
/// verifier of several issuers checks it after routing, with the issuer's profile).
pub(crate) fn parse<'a>(
    token: &'a [u8],
    max_bytes: usize,
    allowed: &[Algorithm],
    profile: Option<AccessTokenProfile>,
) -> Result<UnverifiedToken<'a>, AuthError> {
    let token = trim_token(token, max_bytes)?;

    // Step 2: exactly three segments, base64url without padding. The two dots are found
    // with SIMD; decoding refuses any other byte that is not base64url (a third `.`,
    // non-ASCII, whitespace), so the token needs no UTF-8 check of its own.
    let dot = memchr::memchr(b'.', token).ok_or_else(malformed)?;
    let (h, rest) = (&token[..dot], &token[dot + 1..]);
    let dot = memchr::memchr(b'.', rest).ok_or_else(malformed)?;
    let (p, s) = (&rest[..dot], &rest[dot + 1..]);
    if h.is_empty() || p.is_empty() {
        return Err(malformed());
    }
    // The header is decoded into a stack buffer when it fits (dropped at the end of
    // parsing); the payload into a vector that the verified claims keep; the signature
    // into an exact-size vector.
    let mut header_buf = [0u8; 512];
    let mut header_vec = Vec::new();
    let header = crate::b64::decode_into(h, &mut header_buf, &mut header_vec)
        .map_err(|e| malformed().with_source(e))?;
    let payload = b64(p)?;
    let signature = b64(s)?;
    let signing_input = &token[..h.len() + 1 + p.len()];

    // Step 3: the header is a JSON object without duplicate members. One borrowed pass
    // keeps `alg`, `kid` and `typ` (and whether a forbidden member is present): no map
    // is built.
    let header = parse_header(header)?;

    // Step 4: nothing in the token may locate or constrain key material.
    if header.forbidden {
        return Err(AuthError::new(ErrorCode::ForbiddenHeader));
    }

    // Step 5: alg, exactly one of the allowed names.
    let alg = match &header.alg {
        Some(Member::Str(a)) if !a.is_empty() => a,
        _ => return Err(malformed().with_message("Missing alg header")),
    };
    let alg = match Algorithm::from_name(alg) {
        Some(a) if allowed.contains(&a) => a,
        _ => return Err(AuthError::new(ErrorCode::DisallowedAlg)),
    };

    // Step 5b: the header `typ` against the access-token profile.
    let typ = match &header.typ {
        None => Typ::Absent,
        Some(Member::Str(t)) => Typ::of_str(t),
        Some(Member::Other) => Typ::Other,
    };
    if let Some(profile) = profile {
        check_typ(profile, typ)?;
    }

    // Step 6: kid, a non-empty string.
    let kid = match header.kid {
        Some(Member::Str(k)) if !k.is_empty() => k.into_owned(),
        _ => return Err(AuthError::new(ErrorCode::MissingKid)),
    };

    // Step 7: the payload is a JSON object without duplicate members. One borrowed pass
    // keeps the registered claims; the map of every claim is built only when read.
    let payload = Payload::parse(payload)?;

    Ok(UnverifiedToken {
        alg,
        typ,
        kid,
        payload,
        signing_input,
        signature,
    })
}

/// Step 5b: `invalid_token_type` unless `profile` accepts the header `typ`.
#[inline]
pub(crate) fn check_typ(profile: AccessTokenProfile, typ: Typ) -> Result<(), AuthError> {
    if profile.accepts(typ) {
        Ok(())
    } else {
        Err(AuthError::new(ErrorCode::InvalidTokenType))
    }
}

/// What the pipeline needs from the header.
#[derive(Debug, PartialEq)]
struct Header<'de> {
    alg: Option<Member<'de>>,
    kid: Option<Member<'de>>,
    typ: Option<Member<'de>>,
    forbidden: bool,
}

/// A header member's value: a string (borrowed unless it had escapes), or anything else
/// (parsed as a `serde_json::Value` would be, then dropped).
#[derive(Debug, PartialEq)]
enum Member<'de> {
    Str(std::borrow::Cow<'de, str>),
    Other,
}

impl<'de> Deserialize<'de> for Member<'de> {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct V;
        impl<'de> Visitor<'de> for V {
            type Value = Member<'de>;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a JSON value")
            }
            fn visit_borrowed_str<E: de::Error>(self, v: &'de str) -> Result<Member<'de>, E> {
                Ok(Member::Str(std::borrow::Cow::Borrowed(v)))
            }
            fn visit_str<E: de::Error>(self, v: &str) -> Result<Member<'de>, E> {
                Ok(Member::Str(std::borrow::Cow::Owned(v.to_owned())))
            }
            fn visit_string<E: de::Error>(self, v: String) -> Result<Member<'de>, E> {
                Ok(Member::Str(std::borrow::Cow::Owned(v)))
            }
            fn visit_bool<E: de::Error>(self, _: bool) -> Result<Member<'de>, E> {
                Ok(Member::Other)
            }
            fn visit_i64<E: de::Error>(self, _: i64) -> Result<Member<'de>, E> {
                Ok(Member::Other)
            }
            fn visit_u64<E: de::Error>(self, _: u64) -> Result<Member<'de>, E> {
                Ok(Member::Other)
            }
            fn visit_f64<E: de::Error>(self, _: f64) -> Result<Member<'de>, E> {
                Ok(Member::Other)
            }
            fn visit_unit<E: de::Error>(self) -> Result<Member<'de>, E> {
                Ok(Member::Other)
            }
            fn visit_map<A: MapAccess<'de>>(self, access: A) -> Result<Member<'de>, A::Error> {
                Value::deserialize(de::value::MapAccessDeserializer::new(access))?;
                Ok(Member::Other)
            }
            fn visit_seq<A: de::SeqAccess<'de>>(self, access: A) -> Result<Member<'de>, A::Error> {
                Value::deserialize(de::value::SeqAccessDeserializer::new(access))?;
                Ok(Member::Other)
            }
        }
        deserializer.deserialize_any(V)
    }
}

/// Step 3 on the decoded header, in one pass ([`json::Reader`]): the same acceptance
/// and the same members as [`parse_header_serde`], which decides when the pass cannot
/// rule out a repeated member name.
fn parse_header(bytes: &[u8]) -> Result<Header<'_>, AuthError> {
    let mut header = Header {
        alg: None,
        kid: None,
        typ: None,
        forbidden: false,
    };
    let names_unsure = Reader::new(bytes)
        .object(|r, name| {
            match name {
                b"alg" => header.alg = Some(member(r)?),
                b"kid" => header.kid = Some(member(r)?),
                b"typ" => header.typ = Some(member(r)?),
                name => {
                    if FORBIDDEN_HEADERS.iter().any(|f| f.as_bytes() == name) {
                        header.forbidden = true;
                    }
                    r.skip()?;
                }
            }
            Ok(())
        })
        .map_err(|e| malformed().with_source(e))?;
    if names_unsure {
        return parse_header_serde(bytes);
    }
    Ok(header)
}

/// A header member's value, at its first byte.
fn member<'a>(r: &mut Reader<'a>) -> json::Result<Member<'a>> {
    if r.peek() == Some(b'"') {
        return Ok(Member::Str(r.text()?));
    }
    r.skip_other()?;
    Ok(Member::Other)
}

/// Step 3 by `serde_json` with visitors: what [`parse_header`] ran before the one-pass
/// reader, kept as the reference it is tested against and for headers whose member
/// names it cannot tell apart cheaply.
fn parse_header_serde(bytes: &[u8]) -> Result<Header<'_>, AuthError> {
    // One UTF-8 check, then a `str` reader (no check per string): the same acceptance
    // as reading the bytes (see `Payload::parse`).
    let text = std::str::from_utf8(bytes).map_err(|e| malformed().with_source(e))?;
    let mut de = serde_json::Deserializer::from_str(text);
    let header = Header::deserialize(&mut de).map_err(|e| malformed().with_source(e))?;
    de.end().map_err(|e| malformed().with_source(e))?;
    Ok(header)
}

/// Whether the one-pass header reader accepts `bytes`, or where it and the `serde_json`
/// reference disagree (acceptance, `alg`, `kid`, `typ` or a forbidden member).
#[cfg(feature = "fuzzing")]
pub(crate) fn header_compare(bytes: &[u8]) -> Result<bool, String> {
    match (parse_header(bytes), parse_header_serde(bytes)) {
        (Ok(fast), Ok(reference)) if fast == reference => Ok(true),
        (Err(_), Err(_)) => Ok(false),
        (fast, reference) => Err(format!(
            "reader {:?}, serde {:?}",
            fast.map_err(|e| e.to_string()),
            reference.map_err(|e| e.to_string())
        )),
    }
}

/// A member name, borrowed from the input unless it had escapes.
struct Key<'de>(std::borrow::Cow<'de, str>);

impl<'de> Deserialize<'de> for Key<'de> {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct V;
        impl<'de> Visitor<'de> for V {
            type Value = Key<'de>;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a member name")
            }
            fn visit_borrowed_str<E: de::Error>(self, v: &'de str) -> Result<Key<'de>, E> {
                Ok(Key(std::borrow::Cow::Borrowed(v)))
            }
            fn visit_str<E: de::Error>(self, v: &str) -> Result<Key<'de>, E> {
                Ok(Key(std::borrow::Cow::Owned(v.to_owned())))
            }
            fn visit_string<E: de::Error>(self, v: String) -> Result<Key<'de>, E> {
                Ok(Key(std::borrow::Cow::Owned(v)))
            }
        }
        deserializer.deserialize_str(V)
    }
}

/// Member names seen so far: a short list (headers have a handful), a set past that.
enum Seen<'de> {
    Few(Vec<std::borrow::Cow<'de, str>>),
    Many(std::collections::BTreeSet<std::borrow::Cow<'de, str>>),
}

impl<'de> Seen<'de> {
    /// False when `name` was already seen.
    fn insert(&mut self, name: std::borrow::Cow<'de, str>) -> bool {
        match self {
            Seen::Few(list) if list.len() < 16 => {
                if list.contains(&name) {
                    return false;
                }
                list.push(name);
                true
            }
            Seen::Few(list) => {
                let mut set: std::collections::BTreeSet<_> = list.drain(..).collect();
                let fresh = set.insert(name);
                *self = Seen::Many(set);
                fresh
            }
            Seen::Many(set) => set.insert(name),
        }
    }
}

impl<'de> Deserialize<'de> for Header<'de> {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct V;
        impl<'de> Visitor<'de> for V {
            type Value = Header<'de>;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a JSON object")
            }
            fn visit_map<A: MapAccess<'de>>(self, mut access: A) -> Result<Header<'de>, A::Error> {
                let mut header = Header {
                    alg: None,
                    kid: None,
                    typ: None,
                    forbidden: false,
                };
                let mut seen = Seen::Few(Vec::new());
                while let Some(Key(key)) = access.next_key::<Key<'de>>()? {
                    // Every value is parsed as a full JSON value, as before (same
                    // acceptance), but only alg, kid and typ are kept.
                    let value: Member<'de> = access.next_value()?;
                    match &*key {
                        "alg" => header.alg = Some(value),
                        "kid" => header.kid = Some(value),
                        "typ" => header.typ = Some(value),
                        name if FORBIDDEN_HEADERS.contains(&name) => header.forbidden = true,
                        _ => {}
                    }
                    if !seen.insert(key) {
                        return Err(de::Error::custom("duplicate member name"));
                    }
                }
                Ok(header)
            }
        }
        deserializer.deserialize_map(V)
    }
}

fn b64(segment: &[u8]) -> Result<Vec<u8>, AuthError> {
    crate::b64::decode(segment).map_err(|e| malformed().with_source(e))
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
