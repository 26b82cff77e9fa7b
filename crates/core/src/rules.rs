//! What the mapping and the planner need to know of one object type, as data: its fields,
//! how a row finds its remote object, what a create fills in. Core knows no object type by
//! name; each destination module in the engine (`optisync_engine::destination`) owns one of
//! these and hands it to [`Mapping::new`](crate::Mapping::new) and
//! [`plan_definitions`](crate::plan_definitions).

use std::fmt;

use crate::fields::Fields;
use crate::kind::DefinitionKind;
use crate::mapping::Field;

/// The mapping rules of an object type.
pub struct ObjectRules {
    /// The config spelling (`list_attribute`, `audience`, …).
    pub object: &'static str,
    /// The fields a mapping may set, in a stable order.
    pub fields: &'static [Field],
    /// The field the mapping must set; its column is also the default primary key.
    pub required: Option<Field>,
    /// Whether rows are named by the sync's `audience_name` template (which is then
    /// required, and names the rows when no primary key is configured).
    pub named_by_template: bool,
}

/// How a definition row finds its remote object.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Matching {
    /// By its identity field alone (a key is unique in a project and cannot change).
    ByIdentity,
    /// By the id state recorded for the row's primary key, else by its identity (a name,
    /// which the API does not keep unique and which may be renamed).
    ByRecordedIdThenIdentity,
}

/// The planning rules of a definition kind (one row, one object).
pub struct DefinitionRules {
    /// The kind.
    pub kind: DefinitionKind,
    /// Its mapping rules.
    pub object: ObjectRules,
    /// The field whose text identifies the object in the project; a row without it is
    /// rejected, and two rows with the same one are both rejected.
    pub identity: Field,
    /// How a row is matched to a remote object.
    pub matching: Matching,
    /// Fills in what the API would default on create, so that state records what the
    /// object really holds (never applied to updates: a value set by hand stays).
    pub create_defaults: fn(&mut Fields),
    /// A note shown when a plan creates objects of this kind.
    pub create_note: Option<&'static str>,
    /// On Feature Experimentation, the most unarchived objects of this kind a project may
    /// hold, if the API limits them.
    pub fx_unarchived_limit: Option<u64>,
}

impl DefinitionRules {
    /// Whether a row may change the identity field of a matched object (only when it was
    /// matched another way than by that field).
    pub fn identity_is_updatable(&self) -> bool {
        self.matching == Matching::ByRecordedIdThenIdentity
    }
}

impl fmt::Debug for ObjectRules {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ObjectRules")
            .field("object", &self.object)
            .field("fields", &self.fields)
            .field("required", &self.required)
            .finish_non_exhaustive()
    }
}

impl fmt::Debug for DefinitionRules {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("DefinitionRules")
            .field("kind", &self.kind)
            .field("identity", &self.identity)
            .field("matching", &self.matching)
            .finish_non_exhaustive()
    }
}

impl PartialEq for ObjectRules {
    fn eq(&self, other: &Self) -> bool {
        self.object == other.object
    }
}

impl Eq for ObjectRules {}

impl PartialEq for DefinitionRules {
    fn eq(&self, other: &Self) -> bool {
        self.kind == other.kind
    }
}

/// Sample rules shaped like Optimizely's object types, for testing the generic mapping and
/// planner inside this crate. The real ones are the engine's destination modules.
#[cfg(test)]
pub(crate) mod samples {
    use super::*;
    use crate::fields::FieldValue;
    use crate::kind::DefinitionKind;

    pub(crate) static LIST: ObjectRules = ObjectRules {
        object: "list_attribute",
        fields: &[Field::UserId],
        required: Some(Field::UserId),
        named_by_template: false,
    };

    pub(crate) static AUDIENCE: DefinitionRules = DefinitionRules {
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

    pub(crate) static ATTRIBUTE: DefinitionRules = DefinitionRules {
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
        fx_unarchived_limit: Some(100),
    };

    pub(crate) static CUSTOM_EVENT: DefinitionRules = DefinitionRules {
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
        create_defaults: |fields| {
            if fields.get(Field::Name).is_none()
                && let Some(key) = fields.get(Field::Key).cloned()
            {
                fields.insert(Field::Name, key);
            }
            if fields.get(Field::Category).is_none() {
                fields.insert(Field::Category, FieldValue::Text("other".to_owned()));
            }
        },
        create_note: Some(
            "new custom events can take a few minutes to appear in the Optimizely UI",
        ),
        fx_unarchived_limit: None,
    };
}
