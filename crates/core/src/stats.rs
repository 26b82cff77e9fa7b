//! What a run counted, in one shape: the engine fills it in, the state store keeps it with
//! the run, and the command line prints it (`sync`, `status`, `runs`).

use serde::{Deserialize, Serialize};

/// The counts of one run.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
pub struct RunStats {
    /// Rows the model returned.
    pub rows_read: u64,
    /// Objects the plan would create.
    pub planned_creates: u64,
    /// Objects the plan would update.
    pub planned_updates: u64,
    /// List members the plan would remove.
    pub planned_removes: u64,
    /// Objects created (or adopted after an unknown outcome).
    pub creates: u64,
    /// Objects updated.
    pub updates: u64,
    /// List members added.
    pub list_added: u64,
    /// List members removed.
    pub list_removed: u64,
    /// HTTP read requests made to Optimizely (listings, the list attribute), retries
    /// included.
    #[serde(default)]
    pub reads: u64,
    /// HTTP write requests sent (creates, updates, the list PATCH), retries included.
    pub requests_sent: u64,
    /// Rows rejected, by the plan or by Optimizely.
    pub rejected: u64,
    /// Answers that said "too many requests" (429, or 503 with a wait): each paused every
    /// request on the token. Zero when optisync's pacing held.
    #[serde(default)]
    pub throttled: u64,
}

/// What a run page shows beyond the counts: the plan as text, how long each step took, and
/// the drift the plan found. Kept with the run by the state store.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
pub struct RunDetails {
    /// The plan as `optisync plan` prints it (long sections summarised).
    pub plan_text: Option<String>,
    /// The steps the run went through, in order, with their wall time.
    pub steps: Vec<StepTiming>,
    /// How the list's content differed from what optisync last delivered (list syncs).
    pub drift: Option<crate::plan::Drift>,
}

/// One step of a run and its wall time.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
pub struct StepTiming {
    /// `read` (the model and Optimizely, at the same time), `check` (a saved plan against
    /// Optimizely), `plan`, or `send`.
    pub step: String,
    /// Milliseconds.
    pub ms: u64,
}

impl RunDetails {
    /// Adds a step that took `elapsed`.
    pub fn step(&mut self, step: &str, elapsed: std::time::Duration) {
        self.steps.push(StepTiming {
            step: step.to_owned(),
            ms: u64::try_from(elapsed.as_millis()).unwrap_or(u64::MAX),
        });
    }
}
