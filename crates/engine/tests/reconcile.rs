//! Applying plans against the fake Optimizely over TCP: a create whose answer is lost is
//! adopted after a re-list instead of being sent again, a create answered "already exists"
//! adopts the existing object, and an intent left unresolved by a killed run is settled.

// unwrap is fine in tests: a panic there is the failure report.
#![allow(clippy::unwrap_used)]

use fake_optimizely::{FakeOptimizely, FaultAction, FaultRule, RunningFake, Seed};
use optisync_core::{
    Change, ContentHash, Field, FieldValue, Fields, Mapping, PlanBody, SyncKind, SyncPlan,
    content_hash,
};
use optisync_engine::apply::apply;
use optisync_engine::reconcile::settle_unresolved;
use optisync_engine::{PreparedPlan, SyncSpec, Target};
use optisync_optimizely::{ApiToken, Client, ClientConfig, Product, RateLimit};
use optisync_state::{NewIntent, Operation, Store};
use serde_json::json;

const TOKEN: &str = "2:enginetoken_abcdefghijklmnopqrstuvwxyz0123456789ABCD";
const FX: i64 = 31_000_000_002;

async fn start(attributes: serde_json::Value) -> (FakeOptimizely, RunningFake, Client) {
    let seed: Seed = serde_json::from_value(json!({
        "tokens": [{"token": TOKEN, "project_ids": [FX]}],
        "projects": [{"id": FX, "name": "App", "platform": "custom", "is_flags_enabled": true}],
        "attributes": attributes,
        "rate_limits": {"fx_per_second": null, "fx_per_minute": null, "web_per_minute": null}
    }))
    .unwrap();
    let fake = FakeOptimizely::new(seed).unwrap();
    let running = fake.serve(([127, 0, 0, 1], 0).into()).await.unwrap();
    let mut config = ClientConfig::new(ApiToken::new(TOKEN.to_owned()));
    config.api_url = running.base_url().parse().unwrap();
    config.rate_limit = Some(RateLimit::UNLIMITED);
    config.timeout = std::time::Duration::from_secs(5);
    let client = Client::new(config).unwrap();
    (fake, running, client)
}

fn spec() -> SyncSpec {
    SyncSpec {
        name: "attrs".into(),
        kind: SyncKind::parse("attribute", "upsert").unwrap(),
        model: "select 1".into(),
        mapping: Mapping::new(
            optisync_engine::destination::object_rules(
                SyncKind::parse("attribute", "upsert").unwrap(),
            ),
            [("key", "k")],
        )
        .unwrap(),
        primary_key: vec![],
        list_attribute_id: None,
        audience_name: None,
        allow_pii: false,
        max_removal_percent: 20.0,
        max_creates: 1000,
        odp: None,
    }
}

fn create_plan(keys: &[&str]) -> PreparedPlan {
    let mut plan: SyncPlan = serde_json::from_value(json!({
        "sync": "attrs", "object": "attribute", "mode": "upsert", "rows_read": keys.len(),
        "body": {"type": "definitions", "unchanged": 0, "changes": [], "skipped": [],
            "record_only": []},
        "rejected": [], "warnings": [], "guardrails": [], "refusal": null
    }))
    .unwrap();
    let PlanBody::Definitions(body) = &mut plan.body else {
        unreachable!("an attribute plan has a definitions body");
    };
    for key in keys {
        let fields = Fields::new().with(Field::Key, FieldValue::Text((*key).to_owned()));
        let hash = content_hash(&fields);
        body.changes.push(Change::Create {
            primary_key: (*key).to_owned(),
            fields,
            hash,
        });
    }
    PreparedPlan {
        state_version: 0,
        config_hash: String::new(),
        project_id: FX,
        plan,
        list: None,
        remote_seen: Default::default(),
        list_content_known: None,
        steps: Vec::new(),
        odp_field: None,
    }
}

const TARGET: Target = Target {
    project_id: FX,
    product: Product::FeatureExperimentation,
};

#[tokio::test]
async fn a_create_whose_answer_was_lost_is_adopted_not_sent_twice() {
    let (fake, running, client) = start(json!([])).await;
    fake.add_fault(FaultRule {
        method: "POST".into(),
        path_template: "/v2/attributes".into(),
        times: 1,
        action: FaultAction::DropAfterWrite,
    });
    let dir = tempfile::tempdir().unwrap();
    let mut store = Store::open(dir.path()).unwrap();
    let run = store.start_run("attrs").unwrap();
    let applied = apply(
        &client,
        &mut store,
        &spec(),
        TARGET,
        &run,
        &create_plan(&["a", "b"]),
        None,
        None,
    )
    .await
    .unwrap();
    assert_eq!(applied.creates, 2);
    assert!(applied.rejected.is_empty());
    assert_eq!(
        fake.state()["attributes"].as_array().unwrap().len(),
        2,
        "no duplicate"
    );
    let posts = fake
        .requests()
        .iter()
        .filter(|r| r.method == "POST")
        .count();
    assert_eq!(posts, 2, "the lost create is not sent again");
    assert_eq!(store.definitions("attrs").unwrap().len(), 2);
    assert!(store.unresolved_intents("attrs").unwrap().is_empty());
    running.shutdown().await;
}

#[tokio::test]
async fn a_duplicate_answer_adopts_the_existing_archived_object_and_unarchives_it() {
    let (fake, running, client) = start(json!([
        {"id": 501, "project_id": FX, "key": "a", "archived": true}
    ]))
    .await;
    let dir = tempfile::tempdir().unwrap();
    let mut store = Store::open(dir.path()).unwrap();
    let run = store.start_run("attrs").unwrap();
    let applied = apply(
        &client,
        &mut store,
        &spec(),
        TARGET,
        &run,
        &create_plan(&["a"]),
        None,
        None,
    )
    .await
    .unwrap();
    assert!(applied.rejected.is_empty(), "{:?}", applied.rejected);
    let attrs = fake.state()["attributes"].as_array().unwrap().clone();
    assert_eq!(attrs.len(), 1);
    assert_ne!(attrs[0]["archived"], json!(true));
    assert_eq!(
        store.definitions("attrs").unwrap()["a"].remote_id,
        Some(501)
    );
    running.shutdown().await;
}

#[test]
fn intents_of_a_killed_run_are_settled_against_the_fresh_plan() {
    let dir = tempfile::tempdir().unwrap();
    let mut store = Store::open(dir.path()).unwrap();
    let run = store.start_run("attrs").unwrap();
    for key in ["made", "lost"] {
        store
            .record_intent(&NewIntent {
                run_id: run.clone(),
                primary_key: Some(key.into()),
                operation: Operation::Create,
                body_hash: ContentHash(1).to_string(),
            })
            .unwrap();
    }
    // The fresh plan found "made" in Optimizely and still has to create "lost".
    let mut prepared = create_plan(&["lost"]);
    let PlanBody::Definitions(body) = &mut prepared.plan.body else {
        unreachable!("an attribute plan has a definitions body");
    };
    body.record_only.push(optisync_core::StateRecord {
        primary_key: "made".into(),
        remote_id: 9,
        fields: Fields::new(),
        hash: ContentHash(1),
    });
    let settled = settle_unresolved(&mut store, &spec(), &prepared.plan, None).unwrap();
    assert_eq!(settled, 2);
    assert!(store.unresolved_intents("attrs").unwrap().is_empty());
    let outcomes = store.run_intents(&run).unwrap();
    assert!(matches!(
        outcomes[0].outcome,
        Some(optisync_state::Outcome::Acknowledged { remote_id: Some(9) })
    ));
    assert!(matches!(
        outcomes[1].outcome,
        Some(optisync_state::Outcome::NotApplied)
    ));
}
