//! A [`ReplayStore`] shared by replicas, on Redis (feature `redis`; SPEC-2 D5).

use std::fmt;
use std::time::Duration;

use redis::aio::{ConnectionManager, ConnectionManagerConfig};
use tokio::sync::OnceCell;

use super::replay::{ReplayError, ReplayFuture, ReplayKey, ReplayStore, Seen};
use crate::error::ConfigError;

/// Default deadline of one check-and-insert, connection included.
const DEFAULT_TIMEOUT: Duration = Duration::from_millis(500);
/// Default key prefix.
const DEFAULT_PREFIX: &str = "oidc-jwt-verifier:dpop:";

/// A replay store on Redis, for several replicas of one API: a proof used on one
/// replica is refused on every other.
///
/// Each check-and-insert is one atomic `SET <prefix><key> 1 NX PX <ttl ms>`: `OK` means
/// the proof is new, a nil reply that it was seen. Anything else (connection refused,
/// an error reply, no answer within the timeout) refuses the request with 503
/// `dpop_replay_cache_full`: a store that cannot tell never lets a proof through.
/// Entries expire on the Redis server's clock.
///
/// Construction is synchronous and offline (the URL is only parsed); the connection
/// (one multiplexed connection, re-established in the background when it drops) is
/// opened at the first use, inside the caller's Tokio runtime. Only `redis://` and
/// `redis+unix://` URLs are supported (no TLS in this build).
///
/// With feature `blocking` it is a [`BlockingReplayStore`](super::BlockingReplayStore)
/// too (a small pool of blocking connections), for `DpopVerifier::with_blocking_store`.
///
/// ```
/// use std::time::Duration;
/// use verifier_core::dpop::RedisReplayStore;
///
/// let store = RedisReplayStore::builder("redis://127.0.0.1:6379/0")
///     .key_prefix("api-1:dpop:")
///     .timeout(Duration::from_millis(250))
///     .build()
///     .unwrap();
/// # let _ = store;
/// assert_eq!(RedisReplayStore::builder("http://x").build().unwrap_err().field(), "dpop_replay_redis_url");
/// ```
pub struct RedisReplayStore {
    client: redis::Client,
    prefix: String,
    timeout: Duration,
    manager: OnceCell<ConnectionManager>,
    /// Idle connections of the blocking flavour (feature `blocking`).
    #[cfg(feature = "blocking")]
    idle: std::sync::Mutex<Vec<redis::Connection>>,
}

impl fmt::Debug for RedisReplayStore {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // The URL may hold a password: only the address is shown.
        f.debug_struct("RedisReplayStore")
            .field(
                "addr",
                &self.client.get_connection_info().addr().to_string(),
            )
            .field("prefix", &self.prefix)
            .field("timeout", &self.timeout)
            .finish_non_exhaustive()
    }
}

/// Builds a [`RedisReplayStore`].
#[derive(Clone)]
pub struct RedisReplayStoreBuilder {
    url: String,
    prefix: String,
    timeout: Duration,
}

impl fmt::Debug for RedisReplayStoreBuilder {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("RedisReplayStoreBuilder")
            .field("prefix", &self.prefix)
            .field("timeout", &self.timeout)
            .finish_non_exhaustive()
    }
}

impl RedisReplayStoreBuilder {
    /// The prefix of every key (default `oidc-jwt-verifier:dpop:`); give APIs that share
    /// a Redis but not their proofs different prefixes.
    pub fn key_prefix(mut self, prefix: impl Into<String>) -> Self {
        self.prefix = prefix.into();
        self
    }

    /// The deadline of one check-and-insert, connecting included (default 500 ms,
    /// at most 10 s). Past it the request is refused with 503.
    pub fn timeout(mut self, timeout: Duration) -> Self {
        self.timeout = timeout;
        self
    }

    /// Parses the URL and checks the settings; no I/O.
    pub fn build(self) -> Result<RedisReplayStore, ConfigError> {
        let client = redis::Client::open(self.url.as_str()).map_err(|e| {
            ConfigError::new(
                "dpop_replay_redis_url",
                format!("must be a redis:// URL ({})", e.kind_str()),
            )
        })?;
        if self.timeout.is_zero() || self.timeout > Duration::from_secs(10) {
            return Err(ConfigError::new(
                "dpop_replay_redis_timeout",
                "must be in (0, 10] seconds",
            ));
        }
        Ok(RedisReplayStore {
            client,
            prefix: self.prefix,
            timeout: self.timeout,
            manager: OnceCell::new(),
            #[cfg(feature = "blocking")]
            idle: std::sync::Mutex::new(Vec::new()),
        })
    }
}

trait KindStr {
    fn kind_str(&self) -> String;
}

impl KindStr for redis::RedisError {
    fn kind_str(&self) -> String {
        // The category only: the message may quote the URL, and with it a password.
        format!("{:?}", self.kind())
    }
}

impl RedisReplayStore {
    /// A builder for the Redis server at `url` (`redis://[user:password@]host[:port][/db]`).
    pub fn builder(url: impl Into<String>) -> RedisReplayStoreBuilder {
        RedisReplayStoreBuilder {
            url: url.into(),
            prefix: DEFAULT_PREFIX.to_owned(),
            timeout: DEFAULT_TIMEOUT,
        }
    }

    async fn manager(&self) -> Result<ConnectionManager, ReplayError> {
        let manager = self
            .manager
            .get_or_try_init(|| async {
                let config = ConnectionManagerConfig::new()
                    .set_connection_timeout(Some(self.timeout))
                    .set_response_timeout(Some(self.timeout))
                    .set_number_of_retries(2)
                    .set_max_delay(Duration::from_millis(200));
                ConnectionManager::new_lazy_with_config(self.client.clone(), config)
            })
            .await
            .map_err(|e| ReplayError::Unavailable(Box::new(e)))?;
        Ok(manager.clone())
    }

    /// `SET <prefix><key> 1 NX PX <ttl ms>`.
    fn set_nx_cmd(&self, key: ReplayKey, ttl: Duration) -> redis::Cmd {
        let ttl_ms = u64::try_from(ttl.as_millis()).unwrap_or(u64::MAX).max(1);
        let mut cmd = redis::cmd("SET");
        cmd.arg(format!("{}{}", self.prefix, key.to_hex()))
            .arg(1)
            .arg("NX")
            .arg("PX")
            .arg(ttl_ms);
        cmd
    }

    async fn set_nx(&self, key: ReplayKey, ttl: Duration) -> Result<Seen, ReplayError> {
        let mut conn = self.manager().await?;
        let reply: redis::RedisResult<Option<String>> =
            self.set_nx_cmd(key, ttl).query_async(&mut conn).await;
        seen(reply)
    }
}

/// `OK` → first; nil → replayed; anything else → unavailable.
fn seen(reply: redis::RedisResult<Option<String>>) -> Result<Seen, ReplayError> {
    match reply {
        Ok(Some(ok)) if ok == "OK" => Ok(Seen::First),
        Ok(None) => Ok(Seen::Replayed),
        Ok(Some(other)) => Err(ReplayError::Unavailable(
            format!("unexpected reply to SET NX: {other:?}").into(),
        )),
        Err(e) => Err(ReplayError::Unavailable(Box::new(e))),
    }
}

/// Idle connections kept by the blocking flavour.
#[cfg(feature = "blocking")]
const MAX_IDLE: usize = 16;

#[cfg(feature = "blocking")]
impl super::replay::BlockingReplayStore for RedisReplayStore {
    /// The same `SET NX PX` on a pooled blocking connection: connect, read and write
    /// are each bounded by the store's timeout; a connection that failed is dropped
    /// (the next call opens a new one).
    fn check_and_insert(&self, key: ReplayKey, ttl: Duration) -> Result<Seen, ReplayError> {
        let idle = self
            .idle
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .pop();
        let mut conn = match idle {
            Some(conn) => conn,
            None => {
                let conn = self
                    .client
                    .get_connection_with_timeout(self.timeout)
                    .map_err(|e| ReplayError::Unavailable(Box::new(e)))?;
                conn.set_read_timeout(Some(self.timeout))
                    .and_then(|()| conn.set_write_timeout(Some(self.timeout)))
                    .map_err(|e| ReplayError::Unavailable(Box::new(e)))?;
                conn
            }
        };
        let outcome = seen(self.set_nx_cmd(key, ttl).query(&mut conn));
        if outcome.is_ok() && redis::ConnectionLike::is_open(&conn) {
            let mut idle = self
                .idle
                .lock()
                .unwrap_or_else(std::sync::PoisonError::into_inner);
            if idle.len() < MAX_IDLE {
                idle.push(conn);
            }
        }
        outcome
    }
}

impl ReplayStore for RedisReplayStore {
    fn check_and_insert(&self, key: ReplayKey, ttl: Duration) -> ReplayFuture<'_> {
        Box::pin(async move {
            // The connection and the deadline are Tokio's: outside a Tokio runtime they
            // would panic, so refuse (503) instead.
            if tokio::runtime::Handle::try_current().is_err() {
                return Err(ReplayError::Unavailable(
                    "RedisReplayStore is used outside a Tokio runtime".into(),
                ));
            }
            match tokio::time::timeout(self.timeout, self.set_nx(key, ttl)).await {
                Ok(outcome) => outcome,
                Err(elapsed) => Err(ReplayError::Unavailable(Box::new(elapsed))),
            }
        })
    }
}
