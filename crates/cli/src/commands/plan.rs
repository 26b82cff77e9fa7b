//! `optisync plan [SYNC…]`: computes what a run of each sync would send and prints it, sending
//! nothing and recording nothing. `--out FILE` saves the plans for `sync --plan FILE`;
//! `--detailed-exitcode` exits 2 when any plan has changes.

use std::path::PathBuf;

use anyhow::Context;
use clap::Args;
use optisync_core::SyncPlan;
use optisync_engine::{PreparedPlan, SavedPlan};
use schemars::JsonSchema;
use serde::Serialize;

use crate::commands::run_flags::RunFlags;
use crate::config::Config;
use crate::connect;
use crate::error::{CliError, ErrorObject};
use crate::exit::Exit;
use crate::output::{OutputFormat, print_json};
use optisync_engine::plan_text;

/// `optisync plan`.
#[derive(Debug, Args)]
pub struct PlanArgs {
    /// Which syncs, and switches that change the plan.
    #[command(flatten)]
    pub flags: RunFlags,
    /// Save the plans as JSON, to apply exactly with `optisync sync --plan FILE`.
    #[arg(long, value_name = "FILE")]
    pub out: Option<PathBuf>,
    /// Exit 2 when there are changes, 0 when there are none.
    #[arg(long)]
    pub detailed_exitcode: bool,
}

/// The `--output json` document of `plan`.
#[derive(Debug, Clone, Serialize, JsonSchema)]
pub struct PlanOutput {
    /// One entry per sync planned, in the order planned.
    pub plans: Vec<PlanEntry>,
    /// Syncs that could not be planned.
    pub errors: Vec<ErrorObject>,
    /// Read requests made to plan (the project, each list, each page of objects).
    pub reads: u64,
    /// Write requests all the plans need together.
    pub requests: u64,
    /// How long sending them takes at the rate limit, in seconds.
    pub estimated_seconds: u64,
    /// Whether any plan sends anything.
    pub changes: bool,
}

/// The plan of one sync, with what it was made against; the same entry a plan file holds.
#[derive(Debug, Clone, Serialize, JsonSchema)]
pub struct PlanEntry {
    /// The sync's state version when the plan was made.
    pub state_version: u64,
    /// A hash of the sync's config when the plan was made.
    pub config_hash: String,
    /// The project it was made for.
    pub project_id: i64,
    /// The plan itself.
    pub plan: SyncPlan,
}

impl From<PreparedPlan> for PlanEntry {
    fn from(prepared: PreparedPlan) -> Self {
        Self {
            state_version: prepared.state_version,
            config_hash: prepared.config_hash,
            project_id: prepared.project_id,
            plan: prepared.plan,
        }
    }
}

/// Runs `plan`.
pub async fn run(
    args: &PlanArgs,
    config_path: &std::path::Path,
    format: OutputFormat,
) -> Result<Exit, CliError> {
    let (output, exit) = plan(args, config_path, format).await?;
    if format == OutputFormat::Json {
        print_json(&output);
    }
    Ok(exit)
}

/// Plans the selected syncs and saves them with `--out`; text output is printed on the way,
/// the JSON document is returned with the exit code.
pub async fn plan(
    args: &PlanArgs,
    config_path: &std::path::Path,
    format: OutputFormat,
) -> Result<(PlanOutput, Exit), CliError> {
    let config = Config::load(config_path)?;
    let specs = config.select_specs(&args.flags.syncs)?;
    crate::commands::init::refuse_placeholders(&config)?;
    let mut engine = connect::connect(&config, "optisync plan").await?;
    let mut plans: Vec<PreparedPlan> = Vec::new();
    let mut errors = Vec::new();
    let mut exit = Exit::Success;
    for (index, spec) in specs.iter().enumerate() {
        // The last sync's model is the last read: the warehouse closes while it plans.
        if index + 1 == specs.len() {
            engine.release_source_after_next_read(optisync_engine::Release::AtExit);
        }
        match engine.plan(spec, args.flags.options()).await {
            Ok(prepared) => {
                if format == OutputFormat::Text {
                    let limit = engine.rate_limit_for(&prepared.plan);
                    crate::outln!("{}", plan_text::render(&prepared.plan, limit));
                }
                plans.push(prepared);
            }
            Err(error) => {
                let (code, object) = ErrorObject::from_engine(&spec.name, error);
                exit = crate::exit::worst(exit, code);
                if format == OutputFormat::Text {
                    eprintln!("error: {}", object.message);
                }
                errors.push(object);
            }
        }
    }
    let requests: u64 = plans.iter().map(|p| p.plan.request_count()).sum();
    let changes = plans.iter().any(|p| p.plan.has_changes());
    let reads = engine.request_counts().reads;
    // The summary's pace: ODP's when every plan writes to ODP, else Optimizely's.
    let limit = match plans.first() {
        Some(first) if plans.iter().all(|p| p.plan.profiles().is_some()) => {
            engine.rate_limit_for(&first.plan)
        }
        _ => engine.client().limiter().limit(),
    };
    if format == OutputFormat::Text {
        crate::outln!(
            "Plan: {} sync{} ({}), {}",
            plans.len(),
            if plans.len() == 1 { "" } else { "s" },
            crate::output::count(reads, "read"),
            plan_text::requests_line(requests, limit)
        );
    }
    if let Some(out) = &args.out {
        let saved = SavedPlan::new(plans);
        let text = serde_json::to_string_pretty(&saved).context("serializing the plan")?;
        // Owner-only: the plan holds list members and field values.
        optisync_state::private_file::write(out, text.as_bytes())
            .with_context(|| format!("writing {}", out.display()))?;
        if format == OutputFormat::Text {
            crate::outln!(
                "Saved to {}; apply it with: optisync sync --plan {}",
                out.display(),
                out.display()
            );
        }
        plans = saved.syncs;
    }
    let output = PlanOutput {
        plans: plans.into_iter().map(PlanEntry::from).collect(),
        errors,
        reads,
        requests,
        estimated_seconds: plan_text::estimate(requests, limit).as_secs(),
        changes,
    };
    if exit == Exit::Success && args.detailed_exitcode && changes {
        exit = Exit::ChangesPresent;
    }
    Ok((output, exit))
}
