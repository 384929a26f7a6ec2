//! `oidc-verify jwks`: fetch a key set and report what a verifier would make of it.

use std::time::Duration;

use serde::Serialize;
use verifier_core::{
    Algorithm, AsyncJwksClient, AuthConfig, AuthError, ErrorCode, KeySetError, SigningKey,
    SkippedKey,
};

use crate::cli::{Format, JwksArgs};
use crate::escape;
use crate::output::{causes, pretty, ErrorBody};
use crate::{usage_error, Outcome};

/// Placeholders: the key-set client needs a complete configuration, but issuer and
/// audience play no part in fetching keys.
const PLACEHOLDER: &str = "oidc-verify";

pub(crate) async fn run(args: JwksArgs) -> Outcome {
    let mut builder = AuthConfig::builder()
        .issuer(PLACEHOLDER)
        .audience(PLACEHOLDER)
        .jwks_url(args.jwks_url.clone())
        // Every supported algorithm, so the listing shows what each key can verify.
        .allowed_algs(Algorithm::ALL.iter().copied())
        .allow_insecure_http(args.allow_insecure_http);
    if let Some(secs) = args.jwks_timeout {
        builder = builder.jwks_timeout(Duration::from_secs_f64(secs));
    }
    let config = match builder.build() {
        Ok(config) => config,
        Err(err) => {
            let name = match err.field() {
                "jwks_url" => "--jwks-url (OIDC_JWKS_URL)",
                "jwks_timeout" => "--jwks-timeout (OIDC_JWKS_TIMEOUT_S)",
                other => other,
            };
            return usage_error(format_args!(
                "invalid configuration: {name} {}",
                err.reason()
            ));
        }
    };
    let client = match AsyncJwksClient::new(&config) {
        Ok(client) => client,
        // A `ConfigError` reads "invalid configuration: {field} {reason}".
        Err(err) => return usage_error(err),
    };
    let url = config
        .jwks_url()
        .map_or_else(String::new, |u| u.as_str().to_owned());
    let fetched = client.get_signing_keys(true).await.and_then(|keys| {
        if keys.is_empty() {
            // Installed by a verifier (it revokes every key), but nothing can verify.
            let skipped = client.stats().skipped_entries;
            Err(AuthError::new(ErrorCode::JwksError)
                .with_source(KeySetError::NoUsableKeys { skipped }))
        } else {
            Ok(keys)
        }
    });
    match fetched {
        Ok(keys) => {
            let skipped = client.skipped_keys();
            let skipped_count = client.stats().skipped_entries.max(skipped.len());
            match args.format {
                Format::Json => println!(
                    "{}",
                    pretty(&Report {
                        jwks_url: &url,
                        healthy: true,
                        keys: Some(keys.iter().map(KeyRow::new).collect()),
                        skipped: Some(skipped.iter().map(SkippedRow::new).collect()),
                        skipped_count: Some(skipped_count),
                        error: None,
                    })
                ),
                Format::Text => print!("{}", healthy_text(&url, &keys, &skipped, skipped_count)),
            }
            Outcome::Success
        }
        Err(err) => {
            match args.format {
                Format::Json => println!(
                    "{}",
                    pretty(&Report {
                        jwks_url: &url,
                        healthy: false,
                        keys: None,
                        skipped: None,
                        skipped_count: None,
                        error: Some(ErrorBody::new(&err)),
                    })
                ),
                Format::Text => {
                    println!("JWKS {}: UNHEALTHY", escape::text(&url));
                    println!(
                        "error: {} (HTTP {}): {}",
                        err.code(),
                        err.status().as_u16(),
                        escape::text(err.message())
                    );
                    print!("{}", causes(&err));
                }
            }
            Outcome::Rejected
        }
    }
}

/// The `--format json` document.
#[derive(Serialize)]
struct Report<'a> {
    jwks_url: &'a str,
    healthy: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    keys: Option<Vec<KeyRow>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    skipped: Option<Vec<SkippedRow>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    skipped_count: Option<usize>,
    #[serde(skip_serializing_if = "Option::is_none")]
    error: Option<ErrorBody>,
}

/// One usable key.
#[derive(Serialize)]
pub(crate) struct KeyRow {
    kid: String,
    kty: &'static str,
    crv: Option<&'static str>,
    alg: Option<&'static str>,
    bits: usize,
    verifies: Vec<&'static str>,
    short_rsa: bool,
}

impl KeyRow {
    pub(crate) fn new(key: &SigningKey) -> Self {
        KeyRow {
            kid: key.kid().to_owned(),
            kty: key.key_type(),
            crv: key.curve(),
            alg: key.jwk_alg().map(Algorithm::as_str),
            bits: key.bits(),
            verifies: algorithms(key),
            short_rsa: key.is_short_rsa(),
        }
    }
}

/// One skipped entry.
#[derive(Serialize)]
struct SkippedRow {
    kid: Option<String>,
    reason: String,
}

impl SkippedRow {
    fn new(skipped: &SkippedKey) -> Self {
        SkippedRow {
            kid: skipped.kid.clone(),
            reason: skipped.reason.clone(),
        }
    }
}

fn algorithms(key: &SigningKey) -> Vec<&'static str> {
    key.algorithms()
        .into_iter()
        .map(Algorithm::as_str)
        .collect()
}

/// The text report; key ids and skip reasons (from the key set) escaped for the terminal.
fn healthy_text(url: &str, keys: &[SigningKey], skipped: &[SkippedKey], count: usize) -> String {
    let plural = |n: usize, word: &str| format!("{n} {word}{}", if n == 1 { "" } else { "s" });
    let mut out = format!(
        "JWKS {}: healthy ({}, {} skipped)\n\n",
        escape::text(url),
        plural(keys.len(), "usable key"),
        count
    );
    let rows: Vec<[String; 6]> = keys
        .iter()
        .map(|k| {
            let mut verifies = algorithms(k).join(" ");
            if k.is_short_rsa() {
                verifies = "none: RSA under 2048 bits, refused at verification".to_owned();
            }
            [
                escape::text(k.kid()).into_owned(),
                k.key_type().to_owned(),
                k.curve().unwrap_or("-").to_owned(),
                k.jwk_alg().map_or("-", Algorithm::as_str).to_owned(),
                k.bits().to_string(),
                verifies,
            ]
        })
        .collect();
    let header = ["KID", "KTY", "CRV", "ALG", "BITS", "VERIFIES"].map(str::to_owned);
    let mut widths = header.clone().map(|h| h.len());
    for row in &rows {
        for (w, cell) in widths.iter_mut().zip(row) {
            *w = (*w).max(cell.chars().count());
        }
    }
    for row in std::iter::once(&header).chain(&rows) {
        let mut line = String::new();
        for (i, (cell, w)) in row.iter().zip(widths).enumerate() {
            if i + 1 == row.len() {
                line.push_str(cell);
            } else {
                line.push_str(&format!("{cell:<w$}  "));
            }
        }
        out.push_str(line.trim_end());
        out.push('\n');
    }
    if count > 0 {
        out.push_str(&format!("\nskipped entries ({count}):\n"));
        for s in skipped {
            let reason = escape::text(&s.reason);
            match &s.kid {
                Some(kid) => out.push_str(&format!(
                    "  kid {}: {reason}\n",
                    escape::text(&format!("{kid:?}"))
                )),
                None => out.push_str(&format!("  (no kid): {reason}\n")),
            }
        }
        if count > skipped.len() {
            out.push_str(&format!(
                "  ... and {} more (reasons not recorded)\n",
                count - skipped.len()
            ));
        }
    }
    out
}
