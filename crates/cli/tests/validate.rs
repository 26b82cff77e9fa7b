//! `optisync init --example` then `optisync validate`, with the real binary and the embedded
//! DuckDB: the starter config is valid, and each kind of mapping mistake is reported with the
//! sync, the field and the columns the model really returns.

use std::path::Path;
use std::process::Output;

fn optisync(dir: &Path, args: &[&str]) -> Output {
    std::process::Command::new(env!("CARGO_BIN_EXE_optisync"))
        .current_dir(dir)
        .args(args)
        .output()
        .expect("run optisync")
}

fn text(out: &Output) -> String {
    format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    )
}

#[test]
fn example_config_is_valid_and_init_refuses_to_overwrite() {
    let dir = tempfile::tempdir().expect("tempdir");
    let out = optisync(dir.path(), &["init", "--example"]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    assert!(dir.path().join("users.csv").exists());
    let out = optisync(dir.path(), &["validate"]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    assert!(
        text(&out).contains("ok: sync beta_testers: model returns user_id VARCHAR"),
        "{}",
        text(&out)
    );
    let out = optisync(dir.path(), &["init"]);
    assert_eq!(out.status.code(), Some(64), "{}", text(&out));
    assert!(text(&out).contains("already exists"), "{}", text(&out));
}

fn write_config(dir: &Path, sync: &str) {
    std::fs::write(dir.join("users.csv"), "user_id,segment\nu1,a\nu2,b\n").expect("csv");
    std::fs::write(
        dir.join("optisync.toml"),
        format!("[optimizely]\nproject_id = 1\ntoken = {{ env = \"T\" }}\n\n[[sync]]\nname = \"s\"\n{sync}"),
    )
    .expect("config");
}

#[test]
fn mapping_naming_a_missing_column_lists_the_real_ones() {
    let dir = tempfile::tempdir().expect("tempdir");
    write_config(
        dir.path(),
        "object = \"list_attribute\"\nlist_attribute_id = 5\nmode = \"mirror\"\nmodel = \"select * from read_csv_auto('users.csv')\"\nmapping = { user_id = \"uid\" }\n",
    );
    let out = optisync(dir.path(), &["validate"]);
    assert_eq!(out.status.code(), Some(3), "{}", text(&out));
    let t = text(&out);
    assert!(
        t.contains("problem: sync s:") && t.contains("uid") && t.contains("user_id, segment"),
        "{t}"
    );
}

#[test]
fn field_the_object_type_does_not_have_is_reported() {
    let dir = tempfile::tempdir().expect("tempdir");
    write_config(
        dir.path(),
        "object = \"custom_event\"\nmode = \"upsert\"\nmodel = \"select user_id as k from read_csv_auto('users.csv')\"\nmapping = { key = \"k\", conditions = \"k\" }\n",
    );
    // A mapping is parsed when the config is read: every verb refuses it, naming the sync.
    let out = optisync(dir.path(), &["validate", "--output", "json"]);
    assert_eq!(out.status.code(), Some(3), "{}", text(&out));
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).expect("json");
    let problem = v["error"]["message"].as_str().expect("message");
    assert!(
        problem.contains("sync s: mapping:") && problem.contains("conditions"),
        "{problem}"
    );
    assert_eq!(v["error"]["kind"], "invalid_config", "{v}");
}

#[test]
fn model_with_a_sql_error_shows_duckdbs_message() {
    let dir = tempfile::tempdir().expect("tempdir");
    write_config(
        dir.path(),
        "object = \"attribute\"\nmode = \"upsert\"\nmodel = \"selec key from nowhere\"\nmapping = { key = \"key\" }\n",
    );
    let out = optisync(dir.path(), &["validate"]);
    assert_eq!(out.status.code(), Some(3), "{}", text(&out));
    let t = text(&out);
    assert!(
        t.contains("sync s: the model cannot run") && t.to_lowercase().contains("syntax error"),
        "{t}"
    );
}
