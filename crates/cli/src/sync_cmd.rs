//! `optisync sync [SYNC…]`: plans and applies each sync now, or applies a saved plan exactly
//! (`--plan FILE`, refused per sync when stale). Prints each run's result, counts, rejected
//! rows and notes; the exit code is the most serious outcome over all syncs.

use std::path::PathBuf;

use anyhow::Context;
use clap::Args;
use optisync_engine::{RunReport, RunResult, SavedPlan};
use serde_json::json;

use crate::cli::OutputFormat;
use crate::config::Config;
use crate::error::CliError;
use crate::exit::{Exit, worst};
use crate::output::print_json;
use crate::run_flags::RunFlags;
use crate::sync_spec;

/// `optisync sync`.
#[derive(Debug, Args)]
pub struct SyncArgs {
    /// Which syncs, and switches that change the plan.
    #[command(flatten)]
    pub flags: RunFlags,
    /// Apply this saved plan (from `optisync plan --out FILE`) exactly.
    #[arg(long, value_name = "FILE")]
    pub plan: Option<PathBuf>,
}

/// Runs `sync`.
pub async fn run(
    args: &SyncArgs,
    config_path: &std::path::Path,
    format: OutputFormat,
) -> Result<Exit, CliError> {
    let config = Config::load(config_path)?;
    let saved = match &args.plan {
        Some(path) => {
            let text = std::fs::read_to_string(path)
                .with_context(|| format!("reading {}", path.display()))?;
            let saved: SavedPlan = serde_json::from_str(&text)
                .with_context(|| format!("{} is not an optisync plan file", path.display()))?;
            Some(saved)
        }
        None => None,
    };
    let names = match (&saved, args.flags.syncs.is_empty()) {
        (Some(saved), true) => saved.syncs.iter().map(|p| p.plan.sync.clone()).collect(),
        _ => args.flags.syncs.clone(),
    };
    let specs = sync_spec::select_specs(&config, &names)?;
    let mut engine = sync_spec::connect(&config, "optisync sync").await?;
    let mut exit = Exit::Success;
    let mut reports = Vec::new();
    let mut errors = Vec::new();
    for spec in &specs {
        let entry = match &saved {
            Some(saved) => match saved.entry(&spec.name) {
                Some(entry) => Some(entry.clone()),
                None => {
                    let message = format!(
                        "sync {}: the plan file has no plan for it; run `optisync plan {} --out FILE`",
                        spec.name, spec.name
                    );
                    exit = worst(exit, Exit::InvalidConfig);
                    report_error(format, &message);
                    errors.push(json!({"sync": spec.name, "error": message}));
                    continue;
                }
            },
            None => None,
        };
        match engine.sync(spec, args.flags.options(), entry).await {
            Ok(report) => {
                exit = worst(exit, exit_of(&report));
                if format == OutputFormat::Text {
                    print_report(&report);
                }
                reports.push(report);
            }
            Err(error) => {
                let cli = CliError::from_engine(error);
                exit = worst(exit, cli.exit());
                report_error(format, &cli.to_string());
                errors.push(json!({"sync": spec.name, "error": cli.to_string()}));
            }
        }
    }
    if format == OutputFormat::Json {
        print_json(&json!({ "runs": reports, "errors": errors }));
    }
    Ok(exit)
}

fn report_error(format: OutputFormat, message: &str) {
    if format == OutputFormat::Text {
        eprintln!("error: {message}");
    }
}

/// The exit code of one run.
pub fn exit_of(report: &RunReport) -> Exit {
    match report.result {
        RunResult::Succeeded => Exit::Success,
        RunResult::RejectedRows => Exit::RejectedRows,
        RunResult::Blocked => Exit::Guardrail,
        // Refused before any request (a list over 5 MB, a first add/remove run with no base):
        // like a guardrail, the message says how to proceed.
        RunResult::Refused => Exit::Guardrail,
    }
}

fn print_report(report: &RunReport) {
    let c = &report.counts;
    let plan = &report.plan;
    let result = match report.result {
        RunResult::Succeeded => "succeeded",
        RunResult::RejectedRows => "finished with rejected rows",
        RunResult::Blocked => "blocked by a guardrail",
        RunResult::Refused => "refused",
    };
    println!(
        "sync {} ({} {}): {result} (run {})",
        plan.sync, plan.object, plan.mode, report.run_id
    );
    let mut line = format!("  {} read", crate::output::count(c.rows_read, "row"));
    if plan.list.is_some() {
        line.push_str(&format!(
            ", +{} / -{} members",
            c.list_added, c.list_removed
        ));
    } else {
        line.push_str(&format!(", {} created, {} updated", c.creates, c.updates));
    }
    line.push_str(&format!(
        ", {}, {} rejected",
        crate::output::count(c.requests_sent, "write request"),
        c.rejected
    ));
    println!("{line}");
    if report.settled_intents > 0 {
        println!(
            "  settled {} writes of an interrupted run",
            report.settled_intents
        );
    }
    for guardrail in &plan.guardrails {
        println!("  ✗ blocked: {guardrail}");
    }
    if let Some(refusal) = &plan.refusal {
        println!("  ✗ refused: {refusal}");
    }
    for row in &report.rejected {
        let key = row.primary_key.as_deref().unwrap_or("(no key)");
        let field = row.field.as_deref().unwrap_or("row");
        let request = row
            .request_id
            .as_deref()
            .map(|id| format!(" [request {id}]"))
            .unwrap_or_default();
        println!(
            "  ! rejected {key:?} ({field}): {}{request}; fix the row in the model, it is retried on the next run",
            row.reason
        );
    }
    for note in &report.notes {
        println!("  note: {note}");
    }
}
