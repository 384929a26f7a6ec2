//! DPoP proof checks D1–D6 (SPEC-2 §5.3) on arbitrary `DPoP` header values: never panics,
//! every refusal is `invalid_dpop_proof` with one of its fixed messages.
#![no_main]

use libfuzzer_sys::fuzz_target;
use verifier_core::{fuzzing, Algorithm, ErrorCode};

const MESSAGES: [&str; 3] = [
    "Invalid DPoP proof",
    "Missing DPoP proof",
    "Multiple DPoP proofs",
];

fuzz_target!(|data: &[u8]| {
    if let Err(err) = fuzzing::parse_dpop_proof(data, Algorithm::ALL) {
        assert_eq!(err.code(), ErrorCode::InvalidDpopProof, "{err:?}");
        assert!(MESSAGES.contains(&err.message()), "{err:?}");
    }
    // The verifiers' fast path (borrowed pass, proof-key cache cold and warm) answers
    // exactly as the reference.
    let [reference, cold, warm] = fuzzing::parse_dpop_proof_all(data, Algorithm::ALL);
    assert_eq!(reference, cold);
    assert_eq!(reference, warm);
});
