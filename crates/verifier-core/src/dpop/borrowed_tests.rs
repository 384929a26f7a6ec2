//! The fast path against the reference on hostile proofs: same outcome, same values,
//! same refusal (code, message, detail), with the key cache cold and warm.

use aws_lc_rs::rand::SystemRandom;
use aws_lc_rs::signature::{EcdsaKeyPair, KeyPair as _, ECDSA_P256_SHA256_FIXED_SIGNING};

use super::super::keycache::ProofKeyCache;
use super::super::proof::{parse, parse_cached, ParsedProof};
use crate::alg::Algorithm;
use crate::error::AuthError;

struct Signer {
    pair: EcdsaKeyPair,
    rng: SystemRandom,
    x: String,
    y: String,
}

impl Signer {
    fn new() -> Signer {
        let rng = SystemRandom::new();
        let pkcs8 = EcdsaKeyPair::generate_pkcs8(&ECDSA_P256_SHA256_FIXED_SIGNING, &rng).unwrap();
        let pair =
            EcdsaKeyPair::from_pkcs8(&ECDSA_P256_SHA256_FIXED_SIGNING, pkcs8.as_ref()).unwrap();
        let point = pair.public_key().as_ref().to_vec();
        Signer {
            x: crate::b64::encode(&point[1..33]),
            y: crate::b64::encode(&point[33..65]),
            pair,
            rng,
        }
    }

    fn sign(&self, header: &str, payload: &str) -> String {
        let input = format!(
            "{}.{}",
            crate::b64::encode(header),
            crate::b64::encode(payload)
        );
        let sig = self.pair.sign(&self.rng, input.as_bytes()).unwrap();
        format!("{input}.{}", crate::b64::encode(sig.as_ref()))
    }
}

type Outcome = Result<
    (
        String,
        String,
        String,
        String,
        String,
        Option<String>,
        Option<String>,
    ),
    String,
>;

fn outcome(r: Result<ParsedProof, AuthError>) -> Outcome {
    match r {
        Ok(p) => Ok((
            p.jkt,
            p.jti,
            p.htm,
            p.htu,
            p.iat.to_string(),
            p.ath,
            p.nonce,
        )),
        Err(e) => Err(format!(
            "{} {} {}",
            e.code().as_str(),
            e.message(),
            std::error::Error::source(&e)
                .map(ToString::to_string)
                .unwrap_or_default()
        )),
    }
}

fn compare(cache: &ProofKeyCache, compact: &str, algs: &[Algorithm]) -> bool {
    let reference = outcome(parse(compact, algs));
    for round in 0..2 {
        let fast = outcome(parse_cached(compact, algs, cache));
        assert_eq!(fast, reference, "round {round}: {compact}");
    }
    reference.is_ok()
}

const PAYLOAD: &str = r#"{"jti":"j-1","htm":"GET","htu":"https://api.example.com/me","iat":1700000000,"ath":"fUHyO2r2Z3DZ53EsNrWBb0xWXoaNy59IiKCAqksmQEo"}"#;

#[test]
fn same_outcome_as_the_reference() {
    let s = Signer::new();
    let other = Signer::new();
    let (x, y) = (s.x.as_str(), s.y.as_str());
    let jwk = format!(r#"{{"kty":"EC","crv":"P-256","x":"{x}","y":"{y}"}}"#);
    let long = "a".repeat(1500);
    let headers = [
        format!(r#"{{"typ":"dpop+jwt","alg":"ES256","jwk":{jwk}}}"#),
        format!(r#"{{"typ":"application/DPoP+JWT","alg":"ES256","jwk":{jwk}}}"#),
        format!(r#"{{"typ":"dpop\u002bjwt","alg":"ES\u0032\u00356","jwk":{jwk}}}"#),
        format!(r#"{{"typ":"dpop+jwt","typ":"dpop+jwt","alg":"ES256","jwk":{jwk}}}"#),
        format!(r#"{{"typ":"dpop+jwt","alg":"ES256","jwk":{jwk},"jwk":{jwk}}}"#),
        format!(r#"{{"typ":"dpop+jwt","alg":"ES256","jwk":{jwk},"t\u0079p":"x"}}"#),
        format!(r#"{{"typ":"JWT","alg":"ES256","jwk":{jwk}}}"#),
        format!(r#"{{"typ":null,"alg":"ES256","jwk":{jwk}}}"#),
        format!(r#"{{"alg":"ES256","jwk":{jwk}}}"#),
        format!(r#"{{"typ":"dpop+jwt","alg":"RS256","jwk":{jwk}}}"#),
        format!(r#"{{"typ":"dpop+jwt","alg":"none","jwk":{jwk}}}"#),
        format!(r#"{{"typ":"dpop+jwt","alg":["ES256"],"jwk":{jwk}}}"#),
        format!(r#"{{"typ":"dpop+jwt","alg":"ES256","jwk":{jwk},"jku":"https://x"}}"#),
        format!(r#"{{"typ":"dpop+jwt","alg":"ES256","jwk":{jwk},"x5c":[]}}"#),
        format!(r#"{{"typ":"dpop+jwt","alg":"ES256","jwk":{jwk},"cri\u0074":[]}}"#),
        format!(r#"{{"typ":"dpop+jwt","alg":"ES256","jwk":"{x}"}}"#),
        r#"{"typ":"dpop+jwt","alg":"ES256"}"#.to_owned(),
        format!(
            r#"{{"typ":"dpop+jwt","alg":"ES256","jwk":{jwk},"n":{{"a":1,"a":[1e5,-0,true,null]}}}}"#
        ),
        format!(r#"{{"typ":"dpop+jwt","alg":"ES256","jwk":{jwk},"n":1e999}}"#),
        format!(r#"{{"typ":"dpop+jwt","alg":"ES256","jwk":{jwk},"n":"\ud800"}}"#),
        format!(r#"{{"typ":"dpop+jwt","alg":"ES256","jwk":{jwk}}} x"#),
        format!(r#" {{"typ":"dpop+jwt","alg":"ES256","jwk":{jwk}}} "#),
        format!(r#"{{"typ":"dpop+jwt","alg":"ES256","jwk":{jwk},"pad":"{long}"}}"#),
        format!(r#"[{{"typ":"dpop+jwt","alg":"ES256","jwk":{jwk}}}]"#),
        // The key's members: repeated (the last wins), escaped, extra, private.
        format!(
            r#"{{"typ":"dpop+jwt","alg":"ES256","jwk":{{"kty":"EC","crv":"P-256","x":"AAAA","x":"{x}","y":"{y}"}}}}"#
        ),
        format!(
            r#"{{"typ":"dpop+jwt","alg":"ES256","jwk":{{"kty":"EC","crv":"P-256","x":"{x}","x":"AAAA","y":"{y}"}}}}"#
        ),
        format!(
            r#"{{"typ":"dpop+jwt","alg":"ES256","jwk":{{"kty":"EC","crv":"P-256","\u0078":"{x}","y":"{y}"}}}}"#
        ),
        format!(
            r#"{{"typ":"dpop+jwt","alg":"ES256","jwk":{{"kty":"EC","crv":"P\u002d256","x":"{x}","y":"{y}"}}}}"#
        ),
        format!(
            r#"{{"typ":"dpop+jwt","alg":"ES256","jwk":{{"kty":"EC","crv":"P-256","x":"{x}","y":"{y}","kid":"k","use":"sig","n":5,"e":null}}}}"#
        ),
        format!(
            r#"{{"typ":"dpop+jwt","alg":"ES256","jwk":{{"kty":"EC","crv":"P-256","x":"{x}","y":"{y}","alg":"ES256"}}}}"#
        ),
        format!(
            r#"{{"typ":"dpop+jwt","alg":"ES256","jwk":{{"kty":"EC","crv":"P-256","x":"{x}","y":"{y}","alg":"ES384"}}}}"#
        ),
        format!(
            r#"{{"typ":"dpop+jwt","alg":"ES256","jwk":{{"kty":"EC","crv":"P-256","x":"{x}","y":"{y}","d":"AAAA"}}}}"#
        ),
        format!(
            r#"{{"typ":"dpop+jwt","alg":"ES256","jwk":{{"kty":"EC","crv":"P-256","x":"{x}","y":"{y}","\u0064":1}}}}"#
        ),
        format!(
            r#"{{"typ":"dpop+jwt","alg":"ES256","jwk":{{"kty":"EC","crv":"P-256","x":"{x}"}}}}"#
        ),
        format!(
            r#"{{"typ":"dpop+jwt","alg":"ES256","jwk":{{"kty":"EC","crv":"P-384","x":"{x}","y":"{y}"}}}}"#
        ),
        format!(
            r#"{{"typ":"dpop+jwt","alg":"ES256","jwk":{{"kty":"OKP","crv":"P-256","x":"{x}","y":"{y}"}}}}"#
        ),
        format!(
            r#"{{"typ":"dpop+jwt","alg":"ES256","jwk":{{"kty":"EC","crv":"P-256","x":"{y}","y":"{x}"}}}}"#
        ),
        // Another client's key: signature refused, and its key never cached.
        format!(
            r#"{{"typ":"dpop+jwt","alg":"ES256","jwk":{{"kty":"EC","crv":"P-256","x":"{}","y":"{}"}}}}"#,
            other.x, other.y
        ),
    ];
    let payloads = [
        PAYLOAD.to_owned(),
        r#"{"jti":"j","htm":"POST","htu":"https://a/b?c#d","iat":1.5e9,"nonce":"n-1"}"#.to_owned(),
        r#"{"jti":"j\u00e9","htm":"G\u0045T","htu":"h","iat":-3,"ath":"a","x":{"y":[1,{"z":null}]}}"#.to_owned(),
        r#"{"jti":"j","jti":"j","htm":"GET","htu":"h","iat":1}"#.to_owned(),
        r#"{"jti":"j","j\u0074i":"k","htm":"GET","htu":"h","iat":1}"#.to_owned(),
        r#"{"jti":"","htm":"GET","htu":"h","iat":1}"#.to_owned(),
        format!(r#"{{"jti":"{}","htm":"GET","htu":"h","iat":1}}"#, "j".repeat(256)),
        format!(r#"{{"jti":"{}","htm":"GET","htu":"h","iat":1}}"#, "j".repeat(257)),
        format!(r#"{{"jti":"j","htm":"GET","htu":"h","iat":1,"pad":"{long}"}}"#),
        r#"{"jti":5,"htm":"GET","htu":"h","iat":1}"#.to_owned(),
        r#"{"htm":"GET","htu":"h","iat":1}"#.to_owned(),
        r#"{"jti":"j","htm":null,"htu":"h","iat":1}"#.to_owned(),
        r#"{"jti":"j","htm":"GET","iat":1}"#.to_owned(),
        r#"{"jti":"j","htm":"GET","htu":"h","iat":"1"}"#.to_owned(),
        r#"{"jti":"j","htm":"GET","htu":"h"}"#.to_owned(),
        r#"{"jti":"j","htm":"GET","htu":"h","iat":1e999}"#.to_owned(),
        r#"{"jti":"j","htm":"GET","htu":"h","iat":18446744073709551615}"#.to_owned(),
        r#"{"jti":"j","htm":"GET","htu":"h","iat":1,"ath":null}"#.to_owned(),
        r#"{"jti":"j","htm":"GET","htu":"h","iat":1,"nonce":7}"#.to_owned(),
        r#"{"jti":"j","htm":"GET","htu":"h","iat":1} 1"#.to_owned(),
        r#"["jti"]"#.to_owned(),
        r#"{"jti":"j","htm":"GET","htu":"h","iat":1,"x":"\udc00"}"#.to_owned(),
    ];
    let algs = [Algorithm::ES256, Algorithm::EdDSA];
    let cache = ProofKeyCache::default();
    let mut accepted = 0;
    for header in &headers {
        accepted += usize::from(compare(&cache, &s.sign(header, PAYLOAD), &algs));
    }
    for payload in &payloads {
        accepted += usize::from(compare(&cache, &s.sign(&headers[0], payload), &algs));
    }
    // Proofs that are not three good segments.
    let good = s.sign(&headers[0], PAYLOAD);
    let (input, sig) = good.rsplit_once('.').unwrap();
    for bad in [
        format!("{input}.{}", &sig[1..]),
        format!("{input}.A{sig}"),
        format!("{input}."),
        format!("x{good}"),
        input.to_string(),
    ] {
        accepted += usize::from(compare(&cache, &bad, &algs));
    }
    assert!(accepted >= 12, "{accepted}");
    // Only the keys that verified a proof were kept: the signer's, in its forms.
    assert!(cache.len() >= 1 && cache.len() <= 8, "{}", cache.len());
    // With ES256 not allowed, a cached key does not help.
    compare(&cache, &good, &[Algorithm::EdDSA]);
}

/// Members a proof may have: the ones the checks read, in good and bad forms, and
/// others, so random objects mix them (duplicates included).
fn member_pool(x: &str, y: &str) -> Vec<String> {
    let jwk = |extra: &str| format!(r#"{{"kty":"EC","crv":"P-256","x":"{x}","y":"{y}"{extra}}}"#);
    vec![
        r#""typ":"dpop+jwt""#.to_owned(),
        r#""typ":"DPoP+jwt""#.to_owned(),
        r#""typ":"jwt""#.to_owned(),
        r#""typ":1"#.to_owned(),
        r#""alg":"ES256""#.to_owned(),
        r#""alg":"ES\u0032\u00356""#.to_owned(),
        r#""alg":"RS256""#.to_owned(),
        r#""alg":null"#.to_owned(),
        format!(r#""jwk":{}"#, jwk("")),
        format!(r#""jwk":{}"#, jwk(r#","x":"AAAA""#)),
        format!(r#""jwk":{}"#, jwk(r#","alg":"ES256""#)),
        format!(r#""jwk":{}"#, jwk(r#","alg":"EdDSA""#)),
        format!(r#""jwk":{}"#, jwk(r#","k":"AAAA""#)),
        format!(r#""jwk":{}"#, jwk(r#","kid":[1,{"a":2,"a":3}]"#)),
        format!(r#""jwk":{}"#, jwk(r#","e":1e999"#)),
        r#""jwk":[]"#.to_owned(),
        r#""jku":"https://x""#.to_owned(),
        r#""x5\u0063":[]"#.to_owned(),
        r#""jti":"j-1""#.to_owned(),
        r#""jti":"""#.to_owned(),
        r#""j\u0074i":"j-2""#.to_owned(),
        r#""htm":"GET""#.to_owned(),
        r#""htm":["GET"]"#.to_owned(),
        r#""htu":"https://api.example.com/me""#.to_owned(),
        r#""iat":1700000000"#.to_owned(),
        r#""iat":1.7e9"#.to_owned(),
        r#""iat":"1700000000""#.to_owned(),
        r#""iat":1e999"#.to_owned(),
        r#""ath":"abc""#.to_owned(),
        r#""ath":null"#.to_owned(),
        r#""nonce":"n""#.to_owned(),
        r#""nonce":false"#.to_owned(),
        r#""other":{"n":-0.0,"s":"\ud83d\ude00"}"#.to_owned(),
        r#""other":"\ud800""#.to_owned(),
        r#""\u00e9":"é""#.to_owned(),
    ]
}

proptest::proptest! {
    #![proptest_config(proptest::test_runner::Config::with_cases(1000))]

    /// Random headers and payloads drawn from the pool: the fast path and the
    /// reference agree on every one.
    #[test]
    fn random_proofs_agree(
        good_header in proptest::bool::weighted(0.8),
        header in proptest::collection::vec(0..35usize, 0..4),
        good_payload in proptest::bool::weighted(0.8),
        payload in proptest::collection::vec(0..35usize, 0..4),
    ) {
        use std::sync::OnceLock;
        static SIGNER: OnceLock<Signer> = OnceLock::new();
        static CACHE: OnceLock<ProofKeyCache> = OnceLock::new();
        let s = SIGNER.get_or_init(Signer::new);
        let pool = member_pool(&s.x, &s.y);
        // A good object (members 0, 4, 8 / 18, 21, 23, 24) with random members mixed in.
        let object = |good: bool, base: &[usize], picks: &[usize]| {
            let mut members: Vec<&str> = Vec::new();
            for (n, &i) in picks.iter().enumerate() {
                if good && n < base.len() {
                    members.push(&pool[base[n]]);
                }
                members.push(&pool[i]);
            }
            if good {
                members.extend(base.iter().skip(picks.len()).map(|&i| pool[i].as_str()));
            }
            format!("{{{}}}", members.join(","))
        };
        let compact = s.sign(
            &object(good_header, &[0, 4, 8], &header),
            &object(good_payload, &[18, 21, 23, 24], &payload),
        );
        compare(CACHE.get_or_init(ProofKeyCache::default), &compact, &[Algorithm::ES256]);
    }
}
