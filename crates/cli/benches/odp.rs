//! An ODP-attribute sync of a large segment against the fake's ODP side at ODP's real limit of
//! 10 profile requests a second, 500 profiles each. Run on demand (it needs a release build of
//! DuckDB, and the first sync of a million users takes over 200 s by design):
//! `cargo bench --workspace --bench odp`.
//!
//! For the first size (1,000,000 users by default) a DuckDB file holds a `users` table of
//! 17-character ids and the model is `select user_id from users`:
//! - **first sync**: every user is sent. Its wall time (the whole process: model read, schema
//!   read, 2,000 requests) is set against the floor the limit allows, requests ÷ 10 s; target
//!   1.05 at most, with no answer 429. The run's own `send` step (as it records it) is printed
//!   beside it, against the same floor;
//! - 1% of the ids are then replaced, and the **incremental plan** is timed ([`ROUNDS`] runs,
//!   median) against DuckDB's own read of the same model in a fresh process;
//! - the **incremental sync** (1% joining, 1% leaving: 20,000 profiles, 40 requests) against
//!   its floor the same way.
//!
//! Every size is first planned from nothing (no delivered state): time, the ratio to DuckDB's
//! read, and the peak resident memory; the larger sizes (10M by default) only that, to show
//! that planning grows linearly.
//! `OPTISYNC_BENCH_SIZES=100000,1000000` picks other sizes (the first is synced);
//! `OPTISYNC_BENCH_ODP_PER_SECOND=1000` raises the fake's limit (for profiling the plan, not
//! for figures); `OPTISYNC_BENCH_TRACE=1` also runs each plan once with `-vv` and prints its
//! log, which times each step, and runs the syncs with `-vv` too (their peak memory is then
//! not sampled).

#![allow(clippy::unwrap_used, clippy::expect_used, missing_docs)]

mod support;

use std::path::{Path, PathBuf};
use std::time::Duration;

use fake_optimizely::{DEMO_ODP_PRIVATE_KEY, FakeOptimizely, OdpSeed};
use support::{DuckDbReader, MODEL, ROUNDS, median};

/// Replaced between the first sync and the incremental one: one id in a hundred.
const CHANGED_EVERY: u64 = 100;
/// ODP's limit on profile requests.
const PER_SECOND: f64 = 10.0;
/// Profiles per request.
const BATCH: u64 = 500;

fn main() {
    let reader = support::serve_duckdb_read();
    let sizes = support::sizes("1000000,10000000");

    let runtime = tokio::runtime::Runtime::new().unwrap();
    let mut seed = support::seed();
    let per_second: u32 = std::env::var("OPTISYNC_BENCH_ODP_PER_SECOND")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(10);
    seed.rate_limits.odp_profiles_per_second = Some(per_second);
    seed.odp = Some(
        serde_json::from_value::<OdpSeed>(serde_json::json!({
            "fields": [{"name": "in_beta", "type": "boolean"}]
        }))
        .unwrap(),
    );
    let fake = FakeOptimizely::new(seed).unwrap();
    let running = runtime
        .block_on(fake.serve(([127, 0, 0, 1], 0).into()))
        .unwrap();

    println!(
        "{:>10}  {:>8}  {:>9}  {:>9}  {:>6}  {:>5}  {:>9}  {:>8}  step",
        "rows", "requests", "floor", "optisync", "ratio", "429s", "peak", "B/member"
    );
    for (i, &rows) in sizes.iter().enumerate() {
        let dir = tempfile::tempdir().unwrap();
        let bench = Bench::new(dir.path(), &running.base_url(), &running.odp_base_url());
        bench.write_users(rows, false);
        plan_row(&reader, &bench, rows, "plan from nothing");
        if i == 0 {
            let requests = rows.div_ceil(BATCH);
            sync_row(&fake, &bench, rows, requests, "first sync");
            bench.write_users(rows, true);
            plan_row(
                &reader,
                &bench,
                rows,
                "incremental plan (1% joining, 1% leaving)",
            );
            let changed = 2 * rows.div_ceil(CHANGED_EVERY);
            sync_row(
                &fake,
                &bench,
                rows,
                changed.div_ceil(BATCH),
                "incremental sync",
            );
        }
    }
    runtime.block_on(running.shutdown());
}

/// Runs `sync`, expecting `requests` profile requests, and prints its time against the floor.
fn sync_row(fake: &FakeOptimizely, bench: &Bench, rows: u64, requests: u64, step: &str) {
    let before = fake.requests().len();
    let measured = if std::env::var_os("OPTISYNC_BENCH_TRACE").is_some() {
        // Its log instead of its peak memory: each request is logged as it is answered.
        let started = std::time::Instant::now();
        support::trace(&bench.dir, &["sync"]);
        support::Measured {
            exit: 0,
            elapsed: started.elapsed(),
            max_rss_kib: 0,
        }
    } else {
        support::optisync(&bench.dir, &["sync"])
    };
    assert_eq!(measured.exit, 0, "{step} of {rows} rows failed");
    let log = fake.requests();
    let posts = log[before..]
        .iter()
        .filter(|e| e.path_template == "/v3/profiles")
        .count() as u64;
    let throttled = log[before..].iter().filter(|e| e.status == 429).count();
    assert_eq!(posts, requests, "{step}: profile requests");
    // How far apart the fake answered consecutive profile requests: the limit's spacing, or
    // more where the process was late.
    let answered: Vec<u64> = log[before..]
        .iter()
        .filter(|e| e.path_template == "/v3/profiles")
        .map(|e| e.at_ms)
        .collect();
    let mut gaps: Vec<u64> = answered
        .windows(2)
        .map(|w| w[1].saturating_sub(w[0]))
        .collect();
    gaps.sort_unstable();
    let gap = |q: f64| {
        gaps.get(((gaps.len() as f64 - 1.0) * q) as usize)
            .copied()
            .unwrap_or(0)
    };
    let per_second = std::env::var("OPTISYNC_BENCH_ODP_PER_SECOND")
        .ok()
        .and_then(|v| v.parse::<f64>().ok())
        .unwrap_or(PER_SECOND);
    let floor = Duration::from_secs_f64(requests as f64 / per_second);
    let send = send_step(&bench.dir);
    println!(
        "{rows:>10}  {requests:>8}  {:>7.1} s  {:>7.1} s  {:>6.3}  {throttled:>5}  {:>6} MB  {:>8.1}  {step} (sending: {:.1} s, {:.3} × the floor)",
        floor.as_secs_f64(),
        measured.elapsed.as_secs_f64(),
        measured.elapsed.as_secs_f64() / floor.as_secs_f64(),
        measured.max_rss_kib / 1024,
        (measured.max_rss_kib * 1024) as f64 / rows as f64,
        send.as_secs_f64(),
        send.as_secs_f64() / floor.as_secs_f64(),
    );
    println!(
        "{:>10}  answers apart: median {} ms, 90% {} ms, max {} ms",
        "",
        gap(0.5),
        gap(0.9),
        gap(1.0)
    );
}

/// The `send` step of the last run, as the run recorded it in the state store.
fn send_step(dir: &Path) -> Duration {
    let db = rusqlite::Connection::open(dir.join(".optisync").join("state.db")).unwrap();
    let details: String = db
        .query_row(
            "SELECT details FROM runs WHERE details IS NOT NULL ORDER BY rowid DESC LIMIT 1",
            [],
            |row| row.get(0),
        )
        .unwrap();
    let details: serde_json::Value = serde_json::from_str(&details).unwrap();
    let ms = details["steps"]
        .as_array()
        .unwrap()
        .iter()
        .find(|s| s["step"] == "send")
        .and_then(|s| s["ms"].as_u64())
        .unwrap();
    Duration::from_millis(ms)
}

/// Times `plan` ([`ROUNDS`] runs, median) against DuckDB's own read of the model, and prints
/// the ratio and the peak memory of one more plan.
fn plan_row(reader: &DuckDbReader, bench: &Bench, rows: u64, step: &str) {
    let read = median(
        (0..ROUNDS)
            .map(|_| {
                let (elapsed, read) = reader.read(&bench.warehouse, MODEL);
                assert_eq!(read, rows);
                elapsed
            })
            .collect(),
    );
    let plans = (0..ROUNDS)
        .map(|_| {
            let (exit, elapsed) = support::optisync_timed(&bench.dir, &["plan"]);
            assert_eq!(exit, 0, "plan of {rows} rows");
            elapsed
        })
        .collect();
    let plan = median(plans);
    let peak = support::optisync(&bench.dir, &["plan"]).max_rss_kib;
    if std::env::var_os("OPTISYNC_BENCH_TRACE").is_some() {
        support::trace(&bench.dir, &["plan"]);
    }
    println!(
        "{rows:>10}  {:>8}  {:>9}  {:>7.3} s  {:>6.2}  {:>5}  {:>6} MB  {:>8.1}  {step} (DuckDB's read: {:.3} s)",
        "",
        "",
        plan.as_secs_f64(),
        plan.as_secs_f64() / read.as_secs_f64(),
        "",
        peak / 1024,
        (peak * 1024) as f64 / rows as f64,
        read.as_secs_f64(),
    );
}

struct Bench {
    dir: PathBuf,
    warehouse: PathBuf,
}

impl Bench {
    fn new(dir: &Path, api_url: &str, odp_url: &str) -> Self {
        std::fs::write(dir.join("token"), support::TOKEN).unwrap();
        std::fs::write(dir.join("odp_key"), DEMO_ODP_PRIVATE_KEY).unwrap();
        let config = format!(
            "[optimizely]\nproject_id = {}\ntoken = {{ file = \"token\" }}\napi_url = \"{api_url}\"\n\n\
             [odp]\nprivate_key = {{ file = \"odp_key\" }}\napi_url = \"{odp_url}\"\n\n\
             [source]\ntype = \"duckdb\"\npath = \"warehouse.duckdb\"\n\n\
             [[sync]]\nname = \"beta\"\nobject = \"odp_attribute\"\nmode = \"mirror\"\nfield = \"in_beta\"\nmodel = \"{MODEL}\"\nmapping = {{ user_id = \"user_id\" }}\n",
            support::PROJECT
        );
        std::fs::write(dir.join("optisync.toml"), config).unwrap();
        Self {
            dir: dir.to_path_buf(),
            warehouse: dir.join("warehouse.duckdb"),
        }
    }

    /// Writes `rows` ids; `changed` replaces every hundredth with an id not seen before.
    fn write_users(&self, rows: u64, changed: bool) {
        support::write_users(&self.warehouse, rows, changed, CHANGED_EVERY);
    }
}
