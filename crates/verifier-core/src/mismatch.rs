//! Why verified claims do not deserialize into an application's claims type, told
//! without the claims' values.
//!
//! serde's messages quote the offending value (`invalid type: string "abc", expected
//! u64`), so they are never logged as they are. On a typed-claims failure (and only
//! when the `debug` event is enabled), the claims are deserialized a second time through
//! a deserializer that tracks where it is, and the event carries the path of the field
//! (`address.zip`, `groups[1]`), the kind of error and the JSON type found there. Keys
//! that are data rather than field names (the keys of a `HashMap` claim) are shown as
//! `<key>`.

use std::cell::{Cell, RefCell};

use serde::de::{self, DeserializeOwned, DeserializeSeed, MapAccess, SeqAccess, Visitor};
use serde::forward_to_deserialize_any;
use serde_json::{Map, Value};

/// The `tracing` target of refusal events.
const TARGET: &str = "oidc_jwt_verifier::verify";

/// The longest field name put in a path (longer ones are cut).
const MAX_SEGMENT: usize = 64;

/// A claims-type mismatch, safe to log: where, what kind, and types, never a value.
#[derive(Debug, PartialEq, Eq)]
pub(crate) struct Mismatch {
    /// The field (`tenant`, `address.zip`, `groups[1]`, `roles.<key>`); empty for the
    /// claims object itself; `None` when it could not be told.
    pub(crate) field: Option<String>,
    /// `missing field`, `invalid type`, `invalid value`, `invalid length`,
    /// `unknown field`, `unknown variant`, `duplicate field`, or `other` (a message from
    /// a custom `Deserialize` implementation, withheld).
    pub(crate) kind: &'static str,
    /// What the claims type expected (`u64`, `a string`), for `invalid type` and
    /// `invalid length` (serde takes it from the type, never from the input).
    pub(crate) expected: Option<String>,
    /// The JSON type found at `field` (`string`, `number`, `object`, ...).
    pub(crate) found: Option<&'static str>,
}

/// Emits the `debug` event for `T` failing on `claims` with `err` (if that event is on).
pub(crate) fn log<T: DeserializeOwned>(claims: &Map<String, Value>, err: &serde_json::Error) {
    if !tracing::enabled!(target: TARGET, tracing::Level::DEBUG) {
        return;
    }
    let m = describe::<T>(claims, err);
    tracing::debug!(
        target: TARGET,
        claims_type = std::any::type_name::<T>(),
        field = m.field.as_deref(),
        error = m.kind,
        expected = m.expected.as_deref(),
        found = m.found,
        "verified claims do not deserialize into the claims type: invalid_token"
    );
}

/// Describes why `T` failed on `claims` with `err`, without any claim value.
pub(crate) fn describe<T: DeserializeOwned>(
    claims: &Map<String, Value>,
    err: &serde_json::Error,
) -> Mismatch {
    let message = err.to_string();
    let root = Value::Object(claims.clone());
    let trace = Trace::default();
    let again = T::deserialize(Node {
        value: &root,
        path: String::new(),
        trace: &trace,
    });
    // Trust the path only if the tracking pass failed the same way.
    let located = match again {
        Err(e) if e.to_string() == message => Some(
            trace
                .at
                .into_inner()
                .unwrap_or_else(|| (String::new(), json_type(&root))),
        ),
        _ => None,
    };
    let (kind, detail) = classify(&message);
    let mut m = Mismatch {
        field: located.as_ref().map(|(path, _)| path.clone()),
        kind,
        expected: None,
        found: None,
    };
    match kind {
        // The name comes from the claims type: the field that is absent.
        "missing field" => {
            m.field = m.field.zip(detail).map(|(path, name)| join(&path, name));
        }
        "invalid type" | "invalid length" => {
            m.expected = detail.map(str::to_owned);
            m.found = located.map(|(_, found)| found);
        }
        "invalid value" | "unknown variant" => m.found = located.map(|(_, found)| found),
        _ => {}
    }
    m
}

/// The kind of a serde message, and its safe detail: the field name of `missing field`,
/// the expectation of `invalid type` / `invalid length`.
fn classify(message: &str) -> (&'static str, Option<&str>) {
    let expected = || message.rsplit_once(", expected ").map(|(_, e)| e);
    if let Some(rest) = message.strip_prefix("missing field `") {
        ("missing field", rest.split_once('`').map(|(name, _)| name))
    } else if message.starts_with("invalid type: ") {
        ("invalid type", expected())
    } else if message.starts_with("invalid length ") {
        ("invalid length", expected())
    } else if message.starts_with("invalid value: ") {
        ("invalid value", None)
    } else if message.starts_with("unknown field `") {
        ("unknown field", None)
    } else if message.starts_with("unknown variant `") {
        ("unknown variant", None)
    } else if message.starts_with("duplicate field `") {
        ("duplicate field", None)
    } else {
        ("other", None)
    }
}

fn json_type(value: &Value) -> &'static str {
    match value {
        Value::Null => "null",
        Value::Bool(_) => "boolean",
        Value::Number(_) => "number",
        Value::String(_) => "string",
        Value::Array(_) => "array",
        Value::Object(_) => "object",
    }
}

fn join(path: &str, name: &str) -> String {
    let name: String = match name.char_indices().nth(MAX_SEGMENT) {
        Some((end, _)) => format!("{}…", &name[..end]),
        None => name.to_owned(),
    };
    if path.is_empty() {
        name
    } else {
        format!("{path}.{name}")
    }
}

/// Where the innermost failure happened: its path and the JSON type there.
#[derive(Default)]
struct Trace {
    at: RefCell<Option<(String, &'static str)>>,
}

impl Trace {
    /// Called as an error passes up through an entry: the innermost one is kept.
    fn failed(&self, path: &str, value: &Value) {
        let mut at = self.at.borrow_mut();
        if at.is_none() {
            *at = Some((path.to_owned(), json_type(value)));
        }
    }

    /// An entry deserialized: any earlier failure was recovered from.
    fn succeeded(&self) {
        self.at.borrow_mut().take();
    }

    /// Deserializes `value` (at `path`) with `seed`, recording the outcome.
    fn visit<'de, S: DeserializeSeed<'de>>(
        &self,
        seed: S,
        value: &'de Value,
        path: String,
    ) -> Result<S::Value, serde_json::Error> {
        let result = seed.deserialize(Node {
            value,
            path: path.clone(),
            trace: self,
        });
        match &result {
            Ok(_) => self.succeeded(),
            Err(_) => self.failed(&path, value),
        }
        result
    }
}

/// A JSON value that records the path of a failure beneath it.
struct Node<'t, 'de> {
    value: &'de Value,
    path: String,
    trace: &'t Trace,
}

impl<'t, 'de> Node<'t, 'de> {
    fn visit_object<V: Visitor<'de>>(
        self,
        map: &'de Map<String, Value>,
        visitor: V,
    ) -> Result<V::Value, serde_json::Error> {
        let mut entries = Entries {
            iter: map.iter(),
            pending: None,
            path: self.path,
            trace: self.trace,
        };
        let value = visitor.visit_map(&mut entries)?;
        match entries.iter.len() {
            0 => Ok(value),
            _ => Err(de::Error::invalid_length(
                map.len(),
                &"fewer elements in map",
            )),
        }
    }

    fn visit_array<V: Visitor<'de>>(
        self,
        items: &'de [Value],
        visitor: V,
    ) -> Result<V::Value, serde_json::Error> {
        let mut elements = Elements {
            iter: items.iter().enumerate(),
            path: self.path,
            trace: self.trace,
        };
        let value = visitor.visit_seq(&mut elements)?;
        match elements.iter.len() {
            0 => Ok(value),
            _ => Err(de::Error::invalid_length(
                items.len(),
                &"fewer elements in array",
            )),
        }
    }
}

/// Forwards to serde_json's own deserializer for the value, so scalar errors match.
macro_rules! forward_to_value {
    ($($method:ident($($arg:ident: $ty:ty),*))*) => {$(
        fn $method<V: Visitor<'de>>(self, $($arg: $ty,)* visitor: V) -> Result<V::Value, Self::Error> {
            de::Deserializer::$method(self.value, $($arg,)* visitor)
        }
    )*};
}

impl<'de> de::Deserializer<'de> for Node<'_, 'de> {
    type Error = serde_json::Error;

    fn deserialize_any<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, Self::Error> {
        match self.value {
            Value::Object(map) => self.visit_object(map, visitor),
            Value::Array(items) => self.visit_array(items, visitor),
            other => de::Deserializer::deserialize_any(other, visitor),
        }
    }

    fn deserialize_option<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, Self::Error> {
        match self.value {
            Value::Null => visitor.visit_none(),
            _ => visitor.visit_some(self),
        }
    }

    fn deserialize_newtype_struct<V: Visitor<'de>>(
        self,
        _name: &'static str,
        visitor: V,
    ) -> Result<V::Value, Self::Error> {
        visitor.visit_newtype_struct(self)
    }

    fn deserialize_map<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, Self::Error> {
        match self.value {
            Value::Object(map) => self.visit_object(map, visitor),
            other => de::Deserializer::deserialize_map(other, visitor),
        }
    }

    fn deserialize_struct<V: Visitor<'de>>(
        self,
        name: &'static str,
        fields: &'static [&'static str],
        visitor: V,
    ) -> Result<V::Value, Self::Error> {
        match self.value {
            Value::Object(map) => self.visit_object(map, visitor),
            Value::Array(items) => self.visit_array(items, visitor),
            other => de::Deserializer::deserialize_struct(other, name, fields, visitor),
        }
    }

    fn deserialize_seq<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, Self::Error> {
        match self.value {
            Value::Array(items) => self.visit_array(items, visitor),
            other => de::Deserializer::deserialize_seq(other, visitor),
        }
    }

    fn deserialize_tuple<V: Visitor<'de>>(
        self,
        len: usize,
        visitor: V,
    ) -> Result<V::Value, Self::Error> {
        match self.value {
            Value::Array(items) => self.visit_array(items, visitor),
            other => de::Deserializer::deserialize_tuple(other, len, visitor),
        }
    }

    fn deserialize_tuple_struct<V: Visitor<'de>>(
        self,
        name: &'static str,
        len: usize,
        visitor: V,
    ) -> Result<V::Value, Self::Error> {
        match self.value {
            Value::Array(items) => self.visit_array(items, visitor),
            other => de::Deserializer::deserialize_tuple_struct(other, name, len, visitor),
        }
    }

    forward_to_value! {
        deserialize_bool() deserialize_i8() deserialize_i16() deserialize_i32()
        deserialize_i64() deserialize_i128() deserialize_u8() deserialize_u16()
        deserialize_u32() deserialize_u64() deserialize_u128() deserialize_f32()
        deserialize_f64() deserialize_char() deserialize_str() deserialize_string()
        deserialize_bytes() deserialize_byte_buf() deserialize_unit()
        deserialize_unit_struct(name: &'static str)
        deserialize_enum(name: &'static str, variants: &'static [&'static str])
        deserialize_identifier() deserialize_ignored_any()
    }
}

/// The members of an object, each deserialized as a [`Node`] one level down.
struct Entries<'t, 'de> {
    iter: serde_json::map::Iter<'de>,
    pending: Option<(&'de Value, String)>,
    path: String,
    trace: &'t Trace,
}

impl<'de> MapAccess<'de> for Entries<'_, 'de> {
    type Error = serde_json::Error;

    fn next_key_seed<K: DeserializeSeed<'de>>(
        &mut self,
        seed: K,
    ) -> Result<Option<K::Value>, Self::Error> {
        let Some((key, value)) = self.iter.next() else {
            return Ok(None);
        };
        let named = Cell::new(false);
        let result = seed.deserialize(Key { key, named: &named });
        // A field name of the claims type is shown; a key that is data is not.
        let path = if named.get() {
            join(&self.path, key)
        } else {
            join(&self.path, "<key>")
        };
        match result {
            Ok(key) => {
                self.pending = Some((value, path));
                Ok(Some(key))
            }
            Err(e) => {
                self.trace.failed(&path, value);
                Err(e)
            }
        }
    }

    fn next_value_seed<V: DeserializeSeed<'de>>(
        &mut self,
        seed: V,
    ) -> Result<V::Value, Self::Error> {
        let Some((value, path)) = self.pending.take() else {
            return Err(de::Error::custom("value is missing"));
        };
        self.trace.visit(seed, value, path)
    }

    fn size_hint(&self) -> Option<usize> {
        Some(self.iter.len())
    }
}

/// The elements of an array, each deserialized as a [`Node`] at `path[i]`.
struct Elements<'t, 'de> {
    iter: std::iter::Enumerate<std::slice::Iter<'de, Value>>,
    path: String,
    trace: &'t Trace,
}

impl<'de> SeqAccess<'de> for Elements<'_, 'de> {
    type Error = serde_json::Error;

    fn next_element_seed<T: DeserializeSeed<'de>>(
        &mut self,
        seed: T,
    ) -> Result<Option<T::Value>, Self::Error> {
        let Some((index, value)) = self.iter.next() else {
            return Ok(None);
        };
        let path = format!("{}[{index}]", self.path);
        self.trace.visit(seed, value, path).map(Some)
    }

    fn size_hint(&self) -> Option<usize> {
        Some(self.iter.len())
    }
}

/// An object key; notes whether the claims type read it as a field name (an identifier).
struct Key<'n, 'de> {
    key: &'de str,
    named: &'n Cell<bool>,
}

impl<'de> de::Deserializer<'de> for Key<'_, 'de> {
    type Error = serde_json::Error;

    fn deserialize_identifier<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, Self::Error> {
        self.named.set(true);
        visitor.visit_borrowed_str(self.key)
    }

    fn deserialize_any<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, Self::Error> {
        visitor.visit_borrowed_str(self.key)
    }

    fn deserialize_option<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, Self::Error> {
        visitor.visit_some(self)
    }

    fn deserialize_newtype_struct<V: Visitor<'de>>(
        self,
        _name: &'static str,
        visitor: V,
    ) -> Result<V::Value, Self::Error> {
        visitor.visit_newtype_struct(self)
    }

    forward_to_deserialize_any! {
        bool i8 i16 i32 i64 i128 u8 u16 u32 u64 u128 f32 f64 char str string
        bytes byte_buf unit unit_struct seq tuple tuple_struct map struct enum
        ignored_any
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde::de::IntoDeserializer;
    use serde::Deserialize;
    use serde_json::json;
    use std::collections::HashMap;

    fn mismatch<T: DeserializeOwned + std::fmt::Debug>(claims: Value) -> Mismatch {
        let map = claims.as_object().unwrap().clone();
        // As `FromClaims` does it.
        let err = T::deserialize((&map).into_deserializer()).unwrap_err();
        describe::<T>(&map, &err)
    }

    #[derive(Debug, Deserialize)]
    #[allow(dead_code)]
    struct Address {
        zip: u32,
    }

    #[derive(Debug, Deserialize)]
    #[allow(dead_code)]
    enum Role {
        Admin,
    }

    #[derive(Debug, Deserialize)]
    #[allow(dead_code)]
    struct Nested {
        address: Option<Address>,
        #[serde(default)]
        groups: Vec<u64>,
        #[serde(default)]
        roles: HashMap<String, u8>,
        role: Option<Role>,
    }

    #[test]
    fn paths_kinds_and_types_without_values() {
        let m = mismatch::<Nested>(json!({"address": {"zip": "secret"}}));
        assert_eq!(m.field.as_deref(), Some("address.zip"));
        assert_eq!(m.kind, "invalid type");
        assert_eq!(m.expected.as_deref(), Some("u32"));
        assert_eq!(m.found, Some("string"));

        let m = mismatch::<Nested>(json!({"address": {}}));
        assert_eq!(m.field.as_deref(), Some("address.zip"));
        assert_eq!(m.kind, "missing field");

        let m = mismatch::<Nested>(json!({"address": null, "groups": [1, "secret"]}));
        assert_eq!(m.field.as_deref(), Some("groups[1]"));
        assert_eq!(m.found, Some("string"));

        let m = mismatch::<Nested>(json!({"address": null, "roles": {"alice@example.com": -1}}));
        assert_eq!(m.field.as_deref(), Some("roles.<key>"));
        assert_eq!(m.kind, "invalid value");
        assert_eq!(m.expected, None);

        let m = mismatch::<Nested>(json!({"address": null, "role": "secret"}));
        assert_eq!(m.field.as_deref(), Some("role"));
        assert_eq!(m.kind, "unknown variant");
    }

    #[test]
    fn the_claims_object_itself() {
        let m = mismatch::<Vec<u8>>(json!({"sub": "u1"}));
        assert_eq!(m.field.as_deref(), Some(""));
        assert_eq!(m.kind, "invalid type");
        assert_eq!(m.found, Some("object"));
    }

    #[test]
    fn classify_keeps_only_what_the_type_says() {
        assert_eq!(
            classify(r#"invalid type: string "a, expected b", expected u64"#),
            ("invalid type", Some("u64"))
        );
        assert_eq!(
            classify("missing field `tenant`"),
            ("missing field", Some("tenant"))
        );
        assert_eq!(classify("secret custom text"), ("other", None));
        assert_eq!(join("", &"x".repeat(100)).chars().count(), MAX_SEGMENT + 1);
    }
}
