//! `oidc-verify verify`: the full pipeline against the configured issuer.

use http::header::AUTHORIZATION;
use http::{HeaderMap, HeaderValue, Method, Uri};
use serde_json::Value;
use verifier_core::dpop::{DpopConfig, DpopMode, DpopVerifier};
use verifier_core::{AsyncJwtVerifier, AuthConfig, AuthError, Claims, ErrorCode, RequestParts};

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
    let dpop = match dpop_request(&args) {
        Ok(dpop) => dpop,
        Err(message) => return usage_error(message),
    };
    let verifier = match build(config, dpop.as_ref()) {
        Ok(verifier) => verifier,
        // A `ConfigError` reads "invalid configuration: {field} {reason}".
        Err(err) => return usage_error(err),
    };
    let result = match &dpop {
        None => verifier.verify_access_token(&token).await,
        Some(request) => request.authenticate(&verifier, &token).await,
    };
    match result {
        Ok(claims) => {
            if let (Some(request), Format::Text) = (&dpop, args.format) {
                println!(
                    "dpop: proof for {} {} accepted",
                    request.method, request.htu
                );
            }
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

/// The request a DPoP proof is checked against (`--dpop-proof`, `--htm`, `--htu`).
struct DpopRequest {
    proof: HeaderValue,
    method: Method,
    htu: String,
    uri: Uri,
    /// The origin of `htu`: the API's public base URL.
    base: String,
}

fn dpop_request(args: &VerifyArgs) -> Result<Option<DpopRequest>, String> {
    let (Some(proof), Some(htm), Some(htu)) = (&args.dpop_proof, &args.htm, &args.htu) else {
        return Ok(None);
    };
    let proof = HeaderValue::from_str(proof.trim())
        .map_err(|_| "--dpop-proof must be a compact JWS (printable ASCII)".to_owned())?;
    let method = Method::from_bytes(htm.trim().as_bytes())
        .map_err(|_| format!("--htm must be an HTTP method, got {htm:?}"))?;
    let url = url::Url::parse(htu.trim())
        .map_err(|e| format!("--htu must be an absolute URL ({e}), got {htu:?}"))?;
    let base = url.origin().ascii_serialization();
    let uri: Uri = url
        .path()
        .parse()
        .map_err(|_| format!("--htu has an unusable path: {htu:?}"))?;
    Ok(Some(DpopRequest {
        proof,
        method,
        htu: htu.trim().to_owned(),
        uri,
        base,
    }))
}

/// The verifier: with DPoP (mode `allowed`, the `htu`'s origin as public base URL) when a
/// proof is given.
fn build(
    config: AuthConfig,
    dpop: Option<&DpopRequest>,
) -> Result<AsyncJwtVerifier, verifier_core::ConfigError> {
    let Some(request) = dpop else {
        return AsyncJwtVerifier::new(config);
    };
    let dpop = DpopConfig::builder()
        .mode(DpopMode::Allowed)
        .public_base_url(request.base.clone())
        .build()?;
    AsyncJwtVerifier::builder()
        .issuer(config)
        .dpop(DpopVerifier::new(dpop))
        .build()
}

impl DpopRequest {
    /// The token with its proof, as a request `METHOD path` with `Authorization: DPoP`.
    async fn authenticate(
        &self,
        verifier: &AsyncJwtVerifier,
        token: &[u8],
    ) -> Result<Claims, AuthError> {
        let token = std::str::from_utf8(token.trim_ascii())
            .map_err(|_| AuthError::new(ErrorCode::MalformedToken))?;
        let authorization = HeaderValue::from_str(&format!("DPoP {token}"))
            .map_err(|_| AuthError::new(ErrorCode::MalformedToken))?;
        let mut headers = HeaderMap::new();
        headers.insert(AUTHORIZATION, authorization);
        headers.insert("dpop", self.proof.clone());
        let parts = RequestParts::new(&self.method, &self.uri, &headers);
        match verifier.authenticate(parts).await? {
            Some(authenticated) => Ok(authenticated.claims),
            None => Err(AuthError::new(ErrorCode::MissingToken)),
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
