//! Custom attributes (docs/PRODUCT-RULES.md#attributes): identified by their key, which is
//! unique in a project and never patched; at most 100 unarchived per Feature Experimentation
//! project, where the API also forces the name to equal the key.

use optisync_core::{
    DefinitionKind, DefinitionRules, Field, Fields, Matching, ObjectRules, RemoteObject,
};
use optisync_optimizely::{
    Attribute as ApiAttribute, AttributeUpdate, Client, Error as ApiError, NewAttribute, Product,
};

use super::{BoxFuture, Definition, flag, list_as, put_text, text};

/// Feature Experimentation's limit of unarchived attributes per project.
pub const FX_UNARCHIVED_LIMIT: u64 = 100;

/// The attribute destination.
#[derive(Debug)]
pub struct Attribute;

static RULES: DefinitionRules = DefinitionRules {
    kind: DefinitionKind::Attribute,
    object: ObjectRules {
        object: "attribute",
        fields: &[Field::Key, Field::Name, Field::Description, Field::Archived],
        required: Some(Field::Key),
        named_by_template: false,
    },
    identity: Field::Key,
    matching: Matching::ByIdentity,
    create_defaults: |_| {},
    create_note: None,
    fx_unarchived_limit: Some(FX_UNARCHIVED_LIMIT),
};

/// Why a `name` mapping is dropped on Feature Experimentation.
const FX_NAME: &[(Field, &str)] = &[(
    Field::Name,
    "on Feature Experimentation projects an attribute's name is always its key",
)];

impl Definition for Attribute {
    fn rules(&self) -> &'static DefinitionRules {
        &RULES
    }

    fn ignored_fields(&self, product: Product) -> &'static [(Field, &'static str)] {
        if product == Product::FeatureExperimentation {
            FX_NAME
        } else {
            &[]
        }
    }

    fn list<'a>(
        &'a self,
        client: &'a Client,
        project_id: i64,
    ) -> BoxFuture<'a, Result<Vec<RemoteObject>, ApiError>> {
        // Every attribute of the project, archived ones included.
        list_as::<ApiAttribute>(client, project_id, |_| true, remote)
    }

    fn create<'a>(
        &'a self,
        client: &'a Client,
        project_id: i64,
        fields: &'a Fields,
    ) -> BoxFuture<'a, Result<i64, ApiError>> {
        Box::pin(async move {
            let mut body =
                NewAttribute::new(project_id, text(fields, Field::Key).unwrap_or_default());
            body.name = text(fields, Field::Name);
            body.description = text(fields, Field::Description);
            body.archived = flag(fields, Field::Archived);
            client.create::<ApiAttribute>((), &body).await.map(|a| a.id)
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
            let body = AttributeUpdate {
                key: text(changed, Field::Key),
                name: text(changed, Field::Name),
                description: text(changed, Field::Description),
                archived,
            };
            client.update::<ApiAttribute>((), id, &body).await.map(drop)
        })
    }
}

/// A listed attribute as fields.
pub(crate) fn remote(a: &ApiAttribute) -> RemoteObject {
    let mut fields = Fields::new();
    put_text(&mut fields, Field::Key, Some(&a.key));
    put_text(&mut fields, Field::Name, a.name.as_deref());
    put_text(&mut fields, Field::Description, a.description.as_deref());
    RemoteObject {
        id: a.id,
        archived: a.is_archived(),
        fields,
    }
}
