//! `optisync serve` as a user runs it: the real binary against the fake over TCP. Runs happen
//! on schedule, the API triggers, pauses and resumes with its token, a stop (SIGTERM) exits 0
//! within the grace period even with a run stuck in a request, and a restart finishes that
//! run's work with nothing lost or duplicated. Every wait is on an event (an answer of the
//! API, a request the fake holds), under a generous deadline.

#![allow(clippy::unwrap_used)]

mod common;

use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Condvar, Mutex};
use std::time::Duration;

use common::{Case, FX, WEB, definition_sync, list_sync};
use fake_optimizely::{FaultAction, FaultRule};
use serde_json::Value;

const API_TOKEN: &str = "serve-api-token-0123456789";
const DEADLINE: Duration = Duration::from_secs(60);

/// A running `optisync serve`, its address, and what it has written on stderr so far.
struct Served {
    child: Child,
    base: String,
    http: reqwest::Client,
    stderr: Arc<(Mutex<String>, Condvar)>,
    reader: Option<std::thread::JoinHandle<()>>,
}

impl Served {
    async fn start(case: &Case) -> Served {
        Served::start_in(case.path()).await
    }

    /// `optisync serve` in `dir`, once it says where it listens.
    async fn start_in(dir: &Path) -> Served {
        let mut child = Command::new(env!("CARGO_BIN_EXE_optisync"))
            .current_dir(dir)
            .args(["serve", "--bind", "127.0.0.1:0"])
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        let stdout = child.stdout.take().unwrap();
        let line = tokio::task::spawn_blocking(move || {
            let mut line = String::new();
            BufReader::new(stdout).read_line(&mut line).unwrap();
            line
        })
        .await
        .unwrap();
        let base = line
            .split("http://")
            .nth(1)
            .and_then(|rest| rest.split_whitespace().next())
            .map(|address| format!("http://{address}"))
            .unwrap_or_else(|| panic!("no address in {line:?}"));
        let stderr = Arc::new((Mutex::new(String::new()), Condvar::new()));
        let reader = {
            let pipe = child.stderr.take().unwrap();
            let stderr = Arc::clone(&stderr);
            std::thread::spawn(move || {
                for line in BufReader::new(pipe).lines() {
                    let Ok(line) = line else { break };
                    let (text, changed) = &*stderr;
                    let mut text = text.lock().unwrap();
                    text.push_str(&line);
                    text.push('\n');
                    changed.notify_all();
                }
            })
        };
        Served {
            child,
            base,
            http: reqwest::Client::new(),
            stderr,
            reader: Some(reader),
        }
    }

    /// Sends `signal` (e.g. `-HUP`) to the process.
    fn signal(&self, signal: &str) {
        let status = Command::new("kill")
            .args([signal, &self.child.id().to_string()])
            .status()
            .unwrap();
        assert!(status.success());
    }

    /// Waits until stderr holds `needle` (under the deadline); returns all of it.
    async fn stderr_contains(&self, needle: &str) -> String {
        let stderr = Arc::clone(&self.stderr);
        let needle = needle.to_owned();
        tokio::task::spawn_blocking(move || {
            let (text, changed) = &*stderr;
            let (text, timeout) = changed
                .wait_timeout_while(text.lock().unwrap(), DEADLINE, |text| {
                    !text.contains(&needle)
                })
                .unwrap();
            assert!(
                !timeout.timed_out(),
                "stderr never said {needle:?}:\n{text}"
            );
            text.clone()
        })
        .await
        .unwrap()
    }

    async fn get(&self, path: &str) -> (u16, Value) {
        let response = self
            .http
            .get(format!("{}{path}", self.base))
            .send()
            .await
            .unwrap();
        let status = response.status().as_u16();
        let bytes = response.bytes().await.unwrap();
        (
            status,
            serde_json::from_slice(&bytes).unwrap_or(Value::Null),
        )
    }

    async fn post(&self, path: &str, token: Option<&str>) -> (u16, Value) {
        let mut request = self.http.post(format!("{}{path}", self.base));
        if let Some(token) = token {
            request = request.bearer_auth(token);
        }
        let response = request.send().await.unwrap();
        let status = response.status().as_u16();
        let bytes = response.bytes().await.unwrap();
        (
            status,
            serde_json::from_slice(&bytes).unwrap_or(Value::Null),
        )
    }

    /// Polls `GET /api/syncs/{sync}` until `done` holds for it.
    async fn until(&self, sync: &str, done: impl Fn(&Value) -> bool) -> Value {
        let last = std::sync::Mutex::new(Value::Null);
        let wait = async {
            loop {
                let (_, doc) = self.get(&format!("/api/syncs/{sync}")).await;
                if done(&doc) {
                    return doc;
                }
                *last.lock().unwrap() = doc;
                tokio::time::sleep(Duration::from_millis(50)).await;
            }
        };
        match tokio::time::timeout(DEADLINE, wait).await {
            Ok(doc) => doc,
            Err(_) => panic!(
                "{sync} never reached the state waited for; last seen:\n{:#}",
                last.lock().unwrap()
            ),
        }
    }

    /// Sends SIGTERM and waits for the exit; returns the code and stderr.
    async fn terminate(mut self) -> (Option<i32>, String) {
        self.signal("-TERM");
        let mut child = self.child;
        let reader = self.reader.take().unwrap();
        let stderr = Arc::clone(&self.stderr);
        tokio::task::spawn_blocking(move || {
            let code = child.wait().unwrap().code();
            reader.join().unwrap();
            let text = stderr.0.lock().unwrap().clone();
            (code, text)
        })
        .await
        .unwrap()
    }
}

/// A case with the attribute sync `defs` of `rows` rows, the API token, and requests that
/// may take as long as a test holds them.
async fn held_defs_case(rows: usize, grace: &str) -> Case {
    let syncs = format!(
        "{}{}",
        definition_sync("attribute", "upsert", "{ key = \"key\" }"),
        serve_table(grace)
    );
    let case = Case::new(FX, "", &syncs).await;
    let rows: String = (1..=rows).map(|i| format!("k{i:02},N,a\n")).collect();
    case.write("rows.csv", &format!("key,name,about\n{rows}"));
    case.write("api_token", API_TOKEN);
    case.patient();
    case
}

/// Lets `passing` creates through, then applies the next one and holds its answer: the run
/// is stuck in the middle of a request until the test releases it.
fn hold_create_after(case: &Case, passing: u32) {
    let post = |times: u32, action: FaultAction| FaultRule {
        method: "POST".to_owned(),
        path_template: "*".to_owned(),
        times,
        action,
    };
    case.fake
        .add_fault(post(passing, FaultAction::Delay { millis: 0 }));
    case.fake.add_fault(post(1, FaultAction::HoldAfterWrite));
}

fn serve_table(grace: &str) -> String {
    format!("\n[serve]\napi_token = {{ file = \"api_token\" }}\ngrace_period = \"{grace}\"\n")
}

fn last_status(doc: &Value) -> Option<&str> {
    doc["last_run"]["status"].as_str()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn syncs_run_on_schedule_and_the_api_triggers_pauses_and_resumes() {
    let syncs = format!(
        "{}schedule = {{ every = \"1s\" }}\n{}{}",
        list_sync("mirror"),
        definition_sync("attribute", "upsert", "{ key = \"key\" }"),
        serve_table("10s")
    );
    let case = Case::new(WEB, "", &syncs).await;
    // Ten members, so that changing one stays under the large-removal guardrail (20%).
    let users = |ids: &[u32]| -> Vec<String> { ids.iter().map(|i| format!("u{i:02}")).collect() };
    let write_users = |ids: &[u32]| {
        case.write(
            "users.csv",
            &format!("user_id\n{}\n", users(ids).join("\n")),
        );
    };
    let first: Vec<u32> = (1..=10).collect();
    write_users(&first);
    case.write("rows.csv", "key,name,about\nk1,A,a\nk2,B,b\n");
    case.write("api_token", API_TOKEN);
    let served = Served::start(&case).await;

    // The interval sync runs at once, by itself.
    let members = served
        .until("members", |doc| last_status(doc) == Some("succeeded"))
        .await;
    assert_eq!(case.list(), users(&first));
    assert_eq!(members["schedule"], "every 1s");
    assert_eq!(members["schedule_kind"], "every");

    // The manual sync waits for a trigger, which needs the token.
    let (_, defs) = served.get("/api/syncs/defs").await;
    assert_eq!(defs["schedule"], "manual");
    assert!(defs["next_run_at"].is_null());
    assert!(defs["last_run"].is_null());
    let (status, body) = served.post("/api/syncs/defs/runs", None).await;
    assert_eq!(status, 401, "{body}");
    let (status, body) = served.post("/api/syncs/defs/runs", Some("wrong")).await;
    assert_eq!(status, 401);
    assert!(!body.to_string().contains(API_TOKEN));
    let (status, body) = served.post("/api/syncs/defs/runs", Some(API_TOKEN)).await;
    assert_eq!(status, 202, "{body}");
    served
        .until("defs", |doc| last_status(doc) == Some("succeeded"))
        .await;
    assert_eq!(case.objects("attributes", WEB).len(), 2);
    let (status, _) = served.post("/api/syncs/nope/runs", Some(API_TOKEN)).await;
    assert_eq!(status, 404);

    // A change in the warehouse reaches Optimizely on the next tick.
    let second: Vec<u32> = (1..=9).chain([11]).collect();
    write_users(&second);
    served
        .until("members", |_| case.list() == users(&second))
        .await;

    // Paused: no next tick, triggers refused; resumed: it runs again.
    let (status, _) = served
        .post("/api/syncs/members/pause", Some(API_TOKEN))
        .await;
    assert_eq!(status, 200);
    let paused = served.until("members", |doc| doc["paused"] == true).await;
    assert!(paused["next_run_at"].is_null(), "{paused}");
    served.until("members", |doc| doc["running"] == false).await;
    let (status, _) = served
        .post("/api/syncs/members/runs", Some(API_TOKEN))
        .await;
    assert_eq!(status, 409);
    let (_, runs) = served.get("/api/runs?sync=members&limit=500").await;
    let before = runs["runs"].as_array().unwrap().len();
    let third: Vec<u32> = (1..=9).chain([11, 12]).collect();
    write_users(&third);
    let (status, _) = served
        .post("/api/syncs/members/resume", Some(API_TOKEN))
        .await;
    assert_eq!(status, 200);
    served
        .until("members", |_| case.list() == users(&third))
        .await;
    let (_, runs) = served.get("/api/runs?sync=members&limit=500").await;
    assert!(runs["runs"].as_array().unwrap().len() > before);

    // Health, readiness, and the run's own page.
    assert_eq!(served.get("/healthz").await.0, 200);
    assert_eq!(served.get("/readyz").await.0, 200);
    let id = runs["runs"][0]["id"].as_str().unwrap().to_owned();
    let (status, run) = served.get(&format!("/api/runs/{id}")).await;
    assert_eq!(status, 200);
    assert_eq!(run["sync"], "members");
    assert_eq!(case.fake.stats().total_429, 0);

    let (code, stderr) = served.terminate().await;
    assert_eq!(code, Some(0), "{stderr}");
    assert!(stderr.contains("stopping"), "{stderr}");
    assert!(!stderr.contains(API_TOKEN));
    case.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_stop_mid_run_exits_0_within_the_grace_period_and_a_restart_finishes_the_work() {
    let case = held_defs_case(30, "1s").await;
    // Two creates pass; the third is applied and its answer held, so the run is stuck in
    // the middle of a request when the stop comes.
    hold_create_after(&case, 2);

    let served = Served::start(&case).await;
    let (status, body) = served.post("/api/syncs/defs/runs", Some(API_TOKEN)).await;
    assert_eq!(status, 202, "{body}");
    let held = tokio::time::timeout(DEADLINE, case.fake.wait_held(1)).await;
    assert!(held.is_ok(), "the run never reached its third create");
    let started = std::time::Instant::now();
    let (code, stderr) = served.terminate().await;
    assert_eq!(code, Some(0), "{stderr}");
    // The grace period is 1 s; the rest is the process's own start and stop.
    assert!(
        started.elapsed() < Duration::from_secs(30),
        "{:?}\n{stderr}",
        started.elapsed()
    );
    assert!(stderr.contains("safe point"), "{stderr}");
    case.fake.clear_faults();
    case.fake.release_held();
    assert_eq!(case.objects("attributes", FX).len(), 3);

    // The next start settles the create whose answer never came, and sends the rest.
    let served = Served::start(&case).await;
    let (status, _) = served.post("/api/syncs/defs/runs", Some(API_TOKEN)).await;
    assert_eq!(status, 202);
    served
        .until("defs", |doc| {
            doc["running"] == false && last_status(doc) == Some("succeeded")
        })
        .await;
    let mut keys: Vec<String> = case
        .objects("attributes", FX)
        .iter()
        .map(|o| o["key"].as_str().unwrap().to_owned())
        .collect();
    keys.sort();
    let expected: Vec<String> = (1..=30).map(|i| format!("k{i:02}")).collect();
    assert_eq!(keys, expected, "each attribute exactly once");
    let (code, stderr) = served.terminate().await;
    assert_eq!(code, Some(0), "{stderr}");
    case.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bad_schedules_addresses_and_exposure_are_refused_at_start() {
    let bad_cron = format!("{}schedule = \"61 * * * *\"\n", list_sync("mirror"));
    let case = Case::new(WEB, "", &bad_cron).await;
    let out = case.expect(&["serve", "--bind", "127.0.0.1:0"], 3).await;
    assert!(
        out.contains("sync members: schedule: cron expression"),
        "{out}"
    );
    case.stop().await;

    let bad_zone = format!(
        "{}schedule = {{ cron = \"0 6 * * *\", tz = \"Mars/Olympus\" }}\n",
        list_sync("mirror")
    );
    let case = Case::new(WEB, "", &bad_zone).await;
    let out = case.expect(&["validate"], 3).await;
    assert!(out.contains("sync members"), "{out}");
    assert!(out.contains("Mars/Olympus"), "{out}");
    assert!(out.contains("IANA"), "{out}");
    case.stop().await;

    let case = Case::new(WEB, "", &list_sync("mirror")).await;
    case.write("users.csv", "user_id\nu1\n");
    // Anywhere but loopback needs the API token.
    let out = case.expect(&["serve", "--bind", "0.0.0.0:0"], 3).await;
    assert!(out.contains("api_token"), "{out}");
    // A port in use says so.
    let taken = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = taken.local_addr().unwrap().port();
    let out = case
        .expect(&["serve", "--bind", &format!("127.0.0.1:{port}")], 3)
        .await;
    assert!(out.contains("in use"), "{out}");
    case.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sighup_reloads_the_config_and_keeps_the_old_one_when_the_new_one_is_wrong() {
    let one = format!("{}{}", list_sync("mirror"), serve_table("5s"));
    let case = Case::new(WEB, "", &one).await;
    case.write("users.csv", "user_id\nu1\nu2\n");
    case.write("rows.csv", "key,name,about\nk1,A,a\n");
    case.write("api_token", API_TOKEN);
    let served = Served::start(&case).await;
    let (_, syncs) = served.get("/api/syncs").await;
    assert_eq!(syncs["syncs"].as_array().unwrap().len(), 1, "{syncs}");

    // A wrong config is refused, saying why, and the service goes on with the old one.
    let config_path = case.path().join("optisync.toml");
    let good = std::fs::read_to_string(&config_path).unwrap();
    std::fs::write(
        &config_path,
        good.replace("[serve]", "schedule = \"61 * * * *\"\n\n[serve]"),
    )
    .unwrap();
    served.signal("-HUP");
    let stderr = served.stderr_contains("reload refused").await;
    assert!(stderr.contains("previous config"), "{stderr}");
    assert!(stderr.contains("cron expression"), "{stderr}");
    let (status, syncs) = served.get("/api/syncs").await;
    assert_eq!(status, 200);
    assert_eq!(syncs["syncs"].as_array().unwrap().len(), 1, "{syncs}");
    let (status, _) = served
        .post("/api/syncs/members/runs", Some(API_TOKEN))
        .await;
    assert_eq!(status, 202);
    served
        .until("members", |doc| last_status(doc) == Some("succeeded"))
        .await;

    // A right one replaces it: a new sync appears and runs, the old one's history stays.
    let two = good.replace(
        "[serve]",
        &format!(
            "{}\n[serve]",
            definition_sync("attribute", "upsert", "{ key = \"key\" }")
        ),
    );
    std::fs::write(&config_path, two).unwrap();
    served.signal("-HUP");
    served.stderr_contains("config reloaded").await;
    let (_, syncs) = served.get("/api/syncs").await;
    let names: Vec<&str> = syncs["syncs"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["name"].as_str().unwrap())
        .collect();
    assert_eq!(names, ["members", "defs"], "{syncs}");
    assert_eq!(
        last_status(&served.get("/api/syncs/members").await.1),
        Some("succeeded")
    );
    let (status, body) = served.post("/api/syncs/defs/runs", Some(API_TOKEN)).await;
    assert_eq!(status, 202, "{body}");
    served
        .until("defs", |doc| last_status(doc) == Some("succeeded"))
        .await;
    assert_eq!(case.objects("attributes", WEB).len(), 1);

    let (code, stderr) = served.terminate().await;
    assert_eq!(code, Some(0), "{stderr}");
    assert!(!stderr.contains(API_TOKEN));
    case.stop().await;
}

/// Two services, each with its own token, against one fake that enforces Optimizely's real
/// limits (FX 2/s and 120/min, Web 100/min per token): every sync runs on its schedule,
/// the syncs of one token share its quota, and not one request is refused with a 429.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn several_syncs_on_two_tokens_run_on_schedule_with_no_429_at_the_real_limits() {
    const FX_TOKEN: &str = "2:servefxtoken_abcdefghijklmnopqrstuvwxyz0123456789ABCDEF";
    const WEB_TOKEN: &str = "2:servewebtoken_abcdefghijklmnopqrstuvwxyz0123456789ABCDE";
    let seed: fake_optimizely::Seed = serde_json::from_value(serde_json::json!({
        "tokens": [
            {"token": FX_TOKEN, "project_ids": [FX]},
            {"token": WEB_TOKEN, "project_ids": [WEB]}
        ],
        "projects": [
            {"id": WEB, "name": "Web", "platform": "web", "status": "active", "is_flags_enabled": false},
            {"id": FX, "name": "App", "platform": "custom", "status": "active", "is_flags_enabled": true}
        ],
        "list_attributes": [
            {"id": common::LIST, "project_id": WEB, "name": "members", "key_field": "uid", "list_type": "cookies", "list_content": ""}
        ]
    }))
    .unwrap();
    let fake = fake_optimizely::FakeOptimizely::new(seed).unwrap();
    let running = fake.serve(([127, 0, 0, 1], 0).into()).await.unwrap();
    let every = "schedule = { every = \"1s\" }\n";
    let named = |sync: String, name: &str, file: &str| {
        sync.replace("name = \"defs\"", &format!("name = \"{name}\""))
            .replace("rows.csv", file)
            + every
    };
    let rows = |n: usize| -> String {
        let mut csv = String::from("key,name,about\n");
        for i in 1..=n {
            csv.push_str(&format!("k{i:02},Name {i},about {i}\n"));
        }
        csv
    };
    let setup = |project: i64, token: &str, syncs: String| {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("token"), token).unwrap();
        std::fs::write(dir.path().join("api_token"), API_TOKEN).unwrap();
        std::fs::write(
            dir.path().join("optisync.toml"),
            format!(
                "[optimizely]\nproject_id = {project}\ntoken = {{ file = \"token\" }}\napi_url = \"{}\"\n\n{syncs}{}",
                running.base_url(),
                serve_table("10s")
            ),
        )
        .unwrap();
        dir
    };
    let fx = setup(
        FX,
        FX_TOKEN,
        named(
            definition_sync(
                "attribute",
                "upsert",
                "{ key = \"key\", description = \"about\" }",
            ),
            "attrs",
            "attrs.csv",
        ) + &named(
            definition_sync(
                "custom_event",
                "upsert",
                "{ key = \"key\", name = \"name\" }",
            ),
            "events",
            "events.csv",
        ),
    );
    std::fs::write(fx.path().join("attrs.csv"), rows(12)).unwrap();
    std::fs::write(fx.path().join("events.csv"), rows(12)).unwrap();
    let web = setup(
        WEB,
        WEB_TOKEN,
        list_sync("mirror")
            + every
            + &named(
                definition_sync("attribute", "upsert", "{ key = \"key\" }"),
                "webattrs",
                "webattrs.csv",
            ),
    );
    let ids: Vec<String> = (1..=20).map(|i| format!("user-{i:02}")).collect();
    std::fs::write(
        web.path().join("users.csv"),
        format!("user_id\n{}\n", ids.join("\n")),
    )
    .unwrap();
    std::fs::write(web.path().join("webattrs.csv"), rows(6)).unwrap();

    let (fx_served, web_served) =
        tokio::join!(Served::start_in(fx.path()), Served::start_in(web.path()));
    // Each sync runs by itself, more than once: the first run creates, the next ones find
    // nothing to do.
    let twice = |doc: &Value| {
        doc["running"] == false && last_status(doc) == Some("succeeded") && {
            let started = doc["last_run"]["started_at"]
                .as_str()
                .unwrap_or_default()
                .to_owned();
            !started.is_empty()
        }
    };
    for (served, sync) in [
        (&fx_served, "attrs"),
        (&fx_served, "events"),
        (&web_served, "members"),
        (&web_served, "webattrs"),
    ] {
        let first = served.until(sync, twice).await;
        let first_id = first["last_run"]["id"].clone();
        served
            .until(sync, |doc| {
                twice(doc)
                    && doc["last_run"]["id"] != first_id
                    && doc["last_run"]["counts"]["requests_sent"] == 0
            })
            .await;
    }
    let state = fake.state();
    let count = |kind: &str, project: i64| {
        state[kind]
            .as_array()
            .unwrap()
            .iter()
            .filter(|o| o["project_id"] == project)
            .count()
    };
    assert_eq!(count("attributes", FX), 12, "each attribute exactly once");
    assert_eq!(count("events", FX), 12, "each event exactly once");
    assert_eq!(count("attributes", WEB), 6);
    let list = state["list_attributes"][0]["list_content"]
        .as_str()
        .unwrap();
    assert_eq!(list.split(',').count(), 20, "{list}");
    assert_eq!(
        fake.stats().total_429,
        0,
        "no request refused for the rate limit"
    );
    // The runs say so too.
    for (served, sync) in [(&fx_served, "attrs"), (&web_served, "members")] {
        let (_, runs) = served
            .get(&format!("/api/runs?sync={sync}&limit=500"))
            .await;
        for run in runs["runs"].as_array().unwrap() {
            assert_eq!(run["counts"]["throttled"], 0, "{run}");
        }
    }
    for served in [fx_served, web_served] {
        let (code, stderr) = served.terminate().await;
        assert_eq!(code, Some(0), "{stderr}");
    }
    running.shutdown().await;
}

/// What the test's webhook receiver got: each alert's signature header and body.
type Received = Arc<(Mutex<Vec<(String, String)>>, tokio::sync::Notify)>;

/// A webhook receiver on loopback; returns its URL.
async fn webhook_receiver(received: Received) -> String {
    let app = axum::Router::new().route(
        "/hook",
        axum::routing::post(
            |axum::extract::State(received): axum::extract::State<Received>,
             headers: axum::http::HeaderMap,
             body: String| async move {
                let signature = headers
                    .get("x-optisync-signature")
                    .and_then(|v| v.to_str().ok())
                    .unwrap_or_default()
                    .to_owned();
                received.0.lock().unwrap().push((signature, body));
                received.1.notify_waiters();
                "ok"
            },
        ),
    );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}/hook", listener.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(listener, app.with_state(received)).await });
    url
}

async fn alerts_at_least(received: &Received, n: usize) -> Vec<(String, String)> {
    let wait = async {
        loop {
            let notified = received.1.notified();
            {
                let got = received.0.lock().unwrap();
                if got.len() >= n {
                    return got.clone();
                }
            }
            notified.await;
        }
    };
    tokio::time::timeout(DEADLINE, wait)
        .await
        .unwrap_or_else(|_| panic!("fewer than {n} alerts arrived"))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn alerts_reach_a_webhook_signed_once_per_change_of_state() {
    const SECRET: &str = "webhook-signing-secret-42";
    let received: Received = Arc::default();
    let url = webhook_receiver(Arc::clone(&received)).await;
    let syncs = format!(
        "{}schedule = {{ every = \"1s\" }}\n{}alerts = [{{ url = {{ file = \"hook_url\" }}, secret = {{ file = \"hook_secret\" }} }}]\n",
        list_sync("mirror"),
        serve_table("5s")
    );
    let case = Case::new(WEB, "", &syncs).await;
    case.write("api_token", API_TOKEN);
    case.write("hook_url", &url);
    case.write("hook_secret", SECRET);
    // No users.csv: the model cannot be read, and every run fails.
    let served = Served::start(&case).await;
    let failing = alerts_at_least(&received, 1).await;
    // Two failures in a row, then the sync backs off; one alert for the change, not one per
    // run.
    served
        .until("members", |doc| {
            doc["consecutive_failures"].as_u64() >= Some(2)
        })
        .await;

    case.write("users.csv", "user_id\nu1\n");
    let (status, _) = served
        .post("/api/syncs/members/runs", Some(API_TOKEN))
        .await;
    assert_eq!(status, 202);
    let both = alerts_at_least(&received, 2).await;
    assert_eq!(both[0], failing[0]);
    // A later successful tick changes nothing: no third alert.
    let recovered = served
        .until("members", |doc| last_status(doc) == Some("succeeded"))
        .await;
    let first_success = recovered["last_run"]["id"].clone();
    served
        .until("members", |doc| {
            last_status(doc) == Some("succeeded") && doc["last_run"]["id"] != first_success
        })
        .await;
    let (code, stderr) = served.terminate().await;
    assert_eq!(code, Some(0), "{stderr}");
    let all = received.0.lock().unwrap().clone();
    assert_eq!(all.len(), 2, "one alert per change of state: {all:#?}");

    for ((header, body), kind) in all.iter().zip(["sync_failing", "sync_recovered"]) {
        let alert: Value = serde_json::from_str(body).unwrap();
        assert_eq!(alert["type"], kind, "{alert}");
        assert_eq!(alert["sync"], "members");
        let timestamp: i64 = header
            .strip_prefix("t=")
            .and_then(|rest| rest.split(',').next())
            .and_then(|t| t.parse().ok())
            .unwrap_or_else(|| panic!("signature header {header:?}"));
        assert_eq!(
            header,
            &optisync_serve::alerts::signature(SECRET, timestamp, body.as_bytes()),
            "the signature is HMAC-SHA256 of the timestamp and body with the secret"
        );
        assert!(!body.contains(SECRET));
    }
    assert!(!stderr.contains(SECRET) && !stderr.contains(&url));
    case.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_reload_waits_for_the_run_in_flight_and_loses_nothing() {
    let case = held_defs_case(6, "5s").await;
    // The run's second create is applied and its answer held: the run is in flight when the
    // reload comes.
    hold_create_after(&case, 1);
    let served = Served::start(&case).await;
    let (status, _) = served.post("/api/syncs/defs/runs", Some(API_TOKEN)).await;
    assert_eq!(status, 202);
    let held = tokio::time::timeout(DEADLINE, case.fake.wait_held(1)).await;
    assert!(held.is_ok(), "the run never reached its second create");

    served.signal("-HUP");
    served
        .stderr_contains("waiting for the runs in flight")
        .await;
    // Meanwhile the API answers, and the run shows as running.
    let (status, doc) = served.get("/api/syncs/defs").await;
    assert_eq!(status, 200);
    assert_eq!(doc["running"], true, "{doc}");
    let (status, _) = served.post("/api/syncs/defs/runs", Some(API_TOKEN)).await;
    assert_eq!(status, 409, "nothing new starts while reloading");

    case.fake.clear_faults();
    case.fake.release_held();
    let stderr = served.stderr_contains("config reloaded").await;
    assert!(!stderr.contains("reload refused"), "{stderr}");
    let doc = served.until("defs", |doc| doc["running"] == false).await;
    assert_eq!(last_status(&doc), Some("succeeded"), "{doc}");
    assert_eq!(case.objects("attributes", FX).len(), 6);
    // The new generation runs it again: nothing left to send.
    let (status, _) = served.post("/api/syncs/defs/runs", Some(API_TOKEN)).await;
    assert_eq!(status, 202);
    let again = served
        .until("defs", |d| {
            d["running"] == false && d["last_run"]["id"] != doc["last_run"]["id"]
        })
        .await;
    assert_eq!(again["last_run"]["counts"]["requests_sent"], 0, "{again}");
    assert_eq!(case.objects("attributes", FX).len(), 6);
    let (code, stderr) = served.terminate().await;
    assert_eq!(code, Some(0), "{stderr}");
    case.stop().await;
}
