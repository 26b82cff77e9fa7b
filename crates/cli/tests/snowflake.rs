//! `optisync` end to end with a Snowflake warehouse: a local Snowflake emulator (fakesnow's
//! server mode, speaking Snowflake's REST protocol), the real binary, and the fake
//! Optimizely. Every object type and mode from a Snowflake model (first run, no-op run,
//! incremental run), and the bad inputs: a model that is not a query, a credential that is
//! missing, a URL that would send a password in clear.

#![allow(clippy::unwrap_used)]

mod common;

use common::{Case, FX, LIST, WEB};
use optisync_testsnow::TestSnowflake;

/// A case whose config reads from the emulator (the password in a file, as a secret).
async fn sf_case(emulator: &TestSnowflake, project: i64, list_content: &str, syncs: &str) -> Case {
    let case = Case::new(project, list_content, syncs).await;
    case.write("snowflake-password", "test-password");
    let path = case.path().join("optisync.toml");
    let mut config = std::fs::read_to_string(&path).unwrap();
    config.push_str(&format!(
        "\n[source]\ntype = \"snowflake\"\naccount = \"test\"\nuser = \"loader\"\npassword = {{ file = \"snowflake-password\" }}\nwarehouse = \"compute_wh\"\ndatabase = \"wh\"\nschema = \"public\"\nurl = \"{}\"\nstatement_timeout = \"30s\"\n",
        emulator.url()
    ));
    std::fs::write(path, config).unwrap();
    case
}

fn list_sync(mode: &str, model: &str) -> String {
    format!(
        "[[sync]]\nname = \"members\"\nobject = \"list_attribute\"\nlist_attribute_id = {LIST}\nmode = \"{mode}\"\nmodel = \"{model}\"\nmapping = {{ user_id = \"user_id\" }}\n"
    )
}

fn sorted(ids: &[&str]) -> Vec<String> {
    let mut v: Vec<String> = ids.iter().map(|s| (*s).to_owned()).collect();
    v.sort();
    v
}

fn emulator() -> TestSnowflake {
    let emulator = TestSnowflake::start().unwrap();
    emulator
        .sql(&["create database wh", "create schema wh.public"])
        .unwrap();
    emulator
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_list_mode_from_snowflake() {
    let sf = emulator();
    sf.sql(&[
        "create table wh.public.members as select 'u' || seq4() as user_id from table(generator(rowcount => 10))",
    ])
    .unwrap();
    let model = "select user_id from members";

    // Mirror: first run, a no-op, then one member replaced (planned incrementally).
    let case = sf_case(&sf, WEB, "", &list_sync("mirror", model)).await;
    let out = case.expect(&["check"], 0).await;
    assert!(out.contains("warehouse (snowflake) answers"), "{out}");
    case.expect(&["validate"], 0).await;
    case.expect(&["sync"], 0).await;
    assert_eq!(case.list().len(), 10);
    let before = case.writes();
    case.expect(&["sync"], 0).await;
    assert_eq!(case.writes(), before, "a second run sends nothing");
    sf.sql(&["update wh.public.members set user_id = 'u11' where user_id = 'u3'"])
        .unwrap();
    let plan = case.expect(&["plan", "--detailed-exitcode"], 2).await;
    assert!(plan.contains("+ 1 added: u11"), "{plan}");
    assert!(plan.contains("- 1 removed: u3"), "{plan}");
    case.expect(&["sync"], 0).await;
    assert_eq!(case.writes(), before + 1, "one whole-list PATCH");
    case.stop().await;

    // Add keeps what the list held; remove takes the model's ids out.
    let case = sf_case(
        &sf,
        WEB,
        "old1",
        &list_sync("add", "select 'u1' as user_id"),
    )
    .await;
    case.expect(&["sync"], 0).await;
    assert_eq!(case.list(), sorted(&["old1", "u1"]));
    let before = case.writes();
    case.expect(&["sync"], 0).await;
    assert_eq!(case.writes(), before);
    case.stop().await;
    let case = sf_case(
        &sf,
        WEB,
        "a1,a2,a3,a4,a5,a6,a7,a8,a9,a10",
        &list_sync(
            "remove",
            "select user_id from (select 'a2' as user_id union all select 'a5' as user_id)",
        ),
    )
    .await;
    case.expect(&["sync"], 0).await;
    assert_eq!(case.list().len(), 8);
    assert!(!case.list().contains(&"a5".to_owned()));
    case.stop().await;
}

fn definition_sync(object: &str, mode: &str, model: &str, mapping: &str) -> String {
    let extra = if object == "audience" {
        "audience_name = \"{name}\"\nprimary_key = [\"id\"]\n"
    } else {
        ""
    };
    format!(
        "[[sync]]\nname = \"defs\"\nobject = \"{object}\"\nmode = \"{mode}\"\n{extra}model = \"{model}\"\nmapping = {mapping}\n"
    )
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_definition_type_and_mode_from_snowflake() {
    let sf = emulator();
    let cases = [
        (
            "attribute",
            "attributes",
            "key",
            "{ key = \"key\", description = \"about\" }",
        ),
        (
            "custom_event",
            "events",
            "key",
            "{ key = \"key\", name = \"label\", description = \"about\" }",
        ),
        ("audience", "audiences", "id", "{ description = \"about\" }"),
    ];
    for (object, kind, key, mapping) in cases {
        for mode in ["upsert", "insert"] {
            let table = format!("wh.public.{object}_{mode}");
            sf.sql(&[
                &format!("create table {table} ({key} varchar, label varchar, name varchar, about varchar)"),
                &format!("insert into {table} values ('k1', 'First', 'First', 'one'), ('k2', 'Second', 'Second', 'two')"),
            ])
            .unwrap();
            // Snowflake names unquoted columns in upper case; the model names them as the
            // mapping does.
            let model = format!(
                "select {key} as \\\"{key}\\\", label as \\\"label\\\", name as \\\"name\\\", about as \\\"about\\\" from {table}"
            );
            let case = sf_case(&sf, FX, "", &definition_sync(object, mode, &model, mapping)).await;
            case.expect(&["sync"], 0).await;
            assert_eq!(case.objects(kind, FX).len(), 2, "{object} {mode}");
            let before = case.writes();
            case.expect(&["sync"], 0).await;
            assert_eq!(case.writes(), before, "no-op second run of {object} {mode}");
            sf.sql(&[
                &format!("update {table} set about = 'changed' where {key} = 'k1'"),
                &format!("insert into {table} values ('k3', 'Third', 'Third', 'three')"),
            ])
            .unwrap();
            case.expect(&["sync"], 0).await;
            assert_eq!(case.objects(kind, FX).len(), 3, "{object} {mode}");
            let expected = if mode == "upsert" { 2 } else { 1 };
            assert_eq!(case.writes(), before + expected, "{object} {mode}");
            case.stop().await;
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn snowflake_bad_inputs_say_what_to_fix() {
    let sf = emulator();
    sf.sql(&[
        "create table wh.public.ids (n int)",
        "insert into wh.public.ids values (1)",
    ])
    .unwrap();

    // A model that is not a query never runs.
    let case = sf_case(&sf, WEB, "", &list_sync("mirror", "delete from ids")).await;
    let out = case.expect(&["sync"], 3).await;
    assert!(out.contains("a model must be a query"), "{out}");
    assert_eq!(case.writes(), 0);
    assert_eq!(
        sf.sql(&["select count(*) from wh.public.ids"]).unwrap(),
        "1"
    );
    case.stop().await;

    // No credential, and a URL that would send the password in clear: config errors.
    let case = sf_case(&sf, WEB, "", &list_sync("mirror", "select 'u1' as user_id")).await;
    let path = case.path().join("optisync.toml");
    let config = std::fs::read_to_string(&path).unwrap();
    std::fs::write(
        &path,
        config.replace("password = { file = \"snowflake-password\" }\n", ""),
    )
    .unwrap();
    let out = case.expect(&["validate"], 3).await;
    assert!(out.contains("exactly one of password"), "{out}");
    std::fs::write(
        &path,
        config.replace(&sf.url(), "http://snowflake.example.com"),
    )
    .unwrap();
    let out = case.expect(&["validate"], 3).await;
    assert!(out.contains("must be https://"), "{out}");
    assert!(!out.contains("snowflake.example.com"), "{out}");
    case.stop().await;
}
