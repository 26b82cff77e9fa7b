//! `optisync runs [SYNC]` lists run history, newest first; `optisync runs show RUN_ID` shows
//! one run with its counts, rejected rows and the request ids of its writes. The state store
//! is opened read-only: nothing is created or written.

use clap::{Args, Subcommand};
use optisync_core::{RejectedRow, RunStats};
use optisync_state::{Outcome, RunFilter, RunRecord, Store};
use schemars::JsonSchema;
use serde::Serialize;

use crate::commands::status::RunSummary;
use crate::config::Config;
use crate::connect::open_store_read_only;
use crate::error::CliError;
use crate::exit::Exit;
use crate::output::{OutputFormat, print_json};

/// `optisync runs`.
#[derive(Debug, Args)]
#[command(args_conflicts_with_subcommands = true)]
pub struct RunsArgs {
    /// `show RUN_ID`: one run in full.
    #[command(subcommand)]
    pub command: Option<RunsCommand>,
    /// Only this sync's runs (default: every sync's).
    pub sync: Option<String>,
    /// How many runs to list.
    #[arg(long, default_value_t = 20)]
    pub limit: usize,
}

/// What `runs` can do besides listing.
#[derive(Debug, Subcommand)]
pub enum RunsCommand {
    /// One run: its counts, rejected rows, and each write with its outcome.
    #[command(after_help = "Example:\n  optisync runs show 20250101T120000Z-beta_testers-1a2b")]
    Show(ShowArgs),
}

/// `optisync runs show`.
#[derive(Debug, Args)]
pub struct ShowArgs {
    /// The run's id, as `optisync runs` lists it.
    pub run_id: String,
}

/// The `--output json` document of `runs`.
#[derive(Debug, Serialize, JsonSchema)]
pub struct RunsOutput {
    /// Newest first, at most `--limit`.
    pub runs: Vec<RunListed>,
}

/// One run of the list.
#[derive(Debug, Serialize, JsonSchema)]
pub struct RunListed {
    /// The sync it ran.
    pub sync: String,
    /// The run.
    #[serde(flatten)]
    pub run: RunSummary,
}

/// The `--output json` document of `runs show`.
#[derive(Debug, Serialize, JsonSchema)]
pub struct RunShowOutput {
    /// The run, in short.
    pub run: RunSummary,
    /// The sync it ran.
    pub sync: String,
    /// What it planned and sent.
    pub counts: RunStats,
    /// Rows it rejected, with the reason.
    pub rejected: Vec<RejectedRow>,
    /// Each write request it announced, in order, with its outcome.
    pub writes: Vec<WriteOutput>,
}

/// One write request of a run.
#[derive(Debug, Serialize, JsonSchema)]
pub struct WriteOutput {
    /// The row's primary key; absent for a list's PATCH.
    pub primary_key: Option<String>,
    /// `create`, `update`, `archive` or `list_patch`.
    pub operation: String,
    /// What came of it; absent while unknown to the run that sent it.
    pub outcome: Option<WriteOutcome>,
}

/// What came of a write request.
#[derive(Debug, Serialize, JsonSchema)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum WriteOutcome {
    /// Optimizely applied it.
    Acknowledged {
        /// The id of the object created or changed, when the answer named one.
        remote_id: Option<i64>,
    },
    /// Optimizely refused it.
    Rejected {
        /// Optimizely's message.
        reason: String,
        /// Optimizely's request id, for its support.
        request_id: Option<String>,
    },
    /// Sent, and the answer was lost; the next run finds out whether it took effect.
    Unknown {
        /// What happened.
        reason: String,
    },
    /// A later run found that it did not take effect.
    NotApplied,
}

impl From<&Outcome> for WriteOutcome {
    fn from(outcome: &Outcome) -> Self {
        match outcome {
            Outcome::Acknowledged { remote_id } => Self::Acknowledged {
                remote_id: *remote_id,
            },
            Outcome::Rejected { reason, request_id } => Self::Rejected {
                reason: reason.clone(),
                request_id: request_id.clone(),
            },
            Outcome::Unknown { reason } => Self::Unknown {
                reason: reason.clone(),
            },
            Outcome::NotApplied => Self::NotApplied,
        }
    }
}

impl WriteOutcome {
    /// The outcome in a few words, for text output.
    fn describe(&self) -> String {
        match self {
            Self::Acknowledged {
                remote_id: Some(id),
            } => format!("acknowledged (id {id})"),
            Self::Acknowledged { remote_id: None } => "acknowledged".to_owned(),
            Self::Rejected { reason, request_id } => format!(
                "rejected: {reason}{}",
                request_id
                    .as_deref()
                    .map(|id| format!(" [request {id}]"))
                    .unwrap_or_default()
            ),
            Self::Unknown { reason } => format!("unknown: {reason}"),
            Self::NotApplied => "not applied".to_owned(),
        }
    }
}

/// Runs `runs`.
pub fn run(
    args: &RunsArgs,
    config_path: &std::path::Path,
    format: OutputFormat,
) -> Result<Exit, CliError> {
    let config = Config::load(config_path)?;
    let store = open_store_read_only(&config)?;
    match &args.command {
        Some(RunsCommand::Show(show)) => {
            let output = show_run(store.as_ref(), &show.run_id)?;
            match format {
                OutputFormat::Json => print_json(&output),
                OutputFormat::Text => print_show(&output),
            }
        }
        None => {
            let output = list_runs(store.as_ref(), args)?;
            match format {
                OutputFormat::Json => print_json(&output),
                OutputFormat::Text => print_list(&output),
            }
        }
    }
    Ok(Exit::Success)
}

fn internal(e: optisync_state::Error) -> CliError {
    CliError::Internal(anyhow::anyhow!("reading the state store: {e}"))
}

/// The runs to list; none before any run recorded state.
fn list_runs(store: Option<&Store>, args: &RunsArgs) -> Result<RunsOutput, CliError> {
    let Some(store) = store else {
        return Ok(RunsOutput { runs: Vec::new() });
    };
    let runs = store
        .runs(&RunFilter {
            sync: args.sync.clone(),
            limit: Some(args.limit),
            before: None,
        })
        .map_err(internal)?;
    Ok(RunsOutput {
        runs: runs.iter().map(listed).collect(),
    })
}

fn listed(run: &RunRecord) -> RunListed {
    RunListed {
        sync: run.sync.clone(),
        run: RunSummary::from(run),
    }
}

/// One run in full; an id that is not in the state store is a usage error (exit code 64).
fn show_run(store: Option<&Store>, run_id: &str) -> Result<RunShowOutput, CliError> {
    let not_found = || {
        CliError::usage(
            format!("no run {run_id:?} in the state store"),
            "list runs and their ids with `optisync runs`",
        )
    };
    let store = store.ok_or_else(not_found)?;
    let run = store.run(run_id).map_err(internal)?.ok_or_else(not_found)?;
    let rejected = store.rejected_rows(run_id).map_err(internal)?;
    let intents = store.run_intents(run_id).map_err(internal)?;
    Ok(RunShowOutput {
        run: RunSummary::from(&run),
        sync: run.sync.clone(),
        counts: run.counts,
        rejected,
        writes: intents
            .iter()
            .map(|i| WriteOutput {
                primary_key: i.primary_key.clone(),
                operation: i.operation.as_str().to_owned(),
                outcome: i.outcome.as_ref().map(WriteOutcome::from),
            })
            .collect(),
    })
}

fn print_list(output: &RunsOutput) {
    for listed in &output.runs {
        let s = &listed.run;
        crate::outln!(
            "{}  {:<20} {:<14} {:>8} rows {:>6} reads {:>6} writes {:>5} rejected",
            s.id,
            listed.sync,
            s.status,
            s.rows_read,
            s.reads,
            s.requests_sent,
            s.rejected
        );
    }
    if output.runs.is_empty() {
        crate::outln!("no runs yet");
    }
}

fn print_show(output: &RunShowOutput) {
    let s = &output.run;
    crate::outln!("run {} of sync {}: {}", s.id, output.sync, s.status);
    crate::outln!(
        "  started {}, took {} ms",
        s.started_at,
        s.duration_ms.unwrap_or(0)
    );
    let c = &output.counts;
    crate::outln!(
        "  {} rows read; planned {} creates, {} updates, {} removals; {} created, {} updated; +{} / -{} members; {}; {} rejected",
        c.rows_read,
        c.planned_creates,
        c.planned_updates,
        c.planned_removes,
        c.creates,
        c.updates,
        c.list_added,
        c.list_removed,
        crate::output::requests(c.reads, c.requests_sent),
        c.rejected
    );
    if let Some(error) = &s.error {
        crate::outln!("  error: {error}");
    }
    for r in &output.rejected {
        crate::outln!(
            "  ! rejected {:?} ({}): {}{}",
            r.primary_key.as_deref().unwrap_or("(no key)"),
            r.field.as_deref().unwrap_or("row"),
            r.reason,
            r.request_id
                .as_deref()
                .map(|id| format!(" [request {id}]"))
                .unwrap_or_default()
        );
    }
    for w in &output.writes {
        crate::outln!(
            "  write {} {}: {}",
            w.operation,
            w.primary_key.as_deref().unwrap_or("(list)"),
            w.outcome
                .as_ref()
                .map_or_else(|| "no outcome recorded".to_owned(), WriteOutcome::describe)
        );
    }
}
