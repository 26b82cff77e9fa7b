//! A cell PostgreSQL sends that optisync cannot convert rejects its row only: JSON nested
//! deeper than optisync reads (in `json`, `jsonb` and `json[]` columns) arrives as
//! `Value::Invalid` with why, JSON whose numbers a float would round stays text, and the
//! rows around them arrive intact. Against a real, throwaway PostgreSQL server. (Text that
//! is not UTF-8 is covered by the decoder's unit tests: the server checks what it sends
//! against the session's UTF-8, even from a `SQL_ASCII` database, so it cannot be made to
//! send such text.)

#![cfg(feature = "postgres")]
#![allow(clippy::unwrap_used)]

use optisync_core::Value;
use optisync_sources::{PostgresConfig, Server, Source, SourceError, SslMode};
use optisync_testpg::TestPostgres;
use serde_json::json;

fn source(server: Server, url: String) -> Source {
    Source::postgres(&PostgresConfig {
        url,
        sslmode: SslMode::Disable,
        statement_timeout: None,
        application_name: "optisync-test".to_owned(),
        server,
    })
    .unwrap()
}

async fn read(source: &Source, model: &str) -> Result<Vec<Vec<Value>>, SourceError> {
    let mut stream = source.stream(model).await?;
    let mut rows = Vec::new();
    while let Some(batch) = stream.next_batch().await {
        rows.extend(batch?.into_iter().map(optisync_core::Record::into_values));
    }
    Ok(rows)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn cells_that_cannot_be_converted_reject_their_row_only() {
    cells_that_cannot_be_converted(Server::Postgres).await;
}

/// The same through a cursor, as `type = "redshift"` reads.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn through_a_cursor_cells_that_cannot_be_converted_reject_their_row_only() {
    cells_that_cannot_be_converted(Server::Redshift { fetch_rows: 2 }).await;
}

async fn cells_that_cannot_be_converted(server: Server) {
    let pg = TestPostgres::start().unwrap();
    pg.create_database("wh").unwrap();
    let wh = source(server, pg.url("wh"));

    let model = "select * from (values \
        (1, '[\"and\", {\"type\": \"custom_attribute\"}]'::json, '[1]'::jsonb, array['{}'::json]), \
        (2, (repeat('[', 300) || repeat(']', 300))::json, \
            (repeat('[', 300) || repeat(']', 300))::jsonb, \
            array[(repeat('[', 300) || repeat(']', 300))::json]), \
        (3, '{\"n\": 123456789012345678901234567890}'::json, '{\"n\": 1.5}'::jsonb, array['2'::json]) \
        ) t(id, j, jb, js) order by id";
    let rows = read(&wh, model).await.unwrap();
    assert_eq!(rows.len(), 3, "{rows:?}");
    assert_eq!(
        rows[0][1],
        Value::Json(json!(["and", {"type": "custom_attribute"}]))
    );
    assert_eq!(rows[0][3], Value::Json(json!([{}])));
    for (column, cell) in rows[1].iter().enumerate().skip(1) {
        let reason = cell.invalid_reason().unwrap_or_default();
        assert!(
            reason.contains("300 levels deep"),
            "column {column}: {cell:?}"
        );
    }
    // Digits a float would lose stay text; the other cells of the row are read as usual.
    assert_eq!(
        rows[2][1],
        Value::from("{\"n\": 123456789012345678901234567890}")
    );
    assert_eq!(rows[2][2], Value::Json(json!({"n": 1.5})));
    assert_eq!(rows[2][0], Value::Int(3));
}
