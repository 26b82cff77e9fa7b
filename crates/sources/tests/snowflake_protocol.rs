//! The Snowflake source against recorded answers of Snowflake's REST protocol, served by
//! the test, for what the emulator never sends: a query still running (polled at its result
//! URL), JSON row sets, result chunks (gzipped or not, fetched with the headers the answer
//! gives), a refused login, and the abort of a query whose stream is dropped.

#![cfg(feature = "snowflake")]
#![allow(clippy::unwrap_used)]

use std::io::Write;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use axum::Router;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::response::IntoResponse;
use axum::routing::{get, post};
use optisync_core::Value;
use optisync_sources::{BATCH_ROWS, SnowflakeAuth, SnowflakeConfig, Source};
use serde_json::{Value as Json, json};

#[derive(Default)]
struct Seen {
    polls: usize,
    aborts: usize,
    logouts: usize,
    chunk_without_header: bool,
}

#[derive(Clone)]
struct Server {
    base: String,
    seen: Arc<Mutex<Seen>>,
    /// Rows of the first answer: many makes the source send a batch before the chunks.
    first_rows: usize,
}

async fn login(body: String) -> axum::Json<Json> {
    let body: Json = serde_json::from_str(&body).unwrap();
    if body["data"]["PASSWORD"] == "wrong" {
        return axum::Json(json!({"success": false, "code": "390100", "data": null,
            "message": "Incorrect username or password was specified."}));
    }
    axum::Json(json!({"success": true, "data": {"token": "session-token"}}))
}

async fn query(
    State(_server): State<Server>,
    headers: HeaderMap,
    body: String,
) -> axum::Json<Json> {
    assert_eq!(
        headers["authorization"].to_str().unwrap(),
        "Snowflake Token=\"session-token\""
    );
    let body: Json = serde_json::from_str(&body).unwrap();
    let rowtype = json!([
        {"name": "ID", "type": "text", "scale": null},
        {"name": "N", "type": "fixed", "scale": 0},
    ]);
    if body["describeOnly"] == true {
        return axum::Json(
            json!({"success": true, "data": {"rowtype": rowtype, "rowset": [],
            "queryResultFormat": "json", "statementTypeId": 4096}}),
        );
    }
    // Still running: the source polls the result URL.
    axum::Json(
        json!({"success": true, "code": "333334", "message": "Asynchronous execution in progress.",
        "data": {"getResultUrl": "/queries/q1/result", "queryId": "q1"}}),
    )
}

async fn result(State(server): State<Server>) -> axum::Json<Json> {
    let mut seen = server.seen.lock().unwrap();
    seen.polls += 1;
    if seen.polls < 2 {
        return axum::Json(
            json!({"success": true, "code": "333333", "message": "still running",
            "data": {"getResultUrl": "/queries/q1/result"}}),
        );
    }
    let mut rowset = vec![json!(["a", "1"]), json!(["b", null])];
    for i in 0..server.first_rows {
        rowset.push(json!([format!("r{i}"), i.to_string()]));
    }
    axum::Json(json!({"success": true, "data": {
        "rowtype": [{"name": "ID", "type": "text"}, {"name": "N", "type": "fixed", "scale": 0}],
        "queryResultFormat": "json", "rowset": rowset, "statementTypeId": 4096,
        "chunks": [{"url": format!("{}/chunk/1", server.base), "rowCount": 2},
                   {"url": format!("{}/chunk/2", server.base), "rowCount": 1}],
        "chunkHeaders": {"x-test-key": "chunk-key"},
    }}))
}

async fn chunk_1(State(server): State<Server>, headers: HeaderMap) -> impl IntoResponse {
    if headers.get("x-test-key").map(|v| v.to_str().unwrap()) != Some("chunk-key") {
        server.seen.lock().unwrap().chunk_without_header = true;
        return (StatusCode::FORBIDDEN, Vec::new());
    }
    let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
    gz.write_all(br#"["c", "3"], ["d", "4"]"#).unwrap();
    (StatusCode::OK, gz.finish().unwrap())
}

async fn chunk_2(State(server): State<Server>) -> Vec<u8> {
    if server.first_rows > 0 {
        // Held: the test drops the stream meanwhile.
        std::future::pending::<()>().await;
    }
    br#"["e", "5"]"#.to_vec()
}

async fn abort(State(server): State<Server>) -> axum::Json<Json> {
    server.seen.lock().unwrap().aborts += 1;
    axum::Json(json!({"success": true}))
}

async fn logout(State(server): State<Server>) -> axum::Json<Json> {
    server.seen.lock().unwrap().logouts += 1;
    axum::Json(json!({"success": true}))
}

async fn serve(first_rows: usize) -> (Server, Source) {
    let listener = tokio::net::TcpListener::bind(("127.0.0.1", 0))
        .await
        .unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    let server = Server {
        base: base.clone(),
        seen: Arc::default(),
        first_rows,
    };
    let app = Router::new()
        .route("/session/v1/login-request", post(login))
        .route("/queries/v1/query-request", post(query))
        .route("/queries/q1/result", get(result))
        .route("/chunk/1", get(chunk_1))
        .route("/chunk/2", get(chunk_2))
        .route("/queries/v1/abort-request", post(abort))
        .route("/session", post(logout))
        .with_state(server.clone());
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    let source = source(&base, "right");
    (server, source)
}

fn source(base: &str, password: &str) -> Source {
    Source::snowflake(&SnowflakeConfig {
        account: "test".into(),
        user: "loader".into(),
        auth: SnowflakeAuth::Password(password.into()),
        warehouse: None,
        role: None,
        database: None,
        schema: None,
        url: Some(base.to_owned()),
        statement_timeout: None,
    })
    .unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_polled_json_result_and_its_chunks_arrive_in_order() {
    let (server, wh) = serve(0).await;
    let mut stream = wh.stream("select id, n from t").await.unwrap();
    let mut rows = Vec::new();
    while let Some(batch) = stream.next_batch().await {
        rows.extend(
            batch
                .unwrap()
                .into_iter()
                .map(optisync_core::Record::into_values),
        );
    }
    let expected: Vec<Vec<Value>> = vec![
        vec!["a".into(), Value::Int(1)],
        vec!["b".into(), Value::Null],
        vec!["c".into(), Value::Int(3)],
        vec!["d".into(), Value::Int(4)],
        vec!["e".into(), Value::Int(5)],
    ];
    assert_eq!(rows, expected);
    // The source ends its session once the rows are read (an event: wait for it).
    let deadline = Instant::now() + Duration::from_secs(30);
    while server.seen.lock().unwrap().logouts == 0 {
        assert!(Instant::now() < deadline, "no logout");
        tokio::task::yield_now().await;
    }
    let seen = server.seen.lock().unwrap();
    assert_eq!(seen.polls, 2);
    assert!(!seen.chunk_without_header);
    assert_eq!(seen.aborts, 0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_dropped_stream_aborts_its_query() {
    let (server, wh) = serve(BATCH_ROWS + 10).await;
    let mut stream = wh.stream("select id, n from t").await.unwrap();
    let first = stream.next_batch().await.unwrap().unwrap();
    assert_eq!(first.len(), BATCH_ROWS);
    drop(stream);
    let deadline = Instant::now() + Duration::from_secs(30);
    while server.seen.lock().unwrap().aborts == 0 {
        assert!(Instant::now() < deadline, "the query was not aborted");
        tokio::task::yield_now().await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_refused_login_says_what_to_fix_without_the_password() {
    let (server, _) = serve(0).await;
    let error = source(&server.base, "wrong")
        .check()
        .await
        .unwrap_err()
        .to_string();
    assert!(error.contains("Incorrect username or password"), "{error}");
    assert!(error.contains("check the user and the password"), "{error}");
    assert!(!error.contains("wrong"), "{error}");
}
