//! `optisync init --example` as a new user meets it, with the real binary: the starter config
//! covers list attributes (Web Experimentation) and attributes, audiences and events (both
//! products), its syncs work on the sample warehouse it writes, and its placeholder ids are
//! refused before any request.

#![allow(clippy::unwrap_used)]

use std::net::TcpListener;
use std::path::Path;
use std::process::Output;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use fake_optimizely::{FakeOptimizely, Seed};
use serde_json::{Value, json};

const TOKEN: &str = "2:inittoken_abcdefghijklmnopqrstuvwxyz0123456789ABCDEFGH";
const WEB: i64 = 31_000_000_001;
const FX: i64 = 31_000_000_002;
const LIST: i64 = 32_000_000_001;

fn optisync(dir: &Path, args: &[&str]) -> Output {
    std::process::Command::new(env!("CARGO_BIN_EXE_optisync"))
        .current_dir(dir)
        .args(args)
        .env("OPTIMIZELY_TOKEN", TOKEN)
        .output()
        .unwrap()
}

fn text(out: &Output) -> String {
    format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    )
}

fn init_example() -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    let out = optisync(dir.path(), &["init", "--example"]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    dir
}

/// The written config with `api_url` pointing at `url`, and with `replace` applied.
fn point_at(dir: &Path, url: &str, replace: &[(&str, &str)]) {
    let path = dir.join("optisync.toml");
    let mut config = std::fs::read_to_string(&path).unwrap();
    config = config.replacen(
        "[optimizely]\n",
        &format!("[optimizely]\napi_url = \"{url}\"\n"),
        1,
    );
    for (from, to) in replace {
        assert!(config.contains(from), "{from} not in the starter config");
        config = config.replace(from, to);
    }
    std::fs::write(path, config).unwrap();
}

#[test]
fn the_example_has_a_sync_of_each_kind_and_validates() {
    let dir = init_example();
    let out = optisync(dir.path(), &["--output", "json", "validate"]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    let report: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(report["passed"], true);
    let syncs: Vec<&str> = report["syncs"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["sync"].as_str().unwrap())
        .collect();
    assert_eq!(
        syncs,
        [
            "beta_testers",
            "user_attributes",
            "plan_audiences",
            "events"
        ]
    );
    let config = std::fs::read_to_string(dir.path().join("optisync.toml")).unwrap();
    for object in ["list_attribute", "attribute", "audience", "custom_event"] {
        assert!(
            config.contains(&format!("object = \"{object}\"")),
            "no {object} sync"
        );
    }
    assert!(dir.path().join("attributes.csv").exists());
}

/// A listener that counts the connections made to it: the proof that nothing was sent.
fn counting_listener() -> (String, Arc<AtomicUsize>) {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let url = format!("http://{}/v2", listener.local_addr().unwrap());
    let connections = Arc::new(AtomicUsize::new(0));
    let counted = connections.clone();
    std::thread::spawn(move || {
        for stream in listener.incoming() {
            counted.fetch_add(1, Ordering::SeqCst);
            drop(stream);
        }
    });
    (url, connections)
}

#[test]
fn check_on_the_untouched_example_names_each_placeholder_and_sends_nothing() {
    let dir = init_example();
    let (url, connections) = counting_listener();
    point_at(dir.path(), &url, &[]);
    for verb in ["check", "plan", "sync"] {
        let out = optisync(dir.path(), &[verb]);
        assert_eq!(out.status.code(), Some(3), "{verb}: {}", text(&out));
        let message = text(&out);
        assert!(
            message.contains("[optimizely] project_id is the example's 12345678901")
                && message.contains("Settings > Project"),
            "{verb}: {message}"
        );
        assert!(
            message.contains("sync beta_testers: list_attribute_id is the example's 4567"),
            "{verb}: {message}"
        );
        assert!(!message.contains("problem:"), "{verb}: {message}");
    }
    assert_eq!(connections.load(Ordering::SeqCst), 0, "a request was made");

    // A token copied from the README is named too, in the one error object shape.
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_optisync"))
        .current_dir(dir.path())
        .args(["check", "--output", "json"])
        .env("OPTIMIZELY_TOKEN", "...")
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(3), "{}", text(&out));
    let document: Value = serde_json::from_slice(&out.stdout).unwrap();
    let error = &document["error"];
    assert_eq!(error["kind"], "invalid_config", "{document}");
    assert_eq!(error["exit_code"], 3, "{document}");
    let message = error["message"].as_str().unwrap();
    assert!(
        message.contains("the token in environment variable OPTIMIZELY_TOKEN is a placeholder"),
        "{message}"
    );
    assert!(
        error["hint"].as_str().unwrap().contains("nothing was sent"),
        "{document}"
    );
    assert_eq!(connections.load(Ordering::SeqCst), 0, "a request was made");
}

fn seed() -> Seed {
    serde_json::from_value(json!({
        "tokens": [{"token": TOKEN, "project_ids": [WEB, FX]}],
        "projects": [
            {"id": WEB, "name": "Web", "platform": "web", "status": "active", "is_flags_enabled": false},
            {"id": FX, "name": "App", "platform": "custom", "status": "active", "is_flags_enabled": true}
        ],
        "list_attributes": [
            {"id": LIST, "project_id": WEB, "name": "beta", "key_field": "uid", "list_type": "cookies", "list_content": ""}
        ],
        "rate_limits": {"fx_per_second": null, "fx_per_minute": null, "web_per_minute": null}
    }))
    .unwrap()
}

async fn run(dir: &Path, args: &[&str]) -> Output {
    let dir = dir.to_path_buf();
    let args: Vec<String> = args.iter().map(|s| (*s).to_owned()).collect();
    tokio::task::spawn_blocking(move || {
        let args: Vec<&str> = args.iter().map(String::as_str).collect();
        optisync(&dir, &args)
    })
    .await
    .unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_example_syncs_every_kind_on_web_and_definitions_on_feature_experimentation() {
    let fake = FakeOptimizely::new(seed()).unwrap();
    let running = fake.serve(([127, 0, 0, 1], 0).into()).await.unwrap();

    // Web Experimentation: every sync of the example, list included.
    let web = init_example();
    point_at(
        web.path(),
        &running.base_url(),
        &[
            ("project_id = 12345678901", &format!("project_id = {WEB}")),
            (
                "list_attribute_id = 4567",
                &format!("list_attribute_id = {LIST}"),
            ),
        ],
    );
    let out = run(web.path(), &["check"]).await;
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    let out = run(web.path(), &["sync"]).await;
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    let state = fake.state();
    let of = |kind: &str, project: i64| -> Vec<Value> {
        state[kind]
            .as_array()
            .unwrap()
            .iter()
            .filter(|o| o["project_id"].as_i64() == Some(project))
            .cloned()
            .collect()
    };
    let mut audiences: Vec<String> = of("audiences", WEB)
        .iter()
        .map(|a| a["name"].as_str().unwrap().to_owned())
        .collect();
    audiences.sort();
    assert_eq!(audiences, ["free plan users", "pro plan users"]);
    let conditions = of("audiences", WEB)[0]["conditions"]
        .as_str()
        .unwrap()
        .to_owned();
    let conditions: Value = serde_json::from_str(&conditions).unwrap();
    assert_eq!(conditions[1][1]["name"], "plan", "{conditions}");
    assert_eq!(of("attributes", WEB).len(), 2);
    assert_eq!(of("events", WEB).len(), 3);
    let list = state["list_attributes"][0]["list_content"]
        .as_str()
        .unwrap();
    assert_eq!(list, "u-1001,u-1003,u-1004");
    let out = run(web.path(), &["plan", "--detailed-exitcode"]).await;
    assert_eq!(
        out.status.code(),
        Some(0),
        "a second plan is empty: {}",
        text(&out)
    );

    // Feature Experimentation: the same example without its list sync, as its comment says.
    let fx = init_example();
    let config = std::fs::read_to_string(fx.path().join("optisync.toml")).unwrap();
    let start = config.find("# A list attribute").unwrap();
    let end = config.find("# Custom attributes").unwrap();
    let config = format!("{}{}", &config[..start], &config[end..]);
    std::fs::write(fx.path().join("optisync.toml"), config).unwrap();
    point_at(
        fx.path(),
        &running.base_url(),
        &[("project_id = 12345678901", &format!("project_id = {FX}"))],
    );
    let out = run(fx.path(), &["sync"]).await;
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    assert_eq!(fake.state()["audiences"].as_array().unwrap().len(), 4);
    running.shutdown().await;
}
