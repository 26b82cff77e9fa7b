//! Custom events (docs/PRODUCT-RULES.md#custom-events): identified by their key; a create
//! fills in what the API would default (name = key, category `other`) so that state holds
//! what the object really has; written under the project's path.

use optisync_core::{
    DefinitionKind, DefinitionRules, EventCategory, Field, FieldValue, Fields, Matching,
    ObjectRules, RemoteObject,
};
use optisync_optimizely::{
    Client, CustomEventUpdate, Error as ApiError, Event, EventCategory as ApiCategory,
    NewCustomEvent,
};

use super::{BoxFuture, Definition, flag, list_as, put_text, text};

/// The custom-event destination.
#[derive(Debug)]
pub struct CustomEvent;

static RULES: DefinitionRules = DefinitionRules {
    kind: DefinitionKind::CustomEvent,
    object: ObjectRules {
        object: "custom_event",
        fields: &[
            Field::Key,
            Field::Name,
            Field::Description,
            Field::Category,
            Field::Archived,
        ],
        required: Some(Field::Key),
        named_by_template: false,
    },
    identity: Field::Key,
    matching: Matching::ByIdentity,
    create_defaults,
    create_note: Some("new custom events can take a few minutes to appear in the Optimizely UI"),
    fx_unarchived_limit: None,
};

fn create_defaults(fields: &mut Fields) {
    if fields.get(Field::Name).is_none()
        && let Some(key) = fields.get(Field::Key).cloned()
    {
        fields.insert(Field::Name, key);
    }
    if fields.get(Field::Category).is_none() {
        fields.insert(
            Field::Category,
            FieldValue::Text(EventCategory::Other.as_str().to_owned()),
        );
    }
}

impl Definition for CustomEvent {
    fn rules(&self) -> &'static DefinitionRules {
        &RULES
    }

    fn list<'a>(
        &'a self,
        client: &'a Client,
        project_id: i64,
    ) -> BoxFuture<'a, Result<Vec<RemoteObject>, ApiError>> {
        // The events listing holds every event type; only custom events are ours.
        list_as::<Event>(client, project_id, Event::is_custom, remote)
    }

    fn create<'a>(
        &'a self,
        client: &'a Client,
        project_id: i64,
        fields: &'a Fields,
    ) -> BoxFuture<'a, Result<i64, ApiError>> {
        Box::pin(async move {
            let mut body = NewCustomEvent::new(text(fields, Field::Key).unwrap_or_default());
            body.name = text(fields, Field::Name);
            body.description = text(fields, Field::Description);
            body.category = fields.text(Field::Category).map(ApiCategory::from);
            body.archived = flag(fields, Field::Archived);
            client
                .create::<Event>(project_id, &body)
                .await
                .map(|e| e.id)
        })
    }

    fn update<'a>(
        &'a self,
        client: &'a Client,
        project_id: i64,
        id: i64,
        changed: &'a Fields,
        archived: Option<bool>,
    ) -> BoxFuture<'a, Result<(), ApiError>> {
        Box::pin(async move {
            let body = CustomEventUpdate {
                key: text(changed, Field::Key),
                name: text(changed, Field::Name),
                description: text(changed, Field::Description),
                category: changed.text(Field::Category).map(ApiCategory::from),
                archived,
            };
            client
                .update::<Event>(project_id, id, &body)
                .await
                .map(drop)
        })
    }
}

/// A listed custom event as fields.
pub(crate) fn remote(e: &Event) -> RemoteObject {
    let mut fields = Fields::new();
    put_text(&mut fields, Field::Key, e.key.as_deref());
    put_text(&mut fields, Field::Name, e.name.as_deref());
    put_text(&mut fields, Field::Description, e.description.as_deref());
    put_text(
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
