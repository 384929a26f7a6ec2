//! The AWS Cognito audience mode (`aud` absent: `client_id` names the audience) and the
//! required `token_use`.

use std::collections::HashMap;
use std::time::Duration;

use serde_json::json;
use verifier_core::{AudienceMode, AuthConfig, ErrorCode};
use verifier_testkit::{Alg, TestIssuer, TestKey, TokenBuilder};

use crate::common::Both;

const APP_CLIENT: &str = "1example23456789";

fn cognito_config(issuer: &TestIssuer) -> AuthConfig {
    AuthConfig::builder()
        .issuer(issuer.issuer())
        .audience(APP_CLIENT)
        .jwks_url(issuer.jwks_url())
        .cognito()
        .jwks_refresh_cooldown(Duration::ZERO)
        .build()
        .unwrap()
}

/// An access token without `aud`, as Cognito issues them.
fn access(issuer: &TestIssuer) -> TokenBuilder {
    issuer
        .token()
        .remove_claim("aud")
        .claim("client_id", json!(APP_CLIENT))
        .claim("token_use", json!("access"))
}

#[test]
fn client_id_stands_in_for_an_absent_aud() {
    let issuer = TestIssuer::start();
    let v = Both::new(cognito_config(&issuer));
    v.verify(&access(&issuer).build()).unwrap();
    v.verify(&access(&issuer).claim("aud", json!(null)).build())
        .unwrap();
    // `aud`, when present, decides alone.
    v.verify(&access(&issuer).claim("aud", json!(APP_CLIENT)).build())
        .unwrap();
    assert_eq!(
        v.code(&access(&issuer).claim("aud", json!("other")).build()),
        ErrorCode::InvalidAudience
    );

    let cases = [
        (
            access(&issuer).claim("client_id", json!("other")),
            ErrorCode::InvalidAudience,
        ),
        (
            access(&issuer).claim("client_id", json!(42)),
            ErrorCode::InvalidAudience,
        ),
        (
            access(&issuer).claim("client_id", json!([APP_CLIENT])),
            ErrorCode::InvalidAudience,
        ),
        (
            access(&issuer).claim("client_id", json!("")),
            ErrorCode::InvalidAudience,
        ),
    ];
    for (token, code) in cases {
        assert_eq!(v.code(&token.build()), code);
    }
    let err = v
        .verify(&access(&issuer).remove_claim("client_id").build())
        .unwrap_err();
    assert_eq!(err.code(), ErrorCode::MissingClaim);
    assert_eq!(err.message(), "Token is missing the \"aud\" claim");
}

#[test]
fn token_use_must_be_access() {
    let issuer = TestIssuer::start();
    let v = Both::new(cognito_config(&issuer));
    for token_use in [
        json!("id"),
        json!("ACCESS"),
        json!(["access"]),
        json!(1),
        json!(""),
    ] {
        let err = v
            .verify(
                &access(&issuer)
                    .claim("token_use", token_use.clone())
                    .build(),
            )
            .unwrap_err();
        assert_eq!(err.code(), ErrorCode::InvalidTokenType, "{token_use}");
        assert_eq!(err.message(), "Invalid token type");
        assert_eq!(err.status().as_u16(), 401);
    }
    let err = v
        .verify(&access(&issuer).remove_claim("token_use").build())
        .unwrap_err();
    assert_eq!(err.code(), ErrorCode::MissingClaim);
    assert_eq!(err.message(), "Token is missing the \"token_use\" claim");
}

/// A Cognito ID token carries `aud` = the app client and `token_use: id`: under the
/// preset it is refused, and with an unknown kid it cannot make the verifier fetch.
#[test]
fn an_id_token_is_refused_without_a_fetch() {
    let issuer = TestIssuer::start();
    let v = Both::new(cognito_config(&issuer));
    v.verify(&access(&issuer).build()).unwrap();
    let warm = issuer.fetch_count();
    let id = issuer
        .token()
        .claim("aud", json!(APP_CLIENT))
        .claim("token_use", json!("id"));
    assert_eq!(v.code(&id.clone().build()), ErrorCode::InvalidTokenType);
    let stranger = TestKey::generate(Alg::RS256, "unpublished");
    let unknown_kid = id
        .signing_key(&stranger)
        .header("kid", json!("unpublished"));
    assert_eq!(v.code(&unknown_kid.build()), ErrorCode::KeyNotFound);
    assert_eq!(issuer.fetch_count(), warm);
}

#[test]
fn without_the_preset_aud_is_required_as_before() {
    let issuer = TestIssuer::start();
    let v = Both::new(
        AuthConfig::builder()
            .issuer(issuer.issuer())
            .audience(APP_CLIENT)
            .jwks_url(issuer.jwks_url())
            .build()
            .unwrap(),
    );
    let err = v.verify(&access(&issuer).build()).unwrap_err();
    assert_eq!(err.code(), ErrorCode::MissingClaim);
    assert_eq!(err.message(), "Token is missing the \"aud\" claim");
    // No token_use is required by default.
    v.verify(
        &access(&issuer)
            .claim("aud", json!(APP_CLIENT))
            .remove_claim("token_use")
            .build(),
    )
    .unwrap();
}

#[test]
fn the_preset_through_serde_and_the_environment() {
    let base = [
        (
            "OIDC_ISSUER",
            "https://cognito-idp.us-east-1.amazonaws.com/us-east-1_Example",
        ),
        ("OIDC_AUDIENCE", APP_CLIENT),
        (
            "OIDC_JWKS_URL",
            "https://cognito-idp.us-east-1.amazonaws.com/us-east-1_Example/.well-known/jwks.json",
        ),
    ];
    let env = |extra: &[(&'static str, &'static str)]| {
        let vars: HashMap<_, _> = base.iter().chain(extra).copied().collect();
        AuthConfig::from_env_lookup(|k| vars.get(k).map(|v| v.to_string()))
    };
    let c = env(&[
        ("OIDC_AUDIENCE_MODE", " AUD_OR_CLIENT_ID "),
        ("OIDC_REQUIRED_TOKEN_USE", "access"),
    ])
    .unwrap();
    assert_eq!(c.audience_mode(), AudienceMode::AudOrClientId);
    assert_eq!(c.required_token_use(), Some("access"));
    let d = env(&[]).unwrap();
    assert_eq!(d.audience_mode(), AudienceMode::Aud);
    assert_eq!(d.required_token_use(), None);
    assert_eq!(
        env(&[("OIDC_AUDIENCE_MODE", "cognito")])
            .unwrap_err()
            .field(),
        "OIDC_AUDIENCE_MODE"
    );
    assert_eq!(
        env(&[("OIDC_REQUIRED_TOKEN_USE", "  ")])
            .unwrap_err()
            .field(),
        "OIDC_REQUIRED_TOKEN_USE"
    );

    let file = |extra: serde_json::Value| {
        let mut doc = json!({
            "issuer": base[0].1, "audience": APP_CLIENT, "jwks_url": base[2].1,
        });
        doc.as_object_mut()
            .unwrap()
            .extend(extra.as_object().unwrap().clone());
        serde_json::from_value::<AuthConfig>(doc)
    };
    let c =
        file(json!({"audience_mode": "aud_or_client_id", "required_token_use": "access"})).unwrap();
    assert_eq!(c.audience_mode(), AudienceMode::AudOrClientId);
    assert_eq!(c.required_token_use(), Some("access"));
    let e = file(json!({"audience_mode": "client_id"})).unwrap_err();
    assert!(e.to_string().contains("audience_mode"), "{e}");
}
