//! `oidc-verify verify`: the full pipeline against the configured issuer.

use serde_json::Value;
use verifier_core::{AsyncJwtVerifier, AuthError, Claims, ErrorCode};

use crate::cli::{Format, VerifyArgs};
use crate::escape;
use crate::explain;
use crate::human::{self, TimeClaim};
use crate::input::{read_token, Token};
use crate::output::{causes, error_json, error_text, pretty, ErrorBody, ErrorDoc};
use crate::{config, usage_error, Outcome};

pub(crate) async fn run(args: VerifyArgs) -> Outcome {
    let config = match config::verify_config(&args) {
        Ok(config) => config,
        Err(err) => return usage_error(err),
    };
    let token = match read_token(args.token.as_deref()) {
        Ok(Token::Bytes(token)) => token,
        Ok(Token::TooLarge) => {
            let err = AuthError::new(ErrorCode::MalformedToken).with_message("Token too large");
            return rejected(&err, args.format);
        }
        Err(err) => return usage_error(format_args!("cannot read standard input: {err}")),
    };
    let verifier = match AsyncJwtVerifier::new(config) {
        Ok(verifier) => verifier,
        // A `ConfigError` reads "invalid configuration: {field} {reason}".
        Err(err) => return usage_error(err),
    };
    match verifier.verify_access_token(&token).await {
        Ok(claims) => {
            accepted(&claims, args.format);
            Outcome::Success
        }
        Err(err) => {
            let keys = if explain::needs_keys(err.code()) {
                Some(verifier.get_signing_keys(false).await)
            } else {
                None
            };
            let ctx = explain::Context {
                config: verifier.config(),
                keys,
                now: human::now(),
            };
            let facts = explain::explain(&err, &token, &ctx);
            rejected_with(&err, &facts, args.format)
        }
    }
}

fn accepted(claims: &Claims, format: Format) {
    let value = Value::Object(claims.as_map().clone());
    if format == Format::Text {
        println!("{}", summary(claims));
    }
    println!("{}", pretty(&value));
}

/// One line: `valid: sub "user-123", expires in 4m 59s, scopes: read write`; claim text
/// escaped for the terminal.
fn summary(claims: &Claims) -> String {
    let mut parts = Vec::new();
    match claims.sub() {
        Some(sub) => parts.push(format!("sub {}", escape::text(&format!("{sub:?}")))),
        None => parts.push("no sub".to_owned()),
    }
    if let Some(exp) = claims.exp() {
        parts.push(human::relative(TimeClaim::Exp, exp, human::now()));
    }
    let scopes = claims.scopes();
    if !scopes.is_empty() {
        parts.push(format!("scopes: {}", escape::text(&scopes.join(" "))));
    }
    let permissions = claims.permissions();
    if !permissions.is_empty() {
        parts.push(format!(
            "permissions: {}",
            escape::text(&permissions.join(" "))
        ));
    }
    format!("valid: {}", parts.join(", "))
}

/// A refusal with the facts behind it: the code, message and challenge, then one line per
/// fact (text), or `error.details` (JSON).
fn rejected_with(err: &AuthError, facts: &explain::Facts, format: Format) -> Outcome {
    match format {
        Format::Json => println!(
            "{}",
            pretty(&ErrorDoc {
                error: ErrorBody::new(err).with_details(facts),
            })
        ),
        Format::Text => {
            let text = error_text(err);
            // The facts go after the challenge, before the causes.
            let causes = causes(err);
            let head = text.strip_suffix(causes.as_str()).unwrap_or(&text);
            print!("{head}");
            if !facts.is_empty() {
                println!("why:");
                print!("{}", facts.text());
            }
            print!("{causes}");
        }
    }
    Outcome::Rejected
}

fn rejected(err: &AuthError, format: Format) -> Outcome {
    match format {
        Format::Json => println!("{}", pretty(&error_json(err))),
        Format::Text => print!("{}", error_text(err)),
    }
    Outcome::Rejected
}
