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
}
