//! Values and records as a model yields them, before any mapping: the typed cell [`Value`] and
//! the [`Record`] (one row: shared column names plus its values). Also the conversions the
//! rest of the crate needs from a cell: as an id, as text, as a boolean.

use std::borrow::Cow;
use std::sync::Arc;

use serde::{Deserialize, Serialize};

use crate::error::RecordShapeError;

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
}

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

impl Value {
    /// Whether the value is SQL NULL (or a JSON null).
    pub fn is_null(&self) -> bool {
        matches!(self, Value::Null | Value::Json(serde_json::Value::Null))
    }

    /// The value as an identifier (list member, key, primary key part): integers as decimal
    /// text, integral floats as integers, text trimmed. `None` for null, empty text, and
    /// non-finite floats (which cannot be anyone's id).
    pub fn as_id_text(&self) -> Option<Cow<'_, str>> {
        match self {
            Value::Null => None,
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
    /// as `true`/`false`, JSON strings unquoted and other JSON serialized. `None` for null.
    pub fn as_text(&self) -> Option<Cow<'_, str>> {
        match self {
            Value::Null => None,
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
    fn record_checks_its_shape_and_finds_columns() {
        let columns: Arc<[String]> = vec!["a".to_owned(), "b".to_owned()].into();
        assert!(Record::new(columns.clone(), vec![Value::Null]).is_err());
        let r = Record::new(columns, vec![Value::Int(1), Value::from("x")]).unwrap();
        assert_eq!(r.get("b"), Some(&Value::from("x")));
        assert_eq!(r.get("c"), None);
    }
}
