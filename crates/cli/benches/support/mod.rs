//! What the benchmarks share: the fake's seed (one Web project with one empty list
//! attribute, rate limits off), the sizes to run, and running `optisync` as a process while
//! sampling its peak resident memory.

#![allow(dead_code)]

use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use fake_optimizely::Seed;
use serde_json::json;

pub(crate) const TOKEN: &str = "2:benchtoken_abcdefghijklmnopqrstuvwxyz0123456789ABCDEFG";
pub(crate) const PROJECT: i64 = 23_000_000_001;
pub(crate) const LIST: i64 = 24_000_000_001;
pub(crate) const MODEL: &str = "select user_id from users";
pub(crate) const ROUNDS: usize = 3;

/// `OPTISYNC_BENCH_SIZES` (a comma-separated list of row counts), or `default`.
pub(crate) fn sizes(default: &str) -> Vec<u64> {
    std::env::var("OPTISYNC_BENCH_SIZES")
        .unwrap_or_else(|_| default.to_owned())
        .split(',')
        .map(|s| {
            s.trim()
                .parse()
                .expect("OPTISYNC_BENCH_SIZES is a list of numbers")
        })
        .collect()
}

pub(crate) fn seed() -> Seed {
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

/// The config of a list-attribute mirror sync of [`MODEL`] into [`LIST`] on `source`.
pub(crate) fn write_config(dir: &Path, api_url: &str, source: &str) {
    std::fs::write(dir.join("token"), TOKEN).unwrap();
    let config = format!(
        "[optimizely]\nproject_id = {PROJECT}\ntoken = {{ file = \"token\" }}\napi_url = \"{api_url}\"\nrate_limit = {{ per_second = 1000 }}\n\n\
         {source}\n\n\
         [[sync]]\nname = \"members\"\nobject = \"list_attribute\"\nlist_attribute_id = {LIST}\nmode = \"mirror\"\nmodel = \"{MODEL}\"\nmapping = {{ user_id = \"user_id\" }}\n"
    );
    std::fs::write(dir.join("optisync.toml"), config).unwrap();
}

pub(crate) fn median(mut values: Vec<Duration>) -> Duration {
    values.sort();
    values[values.len() / 2]
}

/// The `optisync` to measure: this build's, or the one `OPTISYNC_BENCH_BIN` names, to compare
/// another build against the same baseline in the same way.
fn binary() -> std::ffi::OsString {
    std::env::var_os("OPTISYNC_BENCH_BIN").unwrap_or_else(|| env!("CARGO_BIN_EXE_optisync").into())
}

/// One `optisync` run: its exit code, wall time and peak resident memory.
pub(crate) struct Measured {
    pub(crate) exit: i32,
    pub(crate) elapsed: Duration,
    pub(crate) max_rss_kib: u64,
}

/// Runs `optisync ARGS` in `dir`, sampling its `VmHWM` (the kernel's high-water mark of
/// resident memory) from `/proc` every 2 ms until it exits. The mark only grows, so sampling
/// can miss at most the last 2 ms of a run. Its stderr is printed when it fails.
pub(crate) fn optisync(dir: &Path, args: &[&str]) -> Measured {
    let start = Instant::now();
    let mut child = Command::new(binary())
        .args(args)
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
    let exit = status.code().unwrap_or(-1);
    if !matches!(exit, 0 | 7) {
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

/// Runs `optisync ARGS` in `dir` without sampling its memory, for runs so short that a
/// sampler waking every 2 ms beside them would weigh on their time: its exit code and wall
/// time. Its stderr is printed when it fails.
pub(crate) fn optisync_timed(dir: &Path, args: &[&str]) -> (i32, Duration) {
    let start = Instant::now();
    let output = Command::new(binary())
        .args(args)
        .current_dir(dir)
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .output()
        .unwrap();
    let elapsed = start.elapsed();
    let exit = output.status.code().unwrap_or(-1);
    if !matches!(exit, 0 | 7) {
        eprintln!("{}", String::from_utf8_lossy(&output.stderr));
    }
    (exit, elapsed)
}

/// Runs `optisync -vv ARGS` once more and prints its log, which times each step.
pub(crate) fn trace(dir: &Path, args: &[&str]) {
    let start = Instant::now();
    let spawned = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap();
    let output = Command::new(binary())
        .arg("-vv")
        .args(args)
        .current_dir(dir)
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

/// Set in the environment of the bench binary run again as [`DuckDbReader::read`]'s fresh
/// process.
const DUCKDB_READ_CHILD: &str = "OPTISYNC_BENCH_DUCKDB_READ";

/// DuckDB on its own, in a fresh process as optisync is: DuckDB does some work once per
/// process (it compiles its SQL grammar while it opens, about 5 ms), which a process that
/// opened DuckDB before would skip and a fresh `optisync` cannot.
///
/// The process runs a copy of this bench binary, made in a folder of its own, not the bench
/// binary itself. The bench process has DuckDB's code mapped (it writes the warehouse through
/// DuckDB), and a page of a file that some process maps stays in memory, while the page cache
/// of a file no process maps can be reclaimed between two runs, as the host's memory manager
/// sees fit: so a read by the bench binary found DuckDB's code in memory every time, while
/// `optisync`, whose binary no process maps between its runs, read some of its code back from
/// the disk in about a third of its runs (13–32 major faults, 5–10 ms). The copy is mapped by
/// nothing between reads either, so both sides find their code where the other finds it.
pub(crate) struct DuckDbReader {
    /// Holds the copy, [`DUCKDB_READ_PROGRAM`]; removed with the reader.
    dir: tempfile::TempDir,
}

/// The copy's name in [`DuckDbReader`]'s folder.
const DUCKDB_READ_PROGRAM: &str = "duckdb-read";

impl DuckDbReader {
    /// The model `model` over the file at `warehouse`, read-only, Arrow batches counted, timed
    /// in-process from the open to the last batch: its time and the rows it read.
    pub(crate) fn read(&self, warehouse: &Path, model: &str) -> (Duration, u64) {
        let output = Command::new(self.dir.path().join(DUCKDB_READ_PROGRAM))
            .env(DUCKDB_READ_CHILD, "1")
            .arg(warehouse)
            .arg(model)
            .stderr(Stdio::inherit())
            .output()
            .unwrap();
        assert!(output.status.success(), "the DuckDB read failed");
        let printed = String::from_utf8(output.stdout).unwrap();
        let (nanos, rows) = printed.trim().split_once(' ').unwrap();
        (
            Duration::from_nanos(nanos.parse().unwrap()),
            rows.parse().unwrap(),
        )
    }
}

/// Called first by the `main` of every bench that times DuckDB's own read. In the process [`DuckDbReader::read`] starts: reads
/// the model, prints its time (ns) and rows, and exits. Anywhere else: copies this binary for
/// the reads to run, before any thread could start a process that would inherit the copy's
/// file while it is open for writing.
pub(crate) fn serve_duckdb_read() -> DuckDbReader {
    if std::env::var_os(DUCKDB_READ_CHILD).is_none() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::copy(
            std::env::current_exe().unwrap(),
            dir.path().join(DUCKDB_READ_PROGRAM),
        )
        .unwrap();
        return DuckDbReader { dir };
    }
    let mut args = std::env::args_os().skip(1);
    let (warehouse, model) = (args.next().unwrap(), args.next().unwrap());
    let start = Instant::now();
    let config = duckdb::Config::default()
        .access_mode(duckdb::AccessMode::ReadOnly)
        .unwrap();
    let connection = duckdb::Connection::open_with_flags(warehouse, config).unwrap();
    let mut statement = connection.prepare(model.to_str().unwrap()).unwrap();
    let read: usize = statement
        .stream_arrow([])
        .unwrap()
        .map(|batch| batch.unwrap().num_rows())
        .sum();
    println!("{} {read}", start.elapsed().as_nanos());
    std::process::exit(0);
}

/// `curl` GETting `url` with the bench's token as a whole process, as a user would: its
/// wall time.
pub(crate) fn curl_get(url: &str) -> Duration {
    let start = Instant::now();
    let status = Command::new("curl")
        .args(["-sS", "--fail", "-o", "/dev/null", "-H"])
        .arg(format!("Authorization: Bearer {TOKEN}"))
        .arg(url)
        .status()
        .expect("curl runs (apt-get install curl)");
    let elapsed = start.elapsed();
    assert!(status.success(), "curl could not GET {url}");
    elapsed
}

/// `VmHWM` of a running process, in KiB.
fn high_water_mark_kib(status_file: &str) -> Option<u64> {
    let status = std::fs::read_to_string(status_file).ok()?;
    let line = status.lines().find(|l| l.starts_with("VmHWM:"))?;
    line.split_whitespace().nth(1)?.parse().ok()
}

/// Writes `rows` ids (`user-` and 12 digits) into the `users` table of the DuckDB file at
/// `warehouse`; `changed` replaces every `changed_every`-th with an id not seen before.
pub(crate) fn write_users(warehouse: &Path, rows: u64, changed: bool, changed_every: u64) {
    let connection = duckdb::Connection::open(warehouse).unwrap();
    let id = "'user-' || lpad(cast(range as varchar), 12, '0')";
    let new_id = format!("'user-' || lpad(cast(range + {rows} as varchar), 12, '0')");
    let expression = if changed {
        format!("case when range % {changed_every} = 0 then {new_id} else {id} end")
    } else {
        id.to_owned()
    };
    connection
        .execute_batch(&format!(
            "create or replace table users as select {expression} as user_id from range({rows})"
        ))
        .unwrap();
}
