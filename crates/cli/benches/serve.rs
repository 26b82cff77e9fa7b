//! `optisync serve`, measured as a process, each figure beside a baseline of the same run:
//! - **idle**: 50 syncs whose next tick is hours away, for [`idle_window`] seconds: CPU time
//!   (extrapolated to an hour) and resident memory, beside the same service with one sync;
//! - **latency** with 100,000 runs in the history: p50 and p99 of the status page, a run's
//!   page and the JSON API (target p99 < 50 ms), beside `GET /healthz`, which touches no
//!   state (the HTTP floor);
//! - **overhead per run**: a no-op run of one list sync triggered through the API (from the
//!   POST until the API shows the run finished), beside `optisync sync` of the same sync as a
//!   whole process.
//!
//! Run on demand (it needs a release build of DuckDB): `cargo bench --workspace --bench serve`.
//! `OPTISYNC_BENCH_IDLE_SECS` sets the idle window (default 60).

#![allow(clippy::unwrap_used, clippy::expect_used, missing_docs)]

mod support;

use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use fake_optimizely::{FakeOptimizely, RateLimits};
use support::{ROUNDS, median};

/// Syncs of the big config.
const SYNCS: usize = 50;
/// Runs in the history for the latency figures.
const HISTORY: usize = 100_000;
/// Requests per endpoint for the latency figures.
const REQUESTS: usize = 400;
/// Members of the list the overhead runs read.
const MEMBERS: u64 = 10_000;
const API_TOKEN: &str = "bench-serve-token-0123456789";

fn idle_window() -> Duration {
    let secs = std::env::var("OPTISYNC_BENCH_IDLE_SECS")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(60);
    Duration::from_secs(secs)
}

fn main() {
    let runtime = tokio::runtime::Runtime::new().unwrap();
    let fake = FakeOptimizely::new(support::seed()).unwrap();
    fake.set_rate_limits(RateLimits::unlimited());
    let running = runtime
        .block_on(fake.serve(([127, 0, 0, 1], 0).into()))
        .unwrap();
    let base_url = running.base_url();

    // Idle: one sync, then fifty, each in a directory of its own.
    let mut idle = Vec::new();
    for syncs in [1, SYNCS] {
        let dir = tempfile::tempdir().unwrap();
        write_config(dir.path(), &base_url, syncs);
        write_users(dir.path());
        let served = Served::start(dir.path());
        // Start-up (history, first ticks computed) is not idling.
        std::thread::sleep(Duration::from_secs(2));
        let (cpu_before, _) = served.cpu_and_rss();
        let window = idle_window();
        std::thread::sleep(window);
        let (cpu_after, rss_kib) = served.cpu_and_rss();
        served.stop();
        let used = cpu_after - cpu_before;
        let per_hour = used.as_secs_f64() * 3600.0 / window.as_secs_f64();
        idle.push((syncs, per_hour, rss_kib));
    }
    println!("idle serve, {} s window:", idle_window().as_secs());
    // The kernel counts CPU time in clock ticks: none in the window bounds it by one tick.
    let tick_per_hour = clock_tick().as_secs_f64() * 3600.0 / idle_window().as_secs_f64();
    for (syncs, per_hour, rss_kib) in &idle {
        let cpu = if *per_hour > 0.0 {
            format!("{per_hour:.2} s")
        } else {
            format!("under {tick_per_hour:.2} s (not one clock tick in the window)")
        };
        println!(
            "  {syncs:>3} syncs: CPU {cpu} per hour, RSS {:.1} MiB",
            *rss_kib as f64 / 1024.0
        );
    }
    let (one, fifty) = (&idle[0], &idle[1]);
    println!(
        "  50 syncs / 1 sync: RSS {:.2}x, CPU {}",
        fifty.2 as f64 / one.2 as f64,
        if one.1 > 0.0 && fifty.1 > 0.0 {
            format!("{:.2}x", fifty.1 / one.1)
        } else {
            "not measurable (under one clock tick)".to_owned()
        }
    );

    // Latency with a long history.
    let dir = tempfile::tempdir().unwrap();
    write_config(dir.path(), &base_url, SYNCS);
    write_users(dir.path());
    let started = Instant::now();
    let (middle_id, failed_id) = write_history(dir.path());
    println!(
        "\nlatency with {HISTORY} runs in history ({} syncs; history written in {:.1} s), {REQUESTS} requests each:",
        SYNCS,
        started.elapsed().as_secs_f64()
    );
    let served = Served::start(dir.path());
    let client = reqwest::Client::new();
    let endpoints = [
        ("GET /healthz (baseline)", "/healthz".to_owned()),
        ("GET / (status page)", "/".to_owned()),
        ("GET /runs/{id} (run page)", format!("/runs/{failed_id}")),
        ("GET /api/syncs", "/api/syncs".to_owned()),
        ("GET /api/runs", "/api/runs".to_owned()),
        ("GET /api/runs?sync=", "/api/runs?sync=sync_25".to_owned()),
        (
            "GET /api/runs?before= (mid-history)",
            format!("/api/runs?before={middle_id}"),
        ),
        ("GET /api/runs/{id}", format!("/api/runs/{failed_id}")),
    ];
    let mut floor = None;
    for (name, path) in endpoints {
        let url = format!("{}{path}", served.base);
        let times = runtime.block_on(latencies(&client, &url));
        let (p50, p99) = (percentile(&times, 50), percentile(&times, 99));
        let floor_p99 = *floor.get_or_insert(p99);
        println!(
            "  {name:<38} p50 {:>7.2} ms  p99 {:>7.2} ms  ({:.1}x the baseline's p99){}",
            ms(p50),
            ms(p99),
            p99.as_secs_f64() / floor_p99.as_secs_f64(),
            if p99 < Duration::from_millis(50) {
                ""
            } else {
                "  OVER 50 ms"
            }
        );
    }
    served.stop();

    // Overhead per run: the same no-op run through the API and as `optisync sync`.
    let dir = tempfile::tempdir().unwrap();
    write_config(dir.path(), &base_url, 1);
    write_users(dir.path());
    let full = support::optisync(dir.path(), &["sync", "members"]);
    assert_eq!(full.exit, 0, "the first sync failed");
    let mut cli = Vec::new();
    for _ in 0..ROUNDS {
        let run = support::optisync(dir.path(), &["sync", "members"]);
        assert_eq!(run.exit, 0);
        cli.push(run.elapsed);
    }
    let served = Served::start(dir.path());
    let mut api = Vec::new();
    for _ in 0..ROUNDS {
        api.push(runtime.block_on(triggered_run(&client, &served.base)));
    }
    served.stop();
    let (cli, api) = (median(cli), median(api));
    println!(
        "\nno-op run of a {MEMBERS}-member list, median of {ROUNDS}:\n  optisync sync (baseline) {:.1} ms\n  serve, POST to finished  {:.1} ms  ({:.2}x)",
        ms(cli),
        ms(api),
        api.as_secs_f64() / cli.as_secs_f64()
    );
    runtime.block_on(running.shutdown());
}

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1000.0
}

fn percentile(sorted: &[Duration], p: usize) -> Duration {
    let index = (sorted.len() * p).div_ceil(100).saturating_sub(1);
    sorted[index.min(sorted.len() - 1)]
}

/// [`REQUESTS`] GETs of `url` one after another on one kept-alive connection, sorted.
async fn latencies(client: &reqwest::Client, url: &str) -> Vec<Duration> {
    // Warm the connection and the caches first.
    for _ in 0..50 {
        client.get(url).send().await.unwrap().bytes().await.unwrap();
    }
    let mut times = Vec::with_capacity(REQUESTS);
    for _ in 0..REQUESTS {
        let start = Instant::now();
        let response = client.get(url).send().await.unwrap();
        assert!(
            response.status().is_success(),
            "{url}: {}",
            response.status()
        );
        response.bytes().await.unwrap();
        times.push(start.elapsed());
    }
    times.sort();
    times
}

async fn get_json(client: &reqwest::Client, url: &str) -> serde_json::Value {
    let bytes = client.get(url).send().await.unwrap().bytes().await.unwrap();
    serde_json::from_slice(&bytes).unwrap()
}

/// Triggers `members` and waits, polling every millisecond, until the API shows the new run
/// finished; returns the time from the POST.
async fn triggered_run(client: &reqwest::Client, base: &str) -> Duration {
    let sync = format!("{base}/api/syncs/members");
    let before = get_json(client, &sync).await["last_run"]["id"].clone();
    let start = Instant::now();
    let response = client
        .post(format!("{sync}/runs"))
        .bearer_auth(API_TOKEN)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status().as_u16(), 202);
    loop {
        let doc = get_json(client, &sync).await;
        if doc["running"] == false && doc["last_run"]["id"] != before {
            assert_eq!(doc["last_run"]["status"], "succeeded", "{doc}");
            return start.elapsed();
        }
        tokio::time::sleep(Duration::from_millis(1)).await;
    }
}

/// The bench config with `syncs` syncs: the list sync `members`, then attribute syncs
/// `sync_2` … of one constant row each. Every schedule is daily, twelve hours from now, so
/// nothing runs by itself during the bench.
fn write_config(dir: &Path, api_url: &str, syncs: usize) {
    support::write_config(
        dir,
        api_url,
        "[source]\ntype = \"duckdb\"\npath = \"warehouse.duckdb\"",
    );
    let hour = (chrono::Utc::now()
        .format("%H")
        .to_string()
        .parse::<u32>()
        .unwrap()
        + 12)
        % 24;
    let schedule = format!("schedule = \"0 {hour} * * *\"\n");
    let mut config = std::fs::read_to_string(dir.join("optisync.toml")).unwrap();
    config.push_str(&schedule);
    for i in 2..=syncs {
        config.push_str(&format!(
            "\n[[sync]]\nname = \"sync_{i}\"\nobject = \"attribute\"\nmode = \"upsert\"\nmodel = \"select 'key_{i}' as key\"\nmapping = {{ key = \"key\" }}\n{schedule}"
        ));
    }
    config.push_str("\n[serve]\napi_token = { file = \"api_token\" }\n");
    std::fs::write(dir.join("optisync.toml"), config).unwrap();
    std::fs::write(dir.join("api_token"), API_TOKEN).unwrap();
}

fn write_users(dir: &Path) {
    let connection = duckdb::Connection::open(dir.join("warehouse.duckdb")).unwrap();
    connection
        .execute_batch(&format!(
            "create or replace table users as select 'user-' || lpad(cast(range as varchar), 8, '0') as user_id from range({MEMBERS})"
        ))
        .unwrap();
}

/// Writes [`HISTORY`] finished runs spread over the syncs (one in twenty failed, with an
/// error, and one of those with rejected rows), a minute apart; returns the id of a run in
/// the middle of the history and of the newest failed run.
fn write_history(dir: &Path) -> (String, String) {
    let state = dir.join(optisync_state::DEFAULT_DIR_NAME);
    let names: Vec<String> = std::iter::once("members".to_owned())
        .chain((2..=SYNCS).map(|i| format!("sync_{i}")))
        .collect();
    {
        // The schema, and each sync known to the store, as a first run makes them.
        let mut store = optisync_state::Store::open(&state).unwrap();
        for name in &names {
            let id = store.start_run(name).unwrap();
            store
                .finish_run(
                    &id,
                    &optisync_state::RunFinish {
                        status: optisync_state::RunStatus::Succeeded,
                        counts: Default::default(),
                        error: None,
                    },
                )
                .unwrap();
        }
    }
    let mut db = rusqlite::Connection::open(state.join(optisync_state::DB_FILE_NAME)).unwrap();
    let tx = db.transaction().unwrap();
    let start = chrono::Utc::now() - chrono::TimeDelta::minutes(HISTORY as i64 + 10);
    let (mut middle, mut failed) = (String::new(), String::new());
    {
        let mut insert = tx
            .prepare(
                "INSERT INTO runs (id, sync, status, started_at, finished_at, duration_ms, \
                 rows_read, list_added, requests_sent, reads, error) \
                 VALUES (?1, ?2, ?3, ?4, ?5, 840, 10000, 12, 1, 1, ?6)",
            )
            .unwrap();
        let mut reject = tx
            .prepare(
                "INSERT INTO rejected_rows (run_id, primary_key, field, reason) \
                 VALUES (?1, ?2, 'key', 'longer than 64 characters')",
            )
            .unwrap();
        for i in 0..HISTORY {
            let at = start + chrono::TimeDelta::minutes(i as i64);
            let sync = &names[i % names.len()];
            let id = format!("{}-{sync}-{:04x}", at.format("%Y%m%dT%H%M%SZ"), i % 0xffff);
            let failing = i % 20 == 7;
            let millis = at.timestamp_millis();
            insert
                .execute(rusqlite::params![
                    id,
                    sync,
                    if failing { "failed" } else { "succeeded" },
                    millis,
                    millis + 840,
                    failing.then_some("sync members: the warehouse could not be read: Catalog Error: Table with name users does not exist!"),
                ])
                .unwrap();
            if failing {
                for row in 0..20 {
                    reject
                        .execute(rusqlite::params![id, format!("row-{row}")])
                        .unwrap();
                }
                failed = id.clone();
            }
            if i == HISTORY / 2 {
                middle = id;
            }
        }
    }
    tx.commit().unwrap();
    (middle, failed)
}

/// The kernel's clock tick, the unit of a process's CPU time in `/proc`.
fn clock_tick() -> Duration {
    let per_second: u64 = String::from_utf8(
        Command::new("getconf")
            .arg("CLK_TCK")
            .output()
            .unwrap()
            .stdout,
    )
    .unwrap()
    .trim()
    .parse()
    .unwrap();
    Duration::from_nanos(1_000_000_000 / per_second)
}

/// A running `optisync serve`.
struct Served {
    child: Child,
    base: String,
}

impl Served {
    fn start(dir: &Path) -> Served {
        let mut child = Command::new(env!("CARGO_BIN_EXE_optisync"))
            .args(["serve", "--bind", "127.0.0.1:0"])
            .current_dir(dir)
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        let mut line = String::new();
        BufReader::new(child.stdout.take().unwrap())
            .read_line(&mut line)
            .unwrap();
        let address = line
            .split("http://")
            .nth(1)
            .and_then(|rest| rest.split_whitespace().next())
            .unwrap_or_else(|| panic!("serve did not start: {line:?}"))
            .to_owned();
        Served {
            child,
            base: format!("http://{address}"),
        }
    }

    /// CPU time used so far (user and system) and resident memory now, in KiB.
    fn cpu_and_rss(&self) -> (Duration, u64) {
        let pid = self.child.id();
        let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap();
        let fields: Vec<&str> = stat
            .rsplit_once(')')
            .unwrap()
            .1
            .split_whitespace()
            .collect();
        let ticks: u64 = fields[11].parse::<u64>().unwrap() + fields[12].parse::<u64>().unwrap();
        let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap();
        let rss = status
            .lines()
            .find(|l| l.starts_with("VmRSS:"))
            .and_then(|l| l.split_whitespace().nth(1))
            .and_then(|kib| kib.parse().ok())
            .unwrap();
        (clock_tick() * u32::try_from(ticks).unwrap(), rss)
    }

    fn stop(mut self) {
        Command::new("kill")
            .args(["-TERM", &self.child.id().to_string()])
            .status()
            .unwrap();
        let status = self.child.wait().unwrap();
        assert!(status.success(), "serve exited with {status}");
    }
}
