//! DPoP (RFC 9449) at the resource server (SPEC-2 §5): proof checks, `htu` matching
//! against configured public base URLs, key binding, replay protection and stateless
//! nonces.
//!
//! [`DpopVerifier`] runs the three DPoP steps of the pipeline, in order:
//!
//! 1. [`check_proof`](DpopVerifier::check_proof) (step 7c, before any key lookup):
//!    checks D1–D10 of the proof in the request's `DPoP` header against the method,
//!    the path, the raw access token and (when on) the server nonce. All local.
//! 2. [`check_binding`](DpopVerifier::check_binding) (step 11b, after the token's
//!    signature and claims): the token's `cnf.jkt` must be the proof key's thumbprint.
//! 3. [`check_replay`](DpopVerifier::check_replay) (step 12b, after every other
//!    check): atomic check-and-insert of the proof in the [`ReplayStore`], so only
//!    requests that passed everything else take room in it.
//!
//! [`check_token_binding`] with [`Presented::Bearer`] is the downgrade guard: a token
//! bound with `cnf.jkt` is refused as Bearer, whatever the mode.
//!
//! The verifiers run these steps in `authenticate` when built with
//! [`VerifierBuilder::dpop`](crate::VerifierBuilder::dpop); the integrations and the
//! challenges do not use them yet (see `docs/dpop.md`).
//!
//! ```
//! use http::{HeaderMap, Method, Uri};
//! use verifier_core::dpop::{DpopConfig, DpopMode, DpopVerifier};
//! use verifier_core::ErrorCode;
//!
//! let config = DpopConfig::builder()
//!     .mode(DpopMode::Allowed)
//!     .public_base_url("https://api.example.com")
//!     .build()
//!     .unwrap();
//! let dpop = DpopVerifier::new(config);
//! let uri: Uri = "/me".parse().unwrap();
//! let err = dpop
//!     .check_proof(&Method::GET, &uri, &HeaderMap::new(), "token")
//!     .unwrap_err();
//! assert_eq!(err.code(), ErrorCode::InvalidDpopProof);
//! assert_eq!(err.message(), "Missing DPoP proof");
//! ```

mod binding;
mod borrowed;
mod config;
pub(crate) mod htu;
pub(crate) mod keycache;
mod nonce;
pub(crate) mod proof;
#[cfg(feature = "redis")]
mod redis;
mod replay;

use std::fmt;
use std::sync::Arc;

use http::{HeaderMap, HeaderValue, Method, Uri};
use serde_json::{Map, Value};

pub(crate) use binding::same_jkt;
pub use binding::{check_token_binding, Presented};
pub use config::{DpopConfig, DpopConfigBuilder, DpopMode};
pub use nonce::MIN_SECRET_LEN as MIN_NONCE_SECRET_LEN;
#[cfg(feature = "redis")]
pub use redis::{RedisReplayStore, RedisReplayStoreBuilder};
#[cfg(feature = "blocking")]
pub use replay::BlockingReplayStore;
pub use replay::{InMemoryReplayStore, ReplayError, ReplayFuture, ReplayKey, ReplayStore, Seen};

/// The `DPoP` request header (the proof).
pub const DPOP: http::HeaderName = http::HeaderName::from_static("dpop");
/// The `DPoP-Nonce` response header (RFC 9449 §9).
pub const DPOP_NONCE: http::HeaderName = http::HeaderName::from_static("dpop-nonce");

use crate::clock::{Clock, SystemClock};
use crate::error::{AuthError, ErrorCode};
use nonce::NonceCheck;

/// A proof that passed [`DpopVerifier::check_proof`]: what the later steps need.
#[derive(Clone)]
pub struct CheckedProof {
    jkt: String,
    replay_key: ReplayKey,
    next_nonce: Option<HeaderValue>,
}

impl fmt::Debug for CheckedProof {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("CheckedProof")
            .field("jkt", &self.jkt)
            .field("replay_key", &self.replay_key)
            .field("next_nonce", &self.next_nonce.is_some())
            .finish()
    }
}

impl CheckedProof {
    /// The RFC 7638 thumbprint of the proof's key (what `cnf.jkt` must equal).
    pub fn jkt(&self) -> &str {
        &self.jkt
    }

    /// The proof's replay-store key (from `jkt` and `jti`).
    pub fn replay_key(&self) -> ReplayKey {
        self.replay_key
    }

    /// A fresh nonce to send in a `DPoP-Nonce` response header: set when the proof's
    /// nonce was valid but of the previous window.
    pub fn next_nonce(&self) -> Option<&HeaderValue> {
        self.next_nonce.as_ref()
    }
}

/// Runs the DPoP checks of one API (one [`DpopConfig`]) with its replay store.
///
/// Cheap to share (`Arc` it); every method takes `&self`.
pub struct DpopVerifier {
    config: DpopConfig,
    clock: Arc<dyn Clock>,
    memory: Option<Arc<InMemoryReplayStore>>,
    store: Arc<dyn ReplayStore>,
    #[cfg(feature = "blocking")]
    blocking_store: Option<Arc<dyn BlockingReplayStore>>,
    /// Parsed proof keys of recent clients (bounded).
    keys: keycache::ProofKeyCache,
}

impl fmt::Debug for DpopVerifier {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("DpopVerifier")
            .field("config", &self.config)
            .field("store", &self.store)
            .finish_non_exhaustive()
    }
}

impl DpopVerifier {
    /// A verifier for `config` on the system clock, with an in-memory replay store of
    /// `config.replay_cache_size()` entries.
    pub fn new(config: DpopConfig) -> DpopVerifier {
        Self::with_clock(config, Arc::new(SystemClock))
    }

    /// Like [`new`](Self::new), on `clock`: its wall time judges `iat` and nonce
    /// windows, its monotonic time ages replay entries.
    pub fn with_clock(config: DpopConfig, clock: Arc<dyn Clock>) -> DpopVerifier {
        let memory = Arc::new(InMemoryReplayStore::with_clock(
            config.replay_cache_size(),
            clock.clone(),
        ));
        DpopVerifier {
            config,
            clock,
            store: memory.clone(),
            #[cfg(feature = "blocking")]
            blocking_store: Some(memory.clone()),
            memory: Some(memory),
            keys: keycache::ProofKeyCache::default(),
        }
    }

    /// Uses `store` (e.g. one shared by every replica) instead of the in-memory one,
    /// for [`check_replay`](Self::check_replay). [`check_replay_blocking`] then needs a
    /// [`with_blocking_store`](Self::with_blocking_store) too.
    ///
    /// [`check_replay_blocking`]: Self::check_replay_blocking
    pub fn with_store(mut self, store: Arc<dyn ReplayStore>) -> DpopVerifier {
        self.store = store;
        self.memory = None;
        #[cfg(feature = "blocking")]
        {
            self.blocking_store = None;
        }
        self
    }

    /// Uses `store` for [`check_replay_blocking`](Self::check_replay_blocking).
    #[cfg(feature = "blocking")]
    pub fn with_blocking_store(mut self, store: Arc<dyn BlockingReplayStore>) -> DpopVerifier {
        self.blocking_store = Some(store);
        self
    }

    /// The configuration.
    pub fn config(&self) -> &DpopConfig {
        &self.config
    }

    /// The in-memory replay store, when it is the one in use (for its size).
    pub fn replay_cache(&self) -> Option<&InMemoryReplayStore> {
        self.memory.as_deref()
    }

    /// The nonce of the current window as a `DPoP-Nonce` value, when nonces are on.
    pub fn current_nonce(&self) -> Option<HeaderValue> {
        self.config
            .nonces
            .as_ref()
            .map(|n| n.current_header(self.clock.unix_time()))
    }

    /// Step 7c: checks D1–D10 of SPEC-2 §5.3 on the request's one `DPoP` header field,
    /// for the request `method` and the path of `uri` (the full path the client used:
    /// behind a nested router, the original URI), and the raw `access_token` of the
    /// `Authorization: DPoP` field.
    ///
    /// `htu` is matched against the configured public base URLs + the path; the
    /// `Host` and `X-Forwarded-*` headers are never read. Errors:
    /// `invalid_dpop_proof` with a message of §5.9, or `use_dpop_nonce` with a
    /// `DPoP-Nonce` value ([`AuthError::dpop_nonce`]).
    pub fn check_proof(
        &self,
        method: &Method,
        uri: &Uri,
        headers: &HeaderMap,
        access_token: &str,
    ) -> Result<CheckedProof, AuthError> {
        let config = &self.config;
        let compact = proof::proof_field(headers)?;
        let parsed = proof::parse_cached(compact, &config.algs, &self.keys)?;
        parsed.check_request(method, uri.path(), &config.base_urls)?;
        let unix_now = self.clock.unix_time();
        parsed.check_fresh(
            unix_now,
            config.max_age.as_secs_f64(),
            config.leeway.as_secs_f64(),
        )?;
        parsed.check_ath(access_token)?;
        let mut next_nonce = None;
        if let Some(nonces) = &config.nonces {
            let check = parsed
                .nonce
                .as_deref()
                .map_or(NonceCheck::Invalid, |n| nonces.check(n, unix_now));
            match check {
                NonceCheck::Current => {}
                NonceCheck::Previous => next_nonce = Some(nonces.current_header(unix_now)),
                NonceCheck::Invalid => {
                    let detail = if parsed.nonce.is_some() {
                        "nonce is not a valid current or previous nonce"
                    } else {
                        "no nonce"
                    };
                    tracing::debug!(target: "oidc_jwt_verifier::dpop", reason = detail, "nonce required");
                    return Err(AuthError::new(ErrorCode::UseDpopNonce)
                        .with_dpop_nonce(nonces.current_header(unix_now))
                        .with_source(proof::Detail(detail.to_owned())));
                }
            }
        }
        let replay_key = ReplayKey::new(&parsed.jkt, &parsed.jti);
        Ok(CheckedProof {
            jkt: parsed.jkt,
            replay_key,
            next_nonce,
        })
    }

    /// Step 11b: the verified token's `cnf` against the proof (see
    /// [`check_token_binding`]; `dpop_binding_mismatch` unless `cnf.jkt` is the proof
    /// key's thumbprint).
    pub fn check_binding(
        &self,
        proof: &CheckedProof,
        claims: &Map<String, Value>,
    ) -> Result<(), AuthError> {
        check_token_binding(
            claims,
            Presented::Dpop { jkt: &proof.jkt },
            self.config.allow_unverified_token_binding,
        )
    }

    /// The downgrade guard for a token presented as Bearer (every mode, also `off`):
    /// `dpop_bound_token` when it carries `cnf.jkt`.
    pub fn check_bearer_binding(&self, claims: &Map<String, Value>) -> Result<(), AuthError> {
        check_token_binding(
            claims,
            Presented::Bearer,
            self.config.allow_unverified_token_binding,
        )
    }

    /// Step 12b: records the proof, atomically, for the replay window
    /// ([`DpopConfig::replay_ttl`]). `dpop_proof_replayed` when it was seen;
    /// `dpop_replay_cache_full` (503) when the store is full or does not answer.
    pub async fn check_replay(&self, proof: &CheckedProof) -> Result<(), AuthError> {
        let outcome = self
            .store
            .check_and_insert(proof.replay_key, self.config.replay_ttl())
            .await;
        Self::replay_outcome(outcome)
    }

    /// The blocking flavour of [`check_replay`](Self::check_replay), on the in-memory
    /// store or the one of [`with_blocking_store`](Self::with_blocking_store). Without
    /// a blocking store (after [`with_store`](Self::with_store) alone) every proof is
    /// refused with 503: a store that cannot be asked never accepts.
    #[cfg(feature = "blocking")]
    pub fn check_replay_blocking(&self, proof: &CheckedProof) -> Result<(), AuthError> {
        let outcome = match &self.blocking_store {
            Some(store) => store.check_and_insert(proof.replay_key, self.config.replay_ttl()),
            None => Err(ReplayError::Unavailable(
                "no blocking replay store is configured".into(),
            )),
        };
        Self::replay_outcome(outcome)
    }

    fn replay_outcome(outcome: Result<Seen, ReplayError>) -> Result<(), AuthError> {
        match outcome {
            Ok(Seen::First) => Ok(()),
            Ok(Seen::Replayed) => {
                tracing::debug!(target: "oidc_jwt_verifier::dpop", "proof replayed");
                Err(AuthError::new(ErrorCode::DpopProofReplayed))
            }
            Err(e) => {
                tracing::warn!(target: "oidc_jwt_verifier::dpop", error = %e, "replay store refused the proof");
                Err(e.into_auth_error())
            }
        }
    }
}
