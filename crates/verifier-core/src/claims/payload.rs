//! A token's payload as the pipeline reads it: the decoded JSON bytes, checked once by a
//! borrowed pass (step 7: a JSON object without duplicate member names, every value
//! accepted exactly as `serde_json::Value` accepts it), which keeps only the registered
//! claims the policy reads. The full map of claims is built only when someone asks for
//! it ([`Payload::map`]): application rules, required scopes or permissions, or a caller
//! reading [`Claims`](super::Claims) as a map.

use std::borrow::Cow;
use std::fmt;
use std::sync::OnceLock;

use serde::de::{self, DeserializeSeed, Deserializer, MapAccess, SeqAccess, Visitor};
use serde_json::{Map, Value};

use crate::error::{AuthError, ErrorCode};

/// A string of the payload: where it is in the bytes (no escapes), or its unescaped text.
#[derive(Clone, Debug)]
pub(crate) enum Span {
    At(u32, u32),
    Owned(Box<str>),
}

/// A registered claim's value, as far as the policy looks at it.
#[derive(Clone, Debug, Default)]
pub(crate) enum Val {
    /// Not in the payload.
    #[default]
    Absent,
    /// JSON `null`.
    Null,
    /// A string.
    Str(Span),
    /// A number, as `Value::as_f64` reads it.
    Num(f64),
    /// An array of such values (only `aud` looks inside).
    Arr(Vec<Val>),
    /// `true`, `false` or an object.
    Other,
}

impl Val {
    /// Present and not `null` (the policy's "present").
    pub(crate) fn present(&self) -> Option<&Val> {
        match self {
            Val::Absent | Val::Null => None,
            v => Some(v),
        }
    }
}

/// The registered claims the policy and the routing read.
#[derive(Clone, Debug, Default)]
pub(crate) struct Registered {
    pub(crate) exp: Val,
    pub(crate) nbf: Val,
    pub(crate) iat: Val,
    pub(crate) iss: Val,
    pub(crate) aud: Val,
    pub(crate) sub: Val,
    pub(crate) jti: Val,
    pub(crate) client_id: Val,
    pub(crate) azp: Val,
    pub(crate) token_use: Val,
    /// Only whether it is there (the binding check reads the map when it is).
    pub(crate) cnf: Val,
    /// `cnf.jkt` when `cnf` is an object whose only member name is `jkt` and whose
    /// (last) `jkt` is a string: the one binding the check can confirm without the map.
    pub(crate) cnf_jkt: Option<Span>,
}

/// A payload that passed step 7.
#[derive(Debug)]
pub(crate) struct Payload {
    bytes: Vec<u8>,
    pub(crate) reg: Registered,
    map: OnceLock<Map<String, Value>>,
}

fn malformed() -> AuthError {
    AuthError::new(ErrorCode::MalformedToken)
}

impl Payload {
    /// Step 7 on decoded payload bytes: `malformed_token` unless they are one JSON object
    /// without duplicate member names (the same acceptance as the map parser).
    pub(crate) fn parse(bytes: Vec<u8>) -> Result<Payload, AuthError> {
        let reg = {
            // One UTF-8 check of the whole payload (word at a time while it is ASCII)
            // instead of one per string: a `str` reader does not check its strings
            // again. Same acceptance as reading the bytes: JSON outside strings is
            // ASCII, and the byte reader refuses a string that is not UTF-8.
            let text = std::str::from_utf8(&bytes).map_err(|e| malformed().with_source(e))?;
            let mut de = serde_json::Deserializer::from_str(text);
            let base = bytes.as_ptr() as usize;
            let reg = TopLevel { base }
                .deserialize(&mut de)
                .map_err(|e| malformed().with_source(e))?;
            de.end().map_err(|e| malformed().with_source(e))?;
            reg
        };
        Ok(Payload {
            bytes,
            reg,
            map: OnceLock::new(),
        })
    }

    /// A payload whose map is already known (claims built in code); nothing registered
    /// is kept, so every read goes through the map.
    pub(crate) fn from_map(map: Map<String, Value>) -> Payload {
        Payload {
            bytes: Vec::new(),
            reg: Registered::default(),
            map: OnceLock::from(map),
        }
    }

    /// Whether [`reg`](Payload::reg) describes the claims (false for [`from_map`]).
    pub(crate) fn has_registered(&self) -> bool {
        !self.bytes.is_empty()
    }

    /// The text of a string claim.
    pub(crate) fn str<'a>(&'a self, span: &'a Span) -> &'a str {
        match span {
            Span::Owned(s) => s,
            Span::At(at, len) => {
                let (at, len) = (*at as usize, *len as usize);
                self.bytes
                    .get(at..at + len)
                    .and_then(|b| std::str::from_utf8(b).ok())
                    .unwrap_or_default()
            }
        }
    }

    /// The string value of a registered claim, when it is one.
    pub(crate) fn as_str<'a>(&'a self, val: &'a Val) -> Option<&'a str> {
        match val {
            Val::Str(span) => Some(self.str(span)),
            _ => None,
        }
    }

    /// Every claim as a map, parsed from the bytes on first use.
    pub(crate) fn map(&self) -> &Map<String, Value> {
        self.map.get_or_init(|| {
            // The bytes passed the strict pass, which accepts exactly what this parser
            // accepts: it cannot fail. Should it ever, the map is empty (never a panic).
            crate::token::parse_object(&self.bytes).unwrap_or_default()
        })
    }

    /// The map, taken.
    pub(crate) fn into_map(self) -> Map<String, Value> {
        match self.map.into_inner() {
            Some(map) => map,
            None => crate::token::parse_object(&self.bytes).unwrap_or_default(),
        }
    }
}

impl Clone for Payload {
    fn clone(&self) -> Self {
        let map = OnceLock::new();
        if let Some(m) = self.map.get() {
            let _ = map.set(m.clone());
        }
        Payload {
            bytes: self.bytes.clone(),
            reg: self.reg.clone(),
            map,
        }
    }
}

/// A member name, borrowed unless it had escapes.
pub(crate) struct Name<'de>(pub(crate) Cow<'de, str>);

impl<'de> de::Deserialize<'de> for Name<'de> {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct V;
        impl<'de> Visitor<'de> for V {
            type Value = Name<'de>;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a member name")
            }
            fn visit_borrowed_str<E: de::Error>(self, v: &'de str) -> Result<Name<'de>, E> {
                Ok(Name(Cow::Borrowed(v)))
            }
            fn visit_str<E: de::Error>(self, v: &str) -> Result<Name<'de>, E> {
                Ok(Name(Cow::Owned(v.to_owned())))
            }
            fn visit_string<E: de::Error>(self, v: String) -> Result<Name<'de>, E> {
                Ok(Name(Cow::Owned(v)))
            }
        }
        deserializer.deserialize_str(V)
    }
}

/// The top-level object: duplicate names refused, registered claims picked.
struct TopLevel {
    base: usize,
}

impl<'de> DeserializeSeed<'de> for TopLevel {
    type Value = Registered;
    fn deserialize<D: Deserializer<'de>>(self, deserializer: D) -> Result<Registered, D::Error> {
        deserializer.deserialize_map(self)
    }
}

impl<'de> Visitor<'de> for TopLevel {
    type Value = Registered;
    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a JSON object")
    }
    fn visit_map<A: MapAccess<'de>>(self, mut access: A) -> Result<Registered, A::Error> {
        let mut reg = Registered::default();
        // Every name, checked for duplicates once at the end by sorting: O(n log n) for a
        // hostile payload, and cheaper than a scan per member for a typical one.
        let mut names: Vec<Cow<'de, str>> = Vec::with_capacity(32);
        while let Some(Name(name)) = access.next_key::<Name<'de>>()? {
            let slot = match &*name {
                "exp" => Some(&mut reg.exp),
                "nbf" => Some(&mut reg.nbf),
                "iat" => Some(&mut reg.iat),
                "iss" => Some(&mut reg.iss),
                "aud" => Some(&mut reg.aud),
                "sub" => Some(&mut reg.sub),
                "jti" => Some(&mut reg.jti),
                "client_id" => Some(&mut reg.client_id),
                "azp" => Some(&mut reg.azp),
                "token_use" => Some(&mut reg.token_use),
                "cnf" => {
                    (reg.cnf, reg.cnf_jkt) =
                        access.next_value_seed(CnfPick(Pick { base: self.base }))?;
                    names.push(name);
                    continue;
                }
                _ => None,
            };
            match slot {
                Some(slot) => *slot = access.next_value_seed(Pick { base: self.base })?,
                None => access.next_value_seed(Skip)?,
            }
            names.push(name);
        }
        names.sort_unstable();
        if names.windows(2).any(|w| w[0] == w[1]) {
            return Err(de::Error::custom("duplicate member name"));
        }
        Ok(reg)
    }
}

/// A registered claim's value: strings as spans, numbers as `f64`, arrays item by item,
/// objects skipped.
#[derive(Clone, Copy)]
struct Pick {
    base: usize,
}

impl<'de> DeserializeSeed<'de> for Pick {
    type Value = Val;
    fn deserialize<D: Deserializer<'de>>(self, deserializer: D) -> Result<Val, D::Error> {
        deserializer.deserialize_any(self)
    }
}

impl<'de> Visitor<'de> for Pick {
    type Value = Val;
    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a JSON value")
    }
    fn visit_borrowed_str<E: de::Error>(self, v: &'de str) -> Result<Val, E> {
        let at = (v.as_ptr() as usize).wrapping_sub(self.base);
        match (u32::try_from(at), u32::try_from(v.len())) {
            (Ok(at), Ok(len)) => Ok(Val::Str(Span::At(at, len))),
            _ => Ok(Val::Str(Span::Owned(v.into()))),
        }
    }
    fn visit_str<E: de::Error>(self, v: &str) -> Result<Val, E> {
        Ok(Val::Str(Span::Owned(v.into())))
    }
    fn visit_string<E: de::Error>(self, v: String) -> Result<Val, E> {
        Ok(Val::Str(Span::Owned(v.into_boxed_str())))
    }
    fn visit_bool<E: de::Error>(self, _: bool) -> Result<Val, E> {
        Ok(Val::Other)
    }
    // As `serde_json::Number::as_f64`.
    fn visit_i64<E: de::Error>(self, v: i64) -> Result<Val, E> {
        Ok(Val::Num(v as f64))
    }
    fn visit_u64<E: de::Error>(self, v: u64) -> Result<Val, E> {
        Ok(Val::Num(v as f64))
    }
    fn visit_f64<E: de::Error>(self, v: f64) -> Result<Val, E> {
        Ok(Val::Num(v))
    }
    fn visit_unit<E: de::Error>(self) -> Result<Val, E> {
        Ok(Val::Null)
    }
    fn visit_map<A: MapAccess<'de>>(self, access: A) -> Result<Val, A::Error> {
        Skip.visit_map(access)?;
        Ok(Val::Other)
    }
    fn visit_seq<A: SeqAccess<'de>>(self, mut access: A) -> Result<Val, A::Error> {
        let mut items = Vec::new();
        while let Some(item) = access.next_element_seed(self)? {
            items.push(item);
        }
        Ok(Val::Arr(items))
    }
}

/// `cnf`: as [`Pick`] reads it, and its `jkt` when that is all it holds (see
/// [`Registered::cnf_jkt`]).
#[derive(Clone, Copy)]
struct CnfPick(Pick);

impl<'de> DeserializeSeed<'de> for CnfPick {
    type Value = (Val, Option<Span>);
    fn deserialize<D: Deserializer<'de>>(self, deserializer: D) -> Result<Self::Value, D::Error> {
        deserializer.deserialize_any(self)
    }
}

impl<'de> Visitor<'de> for CnfPick {
    type Value = (Val, Option<Span>);
    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a JSON value")
    }
    fn visit_borrowed_str<E: de::Error>(self, v: &'de str) -> Result<Self::Value, E> {
        Ok((self.0.visit_borrowed_str(v)?, None))
    }
    fn visit_str<E: de::Error>(self, v: &str) -> Result<Self::Value, E> {
        Ok((self.0.visit_str(v)?, None))
    }
    fn visit_string<E: de::Error>(self, v: String) -> Result<Self::Value, E> {
        Ok((self.0.visit_string(v)?, None))
    }
    fn visit_bool<E: de::Error>(self, v: bool) -> Result<Self::Value, E> {
        Ok((self.0.visit_bool(v)?, None))
    }
    fn visit_i64<E: de::Error>(self, v: i64) -> Result<Self::Value, E> {
        Ok((self.0.visit_i64(v)?, None))
    }
    fn visit_u64<E: de::Error>(self, v: u64) -> Result<Self::Value, E> {
        Ok((self.0.visit_u64(v)?, None))
    }
    fn visit_f64<E: de::Error>(self, v: f64) -> Result<Self::Value, E> {
        Ok((self.0.visit_f64(v)?, None))
    }
    fn visit_unit<E: de::Error>(self) -> Result<Self::Value, E> {
        Ok((self.0.visit_unit()?, None))
    }
    fn visit_seq<A: SeqAccess<'de>>(self, access: A) -> Result<Self::Value, A::Error> {
        Ok((self.0.visit_seq(access)?, None))
    }
    fn visit_map<A: MapAccess<'de>>(self, mut access: A) -> Result<Self::Value, A::Error> {
        // A nested object: repeated names allowed, the last one wins (as `Value`).
        let (mut jkt, mut only_jkt) = (None, true);
        while let Some(Name(name)) = access.next_key::<Name<'de>>()? {
            if name == "jkt" {
                jkt = Some(access.next_value_seed(self.0)?);
            } else {
                only_jkt = false;
                access.next_value_seed(Skip)?;
            }
        }
        let jkt = match (only_jkt, jkt) {
            (true, Some(Val::Str(span))) => Some(span),
            _ => None,
        };
        Ok((Val::Other, jkt))
    }
}

/// Any JSON value, parsed as `serde_json::Value` parses it (same strings, numbers and
/// nesting), keeping nothing.
#[derive(Clone, Copy)]
pub(crate) struct Skip;

impl<'de> DeserializeSeed<'de> for Skip {
    type Value = ();
    fn deserialize<D: Deserializer<'de>>(self, deserializer: D) -> Result<(), D::Error> {
        deserializer.deserialize_any(self)
    }
}

impl<'de> Visitor<'de> for Skip {
    type Value = ();
    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a JSON value")
    }
    fn visit_borrowed_str<E: de::Error>(self, _: &'de str) -> Result<(), E> {
        Ok(())
    }
    fn visit_str<E: de::Error>(self, _: &str) -> Result<(), E> {
        Ok(())
    }
    fn visit_string<E: de::Error>(self, _: String) -> Result<(), E> {
        Ok(())
    }
    fn visit_bool<E: de::Error>(self, _: bool) -> Result<(), E> {
        Ok(())
    }
    fn visit_i64<E: de::Error>(self, _: i64) -> Result<(), E> {
        Ok(())
    }
    fn visit_u64<E: de::Error>(self, _: u64) -> Result<(), E> {
        Ok(())
    }
    fn visit_f64<E: de::Error>(self, _: f64) -> Result<(), E> {
        Ok(())
    }
    fn visit_unit<E: de::Error>(self) -> Result<(), E> {
        Ok(())
    }
    fn visit_map<A: MapAccess<'de>>(self, mut access: A) -> Result<(), A::Error> {
        // Nested objects may repeat a name (as `Value` allows: the last one wins).
        while access.next_key_seed(Skip)?.is_some() {
            access.next_value_seed(Skip)?;
        }
        Ok(())
    }
    fn visit_seq<A: SeqAccess<'de>>(self, mut access: A) -> Result<(), A::Error> {
        while access.next_element_seed(Skip)?.is_some() {}
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::Payload;

    /// The `str` reader after one UTF-8 check accepts exactly what the byte reader of the
    /// map parser accepts, whatever the bytes in and around strings.
    #[test]
    fn utf8_acceptance_is_the_map_parsers() {
        let mut cases: Vec<Vec<u8>> = Vec::new();
        for bad in [
            &b"\xff"[..],
            b"\xc3",
            b"\xc3\x28",
            b"\xed\xa0\x80",
            b"\xf4\x90\x80\x80",
            b"\xe2\x82",
            b"\xc3\xa9",
            b"\xe2\x82\xac",
            b"\xf0\x9f\x98\x80",
            b"\x7f",
            b"\x00",
            b"\x1f",
        ] {
            for (before, after) in [
                (&br#"{"sub":""#[..], &br#""}"#[..]),
                (br#"{""#, br#"":1}"#),
                (br#"{"x":{""#, br#"":[1]}}"#),
                (br#"{"aud":["a",""#, br#""]}"#),
                (br#"{"x":1"#, b"}"),
                (br#"{"x":1}"#, b""),
                (b"", br#"{"x":1}"#),
                (br#"{"sub":"\u00e9"#, br#"\ud83d\ude00"}"#),
            ] {
                cases.push([before, bad, after].concat());
            }
        }
        let mut accepted = 0;
        for bytes in cases {
            let fast = Payload::parse(bytes.clone()).is_ok();
            let map = crate::token::parse_object(&bytes).is_ok();
            assert_eq!(fast, map, "{}", String::from_utf8_lossy(&bytes));
            accepted += usize::from(fast);
        }
        assert!(accepted >= 20, "{accepted}");
    }
}
