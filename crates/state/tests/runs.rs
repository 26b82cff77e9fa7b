//! Run history: the lifecycle of a run, listing order and filters, rejected rows and which
//! of them are pending, the run the empty-model guardrail compares with, interrupted runs.

#![allow(clippy::unwrap_used)]

use optisync_state::{Error, RejectedRow, RunCounts, RunFilter, RunFinish, RunStatus, Store};

fn finish(status: RunStatus, rows_read: u64) -> RunFinish {
    RunFinish {
        status,
        counts: RunCounts {
            rows_read,
            ..RunCounts::default()
        },
        error: None,
    }
}

fn rejected(key: &str) -> RejectedRow {
    RejectedRow {
        primary_key: Some(key.to_owned()),
        field: Some("key".into()),
        reason: format!("{key} is too long"),
        request_id: None,
    }
}

#[test]
fn a_run_is_started_then_finished_once() {
    let tmp = tempfile::tempdir().unwrap();
    let mut store = Store::open(tmp.path()).unwrap();
    let id = store.start_run("segments").unwrap();
    assert!(id.contains("-segments-"), "{id}");

    let running = store.run(&id).unwrap().unwrap();
    assert_eq!(running.status, RunStatus::Running);
    assert!(running.finished_at.is_none());
    assert_eq!(running.counts, RunCounts::default());

    let counts = RunCounts {
        rows_read: 120,
        planned_creates: 3,
        planned_updates: 4,
        planned_removes: 0,
        list_added: 0,
        list_removed: 0,
        requests_sent: 8,
        rejected: 1,
        creates: 2,
        updates: 4,
        reads: 3,
        throttled: 1,
    };
    let done = store
        .finish_run(
            &id,
            &RunFinish {
                status: RunStatus::RejectedRows,
                counts,
                error: Some("1 row rejected".into()),
            },
        )
        .unwrap();
    assert_eq!(done.status, RunStatus::RejectedRows);
    assert_eq!(done.counts, counts);
    assert_eq!(done.error.as_deref(), Some("1 row rejected"));
    let finished_at = done.finished_at.unwrap();
    assert!(finished_at >= done.started_at);
    assert_eq!(
        done.duration_ms.unwrap(),
        u64::try_from((finished_at - done.started_at).num_milliseconds()).unwrap()
    );
    assert_eq!(store.run(&id).unwrap().unwrap(), done);

    let again = store.finish_run(&id, &finish(RunStatus::Succeeded, 1));
    assert!(
        matches!(again, Err(Error::RunAlreadyFinished(_))),
        "{again:?}"
    );
    let missing = store.finish_run("nope", &finish(RunStatus::Succeeded, 1));
    assert!(matches!(missing, Err(Error::RunNotFound(_))), "{missing:?}");
    assert!(store.run("nope").unwrap().is_none());
}

#[test]
fn finishing_as_running_is_refused() {
    let tmp = tempfile::tempdir().unwrap();
    let mut store = Store::open(tmp.path()).unwrap();
    let id = store.start_run("s").unwrap();
    let err = store
        .finish_run(&id, &finish(RunStatus::Running, 0))
        .unwrap_err();
    assert!(matches!(err, Error::InvalidArgument(_)), "{err:?}");
}

#[test]
fn runs_are_listed_newest_first_per_sync_and_limited() {
    let tmp = tempfile::tempdir().unwrap();
    let mut store = Store::open(tmp.path()).unwrap();
    let a1 = store.start_run("a").unwrap();
    let b1 = store.start_run("b").unwrap();
    let a2 = store.start_run("a").unwrap();
    let a3 = store.start_run("a").unwrap();

    let ids = |runs: Vec<optisync_state::RunRecord>| -> Vec<String> {
        runs.into_iter().map(|run| run.id).collect()
    };
    let all = store.runs(&RunFilter::default()).unwrap();
    assert_eq!(ids(all), [&a3, &a2, &b1, &a1].map(String::as_str));
    let only_a = store
        .runs(&RunFilter {
            sync: Some("a".into()),
            limit: None,
            before: None,
        })
        .unwrap();
    assert_eq!(ids(only_a), [&a3, &a2, &a1].map(String::as_str));
    let limited = store
        .runs(&RunFilter {
            sync: Some("a".into()),
            limit: Some(2),
            before: None,
        })
        .unwrap();
    assert_eq!(ids(limited), [&a3, &a2].map(String::as_str));
    // The next page starts after the last run of the one before.
    let next = store
        .runs(&RunFilter {
            sync: Some("a".into()),
            limit: Some(2),
            before: Some(a2.clone()),
        })
        .unwrap();
    assert_eq!(ids(next), [&a1].map(String::as_str));
    let next_of_all = store
        .runs(&RunFilter {
            before: Some(a2.clone()),
            ..RunFilter::default()
        })
        .unwrap();
    assert_eq!(ids(next_of_all), [&b1, &a1].map(String::as_str));
    assert!(matches!(
        store.runs(&RunFilter {
            before: Some("no-such-run".into()),
            ..RunFilter::default()
        }),
        Err(optisync_state::Error::RunNotFound(_))
    ));
    assert_eq!(store.last_run("a").unwrap().unwrap().id, a3);
    assert_eq!(store.last_run("b").unwrap().unwrap().id, b1);
    assert!(store.last_run("c").unwrap().is_none());
    assert_eq!(store.sync_names().unwrap(), ["a", "b"]);
}

#[test]
fn the_guardrail_compares_with_the_last_applied_run_not_a_blocked_one() {
    let tmp = tempfile::tempdir().unwrap();
    let mut store = Store::open(tmp.path()).unwrap();
    let good = store.start_run("s").unwrap();
    store
        .finish_run(&good, &finish(RunStatus::Succeeded, 500))
        .unwrap();
    let blocked = store.start_run("s").unwrap();
    store
        .finish_run(&blocked, &finish(RunStatus::Blocked, 0))
        .unwrap();
    let locked = store.start_run("s").unwrap();
    store
        .finish_run(&locked, &finish(RunStatus::Locked, 0))
        .unwrap();

    assert_eq!(store.last_run("s").unwrap().unwrap().id, locked);
    let applied = store.last_applied_run("s").unwrap().unwrap();
    assert_eq!(applied.id, good);
    assert_eq!(applied.counts.rows_read, 500);
}

#[test]
fn rejected_rows_are_stored_per_run_and_the_latest_finished_ones_are_pending() {
    let tmp = tempfile::tempdir().unwrap();
    let mut store = Store::open(tmp.path()).unwrap();
    let first = store.start_run("s").unwrap();
    store
        .add_rejected_rows(&first, &[rejected("a"), rejected("b")])
        .unwrap();
    store
        .finish_run(&first, &finish(RunStatus::RejectedRows, 10))
        .unwrap();
    let api_rejection = RejectedRow {
        primary_key: None,
        field: None,
        reason: "invalid conditions".into(),
        request_id: Some("9f0c-uuid".into()),
    };
    let second = store.start_run("s").unwrap();
    store
        .add_rejected_rows(&second, std::slice::from_ref(&api_rejection))
        .unwrap();

    assert_eq!(
        store.rejected_rows(&first).unwrap(),
        [rejected("a"), rejected("b")]
    );
    assert_eq!(
        store.rejected_rows(&second).unwrap(),
        std::slice::from_ref(&api_rejection)
    );
    // The second run is still running: the first run's rows are the pending ones.
    assert_eq!(
        store.pending_rejected_rows("s").unwrap(),
        [rejected("a"), rejected("b")]
    );
    store
        .finish_run(&second, &finish(RunStatus::RejectedRows, 10))
        .unwrap();
    assert_eq!(
        store.pending_rejected_rows("s").unwrap(),
        std::slice::from_ref(&api_rejection)
    );
    // A blocked run processed nothing; what was pending stays pending.
    let blocked = store.start_run("s").unwrap();
    store
        .finish_run(&blocked, &finish(RunStatus::Blocked, 0))
        .unwrap();
    assert_eq!(store.pending_rejected_rows("s").unwrap(), [api_rejection]);
    // A clean run clears them.
    let clean = store.start_run("s").unwrap();
    store
        .finish_run(&clean, &finish(RunStatus::Succeeded, 10))
        .unwrap();
    assert!(store.pending_rejected_rows("s").unwrap().is_empty());

    let err = store
        .add_rejected_rows("no-such-run", &[rejected("x")])
        .unwrap_err();
    assert!(matches!(err, Error::RunNotFound(_)), "{err:?}");
}

#[test]
fn runs_left_running_by_a_dead_process_are_marked_interrupted() {
    let tmp = tempfile::tempdir().unwrap();
    let mut store = Store::open(tmp.path()).unwrap();
    let killed = store.start_run("s").unwrap();
    let other_sync = store.start_run("t").unwrap();
    let finished = store.start_run("s").unwrap();
    store
        .finish_run(&finished, &finish(RunStatus::Succeeded, 1))
        .unwrap();

    assert_eq!(store.mark_interrupted_runs("s").unwrap(), 1);
    let run = store.run(&killed).unwrap().unwrap();
    assert_eq!(run.status, RunStatus::Interrupted);
    assert!(run.finished_at.is_some());
    assert!(run.error.is_some());
    assert_eq!(
        store.run(&other_sync).unwrap().unwrap().status,
        RunStatus::Running
    );
    assert_eq!(
        store.run(&finished).unwrap().unwrap().status,
        RunStatus::Succeeded
    );
}
