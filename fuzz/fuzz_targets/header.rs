//! Step 3's one-pass header reader against the `serde_json` reader it replaced, on
//! arbitrary bytes: same acceptance, same `alg`, `kid`, `typ` and forbidden member
//! (`verifier_core::fuzzing::header_target`, which the corpus replay test of
//! verifier-core runs too).
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    verifier_core::fuzzing::header_target(data);
});
