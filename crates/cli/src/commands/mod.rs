//! The verbs, one file each. [`run`] dispatches a parsed command line to its verb; every verb
//! returns the [`Exit`] it ends with, or an error that chooses one.

pub mod check;
pub mod demo;
pub mod init;
pub mod plan;
pub mod reset;
pub mod run_flags;
pub mod runs;
pub mod serve;
pub mod status;
pub mod sync;
pub mod validate;

use crate::cli::{Cli, Command};
use crate::error::CliError;
use crate::exit::Exit;
use crate::{config, warehouse};

/// Runs the verb the command line names and returns its exit code.
pub async fn run(cli: Cli) -> Result<Exit, CliError> {
    let format = cli.global.output;
    match cli.command {
        Command::Check(args) => {
            let config = config::Config::load(&cli.global.config)?;
            let report = check::run_with(&config, &args).await?;
            report.print(format);
            Ok(if report.passed() {
                Exit::Success
            } else {
                Exit::CheckFailed
            })
        }
        Command::Demo(args) => demo::run(args, format).await,
        Command::Plan(args) => plan::run(&args, &cli.global.config, format).await,
        Command::Sync(args) => sync::run(&args, &cli.global.config, format).await,
        Command::Serve(args) => serve::run(&args, &cli.global.config).await,
        Command::Status => status::run(&cli.global.config, format),
        Command::Runs(args) => runs::run(&args, &cli.global.config, format),
        Command::Reset(args) => reset::run(&args, &cli.global.config, format),
        Command::Init(args) => {
            let written = init::run(&cli.global.config, args.example)?;
            init::print(written, format);
            Ok(Exit::Success)
        }
        Command::Validate(selection) => {
            let config = config::Config::load(&cli.global.config)?;
            let syncs = config.select_syncs(&selection.syncs)?;
            let source = warehouse::open(&config)?;
            let report = validate::run(&source, &syncs).await;
            validate::print(&report, format);
            Ok(if report.passed() {
                Exit::Success
            } else {
                Exit::InvalidConfig
            })
        }
    }
}
