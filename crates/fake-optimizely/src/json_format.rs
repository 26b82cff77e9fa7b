//! JSON text the way Optimizely's servers write it.
//!
//! The real API is a Python service: its bodies (and the `conditions` string it stores for an
//! audience) come out of `json.dumps(..., sort_keys=True)`, i.e. object keys sorted, `", "`
//! between items, `": "` after keys and every non-ASCII character escaped as `\uXXXX`. The
//! fake writes every body this way so clients meet the same bytes. Keys are sorted here
//! explicitly rather than trusting `serde_json::Map`'s order, which a `preserve_order`
//! feature enabled anywhere in the build would change.

use serde_json::Value;
use std::fmt::Write;

/// Serialises `value` with sorted keys, Python separators and ASCII-only output.
pub(crate) fn to_python_json(value: &Value) -> String {
    let mut out = String::with_capacity(128);
    write_value(&mut out, value);
    out
}

fn write_value(out: &mut String, value: &Value) {
    match value {
        Value::Null => out.push_str("null"),
        Value::Bool(b) => out.push_str(if *b { "true" } else { "false" }),
        Value::Number(n) => {
            let _ = write!(out, "{n}");
        }
        Value::String(s) => write_string(out, s),
        Value::Array(items) => {
            out.push('[');
            for (i, item) in items.iter().enumerate() {
                if i > 0 {
                    out.push_str(", ");
                }
                write_value(out, item);
            }
            out.push(']');
        }
        Value::Object(map) => {
            let mut entries: Vec<(&String, &Value)> = map.iter().collect();
            entries.sort_by(|a, b| a.0.cmp(b.0));
            out.push('{');
            for (i, (key, item)) in entries.into_iter().enumerate() {
                if i > 0 {
                    out.push_str(", ");
                }
                write_string(out, key);
                out.push_str(": ");
                write_value(out, item);
            }
            out.push('}');
        }
    }
}

fn write_string(out: &mut String, s: &str) {
    out.push('"');
    for ch in s.chars() {
        match ch {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            '\u{08}' => out.push_str("\\b"),
            '\u{0c}' => out.push_str("\\f"),
            c if (c as u32) < 0x20 || !c.is_ascii() => {
                let mut units = [0u16; 2];
                for unit in c.encode_utf16(&mut units) {
                    let _ = write!(out, "\\u{unit:04x}");
                }
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

    #[test]
    fn writes_python_separators_and_sorted_keys() {
        let v = json!({"b": [1, 2.5, {"z": null, "a": true}], "a": "x"});
        assert_eq!(
            to_python_json(&v),
            r#"{"a": "x", "b": [1, 2.5, {"a": true, "z": null}]}"#
        );
    }

    #[test]
    fn escapes_like_python() {
        let v = json!(["é", "😀", "a\nb\"\\", "\u{1}"]);
        assert_eq!(
            to_python_json(&v),
            r#"["\u00e9", "\ud83d\ude00", "a\nb\"\\", "\u0001"]"#
        );
    }

    #[test]
    fn output_parses_back_to_the_same_value() {
        let v = json!({"k": ["é", {"x": -3, "y": [false]}], "e": {}});
        let text = to_python_json(&v);
        assert_eq!(serde_json::from_str::<Value>(&text).ok(), Some(v));
    }
}
