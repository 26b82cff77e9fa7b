//! In-memory DuckDB reading CSV, Parquet and JSON files named in the model, with relative
//! paths resolved against the base directory (not the process's working directory).

#![cfg(feature = "duckdb")]
// Helpers outside `#[test]` functions unwrap too: a failure there is a test failure.
#![allow(clippy::unwrap_used)]

mod warehouse;

use std::fs;

use optisync_core::Value;
use optisync_sources::ColumnKind;
use serde_json::json;
use warehouse::{in_memory, rows, run_error};

#[test]
fn reads_csv_relative_to_the_base_dir() {
    let dir = tempfile::tempdir().unwrap();
    fs::write(
        dir.path().join("users.csv"),
        "user_id,plan,score\nu1,pro,1.5\nu2,free,\n",
    )
    .unwrap();
    let source = in_memory(dir.path());
    let model = "select user_id, plan, score from read_csv_auto('users.csv') order by user_id";
    let columns = source.describe(model).unwrap();
    assert_eq!(columns[0].name, "user_id");
    assert_eq!(columns[0].kind, ColumnKind::Text);
    assert_eq!(columns[2].kind, ColumnKind::Float);
    assert_eq!(
        rows(&source, model),
        vec![
            vec![Value::from("u1"), Value::from("pro"), Value::Float(1.5)],
            vec![Value::from("u2"), Value::from("free"), Value::Null],
        ]
    );
    // DuckDB's shorthand of a bare file name works too.
    assert_eq!(
        rows(&source, "select count(*) from 'users.csv'"),
        vec![vec![Value::Int(2)]]
    );
}

#[test]
fn reads_parquet_written_by_duckdb() {
    let dir = tempfile::tempdir().unwrap();
    let target = dir.path().join("segments.parquet");
    let writer = duckdb::Connection::open_in_memory().unwrap();
    writer
        .execute_batch(&format!(
            "copy (select range as segment_id, 'segment ' || range as name, [range, range + 1] as ids
                   from range(3))
             to '{}' (format parquet)",
            target.display()
        ))
        .unwrap();
    let source = in_memory(dir.path());
    assert_eq!(
        rows(
            &source,
            "select * from read_parquet('segments.parquet') order by segment_id desc limit 1"
        ),
        vec![vec![
            Value::Int(2),
            Value::from("segment 2"),
            Value::Json(json!([2, 3]))
        ]]
    );
}

#[test]
fn reads_json_files() {
    let dir = tempfile::tempdir().unwrap();
    fs::write(
        dir.path().join("events.json"),
        "{\"key\": \"signup\", \"tags\": {\"team\": \"growth\"}}\n{\"key\": \"purchase\", \"tags\": null}\n",
    )
    .unwrap();
    let source = in_memory(dir.path());
    assert_eq!(
        rows(
            &source,
            "select key, tags from read_json_auto('events.json') order by key"
        ),
        vec![
            vec![Value::from("purchase"), Value::Null],
            vec![
                Value::from("signup"),
                Value::Json(json!({"team": "growth"}))
            ],
        ]
    );
}

#[test]
fn a_missing_data_file_is_a_model_error_naming_it() {
    let dir = tempfile::tempdir().unwrap();
    let source = in_memory(dir.path());
    let error = run_error(&source, "select * from read_csv_auto('absent.csv')");
    assert!(error.to_string().contains("absent.csv"), "{error}");
}
