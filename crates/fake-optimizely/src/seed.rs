//! Seeds: the JSON that fills the fake (file, admin API or Rust value) and how it is applied.
//!
//! A seed lists tokens, projects and objects using the API's own field names; ids may be
//! given or left out (then assigned), timestamps default to now and other fields to the
//! API's defaults. Applying a seed merges it into the current state: an object whose id
//! already exists is replaced, a token already known gets the seed's project list. A seed
//! is applied all or nothing.
//!
//! Every project ends up with environments: those the seed gives, or else `production`
//! (primary) and `development`. The `odp` part creates or changes the ODP account
//! (`odp/seed.rs`).

use crate::conditions;
use crate::error::SeedError;
use crate::odp::{OdpFieldSeed, OdpSeed, OdpSegmentRule, OdpSegmentSeed};
use crate::rate_limit::{Product, RateLimits};
use crate::store::{
    Attribute, Audience, DEFAULT_ACCOUNT_ID, Environment, Event, ListAttribute, Project, Store,
    now_timestamp,
};
use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};
use std::path::Path;

/// Everything to load into the fake. JSON shape:
///
/// ```json
/// {
///   "tokens": [{"token": "2:secret", "project_ids": [20000000001]}],
///   "projects": [{"id": 20000000001, "name": "Web", "platform": "web"}],
///   "attributes": [{"project_id": 20000000001, "key": "plan"}],
///   "audiences": [], "events": [], "list_attributes": [],
///   "environments": [{"project_id": 20000000001, "key": "production", "is_primary": true}],
///   "rate_limits": {"fx_per_second": 2, "fx_per_minute": 120, "web_per_minute": 100,
///                   "retry_after": true, "rate_limit_headers": false},
///   "odp": {"project_ids": [20000000002], "fields": [{"name": "in_beta", "type": "boolean"}]}
/// }
/// ```
/// Every key is optional; `odp` is described at [`OdpSeed`].
#[derive(Clone, Debug, Default, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Seed {
    /// Accepted bearer tokens and the projects each may use.
    pub tokens: Vec<TokenSeed>,
    /// Projects (`id`, `name`, `platform`, `is_flags_enabled`, ...).
    pub projects: Vec<Value>,
    /// Attributes (`project_id` and `key` required).
    pub attributes: Vec<Value>,
    /// Audiences (`project_id` required; `conditions` is a JSON string).
    pub audiences: Vec<Value>,
    /// Events of any `event_type` (`project_id` and `key` required).
    pub events: Vec<Value>,
    /// List attributes (`project_id`, `name`, `key_field` required).
    pub list_attributes: Vec<Value>,
    /// Environments (`project_id` and `key` required; `name`, `is_primary`, `priority`,
    /// `archived`, `sdk_key`, `datafile_id`, `revision` optional). A project the seed gives
    /// none, and that has none yet, gets `production` (primary) and `development`.
    pub environments: Vec<Value>,
    /// Rate limits; they replace the current ones when the seed is applied.
    pub rate_limits: RateLimits,
    /// The Optimizely Data Platform account behind `/v3`, if any.
    pub odp: Option<OdpSeed>,
}

/// One accepted token.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TokenSeed {
    /// The bearer token, as sent after `Authorization: Bearer `.
    pub token: String,
    /// Projects this token may use; other existing projects answer 403.
    pub project_ids: Vec<i64>,
}

impl Seed {
    /// Parses a seed from JSON text.
    pub fn from_json(text: &str) -> Result<Self, SeedError> {
        Ok(serde_json::from_str(text)?)
    }

    /// Reads and parses a seed file.
    pub fn from_file(path: impl AsRef<Path>) -> Result<Self, SeedError> {
        let path = path.as_ref();
        let text = std::fs::read_to_string(path).map_err(|source| SeedError::Read {
            path: path.display().to_string(),
            source,
        })?;
        Self::from_json(&text)
    }
}

/// Id of the Web Experimentation project of [`demo_seed`].
pub const DEMO_WEB_PROJECT_ID: i64 = 20_000_000_001;
/// Id of the Feature Experimentation project of [`demo_seed`].
pub const DEMO_FX_PROJECT_ID: i64 = 20_000_000_002;
/// Id of the list attribute of [`demo_seed`] (on the Web project).
pub const DEMO_LIST_ATTRIBUTE_ID: i64 = 30_000_000_001;
/// The ODP segment of [`demo_seed`]: customers whose `in_beta` is `true`.
pub const DEMO_ODP_SEGMENT: &str = "beta_users";

/// A small seed for tests and the demo: one Web project ([`DEMO_WEB_PROJECT_ID`]), one
/// Feature Experimentation project ([`DEMO_FX_PROJECT_ID`]), both usable by `token`, and
/// one empty list attribute ([`DEMO_LIST_ATTRIBUTE_ID`], `list_type` cookies, `key_field`
/// `optimizely_user_id`) on the Web project. Both projects get the default environments
/// (`production`, `development`). An ODP account with the keys
/// [`DEMO_ODP_PUBLIC_KEY`](crate::DEMO_ODP_PUBLIC_KEY) /
/// [`DEMO_ODP_PRIVATE_KEY`](crate::DEMO_ODP_PRIVATE_KEY), a boolean customer field `in_beta`
/// and the segment [`DEMO_ODP_SEGMENT`] (`in_beta == true`), integrated with the FX project
/// (its datafiles list it). Rate limits are the real defaults.
pub fn demo_seed(token: &str) -> Seed {
    Seed {
        tokens: vec![TokenSeed {
            token: token.to_owned(),
            project_ids: vec![DEMO_WEB_PROJECT_ID, DEMO_FX_PROJECT_ID],
        }],
        projects: vec![
            json!({
                "id": DEMO_WEB_PROJECT_ID,
                "name": "Demo Web Experimentation project",
                "platform": "web",
                "is_flags_enabled": false,
            }),
            json!({
                "id": DEMO_FX_PROJECT_ID,
                "name": "Demo Feature Experimentation project",
                "platform": "custom",
                "is_flags_enabled": true,
            }),
        ],
        list_attributes: vec![json!({
            "id": DEMO_LIST_ATTRIBUTE_ID,
            "project_id": DEMO_WEB_PROJECT_ID,
            "name": "demo_members",
            "description": "",
            "key_field": "optimizely_user_id",
            "list_type": "cookies",
            "list_content": "",
        })],
        odp: Some(OdpSeed {
            project_ids: vec![DEMO_FX_PROJECT_ID],
            fields: vec![OdpFieldSeed {
                display_name: Some("In Beta".to_owned()),
                description: "In the beta programme".to_owned(),
                ..OdpFieldSeed::new("in_beta", "boolean")
            }],
            segments: vec![OdpSegmentSeed::new(
                DEMO_ODP_SEGMENT,
                OdpSegmentRule::equals("in_beta", true),
            )],
            ..OdpSeed::default()
        }),
        ..Seed::default()
    }
}

fn parse<T: DeserializeOwned>(
    kind: &'static str,
    index: usize,
    value: &Value,
) -> Result<T, SeedError> {
    serde_json::from_value(value.clone()).map_err(|e| SeedError::InvalidObject {
        kind,
        index,
        message: e.to_string(),
    })
}

fn fill_time(field: &mut String, now: &str) {
    if field.is_empty() {
        *field = now.to_owned();
    }
}

fn assign_id(store: &mut Store, id: &mut i64) {
    if *id <= 0 {
        *id = store.allocate_id();
    }
}

fn project_product(
    store: &Store,
    kind: &'static str,
    index: usize,
    project_id: i64,
) -> Result<Product, SeedError> {
    store
        .product_of(project_id)
        .ok_or(SeedError::UnknownProject {
            kind,
            index,
            project_id,
        })
}

/// Merges `seed`'s tokens and objects into `store` (not its rate limits), all or nothing.
pub(crate) fn apply(store: &mut Store, seed: &Seed) -> Result<(), SeedError> {
    let mut next = store.clone();
    let now = now_timestamp();

    for (index, value) in seed.projects.iter().enumerate() {
        let mut p: Project = parse("projects", index, value)?;
        assign_id(&mut next, &mut p.id);
        if p.account_id <= 0 {
            p.account_id = DEFAULT_ACCOUNT_ID;
        }
        if p.name.is_empty() {
            p.name = format!("Project {}", p.id);
        }
        fill_time(&mut p.created, &now);
        fill_time(&mut p.last_modified, &now);
        next.projects.insert(p.id, p);
    }

    for token in &seed.tokens {
        next.tokens.insert(
            token.token.clone(),
            token.project_ids.iter().copied().collect(),
        );
    }

    for (index, value) in seed.attributes.iter().enumerate() {
        let mut a: Attribute = parse("attributes", index, value)?;
        let product = project_product(&next, "attributes", index, a.project_id)?;
        assign_id(&mut next, &mut a.id);
        if product == Product::FeatureExperimentation || a.name.is_none() {
            a.name = Some(a.key.clone());
        }
        fill_time(&mut a.last_modified, &now);
        next.attributes.insert(a.id, a);
    }

    for (index, value) in seed.audiences.iter().enumerate() {
        let mut a: Audience = parse("audiences", index, value)?;
        project_product(&next, "audiences", index, a.project_id)?;
        assign_id(&mut next, &mut a.id);
        // An empty string, like no `conditions` at all, is an audience without conditions.
        a.conditions =
            match a.conditions.as_deref().filter(|raw| !raw.is_empty()) {
                None => None,
                Some(raw) => Some(conditions::normalize(raw).map_err(|message| {
                    SeedError::InvalidObject {
                        kind: "audiences",
                        index,
                        message,
                    }
                })?),
            };
        fill_time(&mut a.created, &now);
        fill_time(&mut a.last_modified, &now);
        next.audiences.insert(a.id, a);
    }

    for (index, value) in seed.events.iter().enumerate() {
        let mut e: Event = parse("events", index, value)?;
        project_product(&next, "events", index, e.project_id)?;
        assign_id(&mut next, &mut e.id);
        if e.name.is_none() {
            e.name = Some(e.key.clone());
        }
        fill_time(&mut e.created, &now);
        fill_time(&mut e.last_modified, &now);
        next.events.insert(e.id, e);
    }

    for (index, value) in seed.list_attributes.iter().enumerate() {
        let mut l: ListAttribute = parse("list_attributes", index, value)?;
        project_product(&next, "list_attributes", index, l.project_id)?;
        assign_id(&mut next, &mut l.id);
        if l.account_id <= 0 {
            l.account_id = next
                .projects
                .get(&l.project_id)
                .map_or(DEFAULT_ACCOUNT_ID, |p| p.account_id);
        }
        fill_time(&mut l.created, &now);
        fill_time(&mut l.last_modified, &now);
        next.list_attributes.insert(l.id, l);
    }

    for (index, value) in seed.environments.iter().enumerate() {
        let mut e: Environment = parse("environments", index, value)?;
        project_product(&next, "environments", index, e.project_id)?;
        if e.id <= 0 {
            e.id = next.allocate_environment_id();
        }
        e.fill_defaults(&now);
        next.environments.insert(e.id, e);
    }
    add_default_environments(&mut next, &now);

    if let Some(odp) = &seed.odp {
        crate::odp::apply_seed(&mut next, odp)?;
    }

    *store = next;
    Ok(())
}

/// Gives every project without environments `production` (primary) and `development`.
fn add_default_environments(store: &mut Store, now: &str) {
    let bare: Vec<i64> = store
        .projects
        .keys()
        .copied()
        .filter(|id| !store.environments.values().any(|e| e.project_id == *id))
        .collect();
    for project_id in bare {
        for (priority, key) in [(1, "production"), (2, "development")] {
            let mut e = Environment {
                id: store.allocate_environment_id(),
                project_id,
                key: key.to_owned(),
                name: String::new(),
                description: String::new(),
                archived: false,
                has_restricted_permissions: false,
                is_primary: priority == 1,
                priority,
                created: String::new(),
                last_modified: String::new(),
                sdk_key: String::new(),
                datafile_id: 0,
                revision: 1,
            };
            e.fill_defaults(now);
            store.environments.insert(e.id, e);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn demo_seed_applies() {
        let mut store = Store::default();
        apply(&mut store, &demo_seed("tok")).unwrap();
        assert_eq!(store.product_of(DEMO_WEB_PROJECT_ID), Some(Product::Web));
        assert_eq!(
            store.product_of(DEMO_FX_PROJECT_ID),
            Some(Product::FeatureExperimentation)
        );
        assert!(store.can_access("tok", DEMO_FX_PROJECT_ID));
        let list = &store.list_attributes[&DEMO_LIST_ATTRIBUTE_ID];
        assert_eq!(list.key_field, "optimizely_user_id");
        assert_eq!(list.list_content, "");
        let keys: Vec<(i64, &str, bool)> = store
            .environments
            .values()
            .map(|e| (e.project_id, e.key.as_str(), e.is_primary))
            .collect();
        assert_eq!(
            keys,
            [
                (DEMO_WEB_PROJECT_ID, "production", true),
                (DEMO_WEB_PROJECT_ID, "development", false),
                (DEMO_FX_PROJECT_ID, "production", true),
                (DEMO_FX_PROJECT_ID, "development", false),
            ]
        );
        let odp = store.odp.as_ref().unwrap();
        assert!(odp.project_ids.contains(&DEMO_FX_PROJECT_ID));
        assert!(odp.segments.contains_key(DEMO_ODP_SEGMENT));
        // Applying the same seed again adds no environments.
        apply(&mut store, &demo_seed("tok")).unwrap();
        assert_eq!(store.environments.len(), 4);
    }

    #[test]
    fn seeded_environments_replace_the_defaults_and_bad_odp_seeds_are_refused() {
        let mut store = Store::default();
        let seed = Seed {
            projects: vec![json!({"id": 1, "platform": "custom"})],
            environments: vec![json!({"project_id": 1, "key": "staging"})],
            ..Seed::default()
        };
        apply(&mut store, &seed).unwrap();
        let envs: Vec<&Environment> = store.environments.values().collect();
        assert_eq!(envs.len(), 1);
        assert_eq!(envs[0].name, "Staging");
        assert_eq!(envs[0].datafile_id.to_string().len(), 16);
        let bad = Seed {
            odp: Some(OdpSeed {
                segments: vec![OdpSegmentSeed::new(
                    "s",
                    OdpSegmentRule::equals("no_such_field", true),
                )],
                ..OdpSeed::default()
            }),
            ..Seed::default()
        };
        assert!(matches!(
            apply(&mut store, &bad),
            Err(SeedError::InvalidObject {
                kind: "odp.segments",
                ..
            })
        ));
        assert!(store.odp.is_none(), "all or nothing");
    }

    #[test]
    fn unknown_project_and_bad_objects_are_refused_without_partial_apply() {
        let mut store = Store::default();
        let seed = Seed {
            projects: vec![json!({"id": 1})],
            attributes: vec![json!({"project_id": 2, "key": "k"})],
            ..Seed::default()
        };
        let err = apply(&mut store, &seed).unwrap_err();
        assert!(
            matches!(err, SeedError::UnknownProject { project_id: 2, .. }),
            "{err}"
        );
        assert!(store.projects.is_empty(), "seed must apply all or nothing");
        let seed = Seed {
            projects: vec![json!({"id": 1})],
            audiences: vec![json!({"project_id": 1, "conditions": "[\"maybe\"]"})],
            ..Seed::default()
        };
        assert!(matches!(
            apply(&mut store, &seed),
            Err(SeedError::InvalidObject {
                kind: "audiences",
                index: 0,
                ..
            })
        ));
    }

    #[test]
    fn unknown_seed_keys_are_refused() {
        assert!(Seed::from_json(r#"{"projectz": []}"#).is_err());
        assert!(Seed::from_json(r#"{"projects": []}"#).is_ok());
    }
}
