//! List attributes (`/list_attributes`, Web only). `list_content` is one comma-separated
//! string and every write of it replaces the whole list (docs/OPTIMIZELY-API.md#list-content).

use serde::{Deserialize, Serialize};

use super::string_enum::string_enum;

string_enum! {
    /// Where the targeting id lives on the visitor's side.
    ListType {
        /// A cookie named `key_field`.
        Cookies => "cookies",
        /// A query parameter named `key_field`.
        QueryParameters => "query_parameters",
        /// ZIP codes.
        ZipCodes => "zip_codes",
        /// A global JavaScript variable named `key_field`.
        JsVariables => "js_variables",
    }
}

/// A list attribute as the API returns it. The S3 upload credentials the API also returns are
/// deliberately not modelled, so they can never end up in logs.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ListAttribute {
    /// List attribute id.
    pub id: i64,
    /// Project id.
    #[serde(default)]
    pub project_id: Option<i64>,
    /// Owning account.
    #[serde(default)]
    pub account_id: Option<i64>,
    /// Name, unique per project (the natural key).
    pub name: String,
    /// Description.
    #[serde(default)]
    pub description: Option<String>,
    /// Name of the cookie / query parameter / JS variable holding the id.
    #[serde(default)]
    pub key_field: Option<String>,
    /// Kind of `key_field`.
    #[serde(default)]
    pub list_type: Option<ListType>,
    /// The comma-separated list, when the server returns it.
    #[serde(default)]
    pub list_content: Option<String>,
    /// Archived.
    #[serde(default)]
    pub archived: Option<bool>,
    /// Creation time (RFC 3339).
    #[serde(default)]
    pub created: Option<String>,
    /// Last modification time (RFC 3339).
    #[serde(default)]
    pub last_modified: Option<String>,
}

impl ListAttribute {
    /// True when archived.
    pub fn is_archived(&self) -> bool {
        self.archived == Some(true)
    }
}

/// `POST /list_attributes` body.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct NewListAttribute {
    /// Project id (required).
    pub project_id: i64,
    /// Name (required): `^[-_0-9A-Za-z]+$`.
    pub name: String,
    /// Name of the cookie / query parameter / JS variable (required).
    pub key_field: String,
    /// Kind of `key_field` (always sent).
    pub list_type: ListType,
    /// The comma-separated list.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub list_content: Option<String>,
    /// Description.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    /// Archived.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub archived: Option<bool>,
}

/// `PATCH /list_attributes/{id}` body: only the fields that are `Some` are sent. Setting
/// `list_content` replaces the whole list.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct ListAttributeUpdate {
    /// New name.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    /// New description.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    /// New key field.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub key_field: Option<String>,
    /// New list type.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub list_type: Option<ListType>,
    /// The complete new list (replaces the old one).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub list_content: Option<String>,
    /// Archive or unarchive.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub archived: Option<bool>,
}
