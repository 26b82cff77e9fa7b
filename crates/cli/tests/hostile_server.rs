//! The binary against a hostile server: a raw TCP listener in the test that answers like no
//! real Optimizely would. optisync must stop with a message and a documented exit code (never
//! a panic, exit 101), promptly, and without reading more than the request can legitimately
//! get back.

#![allow(clippy::unwrap_used)] // a failing unwrap is a failing test

use std::net::SocketAddr;
use std::process::{Command, Output, Stdio};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};

const TOKEN: &str = "2:hostiletoken_abcdefghijklmnopqrstuvwxyz0123456789ABCD";
const PROJECT: i64 = 27_000_000_001;

/// How the hostile server answers every request.
#[derive(Clone, Copy)]
enum Answer {
    /// 429 asking to wait 10^19 seconds.
    AbsurdReset,
    /// 200 with a chunked body that goes on for 256 MiB (an endless one, as far as any
    /// client that reads it all is concerned).
    Endless,
    /// 200 with a captive portal's HTML page.
    Portal,
}

/// What the server saw and did.
#[derive(Default)]
struct Served {
    requests: AtomicU64,
    body_bytes: AtomicU64,
}

async fn hostile_server(answer: Answer) -> (SocketAddr, Arc<Served>) {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let served = Arc::new(Served::default());
    let shared = served.clone();
    tokio::spawn(async move {
        while let Ok((socket, _)) = listener.accept().await {
            tokio::spawn(serve(socket, answer, shared.clone()));
        }
    });
    (addr, served)
}

async fn serve(mut socket: TcpStream, answer: Answer, served: Arc<Served>) {
    let mut buf = vec![0u8; 8192];
    loop {
        // One request head (none of optisync's GETs has a body).
        let mut head = Vec::new();
        while !head.windows(4).any(|w| w == b"\r\n\r\n") {
            match socket.read(&mut buf).await {
                Ok(0) | Err(_) => return,
                Ok(n) => head.extend_from_slice(&buf[..n]),
            }
        }
        served.requests.fetch_add(1, Ordering::SeqCst);
        let ok = match answer {
            Answer::AbsurdReset => socket
                .write_all(
                    b"HTTP/1.1 429 Too Many Requests\r\nX-RateLimit-Reset: 1e19\r\nContent-Length: 0\r\n\r\n",
                )
                .await
                .is_ok(),
            Answer::Portal => {
                let page = "<!DOCTYPE html><html><body><form>Accept the terms to use the Wi-Fi</form></body></html>";
                let head = format!(
                    "HTTP/1.1 200 OK\r\nContent-Type: text/html; charset=utf-8\r\nContent-Length: {}\r\n\r\n",
                    page.len()
                );
                socket
                    .write_all(format!("{head}{page}").as_bytes())
                    .await
                    .is_ok()
            }
            Answer::Endless => {
                let head = "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nTransfer-Encoding: chunked\r\n\r\n";
                if socket.write_all(head.as_bytes()).await.is_err() {
                    return;
                }
                let chunk = format!("10000\r\n{}\r\n", "[".repeat(0x10000));
                for _ in 0..(256 * 16) {
                    if socket.write_all(chunk.as_bytes()).await.is_err() {
                        return;
                    }
                    served.body_bytes.fetch_add(0x10000, Ordering::SeqCst);
                }
                socket.write_all(b"0\r\n\r\n").await.is_ok()
            }
        };
        if !ok {
            return;
        }
    }
}

/// A temp dir holding a token file and a config whose one list sync talks to `addr`.
fn config_dir(addr: SocketAddr) -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("token"), TOKEN).unwrap();
    let config = format!(
        "[optimizely]\nproject_id = {PROJECT}\ntoken = {{ file = \"token\" }}\napi_url = \"http://{addr}/v2\"\nrate_limit = {{ per_second = 1000 }}\n\n[[sync]]\nname = \"members\"\nobject = \"list_attribute\"\nlist_attribute_id = 28000000001\nmode = \"mirror\"\nmodel = \"select 'user-1' as user_id\"\nmapping = {{ user_id = \"user_id\" }}\n"
    );
    std::fs::write(dir.path().join("optisync.toml"), config).unwrap();
    dir
}

/// Runs `optisync ARGS` in `dir` off the runtime that serves the hostile server.
async fn run(dir: &std::path::Path, args: &[&str]) -> (Output, String) {
    let child = Command::new(env!("CARGO_BIN_EXE_optisync"))
        .current_dir(dir)
        .args(args)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let out = tokio::task::spawn_blocking(move || child.wait_with_output().unwrap())
        .await
        .unwrap();
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    (out, text)
}

/// A documented exit code (crates/cli/src/exit.rs), not a panic (101) or a signal.
fn assert_clean_failure(out: &Output, text: &str) {
    let code = out.status.code();
    assert!(
        matches!(code, Some(1..=7)),
        "exit {code:?}, not a documented failure\n{text}"
    );
    assert!(!text.contains("panicked"), "{text}");
    assert!(!text.contains(TOKEN), "{text}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_rate_limit_reset_of_1e19_stops_the_run_with_a_message_not_a_panic() {
    let (addr, served) = hostile_server(Answer::AbsurdReset).await;
    let dir = config_dir(addr);
    let (out, text) = run(dir.path(), &["plan"]).await;
    assert_clean_failure(&out, &text);
    assert!(
        text.contains(&format!("http://{addr} asks to wait")),
        "{text}"
    );
    assert!(text.contains("X-RateLimit-Reset"), "{text}");
    assert!(
        text.contains("the run stops here rather than hang"),
        "{text}"
    );
    // Nothing was retried: the wait is refused at the first answer.
    assert_eq!(served.requests.load(Ordering::SeqCst), 1, "{text}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_endless_body_is_cut_off_at_the_endpoint_limit() {
    let (addr, served) = hostile_server(Answer::Endless).await;
    let dir = config_dir(addr);
    let (out, text) = run(dir.path(), &["plan"]).await;
    assert_clean_failure(&out, &text);
    assert!(
        text.contains(&format!(
            "http://{addr}/v2/projects/{PROJECT}: the answer (HTTP 200) is larger than 4.0 MiB"
        )),
        "{text}"
    );
    assert!(text.contains("api_url"), "{text}");
    // A project answer is read up to its 4 MiB limit, plus what the sockets buffered: far
    // from the 256 MiB the server had to send, and not retried.
    let sent = served.body_bytes.load(Ordering::SeqCst);
    assert!(
        sent < 32 << 20,
        "the server got to write {sent} bytes\n{text}"
    );
    assert_eq!(served.requests.load(Ordering::SeqCst), 1, "{text}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_captive_portal_page_is_named_as_html_from_where() {
    let (addr, _served) = hostile_server(Answer::Portal).await;
    let dir = config_dir(addr);
    let (out, text) = run(dir.path(), &["plan"]).await;
    assert_clean_failure(&out, &text);
    assert!(
        text.contains(&format!(
            "http://{addr}/v2/projects/{PROJECT}: got an HTML page (HTTP 200) instead of JSON"
        )),
        "{text}"
    );
    assert!(text.contains("check api_url"), "{text}");
    assert!(text.contains("proxy"), "{text}");
    assert!(!text.contains("Wi-Fi"), "{text}");
}
