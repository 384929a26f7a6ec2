//! The issuers of a verifier: each one's policy and key-set client, and the routing of a
//! token to its issuer by the exact, unverified `iss` before any I/O (SPEC-2 §2.4).
//!
//! A verifier of one issuer does not route (SPEC §4's order of checks is unchanged); a
//! verifier of several parses the token once, looks its `iss` up in a hash map, and from
//! there uses only that issuer's algorithms, key set, cooldown, backoff and claims
//! policy. A key is reachable only through its issuer's lifecycle, so the same `kid` at
//! two issuers can never cross.

use std::collections::HashMap;
use std::fmt;
use std::sync::Arc;

use crate::alg::Algorithm;
use crate::bearer::{credentials_from_headers, token_from_cookies};
use crate::cache::TokenCache;
use crate::claims::{self, ClaimNames, Claims, Val};
use crate::config::AuthConfig;
use crate::dpop::{check_token_binding, DpopMode, Presented};
use crate::error::{AuthError, ErrorCode};
use crate::keys::SigningKey;
use crate::request::Scheme;
use crate::surface::Surface;
use crate::token::{self, UnverifiedToken};

/// What verifying against one issuer needs besides its keys.
pub(crate) struct Policy {
    pub(crate) config: AuthConfig,
    names: Arc<ClaimNames>,
    cache: Option<TokenCache>,
}

impl Policy {
    pub(crate) fn new(config: AuthConfig) -> Arc<Self> {
        let names = ClaimNames::from_config(&config);
        let cache = (config.verified_token_cache() > 0)
            .then(|| TokenCache::new(config.verified_token_cache()));
        Arc::new(Policy {
            config,
            names,
            cache,
        })
    }

    /// Seconds since the epoch on the configured clock, for the time claims and the cache.
    #[inline]
    fn now(&self) -> f64 {
        self.config.clock().unix_time()
    }

    /// A verified-token cache hit for `raw` at key-set `generation`.
    #[inline]
    fn cached(&self, raw: &[u8], generation: u64) -> Option<Claims> {
        let cache = self.cache.as_ref()?;
        let leeway = self.config.leeway().as_secs_f64();
        cache.get(raw.trim_ascii(), self.now(), leeway, generation)
    }

    /// Step 11b on a verified-token cache hit: the cached token was verified for another
    /// presentation, perhaps (a token cached after a DPoP request, now sent as Bearer).
    pub(crate) fn check_binding(
        &self,
        claims: &Claims,
        presented: Presented<'_>,
    ) -> Result<(), AuthError> {
        let map = claims.as_map();
        if map.contains_key("cnf") || matches!(presented, Presented::Dpop { .. }) {
            check_token_binding(map, presented, self.config.allow_unverified_token_binding())?;
        }
        Ok(())
    }

    /// Whether an unknown kid may refresh: the unverified claims pass the cheap checks.
    pub(crate) fn may_refresh(&self, token: &UnverifiedToken<'_>) -> bool {
        claims::passes_cheap_checks(&token.payload, &self.config, self.now())
    }

    /// Steps 9-13 (with 11b for how the token was `presented`), then remembers a
    /// success in the verified-token cache (if enabled).
    pub(crate) fn complete(
        &self,
        raw: &[u8],
        token: UnverifiedToken<'_>,
        key: &SigningKey,
        generation: u64,
        presented: Presented<'_>,
    ) -> Result<Claims, AuthError> {
        key.verify(
            token.alg,
            token.signing_input,
            &token.signature,
            self.config.enforce_minimum_key_length(),
        )?;
        claims::validate(&token.payload, &self.config, self.now(), presented)?;
        let claims = Claims::from_payload(token.payload, self.names.clone());
        if let Some(cache) = &self.cache {
            cache.insert(raw.trim_ascii(), &claims, generation);
        }
        Ok(claims)
    }
}

/// The warm-path reads both key-set clients offer.
pub(crate) trait WarmKeys {
    /// The key when a fresh set has it, without a lock.
    fn fast_get(&self, kid: &str, alg: Algorithm) -> Option<SigningKey>;
    /// The generation of the current set (tags verified-token cache entries).
    fn generation(&self) -> u64;
}

/// One configured issuer.
pub(crate) struct Issuer<J> {
    pub(crate) policy: Arc<Policy>,
    pub(crate) jwks: J,
    /// The issuer string, shared with every [`Authenticated`](crate::Authenticated).
    pub(crate) name: Arc<str>,
}

impl<J> Issuer<J> {
    pub(crate) fn new(config: &AuthConfig, jwks: J) -> Self {
        Issuer {
            name: Arc::from(config.issuer()),
            policy: Policy::new(config.clone()),
            jwks,
        }
    }
}

/// The first half of a verification: no I/O.
// `Parsed` carries the payload's registered claims inline (a few hundred bytes, moved
// once per verification): cheaper than an allocation to box them.
#[allow(clippy::large_enum_variant)]
pub(crate) enum Start<'a, 'i, J> {
    /// A verified-token cache hit, and the issuer whose cache it was.
    Cached(&'i Issuer<J>, Claims),
    /// A structurally valid token routed to its issuer, the issuer's key-set generation
    /// when it started, and the key when the warm cache had it.
    Parsed {
        issuer: &'i Issuer<J>,
        token: UnverifiedToken<'a>,
        generation: u64,
        key: Option<SigningKey>,
    },
}

/// The issuers of a verifier, in configuration order (the first is the default for the
/// single-issuer accessors).
pub(crate) struct IssuerSet<J> {
    issuers: Vec<Issuer<J>>,
    /// `iss` → index; `None` with one issuer (no routing step).
    routes: Option<HashMap<Box<str>, usize>>,
    /// The largest `max_token_bytes` and the union of `allowed_algs`: the parse before
    /// routing; the selected issuer's own limits apply after it.
    max_token_bytes: usize,
    algs: Vec<Algorithm>,
    /// DPoP, metadata, token cookie.
    pub(crate) surface: Surface,
}

impl<J: WarmKeys> IssuerSet<J> {
    /// The set over `issuers` (1..=256, unique: [`VerifierConfig`](crate::VerifierConfig)
    /// has checked).
    pub(crate) fn new(issuers: Vec<Issuer<J>>, surface: Surface) -> Self {
        let routes = (issuers.len() > 1).then(|| {
            issuers
                .iter()
                .enumerate()
                .map(|(i, issuer)| (Box::from(issuer.policy.config.issuer()), i))
                .collect()
        });
        let max_token_bytes = issuers
            .iter()
            .map(|i| i.policy.config.max_token_bytes())
            .max()
            .unwrap_or(0);
        let mut algs: Vec<Algorithm> = Vec::new();
        for issuer in &issuers {
            for alg in issuer.policy.config.allowed_algs() {
                if !algs.contains(alg) {
                    algs.push(*alg);
                }
            }
        }
        IssuerSet {
            issuers,
            routes,
            max_token_bytes,
            algs,
            surface,
        }
    }

    /// The credentials of a request (step 0): the `Authorization` header, else the
    /// token cookie when one is configured (Bearer; not when DPoP is `required`).
    pub(crate) fn credentials<'h>(
        &self,
        headers: &'h http::HeaderMap,
    ) -> Result<Option<(Scheme, &'h str)>, AuthError> {
        let mode = self.surface.dpop_mode();
        let found = credentials_from_headers(headers, mode)?;
        match (&self.surface.token_cookie, found) {
            (Some(name), None)
                if mode != DpopMode::Required
                    && !headers.contains_key(http::header::AUTHORIZATION) =>
            {
                Ok(token_from_cookies(headers, name)?.map(|token| (Scheme::Bearer, token)))
            }
            (_, found) => Ok(found),
        }
    }

    /// The first issuer.
    pub(crate) fn first(&self) -> &Issuer<J> {
        &self.issuers[0]
    }

    pub(crate) fn all(&self) -> &[Issuer<J>] {
        &self.issuers
    }

    /// The issuer configured with exactly this string.
    pub(crate) fn get(&self, iss: &str) -> Option<&Issuer<J>> {
        match &self.routes {
            Some(routes) => routes.get(iss).map(|&i| &self.issuers[i]),
            None => Some(self.first()).filter(|i| i.policy.config.issuer() == iss),
        }
    }

    /// Steps 1-7b (no I/O): the cache, the parse, the route, and the key when the warm
    /// cache has it, so only a miss goes to the (async or blocking) lifecycle.
    pub(crate) fn start<'a>(&self, raw: &'a [u8]) -> Result<Start<'a, '_, J>, AuthError> {
        let Some(routes) = &self.routes else {
            let issuer = self.first();
            let generation = issuer.jwks.generation();
            if let Some(claims) = issuer.policy.cached(raw, generation) {
                return Ok(Start::Cached(issuer, claims));
            }
            let config = &issuer.policy.config;
            let token = token::parse(
                raw,
                config.max_token_bytes(),
                config.allowed_algs(),
                Some(config.access_token_profile()),
            )?;
            let key = issuer.jwks.fast_get(&token.kid, token.alg);
            return Ok(Start::Parsed {
                issuer,
                token,
                generation,
                key,
            });
        };
        let token = token::parse(raw, self.max_token_bytes, &self.algs, None)?;
        let issuer = &self.issuers[route(routes, &token)?];
        let config = &issuer.policy.config;
        // The selected issuer's own limits (the parse used the widest).
        token::trim_token(raw, config.max_token_bytes())?;
        if !config.allowed_algs().contains(&token.alg) {
            return Err(AuthError::new(ErrorCode::DisallowedAlg));
        }
        token::check_typ(config.access_token_profile(), token.typ)?;
        let generation = issuer.jwks.generation();
        if let Some(claims) = issuer.policy.cached(raw, generation) {
            return Ok(Start::Cached(issuer, claims));
        }
        let key = issuer.jwks.fast_get(&token.kid, token.alg);
        Ok(Start::Parsed {
            issuer,
            token,
            generation,
            key,
        })
    }
}

/// Step 7b: the index of the issuer named by the token's `iss`, compared byte for byte
/// (no trimming, case folding or slash normalisation).
fn route(
    routes: &HashMap<Box<str>, usize>,
    token: &UnverifiedToken<'_>,
) -> Result<usize, AuthError> {
    let payload = &token.payload;
    match payload.reg.iss.present() {
        None => Err(AuthError::missing_claim("iss")),
        Some(Val::Str(iss)) => routes.get(payload.str(iss)).copied().ok_or_else(|| {
            tracing::debug!(target: "oidc_jwt_verifier::verify", reason = "unknown_issuer", "token refused");
            AuthError::new(ErrorCode::InvalidIssuer).with_source(UnknownIssuer)
        }),
        Some(_) => Err(AuthError::new(ErrorCode::InvalidIssuer)),
    }
}

/// The source of an `invalid_issuer` refusal whose `iss` names no configured issuer.
/// (The `iss` itself is not kept: it comes from an unverified token.)
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct UnknownIssuer;

impl fmt::Display for UnknownIssuer {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("the token's issuer is not one of the configured issuers")
    }
}

impl std::error::Error for UnknownIssuer {}
