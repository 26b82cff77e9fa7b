//! Opening the store: migrations on a fresh directory, reopening keeps data, a database from
//! a newer optisync is refused, the directory and files are owner-only, an existing folder
//! is checked and never changed, and the read-only opening writes nothing.

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
        store
            .delivered_list("beta")
            .unwrap()
            .unwrap()
            .members
            .to_vec(),
        ["u1", "u2"]
    );
    assert_eq!(store.run(&run_id).unwrap().unwrap().sync, "beta");
    assert_eq!(store.state_version("beta").unwrap(), 1);
}

#[test]
fn a_database_from_a_newer_optisync_is_refused() {
    let tmp = tempfile::tempdir().unwrap();
    let db = Store::open(tmp.path()).unwrap().path().to_path_buf();
    let conn = rusqlite::Connection::open(db).unwrap();
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

/// A state folder holding a state file that is then overwritten with `damage`.
fn damaged_dir(
    tmp: &tempfile::TempDir,
    damage: impl FnOnce(&std::path::Path),
) -> std::path::PathBuf {
    let dir = tmp.path().join("state");
    drop(Store::open(&dir).unwrap());
    damage(&dir.join(DB_FILE_NAME));
    dir
}

#[test]
fn another_applications_sqlite_file_is_refused() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = damaged_dir(&tmp, |db| {
        let conn = rusqlite::Connection::open(db).unwrap();
        conn.pragma_update(None, "application_id", 1234).unwrap();
    });
    let err = Store::open(&dir).unwrap_err();
    assert!(matches!(err, Error::Damaged { .. }), "{err:?}");
}

#[test]
fn an_existing_folder_with_other_things_gets_a_subfolder() {
    let tmp = tempfile::tempdir().unwrap();
    std::fs::write(tmp.path().join("optisync.toml"), "").unwrap();
    let store = Store::open(tmp.path()).unwrap();
    assert_eq!(
        store.path(),
        tmp.path()
            .join(optisync_state::DEFAULT_DIR_NAME)
            .join(DB_FILE_NAME)
    );
    drop(store);
    // Found there again by the next run and by the read-only verbs.
    assert_eq!(
        Store::open(tmp.path()).unwrap().dir(),
        tmp.path().join(".optisync")
    );
    assert!(Store::open_read_only(tmp.path()).unwrap().is_some());
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
    fn an_existing_directory_or_file_left_open_is_refused_and_left_as_it_was() {
        let tmp = tempfile::tempdir().unwrap();
        let dir = tmp.path().join(".optisync");
        drop(Store::open(&dir).unwrap());
        fs::set_permissions(&dir, fs::Permissions::from_mode(0o755)).unwrap();
        let err = Store::open(&dir).unwrap_err();
        assert!(matches!(err, Error::UnsafeStateDir { .. }), "{err:?}");
        assert!(err.to_string().contains("chmod 700"), "{err}");
        assert_eq!(mode(&dir), 0o755, "the folder's mode is not changed");

        fs::set_permissions(&dir, fs::Permissions::from_mode(0o700)).unwrap();
        let db = dir.join(DB_FILE_NAME);
        fs::set_permissions(&db, fs::Permissions::from_mode(0o644)).unwrap();
        let err = Store::open(&dir).unwrap_err();
        assert!(err.to_string().contains("chmod 600"), "{err}");
        assert_eq!(mode(&db), 0o644, "the file's mode is not changed");

        // Read-only verbs warn instead, and read.
        let store = Store::open_read_only(&dir).unwrap().unwrap();
        assert_eq!(store.runs(&Default::default()).unwrap().len(), 0);
    }

    #[test]
    fn a_world_writable_sticky_folder_is_refused_for_every_use() {
        let tmp = tempfile::tempdir().unwrap();
        fs::set_permissions(tmp.path(), fs::Permissions::from_mode(0o1777)).unwrap();
        for err in [
            Store::open(tmp.path()).unwrap_err(),
            Store::open_read_only(tmp.path()).unwrap_err(),
            optisync_state::state_dir::locate(tmp.path()).unwrap_err(),
        ] {
            assert!(matches!(err, Error::UnsafeStateDir { .. }), "{err:?}");
        }
        let mode = fs::metadata(tmp.path()).unwrap().permissions().mode() & 0o7777;
        assert_eq!(mode, 0o1777);
        assert_eq!(
            fs::read_dir(tmp.path()).unwrap().count(),
            0,
            "nothing created"
        );
    }

    #[test]
    fn a_new_folder_is_created_owner_only_without_a_chmod_of_its_parent() {
        let tmp = tempfile::tempdir().unwrap();
        fs::set_permissions(tmp.path(), fs::Permissions::from_mode(0o755)).unwrap();
        let dir = tmp.path().join("state");
        drop(Store::open(&dir).unwrap());
        assert_eq!(mode(&dir), 0o700);
        assert_eq!(mode(tmp.path()), 0o755);
    }
}

/// Every file in `dir` with its content and modification time.
fn snapshot(dir: &std::path::Path) -> Vec<(String, Vec<u8>, std::time::SystemTime)> {
    let mut files: Vec<_> = std::fs::read_dir(dir)
        .unwrap()
        .map(|entry| {
            let path = entry.unwrap().path();
            let meta = std::fs::metadata(&path).unwrap();
            (
                path.file_name().unwrap().to_string_lossy().into_owned(),
                std::fs::read(&path).unwrap(),
                meta.modified().unwrap(),
            )
        })
        .collect();
    files.sort();
    files
}

#[test]
fn reading_only_creates_and_writes_nothing() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("state");
    assert!(Store::open_read_only(&dir).unwrap().is_none());
    assert!(!dir.exists(), "no folder is created");

    let run_id = {
        let mut store = Store::open(&dir).unwrap();
        store
            .replace_delivered_list("beta", 4567, "h1", ["u1", "u2"], &[])
            .unwrap();
        store.start_run("beta").unwrap()
    };
    let before = snapshot(&dir);
    assert_eq!(
        before.iter().map(|f| f.0.as_str()).collect::<Vec<_>>(),
        [DB_FILE_NAME],
        "the last writer checkpointed and removed its journal files"
    );
    {
        let mut store = Store::open_read_only(&dir).unwrap().unwrap();
        assert_eq!(store.run(&run_id).unwrap().unwrap().sync, "beta");
        assert_eq!(
            store
                .delivered_list_summary("beta")
                .unwrap()
                .unwrap()
                .member_count,
            2
        );
        assert!(store.start_run("beta").is_err(), "it cannot write");
        assert_eq!(snapshot(&dir), before, "nothing written while open");
    }
    assert_eq!(snapshot(&dir), before, "nothing written or left behind");
}

#[test]
fn reading_only_sees_what_a_live_writer_committed() {
    let tmp = tempfile::tempdir().unwrap();
    let mut writer = Store::open(tmp.path()).unwrap();
    let run_id = writer.start_run("beta").unwrap();
    // The writer is still open: its commits may be in the -wal file only.
    assert!(writer.dir().join(format!("{DB_FILE_NAME}-wal")).exists());
    let reader = Store::open_read_only(tmp.path()).unwrap().unwrap();
    assert_eq!(reader.run(&run_id).unwrap().unwrap().sync, "beta");
    drop(writer);
}

#[test]
fn a_damaged_file_says_how_to_recover_for_every_use() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = damaged_dir(&tmp, |db| std::fs::write(db, vec![b'x'; 4096]).unwrap());
    for err in [
        Store::open(&dir).unwrap_err(),
        Store::open_read_only(&dir).unwrap_err(),
    ] {
        assert!(matches!(err, Error::Damaged { .. }), "{err:?}");
        assert!(err.is_unusable_state());
        let text = err.to_string();
        for hint in ["backup", "--full-resync", "mirror list", "by hand"] {
            assert!(text.contains(hint), "{hint:?} missing from: {text}");
        }
    }
}

#[test]
fn processes_opening_a_new_state_store_at_once_all_succeed() {
    // Connections on threads meet the same SQLite locks as processes: the first one turns on
    // WAL and creates the schema while the others wait for it.
    for _ in 0..5 {
        let tmp = tempfile::tempdir().unwrap();
        let dir = tmp.path().to_path_buf();
        let barrier = std::sync::Arc::new(std::sync::Barrier::new(4));
        let openers: Vec<_> = (0..4)
            .map(|_| {
                let (dir, barrier) = (dir.clone(), std::sync::Arc::clone(&barrier));
                std::thread::spawn(move || {
                    barrier.wait();
                    Store::open(&dir).map(drop)
                })
            })
            .collect();
        for opener in openers {
            opener.join().unwrap().unwrap();
        }
    }
}
