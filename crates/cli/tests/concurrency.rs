//! Runs at the same time: two runs of the same sync (one runs, the other exits 6 naming the
//! holder, nothing is sent twice; the fake holds the first run's first write until the
//! second has ended, so the two surely overlap), and two different syncs on one token in two processes
//! (together they stay under the token's rate limit: the fake answers no 429).

#![allow(clippy::unwrap_used)]

mod common;

use common::{Case, FX, definition_sync};
use std::time::Duration;

use fake_optimizely::{FaultAction, FaultRule, RateLimits};

/// The tests of this file start several optisync processes each; run one at a time, so that
/// the rate-limit test measures the two processes it starts and not the load of the other.
static ONE_AT_A_TIME: tokio::sync::Mutex<()> = tokio::sync::Mutex::const_new(());

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_second_run_of_the_same_sync_exits_6_and_sends_nothing() {
    let _alone = ONE_AT_A_TIME.lock().await;
    let case = Case::new(
        FX,
        "",
        &definition_sync("attribute", "upsert", "{ key = \"key\" }"),
    )
    .await;
    let rows: String = (1..=8).map(|i| format!("k{i},N,a\n")).collect();
    case.write("rows.csv", &format!("key,name,about\n{rows}"));
    case.patient();
    // The first run's first write is held: the run is provably mid-request, its lock taken,
    // for as long as the second run needs.
    case.fake.add_fault(FaultRule {
        method: "POST".to_owned(),
        path_template: "*".to_owned(),
        times: 1,
        action: FaultAction::HoldBeforeWrite,
    });
    let first = case.spawn(&["sync"]);
    let held = tokio::time::timeout(Duration::from_secs(60), case.fake.wait_held(1)).await;
    assert!(held.is_ok(), "the first run never sent its first write");
    let seen = case.fake.requests().len();
    let out = case.expect(&["sync"], 6).await;
    assert!(out.contains("optisync sync"), "the holder is named: {out}");
    assert!(out.contains("pid"), "{out}");
    assert_eq!(
        case.fake.held().holding,
        1,
        "the first run was held throughout"
    );
    // It may read (the project, to learn its product); it must not write.
    let writes: Vec<_> = case.fake.requests()[seen..]
        .iter()
        .filter(|r| r.method != "GET")
        .map(|r| format!("{} {}", r.method, r.path))
        .collect();
    assert!(writes.is_empty(), "the second run wrote {writes:?}");
    case.fake.release_held();
    let first = tokio::task::spawn_blocking(move || first.wait_with_output().unwrap())
        .await
        .unwrap();
    assert_eq!(
        first.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&first.stderr)
    );
    assert_eq!(
        case.objects("attributes", FX).len(),
        8,
        "each attribute created once"
    );
    case.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_syncs_in_two_processes_stay_under_the_token_rate_limit_together() {
    let _alone = ONE_AT_A_TIME.lock().await;
    let sync = |name: &str| {
        format!(
            "[[sync]]\nname = \"{name}\"\nobject = \"attribute\"\nmode = \"upsert\"\nmodel = \"select * from read_csv('{name}.csv', all_varchar = true)\"\nmapping = {{ key = \"key\" }}\n"
        )
    };
    let case = Case::new(FX, "", &format!("{}\n{}", sync("a"), sync("b"))).await;
    for name in ["a", "b"] {
        let rows: String = (1..=5).map(|i| format!("{name}{i}\n")).collect();
        case.write(&format!("{name}.csv"), &format!("key\n{rows}"));
    }
    // The real Feature Experimentation quota on both sides: 2 requests per second and 120
    // per minute per token, enforced by the fake and chosen by optisync from the product.
    let path = case.path().join("optisync.toml");
    let config = std::fs::read_to_string(&path).unwrap();
    std::fs::write(
        &path,
        config.replace("rate_limit = { per_second = 1000 }\n", ""),
    )
    .unwrap();
    case.fake.set_rate_limits(RateLimits::default());

    let (a, b) = (case.spawn(&["sync", "a"]), case.spawn(&["sync", "b"]));
    let wait = |child: std::process::Child| {
        tokio::task::spawn_blocking(move || child.wait_with_output().unwrap())
    };
    let (a, b) = (wait(a).await.unwrap(), wait(b).await.unwrap());
    for out in [&a, &b] {
        assert_eq!(
            out.status.code(),
            Some(0),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
    }
    let stats = case.fake.stats();
    if stats.total_429 > 0 {
        for r in case.fake.requests() {
            eprintln!("{:>6} {} {} {}", r.at_ms, r.status, r.method, r.path);
        }
    }
    assert_eq!(
        stats.total_429, 0,
        "the two processes together went over the quota"
    );
    assert!(stats.total_requests >= 14, "{stats:?}");
    assert_eq!(case.objects("attributes", FX).len(), 10);
    case.stop().await;
}
