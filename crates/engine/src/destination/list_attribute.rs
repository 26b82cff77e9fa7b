//! List attributes (docs/PRODUCT-RULES.md#list-attributes): one list per sync, whose
//! membership is the model's `user_id`s; only on Web Experimentation projects. Read with one
//! GET, written with one whole-list PATCH that sends back the list's name, type and key field
//! (docs/OPTIMIZELY-API.md#list-attributes).

use optisync_core::{Field, Ids, ObjectRules, RemoteList};
use optisync_optimizely::{Client, Error as ApiError, ListAttribute, ListAttributeUpdate};

/// The list attribute's mapping rules.
pub static RULES: ObjectRules = ObjectRules {
    object: optisync_core::kind::LIST_ATTRIBUTE,
    fields: &[Field::UserId],
    required: Some(Field::UserId),
    named_by_template: false,
};

/// Reads list attribute `id`; `Ok(None)` when it does not exist.
pub async fn read(
    client: &Client,
    id: i64,
) -> Result<Option<(ListAttribute, RemoteList)>, ApiError> {
    let list = match client.get::<ListAttribute>(id).await {
        Ok(list) => list,
        Err(e) if e.is_not_found() => return Ok(None),
        Err(e) => return Err(e),
    };
    let content = match &list.list_content {
        Some(text) => RemoteList::Known(split_content(text)),
        None => RemoteList::Unknown,
    };
    Ok(Some((list, content)))
}

/// Replaces the list's members with `content` (comma-joined ids).
pub async fn write(client: &Client, list: &ListAttribute, content: String) -> Result<(), ApiError> {
    // The API validates the whole object on PATCH: send back its name, type and key field.
    let update = ListAttributeUpdate {
        name: Some(list.name.clone()),
        list_type: list.list_type.clone(),
        key_field: list.key_field.clone(),
        list_content: Some(content),
        ..ListAttributeUpdate::default()
    };
    client
        .update::<ListAttribute>((), list.id, &update)
        .await
        .map(drop)
}

/// The members of a `list_content` string.
pub(crate) fn split_content(text: &str) -> Ids {
    let members = || text.split(',').map(str::trim).filter(|s| !s.is_empty());
    // Reserved, not touched: each member takes a byte and a comma at least.
    let (mut joined, mut ends) = (
        String::with_capacity(text.len()),
        Vec::with_capacity(text.len() / 2 + 1),
    );
    for id in members() {
        joined.push_str(id);
        // The answer was read into memory whole, far below 4 GiB.
        let Ok(end) = u32::try_from(joined.len()) else {
            return members().collect();
        };
        ends.push(end);
    }
    // Each end follows the one before, on the boundary of a member just copied, so the
    // buffer is always taken; one id at a time otherwise.
    Ids::from_parts(joined, ends).unwrap_or_else(|| members().collect())
}
