//! Hostile and broken values in a model's rows, through the real binary against the fake
//! Optimizely. A problem in one row is a rejected row (exit 5) whatever the column's type,
//! and the good rows of the same run are delivered: a JSON cell nested too deeply to read,
//! a timestamp beyond the years optisync can write, list ids holding control or invisible
//! characters, a number in audience conditions that a float would round. And a rejected
//! value is never echoed whole or raw: a 1 MB id costs a line of output, and a value full
//! of terminal escapes cannot reach the terminal.

#![allow(clippy::unwrap_used)]

mod common;

use common::{Case, FX, LIST, WEB};

/// Control and invisible characters that must never reach the output raw.
const HIDDEN: [char; 8] = [
    '\u{0}', '\u{1b}', '\u{7f}', '\u{9b}', '\u{200b}', '\u{202e}', '\u{2066}', '\u{feff}',
];

fn assert_no_hidden(out: &str) {
    for c in HIDDEN {
        assert!(
            !out.contains(c),
            "U+{:04X} reached the output:\n{out}",
            u32::from(c)
        );
    }
}

fn audience_sync(model: &str) -> String {
    format!(
        "[[sync]]\nname = \"segments\"\nobject = \"audience\"\nmode = \"upsert\"\n\
         audience_name = \"{{name}}\"\nprimary_key = [\"name\"]\nmodel = '''{model}'''\n\
         mapping = {{ conditions = \"conditions\" }}\n"
    )
}

fn attribute_sync(model: &str, mapping: &str) -> String {
    format!(
        "[[sync]]\nname = \"attrs\"\nobject = \"attribute\"\nmode = \"upsert\"\n\
         model = '''{model}'''\nmapping = {mapping}\n"
    )
}

fn list_sync(model: &str) -> String {
    format!(
        "[[sync]]\nname = \"members\"\nobject = \"list_attribute\"\nlist_attribute_id = {LIST}\n\
         mode = \"mirror\"\nmodel = '''{model}'''\nmapping = {{ user_id = \"user_id\" }}\n"
    )
}

fn names(case: &Case, kind: &str, project: i64) -> Vec<String> {
    let mut names: Vec<String> = case
        .objects(kind, project)
        .iter()
        .filter_map(|o| o["key"].as_str().or(o["name"].as_str()).map(str::to_owned))
        .collect();
    names.sort();
    names
}

/// The run id a `sync` printed: `sync NAME (…): RESULT (run ID)`.
fn run_id(out: &str) -> String {
    let start = out.find("(run ").unwrap() + "(run ".len();
    let end = start + out[start..].find(')').unwrap();
    out[start..end].to_owned()
}

const GOOD_CONDITIONS: &str = r#"["and", {"type": "custom_attribute", "name": "plan", "match_type": "exact", "value": "gold"}]"#;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_over_deep_json_cell_rejects_its_row_and_the_good_row_is_delivered() {
    let model = format!(
        "select * from (values ('Good', '{GOOD_CONDITIONS}'::JSON), \
         ('Deep', (repeat('[', 300) || repeat(']', 300))::JSON)) t(name, conditions)"
    );
    let case = Case::new(FX, "", &audience_sync(&model)).await;
    let out = case.expect(&["sync"], 5).await;
    assert!(out.contains("rejected \"Deep\" (conditions)"), "{out}");
    assert!(
        out.contains("column `conditions` cannot be read in this row"),
        "{out}"
    );
    assert!(out.contains("nested 300 levels deep"), "{out}");
    assert!(out.contains("flatten it in the model"), "{out}");
    assert_eq!(names(&case, "audiences", FX), vec!["Good"]);
    case.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_out_of_range_timestamp_rejects_its_row_only_even_inside_a_list() {
    let model = "select key, about, [about] as listed from (values \
                 ('good_attr', timestamp '2024-01-02 03:04:05'), \
                 ('far_future', make_timestamp(290000, 1, 1, 0, 0, 0))) t(key, about)";
    let sync = attribute_sync(
        model,
        "{ key = \"key\", description = \"about\", name = \"listed\" }",
    );
    let case = Case::new(WEB, "", &sync).await;
    let out = case.expect(&["sync"], 5).await;
    assert!(
        out.contains("rejected \"far_future\" (description)"),
        "{out}"
    );
    assert!(out.contains("rejected \"far_future\" (name)"), "{out}");
    assert!(
        out.contains("outside the years optisync can write"),
        "{out}"
    );
    assert!(out.contains("cast it to VARCHAR"), "{out}");
    assert_eq!(names(&case, "attributes", WEB), vec!["good_attr"]);
    let attribute = &case.objects("attributes", WEB)[0];
    assert_eq!(attribute["description"], "2024-01-02T03:04:05");
    assert_eq!(attribute["name"], "[\"2024-01-02T03:04:05\"]");
    case.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn list_ids_holding_control_or_invisible_characters_are_rejected() {
    // Each bad id hides one character inside it; trimming cannot remove them.
    let bad = [
        (0, "U+0000"),
        (10, "U+000A"),
        (13, "U+000D"),
        (9, "U+0009"),
        (27, "U+001B"),
        (155, "U+009B"),
        (8203, "U+200B"),
        (8204, "U+200C"),
        (8205, "U+200D"),
        (8288, "U+2060"),
        (65279, "U+FEFF"),
        (8238, "U+202E"),
        (8294, "U+2066"),
    ];
    let mut rows = vec!["('u1')".to_owned(), "('plain-é')".to_owned()];
    for (i, (code, _)) in bad.iter().enumerate() {
        rows.push(format!("('bad' || chr({code}) || '{i}')"));
    }
    let model = format!("select * from (values {}) t(user_id)", rows.join(", "));
    let case = Case::new(WEB, "", &list_sync(&model)).await;
    let out = case.expect(&["sync"], 5).await;
    for (_, name) in bad {
        assert!(
            out.contains(&format!("control or invisible character {name}")),
            "{name}:\n{out}"
        );
    }
    assert!(out.contains(&format!("{} rejected", bad.len())), "{out}");
    assert_no_hidden(&out);
    assert_eq!(case.list(), vec!["plain-é", "u1"]);
    case.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_one_megabyte_id_is_shown_truncated_everywhere() {
    let model = "select 'u1' as user_id union all select repeat('x', 1048576) \
                 union all select chr(27) || ']0;owned' || chr(7) || repeat('y', 200)";
    let case = Case::new(WEB, "", &list_sync(model)).await;
    let out = case.expect(&["sync"], 5).await;
    assert!(out.len() < 4_096, "{} bytes of output", out.len());
    assert!(out.contains("(1048576 bytes)"), "{out}");
    assert!(out.contains("1048576 characters long"), "{out}");
    assert_no_hidden(&out);
    assert_eq!(case.list(), vec!["u1"]);

    let run = run_id(&out);
    for args in [
        vec!["runs", "show", run.as_str()],
        vec!["runs", "show", run.as_str(), "--output", "json"],
        vec!["status"],
    ] {
        let shown = case.expect(&args, 0).await;
        assert!(shown.len() < 4_096, "{args:?}: {} bytes", shown.len());
        assert_no_hidden(&shown);
    }
    let json = case
        .expect(&["runs", "show", run.as_str(), "--output", "json"], 0)
        .await;
    assert!(json.contains("(1048576 bytes)"), "{json}");
    case.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn huge_and_hostile_definition_values_are_shown_truncated() {
    let model = "select * from (values ('good', 'false'), (repeat('k', 1048576), 'false'), \
                 ('bad_archived', chr(27) || '[2J' || chr(8238) || repeat('y', 1048576)), \
                 ('also_good', 'false')) t(key, archived)";
    let sync = attribute_sync(model, "{ key = \"key\", archived = \"archived\" }");
    let case = Case::new(WEB, "", &sync).await;
    let out = case.expect(&["sync"], 5).await;
    assert!(out.len() < 4_096, "{} bytes of output", out.len());
    assert!(out.contains("key is 1048576 characters long"), "{out}");
    assert!(out.contains("archived must be a boolean"), "{out}");
    // ESC, `[2J`, U+202E (3 bytes) and the 1 MB of `y`.
    assert!(out.contains("(1048583 bytes)"), "{out}");
    assert_no_hidden(&out);
    assert_eq!(names(&case, "attributes", WEB), vec!["also_good", "good"]);
    case.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_number_a_float_would_round_in_conditions_is_rejected_with_the_fix() {
    let big = GOOD_CONDITIONS.replace("\"gold\"", "123456789012345678901234567890");
    let quoted = GOOD_CONDITIONS.replace("\"gold\"", "\"123456789012345678901234567890\"");
    // As text, and as DuckDB's JSON type: the digits must not be rounded on the way.
    let text = audience_sync(&format!(
        "select * from (values ('Text big', '{big}'), ('Text quoted', '{quoted}')) \
         t(name, conditions)"
    ));
    let json = audience_sync(&format!(
        "select name, conditions::JSON as conditions from (values ('Json big', '{big}'), \
         ('Json quoted', '{quoted}')) t(name, conditions)"
    ))
    .replace("name = \"segments\"", "name = \"segments_json\"");
    let case = Case::new(FX, "", &format!("{text}\n{json}")).await;
    let out = case.expect(&["sync"], 5).await;
    for name in ["Text big", "Json big"] {
        assert!(
            out.contains(&format!("rejected \"{name}\" (conditions)")),
            "{name}:\n{out}"
        );
    }
    assert!(
        out.contains("the number 123456789012345678901234567890"),
        "{out}"
    );
    assert!(out.contains("write it as a string, in quotes"), "{out}");
    assert_eq!(
        names(&case, "audiences", FX),
        vec!["Json quoted", "Text quoted"]
    );
    for audience in case.objects("audiences", FX) {
        let sent = audience["conditions"].as_str().unwrap();
        assert!(
            sent.contains("\"123456789012345678901234567890\""),
            "{sent}"
        );
    }
    case.stop().await;
}
