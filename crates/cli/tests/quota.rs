//! The rate limit across processes, through the real binary: every verb that calls the API
//! reserves its requests in the state store's ledger (`check` too), and a process paces its
//! first requests by the product a previous run saw for the project instead of assuming the
//! strictest quota of every product, and reads the project only when it has something to send.

#![allow(clippy::unwrap_used)]

mod common;

use common::{Case, FX, definition_sync};
use fake_optimizely::{FaultAction, FaultRule, RateLimits};

const ROWS: &str = "key\nplan\n";

fn attribute_case_sync() -> String {
    definition_sync("attribute", "upsert", "{ key = \"key\" }")
}

fn set_rate_limit(case: &Case, limit: Option<&str>) {
    let path = case.path().join("optisync.toml");
    let config = std::fs::read_to_string(&path).unwrap();
    let line = "rate_limit = { per_second = 1000 }\n";
    assert!(config.contains(line));
    let replaced = match limit {
        Some(limit) => format!("rate_limit = {limit}\n"),
        None => String::new(),
    };
    std::fs::write(&path, config.replace(line, &replaced)).unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn check_then_plan_share_one_quota() {
    let case = Case::new(FX, "", &attribute_case_sync()).await;
    case.write("rows.csv", ROWS);
    // One request per second, enforced by the fake: `check`'s last request and `plan`'s
    // first would land in one second if `check` kept its requests to itself.
    case.fake.set_rate_limits(RateLimits {
        fx_per_second: Some(1),
        fx_per_minute: None,
        ..case.fake.rate_limits()
    });
    set_rate_limit(&case, Some("{ per_second = 1 }"));
    case.expect(&["check"], 0).await;
    case.expect(&["plan"], 0).await;
    let stats = case.fake.stats();
    assert!(stats.total_requests >= 3, "{stats:?}");
    assert_eq!(stats.total_429, 0, "{stats:?}");
    case.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_run_paces_its_first_requests_by_the_product_a_previous_run_saw() {
    let case = Case::new(FX, "", &attribute_case_sync()).await;
    case.write("rows.csv", ROWS);
    // The product's own quota, as a user who sets none gets.
    set_rate_limit(&case, None);
    const REMEMBERED: &str = "rate limit set from the product a previous run saw";
    const FROM_PROJECT: &str = "rate limit set from the project's product";
    let first = case.expect(&["-vv", "plan"], 0).await;
    assert!(!first.contains(REMEMBERED), "{first}");
    assert!(first.contains(FROM_PROJECT), "{first}");
    // The second process knows the product before its first request: it starts at the
    // product's quota, and reading the project changes nothing.
    let second = case.expect(&["-vv", "plan"], 0).await;
    let remembered = second.find(REMEMBERED).expect(&second);
    let first_request = second.find("optimizely request").expect(&second);
    assert!(remembered < first_request, "{second}");
    assert!(!second.contains(FROM_PROJECT), "{second}");
    case.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_run_with_nothing_to_do_makes_only_its_own_reads() {
    let case = Case::new(FX, "", &attribute_case_sync()).await;
    case.write("rows.csv", ROWS);
    case.expect(&["sync"], 0).await;
    let before = case.fake.stats();
    let plan = case.expect(&["plan"], 0).await;
    assert!(plan.contains("(1 read)"), "{plan}");
    case.expect(&["sync"], 0).await;
    let after = case.fake.stats();
    assert_eq!(
        after.total_requests - before.total_requests,
        2,
        "one page of attributes for each process, no read of the project: {after:?}"
    );

    // A token revoked since: the first read is refused as a token problem (exit 3), as it is
    // when the project is read first.
    case.fake.add_fault(FaultRule {
        method: "GET".to_owned(),
        path_template: "*".to_owned(),
        times: u32::MAX,
        action: FaultAction::Status {
            status: 401,
            retry_after: None,
        },
    });
    let out = case.expect(&["sync"], 3).await;
    assert!(out.contains("token"), "names the token\n{out}");
    assert!(!out.contains("internal"), "{out}");
    case.stop().await;
}
