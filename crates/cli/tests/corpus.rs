//! The bad-input corpus: one file per case under `tests/corpus/`, each a mistake a user can
//! make (in the config, the token, the project id, the source, the model, the mapping, the
//! rows, audience conditions, list items). Each case states the exit code and a fragment of
//! the message the user must see, and what Optimizely must hold afterwards: the valid rows of
//! the same run are delivered even when others are refused.
//!
//! A case file (TOML):
//! ```toml
//! project = "fx"                    # "web" or "fx": the project the config names
//! args = ["sync"]                   # the verb, default ["sync"]
//! exit = 5                          # the expected exit code
//! message = "bad/key!"              # must appear on stdout or stderr
//! absent = ["s3cret"]               # must appear on neither (a secret the case wrote)
//! syncs = '''[[sync]] …'''          # appended to the config ({LIST} is the list attribute id)
//! optimizely = 'timeout = "5s"'     # extra lines for [optimizely] (optional)
//! config = '''…'''                  # replaces the whole config instead (optional)
//! token = "…"                       # replaces the token file's content (optional)
//! list_content = "a,b"              # the list attribute's content before the run (optional)
//! files = { "rows.csv" = "…" }      # files written beside the config
//! list = ["u1"]                     # the list attribute's members afterwards (optional)
//! objects = { kind = "attributes", keys = ["good"] }   # objects afterwards (optional)
//! ```

#![allow(clippy::unwrap_used)]

mod common;

use std::collections::BTreeMap;

use common::{Case, FX, LIST, WEB};
use serde::Deserialize;

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct CorpusCase {
    project: String,
    #[serde(default = "sync_args")]
    args: Vec<String>,
    exit: i32,
    message: String,
    #[serde(default)]
    absent: Vec<String>,
    #[serde(default)]
    syncs: String,
    #[serde(default)]
    optimizely: String,
    config: Option<String>,
    token: Option<String>,
    #[serde(default)]
    list_content: String,
    #[serde(default)]
    files: BTreeMap<String, String>,
    list: Option<Vec<String>>,
    objects: Option<Objects>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct Objects {
    kind: String,
    keys: Vec<String>,
}

fn sync_args() -> Vec<String> {
    vec!["sync".to_owned()]
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_bad_input_is_named_and_the_good_rows_go_on() {
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/corpus");
    let mut paths: Vec<_> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "toml"))
        .collect();
    paths.sort();
    assert!(paths.len() >= 30, "the corpus has {} cases", paths.len());
    let mut failures = Vec::new();
    for path in &paths {
        let name = path.file_stem().unwrap().to_string_lossy().into_owned();
        let case: CorpusCase = toml::from_str(&std::fs::read_to_string(path).unwrap())
            .unwrap_or_else(|e| panic!("{name}: {e}"));
        if let Err(problem) = run(&case).await {
            failures.push(format!("{name}: {problem}"));
        }
    }
    assert!(
        failures.is_empty(),
        "{} of {} cases failed:\n\n{}",
        failures.len(),
        paths.len(),
        failures.join("\n\n")
    );
    println!("{} bad-input cases passed", paths.len());
}

async fn run(case: &CorpusCase) -> Result<(), String> {
    let project = match case.project.as_str() {
        "web" => WEB,
        "fx" => FX,
        other => return Err(format!("unknown project {other}")),
    };
    let syncs = case.syncs.replace("{LIST}", &LIST.to_string());
    let fake_case = Case::new(project, &case.list_content, &syncs).await;
    let config_path = fake_case.path().join("optisync.toml");
    let written = std::fs::read_to_string(&config_path).unwrap();
    let api_url = fake_case.running.base_url();
    let config = match &case.config {
        Some(config) => config
            .replace("{api_url}", &api_url)
            .replace("{LIST}", &LIST.to_string())
            .replace("{WEB}", &WEB.to_string())
            .replace("{FX}", &FX.to_string()),
        None if !case.optimizely.is_empty() => written.replacen(
            "rate_limit = { per_second = 1000 }",
            &format!("rate_limit = {{ per_second = 1000 }}\n{}", case.optimizely),
            1,
        ),
        None => written,
    };
    std::fs::write(&config_path, &config).unwrap();
    if let Some(token) = &case.token {
        fake_case.write("token", token);
    }
    for (file, content) in &case.files {
        fake_case.write(file, content);
    }
    let args: Vec<&str> = case.args.iter().map(String::as_str).collect();
    let out = fake_case.run(&args).await;
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    let mut problems = Vec::new();
    if out.status.code() != Some(case.exit) {
        problems.push(format!(
            "exit {:?}, expected {}",
            out.status.code(),
            case.exit
        ));
    }
    if !text.contains(&case.message) {
        problems.push(format!("the output lacks {:?}", case.message));
    }
    for secret in &case.absent {
        // A secret the case never wrote would prove nothing.
        let written = [&config, &case.optimizely, &case.syncs]
            .into_iter()
            .chain(&case.token)
            .chain(case.files.values())
            .any(|input| input.contains(secret.as_str()));
        if secret.is_empty() || !written {
            problems.push(format!("absent {secret:?} is not in the case's input"));
        }
        if text.contains(secret.as_str()) {
            problems.push(format!("the output shows {secret:?}"));
        }
    }
    if let Some(expected) = &case.list {
        let mut expected = expected.clone();
        expected.sort();
        let held = fake_case.list();
        if held != expected {
            problems.push(format!("the list holds {held:?}, expected {expected:?}"));
        }
    }
    if let Some(objects) = &case.objects {
        let mut held: Vec<String> = fake_case
            .objects(&objects.kind, project)
            .iter()
            .filter_map(|o| o["key"].as_str().or(o["name"].as_str()).map(str::to_owned))
            .collect();
        held.sort();
        let mut expected = objects.keys.clone();
        expected.sort();
        if held != expected {
            problems.push(format!(
                "{} holds {held:?}, expected {expected:?}",
                objects.kind
            ));
        }
    }
    fake_case.stop().await;
    if problems.is_empty() {
        Ok(())
    } else {
        Err(format!("{}\n--- output:\n{text}", problems.join("; ")))
    }
}
