//! Resetting a sync and the state version: what a reset forgets and keeps, and which changes
//! move the version a saved plan is checked against.

#![allow(clippy::unwrap_used)]

use optisync_state::{
    Batch, DefinitionChange, NewIntent, Operation, Outcome, RejectedRow, RunCounts, RunFinish,
    RunStatus, Store,
};
use serde_json::json;

fn one_change(key: &str) -> Batch {
    Batch {
        changes: vec![DefinitionChange::Upsert {
            primary_key: key.to_owned(),
            remote_id: Some(1),
            content_hash: "h".into(),
            fields: json!({ "key": key }),
        }],
        outcomes: vec![],
    }
}

#[test]
fn the_state_version_moves_with_every_state_change_and_only_then() {
    let tmp = tempfile::tempdir().unwrap();
    let mut store = Store::open(tmp.path()).unwrap();
    assert_eq!(store.state_version("s").unwrap(), 0);

    assert_eq!(store.apply_batch("s", &one_change("a")).unwrap(), 1);
    assert_eq!(store.state_version("s").unwrap(), 1);
    assert_eq!(
        store
            .replace_delivered_list("s", 1, "h", ["u"], &[])
            .unwrap(),
        2
    );
    assert_eq!(store.reset("s").unwrap(), 3);
    assert_eq!(store.state_version("s").unwrap(), 3);

    // Runs, rejected rows, intents and outcome-only batches are not state the planner reads.
    let run = store.start_run("s").unwrap();
    store
        .add_rejected_rows(
            &run,
            &[RejectedRow {
                primary_key: None,
                field: None,
                reason: "r".into(),
                request_id: None,
            }],
        )
        .unwrap();
    let intent = store
        .record_intent(&NewIntent {
            run_id: run.clone(),
            primary_key: Some("a".into()),
            operation: Operation::Update,
            body_hash: "b".into(),
        })
        .unwrap();
    let outcomes_only = Batch {
        changes: vec![],
        outcomes: vec![(intent, Outcome::NotApplied)],
    };
    assert_eq!(store.apply_batch("s", &outcomes_only).unwrap(), 3);
    assert_eq!(store.state_version("s").unwrap(), 3);
    // Other syncs have their own counters.
    assert_eq!(store.state_version("t").unwrap(), 0);
}

#[test]
fn reset_forgets_the_syncs_state_and_keeps_its_history_marked() {
    let tmp = tempfile::tempdir().unwrap();
    let mut store = Store::open(tmp.path()).unwrap();
    for sync in ["s", "other"] {
        store.apply_batch(sync, &one_change("a")).unwrap();
        store
            .replace_delivered_list(sync, 1, "h", ["u1", "u2"], &[])
            .unwrap();
    }
    let run = store.start_run("s").unwrap();
    store
        .record_intent(&NewIntent {
            run_id: run.clone(),
            primary_key: Some("a".into()),
            operation: Operation::Create,
            body_hash: "b".into(),
        })
        .unwrap();
    store
        .add_rejected_rows(
            &run,
            &[RejectedRow {
                primary_key: Some("x".into()),
                field: None,
                reason: "bad".into(),
                request_id: None,
            }],
        )
        .unwrap();
    store
        .finish_run(
            &run,
            &RunFinish {
                status: RunStatus::RejectedRows,
                counts: RunCounts {
                    rows_read: 7,
                    ..RunCounts::default()
                },
                error: None,
            },
        )
        .unwrap();

    store.reset("s").unwrap();

    assert!(store.definitions("s").unwrap().is_empty());
    assert!(store.delivered_list("s").unwrap().is_none());
    assert!(store.unresolved_intents("s").unwrap().is_empty());
    assert!(store.pending_rejected_rows("s").unwrap().is_empty());
    assert!(store.last_applied_run("s").unwrap().is_none());
    // History is kept, marked.
    let kept = store.run(&run).unwrap().unwrap();
    assert!(kept.before_reset);
    assert_eq!(store.rejected_rows(&run).unwrap().len(), 1);
    assert_eq!(store.last_run("s").unwrap().unwrap().id, run);
    // Other syncs are untouched.
    assert_eq!(store.definitions("other").unwrap().len(), 1);
    assert_eq!(
        store
            .delivered_list("other")
            .unwrap()
            .unwrap()
            .members
            .to_vec(),
        ["u1", "u2"]
    );
}
