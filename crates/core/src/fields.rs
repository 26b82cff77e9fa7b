//! Destination field values after validation: a definition's desired (or remote, or
//! delivered) state as a map from [`Field`] to [`FieldValue`], and the comparison rules the
//! upsert diff uses (an absent text field equals empty text, conditions compare as parsed
//! JSON, an absent `archived` is false).

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use crate::conditions::Conditions;
use crate::mapping::Field;

/// A validated value of one destination field. Serialized as plain JSON: a boolean, a
/// string, or the condition tree.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(untagged)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
pub enum FieldValue {
    /// `archived`.
    Bool(bool),
    /// `key`, `name`, `description`, `category`.
    Text(String),
    /// `conditions`.
    Conditions(Conditions),
}

impl FieldValue {
    /// The text, for text fields.
    pub fn as_text(&self) -> Option<&str> {
        match self {
            FieldValue::Text(s) => Some(s),
            _ => None,
        }
    }
}

/// Whether a desired value is already what the remote side holds. Optimizely returns `""`
/// for an unset description and omits `archived: false`, so absence matches those.
pub(crate) fn same_value(desired: &FieldValue, remote: Option<&FieldValue>) -> bool {
    match (desired, remote) {
        (d, Some(r)) => d == r,
        (FieldValue::Text(s), None) => s.is_empty(),
        (FieldValue::Bool(b), None) => !b,
        (FieldValue::Conditions(_), None) => false,
    }
}

/// The fields of one object, in field order (so serialization and hashing are stable).
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(transparent)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
pub struct Fields(pub BTreeMap<Field, FieldValue>);

impl Fields {
    /// No fields.
    pub fn new() -> Self {
        Self::default()
    }

    /// The value of a field.
    pub fn get(&self, field: Field) -> Option<&FieldValue> {
        self.0.get(&field)
    }

    /// The text of a text field.
    pub fn text(&self, field: Field) -> Option<&str> {
        self.get(field).and_then(FieldValue::as_text)
    }

    /// Sets a field.
    pub fn insert(&mut self, field: Field, value: FieldValue) {
        self.0.insert(field, value);
    }

    /// Sets a field, builder style.
    pub fn with(mut self, field: Field, value: FieldValue) -> Self {
        self.insert(field, value);
        self
    }

    /// The fields and values in field order.
    pub fn iter(&self) -> impl Iterator<Item = (Field, &FieldValue)> {
        self.0.iter().map(|(f, v)| (*f, v))
    }

    /// Whether no field is set.
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn absent_remote_values_match_their_api_defaults() {
        assert!(same_value(&FieldValue::Text(String::new()), None));
        assert!(!same_value(&FieldValue::Text("x".into()), None));
        assert!(same_value(&FieldValue::Bool(false), None));
        assert!(!same_value(&FieldValue::Bool(true), None));
        let c = Conditions::from_api_string("[\"and\", {\"type\": \"t\"}]");
        assert!(!same_value(&FieldValue::Conditions(c.clone()), None));
        assert!(same_value(
            &FieldValue::Conditions(c.clone()),
            Some(&FieldValue::Conditions(c))
        ));
    }

    #[test]
    fn fields_serialize_as_a_plain_object() {
        let fields = Fields::new()
            .with(Field::Name, FieldValue::Text("n".into()))
            .with(Field::Archived, FieldValue::Bool(false))
            .with(
                Field::Conditions,
                FieldValue::Conditions(Conditions::from_api_string("[\"or\",{\"type\":\"t\"}]")),
            );
        let json = serde_json::to_string(&fields).unwrap();
        assert_eq!(
            json,
            r#"{"name":"n","conditions":["or",{"type":"t"}],"archived":false}"#
        );
        let back: Fields = serde_json::from_str(&json).unwrap();
        assert_eq!(back, fields);
    }
}
