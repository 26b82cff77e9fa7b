//! Progress of the long steps of a run (reading a model, sending changes), as typed
//! [`ProgressEvent`]s. How they are shown is the program's choice: it may [`observe`] them
//! (the command line draws a progress bar on a terminal), and each is also logged as a line
//! with the target `progress` (what a log file or a pipe gets, a line every few seconds).
//! The program says how often it wants them with [`set_interval`].
//!
//! When a step ends (or fails), one more event has `finished` set, so a bar can be taken
//! down.

use std::sync::OnceLock;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

/// One report of a long step's progress.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ProgressEvent {
    /// The sync.
    pub sync: String,
    /// The step, e.g. "reading model" or "sending changes".
    pub step: &'static str,
    /// What `done` and `total` count, e.g. "rows" or "requests".
    pub unit: &'static str,
    /// How many are done so far.
    pub done: u64,
    /// How many there are, when known.
    pub total: Option<u64>,
    /// Whether the step has ended.
    pub finished: bool,
}

/// Receives every progress event of the process.
type Observer = Box<dyn Fn(&ProgressEvent) + Send + Sync>;

static OBSERVER: OnceLock<Observer> = OnceLock::new();

/// Sends every progress event of this process to `observer` from now on. Only the first
/// observer is kept; returns whether this one was.
pub fn observe(observer: impl Fn(&ProgressEvent) + Send + Sync + 'static) -> bool {
    OBSERVER.set(Box::new(observer)).is_ok()
}

fn emit(event: &ProgressEvent) {
    if let Some(observer) = OBSERVER.get() {
        observer(event);
    }
}

/// Milliseconds between two progress events of one step; 5 s unless the program sets it.
static INTERVAL_MS: AtomicU64 = AtomicU64::new(5_000);

/// How often a running step reports its progress: a few seconds suit a log, a fraction of a
/// second suits a progress bar.
pub fn set_interval(every: Duration) {
    let ms = u64::try_from(every.as_millis()).unwrap_or(u64::MAX);
    INTERVAL_MS.store(ms, Ordering::Relaxed);
}

fn interval() -> Duration {
    Duration::from_millis(INTERVAL_MS.load(Ordering::Relaxed))
}

/// One step's progress reporter.
#[derive(Debug)]
pub(crate) struct Progress<'a> {
    sync: &'a str,
    step: &'static str,
    unit: &'static str,
    next: Instant,
    done: u64,
}

impl<'a> Progress<'a> {
    /// A reporter for `step` (e.g. "reading model") of `sync`, counting in `unit`.
    pub(crate) fn new(sync: &'a str, step: &'static str, unit: &'static str) -> Self {
        Self {
            sync,
            step,
            unit,
            next: Instant::now() + interval(),
            done: 0,
        }
    }

    /// Records that `done` units are done (of `total`, if known), reporting it if an event
    /// is due.
    pub(crate) fn update(&mut self, done: u64, total: Option<u64>) {
        self.done = done;
        let now = Instant::now();
        if now < self.next {
            return;
        }
        self.next = now + interval();
        let (sync, step, unit) = (self.sync, self.step, self.unit);
        emit(&ProgressEvent {
            sync: sync.to_owned(),
            step,
            unit,
            done,
            total,
            finished: false,
        });
        match total {
            Some(total) => {
                tracing::info!(target: "progress", sync, done, total, unit, "{step}");
            }
            None => tracing::info!(target: "progress", sync, done, unit, "{step}"),
        }
    }
}

impl Drop for Progress<'_> {
    fn drop(&mut self) {
        let (sync, step, unit, done) = (self.sync, self.step, self.unit, self.done);
        emit(&ProgressEvent {
            sync: sync.to_owned(),
            step,
            unit,
            done,
            total: None,
            finished: true,
        });
        tracing::debug!(target: "progress", sync, done, unit, finished = true, "{step}");
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn updates_are_spaced_by_the_interval() {
        let mut progress = Progress::new("s", "reading model", "rows");
        let first_due = progress.next;
        progress.update(10, None);
        assert_eq!(progress.next, first_due, "not due yet");
        assert_eq!(progress.done, 10);
        progress.next = Instant::now();
        progress.update(20, Some(30));
        assert!(progress.next > first_due - interval());
    }
}
