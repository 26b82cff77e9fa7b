//! Audiences (docs/PRODUCT-RULES.md#audiences): named by the sync's `audience_name`
//! template, matched by the id state recorded for the row, else by exact name (names are not
//! unique in a project, and may be renamed); the condition tree is compared as JSON and sent
//! as the string the API expects (docs/OPTIMIZELY-API.md#condition-transport).

use optisync_core::{
    Conditions, DefinitionKind, DefinitionRules, Field, FieldValue, Fields, Matching, ObjectRules,
    RemoteObject,
};
use optisync_optimizely::{
    Audience as ApiAudience, AudienceUpdate, Client, Error as ApiError, NewAudience,
};

use super::{BoxFuture, Definition, flag, list_as, put_text, text};

/// The audience destination.
#[derive(Debug)]
pub struct Audience;

static RULES: DefinitionRules = DefinitionRules {
    kind: DefinitionKind::Audience,
    object: ObjectRules {
        object: "audience",
        fields: &[
            Field::Name,
            Field::Description,
            Field::Conditions,
            Field::Archived,
        ],
        required: None,
        named_by_template: true,
    },
    identity: Field::Name,
    matching: Matching::ByRecordedIdThenIdentity,
    create_defaults: |_| {},
    create_note: None,
    fx_unarchived_limit: None,
};

fn conditions(fields: &Fields) -> Option<String> {
    match fields.get(Field::Conditions) {
        Some(FieldValue::Conditions(c)) => Some(c.to_api_string()),
        _ => None,
    }
}

impl Definition for Audience {
    fn rules(&self) -> &'static DefinitionRules {
        &RULES
    }

    fn list<'a>(
        &'a self,
        client: &'a Client,
        project_id: i64,
    ) -> BoxFuture<'a, Result<Vec<RemoteObject>, ApiError>> {
        // Every audience of the project, archived ones included.
        list_as::<ApiAudience>(client, project_id, |_| true, remote)
    }

    fn create<'a>(
        &'a self,
        client: &'a Client,
        project_id: i64,
        fields: &'a Fields,
    ) -> BoxFuture<'a, Result<i64, ApiError>> {
        Box::pin(async move {
            let body = NewAudience {
                project_id,
                name: text(fields, Field::Name),
                description: text(fields, Field::Description),
                conditions: conditions(fields),
                segmentation: None,
                archived: flag(fields, Field::Archived),
            };
            client.create::<ApiAudience>((), &body).await.map(|a| a.id)
        })
    }

    fn update<'a>(
        &'a self,
        client: &'a Client,
        _project_id: i64,
        id: i64,
        changed: &'a Fields,
        archived: Option<bool>,
    ) -> BoxFuture<'a, Result<(), ApiError>> {
        Box::pin(async move {
            let body = AudienceUpdate {
                name: text(changed, Field::Name),
                description: text(changed, Field::Description),
                conditions: conditions(changed),
                archived,
                ..AudienceUpdate::default()
            };
            client.update::<ApiAudience>((), id, &body).await.map(drop)
        })
    }
}

/// A listed audience as fields.
pub(crate) fn remote(a: &ApiAudience) -> RemoteObject {
    let mut fields = Fields::new();
    put_text(&mut fields, Field::Name, a.name.as_deref());
    put_text(&mut fields, Field::Description, a.description.as_deref());
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
