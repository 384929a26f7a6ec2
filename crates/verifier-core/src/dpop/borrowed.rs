//! One borrowed serde pass over a proof's header and payload: the members the checks read,
//! nothing else kept, no map built.
//!
//! This is the fast path of [`proof::parse_cached`](super::proof::parse_cached); the
//! map-based [`proof::parse`](super::proof::parse) stays the reference. A pass here only
//! ever answers "fine, these are the values" or "not sure" (`None`): every refusal, with
//! its message, comes from the reference. So its acceptance must be within the
//! reference's, which it is by construction: the top level refuses duplicate names (as
//! `token::parse_object`), every value is parsed with `serde_json::Value`'s acceptance
//! ([`Skip`]), nested objects keep the last of repeated names (as `Value`), and a member
//! counts only when it has the exact JSON type the reference wants. The unit tests of
//! `proof.rs` compare the two on hostile proofs.

use std::borrow::Cow;
use std::fmt;

use serde::de::{self, DeserializeSeed, Deserializer, MapAccess, SeqAccess, Visitor};

use super::proof::FORBIDDEN_HEADERS;
use crate::alg::Algorithm;
use crate::claims::{Name, Skip};
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

impl<'de> DeserializeSeed<'de> for Field<'de> {
    type Value = Field<'de>;
    fn deserialize<D: Deserializer<'de>>(self, deserializer: D) -> Result<Field<'de>, D::Error> {
        deserializer.deserialize_any(FieldVisitor)
    }
}

struct FieldVisitor;

impl<'de> Visitor<'de> for FieldVisitor {
    type Value = Field<'de>;
    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a JSON value")
    }
    fn visit_borrowed_str<E: de::Error>(self, v: &'de str) -> Result<Field<'de>, E> {
        Ok(Field::Str(Cow::Borrowed(v)))
    }
    fn visit_str<E: de::Error>(self, v: &str) -> Result<Field<'de>, E> {
        Ok(Field::Str(Cow::Owned(v.to_owned())))
    }
    fn visit_string<E: de::Error>(self, v: String) -> Result<Field<'de>, E> {
        Ok(Field::Str(Cow::Owned(v)))
    }
    fn visit_bool<E: de::Error>(self, _: bool) -> Result<Field<'de>, E> {
        Ok(Field::Other)
    }
    fn visit_i64<E: de::Error>(self, v: i64) -> Result<Field<'de>, E> {
        Ok(Field::Num(v as f64))
    }
    fn visit_u64<E: de::Error>(self, v: u64) -> Result<Field<'de>, E> {
        Ok(Field::Num(v as f64))
    }
    fn visit_f64<E: de::Error>(self, v: f64) -> Result<Field<'de>, E> {
        Ok(Field::Num(v))
    }
    fn visit_unit<E: de::Error>(self) -> Result<Field<'de>, E> {
        Ok(Field::Other)
    }
    fn visit_map<A: MapAccess<'de>>(self, access: A) -> Result<Field<'de>, A::Error> {
        Skip.visit_map(access)?;
        Ok(Field::Other)
    }
    fn visit_seq<A: SeqAccess<'de>>(self, access: A) -> Result<Field<'de>, A::Error> {
        Skip.visit_seq(access)?;
        Ok(Field::Other)
    }
}

/// Reads a top-level JSON object of `bytes` (nothing after it), refusing duplicate names
/// (sorted once at the end), calling `member` for each name with the value still to read.
fn top_level<'de, T>(
    bytes: &'de [u8],
    out: T,
    member: fn(&mut T, &str) -> Option<Slot>,
) -> Option<(T, Vec<Cow<'de, str>>)>
where
    T: Slots<'de>,
{
    struct Top<T> {
        out: T,
        member: fn(&mut T, &str) -> Option<Slot>,
    }
    impl<'de, T: Slots<'de>> Visitor<'de> for Top<T> {
        type Value = (T, Vec<Cow<'de, str>>);
        fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
            f.write_str("a JSON object")
        }
        fn visit_map<A: MapAccess<'de>>(self, mut access: A) -> Result<Self::Value, A::Error> {
            let Top { mut out, member } = self;
            let mut names: Vec<Cow<'de, str>> = Vec::with_capacity(16);
            while let Some(Name(name)) = access.next_key::<Name<'de>>()? {
                match member(&mut out, &name) {
                    Some(Slot::Field(i)) => {
                        *out.field(i) = access.next_value_seed(Field::Absent)?
                    }
                    Some(Slot::Jwk) => *out.jwk() = access.next_value_seed(JwkSeed)?,
                    None => access.next_value_seed(Skip)?,
                }
                names.push(name);
            }
            names.sort_unstable();
            if names.windows(2).any(|w| w[0] == w[1]) {
                return Err(de::Error::custom("duplicate member name"));
            }
            Ok((out, names))
        }
    }
    // One UTF-8 check, then a `str` reader (no check per string): the same acceptance
    // as reading the bytes (see `Payload::parse`).
    let mut de = serde_json::Deserializer::from_str(std::str::from_utf8(bytes).ok()?);
    let parsed = de.deserialize_map(Top { out, member }).ok()?;
    de.end().ok()?;
    Some(parsed)
}

/// Where a member's value goes.
enum Slot {
    Field(usize),
    Jwk,
}

trait Slots<'de> {
    fn field(&mut self, i: usize) -> &mut Field<'de>;
    fn jwk(&mut self) -> &mut JwkField<'de>;
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

struct JwkSeed;

impl<'de> DeserializeSeed<'de> for JwkSeed {
    type Value = JwkField<'de>;
    fn deserialize<D: Deserializer<'de>>(self, deserializer: D) -> Result<JwkField<'de>, D::Error> {
        deserializer.deserialize_any(self)
    }
}

impl<'de> Visitor<'de> for JwkSeed {
    type Value = JwkField<'de>;
    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a JSON value")
    }
    fn visit_borrowed_str<E: de::Error>(self, _: &'de str) -> Result<JwkField<'de>, E> {
        Ok(JwkField::Other)
    }
    fn visit_str<E: de::Error>(self, _: &str) -> Result<JwkField<'de>, E> {
        Ok(JwkField::Other)
    }
    fn visit_string<E: de::Error>(self, _: String) -> Result<JwkField<'de>, E> {
        Ok(JwkField::Other)
    }
    fn visit_bool<E: de::Error>(self, _: bool) -> Result<JwkField<'de>, E> {
        Ok(JwkField::Other)
    }
    fn visit_i64<E: de::Error>(self, _: i64) -> Result<JwkField<'de>, E> {
        Ok(JwkField::Other)
    }
    fn visit_u64<E: de::Error>(self, _: u64) -> Result<JwkField<'de>, E> {
        Ok(JwkField::Other)
    }
    fn visit_f64<E: de::Error>(self, _: f64) -> Result<JwkField<'de>, E> {
        Ok(JwkField::Other)
    }
    fn visit_unit<E: de::Error>(self) -> Result<JwkField<'de>, E> {
        Ok(JwkField::Other)
    }
    fn visit_seq<A: SeqAccess<'de>>(self, access: A) -> Result<JwkField<'de>, A::Error> {
        Skip.visit_seq(access)?;
        Ok(JwkField::Other)
    }
    fn visit_map<A: MapAccess<'de>>(self, mut access: A) -> Result<JwkField<'de>, A::Error> {
        // A nested object: repeated names allowed, the last one wins (as `Value`).
        let mut parts = JwkParts::default();
        while let Some(Name(name)) = access.next_key::<Name<'de>>()? {
            if let Some(i) = JWK_MEMBERS.iter().position(|m| *m == name) {
                parts.fields[i] = access.next_value_seed(Field::Absent)?;
            } else {
                parts.private |= PRIVATE_MEMBERS.contains(&&*name);
                access.next_value_seed(Skip)?;
            }
        }
        Ok(JwkField::Object(parts))
    }
}

/// What the checks read from a proof's header.
#[derive(Debug, Default)]
pub(crate) struct ProofHeader<'de> {
    /// `typ`, `alg`.
    fields: [Field<'de>; 2],
    jwk: JwkField<'de>,
}

impl<'de> Slots<'de> for ProofHeader<'de> {
    fn field(&mut self, i: usize) -> &mut Field<'de> {
        &mut self.fields[i]
    }
    fn jwk(&mut self) -> &mut JwkField<'de> {
        &mut self.jwk
    }
}

/// D2-D3 and the shape of D4, when all is well: the proof's `alg` and its key's members.
/// `None` whenever the reference might refuse the header.
pub(crate) fn header<'de>(
    bytes: &'de [u8],
    dpop_algs: &[Algorithm],
    is_dpop_typ: fn(&str) -> bool,
) -> Option<(Algorithm, JwkParts<'de>)> {
    let member = |_: &mut ProofHeader<'de>, name: &str| match name {
        "typ" => Some(Slot::Field(0)),
        "alg" => Some(Slot::Field(1)),
        "jwk" => Some(Slot::Jwk),
        _ => None,
    };
    let (h, names) = top_level(bytes, ProofHeader::default(), member)?;
    if names.iter().any(|n| FORBIDDEN_HEADERS.contains(&&**n)) {
        return None;
    }
    let [typ, alg] = &h.fields;
    if !typ.str().is_some_and(is_dpop_typ) {
        return None;
    }
    let alg = Algorithm::from_name(alg.str()?).filter(|a| dpop_algs.contains(a))?;
    match h.jwk {
        JwkField::Object(parts) if !parts.private => Some((alg, parts)),
        _ => None,
    }
}

/// What the checks read from a proof's payload.
#[derive(Debug, Default)]
pub(crate) struct ProofClaims<'de> {
    /// `jti htm htu iat ath nonce`.
    fields: [Field<'de>; 6],
    jwk: JwkField<'de>,
}

impl<'de> Slots<'de> for ProofClaims<'de> {
    fn field(&mut self, i: usize) -> &mut Field<'de> {
        &mut self.fields[i]
    }
    fn jwk(&mut self) -> &mut JwkField<'de> {
        &mut self.jwk
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
    let member = |_: &mut ProofClaims<'_>, name: &str| {
        ["jti", "htm", "htu", "iat", "ath", "nonce"]
            .iter()
            .position(|m| *m == name)
            .map(Slot::Field)
    };
    let (c, _) = top_level(bytes, ProofClaims::default(), member)?;
    let [jti, htm, htu, iat, ath, nonce] = c.fields;
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
