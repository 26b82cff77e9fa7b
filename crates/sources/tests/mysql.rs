//! The MySQL source against a real, throwaway MariaDB server: how each type arrives,
//! streaming a large model in bounded batches, and every problem a user can cause, each
//! with a message that says what to fix.

#![cfg(feature = "mysql")]
#![allow(clippy::unwrap_used)]

use std::time::Duration;

use optisync_core::Value;
use optisync_sources::{BATCH_ROWS, ColumnKind, MysqlConfig, Source, SourceError, SslMode};
use optisync_testmysql::TestMysql;
use serde_json::json;

fn source(url: String, sslmode: SslMode, statement_timeout: Option<Duration>) -> Source {
    Source::mysql(&MysqlConfig {
        url,
        sslmode,
        statement_timeout,
    })
    .unwrap()
}

fn server() -> TestMysql {
    let db = TestMysql::start().unwrap();
    db.create_database("wh").unwrap();
    db
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
async fn mysql_types_become_values_and_large_models_stream() {
    let db = server();
    db.sql(
        "wh",
        "create table t (id int primary key, c char(3), v varchar(10), tx text, e enum('a','b'), \
         st set('x','y'), flag boolean, ti tinyint, si smallint unsigned, bi bigint, \
         ub bigint unsigned, f float, d double, n decimal(10,2), wide decimal(30,3), \
         y year, dt date, tm time(6), dtm datetime(3), ts timestamp(0) null, \
         j longtext, nothing varchar(3)); \
         insert into t values (1, 'abc', 'vé', 'long text', 'b', 'x,y', true, -5, 65535, \
         9000000000, 18446744073709551615, 1.1, 2.25, 12.50, 123456789012345678901234567.125, \
         2024, '2024-01-02', '-838:59:59.5', '2024-01-02 03:04:05.5', '2024-01-02 03:04:05', \
         '{\"a\": 1}', null)",
    )
    .unwrap();
    let wh = source(db.url("wh"), SslMode::Disable, None);
    wh.check().await.unwrap();
    assert_eq!(wh.kind(), "mysql");

    let model = "select * from t";
    let columns = wh.describe(model).await.unwrap();
    let kinds: Vec<(&str, ColumnKind)> =
        columns.iter().map(|c| (c.name.as_str(), c.kind)).collect();
    assert_eq!(kinds[1], ("c", ColumnKind::Text));
    assert_eq!(kinds[6], ("flag", ColumnKind::Bool));
    assert_eq!(kinds[9], ("bi", ColumnKind::Int));
    assert_eq!(columns[10].type_name, "bigint unsigned");
    assert_eq!(kinds[13], ("n", ColumnKind::Float));

    let got = rows(&wh, model).await.unwrap();
    assert_eq!(got.len(), 1);
    assert_eq!(
        got[0],
        vec![
            Value::Int(1),
            Value::from("abc"),
            Value::from("vé"),
            Value::from("long text"),
            Value::from("b"),
            Value::from("x,y"),
            Value::Bool(true),
            Value::Int(-5),
            Value::Int(65535),
            Value::Int(9_000_000_000),
            Value::from("18446744073709551615"),
            Value::Float(1.1),
            Value::Float(2.25),
            Value::Float(12.5),
            Value::from("123456789012345678901234567.125"),
            Value::Int(2024),
            Value::from("2024-01-02"),
            Value::from("-838:59:59.5"),
            Value::from("2024-01-02T03:04:05.5"),
            Value::from("2024-01-02T03:04:05Z"),
            Value::from("{\"a\": 1}"),
            Value::Null,
        ]
    );
    // MariaDB's JSON is text; JSON functions' results too. A model can still hand optisync
    // JSON where a mapping wants it: the value is then text holding JSON.
    assert_eq!(
        rows(&wh, "select json_object('k', 1) as j").await.unwrap()[0][0],
        Value::from("{\"k\": 1}")
    );
    let _ = json!(null);

    // 100,000 rows arrive in bounded batches, in order.
    db.sql(
        "wh",
        "create table ids (id varchar(20)); \
         insert into ids select concat('user-', seq) from seq_1_to_100000",
    )
    .unwrap();
    let mut stream = wh
        .stream("select id from ids order by length(id), id;")
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
        .stream("select seq from seq_1_to_10000000")
        .await
        .unwrap();
    stream.next_batch().await.unwrap().unwrap();
    drop(stream);
    assert_eq!(
        rows(&wh, "select 1 as one").await.unwrap(),
        vec![vec![Value::Int(1)]]
    );
    // ... and the server stops the abandoned query (KILL QUERY from a second session): wait
    // for that to be seen, with a cap only for a hung server.
    let running = "select count(*) from information_schema.processlist \
                   where info = 'select seq from seq_1_to_10000000'";
    let deadline = std::time::Instant::now() + Duration::from_secs(60);
    while db.sql("", running).unwrap() != "0" {
        assert!(
            std::time::Instant::now() < deadline,
            "the abandoned query still runs"
        );
        tokio::task::yield_now().await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn mysql_problems_say_what_to_fix() {
    let db = server();
    db.sql("wh", "create table t (a int); insert into t values (1)")
        .unwrap();
    let wh = source(db.url("wh"), SslMode::Disable, None);

    // Connection refused: nothing listens on port 9.
    let closed = source(
        format!(
            "mysql://root:{}@127.0.0.1:9/wh",
            optisync_testmysql::PASSWORD
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
    assert!(!error.contains(optisync_testmysql::PASSWORD), "{error}");

    // Wrong password.
    let url = db
        .url("wh")
        .replace(optisync_testmysql::PASSWORD, "wrong-password");
    let error = source(url, SslMode::Disable, None)
        .check()
        .await
        .unwrap_err();
    let text = error.to_string();
    assert!(
        matches!(error, SourceError::Unavailable { .. }),
        "{error:?}"
    );
    assert!(text.contains("Access denied"), "{text}");
    assert!(text.contains("check the user and password"), "{text}");
    assert!(!text.contains("wrong-password"), "{text}");

    // Unknown database.
    let error = source(db.url("nope"), SslMode::Disable, None)
        .check()
        .await
        .unwrap_err()
        .to_string();
    assert!(error.contains("Unknown database"), "{error}");
    assert!(error.contains("check the database name"), "{error}");

    // TLS required but not offered by this server; prefer falls back to plain TCP.
    let error = source(db.url("wh"), SslMode::Require, None)
        .check()
        .await
        .unwrap_err()
        .to_string();
    assert!(error.contains("sslmode"), "{error}");
    source(db.url("wh"), SslMode::Prefer, None)
        .check()
        .await
        .unwrap();

    // A syntax error: the server's message and where it is.
    let error = wh.describe("select a,\n  b frm t").await.unwrap_err();
    let text = error.to_string();
    assert!(matches!(error, SourceError::Model { .. }), "{error:?}");
    assert!(text.contains("SQL syntax"), "{text}");
    assert!(text.contains("line 2"), "{text}");
    let error = wh
        .stream("select nothing from t")
        .await
        .unwrap_err()
        .to_string();
    assert!(error.contains("Unknown column 'nothing'"), "{error}");

    // Statements that could change the warehouse never run: two statements in one model,
    // a statement that is not a query (DDL would commit out of the read-only transaction),
    // a query without result columns.
    for model in [
        "select a from t; drop table t",
        "drop table t",
        "insert into t values (2)",
        "create table u (b int)",
        "select a into @x from t",
        "/*!50000 drop table t */",
    ] {
        let error = rows(&wh, model).await.unwrap_err().to_string();
        assert!(
            error.contains("SQL syntax") || error.contains("a model must be a query"),
            "{model}: {error}"
        );
    }
    // A query that writes anyway (a sequence's next value) is refused by the read-only
    // transaction.
    db.sql("wh", "create sequence s").unwrap();
    let error = rows(&wh, "select nextval(s) as n")
        .await
        .unwrap_err()
        .to_string();
    assert!(
        error.contains("READ ONLY transaction") && error.contains("a model must only read"),
        "{error}"
    );
    assert_eq!(db.sql("wh", "select count(*) from t").unwrap(), "1");
    // Nothing was dropped or created: the table and the sequence.
    assert_eq!(
        db.sql(
            "wh",
            "select group_concat(table_name order by table_name) from information_schema.tables where table_schema = 'wh'"
        )
        .unwrap(),
        "s,t"
    );

    // A statement timeout.
    let slow = source(
        db.url("wh"),
        SslMode::Disable,
        Some(Duration::from_millis(300)),
    );
    let error = rows(&slow, "select sleep(5) as x, a from t")
        .await
        .map(|rows| format!("{rows:?}"))
        .unwrap_or_else(|e| e.to_string());
    assert!(
        error.contains("max_statement_time") || error.contains("raise statement_timeout"),
        "{error}"
    );

    // A column optisync cannot carry is named, with the fix.
    let error = wh
        .stream("select cast('abc' as binary) as blob_col")
        .await
        .unwrap_err();
    let text = error.to_string();
    assert!(
        matches!(error, SourceError::UnsupportedColumn { .. }),
        "{error:?}"
    );
    assert!(
        text.contains("`blob_col`") && text.contains("HEX(column)"),
        "{text}"
    );
}
