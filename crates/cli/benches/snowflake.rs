//! `optisync plan` on a Snowflake model served by the local emulator (fakesnow), next to
//! Snowflake's own Python connector reading the same model with `fetch_arrow_all` in the
//! same run, each as a whole process. Both pay the emulator's own cost (it computes the
//! model in DuckDB and sends it as one base64 Arrow answer), so the ratio is what each
//! client adds. Run on demand: `cargo bench --workspace --bench snowflake`.
//!
//! A `users` table holds N ids of 17 characters and the model is `select user_id from
//! users`, a list-attribute mirror sync planned from nothing. Printed per size: the median
//! of [`ROUNDS`] timings of each, their ratio, and the peak resident memory of
//! `optisync plan`. `OPTISYNC_BENCH_SIZES=1000000` picks other sizes (default 1M).

#![allow(clippy::unwrap_used, clippy::expect_used, missing_docs)]

mod support;

use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use fake_optimizely::FakeOptimizely;
use optisync_testsnow::TestSnowflake;
use support::{MODEL, ROUNDS, median, seed};

fn main() {
    let sizes = support::sizes("1000000");
    let runtime = tokio::runtime::Runtime::new().unwrap();
    let fake = FakeOptimizely::new(seed()).unwrap();
    let running = runtime
        .block_on(fake.serve(([127, 0, 0, 1], 0).into()))
        .unwrap();
    let sf = TestSnowflake::start().unwrap();
    sf.sql(&["create database wh", "create schema wh.public"])
        .unwrap();
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("snowflake-password"), "bench").unwrap();
    support::write_config(
        dir.path(),
        &running.base_url(),
        &format!(
            "[source]\ntype = \"snowflake\"\naccount = \"bench\"\nuser = \"bench\"\npassword = {{ file = \"snowflake-password\" }}\ndatabase = \"wh\"\nschema = \"public\"\nurl = \"{}\"",
            sf.url()
        ),
    );

    println!(
        "{:>10}  {:>16}  {:>13}  {:>6}  {:>12}",
        "rows", "fetch_arrow_all", "optisync plan", "ratio", "peak memory"
    );
    for rows in sizes {
        sf.sql(&[&format!(
            "create or replace table wh.public.users as select 'user-' || lpad(seq8()::varchar, 12, '0') as user_id \
             from table(generator(rowcount => {rows}))"
        )])
        .unwrap();
        let client = median((0..ROUNDS).map(|_| fetch_arrow_all(&sf, rows)).collect());
        let mut plans = Vec::new();
        for _ in 0..ROUNDS {
            let (exit, elapsed) = support::optisync_timed(dir.path(), &["plan"]);
            assert!(matches!(exit, 0 | 7), "plan of {rows} rows exited {exit}");
            plans.push(elapsed);
        }
        let plan = median(plans);
        let peak = support::optisync(dir.path(), &["plan"]).max_rss_kib;
        println!(
            "{rows:>10}  {:>14.3} s  {:>11.3} s  {:>6.2}  {:>9} MB",
            client.as_secs_f64(),
            plan.as_secs_f64(),
            plan.as_secs_f64() / client.as_secs_f64(),
            peak / 1024
        );
    }
    runtime.block_on(running.shutdown());
}

/// The Python connector reading the model with `fetch_arrow_all`, as a whole process.
fn fetch_arrow_all(sf: &TestSnowflake, rows: u64) -> Duration {
    let script = format!(
        "import snowflake.connector\n\
         c = snowflake.connector.connect(user='bench', password='bench', account='bench', host='127.0.0.1', port={port}, protocol='http', database='wh', schema='public')\n\
         t = c.cursor().execute('{MODEL}').fetch_arrow_all()\n\
         assert t.num_rows == {rows}, t.num_rows\n",
        port = sf.port()
    );
    let start = Instant::now();
    let status = Command::new(sf.python())
        .args(["-c", &script])
        .stdout(Stdio::null())
        .status()
        .unwrap();
    assert!(status.success(), "the Python connector failed");
    start.elapsed()
}
