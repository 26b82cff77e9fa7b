//! Events: `GET /events` and `GET /events/{id}` for every kind, and the custom-event writes
//! under `/projects/{project_id}/custom_events`.
//!
//! Custom events: `key` unique per project among *all* events of the project, archived and
//! non-custom ones included; `name` defaults to the key, `category` to `other`,
//! `event_type` is `custom`; `project_id` comes from the path (a body's is read-only and
//! ignored). DELETE archives (204). Create and update answer the `CustomEvent` shape seen on
//! the real API; reads answer the generic `Event` shape. Listing hides classic events
//! unless `include_classic=true`, as the spec's parameter says.

use super::{ApiRequest, accessible_project, check_access, opt_bool, opt_str};
use crate::pagination::paginate;
use crate::response::{Answer, ApiError};
use crate::schema::defs;
use crate::store::{Event, Store, now_timestamp};

fn duplicate(
    store: &Store,
    project_id: i64,
    key: &str,
    except: Option<i64>,
) -> Result<(), ApiError> {
    let taken = store
        .events
        .values()
        .any(|e| e.project_id == project_id && e.key == key && Some(e.id) != except);
    if taken {
        Err(ApiError::bad_request(format!(
            "an event with key '{key}' already exists in project {project_id}"
        )))
    } else {
        Ok(())
    }
}

pub(super) fn list(store: &mut Store, req: &ApiRequest<'_>) -> Result<Answer, ApiError> {
    let project_id = req.query_project_id()?;
    accessible_project(store, req.token, project_id)?;
    let include_classic = req.query_flag("include_classic");
    let items = store
        .events
        .values()
        .filter(|e| e.project_id == project_id && (include_classic || !e.is_classic))
        .map(Event::view)
        .collect();
    paginate(&req.page_request(), items)
}

pub(super) fn get(store: &mut Store, req: &ApiRequest<'_>) -> Result<Answer, ApiError> {
    let id = req.path_id(0)?;
    let Some(event) = store.events.get(&id) else {
        return Err(ApiError::not_found(format!("event {id} not found")));
    };
    check_access(store, req.token, event.project_id)?;
    Ok(Answer::ok(event.view()))
}

pub(super) fn create_custom(store: &mut Store, req: &ApiRequest<'_>) -> Result<Answer, ApiError> {
    let project_id = req.path_id(0)?;
    accessible_project(store, req.token, project_id)?;
    let body = req.validated_body(defs::CUSTOM_EVENT)?;
    let key = opt_str(&body, "key").unwrap_or_default();
    duplicate(store, project_id, &key, None)?;
    let now = now_timestamp();
    let event = Event {
        id: store.allocate_id(),
        project_id,
        name: Some(opt_str(&body, "name").unwrap_or_else(|| key.clone())),
        key,
        description: opt_str(&body, "description").unwrap_or_default(),
        category: opt_str(&body, "category").unwrap_or_else(|| "other".to_owned()),
        event_type: "custom".to_owned(),
        archived: opt_bool(&body, "archived").unwrap_or(false),
        is_classic: false,
        is_editable: true,
        created: now.clone(),
        last_modified: now,
        event_properties: body
            .get("event_properties")
            .and_then(|v| v.as_array().cloned()),
        page_id: None,
        config: None,
    };
    let view = event.custom_view();
    store.events.insert(event.id, event);
    Ok(Answer::created(view))
}

/// The custom event `{id}` of project `{project_id}`: 404 when the project has no such
/// custom event (other event kinds are not editable here).
fn found_custom(store: &Store, req: &ApiRequest<'_>) -> Result<(i64, i64), ApiError> {
    let project_id = req.path_id(0)?;
    let id = req.path_id(1)?;
    accessible_project(store, req.token, project_id)?;
    match store.events.get(&id) {
        Some(e) if e.project_id == project_id && e.event_type == "custom" => Ok((project_id, id)),
        _ => Err(ApiError::not_found(format!(
            "custom event {id} not found in project {project_id}"
        ))),
    }
}

pub(super) fn update_custom(store: &mut Store, req: &ApiRequest<'_>) -> Result<Answer, ApiError> {
    let (project_id, id) = found_custom(store, req)?;
    let body = req.validated_body(defs::CUSTOM_EVENT_UPDATE)?;
    if let Some(key) = opt_str(&body, "key") {
        duplicate(store, project_id, &key, Some(id))?;
    }
    let Some(event) = store.events.get_mut(&id) else {
        return Err(ApiError::not_found(format!("custom event {id} not found")));
    };
    if let Some(key) = opt_str(&body, "key") {
        event.key = key;
    }
    if let Some(name) = opt_str(&body, "name") {
        event.name = Some(name);
    }
    if let Some(description) = opt_str(&body, "description") {
        event.description = description;
    }
    if let Some(category) = opt_str(&body, "category") {
        event.category = category;
    }
    if let Some(archived) = opt_bool(&body, "archived") {
        event.archived = archived;
    }
    event.last_modified = now_timestamp();
    Ok(Answer::ok(event.custom_view()))
}

pub(super) fn archive_custom(store: &mut Store, req: &ApiRequest<'_>) -> Result<Answer, ApiError> {
    let (_, id) = found_custom(store, req)?;
    if let Some(event) = store.events.get_mut(&id) {
        event.archived = true;
        event.last_modified = now_timestamp();
    }
    Ok(Answer::no_content())
}
