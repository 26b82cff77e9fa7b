//! What the reliability tests share: a temp dir with a config and a token file, a fake
//! Optimizely serving it over TCP, and the real `optisync` binary run in that dir.

#![allow(dead_code, clippy::unwrap_used)]

use std::path::Path;
use std::process::{Child, Command, Output, Stdio};

use fake_optimizely::{FakeOptimizely, RunningFake, Seed};
use serde_json::{Value, json};

pub(crate) const TOKEN: &str = "2:reliabilitytoken_abcdefghijklmnopqrstuvwxyz0123456789AB";
pub(crate) const WEB: i64 = 27_000_000_001;
pub(crate) const FX: i64 = 27_000_000_002;
pub(crate) const LIST: i64 = 28_000_000_001;

pub(crate) fn seed(list_content: &str) -> Seed {
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
    .unwrap()
}

/// One temp dir, one config, one fake.
pub(crate) struct Case {
    pub(crate) dir: tempfile::TempDir,
    pub(crate) fake: FakeOptimizely,
    pub(crate) running: RunningFake,
}

impl Case {
    /// A case on `project` whose config holds `syncs` (TOML `[[sync]]` tables).
    pub(crate) async fn new(project: i64, list_content: &str, syncs: &str) -> Self {
        let fake = FakeOptimizely::new(seed(list_content)).unwrap();
        let running = fake.serve(([127, 0, 0, 1], 0).into()).await.unwrap();
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("token"), TOKEN).unwrap();
        let config = format!(
            "[optimizely]\nproject_id = {project}\ntoken = {{ file = \"token\" }}\napi_url = \"{}\"\nrate_limit = {{ per_second = 1000 }}\n\n{syncs}",
            running.base_url()
        );
        std::fs::write(dir.path().join("optisync.toml"), config).unwrap();
        Self { dir, fake, running }
    }

    /// Lets one request take up to an hour instead of 30 s: a test that holds requests in the
    /// fake must not race the client's timeout, however slow the machine.
    pub(crate) fn patient(&self) {
        let path = self.path().join("optisync.toml");
        let config = std::fs::read_to_string(&path).unwrap();
        let limit = "rate_limit = { per_second = 1000 }\n";
        assert!(config.contains(limit));
        std::fs::write(
            &path,
            config.replace(limit, &format!("{limit}timeout = \"1h\"\n")),
        )
        .unwrap();
    }

    pub(crate) fn path(&self) -> &Path {
        self.dir.path()
    }

    pub(crate) fn write(&self, file: &str, content: &str) {
        std::fs::write(self.path().join(file), content).unwrap();
    }

    /// `optisync ARGS` in the case's dir, started and not waited for.
    pub(crate) fn spawn(&self, args: &[&str]) -> Child {
        Command::new(env!("CARGO_BIN_EXE_optisync"))
            .current_dir(self.path())
            .args(args)
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap()
    }

    /// Runs to the end (off the async runtime, which serves the fake).
    pub(crate) async fn run(&self, args: &[&str]) -> Output {
        let child = self.spawn(args);
        tokio::task::spawn_blocking(move || child.wait_with_output().unwrap())
            .await
            .unwrap()
    }

    /// Runs and asserts the exit code; returns stdout and stderr together.
    pub(crate) async fn expect(&self, args: &[&str], code: i32) -> String {
        let out = self.run(args).await;
        let text = format!(
            "{}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
        assert_eq!(out.status.code(), Some(code), "optisync {args:?}\n{text}");
        text
    }

    pub(crate) fn writes(&self) -> u64 {
        self.fake.stats().writes
    }

    /// The list attribute's members, sorted.
    pub(crate) fn list(&self) -> Vec<String> {
        let state = self.fake.state();
        let content = state["list_attributes"]
            .as_array()
            .and_then(|l| l.iter().find(|l| l["id"] == LIST))
            .and_then(|l| l["list_content"].as_str().map(str::to_owned))
            .unwrap_or_default();
        let mut members: Vec<String> = content
            .split(',')
            .filter(|s| !s.is_empty())
            .map(str::to_owned)
            .collect();
        members.sort();
        members
    }

    /// The fake's objects of `kind` (`attributes`, `audiences`, `events`) in `project`.
    pub(crate) fn objects(&self, kind: &str, project: i64) -> Vec<Value> {
        self.fake.state()[kind]
            .as_array()
            .cloned()
            .unwrap_or_default()
            .into_iter()
            .filter(|o| o["project_id"] == project)
            .collect()
    }

    pub(crate) async fn stop(self) {
        self.running.shutdown().await;
    }
}

/// A list-attribute sync reading `users.csv`.
pub(crate) fn list_sync(mode: &str) -> String {
    format!(
        "[[sync]]\nname = \"members\"\nobject = \"list_attribute\"\nlist_attribute_id = {LIST}\nmode = \"{mode}\"\nmodel = \"select user_id from read_csv('users.csv', all_varchar = true)\"\nmapping = {{ user_id = \"user_id\" }}\n"
    )
}

/// A definition sync named `defs` reading `rows.csv`.
pub(crate) fn definition_sync(object: &str, mode: &str, mapping: &str) -> String {
    let extra = if object == "audience" {
        "audience_name = \"{name}\"\nprimary_key = [\"key\"]\n"
    } else {
        ""
    };
    format!(
        "[[sync]]\nname = \"defs\"\nobject = \"{object}\"\nmode = \"{mode}\"\n{extra}model = \"select * from read_csv('rows.csv', all_varchar = true)\"\nmapping = {mapping}\n"
    )
}

/// The scenario of one object type: `attribute`, `custom_event`, `audience` or
/// `list_attribute`.
pub(crate) fn scenario(object: &str) -> Scenario {
    [attributes(), events(), audiences(), list()]
        .into_iter()
        .find(|s| s.name == object)
        .unwrap()
}

pub(crate) const ROWS: usize = 6;

/// One object type's scenario: the sync, its model and how to read the fake's result.
pub(crate) struct Scenario {
    pub(crate) name: &'static str,
    pub(crate) project: i64,
    pub(crate) sync: String,
    pub(crate) file: &'static str,
    pub(crate) model: String,
    /// Writes a full run from nothing sends.
    pub(crate) writes: u64,
    /// What the fake holds, comparable with [`Scenario::expected`].
    pub(crate) held: fn(&Case) -> Vec<String>,
    pub(crate) expected: Vec<String>,
}

fn rows() -> (String, Vec<String>) {
    let mut csv = String::from("key,name,about\n");
    let mut keys = Vec::new();
    for i in 1..=ROWS {
        csv.push_str(&format!("k{i},Name {i},about {i}\n"));
        keys.push(format!("k{i}|about {i}"));
    }
    (csv, keys)
}

fn attributes() -> Scenario {
    let (model, expected) = rows();
    Scenario {
        name: "attribute",
        project: FX,
        sync: definition_sync(
            "attribute",
            "upsert",
            "{ key = \"key\", description = \"about\" }",
        ),
        file: "rows.csv",
        model,
        writes: ROWS as u64,
        held: |case| keyed(case, "attributes", "key"),
        expected,
    }
}

fn events() -> Scenario {
    let (model, expected) = rows();
    Scenario {
        name: "custom_event",
        project: FX,
        sync: definition_sync(
            "custom_event",
            "upsert",
            "{ key = \"key\", name = \"name\", description = \"about\" }",
        ),
        file: "rows.csv",
        model,
        writes: ROWS as u64,
        held: |case| keyed(case, "events", "key"),
        expected,
    }
}

fn audiences() -> Scenario {
    let (model, _) = rows();
    Scenario {
        name: "audience",
        project: FX,
        sync: definition_sync("audience", "upsert", "{ description = \"about\" }"),
        file: "rows.csv",
        model,
        writes: ROWS as u64,
        held: |case| keyed(case, "audiences", "name"),
        expected: (1..=ROWS).map(|i| format!("Name {i}|about {i}")).collect(),
    }
}

fn list() -> Scenario {
    let ids: Vec<String> = (1..=40).map(|i| format!("user-{i:03}")).collect();
    Scenario {
        name: "list_attribute",
        project: WEB,
        sync: list_sync("mirror"),
        file: "users.csv",
        model: format!("user_id\n{}\n", ids.join("\n")),
        writes: 1,
        held: |case| case.list(),
        expected: ids,
    }
}

/// `identity|description` of every object of `kind`, sorted; duplicates stay visible.
fn keyed(case: &Case, kind: &str, identity: &str) -> Vec<String> {
    let mut held: Vec<String> = case
        .objects(kind, FX)
        .iter()
        .map(|o| {
            format!(
                "{}|{}",
                o[identity].as_str().unwrap_or_default(),
                o["description"].as_str().unwrap_or_default()
            )
        })
        .collect();
    held.sort();
    held
}

/// A small deterministic generator (xorshift), so every kill moment is reproducible.
pub(crate) struct Rng(u64);

impl Rng {
    pub(crate) fn new(seed: u64) -> Self {
        Self(seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1)
    }

    pub(crate) fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }

    /// A number in `0..n`.
    pub(crate) fn below(&mut self, n: u64) -> u64 {
        self.next() % n.max(1)
    }
}
