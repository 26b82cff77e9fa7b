//! The shared request ledger does not trust the clock blindly: a slot left in the future by a
//! clock that was set back, by a host whose clock runs ahead, or by a process that is gone no
//! longer holds the next request back; a live queue still does.

#![allow(clippy::unwrap_used)]

use std::path::Path;
use std::time::Duration;

use optisync_state::{RequestLedger, Store};
use rusqlite::params;

const QUOTA: &str = "token-0123456789abcdef";

fn now_ms() -> i64 {
    chrono::Utc::now().timestamp_millis()
}

/// Plants a slot `ahead` in the future, with the owner given (none: as earlier versions).
fn plant(db: &Path, ahead: Duration, owner: Option<(u32, &str)>) {
    let conn = rusqlite::Connection::open(db).unwrap();
    let at = now_ms() + i64::try_from(ahead.as_millis()).unwrap();
    conn.execute(
        "INSERT INTO request_slots (quota, at_ms, owner_pid, owner_host) VALUES (?1, ?2, ?3, ?4)",
        params![QUOTA, at, owner.map(|o| o.0), owner.map(|o| o.1)],
    )
    .unwrap();
}

fn slots(db: &Path) -> i64 {
    let conn = rusqlite::Connection::open(db).unwrap();
    conn.query_row(
        "SELECT count(*) FROM request_slots WHERE quota = ?1",
        params![QUOTA],
        |row| row.get(0),
    )
    .unwrap()
}

fn host() -> String {
    std::fs::read_to_string("/proc/sys/kernel/hostname")
        .map(|h| h.trim().to_owned())
        .unwrap_or_default()
}

#[test]
fn a_slot_an_hour_ahead_does_not_hold_the_next_request_back() {
    let tmp = tempfile::tempdir().unwrap();
    let store = Store::open(tmp.path()).unwrap();
    plant(store.path(), Duration::from_secs(3600), None);
    let ledger = RequestLedger::open(&store, QUOTA).unwrap();
    let wait = ledger.reserve(Some(2), Some(120)).unwrap();
    assert!(wait < Duration::from_secs(1), "waited {wait:?}");
    // The stale slot is gone; only the new one remains.
    assert_eq!(slots(store.path()), 1);
    // And the next ones queue normally behind the new slot.
    ledger.reserve(Some(2), Some(120)).unwrap();
    let third = ledger.reserve(Some(2), Some(120)).unwrap();
    assert!(third >= Duration::from_millis(900), "waited {third:?}");
}

#[test]
fn a_slot_of_a_process_that_is_gone_does_not_hold_anyone_back() {
    if !Path::new("/proc/self").exists() {
        return;
    }
    let tmp = tempfile::tempdir().unwrap();
    let store = Store::open(tmp.path()).unwrap();
    let mut child = std::process::Command::new("sh")
        .args(["-c", "exit 0"])
        .spawn()
        .unwrap();
    let gone = child.id();
    child.wait().unwrap();
    // 30 s ahead: within what a queue may need, but its owner will never send.
    plant(store.path(), Duration::from_secs(30), Some((gone, &host())));
    let ledger = RequestLedger::open(&store, QUOTA).unwrap();
    let wait = ledger.reserve(Some(2), Some(120)).unwrap();
    assert!(wait < Duration::from_secs(1), "waited {wait:?}");
}

#[test]
fn a_live_processs_slot_ahead_is_still_honoured() {
    let tmp = tempfile::tempdir().unwrap();
    let store = Store::open(tmp.path()).unwrap();
    plant(
        store.path(),
        Duration::from_secs(30),
        Some((std::process::id(), &host())),
    );
    let ledger = RequestLedger::open(&store, QUOTA).unwrap();
    let wait = ledger.reserve(Some(2), Some(120)).unwrap();
    assert!(wait >= Duration::from_secs(29), "waited {wait:?}");
    assert_eq!(slots(store.path()), 2);
}
