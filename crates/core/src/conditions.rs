//! Audience conditions (docs/OPTIMIZELY-API.md#audience-conditions): reading what a user mapped (JSON, or text holding JSON),
//! checking it against the grammar with errors that say where, recognising "everyone" as no
//! restriction, comparing two trees as parsed JSON (the API re-serialises conditions with its
//! own key order and spacing, so text comparison would report false changes), and writing the
//! JSON string the API expects.
//!
//! Grammar: `cond := ["and", cond+] | ["or", cond+] | ["not", cond] | leaf`, where a leaf is an
//! object with a string `type` and an optional `match_type` from [`MATCH_TYPES`]. The top level
//! must be an operator list. `cond+` is taken at its word: `["and"]` and `["or"]` without an
//! operand are refused, as by the fake server, which must accept every tree this module
//! accepts (`crates/fake-optimizely/tests/conditions_differential.rs` holds both to that).
//!
//! Conditions nest at most [`MAX_JSON_DEPTH`] levels, and a number that a float would round
//! (`123456789012345678901234567890`) is refused with the advice to quote it: serde_json reads
//! numbers as floats, and sending a rounded value would silently target other users.

use std::fmt::Write as _;

use serde::{Deserialize, Serialize};

use crate::error::ConditionsError;
use crate::value::{MAX_JSON_DEPTH, Value, inexact_json_number, json_depth_over, quoted, shown};

/// The `match_type` values a leaf may carry (those the SDKs evaluate, plus `regex` from Web
/// targeting).
pub const MATCH_TYPES: [&str; 14] = [
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

/// A validated audience condition tree. Equality is structural over parsed JSON: object key
/// order and whitespace never matter, and numbers compare by value (`14` equals `14.0`).
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(transparent)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
pub struct Conditions(serde_json::Value);

impl PartialEq for Conditions {
    fn eq(&self, other: &Self) -> bool {
        json_eq(&self.0, &other.0)
    }
}

impl Conditions {
    /// Reads a mapped value. `Ok(None)` means "no restriction": null, empty text, `"everyone"`
    /// or `["everyone"]` (any case) — the audience then gets no `conditions` field.
    pub fn from_value(value: &Value) -> Result<Option<Self>, ConditionsError> {
        match value {
            Value::Null => Ok(None),
            Value::Invalid(reason) => fail("$", reason.clone()),
            Value::Text(text) => Self::parse(text),
            Value::Json(serde_json::Value::String(text)) => Self::parse(text),
            Value::Json(json) => Self::from_json(json.clone()),
            Value::Bool(_) | Value::Int(_) | Value::Float(_) => Err(ConditionsError {
                path: "$".to_owned(),
                problem: "expected a JSON list such as [\"and\", {\"type\": \"custom_attribute\", ...}], got a scalar".to_owned(),
            }),
        }
    }

    /// Reads conditions from JSON text; see [`Conditions::from_value`].
    pub fn parse(text: &str) -> Result<Option<Self>, ConditionsError> {
        let trimmed = text.trim();
        if trimmed.is_empty() || trimmed.eq_ignore_ascii_case("everyone") {
            return Ok(None);
        }
        if let Some(depth) = json_depth_over(trimmed, MAX_JSON_DEPTH) {
            return fail("$", too_deep(depth));
        }
        let json: serde_json::Value =
            serde_json::from_str(trimmed).map_err(|e| ConditionsError {
                path: "$".to_owned(),
                problem: format!(
                    "not valid JSON (line {}, column {}): {}",
                    e.line(),
                    e.column(),
                    e
                ),
            })?;
        if let Some(number) = inexact_json_number(trimmed) {
            return fail(
                "$",
                format!(
                    "the number {} has more digits than a JSON number keeps exactly (it would \
                     be sent as {}); write it as a string, in quotes",
                    shown(number),
                    shown(&lossy_number(number))
                ),
            );
        }
        Self::from_json(json)
    }

    /// Reads an already-parsed JSON value; see [`Conditions::from_value`].
    pub fn from_json(json: serde_json::Value) -> Result<Option<Self>, ConditionsError> {
        if is_everyone(&json) {
            return Ok(None);
        }
        if !json.is_array() {
            return Err(ConditionsError {
                path: "$".to_owned(),
                problem: format!(
                    "expected an operator list starting with \"and\", \"or\" or \"not\", got {}",
                    kind(&json)
                ),
            });
        }
        let depth = json_depth(&json, MAX_JSON_DEPTH);
        if depth > MAX_JSON_DEPTH {
            return fail("$", too_deep(depth));
        }
        let mut path = String::from("$");
        check_cond(&json, &mut path)?;
        Ok(Some(Self(json)))
    }

    /// Conditions as Optimizely returned them, without grammar checks (the remote side may hold
    /// forms optisync would not write). Text that is not JSON is kept as a JSON string so it
    /// compares unequal to any tree.
    pub fn from_api_string(text: &str) -> Self {
        match serde_json::from_str(text) {
            Ok(json) => Self(json),
            Err(_) => Self(serde_json::Value::String(text.to_owned())),
        }
    }

    /// The tree.
    pub fn as_json(&self) -> &serde_json::Value {
        &self.0
    }

    /// The string sent as `Audience.conditions`: compact JSON with object keys sorted, so the
    /// same tree always produces the same request body.
    pub fn to_api_string(&self) -> String {
        let mut out = String::new();
        write_canonical(&self.0, &mut out, false);
        out
    }
}

fn too_deep(depth: usize) -> String {
    format!(
        "nested {depth} levels deep; conditions may nest at most {MAX_JSON_DEPTH} levels of lists and objects"
    )
}

/// How a number loses its digits when read as a float, for the message.
fn lossy_number(number: &str) -> String {
    number
        .parse::<f64>()
        .map_or_else(|_| "an error".to_owned(), |f| f.to_string())
}

/// The nesting depth of a JSON value (a scalar is 0, `[1]` is 1), counted no further than
/// one past `limit`.
fn json_depth(json: &serde_json::Value, limit: usize) -> usize {
    let children: Box<dyn Iterator<Item = &serde_json::Value>> = match json {
        serde_json::Value::Array(items) => Box::new(items.iter()),
        serde_json::Value::Object(map) => Box::new(map.values()),
        _ => return 0,
    };
    if limit == 0 {
        return 1;
    }
    1 + children
        .map(|child| json_depth(child, limit - 1))
        .max()
        .unwrap_or(0)
}

fn is_everyone(json: &serde_json::Value) -> bool {
    match json {
        serde_json::Value::String(s) => s.trim().eq_ignore_ascii_case("everyone"),
        serde_json::Value::Array(items) => {
            items.len() == 1
                && items[0]
                    .as_str()
                    .is_some_and(|s| s.trim().eq_ignore_ascii_case("everyone"))
        }
        _ => false,
    }
}

fn kind(json: &serde_json::Value) -> &'static str {
    match json {
        serde_json::Value::Null => "null",
        serde_json::Value::Bool(_) => "a boolean",
        serde_json::Value::Number(_) => "a number",
        serde_json::Value::String(_) => "a string",
        serde_json::Value::Array(_) => "a list",
        serde_json::Value::Object(_) => "an object",
    }
}

fn fail<T>(path: &str, problem: String) -> Result<T, ConditionsError> {
    Err(ConditionsError {
        path: path.to_owned(),
        problem,
    })
}

/// Appends a key to a JSON path: `.key` for identifier-like keys, `["key"]` otherwise.
fn push_key(path: &mut String, key: &str) {
    if !key.is_empty() && key.chars().all(|c| c.is_ascii_alphanumeric() || c == '_') {
        path.push('.');
        path.push_str(key);
    } else {
        path.push('[');
        write_json_string(key, path);
        path.push(']');
    }
}

/// Validates one node; `path` is the node's location and is restored before returning.
fn check_cond(json: &serde_json::Value, path: &mut String) -> Result<(), ConditionsError> {
    match json {
        serde_json::Value::Array(items) => check_list(items, path),
        serde_json::Value::Object(map) => check_leaf(map, path),
        other => fail(
            path,
            format!(
                "expected a condition (an operator list or a leaf object), got {}",
                kind(other)
            ),
        ),
    }
}

fn check_list(items: &[serde_json::Value], path: &mut String) -> Result<(), ConditionsError> {
    let Some(first) = items.first() else {
        return fail(
            path,
            "empty list; a condition list starts with \"and\", \"or\" or \"not\"".to_owned(),
        );
    };
    let len = path.len();
    path.push_str("[0]");
    let operator = match first.as_str() {
        Some(op @ ("and" | "or" | "not")) => op,
        Some(other) => {
            return fail(
                path,
                format!(
                    "unknown operator {}; expected \"and\", \"or\" or \"not\"",
                    quoted(other)
                ),
            );
        }
        None => {
            return fail(
                path,
                format!(
                    "a condition list must start with \"and\", \"or\" or \"not\", got {}",
                    kind(first)
                ),
            );
        }
    };
    path.truncate(len);
    let operands = &items[1..];
    if operator == "not" && operands.len() != 1 {
        return fail(
            path,
            format!("\"not\" takes exactly one operand, got {}", operands.len()),
        );
    }
    if operands.is_empty() {
        return fail(path, format!("{operator:?} needs at least one operand"));
    }
    for (i, operand) in operands.iter().enumerate() {
        // Writing to a String cannot fail.
        let _ = write!(path, "[{}]", i + 1);
        check_cond(operand, path)?;
        path.truncate(len);
    }
    Ok(())
}

fn check_leaf(
    map: &serde_json::Map<String, serde_json::Value>,
    path: &mut String,
) -> Result<(), ConditionsError> {
    let len = path.len();
    match map.get("type") {
        None => return fail(path, "leaf has no \"type\"".to_owned()),
        Some(serde_json::Value::String(t)) if !t.trim().is_empty() => {}
        Some(other) => {
            push_key(path, "type");
            return fail(
                path,
                format!("\"type\" must be a non-empty string, got {}", kind(other)),
            );
        }
    }
    if let Some(match_type) = map.get("match_type") {
        push_key(path, "match_type");
        match match_type {
            serde_json::Value::String(mt) if MATCH_TYPES.contains(&mt.as_str()) => {}
            serde_json::Value::String(mt) => {
                return fail(
                    path,
                    format!(
                        "unknown match_type {}; expected one of: {}",
                        quoted(mt),
                        MATCH_TYPES.join(", ")
                    ),
                );
            }
            other => {
                return fail(
                    path,
                    format!("\"match_type\" must be a string, got {}", kind(other)),
                );
            }
        }
        path.truncate(len);
    }
    Ok(())
}

/// Structural JSON equality that ignores object key order and compares numbers by value.
pub(crate) fn json_eq(a: &serde_json::Value, b: &serde_json::Value) -> bool {
    use serde_json::Value as J;
    match (a, b) {
        (J::Number(x), J::Number(y)) => {
            if let (Some(x), Some(y)) = (x.as_i64(), y.as_i64()) {
                x == y
            } else if let (Some(x), Some(y)) = (x.as_u64(), y.as_u64()) {
                x == y
            } else {
                x.as_f64() == y.as_f64()
            }
        }
        (J::Array(x), J::Array(y)) => {
            x.len() == y.len() && x.iter().zip(y).all(|(x, y)| json_eq(x, y))
        }
        (J::Object(x), J::Object(y)) => {
            x.len() == y.len()
                && x.iter()
                    .all(|(k, xv)| y.get(k).is_some_and(|yv| json_eq(xv, yv)))
        }
        _ => a == b,
    }
}

/// Writes JSON compactly with object keys sorted by their UTF-8 bytes. With
/// `normalize_numbers`, integral floats are written as integers so that values `json_eq`
/// treats as equal also serialize equally (used for content hashes). Sorting is done here
/// rather than relied upon from `serde_json::Map`, whose order depends on a cargo feature
/// that any crate in the build may switch on.
pub(crate) fn write_canonical(json: &serde_json::Value, out: &mut String, normalize_numbers: bool) {
    use serde_json::Value as J;
    match json {
        J::Null => out.push_str("null"),
        J::Bool(b) => out.push_str(if *b { "true" } else { "false" }),
        J::Number(n) => {
            let integral = n.as_f64().filter(|f| {
                normalize_numbers && n.is_f64() && f.fract() == 0.0 && f.abs() < 9.0e15
            });
            match integral {
                // Exact: the filter keeps the value integral and far inside i64.
                #[allow(clippy::cast_possible_truncation)]
                Some(f) => {
                    let _ = write!(out, "{}", f as i64);
                }
                None => {
                    let _ = write!(out, "{n}");
                }
            }
        }
        J::String(s) => write_json_string(s, out),
        J::Array(items) => {
            out.push('[');
            for (i, item) in items.iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                write_canonical(item, out, normalize_numbers);
            }
            out.push(']');
        }
        J::Object(map) => {
            let mut entries: Vec<_> = map.iter().collect();
            entries.sort_unstable_by(|(a, _), (b, _)| a.as_bytes().cmp(b.as_bytes()));
            out.push('{');
            for (i, (key, value)) in entries.into_iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                write_json_string(key, out);
                out.push(':');
                write_canonical(value, out, normalize_numbers);
            }
            out.push('}');
        }
    }
}

fn write_json_string(s: &str, out: &mut String) {
    out.push('"');
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            '\u{08}' => out.push_str("\\b"),
            '\u{0c}' => out.push_str("\\f"),
            c if u32::from(c) < 0x20 => {
                let _ = write!(out, "\\u{:04x}", u32::from(c));
            }
            c => out.push(c),
        }
    }
    out.push('"');
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn err(json: serde_json::Value) -> ConditionsError {
        Conditions::from_json(json).unwrap_err()
    }

    #[test]
    fn accepts_the_documented_shapes() {
        let tree = json!(["and", ["or", ["or", {"name": "is_logged_in", "value": false,
            "match_type": "exact", "type": "custom_attribute"}]]]);
        assert!(Conditions::from_json(tree).unwrap().is_some());
        let leaf_without_match =
            json!(["and", {"type": "custom_attribute", "name": "x", "value": 1}]);
        assert!(Conditions::from_json(leaf_without_match).unwrap().is_some());
        let not =
            json!(["not", {"type": "cookies", "name": "c", "match_type": "regex", "value": "a.*"}]);
        assert!(Conditions::from_json(not).unwrap().is_some());
    }

    #[test]
    fn everyone_and_empty_mean_no_restriction() {
        for text in [
            "everyone",
            "\"everyone\"",
            "[\"everyone\"]",
            " Everyone ",
            "",
        ] {
            assert_eq!(Conditions::parse(text).unwrap(), None, "{text}");
        }
        assert_eq!(Conditions::from_value(&Value::Null).unwrap(), None);
        assert_eq!(
            Conditions::from_value(&Value::Json(json!(["everyone"]))).unwrap(),
            None
        );
        assert_eq!(
            Conditions::from_value(&Value::Json(json!("everyone"))).unwrap(),
            None
        );
    }

    #[test]
    fn text_holding_json_is_parsed() {
        let v = Value::from(r#"["or", {"type": "custom_attribute", "name": "a", "value": "x"}]"#);
        assert!(Conditions::from_value(&v).unwrap().is_some());
        let json_string = Value::Json(json!(r#"["not", {"type": "browser", "value": "gc"}]"#));
        assert!(Conditions::from_value(&json_string).unwrap().is_some());
    }

    #[test]
    fn errors_say_where() {
        let e = err(
            json!(["and", {"type": "a"}, ["or", {"type": "b"}, {"type": "c", "match_type": "bogus"}]]),
        );
        assert_eq!(e.path, "$[2][2].match_type");
        assert!(e.problem.contains("unknown match_type \"bogus\""), "{e}");

        let e = err(json!(["and", {"name": "x"}]));
        assert_eq!(e.path, "$[1]");
        assert!(e.problem.contains("no \"type\""));

        let e = err(json!(["xor", {"type": "a"}]));
        assert_eq!(e.path, "$[0]");

        let e = err(json!(["not", {"type": "a"}, {"type": "b"}]));
        assert_eq!(e.path, "$");
        assert!(e.problem.contains("exactly one operand"));

        let e = err(json!(["and", ["or"]]));
        assert_eq!(e.path, "$[1]");
        assert!(e.problem.contains("at least one operand"));

        let e = err(json!([]));
        assert!(e.problem.contains("empty list"));

        let e = err(json!({"type": "custom_attribute"}));
        assert_eq!(e.path, "$");

        let e = err(json!(["and", 3]));
        assert_eq!(e.path, "$[1]");

        let e = err(json!(["and", {"type": 5}]));
        assert_eq!(e.path, "$[1].type");

        let e = Conditions::parse("[\"and\", ").unwrap_err();
        assert!(e.problem.contains("not valid JSON"), "{e}");
        assert!(e.to_string().starts_with("conditions at $: "));
    }

    #[test]
    fn numbers_a_float_cannot_hold_are_refused_with_a_fix() {
        let text = r#"["and", {"type": "custom_attribute", "name": "id", "match_type": "exact", "value": 123456789012345678901234567890}]"#;
        let e = Conditions::parse(text).unwrap_err();
        assert!(e.problem.contains("123456789012345678901234567890"), "{e}");
        assert!(e.problem.contains("as a string"), "{e}");
        // The same tree with the number quoted, or with numbers a float holds, is fine.
        let quoted_text = text.replace(
            "123456789012345678901234567890",
            "\"123456789012345678901234567890\"",
        );
        assert!(Conditions::parse(&quoted_text).unwrap().is_some());
        let fine = r#"["and", {"type": "custom_attribute", "name": "a", "match_type": "ge", "value": 14.5}]"#;
        assert!(Conditions::parse(fine).unwrap().is_some());
        // A JSON cell whose digits were kept as text is checked the same way.
        let e = Conditions::from_value(&Value::from_json_text(text)).unwrap_err();
        assert!(e.problem.contains("as a string"), "{e}");
    }

    #[test]
    fn deep_and_unreadable_conditions_are_refused() {
        let deep = format!("{}{}", "[".repeat(300), "]".repeat(300));
        let e = Conditions::parse(&deep).unwrap_err();
        assert!(e.problem.contains("300 levels"), "{e}");
        let mut tree = json!({"type": "custom_attribute"});
        for _ in 0..150 {
            tree = json!(["and", tree]);
        }
        let e = Conditions::from_json(tree).unwrap_err();
        assert!(e.problem.contains("levels deep"), "{e}");
        let e = Conditions::from_value(&Value::Invalid("why".to_owned())).unwrap_err();
        assert_eq!((e.path.as_str(), e.problem.as_str()), ("$", "why"));
    }

    #[test]
    fn operators_and_match_types_are_quoted_bounded() {
        let long = "x".repeat(100_000);
        let e = err(json!([long.clone(), {"type": "a"}]));
        assert!(e.problem.len() < 300, "{e}");
        let e = err(json!(["and", {"type": "a", "match_type": format!("\u{1b}[2J{long}")}]));
        assert!(e.problem.len() < 500, "{e}");
        assert!(e.problem.contains(r"\u{1b}[2J"), "{e}");
        assert!(!e.problem.contains('\u{1b}'), "{e}");
    }

    #[test]
    fn comparison_ignores_key_order_spacing_and_number_form() {
        let ours = Conditions::parse(
            r#"["and",{"type":"custom_attribute","name":"age","value":14,"match_type":"ge"}]"#,
        )
        .unwrap()
        .unwrap();
        let theirs = Conditions::from_api_string(
            r#"["and", {"match_type": "ge", "name": "age", "type": "custom_attribute", "value": 14.0}]"#,
        );
        assert_eq!(ours, theirs);
        let other = Conditions::from_api_string(
            r#"["and", {"type": "custom_attribute", "name": "age", "value": 15}]"#,
        );
        assert_ne!(ours, other);
        assert_ne!(ours, Conditions::from_api_string("not json"));
    }

    #[test]
    fn api_string_is_compact_with_sorted_keys() {
        let c = Conditions::parse(r#"[ "and", { "value": "a\"b", "type": "t", "name": "n" } ]"#)
            .unwrap()
            .unwrap();
        assert_eq!(
            c.to_api_string(),
            r#"["and",{"name":"n","type":"t","value":"a\"b"}]"#
        );
        let back: serde_json::Value = serde_json::from_str(&c.to_api_string()).unwrap();
        assert!(json_eq(&back, c.as_json()));
    }
}
