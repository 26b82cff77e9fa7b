//! The ODP schema API (docs/ODP-API.md §4, §10.6): objects, fields, field creation with its
//! refusals, identifiers.
#![allow(clippy::unwrap_used)]

mod support;

use serde_json::{Value, json};
use support::odp::{Odp, assert_odp_timestamp, invalids, upsert_ok};

fn names(list: &Value) -> Vec<&str> {
    list.as_array()
        .unwrap()
        .iter()
        .map(|f| f["name"].as_str().unwrap())
        .collect()
}

#[tokio::test]
async fn objects_and_their_fields() {
    let odp = Odp::new();
    let r = odp.get("/v3/schema/objects").await;
    assert_eq!(r.status, 200, "{}", r.text);
    assert_eq!(names(&r.body), ["customers", "events"]);
    let r = odp.get("/v3/schema/objects/customers").await;
    assert_eq!(r.status, 200);
    assert_eq!(r.body["name"], "customers");
    assert_eq!(r.body["alias"], "customer");
    assert_eq!(r.body["display_name"], "Customers");
    assert_eq!(r.body["public_read"], false);
    assert_eq!(r.body["relations"], json!([]));
    let r = odp.get("/v3/schema/objects/customers/fields").await;
    assert_eq!(r.status, 200);
    let fields = r.body.as_array().unwrap();
    let of_type = |t: &str| -> Vec<&str> {
        fields
            .iter()
            .filter(|f| f["type"] == t)
            .map(|f| f["name"].as_str().unwrap())
            .collect()
    };
    assert_eq!(of_type("identifier"), ["email", "vuid", "fs_user_id"]);
    assert_eq!(of_type("boolean"), ["in_beta"], "the demo seed's field");
    assert_eq!(of_type("string").len(), 12, "the default customer fields");
    let r = odp.get("/v3/schema/objects/customers/fields/in_beta").await;
    assert_eq!(
        r.body,
        json!({
            "name": "in_beta", "display_name": "In Beta", "type": "boolean",
            "description": "In the beta programme", "public_read": false, "primary": false,
            "auto": false, "created_by": "account",
        })
    );
    let r = odp.get("/v3/schema/objects/customers/fields/email").await;
    assert_eq!(r.body["created_by"], "zaius");
    assert!(
        names(&odp.get("/v3/schema/objects/events/fields").await.body)
            .contains(&"event_fs_user_id")
    );
}

#[tokio::test]
async fn unknown_objects_and_fields_are_404() {
    let odp = Odp::new();
    for path in [
        "/v3/schema/objects/tickets",
        "/v3/schema/objects/tickets/fields",
        "/v3/schema/objects/tickets/fields/x",
        "/v3/schema/objects/customers/fields/nope",
    ] {
        let r = odp.get(path).await;
        assert_eq!(r.status, 404, "{path}: {}", r.text);
        assert_eq!(r.body["title"], "Not Found");
        assert_odp_timestamp(&r.body["timestamp"]);
        assert!(r.body["detail"]["message"].is_string());
    }
    let r = odp
        .post(
            "/v3/schema/objects/tickets/fields",
            json!({"name": "x", "display_name": "X", "type": "string"}),
        )
        .await;
    assert_eq!(r.status, 404, "{}", r.text);
}

#[tokio::test]
async fn creating_a_field_answers_200_with_it_and_it_is_usable_at_once() {
    let odp = Odp::new();
    let r = odp
        .post(
            "/v3/schema/objects/customers/fields",
            json!({"name": "loyalty_tier", "display_name": "Loyalty Tier", "type": "string", "description": "Tier"}),
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.text);
    assert_eq!(
        r.body,
        json!({"name": "loyalty_tier", "display_name": "Loyalty Tier", "description": "Tier", "type": "string"})
    );
    let r = odp
        .get("/v3/schema/objects/customers/fields/loyalty_tier")
        .await;
    assert_eq!(r.body["type"], "string");
    for (name, kind) in [
        ("score", "number"),
        ("vip", "boolean"),
        ("seen_at", "timestamp"),
    ] {
        let r = odp
            .post(
                "/v3/schema/objects/customers/fields",
                json!({"name": name, "display_name": name.to_uppercase(), "type": kind}),
            )
            .await;
        assert_eq!(r.status, 200, "{name}: {}", r.text);
        assert_eq!(r.body["description"], "");
    }
    upsert_ok(
        &odp,
        json!({"fs_user_id": "u1", "loyalty_tier": "gold", "score": "7.5", "vip": 1, "seen_at": "2024-05-01T10:00:00Z"}),
    )
    .await;
    assert_eq!(
        odp.get("/v3/profiles?fs_user_id=u1").await.body["attributes"],
        json!({"fs_user_id": "u1", "loyalty_tier": "gold", "score": 7.5, "vip": true, "seen_at": "2024-05-01T10:00:00Z"})
    );
}

#[tokio::test]
async fn refused_field_creates_name_every_reason() {
    let odp = Odp::new();
    let create = |body: Value| {
        let odp = odp.clone();
        async move { odp.post("/v3/schema/objects/customers/fields", body).await }
    };
    let r =
        create(json!({"name": "in_beta", "display_name": "Beta flag", "type": "boolean"})).await;
    assert_eq!(
        invalids(&r),
        vec![json!({"field": "name", "reason": "already used by another field"})]
    );
    let r = create(json!({"name": "email", "display_name": "Email 2", "type": "string"})).await;
    assert_eq!(
        invalids(&r)[0]["reason"],
        "already used by another field",
        "identifiers too"
    );
    let r = create(json!({"name": "beta2", "display_name": "In Beta", "type": "boolean"})).await;
    assert_eq!(
        invalids(&r),
        vec![json!({"field": "display_name", "reason": "already used by another field"})]
    );
    let r = create(json!({"name": "tier", "display_name": "Tier", "type": "vector"})).await;
    assert_eq!(
        invalids(&r),
        vec![
            json!({"field": "type", "reason": "must be one of number, timestamp, string, boolean"})
        ]
    );
    let r = create(json!({"name": "tier", "display_name": "Tier", "type": "identifier"})).await;
    assert_eq!(invalids(&r)[0]["field"], "type");
    for bad in ["Tier", "1tier", "tier-x", "_tier", "tier x"] {
        let r = create(json!({"name": bad, "display_name": bad, "type": "string"})).await;
        let items = invalids(&r);
        assert_eq!(items.len(), 1, "{bad}: {}", r.text);
        assert_eq!(items[0]["field"], "name", "{bad}");
    }
    let r = create(json!({"display_name": "No Name"})).await;
    let fields: Vec<Value> = invalids(&r).iter().map(|i| i["field"].clone()).collect();
    assert_eq!(fields, [json!("name"), json!("type")]);
    assert_eq!(create(json!([1])).await.status, 400);
    let r = odp
        .post_raw("/v3/schema/objects/customers/fields", b"{".to_vec())
        .await;
    assert_eq!(r.status, 400);
    // Nothing was added by the refusals.
    let count = odp
        .get("/v3/schema/objects/customers/fields")
        .await
        .body
        .as_array()
        .unwrap()
        .len();
    assert_eq!(count, 12 + 3 + 1);
}

#[tokio::test]
async fn creating_an_identifier_adds_it_to_customers_and_events() {
    let odp = Odp::new();
    let r = odp
        .post(
            "/v3/schema/identifiers",
            json!({"name": "loyalty_card_number", "display_name": "Loyalty Card Number", "merge_confidence": "high", "messaging": false}),
        )
        .await;
    assert_eq!(r.status, 201, "{}", r.text);
    assert_eq!(
        r.body,
        json!({
            "events": [{"name": "event_loyalty_card_number", "display_name": "Event Loyalty Card Number", "type": "identifier"}],
            "customers": [{"name": "loyalty_card_number", "display_name": "Last Seen Loyalty Card Number", "type": "identifier"}],
        })
    );
    let r = odp
        .get("/v3/schema/objects/customers/fields/loyalty_card_number")
        .await;
    assert_eq!(r.body["type"], "identifier");
    // It identifies profiles at once.
    upsert_ok(&odp, json!({"loyalty_card_number": "L-1", "city": "Oslo"})).await;
    assert_eq!(
        odp.get("/v3/profiles?loyalty_card_number=L-1").await.body["attributes"]["city"],
        "Oslo"
    );
    // Taken, bad suffixes, missing merge confidence.
    let r = odp
        .post(
            "/v3/schema/identifiers",
            json!({"name": "loyalty_card_number", "display_name": "Card Number", "merge_confidence": "low"}),
        )
        .await;
    assert_eq!(
        invalids(&r),
        vec![json!({"field": "customers.name", "reason": "already used by another field"})]
    );
    let r = odp
        .post(
            "/v3/schema/identifiers",
            json!({"name": "crm", "display_name": "CRM", "merge_confidence": "high"}),
        )
        .await;
    let fields: Vec<Value> = invalids(&r).iter().map(|i| i["field"].clone()).collect();
    assert_eq!(fields, [json!("name"), json!("display_name")]);
    let r = odp
        .post(
            "/v3/schema/identifiers",
            json!({"name": "crm_id", "display_name": "CRM ID"}),
        )
        .await;
    assert_eq!(
        invalids(&r),
        vec![json!({"field": "merge_confidence", "reason": "is required"})]
    );
}
