//! One module per Optimizely object type, in the spirit of one folder per sink: each owns
//! everything that object type means to optisync (docs/PRODUCT-RULES.md#object-types-and-modes):
//!
//! - its fields (allowed and required), its identity and how a row is matched, its create
//!   defaults: the [`DefinitionRules`] (or, for the list, [`ObjectRules`]) core plans with;
//! - the conversion of fields to the create and update request bodies, and of the listed
//!   API object back to fields;
//! - the client endpoints it calls.
//!
//! The planner, apply, reconcile, saved-plan checks and the command line's `check` ask
//! these modules; none of them matches on an object type. Adding an object type is one new
//! module here plus its registration: a variant of [`DefinitionKind`] and one arm in
//! [`definition`] (the compiler points at both). docs/ARCHITECTURE.md has the checklist.

use std::future::Future;
use std::pin::Pin;

use optisync_core::{
    DefinitionKind, DefinitionRules, Field, FieldValue, Fields, ObjectRules, RemoteObject, SyncKind,
};
use optisync_optimizely::{Client, Error as ApiError, Product, Resource};

pub mod attribute;
pub mod audience;
pub mod custom_event;
pub mod list_attribute;
pub mod odp_attribute;

/// A boxed future, so that object types can be chosen at run time.
pub type BoxFuture<'a, T> = Pin<Box<dyn Future<Output = T> + Send + 'a>>;

/// An object type written one row, one object: audiences, attributes, custom events.
pub trait Definition: Sync {
    /// What core plans with.
    fn rules(&self) -> &'static DefinitionRules;

    /// Mapped fields the API ignores on `product`, with why (a warning names them and the
    /// mapping drops them).
    fn ignored_fields(&self, _product: Product) -> &'static [(Field, &'static str)] {
        &[]
    }

    /// Every object of this type in the project, archived ones included.
    fn list<'a>(
        &'a self,
        client: &'a Client,
        project_id: i64,
    ) -> BoxFuture<'a, Result<Vec<RemoteObject>, ApiError>>;

    /// Creates the object `fields` describe; returns its id.
    fn create<'a>(
        &'a self,
        client: &'a Client,
        project_id: i64,
        fields: &'a Fields,
    ) -> BoxFuture<'a, Result<i64, ApiError>>;

    /// Patches object `id`: sends the `changed` fields, and `archived` when given.
    fn update<'a>(
        &'a self,
        client: &'a Client,
        project_id: i64,
        id: i64,
        changed: &'a Fields,
        archived: Option<bool>,
    ) -> BoxFuture<'a, Result<(), ApiError>>;
}

/// The registry: the module of each definition kind.
pub fn definition(kind: DefinitionKind) -> &'static dyn Definition {
    match kind {
        DefinitionKind::Audience => &audience::Audience,
        DefinitionKind::Attribute => &attribute::Attribute,
        DefinitionKind::CustomEvent => &custom_event::CustomEvent,
    }
}

/// The mapping rules of the object type `kind` writes.
pub fn object_rules(kind: SyncKind) -> &'static ObjectRules {
    match kind {
        SyncKind::List { .. } => &list_attribute::RULES,
        SyncKind::OdpAttribute { .. } => &odp_attribute::RULES,
        SyncKind::Definition { kind, .. } => &definition(kind).rules().object,
    }
}

/// Lists the project's `R`s as remote objects, keeping those `keep` accepts: the `list` of
/// every definition module.
pub(crate) fn list_as<'a, R: Resource>(
    client: &'a Client,
    project_id: i64,
    keep: fn(&R) -> bool,
    remote: fn(&R) -> RemoteObject,
) -> BoxFuture<'a, Result<Vec<RemoteObject>, ApiError>> {
    Box::pin(async move {
        let listed = client.list::<R>(project_id).await?;
        Ok(listed.iter().filter(|r| keep(r)).map(remote).collect())
    })
}

/// A field's text, for request bodies.
pub(crate) fn text(fields: &Fields, field: Field) -> Option<String> {
    fields.text(field).map(str::to_owned)
}

/// A field's flag, for request bodies.
pub(crate) fn flag(fields: &Fields, field: Field) -> Option<bool> {
    match fields.get(field) {
        Some(FieldValue::Bool(b)) => Some(*b),
        _ => None,
    }
}

/// Sets `field` from a listed object's optional text.
pub(crate) fn put_text(fields: &mut Fields, field: Field, value: Option<&str>) {
    if let Some(value) = value {
        fields.insert(field, FieldValue::Text(value.to_owned()));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_kind_is_registered_with_its_own_rules() {
        for kind in DefinitionKind::ALL {
            let rules = definition(kind).rules();
            assert_eq!(rules.kind, kind);
            assert_eq!(rules.object.object, kind.as_str());
            assert!(rules.object.fields.contains(&rules.identity));
        }
    }
}
