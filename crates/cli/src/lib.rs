//! The `optisync` command line as a library: argument parsing, config loading, the verbs and
//! their output, and the mapping of outcomes to exit codes. `main.rs` only calls [`main`].
//!
//! Module map:
//! - [`cli`]: clap definitions of verbs and global flags
//! - [`config`]: `optisync.toml` types, loading and validation
//! - [`commands`]: the verbs, one file each (`init`, `validate`, `check`, `demo`, `plan`,
//!   `sync`, `status`, `runs`, `reset`), and the dispatch from a parsed command line to them
//! - [`warehouse`]: opening the configured source
//! - [`connect`]: config → the engine's `SyncSpec`, and opening the engine (the plan as
//!   text is the engine's `plan_text`, so that runs keep it too)
//! - [`output`]: `--output` and printing results as text or JSON; [`schemas`]: the JSON Schema
//!   of each verb's JSON document (docs/output-schemas/); [`progress`]: progress bars on a
//!   terminal; [`stdout`]: standard output that a closed pipe or a full disk cannot break
//! - [`signals`]: SIGTERM and SIGINT (a sync stops at a safe point)
//! - [`exit`], [`error`]: exit codes and the errors that choose them

pub mod cli;
pub mod commands;
pub mod config;
pub mod connect;
pub mod error;
pub mod exit;
pub mod output;
pub mod progress;
pub mod schemas;
pub mod signals;
pub mod stdout;
pub mod warehouse;

use std::io::Write;

use clap::Parser;

use crate::cli::{Cli, Command, LogFormat};
use crate::commands::demo;
use crate::exit::Exit;
use crate::output::OutputFormat;

/// Runs the program with the process's arguments and ends the process with its exit code
/// ([`exit::now`]).
pub fn main() -> ! {
    let cli = match Cli::try_parse() {
        Ok(cli) => cli,
        Err(e) => {
            // Help and version go to stdout and exit 0; a wrong command line exits 64, never
            // clap's 2, which `plan --detailed-exitcode` uses for "changes present".
            let _ = e.print();
            exit::now(if e.use_stderr() {
                Exit::Usage
            } else {
                Exit::Success
            });
        }
    };
    let bars = init_logging(&cli);
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("error: cannot start the async runtime: {e}");
            exit::now(Exit::Internal);
        }
    };
    let format = cli.global.output;
    let result = runtime.block_on(async {
        // `serve` stops on signals its own way (a grace period for the runs in flight).
        if !matches!(
            cli.command,
            Command::Serve(_) | Command::Demo(demo::DemoArgs { serve: true, .. })
        ) {
            signals::install(matches!(cli.command, Command::Sync(_)));
        }
        commands::run(cli).await
    });
    if let Some(bars) = bars {
        bars.clear();
    }
    // Everything the command awaited is done, and the process is about to exit: its worker
    // threads need not be waited for one by one.
    runtime.shutdown_background();
    let exit = match result {
        Ok(exit) => exit,
        Err(err) => {
            // A closed stderr must not turn an error into a panic either.
            let _ = writeln!(std::io::stderr(), "error: {err:#}");
            // A program reading stdout gets the same error as a document, never nothing.
            if format == OutputFormat::Json {
                output::print_json(&error::ErrorOutput {
                    error: err.to_object(None),
                });
            }
            err.exit()
        }
    };
    exit::now(stdout::finish(exit))
}

/// True when log lines may carry ANSI colour codes: stderr is a terminal, and `NO_COLOR` is
/// unset or empty (<https://no-color.org>). A log file or a pipe (cron, systemd, CI) gets
/// plain text.
fn log_colour() -> bool {
    use std::io::IsTerminal;
    std::io::stderr().is_terminal() && std::env::var_os("NO_COLOR").is_none_or(|v| v.is_empty())
}

/// Sets up logging to stderr. On a terminal (text logs, not `-q`) the progress of long steps
/// is a bar rather than a line every few seconds; the bars are returned, to be cleared at the
/// end. Colour only where [`log_colour`] allows it.
fn init_logging(cli: &Cli) -> Option<progress::Bars> {
    use std::io::IsTerminal;
    use tracing_subscriber::layer::SubscriberExt;
    use tracing_subscriber::util::SubscriberInitExt;
    use tracing_subscriber::{EnvFilter, Layer};

    let default = if cli.global.quiet {
        "error"
    } else {
        match cli.global.verbose {
            // Long steps log a progress line every few seconds, even without -v.
            // A service says what it runs.
            0 if matches!(cli.command, Command::Serve(_)) => "info",
            0 => "warn,progress=info",
            1 => "info",
            2 => "debug",
            _ => "trace",
        }
    };
    let directives = std::env::var("OPTISYNC_LOG").unwrap_or_else(|_| default.to_owned());
    let colour = log_colour();
    let bars = (std::io::stderr().is_terminal()
        && !cli.global.quiet
        && cli.global.log_format == LogFormat::Text)
        .then(progress::Bars::default);
    let Some(bars) = bars else {
        let filter = EnvFilter::try_new(&directives).unwrap_or_else(|_| EnvFilter::new(default));
        let builder = tracing_subscriber::fmt()
            .with_env_filter(filter)
            .with_writer(std::io::stderr)
            .with_ansi(colour)
            .with_target(false);
        match cli.global.log_format {
            LogFormat::Text => builder.init(),
            LogFormat::Json => builder.json().init(),
        }
        return None;
    };
    // The bar replaces the progress lines.
    optisync_engine::progress::set_interval(std::time::Duration::from_millis(100));
    let filter = EnvFilter::try_new(format!("{directives},progress=off"))
        .unwrap_or_else(|_| EnvFilter::new(format!("{default},progress=off")));
    let logs = tracing_subscriber::fmt::layer()
        .with_writer(progress::BarAwareStderr::new(bars.clone()))
        .with_ansi(colour)
        .with_target(false)
        .with_filter(filter);
    tracing_subscriber::registry().with(logs).init();
    bars.observe();
    Some(bars)
}
