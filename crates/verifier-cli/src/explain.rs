//! Why `verify` refused a token: the facts behind the code, for the operator.
//!
//! A server answers with the client-safe message ("Invalid audience") and nothing more.
//! The CLI runs locally, for the person who holds the token and the configuration, so it
//! may show what the token held and what was expected: the issuers (with a hint when they
//! differ only by a trailing slash), the audiences, `exp`/`nbf`/`iat` as dates and
//! relative times, the `kid` and the key set's kids, the algorithm and the key's type, the
//! missing scopes. The token's values are unverified and escaped like every other output.

use serde_json::{json, Map, Value};
use verifier_core::{
    decode_unverified, AudienceMode, AuthConfig, AuthError, ErrorCode, SigningKey,
};

use crate::escape;
use crate::human::{self, TimeClaim};

/// The facts of one refusal, in the order they are printed.
#[derive(Debug, Default)]
pub(crate) struct Facts(Vec<Fact>);

#[derive(Debug)]
struct Fact {
    /// Member of `error.details` in `--format json`.
    key: &'static str,
    /// Label in the text format.
    label: &'static str,
    value: Value,
    /// The text form, when it is not the compact JSON of `value`.
    text: Option<String>,
}

impl Facts {
    fn push(&mut self, key: &'static str, label: &'static str, value: Value) {
        self.0.push(Fact {
            key,
            label,
            value,
            text: None,
        });
    }

    fn push_text(&mut self, key: &'static str, label: &'static str, value: Value, text: String) {
        self.0.push(Fact {
            key,
            label,
            value,
            text: Some(text),
        });
    }

    /// Whether there is nothing to add to the code and message.
    pub(crate) fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// `error.details` of `--format json`.
    pub(crate) fn json(&self) -> Value {
        Value::Object(
            self.0
                .iter()
                .map(|f| (f.key.to_owned(), f.value.clone()))
                .collect(),
        )
    }

    /// One `label: value` line per fact, labels aligned, escaped for the terminal.
    pub(crate) fn text(&self) -> String {
        let width = self.0.iter().map(|f| f.label.len()).max().unwrap_or(0);
        let mut out = String::new();
        for fact in &self.0 {
            let text = match &fact.text {
                Some(text) => escape::text(text).into_owned(),
                None => compact(&fact.value),
            };
            let label = format!("{}:", fact.label);
            out.push_str(&format!("  {label:<w$} {text}\n", w = width + 1));
        }
        out
    }
}

/// What the explanation may look at besides the token.
pub(crate) struct Context<'a> {
    pub(crate) config: &'a AuthConfig,
    /// The verifier's key set, for the codes about keys (`None`: not looked at).
    pub(crate) keys: Option<Result<Vec<SigningKey>, AuthError>>,
    /// Seconds since the epoch.
    pub(crate) now: f64,
}

/// Whether explaining `code` needs the key set.
pub(crate) fn needs_keys(code: ErrorCode) -> bool {
    matches!(
        code,
        ErrorCode::MissingKid
            | ErrorCode::KeyNotFound
            | ErrorCode::DisallowedAlg
            | ErrorCode::InvalidSignature
            | ErrorCode::InvalidToken
    )
}

/// The facts behind `err` for `token` (nothing when the token does not decode).
pub(crate) fn explain(err: &AuthError, token: &[u8], ctx: &Context<'_>) -> Facts {
    let mut facts = Facts::default();
    let Ok((header, payload)) = decode_unverified(token) else {
        return facts;
    };
    let empty = Map::new();
    let header = header.as_object().unwrap_or(&empty);
    let claims = payload.as_object().unwrap_or(&empty);
    let config = ctx.config;
    match err.code() {
        ErrorCode::InvalidIssuer => issuer(&mut facts, claims, config),
        ErrorCode::InvalidAudience => audience(&mut facts, claims, config),
        ErrorCode::MissingClaim if err.message().contains("\"aud\"") => {
            audience(&mut facts, claims, config)
        }
        ErrorCode::MissingClaim => {
            let names: Vec<&String> = claims.keys().collect();
            facts.push("token_claims", "token claims", json!(names));
        }
        ErrorCode::TokenExpired | ErrorCode::TokenNotYetValid => times(&mut facts, claims, ctx),
        ErrorCode::MissingKid | ErrorCode::KeyNotFound => kids(&mut facts, header, ctx),
        ErrorCode::DisallowedAlg | ErrorCode::InvalidSignature => {
            alg_and_key(&mut facts, header, ctx)
        }
        ErrorCode::InsufficientScope => granted(
            &mut facts,
            ("missing_scopes", "missing scopes", err.required_scopes()),
            ("token_scopes", "token scopes"),
            ("scope_claim", "scope claim"),
            config.scope_claim_path().lookup(claims),
            config.scope_claim(),
        ),
        ErrorCode::InsufficientPermissions => granted(
            &mut facts,
            (
                "missing_permissions",
                "missing permissions",
                err.required_permissions(),
            ),
            ("token_permissions", "token permissions"),
            ("permissions_claim", "permissions claim"),
            config.permissions_claim_path().lookup(claims),
            config.permissions_claim(),
        ),
        ErrorCode::InvalidTokenType => {
            facts.push("token_typ", "token typ", member(header, "typ"));
            facts.push(
                "access_token_profile",
                "access-token profile",
                json!(config.access_token_profile().as_str()),
            );
            if let Some(wanted) = config.required_token_use() {
                facts.push("required_token_use", "required token_use", json!(wanted));
                facts.push("token_use", "token token_use", member(claims, "token_use"));
            }
        }
        ErrorCode::InvalidToken if err.message() == "Client not allowed" => {
            facts.push(
                "allowed_clients",
                "allowed clients",
                json!(config.allowed_clients()),
            );
            facts.push("token_azp", "token azp", member(claims, "azp"));
            facts.push(
                "token_client_id",
                "token client_id",
                member(claims, "client_id"),
            );
        }
        ErrorCode::InvalidToken => invalid(&mut facts, header, claims, ctx),
        _ => {}
    }
    facts
}

fn issuer(facts: &mut Facts, claims: &Map<String, Value>, config: &AuthConfig) {
    let expected = config.issuer();
    let actual = member(claims, "iss");
    facts.push("expected_issuer", "expected issuer", json!(expected));
    facts.push("token_iss", "token iss", actual.clone());
    if let Some(actual) = actual.as_str() {
        if actual.trim_end_matches('/') == expected.trim_end_matches('/') {
            facts.push(
                "hint",
                "hint",
                json!("the issuers differ only by a trailing slash: the comparison is exact, configure the token's iss"),
            );
        } else if actual.eq_ignore_ascii_case(expected) {
            facts.push(
                "hint",
                "hint",
                json!("the issuers differ only in letter case: the comparison is exact"),
            );
        }
    }
}

fn audience(facts: &mut Facts, claims: &Map<String, Value>, config: &AuthConfig) {
    facts.push(
        "expected_audiences",
        "expected audiences",
        json!(config.audiences()),
    );
    facts.push("token_aud", "token aud", member(claims, "aud"));
    let client_id = member(claims, "client_id");
    let aud_absent = member(claims, "aud").is_null();
    if !client_id.is_null() || config.audience_mode() != AudienceMode::Aud {
        facts.push("token_client_id", "token client_id", client_id.clone());
        facts.push(
            "audience_mode",
            "audience mode",
            json!(config.audience_mode().as_str()),
        );
    }
    if aud_absent && !client_id.is_null() && config.audience_mode() == AudienceMode::Aud {
        facts.push(
            "hint",
            "hint",
            json!("the token names its client in client_id and has no aud (an Amazon Cognito access token?): set OIDC_AUDIENCE_MODE=aud_or_client_id and OIDC_REQUIRED_TOKEN_USE=access"),
        );
    } else if let Some(aud) = member(claims, "aud").as_str() {
        let near = config
            .audiences()
            .iter()
            .any(|a| a.trim_end_matches('/') == aud.trim_end_matches('/'));
        if near {
            facts.push(
                "hint",
                "hint",
                json!("the audiences differ only by a trailing slash: the comparison is exact"),
            );
        }
    }
}

fn times(facts: &mut Facts, claims: &Map<String, Value>, ctx: &Context<'_>) {
    let now = ctx.now;
    facts.push_text(
        "now",
        "now",
        json!(human::utc(now)),
        human::utc(now).unwrap_or_default(),
    );
    let leeway = ctx.config.leeway().as_secs_f64();
    facts.push_text("leeway_s", "leeway", json!(leeway), format!("{leeway}s"));
    for (name, claim, key, label) in [
        ("exp", TimeClaim::Exp, "exp", "exp"),
        ("nbf", TimeClaim::Nbf, "nbf", "nbf"),
        ("iat", TimeClaim::Iat, "iat", "iat"),
    ] {
        let value = member(claims, name);
        let Some(secs) = value.as_f64() else {
            if !value.is_null() {
                facts.push(key, label, value);
            }
            continue;
        };
        let date = human::utc(secs);
        let relative = human::relative(claim, secs, now);
        let text = match &date {
            Some(date) => format!("{date} ({relative})"),
            None => format!("{secs} ({relative})"),
        };
        facts.push_text(
            key,
            label,
            json!({"value": value, "date": date, "relative": relative}),
            text,
        );
    }
}

fn kids(facts: &mut Facts, header: &Map<String, Value>, ctx: &Context<'_>) {
    facts.push("token_kid", "token kid", member(header, "kid"));
    match &ctx.keys {
        Some(Ok(keys)) => {
            let kids: Vec<&str> = keys.iter().map(SigningKey::kid).collect();
            facts.push("key_set_kids", "key set kids", json!(kids));
        }
        Some(Err(err)) => facts.push(
            "key_set_error",
            "key set",
            json!(format!("{}: {}", err.code(), err.message())),
        ),
        None => {}
    }
}

fn alg_and_key(facts: &mut Facts, header: &Map<String, Value>, ctx: &Context<'_>) {
    facts.push("token_alg", "token alg", member(header, "alg"));
    let allowed: Vec<&str> = ctx
        .config
        .allowed_algs()
        .iter()
        .map(|a| a.as_str())
        .collect();
    facts.push("allowed_algs", "allowed algs", json!(allowed));
    kids(facts, header, ctx);
    let kid = member(header, "kid");
    let Some(Ok(keys)) = &ctx.keys else { return };
    let matching: Vec<&SigningKey> = keys
        .iter()
        .filter(|k| kid.as_str() == Some(k.kid()))
        .collect();
    if matching.is_empty() {
        return;
    }
    let value: Vec<Value> = matching
        .iter()
        .map(|k| {
            json!({
                "kty": k.key_type(),
                "crv": k.curve(),
                "bits": k.bits(),
                "algorithms": k.algorithms().iter().map(|a| a.as_str()).collect::<Vec<_>>(),
            })
        })
        .collect();
    let text = matching
        .iter()
        .map(|k| {
            let algs: Vec<&str> = k.algorithms().iter().map(|a| a.as_str()).collect();
            let kind = match k.curve() {
                Some(crv) => format!("{} {crv}", k.key_type()),
                None => format!("{} {} bits", k.key_type(), k.bits()),
            };
            format!("{kind}, verifies {}", or_none(&algs.join(" ")))
        })
        .collect::<Vec<_>>()
        .join("; ");
    facts.push_text("key", "key", Value::Array(value), text);
}

/// `invalid_token`: the claims of the wrong type, or the short RSA key.
fn invalid(
    facts: &mut Facts,
    header: &Map<String, Value>,
    claims: &Map<String, Value>,
    ctx: &Context<'_>,
) {
    for (name, key, label, wanted) in [
        ("sub", "token_sub", "token sub", "a string"),
        ("jti", "token_jti", "token jti", "a string"),
        ("iat", "token_iat", "token iat", "a number"),
    ] {
        let value = member(claims, name);
        let fits = match wanted {
            "a number" => value.is_number(),
            _ => value.is_string(),
        };
        if !value.is_null() && !fits {
            let text = format!("{} (must be {wanted})", compact(&value));
            facts.push_text(key, label, value, text);
        }
    }
    let kid = member(header, "kid");
    let short = matches!(&ctx.keys, Some(Ok(keys))
        if keys.iter().any(|k| kid.as_str() == Some(k.kid()) && k.is_short_rsa()));
    if short {
        alg_and_key(facts, header, ctx);
        facts.push(
            "hint",
            "hint",
            json!("the key is an RSA key under 2048 bits, refused while enforce_minimum_key_length is on"),
        );
    }
}

/// Missing and held scopes (or permissions) and where they were read.
fn granted(
    facts: &mut Facts,
    missing: (&'static str, &'static str, &[String]),
    held: (&'static str, &'static str),
    claim: (&'static str, &'static str),
    value: Option<&Value>,
    path: &str,
) {
    facts.push(missing.0, missing.1, json!(missing.2));
    let have: Vec<&str> = match value {
        Some(Value::String(s)) => s.split(' ').filter(|t| !t.is_empty()).collect(),
        Some(Value::Array(items)) => items
            .iter()
            .filter_map(Value::as_str)
            .filter(|s| !s.is_empty())
            .collect(),
        _ => Vec::new(),
    };
    facts.push(held.0, held.1, json!(have));
    let text = match value {
        None => format!("{path} (absent from the token)"),
        Some(v @ (Value::String(_) | Value::Array(_))) => format!("{path} = {}", compact(v)),
        Some(v) => format!("{path} = {} (neither a string nor a list)", compact(v)),
    };
    facts.push_text(claim.0, claim.1, json!(path), text);
}

/// A member's value, `null` when absent.
fn member(object: &Map<String, Value>, name: &str) -> Value {
    object.get(name).cloned().unwrap_or(Value::Null)
}

/// Compact JSON with the terminal-unsafe characters as JSON escapes (`\u001b`,
/// `\u202e`), or `(absent)` for `null`.
fn compact(value: &Value) -> String {
    match value {
        Value::Null => "(absent)".to_owned(),
        other => escape::json(serde_json::to_string(other).unwrap_or_default()),
    }
}

fn or_none(text: &str) -> &str {
    if text.is_empty() {
        "nothing allowed"
    } else {
        text
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_token_that_does_not_decode_has_no_facts() {
        let config = AuthConfig::builder()
            .issuer("https://issuer.example/")
            .audience("api")
            .jwks_url("https://issuer.example/jwks.json")
            .build()
            .unwrap();
        let ctx = Context {
            config: &config,
            keys: None,
            now: 0.0,
        };
        let facts = explain(&AuthError::new(ErrorCode::MalformedToken), b"x.y", &ctx);
        assert!(facts.is_empty());
        assert_eq!(facts.json(), serde_json::json!({}));
    }

    #[test]
    fn text_aligns_labels_and_escapes_values() {
        let mut facts = Facts::default();
        facts.push("token_iss", "token iss", json!("a\u{1b}[31m"));
        facts.push("expected_issuer", "expected issuer", json!("b"));
        facts.push("token_aud", "token aud", Value::Null);
        assert_eq!(
            facts.text(),
            "  token iss:       \"a\\u001b[31m\"\n  expected issuer: \"b\"\n  token aud:       (absent)\n"
        );
    }
}
