//! The downgrade guard (SPEC-2 §5.6, decision D2) on the Bearer path: a token bound to a
//! key (`cnf.jkt`, RFC 9449) is refused when presented without its proof, in every
//! configuration, and a binding this library cannot verify is refused unless
//! `allow_unverified_token_binding` says a proxy checks it.

mod common;

use std::collections::HashMap;

use common::{config_for, Both};
use serde_json::json;
use verifier_core::{AuthConfig, ErrorCode};
use verifier_testkit::{now, Alg, TestIssuer, TestKey};

#[test]
fn a_key_bound_token_is_refused_as_bearer() {
    let issuer = TestIssuer::start();
    let holder = TestKey::generate(Alg::ES256, "holder");
    for cache in [0, 64] {
        let both = Both::new(
            config_for(&issuer)
                .verified_token_cache(cache)
                .build()
                .unwrap(),
        );
        let bound = issuer.token().cnf_jkt(&holder).build();
        // Every presentation, also once a cache could have remembered something.
        for _ in 0..3 {
            let err = both.verify(&bound).unwrap_err();
            assert_eq!(err.code(), ErrorCode::DpopBoundToken);
            assert_eq!(err.status().as_u16(), 401);
            assert_eq!(
                err.www_authenticate(Some("api")).unwrap(),
                r#"Bearer realm="api", error="invalid_token", error_description="DPoP-bound token requires the DPoP scheme""#
            );
        }
        // An unbound token is unaffected.
        assert!(both.verify(&issuer.token().build()).is_ok());
    }
}

/// The guard is step 11b: after the claims (an expired bound token is `token_expired`),
/// before scopes (a bound token without the scope is `dpop_bound_token`).
#[test]
fn the_guard_runs_after_the_claims_and_before_scopes() {
    let issuer = TestIssuer::start();
    let holder = TestKey::generate(Alg::ES256, "holder");
    let both = Both::new(
        config_for(&issuer)
            .required_scopes(["admin"])
            .build()
            .unwrap(),
    );
    let t = now();
    let expired = issuer
        .token()
        .cnf_jkt(&holder)
        .claim("iat", json!(t - 600))
        .claim("nbf", json!(t - 600))
        .claim("exp", json!(t - 300))
        .build();
    assert_eq!(both.code(&expired), ErrorCode::TokenExpired);
    let no_scope = issuer.token().cnf_jkt(&holder).build();
    assert_eq!(both.code(&no_scope), ErrorCode::DpopBoundToken);
}

#[test]
fn unverifiable_bindings_are_refused_unless_a_proxy_checks_them() {
    let issuer = TestIssuer::start();
    let mtls = issuer
        .token()
        .claim(
            "cnf",
            json!({"x5t#S256": "bwcK0esc3ACC3DB2Y5_lESsXE8o9ltc05O89jdN-dg2"}),
        )
        .build();
    let strict = Both::new(config_for(&issuer).build().unwrap());
    let err = strict.verify(&mtls).unwrap_err();
    assert_eq!(err.code(), ErrorCode::InvalidToken);
    assert_eq!(err.message(), "Unsupported token binding");
    let not_an_object = issuer.token().claim("cnf", json!("x")).build();
    assert_eq!(strict.code(&not_an_object), ErrorCode::InvalidToken);

    let trusting = config_for(&issuer)
        .allow_unverified_token_binding(true)
        .build()
        .unwrap();
    assert!(trusting.allow_unverified_token_binding());
    let proxied = Both::new(trusting);
    assert!(proxied.verify(&mtls).is_ok());
    // A DPoP binding is never waived.
    let holder = TestKey::generate(Alg::ES256, "holder");
    let both_bindings = issuer
        .token()
        .claim(
            "cnf",
            json!({"jkt": holder.thumbprint(), "x5t#S256": "bwcK0esc3ACC3DB2Y5_lESsXE8o9ltc05O89jdN-dg2"}),
        )
        .build();
    assert_eq!(proxied.code(&both_bindings), ErrorCode::DpopBoundToken);

    // From the environment.
    let vars = HashMap::from([
        ("OIDC_ISSUER", issuer.issuer()),
        (
            "OIDC_AUDIENCE",
            verifier_testkit::DEFAULT_AUDIENCE.to_owned(),
        ),
        ("OIDC_JWKS_URL", issuer.jwks_url()),
        ("OIDC_ALLOW_UNVERIFIED_TOKEN_BINDING", "true".to_owned()),
    ]);
    let config = AuthConfig::from_env_lookup(|k| vars.get(k).cloned()).unwrap();
    assert!(config.allow_unverified_token_binding());
    assert!(Both::new(config).verify(&mtls).is_ok());
}
