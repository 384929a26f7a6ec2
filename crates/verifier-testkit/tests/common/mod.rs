//! Helpers shared by the integration tests: JWK-based signature
//! verification with aws-lc-rs, and a plain std HTTP client.

#![allow(dead_code)]

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::time::Duration;

use aws_lc_rs::signature::{self, RsaPublicKeyComponents, UnparsedPublicKey};
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine as _;
use serde_json::Value;
use verifier_testkit::Alg;

pub fn unb64(s: &str) -> Vec<u8> {
    URL_SAFE_NO_PAD
        .decode(s)
        .unwrap_or_else(|e| panic!("bad base64url {s:?}: {e}"))
}

fn member(jwk: &Value, name: &str) -> Vec<u8> {
    unb64(
        jwk[name]
            .as_str()
            .unwrap_or_else(|| panic!("JWK member {name} missing: {jwk}")),
    )
}

/// Verifies a JWS signature using only the public JWK, the way a verifier
/// would. `Err` if the signature is invalid.
pub fn verify_with_jwk(jwk: &Value, alg: Alg, message: &[u8], sig: &[u8]) -> Result<(), String> {
    let result = match jwk["kty"].as_str() {
        Some("RSA") => {
            let n = member(jwk, "n");
            let e = member(jwk, "e");
            let params = match (alg, n.len() * 8) {
                (Alg::RS256, 1024) => &signature::RSA_PKCS1_1024_8192_SHA256_FOR_LEGACY_USE_ONLY,
                (Alg::RS512, 1024) => &signature::RSA_PKCS1_1024_8192_SHA512_FOR_LEGACY_USE_ONLY,
                (Alg::RS256, _) => &signature::RSA_PKCS1_2048_8192_SHA256,
                (Alg::RS384, _) => &signature::RSA_PKCS1_2048_8192_SHA384,
                (Alg::RS512, _) => &signature::RSA_PKCS1_2048_8192_SHA512,
                (Alg::PS256, _) => &signature::RSA_PSS_2048_8192_SHA256,
                (Alg::PS384, _) => &signature::RSA_PSS_2048_8192_SHA384,
                (Alg::PS512, _) => &signature::RSA_PSS_2048_8192_SHA512,
                _ => return Err(format!("{alg} does not apply to an RSA JWK")),
            };
            RsaPublicKeyComponents { n: &n, e: &e }.verify(params, message, sig)
        }
        Some("EC") => {
            let (crv, verify_alg) = match alg {
                Alg::ES256 => ("P-256", &signature::ECDSA_P256_SHA256_FIXED),
                Alg::ES384 => ("P-384", &signature::ECDSA_P384_SHA384_FIXED),
                Alg::ES512 => ("P-521", &signature::ECDSA_P521_SHA512_FIXED),
                _ => return Err(format!("{alg} does not apply to an EC JWK")),
            };
            if jwk["crv"] != crv {
                return Err(format!("crv {} does not fit {alg}", jwk["crv"]));
            }
            let mut point = vec![0x04];
            point.extend(member(jwk, "x"));
            point.extend(member(jwk, "y"));
            UnparsedPublicKey::new(verify_alg, point).verify(message, sig)
        }
        Some("OKP") => {
            if alg != Alg::EdDSA || jwk["crv"] != "Ed25519" {
                return Err(format!("{alg} does not apply to {jwk}"));
            }
            UnparsedPublicKey::new(&signature::ED25519, member(jwk, "x")).verify(message, sig)
        }
        other => return Err(format!("unexpected kty {other:?}")),
    };
    result.map_err(|_| "signature does not verify".to_owned())
}

/// Verifies a compact JWS with a JWK; returns the decoded header and payload.
pub fn verify_token(jwk: &Value, alg: Alg, token: &str) -> Result<(Value, Value), String> {
    let (input, sig) = token.rsplit_once('.').ok_or("no dot")?;
    verify_with_jwk(jwk, alg, input.as_bytes(), &unb64(sig))?;
    let (h, p) = input.split_once('.').ok_or("no first dot")?;
    let header = serde_json::from_slice(&unb64(h)).map_err(|e| e.to_string())?;
    let payload = serde_json::from_slice(&unb64(p)).map_err(|e| e.to_string())?;
    Ok((header, payload))
}

/// A parsed HTTP/1.1 response.
#[derive(Debug)]
pub struct Response {
    pub status: u16,
    pub headers: Vec<(String, String)>,
    pub body: Vec<u8>,
}

impl Response {
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }

    pub fn json(&self) -> Value {
        serde_json::from_slice(&self.body).expect("JSON body")
    }
}

/// Sends raw request bytes and reads everything until the server closes.
pub fn raw_exchange(addr: SocketAddr, request: &[u8]) -> Vec<u8> {
    let mut stream = TcpStream::connect(addr).expect("connect");
    stream
        .set_read_timeout(Some(Duration::from_secs(10)))
        .unwrap();
    stream.write_all(request).expect("write request");
    let mut out = Vec::new();
    // A reset after a complete response is fine for these tests.
    let _ = stream.read_to_end(&mut out);
    out
}

pub fn parse_response(raw: &[u8]) -> Option<Response> {
    let end = raw.windows(4).position(|w| w == b"\r\n\r\n")?;
    let head = std::str::from_utf8(&raw[..end]).expect("ASCII head");
    let mut lines = head.split("\r\n");
    let status_line = lines.next()?;
    let status = status_line.split(' ').nth(1)?.parse().ok()?;
    let headers = lines
        .map(|line| {
            let (n, v) = line.split_once(':').expect("header line");
            (n.trim().to_owned(), v.trim().to_owned())
        })
        .collect();
    Some(Response {
        status,
        headers,
        body: raw[end + 4..].to_vec(),
    })
}

/// `GET path` over a fresh connection; `None` if the server closed without
/// a response.
pub fn get(addr: SocketAddr, path: &str) -> Option<Response> {
    let request = format!("GET {path} HTTP/1.1\r\nHost: {addr}\r\nAccept: */*\r\n\r\n");
    parse_response(&raw_exchange(addr, request.as_bytes()))
}
