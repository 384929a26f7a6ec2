//! `oidc-verify verify` explains a refusal: after the code, the facts behind it (text),
//! and the same facts under `error.details` (`--format json`). The built binary against
//! the test issuer on 127.0.0.1.

use std::process::{Command, Output, Stdio};

use serde_json::{json, Value};
use verifier_testkit::{now, Alg, Fault, TestIssuer, TestKey, DEFAULT_AUDIENCE};

const BIN: &str = env!("CARGO_BIN_EXE_oidc-verify");

/// `verify` for `issuer` with a clean environment plus `env`, then `args`.
fn verify(issuer: &TestIssuer, env: &[(&str, &str)], args: &[&str]) -> Output {
    let mut cmd = Command::new(BIN);
    cmd.env_clear().stdin(Stdio::null());
    cmd.args(["verify", "--issuer"])
        .arg(issuer.issuer())
        .arg("--jwks-url")
        .arg(issuer.jwks_url());
    if !args.contains(&"--audience") {
        cmd.args(["--audience", DEFAULT_AUDIENCE]);
    }
    cmd.envs(env.iter().copied()).args(args);
    let out = cmd.output().expect("run oidc-verify");
    assert_eq!(out.status.code(), Some(1), "{}", text(&out));
    assert!(!String::from_utf8_lossy(&out.stderr).contains("panicked"));
    out
}

fn text(out: &Output) -> String {
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// The refusal in both formats: the text output, and `error` of the JSON one.
fn both(issuer: &TestIssuer, env: &[(&str, &str)], args: &[&str]) -> (String, Value) {
    let t = text(&verify(issuer, env, args));
    let mut json_args = vec!["--format", "json"];
    json_args.extend_from_slice(args);
    let out = verify(issuer, env, &json_args);
    let doc: Value =
        serde_json::from_slice(&out.stdout).unwrap_or_else(|e| panic!("{e}: {}", text(&out)));
    (t, doc["error"].clone())
}

fn line<'a>(text: &'a str, label: &str) -> &'a str {
    text.lines()
        .find(|l| l.trim_start().starts_with(&format!("{label}:")))
        .unwrap_or_else(|| panic!("no {label:?} line in:\n{text}"))
}

#[test]
fn invalid_issuer_shows_both_issuers_and_the_trailing_slash_hint() {
    let issuer = TestIssuer::start();
    let iss = issuer.issuer();
    let bare = iss.trim_end_matches('/');
    let token = issuer.token().claim("iss", json!(bare)).build();
    let (t, err) = both(&issuer, &[], &[&token]);
    assert!(
        t.starts_with("rejected: invalid_issuer (HTTP 401): Invalid issuer\n"),
        "{t}"
    );
    assert!(t.contains("\nwhy:\n"), "{t}");
    assert!(
        line(&t, "expected issuer").ends_with(&format!("{iss:?}")),
        "{t}"
    );
    assert!(line(&t, "token iss").ends_with(&format!("{bare:?}")), "{t}");
    assert!(line(&t, "hint").contains("trailing slash"), "{t}");
    assert_eq!(err["code"], "invalid_issuer");
    assert_eq!(err["details"]["expected_issuer"], iss);
    assert_eq!(err["details"]["token_iss"], bare);
    assert!(err["details"]["hint"]
        .as_str()
        .unwrap()
        .contains("trailing slash"));

    // No hint when the issuers really differ.
    let other = issuer
        .token()
        .claim("iss", json!("https://evil.example/"))
        .build();
    let (t, err) = both(&issuer, &[], &[&other]);
    assert!(!t.contains("hint:"), "{t}");
    assert_eq!(err["details"]["token_iss"], "https://evil.example/");
    assert!(err["details"].get("hint").is_none());
}

#[test]
fn invalid_audience_shows_the_audiences_and_aud() {
    let issuer = TestIssuer::start();
    let token = issuer
        .token()
        .claim("aud", json!(["https://a.example", "https://b.example"]))
        .build();
    let (t, err) = both(&issuer, &[], &["--audience", "https://api.example", &token]);
    assert!(
        t.starts_with("rejected: invalid_audience (HTTP 401)"),
        "{t}"
    );
    assert!(
        line(&t, "expected audiences").ends_with(r#"["https://api.example"]"#),
        "{t}"
    );
    assert!(
        line(&t, "token aud").ends_with(r#"["https://a.example","https://b.example"]"#),
        "{t}"
    );
    assert_eq!(
        err["details"]["expected_audiences"],
        json!(["https://api.example"])
    );
    assert_eq!(
        err["details"]["token_aud"],
        json!(["https://a.example", "https://b.example"])
    );
}

#[test]
fn a_cognito_access_token_without_the_preset_gets_a_hint() {
    let issuer = TestIssuer::start();
    let token = issuer
        .token()
        .remove_claim("aud")
        .claim("client_id", json!(DEFAULT_AUDIENCE))
        .claim("token_use", json!("access"))
        .build();
    let (t, err) = both(&issuer, &[], &[&token]);
    assert!(
        t.starts_with("rejected: missing_claim (HTTP 401): Token is missing the \"aud\" claim"),
        "{t}"
    );
    assert_eq!(line(&t, "token aud").trim(), "token aud:          (absent)");
    assert!(
        line(&t, "hint").contains("OIDC_AUDIENCE_MODE=aud_or_client_id"),
        "{t}"
    );
    assert_eq!(err["details"]["token_aud"], Value::Null);
    assert_eq!(err["details"]["token_client_id"], DEFAULT_AUDIENCE);
    assert_eq!(err["details"]["audience_mode"], "aud");

    // With the preset it verifies; its ID token is explained by token_use.
    let cognito = [
        ("OIDC_AUDIENCE_MODE", "aud_or_client_id"),
        ("OIDC_REQUIRED_TOKEN_USE", "access"),
    ];
    let id = issuer.token().claim("token_use", json!("id")).build();
    let (t, err) = both(&issuer, &cognito, &[&id]);
    assert!(
        t.starts_with("rejected: invalid_token_type (HTTP 401): Invalid token type"),
        "{t}"
    );
    assert!(line(&t, "token token_use").ends_with("\"id\""), "{t}");
    assert_eq!(err["details"]["required_token_use"], "access");
    assert_eq!(err["details"]["token_use"], "id");
    assert_eq!(err["details"]["token_typ"], "JWT");
}

#[test]
fn times_are_dates_with_how_long_ago_or_ahead() {
    let issuer = TestIssuer::start();
    let expired = issuer.token().claim("exp", json!(now() - 3 * 3600)).build();
    let (t, err) = both(&issuer, &[("OIDC_LEEWAY_S", "30")], &[&expired]);
    assert!(t.starts_with("rejected: token_expired (HTTP 401)"), "{t}");
    let exp = line(&t, "exp");
    assert!(exp.ends_with("Z (expired 3h ago)"), "{exp}");
    assert!(line(&t, "leeway").ends_with("30s"), "{t}");
    assert!(line(&t, "now").trim_end().ends_with('Z'), "{t}");
    let d = &err["details"];
    assert_eq!(d["exp"]["relative"], "expired 3h ago");
    assert!(d["exp"]["date"].as_str().unwrap().ends_with('Z'));
    let exp_value = d["exp"]["value"].as_i64().unwrap();
    assert!((exp_value - (now() - 3 * 3600)).abs() <= 5, "{d}");
    assert_eq!(d["leeway_s"], 30.0);
    assert!(d["iat"]["relative"].as_str().unwrap().starts_with("issued"));

    let early = issuer.token().claim("nbf", json!(now() + 600)).build();
    let (t, err) = both(&issuer, &[], &[&early]);
    assert!(
        t.starts_with("rejected: token_not_yet_valid (HTTP 401)"),
        "{t}"
    );
    assert!(
        line(&t, "nbf").contains("(not valid for another 9m")
            || line(&t, "nbf").contains("(not valid for another 10m"),
        "{t}"
    );
    assert!(err["details"]["nbf"]["relative"]
        .as_str()
        .unwrap()
        .starts_with("not valid for another"));
}

#[test]
fn unknown_and_missing_kids_list_the_key_set() {
    let issuer = TestIssuer::start();
    let gone = TestKey::generate(Alg::RS256, "rotated-away");
    let token = issuer.token_for(&gone).build();
    let (t, err) = both(&issuer, &[], &[&token]);
    assert!(t.starts_with("rejected: key_not_found (HTTP 401)"), "{t}");
    assert!(line(&t, "token kid").ends_with("\"rotated-away\""), "{t}");
    assert!(
        line(&t, "key set kids").ends_with(r#"["test-rs256"]"#),
        "{t}"
    );
    assert_eq!(err["details"]["token_kid"], "rotated-away");
    assert_eq!(err["details"]["key_set_kids"], json!(["test-rs256"]));

    let no_kid = issuer.token().remove_header("kid").build();
    let (t, err) = both(&issuer, &[], &[&no_kid]);
    assert!(t.starts_with("rejected: missing_kid (HTTP 401)"), "{t}");
    assert!(line(&t, "token kid").ends_with("(absent)"), "{t}");
    assert_eq!(err["details"]["token_kid"], Value::Null);
    assert_eq!(err["details"]["key_set_kids"], json!(["test-rs256"]));
}

#[test]
fn algorithm_refusals_show_the_alg_and_the_key_type() {
    let issuer = TestIssuer::start();
    // The header says ES256, the key with that kid is RSA.
    let token = issuer.token().header("alg", json!("ES256")).build();
    let (t, err) = both(&issuer, &[("OIDC_ALLOWED_ALGS", "RS256,ES256")], &[&token]);
    assert!(t.starts_with("rejected: disallowed_alg (HTTP 401)"), "{t}");
    assert!(line(&t, "token alg").ends_with("\"ES256\""), "{t}");
    assert!(
        line(&t, "allowed algs").ends_with(r#"["RS256","ES256"]"#),
        "{t}"
    );
    let key = line(&t, "key");
    assert!(key.contains("RSA 2048 bits, verifies RS256"), "{key}");
    let d = &err["details"];
    assert_eq!(d["token_alg"], "ES256");
    assert_eq!(d["key"][0]["kty"], "RSA");
    assert_eq!(d["key"][0]["bits"], 2048);
    assert!(d["key"][0]["algorithms"]
        .as_array()
        .unwrap()
        .contains(&json!("RS256")));

    // Not in the allow-list.
    let (_, err) = both(
        &issuer,
        &[("OIDC_ALLOWED_ALGS", "ES256")],
        &[&issuer.token().build()],
    );
    assert_eq!(err["code"], "disallowed_alg");
    assert_eq!(err["details"]["token_alg"], "RS256");
    assert_eq!(err["details"]["allowed_algs"], json!(["ES256"]));

    // A bad signature: the algorithm and the key it was checked with.
    let valid = issuer.token().build();
    let other = issuer.token().claim("sub", json!("mallory")).build();
    let forged = format!(
        "{}.{}",
        other.rsplit_once('.').unwrap().0,
        valid.rsplit_once('.').unwrap().1
    );
    let (t, err) = both(&issuer, &[], &[&forged]);
    assert!(
        t.starts_with("rejected: invalid_signature (HTTP 401)"),
        "{t}"
    );
    assert!(line(&t, "key").contains("RSA 2048 bits"), "{t}");
    assert_eq!(err["details"]["token_kid"], "test-rs256");
    assert_eq!(err["details"]["key"][0]["kty"], "RSA");
}

#[test]
fn insufficient_scope_and_permissions_name_what_is_missing() {
    let issuer = TestIssuer::start();
    let token = issuer
        .token()
        .claim("scope", json!("read"))
        .claim("realm_access", json!({"roles": ["user"]}))
        .build();
    let (t, err) = both(
        &issuer,
        &[],
        &[
            "--require-scope",
            "admin",
            "--require-scope",
            "read",
            &token,
        ],
    );
    assert!(
        t.starts_with("rejected: insufficient_scope (HTTP 403)"),
        "{t}"
    );
    assert!(line(&t, "missing scopes").ends_with(r#"["admin"]"#), "{t}");
    assert!(line(&t, "token scopes").ends_with(r#"["read"]"#), "{t}");
    assert!(
        line(&t, "scope claim").ends_with(r#"scope = "read""#),
        "{t}"
    );
    assert_eq!(err["details"]["missing_scopes"], json!(["admin"]));
    assert_eq!(err["details"]["token_scopes"], json!(["read"]));
    assert_eq!(err["details"]["scope_claim"], "scope");

    let roles = [("OIDC_PERMISSIONS_CLAIM", "realm_access.roles")];
    let (t, err) = both(&issuer, &roles, &["--require-permission", "admin", &token]);
    assert!(
        t.starts_with("rejected: insufficient_permissions (HTTP 403)"),
        "{t}"
    );
    assert!(
        line(&t, "missing permissions").ends_with(r#"["admin"]"#),
        "{t}"
    );
    assert!(
        line(&t, "permissions claim").ends_with(r#"realm_access.roles = ["user"]"#),
        "{t}"
    );
    assert_eq!(err["details"]["token_permissions"], json!(["user"]));
    assert_eq!(err["details"]["permissions_claim"], "realm_access.roles");

    // A claim of the wrong shape is said to be one.
    let hostile = issuer.token().claim("realm_access", json!("admin")).build();
    let (t, _) = both(
        &issuer,
        &roles,
        &["--require-permission", "admin", &hostile],
    );
    assert!(
        line(&t, "permissions claim").ends_with("realm_access.roles (absent from the token)"),
        "{t}"
    );
}

#[test]
fn a_client_not_allowed_shows_the_list_and_the_token_client() {
    let issuer = TestIssuer::start();
    let token = issuer.token().claim("azp", json!("other-app")).build();
    let (t, err) = both(&issuer, &[("OIDC_ALLOWED_CLIENTS", "web-app")], &[&token]);
    assert!(
        t.starts_with("rejected: invalid_token (HTTP 401): Client not allowed"),
        "{t}"
    );
    assert!(
        line(&t, "allowed clients").ends_with(r#"["web-app"]"#),
        "{t}"
    );
    assert!(line(&t, "token azp").ends_with("\"other-app\""), "{t}");
    assert_eq!(err["details"]["allowed_clients"], json!(["web-app"]));
    assert_eq!(err["details"]["token_azp"], "other-app");
    assert_eq!(err["details"]["token_client_id"], Value::Null);
}

#[test]
fn missing_claims_list_what_the_token_has() {
    let issuer = TestIssuer::start();
    let token = issuer.token().remove_claim("exp").build();
    let (t, err) = both(&issuer, &[], &[&token]);
    assert!(
        t.starts_with("rejected: missing_claim (HTTP 401): Token is missing the \"exp\" claim"),
        "{t}"
    );
    let claims = err["details"]["token_claims"].as_array().unwrap();
    assert!(
        claims.contains(&json!("iss")) && !claims.contains(&json!("exp")),
        "{claims:?}"
    );
}

#[test]
fn refusals_without_facts_keep_the_plain_shape() {
    let issuer = TestIssuer::start();
    issuer.set_fault(Some(Fault::Status(500)));
    let (t, err) = both(&issuer, &[], &[&issuer.token().build()]);
    assert!(
        t.starts_with("rejected: jwks_fetch_failed (HTTP 503)"),
        "{t}"
    );
    assert!(!t.contains("why:"), "{t}");
    assert!(err.get("details").is_none(), "{err}");
    let (t, err) = both(&issuer, &[], &["not-a-token"]);
    assert!(t.starts_with("rejected: malformed_token"), "{t}");
    assert!(err.get("details").is_none(), "{err}");
}

#[test]
fn facts_from_the_token_are_escaped_for_the_terminal() {
    let issuer = TestIssuer::start();
    let hostile = "https://evil.example/\u{1b}[2J\u{202e}";
    let token = issuer.token().claim("iss", json!(hostile)).build();
    let out = verify(&issuer, &[], &[&token]);
    assert!(!out.stdout.contains(&0x1b), "raw ESC:\n{}", text(&out));
    let t = text(&out);
    assert!(!t.contains('\u{202e}'), "{t}");
    // JSON escapes, as the claims are printed: the line is the JSON of the value.
    assert!(
        line(&t, "token iss").ends_with(r#""https://evil.example/\u001b[2J\u202e""#),
        "{t}"
    );
    let out = verify(&issuer, &[], &["--format", "json", &token]);
    let doc: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(doc["error"]["details"]["token_iss"], hostile);
}

#[test]
fn invalid_token_names_the_claim_of_the_wrong_type() {
    let issuer = TestIssuer::start();
    let token = issuer.token().claim("sub", json!(42)).build();
    let (t, err) = both(&issuer, &[], &[&token]);
    assert!(
        t.starts_with("rejected: invalid_token (HTTP 401): Invalid token"),
        "{t}"
    );
    assert!(
        line(&t, "token sub").ends_with("42 (must be a string)"),
        "{t}"
    );
    assert_eq!(err["details"]["token_sub"], 42);
    assert!(err["details"].get("token_jti").is_none());

    // A short RSA key: the key and why.
    let short = TestKey::rsa(1024, "short");
    issuer.add_key(&short);
    let (t, err) = both(&issuer, &[], &[&issuer.token_for(&short).build()]);
    assert!(line(&t, "key").contains("RSA 1024 bits"), "{t}");
    assert!(err["details"]["hint"]
        .as_str()
        .unwrap()
        .contains("under 2048 bits"));
}
