//! DS9 (SPEC-2 §1.9): hostile metadata bodies are refused at the size cap without being
//! read further, so the process's memory does not grow with them.
//!
//! Alone in its test binary (no other test allocates meanwhile). The hostile servers
//! here are plain threads on 127.0.0.1 that write their body in 8 KiB pieces made on the
//! fly, so their own memory stays flat; what grows is what the verifier keeps.

mod common;

use std::io::{Read, Write};
use std::net::TcpListener;
use std::time::Duration;

use verifier_core::{AuthConfig, ErrorCode};
use verifier_testkit::{TestIssuer, DEFAULT_AUDIENCE};

const MIB: usize = 1024 * 1024;

/// A `kB` line of `/proc/self/status` (`VmRSS`, `VmHWM`), in bytes.
fn status(name: &str) -> Option<usize> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = status.lines().find(|l| l.starts_with(name))?;
    let kb: usize = line.split_whitespace().nth(1)?.parse().ok()?;
    Some(kb * 1024)
}

/// Resets the peak resident set (`VmHWM`) to the current one (Linux `clear_refs` 5).
fn reset_peak() -> bool {
    std::fs::write("/proc/self/clear_refs", "5").is_ok()
}

/// A server answering every request on a fresh port with `head`, then `body_len` bytes
/// of spaces in 8 KiB writes (until the client hangs up). Returns its issuer URL.
fn hostile(head: &'static str, body_len: usize) -> String {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap();
    std::thread::spawn(move || {
        for stream in listener.incoming() {
            let Ok(mut stream) = stream else { return };
            std::thread::spawn(move || {
                let mut request = [0u8; 4096];
                let _ = stream.read(&mut request);
                if stream.write_all(head.as_bytes()).is_err() {
                    return;
                }
                let chunk = [b' '; 8192];
                let mut sent = 0;
                while sent < body_len {
                    if stream.write_all(&chunk).is_err() {
                        return;
                    }
                    sent += chunk.len();
                }
            });
        }
    });
    format!("http://{addr}")
}

fn discovering(issuer: &str) -> AuthConfig {
    AuthConfig::builder()
        .issuer(issuer)
        .audience(DEFAULT_AUDIENCE)
        .jwks_timeout(Duration::from_secs(5))
        .jwks_max_bytes(64 * 1024)
        .build()
        .unwrap()
}

/// DS9: a 2 MiB body announced in `Content-Length`, an endless body without one, an HTML
/// page and `[]`: each `discovery_error`, no key-set request, and the resident set grows
/// by less than 2 MiB over all of them (both flavours).
#[test]
fn ds9_hostile_metadata_bodies_are_refused_at_the_cap() {
    // Warm-up: both flavours discover once from a well-behaved issuer, so the HTTP
    // clients, runtimes and TLS roots are all set up before the measurement.
    let good = TestIssuer::start();
    let warm = common::Both::new(discovering(&good.issuer()));
    assert!(warm.verify(&good.token().build()).is_ok());

    let declared = hostile(
        "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: 2097152\r\n\r\n",
        2 * MIB,
    );
    let endless = hostile(
        "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nConnection: close\r\n\r\n",
        usize::MAX,
    );
    let html = TestIssuer::start();
    html.set_discovery_fault(Some(verifier_testkit::Fault::Body(
        b"<html><body>Sign in</body></html>".to_vec(),
    )));
    let array = TestIssuer::start();
    array.set_discovery_fault(Some(verifier_testkit::Fault::Body(b"[]".to_vec())));
    let issuers = [declared, endless, html.issuer(), array.issuer()];
    let verifiers: Vec<common::Both> = issuers
        .iter()
        .map(|iss| common::Both::new(discovering(iss)))
        .collect();
    let token = good.token().build();

    let measured = reset_peak();
    let before = status("VmRSS:");
    for (iss, both) in issuers.iter().zip(&verifiers) {
        assert_eq!(both.code(&token), ErrorCode::DiscoveryError, "{iss}");
    }
    assert_eq!(html.fetch_count() + array.fetch_count(), 0);
    // The peak, not the end: a body buffered and freed would show here.
    match (measured, before, status("VmHWM:")) {
        (true, Some(before), Some(peak)) => {
            let growth = peak.saturating_sub(before);
            assert!(growth < 2 * MIB, "peak resident set grew by {growth} bytes");
        }
        _ => {
            eprintln!("DS9: /proc/self/clear_refs or status unavailable: memory bound not measured")
        }
    }
}
