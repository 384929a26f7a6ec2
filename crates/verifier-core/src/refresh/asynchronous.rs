//! Async flights: each refresh is a spawned task whose result its waiters share.
//!
//! The task holds only a weak reference to its owner, so dropping the last handle
//! aborts it (the lifecycle cancels the flight on drop) and no task or connection
//! outlives the client.

use std::future::Future;
use std::sync::{Arc, Weak};
use std::time::Instant;

use futures_util::future::{BoxFuture, FutureExt, Shared};

use super::{Decision, Document, Flight, Lifecycle, Outcome, State};
use crate::error::AuthError;

/// A refresh result, shared by everyone waiting for it.
pub(crate) type SharedFetch<D> = Shared<BoxFuture<'static, Outcome<D>>>;

/// The async refresh in flight.
pub(crate) struct AsyncFlight<D> {
    generation: u64,
    fetch: SharedFetch<D>,
    abort: tokio::task::AbortHandle,
}

impl<D: Document> Flight for AsyncFlight<D> {
    fn generation(&self) -> u64 {
        self.generation
    }

    fn cancel(&self) {
        self.abort.abort();
    }
}

/// The lifecycle of an async client. Kept behind an `Arc` by its owner; refresh tasks
/// reach it through a `Weak`.
pub(crate) trait Owner: Send + Sync + 'static {
    /// The document it refreshes.
    type Doc: Document;
    /// Its lifecycle.
    fn lifecycle(&self) -> &Lifecycle<AsyncFlight<Self::Doc>, Self::Doc>;
    /// Told about each document a refresh installs (after the lock is released).
    fn installed(&self, _snapshot: &super::Snapshot<Self::Doc>) {}
}

/// Ends an async refresh as failed if its task is dropped before it finishes: aborted,
/// or its runtime shut down (a per-call `Runtime::block_on`, a `#[tokio::test]` sharing
/// a client). Without it the in-flight marker would stay set and no refresh would ever
/// start again.
struct FlightGuard<O: Owner> {
    owner: Weak<O>,
    generation: u64,
    started: Instant,
    done: bool,
}

impl<O: Owner> Drop for FlightGuard<O> {
    fn drop(&mut self) {
        if self.done {
            return;
        }
        let Some(owner) = self.owner.upgrade() else {
            return;
        };
        let life = owner.lifecycle();
        let mut st = life.lock();
        life.abandon(
            &mut st,
            self.generation,
            self.started,
            "refresh cancelled before it finished",
        );
    }
}

/// Starts refresh `generation` on the runtime (fetching with `fetch`, which must not
/// hold the owner) and records it as in flight.
fn start<O, Fut>(
    owner: &Arc<O>,
    st: &mut State<AsyncFlight<O::Doc>, O::Doc>,
    generation: u64,
    fetch: Fut,
) -> SharedFetch<O::Doc>
where
    O: Owner,
    Fut: Future<Output = Result<(u16, Vec<u8>), <O::Doc as Document>::Error>> + Send + 'static,
{
    let weak: Weak<O> = Arc::downgrade(owner);
    let started = Instant::now();
    // Moved into the task: dropped with it even if it is never polled.
    let guard = FlightGuard {
        owner: weak.clone(),
        generation,
        started,
        done: false,
    };
    let task = tokio::spawn(async move {
        let mut guard = guard;
        let fetched = fetch.await;
        let Some(owner) = weak.upgrade() else {
            guard.done = true;
            return Err(AuthError::new(O::Doc::UNAVAILABLE));
        };
        let life = owner.lifecycle();
        let outcome = fetched.and_then(|(status, body)| life.parse(&body).map(|doc| (status, doc)));
        let mut st = life.lock();
        guard.done = true;
        let result = life.finish(&mut st, generation, started, outcome);
        drop(st);
        if let Ok(snapshot) = &result {
            if snapshot.generation == generation {
                owner.installed(snapshot);
            }
        }
        result
    });
    let abort = task.abort_handle();
    let shared = async move {
        task.await
            .unwrap_or_else(|e| Err(AuthError::new(O::Doc::UNAVAILABLE).with_source(e)))
    }
    .boxed()
    .shared();
    st.in_flight = Some(AsyncFlight {
        generation,
        fetch: shared.clone(),
        abort,
    });
    shared
}

/// The refresh in flight, to wait for without holding the owner (the task holds only a
/// weak reference, so dropping the owner still aborts it).
pub(crate) fn in_flight<O: Owner>(owner: &O) -> Option<SharedFetch<O::Doc>> {
    let life = owner.lifecycle();
    let st = life.lock();
    st.in_flight.as_ref().map(|flight| flight.fetch.clone())
}

/// Decides under the lock with `decide`, then acts on it: uses the current document
/// (owning a background refresh if one was started), fails, or waits (bounded by the
/// lifecycle's wait limit) for the refresh in flight or a new one made by `fetch`.
pub(crate) async fn acquire<O, Fut>(
    owner: &Arc<O>,
    decide: impl FnOnce(&mut State<AsyncFlight<O::Doc>, O::Doc>) -> Decision<O::Doc>,
    fetch: impl FnOnce() -> Fut,
) -> Outcome<O::Doc>
where
    O: Owner,
    Fut: Future<Output = Result<(u16, Vec<u8>), <O::Doc as Document>::Error>> + Send + 'static,
{
    let life = owner.lifecycle();
    let (shared, fallback) = {
        let mut st = life.lock();
        match decide(&mut st) {
            Decision::Use(snapshot, None) => return Ok(snapshot),
            Decision::Use(snapshot, Some(generation)) => {
                drop(start(owner, &mut st, generation, fetch()));
                return Ok(snapshot);
            }
            Decision::Fail(err) => return Err(err),
            Decision::Join {
                start: begun,
                fallback,
            } => {
                let shared = match (begun, st.in_flight.as_ref()) {
                    (Some(generation), _) => start(owner, &mut st, generation, fetch()),
                    (None, Some(flight)) => flight.fetch.clone(),
                    // `decide` starts a refresh whenever none is in flight.
                    (None, None) => return Err(AuthError::new(O::Doc::UNAVAILABLE)),
                };
                (shared, fallback)
            }
        }
    };
    let result = match tokio::time::timeout(life.wait_limit(), shared).await {
        Ok(result) => result,
        Err(elapsed) => Err(AuthError::new(O::Doc::UNAVAILABLE).with_source(elapsed)),
    };
    match (result, fallback) {
        (Ok(snapshot), _) => Ok(snapshot),
        (Err(_), Some(snapshot)) => Ok(snapshot),
        (Err(err), None) => Err(err),
    }
}
