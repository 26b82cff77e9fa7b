//! ODP's schema: objects and their fields, identifiers, and the `/v3/schema/**` endpoints
//! (docs/ODP-API.md §4, §10.6).
//!
//! The account starts with two objects: `customers`, holding the default customer fields
//! (`first_name` … `image_url`, all text) and one field of type `identifier` per seeded
//! identifier (`email`, `vuid`, `fs_user_id` unless the seed says otherwise), and `events`
//! (`event_type`, `action`, `ts`, and `event_<identifier>` per identifier). Fields can be
//! added, never changed or removed (§4: "Fields cannot be deleted or renamed").
//!
//! INFERRED (§10.6): the events object's fields; 404 bodies (`detail.message`); the reasons of
//! refused creates other than "already used by another field"; that a field or identifier
//! name may be of any length; that field reads show `auto: false` and `created_by: "account"`
//! for fields made through the API, `zaius` for the defaults.

use super::response::{OdpAnswer, Reply};
use serde_json::{Map, Value, json};
use std::sync::LazyLock;

/// The default customer fields (docs/ODP-API.md §4), all text.
const DEFAULT_CUSTOMER_FIELDS: [(&str, &str); 12] = [
    ("first_name", "First Name"),
    ("last_name", "Last Name"),
    ("gender", "Gender"),
    ("timezone", "Timezone"),
    ("phone", "Phone"),
    ("street1", "Street 1"),
    ("street2", "Street 2"),
    ("city", "City"),
    ("state", "State"),
    ("zip", "Zip"),
    ("country", "Country"),
    ("image_url", "Image URL"),
];

/// The identifiers of a new account (docs/ODP-API.md §10.6).
pub(crate) const DEFAULT_IDENTIFIERS: [&str; 3] = ["email", "vuid", "fs_user_id"];

/// Endings an identifier name must have, with the display-name word that goes with each
/// (docs/ODP-API.md §4).
const IDENTIFIER_SUFFIXES: [(&str, &str); 7] = [
    ("_id", "ID"),
    ("_hash", "Hash"),
    ("_number", "Number"),
    ("_token", "Token"),
    ("_alias", "Alias"),
    ("_address", "Address"),
    ("_key", "Key"),
];

static FIELD_NAME: LazyLock<regex::Regex> = LazyLock::new(|| {
    regex::Regex::new("^[a-z][a-z0-9_]*$").expect("a constant, valid regular expression")
});

/// Whether `name` is a valid field (or segment) name: lower snake case, starting with a
/// letter (docs/ODP-API.md §4).
pub(crate) fn valid_name(name: &str) -> bool {
    FIELD_NAME.is_match(name)
}

/// The type of a field.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum FieldType {
    String,
    Number,
    Boolean,
    Timestamp,
    Identifier,
}

impl FieldType {
    /// The types a field can be created with (docs/ODP-API.md §4; `text` is the 2019 name
    /// of `string`).
    pub(crate) fn parse_creatable(raw: &str) -> Option<Self> {
        match raw {
            "string" | "text" => Some(Self::String),
            "number" => Some(Self::Number),
            "boolean" => Some(Self::Boolean),
            "timestamp" => Some(Self::Timestamp),
            _ => None,
        }
    }

    pub(crate) fn as_str(self) -> &'static str {
        match self {
            Self::String => "string",
            Self::Number => "number",
            Self::Boolean => "boolean",
            Self::Timestamp => "timestamp",
            Self::Identifier => "identifier",
        }
    }
}

/// One field of an object.
#[derive(Clone, Debug, PartialEq)]
pub(crate) struct Field {
    pub(crate) name: String,
    pub(crate) display_name: String,
    pub(crate) kind: FieldType,
    pub(crate) description: String,
    /// Made by ODP (`zaius`) rather than by the account.
    pub(crate) built_in: bool,
}

impl Field {
    fn built_in(name: &str, display_name: &str, kind: FieldType) -> Self {
        Self {
            name: name.to_owned(),
            display_name: display_name.to_owned(),
            kind,
            description: String::new(),
            built_in: true,
        }
    }

    /// The field as `GET …/fields` answers it.
    pub(crate) fn view(&self) -> Value {
        json!({
            "name": self.name,
            "display_name": self.display_name,
            "type": self.kind.as_str(),
            "description": self.description,
            "public_read": false,
            "primary": false,
            "auto": false,
            "created_by": if self.built_in { "zaius" } else { "account" },
        })
    }
}

/// One object (`customers`, `events`).
#[derive(Clone, Debug, PartialEq)]
pub(crate) struct Object {
    pub(crate) name: String,
    pub(crate) display_name: String,
    pub(crate) alias: String,
    pub(crate) fields: Vec<Field>,
}

impl Object {
    fn view(&self) -> Value {
        json!({
            "name": self.name,
            "display_name": self.display_name,
            "alias": self.alias,
            "public_read": false,
            "fields": self.fields.iter().map(Field::view).collect::<Vec<_>>(),
            "relations": [],
        })
    }

    pub(crate) fn field(&self, name: &str) -> Option<&Field> {
        self.fields.iter().find(|f| f.name == name)
    }
}

/// The display name an identifier gets when the seed names none.
fn identifier_display_name(name: &str) -> String {
    match name {
        "email" => "Email".to_owned(),
        "vuid" => "VUID".to_owned(),
        "fs_user_id" => "FS User ID".to_owned(),
        _ => name
            .split('_')
            .map(
                |word| match IDENTIFIER_SUFFIXES.iter().find(|(s, _)| &s[1..] == word) {
                    Some((_, title)) => (*title).to_owned(),
                    None => {
                        let mut chars = word.chars();
                        chars.next().map_or_else(String::new, |first| {
                            first.to_uppercase().collect::<String>() + chars.as_str()
                        })
                    }
                },
            )
            .collect::<Vec<_>>()
            .join(" "),
    }
}

/// Every object of the account.
#[derive(Clone, Debug, PartialEq)]
pub(crate) struct Schema {
    objects: Vec<Object>,
}

impl Schema {
    /// A new account's schema with `identifiers` as its customer identifiers.
    pub(crate) fn new(identifiers: &[String]) -> Self {
        let mut customers = Object {
            name: "customers".to_owned(),
            display_name: "Customers".to_owned(),
            alias: "customer".to_owned(),
            fields: DEFAULT_CUSTOMER_FIELDS
                .iter()
                .map(|(name, display)| Field::built_in(name, display, FieldType::String))
                .collect(),
        };
        let mut events = Object {
            name: "events".to_owned(),
            display_name: "Events".to_owned(),
            alias: "event".to_owned(),
            fields: vec![
                Field::built_in("event_type", "Event Type", FieldType::String),
                Field::built_in("action", "Action", FieldType::String),
                Field::built_in("ts", "Timestamp", FieldType::Timestamp),
            ],
        };
        for name in identifiers {
            let display = identifier_display_name(name);
            customers
                .fields
                .push(Field::built_in(name, &display, FieldType::Identifier));
            events.fields.push(Field::built_in(
                &format!("event_{name}"),
                &format!("Event {display}"),
                FieldType::Identifier,
            ));
        }
        Self {
            objects: vec![customers, events],
        }
    }

    pub(crate) fn object(&self, name: &str) -> Option<&Object> {
        self.objects.iter().find(|o| o.name == name)
    }

    fn object_mut(&mut self, name: &str) -> Option<&mut Object> {
        self.objects.iter_mut().find(|o| o.name == name)
    }

    /// The `customers` field `name`, if it exists.
    pub(crate) fn customer_field(&self, name: &str) -> Option<&Field> {
        self.object("customers")?.field(name)
    }

    /// Whether `name` is a customer identifier.
    pub(crate) fn is_identifier(&self, name: &str) -> bool {
        self.customer_field(name)
            .is_some_and(|f| f.kind == FieldType::Identifier)
    }

    /// The customer identifiers, in schema order.
    pub(crate) fn identifiers(&self) -> Vec<&str> {
        self.object("customers")
            .map(|o| {
                o.fields
                    .iter()
                    .filter(|f| f.kind == FieldType::Identifier)
                    .map(|f| f.name.as_str())
                    .collect()
            })
            .unwrap_or_default()
    }

    /// Adds (or, for a seed, replaces) a customer field; identifiers cannot be replaced.
    pub(crate) fn seed_customer_field(&mut self, field: Field) -> Result<(), String> {
        let Some(customers) = self.object_mut("customers") else {
            return Err("the account has no customers object".to_owned());
        };
        match customers.fields.iter_mut().find(|f| f.name == field.name) {
            Some(existing) if existing.kind == FieldType::Identifier => Err(format!(
                "{} is an identifier and cannot become a field",
                field.name
            )),
            Some(existing) => {
                *existing = field;
                Ok(())
            }
            None => {
                customers.fields.push(field);
                Ok(())
            }
        }
    }

    /// Adds identifier `name` to customers and events, unless customers has it already.
    pub(crate) fn seed_identifier(&mut self, name: &str, display_name: Option<&str>) {
        if self.customer_field(name).is_some() {
            return;
        }
        let display = display_name.map_or_else(|| identifier_display_name(name), str::to_owned);
        self.push_identifier(name, &display, &display);
    }

    fn push_identifier(&mut self, name: &str, customer_display: &str, display: &str) {
        if let Some(customers) = self.object_mut("customers") {
            customers.fields.push(Field {
                built_in: false,
                ..Field::built_in(name, customer_display, FieldType::Identifier)
            });
        }
        if let Some(events) = self.object_mut("events") {
            events.fields.push(Field {
                built_in: false,
                ..Field::built_in(
                    &format!("event_{name}"),
                    &format!("Event {display}"),
                    FieldType::Identifier,
                )
            });
        }
    }
}

/// `GET /v3/schema/objects`.
pub(super) fn list_objects(schema: &Schema) -> Reply {
    Ok(OdpAnswer::ok(Value::Array(
        schema.objects.iter().map(Object::view).collect(),
    )))
}

fn found_object<'s>(schema: &'s Schema, name: &str) -> Result<&'s Object, OdpAnswer> {
    schema
        .object(name)
        .ok_or_else(|| OdpAnswer::not_found(format!("Object {name} not found")))
}

/// `GET /v3/schema/objects/{object}`.
pub(super) fn get_object(schema: &Schema, object: &str) -> Reply {
    Ok(OdpAnswer::ok(found_object(schema, object)?.view()))
}

/// `GET /v3/schema/objects/{object}/fields`.
pub(super) fn list_fields(schema: &Schema, object: &str) -> Reply {
    let object = found_object(schema, object)?;
    Ok(OdpAnswer::ok(Value::Array(
        object.fields.iter().map(Field::view).collect(),
    )))
}

/// `GET /v3/schema/objects/{object}/fields/{field}`.
pub(super) fn get_field(schema: &Schema, object: &str, field: &str) -> Reply {
    let found = found_object(schema, object)?;
    match found.field(field) {
        Some(f) => Ok(OdpAnswer::ok(f.view())),
        None => Err(OdpAnswer::not_found(format!(
            "Field {field} not found on object {object}"
        ))),
    }
}

/// The body as a JSON object, or the 400 a schema call answers for it.
fn object_body(body: &[u8]) -> Result<Map<String, Value>, OdpAnswer> {
    match serde_json::from_slice::<Value>(body) {
        Ok(Value::Object(map)) => Ok(map),
        Ok(_) => Err(OdpAnswer::invalid_field("body", "must be a JSON object")),
        Err(e) => Err(OdpAnswer::detail(
            http::StatusCode::BAD_REQUEST,
            format!("Unable to parse request body: {e}"),
        )),
    }
}

/// A required string property of a create body; pushes the refusal when absent.
fn required_str<'b>(
    body: &'b Map<String, Value>,
    name: &str,
    invalids: &mut Vec<Value>,
) -> Option<&'b str> {
    match body.get(name) {
        Some(Value::String(s)) if !s.trim().is_empty() => Some(s),
        Some(Value::String(_)) | None | Some(Value::Null) => {
            invalids.push(json!({"field": name, "reason": "is required"}));
            None
        }
        Some(_) => {
            invalids.push(json!({"field": name, "reason": "must be a string"}));
            None
        }
    }
}

/// `POST /v3/schema/objects/{object}/fields`: 200 with the created field, or 400 with every
/// reason at once.
pub(super) fn create_field(schema: &mut Schema, object: &str, body: &[u8]) -> Reply {
    let found = found_object(schema, object)?;
    let body = object_body(body)?;
    let mut invalids = Vec::new();
    let name = required_str(&body, "name", &mut invalids);
    let display_name = required_str(&body, "display_name", &mut invalids);
    let kind = match required_str(&body, "type", &mut invalids) {
        Some(raw) => {
            let kind = FieldType::parse_creatable(raw);
            if kind.is_none() {
                invalids.push(json!({
                    "field": "type",
                    "reason": "must be one of number, timestamp, string, boolean",
                }));
            }
            kind
        }
        None => None,
    };
    let description = match body.get("description") {
        None | Some(Value::Null) => String::new(),
        Some(Value::String(s)) => s.clone(),
        Some(_) => {
            invalids.push(json!({"field": "description", "reason": "must be a string"}));
            String::new()
        }
    };
    if let Some(name) = name {
        if !valid_name(name) {
            invalids.push(json!({
                "field": "name",
                "reason": "must start with a lowercase letter and contain only lowercase letters, digits and underscores",
            }));
        } else if found.field(name).is_some() {
            invalids.push(json!({"field": "name", "reason": "already used by another field"}));
        }
    }
    if let Some(display_name) = display_name
        && found.fields.iter().any(|f| f.display_name == display_name)
    {
        invalids.push(json!({"field": "display_name", "reason": "already used by another field"}));
    }
    let (Some(name), Some(display_name), Some(kind), true) =
        (name, display_name, kind, invalids.is_empty())
    else {
        return Err(OdpAnswer::invalids(invalids));
    };
    let field = Field {
        name: name.to_owned(),
        display_name: display_name.to_owned(),
        kind,
        description,
        built_in: false,
    };
    let answer = json!({
        "name": field.name,
        "display_name": field.display_name,
        "description": field.description,
        "type": field.kind.as_str(),
    });
    if let Some(target) = schema.object_mut(object) {
        target.fields.push(field);
    }
    Ok(OdpAnswer::ok(answer))
}

/// `POST /v3/schema/identifiers`: 201 `{"events":[…],"customers":[…]}`, or 400.
pub(super) fn create_identifier(schema: &mut Schema, body: &[u8]) -> Reply {
    let body = object_body(body)?;
    let mut invalids = Vec::new();
    let name = required_str(&body, "name", &mut invalids);
    let display_name = required_str(&body, "display_name", &mut invalids);
    match body.get("merge_confidence").and_then(Value::as_str) {
        Some("high" | "low") => {}
        Some(_) => invalids
            .push(json!({"field": "merge_confidence", "reason": "must be one of high, low"})),
        None => invalids.push(json!({"field": "merge_confidence", "reason": "is required"})),
    }
    if body.get("messaging").is_some_and(|m| !m.is_boolean()) {
        invalids.push(json!({"field": "messaging", "reason": "must be a boolean"}));
    }
    let suffixes = IDENTIFIER_SUFFIXES
        .iter()
        .map(|(s, _)| *s)
        .collect::<Vec<_>>()
        .join(", ");
    let words = IDENTIFIER_SUFFIXES
        .iter()
        .map(|(_, w)| *w)
        .collect::<Vec<_>>()
        .join(", ");
    if let Some(name) = name {
        if !valid_name(name) {
            invalids.push(json!({
                "field": "name",
                "reason": "must start with a lowercase letter and contain only lowercase letters, digits and underscores",
            }));
        } else if !IDENTIFIER_SUFFIXES.iter().any(|(s, _)| name.ends_with(s)) {
            invalids.push(
                json!({"field": "name", "reason": format!("must end with one of {suffixes}")}),
            );
        } else if schema.customer_field(name).is_some() {
            invalids.push(
                json!({"field": "customers.name", "reason": "already used by another field"}),
            );
        }
    }
    if let Some(display_name) = display_name {
        let customer_display = format!("Last Seen {display_name}");
        if !IDENTIFIER_SUFFIXES
            .iter()
            .any(|(_, w)| display_name.ends_with(&format!(" {w}")) || display_name == *w)
        {
            invalids.push(
                json!({"field": "display_name", "reason": format!("must end with one of {words}")}),
            );
        } else if schema
            .object("customers")
            .is_some_and(|c| c.fields.iter().any(|f| f.display_name == customer_display))
        {
            invalids.push(json!({"field": "customers.display_name", "reason": "already used by another field"}));
        }
    }
    let (Some(name), Some(display_name), true) = (name, display_name, invalids.is_empty()) else {
        return Err(OdpAnswer::invalids(invalids));
    };
    let customer_display = format!("Last Seen {display_name}");
    schema.push_identifier(name, &customer_display, display_name);
    Ok(OdpAnswer::json(
        http::StatusCode::CREATED,
        json!({
            "events": [{"name": format!("event_{name}"), "display_name": format!("Event {display_name}"), "type": "identifier"}],
            "customers": [{"name": name, "display_name": customer_display, "type": "identifier"}],
        }),
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn schema() -> Schema {
        Schema::new(&DEFAULT_IDENTIFIERS.map(str::to_owned))
    }

    #[test]
    fn default_schema_has_customers_and_events_with_identifiers() {
        let s = schema();
        assert_eq!(s.identifiers(), ["email", "vuid", "fs_user_id"]);
        assert!(s.is_identifier("vuid"));
        assert!(!s.is_identifier("first_name"));
        assert!(
            s.object("events")
                .unwrap()
                .field("event_fs_user_id")
                .is_some()
        );
        let without = Schema::new(&["email".to_owned()]);
        assert!(!without.is_identifier("fs_user_id"));
    }

    #[test]
    fn create_field_collects_every_reason() {
        let mut s = schema();
        let r = create_field(
            &mut s,
            "customers",
            br#"{"name":"First","display_name":"First Name","type":"vector"}"#,
        )
        .unwrap_err();
        let reasons: Vec<&str> = r.body["detail"]["invalids"]
            .as_array()
            .unwrap()
            .iter()
            .map(|i| i["field"].as_str().unwrap())
            .collect();
        assert_eq!(reasons, ["type", "name", "display_name"]);
        let ok = create_field(
            &mut s,
            "customers",
            br#"{"name":"in_beta","display_name":"In Beta","type":"boolean"}"#,
        )
        .unwrap();
        assert_eq!(ok.body["type"], "boolean");
        assert_eq!(
            s.customer_field("in_beta").unwrap().kind,
            FieldType::Boolean
        );
    }

    #[test]
    fn identifier_display_names() {
        assert_eq!(
            identifier_display_name("loyalty_card_number"),
            "Loyalty Card Number"
        );
        assert_eq!(identifier_display_name("crm_id"), "Crm ID");
    }
}
