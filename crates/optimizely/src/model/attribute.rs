//! Custom attributes (`/attributes`): the read model, the create body and the partial update.

use serde::{Deserialize, Serialize};

use super::string_enum::string_enum;

string_enum! {
    /// An attribute's read-only `condition_type`.
    ConditionType {
        /// A custom attribute (the only kind v2 creates).
        CustomAttribute => "custom_attribute",
        /// A Classic custom dimension (read-only).
        CustomDimension => "custom_dimension",
    }
}

/// An attribute as the API returns it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Attribute {
    /// Attribute id.
    pub id: i64,
    /// Project id.
    #[serde(default)]
    pub project_id: Option<i64>,
    /// Key, unique per project; used by audience conditions.
    pub key: String,
    /// Name (equals the key in Feature Experimentation).
    #[serde(default)]
    pub name: Option<String>,
    /// Description.
    #[serde(default)]
    pub description: Option<String>,
    /// Archived.
    #[serde(default)]
    pub archived: Option<bool>,
    /// `custom_attribute` or `custom_dimension`.
    #[serde(default)]
    pub condition_type: Option<ConditionType>,
    /// Last modification time (RFC 3339).
    #[serde(default)]
    pub last_modified: Option<String>,
}

impl Attribute {
    /// True when archived.
    pub fn is_archived(&self) -> bool {
        self.archived == Some(true)
    }
}

/// `POST /attributes` body.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct NewAttribute {
    /// Project id (required).
    pub project_id: i64,
    /// Key (required): `^[a-zA-Z0-9_\- .]+$`, at most 64 characters.
    pub key: String,
    /// Name.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    /// Description.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    /// Archived.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub archived: Option<bool>,
}

impl NewAttribute {
    /// A create body with only the required fields.
    pub fn new(project_id: i64, key: impl Into<String>) -> Self {
        NewAttribute {
            project_id,
            key: key.into(),
            name: None,
            description: None,
            archived: None,
        }
    }
}

/// `PATCH /attributes/{id}` body: only the fields that are `Some` are sent.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct AttributeUpdate {
    /// New key.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub key: Option<String>,
    /// New name.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    /// New description.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    /// Archive or unarchive.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub archived: Option<bool>,
}
