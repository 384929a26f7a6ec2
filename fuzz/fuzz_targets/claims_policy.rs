//! Claims policy (docs/security.md, pipeline steps 7, 11-12) on arbitrary payload bytes: never panics,
//! always a code of docs/errors.md.
#![no_main]

use std::sync::OnceLock;
use std::time::Duration;

use libfuzzer_sys::fuzz_target;
use verifier_core::{fuzzing, AuthConfig, ErrorCode};

fn configs() -> &'static [AuthConfig; 2] {
    static CONFIGS: OnceLock<[AuthConfig; 2]> = OnceLock::new();
    CONFIGS.get_or_init(|| {
        let base = || {
            AuthConfig::builder()
                .issuer("https://issuer.example/")
                .audiences(["https://api.example", "urn:second"])
                .jwks_url("https://issuer.example/jwks")
        };
        [
            base().build().unwrap(),
            base()
                .leeway(Duration::from_secs(30))
                .required_scopes(["read", "write"])
                .required_permissions(["p:1"])
                .build()
                .unwrap(),
        ]
    })
}

fuzz_target!(|data: &[u8]| {
    for config in configs() {
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
