//! RSA signing for keys that aws-lc-rs refuses to load (below 2048 bits).
//!
//! aws-lc-rs only accepts RSA private keys of 2048 to 8192 bits, but the
//! project needs tokens signed by a 1024-bit key to prove that verifiers
//! refuse short keys. This module implements exactly what that needs, with no
//! extra dependency: a DER reader for `RSAPrivateKey` / PKCS#8, a small
//! Montgomery modular exponentiation, and the EMSA-PKCS1-v1_5 and EMSA-PSS
//! encodings of RFC 8017. Hashing and randomness come from aws-lc-rs.
//!
//! This is test-fixture code: it is NOT constant-time and must never be used
//! to protect anything. Its output is checked against aws-lc-rs verification
//! in the unit tests below (PKCS#1 v1.5 with the 1024-bit fixture, and both
//! encodings with 2048-bit keys exported from aws-lc-rs).

use aws_lc_rs::digest;

/// An RSA private key held as big-endian integers plus a Montgomery context.
pub(crate) struct LegacyRsaKey {
    n: Vec<u8>,
    e: Vec<u8>,
    d: Vec<u8>,
    mont: Mont,
}

impl LegacyRsaKey {
    /// Parses a PEM `PRIVATE KEY` (PKCS#8) or `RSA PRIVATE KEY` (PKCS#1) block.
    pub(crate) fn from_pem(pem: &str) -> Result<Self, &'static str> {
        use base64::Engine as _;
        let body: String = pem
            .lines()
            .map(str::trim)
            .filter(|line| !line.is_empty() && !line.starts_with("-----"))
            .collect();
        let der = base64::engine::general_purpose::STANDARD
            .decode(body)
            .map_err(|_| "invalid base64 in PEM")?;
        Self::from_der(&der)
    }

    /// Parses a DER `RSAPrivateKey` (RFC 8017) or a PKCS#8 `PrivateKeyInfo`
    /// wrapping one.
    pub(crate) fn from_der(der: &[u8]) -> Result<Self, &'static str> {
        let mut outer = Der::new(der);
        let seq = outer.expect(TAG_SEQUENCE)?;
        let mut fields = Der::new(seq);
        let _version = fields.expect(TAG_INTEGER)?;
        let mut rsa = if fields.peek_tag() == Some(TAG_SEQUENCE) {
            // PKCS#8: AlgorithmIdentifier, then OCTET STRING { RSAPrivateKey }.
            let _alg_id = fields.expect(TAG_SEQUENCE)?;
            let inner = fields.expect(TAG_OCTET_STRING)?;
            let mut inner = Der::new(inner);
            let seq = inner.expect(TAG_SEQUENCE)?;
            let mut rsa = Der::new(seq);
            let _version = rsa.expect(TAG_INTEGER)?;
            rsa
        } else {
            fields
        };
        let n = strip_zeros(rsa.expect(TAG_INTEGER)?).to_vec();
        let e = strip_zeros(rsa.expect(TAG_INTEGER)?).to_vec();
        let d = strip_zeros(rsa.expect(TAG_INTEGER)?).to_vec();
        if n.is_empty() || n[n.len() - 1] & 1 == 0 {
            return Err("RSA modulus must be odd");
        }
        if e.is_empty() || d.is_empty() {
            return Err("RSA exponents must be positive");
        }
        let mont = Mont::new(&n);
        Ok(LegacyRsaKey { n, e, d, mont })
    }

    /// The modulus `n`, big-endian without leading zeros.
    pub(crate) fn modulus(&self) -> &[u8] {
        &self.n
    }

    /// The public exponent `e`, big-endian without leading zeros.
    pub(crate) fn exponent(&self) -> &[u8] {
        &self.e
    }

    /// Size of the modulus in bits.
    /// The public key as DER `RSAPublicKey` (RFC 8017), the form aws-lc-rs verifies with.
    pub(crate) fn public_key_der(&self) -> Vec<u8> {
        let (n, e) = (self.modulus(), self.exponent());
        // RSAPublicKey ::= SEQUENCE { n INTEGER, e INTEGER }
        fn int(v: &[u8]) -> Vec<u8> {
            let mut body = Vec::new();
            if v[0] & 0x80 != 0 {
                body.push(0);
            }
            body.extend_from_slice(v);
            tlv(0x02, &body)
        }
        fn tlv(tag: u8, body: &[u8]) -> Vec<u8> {
            let mut out = vec![tag];
            if body.len() < 0x80 {
                out.push(body.len() as u8);
            } else if body.len() < 0x100 {
                out.extend_from_slice(&[0x81, body.len() as u8]);
            } else {
                out.extend_from_slice(&[0x82, (body.len() >> 8) as u8, body.len() as u8]);
            }
            out.extend_from_slice(body);
            out
        }
        let mut body = int(n);
        body.extend(int(e));
        tlv(0x30, &body)
    }

    pub(crate) fn modulus_bits(&self) -> usize {
        self.n.len() * 8 - self.n[0].leading_zeros() as usize
    }

    /// RSASSA-PKCS1-v1_5 signature (RFC 8017 section 8.2.1).
    pub(crate) fn sign_pkcs1(&self, hash: &'static digest::Algorithm, message: &[u8]) -> Vec<u8> {
        let k = self.n.len();
        let digest = digest::digest(hash, message);
        let prefix = digest_info_prefix(hash);
        let t_len = prefix.len() + digest.as_ref().len();
        assert!(
            k >= t_len + 11,
            "RSA key of {} bits is too short for PKCS#1 v1.5 with this hash",
            self.modulus_bits()
        );
        let mut em = Vec::with_capacity(k);
        em.extend_from_slice(&[0x00, 0x01]);
        em.resize(k - t_len - 1, 0xff);
        em.push(0x00);
        em.extend_from_slice(prefix);
        em.extend_from_slice(digest.as_ref());
        self.private_op(&em)
    }

    /// RSASSA-PSS signature (RFC 8017 section 8.1.1) with MGF1 over the same
    /// hash and a random salt as long as the hash output.
    pub(crate) fn sign_pss(&self, hash: &'static digest::Algorithm, message: &[u8]) -> Vec<u8> {
        let h_len = hash.output_len();
        let s_len = h_len;
        let em_bits = self.modulus_bits() - 1;
        let em_len = em_bits.div_ceil(8);
        assert!(
            em_len >= h_len + s_len + 2,
            "RSA key of {} bits is too short for PSS with a {}-byte hash and salt",
            self.modulus_bits(),
            h_len
        );
        let m_hash = digest::digest(hash, message);
        let mut salt = vec![0u8; s_len];
        aws_lc_rs::rand::fill(&mut salt).expect("system randomness is available");

        let mut m_prime = Vec::with_capacity(8 + h_len + s_len);
        m_prime.extend_from_slice(&[0u8; 8]);
        m_prime.extend_from_slice(m_hash.as_ref());
        m_prime.extend_from_slice(&salt);
        let h = digest::digest(hash, &m_prime);

        let db_len = em_len - h_len - 1;
        let mut db = vec![0u8; db_len - s_len - 1];
        db.push(0x01);
        db.extend_from_slice(&salt);
        let mask = mgf1(hash, h.as_ref(), db_len);
        for (byte, m) in db.iter_mut().zip(mask) {
            *byte ^= m;
        }
        let unused_bits = 8 * em_len - em_bits;
        db[0] &= 0xffu8 >> unused_bits;

        let mut em = db;
        em.extend_from_slice(h.as_ref());
        em.push(0xbc);
        self.private_op(&em)
    }

    /// `em^d mod n`, as `k` big-endian bytes where `k` is the modulus length.
    fn private_op(&self, em: &[u8]) -> Vec<u8> {
        let base = self.mont.limbs_of(em);
        assert!(
            cmp(&base, &self.mont.n) == std::cmp::Ordering::Less,
            "encoded message must be smaller than the modulus"
        );
        let s = self.mont.mod_exp(&base, &self.d);
        to_be(&s, self.n.len())
    }
}

const TAG_INTEGER: u8 = 0x02;
const TAG_OCTET_STRING: u8 = 0x04;
const TAG_SEQUENCE: u8 = 0x30;

/// DER `DigestInfo` prefixes of RFC 8017 section 9.2, note 1.
fn digest_info_prefix(hash: &'static digest::Algorithm) -> &'static [u8] {
    const SHA256: &[u8] = &[
        0x30, 0x31, 0x30, 0x0d, 0x06, 0x09, 0x60, 0x86, 0x48, 0x01, 0x65, 0x03, 0x04, 0x02, 0x01,
        0x05, 0x00, 0x04, 0x20,
    ];
    const SHA384: &[u8] = &[
        0x30, 0x41, 0x30, 0x0d, 0x06, 0x09, 0x60, 0x86, 0x48, 0x01, 0x65, 0x03, 0x04, 0x02, 0x02,
        0x05, 0x00, 0x04, 0x30,
    ];
    const SHA512: &[u8] = &[
        0x30, 0x51, 0x30, 0x0d, 0x06, 0x09, 0x60, 0x86, 0x48, 0x01, 0x65, 0x03, 0x04, 0x02, 0x03,
        0x05, 0x00, 0x04, 0x40,
    ];
    match hash.output_len() {
        32 => SHA256,
        48 => SHA384,
        64 => SHA512,
        other => panic!("no DigestInfo prefix for a {other}-byte hash"),
    }
}

/// MGF1 mask generation (RFC 8017 appendix B.2.1).
fn mgf1(hash: &'static digest::Algorithm, seed: &[u8], len: usize) -> Vec<u8> {
    let mut out = Vec::with_capacity(len + hash.output_len());
    let mut counter: u32 = 0;
    while out.len() < len {
        let mut ctx = digest::Context::new(hash);
        ctx.update(seed);
        ctx.update(&counter.to_be_bytes());
        out.extend_from_slice(ctx.finish().as_ref());
        counter += 1;
    }
    out.truncate(len);
    out
}

fn strip_zeros(mut bytes: &[u8]) -> &[u8] {
    while let [0, rest @ ..] = bytes {
        bytes = rest;
    }
    bytes
}

/// A minimal DER reader: enough for `RSAPrivateKey` and PKCS#8.
struct Der<'a> {
    data: &'a [u8],
}

impl<'a> Der<'a> {
    fn new(data: &'a [u8]) -> Self {
        Der { data }
    }

    fn peek_tag(&self) -> Option<u8> {
        self.data.first().copied()
    }

    fn expect(&mut self, tag: u8) -> Result<&'a [u8], &'static str> {
        let (&found, rest) = self.data.split_first().ok_or("truncated DER")?;
        if found != tag {
            return Err("unexpected DER tag");
        }
        let (&first, mut rest) = rest.split_first().ok_or("truncated DER length")?;
        let len = if first < 0x80 {
            usize::from(first)
        } else {
            let count = usize::from(first & 0x7f);
            if count == 0 || count > 4 || rest.len() < count {
                return Err("unsupported DER length");
            }
            let (len_bytes, after) = rest.split_at(count);
            rest = after;
            len_bytes
                .iter()
                .fold(0usize, |acc, &b| (acc << 8) | usize::from(b))
        };
        if rest.len() < len {
            return Err("truncated DER value");
        }
        let (value, after) = rest.split_at(len);
        self.data = after;
        Ok(value)
    }
}

/// Little-endian base-2^32 limbs, always `k` limbs long for a given modulus.
type Limbs = Vec<u32>;

/// Montgomery arithmetic modulo an odd `n` (R = 2^(32k)).
struct Mont {
    n: Limbs,
    /// `-n^-1 mod 2^32`.
    n0_inv: u32,
    /// `R^2 mod n`.
    rr: Limbs,
}

impl Mont {
    fn new(n_be: &[u8]) -> Self {
        let k = n_be.len().div_ceil(4);
        let n = limbs_from_be(n_be, k);
        // Newton iteration: each step doubles the number of correct low bits.
        let mut inv: u32 = 1;
        for _ in 0..6 {
            inv = inv.wrapping_mul(2u32.wrapping_sub(n[0].wrapping_mul(inv)));
        }
        debug_assert_eq!(n[0].wrapping_mul(inv), 1);
        let n0_inv = inv.wrapping_neg();

        // R^2 mod n by doubling 1 modulo n, 2 * 32k times.
        let mut rr = vec![0u32; k];
        rr[0] = 1;
        for _ in 0..(64 * k) {
            let carry = shl1(&mut rr);
            if carry || cmp(&rr, &n) != std::cmp::Ordering::Less {
                sub_in_place(&mut rr, &n);
            }
        }
        Mont { n, n0_inv, rr }
    }

    fn k(&self) -> usize {
        self.n.len()
    }

    fn limbs_of(&self, bytes: &[u8]) -> Limbs {
        limbs_from_be(strip_zeros(bytes), self.k())
    }

    /// `a * b * R^-1 mod n` for `a, b < n` (CIOS method).
    fn mul(&self, a: &[u32], b: &[u32]) -> Limbs {
        let k = self.k();
        let n = &self.n;
        let mut t = vec![0u32; k + 2];
        for &b_i in b.iter().take(k) {
            let mut carry: u64 = 0;
            for j in 0..k {
                let s = u64::from(t[j]) + u64::from(a[j]) * u64::from(b_i) + carry;
                t[j] = s as u32;
                carry = s >> 32;
            }
            let s = u64::from(t[k]) + carry;
            t[k] = s as u32;
            t[k + 1] = (s >> 32) as u32;

            let m = t[0].wrapping_mul(self.n0_inv);
            let s = u64::from(t[0]) + u64::from(m) * u64::from(n[0]);
            let mut carry = s >> 32;
            for j in 1..k {
                let s = u64::from(t[j]) + u64::from(m) * u64::from(n[j]) + carry;
                t[j - 1] = s as u32;
                carry = s >> 32;
            }
            let s = u64::from(t[k]) + carry;
            t[k - 1] = s as u32;
            t[k] = t[k + 1] + (s >> 32) as u32;
            t[k + 1] = 0;
        }
        let overflow = t[k] != 0;
        t.truncate(k);
        if overflow || cmp(&t, n) != std::cmp::Ordering::Less {
            sub_in_place(&mut t, n);
        }
        t
    }

    /// `base^exp mod n` (left-to-right square and multiply; not constant-time).
    fn mod_exp(&self, base: &[u32], exp_be: &[u8]) -> Limbs {
        let k = self.k();
        let mut one = vec![0u32; k];
        one[0] = 1;
        let base_m = self.mul(base, &self.rr);
        let mut acc = self.mul(&one, &self.rr);
        for byte in exp_be {
            for bit in (0..8).rev() {
                acc = self.mul(&acc, &acc);
                if (byte >> bit) & 1 == 1 {
                    acc = self.mul(&acc, &base_m);
                }
            }
        }
        self.mul(&acc, &one)
    }
}

fn limbs_from_be(bytes: &[u8], k: usize) -> Limbs {
    assert!(bytes.len() <= 4 * k, "integer wider than the modulus");
    let mut limbs = vec![0u32; k];
    for (i, &byte) in bytes.iter().rev().enumerate() {
        limbs[i / 4] |= u32::from(byte) << (8 * (i % 4));
    }
    limbs
}

fn to_be(limbs: &[u32], len: usize) -> Vec<u8> {
    let mut out = vec![0u8; len];
    for (i, slot) in out.iter_mut().rev().enumerate() {
        if let Some(limb) = limbs.get(i / 4) {
            *slot = (limb >> (8 * (i % 4))) as u8;
        }
    }
    out
}

fn cmp(a: &[u32], b: &[u32]) -> std::cmp::Ordering {
    debug_assert_eq!(a.len(), b.len());
    a.iter().rev().cmp(b.iter().rev())
}

/// `a -= b` modulo 2^(32k) (callers guarantee the true result fits).
fn sub_in_place(a: &mut [u32], b: &[u32]) {
    let mut borrow = false;
    for (x, &y) in a.iter_mut().zip(b) {
        let (d1, b1) = x.overflowing_sub(y);
        let (d2, b2) = d1.overflowing_sub(u32::from(borrow));
        *x = d2;
        borrow = b1 || b2;
    }
}

/// `a <<= 1`, returning the bit shifted out.
fn shl1(a: &mut [u32]) -> bool {
    let mut carry = 0u32;
    for x in a.iter_mut() {
        let next = *x >> 31;
        *x = (*x << 1) | carry;
        carry = next;
    }
    carry == 1
}

#[cfg(test)]
mod tests {
    use super::*;
    use aws_lc_rs::encoding::AsDer;
    use aws_lc_rs::signature::{self, UnparsedPublicKey};

    fn fixture() -> LegacyRsaKey {
        LegacyRsaKey::from_pem(crate::key::RSA_1024_PEM).expect("fixture parses")
    }

    #[test]
    fn fixture_is_1024_bits() {
        let key = fixture();
        assert_eq!(key.modulus_bits(), 1024);
        assert_eq!(key.exponent(), &[0x01, 0x00, 0x01]);
    }

    #[test]
    fn pkcs1_1024_verifies_with_aws_lc_legacy_verifier() {
        let key = fixture();
        let public = key.public_key_der();
        let msg = b"header.payload";
        for (hash, params) in [
            (
                &digest::SHA256,
                &signature::RSA_PKCS1_1024_8192_SHA256_FOR_LEGACY_USE_ONLY,
            ),
            (
                &digest::SHA512,
                &signature::RSA_PKCS1_1024_8192_SHA512_FOR_LEGACY_USE_ONLY,
            ),
        ] {
            let sig = key.sign_pkcs1(hash, msg);
            assert_eq!(sig.len(), 128);
            UnparsedPublicKey::new(params, &public)
                .verify(msg, &sig)
                .expect("valid signature");
            assert!(UnparsedPublicKey::new(params, &public)
                .verify(b"other", &sig)
                .is_err());
        }
    }

    #[test]
    fn matches_aws_lc_with_an_exported_2048_bit_key() {
        let pair = aws_lc_rs::rsa::KeyPair::generate(aws_lc_rs::rsa::KeySize::Rsa2048).unwrap();
        let pkcs8 = pair.as_der().unwrap();
        let key = LegacyRsaKey::from_der(pkcs8.as_ref()).expect("PKCS#8 parses");
        use aws_lc_rs::signature::KeyPair as _;
        let public = pair.public_key().as_ref().to_vec();
        assert_eq!(key.public_key_der(), public);
        let msg = b"eyJhbGciOiJQUzI1NiJ9.e30";

        // PKCS#1 v1.5 is deterministic: byte-identical to aws-lc-rs.
        let mut expected = vec![0u8; pair.public_modulus_len()];
        pair.sign(
            &signature::RSA_PKCS1_SHA256,
            &aws_lc_rs::rand::SystemRandom::new(),
            msg,
            &mut expected,
        )
        .unwrap();
        assert_eq!(key.sign_pkcs1(&digest::SHA256, msg), expected);

        for (hash, params) in [
            (&digest::SHA256, &signature::RSA_PSS_2048_8192_SHA256),
            (&digest::SHA512, &signature::RSA_PSS_2048_8192_SHA512),
        ] {
            let sig = key.sign_pss(hash, msg);
            UnparsedPublicKey::new(params, &public)
                .verify(msg, &sig)
                .expect("valid PSS signature");
        }
    }

    /// EMSA-PSS-VERIFY (RFC 8017 section 9.1.2) with sLen = hLen, using the
    /// public exponent; aws-lc-rs has no PSS verifier for 1024-bit keys.
    fn pss_verify(
        key: &LegacyRsaKey,
        hash: &'static digest::Algorithm,
        msg: &[u8],
        sig: &[u8],
    ) -> bool {
        let h_len = hash.output_len();
        let em_bits = key.modulus_bits() - 1;
        let em_len = em_bits.div_ceil(8);
        let s = key.mont.limbs_of(sig);
        let m = key.mont.mod_exp(&s, key.exponent());
        let full = to_be(&m, key.n.len());
        let em = &full[full.len() - em_len..];
        if em[em_len - 1] != 0xbc {
            return false;
        }
        let (masked_db, rest) = em.split_at(em_len - h_len - 1);
        let h = &rest[..h_len];
        let mut db: Vec<u8> = masked_db
            .iter()
            .zip(mgf1(hash, h, masked_db.len()))
            .map(|(a, b)| a ^ b)
            .collect();
        db[0] &= 0xffu8 >> (8 * em_len - em_bits);
        let ps_len = em_len - 2 * h_len - 2;
        if db[..ps_len].iter().any(|&b| b != 0) || db[ps_len] != 0x01 {
            return false;
        }
        let salt = &db[ps_len + 1..];
        let mut m_prime = vec![0u8; 8];
        m_prime.extend_from_slice(digest::digest(hash, msg).as_ref());
        m_prime.extend_from_slice(salt);
        digest::digest(hash, &m_prime).as_ref() == h
    }

    #[test]
    fn pss_1024_verifies() {
        let key = fixture();
        for hash in [&digest::SHA256, &digest::SHA384] {
            let sig = key.sign_pss(hash, b"header.payload");
            assert!(pss_verify(&key, hash, b"header.payload", &sig));
            assert!(!pss_verify(&key, hash, b"header.payloaX", &sig));
        }
    }

    #[test]
    fn pss_1024_rejects_sha512() {
        let key = fixture();
        let result = std::panic::catch_unwind(|| key.sign_pss(&digest::SHA512, b"m"));
        assert!(result.is_err());
        // SHA-256 and SHA-384 fit.
        assert_eq!(key.sign_pss(&digest::SHA256, b"m").len(), 128);
        assert_eq!(key.sign_pss(&digest::SHA384, b"m").len(), 128);
    }

    #[test]
    fn small_modexp() {
        // 4^13 mod 497 = 445
        let mont = Mont::new(&[0x01, 0xf1]);
        let base = mont.limbs_of(&[4]);
        let r = mont.mod_exp(&base, &[13]);
        assert_eq!(to_be(&r, 2), vec![0x01, 0xbd]);
    }
}
