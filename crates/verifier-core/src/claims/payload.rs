//! A token's payload as the pipeline reads it: the decoded JSON bytes, checked once by a
//! borrowed pass (step 7, [`reader`](super::reader): a JSON object without duplicate
//! member names, every value accepted exactly as `serde_json::Value` accepts it), which
//! keeps only the registered claims the policy reads. The full map of claims is built only when someone asks for
//! it ([`Payload::map`]): application rules, required scopes or permissions, or a caller
//! reading [`Claims`](super::Claims) as a map.

use std::sync::OnceLock;

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
        let read = super::reader::read(&bytes).map_err(|e| malformed().with_source(e))?;
        let map = OnceLock::new();
        if read.names_unsure {
            // The reader cannot rule out a repeated member name (very many members, or
            // two digests alike): the map parser decides, and its map is kept.
            let _ = map.set(crate::token::parse_object(&bytes)?);
        }
        Ok(Payload {
            bytes,
            reg: read.reg,
            map,
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

/// Where the registered claims read by [`Payload::parse`] differ from the same claims
/// read from the map parser's `map` (for the differential fuzz target): the claim's name
/// and both readings.
#[cfg(feature = "fuzzing")]
pub(crate) fn registered_differ(payload: &Payload, map: &Map<String, Value>) -> Option<String> {
    fn same(payload: &Payload, val: &Val, value: Option<&Value>) -> bool {
        match (val, value) {
            (Val::Absent, None) | (Val::Null, Some(Value::Null)) => true,
            (Val::Str(span), Some(Value::String(s))) => payload.str(span) == s,
            (Val::Num(n), Some(Value::Number(x))) => {
                x.as_f64().map(f64::to_bits) == Some(n.to_bits())
            }
            (Val::Arr(items), Some(Value::Array(values))) => {
                items.len() == values.len()
                    && items
                        .iter()
                        .zip(values)
                        .all(|(i, v)| same(payload, i, Some(v)))
            }
            (Val::Other, Some(Value::Bool(_) | Value::Object(_))) => true,
            _ => false,
        }
    }
    let r = &payload.reg;
    for (name, val) in [
        ("exp", &r.exp),
        ("nbf", &r.nbf),
        ("iat", &r.iat),
        ("iss", &r.iss),
        ("aud", &r.aud),
        ("sub", &r.sub),
        ("jti", &r.jti),
        ("client_id", &r.client_id),
        ("azp", &r.azp),
        ("token_use", &r.token_use),
        ("cnf", &r.cnf),
    ] {
        if !same(payload, val, map.get(name)) {
            return Some(format!("{name}: {val:?} vs {:?}", map.get(name)));
        }
    }
    let jkt = match map.get("cnf") {
        Some(Value::Object(cnf)) if cnf.len() == 1 => cnf.get("jkt").and_then(Value::as_str),
        _ => None,
    };
    let read = r.cnf_jkt.as_ref().map(|span| payload.str(span));
    (read != jkt).then(|| format!("cnf.jkt: {read:?} vs {jkt:?}"))
}

#[cfg(test)]
mod tests {
    use super::Payload;

    /// Step 7's reader (UTF-8 checked inside strings only) accepts exactly what the byte
    /// reader of the map parser accepts, whatever the bytes in and around strings.
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
