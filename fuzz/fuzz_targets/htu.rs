//! `htu` normalisation and matching (SPEC-2 §5.4) on arbitrary strings: never panics,
//! the normal form is idempotent (`verifier_core::fuzzing::htu_target`, which the corpus
//! replay test of verifier-core runs too).
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| verifier_core::fuzzing::htu_target(data));
