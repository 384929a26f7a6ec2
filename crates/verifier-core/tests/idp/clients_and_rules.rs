//! The allow-list of clients and the application's own rules.

use std::collections::HashMap;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;

use serde_json::json;
use verifier_core::{AuthConfig, AuthError, ErrorCode};
use verifier_testkit::{Alg, TestIssuer, TestKey};

use crate::common::{config_for, Both};

fn not_allowed(v: &Both, token: &str, what: &str) {
    let err = v.verify(token).unwrap_err();
    assert_eq!(err.code(), ErrorCode::InvalidToken, "{what}");
    assert_eq!(err.message(), "Client not allowed", "{what}");
    assert_eq!(err.status().as_u16(), 401, "{what}");
}

#[test]
fn allowed_clients_read_azp_then_client_id() {
    let issuer = TestIssuer::start();
    let v = Both::new(
        config_for(&issuer)
            .allowed_clients(["web-app", " cli "])
            .build()
            .unwrap(),
    );
    let ok = |t: &str| v.verify(t).unwrap();
    ok(&issuer.token().claim("azp", json!("web-app")).build());
    ok(&issuer.token().claim("client_id", json!("cli")).build());
    // `azp` null is absent: `client_id` decides.
    ok(&issuer
        .token()
        .claim("azp", json!(null))
        .claim("client_id", json!("cli"))
        .build());

    let refused = [
        (issuer.token().build(), "neither azp nor client_id"),
        (
            issuer.token().claim("azp", json!("other")).build(),
            "azp not listed",
        ),
        (
            issuer
                .token()
                .claim("azp", json!("other"))
                .claim("client_id", json!("web-app"))
                .build(),
            "azp wins over client_id",
        ),
        (
            issuer.token().claim("azp", json!(["web-app"])).build(),
            "azp an array",
        ),
        (
            issuer.token().claim("client_id", json!(42)).build(),
            "client_id a number",
        ),
        (
            issuer.token().claim("azp", json!("WEB-APP")).build(),
            "compared exactly",
        ),
        (
            issuer.token().claim("azp", json!(" web-app")).build(),
            "not trimmed in the token",
        ),
    ];
    for (token, what) in &refused {
        not_allowed(&v, token, what);
    }
}

/// A token from a client not on the list cannot make the verifier fetch the key set
/// (the allow-list is one of the cheap checks that gate an unknown-kid refresh).
#[test]
fn a_refused_client_with_an_unknown_kid_causes_no_fetch() {
    let issuer = TestIssuer::start();
    let v = Both::new(
        config_for(&issuer)
            .allowed_clients(["web-app"])
            .jwks_refresh_cooldown(Duration::ZERO)
            .build()
            .unwrap(),
    );
    v.verify(&issuer.token().claim("azp", json!("web-app")).build())
        .unwrap();
    let warm = issuer.fetch_count();
    let stranger = TestKey::generate(Alg::RS256, "unpublished");
    let refused = issuer
        .token_for(&stranger)
        .claim("azp", json!("other"))
        .build();
    assert_eq!(v.code(&refused), ErrorCode::KeyNotFound);
    assert_eq!(issuer.fetch_count(), warm);
    // The control: an allowed client with the same unknown kid does refresh.
    let allowed = issuer
        .token_for(&stranger)
        .claim("azp", json!("web-app"))
        .build();
    assert_eq!(v.code(&allowed), ErrorCode::KeyNotFound);
    assert!(issuer.fetch_count() > warm);
}

#[test]
fn allowed_clients_through_serde_and_the_environment() {
    let vars = HashMap::from([
        ("OIDC_ISSUER", "https://issuer.example/"),
        ("OIDC_AUDIENCE", "api"),
        ("OIDC_JWKS_URL", "https://issuer.example/jwks.json"),
        ("OIDC_ALLOWED_CLIENTS", " web-app, cli ,,web-app"),
    ]);
    let c = AuthConfig::from_env_lookup(|k| vars.get(k).map(|v| v.to_string())).unwrap();
    assert_eq!(c.allowed_clients(), ["cli", "web-app"]);

    let file = |clients: serde_json::Value| {
        serde_json::from_value::<AuthConfig>(json!({
            "issuer": "https://issuer.example/", "audience": "api",
            "jwks_url": "https://issuer.example/jwks.json", "allowed_clients": clients,
        }))
    };
    assert_eq!(file(json!("cli")).unwrap().allowed_clients(), ["cli"]);
    assert_eq!(
        file(json!(["b", "a"])).unwrap().allowed_clients(),
        ["a", "b"]
    );
    let e = file(json!(["a", "  "])).unwrap_err();
    assert!(e.to_string().contains("allowed_clients"), "{e}");

    let e = AuthConfig::builder()
        .issuer("https://issuer.example/")
        .audience("api")
        .jwks_url("https://issuer.example/jwks.json")
        .allowed_clients([""])
        .build()
        .unwrap_err();
    assert_eq!(e.field(), "allowed_clients");
    // Default: any client.
    let c = AuthConfig::builder()
        .issuer("https://issuer.example/")
        .audience("api")
        .jwks_url("https://issuer.example/jwks.json")
        .build()
        .unwrap();
    assert!(c.allowed_clients().is_empty());
}

#[test]
fn a_rule_refusal_keeps_its_code_message_and_status() {
    let issuer = TestIssuer::start();
    let v = Both::new(
        config_for(&issuer)
            .rule(|claims| match claims.get_str("tenant") {
                Some("acme") => Ok(()),
                _ => Err(AuthError::new(ErrorCode::InvalidToken).with_message("Unknown tenant")),
            })
            .rule(|claims| {
                if claims.get("blocked") == Some(&json!(true)) {
                    Err(AuthError::new(ErrorCode::InsufficientPermissions))
                } else {
                    Ok(())
                }
            })
            .build()
            .unwrap(),
    );
    v.verify(&issuer.token().claim("tenant", json!("acme")).build())
        .unwrap();
    let err = v
        .verify(&issuer.token().claim("tenant", json!("other")).build())
        .unwrap_err();
    assert_eq!(err.code(), ErrorCode::InvalidToken);
    assert_eq!(err.message(), "Unknown tenant");
    assert_eq!(err.status().as_u16(), 401);
    // The second rule's 403 stays a 403.
    let err = v
        .verify(
            &issuer
                .token()
                .claim("tenant", json!("acme"))
                .claim("blocked", json!(true))
                .build(),
        )
        .unwrap_err();
    assert_eq!(err.code(), ErrorCode::InsufficientPermissions);
    assert_eq!(err.status().as_u16(), 403);
    // In order: the first rule's error wins.
    let err = v
        .verify(&issuer.token().claim("blocked", json!(true)).build())
        .unwrap_err();
    assert_eq!(err.message(), "Unknown tenant");
}

/// Rules run after every built-in check: they see only tokens the verifier would
/// otherwise accept, in both flavours, with the configured claim paths.
#[test]
fn rules_run_after_the_built_in_checks_in_both_flavours() {
    let issuer = TestIssuer::start();
    let calls = Arc::new(AtomicUsize::new(0));
    let seen = Arc::clone(&calls);
    let v = Both::new(
        config_for(&issuer)
            .permissions_claim("realm_access.roles")
            .required_scopes(["read"])
            .allowed_clients(["web-app"])
            .rule(move |claims| {
                seen.fetch_add(1, Ordering::SeqCst);
                if claims.has_permission("admin") {
                    Ok(())
                } else {
                    Err(AuthError::new(ErrorCode::InsufficientPermissions))
                }
            })
            .build()
            .unwrap(),
    );
    let good = || {
        issuer
            .token()
            .claim("azp", json!("web-app"))
            .claim("scope", json!("read"))
            .claim("realm_access", json!({"roles": ["admin"]}))
    };
    let built_in_refusals = [
        (
            good().claim("exp", json!(verifier_testkit::now() - 60)),
            ErrorCode::TokenExpired,
        ),
        (
            good().claim("iss", json!("https://evil.example/")),
            ErrorCode::InvalidIssuer,
        ),
        (
            good().claim("aud", json!("other")),
            ErrorCode::InvalidAudience,
        ),
        (good().claim("azp", json!("other")), ErrorCode::InvalidToken),
        (
            good().claim("scope", json!("write")),
            ErrorCode::InsufficientScope,
        ),
        (good().signature(vec![0; 256]), ErrorCode::InvalidSignature),
    ];
    for (token, code) in &built_in_refusals {
        assert_eq!(v.code(&token.build()), *code);
    }
    assert_eq!(
        calls.load(Ordering::SeqCst),
        0,
        "a rule ran before a built-in check"
    );
    v.verify(&good().build()).unwrap();
    assert_eq!(calls.load(Ordering::SeqCst), 2, "once per flavour");
    let err = v
        .verify(
            &good()
                .claim("realm_access", json!({"roles": ["user"]}))
                .build(),
        )
        .unwrap_err();
    assert_eq!(err.code(), ErrorCode::InsufficientPermissions);
    assert_eq!(calls.load(Ordering::SeqCst), 4);
}

#[test]
fn debug_shows_whether_rules_are_set() {
    let base = || {
        AuthConfig::builder()
            .issuer("https://issuer.example/")
            .audience("api")
            .jwks_url("https://issuer.example/jwks.json")
    };
    let none = base().build().unwrap();
    let one = base().rule(|_| Ok(())).build().unwrap();
    assert_eq!(none.rule_count(), 0);
    assert_eq!(one.rule_count(), 1);
    assert!(format!("{none:?}").contains("rules: []"), "{none:?}");
    assert!(
        format!("{one:?}").contains("rules: [ClaimRule(..)]"),
        "{one:?}"
    );
    let builder = format!("{:?}", base().rule(|_| Ok(())));
    assert!(builder.contains("ClaimRule(..)"), "{builder}");
}
