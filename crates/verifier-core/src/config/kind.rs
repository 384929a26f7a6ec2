//! The kinds of configuration values: how each kind is read from a configuration file and
//! from an environment variable. A field's kind is its one parsing rule.

use std::time::Duration;

use serde::de::DeserializeOwned;
use serde::Deserialize;

use crate::alg::Algorithm;
use crate::discovery::Discovery;
use crate::error::ConfigError;

/// How one kind of value is read from a configuration file and from the environment.
pub(super) trait Kind {
    /// What the builder stores.
    type Value;
    /// What a configuration file holds.
    type Raw: DeserializeOwned;
    /// How the variables of this kind end (`_S` for seconds).
    const ENV_SUFFIX: &'static str = "";
    /// From a configuration file; errors name `field`.
    fn from_raw(field: &'static str, raw: Self::Raw) -> Result<Self::Value, ConfigError>;
    /// From an environment variable; errors name `var`.
    fn from_env(var: &'static str, value: String) -> Result<Self::Value, ConfigError>;
}

/// A string, taken as is (the rules trim it).
pub(super) struct Text;

/// A list: one string or an array in a file, comma-separated in the environment.
pub(super) struct List;

/// A set: one string or an array in a file, space-separated in the environment.
pub(super) struct Words;

/// The accepted algorithms: a [`List`] of [`Algorithm`] names.
pub(super) struct Algs;

/// A duration: a number of seconds (fractions allowed); `_S` variables.
pub(super) struct Secs;

/// A non-negative integer.
pub(super) struct Count;

/// A [`Discovery`] mode: `auto`, `oidc`, `oauth` or `off` (ASCII case-insensitive).
pub(super) struct Disc;

/// A boolean; the environment also takes `1/0`, `yes/no`, `on/off` and empty (false).
pub(super) struct Flag;

impl Kind for Text {
    type Value = String;
    type Raw = String;
    fn from_raw(_: &'static str, raw: String) -> Result<String, ConfigError> {
        Ok(raw)
    }
    fn from_env(_: &'static str, value: String) -> Result<String, ConfigError> {
        Ok(value)
    }
}

impl Kind for List {
    type Value = Vec<String>;
    type Raw = OneOrMany;
    fn from_raw(_: &'static str, raw: OneOrMany) -> Result<Vec<String>, ConfigError> {
        Ok(raw.into_vec())
    }
    fn from_env(_: &'static str, value: String) -> Result<Vec<String>, ConfigError> {
        Ok(split_list(&value, ','))
    }
}

impl Kind for Words {
    type Value = Vec<String>;
    type Raw = OneOrMany;
    fn from_raw(_: &'static str, raw: OneOrMany) -> Result<Vec<String>, ConfigError> {
        Ok(raw.into_vec())
    }
    fn from_env(_: &'static str, value: String) -> Result<Vec<String>, ConfigError> {
        Ok(value.split_whitespace().map(str::to_owned).collect())
    }
}

impl Kind for Algs {
    type Value = Vec<Algorithm>;
    type Raw = OneOrMany;
    fn from_raw(_: &'static str, raw: OneOrMany) -> Result<Vec<Algorithm>, ConfigError> {
        raw.into_vec()
            .iter()
            .filter(|a| !a.trim().is_empty())
            .map(|a| a.parse::<Algorithm>())
            .collect()
    }
    fn from_env(var: &'static str, value: String) -> Result<Vec<Algorithm>, ConfigError> {
        let algs = split_list(&value, ',')
            .iter()
            .map(|a| a.parse::<Algorithm>())
            .collect::<Result<Vec<_>, _>>()
            .map_err(|e| e.renamed(var))?;
        if algs.is_empty() {
            return Err(ConfigError::new(var, "must be non-empty"));
        }
        Ok(algs)
    }
}

impl Kind for Secs {
    type Value = Duration;
    type Raw = f64;
    const ENV_SUFFIX: &'static str = "_S";
    fn from_raw(field: &'static str, raw: f64) -> Result<Duration, ConfigError> {
        secs_to_duration(raw).map_err(|r| ConfigError::new(field, r))
    }
    fn from_env(var: &'static str, value: String) -> Result<Duration, ConfigError> {
        let v: f64 = value.trim().parse().map_err(|_| {
            ConfigError::new(var, format!("must be a number of seconds, got {value:?}"))
        })?;
        secs_to_duration(v).map_err(|r| ConfigError::new(var, r))
    }
}

impl Kind for Count {
    type Value = usize;
    type Raw = usize;
    fn from_raw(_: &'static str, raw: usize) -> Result<usize, ConfigError> {
        Ok(raw)
    }
    fn from_env(var: &'static str, value: String) -> Result<usize, ConfigError> {
        value.trim().parse::<usize>().map_err(|_| {
            ConfigError::new(
                var,
                format!("must be a non-negative integer, got {value:?}"),
            )
        })
    }
}

impl Kind for Flag {
    type Value = bool;
    type Raw = bool;
    fn from_raw(_: &'static str, raw: bool) -> Result<bool, ConfigError> {
        Ok(raw)
    }
    fn from_env(var: &'static str, value: String) -> Result<bool, ConfigError> {
        match value.trim().to_ascii_lowercase().as_str() {
            "1" | "true" | "yes" | "on" => Ok(true),
            "0" | "false" | "no" | "off" | "" => Ok(false),
            _ => Err(ConfigError::new(
                var,
                format!("must be true or false, got {value:?}"),
            )),
        }
    }
}

impl Kind for Disc {
    type Value = Discovery;
    type Raw = String;
    fn from_raw(field: &'static str, raw: String) -> Result<Discovery, ConfigError> {
        discovery(field, &raw)
    }
    fn from_env(var: &'static str, value: String) -> Result<Discovery, ConfigError> {
        discovery(var, &value)
    }
}

fn discovery(name: &'static str, value: &str) -> Result<Discovery, ConfigError> {
    Discovery::from_name(value).ok_or_else(|| {
        ConfigError::new(
            name,
            format!("must be one of auto, oidc, oauth or off, got {value:?}"),
        )
    })
}

/// One string or a list of strings.
#[derive(Deserialize)]
#[serde(untagged)]
pub(super) enum OneOrMany {
    One(String),
    Many(Vec<String>),
}

impl OneOrMany {
    fn into_vec(self) -> Vec<String> {
        match self {
            OneOrMany::One(s) => vec![s],
            OneOrMany::Many(v) => v,
        }
    }
}

fn split_list(value: &str, sep: char) -> Vec<String> {
    value
        .split(sep)
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .map(str::to_owned)
        .collect()
}

fn secs_to_duration(v: f64) -> Result<Duration, String> {
    if !v.is_finite() || v < 0.0 {
        return Err(format!("must be a finite number of seconds >= 0, got {v}"));
    }
    Duration::try_from_secs_f64(v).map_err(|_| format!("is out of range: {v}"))
}

/// An [`AudienceMode`](super::AudienceMode) name (`aud`, `aud_or_client_id`; case and
/// surrounding spaces ignored).
pub(super) struct Mode;

impl Kind for Mode {
    type Value = super::AudienceMode;
    type Raw = String;
    fn from_raw(field: &'static str, raw: String) -> Result<super::AudienceMode, ConfigError> {
        raw.parse().map_err(|e: ConfigError| e.renamed(field))
    }
    fn from_env(var: &'static str, value: String) -> Result<super::AudienceMode, ConfigError> {
        value.parse().map_err(|e: ConfigError| e.renamed(var))
    }
}

/// An [`AccessTokenProfile`](crate::AccessTokenProfile) name (`generic`, `rfc9068`; case
/// and surrounding spaces ignored).
pub(super) struct Prof;

impl Kind for Prof {
    type Value = crate::profile::AccessTokenProfile;
    type Raw = String;
    fn from_raw(field: &'static str, raw: String) -> Result<Self::Value, ConfigError> {
        raw.parse().map_err(|e: ConfigError| e.renamed(field))
    }
    fn from_env(var: &'static str, value: String) -> Result<Self::Value, ConfigError> {
        value.parse().map_err(|e: ConfigError| e.renamed(var))
    }
}
