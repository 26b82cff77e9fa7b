//! The creates guardrail and the summarised plan, through the real binary. A definition sync
//! whose model suddenly yields far more rows than usual must not flood the project with
//! objects that can only ever be archived: more than `max_creates` creates (1000 by default)
//! block the run with exit code 7, naming the count, the limit and both overrides, and
//! nothing is sent. And a plan too long to read is summarised in text, complete in JSON.

#![allow(clippy::unwrap_used)]

mod common;

use common::{Case, WEB, definition_sync};
use serde_json::Value;

fn attribute_sync(extra: &str) -> String {
    let sync = definition_sync(
        "attribute",
        "upsert",
        "{ key = \"key\", description = \"about\" }",
    );
    format!("{sync}{extra}")
}

/// A model of `n` new attributes.
fn rows(n: usize) -> String {
    let mut csv = String::from("key,about\n");
    for i in 0..n {
        csv.push_str(&format!("attr_{i:05},row {i}\n"));
    }
    csv
}

#[tokio::test]
async fn more_creates_than_max_creates_are_blocked_until_allowed_once() {
    let case = Case::new(WEB, "", &attribute_sync("")).await;
    case.write("rows.csv", &rows(1500));
    let out = case.expect(&["sync"], 7).await;
    assert!(
        out.contains(
            "this run would create 1500 objects (attribute), more than max_creates = 1000"
        ),
        "{out}"
    );
    assert!(out.contains("--allow-many-creates"), "{out}");
    assert!(out.contains("raise max_creates"), "{out}");
    assert_eq!(case.writes(), 0, "a blocked run sends nothing");
    assert!(case.objects("attributes", WEB).is_empty());

    // The flag lets this one run through; the next run has nothing to create.
    let out = case.expect(&["sync", "--allow-many-creates"], 0).await;
    assert!(out.contains("1500 created"), "{out}");
    assert_eq!(case.objects("attributes", WEB).len(), 1500);
    case.expect(&["sync"], 0).await;
    assert_eq!(case.writes(), 1500);
    case.stop().await;
}

#[tokio::test]
async fn max_creates_in_the_config_sets_the_limit_and_a_saved_plan_keeps_the_override() {
    let case = Case::new(WEB, "", &attribute_sync("max_creates = 3\n")).await;
    case.write("rows.csv", &rows(5));
    let out = case.expect(&["sync"], 7).await;
    assert!(
        out.contains("create 5 objects (attribute), more than max_creates = 3"),
        "{out}"
    );
    assert_eq!(case.writes(), 0);
    // A plan made with the override is applied as planned.
    let plan = case
        .expect(&["plan", "--allow-many-creates", "--out", "plan.json"], 0)
        .await;
    assert!(plan.contains("--allow-many-creates given"), "{plan}");
    case.expect(&["sync", "--plan", "plan.json"], 0).await;
    assert_eq!(case.objects("attributes", WEB).len(), 5);
    case.stop().await;
}

#[tokio::test]
async fn a_huge_plan_is_summarised_in_text_and_complete_in_json() {
    let case = Case::new(WEB, "", &attribute_sync("")).await;
    case.write("rows.csv", &rows(450));
    let text = case.expect(&["plan"], 0).await;
    let shown = text
        .lines()
        .filter(|l| l.starts_with("  + attribute"))
        .count();
    assert_eq!(shown, 200, "{text}");
    assert!(
        text.contains("  … and 250 more creates (use --output json or plan --out to see all)"),
        "{text}"
    );
    assert!(text.contains("450 to create"), "{text}");

    let out = case.run(&["plan", "--output", "json"]).await;
    assert_eq!(out.status.code(), Some(0));
    let json: Value = serde_json::from_slice(&out.stdout).unwrap();
    let changes = json["plans"][0]["plan"]["body"]["changes"]
        .as_array()
        .unwrap();
    assert_eq!(changes.len(), 450);
    assert_eq!(case.writes(), 0);
    case.stop().await;
}
