//! Request-body validation against Optimizely's own OpenAPI (Swagger 2.0) file.
//!
//! The file is compiled into the crate with `include_str!` and its `definitions` are read at
//! run time, so the rules (required fields, types, enums, `$ref`s, patterns, lengths, ranges)
//! are the spec's and cannot drift from it. Only the subset of JSON Schema that the spec uses
//! is implemented. Properties marked `readOnly` are skipped: the real API ignores read-only
//! fields sent in a body, and so does the fake. Unknown properties are ignored too.

use regex::Regex;
use serde_json::{Map, Value};
use std::collections::HashMap;
use std::sync::{LazyLock, Mutex};

/// Optimizely's Swagger 2.0 file for the v2 API, as published.
pub const SWAGGER_JSON: &str = include_str!("../spec/swagger-web.json");

static DEFINITIONS: LazyLock<Map<String, Value>> = LazyLock::new(|| {
    let doc: Value = serde_json::from_str(SWAGGER_JSON)
        .expect("spec/swagger-web.json is committed with the crate and is valid JSON");
    match doc.get("definitions") {
        Some(Value::Object(defs)) => defs.clone(),
        _ => panic!("spec/swagger-web.json always has a `definitions` object"),
    }
});

static PATTERNS: LazyLock<Mutex<HashMap<String, Option<Regex>>>> =
    LazyLock::new(|| Mutex::new(HashMap::new()));

/// The body definitions the fake validates against, by endpoint.
pub(crate) mod defs {
    pub(crate) const ATTRIBUTE: &str = "Attribute";
    pub(crate) const ATTRIBUTE_UPDATE: &str = "AttributeUpdate";
    pub(crate) const AUDIENCE: &str = "Audience";
    pub(crate) const AUDIENCE_UPDATE: &str = "AudienceUpdate";
    pub(crate) const CUSTOM_EVENT: &str = "CustomEvent";
    pub(crate) const CUSTOM_EVENT_UPDATE: &str = "CustomEventUpdate";
    pub(crate) const LIST_ATTRIBUTE: &str = "ListAttribute";
    pub(crate) const LIST_ATTRIBUTE_UPDATE: &str = "ListAttributeUpdate";
}

/// Returns the named definition of the spec, if it exists.
pub(crate) fn definition(name: &str) -> Option<&'static Value> {
    DEFINITIONS.get(name)
}

/// Checks `body` against the spec definition `name`.
///
/// On failure the message names the field and what is wrong with it, ready to be sent as
/// the `message` of a 400 answer.
pub(crate) fn validate(name: &str, body: &Value) -> Result<(), String> {
    let Some(schema) = definition(name) else {
        // Only the constants in `defs` are passed here, and a unit test checks they exist.
        return Err(format!("internal: no definition {name} in the spec"));
    };
    if !body.is_object() {
        return Err(format!(
            "request body must be a JSON object ({name}), not {}",
            kind_of(body)
        ));
    }
    check(schema, body, "")
}

fn resolve(schema: &Value) -> &Value {
    let mut current = schema;
    // Follow `$ref` chains; the spec has no cycles at this level, but bound the walk anyway.
    for _ in 0..8 {
        let Some(reference) = current.get("$ref").and_then(Value::as_str) else {
            return current;
        };
        match reference
            .strip_prefix("#/definitions/")
            .and_then(|name| DEFINITIONS.get(name))
        {
            Some(target) => current = target,
            None => return current,
        }
    }
    current
}

fn kind_of(value: &Value) -> &'static str {
    match value {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(n) if n.is_i64() || n.is_u64() => "an integer",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "an array",
        Value::Object(_) => "an object",
    }
}

fn field(path: &str) -> String {
    if path.is_empty() {
        "request body".to_owned()
    } else {
        format!("field '{path}'")
    }
}

fn check(schema: &Value, value: &Value, path: &str) -> Result<(), String> {
    let schema = resolve(schema);
    if value.is_null() {
        if schema.get("x-nullable").and_then(Value::as_bool) == Some(true) {
            return Ok(());
        }
        if let Some(ty) = schema.get("type").and_then(Value::as_str) {
            return Err(format!("{} must be {}, not null", field(path), article(ty)));
        }
        return Ok(());
    }
    if let Some(ty) = schema.get("type").and_then(Value::as_str) {
        check_type(ty, value, path)?;
    }
    if let Some(Value::Array(allowed)) = schema.get("enum")
        && !allowed.contains(value)
    {
        let list: Vec<String> = allowed
            .iter()
            .map(|v| v.as_str().map_or_else(|| v.to_string(), str::to_owned))
            .collect();
        return Err(format!(
            "{} must be one of: {} (got {})",
            field(path),
            list.join(", "),
            value
        ));
    }
    match value {
        Value::String(s) => check_string(schema, s, path),
        Value::Number(_) => check_number(schema, value, path),
        Value::Array(items) => check_array(schema, items, path),
        Value::Object(map) => check_object(schema, map, path),
        Value::Bool(_) | Value::Null => Ok(()),
    }
}

fn article(ty: &str) -> String {
    match ty {
        "integer" | "array" | "object" => format!("an {ty}"),
        other => format!("a {other}"),
    }
}

fn check_type(ty: &str, value: &Value, path: &str) -> Result<(), String> {
    let ok = match ty {
        "string" => value.is_string(),
        "boolean" => value.is_boolean(),
        "integer" => value.is_i64() || value.is_u64(),
        "number" => value.is_number(),
        "array" => value.is_array(),
        "object" => value.is_object(),
        _ => true,
    };
    if ok {
        Ok(())
    } else {
        Err(format!(
            "{} must be {}, not {}",
            field(path),
            article(ty),
            kind_of(value)
        ))
    }
}

fn check_string(schema: &Value, s: &str, path: &str) -> Result<(), String> {
    let chars = s.chars().count() as u64;
    if let Some(max) = schema.get("maxLength").and_then(Value::as_u64)
        && chars > max
    {
        return Err(format!(
            "{} must be at most {max} characters long (got {chars})",
            field(path)
        ));
    }
    if let Some(min) = schema.get("minLength").and_then(Value::as_u64)
        && chars < min
    {
        return Err(format!(
            "{} must be at least {min} characters long (got {chars})",
            field(path)
        ));
    }
    if let Some(pattern) = schema.get("pattern").and_then(Value::as_str)
        && let Some(false) = pattern_matches(pattern, s)
    {
        return Err(format!(
            "{} must match the pattern {pattern} (got {:?})",
            field(path),
            s
        ));
    }
    Ok(())
}

/// `Some(matches)`, or `None` when the spec's pattern is not a valid Rust regex (then the
/// constraint is skipped; a unit test checks every pattern of the spec compiles).
fn pattern_matches(pattern: &str, s: &str) -> Option<bool> {
    let mut cache = PATTERNS
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner());
    let compiled = cache
        .entry(pattern.to_owned())
        .or_insert_with(|| match Regex::new(pattern) {
            Ok(re) => Some(re),
            Err(error) => {
                tracing::warn!(%pattern, %error, "spec pattern does not compile; skipped");
                None
            }
        });
    compiled.as_ref().map(|re| re.is_match(s))
}

fn check_number(schema: &Value, value: &Value, path: &str) -> Result<(), String> {
    if schema.get("format").and_then(Value::as_str) == Some("int64") && !value.is_i64() {
        return Err(format!("{} does not fit in a 64-bit integer", field(path)));
    }
    if schema.get("format").and_then(Value::as_str) == Some("int32")
        && value.as_i64().is_none_or(|n| i32::try_from(n).is_err())
    {
        return Err(format!("{} does not fit in a 32-bit integer", field(path)));
    }
    let Some(n) = value.as_f64() else {
        return Ok(());
    };
    if let Some(max) = schema.get("maximum").and_then(Value::as_f64)
        && n > max
    {
        return Err(format!("{} must be at most {max} (got {n})", field(path)));
    }
    if let Some(min) = schema.get("minimum").and_then(Value::as_f64)
        && n < min
    {
        return Err(format!("{} must be at least {min} (got {n})", field(path)));
    }
    Ok(())
}

fn check_array(schema: &Value, items: &[Value], path: &str) -> Result<(), String> {
    if let Some(max) = schema.get("maxItems").and_then(Value::as_u64)
        && items.len() as u64 > max
    {
        return Err(format!("{} must have at most {max} items", field(path)));
    }
    if let Some(min) = schema.get("minItems").and_then(Value::as_u64)
        && (items.len() as u64) < min
    {
        return Err(format!("{} must have at least {min} items", field(path)));
    }
    if let Some(item_schema) = schema.get("items") {
        for (i, item) in items.iter().enumerate() {
            check(item_schema, item, &format!("{path}[{i}]"))?;
        }
    }
    Ok(())
}

fn check_object(schema: &Value, map: &Map<String, Value>, path: &str) -> Result<(), String> {
    let child = |name: &str| {
        if path.is_empty() {
            name.to_owned()
        } else {
            format!("{path}.{name}")
        }
    };
    let properties = schema.get("properties").and_then(Value::as_object);
    if let Some(Value::Array(required)) = schema.get("required") {
        for name in required.iter().filter_map(Value::as_str) {
            if !map.contains_key(name) {
                return Err(format!("{} is required", field(&child(name))));
            }
        }
    }
    let Some(properties) = properties else {
        return Ok(());
    };
    let mut names: Vec<&String> = map.keys().collect();
    names.sort();
    for name in names {
        let Some(prop) = properties.get(name.as_str()) else {
            continue; // unknown fields are ignored, like the real API does
        };
        if prop.get("readOnly").and_then(Value::as_bool) == Some(true) {
            continue; // read-only fields sent by a client are ignored
        }
        if let Some(value) = map.get(name.as_str()) {
            check(prop, value, &child(name))?;
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    const ALL: [&str; 8] = [
        defs::ATTRIBUTE,
        defs::ATTRIBUTE_UPDATE,
        defs::AUDIENCE,
        defs::AUDIENCE_UPDATE,
        defs::CUSTOM_EVENT,
        defs::CUSTOM_EVENT_UPDATE,
        defs::LIST_ATTRIBUTE,
        defs::LIST_ATTRIBUTE_UPDATE,
    ];

    #[test]
    fn every_definition_used_exists_in_the_spec() {
        for name in ALL {
            assert!(definition(name).is_some(), "{name} missing from the spec");
        }
    }

    #[test]
    fn every_pattern_in_the_spec_compiles() {
        fn walk(v: &Value, found: &mut Vec<String>) {
            match v {
                Value::Object(m) => {
                    if let Some(Value::String(p)) = m.get("pattern") {
                        found.push(p.clone());
                    }
                    m.values().for_each(|c| walk(c, found));
                }
                Value::Array(a) => a.iter().for_each(|c| walk(c, found)),
                _ => {}
            }
        }
        let mut found = Vec::new();
        for name in ALL {
            walk(definition(name).unwrap(), &mut found);
        }
        assert!(
            found.len() >= 4,
            "expected the key/name patterns, got {found:?}"
        );
        for p in found {
            assert!(Regex::new(&p).is_ok(), "pattern {p} does not compile");
        }
    }

    #[test]
    fn required_type_enum_pattern_and_length() {
        let ok = json!({"key": "a b.c-d_e", "project_id": 1});
        assert_eq!(validate(defs::ATTRIBUTE, &ok), Ok(()));
        let e = validate(defs::ATTRIBUTE, &json!({"key": "x"})).unwrap_err();
        assert_eq!(e, "field 'project_id' is required");
        let e = validate(defs::ATTRIBUTE, &json!({"key": 5, "project_id": 1})).unwrap_err();
        assert_eq!(e, "field 'key' must be a string, not an integer");
        let e = validate(defs::ATTRIBUTE, &json!({"key": "a/b", "project_id": 1})).unwrap_err();
        assert!(e.starts_with("field 'key' must match the pattern"), "{e}");
        let long = "k".repeat(65);
        let e = validate(defs::ATTRIBUTE, &json!({"key": long, "project_id": 1})).unwrap_err();
        assert_eq!(e, "field 'key' must be at most 64 characters long (got 65)");
        let e = validate(defs::CUSTOM_EVENT, &json!({"key": "k", "category": "nope"})).unwrap_err();
        assert!(
            e.starts_with("field 'category' must be one of: add_to_cart,"),
            "{e}"
        );
        let e = validate(
            defs::CUSTOM_EVENT,
            &json!({"key": "k", "event_properties": [{"name": "n", "data_type": "date"}]}),
        )
        .unwrap_err();
        assert!(
            e.starts_with("field 'event_properties[0].data_type' must be one of"),
            "{e}"
        );
    }

    #[test]
    fn read_only_and_unknown_fields_are_ignored() {
        let body = json!({"key": "k", "project_id": 1, "id": "not a number", "whatever": [1]});
        assert_eq!(validate(defs::ATTRIBUTE, &body), Ok(()));
    }

    #[test]
    fn body_must_be_an_object_and_floats_are_not_integers() {
        assert!(validate(defs::ATTRIBUTE, &json!([1])).is_err());
        let e = validate(defs::ATTRIBUTE, &json!({"key": "k", "project_id": 1.5})).unwrap_err();
        assert_eq!(e, "field 'project_id' must be an integer, not a number");
        let e = validate(defs::ATTRIBUTE, &json!({"key": null, "project_id": 1})).unwrap_err();
        assert_eq!(e, "field 'key' must be a string, not null");
    }
}
