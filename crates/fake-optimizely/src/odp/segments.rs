//! Real-time segments as simple rules on customer fields, and their evaluation
//! (docs/ODP-API.md §8, §10.8).
//!
//! Real ODP defines a segment as a tree of conditions over `customer.<field>` paths and
//! events. The fake keeps the customer part only, in a smaller JSON shape: a field equals a
//! literal (ODP's `comparison` with `EQUAL`), a field is set (`is_not_missing`), and `and` /
//! `or` / `not` over rules (`combination`). A segment is evaluated on the profile as it is
//! when GraphQL asks (after the account's apply delay, if any).
//!
//! INFERRED (§8, §10.8): membership changes as soon as the profile does (real ODP: within
//! ~90 s); `equals` compares numbers by value and everything else exactly; a field holding
//! `null` or missing is not set and equals nothing.

use super::schema::Schema;
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

/// A rule on a customer's fields. JSON (externally tagged):
/// `{"equals": {"field": "in_beta", "value": true}}`, `{"is_set": {"field": "email"}}`,
/// `{"and": [rule, …]}`, `{"or": [rule, …]}`, `{"not": rule}`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case", deny_unknown_fields)]
pub enum OdpSegmentRule {
    /// The field holds `value` (a string, number or boolean literal).
    Equals {
        /// A customer field name (no `customer.` prefix).
        field: String,
        /// The literal to compare with.
        value: Value,
    },
    /// The field holds a value (ODP's `is_not_missing`).
    IsSet {
        /// A customer field name.
        field: String,
    },
    /// Every rule holds (an empty list always holds).
    And(Vec<OdpSegmentRule>),
    /// At least one rule holds (an empty list never holds).
    Or(Vec<OdpSegmentRule>),
    /// The rule does not hold.
    Not(Box<OdpSegmentRule>),
}

impl OdpSegmentRule {
    /// `field == value`.
    pub fn equals(field: &str, value: impl Into<Value>) -> Self {
        Self::Equals {
            field: field.to_owned(),
            value: value.into(),
        }
    }

    /// `field` is set.
    pub fn is_set(field: &str) -> Self {
        Self::IsSet {
            field: field.to_owned(),
        }
    }

    /// Whether a profile with these attributes is in the segment.
    pub(crate) fn matches(&self, attributes: &Map<String, Value>) -> bool {
        match self {
            Self::Equals { field, value } => attributes
                .get(field)
                .is_some_and(|held| same_value(held, value)),
            Self::IsSet { field } => attributes.get(field).is_some_and(|v| !v.is_null()),
            Self::And(rules) => rules.iter().all(|r| r.matches(attributes)),
            Self::Or(rules) => rules.iter().any(|r| r.matches(attributes)),
            Self::Not(rule) => !rule.matches(attributes),
        }
    }

    /// Refuses rules on fields the customers object does not have, and literals that are not
    /// strings, numbers or booleans.
    pub(crate) fn check(&self, schema: &Schema) -> Result<(), String> {
        let known = |field: &str| {
            if schema.customer_field(field).is_some() {
                Ok(())
            } else {
                Err(format!("the customers object has no field {field}"))
            }
        };
        match self {
            Self::Equals { field, value } => {
                known(field)?;
                if matches!(value, Value::String(_) | Value::Number(_) | Value::Bool(_)) {
                    Ok(())
                } else {
                    Err(format!(
                        "equals {field}: the value must be a string, number or boolean literal"
                    ))
                }
            }
            Self::IsSet { field } => known(field),
            Self::And(rules) | Self::Or(rules) => rules.iter().try_for_each(|r| r.check(schema)),
            Self::Not(rule) => rule.check(schema),
        }
    }
}

fn same_value(held: &Value, literal: &Value) -> bool {
    match (held, literal) {
        (Value::Number(a), Value::Number(b)) => a.as_f64() == b.as_f64(),
        _ => held == literal,
    }
}

/// A segment: its id (the name GraphQL and the datafile use) and its rule.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct OdpSegmentSeed {
    /// The segment id, `[a-z][a-z0-9_]*` (docs/ODP-API.md §8).
    pub name: String,
    /// Free text.
    #[serde(default)]
    pub description: String,
    /// Who is in it.
    pub rule: OdpSegmentRule,
}

impl OdpSegmentSeed {
    /// A segment `name` defined by `rule`.
    pub fn new(name: &str, rule: OdpSegmentRule) -> Self {
        Self {
            name: name.to_owned(),
            description: String::new(),
            rule,
        }
    }

    /// Checks the name and the rule against `schema`.
    pub(crate) fn check(&self, schema: &Schema) -> Result<(), String> {
        if !super::schema::valid_name(&self.name) {
            return Err(format!(
                "segment id {:?} must match [a-z][a-z0-9_]*",
                self.name
            ));
        }
        self.rule.check(schema)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn attrs(value: Value) -> Map<String, Value> {
        match value {
            Value::Object(map) => map,
            _ => Map::new(),
        }
    }

    #[test]
    fn rules_evaluate() {
        let p = attrs(json!({"in_beta": true, "plan": "pro", "score": 3, "gone": null}));
        assert!(OdpSegmentRule::equals("in_beta", true).matches(&p));
        assert!(!OdpSegmentRule::equals("in_beta", false).matches(&p));
        assert!(OdpSegmentRule::equals("score", 3.0).matches(&p));
        assert!(!OdpSegmentRule::equals("plan", "free").matches(&p));
        assert!(OdpSegmentRule::is_set("plan").matches(&p));
        assert!(!OdpSegmentRule::is_set("gone").matches(&p));
        assert!(!OdpSegmentRule::is_set("missing").matches(&p));
        let both = OdpSegmentRule::And(vec![
            OdpSegmentRule::equals("in_beta", true),
            OdpSegmentRule::equals("plan", "pro"),
        ]);
        assert!(both.matches(&p));
        let either = OdpSegmentRule::Or(vec![
            OdpSegmentRule::equals("plan", "free"),
            OdpSegmentRule::Not(Box::new(OdpSegmentRule::is_set("missing"))),
        ]);
        assert!(either.matches(&p));
    }

    #[test]
    fn json_shape() {
        let rule: OdpSegmentRule = serde_json::from_value(json!(
            {"and": [{"equals": {"field": "in_beta", "value": true}}, {"is_set": {"field": "email"}}]}
        ))
        .unwrap();
        assert_eq!(
            rule,
            OdpSegmentRule::And(vec![
                OdpSegmentRule::equals("in_beta", true),
                OdpSegmentRule::is_set("email")
            ])
        );
        assert!(serde_json::from_value::<OdpSegmentRule>(json!({"like": {}})).is_err());
    }
}
