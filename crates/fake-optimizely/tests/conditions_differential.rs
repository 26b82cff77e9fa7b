//! optisync's conditions check (`optisync_core::conditions`) and the fake's grammar are kept
//! apart on purpose: the fake stands in for Optimizely, so it must not borrow the client's
//! code. This test holds them to one promise instead: **whatever optisync would send, the
//! fake accepts**, and stores the same tree.
//!
//! Both follow docs/OPTIMIZELY-API.md#condition-grammar, `cond := ["and", cond+] | ["or", cond+] | ["not", cond] | leaf`:
//! an `"and"` or `"or"` without operands (`["and"]`) is refused by both, since `cond+` asks
//! for at least one. Where they differ, optisync is the stricter, for reasons of its own
//! that the table names (a row's `core` and `fake` columns say what each does with the text
//! as written; optisync sends its own canonical string, never the text).
//!
//! One table of inputs drives the checks; a property test adds generated trees, where the
//! two must agree both ways.

#![allow(clippy::unwrap_used)]

use bytes::Bytes;
use fake_optimizely::{DEMO_FX_PROJECT_ID, FakeOptimizely, RateLimits, Seed, demo_seed};
use optisync_core::conditions::{Conditions, MATCH_TYPES};
use proptest::prelude::*;
use proptest::test_runner::{Config, TestCaseError, TestRunner};
use serde_json::{Value as J, json};

const TOKEN: &str = "2:differential-test-token-0001";

/// What optisync makes of a mapped conditions value.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Core {
    /// A tree it would send.
    Sends,
    /// "No restriction": the audience is sent without `conditions`.
    Nothing,
    /// The row is rejected.
    Refuses,
}

/// What the fake answers to the text sent as `conditions` as it is.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Fake {
    Accepts,
    Refuses,
}

use Core::{Nothing, Refuses as CoreRefuses, Sends};
use Fake::{Accepts, Refuses as FakeRefuses};

/// `["and", leaf]` with `leaf`'s fields as given.
fn and_leaf(fields: &str) -> String {
    format!("[\"and\", {{{fields}}}]")
}

/// `depth` lists deep around one leaf: the leaf object itself is one more level.
fn nested(depth: usize) -> String {
    format!(
        "{}{{\"type\": \"a\"}}{}",
        "[\"and\", ".repeat(depth),
        "]".repeat(depth)
    )
}

/// The shared table: input text, what optisync does with it, what the fake does with it.
fn table() -> Vec<(String, Core, Fake)> {
    let mut rows: Vec<(String, Core, Fake)> = [
        // The documented shapes.
        (r#"["and", {"type": "custom_attribute", "name": "a", "value": 1}]"#, Sends, Accepts),
        (r#"["or", {"type": "x"}]"#, Sends, Accepts),
        (r#"["not", {"type": "x"}]"#, Sends, Accepts),
        (
            r#"["and",["or",["or",{"name":"is_logged_in","value":false,"match_type":"exact","type":"custom_attribute"}]]]"#,
            Sends,
            Accepts,
        ),
        (r#"["not", ["and", {"type": "a"}, {"type": "b"}]]"#, Sends, Accepts),
        (r#"["and", ["not", ["or", {"type": "a"}]], {"type": "b"}]"#, Sends, Accepts),
        (r#"["and", {"type": "language", "value": "es"}, {"type": "location", "value": "US-CA-SANFRANCISCO"}]"#, Sends, Accepts),
        // Leaf values of every JSON kind, unknown leaf fields, escapes, spacing.
        (r#"["and", {"type": "t", "value": "CA"}]"#, Sends, Accepts),
        (r#"["and", {"type": "t", "value": -14.5}]"#, Sends, Accepts),
        (r#"["and", {"type": "t", "value": true}]"#, Sends, Accepts),
        (r#"["and", {"type": "t", "value": null}]"#, Sends, Accepts),
        (r#"["and", {"type": "t", "value": [1, "x", null]}]"#, Sends, Accepts),
        (r#"["and", {"type": "t", "value": {"nested": {"k": 1}}}]"#, Sends, Accepts),
        (r#"["and", {"type": "t", "name": "", "value": ""}]"#, Sends, Accepts),
        (r#"["and", {"type": "t", "unknown_field": "kept"}]"#, Sends, Accepts),
        (r#"["and", {"type": "t", "value": "Zürich \u00e9 \" \\ \n 😀"}]"#, Sends, Accepts),
        ("  [ \"and\" ,\n { \"value\" : 1 , \"type\" : \"t\" } ]  ", Sends, Accepts),
        (r#"["and", {"type": "t", "value": 9007199254740992}]"#, Sends, Accepts),
        (r#"["and", {"type": "t", "value": 1.5e300}]"#, Sends, Accepts),
        (r#"["and", {"type": "t", "value": -0}]"#, Sends, Accepts),
        // "Everyone" and empty text mean no restriction to optisync; they are no tree.
        ("everyone", Nothing, FakeRefuses),
        (" Everyone ", Nothing, FakeRefuses),
        ("\"everyone\"", Nothing, FakeRefuses),
        ("[\"everyone\"]", Nothing, FakeRefuses),
        ("", Nothing, FakeRefuses),
        ("   ", Nothing, FakeRefuses),
        // Operators without their operands (the `cond+` of the grammar) and wrong counts.
        ("[]", CoreRefuses, FakeRefuses),
        ("[\"and\"]", CoreRefuses, FakeRefuses),
        ("[\"or\"]", CoreRefuses, FakeRefuses),
        ("[\"not\"]", CoreRefuses, FakeRefuses),
        (r#"["and", {"type": "a"}, ["or"]]"#, CoreRefuses, FakeRefuses),
        (r#"["not", ["and"]]"#, CoreRefuses, FakeRefuses),
        (r#"["and", []]"#, CoreRefuses, FakeRefuses),
        (r#"["not", {"type": "a"}, {"type": "b"}]"#, CoreRefuses, FakeRefuses),
        // Unknown operators, and operators that are not strings.
        (r#"["xor", {"type": "a"}]"#, CoreRefuses, FakeRefuses),
        (r#"["AND", {"type": "a"}]"#, CoreRefuses, FakeRefuses),
        (r#"[" and", {"type": "a"}]"#, CoreRefuses, FakeRefuses),
        (r#"["nand"]"#, CoreRefuses, FakeRefuses),
        (r#"[1, {"type": "a"}]"#, CoreRefuses, FakeRefuses),
        (r#"[null, {"type": "a"}]"#, CoreRefuses, FakeRefuses),
        (r#"[["and", {"type": "a"}]]"#, CoreRefuses, FakeRefuses),
        (r#"["and", "everyone"]"#, CoreRefuses, FakeRefuses),
        // Not a list at the top.
        (r#"{"type": "custom_attribute"}"#, CoreRefuses, FakeRefuses),
        ("3", CoreRefuses, FakeRefuses),
        ("true", CoreRefuses, FakeRefuses),
        ("null", CoreRefuses, FakeRefuses),
        ("\"and\"", CoreRefuses, FakeRefuses),
        // Operands that are neither lists nor leaves.
        (r#"["and", 3]"#, CoreRefuses, FakeRefuses),
        (r#"["or", {"type": "a"}, "b"]"#, CoreRefuses, FakeRefuses),
        (r#"["and", null]"#, CoreRefuses, FakeRefuses),
        (r#"["and", true]"#, CoreRefuses, FakeRefuses),
        // Bad leaf shapes.
        (r#"["and", {}]"#, CoreRefuses, FakeRefuses),
        (r#"["and", {"name": "x", "value": 1}]"#, CoreRefuses, FakeRefuses),
        (r#"["and", {"type": ""}]"#, CoreRefuses, FakeRefuses),
        (r#"["and", {"type": 5}]"#, CoreRefuses, FakeRefuses),
        (r#"["and", {"type": null}]"#, CoreRefuses, FakeRefuses),
        (r#"["and", {"type": ["a"]}]"#, CoreRefuses, FakeRefuses),
        (r#"["and", {"type": "a", "match_type": "fuzzy"}]"#, CoreRefuses, FakeRefuses),
        (r#"["and", {"type": "a", "match_type": "EXACT"}]"#, CoreRefuses, FakeRefuses),
        (r#"["and", {"type": "a", "match_type": ""}]"#, CoreRefuses, FakeRefuses),
        (r#"["and", {"type": "a", "match_type": 1}]"#, CoreRefuses, FakeRefuses),
        (r#"["and", {"type": "a", "match_type": null}]"#, CoreRefuses, FakeRefuses),
        // Not JSON.
        (r#"["and", {"type": "a"}"#, CoreRefuses, FakeRefuses),
        (r#"["and", {"type": "a"}] extra"#, CoreRefuses, FakeRefuses),
        (r#"['and', {'type': 'a'}]"#, CoreRefuses, FakeRefuses),
        (r#"["and", {"type": "a", "value": NaN}]"#, CoreRefuses, FakeRefuses),
        (r#"["and", {"type": "a", "value": 1e400}]"#, CoreRefuses, FakeRefuses),
        (r#"["and", {"type": "a", "value": "\ud800"}]"#, CoreRefuses, FakeRefuses),
        // optisync is stricter here, on purpose:
        // - a blank `type` is a mapping mistake, not a condition type;
        (r#"["and", {"type": "  "}]"#, CoreRefuses, Accepts),
        // - a number a float cannot hold would be sent rounded, targeting other users;
        (r#"["and", {"type": "t", "value": 123456789012345678901234567890}]"#, CoreRefuses, Accepts),
        // - nesting is capped at 100 levels of lists and objects.
    ]
    .into_iter()
    .map(|(input, core, fake)| (input.to_owned(), core, fake))
    .collect();
    rows.push((nested(99), Sends, Accepts));
    rows.push((nested(100), CoreRefuses, Accepts));
    // Every match type optisync allows, and many operands.
    for match_type in MATCH_TYPES {
        rows.push((
            and_leaf(&format!(
                "\"type\": \"custom_attribute\", \"name\": \"a\", \"match_type\": \"{match_type}\", \"value\": \"v\""
            )),
            Sends,
            Accepts,
        ));
    }
    let many: Vec<String> = (0..200)
        .map(|i| format!("{{\"type\": \"custom_attribute\", \"name\": \"a{i}\", \"value\": {i}}}"))
        .collect();
    rows.push((format!("[\"or\", {}]", many.join(", ")), Sends, Accepts));
    rows
}

fn fake() -> FakeOptimizely {
    FakeOptimizely::new(Seed {
        rate_limits: RateLimits::unlimited(),
        ..demo_seed(TOKEN)
    })
    .unwrap()
}

/// Creates an audience with `conditions` in the fake: `Ok(stored conditions)` on 201,
/// `Err(message)` on 400.
async fn create(fake: &FakeOptimizely, conditions: &str) -> Result<String, String> {
    let body = json!({"project_id": DEMO_FX_PROJECT_ID, "name": "n", "conditions": conditions});
    let request = http::Request::post("/v2/audiences")
        .header("authorization", format!("Bearer {TOKEN}"))
        .header("content-type", "application/json")
        .body(Bytes::from(serde_json::to_vec(&body).unwrap()))
        .unwrap();
    let response = fake.handle(request).await.unwrap();
    let status = response.status().as_u16();
    let body: J = serde_json::from_slice(response.body()).unwrap();
    match status {
        201 => Ok(body["conditions"].as_str().unwrap().to_owned()),
        400 => Err(body["message"].as_str().unwrap().to_owned()),
        other => panic!("unexpected status {other}: {body}"),
    }
}

fn core_verdict(input: &str) -> (Core, Option<Conditions>) {
    match Conditions::parse(input) {
        Ok(Some(conditions)) => (Sends, Some(conditions)),
        Ok(None) => (Nothing, None),
        Err(_) => (CoreRefuses, None),
    }
}

/// The promise: what optisync would send, the fake takes, and stores the same tree.
async fn fake_takes_what_core_sends(
    fake: &FakeOptimizely,
    input: &str,
    sent: &Conditions,
) -> Result<(), String> {
    let canonical = sent.to_api_string();
    let stored = create(fake, &canonical).await.map_err(|message| {
        format!("optisync would send {canonical} (from {input:?}), the fake refuses it: {message}")
    })?;
    if Conditions::from_api_string(&stored) != *sent {
        return Err(format!(
            "the fake stored {stored} for {canonical}, another tree"
        ));
    }
    Ok(())
}

#[tokio::test]
async fn the_shared_table() {
    let fake = fake();
    let mut failures = Vec::new();
    for (input, core, expected_fake) in table() {
        let shown: String = input.chars().take(120).collect();
        let (got_core, sent) = core_verdict(&input);
        if got_core != core {
            failures.push(format!(
                "{shown:?}: optisync {got_core:?}, the table says {core:?}"
            ));
        }
        let got_fake = match create(&fake, &input).await {
            Ok(_) => Accepts,
            Err(_) => FakeRefuses,
        };
        if got_fake != expected_fake {
            failures.push(format!(
                "{shown:?}: the fake {got_fake:?}, the table says {expected_fake:?}"
            ));
        }
        if let Some(sent) = sent
            && let Err(problem) = fake_takes_what_core_sends(&fake, &input, &sent).await
        {
            failures.push(problem);
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

#[test]
fn the_table_never_has_optisync_send_what_the_fake_refuses() {
    for (input, core, fake) in table() {
        assert!(
            !(core == Sends && fake == FakeRefuses),
            "{input}: the two grammars must not disagree this way"
        );
    }
}

/// Condition trees from a vocabulary on which both checks mean to agree: valid and unknown
/// operators, missing and extra operands, good and bad leaves, scalars where a condition
/// belongs. (Blank types, huge numbers and deep nesting, where optisync is stricter on
/// purpose, are left to the table.)
fn tree() -> impl Strategy<Value = J> {
    let value = prop_oneof![
        Just(None),
        any::<i32>().prop_map(|n| Some(json!(n))),
        (-1.0e6..1.0e6f64).prop_map(|f| Some(json!(f))),
        any::<bool>().prop_map(|b| Some(json!(b))),
        "[a-zé\"\\\\ ]{0,6}".prop_map(|s| Some(json!(s))),
        Just(Some(J::Null)),
        Just(Some(json!([1, "x"]))),
    ];
    let kind = prop_oneof![
        4 => prop::sample::select(vec!["custom_attribute", "cookies", "browser", "list"])
            .prop_map(|t| Some(json!(t))),
        1 => Just(Some(json!(""))),
        1 => Just(Some(json!(5))),
        1 => Just(Some(J::Null)),
        1 => Just(None),
    ];
    let match_type = prop_oneof![
        3 => Just(None),
        4 => prop::sample::select(MATCH_TYPES.to_vec()).prop_map(|m| Some(json!(m))),
        1 => prop::sample::select(vec!["fuzzy", "EXACT", ""]).prop_map(|m| Some(json!(m))),
        1 => Just(Some(json!(1))),
    ];
    let leaf = (kind, match_type, value).prop_map(|(kind, match_type, value)| {
        let mut leaf = serde_json::Map::new();
        leaf.insert("name".into(), json!("a"));
        for (key, field) in [("type", kind), ("match_type", match_type), ("value", value)] {
            if let Some(field) = field {
                leaf.insert(key.into(), field);
            }
        }
        J::Object(leaf)
    });
    leaf.prop_recursive(5, 40, 4, |inner| {
        let operator = prop_oneof![
            6 => prop::sample::select(vec!["and", "or", "not"]).prop_map(|op| json!(op)),
            1 => prop::sample::select(vec!["xor", "AND", "everyone"]).prop_map(|op| json!(op)),
            1 => Just(json!(1)),
        ];
        let operand = prop_oneof![
            8 => inner,
            1 => prop::sample::select(vec![json!(3), json!("b"), J::Null, json!([])]),
        ];
        (operator, prop::collection::vec(operand, 0..4)).prop_map(|(operator, operands)| {
            let mut list = vec![operator];
            list.extend(operands);
            J::Array(list)
        })
    })
}

#[test]
fn generated_trees_agree_both_ways() {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let fake = fake();
    let mut runner = TestRunner::new(Config {
        cases: 512,
        failure_persistence: None,
        ..Config::default()
    });
    let outcome = runner.run(&tree(), |tree| {
        let input = tree.to_string();
        let (core, sent) = core_verdict(&input);
        let fake_says = runtime.block_on(create(&fake, &input));
        match core {
            Sends => {
                prop_assert!(fake_says.is_ok(), "{input}: {fake_says:?}");
                let sent = sent.unwrap();
                runtime
                    .block_on(fake_takes_what_core_sends(&fake, &input, &sent))
                    .map_err(TestCaseError::fail)?;
            }
            // Nothing is sent; the fake has no say.
            Nothing => {}
            CoreRefuses => {
                prop_assert!(
                    fake_says.is_err(),
                    "optisync refuses {input}, the fake took it"
                );
            }
        }
        Ok(())
    });
    if let Err(error) = outcome {
        panic!("{error}");
    }
}
