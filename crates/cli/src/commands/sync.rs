//! `optisync sync [SYNC…]`: plans and applies each sync now, or applies a saved plan exactly
//! (`--plan FILE`, refused per sync when stale). Prints each run's result, counts, rejected
//! rows and notes; the exit code is the most serious outcome over all syncs.

use std::path::{Path, PathBuf};

use clap::Args;
use optisync_core::{RejectedRow, RunStats, SyncPlan};
use optisync_engine::{RunReport, RunResult, SavedPlan};
use schemars::JsonSchema;
use serde::Serialize;

use crate::commands::run_flags::RunFlags;
use crate::config::Config;
use crate::connect;
use crate::error::{CliError, ErrorKind, ErrorObject};
use crate::exit::{Exit, worst};
use crate::output::{OutputFormat, print_json};

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

/// The `--output json` document of `sync`.
#[derive(Debug, Clone, Serialize, JsonSchema)]
pub struct SyncOutput {
    /// One entry per sync run, in the order run.
    pub runs: Vec<RunOutput>,
    /// Syncs that could not run, or stopped on an error.
    pub errors: Vec<ErrorObject>,
}

/// What one run did.
#[derive(Debug, Clone, Serialize, JsonSchema)]
pub struct RunOutput {
    /// The run's id in state (for `optisync runs show`).
    pub run_id: String,
    /// How it ended.
    pub result: RunOutcome,
    /// The plan it applied.
    pub plan: SyncPlan,
    /// Rows read, changes, requests, rejected rows.
    pub counts: RunStats,
    /// Rows rejected, by the plan or by Optimizely; retried on the next run.
    pub rejected: Vec<RejectedRow>,
    /// Notes for the user (adoptions, warnings of the plan).
    pub notes: Vec<String>,
    /// Writes of an interrupted run settled before planning.
    pub settled_intents: u64,
}

/// How a run ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum RunOutcome {
    /// Everything planned was delivered, or there was nothing to do (exit code 0).
    Succeeded,
    /// Delivered, but some rows were rejected (exit code 5).
    RejectedRows,
    /// A guardrail blocked it before any request (exit code 7).
    Blocked,
    /// A refusal stopped it before any request (exit code 7).
    Refused,
}

impl From<RunReport> for RunOutput {
    fn from(report: RunReport) -> Self {
        Self {
            run_id: report.run_id,
            result: match report.result {
                RunResult::Succeeded => RunOutcome::Succeeded,
                RunResult::RejectedRows => RunOutcome::RejectedRows,
                RunResult::Blocked => RunOutcome::Blocked,
                RunResult::Refused => RunOutcome::Refused,
            },
            plan: report.plan,
            counts: report.counts,
            rejected: report.rejected,
            notes: report.notes,
            settled_intents: report.settled_intents as u64,
        }
    }
}

/// Runs `sync`.
pub async fn run(
    args: &SyncArgs,
    config_path: &std::path::Path,
    format: OutputFormat,
) -> Result<Exit, CliError> {
    let (output, exit) = sync(args, config_path, format).await?;
    if format == OutputFormat::Json {
        print_json(&output);
    }
    Ok(exit)
}

/// Runs the selected syncs; text output is printed on the way, the JSON document is returned
/// with the exit code.
pub async fn sync(
    args: &SyncArgs,
    config_path: &std::path::Path,
    format: OutputFormat,
) -> Result<(SyncOutput, Exit), CliError> {
    let config = Config::load(config_path)?;
    let saved = match &args.plan {
        Some(path) => Some(read_plan_file(path)?),
        None => None,
    };
    let names = match (&saved, args.flags.syncs.is_empty()) {
        (Some(saved), true) => saved.syncs.iter().map(|p| p.plan.sync.clone()).collect(),
        _ => args.flags.syncs.clone(),
    };
    let specs = config.select_specs(&names)?;
    crate::commands::init::refuse_placeholders(&config)?;
    let mut engine = connect::connect(&config, "optisync sync").await?;
    let mut exit = Exit::Success;
    let mut runs = Vec::new();
    let mut errors = Vec::new();
    for (index, spec) in specs.iter().enumerate() {
        // A signal stops every sync of the process: the next ones are not started.
        if let Some(signal) = optisync_engine::interrupt::requested() {
            exit = worst(exit, crate::signals::exit_for(signal));
            break;
        }
        let entry = match &saved {
            Some(saved) => match saved.entry(&spec.name) {
                Some(entry) => Some(entry),
                None => {
                    let error = ErrorObject {
                        sync: Some(spec.name.clone()),
                        kind: ErrorKind::StalePlan,
                        message: format!("sync {}: the plan file has no plan for it", spec.name),
                        hint: Some(format!("run `optisync plan {} --out FILE`", spec.name)),
                        exit_code: Exit::InvalidConfig.code(),
                    };
                    exit = worst(exit, Exit::InvalidConfig);
                    report_error(
                        format,
                        &format!("{}; {}", error.message, error.hint.as_deref().unwrap_or("")),
                    );
                    errors.push(error);
                    continue;
                }
            },
            None => None,
        };
        // The last sync's model is the last read: the warehouse closes while it runs.
        if entry.is_none() && index + 1 == specs.len() {
            engine.release_source_after_next_read(optisync_engine::Release::AtExit);
        }
        match engine.sync(spec, args.flags.options(), entry).await {
            Ok(report) => {
                exit = worst(exit, exit_of(&report));
                if format == OutputFormat::Text {
                    print_report(&report);
                }
                runs.push(RunOutput::from(report));
            }
            Err(error) => {
                let (code, object) = ErrorObject::from_engine(&spec.name, error);
                exit = worst(exit, code);
                report_error(format, &object.message);
                errors.push(object);
            }
        }
    }
    Ok((SyncOutput { runs, errors }, exit))
}

/// The most a plan file may hold. A saved plan repeats a list three times (the new list,
/// and the members added and removed, at most 5 MB each as one string, more as pretty JSON)
/// or holds one entry per definition row; a file past this size was not written by `plan`.
const MAX_PLAN_FILE_BYTES: u64 = 1 << 30;

/// Reads and checks a plan file written by `plan --out`: a file that is not one, or that an
/// older optisync wrote, is a problem the user fixes by planning again (exit code 3).
fn read_plan_file(path: &Path) -> Result<SavedPlan, CliError> {
    use std::io::Read;
    let invalid =
        |what: String| CliError::StalePlan(format!("plan file {}: {what}", path.display()));
    let unreadable = |e: std::io::Error| {
        invalid(format!(
            "cannot be read ({e}); pass the file `optisync plan --out FILE` wrote"
        ))
    };
    let mut text = String::new();
    std::fs::File::open(path)
        .map_err(unreadable)?
        .take(MAX_PLAN_FILE_BYTES + 1)
        .read_to_string(&mut text)
        .map_err(unreadable)?;
    if text.len() as u64 > MAX_PLAN_FILE_BYTES {
        return Err(invalid(format!(
            "is larger than {} MiB, more than any plan `optisync plan --out` writes; pass the file it wrote",
            MAX_PLAN_FILE_BYTES >> 20
        )));
    }
    SavedPlan::from_json(&text).map_err(|e| invalid(e.to_string()))
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
    crate::outln!(
        "sync {} ({} {}): {result} (run {})",
        plan.sync,
        plan.kind.object(),
        plan.kind.mode(),
        report.run_id
    );
    let mut line = format!("  {} read", crate::output::count(c.rows_read, "row"));
    if plan.list().is_some() {
        line.push_str(&format!(
            ", +{} / -{} members",
            c.list_added, c.list_removed
        ));
    } else if let Some(profiles) = plan.profiles() {
        line.push_str(&format!(
            ", {} profiles given {} and {} cleared",
            c.list_added, profiles.field, c.list_removed
        ));
    } else {
        line.push_str(&format!(", {} created, {} updated", c.creates, c.updates));
    }
    line.push_str(&format!(
        ", {}, {} rejected",
        crate::output::requests(c.reads, c.requests_sent),
        c.rejected
    ));
    crate::outln!("{line}");
    if report.settled_intents > 0 {
        crate::outln!(
            "  settled {} writes of an interrupted run",
            report.settled_intents
        );
    }
    for guardrail in &plan.guardrails {
        crate::outln!("  ✗ blocked: {guardrail}");
    }
    if let Some(refusal) = &plan.refusal {
        crate::outln!("  ✗ refused: {refusal}");
    }
    let shown = optisync_engine::plan_text::SECTION_LIMIT;
    for row in report.rejected.iter().take(shown) {
        let key = row.primary_key.as_deref().unwrap_or("(no key)");
        let field = row.field.as_deref().unwrap_or("row");
        let request = row
            .request_id
            .as_deref()
            .map(|id| format!(" [request {id}]"))
            .unwrap_or_default();
        crate::outln!(
            "  ! rejected {key:?} ({field}): {}{request}; fix the row in the model, it is retried on the next run",
            row.reason
        );
    }
    if report.rejected.len() > shown {
        crate::outln!(
            "  … and {} more rejected rows (see them all with `optisync runs show {}` or --output json)",
            crate::output::thousands((report.rejected.len() - shown) as u64),
            report.run_id
        );
    }
    for note in &report.notes {
        crate::outln!("  note: {note}");
    }
}
