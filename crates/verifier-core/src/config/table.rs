//! The machinery behind the field table: one line per field generates the builder's
//! storage, the serialized form, the environment reading and the defaults, so the three
//! ways of building a configuration cannot drift apart.
//!
//! ```text
//! config_table! {
//!     storage Fields, resolved Resolved, raw RawConfig;
//!     // field        kind   environment variable    presence
//!     issuer:         Text,  "OIDC_ISSUER",           required;
//!     leeway:         Secs,  "OIDC_LEEWAY_S",         default Duration::ZERO;
//!     discovery_url:  Text,  "OIDC_DISCOVERY_URL",    optional;
//!     file_only:      Algs,  none,                    optional;
//! }
//! ```
//!
//! - The field's name is its builder storage, its key in a configuration file and the
//!   `field()` of the errors the rules in `build()` report.
//! - The kind ([`Kind`](super::kind::Kind)) says how a value is read from a file and from the
//!   environment.
//! - The environment variable (or `none`: file and code only) is read by `from_env`, and an
//!   error of `build()` naming the field is renamed to the variable.
//! - Presence: `required` (a file without it is refused by serde; an environment without it
//!   is `ConfigError(var, "must be set")`; `build()` sees an `Option`), `optional` (`build()`
//!   sees an `Option`) or `default EXPR` (`build()` sees the value or `EXPR`).
//!
//! It generates `storage` (one `Option` per field: what the builder's setters write),
//! `resolved` (defaults applied: what `build()` validates) and `raw` (the serialized
//! form, unknown fields refused), with `storage::from_raw`, `storage::from_env`,
//! `storage::resolve`, `storage::env_var` and `storage::TABLE`.

macro_rules! config_table {
    (
        storage $Storage:ident, resolved $Resolved:ident, raw $Raw:ident;
        $( $field:ident : $kind:ty, $var:tt, $presence:ident $($default:expr)? ; )*
    ) => {
        $( $crate::config::table::config_table!(@check $presence $($default)?); )*

        /// What the builder's setters write: one `Option` per field.
        #[derive(Clone, Debug, Default)]
        pub(super) struct $Storage {
            $( pub(super) $field: Option<<$kind as $crate::config::kind::Kind>::Value>, )*
        }

        /// The fields with their defaults applied: what `build()` validates.
        pub(super) struct $Resolved {
            $(
                pub(super) $field: $crate::config::table::config_table!(
                    @resolved_ty <$kind as $crate::config::kind::Kind>::Value $(, $default)?
                ),
            )*
        }

        /// The serialized form (durations are numbers of seconds).
        #[derive(::serde::Deserialize)]
        #[serde(deny_unknown_fields)]
        pub(super) struct $Raw {
            $(
                $field: $crate::config::table::config_table!(
                    @raw_ty $presence, <$kind as $crate::config::kind::Kind>::Raw
                ),
            )*
        }

        impl $Storage {
            /// Every field, its environment variable and the suffix its kind asks of
            /// variable names, in table order.
            #[allow(dead_code)]
            pub(super) const TABLE: &'static [(&'static str, Option<&'static str>, &'static str)] = &[
                $(
                    (
                        stringify!($field),
                        $crate::config::table::config_table!(@var $var),
                        <$kind as $crate::config::kind::Kind>::ENV_SUFFIX,
                    ),
                )*
            ];

            /// The fields of a configuration file; errors name the field.
            pub(super) fn from_raw(raw: $Raw) -> Result<Self, $crate::error::ConfigError> {
                Ok($Storage {
                    $(
                        $field: $crate::config::table::config_table!(@raw_value $presence, raw.$field)
                            .map(|v| {
                                <$kind as $crate::config::kind::Kind>::from_raw(stringify!($field), v)
                            })
                            .transpose()?,
                    )*
                })
            }

            /// The fields of the environment, read through `lookup`; errors name the variable.
            pub(super) fn from_env(
                lookup: &dyn Fn(&str) -> Option<String>,
            ) -> Result<Self, $crate::error::ConfigError> {
                Ok($Storage {
                    $(
                        $field: $crate::config::table::config_table!(
                            @env lookup, $kind, $presence, $var
                        ),
                    )*
                })
            }

            /// The environment variable of `field`, if it has one.
            pub(super) fn env_var(field: &str) -> Option<&'static str> {
                match field {
                    $( stringify!($field) => $crate::config::table::config_table!(@var $var), )*
                    _ => None,
                }
            }

            /// Applies the defaults.
            pub(super) fn resolve(self) -> $Resolved {
                $Resolved {
                    $(
                        $field: $crate::config::table::config_table!(
                            @resolve self.$field $(, $default)?
                        ),
                    )*
                }
            }
        }
    };

    (@check required) => {};
    (@check optional) => {};
    (@check default $default:expr) => {};

    (@resolved_ty $value:ty) => { Option<$value> };
    (@resolved_ty $value:ty, $default:expr) => { $value };

    (@resolve $v:expr) => { $v };
    (@resolve $v:expr, $default:expr) => { $v.unwrap_or_else(|| $default) };

    (@raw_ty required, $raw:ty) => { $raw };
    (@raw_ty $presence:ident, $raw:ty) => { Option<$raw> };

    (@raw_value required, $v:expr) => { Some($v) };
    (@raw_value $presence:ident, $v:expr) => { $v };

    (@var none) => { None };
    (@var $var:literal) => { Some($var) };

    (@env $lookup:ident, $kind:ty, $presence:ident, none) => { None };
    (@env $lookup:ident, $kind:ty, required, $var:literal) => {
        Some(<$kind as $crate::config::kind::Kind>::from_env(
            $var,
            $lookup($var).ok_or_else(|| $crate::error::ConfigError::new($var, "must be set"))?,
        )?)
    };
    (@env $lookup:ident, $kind:ty, $presence:ident, $var:literal) => {
        $lookup($var)
            .map(|v| <$kind as $crate::config::kind::Kind>::from_env($var, v))
            .transpose()?
    };
}

pub(super) use config_table;
