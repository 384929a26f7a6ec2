//! Terminal-safe output of untrusted text (claims, header members, key ids, reasons).
//!
//! Tokens and key sets are attacker-controlled: printed raw, an ESC sequence recolours
//! or rewrites the terminal, and a bidi override reorders what the reader sees. Every
//! control character (C0, DEL, C1) and bidi override or isolate (U+202A-U+202E,
//! U+2066-U+2069) is escaped: as `\u{1b}` in text, as `\u001b` inside JSON.

use std::borrow::Cow;

/// Whether `c` must not reach a terminal raw.
fn unsafe_char(c: char) -> bool {
    c.is_control() || matches!(c, '\u{202a}'..='\u{202e}' | '\u{2066}'..='\u{2069}')
}

/// Unsafe characters `serde_json` writes raw: all but C0 (which it escapes inside
/// strings, and which outside strings are the document's own newlines).
fn raw_in_json(c: char) -> bool {
    unsafe_char(c) && !matches!(c, '\u{0}'..='\u{1f}')
}

/// `value` with each unsafe character as `\u{1b}` (newlines and tabs included, so a
/// value cannot forge output lines either).
pub(crate) fn text(value: &str) -> Cow<'_, str> {
    escape_with(value, unsafe_char, |c, out| {
        out.push_str(&format!("\\u{{{:x}}}", u32::from(c)));
    })
}

/// A JSON document as `serde_json` writes it, with DEL, C1 and bidi controls as
/// `\u007f`-style escapes. These characters only occur inside JSON strings, where the
/// escape decodes to the same value.
pub(crate) fn json(document: String) -> String {
    match escape_with(&document, raw_in_json, |c, out| {
        out.push_str(&format!("\\u{:04x}", u32::from(c)));
    }) {
        Cow::Borrowed(_) => document,
        Cow::Owned(escaped) => escaped,
    }
}

fn escape_with(
    value: &str,
    needs: fn(char) -> bool,
    write: impl Fn(char, &mut String),
) -> Cow<'_, str> {
    if !value.chars().any(needs) {
        return Cow::Borrowed(value);
    }
    let mut out = String::with_capacity(value.len() + 16);
    for c in value.chars() {
        if needs(c) {
            write(c, &mut out);
        } else {
            out.push(c);
        }
    }
    Cow::Owned(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::Value;

    #[test]
    fn text_escapes_controls_and_bidi() {
        assert_eq!(text("read write"), "read write");
        assert!(matches!(text("ünïcode 🦀 \u{a0}"), Cow::Borrowed(_)));
        assert_eq!(text("a\u{1b}[31mb"), r"a\u{1b}[31mb");
        assert_eq!(
            text("\u{0}\u{7}\t\n\r\u{7f}"),
            r"\u{0}\u{7}\u{9}\u{a}\u{d}\u{7f}"
        );
        assert_eq!(
            text("\u{80}\u{9b}\u{9f}\u{a0}"),
            "\\u{80}\\u{9b}\\u{9f}\u{a0}"
        );
        assert_eq!(
            text("\u{202a}\u{202e}\u{2066}\u{2069}\u{202f}\u{2065}"),
            "\\u{202a}\\u{202e}\\u{2066}\\u{2069}\u{202f}\u{2065}"
        );
    }

    #[test]
    fn json_stays_json_with_the_same_values() {
        let value = serde_json::json!({"s": "a\u{1b}b\u{7f}\u{9b}\u{202e}\u{2069}é\n"});
        let compact = json(serde_json::to_string(&value).unwrap());
        assert_eq!(compact, r#"{"s":"a\u001bb\u007f\u009b\u202e\u2069é\n"}"#);
        assert_eq!(serde_json::from_str::<Value>(&compact).unwrap(), value);
        // The document's own newlines stay.
        let pretty = json(serde_json::to_string_pretty(&value).unwrap());
        assert_eq!(
            pretty,
            "{\n  \"s\": \"a\\u001bb\\u007f\\u009b\\u202e\\u2069é\\n\"\n}"
        );
        assert_eq!(serde_json::from_str::<Value>(&pretty).unwrap(), value);
    }
}
