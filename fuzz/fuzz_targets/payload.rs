//! Step 7's one-pass payload reader against the map parser on arbitrary bytes: same
//! acceptance, same registered claims, same policy outcome
//! (`verifier_core::fuzzing::payload_target`, which the corpus replay test of
//! verifier-core runs too).
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| verifier_core::fuzzing::payload_target(data));
