//! Errors of the command-line program that decide its exit code, and [`ErrorObject`], the one
//! shape every verb gives an error in its `--output json` document.

use std::path::PathBuf;

use schemars::JsonSchema;
use serde::Serialize;

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
    /// A value is wrong, with how to fix it said apart (JSON output keeps it as `hint`).
    #[error("invalid config: {message}; {hint}")]
    Fix {
        /// What is wrong.
        message: String,
        /// What to do about it.
        hint: String,
    },
    /// Several values are wrong (every `[[sync]]` is parsed, and all their problems reported
    /// at once); one line per problem, each naming where it is and how to fix it.
    #[error("invalid config: {}", problems_text(.0))]
    Problems(Vec<String>),
    /// The state folder or file cannot be used as it is (unsafe permissions, damaged, from a
    /// newer optisync); the message says what to do.
    #[error("{0}")]
    State(String),
}

fn problems_text(problems: &[String]) -> String {
    match problems {
        [one] => one.clone(),
        many => format!("{} problems:\n  - {}", many.len(), many.join("\n  - ")),
    }
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
    /// The command line is wrong: a sync or run id that names nothing, a file `init` would
    /// overwrite, `--yes` missing where no one can answer (exit 64).
    #[error("{message}; {hint}")]
    Usage {
        /// What is wrong.
        message: String,
        /// What to type instead.
        hint: String,
    },
    /// A saved plan no longer applies or is not a plan file (exit 3): plan again.
    #[error("{0}")]
    StalePlan(String),
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
            Self::Config(_) | Self::StalePlan(_) => Exit::InvalidConfig,
            Self::Usage { .. } => Exit::Usage,
            Self::Internal(_) => Exit::Internal,
            Self::Locked(_) => Exit::Locked,
        }
    }

    /// The error as a JSON object, naming `sync` when it concerns one.
    pub fn to_object(&self, sync: Option<&str>) -> ErrorObject {
        let (kind, hint) = match self {
            Self::Config(ConfigError::Fix { hint, .. }) => {
                (ErrorKind::InvalidConfig, Some(hint.clone()))
            }
            Self::Config(_) => (ErrorKind::InvalidConfig, None),
            Self::Usage { hint, .. } => (ErrorKind::Usage, Some(hint.clone())),
            Self::StalePlan(_) => (ErrorKind::StalePlan, None),
            Self::Internal(_) => (ErrorKind::Internal, None),
            Self::Locked(_) => (ErrorKind::Locked, None),
        };
        let message = match self {
            Self::Config(ConfigError::Fix { message, .. }) => format!("invalid config: {message}"),
            Self::Usage { message, .. } => message.clone(),
            // `{:#}` keeps anyhow's chain of causes, as the text output does.
            _ => format!("{self:#}"),
        };
        ErrorObject {
            sync: sync.map(str::to_owned),
            kind,
            message,
            hint,
            exit_code: self.exit().code(),
        }
    }

    /// A usage error: what is wrong, and what to type instead.
    pub fn usage(message: impl Into<String>, hint: impl Into<String>) -> Self {
        Self::Usage {
            message: message.into(),
            hint: hint.into(),
        }
    }

    /// Maps an engine error to its exit code: a held lock exits 6, a problem whose fix is in
    /// the config (or the model, the warehouse, the project) or a stale saved plan 3,
    /// anything else 1.
    pub fn from_engine(error: optisync_engine::Error) -> Self {
        if error.is_locked() {
            Self::Locked(error.to_string())
        } else if error.is_stale_plan() {
            Self::StalePlan(error.to_string())
        } else if error.is_config() {
            Self::Config(ConfigError::Invalid(error.to_string()))
        } else {
            Self::Internal(anyhow::Error::new(error))
        }
    }
}

/// What kind of error ended a verb or a sync; a script branches on it (or on `exit_code`),
/// never on the message.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum ErrorKind {
    /// The config, a secret it points to, a model, the warehouse or the project must be fixed
    /// (exit code 3).
    InvalidConfig,
    /// A saved plan no longer applies, or is not a plan file: plan again (exit code 3).
    StalePlan,
    /// Another run holds the sync's lock (exit code 6).
    Locked,
    /// The command line names something that does not exist, or lacks `--yes` where no one
    /// can answer (exit code 64).
    Usage,
    /// A signal stopped the sync at a safe point; run it again to send the rest (exit code
    /// 130 or 143).
    Interrupted,
    /// An unexpected failure in optisync or around it (exit code 1).
    Internal,
}

/// One error, in the same shape in every verb's JSON output: in the `errors` of `plan` and
/// `sync` for a sync that could not be planned or run, and as the whole document
/// ([`ErrorOutput`]) when a verb ends before it has anything else to report.
#[derive(Debug, Clone, Serialize, JsonSchema)]
pub struct ErrorObject {
    /// The sync it concerns, when it concerns one.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub sync: Option<String>,
    /// What kind of error.
    pub kind: ErrorKind,
    /// What went wrong, as the text output says it.
    pub message: String,
    /// How to fix it, when that is said apart from the message.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub hint: Option<String>,
    /// The exit code this error leads to on its own (a verb over several syncs exits with the
    /// most serious of its outcomes).
    pub exit_code: u8,
}

impl ErrorObject {
    /// An engine error that stopped one sync: the exit code it leads to, and its object.
    pub fn from_engine(sync: &str, error: optisync_engine::Error) -> (Exit, Self) {
        let signal = error.interrupted_by();
        let kind = if error.is_locked() {
            ErrorKind::Locked
        } else if signal.is_some() {
            ErrorKind::Interrupted
        } else if error.is_stale_plan() {
            ErrorKind::StalePlan
        } else if error.is_config() {
            ErrorKind::InvalidConfig
        } else {
            ErrorKind::Internal
        };
        let cli = CliError::from_engine(error);
        let exit = signal.map_or_else(|| cli.exit(), crate::signals::exit_for);
        let object = Self {
            sync: Some(sync.to_owned()),
            kind,
            message: format!("{cli:#}"),
            hint: None,
            exit_code: exit.code(),
        };
        (exit, object)
    }
}

/// The whole `--output json` document of a verb that ended with an error before it had
/// anything else to report (a config that does not load, a state store that cannot be read).
/// The same line goes to stderr, as in text output.
#[derive(Debug, Clone, Serialize, JsonSchema)]
pub struct ErrorOutput {
    /// The error.
    pub error: ErrorObject,
}
