//! What a verifier shows the outside as a resource server: the DPoP scheme, the
//! protected-resource metadata, the token cookie, and the challenge they imply.

use crate::challenge::Challenge;
use crate::config::VerifierConfig;
use crate::dpop::{DpopMode, DpopVerifier};
use crate::error::ConfigError;
use crate::resource::ProtectedResourceMetadata;

/// The resource-server settings a verifier was built with.
#[derive(Default)]
pub(crate) struct Surface {
    /// The DPoP scheme's checks, when the verifier accepts it.
    pub(crate) dpop: Option<DpopVerifier>,
    /// The RFC 9728 document, when a resource is configured.
    pub(crate) metadata: Option<ProtectedResourceMetadata>,
    /// The cookie a token is also read from.
    pub(crate) token_cookie: Option<Box<str>>,
    /// The MCP preset is on.
    pub(crate) mcp: bool,
}

impl Surface {
    /// The surface of `config`; `dpop` (a verifier with its own replay store) wins over
    /// the configuration's DPoP settings.
    pub(crate) fn new(
        config: &VerifierConfig,
        dpop: Option<DpopVerifier>,
    ) -> Result<Surface, ConfigError> {
        let dpop = dpop.or_else(|| config.dpop().cloned().map(DpopVerifier::new));
        let resource = config.resource();
        let metadata = match resource.resource() {
            None => None,
            Some(_) => {
                let doc = ProtectedResourceMetadata::new(resource, config.issuers())?;
                Some(match &dpop {
                    Some(d) if d.config().mode() != DpopMode::Off => {
                        let required = d.config().mode() == DpopMode::Required;
                        doc.with_dpop(required, d.config().algs())
                    }
                    _ => doc,
                })
            }
        };
        Ok(Surface {
            dpop,
            metadata,
            token_cookie: resource.token_cookie().map(Box::from),
            mcp: resource.mcp(),
        })
    }

    /// The DPoP mode (`off` without DPoP).
    pub(crate) fn dpop_mode(&self) -> DpopMode {
        self.dpop
            .as_ref()
            .map_or(DpopMode::Off, |d| d.config().mode())
    }

    /// The challenge these settings imply, with `realm`.
    pub(crate) fn challenge(&self, realm: Option<&str>) -> Challenge {
        let mut challenge = Challenge::bearer(realm);
        if let Some(doc) = &self.metadata {
            challenge = challenge.with_resource_metadata(doc.url().as_str());
        }
        if let Some(dpop) = &self.dpop {
            let config = dpop.config();
            match config.mode() {
                DpopMode::Off => {}
                mode => challenge = challenge.with_dpop(mode == DpopMode::Required, config.algs()),
            }
        }
        challenge
    }
}

mod sealed {
    pub trait Sealed {}
}

/// What a verifier publishes as a resource server: its protected-resource metadata and
/// its DPoP settings. Implemented by [`AsyncJwtVerifier`](crate::AsyncJwtVerifier),
/// [`JwtVerifier`](crate::JwtVerifier) and [`Verifier`](crate::Verifier); integrations
/// build their [`Challenge`] and metadata route from it
/// ([`Challenge::for_verifier`]).
pub trait ResourceServer: sealed::Sealed {
    /// The protected-resource metadata document (RFC 9728), when a resource is
    /// configured; served at [`ProtectedResourceMetadata::path`].
    fn resource_metadata(&self) -> Option<&ProtectedResourceMetadata>;
    /// The DPoP verifier, when the `DPoP` scheme is accepted.
    fn dpop(&self) -> Option<&DpopVerifier>;
    /// The challenge of this verifier with `realm`: `resource_metadata` when a resource
    /// is configured, the `DPoP` scheme (and only it when DPoP is `required`).
    fn challenge(&self, realm: Option<&str>) -> Challenge;
    /// Whether the MCP preset is on (SPEC-2 §4.7): routes that require scopes then name
    /// them in their 401 without credentials ([`Challenge::for_route`]).
    fn mcp(&self) -> bool;
}

macro_rules! resource_server {
    ($ty:ty) => {
        impl sealed::Sealed for $ty {}
        impl ResourceServer for $ty {
            fn resource_metadata(&self) -> Option<&ProtectedResourceMetadata> {
                self.surface().metadata.as_ref()
            }
            fn dpop(&self) -> Option<&DpopVerifier> {
                self.surface().dpop.as_ref()
            }
            fn challenge(&self, realm: Option<&str>) -> Challenge {
                self.surface().challenge(realm)
            }
            fn mcp(&self) -> bool {
                self.surface().mcp
            }
        }
    };
}

resource_server!(crate::AsyncJwtVerifier);
#[cfg(feature = "blocking")]
resource_server!(crate::JwtVerifier);

resource_server!(crate::Verifier);
