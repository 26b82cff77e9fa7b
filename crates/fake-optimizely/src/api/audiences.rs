//! Audiences: list, create, read, update (partial). There is no DELETE: archiving is
//! `PATCH {"archived": true}`.
//!
//! `conditions` must be a string holding a condition tree that follows docs/OPTIMIZELY-API.md#audience-conditions; it is
//! stored (and answered) re-serialised the way the real server does. Without it the
//! audience has no conditions (`null`; INFERRED, see `store::Audience`). Names need not be
//! unique (no rule is documented). `experiment_count` and `is_classic` are server-owned:
//! values sent in a body are ignored, like the spec's read-only fields.

use super::{
    ApiRequest, accessible_project, check_access, kind, opt_bool, opt_i64, opt_str, patch_bool,
    patch_str,
};
use crate::conditions;
use crate::pagination::paginate;
use crate::response::{Answer, ApiError};
use crate::schema::defs;
use crate::store::{Audience, Store, View, now_timestamp};
use serde_json::{Map, Value};

pub(super) fn list(store: &mut Store, req: &ApiRequest<'_>) -> Result<Answer, ApiError> {
    let items = kind::list::<Audience>(store, req, check_access, |_| true)?;
    paginate(&req.page_request(), items)
}

/// The body's `conditions`, checked and re-serialised, if it has any.
fn checked_conditions(body: &Map<String, Value>) -> Result<Option<String>, ApiError> {
    opt_str(body, "conditions")
        .map(|raw| conditions::normalize(&raw).map_err(ApiError::bad_request))
        .transpose()
}

pub(super) fn create(store: &mut Store, req: &ApiRequest<'_>) -> Result<Answer, ApiError> {
    let body = req.validated_body(defs::AUDIENCE)?;
    let conditions = checked_conditions(&body)?;
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
    Ok(kind::insert(store, audience))
}

pub(super) fn update(store: &mut Store, req: &ApiRequest<'_>) -> Result<Answer, ApiError> {
    let id = kind::find::<Audience>(store, req, check_access)?.id;
    let body = req.validated_body(defs::AUDIENCE_UPDATE)?;
    let conditions = checked_conditions(&body)?;
    let audience = kind::find_mut::<Audience>(store, id)?;
    if conditions.is_some() {
        audience.conditions = conditions;
    }
    patch_str(&body, "name", &mut audience.name);
    patch_str(&body, "description", &mut audience.description);
    patch_bool(&body, "archived", &mut audience.archived);
    patch_bool(&body, "segmentation", &mut audience.segmentation);
    audience.last_modified = now_timestamp();
    Ok(Answer::ok(audience.view()))
}
