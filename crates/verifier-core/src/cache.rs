//! The optional verified-token cache (off by default).
//!
//! Keyed by the whole token: a hit requires byte equality with a token that passed the
//! full pipeline. Only verified tokens are inserted, so hostile input cannot fill it. An
//! entry is never used at or past its `exp`, `nbf` (with leeway) is re-checked on every
//! hit, and every entry is dropped when the key set changes (a new fetch generation).

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
    entries: Mutex<HashMap<u64, Vec<Entry>>>,
}

impl TokenCache {
    pub(crate) fn new(capacity: usize) -> Self {
        TokenCache {
            capacity,
            hasher: RandomState::new(),
            entries: Mutex::new(HashMap::new()),
        }
    }

    /// Hashes the signature end of the token: cheap, and for verified tokens as good as
    /// the whole (equality is always checked on the full bytes).
    fn key(&self, token: &[u8]) -> u64 {
        let tail = &token[token.len().saturating_sub(24)..];
        self.hasher.hash_one((tail, token.len()))
    }

    pub(crate) fn get(
        &self,
        token: &[u8],
        now: f64,
        leeway: f64,
        generation: u64,
    ) -> Option<Claims> {
        let key = self.key(token);
        let mut entries = self.entries.lock().unwrap_or_else(|e| e.into_inner());
        let bucket = entries.get_mut(&key)?;
        let pos = bucket.iter().position(|e| &*e.token == token)?;
        let entry = &bucket[pos];
        if entry.generation != generation || entry.exp <= now - leeway {
            bucket.swap_remove(pos);
            if bucket.is_empty() {
                entries.remove(&key);
            }
            return None;
        }
        if entry.nbf.is_some_and(|nbf| nbf > now + leeway) {
            return None;
        }
        Some(entry.claims.clone())
    }

    pub(crate) fn insert(&self, token: &[u8], claims: &Claims, generation: u64, now: f64) {
        let Some(exp) = claims.exp() else { return };
        let key = self.key(token);
        let mut entries = self.entries.lock().unwrap_or_else(|e| e.into_inner());
        let len: usize = entries.values().map(Vec::len).sum::<usize>();
        if len >= self.capacity {
            // Drop what can no longer be used, then, if still full, an arbitrary eighth.
            entries.retain(|_, bucket| {
                bucket.retain(|e| e.generation == generation && e.exp > now);
                !bucket.is_empty()
            });
            let len: usize = entries.values().map(Vec::len).sum();
            if len >= self.capacity {
                let mut drop = (self.capacity / 8).max(1);
                entries.retain(|_, _| {
                    if drop > 0 {
                        drop -= 1;
                        false
                    } else {
                        true
                    }
                });
            }
        }
        let bucket = entries.entry(key).or_default();
        if bucket.iter().any(|e| &*e.token == token) {
            return;
        }
        bucket.push(Entry {
            token: token.into(),
            claims: claims.clone(),
            exp,
            nbf: claims.nbf(),
            generation,
        });
    }

    #[cfg(test)]
    fn len(&self) -> usize {
        self.entries.lock().unwrap().values().map(Vec::len).sum()
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
        cache.insert(b"tok-a", &claims(100.0, Some(50.0)), 1, 10.0);
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
        cache.insert(b"tok-c", &claims(100.0, None), 1, 10.0);
        assert!(cache.get(b"tok-c", 100.0, 0.0, 1).is_none(), "at exp");
        assert!(Claims::from_map(serde_json::Map::new()).exp().is_none());
    }

    #[test]
    fn bounded() {
        let cache = TokenCache::new(8);
        for i in 0..100 {
            cache.insert(
                format!("tok-{i}").as_bytes(),
                &claims(1000.0, None),
                1,
                10.0,
            );
            assert!(cache.len() <= 8);
        }
        assert!(cache.get(b"tok-99", 20.0, 0.0, 1).is_some());
    }
}
