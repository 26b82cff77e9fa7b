//! What an ODP-attribute sync reads and remembers: one value of one customer field per user.
//!
//! A segment of a million users nearly always holds a handful of distinct values (`true`, a
//! tier name), so values are interned: each user holds a four-byte index into a
//! [`ValueTable`], and the ids sit in one [`Ids`] buffer. [`ProfileRows`] gathers a model's
//! `(user id, value)` rows as they are read, turning bad ones into rejected rows;
//! [`ProfileState`] is what a sync delivered, sorted by id.

use std::collections::HashMap;
use std::fmt;

use serde::{Deserialize, Serialize};

use crate::ids::Ids;
use crate::plan::RejectedRow;
use crate::validate::{is_hidden_char, looks_like_pii};
use crate::value::Value;

/// The longest user id optisync sends to ODP, in characters. ODP documents no limit; an id
/// this long is a model mistake (a concatenation gone wrong), not a user
/// (docs/ODP-API.md#identifiers).
pub const MAX_PROFILE_ID_CHARS: usize = 255;

/// The longest text value optisync sends in a customer field, in characters
/// (docs/ODP-API.md#profiles).
pub const MAX_PROFILE_TEXT_CHARS: usize = 1000;

/// One value of a customer field. `Cleared` is what a leaver gets: `null`, or `false` for a
/// boolean field (the destination decides when it knows the field's type).
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(untagged)]
pub enum ProfileValue {
    /// A boolean.
    Bool(bool),
    /// A number, as its JSON text (integers exactly; floats as serde_json writes them).
    Number(ProfileNumber),
    /// Text.
    Text(String),
    /// No value: the field is cleared.
    Cleared,
}

/// A finite number, kept as the JSON text it is sent as, so that it compares and hashes
/// exactly.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(try_from = "serde_json::Number", into = "serde_json::Number")]
pub struct ProfileNumber(String);

impl TryFrom<serde_json::Number> for ProfileNumber {
    type Error = String;
    fn try_from(n: serde_json::Number) -> Result<Self, Self::Error> {
        Ok(ProfileNumber(n.to_string()))
    }
}

impl From<ProfileNumber> for serde_json::Number {
    fn from(n: ProfileNumber) -> Self {
        // Made from a serde_json number or an i64/finite f64, so it parses back.
        n.0.parse().unwrap_or_else(|_| serde_json::Number::from(0))
    }
}

impl ProfileNumber {
    /// An integer.
    pub fn int(n: i64) -> Self {
        ProfileNumber(n.to_string())
    }

    /// A finite float (`None` for NaN and infinities, which JSON cannot carry).
    pub fn float(f: f64) -> Option<Self> {
        serde_json::Number::from_f64(f).map(|n| ProfileNumber(n.to_string()))
    }

    /// The JSON text.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl ProfileValue {
    /// The JSON value sent for it, with `Cleared` as `clear` (`false` or `null`).
    pub fn to_json(&self, clear: &serde_json::Value) -> serde_json::Value {
        match self {
            ProfileValue::Bool(b) => serde_json::Value::Bool(*b),
            ProfileValue::Number(n) => serde_json::Value::Number(n.clone().into()),
            ProfileValue::Text(t) => serde_json::Value::String(t.clone()),
            ProfileValue::Cleared => clear.clone(),
        }
    }

    /// The value a model cell gives, or why it cannot be a field's value. SQL NULL clears
    /// the field.
    pub fn from_cell(value: &Value) -> Result<ProfileValue, String> {
        match value {
            Value::Null => Ok(ProfileValue::Cleared),
            Value::Bool(b) => Ok(ProfileValue::Bool(*b)),
            Value::Int(i) => Ok(ProfileValue::Number(ProfileNumber::int(*i))),
            Value::Float(f) => ProfileNumber::float(*f)
                .map(ProfileValue::Number)
                .ok_or_else(|| format!("value is {f}, which a field cannot hold")),
            Value::Text(t) => text_value(t),
            Value::Json(serde_json::Value::Null) => Ok(ProfileValue::Cleared),
            Value::Json(serde_json::Value::Bool(b)) => Ok(ProfileValue::Bool(*b)),
            Value::Json(serde_json::Value::Number(n)) => {
                Ok(ProfileValue::Number(ProfileNumber(n.to_string())))
            }
            Value::Json(serde_json::Value::String(t)) => text_value(t),
            Value::Json(_) => Err(
                "value is a JSON array or object; a customer field holds one boolean, number or text"
                    .to_owned(),
            ),
            Value::Invalid(reason) => Err(format!("value cannot be read: {reason}")),
        }
    }

    /// The name of its type, for messages.
    pub fn type_name(&self) -> &'static str {
        match self {
            ProfileValue::Bool(_) => "a boolean",
            ProfileValue::Number(_) => "a number",
            ProfileValue::Text(_) => "text",
            ProfileValue::Cleared => "null",
        }
    }
}

fn text_value(text: &str) -> Result<ProfileValue, String> {
    let chars = text.chars().count();
    if chars > MAX_PROFILE_TEXT_CHARS {
        return Err(format!(
            "value is {chars} characters long; optisync sends at most {MAX_PROFILE_TEXT_CHARS}"
        ));
    }
    Ok(ProfileValue::Text(text.to_owned()))
}

impl fmt::Display for ProfileValue {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ProfileValue::Bool(b) => write!(f, "{b}"),
            ProfileValue::Number(n) => f.write_str(n.as_str()),
            ProfileValue::Text(t) => f.write_str(&crate::value::quoted(t)),
            ProfileValue::Cleared => f.write_str("cleared"),
        }
    }
}

/// Distinct values, each with its index.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ValueTable {
    values: Vec<ProfileValue>,
    index: HashMap<ProfileValue, u32>,
}

impl ValueTable {
    /// An empty table.
    pub fn new() -> Self {
        Self::default()
    }

    /// The index of `value`, added if new.
    pub fn intern(&mut self, value: ProfileValue) -> u32 {
        if let Some(index) = self.index.get(&value) {
            return *index;
        }
        // More distinct values than a u32 counts cannot come from a model that fits memory.
        let index = u32::try_from(self.values.len()).unwrap_or(u32::MAX);
        self.values.push(value.clone());
        self.index.insert(value, index);
        index
    }

    /// The value at `index`.
    pub fn get(&self, index: u32) -> &ProfileValue {
        self.values
            .get(index as usize)
            .unwrap_or(&ProfileValue::Cleared)
    }

    /// How many distinct values.
    pub fn len(&self) -> usize {
        self.values.len()
    }

    /// Whether there is none.
    pub fn is_empty(&self) -> bool {
        self.values.is_empty()
    }

    /// Every value, by index.
    pub fn values(&self) -> &[ProfileValue] {
        &self.values
    }
}

impl Serialize for ValueTable {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        self.values.serialize(serializer)
    }
}

impl<'de> Deserialize<'de> for ValueTable {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let values = Vec::<ProfileValue>::deserialize(deserializer)?;
        let mut table = ValueTable::new();
        for value in values {
            table.intern(value);
        }
        Ok(table)
    }
}

#[cfg(feature = "schema")]
impl schemars::JsonSchema for ValueTable {
    fn schema_name() -> std::borrow::Cow<'static, str> {
        "ValueTable".into()
    }
    fn json_schema(generator: &mut schemars::SchemaGenerator) -> schemars::Schema {
        Vec::<ProfileValue>::json_schema(generator)
    }
}

/// Users and their values: ids with one index into `table` each.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
pub struct ProfileState {
    /// The users, in the order the holder says (sorted by bytes for state and plans).
    pub ids: Ids,
    /// Each user's value, as an index into `table`.
    pub values: Vec<u32>,
    /// The distinct values.
    pub table: ValueTable,
}

impl ProfileState {
    /// An empty set.
    pub fn new() -> Self {
        Self::default()
    }

    /// Appends a user and its value.
    pub fn push(&mut self, id: &str, value: ProfileValue) {
        let index = self.table.intern(value);
        self.ids.push(id);
        self.values.push(index);
    }

    /// How many users.
    pub fn len(&self) -> usize {
        self.ids.len()
    }

    /// Whether there is none.
    pub fn is_empty(&self) -> bool {
        self.ids.is_empty()
    }

    /// The users and their values, in order.
    pub fn iter(&self) -> impl Iterator<Item = (&str, &ProfileValue)> {
        self.ids
            .iter()
            .zip(&self.values)
            .map(|(id, index)| (id, self.table.get(*index)))
    }

    /// The value of the user at `position`.
    pub fn value_at(&self, position: usize) -> &ProfileValue {
        self.values
            .get(position)
            .map_or(&ProfileValue::Cleared, |index| self.table.get(*index))
    }
}

/// An ODP-attribute sync's model rows, checked as they are read: the valid users with their
/// values in model order, and the other rows as rejected rows.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ProfileRows {
    /// Valid users and values, in model order, duplicates included.
    pub rows: ProfileState,
    /// Rows that cannot be sent.
    pub rejected: Vec<RejectedRow>,
    /// Rows read.
    pub read: u64,
    /// How many valid ids look like an e-mail address or a phone number.
    pub looking_like_pii: u64,
}

impl ProfileRows {
    /// An empty gathering.
    pub fn new() -> Self {
        Self::default()
    }

    /// Checks and keeps one row: its user id cell and its value cell (`None` when the sync
    /// maps no value column: the value is then `true`).
    pub fn push(&mut self, id: &Value, value: Option<&Value>) {
        self.read += 1;
        let id = match profile_id(id) {
            Ok(id) => id,
            Err((id, reason)) => {
                self.reject(id, "user_id", reason);
                return;
            }
        };
        let value = match value.map(ProfileValue::from_cell) {
            None => ProfileValue::Bool(true),
            Some(Ok(value)) => value,
            Some(Err(reason)) => {
                self.reject(Some(id.into_owned()), "value", reason);
                return;
            }
        };
        if looks_like_pii(&id).is_some() {
            self.looking_like_pii += 1;
        }
        self.rows.push(&id, value);
    }

    fn reject(&mut self, id: Option<String>, field: &str, reason: String) {
        self.rejected.push(RejectedRow {
            primary_key: id.map(|id| crate::value::shown(&id)),
            field: Some(field.to_owned()),
            reason,
            request_id: None,
        });
    }
}

/// The trimmed id text of a user id cell, or the id (if it has text) and why it cannot be
/// sent.
fn profile_id(cell: &Value) -> Result<std::borrow::Cow<'_, str>, (Option<String>, String)> {
    if let Value::Invalid(reason) = cell {
        return Err((None, format!("user_id cannot be read: {reason}")));
    }
    let Some(id) = cell.as_id_text().filter(|id| !id.is_empty()) else {
        return Err((None, "user_id is null or empty".to_owned()));
    };
    if id.len() > MAX_PROFILE_ID_CHARS {
        let chars = id.chars().count();
        if chars > MAX_PROFILE_ID_CHARS {
            return Err((
                Some(id.into_owned()),
                format!(
                    "user_id is {chars} characters long; optisync sends ids of at most {MAX_PROFILE_ID_CHARS}"
                ),
            ));
        }
    }
    if !id.bytes().all(|b| (0x20..0x7f).contains(&b))
        && let Some((at, c)) = id.chars().enumerate().find(|(_, c)| is_hidden_char(*c))
    {
        return Err((
            Some(id.into_owned()),
            format!(
                "user_id contains the control or invisible character U+{:04X} at character {}; an id holding it would not match the one your app passes to the SDK, so remove it in the model",
                u32::from(c),
                at + 1
            ),
        ));
    }
    Ok(id)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cells_become_values_or_say_why_not() {
        assert_eq!(
            ProfileValue::from_cell(&Value::Bool(true)),
            Ok(ProfileValue::Bool(true))
        );
        assert_eq!(
            ProfileValue::from_cell(&Value::Int(-3)),
            Ok(ProfileValue::Number(ProfileNumber::int(-3)))
        );
        assert_eq!(
            ProfileValue::from_cell(&Value::Null),
            Ok(ProfileValue::Cleared)
        );
        assert!(
            ProfileValue::from_cell(&Value::Float(f64::NAN))
                .unwrap_err()
                .contains("NaN")
        );
        let long = "x".repeat(MAX_PROFILE_TEXT_CHARS + 1);
        assert!(
            ProfileValue::from_cell(&Value::Text(long))
                .unwrap_err()
                .contains("1001 characters")
        );
        assert!(
            ProfileValue::from_cell(&Value::Json(serde_json::json!([1])))
                .unwrap_err()
                .contains("array or object")
        );
    }

    #[test]
    fn values_serialize_as_plain_json_scalars_and_back() {
        let values = vec![
            ProfileValue::Bool(false),
            ProfileValue::Number(ProfileNumber::int(7)),
            ProfileValue::Number(ProfileNumber::float(1.5).unwrap()),
            ProfileValue::Text("gold".into()),
            ProfileValue::Cleared,
        ];
        let json = serde_json::to_string(&values).unwrap();
        assert_eq!(json, r#"[false,7,1.5,"gold",null]"#);
        let back: Vec<ProfileValue> = serde_json::from_str(&json).unwrap();
        assert_eq!(back, values);
    }

    #[test]
    fn rows_keep_valid_users_and_reject_the_rest_with_reasons() {
        let mut rows = ProfileRows::new();
        rows.push(&Value::Text(" u1 ".into()), None);
        rows.push(&Value::Int(42), Some(&Value::Text("gold".into())));
        rows.push(&Value::Null, None);
        rows.push(&Value::Text("a\u{200b}b".into()), None);
        rows.push(
            &Value::Text("u3".into()),
            Some(&Value::Float(f64::INFINITY)),
        );
        rows.push(&Value::Text("x".repeat(256)), None);
        rows.push(&Value::Text("jane@example.com".into()), None);
        assert_eq!(rows.read, 7);
        assert_eq!(
            rows.rows.iter().collect::<Vec<_>>(),
            [
                ("u1", &ProfileValue::Bool(true)),
                ("42", &ProfileValue::Text("gold".into())),
                ("jane@example.com", &ProfileValue::Bool(true)),
            ]
        );
        assert_eq!(rows.looking_like_pii, 1);
        let reasons: Vec<_> = rows.rejected.iter().map(|r| r.reason.as_str()).collect();
        assert!(reasons[0].contains("null or empty"));
        assert!(reasons[1].contains("U+200B at character 2"));
        assert!(reasons[2].contains("inf"));
        assert!(reasons[3].contains("256 characters"));
        assert_eq!(rows.rejected[2].field.as_deref(), Some("value"));
        assert_eq!(rows.rows.table.len(), 2);
    }
}
