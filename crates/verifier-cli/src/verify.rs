//! `oidc-verify verify`: the full pipeline against the configured issuer.

use serde_json::Value;
use verifier_core::{AsyncJwtVerifier, AuthError, Claims, ErrorCode};

use crate::cli::{Format, VerifyArgs};
use crate::escape;
use crate::human::{self, TimeClaim};
use crate::input::{read_token, Token};
use crate::output::{error_json, error_text, pretty};
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
        Err(err) => rejected(&err, args.format),
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

fn rejected(err: &AuthError, format: Format) -> Outcome {
    match format {
        Format::Json => println!("{}", pretty(&error_json(err))),
        Format::Text => print!("{}", error_text(err)),
    }
    Outcome::Rejected
}
