//! DP32 on stable Rust: the bodies of the `dpop_proof` and `htu` fuzz targets
//! (`verifier_core::fuzzing::{dpop_proof_target, htu_target}`, which fuzz/ runs under
//! libFuzzer for 10^8 executions, see fuzz/README.md) on their committed corpus and on
//! proofs and URLs made here: valid ones, and each member and byte broken in turn.
//! A broken invariant panics inside the body and fails the test.
//!
//! Likewise the `payload` target (step 7's one-pass reader against the map parser) and
//! the `header` target (step 3's one-pass reader against `serde_json`) on their corpus,
//! on every prefix, byte change and byte removal of it, on nesting around the depth limit
//! and on generated JSON.

use std::path::PathBuf;

use serde_json::json;
use verifier_core::fuzzing::{
    dpop_proof_target, header_target, htu_target, normalize_htu, parse_dpop_proof, payload_target,
};
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

/// Every prefix, one-byte change (to a byte that matters to JSON) and one-byte removal
/// of each seed, and the seeds.
fn json_mutations(seeds: &[Vec<u8>]) -> Vec<Vec<u8>> {
    let mut inputs = Vec::new();
    for seed in seeds {
        inputs.push(seed.clone());
        for end in 0..seed.len() {
            inputs.push(seed[..end].to_vec());
        }
        for at in 0..seed.len() {
            for b in *br#"" \{}[],:0-1.eE+nu/tx"# {
                let mut m = seed.clone();
                m[at] = b;
                inputs.push(m);
            }
            for b in [0x00, 0x1f, 0x7f, 0x80, 0xc3, 0xff, b'\t', b'\n'] {
                let mut m = seed.clone();
                m[at] = b;
                inputs.push(m);
            }
            let mut m = seed.clone();
            m.remove(at);
            inputs.push(m);
        }
    }
    inputs
}

/// Objects nested `depth` deep and arrays nested `depth` deep under one member, for
/// depths around the limit (127 levels, the top-level object included).
fn deep_json() -> Vec<Vec<u8>> {
    let mut inputs = Vec::new();
    for depth in 120..=130 {
        let arrays = format!(r#"{{"a":{}{}}}"#, "[".repeat(depth), "]".repeat(depth));
        let objects = format!(r#"{}1{}"#, r#"{"a":"#.repeat(depth), "}".repeat(depth));
        inputs.push(arrays.into_bytes());
        inputs.push(objects.into_bytes());
    }
    inputs
}

/// Member counts around the 64 names the readers tell apart by digest (past them, a
/// parser that keeps every name decides).
const MEMBER_COUNTS: [usize; 5] = [2, 63, 64, 65, 200];

/// One object of `prefix` and `n` distinct members `"<name><i>":<i>`, and that object with
/// the first, middle or last of them repeated at its end.
fn many_members(prefix: &str, name: &str, n: usize) -> (String, Vec<String>) {
    let members: Vec<String> = (0..n).map(|i| format!(r#""{name}{i}":{i}"#)).collect();
    let members = members.join(",");
    let repeated = [0, n / 2, n - 1]
        .iter()
        .map(|at| format!(r#"{{{prefix}{members},"{name}{at}":true}}"#))
        .collect();
    (format!("{{{prefix}{members}}}"), repeated)
}

/// Step 7's reader and the map parser agree on the committed payloads, on every prefix
/// and one-byte change of them (bytes that matter to JSON), and around the depth limit.
#[test]
fn payload_target_holds_on_its_corpus_and_on_broken_payloads() {
    let mut inputs = json_mutations(&corpus("payload"));
    inputs.extend(deep_json());
    // Few and many members: distinct names are accepted, a repeated one refused, wherever
    // it is.
    for n in MEMBER_COUNTS {
        let (distinct, repeated) = many_members("", "claim_", n);
        assert!(
            verifier_core::fuzzing::parse_payload(distinct.as_bytes()),
            "{n}"
        );
        inputs.push(distinct.into_bytes());
        for object in repeated {
            assert!(
                !verifier_core::fuzzing::parse_payload(object.as_bytes()),
                "{object}"
            );
            inputs.push(object.into_bytes());
        }
    }
    let mut accepted = 0;
    for input in &inputs {
        payload_target(input);
        accepted += usize::from(verifier_core::fuzzing::parse_payload(input));
    }
    // Both acceptance and refusal were exercised, the depth limit included.
    assert!(
        accepted > 1_000 && accepted < inputs.len() / 2,
        "{accepted} of {}",
        inputs.len()
    );
}

/// Step 3's reader and `serde_json` agree on the committed headers, on every prefix, byte
/// change and byte removal of them, around the depth limit, and with few and many members.
#[test]
fn header_target_holds_on_its_corpus_and_on_broken_headers() {
    let mut inputs = json_mutations(&corpus("header"));
    inputs.extend(deep_json());
    // Past the names the reader tells apart by digest (64), `serde_json` decides: distinct
    // names are accepted, a repeated one refused, wherever it is.
    for n in MEMBER_COUNTS {
        let (distinct, repeated) = many_members(r#""alg":"RS256","#, "h", n);
        assert!(header_target(distinct.as_bytes()), "{n}");
        let alg_again = format!(r#"{},"alg":"none"}}"#, &distinct[..distinct.len() - 1]);
        for object in repeated.iter().chain([&alg_again]) {
            assert!(!header_target(object.as_bytes()), "{object}");
        }
        inputs.push(distinct.into_bytes());
    }
    let accepted = inputs.iter().filter(|input| header_target(input)).count();
    // Both acceptance and refusal were exercised, the depth limit included.
    assert!(
        accepted > 500 && accepted < inputs.len() / 2,
        "{accepted} of {}",
        inputs.len()
    );
}

/// A small deterministic generator of JSON values (strings with escapes, numbers of every
/// form, nesting), as objects whose member names come from `names` or are generated.
struct Gen {
    state: u64,
    names: &'static [&'static str],
}

/// Member names for generated payloads: the registered claims, one spelled with an
/// escape, and another.
const PAYLOAD_NAMES: [&str; 14] = [
    "\"exp\"",
    "\"nbf\"",
    "\"iat\"",
    "\"iss\"",
    "\"aud\"",
    "\"sub\"",
    "\"jti\"",
    "\"azp\"",
    "\"cnf\"",
    "\"jkt\"",
    "\"client_id\"",
    "\"token_use\"",
    "\"s\\u0075b\"",
    "\"x\"",
];

/// Member names for generated headers: the ones step 3 reads or refuses, two spelled with
/// escapes, and others.
const HEADER_NAMES: [&str; 10] = [
    "\"alg\"",
    "\"kid\"",
    "\"typ\"",
    "\"jku\"",
    "\"x5u\"",
    "\"crit\"",
    "\"\\u0061lg\"",
    "\"k\\u0069d\"",
    "\"cty\"",
    "\"jwk\"",
];

impl Gen {
    fn new(state: u64, names: &'static [&'static str]) -> Gen {
        Gen { state, names }
    }

    fn next(&mut self, n: u64) -> u64 {
        // xorshift64*
        self.state ^= self.state >> 12;
        self.state ^= self.state << 25;
        self.state ^= self.state >> 27;
        (self.state.wrapping_mul(0x2545_f491_4f6c_dd1d) >> 32) % n
    }

    fn string(&mut self, out: &mut String) {
        const PIECES: [&str; 14] = [
            "a",
            "exp",
            "https://issuer.example/",
            "\\\"",
            "\\\\",
            "\\/",
            "\\n",
            "\\u0041",
            "\\ud83d\\ude00",
            "\\ud83d",
            "\\udc00",
            "é",
            "\u{1F600}",
            "jkt",
        ];
        out.push('"');
        for _ in 0..self.next(4) {
            out.push_str(PIECES[self.next(PIECES.len() as u64) as usize]);
        }
        out.push('"');
    }

    fn number(&mut self, out: &mut String) {
        const NUMBERS: [&str; 14] = [
            "0",
            "-0",
            "1796300000",
            "18446744073709551615",
            "18446744073709551616",
            "9999999999999999999",
            "-9223372036854775809",
            "1.5",
            "1e3",
            "1E-400",
            "1e400",
            "123456789012345678901234567890",
            "0.1e+1",
            "-12.5e2",
        ];
        out.push_str(NUMBERS[self.next(NUMBERS.len() as u64) as usize]);
    }

    fn value(&mut self, out: &mut String, depth: u32) {
        match self.next(if depth > 4 { 5 } else { 7 }) {
            0 => self.string(out),
            1 => self.number(out),
            2 => out.push_str("true"),
            3 => out.push_str("null"),
            4 => out.push_str("false"),
            5 => {
                out.push('[');
                for i in 0..self.next(4) {
                    if i > 0 {
                        out.push(',');
                    }
                    self.value(out, depth + 1);
                }
                out.push(']');
            }
            _ => self.object(out, depth + 1),
        }
    }

    fn object(&mut self, out: &mut String, depth: u32) {
        out.push('{');
        for i in 0..self.next(6) {
            if i > 0 {
                out.push(',');
            }
            if self.next(8) == 0 {
                self.string(out);
            } else {
                out.push_str(self.names[self.next(self.names.len() as u64) as usize]);
            }
            out.push_str(if self.next(4) == 0 { " : " } else { ":" });
            self.value(out, depth);
        }
        out.push('}');
    }
}

/// `total` objects from a generator seeded with `seed`, member names from `names`.
fn generated(seed: u64, names: &'static [&'static str], total: usize) -> Vec<String> {
    let mut generator = Gen::new(seed, names);
    (0..total)
        .map(|_| {
            let mut json = String::new();
            generator.object(&mut json, 1);
            json
        })
        .collect()
}

/// Step 7's reader and the map parser agree on generated payloads.
#[test]
fn payload_target_holds_on_generated_json() {
    let payloads = generated(0x9e37_79b9_7f4a_7c15, &PAYLOAD_NAMES, 20_000);
    let accepted = payloads
        .iter()
        .filter(|json| {
            payload_target(json.as_bytes());
            verifier_core::fuzzing::parse_payload(json.as_bytes())
        })
        .count();
    // Both acceptance and refusal were exercised.
    assert!(
        accepted > payloads.len() / 4 && accepted < payloads.len(),
        "{accepted} of {}",
        payloads.len()
    );
}

/// Step 3's reader and `serde_json` agree on generated headers.
#[test]
fn header_target_holds_on_generated_json() {
    let headers = generated(0x2545_f491_4f6c_dd1d, &HEADER_NAMES, 20_000);
    let accepted = headers
        .iter()
        .filter(|json| header_target(json.as_bytes()))
        .count();
    assert!(
        accepted > headers.len() / 4 && accepted < headers.len(),
        "{accepted} of {}",
        headers.len()
    );
}
