//! `optisync plan` on a MySQL model, next to the `mariadb` client reading the same model
//! (`--batch --quick`, rows written to `/dev/null`) in the same run: the fastest way the
//! server's own client reads a query out. Run on demand:
//! `cargo bench --workspace --bench mysql`.
//!
//! The bench starts a throwaway MariaDB; a `users` table holds N ids of 17 characters and
//! the model is `select user_id from users`, a list-attribute mirror sync planned from
//! nothing (the list would be over Optimizely's 5 MB limit, so the plan refuses the send,
//! but every row is read and planned). Printed per size: the median of [`ROUNDS`] timings
//! of each, their ratio (target 1.3 at most), and the peak resident memory (`VmHWM`) of
//! `optisync plan` (target under 300 MB at 1M rows).
//! `OPTISYNC_BENCH_SIZES=1000000` picks other sizes (default 1M);
//! `OPTISYNC_BENCH_TRACE=1` also prints one plan's `-vv` log, which times each step.

#![allow(clippy::unwrap_used, clippy::expect_used, missing_docs)]

mod support;

use std::process::Stdio;
use std::time::{Duration, Instant};

use fake_optimizely::FakeOptimizely;
use optisync_testmysql::TestMysql;
use support::{MODEL, ROUNDS, median, seed};

fn main() {
    let sizes = support::sizes("1000000");
    let runtime = tokio::runtime::Runtime::new().unwrap();
    let fake = FakeOptimizely::new(seed()).unwrap();
    let running = runtime
        .block_on(fake.serve(([127, 0, 0, 1], 0).into()))
        .unwrap();
    let db = TestMysql::start().unwrap();
    db.create_database("wh").unwrap();
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("warehouse-url"), db.url("wh")).unwrap();
    support::write_config(
        dir.path(),
        &running.base_url(),
        "[source]\ntype = \"mysql\"\nurl = { file = \"warehouse-url\" }\nsslmode = \"disable\"",
    );

    println!(
        "{:>10}  {:>14}  {:>13}  {:>6}  {:>12}",
        "rows", "mariadb client", "optisync plan", "ratio", "peak memory"
    );
    for rows in sizes {
        db.sql(
            "wh",
            &format!(
                "drop table if exists users; \
                 create table users (user_id varchar(17)); \
                 insert into users select concat('user-', lpad(seq, 12, '0')) \
                 from seq_1_to_{rows}; analyze table users"
            ),
        )
        .unwrap();
        let client = median((0..ROUNDS).map(|_| client_read(&db)).collect());
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
            "{rows:>10}  {:>12.3} s  {:>11.3} s  {:>6.2}  {:>9} MB",
            client.as_secs_f64(),
            plan.as_secs_f64(),
            plan.as_secs_f64() / client.as_secs_f64(),
            peak / 1024
        );
    }
    runtime.block_on(running.shutdown());
}

/// `mariadb --batch --quick -e MODEL > /dev/null` over TCP, timed from start to exit.
fn client_read(db: &TestMysql) -> Duration {
    let start = Instant::now();
    let status = db
        .client_command("wh")
        .args(["--quick", "--execute", MODEL])
        .stdout(Stdio::null())
        .status()
        .unwrap();
    assert!(status.success(), "the mariadb client failed");
    start.elapsed()
}
