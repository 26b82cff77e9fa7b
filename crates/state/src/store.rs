//! Opening the state store: the state directory and database file with owner-only
//! permissions, the connection settings every connection shares, and the migrations.
//!
//! Connection settings, and why:
//! - `journal_mode=WAL`: readers (`status`, the `serve` status page) never block the writer
//!   and the writer never blocks them; a commit appends to the log instead of rewriting pages.
//! - `synchronous=FULL`: every commit is fsynced before it returns. With WAL, `NORMAL` would
//!   already survive a killed process, but a power loss or kernel crash could roll back the
//!   last commits, and the intent recorded before a request is exactly the commit that must
//!   not vanish. Commits here are few and small (one intent per API request, which the rate
//!   limit holds to a few per second, and outcome batches of at most 50), so the fsync costs
//!   nothing a user could notice.
//! - `busy_timeout`: a second process waits for the write lock instead of failing at once.
//! - `foreign_keys=ON`: references between tables are checked.
//!
//! Every write transaction starts with `BEGIN IMMEDIATE`, taking the write lock up front, so
//! two writers never deadlock upgrading read transactions.

use std::fs;
use std::path::{Path, PathBuf};
use std::time::Duration;

use rusqlite::{Connection, OpenFlags, TransactionBehavior};

use crate::error::{Error, Result};
use crate::lock::DEFAULT_LOCK_EXPIRY;
use crate::schema;

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
    /// Opens (creating if needed) the state store in `dir` with default options.
    ///
    /// The directory is created with mode 0700 (and set to it if it exists), the database
    /// file with 0600; the schema is migrated to [`crate::SCHEMA_VERSION`].
    ///
    /// # Errors
    /// [`Error::NewerSchema`] when the file comes from a newer optisync, [`Error::Corrupt`] when
    /// it is not an optisync state file, [`Error::Io`] when the directory or file cannot be
    /// created or secured, [`Error::Sqlite`] otherwise.
    pub fn open(dir: &Path) -> Result<Store> {
        Store::open_with(dir, StoreOptions::default())
    }

    /// Opens the state store in `dir` with the given options; see [`Store::open`].
    ///
    /// # Errors
    /// As [`Store::open`].
    pub fn open_with(dir: &Path, options: StoreOptions) -> Result<Store> {
        prepare_dir(dir)?;
        let path = dir.join(DB_FILE_NAME);
        prepare_db_files(&path)?;
        let mut conn = connect(&path, &options)?;
        schema::migrate(&mut conn, &path)?;
        Ok(Store {
            conn,
            path,
            options,
        })
    }

    /// The database file's path.
    pub fn path(&self) -> &Path {
        &self.path
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
pub(crate) fn connect(path: &Path, options: &StoreOptions) -> Result<Connection> {
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
    conn.pragma_update(None, "synchronous", "FULL")?;
    conn.pragma_update(None, "foreign_keys", "ON")?;
    Ok(conn)
}

/// Creates the state directory owner-only, or makes an existing one owner-only.
fn prepare_dir(dir: &Path) -> Result<()> {
    let io = |action| {
        move |source| Error::Io {
            action,
            path: dir.to_path_buf(),
            source,
        }
    };
    let mut builder = fs::DirBuilder::new();
    builder.recursive(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::DirBuilderExt;
        builder.mode(0o700);
    }
    builder
        .create(dir)
        .map_err(io("cannot create state directory"))?;
    restrict(dir, 0o700).map_err(io("cannot restrict permissions of"))
}

/// Creates the database file owner-only before SQLite opens it (SQLite gives the `-wal` and
/// `-shm` files it creates the main file's permissions), and tightens files left too open.
fn prepare_db_files(path: &Path) -> Result<()> {
    let io = |action, path: &Path| {
        let path = path.to_path_buf();
        move |source| Error::Io {
            action,
            path,
            source,
        }
    };
    let mut open = fs::OpenOptions::new();
    open.write(true).create(true).truncate(false);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        open.mode(0o600);
    }
    open.open(path)
        .map_err(io("cannot create state database", path))?;
    for suffix in ["", "-wal", "-shm"] {
        let mut name = path.as_os_str().to_owned();
        name.push(suffix);
        let file = PathBuf::from(name);
        if file.exists() {
            restrict(&file, 0o600).map_err(io("cannot restrict permissions of", &file))?;
        }
    }
    Ok(())
}

/// Sets `path`'s permission bits to `mode` (Unix only; elsewhere a no-op).
fn restrict(path: &Path, mode: u32) -> std::io::Result<()> {
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let current = fs::metadata(path)?.permissions().mode() & 0o777;
        if current != mode {
            fs::set_permissions(path, fs::Permissions::from_mode(mode))?;
        }
    }
    #[cfg(not(unix))]
    let _ = (path, mode);
    Ok(())
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
    fn a_file_that_is_not_a_database_is_corrupt() {
        let dir = tempfile::tempdir().unwrap();
        fs::write(dir.path().join(DB_FILE_NAME), vec![b'x'; 4096]).unwrap();
        let err = Store::open(dir.path()).unwrap_err();
        assert!(matches!(err, Error::Corrupt(_)), "{err:?}");
    }
}
