//! The verifier as a resource server (SPEC-2 §0.1-§0.3, §4.7, §5.8): the resource and
//! DPoP settings from the environment, the MCP audience rule, the token cookie, route
//! requirements inside the pipeline, and the flavour-agnostic `Verifier`. Real HTTP:
//! the test issuer's key set on 127.0.0.1.

mod common;

use std::collections::HashMap;

use common::runtime;
use http::header::{AUTHORIZATION, COOKIE};
use http::{HeaderMap, HeaderValue, Method, Uri};
use serde_json::json;
use verifier_core::dpop::DpopMode;
use verifier_core::{
    AsyncJwtVerifier, AuthError, Authenticated, Challenge, ConfigError, ErrorCode, JwtVerifier,
    RequestParts, Requirements, ResourceServer, Scheme, Verifier, VerifierConfig,
};
use verifier_testkit::{Alg, DpopProof, TestIssuer, TestKey, DEFAULT_AUDIENCE};

const MCP: &str = "http://127.0.0.1:3000/mcp";

/// `VerifierConfig::from_env_lookup` over `vars`.
fn env(vars: &[(&str, &str)]) -> Result<VerifierConfig, ConfigError> {
    let map: HashMap<String, String> = vars
        .iter()
        .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
        .collect();
    VerifierConfig::from_env_lookup(|k| map.get(k).cloned())
}

/// The variables of `issuer` (no audience).
fn issuer_vars(issuer: &TestIssuer) -> Vec<(&'static str, String)> {
    vec![
        ("OIDC_ISSUER", issuer.issuer().to_string()),
        ("OIDC_JWKS_URL", issuer.jwks_url().to_string()),
    ]
}

fn env_with(issuer: &TestIssuer, more: &[(&str, &str)]) -> Result<VerifierConfig, ConfigError> {
    let base = issuer_vars(issuer);
    let mut vars: Vec<(&str, &str)> = base.iter().map(|(k, v)| (*k, v.as_str())).collect();
    vars.extend_from_slice(more);
    env(&vars)
}

/// Both flavours from one configuration, through the `Verifier` handle.
struct Both {
    rt: tokio::runtime::Runtime,
    a: Verifier,
    b: Verifier,
}

impl Both {
    fn new(config: VerifierConfig) -> Both {
        let rt = runtime();
        let a = AsyncJwtVerifier::from_config(config.clone())
            .unwrap()
            .into();
        let b = JwtVerifier::from_config(config).unwrap().into();
        Both { rt, a, b }
    }

    /// `method path` with `headers` (and `requirements`), through both flavours.
    fn auth_with(
        &self,
        method: &Method,
        path: &str,
        headers: &HeaderMap,
        requirements: Option<&Requirements>,
    ) -> Result<Option<Authenticated>, AuthError> {
        let uri: Uri = path.parse().unwrap();
        let parts = RequestParts::new(method, &uri, headers);
        let parts = match requirements {
            Some(r) => parts.requiring(r),
            None => parts,
        };
        let x = self.rt.block_on(self.a.authenticate(parts));
        let y = self.rt.block_on(self.b.authenticate(parts));
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

    fn auth(&self, headers: &HeaderMap) -> Result<Option<Authenticated>, AuthError> {
        self.auth_with(&Method::GET, "/me", headers, None)
    }
}

fn headers(pairs: &[(http::HeaderName, &str)]) -> HeaderMap {
    let mut h = HeaderMap::new();
    for (name, value) in pairs {
        h.append(name.clone(), HeaderValue::from_str(value).unwrap());
    }
    h
}

fn bearer(token: &str) -> HeaderMap {
    headers(&[(AUTHORIZATION, &format!("Bearer {token}"))])
}

/// RM12: the MCP preset's configuration errors, from the environment, name the
/// variable: a resource that is not canonical, the preset without a resource, another
/// audience.
#[test]
fn rm12_mcp_configuration_errors_name_the_variable() {
    let issuer = TestIssuer::start();
    for resource in [
        "HTTPS://MCP.example.com/mcp",
        "https://mcp.example.com/mcp/",
        "https://mcp.example.com:443/mcp",
        "https://mcp.example.com/mcp#x",
        "https://mcp.example.com/mcp?a=1",
    ] {
        let err = env_with(
            &issuer,
            &[("OIDC_RESOURCE", resource), ("OIDC_MCP", "true")],
        )
        .unwrap_err();
        assert_eq!(err.field(), "OIDC_RESOURCE", "{resource}: {err}");
    }
    let err = env_with(&issuer, &[("OIDC_MCP", "true")]).unwrap_err();
    assert_eq!(err.field(), "OIDC_RESOURCE");
    let err = env_with(
        &issuer,
        &[
            ("OIDC_RESOURCE", MCP),
            ("OIDC_MCP", "true"),
            ("OIDC_AUDIENCE", "api://x"),
        ],
    )
    .unwrap_err();
    assert_eq!(err.field(), "OIDC_AUDIENCE");
    assert!(err.to_string().contains("MCP resource URI"), "{err}");
    // The audience may be given when it is the resource, and defaults to it.
    let given = env_with(
        &issuer,
        &[
            ("OIDC_RESOURCE", MCP),
            ("OIDC_MCP", "true"),
            ("OIDC_AUDIENCE", MCP),
        ],
    )
    .unwrap();
    assert_eq!(given.issuers()[0].audiences(), [MCP]);
    let defaulted = env_with(&issuer, &[("OIDC_RESOURCE", MCP), ("OIDC_MCP", "true")]).unwrap();
    assert_eq!(defaulted.issuers()[0].audiences(), [MCP]);
    // Without the preset the audience stays required and free.
    let err = env_with(&issuer, &[("OIDC_RESOURCE", MCP)]).unwrap_err();
    assert_eq!(err.field(), "OIDC_AUDIENCE");
}

/// RM13: under the MCP preset `aud` must name the resource exactly.
#[test]
fn rm13_mcp_tokens_are_bound_to_the_resource_exactly() {
    let issuer = TestIssuer::start();
    const HOSTED: &str = "https://mcp.example.com/mcp";
    let both =
        Both::new(env_with(&issuer, &[("OIDC_RESOURCE", HOSTED), ("OIDC_MCP", "true")]).unwrap());
    let with_aud = |aud: serde_json::Value| issuer.token().claim("aud", aud).build();
    for ok in [json!(HOSTED), json!([HOSTED, "other"])] {
        let auth = both.auth(&bearer(&with_aud(ok.clone()))).unwrap();
        assert!(auth.is_some(), "{ok}");
    }
    for refused in [
        "https://mcp.example.com/mcp/",
        "https://MCP.EXAMPLE.COM/mcp",
        "https://mcp.example.com/other",
        DEFAULT_AUDIENCE,
    ] {
        let err = both.auth(&bearer(&with_aud(json!(refused)))).unwrap_err();
        assert_eq!(err.code(), ErrorCode::InvalidAudience, "{refused}");
    }
}

/// The resource and DPoP settings from the environment reach the verifier: the
/// metadata document, the challenge, and the DPoP scheme (the public base URL defaults
/// to the resource's origin).
#[test]
fn resource_and_dpop_settings_from_the_environment() {
    let issuer = TestIssuer::start();
    let config = env_with(
        &issuer,
        &[
            ("OIDC_AUDIENCE", DEFAULT_AUDIENCE),
            ("OIDC_RESOURCE", "http://127.0.0.1:3000"),
            ("OIDC_DPOP", "allowed"),
            ("OIDC_DPOP_ALGS", "ES256,EdDSA"),
        ],
    )
    .unwrap();
    assert_eq!(config.dpop().unwrap().mode(), DpopMode::Allowed);
    assert_eq!(
        config.dpop().unwrap().public_base_urls(),
        ["http://127.0.0.1:3000"]
    );
    let both = Both::new(config);
    let doc = both.a.resource_metadata().unwrap();
    assert_eq!(doc.path(), "/.well-known/oauth-protected-resource");
    assert!(
        doc.body().ends_with(
            r#""dpop_signing_alg_values_supported":["ES256","EdDSA"],"dpop_bound_access_tokens_required":false}"#
        ),
        "{}",
        doc.body()
    );
    assert_eq!(both.b.resource_metadata().unwrap().body(), doc.body());
    let missing = AuthError::new(ErrorCode::MissingToken);
    let m = r#"resource_metadata="http://127.0.0.1:3000/.well-known/oauth-protected-resource""#;
    assert_eq!(
        Challenge::for_verifier(&both.a, Some("api")).headers(&missing),
        [
            format!(r#"Bearer realm="api", {m}"#),
            format!(r#"DPoP realm="api", algs="ES256 EdDSA", {m}"#),
        ]
    );

    let key = TestKey::generate(Alg::ES256, "dpop");
    let token = issuer.token().cnf_jkt(&key).build();
    let proof = |method: &str| {
        DpopProof::new(&key)
            .htm(method)
            .htu("http://127.0.0.1:3000/me")
            .ath_for(&token)
            .build()
    };
    // One proof per flavour (each flavour has its own replay store).
    let h = |p: &str| {
        headers(&[
            (AUTHORIZATION, &format!("DPoP {token}")),
            (verifier_core::dpop::DPOP, p),
        ])
    };
    let uri: Uri = "/me".parse().unwrap();
    for v in [&both.a, &both.b] {
        let h = h(&proof("GET"));
        let auth = both
            .rt
            .block_on(v.authenticate(RequestParts::new(&Method::GET, &uri, &h)))
            .unwrap()
            .unwrap();
        assert_eq!(auth.scheme, Scheme::Dpop);
        assert_eq!(auth.dpop.unwrap().jkt, key.thumbprint());
    }
    // Without DPoP configured the same request is anonymous (mode off).
    let off = Both::new(env_with(&issuer, &[("OIDC_AUDIENCE", DEFAULT_AUDIENCE)]).unwrap());
    assert!(off.auth(&h(&proof("GET"))).unwrap().is_none());
    assert!(off.a.resource_metadata().is_none());
    assert_eq!(
        Challenge::for_verifier(&off.a, Some("api")),
        Challenge::bearer(Some("api"))
    );
}

/// DP30: DPoP configuration errors from the environment name the variable; with a
/// resource the public base URL defaults to its origin.
#[test]
fn dp30_dpop_configuration_errors_name_the_variable() {
    let issuer = TestIssuer::start();
    let aud = ("OIDC_AUDIENCE", DEFAULT_AUDIENCE);
    let cases: [(&[(&str, &str)], &str); 4] = [
        (&[aud, ("OIDC_DPOP", "allowed")], "OIDC_PUBLIC_BASE_URL"),
        (
            &[
                aud,
                ("OIDC_DPOP", "allowed"),
                ("OIDC_RESOURCE", MCP),
                ("OIDC_DPOP_ALGS", "HS256"),
            ],
            "OIDC_DPOP_ALGS",
        ),
        (
            &[
                aud,
                ("OIDC_DPOP", "allowed"),
                ("OIDC_RESOURCE", MCP),
                ("OIDC_DPOP_NONCE_SECRET", "AAAAAAAAAAAAAAAAAAAAAA"),
            ],
            "OIDC_DPOP_NONCE_SECRET",
        ),
        (
            &[aud, ("OIDC_DPOP", "maybe"), ("OIDC_RESOURCE", MCP)],
            "OIDC_DPOP",
        ),
    ];
    for (vars, field) in cases {
        let err = env_with(&issuer, vars).unwrap_err();
        assert_eq!(err.field(), field, "{vars:?}: {err}");
    }
    let config = env_with(
        &issuer,
        &[aud, ("OIDC_DPOP", "required"), ("OIDC_RESOURCE", MCP)],
    )
    .unwrap();
    assert_eq!(
        config.dpop().unwrap().public_base_urls(),
        ["http://127.0.0.1:3000"]
    );
    // `off` is no DPoP at all.
    let config = env_with(&issuer, &[aud, ("OIDC_DPOP", "off")]).unwrap();
    assert!(config.dpop().is_none());
}

/// The token cookie: read only when configured and when there is no `Authorization`
/// header; taken as Bearer (the downgrade guard applies); ambiguous cookies are 400.
#[test]
fn token_cookie_source() {
    let issuer = TestIssuer::start();
    let aud = ("OIDC_AUDIENCE", DEFAULT_AUDIENCE);
    let both = Both::new(env_with(&issuer, &[aud, ("OIDC_TOKEN_COOKIE", "at")]).unwrap());
    let token = issuer.token().build();
    let cookie = |v: &str| headers(&[(COOKIE, v)]);

    let auth = both
        .auth(&cookie(&format!("theme=dark; at={token}; x=1")))
        .unwrap()
        .unwrap();
    assert_eq!(auth.scheme, Scheme::Bearer);
    assert_eq!(auth.claims.sub(), Some("user-123"));
    // Quoted value, and a second Cookie field (HTTP/2).
    let two = headers(&[(COOKIE, "theme=dark"), (COOKIE, &format!("at=\"{token}\""))]);
    assert!(both.auth(&two).unwrap().is_some());
    // Another cookie name, an empty (cleared) cookie, a name that only ends the same.
    for anonymous in ["session=abc", "at=", "xat=abc", "at"] {
        assert!(
            both.auth(&cookie(anonymous)).unwrap().is_none(),
            "{anonymous}"
        );
    }
    // The cookie's token is verified like any other.
    let err = both.auth(&cookie("at=not.a.token")).unwrap_err();
    assert_eq!(err.code(), ErrorCode::MalformedToken);
    // Twice: ambiguous.
    let err = both
        .auth(&cookie(&format!("at={token}; at=other")))
        .unwrap_err();
    assert_eq!(err.code(), ErrorCode::InvalidRequest);
    // The Authorization header wins, even when it is not usable for us.
    let mut h = cookie(&format!("at={token}"));
    h.insert(
        AUTHORIZATION,
        HeaderValue::from_static("Bearer not.a.token"),
    );
    assert_eq!(both.auth(&h).unwrap_err().code(), ErrorCode::MalformedToken);
    h.insert(
        AUTHORIZATION,
        HeaderValue::from_static("Basic dXNlcjpwYXNz"),
    );
    assert!(both.auth(&h).unwrap().is_none());
    // A DPoP-bound token in a cookie is a Bearer presentation.
    let key = TestKey::generate(Alg::ES256, "dpop");
    let bound = issuer.token().cnf_jkt(&key).build();
    let err = both.auth(&cookie(&format!("at={bound}"))).unwrap_err();
    assert_eq!(err.code(), ErrorCode::DpopBoundToken);

    // Not configured: the cookie is not credentials.
    let plain = Both::new(env_with(&issuer, &[aud]).unwrap());
    assert!(plain
        .auth(&cookie(&format!("at={token}")))
        .unwrap()
        .is_none());
    // DPoP required: only the DPoP scheme counts.
    let required = Both::new(
        env_with(
            &issuer,
            &[
                aud,
                ("OIDC_TOKEN_COOKIE", "at"),
                ("OIDC_DPOP", "required"),
                ("OIDC_PUBLIC_BASE_URL", "https://api.example.com"),
            ],
        )
        .unwrap(),
    );
    assert!(required
        .auth(&cookie(&format!("at={token}")))
        .unwrap()
        .is_none());
    // A bad cookie name is a configuration error naming the variable.
    let err = env_with(&issuer, &[aud, ("OIDC_TOKEN_COOKIE", "a;b")]).unwrap_err();
    assert_eq!(err.field(), "OIDC_TOKEN_COOKIE");
}

/// Route requirements run inside the pipeline, after the claims and before a DPoP
/// proof is recorded: a request refused for scope leaves its proof unused.
#[test]
fn requirements_are_checked_before_the_proof_is_recorded() {
    let issuer = TestIssuer::start();
    let both = Both::new(
        env_with(
            &issuer,
            &[
                ("OIDC_AUDIENCE", DEFAULT_AUDIENCE),
                ("OIDC_DPOP", "allowed"),
                ("OIDC_PUBLIC_BASE_URL", "https://api.example.com"),
            ],
        )
        .unwrap(),
    );
    let key = TestKey::generate(Alg::ES256, "dpop");
    let token = issuer
        .token()
        .cnf_jkt(&key)
        .claim("scope", json!("read"))
        .build();
    let admin = Requirements::new().scopes(["admin"]);
    let read = Requirements::new().scopes(["read"]);
    for v in [&both.a, &both.b] {
        let proof = DpopProof::new(&key)
            .htm("GET")
            .htu("https://api.example.com/me")
            .ath_for(&token)
            .build();
        let h = headers(&[
            (AUTHORIZATION, &format!("DPoP {token}")),
            (verifier_core::dpop::DPOP, &proof),
        ]);
        let uri: Uri = "/me".parse().unwrap();
        let run = |r: &Requirements| {
            both.rt
                .block_on(v.authenticate(RequestParts::new(&Method::GET, &uri, &h).requiring(r)))
        };
        let err = run(&admin).unwrap_err();
        assert_eq!(err.code(), ErrorCode::InsufficientScope);
        assert_eq!(err.scheme(), Some(Scheme::Dpop));
        // The same proof is still fresh: the refusal did not record it.
        assert!(run(&read).unwrap().is_some());
        assert_eq!(run(&read).unwrap_err().code(), ErrorCode::DpopProofReplayed);
    }
    // Bearer, and permissions after scopes.
    let plain = issuer.token().claim("scope", json!("read")).build();
    let err = both
        .auth_with(
            &Method::GET,
            "/me",
            &bearer(&plain),
            Some(&Requirements::new().scopes(["read"]).permissions(["p"])),
        )
        .unwrap_err();
    assert_eq!(err.code(), ErrorCode::InsufficientPermissions);
}

/// `Verifier::authenticate` answers a request without credentials without I/O, and its
/// futures are `'static` (they outlive the request's borrowed parts).
#[test]
fn verifier_futures_own_the_request() {
    let issuer = TestIssuer::start();
    let both = Both::new(env_with(&issuer, &[("OIDC_AUDIENCE", DEFAULT_AUDIENCE)]).unwrap());
    let token = issuer.token().build();
    for v in [&both.a, &both.b] {
        let future = {
            let h = bearer(&token);
            let uri: Uri = "/me".parse().unwrap();
            v.authenticate(RequestParts::new(&Method::GET, &uri, &h))
        };
        let handle = both.rt.spawn(future);
        let auth = both.rt.block_on(handle).unwrap().unwrap().unwrap();
        assert_eq!(auth.claims.sub(), Some("user-123"));
        let empty = HeaderMap::new();
        let uri: Uri = "/".parse().unwrap();
        assert!(both
            .rt
            .block_on(v.authenticate(RequestParts::new(&Method::GET, &uri, &empty)))
            .unwrap()
            .is_none());
    }
    assert_eq!(issuer.fetch_count(), 2, "one key-set fetch per flavour");
}
