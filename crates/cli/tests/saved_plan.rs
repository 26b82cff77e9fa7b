//! A saved plan never hides drift. `sync --plan FILE` applies exactly what `plan --out FILE`
//! saved, so it must not apply it over something that changed in Optimizely since: a list
//! member added or removed by hand, an attribute edited by hand, an object created by hand
//! with a key the plan would create. Each of these makes the plan refused with exit code 7
//! and a message counting what changed, and nothing is sent; the fake's own counters prove
//! it. An unchanged Optimizely still takes the plan, and a plan file of an older format is
//! refused with the advice to plan again.

#![allow(clippy::unwrap_used)]

mod common;

use common::{Case, LIST, WEB, definition_sync, list_sync};
use serde_json::{Value, json};

/// Merges `objects` (of `kind`: `attributes`, `list_attributes`, …) into the fake, as an edit
/// made in Optimizely's UI would: a new object, or an existing one (same id) with new values.
fn edit_by_hand(case: &Case, kind: &str, objects: Vec<Value>) {
    let mut seed = json!({
        "rate_limits": {"fx_per_second": null, "fx_per_minute": null, "web_per_minute": null}
    });
    seed[kind] = Value::Array(objects);
    case.fake
        .seed(serde_json::from_value(seed).unwrap())
        .unwrap();
}

/// The fake's object of `kind` whose `field` is `value`, as the fake holds it.
fn object(case: &Case, kind: &str, field: &str, value: Value) -> Value {
    case.fake.state()[kind]
        .as_array()
        .unwrap()
        .iter()
        .find(|o| o[field] == value)
        .cloned()
        .unwrap_or_else(|| panic!("no {kind} with {field} = {value}"))
}

fn ids(list: &[&str]) -> Vec<String> {
    list.iter().map(|s| (*s).to_owned()).collect()
}

#[tokio::test]
async fn a_list_edited_by_hand_after_the_plan_refuses_the_saved_plan_and_sends_nothing() {
    let case = Case::new(WEB, "", &list_sync("mirror")).await;
    case.write("users.csv", "user_id\nu1\nu2\n");
    case.expect(&["sync"], 0).await;
    case.write("users.csv", "user_id\nu1\nu2\nu3\n");
    case.expect(&["plan", "--out", "plan.json"], 0).await;

    // Someone adds two members and removes one in Optimizely.
    let mut list = object(&case, "list_attributes", "id", json!(LIST));
    list["list_content"] = json!("u1,hand1,hand2");
    edit_by_hand(&case, "list_attributes", vec![list]);

    let writes = case.writes();
    let out = case.expect(&["sync", "--plan", "plan.json"], 7).await;
    assert!(
        out.contains(
            "Optimizely changed since the plan was made: 2 members added, 1 removed outside optisync"
        ),
        "{out}"
    );
    assert!(out.contains("run `optisync plan` again"), "{out}");
    assert_eq!(case.writes(), writes, "nothing was sent");
    assert_eq!(case.list(), ids(&["hand1", "hand2", "u1"]), "{out}");

    // A fresh plan shows the drift; applying a fresh plan goes ahead.
    let plan = case
        .expect(&["plan", "--allow-large-removal", "--out", "plan.json"], 0)
        .await;
    assert!(plan.contains("drift"), "{plan}");
    case.expect(&["sync", "--plan", "plan.json"], 0).await;
    assert_eq!(case.list(), ids(&["u1", "u2", "u3"]));
    case.stop().await;
}

/// An attribute sync delivered k1 and k2, then planned (saved to `plan.json`) an update of
/// k1 and a create of k3.
async fn attribute_case() -> Case {
    let sync = definition_sync(
        "attribute",
        "upsert",
        "{ key = \"key\", description = \"about\" }",
    );
    let case = Case::new(WEB, "", &sync).await;
    case.write("rows.csv", "key,name,about\nk1,One,one\nk2,Two,two\n");
    case.expect(&["sync"], 0).await;
    // The model changes: k1's description, and a new attribute k3.
    case.write(
        "rows.csv",
        "key,name,about\nk1,One,changed\nk2,Two,two\nk3,Three,three\n",
    );
    case.expect(&["plan", "--out", "plan.json"], 0).await;
    case
}

fn descriptions(case: &Case) -> Vec<String> {
    let mut held: Vec<String> = case
        .objects("attributes", WEB)
        .iter()
        .map(|o| {
            format!(
                "{}={}",
                o["key"].as_str().unwrap_or_default(),
                o["description"].as_str().unwrap_or_default()
            )
        })
        .collect();
    held.sort();
    held
}

#[tokio::test]
async fn an_attribute_edited_by_hand_after_the_plan_refuses_the_saved_plan() {
    let case = attribute_case().await;
    let mut k1 = object(&case, "attributes", "key", json!("k1"));
    k1["description"] = json!("edited by hand");
    edit_by_hand(&case, "attributes", vec![k1]);

    let writes = case.writes();
    let out = case.expect(&["sync", "--plan", "plan.json"], 7).await;
    assert!(
        out.contains("Optimizely changed since the plan was made: 1 changed, 0 deleted and 0 created outside optisync among the attributes"),
        "{out}"
    );
    assert!(out.contains("run `optisync plan` again"), "{out}");
    assert_eq!(case.writes(), writes, "nothing was sent");
    assert_eq!(
        descriptions(&case),
        ids(&["k1=edited by hand", "k2=two"]),
        "the hand edit is kept and k3 is not created"
    );
    case.stop().await;
}

#[tokio::test]
async fn an_object_created_by_hand_with_a_planned_key_refuses_the_saved_plan() {
    let case = attribute_case().await;
    edit_by_hand(
        &case,
        "attributes",
        vec![json!({"project_id": WEB, "key": "k3", "description": "made by hand"})],
    );
    let writes = case.writes();
    let out = case.expect(&["sync", "--plan", "plan.json"], 7).await;
    assert!(
        out.contains("0 changed, 0 deleted and 1 created outside optisync"),
        "{out}"
    );
    assert_eq!(case.writes(), writes, "nothing was sent");
    assert_eq!(
        descriptions(&case),
        ids(&["k1=one", "k2=two", "k3=made by hand"])
    );
    case.stop().await;
}

#[tokio::test]
async fn a_saved_plan_over_an_unchanged_optimizely_is_applied_exactly() {
    let case = attribute_case().await;
    // The model moves on after planning: the plan, not the model, is applied.
    case.write("rows.csv", "key,name,about\nk9,Nine,nine\n");
    case.expect(&["sync", "--plan", "plan.json"], 0).await;
    assert_eq!(
        descriptions(&case),
        ids(&["k1=changed", "k2=two", "k3=three"])
    );
    case.stop().await;
}

#[tokio::test]
async fn a_plan_file_of_an_older_format_is_refused_with_advice_to_plan_again() {
    let case = Case::new(WEB, "", &list_sync("mirror")).await;
    case.write("users.csv", "user_id\nu1\n");
    case.write(
        "old.json",
        r#"{"format_version": 1, "created_at": "2026-01-01T00:00:00Z", "syncs": []}"#,
    );
    let out = case.expect(&["sync", "--plan", "old.json"], 3).await;
    assert!(out.contains("plan file old.json"), "{out}");
    assert!(out.contains("plan-file format 1"), "{out}");
    assert!(
        out.contains("run `optisync plan --out FILE` again"),
        "{out}"
    );
    case.write("junk.json", "not json");
    let out = case.expect(&["sync", "--plan", "junk.json"], 3).await;
    assert!(out.contains("is not an optisync plan file"), "{out}");
    assert_eq!(case.writes(), 0);
    assert!(case.list().is_empty());
    case.stop().await;
}
