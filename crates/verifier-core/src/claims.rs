//! The claims policy (steps 11-12 of the pipeline in `docs/security.md`) and the public
//! [`Claims`] type.

use std::sync::Arc;

use serde::de::{DeserializeOwned, IntoDeserializer};
use serde::Serialize;
use serde_json::{Map, Value};

use crate::config::{AudienceMode, AuthConfig};
use crate::error::{AuthError, ErrorCode};
use crate::profile::AccessTokenProfile;

mod check;
mod path;
mod payload;
mod reader;
mod rule;

pub(crate) use check::{passes_cheap_checks, validate};
pub use path::ClaimPath;
#[cfg(feature = "fuzzing")]
pub(crate) use payload::registered_differ;
pub(crate) use payload::{Payload, Val};
pub(crate) use rule::ClaimRule;

/// The verified claims of an access token: a JSON object with typed accessors.
///
/// Cheap to clone (the object is shared), so it can go into request extensions freely.
/// Verified claims keep the token's payload bytes; the JSON map is built on the first
/// read that needs it (`get`, `as_map`, `deserialize`, ...), while `iss`, `sub`, `jti`,
/// `aud`, `exp`, `nbf` and `iat` are read without it.
///
/// ```
/// # use verifier_core::Claims;
/// # fn show(claims: &Claims) {
/// println!("{:?} {:?}", claims.sub(), claims.scopes());
/// #[derive(serde::Deserialize)]
/// struct Mine { sub: String, tenant: Option<String> }
/// let mine: Mine = claims.deserialize().unwrap();
/// # }
/// ```
#[derive(Clone)]
pub struct Claims {
    inner: Arc<Payload>,
    names: Arc<ClaimNames>,
}

impl PartialEq for Claims {
    fn eq(&self, other: &Self) -> bool {
        self.as_map() == other.as_map() && self.names == other.names
    }
}

impl Serialize for Claims {
    /// Serializes as the JSON object itself.
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        self.as_map().serialize(serializer)
    }
}

impl std::fmt::Debug for Claims {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        self.as_map().fmt(f)
    }
}

#[derive(Debug, PartialEq, Eq)]
pub(crate) struct ClaimNames {
    pub(crate) scope: ClaimPath,
    pub(crate) permissions: ClaimPath,
}

impl ClaimNames {
    pub(crate) fn from_config(config: &AuthConfig) -> Arc<Self> {
        config.claim_names().clone()
    }
}

impl Claims {
    pub(crate) fn new(map: Map<String, Value>, names: Arc<ClaimNames>) -> Self {
        Claims {
            inner: Arc::new(Payload::from_map(map)),
            names,
        }
    }

    /// Verified claims from the token's checked payload (the map is built when read).
    pub(crate) fn from_payload(payload: Payload, names: Arc<ClaimNames>) -> Self {
        Claims {
            inner: Arc::new(payload),
            names,
        }
    }

    /// A registered claim kept by the payload pass, when this came from a token.
    fn registered(
        &self,
        pick: impl FnOnce(&payload::Registered) -> &payload::Val,
    ) -> Option<&payload::Val> {
        self.inner.has_registered().then(|| pick(&self.inner.reg))
    }

    /// A registered string claim, without building the map when possible.
    fn reg_str(
        &self,
        name: &str,
        pick: impl FnOnce(&payload::Registered) -> &payload::Val,
    ) -> Option<&str> {
        match self.registered(pick) {
            Some(v) => self.inner.as_str(v),
            None => self.as_map().get(name).and_then(Value::as_str),
        }
    }

    /// A registered number claim, without building the map when possible.
    fn reg_f64(
        &self,
        name: &str,
        pick: impl FnOnce(&payload::Registered) -> &payload::Val,
    ) -> Option<f64> {
        match self.registered(pick) {
            Some(payload::Val::Num(n)) => Some(*n),
            Some(_) => None,
            None => self.as_map().get(name).and_then(Value::as_f64),
        }
    }

    /// Claims from a JSON object (for tests and custom pipelines), with the default
    /// `scope` / `permissions` claim names. Nothing is verified.
    pub fn from_map(map: Map<String, Value>) -> Self {
        Claims::new(
            map,
            Arc::new(ClaimNames {
                scope: ClaimPath::parse("scope").expect("a valid path"),
                permissions: ClaimPath::parse("permissions").expect("a valid path"),
            }),
        )
    }

    /// Any claim by name.
    pub fn get(&self, name: &str) -> Option<&Value> {
        self.as_map().get(name)
    }
    /// The claim at a [`ClaimPath`] (`realm_access.roles`), if every member on the way
    /// is present.
    ///
    /// ```
    /// # use verifier_core::{Claims, ClaimPath};
    /// let claims = Claims::from_map(serde_json::json!({"realm_access": {"roles": ["admin"]}}).as_object().unwrap().clone());
    /// let roles: ClaimPath = "realm_access.roles".parse().unwrap();
    /// assert_eq!(claims.get_path(&roles), Some(&serde_json::json!(["admin"])));
    /// ```
    pub fn get_path(&self, path: &ClaimPath) -> Option<&Value> {
        path.lookup(self.as_map())
    }
    /// A claim as a string, when it is one.
    pub fn get_str(&self, name: &str) -> Option<&str> {
        self.as_map().get(name).and_then(Value::as_str)
    }
    /// `iss`.
    pub fn iss(&self) -> Option<&str> {
        self.reg_str("iss", |r| &r.iss)
    }
    /// `sub`.
    pub fn sub(&self) -> Option<&str> {
        self.reg_str("sub", |r| &r.sub)
    }
    /// `jti`.
    pub fn jti(&self) -> Option<&str> {
        self.reg_str("jti", |r| &r.jti)
    }
    /// `client_id` (RFC 9068 §2.2: the client the token was issued to).
    ///
    /// ```
    /// # use verifier_core::Claims;
    /// let claims = Claims::from_map(serde_json::json!({"client_id": "c1"}).as_object().unwrap().clone());
    /// assert_eq!(claims.client_id(), Some("c1"));
    /// ```
    pub fn client_id(&self) -> Option<&str> {
        self.get_str("client_id")
    }
    /// `aud` as a list (a single string becomes one entry).
    pub fn aud(&self) -> Vec<&str> {
        match self.registered(|r| &r.aud) {
            Some(payload::Val::Str(s)) => return vec![self.inner.str(s)],
            Some(payload::Val::Arr(items)) => {
                return items.iter().filter_map(|v| self.inner.as_str(v)).collect()
            }
            Some(_) => return Vec::new(),
            None => {}
        }
        match self.as_map().get("aud") {
            Some(Value::String(s)) => vec![s.as_str()],
            Some(Value::Array(a)) => a.iter().filter_map(Value::as_str).collect(),
            _ => Vec::new(),
        }
    }
    /// `exp` in seconds since the epoch.
    pub fn exp(&self) -> Option<f64> {
        self.reg_f64("exp", |r| &r.exp)
    }
    /// `nbf` in seconds since the epoch.
    pub fn nbf(&self) -> Option<f64> {
        self.reg_f64("nbf", |r| &r.nbf)
    }
    /// `iat` in seconds since the epoch.
    pub fn iat(&self) -> Option<f64> {
        self.reg_f64("iat", |r| &r.iat)
    }
    /// The scopes, read from the configured scope claim (a [`ClaimPath`]): a string
    /// split on spaces (U+0020 only, RFC 6749 §3.3), or an array of strings.
    pub fn scopes(&self) -> Vec<&str> {
        string_set(self.names.scope.lookup(self.as_map()))
    }
    /// The permissions, read from the configured permissions claim (a [`ClaimPath`]): a
    /// string split on spaces (U+0020 only), or an array of strings.
    pub fn permissions(&self) -> Vec<&str> {
        string_set(self.names.permissions.lookup(self.as_map()))
    }
    /// Whether the token carries this scope.
    pub fn has_scope(&self, scope: &str) -> bool {
        self.scopes().contains(&scope)
    }
    /// Whether the token carries this permission.
    pub fn has_permission(&self, permission: &str) -> bool {
        self.permissions().contains(&permission)
    }
    /// The whole object.
    pub fn as_map(&self) -> &Map<String, Value> {
        self.inner.map()
    }
    /// Takes the whole object (claims are shared cheaply; this copies only if shared).
    pub fn into_map(self) -> Map<String, Value> {
        Arc::try_unwrap(self.inner).map_or_else(|shared| shared.map().clone(), Payload::into_map)
    }
    /// Checks per-route scopes: `insufficient_scope` (403) listing the missing ones, sorted.
    ///
    /// ```
    /// # use verifier_core::{Claims, ErrorCode};
    /// let claims = Claims::from_map(serde_json::json!({"scope": "read write"}).as_object().unwrap().clone());
    /// assert!(claims.require_scopes(&["read"]).is_ok());
    /// let err = claims.require_scopes(&["write", "admin", "read"]).unwrap_err();
    /// assert_eq!(err.code(), ErrorCode::InsufficientScope);
    /// assert_eq!(err.required_scopes(), ["admin"]);
    /// ```
    pub fn require_scopes<S: AsRef<str>>(&self, required: &[S]) -> Result<(), AuthError> {
        let required: Vec<String> = required.iter().map(|s| s.as_ref().to_owned()).collect();
        require(
            self.names.scope.lookup(self.as_map()),
            &required,
            ErrorCode::InsufficientScope,
        )
    }
    /// Checks per-route permissions: `insufficient_permissions` (403) listing the missing ones.
    pub fn require_permissions<S: AsRef<str>>(&self, required: &[S]) -> Result<(), AuthError> {
        let required: Vec<String> = required.iter().map(|s| s.as_ref().to_owned()).collect();
        require(
            self.names.permissions.lookup(self.as_map()),
            &required,
            ErrorCode::InsufficientPermissions,
        )
    }
    /// Deserializes the claims into the caller's own type.
    pub fn deserialize<T: DeserializeOwned>(&self) -> Result<T, serde_json::Error> {
        T::deserialize(self.as_map().into_deserializer())
    }
}

/// Scopes / permissions: a string of tokens separated by spaces (U+0020 only, RFC 6749
/// §3.3: a tab, NBSP or any other whitespace is part of a token; empty tokens from
/// repeated spaces are ignored), or an array whose string elements are taken verbatim
/// (others ignored); anything else is empty.
fn string_set(value: Option<&Value>) -> Vec<&str> {
    match value {
        Some(Value::String(s)) => s.split(' ').filter(|t| !t.is_empty()).collect(),
        Some(Value::Array(a)) => a
            .iter()
            .filter_map(Value::as_str)
            .filter(|s| !s.is_empty())
            .collect(),
        _ => Vec::new(),
    }
}

fn present<'a>(claims: &'a Map<String, Value>, name: &str) -> Option<&'a Value> {
    claims.get(name).filter(|v| !v.is_null())
}

/// A time claim must be a JSON number (numeric strings and other shapes are refused).
fn time_claim(
    claims: &Map<String, Value>,
    name: &str,
    code: ErrorCode,
) -> Result<Option<f64>, AuthError> {
    match present(claims, name) {
        None => Ok(None),
        Some(Value::Number(n)) => n
            .as_f64()
            .filter(|f| f.is_finite())
            .map(Some)
            .ok_or_else(|| AuthError::new(code)),
        Some(_) => Err(AuthError::new(code)),
    }
}

fn audience_matches(aud: &Value, config: &AuthConfig) -> Result<(), AuthError> {
    let wanted = config.audiences();
    match aud {
        Value::String(s) if s.is_empty() => Err(AuthError::missing_claim("aud")),
        Value::String(s) => {
            if wanted.iter().any(|w| w == s) {
                Ok(())
            } else {
                Err(AuthError::new(ErrorCode::InvalidAudience))
            }
        }
        Value::Array(items) if items.is_empty() => Err(AuthError::missing_claim("aud")),
        Value::Array(items) => {
            let mut found = false;
            for item in items {
                match item {
                    Value::String(s) => found |= wanted.iter().any(|w| w == s),
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

/// Under [`AudienceMode::AudOrClientId`], a token without `aud`: its `client_id` must be
/// a string equal to a configured audience (AWS Cognito access tokens).
fn client_id_matches(client_id: Option<&Value>, config: &AuthConfig) -> Result<(), AuthError> {
    match client_id {
        None => Err(AuthError::missing_claim("aud")),
        Some(Value::String(s)) if config.audiences().iter().any(|w| w == s) => Ok(()),
        Some(_) => Err(AuthError::new(ErrorCode::InvalidAudience)),
    }
}

/// The audience check of the configured [`AudienceMode`], `aud` and `client_id` already
/// looked up (absent or `null` = `None`).
fn audience_ok(
    aud: Option<&Value>,
    client_id: Option<&Value>,
    config: &AuthConfig,
) -> Result<(), AuthError> {
    match (aud, config.audience_mode()) {
        (Some(aud), _) => audience_matches(aud, config),
        (None, AudienceMode::AudOrClientId) => client_id_matches(client_id, config),
        (None, _) => Err(AuthError::missing_claim("aud")),
    }
}

/// The required `token_use` (AWS Cognito), when one is configured: absent is
/// `missing_claim`, any other value (an ID token's `id`) `invalid_token_type`.
fn token_use_ok(claims: &Map<String, Value>, config: &AuthConfig) -> Result<(), AuthError> {
    let Some(wanted) = config.required_token_use() else {
        return Ok(());
    };
    match present(claims, "token_use") {
        None => Err(AuthError::missing_claim("token_use")),
        Some(Value::String(s)) if s == wanted => Ok(()),
        Some(_) => Err(AuthError::new(ErrorCode::InvalidTokenType)),
    }
}

/// The client allow-list, when one is configured: `azp`, else `client_id`, must be in it.
/// The refused value goes to `tracing` at debug level (escaped), never to the client.
fn client_allowed(claims: &Map<String, Value>, config: &AuthConfig) -> Result<(), AuthError> {
    let allowed = config.allowed_clients();
    if allowed.is_empty() {
        return Ok(());
    }
    let client = present(claims, "azp").or_else(|| present(claims, "client_id"));
    match client {
        Some(Value::String(s)) if allowed.iter().any(|a| a == s) => Ok(()),
        other => {
            let client = other.and_then(|v| v.as_str());
            tracing::debug!(
                target: "oidc_jwt_verifier::verify",
                client = ?client,
                "client not allowed"
            );
            Err(AuthError::new(ErrorCode::InvalidToken).with_message("Client not allowed"))
        }
    }
}

/// The cheap checks on unverified claims that gate an unknown-kid refresh: issuer,
/// audience (in the configured [`AudienceMode`]) and expiry already pass, and so do the
/// required `token_use` and the client allow-list when configured. A token that fails
/// them cannot make us fetch. (Map-based reference of [`check::passes_cheap_checks`].)
pub(crate) fn passes_cheap_checks_map(
    claims: &Map<String, Value>,
    config: &AuthConfig,
    now: f64,
) -> bool {
    let leeway = config.leeway().as_secs_f64();
    let exp_ok = matches!(time_claim(claims, "exp", ErrorCode::MalformedToken), Ok(Some(exp)) if exp > now - leeway);
    let iss_ok = matches!(present(claims, "iss"), Some(Value::String(s)) if s == config.issuer());
    let aud_ok = audience_ok(present(claims, "aud"), present(claims, "client_id"), config).is_ok();
    exp_ok
        && iss_ok
        && aud_ok
        && token_use_ok(claims, config).is_ok()
        && client_allowed(claims, config).is_ok()
}

/// Step 11 and 12: time, issuer, audience, subject/id types, `token_use`, allowed clients,
/// the application's rules, then scopes and permissions.
///
/// The map-based reference: the verifiers run [`check::validate`] on the registered
/// claims of the payload pass; the property tests compare the two.
pub(crate) fn validate_map(
    claims: &Map<String, Value>,
    config: &AuthConfig,
    now: f64,
    presented: crate::dpop::Presented<'_>,
) -> Result<(), AuthError> {
    // One walk over the object picks up every registered claim: cheaper than a lookup
    // per name. The checks below then run in the specified order.
    let (mut exp, mut nbf, mut iat, mut iss, mut aud, mut sub, mut jti) =
        (None, None, None, None, None, None, None);
    let (mut client_id, mut cnf) = (None, None);
    for (name, value) in claims {
        let slot = match name.as_str() {
            "exp" => &mut exp,
            "nbf" => &mut nbf,
            "iat" => &mut iat,
            "iss" => &mut iss,
            "aud" => &mut aud,
            "sub" => &mut sub,
            "jti" => &mut jti,
            "client_id" => &mut client_id,
            "cnf" => &mut cnf,
            _ => continue,
        };
        *slot = Some(value);
    }
    fn non_null(v: Option<&Value>) -> Option<&Value> {
        v.filter(|v| !v.is_null())
    }
    let (exp_v, iss, aud) = (non_null(exp), non_null(iss), non_null(aud));
    let client_id = non_null(client_id);
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
    let nbf = time_value(non_null(nbf), ErrorCode::MalformedToken)?;
    let iat = time_value(non_null(iat), ErrorCode::InvalidToken)?;
    if exp.is_some_and(|exp| exp <= now - leeway) {
        return Err(AuthError::new(ErrorCode::TokenExpired));
    }
    if nbf.is_some_and(|nbf| nbf > now + leeway) || iat.is_some_and(|iat| iat > now + leeway) {
        return Err(AuthError::new(ErrorCode::TokenNotYetValid));
    }
    match iss {
        Some(Value::String(s)) if s == config.issuer() => {}
        _ => return Err(AuthError::new(ErrorCode::InvalidIssuer)),
    }
    audience_ok(aud, client_id, config)?;
    if config.access_token_profile() == AccessTokenProfile::Rfc9068 {
        profile_claims(sub, client_id, iat.is_some(), jti)?;
    }
    for v in [sub, jti].into_iter().flatten() {
        if !v.is_string() {
            return Err(AuthError::new(ErrorCode::InvalidToken));
        }
    }
    token_use_ok(claims, config)?;
    client_allowed(claims, config)?;
    // Step 11b (SPEC-2 §5.5, §5.6): a token presented as Bearer must not be bound to a
    // key (`cnf.jkt`, the downgrade guard) or by a binding we cannot verify; one presented
    // with a DPoP proof must be bound to the proof's key.
    if cnf.is_some() || matches!(presented, crate::dpop::Presented::Dpop { .. }) {
        crate::dpop::check_token_binding(
            claims,
            presented,
            config.allow_unverified_token_binding(),
        )?;
    }
    if !config.required_scopes().is_empty() {
        require(
            config.scope_claim_path().lookup(claims),
            config.required_scopes(),
            ErrorCode::InsufficientScope,
        )?;
    }
    if !config.required_permissions().is_empty() {
        require(
            config.permissions_claim_path().lookup(claims),
            config.required_permissions(),
            ErrorCode::InsufficientPermissions,
        )?;
    }
    if !config.rules().is_empty() {
        // The rules see the claims as handlers do (configured scope/permission paths).
        let verified = Claims::new(claims.clone(), config.claim_names().clone());
        for rule in config.rules() {
            rule.check(&verified)?;
        }
    }
    Ok(())
}

/// RFC 9068 §2.2: `sub`, `client_id`, `iat`, `jti` are required, in that order. Absent,
/// `null` or (for the three strings) `""` → `missing_claim` naming it; a `client_id`,
/// `sub` or `jti` that is not a string → `invalid_token` (`iat`, already read as a
/// number with the time claims, is only required here).
fn profile_claims(
    sub: Option<&Value>,
    client_id: Option<&Value>,
    iat_present: bool,
    jti: Option<&Value>,
) -> Result<(), AuthError> {
    let string = |name: &str, value: Option<&Value>| match value {
        None | Some(Value::Null) => Err(AuthError::missing_claim(name)),
        Some(Value::String(s)) if s.is_empty() => Err(AuthError::missing_claim(name)),
        Some(Value::String(_)) => Ok(()),
        Some(_) => Err(AuthError::new(ErrorCode::InvalidToken)),
    };
    string("sub", sub)?;
    string("client_id", client_id)?;
    if !iat_present {
        return Err(AuthError::missing_claim("iat"));
    }
    string("jti", jti)
}

/// [`time_claim`] over an already looked-up value.
fn time_value(value: Option<&Value>, code: ErrorCode) -> Result<Option<f64>, AuthError> {
    match value {
        None => Ok(None),
        Some(Value::Number(n)) => n
            .as_f64()
            .filter(|f| f.is_finite())
            .map(Some)
            .ok_or_else(|| AuthError::new(code)),
        Some(_) => Err(AuthError::new(code)),
    }
}

/// Checks that every `required` entry is in the claim; the error lists the missing ones, sorted.
pub(crate) fn require(
    value: Option<&Value>,
    required: &[String],
    code: ErrorCode,
) -> Result<(), AuthError> {
    if required.is_empty() {
        return Ok(());
    }
    let have = string_set(value);
    let missing: Vec<&str> = required
        .iter()
        .map(String::as_str)
        .filter(|r| !have.contains(r))
        .collect();
    if missing.is_empty() {
        return Ok(());
    }
    let err = AuthError::new(code);
    Err(match code {
        ErrorCode::InsufficientPermissions => err.with_required_permissions(missing),
        _ => err.with_required_scopes(missing),
    })
}

/// Types the framework extractors can hand to handlers: [`Claims`] itself, or any
/// `serde` type the verified claims deserialize into.
///
/// A deserialization failure is `invalid_token` (401): the token verified but lacks
/// what the application's claims type requires. The cause is kept as the error source,
/// and a `debug` event on target `oidc_jwt_verifier::verify` names the field, the kind
/// of mismatch and the JSON type found, never a claim value (`field="tenant"
/// error="invalid type" expected="a string" found="number"`).
///
/// ```
/// use verifier_core::{Claims, FromClaims};
/// #[derive(serde::Deserialize)]
/// struct Mine { sub: String }
/// let claims = Claims::from_map(serde_json::json!({"sub": "u1"}).as_object().unwrap().clone());
/// let mine = Mine::from_claims(claims.clone()).unwrap();
/// assert_eq!(mine.sub, "u1");
/// assert_eq!(Claims::from_claims(claims).unwrap().sub(), Some("u1"));
/// ```
pub trait FromClaims: Sized {
    /// Converts verified claims.
    fn from_claims(claims: Claims) -> Result<Self, AuthError>;
}

impl FromClaims for Claims {
    fn from_claims(claims: Claims) -> Result<Self, AuthError> {
        Ok(claims)
    }
}

impl<T: DeserializeOwned> FromClaims for T {
    fn from_claims(claims: Claims) -> Result<Self, AuthError> {
        T::deserialize(claims.as_map().into_deserializer()).map_err(|e| {
            crate::mismatch::log::<T>(claims.as_map(), &e);
            AuthError::new(ErrorCode::InvalidToken).with_source(e)
        })
    }
}
