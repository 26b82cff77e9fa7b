//! The `optisync` command line as a library: argument parsing, config loading, the verbs and
//! their output, and the mapping of outcomes to exit codes. `main.rs` only calls [`main`].
//!
//! Module map:
//! - [`cli`]: clap definitions of verbs and global flags
//! - [`config`]: `optisync.toml` types, loading and validation
//! - [`check`]: the `check` verb
//! - [`demo`]: the `demo` verb (fake Optimizely in-process)
//! - [`output`]: printing results as text or JSON
//! - [`exit`], [`error`]: exit codes and the errors that choose them

pub mod check;
pub mod cli;
pub mod config;
pub mod demo;
pub mod error;
pub mod exit;
pub mod output;

use std::process::ExitCode;

use clap::Parser;

use crate::cli::{Cli, Command, LogFormat};
use crate::error::CliError;
use crate::exit::Exit;

/// Runs the program with the process's arguments and returns its exit code.
pub fn main() -> ExitCode {
    let cli = Cli::parse();
    init_logging(&cli);
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("error: cannot start the async runtime: {e}");
            return Exit::Internal.into();
        }
    };
    match runtime.block_on(run(cli)) {
        Ok(exit) => exit.into(),
        Err(err) => {
            eprintln!("error: {err:#}");
            err.exit().into()
        }
    }
}

async fn run(cli: Cli) -> Result<Exit, CliError> {
    let format = cli.global.output;
    match cli.command {
        Command::Check => {
            let config = config::Config::load(&cli.global.config)?;
            let report = check::run(&config).await?;
            output::print_check(&report, format);
            Ok(if report.passed() {
                Exit::Success
            } else {
                Exit::CheckFailed
            })
        }
        Command::Demo(args) => demo::run(args, format).await,
    }
}

fn init_logging(cli: &Cli) {
    use tracing_subscriber::EnvFilter;
    let default = if cli.global.quiet {
        "error"
    } else {
        match cli.global.verbose {
            0 => "warn",
            1 => "info",
            2 => "debug",
            _ => "trace",
        }
    };
    let filter =
        EnvFilter::try_from_env("OPTISYNC_LOG").unwrap_or_else(|_| EnvFilter::new(default));
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .with_target(false);
    match cli.global.log_format {
        LogFormat::Text => builder.init(),
        LogFormat::Json => builder.json().init(),
    }
}
