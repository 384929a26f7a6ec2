//! Facade crate: re-exports only.
#![forbid(unsafe_code)]
pub use verifier_core::*;
#[cfg(feature = "testkit")]
pub use verifier_testkit as testkit;
