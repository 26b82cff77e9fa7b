//! The delivered list: replaced whole and read back in order, with its summary, including a
//! list of a million members.

#![allow(clippy::unwrap_used)]

use std::time::Instant;

use optisync_state::{NewIntent, Operation, Outcome, Store};

#[test]
fn a_list_is_replaced_whole_and_read_back_in_order() {
    let tmp = tempfile::tempdir().unwrap();
    let mut store = Store::open(tmp.path()).unwrap();
    assert!(store.delivered_list("beta").unwrap().is_none());
    assert!(store.delivered_list_summary("beta").unwrap().is_none());

    store
        .replace_delivered_list("beta", 4567, "h1", ["c", "a", "b"], &[])
        .unwrap();
    let list = store.delivered_list("beta").unwrap().unwrap();
    assert_eq!(list.list_attribute_id, 4567);
    assert_eq!(list.content_hash, "h1");
    assert_eq!(list.members.to_vec(), ["c", "a", "b"]);

    let replacement: Vec<String> = vec!["z".into()];
    store
        .replace_delivered_list("beta", 4568, "h2", &replacement, &[])
        .unwrap();
    let list = store.delivered_list("beta").unwrap().unwrap();
    assert_eq!(list.members.to_vec(), ["z"]);
    assert_eq!(list.list_attribute_id, 4568);
    let summary = store.delivered_list_summary("beta").unwrap().unwrap();
    assert_eq!(summary.member_count, 1);
    assert_eq!(summary.content_hash, "h2");
    assert_eq!(summary.updated_at, list.updated_at);
}

#[test]
fn an_empty_list_is_a_delivered_list() {
    let tmp = tempfile::tempdir().unwrap();
    let mut store = Store::open(tmp.path()).unwrap();
    store
        .replace_delivered_list("beta", 1, "empty", Vec::<String>::new(), &[])
        .unwrap();
    let list = store.delivered_list("beta").unwrap().unwrap();
    assert!(list.members.is_empty());
}

#[test]
fn the_list_patch_outcome_is_recorded_with_the_list() {
    let tmp = tempfile::tempdir().unwrap();
    let mut store = Store::open(tmp.path()).unwrap();
    let run = store.start_run("beta").unwrap();
    let intent = store
        .record_intent(&NewIntent {
            run_id: run.clone(),
            primary_key: None,
            operation: Operation::ListPatch,
            body_hash: "list-body".into(),
        })
        .unwrap();
    store
        .replace_delivered_list(
            "beta",
            1,
            "h",
            ["u1"],
            &[(intent, Outcome::Acknowledged { remote_id: Some(1) })],
        )
        .unwrap();
    assert!(store.unresolved_intents("beta").unwrap().is_empty());
    let intents = store.run_intents(&run).unwrap();
    assert_eq!(
        intents[0].outcome,
        Some(Outcome::Acknowledged { remote_id: Some(1) })
    );
}

#[test]
fn a_million_members_round_trip() {
    let tmp = tempfile::tempdir().unwrap();
    let mut store = Store::open(tmp.path()).unwrap();
    let members: Vec<String> = (0..1_000_000).map(|i| format!("user-{i:07}")).collect();

    let started = Instant::now();
    store
        .replace_delivered_list("big", 9, "hash-1m", &members, &[])
        .unwrap();
    let wrote = started.elapsed();

    let started = Instant::now();
    let list = store.delivered_list("big").unwrap().unwrap();
    let read = started.elapsed();
    println!("1M members: write {wrote:?}, read {read:?}");

    assert_eq!(list.members.len(), 1_000_000);
    assert_eq!(list.members, members);
    assert_eq!(
        store
            .delivered_list_summary("big")
            .unwrap()
            .unwrap()
            .member_count,
        1_000_000
    );
}
