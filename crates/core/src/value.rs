//! Values and records as a model yields them, before any mapping: the typed cell [`Value`] and
//! the [`Record`] (one row: shared column names plus its values). Also the conversions the
//! rest of the crate needs from a cell (as an id, as text, as a boolean), the reading of a
//! JSON cell's text ([`Value::from_json_text`]), and how a value is shown in a message
//! ([`shown`], [`quoted`]): cut to [`SHOWN_CHARS`] characters, with control and invisible
//! characters escaped, since a row's value can be anything and messages end up on terminals
//! and in logs.

use std::borrow::Cow;
use std::fmt::Write as _;
use std::sync::Arc;

use serde::{Deserialize, Serialize};

use crate::error::RecordShapeError;
use crate::validate::is_hidden_char;

/// One cell of a model row. Sources convert their native types into these.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(untagged)]
pub enum Value {
    /// SQL NULL.
    Null,
    /// A boolean.
    Bool(bool),
    /// An integer.
    Int(i64),
    /// A floating point number.
    Float(f64),
    /// Text.
    Text(String),
    /// A JSON / JSONB / struct value.
    Json(serde_json::Value),
    /// A cell the source could not convert (a JSON value nested too deeply to read, a
    /// timestamp outside the representable range, text that is not UTF-8), with why. It
    /// concerns its row only: a row that maps the cell is rejected with this reason, and the
    /// other rows go on.
    Invalid(String),
}

/// How deeply a JSON cell may nest (arrays and objects within each other). Deeper values
/// are [`Value::Invalid`]: serde_json refuses them past 128 levels, and Optimizely parses
/// what optisync sends with a similar limit.
pub const MAX_JSON_DEPTH: usize = 100;

/// Largest float that still holds every integer up to it exactly (2^53).
const EXACT_FLOAT_INT: f64 = 9_007_199_254_740_992.0;

/// An integral float within the exactly representable range, as an integer; warehouses often
/// hand out ids as DOUBLE, and `123.0` must become the id `123`, not `123.0`.
fn float_as_int(f: f64) -> Option<i64> {
    if f.is_finite() && f.fract() == 0.0 && f.abs() <= EXACT_FLOAT_INT {
        // Exact: the range check above keeps the value inside i64 and integral.
        #[allow(clippy::cast_possible_truncation)]
        Some(f as i64)
    } else {
        None
    }
}

fn float_text(f: f64) -> String {
    match float_as_int(f) {
        Some(i) => i.to_string(),
        None => f.to_string(),
    }
}

fn trimmed_non_empty(s: &str) -> Option<&str> {
    let t = s.trim();
    (!t.is_empty()).then_some(t)
}

/// How many characters of a value a message shows at most.
pub const SHOWN_CHARS: usize = 64;

/// A value's text as a message may show it: at most [`SHOWN_CHARS`] characters (cut on a
/// character boundary, then `… (N bytes)` with the full length), and control and invisible
/// characters (see [`is_hidden_char`]) escaped as `\n` or `\u{202e}`, so that a row's value
/// can neither flood the output nor move the cursor, fake a log line or reverse the text
/// around it. Text that is short and plain comes back unchanged.
pub fn shown(text: &str) -> String {
    show(text, false)
}

/// Like [`shown`], in double quotes, with `"` and `\` escaped too: `"u1"`,
/// `"xxxx…" (1048576 bytes)`.
pub fn quoted(text: &str) -> String {
    show(text, true)
}

fn show(text: &str, quote: bool) -> String {
    let (head, cut) = match text.char_indices().nth(SHOWN_CHARS) {
        Some((at, _)) => (&text[..at], true),
        None => (text, false),
    };
    let mut out = String::with_capacity(head.len() + 24);
    if quote {
        out.push('"');
    }
    for c in head.chars() {
        match c {
            '"' | '\\' if quote => {
                out.push('\\');
                out.push(c);
            }
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            '\0' => out.push_str("\\0"),
            c if is_hidden_char(c) => {
                // Infallible: writing to a String cannot fail.
                let _ = write!(out, "\\u{{{:x}}}", u32::from(c));
            }
            c => out.push(c),
        }
    }
    if cut {
        out.push('…');
    }
    if quote {
        out.push('"');
    }
    if cut {
        // Infallible: writing to a String cannot fail.
        let _ = write!(out, " ({} bytes)", text.len());
    }
    out
}

/// The deepest nesting of arrays and objects in JSON text, when it is over `limit`; `None`
/// when it is within. A linear scan that needs no parse, so over-deep text is refused before
/// serde_json's recursion limit can turn it into a parse error.
pub(crate) fn json_depth_over(text: &str, limit: usize) -> Option<usize> {
    let mut depth = 0usize;
    let mut deepest = 0usize;
    let mut in_string = false;
    let mut escaped = false;
    for b in text.bytes() {
        if in_string {
            match b {
                _ if escaped => escaped = false,
                b'\\' => escaped = true,
                b'"' => in_string = false,
                _ => {}
            }
            continue;
        }
        match b {
            b'"' => in_string = true,
            b'[' | b'{' => {
                depth += 1;
                deepest = deepest.max(depth);
            }
            b']' | b'}' => depth = depth.saturating_sub(1),
            _ => {}
        }
    }
    (deepest > limit).then_some(deepest)
}

/// The first number in JSON text that serde_json would read as a float that does not hold
/// it exactly: `123456789012345678901234567890`, `0.30000000000000001`, `1e400`. Integers
/// within `i64` or `u64` are kept exactly, and so are decimals whose shortest float rendering
/// is the same number (`0.1`, `1.50`, `2e3`).
pub(crate) fn inexact_json_number(text: &str) -> Option<&str> {
    let bytes = text.as_bytes();
    let mut in_string = false;
    let mut escaped = false;
    let mut at = 0;
    while at < bytes.len() {
        let b = bytes[at];
        if in_string {
            match b {
                _ if escaped => escaped = false,
                b'\\' => escaped = true,
                b'"' => in_string = false,
                _ => {}
            }
            at += 1;
            continue;
        }
        match b {
            b'"' => {
                in_string = true;
                at += 1;
            }
            b'-' | b'0'..=b'9' => {
                let start = at;
                while at < bytes.len()
                    && matches!(bytes[at], b'-' | b'+' | b'.' | b'e' | b'E' | b'0'..=b'9')
                {
                    at += 1;
                }
                let number = &text[start..at];
                if !number_is_exact(number) {
                    return Some(number);
                }
            }
            _ => at += 1,
        }
    }
    None
}

/// Whether serde_json reads `number` (a JSON number token) without losing anything.
fn number_is_exact(number: &str) -> bool {
    let integral = !number.contains(['.', 'e', 'E']);
    if integral && (number.parse::<i64>().is_ok() || number.parse::<u64>().is_ok()) {
        return true;
    }
    let Ok(float) = number.parse::<f64>() else {
        return false;
    };
    if !float.is_finite() {
        return false;
    }
    // `{:e}` writes the shortest digits that read back as the same float.
    decimal_parts(number).is_some_and(|given| decimal_parts(&format!("{float:e}")) == Some(given))
}

/// A decimal number's value as (negative, significant digits, position of the decimal point
/// relative to the first of them): `-12.50e1` is `(true, "125", 3)`; every zero is
/// `(false, "", 0)`. `None` when the exponent does not fit an `i64`.
fn decimal_parts(number: &str) -> Option<(bool, String, i64)> {
    let negative = number.starts_with('-');
    let unsigned = number.trim_start_matches(['-', '+']);
    let (mantissa, exponent) = match unsigned.split_once(['e', 'E']) {
        Some((mantissa, exponent)) => (
            mantissa,
            exponent.trim_start_matches('+').parse::<i64>().ok()?,
        ),
        None => (unsigned, 0),
    };
    let (whole, fraction) = mantissa.split_once('.').unwrap_or((mantissa, ""));
    let digits = format!("{whole}{fraction}");
    let leading = digits.len() - digits.trim_start_matches('0').len();
    let significant = digits.trim_start_matches('0').trim_end_matches('0');
    if significant.is_empty() {
        return Some((false, String::new(), 0));
    }
    let whole_len = i64::try_from(whole.len()).ok()?;
    let leading = i64::try_from(leading).ok()?;
    let point = whole_len.checked_sub(leading)?.checked_add(exponent)?;
    Some((negative, significant.to_owned(), point))
}

impl Value {
    /// Whether the value is SQL NULL (or a JSON null).
    pub fn is_null(&self) -> bool {
        matches!(self, Value::Null | Value::Json(serde_json::Value::Null))
    }

    /// Why the source could not convert the cell, for a [`Value::Invalid`].
    pub fn invalid_reason(&self) -> Option<&str> {
        match self {
            Value::Invalid(reason) => Some(reason),
            _ => None,
        }
    }

    /// A JSON cell's text (DuckDB's `JSON`, PostgreSQL's `json` and `jsonb`) as a value.
    /// Never fails, because one bad cell must not stop the other rows:
    /// - JSON whose numbers a float holds exactly becomes [`Value::Json`];
    /// - JSON holding a number that would lose digits as a float (`123456789012345678901234567890`)
    ///   stays [`Value::Text`], so no digit is lost and the fields that parse it say so;
    /// - text that cannot be read (nested deeper than [`MAX_JSON_DEPTH`], not JSON) becomes
    ///   [`Value::Invalid`] with why.
    pub fn from_json_text(text: &str) -> Value {
        if let Some(depth) = json_depth_over(text, MAX_JSON_DEPTH) {
            return Value::Invalid(format!(
                "the JSON value is nested {depth} levels deep, more than the {MAX_JSON_DEPTH} \
                 optisync reads; flatten it in the model"
            ));
        }
        match serde_json::from_str(text) {
            Ok(json) => {
                if inexact_json_number(text).is_some() {
                    Value::Text(text.to_owned())
                } else {
                    Value::Json(json)
                }
            }
            // serde_json's messages name a line and column, never the text.
            Err(e) => Value::Invalid(format!("the JSON value cannot be read: {e}")),
        }
    }

    /// The value as an identifier (list member, key, primary key part): integers as decimal
    /// text, integral floats as integers, text trimmed. `None` for null, empty text, an
    /// invalid cell, and non-finite floats (which cannot be anyone's id).
    pub fn as_id_text(&self) -> Option<Cow<'_, str>> {
        match self {
            Value::Null | Value::Invalid(_) => None,
            Value::Text(s) => trimmed_non_empty(s).map(Cow::Borrowed),
            Value::Int(i) => Some(Cow::Owned(i.to_string())),
            Value::Float(f) => f.is_finite().then(|| Cow::Owned(float_text(*f))),
            Value::Bool(b) => Some(Cow::Borrowed(if *b { "true" } else { "false" })),
            Value::Json(json) => match json {
                serde_json::Value::Null => None,
                serde_json::Value::String(s) => trimmed_non_empty(s).map(Cow::Borrowed),
                other => Some(Cow::Owned(other.to_string())),
            },
        }
    }

    /// Like [`Value::as_id_text`], consuming the value so that text that is already trimmed
    /// is moved rather than copied (lists can hold millions of ids).
    pub fn into_id_text(self) -> Option<String> {
        match self {
            Value::Text(s) => {
                if s.is_empty() || s.trim().len() != s.len() {
                    trimmed_non_empty(&s).map(str::to_owned)
                } else {
                    Some(s)
                }
            }
            other => other.as_id_text().map(Cow::into_owned),
        }
    }

    /// The value as free text (names, descriptions): text as is, numbers in decimal, booleans
    /// as `true`/`false`, JSON strings unquoted and other JSON serialized. `None` for null and
    /// an invalid cell (callers that must tell the two apart check
    /// [`Value::invalid_reason`] first).
    pub fn as_text(&self) -> Option<Cow<'_, str>> {
        match self {
            Value::Null | Value::Invalid(_) => None,
            Value::Text(s) => Some(Cow::Borrowed(s)),
            Value::Int(i) => Some(Cow::Owned(i.to_string())),
            Value::Float(f) => Some(Cow::Owned(float_text(*f))),
            Value::Bool(b) => Some(Cow::Borrowed(if *b { "true" } else { "false" })),
            Value::Json(json) => match json {
                serde_json::Value::Null => None,
                serde_json::Value::String(s) => Some(Cow::Borrowed(s)),
                other => Some(Cow::Owned(other.to_string())),
            },
        }
    }

    /// The value as a boolean: booleans, the integers 0 and 1, and the usual spellings
    /// (`true`/`false`, `t`/`f`, `yes`/`no`, `y`/`n`, `1`/`0`, any case). `Ok(None)` for
    /// null; `Err(())` for anything else.
    #[allow(clippy::result_unit_err)]
    pub fn as_bool(&self) -> Result<Option<bool>, ()> {
        match self {
            Value::Null | Value::Json(serde_json::Value::Null) => Ok(None),
            Value::Bool(b) | Value::Json(serde_json::Value::Bool(b)) => Ok(Some(*b)),
            Value::Int(0) => Ok(Some(false)),
            Value::Int(1) => Ok(Some(true)),
            Value::Text(s) | Value::Json(serde_json::Value::String(s)) => {
                match s.trim().to_ascii_lowercase().as_str() {
                    "true" | "t" | "yes" | "y" | "1" => Ok(Some(true)),
                    "false" | "f" | "no" | "n" | "0" => Ok(Some(false)),
                    _ => Err(()),
                }
            }
            _ => Err(()),
        }
    }
}

impl From<&str> for Value {
    fn from(s: &str) -> Self {
        Value::Text(s.to_owned())
    }
}

impl From<String> for Value {
    fn from(s: String) -> Self {
        Value::Text(s)
    }
}

impl From<i64> for Value {
    fn from(i: i64) -> Self {
        Value::Int(i)
    }
}

impl From<bool> for Value {
    fn from(b: bool) -> Self {
        Value::Bool(b)
    }
}

impl From<serde_json::Value> for Value {
    fn from(v: serde_json::Value) -> Self {
        Value::Json(v)
    }
}

/// One model row: the column names (shared by every row of a result, hence the `Arc`) and
/// the row's values in the same order.
#[derive(Debug, Clone, PartialEq)]
pub struct Record {
    columns: Arc<[String]>,
    values: Vec<Value>,
}

impl Record {
    /// A record; fails when the value count differs from the column count.
    pub fn new(columns: Arc<[String]>, values: Vec<Value>) -> Result<Self, RecordShapeError> {
        if columns.len() != values.len() {
            return Err(RecordShapeError {
                columns: columns.len(),
                values: values.len(),
            });
        }
        Ok(Self { columns, values })
    }

    /// The column names.
    pub fn columns(&self) -> &Arc<[String]> {
        &self.columns
    }

    /// The values, in column order.
    pub fn values(&self) -> &[Value] {
        &self.values
    }

    /// The value at a column index.
    pub fn value(&self, index: usize) -> Option<&Value> {
        self.values.get(index)
    }

    /// The value of a named column (a linear search: bind a
    /// [`Mapping`](crate::Mapping) once instead when reading many rows).
    pub fn get(&self, column: &str) -> Option<&Value> {
        let index = self.columns.iter().position(|c| c == column)?;
        self.values.get(index)
    }

    /// The values, consuming the record.
    pub fn into_values(self) -> Vec<Value> {
        self.values
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn id_text_of_integers_is_decimal() {
        assert_eq!(Value::Int(42).as_id_text().as_deref(), Some("42"));
        assert_eq!(Value::Int(-7).as_id_text().as_deref(), Some("-7"));
        assert_eq!(Value::Float(123.0).as_id_text().as_deref(), Some("123"));
        assert_eq!(Value::Float(1.5).as_id_text().as_deref(), Some("1.5"));
        assert_eq!(Value::Float(f64::NAN).as_id_text(), None);
        assert_eq!(Value::Json(json!(17)).as_id_text().as_deref(), Some("17"));
    }

    #[test]
    fn id_text_trims_and_drops_empty() {
        assert_eq!(Value::from("  u1 ").as_id_text().as_deref(), Some("u1"));
        assert_eq!(Value::from("   ").as_id_text(), None);
        assert_eq!(Value::from("").as_id_text(), None);
        assert_eq!(Value::Null.as_id_text(), None);
        assert_eq!(Value::Json(json!(null)).as_id_text(), None);
        assert_eq!(Value::Json(json!(" x ")).as_id_text().as_deref(), Some("x"));
    }

    #[test]
    fn into_id_text_agrees_with_as_id_text() {
        for v in [
            Value::from("a"),
            Value::from(" a"),
            Value::from(""),
            Value::Int(3),
            Value::Null,
            Value::Bool(true),
        ] {
            let expected = v.as_id_text().map(Cow::into_owned);
            assert_eq!(v.into_id_text(), expected);
        }
    }

    #[test]
    fn as_text_keeps_text_verbatim() {
        assert_eq!(Value::from(" a b ").as_text().as_deref(), Some(" a b "));
        assert_eq!(
            Value::Json(json!({"a": 1})).as_text().as_deref(),
            Some("{\"a\":1}")
        );
        assert_eq!(Value::Null.as_text(), None);
    }

    #[test]
    fn booleans_accept_common_spellings() {
        assert_eq!(Value::from("TRUE").as_bool(), Ok(Some(true)));
        assert_eq!(Value::from("no").as_bool(), Ok(Some(false)));
        assert_eq!(Value::Int(1).as_bool(), Ok(Some(true)));
        assert_eq!(Value::Null.as_bool(), Ok(None));
        assert_eq!(Value::from("maybe").as_bool(), Err(()));
        assert_eq!(Value::Int(2).as_bool(), Err(()));
    }

    #[test]
    fn invalid_cells_are_neither_ids_nor_text() {
        let v = Value::Invalid("the timestamp is out of range".to_owned());
        assert_eq!(v.invalid_reason(), Some("the timestamp is out of range"));
        assert!(!v.is_null());
        assert_eq!(v.as_id_text(), None);
        assert_eq!(v.as_text(), None);
        assert_eq!(v.as_bool(), Err(()));
        assert_eq!(Value::Null.invalid_reason(), None);
    }

    #[test]
    fn json_text_that_cannot_be_read_is_an_invalid_cell() {
        assert_eq!(
            Value::from_json_text(r#"{"a": [1]}"#),
            Value::Json(json!({"a": [1]}))
        );
        let deep = format!("{}{}", "[".repeat(300), "]".repeat(300));
        let reason = Value::from_json_text(&deep);
        let reason = reason.invalid_reason().unwrap();
        assert!(reason.contains("300 levels deep"), "{reason}");
        assert!(reason.contains("flatten it"), "{reason}");
        // Exactly at the limit is fine; brackets inside strings do not count.
        let at_limit = format!("{}{}", "[".repeat(100), "]".repeat(100));
        assert!(matches!(Value::from_json_text(&at_limit), Value::Json(_)));
        let in_string = format!("[\"{}\\\"\"]", "[".repeat(300));
        assert!(matches!(Value::from_json_text(&in_string), Value::Json(_)));
        let broken = Value::from_json_text("{\"a\": ");
        assert!(broken.invalid_reason().unwrap().contains("cannot be read"));
    }

    #[test]
    fn json_numbers_a_float_cannot_hold_stay_text() {
        let big =
            r#"["and", {"type": "custom_attribute", "value": 123456789012345678901234567890}]"#;
        assert_eq!(Value::from_json_text(big), Value::from(big));
        for exact in [
            "0",
            "-0",
            "-0.0",
            "1.50",
            "0.1",
            "2e3",
            "2E+3",
            "1.5e-7",
            "9007199254740993",
            "18446744073709551615",
            "-9223372036854775808",
            "1e22",
            "123456789012345.6",
        ] {
            assert_eq!(inexact_json_number(exact), None, "{exact}");
        }
        for inexact in [
            "123456789012345678901234567890",
            "18446744073709551616",
            "0.30000000000000001",
            "9007199254740993.0",
            "1e400",
            "1e-400",
        ] {
            assert_eq!(inexact_json_number(inexact), Some(inexact), "{inexact}");
        }
        assert_eq!(
            inexact_json_number(
                r#"{"a\"1": "99999999999999999999", "b": [1, 99999999999999999999]}"#
            ),
            Some("99999999999999999999")
        );
    }

    #[test]
    fn shown_values_are_short_and_escaped() {
        assert_eq!(shown("u1"), "u1");
        assert_eq!(quoted("a\"b\\"), r#""a\"b\\""#);
        let big = "x".repeat(1_048_576);
        let s = shown(&big);
        assert_eq!(s, format!("{}… (1048576 bytes)", "x".repeat(SHOWN_CHARS)));
        assert_eq!(
            quoted(&big),
            format!("\"{}…\" (1048576 bytes)", "x".repeat(SHOWN_CHARS))
        );
        // Cut on a character boundary: 65 two-byte characters.
        let wide = "é".repeat(SHOWN_CHARS + 1);
        assert_eq!(
            shown(&wide),
            format!("{}… (130 bytes)", "é".repeat(SHOWN_CHARS))
        );
        assert_eq!(shown(&"é".repeat(SHOWN_CHARS)), "é".repeat(SHOWN_CHARS));
        let hostile = "a\nb\r\t\0\u{1b}[31m\u{202e}\u{200b}\u{feff}\u{85}";
        let s = shown(hostile);
        assert_eq!(s, r"a\nb\r\t\0\u{1b}[31m\u{202e}\u{200b}\u{feff}\u{85}");
        assert!(s.chars().all(|c| !is_hidden_char(c)), "{s}");
    }

    #[test]
    fn record_checks_its_shape_and_finds_columns() {
        let columns: Arc<[String]> = vec!["a".to_owned(), "b".to_owned()].into();
        assert!(Record::new(columns.clone(), vec![Value::Null]).is_err());
        let r = Record::new(columns, vec![Value::Int(1), Value::from("x")]).unwrap();
        assert_eq!(r.get("b"), Some(&Value::from("x")));
        assert_eq!(r.get("c"), None);
    }
}
