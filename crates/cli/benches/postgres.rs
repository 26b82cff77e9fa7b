//! `optisync plan` on a PostgreSQL model, next to `psql \copy` of the same model to
//! `/dev/null` in the same run: the fastest way Postgres's own client reads a query out.
//! Run on demand: `cargo bench --workspace --bench postgres`.
//!
//! The test harness starts a throwaway PostgreSQL; a `users` table holds N ids of 17
//! characters and the model is `select user_id from users`, a list-attribute mirror sync
//! planned from nothing (the list would be over Optimizely's 5 MB limit, so the plan refuses
//! the send, but every row is read and planned). Printed per size: the median of [`ROUNDS`]
//! timings of each, their ratio, and the peak resident memory (`VmHWM`) of `optisync plan`.
//! `OPTISYNC_BENCH_SIZES=1000000` picks other sizes (default 1M and 5M);
//! `OPTISYNC_BENCH_TRACE=1` also prints one plan's `-vv` log, which times each step.

#![allow(clippy::unwrap_used, clippy::expect_used, missing_docs)]

mod support;

use std::process::Stdio;
use std::time::{Duration, Instant};

use fake_optimizely::FakeOptimizely;
use optisync_testpg::TestPostgres;
use support::{MODEL, ROUNDS, median, seed};

fn main() {
    let sizes = support::sizes("1000000,5000000");
    let runtime = tokio::runtime::Runtime::new().unwrap();
    let fake = FakeOptimizely::new(seed()).unwrap();
    let running = runtime
        .block_on(fake.serve(([127, 0, 0, 1], 0).into()))
        .unwrap();
    let pg = TestPostgres::start().unwrap();
    pg.create_database("wh").unwrap();
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("warehouse-url"), pg.url("wh")).unwrap();
    support::write_config(
        dir.path(),
        &running.base_url(),
        "[source]\ntype = \"postgres\"\nurl = { file = \"warehouse-url\" }\nsslmode = \"disable\"",
    );

    println!(
        "{:>10}  {:>12}  {:>13}  {:>6}  {:>12}",
        "rows", "psql \\copy", "optisync plan", "ratio", "peak memory"
    );
    for rows in sizes {
        pg.psql(
            "wh",
            &format!(
                "drop table if exists users; \
                 create table users as select 'user-' || lpad(g::text, 12, '0') as user_id \
                 from generate_series(1, {rows}) g; analyze users"
            ),
        )
        .unwrap();
        let copy = median((0..ROUNDS).map(|_| psql_copy(&pg)).collect());
        let mut plans = Vec::new();
        let mut peak = 0;
        for _ in 0..ROUNDS {
            let plan = support::optisync(dir.path(), &["plan"]);
            assert!(
                matches!(plan.exit, 0 | 7),
                "plan of {rows} rows exited {}",
                plan.exit
            );
            plans.push(plan.elapsed);
            peak = peak.max(plan.max_rss_kib);
        }
        let plan = median(plans);
        if std::env::var_os("OPTISYNC_BENCH_TRACE").is_some() {
            support::trace(dir.path(), &["plan"]);
        }
        println!(
            "{rows:>10}  {:>10.3} s  {:>11.3} s  {:>6.2}  {:>9} MB",
            copy.as_secs_f64(),
            plan.as_secs_f64(),
            plan.as_secs_f64() / copy.as_secs_f64(),
            peak / 1024
        );
    }
    runtime.block_on(running.shutdown());
}

/// `psql -c "\copy (MODEL) to '/dev/null'"`, timed from start to exit.
fn psql_copy(pg: &TestPostgres) -> Duration {
    let start = Instant::now();
    let status = pg
        .psql_command("wh")
        .args(["-c", &format!("\\copy ({MODEL}) to '/dev/null'")])
        .stdout(Stdio::null())
        .status()
        .unwrap();
    assert!(status.success(), "psql \\copy failed");
    start.elapsed()
}
