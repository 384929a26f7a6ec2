//! Nested claim paths for the scope and permissions claims.

use std::collections::HashMap;

use serde_json::json;
use verifier_core::{AuthConfig, ClaimPath, ErrorCode};
use verifier_testkit::TestIssuer;

use crate::common::{config_for, Both};

#[test]
fn nested_paths_read_keycloak_roles() {
    let issuer = TestIssuer::start();
    let v = Both::new(
        config_for(&issuer)
            .scope_claim("resource_access.orders-api.roles")
            .permissions_claim("realm_access.roles")
            .required_scopes(["reader"])
            .required_permissions(["admin"])
            .build()
            .unwrap(),
    );
    let token = issuer
        .token()
        .claim(
            "realm_access",
            json!({"roles": ["admin", "offline_access"]}),
        )
        .claim(
            "resource_access",
            json!({"orders-api": {"roles": ["reader"]}, "account": {"roles": ["view-profile"]}}),
        )
        .build();
    let claims = v.verify(&token).unwrap();
    assert_eq!(claims.permissions(), ["admin", "offline_access"]);
    assert_eq!(claims.scopes(), ["reader"]);
    assert!(claims.require_scopes(&["reader"]).is_ok());
    let roles: ClaimPath = "realm_access.roles".parse().unwrap();
    assert_eq!(
        claims.get_path(&roles),
        Some(&json!(["admin", "offline_access"]))
    );

    // Another client's roles do not count.
    let other = issuer
        .token()
        .claim("realm_access", json!({"roles": ["admin"]}))
        .claim("resource_access", json!({"account": {"roles": ["reader"]}}))
        .build();
    let err = v.verify(&other).unwrap_err();
    assert_eq!(err.code(), ErrorCode::InsufficientScope);
    assert_eq!(err.required_scopes(), ["reader"]);
}

/// Hostile shapes on the way or at the end of a path are refused exactly as a top-level
/// claim of the wrong shape is today: an empty set, so `insufficient_permissions` (403)
/// naming what is missing, never a panic or another code.
#[test]
fn hostile_shapes_are_refused_like_a_non_list_claim() {
    let issuer = TestIssuer::start();
    let nested = Both::new(
        config_for(&issuer)
            .permissions_claim("realm_access.roles")
            .required_permissions(["admin"])
            .build()
            .unwrap(),
    );
    let flat = Both::new(
        config_for(&issuer)
            .required_permissions(["admin"])
            .build()
            .unwrap(),
    );
    // Today's refusal of a non-list top-level claim, the reference.
    let reference = flat
        .verify(&issuer.token().claim("permissions", json!(42)).build())
        .unwrap_err();
    assert_eq!(reference.code(), ErrorCode::InsufficientPermissions);
    assert_eq!(reference.status().as_u16(), 403);

    let hostile = [
        json!("admin"),
        json!(42),
        json!(true),
        json!(["admin"]),
        json!([{"roles": ["admin"]}]),
        json!({"roles": "admin-but-not-split"}),
        json!({"roles": [1, 2.5, null, true, {"name": "admin"}, ["admin"]]}),
        json!({"roles": {"admin": true}}),
        json!({"roles": null}),
        json!({"other": ["admin"]}),
        json!(null),
    ];
    for realm_access in hostile {
        let token = issuer
            .token()
            .claim("realm_access", realm_access.clone())
            .build();
        let err = nested.verify(&token).unwrap_err();
        assert_eq!(err.code(), reference.code(), "{realm_access}");
        assert_eq!(err.status(), reference.status(), "{realm_access}");
        assert_eq!(err.message(), reference.message(), "{realm_access}");
        assert_eq!(
            err.required_permissions(),
            reference.required_permissions(),
            "{realm_access}"
        );
    }
    // Non-string members are skipped, strings beside them still count (as today).
    let mixed = issuer
        .token()
        .claim("realm_access", json!({"roles": [1, {"x": 2}, "admin"]}))
        .build();
    assert_eq!(nested.verify(&mixed).unwrap().permissions(), ["admin"]);
    // A flat member whose name is the path is not the nested claim.
    let flat_name = issuer
        .token()
        .claim("realm_access.roles", json!(["admin"]))
        .build();
    assert_eq!(nested.code(&flat_name), ErrorCode::InsufficientPermissions);
}

#[test]
fn escaped_dots_name_a_namespaced_claim() {
    let issuer = TestIssuer::start();
    let v = Both::new(
        config_for(&issuer)
            .permissions_claim(r"https://example\.com/roles")
            .required_permissions(["admin"])
            .build()
            .unwrap(),
    );
    let token = issuer
        .token()
        .claim("https://example.com/roles", json!(["admin"]))
        .build();
    assert_eq!(v.verify(&token).unwrap().permissions(), ["admin"]);
    // The nested reading of the same text is not what the escape means.
    let nested = issuer
        .token()
        .claim("https://example", json!({"com/roles": ["admin"]}))
        .build();
    assert_eq!(v.code(&nested), ErrorCode::InsufficientPermissions);
}

#[test]
fn plain_names_work_as_before() {
    let issuer = TestIssuer::start();
    let v = Both::new(
        config_for(&issuer)
            .scope_claim(" scp ")
            .permissions_claim("cognito:groups")
            .required_scopes(["read"])
            .required_permissions(["admin"])
            .build()
            .unwrap(),
    );
    let token = issuer
        .token()
        .claim("scp", json!("read write"))
        .claim("cognito:groups", json!(["admin"]))
        .build();
    let claims = v.verify(&token).unwrap();
    assert_eq!(claims.scopes(), ["read", "write"]);
    assert_eq!(claims.permissions(), ["admin"]);
}

/// Bad paths are `ConfigError`s naming the field (builder, file) or the variable
/// (environment); a 1,000-member path is refused at configuration.
#[test]
fn bad_paths_are_configuration_errors() {
    let base = || {
        AuthConfig::builder()
            .issuer("https://issuer.example/")
            .audience("api")
            .jwks_url("https://issuer.example/jwks.json")
    };
    let deep = vec!["a"; 1000].join(".");
    let cases = [
        ("a..b", "empty member"),
        (".a", "empty member"),
        ("a.", "empty member"),
        (deep.as_str(), "more than 16 members"),
        ("https://example.com/roles", "looks like a URL"),
    ];
    for (path, reason) in cases {
        let e = base().scope_claim(path).build().unwrap_err();
        assert_eq!(e.field(), "scope_claim", "{path}");
        assert!(e.reason().contains(reason), "{path}: {e}");
        let e = base().permissions_claim(path).build().unwrap_err();
        assert_eq!(e.field(), "permissions_claim", "{path}");

        let file = json!({
            "issuer": "https://issuer.example/", "audience": "api",
            "jwks_url": "https://issuer.example/jwks.json", "permissions_claim": path,
        });
        let e = serde_json::from_value::<AuthConfig>(file).unwrap_err();
        assert!(e.to_string().contains("permissions_claim"), "{e}");

        let vars = HashMap::from([
            ("OIDC_ISSUER", "https://issuer.example/"),
            ("OIDC_AUDIENCE", "api"),
            ("OIDC_JWKS_URL", "https://issuer.example/jwks.json"),
            ("OIDC_SCOPE_CLAIM", path),
        ]);
        let e = AuthConfig::from_env_lookup(|k| vars.get(k).map(|v| v.to_string())).unwrap_err();
        assert_eq!(e.field(), "OIDC_SCOPE_CLAIM", "{path}");
    }
    // 16 members is the most.
    let sixteen = vec!["a"; 16].join(".");
    assert!(base().scope_claim(sixteen.as_str()).build().is_ok());
    assert!(base().scope_claim(format!("{sixteen}.a")).build().is_err());
}

#[test]
fn paths_through_serde_and_the_environment() {
    let file = json!({
        "issuer": "https://issuer.example/", "audience": "api",
        "jwks_url": "https://issuer.example/jwks.json",
        "scope_claim": "resource_access.orders-api.roles",
        "permissions_claim": r"https://example\.com/roles",
    });
    let c: AuthConfig = serde_json::from_value(file).unwrap();
    assert_eq!(c.scope_claim(), "resource_access.orders-api.roles");
    assert_eq!(
        c.scope_claim_path().segments().collect::<Vec<_>>(),
        ["resource_access", "orders-api", "roles"]
    );
    assert_eq!(
        c.permissions_claim_path().segments().collect::<Vec<_>>(),
        ["https://example.com/roles"]
    );
    let vars = HashMap::from([
        ("OIDC_ISSUER", "https://issuer.example/"),
        ("OIDC_AUDIENCE", "api"),
        ("OIDC_JWKS_URL", "https://issuer.example/jwks.json"),
        ("OIDC_PERMISSIONS_CLAIM", "realm_access.roles"),
    ]);
    let c = AuthConfig::from_env_lookup(|k| vars.get(k).map(|v| v.to_string())).unwrap();
    assert_eq!(
        c.permissions_claim_path().segments().collect::<Vec<_>>(),
        ["realm_access", "roles"]
    );
}
