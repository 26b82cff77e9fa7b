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
        /// Line, column and key path of the problem, and what to write instead. Built by
        /// `config::syntax`, which never quotes a value written in the file: any of them may
        /// be a pasted secret.
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
    /// The state folder or file cannot be used as it is (unsafe permissions, damaged, from a
    /// newer optisync); the message says what to do.
    #[error("{0}")]
    State(String),
}

/// Why a duration written in the config (`timeout`, `statement_timeout`) is refused. The
/// message follows the key and its value: `[optimizely] timeout "soon" is not a duration; …`.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum DurationError {
    /// No number, or a malformed one.
    #[error(
        "is not a duration; write a number and a unit, e.g. \"500ms\", \"30s\", \"5min\" or \"1h\""
    )]
    NotADuration,
    /// A number without a unit, or with one that is not known.
    #[error("has no known unit; write e.g. \"500ms\", \"30s\", \"5min\" or \"1h\"")]
    UnknownUnit,
    /// Too short, too long, or too large to compute.
    #[error("is out of range; write a duration from {min} to {max}")]
    OutOfRange {
        /// The shortest duration the key accepts, as written in the config (`1ms`).
        min: String,
        /// The longest duration the key accepts (`1h`).
        max: String,
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
