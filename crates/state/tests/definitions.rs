//! The definitions snapshot: batches applied in one transaction and read back, remote ids
//! kept, and a bad batch stored not at all.

#![allow(clippy::unwrap_used)]

use optisync_state::{
    Batch, DefinitionChange, Error, IntentId, NewIntent, Operation, Outcome, Store,
};
use serde_json::json;

fn upsert(key: &str, remote_id: Option<i64>, hash: &str) -> DefinitionChange {
    DefinitionChange::Upsert {
        primary_key: key.to_owned(),
        remote_id,
        content_hash: hash.to_owned(),
        fields: json!({ "name": format!("audience {key}"), "conditions": ["and", {"type": "x"}] }),
    }
}

#[test]
fn a_batch_is_applied_and_read_back_sorted_by_key() {
    let tmp = tempfile::tempdir().unwrap();
    let mut store = Store::open(tmp.path()).unwrap();
    assert!(store.definitions("segments").unwrap().is_empty());

    let batch = Batch {
        changes: vec![
            upsert("b", Some(2), "hb"),
            upsert("a", Some(1), "ha"),
            upsert("c", None, "hc"),
        ],
        outcomes: vec![],
    };
    store.apply_batch("segments", &batch).unwrap();

    let snapshot = store.definitions("segments").unwrap();
    assert_eq!(snapshot.keys().collect::<Vec<_>>(), ["a", "b", "c"]);
    assert_eq!(snapshot["a"].remote_id, Some(1));
    assert_eq!(snapshot["c"].remote_id, None);
    assert_eq!(snapshot["b"].content_hash, "hb");
    assert_eq!(
        snapshot["b"].fields,
        json!({ "name": "audience b", "conditions": ["and", {"type": "x"}] })
    );
    // Other syncs do not see it.
    assert!(store.definitions("events").unwrap().is_empty());
}

#[test]
fn upserts_replace_but_a_known_remote_id_is_kept() {
    let tmp = tempfile::tempdir().unwrap();
    let mut store = Store::open(tmp.path()).unwrap();
    let first = Batch {
        changes: vec![upsert("a", Some(10), "h1"), upsert("b", Some(20), "h1")],
        outcomes: vec![],
    };
    store.apply_batch("s", &first).unwrap();
    let second = Batch {
        changes: vec![upsert("a", None, "h2")],
        outcomes: vec![],
    };
    store.apply_batch("s", &second).unwrap();

    let snapshot = store.definitions("s").unwrap();
    assert_eq!(snapshot.len(), 2);
    assert_eq!(snapshot["a"].content_hash, "h2");
    assert_eq!(snapshot["a"].remote_id, Some(10));
}

#[test]
fn a_batch_commits_its_outcomes_with_its_changes() {
    let tmp = tempfile::tempdir().unwrap();
    let mut store = Store::open(tmp.path()).unwrap();
    let run = store.start_run("s").unwrap();
    let intent = store
        .record_intent(&NewIntent {
            run_id: run,
            primary_key: Some("a".into()),
            operation: Operation::Create,
            body_hash: "body".into(),
        })
        .unwrap();
    assert_eq!(store.unresolved_intents("s").unwrap().len(), 1);

    let batch = Batch {
        changes: vec![upsert("a", Some(77), "h")],
        outcomes: vec![(
            intent,
            Outcome::Acknowledged {
                remote_id: Some(77),
            },
        )],
    };
    store.apply_batch("s", &batch).unwrap();
    assert!(store.unresolved_intents("s").unwrap().is_empty());
    assert_eq!(store.definitions("s").unwrap()["a"].remote_id, Some(77));
}

#[test]
fn a_batch_with_a_bad_outcome_stores_nothing() {
    let tmp = tempfile::tempdir().unwrap();
    let mut store = Store::open(tmp.path()).unwrap();
    let batch = Batch {
        changes: vec![upsert("a", Some(1), "h")],
        outcomes: vec![(IntentId(999), Outcome::NotApplied)],
    };
    let err = store.apply_batch("s", &batch).unwrap_err();
    assert!(
        matches!(err, Error::IntentNotFound(IntentId(999))),
        "{err:?}"
    );
    assert!(store.definitions("s").unwrap().is_empty());
    assert_eq!(store.state_version("s").unwrap(), 0);
}

#[test]
fn fifty_changes_go_in_one_batch() {
    let tmp = tempfile::tempdir().unwrap();
    let mut store = Store::open(tmp.path()).unwrap();
    let batch = Batch {
        changes: (0..50)
            .map(|i| upsert(&format!("k{i:02}"), Some(i), "h"))
            .collect(),
        outcomes: vec![],
    };
    let version = store.apply_batch("s", &batch).unwrap();
    assert_eq!(version, 1, "one batch is one state change");
    let snapshot = store.definitions("s").unwrap();
    assert_eq!(snapshot.len(), 50);
    assert_eq!(snapshot["k49"].remote_id, Some(49));
}
