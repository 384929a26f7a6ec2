//! Command-line syntax (clap derive). Exit code 2 for every usage error.

use clap::{ArgAction, Args, Parser, Subcommand, ValueEnum};

/// Verify and inspect OAuth 2.0 / OpenID Connect access tokens (JWTs).
///
/// Exit codes: 0 success (valid token, healthy key set), 1 rejected (invalid token,
/// unhealthy key set), 2 usage or configuration error.
#[derive(Debug, Parser)]
#[command(name = "oidc-verify", version, propagate_version = true)]
pub(crate) struct Cli {
    #[command(subcommand)]
    pub(crate) command: Command,
}

#[derive(Debug, Subcommand)]
pub(crate) enum Command {
    /// Verify an access token against an issuer's JWKS (exit 0 valid, 1 rejected)
    ///
    /// The whole pipeline: structure, header (alg, kid, no jku/x5u/crit), key from the
    /// JWKS, signature, exp/nbf/iat, issuer, audience, scopes and permissions.
    ///
    /// Every setting also comes from the OIDC_* environment variables read by
    /// `AuthConfig::from_env` (OIDC_ISSUER, OIDC_AUDIENCE, OIDC_JWKS_URL,
    /// OIDC_ALLOWED_ALGS, OIDC_LEEWAY_S, OIDC_JWKS_TIMEOUT_S, OIDC_REQUIRED_SCOPES,
    /// OIDC_REQUIRED_PERMISSIONS, OIDC_SCOPE_CLAIM, OIDC_MAX_TOKEN_BYTES, ...); flags win.
    /// Exit 0: valid, the claims are printed. Exit 1: rejected, the error is printed.
    /// Exit 2: usage or configuration error.
    Verify(VerifyArgs),
    /// Fetch a JWKS, list its usable keys and skipped entries (exit 0 healthy, 1 not)
    ///
    /// Each usable key with its kid, type, curve, alg and size, and the algorithms it
    /// verifies; each skipped entry with the reason. Exit 0 healthy, 1 not (with the
    /// error code, e.g. jwks_fetch_failed).
    Jwks(JwksArgs),
    /// Find an issuer's metadata and key set, and report their health (exit 0 healthy, 1 not)
    ///
    /// Probes the OpenID Connect URL, then the RFC 8414 URL after a "not there" status;
    /// prints which URL answered, the issuer and jwks_uri, and the key set's usable keys.
    /// Exit 1 with the error code (discovery_failed, discovery_error, jwks_fetch_failed,
    /// ...) when either cannot be had.
    Discover(DiscoverArgs),
    /// DEVELOPMENT ONLY: sign a token with a throwaway local key and serve its key set
    ///
    /// Starts a test issuer on 127.0.0.1 (key set, OpenID metadata), prints a signed
    /// token and the OIDC_* settings an API needs to accept it, and serves until
    /// interrupted (Ctrl-C), so you can try your API with curl. The key exists only in
    /// this process: never configure a production API with it.
    Mint(MintArgs),
    /// Decode a token's header and claims WITHOUT verifying anything
    ///
    /// For diagnostics only: the output is clearly marked UNVERIFIED; exp, nbf and iat
    /// are shown as dates and relative times ("expires in 4m 12s").
    Decode(DecodeArgs),
    /// Run a scripted tour of the axum integration against an in-process test issuer
    ///
    /// A test issuer and an axum API in-process on 127.0.0.1, requests that succeed and
    /// fail (200, 401, 403, stale keys while the issuer is down, 503 on a cold cache).
    /// Exit 0 when every step got the expected status.
    Demo,
    /// Print the RFC 9728 protected-resource metadata and the 401 challenge (exit 0, 2 on bad configuration)
    ///
    /// The document an API with this resource identifier would serve at its metadata URL
    /// (derived per RFC 9728 §3.1 unless OIDC_RESOURCE_METADATA_URL is set), with
    /// authorization_servers from --issuer, and the WWW-Authenticate a client without
    /// credentials would get. Other OIDC_RESOURCE_* variables apply. No request is made.
    ResourceMetadata(ResourceArgs),
}

#[derive(Debug, Args)]
pub(crate) struct ResourceArgs {
    /// The resource identifier: an https URL without query or fragment.
    #[arg(long, env = "OIDC_RESOURCE", value_name = "URL")]
    pub(crate) resource: String,

    /// An authorization server (issuer); repeat for several, in order.
    #[arg(long = "issuer", value_name = "ISSUER", required = true)]
    pub(crate) issuers: Vec<String>,

    /// The MCP preset: the resource must be a canonical server URI.
    #[arg(long)]
    pub(crate) mcp: bool,

    /// A scope for scopes_supported; repeat for several (env OIDC_SCOPES_SUPPORTED).
    #[arg(long = "scope", value_name = "SCOPE")]
    pub(crate) scopes: Vec<String>,

    /// The realm of the challenge (none by default).
    #[arg(long, value_name = "REALM")]
    pub(crate) realm: Option<String>,

    /// Allow plain-http URLs on non-loopback hosts (never in production).
    #[arg(long)]
    pub(crate) allow_insecure_http: bool,

    /// Output format.
    #[arg(long, value_enum, default_value_t = Format::Text)]
    pub(crate) format: Format,
}

/// Output format.
#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub(crate) enum Format {
    /// Human-readable (claims still printed as pretty JSON).
    Text,
    /// JSON only.
    Json,
}

#[derive(Debug, Args)]
pub(crate) struct VerifyArgs {
    /// Expected `iss`, compared exactly.
    #[arg(long, env = "OIDC_ISSUER", value_name = "ISSUER")]
    pub(crate) issuer: String,

    /// Accepted audience; repeat for several (the environment variable is comma-separated).
    #[arg(
        long = "audience",
        env = "OIDC_AUDIENCE",
        value_name = "AUDIENCE",
        value_delimiter = ',',
        required = true
    )]
    pub(crate) audiences: Vec<String>,

    /// JWKS URL: https, or http on a loopback host (OIDC_ALLOW_INSECURE_HTTP=true for others).
    /// Omitted: the key set is discovered from the issuer's metadata (OIDC_DISCOVERY,
    /// OIDC_DISCOVERY_URL).
    #[arg(long, env = "OIDC_JWKS_URL", value_name = "URL")]
    pub(crate) jwks_url: Option<String>,

    /// Allowed signing algorithm; repeat for several (default RS256; HS* and none are refused).
    #[arg(
        long = "alg",
        env = "OIDC_ALLOWED_ALGS",
        value_name = "ALG",
        value_delimiter = ','
    )]
    pub(crate) algs: Vec<String>,

    /// Clock skew tolerated on exp, nbf and iat, in seconds (fractions allowed; default 0).
    #[arg(
        long,
        env = "OIDC_LEEWAY_S",
        value_name = "SECONDS",
        value_parser = seconds("OIDC_LEEWAY_S"),
        allow_negative_numbers = true
    )]
    pub(crate) leeway: Option<f64>,

    /// Scope the token must carry; repeat for several (env OIDC_REQUIRED_SCOPES, space-separated).
    #[arg(long = "require-scope", value_name = "SCOPE")]
    pub(crate) scopes: Vec<String>,

    /// Permission the token must carry; repeat for several (env OIDC_REQUIRED_PERMISSIONS,
    /// space-separated).
    #[arg(long = "require-permission", value_name = "PERMISSION")]
    pub(crate) permissions: Vec<String>,

    /// Deadline for the whole JWKS request, in seconds (default 3).
    #[arg(
        long,
        env = "OIDC_JWKS_TIMEOUT_S",
        value_name = "SECONDS",
        value_parser = seconds("OIDC_JWKS_TIMEOUT_S"),
        allow_negative_numbers = true
    )]
    pub(crate) jwks_timeout: Option<f64>,

    /// A DPoP proof (RFC 9449) sent with the token: the token is checked as presented with
    /// the DPoP scheme (proof, then token, then its `cnf.jkt` binding). Needs --htm and --htu.
    #[arg(long, value_name = "PROOF", requires_all = ["htm", "htu"])]
    pub(crate) dpop_proof: Option<String>,

    /// The request method the DPoP proof must name (`htm`), e.g. GET.
    #[arg(long, value_name = "METHOD", requires = "dpop_proof")]
    pub(crate) htm: Option<String>,

    /// The request URL the DPoP proof must name (`htu`); its origin stands for the API's
    /// public base URL.
    #[arg(long, value_name = "URL", requires = "dpop_proof")]
    pub(crate) htu: Option<String>,

    /// Access-token profile: generic (default) or rfc9068 (header typ at+jwt, and sub,
    /// client_id, iat, jti required).
    #[arg(long, env = "OIDC_ACCESS_TOKEN_PROFILE", value_name = "PROFILE")]
    pub(crate) profile: Option<String>,

    /// Output format.
    #[arg(long, value_enum, default_value_t = Format::Text)]
    pub(crate) format: Format,

    /// The token; omitted or `-`: read from standard input (surrounding whitespace trimmed).
    #[arg(value_name = "TOKEN | -")]
    pub(crate) token: Option<String>,
}

#[derive(Debug, Args)]
pub(crate) struct JwksArgs {
    /// JWKS URL: https, or http on a loopback host (see --allow-insecure-http).
    #[arg(long, env = "OIDC_JWKS_URL", value_name = "URL")]
    pub(crate) jwks_url: String,

    /// Deadline for the whole JWKS request, in seconds (default 3).
    #[arg(
        long,
        env = "OIDC_JWKS_TIMEOUT_S",
        value_name = "SECONDS",
        value_parser = seconds("OIDC_JWKS_TIMEOUT_S"),
        allow_negative_numbers = true
    )]
    pub(crate) jwks_timeout: Option<f64>,

    /// Allow a plain-http JWKS URL on a non-loopback host (never in production).
    #[arg(
        long,
        env = "OIDC_ALLOW_INSECURE_HTTP",
        action = ArgAction::SetTrue,
        value_parser = boolean("OIDC_ALLOW_INSECURE_HTTP")
    )]
    pub(crate) allow_insecure_http: bool,

    /// Output format.
    #[arg(long, value_enum, default_value_t = Format::Text)]
    pub(crate) format: Format,
}

#[derive(Debug, Args)]
pub(crate) struct DiscoverArgs {
    /// The issuer: https, or http on a loopback host (see --allow-insecure-http).
    #[arg(long, env = "OIDC_ISSUER", value_name = "ISSUER")]
    pub(crate) issuer: String,

    /// How metadata is found: auto (OpenID Connect, then RFC 8414), oidc or oauth.
    #[arg(long, env = "OIDC_DISCOVERY", value_name = "MODE")]
    pub(crate) discovery: Option<String>,

    /// The metadata URL, fetched as is (its issuer must still equal --issuer).
    #[arg(long, env = "OIDC_DISCOVERY_URL", value_name = "URL")]
    pub(crate) discovery_url: Option<String>,

    /// Deadline for each request, in seconds (default 3).
    #[arg(
        long,
        env = "OIDC_JWKS_TIMEOUT_S",
        value_name = "SECONDS",
        value_parser = seconds("OIDC_JWKS_TIMEOUT_S"),
        allow_negative_numbers = true
    )]
    pub(crate) jwks_timeout: Option<f64>,

    /// Allow plain-http URLs on non-loopback hosts (never in production).
    #[arg(
        long,
        env = "OIDC_ALLOW_INSECURE_HTTP",
        action = ArgAction::SetTrue,
        value_parser = boolean("OIDC_ALLOW_INSECURE_HTTP")
    )]
    pub(crate) allow_insecure_http: bool,

    /// Output format.
    #[arg(long, value_enum, default_value_t = Format::Text)]
    pub(crate) format: Format,
}

#[derive(Debug, Args)]
pub(crate) struct MintArgs {
    /// Signing algorithm (RS256, RS384, RS512, PS256, PS384, PS512, ES256, ES384, ES512, EdDSA).
    #[arg(long, default_value = "RS256", value_name = "ALG")]
    pub(crate) alg: String,

    /// The issuer's path on 127.0.0.1 (e.g. /realms/dev); default none.
    #[arg(long, default_value = "", value_name = "PATH")]
    pub(crate) path: String,

    /// `aud`; repeat for several (default `https://api.example`).
    #[arg(long = "audience", value_name = "AUDIENCE")]
    pub(crate) audiences: Vec<String>,

    /// `sub` (default dev-user).
    #[arg(long, default_value = "dev-user", value_name = "SUBJECT")]
    pub(crate) sub: String,

    /// A scope; repeat for several (joined with spaces in `scope`).
    #[arg(long = "scope", value_name = "SCOPE")]
    pub(crate) scopes: Vec<String>,

    /// Another claim, NAME=VALUE; VALUE is JSON when it parses as JSON, else a string.
    #[arg(long = "claim", value_name = "NAME=VALUE")]
    pub(crate) claims: Vec<String>,

    /// Lifetime in seconds (default 3600).
    #[arg(long, default_value_t = 3600, value_name = "SECONDS")]
    pub(crate) ttl: u32,

    /// Print and exit instead of serving (the key set is printed; nothing can fetch it).
    #[arg(long)]
    pub(crate) no_serve: bool,

    /// Output format.
    #[arg(long, value_enum, default_value_t = Format::Text)]
    pub(crate) format: Format,
}

#[derive(Debug, Args)]
pub(crate) struct DecodeArgs {
    /// Output format.
    #[arg(long, value_enum, default_value_t = Format::Text)]
    pub(crate) format: Format,

    /// The token; omitted or `-`: read from standard input (surrounding whitespace trimmed).
    #[arg(value_name = "TOKEN | -")]
    pub(crate) token: Option<String>,
}

/// A parser for a number of seconds (finite, >= 0, fractions allowed) whose error also
/// names the environment variable the value may have come from.
fn seconds(var: &'static str) -> impl Fn(&str) -> Result<f64, String> + Clone + Send + Sync {
    move |value| parse_seconds(value).map_err(|reason| format!("{reason} (from the flag or {var})"))
}

/// A number of seconds: finite, >= 0, fractions allowed (`0.5`).
fn parse_seconds(value: &str) -> Result<f64, String> {
    let secs: f64 = value
        .trim()
        .parse()
        .map_err(|_| "must be a number of seconds, e.g. 30 or 0.5".to_owned())?;
    if !secs.is_finite() || secs < 0.0 {
        return Err("must be a finite number of seconds >= 0".to_owned());
    }
    Ok(secs)
}

/// A boolean as `AuthConfig::from_env` reads one (`true`/`false`, `1`/`0`, `yes`/`no`,
/// `on`/`off`; empty is false), naming the environment variable on error.
fn boolean(var: &'static str) -> impl Fn(&str) -> Result<bool, String> + Clone + Send + Sync {
    move |value| match value.trim().to_ascii_lowercase().as_str() {
        "1" | "true" | "yes" | "on" => Ok(true),
        "0" | "false" | "no" | "off" | "" => Ok(false),
        _ => Err(format!("must be true or false (from the flag or {var})")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::CommandFactory;

    #[test]
    fn cli_is_consistent() {
        Cli::command().debug_assert();
    }

    #[test]
    fn seconds_parsing() {
        assert_eq!(parse_seconds("0.5"), Ok(0.5));
        assert_eq!(parse_seconds(" 30 "), Ok(30.0));
        assert!(parse_seconds("-1").is_err());
        assert!(parse_seconds("NaN").is_err());
        assert!(parse_seconds("inf").is_err());
        assert!(parse_seconds("ten").is_err());
        assert!(seconds("OIDC_LEEWAY_S")("x")
            .unwrap_err()
            .contains("OIDC_LEEWAY_S"));
        assert_eq!(boolean("V")("Yes"), Ok(true));
        assert_eq!(boolean("V")(""), Ok(false));
        assert!(boolean("V")("maybe").unwrap_err().contains("V"));
    }
}
