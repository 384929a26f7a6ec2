//! Token parser (docs/security.md, pipeline steps 1-7) on arbitrary bytes: never panics, always a parse-step
//! error code (or a structurally valid token).
#![no_main]

use libfuzzer_sys::fuzz_target;
use verifier_core::{fuzzing, Algorithm, ErrorCode};

const PARSE_CODES: [ErrorCode; 5] = [
    ErrorCode::MissingToken,
    ErrorCode::MalformedToken,
    ErrorCode::ForbiddenHeader,
    ErrorCode::DisallowedAlg,
    ErrorCode::MissingKid,
];

fuzz_target!(|data: &[u8]| {
    for max in [64, 16 * 1024] {
        if let Err(err) = fuzzing::parse_token(data, max, Algorithm::ALL) {
            assert!(PARSE_CODES.contains(&err.code()), "{err:?}");
            assert!(err.www_authenticate(Some("api")).is_some());
        }
    }
    // The CLI's unverified decoder sees the same input.
    let _ = verifier_core::decode_unverified(data);
});
