//! base64url without padding (RFC 7515 §2): the encoding of every JWS segment, JWK
//! parameter and thumbprint.
//!
//! Decoding is strict: the URL-safe alphabet only, no padding, no whitespace, and the
//! unused bits of the last character zero (RFC 4648 §3.5), so one byte string has one
//! encoding and a token cannot be re-encoded into another that verifies. It runs on
//! `base64-simd`, which picks SSSE3, AVX2 or NEON at run time and has a portable fallback:
//! a 1.6 KB payload decodes in about a quarter of the time the scalar `base64` crate
//! takes, and decoding was the largest cost the verifier added to an RS256 check
//! (docs/benchmarks.md). The tests below check that it accepts exactly what `base64`'s
//! `URL_SAFE_NO_PAD` accepts, byte for byte.

use base64_simd::{AsOut as _, URL_SAFE_NO_PAD};

/// Why an input is not strict base64url (carries no detail).
pub(crate) use base64_simd::Error as DecodeError;

/// Decodes `input`.
pub(crate) fn decode(input: &[u8]) -> Result<Vec<u8>, DecodeError> {
    URL_SAFE_NO_PAD.decode_to_vec(input)
}

/// Decodes `input` into `buf`; `None` when `buf` is shorter than the longest result an
/// input of that length can have.
pub(crate) fn decode_slice<'b>(
    input: &[u8],
    buf: &'b mut [u8],
) -> Option<Result<&'b [u8], DecodeError>> {
    if URL_SAFE_NO_PAD.estimated_decoded_length(input.len()) <= buf.len() {
        Some(URL_SAFE_NO_PAD.decode(input, buf.as_out()).map(|d| &*d))
    } else {
        None
    }
}

/// Decodes `input` into `buf` when it fits, else into `spill`.
pub(crate) fn decode_into<'b>(
    input: &[u8],
    buf: &'b mut [u8],
    spill: &'b mut Vec<u8>,
) -> Result<&'b [u8], DecodeError> {
    match decode_slice(input, buf) {
        Some(decoded) => decoded,
        None => {
            *spill = decode(input)?;
            Ok(spill)
        }
    }
}

/// Encodes `bytes`.
pub(crate) fn encode(bytes: impl AsRef<[u8]>) -> String {
    URL_SAFE_NO_PAD.encode_to_string(bytes)
}

#[cfg(test)]
mod tests {
    use base64::engine::general_purpose::URL_SAFE_NO_PAD as REFERENCE;
    use base64::Engine as _;

    /// The 64 symbols and the bytes a hostile segment would try: padding, the other
    /// alphabet, separators, whitespace, NUL, and non-ASCII.
    const PROBES: &[u8] =
        b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_=+/. \n\0\x80\xc3\xff";

    fn agrees(input: &[u8]) {
        let reference = REFERENCE.decode(input).ok();
        assert_eq!(super::decode(input).ok(), reference, "{input:?}");
        let mut buf = [0u8; 8];
        let mut spill = Vec::new();
        let into = super::decode_into(input, &mut buf, &mut spill)
            .ok()
            .map(<[u8]>::to_vec);
        assert_eq!(into, reference, "{input:?}");
    }

    #[test]
    fn accepts_exactly_what_the_base64_crate_accepts_on_short_inputs() {
        // Every string of up to three probe bytes, alone and after a full block: the
        // tail after the last full block is where padding, lengths and the trailing-bits
        // rule are decided.
        let n = PROBES.len();
        agrees(b"");
        for i in 0..n * n * n {
            let s = [PROBES[i % n], PROBES[i / n % n], PROBES[i / n / n]];
            for len in 1..=3 {
                agrees(&s[..len]);
                agrees(&[b"QUJD", &s[..len]].concat());
            }
        }
    }

    #[test]
    fn accepts_exactly_what_the_base64_crate_accepts_on_long_inputs() {
        let mut rng = fastrand::Rng::with_seed(15);
        for _ in 0..20_000 {
            let len = rng.usize(0..300);
            let mut s: Vec<u8> = (0..len).map(|_| PROBES[rng.usize(0..64)]).collect();
            // Half of them get one foreign byte somewhere (SIMD blocks and the tail).
            if len > 0 && rng.bool() {
                s[rng.usize(0..len)] = PROBES[rng.usize(..PROBES.len())];
            }
            agrees(&s);
        }
        // Round trips through both encoders, across block sizes.
        for len in 0..200 {
            let bytes: Vec<u8> = (0..len).map(|_| rng.u8(..)).collect();
            let encoded = super::encode(&bytes);
            assert_eq!(encoded, REFERENCE.encode(&bytes));
            assert_eq!(super::decode(encoded.as_bytes()).unwrap(), bytes);
        }
    }
}
