//! `htu` normalisation and matching (SPEC-2 §5.4) on arbitrary strings: never panics,
//! the normal form is idempotent and always matches itself.
#![no_main]

use libfuzzer_sys::fuzz_target;
use verifier_core::fuzzing;

fuzz_target!(|data: &[u8]| {
    let Ok(input) = std::str::from_utf8(data) else {
        return;
    };
    if let Some(normal) = fuzzing::normalize_htu(input) {
        assert_eq!(fuzzing::normalize_htu(&normal).as_deref(), Some(normal.as_str()));
    }
    // The input as a request path behind a fixed base, and as a base URL.
    let _ = fuzzing::htu_matches("https://api.example.com/me", input, "https://api.example.com");
    let _ = fuzzing::htu_matches(input, "/me", "https://api.example.com/v1");
    let _ = fuzzing::htu_matches("https://api.example.com/me", "/me", input);
});
