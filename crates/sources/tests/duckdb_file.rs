//! A `.duckdb` warehouse file: opened read-only, described without running models, and the
//! messages for a missing file, a wrong model and an attempted write.

#![cfg(feature = "duckdb")]
// Helpers outside `#[test]` functions unwrap too: a failure there is a test failure.
#![allow(clippy::unwrap_used)]

mod warehouse;

use std::path::Path;

use optisync_core::Value;
use optisync_sources::{ColumnKind, DuckDbConfig, DuckDbSource, SourceError};
use warehouse::{rows, run_error};

/// A warehouse file in `dir` with a `users` table of three rows.
fn create_warehouse(dir: &Path) {
    let connection = duckdb::Connection::open(dir.join("warehouse.duckdb")).unwrap();
    connection
        .execute_batch(
            "create schema analytics;
             create table analytics.users (id bigint, email varchar, beta boolean);
             insert into analytics.users values (1, 'a@x.io', true), (2, 'b@x.io', false), (3, null, true);",
        )
        .unwrap();
}

fn open(dir: &Path) -> DuckDbSource {
    DuckDbSource::open(&DuckDbConfig {
        path: Some("warehouse.duckdb".into()),
        base_dir: dir.to_path_buf(),
    })
    .unwrap()
}

#[test]
fn reads_a_warehouse_file_relative_to_the_base_dir() {
    let dir = tempfile::tempdir().unwrap();
    create_warehouse(dir.path());
    let source = open(dir.path());
    source.check().unwrap();
    let rows = rows(
        &source,
        "select id, email, beta from analytics.users where beta order by id;",
    );
    assert_eq!(
        rows,
        vec![
            vec![Value::Int(1), Value::from("a@x.io"), Value::Bool(true)],
            vec![Value::Int(3), Value::Null, Value::Bool(true)],
        ]
    );
}

#[test]
fn no_asynchronous_io_threads_are_started_for_a_model_that_only_reads() {
    let dir = tempfile::tempdir().unwrap();
    create_warehouse(dir.path());
    let model = "select cast(current_setting('async_threads') as bigint) as threads, count(*) as n \
                 from analytics.users";
    assert_eq!(
        rows(&open(dir.path()), model),
        vec![vec![Value::Int(0), Value::Int(3)]]
    );
    let in_memory = DuckDbSource::open(&DuckDbConfig {
        path: None,
        base_dir: dir.path().to_path_buf(),
    })
    .unwrap();
    assert_eq!(
        rows(
            &in_memory,
            "select cast(current_setting('async_threads') as bigint) as threads"
        ),
        vec![vec![Value::Int(0)]]
    );
}

#[test]
fn the_spill_folder_is_set_where_duckdb_would_put_it() {
    let dir = tempfile::tempdir().unwrap();
    create_warehouse(dir.path());
    // DuckDB's own default, for a database opened without the setting.
    let default = |connection: duckdb::Connection| -> String {
        connection
            .query_row("select current_setting('temp_directory')", [], |row| {
                row.get(0)
            })
            .unwrap()
    };
    let setting = "select current_setting('temp_directory') as folder";
    let file = dir.path().join("warehouse.duckdb");
    let expected = default(
        duckdb::Connection::open_with_flags(
            &file,
            duckdb::Config::default()
                .access_mode(duckdb::AccessMode::ReadOnly)
                .unwrap(),
        )
        .unwrap(),
    );
    assert_eq!(expected, format!("{}.tmp", file.display()));
    assert_eq!(
        rows(&open(dir.path()), setting),
        vec![vec![Value::from(expected.as_str())]]
    );
    let in_memory = DuckDbSource::open(&DuckDbConfig {
        path: None,
        base_dir: dir.path().to_path_buf(),
    })
    .unwrap();
    assert_eq!(
        rows(&in_memory, setting),
        vec![vec![Value::from(
            default(duckdb::Connection::open_in_memory().unwrap()).as_str()
        )]]
    );
}

#[test]
fn writes_are_refused_because_the_file_is_read_only() {
    let dir = tempfile::tempdir().unwrap();
    create_warehouse(dir.path());
    let source = open(dir.path());
    for model in [
        "insert into analytics.users values (4, 'd@x.io', true)",
        "create table analytics.hacked (a int)",
        "delete from analytics.users",
    ] {
        let error = run_error(&source, model);
        let message = error.to_string();
        assert!(
            matches!(error, SourceError::Model { .. }) && message.contains("read-only"),
            "{model}: {message}"
        );
    }
    let count = rows(&source, "select count(*) from analytics.users");
    assert_eq!(count, vec![vec![Value::Int(3)]]);
}

#[test]
fn missing_file_names_the_path_and_the_fix() {
    let dir = tempfile::tempdir().unwrap();
    let error = DuckDbSource::open(&DuckDbConfig {
        path: Some("nowhere.duckdb".into()),
        base_dir: dir.path().to_path_buf(),
    })
    .unwrap_err();
    assert!(matches!(error, SourceError::MissingDatabase { .. }));
    let message = error.to_string();
    assert!(
        message.contains(&dir.path().join("nowhere.duckdb").display().to_string()),
        "{message}"
    );
    assert!(message.contains("optisync init --example"), "{message}");
    assert!(
        !dir.path().join("nowhere.duckdb").exists(),
        "must not create the file"
    );
}

#[test]
fn a_file_duckdb_cannot_open_is_unavailable_from_the_first_operation_on() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join("warehouse.duckdb"),
        "not a database, but a text file",
    )
    .unwrap();
    // Opening starts DuckDB's own work in the background and returns.
    let source = open(dir.path());
    let path = dir.path().join("warehouse.duckdb").display().to_string();
    for error in [
        source.check().unwrap_err(),
        source.describe("select 1").unwrap_err(),
        run_error(&source, "select 1"),
    ] {
        let message = error.to_string();
        assert!(
            matches!(error, SourceError::Unavailable { .. }) && message.contains(&path),
            "{message}"
        );
    }
}

#[test]
fn sql_errors_carry_duckdbs_message() {
    let dir = tempfile::tempdir().unwrap();
    create_warehouse(dir.path());
    let source = open(dir.path());

    let error = run_error(&source, "select * from analytics.no_such_table");
    let message = error.to_string();
    assert!(matches!(error, SourceError::Model { .. }));
    assert!(message.starts_with("model failed: "), "{message}");
    assert!(message.contains("no_such_table"), "{message}");
    assert!(message.contains("does not exist"), "{message}");

    let error = source
        .describe("selec id from analytics.users")
        .unwrap_err();
    assert!(error.to_string().contains("syntax error"), "{error}");
}

#[test]
fn describe_reports_columns_without_running_the_model() {
    let dir = tempfile::tempdir().unwrap();
    create_warehouse(dir.path());
    let source = open(dir.path());
    // Running this model fails on its first row; describing it must not run it.
    let model = "select id, email, beta, error('ran the model') as boom from analytics.users";
    let columns = source.describe(model).unwrap();
    let summary: Vec<(&str, &str, ColumnKind)> = columns
        .iter()
        .map(|c| (c.name.as_str(), c.type_name.as_str(), c.kind))
        .collect();
    assert_eq!(
        summary,
        vec![
            ("id", "BIGINT", ColumnKind::Int),
            ("email", "VARCHAR", ColumnKind::Text),
            ("beta", "BOOLEAN", ColumnKind::Bool),
            ("boom", "\"NULL\"", ColumnKind::Null),
        ]
    );
    let error = run_error(&source, model);
    assert!(error.to_string().contains("ran the model"), "{error}");
}

#[test]
fn describe_accepts_the_shapes_models_come_in() {
    let dir = tempfile::tempdir().unwrap();
    create_warehouse(dir.path());
    let source = open(dir.path());
    for model in [
        "with u as (select * from analytics.users) select id from u",
        "from analytics.users select id",
        "-- the beta testers\nselect id from analytics.users;\n",
        "select id from analytics.users -- trailing comment",
    ] {
        let columns = source
            .describe(model)
            .unwrap_or_else(|e| panic!("{model}: {e}"));
        assert_eq!(columns.len(), 1, "{model}");
        assert_eq!(columns[0].name, "id", "{model}");
        assert_eq!(rows(&source, model).len(), 3, "{model}");
    }
}

#[test]
fn a_database_that_wrote_nothing_is_left_to_the_exit_and_one_with_a_temp_folder_is_handed_back() {
    let dir = tempfile::tempdir().unwrap();
    create_warehouse(dir.path());
    let source = open(dir.path());
    assert_eq!(rows(&source, "select id from analytics.users").len(), 3);
    // DuckDB spills into `<database>.tmp`: while that folder does not exist it has nothing to
    // remove, and closing would only free memory.
    assert!(source.clone().leave_to_exit().is_ok());

    let spilled = tempfile::tempdir().unwrap();
    create_warehouse(spilled.path());
    let source = open(spilled.path());
    assert_eq!(rows(&source, "select id from analytics.users").len(), 3);
    std::fs::create_dir(spilled.path().join("warehouse.duckdb.tmp")).unwrap();
    let source = source
        .leave_to_exit()
        .expect_err("a temp folder is DuckDB's to clean up when it closes");
    // Handed back whole: it still reads.
    assert_eq!(rows(&source, "select id from analytics.users").len(), 3);
}

#[test]
fn a_database_that_failed_to_open_is_handed_back_to_be_closed() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("warehouse.duckdb"), "not a database").unwrap();
    let source = open(dir.path());
    assert!(source.check().is_err());
    assert!(source.leave_to_exit().is_err());
}
