//! The example servers (`examples/*_api.rs`), run as built, against a test issuer in this
//! process: what an operator sees when the identity provider changes its key set.
//!
//! `cargo test` builds the examples before it runs any test; the binaries are taken from
//! the target directory. When one is missing (a filtered `cargo test --test
//! example_servers` does not build examples), the test says so and fails.
#![cfg(feature = "testkit")]

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use oidc_jwt_verifier::testkit::{TestIssuer, DEFAULT_AUDIENCE};
use serde_json::json;

/// A running example server, killed on drop.
struct Server {
    child: Child,
    addr: String,
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn example_binary(name: &str) -> PathBuf {
    // target/<profile>/deps/<this test> → target/<profile>/examples/<name>
    let exe = std::env::current_exe().unwrap();
    let dir = exe.parent().unwrap().parent().unwrap().join("examples");
    let path = dir.join(format!("{name}{}", std::env::consts::EXE_SUFFIX));
    assert!(
        path.exists(),
        "{} is not built: run `cargo test --workspace --all-features` (or `cargo build --examples --all-features`) first",
        path.display()
    );
    path
}

fn start(name: &str, issuer: &TestIssuer) -> Server {
    start_with(name, issuer, &[("OIDC_JWKS_URL", issuer.jwks_url())])
}

/// An example server on `issuer`, with these variables besides the issuer, audience,
/// key-set TTL and listen address.
fn start_with(name: &str, issuer: &TestIssuer, vars: &[(&str, String)]) -> Server {
    let mut all = vec![
        ("OIDC_ISSUER", issuer.issuer().to_string()),
        ("OIDC_AUDIENCE", DEFAULT_AUDIENCE.to_owned()),
        ("OIDC_JWKS_CACHE_TTL_S", "0.3".to_owned()),
    ];
    all.extend(vars.iter().cloned());
    start_env(name, &all)
}

/// An example server with exactly these variables (and `LISTEN_ADDR=127.0.0.1:0`).
fn start_env(name: &str, vars: &[(&str, String)]) -> Server {
    let mut command = Command::new(example_binary(name));
    command.env_clear().env("LISTEN_ADDR", "127.0.0.1:0");
    for (key, value) in vars {
        command.env(key, value);
    }
    let mut child = command
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .spawn()
        .unwrap();
    let stdout = child.stdout.take().unwrap();
    let mut lines = BufReader::new(stdout).lines();
    let addr = loop {
        let line = lines
            .next()
            .unwrap_or_else(|| panic!("{name} exited before listening"))
            .unwrap();
        if let Some(addr) = line.strip_prefix("listening on http://") {
            break addr.trim().to_owned();
        }
    };
    // Keep draining stdout so the server never blocks on a full pipe.
    std::thread::spawn(move || lines.for_each(drop));
    Server { child, addr }
}

/// A GET with an optional bearer token: (status, body).
fn get(addr: &str, path: &str, token: Option<&str>) -> (u16, String) {
    let mut stream = TcpStream::connect(addr).unwrap();
    stream
        .set_read_timeout(Some(Duration::from_secs(10)))
        .unwrap();
    let auth = token.map_or(String::new(), |t| format!("Authorization: Bearer {t}\r\n"));
    write!(
        stream,
        "GET {path} HTTP/1.1\r\nHost: {addr}\r\n{auth}Connection: close\r\n\r\n"
    )
    .unwrap();
    let mut response = String::new();
    stream.read_to_string(&mut response).unwrap();
    let status = response
        .split(' ')
        .nth(1)
        .and_then(|s| s.parse().ok())
        .unwrap_or_else(|| panic!("not an HTTP response: {response:?}"));
    let body = response
        .split_once("\r\n\r\n")
        .map_or(String::new(), |(_, b)| b.to_owned());
    (status, body)
}

/// One HTTP/1.1 request: (status, head, body).
fn request(
    addr: &str,
    method: &str,
    path: &str,
    headers: &[(&str, &str)],
    body: &str,
) -> (u16, String, String) {
    let mut stream = TcpStream::connect(addr).unwrap();
    stream
        .set_read_timeout(Some(Duration::from_secs(10)))
        .unwrap();
    let mut head = format!("{method} {path} HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\n");
    for (name, value) in headers {
        head.push_str(&format!("{name}: {value}\r\n"));
    }
    head.push_str(&format!("Content-Length: {}\r\n\r\n{body}", body.len()));
    stream.write_all(head.as_bytes()).unwrap();
    let mut response = String::new();
    stream.read_to_string(&mut response).unwrap();
    let (head, body) = response
        .split_once("\r\n\r\n")
        .map_or((response.clone(), String::new()), |(h, b)| {
            (h.to_owned(), b.to_owned())
        });
    let status = head
        .split(' ')
        .nth(1)
        .and_then(|s| s.parse().ok())
        .unwrap_or_else(|| panic!("not an HTTP response: {response:?}"));
    (status, head, body)
}

/// The value of header `name` in a response head (first one).
fn header<'a>(head: &'a str, name: &str) -> Option<&'a str> {
    head.lines().find_map(|line| {
        let (n, v) = line.split_once(':')?;
        n.eq_ignore_ascii_case(name).then(|| v.trim())
    })
}

/// The MCP example (issue 13): the metadata document at the path its resource implies,
/// `resource_metadata` and the scope hint on 401, audience bound to the resource, and a
/// 200 JSON-RPC answer to an authorized `tools/list`.
#[test]
fn mcp_server_protects_its_endpoint_as_the_mcp_spec_asks() {
    let issuer = TestIssuer::start();
    let server = start_env(
        "mcp_server",
        &[
            ("OIDC_ISSUER", issuer.issuer().to_string()),
            ("OIDC_JWKS_URL", issuer.jwks_url().to_string()),
        ],
    );
    let addr = &server.addr;
    let resource = format!("http://{addr}/mcp");
    let metadata = format!("http://{addr}/.well-known/oauth-protected-resource/mcp");
    let list = r#"{"jsonrpc":"2.0","id":7,"method":"tools/list"}"#;
    let json_ct = ("Content-Type", "application/json");

    let (status, head, _) = request(addr, "POST", "/mcp", &[json_ct], list);
    assert_eq!(status, 401);
    assert_eq!(
        header(&head, "www-authenticate"),
        Some(
            format!(r#"Bearer realm="mcp", scope="mcp:tools", resource_metadata="{metadata}""#)
                .as_str()
        )
    );

    let (status, head, body) = request(
        addr,
        "GET",
        "/.well-known/oauth-protected-resource/mcp",
        &[],
        "",
    );
    assert_eq!(status, 200);
    assert_eq!(header(&head, "content-type"), Some("application/json"));
    assert_eq!(header(&head, "cache-control"), Some("public, max-age=3600"));
    assert_eq!(
        body,
        format!(
            r#"{{"resource":"{resource}","authorization_servers":["{}"],"bearer_methods_supported":["header"]}}"#,
            issuer.issuer()
        )
    );

    let token = |aud: &str, scope: &str| {
        issuer
            .token()
            .claim("aud", json!(aud))
            .claim("scope", json!(scope))
            .build()
    };
    let bearer = |t: &str| format!("Bearer {t}");
    let good = bearer(&token(&resource, "mcp:tools"));
    let (status, _, body) = request(
        addr,
        "POST",
        "/mcp",
        &[json_ct, ("Authorization", &good)],
        list,
    );
    assert_eq!(status, 200, "{body}");
    let answer: serde_json::Value = serde_json::from_str(&body).unwrap();
    assert_eq!(answer["id"], 7);
    assert_eq!(answer["result"]["tools"][0]["name"], "whoami");

    let (status, head, _) = request(
        addr,
        "POST",
        "/mcp",
        &[
            json_ct,
            ("Authorization", &bearer(&token(&resource, "read"))),
        ],
        list,
    );
    assert_eq!(status, 403);
    assert_eq!(
        header(&head, "www-authenticate"),
        Some(format!(r#"Bearer realm="mcp", error="insufficient_scope", error_description="Insufficient scope", scope="mcp:tools", resource_metadata="{metadata}""#).as_str())
    );
    for aud in [format!("{resource}/"), DEFAULT_AUDIENCE.to_owned()] {
        let (status, _, body) = request(
            addr,
            "POST",
            "/mcp",
            &[
                json_ct,
                ("Authorization", &bearer(&token(&aud, "mcp:tools"))),
            ],
            list,
        );
        assert_eq!(status, 401, "{aud}");
        assert!(body.contains("invalid_audience"), "{aud}: {body}");
    }
}

/// SPEC §8 with SPEC-2 §4.2: with `OIDC_RESOURCE` set, each example server answers the
/// metadata document without credentials and puts `resource_metadata` in its challenges;
/// without it, neither (the earlier bytes).
#[test]
fn example_servers_serve_the_resource_metadata_when_configured() {
    for name in ["axum_api", "actix_api", "tower_api"] {
        let issuer = TestIssuer::start();
        let server = start_with(
            name,
            &issuer,
            &[
                ("OIDC_JWKS_URL", issuer.jwks_url().to_string()),
                ("OIDC_RESOURCE", "https://api.example.com/v1".to_owned()),
            ],
        );
        let path = "/.well-known/oauth-protected-resource/v1";
        let (status, head, body) = request(&server.addr, "GET", path, &[], "");
        assert_eq!(status, 200, "{name}: {body}");
        assert_eq!(
            header(&head, "content-type"),
            Some("application/json"),
            "{name}"
        );
        assert_eq!(
            header(&head, "access-control-allow-origin"),
            Some("*"),
            "{name}"
        );
        assert_eq!(
            body,
            format!(
                r#"{{"resource":"https://api.example.com/v1","authorization_servers":["{}"],"bearer_methods_supported":["header"]}}"#,
                issuer.issuer()
            ),
            "{name}"
        );
        let (status, head, _) = request(&server.addr, "GET", "/me", &[], "");
        assert_eq!(status, 401, "{name}");
        assert_eq!(
            header(&head, "www-authenticate"),
            Some(
                r#"Bearer realm="api", resource_metadata="https://api.example.com/.well-known/oauth-protected-resource/v1""#
            ),
            "{name}"
        );
        let token = issuer.token().build();
        let auth = format!("Bearer {token}");
        let (status, _, _) = request(&server.addr, "GET", "/me", &[("Authorization", &auth)], "");
        assert_eq!(status, 200, "{name}");

        // Without a resource: no document, the challenge of before.
        let plain = start(name, &issuer);
        let (status, _, _) = request(&plain.addr, "GET", path, &[], "");
        assert_eq!(status, 404, "{name}");
        let (_, head, _) = request(&plain.addr, "GET", "/me", &[], "");
        assert_eq!(
            header(&head, "www-authenticate"),
            Some(r#"Bearer realm="api""#),
            "{name}"
        );
    }
}

/// Issue 10 item 2, end to end: the identity provider publishes a key set without a
/// usable key; within one refresh (one key-set request) the old kid is refused with 401
/// `key_not_found`, and `/healthz` turns 503.
#[test]
fn an_empty_key_set_revokes_in_every_example_server() {
    for name in ["axum_api", "actix_api", "tower_api"] {
        let issuer = TestIssuer::start();
        let server = start(name, &issuer);
        let token = issuer.token().build();
        assert_eq!(get(&server.addr, "/me", Some(&token)).0, 200, "{name}");
        assert_eq!(get(&server.addr, "/healthz", None).0, 200, "{name}");

        let before = issuer.fetch_count();
        issuer.set_jwks(Some(json!({"keys": []})));
        let deadline = Instant::now() + Duration::from_secs(10);
        let (status, body) = loop {
            let (status, body) = get(&server.addr, "/me", Some(&token));
            if status != 200 {
                break (status, body);
            }
            assert!(Instant::now() < deadline, "{name}: old key still accepted");
            std::thread::sleep(Duration::from_millis(20));
        };
        assert_eq!(status, 401, "{name}: {body}");
        assert!(body.contains("key_not_found"), "{name}: {body}");
        assert_eq!(
            issuer.fetch_count() - before,
            1,
            "{name}: revoked within one refresh"
        );
        assert_eq!(get(&server.addr, "/healthz", None).0, 503, "{name}");

        // A key published again is picked up (an explicit refresh is not needed: the
        // next TTL refresh installs it).
        issuer.set_jwks(None);
        let deadline = Instant::now() + Duration::from_secs(10);
        while get(&server.addr, "/me", Some(&token)).0 != 200 {
            assert!(Instant::now() < deadline, "{name}: key not restored");
            std::thread::sleep(Duration::from_millis(20));
        }
        assert_eq!(get(&server.addr, "/healthz", None).0, 200, "{name}");
    }
}

/// Issue 12: with `OIDC_JWKS_URL` unset the example servers discover the key set from the
/// issuer's metadata, and `/healthz` says where it came from; with the metadata
/// endpoint failing at a cold start, `/healthz` is 503 and names `discovery_failed`.
#[test]
fn example_servers_discover_keys_and_health_says_why() {
    for name in ["axum_api", "actix_api", "tower_api"] {
        let issuer = TestIssuer::start();
        let server = start_with(name, &issuer, &[]);
        let token = issuer.token().build();
        assert_eq!(get(&server.addr, "/me", Some(&token)).0, 200, "{name}");
        let (status, body) = get(&server.addr, "/healthz", None);
        assert_eq!(status, 200, "{name}: {body}");
        let health: serde_json::Value = serde_json::from_str(&body).unwrap();
        assert_eq!(health["status"], "ok", "{name}");
        assert_eq!(health["ready"], true, "{name}");
        let entry = &health["issuers"][0];
        assert_eq!(entry["issuer"], json!(issuer.issuer()), "{name}");
        assert_eq!(
            entry["metadata"]["url"],
            json!(issuer.discovery_url()),
            "{name}"
        );
        assert_eq!(
            entry["metadata"]["jwks_uri"],
            json!(issuer.jwks_url()),
            "{name}"
        );
        assert_eq!(entry["jwks"]["key_count"], 1, "{name}");
        assert_eq!(issuer.discovery_fetch_count(), 1, "{name}");

        let down = TestIssuer::start();
        down.set_discovery_fault(Some(oidc_jwt_verifier::testkit::Fault::Status(500)));
        let server = start_with(name, &down, &[]);
        let (status, body) = get(&server.addr, "/healthz", None);
        assert_eq!(status, 503, "{name}: {body}");
        let health: serde_json::Value = serde_json::from_str(&body).unwrap();
        assert_eq!(health["status"], "unavailable", "{name}");
        assert_eq!(
            health["issuers"][0]["last_error"], "discovery_failed",
            "{name}"
        );
        assert_eq!(down.fetch_count(), 0, "{name}");
    }
}

/// Issue 12: `OIDC_ISSUERS` serves several issuers (keys discovered); a token from either
/// verifies, one from an unlisted issuer is 401 `invalid_issuer`, and `/healthz` lists
/// both issuers.
#[test]
fn example_servers_serve_several_issuers() {
    for name in ["axum_api", "actix_api", "tower_api"] {
        let a = TestIssuer::start();
        let b = TestIssuer::builder().path("/realms/b").start();
        let stranger = TestIssuer::start();
        let mut issuers = a.issuer();
        issuers.push_str(", ");
        issuers.push_str(&b.issuer());
        let server = start_with(
            name,
            &a,
            &[
                // `start_with` sets OIDC_ISSUER; several issuers replace it.
                ("OIDC_ISSUER", String::new()),
                ("OIDC_ISSUERS", issuers),
            ],
        );
        for issuer in [&a, &b] {
            let (status, body) = get(&server.addr, "/me", Some(&issuer.token().build()));
            assert_eq!(status, 200, "{name}: {body}");
        }
        let (status, body) = get(&server.addr, "/me", Some(&stranger.token().build()));
        assert_eq!(status, 401, "{name}: {body}");
        assert!(body.contains("invalid_issuer"), "{name}: {body}");
        assert_eq!(stranger.fetch_count() + stranger.discovery_fetch_count(), 0);
        let (status, body) = get(&server.addr, "/healthz", None);
        assert_eq!(status, 200, "{name}: {body}");
        let health: serde_json::Value = serde_json::from_str(&body).unwrap();
        assert_eq!(health["issuers"][0]["issuer"], json!(a.issuer()), "{name}");
        assert_eq!(health["issuers"][1]["issuer"], json!(b.issuer()), "{name}");
    }
}
