//! What Optimizely holds now, as the planner sees it. For definitions, every object of the
//! sync's type in the project (all pages, archived ones included) mapped to core's
//! [`RemoteObject`]; for lists, the list attribute itself (its name, type and key field must
//! be sent back with every PATCH) and its content as a [`RemoteList`].

use optisync_core::{
    Conditions, Field, FieldValue, Fields, Ids, ObjectType, RemoteList, RemoteObject,
};
use optisync_optimizely::{Attribute, Audience, Client, Event, ListAttribute, Product};

use crate::error::{Error, Result};
use crate::spec::{SyncSpec, Target};

/// Lists the project's objects of `object` (attributes, audiences or custom events).
pub async fn list_objects(
    client: &Client,
    spec: &SyncSpec,
    target: Target,
) -> Result<Vec<RemoteObject>> {
    let what = format!("listing the project's {}s", spec.object);
    let err = Error::api(&spec.name, &what);
    let objects = match spec.object {
        ObjectType::Attribute => client
            .list_attributes(target.project_id)
            .await
            .map_err(err)?
            .iter()
            .map(from_attribute)
            .collect(),
        ObjectType::Audience => client
            .list_audiences(target.project_id)
            .await
            .map_err(err)?
            .iter()
            .map(from_audience)
            .collect(),
        ObjectType::CustomEvent => client
            .list_custom_events(target.project_id)
            .await
            .map_err(err)?
            .iter()
            .map(from_event)
            .collect(),
        ObjectType::ListAttribute => Vec::new(),
    };
    Ok(objects)
}

/// Reads the sync's list attribute, refusing a Feature Experimentation project and a list
/// that does not exist in the project.
pub async fn read_list(
    client: &Client,
    spec: &SyncSpec,
    target: Target,
) -> Result<(ListAttribute, RemoteList)> {
    let target_err = |message: String| Error::Target {
        sync: spec.name.clone(),
        message,
    };
    if target.product != Product::Web {
        return Err(target_err(
            "list attributes are not available in Feature Experimentation; use an attribute and an audience condition instead".to_owned(),
        ));
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
    let list = match client.get_list_attribute(id).await {
        Ok(list) => list,
        Err(e) if e.is_not_found() => return Err(not_found()),
        Err(e) => return Err(Error::api(&spec.name, "reading the list attribute")(e)),
    };
    if list.project_id.is_some_and(|p| p != target.project_id) {
        return Err(not_found());
    }
    let content = match &list.list_content {
        Some(text) => RemoteList::Known(split_content(text)),
        None => RemoteList::Unknown,
    };
    Ok((list, content))
}

/// The members of a `list_content` string.
pub(crate) fn split_content(text: &str) -> Ids {
    let mut ids = Ids::with_capacity(text.len() / 16, text.len());
    for id in text.split(',').map(str::trim).filter(|s| !s.is_empty()) {
        ids.push(id);
    }
    ids
}

fn text(fields: &mut Fields, field: Field, value: Option<&str>) {
    if let Some(value) = value {
        fields.insert(field, FieldValue::Text(value.to_owned()));
    }
}

pub(crate) fn from_attribute(a: &Attribute) -> RemoteObject {
    let mut fields = Fields::new();
    text(&mut fields, Field::Key, Some(&a.key));
    text(&mut fields, Field::Name, a.name.as_deref());
    text(&mut fields, Field::Description, a.description.as_deref());
    RemoteObject {
        id: a.id,
        archived: a.is_archived(),
        fields,
    }
}

pub(crate) fn from_audience(a: &Audience) -> RemoteObject {
    let mut fields = Fields::new();
    text(&mut fields, Field::Name, a.name.as_deref());
    text(&mut fields, Field::Description, a.description.as_deref());
    if let Some(conditions) = &a.conditions {
        fields.insert(
            Field::Conditions,
            FieldValue::Conditions(Conditions::from_api_string(conditions)),
        );
    }
    RemoteObject {
        id: a.id,
        archived: a.is_archived(),
        fields,
    }
}

pub(crate) fn from_event(e: &Event) -> RemoteObject {
    let mut fields = Fields::new();
    text(&mut fields, Field::Key, e.key.as_deref());
    text(&mut fields, Field::Name, e.name.as_deref());
    text(&mut fields, Field::Description, e.description.as_deref());
    text(
        &mut fields,
        Field::Category,
        e.category.as_ref().map(|c| c.as_str()),
    );
    RemoteObject {
        id: e.id,
        archived: e.is_archived(),
        fields,
    }
}
