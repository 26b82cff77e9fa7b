//! `optisync plan` and `sync` end to end: the real binary against the fake Optimizely over
//! TCP in a temp dir, with DuckDB models reading CSV files the tests write. For each object
//! type and mode: a first run, a no-op second run (zero write requests by the fake's own
//! counters), an incremental run; rejected rows retried until fixed; saved plans applied
//! exactly and refused when stale; exit codes 5, 6 and 7.

use std::path::Path;
use std::process::Output;

use fake_optimizely::{FakeOptimizely, RunningFake, Seed};
use serde_json::{Value, json};

const TOKEN: &str = "2:synctoken_abcdefghijklmnopqrstuvwxyz0123456789ABCDEFG";
const WEB: i64 = 21_000_000_001;
const FX: i64 = 21_000_000_002;
const LIST: i64 = 22_000_000_001;

fn seed(list_content: &str) -> Seed {
    serde_json::from_value(json!({
        "tokens": [{"token": TOKEN, "project_ids": [WEB, FX]}],
        "projects": [
            {"id": WEB, "name": "Web", "platform": "web", "status": "active", "is_flags_enabled": false},
            {"id": FX, "name": "App", "platform": "custom", "status": "active", "is_flags_enabled": true}
        ],
        "list_attributes": [
            {"id": LIST, "project_id": WEB, "name": "members", "key_field": "uid", "list_type": "cookies", "list_content": list_content}
        ],
        "rate_limits": {"fx_per_second": null, "fx_per_minute": null, "web_per_minute": null}
    }))
    .expect("seed is valid")
}

struct Case {
    dir: tempfile::TempDir,
    fake: FakeOptimizely,
    running: RunningFake,
}

impl Case {
    async fn new(list_content: &str, project: i64, syncs: &str) -> Self {
        let fake = FakeOptimizely::new(seed(list_content)).expect("fake starts");
        let running = fake
            .serve(([127, 0, 0, 1], 0).into())
            .await
            .expect("fake serves");
        let dir = tempfile::tempdir().expect("temp dir");
        std::fs::write(dir.path().join("token"), TOKEN).expect("token");
        let config = format!(
            "[optimizely]\nproject_id = {project}\ntoken = {{ file = \"token\" }}\napi_url = \"{}\"\nrate_limit = {{ per_second = 1000 }}\n{syncs}",
            running.base_url()
        );
        std::fs::write(dir.path().join("optisync.toml"), config).expect("config");
        Self { dir, fake, running }
    }

    fn path(&self) -> &Path {
        self.dir.path()
    }

    fn write(&self, file: &str, content: &str) {
        std::fs::write(self.path().join(file), content).expect("write csv");
    }

    async fn run(&self, args: &[&str]) -> Output {
        let dir = self.path().to_path_buf();
        let args: Vec<String> = args.iter().map(|s| (*s).to_owned()).collect();
        tokio::task::spawn_blocking(move || {
            std::process::Command::new(env!("CARGO_BIN_EXE_optisync"))
                .current_dir(&dir)
                .args(&args)
                .output()
                .expect("run optisync")
        })
        .await
        .expect("join")
    }

    /// Runs and asserts the exit code, returning stdout.
    async fn expect(&self, args: &[&str], code: i32) -> String {
        let out = self.run(args).await;
        let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
        let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
        assert_eq!(
            out.status.code(),
            Some(code),
            "optisync {args:?}\nstdout:\n{stdout}\nstderr:\n{stderr}"
        );
        stdout + &stderr
    }

    fn writes(&self) -> u64 {
        self.fake.stats().writes
    }

    fn list(&self) -> Vec<String> {
        let state = self.fake.state();
        let list = state["list_attributes"]
            .as_array()
            .and_then(|l| l.iter().find(|l| l["id"] == LIST))
            .cloned()
            .unwrap_or(Value::Null);
        let mut members: Vec<String> = list["list_content"]
            .as_str()
            .unwrap_or_default()
            .split(',')
            .filter(|s| !s.is_empty())
            .map(str::to_owned)
            .collect();
        members.sort();
        members
    }

    fn objects(&self, kind: &str) -> Vec<Value> {
        self.fake.state()[kind]
            .as_array()
            .cloned()
            .unwrap_or_default()
    }

    async fn stop(self) {
        self.running.shutdown().await;
    }
}

fn list_sync(mode: &str) -> String {
    format!(
        "[[sync]]\nname = \"members\"\nobject = \"list_attribute\"\nlist_attribute_id = {LIST}\nmode = \"{mode}\"\nmodel = \"select user_id from read_csv('users.csv', all_varchar = true)\"\nmapping = {{ user_id = \"user_id\" }}\n"
    )
}

fn ids(list: &[&str]) -> Vec<String> {
    let mut v: Vec<String> = list.iter().map(|s| (*s).to_owned()).collect();
    v.sort();
    v
}

#[tokio::test]
async fn list_mirror_first_noop_and_incremental_runs() {
    let case = Case::new("", WEB, &list_sync("mirror")).await;
    case.write("users.csv", "user_id\nu1\nu2\nu3\n");
    let plan = case.expect(&["plan", "--detailed-exitcode"], 2).await;
    assert!(plan.contains("3 added: u1, u2, u3"), "{plan}");
    assert_eq!(case.writes(), 0, "plan sends nothing");
    case.expect(&["sync"], 0).await;
    assert_eq!(case.list(), ids(&["u1", "u2", "u3"]));

    let before = case.writes();
    let noop = case.expect(&["sync"], 0).await;
    assert_eq!(case.writes(), before, "a second run sends no write request");
    // A no-op run still reads the list: reads are shown beside writes.
    assert!(noop.contains("1 read request, 0 write requests"), "{noop}");
    let status = case.expect(&["status"], 0).await;
    assert!(
        status.contains("1 read request, 0 write requests"),
        "{status}"
    );
    let runs = case.expect(&["runs", "--output", "json"], 0).await;
    let runs: Value = serde_json::from_str(&runs).unwrap();
    assert_eq!(runs["runs"][0]["reads"], 1, "{runs}");
    case.expect(&["plan", "--detailed-exitcode"], 0).await;

    // One member of ten leaves (under the 20% removal guardrail) and one joins.
    let ten = "user_id\nu1\nu2\nu3\nu4\nu5\nu6\nu7\nu8\nu9\nu10\n";
    case.write("users.csv", ten);
    case.expect(&["sync"], 0).await;
    let before = case.writes();
    case.write("users.csv", &ten.replace("u3\n", "u11\n"));
    let plan = case.expect(&["plan"], 0).await;
    assert!(plan.contains("+ 1 added: u11"), "{plan}");
    assert!(plan.contains("- 1 removed: u3"), "{plan}");
    case.expect(&["sync"], 0).await;
    assert_eq!(case.writes(), before + 1, "one whole-list PATCH");
    assert_eq!(
        case.list(),
        ids(&["u1", "u10", "u11", "u2", "u4", "u5", "u6", "u7", "u8", "u9"])
    );
    case.stop().await;
}

#[tokio::test]
async fn list_add_keeps_members_and_remove_takes_them_out() {
    let case = Case::new("old1,old2", WEB, &list_sync("add")).await;
    case.write("users.csv", "user_id\nu1\n");
    case.expect(&["sync"], 0).await;
    assert_eq!(case.list(), ids(&["old1", "old2", "u1"]));
    let before = case.writes();
    case.expect(&["sync"], 0).await;
    assert_eq!(case.writes(), before);
    case.write("users.csv", "user_id\nu2\n");
    case.expect(&["sync"], 0).await;
    assert_eq!(case.list(), ids(&["old1", "old2", "u1", "u2"]));
    case.stop().await;

    let case = Case::new("a1,a2,a3,a4,a5,a6,a7,a8,a9,a10", WEB, &list_sync("remove")).await;
    case.write("users.csv", "user_id\na1\n");
    case.expect(&["sync"], 0).await;
    assert_eq!(case.list().len(), 9);
    let before = case.writes();
    case.expect(&["sync"], 0).await;
    assert_eq!(case.writes(), before);
    case.write("users.csv", "user_id\na1\na2\n");
    case.expect(&["sync"], 0).await;
    assert!(!case.list().contains(&"a2".to_owned()));
    assert_eq!(case.list().len(), 8);
    case.stop().await;
}

#[tokio::test]
async fn pii_and_large_removal_guardrails_exit_7_before_any_request() {
    let case = Case::new("", WEB, &list_sync("mirror")).await;
    case.write("users.csv", "user_id\njane@example.com\nu2\n");
    let out = case.expect(&["sync"], 7).await;
    assert!(out.contains("allow_pii = true"), "{out}");
    assert_eq!(case.writes(), 0);

    case.write("users.csv", "user_id\nu1\nu2\nu3\nu4\nu5\n");
    case.expect(&["sync"], 0).await;
    case.write("users.csv", "user_id\nu1\n");
    let out = case.expect(&["sync"], 7).await;
    assert!(out.contains("--allow-large-removal"), "{out}");
    case.expect(&["sync", "--allow-large-removal"], 0).await;
    assert_eq!(case.list(), ids(&["u1"]));
    case.stop().await;
}

#[tokio::test]
async fn a_list_on_feature_experimentation_is_refused() {
    let case = Case::new("", FX, &list_sync("mirror")).await;
    case.write("users.csv", "user_id\nu1\n");
    let out = case.expect(&["plan"], 3).await;
    assert!(
        out.contains("list attributes are not available in Feature Experimentation"),
        "{out}"
    );
    case.stop().await;
}

#[tokio::test]
async fn a_locked_sync_exits_6_naming_the_holder() {
    let case = Case::new("", WEB, &list_sync("mirror")).await;
    case.write("users.csv", "user_id\nu1\n");
    let store = optisync_state::Store::open(&case.path().join(".optisync")).expect("store");
    let lock = store
        .acquire_lock(
            "members",
            &optisync_state::LockHolder::this_process("a test holding the lock"),
        )
        .expect("lock");
    let out = case.expect(&["sync"], 6).await;
    assert!(out.contains("a test holding the lock"), "{out}");
    lock.release().expect("release");
    case.expect(&["sync"], 0).await;
    case.stop().await;
}

#[tokio::test]
async fn a_saved_plan_is_applied_exactly_and_refused_once_stale() {
    let case = Case::new("", WEB, &list_sync("mirror")).await;
    case.write("users.csv", "user_id\nu1\nu2\n");
    case.expect(&["plan", "--out", "plan.json"], 0).await;
    // The model changes after planning: the saved plan is still what gets sent.
    case.write("users.csv", "user_id\nu9\n");
    case.expect(&["sync", "--plan", "plan.json"], 0).await;
    assert_eq!(case.list(), ids(&["u1", "u2"]));
    let out = case.expect(&["sync", "--plan", "plan.json"], 3).await;
    assert!(out.contains("stale"), "{out}");
    case.stop().await;
}

fn definition_sync(name: &str, object: &str, mode: &str, model: &str, mapping: &str) -> String {
    let extra = if object == "audience" {
        "audience_name = \"{name}\"\nprimary_key = [\"id\"]\n"
    } else {
        ""
    };
    format!(
        "[[sync]]\nname = \"{name}\"\nobject = \"{object}\"\nmode = \"{mode}\"\n{extra}model = \"{model}\"\nmapping = {mapping}\n"
    )
}

/// First run, no-op, incremental run for one definition sync.
async fn definitions_round_trip(
    object: &str,
    kind: &str,
    mode: &str,
    columns: &str,
    mapping: &str,
) {
    let model = "select * from read_csv('rows.csv', all_varchar = true)";
    let case = Case::new(
        "",
        FX,
        &definition_sync("defs", object, mode, model, mapping),
    )
    .await;
    case.write(
        "rows.csv",
        &format!("{columns}\nk1,First,one\nk2,Second,two\n"),
    );
    let plan = case.expect(&["plan", "--detailed-exitcode"], 2).await;
    assert!(plan.contains("+ "), "{plan}");
    case.expect(&["sync"], 0).await;
    let count = |c: &Case| {
        c.objects(kind)
            .iter()
            .filter(|o| o["project_id"] == FX)
            .count()
    };
    assert_eq!(count(&case), 2, "{object} {mode}");
    let before = case.writes();
    case.expect(&["sync"], 0).await;
    assert_eq!(case.writes(), before, "no-op second run of {object} {mode}");

    case.write(
        "rows.csv",
        &format!("{columns}\nk1,First,changed\nk2,Second,two\nk3,Third,three\n"),
    );
    let plan = case.expect(&["plan"], 0).await;
    if mode == "upsert" {
        assert!(plan.contains("\"one\" → \"changed\""), "{plan}");
    }
    case.expect(&["sync"], 0).await;
    assert_eq!(count(&case), 3);
    let expected = if mode == "upsert" { 2 } else { 1 };
    assert_eq!(case.writes(), before + expected, "{object} {mode}");
    case.stop().await;
}

#[tokio::test]
async fn attributes_upsert_and_insert() {
    let mapping = "{ key = \"key\", description = \"about\" }";
    definitions_round_trip(
        "attribute",
        "attributes",
        "upsert",
        "key,label,about",
        mapping,
    )
    .await;
    definitions_round_trip(
        "attribute",
        "attributes",
        "insert",
        "key,label,about",
        mapping,
    )
    .await;
}

#[tokio::test]
async fn custom_events_upsert_and_insert() {
    let mapping = "{ key = \"key\", name = \"label\", description = \"about\" }";
    definitions_round_trip(
        "custom_event",
        "events",
        "upsert",
        "key,label,about",
        mapping,
    )
    .await;
    definitions_round_trip(
        "custom_event",
        "events",
        "insert",
        "key,label,about",
        mapping,
    )
    .await;
}

#[tokio::test]
async fn audiences_upsert_and_insert() {
    let mapping = "{ description = \"about\" }";
    definitions_round_trip("audience", "audiences", "upsert", "id,name,about", mapping).await;
    definitions_round_trip("audience", "audiences", "insert", "id,name,about", mapping).await;
}

/// An attribute upsert sync named `attrs` on the FX project, reading `rows.csv`.
async fn attribute_case() -> Case {
    let model = "select * from read_csv('rows.csv', all_varchar = true)";
    Case::new(
        "",
        FX,
        &definition_sync("attrs", "attribute", "upsert", model, "{ key = \"key\" }"),
    )
    .await
}

#[tokio::test]
async fn a_rejected_row_exits_5_and_is_delivered_once_fixed() {
    let case = attribute_case().await;
    case.write("rows.csv", "key\ngood\nbad/key!\n");
    let out = case.expect(&["sync"], 5).await;
    assert!(out.contains("bad/key!"), "{out}");
    assert_eq!(case.objects("attributes").len(), 1);
    let runs = case.expect(&["runs", "--output", "json"], 0).await;
    assert!(runs.contains("rejected_rows"), "{runs}");
    let status = case.expect(&["status"], 0).await;
    assert!(status.contains("pending rejected rows: 1"), "{status}");

    case.write("rows.csv", "key\ngood\nbad_key\n");
    case.expect(&["sync"], 0).await;
    assert_eq!(case.objects("attributes").len(), 2);
    case.expect(&["reset", "attrs", "--yes"], 0).await;
    case.stop().await;
}

/// Replaces what changes from run to run or server to server (the fake's address, RFC 3339
/// timestamps, the ids Optimizely assigned) so that snapshots compare only what optisync
/// decided.
fn redact(text: &str, case: &Case) -> String {
    let mut text = text.replace(&case.running.base_url(), "[api_url]");
    for marker in ["(id ", "\"remote_id\": "] {
        let mut from = 0;
        while let Some(found) = text[from..].find(marker) {
            let start = from + found + marker.len();
            let digits = text[start..].bytes().take_while(u8::is_ascii_digit).count();
            text.replace_range(start..start + digits, "[id]");
            from = start;
        }
    }
    let bytes = text.as_bytes();
    let is_stamp = |at: usize| {
        let pattern = b"dddd-dd-ddTdd:dd:dd";
        bytes.len() >= at + pattern.len()
            && pattern.iter().enumerate().all(|(i, p)| match p {
                b'd' => bytes[at + i].is_ascii_digit(),
                other => bytes[at + i] == *other,
            })
    };
    let mut out = String::with_capacity(text.len());
    let mut at = 0;
    while at < bytes.len() {
        if is_stamp(at) {
            out.push_str("[time]");
            at += 19;
            while at < bytes.len() && !matches!(bytes[at], b'"' | b' ' | b'\n' | b')' | b',') {
                at += 1;
            }
        } else {
            let ch = text[at..].chars().next().expect("in bounds");
            out.push(ch);
            at += ch.len_utf8();
        }
    }
    out
}

#[tokio::test]
async fn plan_text_and_json_snapshots() {
    let case = Case::new("old1,u1", WEB, &list_sync("mirror")).await;
    case.write("users.csv", "user_id\nu1\nu2\nu3\n");
    let text = case.expect(&["plan"], 0).await;
    insta::assert_snapshot!("list_mirror_plan_text", redact(&text, &case));
    let json = case.expect(&["plan", "--output", "json"], 0).await;
    insta::assert_snapshot!("list_mirror_plan_json", redact(&json, &case));
    case.stop().await;

    let model = "select * from read_csv('rows.csv', all_varchar = true)";
    let case = Case::new(
        "",
        FX,
        &definition_sync(
            "events",
            "custom_event",
            "upsert",
            model,
            "{ key = \"key\", name = \"label\", description = \"about\" }",
        ),
    )
    .await;
    case.write(
        "rows.csv",
        "key,label,about\nsignup,Signed up,one\nbad key!,Bad,x\n",
    );
    case.expect(&["sync"], 5).await;
    case.write(
        "rows.csv",
        "key,label,about\nsignup,Signed up,changed\ncheckout,Checked out,two\nbad key!,Bad,x\n",
    );
    let text = case.expect(&["plan"], 0).await;
    insta::assert_snapshot!("events_upsert_plan_text", redact(&text, &case));
    let json = case.expect(&["plan", "--output", "json"], 0).await;
    insta::assert_snapshot!("events_upsert_plan_json", redact(&json, &case));
    case.stop().await;
}

#[tokio::test]
async fn bad_model_input_is_named_and_the_good_rows_go_on() {
    let case = attribute_case().await;
    // Duplicate and empty keys are rejected by row; the good row is delivered.
    case.write("rows.csv", "key\ngood\ntwice\ntwice\n\"\"\n");
    let out = case.expect(&["sync"], 5).await;
    assert!(
        out.contains("primary key \"twice\" appears in 2 rows"),
        "{out}"
    );
    assert!(out.contains("primary key is null or empty"), "{out}");
    let keys: Vec<String> = case
        .objects("attributes")
        .iter()
        .map(|a| a["key"].as_str().unwrap_or_default().to_owned())
        .collect();
    assert!(keys.contains(&"good".to_owned()), "{keys:?}");

    // A model that returns nothing after it returned rows is a guardrail.
    case.write("rows.csv", "key\n");
    let out = case.expect(&["sync"], 7).await;
    assert!(out.contains("--allow-empty"), "{out}");
    case.stop().await;

    // A model with a SQL error shows DuckDB's own message.
    let case = Case::new(
        "",
        FX,
        &definition_sync(
            "attrs",
            "attribute",
            "upsert",
            "selec key from nowhere",
            "{ key = \"key\" }",
        ),
    )
    .await;
    let out = case.run(&["sync"]).await;
    let text =
        String::from_utf8_lossy(&out.stdout).into_owned() + &String::from_utf8_lossy(&out.stderr);
    eprintln!("SQL {:?}: {text}", out.status.code());
    assert!(text.contains("syntax error"), "{text}");
    assert!(text.contains("attrs"), "{text}");
    case.stop().await;

    // A mapping naming a column the model does not have.
    let model = "select * from read_csv('rows.csv', all_varchar = true)";
    let case = Case::new(
        "",
        FX,
        &definition_sync(
            "attrs",
            "attribute",
            "upsert",
            model,
            "{ key = \"attribute_key\" }",
        ),
    )
    .await;
    case.write("rows.csv", "key\ngood\n");
    let out = case.run(&["sync"]).await;
    let text =
        String::from_utf8_lossy(&out.stdout).into_owned() + &String::from_utf8_lossy(&out.stderr);
    assert!(text.contains("attribute_key"), "{text}");
    case.stop().await;
}
