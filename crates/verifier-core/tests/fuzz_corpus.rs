//! DP32 on stable Rust: the bodies of the `dpop_proof` and `htu` fuzz targets
//! (`verifier_core::fuzzing::{dpop_proof_target, htu_target}`, which fuzz/ runs under
//! libFuzzer for 10^8 executions, see fuzz/README.md) on their committed corpus and on
//! proofs and URLs made here: valid ones, and each member and byte broken in turn.
//! A broken invariant panics inside the body and fails the test.

use std::path::PathBuf;

use serde_json::json;
use verifier_core::fuzzing::{dpop_proof_target, htu_target, normalize_htu, parse_dpop_proof};
use verifier_core::Algorithm;
use verifier_testkit::{Alg, DpopProof, TestKey};

fn corpus(target: &str) -> Vec<Vec<u8>> {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../../fuzz/corpus")
        .join(target);
    let inputs: Vec<Vec<u8>> = std::fs::read_dir(&dir)
        .unwrap_or_else(|e| panic!("{}: {e}", dir.display()))
        .map(|entry| std::fs::read(entry.unwrap().path()).unwrap())
        .collect();
    assert!(!inputs.is_empty(), "no corpus in {}", dir.display());
    inputs
}

/// Every prefix and every one-byte change (to a byte that matters to a parser) of `input`.
fn mutations(input: &[u8]) -> Vec<Vec<u8>> {
    let mut out = Vec::new();
    for end in 0..input.len() {
        out.push(input[..end].to_vec());
    }
    for at in 0..input.len() {
        for b in [
            b'.', b'%', b'"', b'\\', b'/', b':', b'@', b' ', b'A', 0x00, 0xc3, 0xff,
        ] {
            let mut m = input.to_vec();
            m[at] = b;
            out.push(m);
        }
    }
    out
}

// DP32
#[test]
fn dp32_dpop_proof_target_holds_on_its_corpus_and_on_broken_proofs() {
    let mut inputs = corpus("dpop_proof");
    let mut valid = 0;
    for alg in [Alg::ES256, Alg::RS256, Alg::EdDSA] {
        let key = TestKey::generate(alg, "client");
        let proof = DpopProof::new(&key)
            .htm("POST")
            .htu("https://api.example.com/me")
            .ath_for("token");
        for p in [
            proof.clone(),
            proof
                .clone()
                .header("jwk", json!({"kty": "oct", "k": "AAAA"})),
            proof.clone().claim("iat", json!("soon")),
            proof.clone().claim("htu", json!(["a"])),
            proof.clone().typ("jwt"),
            proof.clone().alg("none"),
            proof.clone().remove_claim("jti"),
        ] {
            let built = p.build();
            valid += usize::from(parse_dpop_proof(built.as_bytes(), Algorithm::ALL).is_ok());
            inputs.push(built.into_bytes());
        }
    }
    // The three untouched proofs pass D1–D6 (the rest are refused), so the fast path was
    // compared with the reference on accepted proofs too.
    assert_eq!(valid, 3);
    let seeds = inputs.clone();
    for seed in &seeds[seeds.len() - 3..] {
        inputs.extend(mutations(&seed[..seed.len().min(200)]));
    }
    for input in &inputs {
        dpop_proof_target(input);
    }
}

// DP32
#[test]
fn dp32_htu_target_holds_on_its_corpus_and_on_broken_urls() {
    let mut inputs = corpus("htu");
    for url in [
        "https://api.example.com/v1/me",
        "HTTPS://xn--bcher-kva.Example:0443/a/./b/../%7e%2f?q#f",
        "http://[0:0:0:0:0:0:0:1]:8080/%41",
        "https://b\u{fc}cher.example/\u{e9}",
    ] {
        inputs.push(url.as_bytes().to_vec());
        inputs.extend(mutations(url.as_bytes()));
    }
    let normalised = inputs
        .iter()
        .filter(|i| {
            std::str::from_utf8(i)
                .ok()
                .and_then(normalize_htu)
                .is_some()
        })
        .count();
    // Both accepted and refused forms were exercised.
    assert!(
        normalised > 100 && normalised < inputs.len(),
        "{normalised} of {}",
        inputs.len()
    );
    for input in &inputs {
        htu_target(input);
    }
}
