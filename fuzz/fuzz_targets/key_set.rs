//! Key-set parser (docs/jwks-lifecycle.md) on arbitrary documents: never panics; a usable-key
//! count within bounds (zero for a well-formed set with no usable key), or `jwks_error`.
#![no_main]

use std::sync::OnceLock;

use libfuzzer_sys::fuzz_target;
use verifier_core::{fuzzing, Algorithm, AuthConfig, ErrorCode};

fn configs() -> &'static [AuthConfig; 2] {
    static CONFIGS: OnceLock<[AuthConfig; 2]> = OnceLock::new();
    CONFIGS.get_or_init(|| {
        let base = || {
            AuthConfig::builder()
                .issuer("https://issuer.example/")
                .audience("https://api.example")
                .jwks_url("https://issuer.example/jwks")
        };
        [
            base().allowed_algs(Algorithm::ALL.iter().copied()).build().unwrap(),
            base()
                .allowed_algs([Algorithm::RS256])
                .enforce_minimum_key_length(false)
                .jwks_max_cached_keys(2)
                .build()
                .unwrap(),
        ]
    })
}

fuzz_target!(|data: &[u8]| {
    for config in configs() {
        match fuzzing::parse_key_set(data, config) {
            Ok(n) => assert!(n <= config.jwks_max_cached_keys(), "{n}"),
            Err(err) => assert_eq!(err.code(), ErrorCode::JwksError, "{err}"),
        }
    }
});
