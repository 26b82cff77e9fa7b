//! The command line: raw arguments parsed by clap. Each verb's `--help` carries an example.

use std::path::PathBuf;

use clap::{Args, Parser, Subcommand, ValueEnum};

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

/// `--output`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum OutputFormat {
    /// Human-readable text.
    Text,
    /// One JSON document.
    Json,
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
    /// Read-only checks against Optimizely: token, project, product, list attributes.
    #[command(
        after_help = "Example:\n  OPTIMIZELY_TOKEN=... optisync check --config optisync.toml\n\nExit codes: 0 all is well, 3 invalid config, 4 a check failed (one line per problem)."
    )]
    Check,
    /// Try optisync with no setup: an in-process fake Optimizely, a config, and a check.
    #[command(after_help = "Example:\n  optisync demo\n  optisync demo --dir /tmp/optisync-demo")]
    Demo(DemoArgs),
}

/// `optisync demo`.
#[derive(Debug, Args)]
pub struct DemoArgs {
    /// Where the demo writes its config (default: a new temporary directory).
    #[arg(long)]
    pub dir: Option<PathBuf>,
}
