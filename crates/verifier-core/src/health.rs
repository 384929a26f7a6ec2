//! Readiness that says why (SPEC-2 §1.8): per issuer, whether it can verify tokens now,
//! and the state of its metadata and key-set lifecycles.
//!
//! [`Health`] is `serde::Serialize`, so a readiness endpoint can return it as its body:
//!
//! ```no_run
//! # async fn run(verifier: verifier_core::AsyncJwtVerifier) {
//! let health = verifier.health().await;
//! let status = if health.ready { 200 } else { 503 };
//! let body = serde_json::to_string(&health).unwrap();
//! # let _ = (status, body);
//! # }
//! ```

use std::time::{SystemTime, UNIX_EPOCH};

use serde::Serializer;

use crate::discovery::MetadataStats;
use crate::error::ErrorCode;
use crate::jwks::JwksStats;

/// The readiness of a verifier: ready when every issuer is.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize)]
#[non_exhaustive]
pub struct Health {
    /// Every issuer has a usable key set (and, when discovering, usable metadata).
    pub ready: bool,
    /// One entry per configured issuer, in configuration order.
    pub issuers: Vec<IssuerHealth>,
}

/// The readiness of one issuer.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize)]
#[non_exhaustive]
pub struct IssuerHealth {
    /// The configured issuer.
    pub issuer: String,
    /// A usable key set exists (fetched if there was none), and, when keys are
    /// discovered, a usable metadata document.
    pub ready: bool,
    /// The metadata lifecycle; `None` when keys are not discovered.
    pub metadata: Option<MetadataStats>,
    /// The key-set lifecycle.
    pub jwks: JwksStats,
    /// The code of the last failed fetch (key set first, then metadata), until a later
    /// success erases it. Serialized as the code string (`"jwks_fetch_failed"`).
    #[serde(serialize_with = "code_name")]
    pub last_error: Option<ErrorCode>,
}

/// Not ready, nothing known: what a readiness check reports when it could not run (a
/// blocking check whose thread pool task was cancelled).
impl Default for Health {
    fn default() -> Self {
        Health {
            ready: false,
            issuers: Vec::new(),
        }
    }
}

impl Health {
    pub(crate) fn of(issuers: Vec<IssuerHealth>) -> Health {
        Health {
            ready: issuers.iter().all(|i| i.ready),
            issuers,
        }
    }
}

impl IssuerHealth {
    pub(crate) fn new(
        issuer: &str,
        ready: bool,
        jwks: (JwksStats, Option<ErrorCode>),
        metadata: Option<(MetadataStats, Option<ErrorCode>)>,
    ) -> IssuerHealth {
        let (metadata, metadata_error) = metadata.unzip();
        IssuerHealth {
            issuer: issuer.to_owned(),
            ready,
            metadata,
            last_error: jwks.1.or(metadata_error.flatten()),
            jwks: jwks.0,
        }
    }
}

/// Serializes a time as whole seconds since the Unix epoch (`null` when absent).
pub(crate) fn unix_seconds<S: Serializer>(
    time: &Option<SystemTime>,
    serializer: S,
) -> Result<S::Ok, S::Error> {
    match time.and_then(|t| t.duration_since(UNIX_EPOCH).ok()) {
        Some(since) => serializer.serialize_some(&since.as_secs()),
        None => serializer.serialize_none(),
    }
}

fn code_name<S: Serializer>(code: &Option<ErrorCode>, serializer: S) -> Result<S::Ok, S::Error> {
    match code {
        Some(code) => serializer.serialize_some(code.as_str()),
        None => serializer.serialize_none(),
    }
}
