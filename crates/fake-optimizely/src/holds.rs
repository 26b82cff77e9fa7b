//! Held requests: the `hold_before_write` and `hold_after_write` faults park a request until
//! the test lets it go, so a test can act while a client is provably mid-request (start a
//! second process, kill the client) instead of guessing with delays.
//!
//! Every request that reaches a hold takes the next ticket (1, 2, ...). [`Holds::let_go`]
//! settles every ticket handed out so far, answering or dropping their connections; later
//! arrivals wait for the next call. Tests wait for "the fake has held N requests" with
//! [`Holds::wait_held`], an event rather than a clock.

use serde::{Deserialize, Serialize};
use tokio::sync::watch;

/// What happens to held requests when they are let go.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Verdict {
    /// Carry on: handle the request (if not yet) and answer it.
    Answer,
    /// Close the connection without answering (and, held before the write, without
    /// handling the request).
    Drop,
}

/// Counters of held requests, as `GET /__admin/holds` shows them.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct HoldCounts {
    /// Requests that reached a hold since the fake was created.
    pub held: u64,
    /// Requests held right now, waiting to be let go.
    pub holding: u64,
}

#[derive(Debug, Default)]
struct State {
    counts: HoldCounts,
    /// Tickets up to `.0` were let go with verdict `.1`; `.0` grows from entry to entry.
    settled: Vec<(u64, Verdict)>,
}

impl State {
    fn verdict(&self, ticket: u64) -> Option<Verdict> {
        self.settled
            .iter()
            .find(|(up_to, _)| *up_to >= ticket)
            .map(|(_, verdict)| *verdict)
    }
}

/// The held requests of one fake.
#[derive(Debug)]
pub(crate) struct Holds {
    state: watch::Sender<State>,
}

impl Default for Holds {
    fn default() -> Self {
        Self {
            state: watch::Sender::new(State::default()),
        }
    }
}

/// Counts a waiting request out of `holding` however its wait ends (also when the server
/// drops the request because its client went away).
struct Waiting<'a>(&'a watch::Sender<State>);

impl Drop for Waiting<'_> {
    fn drop(&mut self) {
        self.0.send_modify(|s| s.counts.holding -= 1);
    }
}

impl Holds {
    pub(crate) fn counts(&self) -> HoldCounts {
        self.state.borrow().counts
    }

    /// Parks the calling request until it is let go, and says how.
    pub(crate) async fn hold(&self) -> Verdict {
        let mut ticket = 0;
        self.state.send_modify(|s| {
            s.counts.held += 1;
            s.counts.holding += 1;
            ticket = s.counts.held;
        });
        let _waiting = Waiting(&self.state);
        let mut settled = self.state.subscribe();
        match settled.wait_for(|s| s.verdict(ticket).is_some()).await {
            Ok(state) => state.verdict(ticket).unwrap_or(Verdict::Answer),
            // The sender lives as long as the fake: cannot happen while a request runs.
            Err(_) => Verdict::Answer,
        }
    }

    /// Settles every request held so far with `verdict`.
    pub(crate) fn let_go(&self, verdict: Verdict) {
        self.state.send_if_modified(|s| {
            let up_to = s.counts.held;
            if s.settled.last().is_some_and(|(last, _)| *last >= up_to) {
                return false;
            }
            s.settled.push((up_to, verdict));
            true
        });
    }

    /// Waits until `held` requests have reached a hold since the fake was created.
    pub(crate) async fn wait_held(&self, held: u64) {
        let mut state = self.state.subscribe();
        // The sender lives as long as `self`.
        let _ = state.wait_for(|s| s.counts.held >= held).await;
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::Arc;

    #[tokio::test]
    async fn requests_wait_until_let_go_and_later_ones_wait_for_the_next_call() {
        let holds = Arc::new(Holds::default());
        let first = tokio::spawn({
            let holds = holds.clone();
            async move { holds.hold().await }
        });
        holds.wait_held(1).await;
        assert_eq!(
            holds.counts(),
            HoldCounts {
                held: 1,
                holding: 1
            }
        );
        holds.let_go(Verdict::Drop);
        assert_eq!(first.await.unwrap(), Verdict::Drop);
        assert_eq!(holds.counts().holding, 0);

        let second = tokio::spawn({
            let holds = holds.clone();
            async move { holds.hold().await }
        });
        holds.wait_held(2).await;
        assert!(!second.is_finished());
        holds.let_go(Verdict::Answer);
        assert_eq!(second.await.unwrap(), Verdict::Answer);
        assert_eq!(
            holds.counts(),
            HoldCounts {
                held: 2,
                holding: 0
            }
        );
    }
}
