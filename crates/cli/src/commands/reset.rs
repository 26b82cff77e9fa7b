//! `optisync reset SYNC [--yes]`: forgets what a sync delivered (snapshot or list, and its
//! pending writes) so the next run starts fresh; run history is kept, marked as before the
//! reset. Asks for confirmation on a terminal unless `--yes`.

use std::io::{BufRead, IsTerminal};

use clap::Args;
use optisync_state::LockHolder;
use schemars::JsonSchema;
use serde::Serialize;

use crate::config::Config;
use crate::connect::open_store;
use crate::error::CliError;
use crate::exit::Exit;
use crate::output::{OutputFormat, print_json};

/// `optisync reset`.
#[derive(Debug, Args)]
pub struct ResetArgs {
    /// The sync whose state to forget.
    pub sync: String,
    /// Do not ask for confirmation.
    #[arg(long)]
    pub yes: bool,
}

/// The `--output json` document of `reset`.
#[derive(Debug, Serialize, JsonSchema)]
pub struct ResetOutput {
    /// The sync whose delivered state was forgotten.
    pub reset: String,
    /// The sync's state version after the reset; plans made at an earlier version are stale.
    pub state_version: u64,
}

/// Runs `reset`.
pub fn run(
    args: &ResetArgs,
    config_path: &std::path::Path,
    format: OutputFormat,
) -> Result<Exit, CliError> {
    let config = Config::load(config_path)?;
    config.select_syncs(std::slice::from_ref(&args.sync))?;
    if !args.yes {
        if !std::io::stdin().is_terminal() {
            return Err(CliError::usage(
                format!(
                    "reset of sync {} needs confirmation, and stdin is not a terminal",
                    args.sync
                ),
                "pass --yes",
            ));
        }
        crate::out!(
            "Forget everything sync {} delivered? Its next run starts fresh. [y/N] ",
            args.sync
        );
        crate::stdout::flush();
        let mut answer = String::new();
        let _ = std::io::stdin().lock().read_line(&mut answer);
        if !matches!(answer.trim(), "y" | "Y" | "yes") {
            crate::outln!("not reset");
            return Ok(Exit::Success);
        }
    }
    let mut store = open_store(&config)?;
    let state_error = |e: optisync_state::Error| {
        if e.is_locked() {
            CliError::Locked(e.to_string())
        } else {
            CliError::Internal(anyhow::anyhow!("resetting sync {}: {e}", args.sync))
        }
    };
    // Hold the sync's lock so a run in progress is not reset under its feet.
    let lock = store
        .acquire_lock(&args.sync, &LockHolder::this_process("optisync reset"))
        .map_err(state_error)?;
    let version = store.reset(&args.sync).map_err(state_error)?;
    lock.release().map_err(state_error)?;
    match format {
        OutputFormat::Json => print_json(&ResetOutput {
            reset: args.sync.clone(),
            state_version: version,
        }),
        OutputFormat::Text => crate::outln!(
            "sync {} reset; its next run starts fresh (plans made before are now stale)",
            args.sync
        ),
    }
    Ok(Exit::Success)
}
