//! Two runs of the same sync at once: one runs, the other exits 6 naming the holder, and
//! nothing is sent twice.

#![allow(clippy::unwrap_used)]

mod common;

use common::{Case, FX, definition_sync};
use fake_optimizely::{FaultAction, FaultRule};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_second_run_of_the_same_sync_exits_6_and_sends_nothing() {
    let case = Case::new(
        FX,
        "",
        &definition_sync("attribute", "upsert", "{ key = \"key\" }"),
    )
    .await;
    let rows: String = (1..=8).map(|i| format!("k{i},N,a\n")).collect();
    case.write("rows.csv", &format!("key,name,about\n{rows}"));
    // Slow writes, so the first run still holds the lock when the second starts.
    case.fake.add_fault(FaultRule {
        method: "POST".to_owned(),
        path_template: "*".to_owned(),
        times: u32::MAX,
        action: FaultAction::Delay { millis: 150 },
    });
    let first = case.spawn(&["sync"]);
    // Wait until the first run has sent something, so it surely holds the lock.
    let started = std::time::Instant::now();
    while case.fake.stats().total_requests < 3 {
        assert!(
            started.elapsed().as_secs() < 30,
            "the first run never started"
        );
        tokio::time::sleep(std::time::Duration::from_millis(5)).await;
    }
    let out = case.expect(&["sync"], 6).await;
    assert!(out.contains("optisync sync"), "the holder is named: {out}");
    assert!(out.contains("pid"), "{out}");
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
