//! [`ClaimRule`]: a check of the application's own over the verified claims.

use std::fmt;
use std::sync::Arc;

use super::Claims;
use crate::error::AuthError;

type RuleFn = dyn Fn(&Claims) -> Result<(), AuthError> + Send + Sync + 'static;

/// A rule of the application's own over the claims, added with
/// [`AuthConfigBuilder::rule`](crate::AuthConfigBuilder::rule). Cheap to clone.
#[derive(Clone)]
pub(crate) struct ClaimRule(Arc<RuleFn>);

impl ClaimRule {
    /// Wraps a function.
    pub(crate) fn new<F>(rule: F) -> Self
    where
        F: Fn(&Claims) -> Result<(), AuthError> + Send + Sync + 'static,
    {
        ClaimRule(Arc::new(rule))
    }

    /// Runs the rule.
    pub(crate) fn check(&self, claims: &Claims) -> Result<(), AuthError> {
        (self.0)(claims)
    }
}

impl fmt::Debug for ClaimRule {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("ClaimRule(..)")
    }
}
