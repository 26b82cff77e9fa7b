//! Over real TCP: the library server and the `fake-optimizely` binary, including real
//! connection drops and the binary's first stdout line.
#![allow(clippy::unwrap_used)]

mod support;

use fake_optimizely::{FakeOptimizely, FaultAction, FaultRule};
use std::io::{BufRead, BufReader, Read, Write};
use std::net::SocketAddr;
use std::process::{Command, Stdio};
use support::{TOKEN, WEB, test_seed};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

/// A raw HTTP/1.1 exchange; returns every byte the server sent before closing.
async fn exchange(addr: SocketAddr, method: &str, path: &str, body: &str) -> Vec<u8> {
    let mut stream = TcpStream::connect(addr).await.unwrap();
    let request = format!(
        "{method} {path} HTTP/1.1\r\nHost: {addr}\r\nAuthorization: Bearer {TOKEN}\r\n\
         Content-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
        body.len()
    );
    stream.write_all(request.as_bytes()).await.unwrap();
    let mut received = Vec::new();
    // A reset connection is as good as a closed one here: both mean "no answer".
    let _ = stream.read_to_end(&mut received).await;
    received
}

fn status_of(raw: &[u8]) -> u16 {
    let text = String::from_utf8_lossy(raw);
    text.split(' ').nth(1).unwrap().parse().unwrap()
}

fn body_of(raw: &[u8]) -> serde_json::Value {
    let text = String::from_utf8_lossy(raw);
    let body = text.split("\r\n\r\n").nth(1).unwrap();
    serde_json::from_str(body).unwrap()
}

fn header_of(raw: &[u8], name: &str) -> Option<String> {
    let text = String::from_utf8_lossy(raw);
    let head = text.split("\r\n\r\n").next().unwrap().to_owned();
    head.lines().find_map(|line| {
        let (n, v) = line.split_once(':')?;
        n.eq_ignore_ascii_case(name).then(|| v.trim().to_owned())
    })
}

#[tokio::test]
async fn serves_the_api_over_tcp_with_full_link_urls() {
    let fake = FakeOptimizely::new(test_seed()).unwrap();
    let running = fake.serve("127.0.0.1:0".parse().unwrap()).await.unwrap();
    let addr = running.addr;
    assert_ne!(addr.port(), 0);
    assert_eq!(running.base_url(), format!("http://{addr}/v2"));
    assert_eq!(running.root_url(), format!("http://{addr}"));

    for i in 0..3 {
        let raw = exchange(
            addr,
            "POST",
            "/v2/attributes",
            &format!(r#"{{"project_id": {WEB}, "key": "k{i}"}}"#),
        )
        .await;
        assert_eq!(status_of(&raw), 201, "{}", String::from_utf8_lossy(&raw));
    }
    let raw = exchange(
        addr,
        "GET",
        &format!("/v2/attributes?project_id={WEB}&per_page=2"),
        "",
    )
    .await;
    assert_eq!(status_of(&raw), 200);
    assert_eq!(body_of(&raw).as_array().unwrap().len(), 2);
    let link = header_of(&raw, "link").unwrap();
    assert!(
        link.starts_with(&format!(
            "<http://{addr}/v2/attributes?project_id={WEB}&page=2&per_page=2>; rel=next"
        )),
        "{link}"
    );
    assert_eq!(header_of(&raw, "x-record-total").as_deref(), Some("3"));
    assert!(header_of(&raw, "x-request-id").is_some());

    let raw = exchange(addr, "GET", "/__admin/stats", "").await;
    assert_eq!(body_of(&raw)["writes"], 3);

    running.shutdown().await;
    assert!(
        TcpStream::connect(addr).await.is_err(),
        "nothing listens after shutdown"
    );
}

#[tokio::test]
async fn dropped_connections_get_no_http_response_at_all() {
    let fake = FakeOptimizely::new(test_seed()).unwrap();
    let running = fake.serve("127.0.0.1:0".parse().unwrap()).await.unwrap();
    let addr = running.addr;
    let body = format!(r#"{{"project_id": {WEB}, "key": "dropped"}}"#);

    fake.add_fault(FaultRule {
        method: "POST".into(),
        path_template: "/v2/attributes".into(),
        times: 1,
        action: FaultAction::DropBeforeWrite,
    });
    let raw = exchange(addr, "POST", "/v2/attributes", &body).await;
    assert!(raw.is_empty(), "got {:?}", String::from_utf8_lossy(&raw));
    assert!(fake.state()["attributes"].as_array().unwrap().is_empty());

    fake.add_fault(FaultRule {
        method: "POST".into(),
        path_template: "/v2/attributes".into(),
        times: 1,
        action: FaultAction::DropAfterWrite,
    });
    let raw = exchange(addr, "POST", "/v2/attributes", &body).await;
    assert!(raw.is_empty(), "got {:?}", String::from_utf8_lossy(&raw));
    assert_eq!(fake.state()["attributes"][0]["key"], "dropped");

    // The server keeps serving other connections.
    let raw = exchange(addr, "GET", &format!("/v2/projects/{WEB}"), "").await;
    assert_eq!(status_of(&raw), 200);
    running.shutdown().await;
}

#[tokio::test]
async fn injected_status_with_retry_after_over_tcp() {
    let fake = FakeOptimizely::new(test_seed()).unwrap();
    let running = fake.serve("127.0.0.1:0".parse().unwrap()).await.unwrap();
    let rule = r#"{"method": "GET", "path_template": "/v2/projects/{id}", "times": 1,
                   "action": {"type": "status", "status": 429, "retry_after": 3}}"#;
    let raw = exchange(running.addr, "POST", "/__admin/faults", rule).await;
    assert_eq!(status_of(&raw), 200, "{}", String::from_utf8_lossy(&raw));
    let raw = exchange(running.addr, "GET", &format!("/v2/projects/{WEB}"), "").await;
    assert_eq!(status_of(&raw), 429);
    assert_eq!(header_of(&raw, "retry-after").as_deref(), Some("3"));
    assert_eq!(body_of(&raw)["code"], "too_many_requests");
    running.shutdown().await;
}

/// Kills the child on drop so a failing assertion does not leave it running.
struct Child(std::process::Child);

impl Drop for Child {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn blocking_exchange(addr: &str, method: &str, path: &str, token: &str) -> String {
    let mut stream = std::net::TcpStream::connect(addr).unwrap();
    let request = format!(
        "{method} {path} HTTP/1.1\r\nHost: {addr}\r\nAuthorization: Bearer {token}\r\n\
         Content-Length: 0\r\nConnection: close\r\n\r\n"
    );
    stream.write_all(request.as_bytes()).unwrap();
    let mut received = String::new();
    stream.read_to_string(&mut received).unwrap();
    received
}

#[test]
fn binary_prints_its_address_first_serves_the_seed_and_stops_on_sigterm() {
    let seed = concat!(env!("CARGO_MANIFEST_DIR"), "/examples/seed.json");
    let child = Command::new(env!("CARGO_BIN_EXE_fake-optimizely"))
        .args(["--listen", "127.0.0.1:0", "--seed", seed])
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let mut child = Child(child);
    let stdout = child.0.stdout.take().unwrap();
    let mut first = String::new();
    BufReader::new(stdout).read_line(&mut first).unwrap();
    // The API base, as a config's `api_url` takes it.
    let url = first
        .trim_end()
        .strip_prefix("listening on http://")
        .and_then(|rest| rest.strip_suffix("/v2"))
        .unwrap_or_else(|| panic!("unexpected first line {first:?}"));
    let addr: SocketAddr = url.parse().unwrap();
    assert_eq!(addr.ip().to_string(), "127.0.0.1");
    assert_ne!(addr.port(), 0);

    let token = "2:fake-optimizely-example-token-not-a-real-secret-0001";
    let response = blocking_exchange(
        url,
        "GET",
        "/v2/list_attributes?project_id=20000000001",
        token,
    );
    assert!(response.starts_with("HTTP/1.1 200"), "{response}");
    assert!(
        response.contains("\"list_content\": \"user-1,user-2\""),
        "{response}"
    );
    let response = blocking_exchange(url, "GET", "/v2/projects/20000000001", "2:wrong");
    assert!(response.starts_with("HTTP/1.1 401"), "{response}");

    let pid = child.0.id().to_string();
    let killed = Command::new("kill").args(["-TERM", &pid]).status().unwrap();
    assert!(killed.success());
    let status = child.0.wait().unwrap();
    assert!(status.success(), "graceful exit on SIGTERM, got {status}");
}

#[test]
fn binary_refuses_a_bad_seed_file() {
    let output = Command::new(env!("CARGO_BIN_EXE_fake-optimizely"))
        .args([
            "--listen",
            "127.0.0.1:0",
            "--seed",
            "/nonexistent/seed.json",
        ])
        .output()
        .unwrap();
    assert!(!output.status.success());
    assert!(
        output.stdout.is_empty(),
        "no 'listening on' line when the seed fails"
    );
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(stderr.contains("cannot read seed file"), "{stderr}");
}
