//! Audiences: conditions grammar, re-serialisation, defaults, partial updates.
#![allow(clippy::unwrap_used)]

mod support;

use serde_json::json;
use support::{Api, FX, WEB, assert_id, assert_timestamp};

const SENT: &str = r#"["and",["or",["or",{"name":"is_logged_in","value":false,"match_type":"exact","type":"custom_attribute"}]]]"#;
const STORED: &str = r#"["and", ["or", ["or", {"match_type": "exact", "name": "is_logged_in", "type": "custom_attribute", "value": false}]]]"#;

#[tokio::test]
async fn create_reserialises_conditions_like_the_real_server() {
    let api = Api::new();
    let r = api
        .post(
            "/v2/audiences",
            json!({"project_id": FX, "name": "Anonymous Users", "conditions": SENT,
                   "experiment_count": 9, "is_classic": true, "id": 1}),
        )
        .await;
    assert_eq!(r.status, 201, "{}", r.text);
    assert_eq!(r.body["conditions"], STORED);
    assert_id(&r.body["id"]);
    assert_timestamp(&r.body["created"]);
    assert_timestamp(&r.body["last_modified"]);
    assert_eq!(r.body["description"], "");
    assert_eq!(r.body["experiment_count"], 0);
    assert_eq!(r.body["is_classic"], false);
    assert_eq!(r.body["segmentation"], false);
    assert_eq!(r.body["archived"], false);
    let id = r.body["id"].as_i64().unwrap();
    let r = api.get(&format!("/v2/audiences/{id}")).await;
    assert_eq!(r.body["conditions"], STORED);
}

#[tokio::test]
async fn non_ascii_values_are_escaped_in_stored_conditions() {
    let api = Api::new();
    let conditions = r#"["and",{"type":"custom_attribute","name":"city","value":"Zürich"}]"#;
    let r = api
        .post(
            "/v2/audiences",
            json!({"project_id": WEB, "name": "z", "conditions": conditions}),
        )
        .await;
    assert_eq!(r.status, 201);
    assert_eq!(
        r.body["conditions"],
        r#"["and", {"name": "city", "type": "custom_attribute", "value": "Z\u00fcrich"}]"#
    );
}

#[tokio::test]
async fn invalid_conditions_are_400_saying_where() {
    let api = Api::new();
    let cases = [
        (json!(["and", {"type": "x"}]), "must be a string"),
        (json!("not json"), "not valid JSON"),
        (json!("[]"), "empty list"),
        (
            json!("[\"everyone\"]"),
            "conditions[0] must be the operator",
        ),
        (
            json!("[\"not\", {\"type\": \"a\"}, {\"type\": \"b\"}]"),
            "exactly one operand",
        ),
        (
            json!("[\"and\", [\"or\", {\"name\": \"n\"}]]"),
            "conditions[1][1]: a leaf condition needs a \"type\"",
        ),
        (
            json!("[\"and\", {\"type\": \"custom_attribute\", \"match_type\": \"almost\"}]"),
            "unknown match_type",
        ),
    ];
    for (conditions, expected) in cases {
        let r = api
            .post(
                "/v2/audiences",
                json!({"project_id": FX, "name": "n", "conditions": conditions}),
            )
            .await;
        r.assert_error(400, "bad_request");
        assert!(
            r.message().contains(expected),
            "{conditions}: {}",
            r.message()
        );
    }
    assert!(api.fake.state()["audiences"].as_array().unwrap().is_empty());
}

#[tokio::test]
async fn every_known_match_type_is_accepted() {
    let api = Api::new();
    for mt in [
        "exact",
        "exists",
        "substring",
        "gt",
        "ge",
        "lt",
        "le",
        "semver_eq",
        "semver_ge",
        "semver_gt",
        "semver_le",
        "semver_lt",
        "qualified",
        "regex",
    ] {
        let c = format!(
            r#"["and", {{"type": "custom_attribute", "name": "a", "match_type": "{mt}", "value": 1}}]"#
        );
        let r = api
            .post(
                "/v2/audiences",
                json!({"project_id": FX, "name": mt, "conditions": c}),
            )
            .await;
        assert_eq!(r.status, 201, "{mt}: {}", r.text);
    }
}

#[tokio::test]
async fn patch_is_partial_and_archives() {
    let api = Api::new();
    let r = api
        .post(
            "/v2/audiences",
            json!({"project_id": FX, "name": "A", "description": "d", "conditions": SENT}),
        )
        .await;
    let id = r.body["id"].as_i64().unwrap();
    let r = api
        .patch(&format!("/v2/audiences/{id}"), json!({"name": "B"}))
        .await;
    assert_eq!(r.status, 200);
    assert_eq!(r.body["name"], "B");
    assert_eq!(r.body["description"], "d");
    assert_eq!(r.body["conditions"], STORED);
    let r = api
        .patch(
            &format!("/v2/audiences/{id}"),
            json!({"archived": true, "conditions": "[\"or\", {\"type\": \"x\"}]"}),
        )
        .await;
    assert_eq!(r.body["archived"], true);
    assert_eq!(r.body["conditions"], "[\"or\", {\"type\": \"x\"}]");
    let r = api
        .patch(
            &format!("/v2/audiences/{id}"),
            json!({"conditions": "[\"nand\"]"}),
        )
        .await;
    r.assert_error(400, "bad_request");
    // No DELETE on audiences.
    let r = api.delete(&format!("/v2/audiences/{id}")).await;
    r.assert_error(405, "method_not_allowed");
    let list = api.get(&format!("/v2/audiences?project_id={FX}")).await;
    assert_eq!(list.body[0]["archived"], true);
}

#[tokio::test]
async fn conditions_stay_null_when_absent_and_names_need_not_be_unique() {
    let api = Api::new();
    let r = api
        .post("/v2/audiences", json!({"project_id": WEB, "name": "same"}))
        .await;
    assert_eq!(r.status, 201);
    assert_eq!(r.body["conditions"], serde_json::Value::Null, "{}", r.text);
    // `["and"]` is no stand-in for "no conditions": an operator needs an operand.
    let r = api
        .post(
            "/v2/audiences",
            json!({"project_id": WEB, "name": "all", "conditions": "[\"and\"]"}),
        )
        .await;
    r.assert_error(400, "bad_request");
    let r = api
        .post("/v2/audiences", json!({"project_id": WEB, "name": "same"}))
        .await;
    assert_eq!(r.status, 201);
    let r = api
        .post("/v2/audiences", json!({"name": "no project"}))
        .await;
    r.assert_error(400, "bad_request");
    assert!(r.message().contains("'project_id' is required"));
}
