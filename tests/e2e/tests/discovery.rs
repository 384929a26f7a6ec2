//! Discovery and several issuers against real OpenID providers (SPEC-2 DS20, MI15): the
//! verifier is configured with issuers only, and finds each key set from the provider's
//! own metadata.

use std::time::{Duration, Instant};

use e2e_tests::tamper;
use e2e_tests::{Provider, TestClient, API_RESOURCE};
use verifier_core::{Algorithm, AsyncJwtVerifier, AuthConfig, ErrorCode};

/// An issuer-only configuration for `provider` (no `jwks_url`).
fn discovering(provider: &Provider) -> AuthConfig {
    AuthConfig::builder()
        .issuer(provider.issuer())
        .audience(API_RESOURCE)
        .allowed_algs([Algorithm::RS256, Algorithm::ES256])
        .jwks_refresh_cooldown(Duration::from_millis(500))
        .build()
        .expect("config")
}

/// DS20: `OIDC_ISSUER` only against oidc-provider: RS256 and ES256 tokens verify, the
/// key set comes from the `jwks_uri` the metadata names, and a key rotation is picked up.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ds20_issuer_only_discovers_verifies_and_follows_rotation() {
    let provider = Provider::start().await;
    let verifier = AsyncJwtVerifier::new(discovering(&provider)).expect("verifier");
    let rs = provider
        .token(TestClient::Rs256, API_RESOURCE, "read")
        .await;
    let es = provider
        .token(TestClient::Es256, API_RESOURCE, "read")
        .await;
    let claims = verifier
        .verify_access_token(&rs)
        .await
        .expect("RS256 token");
    assert_eq!(claims.sub(), Some("e2e-rs"));
    verifier
        .verify_access_token(&es)
        .await
        .expect("ES256 token");
    let health = verifier.health().await;
    assert!(health.ready);
    let metadata = health.issuers[0].metadata.as_ref().expect("metadata stats");
    assert_eq!(
        metadata.url.as_ref().map(|u| u.as_str()),
        Some(format!("{}/.well-known/openid-configuration", provider.issuer()).as_str())
    );
    assert_eq!(
        metadata.jwks_uri.as_ref().map(|u| u.as_str()),
        Some(provider.jwks_uri())
    );
    assert_eq!(metadata.fetches, 1);

    // Rotation: the new kid triggers one key-set refresh (after the cooldown), never a
    // metadata one.
    provider.rotate_keys().await;
    let new = provider
        .token(TestClient::Rs256, API_RESOURCE, "read")
        .await;
    let deadline = Instant::now() + Duration::from_secs(15);
    loop {
        match verifier.verify_access_token(&new).await {
            Ok(_) => break,
            Err(err) => assert_eq!(err.code(), ErrorCode::KeyNotFound, "{err:?}"),
        }
        assert!(
            Instant::now() < deadline,
            "the rotated key was not picked up"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert_eq!(verifier.stats().fetches, 2);
    assert_eq!(
        verifier.jwks().metadata_stats().expect("metadata").fetches,
        1
    );
}

/// MI15: two providers (two ports) behind one verifier: each provider's tokens verify;
/// a token of one carrying the other's signature fails.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn mi15_two_providers_one_verifier() {
    let a = Provider::start().await;
    let b = Provider::start().await;
    assert_ne!(a.issuer(), b.issuer());
    let verifier = AsyncJwtVerifier::builder()
        .issuer(discovering(&a))
        .issuer(discovering(&b))
        .build()
        .expect("verifier");
    let from_a = a.token(TestClient::Rs256, API_RESOURCE, "read").await;
    let from_b = b.token(TestClient::Rs256, API_RESOURCE, "read").await;
    let claims = verifier
        .verify_access_token(&from_a)
        .await
        .expect("A's token");
    assert_eq!(claims.iss(), Some(a.issuer()));
    let claims = verifier
        .verify_access_token(&from_b)
        .await
        .expect("B's token");
    assert_eq!(claims.iss(), Some(b.issuer()));

    // A's header and claims with B's signature, and the reverse.
    let swapped = tamper::with_signature(&from_a, &tamper::signature(&from_b));
    let err = verifier.verify_access_token(&swapped).await.unwrap_err();
    assert!(matches!(err.code(), ErrorCode::InvalidSignature), "{err:?}");
    let swapped = tamper::with_signature(&from_b, &tamper::signature(&from_a));
    let err = verifier.verify_access_token(&swapped).await.unwrap_err();
    assert_eq!(err.code(), ErrorCode::InvalidSignature, "{err:?}");

    // B's claims under A's key id: A's key set is the only one consulted.
    let a_kid = tamper::header(&from_a)["kid"].clone();
    let cross = tamper::edit_header(&from_b, |h| {
        h.insert("kid".into(), a_kid);
    });
    let err = verifier.verify_access_token(&cross).await.unwrap_err();
    assert!(
        matches!(
            err.code(),
            ErrorCode::KeyNotFound | ErrorCode::InvalidSignature
        ),
        "{err:?}"
    );
    let health = verifier.health().await;
    assert!(health.ready);
    assert_eq!(health.issuers.len(), 2);
}
