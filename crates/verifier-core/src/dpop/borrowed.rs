//! One borrowed pass over a proof's header and payload ([`json::Reader`]): the members the
//! checks read, nothing else kept, no map built.
//!
//! This is the fast path of [`proof::parse_cached`](super::proof::parse_cached); the
//! map-based [`proof::parse`](super::proof::parse) stays the reference. A pass here only
//! ever answers "fine, these are the values" or "not sure" (`None`): every refusal, with
//! its message, comes from the reference. So its acceptance must be within the
//! reference's, which it is by construction: the reader accepts exactly what
//! `serde_json::Value` accepts, a top-level name that may be repeated is "not sure" (as
//! `token::parse_object` refuses it), nested objects keep the last of repeated names (as
//! `Value`), and a member counts only when it has the exact JSON type the reference
//! wants. The unit tests of `proof.rs` and the `dpop_proof` fuzz target compare the two
//! on hostile proofs.

use std::borrow::Cow;

use super::proof::FORBIDDEN_HEADERS;
use crate::alg::Algorithm;
use crate::json::{self, Reader};
use crate::keys::PRIVATE_MEMBERS;

/// A member's value, as far as the checks look at it.
#[derive(Debug, Default)]
pub(crate) enum Field<'de> {
    /// Not there.
    #[default]
    Absent,
    /// A string (borrowed unless it had escapes).
    Str(Cow<'de, str>),
    /// A number, as `serde_json::Number::as_f64` reads it.
    Num(f64),
    /// Anything else (`null` included).
    Other,
}

impl Field<'_> {
    fn str(&self) -> Option<&str> {
        match self {
            Field::Str(s) => Some(s),
            _ => None,
        }
    }
}

/// A member's value, at its first byte.
fn field<'de>(r: &mut Reader<'de>) -> json::Result<Field<'de>> {
    Ok(match r.peek() {
        Some(b'"') => Field::Str(r.text()?),
        Some(b'-' | b'0'..=b'9') => Field::Num(r.number()?),
        _ => {
            r.skip_other()?;
            Field::Other
        }
    })
}

/// The header's `jwk` member.
#[derive(Debug, Default)]
pub(crate) enum JwkField<'de> {
    #[default]
    Absent,
    Object(JwkParts<'de>),
    Other,
}

/// The members of a `jwk` object that `keys::parse_public_jwk` reads: its result is a
/// function of these (and the proof's `alg`) alone.
#[derive(Debug, Default)]
pub(crate) struct JwkParts<'de> {
    /// `kty crv x y n e alg`, in that order; the last of repeated names (as `Value`).
    fields: [Field<'de>; 7],
    /// A private member (`d p q dp dq qi oth k`) is there.
    private: bool,
}

/// Every member `keys::parse_public_jwk` reads besides the private ones (keep in step).
const JWK_MEMBERS: [&str; 7] = ["kty", "crv", "x", "y", "n", "e", "alg"];

impl JwkParts<'_> {
    /// The bytes a cache entry is stored under: `alg`, then for each member of
    /// [`JWK_MEMBERS`] a tag (absent, string, other) and, for a string, its length and
    /// bytes. `None` when the key has a private member (never cached: the reference
    /// refuses it).
    pub(crate) fn cache_key(&self, alg: Algorithm) -> Option<Vec<u8>> {
        if self.private {
            return None;
        }
        let mut out = Vec::with_capacity(160);
        out.extend_from_slice(alg.as_str().as_bytes());
        out.push(0);
        for field in &self.fields {
            match field {
                Field::Absent => out.push(0),
                Field::Str(s) => {
                    out.push(1);
                    out.extend_from_slice(&(s.len() as u64).to_le_bytes());
                    out.extend_from_slice(s.as_bytes());
                }
                // Numbers too: parse_public_jwk reads none of these as a number.
                Field::Num(_) | Field::Other => out.push(2),
            }
        }
        Some(out)
    }
}

/// The `jwk` member's value, at its first byte.
fn jwk<'de>(r: &mut Reader<'de>) -> json::Result<JwkField<'de>> {
    if r.peek() != Some(b'{') {
        r.skip()?;
        return Ok(JwkField::Other);
    }
    let mut parts = JwkParts::default();
    r.members(|r, name| {
        match JWK_MEMBERS.iter().position(|m| m.as_bytes() == name) {
            Some(i) => parts.fields[i] = field(r)?,
            None => {
                parts.private |= PRIVATE_MEMBERS.iter().any(|m| m.as_bytes() == name);
                r.skip()?;
            }
        }
        Ok(())
    })?;
    Ok(JwkField::Object(parts))
}

/// D2-D3 and the shape of D4, when all is well: the proof's `alg` and its key's members.
/// `None` whenever the reference might refuse the header.
pub(crate) fn header<'de>(
    bytes: &'de [u8],
    dpop_algs: &[Algorithm],
    is_dpop_typ: fn(&str) -> bool,
) -> Option<(Algorithm, JwkParts<'de>)> {
    let (mut typ, mut alg, mut key) = (Field::Absent, Field::Absent, JwkField::Absent);
    let mut forbidden = false;
    let names_unsure = Reader::new(bytes)
        .object(|r, name| {
            match name {
                b"typ" => typ = field(r)?,
                b"alg" => alg = field(r)?,
                b"jwk" => key = jwk(r)?,
                name => {
                    forbidden |= FORBIDDEN_HEADERS.iter().any(|f| f.as_bytes() == name);
                    r.skip()?;
                }
            }
            Ok(())
        })
        .ok()?;
    if names_unsure || forbidden || !typ.str().is_some_and(is_dpop_typ) {
        return None;
    }
    let alg = Algorithm::from_name(alg.str()?).filter(|a| dpop_algs.contains(a))?;
    match key {
        JwkField::Object(parts) if !parts.private => Some((alg, parts)),
        _ => None,
    }
}

/// The claims D6 wants, when they are all there with their types.
pub(crate) struct Claims<'de> {
    pub(crate) jti: Cow<'de, str>,
    pub(crate) htm: Cow<'de, str>,
    pub(crate) htu: Cow<'de, str>,
    pub(crate) iat: f64,
    pub(crate) ath: Option<Cow<'de, str>>,
    pub(crate) nonce: Option<Cow<'de, str>>,
}

/// The payload members D6 reads, in the order of [`Claims`]' fields.
const CLAIM_MEMBERS: [&[u8]; 6] = [b"jti", b"htm", b"htu", b"iat", b"ath", b"nonce"];

/// D6 when all is well (`jti` of 1 to `max_jti` bytes, `htm` and `htu` strings, `iat` a
/// finite number, `ath` and `nonce` absent or strings); `None` whenever the reference
/// might refuse the payload.
pub(crate) fn claims(bytes: &[u8], max_jti: usize) -> Option<Claims<'_>> {
    fn optional(f: Field<'_>) -> Option<Option<Cow<'_, str>>> {
        match f {
            Field::Absent => Some(None),
            Field::Str(s) => Some(Some(s)),
            _ => None,
        }
    }
    let mut fields: [Field<'_>; 6] = Default::default();
    let names_unsure = Reader::new(bytes)
        .object(|r, name| {
            match CLAIM_MEMBERS.iter().position(|m| *m == name) {
                Some(i) => fields[i] = field(r)?,
                None => r.skip()?,
            }
            Ok(())
        })
        .ok()?;
    if names_unsure {
        return None;
    }
    let [jti, htm, htu, iat, ath, nonce] = fields;
    let (Field::Str(jti), Field::Str(htm), Field::Str(htu), Field::Num(iat)) = (jti, htm, htu, iat)
    else {
        return None;
    };
    if jti.is_empty() || jti.len() > max_jti || !iat.is_finite() {
        return None;
    }
    Some(Claims {
        jti,
        htm,
        htu,
        iat,
        ath: optional(ath)?,
        nonce: optional(nonce)?,
    })
}

#[cfg(test)]
#[path = "borrowed_tests.rs"]
mod tests;
