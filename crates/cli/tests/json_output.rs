//! `--output json` as a program reads it, with the real binary against the fake Optimizely:
//! one error object shape (`sync`, `kind`, `message`, `hint`, `exit_code`) in every verb, a
//! document on stdout even when a verb fails, and `runs show` as a subcommand whose writes
//! are typed outcomes rather than debug text.

#![allow(clippy::unwrap_used)]

mod common;

use common::{Case, FX, WEB, definition_sync, list_sync};
use serde_json::Value;

/// The keys of an error object, whatever verb printed it.
fn assert_error_shape(error: &Value, sync: Option<&str>, kind: &str, exit_code: u64) {
    let keys: Vec<&str> = error
        .as_object()
        .unwrap()
        .keys()
        .map(String::as_str)
        .collect();
    for key in &keys {
        assert!(
            ["sync", "kind", "message", "hint", "exit_code"].contains(key),
            "unexpected key {key} in {error}"
        );
    }
    assert_eq!(error["sync"].as_str(), sync, "{error}");
    assert_eq!(error["kind"], kind, "{error}");
    assert_eq!(error["exit_code"], exit_code, "{error}");
    assert!(!error["message"].as_str().unwrap().is_empty(), "{error}");
}

async fn json(case: &Case, args: &[&str], code: i32) -> Value {
    let out = case.run(args).await;
    assert_eq!(
        out.status.code(),
        Some(code),
        "{args:?}\n{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout).unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn plan_and_sync_report_a_failed_sync_as_the_same_error_object() {
    // A list sync on a Feature Experimentation project cannot run; the attribute sync can.
    let syncs = format!(
        "{}\n{}",
        list_sync("mirror"),
        definition_sync("attribute", "upsert", "{ key = \"key\" }")
    );
    let case = Case::new(FX, "", &syncs).await;
    case.write("users.csv", "user_id\nu1\n");
    case.write("rows.csv", "key\nk1\n");

    let plan = json(&case, &["--output", "json", "plan"], 3).await;
    assert_eq!(plan["plans"].as_array().unwrap().len(), 1, "{plan}");
    assert_eq!(plan["errors"].as_array().unwrap().len(), 1, "{plan}");
    assert_error_shape(&plan["errors"][0], Some("members"), "invalid_config", 3);

    let sync = json(&case, &["--output", "json", "sync"], 3).await;
    assert_eq!(sync["runs"][0]["result"], "succeeded", "{sync}");
    assert_error_shape(&sync["errors"][0], Some("members"), "invalid_config", 3);
    assert_eq!(plan["errors"][0]["message"], sync["errors"][0]["message"]);
    case.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_verb_that_fails_early_still_prints_one_error_document() {
    let case = Case::new(WEB, "", &list_sync("mirror")).await;
    case.write("users.csv", "user_id\nu1\n");
    for (args, code, kind) in [
        (vec!["--output", "json", "plan", "nope"], 64, "usage"),
        (vec!["--output", "json", "sync", "nope"], 64, "usage"),
        (
            vec!["--output", "json", "status", "--config", "missing.toml"],
            3,
            "invalid_config",
        ),
        (
            vec!["--output", "json", "runs", "show", "no-such-run"],
            64,
            "usage",
        ),
        (vec!["--output", "json", "reset", "members"], 64, "usage"),
        (
            vec!["--output", "json", "sync", "--plan", "missing-plan.json"],
            3,
            "stale_plan",
        ),
    ] {
        let document = json(&case, &args, code).await;
        let keys: Vec<&String> = document.as_object().unwrap().keys().collect();
        assert_eq!(keys, ["error"], "{args:?}: {document}");
        assert_error_shape(&document["error"], None, kind, code as u64);
    }
    let document = json(
        &case,
        &["--output", "json", "runs", "show", "no-such-run"],
        64,
    )
    .await;
    assert_eq!(
        document["error"]["hint"], "list runs and their ids with `optisync runs`",
        "{document}"
    );
    case.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn runs_show_is_a_subcommand_with_typed_write_outcomes() {
    let case = Case::new(WEB, "", &list_sync("mirror")).await;
    case.write("users.csv", "user_id\nu1\nu2\n");
    case.expect(&["sync"], 0).await;

    let runs = json(
        &case,
        &["--output", "json", "runs", "members", "--limit", "1"],
        0,
    )
    .await;
    let listed = &runs["runs"][0];
    assert_eq!(listed["sync"], "members", "{runs}");
    let run_id = listed["id"].as_str().unwrap().to_owned();

    let shown = json(&case, &["--output", "json", "runs", "show", &run_id], 0).await;
    assert_eq!(shown["run"]["id"], run_id.as_str(), "{shown}");
    assert_eq!(shown["counts"]["planned_removes"], 0, "{shown}");
    let write = &shown["writes"][0];
    assert_eq!(write["operation"], "list_patch", "{shown}");
    assert_eq!(write["outcome"]["kind"], "acknowledged", "{shown}");

    let text = case.expect(&["runs", "show", &run_id], 0).await;
    assert!(
        text.contains("write list_patch (list): acknowledged"),
        "{text}"
    );

    // `runs show` without an id is a usage error, not a sync named "show"; it exits 64, not
    // clap's 2, which `plan --detailed-exitcode` gives to "changes present".
    let out = case.run(&["runs", "show"]).await;
    assert_eq!(out.status.code(), Some(64));
    let typo = case.run(&["plan", "--detailed-exitcodes"]).await;
    assert_eq!(typo.status.code(), Some(64));
    let help = case.run(&["plan", "--help"]).await;
    assert_eq!(help.status.code(), Some(0));
    assert!(String::from_utf8_lossy(&help.stdout).contains("--detailed-exitcode"));
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("<RUN_ID>"),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    case.stop().await;
}
