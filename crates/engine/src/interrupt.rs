//! A request to stop, from outside the run (SIGTERM or SIGINT, caught by the binary). The run
//! does not stop where it happens to be: it stops at the next safe point, where everything
//! sent so far has its outcome recorded and nothing is half-sent. The safe points are before
//! the model is read, after planning (nothing was sent yet), and between two write requests.
//! Reading the model and planning send nothing, so the wait for them is cut short at once.
//!
//! The flag is process-wide because a signal is: one request stops every sync of the process.

use std::sync::atomic::{AtomicI32, Ordering};

use tokio::sync::Notify;

/// The signal number that asked to stop, or 0.
static REQUESTED: AtomicI32 = AtomicI32::new(0);
static NOTIFY: Notify = Notify::const_new();

/// Asks every run of this process to stop at its next safe point. `signal` is the signal's
/// number (15 for SIGTERM, 2 for SIGINT), kept for the exit code; the first request wins.
pub fn request(signal: i32) {
    let _ = REQUESTED.compare_exchange(0, signal.max(1), Ordering::SeqCst, Ordering::SeqCst);
    NOTIFY.notify_waiters();
}

/// The signal that asked to stop, if one did.
pub fn requested() -> Option<i32> {
    match REQUESTED.load(Ordering::SeqCst) {
        0 => None,
        signal => Some(signal),
    }
}

/// Waits until a stop is requested (at once when one already was).
pub async fn wait() {
    loop {
        let notified = NOTIFY.notified();
        if requested().is_some() {
            return;
        }
        notified.await;
    }
}
