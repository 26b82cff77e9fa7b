//! Write intents and outcomes: what a killed run leaves unresolved, and which outcomes close
//! an intent.

#![allow(clippy::unwrap_used)]

use optisync_state::{Error, IntentId, NewIntent, Operation, Outcome, Store};

fn intent(run_id: &str, key: &str, operation: Operation) -> NewIntent {
    NewIntent {
        run_id: run_id.to_owned(),
        primary_key: Some(key.to_owned()),
        operation,
        body_hash: format!("hash-{key}"),
    }
}

#[test]
fn intents_without_outcomes_are_unresolved_oldest_first() {
    let tmp = tempfile::tempdir().unwrap();
    let mut store = Store::open(tmp.path()).unwrap();
    let run = store.start_run("segments").unwrap();
    let a = store
        .record_intent(&intent(&run, "a", Operation::Create))
        .unwrap();
    let b = store
        .record_intent(&intent(&run, "b", Operation::Update))
        .unwrap();
    let c = store
        .record_intent(&intent(&run, "c", Operation::ListPatch))
        .unwrap();
    store
        .record_outcome(b, &Outcome::Acknowledged { remote_id: None })
        .unwrap();
    // Another sync's intents are not this sync's business.
    let other_run = store.start_run("events").unwrap();
    store
        .record_intent(&intent(&other_run, "x", Operation::Create))
        .unwrap();

    // The "killed" run is gone; a new store sees what it left.
    drop(store);
    let store = Store::open(tmp.path()).unwrap();
    let unresolved = store.unresolved_intents("segments").unwrap();
    assert_eq!(unresolved.iter().map(|i| i.id).collect::<Vec<_>>(), [a, c]);
    let first = &unresolved[0];
    assert_eq!(first.run_id, run);
    assert_eq!(first.sync, "segments");
    assert_eq!(first.primary_key.as_deref(), Some("a"));
    assert_eq!(first.operation, Operation::Create);
    assert_eq!(first.body_hash, "hash-a");
    assert!(first.outcome.is_none());
    assert!(first.resolved_at.is_none());
}

#[test]
fn an_unknown_outcome_stays_unresolved_until_reconciled() {
    let tmp = tempfile::tempdir().unwrap();
    let mut store = Store::open(tmp.path()).unwrap();
    let run = store.start_run("s").unwrap();
    let id = store
        .record_intent(&intent(&run, "a", Operation::Create))
        .unwrap();
    store
        .record_outcome(
            id,
            &Outcome::Unknown {
                reason: "timeout".into(),
            },
        )
        .unwrap();
    let unresolved = store.unresolved_intents("s").unwrap();
    assert_eq!(unresolved.len(), 1);
    assert_eq!(
        unresolved[0].outcome,
        Some(Outcome::Unknown {
            reason: "timeout".into()
        })
    );

    store
        .record_outcome(id, &Outcome::Acknowledged { remote_id: Some(5) })
        .unwrap();
    assert!(store.unresolved_intents("s").unwrap().is_empty());
}

#[test]
fn a_final_outcome_cannot_be_replaced() {
    let tmp = tempfile::tempdir().unwrap();
    let mut store = Store::open(tmp.path()).unwrap();
    let run = store.start_run("s").unwrap();
    let id = store
        .record_intent(&intent(&run, "a", Operation::Create))
        .unwrap();
    let rejected = Outcome::Rejected {
        reason: "key already exists".into(),
        request_id: Some("req-1".into()),
    };
    store.record_outcome(id, &rejected).unwrap();
    let err = store
        .record_outcome(id, &Outcome::Acknowledged { remote_id: Some(1) })
        .unwrap_err();
    assert!(
        matches!(err, Error::IntentAlreadyResolved(i) if i == id),
        "{err:?}"
    );
    assert_eq!(store.run_intents(&run).unwrap()[0].outcome, Some(rejected));
}

#[test]
fn unknown_runs_and_intents_are_reported() {
    let tmp = tempfile::tempdir().unwrap();
    let mut store = Store::open(tmp.path()).unwrap();
    let err = store
        .record_intent(&intent("no-such-run", "a", Operation::Create))
        .unwrap_err();
    assert!(
        matches!(err, Error::RunNotFound(ref id) if id == "no-such-run"),
        "{err:?}"
    );
    let err = store
        .record_outcome(IntentId(42), &Outcome::NotApplied)
        .unwrap_err();
    assert!(
        matches!(err, Error::IntentNotFound(IntentId(42))),
        "{err:?}"
    );
}
