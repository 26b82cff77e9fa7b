//! The command line: raw arguments parsed by clap. Each verb's `--help` carries an example.
//! A verb's own arguments are defined next to it, in `commands/`; this module only assembles
//! them, so the verbs never depend on it.

use std::path::PathBuf;

use clap::{Args, Parser, Subcommand, ValueEnum};

use crate::commands::{check, demo, init, plan, reset, runs, serve, sync, validate};
use crate::output::OutputFormat;

/// Sync customer data from your warehouse into Optimizely.
#[derive(Debug, Parser)]
#[command(name = "optisync", version, about, long_about = None)]
pub struct Cli {
    /// Global options.
    #[command(flatten)]
    pub global: GlobalArgs,
    /// The verb.
    #[command(subcommand)]
    pub command: Command,
}

/// Options every verb takes.
#[derive(Debug, Args)]
pub struct GlobalArgs {
    /// The config file.
    #[arg(
        long,
        global = true,
        default_value = "optisync.toml",
        env = "OPTISYNC_CONFIG"
    )]
    pub config: PathBuf,
    /// How results are printed on stdout.
    #[arg(long, global = true, value_enum, default_value_t = OutputFormat::Text)]
    pub output: OutputFormat,
    /// More logging on stderr (-v info, -vv debug, -vvv trace).
    #[arg(short, long, global = true, action = clap::ArgAction::Count)]
    pub verbose: u8,
    /// Less logging (errors only).
    #[arg(short, long, global = true)]
    pub quiet: bool,
    /// The format of log lines on stderr.
    #[arg(long, global = true, value_enum, default_value_t = LogFormat::Text)]
    pub log_format: LogFormat,
}

/// `--log-format`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum LogFormat {
    /// Human-readable lines.
    Text,
    /// One JSON object per line.
    Json,
}

/// The verbs.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Write a commented starter optisync.toml (and, with --example, sample data it reads).
    #[command(after_help = "Example:\n  optisync init --example && optisync validate")]
    Init(init::InitArgs),
    /// Check the config offline: keys, mappings, and model columns (by describing each model).
    #[command(
        after_help = "Example:\n  optisync validate\n  optisync validate beta_testers --output json\n\nExit codes: 0 valid, 3 invalid (one line per problem)."
    )]
    Validate(validate::ValidateArgs),
    /// Read-only checks: the warehouse answers and accepts each model (described, not run); against Optimizely: token, project, product, list attributes; against ODP: the key, each ODP sync's identifier and field, the datafiles' ODP integration.
    #[command(
        after_help = "Example:\n  OPTIMIZELY_TOKEN=... optisync check --config optisync.toml\n  optisync check --create-fields   # also create missing boolean ODP fields\n\nExit codes: 0 all is well, 3 invalid config (including the placeholder ids `optisync init` writes), 4 a check failed (one line per problem)."
    )]
    Check(check::CheckArgs),
    /// Try optisync with no setup: an in-process fake Optimizely, a config, and a check.
    #[command(after_help = "Example:\n  optisync demo\n  optisync demo --dir /tmp/optisync-demo")]
    Demo(demo::DemoArgs),
    /// Show what a sync would send, sending nothing.
    #[command(
        after_help = "Example:\n  optisync plan\n  optisync plan beta_testers --out plan.json --detailed-exitcode\n\nExit codes: 0 (no changes, or changes without --detailed-exitcode), 2 changes present, 3 invalid config."
    )]
    Plan(plan::PlanArgs),
    /// Plan and apply now, or apply a saved plan exactly.
    #[command(
        after_help = "Example:\n  optisync sync\n  optisync sync --plan plan.json\n\nExit codes: 0 success, 5 rejected rows, 6 locked, 7 blocked by a guardrail (more than max_creates creates, a large removal, an empty model) or refused before any request (a list over 5 MB, a saved plan over changes made in Optimizely since), 3 invalid config (including an unreachable warehouse, an unknown project or a refused token) or a saved plan of an older format, 143 or 130 stopped by SIGTERM or SIGINT at a safe point."
    )]
    Sync(sync::SyncArgs),
    /// Run every sync on its schedule, with a status page, a JSON API (trigger, pause, resume, runs), metrics, alerts and health checks.
    #[command(
        after_help = "Example:\n  optisync serve\n  OPTISYNC_API_TOKEN=... optisync serve --bind 0.0.0.0:8080\n  curl -X POST -H \"Authorization: Bearer $OPTISYNC_API_TOKEN\" http://127.0.0.1:8080/api/syncs/beta_testers/runs\n\nSchedules: schedule = \"*/15 * * * *\" (UTC), { cron = \"0 6 * * *\", tz = \"Europe/Berlin\" }, { every = \"10min\" } or \"manual\".\nExit codes: 0 stopped by SIGTERM or SIGINT (after the grace period), 3 invalid config or an address that cannot be bound; a second signal exits 143 or 130 at once.\nSIGHUP reloads the config once the runs in flight finish; a config with an error is refused and the old one kept."
    )]
    Serve(serve::ServeArgs),
    /// Each sync's last run, delivered state, pending rejected rows and lock.
    #[command(after_help = "Example:\n  optisync status --output json")]
    Status,
    /// Run history, newest first; `runs show RUN_ID` for one run with its rejected rows.
    #[command(
        after_help = "Example:\n  optisync runs\n  optisync runs beta_testers --limit 5\n  optisync runs show 20250101T120000Z-beta_testers-1a2b --output json"
    )]
    Runs(runs::RunsArgs),
    /// Forget a sync's delivered state so its next run starts fresh.
    #[command(after_help = "Example:\n  optisync reset beta_testers --yes")]
    Reset(reset::ResetArgs),
}
