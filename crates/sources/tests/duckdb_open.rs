//! A DuckDB source dropped before its first use waits for the thread opening the database
//! (ADR 0014): the process must never exit while DuckDB is half-open. A test binary of its
//! own, so that no other test's thread is running while it looks at the process's threads.

#![cfg(feature = "duckdb")]
#![allow(clippy::unwrap_used)]

use optisync_sources::{DuckDbConfig, DuckDbSource};

/// The names of this process's threads (Linux keeps the first 15 bytes).
fn thread_names() -> Vec<String> {
    std::fs::read_dir("/proc/self/task")
        .unwrap()
        .filter_map(|task| std::fs::read_to_string(task.ok()?.path().join("comm")).ok())
        .map(|name| name.trim_end().to_owned())
        .collect()
}

#[test]
fn a_source_dropped_before_its_first_use_joins_the_thread_opening_it() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("warehouse.duckdb");
    duckdb::Connection::open(&path)
        .unwrap()
        .execute_batch("create table users as select range as id from range(10)")
        .unwrap();
    let source = DuckDbSource::open(&DuckDbConfig {
        path: Some(path),
        base_dir: dir.path().to_path_buf(),
    })
    .unwrap();
    // DuckDB's open takes tens of milliseconds: the thread is still at work here, and
    // would still be after the drop if the drop did not wait for it.
    drop(source);
    assert!(
        !thread_names().iter().any(|n| n == "optisync-duckdb"),
        "the opening thread was joined: {:?}",
        thread_names()
    );
}
