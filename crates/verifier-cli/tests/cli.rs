//! `oidc-verify` as a user runs it: the built binary against a test issuer on 127.0.0.1.

use std::io::Write;
use std::process::{Command, Output, Stdio};

use serde_json::{json, Value};
use verifier_testkit::{now, Fault, TestIssuer, DEFAULT_AUDIENCE};

const BIN: &str = env!("CARGO_BIN_EXE_oidc-verify");

/// The binary with a clean environment: no OIDC_* variable, no proxy, no RUST_LOG.
fn cmd() -> Command {
    let mut cmd = Command::new(BIN);
    cmd.env_clear();
    cmd.stdin(Stdio::null());
    cmd
}

fn run(cmd: &mut Command) -> Output {
    cmd.output().expect("run oidc-verify")
}

fn run_with_stdin(cmd: &mut Command, input: Vec<u8>) -> Output {
    let mut child = cmd
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn oidc-verify");
    let mut stdin = child.stdin.take().expect("stdin");
    // Write from another thread: the child may answer before reading everything.
    let writer = std::thread::spawn(move || {
        let _ = stdin.write_all(&input);
    });
    let output = child.wait_with_output().expect("wait for oidc-verify");
    writer.join().expect("stdin writer");
    output
}

fn code(output: &Output) -> i32 {
    output
        .status
        .code()
        .expect("exited normally, not by a signal")
}

fn stdout(output: &Output) -> String {
    String::from_utf8_lossy(&output.stdout).into_owned()
}

fn stderr(output: &Output) -> String {
    String::from_utf8_lossy(&output.stderr).into_owned()
}

fn json_out(output: &Output) -> Value {
    serde_json::from_slice(&output.stdout).unwrap_or_else(|e| {
        panic!(
            "stdout is not JSON ({e}):\n{}\nstderr:\n{}",
            stdout(output),
            stderr(output)
        )
    })
}

fn assert_no_panic(output: &Output) {
    let err = stderr(output);
    assert!(!err.contains("panicked"), "the binary panicked:\n{err}");
}

/// `verify` with the issuer's settings as flags.
fn verify(issuer: &TestIssuer) -> Command {
    let mut c = cmd();
    c.args(["verify", "--issuer"])
        .arg(issuer.issuer())
        .args(["--audience", DEFAULT_AUDIENCE, "--jwks-url"])
        .arg(issuer.jwks_url());
    c
}

// ---------------------------------------------------------------- verify

#[test]
fn verify_valid_token_prints_claims_and_exits_0() {
    let issuer = TestIssuer::start();
    let token = issuer.token().claim("scope", json!("read write")).build();

    let out = run(verify(&issuer).arg(&token));
    assert_eq!(code(&out), 0, "{}{}", stdout(&out), stderr(&out));
    let text = stdout(&out);
    let first = text.lines().next().unwrap();
    assert!(first.starts_with("valid: sub \"user-123\""), "{first}");
    assert!(first.contains("expires in"), "{first}");
    assert!(first.contains("scopes: read write"), "{first}");
    let claims: Value = serde_json::from_str(text.split_once('\n').unwrap().1).unwrap();
    assert_eq!(claims["sub"], "user-123");
    assert_eq!(claims["iss"], issuer.issuer());

    let out = run(verify(&issuer).args(["--format", "json", &token]));
    assert_eq!(code(&out), 0);
    let claims = json_out(&out);
    assert_eq!(claims["sub"], "user-123");
    assert_eq!(claims["aud"], DEFAULT_AUDIENCE);
    assert_eq!(claims["scope"], "read write");
}

#[test]
fn verify_reads_the_token_from_stdin_trimmed() {
    let issuer = TestIssuer::start();
    let token = issuer.token().build();
    let padded = format!("\n  {token} \r\n").into_bytes();

    // No token argument.
    let out = run_with_stdin(verify(&issuer).args(["--format", "json"]), padded.clone());
    assert_eq!(code(&out), 0, "{}{}", stdout(&out), stderr(&out));
    assert_eq!(json_out(&out)["sub"], "user-123");

    // `-` as the token argument.
    let out = run_with_stdin(verify(&issuer).args(["--format", "json", "-"]), padded);
    assert_eq!(code(&out), 0, "{}{}", stdout(&out), stderr(&out));
    assert_eq!(json_out(&out)["sub"], "user-123");

    // Empty standard input: no token at all.
    let out = run_with_stdin(verify(&issuer).args(["--format", "json"]), b" \n".to_vec());
    assert_eq!(code(&out), 1);
    assert_eq!(json_out(&out)["error"]["code"], "missing_token");
}

#[test]
fn verify_rejection_json_has_the_exact_shape() {
    let issuer = TestIssuer::start();
    let expired = issuer.token().claim("exp", json!(now() - 3600)).build();

    let out = run(verify(&issuer).args(["--format", "json", &expired]));
    assert_eq!(code(&out), 1);
    // Issue 16: the facts behind the refusal follow, as `error.details` (see
    // tests/explain.rs); without them the document is exactly the documented one.
    let mut doc = json_out(&out);
    let details = doc["error"].as_object_mut().unwrap().remove("details");
    assert_eq!(details.unwrap()["exp"]["relative"], "expired 1h ago");
    assert_eq!(
        doc,
        json!({"error": {
            "code": "token_expired",
            "status": 401,
            "message": "Token is expired",
            "www_authenticate": "Bearer error=\"invalid_token\", error_description=\"Token is expired\"",
        }})
    );

    // Members in the documented order: code, status, message, www_authenticate.
    let raw = stdout(&out);
    let positions: Vec<usize> = [
        "\"error\"",
        "\"code\"",
        "\"status\"",
        "\"message\"",
        "\"www_authenticate\"",
    ]
    .iter()
    .map(|member| {
        raw.find(member)
            .unwrap_or_else(|| panic!("{member} in {raw}"))
    })
    .collect();
    assert!(positions.windows(2).all(|w| w[0] < w[1]), "{raw}");

    // Text format: the error on standard output, exit 1.
    let out = run(verify(&issuer).arg(&expired));
    assert_eq!(code(&out), 1);
    let text = stdout(&out);
    assert!(
        text.starts_with("rejected: token_expired (HTTP 401): Token is expired"),
        "{text}"
    );
    assert!(
        text.contains("WWW-Authenticate: Bearer error=\"invalid_token\""),
        "{text}"
    );
}

#[test]
fn verify_rejects_bad_signatures_and_wrong_audiences() {
    let issuer = TestIssuer::start();
    let valid = issuer.token().build();
    let other = issuer.token().claim("sub", json!("mallory")).build();
    let forged = format!(
        "{}.{}",
        other.rsplit_once('.').unwrap().0,
        valid.rsplit_once('.').unwrap().1
    );
    let out = run(verify(&issuer).args(["--format", "json", &forged]));
    assert_eq!(code(&out), 1);
    assert_eq!(json_out(&out)["error"]["code"], "invalid_signature");

    let mut c = cmd();
    c.args(["verify", "--format", "json", "--issuer"])
        .arg(issuer.issuer())
        .args(["--audience", "https://other.example", "--jwks-url"])
        .arg(issuer.jwks_url())
        .arg(&valid);
    let out = run(&mut c);
    assert_eq!(code(&out), 1);
    assert_eq!(json_out(&out)["error"]["code"], "invalid_audience");

    // Repeated --audience: any one of them is enough.
    let mut c = cmd();
    c.args(["verify", "--format", "json", "--issuer"])
        .arg(issuer.issuer())
        .args([
            "--audience",
            "https://other.example",
            "--audience",
            DEFAULT_AUDIENCE,
        ])
        .arg("--jwks-url")
        .arg(issuer.jwks_url())
        .arg(&valid);
    assert_eq!(code(&run(&mut c)), 0);
}

#[test]
fn verify_required_scopes_and_permissions_are_403() {
    let issuer = TestIssuer::start();
    let token = issuer
        .token()
        .claim("scope", json!("read"))
        .claim("permissions", json!(["users:read"]))
        .build();

    let out = run(verify(&issuer).args([
        "--format",
        "json",
        "--require-scope",
        "write",
        "--require-scope",
        "admin",
        "--require-scope",
        "read",
        &token,
    ]));
    assert_eq!(code(&out), 1);
    let err = &json_out(&out)["error"];
    assert_eq!(err["code"], "insufficient_scope");
    assert_eq!(err["status"], 403);
    assert_eq!(
        err["www_authenticate"],
        "Bearer error=\"insufficient_scope\", error_description=\"Insufficient scope\", scope=\"admin write\""
    );

    let out = run(verify(&issuer).args([
        "--format",
        "json",
        "--require-permission",
        "users:delete",
        &token,
    ]));
    assert_eq!(code(&out), 1);
    assert_eq!(json_out(&out)["error"]["code"], "insufficient_permissions");

    let out = run(verify(&issuer).args([
        "--require-scope",
        "read",
        "--require-permission",
        "users:read",
        &token,
    ]));
    assert_eq!(code(&out), 0, "{}", stdout(&out));
}

#[test]
fn verify_unreachable_jwks_is_503_jwks_fetch_failed() {
    let issuer = TestIssuer::start();
    let token = issuer.token().build();
    let mut c = cmd();
    c.args(["verify", "--format", "json", "--issuer"])
        .arg(issuer.issuer())
        .args(["--audience", DEFAULT_AUDIENCE])
        .args([
            "--jwks-url",
            "http://127.0.0.1:1/jwks.json",
            "--jwks-timeout",
            "2",
        ])
        .arg(&token);
    let out = run(&mut c);
    assert_eq!(code(&out), 1, "{}{}", stdout(&out), stderr(&out));
    assert_eq!(
        json_out(&out),
        json!({"error": {
            "code": "jwks_fetch_failed",
            "status": 503,
            "message": "JWKS fetch failed",
            "www_authenticate": null,
        }})
    );

    // The issuer answering 500: the same code; text output names the cause.
    issuer.set_fault(Some(Fault::Status(500)));
    let out = run(verify(&issuer).arg(&token));
    assert_eq!(code(&out), 1);
    let text = stdout(&out);
    assert!(
        text.starts_with("rejected: jwks_fetch_failed (HTTP 503)"),
        "{text}"
    );
    assert!(text.contains("cause:") && text.contains("500"), "{text}");
}

#[test]
fn verify_one_mebibyte_token_on_stdin_is_malformed_without_panic() {
    let issuer = TestIssuer::start();
    let huge = vec![b'a'; 1024 * 1024];
    let out = run_with_stdin(verify(&issuer).args(["--format", "json"]), huge);
    assert_no_panic(&out);
    assert_eq!(code(&out), 1, "{}{}", stdout(&out), stderr(&out));
    let err = &json_out(&out)["error"];
    assert_eq!(err["code"], "malformed_token");
    assert_eq!(err["message"], "Token too large");
    // Refused before any network I/O.
    assert_eq!(issuer.fetch_count(), 0);
}

#[test]
fn verify_configuration_from_environment_and_flags_win() {
    let issuer = TestIssuer::start();
    let token = issuer.token().claim("scope", json!("read")).build();
    let env = |c: &mut Command| {
        c.env("OIDC_ISSUER", issuer.issuer())
            .env(
                "OIDC_AUDIENCE",
                format!("https://x.example, {DEFAULT_AUDIENCE}"),
            )
            .env("OIDC_JWKS_URL", issuer.jwks_url());
    };

    // Everything from the environment.
    let mut c = cmd();
    env(&mut c);
    c.args(["verify", "--format", "json", &token]);
    let out = run(&mut c);
    assert_eq!(code(&out), 0, "{}{}", stdout(&out), stderr(&out));

    // Variables without a flag apply too (OIDC_REQUIRED_SCOPES, space-separated).
    let mut c = cmd();
    env(&mut c);
    c.env("OIDC_REQUIRED_SCOPES", "read admin")
        .args(["verify", "--format", "json", &token]);
    let out = run(&mut c);
    assert_eq!(code(&out), 1);
    assert_eq!(json_out(&out)["error"]["code"], "insufficient_scope");

    // A flag wins over its variable.
    let mut c = cmd();
    env(&mut c);
    c.env("OIDC_REQUIRED_SCOPES", "read admin")
        .args(["verify", "--require-scope", "read", &token]);
    assert_eq!(code(&run(&mut c)), 0);

    let mut c = cmd();
    env(&mut c);
    c.env("OIDC_ISSUER", "https://wrong.example/")
        .args(["verify", "--issuer"])
        .arg(issuer.issuer())
        .arg(&token);
    assert_eq!(code(&run(&mut c)), 0);

    let mut c = cmd();
    env(&mut c);
    c.args([
        "verify",
        "--format",
        "json",
        "--issuer",
        "https://wrong.example/",
        &token,
    ]);
    let out = run(&mut c);
    assert_eq!(code(&out), 1);
    assert_eq!(json_out(&out)["error"]["code"], "invalid_issuer");
}

// ---------------------------------------------------------------- usage errors

fn assert_usage_error(out: &Output, needle: &str) {
    assert_no_panic(out);
    assert_eq!(
        code(out),
        2,
        "stdout:\n{}\nstderr:\n{}",
        stdout(out),
        stderr(out)
    );
    let err = stderr(out);
    assert!(err.contains(needle), "stderr lacks {needle:?}:\n{err}");
    assert!(stdout(out).is_empty(), "stdout: {}", stdout(out));
}

#[test]
fn bad_flags_exit_2_with_a_clear_message() {
    let issuer = TestIssuer::start();
    let token = issuer.token().build();

    // No subcommand, unknown subcommand, unknown flag.
    assert_usage_error(&run(&mut cmd()), "Usage:");
    assert_usage_error(&run(cmd().arg("frobnicate")), "unrecognized subcommand");
    assert_usage_error(&run(verify(&issuer).args(["--bogus", &token])), "--bogus");

    // Missing required settings (neither flag nor variable).
    assert_usage_error(
        &run(cmd().args([
            "verify",
            "--audience",
            "a",
            "--jwks-url",
            "https://x/",
            &token,
        ])),
        "--issuer",
    );

    // Values clap can check.
    assert_usage_error(
        &run(verify(&issuer).args(["--leeway", "soon", &token])),
        "--leeway",
    );
    assert_usage_error(
        &run(verify(&issuer).args(["--jwks-timeout", "-1", &token])),
        "--jwks-timeout",
    );
    // A bad variable behind a flag: the message names both.
    assert_usage_error(
        &run(verify(&issuer).env("OIDC_LEEWAY_S", "soon").arg(&token)),
        "OIDC_LEEWAY_S",
    );
    assert_usage_error(
        &run(verify(&issuer).args(["--format", "yaml", &token])),
        "--format",
    );

    // Values the configuration refuses.
    let out = run(verify(&issuer).args(["--alg", "HS256", &token]));
    assert_usage_error(&out, "--alg (OIDC_ALLOWED_ALGS)");
    assert!(stderr(&out).contains("HS256"));
    assert_usage_error(
        &run(verify(&issuer).args(["--alg", "none", &token])),
        "none",
    );
    assert_usage_error(
        &run(cmd().args([
            "verify",
            "--issuer",
            "https://i/",
            "--audience",
            "a",
            "--jwks-url",
            "http://issuer.example/jwks.json",
            &token,
        ])),
        "--jwks-url (OIDC_JWKS_URL) must use https",
    );
    assert_usage_error(
        &run(cmd().args([
            "verify",
            "--issuer",
            "  ",
            "--audience",
            "a",
            "--jwks-url",
            "https://x/",
            &token,
        ])),
        "--issuer (OIDC_ISSUER) must be non-empty",
    );

    // A bad variable without a flag: named.
    let out = run(verify(&issuer)
        .env("OIDC_JWKS_CACHE_TTL_S", "forever")
        .arg(&token));
    assert_usage_error(&out, "OIDC_JWKS_CACHE_TTL_S");

    // Nothing was fetched for any of these.
    assert_eq!(issuer.fetch_count(), 0);
}

#[test]
fn help_and_version_exit_0() {
    let out = run(cmd().arg("--help"));
    assert_eq!(code(&out), 0);
    for sub in ["verify", "jwks", "discover", "mint", "decode", "demo"] {
        assert!(stdout(&out).contains(sub), "{}", stdout(&out));
    }
    let out = run(cmd().args(["verify", "--help"]));
    assert_eq!(code(&out), 0);
    assert!(stdout(&out).contains("OIDC_ISSUER"));
    let out = run(cmd().arg("--version"));
    assert_eq!(code(&out), 0);
    assert!(stdout(&out).starts_with("oidc-verify "));
}

// ---------------------------------------------------------------- jwks

#[test]
fn jwks_lists_usable_keys_and_skipped_entries() {
    let issuer = TestIssuer::start();
    let mut doc = issuer.jwks();
    let keys = doc["keys"].as_array_mut().unwrap();
    keys.push(json!({"kty": "oct", "kid": "shared-secret", "k": "c2VjcmV0"}));
    let mut enc = keys[0].clone();
    enc["kid"] = json!("enc-1");
    enc["use"] = json!("enc");
    keys.push(enc);
    keys.push(json!({"kty": "OKP", "crv": "Ed448", "kid": "ed448", "x": "AA"}));
    issuer.set_jwks(Some(doc));

    let out = run(cmd().args(["jwks", "--jwks-url"]).arg(issuer.jwks_url()));
    assert_eq!(code(&out), 0, "{}{}", stdout(&out), stderr(&out));
    let text = stdout(&out);
    assert!(text.contains("healthy (1 usable key, 3 skipped)"), "{text}");
    let row = text
        .lines()
        .find(|l| l.starts_with("test-rs256"))
        .unwrap_or_else(|| panic!("no key row:\n{text}"));
    assert!(
        row.contains("RSA") && row.contains("2048") && row.contains("RS256"),
        "{row}"
    );
    assert!(
        text.contains("kid \"shared-secret\": symmetric key"),
        "{text}"
    );
    assert!(text.contains("kid \"enc-1\": use is"), "{text}");
    assert!(text.contains("kid \"ed448\": unsupported curve"), "{text}");

    let out = run(cmd()
        .args(["jwks", "--format", "json", "--jwks-url"])
        .arg(issuer.jwks_url()));
    assert_eq!(code(&out), 0);
    let doc = json_out(&out);
    assert_eq!(doc["healthy"], true);
    assert_eq!(doc["jwks_url"], issuer.jwks_url());
    assert_eq!(doc["keys"].as_array().unwrap().len(), 1);
    let key = &doc["keys"][0];
    assert_eq!(key["kid"], "test-rs256");
    assert_eq!(key["kty"], "RSA");
    assert_eq!(key["bits"], 2048);
    assert_eq!(key["alg"], Value::Null);
    assert!(key["verifies"]
        .as_array()
        .unwrap()
        .contains(&json!("RS256")));
    assert_eq!(doc["skipped_count"], 3);
    let skipped: Vec<&str> = doc["skipped"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["kid"].as_str().unwrap())
        .collect();
    assert_eq!(skipped, ["shared-secret", "enc-1", "ed448"]);
}

#[test]
fn jwks_unhealthy_exits_1_with_the_code() {
    let out = run(cmd().args(["jwks", "--jwks-url", "http://127.0.0.1:1/jwks.json"]));
    assert_eq!(code(&out), 1, "{}{}", stdout(&out), stderr(&out));
    let text = stdout(&out);
    assert!(text.contains("UNHEALTHY"), "{text}");
    assert!(text.contains("jwks_fetch_failed"), "{text}");

    let out = run(cmd().args([
        "jwks",
        "--format",
        "json",
        "--jwks-url",
        "http://127.0.0.1:1/jwks.json",
    ]));
    assert_eq!(code(&out), 1);
    let doc = json_out(&out);
    assert_eq!(doc["healthy"], false);
    assert_eq!(doc["error"]["code"], "jwks_fetch_failed");
    assert_eq!(doc["error"]["status"], 503);

    // Reachable, but no usable key: jwks_error.
    let issuer = TestIssuer::start();
    issuer.set_jwks(Some(
        json!({"keys": [{"kty": "oct", "kid": "s", "k": "c2VjcmV0"}]}),
    ));
    let out = run(cmd()
        .args(["jwks", "--format", "json", "--jwks-url"])
        .arg(issuer.jwks_url()));
    assert_eq!(code(&out), 1);
    assert_eq!(json_out(&out)["error"]["code"], "jwks_error");
}

#[test]
fn jwks_configuration_errors_exit_2() {
    // Plain http to a non-loopback host: refused before any network I/O ...
    assert_usage_error(
        &run(cmd().args(["jwks", "--jwks-url", "http://issuer.example/jwks.json"])),
        "--jwks-url (OIDC_JWKS_URL) must use https",
    );
    assert_usage_error(
        &run(cmd().args(["jwks", "--jwks-url", "not a url"])),
        "--jwks-url",
    );
    assert_usage_error(&run(cmd().arg("jwks")), "--jwks-url");
    assert_usage_error(
        &run(cmd()
            .args(["jwks", "--jwks-url", "https://issuer.example/jwks.json"])
            .env("OIDC_ALLOW_INSECURE_HTTP", "maybe")),
        "OIDC_ALLOW_INSECURE_HTTP",
    );
}

#[test]
fn jwks_from_environment() {
    let issuer = TestIssuer::start();
    let out = run(cmd()
        .arg("jwks")
        .env("OIDC_JWKS_URL", issuer.jwks_url())
        .env("OIDC_JWKS_TIMEOUT_S", "1.5"));
    assert_eq!(code(&out), 0, "{}{}", stdout(&out), stderr(&out));
    assert!(stdout(&out).contains("test-rs256"));
}

// ---------------------------------------------------------------- decode

#[test]
fn decode_marks_output_unverified_and_explains_times() {
    let issuer = TestIssuer::start();
    let token = issuer.token().claim("scope", json!("read")).build();

    let out = run(cmd().args(["decode", &token]));
    assert_eq!(code(&out), 0, "{}{}", stdout(&out), stderr(&out));
    let text = stdout(&out);
    assert!(text.starts_with("UNVERIFIED"), "{text}");
    assert!(text.contains("Header (UNVERIFIED)"), "{text}");
    assert!(text.contains("Claims (UNVERIFIED)"), "{text}");
    assert!(text.contains("\"alg\": \"RS256\""), "{text}");
    assert!(text.contains("\"kid\": \"test-rs256\""), "{text}");
    assert!(text.contains("\"sub\": \"user-123\""), "{text}");
    assert!(
        text.contains("exp: ") && text.contains("expires in "),
        "{text}"
    );
    assert!(text.contains("issued"), "{text}");
    // Decoding never fetches keys.
    assert_eq!(issuer.fetch_count(), 0);

    let expired = issuer.token().claim("exp", json!(now() - 3 * 3600)).build();
    let out = run_with_stdin(cmd().arg("decode"), format!("{expired}\n").into_bytes());
    assert_eq!(code(&out), 0);
    assert!(stdout(&out).contains("expired 3h ago"), "{}", stdout(&out));

    let out = run(cmd().args(["decode", "--format", "json", &token]));
    assert_eq!(code(&out), 0);
    let doc = json_out(&out);
    assert_eq!(doc["verified"], false);
    assert_eq!(doc["header"]["alg"], "RS256");
    assert_eq!(doc["claims"]["sub"], "user-123");
    assert!(doc["times"]["exp"]["relative"]
        .as_str()
        .unwrap()
        .starts_with("expires in"));
}

#[test]
fn decode_flags_what_a_verifier_would_refuse() {
    let issuer = TestIssuer::start();
    let token = issuer
        .token()
        .header("jku", json!("https://attacker.example/jwks.json"))
        .claim("exp", json!("9999999999"))
        .build();
    let out = run(cmd().args(["decode", &token]));
    assert_eq!(code(&out), 0);
    let text = stdout(&out);
    assert!(text.contains("forbidden_header"), "{text}");
    assert!(text.contains("not a JSON number"), "{text}");
}

#[test]
fn decode_garbage_exits_1() {
    for garbage in ["not-a-token", "a.b", "e30.e30.e30.e30", "!!!.e30.sig"] {
        let out = run(cmd().args(["decode", garbage]));
        assert_no_panic(&out);
        assert_eq!(code(&out), 1, "{garbage}: {}", stdout(&out));
        assert!(stdout(&out).contains("malformed_token"), "{}", stdout(&out));
    }
    let out = run_with_stdin(cmd().args(["decode", "--format", "json", "-"]), Vec::new());
    assert_eq!(code(&out), 1);
    assert_eq!(json_out(&out)["error"]["code"], "missing_token");
}

// ---------------------------------------------------------------- demo

#[test]
fn demo_tour_gets_every_expected_status() {
    let out = run(cmd().arg("demo"));
    assert_no_panic(&out);
    let text = stdout(&out);
    assert_eq!(code(&out), 0, "{text}\n{}", stderr(&out));
    for status in [
        "200 OK",
        "401 Unauthorized",
        "403 Forbidden",
        "503 Service Unavailable",
    ] {
        assert!(text.contains(status), "missing {status}:\n{text}");
    }
    assert!(
        text.contains(r#"WWW-Authenticate: Bearer realm="api""#),
        "{text}"
    );
    assert!(
        text.contains(
            r#"error="insufficient_scope", error_description="Insufficient scope", scope="admin""#
        ),
        "{text}"
    );
    assert!(text.contains("Retry-After: "), "{text}");
    assert!(text.contains("serving stale = true"), "{text}");
    assert!(!text.contains("UNEXPECTED"), "{text}");
    assert!(text.contains("steps got the expected result"), "{text}");

    // The 200 steps show what the valid tokens carried.
    assert!(
        text.contains(r#"claims: sub "user-123", scopes ["read"]"#),
        "{text}"
    );
    assert!(
        text.contains(r#"claims: sub "user-123", scopes ["read", "admin"]"#),
        "{text}"
    );
    // The lifecycle figures are said to be the demo's, not the defaults.
    assert!(text.contains("shortened for the demo"), "{text}");
    assert!(text.contains("TTL 300 s, max stale 3600 s"), "{text}");
    // It ends by pointing at the example servers.
    let tail = text.trim_end().lines().rev().take(3).collect::<Vec<_>>();
    for example in [
        "cargo run --example axum_api --features axum,testkit",
        "cargo run --example actix_api --features actix,testkit",
        "cargo run --example tower_api --features tower,testkit",
    ] {
        assert!(tail.iter().any(|l| l.trim() == example), "{text}");
    }
}

// ---------------------------------------------------------------- hostile text

/// Terminal control characters: ESC (CSI colour, OSC title), BEL, DEL, C1 CSI, and the
/// bidi overrides / isolates that reorder what a terminal shows.
const HOSTILE: [char; 8] = [
    '\u{1b}', '\u{7}', '\u{7f}', '\u{9b}', '\u{202e}', '\u{2066}', '\u{2069}', '\r',
];

fn assert_terminal_safe(text: &str) {
    for c in text.chars() {
        assert!(
            c == '\n' || !(c.is_control() || HOSTILE.contains(&c)),
            "raw {c:?} reaches the terminal:\n{text}"
        );
    }
}

/// Claim text comes from the token: the text format prints it escaped (no raw ESC,
/// C1 or bidi override reaches the terminal); the JSON format keeps the exact values.
#[test]
fn text_output_escapes_control_characters_from_tokens_and_key_sets() {
    let issuer = TestIssuer::start();
    let scope = "read \u{1b}[31mred\u{1b}[0m";
    let sub = "user\u{1b}]0;pwned\u{7}\u{9b}2J\u{202e}txt.exe\u{7f}\r";
    let token = issuer
        .token()
        .claim("scope", json!(scope))
        .claim("permissions", json!(["p\u{1b}[1m", "\u{2066}q\u{2069}"]))
        .claim("sub", json!(sub))
        .claim("name", json!("\u{9b}31m\u{202e}"))
        .build();

    let out = run(verify(&issuer).arg(&token));
    assert_eq!(code(&out), 0, "{}{}", stdout(&out), stderr(&out));
    let text = stdout(&out);
    assert!(!out.stdout.contains(&0x1b), "raw ESC byte:\n{text}");
    assert_terminal_safe(&text);
    let first = text.lines().next().unwrap();
    assert!(
        first.contains(r"scopes: read \u{1b}[31mred\u{1b}[0m"),
        "{first}"
    );
    assert!(
        first.contains(r"permissions: p\u{1b}[1m \u{2066}q\u{2069}"),
        "{first}"
    );
    assert!(
        first.contains(r#"sub "user\u{1b}]0;pwned\u{7}\u{9b}2J\u{202e}txt.exe\u{7f}\r""#),
        "{first}"
    );
    // The claims below the summary: valid JSON, the same values.
    let claims: Value = serde_json::from_str(text.split_once('\n').unwrap().1)
        .unwrap_or_else(|e| panic!("{e}:\n{text}"));
    assert_eq!(claims["scope"], scope);
    assert_eq!(claims["sub"], sub);
    assert!(text.contains(r"\u001b[31m"), "{text}");
    assert!(text.contains(r"\u009b31m\u202e"), "{text}");

    // JSON format: escaped bytes, exactly the values.
    let out = run(verify(&issuer).args(["--format", "json", &token]));
    assert_eq!(code(&out), 0);
    assert_terminal_safe(&stdout(&out));
    let claims = json_out(&out);
    assert_eq!(claims["scope"], scope);
    assert_eq!(claims["sub"], sub);
    assert_eq!(claims["name"], "\u{9b}31m\u{202e}");

    // decode: header members and claims, and the time explanations.
    let token = issuer
        .token()
        .header("typ", json!("JWT\u{1b}[2J"))
        .header("alg", json!("HS256\u{1b}[5m"))
        .claim("exp", json!("soon\u{1b}[31m\u{9b}"))
        .claim("sub", json!(sub))
        .build();
    let out = run(cmd().args(["decode", &token]));
    assert_eq!(code(&out), 0, "{}{}", stdout(&out), stderr(&out));
    let text = stdout(&out);
    assert!(!out.stdout.contains(&0x1b), "raw ESC byte:\n{text}");
    assert_terminal_safe(&text);
    assert!(text.contains(r#""typ": "JWT\u001b[2J""#), "{text}");
    assert!(text.contains(r"\u001b[31m\u009b"), "{text}");
    let out = run(cmd().args(["decode", "--format", "json", &token]));
    assert_terminal_safe(&stdout(&out));
    assert_eq!(json_out(&out)["header"]["typ"], "JWT\u{1b}[2J");

    // jwks: key ids and skip reasons come from the key set.
    let mut doc = issuer.jwks();
    let keys = doc["keys"].as_array_mut().unwrap();
    keys[0]["kid"] = json!("k\u{1b}[31m\u{202e}1");
    let mut enc = keys[0].clone();
    enc["kid"] = json!("enc\u{1b}]0;x\u{7}");
    enc["use"] = json!("enc\u{9b}\u{1b}[2J");
    keys.push(enc);
    issuer.set_jwks(Some(doc));
    let out = run(cmd().args(["jwks", "--jwks-url"]).arg(issuer.jwks_url()));
    assert_eq!(code(&out), 0, "{}{}", stdout(&out), stderr(&out));
    let text = stdout(&out);
    assert!(!out.stdout.contains(&0x1b), "raw ESC byte:\n{text}");
    assert_terminal_safe(&text);
    assert!(text.contains(r"k\u{1b}[31m\u{202e}1"), "{text}");
    assert!(text.contains(r"enc\u{1b}]0;x\u{7}"), "{text}");
    let out = run(cmd()
        .args(["jwks", "--format", "json", "--jwks-url"])
        .arg(issuer.jwks_url()));
    assert_terminal_safe(&stdout(&out));
    assert_eq!(json_out(&out)["keys"][0]["kid"], "k\u{1b}[31m\u{202e}1");
}

// ---------------------------------------------------------------- discovery

/// `verify` with the issuer and audience only: the key set is discovered.
#[test]
fn verify_without_jwks_url_discovers_the_key_set() {
    let issuer = TestIssuer::start();
    let token = issuer.token().build();
    let out = run(cmd()
        .args(["verify", "--format", "json", "--issuer"])
        .arg(issuer.issuer())
        .args(["--audience", DEFAULT_AUDIENCE])
        .arg(&token));
    assert_eq!(code(&out), 0, "{}", stderr(&out));
    assert_eq!(json_out(&out)["sub"], "user-123");
    assert_eq!(issuer.discovery_fetch_count(), 1);
    assert_eq!(issuer.fetch_count(), 1);

    // The metadata endpoint failing: 503 discovery_failed, exit 1, no key-set request.
    let down = TestIssuer::start();
    down.set_discovery_fault(Some(Fault::Status(500)));
    let out = run(cmd()
        .args(["verify", "--format", "json", "--issuer"])
        .arg(down.issuer())
        .args(["--audience", DEFAULT_AUDIENCE])
        .arg(down.token().build()));
    assert_eq!(code(&out), 1, "{}", stderr(&out));
    let doc = json_out(&out);
    assert_eq!(doc["error"]["code"], "discovery_failed");
    assert_eq!(doc["error"]["status"], 503);
    assert_eq!(down.fetch_count(), 0);
}

#[test]
fn discover_prints_the_metadata_url_jwks_uri_and_keys() {
    let issuer = TestIssuer::start();
    let out = run(cmd().args(["discover", "--issuer"]).arg(issuer.issuer()));
    assert_eq!(code(&out), 0, "{}", stderr(&out));
    let text = stdout(&out);
    assert!(
        text.starts_with(&format!("issuer {}: HEALTHY\n", issuer.issuer())),
        "{text}"
    );
    assert!(
        text.contains(&format!("metadata: {}\n", issuer.discovery_url())),
        "{text}"
    );
    assert!(
        text.contains(&format!("jwks_uri: {}\n", issuer.jwks_url())),
        "{text}"
    );
    assert!(
        text.contains("keys:     1 usable: test-rs256 (RSA)"),
        "{text}"
    );

    let out = run(cmd()
        .args(["discover", "--format", "json", "--issuer"])
        .arg(issuer.issuer()));
    assert_eq!(code(&out), 0, "{}", stderr(&out));
    let doc = json_out(&out);
    assert_eq!(doc["issuer"], json!(issuer.issuer()));
    assert_eq!(doc["healthy"], true);
    assert_eq!(doc["metadata_url"], json!(issuer.discovery_url()));
    assert_eq!(doc["jwks_uri"], json!(issuer.jwks_url()));
    assert_eq!(doc["keys"][0]["kid"], "test-rs256");
    assert_eq!(doc["health"]["ready"], true);
    assert!(doc.get("error").is_none());
}

#[test]
fn discover_unhealthy_exits_1_with_the_code() {
    // A document naming another issuer: discovery_error, its jwks_uri never requested.
    let issuer = TestIssuer::start();
    let elsewhere = TestIssuer::start();
    issuer.set_discovery(Some(json!({
        "issuer": format!("{}/", issuer.issuer()),
        "jwks_uri": elsewhere.jwks_url(),
    })));
    let out = run(cmd()
        .args(["discover", "--format", "json", "--issuer"])
        .arg(issuer.issuer()));
    assert_eq!(code(&out), 1, "{}", stderr(&out));
    assert_no_panic(&out);
    let doc = json_out(&out);
    assert_eq!(doc["healthy"], false);
    assert_eq!(doc["error"]["code"], "discovery_error");
    assert_eq!(doc["health"]["issuers"][0]["last_error"], "discovery_error");
    assert_eq!(elsewhere.fetch_count(), 0);

    // Nothing answers: discovery_failed, in text with the causes.
    let out = run(cmd().args(["discover", "--issuer", "http://127.0.0.1:1/realms/x"]));
    assert_eq!(code(&out), 1, "{}", stderr(&out));
    let text = stdout(&out);
    assert!(text.contains(": UNHEALTHY"), "{text}");
    assert!(
        text.contains("error: discovery_failed (HTTP 503)"),
        "{text}"
    );
}

#[test]
fn discover_configuration_errors_exit_2() {
    assert_usage_error(
        &run(cmd().args(["discover", "--issuer", "http://idp.example/"])),
        "--issuer (OIDC_ISSUER)",
    );
    assert_usage_error(
        &run(cmd().args(["discover", "--issuer", "https://idp.example/?tenant=1"])),
        "--issuer (OIDC_ISSUER)",
    );
    assert_usage_error(
        &run(cmd().args([
            "discover",
            "--issuer",
            "https://idp.example/",
            "--discovery",
            "openid",
        ])),
        "--discovery (OIDC_DISCOVERY)",
    );
    assert_usage_error(&run(cmd().arg("discover")), "--issuer");
}

// ---------------------------------------------------------------- mint

/// A running `mint`, killed on drop.
struct Minting(std::process::Child);

impl Drop for Minting {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

#[test]
fn mint_serves_a_key_set_that_verifies_its_token() {
    use std::io::BufRead;
    let mut child = cmd()
        .args([
            "mint", "--format", "json", "--alg", "ES256", "--scope", "admin",
        ])
        .args(["--path", "/realms/dev", "--claim", "tenant=acme"])
        .args(["--claim", r#"roles=["reader"]"#])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn mint");
    let pipe = child.stdout.take().unwrap();
    let _guard = Minting(child);
    let mut line = String::new();
    std::io::BufReader::new(pipe).read_line(&mut line).unwrap();
    let doc: Value = serde_json::from_str(&line).unwrap();
    assert!(doc["warning"]
        .as_str()
        .unwrap()
        .starts_with("DEVELOPMENT ONLY"));
    let issuer = doc["issuer"].as_str().unwrap();
    assert!(issuer.starts_with("http://127.0.0.1:") && issuer.ends_with("/realms/dev"));
    assert_eq!(doc["claims"]["tenant"], "acme");
    assert_eq!(doc["claims"]["roles"], json!(["reader"]));
    assert!(doc.get("jwks").is_none(), "served, not printed");
    let token = doc["token"].as_str().unwrap();

    // The API side: issuer only (discovered), the token's algorithm and scope.
    let out = run(cmd()
        .args(["verify", "--format", "json", "--issuer", issuer])
        .args(["--audience", DEFAULT_AUDIENCE, "--alg", "ES256"])
        .args(["--require-scope", "admin", token]));
    assert_eq!(code(&out), 0, "{}{}", stdout(&out), stderr(&out));
    assert_eq!(json_out(&out)["sub"], "dev-user");
}

#[test]
fn mint_without_serving_prints_the_key_set_and_refuses_bad_flags() {
    let out = run(cmd().args(["mint", "--format", "json", "--no-serve", "--ttl", "60"]));
    assert_eq!(code(&out), 0, "{}", stderr(&out));
    let doc = json_out(&out);
    assert_eq!(doc["jwks"]["keys"][0]["kid"], "dev-rs256");
    let claims = &doc["claims"];
    assert_eq!(
        claims["exp"].as_i64().unwrap() - claims["iat"].as_i64().unwrap(),
        60
    );
    let out = run(cmd().args(["mint", "--no-serve"]));
    assert_eq!(code(&out), 0);
    assert!(
        stderr(&out).starts_with("DEVELOPMENT ONLY"),
        "{}",
        stderr(&out)
    );
    assert!(stdout(&out).contains("TOKEN=ey"), "{}", stdout(&out));

    assert_usage_error(&run(cmd().args(["mint", "--alg", "HS256"])), "--alg");
    assert_usage_error(&run(cmd().args(["mint", "--alg", "rs256"])), "--alg");
    assert_usage_error(&run(cmd().args(["mint", "--ttl", "0"])), "--ttl");
    assert_usage_error(&run(cmd().args(["mint", "--path", "realms"])), "--path");
    assert_usage_error(&run(cmd().args(["mint", "--claim", "novalue"])), "--claim");
}

// ---------------------------------------------------------------- verify --dpop-proof

#[test]
fn verify_checks_a_dpop_proof_and_its_binding() {
    use verifier_testkit::{Alg, DpopProof, TestKey};
    let issuer = TestIssuer::start();
    let holder = TestKey::generate(Alg::ES256, "holder");
    let token = issuer.token().cnf_jkt(&holder).build();
    let htu = "https://api.example.com/orders";
    let proof = |key: &TestKey, htm: &str| {
        DpopProof::new(key)
            .htm(htm)
            .htu(htu)
            .ath_for(&token)
            .build()
    };
    let with_proof = |proof: &str| {
        let mut c = verify(&issuer);
        c.args(["--format", "json", "--dpop-proof", proof, "--htm", "GET"])
            .args(["--htu", htu])
            .arg(&token);
        c
    };
    let out = run(&mut with_proof(&proof(&holder, "GET")));
    assert_eq!(code(&out), 0, "{}{}", stdout(&out), stderr(&out));
    assert_eq!(json_out(&out)["cnf"]["jkt"], json!(holder.thumbprint()));

    // The proof for another method, another key's proof, no proof at all.
    let out = run(&mut with_proof(&proof(&holder, "POST")));
    assert_eq!(code(&out), 1);
    assert_eq!(json_out(&out)["error"]["code"], "invalid_dpop_proof");
    let thief = TestKey::generate(Alg::ES256, "thief");
    let out = run(&mut with_proof(&proof(&thief, "GET")));
    assert_eq!(code(&out), 1);
    assert_eq!(json_out(&out)["error"]["code"], "dpop_binding_mismatch");
    let out = run(verify(&issuer).args(["--format", "json", &token]));
    assert_eq!(code(&out), 1);
    assert_eq!(json_out(&out)["error"]["code"], "dpop_bound_token");

    // --htm / --htu without a proof, a proof without them, a relative --htu.
    assert_usage_error(
        &run(verify(&issuer).args(["--htm", "GET", &token])),
        "--dpop-proof",
    );
    assert_usage_error(
        &run(verify(&issuer).args(["--dpop-proof", "a.b.c", &token])),
        "--htm",
    );
    assert_usage_error(
        &run(verify(&issuer)
            .args(["--dpop-proof", "a.b.c", "--htm", "GET", "--htu", "/orders"])
            .arg(&token)),
        "--htu",
    );
}

/// `verify --profile rfc9068`: an `at+jwt` access token verifies, an ID-token-like
/// `typ: JWT` token is `invalid_token_type` (the refusal names the profile), an unknown
/// profile is a usage error naming the flag.
#[test]
fn verify_profile_rfc9068() {
    let issuer = TestIssuer::start();
    let access = issuer
        .token()
        .typ("at+jwt")
        .claim("client_id", json!("client-1"))
        .claim("jti", json!("j-1"))
        .build();
    let out = run(verify(&issuer).args(["--profile", "rfc9068", "--format", "json", &access]));
    assert_eq!(code(&out), 0, "{}{}", stdout(&out), stderr(&out));
    assert_eq!(json_out(&out)["client_id"], "client-1");

    let id_token = issuer.token().typ("JWT").build();
    let out = run(verify(&issuer).args(["--profile", "rfc9068", "--format", "json", &id_token]));
    assert_eq!(code(&out), 1);
    let err = &json_out(&out)["error"];
    assert_eq!(err["code"], "invalid_token_type");
    assert_eq!(
        err["www_authenticate"],
        "Bearer error=\"invalid_token\", error_description=\"Invalid token type\""
    );
    let out = run(verify(&issuer).args(["--profile", "rfc9068", &id_token]));
    assert!(stdout(&out).contains("rfc9068") || stderr(&out).contains("rfc9068"));
    // Without the profile the same token verifies.
    assert_eq!(code(&run(verify(&issuer).arg(&id_token))), 0);

    let out = run(verify(&issuer).args(["--profile", "strict", &access]));
    assert_eq!(code(&out), 2);
    assert!(
        stderr(&out).contains("--profile (OIDC_ACCESS_TOKEN_PROFILE)"),
        "{}",
        stderr(&out)
    );
}

// ---------------------------------------------------------------- resource-metadata

/// `resource-metadata` prints the RFC 9728 document and the 401 challenge; the MCP
/// preset's canonical-URI rule is a usage error naming the flag.
#[test]
fn resource_metadata_prints_the_document_and_the_challenge() {
    let mut c = cmd();
    c.args([
        "resource-metadata",
        "--resource",
        "https://api.example.com/mcp",
        "--issuer",
        "https://idp.example.com/realms/acme",
        "--issuer",
        "https://other.example.com",
        "--scope",
        "mcp:tools",
        "--realm",
        "api",
        "--mcp",
        "--format",
        "json",
    ]);
    let out = run(&mut c);
    assert_eq!(code(&out), 0, "{}{}", stdout(&out), stderr(&out));
    let report = json_out(&out);
    let url = "https://api.example.com/.well-known/oauth-protected-resource/mcp";
    assert_eq!(report["metadata_url"], url);
    assert_eq!(
        report["document"],
        json!({
            "resource": "https://api.example.com/mcp",
            "authorization_servers": ["https://idp.example.com/realms/acme", "https://other.example.com"],
            "scopes_supported": ["mcp:tools"],
            "bearer_methods_supported": ["header"],
        })
    );
    assert_eq!(
        report["www_authenticate"],
        format!(r#"Bearer realm="api", resource_metadata="{url}""#)
    );

    let mut c = cmd();
    c.args([
        "resource-metadata",
        "--resource",
        "https://api.example.com/",
        "--issuer",
        "https://idp.example.com",
    ]);
    let out = run(&mut c);
    assert_eq!(code(&out), 0, "{}", stderr(&out));
    assert!(stdout(&out).contains("https://api.example.com/.well-known/oauth-protected-resource"));
    assert!(
        stdout(&out).contains(r#""resource": "https://api.example.com/""#),
        "{}",
        stdout(&out)
    );

    let mut c = cmd();
    c.args([
        "resource-metadata",
        "--resource",
        "https://api.example.com/mcp/",
        "--issuer",
        "https://idp.example.com",
        "--mcp",
    ]);
    let out = run(&mut c);
    assert_eq!(code(&out), 2);
    assert!(
        stderr(&out).contains("--resource (OIDC_RESOURCE) is not a canonical MCP server URI"),
        "{}",
        stderr(&out)
    );
}
