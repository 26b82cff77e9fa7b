//! The per-sync lock: exclusive across connections, threads and processes; a holder that is
//! gone (dead pid on this host, silent heartbeat on another) is taken over; a guard that lost
//! its lock cannot release the new holder's.

#![allow(clippy::unwrap_used)]

use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::{Command, Stdio};
use std::sync::{Arc, Barrier, mpsc};
use std::thread;
use std::time::{Duration, Instant};

use optisync_state::{Error, LockHolder, Store, StoreOptions};

fn dead_pid() -> u32 {
    let mut child = Command::new("sh").args(["-c", "exit 0"]).spawn().unwrap();
    let pid = child.id();
    child.wait().unwrap();
    pid
}

#[test]
fn a_second_acquire_fails_and_names_the_holder() {
    let tmp = tempfile::tempdir().unwrap();
    let store = Store::open(tmp.path()).unwrap();
    let first = store
        .acquire_lock(
            "segments",
            &LockHolder::this_process("optisync sync (cron)"),
        )
        .unwrap();
    assert_eq!(first.sync(), "segments");

    let err = store
        .acquire_lock("segments", &LockHolder::this_process("optisync serve"))
        .unwrap_err();
    assert!(err.is_locked());
    match &err {
        Error::Locked {
            sync, holder, pid, ..
        } => {
            assert_eq!(sync, "segments");
            assert_eq!(holder, "optisync sync (cron)");
            assert_eq!(*pid, std::process::id());
        }
        other => panic!("expected Locked, got {other:?}"),
    }
    let message = err.to_string();
    assert!(message.contains("optisync sync (cron)"), "{message}");
    assert!(
        message.contains(&std::process::id().to_string()),
        "{message}"
    );

    // Another sync's lock is independent.
    let _other = store
        .acquire_lock("events", &LockHolder::this_process("optisync serve"))
        .unwrap();
    let info = store.lock_info("segments").unwrap().unwrap();
    assert_eq!(info.holder, "optisync sync (cron)");

    // Released on drop: the lock is free again.
    drop(first);
    assert!(store.lock_info("segments").unwrap().is_none());
    store
        .acquire_lock("segments", &LockHolder::this_process("next"))
        .unwrap()
        .release()
        .unwrap();
}

#[test]
fn a_lock_held_by_a_dead_process_on_this_host_is_taken_over() {
    let tmp = tempfile::tempdir().unwrap();
    let store = Store::open(tmp.path()).unwrap();
    let me = LockHolder::this_process("new run");
    let gone = LockHolder {
        description: "killed run".into(),
        pid: dead_pid(),
        host: me.host.clone(),
        pid_start: None,
    };
    let stale = store.acquire_lock("s", &gone).unwrap();

    let guard = store.acquire_lock("s", &me).unwrap();
    let info = store.lock_info("s").unwrap().unwrap();
    assert_eq!(info.holder, "new run");
    assert_eq!(info.pid, std::process::id());

    // The old guard lost its lock and cannot release (or refresh) the new holder's.
    assert!(matches!(stale.heartbeat(), Err(Error::LockLost { .. })));
    assert!(matches!(stale.release(), Err(Error::LockLost { .. })));
    assert_eq!(store.lock_info("s").unwrap().unwrap().holder, "new run");
    guard.heartbeat().unwrap();
}

#[test]
fn a_live_holder_on_another_host_keeps_its_lock_until_its_heartbeat_expires() {
    let tmp = tempfile::tempdir().unwrap();
    let remote = LockHolder {
        description: "run on the other pod".into(),
        pid: 1,
        host: "some-other-host.invalid".into(),
        pid_start: None,
    };
    let store = Store::open(tmp.path()).unwrap();
    let _held = store.acquire_lock("s", &remote).unwrap();
    let err = store
        .acquire_lock("s", &LockHolder::this_process("local"))
        .unwrap_err();
    assert!(err.to_string().contains("run on the other pod"), "{err}");

    // With a zero expiry any silence is too long: the lock is taken over as soon as the
    // clock has moved past the heartbeat.
    let impatient = Store::open_with(
        tmp.path(),
        StoreOptions {
            lock_expiry: Duration::ZERO,
            ..StoreOptions::default()
        },
    )
    .unwrap();
    let deadline = Instant::now() + Duration::from_secs(10);
    let guard = loop {
        match impatient.acquire_lock("s", &LockHolder::this_process("local")) {
            Ok(guard) => break guard,
            Err(err) if err.is_locked() && Instant::now() < deadline => thread::yield_now(),
            Err(err) => panic!("lock never expired: {err}"),
        }
    };
    assert_eq!(guard.sync(), "s");
    assert_eq!(store.lock_info("s").unwrap().unwrap().holder, "local");
}

#[test]
fn exactly_one_of_many_concurrent_acquirers_wins() {
    let tmp = tempfile::tempdir().unwrap();
    drop(Store::open(tmp.path()).unwrap());
    let contenders = 6;
    let barrier = Arc::new(Barrier::new(contenders));
    let handles: Vec<_> = (0..contenders)
        .map(|i| {
            let dir = tmp.path().to_path_buf();
            let barrier = Arc::clone(&barrier);
            thread::spawn(move || {
                // Each thread has its own connection, as separate processes would.
                let store = Store::open(&dir).unwrap();
                barrier.wait();
                store.acquire_lock("s", &LockHolder::this_process(format!("contender {i}")))
            })
        })
        .collect();
    let results: Vec<_> = handles.into_iter().map(|h| h.join().unwrap()).collect();
    let winners = results.iter().filter(|r| r.is_ok()).count();
    assert_eq!(winners, 1, "{results:?}");
    for result in &results {
        if let Err(err) = result {
            assert!(err.is_locked(), "{err:?}");
        }
    }
}

const CHILD_ENV: &str = "OPTISYNC_STATE_TEST_LOCK_CHILD";

/// Runs in two roles: as the test, it starts this same test binary again as a child process
/// that takes the lock and waits; as that child (told by an environment variable), it takes
/// the lock, says so, and waits for stdin to close.
#[test]
fn the_lock_is_exclusive_across_processes_and_outlives_a_killed_holder() {
    if let Ok(dir) = std::env::var(CHILD_ENV) {
        let store = Store::open(Path::new(&dir)).unwrap();
        let _guard = store
            .acquire_lock("shared", &LockHolder::this_process("child run"))
            .unwrap();
        println!("LOCK-ACQUIRED");
        let mut line = String::new();
        std::io::stdin().read_line(&mut line).unwrap();
        return;
    }

    let tmp = tempfile::tempdir().unwrap();
    let mut child = Command::new(std::env::current_exe().unwrap())
        .args([
            "--exact",
            "the_lock_is_exclusive_across_processes_and_outlives_a_killed_holder",
            "--nocapture",
            "--test-threads=1",
        ])
        .env(CHILD_ENV, tmp.path())
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let stdout = child.stdout.take().unwrap();
    let (tx, rx) = mpsc::channel();
    thread::spawn(move || {
        for line in BufReader::new(stdout).lines() {
            let Ok(line) = line else { break };
            if line.contains("LOCK-ACQUIRED") {
                let _ = tx.send(());
            }
        }
    });
    if rx.recv_timeout(Duration::from_secs(60)).is_err() {
        let _ = child.kill();
        panic!("the child process never took the lock");
    }

    let store = Store::open(tmp.path()).unwrap();
    let err = store
        .acquire_lock("shared", &LockHolder::this_process("parent run"))
        .unwrap_err();
    match err {
        Error::Locked { holder, pid, .. } => {
            assert_eq!(holder, "child run");
            assert_eq!(pid, child.id());
        }
        other => panic!("expected Locked, got {other:?}"),
    }

    // kill -9: the child never releases; its lock must not outlive it.
    child.kill().unwrap();
    child.wait().unwrap();
    let guard = store
        .acquire_lock("shared", &LockHolder::this_process("parent run"))
        .unwrap();
    assert_eq!(
        store.lock_info("shared").unwrap().unwrap().pid,
        std::process::id()
    );
    guard.release().unwrap();
}
