//! Audiences: list, create, read, update (partial). There is no DELETE: archiving is
//! `PATCH {"archived": true}`.
//!
//! `conditions` must be a string holding a condition tree that follows API.md §4; it is
//! stored (and answered) re-serialised the way the real server does. Names need not be
//! unique (no rule is documented). `experiment_count` and `is_classic` are server-owned:
//! values sent in a body are ignored, like the spec's read-only fields.

use super::{ApiRequest, accessible_project, check_access, opt_bool, opt_i64, opt_str};
use crate::conditions;
use crate::pagination::paginate;
use crate::response::{Answer, ApiError};
use crate::schema::defs;
use crate::store::{Audience, Store, now_timestamp};

fn found(store: &Store, req: &ApiRequest<'_>) -> Result<i64, ApiError> {
    let id = req.path_id(0)?;
    let Some(audience) = store.audiences.get(&id) else {
        return Err(ApiError::not_found(format!("audience {id} not found")));
    };
    check_access(store, req.token, audience.project_id)?;
    Ok(id)
}

pub(super) fn list(store: &mut Store, req: &ApiRequest<'_>) -> Result<Answer, ApiError> {
    let project_id = req.query_project_id()?;
    accessible_project(store, req.token, project_id)?;
    let items = store
        .audiences
        .values()
        .filter(|a| a.project_id == project_id)
        .map(Audience::view)
        .collect();
    paginate(&req.page_request(), items)
}

pub(super) fn create(store: &mut Store, req: &ApiRequest<'_>) -> Result<Answer, ApiError> {
    let body = req.validated_body(defs::AUDIENCE)?;
    let conditions = match opt_str(&body, "conditions") {
        Some(raw) => conditions::normalize(&raw).map_err(ApiError::bad_request)?,
        None => conditions::DEFAULT_CONDITIONS.to_owned(),
    };
    let project_id = opt_i64(&body, "project_id").unwrap_or_default();
    accessible_project(store, req.token, project_id)?;
    let now = now_timestamp();
    let audience = Audience {
        id: store.allocate_id(),
        project_id,
        name: opt_str(&body, "name").unwrap_or_default(),
        description: opt_str(&body, "description").unwrap_or_default(),
        conditions,
        archived: opt_bool(&body, "archived").unwrap_or(false),
        segmentation: opt_bool(&body, "segmentation").unwrap_or(false),
        is_classic: false,
        experiment_count: 0,
        created: now.clone(),
        last_modified: now,
    };
    let view = audience.view();
    store.audiences.insert(audience.id, audience);
    Ok(Answer::created(view))
}

pub(super) fn get(store: &mut Store, req: &ApiRequest<'_>) -> Result<Answer, ApiError> {
    let id = found(store, req)?;
    Ok(Answer::ok(store.audiences[&id].view()))
}

pub(super) fn update(store: &mut Store, req: &ApiRequest<'_>) -> Result<Answer, ApiError> {
    let id = found(store, req)?;
    let body = req.validated_body(defs::AUDIENCE_UPDATE)?;
    let conditions = match opt_str(&body, "conditions") {
        Some(raw) => Some(conditions::normalize(&raw).map_err(ApiError::bad_request)?),
        None => None,
    };
    let Some(audience) = store.audiences.get_mut(&id) else {
        return Err(ApiError::not_found(format!("audience {id} not found")));
    };
    if let Some(conditions) = conditions {
        audience.conditions = conditions;
    }
    if let Some(name) = opt_str(&body, "name") {
        audience.name = name;
    }
    if let Some(description) = opt_str(&body, "description") {
        audience.description = description;
    }
    if let Some(archived) = opt_bool(&body, "archived") {
        audience.archived = archived;
    }
    if let Some(segmentation) = opt_bool(&body, "segmentation") {
        audience.segmentation = segmentation;
    }
    audience.last_modified = now_timestamp();
    Ok(Answer::ok(audience.view()))
}
