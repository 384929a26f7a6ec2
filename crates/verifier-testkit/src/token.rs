//! Compact JWS construction, including deliberately malformed tokens.

use serde_json::{Map, Value};

use crate::{b64, Alg, TestKey};

/// Builds compact JWS tokens (`header.payload.signature`), including
/// deliberately malformed ones.
///
/// Every method takes and returns the builder by value, so calls chain; the
/// builder is [`Clone`], so one base can produce many variants. Nothing is
/// validated: the point is to produce whatever a test needs.
///
/// ```
/// use serde_json::json;
/// use verifier_testkit::{Alg, TestKey, TokenBuilder};
///
/// let key = TestKey::generate(Alg::ES256, "ec-1");
/// let token = TokenBuilder::new(&key)
///     .claim("sub", json!("alice"))
///     .claim("exp", json!(4_000_000_000i64))
///     .build();
/// assert_eq!(token.split('.').count(), 3);
///
/// // An `alg: none` token with an empty signature.
/// let none = TokenBuilder::new(&key)
///     .header("alg", json!("none"))
///     .signature(Vec::new())
///     .build();
/// assert!(none.ends_with('.'));
/// ```
#[derive(Clone, Debug)]
pub struct TokenBuilder {
    key: TestKey,
    header: Map<String, Value>,
    raw_header: Option<Vec<u8>>,
    payload: Value,
    raw_payload: Option<Vec<u8>>,
    signing_alg: Option<Alg>,
    signing_key: Option<TestKey>,
    signature: SignatureMode,
}

#[derive(Clone, Debug)]
enum SignatureMode {
    Sign,
    Der,
    Raw(Vec<u8>),
}

impl TokenBuilder {
    /// A builder for `key` with header `{"alg": key.alg(), "typ": "JWT",
    /// "kid": key.kid()}` and an empty claims object.
    ///
    /// ```
    /// use verifier_testkit::{Alg, TestKey, TokenBuilder};
    ///
    /// let key = TestKey::generate(Alg::EdDSA, "ed");
    /// let token = TokenBuilder::new(&key).build();
    /// let payload = token.split('.').nth(1).unwrap();
    /// assert_eq!(payload, "e30"); // base64url of "{}"
    /// ```
    pub fn new(key: &TestKey) -> TokenBuilder {
        let mut header = Map::new();
        header.insert("alg".to_owned(), Value::from(key.alg().as_str()));
        header.insert("typ".to_owned(), Value::from("JWT"));
        header.insert("kid".to_owned(), Value::from(key.kid()));
        TokenBuilder {
            key: key.clone(),
            header,
            raw_header: None,
            payload: Value::Object(Map::new()),
            raw_payload: None,
            signing_alg: None,
            signing_key: None,
            signature: SignatureMode::Sign,
        }
    }

    /// Sets or replaces a header member, with any JSON value (`null`,
    /// numbers, arrays, ...). Ignored while a [`raw_header`](Self::raw_header)
    /// is set.
    ///
    /// ```
    /// use serde_json::json;
    /// use verifier_testkit::{Alg, TestKey, TokenBuilder};
    ///
    /// let key = TestKey::generate(Alg::RS256, "r");
    /// let token = TokenBuilder::new(&key)
    ///     .header("crit", json!(["exp"]))
    ///     .header("kid", json!(42))
    ///     .build();
    /// # let _ = token;
    /// ```
    pub fn header(mut self, name: &str, value: Value) -> Self {
        self.header.insert(name.to_owned(), value);
        self
    }

    /// Sets the `typ` header (sugar for `header("typ", json!(typ))`), e.g.
    /// `"at+jwt"` for an RFC 9068 access token. The default is `"JWT"`.
    ///
    /// ```
    /// use verifier_testkit::{Alg, TestKey, TokenBuilder};
    ///
    /// let key = TestKey::generate(Alg::RS256, "r");
    /// let token = TokenBuilder::new(&key).typ("at+jwt").build();
    /// # let _ = token;
    /// ```
    pub fn typ(self, typ: &str) -> Self {
        self.header("typ", Value::from(typ))
    }

    /// Sets the `cnf` claim to `{"jkt": key.thumbprint()}` (RFC 9449 §6.1): the
    /// token is bound to `key`, e.g. the key a DPoP proof is signed with.
    ///
    /// ```
    /// use verifier_testkit::{Alg, TestIssuer, TestKey};
    ///
    /// let issuer = TestIssuer::start();
    /// let proof_key = TestKey::generate(Alg::ES256, "dpop");
    /// let token = issuer.token().cnf_jkt(&proof_key).build();
    /// # let _ = token;
    /// ```
    pub fn cnf_jkt(self, key: &TestKey) -> Self {
        let mut cnf = Map::new();
        cnf.insert("jkt".to_owned(), Value::from(key.thumbprint()));
        self.claim("cnf", Value::Object(cnf))
    }

    /// Removes a header member (e.g. `kid` or `alg`).
    ///
    /// ```
    /// use verifier_testkit::{Alg, TestKey, TokenBuilder};
    ///
    /// let key = TestKey::generate(Alg::ES256, "e");
    /// let token = TokenBuilder::new(&key).remove_header("kid").build();
    /// # let _ = token;
    /// ```
    pub fn remove_header(mut self, name: &str) -> Self {
        self.header.remove(name);
        self
    }

    /// Uses these exact bytes as the header (base64url-encoded as given),
    /// e.g. JSON with duplicate members, a JSON array, or not JSON at all.
    /// Takes precedence over [`header`](Self::header) edits.
    ///
    /// ```
    /// use verifier_testkit::{Alg, TestKey, TokenBuilder};
    ///
    /// let key = TestKey::generate(Alg::RS256, "r");
    /// let token = TokenBuilder::new(&key)
    ///     .raw_header(r#"{"alg":"RS256","alg":"none"}"#)
    ///     .build();
    /// # let _ = token;
    /// ```
    pub fn raw_header(mut self, json: impl Into<Vec<u8>>) -> Self {
        self.raw_header = Some(json.into());
        self
    }

    /// Sets or replaces a claim. If the payload is currently not a JSON
    /// object (see [`claims`](Self::claims)), it is first replaced by an
    /// empty object. Ignored while a [`raw_payload`](Self::raw_payload) is set.
    ///
    /// ```
    /// use serde_json::json;
    /// use verifier_testkit::{Alg, TestKey, TokenBuilder};
    ///
    /// let key = TestKey::generate(Alg::RS256, "r");
    /// let token = TokenBuilder::new(&key)
    ///     .claim("aud", json!(["a", "b"]))
    ///     .build();
    /// # let _ = token;
    /// ```
    pub fn claim(mut self, name: &str, value: Value) -> Self {
        if !self.payload.is_object() {
            self.payload = Value::Object(Map::new());
        }
        if let Value::Object(map) = &mut self.payload {
            map.insert(name.to_owned(), value);
        }
        self
    }

    /// Removes a claim (no effect if the payload is not an object).
    ///
    /// ```
    /// use verifier_testkit::TestIssuer;
    ///
    /// let issuer = TestIssuer::start();
    /// let token_without_exp = issuer.token().remove_claim("exp").build();
    /// # let _ = token_without_exp;
    /// ```
    pub fn remove_claim(mut self, name: &str) -> Self {
        if let Value::Object(map) = &mut self.payload {
            map.remove(name);
        }
        self
    }

    /// Replaces the whole payload with any JSON value, even a non-object
    /// (e.g. `json!([1, 2])` or `json!("x")`). Clears a previous
    /// [`raw_payload`](Self::raw_payload).
    ///
    /// ```
    /// use serde_json::json;
    /// use verifier_testkit::{Alg, TestKey, TokenBuilder};
    ///
    /// let key = TestKey::generate(Alg::RS256, "r");
    /// let token = TokenBuilder::new(&key).claims(json!([1, 2])).build();
    /// assert_eq!(token.split('.').nth(1).unwrap(), "WzEsMl0");
    /// ```
    pub fn claims(mut self, value: Value) -> Self {
        self.payload = value;
        self.raw_payload = None;
        self
    }

    /// Uses these exact bytes as the payload (base64url-encoded as given).
    /// Takes precedence over [`claim`](Self::claim) edits.
    ///
    /// ```
    /// use verifier_testkit::{Alg, TestKey, TokenBuilder};
    ///
    /// let key = TestKey::generate(Alg::RS256, "r");
    /// let token = TokenBuilder::new(&key).raw_payload(&b"not json"[..]).build();
    /// assert_eq!(token.split('.').nth(1).unwrap(), "bm90IGpzb24");
    /// ```
    pub fn raw_payload(mut self, bytes: impl Into<Vec<u8>>) -> Self {
        self.raw_payload = Some(bytes.into());
        self
    }

    /// Signs with this algorithm whatever the header says.
    ///
    /// By default the signing algorithm is the header's `alg` if it is a
    /// string naming an [`Alg`] that the signing key supports (see
    /// [`TestKey::supports`]), and otherwise the signing key's own
    /// [`alg`](TestKey::alg). So `.header("alg", json!("PS256"))` on an RSA
    /// key signs with PS256, while `.header("alg", json!("ES256"))` on an RSA
    /// key produces an ES256-labelled token carrying an RS256 signature.
    ///
    /// ```
    /// use serde_json::json;
    /// use verifier_testkit::{Alg, TestKey, TokenBuilder};
    ///
    /// let key = TestKey::generate(Alg::RS256, "r");
    /// // Header says RS256, signature is PS256.
    /// let token = TokenBuilder::new(&key).signing_alg(Alg::PS256).build();
    /// # let _ = token;
    /// ```
    ///
    /// [`build`](Self::build) panics if the signing key does not support it.
    pub fn signing_alg(mut self, alg: Alg) -> Self {
        self.signing_alg = Some(alg);
        self
    }

    /// Signs with another key; the header (including `kid`) is unchanged,
    /// which gives a "right kid, wrong key" token.
    ///
    /// ```
    /// use verifier_testkit::{Alg, TestIssuer, TestKey};
    ///
    /// let issuer = TestIssuer::start();
    /// let attacker = TestKey::generate(Alg::RS256, "attacker");
    /// let forged = issuer.token().signing_key(&attacker).build();
    /// # let _ = forged;
    /// ```
    pub fn signing_key(mut self, key: &TestKey) -> Self {
        self.signing_key = Some(key.clone());
        self
    }

    /// Uses these raw bytes as the signature instead of signing (an empty
    /// vector gives a token ending in `.`).
    ///
    /// ```
    /// use verifier_testkit::{Alg, TestKey, TokenBuilder};
    ///
    /// let key = TestKey::generate(Alg::ES256, "e");
    /// let token = TokenBuilder::new(&key).signature(vec![0u8; 64]).build();
    /// # let _ = token;
    /// ```
    pub fn signature(mut self, bytes: impl Into<Vec<u8>>) -> Self {
        self.signature = SignatureMode::Raw(bytes.into());
        self
    }

    /// Signs with an ECDSA signature in ASN.1 DER form instead of the JWS
    /// `r || s` form ([`TestKey::sign_der`]).
    ///
    /// ```
    /// use verifier_testkit::{Alg, TestKey, TokenBuilder};
    ///
    /// let key = TestKey::generate(Alg::ES384, "e");
    /// let token = TokenBuilder::new(&key).der_signature().build();
    /// # let _ = token;
    /// ```
    ///
    /// [`build`](Self::build) panics if the signing key is not an EC key.
    pub fn der_signature(mut self) -> Self {
        self.signature = SignatureMode::Der;
        self
    }

    /// The compact serialization: base64url (no padding) header, `.`,
    /// payload, `.`, signature; the signing input is the first two segments
    /// joined by `.`.
    ///
    /// ```
    /// use base64::Engine as _;
    /// use base64::engine::general_purpose::URL_SAFE_NO_PAD;
    /// use verifier_testkit::{Alg, TestKey, TokenBuilder};
    ///
    /// let key = TestKey::generate(Alg::ES256, "e");
    /// let token = TokenBuilder::new(&key).build();
    /// let header: serde_json::Value =
    ///     serde_json::from_slice(&URL_SAFE_NO_PAD.decode(token.split('.').next().unwrap()).unwrap())
    ///         .unwrap();
    /// assert_eq!(header["alg"], "ES256");
    /// assert_eq!(header["typ"], "JWT");
    /// assert_eq!(header["kid"], "e");
    /// ```
    ///
    /// # Panics
    ///
    /// If a signature must be computed with an algorithm the signing key does
    /// not support.
    pub fn build(&self) -> String {
        let header_bytes = match &self.raw_header {
            Some(raw) => raw.clone(),
            None => serde_json::to_vec(&self.header).expect("JSON serialization"),
        };
        let payload_bytes = match &self.raw_payload {
            Some(raw) => raw.clone(),
            None => serde_json::to_vec(&self.payload).expect("JSON serialization"),
        };
        let mut token = b64(&header_bytes);
        token.push('.');
        token.push_str(&b64(&payload_bytes));

        let signature = match &self.signature {
            SignatureMode::Raw(bytes) => bytes.clone(),
            SignatureMode::Sign => {
                let key = self.effective_signing_key();
                key.sign(self.effective_signing_alg(key), token.as_bytes())
            }
            SignatureMode::Der => {
                let key = self.effective_signing_key();
                key.sign_der(self.effective_signing_alg(key), token.as_bytes())
            }
        };
        token.push('.');
        token.push_str(&b64(&signature));
        token
    }

    fn effective_signing_key(&self) -> &TestKey {
        self.signing_key.as_ref().unwrap_or(&self.key)
    }

    fn effective_signing_alg(&self, key: &TestKey) -> Alg {
        if let Some(alg) = self.signing_alg {
            return alg;
        }
        let header_alg = match &self.raw_header {
            Some(raw) => serde_json::from_slice::<Value>(raw).ok().and_then(|v| {
                v.get("alg")
                    .and_then(Value::as_str)
                    .and_then(Alg::from_name)
            }),
            None => self
                .header
                .get("alg")
                .and_then(Value::as_str)
                .and_then(Alg::from_name),
        };
        match header_alg {
            Some(alg) if key.supports(alg) => alg,
            _ => key.alg(),
        }
    }
}
