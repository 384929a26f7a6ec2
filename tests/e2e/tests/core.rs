//! `verifier_core::AsyncJwtVerifier` against real tokens from a real OpenID provider.

use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use e2e_tests::tamper;
use e2e_tests::{Provider, TestClient, API_RESOURCE, OTHER_RESOURCE};
use serde_json::{json, Value};
use verifier_core::{AsyncJwtVerifier, AuthError, ErrorCode};

fn verifier(provider: &Provider) -> AsyncJwtVerifier {
    AsyncJwtVerifier::new(provider.config().build().expect("config")).expect("verifier")
}

async fn refused(verifier: &AsyncJwtVerifier, token: &str) -> AuthError {
    match verifier.verify_access_token(token).await {
        Ok(claims) => panic!("token accepted: {claims:?}"),
        Err(err) => err,
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn real_rs256_and_es256_tokens_verify() {
    let provider = Provider::start().await;
    let verifier = verifier(&provider);

    let rs = provider
        .token(TestClient::Rs256, API_RESOURCE, "read admin")
        .await;
    let es = provider
        .token(TestClient::Es256, API_RESOURCE, "read")
        .await;
    assert_eq!(tamper::header(&rs)["alg"], "RS256");
    assert_eq!(tamper::header(&es)["alg"], "ES256");
    assert_eq!(
        tamper::header(&rs)["kid"],
        provider.initial_kids()[0].as_str()
    );
    assert_eq!(
        tamper::header(&es)["kid"],
        provider.initial_kids()[1].as_str()
    );

    let claims = verifier
        .verify_access_token(&rs)
        .await
        .expect("RS256 token");
    assert_eq!(claims.iss(), Some(provider.issuer()));
    assert_eq!(claims.aud(), [API_RESOURCE]);
    assert_eq!(claims.sub(), Some("e2e-rs"));
    assert_eq!(claims.scopes(), ["read", "admin"]);
    assert_eq!(claims.permissions(), ["users:read"]);
    assert_eq!(claims.get("client_id"), Some(&json!("e2e-rs")));
    assert!(claims.exp().is_some() && claims.jti().is_some());
    assert!(claims.require_scopes(&["read", "admin"]).is_ok());

    let claims = verifier
        .verify_access_token(&es)
        .await
        .expect("ES256 token");
    assert_eq!(claims.iss(), Some(provider.issuer()));
    assert_eq!(claims.aud(), [API_RESOURCE]);
    assert_eq!(claims.sub(), Some("e2e-es"));
    assert_eq!(claims.scopes(), ["read"]);

    // Surrounding whitespace is trimmed (docs/security.md, pipeline step 1).
    assert!(verifier
        .verify_access_token(format!("  {rs}\n"))
        .await
        .is_ok());

    // One fetch served both tokens; both published keys are usable.
    assert_eq!(verifier.stats().fetches, 1);
    let mut kids: Vec<String> = verifier
        .get_signing_keys(false)
        .await
        .expect("keys")
        .iter()
        .map(|k| k.kid().to_owned())
        .collect();
    kids.sort();
    let mut published = provider.published_kids().await;
    published.sort();
    assert_eq!(kids, published);
    assert!(verifier.healthcheck(false).await);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn tampered_tokens_are_refused() {
    let provider = Provider::start().await;
    // A long cooldown: the unknown kids below never cause a second fetch.
    let verifier = AsyncJwtVerifier::new(
        provider
            .config()
            .jwks_refresh_cooldown(Duration::from_secs(3600))
            .build()
            .unwrap(),
    )
    .unwrap();
    let rs = provider
        .token(TestClient::Rs256, API_RESOURCE, "read")
        .await;
    let es = provider
        .token(TestClient::Es256, API_RESOURCE, "read")
        .await;
    verifier
        .verify_access_token(&rs)
        .await
        .expect("genuine RS256");
    verifier
        .verify_access_token(&es)
        .await
        .expect("genuine ES256");
    let rs_kid = provider.initial_kids()[0].clone();
    let es_kid = provider.initial_kids()[1].clone();

    let cases: Vec<(&str, String, ErrorCode)> = vec![
        // Signatures.
        (
            "RS256 signature, first byte flipped",
            tamper::flip_signature_byte(&rs, 0),
            ErrorCode::InvalidSignature,
        ),
        (
            "RS256 signature, last byte flipped",
            tamper::flip_signature_byte(&rs, usize::MAX),
            ErrorCode::InvalidSignature,
        ),
        (
            "ES256 signature, byte flipped",
            tamper::flip_signature_byte(&es, 17),
            ErrorCode::InvalidSignature,
        ),
        (
            "RS256 signature truncated",
            tamper::with_signature(&rs, &tamper::signature(&rs)[..255]),
            ErrorCode::InvalidSignature,
        ),
        (
            "empty signature",
            tamper::with_signature(&rs, b""),
            ErrorCode::InvalidSignature,
        ),
        (
            "ES256 signature on the RS256 token",
            tamper::with_signature(&rs, &tamper::signature(&es)),
            ErrorCode::InvalidSignature,
        ),
        // Payload.
        (
            "scope elevated",
            tamper::edit_payload(&rs, |p| {
                p.insert("scope".into(), json!("read admin"));
            }),
            ErrorCode::InvalidSignature,
        ),
        (
            "exp extended",
            tamper::edit_payload(&rs, |p| {
                let exp = p["exp"].as_i64().unwrap();
                p.insert("exp".into(), json!(exp + 86_400));
            }),
            ErrorCode::InvalidSignature,
        ),
        (
            "sub changed (ES256)",
            tamper::edit_payload(&es, |p| {
                p.insert("sub".into(), json!("admin"));
            }),
            ErrorCode::InvalidSignature,
        ),
        // Algorithm.
        (
            "alg none",
            tamper::edit_header(&rs, |h| {
                h.insert("alg".into(), json!("none"));
            }),
            ErrorCode::DisallowedAlg,
        ),
        (
            "alg None",
            tamper::with_signature(
                &tamper::edit_header(&rs, |h| {
                    h.insert("alg".into(), json!("None"));
                }),
                b"",
            ),
            ErrorCode::DisallowedAlg,
        ),
        (
            "alg HS256 (key confusion)",
            tamper::edit_header(&rs, |h| {
                h.insert("alg".into(), json!("HS256"));
            }),
            ErrorCode::DisallowedAlg,
        ),
        (
            "alg RS512 (not allowed)",
            tamper::edit_header(&rs, |h| {
                h.insert("alg".into(), json!("RS512"));
            }),
            ErrorCode::DisallowedAlg,
        ),
        (
            "alg ES256 on the RSA key",
            tamper::edit_header(&rs, |h| {
                h.insert("alg".into(), json!("ES256"));
            }),
            ErrorCode::DisallowedAlg,
        ),
        (
            "alg removed",
            tamper::edit_header(&rs, |h| {
                h.remove("alg");
            }),
            ErrorCode::MalformedToken,
        ),
        // Key id.
        (
            "kid unknown",
            tamper::edit_header(&rs, |h| {
                h.insert("kid".into(), json!("no-such-kid"));
            }),
            ErrorCode::KeyNotFound,
        ),
        (
            "kid of the ES256 key on an RS256 token",
            tamper::edit_header(&rs, |h| {
                h.insert("kid".into(), json!(es_kid));
            }),
            ErrorCode::DisallowedAlg,
        ),
        (
            "kid of the RS256 key on an ES256 token",
            tamper::edit_header(&es, |h| {
                h.insert("kid".into(), json!(rs_kid));
            }),
            ErrorCode::DisallowedAlg,
        ),
        (
            "kid removed",
            tamper::edit_header(&rs, |h| {
                h.remove("kid");
            }),
            ErrorCode::MissingKid,
        ),
        // Header members that would pick the key.
        (
            "jku added",
            tamper::edit_header(&rs, |h| {
                h.insert("jku".into(), json!("http://127.0.0.1:9/jwks"));
            }),
            ErrorCode::ForbiddenHeader,
        ),
        (
            "embedded jwk is ignored, the signature still does not match",
            tamper::edit_header(&rs, |h| {
                h.insert("jwk".into(), json!({"kty": "oct", "k": "AAAA"}));
                h.insert("kid".into(), json!("attacker"));
            }),
            ErrorCode::KeyNotFound,
        ),
        // Structure.
        (
            "two segments",
            rs.rsplit_once('.').unwrap().0.to_owned(),
            ErrorCode::MalformedToken,
        ),
        (
            "four segments",
            format!("{rs}.AAAA"),
            ErrorCode::MalformedToken,
        ),
        (
            "padding added",
            format!("{rs}=="),
            ErrorCode::MalformedToken,
        ),
        ("empty", String::new(), ErrorCode::MissingToken),
    ];

    let mut failures = Vec::new();
    for (name, token, want) in &cases {
        match verifier.verify_access_token(token).await {
            Ok(_) => failures.push(format!("{name}: accepted")),
            Err(err) if err.code() != *want => {
                failures.push(format!("{name}: {} ({err:?}), want {want}", err.code()))
            }
            Err(err) => {
                assert_eq!(err.status(), 401, "{name}");
                let challenge = err.www_authenticate(Some("api")).unwrap();
                let challenge = challenge.to_str().unwrap();
                if *want == ErrorCode::MissingToken {
                    assert_eq!(challenge, r#"Bearer realm="api""#, "{name}");
                } else {
                    assert_eq!(
                        challenge,
                        format!(
                            r#"Bearer realm="api", error="invalid_token", error_description="{}""#,
                            err.message()
                        ),
                        "{name}"
                    );
                }
            }
        }
    }
    assert!(failures.is_empty(), "{failures:#?}");
    // The genuine tokens still verify, and the unknown kids above caused no fetch: the
    // cooldown had not passed since the first one.
    verifier
        .verify_access_token(&rs)
        .await
        .expect("genuine RS256");
    assert_eq!(verifier.stats().fetches, 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn expired_token_is_refused() {
    let provider = Provider::start().await;
    let token = provider
        .token(TestClient::ShortLived, API_RESOURCE, "read")
        .await;
    let payload = tamper::payload(&token);
    let exp = payload["exp"].as_f64().expect("numeric exp");
    let iat = payload["iat"].as_f64().expect("numeric iat");
    assert_eq!(exp - iat, 1.0, "the short-lived client issues 1 s tokens");

    // Wait (bounded) until the token is past its expiry.
    let deadline = Instant::now() + Duration::from_secs(5);
    loop {
        let now = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .unwrap()
            .as_secs_f64();
        if now > exp + 0.05 {
            break;
        }
        assert!(Instant::now() < deadline, "clock did not pass exp");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }

    let strict = verifier(&provider);
    let err = refused(&strict, &token).await;
    assert_eq!(err.code(), ErrorCode::TokenExpired, "{err:?}");
    assert_eq!(err.message(), "Token is expired");
    assert_eq!(
        err.www_authenticate(None).unwrap(),
        r#"Bearer error="invalid_token", error_description="Token is expired""#
    );

    // The same token within a leeway is otherwise valid (real signature, claims).
    let lenient = AsyncJwtVerifier::new(
        provider
            .config()
            .leeway(Duration::from_secs(120))
            .build()
            .unwrap(),
    )
    .unwrap();
    let claims = lenient
        .verify_access_token(&token)
        .await
        .expect("within leeway");
    assert_eq!(claims.sub(), Some("e2e-short"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn token_for_another_resource_has_the_wrong_audience() {
    let provider = Provider::start().await;
    let other = provider
        .token(TestClient::Rs256, OTHER_RESOURCE, "read")
        .await;
    assert_eq!(tamper::payload(&other)["aud"], OTHER_RESOURCE);

    let err = refused(&verifier(&provider), &other).await;
    assert_eq!(err.code(), ErrorCode::InvalidAudience, "{err:?}");
    assert_eq!(err.status(), 401);

    // A verifier for that resource accepts it; one for both accepts it too.
    let for_other =
        AsyncJwtVerifier::new(provider.config_for(OTHER_RESOURCE).build().unwrap()).unwrap();
    assert_eq!(
        for_other.verify_access_token(&other).await.unwrap().aud(),
        [OTHER_RESOURCE]
    );
    let api = provider
        .token(TestClient::Es256, API_RESOURCE, "read")
        .await;
    let err = refused(&for_other, &api).await;
    assert_eq!(err.code(), ErrorCode::InvalidAudience);
    let both = AsyncJwtVerifier::new(
        provider
            .config()
            .audiences([API_RESOURCE, OTHER_RESOURCE])
            .build()
            .unwrap(),
    )
    .unwrap();
    assert!(both.verify_access_token(&other).await.is_ok());
    assert!(both.verify_access_token(&api).await.is_ok());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn required_scopes_and_permissions_are_enforced() {
    let provider = Provider::start().await;
    let read = provider
        .token(TestClient::Rs256, API_RESOURCE, "read")
        .await;
    let admin = provider
        .token(TestClient::Es256, API_RESOURCE, "read admin")
        .await;

    let needs_admin = AsyncJwtVerifier::new(
        provider
            .config()
            .required_scopes(["admin", "read"])
            .build()
            .unwrap(),
    )
    .unwrap();
    let err = refused(&needs_admin, &read).await;
    assert_eq!(err.code(), ErrorCode::InsufficientScope, "{err:?}");
    assert_eq!(err.status(), 403);
    assert_eq!(err.required_scopes(), ["admin"]);
    assert_eq!(
        err.www_authenticate(Some("api")).unwrap(),
        r#"Bearer realm="api", error="insufficient_scope", error_description="Insufficient scope", scope="admin""#
    );
    let claims = needs_admin.verify_access_token(&admin).await.unwrap();
    assert_eq!(claims.scopes(), ["read", "admin"]);

    // Per-route checks on verified claims.
    let plain = verifier(&provider);
    let claims = plain.verify_access_token(&read).await.unwrap();
    let err = claims
        .require_scopes(&["write", "admin", "read"])
        .unwrap_err();
    assert_eq!(err.code(), ErrorCode::InsufficientScope);
    assert_eq!(err.required_scopes(), ["admin", "write"]);
    assert!(claims.require_permissions(&["users:read"]).is_ok());
    let err = claims.require_permissions(&["users:write"]).unwrap_err();
    assert_eq!(err.code(), ErrorCode::InsufficientPermissions);
    assert_eq!(err.status(), 403);

    // Verifier-wide permissions.
    let needs_write = AsyncJwtVerifier::new(
        provider
            .config()
            .required_permissions(["users:write"])
            .build()
            .unwrap(),
    )
    .unwrap();
    let err = refused(&needs_write, &admin).await;
    assert_eq!(err.code(), ErrorCode::InsufficientPermissions);
    assert_eq!(err.required_permissions(), ["users:write"]);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn key_rotation_is_picked_up_after_the_cooldown() {
    const COOLDOWN: Duration = Duration::from_millis(1500);
    let provider = Provider::start().await;
    let verifier = AsyncJwtVerifier::new(
        provider
            .config()
            .jwks_refresh_cooldown(COOLDOWN)
            .build()
            .unwrap(),
    )
    .unwrap();

    let old = provider
        .token(TestClient::Rs256, API_RESOURCE, "read")
        .await;
    // The first fetch starts inside this call, so it started after `before_fetch`.
    let before_fetch = Instant::now();
    verifier.verify_access_token(&old).await.expect("old token");
    assert_eq!(verifier.stats().fetches, 1);

    let new_kids = provider.rotate_keys().await;
    assert_eq!(new_kids.len(), 2);
    for kid in &new_kids {
        assert!(!provider.initial_kids().contains(kid), "kid {kid} reused");
    }
    let mut published = provider.published_kids().await;
    published.sort();
    let mut want = new_kids.clone();
    want.sort();
    assert_eq!(published, want, "the provider publishes only the new keys");

    // A known kid is served from the cache: no fetch.
    verifier
        .verify_access_token(&old)
        .await
        .expect("old token, cached key");
    assert_eq!(verifier.stats().fetches, 1);

    let new = provider
        .token(TestClient::Rs256, API_RESOURCE, "read")
        .await;
    assert_eq!(tamper::header(&new)["kid"], new_kids[0].as_str());

    // Within the cooldown, an unknown kid is refused at once without a fetch.
    let first = verifier.verify_access_token(&new).await;
    if before_fetch.elapsed() < COOLDOWN {
        let err = first.expect_err("refresh within the cooldown");
        assert_eq!(err.code(), ErrorCode::KeyNotFound, "{err:?}");
        assert_eq!(verifier.stats().fetches, 1);
    }

    // After the cooldown, the unknown kid triggers one refresh and verifies.
    let deadline = Instant::now() + Duration::from_secs(15);
    loop {
        match verifier.verify_access_token(&new).await {
            Ok(claims) => {
                assert_eq!(claims.sub(), Some("e2e-rs"));
                break;
            }
            Err(err) => assert_eq!(err.code(), ErrorCode::KeyNotFound, "{err:?}"),
        }
        assert!(
            Instant::now() < deadline,
            "the rotated key was not picked up"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert_eq!(verifier.stats().fetches, 2, "exactly one refresh");

    // The new ES256 key came with the same refresh.
    let new_es = provider
        .token(TestClient::Es256, API_RESOURCE, "read")
        .await;
    assert_eq!(tamper::header(&new_es)["kid"], new_kids[1].as_str());
    verifier
        .verify_access_token(&new_es)
        .await
        .expect("new ES256 token");
    assert_eq!(verifier.stats().fetches, 2);

    // The refresh replaced the set whole: the old key no longer verifies.
    let err = refused(&verifier, &old).await;
    assert_eq!(err.code(), ErrorCode::KeyNotFound, "{err:?}");
    let mut cached: Vec<String> = verifier
        .get_signing_keys(false)
        .await
        .unwrap()
        .iter()
        .map(|k| k.kid().to_owned())
        .collect();
    cached.sort();
    assert_eq!(cached, want);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn discovery_and_jwks_are_the_providers_own() {
    let provider = Provider::start().await;
    assert!(provider.issuer().starts_with("http://127.0.0.1:"));
    assert_eq!(provider.jwks_uri(), format!("{}/jwks", provider.issuer()));
    // Unverified decoding shows what the provider put in the header.
    let token = provider
        .token(TestClient::Rs256, API_RESOURCE, "read")
        .await;
    let (header, payload) = verifier_core::decode_unverified(&token).unwrap();
    assert_eq!(header["typ"], "at+jwt");
    assert_eq!(payload["client_id"], "e2e-rs");
    assert_eq!(payload["iss"], Value::from(provider.issuer()));
}
