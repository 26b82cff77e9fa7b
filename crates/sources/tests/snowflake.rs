//! The Snowflake source against a local Snowflake emulator (fakesnow's server mode, over
//! Snowflake's REST protocol): how each type arrives through its Arrow row sets, a large
//! model in bounded batches, describing without running, and a statement that is not a
//! query refused before it runs. JSON row sets, chunks and refusals the emulator cannot
//! send are covered by the source's unit tests.

#![cfg(feature = "snowflake")]
#![allow(clippy::unwrap_used)]

use optisync_core::Value;
use optisync_sources::{
    BATCH_ROWS, ColumnKind, SnowflakeAuth, SnowflakeConfig, Source, SourceError,
};
use optisync_testsnow::TestSnowflake;

fn source(emulator: &TestSnowflake) -> Source {
    Source::snowflake(&SnowflakeConfig {
        account: "test".into(),
        user: "loader".into(),
        auth: SnowflakeAuth::Password("test-password".into()),
        warehouse: Some("compute_wh".into()),
        role: None,
        database: Some("wh".into()),
        schema: Some("public".into()),
        url: Some(emulator.url()),
        statement_timeout: None,
    })
    .unwrap()
}

async fn rows(source: &Source, model: &str) -> Result<Vec<Vec<Value>>, SourceError> {
    let mut stream = source.stream(model).await?;
    let mut rows = Vec::new();
    while let Some(batch) = stream.next_batch().await {
        rows.extend(batch?.into_iter().map(optisync_core::Record::into_values));
    }
    Ok(rows)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn snowflake_types_become_values_and_large_models_stream() {
    let emulator = TestSnowflake::start().unwrap();
    emulator
        .sql(&[
            "create database wh",
            "create schema wh.public",
            "create table wh.public.t (id int, name varchar, amount number(10, 2), ratio float, \
             flag boolean, day date, made_at timestamp_ntz, seen_at timestamp_tz, attrs variant, nothing varchar)",
            "insert into wh.public.t select 1, 'Ada', 12.50, 0.25, true, '2024-01-02', \
             '2024-01-02 03:04:05.5', '2024-01-02 03:04:05+00:00', parse_json('{\"a\": [1]}'), null",
            "create table wh.public.ids as select 'user-' || seq4() as id from table(generator(rowcount => 20000))",
        ])
        .unwrap();
    let wh = source(&emulator);
    wh.check().await.unwrap();
    assert_eq!(wh.kind(), "snowflake");

    let model = "select * from t";
    let columns = wh.describe(model).await.unwrap();
    let kinds: Vec<(&str, ColumnKind)> =
        columns.iter().map(|c| (c.name.as_str(), c.kind)).collect();
    assert_eq!(kinds[0], ("id", ColumnKind::Int));
    assert_eq!(kinds[1], ("name", ColumnKind::Text));
    assert_eq!(kinds[4], ("flag", ColumnKind::Bool));
    assert_eq!(kinds[8], ("attrs", ColumnKind::Json));

    let got = rows(&wh, model).await.unwrap();
    assert_eq!(
        got,
        vec![vec![
            Value::Int(1),
            Value::from("Ada"),
            Value::Float(12.5),
            Value::Float(0.25),
            Value::Bool(true),
            Value::from("2024-01-02"),
            Value::from("2024-01-02T03:04:05.5"),
            Value::from("2024-01-02T03:04:05Z"),
            Value::Json(serde_json::json!({"a": [1]})),
            Value::Null,
        ]]
    );

    // 20,000 rows arrive in batches of at most BATCH_ROWS, every id once.
    let mut stream = wh.stream("select id from ids").await.unwrap();
    let mut ids = Vec::new();
    while let Some(batch) = stream.next_batch().await {
        let batch = batch.unwrap();
        assert!(
            !batch.is_empty() && batch.len() <= BATCH_ROWS,
            "{}",
            batch.len()
        );
        ids.extend(batch.into_column(0).unwrap());
    }
    assert_eq!(ids.len(), 20_000);
    ids.sort_by_key(|v| format!("{v:?}"));
    ids.dedup();
    assert_eq!(ids.len(), 20_000);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn snowflake_problems_say_what_to_fix() {
    let emulator = TestSnowflake::start().unwrap();
    emulator
        .sql(&[
            "create database wh",
            "create schema wh.public",
            "create table wh.public.t (a int)",
            "insert into wh.public.t values (1)",
        ])
        .unwrap();
    let wh = source(&emulator);

    // A statement that is not a query never runs.
    for model in [
        "insert into t values (2)",
        "drop table t",
        "create table u (b int)",
    ] {
        let error = rows(&wh, model).await.unwrap_err().to_string();
        assert!(
            error.contains("a model must be a query"),
            "{model}: {error}"
        );
    }
    assert_eq!(
        emulator.sql(&["select count(*) from wh.public.t"]).unwrap(),
        "1"
    );

    // An unknown table: Snowflake's message.
    let error = wh
        .describe("select x from missing")
        .await
        .unwrap_err()
        .to_string();
    assert!(error.to_lowercase().contains("missing"), "{error}");

    // A column optisync cannot carry is named, with the fix.
    let error = wh
        .stream("select to_binary('abc', 'utf-8') as blob_col")
        .await
        .unwrap_err();
    assert!(
        matches!(error, SourceError::UnsupportedColumn { .. }),
        "{error:?}"
    );
    assert!(error.to_string().contains("HEX_ENCODE"), "{error}");

    // Nothing listens: the account's URL is named as the thing to check.
    drop(emulator);
    let error = wh.check().await.unwrap_err().to_string();
    assert!(error.contains("check `account`"), "{error}");
}
