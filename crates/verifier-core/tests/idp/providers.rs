//! Provider-shaped tokens: header members and claims as each provider's public
//! documentation shows them, signed by the test issuer (served over HTTP on 127.0.0.1
//! under a path shaped like the provider's issuer), verified under the configuration
//! the recipe in docs/idp/ gives, once written with the builder and once with
//! environment variables. Each provider's ID token is refused.

use serde_json::{json, Value};
use verifier_core::{AuthConfig, AuthConfigBuilder, AuthError, Claims, ErrorCode};
use verifier_testkit::{now, Alg, TestIssuer, TestKey, TokenBuilder};

use crate::common::Both;

/// A provider's configuration, from the builder and from the environment.
struct Provider {
    by_builder: Both,
    by_env: Both,
}

impl Provider {
    fn new(builder: AuthConfigBuilder, vars: &[(&str, String)]) -> Provider {
        let env = AuthConfig::from_env_lookup(|k| {
            vars.iter()
                .find(|(name, _)| *name == k)
                .map(|(_, v)| v.clone())
        })
        .unwrap();
        Provider {
            by_builder: Both::new(builder.build().unwrap()),
            by_env: Both::new(env),
        }
    }

    fn accepts(&self, token: &str) -> Claims {
        let claims = self.by_builder.verify(token).unwrap();
        assert_eq!(self.by_env.verify(token).unwrap(), claims);
        claims
    }

    fn refuses(&self, token: &str, code: ErrorCode) -> AuthError {
        let err = self.by_builder.verify(token).unwrap_err();
        assert_eq!(err.code(), code, "{err:?}");
        assert_eq!(self.by_env.code(token), code);
        err
    }
}

/// A token with exactly these header members and claims, signed by `key`.
fn token(key: &TestKey, header: Value, claims: Value) -> String {
    let mut t = TokenBuilder::new(key)
        .remove_header("typ")
        .remove_header("kid")
        .claims(claims);
    for (name, value) in header.as_object().unwrap() {
        t = t.header(name, value.clone());
    }
    t.build()
}

fn started(path: &str, kid: &str) -> (TestIssuer, TestKey) {
    let key = TestKey::generate(Alg::RS256, kid);
    let issuer = TestIssuer::builder()
        .path(path)
        .keys(std::slice::from_ref(&key))
        .start();
    (issuer, key)
}

fn required(issuer: &str, audience: &str, jwks_url: &str) -> Vec<(&'static str, String)> {
    vec![
        ("OIDC_ISSUER", issuer.to_owned()),
        ("OIDC_AUDIENCE", audience.to_owned()),
        ("OIDC_JWKS_URL", jwks_url.to_owned()),
    ]
}

/// Auth0: `iss` ends with `/`, `aud` the API identifier (plus `/userinfo` when `openid`
/// was asked), `azp` the application, `scope` a string, RBAC `permissions` an array,
/// custom claims namespaced by a URL. docs/idp/auth0.md.
#[test]
fn auth0_access_token_is_verified_and_its_id_token_refused() {
    let (issuer, key) = started(
        "/",
        "NkJCQzIyQzRBMEU4NjhGNUU4MzU4RkY0M0ZDQzkwOUQ0Q0VGNUMwQg",
    );
    let iss = issuer.issuer();
    assert!(iss.ends_with('/'));
    let api = "https://orders.example.com";
    let app = "mK3Y2fZkCYkbaJ7bEk0mUcXcT8BvYj3u";
    let builder = AuthConfig::builder()
        .issuer(&iss)
        .audience(api)
        .jwks_url(issuer.jwks_url())
        .required_scopes(["read:orders"])
        .allowed_clients([app]);
    let mut vars = required(&iss, api, &issuer.jwks_url());
    vars.push(("OIDC_REQUIRED_SCOPES", "read:orders".into()));
    vars.push(("OIDC_ALLOWED_CLIENTS", app.into()));
    let p = Provider::new(builder, &vars);
    let header = json!({"alg": "RS256", "typ": "JWT", "kid": key.kid()});
    let t = now();
    let access = json!({
        "iss": iss, "sub": "auth0|65c1f1e2b3a4d5e6f7a8b9c0",
        "aud": [api, format!("{iss}userinfo")],
        "iat": t, "exp": t + 86_400, "azp": app,
        "scope": "openid profile email read:orders",
        "permissions": ["read:orders", "write:orders"],
        "https://orders.example.com/roles": ["admin"],
    });
    let claims = p.accepts(&token(&key, header.clone(), access.clone()));
    assert_eq!(claims.permissions(), ["read:orders", "write:orders"]);

    // The namespaced roles claim, with its dots escaped.
    let roles = Both::new(
        AuthConfig::builder()
            .issuer(&iss)
            .audience(api)
            .jwks_url(issuer.jwks_url())
            .permissions_claim(r"https://orders\.example\.com/roles")
            .required_permissions(["admin"])
            .build()
            .unwrap(),
    );
    roles
        .verify(&token(&key, header.clone(), access.clone()))
        .unwrap();

    // Machine to machine (client credentials): `sub` is `<client>@clients`, `gty`.
    let m2m = json!({
        "iss": iss, "sub": format!("{app}@clients"), "aud": api, "iat": t, "exp": t + 86_400,
        "scope": "read:orders", "gty": "client-credentials", "azp": app,
    });
    p.accepts(&token(&key, header.clone(), m2m.clone()));
    let mut other_app = m2m;
    other_app["azp"] = json!("AnotherApplicationClientId000000");
    let err = p.refuses(
        &token(&key, header.clone(), other_app),
        ErrorCode::InvalidToken,
    );
    assert_eq!(err.message(), "Client not allowed");

    let id = json!({
        "iss": iss, "sub": "auth0|65c1f1e2b3a4d5e6f7a8b9c0", "aud": app, "iat": t,
        "exp": t + 36_000, "nonce": "n-0S6_WzA2Mj", "sid": "Kx1qF0aWmq0bWl7n",
        "name": "Jane Doe", "email": "jane@example.com", "email_verified": true,
    });
    p.refuses(&token(&key, header, id), ErrorCode::InvalidAudience);
}

/// Okta (custom authorization server): no `typ` header, `iss` `…/oauth2/default`, `aud`
/// `api://default`, `scp` an array, the client in `cid` (an application rule allows it).
/// docs/idp/okta.md.
#[test]
fn okta_access_token_is_verified_and_its_id_token_refused() {
    let (issuer, key) = started(
        "/oauth2/default",
        "aiJu7gVsWVqRSKSD31VgK8XMKv9v1VBvtZFkr7CWYns",
    );
    let iss = issuer.issuer();
    let app = "0oabskvc6442nkvQO0h7";
    let builder = AuthConfig::builder()
        .issuer(&iss)
        .audience("api://default")
        .jwks_url(issuer.jwks_url())
        .scope_claim("scp")
        .required_scopes(["orders:read"]);
    let mut vars = required(&iss, "api://default", &issuer.jwks_url());
    vars.push(("OIDC_SCOPE_CLAIM", "scp".into()));
    vars.push(("OIDC_REQUIRED_SCOPES", "orders:read".into()));
    let p = Provider::new(builder.clone(), &vars);
    let header = json!({"kid": key.kid(), "alg": "RS256"});
    let t = now();
    let access = json!({
        "ver": 1, "jti": "AT.0mP4JKAZX1iACIT4vbEDF7LpvDVjxypPMf0D7uX39RE",
        "iss": iss, "aud": "api://default", "iat": t, "exp": t + 3600,
        "cid": app, "uid": "00uid4BxXw6I6TV4m0g3", "sub": "jane.doe@example.com",
        "scp": ["openid", "email", "orders:read"], "auth_time": t - 10,
        "groups": ["Everyone", "Orders Admins"],
    });
    let claims = p.accepts(&token(&key, header.clone(), access.clone()));
    assert_eq!(claims.scopes(), ["openid", "email", "orders:read"]);

    // Okta names the client `cid`: allowed by an application rule (code only).
    let by_rule = Both::new(
        builder
            .rule(move |claims| match claims.get_str("cid") {
                Some(cid) if cid == app => Ok(()),
                _ => {
                    Err(AuthError::new(ErrorCode::InvalidToken).with_message("Client not allowed"))
                }
            })
            .build()
            .unwrap(),
    );
    by_rule
        .verify(&token(&key, header.clone(), access.clone()))
        .unwrap();
    let mut other = access;
    other["cid"] = json!("0oaOtherClient00000h7");
    assert_eq!(
        by_rule
            .verify(&token(&key, header.clone(), other))
            .unwrap_err()
            .message(),
        "Client not allowed"
    );

    let id = json!({
        "ver": 1, "sub": "00uid4BxXw6I6TV4m0g3", "iss": iss, "aud": app, "iat": t,
        "exp": t + 3600, "jti": "ID.4eAWJOCMB3SX8XewDfVR", "amr": ["pwd"],
        "idp": "00ok1u7AsAkrwdZL3z0g3", "nonce": "n-0S6_WzA2Mj", "auth_time": t - 10,
        "at_hash": "preview_at_hash", "name": "Jane Doe", "email": "jane.doe@example.com",
    });
    p.refuses(&token(&key, header, id), ErrorCode::InvalidAudience);
}

/// Keycloak: `iss` `…/realms/<realm>`, roles at `realm_access.roles` and
/// `resource_access.<client>.roles`, `azp` the client, a payload `typ` of `Bearer`
/// (`ID` in ID tokens). docs/idp/keycloak.md.
#[test]
fn keycloak_access_token_is_verified_and_its_id_token_refused() {
    let (issuer, key) = started(
        "/realms/acme",
        "Q1Rfdl6HcXxGZ3pZQ5SjdYv1c0Sm4dQJrhQbxNQuYhM",
    );
    let iss = issuer.issuer();
    let builder = AuthConfig::builder()
        .issuer(&iss)
        .audience("orders-api")
        .jwks_url(issuer.jwks_url())
        .permissions_claim("resource_access.orders-api.roles")
        .required_permissions(["reader"])
        .allowed_clients(["orders-frontend"]);
    let mut vars = required(&iss, "orders-api", &issuer.jwks_url());
    vars.push((
        "OIDC_PERMISSIONS_CLAIM",
        "resource_access.orders-api.roles".into(),
    ));
    vars.push(("OIDC_REQUIRED_PERMISSIONS", "reader".into()));
    vars.push(("OIDC_ALLOWED_CLIENTS", "orders-frontend".into()));
    let p = Provider::new(builder, &vars);
    let header = json!({"alg": "RS256", "typ": "JWT", "kid": key.kid()});
    let t = now();
    let access = json!({
        "exp": t + 300, "iat": t, "auth_time": t - 5,
        "jti": "onrtac:5c7a1f0e-9d1b-4d8e-8f3a-2b6f1c0d9e8f", "iss": iss,
        "aud": ["orders-api", "account"], "sub": "f3b1c2d4-5e6f-4a7b-8c9d-0e1f2a3b4c5d",
        "typ": "Bearer", "azp": "orders-frontend", "sid": "8b8d1a3e-0f4c-4a5b-9c6d-7e8f9a0b1c2d",
        "acr": "1", "allowed-origins": ["https://orders.example.com"],
        "realm_access": {"roles": ["default-roles-acme", "offline_access", "uma_authorization"]},
        "resource_access": {
            "orders-api": {"roles": ["reader"]},
            "account": {"roles": ["manage-account", "view-profile"]},
        },
        "scope": "openid email profile", "email_verified": true,
        "preferred_username": "jane",
    });
    let claims = p.accepts(&token(&key, header.clone(), access.clone()));
    assert_eq!(claims.permissions(), ["reader"]);
    let mut no_role = access.clone();
    no_role["resource_access"] = json!({"account": {"roles": ["reader"]}});
    p.refuses(
        &token(&key, header.clone(), no_role),
        ErrorCode::InsufficientPermissions,
    );
    let mut hostile = access;
    hostile["resource_access"] = json!({"orders-api": "reader"});
    p.refuses(
        &token(&key, header.clone(), hostile),
        ErrorCode::InsufficientPermissions,
    );

    let id = json!({
        "exp": t + 300, "iat": t, "auth_time": t - 5, "jti": "d3c9e0b1-2a4f-4c6e-8b0d-1f2e3a4b5c6d",
        "iss": iss, "aud": "orders-frontend", "sub": "f3b1c2d4-5e6f-4a7b-8c9d-0e1f2a3b4c5d",
        "typ": "ID", "azp": "orders-frontend", "nonce": "n-0S6_WzA2Mj",
        "sid": "8b8d1a3e-0f4c-4a5b-9c6d-7e8f9a0b1c2d", "at_hash": "77QmUPtjPfzWtF2AnpK9RQ",
        "acr": "1", "email_verified": true, "preferred_username": "jane",
    });
    p.refuses(&token(&key, header, id), ErrorCode::InvalidAudience);
}

const TENANT: &str = "72f988bf-86f1-41af-91ab-2d7cd011db47";

/// Entra ID v2 (`accessTokenAcceptedVersion: 2`): `iss` `…/<tenant>/v2.0`, `aud` the
/// API's application (client) id, delegated scopes in `scp` (a string), application
/// permissions in `roles`, `azp` the calling client, `x5t` in the header.
/// docs/idp/entra-id.md.
#[test]
fn entra_id_v2_access_token_is_verified_and_its_id_token_refused() {
    let (issuer, key) = started(&format!("/{TENANT}/v2.0"), "L1KfKFI_jnXbwWc22xZxw1sUHH0");
    let iss = issuer.issuer();
    let api = "6e74172b-be56-4843-9ff4-e66a39bb12e3";
    let spa = "0b4e3c5d-7a1f-4e2b-9c8d-1f2e3d4c5b6a";
    let builder = AuthConfig::builder()
        .issuer(&iss)
        .audience(api)
        .jwks_url(issuer.jwks_url())
        .scope_claim("scp")
        .permissions_claim("roles")
        .allowed_clients([spa]);
    let mut vars = required(&iss, api, &issuer.jwks_url());
    vars.push(("OIDC_SCOPE_CLAIM", "scp".into()));
    vars.push(("OIDC_PERMISSIONS_CLAIM", "roles".into()));
    vars.push(("OIDC_ALLOWED_CLIENTS", spa.into()));
    let p = Provider::new(builder, &vars);
    let header = json!({"typ": "JWT", "alg": "RS256", "kid": key.kid(), "x5t": key.kid()});
    let t = now();
    let delegated = json!({
        "aud": api, "iss": iss, "iat": t, "nbf": t, "exp": t + 3600,
        "aio": "AXQAi/8TAAAA", "azp": spa, "azpacr": "0", "name": "Abe Lincoln",
        "oid": "690222be-ff1a-4d56-abd1-7e4f7d38e474", "preferred_username": "abeli@contoso.com",
        "rh": "I", "scp": "Orders.Read Orders.Write", "sub": "HKZpfaHyWadeOouYlitjrI-KffTm222X5rrV3xDqfKQ",
        "tid": TENANT, "uti": "fqiBqXLPj0eQa82S-IYFAA", "ver": "2.0",
    });
    let claims = p.accepts(&token(&key, header.clone(), delegated));
    assert_eq!(claims.scopes(), ["Orders.Read", "Orders.Write"]);
    let app_only = json!({
        "aud": api, "iss": iss, "iat": t, "nbf": t, "exp": t + 3600, "azp": spa,
        "azpacr": "1", "oid": "8a4c3f1e-2b5d-4e6f-9a0b-1c2d3e4f5a6b", "rh": "I",
        "roles": ["Orders.Read.All"], "sub": "8a4c3f1e-2b5d-4e6f-9a0b-1c2d3e4f5a6b",
        "tid": TENANT, "uti": "Zc4ObYZ3WUqq6WmEYm0FAA", "ver": "2.0",
    });
    assert_eq!(
        p.accepts(&token(&key, header.clone(), app_only))
            .permissions(),
        ["Orders.Read.All"]
    );

    let id = json!({
        "aud": spa, "iss": iss, "iat": t, "nbf": t, "exp": t + 3600, "name": "Abe Lincoln",
        "nonce": "n-0S6_WzA2Mj", "oid": "690222be-ff1a-4d56-abd1-7e4f7d38e474",
        "preferred_username": "abeli@contoso.com", "rh": "I",
        "sub": "HKZpfaHyWadeOouYlitjrI-KffTm222X5rrV3xDqfKQ", "tid": TENANT,
        "uti": "fqiBqXLPj0eQa82S-IYFAA", "ver": "2.0",
    });
    p.refuses(&token(&key, header.clone(), id), ErrorCode::InvalidAudience);
    // A v1 token of the same tenant is another issuer.
    let v1 = json!({"aud": api, "iss": format!("{}/{TENANT}/", issuer.base_url()),
        "iat": t, "exp": t + 3600, "azp": spa, "ver": "1.0"});
    p.refuses(&token(&key, header, v1), ErrorCode::InvalidIssuer);
}

/// Entra ID v1 (the default `accessTokenAcceptedVersion`): `iss`
/// `https://sts.windows.net/<tenant>/`, `aud` the App ID URI, the calling client in
/// `appid` (an application rule allows it). docs/idp/entra-id.md.
#[test]
fn entra_id_v1_access_token_is_verified_and_its_id_token_refused() {
    let (issuer, key) = started(&format!("/{TENANT}/"), "nOo3ZDrODXEK1jKWhXslHR_KXEg");
    let iss = issuer.issuer();
    assert!(iss.ends_with(&format!("/{TENANT}/")));
    let api = "api://orders-api";
    let client = "0b4e3c5d-7a1f-4e2b-9c8d-1f2e3d4c5b6a";
    let builder = AuthConfig::builder()
        .issuer(&iss)
        .audience(api)
        .jwks_url(issuer.jwks_url())
        .scope_claim("scp")
        .permissions_claim("roles")
        .required_scopes(["user_impersonation"]);
    let mut vars = required(&iss, api, &issuer.jwks_url());
    vars.push(("OIDC_SCOPE_CLAIM", "scp".into()));
    vars.push(("OIDC_PERMISSIONS_CLAIM", "roles".into()));
    vars.push(("OIDC_REQUIRED_SCOPES", "user_impersonation".into()));
    let p = Provider::new(builder.clone(), &vars);
    let header = json!({"typ": "JWT", "alg": "RS256", "x5t": key.kid(), "kid": key.kid()});
    let t = now();
    let access = json!({
        "aud": api, "iss": iss, "iat": t, "nbf": t, "exp": t + 3600, "acr": "1",
        "aio": "E2ZgYJjY", "amr": ["pwd"], "appid": client, "appidacr": "0",
        "family_name": "Lincoln", "given_name": "Abe", "ipaddr": "192.0.2.10",
        "name": "Abe Lincoln", "oid": "690222be-ff1a-4d56-abd1-7e4f7d38e474", "rh": "I",
        "scp": "user_impersonation", "sub": "l3_roISQU222bULS9yi2k0XpqpOiMz5H3ZACo1GeXA",
        "tid": TENANT, "unique_name": "abeli@contoso.com", "upn": "abeli@contoso.com",
        "uti": "fqiBqXLPj0eQa82S-IYFAA", "ver": "1.0",
    });
    p.accepts(&token(&key, header.clone(), access.clone()));
    // v1 names the client `appid`: allowed by an application rule.
    let by_rule = Both::new(
        builder
            .rule(move |claims| match claims.get_str("appid") {
                Some(id) if id == client => Ok(()),
                _ => {
                    Err(AuthError::new(ErrorCode::InvalidToken).with_message("Client not allowed"))
                }
            })
            .build()
            .unwrap(),
    );
    by_rule
        .verify(&token(&key, header.clone(), access.clone()))
        .unwrap();
    let mut other = access;
    other["appid"] = json!("11111111-2222-3333-4444-555555555555");
    assert_eq!(
        by_rule
            .verify(&token(&key, header.clone(), other))
            .unwrap_err()
            .message(),
        "Client not allowed"
    );

    let id = json!({
        "aud": client, "iss": iss, "iat": t, "nbf": t, "exp": t + 3600, "amr": ["pwd"],
        "family_name": "Lincoln", "given_name": "Abe", "ipaddr": "192.0.2.10",
        "name": "Abe Lincoln", "nonce": "n-0S6_WzA2Mj", "oid": "690222be-ff1a-4d56-abd1-7e4f7d38e474",
        "sub": "l3_roISQU222bULS9yi2k0XpqpOiMz5H3ZACo1GeXA", "tid": TENANT,
        "unique_name": "abeli@contoso.com", "upn": "abeli@contoso.com", "ver": "1.0",
    });
    p.refuses(&token(&key, header, id), ErrorCode::InvalidAudience);
}

/// AWS Cognito: no `typ` header, no `aud` in access tokens (`client_id` and
/// `token_use: access` instead), groups in `cognito:groups`. docs/idp/cognito.md.
#[test]
fn cognito_access_token_is_verified_and_its_id_token_refused() {
    let (issuer, key) = started("/us-east-1_Example", "abcdefghijklmnopqrsexample=");
    let iss = issuer.issuer();
    let app = "1example23456789";
    let builder = AuthConfig::builder()
        .issuer(&iss)
        .audience(app)
        .jwks_url(issuer.jwks_url())
        .cognito()
        .permissions_claim("cognito:groups")
        .required_scopes(["orders/read"]);
    let mut vars = required(&iss, app, &issuer.jwks_url());
    vars.push(("OIDC_AUDIENCE_MODE", "aud_or_client_id".into()));
    vars.push(("OIDC_REQUIRED_TOKEN_USE", "access".into()));
    vars.push(("OIDC_PERMISSIONS_CLAIM", "cognito:groups".into()));
    vars.push(("OIDC_REQUIRED_SCOPES", "orders/read".into()));
    let p = Provider::new(builder, &vars);
    let header = json!({"kid": key.kid(), "alg": "RS256"});
    let t = now();
    let access = json!({
        "sub": "aaaaaaaa-bbbb-cccc-dddd-eeeeeeeeeeee",
        "device_key": "us-east-1_aaaaaaaa-bbbb-cccc-dddd-eeeeeeeeeeee",
        "cognito:groups": ["admin"], "token_use": "access",
        "scope": "aws.cognito.signin.user.admin orders/read", "auth_time": t - 5,
        "iss": iss, "exp": t + 3600, "iat": t,
        "origin_jti": "aaaaaaaa-bbbb-cccc-dddd-eeeeeeeeeeee",
        "event_id": "aaaaaaaa-bbbb-cccc-dddd-eeeeeeeeeeee",
        "jti": "aaaaaaaa-bbbb-cccc-dddd-eeeeeeeeeeee", "client_id": app, "username": "janedoe",
    });
    let claims = p.accepts(&token(&key, header.clone(), access.clone()));
    assert_eq!(claims.permissions(), ["admin"]);
    let mut other = access;
    other["client_id"] = json!("2example98765432");
    p.refuses(
        &token(&key, header.clone(), other),
        ErrorCode::InvalidAudience,
    );

    let id = json!({
        "sub": "aaaaaaaa-bbbb-cccc-dddd-eeeeeeeeeeee", "cognito:groups": ["admin"],
        "email_verified": true, "iss": iss, "cognito:username": "janedoe",
        "origin_jti": "aaaaaaaa-bbbb-cccc-dddd-eeeeeeeeeeee", "aud": app,
        "event_id": "aaaaaaaa-bbbb-cccc-dddd-eeeeeeeeeeee", "token_use": "id",
        "auth_time": t - 5, "nonce": "n-0S6_WzA2Mj", "exp": t + 3600, "iat": t,
        "jti": "aaaaaaaa-bbbb-cccc-dddd-eeeeeeeeeeee", "email": "janedoe@example.com",
    });
    p.refuses(&token(&key, header, id), ErrorCode::InvalidTokenType);
}

/// Google: Google-signed ID tokens whose `aud` is your service (Cloud Run, Pub/Sub push,
/// service-to-service), `iss` `https://accounts.google.com` (no trailing slash; the
/// `accounts.google.com` spelling is another issuer: both are accepted when configured as
/// two issuers), `azp` the service account.
/// A Sign-in-with-Google ID token (its `aud` an OAuth client id) is refused.
/// docs/idp/google.md.
#[test]
fn google_service_token_is_verified_and_a_sign_in_id_token_refused() {
    let key = TestKey::generate(Alg::RS256, "c8ab71530972bba20b49f798a34d6c2e7d4a2a4c");
    let issuer = TestIssuer::builder()
        .keys(std::slice::from_ref(&key))
        .start();
    issuer.set_jwks_path("/oauth2/v3/certs");
    let iss = issuer.base_url();
    let service = "https://orders-abc123-uc.a.run.app";
    let caller = "113774264463038321964";
    let builder = AuthConfig::builder()
        .issuer(&iss)
        .audience(service)
        .jwks_url(issuer.jwks_url())
        .allowed_clients([caller]);
    let mut vars = required(&iss, service, &issuer.jwks_url());
    vars.push(("OIDC_ALLOWED_CLIENTS", caller.into()));
    let p = Provider::new(builder, &vars);
    let header = json!({"alg": "RS256", "kid": key.kid(), "typ": "JWT"});
    let t = now();
    let service_token = json!({
        "aud": service, "azp": caller, "email": "orders-caller@my-project.iam.gserviceaccount.com",
        "email_verified": true, "exp": t + 3600, "iat": t, "iss": iss, "sub": caller,
    });
    p.accepts(&token(&key, header.clone(), service_token.clone()));
    let mut bare_host = service_token.clone();
    bare_host["iss"] = json!(iss.trim_start_matches("http://"));
    let bare_host = token(&key, header.clone(), bare_host);
    p.refuses(&bare_host, ErrorCode::InvalidIssuer);

    // Both spellings accepted: two issuers in one verifier, sharing the key-set URL.
    let spelling = |iss: &str| {
        AuthConfig::builder()
            .issuer(iss)
            .audience(service)
            .jwks_url(issuer.jwks_url())
            .allowed_clients([caller])
            .build()
            .unwrap()
    };
    let both_spellings = verifier_core::JwtVerifier::builder()
        .issuer(spelling(&iss))
        .issuer(spelling(iss.trim_start_matches("http://")))
        .build()
        .unwrap();
    for accepted in [token(&key, header.clone(), service_token), bare_host] {
        assert!(both_spellings.verify_access_token(&accepted).is_ok());
    }

    let web_client = "1234987819200.apps.googleusercontent.com";
    let sign_in = json!({
        "iss": iss, "azp": web_client, "aud": web_client, "sub": "110169484474386276334",
        "at_hash": "HK6E_P6Dh8Y93mRNtsDB1Q", "hd": "example.com", "email": "jsmith@example.com",
        "email_verified": true, "iat": t, "exp": t + 3600, "nonce": "0394852-3190485-2490358",
    });
    p.refuses(&token(&key, header, sign_in), ErrorCode::InvalidAudience);
}
