//! The verifier configuration of `verify`: flags over `OIDC_*` environment variables.
//!
//! The flags are laid over the environment and the result goes through
//! [`AuthConfig::from_env_lookup`], so every variable `AuthConfig::from_env` knows is
//! honoured with the same parsing and rules, and a flag always wins over its variable.

use std::fmt;

use verifier_core::{AuthConfig, ConfigError};

use crate::cli::VerifyArgs;

/// Flags that stand for an environment variable, for error messages.
const FLAG_NAMES: &[(&str, &str)] = &[
    ("OIDC_ISSUER", "--issuer"),
    ("OIDC_AUDIENCE", "--audience"),
    ("OIDC_JWKS_URL", "--jwks-url"),
    ("OIDC_ALLOWED_ALGS", "--alg"),
    ("OIDC_LEEWAY_S", "--leeway"),
    ("OIDC_JWKS_TIMEOUT_S", "--jwks-timeout"),
    ("OIDC_REQUIRED_SCOPES", "--require-scope"),
    ("OIDC_REQUIRED_PERMISSIONS", "--require-permission"),
    ("OIDC_DISCOVERY", "--discovery"),
    ("OIDC_DISCOVERY_URL", "--discovery-url"),
    ("OIDC_ALLOW_INSECURE_HTTP", "--allow-insecure-http"),
    ("OIDC_ACCESS_TOKEN_PROFILE", "--profile"),
    ("OIDC_RESOURCE", "--resource"),
    ("OIDC_MCP", "--mcp"),
];

/// A configuration error, naming the flag and the variable.
#[derive(Debug)]
pub(crate) struct CliConfigError(pub(crate) ConfigError);

impl fmt::Display for CliConfigError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let field = self.0.field();
        match FLAG_NAMES.iter().find(|(var, _)| *var == field) {
            Some((var, flag)) => write!(
                f,
                "invalid configuration: {flag} ({var}) {}",
                self.0.reason()
            ),
            // `ConfigError`'s own sentence: "invalid configuration: {field} {reason}".
            None => write!(f, "{}", self.0),
        }
    }
}

/// Builds the configuration from the parsed flags (which clap already merged with
/// their own variables) and the process environment for everything else.
pub(crate) fn verify_config(args: &VerifyArgs) -> Result<AuthConfig, CliConfigError> {
    config_with_env(args, |name| std::env::var(name).ok())
}

/// Like [`verify_config`], reading other variables through `env`.
pub(crate) fn config_with_env<E>(args: &VerifyArgs, env: E) -> Result<AuthConfig, CliConfigError>
where
    E: Fn(&str) -> Option<String>,
{
    let lookup = |name: &str| -> Option<String> {
        match name {
            "OIDC_ISSUER" => Some(args.issuer.clone()),
            "OIDC_AUDIENCE" => Some(args.audiences.join(",")),
            "OIDC_JWKS_URL" => args.jwks_url.clone(),
            "OIDC_ALLOWED_ALGS" if !args.algs.is_empty() => Some(args.algs.join(",")),
            "OIDC_ALLOWED_ALGS" => None,
            "OIDC_LEEWAY_S" => args.leeway.map(|s| s.to_string()),
            "OIDC_JWKS_TIMEOUT_S" => args.jwks_timeout.map(|s| s.to_string()),
            "OIDC_REQUIRED_SCOPES" if !args.scopes.is_empty() => Some(args.scopes.join(" ")),
            "OIDC_REQUIRED_PERMISSIONS" if !args.permissions.is_empty() => {
                Some(args.permissions.join(" "))
            }
            "OIDC_ACCESS_TOKEN_PROFILE" => args.profile.clone(),
            other => env(other),
        }
    };
    AuthConfig::from_env_lookup(lookup).map_err(CliConfigError)
}

#[cfg(test)]
mod tests {
    use std::collections::HashMap;
    use std::time::Duration;

    use super::*;
    use crate::cli::Format;

    fn args() -> VerifyArgs {
        VerifyArgs {
            issuer: "https://issuer.example/".into(),
            audiences: vec!["a".into(), "b".into()],
            jwks_url: Some("https://issuer.example/jwks.json".into()),
            algs: Vec::new(),
            leeway: None,
            scopes: Vec::new(),
            permissions: Vec::new(),
            jwks_timeout: None,
            dpop_proof: None,
            htm: None,
            htu: None,
            profile: None,
            format: Format::Text,
            token: None,
        }
    }

    fn with_env(args: &VerifyArgs, vars: &[(&str, &str)]) -> Result<AuthConfig, CliConfigError> {
        let vars: HashMap<String, String> = vars
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        config_with_env(args, |name| vars.get(name).cloned())
    }

    #[test]
    fn flags_win_over_environment() {
        let mut a = args();
        a.scopes = vec!["read".into()];
        a.leeway = Some(0.5);
        let config = with_env(
            &a,
            &[
                ("OIDC_REQUIRED_SCOPES", "admin write"),
                ("OIDC_REQUIRED_PERMISSIONS", "p:1 p:2"),
                ("OIDC_JWKS_CACHE_TTL_S", "60"),
                ("OIDC_SCOPE_CLAIM", "scp"),
            ],
        )
        .unwrap();
        assert_eq!(config.audiences(), ["a", "b"]);
        assert_eq!(config.required_scopes(), ["read"]);
        assert_eq!(config.required_permissions(), ["p:1", "p:2"]);
        assert_eq!(config.leeway(), Duration::from_millis(500));
        assert_eq!(config.jwks_cache_ttl(), Duration::from_secs(60));
        assert_eq!(config.scope_claim(), "scp");
    }

    #[test]
    fn errors_name_the_flag_and_the_variable() {
        let mut a = args();
        a.algs = vec!["HS256".into()];
        let err = with_env(&a, &[]).unwrap_err().to_string();
        assert!(err.contains("--alg (OIDC_ALLOWED_ALGS)"), "{err}");
        assert!(err.contains("HS256"), "{err}");

        let mut a = args();
        a.jwks_url = Some("http://example.com/jwks.json".into());
        let err = with_env(&a, &[]).unwrap_err().to_string();
        assert!(err.contains("--jwks-url (OIDC_JWKS_URL)"), "{err}");

        let err = with_env(&args(), &[("OIDC_JWKS_CACHE_TTL_S", "0")])
            .unwrap_err()
            .to_string();
        assert!(err.contains("OIDC_JWKS_CACHE_TTL_S"), "{err}");
        // One sentence, not "invalid configuration: invalid configuration: ...".
        assert!(
            err.starts_with("invalid configuration: OIDC_JWKS_CACHE_TTL_S must be"),
            "{err}"
        );
        assert_eq!(err.matches("invalid configuration").count(), 1, "{err}");

        // An algorithm in the wrong case: the right spelling is suggested.
        let mut a = args();
        a.algs = vec!["rs256".into()];
        let err = with_env(&a, &[]).unwrap_err().to_string();
        assert!(
            err.starts_with("invalid configuration: --alg (OIDC_ALLOWED_ALGS) must list"),
            "{err}"
        );
        assert!(err.ends_with(r#"did you mean "RS256"?"#), "{err}");
    }

    #[test]
    fn profile_flag() {
        use verifier_core::AccessTokenProfile;
        let mut a = args();
        a.profile = Some("rfc9068".into());
        let config = with_env(&a, &[]).unwrap();
        assert_eq!(config.access_token_profile(), AccessTokenProfile::Rfc9068);
        let config = with_env(&args(), &[]).unwrap();
        assert_eq!(config.access_token_profile(), AccessTokenProfile::Generic);
        a.profile = Some("strict".into());
        let err = with_env(&a, &[]).unwrap_err().to_string();
        assert!(
            err.starts_with("invalid configuration: --profile (OIDC_ACCESS_TOKEN_PROFILE) must be"),
            "{err}"
        );
    }
}
