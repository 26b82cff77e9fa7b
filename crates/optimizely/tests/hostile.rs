//! A server (or a proxy in front of it) that misbehaves must not crash, stall or drain the
//! client: absurd waits, endless or oversized bodies, HTML where JSON belongs, pagination
//! cycles, and a token revoked in the middle of a run. The scripted transport covers the
//! client's decisions on a paused clock; a raw TCP server covers what the real transport
//! reads off the socket.

#![allow(clippy::unwrap_used)] // a failing unwrap is a failing test

mod common;

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use common::{Scripted, Step, client, config};
use optisync_optimizely::{
    AttributeUpdate, BodyLimit, Client, ErrorKind, Phase, ProxyPolicy, RateLimit,
};
use serde_json::{Value, json};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpListener;
use tokio::time::Instant;

fn items(range: std::ops::Range<i64>) -> Value {
    Value::Array(
        range
            .map(|i| json!({"id": i, "key": format!("k{i}"), "name": format!("n{i}")}))
            .collect(),
    )
}

#[tokio::test(start_paused = true)]
async fn a_rate_limit_reset_of_1e19_fails_as_throttled_without_waiting() {
    for status in [429, 503] {
        let t = Scripted::steps(vec![
            Step::status(status).header("X-RateLimit-Reset", "1e19"),
        ]);
        let started = Instant::now();
        let err = client(t.clone()).get_attribute(7).await.unwrap_err();
        assert_eq!(err.kind(), ErrorKind::Throttled);
        assert_eq!(t.attempts(), 1);
        assert_eq!(started.elapsed(), Duration::ZERO);
        let text = err.to_string();
        assert!(text.contains("http://127.0.0.1:9 asks to wait"), "{text}");
        assert!(text.contains("X-RateLimit-Reset"), "{text}");
        assert!(text.contains("longer than the 15 min"), "{text}");
        assert!(
            text.contains("the run stops here rather than hang"),
            "{text}"
        );
    }
}

#[tokio::test(start_paused = true)]
async fn absurd_retry_after_values_fail_as_throttled() {
    for value in [
        "99999999999999999999999999999",
        "86400",
        "Fri, 31 Dec 9999 23:59:59 GMT",
    ] {
        let t = Scripted::steps(vec![Step::status(429).header("Retry-After", value)]);
        let err = client(t.clone()).get_attribute(7).await.unwrap_err();
        assert_eq!(err.kind(), ErrorKind::Throttled, "{value}");
        assert!(err.to_string().contains("Retry-After"), "{err}");
        assert_eq!(t.attempts(), 1);
    }
    // Garbage is not a wait at all: the client backs off as without a header.
    let t = Scripted::steps(vec![
        Step::status(429).header("X-RateLimit-Reset", "NaN"),
        Step::json(200, json!({"id": 7, "key": "k"})),
    ]);
    client(t.clone()).get_attribute(7).await.unwrap();
    assert_eq!(t.gaps(), vec![1.0]);
}

#[tokio::test(start_paused = true)]
async fn a_success_body_over_the_endpoint_limit_is_refused_and_not_retried() {
    let huge = format!(
        "{{\"id\": 7, \"key\": \"k\", \"description\": \"{}\"}}",
        "x".repeat(BodyLimit::OBJECT.0 as usize)
    );
    let t = Scripted::steps(vec![Step::Respond {
        status: 200,
        headers: vec![],
        body: huge,
    }]);
    let err = client(t.clone()).get_attribute(7).await.unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Internal);
    assert_eq!(t.attempts(), 1);
    assert!(matches!(err.phase(), Phase::Responded { status: 200, .. }));
    let text = err.to_string();
    assert!(
        text.contains(
            "GET http://127.0.0.1:9/v2/attributes/7: the answer (HTTP 200) is larger than 4.0 MiB"
        ),
        "{text}"
    );
    assert!(text.contains("check that api_url") || text.contains("Check that api_url"));
}

#[tokio::test(start_paused = true)]
async fn a_list_attribute_may_be_as_large_as_five_megabytes_escaped() {
    // 5 MB of members, each `"` escaped: about 10 MB on the wire, over the object limit but
    // within the list attribute's.
    let content = "\"".repeat(5_000_000);
    let t = Scripted::steps(vec![Step::json(
        200,
        json!({"id": 3, "name": "vip", "list_content": content}),
    )]);
    let list = client(t.clone()).get_list_attribute(3).await.unwrap();
    assert_eq!(list.list_content.unwrap().len(), 5_000_000);
}

#[tokio::test(start_paused = true)]
async fn an_error_body_is_read_only_to_its_limit() {
    let t = Scripted::steps(vec![Step::Respond {
        status: 422,
        headers: vec![],
        body: "e".repeat(10 << 20),
    }]);
    let err = client(t).get_attribute(1).await.unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Rejected);
    assert!(err.to_string().len() < 500, "{}", err.to_string().len());
}

#[tokio::test(start_paused = true)]
async fn an_html_page_is_named_with_where_it_came_from() {
    let portal = "<!DOCTYPE html><html><body>Please log in to the Wi-Fi</body></html>";
    // Declared as HTML, or only looking like it; on success and on error statuses.
    let cases = [
        (200, Some("text/html; charset=utf-8")),
        (200, None),
        (511, Some("text/html")),
        (401, Some("text/html")),
        (404, Some("text/html")),
    ];
    for (status, content_type) in cases {
        let mut step = Step::Respond {
            status,
            headers: vec![],
            body: format!("\n  {portal}"),
        };
        if let Some(content_type) = content_type {
            step = step.header("Content-Type", content_type);
        }
        // Every attempt gets the page (a 511 is retried like any 5xx).
        let t = Scripted::new(vec![], step);
        let err = client(t).list_attributes(42).await.unwrap_err();
        let text = err.to_string();
        assert!(
            text.contains(&format!(
                "GET http://127.0.0.1:9/v2/attributes: got an HTML page (HTTP {status}) instead of JSON"
            )),
            "{text}"
        );
        assert!(text.contains("check api_url"), "{text}");
        assert!(text.contains("proxy"), "{text}");
        // Never the query string, never the page itself.
        assert!(!text.contains("project_id"), "{text}");
        assert!(!text.contains("Wi-Fi"), "{text}");
        let expected = match status {
            401 => ErrorKind::Auth,
            511 => ErrorKind::Transient,
            // Not a refusal by Optimizely: never a rejected row.
            _ => ErrorKind::Internal,
        };
        assert_eq!(err.kind(), expected, "{status}");
    }
}

#[tokio::test(start_paused = true)]
async fn a_link_cycle_stops_after_the_first_repeat() {
    let page =
        |n: u32| format!("<http://127.0.0.1:9/v2/attributes?project_id=1&page={n}>; rel=next");
    let t = Scripted::new(
        vec![
            Step::json(200, items(0..100)).header("Link", page(2)),
            Step::json(200, items(100..200)).header("Link", page(3)),
        ],
        // Page 3 and every page after it point back to page 2.
        Step::json(200, items(200..300)).header("Link", page(2)),
    );
    let err = client(t.clone()).list_attributes(1).await.unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Internal);
    assert_eq!(
        t.attempts(),
        3,
        "one request per distinct page, none repeated"
    );
    let text = err.to_string();
    assert!(
        text.contains("points back to a page already read"),
        "{text}"
    );
    assert!(text.contains("page=2"), "{text}");
}

#[tokio::test(start_paused = true)]
async fn a_401_in_the_middle_of_a_run_is_an_auth_error_and_not_retried() {
    let t = Scripted::steps(vec![
        Step::json(
            200,
            json!({"id": 1, "platform": "custom", "status": "active"}),
        ),
        Step::json(200, items(0..3)),
        Step::error(401, "unauthorized", "Token revoked"),
        Step::json(200, json!({"id": 1, "key": "k"})),
    ]);
    let c = client(t.clone());
    c.get_project(1).await.unwrap();
    assert_eq!(c.list_attributes(1).await.unwrap().len(), 3);
    let update = AttributeUpdate {
        description: Some("d".into()),
        ..AttributeUpdate::default()
    };
    let err = c.update_attribute(2, &update).await.unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Auth);
    assert_eq!(err.status(), Some(401));
    assert_eq!(err.attempts(), 1);
    assert!(!err.outcome_unknown());
    assert_eq!(t.attempts(), 3);
}

/// A raw HTTP/1.1 server on loopback that answers every connection with `head` and then
/// whatever `body` writes; returns its address and the bytes of body it got written.
async fn raw_server(
    head: &'static str,
    endless: bool,
) -> (
    std::net::SocketAddr,
    Arc<AtomicU64>,
    tokio::sync::oneshot::Receiver<()>,
) {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let written = Arc::new(AtomicU64::new(0));
    let counter = written.clone();
    let (done_tx, done_rx) = tokio::sync::oneshot::channel();
    tokio::spawn(async move {
        let (mut socket, _) = listener.accept().await.unwrap();
        let mut request = Vec::new();
        let mut buf = [0u8; 4096];
        while !request.windows(4).any(|w| w == b"\r\n\r\n") {
            let n = socket.read(&mut buf).await.unwrap();
            if n == 0 {
                return;
            }
            request.extend_from_slice(&buf[..n]);
        }
        socket.write_all(head.as_bytes()).await.unwrap();
        if endless {
            // Chunks of 64 KiB until the client hangs up.
            let chunk = format!("10000\r\n{}\r\n", "a".repeat(0x10000));
            while socket.write_all(chunk.as_bytes()).await.is_ok() {
                counter.fetch_add(0x10000, Ordering::SeqCst);
            }
        } else {
            // Say nothing more, until the client hangs up.
            let _ = socket.read(&mut buf).await;
        }
        let _ = done_tx.send(());
    });
    (addr, written, done_rx)
}

fn real_client(addr: std::net::SocketAddr, timeout: Duration) -> Client {
    let mut cfg = config();
    cfg.api_url = format!("http://{addr}/v2").parse().unwrap();
    cfg.timeout = timeout;
    cfg.max_attempts = 1;
    cfg.rate_limit = Some(RateLimit::UNLIMITED);
    Client::with_proxy(cfg, &ProxyPolicy::Disabled).unwrap()
}

#[tokio::test]
async fn the_real_transport_stops_reading_an_endless_body_at_the_limit() {
    let (addr, written, done) = raw_server(
        "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nTransfer-Encoding: chunked\r\n\r\n",
        true,
    )
    .await;
    // An hour-long timeout: only the body limit can end this request.
    let c = real_client(addr, Duration::from_secs(3600));
    let err = c.get_attribute(7).await.unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Internal, "{err}");
    assert!(err.to_string().contains("larger than 4.0 MiB"), "{err}");
    drop(c);
    // The server notices the hang-up; what it managed to write is the limit plus what the
    // sockets' buffers held.
    done.await.unwrap();
    let written = written.load(Ordering::SeqCst);
    assert!(written >= BodyLimit::OBJECT.0, "{written}");
    assert!(written < 4 * BodyLimit::OBJECT.0, "{written}");
}

#[tokio::test]
async fn the_real_transport_refuses_a_content_length_over_the_limit_before_reading() {
    let (addr, _, _done) = raw_server(
        "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: 10000000000\r\n\r\n",
        false,
    )
    .await;
    let c = real_client(addr, Duration::from_secs(3600));
    let err = c.get_project(1).await.unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Internal, "{err}");
    assert!(err.to_string().contains("larger than 4.0 MiB"), "{err}");
}

/// A shared quota whose ledger is damaged: it asks for an absurd wait.
#[derive(Debug)]
struct DamagedLedger;

impl optisync_optimizely::SharedQuota for DamagedLedger {
    fn reserve(&self, _limit: RateLimit) -> Result<optisync_optimizely::Reservation, String> {
        Ok(optisync_optimizely::Reservation {
            wait: Duration::MAX,
            slot: None,
        })
    }
}

#[tokio::test(start_paused = true)]
async fn a_damaged_shared_ledger_does_not_hang_the_client() {
    let t = Scripted::steps(vec![Step::json(200, json!({"id": 7, "key": "k"}))]);
    let mut cfg = config();
    cfg.shared_quota = Some(Arc::new(DamagedLedger));
    let started = Instant::now();
    common::client_with(cfg, t.clone())
        .get_attribute(7)
        .await
        .unwrap();
    assert_eq!(started.elapsed(), Duration::ZERO);
    assert_eq!(t.attempts(), 1);
}
