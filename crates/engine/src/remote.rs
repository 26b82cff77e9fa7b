//! What Optimizely holds now, as the planner sees it: for definitions, every object of the
//! sync's type in the project (all pages, archived ones included), read through its
//! destination module; for lists, the list attribute itself (its name, type and key field
//! must be sent back with every PATCH) and its content.

use optisync_core::{RemoteList, RemoteObject};
use optisync_optimizely::{Client, ListAttribute};

use crate::destination::{self, list_attribute};
use crate::error::{Error, Result};
use crate::spec::{SyncSpec, Target};

/// Lists the project's objects of the sync's definition kind (none for a list).
pub async fn list_objects(
    client: &Client,
    spec: &SyncSpec,
    target: Target,
) -> Result<Vec<RemoteObject>> {
    let Some(kind) = spec.kind.definition() else {
        return Ok(Vec::new());
    };
    let what = format!("listing the project's {kind}s");
    destination::definition(kind)
        .list(client, target.project_id)
        .await
        .map_err(Error::api(&spec.name, &what))
}

/// Reads the sync's list attribute, refusing a project that cannot have list attributes and
/// a list that does not exist in the project.
pub async fn read_list(
    client: &Client,
    spec: &SyncSpec,
    target: Target,
) -> Result<(ListAttribute, RemoteList)> {
    let target_err = |message: String| Error::Target {
        sync: spec.name.clone(),
        message,
    };
    if let Some(refusal) = crate::policy::kind_refusal(spec.kind, target.product) {
        return Err(target_err(refusal.to_owned()));
    }
    let Some(id) = spec.list_attribute_id else {
        return Err(target_err(
            "list_attribute_id is required for object = \"list_attribute\"".to_owned(),
        ));
    };
    let not_found = || {
        target_err(format!(
            "list attribute {id} not found in project {}; create it under Audiences > Attributes and copy its id",
            target.project_id
        ))
    };
    let (list, content) = match list_attribute::read(client, id).await {
        Ok(Some(read)) => read,
        Ok(None) => return Err(not_found()),
        Err(e) => return Err(Error::api(&spec.name, "reading the list attribute")(e)),
    };
    if list.project_id.is_some_and(|p| p != target.project_id) {
        return Err(not_found());
    }
    Ok((list, content))
}
