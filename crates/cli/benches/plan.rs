//! `optisync plan` and `sync` on a list-attribute mirror sync, next to DuckDB reading the
//! same model on its own in the same run. Run on demand (it needs a release build of
//! DuckDB): `cargo bench --workspace --bench plan`.
//!
//! For each size a DuckDB file holds a `users` table of 17-character ids; the model is
//! `select user_id from users`. The fake Optimizely serves over loopback with its rate
//! limits off, so only optisync's own work is timed.
//! - The first size (250,000 members, about 4.5 MB of list) is synced once, 1% of the ids
//!   are then replaced, and the incremental `plan` is timed against DuckDB's read; then the
//!   `sync` that sends it is measured.
//! - The larger sizes (1M and 10M by default) are planned from nothing: the list would be
//!   over Optimizely's 5 MB limit, so the plan refuses the send, but the model is still
//!   read and planned in full.
//!
//! Printed per size: the median of [`ROUNDS`] timings of DuckDB reading the model (Arrow,
//! rows counted) and of `optisync plan`, their ratio, and the peak resident memory of the
//! `optisync` process: its `VmHWM` (the kernel's high-water mark of resident memory) read
//! from `/proc` every 2 ms until it exits. The mark only grows, so sampling can miss at most
//! the last 2 ms of a run, when it is writing its output and freeing memory.
//! `OPTISYNC_BENCH_SIZES=250000,1000000` picks other sizes; `OPTISYNC_BENCH_TRACE=1` also
//! runs one plan per size with `-vv` and prints its log, which times each step.

#![allow(clippy::unwrap_used, clippy::expect_used, missing_docs)]

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use fake_optimizely::{FakeOptimizely, Seed};
use serde_json::json;

const TOKEN: &str = "2:benchtoken_abcdefghijklmnopqrstuvwxyz0123456789ABCDEFG";
const PROJECT: i64 = 23_000_000_001;
const LIST: i64 = 24_000_000_001;
const MODEL: &str = "select user_id from users";
const ROUNDS: usize = 3;
/// Replaced between the first sync and the timed plan: one id in a hundred.
const CHANGED_EVERY: u64 = 100;
fn main() {
    let sizes: Vec<u64> = std::env::var("OPTISYNC_BENCH_SIZES")
        .unwrap_or_else(|_| "250000,1000000,10000000".to_owned())
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
    let base_url = running.base_url();

    println!(
        "{:>10}  {:>9}  {:>14}  {:>13}  {:>6}  {:>12}  step",
        "rows", "list MB", "duckdb read", "optisync", "ratio", "peak memory"
    );
    for (i, &rows) in sizes.iter().enumerate() {
        let dir = tempfile::tempdir().unwrap();
        let bench = Bench::new(dir.path(), &base_url);
        bench.write_users(rows, false);
        if i == 0 {
            // The delivered state the incremental plan starts from.
            let sync = bench.optisync(&["sync"]);
            assert_eq!(sync.exit, 0, "first sync of {rows} rows failed");
            println!(
                "{rows:>10}  {:>9.2}  {:>14}  {:>11.2} s  {:>6}  {:>9} MB  first sync",
                list_megabytes(rows),
                "",
                sync.elapsed.as_secs_f64(),
                "",
                sync.max_rss_kib / 1024
            );
            bench.write_users(rows, true);
        }
        let read = median((0..ROUNDS).map(|_| bench.duckdb_read(rows)).collect());
        let mut plans = Vec::new();
        let mut peak = 0;
        for _ in 0..ROUNDS {
            let plan = bench.optisync(&["plan"]);
            assert!(
                matches!(plan.exit, 0 | 7),
                "plan of {rows} rows exited {}",
                plan.exit
            );
            peak = peak.max(plan.max_rss_kib);
            plans.push(plan.elapsed);
        }
        let plan = median(plans);
        if std::env::var_os("OPTISYNC_BENCH_TRACE").is_some() {
            bench.trace(&["-vv", "plan"]);
        }
        let step = if i == 0 {
            "incremental plan (1% changed)"
        } else {
            "plan from nothing (over 5 MB: send refused)"
        };
        println!(
            "{rows:>10}  {:>9.2}  {:>12.3} s  {:>11.3} s  {:>6.2}  {:>9} MB  {step}",
            list_megabytes(rows),
            read.as_secs_f64(),
            plan.as_secs_f64(),
            plan.as_secs_f64() / read.as_secs_f64(),
            peak / 1024
        );
        if i == 0 {
            let writes = fake.stats().writes;
            let sync = bench.optisync(&["sync"]);
            assert_eq!(sync.exit, 0, "incremental sync of {rows} rows failed");
            println!(
                "{rows:>10}  {:>9.2}  {:>14}  {:>11.3} s  {:>6}  {:>9} MB  incremental sync ({} write request)",
                list_megabytes(rows),
                "",
                sync.elapsed.as_secs_f64(),
                "",
                sync.max_rss_kib / 1024,
                fake.stats().writes - writes
            );
        }
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

/// `user-` and 12 digits, plus the comma between members.
fn list_megabytes(rows: u64) -> f64 {
    (rows * 18) as f64 / 1_000_000.0
}

fn median(mut values: Vec<Duration>) -> Duration {
    values.sort();
    values[values.len() / 2]
}

struct Bench {
    dir: PathBuf,
    warehouse: PathBuf,
}

struct Measured {
    exit: i32,
    elapsed: Duration,
    max_rss_kib: u64,
}

impl Bench {
    fn new(dir: &Path, base_url: &str) -> Self {
        std::fs::write(dir.join("token"), TOKEN).unwrap();
        let config = format!(
            "[optimizely]\nproject_id = {PROJECT}\ntoken = {{ file = \"token\" }}\napi_url = \"{base_url}\"\nrate_limit = {{ per_second = 1000 }}\n\n\
             [source]\ntype = \"duckdb\"\npath = \"warehouse.duckdb\"\n\n\
             [[sync]]\nname = \"members\"\nobject = \"list_attribute\"\nlist_attribute_id = {LIST}\nmode = \"mirror\"\nmodel = \"{MODEL}\"\nmapping = {{ user_id = \"user_id\" }}\n"
        );
        std::fs::write(dir.join("optisync.toml"), config).unwrap();
        Self {
            dir: dir.to_path_buf(),
            warehouse: dir.join("warehouse.duckdb"),
        }
    }

    /// Writes `rows` ids; `changed` replaces every hundredth with an id not seen before.
    fn write_users(&self, rows: u64, changed: bool) {
        let connection = duckdb::Connection::open(&self.warehouse).unwrap();
        let id = "'user-' || lpad(cast(range as varchar), 12, '0')";
        let new_id = format!("'user-' || lpad(cast(range + {rows} as varchar), 12, '0')");
        let expression = if changed {
            format!("case when range % {CHANGED_EVERY} = 0 then {new_id} else {id} end")
        } else {
            id.to_owned()
        };
        connection
            .execute_batch(&format!(
                "create or replace table users as select {expression} as user_id from range({rows})"
            ))
            .unwrap();
    }

    /// DuckDB on its own: the same model over the same file, Arrow batches counted.
    fn duckdb_read(&self, rows: u64) -> Duration {
        let start = Instant::now();
        let config = duckdb::Config::default()
            .access_mode(duckdb::AccessMode::ReadOnly)
            .unwrap();
        let connection = duckdb::Connection::open_with_flags(&self.warehouse, config).unwrap();
        let mut statement = connection.prepare(MODEL).unwrap();
        let read: usize = statement
            .stream_arrow([])
            .unwrap()
            .map(|batch| batch.unwrap().num_rows())
            .sum();
        let elapsed = start.elapsed();
        assert_eq!(read as u64, rows);
        elapsed
    }

    /// Runs optisync once more with its debug log on stderr, to see where the time goes.
    fn trace(&self, args: &[&str]) {
        let start = Instant::now();
        let spawned = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap();
        let output = Command::new(env!("CARGO_BIN_EXE_optisync"))
            .args(args)
            .current_dir(&self.dir)
            .stdout(Stdio::null())
            .output()
            .unwrap();
        let of_day = spawned.as_secs_f64() % 86_400.0;
        eprintln!(
            "{}(spawned at {:02}:{:02}:{:09.6}Z, exited after {:.3} s)",
            String::from_utf8_lossy(&output.stderr),
            (of_day / 3600.0) as u32,
            (of_day % 3600.0 / 60.0) as u32,
            of_day % 60.0,
            start.elapsed().as_secs_f64()
        );
    }

    fn optisync(&self, args: &[&str]) -> Measured {
        let start = Instant::now();
        let mut child = Command::new(env!("CARGO_BIN_EXE_optisync"))
            .args(args)
            .current_dir(&self.dir)
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
        let exit = status.code().unwrap_or(-1);
        if exit != 0 {
            let mut stderr = String::new();
            std::io::Read::read_to_string(&mut child.stderr.take().unwrap(), &mut stderr).unwrap();
            eprintln!("{stderr}");
        }
        Measured {
            exit,
            elapsed,
            max_rss_kib,
        }
    }
}

/// `VmHWM` of a running process, in KiB.
fn high_water_mark_kib(status_file: &str) -> Option<u64> {
    let status = std::fs::read_to_string(status_file).ok()?;
    let line = status.lines().find(|l| l.starts_with("VmHWM:"))?;
    line.split_whitespace().nth(1)?.parse().ok()
}
