//! The state store's error type. Each variant is a case a caller acts on differently: a held
//! lock (exit code 6, name the holder), a database from a newer optisync (tell the user to
//! upgrade), a state folder that is not safe to use and a state file that cannot be read
//! (the user must act; the message says how), content that does not decode, a lost lock,
//! references to runs or intents that do not exist, and the plain I/O and SQLite failures
//! underneath.

use std::path::PathBuf;

use chrono::{DateTime, Utc};

use crate::intents::IntentId;

/// Shorthand for results of this crate.
pub type Result<T, E = Error> = std::result::Result<T, E>;

/// Everything that can go wrong in the state store.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// Another live run holds the sync's lock.
    #[error(
        "sync '{sync}' is locked by {holder} (pid {pid} on {host}) since {since}; \
         wait for that run to finish"
    )]
    Locked {
        /// The sync whose lock is held.
        sync: String,
        /// The holder's description, e.g. `optisync sync (user alice)`.
        holder: String,
        /// The holder's process id.
        pid: u32,
        /// The host the holder runs on.
        host: String,
        /// When the holder acquired the lock.
        since: DateTime<Utc>,
    },

    /// The lock this guard held was taken over (its heartbeat expired) or removed by a reset.
    #[error("the lock on sync '{sync}' is no longer held by this run")]
    LockLost {
        /// The sync whose lock was lost.
        sync: String,
    },

    /// The database was written by a newer optisync with a schema this build does not know.
    #[error(
        "state database {path} has schema version {found}, newer than the {supported} this \
         optisync understands; upgrade optisync to use it"
    )]
    NewerSchema {
        /// The database file.
        path: PathBuf,
        /// The schema version found in the file.
        found: i64,
        /// The newest schema version this build knows.
        supported: i64,
    },

    /// Stored content does not decode (a value out of range, a list that does not match its
    /// count): the file was damaged or edited by hand.
    #[error(
        "state database is corrupt: {0}; `optisync reset SYNC` makes a sync start afresh, or \
         restore the state file from a backup"
    )]
    Corrupt(String),

    /// The state file cannot be opened as an optisync state database: it is damaged, or it
    /// is some other file. The message says how to recover.
    #[error(
        "state file {path} is damaged or is not an optisync state file ({detail}). To \
         recover, restore it from a backup; or move it away (`mv {path} {path}.damaged`) and \
         run `optisync sync --full-resync`, which starts every sync as on its first run: \
         definitions are matched again to what Optimizely holds, by key, so nothing is \
         created twice; a mirror list is sent whole, so members added to it by hand are \
         removed; an add or remove list asks for --adopt-existing or --replace; the run \
         history is lost. `optisync plan` shows what that run would send",
        path = path.display()
    )]
    Damaged {
        /// The state database file.
        path: PathBuf,
        /// What SQLite or the schema check said.
        detail: String,
    },

    /// The state folder is not safe to keep optisync's state in (a link, another user's
    /// folder, a folder others can write or read), or is not a folder at all. optisync
    /// never changes the permissions of a folder it did not create, so the user must act.
    #[error("state_dir {path}: {problem}; {fix}", path = path.display())]
    UnsafeStateDir {
        /// The folder (or the path that should be one).
        path: PathBuf,
        /// What is wrong with it.
        problem: String,
        /// How to fix it.
        fix: String,
    },

    /// Creating or securing the state directory or its files failed.
    #[error("{action} {path}: {source}")]
    Io {
        /// What was being done, e.g. `cannot create state directory`.
        action: &'static str,
        /// The path concerned.
        path: PathBuf,
        /// The underlying error.
        #[source]
        source: std::io::Error,
    },

    /// SQLite reported an error.
    #[error("state database error: {0}")]
    Sqlite(#[from] rusqlite::Error),

    /// No run has this id.
    #[error("no run with id '{0}'")]
    RunNotFound(String),

    /// The run was already finished; a run is finished exactly once.
    #[error("run '{0}' is already finished")]
    RunAlreadyFinished(String),

    /// No write intent has this id.
    #[error("no write intent with id {0}")]
    IntentNotFound(IntentId),

    /// The intent already has a final outcome, which cannot be replaced.
    #[error("write intent {0} already has a final outcome")]
    IntentAlreadyResolved(IntentId),

    /// An argument the store cannot accept: a count above `i64::MAX`, finishing a run as
    /// still running.
    #[error("invalid argument: {0}")]
    InvalidArgument(String),
}

impl Error {
    /// Whether this is [`Error::Locked`], the case that maps to exit code 6.
    pub fn is_locked(&self) -> bool {
        matches!(self, Error::Locked { .. })
    }

    /// Whether the state folder or file cannot be used as it is and the user must act before
    /// any run can go on (exit code 3): an unsafe folder, a damaged file, a file written by a
    /// newer optisync. The message says what to do.
    pub fn is_unusable_state(&self) -> bool {
        matches!(
            self,
            Error::UnsafeStateDir { .. } | Error::Damaged { .. } | Error::NewerSchema { .. }
        )
    }
}

/// Converts a count to SQLite's integer, refusing values above `i64::MAX`.
pub(crate) fn to_i64(value: u64, what: &'static str) -> Result<i64> {
    i64::try_from(value)
        .map_err(|_| Error::InvalidArgument(format!("{what} {value} is too large to store")))
}

/// Converts a stored integer back to a count; a negative value means the file was tampered with.
pub(crate) fn to_u64(value: i64, what: &'static str) -> Result<u64> {
    u64::try_from(value).map_err(|_| Error::Corrupt(format!("negative {what}: {value}")))
}
