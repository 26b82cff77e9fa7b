//! Events: `GET /events` and `GET /events/{id}` for every kind, and the custom-event writes
//! under `/projects/{project_id}/custom_events`.
//!
//! Custom events: `key` unique per project among *all* events of the project, archived and
//! non-custom ones included; `name` defaults to the key, `category` to `other`,
//! `event_type` is `custom`; `project_id` comes from the path (a body's is read-only and
//! ignored). DELETE archives (204). Create and update answer the `CustomEvent` shape seen on
//! the real API; reads answer the generic `Event` shape. Listing hides classic events
//! unless `include_classic=true`, as the spec's parameter says.

use super::{
    ApiRequest, accessible_project, check_access, kind, opt_bool, opt_str, patch_bool, patch_str,
};
use crate::pagination::paginate;
use crate::response::{Answer, ApiError};
use crate::schema::defs;
use crate::store::{Event, Store, now_timestamp};

pub(super) fn list(store: &mut Store, req: &ApiRequest<'_>) -> Result<Answer, ApiError> {
    let include_classic = req.query_flag("include_classic");
    let items = kind::list::<Event>(store, req, check_access, |e| {
        include_classic || !e.is_classic
    })?;
    paginate(&req.page_request(), items)
}

pub(super) fn create_custom(store: &mut Store, req: &ApiRequest<'_>) -> Result<Answer, ApiError> {
    let project_id = req.path_id(0)?;
    accessible_project(store, req.token, project_id)?;
    let body = req.validated_body(defs::CUSTOM_EVENT)?;
    let key = opt_str(&body, "key").unwrap_or_default();
    kind::refuse_duplicate::<Event>(store, project_id, &key, None)?;
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
        kind::refuse_duplicate::<Event>(store, project_id, &key, Some(id))?;
    }
    let event = kind::find_mut::<Event>(store, id)?;
    patch_str(&body, "key", &mut event.key);
    if let Some(name) = opt_str(&body, "name") {
        event.name = Some(name);
    }
    patch_str(&body, "description", &mut event.description);
    patch_str(&body, "category", &mut event.category);
    patch_bool(&body, "archived", &mut event.archived);
    event.last_modified = now_timestamp();
    Ok(Answer::ok(event.custom_view()))
}

pub(super) fn archive_custom(store: &mut Store, req: &ApiRequest<'_>) -> Result<Answer, ApiError> {
    let (_, id) = found_custom(store, req)?;
    Ok(kind::archive::<Event>(store, id))
}
