//! `optisync runs [SYNC]` lists run history, newest first; `optisync runs show RUN_ID` shows
//! one run with its counts, rejected rows and the request ids of its writes. The state store
//! is opened read-only: nothing is created or written.

use clap::Args;
use optisync_state::RunFilter;
use serde_json::json;

use crate::cli::OutputFormat;
use crate::commands::status::RunSummary;
use crate::config::Config;
use crate::error::{CliError, ConfigError};
use crate::exit::Exit;
use crate::output::print_json;
use crate::sync_spec::open_store_read_only;

/// `optisync runs`.
#[derive(Debug, Args)]
pub struct RunsArgs {
    /// A sync name to filter by, or `show RUN_ID` for one run.
    pub args: Vec<String>,
    /// How many runs to list.
    #[arg(long, default_value_t = 20)]
    pub limit: usize,
}

/// Runs `runs`.
pub fn run(
    args: &RunsArgs,
    config_path: &std::path::Path,
    format: OutputFormat,
) -> Result<Exit, CliError> {
    let config = Config::load(config_path)?;
    let Some(store) = open_store_read_only(&config)? else {
        return no_state(args, format);
    };
    let internal = |e: optisync_state::Error| {
        CliError::Internal(anyhow::anyhow!("reading the state store: {e}"))
    };
    match args.args.as_slice() {
        [show, run_id] if show == "show" => {
            let Some(run) = store.run(run_id).map_err(internal)? else {
                return Err(ConfigError::Invalid(format!(
                    "no run {run_id:?} in the state store; list runs with `optisync runs`"
                ))
                .into());
            };
            let rejected = store.rejected_rows(run_id).map_err(internal)?;
            let intents = store.run_intents(run_id).map_err(internal)?;
            match format {
                OutputFormat::Json => print_json(&json!({
                    "run": RunSummary::from(&run),
                    "sync": run.sync,
                    "counts": {
                        "rows_read": run.counts.rows_read,
                        "planned_creates": run.counts.planned_creates,
                        "planned_updates": run.counts.planned_updates,
                        "list_added": run.counts.list_added,
                        "list_removed": run.counts.list_removed,
                        "requests_sent": run.counts.requests_sent,
                        "rejected": run.counts.rejected,
                    },
                    "rejected": rejected.iter().map(|r| json!({
                        "primary_key": r.primary_key, "field": r.field,
                        "reason": r.reason, "request_id": r.request_id,
                    })).collect::<Vec<_>>(),
                    "writes": intents.iter().map(|i| json!({
                        "primary_key": i.primary_key,
                        "operation": i.operation.as_str(),
                        "outcome": i.outcome.as_ref().map(|o| format!("{o:?}")),
                    })).collect::<Vec<_>>(),
                })),
                OutputFormat::Text => {
                    let s = RunSummary::from(&run);
                    crate::outln!("run {} of sync {}: {}", s.id, run.sync, s.status);
                    crate::outln!(
                        "  started {}, took {} ms",
                        s.started_at,
                        s.duration_ms.unwrap_or(0)
                    );
                    let c = &run.counts;
                    crate::outln!(
                        "  {} rows read; planned {} creates, {} updates, {} removals; +{} / -{} members; {} requests; {} rejected",
                        c.rows_read,
                        c.planned_creates,
                        c.planned_updates,
                        c.planned_removes,
                        c.list_added,
                        c.list_removed,
                        c.requests_sent,
                        c.rejected
                    );
                    if let Some(error) = &run.error {
                        crate::outln!("  error: {error}");
                    }
                    for r in &rejected {
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
                    for i in &intents {
                        crate::outln!(
                            "  write {} {}: {:?}",
                            i.operation.as_str(),
                            i.primary_key.as_deref().unwrap_or("(list)"),
                            i.outcome
                        );
                    }
                }
            }
        }
        rest => {
            let sync = match rest {
                [] => None,
                [sync] => Some(sync.clone()),
                _ => {
                    return Err(ConfigError::Invalid(
                        "usage: optisync runs [SYNC] | optisync runs show RUN_ID".into(),
                    )
                    .into());
                }
            };
            let runs = store
                .runs(&RunFilter {
                    sync,
                    limit: Some(args.limit),
                })
                .map_err(internal)?;
            let summaries = runs.iter().map(RunSummary::from).collect::<Vec<_>>();
            match format {
                OutputFormat::Json => print_json(&json!({ "runs": summaries })),
                OutputFormat::Text => {
                    for (run, s) in runs.iter().zip(&summaries) {
                        crate::outln!(
                            "{}  {:<20} {:<14} {:>8} rows {:>6} requests {:>5} rejected",
                            s.id,
                            run.sync,
                            s.status,
                            s.rows_read,
                            s.requests_sent,
                            s.rejected
                        );
                    }
                    if runs.is_empty() {
                        crate::outln!("no runs yet");
                    }
                }
            }
        }
    }
    Ok(Exit::Success)
}

/// `runs` before any run recorded state: no runs, and no run to show.
fn no_state(args: &RunsArgs, format: OutputFormat) -> Result<Exit, CliError> {
    match args.args.as_slice() {
        [show, run_id] if show == "show" => Err(ConfigError::Invalid(format!(
            "no run {run_id:?} in the state store; list runs with `optisync runs`"
        ))
        .into()),
        [] | [_] => {
            match format {
                OutputFormat::Json => print_json(&json!({ "runs": [] })),
                OutputFormat::Text => crate::outln!("no runs yet"),
            }
            Ok(Exit::Success)
        }
        _ => Err(ConfigError::Invalid(
            "usage: optisync runs [SYNC] | optisync runs show RUN_ID".into(),
        )
        .into()),
    }
}
