//! How fast a model's rows reach the engine, next to DuckDB handing out the same rows on its
//! own. Run on demand (a release build of DuckDB takes a long while):
//! `cargo bench -p optisync-sources --bench stream`.
//!
//! Three readers of the same one-million-row model (an integer and a text column):
//! - `duckdb arrow`: DuckDB's streaming Arrow result, rows counted, nothing converted; the
//!   floor any reader pays.
//! - `duckdb rows`: DuckDB's row-by-row API, each cell converted to a `Value`; the
//!   alternative to decoding Arrow column-wise.
//! - `optisync`: [`DuckDbSource::stream`], records as the engine receives them.

#![allow(clippy::unwrap_used, missing_docs)]

use std::time::{Duration, Instant};

use duckdb::types::ValueRef;
use optisync_core::Value;
use optisync_sources::{DuckDbConfig, DuckDbSource};

const MODEL: &str = "select range as id, 'user_' || range as user_id from range(1000000)";
const ROUNDS: usize = 5;

fn main() {
    let dir = std::env::temp_dir();
    let source = DuckDbSource::open(&DuckDbConfig {
        path: None,
        base_dir: dir,
    })
    .unwrap();
    let connection = duckdb::Connection::open_in_memory().unwrap();

    report("duckdb arrow", || {
        let mut statement = connection.prepare(MODEL).unwrap();
        statement
            .stream_arrow([])
            .unwrap()
            .map(|batch| batch.unwrap().num_rows())
            .sum()
    });
    report("duckdb rows", || {
        let mut statement = connection.prepare(MODEL).unwrap();
        let mut rows = statement.query([]).unwrap();
        let mut count = 0;
        while let Some(row) = rows.next().unwrap() {
            let values: Vec<Value> = (0..2)
                .map(|i| match row.get_ref(i).unwrap() {
                    ValueRef::BigInt(v) => Value::Int(v),
                    ValueRef::Text(t) => Value::Text(String::from_utf8_lossy(t).into_owned()),
                    _ => Value::Null,
                })
                .collect();
            count += values.len() / 2;
        }
        count
    });
    report("optisync", || {
        let mut stream = source.stream(MODEL).unwrap();
        let mut count = 0;
        while let Some(batch) = stream.blocking_next_batch() {
            count += batch.unwrap().len();
        }
        count
    });
}

/// Runs `read` a few times and prints its best and median time.
fn report(name: &str, mut read: impl FnMut() -> usize) {
    let mut times: Vec<Duration> = (0..ROUNDS)
        .map(|_| {
            let started = Instant::now();
            assert_eq!(read(), 1_000_000);
            started.elapsed()
        })
        .collect();
    times.sort();
    println!(
        "{name:>14}: best {:>7.1} ms, median {:>7.1} ms",
        times[0].as_secs_f64() * 1e3,
        times[ROUNDS / 2].as_secs_f64() * 1e3
    );
}
