//! `Authorization` header parsing (docs/tower.md) on arbitrary header bytes: never panics; a
//! token is non-empty, without surrounding spaces, after a `Bearer` scheme; every
//! refusal is `missing_token`.
#![no_main]

use http::header::{HeaderMap, HeaderValue, AUTHORIZATION};
use libfuzzer_sys::fuzz_target;
use verifier_core::bearer::{bearer_from_headers, bearer_token};
use verifier_core::ErrorCode;

fuzz_target!(|data: &[u8]| {
    let Ok(value) = HeaderValue::from_bytes(data) else {
        return;
    };
    match bearer_token(&value) {
        Ok(token) => {
            assert!(!token.is_empty());
            assert!(!token.starts_with(' ') && !token.ends_with(' '));
            assert!(data[..6].eq_ignore_ascii_case(b"bearer") && data[6] == b' ');
        }
        Err(err) => assert_eq!(err.code(), ErrorCode::MissingToken),
    }
    let mut headers = HeaderMap::new();
    headers.insert(AUTHORIZATION, value.clone());
    match bearer_from_headers(&headers) {
        Ok(Some(token)) => assert_eq!(Ok(token), bearer_token(&value).map_err(|_| ())),
        Ok(None) => assert!(bearer_token(&value).is_err()),
        Err(err) => assert_eq!(err.code(), ErrorCode::MissingToken),
    }
});
