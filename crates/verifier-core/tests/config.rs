//! docs/configuration.md: every configuration rule, boundaries included.

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
            ("issuer", "invalid configuration: issuer must be non-empty")
        );
        let e = err(AuthConfig::builder().issuer("i").audience("a").jwks_url(v));
        assert_eq!(
            e.to_string(),
            "invalid configuration: jwks_url must be non-empty"
        );
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
        assert_eq!(
            e.to_string(),
            "invalid configuration: audience must be non-empty",
            "{aud:?}"
        );
    }
    let c = base().audience(" second ").build().unwrap();
    assert_eq!(c.audiences(), ["https://api.example", "second"]);
}

#[test]
fn algorithms() {
    for none in ["none", "None", "NONE", "nOnE"] {
        let e = none.parse::<Algorithm>().unwrap_err();
        assert_eq!(
            e.to_string(),
            "invalid configuration: allowed_algs must not include 'none'"
        );
    }
    for hs in ["HS256", "HS384", "HS512", "hs256"] {
        assert_eq!(hs.parse::<Algorithm>().unwrap_err().field(), "allowed_algs");
    }
    assert!("RS257".parse::<Algorithm>().is_err());
    // A supported name in the wrong case: refused, with the right spelling.
    for (wrong, right) in [("rs256", "RS256"), ("Es384", "ES384"), ("eddsa", "EdDSA")] {
        let e = wrong.parse::<Algorithm>().unwrap_err();
        assert_eq!(e.field(), "allowed_algs");
        assert_eq!(
            e.to_string(),
            format!(
                "invalid configuration: allowed_algs must list supported algorithms in their exact case: \"{wrong}\" is not one; did you mean \"{right}\"?"
            )
        );
    }
    // An unknown name: the supported ones are listed, and nothing is guessed.
    let e = "RS257".parse::<Algorithm>().unwrap_err();
    assert_eq!(
        e.to_string(),
        "invalid configuration: allowed_algs must list supported algorithms: \"RS257\" is not one of RS256, RS384, RS512, PS256, PS384, PS512, ES256, ES384, ES512, EdDSA"
    );
    assert_eq!(
        "HS256".parse::<Algorithm>().unwrap_err().to_string(),
        "invalid configuration: allowed_algs must not include the symmetric algorithm \"HS256\": shared-secret tokens are never accepted"
    );
    assert_eq!(" ES256 ".parse::<Algorithm>().unwrap(), Algorithm::ES256);
    assert_eq!(
        err(base().allowed_algs([])).to_string(),
        "invalid configuration: allowed_algs must be non-empty"
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
            "invalid configuration: scope_claim must be non-empty"
        );
        assert_eq!(
            err(base().permissions_claim(v)).to_string(),
            "invalid configuration: permissions_claim must be non-empty"
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

/// Issue 10 item 3: every duration has a documented maximum; past it, a `ConfigError`
/// naming the field (and the variable, from the environment). `Duration::MAX` used to
/// build and then panic in `ttl + max_stale` on the first verification after the TTL.
#[test]
fn durations_are_bounded() {
    type Set = fn(AuthConfigBuilder, Duration) -> AuthConfigBuilder;
    let cases: [(&str, Set, u64); 6] = [
        ("leeway", AuthConfigBuilder::leeway, 3_600),
        ("jwks_timeout", AuthConfigBuilder::jwks_timeout, 300),
        (
            "jwks_refresh_cooldown",
            AuthConfigBuilder::jwks_refresh_cooldown,
            86_400,
        ),
        (
            "jwks_max_stale",
            AuthConfigBuilder::jwks_max_stale,
            7 * 86_400,
        ),
        (
            "jwks_backoff_max",
            AuthConfigBuilder::jwks_backoff_max,
            86_400,
        ),
        ("jwks_cache_ttl", AuthConfigBuilder::jwks_cache_ttl, 86_400),
    ];
    for (field, set, max) in cases {
        set(base(), Duration::from_secs(max))
            .build()
            .unwrap_or_else(|e| panic!("{field} at its maximum: {e}"));
        for over in [
            Duration::from_secs(max) + Duration::from_millis(1),
            Duration::MAX,
        ] {
            let err = set(base(), over).build().unwrap_err();
            assert_eq!(err.field(), field, "{over:?}");
        }
    }
    // The initial backoff is bounded too (it must also stay <= the maximum).
    let err = base()
        .jwks_backoff_initial(Duration::MAX)
        .jwks_backoff_max(Duration::MAX)
        .build()
        .unwrap_err();
    assert_eq!(err.field(), "jwks_backoff_initial");
    assert!(err.reason().contains("86400"), "{err}");
    // From the environment, the error names the variable.
    let env = |extra: (&'static str, &'static str)| {
        let vars = [
            ("OIDC_ISSUER", "https://issuer.example/"),
            ("OIDC_AUDIENCE", "api"),
            ("OIDC_JWKS_URL", "https://issuer.example/jwks.json"),
            extra,
        ];
        AuthConfig::from_env_lookup(|name| {
            vars.iter()
                .find(|(k, _)| *k == name)
                .map(|(_, v)| (*v).to_owned())
        })
    };
    for (var, value) in [
        ("OIDC_JWKS_MAX_STALE_S", "604801"),
        ("OIDC_JWKS_REFRESH_COOLDOWN_S", "1e12"),
        ("OIDC_LEEWAY_S", "3600.5"),
        ("OIDC_JWKS_TIMEOUT_S", "301"),
    ] {
        let err = env((var, value)).unwrap_err();
        assert_eq!(err.field(), var, "{value}");
    }
    // Serde goes through the same rules.
    let err = serde_json::from_value::<AuthConfig>(serde_json::json!({
        "issuer": "i", "audience": "a", "jwks_url": "https://x/", "jwks_max_stale": 1e15
    }))
    .unwrap_err();
    assert!(err.to_string().contains("jwks_max_stale"), "{err}");
}

#[test]
fn errors_read_as_a_sentence_naming_the_field_or_variable() {
    let mut vars = REQUIRED.to_vec();
    vars.push(("OIDC_LEEWAY_S", "soon"));
    assert_eq!(
        env(&vars).unwrap_err().to_string(),
        r#"invalid configuration: OIDC_LEEWAY_S must be a number of seconds, got "soon""#
    );
    assert_eq!(
        env(&REQUIRED[1..]).unwrap_err().to_string(),
        "invalid configuration: OIDC_ISSUER must be set"
    );
    // The algorithm list of the environment: the variable is named, the spelling suggested.
    let mut vars = REQUIRED.to_vec();
    vars.push(("OIDC_ALLOWED_ALGS", "RS256, es256"));
    let e = env(&vars).unwrap_err();
    assert_eq!(e.field(), "OIDC_ALLOWED_ALGS");
    assert_eq!(
        e.to_string(),
        r#"invalid configuration: OIDC_ALLOWED_ALGS must list supported algorithms in their exact case: "es256" is not one; did you mean "ES256"?"#
    );
    // In code, the field; `reason()` is the rest of the sentence.
    let e = err(base().jwks_url("http://issuer.example/jwks.json"));
    assert_eq!(e.field(), "jwks_url");
    assert!(e.reason().starts_with("must use https"), "{e}");
    assert_eq!(
        e.to_string(),
        format!("invalid configuration: jwks_url {}", e.reason())
    );
}
