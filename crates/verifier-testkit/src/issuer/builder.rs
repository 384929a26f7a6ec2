//! [`TestIssuerBuilder`] and the metadata [`Layout`]: an issuer's path, keys and
//! where its metadata document is served.

use super::DEFAULT_KID;
use crate::{Alg, TestIssuer, TestKey};

/// Where a [`TestIssuer`] serves its metadata document (SPEC-2 §1.4), set with
/// [`TestIssuerBuilder::discovery`].
///
/// With `P` the issuer path less one terminating `/` (`/` alone becomes empty):
/// the OIDC URL is `origin + P + "/.well-known/openid-configuration"` (OpenID
/// Connect Discovery §4), the RFC 8414 URL is
/// `origin + "/.well-known/oauth-authorization-server" + P` (RFC 8414 §3.1). A
/// URL the layout does not serve answers 404, but its requests are still counted
/// and metadata faults still apply to it.
///
/// ```
/// use verifier_testkit::{Layout, TestIssuer};
///
/// let issuer = TestIssuer::builder().path("/realms/acme").discovery(Layout::Rfc8414).start();
/// assert_eq!(
///     issuer.oauth_metadata_url(),
///     format!("{}/.well-known/oauth-authorization-server/realms/acme", issuer.base_url())
/// );
/// assert_eq!(
///     issuer.discovery_url(),
///     format!("{}/.well-known/openid-configuration", issuer.issuer())
/// );
/// ```
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum Layout {
    /// The OIDC URL only (the default, and what [`TestIssuer::start`] serves).
    #[default]
    Oidc,
    /// The RFC 8414 URL only; the OIDC URL answers 404.
    Rfc8414,
    /// Both URLs, with the same document.
    Both,
    /// Neither: both URLs answer 404.
    None,
}

impl Layout {
    pub(super) fn serves_oidc(self) -> bool {
        matches!(self, Layout::Oidc | Layout::Both)
    }

    pub(super) fn serves_rfc8414(self) -> bool {
        matches!(self, Layout::Rfc8414 | Layout::Both)
    }
}

/// Configures a [`TestIssuer`] before it starts: the issuer path, the published
/// keys and the [`Layout`] of its metadata URLs. Made by [`TestIssuer::builder`].
///
/// ```
/// use verifier_testkit::{Alg, Layout, TestIssuer, TestKey};
///
/// let key = TestKey::generate(Alg::ES256, "ec");
/// let issuer = TestIssuer::builder()
///     .path("/realms/acme")
///     .keys(&[key])
///     .discovery(Layout::Both)
///     .start();
/// assert_eq!(issuer.issuer(), format!("{}/realms/acme", issuer.base_url()));
/// assert_eq!(issuer.jwks_url(), format!("{}/realms/acme/jwks.json", issuer.base_url()));
/// assert_eq!(issuer.default_key().kid(), "ec");
/// ```
#[derive(Clone, Debug)]
#[must_use = "a builder does nothing until `start` is called"]
pub struct TestIssuerBuilder {
    path: String,
    keys: Option<Vec<TestKey>>,
    layout: Layout,
}

impl TestIssuerBuilder {
    /// Path `/`, the default key, [`Layout::Oidc`].
    pub(super) fn new() -> Self {
        TestIssuerBuilder {
            path: "/".to_owned(),
            keys: None,
            layout: Layout::Oidc,
        }
    }

    /// The issuer URL's path: the issuer is `http://127.0.0.1:PORT` + `path`
    /// exactly as given (a terminating `/` is kept), and the JWKS is served at
    /// `P + "/jwks.json"` (`P` as in [`Layout`]). Default `/`.
    ///
    /// ```
    /// let issuer = verifier_testkit::TestIssuer::builder().path("/tenant/").start();
    /// assert_eq!(issuer.issuer(), format!("{}/tenant/", issuer.base_url()));
    /// assert_eq!(issuer.jwks_url(), format!("{}/tenant/jwks.json", issuer.base_url()));
    /// ```
    ///
    /// # Panics
    ///
    /// If `path` does not start with `/`, starts with `//`, or contains `?`, `#`,
    /// a space or a control character.
    pub fn path(mut self, path: &str) -> Self {
        check_path("TestIssuerBuilder::path", path);
        self.path = path.to_owned();
        self
    }

    /// Publishes exactly `keys`, in this order (see [`TestIssuer::start_with_keys`]).
    /// Default: one fresh RS256 key with kid `"test-rs256"`, as [`TestIssuer::start`].
    ///
    /// ```
    /// use verifier_testkit::{Alg, TestIssuer, TestKey};
    ///
    /// let issuer = TestIssuer::builder().keys(&[TestKey::generate(Alg::EdDSA, "ed")]).start();
    /// assert_eq!(issuer.keys()[0].kid(), "ed");
    /// ```
    pub fn keys(mut self, keys: &[TestKey]) -> Self {
        self.keys = Some(keys.to_vec());
        self
    }

    /// Where the metadata document is served. Default [`Layout::Oidc`].
    ///
    /// ```
    /// use verifier_testkit::{Layout, TestIssuer};
    ///
    /// let issuer = TestIssuer::builder().discovery(Layout::None).start();
    /// # let _ = issuer;
    /// ```
    pub fn discovery(mut self, layout: Layout) -> Self {
        self.layout = layout;
        self
    }

    /// Binds an ephemeral port on 127.0.0.1 and starts serving.
    ///
    /// ```
    /// let issuer = verifier_testkit::TestIssuer::builder().start();
    /// assert_eq!(issuer.issuer(), format!("{}/", issuer.base_url()));
    /// ```
    ///
    /// # Panics
    ///
    /// If no port can be bound on 127.0.0.1.
    pub fn start(self) -> TestIssuer {
        let keys = self
            .keys
            .unwrap_or_else(|| vec![TestKey::generate(Alg::RS256, DEFAULT_KID)]);
        TestIssuer::spawn(&self.path, &keys, self.layout)
    }
}

/// Panics unless `path` is an absolute URL path the server can route.
pub(super) fn check_path(what: &str, path: &str) {
    assert!(
        path.starts_with('/')
            && !path.starts_with("//")
            && !path.contains(['?', '#', ' '])
            && !path.chars().any(char::is_control),
        "{what}: {path:?} is not an absolute path without query or fragment"
    );
}

/// The issuer path less one terminating `/` (`/` alone becomes empty).
pub(super) fn trim_one_slash(path: &str) -> &str {
    path.strip_suffix('/').unwrap_or(path)
}
