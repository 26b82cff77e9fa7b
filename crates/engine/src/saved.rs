//! Saved plans: what `plan --out FILE` writes and `sync --plan FILE` applies exactly. Each
//! sync's entry carries the sync's state version and config hash when it was planned; a
//! plan whose sync has run, been reset or been edited since is refused as stale rather than
//! applied to a state it was not made for.

use serde::{Deserialize, Serialize};

use crate::error::{Error, Result};
use crate::plan::PreparedPlan;
use crate::spec::SyncSpec;

/// Version of the saved-plan file format.
pub const SAVED_PLAN_FORMAT: u32 = 1;

/// A plan file.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct SavedPlan {
    /// [`SAVED_PLAN_FORMAT`] of the writer.
    pub format_version: u32,
    /// When it was made (RFC 3339).
    pub created_at: String,
    /// One entry per sync planned.
    pub syncs: Vec<PreparedPlan>,
}

impl SavedPlan {
    /// A plan file of `syncs`, made now.
    pub fn new(syncs: Vec<PreparedPlan>) -> Self {
        Self {
            format_version: SAVED_PLAN_FORMAT,
            created_at: chrono::Utc::now().to_rfc3339(),
            syncs,
        }
    }

    /// The entry of `sync`, if the file has one.
    pub fn entry(&self, sync: &str) -> Option<&PreparedPlan> {
        self.syncs.iter().find(|p| p.plan.sync == sync)
    }
}

/// Checks that `saved` still applies to `spec` at `state_version` on `project_id`.
pub fn check_fresh(
    saved: &PreparedPlan,
    spec: &SyncSpec,
    project_id: i64,
    state_version: u64,
) -> Result<()> {
    let stale = |reason: String| {
        Err(Error::StalePlan {
            sync: spec.name.clone(),
            reason,
        })
    };
    if saved.project_id != project_id {
        return stale(format!(
            "it was made for project {}, the config now names project {project_id}",
            saved.project_id
        ));
    }
    if saved.config_hash != spec.config_hash(project_id) {
        return stale("the sync's config changed since it was made".to_owned());
    }
    if saved.state_version != state_version {
        return stale(format!(
            "the sync's state moved since it was made (version {} then, {state_version} now: another run or a reset happened)",
            saved.state_version
        ));
    }
    Ok(())
}
