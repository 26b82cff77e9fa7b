//! Errors of the command-line program that decide its exit code.

use std::path::PathBuf;

use crate::exit::Exit;

/// A problem with the configuration file or the secrets it points to (exit code 3).
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    /// The file cannot be read.
    #[error("cannot read config file {}: {source}; pass --config PATH or run `optisync init`", path.display())]
    Read {
        /// The path tried.
        path: PathBuf,
        /// What the OS said.
        source: std::io::Error,
    },
    /// The file is not valid TOML or does not match the config types.
    #[error("invalid config file {}: {message}", path.display())]
    Syntax {
        /// The path read.
        path: PathBuf,
        /// The parser's message, with line and column.
        message: String,
    },
    /// A value is wrong; the message says which and how to fix it.
    #[error("invalid config: {0}")]
    Invalid(String),
    /// A sync named on the command line does not exist.
    #[error("no sync named {name:?} in the config; known syncs: {}", if known.is_empty() { "none".to_owned() } else { known.join(", ") })]
    UnknownSync {
        /// The name given.
        name: String,
        /// The names in the config.
        known: Vec<String>,
    },
}

/// An error that ends a verb, with the exit code it maps to.
#[derive(Debug, thiserror::Error)]
pub enum CliError {
    /// Exit 3.
    #[error(transparent)]
    Config(#[from] ConfigError),
    /// Exit 1.
    #[error(transparent)]
    Internal(#[from] anyhow::Error),
    /// Another run holds the sync's lock (exit 6); the message names the holder.
    #[error("{0}")]
    Locked(String),
}

impl CliError {
    /// The exit code for this error.
    pub fn exit(&self) -> Exit {
        match self {
            Self::Config(_) => Exit::InvalidConfig,
            Self::Internal(_) => Exit::Internal,
            Self::Locked(_) => Exit::Locked,
        }
    }

    /// Maps an engine error to its exit code: a held lock exits 6, a problem whose fix is in
    /// the config or a stale saved plan 3, anything else 1.
    pub fn from_engine(error: optisync_engine::Error) -> Self {
        if error.is_locked() {
            Self::Locked(error.to_string())
        } else if error.is_config() || error.is_stale_plan() {
            Self::Config(ConfigError::Invalid(error.to_string()))
        } else {
            Self::Internal(anyhow::Error::new(error))
        }
    }
}
