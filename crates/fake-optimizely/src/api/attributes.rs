//! Attributes: list, create, read, update (partial), archive.
//!
//! Rules: `key` unique per project among all attributes, archived ones included (they keep
//! their key, docs/OPTIMIZELY-API.md#duplicates-and-uniqueness); on Feature Experimentation projects `name` is always the key
//! (spec: "For Full Stack projects, the name will be set to the value of the key") and at
//! most 100 attributes may be unarchived (FX docs), on create and on un-archive alike. On
//! Web projects a missing `name` reads as the key (INFERRED). Duplicate keys and the cap are
//! 400 `bad_request` (INFERRED, docs/OPTIMIZELY-API.md#duplicates-and-uniqueness).

use super::{ApiRequest, accessible_project, check_access, kind, opt_bool, opt_str};
use crate::pagination::paginate;
use crate::rate_limit::Product;
use crate::response::{Answer, ApiError};
use crate::schema::defs;
use crate::store::{Attribute, Store, View, now_timestamp};

/// Most unarchived attributes a Feature Experimentation project may have.
pub(crate) const FX_ATTRIBUTE_CAP: usize = 100;

fn cap_error(project_id: i64) -> ApiError {
    ApiError::bad_request(format!(
        "attribute limit reached: Feature Experimentation projects may have at most \
         {FX_ATTRIBUTE_CAP} unarchived attributes, and project {project_id} has \
         {FX_ATTRIBUTE_CAP}; archive one first"
    ))
}

pub(super) fn list(store: &mut Store, req: &ApiRequest<'_>) -> Result<Answer, ApiError> {
    let items = kind::list::<Attribute>(store, req, check_access, |_| true)?;
    paginate(&req.page_request(), items)
}

pub(super) fn create(store: &mut Store, req: &ApiRequest<'_>) -> Result<Answer, ApiError> {
    let body = req.validated_body(defs::ATTRIBUTE)?;
    let project_id = super::opt_i64(&body, "project_id").unwrap_or_default();
    let product = accessible_project(store, req.token, project_id)?.product();
    let key = opt_str(&body, "key").unwrap_or_default();
    kind::refuse_duplicate::<Attribute>(store, project_id, &key, None)?;
    let archived = opt_bool(&body, "archived").unwrap_or(false);
    if product == Product::FeatureExperimentation
        && !archived
        && store.unarchived_attributes(project_id) >= FX_ATTRIBUTE_CAP
    {
        return Err(cap_error(project_id));
    }
    let name = match product {
        Product::FeatureExperimentation => Some(key.clone()),
        Product::Web => opt_str(&body, "name"),
    };
    let attribute = Attribute {
        id: store.allocate_id(),
        project_id,
        key,
        name,
        description: opt_str(&body, "description").unwrap_or_default(),
        archived,
        condition_type: "custom_attribute".to_owned(),
        last_modified: now_timestamp(),
    };
    tracing::debug!(id = attribute.id, key = %attribute.key, "attribute created");
    Ok(kind::insert(store, attribute))
}

pub(super) fn update(store: &mut Store, req: &ApiRequest<'_>) -> Result<Answer, ApiError> {
    let id = kind::find::<Attribute>(store, req, check_access)?.id;
    let body = req.validated_body(defs::ATTRIBUTE_UPDATE)?;
    let current = store.attributes[&id].clone();
    let project_id = current.project_id;
    let product = store
        .product_of(project_id)
        .unwrap_or(Product::FeatureExperimentation);
    let mut next = current.clone();
    if let Some(key) = opt_str(&body, "key") {
        kind::refuse_duplicate::<Attribute>(store, project_id, &key, Some(id))?;
        next.key = key;
    }
    if let Some(name) = opt_str(&body, "name") {
        next.name = Some(name);
    }
    if product == Product::FeatureExperimentation {
        next.name = Some(next.key.clone());
    }
    super::patch_str(&body, "description", &mut next.description);
    if let Some(archived) = opt_bool(&body, "archived") {
        if current.archived
            && !archived
            && product == Product::FeatureExperimentation
            && store.unarchived_attributes(project_id) >= FX_ATTRIBUTE_CAP
        {
            return Err(cap_error(project_id));
        }
        next.archived = archived;
    }
    next.last_modified = now_timestamp();
    let view = next.view();
    store.attributes.insert(id, next);
    Ok(Answer::ok(view))
}

pub(super) fn archive(store: &mut Store, req: &ApiRequest<'_>) -> Result<Answer, ApiError> {
    let id = kind::find::<Attribute>(store, req, check_access)?.id;
    Ok(kind::archive::<Attribute>(store, id))
}
