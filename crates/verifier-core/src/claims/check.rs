//! Steps 11-12 on the registered claims a [`Payload`] kept from its one borrowed pass: no
//! map is built unless required scopes or permissions, or application rules, need it.
//!
//! The same checks, in the same order, with the same error codes as the map-based
//! reference ([`validate_map`](super::validate_map)); `tests/properties.rs` compares the
//! two on random payloads. A new claim check goes into both.

use crate::config::{AudienceMode, AuthConfig};
use crate::error::{AuthError, ErrorCode};

use super::payload::{Payload, Val};
use super::{require, validate_map, Claims};
use crate::dpop::{check_token_binding, same_jkt, Presented};
use crate::profile::AccessTokenProfile;

/// A time claim must be a JSON number (numeric strings and other shapes are refused).
fn time_value(value: Option<&Val>, code: ErrorCode) -> Result<Option<f64>, AuthError> {
    match value {
        None => Ok(None),
        Some(Val::Num(n)) if n.is_finite() => Ok(Some(*n)),
        Some(_) => Err(AuthError::new(code)),
    }
}

fn audience_matches(p: &Payload, aud: &Val, config: &AuthConfig) -> Result<(), AuthError> {
    let wanted = config.audiences();
    match aud {
        Val::Str(s) => {
            let s = p.str(s);
            if s.is_empty() {
                Err(AuthError::missing_claim("aud"))
            } else if wanted.iter().any(|w| w == s) {
                Ok(())
            } else {
                Err(AuthError::new(ErrorCode::InvalidAudience))
            }
        }
        Val::Arr(items) if items.is_empty() => Err(AuthError::missing_claim("aud")),
        Val::Arr(items) => {
            let mut found = false;
            for item in items {
                match item {
                    Val::Str(s) => found |= wanted.iter().any(|w| w == p.str(s)),
                    _ => return Err(AuthError::new(ErrorCode::InvalidAudience)),
                }
            }
            if found {
                Ok(())
            } else {
                Err(AuthError::new(ErrorCode::InvalidAudience))
            }
        }
        _ => Err(AuthError::new(ErrorCode::InvalidAudience)),
    }
}

/// The audience check of the configured [`AudienceMode`] (`aud`, `client_id`: present
/// and not `null`, else `None`).
fn audience_ok(
    p: &Payload,
    aud: Option<&Val>,
    client_id: Option<&Val>,
    config: &AuthConfig,
) -> Result<(), AuthError> {
    match (aud, config.audience_mode()) {
        (Some(aud), _) => audience_matches(p, aud, config),
        (None, AudienceMode::AudOrClientId) => match client_id.map(|v| p.as_str(v)) {
            None => Err(AuthError::missing_claim("aud")),
            Some(Some(s)) if config.audiences().iter().any(|w| w == s) => Ok(()),
            Some(_) => Err(AuthError::new(ErrorCode::InvalidAudience)),
        },
        (None, _) => Err(AuthError::missing_claim("aud")),
    }
}

/// The required `token_use`, when one is configured.
fn token_use_ok(p: &Payload, config: &AuthConfig) -> Result<(), AuthError> {
    let Some(wanted) = config.required_token_use() else {
        return Ok(());
    };
    match p.reg.token_use.present() {
        None => Err(AuthError::missing_claim("token_use")),
        Some(v) if p.as_str(v) == Some(wanted) => Ok(()),
        Some(_) => Err(AuthError::new(ErrorCode::InvalidTokenType)),
    }
}

/// The client allow-list, when one is configured: `azp`, else `client_id`, must be in it.
fn client_allowed(p: &Payload, config: &AuthConfig) -> Result<(), AuthError> {
    let allowed = config.allowed_clients();
    if allowed.is_empty() {
        return Ok(());
    }
    let reg = &p.reg;
    let client = reg
        .azp
        .present()
        .or_else(|| reg.client_id.present())
        .and_then(|v| p.as_str(v));
    match client {
        Some(s) if allowed.iter().any(|a| a == s) => Ok(()),
        client => {
            tracing::debug!(
                target: "oidc_jwt_verifier::verify",
                client = ?client,
                "client not allowed"
            );
            Err(AuthError::new(ErrorCode::InvalidToken).with_message("Client not allowed"))
        }
    }
}

/// The cheap checks on unverified claims that gate an unknown-kid refresh (see
/// [`passes_cheap_checks_map`](super::passes_cheap_checks_map) for the rule).
pub(crate) fn passes_cheap_checks(p: &Payload, config: &AuthConfig, now: f64) -> bool {
    if !p.has_registered() {
        return super::passes_cheap_checks_map(p.map(), config, now);
    }
    let reg = &p.reg;
    let leeway = config.leeway().as_secs_f64();
    let exp_ok = matches!(time_value(reg.exp.present(), ErrorCode::MalformedToken), Ok(Some(exp)) if exp > now - leeway);
    let iss_ok = reg.iss.present().and_then(|v| p.as_str(v)) == Some(config.issuer());
    let aud_ok = audience_ok(p, reg.aud.present(), reg.client_id.present(), config).is_ok();
    exp_ok
        && iss_ok
        && aud_ok
        && token_use_ok(p, config).is_ok()
        && client_allowed(p, config).is_ok()
}

/// Step 11 and 12: time, issuer, audience, subject/id types, `token_use`, allowed clients,
/// the application's rules, then scopes and permissions.
pub(crate) fn validate(
    p: &Payload,
    config: &AuthConfig,
    now: f64,
    presented: Presented<'_>,
) -> Result<(), AuthError> {
    if !p.has_registered() {
        return validate_map(p.map(), config, now, presented);
    }
    let reg = &p.reg;
    let (exp_v, iss, aud) = (reg.exp.present(), reg.iss.present(), reg.aud.present());
    let client_id = reg.client_id.present();
    // Under `aud_or_client_id`, a `client_id` stands in for an absent `aud`.
    let aud_present = match config.audience_mode() {
        AudienceMode::AudOrClientId => aud.or(client_id),
        _ => aud,
    };
    for (name, v) in [("exp", exp_v), ("iss", iss), ("aud", aud_present)] {
        if v.is_none() {
            return Err(AuthError::missing_claim(name));
        }
    }
    let leeway = config.leeway().as_secs_f64();
    let exp = time_value(exp_v, ErrorCode::MalformedToken)?;
    let nbf = time_value(reg.nbf.present(), ErrorCode::MalformedToken)?;
    let iat = time_value(reg.iat.present(), ErrorCode::InvalidToken)?;
    if exp.is_some_and(|exp| exp <= now - leeway) {
        return Err(AuthError::new(ErrorCode::TokenExpired));
    }
    if nbf.is_some_and(|nbf| nbf > now + leeway) || iat.is_some_and(|iat| iat > now + leeway) {
        return Err(AuthError::new(ErrorCode::TokenNotYetValid));
    }
    if iss.and_then(|v| p.as_str(v)) != Some(config.issuer()) {
        return Err(AuthError::new(ErrorCode::InvalidIssuer));
    }
    audience_ok(p, aud, client_id, config)?;
    if config.access_token_profile() == AccessTokenProfile::Rfc9068 {
        profile_claims(p, iat.is_some())?;
    }
    // `sub` and `jti`, when present (even `null`), must be strings.
    for v in [&reg.sub, &reg.jti] {
        if !matches!(v, Val::Absent | Val::Str(_)) {
            return Err(AuthError::new(ErrorCode::InvalidToken));
        }
    }
    token_use_ok(p, config)?;
    client_allowed(p, config)?;
    // Step 11b (SPEC-2 §5.5, §5.6): the binding, read from the map only when there is one
    // (or a DPoP proof needs one). The usual DPoP success, `cnf` holding just a `jkt`
    // equal to the proof key's thumbprint, is confirmed without building the map.
    if !matches!(reg.cnf, Val::Absent) || matches!(presented, Presented::Dpop { .. }) {
        let confirmed = match (presented, &reg.cnf_jkt) {
            (Presented::Dpop { jkt }, Some(span)) => same_jkt(p.str(span), jkt),
            _ => false,
        };
        if !confirmed {
            check_token_binding(p.map(), presented, config.allow_unverified_token_binding())?;
        }
    }
    if !config.required_scopes().is_empty() {
        require(
            config.scope_claim_path().lookup(p.map()),
            config.required_scopes(),
            ErrorCode::InsufficientScope,
        )?;
    }
    if !config.required_permissions().is_empty() {
        require(
            config.permissions_claim_path().lookup(p.map()),
            config.required_permissions(),
            ErrorCode::InsufficientPermissions,
        )?;
    }
    if !config.rules().is_empty() {
        // The rules see the claims as handlers do (configured scope/permission paths).
        let verified = Claims::new(p.map().clone(), config.claim_names().clone());
        for rule in config.rules() {
            rule.check(&verified)?;
        }
    }
    Ok(())
}

/// RFC 9068 §2.2 under the `rfc9068` profile: `sub`, `client_id` and `jti` non-empty
/// strings, `iat` present (already read as a number), in that order (see
/// [`validate_map`]'s `profile_claims`, the reference).
fn profile_claims(p: &Payload, iat_present: bool) -> Result<(), AuthError> {
    let string = |name: &str, value: &Val| match value {
        Val::Absent | Val::Null => Err(AuthError::missing_claim(name)),
        Val::Str(span) if p.str(span).is_empty() => Err(AuthError::missing_claim(name)),
        Val::Str(_) => Ok(()),
        _ => Err(AuthError::new(ErrorCode::InvalidToken)),
    };
    let reg = &p.reg;
    string("sub", &reg.sub)?;
    string("client_id", &reg.client_id)?;
    if !iat_present {
        return Err(AuthError::missing_claim("iat"));
    }
    string("jti", &reg.jti)
}

#[cfg(test)]
mod tests {
    //! The binding step (11b) on the borrowed pass against the map-based reference, for
    //! every shape of `cnf` and every presentation (the property tests present Bearer).

    use super::*;
    use crate::config::AuthConfig;

    const JKT: &str = "0ZcOCORZNYy-DWpqq30jZyJGHTN0d2HglBV3uiguA4I";

    fn outcome(r: Result<(), AuthError>) -> Result<(), String> {
        r.map_err(|e| format!("{} {}", e.code().as_str(), e.message()))
    }

    #[test]
    fn binding_agrees_with_the_reference() {
        let cnfs = [
            None,
            Some("null".to_owned()),
            Some("5".to_owned()),
            Some(format!("\"{JKT}\"")),
            Some("[]".to_owned()),
            Some("{}".to_owned()),
            Some(format!(r#"{{"jkt":"{JKT}"}}"#)),
            Some(r#"{"jkt":"other"}"#.to_owned()),
            Some(r#"{"jkt":""}"#.to_owned()),
            Some(format!(r#"{{"jkt":"{JKT}","jkt":"other"}}"#)),
            Some(format!(r#"{{"jkt":"other","jkt":"{JKT}"}}"#)),
            Some(format!(r#"{{"jkt":"{JKT}","x5t#S256":"a"}}"#)),
            Some(format!(r#"{{"x5t#S256":"a","jkt":"{JKT}"}}"#)),
            Some(r#"{"x5t#S256":"a"}"#.to_owned()),
            Some(r#"{"jkt":5}"#.to_owned()),
            Some(format!(r#"{{"jkt":["{JKT}"]}}"#)),
            Some(r#"{"jkt":null}"#.to_owned()),
            Some(format!(r#"{{"j\u006bt":"{JKT}"}}"#)),
            Some(format!(r#"{{"jkt":"\u0030{}"}}"#, &JKT[1..])),
            Some(format!(r#"{{"jkt":"{JKT}","jkt":{{"a":[1]}}}}"#)),
        ];
        let presented = [
            Presented::Bearer,
            Presented::Dpop { jkt: JKT },
            Presented::Dpop { jkt: "other" },
            Presented::Dpop { jkt: "" },
        ];
        let mut confirmed = 0;
        for allow in [false, true] {
            let config = AuthConfig::builder()
                .issuer("https://issuer.example")
                .audience("api")
                .allow_unverified_token_binding(allow)
                .build()
                .unwrap();
            for cnf in &cnfs {
                let cnf = cnf
                    .as_ref()
                    .map(|c| format!(r#","cnf":{c}"#))
                    .unwrap_or_default();
                let json = format!(
                    r#"{{"iss":"https://issuer.example","aud":"api","exp":2000000000{cnf}}}"#
                );
                let payload = Payload::parse(json.clone().into_bytes()).unwrap();
                for p in presented {
                    let fast = outcome(validate(&payload, &config, 1e9, p));
                    let map = crate::token::parse_object(json.as_bytes()).unwrap();
                    let reference = outcome(validate_map(&map, &config, 1e9, p));
                    assert_eq!(fast, reference, "{json} {p:?} allow {allow}");
                    confirmed += usize::from(fast.is_ok() && matches!(p, Presented::Dpop { .. }));
                }
            }
        }
        assert!(confirmed >= 6, "{confirmed}");
    }
}
