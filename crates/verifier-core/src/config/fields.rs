//! Every field of [`AuthConfig`](super::AuthConfig), once: its kind, its environment
//! variable and its default. The builder's storage, the configuration-file form and
//! `from_env` are generated from this table (see [`table`](super::table)); the rules
//! live in [`build`](super::AuthConfigBuilder::build).
//!
//! Adding a field: one line here (its file key, variable, variable errors and default
//! follow), a setter in `builder.rs`, the validated field and its getter in `mod.rs`, and
//! its rule in `build()`. A new kind of value (an enum such as `discovery`) is one
//! [`Kind`](super::kind::Kind) impl in `kind.rs`. Another configuration type (such as a
//! resource configuration) invokes `config_table!` with its own three type names.

use std::time::Duration;

use super::kind::Mode;
use super::kind::Prof;
use super::kind::{Algs, Count, Disc, Flag, List, Secs, Text, Words};
use super::table::config_table;
use super::AudienceMode;
use crate::alg::Algorithm;
use crate::profile::AccessTokenProfile;

config_table! {
    storage Fields, resolved Resolved, raw RawConfig;
    // field                    kind    environment variable                presence / default
    issuer:                     Text,   "OIDC_ISSUER",                      required;
    audience:                   List,   "OIDC_AUDIENCE",                    required;
    jwks_url:                   Text,   "OIDC_JWKS_URL",                    optional;
    allowed_algs:               Algs,   "OIDC_ALLOWED_ALGS",                default vec![Algorithm::RS256];
    leeway:                     Secs,   "OIDC_LEEWAY_S",                    default Duration::ZERO;
    jwks_timeout:               Secs,   "OIDC_JWKS_TIMEOUT_S",              default Duration::from_secs(3);
    jwks_cache_ttl:             Secs,   "OIDC_JWKS_CACHE_TTL_S",            default Duration::from_secs(300);
    jwks_max_cached_keys:       Count,  "OIDC_JWKS_MAX_CACHED_KEYS",        default 16;
    required_scopes:            Words,  "OIDC_REQUIRED_SCOPES",             default Vec::new();
    required_permissions:       Words,  "OIDC_REQUIRED_PERMISSIONS",        default Vec::new();
    scope_claim:                Text,   "OIDC_SCOPE_CLAIM",                 default "scope".to_owned();
    permissions_claim:          Text,   "OIDC_PERMISSIONS_CLAIM",           default "permissions".to_owned();
    jwks_refresh_cooldown:      Secs,   "OIDC_JWKS_REFRESH_COOLDOWN_S",     default Duration::from_secs(30);
    jwks_max_stale:             Secs,   "OIDC_JWKS_MAX_STALE_S",            default Duration::from_secs(3600);
    allow_insecure_http:        Flag,   "OIDC_ALLOW_INSECURE_HTTP",         default false;
    enforce_minimum_key_length: Flag,   "OIDC_ENFORCE_MINIMUM_KEY_LENGTH",  default true;
    max_token_bytes:            Count,  "OIDC_MAX_TOKEN_BYTES",             default 16 * 1024;
    jwks_max_bytes:             Count,  "OIDC_JWKS_MAX_BYTES",              default 1024 * 1024;
    jwks_backoff_initial:       Secs,   "OIDC_JWKS_BACKOFF_INITIAL_S",      default Duration::from_secs(1);
    jwks_backoff_max:           Secs,   "OIDC_JWKS_BACKOFF_MAX_S",          default Duration::from_secs(60);
    verified_token_cache:       Count,  "OIDC_VERIFIED_TOKEN_CACHE",        default 0;
    discovery:                  Disc,   "OIDC_DISCOVERY",                   optional;
    discovery_url:              Text,   "OIDC_DISCOVERY_URL",               optional;
    discovery_cache_ttl:        Secs,   "OIDC_DISCOVERY_CACHE_TTL_S",       default Duration::from_secs(3600);
    discovery_max_stale:        Secs,   "OIDC_DISCOVERY_MAX_STALE_S",       default Duration::from_secs(86_400);
    allowed_clients:            List,   "OIDC_ALLOWED_CLIENTS",             default Vec::new();
    audience_mode:              Mode,   "OIDC_AUDIENCE_MODE",               default AudienceMode::Aud;
    required_token_use:         Text,   "OIDC_REQUIRED_TOKEN_USE",          optional;
    allow_unverified_token_binding: Flag, "OIDC_ALLOW_UNVERIFIED_TOKEN_BINDING", default false;
    access_token_profile:       Prof,   "OIDC_ACCESS_TOKEN_PROFILE",        default AccessTokenProfile::Generic;
    jwks_cache_ttl_jitter:      Secs,   "OIDC_JWKS_CACHE_TTL_JITTER_S",     default Duration::ZERO;
}

#[cfg(test)]
mod tests {
    use super::Fields;

    /// Variables are named after their field: `OIDC_` + the field in capitals, and `_S`
    /// for durations (so a new line cannot invent a spelling), and none is used twice.
    #[test]
    fn variables_follow_the_field_names() {
        let mut seen = std::collections::HashSet::new();
        for (field, var, suffix) in Fields::TABLE {
            let var = var.unwrap_or_else(|| panic!("{field} has no variable"));
            assert_eq!(*var, format!("OIDC_{}{suffix}", field.to_ascii_uppercase()));
            assert!(seen.insert(var), "{var} used twice");
            assert_eq!(Fields::env_var(field), Some(var));
        }
        assert_eq!(Fields::env_var("clock"), None);
    }
}
