//! Printing verdicts: claims, errors (text and the JSON error shape).

use std::error::Error as _;

use serde::Serialize;
use verifier_core::AuthError;

use crate::escape;

/// The JSON error document of `--format json`:
/// `{"error": {"code", "status", "message", "www_authenticate"}}`, members in this order.
#[derive(Debug, Serialize)]
pub(crate) struct ErrorDoc {
    pub(crate) error: ErrorBody,
}

/// The inner error object.
///
/// `www_authenticate` is the challenge a server without a realm would send (`null` for
/// 503 errors, which carry `Retry-After` instead).
#[derive(Debug, Serialize)]
pub(crate) struct ErrorBody {
    code: &'static str,
    status: u16,
    message: String,
    www_authenticate: Option<String>,
    /// The facts behind a `verify` refusal ([`crate::explain`]), when there are any.
    #[serde(skip_serializing_if = "Option::is_none")]
    details: Option<serde_json::Value>,
}

impl ErrorBody {
    pub(crate) fn new(err: &AuthError) -> Self {
        ErrorBody {
            code: err.code().as_str(),
            status: err.status().as_u16(),
            message: err.message().to_owned(),
            www_authenticate: err
                .www_authenticate(None)
                .and_then(|v| v.to_str().ok().map(str::to_owned)),
            details: None,
        }
    }

    /// With the facts behind the refusal (`error.details`), unless there are none.
    pub(crate) fn with_details(mut self, facts: &crate::explain::Facts) -> Self {
        if !facts.is_empty() {
            self.details = Some(facts.json());
        }
        self
    }
}

/// The JSON error document for `err`.
pub(crate) fn error_json(err: &AuthError) -> ErrorDoc {
    ErrorDoc {
        error: ErrorBody::new(err),
    }
}

/// The error for humans: code, status, message, the challenge or retry hint, and the
/// underlying causes (for operators: they may name the URL or an I/O error). Text that
/// may come from the input is escaped for the terminal.
pub(crate) fn error_text(err: &AuthError) -> String {
    let mut out = format!(
        "rejected: {} (HTTP {}): {}\n",
        err.code(),
        err.status().as_u16(),
        escape::text(err.message())
    );
    if let Some(challenge) = err.www_authenticate(None) {
        out.push_str(&format!(
            "WWW-Authenticate: {}\n",
            escape::text(challenge.to_str().unwrap_or_default())
        ));
    }
    if let Some(after) = err.retry_after() {
        out.push_str(&format!("retry after: {:.1}s\n", after.as_secs_f64()));
    }
    out.push_str(&causes(err));
    out
}

/// `cause: ...` lines for the source chain of an error (a cause whose text the previous
/// one already contains is not repeated), escaped for the terminal.
pub(crate) fn causes(err: &AuthError) -> String {
    let mut out = String::new();
    let mut previous = String::new();
    let mut source = err.source();
    while let Some(cause) = source {
        let text = cause.to_string();
        if !previous.contains(&text) {
            out.push_str(&format!("cause: {}\n", escape::text(&text)));
        }
        previous = text;
        source = cause.source();
    }
    out
}

/// Pretty JSON (members in declaration order for structs), terminal-safe: DEL, C1 and
/// bidi controls are `\u` escapes too (C0 already are).
pub(crate) fn pretty<T: Serialize + ?Sized>(value: &T) -> String {
    // Serializing these types (strings, numbers, `serde_json::Value`) cannot fail.
    escape::json(serde_json::to_string_pretty(value).unwrap_or_default())
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::{json, Value};
    use verifier_core::ErrorCode;

    #[test]
    fn json_error_shape() {
        let text = pretty(&error_json(&AuthError::new(ErrorCode::TokenExpired)));
        let v: Value = serde_json::from_str(&text).unwrap();
        assert_eq!(
            v,
            json!({"error": {
                "code": "token_expired",
                "status": 401,
                "message": "Token is expired",
                "www_authenticate": "Bearer error=\"invalid_token\", error_description=\"Token is expired\"",
            }})
        );
        // Members in the documented order.
        let order: Vec<usize> = [
            "\"code\"",
            "\"status\"",
            "\"message\"",
            "\"www_authenticate\"",
        ]
        .iter()
        .map(|k| text.find(k).unwrap())
        .collect();
        assert!(order.windows(2).all(|w| w[0] < w[1]), "{text}");

        let v =
            serde_json::to_value(error_json(&AuthError::new(ErrorCode::JwksFetchFailed))).unwrap();
        assert_eq!(v["error"]["status"], 503);
        assert!(v["error"]["www_authenticate"].is_null());
        let v = serde_json::to_value(error_json(&AuthError::new(ErrorCode::MissingToken))).unwrap();
        assert_eq!(v["error"]["www_authenticate"], "Bearer");
    }

    #[test]
    fn text_error() {
        let text = error_text(
            &AuthError::new(ErrorCode::InsufficientScope).with_required_scopes(["admin"]),
        );
        assert!(text.starts_with("rejected: insufficient_scope (HTTP 403): Insufficient scope\n"));
        assert!(text.contains(r#"scope="admin""#));
    }

    #[test]
    fn text_error_escapes_messages_and_causes() {
        let err = AuthError::new(ErrorCode::JwksError)
            .with_message("bad \u{1b}[31m")
            .with_source(std::io::Error::other("kid \u{9b}2J\u{202e}x"));
        let text = error_text(&err);
        assert!(text.contains(r"bad \u{1b}[31m"), "{text}");
        assert!(text.contains(r"cause: kid \u{9b}2J\u{202e}x"), "{text}");
        assert!(!text.contains(['\u{1b}', '\u{9b}', '\u{202e}']), "{text}");
    }
}
