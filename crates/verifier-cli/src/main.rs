//! `oidc-verify`: verify and inspect OAuth 2.0 / OpenID Connect access tokens.
//!
//! Subcommands (see `docs/cli.md`):
//! - `verify`: the full verification pipeline against an issuer's JWKS; exit 0 valid,
//!   1 rejected, 2 usage or configuration error.
//! - `jwks`: fetch a key set, list usable keys and skipped entries; exit 0 healthy, 1 not.
//! - `discover`: find an issuer's metadata and key set; exit 0 healthy, 1 not.
//! - `decode`: header and claims of a token, clearly marked unverified.
//! - `mint`: a development token from a throwaway key, served by a local issuer.
//! - `demo`: an in-process tour of the axum integration against the test issuer.
//! - `resource-metadata`: the RFC 9728 document and the challenge a deployment would serve.
#![forbid(unsafe_code)]

mod cli;
mod config;
mod decode;
mod demo;
mod discover;
mod escape;
mod explain;
mod human;
mod input;
mod jwks;
mod mint;
mod output;
mod resource;
mod verify;

use std::process::ExitCode;

use clap::Parser;

use crate::cli::{Cli, Command};

/// How a subcommand ended; the process exit code.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Outcome {
    /// 0: valid token, healthy key set, decoded token, demo passed.
    Success,
    /// 1: rejected token, unhealthy key set, undecodable token, demo step failed.
    Rejected,
    /// 2: usage or configuration error (message on standard error).
    Usage,
}

impl From<Outcome> for ExitCode {
    fn from(outcome: Outcome) -> ExitCode {
        ExitCode::from(match outcome {
            Outcome::Success => 0,
            Outcome::Rejected => 1,
            Outcome::Usage => 2,
        })
    }
}

/// A usage or configuration error: printed on standard error, exit code 2.
pub(crate) fn usage_error(message: impl std::fmt::Display) -> Outcome {
    eprintln!("error: {message}");
    Outcome::Usage
}

fn main() -> ExitCode {
    // clap exits with 2 on usage errors (0 for --help / --version).
    let cli = Cli::parse();
    init_tracing();
    let outcome = match cli.command {
        Command::Decode(args) => decode::run(&args),
        Command::Mint(args) => mint::run(&args),
        Command::Verify(args) => with_runtime(|| verify::run(args)),
        Command::Jwks(args) => with_runtime(|| jwks::run(args)),
        Command::Discover(args) => with_runtime(|| discover::run(args)),
        Command::Demo => with_runtime(demo::run),
        Command::ResourceMetadata(args) => resource::run(&args),
    };
    outcome.into()
}

/// Runs an async subcommand on a small multi-threaded runtime.
fn with_runtime<F, Fut>(f: F) -> Outcome
where
    F: FnOnce() -> Fut,
    Fut: std::future::Future<Output = Outcome>,
{
    match tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
    {
        Ok(runtime) => runtime.block_on(f()),
        Err(err) => usage_error(format_args!("cannot start the async runtime: {err}")),
    }
}

/// Library `tracing` events on standard error, only when `RUST_LOG` is set
/// (e.g. `RUST_LOG=oidc_jwt_verifier=debug`).
fn init_tracing() {
    if std::env::var_os("RUST_LOG").is_some() {
        let _ = tracing_subscriber::fmt()
            .with_env_filter(tracing_subscriber::EnvFilter::from_default_env())
            .with_writer(std::io::stderr)
            .try_init();
    }
}
