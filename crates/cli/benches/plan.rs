//! `optisync plan` and `sync` on a list-attribute mirror sync, next to the reads a plan
//! cannot avoid, each done by the fastest tool on its own in the same run: DuckDB reading the
//! same model (timed in-process, in a fresh process as optisync is), plus `curl` fetching the
//! same list attribute from the same fake as a whole process. Run on demand (it needs a release build of DuckDB):
//! `cargo bench --workspace --bench plan`.
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
//! rows counted), of `curl` fetching the list attribute, and of `optisync plan`; the ratio of
//! the plan to the two reads together (target 1.5 at most), and the peak resident memory of
//! one more `optisync plan`, run apart from the timed ones: its `VmHWM` (the kernel's
//! high-water mark of resident memory) read from `/proc` every 2 ms until it exits. The mark
//! only grows, so sampling can miss at most the last 2 ms of a run, when it is writing its
//! output and freeing memory. The timed plans run without the sampler, whose wakeups would
//! share the two cores with them.
//! `OPTISYNC_BENCH_SIZES=250000,1000000` picks other sizes; `OPTISYNC_BENCH_TRACE=1` also
//! runs one plan per size with `-vv` and prints its log, which times each step.

#![allow(clippy::unwrap_used, clippy::expect_used, missing_docs)]

mod support;

use std::path::{Path, PathBuf};
use std::time::Duration;

use fake_optimizely::FakeOptimizely;
use support::{DuckDbReader, MODEL, Measured, ROUNDS, median, seed};

/// Replaced between the first sync and the timed plan: one id in a hundred.
const CHANGED_EVERY: u64 = 100;

fn main() {
    let reader = support::serve_duckdb_read();
    let sizes = support::sizes("250000,1000000,10000000");

    let runtime = tokio::runtime::Runtime::new().unwrap();
    let fake = FakeOptimizely::new(seed()).unwrap();
    let running = runtime
        .block_on(fake.serve(([127, 0, 0, 1], 0).into()))
        .unwrap();
    let base_url = running.base_url();

    println!(
        "{:>10}  {:>8}  {:>9}  {:>9}  {:>9}  {:>9}  {:>6}  {:>9}  {:>8}  step",
        "rows", "list MB", "duckdb", "curl", "baseline", "optisync", "ratio", "peak", "B/member"
    );
    for (i, &rows) in sizes.iter().enumerate() {
        let dir = tempfile::tempdir().unwrap();
        let bench = Bench::new(dir.path(), &base_url);
        bench.write_users(rows, false);
        if i == 0 {
            // The delivered state the incremental plan starts from.
            let sync = bench.optisync(&["sync"]);
            assert_eq!(sync.exit, 0, "first sync of {rows} rows failed");
            row(rows, None, sync.elapsed, sync.max_rss_kib, "first sync");
            bench.write_users(rows, true);
        }
        let read = median(
            (0..ROUNDS)
                .map(|_| bench.duckdb_read(&reader, rows))
                .collect(),
        );
        let fetch = median((0..ROUNDS).map(|_| curl_list(&base_url)).collect());
        // Timed without the memory sampler beside them (its wakeups every 2 ms share the two
        // cores); then one more plan, sampled, for the peak.
        let mut plans = Vec::new();
        for _ in 0..ROUNDS {
            let (exit, elapsed) = support::optisync_timed(&bench.dir, &["plan"]);
            assert!(matches!(exit, 0 | 7), "plan of {rows} rows exited {exit}");
            plans.push(elapsed);
        }
        let plan = median(plans);
        let peak = bench.optisync(&["plan"]).max_rss_kib;
        if std::env::var_os("OPTISYNC_BENCH_TRACE").is_some() {
            support::trace(&bench.dir, &["plan"]);
        }
        let step = if i == 0 {
            "incremental plan (1% changed)"
        } else {
            "plan from nothing (over 5 MB: send refused)"
        };
        row(rows, Some((read, fetch)), plan, peak, step);
        if i == 0 {
            let writes = fake.stats().writes;
            let sync = bench.optisync(&["sync"]);
            assert_eq!(sync.exit, 0, "incremental sync of {rows} rows failed");
            let step = format!(
                "incremental sync ({} write request)",
                fake.stats().writes - writes
            );
            row(rows, None, sync.elapsed, sync.max_rss_kib, &step);
        }
    }
    runtime.block_on(running.shutdown());
}

/// One result line: optisync's time; DuckDB's read, curl's fetch and the ratio of optisync to
/// their sum when measured; peak memory, in all and per member.
fn row(
    rows: u64,
    reads: Option<(Duration, Duration)>,
    optisync: Duration,
    peak_kib: u64,
    step: &str,
) {
    let secs = |d: Duration| format!("{:.3} s", d.as_secs_f64());
    let (read, fetch, baseline, ratio) = match reads {
        Some((read, fetch)) => (
            secs(read),
            secs(fetch),
            secs(read + fetch),
            format!(
                "{:.2}",
                optisync.as_secs_f64() / (read + fetch).as_secs_f64()
            ),
        ),
        None => Default::default(),
    };
    println!(
        "{rows:>10}  {:>8.2}  {read:>9}  {fetch:>9}  {baseline:>9}  {:>9}  {ratio:>6}  {:>6} MB  {:>8.1}  {step}",
        list_megabytes(rows),
        secs(optisync),
        peak_kib / 1024,
        (peak_kib * 1024) as f64 / rows as f64,
    );
}

/// `curl` fetching the bench's list attribute from the fake, as a whole process.
fn curl_list(base_url: &str) -> Duration {
    support::curl_get(&format!("{base_url}/list_attributes/{}", support::LIST))
}

/// `user-` and 12 digits, plus the comma between members.
fn list_megabytes(rows: u64) -> f64 {
    (rows * 18) as f64 / 1_000_000.0
}

struct Bench {
    dir: PathBuf,
    warehouse: PathBuf,
}

impl Bench {
    fn new(dir: &Path, base_url: &str) -> Self {
        support::write_config(
            dir,
            base_url,
            "[source]\ntype = \"duckdb\"\npath = \"warehouse.duckdb\"",
        );
        Self {
            dir: dir.to_path_buf(),
            warehouse: dir.join("warehouse.duckdb"),
        }
    }

    /// Writes `rows` ids; `changed` replaces every hundredth with an id not seen before.
    fn write_users(&self, rows: u64, changed: bool) {
        support::write_users(&self.warehouse, rows, changed, CHANGED_EVERY);
    }

    /// DuckDB on its own: the same model over the same file, Arrow batches counted.
    fn duckdb_read(&self, reader: &DuckDbReader, rows: u64) -> Duration {
        let (elapsed, read) = reader.read(&self.warehouse, MODEL);
        assert_eq!(read, rows);
        elapsed
    }

    fn optisync(&self, args: &[&str]) -> Measured {
        support::optisync(&self.dir, args)
    }
}
