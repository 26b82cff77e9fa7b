//! `optisync status`: per sync, the last run (result, when, counts), what state holds
//! (delivered list size or definitions), pending rejected rows, and who holds its lock. Reads
//! only the state store, opened read-only: nothing is sent, and nothing is created or written
//! (no folder, no journal file, no migration), so it works on a state folder the user can
//! read but not write. Before the first run every sync shows "never run".

use optisync_state::{RunRecord, Store};
use schemars::JsonSchema;
use serde::Serialize;

use crate::config::Config;
use crate::connect::open_store_read_only;
use crate::error::CliError;
use crate::exit::Exit;
use crate::output::{OutputFormat, print_json};

/// The `--output json` document of `status`.
#[derive(Debug, Serialize, JsonSchema)]
pub struct StatusOutput {
    /// One entry per sync of the config, in config order.
    pub syncs: Vec<SyncStatus>,
}

/// One sync's status.
#[derive(Debug, Serialize, JsonSchema)]
pub struct SyncStatus {
    /// The sync.
    pub sync: String,
    /// Its object type.
    pub object: String,
    /// Its mode.
    pub mode: String,
    /// The last run, if any.
    pub last_run: Option<RunSummary>,
    /// Rows rejected by the last run that processed rows, retried next run.
    pub pending_rejected: usize,
    /// Delivered list members, or delivered definitions.
    pub delivered: u64,
    /// Who holds the lock now, if anyone.
    pub locked_by: Option<String>,
    /// When `serve` runs it, e.g. `cron "*/15 * * * *" (UTC)` or `every 10min`; absent
    /// for syncs that run only when triggered.
    pub schedule: Option<String>,
}

/// A run, in short.
#[derive(Debug, Clone, Serialize, JsonSchema)]
pub struct RunSummary {
    /// The run id.
    pub id: String,
    /// Its status: `running`, `succeeded`, `failed`, `rejected_rows`, `blocked`, `locked` or
    /// `interrupted`.
    pub status: String,
    /// When it started (RFC 3339).
    pub started_at: String,
    /// How long it took.
    pub duration_ms: Option<u64>,
    /// Rows read.
    pub rows_read: u64,
    /// Read requests made (listings, the list attribute).
    pub reads: u64,
    /// Write requests sent.
    pub requests_sent: u64,
    /// Rows rejected.
    pub rejected: u64,
    /// Why it failed or was blocked.
    pub error: Option<String>,
}

impl From<&RunRecord> for RunSummary {
    fn from(run: &RunRecord) -> Self {
        Self {
            id: run.id.clone(),
            status: run.status.as_str().to_owned(),
            started_at: run.started_at.to_rfc3339(),
            duration_ms: run.duration_ms,
            rows_read: run.counts.rows_read,
            reads: run.counts.reads,
            requests_sent: run.counts.requests_sent,
            rejected: run.counts.rejected,
            error: run.error.clone(),
        }
    }
}

/// Runs `status`.
pub fn run(config_path: &std::path::Path, format: OutputFormat) -> Result<Exit, CliError> {
    let config = Config::load(config_path)?;
    let store = open_store_read_only(&config)?;
    let statuses = config
        .syncs
        .iter()
        .map(|sync| status_of(store.as_ref(), sync))
        .collect::<Result<Vec<_>, _>>()
        .map_err(|e| CliError::Internal(anyhow::anyhow!("reading the state store: {e}")))?;
    match format {
        OutputFormat::Json => print_json(&StatusOutput { syncs: statuses }),
        OutputFormat::Text => {
            for s in &statuses {
                crate::outln!("{} ({} {})", s.sync, s.object, s.mode);
                match &s.last_run {
                    Some(run) => crate::outln!(
                        "  last run {} {} at {}: {} rows read, {}, {} rejected",
                        run.id,
                        run.status,
                        run.started_at,
                        run.rows_read,
                        crate::output::requests(run.reads, run.requests_sent),
                        run.rejected
                    ),
                    None => crate::outln!("  never run"),
                }
                crate::outln!(
                    "  delivered: {}; pending rejected rows: {}",
                    s.delivered,
                    s.pending_rejected
                );
                if let Some(holder) = &s.locked_by {
                    crate::outln!("  locked by {holder}");
                }
                if let Some(schedule) = &s.schedule {
                    crate::outln!("  schedule: {schedule}");
                }
            }
        }
    }
    Ok(Exit::Success)
}

/// One sync's status; without a store (no run recorded anything yet) it has never run.
fn status_of(
    store: Option<&Store>,
    sync: &crate::config::Sync,
) -> Result<SyncStatus, optisync_state::Error> {
    let Some(store) = store else {
        return Ok(SyncStatus {
            sync: sync.name().to_owned(),
            object: sync.spec.kind.object().to_owned(),
            mode: sync.spec.kind.mode().to_owned(),
            last_run: None,
            pending_rejected: 0,
            delivered: 0,
            locked_by: None,
            schedule: shown_schedule(&sync.schedule),
        });
    };
    let last_run = store.last_run(sync.name())?;
    let delivered = match store.delivered_list_summary(sync.name())? {
        Some(list) => list.member_count,
        None => store.definitions(sync.name())?.len() as u64,
    };
    let locked_by = store.lock_info(sync.name())?.map(|l| {
        format!(
            "{} (pid {} on {}) since {}",
            l.holder, l.pid, l.host, l.acquired_at
        )
    });
    Ok(SyncStatus {
        sync: sync.name().to_owned(),
        object: sync.spec.kind.object().to_owned(),
        mode: sync.spec.kind.mode().to_owned(),
        last_run: last_run.as_ref().map(RunSummary::from),
        pending_rejected: store.pending_rejected_rows(sync.name())?.len(),
        delivered,
        locked_by,
        schedule: shown_schedule(&sync.schedule),
    })
}

/// A schedule as `status` shows it; nothing for a manual sync.
fn shown_schedule(schedule: &optisync_serve::Schedule) -> Option<String> {
    (!matches!(schedule, optisync_serve::Schedule::Manual)).then(|| schedule.to_string())
}
