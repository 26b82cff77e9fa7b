//! One run of one sync, as the service sees it: the binary implements [`Runner`] over the
//! engine (open the warehouse, the client and the state store, plan, apply, record) and
//! answers with a [`RunOutcome`]. The service knows nothing of warehouses or Optimizely, so
//! its scheduling, API and page are tested with a runner of the tests' own.

use std::future::Future;
use std::pin::Pin;

use optisync_core::RunStats;
use serde::Serialize;

/// A future a runner returns.
pub type BoxFuture<'a, T> = Pin<Box<dyn Future<Output = T> + Send + 'a>>;

/// Runs syncs by name.
pub trait Runner: Send + Sync + 'static {
    /// Runs `sync` once, to the end (or to its next safe point once the process is asked to
    /// stop), and says how it ended. A run records itself in the state store's history; a
    /// run that could not start (its lock held elsewhere) records nothing and says so.
    fn run<'a>(&'a self, sync: &'a str) -> BoxFuture<'a, RunOutcome>;
}

/// How a run ended, in the exit-code classes of the command line.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Outcome {
    /// Everything planned was delivered, or there was nothing to do (exit code 0).
    Succeeded,
    /// Delivered, but some rows were rejected (exit code 5).
    RejectedRows,
    /// A guardrail or a refusal stopped it before any request (exit code 7).
    Blocked,
    /// It failed: invalid config (3), an unusable warehouse or API (1, 3), an internal error.
    Failed,
    /// Another process (a command-line `sync`) held the sync's lock: nothing ran (exit 6).
    Locked,
    /// The process was asked to stop and the run stopped at a safe point.
    Interrupted,
}

impl Outcome {
    /// The name used in JSON, metrics and the page.
    pub fn as_str(self) -> &'static str {
        match self {
            Outcome::Succeeded => "succeeded",
            Outcome::RejectedRows => "rejected_rows",
            Outcome::Blocked => "blocked",
            Outcome::Failed => "failed",
            Outcome::Locked => "locked",
            Outcome::Interrupted => "interrupted",
        }
    }

    /// Whether the sync is healthy after a run that ended so: delivered (with or without
    /// rejected rows) or had nothing to do. A lock held elsewhere or an interruption says
    /// nothing about the sync's health.
    pub fn health(self) -> Option<bool> {
        match self {
            Outcome::Succeeded => Some(true),
            Outcome::RejectedRows | Outcome::Blocked | Outcome::Failed => Some(false),
            Outcome::Locked | Outcome::Interrupted => None,
        }
    }
}

/// What a run reports to the service.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RunOutcome {
    /// How it ended.
    pub outcome: Outcome,
    /// Its id in the state store's history, when it got one.
    pub run_id: Option<String>,
    /// The process exit code the same run would have had from `optisync sync`.
    pub exit_code: u8,
    /// What went wrong, free of secrets (the same message the command line prints).
    pub message: Option<String>,
    /// What the run counted (zero when it did not get to plan).
    pub counts: RunStats,
}
