//! docs/configuration.md: every configuration rule, boundaries included.

use std::collections::HashMap;
use std::time::Duration;

use verifier_core::discovery::Discovery;
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
    // Without `jwks_url` keys are discovered (SPEC-2 §1.3), so the issuer must be a URL:
    // before discovery this named `jwks_url` (a deliberate change, see MIGRATION.md).
    assert_eq!(
        err(AuthConfig::builder().issuer("i").audience("a")).field(),
        "issuer"
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
    assert_eq!(
        c.jwks_url().unwrap().as_str(),
        "https://issuer.example/jwks.json"
    );
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
    // `OIDC_JWKS_URL` unset: discovery from the issuer (SPEC-2 §1.3; it was an error
    // before discovery, a deliberate change listed in MIGRATION.md).
    let discovering = env(&REQUIRED[..2]).unwrap();
    assert_eq!(discovering.jwks_url(), None);
    assert_eq!(discovering.discovery(), Discovery::Auto);
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

/// One field of the drift table: its value in code, in a file and in the environment,
/// and values its variable must refuse.
struct Form {
    field: &'static str,
    var: &'static str,
    set: fn(AuthConfigBuilder) -> AuthConfigBuilder,
    json: serde_json::Value,
    env: &'static str,
    /// Refused values of the variable (none exist for the space-separated sets).
    bad: &'static [&'static str],
}

/// Every field, with a value other than its default.
fn forms() -> Vec<Form> {
    use serde_json::json;
    vec![
        Form {
            field: "issuer",
            var: "OIDC_ISSUER",
            set: |b| b.issuer("https://other.example/"),
            json: json!("https://other.example/"),
            env: "https://other.example/",
            bad: &["", "  "],
        },
        Form {
            field: "audience",
            var: "OIDC_AUDIENCE",
            set: |b| b.audiences(["a", "b"]),
            json: json!(["a", "b"]),
            env: "a, b",
            bad: &["", " , "],
        },
        Form {
            field: "jwks_url",
            var: "OIDC_JWKS_URL",
            set: |b| b.jwks_url("http://127.0.0.1:9/jwks.json"),
            json: json!("http://127.0.0.1:9/jwks.json"),
            env: "http://127.0.0.1:9/jwks.json",
            bad: &["", "not a url", "ftp://x/", "http://issuer.example/"],
        },
        Form {
            field: "allowed_algs",
            var: "OIDC_ALLOWED_ALGS",
            set: |b| b.allowed_algs([Algorithm::ES256, Algorithm::EdDSA]),
            json: json!(["ES256", "EdDSA"]),
            env: "ES256, EdDSA",
            bad: &["", "none", "HS256", "es256", "RS256,RS257"],
        },
        Form {
            field: "leeway",
            var: "OIDC_LEEWAY_S",
            set: |b| b.leeway(Duration::from_millis(1500)),
            json: json!(1.5),
            env: "1.5",
            bad: &["soon", "-1", "inf", "3600.5"],
        },
        Form {
            field: "jwks_timeout",
            var: "OIDC_JWKS_TIMEOUT_S",
            set: |b| b.jwks_timeout(Duration::from_secs(2)),
            json: json!(2),
            env: "2",
            bad: &["x", "0", "301"],
        },
        Form {
            field: "jwks_cache_ttl",
            var: "OIDC_JWKS_CACHE_TTL_S",
            set: |b| b.jwks_cache_ttl(Duration::from_secs(600)),
            json: json!(600),
            env: "600",
            bad: &["x", "0", "86401"],
        },
        Form {
            field: "jwks_max_cached_keys",
            var: "OIDC_JWKS_MAX_CACHED_KEYS",
            set: |b| b.jwks_max_cached_keys(32),
            json: json!(32),
            env: "32",
            bad: &["x", "-1", "1.5", "0", "1025"],
        },
        Form {
            field: "required_scopes",
            var: "OIDC_REQUIRED_SCOPES",
            set: |b| b.required_scopes(["read", "write"]),
            json: json!(["write", "read"]),
            env: " write  read ",
            bad: &[],
        },
        Form {
            field: "required_permissions",
            var: "OIDC_REQUIRED_PERMISSIONS",
            set: |b| b.required_permissions(["admin"]),
            json: json!("admin"),
            env: "admin",
            bad: &[],
        },
        Form {
            field: "scope_claim",
            var: "OIDC_SCOPE_CLAIM",
            set: |b| b.scope_claim("scp"),
            json: json!("scp"),
            env: "scp",
            bad: &["", " "],
        },
        Form {
            field: "permissions_claim",
            var: "OIDC_PERMISSIONS_CLAIM",
            set: |b| b.permissions_claim("grants"),
            json: json!("grants"),
            env: "grants",
            bad: &["", " "],
        },
        Form {
            field: "jwks_refresh_cooldown",
            var: "OIDC_JWKS_REFRESH_COOLDOWN_S",
            set: |b| b.jwks_refresh_cooldown(Duration::from_secs(10)),
            json: json!(10),
            env: "10",
            bad: &["x", "-0.1", "86401"],
        },
        Form {
            field: "jwks_max_stale",
            var: "OIDC_JWKS_MAX_STALE_S",
            set: |b| b.jwks_max_stale(Duration::ZERO),
            json: json!(0),
            env: "0",
            bad: &["NaN", "604801"],
        },
        Form {
            field: "allow_insecure_http",
            var: "OIDC_ALLOW_INSECURE_HTTP",
            set: |b| b.allow_insecure_http(true),
            json: json!(true),
            env: "yes",
            bad: &["maybe", "2"],
        },
        Form {
            field: "enforce_minimum_key_length",
            var: "OIDC_ENFORCE_MINIMUM_KEY_LENGTH",
            set: |b| b.enforce_minimum_key_length(false),
            json: json!(false),
            env: "off",
            bad: &["maybe"],
        },
        Form {
            field: "max_token_bytes",
            var: "OIDC_MAX_TOKEN_BYTES",
            set: |b| b.max_token_bytes(4096),
            json: json!(4096),
            env: "4096",
            bad: &["x", "0", "-5"],
        },
        Form {
            field: "jwks_max_bytes",
            var: "OIDC_JWKS_MAX_BYTES",
            set: |b| b.jwks_max_bytes(65_536),
            json: json!(65_536),
            env: "65536",
            bad: &["x", "0"],
        },
        Form {
            field: "jwks_backoff_initial",
            var: "OIDC_JWKS_BACKOFF_INITIAL_S",
            set: |b| b.jwks_backoff_initial(Duration::from_millis(250)),
            json: json!(0.25),
            env: "0.25",
            bad: &["x", "-1", "0", "86401"],
        },
        Form {
            field: "jwks_backoff_max",
            var: "OIDC_JWKS_BACKOFF_MAX_S",
            set: |b| b.jwks_backoff_max(Duration::from_secs(120)),
            json: json!(120),
            env: "120",
            // Under the initial delay (1 s by default), or over a day.
            bad: &["x", "0.5", "86401"],
        },
        Form {
            field: "verified_token_cache",
            var: "OIDC_VERIFIED_TOKEN_CACHE",
            set: |b| b.verified_token_cache(1000),
            json: json!(1000),
            env: "1000",
            bad: &["x", "1048577"],
        },
    ]
}

/// The three required fields in each form, but `skip`.
fn required_forms(
    skip: &str,
) -> (
    AuthConfigBuilder,
    serde_json::Map<String, serde_json::Value>,
    Vec<(&'static str, &'static str)>,
) {
    let mut builder = AuthConfig::builder();
    let mut json = serde_json::Map::new();
    let mut vars = Vec::new();
    for (field, var, value) in [
        ("issuer", "OIDC_ISSUER", "https://issuer.example/"),
        ("audience", "OIDC_AUDIENCE", "api"),
        (
            "jwks_url",
            "OIDC_JWKS_URL",
            "https://issuer.example/jwks.json",
        ),
    ] {
        if field == skip {
            continue;
        }
        builder = match field {
            "issuer" => builder.issuer(value),
            "audience" => builder.audience(value),
            _ => builder.jwks_url(value),
        };
        json.insert(field.to_owned(), value.into());
        vars.push((var, value));
    }
    (builder, json, vars)
}

/// Issue 12: one field table, so code, files and the environment cannot drift. For every
/// field, the three forms build the same configuration, and it is not the default one.
#[test]
fn builder_serde_and_env_agree_on_every_field() {
    let (b, json, vars) = required_forms("");
    let default = format!("{:?}", b.build().unwrap());
    assert_eq!(
        default,
        format!(
            "{:?}",
            serde_json::from_value::<AuthConfig>(json.into()).unwrap()
        )
    );
    assert_eq!(default, format!("{:?}", env(&vars).unwrap()));
    let forms = forms();
    assert_eq!(forms.len(), 21, "one row per field");
    for form in &forms {
        let (b, mut json, mut vars) = required_forms(form.field);
        let code = (form.set)(b).build().unwrap();
        json.insert(form.field.to_owned(), form.json.clone());
        let file: AuthConfig =
            serde_json::from_value(json.into()).unwrap_or_else(|e| panic!("{}: {e}", form.field));
        vars.push((form.var, form.env));
        let environment = env(&vars).unwrap_or_else(|e| panic!("{}: {e}", form.var));
        let code = format!("{code:?}");
        assert_ne!(
            code, default,
            "{}: pick a value that is not the default",
            form.field
        );
        assert_eq!(
            format!("{file:?}"),
            code,
            "{}: file and code differ",
            form.field
        );
        assert_eq!(
            format!("{environment:?}"),
            code,
            "{}: environment and code differ",
            form.var
        );
    }
}

/// Every variable's bad values are a `ConfigError` naming that variable, and the same value
/// in code or a file names the field.
#[test]
fn every_variable_names_itself_in_its_errors() {
    let forms = forms();
    let mut vars_seen = std::collections::HashSet::new();
    for form in &forms {
        assert!(vars_seen.insert(form.var), "{} twice", form.var);
        for bad in form.bad {
            let (_, _, mut vars) = required_forms(form.field);
            vars.push((form.var, bad));
            let e = env(&vars).expect_err(&format!("{}={bad:?} accepted", form.var));
            assert_eq!(e.field(), form.var, "{}={bad:?}: {e}", form.var);
            assert!(
                e.to_string()
                    .starts_with(&format!("invalid configuration: {} ", form.var)),
                "{e}"
            );
        }
    }
    // The space-separated sets take any value; every other variable refuses some.
    let (_, _, mut vars) = required_forms("");
    vars.extend([
        ("OIDC_REQUIRED_SCOPES", "  "),
        ("OIDC_REQUIRED_PERMISSIONS", ""),
    ]);
    let c = env(&vars).unwrap();
    assert!(c.required_scopes().is_empty() && c.required_permissions().is_empty());
    // A missing required variable is named too.
    // (`OIDC_JWKS_URL` is not required since discovery: unset, keys are discovered.)
    for var in ["OIDC_ISSUER", "OIDC_AUDIENCE"] {
        let mut vars = REQUIRED.to_vec();
        vars.retain(|(k, _)| *k != var);
        assert_eq!(
            env(&vars).unwrap_err().to_string(),
            format!("invalid configuration: {var} must be set")
        );
    }
    // The new variables' errors read like the others'.
    let (_, _, mut vars) = required_forms("");
    vars.push(("OIDC_JWKS_BACKOFF_MAX_S", "0.5"));
    assert_eq!(
        env(&vars).unwrap_err().to_string(),
        "invalid configuration: OIDC_JWKS_BACKOFF_MAX_S must be >= jwks_backoff_initial"
    );
    let (_, _, mut vars) = required_forms("");
    vars.push(("OIDC_VERIFIED_TOKEN_CACHE", "lots"));
    assert_eq!(
        env(&vars).unwrap_err().to_string(),
        r#"invalid configuration: OIDC_VERIFIED_TOKEN_CACHE must be a non-negative integer, got "lots""#
    );
}

/// A file keeps serde's own messages for a missing or mistyped required field.
#[test]
fn deserialize_required_fields() {
    for field in ["issuer", "audience"] {
        let (_, json, _) = required_forms(field);
        let e = serde_json::from_value::<AuthConfig>(json.into()).unwrap_err();
        assert_eq!(e.to_string(), format!("missing field `{field}`"));
    }
    // Without `jwks_url`, keys are discovered (SPEC-2 §1.3; was "missing field").
    let (_, json, _) = required_forms("jwks_url");
    let c = serde_json::from_value::<AuthConfig>(json.into()).unwrap();
    assert_eq!(c.discovery(), Discovery::Auto);
    let (_, mut json, _) = required_forms("");
    json.insert("issuer".into(), serde_json::Value::Null);
    let e = serde_json::from_value::<AuthConfig>(json.into()).unwrap_err();
    assert!(e.to_string().starts_with("invalid type: null"), "{e}");
    // An optional field may be null (= unset).
    let (_, mut json, _) = required_forms("");
    json.insert("leeway".into(), serde_json::Value::Null);
    let c = serde_json::from_value::<AuthConfig>(json.into()).unwrap();
    assert_eq!(c.leeway(), Duration::ZERO);
}

/// docs/configuration.md documents every variable.
#[test]
fn every_variable_is_documented() {
    let docs = std::fs::read_to_string(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../../docs/configuration.md"
    ))
    .unwrap();
    for form in forms() {
        assert!(
            docs.contains(&format!("| `{}`", form.var)),
            "{} is not in the table of docs/configuration.md",
            form.var
        );
    }
}
