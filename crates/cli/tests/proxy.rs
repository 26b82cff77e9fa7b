//! Which proxy the binary's requests go through, with a recording proxy written here: a TCP
//! listener that keeps every byte it receives and, for `CONNECT`, tunnels to a local target.
//!
//! - `HTTP_PROXY`, `http_proxy`, `ALL_PROXY` and `all_proxy` never see a request to a
//!   loopback `api_url` (nor the token), and the run works;
//! - `HTTPS_PROXY` is not used for a loopback `api_url`, http or https;
//! - an https `api_url` goes through `HTTPS_PROXY` as a CONNECT tunnel: the proxy sees the
//!   host and port, never the token; `NO_PROXY` covering the host skips the proxy;
//! - `proxy = "http://…"` in the config is used (with its credentials, never printed), and
//!   `proxy = "none"` ignores the environment.

#![allow(clippy::unwrap_used)] // a failing unwrap is a failing test

mod common;

use std::net::SocketAddr;
use std::path::Path;
use std::process::{Command, Output, Stdio};
use std::sync::{Arc, Mutex};

use common::{Case, TOKEN, WEB, list_sync};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};

/// Every proxy variable optisync could be tempted by.
const PROXY_VARS: [&str; 8] = [
    "HTTP_PROXY",
    "http_proxy",
    "HTTPS_PROXY",
    "https_proxy",
    "ALL_PROXY",
    "all_proxy",
    "NO_PROXY",
    "no_proxy",
];

/// A host that is not loopback and never resolves (RFC 2606), for https api_urls.
const REMOTE_HOST: &str = "api.optisync-proxy-test.invalid";

/// A recording TCP listener: every connection's received bytes, in order.
#[derive(Clone, Default)]
struct Recorder {
    connections: Arc<Mutex<Vec<Vec<u8>>>>,
}

impl Recorder {
    fn connections(&self) -> usize {
        self.connections.lock().unwrap().len()
    }

    fn bytes(&self) -> Vec<u8> {
        self.connections.lock().unwrap().concat()
    }

    fn text(&self) -> String {
        String::from_utf8_lossy(&self.bytes()).into_owned()
    }

    fn open(&self) -> usize {
        let mut connections = self.connections.lock().unwrap();
        connections.push(Vec::new());
        connections.len() - 1
    }

    fn record(&self, connection: usize, bytes: &[u8]) {
        self.connections.lock().unwrap()[connection].extend_from_slice(bytes);
    }
}

/// A proxy that records everything; a `CONNECT` is answered 200 and tunnelled to `target`
/// (whatever host it names); anything else gets a 502.
async fn recording_proxy(target: SocketAddr) -> (SocketAddr, Recorder) {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let recorder = Recorder::default();
    let shared = recorder.clone();
    tokio::spawn(async move {
        while let Ok((socket, _)) = listener.accept().await {
            tokio::spawn(proxy_connection(socket, target, shared.clone()));
        }
    });
    (addr, recorder)
}

async fn proxy_connection(mut client: TcpStream, target: SocketAddr, recorder: Recorder) {
    let id = recorder.open();
    let mut head = Vec::new();
    let mut buf = vec![0u8; 8192];
    while !head.windows(4).any(|w| w == b"\r\n\r\n") {
        match client.read(&mut buf).await {
            Ok(0) | Err(_) => return,
            Ok(n) => {
                recorder.record(id, &buf[..n]);
                head.extend_from_slice(&buf[..n]);
            }
        }
    }
    if !head.starts_with(b"CONNECT ") {
        let _ = client
            .write_all(
                b"HTTP/1.1 502 Bad Gateway\r\nContent-Length: 0\r\nConnection: close\r\n\r\n",
            )
            .await;
        return;
    }
    let Ok(mut upstream) = TcpStream::connect(target).await else {
        return;
    };
    if client
        .write_all(b"HTTP/1.1 200 Connection Established\r\n\r\n")
        .await
        .is_err()
    {
        return;
    }
    // Anything the client sent after the head, then the tunnel, recording the client's side.
    let start = head.windows(4).position(|w| w == b"\r\n\r\n").unwrap() + 4;
    if upstream.write_all(&head[start..]).await.is_err() {
        return;
    }
    let (mut client_read, mut client_write) = client.into_split();
    let (mut upstream_read, mut upstream_write) = upstream.into_split();
    let to_upstream = async {
        let mut buf = vec![0u8; 8192];
        loop {
            match client_read.read(&mut buf).await {
                Ok(0) | Err(_) => break,
                Ok(n) => {
                    recorder.record(id, &buf[..n]);
                    if upstream_write.write_all(&buf[..n]).await.is_err() {
                        break;
                    }
                }
            }
        }
        let _ = upstream_write.shutdown().await;
    };
    let to_client = async {
        let _ = tokio::io::copy(&mut upstream_read, &mut client_write).await;
        let _ = client_write.shutdown().await;
    };
    tokio::join!(to_upstream, to_client);
}

/// A target that records what reaches it and answers nothing (it is not a TLS server, so a
/// handshake with it fails; what matters is who connected, and what they sent).
async fn recording_target() -> (SocketAddr, Recorder) {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let recorder = Recorder::default();
    let shared = recorder.clone();
    tokio::spawn(async move {
        while let Ok((mut socket, _)) = listener.accept().await {
            let recorder = shared.clone();
            tokio::spawn(async move {
                let id = recorder.open();
                let mut buf = vec![0u8; 8192];
                // The first bytes are enough (a TLS ClientHello); then hang up.
                if let Ok(n) = socket.read(&mut buf).await {
                    recorder.record(id, &buf[..n]);
                }
            });
        }
    });
    (addr, recorder)
}

/// `optisync ARGS` in `dir` with exactly the proxy variables `env` (every other one removed).
async fn run(dir: &Path, args: &[&str], env: &[(&str, String)]) -> (Output, String) {
    let mut command = Command::new(env!("CARGO_BIN_EXE_optisync"));
    command
        .current_dir(dir)
        .args(args)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    for name in PROXY_VARS {
        command.env_remove(name);
    }
    command.env_remove("OPTISYNC_LOG");
    for (name, value) in env {
        command.env(name, value);
    }
    let child = command.spawn().unwrap();
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

/// A fake-backed case whose list sync sends two members.
async fn list_case() -> Case {
    let case = Case::new(WEB, "", &list_sync("mirror")).await;
    case.write("users.csv", "user_id\nu-1\nu-2\n");
    case
}

/// Rewrites the case's config: `api_url` replaced, any `proxy` dropped, `extra` added to
/// `[optimizely]`.
fn rewrite_config(dir: &Path, api_url: &str, extra: &str) {
    let path = dir.join("optisync.toml");
    let config = std::fs::read_to_string(&path).unwrap();
    let mut out = String::new();
    for line in config.lines() {
        if line.starts_with("proxy = ") {
            continue;
        }
        if line.starts_with("api_url = ") {
            out.push_str(&format!("api_url = \"{api_url}\"\n{extra}"));
        } else {
            out.push_str(line);
            out.push('\n');
        }
    }
    std::fs::write(path, out).unwrap();
}

fn is_tls_client_hello(bytes: &[u8]) -> bool {
    // A TLS handshake record: content type 22, then a 3.x version.
    bytes.len() > 5 && bytes[0] == 0x16 && bytes[1] == 0x03
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn http_proxy_and_all_proxy_never_see_a_loopback_request() {
    let (target, _) = recording_target().await;
    let (proxy, recorder) = recording_proxy(target).await;
    let case = list_case().await;
    let url = format!("http://{proxy}");
    let env = [
        ("HTTP_PROXY", url.clone()),
        ("http_proxy", url.clone()),
        ("ALL_PROXY", url.clone()),
        ("all_proxy", url.clone()),
    ];
    let (out, text) = run(case.path(), &["sync"], &env).await;
    assert_eq!(out.status.code(), Some(0), "{text}");
    assert_eq!(case.list(), vec!["u-1", "u-2"]);
    assert_eq!(recorder.connections(), 0, "{}", recorder.text());
    assert!(!text.contains(TOKEN));
    case.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn https_proxy_is_not_used_for_a_loopback_api_url() {
    let (target, _) = recording_target().await;
    let (proxy, recorder) = recording_proxy(target).await;
    let url = format!("http://{proxy}");
    let env = [("HTTPS_PROXY", url.clone()), ("https_proxy", url.clone())];

    // Plain http to the fake on loopback: the run works without the proxy.
    let case = list_case().await;
    let (out, text) = run(case.path(), &["sync"], &env).await;
    assert_eq!(out.status.code(), Some(0), "{text}");
    assert_eq!(case.list(), vec!["u-1", "u-2"]);

    // https to loopback: the client connects straight to it (and its TLS handshake meets a
    // server that is not one), never to the proxy.
    let (direct, direct_recorder) = recording_target().await;
    rewrite_config(
        case.path(),
        &format!("https://127.0.0.1:{}/v2", direct.port()),
        "",
    );
    let (out, text) = run(case.path(), &["check"], &env).await;
    assert_ne!(out.status.code(), Some(0), "{text}");
    assert_ne!(out.status.code(), Some(101), "{text}");
    assert!(direct_recorder.connections() > 0, "{text}");
    assert!(is_tls_client_hello(&direct_recorder.bytes()), "{text}");
    assert_eq!(recorder.connections(), 0, "{}", recorder.text());
    case.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_https_api_url_goes_through_https_proxy_as_a_tunnel_without_the_token() {
    let (target, target_recorder) = recording_target().await;
    let (proxy, recorder) = recording_proxy(target).await;
    let case = list_case().await;
    rewrite_config(case.path(), &format!("https://{REMOTE_HOST}/v2"), "");
    let env = [("HTTPS_PROXY", format!("http://{proxy}"))];
    // The tunnel leads to a target that is not Optimizely (nor TLS): `check` reports it
    // after its three attempts.
    let (out, text) = run(case.path(), &["check"], &env).await;
    assert_eq!(out.status.code(), Some(4), "{text}");
    assert!(recorder.connections() > 0, "{text}");
    let seen = recorder.text();
    assert!(
        seen.starts_with(&format!("CONNECT {REMOTE_HOST}:443 HTTP/1.1\r\n")),
        "{seen}"
    );
    // The head is only the CONNECT; what follows is TLS, so neither the token nor the
    // Authorization header ever passes the proxy in clear.
    let bytes = recorder.bytes();
    assert!(!bytes.windows(TOKEN.len()).any(|w| w == TOKEN.as_bytes()));
    assert!(
        !seen.to_ascii_lowercase().contains("authorization: bearer"),
        "{seen}"
    );
    assert!(is_tls_client_hello(&target_recorder.bytes()));
    assert!(!text.contains(TOKEN), "{text}");

    // NO_PROXY covering the host: the proxy is skipped (and the host does not resolve).
    let before = recorder.connections();
    let env = [
        ("HTTPS_PROXY", format!("http://{proxy}")),
        (
            "NO_PROXY",
            "localhost,.optisync-proxy-test.invalid".to_owned(),
        ),
    ];
    let (out, text) = run(case.path(), &["check"], &env).await;
    assert_eq!(out.status.code(), Some(4), "{text}");
    assert_eq!(recorder.connections(), before, "{text}");
    case.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_configured_proxy_is_used_with_its_credentials_and_never_shown() {
    let (target, _) = recording_target().await;
    let (proxy, recorder) = recording_proxy(target).await;
    let (env_proxy, env_recorder) = recording_proxy(target).await;
    let case = list_case().await;
    let password = "proxy-pass-7f3a";
    rewrite_config(
        case.path(),
        &format!("https://{REMOTE_HOST}/v2"),
        &format!("proxy = \"http://alice:{password}@{proxy}\"\n"),
    );
    let env = [("HTTPS_PROXY", format!("http://{env_proxy}"))];
    let (out, text) = run(case.path(), &["check", "-vvv"], &env).await;
    assert_eq!(out.status.code(), Some(4), "{text}");
    let seen = recorder.text();
    assert!(
        seen.starts_with(&format!("CONNECT {REMOTE_HOST}:443 ")),
        "{seen}"
    );
    // Basic credentials for the proxy, in the CONNECT only.
    assert!(
        seen.to_ascii_lowercase()
            .contains("proxy-authorization: basic "),
        "{seen}"
    );
    assert_eq!(env_recorder.connections(), 0, "{}", env_recorder.text());
    assert!(!text.contains(password), "{text}");
    // The debug log names the proxy by host and port only.
    assert!(
        text.contains(&format!("http://127.0.0.1:{}", proxy.port())),
        "{text}"
    );

    // `proxy = "none"`: the environment's proxy is not used either.
    rewrite_config(
        case.path(),
        &format!("https://{REMOTE_HOST}/v2"),
        "proxy = \"none\"\n",
    );
    let (out, text) = run(case.path(), &["check"], &env).await;
    assert_eq!(out.status.code(), Some(4), "{text}");
    assert_eq!(env_recorder.connections(), 0, "{}", env_recorder.text());
    case.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_bad_proxy_setting_is_a_config_error_that_never_repeats_it() {
    let case = list_case().await;
    let secret = "hunter2-proxy";
    rewrite_config(
        case.path(),
        &format!("https://{REMOTE_HOST}/v2"),
        &format!("proxy = \"socks5://bob:{secret}@proxy.corp:1080\"\n"),
    );
    let (out, text) = run(case.path(), &["validate"], &[]).await;
    assert_eq!(out.status.code(), Some(3), "{text}");
    assert!(text.contains("[optimizely] proxy"), "{text}");
    assert!(!text.contains(secret), "{text}");

    rewrite_config(case.path(), &format!("https://{REMOTE_HOST}/v2"), "");
    let env = [("HTTPS_PROXY", format!("gopher://bob:{secret}@proxy.corp"))];
    let (out, text) = run(case.path(), &["check"], &env).await;
    assert_eq!(out.status.code(), Some(3), "{text}");
    assert!(text.contains("HTTPS_PROXY"), "{text}");
    assert!(!text.contains(secret), "{text}");
    case.stop().await;
}
