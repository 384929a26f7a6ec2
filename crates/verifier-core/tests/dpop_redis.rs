//! The Redis replay store (feature `redis`) against a real `redis-server` started on
//! 127.0.0.1 by each test (a free port, a temporary directory, no persistence), stopped
//! when the test ends. Without `redis-server` on the PATH the tests say so on stderr
//! and skip.
#![cfg(feature = "redis")]

use std::io::Write as _;
use std::net::{TcpListener, TcpStream};
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::time::{Duration, Instant};

use http::{HeaderMap, HeaderValue, Method, Uri};
use serde_json::{Map, Value};
use verifier_core::dpop::{
    CheckedProof, DpopConfig, DpopMode, DpopVerifier, RedisReplayStore, ReplayKey, ReplayStore,
    Seen,
};
use verifier_core::{AuthError, ErrorCode};
use verifier_testkit::{Alg, DpopProof, TestKey, TokenBuilder};

/// A `redis-server` child process on 127.0.0.1, killed (and its directory removed) on
/// drop.
struct RedisServer {
    child: Option<Child>,
    port: u16,
    dir: PathBuf,
}

fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

impl RedisServer {
    /// Starts a server on a free port; `None` (with a line on stderr) when
    /// `redis-server` is not installed.
    fn start(test: &str) -> Option<RedisServer> {
        let probe = Command::new("redis-server")
            .arg("--version")
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status();
        if probe.is_err() {
            // Straight to the process's stderr (not `eprintln!`, which the test harness
            // captures and hides for passing tests): a skip is never silent.
            let _ = writeln!(
                std::io::stderr(),
                "redis-server not installed: skipping {test} (apt-get install redis-server)"
            );
            return None;
        }
        let dir = std::env::temp_dir().join(format!(
            "verifier-core-dpop-redis-{}-{test}-{}",
            std::process::id(),
            free_port()
        ));
        std::fs::create_dir_all(&dir).unwrap();
        let mut server = RedisServer {
            child: None,
            port: free_port(),
            dir,
        };
        server.spawn();
        Some(server)
    }

    fn url(&self) -> String {
        format!("redis://127.0.0.1:{}/0", self.port)
    }

    /// Starts (or restarts) the process on the same port and waits until it answers.
    fn spawn(&mut self) {
        let child = Command::new("redis-server")
            .args(["--bind", "127.0.0.1", "--port"])
            .arg(self.port.to_string())
            .args(["--save", "", "--appendonly", "no", "--dir"])
            .arg(&self.dir)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("redis-server starts");
        self.child = Some(child);
        let deadline = Instant::now() + Duration::from_secs(10);
        while TcpStream::connect(("127.0.0.1", self.port)).is_err() {
            assert!(Instant::now() < deadline, "redis-server did not start");
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    /// Kills the process and waits for it to be gone.
    fn stop(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}

impl Drop for RedisServer {
    fn drop(&mut self) {
        self.stop();
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

fn store(server: &RedisServer) -> Arc<RedisReplayStore> {
    Arc::new(
        RedisReplayStore::builder(server.url())
            .timeout(Duration::from_millis(500))
            .build()
            .unwrap(),
    )
}

/// A replica: a DPoP verifier on the shared Redis store.
fn replica(store: Arc<RedisReplayStore>) -> DpopVerifier {
    DpopVerifier::new(
        DpopConfig::builder()
            .mode(DpopMode::Allowed)
            .public_base_url("https://api.example.com")
            .build()
            .unwrap(),
    )
    .with_store(store)
}

fn bound_token(key: &TestKey) -> String {
    TokenBuilder::new(&TestKey::generate(Alg::ES256, "issuer"))
        .cnf_jkt(key)
        .build()
}

fn claims_of(token: &str) -> Map<String, Value> {
    let (_, payload) = verifier_core::decode_unverified(token).unwrap();
    payload.as_object().unwrap().clone()
}

async fn accept(v: &DpopVerifier, proof: &str, token: &str) -> Result<CheckedProof, AuthError> {
    let mut headers = HeaderMap::new();
    headers.insert("dpop", HeaderValue::from_str(proof).unwrap());
    let uri: Uri = "/me".parse().unwrap();
    let checked = v.check_proof(&Method::GET, &uri, &headers, token)?;
    v.check_binding(&checked, &claims_of(token))?;
    v.check_replay(&checked).await?;
    Ok(checked)
}

fn proof(key: &TestKey, token: &str) -> String {
    DpopProof::new(key)
        .htu("https://api.example.com/me")
        .ath_for(token)
        .build()
}

#[tokio::test]
async fn set_nx_with_ttl() {
    let Some(server) = RedisServer::start("set_nx_with_ttl") else {
        return;
    };
    let s = store(&server);
    let key = ReplayKey::new("jkt", "jti");
    let ttl = Duration::from_millis(300);
    assert_eq!(s.check_and_insert(key, ttl).await.unwrap(), Seen::First);
    assert_eq!(s.check_and_insert(key, ttl).await.unwrap(), Seen::Replayed);
    // Another key is independent; the entry expires on the server after its TTL.
    let other = ReplayKey::new("jkt", "jti-2");
    assert_eq!(s.check_and_insert(other, ttl).await.unwrap(), Seen::First);
    tokio::time::sleep(Duration::from_millis(450)).await;
    assert_eq!(s.check_and_insert(key, ttl).await.unwrap(), Seen::First);

    // The entry carries the replay window as its TTL (nothing stays forever), under the
    // default prefix.
    let window = ReplayKey::new("jkt", "window");
    let ttl = Duration::from_secs(65);
    assert_eq!(s.check_and_insert(window, ttl).await.unwrap(), Seen::First);
    let mut direct = redis::Client::open(server.url())
        .unwrap()
        .get_connection()
        .unwrap();
    let name = format!("oidc-jwt-verifier:dpop:{}", window.to_hex());
    let pttl: i64 = redis::cmd("PTTL").arg(&name).query(&mut direct).unwrap();
    assert!((60_000..=65_000).contains(&pttl), "{pttl}");
    let value: String = redis::cmd("GET").arg(&name).query(&mut direct).unwrap();
    assert_eq!(value, "1");

    // Another prefix is another namespace (two APIs sharing one Redis).
    let other_api = RedisReplayStore::builder(server.url())
        .key_prefix("other-api:")
        .build()
        .unwrap();
    assert_eq!(
        other_api.check_and_insert(window, ttl).await.unwrap(),
        Seen::First
    );
    assert_eq!(
        other_api.check_and_insert(window, ttl).await.unwrap(),
        Seen::Replayed
    );
}

/// Two replicas on one Redis: a proof used on one is a replay on the other, both ways.
#[tokio::test]
async fn a_proof_replayed_on_another_replica_is_refused() {
    let Some(server) = RedisServer::start("replicas") else {
        return;
    };
    let a = replica(store(&server));
    let b = replica(store(&server));
    let key = TestKey::generate(Alg::ES256, "client");
    let token = bound_token(&key);
    let p1 = proof(&key, &token);
    assert!(accept(&a, &p1, &token).await.is_ok());
    let err = accept(&b, &p1, &token).await.unwrap_err();
    assert_eq!(err.code(), ErrorCode::DpopProofReplayed);
    let p2 = proof(&key, &token);
    assert!(accept(&b, &p2, &token).await.is_ok());
    let err = accept(&a, &p2, &token).await.unwrap_err();
    assert_eq!(err.code(), ErrorCode::DpopProofReplayed);
}

/// 64 concurrent checks of one proof over 4 replicas sharing one Redis: exactly one
/// passes.
#[test]
fn sixty_four_concurrent_identical_proofs_pass_once_across_replicas() {
    let Some(server) = RedisServer::start("concurrent") else {
        return;
    };
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(8)
        .enable_all()
        .build()
        .unwrap();
    let replicas: Vec<Arc<DpopVerifier>> =
        (0..4).map(|_| Arc::new(replica(store(&server)))).collect();
    let key = TestKey::generate(Alg::ES256, "client");
    let token = bound_token(&key);
    let p = proof(&key, &token);
    let outcomes = runtime.block_on(async {
        let barrier = Arc::new(tokio::sync::Barrier::new(64));
        let tasks: Vec<_> = (0..64)
            .map(|i| {
                let v = replicas[i % 4].clone();
                let (p, token, barrier) = (p.clone(), token.clone(), barrier.clone());
                tokio::spawn(async move {
                    barrier.wait().await;
                    accept(&v, &p, &token).await
                })
            })
            .collect();
        let mut out = Vec::new();
        for t in tasks {
            out.push(t.await.unwrap());
        }
        out
    });
    assert_eq!(outcomes.iter().filter(|o| o.is_ok()).count(), 1);
    for e in outcomes.iter().filter_map(|o| o.as_ref().err()) {
        assert_eq!(e.code(), ErrorCode::DpopProofReplayed, "{e:?}");
    }
}

/// Redis goes away: 503 `dpop_replay_cache_full`, never an accept; it comes back on
/// the same port: service resumes.
#[tokio::test]
async fn a_redis_outage_is_503_and_service_resumes_after_it() {
    let Some(mut server) = RedisServer::start("outage") else {
        return;
    };
    let v = replica(store(&server));
    let key = TestKey::generate(Alg::ES256, "client");
    let token = bound_token(&key);
    assert!(accept(&v, &proof(&key, &token), &token).await.is_ok());

    server.stop();
    for _ in 0..3 {
        let started = Instant::now();
        let err = accept(&v, &proof(&key, &token), &token).await.unwrap_err();
        assert_eq!(err.code(), ErrorCode::DpopReplayCacheFull, "{err:?}");
        assert_eq!(err.status().as_u16(), 503);
        assert!(err.retry_after().is_some());
        // Bounded by the store's timeout (500 ms), with slack for a loaded machine.
        assert!(
            started.elapsed() < Duration::from_secs(3),
            "{:?}",
            started.elapsed()
        );
    }

    server.spawn();
    let deadline = Instant::now() + Duration::from_secs(15);
    loop {
        match accept(&v, &proof(&key, &token), &token).await {
            Ok(_) => break,
            Err(e) => {
                assert_eq!(e.code(), ErrorCode::DpopReplayCacheFull, "{e:?}");
                assert!(Instant::now() < deadline, "service did not resume: {e:?}");
                tokio::time::sleep(Duration::from_millis(100)).await;
            }
        }
    }
    // And replays are caught again (the restarted server is empty: no persistence).
    let p = proof(&key, &token);
    assert!(accept(&v, &p, &token).await.is_ok());
    let err = accept(&v, &p, &token).await.unwrap_err();
    assert_eq!(err.code(), ErrorCode::DpopProofReplayed);
}

/// A server that accepts connections and never answers: the store's timeout refuses
/// the request with 503 in bounded time.
#[tokio::test]
async fn a_silent_server_times_out_to_503() {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    let holder = std::thread::spawn(move || {
        let mut held = Vec::new();
        for stream in listener.incoming().take(8) {
            match stream {
                Ok(s) => held.push(s),
                Err(_) => break,
            }
        }
        std::thread::sleep(Duration::from_secs(5));
    });
    let s = RedisReplayStore::builder(format!("redis://127.0.0.1:{port}/0"))
        .timeout(Duration::from_millis(200))
        .build()
        .unwrap();
    let started = Instant::now();
    let err = s
        .check_and_insert(ReplayKey::new("jkt", "jti"), Duration::from_secs(65))
        .await
        .unwrap_err();
    assert!(
        started.elapsed() < Duration::from_secs(2),
        "{:?}",
        started.elapsed()
    );
    assert_eq!(err.into_auth_error().code(), ErrorCode::DpopReplayCacheFull);
    drop(holder);
}

/// The blocking flavour: the same atomic `SET NX PX`, shared with the async flavour,
/// and 503 when Redis is gone.
#[test]
fn the_blocking_flavour_shares_the_store_and_fails_closed() {
    use verifier_core::dpop::BlockingReplayStore;
    let Some(mut server) = RedisServer::start("blocking") else {
        return;
    };
    let s = store(&server);
    let key = TestKey::generate(Alg::ES256, "client");
    let token = bound_token(&key);
    // A blocking replica and an async one on the same Redis.
    let blocking = replica(s.clone()).with_blocking_store(s.clone());
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let asynchronous = replica(store(&server));
    let p = proof(&key, &token);
    let mut headers = HeaderMap::new();
    headers.insert("dpop", HeaderValue::from_str(&p).unwrap());
    let uri: Uri = "/me".parse().unwrap();
    let checked = blocking
        .check_proof(&Method::GET, &uri, &headers, &token)
        .unwrap();
    blocking.check_replay_blocking(&checked).unwrap();
    let err = blocking.check_replay_blocking(&checked).unwrap_err();
    assert_eq!(err.code(), ErrorCode::DpopProofReplayed);
    let err = runtime
        .block_on(accept(&asynchronous, &p, &token))
        .unwrap_err();
    assert_eq!(err.code(), ErrorCode::DpopProofReplayed);
    // 32 threads, one key: exactly one first.
    let k = ReplayKey::new("jkt", "threads");
    let firsts = std::thread::scope(|scope| {
        let handles: Vec<_> = (0..32)
            .map(|_| {
                let s = s.clone();
                scope.spawn(move || {
                    BlockingReplayStore::check_and_insert(&*s, k, Duration::from_secs(60))
                })
            })
            .collect();
        handles
            .into_iter()
            .map(|h| h.join().unwrap().unwrap())
            .filter(|seen| *seen == Seen::First)
            .count()
    });
    assert_eq!(firsts, 1);
    server.stop();
    let started = Instant::now();
    let err = BlockingReplayStore::check_and_insert(
        &*s,
        ReplayKey::new("jkt", "after"),
        Duration::from_secs(60),
    )
    .unwrap_err();
    assert!(started.elapsed() < Duration::from_secs(3));
    assert_eq!(err.into_auth_error().code(), ErrorCode::DpopReplayCacheFull);
}

/// Outside a Tokio runtime the async flavour refuses (503) instead of panicking.
#[test]
fn outside_a_tokio_runtime_the_async_flavour_refuses() {
    let s = RedisReplayStore::builder("redis://127.0.0.1:1/0")
        .build()
        .unwrap();
    let future = s.check_and_insert(ReplayKey::new("jkt", "jti"), Duration::from_secs(65));
    let err = block_on_without_tokio(future).unwrap_err();
    assert_eq!(err.into_auth_error().code(), ErrorCode::DpopReplayCacheFull);
}

/// A minimal executor (no Tokio): polls a future to completion on this thread.
fn block_on_without_tokio<F: std::future::Future>(future: F) -> F::Output {
    use std::task::{Context, Poll, Wake, Waker};
    struct Unpark(std::thread::Thread);
    impl Wake for Unpark {
        fn wake(self: Arc<Self>) {
            self.0.unpark();
        }
    }
    let waker = Waker::from(Arc::new(Unpark(std::thread::current())));
    let mut cx = Context::from_waker(&waker);
    let mut future = std::pin::pin!(future);
    loop {
        match future.as_mut().poll(&mut cx) {
            Poll::Ready(out) => return out,
            Poll::Pending => std::thread::park(),
        }
    }
}
