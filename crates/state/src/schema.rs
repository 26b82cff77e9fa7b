//! The database schema and its migrations. The schema version lives in `PRAGMA user_version`;
//! `MIGRATIONS` is the ordered list of steps, step `i` taking the schema from version `i` to
//! `i + 1`. Each step runs in its own `BEGIN IMMEDIATE` transaction together with the version
//! bump, so a crash mid-migration leaves the previous version intact and two processes opening
//! a fresh file at once migrate it exactly once. A file whose version is above
//! [`SCHEMA_VERSION`] was written by a newer optisync and is refused rather than guessed at.
//!
//! Migrations are append-only: a released step is never edited, a change is a new step.

use std::path::Path;

use rusqlite::{Connection, TransactionBehavior};

use crate::error::{Error, Result};

/// `PRAGMA application_id` of optisync state files ("opst"), so that opening some other SQLite
/// file by mistake is reported instead of migrated.
pub(crate) const APPLICATION_ID: i64 = 0x6f70_7374;

/// The ordered migration steps. Step `i` (0-based) upgrades version `i` to `i + 1`.
const MIGRATIONS: &[&str] = &[
    // 1: the initial schema.
    r#"
    -- One row per sync ever seen. Never deleted (not even by reset), so the state version
    -- keeps growing and a plan saved before a reset is still recognised as stale.
    CREATE TABLE syncs (
        name          TEXT PRIMARY KEY NOT NULL,
        state_version INTEGER NOT NULL DEFAULT 0,
        reset_at      INTEGER
    );

    -- Definition syncs: what was delivered per primary key.
    CREATE TABLE definitions (
        sync         TEXT NOT NULL REFERENCES syncs(name),
        primary_key  TEXT NOT NULL,
        remote_id    INTEGER,
        content_hash TEXT NOT NULL,
        fields       TEXT NOT NULL,   -- JSON
        updated_at   INTEGER NOT NULL,
        PRIMARY KEY (sync, primary_key)
    ) WITHOUT ROWID;

    -- List-attribute syncs: the whole member list as last delivered, one encoded blob.
    CREATE TABLE delivered_lists (
        sync              TEXT PRIMARY KEY NOT NULL REFERENCES syncs(name),
        list_attribute_id INTEGER NOT NULL,
        content_hash      TEXT NOT NULL,
        member_count      INTEGER NOT NULL,
        members           BLOB NOT NULL,
        updated_at        INTEGER NOT NULL
    );

    -- Run history. seq orders runs by start; id is the user-facing, sortable text id.
    CREATE TABLE runs (
        seq              INTEGER PRIMARY KEY AUTOINCREMENT,
        id               TEXT NOT NULL UNIQUE,
        sync             TEXT NOT NULL REFERENCES syncs(name),
        status           TEXT NOT NULL CHECK (status IN ('running', 'succeeded', 'failed',
                             'rejected_rows', 'blocked', 'locked', 'interrupted')),
        started_at       INTEGER NOT NULL,
        finished_at      INTEGER,
        duration_ms      INTEGER,
        rows_read        INTEGER NOT NULL DEFAULT 0,
        planned_creates  INTEGER NOT NULL DEFAULT 0,
        planned_updates  INTEGER NOT NULL DEFAULT 0,
        planned_removes  INTEGER NOT NULL DEFAULT 0,
        list_added       INTEGER NOT NULL DEFAULT 0,
        list_removed     INTEGER NOT NULL DEFAULT 0,
        requests_sent    INTEGER NOT NULL DEFAULT 0,
        rejected         INTEGER NOT NULL DEFAULT 0,
        error            TEXT,
        before_reset     INTEGER NOT NULL DEFAULT 0 CHECK (before_reset IN (0, 1))
    );
    CREATE INDEX runs_by_sync ON runs (sync, seq);

    CREATE TABLE rejected_rows (
        id          INTEGER PRIMARY KEY,
        run_id      TEXT NOT NULL REFERENCES runs(id) ON DELETE CASCADE,
        primary_key TEXT,
        field       TEXT,
        reason      TEXT NOT NULL,
        request_id  TEXT
    );
    CREATE INDEX rejected_rows_by_run ON rejected_rows (run_id);

    -- Write intents, recorded before a request; the outcome columns are filled after it.
    CREATE TABLE write_intents (
        id          INTEGER PRIMARY KEY,
        run_id      TEXT NOT NULL REFERENCES runs(id),
        sync        TEXT NOT NULL REFERENCES syncs(name),
        primary_key TEXT,
        operation   TEXT NOT NULL CHECK (operation IN ('create', 'update', 'archive',
                        'list_patch')),
        body_hash   TEXT NOT NULL,
        created_at  INTEGER NOT NULL,
        outcome     TEXT CHECK (outcome IN ('acknowledged', 'rejected', 'unknown',
                        'not_applied')),
        remote_id   INTEGER,
        reason      TEXT,
        request_id  TEXT,
        resolved_at INTEGER
    );
    CREATE INDEX write_intents_by_run ON write_intents (run_id);
    CREATE INDEX write_intents_unresolved ON write_intents (sync, id)
        WHERE outcome IS NULL OR outcome = 'unknown';

    -- One lock per sync; a row exists only while held.
    CREATE TABLE locks (
        sync         TEXT PRIMARY KEY NOT NULL,
        token        TEXT NOT NULL,
        holder       TEXT NOT NULL,
        pid          INTEGER NOT NULL,
        pid_start    INTEGER,
        host         TEXT NOT NULL,
        acquired_at  INTEGER NOT NULL,
        heartbeat_at INTEGER NOT NULL
    );
    "#,
    // 2: request slots shared by every process using this state directory (per token), so
    // that runs in several processes together stay under one rate limit.
    r#"
    CREATE TABLE request_slots (
        quota TEXT NOT NULL,
        at_ms INTEGER NOT NULL
    );
    CREATE INDEX request_slots_by_quota ON request_slots (quota, at_ms);
    "#,
    // 3: who reserved each request slot (process id, its start time in clock ticks since
    // boot, host), so that a slot whose process is gone no longer holds anyone back. Slots
    // from earlier versions have no owner (NULL).
    r#"
    ALTER TABLE request_slots ADD COLUMN owner_pid INTEGER;
    ALTER TABLE request_slots ADD COLUMN owner_start INTEGER;
    ALTER TABLE request_slots ADD COLUMN owner_host TEXT;
    "#,
    // 4: every count of a run in one shape (core's RunStats): what was created and updated,
    // and the read requests beside the writes. Runs of earlier versions count 0.
    r#"
    ALTER TABLE runs ADD COLUMN creates INTEGER NOT NULL DEFAULT 0;
    ALTER TABLE runs ADD COLUMN updates INTEGER NOT NULL DEFAULT 0;
    ALTER TABLE runs ADD COLUMN reads INTEGER NOT NULL DEFAULT 0;
    "#,
    // 5: the product of each project seen, so that the next process paces its first
    // requests by the product's quota instead of the stricter one used before it is known.
    r#"
    CREATE TABLE projects (
        project_id INTEGER PRIMARY KEY NOT NULL,
        product    TEXT NOT NULL,
        seen_at    INTEGER NOT NULL
    );
    "#,
    // 6: what `serve` keeps across restarts: which syncs are paused (and by whom), the
    // scheduled ticks it did not run (a run in flight, a lock held elsewhere, a backoff),
    // with the reason, and the last dbt run that started each sync declared to run after dbt.
    r#"
    CREATE TABLE sync_pauses (
        sync      TEXT PRIMARY KEY NOT NULL,
        paused_at INTEGER NOT NULL,
        paused_by TEXT NOT NULL
    );
    CREATE TABLE skipped_ticks (
        seq     INTEGER PRIMARY KEY AUTOINCREMENT,
        sync    TEXT NOT NULL,
        tick_at INTEGER NOT NULL,
        reason  TEXT NOT NULL
    );
    CREATE INDEX skipped_ticks_by_sync ON skipped_ticks (sync, seq);
    -- The dbt run (its run_results.json generated_at, RFC 3339) that last started a run of
    -- a sync declared to run after dbt.
    CREATE TABLE dbt_seen (
        sync         TEXT PRIMARY KEY NOT NULL,
        generated_at TEXT NOT NULL
    );
    "#,
    // 7: what a run page shows beyond counts (the plan's text, step timings, drift), as
    // JSON, NULL for runs recorded before or that failed before planning; and the answers
    // a run got that said "too many requests" (429, 503).
    r#"
    ALTER TABLE runs ADD COLUMN details TEXT;
    ALTER TABLE runs ADD COLUMN throttled INTEGER NOT NULL DEFAULT 0;
    "#,
    // 8: what ODP-attribute syncs delivered: one row per user with the value ODP
    // acknowledged (a JSON scalar; null for a cleared field), written batch by batch, and the
    // identifier and field the rows are for (a sync pointed elsewhere starts afresh).
    r#"
    CREATE TABLE delivered_profiles (
        sync  TEXT NOT NULL,
        id    TEXT NOT NULL,
        value TEXT NOT NULL,
        PRIMARY KEY (sync, id)
    ) WITHOUT ROWID;
    CREATE TABLE profile_targets (
        sync       TEXT PRIMARY KEY NOT NULL,
        identifier TEXT NOT NULL,
        field      TEXT NOT NULL
    );
    "#,
];

/// The schema version this build writes and understands.
pub const SCHEMA_VERSION: i64 = MIGRATIONS.len() as i64;

/// Brings the database at `path` (already open on `conn`) up to [`SCHEMA_VERSION`].
pub(crate) fn migrate(conn: &mut Connection, path: &Path) -> Result<()> {
    check_application_id(conn)?;
    loop {
        let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
        // Read inside the write transaction: another process may have migrated meanwhile.
        let version: i64 = tx.pragma_query_value(None, "user_version", |row| row.get(0))?;
        if version > SCHEMA_VERSION {
            return Err(Error::NewerSchema {
                path: path.to_path_buf(),
                found: version,
                supported: SCHEMA_VERSION,
            });
        }
        let Some(step) = usize::try_from(version)
            .ok()
            .and_then(|index| MIGRATIONS.get(index))
        else {
            if version < 0 {
                return Err(Error::Corrupt(format!("negative schema version {version}")));
            }
            // Up to date.
            return Ok(());
        };
        if version == 0 {
            tx.pragma_update(None, "application_id", APPLICATION_ID)?;
        }
        tx.execute_batch(step)?;
        tx.pragma_update(None, "user_version", version + 1)?;
        tx.commit()?;
        tracing::debug!(from = version, to = version + 1, "state schema migrated");
    }
}

/// Checks, without writing, that the database on `conn` is an optisync state file this build
/// can read, and returns its schema version (0 for a file never migrated: no state yet).
pub(crate) fn check_readable(conn: &Connection, path: &Path) -> Result<i64> {
    check_application_id(conn)?;
    let version: i64 = conn
        .pragma_query_value(None, "user_version", |row| row.get(0))
        .map_err(not_a_database)?;
    if version > SCHEMA_VERSION {
        return Err(Error::NewerSchema {
            path: path.to_path_buf(),
            found: version,
            supported: SCHEMA_VERSION,
        });
    }
    if version < 0 {
        return Err(Error::Corrupt(format!("negative schema version {version}")));
    }
    Ok(version)
}

/// Refuses SQLite files that belong to some other application.
fn check_application_id(conn: &Connection) -> Result<()> {
    let id: i64 = conn
        .pragma_query_value(None, "application_id", |row| row.get(0))
        .map_err(not_a_database)?;
    if id != 0 && id != APPLICATION_ID {
        return Err(Error::Corrupt(format!(
            "application id {id:#x} is not optisync's ({APPLICATION_ID:#x})"
        )));
    }
    Ok(())
}

/// SQLite's "file is not a database" and "database disk image is malformed" become
/// [`Error::Corrupt`]; other errors pass through.
pub(crate) fn not_a_database(err: rusqlite::Error) -> Error {
    match err.sqlite_error_code() {
        Some(rusqlite::ErrorCode::NotADatabase | rusqlite::ErrorCode::DatabaseCorrupt) => {
            Error::Corrupt(err.to_string())
        }
        _ => Error::Sqlite(err),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn user_version(conn: &Connection) -> i64 {
        conn.pragma_query_value(None, "user_version", |row| row.get(0))
            .unwrap()
    }

    #[test]
    fn migrates_an_empty_database_to_the_current_version() {
        let mut conn = Connection::open_in_memory().unwrap();
        migrate(&mut conn, Path::new(":memory:")).unwrap();
        assert_eq!(user_version(&conn), SCHEMA_VERSION);
        let tables: i64 = conn
            .query_row(
                "SELECT count(*) FROM sqlite_schema WHERE type = 'table' AND name IN \
                 ('syncs', 'definitions', 'delivered_lists', 'runs', 'rejected_rows', \
                  'write_intents', 'locks')",
                [],
                |row| row.get(0),
            )
            .unwrap();
        assert_eq!(tables, 7);
    }

    #[test]
    fn migrating_twice_is_a_no_op() {
        let mut conn = Connection::open_in_memory().unwrap();
        migrate(&mut conn, Path::new(":memory:")).unwrap();
        migrate(&mut conn, Path::new(":memory:")).unwrap();
        assert_eq!(user_version(&conn), SCHEMA_VERSION);
    }

    #[test]
    fn a_newer_schema_is_refused() {
        let mut conn = Connection::open_in_memory().unwrap();
        conn.pragma_update(None, "user_version", SCHEMA_VERSION + 1)
            .unwrap();
        let err = migrate(&mut conn, Path::new("x.db")).unwrap_err();
        assert!(
            matches!(err, Error::NewerSchema { found, supported, .. }
                if found == SCHEMA_VERSION + 1 && supported == SCHEMA_VERSION),
            "{err:?}"
        );
        assert!(err.to_string().contains("upgrade optisync"), "{err}");
    }

    #[test]
    fn slots_of_an_earlier_version_survive_the_owner_columns() {
        let mut conn = Connection::open_in_memory().unwrap();
        conn.pragma_update(None, "application_id", APPLICATION_ID)
            .unwrap();
        for (version, step) in (1_i64..).zip(MIGRATIONS.iter().take(2)) {
            conn.execute_batch(step).unwrap();
            conn.pragma_update(None, "user_version", version).unwrap();
        }
        conn.execute(
            "INSERT INTO request_slots (quota, at_ms) VALUES ('token-1', 42)",
            [],
        )
        .unwrap();
        migrate(&mut conn, Path::new(":memory:")).unwrap();
        let (at, owner): (i64, Option<i64>) = conn
            .query_row(
                "SELECT at_ms, owner_pid FROM request_slots WHERE quota = 'token-1'",
                [],
                |row| Ok((row.get(0)?, row.get(1)?)),
            )
            .unwrap();
        assert_eq!((at, owner), (42, None));
        assert_eq!(
            check_readable(&conn, Path::new(":memory:")).unwrap(),
            SCHEMA_VERSION
        );
    }

    #[test]
    fn a_foreign_sqlite_file_is_refused() {
        let mut conn = Connection::open_in_memory().unwrap();
        conn.pragma_update(None, "application_id", 42).unwrap();
        let err = migrate(&mut conn, Path::new("x.db")).unwrap_err();
        assert!(matches!(err, Error::Corrupt(_)), "{err:?}");
    }
}
