//! `GET /v2/projects/{id}`.
//!
//! A project that does not exist is 404 `not_found`; one the token may not use is 403.

use super::{ApiRequest, accessible_project};
use crate::response::{Answer, ApiError};
use crate::store::{Store, View};

pub(super) fn get(store: &mut Store, req: &ApiRequest<'_>) -> Result<Answer, ApiError> {
    let id = req.path_id(0)?;
    let project = accessible_project(store, req.token, id)?;
    Ok(Answer::ok(project.view()))
}
