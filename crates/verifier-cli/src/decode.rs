//! `oidc-verify decode`: header and claims, clearly marked unverified.

use std::collections::BTreeMap;

use serde::Serialize;
use serde_json::Value;
use verifier_core::{decode_unverified, AuthError, ErrorCode};

use crate::cli::{DecodeArgs, Format};
use crate::escape;
use crate::human::{self, TimeClaim};
use crate::input::{read_token, Token};
use crate::output::{causes, error_json, pretty};
use crate::{usage_error, Outcome};

const BANNER: &str = "UNVERIFIED: decoded only. The signature, issuer, audience, key and expiry \
were NOT checked; anyone can write these values. Use `oidc-verify verify` to verify.";

const TIME_CLAIMS: [(&str, TimeClaim); 3] = [
    ("exp", TimeClaim::Exp),
    ("nbf", TimeClaim::Nbf),
    ("iat", TimeClaim::Iat),
];

pub(crate) fn run(args: &DecodeArgs) -> Outcome {
    let token = match read_token(args.token.as_deref()) {
        Ok(Token::Bytes(token)) => token,
        Ok(Token::TooLarge) => {
            let err = AuthError::new(ErrorCode::MalformedToken).with_message("Token too large");
            return failed(&err, args.format);
        }
        Err(err) => return usage_error(format_args!("cannot read standard input: {err}")),
    };
    if token.is_empty() {
        return failed(&AuthError::new(ErrorCode::MissingToken), args.format);
    }
    let (header, claims) = match decode_unverified(&token) {
        Ok(parts) => parts,
        Err(err) => return failed(&err, args.format),
    };
    let now = human::now();
    let times = times(&claims, now);
    let notes = notes(&header);
    match args.format {
        Format::Json => {
            let doc = Decoded {
                verified: false,
                warning: BANNER,
                header: &header,
                claims: &claims,
                times: times.iter().map(|t| (t.name, t.json())).collect(),
                notes: &notes,
            };
            println!("{}", pretty(&doc));
        }
        Format::Text => {
            println!("{BANNER}\n");
            println!("Header (UNVERIFIED):\n{}\n", pretty(&header));
            println!("Claims (UNVERIFIED):\n{}", pretty(&claims));
            if !times.is_empty() {
                let now_utc = human::utc(now).unwrap_or_default();
                println!("\nTimes (now {now_utc}):");
                for t in &times {
                    println!("  {}: {}", t.name, t.text());
                }
            }
            if !notes.is_empty() {
                println!("\nNotes:");
                for note in &notes {
                    println!("  - {}", escape::text(note));
                }
            }
        }
    }
    Outcome::Success
}

fn failed(err: &AuthError, format: Format) -> Outcome {
    match format {
        Format::Json => println!("{}", pretty(&error_json(err))),
        Format::Text => {
            println!(
                "cannot decode: {}: {}",
                err.code(),
                escape::text(err.message())
            );
            print!("{}", causes(err));
        }
    }
    Outcome::Rejected
}

/// The `--format json` document.
#[derive(Serialize)]
struct Decoded<'a> {
    verified: bool,
    warning: &'static str,
    header: &'a Value,
    claims: &'a Value,
    times: BTreeMap<&'static str, TimeJson>,
    notes: &'a [String],
}

/// One time claim in the JSON document.
#[derive(Serialize)]
struct TimeJson {
    value: Value,
    utc: Option<String>,
    relative: Option<String>,
}

/// One time claim, explained.
struct Time {
    name: &'static str,
    raw: Value,
    /// Seconds since the epoch, when the claim is a JSON number.
    secs: Option<f64>,
    relative: Option<String>,
}

impl Time {
    /// The line for the text format (the raw value as terminal-safe JSON).
    fn text(&self) -> String {
        let raw = escape::json(self.raw.to_string());
        match (self.secs, &self.relative) {
            (Some(secs), Some(rel)) => {
                let date = human::utc(secs).unwrap_or_else(|| "out of range".to_owned());
                format!("{date} ({raw}), {rel}")
            }
            _ => format!(
                "{raw} is not a JSON number: a verifier refuses it ({})",
                if self.name == "iat" {
                    "invalid_token"
                } else {
                    "malformed_token"
                }
            ),
        }
    }

    fn json(&self) -> TimeJson {
        TimeJson {
            value: self.raw.clone(),
            utc: self.secs.and_then(human::utc),
            relative: self.relative.clone(),
        }
    }
}

fn times(claims: &Value, now: f64) -> Vec<Time> {
    TIME_CLAIMS
        .iter()
        .filter_map(|(name, kind)| {
            let raw = claims.get(name).filter(|v| !v.is_null())?.clone();
            let secs = raw.as_f64().filter(|s| s.is_finite());
            Some(Time {
                name,
                relative: secs.map(|s| human::relative(*kind, s, now)),
                secs,
                raw,
            })
        })
        .collect()
}

/// Header members a verifier refuses on sight.
fn notes(header: &Value) -> Vec<String> {
    let mut notes = Vec::new();
    for name in ["jku", "x5u", "crit"] {
        if header.get(name).is_some() {
            notes.push(format!(
                "header has \"{name}\": a verifier refuses this token (forbidden_header)"
            ));
        }
    }
    for name in ["jwk", "x5c"] {
        if header.get(name).is_some() {
            notes.push(format!(
                "header has \"{name}\": ignored, keys come only from the configured JWKS"
            ));
        }
    }
    match header.get("alg").and_then(Value::as_str) {
        Some(alg) if alg.eq_ignore_ascii_case("none") || alg.starts_with("HS") => {
            notes.push(format!("alg {alg:?} is never accepted (disallowed_alg)"))
        }
        Some(_) => {}
        None => notes.push("no alg header: a verifier refuses this token (malformed_token)".into()),
    }
    if header
        .get("kid")
        .and_then(Value::as_str)
        .is_none_or(str::is_empty)
    {
        notes.push("no kid header: a verifier refuses this token (missing_kid)".into());
    }
    notes
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn time_lines() {
        let claims = json!({"exp": 1300, "nbf": "1000", "iat": 990});
        let t = times(&claims, 1000.0);
        assert_eq!(t.len(), 3);
        assert!(t[0].text().ends_with("expires in 5m"), "{}", t[0].text());
        assert!(t[1].text().contains("malformed_token"));
        assert!(t[2].text().ends_with("issued 10s ago"));
    }

    #[test]
    fn header_notes() {
        let n = notes(&json!({"alg": "HS256", "jku": "https://evil"}));
        assert!(n.iter().any(|n| n.contains("forbidden_header")));
        assert!(n.iter().any(|n| n.contains("disallowed_alg")));
        assert!(n.iter().any(|n| n.contains("missing_kid")));
        assert!(notes(&json!({"alg": "RS256", "kid": "k"})).is_empty());
    }
}
