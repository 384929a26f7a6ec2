//! `oidc-verify discover`: find an issuer's metadata and key set, as a verifier
//! configured with the issuer alone would, and report what it found.

use serde::Serialize;
use verifier_core::{Algorithm, AsyncJwtVerifier, AuthConfig, AuthError, ErrorCode, Health};

use crate::cli::{DiscoverArgs, Format};
use crate::config::CliConfigError;
use crate::escape;
use crate::jwks::KeyRow;
use crate::output::{causes, pretty, ErrorBody};
use crate::{usage_error, Outcome};

/// The audience plays no part in finding keys.
const PLACEHOLDER: &str = "oidc-verify";

/// The configuration: the flags over the `OIDC_*` environment, keys always discovered.
fn config<E>(args: &DiscoverArgs, env: E) -> Result<AuthConfig, CliConfigError>
where
    E: Fn(&str) -> Option<String>,
{
    let all_algs = Algorithm::ALL
        .iter()
        .map(|a| a.as_str())
        .collect::<Vec<_>>()
        .join(",");
    let lookup = |name: &str| -> Option<String> {
        match name {
            "OIDC_ISSUER" => Some(args.issuer.clone()),
            "OIDC_AUDIENCE" => Some(PLACEHOLDER.to_owned()),
            // Every supported algorithm, so the listing shows what each key can verify.
            "OIDC_ALLOWED_ALGS" => Some(all_algs.clone()),
            "OIDC_JWKS_URL" => None,
            "OIDC_DISCOVERY" => args.discovery.clone(),
            "OIDC_DISCOVERY_URL" => args.discovery_url.clone(),
            "OIDC_JWKS_TIMEOUT_S" => args.jwks_timeout.map(|s| s.to_string()),
            "OIDC_ALLOW_INSECURE_HTTP" => Some(args.allow_insecure_http.to_string()),
            other => env(other),
        }
    };
    AuthConfig::from_env_lookup(lookup).map_err(CliConfigError)
}

pub(crate) async fn run(args: DiscoverArgs) -> Outcome {
    let config = match config(&args, |name| std::env::var(name).ok()) {
        Ok(config) => config,
        Err(err) => return usage_error(err),
    };
    if config.discovery() == verifier_core::discovery::Discovery::Off {
        return usage_error("invalid configuration: --discovery (OIDC_DISCOVERY) must not be off");
    }
    let verifier = match AsyncJwtVerifier::new(config) {
        Ok(verifier) => verifier,
        Err(err) => return usage_error(err),
    };
    let health = verifier.health().await;
    let found = if health.ready {
        verifier.get_signing_keys(false).await
    } else {
        // Not ready: the failure that made it so (backing off, this is the last error).
        match verifier.get_signing_keys(false).await {
            Ok(_) => Err(AuthError::new(
                health.issuers[0]
                    .last_error
                    .unwrap_or(ErrorCode::JwksFetchFailed),
            )),
            Err(err) => Err(err),
        }
    };
    let report = Report::new(&args.issuer, &health, &found);
    match args.format {
        Format::Json => println!("{}", pretty(&report)),
        Format::Text => print!("{}", text(&report, &found)),
    }
    if found.is_ok() {
        Outcome::Success
    } else {
        Outcome::Rejected
    }
}

/// The `--format json` document.
#[derive(Serialize)]
struct Report<'a> {
    issuer: &'a str,
    healthy: bool,
    /// The metadata URL that answered last.
    metadata_url: Option<String>,
    jwks_uri: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    keys: Option<Vec<KeyRow>>,
    /// The readiness view of the verifier (`health()`).
    health: &'a Health,
    #[serde(skip_serializing_if = "Option::is_none")]
    error: Option<ErrorBody>,
}

impl<'a> Report<'a> {
    fn new(
        issuer: &'a str,
        health: &'a Health,
        found: &Result<Vec<verifier_core::SigningKey>, AuthError>,
    ) -> Self {
        let metadata = health.issuers.first().and_then(|i| i.metadata.as_ref());
        Report {
            issuer,
            healthy: found.is_ok(),
            metadata_url: metadata.and_then(|m| m.url.as_ref()).map(|u| u.to_string()),
            jwks_uri: metadata
                .and_then(|m| m.jwks_uri.as_ref())
                .map(|u| u.to_string()),
            keys: found
                .as_ref()
                .ok()
                .map(|keys| keys.iter().map(KeyRow::new).collect()),
            health,
            error: found.as_ref().err().map(ErrorBody::new),
        }
    }
}

/// The text report; URLs come from the issuer's document, so they are escaped.
fn text(report: &Report<'_>, found: &Result<Vec<verifier_core::SigningKey>, AuthError>) -> String {
    let verdict = if report.healthy {
        "HEALTHY"
    } else {
        "UNHEALTHY"
    };
    let mut out = format!("issuer {}: {verdict}\n", escape::text(report.issuer));
    let shown = |url: &Option<String>| {
        url.as_deref()
            .map_or("-".to_owned(), |u| escape::text(u).into_owned())
    };
    out.push_str(&format!("metadata: {}\n", shown(&report.metadata_url)));
    out.push_str(&format!("jwks_uri: {}\n", shown(&report.jwks_uri)));
    match found {
        Ok(keys) => {
            let kids: Vec<String> = keys
                .iter()
                .map(|k| format!("{} ({})", escape::text(k.kid()), k.key_type()))
                .collect();
            out.push_str(&format!(
                "keys:     {} usable: {}\n",
                keys.len(),
                kids.join(", ")
            ));
        }
        Err(err) => {
            out.push_str(&format!(
                "error: {} (HTTP {}): {}\n",
                err.code(),
                err.status().as_u16(),
                escape::text(err.message())
            ));
            out.push_str(&causes(err));
        }
    }
    out
}
