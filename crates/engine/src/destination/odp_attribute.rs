//! ODP attributes (docs/PRODUCT-RULES.md#odp-attributes): one customer field on each user's
//! profile in Optimizely Data Platform, which a Real-Time Segment turns into an audience
//! Feature Experimentation flags can target. The model gives `user_id` (sent as the sync's
//! `identifier`) and optionally `value` (`true` when not mapped).
//!
//! ODP cannot list who holds a field, so nothing is read before planning: a run sends the
//! profiles whose value differs from what this sync delivered. Before the first send the
//! customer schema is read once, to refuse a field or identifier that does not exist (ODP
//! would drop such values without a word, docs/ODP-API.md#profiles) and values of the wrong
//! type. Profiles go in batches of at most 500 (`POST /v3/profiles`), and each acknowledged
//! batch is recorded at once, so a killed run re-sends at most the batch in flight; an
//! upsert sets values, so sending it twice changes nothing.

use optisync_core::{Field, ObjectRules, ProfilePlan, ProfileValue, RejectedRow, SyncPlan};
use optisync_optimizely::{Client, Error as ApiError, OdpField};

/// The ODP object whose fields a sync writes.
pub const CUSTOMERS: &str = "customers";

/// The ODP attribute's mapping rules.
pub static RULES: ObjectRules = ObjectRules {
    object: optisync_core::kind::ODP_ATTRIBUTE,
    fields: &[Field::UserId, Field::Value],
    required: Some(Field::UserId),
    named_by_template: false,
};

/// The type of a customer field, as far as the values optisync sends care.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FieldType {
    /// `true` / `false`; a cleared field is `false`.
    Boolean,
    /// A number; cleared is `null`.
    Number,
    /// Text (`string`, listed as `text` too); cleared is `null`.
    Text,
    /// A time: ISO 8601 text or epoch seconds; cleared is `null`.
    Timestamp,
}

impl FieldType {
    /// The type of a listed field; `None` for identifiers and types optisync cannot write.
    pub fn of(field: &OdpField) -> Option<FieldType> {
        match field.field_type.as_str() {
            "boolean" => Some(FieldType::Boolean),
            "number" => Some(FieldType::Number),
            "string" | "text" => Some(FieldType::Text),
            "timestamp" => Some(FieldType::Timestamp),
            _ => None,
        }
    }

    /// The value a cleared field is sent as.
    pub fn cleared(self) -> serde_json::Value {
        match self {
            FieldType::Boolean => serde_json::Value::Bool(false),
            _ => serde_json::Value::Null,
        }
    }

    /// The schema API's name of the type.
    pub fn as_str(self) -> &'static str {
        match self {
            FieldType::Boolean => "boolean",
            FieldType::Number => "number",
            FieldType::Text => "string",
            FieldType::Timestamp => "timestamp",
        }
    }

    /// Whether `value` can be written to a field of this type.
    fn takes(self, value: &ProfileValue) -> bool {
        matches!(
            (self, value),
            (_, ProfileValue::Cleared)
                | (FieldType::Boolean, ProfileValue::Bool(_))
                | (FieldType::Number, ProfileValue::Number(_))
                | (FieldType::Text, ProfileValue::Text(_))
                | (
                    FieldType::Timestamp,
                    ProfileValue::Text(_) | ProfileValue::Number(_)
                )
        )
    }
}

/// Why the schema does not let a sync write, as a message naming the fix; or the field's type.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Schema {
    /// The field exists with this type, and the identifier exists.
    Ready(FieldType),
    /// What is missing or wrong, and how to fix it.
    Unusable(String),
}

/// Reads the customer schema and says whether `identifier` and `field` can be written.
pub async fn read_schema(odp: &Client, identifier: &str, field: &str) -> Result<Schema, ApiError> {
    let fields = odp.odp_fields(CUSTOMERS).await?;
    Ok(judge_schema(&fields, identifier, field))
}

/// [`read_schema`]'s verdict on a listed schema.
pub fn judge_schema(fields: &[OdpField], identifier: &str, field: &str) -> Schema {
    // Names from the server: only plain short words are quoted, and at most 20 of them.
    let identifiers = || {
        fields
            .iter()
            .filter(|f| f.is_identifier())
            .map(|f| shown_type(&f.name))
            .take(20)
            .collect::<Vec<_>>()
            .join(", ")
    };
    if !fields
        .iter()
        .any(|f| f.is_identifier() && f.name == identifier)
    {
        return Schema::Unusable(format!(
            "ODP has no identifier {identifier:?} on customers (its identifiers: {}); set `identifier` to the one your app passes to the SDK as the user id, or create it in ODP (Settings > Data Setup > Identifiers)",
            identifiers()
        ));
    }
    let Some(found) = fields.iter().find(|f| f.name == field) else {
        return Schema::Unusable(format!(
            "ODP has no customer field {field:?}; create it (a boolean field for membership) in ODP (Settings > Objects & Fields > Customers), or run `optisync check --create-fields`"
        ));
    };
    match FieldType::of(found) {
        Some(field_type) => Schema::Ready(field_type),
        None => Schema::Unusable(format!(
            "ODP's customer field {field:?} is of type {}, which optisync does not write; use a boolean, number, string or timestamp field",
            shown_type(&found.field_type)
        )),
    }
}

/// A name from the server (a type, an identifier), for a message: only when it is a plain
/// short word.
fn shown_type(name: &str) -> String {
    if name.len() <= 32 && name.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_') {
        name.to_owned()
    } else {
        "(not shown)".to_owned()
    }
}

/// Moves the profiles whose value the field cannot hold out of the plan, into rejected rows.
/// With no value column mapped, every value is `true`: a field other than a boolean one is
/// then a config mistake, reported once for the sync (the `Err`).
pub fn check_values(
    plan: &mut SyncPlan,
    field_type: FieldType,
    value_mapped: bool,
) -> Result<(), String> {
    let Some(body) = plan.profiles() else {
        return Ok(());
    };
    if !value_mapped && field_type != FieldType::Boolean {
        return Err(format!(
            "ODP's customer field {:?} is a {} field, but the sync maps no `value` column, so every user would get `true`; map one (mapping = {{ user_id = \"…\", value = \"…\" }}) or write to a boolean field",
            body.field,
            field_type.as_str()
        ));
    }
    if body.upserts.iter().all(|(_, v)| field_type.takes(v)) {
        return Ok(());
    }
    let optisync_core::PlanBody::Profiles(body) = &mut plan.body else {
        return Ok(());
    };
    let mut kept = optisync_core::ProfileState::new();
    let mut rejected = Vec::new();
    for (id, value) in body.upserts.iter() {
        if field_type.takes(value) {
            kept.push(id, value.clone());
        } else {
            rejected.push(RejectedRow {
                primary_key: Some(optisync_core::value::shown(id)),
                field: Some("value".to_owned()),
                reason: format!(
                    "value is {}, but ODP's customer field {:?} is a {} field",
                    value.type_name(),
                    body.field,
                    field_type.as_str()
                ),
                request_id: None,
            });
        }
    }
    kept.ids = kept.ids.into_sorted_set();
    body.upserts = kept;
    plan.rejected.extend(rejected);
    plan.rejected.sort_unstable();
    Ok(())
}

/// The request items of profiles `range` of `body`: `{"attributes": {identifier: id, field:
/// value}}`, a cleared value as `field_type` wants it.
pub fn items(
    body: &ProfilePlan,
    range: std::ops::Range<usize>,
    field_type: FieldType,
) -> Vec<serde_json::Value> {
    let cleared = field_type.cleared();
    range
        .filter_map(|i| {
            let id = body.upserts.ids.get(i)?;
            let value = body.upserts.value_at(i).to_json(&cleared);
            let mut attributes = serde_json::Map::with_capacity(2);
            attributes.insert(
                body.identifier.clone(),
                serde_json::Value::String(id.to_owned()),
            );
            attributes.insert(body.field.clone(), value);
            Some(serde_json::json!({ "attributes": attributes }))
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn field(name: &str, field_type: &str) -> OdpField {
        OdpField {
            name: name.into(),
            display_name: None,
            field_type: field_type.into(),
            description: None,
        }
    }

    #[test]
    fn the_schema_must_have_the_identifier_and_the_field() {
        let schema = [
            field("fs_user_id", "identifier"),
            field("email", "identifier"),
            field("in_beta", "boolean"),
            field("tier", "text"),
            field("blob", "json"),
        ];
        assert!(matches!(
            judge_schema(&schema, "fs_user_id", "in_beta"),
            Schema::Ready(FieldType::Boolean)
        ));
        assert!(matches!(
            judge_schema(&schema, "fs_user_id", "tier"),
            Schema::Ready(FieldType::Text)
        ));
        let Schema::Unusable(m) = judge_schema(&schema, "vuid", "in_beta") else {
            panic!("vuid is not an identifier here");
        };
        assert!(m.contains("fs_user_id, email"), "{m}");
        let Schema::Unusable(m) = judge_schema(&schema, "fs_user_id", "missing") else {
            panic!("no such field");
        };
        assert!(m.contains("--create-fields"), "{m}");
        let Schema::Unusable(m) = judge_schema(&schema, "fs_user_id", "blob") else {
            panic!("json is not writable");
        };
        assert!(m.contains("type json"), "{m}");
    }
}
