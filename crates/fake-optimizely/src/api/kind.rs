//! What the endpoints of every object kind share: finding an object by id, listing a
//! project's objects, refusing a natural key already taken, archiving.
//!
//! Each helper is generic over the stored kind ([`Stored`], [`Unique`]) and takes the kind's
//! access rule: [`check_access`](super::check_access) for most, a stricter one for list
//! attributes (Web projects only).

use super::ApiRequest;
use crate::response::{Answer, ApiError};
use crate::store::{Store, Stored, Unique};
use serde_json::Value;

/// Who may use a project, as one kind sees it: `Ok` or the 403/404/400 to answer.
pub(super) type Access = fn(&Store, &str, i64) -> Result<(), ApiError>;

/// The object path parameter 0 names: 400 for an id that is not a number, 404 when there is
/// no such object, then `access` on its project.
pub(super) fn find<'s, K: Stored>(
    store: &'s Store,
    req: &ApiRequest<'_>,
    access: Access,
) -> Result<&'s K, ApiError> {
    let id = req.path_id(0)?;
    let Some(object) = K::table(store).get(&id) else {
        return Err(not_found::<K>(id));
    };
    access(store, req.token, object.project_id())?;
    Ok(object)
}

/// Object `id` to change, once [`find`] or a kind's own lookup has vouched for it.
pub(super) fn find_mut<K: Stored>(store: &mut Store, id: i64) -> Result<&mut K, ApiError> {
    K::table_mut(store)
        .get_mut(&id)
        .ok_or_else(|| not_found::<K>(id))
}

fn not_found<K: Stored>(id: i64) -> ApiError {
    ApiError::not_found(format!("{} {id} not found", K::NOUN))
}

/// `GET /{kind}/{id}`.
pub(super) fn get<K: Stored>(
    store: &Store,
    req: &ApiRequest<'_>,
    access: Access,
) -> Result<Answer, ApiError> {
    Ok(Answer::ok(find::<K>(store, req, access)?.view()))
}

/// The objects of the project the `project_id` query parameter names that `keep` keeps, as
/// answered, in id order.
pub(super) fn list<K: Stored>(
    store: &Store,
    req: &ApiRequest<'_>,
    access: Access,
    keep: impl Fn(&K) -> bool,
) -> Result<Vec<Value>, ApiError> {
    let project_id = req.query_project_id()?;
    access(store, req.token, project_id)?;
    Ok(K::table(store)
        .values()
        .filter(|object| object.project_id() == project_id && keep(object))
        .map(K::view)
        .collect())
}

/// 400 when an object of project `project_id` other than `except` already has natural key
/// `key`.
pub(super) fn refuse_duplicate<K: Unique>(
    store: &Store,
    project_id: i64,
    key: &str,
    except: Option<i64>,
) -> Result<(), ApiError> {
    let taken = K::table(store).values().any(|object| {
        object.project_id() == project_id
            && object.natural_key() == key
            && Some(object.id()) != except
    });
    if taken {
        Err(ApiError::bad_request(format!(
            "{} '{key}' already exists in project {project_id}",
            K::CLASH
        )))
    } else {
        Ok(())
    }
}

/// Stores a new object and answers 201 with it.
pub(super) fn insert<K: Stored>(store: &mut Store, object: K) -> Answer {
    let view = object.view();
    K::table_mut(store).insert(object.id(), object);
    Answer::created(view)
}

/// Archives object `id` and answers 204, as `DELETE` does where the API has one.
pub(super) fn archive<K: Stored>(store: &mut Store, id: i64) -> Answer {
    if let Some(object) = K::table_mut(store).get_mut(&id) {
        object.archive();
    }
    Answer::no_content()
}
