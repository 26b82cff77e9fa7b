//! `optisync check` end to end: the real binary against the fake Optimizely server over TCP,
//! one test per message of docs/PRODUCT-RULES.md#problem-messages.

use std::path::Path;
use std::process::Output;

use fake_optimizely::{FakeOptimizely, RunningFake, Seed};
use serde_json::json;

const TOKEN: &str = "2:checktoken_abcdefghijklmnopqrstuvwxyz0123456789ABCDEF";
const OTHER_TOKEN: &str = "2:othertoken_abcdefghijklmnopqrstuvwxyz0123456789ABCDE";
const WEB: i64 = 11_000_000_001;
const FX: i64 = 11_000_000_002;
const ARCHIVED: i64 = 11_000_000_003;
const CLASSIC: i64 = 11_000_000_004;
const LIST: i64 = 12_000_000_001;
const ARCHIVED_LIST: i64 = 12_000_000_002;

fn seed() -> Seed {
    serde_json::from_value(json!({
        "tokens": [
            {"token": TOKEN, "project_ids": [WEB, FX, ARCHIVED, CLASSIC]},
            {"token": OTHER_TOKEN, "project_ids": [FX]}
        ],
        "projects": [
            {"id": WEB, "name": "Web shop", "platform": "web", "status": "active", "is_flags_enabled": false},
            {"id": FX, "name": "Mobile app", "platform": "custom", "status": "active", "is_flags_enabled": true},
            {"id": ARCHIVED, "name": "Old", "platform": "web", "status": "archived"},
            {"id": CLASSIC, "name": "Classic", "platform": "web", "status": "active", "is_classic": true}
        ],
        "list_attributes": [
            {"id": LIST, "project_id": WEB, "name": "beta_testers", "key_field": "uid", "list_type": "cookies"},
            {"id": ARCHIVED_LIST, "project_id": WEB, "name": "gone", "key_field": "uid", "list_type": "cookies", "archived": true}
        ]
    }))
    .expect("seed is valid")
}

async fn start() -> RunningFake {
    let fake = FakeOptimizely::new(seed()).expect("fake starts");
    fake.serve(([127, 0, 0, 1], 0).into())
        .await
        .expect("fake serves")
}

struct Case {
    dir: tempfile::TempDir,
}

impl Case {
    fn new(config: &str, token: &str) -> Self {
        let dir = tempfile::tempdir().expect("temp dir");
        std::fs::write(dir.path().join("optisync.toml"), config).expect("write config");
        write_token(&dir.path().join("token"), token, 0o600);
        Self { dir }
    }

    fn path(&self) -> &Path {
        self.dir.path()
    }

    async fn run(&self, args: &[&str]) -> Output {
        let dir = self.path().to_path_buf();
        let args: Vec<String> = args.iter().map(|s| (*s).to_owned()).collect();
        tokio::task::spawn_blocking(move || {
            std::process::Command::new(env!("CARGO_BIN_EXE_optisync"))
                .current_dir(&dir)
                .args(&args)
                .env_remove("OPTIMIZELY_TOKEN")
                .output()
                .expect("run optisync")
        })
        .await
        .expect("join")
    }
}

fn write_token(path: &Path, token: &str, mode: u32) {
    use std::os::unix::fs::PermissionsExt;
    std::fs::write(path, token).expect("write token");
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(mode)).expect("chmod");
}

fn config(fake: &RunningFake, project_id: &str, syncs: &str) -> String {
    format!(
        "[optimizely]\nproject_id = {project_id}\ntoken = {{ file = \"token\" }}\napi_url = \"{}\"\n{syncs}",
        fake.base_url()
    )
}

fn list_sync(name: &str, id: i64) -> String {
    format!(
        "\n[[sync]]\nname = \"{name}\"\nobject = \"list_attribute\"\nlist_attribute_id = {id}\nmode = \"mirror\"\nmodel = \"select 'u1' as user_id\"\nmapping = {{ user_id = \"user_id\" }}\n"
    )
}

fn stdout(out: &Output) -> String {
    String::from_utf8_lossy(&out.stdout).into_owned()
}

fn stderr(out: &Output) -> String {
    String::from_utf8_lossy(&out.stderr).into_owned()
}

fn assert_exit(out: &Output, code: i32) {
    assert_eq!(
        out.status.code(),
        Some(code),
        "stdout:\n{}\nstderr:\n{}",
        stdout(out),
        stderr(out)
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn web_project_with_usable_list_attribute_passes() {
    let fake = start().await;
    let case = Case::new(
        &config(&fake, &WEB.to_string(), &list_sync("beta", LIST)),
        TOKEN,
    );
    let out = case.run(&["check"]).await;
    assert_exit(&out, 0);
    let text = stdout(&out);
    assert!(
        text.contains(&format!(
            "ok: project {WEB} (Web shop) is an active Web Experimentation project"
        )),
        "{text}"
    );
    assert!(
        text.contains(&format!(
            "ok: sync beta: list attribute {LIST} (beta_testers) exists and is usable"
        )),
        "{text}"
    );
    assert!(text.contains("check passed"), "{text}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn feature_experimentation_project_is_detected() {
    let fake = start().await;
    let case = Case::new(&config(&fake, &FX.to_string(), ""), TOKEN);
    let out = case.run(&["check"]).await;
    assert_exit(&out, 0);
    assert!(
        stdout(&out).contains("is an active Feature Experimentation project"),
        "{}",
        stdout(&out)
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn pasted_project_url_is_accepted() {
    let fake = start().await;
    let url = format!("\"https://app.optimizely.com/v2/projects/{WEB}/audiences\"");
    let case = Case::new(&config(&fake, &url, ""), TOKEN);
    let out = case.run(&["check"]).await;
    assert_exit(&out, 0);
    assert!(
        stdout(&out).contains(&format!("project {WEB} (Web shop)")),
        "{}",
        stdout(&out)
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn project_name_instead_of_id_is_a_config_error() {
    let fake = start().await;
    let case = Case::new(&config(&fake, "\"Web shop\"", ""), TOKEN);
    let out = case.run(&["check"]).await;
    assert_exit(&out, 3);
    assert!(
        stderr(&out).contains("project id must be the numeric id, e.g. from https://app.optimizely.com/v2/projects/12345678901"),
        "{}",
        stderr(&out)
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn unknown_token_fails_authentication_without_printing_it() {
    let fake = start().await;
    let secret = "2:unknowntoken_zzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzQ9x7";
    let case = Case::new(&config(&fake, &WEB.to_string(), ""), secret);
    let out = case.run(&["check", "-vvv"]).await;
    assert_exit(&out, 4);
    let text = stdout(&out);
    assert!(
        text.contains(&format!("problem: authentication failed: the token is invalid, revoked, or has no access to project {WEB}; SDK keys and datafile access tokens cannot be used")),
        "{text}"
    );
    assert!(
        !text.contains(secret) && !stderr(&out).contains(secret),
        "token leaked"
    );
    assert!(
        !text.contains("zzzzzzzz") && !stderr(&out).contains("zzzzzzzz"),
        "token leaked"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn token_without_access_to_the_project_fails_authentication() {
    let fake = start().await;
    let case = Case::new(&config(&fake, &WEB.to_string(), ""), OTHER_TOKEN);
    let out = case.run(&["check"]).await;
    assert_exit(&out, 4);
    assert!(
        stdout(&out).contains(&format!("has no access to project {WEB}")),
        "{}",
        stdout(&out)
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sdk_key_shaped_token_gets_a_warning() {
    let fake = start().await;
    let case = Case::new(
        &config(&fake, &WEB.to_string(), ""),
        "AbCdEfGhIjKlMnOpQrStU",
    );
    let out = case.run(&["check"]).await;
    assert_exit(&out, 4);
    let text = stdout(&out);
    assert!(
        text.contains("warning: this looks like an SDK key; the REST API needs a personal access token from Profile > API Access"),
        "{text}"
    );
    assert!(text.contains("problem: authentication failed"), "{text}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn missing_project_says_where_to_find_the_id() {
    let fake = start().await;
    let case = Case::new(&config(&fake, "19999999999", ""), TOKEN);
    let out = case.run(&["check"]).await;
    assert_exit(&out, 4);
    let text = stdout(&out);
    // A project the token cannot see is 403 on the real API as often as 404; the fake answers
    // 404 for ids that exist nowhere.
    assert!(
        text.contains(
            "problem: project 19999999999 not found: check the numeric id in Settings > Project"
        ),
        "{text}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn archived_project_is_refused() {
    let fake = start().await;
    let case = Case::new(&config(&fake, &ARCHIVED.to_string(), ""), TOKEN);
    let out = case.run(&["check"]).await;
    assert_exit(&out, 4);
    assert!(
        stdout(&out).contains(&format!("problem: project {ARCHIVED} (Old) is archived")),
        "{}",
        stdout(&out)
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn classic_project_is_refused() {
    let fake = start().await;
    let case = Case::new(&config(&fake, &CLASSIC.to_string(), ""), TOKEN);
    let out = case.run(&["check"]).await;
    assert_exit(&out, 4);
    assert!(
        stdout(&out).contains("Optimizely Classic project"),
        "{}",
        stdout(&out)
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn missing_list_attribute_says_how_to_create_it() {
    let fake = start().await;
    let case = Case::new(
        &config(&fake, &WEB.to_string(), &list_sync("beta", 12_999_999_999)),
        TOKEN,
    );
    let out = case.run(&["check"]).await;
    assert_exit(&out, 4);
    assert!(
        stdout(&out).contains(&format!("problem: sync beta: list attribute 12999999999 not found in project {WEB}; create it under Audiences > Attributes and copy its id")),
        "{}",
        stdout(&out)
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn archived_list_attribute_is_a_problem() {
    let fake = start().await;
    let case = Case::new(
        &config(&fake, &WEB.to_string(), &list_sync("gone", ARCHIVED_LIST)),
        TOKEN,
    );
    let out = case.run(&["check"]).await;
    assert_exit(&out, 4);
    assert!(
        stdout(&out).contains(&format!(
            "list attribute {ARCHIVED_LIST} (gone) is archived"
        )),
        "{}",
        stdout(&out)
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn list_attribute_on_feature_experimentation_is_refused() {
    let fake = start().await;
    let case = Case::new(
        &config(&fake, &FX.to_string(), &list_sync("beta", LIST)),
        TOKEN,
    );
    let out = case.run(&["check"]).await;
    assert_exit(&out, 4);
    assert!(
        stdout(&out).contains("problem: sync beta: list attributes are not available in Feature Experimentation; use an attribute and an audience condition instead"),
        "{}",
        stdout(&out)
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn missing_token_variable_is_a_config_error() {
    let fake = start().await;
    let text = format!(
        "[optimizely]\nproject_id = {WEB}\ntoken = {{ env = \"OPTISYNC_TEST_UNSET_TOKEN\" }}\napi_url = \"{}\"\n",
        fake.base_url()
    );
    let case = Case::new(&text, TOKEN);
    let out = case.run(&["check"]).await;
    assert_exit(&out, 3);
    assert!(
        stderr(&out).contains("environment variable OPTISYNC_TEST_UNSET_TOKEN is not set"),
        "{}",
        stderr(&out)
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn token_file_readable_by_others_gets_a_warning() {
    let fake = start().await;
    let case = Case::new(&config(&fake, &WEB.to_string(), ""), TOKEN);
    write_token(&case.path().join("token"), TOKEN, 0o644);
    let out = case.run(&["check"]).await;
    assert_exit(&out, 0);
    assert!(
        stdout(&out).contains("is readable by group or others (mode 644); run `chmod 600"),
        "{}",
        stdout(&out)
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn plain_http_to_a_remote_host_is_refused() {
    let case = Case::new(
        &format!(
            "[optimizely]\nproject_id = {WEB}\ntoken = {{ file = \"token\" }}\napi_url = \"http://api.example.com/v2\"\n"
        ),
        TOKEN,
    );
    let out = case.run(&["check"]).await;
    assert_exit(&out, 3);
    assert!(
        stderr(&out).contains("uses plain http to a remote host"),
        "{}",
        stderr(&out)
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn unknown_config_key_is_a_config_error() {
    let fake = start().await;
    let text = config(&fake, &WEB.to_string(), "") + "tokn = 1\n";
    let case = Case::new(
        &text.replace("[optimizely]\n", "[optimizely]\nprojct = 1\n"),
        TOKEN,
    );
    let out = case.run(&["check"]).await;
    assert_exit(&out, 3);
    assert!(
        stderr(&out).contains("unknown field `projct`"),
        "{}",
        stderr(&out)
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn json_output_lists_findings() {
    let fake = start().await;
    let case = Case::new(
        &config(&fake, &FX.to_string(), &list_sync("beta", LIST)),
        TOKEN,
    );
    let out = case.run(&["check", "--output", "json"]).await;
    assert_exit(&out, 4);
    let value: serde_json::Value = serde_json::from_slice(&out.stdout).expect("json");
    assert_eq!(value["passed"], false);
    assert_eq!(value["product"], "Feature Experimentation");
    let findings = value["findings"].as_array().expect("findings");
    // The warehouse answers, the model is accepted, the project is read, the list refused.
    assert_eq!(findings.len(), 4, "{findings:?}");
    assert_eq!(findings[0]["level"], "ok");
    assert_eq!(findings[1]["sync"], "beta");
    assert_eq!(findings[3]["level"], "problem");
    assert_eq!(findings[3]["sync"], "beta");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn unreachable_api_is_a_problem_not_a_crash() {
    // Port 9 on loopback: nothing listens there.
    let case = Case::new(
        &format!(
            "[optimizely]\nproject_id = {WEB}\ntoken = {{ file = \"token\" }}\napi_url = \"http://127.0.0.1:9/v2\"\n"
        ),
        TOKEN,
    );
    let out = case.run(&["check"]).await;
    assert_exit(&out, 4);
    assert!(
        stdout(&out).contains(&format!("problem: cannot read project {WEB}")),
        "{}",
        stdout(&out)
    );
}

/// A new user with several syncs must see which model each line is about, in plain English.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn each_accepted_model_names_its_sync_and_counts_its_columns() {
    let fake = start().await;
    let two_columns = "\n[[sync]]\nname = \"keys\"\nobject = \"attribute\"\nmode = \"upsert\"\nmodel = \"select 'k' as key, 'd' as about\"\nmapping = { key = \"key\", description = \"about\" }\n";
    let case = Case::new(
        &config(
            &fake,
            &WEB.to_string(),
            &format!("{}{two_columns}", list_sync("beta", LIST)),
        ),
        TOKEN,
    );
    let out = case.run(&["check"]).await;
    assert_exit(&out, 0);
    let text = stdout(&out);
    assert!(
        text.contains("ok: sync beta: model accepted (1 column)\n"),
        "{text}"
    );
    assert!(
        text.contains("ok: sync keys: model accepted (2 columns)\n"),
        "{text}"
    );
    assert!(!text.contains("1 columns"), "{text}");
}
