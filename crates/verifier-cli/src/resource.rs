//! `oidc-verify resource-metadata`: the RFC 9728 protected-resource metadata document a
//! deployment would serve, and the challenge a client without credentials would see.

use serde::Serialize;
use verifier_core::{AuthConfig, AuthError, ErrorCode, ProtectedResourceMetadata, ResourceConfig};

use crate::cli::{Format, ResourceArgs};
use crate::config::CliConfigError;
use crate::output::pretty;
use crate::{usage_error, Outcome};

/// The resource configuration: the flags over the `OIDC_*` environment.
fn resource_config<E>(args: &ResourceArgs, env: E) -> Result<ResourceConfig, CliConfigError>
where
    E: Fn(&str) -> Option<String>,
{
    let lookup = |name: &str| -> Option<String> {
        match name {
            "OIDC_RESOURCE" => Some(args.resource.clone()),
            "OIDC_MCP" if args.mcp => Some("true".to_owned()),
            "OIDC_ALLOW_INSECURE_HTTP" if args.allow_insecure_http => Some("true".to_owned()),
            "OIDC_SCOPES_SUPPORTED" if !args.scopes.is_empty() => Some(args.scopes.join(" ")),
            other => env(other),
        }
    };
    ResourceConfig::from_env_lookup(lookup).map_err(CliConfigError)
}

/// What `--format json` prints.
#[derive(Serialize)]
struct Report<'a> {
    metadata_url: &'a str,
    document: serde_json::Value,
    www_authenticate: Option<String>,
}

pub(crate) fn run(args: &ResourceArgs) -> Outcome {
    let env = |name: &str| std::env::var(name).ok();
    let resource = match resource_config(args, env) {
        Ok(resource) => resource,
        Err(err) => return usage_error(err),
    };
    let mut issuers = Vec::with_capacity(args.issuers.len());
    for issuer in &args.issuers {
        let config = AuthConfig::builder()
            .issuer(issuer)
            .audience(resource.resource().unwrap_or("oidc-verify"))
            .allow_insecure_http(args.allow_insecure_http)
            .build();
        match config {
            Ok(config) => issuers.push(config),
            Err(err) => {
                return usage_error(format!("invalid configuration: --issuer {}", err.reason()))
            }
        }
    }
    let metadata = match ProtectedResourceMetadata::new(&resource, &issuers) {
        Ok(metadata) => metadata,
        Err(err) => return usage_error(err),
    };
    let challenge = metadata
        .challenge(args.realm.as_deref())
        .header(&AuthError::new(ErrorCode::MissingToken))
        .and_then(|v| v.to_str().ok().map(str::to_owned));
    let document: serde_json::Value =
        serde_json::from_str(metadata.body()).unwrap_or(serde_json::Value::Null);
    match args.format {
        Format::Json => println!(
            "{}",
            pretty(&Report {
                metadata_url: metadata.url().as_str(),
                document,
                www_authenticate: challenge,
            })
        ),
        Format::Text => {
            println!("metadata URL: {}", metadata.url());
            println!("served at path: {}", metadata.path());
            println!("document:\n{}", pretty(&document));
            if let Some(challenge) = challenge {
                println!("401 without credentials:\nWWW-Authenticate: {challenge}");
            }
        }
    }
    Outcome::Success
}
