//! Harness for the end-to-end suite: a real OpenID provider (node `oidc-provider`,
//! configured by `provider.mjs` in this crate) started on 127.0.0.1, real access tokens
//! from its token endpoint, and helpers that tamper with them.
//!
//! Needs Node.js 20+ and the pinned npm packages: run `npm ci` in `tests/e2e` once. A
//! missing `node` or `node_modules` fails the tests with that instruction; nothing is
//! skipped.
//!
//! ```no_run
//! # async fn run() {
//! use e2e_tests::{Provider, TestClient, API_RESOURCE};
//! let provider = Provider::start().await;
//! let token = provider.token(TestClient::Rs256, API_RESOURCE, "read admin").await;
//! let verifier = verifier_core::AsyncJwtVerifier::new(provider.config().build().unwrap()).unwrap();
//! let claims = verifier.verify_access_token(&token).await.unwrap();
//! assert_eq!(claims.iss(), Some(provider.issuer()));
//! # }
//! ```
#![forbid(unsafe_code)]
#![deny(missing_docs)]

mod dpop;

pub use dpop::api_proof;

use std::io::{BufRead, BufReader, Read};
use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Child, ChildStdin, Command, Stdio};
use std::sync::mpsc;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine as _;
use serde_json::{Map, Value};
use verifier_core::{Algorithm, AuthConfig, AuthConfigBuilder};

/// The resource indicator (and access-token audience) of the protected API.
pub const API_RESOURCE: &str = "https://api.e2e.test/";
/// Another resource server: its tokens have a different audience.
pub const OTHER_RESOURCE: &str = "https://other.e2e.test/";

/// How long the provider may take to print its ready line.
const READY_TIMEOUT: Duration = Duration::from_secs(30);
/// The line `provider.mjs` prints when it accepts requests.
const READY_PREFIX: &str = "OIDC_PROVIDER_READY ";

/// The clients registered at the provider (see `provider.mjs`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum TestClient {
    /// `e2e-rs`: RS256 tokens valid for 300 s.
    Rs256,
    /// `e2e-es`: ES256 tokens valid for 300 s.
    Es256,
    /// `e2e-short`: RS256 tokens valid for 1 s.
    ShortLived,
}

impl TestClient {
    /// The client id.
    pub fn id(self) -> &'static str {
        match self {
            TestClient::Rs256 => "e2e-rs",
            TestClient::Es256 => "e2e-es",
            TestClient::ShortLived => "e2e-short",
        }
    }

    fn secret(self) -> &'static str {
        match self {
            TestClient::Rs256 => "e2e-rs-secret",
            TestClient::Es256 => "e2e-es-secret",
            TestClient::ShortLived => "e2e-short-secret",
        }
    }
}

/// A running `oidc-provider` on 127.0.0.1; stopped on drop.
pub struct Provider {
    child: Child,
    // Held open: the provider exits when its stdin closes (also if this process dies).
    _stdin: ChildStdin,
    base_url: String,
    issuer: String,
    jwks_uri: String,
    token_endpoint: String,
    kids: Vec<String>,
    stderr: Arc<Mutex<String>>,
}

impl std::fmt::Debug for Provider {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Provider")
            .field("issuer", &self.issuer)
            .field("kids", &self.kids)
            .finish_non_exhaustive()
    }
}

/// The directory holding `provider.mjs`, `package.json` and `node_modules`.
pub fn e2e_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// Fails (with the fix) when `node` or the npm packages are missing.
fn preflight(dir: &Path) {
    let node = Command::new("node")
        .arg("--version")
        .stdin(Stdio::null())
        .output();
    match node {
        Ok(out) if out.status.success() => {}
        Ok(out) => panic!(
            "`node --version` failed ({}): the end-to-end suite needs Node.js 20+; \
             install it, then run `npm ci` in tests/e2e",
            out.status
        ),
        Err(e) => panic!(
            "cannot run `node` ({e}): the end-to-end suite needs Node.js 20+ on PATH; \
             install it, then run `npm ci` in tests/e2e"
        ),
    }
    let package = dir.join("node_modules/oidc-provider/package.json");
    assert!(
        package.is_file(),
        "{} is missing: run `npm ci` in tests/e2e (cd {} && npm ci)",
        package.display(),
        dir.display()
    );
}

/// A port that was free a moment ago on 127.0.0.1 (not every server takes port 0).
fn free_port() -> u16 {
    let listener = TcpListener::bind("127.0.0.1:0").expect("bind 127.0.0.1:0");
    listener.local_addr().expect("local addr").port()
}

fn http_client() -> reqwest::Client {
    reqwest::Client::builder()
        .no_proxy()
        .timeout(Duration::from_secs(10))
        .build()
        .expect("reqwest client")
}

struct Spawned {
    child: Child,
    stdin: ChildStdin,
    ready: Value,
    stderr: Arc<Mutex<String>>,
}

/// Starts `node provider.mjs PORT` and waits for its ready line. `Err` carries the
/// provider's stderr when it exited (e.g. the port was taken in the meantime).
async fn spawn(dir: &Path, port: u16) -> Result<Spawned, String> {
    let mut child = Command::new("node")
        .arg("provider.mjs")
        .arg(port.to_string())
        .current_dir(dir)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap_or_else(|e| panic!("cannot start `node provider.mjs` in {}: {e}", dir.display()));
    let stdin = child.stdin.take().expect("piped stdin");
    let stdout = child.stdout.take().expect("piped stdout");
    let mut stderr_pipe = child.stderr.take().expect("piped stderr");

    let stderr = Arc::new(Mutex::new(String::new()));
    {
        let stderr = stderr.clone();
        std::thread::spawn(move || {
            let mut buf = [0u8; 4096];
            while let Ok(n) = stderr_pipe.read(&mut buf) {
                if n == 0 {
                    break;
                }
                stderr
                    .lock()
                    .unwrap()
                    .push_str(&String::from_utf8_lossy(&buf[..n]));
            }
        });
    }
    let (tx, rx) = mpsc::channel::<String>();
    std::thread::spawn(move || {
        for line in BufReader::new(stdout).lines() {
            let Ok(line) = line else { break };
            if let Some(rest) = line.strip_prefix(READY_PREFIX) {
                let _ = tx.send(rest.to_owned());
            }
        }
    });

    let deadline = Instant::now() + READY_TIMEOUT;
    loop {
        match rx.try_recv() {
            Ok(line) => {
                let ready: Value = serde_json::from_str(&line)
                    .unwrap_or_else(|e| panic!("bad ready line {line:?}: {e}"));
                return Ok(Spawned {
                    child,
                    stdin,
                    ready,
                    stderr,
                });
            }
            Err(mpsc::TryRecvError::Disconnected) | Err(mpsc::TryRecvError::Empty)
                if child.try_wait().ok().flatten().is_some() =>
            {
                let status = child.wait().expect("wait");
                // Let the stderr reader drain.
                tokio::time::sleep(Duration::from_millis(50)).await;
                let err = stderr.lock().unwrap().clone();
                return Err(format!(
                    "provider exited ({status}) before it was ready:\n{err}"
                ));
            }
            Err(_) => {}
        }
        if Instant::now() > deadline {
            let _ = child.kill();
            let _ = child.wait();
            let err = stderr.lock().unwrap().clone();
            panic!("provider not ready within {READY_TIMEOUT:?}; its stderr:\n{err}");
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

impl Provider {
    /// Starts the provider on a free 127.0.0.1 port, waits until it is ready and reads
    /// its discovery document.
    ///
    /// # Panics
    ///
    /// When `node` or `node_modules` is missing ("run `npm ci` in tests/e2e"), or the
    /// provider does not come up.
    pub async fn start() -> Provider {
        let dir = e2e_dir();
        preflight(&dir);
        let mut last_error = String::new();
        for _attempt in 0..3 {
            let port = free_port();
            match spawn(&dir, port).await {
                Ok(spawned) => return Provider::discover(spawned, port).await,
                // Most likely the port was taken between our probe and node's bind.
                Err(e) => last_error = e,
            }
        }
        panic!("the provider failed to start three times; last attempt:\n{last_error}");
    }

    async fn discover(spawned: Spawned, port: u16) -> Provider {
        let Spawned {
            child,
            stdin,
            ready,
            stderr,
        } = spawned;
        let base_url = format!("http://127.0.0.1:{port}");
        let issuer = ready["issuer"]
            .as_str()
            .expect("issuer in ready line")
            .to_owned();
        let kids = string_list(&ready["kids"]);
        let discovery_url = format!("{issuer}/.well-known/openid-configuration");
        let response = http_client()
            .get(&discovery_url)
            .send()
            .await
            .unwrap_or_else(|e| panic!("GET {discovery_url}: {e}"));
        assert_eq!(response.status(), 200, "GET {discovery_url}");
        let doc: Value = response.json().await.expect("discovery JSON");
        assert_eq!(doc["issuer"], issuer.as_str(), "discovery issuer");
        let jwks_uri = doc["jwks_uri"].as_str().expect("jwks_uri").to_owned();
        let token_endpoint = doc["token_endpoint"]
            .as_str()
            .expect("token_endpoint")
            .to_owned();
        for url in [&jwks_uri, &token_endpoint] {
            assert!(
                url.starts_with(&base_url),
                "{url} is not on the provider at {base_url}"
            );
        }
        Provider {
            child,
            _stdin: stdin,
            base_url,
            issuer,
            jwks_uri,
            token_endpoint,
            kids,
            stderr,
        }
    }

    /// The issuer identifier (`http://127.0.0.1:PORT`), as in the tokens' `iss`.
    pub fn issuer(&self) -> &str {
        &self.issuer
    }

    /// `jwks_uri` from the discovery document.
    pub fn jwks_uri(&self) -> &str {
        &self.jwks_uri
    }

    /// `token_endpoint` from the discovery document (a DPoP proof's `htu` there).
    pub fn token_endpoint(&self) -> &str {
        &self.token_endpoint
    }

    /// The key ids published at startup (RS256 first, then ES256).
    pub fn initial_kids(&self) -> &[String] {
        &self.kids
    }

    /// What the provider wrote on stderr so far (for failure messages).
    pub fn stderr(&self) -> String {
        self.stderr.lock().unwrap().clone()
    }

    /// A verifier configuration for [`API_RESOURCE`]: this issuer, its `jwks_uri`,
    /// algorithms RS256 and ES256.
    pub fn config(&self) -> AuthConfigBuilder {
        self.config_for(API_RESOURCE)
    }

    /// Like [`Provider::config`], for another audience.
    pub fn config_for(&self, audience: &str) -> AuthConfigBuilder {
        AuthConfig::builder()
            .issuer(&self.issuer)
            .audience(audience)
            .jwks_url(&self.jwks_uri)
            .allowed_algs([Algorithm::RS256, Algorithm::ES256])
    }

    /// Requests an access token: `POST /token` with `grant_type=client_credentials`,
    /// `resource` and `scope`, authenticating the client with HTTP basic.
    ///
    /// # Panics
    ///
    /// When the provider does not answer 200 with an `access_token`.
    pub async fn token(&self, client: TestClient, resource: &str, scope: &str) -> String {
        self.token_at(&self.token_endpoint, client, resource, scope)
            .await
    }

    /// Like [`Provider::token`], at a token endpoint the caller found itself (e.g. from
    /// the authorization server metadata an MCP client discovered); it must be this
    /// provider's (see [`Provider::token_endpoint`]) for the request to succeed.
    ///
    /// # Panics
    ///
    /// When the endpoint does not answer 200 with an unbound Bearer `access_token`.
    pub async fn token_at(
        &self,
        token_endpoint: &str,
        client: TestClient,
        resource: &str,
        scope: &str,
    ) -> String {
        let response = http_client()
            .post(token_endpoint)
            .basic_auth(client.id(), Some(client.secret()))
            .form(&[
                ("grant_type", "client_credentials"),
                ("resource", resource),
                ("scope", scope),
            ])
            .send()
            .await
            .unwrap_or_else(|e| panic!("POST {token_endpoint}: {e}"));
        let status = response.status();
        let body: Value = response.json().await.expect("token response JSON");
        assert_eq!(
            status,
            200,
            "token request failed: {body}; provider stderr:\n{}",
            self.stderr()
        );
        assert_eq!(body["token_type"], "Bearer", "{body}");
        let token = body["access_token"]
            .as_str()
            .unwrap_or_else(|| panic!("no access_token in {body}"))
            .to_owned();
        // DPoP is enabled at the provider: a request without a proof stays unbound.
        assert!(
            !tamper::payload(&token).contains_key("cnf"),
            "a Bearer token carries cnf: {body}"
        );
        token
    }

    /// A `client_credentials` access token for `resource` (RFC 8707), e.g. an MCP
    /// server's URI `http://127.0.0.1:PORT/mcp`: client `e2e-rs` (RS256), scopes
    /// `read admin`. The provider accepts [`API_RESOURCE`], [`OTHER_RESOURCE`] and any
    /// `http://127.0.0.1:PORT/...` resource; the token's `aud` is `resource` exactly.
    ///
    /// # Panics
    ///
    /// When the provider refuses (`invalid_target` for another resource) or the token's
    /// `aud` is not `resource`.
    pub async fn client_credentials_for_resource(&self, resource: &str) -> String {
        let token = self.token(TestClient::Rs256, resource, "read admin").await;
        assert_eq!(
            tamper::payload(&token).get("aud"),
            Some(&Value::from(resource)),
            "aud of the token for {resource}"
        );
        token
    }

    /// Rotates the provider's signing keys: a new RS256 and ES256 key with new kids
    /// replace the old ones in the JWKS at once. Returns the new kids.
    pub async fn rotate_keys(&self) -> Vec<String> {
        let url = format!("{}/__e2e/rotate", self.base_url);
        let response = http_client()
            .post(&url)
            .send()
            .await
            .unwrap_or_else(|e| panic!("POST {url}: {e}"));
        assert_eq!(response.status(), 200, "POST {url}");
        let body: Value = response.json().await.expect("rotate JSON");
        string_list(&body["kids"])
    }

    /// The kids the provider's JWKS publishes now.
    pub async fn published_kids(&self) -> Vec<String> {
        let body: Value = http_client()
            .get(&self.jwks_uri)
            .send()
            .await
            .expect("GET jwks")
            .json()
            .await
            .expect("JWKS JSON");
        body["keys"]
            .as_array()
            .expect("keys array")
            .iter()
            .map(|k| k["kid"].as_str().expect("kid").to_owned())
            .collect()
    }
}

impl Drop for Provider {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn string_list(value: &Value) -> Vec<String> {
    value
        .as_array()
        .map(|a| {
            a.iter()
                .filter_map(Value::as_str)
                .map(str::to_owned)
                .collect()
        })
        .unwrap_or_default()
}

/// Builds tampered variants of a compact JWS.
pub mod tamper {
    use super::*;

    fn split(token: &str) -> [&str; 3] {
        let mut parts = token.split('.');
        let out = [
            parts.next().expect("header"),
            parts.next().expect("payload"),
            parts.next().expect("signature"),
        ];
        assert!(parts.next().is_none(), "not a compact JWS");
        out
    }

    /// Decodes a base64url JSON object segment.
    pub fn decode_object(segment: &str) -> Map<String, Value> {
        let bytes = URL_SAFE_NO_PAD.decode(segment).expect("base64url");
        serde_json::from_slice(&bytes).expect("JSON object")
    }

    fn encode_object(object: &Map<String, Value>) -> String {
        URL_SAFE_NO_PAD.encode(serde_json::to_vec(object).expect("JSON"))
    }

    /// The decoded header.
    pub fn header(token: &str) -> Map<String, Value> {
        decode_object(split(token)[0])
    }

    /// The decoded payload.
    pub fn payload(token: &str) -> Map<String, Value> {
        decode_object(split(token)[1])
    }

    /// The token with one bit of its signature flipped (at byte `index`).
    pub fn flip_signature_byte(token: &str, index: usize) -> String {
        let [h, p, s] = split(token);
        let mut sig = URL_SAFE_NO_PAD.decode(s).expect("signature base64url");
        let i = index % sig.len();
        sig[i] ^= 0x01;
        format!("{h}.{p}.{}", URL_SAFE_NO_PAD.encode(sig))
    }

    /// The token with its header rewritten by `edit` (the signature is kept).
    pub fn edit_header(token: &str, edit: impl FnOnce(&mut Map<String, Value>)) -> String {
        let [h, p, s] = split(token);
        let mut header = decode_object(h);
        edit(&mut header);
        format!("{}.{p}.{s}", encode_object(&header))
    }

    /// The token with its payload rewritten by `edit` (the signature is kept).
    pub fn edit_payload(token: &str, edit: impl FnOnce(&mut Map<String, Value>)) -> String {
        let [h, p, s] = split(token);
        let mut payload = decode_object(p);
        edit(&mut payload);
        format!("{h}.{}.{s}", encode_object(&payload))
    }

    /// The token with its signature replaced by `signature` (raw bytes).
    pub fn with_signature(token: &str, signature: &[u8]) -> String {
        let [h, p, _] = split(token);
        format!("{h}.{p}.{}", URL_SAFE_NO_PAD.encode(signature))
    }

    /// The raw signature bytes.
    pub fn signature(token: &str) -> Vec<u8> {
        URL_SAFE_NO_PAD
            .decode(split(token)[2])
            .expect("signature base64url")
    }
}

/// HTTP helpers and the scenario every framework integration must pass (docs/axum.md,
/// docs/actix.md, docs/tower.md and the example servers:
/// `GET /me` authenticated, `GET /admin` requiring scope `admin`, realm `api`).
pub mod conformance {
    use super::*;

    /// A response reduced to what the assertions need.
    #[derive(Debug)]
    pub struct Reply {
        /// The status code.
        pub status: u16,
        /// The one `WWW-Authenticate` header, if any.
        pub www_authenticate: Option<String>,
        /// The `Content-Type` header, if any.
        pub content_type: Option<String>,
        /// The body as text.
        pub body: String,
    }

    impl Reply {
        /// The body as JSON.
        pub fn json(&self) -> Value {
            serde_json::from_str(&self.body)
                .unwrap_or_else(|e| panic!("body is not JSON ({e}): {:?}", self.body))
        }
    }

    /// `GET url` with an optional raw `Authorization` value.
    pub async fn get(url: &str, authorization: Option<&str>) -> Reply {
        let mut request = http_client().get(url);
        if let Some(value) = authorization {
            request = request.header("authorization", value);
        }
        let response = request
            .send()
            .await
            .unwrap_or_else(|e| panic!("GET {url}: {e}"));
        let one = |name: &str| {
            let mut values = response.headers().get_all(name).iter();
            let first = values
                .next()
                .map(|v| v.to_str().expect("visible ASCII header").to_owned());
            assert!(values.next().is_none(), "more than one {name} header");
            first
        };
        let www_authenticate = one("www-authenticate");
        let content_type = one("content-type");
        let status = response.status().as_u16();
        let body = response.text().await.expect("body");
        Reply {
            status,
            www_authenticate,
            content_type,
            body,
        }
    }

    fn bearer(token: &str) -> String {
        format!("Bearer {token}")
    }

    /// Asserts a refusal: status, exact challenge, JSON body with `code`.
    #[track_caller]
    fn assert_refused(what: &str, reply: &Reply, status: u16, challenge: &str, code: &str) {
        assert_eq!(reply.status, status, "{what}: {reply:?}");
        assert_eq!(
            reply.www_authenticate.as_deref(),
            Some(challenge),
            "{what}: {reply:?}"
        );
        assert_eq!(
            reply.content_type.as_deref(),
            Some("application/json"),
            "{what}"
        );
        assert_eq!(reply.json()["code"], code, "{what}: {reply:?}");
    }

    fn invalid_token(description: &str) -> String {
        format!(r#"Bearer realm="api", error="invalid_token", error_description="{description}""#)
    }

    /// Runs the scenario against a server at `base` (`http://127.0.0.1:PORT`) whose
    /// verifier is configured from [`Provider::config`]: real tokens are accepted (200,
    /// the claims reach the handler), tampered ones refused (401 with the exact
    /// `WWW-Authenticate`), insufficient scope is 403.
    ///
    /// The `/me` handler must answer the verified claims as JSON.
    pub async fn run(provider: &Provider, base: &str) {
        let me = format!("{base}/me");
        let admin = format!("{base}/admin");

        // Real tokens, both algorithms.
        let rs_admin = provider
            .token(TestClient::Rs256, API_RESOURCE, "read admin")
            .await;
        let es_admin = provider
            .token(TestClient::Es256, API_RESOURCE, "read admin")
            .await;
        let rs_read = provider
            .token(TestClient::Rs256, API_RESOURCE, "read")
            .await;
        for (name, token, sub) in [
            ("RS256", &rs_admin, "e2e-rs"),
            ("ES256", &es_admin, "e2e-es"),
        ] {
            let reply = get(&me, Some(&bearer(token))).await;
            assert_eq!(reply.status, 200, "{name} /me: {reply:?}");
            assert!(reply.www_authenticate.is_none(), "{name}: {reply:?}");
            let claims = reply.json();
            assert_eq!(claims["sub"], sub, "{name}");
            assert_eq!(claims["iss"], provider.issuer(), "{name}");
            assert_eq!(claims["aud"], API_RESOURCE, "{name}");
            assert_eq!(claims["scope"], "read admin", "{name}");
            let reply = get(&admin, Some(&bearer(token))).await;
            assert_eq!(reply.status, 200, "{name} /admin: {reply:?}");
        }
        // Scheme in any case, extra spaces.
        let reply = get(&me, Some(&format!("bearer   {rs_read}"))).await;
        assert_eq!(reply.status, 200, "lowercase scheme: {reply:?}");

        // Insufficient scope: authenticated (200 on /me), 403 on /admin.
        let reply = get(&me, Some(&bearer(&rs_read))).await;
        assert_eq!(reply.status, 200, "{reply:?}");
        assert_eq!(reply.json()["scope"], "read");
        let reply = get(&admin, Some(&bearer(&rs_read))).await;
        assert_refused(
            "read-only token on /admin",
            &reply,
            403,
            r#"Bearer realm="api", error="insufficient_scope", error_description="Insufficient scope", scope="admin""#,
            "insufficient_scope",
        );
        assert_eq!(reply.json()["detail"], "Insufficient scope");

        // No credentials.
        for (what, value) in [
            ("no header", None),
            ("Basic", Some("Basic ZTJlOnNlY3JldA==")),
        ] {
            for url in [&me, &admin] {
                let reply = get(url, value).await;
                assert_refused(what, &reply, 401, r#"Bearer realm="api""#, "missing_token");
            }
        }

        // Tampered tokens: 401 on both routes (never 403, never 200).
        let es_kid = provider.initial_kids()[1].clone();
        let tampered: Vec<(&str, String, &str, &str)> = vec![
            (
                "flipped signature byte",
                tamper::flip_signature_byte(&rs_admin, 10),
                "invalid_signature",
                "Invalid token signature",
            ),
            (
                "flipped ES256 signature byte",
                tamper::flip_signature_byte(&es_admin, 40),
                "invalid_signature",
                "Invalid token signature",
            ),
            (
                "scope elevated in the payload",
                tamper::edit_payload(&rs_read, |p| {
                    p.insert("scope".into(), Value::from("read admin"));
                }),
                "invalid_signature",
                "Invalid token signature",
            ),
            (
                "alg none without signature",
                tamper::with_signature(
                    &tamper::edit_header(&rs_admin, |h| {
                        h.insert("alg".into(), Value::from("none"));
                    }),
                    b"",
                ),
                "disallowed_alg",
                "Disallowed signing algorithm",
            ),
            (
                "alg HS256",
                tamper::edit_header(&rs_admin, |h| {
                    h.insert("alg".into(), Value::from("HS256"));
                }),
                "disallowed_alg",
                "Disallowed signing algorithm",
            ),
            (
                "kid of the EC key on an RS256 token",
                tamper::edit_header(&rs_admin, |h| {
                    h.insert("kid".into(), Value::from(es_kid.as_str()));
                }),
                "disallowed_alg",
                "Disallowed signing algorithm",
            ),
            (
                "unknown kid",
                tamper::edit_header(&rs_admin, |h| {
                    h.insert("kid".into(), Value::from("no-such-kid"));
                }),
                "key_not_found",
                "No matching signing key",
            ),
            (
                "not a JWS",
                "not-a-token".to_owned(),
                "malformed_token",
                "Malformed token",
            ),
        ];
        for (what, token, code, description) in &tampered {
            for url in [&me, &admin] {
                let reply = get(url, Some(&bearer(token))).await;
                assert_refused(what, &reply, 401, &invalid_token(description), code);
                assert_eq!(reply.json()["detail"], *description, "{what}");
            }
        }

        // A real token for another resource.
        let other = provider
            .token(TestClient::Rs256, OTHER_RESOURCE, "read admin")
            .await;
        let reply = get(&me, Some(&bearer(&other))).await;
        assert_refused(
            "wrong audience",
            &reply,
            401,
            &invalid_token("Invalid audience"),
            "invalid_audience",
        );

        // The genuine token still works after all that.
        let reply = get(&admin, Some(&bearer(&rs_admin))).await;
        assert_eq!(reply.status, 200, "{reply:?}");
    }
}
