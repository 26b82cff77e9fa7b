//! List attributes (Web Experimentation only): list (unpaginated), create, read, update,
//! archive.
//!
//! - `list_content` is one comma-separated string; a PATCH that carries it replaces the
//!   whole list (there is no append or remove), a PATCH without it keeps the list. Reads
//!   return it as stored (whether the real API echoes it is unknown; INFERRED).
//! - `name` is the natural key: unique per project, archived lists included.
//! - The operation texts say `name`, `list_type` and `key_field` are required on create and
//!   on update ("Required arguments are identical to creating"), although the schema only
//!   requires `name`, `key_field`, `project_id` on create and nothing on update; the fake
//!   enforces the texts on top of the schema.
//! - Feature Experimentation projects: Optimizely's docs say the endpoints are "not
//!   available in Optimizely Feature Experimentation". The fake answers **400**
//!   `bad_request` (INFERRED; the real status is unknown): the request itself is wrong for
//!   that project, it is final (not retryable), and a 403 would read to clients as a bad or
//!   revoked token, which would send users looking in the wrong place.
//! - Responses carry read-only `account_id` and placeholder `aws_access_key`,
//!   `aws_secret_key`, `s3_path` that cannot be mistaken for real credentials.

use super::{
    ApiRequest, accessible_project, kind, opt_bool, opt_i64, opt_str, patch_bool, patch_str,
};
use crate::rate_limit::Product;
use crate::response::{Answer, ApiError};
use crate::schema::defs;
use crate::store::{ListAttribute, Store, View, now_timestamp};
use serde_json::{Map, Value};

/// The access rule of list attributes: the project must be usable and a Web project.
pub(super) fn web_only(store: &Store, token: &str, project_id: i64) -> Result<(), ApiError> {
    let project = accessible_project(store, token, project_id)?;
    if project.product() == Product::FeatureExperimentation {
        return Err(ApiError::bad_request(format!(
            "list attributes are not available in Optimizely Feature Experimentation \
             (project {project_id} is a Feature Experimentation project); they exist only \
             in Web Experimentation projects"
        )));
    }
    Ok(())
}

fn require_operation_fields(body: &Map<String, Value>) -> Result<(), ApiError> {
    for name in ["name", "list_type", "key_field"] {
        if opt_str(body, name).is_none() {
            return Err(ApiError::bad_request(format!(
                "field '{name}' is required (name, list_type and key_field must be sent \
                 on every create and update of a list attribute)"
            )));
        }
    }
    Ok(())
}

pub(super) fn list(store: &mut Store, req: &ApiRequest<'_>) -> Result<Answer, ApiError> {
    let items = kind::list::<ListAttribute>(store, req, web_only, |_| true)?;
    Ok(Answer::ok(Value::Array(items)))
}

pub(super) fn create(store: &mut Store, req: &ApiRequest<'_>) -> Result<Answer, ApiError> {
    let body = req.validated_body(defs::LIST_ATTRIBUTE)?;
    require_operation_fields(&body)?;
    let project_id = opt_i64(&body, "project_id").unwrap_or_default();
    web_only(store, req.token, project_id)?;
    let name = opt_str(&body, "name").unwrap_or_default();
    kind::refuse_duplicate::<ListAttribute>(store, project_id, &name, None)?;
    let account_id = store
        .projects
        .get(&project_id)
        .map_or(crate::store::DEFAULT_ACCOUNT_ID, |p| p.account_id);
    let now = now_timestamp();
    let list = ListAttribute {
        id: store.allocate_id(),
        project_id,
        account_id,
        name,
        description: opt_str(&body, "description").unwrap_or_default(),
        key_field: opt_str(&body, "key_field").unwrap_or_default(),
        list_type: opt_str(&body, "list_type").unwrap_or_default(),
        list_content: opt_str(&body, "list_content").unwrap_or_default(),
        archived: opt_bool(&body, "archived").unwrap_or(false),
        created: now.clone(),
        last_modified: now,
    };
    Ok(kind::insert(store, list))
}

pub(super) fn update(store: &mut Store, req: &ApiRequest<'_>) -> Result<Answer, ApiError> {
    let id = kind::find::<ListAttribute>(store, req, web_only)?.id;
    let body = req.validated_body(defs::LIST_ATTRIBUTE_UPDATE)?;
    require_operation_fields(&body)?;
    let project_id = store.list_attributes[&id].project_id;
    let name = opt_str(&body, "name").unwrap_or_default();
    kind::refuse_duplicate::<ListAttribute>(store, project_id, &name, Some(id))?;
    let list = kind::find_mut::<ListAttribute>(store, id)?;
    list.name = name;
    list.list_type = opt_str(&body, "list_type").unwrap_or_default();
    list.key_field = opt_str(&body, "key_field").unwrap_or_default();
    patch_str(&body, "description", &mut list.description);
    patch_str(&body, "list_content", &mut list.list_content); // whole-list replacement
    patch_bool(&body, "archived", &mut list.archived);
    list.last_modified = now_timestamp();
    Ok(Answer::ok(list.view()))
}

pub(super) fn archive(store: &mut Store, req: &ApiRequest<'_>) -> Result<Answer, ApiError> {
    let id = kind::find::<ListAttribute>(store, req, web_only)?.id;
    Ok(kind::archive::<ListAttribute>(store, id))
}
