//! The engine's errors: the cases a caller branches on (a held lock, a config problem found at
//! run time, a stale saved plan, a failing source, API or state store). Rows that cannot be
//! sent are not errors: they are rejected rows in the plan and the run goes on.

use optisync_core::MappingErrors;

/// Everything that stops a sync.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// Another run holds the sync's lock (exit code 6); the message names the holder.
    #[error("sync {sync}: {source}")]
    Locked {
        /// The sync.
        sync: String,
        /// The state store's answer, naming holder, pid, host and start.
        source: optisync_state::Error,
    },
    /// The mapping does not fit the model's columns.
    #[error("sync {sync}: {errors}; fix the mapping or the model in the config")]
    Mapping {
        /// The sync.
        sync: String,
        /// Every problem found.
        errors: MappingErrors,
    },
    /// The sync cannot run against this project as configured (e.g. a list attribute on a
    /// Feature Experimentation project, or a list attribute that does not exist).
    #[error("sync {sync}: {message}")]
    Target {
        /// The sync.
        sync: String,
        /// What is wrong and how to fix it.
        message: String,
    },
    /// A saved plan no longer applies.
    #[error("sync {sync}: the saved plan is stale: {reason}; run `optisync plan --out FILE` again")]
    StalePlan {
        /// The sync.
        sync: String,
        /// Why.
        reason: String,
    },
    /// A plan file that cannot be applied: not a plan file, or written in another format.
    #[error("{message}")]
    PlanFile {
        /// What is wrong and how to fix it (without the file's name, which the caller knows).
        message: String,
    },
    /// The model could not be read.
    #[error("sync {sync}: reading the model failed: {source}")]
    Source {
        /// The sync.
        sync: String,
        /// The source's error.
        source: optisync_sources::SourceError,
    },
    /// A call to Optimizely failed for the whole sync (listing, reading the project).
    #[error("sync {sync}: {what} failed: {source}")]
    Api {
        /// The sync.
        sync: String,
        /// What was being done.
        what: String,
        /// The client's error, with its kind and phase.
        source: optisync_optimizely::Error,
    },
    /// The project cannot be read or written.
    #[error("project {project_id}: {message}")]
    Project {
        /// The project.
        project_id: i64,
        /// What is wrong and how to fix it.
        message: String,
        /// Whether the fix is in the config or the token (not found, refused, archived, wrong
        /// product) rather than a failure that may pass (the API kept failing).
        in_config: bool,
    },
    /// A signal asked the process to stop, and the run stopped at a safe point: every write
    /// sent has its outcome recorded; the rest of the plan was not sent.
    #[error(
        "sync {sync}: interrupted by a signal after {sent} of {planned} write requests; run \
         `optisync sync` again to send the rest"
    )]
    Interrupted {
        /// The sync.
        sync: String,
        /// The signal's number (2 for SIGINT, 15 for SIGTERM).
        signal: i32,
        /// Write requests sent before the stop.
        sent: u64,
        /// Write requests the plan holds.
        planned: u64,
    },
    /// The state store failed.
    #[error("sync {sync}: state store: {source}")]
    State {
        /// The sync.
        sync: String,
        /// The store's error.
        source: optisync_state::Error,
    },
}

impl Error {
    /// Whether another run holds the sync's lock.
    pub fn is_locked(&self) -> bool {
        matches!(self, Error::Locked { .. })
    }

    /// Whether the fix is in the config (exit code 3): a mapping or target problem, a model
    /// the warehouse refused (its SQL is part of the config), a warehouse that cannot be
    /// reached or logged into, or a project that does not exist or refuses the token.
    pub fn is_config(&self) -> bool {
        use optisync_sources::SourceError;
        match self {
            Error::Mapping { .. } | Error::Target { .. } => true,
            Error::Project { in_config, .. } => *in_config,
            // The token was refused after the run started (revoked, or its access changed):
            // the fix is the token, as when it is refused at the start.
            Error::Api { source, .. } => source.kind() == optisync_optimizely::ErrorKind::Auth,
            Error::Source { source, .. } => matches!(
                source,
                SourceError::Model { .. }
                    | SourceError::UnsupportedColumn { .. }
                    | SourceError::MissingDatabase { .. }
                    | SourceError::Unavailable { .. }
            ),
            _ => false,
        }
    }

    /// Whether a saved plan was refused because its sync moved on since it was made, or its
    /// file cannot be applied.
    pub fn is_stale_plan(&self) -> bool {
        matches!(self, Error::StalePlan { .. } | Error::PlanFile { .. })
    }

    /// The signal that stopped the run, when a signal did.
    pub fn interrupted_by(&self) -> Option<i32> {
        match self {
            Error::Interrupted { signal, .. } => Some(*signal),
            _ => None,
        }
    }

    pub(crate) fn state(sync: &str) -> impl FnOnce(optisync_state::Error) -> Error + '_ {
        move |source| {
            if source.is_locked() {
                Error::Locked {
                    sync: sync.to_owned(),
                    source,
                }
            } else {
                Error::State {
                    sync: sync.to_owned(),
                    source,
                }
            }
        }
    }

    pub(crate) fn api<'a>(
        sync: &'a str,
        what: &'a str,
    ) -> impl FnOnce(optisync_optimizely::Error) -> Error + 'a {
        move |source| Error::Api {
            sync: sync.to_owned(),
            what: what.to_owned(),
            source,
        }
    }
}

/// The engine's result type.
pub type Result<T, E = Error> = std::result::Result<T, E>;
