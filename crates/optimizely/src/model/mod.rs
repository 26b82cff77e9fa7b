//! The API's objects as Rust types: what the server returns (lenient: unknown fields are
//! ignored, optional fields default), what a create sends, and partial updates that serialize
//! only the fields that are set. Ids are `i64` everywhere.

mod attribute;
mod audience;
mod event;
mod list_attribute;
mod project;
mod string_enum;

pub use attribute::{Attribute, AttributeUpdate, ConditionType, NewAttribute};
pub use audience::{Audience, AudienceUpdate, NewAudience};
pub use event::{CustomEventUpdate, Event, EventCategory, EventType, NewCustomEvent};
pub use list_attribute::{ListAttribute, ListAttributeUpdate, ListType, NewListAttribute};
pub use project::{Platform, Product, Project, ProjectStatus};

#[cfg(test)]
#[allow(clippy::unwrap_used)] // a failing unwrap is a failing test
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn updates_send_only_what_is_set() {
        let update = AttributeUpdate {
            description: Some("d".into()),
            ..Default::default()
        };
        assert_eq!(
            serde_json::to_value(&update).unwrap(),
            json!({"description": "d"})
        );
        let update = AudienceUpdate {
            archived: Some(true),
            ..Default::default()
        };
        assert_eq!(
            serde_json::to_value(&update).unwrap(),
            json!({"archived": true})
        );
        let update = CustomEventUpdate {
            category: Some(EventCategory::Purchase),
            ..Default::default()
        };
        assert_eq!(
            serde_json::to_value(&update).unwrap(),
            json!({"category": "purchase"})
        );
        let update = ListAttributeUpdate {
            list_content: Some("a,b".into()),
            list_type: Some(ListType::Cookies),
            ..Default::default()
        };
        assert_eq!(
            serde_json::to_value(&update).unwrap(),
            json!({"list_content": "a,b", "list_type": "cookies"})
        );
    }

    #[test]
    fn creates_serialize_required_fields() {
        assert_eq!(
            serde_json::to_value(NewAttribute::new(7, "plan")).unwrap(),
            json!({"project_id": 7, "key": "plan"})
        );
        assert_eq!(
            serde_json::to_value(NewCustomEvent::new("bought")).unwrap(),
            json!({"key": "bought", "event_type": "custom"})
        );
    }

    #[test]
    fn real_responses_parse_with_unknown_fields() {
        let attr: Attribute = serde_json::from_value(json!({
            "archived": false, "condition_type": "custom_attribute", "description": "",
            "id": 26690530101_i64, "key": "region_state", "last_modified": "2023-12-07T16:45:14.515430Z",
            "name": "region_state", "project_id": 26592390574_i64, "brand_new": [1]
        }))
        .unwrap();
        assert_eq!(attr.id, 26690530101);
        assert_eq!(attr.condition_type, Some(ConditionType::CustomAttribute));

        let audience: Audience = serde_json::from_value(json!({
            "archived": false, "conditions": "[\"and\", {\"type\": \"custom_attribute\"}]",
            "id": 26664170206_i64, "project_id": 26592390574_i64, "experiment_count": 0,
            "for_journey": false
        }))
        .unwrap();
        assert!(audience.conditions.unwrap().starts_with("[\"and\""));

        let event: Event = serde_json::from_value(json!({
            "id": 5, "key": "k", "event_type": "custom", "category": "other",
            "config": {"selector": "a"}, "event_properties": []
        }))
        .unwrap();
        assert!(event.is_custom());
        assert_eq!(event.category, Some(EventCategory::Unclassified));

        let list: ListAttribute = serde_json::from_value(json!({
            "id": 9, "name": "vip", "list_type": "zip_codes", "key_field": "zip",
            "aws_secret_key": "placeholder", "s3_path": "s3://x"
        }))
        .unwrap();
        assert_eq!(list.list_type, Some(ListType::ZipCodes));
    }
}
