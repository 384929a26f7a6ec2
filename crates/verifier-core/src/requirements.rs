//! [`Requirements`]: what one route asks of a verified token beyond the verifier-wide
//! policy (SPEC-2 §0.2, step 12), in one place for every integration.

use std::sync::Arc;

use crate::claims::Claims;
use crate::error::AuthError;

/// Scopes and permissions a route requires, on top of the issuer's own
/// `required_scopes` / `required_permissions`. Checked at step 12 of the pipeline:
/// after the claims, before a DPoP proof's `jti` is recorded, so a request refused for
/// scope does not use up its proof. Cheap to clone.
///
/// Entries are trimmed, empty ones ignored and duplicates dropped; a string is one
/// scope, not split.
///
/// ```
/// use verifier_core::Requirements;
/// let admin = Requirements::new().scopes(["admin", " "]).permissions(["read:all"]);
/// assert_eq!(admin.required_scopes(), ["admin"]);
/// assert_eq!(admin.required_permissions(), ["read:all"]);
/// assert!(Requirements::new().is_empty());
/// ```
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Requirements {
    scopes: Arc<[String]>,
    permissions: Arc<[String]>,
}

impl Requirements {
    /// No requirement (the verifier-wide policy only).
    pub fn new() -> Self {
        Self::default()
    }

    /// Adds scopes (403 `insufficient_scope` when one is missing).
    #[must_use]
    pub fn scopes<I, S>(mut self, scopes: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: AsRef<str>,
    {
        self.scopes = extend(&self.scopes, scopes);
        self
    }

    /// Adds permissions (403 `insufficient_permissions` when one is missing).
    #[must_use]
    pub fn permissions<I, S>(mut self, permissions: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: AsRef<str>,
    {
        self.permissions = extend(&self.permissions, permissions);
        self
    }

    /// The required scopes, in the order given.
    pub fn required_scopes(&self) -> &[String] {
        &self.scopes
    }

    /// The required permissions, in the order given.
    pub fn required_permissions(&self) -> &[String] {
        &self.permissions
    }

    /// True when nothing is required.
    pub fn is_empty(&self) -> bool {
        self.scopes.is_empty() && self.permissions.is_empty()
    }

    /// Checks verified claims: scopes first, then permissions.
    ///
    /// ```
    /// use verifier_core::{Claims, Requirements};
    /// let claims = Claims::from_map(serde_json::json!({"scope": "read"}).as_object().unwrap().clone());
    /// assert!(Requirements::new().scopes(["read"]).check(&claims).is_ok());
    /// let err = Requirements::new().scopes(["write"]).check(&claims).unwrap_err();
    /// assert_eq!(err.code().as_str(), "insufficient_scope");
    /// ```
    pub fn check(&self, claims: &Claims) -> Result<(), AuthError> {
        if !self.scopes.is_empty() {
            claims.require_scopes(&self.scopes)?;
        }
        if !self.permissions.is_empty() {
            claims.require_permissions(&self.permissions)?;
        }
        Ok(())
    }
}

fn extend<I, S>(current: &[String], more: I) -> Arc<[String]>
where
    I: IntoIterator<Item = S>,
    S: AsRef<str>,
{
    let mut all = current.to_vec();
    for item in more {
        let item = item.as_ref().trim();
        if !item.is_empty() && !all.iter().any(|have| have == item) {
            all.push(item.to_owned());
        }
    }
    all.into()
}
