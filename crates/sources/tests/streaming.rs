//! Streaming large models in bounded batches, from blocking and async code, and how a stream
//! ends: completely, with an error, or dropped early.

#![cfg(feature = "duckdb")]
// Helpers outside `#[test]` functions unwrap too: a failure there is a test failure.
#![allow(clippy::unwrap_used)]

mod warehouse;

use optisync_core::Value;
use optisync_sources::{BATCH_ROWS, DuckDbConfig, Source, SourceError};
use warehouse::in_memory;

#[test]
fn a_million_rows_arrive_in_bounded_batches() {
    let dir = tempfile::tempdir().unwrap();
    let source = in_memory(dir.path());
    let mut stream = source
        .stream("select range as id from range(1000000)")
        .unwrap();
    assert_eq!(&stream.columns()[..], ["id".to_owned()]);
    let (mut rows, mut batches, mut sum) = (0usize, 0usize, 0i64);
    while let Some(batch) = stream.blocking_next_batch() {
        let batch = batch.unwrap();
        assert!(
            !batch.is_empty() && batch.len() <= BATCH_ROWS,
            "{}",
            batch.len()
        );
        rows += batch.len();
        for record in batch {
            match record.value(0) {
                Some(Value::Int(id)) => sum += id,
                other => panic!("unexpected {other:?}"),
            }
        }
        batches += 1;
    }
    assert_eq!(rows, 1_000_000);
    assert!(batches >= 1_000_000 / BATCH_ROWS, "{batches} batches");
    assert_eq!(sum, 999_999 * 1_000_000 / 2);
    assert!(stream.blocking_next_batch().is_none(), "stays ended");
}

/// DuckDB's chunks are gathered into batches by their text, nulls and values together:
/// every cell arrives in its row, and wide rows make smaller batches than narrow ones.
#[test]
fn text_nulls_and_values_are_gathered_across_chunks_in_order() {
    let dir = tempfile::tempdir().unwrap();
    let source = in_memory(dir.path());
    let model = "select case when range % 7 = 0 then null else 'id-' || range end as id, \
                 range as n, repeat('x', (range % 3)::integer * 40) as wide from range(100000)";
    let mut stream = source.stream(model).unwrap();
    let mut next = 0i64;
    while let Some(batch) = stream.blocking_next_batch() {
        let batch = batch.unwrap();
        assert!(!batch.is_empty() && batch.len() <= BATCH_ROWS);
        for record in batch {
            let id = match next % 7 {
                0 => Value::Null,
                _ => Value::Text(format!("id-{next}")),
            };
            assert_eq!(record.value(0), Some(&id), "row {next}");
            assert_eq!(record.value(1), Some(&Value::Int(next)), "row {next}");
            let wide = "x".repeat(usize::try_from(next % 3).unwrap() * 40);
            assert_eq!(record.value(2), Some(&Value::Text(wide)), "row {next}");
            next += 1;
        }
    }
    assert_eq!(next, 100_000);
    // One of DuckDB's chunks of 1,000-byte rows (2,048 rows, 2 MB) is more than a batch's
    // bytes: it is handed over on its own, not gathered up to BATCH_ROWS.
    let mut stream = source
        .stream("select repeat('y', 1000) as wide from range(5000)")
        .unwrap();
    let first = stream.blocking_next_batch().unwrap().unwrap();
    assert!(first.len() <= 2048, "{} rows of 1,000 bytes", first.len());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn async_engine_describes_and_streams() {
    let dir = tempfile::tempdir().unwrap();
    let source = Source::duckdb(&DuckDbConfig {
        path: None,
        base_dir: dir.path().to_path_buf(),
    })
    .unwrap();
    assert_eq!(source.kind(), "duckdb");
    source.check().await.unwrap();
    let model = "select range::varchar as user_id from range(10000)";
    let columns = source.describe(model).await.unwrap();
    assert_eq!(columns[0].name, "user_id");
    let mut stream = source.stream(model).await.unwrap();
    let mut rows = 0;
    while let Some(batch) = stream.next_batch().await {
        rows += batch.unwrap().len();
    }
    assert_eq!(rows, 10_000);

    let error = source
        .stream("select * from nothing_here")
        .await
        .unwrap_err();
    assert!(matches!(error, SourceError::Model { .. }), "{error:?}");
}

#[test]
fn an_error_while_reading_ends_the_stream() {
    let dir = tempfile::tempdir().unwrap();
    let source = in_memory(dir.path());
    let model = "select case when range = 50000 then error('bad row ' || range) else range end \
                 from range(100000)";
    let error = match source.stream(model) {
        Err(error) => error,
        Ok(mut stream) => {
            let error = loop {
                match stream.blocking_next_batch() {
                    Some(Ok(_)) => continue,
                    Some(Err(error)) => break error,
                    None => panic!("the stream ended without the error"),
                }
            };
            assert!(stream.blocking_next_batch().is_none());
            error
        }
    };
    assert!(matches!(error, SourceError::Model { .. }), "{error:?}");
    assert!(error.to_string().contains("bad row 50000"), "{error}");
}

#[test]
fn dropping_a_stream_early_stops_the_reader() {
    let dir = tempfile::tempdir().unwrap();
    let source = in_memory(dir.path());
    let mut stream = source
        .stream("select range as id from range(100000000)")
        .unwrap();
    let first = stream.blocking_next_batch().unwrap().unwrap();
    assert_eq!(first.column(0).unwrap()[0], Value::Int(0));
    drop(stream);
    // The source stays usable: the reader let go of its connection.
    let rows = warehouse::rows(&source, "select 42");
    assert_eq!(rows, vec![vec![Value::Int(42)]]);
}
