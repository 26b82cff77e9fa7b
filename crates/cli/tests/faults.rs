//! The fault matrix: every object type through each of the fake's faults on its write
//! requests (429 with and without `Retry-After`, 503, a burst of 500s, the connection
//! dropped before and after the write, an answer slower than the client's timeout before and
//! after the write was applied, a duplicate-key answer to a create that went through), end to
//! end through the binary. Each run must finish (exit 0) with the fake
//! holding exactly what the model says and a further run sending nothing. The requests used
//! are printed next to the minimum, a fault-free run of the same sync.

#![allow(clippy::unwrap_used)]

mod common;

use common::{Case, Scenario, scenario};
use fake_optimizely::{FaultAction, FaultRule};

/// The faults, each applied to the scenario's write requests.
fn faults() -> Vec<(&'static str, u32, FaultAction)> {
    vec![
        (
            "429 with Retry-After",
            1,
            FaultAction::Status {
                status: 429,
                retry_after: Some(1),
            },
        ),
        (
            "429 without Retry-After",
            1,
            FaultAction::Status {
                status: 429,
                retry_after: None,
            },
        ),
        (
            "503",
            1,
            FaultAction::Status {
                status: 503,
                retry_after: None,
            },
        ),
        (
            "a burst of two 500s",
            2,
            FaultAction::Status {
                status: 500,
                retry_after: None,
            },
        ),
        (
            "connection dropped before the write",
            1,
            FaultAction::DropBeforeWrite,
        ),
        (
            "connection dropped after the write",
            1,
            FaultAction::DropAfterWrite,
        ),
        (
            "a slow answer past the 1 s timeout",
            1,
            FaultAction::Delay { millis: 2500 },
        ),
        (
            "the write applied, its answer past the timeout",
            1,
            FaultAction::DelayAfterWrite { millis: 2500 },
        ),
        (
            "the write applied, answered \"already exists\"",
            1,
            FaultAction::DuplicateAfterWrite,
        ),
    ]
}

/// A 1 s request timeout, so that slow answers can outlast it quickly.
fn with_timeout(case: &Case) {
    let path = case.path().join("optisync.toml");
    let config = std::fs::read_to_string(&path).unwrap();
    let config = config.replace(
        "rate_limit = { per_second = 1000 }",
        "rate_limit = { per_second = 1000 }\ntimeout = \"1s\"",
    );
    std::fs::write(path, config).unwrap();
}

async fn matrix(scenario: Scenario) {
    let method = if scenario.name == "list_attribute" {
        "PATCH"
    } else {
        "POST"
    };
    let baseline = Case::new(scenario.project, "", &scenario.sync).await;
    baseline.write(scenario.file, &scenario.model);
    with_timeout(&baseline);
    baseline.expect(&["sync"], 0).await;
    let minimum = baseline.fake.stats().total_requests;
    baseline.stop().await;

    for (name, times, action) in faults() {
        if method == "PATCH" && action == FaultAction::DuplicateAfterWrite {
            // A list is only ever updated; "already exists" answers creates.
            continue;
        }
        let case = Case::new(scenario.project, "", &scenario.sync).await;
        case.write(scenario.file, &scenario.model);
        with_timeout(&case);
        case.fake.add_fault(FaultRule {
            method: method.to_owned(),
            path_template: "*".to_owned(),
            times,
            action,
        });
        let out = case.expect(&["sync"], 0).await;
        assert_eq!(
            (scenario.held)(&case),
            scenario.expected,
            "{} under {name}: the fake does not hold what the model says\n{out}",
            scenario.name
        );
        let used = case.fake.stats().total_requests;
        let before = case.writes();
        case.expect(&["sync"], 0).await;
        assert_eq!(
            case.writes(),
            before,
            "{} under {name}: a further run sent writes",
            scenario.name
        );
        println!(
            "{:<15} {:<38} {used:>3} requests (minimum {minimum})",
            scenario.name, name
        );
        case.stop().await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn attribute_syncs_survive_every_fault() {
    matrix(scenario("attribute")).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn custom_event_syncs_survive_every_fault() {
    matrix(scenario("custom_event")).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn audience_syncs_survive_every_fault() {
    matrix(scenario("audience")).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn list_syncs_survive_every_fault() {
    matrix(scenario("list_attribute")).await;
}
