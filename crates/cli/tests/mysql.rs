//! `optisync` end to end with a MySQL-protocol warehouse: a real, throwaway MariaDB server
//! (started by the test), the real binary, and the fake Optimizely. Every object type and
//! mode from a MySQL model (first run, no-op run, incremental run), and the bad inputs of a
//! real warehouse: NULL ids, a model that is not a query, an unreachable server, a wrong
//! password, an unknown database.

#![allow(clippy::unwrap_used)]

mod common;

use common::{Case, FX, LIST, WEB};
use optisync_testmysql::TestMysql;

/// A case whose config reads from the MySQL server at `url` (the URL in a file, a secret).
async fn my_case(url: &str, project: i64, list_content: &str, syncs: &str) -> Case {
    let case = Case::new(project, list_content, syncs).await;
    case.write("warehouse-url", url);
    let path = case.path().join("optisync.toml");
    let mut config = std::fs::read_to_string(&path).unwrap();
    config.push_str(
        "\n[source]\ntype = \"mysql\"\nurl = { file = \"warehouse-url\" }\nsslmode = \"prefer\"\nstatement_timeout = \"30s\"\n",
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

fn server() -> TestMysql {
    let db = TestMysql::start().unwrap();
    db.create_database("wh").unwrap();
    db
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_list_mode_from_mysql() {
    let db = server();
    let url = db.url("wh");
    db.sql(
        "wh",
        "create table members (user_id varchar(20)); \
         insert into members select concat('u', seq) from seq_1_to_10",
    )
    .unwrap();
    let model = "select user_id from members";

    // Mirror: first run, a no-op, then one member replaced (planned incrementally).
    let case = my_case(&url, WEB, "", &list_sync("mirror", model)).await;
    let out = case.expect(&["check"], 0).await;
    assert!(out.contains("warehouse (mysql) answers"), "{out}");
    case.expect(&["validate"], 0).await;
    case.expect(&["sync"], 0).await;
    assert_eq!(case.list().len(), 10);
    let before = case.writes();
    case.expect(&["sync"], 0).await;
    assert_eq!(case.writes(), before, "a second run sends nothing");
    db.sql(
        "wh",
        "update members set user_id = 'u11' where user_id = 'u3'",
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
    let case = my_case(
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

    let case = my_case(
        &url,
        WEB,
        "a1,a2,a3,a4,a5,a6,a7,a8,a9,a10",
        &list_sync(
            "remove",
            "select concat('a', seq) as user_id from seq_1_to_2",
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
async fn every_definition_type_and_mode_from_mysql() {
    let db = server();
    let url = db.url("wh");
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
            db.sql(
                "wh",
                &format!(
                    "create table {table} (`{key}` varchar(20), label text, name text, about text); \
                     insert into {table} values ('k1', 'First', 'First', 'one'), ('k2', 'Second', 'Second', 'two')"
                ),
            )
            .unwrap();
            let model = format!("select * from {table}");
            let case = my_case(
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

            db.sql(
                "wh",
                &format!(
                    "update {table} set about = 'changed' where `{key}` = 'k1'; \
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
async fn mysql_bad_inputs_are_named_and_the_good_rows_go_on() {
    let db = server();
    let url = db.url("wh");
    db.sql(
        "wh",
        "create table ids (n bigint, t varchar(5)); insert into ids values (1, 'x'), (null, 'y')",
    )
    .unwrap();

    // Integer ids arrive as text; a NULL id is a rejected row, the others go on.
    let case = my_case(
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

    // A model that is not a query never runs, and says why; a syntax error says where.
    let case = my_case(&url, WEB, "", &list_sync("mirror", "delete from ids")).await;
    let out = case.expect(&["sync"], 3).await;
    assert!(out.contains("a model must be a query"), "{out}");
    assert_eq!(case.writes(), 0);
    assert_eq!(db.sql("wh", "select count(*) from ids").unwrap(), "2");
    case.stop().await;
    let case = my_case(&url, WEB, "", &list_sync("mirror", "select n frm ids")).await;
    let out = case.expect(&["plan"], 3).await;
    assert!(
        out.contains("sync members") && out.contains("SQL syntax") && out.contains("line 1"),
        "{out}"
    );
    let out = case.expect(&["check"], 4).await;
    assert!(out.contains("SQL syntax"), "{out}");
    case.stop().await;

    // An unreachable server, a wrong password, an unknown database: exit 3 with the fix,
    // the password never shown.
    let closed = format!(
        "mysql://root:{}@127.0.0.1:9/wh",
        optisync_testmysql::PASSWORD
    );
    let case = my_case(
        &closed,
        WEB,
        "",
        &list_sync("mirror", "select 'u1' as user_id"),
    )
    .await;
    let out = case.expect(&["plan"], 3).await;
    assert!(out.contains("check the host and port"), "{out}");
    assert!(!out.contains(optisync_testmysql::PASSWORD), "{out}");
    case.stop().await;
    let wrong = url.replace(optisync_testmysql::PASSWORD, "not-the-password");
    let case = my_case(
        &wrong,
        WEB,
        "",
        &list_sync("mirror", "select 'u1' as user_id"),
    )
    .await;
    let out = case.expect(&["sync"], 3).await;
    assert!(out.contains("Access denied"), "{out}");
    assert!(out.contains("MySQL at 127.0.0.1"), "{out}");
    assert!(!out.contains("not-the-password"), "{out}");
    case.stop().await;
    let case = my_case(
        &db.url("nope"),
        WEB,
        "",
        &list_sync("mirror", "select 'u1' as user_id"),
    )
    .await;
    let out = case.expect(&["check"], 4).await;
    assert!(out.contains("check the database name"), "{out}");
    case.stop().await;
}
