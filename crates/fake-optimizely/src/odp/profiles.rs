//! Customer profiles: `POST /v3/profiles` (upsert) and `GET /v3/profiles?<identifier>=<value>`
//! (docs/ODP-API.md §2, §3, §10.4, §10.5), and the store behind them.
//!
//! A request body is one `{"attributes": {…}}` object or an array of at most 500. The
//! identifiers (`email`, `vuid`, `fs_user_id`, any field of type `identifier`) sit inside
//! `attributes` next to the plain fields. The whole request is checked before anything is
//! applied; any refused item makes it a 400 whose `detail.invalids` name each bad item by its
//! index (`{"event": i, "message": …}`), and nothing of it is applied. Otherwise it is 202
//! Accepted and every item is applied in order: the profile is found by any of its
//! identifiers (or created), known fields take the value when it fits the field's type, `null`
//! clears a field.
//!
//! Profiles are merged the way identity resolution would: an item whose identifiers point at
//! two profiles joins them into the older one. Every identifier value a profile was ever
//! given keeps finding it (ODP keeps the old ones in its plural lists, `emails`, `vuids`);
//! `attributes` shows the latest.
//!
//! INFERRED (docs/ODP-API.md §2, §10.4), each easy to change:
//! - a partly invalid batch is refused whole, with item indexes (§2 "Partly invalid batch");
//! - the item shape `{event, message}` of `invalids`, also for refusals of the whole body
//!   (malformed JSON and a body that is not an object or array are `event` 0, a batch over 500
//!   names item 500: the first one too many);
//! - unknown fields and values that do not fit their field's type are dropped silently
//!   (validation is asynchronous on the real service); the account's `strict` switch refuses
//!   them instead, like a top-level key other than `attributes` (`identifiers` included);
//! - `null` clears a field; `null` or `""` for an identifier is no identifier (it neither
//!   finds nor clears anything);
//! - what fits a type: boolean `true|false|0|1` and those as strings; number a JSON number or
//!   a numeric string; timestamp ISO 8601 or epoch seconds (kept as sent); string (text) a
//!   JSON string of at most 1024 characters; an identifier a non-empty string or a number;
//! - an empty array is accepted and does nothing;
//! - a read answers 200 (the reference says 202), with identifiers among the attributes;
//! - "refused identifier values" are fault injection: the fake's own, with a message saying
//!   so.
//!
//! Writes can be applied after a delay on the tokio clock (the account's `apply_delay_ms`,
//! default 0), as the real service applies them asynchronously (§2 "Asynchronous").

use super::response::{OdpAnswer, Reply};
use super::schema::{FieldType, Schema};
use super::seed::RefusedIdentifier;
use serde::{Deserialize, Serialize};
use serde_json::{Map, Number, Value, json};
use std::collections::{BTreeMap, BTreeSet, HashMap, VecDeque};
use std::time::Duration;
use tokio::time::Instant;

/// The most items one `POST /v3/profiles` may carry (docs/ODP-API.md §2).
pub(crate) const MAX_ITEMS: usize = 500;
/// The longest text a string field takes, in characters (docs/ODP-API.md §2).
const MAX_TEXT_CHARS: usize = 1024;
/// Accepted items kept for [`Profiles::writes`]; older ones are forgotten.
const MAX_WRITES_KEPT: usize = 100_000;

/// One accepted item of a `POST /v3/profiles`, as the client sent it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct OdpProfileWrite {
    /// Which accepted (202) upsert request it came in, counting from 1.
    pub request: u64,
    /// Its index in that request's body.
    pub index: usize,
    /// Its `attributes`, exactly as sent.
    pub attributes: Map<String, Value>,
}

/// What one checked item does to the profiles.
#[derive(Clone, Debug, PartialEq)]
pub(crate) struct Change {
    /// `(identifier, value)` pairs that find (or make) the profile.
    identifiers: Vec<(String, String)>,
    /// Fields to set (`Some`) or clear (`None`), identifiers included, in body order.
    set: Vec<(String, Option<Value>)>,
}

#[derive(Clone, Debug, Default)]
struct Profile {
    attributes: Map<String, Value>,
    identifiers: BTreeSet<(String, String)>,
}

/// Every profile of the account, the writes not applied yet, and the log of accepted items.
#[derive(Clone, Debug, Default)]
pub(crate) struct Profiles {
    next_id: u64,
    by_id: BTreeMap<u64, Profile>,
    index: HashMap<(String, String), u64>,
    pending: VecDeque<(Instant, Vec<Change>)>,
    writes: VecDeque<OdpProfileWrite>,
    accepted_requests: u64,
}

impl Profiles {
    /// Applies the delayed writes that are due at `now`.
    pub(crate) fn settle(&mut self, now: Instant) {
        while self.pending.front().is_some_and(|(due, _)| *due <= now) {
            if let Some((_, changes)) = self.pending.pop_front() {
                for change in changes {
                    self.apply(change);
                }
            }
        }
    }

    fn apply(&mut self, change: Change) {
        let mut ids: Vec<u64> = change
            .identifiers
            .iter()
            .filter_map(|pair| self.index.get(pair).copied())
            .collect();
        ids.sort_unstable();
        ids.dedup();
        let target = match ids.first() {
            Some(id) => *id,
            None => {
                self.next_id += 1;
                self.by_id.insert(self.next_id, Profile::default());
                self.next_id
            }
        };
        // Merge the younger profiles the item joins into the oldest: on a clash the oldest
        // profile's value stays (INFERRED).
        for other in ids.iter().skip(1) {
            if let Some(merged) = self.by_id.remove(other) {
                for pair in &merged.identifiers {
                    self.index.insert(pair.clone(), target);
                }
                if let Some(profile) = self.by_id.get_mut(&target) {
                    for (key, value) in merged.attributes {
                        profile.attributes.entry(key).or_insert(value);
                    }
                    profile.identifiers.extend(merged.identifiers);
                }
            }
        }
        let Some(profile) = self.by_id.get_mut(&target) else {
            return;
        };
        for pair in change.identifiers {
            self.index.insert(pair.clone(), target);
            profile.identifiers.insert(pair);
        }
        for (field, value) in change.set {
            match value {
                Some(value) => {
                    profile.attributes.insert(field, value);
                }
                None => {
                    profile.attributes.remove(&field);
                }
            }
        }
    }

    /// The attributes of the profile identifier `field` = `value` finds.
    pub(crate) fn find(&self, field: &str, value: &str) -> Option<&Map<String, Value>> {
        let id = self.index.get(&(field.to_owned(), value.to_owned()))?;
        self.by_id.get(id).map(|p| &p.attributes)
    }

    /// Every profile's attributes, oldest profile first.
    pub(crate) fn all(&self) -> Vec<Map<String, Value>> {
        self.by_id.values().map(|p| p.attributes.clone()).collect()
    }

    /// The attributes of every profile whose `field` equals `value` (numbers by value).
    pub(crate) fn with(&self, field: &str, value: &Value) -> Vec<Map<String, Value>> {
        let probe = super::segments::OdpSegmentRule::Equals {
            field: field.to_owned(),
            value: value.clone(),
        };
        self.by_id
            .values()
            .filter(|p| probe.matches(&p.attributes))
            .map(|p| p.attributes.clone())
            .collect()
    }

    /// Accepted items, oldest first (the last 100,000).
    pub(crate) fn writes(&self) -> Vec<OdpProfileWrite> {
        self.writes.iter().cloned().collect()
    }

    /// Applies `change` now (seeded profiles).
    pub(crate) fn insert_now(&mut self, change: Change) {
        self.apply(change);
    }

    fn accept(&mut self, items: Vec<(Map<String, Value>, Change)>, due: Option<Instant>) {
        self.accepted_requests += 1;
        let mut changes = Vec::with_capacity(items.len());
        for (index, (attributes, change)) in items.into_iter().enumerate() {
            if self.writes.len() == MAX_WRITES_KEPT {
                self.writes.pop_front();
            }
            self.writes.push_back(OdpProfileWrite {
                request: self.accepted_requests,
                index,
                attributes,
            });
            changes.push(change);
        }
        match due {
            Some(due) => self.pending.push_back((due, changes)),
            None => changes.into_iter().for_each(|c| self.apply(c)),
        }
    }
}

/// How a value fits a field.
#[derive(Debug, PartialEq)]
enum Fit {
    Set(Value),
    Clear,
    Misfit,
}

fn fit(kind: FieldType, value: &Value) -> Fit {
    if value.is_null() {
        return Fit::Clear;
    }
    let fitted = match kind {
        FieldType::String | FieldType::Identifier => match value {
            Value::String(s) if s.chars().count() <= MAX_TEXT_CHARS => Some(value.clone()),
            _ => None,
        },
        FieldType::Boolean => match value {
            Value::Bool(b) => Some(Value::Bool(*b)),
            Value::Number(n) => match n.as_f64() {
                Some(0.0) => Some(Value::Bool(false)),
                Some(1.0) => Some(Value::Bool(true)),
                _ => None,
            },
            Value::String(s) => match s.as_str() {
                "true" | "1" => Some(Value::Bool(true)),
                "false" | "0" => Some(Value::Bool(false)),
                _ => None,
            },
            _ => None,
        },
        FieldType::Number => match value {
            Value::Number(_) => Some(value.clone()),
            Value::String(s) => numeric(s),
            _ => None,
        },
        FieldType::Timestamp => match value {
            Value::Number(_) => Some(value.clone()),
            Value::String(s) if numeric(s).is_some() || is_iso8601(s) => Some(value.clone()),
            _ => None,
        },
    };
    fitted.map_or(Fit::Misfit, Fit::Set)
}

fn numeric(text: &str) -> Option<Value> {
    let text = text.trim();
    if let Ok(i) = text.parse::<i64>() {
        return Some(Value::Number(i.into()));
    }
    let f = text.parse::<f64>().ok().filter(|f| f.is_finite())?;
    Number::from_f64(f).map(Value::Number)
}

fn is_iso8601(text: &str) -> bool {
    chrono::DateTime::parse_from_rfc3339(text).is_ok()
        || chrono::NaiveDateTime::parse_from_str(text, "%Y-%m-%dT%H:%M:%S%.f").is_ok()
        || chrono::NaiveDateTime::parse_from_str(text, "%Y-%m-%d %H:%M:%S%.f").is_ok()
        || chrono::NaiveDate::parse_from_str(text, "%Y-%m-%d").is_ok()
}

/// An identifier's value as a lookup key: a non-empty string, or a number's text.
fn identifier_value(value: &Value) -> Option<String> {
    match value {
        Value::String(s) if !s.is_empty() => Some(s.clone()),
        Value::Number(n) => Some(n.to_string()),
        _ => None,
    }
}

/// How items are checked.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Rules<'a> {
    pub(crate) schema: &'a Schema,
    pub(crate) refused: &'a [RefusedIdentifier],
    pub(crate) strict: bool,
}

/// Checks one item: its change, or every message refusing it.
pub(crate) fn check_item(
    rules: Rules<'_>,
    item: &Value,
) -> Result<(Map<String, Value>, Change), Vec<String>> {
    let Value::Object(item) = item else {
        return Err(vec![
            "each object must be a JSON object with an 'attributes' object".to_owned(),
        ]);
    };
    let mut problems = Vec::new();
    if rules.strict {
        for key in item.keys().filter(|k| *k != "attributes") {
            problems.push(format!("unknown property {key}"));
        }
    }
    let attributes = match item.get("attributes") {
        Some(Value::Object(attributes)) => attributes,
        Some(_) => {
            problems.push("'attributes' must be an object".to_owned());
            return Err(problems);
        }
        None => {
            problems.push("missing 'attributes' field".to_owned());
            return Err(problems);
        }
    };
    let mut change = Change {
        identifiers: Vec::new(),
        set: Vec::new(),
    };
    for (name, value) in attributes {
        if value.is_object() || value.is_array() {
            problems.push(format!(
                "field '{name}' must be a string, number, boolean or null"
            ));
            continue;
        }
        let Some(field) = rules.schema.customer_field(name) else {
            if rules.strict {
                problems.push(format!("unknown field '{name}'"));
            }
            continue;
        };
        if field.kind == FieldType::Identifier {
            if value.is_null() {
                continue;
            }
            match identifier_value(value) {
                Some(id) => {
                    if rules.refused.iter().any(|r| r.matches(name, &id)) {
                        problems.push(format!(
                            "identifier {name} = {id:?} refused (injected by fake-optimizely)"
                        ));
                    }
                    change
                        .set
                        .push((name.clone(), Some(Value::String(id.clone()))));
                    change.identifiers.push((name.clone(), id));
                }
                None if rules.strict => {
                    problems.push(format!("invalid value for identifier '{name}': {value}"))
                }
                None => {}
            }
            continue;
        }
        match fit(field.kind, value) {
            Fit::Set(v) => change.set.push((name.clone(), Some(v))),
            Fit::Clear => change.set.push((name.clone(), None)),
            Fit::Misfit if rules.strict => problems.push(format!(
                "invalid value for field '{name}' ({}): {value}",
                field.kind.as_str()
            )),
            Fit::Misfit => {}
        }
    }
    if change.identifiers.is_empty() {
        let names = rules
            .schema
            .identifiers()
            .iter()
            .map(|n| format!("'{n}'"))
            .collect::<Vec<_>>()
            .join(", ");
        problems.push(format!("missing identifier: one of {names} is required"));
    }
    if problems.is_empty() {
        Ok((attributes.clone(), change))
    } else {
        Err(problems)
    }
}

fn refuse_body(event: usize, message: impl Into<String>) -> OdpAnswer {
    OdpAnswer::invalids(vec![json!({"event": event, "message": message.into()})])
}

/// `POST /v3/profiles`.
pub(super) fn upsert(
    profiles: &mut Profiles,
    rules: Rules<'_>,
    apply_delay: Duration,
    body: &[u8],
    now: Instant,
) -> Reply {
    let value: Value = serde_json::from_slice(body)
        .map_err(|e| refuse_body(0, format!("Unable to parse request body: {e}")))?;
    let items: Vec<&Value> = match &value {
        Value::Array(items) => items.iter().collect(),
        Value::Object(_) => vec![&value],
        _ => {
            return Err(refuse_body(
                0,
                "request body must be an object or an array of objects",
            ));
        }
    };
    if items.len() > MAX_ITEMS {
        return Err(refuse_body(
            MAX_ITEMS,
            format!(
                "too many objects: at most {MAX_ITEMS} per request, got {}",
                items.len()
            ),
        ));
    }
    let mut invalids = Vec::new();
    let mut accepted = Vec::with_capacity(items.len());
    for (index, item) in items.into_iter().enumerate() {
        match check_item(rules, item) {
            Ok(checked) => accepted.push(checked),
            Err(messages) => invalids.extend(
                messages
                    .into_iter()
                    .map(|message| json!({"event": index, "message": message})),
            ),
        }
    }
    if !invalids.is_empty() {
        return Err(OdpAnswer::invalids(invalids));
    }
    let due = (!apply_delay.is_zero()).then(|| now + apply_delay);
    profiles.accept(accepted, due);
    Ok(OdpAnswer::accepted())
}

/// `GET /v3/profiles?<identifier>=<value>`.
pub(super) fn read(profiles: &Profiles, schema: &Schema, query: &[(String, String)]) -> Reply {
    let [(name, value)] = query else {
        return Err(OdpAnswer::detail(
            http::StatusCode::BAD_REQUEST,
            "exactly one identifier query parameter is required, e.g. ?email=…",
        ));
    };
    if !schema.is_identifier(name) {
        return Err(OdpAnswer::detail(
            http::StatusCode::BAD_REQUEST,
            format!("{name} is not an identifier field"),
        ));
    }
    match profiles.find(name, value) {
        Some(attributes) => Ok(OdpAnswer::ok(json!({ "attributes": attributes }))),
        None => Err(OdpAnswer::not_found(format!(
            "Unable to find profile for {name} = {value}"
        ))),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn values_fit_types() {
        assert_eq!(fit(FieldType::Boolean, &json!("1")), Fit::Set(json!(true)));
        assert_eq!(fit(FieldType::Boolean, &json!(0)), Fit::Set(json!(false)));
        assert_eq!(fit(FieldType::Boolean, &json!("yes")), Fit::Misfit);
        assert_eq!(fit(FieldType::Number, &json!("2.5")), Fit::Set(json!(2.5)));
        assert_eq!(fit(FieldType::Number, &json!("12")), Fit::Set(json!(12)));
        assert_eq!(fit(FieldType::Number, &json!("NaN")), Fit::Misfit);
        assert_eq!(fit(FieldType::Number, &json!(true)), Fit::Misfit);
        assert_eq!(fit(FieldType::String, &json!(null)), Fit::Clear);
        assert_eq!(fit(FieldType::String, &json!(5)), Fit::Misfit);
        assert_eq!(
            fit(FieldType::String, &json!("x".repeat(1025))),
            Fit::Misfit
        );
        assert_eq!(
            fit(FieldType::Timestamp, &json!("2024-01-02T03:04:05Z")),
            Fit::Set(json!("2024-01-02T03:04:05Z"))
        );
        assert_eq!(
            fit(FieldType::Timestamp, &json!(1_700_000_000)),
            Fit::Set(json!(1_700_000_000))
        );
        assert_eq!(fit(FieldType::Timestamp, &json!("soon")), Fit::Misfit);
    }

    fn change(pairs: &[(&str, &str)], set: &[(&str, Value)]) -> Change {
        Change {
            identifiers: pairs
                .iter()
                .map(|(a, b)| ((*a).to_owned(), (*b).to_owned()))
                .collect(),
            set: set
                .iter()
                .map(|(k, v)| ((*k).to_owned(), (!v.is_null()).then(|| v.clone())))
                .collect(),
        }
    }

    #[test]
    fn identity_resolution_merges_into_the_oldest_profile() {
        let mut p = Profiles::default();
        p.insert_now(change(
            &[("email", "a@x")],
            &[("email", json!("a@x")), ("city", json!("Oslo"))],
        ));
        p.insert_now(change(
            &[("vuid", "v1")],
            &[("vuid", json!("v1")), ("city", json!("Rome"))],
        ));
        assert_eq!(p.all().len(), 2);
        p.insert_now(change(
            &[("email", "a@x"), ("vuid", "v1")],
            &[("zip", json!("1"))],
        ));
        let all = p.all();
        assert_eq!(all.len(), 1);
        assert_eq!(all[0]["city"], "Oslo", "the oldest profile's value stays");
        assert_eq!(p.find("vuid", "v1").unwrap()["zip"], "1");
        // Old identifier values keep finding the profile.
        p.insert_now(change(
            &[("vuid", "v1"), ("email", "b@x")],
            &[("email", json!("b@x"))],
        ));
        p.insert_now(change(&[("email", "b@x")], &[]));
        assert_eq!(p.find("email", "a@x").unwrap()["email"], "b@x");
        assert_eq!(p.all().len(), 1);
    }
}
