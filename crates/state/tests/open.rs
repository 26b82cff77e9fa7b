//! Opening the store: migrations on a fresh directory, reopening keeps data, a database from
//! a newer optisync is refused, and the directory and files are owner-only.

#![allow(clippy::unwrap_used)]

use optisync_state::{DB_FILE_NAME, Error, SCHEMA_VERSION, Store};

#[test]
fn a_fresh_directory_is_created_and_migrated() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("nested").join(".optisync");
    let store = Store::open(&dir).unwrap();
    assert_eq!(store.path(), dir.join(DB_FILE_NAME));
    assert!(store.path().is_file());
    let conn = rusqlite::Connection::open(store.path()).unwrap();
    let version: i64 = conn
        .pragma_query_value(None, "user_version", |row| row.get(0))
        .unwrap();
    assert_eq!(version, SCHEMA_VERSION);
}

#[test]
fn reopening_keeps_what_was_stored() {
    let tmp = tempfile::tempdir().unwrap();
    let run_id = {
        let mut store = Store::open(tmp.path()).unwrap();
        store
            .replace_delivered_list("beta", 4567, "h1", ["u1", "u2"], &[])
            .unwrap();
        store.start_run("beta").unwrap()
    };
    let store = Store::open(tmp.path()).unwrap();
    assert_eq!(
        store.delivered_list("beta").unwrap().unwrap().members,
        ["u1", "u2"]
    );
    assert_eq!(store.run(&run_id).unwrap().unwrap().sync, "beta");
    assert_eq!(store.state_version("beta").unwrap(), 1);
}

#[test]
fn a_database_from_a_newer_optisync_is_refused() {
    let tmp = tempfile::tempdir().unwrap();
    drop(Store::open(tmp.path()).unwrap());
    let conn = rusqlite::Connection::open(tmp.path().join(DB_FILE_NAME)).unwrap();
    conn.pragma_update(None, "user_version", SCHEMA_VERSION + 3)
        .unwrap();
    drop(conn);

    let err = Store::open(tmp.path()).unwrap_err();
    match &err {
        Error::NewerSchema {
            found, supported, ..
        } => {
            assert_eq!(*found, SCHEMA_VERSION + 3);
            assert_eq!(*supported, SCHEMA_VERSION);
        }
        other => panic!("expected NewerSchema, got {other:?}"),
    }
    assert!(err.to_string().contains("upgrade optisync"), "{err}");
}

#[test]
fn another_applications_sqlite_file_is_refused() {
    let tmp = tempfile::tempdir().unwrap();
    let conn = rusqlite::Connection::open(tmp.path().join(DB_FILE_NAME)).unwrap();
    conn.pragma_update(None, "application_id", 1234).unwrap();
    conn.execute_batch("CREATE TABLE t (x)").unwrap();
    drop(conn);
    let err = Store::open(tmp.path()).unwrap_err();
    assert!(matches!(err, Error::Corrupt(_)), "{err:?}");
}

#[cfg(unix)]
mod permissions {
    use std::fs;
    use std::os::unix::fs::PermissionsExt;
    use std::path::Path;

    use super::*;

    fn mode(path: &Path) -> u32 {
        fs::metadata(path).unwrap().permissions().mode() & 0o777
    }

    #[test]
    fn the_directory_and_all_database_files_are_owner_only() {
        let tmp = tempfile::tempdir().unwrap();
        let dir = tmp.path().join(".optisync");
        let mut store = Store::open(&dir).unwrap();
        // A write makes sure the -wal and -shm files exist.
        store.start_run("s").unwrap();
        assert_eq!(mode(&dir), 0o700);
        let db = dir.join(DB_FILE_NAME);
        assert_eq!(mode(&db), 0o600);
        for suffix in ["-wal", "-shm"] {
            let file = dir.join(format!("{DB_FILE_NAME}{suffix}"));
            assert!(file.exists(), "{} missing", file.display());
            assert_eq!(mode(&file), 0o600, "{}", file.display());
        }
    }

    #[test]
    fn an_existing_directory_and_file_left_open_are_tightened() {
        let tmp = tempfile::tempdir().unwrap();
        let dir = tmp.path().join(".optisync");
        drop(Store::open(&dir).unwrap());
        fs::set_permissions(&dir, fs::Permissions::from_mode(0o755)).unwrap();
        let db = dir.join(DB_FILE_NAME);
        fs::set_permissions(&db, fs::Permissions::from_mode(0o644)).unwrap();

        drop(Store::open(&dir).unwrap());
        assert_eq!(mode(&dir), 0o700);
        assert_eq!(mode(&db), 0o600);
    }
}
