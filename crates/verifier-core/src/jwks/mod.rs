//! The JWKS lifecycle: cache, refresh, single flight, stale serving and readiness.
//!
//! The generic refresh state machine (`refresh.rs`, shared with other fetched
//! documents) serves both flavours; they differ only in how they fetch (async vs
//! blocking reqwest) and how waiters wait (a shared future vs a condvar). This module
//! adds what only key sets have: `kid`/`alg` lookups and the unknown-`kid` refresh.
//!
//! - Keys come only from the configured `jwks_url`, never from a token.
//! - Warm reads load an atomically swapped key set without taking a lock.
//! - However many callers need a fetch at once, one request is made (single flight).
//! - An unknown `kid` refreshes at most once per `jwks_refresh_cooldown`, and only for
//!   tokens whose unverified `iss`, `aud` and `exp` already pass.
//! - Past the TTL the current set keeps serving while a background refresh runs; if
//!   refreshes fail it serves until TTL + `jwks_max_stale`, retrying with exponential
//!   backoff and jitter; past that, `jwks_fetch_failed` (503).
//! - A successful refresh replaces the set whole: removed keys stop verifying at once.

mod async_client;
#[cfg(feature = "blocking")]
mod blocking;
pub(crate) mod lifecycle;

pub use async_client::AsyncJwksClient;
#[cfg(feature = "blocking")]
pub use blocking::JwksClient;
pub use lifecycle::JwksStats;
