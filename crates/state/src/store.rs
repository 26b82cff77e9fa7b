//! Opening the state store: the state folder and database file, created owner-only (checked,
//! never changed, when they exist already; see [`crate::state_dir`]), the connection settings
//! every writing connection shares, the migrations, and the read-only opening used by the
//! verbs that only read.
//!
//! Connection settings, and why:
//! - `journal_mode=WAL`: readers (`status`, the `serve` status page) never block the writer
//!   and the writer never blocks them; a commit appends to the log instead of rewriting pages.
//! - `synchronous=FULL` on the store's own connection: every commit is fsynced before it
//!   returns. With WAL, `NORMAL` would already survive a killed process, but a power loss or
//!   kernel crash could roll back the last commits, and the intent recorded before a request
//!   is exactly the commit that must not vanish. Commits here are few and small (one intent
//!   per API request, which the rate limit holds to a few per second, and outcome batches of
//!   at most 50).
//! - `synchronous=NORMAL` on the connections of the run lock and the request ledger
//!   (`Durability::Process`): what they record only matters while their process lives (a
//!   lock names its holder's pid, a slot is about the last minute's quota), and a power loss
//!   ends the process and outlasts the minute anyway, so fsyncing them would only cost each
//!   request two more waits on the disk. A killed process loses none of their commits, and
//!   a later `FULL` commit of the store (an intent, a run's end) writes them to disk with its
//!   own, since the log is one file appended in order.
//! - `busy_timeout`: a second process waits for the write lock instead of failing at once.
//! - `foreign_keys=ON`: references between tables are checked.
//!
//! Every write transaction starts with `BEGIN IMMEDIATE`, taking the write lock up front, so
//! two writers never deadlock upgrading read transactions.
//!
//! A read-only store ([`Store::open_read_only`]) writes nothing at all: no folder or file is
//! created, the journal mode is not touched, nothing is migrated. SQLite would create the
//! `-wal` and `-shm` files to read a WAL database, even read-only, and leave them behind; so
//! when no `-wal` file exists (no writer is at work and the last one checkpointed everything
//! into the main file) the file is opened `immutable`, which reads it as a plain file. When a
//! `-wal` file exists, the reader shares it read-only. A writer that starts while an
//! immutable reader reads is not seen by it: `status` then shows the state of a moment
//! before, which is what it would have shown a moment earlier.

use std::fs;
use std::path::{Path, PathBuf};
use std::time::Duration;

use rusqlite::{Connection, OpenFlags, TransactionBehavior};

use crate::error::{Error, Result};
use crate::lock::DEFAULT_LOCK_EXPIRY;
use crate::schema;
use crate::state_dir::{self, Access};

/// The directory name used beside the config file when the user does not choose one.
pub const DEFAULT_DIR_NAME: &str = ".optisync";

/// The database file's name inside the state directory.
pub const DB_FILE_NAME: &str = "state.db";

/// How long a connection waits for another writer before giving up.
pub const DEFAULT_BUSY_TIMEOUT: Duration = Duration::from_secs(10);

/// Settings of a [`Store`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoreOptions {
    /// How long a write waits for another process's write transaction.
    pub busy_timeout: Duration,
    /// After how long without a heartbeat a lock held from another host counts as abandoned.
    pub lock_expiry: Duration,
}

impl Default for StoreOptions {
    fn default() -> Self {
        StoreOptions {
            busy_timeout: DEFAULT_BUSY_TIMEOUT,
            lock_expiry: DEFAULT_LOCK_EXPIRY,
        }
    }
}

/// An open state store: one SQLite connection to `<dir>/state.db`.
///
/// All methods block; see the crate docs for use from async code.
#[derive(Debug)]
pub struct Store {
    pub(crate) conn: Connection,
    pub(crate) path: PathBuf,
    pub(crate) options: StoreOptions,
}

impl Store {
    /// Opens (creating if needed) the state store for the configured `state_dir` with
    /// default options.
    ///
    /// The state folder is `state_dir` itself or an `.optisync` subfolder of it, as
    /// [`crate::state_dir::locate`] decides. A missing folder is created with mode 0700 and
    /// the database file with 0600; an existing folder must be safe ([`crate::state_dir`])
    /// and is never changed. The schema is migrated to [`crate::SCHEMA_VERSION`].
    ///
    /// # Errors
    /// [`Error::UnsafeStateDir`] when the folder or a state file is not owner-only or not the
    /// user's, [`Error::NewerSchema`] when the file comes from a newer optisync,
    /// [`Error::Damaged`] when it is not a readable optisync state file, [`Error::Io`] when
    /// the folder or file cannot be created, [`Error::Sqlite`] otherwise.
    pub fn open(state_dir: &Path) -> Result<Store> {
        Store::open_with(state_dir, StoreOptions::default())
    }

    /// Opens the state store for `state_dir` with the given options; see [`Store::open`].
    ///
    /// # Errors
    /// As [`Store::open`].
    pub fn open_with(state_dir: &Path, options: StoreOptions) -> Result<Store> {
        let dir = state_dir::locate(state_dir)?;
        create_dir(&dir)?;
        state_dir::check_folder(&dir, Access::ReadWrite)?;
        let path = dir.join(DB_FILE_NAME);
        create_db_file(&path)?;
        state_dir::check_files(&path, Access::ReadWrite)?;
        let damaged = |err| damaged(err, &path);
        // Two processes opening a new database at once can meet SQLite's "database is locked"
        // where its busy handler does not apply (turning on WAL, the first migration): the
        // other one is done within moments, so try again for up to the busy timeout.
        let started = std::time::Instant::now();
        let mut pause = std::time::Duration::from_millis(20);
        loop {
            let opened = connect(&path, &options, Durability::Disk).and_then(|mut conn| {
                schema::migrate(&mut conn, &path)?;
                Ok(conn)
            });
            match opened {
                Ok(conn) => {
                    return Ok(Store {
                        conn,
                        path,
                        options,
                    });
                }
                Err(err) if is_busy(&err) && started.elapsed() < options.busy_timeout => {
                    std::thread::sleep(pause);
                    pause = (pause * 2).min(std::time::Duration::from_millis(500));
                }
                Err(err) => return Err(damaged(err)),
            }
        }
    }

    /// Opens the state store for the configured `state_dir` for reading only, creating and
    /// writing nothing (see the module docs). `None` when there is no state yet: no folder,
    /// or no database file in it, or an empty one.
    ///
    /// A folder or file that others can read is logged as a warning rather than refused; an
    /// older schema is read as it is (the tables the read-only verbs use exist since the
    /// first version).
    ///
    /// # Errors
    /// As [`Store::open`], except that the permission problems above are warnings.
    pub fn open_read_only(state_dir: &Path) -> Result<Option<Store>> {
        let options = StoreOptions::default();
        let dir = state_dir::locate(state_dir)?;
        if state_dir::inspect(&dir)?.is_none() {
            return Ok(None);
        }
        let mut warnings = state_dir::check_folder(&dir, Access::ReadOnly)?;
        let path = dir.join(DB_FILE_NAME);
        if state_dir::inspect(&path)?.is_none() {
            return Ok(None);
        }
        warnings.extend(state_dir::check_files(&path, Access::ReadOnly)?);
        for warning in warnings {
            tracing::warn!("{warning}");
        }
        let damaged = |err| damaged(err, &path);
        let conn = connect_read_only(&path, &options).map_err(damaged)?;
        let version = schema::check_readable(&conn, &path).map_err(damaged)?;
        if version == 0 {
            return Ok(None);
        }
        Ok(Some(Store {
            conn,
            path,
            options,
        }))
    }

    /// The database file's path.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// The state folder: the database file's folder.
    pub fn dir(&self) -> &Path {
        self.path.parent().unwrap_or(&self.path)
    }

    /// The options this store was opened with.
    pub fn options(&self) -> &StoreOptions {
        &self.options
    }

    /// Starts a write transaction that holds the database's write lock from its first
    /// statement on.
    pub(crate) fn write(&mut self) -> Result<rusqlite::Transaction<'_>> {
        Ok(self
            .conn
            .transaction_with_behavior(TransactionBehavior::Immediate)?)
    }
}

/// Opens one connection to an existing, prepared database file with the shared settings.
/// Whether `err` is SQLite's "database is locked" (or "busy"): another connection holds a
/// lock that will be released.
fn is_busy(err: &Error) -> bool {
    matches!(
        err,
        Error::Sqlite(rusqlite::Error::SqliteFailure(e, _))
            if matches!(e.code, rusqlite::ErrorCode::DatabaseBusy | rusqlite::ErrorCode::DatabaseLocked)
    )
}

/// How durable a connection's commits are (see the module docs).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Durability {
    /// Fsynced before the commit returns: survives a power loss (`synchronous=FULL`).
    Disk,
    /// Survives the process being killed, not a power loss (`synchronous=NORMAL`): for what
    /// only matters while its process lives.
    Process,
}

pub(crate) fn connect(
    path: &Path,
    options: &StoreOptions,
    durability: Durability,
) -> Result<Connection> {
    let flags = OpenFlags::SQLITE_OPEN_READ_WRITE
        | OpenFlags::SQLITE_OPEN_CREATE
        | OpenFlags::SQLITE_OPEN_NO_MUTEX;
    let conn = Connection::open_with_flags(path, flags).map_err(schema::not_a_database)?;
    conn.busy_timeout(options.busy_timeout)?;
    let mode: String = conn
        .pragma_update_and_check(None, "journal_mode", "WAL", |row| row.get(0))
        .map_err(schema::not_a_database)?;
    if !mode.eq_ignore_ascii_case("wal") {
        return Err(Error::Corrupt(format!(
            "cannot switch {} to WAL journal mode (got {mode})",
            path.display()
        )));
    }
    let synchronous = match durability {
        Durability::Disk => "FULL",
        Durability::Process => "NORMAL",
    };
    conn.pragma_update(None, "synchronous", synchronous)?;
    conn.pragma_update(None, "foreign_keys", "ON")?;
    Ok(conn)
}

/// Opens `path` read-only with SQLite's URI syntax: `immutable` when there is no `-wal` file,
/// so that SQLite creates no `-wal` or `-shm` file to read it (see the module docs).
fn connect_read_only(path: &Path, options: &StoreOptions) -> Result<Connection> {
    let mut wal = path.as_os_str().to_owned();
    wal.push("-wal");
    let immutable = state_dir::inspect(Path::new(&wal))?.is_none();
    let mut uri = String::from("file:");
    // SQLite decodes %HH in a URI's path; everything but unreserved characters and `/` is
    // escaped, so any file name survives.
    for byte in path.as_os_str().as_encoded_bytes() {
        match byte {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'.' | b'_' | b'~' | b'/' => {
                uri.push(char::from(*byte));
            }
            other => uri.push_str(&format!("%{other:02X}")),
        }
    }
    uri.push_str(if immutable {
        "?mode=ro&immutable=1"
    } else {
        "?mode=ro"
    });
    let flags = OpenFlags::SQLITE_OPEN_READ_ONLY
        | OpenFlags::SQLITE_OPEN_URI
        | OpenFlags::SQLITE_OPEN_NO_MUTEX;
    let conn = Connection::open_with_flags(&uri, flags).map_err(schema::not_a_database)?;
    conn.busy_timeout(options.busy_timeout)?;
    Ok(conn)
}

/// A file that does not open as an optisync database is reported with how to recover.
fn damaged(err: Error, path: &Path) -> Error {
    match err {
        Error::Corrupt(detail) => Error::Damaged {
            path: path.to_path_buf(),
            detail,
        },
        other => other,
    }
}

/// Creates the state folder, and any missing parents, owner-only from the start (mode 0700
/// at creation, never a `chmod` afterwards); an existing folder is left as it is.
fn create_dir(dir: &Path) -> Result<()> {
    if state_dir::inspect(dir)?.is_some() {
        return Ok(());
    }
    let mut builder = fs::DirBuilder::new();
    builder.recursive(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::DirBuilderExt;
        builder.mode(0o700);
    }
    builder.create(dir).map_err(|source| Error::Io {
        action: "cannot create state directory",
        path: dir.to_path_buf(),
        source,
    })
}

/// Creates the database file owner-only before SQLite opens it (SQLite gives the `-wal` and
/// `-shm` files it creates the main file's permissions); an existing file is left as it is.
fn create_db_file(path: &Path) -> Result<()> {
    let mut open = fs::OpenOptions::new();
    open.write(true).create(true).truncate(false);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        open.mode(0o600);
    }
    open.open(path).map(drop).map_err(|source| Error::Io {
        action: "cannot create state database",
        path: path.to_path_buf(),
        source,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn open_applies_the_connection_settings() {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open(&dir.path().join("state")).unwrap();
        let get = |pragma: &str| -> String {
            store
                .conn
                .pragma_query_value(None, pragma, |row| row.get::<_, rusqlite::types::Value>(0))
                .map(|value| format!("{value:?}"))
                .unwrap()
        };
        assert_eq!(get("journal_mode"), "Text(\"wal\")");
        // FULL is 2.
        assert_eq!(get("synchronous"), "Integer(2)");
        assert_eq!(get("foreign_keys"), "Integer(1)");
        assert_eq!(get("busy_timeout"), "Integer(10000)");
    }

    #[test]
    fn the_lock_and_the_ledger_commit_without_fsync_and_the_store_with() {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open(&dir.path().join("state")).unwrap();
        let lock = store
            .acquire_lock("s", &crate::LockHolder::this_process("test"))
            .unwrap();
        let ledger = crate::RequestLedger::open(&store, "quota").unwrap();
        let synchronous = |conn: &Connection| -> i64 {
            conn.pragma_query_value(None, "synchronous", |row| row.get(0))
                .unwrap()
        };
        // FULL is 2, NORMAL 1.
        assert_eq!(synchronous(&store.conn), 2);
        assert_eq!(synchronous(&lock.conn), 1);
        assert_eq!(synchronous(&ledger.conn.lock().unwrap()), 1);
    }

    #[test]
    fn a_file_that_is_not_a_database_is_corrupt() {
        let tmp = tempfile::tempdir().unwrap();
        let dir = tmp.path().join("state");
        drop(Store::open(&dir).unwrap());
        fs::write(dir.join(DB_FILE_NAME), vec![b'x'; 4096]).unwrap();
        let err = Store::open(&dir).unwrap_err();
        assert!(matches!(err, Error::Damaged { .. }), "{err:?}");
        assert!(err.to_string().contains("backup"), "{err}");
    }
}
