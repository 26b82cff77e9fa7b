//! The fake's data: projects, tokens, the four object kinds and environments, with their
//! defaults, plus the ODP account (`odp/`).
//!
//! Records are typed; their JSON field names are the API's own, so a record serialises to
//! what `GET /v2/...` returns (the per-endpoint views live next to each record). Ids are
//! 11-digit `i64`s handed out from one counter shared by every kind, skipping ids a seed
//! already used; environments count from their own range so that seeding them does not move
//! the ids later creates get. Timestamps are RFC 3339 UTC with microseconds, like the real
//! API.

use crate::rate_limit::Product;
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value, json};
use std::collections::{BTreeMap, BTreeSet};

/// First id the fake hands out; 11 digits like real entity ids.
const FIRST_ID: i64 = 27_000_000_001;
/// First environment id the fake hands out.
const FIRST_ENVIRONMENT_ID: i64 = 28_000_000_001;
/// Datafile ids are the environment id plus this: 16 digits, like real ones
/// (docs/OPTIMIZELY-API.md#conventions).
const DATAFILE_ID_BASE: i64 = 1_000_000_000_000_000;
/// `account_id` of projects that do not name one.
pub(crate) const DEFAULT_ACCOUNT_ID: i64 = 12_345_678_901;

/// The current time the way the API writes it: `2023-12-07T16:45:05.331128Z`.
pub(crate) fn now_timestamp() -> String {
    chrono::Utc::now()
        .format("%Y-%m-%dT%H:%M:%S%.6fZ")
        .to_string()
}

/// A project (`GET /v2/projects/{id}`). Fields the fake does not use are kept in `extra`
/// and returned as given.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub(crate) struct Project {
    #[serde(default)]
    pub(crate) id: i64,
    #[serde(default)]
    pub(crate) account_id: i64,
    #[serde(default)]
    pub(crate) name: String,
    #[serde(default)]
    pub(crate) description: String,
    #[serde(default = "default_platform")]
    pub(crate) platform: String,
    #[serde(default)]
    pub(crate) is_flags_enabled: bool,
    #[serde(default)]
    pub(crate) is_classic: bool,
    #[serde(default = "default_status")]
    pub(crate) status: String,
    #[serde(default = "default_confidence")]
    pub(crate) confidence_threshold: f64,
    #[serde(default)]
    pub(crate) sdks: Vec<String>,
    #[serde(default)]
    pub(crate) created: String,
    #[serde(default)]
    pub(crate) last_modified: String,
    #[serde(flatten)]
    pub(crate) extra: Map<String, Value>,
}

fn default_platform() -> String {
    "web".to_owned()
}
fn default_status() -> String {
    "active".to_owned()
}
fn default_confidence() -> f64 {
    0.9
}

impl Project {
    /// Web when `platform` is `web`; everything else is handled as Feature Experimentation.
    pub(crate) fn product(&self) -> Product {
        if self.platform == "web" {
            Product::Web
        } else {
            Product::FeatureExperimentation
        }
    }
}

/// A custom attribute.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub(crate) struct Attribute {
    #[serde(default)]
    pub(crate) id: i64,
    pub(crate) project_id: i64,
    pub(crate) key: String,
    #[serde(default)]
    pub(crate) name: Option<String>,
    #[serde(default)]
    pub(crate) description: String,
    #[serde(default)]
    pub(crate) archived: bool,
    #[serde(default = "default_condition_type")]
    pub(crate) condition_type: String,
    #[serde(default)]
    pub(crate) last_modified: String,
}

fn default_condition_type() -> String {
    "custom_attribute".to_owned()
}

/// An audience; `conditions` is stored re-serialised (see `conditions.rs`).
///
/// INFERRED: an audience created without `conditions` has none and reads answer `null`.
/// The spec gives no default, and the grammar has no tree for "no restriction" (`["and"]`
/// is not one: an operator needs an operand), so there is nothing valid to invent.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub(crate) struct Audience {
    #[serde(default)]
    pub(crate) id: i64,
    pub(crate) project_id: i64,
    #[serde(default)]
    pub(crate) name: String,
    #[serde(default)]
    pub(crate) description: String,
    #[serde(default)]
    pub(crate) conditions: Option<String>,
    #[serde(default)]
    pub(crate) archived: bool,
    #[serde(default)]
    pub(crate) segmentation: bool,
    #[serde(default)]
    pub(crate) is_classic: bool,
    #[serde(default)]
    pub(crate) experiment_count: i64,
    #[serde(default)]
    pub(crate) created: String,
    #[serde(default)]
    pub(crate) last_modified: String,
}

/// An event of any kind (custom, click, pageview, classic ...).
#[derive(Clone, Debug, Serialize, Deserialize)]
pub(crate) struct Event {
    #[serde(default)]
    pub(crate) id: i64,
    pub(crate) project_id: i64,
    pub(crate) key: String,
    #[serde(default)]
    pub(crate) name: Option<String>,
    #[serde(default)]
    pub(crate) description: String,
    #[serde(default = "default_category")]
    pub(crate) category: String,
    #[serde(default = "default_event_type")]
    pub(crate) event_type: String,
    #[serde(default)]
    pub(crate) archived: bool,
    #[serde(default)]
    pub(crate) is_classic: bool,
    #[serde(default = "default_true")]
    pub(crate) is_editable: bool,
    #[serde(default)]
    pub(crate) created: String,
    #[serde(default)]
    pub(crate) last_modified: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(crate) event_properties: Option<Vec<Value>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(crate) page_id: Option<i64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(crate) config: Option<Value>,
}

fn default_category() -> String {
    "other".to_owned()
}
fn default_event_type() -> String {
    "custom".to_owned()
}
fn default_true() -> bool {
    true
}

/// A list attribute (Web only). `list_content` is kept whole, as last sent.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub(crate) struct ListAttribute {
    #[serde(default)]
    pub(crate) id: i64,
    pub(crate) project_id: i64,
    #[serde(default)]
    pub(crate) account_id: i64,
    pub(crate) name: String,
    #[serde(default)]
    pub(crate) description: String,
    pub(crate) key_field: String,
    #[serde(default = "default_list_type")]
    pub(crate) list_type: String,
    #[serde(default)]
    pub(crate) list_content: String,
    #[serde(default)]
    pub(crate) archived: bool,
    #[serde(default)]
    pub(crate) created: String,
    #[serde(default)]
    pub(crate) last_modified: String,
}

fn default_list_type() -> String {
    "cookies".to_owned()
}

/// An environment of a project (`GET /v2/environments`), with its datafile's metadata.
///
/// Seeds give `project_id` and `key`; `name` defaults to the key in title case, `sdk_key`
/// (22 letters and digits, docs/OPTIMIZELY-API.md#token-kinds) and the 16-digit datafile id
/// are derived from the environment id, `revision` starts at 1.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub(crate) struct Environment {
    #[serde(default)]
    pub(crate) id: i64,
    pub(crate) project_id: i64,
    pub(crate) key: String,
    #[serde(default)]
    pub(crate) name: String,
    #[serde(default)]
    pub(crate) description: String,
    #[serde(default)]
    pub(crate) archived: bool,
    #[serde(default)]
    pub(crate) has_restricted_permissions: bool,
    #[serde(default)]
    pub(crate) is_primary: bool,
    #[serde(default)]
    pub(crate) priority: i64,
    #[serde(default)]
    pub(crate) created: String,
    #[serde(default)]
    pub(crate) last_modified: String,
    #[serde(default)]
    pub(crate) sdk_key: String,
    #[serde(default)]
    pub(crate) datafile_id: i64,
    #[serde(default = "first_revision")]
    pub(crate) revision: i64,
}

fn first_revision() -> i64 {
    1
}

impl Environment {
    /// Fills what a seed may leave out, once `id` is set.
    pub(crate) fn fill_defaults(&mut self, now: &str) {
        if self.name.is_empty() {
            self.name = title_case(&self.key);
        }
        if self.sdk_key.is_empty() {
            self.sdk_key = sdk_key(self.id);
        }
        if self.datafile_id <= 0 {
            self.datafile_id = DATAFILE_ID_BASE + self.id;
        }
        if self.created.is_empty() {
            self.created = now.to_owned();
        }
        if self.last_modified.is_empty() {
            self.last_modified = now.to_owned();
        }
    }

    /// Where the CDN serves the datafile.
    pub(crate) fn datafile_url(&self) -> String {
        format!("https://cdn.optimizely.com/datafiles/{}.json", self.sdk_key)
    }
}

fn title_case(key: &str) -> String {
    key.split(['_', '-', ' '])
        .filter(|w| !w.is_empty())
        .map(|word| {
            let mut chars = word.chars();
            chars.next().map_or_else(String::new, |first| {
                first.to_uppercase().collect::<String>() + chars.as_str()
            })
        })
        .collect::<Vec<_>>()
        .join(" ")
}

/// A 22-character SDK key of letters and digits, fixed by the environment id (so runs are
/// reproducible) and different for every id.
fn sdk_key(id: i64) -> String {
    // splitmix64: a bijection on u64, so distinct ids give distinct keys.
    fn mix(mut z: u64) -> u64 {
        z = z.wrapping_add(0x9E37_79B9_7F4A_7C15);
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }
    const ALPHABET: &[u8] = b"0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz";
    let id = id.unsigned_abs();
    let mut n = (u128::from(mix(id)) << 64) | u128::from(mix(!id));
    (0..22)
        .map(|_| {
            let digit = (n % 62) as usize;
            n /= 62;
            char::from(ALPHABET[digit])
        })
        .collect()
}

fn to_object<T: Serialize>(record: &T) -> Map<String, Value> {
    match serde_json::to_value(record) {
        Ok(Value::Object(map)) => map,
        // Records are plain structs of strings, numbers and booleans: always an object.
        _ => Map::new(),
    }
}

/// An object as the API answers it.
pub(crate) trait View {
    fn view(&self) -> Value;
}

impl View for Project {
    fn view(&self) -> Value {
        Value::Object(to_object(self))
    }
}

impl View for Attribute {
    fn view(&self) -> Value {
        let mut map = to_object(self);
        if self.name.is_none() {
            map.insert("name".into(), Value::String(self.key.clone()));
        }
        Value::Object(map)
    }
}

impl View for Audience {
    fn view(&self) -> Value {
        Value::Object(to_object(self))
    }
}

impl View for Event {
    /// The generic `Event` shape of `GET /events` and `GET /events/{id}`.
    fn view(&self) -> Value {
        let mut map = to_object(self);
        map.insert(
            "name".into(),
            Value::String(self.name.clone().unwrap_or_else(|| self.key.clone())),
        );
        Value::Object(map)
    }
}

impl Event {
    /// The `CustomEvent` shape answered by create and update: the fields the real server
    /// was seen returning (no `last_modified`, no `is_editable`).
    pub(crate) fn custom_view(&self) -> Value {
        let mut map = match self.view() {
            Value::Object(map) => map,
            _ => Map::new(),
        };
        map.remove("last_modified");
        map.remove("is_editable");
        map.remove("page_id");
        map.remove("config");
        Value::Object(map)
    }
}

impl View for ListAttribute {
    fn view(&self) -> Value {
        let mut map = to_object(self);
        // Read-only upload details. Placeholders that cannot be mistaken for credentials.
        map.insert(
            "aws_access_key".into(),
            json!("FAKE-ACCESS-KEY-PLACEHOLDER"),
        );
        map.insert(
            "aws_secret_key".into(),
            json!("fake-secret-key-placeholder"),
        );
        map.insert(
            "s3_path".into(),
            json!(format!(
                "s3://fake-optimizely-list-uploads/{}/{}/",
                self.account_id, self.id
            )),
        );
        Value::Object(map)
    }
}

impl View for Environment {
    /// The `Environment` shape of the spec, with its `Datafile` (`latest_file_size` is added
    /// by the endpoint, which builds the datafile).
    fn view(&self) -> Value {
        json!({
            "id": self.id,
            "project_id": self.project_id,
            "key": self.key,
            "name": self.name,
            "description": self.description,
            "archived": self.archived,
            "has_restricted_permissions": self.has_restricted_permissions,
            "is_primary": self.is_primary,
            "priority": self.priority,
            "created": self.created,
            "last_modified": self.last_modified,
            "datafile": {
                "id": self.datafile_id,
                "sdk_key": self.sdk_key,
                "url": self.datafile_url(),
                "other_urls": [],
                "revision": self.revision,
            },
        })
    }
}

/// What the four object kinds (attributes, audiences, events, list attributes) share in
/// storage, so that finding, listing and archiving are written once for all of them.
pub(crate) trait Stored: View + Sized {
    /// The kind as error messages name it: `attribute`, `list attribute`, ...
    const NOUN: &'static str;
    fn table(store: &Store) -> &BTreeMap<i64, Self>;
    fn table_mut(store: &mut Store) -> &mut BTreeMap<i64, Self>;
    fn id(&self) -> i64;
    fn project_id(&self) -> i64;
    /// Marks the object archived, now.
    fn archive(&mut self);
}

/// A kind whose natural key is unique per project, archived objects included (docs/OPTIMIZELY-API.md#duplicates-and-uniqueness).
pub(crate) trait Unique: Stored {
    /// How a clash is worded, before `'key' already exists in project N`.
    const CLASH: &'static str;
    fn natural_key(&self) -> &str;
}

/// Implements [`Stored`] (and [`Unique`], given the key field) for a record with the usual
/// `id`, `project_id`, `archived` and `last_modified` fields kept in `Store::$table`.
macro_rules! stored {
    ($kind:ty, $table:ident, $noun:literal) => {
        impl Stored for $kind {
            const NOUN: &'static str = $noun;
            fn table(store: &Store) -> &BTreeMap<i64, Self> {
                &store.$table
            }
            fn table_mut(store: &mut Store) -> &mut BTreeMap<i64, Self> {
                &mut store.$table
            }
            fn id(&self) -> i64 {
                self.id
            }
            fn project_id(&self) -> i64 {
                self.project_id
            }
            fn archive(&mut self) {
                self.archived = true;
                self.last_modified = now_timestamp();
            }
        }
    };
    ($kind:ty, $table:ident, $noun:literal, unique $key:ident, $clash:literal) => {
        stored!($kind, $table, $noun);
        impl Unique for $kind {
            const CLASH: &'static str = $clash;
            fn natural_key(&self) -> &str {
                &self.$key
            }
        }
    };
}

stored!(Attribute, attributes, "attribute", unique key, "an attribute with key");
stored!(Audience, audiences, "audience");
stored!(Environment, environments, "environment");
stored!(Event, events, "event", unique key, "an event with key");
stored!(
    ListAttribute,
    list_attributes,
    "list attribute",
    unique name,
    "a list attribute named"
);

/// Everything the fake knows. Maps are keyed by id, so listings come out in id order.
#[derive(Clone, Debug, Default)]
pub(crate) struct Store {
    pub(crate) tokens: BTreeMap<String, BTreeSet<i64>>,
    pub(crate) projects: BTreeMap<i64, Project>,
    pub(crate) attributes: BTreeMap<i64, Attribute>,
    pub(crate) audiences: BTreeMap<i64, Audience>,
    pub(crate) events: BTreeMap<i64, Event>,
    pub(crate) list_attributes: BTreeMap<i64, ListAttribute>,
    pub(crate) environments: BTreeMap<i64, Environment>,
    /// The ODP account, once a seed made one.
    pub(crate) odp: Option<crate::odp::OdpAccount>,
    next_id: i64,
    next_environment_id: i64,
}

impl Store {
    fn id_in_use(&self, id: i64) -> bool {
        self.projects.contains_key(&id)
            || self.attributes.contains_key(&id)
            || self.audiences.contains_key(&id)
            || self.events.contains_key(&id)
            || self.list_attributes.contains_key(&id)
            || self.environments.contains_key(&id)
    }

    /// A fresh 11-digit id, unique across every kind.
    pub(crate) fn allocate_id(&mut self) -> i64 {
        if self.next_id < FIRST_ID {
            self.next_id = FIRST_ID;
        }
        while self.id_in_use(self.next_id) {
            self.next_id += 1;
        }
        let id = self.next_id;
        self.next_id += 1;
        id
    }

    /// A fresh environment id, unique across every kind.
    pub(crate) fn allocate_environment_id(&mut self) -> i64 {
        if self.next_environment_id < FIRST_ENVIRONMENT_ID {
            self.next_environment_id = FIRST_ENVIRONMENT_ID;
        }
        while self.id_in_use(self.next_environment_id) {
            self.next_environment_id += 1;
        }
        let id = self.next_environment_id;
        self.next_environment_id += 1;
        id
    }

    /// Whether `token` is known (accepted at all).
    pub(crate) fn knows_token(&self, token: &str) -> bool {
        self.tokens.contains_key(token)
    }

    /// Whether `token` may use project `project_id`.
    pub(crate) fn can_access(&self, token: &str, project_id: i64) -> bool {
        self.tokens
            .get(token)
            .is_some_and(|projects| projects.contains(&project_id))
    }

    /// The product of a project, if the project exists.
    pub(crate) fn product_of(&self, project_id: i64) -> Option<Product> {
        self.projects.get(&project_id).map(Project::product)
    }

    /// Unarchived attributes of a project (the Feature Experimentation cap counts these).
    pub(crate) fn unarchived_attributes(&self, project_id: i64) -> usize {
        self.attributes
            .values()
            .filter(|a| a.project_id == project_id && !a.archived)
            .count()
    }

    /// Every object as JSON, list content included, tokens redacted to their last 4 chars.
    pub(crate) fn snapshot(&self) -> Value {
        let tokens: Vec<Value> = self
            .tokens
            .iter()
            .map(|(token, ids)| json!({"token": redact(token), "project_ids": ids}))
            .collect();
        json!({
            "tokens": tokens,
            "projects": self.projects.values().map(Project::view).collect::<Vec<_>>(),
            "attributes": self.attributes.values().map(Attribute::view).collect::<Vec<_>>(),
            "audiences": self.audiences.values().map(Audience::view).collect::<Vec<_>>(),
            "events": self.events.values().map(Event::view).collect::<Vec<_>>(),
            "list_attributes": self.list_attributes.values().map(ListAttribute::view).collect::<Vec<_>>(),
            "environments": self.environments.values().map(Environment::view).collect::<Vec<_>>(),
            "odp": self.odp.as_ref().map(crate::odp::OdpAccount::snapshot),
        })
    }
}

/// The last four characters of a token, for logs and the admin API.
pub(crate) fn last4(token: &str) -> String {
    let chars: Vec<char> = token.chars().collect();
    chars[chars.len().saturating_sub(4)..].iter().collect()
}

/// A token as shown by the admin API: `****` then its last four characters.
pub(crate) fn redact(token: &str) -> String {
    format!("****{}", last4(token))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_skip_used_ones_and_have_eleven_digits() {
        let mut store = Store::default();
        store.projects.insert(
            FIRST_ID,
            serde_json::from_value(json!({"id": FIRST_ID})).unwrap(),
        );
        let id = store.allocate_id();
        assert_eq!(id, FIRST_ID + 1);
        assert_eq!(id.to_string().len(), 11);
        assert_eq!(store.allocate_id(), FIRST_ID + 2);
    }

    #[test]
    fn sdk_keys_are_22_letters_and_digits_and_differ() {
        let a = sdk_key(28_000_000_001);
        let b = sdk_key(28_000_000_002);
        assert_eq!(a.len(), 22);
        assert!(a.chars().all(|c| c.is_ascii_alphanumeric()), "{a}");
        assert_ne!(a, b);
        assert_eq!(a, sdk_key(28_000_000_001));
    }

    #[test]
    fn timestamps_have_microseconds() {
        let ts = now_timestamp();
        let re = regex::Regex::new(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{6}Z$").unwrap();
        assert!(re.is_match(&ts), "{ts}");
    }

    #[test]
    fn redaction_keeps_last_four() {
        assert_eq!(redact("2:abcdefgh"), "****efgh");
        assert_eq!(last4("ab"), "ab");
    }
}
