//! Runs whose surroundings go away in the middle: the token is revoked after the run started
//! (a 401 on a write is a token problem, exit 3, not an internal error), the reader of stdout
//! leaves (`optisync plan | head`, `sync | true`: every sync still runs to its end and the
//! process ends quietly), stdout refuses writes (`> /dev/full`: the run still ends, and the
//! lost report is said on stderr with exit 1), and SIGTERM or SIGINT arrive (the run stops at
//! a safe point, is recorded as interrupted, and exits 130 or 143; the next run sends exactly
//! the rest). The signals are sent while the fake holds a write of the run, so they surely
//! land in its middle.

#![allow(clippy::unwrap_used)]

mod common;

use std::process::Stdio;
use std::time::Duration;

use common::{Case, FX, WEB, definition_sync, list_sync, scenario};
use fake_optimizely::{FaultAction, FaultRule};

fn revoke_on_writes(case: &Case, method: &str) {
    case.fake.add_fault(FaultRule {
        method: method.to_owned(),
        path_template: "*".to_owned(),
        times: u32::MAX,
        action: FaultAction::Status {
            status: 401,
            retry_after: None,
        },
    });
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_401_in_the_middle_of_a_run_is_a_token_problem_not_an_internal_error() {
    for object in ["attribute", "audience", "list_attribute"] {
        let scenario = scenario(object);
        let case = Case::new(scenario.project, "", &scenario.sync).await;
        case.write(scenario.file, &scenario.model);
        // The reads at the start (project, listing) pass; the first write is refused.
        revoke_on_writes(
            &case,
            if object == "list_attribute" {
                "PATCH"
            } else {
                "POST"
            },
        );
        let out = case.expect(&["sync"], 3).await;
        assert!(out.contains("token"), "{object}: names the token\n{out}");
        assert!(!out.contains("internal"), "{object}\n{out}");
        case.stop().await;
    }
}

/// Two syncs, so that "the second sync never ran" is visible.
async fn two_syncs() -> Case {
    let syncs = format!(
        "{}\n{}",
        list_sync("mirror"),
        definition_sync("attribute", "upsert", "{ key = \"key\" }")
    );
    let case = Case::new(WEB, "", &syncs).await;
    case.write("users.csv", "user_id\nu1\nu2\n");
    case.write("rows.csv", "key,name,about\nk1,A,a\nk2,B,b\n");
    case
}

fn assert_both_delivered(case: &Case, out: &str) {
    assert_eq!(case.list(), vec!["u1", "u2"], "{out}");
    assert_eq!(case.objects("attributes", WEB).len(), 2, "{out}");
}

/// Runs with stdout a pipe whose reading end is closed before the first line.
async fn run_with_closed_stdout(case: &Case, args: &[&str]) -> (Option<i32>, String) {
    let mut child = std::process::Command::new(env!("CARGO_BIN_EXE_optisync"))
        .current_dir(case.path())
        .args(args)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    drop(child.stdout.take());
    let out = tokio::task::spawn_blocking(move || child.wait_with_output().unwrap())
        .await
        .unwrap();
    (
        out.status.code(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sync_into_a_closed_pipe_runs_every_sync_and_ends_quietly() {
    let case = two_syncs().await;
    let (code, stderr) = run_with_closed_stdout(&case, &["sync"]).await;
    assert_eq!(code, Some(0), "{stderr}");
    assert!(!stderr.contains("panicked"), "{stderr}");
    assert!(
        !stderr.contains("error"),
        "a reader leaving is not an error: {stderr}"
    );
    assert_both_delivered(&case, &stderr);
    case.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn plan_into_a_closed_pipe_ends_quietly() {
    let case = two_syncs().await;
    for args in [
        vec!["plan"],
        vec!["--output", "json", "plan"],
        vec!["plan", "--detailed-exitcode"],
    ] {
        let (code, stderr) = run_with_closed_stdout(&case, &args).await;
        let expected = if args.contains(&"--detailed-exitcode") {
            2
        } else {
            0
        };
        assert_eq!(code, Some(expected), "{args:?}: {stderr}");
        assert!(!stderr.contains("panicked"), "{args:?}: {stderr}");
    }
    assert_eq!(case.writes(), 0, "plan sends nothing");
    case.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sync_into_a_full_disk_finishes_and_says_the_report_was_lost() {
    let case = two_syncs().await;
    let full = std::fs::OpenOptions::new()
        .write(true)
        .open("/dev/full")
        .unwrap();
    let child = std::process::Command::new(env!("CARGO_BIN_EXE_optisync"))
        .current_dir(case.path())
        .arg("sync")
        .stdout(full)
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let out = tokio::task::spawn_blocking(move || child.wait_with_output().unwrap())
        .await
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{stderr}");
    assert!(!stderr.contains("panicked"), "{stderr}");
    assert!(stderr.contains("could not be written"), "{stderr}");
    assert_both_delivered(&case, &stderr);
    case.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn status_and_runs_into_a_closed_pipe_end_quietly() {
    let case = two_syncs().await;
    case.expect(&["sync"], 0).await;
    for args in [
        vec!["status"],
        vec!["runs"],
        vec!["validate"],
        vec!["check"],
    ] {
        let (code, stderr) = run_with_closed_stdout(&case, &args).await;
        assert_eq!(code, Some(0), "{args:?}: {stderr}");
        assert!(!stderr.contains("panicked"), "{args:?}: {stderr}");
    }
    case.stop().await;
}

/// Sends `signal` (`TERM`, `INT`) to `pid` with kill(1).
fn send(signal: &str, pid: u32) {
    let status = std::process::Command::new("kill")
        .args([format!("-{signal}"), pid.to_string()])
        .status()
        .unwrap();
    assert!(status.success(), "kill -{signal} {pid}");
}

/// 30 attributes; the fake holds the answer to the third create, so a signal lands in the
/// middle of the run, and every create after it, so the run goes on only as the test lets it.
async fn held_attribute_sync() -> Case {
    let case = Case::new(
        FX,
        "",
        &definition_sync("attribute", "upsert", "{ key = \"key\" }"),
    )
    .await;
    let rows: String = (1..=30).map(|i| format!("k{i:02},N,a\n")).collect();
    case.write("rows.csv", &format!("key,name,about\n{rows}"));
    case.patient();
    let post = |times: u32, action: FaultAction| FaultRule {
        method: "POST".to_owned(),
        path_template: "*".to_owned(),
        times,
        action,
    };
    // The oldest rule that matches wins: two creates pass, the third is held once applied.
    case.fake
        .add_fault(post(2, FaultAction::Delay { millis: 0 }));
    case.fake.add_fault(post(1, FaultAction::HoldAfterWrite));
    case.fake
        .add_fault(post(u32::MAX, FaultAction::HoldBeforeWrite));
    case
}

async fn stop_and_resume(signals: &[&str], expected_exit: i32) {
    let case = held_attribute_sync().await;
    let child = case.spawn(&["sync"]);
    let pid = child.id();
    let held = tokio::time::timeout(Duration::from_secs(120), case.fake.wait_held(1)).await;
    assert!(held.is_ok(), "the run never wrote three times");
    for signal in signals {
        send(signal, pid);
    }
    // Let the run go on, one request at a time, until it stops.
    let mut run = tokio::task::spawn_blocking(move || child.wait_with_output().unwrap());
    let mut next = 2;
    let out = loop {
        case.fake.release_held();
        tokio::select! {
            out = &mut run => break out.unwrap(),
            () = case.fake.wait_held(next) => next += 1,
        }
    };
    case.fake.clear_faults();
    case.fake.release_held();
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(
        out.status.code(),
        Some(expected_exit),
        "{signals:?}\n{text}"
    );
    let delivered = case.objects("attributes", FX).len();
    assert!(
        (3..30).contains(&delivered),
        "{signals:?}: stopped part-way, {delivered} of 30\n{text}"
    );
    if signals.len() == 1 {
        assert!(text.contains("interrupted"), "{text}");
        let runs = case.expect(&["--output", "json", "runs"], 0).await;
        assert!(runs.contains("\"interrupted\""), "{runs}");
        // A safe stop leaves nothing to settle: every write sent has its outcome recorded.
        let writes = case.writes();
        assert_eq!(writes as usize, delivered, "{text}");
    }
    let rerun = case.expect(&["sync"], 0).await;
    let mut keys: Vec<String> = case
        .objects("attributes", FX)
        .iter()
        .map(|o| o["key"].as_str().unwrap().to_owned())
        .collect();
    keys.sort();
    let expected: Vec<String> = (1..=30).map(|i| format!("k{i:02}")).collect();
    assert_eq!(keys, expected, "each attribute exactly once\n{rerun}");
    let before = case.writes();
    case.expect(&["sync"], 0).await;
    assert_eq!(case.writes(), before, "a further run sends nothing");
    case.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sigterm_stops_a_sync_at_a_safe_point_and_the_rerun_sends_the_rest() {
    stop_and_resume(&["TERM"], 143).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sigint_stops_a_sync_at_a_safe_point_and_the_rerun_sends_the_rest() {
    stop_and_resume(&["INT"], 130).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_second_signal_stops_at_once_and_the_rerun_settles_it() {
    stop_and_resume(&["TERM", "TERM"], 143).await;
}
