//! Environments and their datafiles: `GET /v2/environments?project_id=`,
//! `GET /v2/environments/{environment_id}` and `GET /v2/environments/{environment_id}/datafile`.
//!
//! Environments are read-only here (the seed makes them). The datafile is built from the
//! project's current attributes, events and audiences, in the v4 shape the SDKs read
//! (docs/ODP-API.md §7): ids as strings, audience `conditions` with the leaf key `match`
//! where the REST API says `match_type` (docs/OPTIMIZELY-API.md#condition-leaves), and
//! audiences holding a `third_party_dimension` leaf (ODP segments) moved to `typedAudiences`
//! with a placeholder left in `audiences`, as real datafiles do. `integrations` holds
//! `{"key": "odp", "host", "publicKey"}` when the ODP account is integrated with the project,
//! and nothing otherwise.
//!
//! INFERRED: the datafile has no experiments, flags or rollouts (the fake has none); the
//! integration's default `host` is the fake's own base URL, so SDKs pointed at the fake also
//! query its `/v3/graphql`; `latest_file_size` is the size of the datafile the fake would
//! answer now; archived objects are left out.

use super::{ApiRequest, check_access, kind};
use crate::pagination::paginate;
use crate::response::{Answer, ApiError};
use crate::store::{DEFAULT_ACCOUNT_ID, Environment, Store, View};
use serde_json::{Value, json};

/// What the datafile's `audiences` holds for an audience that moved to `typedAudiences`.
const PLACEHOLDER_CONDITIONS: &str = r#"["or", {"match": "exact", "name": "$opt_dummy_attribute", "type": "custom_attribute", "value": "$opt_dummy_value"}]"#;

pub(super) fn list(store: &mut Store, req: &ApiRequest<'_>) -> Result<Answer, ApiError> {
    let project_id = req.query_project_id()?;
    check_access(store, req.token, project_id)?;
    let items = store
        .environments
        .values()
        .filter(|e| e.project_id == project_id)
        .map(|e| view(store, e, req.origin))
        .collect();
    paginate(&req.page_request(), items)
}

pub(super) fn get(store: &mut Store, req: &ApiRequest<'_>) -> Result<Answer, ApiError> {
    let environment = kind::find::<Environment>(store, req, check_access)?;
    Ok(Answer::ok(view(store, environment, req.origin)))
}

pub(super) fn datafile(store: &mut Store, req: &ApiRequest<'_>) -> Result<Answer, ApiError> {
    let environment = kind::find::<Environment>(store, req, check_access)?;
    Ok(Answer::ok(build(store, environment, req.origin)))
}

fn view(store: &Store, environment: &Environment, origin: &str) -> Value {
    let mut value = environment.view();
    let size = serde_json::to_vec(&build(store, environment, origin)).map_or(0, |b| b.len());
    value["datafile"]["latest_file_size"] = json!(size);
    value
}

/// Renames every `match_type` key of a condition tree to `match`, the datafile's spelling.
fn datafile_spelling(tree: &mut Value) {
    match tree {
        Value::Array(items) => items.iter_mut().for_each(datafile_spelling),
        Value::Object(map) => {
            if let Some(value) = map.remove("match_type") {
                map.insert("match".to_owned(), value);
            }
        }
        _ => {}
    }
}

fn has_segment_leaf(tree: &Value) -> bool {
    match tree {
        Value::Array(items) => items.iter().any(has_segment_leaf),
        Value::Object(map) => {
            map.get("type").and_then(Value::as_str) == Some("third_party_dimension")
        }
        _ => false,
    }
}

/// The datafile of `environment`.
pub(crate) fn build(store: &Store, environment: &Environment, origin: &str) -> Value {
    let project_id = environment.project_id;
    let account_id = store
        .projects
        .get(&project_id)
        .map_or(DEFAULT_ACCOUNT_ID, |p| p.account_id);
    let attributes: Vec<Value> = store
        .attributes
        .values()
        .filter(|a| a.project_id == project_id && !a.archived)
        .map(|a| json!({"id": a.id.to_string(), "key": a.key}))
        .collect();
    let events: Vec<Value> = store
        .events
        .values()
        .filter(|e| e.project_id == project_id && !e.archived)
        .map(|e| json!({"id": e.id.to_string(), "key": e.key, "experimentIds": []}))
        .collect();
    let mut audiences = Vec::new();
    let mut typed = Vec::new();
    for audience in store
        .audiences
        .values()
        .filter(|a| a.project_id == project_id && !a.archived)
    {
        let Some(mut tree) = audience
            .conditions
            .as_deref()
            .and_then(|raw| serde_json::from_str::<Value>(raw).ok())
        else {
            continue;
        };
        datafile_spelling(&mut tree);
        let id = audience.id.to_string();
        if has_segment_leaf(&tree) {
            typed.push(json!({"id": id, "name": audience.name, "conditions": tree}));
            audiences.push(
                json!({"id": id, "name": audience.name, "conditions": PLACEHOLDER_CONDITIONS}),
            );
        } else {
            audiences
                .push(json!({"id": id, "name": audience.name, "conditions": tree.to_string()}));
        }
    }
    let integrations: Vec<Value> = store
        .odp
        .as_ref()
        .filter(|odp| odp.project_ids.contains(&project_id))
        .map(|odp| {
            json!({
                "key": "odp",
                "host": odp.host.as_deref().unwrap_or(origin),
                "publicKey": odp.public_key,
            })
        })
        .into_iter()
        .collect();
    json!({
        "version": "4",
        "accountId": account_id.to_string(),
        "projectId": project_id.to_string(),
        "environmentKey": environment.key,
        "sdkKey": environment.sdk_key,
        "revision": environment.revision.to_string(),
        "anonymizeIP": true,
        "botFiltering": false,
        "sendFlagDecisions": true,
        "attributes": attributes,
        "audiences": audiences,
        "typedAudiences": typed,
        "events": events,
        "experiments": [],
        "featureFlags": [],
        "rollouts": [],
        "groups": [],
        "variables": [],
        "integrations": integrations,
    })
}
