//! A bounded cache of DPoP proof keys: a client signs every proof with the same key, so
//! its `jwk` is parsed (EC point check, RSA modulus) and thumbprinted once, not on every
//! request.
//!
//! Entries are keyed by the exact values of every `jwk` member the key parser reads
//! ([`JwkParts::cache_key`](super::borrowed::JwkParts::cache_key)) and the proof's
//! `alg`: two proofs with the same key bytes get the same parsed key and thumbprint by
//! construction, and no hash collision can confuse two keys (the bytes are compared).
//! A key is only inserted after a proof signed with it verified.
//!
//! Two generations of at most [`GENERATION`] entries each: lookups try the current one,
//! then the previous one (and promote a hit); when the current one is full it becomes
//! the previous one and the older entries are dropped. So at most `2 × GENERATION`
//! keys are held, recently used keys stay, and a flood of new keys costs O(1) per insert.

use std::collections::HashMap;
use std::fmt;
use std::sync::{Arc, Mutex, PoisonError};

use aws_lc_rs::signature::ParsedPublicKey;

use crate::keys::Thumbprint;

/// Entries per generation.
pub(crate) const GENERATION: usize = 512;

/// A proof key, parsed, with its RFC 7638 thumbprint.
pub(crate) struct ProofKey {
    pub(crate) key: ParsedPublicKey,
    pub(crate) jkt: Thumbprint,
}

#[derive(Default)]
struct Generations {
    current: HashMap<Box<[u8]>, Arc<ProofKey>>,
    previous: HashMap<Box<[u8]>, Arc<ProofKey>>,
}

/// The cache (one per [`DpopVerifier`](super::DpopVerifier)).
#[derive(Default)]
pub(crate) struct ProofKeyCache {
    inner: Mutex<Generations>,
}

impl fmt::Debug for ProofKeyCache {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ProofKeyCache")
            .field("len", &self.len())
            .finish()
    }
}

impl ProofKeyCache {
    /// The key stored under `cache_key`, if any.
    pub(crate) fn get(&self, cache_key: &[u8]) -> Option<Arc<ProofKey>> {
        let mut g = self.inner.lock().unwrap_or_else(PoisonError::into_inner);
        if let Some(hit) = g.current.get(cache_key) {
            return Some(hit.clone());
        }
        let (stored, hit) = g.previous.remove_entry(cache_key)?;
        Self::put(&mut g, stored, hit.clone());
        Some(hit)
    }

    /// Stores `key` under `cache_key` (a verified proof's key).
    pub(crate) fn insert(&self, cache_key: &[u8], key: Arc<ProofKey>) {
        let mut g = self.inner.lock().unwrap_or_else(PoisonError::into_inner);
        Self::put(&mut g, cache_key.into(), key);
    }

    fn put(g: &mut Generations, cache_key: Box<[u8]>, key: Arc<ProofKey>) {
        if g.current.len() >= GENERATION && !g.current.contains_key(&cache_key) {
            g.previous = std::mem::take(&mut g.current);
        }
        g.current.insert(cache_key, key);
    }

    /// How many keys are held (both generations).
    pub(crate) fn len(&self) -> usize {
        let g = self.inner.lock().unwrap_or_else(PoisonError::into_inner);
        g.current.len() + g.previous.len()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use aws_lc_rs::signature::{self, KeyPair as _};

    fn key() -> Arc<ProofKey> {
        let rng = aws_lc_rs::rand::SystemRandom::new();
        let pkcs8 = signature::EcdsaKeyPair::generate_pkcs8(
            &signature::ECDSA_P256_SHA256_FIXED_SIGNING,
            &rng,
        )
        .unwrap();
        let pair = signature::EcdsaKeyPair::from_pkcs8(
            &signature::ECDSA_P256_SHA256_FIXED_SIGNING,
            pkcs8.as_ref(),
        )
        .unwrap();
        let key = ParsedPublicKey::new(
            &signature::ECDSA_P256_SHA256_FIXED,
            pair.public_key().as_ref(),
        )
        .unwrap();
        Arc::new(ProofKey {
            key,
            jkt: "t".into(),
        })
    }

    #[test]
    fn bounded_and_keeps_recent_keys() {
        let cache = ProofKeyCache::default();
        let k = key();
        cache.insert(b"hot", k.clone());
        for i in 0..(5 * GENERATION) {
            cache.insert(format!("k{i}").as_bytes(), k.clone());
            // A key in use is promoted and survives every rotation.
            assert!(cache.get(b"hot").is_some(), "after {i}");
            assert!(cache.len() <= 2 * GENERATION);
        }
        assert!(cache.get(b"k0").is_none());
        assert!(cache
            .get(format!("k{}", 5 * GENERATION - 1).as_bytes())
            .is_some());
        assert!(cache.get(b"cold").is_none());
    }
}
