//! Every challenge `Challenge::headers` emits, for arbitrary realms, metadata URLs,
//! scope hints, messages, scopes, codes, schemes and DPoP modes, round-trips through the
//! testkit's strict RFC 9110 parser (SPEC-2 §6.4): each parameter once, in the order of
//! SPEC-2 §0.3, values back as given minus control characters.

use proptest::prelude::*;
use verifier_core::{Algorithm, AuthError, Challenge, ErrorCode, Scheme};
use verifier_testkit::conformance::challenge_parser::parse;

/// What a quoted value reads back as: control characters other than tab removed.
fn cleaned(s: &str) -> String {
    s.chars()
        .filter(|c| *c == '\t' || !c.is_control())
        .collect()
}

const ORDER: [&str; 7] = [
    "realm",
    "error",
    "error_description",
    "scope",
    "permissions",
    "algs",
    "resource_metadata",
];

proptest! {
    #[test]
    fn every_challenge_parses_strictly(
        realm in proptest::option::of("\\PC{0,12}|[\"\\\\\r\n\t ]{0,4}"),
        url in proptest::option::of("https://[a-z]{1,8}\\.example/[ -~]{0,12}"),
        hint in proptest::collection::vec("[!#-~]{1,6}", 0..3),
        message in "\\PC{0,16}|[\"\\\\\r\n\u{7f}]{0,4}",
        scopes in proptest::collection::vec("[!#-~]{1,6}", 0..3),
        permissions in proptest::collection::vec("[!#-~]{1,6}", 0..2),
        code in 0..ErrorCode::ALL.len(),
        scheme in proptest::option::of(prop_oneof![Just(Scheme::Bearer), Just(Scheme::Dpop)]),
        dpop in proptest::option::of(any::<bool>()),
    ) {
        let code = ErrorCode::ALL[code];
        let mut challenge = Challenge::bearer(realm.as_deref()).with_scope_hint(&hint);
        if let Some(url) = &url {
            challenge = challenge.with_resource_metadata(url);
        }
        if let Some(required) = dpop {
            challenge = challenge.with_dpop(required, &[Algorithm::ES256, Algorithm::EdDSA]);
        }
        let mut err = AuthError::new(code)
            .with_message(message.clone())
            .with_required_scopes(scopes.clone())
            .with_required_permissions(permissions.clone());
        if let Some(scheme) = scheme {
            err = err.with_scheme(scheme);
        }
        let values = challenge.headers(&err);
        let status = code.status().as_u16();
        if status == 503 {
            prop_assert!(values.is_empty());
            return Ok(());
        }
        let expected_fields = match (status, dpop) {
            (401, Some(false)) => 2,
            _ => 1,
        };
        prop_assert_eq!(values.len(), expected_fields);
        for (i, value) in values.iter().enumerate() {
            let parsed = parse(value.as_bytes()).map_err(|e| {
                TestCaseError::fail(format!("{value:?}: {e}"))
            })?;
            prop_assert_eq!(parsed.len(), 1);
            let c = &parsed[0];
            prop_assert!(c.token68().is_none());
            // Known parameters only, in the specified order.
            let names: Vec<&str> = c.params().iter().map(|(n, _)| n.as_str()).collect();
            let mut last = 0;
            for name in &names {
                let at = ORDER.iter().position(|o| o == name);
                prop_assert!(at.is_some(), "unknown parameter {}", name);
                let at = at.unwrap_or_default();
                prop_assert!(at >= last, "{} out of order in {:?}", name, value);
                last = at;
            }
            let want_realm = realm.as_deref().map(cleaned);
            prop_assert_eq!(c.param("realm"), want_realm.as_deref());
            let want_url = url.as_deref().map(cleaned);
            prop_assert_eq!(c.param("resource_metadata"), want_url.as_deref());
            let dpop_scheme = c.scheme() == "DPoP";
            prop_assert_eq!(c.param("algs").is_some(), dpop_scheme);
            if i == 0 && code != ErrorCode::MissingToken {
                let want = cleaned(&message);
                prop_assert_eq!(c.param("error_description"), Some(want.as_str()));
                let error = c.param("error").unwrap_or_default();
                if !dpop_scheme {
                    prop_assert!(["invalid_token", "insufficient_scope", "invalid_request"].contains(&error));
                }
            } else {
                prop_assert_eq!(c.param("error"), None);
            }
        }
    }
}

/// The scheme the client used comes first; a scheme that is not offered falls back to
/// the first offered one.
#[test]
fn used_scheme_first() {
    let algs = [Algorithm::ES256];
    let allowed = Challenge::bearer(None).with_dpop(false, &algs);
    let err = AuthError::new(ErrorCode::TokenExpired);
    let first = |c: &Challenge, e: &AuthError| {
        c.headers(e)[0]
            .to_str()
            .unwrap()
            .split(' ')
            .next()
            .unwrap()
            .to_owned()
    };
    assert_eq!(first(&allowed, &err), "Bearer");
    assert_eq!(
        first(&allowed, &err.clone().with_scheme(Scheme::Dpop)),
        "DPoP"
    );
    assert_eq!(allowed.schemes(), [Scheme::Bearer, Scheme::Dpop]);
    let required = Challenge::bearer(None).with_dpop(true, &algs);
    assert_eq!(
        first(&required, &err.clone().with_scheme(Scheme::Bearer)),
        "DPoP"
    );
    assert_eq!(required.headers(&err).len(), 1);
    assert_eq!(Challenge::bearer(None).schemes(), [Scheme::Bearer]);
}

/// `authenticate` records the scheme the client used on its errors, so an integration's
/// `Challenge` answers on that scheme; `verify_access_token` records none.
#[test]
fn authenticate_records_the_scheme_on_errors() {
    use verifier_core::{AsyncJwtVerifier, AuthConfig, JwtVerifier, RequestParts};
    use verifier_testkit::{TestIssuer, DEFAULT_AUDIENCE};
    let issuer = TestIssuer::start();
    let config = AuthConfig::builder()
        .issuer(issuer.issuer())
        .audience(DEFAULT_AUDIENCE)
        .jwks_url(issuer.jwks_url())
        .build()
        .unwrap();
    let expired = issuer
        .token()
        .claim("exp", serde_json::json!(verifier_testkit::now() - 60))
        .build();
    let mut headers = http::HeaderMap::new();
    headers.insert(
        http::header::AUTHORIZATION,
        format!("Bearer {expired}").parse().unwrap(),
    );
    let (method, uri) = (http::Method::GET, http::Uri::from_static("/me"));
    let parts = RequestParts::new(&method, &uri, &headers);
    let blocking = JwtVerifier::new(config.clone()).unwrap();
    let err = blocking.authenticate(parts).unwrap_err();
    assert_eq!(err.code(), ErrorCode::TokenExpired);
    assert_eq!(err.scheme(), Some(Scheme::Bearer));
    let rt = tokio::runtime::Runtime::new().unwrap();
    let verifier = AsyncJwtVerifier::new(config).unwrap();
    let err = rt.block_on(verifier.authenticate(parts)).unwrap_err();
    assert_eq!(err.scheme(), Some(Scheme::Bearer));
    let err = rt
        .block_on(verifier.verify_access_token(&expired))
        .unwrap_err();
    assert_eq!(err.scheme(), None);
}
