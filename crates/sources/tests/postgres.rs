//! The Postgres source against a real, throwaway PostgreSQL server: how each type arrives,
//! streaming a large model in bounded batches, and every problem a user can cause, each
//! with a message that says what to fix. Each test runs twice: reading rows PostgreSQL's
//! way (`COPY … TO STDOUT`) and Redshift's way (a cursor read by `FETCH`, which PostgreSQL
//! speaks too), so both give the same values and the same messages.

#![cfg(feature = "postgres")]
#![allow(clippy::unwrap_used)]

use std::time::Duration;

use optisync_core::Value;
use optisync_sources::{
    BATCH_ROWS, ColumnKind, PostgresConfig, Server, Source, SourceError, SslMode,
};
use optisync_testpg::TestPostgres;
use serde_json::json;

/// Redshift's way with a fetch size that splits the large models below into many `FETCH`es,
/// some ending inside a batch and some not.
const REDSHIFT: Server = Server::Redshift { fetch_rows: 700 };

fn source(
    server: Server,
    url: String,
    sslmode: SslMode,
    statement_timeout: Option<Duration>,
) -> Source {
    Source::postgres(&PostgresConfig {
        url,
        sslmode,
        statement_timeout,
        application_name: "optisync-test".to_owned(),
        server,
    })
    .unwrap()
}

fn server() -> TestPostgres {
    let pg = TestPostgres::start().unwrap();
    pg.create_database("wh").unwrap();
    pg
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
async fn postgres_types_become_values_and_large_models_stream() {
    types_become_values_and_large_models_stream(Server::Postgres, "postgres").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn through_a_cursor_the_same_values_arrive_in_the_same_batches() {
    types_become_values_and_large_models_stream(REDSHIFT, "redshift").await;
}

async fn types_become_values_and_large_models_stream(server: Server, kind: &str) {
    let pg = self::server();
    // Every statement goes to the server log, to show below how the rows were read.
    pg.psql("postgres", "alter database wh set log_statement = 'all'")
        .unwrap();
    let wh = source(server, pg.url("wh"), SslMode::Disable, None);
    wh.check().await.unwrap();
    assert_eq!(wh.kind(), kind);

    let model = "select 'x'::text as t, 'y'::varchar(5) as v, 7::int2 as i2, 8::int4 as i4, \
        9000000000::int8 as i8, 1.5::float4 as f4, 2.25::float8 as f8, 12.50::numeric(10,2) as n, \
        123456789012345678.125::numeric as wide, true as b, '{\"a\": 1}'::json as j, \
        '{\"b\": [2]}'::jsonb as jb, array[1, 2] as ints, array['a b', null] as texts, \
        'a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11'::uuid as u, '2024-01-02'::date as d, \
        '2024-01-02 03:04:05.5'::timestamp as ts, '2024-01-02 03:04:05+02'::timestamptz as tz, \
        interval '1 year 2 days 3 hours' as iv, E'tab\\there\\nline \\\\ end' as escaped, \
        null::text as nothing";
    let columns = wh.describe(model).await.unwrap();
    let kinds: Vec<(&str, ColumnKind)> =
        columns.iter().map(|c| (c.name.as_str(), c.kind)).collect();
    assert_eq!(kinds[0], ("t", ColumnKind::Text));
    assert_eq!(kinds[4], ("i8", ColumnKind::Int));
    assert_eq!(kinds[9], ("b", ColumnKind::Bool));
    assert_eq!(kinds[12], ("ints", ColumnKind::Json));
    assert_eq!(columns[12].type_name, "int4[]");

    let got = rows(&wh, model).await.unwrap();
    assert_eq!(got.len(), 1);
    assert_eq!(
        got[0],
        vec![
            Value::from("x"),
            Value::from("y"),
            Value::Int(7),
            Value::Int(8),
            Value::Int(9_000_000_000),
            Value::Float(1.5),
            Value::Float(2.25),
            Value::Float(12.5),
            Value::from("123456789012345678.125"),
            Value::Bool(true),
            Value::Json(json!({"a": 1})),
            Value::Json(json!({"b": [2]})),
            Value::Json(json!([1, 2])),
            Value::Json(json!(["a b", null])),
            Value::from("a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11"),
            Value::from("2024-01-02"),
            Value::from("2024-01-02T03:04:05.5"),
            Value::from("2024-01-02T01:04:05Z"),
            Value::from("P1Y2DT3H"),
            Value::from("tab\there\nline \\ end"),
            Value::Null,
        ]
    );

    // 100,000 rows arrive in bounded batches, in order.
    let mut stream = wh
        .stream("select 'user-' || g as id from generate_series(1, 100000) g;")
        .await
        .unwrap();
    let (mut count, mut batches) = (0usize, 0usize);
    while let Some(batch) = stream.next_batch().await {
        let batch = batch.unwrap();
        assert!(
            !batch.is_empty() && batch.len() <= BATCH_ROWS,
            "{}",
            batch.len()
        );
        if count == 0 {
            assert_eq!(batch.column(0).unwrap()[0], Value::from("user-1"));
        }
        count += batch.len();
        batches += 1;
    }
    assert_eq!(count, 100_000);
    assert!(batches >= 100_000 / BATCH_ROWS, "{batches}");

    // Dropping a stream half way leaves the source usable.
    let mut stream = wh
        .stream("select g from generate_series(1, 10000000) g")
        .await
        .unwrap();
    stream.next_batch().await.unwrap().unwrap();
    drop(stream);
    assert_eq!(
        rows(&wh, "select 1 as one").await.unwrap(),
        vec![vec![Value::Int(1)]]
    );

    // PostgreSQL's way is COPY; Redshift's never is (Redshift refuses `COPY … TO STDOUT`).
    let log = std::fs::read_to_string(pg.data_dir().join("log")).unwrap();
    let copies = log.contains("COPY (select");
    let fetches = log.contains("FETCH FORWARD 700 FROM optisync_rows");
    assert_eq!(
        (copies, fetches),
        (server == Server::Postgres, server != Server::Postgres)
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn postgres_problems_say_what_to_fix() {
    problems_say_what_to_fix(Server::Postgres).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn through_a_cursor_problems_say_what_to_fix() {
    problems_say_what_to_fix(REDSHIFT).await;
}

async fn problems_say_what_to_fix(server: Server) {
    let pg = self::server();
    pg.psql("wh", "create table t (a int); insert into t values (1)")
        .unwrap();
    let source = |url: String, sslmode: SslMode, timeout: Option<Duration>| {
        self::source(server, url, sslmode, timeout)
    };
    let wh = source(pg.url("wh"), SslMode::Disable, None);

    // Connection refused: nothing listens on port 9.
    let closed = source(
        format!(
            "postgres://postgres:{}@127.0.0.1:9/wh",
            optisync_testpg::PASSWORD
        ),
        SslMode::Disable,
        None,
    );
    let error = closed.check().await.unwrap_err().to_string();
    assert!(
        error.to_lowercase().contains("connection refused"),
        "{error}"
    );
    assert!(error.contains("check the host and port"), "{error}");
    assert!(!error.contains(optisync_testpg::PASSWORD), "{error}");

    // Wrong password.
    let url = pg
        .url("wh")
        .replace(optisync_testpg::PASSWORD, "wrong-password");
    let error = source(url, SslMode::Disable, None)
        .check()
        .await
        .unwrap_err();
    let text = error.to_string();
    assert!(
        matches!(error, SourceError::Unavailable { .. }),
        "{error:?}"
    );
    assert!(text.contains("password authentication failed"), "{text}");
    assert!(text.contains("check the user and password"), "{text}");
    assert!(!text.contains("wrong-password"), "{text}");

    // Unknown database.
    let error = source(pg.url("nope"), SslMode::Disable, None)
        .check()
        .await
        .unwrap_err()
        .to_string();
    assert!(error.contains("\"nope\" does not exist"), "{error}");
    assert!(error.contains("check the database name"), "{error}");

    // TLS required but not offered by this server; prefer falls back to plain TCP.
    let error = source(pg.url("wh"), SslMode::Require, None)
        .check()
        .await
        .unwrap_err()
        .to_string();
    assert!(error.contains("sslmode"), "{error}");
    source(pg.url("wh"), SslMode::Prefer, None)
        .check()
        .await
        .unwrap();

    // A syntax error: Postgres's message and where it is.
    let error = wh.describe("select a,\n  b frm t").await.unwrap_err();
    let text = error.to_string();
    assert!(matches!(error, SourceError::Model { .. }), "{error:?}");
    assert!(text.contains("syntax error at or near \"t\""), "{text}");
    assert!(text.contains("line 2, column"), "{text}");
    let error = wh
        .stream("select nothing from t")
        .await
        .unwrap_err()
        .to_string();
    assert!(
        error.contains("column \"nothing\" does not exist"),
        "{error}"
    );

    // A model that writes is refused, and nothing changed: by the read-only transaction, or,
    // through a cursor, which only a query can feed, before it runs.
    let error = rows(&wh, "insert into t values (2) returning a")
        .await
        .unwrap_err();
    let text = error.to_string();
    if server == Server::Postgres {
        assert!(text.contains("read-only transaction"), "{text}");
        assert!(text.contains("a model must only read"), "{text}");
    } else {
        assert!(text.contains("line 1, column 1"), "{text}");
        assert!(text.contains("a model must be a query"), "{text}");
    }
    assert_eq!(pg.psql("wh", "select count(*) from t").unwrap(), "1");
    // A model's error found while its rows are produced (here on the 1,500th row, in the
    // second FETCH of a cursor) ends the stream with the server's message.
    let error = rows(
        &wh,
        "select 1 / (1500 - g) as x from generate_series(1, 3000) g",
    )
    .await
    .unwrap_err()
    .to_string();
    assert!(error.contains("division by zero"), "{error}");

    // A statement timeout.
    let slow = source(
        pg.url("wh"),
        SslMode::Disable,
        Some(Duration::from_millis(300)),
    );
    let error = rows(&slow, "select pg_sleep(5)::text as x")
        .await
        .unwrap_err();
    let text = error.to_string();
    assert!(text.contains("statement timeout"), "{text}");
    assert!(text.contains("raise statement_timeout"), "{text}");

    // A column optisync cannot carry is named, with the fix.
    let error = wh.stream("select 'abc'::bytea as blob").await.unwrap_err();
    let text = error.to_string();
    assert!(
        matches!(error, SourceError::UnsupportedColumn { .. }),
        "{error:?}"
    );
    assert!(
        text.contains("`blob`") && text.contains("encode(column, 'hex')"),
        "{text}"
    );
}
