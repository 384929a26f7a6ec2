//! The RFC 9068 access-token profile (SPEC-2 §3) against a real OpenID provider:
//! oidc-provider's JWT access tokens (`typ: at+jwt`, `client_id`, `jti`, `iat`) pass the
//! preset, and the same claims under `typ: JWT` are refused before any key lookup.

use e2e_tests::tamper;
use e2e_tests::{Provider, TestClient, API_RESOURCE};
use serde_json::{Map, Value};
use verifier_core::{
    AccessTokenProfile, Algorithm, AsyncJwtVerifier, AuthConfig, AuthError, ErrorCode,
};
use verifier_testkit::{Alg, TestKey, TokenBuilder};

/// A verifier of `provider` under the RFC 9068 preset (keys from its `jwks_uri`).
fn rfc9068(provider: &Provider) -> AsyncJwtVerifier {
    let config = provider.config().rfc9068().build().expect("config");
    assert_eq!(config.access_token_profile(), AccessTokenProfile::Rfc9068);
    AsyncJwtVerifier::new(config).expect("verifier")
}

async fn refused(verifier: &AsyncJwtVerifier, token: &str) -> AuthError {
    match verifier.verify_access_token(token).await {
        Ok(claims) => panic!("token accepted: {claims:?}"),
        Err(err) => err,
    }
}

/// `token`'s header (edited by `edit`) and payload, signed again by `key` (not the
/// provider's): what someone holding another key could present.
fn resigned(token: &str, key: &TestKey, edit: impl FnOnce(&mut Map<String, Value>)) -> String {
    let mut header = tamper::header(token);
    edit(&mut header);
    let mut builder = TokenBuilder::new(key).remove_header("typ");
    for (name, value) in header {
        builder = builder.header(&name, value);
    }
    builder
        .claims(Value::Object(tamper::payload(token)))
        .build()
}

/// PF9: oidc-provider tokens verify under the preset (both signing algorithms, keys from
/// `jwks_uri` and from discovery); their header and claims re-signed by a test key with
/// `typ: JWT` are refused with `invalid_token_type` before any key fetch, while with
/// `typ: at+jwt` kept the same forgery only fails at the signature.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn pf9_provider_access_tokens_pass_rfc9068_and_a_retyped_copy_is_refused() {
    let provider = Provider::start().await;
    let verifier = rfc9068(&provider);
    let rs = provider
        .token(TestClient::Rs256, API_RESOURCE, "read admin")
        .await;
    let es = provider
        .token(TestClient::Es256, API_RESOURCE, "read")
        .await;

    for (token, client, alg) in [(&rs, "e2e-rs", "RS256"), (&es, "e2e-es", "ES256")] {
        // What oidc-provider puts in its JWT access tokens.
        let header = tamper::header(token);
        assert_eq!(header["typ"], "at+jwt", "{header:?}");
        assert_eq!(header["alg"], alg, "{header:?}");
        let payload = tamper::payload(token);
        for claim in ["sub", "client_id", "iat", "jti", "exp", "iss", "aud"] {
            assert!(payload.contains_key(claim), "{claim} missing: {payload:?}");
        }

        let claims = verifier
            .verify_access_token(token)
            .await
            .unwrap_or_else(|e| panic!("{alg} token under rfc9068: {e:?}"));
        assert_eq!(claims.client_id(), Some(client));
        assert_eq!(claims.sub(), Some(client));
        assert_eq!(claims.jti(), payload["jti"].as_str());
        assert_eq!(claims.iat(), payload["iat"].as_f64());
        assert_eq!(claims.iss(), Some(provider.issuer()));
        assert_eq!(claims.aud(), [API_RESOURCE]);
    }

    // The preset combines with discovery: issuer only, keys found from its metadata.
    let discovering = AsyncJwtVerifier::new(
        AuthConfig::builder()
            .issuer(provider.issuer())
            .audience(API_RESOURCE)
            .allowed_algs([Algorithm::RS256, Algorithm::ES256])
            .rfc9068()
            .build()
            .expect("config"),
    )
    .expect("verifier");
    for token in [&rs, &es] {
        discovering
            .verify_access_token(token)
            .await
            .expect("rfc9068 with discovery");
    }

    // The provider's header and claims, `typ: JWT`, re-signed by a test key of the same
    // algorithm under the provider's kid. A fresh verifier, so any key need would fetch.
    let fresh = rfc9068(&provider);
    for (token, alg) in [(&rs, Alg::RS256), (&es, Alg::ES256)] {
        let fetches = fresh.stats().fetches;
        let kid = tamper::header(token)["kid"]
            .as_str()
            .expect("kid")
            .to_owned();
        let key = TestKey::generate(alg, kid.as_str());
        let retyped = resigned(token, &key, |h| {
            h.insert("typ".into(), Value::from("JWT"));
        });
        assert_eq!(tamper::header(&retyped)["typ"], "JWT");
        assert_eq!(tamper::header(&retyped)["kid"], kid.as_str());
        assert_eq!(tamper::payload(&retyped), tamper::payload(token));

        let err = refused(&fresh, &retyped).await;
        assert_eq!(err.code(), ErrorCode::InvalidTokenType, "{alg:?}: {err:?}");
        assert_eq!(err.message(), "Invalid token type");
        assert_eq!(
            err.www_authenticate(Some("api")).expect("challenge"),
            r#"Bearer realm="api", error="invalid_token", error_description="Invalid token type""#
        );
        // Step 5b comes before the key lookup: nothing was fetched.
        assert_eq!(fresh.stats().fetches, fetches, "{alg:?}");

        // The same edit with the provider's signature kept: also refused on `typ`.
        let unsigned = tamper::edit_header(token, |h| {
            h.insert("typ".into(), Value::from("JWT"));
        });
        let err = refused(&fresh, &unsigned).await;
        assert_eq!(err.code(), ErrorCode::InvalidTokenType, "{err:?}");
        assert_eq!(fresh.stats().fetches, fetches);

        // With `typ: at+jwt` the test key's forgery passes the profile and fails at the
        // signature: the refusal above is the profile's.
        let forged = resigned(token, &key, |_| {});
        assert_eq!(tamper::header(&forged)["typ"], "at+jwt");
        let err = refused(&fresh, &forged).await;
        assert_eq!(err.code(), ErrorCode::InvalidSignature, "{alg:?}: {err:?}");
    }
    // The first refusals fetched nothing; the signature checks needed one key set.
    assert_eq!(fresh.stats().fetches, 1);

    // The generic profile ignores `typ: JWT`: the retyped forgery fails at the signature.
    let generic =
        AsyncJwtVerifier::new(provider.config().build().expect("config")).expect("verifier");
    let key = TestKey::generate(Alg::RS256, provider.initial_kids()[0].as_str());
    let retyped = resigned(&rs, &key, |h| {
        h.insert("typ".into(), Value::from("JWT"));
    });
    let err = refused(&generic, &retyped).await;
    assert_eq!(err.code(), ErrorCode::InvalidSignature, "{err:?}");
    // And accepts the provider's own tokens.
    generic.verify_access_token(&rs).await.expect("generic");
}
