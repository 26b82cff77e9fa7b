//! Shared by the integration tests: opening sources over temporary folders and reading a
//! model's rows whole (fine for the small models of tests).

// Test support: a failure here is a test failure.
#![allow(dead_code, unreachable_pub, clippy::unwrap_used)]

use std::path::Path;

use optisync_core::{Record, Value};
use optisync_sources::{DuckDbConfig, DuckDbSource, RowStream, SourceError};

/// An in-memory DuckDB whose models read files from `dir`.
pub fn in_memory(dir: &Path) -> DuckDbSource {
    DuckDbSource::open(&DuckDbConfig {
        path: None,
        base_dir: dir.to_path_buf(),
    })
    .unwrap()
}

/// Every record of the stream, failing on the first error.
pub fn drain(mut stream: RowStream) -> Result<Vec<Record>, SourceError> {
    let mut records = Vec::new();
    while let Some(batch) = stream.blocking_next_batch() {
        records.extend(batch?);
    }
    Ok(records)
}

/// The model's rows as value lists.
pub fn rows(source: &DuckDbSource, model: &str) -> Vec<Vec<Value>> {
    drain(source.stream(model).unwrap())
        .unwrap()
        .into_iter()
        .map(Record::into_values)
        .collect()
}

/// The model's single row, by column name.
pub fn single_row(source: &DuckDbSource, model: &str) -> Record {
    let mut records = drain(source.stream(model).unwrap()).unwrap();
    assert_eq!(records.len(), 1, "expected one row from {model}");
    records.remove(0)
}

/// The error a model fails with, when run.
pub fn run_error(source: &DuckDbSource, model: &str) -> SourceError {
    match source.stream(model) {
        Err(error) => error,
        Ok(stream) => drain(stream).expect_err("the model should fail"),
    }
}
