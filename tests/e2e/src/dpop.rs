//! DPoP (RFC 9449) with the provider: a client holding its own key sends a proof to the
//! token endpoint and receives an access token bound to that key (`cnf.jkt`), then signs
//! a fresh proof for every API request.

use serde_json::Value;
use verifier_testkit::{Alg, DpopProof, TestKey};

use crate::{http_client, tamper, Provider, TestClient};

/// A DPoP proof for an API request: `htm` = `method`, `htu` = `url` (the full URL the
/// client calls, e.g. `http://127.0.0.1:PORT/me`), `ath` bound to `access_token`, a
/// random `jti` and `iat` now, signed with `key`. Every call gives a new proof.
pub fn api_proof(key: &TestKey, method: &str, url: &str, access_token: &str) -> String {
    DpopProof::new(key)
        .htm(method)
        .htu(url)
        .ath_for(access_token)
        .build()
}

impl Provider {
    /// A DPoP-bound access token for a fresh ES256 client key, and that key: see
    /// [`Provider::dpop_token_with_key`].
    pub async fn dpop_token(
        &self,
        client: TestClient,
        resource: &str,
        scope: &str,
    ) -> (String, TestKey) {
        let key = TestKey::generate(Alg::ES256, "dpop-client");
        let token = self
            .dpop_token_with_key(client, resource, scope, &key)
            .await;
        (token, key)
    }

    /// Requests an access token like [`Provider::token`], with a DPoP proof signed by
    /// `key` (ES256 or EdDSA, the algorithms the provider accepts) for `POST` at the
    /// token endpoint. The provider answers `token_type: DPoP` and a JWT access token
    /// whose `cnf.jkt` is `key`'s RFC 7638 thumbprint.
    ///
    /// # Panics
    ///
    /// When the provider does not answer 200 with a DPoP token bound to `key`.
    pub async fn dpop_token_with_key(
        &self,
        client: TestClient,
        resource: &str,
        scope: &str,
        key: &TestKey,
    ) -> String {
        let proof = DpopProof::new(key)
            .htm("POST")
            .htu(&self.token_endpoint)
            .build();
        let response = http_client()
            .post(&self.token_endpoint)
            .basic_auth(client.id(), Some(client.secret()))
            .header("DPoP", proof)
            .form(&[
                ("grant_type", "client_credentials"),
                ("resource", resource),
                ("scope", scope),
            ])
            .send()
            .await
            .unwrap_or_else(|e| panic!("POST {}: {e}", self.token_endpoint));
        let status = response.status();
        let body: Value = response.json().await.expect("token response JSON");
        assert_eq!(
            status,
            200,
            "DPoP token request failed: {body}; provider stderr:\n{}",
            self.stderr()
        );
        assert_eq!(body["token_type"], "DPoP", "{body}");
        let token = body["access_token"]
            .as_str()
            .unwrap_or_else(|| panic!("no access_token in {body}"))
            .to_owned();
        let payload = tamper::payload(&token);
        assert_eq!(
            payload.get("cnf").and_then(|cnf| cnf.get("jkt")),
            Some(&Value::from(key.thumbprint())),
            "cnf.jkt of the DPoP token: {payload:?}"
        );
        token
    }
}
