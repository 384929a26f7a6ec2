//! [`AudienceMode`]: which claim names the audience.

use std::fmt;
use std::str::FromStr;

use crate::error::ConfigError;

/// Which claim must name one of the configured audiences.
///
/// ```
/// use verifier_core::AudienceMode;
/// assert_eq!(" AUD_OR_CLIENT_ID ".parse::<AudienceMode>()?, AudienceMode::AudOrClientId);
/// assert_eq!(AudienceMode::default().as_str(), "aud");
/// # Ok::<(), verifier_core::ConfigError>(())
/// ```
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum AudienceMode {
    /// `aud` is required and must name a configured audience (RFC 7519 §4.1.3; the
    /// default).
    #[default]
    Aud,
    /// `aud`, when present, is checked as in [`Aud`](Self::Aud); when it is absent (or
    /// `null`), `client_id` must be a string equal to a configured audience. This is
    /// how AWS Cognito access tokens name their app client (they carry no `aud`);
    /// combine it with [`required_token_use`](crate::AuthConfigBuilder::required_token_use)
    /// `access` so that Cognito ID tokens are refused.
    AudOrClientId,
}

impl AudienceMode {
    /// The configuration spelling: `aud` or `aud_or_client_id`.
    pub const fn as_str(self) -> &'static str {
        match self {
            AudienceMode::Aud => "aud",
            AudienceMode::AudOrClientId => "aud_or_client_id",
        }
    }
}

impl FromStr for AudienceMode {
    type Err = ConfigError;
    /// `aud` or `aud_or_client_id`, ASCII case-insensitively, surrounding spaces ignored;
    /// errors name the field `audience_mode`.
    fn from_str(text: &str) -> Result<Self, ConfigError> {
        let text = text.trim();
        [AudienceMode::Aud, AudienceMode::AudOrClientId]
            .into_iter()
            .find(|mode| mode.as_str().eq_ignore_ascii_case(text))
            .ok_or_else(|| {
                ConfigError::new(
                    "audience_mode",
                    format!("must be aud or aud_or_client_id, got {text:?}"),
                )
            })
    }
}

impl fmt::Display for AudienceMode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}
