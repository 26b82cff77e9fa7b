//! The token never leaks: every verb, including failing ones and `-vvv` trace logging, runs
//! with a recognisable token, and the token must appear nowhere it writes: stdout, stderr,
//! `state.db` (and its journal files), plan files, run JSON. Plus the other rules of
//! PRODUCT.md section 10: plain http to a remote host is refused, the state directory and
//! files are owner-only, and a token file readable by others draws a warning from `check`.

#![allow(clippy::unwrap_used)]

mod common;

use std::os::unix::fs::PermissionsExt;
use std::path::Path;

use common::{Case, FX, TOKEN, WEB, definition_sync, list_sync};

/// The token's secret part: what must never be written anywhere.
fn secret() -> &'static str {
    TOKEN.split_once(':').map_or(TOKEN, |(_, s)| s)
}

fn assert_clean(what: &str, text: &str) {
    assert!(
        !text.contains(secret()),
        "the token leaked into {what}:\n{text}"
    );
}

/// Every file under `dir` except the token file itself.
fn assert_files_clean(dir: &Path) {
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() {
            assert_files_clean(&path);
        } else if path.file_name().is_some_and(|n| n != "token") {
            let bytes = std::fs::read(&path).unwrap();
            assert_clean(
                &path.display().to_string(),
                &String::from_utf8_lossy(&bytes),
            );
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_token_appears_nowhere() {
    let syncs = format!(
        "{}\n{}",
        list_sync("mirror"),
        definition_sync("attribute", "upsert", "{ key = \"key\" }")
            .replace("\"defs\"", "\"attrs\"")
    );
    let case = Case::new(WEB, "", &syncs).await;
    case.write("users.csv", "user_id\nu1\nu2\n");
    case.write("rows.csv", "key,name,about\ngood,A,a\nbad/key!,B,b\n");
    let mut outputs = Vec::new();
    for args in [
        vec!["-vvv", "validate"],
        vec!["-vvv", "check"],
        vec!["-vvv", "plan", "--out", "plan.json"],
        vec!["-vvv", "--output", "json", "plan"],
        vec!["-vvv", "sync", "--plan", "plan.json"],
        vec!["-vvv", "--log-format", "json", "sync"],
        vec!["-vvv", "--output", "json", "status"],
        vec!["-vvv", "--output", "json", "runs"],
        vec!["-vvv", "reset", "members", "--yes"],
    ] {
        outputs.push((args.join(" "), case.run(&args).await));
    }
    let runs: serde_json::Value =
        serde_json::from_slice(&case.run(&["--output", "json", "runs"]).await.stdout).unwrap();
    let run_id = runs["runs"][0]["run_id"]
        .as_str()
        .or_else(|| runs[0]["run_id"].as_str())
        .unwrap_or_default()
        .to_owned();
    outputs.push((
        "runs show".to_owned(),
        case.run(&["-vvv", "--output", "json", "runs", "show", &run_id])
            .await,
    ));

    // Failures: the API refuses the token, and a sync that does not exist.
    std::fs::write(
        case.path().join("token"),
        "2:someone-elses-token-abcdefghijklmnop",
    )
    .unwrap();
    outputs.push(("sync (401)".to_owned(), case.run(&["-vvv", "sync"]).await));
    std::fs::write(case.path().join("token"), TOKEN).unwrap();
    outputs.push((
        "sync nope".to_owned(),
        case.run(&["-vvv", "sync", "nope"]).await,
    ));

    for (what, out) in &outputs {
        assert_clean(
            &format!("stdout of {what}"),
            &String::from_utf8_lossy(&out.stdout),
        );
        assert_clean(
            &format!("stderr of {what}"),
            &String::from_utf8_lossy(&out.stderr),
        );
    }
    // Trace logging really was on, so the test would have seen a leak there.
    let (what, sync) = &outputs[4];
    assert!(
        String::from_utf8_lossy(&sync.stderr).contains("TRACE"),
        "{what} logged no trace lines"
    );
    assert_files_clean(case.path());
    case.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn state_is_owner_only_and_a_readable_token_file_is_flagged() {
    let case = Case::new(WEB, "", &list_sync("mirror")).await;
    case.write("users.csv", "user_id\nu1\n");
    case.expect(&["sync"], 0).await;
    let state = case.path().join(".optisync");
    let mode = |p: &Path| std::fs::metadata(p).unwrap().permissions().mode() & 0o777;
    assert_eq!(mode(&state), 0o700, "state directory");
    for entry in std::fs::read_dir(&state).unwrap() {
        let path = entry.unwrap().path();
        assert_eq!(
            mode(&path) & 0o077,
            0,
            "{} is readable by others",
            path.display()
        );
    }

    let token = case.path().join("token");
    std::fs::set_permissions(&token, std::fs::Permissions::from_mode(0o600)).unwrap();
    let out = case.expect(&["check"], 0).await;
    assert!(!out.contains("readable by"), "{out}");
    std::fs::set_permissions(&token, std::fs::Permissions::from_mode(0o644)).unwrap();
    let out = case.expect(&["check"], 0).await;
    assert!(out.contains("chmod 600"), "{out}");
    case.stop().await;

    // Plain http to a host that is not this machine would send the token in clear.
    let case = Case::new(FX, "", "").await;
    let config = std::fs::read_to_string(case.path().join("optisync.toml")).unwrap();
    let remote = config.replace("http://127.0.0.1", "http://api.example.com");
    std::fs::write(case.path().join("optisync.toml"), remote).unwrap();
    let out = case.expect(&["check"], 3).await;
    assert!(out.contains("plain http to a remote host"), "{out}");
    case.stop().await;
}
