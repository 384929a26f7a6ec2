//! Blocking flights: the caller that wins a refresh performs it on its own thread;
//! others keep using the current document, or wait on the lifecycle's condvar (bounded
//! by its wait limit) when there is none.

use std::time::Instant;

use super::{Decision, Document, Flight, Lifecycle, Outcome, State};
use crate::error::AuthError;

/// The blocking refresh in flight.
pub(crate) struct BlockingFlight {
    generation: u64,
}

impl Flight for BlockingFlight {
    fn generation(&self) -> u64 {
        self.generation
    }
}

/// Ends a blocking refresh (and wakes its waiters) even if the fetching thread panics.
struct FlightGuard<'a, D: Document> {
    life: &'a Lifecycle<BlockingFlight, D>,
    generation: u64,
    started: Instant,
    done: bool,
}

impl<D: Document> FlightGuard<'_, D> {
    fn finish(mut self, outcome: Result<(u16, D), D::Error>) -> Outcome<D> {
        self.done = true;
        let mut st = self.life.lock();
        let result = self
            .life
            .finish(&mut st, self.generation, self.started, outcome);
        drop(st);
        self.life.cond.notify_all();
        result
    }
}

impl<D: Document> Drop for FlightGuard<'_, D> {
    fn drop(&mut self) {
        if !self.done {
            let mut st = self.life.lock();
            self.life
                .abandon(&mut st, self.generation, self.started, "refresh aborted");
            drop(st);
            self.life.cond.notify_all();
        }
    }
}

/// Runs refresh `generation` (already marked in flight) on this thread.
fn run<D: Document>(
    life: &Lifecycle<BlockingFlight, D>,
    generation: u64,
    fetch: impl FnOnce() -> Result<(u16, Vec<u8>), D::Error>,
) -> Outcome<D> {
    let guard = FlightGuard {
        life,
        generation,
        started: Instant::now(),
        done: false,
    };
    let outcome = fetch().and_then(|(status, body)| life.parse(&body).map(|doc| (status, doc)));
    guard.finish(outcome)
}

/// Decides under the lock with `decide`, then acts on it: uses the current document
/// (performing a background refresh it started first, and using its result when it
/// succeeds), fails, performs a new refresh with `fetch`, or waits for the one in flight.
pub(crate) fn acquire<D: Document>(
    life: &Lifecycle<BlockingFlight, D>,
    decide: impl FnOnce(&mut State<BlockingFlight, D>) -> Decision<D>,
    fetch: impl FnOnce() -> Result<(u16, Vec<u8>), D::Error>,
) -> Outcome<D> {
    let mut st = life.lock();
    let (start, fallback) = match decide(&mut st) {
        Decision::Use(snapshot, None) => return Ok(snapshot),
        Decision::Use(snapshot, Some(generation)) => {
            st.in_flight = Some(BlockingFlight { generation });
            drop(st);
            return Ok(run(life, generation, fetch).unwrap_or(snapshot));
        }
        Decision::Fail(err) => return Err(err),
        Decision::Join { start, fallback } => (start, fallback),
    };
    let result = match start {
        Some(generation) => {
            st.in_flight = Some(BlockingFlight { generation });
            drop(st);
            run(life, generation, fetch)
        }
        None => {
            let generation = st.in_flight.as_ref().map_or(0, |f| f.generation);
            let (st, timeout) = life
                .cond
                .wait_timeout_while(st, life.wait_limit(), |st| {
                    st.in_flight
                        .as_ref()
                        .is_some_and(|f| f.generation == generation)
                })
                .unwrap_or_else(|e| e.into_inner());
            match &st.last_result {
                Some((g, result)) if *g >= generation && !timeout.timed_out() => result.clone(),
                _ => Err(AuthError::new(D::UNAVAILABLE)),
            }
        }
    };
    match (result, fallback) {
        (Ok(snapshot), _) => Ok(snapshot),
        (Err(_), Some(snapshot)) => Ok(snapshot),
        (Err(err), None) => Err(err),
    }
}
