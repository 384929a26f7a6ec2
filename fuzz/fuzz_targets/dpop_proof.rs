//! DPoP proof checks D1–D6 (SPEC-2 §5.3) on arbitrary `DPoP` header values: never panics,
//! every refusal is `invalid_dpop_proof` with one of its fixed messages, and the fast path
//! answers as the reference (`verifier_core::fuzzing::dpop_proof_target`, which the corpus
//! replay test of verifier-core runs too).
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| verifier_core::fuzzing::dpop_proof_target(data));
