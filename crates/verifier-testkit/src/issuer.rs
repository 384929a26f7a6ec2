//! A real OpenID issuer on 127.0.0.1, served by std threads.

use std::collections::HashMap;
use std::io::{Read, Write};
use std::net::{Shutdown, SocketAddr, TcpListener, TcpStream};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Condvar, Mutex, MutexGuard, PoisonError};
use std::thread::{self, JoinHandle};
use std::time::{Duration, Instant};

use serde_json::{json, Value};

use crate::{now, Alg, TestKey, TokenBuilder, DEFAULT_AUDIENCE};

mod builder;

use builder::{check_path, trim_one_slash};
pub use builder::{Layout, TestIssuerBuilder};

/// Largest request head the server reads before answering 431.
const MAX_REQUEST_HEAD: usize = 16 * 1024;
/// How long a connection may take to send its request head.
const READ_TIMEOUT: Duration = Duration::from_secs(5);
/// How long a response write may block.
const WRITE_TIMEOUT: Duration = Duration::from_secs(5);
/// Kid of the key [`TestIssuer::start`] publishes.
const DEFAULT_KID: &str = "test-rs256";

/// A fault to inject into the JWKS endpoint or the metadata (discovery) URLs.
///
/// JWKS faults apply to every JWKS request until changed with
/// [`TestIssuer::set_fault`]; the delay set with [`TestIssuer::set_delay`]
/// is waited before the fault is applied. Metadata faults are set apart, with
/// [`TestIssuer::set_discovery_fault`] (both metadata URLs) or
/// [`TestIssuer::set_discovery_fault_at`] (one of them), and waited for with
/// [`TestIssuer::set_discovery_delay`]. Where a fault below says "the normal
/// body", it is the JWKS or the metadata document.
///
/// ```
/// use verifier_testkit::{Fault, TestIssuer};
///
/// let issuer = TestIssuer::start();
/// issuer.set_fault(Some(Fault::Status(503)));
/// // ... the verifier now sees 503 from the JWKS URL ...
/// issuer.set_fault(None);
/// ```
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum Fault {
    /// Respond with this status code and a small `text/plain` body
    /// (no body for 1xx, 204 and 304).
    Status(u16),
    /// Respond 200 with `Content-Type: application/json`, a
    /// `Content-Length`, and exactly this body (it need not be JSON).
    Body(Vec<u8>),
    /// Respond 200 with `Content-Type: application/json` and this body,
    /// without `Content-Length`: the body ends when the connection closes.
    BodyWithoutLength(Vec<u8>),
    /// Respond 200 with a `Content-Length` header declaring this size,
    /// followed by the normal body (whatever its real size), then close.
    DeclaredLength(u64),
    /// Accept the connection, read the request, and close it without
    /// sending any response.
    DropConnection,
}

/// A real OpenID issuer serving a JWKS and a discovery document over HTTP on
/// `127.0.0.1`, with key rotation and fault injection.
///
/// It listens on an ephemeral port and serves each connection on its own
/// std thread (no async runtime needed, so it works from sync and async
/// tests alike). Every response is built from the current state, so
/// rotations and faults take effect for the next request. Dropping the
/// issuer stops the server and closes the listener promptly.
///
/// Routes (GET only; other methods get 405, other paths 404), shown for the
/// issuer path `/` of [`start`](TestIssuer::start) (see
/// [`builder`](TestIssuer::builder) for others):
///
/// * `/jwks.json` ([`jwks_url`](TestIssuer::jwks_url), movable with
///   [`set_jwks_path`](TestIssuer::set_jwks_path)): `{"keys": [...]}` from
///   [`TestKey::public_jwk`] of every published key (no `alg` members), or the
///   document given to [`set_jwks`](TestIssuer::set_jwks); subject to faults
///   and delay.
/// * `/.well-known/openid-configuration` and
///   `/.well-known/oauth-authorization-server`, as the [`Layout`] says:
///   `{"issuer", "jwks_uri"}`, or the document given to
///   [`set_discovery`](TestIssuer::set_discovery); subject to discovery faults
///   and delay.
///
/// ```
/// use verifier_testkit::{Alg, TestIssuer, DEFAULT_AUDIENCE};
///
/// let issuer = TestIssuer::start();
/// assert!(issuer.jwks_url().starts_with("http://127.0.0.1:"));
/// assert_eq!(issuer.default_key().kid(), "test-rs256");
///
/// let token = issuer.token().build();
/// # let _ = (token, DEFAULT_AUDIENCE);
///
/// // Rotate: the old key disappears from the JWKS at once.
/// let new_key = issuer.rotate(Alg::ES256, "next");
/// assert_eq!(issuer.keys().len(), 1);
/// assert_eq!(issuer.keys()[0].kid(), new_key.kid());
/// ```
pub struct TestIssuer {
    addr: SocketAddr,
    shared: Arc<Shared>,
    default_key: TestKey,
    accept_thread: Option<JoinHandle<()>>,
}

struct Shared {
    /// `http://127.0.0.1:PORT`.
    base: String,
    issuer: String,
    layout: Layout,
    /// Request path of the OIDC metadata URL.
    oidc_path: String,
    /// Request path of the RFC 8414 metadata URL.
    rfc8414_path: String,
    state: Mutex<State>,
    jwks_fetches: AtomicUsize,
    discovery_fetches: AtomicUsize,
    /// Set (and notified) when the issuer is dropped.
    stopped: Mutex<bool>,
    stop_signal: Condvar,
}

#[derive(Default)]
struct State {
    keys: Vec<TestKey>,
    jwks_path: String,
    jwks_override: Option<Value>,
    discovery_override: Option<Value>,
    fault: Option<Fault>,
    delay: Duration,
    jwks_headers: Vec<(String, String)>,
    /// Applies to both metadata URLs unless one has its own fault.
    discovery_fault: Option<Fault>,
    /// Per metadata path; takes precedence over `discovery_fault`.
    discovery_faults_at: HashMap<String, Fault>,
    discovery_delay: Duration,
    /// GET requests received, by path (query stripped).
    gets_by_path: HashMap<String, usize>,
}

fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    // A panicking test thread must not wedge the server for other tests.
    mutex.lock().unwrap_or_else(PoisonError::into_inner)
}

impl Shared {
    fn state(&self) -> MutexGuard<'_, State> {
        lock(&self.state)
    }

    fn is_stopped(&self) -> bool {
        *lock(&self.stopped)
    }

    /// Sleeps for `delay` or until the issuer is dropped; true if dropped.
    fn sleep_unless_stopped(&self, delay: Duration) -> bool {
        let deadline = Instant::now() + delay;
        let mut stopped = lock(&self.stopped);
        loop {
            if *stopped {
                return true;
            }
            let now = Instant::now();
            if now >= deadline {
                return false;
            }
            stopped = self
                .stop_signal
                .wait_timeout(stopped, deadline - now)
                .unwrap_or_else(PoisonError::into_inner)
                .0;
        }
    }

    fn jwks_document(&self) -> Value {
        let state = self.state();
        match &state.jwks_override {
            Some(doc) => doc.clone(),
            None => jwks_of(&state.keys),
        }
    }

    fn jwks_url(&self) -> String {
        format!("{}{}", self.base, self.state().jwks_path)
    }

    fn route(&self, path: &str) -> Route {
        if path == self.state().jwks_path {
            Route::Jwks
        } else if path == self.oidc_path {
            Route::Metadata {
                served: self.layout.serves_oidc(),
            }
        } else if path == self.rfc8414_path {
            Route::Metadata {
                served: self.layout.serves_rfc8414(),
            }
        } else {
            Route::NotFound
        }
    }

    fn discovery_document(&self) -> Value {
        let state = self.state();
        match &state.discovery_override {
            Some(doc) => doc.clone(),
            None => json!({
                "issuer": self.issuer,
                "jwks_uri": format!("{}{}", self.base, state.jwks_path),
            }),
        }
    }
}

fn jwks_of(keys: &[TestKey]) -> Value {
    json!({ "keys": keys.iter().map(TestKey::public_jwk).collect::<Vec<_>>() })
}

impl TestIssuer {
    /// Starts an issuer publishing one fresh RSA-2048 key for RS256 with kid
    /// `"test-rs256"`.
    ///
    /// ```
    /// use verifier_testkit::{Alg, TestIssuer};
    ///
    /// let issuer = TestIssuer::start();
    /// assert_eq!(issuer.keys().len(), 1);
    /// assert_eq!(issuer.default_key().alg(), Alg::RS256);
    /// ```
    ///
    /// # Panics
    ///
    /// If no port can be bound on 127.0.0.1.
    pub fn start() -> TestIssuer {
        TestIssuer::start_with_keys(&[TestKey::generate(Alg::RS256, DEFAULT_KID)])
    }

    /// Starts an issuer publishing exactly `keys`, in this order. The first
    /// one is the [`default_key`](TestIssuer::default_key); with no keys the
    /// JWKS is empty and the default key is a fresh, unpublished RS256 key
    /// with kid `"test-rs256"`.
    ///
    /// ```
    /// use verifier_testkit::{Alg, TestIssuer, TestKey};
    ///
    /// let ec = TestKey::generate(Alg::ES256, "ec");
    /// let ed = TestKey::generate(Alg::EdDSA, "ed");
    /// let issuer = TestIssuer::start_with_keys(&[ec, ed]);
    /// assert_eq!(issuer.default_key().kid(), "ec");
    /// assert_eq!(issuer.jwks()["keys"].as_array().unwrap().len(), 2);
    /// ```
    ///
    /// # Panics
    ///
    /// If no port can be bound on 127.0.0.1.
    pub fn start_with_keys(keys: &[TestKey]) -> TestIssuer {
        TestIssuer::builder().keys(keys).start()
    }

    /// A [`TestIssuerBuilder`] for an issuer with another path, keys or
    /// metadata [`Layout`]; with nothing set, `builder().start()` is
    /// [`start`](TestIssuer::start).
    ///
    /// ```
    /// use verifier_testkit::{Layout, TestIssuer};
    ///
    /// let issuer = TestIssuer::builder().path("/realms/acme").discovery(Layout::Both).start();
    /// assert!(issuer.issuer().ends_with("/realms/acme"));
    /// ```
    pub fn builder() -> TestIssuerBuilder {
        TestIssuerBuilder::new()
    }

    fn spawn(path: &str, keys: &[TestKey], layout: Layout) -> TestIssuer {
        let listener = TcpListener::bind(("127.0.0.1", 0))
            .expect("TestIssuer: cannot bind a port on 127.0.0.1");
        let addr = listener.local_addr().expect("TestIssuer: local address");
        let default_key = keys
            .first()
            .cloned()
            .unwrap_or_else(|| TestKey::generate(Alg::RS256, DEFAULT_KID));
        let base = format!("http://{addr}");
        let trimmed = trim_one_slash(path);
        let shared = Arc::new(Shared {
            issuer: format!("{base}{path}"),
            base,
            layout,
            oidc_path: format!("{trimmed}/.well-known/openid-configuration"),
            rfc8414_path: format!("/.well-known/oauth-authorization-server{trimmed}"),
            state: Mutex::new(State {
                keys: keys.to_vec(),
                jwks_path: format!("{trimmed}/jwks.json"),
                ..State::default()
            }),
            jwks_fetches: AtomicUsize::new(0),
            discovery_fetches: AtomicUsize::new(0),
            stopped: Mutex::new(false),
            stop_signal: Condvar::new(),
        });
        let accept_shared = Arc::clone(&shared);
        let accept_thread = thread::Builder::new()
            .name(format!("testkit-issuer-{}", addr.port()))
            .spawn(move || accept_loop(listener, accept_shared))
            .expect("TestIssuer: cannot spawn the server thread");
        TestIssuer {
            addr,
            shared,
            default_key,
            accept_thread: Some(accept_thread),
        }
    }

    /// The listening address (`127.0.0.1:PORT`).
    ///
    /// ```
    /// let issuer = verifier_testkit::TestIssuer::start();
    /// assert!(issuer.addr().ip().is_loopback());
    /// ```
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// `http://127.0.0.1:PORT`, without a trailing slash.
    ///
    /// ```
    /// let issuer = verifier_testkit::TestIssuer::start();
    /// assert_eq!(issuer.base_url(), format!("http://127.0.0.1:{}", issuer.addr().port()));
    /// ```
    pub fn base_url(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// The issuer identifier, `http://127.0.0.1:PORT/` for
    /// [`start`](TestIssuer::start), `http://127.0.0.1:PORT` + the path given to
    /// [`TestIssuerBuilder::path`] otherwise (the `iss` claim of
    /// [`token`](TestIssuer::token) and the discovery `issuer`).
    ///
    /// ```
    /// let issuer = verifier_testkit::TestIssuer::start();
    /// assert_eq!(issuer.issuer(), format!("{}/", issuer.base_url()));
    /// ```
    pub fn issuer(&self) -> String {
        self.shared.issuer.clone()
    }

    /// The current JWKS URL: `http://127.0.0.1:PORT/jwks.json` for
    /// [`start`](TestIssuer::start), `P + "/jwks.json"` under the issuer path
    /// `P` (see [`Layout`]), or the path last given to
    /// [`set_jwks_path`](TestIssuer::set_jwks_path).
    ///
    /// ```
    /// let issuer = verifier_testkit::TestIssuer::start();
    /// assert!(issuer.jwks_url().ends_with("/jwks.json"));
    /// ```
    pub fn jwks_url(&self) -> String {
        self.shared.jwks_url()
    }

    /// Moves the key set to this path on the same server: the JWKS is served
    /// there (and only there: the previous path answers 404), and
    /// [`jwks_url`](TestIssuer::jwks_url) and the default metadata document's
    /// `jwks_uri` follow at once. With [`set_discovery`](TestIssuer::set_discovery)
    /// overriding the document, the override is served as given.
    ///
    /// ```
    /// let issuer = verifier_testkit::TestIssuer::start();
    /// issuer.set_jwks_path("/keys/v2");
    /// assert_eq!(issuer.jwks_url(), format!("{}/keys/v2", issuer.base_url()));
    /// ```
    ///
    /// # Panics
    ///
    /// As [`TestIssuerBuilder::path`], for the same malformed paths.
    pub fn set_jwks_path(&self, path: &str) {
        check_path("TestIssuer::set_jwks_path", path);
        self.shared.state().jwks_path = path.to_owned();
    }

    /// The OIDC metadata URL, `issuer` (less one terminating `/`) +
    /// `/.well-known/openid-configuration`, whether or not the [`Layout`]
    /// serves it; by default it serves
    /// `{"issuer": issuer(), "jwks_uri": jwks_url()}`.
    ///
    /// ```
    /// let issuer = verifier_testkit::TestIssuer::start();
    /// assert!(issuer.discovery_url().ends_with("/.well-known/openid-configuration"));
    /// ```
    pub fn discovery_url(&self) -> String {
        format!("{}{}", self.shared.base, self.shared.oidc_path)
    }

    /// The RFC 8414 §3.1 metadata URL,
    /// `http://127.0.0.1:PORT/.well-known/oauth-authorization-server` + the
    /// issuer path less one terminating `/`, whether or not the [`Layout`]
    /// serves it.
    ///
    /// ```
    /// let issuer = verifier_testkit::TestIssuer::builder().path("/tenant/").start();
    /// assert_eq!(
    ///     issuer.oauth_metadata_url(),
    ///     format!("{}/.well-known/oauth-authorization-server/tenant", issuer.base_url())
    /// );
    /// ```
    pub fn oauth_metadata_url(&self) -> String {
        format!("{}{}", self.shared.base, self.shared.rfc8414_path)
    }

    /// The [`Layout`] the issuer was started with.
    ///
    /// ```
    /// use verifier_testkit::{Layout, TestIssuer};
    /// assert_eq!(TestIssuer::start().layout(), Layout::Oidc);
    /// ```
    pub fn layout(&self) -> Layout {
        self.shared.layout
    }

    /// The first key given at start (still returned after it is removed or
    /// rotated away).
    ///
    /// ```
    /// let issuer = verifier_testkit::TestIssuer::start();
    /// assert_eq!(issuer.default_key().kid(), "test-rs256");
    /// ```
    pub fn default_key(&self) -> TestKey {
        self.default_key.clone()
    }

    /// The keys currently published, in JWKS order.
    ///
    /// ```
    /// let issuer = verifier_testkit::TestIssuer::start();
    /// assert_eq!(issuer.keys()[0].kid(), "test-rs256");
    /// ```
    pub fn keys(&self) -> Vec<TestKey> {
        self.shared.state().keys.clone()
    }

    /// Publishes `key` after the current ones.
    ///
    /// ```
    /// use verifier_testkit::{Alg, TestIssuer, TestKey};
    ///
    /// let issuer = TestIssuer::start();
    /// issuer.add_key(&TestKey::generate(Alg::ES256, "second"));
    /// assert_eq!(issuer.keys().len(), 2);
    /// ```
    pub fn add_key(&self, key: &TestKey) {
        self.shared.state().keys.push(key.clone());
    }

    /// Unpublishes every key with this kid.
    ///
    /// ```
    /// let issuer = verifier_testkit::TestIssuer::start();
    /// issuer.remove_key("test-rs256");
    /// assert!(issuer.keys().is_empty());
    /// ```
    pub fn remove_key(&self, kid: &str) {
        self.shared.state().keys.retain(|key| key.kid() != kid);
    }

    /// Publishes exactly `keys` (possibly none).
    ///
    /// ```
    /// use verifier_testkit::{Alg, TestIssuer, TestKey};
    ///
    /// let issuer = TestIssuer::start();
    /// issuer.set_keys(&[]);
    /// assert_eq!(issuer.jwks(), serde_json::json!({"keys": []}));
    /// ```
    pub fn set_keys(&self, keys: &[TestKey]) {
        self.shared.state().keys = keys.to_vec();
    }

    /// Generates a key for `alg`, publishes it in place of all current keys
    /// and returns it.
    ///
    /// ```
    /// use verifier_testkit::{Alg, TestIssuer};
    ///
    /// let issuer = TestIssuer::start();
    /// let key = issuer.rotate(Alg::RS256, "k2");
    /// let token = issuer.token_for(&key).build();
    /// # let _ = token;
    /// ```
    pub fn rotate(&self, alg: Alg, kid: impl Into<String>) -> TestKey {
        let key = TestKey::generate(alg, kid);
        self.set_keys(std::slice::from_ref(&key));
        key
    }

    /// Serves this exact document on `/jwks.json` instead of the generated
    /// key set (e.g. with Ed448, unknown `kty` or `use: enc` entries, or a
    /// non-object); `None` restores the generated set.
    ///
    /// ```
    /// use serde_json::json;
    /// use verifier_testkit::TestIssuer;
    ///
    /// let issuer = TestIssuer::start();
    /// let mut doc = issuer.jwks();
    /// doc["keys"].as_array_mut().unwrap().push(json!({"kty": "OKP", "crv": "Ed448", "x": "AA"}));
    /// issuer.set_jwks(Some(doc));
    /// issuer.set_jwks(None);
    /// ```
    pub fn set_jwks(&self, doc: Option<Value>) {
        self.shared.state().jwks_override = doc;
    }

    /// The document `/jwks.json` serves right now (ignoring faults): the
    /// [`set_jwks`](TestIssuer::set_jwks) override if any, otherwise
    /// `{"keys": [public_jwk of each published key]}`.
    ///
    /// ```
    /// let issuer = verifier_testkit::TestIssuer::start();
    /// assert_eq!(issuer.jwks()["keys"][0]["kid"], "test-rs256");
    /// ```
    pub fn jwks(&self) -> Value {
        self.shared.jwks_document()
    }

    /// Serves this exact document at every metadata URL the [`Layout`] serves
    /// (e.g. with a mismatched `issuer`); `None` restores the default.
    ///
    /// ```
    /// use serde_json::json;
    /// use verifier_testkit::TestIssuer;
    ///
    /// let issuer = TestIssuer::start();
    /// issuer.set_discovery(Some(json!({"issuer": "https://evil.example/", "jwks_uri": issuer.jwks_url()})));
    /// ```
    pub fn set_discovery(&self, doc: Option<Value>) {
        self.shared.state().discovery_override = doc;
    }

    /// The document the metadata URLs serve right now (ignoring faults and the
    /// layout): the [`set_discovery`](TestIssuer::set_discovery) override if any,
    /// otherwise `{"issuer": issuer(), "jwks_uri": jwks_url()}`.
    ///
    /// ```
    /// let issuer = verifier_testkit::TestIssuer::start();
    /// assert_eq!(issuer.discovery()["jwks_uri"], issuer.jwks_url());
    /// ```
    pub fn discovery(&self) -> Value {
        self.shared.discovery_document()
    }

    /// Injects `fault` into every following response of both metadata URLs
    /// (OIDC and RFC 8414), including one the [`Layout`] does not serve (which
    /// then answers with the fault instead of 404); `None` restores normal
    /// responses. A fault set for one URL with
    /// [`set_discovery_fault_at`](TestIssuer::set_discovery_fault_at) takes
    /// precedence. JWKS faults ([`set_fault`](TestIssuer::set_fault)) are separate.
    ///
    /// ```
    /// use verifier_testkit::{Fault, TestIssuer};
    ///
    /// let issuer = TestIssuer::start();
    /// issuer.set_discovery_fault(Some(Fault::Status(503)));
    /// ```
    pub fn set_discovery_fault(&self, fault: Option<Fault>) {
        self.shared.state().discovery_fault = fault;
    }

    /// Injects `fault` into the metadata URL with this path only (e.g. a 403 at
    /// the OIDC URL while the RFC 8414 URL serves the document); `None` removes
    /// that URL's own fault. `path` is a request path as for
    /// [`discovery_fetch_count_at`](TestIssuer::discovery_fetch_count_at), or a
    /// full URL of this issuer.
    ///
    /// ```
    /// use verifier_testkit::{Fault, Layout, TestIssuer};
    ///
    /// let issuer = TestIssuer::builder().path("/realms/acme").discovery(Layout::Both).start();
    /// issuer.set_discovery_fault_at(&issuer.discovery_url(), Some(Fault::Status(403)));
    /// ```
    ///
    /// # Panics
    ///
    /// If `path` is not one of the two metadata URLs.
    pub fn set_discovery_fault_at(&self, path: &str, fault: Option<Fault>) {
        let path = self.request_path(path);
        assert!(
            path == self.shared.oidc_path || path == self.shared.rfc8414_path,
            "TestIssuer::set_discovery_fault_at: {path:?} is not a metadata path of this issuer"
        );
        let mut state = self.shared.state();
        match fault {
            Some(fault) => state.discovery_faults_at.insert(path.to_owned(), fault),
            None => state.discovery_faults_at.remove(path),
        };
    }

    /// Makes every following metadata response (both URLs, faulted or not)
    /// wait this long before anything is sent, as [`set_delay`](TestIssuer::set_delay)
    /// does for the JWKS. Zero by default.
    ///
    /// ```
    /// use std::time::Duration;
    ///
    /// let issuer = verifier_testkit::TestIssuer::start();
    /// issuer.set_discovery_delay(Duration::from_secs(30));
    /// ```
    pub fn set_discovery_delay(&self, delay: Duration) {
        self.shared.state().discovery_delay = delay;
    }

    /// `path` relative to this server: a full URL starting with
    /// [`base_url`](TestIssuer::base_url) loses that prefix.
    fn request_path<'a>(&self, path: &'a str) -> &'a str {
        match path.strip_prefix(self.shared.base.as_str()) {
            Some(rest) if rest.starts_with('/') => rest,
            _ => path,
        }
    }

    /// Injects `fault` into every following JWKS response; `None` restores
    /// normal responses.
    ///
    /// ```
    /// use verifier_testkit::{Fault, TestIssuer};
    ///
    /// let issuer = TestIssuer::start();
    /// issuer.set_fault(Some(Fault::DropConnection));
    /// ```
    pub fn set_fault(&self, fault: Option<Fault>) {
        self.shared.state().fault = fault;
    }

    /// Adds these header lines to every following JWKS response (faulted or
    /// not), e.g. `Cache-Control: max-age=60` to exercise cache-lifetime
    /// handling; replaces headers set by a previous call (an empty slice
    /// removes them). No `Cache-Control` is sent by default. Names and values
    /// are written as given, so they must not contain CR or LF.
    ///
    /// ```
    /// let issuer = verifier_testkit::TestIssuer::start();
    /// issuer.set_jwks_headers(&[("Cache-Control", "max-age=60"), ("ETag", "\"v1\"")]);
    /// ```
    ///
    /// # Panics
    ///
    /// If a name or value contains CR or LF.
    pub fn set_jwks_headers(&self, headers: &[(&str, &str)]) {
        let headers = headers
            .iter()
            .map(|&(name, value)| {
                assert!(
                    !name.contains(['\r', '\n']) && !value.contains(['\r', '\n']),
                    "TestIssuer::set_jwks_headers: CR/LF in header {name:?}"
                );
                (name.to_owned(), value.to_owned())
            })
            .collect();
        self.shared.state().jwks_headers = headers;
    }

    /// Makes every following JWKS response (faulted or not) wait this long
    /// before anything is sent. Zero by default. Each connection has its own
    /// thread, so a delay never holds up other requests, and dropping the
    /// issuer cuts pending delays short (those connections are closed
    /// without a response).
    ///
    /// ```
    /// use std::time::Duration;
    ///
    /// let issuer = verifier_testkit::TestIssuer::start();
    /// issuer.set_delay(Duration::from_millis(200));
    /// ```
    pub fn set_delay(&self, delay: Duration) {
        self.shared.state().delay = delay;
    }

    /// Number of GET requests received on `/jwks.json`, faulted ones
    /// included (counted as soon as the request head is read, before any
    /// delay).
    ///
    /// ```
    /// let issuer = verifier_testkit::TestIssuer::start();
    /// assert_eq!(issuer.fetch_count(), 0);
    /// ```
    pub fn fetch_count(&self) -> usize {
        self.shared.jwks_fetches.load(Ordering::SeqCst)
    }

    /// Sets [`fetch_count`](TestIssuer::fetch_count) back to zero.
    ///
    /// ```
    /// let issuer = verifier_testkit::TestIssuer::start();
    /// issuer.reset_fetch_count();
    /// assert_eq!(issuer.fetch_count(), 0);
    /// ```
    pub fn reset_fetch_count(&self) {
        self.shared.jwks_fetches.store(0, Ordering::SeqCst);
    }

    /// Number of GET requests received at either metadata URL (OIDC and
    /// RFC 8414), whether or not the [`Layout`] serves it, faulted ones included
    /// (counted before any delay).
    ///
    /// ```
    /// let issuer = verifier_testkit::TestIssuer::start();
    /// assert_eq!(issuer.discovery_fetch_count(), 0);
    /// ```
    pub fn discovery_fetch_count(&self) -> usize {
        self.shared.discovery_fetches.load(Ordering::SeqCst)
    }

    /// Number of GET requests received at this exact request path (query
    /// ignored), counted like [`discovery_fetch_count`](TestIssuer::discovery_fetch_count).
    /// `path` is the full path on the server, issuer path included (e.g.
    /// `"/realms/acme/.well-known/openid-configuration"` or
    /// `"/.well-known/oauth-authorization-server/realms/acme"`), or a full URL
    /// of this issuer such as [`discovery_url`](TestIssuer::discovery_url) or
    /// [`oauth_metadata_url`](TestIssuer::oauth_metadata_url). Every path is
    /// counted, so this also shows that some other URL was never requested.
    ///
    /// ```
    /// use verifier_testkit::{Layout, TestIssuer};
    ///
    /// let issuer = TestIssuer::builder().path("/realms/acme").discovery(Layout::Rfc8414).start();
    /// assert_eq!(issuer.discovery_fetch_count_at(&issuer.discovery_url()), 0);
    /// assert_eq!(issuer.discovery_fetch_count_at("/.well-known/oauth-authorization-server/realms/acme"), 0);
    /// ```
    pub fn discovery_fetch_count_at(&self, path: &str) -> usize {
        let path = self.request_path(path);
        let path = path.split(['?', '#']).next().unwrap_or(path);
        self.shared
            .state()
            .gets_by_path
            .get(path)
            .copied()
            .unwrap_or(0)
    }

    /// A [`TokenBuilder`] for [`default_key`](TestIssuer::default_key) with
    /// claims `iss` = [`issuer`](TestIssuer::issuer), `aud` =
    /// [`DEFAULT_AUDIENCE`], `sub` = `"user-123"`, `iat` = `nbf` = [`now`],
    /// `exp` = now + 300 (integer seconds).
    ///
    /// ```
    /// use serde_json::json;
    /// use verifier_testkit::TestIssuer;
    ///
    /// let issuer = TestIssuer::start();
    /// let expired = issuer
    ///     .token()
    ///     .claim("exp", json!(verifier_testkit::now() - 3600))
    ///     .build();
    /// # let _ = expired;
    /// ```
    pub fn token(&self) -> TokenBuilder {
        self.token_for(&self.default_key)
    }

    /// The same default claims as [`token`](TestIssuer::token), for `key`
    /// (header `alg` = `key.alg()`, `kid` = `key.kid()`). The key need not
    /// be published.
    ///
    /// ```
    /// use verifier_testkit::{Alg, TestIssuer, TestKey};
    ///
    /// let issuer = TestIssuer::start();
    /// let ed = TestKey::generate(Alg::EdDSA, "ed");
    /// issuer.add_key(&ed);
    /// let token = issuer.token_for(&ed).build();
    /// # let _ = token;
    /// ```
    pub fn token_for(&self, key: &TestKey) -> TokenBuilder {
        let now = now();
        TokenBuilder::new(key)
            .claim("iss", Value::from(self.issuer()))
            .claim("aud", Value::from(DEFAULT_AUDIENCE))
            .claim("sub", Value::from("user-123"))
            .claim("iat", Value::from(now))
            .claim("nbf", Value::from(now))
            .claim("exp", Value::from(now + 300))
    }
}

impl std::fmt::Debug for TestIssuer {
    /// Shows the address and the published kids.
    ///
    /// ```
    /// let issuer = verifier_testkit::TestIssuer::start();
    /// assert!(format!("{issuer:?}").contains("test-rs256"));
    /// ```
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let kids: Vec<String> = self.keys().iter().map(|k| k.kid().to_owned()).collect();
        f.debug_struct("TestIssuer")
            .field("addr", &self.addr)
            .field("kids", &kids)
            .finish()
    }
}

impl Drop for TestIssuer {
    /// Signals shutdown, wakes the accept loop, and waits for it (briefly) so
    /// the listener is closed when `drop` returns. Connection threads hold
    /// only shared state; any still waiting out a delay stop at once.
    fn drop(&mut self) {
        *lock(&self.shared.stopped) = true;
        self.shared.stop_signal.notify_all();
        // Wake the blocking accept() with a connection of our own.
        let woke = TcpStream::connect_timeout(&self.addr, Duration::from_secs(1)).is_ok();
        if let Some(handle) = self.accept_thread.take() {
            if woke {
                let _ = handle.join();
            }
            // Otherwise leave it detached rather than risk hanging the test.
        }
    }
}

fn accept_loop(listener: TcpListener, shared: Arc<Shared>) {
    for stream in listener.incoming() {
        if shared.is_stopped() {
            break;
        }
        match stream {
            Ok(stream) => {
                let conn_shared = Arc::clone(&shared);
                let spawned = thread::Builder::new()
                    .name("testkit-issuer-conn".to_owned())
                    .spawn(move || handle_connection(stream, &conn_shared));
                if spawned.is_err() {
                    // Out of threads: the stream was dropped (closed); keep serving.
                    thread::sleep(Duration::from_millis(10));
                }
            }
            // E.g. EMFILE or a connection reset before accept: do not spin.
            Err(_) => thread::sleep(Duration::from_millis(10)),
        }
    }
}

enum Head {
    Request { method: String, path: String },
    TooLarge,
    Malformed,
}

/// Reads the request head (up to the blank line), bounded in size and time.
/// `None` if the client went away or timed out.
fn read_head(stream: &mut TcpStream) -> Option<Head> {
    let mut buf = Vec::with_capacity(1024);
    let mut chunk = [0u8; 2048];
    loop {
        if let Some(end) = find_head_end(&buf) {
            buf.truncate(end);
            break;
        }
        if buf.len() > MAX_REQUEST_HEAD {
            return Some(Head::TooLarge);
        }
        match stream.read(&mut chunk) {
            Ok(0) | Err(_) => return None,
            Ok(n) => buf.extend_from_slice(&chunk[..n]),
        }
    }
    let text = match std::str::from_utf8(&buf) {
        Ok(text) => text,
        Err(_) => return Some(Head::Malformed),
    };
    let request_line = text.lines().next().unwrap_or("");
    let mut parts = request_line.split_ascii_whitespace();
    let (Some(method), Some(target), Some(version)) = (parts.next(), parts.next(), parts.next())
    else {
        return Some(Head::Malformed);
    };
    if !version.starts_with("HTTP/1.") {
        return Some(Head::Malformed);
    }
    // Accept absolute-form targets too (http://host:port/path).
    let path = match target.strip_prefix("http://") {
        Some(rest) => rest.find('/').map_or("/", |i| &rest[i..]),
        None => target,
    };
    let path = path.split(['?', '#']).next().unwrap_or("/");
    Some(Head::Request {
        method: method.to_owned(),
        path: path.to_owned(),
    })
}

fn find_head_end(buf: &[u8]) -> Option<usize> {
    if let Some(i) = buf.windows(4).position(|w| w == b"\r\n\r\n") {
        return Some(i + 4);
    }
    buf.windows(2).position(|w| w == b"\n\n").map(|i| i + 2)
}

fn handle_connection(mut stream: TcpStream, shared: &Shared) {
    if shared.is_stopped() {
        return;
    }
    let _ = stream.set_read_timeout(Some(READ_TIMEOUT));
    let _ = stream.set_write_timeout(Some(WRITE_TIMEOUT));
    let _ = stream.set_nodelay(true);
    let Some(head) = read_head(&mut stream) else {
        return;
    };
    let (method, path) = match head {
        Head::Request { method, path } => (method, path),
        Head::TooLarge => {
            let _ = respond(
                &mut stream,
                431,
                "text/plain",
                Length::Exact,
                b"request head too large\n",
            );
            return finish(stream);
        }
        Head::Malformed => {
            let _ = respond(
                &mut stream,
                400,
                "text/plain",
                Length::Exact,
                b"bad request\n",
            );
            return finish(stream);
        }
    };
    let route = shared.route(&path);
    if route != Route::NotFound && method != "GET" {
        let _ = respond(
            &mut stream,
            405,
            "text/plain",
            Length::Exact,
            b"method not allowed\n",
        );
        return finish(stream);
    }
    if method == "GET" {
        *shared.state().gets_by_path.entry(path.clone()).or_insert(0) += 1;
    }
    match route {
        Route::Jwks => serve_jwks(stream, shared),
        Route::Metadata { served } => serve_metadata(stream, shared, &path, served),
        Route::NotFound => {
            let _ = respond(
                &mut stream,
                404,
                "text/plain",
                Length::Exact,
                b"not found\n",
            );
            finish(stream);
        }
    }
}

#[derive(PartialEq, Eq)]
enum Route {
    Jwks,
    /// One of the two metadata URLs; `served` if the layout serves it.
    Metadata {
        served: bool,
    },
    NotFound,
}

fn serve_jwks(stream: TcpStream, shared: &Shared) {
    shared.jwks_fetches.fetch_add(1, Ordering::SeqCst);
    let (fault, delay, extra) = {
        let state = shared.state();
        (state.fault.clone(), state.delay, state.jwks_headers.clone())
    };
    let body = || serde_json::to_vec(&shared.jwks_document()).expect("JSON serialization");
    serve(stream, shared, fault, delay, &extra, true, &body);
}

fn serve_metadata(stream: TcpStream, shared: &Shared, path: &str, served: bool) {
    shared.discovery_fetches.fetch_add(1, Ordering::SeqCst);
    let (fault, delay) = {
        let state = shared.state();
        let fault = state
            .discovery_faults_at
            .get(path)
            .or(state.discovery_fault.as_ref())
            .cloned();
        (fault, state.discovery_delay)
    };
    let body = || serde_json::to_vec(&shared.discovery_document()).expect("JSON serialization");
    serve(stream, shared, fault, delay, &[], served, &body);
}

/// Waits `delay`, then answers with `fault` if any, else 200 with the JSON
/// `body` if `served`, else 404. The body is built after the delay, from the
/// state at that moment (a declared-length fault sends it even if not `served`).
fn serve(
    mut stream: TcpStream,
    shared: &Shared,
    fault: Option<Fault>,
    delay: Duration,
    extra: &[(String, String)],
    served: bool,
    body: &dyn Fn() -> Vec<u8>,
) {
    if !delay.is_zero() && shared.sleep_unless_stopped(delay) {
        return; // Issuer dropped: close without a response.
    }
    let json = "application/json";
    let (status, content_type, length, body) = match fault {
        None if served => (200, json, Length::Exact, body()),
        None => (404, "text/plain", Length::Exact, b"not found\n".to_vec()),
        Some(Fault::Status(status)) => (
            status,
            "text/plain",
            Length::Exact,
            format!("injected fault: status {status}\n").into_bytes(),
        ),
        Some(Fault::Body(body)) => (200, json, Length::Exact, body),
        Some(Fault::BodyWithoutLength(body)) => (200, json, Length::CloseDelimited, body),
        Some(Fault::DeclaredLength(declared)) => (200, json, Length::Declared(declared), body()),
        Some(Fault::DropConnection) => {
            let _ = stream.shutdown(Shutdown::Both);
            return;
        }
    };
    let _ = respond_with(&mut stream, status, content_type, length, &body, extra);
    finish(stream);
}

enum Length {
    /// `Content-Length` = the body's real length.
    Exact,
    /// `Content-Length` = this value, whatever the body.
    Declared(u64),
    /// No `Content-Length`; the body ends at close.
    CloseDelimited,
}

fn respond(
    stream: &mut TcpStream,
    status: u16,
    content_type: &str,
    length: Length,
    body: &[u8],
) -> std::io::Result<()> {
    respond_with(stream, status, content_type, length, body, &[])
}

fn respond_with(
    stream: &mut TcpStream,
    status: u16,
    content_type: &str,
    length: Length,
    body: &[u8],
    extra_headers: &[(String, String)],
) -> std::io::Result<()> {
    let bodyless = (100..200).contains(&status) || status == 204 || status == 304;
    let mut head = format!(
        "HTTP/1.1 {status} {}\r\nConnection: close\r\n",
        reason(status)
    );
    for (name, value) in extra_headers {
        head.push_str(&format!("{name}: {value}\r\n"));
    }
    if !bodyless {
        head.push_str(&format!("Content-Type: {content_type}\r\n"));
    }
    match length {
        Length::Exact if bodyless => {}
        Length::Exact => head.push_str(&format!("Content-Length: {}\r\n", body.len())),
        Length::Declared(n) => head.push_str(&format!("Content-Length: {n}\r\n")),
        Length::CloseDelimited => {}
    }
    head.push_str("\r\n");
    let mut out = head.into_bytes();
    if !bodyless {
        out.extend_from_slice(body);
    }
    stream.write_all(&out)?;
    stream.flush()
}

/// Ends the response: half-closes, then drains what the client still sends
/// (briefly) so closing does not reset the connection under the response.
fn finish(mut stream: TcpStream) {
    let _ = stream.shutdown(Shutdown::Write);
    let _ = stream.set_read_timeout(Some(Duration::from_millis(500)));
    let mut sink = [0u8; 1024];
    let mut drained = 0usize;
    while drained < 64 * 1024 {
        match stream.read(&mut sink) {
            Ok(0) | Err(_) => break,
            Ok(n) => drained += n,
        }
    }
}

fn reason(status: u16) -> &'static str {
    match status {
        200 => "OK",
        204 => "No Content",
        301 => "Moved Permanently",
        302 => "Found",
        304 => "Not Modified",
        400 => "Bad Request",
        401 => "Unauthorized",
        403 => "Forbidden",
        404 => "Not Found",
        405 => "Method Not Allowed",
        408 => "Request Timeout",
        429 => "Too Many Requests",
        431 => "Request Header Fields Too Large",
        500 => "Internal Server Error",
        502 => "Bad Gateway",
        503 => "Service Unavailable",
        504 => "Gateway Timeout",
        _ => "Status",
    }
}
