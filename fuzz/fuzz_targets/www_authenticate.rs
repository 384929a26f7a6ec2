//! `WWW-Authenticate` writer (docs/errors.md) with arbitrary realm, message and scopes: always
//! a valid header value for 401/403, never a CR, LF or other control byte but tab. The same
//! for every field of a `Challenge` with an arbitrary `resource_metadata` URL, scope hint and
//! DPoP offer.
#![no_main]

use http::HeaderValue;
use libfuzzer_sys::fuzz_target;
use verifier_core::bearer::ErrorResponse;
use verifier_core::{Algorithm, AuthError, Challenge, ErrorCode, Scheme};

fuzz_target!(|data: &[u8]| {
    let Some((&selector, rest)) = data.split_first() else {
        return;
    };
    let text = String::from_utf8_lossy(rest);
    let mut parts = text.split('\u{1}');
    let realm = parts.next().unwrap_or_default().to_owned();
    let message = parts.next().unwrap_or_default().to_owned();
    let scopes: Vec<String> = parts.map(str::to_owned).collect();
    let code = ErrorCode::ALL[usize::from(selector) % ErrorCode::ALL.len()];
    let err = AuthError::new(code)
        .with_message(message.clone())
        .with_required_scopes(scopes.clone())
        .with_required_permissions(scopes.clone());
    let realm = (selector & 0x80 != 0).then_some(realm.as_str());
    match err.www_authenticate(realm) {
        Some(value) => {
            assert!(HeaderValue::from_bytes(value.as_bytes()).is_ok());
            assert!(value
                .as_bytes()
                .iter()
                .all(|b| *b == b'\t' || (*b >= 0x20 && *b != 0x7f)));
            assert!(value.as_bytes().starts_with(b"Bearer"));
        }
        None => assert_eq!(code.status().as_u16(), 503),
    }
    let response = ErrorResponse::new(&err, realm);
    assert_eq!(response.status, code.status());

    let mut challenge = Challenge::bearer(realm)
        .with_resource_metadata(&message)
        .with_scope_hint(&scopes);
    if selector & 0x40 != 0 {
        challenge = challenge.with_dpop(selector & 0x20 != 0, &[Algorithm::ES256]);
    }
    let err = err.with_scheme(if selector & 0x10 != 0 {
        Scheme::Dpop
    } else {
        Scheme::Bearer
    });
    let values = challenge.headers(&err);
    assert_eq!(values.is_empty(), code.status().as_u16() == 503);
    for value in &values {
        assert!(value
            .as_bytes()
            .iter()
            .all(|b| *b == b'\t' || (*b >= 0x20 && *b != 0x7f)));
    }
    let response = ErrorResponse::with_challenge(&err, &challenge);
    assert_eq!(response.status, code.status());
});
