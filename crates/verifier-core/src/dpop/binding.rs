//! Token binding (SPEC-2 §5.5 step 11b, §5.6 downgrade guard, D2): the access token's
//! `cnf` claim against the scheme it came with.

use aws_lc_rs::constant_time;
use serde_json::{Map, Value};

use super::proof::Detail;
use crate::error::{AuthError, ErrorCode};

/// How the access token was presented, for [`check_token_binding`].
#[derive(Clone, Copy, Debug)]
#[non_exhaustive]
pub enum Presented<'a> {
    /// `Authorization: Bearer`, or `verify_access_token` without request context.
    Bearer,
    /// `Authorization: DPoP` with a proof whose key has this RFC 7638 thumbprint.
    Dpop {
        /// The proof key's thumbprint.
        jkt: &'a str,
    },
}

fn refuse(code: ErrorCode, message: Option<&'static str>, detail: &str) -> AuthError {
    tracing::debug!(target: "oidc_jwt_verifier::dpop", reason = detail, "token binding refused");
    let err = AuthError::new(code);
    let err = match message {
        Some(m) => err.with_message(m),
        None => err,
    };
    err.with_source(Detail(detail.to_owned()))
}

/// Whether a token's `cnf.jkt` is the proof key's thumbprint (constant time): what
/// [`check_token_binding`] accepts for a DPoP proof when `cnf` holds only that `jkt`.
pub(crate) fn same_jkt(cnf_jkt: &str, proof_jkt: &str) -> bool {
    constant_time::verify_slices_are_equal(cnf_jkt.as_bytes(), proof_jkt.as_bytes()).is_ok()
}

/// The message of a `cnf` we cannot verify (fail closed).
pub(crate) const MSG_UNSUPPORTED: &str = "Unsupported token binding";

/// Checks a verified token's `cnf` claim (RFC 7800) against how it was presented:
///
/// - `cnf` absent: fine for Bearer; `dpop_binding_mismatch` for DPoP (an unbound token
///   cannot be used with a proof).
/// - `cnf` not an object: `invalid_token`.
/// - `cnf.jkt` present: Bearer → `dpop_bound_token` (the downgrade guard, every mode);
///   DPoP → it must be a string equal to the proof key's thumbprint, else
///   `dpop_binding_mismatch`.
/// - any other `cnf` member (e.g. `x5t#S256`, RFC 8705, not verified here) →
///   `invalid_token` "Unsupported token binding", unless
///   `allow_unverified_token_binding` (a proxy checks mTLS), when it is ignored.
///
/// ```
/// use serde_json::json;
/// use verifier_core::dpop::{check_token_binding, Presented};
/// use verifier_core::ErrorCode;
///
/// let bound = json!({"cnf": {"jkt": "0ZcOCORZNYy-DWpqq30jZyJGHTN0d2HglBV3uiguA4I"}});
/// let claims = bound.as_object().unwrap();
/// let err = check_token_binding(claims, Presented::Bearer, false).unwrap_err();
/// assert_eq!(err.code(), ErrorCode::DpopBoundToken);
/// let ok = Presented::Dpop { jkt: "0ZcOCORZNYy-DWpqq30jZyJGHTN0d2HglBV3uiguA4I" };
/// assert!(check_token_binding(claims, ok, false).is_ok());
/// ```
pub fn check_token_binding(
    claims: &Map<String, Value>,
    presented: Presented<'_>,
    allow_unverified_token_binding: bool,
) -> Result<(), AuthError> {
    let cnf = match claims.get("cnf") {
        None => {
            return match presented {
                Presented::Bearer => Ok(()),
                Presented::Dpop { .. } => Err(refuse(
                    ErrorCode::DpopBindingMismatch,
                    None,
                    "DPoP scheme with a token without cnf",
                )),
            }
        }
        Some(Value::Object(cnf)) => cnf,
        Some(_) => {
            return Err(refuse(
                ErrorCode::InvalidToken,
                None,
                "cnf is not a JSON object",
            ))
        }
    };
    if !allow_unverified_token_binding {
        if let Some(name) = cnf.keys().find(|k| *k != "jkt") {
            return Err(refuse(
                ErrorCode::InvalidToken,
                Some(MSG_UNSUPPORTED),
                &format!("cnf member {name:?} cannot be verified here"),
            ));
        }
    }
    let jkt = cnf.get("jkt");
    match presented {
        Presented::Bearer => match jkt {
            Some(_) => Err(refuse(
                ErrorCode::DpopBoundToken,
                None,
                "a token with cnf.jkt presented as Bearer",
            )),
            None => Ok(()),
        },
        Presented::Dpop { jkt: proof_jkt } => match jkt {
            Some(Value::String(jkt)) if same_jkt(jkt, proof_jkt) => Ok(()),
            Some(Value::String(_)) => Err(refuse(
                ErrorCode::DpopBindingMismatch,
                None,
                "cnf.jkt is not the proof key's thumbprint",
            )),
            Some(_) => Err(refuse(
                ErrorCode::DpopBindingMismatch,
                None,
                "cnf.jkt is not a string",
            )),
            None => Err(refuse(
                ErrorCode::DpopBindingMismatch,
                None,
                "DPoP scheme with a token whose cnf has no jkt",
            )),
        },
    }
}
