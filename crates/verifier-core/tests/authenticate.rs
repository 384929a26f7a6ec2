//! The request-level entry point (SPEC-2 §0.2, §0.6): `authenticate(RequestParts)` reads
//! the credentials (Bearer, or DPoP with a proof), runs the whole pipeline, and answers
//! how the token was presented and by which issuer. Real HTTP: the test issuer's key set.

mod common;

use std::sync::Arc;

use common::{config_for, runtime};
use http::header::AUTHORIZATION;
use http::{HeaderMap, HeaderValue, Method, Uri};
use serde_json::json;
use verifier_core::dpop::{DpopConfig, DpopMode, DpopVerifier, InMemoryReplayStore};
use verifier_core::{
    AsyncJwtVerifier, AuthConfig, AuthError, Authenticated, ErrorCode, JwtVerifier, RequestParts,
    Scheme,
};
use verifier_testkit::{now, Alg, DpopProof, TestIssuer, TestKey};

const BASE: &str = "https://api.example.com";
const URL: &str = "https://api.example.com/me";

fn dpop(mode: DpopMode) -> DpopVerifier {
    DpopVerifier::new(
        DpopConfig::builder()
            .mode(mode)
            .public_base_url(BASE)
            .build()
            .unwrap(),
    )
}

fn headers(authorization: Option<&str>, proof: Option<&str>) -> HeaderMap {
    let mut h = HeaderMap::new();
    if let Some(a) = authorization {
        h.insert(AUTHORIZATION, HeaderValue::from_str(a).unwrap());
    }
    if let Some(p) = proof {
        h.insert("dpop", HeaderValue::from_str(p).unwrap());
    }
    h
}

/// Both flavours over one configuration, with the same DPoP mode.
struct Both {
    rt: tokio::runtime::Runtime,
    a: AsyncJwtVerifier,
    b: JwtVerifier,
}

impl Both {
    fn new(config: AuthConfig, mode: Option<DpopMode>) -> Both {
        let mut a = AsyncJwtVerifier::builder().issuer(config.clone());
        let mut b = JwtVerifier::builder().issuer(config);
        if let Some(mode) = mode {
            a = a.dpop(dpop(mode));
            b = b.dpop(dpop(mode));
        }
        Both {
            rt: runtime(),
            a: a.build().unwrap(),
            b: b.build().unwrap(),
        }
    }

    /// `GET /me` with these headers, through both flavours (each its own replay store).
    fn auth(&self, h: &HeaderMap) -> Result<Option<Authenticated>, AuthError> {
        let (method, uri) = (Method::GET, Uri::from_static("/me"));
        let parts = RequestParts::new(&method, &uri, h);
        let x = self.rt.block_on(self.a.authenticate(parts));
        let y = self.b.authenticate(parts);
        match (&x, &y) {
            (Ok(p), Ok(q)) => {
                assert_eq!(p.as_ref().map(|a| a.scheme), q.as_ref().map(|a| a.scheme));
                assert_eq!(p.as_ref().map(|a| &a.claims), q.as_ref().map(|a| &a.claims));
            }
            (Err(p), Err(q)) => assert_eq!(p.code(), q.code(), "flavours disagree"),
            _ => panic!("flavours disagree: {x:?} vs {y:?}"),
        }
        x
    }

    fn code(&self, h: &HeaderMap) -> ErrorCode {
        self.auth(h).unwrap_err().code()
    }
}

/// A token of `issuer` bound to `key`.
fn bound(issuer: &TestIssuer, key: &TestKey) -> String {
    issuer.token().cnf_jkt(key).build()
}

/// A valid proof of `key` for `GET /me` and `token`.
fn proof(key: &TestKey, token: &str) -> DpopProof {
    DpopProof::new(key).htm("GET").htu(URL).ath_for(token)
}

#[test]
fn bearer_requests_authenticate_and_other_schemes_are_anonymous() {
    let issuer = TestIssuer::start();
    let both = Both::new(config_for(&issuer).build().unwrap(), None);
    let token = issuer.token().build();
    let auth = both
        .auth(&headers(Some(&format!("Bearer {token}")), None))
        .unwrap()
        .unwrap();
    assert_eq!(auth.scheme, Scheme::Bearer);
    assert_eq!(&*auth.issuer, issuer.issuer().as_str());
    assert!(auth.dpop.is_none());
    assert_eq!(auth.claims.sub(), Some("user-123"));

    assert!(both.auth(&headers(None, None)).unwrap().is_none());
    assert!(both
        .auth(&headers(Some("Basic dXNlcjpwYXNz"), None))
        .unwrap()
        .is_none());
    // DPoP is not configured: its scheme is not credentials here (mode off).
    assert!(both
        .auth(&headers(Some(&format!("DPoP {token}")), None))
        .unwrap()
        .is_none());
    assert_eq!(
        both.code(&headers(Some("Bearer"), None)),
        ErrorCode::MissingToken
    );
    let mut two = headers(Some(&format!("Bearer {token}")), None);
    two.append(AUTHORIZATION, HeaderValue::from_static("Bearer other"));
    assert_eq!(both.code(&two), ErrorCode::InvalidRequest);
}

/// DP1: valid ES256, EdDSA, PS256 and RS256 proofs with bound tokens are accepted in the
/// `allowed` and `required` modes, and the confirmation names the proof key.
#[test]
fn dp1_valid_proofs_with_bound_tokens_are_accepted() {
    let issuer = TestIssuer::start();
    for mode in [DpopMode::Allowed, DpopMode::Required] {
        let both = Both::new(config_for(&issuer).build().unwrap(), Some(mode));
        for alg in [Alg::ES256, Alg::EdDSA, Alg::PS256, Alg::RS256] {
            let key = TestKey::generate(alg, "holder");
            let token = bound(&issuer, &key);
            // One proof per flavour (each flavour has its own replay store, but a
            // proof is single-use per store).
            let h = headers(
                Some(&format!("DPoP {token}")),
                Some(&proof(&key, &token).build()),
            );
            let auth = both.auth(&h).unwrap().unwrap();
            assert_eq!(auth.scheme, Scheme::Dpop, "{alg:?}");
            assert_eq!(auth.dpop.unwrap().jkt, key.thumbprint(), "{alg:?}");
        }
    }
}

/// DP13: the same proof twice within the window: the second is `dpop_proof_replayed`.
/// DP15: the same `jti` from two keys is two proofs.
#[test]
fn dp13_a_proof_is_single_use() {
    let issuer = TestIssuer::start();
    let both = Both::new(
        config_for(&issuer).build().unwrap(),
        Some(DpopMode::Allowed),
    );
    let key = TestKey::generate(Alg::ES256, "holder");
    let token = bound(&issuer, &key);
    let h = headers(
        Some(&format!("DPoP {token}")),
        Some(&proof(&key, &token).jti("one").build()),
    );
    assert!(both.auth(&h).unwrap().is_some());
    let err = both.auth(&h).unwrap_err();
    assert_eq!(err.code(), ErrorCode::DpopProofReplayed);
    assert_eq!(err.status().as_u16(), 401);

    let other = TestKey::generate(Alg::ES256, "other");
    let other_token = bound(&issuer, &other);
    let h = headers(
        Some(&format!("DPoP {other_token}")),
        Some(&proof(&other, &other_token).jti("one").build()),
    );
    assert!(both.auth(&h).unwrap().is_some());
}

/// DP14: 64 concurrent requests with one proof: exactly one is accepted.
#[test]
fn dp14_concurrent_replays_accept_exactly_one() {
    let issuer = TestIssuer::start();
    let rt = runtime();
    let verifier = AsyncJwtVerifier::builder()
        .issuer(config_for(&issuer).build().unwrap())
        .dpop(dpop(DpopMode::Allowed))
        .build()
        .unwrap();
    let key = TestKey::generate(Alg::ES256, "holder");
    let token = bound(&issuer, &key);
    let h = Arc::new(headers(
        Some(&format!("DPoP {token}")),
        Some(&proof(&key, &token).build()),
    ));
    // Warm the key set, so the 64 race on the replay check, not on the fetch.
    rt.block_on(verifier.get_signing_keys(false)).unwrap();
    let outcomes = rt.block_on(async {
        let tasks: Vec<_> = (0..64)
            .map(|_| {
                let (verifier, h) = (verifier.clone(), h.clone());
                tokio::spawn(async move {
                    let (method, uri) = (Method::GET, Uri::from_static("/me"));
                    verifier
                        .authenticate(RequestParts::new(&method, &uri, &h))
                        .await
                        .map(|a| a.is_some())
                })
            })
            .collect();
        let mut outcomes = Vec::new();
        for task in tasks {
            outcomes.push(task.await.unwrap());
        }
        outcomes
    });
    let accepted = outcomes.iter().filter(|o| matches!(o, Ok(true))).count();
    assert_eq!(accepted, 1);
    assert!(outcomes.iter().all(|o| match o {
        Ok(accepted) => *accepted,
        Err(err) => err.code() == ErrorCode::DpopProofReplayed,
    }));
}

/// DP16: proofs that come with a bad token, a bad `ath` or a bad binding never reach
/// the replay store.
#[test]
fn dp16_refused_requests_leave_no_replay_entry() {
    let issuer = TestIssuer::start();
    let rt = runtime();
    let store = Arc::new(InMemoryReplayStore::new(1024));
    let verifier = AsyncJwtVerifier::builder()
        .issuer(config_for(&issuer).build().unwrap())
        .dpop(dpop(DpopMode::Allowed).with_store(store.clone()))
        .build()
        .unwrap();
    let key = TestKey::generate(Alg::ES256, "holder");
    let stranger = TestKey::generate(Alg::ES256, "stranger");
    let expired = issuer
        .token()
        .cnf_jkt(&key)
        .claim("exp", json!(now() - 60))
        .build();
    let good = bound(&issuer, &key);
    let other_binding = bound(&issuer, &stranger);
    let (method, uri) = (Method::GET, Uri::from_static("/me"));
    for n in 0..10_000u32 {
        let (token, proof) = match n % 3 {
            0 => (&expired, proof(&key, &expired)),
            1 => (&good, proof(&key, "another token")),
            _ => (&other_binding, proof(&key, &other_binding)),
        };
        let h = headers(Some(&format!("DPoP {token}")), Some(&proof.build()));
        let err = rt
            .block_on(verifier.authenticate(RequestParts::new(&method, &uri, &h)))
            .unwrap_err();
        let want = [
            ErrorCode::TokenExpired,
            ErrorCode::InvalidDpopProof,
            ErrorCode::DpopBindingMismatch,
        ][(n % 3) as usize];
        assert_eq!(err.code(), want);
    }
    assert_eq!(store.len(), 0);
    // A valid proof is recorded.
    let p = proof(&key, &good).build();
    let h = headers(Some(&format!("DPoP {good}")), Some(&p));
    assert!(rt
        .block_on(verifier.authenticate(RequestParts::new(&method, &uri, &h)))
        .is_ok());
    assert_eq!(store.len(), 1);
}

/// DP19: binding failures.
#[test]
fn dp19_bindings_must_match_the_proof_key() {
    let issuer = TestIssuer::start();
    let both = Both::new(
        config_for(&issuer).build().unwrap(),
        Some(DpopMode::Allowed),
    );
    let key = TestKey::generate(Alg::ES256, "holder");
    let stranger = TestKey::generate(Alg::ES256, "stranger");
    let cases = [
        (bound(&issuer, &stranger), ErrorCode::DpopBindingMismatch),
        (issuer.token().build(), ErrorCode::DpopBindingMismatch),
        (
            issuer.token().claim("cnf", json!({})).build(),
            ErrorCode::DpopBindingMismatch,
        ),
        (
            issuer.token().claim("cnf", json!("x")).build(),
            ErrorCode::InvalidToken,
        ),
    ];
    for (token, code) in cases {
        let h = headers(
            Some(&format!("DPoP {token}")),
            Some(&proof(&key, &token).build()),
        );
        assert_eq!(both.code(&h), code);
    }
}

/// DP20: a bound token as Bearer is `dpop_bound_token` in mode `off` and `allowed`,
/// through `verify_access_token`, and on a verified-token-cache hit (the token cached
/// after a DPoP request).
#[test]
fn dp20_the_downgrade_guard_holds_everywhere() {
    let issuer = TestIssuer::start();
    let key = TestKey::generate(Alg::ES256, "holder");
    let token = bound(&issuer, &key);
    let bearer = headers(Some(&format!("Bearer {token}")), None);
    let off = Both::new(config_for(&issuer).build().unwrap(), None);
    assert_eq!(off.code(&bearer), ErrorCode::DpopBoundToken);
    assert_eq!(
        off.b.verify_access_token(&token).unwrap_err().code(),
        ErrorCode::DpopBoundToken
    );
    let cached = Both::new(
        config_for(&issuer)
            .verified_token_cache(64)
            .build()
            .unwrap(),
        Some(DpopMode::Allowed),
    );
    assert_eq!(cached.code(&bearer), ErrorCode::DpopBoundToken);
    // Accepted with its proof (and cached), then refused as Bearer: a cache hit.
    let h = headers(
        Some(&format!("DPoP {token}")),
        Some(&proof(&key, &token).build()),
    );
    assert!(cached.auth(&h).unwrap().is_some());
    for _ in 0..2 {
        assert_eq!(cached.code(&bearer), ErrorCode::DpopBoundToken);
        let err = cached
            .rt
            .block_on(cached.a.verify_access_token(&token))
            .unwrap_err();
        assert_eq!(err.code(), ErrorCode::DpopBoundToken);
    }
}

/// DP21: a binding this library cannot verify, as Bearer and as DPoP.
#[test]
fn dp21_unverifiable_bindings_are_refused_in_both_schemes() {
    let issuer = TestIssuer::start();
    let both = Both::new(
        config_for(&issuer).build().unwrap(),
        Some(DpopMode::Allowed),
    );
    let key = TestKey::generate(Alg::ES256, "holder");
    let token = issuer
        .token()
        .claim(
            "cnf",
            json!({"x5t#S256": "bwcK0esc3ACC3DB2Y5_lESsXE8o9ltc05O89jdN-dg2"}),
        )
        .build();
    for h in [
        headers(Some(&format!("Bearer {token}")), None),
        headers(
            Some(&format!("DPoP {token}")),
            Some(&proof(&key, &token).build()),
        ),
    ] {
        let err = both.auth(&h).unwrap_err();
        assert_eq!(err.code(), ErrorCode::InvalidToken);
        assert_eq!(err.message(), "Unsupported token binding");
    }
}

/// DP25: a bad proof with an unknown-kid token that passes the cheap checks costs no
/// key-set request; proof failures precede token failures (an expired token with a bad
/// proof is `invalid_dpop_proof`).
#[test]
fn dp25_a_bad_proof_never_reaches_the_key_set() {
    let issuer = TestIssuer::start();
    let both = Both::new(
        config_for(&issuer).build().unwrap(),
        Some(DpopMode::Allowed),
    );
    let key = TestKey::generate(Alg::ES256, "holder");
    let unknown = TestKey::generate(Alg::RS256, "unknown-kid");
    let token = issuer.token_for(&unknown).cnf_jkt(&key).build();
    let h = headers(
        Some(&format!("DPoP {token}")),
        Some(&proof(&key, &token).htm("POST").build()),
    );
    assert_eq!(both.code(&h), ErrorCode::InvalidDpopProof);
    assert_eq!(issuer.fetch_count(), 0);
    let expired = issuer
        .token()
        .cnf_jkt(&key)
        .claim("exp", json!(now() - 60))
        .build();
    let h = headers(
        Some(&format!("DPoP {expired}")),
        Some(&proof(&key, "not this token").build()),
    );
    assert_eq!(both.code(&h), ErrorCode::InvalidDpopProof);
}

/// Mode `required`: Bearer is not an accepted scheme (anonymous here; `missing_token`
/// where authentication is required).
#[test]
fn required_mode_ignores_bearer_credentials() {
    let issuer = TestIssuer::start();
    let both = Both::new(
        config_for(&issuer).build().unwrap(),
        Some(DpopMode::Required),
    );
    let token = issuer.token().build();
    assert!(both
        .auth(&headers(Some(&format!("Bearer {token}")), None))
        .unwrap()
        .is_none());
}

/// DP26 through the pipeline (every kind of bad nonce is in `tests/dpop.rs`,
/// `nonces_are_required_and_issued`): without a nonce, `use_dpop_nonce` carrying a
/// `DPoP-Nonce` value; the retry with that nonce is accepted.
#[test]
fn dp26_nonce_round_trip_through_authenticate() {
    let issuer = TestIssuer::start();
    let rt = runtime();
    let verifier = AsyncJwtVerifier::builder()
        .issuer(config_for(&issuer).build().unwrap())
        .dpop(DpopVerifier::new(
            DpopConfig::builder()
                .mode(DpopMode::Allowed)
                .public_base_url(BASE)
                .nonce(true)
                .nonce_secret(b"a nonce secret of at least thirty-two bytes".to_vec())
                .build()
                .unwrap(),
        ))
        .build()
        .unwrap();
    let key = TestKey::generate(Alg::ES256, "holder");
    let token = bound(&issuer, &key);
    let (method, uri) = (Method::GET, Uri::from_static("/me"));
    let send = |proof: &DpopProof| {
        let h = headers(Some(&format!("DPoP {token}")), Some(&proof.build()));
        rt.block_on(verifier.authenticate(RequestParts::new(&method, &uri, &h)))
    };
    let err = send(&proof(&key, &token)).unwrap_err();
    assert_eq!(err.code(), ErrorCode::UseDpopNonce);
    assert_eq!(err.status().as_u16(), 401);
    let nonce = err
        .dpop_nonce()
        .expect("DPoP-Nonce")
        .to_str()
        .unwrap()
        .to_owned();
    let err = send(&proof(&key, &token).nonce("forged")).unwrap_err();
    assert_eq!(err.code(), ErrorCode::UseDpopNonce);
    let auth = send(&proof(&key, &token).nonce(&nonce)).unwrap().unwrap();
    let confirmation = auth.dpop.unwrap();
    assert_eq!(confirmation.jkt, key.thumbprint());
    assert!(confirmation.next_nonce.is_none(), "a current-window nonce");
}
