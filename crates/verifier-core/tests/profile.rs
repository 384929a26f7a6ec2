//! Access-token profiles (SPEC-2 §3, decision D12): the header `typ` checked before any
//! key lookup, the RFC 9068 required claims, and the configuration forms; over real HTTP
//! with the test issuer, through both verifier flavours.

mod common;

use std::collections::HashMap;

use common::{config_for, runtime, Both};
use proptest::prelude::*;
use serde_json::{json, Value};
use verifier_core::{
    typ_matches_at_jwt, AccessTokenProfile, AsyncJwtVerifier, AuthConfig, ConfigError, ErrorCode,
    JwtVerifier,
};
use verifier_testkit::{Alg, TestIssuer, TestKey, TokenBuilder};

/// A verifier under the RFC 9068 profile.
fn rfc9068(issuer: &TestIssuer) -> Both {
    Both::new(config_for(issuer).rfc9068().build().unwrap())
}

/// A token with everything RFC 9068 requires, for `key`.
fn access_token(issuer: &TestIssuer, key: &TestKey) -> TokenBuilder {
    issuer
        .token_for(key)
        .typ("at+jwt")
        .claim("client_id", json!("client-1"))
        .claim("jti", json!("jti-1"))
}

/// PF1: the four spellings of the RFC 9068 media type are accepted.
#[test]
fn pf1_at_jwt_spellings_are_accepted() {
    let issuer = TestIssuer::start();
    let v = rfc9068(&issuer);
    for typ in [
        "at+jwt",
        "AT+JWT",
        "application/at+jwt",
        "Application/At+Jwt",
    ] {
        let token = access_token(&issuer, &issuer.default_key())
            .typ(typ)
            .build();
        let claims = v.verify(&token).unwrap_or_else(|e| panic!("{typ}: {e:?}"));
        assert_eq!(claims.client_id(), Some("client-1"));
    }
}

/// PF2: every other `typ` (absent, other strings, other JSON types) is
/// `invalid_token_type`, decided before the key lookup: tokens with an unknown kid that
/// pass the cheap checks cause no fetch.
#[test]
fn pf2_other_types_are_refused_before_any_fetch() {
    let issuer = TestIssuer::start();
    let v = rfc9068(&issuer);
    let unknown = TestKey::generate(Alg::RS256, "not-published");
    let typs: Vec<Option<Value>> = vec![
        None,
        Some(json!("JWT")),
        Some(json!("jwt")),
        Some(json!("at+jwt ")),
        Some(json!(" at+jwt")),
        Some(json!("at+jwt\u{0000}")),
        Some(json!("application/at+jwt; v=1")),
        Some(json!("xapplication/at+jwt")),
        Some(json!("application/jwt")),
        Some(json!("dpop+jwt")),
        Some(json!("at+jwt2")),
        Some(json!("")),
        Some(json!(42)),
        Some(Value::Null),
        Some(json!(["at+jwt"])),
        Some(json!({})),
    ];
    for typ in &typs {
        for key in [&unknown, &issuer.default_key()] {
            let builder = access_token(&issuer, key);
            let builder = match typ {
                None => builder.remove_header("typ"),
                Some(t) => builder.header("typ", t.clone()),
            };
            assert_eq!(
                v.code(&builder.build()),
                ErrorCode::InvalidTokenType,
                "{typ:?}"
            );
        }
    }
    assert_eq!(
        issuer.fetch_count(),
        0,
        "typ is checked before the key lookup"
    );
    // The same tokens with `at+jwt` do reach the key lookup (the unknown kid fetches).
    assert_eq!(
        v.code(&access_token(&issuer, &unknown).build()),
        ErrorCode::KeyNotFound
    );
    assert!(issuer.fetch_count() > 0);
}

/// An ID token of the same issuer for our audience (R20) is refused with the challenge of
/// SPEC-2 §3.5 (here through `AuthError::www_authenticate`; the integrations build theirs
/// with the same code).
#[test]
fn id_token_is_refused_with_the_token_type_challenge() {
    let issuer = TestIssuer::start();
    let v = rfc9068(&issuer);
    let id_token = issuer
        .token()
        .claim("nonce", json!("n-0S6_WzA2Mj"))
        .claim("auth_time", json!(verifier_testkit::now() - 10))
        .claim("azp", json!("client-1"))
        .build();
    let err = v.verify(&id_token).unwrap_err();
    assert_eq!(err.code(), ErrorCode::InvalidTokenType);
    assert_eq!(err.status().as_u16(), 401);
    assert_eq!(
        err.www_authenticate(Some("api")).unwrap(),
        r#"Bearer realm="api", error="invalid_token", error_description="Invalid token type""#
    );
    // The generic profile accepts the same token (today's behaviour).
    let generic = Both::new(config_for(&issuer).build().unwrap());
    generic.verify(&id_token).unwrap();
}

/// PF4: each required claim missing, `null` or (strings) `""`, in turn, names it; with
/// several missing, the first in the order sub, client_id, iat, jti.
#[test]
fn pf4_required_claims_are_named_in_order() {
    let issuer = TestIssuer::start();
    let v = rfc9068(&issuer);
    let key = issuer.default_key();
    let message = |name: &str| format!("Token is missing the \"{name}\" claim");
    for name in ["sub", "client_id", "iat", "jti"] {
        let mut variants = vec![
            access_token(&issuer, &key).remove_claim(name),
            access_token(&issuer, &key).claim(name, Value::Null),
        ];
        if name != "iat" {
            variants.push(access_token(&issuer, &key).claim(name, json!("")));
        }
        for token in variants {
            let err = v.verify(&token.build()).unwrap_err();
            assert_eq!(err.code(), ErrorCode::MissingClaim, "{name}");
            assert_eq!(err.message(), message(name));
        }
    }
    let all_missing = access_token(&issuer, &key)
        .remove_claim("jti")
        .remove_claim("iat")
        .remove_claim("client_id");
    assert_eq!(
        v.verify(&all_missing.build()).unwrap_err().message(),
        message("client_id")
    );
    let late = access_token(&issuer, &key)
        .remove_claim("jti")
        .remove_claim("iat");
    assert_eq!(
        v.verify(&late.build()).unwrap_err().message(),
        message("iat")
    );
    // The checks of exp, iss and aud come first.
    let expired = access_token(&issuer, &key)
        .remove_claim("sub")
        .claim("exp", json!(verifier_testkit::now() - 60));
    assert_eq!(v.code(&expired.build()), ErrorCode::TokenExpired);
    let other_aud = access_token(&issuer, &key)
        .remove_claim("sub")
        .claim("aud", json!("someone-else"));
    assert_eq!(v.code(&other_aud.build()), ErrorCode::InvalidAudience);
}

/// PF5: wrongly typed profile claims are `invalid_token`.
#[test]
fn pf5_wrong_claim_types_are_invalid_token() {
    let issuer = TestIssuer::start();
    let v = rfc9068(&issuer);
    let key = issuer.default_key();
    for (name, value) in [
        ("client_id", json!(42)),
        ("jti", json!(1)),
        ("iat", json!("123")),
    ] {
        let token = access_token(&issuer, &key).claim(name, value).build();
        assert_eq!(v.code(&token), ErrorCode::InvalidToken, "{name}");
    }
}

/// PF6: the generic profile accepts `typ: JWT`, no `typ` and `typ: at+jwt`, without the
/// RFC 9068 claims (regression guard on SPEC §4).
#[test]
fn pf6_generic_profile_accepts_untyped_and_jwt() {
    let issuer = TestIssuer::start();
    let v = Both::new(config_for(&issuer).build().unwrap());
    assert_eq!(
        v.async_v.config().access_token_profile(),
        AccessTokenProfile::Generic
    );
    for token in [
        issuer.token().typ("JWT"),
        issuer.token().remove_header("typ"),
        issuer.token().typ("at+jwt"),
        issuer.token().header("typ", json!(7)),
    ] {
        v.verify(&token.build()).unwrap();
    }
}

/// Decision D12: the generic profile refuses explicitly typed non-access JWTs, with or
/// without `application/`, in any case, before the key lookup.
#[test]
fn generic_profile_refuses_non_access_types_before_any_fetch() {
    let issuer = TestIssuer::start();
    let v = Both::new(config_for(&issuer).build().unwrap());
    let unknown = TestKey::generate(Alg::RS256, "not-published");
    for typ in [
        "dpop+jwt",
        "DPoP+JWT",
        "application/dpop+jwt",
        "logout+jwt",
        "Application/Logout+JWT",
        "secevent+jwt",
        "application/secevent+jwt",
    ] {
        for key in [&unknown, &issuer.default_key()] {
            let token = issuer.token_for(key).typ(typ).build();
            assert_eq!(v.code(&token), ErrorCode::InvalidTokenType, "{typ}");
        }
    }
    assert_eq!(issuer.fetch_count(), 0);
}

/// The profile keeps the existing precedence: structure, forbidden headers and `alg`
/// come before `typ`; `kid` after it.
#[test]
fn typ_check_sits_between_alg_and_kid() {
    let issuer = TestIssuer::start();
    let v = rfc9068(&issuer);
    let base = || issuer.token().typ("JWT");
    assert_eq!(
        v.code(&base().header("jku", json!("https://x/")).build()),
        ErrorCode::ForbiddenHeader
    );
    assert_eq!(
        v.code(&base().header("alg", json!("HS256")).build()),
        ErrorCode::DisallowedAlg
    );
    assert_eq!(
        v.code(&base().remove_header("kid").build()),
        ErrorCode::InvalidTokenType
    );
    assert_eq!(
        v.code(&base().raw_payload("[]").build()),
        ErrorCode::InvalidTokenType
    );
    assert_eq!(issuer.fetch_count(), 0);
}

fn env(pairs: &[(&str, &str)]) -> Result<AuthConfig, ConfigError> {
    let map: HashMap<String, String> = pairs
        .iter()
        .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
        .collect();
    AuthConfig::from_env_lookup(|k| map.get(k).cloned())
}

/// PF7: the environment takes the profile name in any case with surrounding spaces; an
/// unknown name is a `ConfigError` naming the variable.
#[test]
fn pf7_profile_from_the_environment() {
    let base = [
        ("OIDC_ISSUER", "https://issuer.example/"),
        ("OIDC_AUDIENCE", "api"),
        ("OIDC_JWKS_URL", "https://issuer.example/jwks.json"),
    ];
    let with = |value: &'static str| {
        let mut pairs = base.to_vec();
        pairs.push(("OIDC_ACCESS_TOKEN_PROFILE", value));
        env(&pairs)
    };
    for value in ["RFC9068 ", "rfc9068", " Rfc9068"] {
        let config = with(value).unwrap();
        assert_eq!(config.access_token_profile(), AccessTokenProfile::Rfc9068);
    }
    assert_eq!(
        with("generic").unwrap().access_token_profile(),
        AccessTokenProfile::Generic
    );
    assert_eq!(
        env(&base).unwrap().access_token_profile(),
        AccessTokenProfile::Generic
    );
    for value in ["strict", "", "rfc 9068"] {
        let err = with(value).unwrap_err();
        assert_eq!(err.field(), "OIDC_ACCESS_TOKEN_PROFILE", "{value:?}");
    }
}

/// The configuration-file form takes the same names; errors name the field.
#[test]
fn profile_from_a_configuration_file() {
    let config: AuthConfig = serde_json::from_value(json!({
        "issuer": "https://issuer.example/",
        "audience": "api",
        "jwks_url": "https://issuer.example/jwks.json",
        "access_token_profile": "rfc9068",
    }))
    .unwrap();
    assert_eq!(config.access_token_profile(), AccessTokenProfile::Rfc9068);
    let err = serde_json::from_value::<AuthConfig>(json!({
        "issuer": "https://issuer.example/",
        "audience": "api",
        "access_token_profile": "strict",
    }))
    .unwrap_err();
    assert!(err.to_string().contains("access_token_profile"), "{err}");
}

/// With several issuers, each has its own profile, checked after routing and still
/// before any key lookup.
#[test]
fn each_issuer_has_its_own_profile() {
    let a = TestIssuer::start();
    let b = TestIssuer::builder().path("/realms/b").start();
    let configs = vec![
        config_for(&a).rfc9068().build().unwrap(),
        config_for(&b).build().unwrap(),
    ];
    let rt = runtime();
    let av = AsyncJwtVerifier::builder()
        .issuers(configs.clone())
        .build()
        .unwrap();
    let bv = JwtVerifier::builder().issuers(configs).build().unwrap();
    let untyped_a = a.token().typ("JWT").build();
    let untyped_b = b.token().typ("JWT").build();
    let dpop_b = b.token().typ("dpop+jwt").build();
    for token in [&untyped_a, &dpop_b] {
        let x = rt.block_on(av.verify_access_token(token)).unwrap_err();
        let y = bv.verify_access_token(token).unwrap_err();
        assert_eq!(x.code(), ErrorCode::InvalidTokenType);
        assert_eq!(y.code(), ErrorCode::InvalidTokenType);
    }
    assert_eq!(a.fetch_count() + b.fetch_count(), 0);
    rt.block_on(av.verify_access_token(&untyped_b)).unwrap();
    bv.verify_access_token(&untyped_b).unwrap();
    let typed_a = access_token(&a, &a.default_key()).build();
    rt.block_on(av.verify_access_token(&typed_a)).unwrap();
    bv.verify_access_token(&typed_a).unwrap();
}

proptest! {
    /// PF8: `typ_matches_at_jwt(s)` holds exactly when `s` equals one of the two
    /// spellings, ASCII case-insensitively.
    #[test]
    fn pf8_typ_matches_at_jwt_is_exact(s in "\\PC{0,24}|(?i)(application/)?at\\+jwt[ ;=a-z0-9\u{0}]{0,3}") {
        let expected = s.eq_ignore_ascii_case("at+jwt") || s.eq_ignore_ascii_case("application/at+jwt");
        prop_assert_eq!(typ_matches_at_jwt(&s), expected);
    }
}
