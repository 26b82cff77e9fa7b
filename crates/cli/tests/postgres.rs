//! `optisync` end to end with a PostgreSQL warehouse: a real, throwaway server (started by
//! the test), the real binary, and the fake Optimizely. Every object type and mode from a
//! Postgres model, a model change planned incrementally, and the bad inputs of a real
//! warehouse: ids that are NULL, integers or UUIDs, a model that writes, an unreachable server.
//! The object types and modes run again with `type = "redshift"`, whose way of reading rows
//! (a cursor and `FETCH`, never `COPY … TO STDOUT`) PostgreSQL speaks too.

#![allow(clippy::unwrap_used)]

mod common;

use common::{Case, FX, LIST, WEB};
use optisync_testpg::TestPostgres;

/// A case whose config reads from the PostgreSQL at `url` (the URL in a file, as a secret)
/// as a source of type `kind`: `postgres`, or `redshift` (reading rows through a cursor).
async fn pg_case(kind: &str, url: &str, project: i64, list_content: &str, syncs: &str) -> Case {
    let case = Case::new(project, list_content, syncs).await;
    case.write("warehouse-url", url);
    let path = case.path().join("optisync.toml");
    let mut config = std::fs::read_to_string(&path).unwrap();
    config.push_str(
        &format!("\n[source]\ntype = \"{kind}\"\nurl = {{ file = \"warehouse-url\" }}\nsslmode = \"prefer\"\nstatement_timeout = \"30s\"\n"),
    );
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

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_list_mode_from_postgres() {
    every_list_mode("postgres").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_list_mode_from_redshift_reading_through_a_cursor() {
    every_list_mode("redshift").await;
}

async fn every_list_mode(kind: &str) {
    let pg = TestPostgres::start().unwrap();
    pg.create_database("wh").unwrap();
    let url = pg.url("wh");
    pg.psql(
        "wh",
        "create schema analytics; create table analytics.members (user_id text); \
         insert into analytics.members select 'u' || g from generate_series(1, 10) g",
    )
    .unwrap();
    let model = "select user_id from analytics.members";

    // Mirror: first run, a no-op, then one member replaced (planned incrementally).
    let case = pg_case(kind, &url, WEB, "", &list_sync("mirror", model)).await;
    let out = case.expect(&["check"], 0).await;
    assert!(
        out.contains(&format!("warehouse ({kind}) answers")),
        "{out}"
    );
    case.expect(&["sync"], 0).await;
    assert_eq!(case.list().len(), 10);
    let before = case.writes();
    case.expect(&["sync"], 0).await;
    assert_eq!(case.writes(), before, "a second run sends nothing");
    pg.psql(
        "wh",
        "update analytics.members set user_id = 'u11' where user_id = 'u3'",
    )
    .unwrap();
    let plan = case.expect(&["plan", "--detailed-exitcode"], 2).await;
    assert!(plan.contains("+ 1 added: u11"), "{plan}");
    assert!(plan.contains("- 1 removed: u3"), "{plan}");
    case.expect(&["sync"], 0).await;
    assert_eq!(case.writes(), before + 1, "one whole-list PATCH");
    assert!(case.list().contains(&"u11".to_owned()) && !case.list().contains(&"u3".to_owned()));
    case.stop().await;

    // Add keeps what the list held; remove takes the model's ids out.
    let case = pg_case(
        kind,
        &url,
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

    let case = pg_case(
        kind,
        &url,
        WEB,
        "a1,a2,a3,a4,a5,a6,a7,a8,a9,a10",
        &list_sync(
            "remove",
            "select 'a' || g as user_id from generate_series(1, 2) g",
        ),
    )
    .await;
    case.expect(&["sync"], 0).await;
    assert_eq!(case.list().len(), 8);
    assert!(!case.list().contains(&"a2".to_owned()));
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
async fn every_definition_type_and_mode_from_postgres() {
    every_definition_type_and_mode("postgres").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_definition_type_and_mode_from_redshift_reading_through_a_cursor() {
    every_definition_type_and_mode("redshift").await;
}

async fn every_definition_type_and_mode(source: &str) {
    let pg = TestPostgres::start().unwrap();
    pg.create_database("wh").unwrap();
    let url = pg.url("wh");
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
            let table = format!("{object}_{mode}");
            pg.psql(
                "wh",
                &format!(
                    "create table {table} ({key} text, label text, name text, about text); \
                     insert into {table} values ('k1', 'First', 'First', 'one'), ('k2', 'Second', 'Second', 'two')"
                ),
            )
            .unwrap();
            let model = format!("select * from {table}");
            let case = pg_case(
                source,
                &url,
                FX,
                "",
                &definition_sync(object, mode, &model, mapping),
            )
            .await;
            case.expect(&["sync"], 0).await;
            assert_eq!(case.objects(kind, FX).len(), 2, "{object} {mode}");
            let before = case.writes();
            case.expect(&["sync"], 0).await;
            assert_eq!(case.writes(), before, "no-op second run of {object} {mode}");

            pg.psql(
                "wh",
                &format!(
                    "update {table} set about = 'changed' where {key} = 'k1'; \
                     insert into {table} values ('k3', 'Third', 'Third', 'three')"
                ),
            )
            .unwrap();
            let plan = case.expect(&["plan"], 0).await;
            if mode == "upsert" {
                assert!(plan.contains("\"one\" → \"changed\""), "{plan}");
            }
            case.expect(&["sync"], 0).await;
            assert_eq!(case.objects(kind, FX).len(), 3, "{object} {mode}");
            let expected = if mode == "upsert" { 2 } else { 1 };
            assert_eq!(case.writes(), before + expected, "{object} {mode}");
            case.stop().await;
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn postgres_bad_inputs_are_named_and_the_good_rows_go_on() {
    let pg = TestPostgres::start().unwrap();
    pg.create_database("wh").unwrap();
    let url = pg.url("wh");
    pg.psql(
        "wh",
        "create table ids (n int8, u uuid, t text); \
         insert into ids values (1, 'a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11', 'x'), (null, null, 'y')",
    )
    .unwrap();

    // Integer and UUID ids arrive as text; a NULL id is a rejected row, the others go on.
    let case = pg_case(
        "postgres",
        &url,
        WEB,
        "",
        &list_sync("mirror", "select n as user_id from ids"),
    )
    .await;
    let out = case.expect(&["sync"], 5).await;
    assert!(out.contains("user_id is null or empty"), "{out}");
    assert_eq!(case.list(), sorted(&["1"]));
    case.stop().await;
    let case = pg_case(
        "postgres",
        &url,
        WEB,
        "",
        &list_sync("mirror", "select u as user_id from ids where u is not null"),
    )
    .await;
    case.expect(&["sync"], 0).await;
    assert_eq!(
        case.list(),
        sorted(&["a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11"])
    );
    case.stop().await;

    // A model that writes: refused by the read-only transaction, exit 3, nothing changed.
    let case = pg_case(
        "postgres",
        &url,
        WEB,
        "",
        &list_sync(
            "mirror",
            "insert into ids (t) values ('z') returning t as user_id",
        ),
    )
    .await;
    let out = case.expect(&["sync"], 3).await;
    assert!(out.contains("read-only transaction"), "{out}");
    assert_eq!(case.writes(), 0);
    assert_eq!(pg.psql("wh", "select count(*) from ids").unwrap(), "2");
    case.stop().await;

    // A syntax error: Postgres's message, where it is, and the sync's name; `check` says it too.
    let case = pg_case(
        "postgres",
        &url,
        WEB,
        "",
        &list_sync("mirror", "select user_id frm ids"),
    )
    .await;
    let out = case.expect(&["plan"], 3).await;
    assert!(
        out.contains("sync members") && out.contains("syntax error"),
        "{out}"
    );
    assert!(out.contains("line 1, column"), "{out}");
    let out = case.expect(&["check"], 4).await;
    assert!(out.contains("syntax error"), "{out}");
    case.stop().await;

    // An unreachable server and a wrong password: exit 3 with the fix, the password never shown.
    let closed = format!(
        "postgres://postgres:{}@127.0.0.1:9/wh",
        optisync_testpg::PASSWORD
    );
    let case = pg_case(
        "postgres",
        &closed,
        WEB,
        "",
        &list_sync("mirror", "select 'u1' as user_id"),
    )
    .await;
    let out = case.expect(&["plan"], 3).await;
    assert!(out.contains("check the host and port"), "{out}");
    assert!(!out.contains(optisync_testpg::PASSWORD), "{out}");
    let out = case.expect(&["check"], 4).await;
    assert!(out.contains("warehouse: "), "{out}");
    case.stop().await;
    let wrong = url.replace(optisync_testpg::PASSWORD, "not-the-password");
    let case = pg_case(
        "redshift",
        &wrong,
        WEB,
        "",
        &list_sync("mirror", "select 'u1' as user_id"),
    )
    .await;
    let out = case.expect(&["sync"], 3).await;
    assert!(out.contains("password authentication failed"), "{out}");
    assert!(out.contains("Redshift at 127.0.0.1"), "{out}");
    assert!(!out.contains("not-the-password"), "{out}");
    // A fetch size Redshift could not take is a config error, before connecting.
    let config = case.path().join("optisync.toml");
    let mut text = std::fs::read_to_string(&config).unwrap();
    text.push_str("fetch_rows = 0\n");
    std::fs::write(&config, text).unwrap();
    let out = case.expect(&["validate"], 3).await;
    assert!(
        out.contains("fetch_rows must be between 1 and 100000"),
        "{out}"
    );
    case.stop().await;
}
