//! Audience `conditions`: the grammar check and the server's re-serialisation.
//!
//! `conditions` travels as a *string* holding JSON (docs/OPTIMIZELY-API.md#condition-transport). Its grammar
//! (docs/OPTIMIZELY-API.md#condition-grammar, documented):
//!
//! ```text
//! cond := ["and", cond+] | ["or", cond+] | ["not", cond] | leaf
//! ```
//!
//! a list whose first element is the operator `"and"`, `"or"` or `"not"` followed by
//! conditions, or a leaf object with a `type`. A leaf's `match_type`, when present, must be
//! one of the known match types (docs/OPTIMIZELY-API.md#condition-leaves). What the real server answers for invalid trees
//! is not documented (INFERRED, docs/OPTIMIZELY-API.md#invalid-conditions): the fake answers 400 with a message pointing at the
//! offending element.
//!
//! `cond+` means an `"and"` or `"or"` needs at least one operand: `["and"]` and `["or"]` are
//! refused like `["not"]`. The list of invalid trees (docs/OPTIMIZELY-API.md#invalid-conditions) does not name them, but it is an
//! INFERRED summary while the grammar is documented, and optisync's own check
//! (`optisync_core::conditions`) refuses them too; the test
//! `tests/conditions_differential.rs` keeps the two checks in step over one table of inputs.
//!
//! The real server stores the tree re-serialised Python style (sorted keys, `", "` and
//! `": "`); [`normalize`] reproduces that so clients learn to compare parsed trees.

use crate::json_format::to_python_json;
use serde_json::Value;

/// Match types the SDKs evaluate (`exact` … `qualified`) plus `regex`, used by Web leaves.
const MATCH_TYPES: [&str; 14] = [
    "exact",
    "exists",
    "substring",
    "gt",
    "ge",
    "lt",
    "le",
    "semver_eq",
    "semver_ge",
    "semver_gt",
    "semver_le",
    "semver_lt",
    "qualified",
    "regex",
];

/// Checks the grammar of a `conditions` string and returns it the way the server stores it.
pub(crate) fn normalize(conditions: &str) -> Result<String, String> {
    let tree: Value = serde_json::from_str(conditions)
        .map_err(|e| format!("field 'conditions' is not valid JSON: {e}"))?;
    if !tree.is_array() {
        return Err(format!(
            "field 'conditions' must be a JSON list starting with \"and\", \"or\" or \"not\", not {}",
            describe(&tree)
        ));
    }
    check_condition(&tree, "conditions")?;
    Ok(to_python_json(&tree))
}

fn describe(value: &Value) -> &'static str {
    match value {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "a list",
        Value::Object(_) => "an object",
    }
}

fn check_condition(node: &Value, at: &str) -> Result<(), String> {
    match node {
        Value::Array(items) => check_list(items, at),
        Value::Object(_) => check_leaf(node, at),
        other => Err(format!(
            "{at} must be a condition list or a leaf object, not {}",
            describe(other)
        )),
    }
}

fn check_list(items: &[Value], at: &str) -> Result<(), String> {
    let Some(first) = items.first() else {
        return Err(format!(
            "{at} is an empty list; a condition list starts with \"and\", \"or\" or \"not\""
        ));
    };
    let operator = match first.as_str() {
        Some(op @ ("and" | "or" | "not")) => op,
        _ => {
            return Err(format!(
                "{at}[0] must be the operator \"and\", \"or\" or \"not\", not {first}"
            ));
        }
    };
    let operands = &items[1..];
    if operator == "not" && operands.len() != 1 {
        return Err(format!(
            "{at}: \"not\" takes exactly one operand, got {}",
            operands.len()
        ));
    }
    if operands.is_empty() {
        return Err(format!("{at}: \"{operator}\" needs at least one operand"));
    }
    for (i, operand) in operands.iter().enumerate() {
        check_condition(operand, &format!("{at}[{}]", i + 1))?;
    }
    Ok(())
}

fn check_leaf(leaf: &Value, at: &str) -> Result<(), String> {
    match leaf.get("type") {
        Some(Value::String(t)) if !t.is_empty() => {}
        Some(other) => {
            return Err(format!(
                "{at}: a leaf's \"type\" must be a non-empty string, not {other}"
            ));
        }
        None => return Err(format!("{at}: a leaf condition needs a \"type\"")),
    }
    match leaf.get("match_type") {
        None => Ok(()),
        Some(Value::String(mt)) if MATCH_TYPES.contains(&mt.as_str()) => Ok(()),
        Some(other) => Err(format!(
            "{at}: unknown match_type {other}; expected one of {}",
            MATCH_TYPES.join(", ")
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reserialises_like_the_real_server() {
        let sent = r#"["and",["or",["or",{"name":"is_logged_in","value":false,"match_type":"exact","type":"custom_attribute"}]]]"#;
        let stored = r#"["and", ["or", ["or", {"match_type": "exact", "name": "is_logged_in", "type": "custom_attribute", "value": false}]]]"#;
        assert_eq!(normalize(sent).as_deref(), Ok(stored));
        // Idempotent.
        assert_eq!(normalize(stored).as_deref(), Ok(stored));
    }

    #[test]
    fn rejects_each_invalid_shape_and_says_where() {
        let cases = [
            ("not json", "not valid JSON"),
            ("{\"type\":\"x\"}", "must be a JSON list"),
            ("\"everyone\"", "must be a JSON list"),
            ("[]", "empty list"),
            ("[\"everyone\"]", "conditions[0] must be the operator"),
            ("[\"not\"]", "exactly one operand, got 0"),
            (
                "[\"and\"]",
                "conditions: \"and\" needs at least one operand",
            ),
            (
                "[\"or\", {\"type\":\"a\"}, [\"or\"]]",
                "conditions[2]: \"or\" needs at least one operand",
            ),
            (
                "[\"and\", [\"not\", {\"type\":\"a\"}, {\"type\":\"b\"}]]",
                "conditions[1]: \"not\" takes exactly one operand, got 2",
            ),
            (
                "[\"and\", {\"name\": \"x\"}]",
                "conditions[1]: a leaf condition needs a \"type\"",
            ),
            (
                "[\"or\", {\"type\": \"custom_attribute\", \"match_type\": \"fuzzy\"}]",
                "conditions[1]: unknown match_type \"fuzzy\"",
            ),
            (
                "[\"and\", [\"or\", 3]]",
                "conditions[1][1] must be a condition list or a leaf object",
            ),
        ];
        for (input, expected) in cases {
            let err = normalize(input).unwrap_err();
            assert!(err.contains(expected), "{input}: {err}");
        }
    }

    #[test]
    fn accepts_leaves_without_match_type() {
        assert!(
            normalize(
                "[\"and\", {\"type\": \"custom_attribute\", \"name\": \"a\", \"value\": 14}]"
            )
            .is_ok()
        );
    }
}
