//! `optisync plan [SYNC…]`: computes what a run of each sync would send and prints it, sending
//! nothing and recording nothing. `--out FILE` saves the plans for `sync --plan FILE`;
//! `--detailed-exitcode` exits 2 when any plan has changes.

use std::path::PathBuf;

use anyhow::Context;
use clap::Args;
use optisync_engine::{PreparedPlan, SavedPlan};
use serde_json::json;

use crate::cli::OutputFormat;
use crate::commands::run_flags::RunFlags;
use crate::config::Config;
use crate::error::CliError;
use crate::exit::Exit;
use crate::output::print_json;
use crate::plan_text;
use crate::sync_spec;

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

/// Runs `plan`.
pub async fn run(
    args: &PlanArgs,
    config_path: &std::path::Path,
    format: OutputFormat,
) -> Result<Exit, CliError> {
    let config = Config::load(config_path)?;
    let specs = sync_spec::select_specs(&config, &args.flags.syncs)?;
    let mut engine = sync_spec::connect(&config, "optisync plan").await?;
    let limit = engine.client().limiter().limit();
    let mut plans: Vec<PreparedPlan> = Vec::new();
    let mut errors = Vec::new();
    let mut exit = Exit::Success;
    for spec in &specs {
        match engine.plan(spec, args.flags.options()).await {
            Ok(prepared) => {
                if format == OutputFormat::Text {
                    crate::outln!("{}", plan_text::render(&prepared.plan, limit));
                }
                plans.push(prepared);
            }
            Err(error) => {
                let cli = CliError::from_engine(error);
                exit = crate::exit::worst(exit, cli.exit());
                if format == OutputFormat::Text {
                    eprintln!("error: {cli}");
                }
                errors.push(cli.to_string());
            }
        }
    }
    let requests: u64 = plans.iter().map(|p| p.plan.request_count()).sum();
    let changes = plans.iter().any(|p| p.plan.has_changes());
    match format {
        OutputFormat::Text => crate::outln!(
            "Plan: {} sync{}, {}",
            plans.len(),
            if plans.len() == 1 { "" } else { "s" },
            plan_text::requests_line(requests, limit)
        ),
        OutputFormat::Json => print_json(&json!({
            "plans": plans,
            "errors": errors,
            "requests": requests,
            "estimated_seconds": plan_text::estimate(requests, limit).as_secs(),
            "changes": changes,
        })),
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
    }
    if exit != Exit::Success {
        return Ok(exit);
    }
    Ok(if args.detailed_exitcode && changes {
        Exit::ChangesPresent
    } else {
        Exit::Success
    })
}
