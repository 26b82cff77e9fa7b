//! Events. All kinds are read through the generic `/events` resource; custom events are
//! created, updated and archived under `/projects/{id}/custom_events`.

use serde::{Deserialize, Serialize};

use super::string_enum::string_enum;

string_enum! {
    /// An event's `event_type`.
    EventType {
        /// Custom event (tracked by SDK calls); the only kind optisync writes.
        Custom => "custom",
        /// Web click event.
        Click => "click",
        /// Web pageview event.
        Pageview => "pageview",
        /// Classic custom event.
        ClassicCustom => "classic_custom",
        /// Classic click event.
        ClassicClick => "classic_click",
        /// Classic pageview event.
        ClassicPageview => "classic_pageview",
        /// Classic engagement event.
        ClassicEngagement => "classic_engagement",
        /// Classic revenue event.
        ClassicRevenue => "classic_revenue",
        /// Classic mobile tap event.
        ClassicMobileTap => "classic_mobile_tap",
        /// Classic mobile view event.
        ClassicMobileView => "classic_mobile_view",
        /// Classic mobile session length event.
        ClassicMobileSessionLength => "classic_mobile_session_length",
        /// Classic mobile number of sessions event.
        ClassicMobileNumSession => "classic_mobile_num_session",
    }
}

string_enum! {
    /// An event's `category` (the API's default is `other`).
    EventCategory {
        /// Add to cart.
        AddToCart => "add_to_cart",
        /// Save.
        Save => "save",
        /// Search.
        Search => "search",
        /// Share.
        Share => "share",
        /// Purchase.
        Purchase => "purchase",
        /// Convert.
        Convert => "convert",
        /// Sign up.
        SignUp => "sign_up",
        /// Subscribe.
        Subscribe => "subscribe",
        /// Other (default).
        Unclassified => "other",
    }
}

/// An event of any kind as `/events` returns it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Event {
    /// Event id.
    pub id: i64,
    /// Project id.
    #[serde(default)]
    pub project_id: Option<i64>,
    /// Key, unique per project.
    #[serde(default)]
    pub key: Option<String>,
    /// Name.
    #[serde(default)]
    pub name: Option<String>,
    /// Description.
    #[serde(default)]
    pub description: Option<String>,
    /// Kind of event.
    #[serde(default)]
    pub event_type: Option<EventType>,
    /// Category.
    #[serde(default)]
    pub category: Option<EventCategory>,
    /// Archived.
    #[serde(default)]
    pub archived: Option<bool>,
    /// Classic event.
    #[serde(default)]
    pub is_classic: Option<bool>,
    /// Whether the event can be edited.
    #[serde(default)]
    pub is_editable: Option<bool>,
    /// Page of a Web click/pageview event.
    #[serde(default)]
    pub page_id: Option<i64>,
    /// User-defined properties, kept as raw JSON.
    #[serde(default)]
    pub event_properties: Option<Vec<serde_json::Value>>,
    /// Creation time (RFC 3339).
    #[serde(default)]
    pub created: Option<String>,
    /// Last modification time (RFC 3339).
    #[serde(default)]
    pub last_modified: Option<String>,
}

impl Event {
    /// True for custom events.
    pub fn is_custom(&self) -> bool {
        self.event_type == Some(EventType::Custom)
    }

    /// True when archived.
    pub fn is_archived(&self) -> bool {
        self.archived == Some(true)
    }
}

/// `POST /projects/{id}/custom_events` body (the project comes from the path).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct NewCustomEvent {
    /// Key (required), unique per project.
    pub key: String,
    /// Always `custom`.
    #[serde(default = "custom")]
    pub event_type: EventType,
    /// Name.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    /// Description.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    /// Category.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub category: Option<EventCategory>,
    /// Archived.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub archived: Option<bool>,
}

fn custom() -> EventType {
    EventType::Custom
}

impl NewCustomEvent {
    /// A create body with only the key.
    pub fn new(key: impl Into<String>) -> Self {
        NewCustomEvent {
            key: key.into(),
            event_type: EventType::Custom,
            name: None,
            description: None,
            category: None,
            archived: None,
        }
    }
}

/// `PATCH /projects/{pid}/custom_events/{id}` body: only the fields that are `Some` are sent.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct CustomEventUpdate {
    /// New key.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub key: Option<String>,
    /// New name.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    /// New description.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    /// New category.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub category: Option<EventCategory>,
    /// Archive or unarchive.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub archived: Option<bool>,
}
