//! The flags `plan` and `sync` share: which syncs, and the run switches that change what a
//! plan contains (`--full-resync`, guardrail overrides, list bases).

use clap::Args;
use optisync_engine::RunOptions;

/// Switches that change the plan.
#[derive(Debug, Clone, Args)]
pub struct RunFlags {
    /// Sync names (default: every sync in the config).
    pub syncs: Vec<String>,
    /// Ignore what state says was delivered and compare everything with Optimizely.
    #[arg(long)]
    pub full_resync: bool,
    /// Go ahead although the model returned no rows while the last run had some.
    #[arg(long)]
    pub allow_empty: bool,
    /// Go ahead although more than max_removal_percent of a list would be removed.
    #[arg(long)]
    pub allow_large_removal: bool,
    /// Go ahead although a definition sync would create more than max_creates objects.
    #[arg(long)]
    pub allow_many_creates: bool,
    /// First add/remove run: treat the list's current content as delivered by optisync.
    #[arg(long)]
    pub adopt_existing: bool,
    /// Overwrite the list with what the mode computes from the model alone.
    #[arg(long, conflicts_with = "adopt_existing")]
    pub replace: bool,
}

impl RunFlags {
    /// The engine's options.
    pub fn options(&self) -> RunOptions {
        RunOptions {
            full_resync: self.full_resync,
            allow_empty: self.allow_empty,
            allow_large_removal: self.allow_large_removal,
            adopt_existing: self.adopt_existing,
            replace: self.replace,
            allow_many_creates: self.allow_many_creates,
        }
    }
}
