//! `GET /metrics` after a known sequence of runs: the counters say exactly what happened, and
//! Prometheus' own `promtool check metrics` accepts the text (names, types, units, `_total`).
//! `scripts/test` provides promtool (`OPTISYNC_PROMTOOL`).

#![allow(clippy::unwrap_used)]

mod support;

use std::io::Write;
use std::process::{Command, Stdio};

use axum::body::Body;
use axum::http::{Request, StatusCode};
use http_body_util::BodyExt;
use optisync_serve::http::{Access, router};
use optisync_serve::service::Trigger;
use optisync_serve::{Outcome, Schedule};
use support::{service, settle, sync};
use tower::ServiceExt;

fn promtool() -> String {
    std::env::var("OPTISYNC_PROMTOOL").unwrap_or_else(|_| "promtool".to_owned())
}

#[tokio::test(start_paused = true)]
async fn metrics_count_a_known_sequence_of_runs_and_pass_promtool() {
    let dir = tempfile::tempdir().unwrap();
    let state = dir.path().join("state");
    let (service, runner) = service(
        &state,
        "2026-12-03T10:00:00Z",
        vec![
            sync("beta", Schedule::Manual),
            sync("events", Schedule::Manual),
        ],
    );
    runner.queue(
        "beta",
        vec![Outcome::Succeeded, Outcome::Failed, Outcome::Succeeded],
    );
    runner.queue("events", vec![Outcome::Locked]);
    for _ in 0..3 {
        service.start_run("beta", Trigger::Api).unwrap();
        settle().await;
    }
    service.start_run("events", Trigger::Api).unwrap();
    settle().await;
    assert_eq!(service.in_flight(), 0);

    let app = router(
        service,
        Access {
            token: None,
            reads_need_token: false,
        },
    );
    let response = app
        .oneshot(Request::get("/metrics").body(Body::empty()).unwrap())
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    assert!(
        response.headers()["content-type"]
            .to_str()
            .unwrap()
            .starts_with("text/plain; version=0.0.4")
    );
    let text = String::from_utf8(
        response
            .into_body()
            .collect()
            .await
            .unwrap()
            .to_bytes()
            .to_vec(),
    )
    .unwrap();
    for line in [
        "optisync_runs_total{result=\"succeeded\",sync=\"beta\"} 2",
        "optisync_runs_total{result=\"failed\",sync=\"beta\"} 1",
        "optisync_runs_total{result=\"locked\",sync=\"events\"} 1",
        // The fake runner reads 3 rows per run; a locked run read nothing.
        "optisync_rows_read_total{sync=\"beta\"} 9",
        "optisync_rows_read_total{sync=\"events\"} 0",
        "optisync_ticks_skipped_total{sync=\"events\"} 1",
        "optisync_run_duration_seconds_count{sync=\"beta\"} 3",
        "optisync_runs_in_flight 0",
        "# TYPE optisync_sync_last_success_timestamp_seconds gauge",
        "# TYPE optisync_rate_limit_wait_seconds_total counter",
        "# TYPE optisync_throttled_responses_total counter",
        "# TYPE optisync_request_retries_total counter",
        "optisync_build_info{version=\"",
    ] {
        assert!(text.contains(line), "missing {line:?}\n{text}");
    }
    // Two successes: the timestamp of the last one (the paused clock's 10:00).
    assert!(
        text.contains("optisync_sync_last_success_timestamp_seconds{sync=\"beta\"} 1796292000"),
        "{text}"
    );

    let mut child = Command::new(promtool())
        .args(["check", "metrics"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap_or_else(|e| {
            panic!("promtool cannot be started ({e}); run scripts/test, which provides it")
        });
    child
        .stdin
        .take()
        .unwrap()
        .write_all(text.as_bytes())
        .unwrap();
    let out = child.wait_with_output().unwrap();
    assert!(
        out.status.success(),
        "promtool check metrics:\n{}{}\n{text}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
}
