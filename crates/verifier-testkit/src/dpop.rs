//! DPoP proofs (RFC 9449 §4), including deliberately hostile ones.

use aws_lc_rs::digest;
use aws_lc_rs::rand::{SecureRandom as _, SystemRandom};
use serde_json::Value;

use crate::{b64, Alg, TestKey, TokenBuilder};

/// Builds DPoP proofs: compact JWS with header `{"typ": "dpop+jwt", "alg": key.alg(),
/// "jwk": <the key's public JWK>}` and claims `jti` (random), `htm` (`GET`), `htu`,
/// `iat` (now), signed with the key.
///
/// Every member can be replaced or removed, the header and payload can be raw bytes,
/// and the signature can come from another key or be any bytes, so tests can build
/// the hostile proofs a verifier must refuse. [`Clone`] a base to make variants.
///
/// ```
/// use serde_json::json;
/// use verifier_testkit::{Alg, DpopProof, TestIssuer, TestKey};
///
/// let issuer = TestIssuer::start();
/// let key = TestKey::generate(Alg::ES256, "dpop");
/// let token = issuer.token().cnf_jkt(&key).build();
/// let proof = DpopProof::new(&key)
///     .htm("POST")
///     .htu("https://api.example.com/orders")
///     .ath_for(&token)
///     .build();
/// assert_eq!(proof.split('.').count(), 3);
///
/// // A proof whose header carries a private key member.
/// let mut jwk = key.public_jwk();
/// jwk["d"] = json!("AAAA");
/// let hostile = DpopProof::new(&key).jwk(jwk).build();
/// # let _ = hostile;
/// ```
#[derive(Clone, Debug)]
pub struct DpopProof {
    inner: TokenBuilder,
}

/// 16 random bytes, base64url: a fresh `jti`.
fn random_jti() -> String {
    let mut bytes = [0u8; 16];
    SystemRandom::new()
        .fill(&mut bytes)
        .expect("the system random generator works");
    b64(&bytes)
}

/// The public JWK of `key` without `kid` and `use`: what a DPoP client sends.
fn proof_jwk(key: &TestKey) -> Value {
    let mut jwk = key.public_jwk();
    if let Some(map) = jwk.as_object_mut() {
        map.remove("kid");
        map.remove("use");
    }
    jwk
}

impl DpopProof {
    /// A valid proof skeleton for `key`: `htu` is empty until [`htu`](Self::htu) sets
    /// it, `htm` is `GET`, `iat` now, `jti` random; no `ath`, no `nonce`.
    pub fn new(key: &TestKey) -> DpopProof {
        let inner = TokenBuilder::new(key)
            .remove_header("kid")
            .typ("dpop+jwt")
            .header("jwk", proof_jwk(key))
            .claim("jti", Value::from(random_jti()))
            .claim("htm", Value::from("GET"))
            .claim("htu", Value::from(""))
            .claim("iat", Value::from(crate::now()));
        DpopProof { inner }
    }

    /// Sets `htm`, the request method (`"GET"`, or `"get"` for a hostile one).
    pub fn htm(self, method: &str) -> Self {
        self.claim("htm", Value::from(method))
    }

    /// Sets `htu`, the request URL (any string, for hostile ones).
    pub fn htu(self, url: &str) -> Self {
        self.claim("htu", Value::from(url))
    }

    /// Sets `iat` to these seconds since the epoch.
    pub fn iat(self, unix_secs: i64) -> Self {
        self.claim("iat", Value::from(unix_secs))
    }

    /// Sets `jti`.
    pub fn jti(self, jti: &str) -> Self {
        self.claim("jti", Value::from(jti))
    }

    /// Sets `ath` to base64url(SHA-256(`access_token`)), binding the proof to it.
    pub fn ath_for(self, access_token: &str) -> Self {
        let hash = digest::digest(&digest::SHA256, access_token.as_bytes());
        self.claim("ath", Value::from(b64(hash.as_ref())))
    }

    /// Sets `ath` to any string.
    pub fn ath(self, ath: &str) -> Self {
        self.claim("ath", Value::from(ath))
    }

    /// Sets `nonce`.
    pub fn nonce(self, nonce: &str) -> Self {
        self.claim("nonce", Value::from(nonce))
    }

    /// Sets the header `typ` (`dpop+jwt` by default).
    pub fn typ(self, typ: &str) -> Self {
        self.header("typ", Value::from(typ))
    }

    /// Sets the header `alg` (the key's algorithm by default). The signature follows
    /// it when the key supports that algorithm (see [`TokenBuilder::signing_alg`]).
    pub fn alg(self, alg: &str) -> Self {
        self.header("alg", Value::from(alg))
    }

    /// Sets the header `jwk` to any JSON value (another key's, one with private
    /// members, a symmetric one...).
    pub fn jwk(self, jwk: Value) -> Self {
        self.header("jwk", jwk)
    }

    /// Sets or replaces any header member (`jku`, `x5c`, `crit`, `kid`...).
    pub fn header(mut self, name: &str, value: Value) -> Self {
        self.inner = self.inner.header(name, value);
        self
    }

    /// Removes a header member.
    pub fn remove_header(mut self, name: &str) -> Self {
        self.inner = self.inner.remove_header(name);
        self
    }

    /// Sets or replaces any claim, with any JSON value (`iat` as a string, `jti` as a
    /// number...).
    pub fn claim(mut self, name: &str, value: Value) -> Self {
        self.inner = self.inner.claim(name, value);
        self
    }

    /// Removes a claim.
    pub fn remove_claim(mut self, name: &str) -> Self {
        self.inner = self.inner.remove_claim(name);
        self
    }

    /// Uses these exact bytes as the header (duplicate members, not JSON...).
    pub fn raw_header(mut self, json: impl Into<Vec<u8>>) -> Self {
        self.inner = self.inner.raw_header(json);
        self
    }

    /// Uses these exact bytes as the payload.
    pub fn raw_payload(mut self, bytes: impl Into<Vec<u8>>) -> Self {
        self.inner = self.inner.raw_payload(bytes);
        self
    }

    /// Signs with another key (the header `jwk` stays this key's).
    pub fn signing_key(mut self, key: &TestKey) -> Self {
        self.inner = self.inner.signing_key(key);
        self
    }

    /// Signs with this algorithm whatever the header says.
    pub fn signing_alg(mut self, alg: Alg) -> Self {
        self.inner = self.inner.signing_alg(alg);
        self
    }

    /// Uses these raw bytes as the signature.
    pub fn signature(mut self, bytes: impl Into<Vec<u8>>) -> Self {
        self.inner = self.inner.signature(bytes);
        self
    }

    /// The compact serialization, the value of a `DPoP` header field.
    ///
    /// # Panics
    ///
    /// As [`TokenBuilder::build`]: when a signature must be computed with an
    /// algorithm the signing key does not support.
    pub fn build(&self) -> String {
        self.inner.build()
    }
}
