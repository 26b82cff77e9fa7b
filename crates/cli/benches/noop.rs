//! A no-op rerun right after a full sync, on a Feature Experimentation project whose quota
//! the fake enforces (2/s, 120/min), next to the reads that rerun cannot avoid, each done by
//! the fastest tool on its own in the same run: DuckDB reading the model (timed in-process,
//! in a fresh process as optisync is), and `curl` making the rerun's GETs as whole
//! processes, paced at the real per-second limit.
//! Run on demand (it needs a release build of DuckDB): `cargo bench --workspace --bench noop`.
//!
//! The full sync creates 100 attributes (about 50 s at 2/s); the rerun then finds nothing to
//! do. Before the product was remembered in state, the rerun assumed 100/min until it read
//! the project, and waited for the full sync's requests of the last minute to age out; and it
//! read the project, one request more than the fewest.
//! Reruns and baseline reads take turns, one of each per round ([`ROUNDS`] rounds).
//! Printed: the rerun's wall time, the baseline and its parts (medians of the rounds), their
//! ratio (target 1.2 at most), and the rerun's requests against the fewest possible.

#![allow(clippy::unwrap_used, clippy::expect_used, missing_docs)]

mod support;

use std::path::Path;
use std::time::{Duration, Instant};

use fake_optimizely::{FakeOptimizely, RateLimits};
use serde_json::json;
use support::{DuckDbReader, TOKEN, median};

const FX: i64 = 23_000_000_002;
const ATTRIBUTES: u64 = 100;
const MODEL: &str = "select key from attributes";
/// Rounds of a rerun and the baseline's reads: a no-op run is short, so one slow moment of a
/// loaded machine weighs on a median of few.
const ROUNDS: usize = 15;

fn main() {
    let reader = support::serve_duckdb_read();
    let runtime = tokio::runtime::Runtime::new().unwrap();
    let seed = serde_json::from_value(json!({
        "tokens": [{"token": TOKEN, "project_ids": [FX]}],
        "projects": [{"id": FX, "name": "Bench FX", "platform": "custom", "status": "active", "is_flags_enabled": true}],
    }))
    .unwrap();
    let fake = FakeOptimizely::new(seed).unwrap();
    // The real Feature Experimentation quota, enforced.
    fake.set_rate_limits(RateLimits::default());
    let running = runtime
        .block_on(fake.serve(([127, 0, 0, 1], 0).into()))
        .unwrap();
    let base_url = running.base_url();
    let dir = tempfile::tempdir().unwrap();
    write_config(dir.path(), &base_url);
    write_attributes(&dir.path().join("warehouse.duckdb"));

    let full = support::optisync(dir.path(), &["sync"]);
    assert_eq!(full.exit, 0, "the full sync failed");
    println!(
        "full sync: {ATTRIBUTES} creates in {:.3} s",
        full.elapsed.as_secs_f64()
    );

    // The product remembered in state spares the project read (ADR 0013): the fewest reads a
    // no-op run can make is one page of the project's attributes.
    let gets = [format!(
        "{base_url}/attributes?project_id={FX}&per_page=100&page=1"
    )];
    let warehouse = dir.path().join("warehouse.duckdb");
    // Rerun and baseline take turns, round after round, so that whatever slows the machine
    // for a while (another process, the host reclaiming page cache) weighs on both alike; the
    // rerun and DuckDB's read swap places every round, as whichever runs second finds the
    // libraries both load (libstdc++, libc) in memory.
    let (mut reruns, mut queries, mut fetches) = (Vec::new(), Vec::new(), Vec::new());
    let mut reads = 0;
    for round in 0..ROUNDS {
        if round % 2 == 1 {
            queries.push(duckdb_read(&reader, &warehouse));
        }
        // As for the baseline's GETs: the quota's second since the last request passes first,
        // so that both time their own reads, not the pacing behind the previous run's.
        std::thread::sleep(Duration::from_secs(1));
        let before = fake.stats();
        let (exit, elapsed) = support::optisync_timed(dir.path(), &["sync"]);
        assert_eq!(exit, 0, "the no-op rerun failed");
        let after = fake.stats();
        assert_eq!(after.writes, before.writes, "a no-op rerun writes nothing");
        assert_eq!(
            after.total_429, before.total_429,
            "a no-op rerun gets no 429"
        );
        reads = after.total_requests - before.total_requests;
        reruns.push(elapsed);
        if round % 2 == 0 {
            queries.push(duckdb_read(&reader, &warehouse));
        }
        fetches.push(paced_curl(&gets));
    }
    eprintln!("reruns: {reruns:.3?}");
    eprintln!("duckdb: {queries:.3?}");
    eprintln!("curl:   {fetches:.3?}");
    let (rerun, query, fetch) = (median(reruns), median(queries), median(fetches));
    if std::env::var_os("OPTISYNC_BENCH_TRACE").is_some() {
        std::thread::sleep(Duration::from_secs(1));
        support::trace(dir.path(), &["sync"]);
    }
    let baseline = query + fetch;
    println!("no-op rerun:        {:.3} s", rerun.as_secs_f64());
    println!(
        "baseline:           {:.3} s  (duckdb {:.3} s + {} paced curl GETs {:.3} s)",
        baseline.as_secs_f64(),
        query.as_secs_f64(),
        gets.len(),
        fetch.as_secs_f64()
    );
    println!(
        "ratio:              {:.2}  (target <= 1.2)",
        rerun.as_secs_f64() / baseline.as_secs_f64()
    );
    println!(
        "requests per rerun: {reads}  (the fewest possible: {}, ratio {:.2}, target 1.00)",
        gets.len(),
        reads as f64 / gets.len() as f64
    );
    runtime.block_on(running.shutdown());
}

fn write_config(dir: &Path, api_url: &str) {
    std::fs::write(dir.join("token"), TOKEN).unwrap();
    let config = format!(
        "[optimizely]\nproject_id = {FX}\ntoken = {{ file = \"token\" }}\napi_url = \"{api_url}\"\n\n\
         [source]\ntype = \"duckdb\"\npath = \"warehouse.duckdb\"\n\n\
         [[sync]]\nname = \"attributes\"\nobject = \"attribute\"\nmode = \"upsert\"\nmodel = \"{MODEL}\"\nmapping = {{ key = \"key\" }}\n"
    );
    std::fs::write(dir.join("optisync.toml"), config).unwrap();
}

fn write_attributes(warehouse: &Path) {
    let connection = duckdb::Connection::open(warehouse).unwrap();
    connection
        .execute_batch(&format!(
            "create or replace table attributes as select 'attr_' || lpad(cast(range as varchar), 3, '0') as key from range({ATTRIBUTES})"
        ))
        .unwrap();
}

/// DuckDB on its own: the model over the same file, rows counted.
fn duckdb_read(reader: &DuckDbReader, warehouse: &Path) -> Duration {
    let (elapsed, read) = reader.read(warehouse, MODEL);
    assert_eq!(read, ATTRIBUTES);
    elapsed
}

/// `curl` GETting each URL as its own process, each starting no sooner than half a second
/// after the one before (2 requests/s), waiting first for the quota's second to pass.
fn paced_curl(urls: &[String]) -> Duration {
    std::thread::sleep(Duration::from_secs(1));
    let start = Instant::now();
    for (i, url) in urls.iter().enumerate() {
        let due = start + Duration::from_millis(500 * i as u64);
        if let Some(wait) = due.checked_duration_since(Instant::now()) {
            std::thread::sleep(wait);
        }
        support::curl_get(url);
    }
    start.elapsed()
}
