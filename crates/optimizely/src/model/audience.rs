//! Audiences (`/audiences`). `conditions` is a string holding JSON, exactly as on the wire
//! (docs/OPTIMIZELY-API.md#condition-transport); parsing and comparing condition trees belongs to the engine.

use serde::{Deserialize, Serialize};

/// An audience as the API returns it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Audience {
    /// Audience id.
    pub id: i64,
    /// Project id.
    #[serde(default)]
    pub project_id: Option<i64>,
    /// Name (not unique).
    #[serde(default)]
    pub name: Option<String>,
    /// Description.
    #[serde(default)]
    pub description: Option<String>,
    /// The condition tree serialized as a JSON string (re-serialized by the server).
    #[serde(default)]
    pub conditions: Option<String>,
    /// Archived.
    #[serde(default)]
    pub archived: Option<bool>,
    /// Classic results segmentation.
    #[serde(default)]
    pub segmentation: Option<bool>,
    /// Classic audience.
    #[serde(default)]
    pub is_classic: Option<bool>,
    /// How many experiments use it.
    #[serde(default)]
    pub experiment_count: Option<i64>,
    /// Creation time (RFC 3339).
    #[serde(default)]
    pub created: Option<String>,
    /// Last modification time (RFC 3339).
    #[serde(default)]
    pub last_modified: Option<String>,
}

impl Audience {
    /// True when archived.
    pub fn is_archived(&self) -> bool {
        self.archived == Some(true)
    }
}

/// `POST /audiences` body.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct NewAudience {
    /// Project id (required).
    pub project_id: i64,
    /// Name (optional in the spec, always sent by optisync).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    /// Description.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    /// The condition tree as a JSON string.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub conditions: Option<String>,
    /// Classic results segmentation.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub segmentation: Option<bool>,
    /// Archived.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub archived: Option<bool>,
}

impl NewAudience {
    /// A create body with a name and conditions.
    pub fn new(project_id: i64, name: impl Into<String>, conditions: impl Into<String>) -> Self {
        NewAudience {
            project_id,
            name: Some(name.into()),
            description: None,
            conditions: Some(conditions.into()),
            segmentation: None,
            archived: None,
        }
    }
}

/// `PATCH /audiences/{id}` body: only the fields that are `Some` are sent. Archiving an
/// audience is `archived: Some(true)` (there is no DELETE).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct AudienceUpdate {
    /// New name.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    /// New description.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    /// New conditions (JSON string).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub conditions: Option<String>,
    /// Archive or unarchive.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub archived: Option<bool>,
    /// Classic results segmentation.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub segmentation: Option<bool>,
}
