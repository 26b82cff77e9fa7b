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

use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use fake_optimizely::{FakeOptimizely, Seed};
use optisync_testpg::TestPostgres;
use serde_json::json;

const TOKEN: &str = "2:benchtoken_abcdefghijklmnopqrstuvwxyz0123456789ABCDEFG";
const PROJECT: i64 = 23_000_000_001;
const LIST: i64 = 24_000_000_001;
const MODEL: &str = "select user_id from users";
const ROUNDS: usize = 3;

fn main() {
    let sizes: Vec<u64> = std::env::var("OPTISYNC_BENCH_SIZES")
        .unwrap_or_else(|_| "1000000,5000000".to_owned())
        .split(',')
        .map(|s| {
            s.trim()
                .parse()
                .expect("OPTISYNC_BENCH_SIZES is a list of numbers")
        })
        .collect();
    let runtime = tokio::runtime::Runtime::new().unwrap();
    let fake = FakeOptimizely::new(seed()).unwrap();
    let running = runtime
        .block_on(fake.serve(([127, 0, 0, 1], 0).into()))
        .unwrap();
    let pg = TestPostgres::start().unwrap();
    pg.create_database("wh").unwrap();
    let dir = tempfile::tempdir().unwrap();
    write_config(dir.path(), &running.base_url(), &pg.url("wh"));

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
            let (elapsed, max_rss_kib) = optisync_plan(dir.path());
            plans.push(elapsed);
            peak = peak.max(max_rss_kib);
        }
        let plan = median(plans);
        if std::env::var_os("OPTISYNC_BENCH_TRACE").is_some() {
            let output = Command::new(env!("CARGO_BIN_EXE_optisync"))
                .args(["-vv", "plan"])
                .current_dir(dir.path())
                .output()
                .unwrap();
            eprintln!("{}", String::from_utf8_lossy(&output.stderr));
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

fn seed() -> Seed {
    serde_json::from_value(json!({
        "tokens": [{"token": TOKEN, "project_ids": [PROJECT]}],
        "projects": [
            {"id": PROJECT, "name": "Bench", "platform": "web", "status": "active", "is_flags_enabled": false}
        ],
        "list_attributes": [
            {"id": LIST, "project_id": PROJECT, "name": "bench_members", "key_field": "uid", "list_type": "cookies", "list_content": ""}
        ],
        "rate_limits": {"fx_per_second": null, "fx_per_minute": null, "web_per_minute": null}
    }))
    .unwrap()
}

fn write_config(dir: &Path, api_url: &str, warehouse_url: &str) {
    std::fs::write(dir.join("token"), TOKEN).unwrap();
    std::fs::write(dir.join("warehouse-url"), warehouse_url).unwrap();
    let config = format!(
        "[optimizely]\nproject_id = {PROJECT}\ntoken = {{ file = \"token\" }}\napi_url = \"{api_url}\"\nrate_limit = {{ per_second = 1000 }}\n\n\
         [source]\ntype = \"postgres\"\nurl = {{ file = \"warehouse-url\" }}\nsslmode = \"disable\"\n\n\
         [[sync]]\nname = \"members\"\nobject = \"list_attribute\"\nlist_attribute_id = {LIST}\nmode = \"mirror\"\nmodel = \"{MODEL}\"\nmapping = {{ user_id = \"user_id\" }}\n"
    );
    std::fs::write(dir.join("optisync.toml"), config).unwrap();
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

/// `optisync plan`, timed from start to exit, with its peak resident memory in KiB.
fn optisync_plan(dir: &Path) -> (Duration, u64) {
    let start = Instant::now();
    let mut child = Command::new(env!("CARGO_BIN_EXE_optisync"))
        .arg("plan")
        .current_dir(dir)
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let status_file = format!("/proc/{}/status", child.id());
    let mut max_rss_kib = 0;
    let status = loop {
        if let Some(status) = child.try_wait().unwrap() {
            break status;
        }
        if let Some(kib) = high_water_mark_kib(&status_file) {
            max_rss_kib = max_rss_kib.max(kib);
        }
        std::thread::sleep(Duration::from_millis(2));
    };
    let elapsed = start.elapsed();
    if !matches!(status.code(), Some(0 | 7)) {
        let mut stderr = String::new();
        std::io::Read::read_to_string(&mut child.stderr.take().unwrap(), &mut stderr).unwrap();
        panic!("optisync plan exited {status}: {stderr}");
    }
    (elapsed, max_rss_kib)
}

fn high_water_mark_kib(status_file: &str) -> Option<u64> {
    let status = std::fs::read_to_string(status_file).ok()?;
    let line = status.lines().find(|l| l.starts_with("VmHWM:"))?;
    line.split_whitespace().nth(1)?.parse().ok()
}

fn median(mut values: Vec<Duration>) -> Duration {
    values.sort();
    values[values.len() / 2]
}
