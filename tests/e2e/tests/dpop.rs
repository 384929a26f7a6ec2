//! DPoP (RFC 9449) with a real OpenID provider, at core level: oidc-provider binds an
//! access token to the client's key (`cnf.jkt`) when the token request carries a proof;
//! `AsyncJwtVerifier::authenticate` accepts that token only with a fresh proof of the
//! same key, refuses it as Bearer and refuses a replayed proof.

use e2e_tests::tamper;
use e2e_tests::{api_proof, Provider, TestClient, API_RESOURCE};
use http::{HeaderMap, HeaderValue, Method, Uri};
use serde_json::Value;
use verifier_core::dpop::{DpopConfig, DpopMode, DpopVerifier};
use verifier_core::{AsyncJwtVerifier, AuthError, Authenticated, ErrorCode, RequestParts, Scheme};
use verifier_testkit::{Alg, TestKey};

/// The public base URL of the API in these tests. Nothing listens there: the verifier
/// only matches proofs' `htu` against it.
const API_BASE: &str = "http://127.0.0.1:8080";
/// The API route the requests go to.
const ME: &str = "/me";

fn me_url() -> String {
    format!("{API_BASE}{ME}")
}

/// A verifier of `provider`'s tokens for [`API_RESOURCE`] with DPoP in `mode`.
fn verifier(provider: &Provider, mode: DpopMode) -> AsyncJwtVerifier {
    let dpop = DpopConfig::builder()
        .mode(mode)
        .public_base_url(API_BASE)
        .build()
        .expect("DPoP config");
    AsyncJwtVerifier::builder()
        .issuer(provider.config().build().expect("config"))
        .dpop(DpopVerifier::new(dpop))
        .build()
        .expect("verifier")
}

/// `authenticate` for `GET /me` with `Authorization: <scheme> <token>` and, when given,
/// one `DPoP: <proof>` header.
async fn get_me(
    verifier: &AsyncJwtVerifier,
    scheme: &str,
    token: &str,
    proof: Option<&str>,
) -> Result<Option<Authenticated>, AuthError> {
    let mut headers = HeaderMap::new();
    headers.insert(
        http::header::AUTHORIZATION,
        HeaderValue::from_str(&format!("{scheme} {token}")).expect("header value"),
    );
    if let Some(proof) = proof {
        headers.insert("dpop", HeaderValue::from_str(proof).expect("header value"));
    }
    let uri = Uri::from_static(ME);
    verifier
        .authenticate(RequestParts::new(&Method::GET, &uri, &headers))
        .await
}

#[track_caller]
fn accepted(result: Result<Option<Authenticated>, AuthError>) -> Authenticated {
    match result {
        Ok(Some(auth)) => auth,
        Ok(None) => panic!("no credentials found"),
        Err(err) => panic!("refused: {err:?}"),
    }
}

#[track_caller]
fn refused(result: Result<Option<Authenticated>, AuthError>) -> AuthError {
    match result {
        Ok(auth) => panic!("accepted: {auth:?}"),
        Err(err) => err,
    }
}

/// A token the provider bound to an ES256 client key: DPoP + fresh proof is accepted
/// (scheme DPoP, `jkt` = the key's thumbprint); as Bearer it is `dpop_bound_token`; the
/// same proof twice is `dpop_proof_replayed`; another key's proof is
/// `dpop_binding_mismatch`; a proof for another method is `invalid_dpop_proof`.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn provider_dpop_bound_token_needs_a_fresh_proof_of_its_key() {
    let provider = Provider::start().await;
    let (token, key) = provider
        .dpop_token(TestClient::Es256, API_RESOURCE, "read admin")
        .await;
    assert_eq!(tamper::header(&token)["typ"], "at+jwt");
    assert_eq!(
        tamper::payload(&token)["cnf"]["jkt"],
        Value::from(key.thumbprint())
    );
    let verifier = verifier(&provider, DpopMode::Allowed);

    let proof = api_proof(&key, "GET", &me_url(), &token);
    let auth = accepted(get_me(&verifier, "DPoP", &token, Some(&proof)).await);
    assert_eq!(auth.scheme, Scheme::Dpop);
    let confirmation = auth.dpop.as_ref().expect("DPoP confirmation");
    assert_eq!(confirmation.jkt, key.thumbprint());
    assert!(confirmation.next_nonce.is_none());
    assert_eq!(&*auth.issuer, provider.issuer());
    assert_eq!(auth.claims.sub(), Some("e2e-es"));
    assert_eq!(auth.claims.client_id(), Some("e2e-es"));
    assert_eq!(auth.claims.scopes(), ["read", "admin"]);

    // The same token as Bearer: the downgrade guard, with or without a proof beside it,
    // and through `verify_access_token`.
    for proof in [None, Some(api_proof(&key, "GET", &me_url(), &token))] {
        let err = refused(get_me(&verifier, "Bearer", &token, proof.as_deref()).await);
        assert_eq!(err.code(), ErrorCode::DpopBoundToken, "{err:?}");
        assert_eq!(err.scheme(), Some(Scheme::Bearer));
        assert_eq!(err.message(), "DPoP-bound token requires the DPoP scheme");
    }
    let err = verifier.verify_access_token(&token).await.unwrap_err();
    assert_eq!(err.code(), ErrorCode::DpopBoundToken, "{err:?}");

    // The accepted proof again.
    let err = refused(get_me(&verifier, "DPoP", &token, Some(&proof)).await);
    assert_eq!(err.code(), ErrorCode::DpopProofReplayed, "{err:?}");
    assert_eq!(err.scheme(), Some(Scheme::Dpop));
    assert_eq!(err.message(), "DPoP proof replayed");

    // Another key's proof for the same token.
    let other = TestKey::generate(Alg::ES256, "other");
    let wrong_key = api_proof(&other, "GET", &me_url(), &token);
    let err = refused(get_me(&verifier, "DPoP", &token, Some(&wrong_key)).await);
    assert_eq!(err.code(), ErrorCode::DpopBindingMismatch, "{err:?}");

    // A proof for another request (POST) or another URL.
    for (method, url) in [
        ("POST", me_url()),
        ("GET", format!("{API_BASE}/admin")),
        ("GET", format!("http://127.0.0.1:8081{ME}")),
    ] {
        let other_request = api_proof(&key, method, &url, &token);
        let err = refused(get_me(&verifier, "DPoP", &token, Some(&other_request)).await);
        assert_eq!(
            err.code(),
            ErrorCode::InvalidDpopProof,
            "{method} {url}: {err:?}"
        );
        assert_eq!(err.message(), "DPoP proof does not match the request");
    }

    // A proof for the token endpoint (what the client sent the provider) is not one
    // for the API.
    let for_provider = api_proof(&key, "GET", provider.token_endpoint(), &token);
    let err = refused(get_me(&verifier, "DPoP", &token, Some(&for_provider)).await);
    assert_eq!(err.code(), ErrorCode::InvalidDpopProof, "{err:?}");

    // A fresh proof still works after all that, also where DPoP is required.
    let fresh = api_proof(&key, "GET", &me_url(), &token);
    let auth = accepted(get_me(&verifier, "DPoP", &token, Some(&fresh)).await);
    assert_eq!(auth.dpop.expect("confirmation").jkt, key.thumbprint());
    let required = self::verifier(&provider, DpopMode::Required);
    let fresh = api_proof(&key, "GET", &me_url(), &token);
    let auth = accepted(get_me(&required, "dpop", &token, Some(&fresh)).await);
    assert_eq!(auth.scheme, Scheme::Dpop);
}

/// With DPoP enabled at the provider, a client that sends no proof still gets an
/// unbound Bearer token: accepted as Bearer, refused under the DPoP scheme.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bearer_clients_still_get_unbound_tokens() {
    let provider = Provider::start().await;
    let token = provider
        .token(TestClient::Rs256, API_RESOURCE, "read")
        .await;
    assert!(!tamper::payload(&token).contains_key("cnf"));
    let verifier = verifier(&provider, DpopMode::Allowed);

    let auth = accepted(get_me(&verifier, "Bearer", &token, None).await);
    assert_eq!(auth.scheme, Scheme::Bearer);
    assert!(auth.dpop.is_none());
    assert_eq!(auth.claims.sub(), Some("e2e-rs"));

    // An unbound token under the DPoP scheme, with a valid proof of some key.
    let key = TestKey::generate(Alg::ES256, "client");
    let proof = api_proof(&key, "GET", &me_url(), &token);
    let err = refused(get_me(&verifier, "DPoP", &token, Some(&proof)).await);
    assert_eq!(err.code(), ErrorCode::DpopBindingMismatch, "{err:?}");
}

/// An Ed25519 client key binds an RS256-signed token (the key and the token's signature
/// are independent).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn eddsa_client_key_binds_an_rs256_token() {
    let provider = Provider::start().await;
    let key = TestKey::generate(Alg::EdDSA, "ed-client");
    let token = provider
        .dpop_token_with_key(TestClient::Rs256, API_RESOURCE, "read", &key)
        .await;
    assert_eq!(tamper::header(&token)["alg"], "RS256");
    let verifier = verifier(&provider, DpopMode::Required);
    let proof = api_proof(&key, "GET", &me_url(), &token);
    let auth = accepted(get_me(&verifier, "DPoP", &token, Some(&proof)).await);
    assert_eq!(auth.dpop.expect("confirmation").jkt, key.thumbprint());
    assert_eq!(auth.claims.sub(), Some("e2e-rs"));
}
