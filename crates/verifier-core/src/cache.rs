//! The optional verified-token cache (off by default).
//!
//! Keyed by the whole token: a hit requires byte equality with a token that passed the
//! full pipeline. Only verified tokens are inserted, so hostile input cannot fill it. An
//! entry is never used at or past its `exp`, `nbf` (with leeway) is re-checked on every
//! hit, and every entry is dropped when the key set changes (a new fetch generation).
//!
//! The cache is a map of `capacity` slots, the slot chosen by a hash of the token: an
//! insert takes its token's slot, replacing whatever was there. Insert and lookup are
//! O(1) at any capacity, with no sweep and no eviction pass under the lock, and the cache
//! can never hold more than `capacity` entries. Two tokens hashing to one slot take turns
//! (each insert replaces the other), so size the capacity above the number of tokens in
//! use at once.

use std::collections::HashMap;
use std::hash::{BuildHasher, RandomState};
use std::sync::Mutex;

use crate::claims::Claims;

struct Entry {
    token: Box<[u8]>,
    claims: Claims,
    exp: f64,
    nbf: Option<f64>,
    generation: u64,
}

pub(crate) struct TokenCache {
    capacity: usize,
    hasher: RandomState,
    /// Slot index → the entry that holds it (allocated as slots are used).
    slots: Mutex<HashMap<usize, Entry>>,
}

impl TokenCache {
    pub(crate) fn new(capacity: usize) -> Self {
        TokenCache {
            capacity: capacity.max(1),
            hasher: RandomState::new(),
            slots: Mutex::new(HashMap::new()),
        }
    }

    /// The slot of a token: a hash of its signature end (cheap, and for verified tokens
    /// as good as the whole; equality is always checked on the full bytes).
    fn slot(&self, token: &[u8]) -> usize {
        let tail = &token[token.len().saturating_sub(24)..];
        // The remainder is below `capacity`, so it fits a usize.
        (self.hasher.hash_one((tail, token.len())) % self.capacity as u64) as usize
    }

    pub(crate) fn get(
        &self,
        token: &[u8],
        now: f64,
        leeway: f64,
        generation: u64,
    ) -> Option<Claims> {
        let slot = self.slot(token);
        let mut slots = self.slots.lock().unwrap_or_else(|e| e.into_inner());
        let entry = slots.get(&slot).filter(|e| &*e.token == token)?;
        if entry.generation != generation || entry.exp <= now - leeway {
            slots.remove(&slot);
            return None;
        }
        if entry.nbf.is_some_and(|nbf| nbf > now + leeway) {
            return None;
        }
        Some(entry.claims.clone())
    }

    pub(crate) fn insert(&self, token: &[u8], claims: &Claims, generation: u64) {
        let Some(exp) = claims.exp() else { return };
        let entry = Entry {
            token: token.into(),
            claims: claims.clone(),
            exp,
            nbf: claims.nbf(),
            generation,
        };
        let slot = self.slot(token);
        self.slots
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .insert(slot, entry);
    }

    #[cfg(test)]
    fn len(&self) -> usize {
        self.slots.lock().unwrap().len()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn claims(exp: f64, nbf: Option<f64>) -> Claims {
        let mut map = serde_json::Map::new();
        map.insert("exp".into(), exp.into());
        if let Some(nbf) = nbf {
            map.insert("nbf".into(), nbf.into());
        }
        Claims::from_map(map)
    }

    #[test]
    fn hit_rules() {
        let cache = TokenCache::new(4);
        cache.insert(b"tok-a", &claims(100.0, Some(50.0)), 1);
        assert!(cache.get(b"tok-a", 60.0, 0.0, 1).is_some());
        assert!(cache.get(b"tok-b", 60.0, 0.0, 1).is_none(), "other token");
        assert!(cache.get(b"tok-a", 40.0, 0.0, 1).is_none(), "before nbf");
        assert!(
            cache.get(b"tok-a", 40.0, 15.0, 1).is_some(),
            "nbf within leeway"
        );
        assert!(
            cache.get(b"tok-a", 60.0, 0.0, 2).is_none(),
            "key set changed"
        );
        assert!(
            cache.get(b"tok-a", 60.0, 0.0, 1).is_none(),
            "flushed for good"
        );
        cache.insert(b"tok-c", &claims(100.0, None), 1);
        assert!(cache.get(b"tok-c", 100.0, 0.0, 1).is_none(), "at exp");
        assert!(Claims::from_map(serde_json::Map::new()).exp().is_none());
    }

    #[test]
    fn bounded() {
        let cache = TokenCache::new(8);
        for i in 0..100 {
            cache.insert(format!("tok-{i}").as_bytes(), &claims(1000.0, None), 1);
            assert!(cache.len() <= 8);
        }
        assert!(cache.get(b"tok-99", 20.0, 0.0, 1).is_some());
    }

    /// A full cache takes a new token at once (its slot), and the tokens in the other
    /// slots stay: no sweep, no arbitrary eviction of a share of the cache.
    #[test]
    fn an_insert_replaces_only_its_slot() {
        let cache = TokenCache::new(64);
        let tokens: Vec<String> = (0..1000).map(|i| format!("tok-{i}")).collect();
        for t in &tokens {
            cache.insert(t.as_bytes(), &claims(1000.0, None), 1);
        }
        assert!(cache.len() <= 64);
        // Exactly one token per used slot is still there: the last one inserted into it.
        let mut last_in_slot = HashMap::new();
        for t in &tokens {
            last_in_slot.insert(cache.slot(t.as_bytes()), t.clone());
        }
        assert_eq!(last_in_slot.len(), cache.len());
        for t in last_in_slot.values() {
            assert!(cache.get(t.as_bytes(), 20.0, 0.0, 1).is_some(), "{t}");
        }
        let one = TokenCache::new(1);
        one.insert(b"a", &claims(1000.0, None), 1);
        one.insert(b"b", &claims(1000.0, None), 1);
        assert!(one.get(b"a", 20.0, 0.0, 1).is_none());
        assert!(one.get(b"b", 20.0, 0.0, 1).is_some());
    }
}
