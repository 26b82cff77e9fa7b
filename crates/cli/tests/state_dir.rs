//! The state folder, through the real binary: optisync keeps its state only in a folder it
//! created (owner-only from the start) or that already holds its state, refuses a folder
//! others could tamper with, and never changes the permissions of a folder it did not create;
//! the read-only verbs write nothing; a damaged state file says how to recover; a request
//! slot left in the future by a clock does not stall a run; saved plans are owner-only.

#![allow(clippy::unwrap_used)]

mod common;

use std::os::unix::fs::{DirBuilderExt, OpenOptionsExt, PermissionsExt};
use std::path::Path;
use std::time::{Duration, SystemTime};

use common::{Case, WEB, list_sync};

fn mode(path: &Path) -> u32 {
    std::fs::symlink_metadata(path)
        .unwrap()
        .permissions()
        .mode()
        & 0o7777
}

fn chmod(path: &Path, mode: u32) {
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(mode)).unwrap();
}

/// A list case whose model holds `u1` and `u2`.
async fn list_case() -> Case {
    let case = Case::new(WEB, "", &list_sync("mirror")).await;
    case.write("users.csv", "user_id\nu1\nu2\n");
    case
}

/// Puts `state_dir = '<dir>'` at the top of the case's config.
fn set_state_dir(case: &Case, dir: &str) {
    let path = case.path().join("optisync.toml");
    let config = std::fs::read_to_string(&path).unwrap();
    std::fs::write(&path, format!("state_dir = '{dir}'\n{config}")).unwrap();
}

/// Every entry of `dir`: name, content (files) and modification time.
fn snapshot(dir: &Path) -> Vec<(String, Vec<u8>, SystemTime)> {
    let mut entries: Vec<_> = std::fs::read_dir(dir)
        .unwrap()
        .map(|entry| {
            let path = entry.unwrap().path();
            let meta = std::fs::metadata(&path).unwrap();
            let content = if meta.is_file() {
                std::fs::read(&path).unwrap()
            } else {
                Vec::new()
            };
            (
                path.file_name().unwrap().to_string_lossy().into_owned(),
                content,
                meta.modified().unwrap(),
            )
        })
        .collect();
    entries.sort();
    entries
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_world_writable_sticky_state_dir_is_refused_and_keeps_its_mode() {
    let case = list_case().await;
    let shared = tempfile::tempdir().unwrap();
    chmod(shared.path(), 0o1777);
    set_state_dir(&case, &shared.path().display().to_string());
    for verb in [&["sync"][..], &["plan"], &["status"], &["runs"]] {
        let out = case.expect(verb, 3).await;
        assert!(out.contains("can be written by other users"), "{out}");
        assert!(out.contains("mode 1777"), "{out}");
        assert!(out.contains("set state_dir to"), "the fix is named: {out}");
    }
    assert_eq!(
        mode(shared.path()),
        0o1777,
        "the folder's mode is unchanged"
    );
    assert_eq!(std::fs::read_dir(shared.path()).unwrap().count(), 0);
    assert_eq!(case.writes(), 0, "nothing was sent");
    case.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn state_dir_dot_gets_a_private_subfolder_and_the_config_folder_keeps_its_mode() {
    let case = list_case().await;
    chmod(case.path(), 0o755);
    set_state_dir(&case, ".");
    case.expect(&["sync"], 0).await;
    assert_eq!(mode(case.path()), 0o755, "the config's folder is unchanged");
    let state = case.path().join(".optisync");
    assert_eq!(mode(&state), 0o700);
    assert_eq!(mode(&state.join("state.db")) & 0o077, 0);
    assert!(!case.path().join("state.db").exists());
    // The next run finds the state there: nothing to send.
    let writes = case.writes();
    case.expect(&["sync"], 0).await;
    assert_eq!(case.writes(), writes);
    let out = case.expect(&["status"], 0).await;
    assert!(out.contains("succeeded"), "{out}");
    assert_eq!(mode(case.path()), 0o755);
    case.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_new_state_dir_is_created_owner_only_and_a_link_is_refused() {
    let created = list_case().await;
    set_state_dir(&created, "var/state");
    created.expect(&["sync"], 0).await;
    let state = created.path().join("var/state");
    assert_eq!(mode(&state), 0o700);
    assert!(
        state.join("state.db").is_file(),
        "kept in the folder it created"
    );
    created.stop().await;

    let case = list_case().await;
    std::fs::DirBuilder::new()
        .mode(0o700)
        .create(case.path().join("real"))
        .unwrap();
    std::os::unix::fs::symlink(case.path().join("real"), case.path().join("link")).unwrap();
    set_state_dir(&case, "link");
    let out = case.expect(&["sync"], 3).await;
    assert!(out.contains("symbolic link"), "{out}");
    assert_eq!(
        std::fs::read_dir(case.path().join("real")).unwrap().count(),
        0
    );
    case.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_state_dir_others_can_read_stops_runs_and_is_a_warning_for_status() {
    let case = list_case().await;
    case.expect(&["sync"], 0).await;
    let state = case.path().join(".optisync");
    chmod(&state, 0o750);
    let out = case.expect(&["sync"], 3).await;
    assert!(out.contains("can be read by other users"), "{out}");
    assert!(out.contains("chmod 700"), "{out}");
    let out = case.expect(&["status"], 0).await;
    assert!(out.contains("can be read by other users"), "{out}");
    assert!(out.contains("succeeded"), "status still reads: {out}");
    assert_eq!(mode(&state), 0o750, "the mode is not changed");
    case.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn status_and_runs_write_nothing_and_work_on_a_read_only_state_dir() {
    let case = list_case().await;
    // Before any run: nothing to show, and nothing created.
    let out = case.expect(&["status"], 0).await;
    assert!(out.contains("never run"), "{out}");
    case.expect(&["runs"], 0).await;
    let state = case.path().join(".optisync");
    assert!(!state.exists(), "status created the state folder");

    case.expect(&["sync"], 0).await;
    // The process ends without exit handlers (`exit::now`), after its state store closed: the
    // last connection checkpointed its log into state.db and removed it.
    let mut files: Vec<_> = std::fs::read_dir(&state)
        .unwrap()
        .map(|entry| entry.unwrap().file_name().into_string().unwrap())
        .collect();
    files.sort();
    assert_eq!(
        files,
        ["state.db"],
        "the state store was not closed at the exit"
    );
    let runs = case.expect(&["runs", "--output", "json"], 0).await;
    let runs: serde_json::Value = serde_json::from_str(runs.trim()).unwrap();
    let run_id = runs["runs"][0]["id"].as_str().unwrap().to_owned();
    let before = snapshot(&state);
    for verb in [
        &["status"][..],
        &["runs"],
        &["runs", "members"],
        &["runs", "show", &run_id],
    ] {
        case.expect(verb, 0).await;
        // Same files (no -wal, -shm or lock file appeared), same bytes, same times.
        assert_eq!(
            snapshot(&state),
            before,
            "optisync {verb:?} wrote to the state"
        );
    }

    // A folder the user can read but not write. Root reads and writes it anyway, so for root
    // the snapshots above are the proof that nothing is written.
    chmod(&state.join("state.db"), 0o400);
    chmod(&state, 0o500);
    let out = case.expect(&["status"], 0).await;
    assert!(out.contains("succeeded"), "{out}");
    let out = case.expect(&["runs", "show", &run_id], 0).await;
    assert!(out.contains(&run_id), "{out}");
    chmod(&state, 0o700);
    chmod(&state.join("state.db"), 0o600);
    assert_eq!(snapshot(&state), before);
    case.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_damaged_state_file_says_how_to_recover_and_the_advice_works() {
    let case = list_case().await;
    let state = case.path().join(".optisync");
    std::fs::DirBuilder::new()
        .mode(0o700)
        .create(&state)
        .unwrap();
    let db = state.join("state.db");
    std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o600)
        .open(&db)
        .unwrap();
    std::fs::write(&db, vec![b'x'; 4096]).unwrap();
    for verb in [&["sync"][..], &["status"]] {
        let out = case.expect(verb, 3).await;
        for hint in [
            "damaged",
            "restore it from a backup",
            "--full-resync",
            "members added to it by hand are removed",
        ] {
            assert!(
                out.contains(hint),
                "optisync {verb:?} lacks {hint:?}: {out}"
            );
        }
    }
    assert_eq!(case.writes(), 0, "nothing was sent");
    std::fs::rename(&db, state.join("state.db.damaged")).unwrap();
    case.expect(&["sync", "--full-resync"], 0).await;
    assert_eq!(case.list(), ["u1", "u2"]);
    case.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_request_slot_an_hour_ahead_does_not_stall_the_next_run() {
    let case = list_case().await;
    case.expect(&["sync"], 0).await;
    // What a clock set back by an hour (or a host an hour ahead) leaves in the ledger.
    {
        let conn = rusqlite::Connection::open(case.path().join(".optisync/state.db")).unwrap();
        let quotas: Vec<String> = conn
            .prepare("SELECT DISTINCT quota FROM request_slots")
            .unwrap()
            .query_map([], |row| row.get(0))
            .unwrap()
            .collect::<Result<_, _>>()
            .unwrap();
        assert!(!quotas.is_empty(), "the first run reserved no slot");
        let ahead = SystemTime::now()
            .duration_since(SystemTime::UNIX_EPOCH)
            .unwrap()
            .as_millis()
            + 3_600_000;
        for quota in &quotas {
            conn.execute(
                "INSERT INTO request_slots (quota, at_ms) VALUES (?1, ?2)",
                rusqlite::params![quota, i64::try_from(ahead).unwrap()],
            )
            .unwrap();
        }
    }
    case.write("users.csv", "user_id\nu1\nu2\nu3\n");
    let child = case.spawn(&["sync"]);
    let pid = child.id();
    let waited = tokio::time::timeout(
        // A guard only: the run takes well under a second; the skew is an hour.
        Duration::from_secs(30),
        tokio::task::spawn_blocking(move || child.wait_with_output().unwrap()),
    )
    .await;
    let Ok(out) = waited else {
        let _ = std::process::Command::new("kill")
            .args(["-9", &pid.to_string()])
            .status();
        panic!("the run stalled behind a request slot an hour ahead");
    };
    let out = out.unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(0), "{stderr}");
    assert!(
        stderr.contains("ignoring request slots that lie in the future"),
        "{stderr}"
    );
    assert_eq!(case.list(), ["u1", "u2", "u3"]);
    case.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_saved_plan_is_owner_only_and_replaces_an_older_file() {
    let case = list_case().await;
    let plan = case.path().join("plan.json");
    std::fs::write(&plan, "an older plan").unwrap();
    chmod(&plan, 0o644);
    case.expect(&["plan", "--out", "plan.json"], 0).await;
    assert_eq!(mode(&plan), 0o600);
    let saved: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&plan).unwrap()).unwrap();
    assert!(saved.is_object(), "{saved}");
    let leftovers: Vec<String> = std::fs::read_dir(case.path())
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|name| name.ends_with(".tmp"))
        .collect();
    assert!(leftovers.is_empty(), "{leftovers:?}");
    case.expect(&["sync", "--plan", "plan.json"], 0).await;
    assert_eq!(case.list(), ["u1", "u2"]);
    case.stop().await;
}
