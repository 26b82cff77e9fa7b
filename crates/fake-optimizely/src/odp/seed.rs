//! The ODP part of a seed ([`OdpSeed`]) and how it is applied to the store.
//!
//! Applying merges, like the rest of a seed: the first ODP seed creates the account (its
//! schema from `identifiers`, default `email`, `vuid`, `fs_user_id`); later ones change the
//! settings they name (`Some`), add identifiers, fields (a field of the same name is
//! replaced), segments (same name replaced), profiles (upserted) and refused identifier values.

use super::OdpAccount;
use super::profiles::{Rules, check_item};
use super::schema::{DEFAULT_IDENTIFIERS, Field, FieldType, Schema};
use super::segments::OdpSegmentSeed;
use crate::error::SeedError;
use crate::store::Store;
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};
use std::time::Duration;

/// Public key of the ODP account a seed creates when it names none (22 characters, the
/// shape of a real one; docs/ODP-API.md §1).
pub const DEMO_ODP_PUBLIC_KEY: &str = "fake-odp-public-key-01";
/// Private key going with [`DEMO_ODP_PUBLIC_KEY`]: `<public key>.<secret>` (docs/ODP-API.md §1).
pub const DEMO_ODP_PRIVATE_KEY: &str = "fake-odp-public-key-01.fake-odp-private-secret";

/// The ODP account to load into the fake. JSON shape (every key optional):
///
/// ```json
/// {
///   "public_key": "fake-odp-public-key-01",
///   "private_key": "fake-odp-public-key-01.fake-odp-private-secret",
///   "host": "https://api.zaius.com",
///   "project_ids": [20000000002],
///   "identifiers": ["email", "vuid", "fs_user_id"],
///   "fields": [{"name": "in_beta", "display_name": "In Beta", "type": "boolean"}],
///   "segments": [{"name": "beta_users", "rule": {"equals": {"field": "in_beta", "value": true}}}],
///   "profiles": [{"fs_user_id": "user-1", "in_beta": true}],
///   "refused_identifiers": [{"field": "fs_user_id", "value": "user-13"}],
///   "strict": false,
///   "apply_delay_ms": 0
/// }
/// ```
///
/// Rate limits of the `/v3` routes are part of the seed's [`RateLimits`](crate::RateLimits)
/// (`odp_profiles_per_second`, `odp_graphql_per_second`, ...).
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct OdpSeed {
    /// The public key ("Tracker ID"); default [`DEMO_ODP_PUBLIC_KEY`] for a new account.
    pub public_key: Option<String>,
    /// The private key; default `<public key>.fake-odp-private-secret` for a new account or a
    /// new public key.
    pub private_key: Option<String>,
    /// The `host` the datafile's ODP integration names; default: the fake's own base URL
    /// (`http://HOST:PORT` of the datafile request).
    pub host: Option<String>,
    /// Projects whose datafiles list the ODP integration (others list none).
    pub project_ids: Vec<i64>,
    /// Customer identifiers. For a new account, exactly these (default `email`, `vuid`,
    /// `fs_user_id`; leave one out to test "an identifier the schema lacks"); for an existing
    /// account, ones to add.
    pub identifiers: Option<Vec<String>>,
    /// Customer fields to add (or replace), besides ODP's default ones.
    pub fields: Vec<OdpFieldSeed>,
    /// Segments to add (or replace).
    pub segments: Vec<OdpSegmentSeed>,
    /// Profiles to upsert, each an `attributes` map (identifiers inside), checked strictly.
    pub profiles: Vec<Map<String, Value>>,
    /// Identifier values whose items make `POST /v3/profiles` answer 400 (fault injection).
    pub refused_identifiers: Vec<RefusedIdentifier>,
    /// Refuse unknown fields and misfit values with a 400 instead of dropping them (default
    /// false, the lenient behaviour docs/ODP-API.md §10.4 infers).
    pub strict: Option<bool>,
    /// Apply accepted profile writes this many milliseconds (tokio clock) after the 202
    /// (default 0: at once).
    pub apply_delay_ms: Option<u64>,
}

/// A customer field to create.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct OdpFieldSeed {
    /// The field name, `[a-z][a-z0-9_]*`.
    pub name: String,
    /// Its display name; default the name in title case.
    #[serde(default)]
    pub display_name: Option<String>,
    /// `string` (or `text`), `number`, `boolean` or `timestamp`.
    #[serde(rename = "type")]
    pub field_type: String,
    /// Free text.
    #[serde(default)]
    pub description: String,
}

impl OdpFieldSeed {
    /// A field `name` of type `field_type` (`string`, `number`, `boolean`, `timestamp`).
    pub fn new(name: &str, field_type: &str) -> Self {
        Self {
            name: name.to_owned(),
            display_name: None,
            field_type: field_type.to_owned(),
            description: String::new(),
        }
    }
}

/// An identifier value `POST /v3/profiles` refuses: an item carrying it makes the request 400
/// with that item's index in `invalids` (fault injection; the real service's reasons to
/// refuse one item are unknown).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RefusedIdentifier {
    /// The identifier (`fs_user_id`, `email`, ...); absent: any identifier.
    #[serde(default)]
    pub field: Option<String>,
    /// The refused value.
    pub value: String,
}

impl RefusedIdentifier {
    /// Refuses `value` for identifier `field`.
    pub fn new(field: &str, value: &str) -> Self {
        Self {
            field: Some(field.to_owned()),
            value: value.to_owned(),
        }
    }

    pub(crate) fn matches(&self, field: &str, value: &str) -> bool {
        self.value == value && self.field.as_deref().is_none_or(|f| f == field)
    }
}

fn title_case(name: &str) -> String {
    name.split('_')
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

fn invalid(kind: &'static str, index: usize, message: impl Into<String>) -> SeedError {
    SeedError::InvalidObject {
        kind,
        index,
        message: message.into(),
    }
}

/// A customer field from its seed, checked.
pub(crate) fn field_from_seed(index: usize, seed: &OdpFieldSeed) -> Result<Field, SeedError> {
    if !super::schema::valid_name(&seed.name) {
        return Err(invalid(
            "odp.fields",
            index,
            format!("field name {:?} must match [a-z][a-z0-9_]*", seed.name),
        ));
    }
    let Some(kind) = FieldType::parse_creatable(&seed.field_type) else {
        return Err(invalid(
            "odp.fields",
            index,
            format!(
                "type {:?} must be one of string, number, boolean, timestamp",
                seed.field_type
            ),
        ));
    };
    Ok(Field {
        name: seed.name.clone(),
        display_name: seed
            .display_name
            .clone()
            .unwrap_or_else(|| title_case(&seed.name)),
        kind,
        description: seed.description.clone(),
        built_in: false,
    })
}

/// Merges `seed` into `store`'s ODP account (creating it first if need be). The caller
/// applies the whole seed to a copy of the store, so an error leaves nothing behind.
pub(crate) fn apply(store: &mut Store, seed: &OdpSeed) -> Result<(), SeedError> {
    for (index, id) in seed.project_ids.iter().enumerate() {
        if !store.projects.contains_key(id) {
            return Err(SeedError::UnknownProject {
                kind: "odp.project_ids",
                index,
                project_id: *id,
            });
        }
    }
    let identifiers = seed.identifiers.clone();
    for (index, name) in identifiers.iter().flatten().enumerate() {
        if !super::schema::valid_name(name) {
            return Err(invalid(
                "odp.identifiers",
                index,
                format!("identifier name {name:?} must match [a-z][a-z0-9_]*"),
            ));
        }
    }
    let account = match &mut store.odp {
        Some(account) => {
            for name in identifiers.iter().flatten() {
                account.schema.seed_identifier(name, None);
            }
            account
        }
        None => {
            let names =
                identifiers.unwrap_or_else(|| DEFAULT_IDENTIFIERS.map(str::to_owned).to_vec());
            store.odp.insert(OdpAccount::new(Schema::new(&names)))
        }
    };
    if let Some(public) = &seed.public_key {
        if public.trim().is_empty() {
            return Err(invalid("odp.public_key", 0, "the public key is empty"));
        }
        if *public != account.public_key {
            account.public_key = public.clone();
            account.private_key = format!("{public}.fake-odp-private-secret");
        }
    }
    if let Some(private) = &seed.private_key {
        if private.trim().is_empty() || *private == account.public_key {
            return Err(invalid(
                "odp.private_key",
                0,
                "the private key must be set and differ from the public key",
            ));
        }
        account.private_key = private.clone();
    }
    if let Some(host) = &seed.host {
        account.host = Some(host.trim_end_matches('/').to_owned());
    }
    account.project_ids.extend(seed.project_ids.iter().copied());
    if let Some(strict) = seed.strict {
        account.strict = strict;
    }
    if let Some(millis) = seed.apply_delay_ms {
        account.apply_delay = Duration::from_millis(millis);
    }
    for (index, field) in seed.fields.iter().enumerate() {
        let field = field_from_seed(index, field)?;
        account
            .schema
            .seed_customer_field(field)
            .map_err(|message| invalid("odp.fields", index, message))?;
    }
    for (index, segment) in seed.segments.iter().enumerate() {
        segment
            .check(&account.schema)
            .map_err(|message| invalid("odp.segments", index, message))?;
        account
            .segments
            .insert(segment.name.to_lowercase(), segment.clone());
    }
    for refused in &seed.refused_identifiers {
        if !account.refused.contains(refused) {
            account.refused.push(refused.clone());
        }
    }
    for (index, attributes) in seed.profiles.iter().enumerate() {
        let rules = Rules {
            schema: &account.schema,
            refused: &[],
            strict: true,
        };
        let item = serde_json::json!({ "attributes": attributes });
        let (_, change) =
            check_item(rules, &item).map_err(|m| invalid("odp.profiles", index, m.join("; ")))?;
        account.profiles.insert_now(change);
    }
    Ok(())
}
