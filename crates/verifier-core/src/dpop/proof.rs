//! The DPoP proof checks D1–D9 of SPEC-2 §5.3: a compact JWS with its own header rules,
//! verified with the public key it carries, then matched against the request and the
//! access token. All local: nothing here does I/O. Nonces (D10) are checked by the
//! caller, which knows the configuration.

use std::borrow::Cow;
use std::fmt;
use std::sync::Arc;

use aws_lc_rs::constant_time;
use aws_lc_rs::signature::ParsedPublicKey;
use http::{HeaderMap, Method};
use serde_json::{Map, Value};

use super::borrowed;
use super::htu::{self, BaseUrl};
use super::keycache::{ProofKey, ProofKeyCache};
use crate::alg::Algorithm;
use crate::error::{AuthError, ErrorCode};
use crate::keys::{self, Thumbprint};
use crate::token::parse_object;

/// The largest `DPoP` header value accepted, in bytes (D1).
pub(crate) const MAX_PROOF_BYTES: usize = 8 * 1024;
/// The longest `jti` accepted, in bytes (D6).
const MAX_JTI_BYTES: usize = 256;
/// Header members that would locate or constrain key material, or demand processing we
/// do not do (D2).
pub(super) const FORBIDDEN_HEADERS: [&str; 4] = ["jku", "x5u", "x5c", "crit"];

pub(crate) const MSG_MISSING: &str = "Missing DPoP proof";
pub(crate) const MSG_MULTIPLE: &str = "Multiple DPoP proofs";
pub(crate) const MSG_INVALID: &str = "Invalid DPoP proof";
pub(crate) const MSG_REQUEST: &str = "DPoP proof does not match the request";
pub(crate) const MSG_FRESH: &str = "DPoP proof is not fresh";
pub(crate) const MSG_TOKEN: &str = "DPoP proof does not match the access token";

/// What failed, for `Error::source` and `tracing` (never shown to clients; never holds
/// the proof, the token or key material).
#[derive(Debug)]
pub(crate) struct Detail(pub(crate) String);

impl fmt::Display for Detail {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for Detail {}

/// An `invalid_dpop_proof` error with a message of §5.9 and a detail for operators.
pub(crate) fn refuse(message: &'static str, detail: impl Into<String>) -> AuthError {
    let detail = detail.into();
    tracing::debug!(target: "oidc_jwt_verifier::dpop", reason = %detail, "{message}");
    AuthError::new(ErrorCode::InvalidDpopProof)
        .with_message(message)
        .with_source(Detail(detail))
}

fn invalid(detail: impl Into<String>) -> AuthError {
    refuse(MSG_INVALID, detail)
}

/// A proof that passed D1–D6 (structure, header, key, signature, claims). Nothing in
/// it has been compared with the request yet.
#[derive(Debug)]
pub(crate) struct ParsedProof {
    pub(crate) jkt: Thumbprint,
    pub(crate) jti: String,
    pub(crate) htm: String,
    pub(crate) htu: String,
    pub(crate) iat: f64,
    pub(crate) ath: Option<String>,
    pub(crate) nonce: Option<String>,
}

/// D1: the one `DPoP` field of the request, at most 8 KiB, three base64url segments
/// (checked before anything is decoded or allocated).
pub(crate) fn proof_field(headers: &HeaderMap) -> Result<&str, AuthError> {
    let mut fields = headers.get_all("dpop").iter();
    let Some(value) = fields.next() else {
        return Err(refuse(MSG_MISSING, "no DPoP header field"));
    };
    if fields.next().is_some() {
        return Err(refuse(MSG_MULTIPLE, "more than one DPoP header field"));
    }
    let bytes = value.as_bytes();
    if bytes.len() > MAX_PROOF_BYTES {
        return Err(invalid(format!(
            "DPoP header field of {} bytes is over {MAX_PROOF_BYTES}",
            bytes.len()
        )));
    }
    // One table lookup per byte, no branch: OR of the classes, and a count of dots.
    let (mut classes, mut dots) = (0u8, 0usize);
    for &b in bytes {
        let class = PROOF_BYTE[usize::from(b)];
        classes |= class;
        dots += usize::from(class == DOT);
    }
    if classes & BAD != 0 {
        return Err(invalid("DPoP header field is not three base64url segments"));
    }
    if dots != 2 {
        return Err(invalid("DPoP header field is not three segments"));
    }
    // ASCII: checked above.
    std::str::from_utf8(bytes).map_err(|_| invalid("DPoP header field is not ASCII"))
}

const DOT: u8 = 1;
const BAD: u8 = 2;

/// The class of each byte in a `DPoP` field: 0 for the base64url alphabet, [`DOT`],
/// else [`BAD`].
static PROOF_BYTE: [u8; 256] = {
    let mut table = [BAD; 256];
    let mut b = 0;
    while b < 256 {
        let c = b as u8;
        if c.is_ascii_alphanumeric() || c == b'-' || c == b'_' {
            table[b] = 0;
        }
        b += 1;
    }
    table[b'.' as usize] = DOT;
    table
};

/// Whether `typ` is `dpop+jwt`, ASCII-case-insensitively, with or without the
/// `application/` prefix (RFC 9449 §4.2, RFC 7515 §4.1.9).
fn is_dpop_typ(typ: &str) -> bool {
    let short = match typ.get(..12) {
        Some(prefix) if prefix.eq_ignore_ascii_case("application/") => &typ[12..],
        _ => typ,
    };
    short.eq_ignore_ascii_case("dpop+jwt")
}

/// The three segments of a proof (already through D1), none empty.
fn segments(compact: &str) -> Result<(&str, &str, &str), AuthError> {
    let mut parts = compact.splitn(3, '.');
    let (Some(h), Some(p), Some(s)) = (parts.next(), parts.next(), parts.next()) else {
        return Err(invalid("not three segments"));
    };
    if h.is_empty() || p.is_empty() || s.is_empty() {
        return Err(invalid("an empty segment"));
    }
    Ok((h, p, s))
}

fn decode(segment: &str, what: &str) -> Result<Vec<u8>, AuthError> {
    crate::b64::decode(segment.as_bytes()).map_err(|_| invalid(format!("{what} is not base64url")))
}

/// D2-D3 on the header segment `h`: the proof's `alg` and its `jwk` object.
fn header_checks(
    h: &str,
    dpop_algs: &[Algorithm],
) -> Result<(Algorithm, Map<String, Value>), AuthError> {
    // D2: the header, a JSON object without duplicate members, with the DPoP `typ` and
    // nothing that points at key material elsewhere.
    let mut header = parse_object(&decode(h, "header")?).map_err(|e| {
        invalid(format!(
            "header is not a JSON object without duplicates ({e})"
        ))
    })?;
    match header.get("typ") {
        Some(Value::String(t)) if is_dpop_typ(t) => {}
        Some(Value::String(_)) => return Err(invalid("typ is not dpop+jwt")),
        Some(_) => return Err(invalid("typ is not a string")),
        None => return Err(invalid("no typ")),
    }
    if let Some(name) = FORBIDDEN_HEADERS.iter().find(|m| header.contains_key(**m)) {
        return Err(invalid(format!("forbidden header member {name:?}")));
    }

    // D3: alg, exactly one of the configured names (never none or HS*: they are not
    // algorithms of this crate at all).
    let alg = match header.get("alg") {
        Some(Value::String(a)) => match Algorithm::from_name(a) {
            Some(alg) if dpop_algs.contains(&alg) => alg,
            _ => return Err(invalid("alg is not one of dpop_algs")),
        },
        _ => return Err(invalid("no alg string")),
    };

    // D4 (shape): the public key the proof carries.
    match header.remove("jwk") {
        Some(Value::Object(jwk)) => Ok((alg, jwk)),
        _ => Err(invalid("no jwk object")),
    }
}

/// D4: the proof's key and its thumbprint.
fn proof_key(jwk: &Map<String, Value>, alg: Algorithm) -> Result<ProofKey, AuthError> {
    let (key, jkt) = keys::parse_public_jwk(jwk, alg).map_err(|e| invalid(format!("jwk: {e}")))?;
    Ok(ProofKey { key, jkt })
}

/// D5: the signature of segments `h.p`, segment `s`, with `key`.
fn check_signature(
    compact: &str,
    (h, p, s): (&str, &str, &str),
    key: &ParsedPublicKey,
) -> Result<(), AuthError> {
    let signature = decode(s, "signature")?;
    let signing_input = &compact.as_bytes()[..h.len() + 1 + p.len()];
    key.verify_sig(signing_input, &signature)
        .map_err(|_| invalid("signature does not verify with the proof's jwk"))
}

/// D6 on the payload segment `p`.
fn payload_checks(p: &str, jkt: Thumbprint) -> Result<ParsedProof, AuthError> {
    let payload = parse_object(&decode(p, "payload")?).map_err(|e| {
        invalid(format!(
            "payload is not a JSON object without duplicates ({e})"
        ))
    })?;
    claims(payload, jkt)
}

/// D2–D6 on the proof `compact` (already through D1): the reference, with maps of the
/// header and payload and the key parsed every time (see [`parse_cached`]).
pub(crate) fn parse(compact: &str, dpop_algs: &[Algorithm]) -> Result<ParsedProof, AuthError> {
    let segments @ (h, p, _) = self::segments(compact)?;
    let (alg, jwk) = header_checks(h, dpop_algs)?;
    let key = proof_key(&jwk, alg)?;
    check_signature(compact, segments, &key.key)?;
    payload_checks(p, key.jkt)
}

/// Decodes base64url `segment` into `buf` when it fits; `None` when it does not, or is
/// not base64url (the reference then decides).
fn decode_into<'b>(segment: &str, buf: &'b mut [u8]) -> Option<&'b [u8]> {
    crate::b64::decode_slice(segment.as_bytes(), buf)?.ok()
}

/// [`parse`], with the same checks in the same order and the same outcome, but faster
/// for the usual proof: the header and payload are read by one borrowed pass each
/// ([`borrowed`]), and the key comes from `cache` when a proof with the same key
/// verified before. Whenever the borrowed pass is not sure, the reference's step runs
/// and decides (every refusal comes from it).
pub(crate) fn parse_cached(
    compact: &str,
    dpop_algs: &[Algorithm],
    cache: &ProofKeyCache,
) -> Result<ParsedProof, AuthError> {
    let segments @ (h, p, _) = self::segments(compact)?;
    let mut header_buf = [0u8; 1024];
    let Some((alg, parts)) =
        decode_into(h, &mut header_buf).and_then(|b| borrowed::header(b, dpop_algs, is_dpop_typ))
    else {
        // Nothing verified yet: the reference from the start costs only parsing.
        return parse(compact, dpop_algs);
    };
    let mut cache_key = parts.cache_key(alg);
    let cached = cache_key.as_deref().and_then(|k| cache.get(k));
    let hit = cached.is_some();
    let key = match cached {
        Some(key) => key,
        None => {
            // A key not seen yet: the reference's header checks and key parsing.
            let (checked_alg, jwk) = header_checks(h, dpop_algs)?;
            if checked_alg != alg {
                cache_key = None;
            }
            Arc::new(proof_key(&jwk, checked_alg)?)
        }
    };
    check_signature(compact, segments, &key.key)?;
    // Only a key that verified a signature takes room in the cache.
    if let (false, Some(k)) = (hit, cache_key.as_deref()) {
        cache.insert(k, key.clone());
    }
    let mut payload_buf = [0u8; 1024];
    let fast = decode_into(p, &mut payload_buf).and_then(|b| borrowed::claims(b, MAX_JTI_BYTES));
    match fast {
        Some(c) => Ok(ParsedProof {
            jkt: key.jkt.clone(),
            jti: c.jti.into_owned(),
            htm: c.htm.into_owned(),
            htu: c.htu.into_owned(),
            iat: c.iat,
            ath: c.ath.map(Cow::into_owned),
            nonce: c.nonce.map(Cow::into_owned),
        }),
        None => payload_checks(p, key.jkt.clone()),
    }
}

fn string_claim(payload: &mut Map<String, Value>, name: &str) -> Result<String, AuthError> {
    match payload.remove(name) {
        Some(Value::String(s)) => Ok(s),
        Some(_) => Err(invalid(format!("{name} is not a string"))),
        None => Err(invalid(format!("no {name}"))),
    }
}

fn optional_string_claim(
    payload: &mut Map<String, Value>,
    name: &str,
) -> Result<Option<String>, AuthError> {
    match payload.remove(name) {
        Some(Value::String(s)) => Ok(Some(s)),
        Some(_) => Err(invalid(format!("{name} is not a string"))),
        None => Ok(None),
    }
}

fn claims(mut payload: Map<String, Value>, jkt: Thumbprint) -> Result<ParsedProof, AuthError> {
    let jti = string_claim(&mut payload, "jti")?;
    if jti.is_empty() || jti.len() > MAX_JTI_BYTES {
        return Err(invalid(format!(
            "jti of {} bytes is not 1 to {MAX_JTI_BYTES}",
            jti.len()
        )));
    }
    let htm = string_claim(&mut payload, "htm")?;
    let htu = string_claim(&mut payload, "htu")?;
    let iat = match payload.get("iat") {
        Some(Value::Number(n)) => n
            .as_f64()
            .filter(|f| f.is_finite())
            .ok_or_else(|| invalid("iat is not a finite number"))?,
        Some(_) => return Err(invalid("iat is not a number")),
        None => return Err(invalid("no iat")),
    };
    let ath = optional_string_claim(&mut payload, "ath")?;
    let nonce = optional_string_claim(&mut payload, "nonce")?;
    Ok(ParsedProof {
        jkt,
        jti,
        htm,
        htu,
        iat,
        ath,
        nonce,
    })
}

impl ParsedProof {
    /// D7: `htm` is the request method (case-sensitive) and `htu` one of the expected
    /// URLs for `path`.
    pub(crate) fn check_request(
        &self,
        method: &Method,
        path: &str,
        bases: &[BaseUrl],
    ) -> Result<(), AuthError> {
        if self.htm != method.as_str() {
            return Err(refuse(
                MSG_REQUEST,
                format!("htm {:?} is not the method {method}", self.htm),
            ));
        }
        match htu::matches(&self.htu, path, bases) {
            Ok(true) => Ok(()),
            Ok(false) => Err(refuse(
                MSG_REQUEST,
                format!(
                    "htu {:?} is none of the public base URLs {:?} + path {path:?}",
                    self.htu,
                    bases.iter().map(BaseUrl::as_str).collect::<Vec<_>>()
                ),
            )),
            Err(e) => Err(refuse(
                MSG_REQUEST,
                format!("htu {:?} is not usable ({e})", self.htu),
            )),
        }
    }

    /// D8: `now − max_age ≤ iat ≤ now + leeway`, on whole seconds of wall time.
    pub(crate) fn check_fresh(
        &self,
        unix_now: f64,
        max_age_secs: f64,
        leeway_secs: f64,
    ) -> Result<(), AuthError> {
        let now = unix_now.floor();
        if self.iat < now - max_age_secs {
            return Err(refuse(
                MSG_FRESH,
                format!("iat {} is more than {max_age_secs} s old", self.iat),
            ));
        }
        if self.iat > now + leeway_secs {
            return Err(refuse(
                MSG_FRESH,
                format!(
                    "iat {} is more than {leeway_secs} s in the future",
                    self.iat
                ),
            ));
        }
        Ok(())
    }

    /// D9: `ath` is base64url(SHA-256(token)), compared in constant time.
    pub(crate) fn check_ath(&self, access_token: &str) -> Result<(), AuthError> {
        let Some(ath) = &self.ath else {
            return Err(refuse(MSG_TOKEN, "no ath"));
        };
        let expected = ath_of(access_token);
        constant_time::verify_slices_are_equal(ath.as_bytes(), expected.as_bytes())
            .map_err(|_| refuse(MSG_TOKEN, "ath is not the hash of the access token"))
    }
}

/// base64url(SHA-256(token)) (RFC 9449 §4.2).
pub(crate) fn ath_of(access_token: &str) -> String {
    let digest = aws_lc_rs::digest::digest(&aws_lc_rs::digest::SHA256, access_token.as_bytes());
    crate::b64::encode(digest.as_ref())
}

#[cfg(test)]
mod tests {
    use super::*;
    use http::HeaderValue;

    #[test]
    fn typ_forms() {
        for ok in [
            "dpop+jwt",
            "DPoP+JWT",
            "application/dpop+jwt",
            "Application/DPOP+jwt",
        ] {
            assert!(is_dpop_typ(ok), "{ok}");
        }
        for bad in [
            "",
            "JWT",
            "at+jwt",
            "dpop",
            "application/",
            "application/jwt",
            "x/dpop+jwt",
        ] {
            assert!(!is_dpop_typ(bad), "{bad}");
        }
        // Multi-byte characters at the cut do not panic.
        assert!(!is_dpop_typ("applicationé+jwt"));
    }

    #[test]
    fn field_rules() {
        let mut headers = HeaderMap::new();
        assert_eq!(proof_field(&headers).unwrap_err().message(), MSG_MISSING);
        headers.append("dpop", HeaderValue::from_static("a.b.c"));
        assert_eq!(proof_field(&headers).unwrap(), "a.b.c");
        headers.append("dpop", HeaderValue::from_static("a.b.c"));
        assert_eq!(proof_field(&headers).unwrap_err().message(), MSG_MULTIPLE);
        for bad in ["a.b", "a.b.c.d", "a.b.c, a.b.c", "a.b=.c", "a b.c.d"] {
            let mut headers = HeaderMap::new();
            headers.insert("dpop", HeaderValue::from_str(bad).unwrap());
            assert_eq!(
                proof_field(&headers).unwrap_err().message(),
                MSG_INVALID,
                "{bad}"
            );
        }
    }

    #[test]
    fn ath_is_sha256_base64url() {
        // RFC 9449 §7.1's example token and ath.
        assert_eq!(
            ath_of("Kz~8mXK1EalYznwH-LC-1fBAo.4Ljp~zsPE_NeO.gxU"),
            "fUHyO2r2Z3DZ53EsNrWBb0xWXoaNy59IiKCAqksmQEo"
        );
    }
}
