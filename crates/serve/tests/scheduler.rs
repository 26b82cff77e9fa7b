//! The scheduler on a paused clock: cron and interval ticks, daylight-saving changes, missed
//! ticks after downtime, ticks during a run, pauses across a restart, backoff after failures.

#![allow(clippy::unwrap_used)]

mod support;

use std::time::Duration;

use optisync_serve::service::Trigger;
use optisync_serve::{Outcome, Schedule, scheduler};
use optisync_state::Store;
use support::{run_until, service, settle, sync, utc};

fn every(seconds: u64) -> Schedule {
    Schedule::every(Duration::from_secs(seconds)).unwrap()
}

#[tokio::test(start_paused = true)]
async fn cron_ticks_start_runs_on_time() {
    let dir = tempfile::tempdir().unwrap();
    let state = dir.path().join("state");
    let (service, runner) = service(
        &state,
        "2026-12-03T10:07:00Z",
        vec![sync("beta", Schedule::cron("*/15 * * * *", None).unwrap())],
    );
    scheduler::spawn(&service);
    settle().await;
    // A cron sync that never ran waits for its first tick.
    assert!(runner.seen().is_empty());
    assert_eq!(
        service.live("beta").unwrap().next_tick,
        Some(utc("2026-12-03T10:15:00Z"))
    );
    run_until(&service, "2026-12-03T10:50:00Z").await;
    assert_eq!(
        runner.seen_at("beta"),
        [
            "2026-12-03T10:15:00+00:00",
            "2026-12-03T10:30:00+00:00",
            "2026-12-03T10:45:00+00:00"
        ]
    );
    service.stop_starting();
    assert!(service.wait_idle(Duration::from_secs(1)).await);
}

#[tokio::test(start_paused = true)]
async fn daylight_saving_changes_in_new_york_follow_cron_rules() {
    let dir = tempfile::tempdir().unwrap();
    let state = dir.path().join("state");
    let (service, runner) = service(
        &state,
        "2026-03-07T12:00:00Z",
        vec![
            // 02:30 does not exist on 8 March: it runs once, right after the gap (03:00 EDT).
            sync(
                "gap",
                Schedule::cron("30 2 * * *", Some("America/New_York")).unwrap(),
            ),
            // Every half hour skips the half hours inside the gap.
            sync(
                "halves",
                Schedule::cron("*/30 1-3 * * *", Some("America/New_York")).unwrap(),
            ),
        ],
    );
    scheduler::spawn(&service);
    run_until(&service, "2026-03-09T12:00:00Z").await;
    assert_eq!(
        runner.seen_at("gap"),
        ["2026-03-08T07:00:00+00:00", "2026-03-09T06:30:00+00:00"]
    );
    assert_eq!(
        runner.seen_at("halves"),
        [
            // 8 March: 01:00 and 01:30 EST, then 03:00 and 03:30 EDT.
            "2026-03-08T06:00:00+00:00",
            "2026-03-08T06:30:00+00:00",
            "2026-03-08T07:00:00+00:00",
            "2026-03-08T07:30:00+00:00",
            // 9 March: 01:00 to 03:30 EDT.
            "2026-03-09T05:00:00+00:00",
            "2026-03-09T05:30:00+00:00",
            "2026-03-09T06:00:00+00:00",
            "2026-03-09T06:30:00+00:00",
            "2026-03-09T07:00:00+00:00",
            "2026-03-09T07:30:00+00:00"
        ]
    );
    service.stop_starting();
}

#[tokio::test(start_paused = true)]
async fn the_repeated_hour_in_new_york_runs_a_fixed_time_once() {
    let dir = tempfile::tempdir().unwrap();
    let state = dir.path().join("state");
    let (service, runner) = service(
        &state,
        "2026-10-31T12:00:00Z",
        vec![
            sync(
                "fixed",
                Schedule::cron("30 1 * * *", Some("America/New_York")).unwrap(),
            ),
            sync(
                "hourly",
                Schedule::cron("15 * * * *", Some("America/New_York")).unwrap(),
            ),
        ],
    );
    scheduler::spawn(&service);
    run_until(&service, "2026-11-01T08:00:00Z").await;
    assert_eq!(runner.seen_at("fixed"), ["2026-11-01T05:30:00+00:00"]);
    // 01:15 happens twice (EDT then EST): an hourly job runs on both passes.
    let hourly = runner.seen_at("hourly");
    assert!(hourly.contains(&"2026-11-01T05:15:00+00:00".to_owned()));
    assert!(hourly.contains(&"2026-11-01T06:15:00+00:00".to_owned()));
    assert!(hourly.contains(&"2026-11-01T07:15:00+00:00".to_owned()));
    service.stop_starting();
}

#[tokio::test(start_paused = true)]
async fn an_interval_sync_runs_at_once_then_every_interval_from_its_last_start() {
    let dir = tempfile::tempdir().unwrap();
    let state = dir.path().join("state");
    let (service, runner) = service(
        &state,
        "2026-12-03T10:00:00Z",
        vec![sync("events", every(600))],
    );
    scheduler::spawn(&service);
    run_until(&service, "2026-12-03T10:25:00Z").await;
    assert_eq!(
        runner.seen_at("events"),
        [
            "2026-12-03T10:00:00+00:00",
            "2026-12-03T10:10:00+00:00",
            "2026-12-03T10:20:00+00:00"
        ]
    );
    // A run started by hand moves the next tick to an interval after it.
    service.start_run("events", Trigger::Api).unwrap();
    settle().await;
    assert_eq!(
        service.live("events").unwrap().next_tick,
        Some(utc("2026-12-03T10:35:00Z"))
    );
    run_until(&service, "2026-12-03T10:36:00Z").await;
    assert_eq!(
        runner.seen_at("events")[3..],
        ["2026-12-03T10:25:00+00:00", "2026-12-03T10:35:00+00:00"]
    );
    service.stop_starting();
}

#[tokio::test(start_paused = true)]
async fn a_tick_during_a_run_is_skipped_and_recorded() {
    let dir = tempfile::tempdir().unwrap();
    let state = dir.path().join("state");
    let (service, runner) = service(
        &state,
        "2026-12-03T10:07:00Z",
        vec![sync("beta", Schedule::cron("*/15 * * * *", None).unwrap())],
    );
    let hold = runner.hold_runs();
    scheduler::spawn(&service);
    run_until(&service, "2026-12-03T10:40:00Z").await;
    // The 10:15 run is still in flight at 10:30.
    assert_eq!(runner.seen_at("beta"), ["2026-12-03T10:15:00+00:00"]);
    let skipped = Store::open(&state)
        .unwrap()
        .skipped_ticks("beta", 10)
        .unwrap();
    assert_eq!(skipped.len(), 1);
    assert_eq!(skipped[0].tick_at, utc("2026-12-03T10:30:00Z"));
    assert!(
        skipped[0].reason.contains("still in flight"),
        "{}",
        skipped[0].reason
    );
    hold.add_permits(100);
    run_until(&service, "2026-12-03T10:50:00Z").await;
    assert_eq!(
        runner.seen_at("beta"),
        ["2026-12-03T10:15:00+00:00", "2026-12-03T10:45:00+00:00"]
    );
    service.stop_starting();
}

#[tokio::test(start_paused = true)]
async fn ticks_missed_while_down_cause_one_catch_up_run() {
    let dir = tempfile::tempdir().unwrap();
    let state = dir.path().join("state");
    // An earlier life of the service ran the sync once (recorded now, by the real clock).
    let last = {
        let mut store = Store::open(&state).unwrap();
        let id = store.start_run("hourly").unwrap();
        store.run(&id).unwrap().unwrap().started_at
    };
    // The service comes back 5 hours and 20 minutes later: 5 ticks were missed.
    let back = last + chrono::TimeDelta::minutes(320);
    let (service, runner) = service(
        &state,
        &back.to_rfc3339(),
        vec![
            sync("hourly", Schedule::cron("0 * * * *", None).unwrap()),
            // A sync that never ran has no missed ticks.
            sync("fresh", Schedule::cron("0 * * * *", None).unwrap()),
        ],
    );
    scheduler::spawn(&service);
    settle().await;
    assert_eq!(runner.seen_at("hourly"), [back.to_rfc3339()]);
    assert!(runner.seen_at("fresh").is_empty());
    // Then it is back on schedule: the next full hour, once.
    let next_hour = service.live("fresh").unwrap().next_tick.unwrap();
    run_until(
        &service,
        &(next_hour + chrono::TimeDelta::minutes(1)).to_rfc3339(),
    )
    .await;
    assert_eq!(
        runner.seen_at("hourly"),
        [back.to_rfc3339(), next_hour.to_rfc3339()]
    );
    service.stop_starting();
}

#[tokio::test(start_paused = true)]
async fn an_interval_sync_that_ran_recently_waits_for_its_interval() {
    let dir = tempfile::tempdir().unwrap();
    let state = dir.path().join("state");
    let last = {
        let mut store = Store::open(&state).unwrap();
        let id = store.start_run("events").unwrap();
        store.run(&id).unwrap().unwrap().started_at
    };
    let back = last + chrono::TimeDelta::minutes(4);
    let (service, runner) = service(&state, &back.to_rfc3339(), vec![sync("events", every(600))]);
    scheduler::spawn(&service);
    settle().await;
    assert!(runner.seen().is_empty());
    assert_eq!(
        service.live("events").unwrap().next_tick,
        Some(last + chrono::TimeDelta::minutes(10))
    );
    service.stop_starting();
}

#[tokio::test(start_paused = true)]
async fn a_pause_holds_across_a_restart_until_resumed() {
    let dir = tempfile::tempdir().unwrap();
    let state = dir.path().join("state");
    {
        let (service, runner) = service(
            &state,
            "2026-12-03T10:07:00Z",
            vec![sync("beta", Schedule::cron("*/15 * * * *", None).unwrap())],
        );
        scheduler::spawn(&service);
        service.pause("beta", "api").unwrap().unwrap();
        run_until(&service, "2026-12-03T10:20:00Z").await;
        assert!(runner.seen().is_empty());
        // A trigger does not start a paused sync either.
        assert_eq!(
            service.trigger("beta", None).unwrap_err(),
            optisync_serve::service::NotStarted::Paused
        );
        service.stop_starting();
    }
    // Restarted: still paused.
    let (service, runner) = service(
        &state,
        "2026-12-03T10:20:00Z",
        vec![sync("beta", Schedule::cron("*/15 * * * *", None).unwrap())],
    );
    scheduler::spawn(&service);
    run_until(&service, "2026-12-03T10:35:00Z").await;
    assert!(runner.seen().is_empty());
    service.resume("beta").unwrap().unwrap();
    run_until(&service, "2026-12-03T10:50:00Z").await;
    // No catch-up for the ticks passed while paused; the next tick runs.
    assert_eq!(runner.seen_at("beta"), ["2026-12-03T10:45:00+00:00"]);
    service.stop_starting();
}

#[tokio::test(start_paused = true)]
async fn a_sync_that_keeps_failing_backs_off_and_the_others_keep_their_schedule() {
    let dir = tempfile::tempdir().unwrap();
    let state = dir.path().join("state");
    let (service, runner) = service(
        &state,
        "2026-12-03T10:00:30Z",
        vec![
            sync("broken", Schedule::cron("* * * * *", None).unwrap()),
            sync("fine", Schedule::cron("* * * * *", None).unwrap()),
        ],
    );
    scheduler::spawn(&service);
    // "broken" fails every run; "fine" succeeds.
    runner.queue("broken", vec![Outcome::Failed; 100]);
    run_until(&service, "2026-12-03T10:20:30Z").await;
    let broken = runner.seen_at("broken");
    // Failures at 10:01 and 10:02; from the second on, ticks wait 1, 2, 4, 8, 16 minutes
    // after the last failure: runs at 10:03, 10:05, 10:09, 10:17, next at 10:33.
    assert_eq!(
        broken,
        [
            "2026-12-03T10:01:00+00:00",
            "2026-12-03T10:02:00+00:00",
            "2026-12-03T10:03:00+00:00",
            "2026-12-03T10:05:00+00:00",
            "2026-12-03T10:09:00+00:00",
            "2026-12-03T10:17:00+00:00"
        ]
    );
    assert_eq!(runner.seen_at("fine").len(), 20);
    let skipped = Store::open(&state)
        .unwrap()
        .skipped_ticks("broken", 1)
        .unwrap();
    assert!(
        skipped[0]
            .reason
            .contains("backing off after 6 failed runs in a row"),
        "{}",
        skipped[0].reason
    );
    // A trigger through the API is not held back.
    service.trigger("broken", None).unwrap();
    service.stop_starting();
    assert!(service.wait_idle(Duration::from_secs(5)).await);
}

fn dbt_results(path: &std::path::Path, at: &str, status: &str) {
    std::fs::write(
        path,
        serde_json::json!({
            "metadata": {"generated_at": at},
            "results": [{"unique_id": "model.analytics.beta_testers", "status": status}]
        })
        .to_string(),
    )
    .unwrap();
}

#[tokio::test(start_paused = true)]
async fn a_sync_after_dbt_runs_once_per_new_successful_dbt_run_across_restarts() {
    let dir = tempfile::tempdir().unwrap();
    let state = dir.path().join("state");
    let results = dir.path().join("run_results.json");
    let after = |name: &str| {
        let mut info = sync(name, Schedule::Manual);
        info.after = Some(optisync_serve::dbt::DbtTrigger {
            run_results: results.clone(),
            models: vec!["beta_testers".into()],
        });
        info
    };
    {
        let (service, runner) = service(&state, "2026-12-03T10:00:00Z", vec![after("beta")]);
        scheduler::spawn(&service);
        run_until(&service, "2026-12-03T10:01:00Z").await;
        assert!(runner.seen().is_empty(), "no dbt run yet");
        dbt_results(&results, "2026-12-03T10:01:30Z", "success");
        run_until(&service, "2026-12-03T10:03:00Z").await;
        assert_eq!(runner.seen().len(), 1, "one run for one dbt run");
        // A newer dbt run whose model failed starts nothing.
        dbt_results(&results, "2026-12-03T10:04:00Z", "error");
        run_until(&service, "2026-12-03T10:06:00Z").await;
        assert_eq!(runner.seen().len(), 1);
        dbt_results(&results, "2026-12-03T10:07:00Z", "success");
        run_until(&service, "2026-12-03T10:08:00Z").await;
        assert_eq!(runner.seen().len(), 2);
        service.stop_starting();
        settle().await;
    }
    // Restarted: the dbt run already seen does not start the sync again.
    let (service, runner) = service(&state, "2026-12-03T10:10:00Z", vec![after("beta")]);
    scheduler::spawn(&service);
    run_until(&service, "2026-12-03T10:12:00Z").await;
    assert!(runner.seen().is_empty());
    dbt_results(&results, "2026-12-03T10:13:00Z", "success");
    run_until(&service, "2026-12-03T10:14:00Z").await;
    assert_eq!(runner.seen().len(), 1);
    service.stop_starting();
}
