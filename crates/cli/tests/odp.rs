//! ODP attributes end to end: the real binary, a DuckDB model over CSV files the tests write,
//! and the fake's ODP side over TCP. After each run the test asks the fake's GraphQL exactly
//! what a Feature Experimentation SDK asks (`customer(fs_user_id) { audiences(subset) }`, with
//! the datafile's public key) and checks that every model user, and nobody else, qualifies
//! for the segment built on the field.

use std::path::Path;
use std::process::Output;

use fake_optimizely::{
    DEMO_ODP_PRIVATE_KEY, DEMO_ODP_PUBLIC_KEY, FakeOptimizely, OdpSeed, RefusedIdentifier,
    RunningFake, Seed,
};
use serde_json::{Value, json};

const TOKEN: &str = "2:odptoken_abcdefghijklmnopqrstuvwxyz0123456789ABCDEFGH";
const FX: i64 = 21_000_000_002;
const SEGMENT: &str = "beta_users";

fn seed(identifiers: &[&str]) -> Seed {
    let mut seed: Seed = serde_json::from_value(json!({
        "tokens": [{"token": TOKEN, "project_ids": [FX]}],
        "projects": [
            {"id": FX, "name": "App", "platform": "custom", "status": "active", "is_flags_enabled": true}
        ],
        "rate_limits": {"fx_per_second": null, "fx_per_minute": null, "web_per_minute": null,
                        "odp_profiles_per_second": null}
    }))
    .expect("seed is valid");
    seed.odp = Some(
        serde_json::from_value::<OdpSeed>(json!({
            "identifiers": identifiers,
            "project_ids": [FX],
            "fields": [
                {"name": "in_beta", "type": "boolean"},
                {"name": "tier", "type": "string"}
            ],
            "segments": [
                {"name": SEGMENT, "rule": {"equals": {"field": "in_beta", "value": true}}},
                {"name": "gold", "rule": {"equals": {"field": "tier", "value": "gold"}}}
            ]
        }))
        .expect("ODP seed is valid"),
    );
    seed
}

struct Case {
    dir: tempfile::TempDir,
    fake: FakeOptimizely,
    running: RunningFake,
}

impl Case {
    async fn new(syncs: &str) -> Self {
        Self::with_seed(seed(&["email", "vuid", "fs_user_id"]), syncs).await
    }

    async fn with_seed(seed: Seed, syncs: &str) -> Self {
        let fake = FakeOptimizely::new(seed).expect("fake starts");
        let running = fake
            .serve(([127, 0, 0, 1], 0).into())
            .await
            .expect("fake serves");
        let dir = tempfile::tempdir().expect("temp dir");
        std::fs::write(dir.path().join("token"), TOKEN).expect("token");
        std::fs::write(dir.path().join("odp_key"), DEMO_ODP_PRIVATE_KEY).expect("key");
        let config = format!(
            "[optimizely]\nproject_id = {FX}\ntoken = {{ file = \"token\" }}\napi_url = \"{}\"\n\n[odp]\nprivate_key = {{ file = \"odp_key\" }}\napi_url = \"{}\"\n\n{syncs}",
            running.base_url(),
            running.odp_base_url()
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

    /// Runs and asserts the exit code, returning stdout and stderr.
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

    /// Profile upsert requests the fake answered so far.
    fn profile_posts(&self) -> usize {
        self.fake
            .requests()
            .iter()
            .filter(|e| e.method == "POST" && e.path_template == "/v3/profiles")
            .count()
    }

    /// Items of the profile writes the fake accepted so far.
    fn items_written(&self) -> usize {
        self.fake.odp_profile_writes().len()
    }

    /// What an FX SDK asks: the datafile's ODP host and public key, then GraphQL for
    /// `user`'s audiences among `segments`; the names answered `qualified`.
    async fn qualified(&self, user: &str, segments: &[&str]) -> Vec<String> {
        let http = reqwest::Client::new();
        let query = "query($userId: String, $audiences: [String]) {customer(fs_user_id: $userId) {audiences(subset: $audiences) {edges {node {name state}}}}}";
        let answer: Value = http
            .post(format!("{}/graphql", self.running.odp_base_url()))
            .header("x-api-key", DEMO_ODP_PUBLIC_KEY)
            .header("content-type", "application/json")
            .body(
                json!({"query": query, "variables": {"userId": user, "audiences": segments}})
                    .to_string(),
            )
            .send()
            .await
            .expect("graphql answers")
            .text()
            .await
            .map(|text| serde_json::from_str(&text).expect("graphql JSON"))
            .expect("graphql body");
        if answer["errors"].is_array() {
            // An unknown user qualifies for nothing.
            return Vec::new();
        }
        let mut names: Vec<String> = answer["data"]["customer"]["audiences"]["edges"]
            .as_array()
            .expect("edges")
            .iter()
            .filter(|e| e["node"]["state"] == "qualified")
            .map(|e| e["node"]["name"].as_str().unwrap_or_default().to_owned())
            .collect();
        names.sort();
        names
    }

    /// Asserts that exactly `members` of `all` qualify for the segment.
    async fn assert_segment(&self, all: &[&str], members: &[&str]) {
        for user in all {
            let qualified = self.qualified(user, &[SEGMENT]).await;
            assert_eq!(
                qualified.contains(&SEGMENT.to_owned()),
                members.contains(user),
                "user {user}: {qualified:?}"
            );
        }
    }

    async fn stop(self) {
        self.running.shutdown().await;
    }
}

fn odp_sync(mode: &str, extra: &str) -> String {
    format!(
        "[[sync]]\nname = \"beta\"\nobject = \"odp_attribute\"\nmode = \"{mode}\"\nfield = \"in_beta\"\nmodel = \"select user_id from read_csv('users.csv', all_varchar = true)\"\nmapping = {{ user_id = \"user_id\" }}\n{extra}"
    )
}

const EVERYONE: [&str; 6] = ["u1", "u2", "u3", "u4", "u5", "stranger"];

#[tokio::test]
async fn mirror_first_noop_incremental_and_leavers_as_an_fx_sdk_sees_them() {
    let case = Case::new(&odp_sync("mirror", "")).await;
    case.write("users.csv", "user_id\nu1\nu2\nu3\n");

    let plan = case.expect(&["plan"], 0).await;
    assert!(plan.contains("3 joining, 0 changing, 0 cleared"), "{plan}");
    assert!(plan.contains("1 write request"), "{plan}");
    assert_eq!(case.profile_posts(), 0, "plan sends nothing");

    let out = case.expect(&["sync"], 0).await;
    assert!(
        out.contains("3 profiles given in_beta and 0 cleared"),
        "{out}"
    );
    assert_eq!(case.profile_posts(), 1);
    case.assert_segment(&EVERYONE, &["u1", "u2", "u3"]).await;

    // No-op: nothing sent, and nothing read from ODP either.
    let requests = case.fake.requests().len();
    let out = case.expect(&["sync"], 0).await;
    assert_eq!(case.profile_posts(), 1, "{out}");
    assert_eq!(
        case.fake.requests().len(),
        requests,
        "a no-op run makes no request"
    );

    // Incremental: u4 joins, u2 leaves; only those two profiles are sent.
    case.write("users.csv", "user_id\nu1\nu3\nu4\n");
    let before = case.items_written();
    let plan = case.expect(&["plan", "--allow-large-removal"], 0).await;
    assert!(plan.contains("1 joining, 0 changing, 1 cleared"), "{plan}");
    case.expect(&["sync", "--allow-large-removal"], 0).await;
    assert_eq!(case.items_written() - before, 2);
    case.assert_segment(&EVERYONE, &["u1", "u3", "u4"]).await;
    let u2 = case
        .fake
        .odp_profile("fs_user_id", "u2")
        .expect("u2 exists");
    assert_eq!(u2["in_beta"], json!(false), "a leaver's boolean is false");

    // The run record counts the one profile request and the one schema read.
    let out = case.run(&["runs", "--output", "json"]).await;
    let runs: Value = serde_json::from_slice(&out.stdout).expect("runs JSON");
    let last = &runs["runs"][0];
    assert_eq!(
        (&last["requests_sent"], &last["reads"]),
        (&json!(1), &json!(1)),
        "{runs}"
    );
    case.stop().await;
}

#[tokio::test]
async fn add_keeps_leavers_and_remove_clears_model_users() {
    let case = Case::new(&odp_sync("add", "")).await;
    case.write("users.csv", "user_id\nu1\nu2\n");
    case.expect(&["sync"], 0).await;
    case.write("users.csv", "user_id\nu3\n");
    case.expect(&["sync"], 0).await;
    case.assert_segment(&EVERYONE, &["u1", "u2", "u3"]).await;

    // One sync sets u1 and u2; another, in remove mode, clears its model's users.
    let syncs = format!(
        "{}{}",
        odp_sync("add", "").replace("name = \"beta\"", "name = \"adder\""),
        odp_sync("remove", "")
            .replace("name = \"beta\"", "name = \"remover\"")
            .replace("users.csv", "leavers.csv")
    );
    let case2 = Case::new(&syncs).await;
    case2.write("users.csv", "user_id\nu1\nu2\n");
    case2.write("leavers.csv", "user_id\nu2\n");
    case2.expect(&["sync", "adder"], 0).await;
    case2.expect(&["sync", "remover"], 0).await;
    case2.assert_segment(&EVERYONE, &["u1"]).await;
    // Cleared once: a second run sends nothing.
    let posts = case2.profile_posts();
    case2.expect(&["sync", "remover"], 0).await;
    assert_eq!(case2.profile_posts(), posts);
    case.stop().await;
    case2.stop().await;
}

#[tokio::test]
async fn values_of_a_text_field_and_their_changes() {
    let sync = "[[sync]]\nname = \"tiers\"\nobject = \"odp_attribute\"\nmode = \"mirror\"\nfield = \"tier\"\nmodel = \"select user_id, tier from read_csv('tiers.csv', all_varchar = true)\"\nmapping = { user_id = \"user_id\", value = \"tier\" }\n";
    let case = Case::new(sync).await;
    case.write("tiers.csv", "user_id,tier\nu1,gold\nu2,silver\n");
    case.expect(&["sync"], 0).await;
    assert_eq!(case.qualified("u1", &["gold"]).await, ["gold"]);
    assert!(case.qualified("u2", &["gold"]).await.is_empty());
    case.write("tiers.csv", "user_id,tier\nu1,gold\nu2,gold\n");
    let plan = case.expect(&["plan"], 0).await;
    assert!(plan.contains("~ u2: \"silver\" → \"gold\""), "{plan}");
    case.expect(&["sync"], 0).await;
    assert_eq!(case.qualified("u2", &["gold"]).await, ["gold"]);
    case.stop().await;
}

#[tokio::test]
async fn a_batch_answer_refusing_some_profiles_rejects_those_and_sends_the_rest() {
    let case = Case::new(&odp_sync("mirror", "")).await;
    case.fake
        .refuse_odp_identifier(RefusedIdentifier::new("fs_user_id", "u2"))
        .expect("refusal seeded");
    case.write("users.csv", "user_id\nu1\nu2\nu3\n");
    let out = case.expect(&["sync"], 5).await;
    assert!(out.contains("ODP refused this profile"), "{out}");
    assert!(out.contains("u2"), "{out}");
    case.assert_segment(&EVERYONE, &["u1", "u3"]).await;
    // The refused profile is tried again next run, and goes once ODP takes it.
    case.fake.clear_refused_odp_identifiers();
    case.expect(&["sync"], 0).await;
    case.assert_segment(&EVERYONE, &["u1", "u2", "u3"]).await;
    case.stop().await;
}

#[tokio::test]
async fn batches_of_five_hundred_under_the_real_limit_without_a_429() {
    let mut seed = seed(&["email", "vuid", "fs_user_id"]);
    seed.rate_limits.odp_profiles_per_second = Some(10);
    let case = Case::with_seed(seed, &odp_sync("mirror", "")).await;
    let users: String = (0..12_345).map(|i| format!("user-{i:05}\n")).collect();
    case.write("users.csv", &format!("user_id\n{users}"));
    let out = case.expect(&["sync", "-v"], 0).await;
    assert_eq!(case.profile_posts(), 25, "{out}");
    assert!(
        case.fake.requests().iter().all(|e| e.status != 429),
        "no 429"
    );
    assert_eq!(case.items_written(), 12_345);
    case.assert_segment(
        &["user-00000", "user-12344", "user-12345"],
        &["user-00000", "user-12344"],
    )
    .await;
    case.stop().await;
}

#[tokio::test]
async fn bad_inputs_each_say_what_to_fix() {
    // A field ODP does not have.
    let case = Case::new(&odp_sync("mirror", "").replace("in_beta", "in_betta")).await;
    case.write("users.csv", "user_id\nu1\n");
    let out = case.expect(&["sync"], 3).await;
    assert!(
        out.contains("ODP has no customer field \"in_betta\"") && out.contains("--create-fields"),
        "{out}"
    );
    assert_eq!(case.profile_posts(), 0);
    let check = case.expect(&["check"], 4).await;
    assert!(check.contains("no customer field"), "{check}");
    case.stop().await;

    // An identifier the schema lacks.
    let case = Case::with_seed(seed(&["email", "vuid"]), &odp_sync("mirror", "")).await;
    case.write("users.csv", "user_id\nu1\n");
    let out = case.expect(&["sync"], 3).await;
    assert!(
        out.contains("ODP has no identifier \"fs_user_id\""),
        "{out}"
    );
    assert!(out.contains("email, vuid"), "{out}");
    case.stop().await;

    // A text field written without a value column.
    let case = Case::new(&odp_sync("mirror", "").replace("in_beta", "tier")).await;
    case.write("users.csv", "user_id\nu1\n");
    let out = case.expect(&["sync"], 3).await;
    assert!(out.contains("maps no `value` column"), "{out}");
    case.stop().await;

    // Values of the wrong type for a boolean field are rejected rows; the rest go.
    let sync = "[[sync]]\nname = \"beta\"\nobject = \"odp_attribute\"\nmode = \"mirror\"\nfield = \"in_beta\"\nmodel = \"select user_id, v from read_csv('users.csv', all_varchar = true)\"\nmapping = { user_id = \"user_id\", value = \"v\" }\n";
    let case = Case::new(sync).await;
    case.write("users.csv", "user_id,v\nu1,yes\n");
    let out = case.expect(&["sync"], 5).await;
    assert!(
        out.contains("value is text, but ODP's customer field"),
        "{out}"
    );
    case.stop().await;

    // A bad key: the message names the key and says where to get one, never the key.
    let case = Case::new(&odp_sync("mirror", "")).await;
    std::fs::write(case.path().join("odp_key"), "wrong-key.secret-part-123").expect("key");
    case.write("users.csv", "user_id\nu1\n");
    let out = case.expect(&["sync"], 3).await;
    assert!(out.contains("the ODP key is invalid"), "{out}");
    assert!(!out.contains("secret-part-123"), "{out}");
    let check = case.expect(&["check"], 4).await;
    assert!(
        check.contains("ODP: reading the customer schema failed"),
        "{check}"
    );
    case.stop().await;
}

#[tokio::test]
async fn check_creates_a_missing_field_and_reads_the_datafile_integration() {
    let case = Case::new(&odp_sync("mirror", "").replace("in_beta", "early_access")).await;
    case.write("users.csv", "user_id\nu1\n");
    let check = case.expect(&["check"], 4).await;
    assert!(
        check.contains("no customer field \"early_access\""),
        "{check}"
    );
    assert!(
        check.contains("ODP integration: the datafile of environment production declares it"),
        "{check}"
    );
    let check = case.expect(&["check", "--create-fields"], 0).await;
    assert!(
        check.contains("created the boolean customer field \"early_access\""),
        "{check}"
    );
    // Created once: the next check finds it.
    let check = case.expect(&["check"], 0).await;
    assert!(
        check.contains("customer field \"early_access\" (boolean) exists"),
        "{check}"
    );
    case.expect(&["sync"], 0).await;
    let u1 = case
        .fake
        .odp_profile("fs_user_id", "u1")
        .expect("u1 exists");
    assert_eq!(u1["early_access"], json!(true));
    case.stop().await;

    // A project whose datafiles lack the integration gets a warning that says what to do.
    let mut no_integration = seed(&["email", "vuid", "fs_user_id"]);
    if let Some(odp) = no_integration.odp.as_mut() {
        odp.project_ids.clear();
    }
    let case = Case::with_seed(no_integration, &odp_sync("mirror", "")).await;
    case.write("users.csv", "user_id\nu1\n");
    let check = case.expect(&["check"], 0).await;
    assert!(check.contains("does not declare it"), "{check}");
    assert!(check.contains("Settings > Integrations"), "{check}");
    case.stop().await;
}

/// 1,200 users: three batches (500, 500, 200).
fn many_users(n: usize) -> String {
    let users: String = (0..n).map(|i| format!("user-{i:05}\n")).collect();
    format!("user_id\n{users}")
}

fn members(case: &Case) -> usize {
    case.fake.odp_profiles_with("in_beta", true).len()
}

/// Each fault of the fake on the profile requests; the run must end with every model user in
/// the segment, and a further run must send nothing.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn odp_syncs_survive_every_fault() {
    use fake_optimizely::{FaultAction, FaultRule};
    let status = |status, retry_after| FaultAction::Status {
        status,
        retry_after,
    };
    let faults = [
        ("429 without Retry-After", 1, status(429, None)),
        ("429 with Retry-After", 1, status(429, Some(1))),
        ("503", 1, status(503, None)),
        ("a burst of two 500s", 2, status(500, None)),
        ("a 502 from the gateway", 1, status(502, None)),
        (
            "connection dropped before the write",
            1,
            FaultAction::DropBeforeWrite,
        ),
        (
            "connection dropped after the write",
            1,
            FaultAction::DropAfterWrite,
        ),
        (
            "the write applied, its answer past the timeout",
            1,
            FaultAction::DelayAfterWrite { millis: 2500 },
        ),
    ];
    for (name, times, action) in faults {
        let case = Case::new(&odp_sync("mirror", "")).await;
        let config = case.path().join("optisync.toml");
        let text = std::fs::read_to_string(&config).expect("config");
        std::fs::write(
            &config,
            text.replace("[odp]\n", "[odp]\ntimeout = \"1s\"\n"),
        )
        .expect("config");
        case.write("users.csv", &many_users(1_200));
        case.fake.add_fault(FaultRule {
            method: "POST".to_owned(),
            path_template: "/v3/profiles".to_owned(),
            times,
            action,
        });
        let out = case.expect(&["sync"], 0).await;
        assert_eq!(members(&case), 1_200, "under {name}\n{out}");
        let posts = case.profile_posts();
        case.expect(&["sync"], 0).await;
        assert_eq!(
            case.profile_posts(),
            posts,
            "under {name}: a further run sent"
        );
        println!("odp_attribute  {name:<48} {posts:>2} profile requests (minimum 3)");
        case.stop().await;
    }
}

/// A run killed at every batch, before and after ODP applies it: the next run sends what is
/// left, re-sending at most the batch in flight, and the segment ends exactly as the model.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn killed_odp_syncs_end_exactly_as_the_model_says() {
    use fake_optimizely::{FaultAction, FaultRule};
    const PATIENCE: std::time::Duration = std::time::Duration::from_secs(120);
    for batch in 1..=3u64 {
        for after in [false, true] {
            let case = Case::new(&odp_sync("mirror", "")).await;
            case.write("users.csv", &many_users(1_200));
            let action = if after {
                FaultAction::HoldAfterWrite
            } else {
                FaultAction::HoldBeforeWrite
            };
            case.fake.add_fault(FaultRule {
                method: "POST".to_owned(),
                path_template: "/v3/profiles".to_owned(),
                times: u32::MAX,
                action,
            });
            let mut child = std::process::Command::new(env!("CARGO_BIN_EXE_optisync"))
                .current_dir(case.path())
                .arg("sync")
                .stdout(std::process::Stdio::null())
                .stderr(std::process::Stdio::null())
                .spawn()
                .expect("spawn");
            for hold in 1..=batch {
                tokio::time::timeout(PATIENCE, case.fake.wait_held(hold))
                    .await
                    .expect("the run reaches the batch");
                if hold < batch {
                    case.fake.release_held();
                }
            }
            let applied = case.items_written();
            let expected = if after {
                batch * 500
            } else {
                (batch - 1) * 500
            };
            assert_eq!(
                applied as u64,
                expected.min(1_200),
                "batch {batch} after {after}"
            );
            tokio::task::spawn_blocking(move || {
                child.kill().expect("kill");
                child.wait().expect("reap");
            })
            .await
            .expect("join");
            case.fake.drop_held();
            case.fake.clear_faults();
            case.expect(&["sync"], 0).await;
            assert_eq!(members(&case), 1_200, "batch {batch} after {after}");
            // At most the batch in flight is sent twice.
            assert!(
                case.items_written() <= 1_200 + 500,
                "batch {batch} after {after}: {} items",
                case.items_written()
            );
            let posts = case.profile_posts();
            case.expect(&["sync"], 0).await;
            assert_eq!(case.profile_posts(), posts, "nothing left to send");
            case.stop().await;
        }
    }
}
