//! SPEC section 2: every configuration rule, boundaries included.

use std::collections::HashMap;
use std::time::Duration;

use verifier_core::{Algorithm, AuthConfig, AuthConfigBuilder, ConfigError};

fn base() -> AuthConfigBuilder {
    AuthConfig::builder()
        .issuer("https://issuer.example/")
        .audience("https://api.example")
        .jwks_url("https://issuer.example/jwks.json")
}

fn err(b: AuthConfigBuilder) -> ConfigError {
    b.build().expect_err("configuration accepted")
}

#[test]
fn defaults() {
    let c = base().build().unwrap();
    assert_eq!(c.allowed_algs(), [Algorithm::RS256]);
    assert_eq!(c.leeway(), Duration::ZERO);
    assert_eq!(c.jwks_timeout(), Duration::from_secs(3));
    assert_eq!(c.jwks_cache_ttl(), Duration::from_secs(300));
    assert_eq!(c.jwks_max_cached_keys(), 16);
    assert!(c.enforce_minimum_key_length());
    assert!(c.required_scopes().is_empty());
    assert!(c.required_permissions().is_empty());
    assert_eq!(c.scope_claim(), "scope");
    assert_eq!(c.permissions_claim(), "permissions");
    assert_eq!(c.max_token_bytes(), 16 * 1024);
    assert_eq!(c.jwks_refresh_cooldown(), Duration::from_secs(30));
    assert_eq!(c.jwks_max_stale(), Duration::from_secs(3600));
    assert_eq!(c.jwks_max_bytes(), 1024 * 1024);
    assert!(!c.allow_insecure_http());
}

#[test]
fn required_strings() {
    for v in ["", "   "] {
        let e = err(AuthConfig::builder()
            .issuer(v)
            .audience("a")
            .jwks_url("https://x/"));
        assert_eq!(
            (e.field(), e.to_string().as_str()),
            ("issuer", "issuer must be non-empty")
        );
        let e = err(AuthConfig::builder().issuer("i").audience("a").jwks_url(v));
        assert_eq!(e.to_string(), "jwks_url must be non-empty");
    }
    assert_eq!(
        err(AuthConfig::builder().audience("a").jwks_url("https://x/")).field(),
        "issuer"
    );
    assert_eq!(
        err(AuthConfig::builder().issuer("i").audience("a")).field(),
        "jwks_url"
    );
}

#[test]
fn audiences() {
    let cases: Vec<Vec<&str>> = vec![vec![], vec![""], vec!["   "], vec!["valid", ""]];
    for aud in cases {
        let e = err(AuthConfig::builder()
            .issuer("i")
            .audiences(aud.clone())
            .jwks_url("https://x/"));
        assert_eq!(e.to_string(), "audience must be non-empty", "{aud:?}");
    }
    let c = base().audience(" second ").build().unwrap();
    assert_eq!(c.audiences(), ["https://api.example", "second"]);
}

#[test]
fn algorithms() {
    for none in ["none", "None", "NONE", "nOnE"] {
        let e = none.parse::<Algorithm>().unwrap_err();
        assert_eq!(e.to_string(), "allowed_algs must not include 'none'");
    }
    for hs in ["HS256", "HS384", "HS512", "hs256"] {
        assert_eq!(hs.parse::<Algorithm>().unwrap_err().field(), "allowed_algs");
    }
    assert!("RS257".parse::<Algorithm>().is_err());
    assert_eq!(" ES256 ".parse::<Algorithm>().unwrap(), Algorithm::ES256);
    assert_eq!(
        err(base().allowed_algs([])).to_string(),
        "allowed_algs must be non-empty"
    );
    let c = base()
        .allowed_algs([Algorithm::RS256, Algorithm::RS384])
        .build()
        .unwrap();
    assert_eq!(c.allowed_algs(), [Algorithm::RS256, Algorithm::RS384]);
    for &alg in Algorithm::ALL {
        assert_eq!(alg.as_str().parse::<Algorithm>().unwrap(), alg);
    }
}

#[test]
fn numeric_ranges() {
    assert_eq!(
        err(base().jwks_timeout(Duration::ZERO)).field(),
        "jwks_timeout"
    );
    assert_eq!(
        err(base().jwks_cache_ttl(Duration::ZERO)).field(),
        "jwks_cache_ttl"
    );
    assert_eq!(
        err(base().jwks_cache_ttl(Duration::from_secs(86_401))).field(),
        "jwks_cache_ttl"
    );
    assert_eq!(
        err(base().jwks_cache_ttl(Duration::from_secs_f64(86_400.1))).field(),
        "jwks_cache_ttl"
    );
    assert_eq!(
        err(base().jwks_max_cached_keys(0)).field(),
        "jwks_max_cached_keys"
    );
    assert_eq!(
        err(base().jwks_max_cached_keys(1025)).field(),
        "jwks_max_cached_keys"
    );
    assert_eq!(err(base().max_token_bytes(0)).field(), "max_token_bytes");
    assert_eq!(err(base().jwks_max_bytes(0)).field(), "jwks_max_bytes");
    assert_eq!(
        err(base().jwks_backoff_initial(Duration::ZERO)).field(),
        "jwks_backoff_initial"
    );
    let e = err(base()
        .jwks_backoff_initial(Duration::from_secs(10))
        .jwks_backoff_max(Duration::from_secs(1)));
    assert_eq!(e.field(), "jwks_backoff_max");

    for (leeway, timeout, ttl, keys) in [
        (0.0, 1.0, 1.0, 1usize),
        (100.0, 0.5, 0.5, 1024),
        (0.0, 100.0, 86_400.0, 16),
    ] {
        let c = base()
            .leeway(Duration::from_secs_f64(leeway))
            .jwks_timeout(Duration::from_secs_f64(timeout))
            .jwks_cache_ttl(Duration::from_secs_f64(ttl))
            .jwks_max_cached_keys(keys)
            .build()
            .unwrap();
        assert_eq!(c.leeway().as_secs_f64(), leeway);
        assert_eq!(c.jwks_timeout().as_secs_f64(), timeout);
        assert_eq!(c.jwks_cache_ttl().as_secs_f64(), ttl);
        assert_eq!(c.jwks_max_cached_keys(), keys);
    }
    let c = base()
        .jwks_max_stale(Duration::ZERO)
        .jwks_refresh_cooldown(Duration::ZERO)
        .build()
        .unwrap();
    assert_eq!(c.jwks_max_stale(), Duration::ZERO);
}

#[test]
fn claim_names_and_sets() {
    for v in ["", "   "] {
        assert_eq!(
            err(base().scope_claim(v)).to_string(),
            "scope_claim must be non-empty"
        );
        assert_eq!(
            err(base().permissions_claim(v)).to_string(),
            "permissions_claim must be non-empty"
        );
    }
    let c = base()
        .issuer("  https://issuer.example/  ")
        .jwks_url("  https://issuer.example/jwks.json ")
        .scope_claim(" scp ")
        .permissions_claim(" grants ")
        .required_scopes(["read:users", "", "write:users", "  ", "read:users"])
        .required_permissions(["admin", "", "editor", "  "])
        .build()
        .unwrap();
    assert_eq!(c.issuer(), "https://issuer.example/");
    assert_eq!(c.jwks_url().as_str(), "https://issuer.example/jwks.json");
    assert_eq!(c.scope_claim(), "scp");
    assert_eq!(c.permissions_claim(), "grants");
    assert_eq!(c.required_scopes(), ["read:users", "write:users"]);
    assert_eq!(c.required_permissions(), ["admin", "editor"]);
    // A string is one entry, not split.
    let c = base().required_scopes(["a b"]).build().unwrap();
    assert_eq!(c.required_scopes(), ["a b"]);
    assert!(!base()
        .enforce_minimum_key_length(false)
        .build()
        .unwrap()
        .enforce_minimum_key_length());
}

#[test]
fn jwks_url_scheme() {
    let url = |u: &str| base().jwks_url(u);
    assert_eq!(
        err(url("http://issuer.example/jwks.json")).field(),
        "jwks_url"
    );
    assert_eq!(
        err(url("ftp://issuer.example/jwks.json")).field(),
        "jwks_url"
    );
    assert_eq!(err(url("not a url")).field(), "jwks_url");
    for ok in [
        "http://127.0.0.1:8080/jwks.json",
        "http://127.9.9.9/jwks.json",
        "http://localhost/jwks.json",
        "http://[::1]:9/jwks.json",
        "https://issuer.example/jwks.json",
    ] {
        url(ok).build().unwrap_or_else(|e| panic!("{ok}: {e}"));
    }
    url("http://issuer.example/jwks.json")
        .allow_insecure_http(true)
        .build()
        .unwrap();
}

#[test]
fn deserialize() {
    let c: AuthConfig = serde_json::from_value(serde_json::json!({
        "issuer": "https://issuer.example/",
        "audience": "api",
        "jwks_url": "https://issuer.example/jwks.json",
        "allowed_algs": ["RS256", "EdDSA"],
        "leeway": 1.5,
        "jwks_cache_ttl": 86400,
        "required_scopes": "read",
    }))
    .unwrap();
    assert_eq!(c.audiences(), ["api"]);
    assert_eq!(c.allowed_algs(), [Algorithm::RS256, Algorithm::EdDSA]);
    assert_eq!(c.leeway(), Duration::from_millis(1500));
    assert_eq!(c.required_scopes(), ["read"]);
    for bad in [
        serde_json::json!({"issuer": "i", "audience": "a", "jwks_url": "https://x/", "allowed_algs": "none"}),
        serde_json::json!({"issuer": "i", "audience": "a", "jwks_url": "https://x/", "leeway": -1}),
        serde_json::json!({"issuer": "i", "audience": "a", "jwks_url": "https://x/", "jwks_cache_ttl": 86401}),
        serde_json::json!({"issuer": "i", "audience": "a", "jwks_url": "https://x/", "unknown_field": 1}),
        serde_json::json!({"issuer": "i", "audience": [], "jwks_url": "https://x/"}),
    ] {
        assert!(
            serde_json::from_value::<AuthConfig>(bad.clone()).is_err(),
            "{bad}"
        );
    }
}

fn env(pairs: &[(&str, &str)]) -> Result<AuthConfig, ConfigError> {
    let map: HashMap<String, String> = pairs
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect();
    AuthConfig::from_env_lookup(|k| map.get(k).cloned())
}

const REQUIRED: [(&str, &str); 3] = [
    ("OIDC_ISSUER", "https://issuer.example/"),
    ("OIDC_AUDIENCE", "api-1, api-2"),
    ("OIDC_JWKS_URL", "https://issuer.example/jwks.json"),
];

#[test]
fn from_env() {
    let mut vars = REQUIRED.to_vec();
    vars.extend([
        ("OIDC_ALLOWED_ALGS", "RS256, ES256"),
        ("OIDC_LEEWAY_S", "0.5"),
        ("OIDC_JWKS_TIMEOUT_S", "2"),
        ("OIDC_JWKS_CACHE_TTL_S", "600"),
        ("OIDC_JWKS_MAX_CACHED_KEYS", "32"),
        ("OIDC_REQUIRED_SCOPES", "read  write"),
        ("OIDC_REQUIRED_PERMISSIONS", "admin"),
        ("OIDC_SCOPE_CLAIM", "scp"),
        ("OIDC_PERMISSIONS_CLAIM", "grants"),
        ("OIDC_JWKS_REFRESH_COOLDOWN_S", "10"),
        ("OIDC_JWKS_MAX_STALE_S", "0"),
        ("OIDC_ALLOW_INSECURE_HTTP", "false"),
    ]);
    let c = env(&vars).unwrap();
    assert_eq!(c.audiences(), ["api-1", "api-2"]);
    assert_eq!(c.allowed_algs(), [Algorithm::RS256, Algorithm::ES256]);
    assert_eq!(c.leeway(), Duration::from_millis(500));
    assert_eq!(c.jwks_timeout(), Duration::from_secs(2));
    assert_eq!(c.jwks_cache_ttl(), Duration::from_secs(600));
    assert_eq!(c.jwks_max_cached_keys(), 32);
    assert_eq!(c.required_scopes(), ["read", "write"]);
    assert_eq!(c.required_permissions(), ["admin"]);
    assert_eq!(c.scope_claim(), "scp");
    assert_eq!(c.permissions_claim(), "grants");
    assert_eq!(c.jwks_refresh_cooldown(), Duration::from_secs(10));
    assert_eq!(c.jwks_max_stale(), Duration::ZERO);
}

#[test]
fn from_env_errors_name_the_variable() {
    assert_eq!(env(&REQUIRED[1..]).unwrap_err().field(), "OIDC_ISSUER");
    assert_eq!(env(&REQUIRED[..2]).unwrap_err().field(), "OIDC_JWKS_URL");
    for (var, value) in [
        ("OIDC_LEEWAY_S", "-1"),
        ("OIDC_LEEWAY_S", "soon"),
        ("OIDC_JWKS_TIMEOUT_S", "0"),
        ("OIDC_JWKS_CACHE_TTL_S", "86401"),
        ("OIDC_JWKS_MAX_CACHED_KEYS", "0"),
        ("OIDC_JWKS_MAX_CACHED_KEYS", "x"),
        ("OIDC_ALLOWED_ALGS", "HS256"),
        ("OIDC_ALLOWED_ALGS", "RS256,none"),
        ("OIDC_ALLOWED_ALGS", " , "),
        ("OIDC_ALLOW_INSECURE_HTTP", "maybe"),
        ("OIDC_JWKS_MAX_STALE_S", "NaN"),
        ("OIDC_SCOPE_CLAIM", " "),
        ("OIDC_AUDIENCE", " , "),
    ] {
        let mut vars = REQUIRED.to_vec();
        vars.retain(|(k, _)| *k != var);
        vars.push((var, value));
        let e = env(&vars).unwrap_err();
        assert_eq!(e.field(), var, "{var}={value}: {e}");
    }
}
