//! Claims policy (docs/security.md, pipeline steps 7, 11-12) on arbitrary payload bytes: never panics,
//! always a code of docs/errors.md.
#![no_main]

use libfuzzer_sys::fuzz_target;
use verifier_core::{fuzzing, ErrorCode};

fuzz_target!(|data: &[u8]| {
    for config in fuzzing::policy_configs() {
        if let Err(err) = fuzzing::validate_claims(data, config) {
            assert!(ErrorCode::ALL.contains(&err.code()));
            assert!(
                !matches!(
                    err.code(),
                    ErrorCode::JwksError | ErrorCode::JwksFetchFailed
                ),
                "{err:?}"
            );
        }
    }
});
