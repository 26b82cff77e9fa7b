//! Attributes: status codes, defaults, read-only fields, uniqueness, archive, FX cap.
#![allow(clippy::unwrap_used)]

mod support;

use serde_json::json;
use support::{Api, FX, WEB, assert_id, assert_timestamp};

#[tokio::test]
async fn create_on_fx_sets_name_to_key_and_api_defaults() {
    let api = Api::new();
    let r = api
        .post(
            "/v2/attributes",
            json!({"project_id": FX, "key": "region_state", "name": "Ignored on FX"}),
        )
        .await;
    assert_eq!(r.status, 201, "{}", r.text);
    assert_id(&r.body["id"]);
    assert_timestamp(&r.body["last_modified"]);
    assert_eq!(r.body["name"], "region_state");
    assert_eq!(r.body["description"], "");
    assert_eq!(r.body["archived"], false);
    assert_eq!(r.body["condition_type"], "custom_attribute");
    assert_eq!(r.body["project_id"], FX);
    assert!(
        r.body.get("created").is_none(),
        "attributes have no created"
    );
    assert_eq!(r.header("content-type"), Some("application/json"));
    // Python-style body, keys sorted, like the real server.
    assert!(
        r.text
            .starts_with("{\"archived\": false, \"condition_type\": \"custom_attribute\", "),
        "{}",
        r.text
    );
}

#[tokio::test]
async fn create_on_web_keeps_the_name() {
    let api = Api::new();
    let r = api
        .post(
            "/v2/attributes",
            json!({"project_id": WEB, "key": "plan", "name": "Plan", "description": "d"}),
        )
        .await;
    assert_eq!(r.status, 201);
    assert_eq!(r.body["name"], "Plan");
    assert_eq!(r.body["description"], "d");
}

#[tokio::test]
async fn read_only_fields_in_the_body_are_ignored() {
    let api = Api::new();
    let r = api
        .post(
            "/v2/attributes",
            json!({"project_id": FX, "key": "k", "id": 5, "last_modified": "yesterday",
                   "condition_type": "custom_dimension", "unknown_field": [1, 2]}),
        )
        .await;
    assert_eq!(r.status, 201, "{}", r.text);
    assert_ne!(r.body["id"], 5);
    assert_eq!(r.body["condition_type"], "custom_attribute");
    assert_ne!(r.body["last_modified"], "yesterday");
    assert!(r.body.get("unknown_field").is_none());
}

#[tokio::test]
async fn get_patch_delete_roundtrip_and_archive_keeps_the_object() {
    let api = Api::new();
    let id = api.create_attribute(WEB, "tier").await;
    let r = api.get(&format!("/v2/attributes/{id}")).await;
    assert_eq!(r.status, 200);
    assert_eq!(r.body["key"], "tier");

    let r = api
        .patch(
            &format!("/v2/attributes/{id}"),
            json!({"description": "new", "name": "Tier"}),
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.text);
    assert_eq!(r.body["description"], "new");
    assert_eq!(r.body["name"], "Tier");
    assert_eq!(r.body["key"], "tier", "partial update keeps other fields");

    let r = api.delete(&format!("/v2/attributes/{id}")).await;
    assert_eq!(r.status, 204);
    assert!(r.text.is_empty());
    assert!(r.header("content-type").is_none());

    let r = api.get(&format!("/v2/attributes/{id}")).await;
    assert_eq!(r.status, 200);
    assert_eq!(r.body["archived"], true);
    let list = api.get(&format!("/v2/attributes?project_id={WEB}")).await;
    assert_eq!(
        list.body.as_array().unwrap().len(),
        1,
        "archived attributes are still listed"
    );

    let r = api
        .patch(&format!("/v2/attributes/{id}"), json!({"archived": false}))
        .await;
    assert_eq!(r.body["archived"], false);
}

#[tokio::test]
async fn patch_key_on_fx_renames_name_too() {
    let api = Api::new();
    let id = api.create_attribute(FX, "old").await;
    let r = api
        .patch(
            &format!("/v2/attributes/{id}"),
            json!({"key": "new", "name": "x"}),
        )
        .await;
    assert_eq!(r.status, 200);
    assert_eq!(r.body["key"], "new");
    assert_eq!(r.body["name"], "new");
}

#[tokio::test]
async fn duplicate_keys_are_400_even_against_archived_ones() {
    let api = Api::new();
    let id = api.create_attribute(FX, "dup").await;
    api.delete(&format!("/v2/attributes/{id}")).await;
    let r = api
        .post("/v2/attributes", json!({"project_id": FX, "key": "dup"}))
        .await;
    r.assert_error(400, "bad_request");
    assert!(r.message().contains("already exists"), "{}", r.message());
    // Same key in another project is fine.
    api.create_attribute(WEB, "dup").await;
    // Renaming onto an existing key is refused too.
    let other = api.create_attribute(FX, "other").await;
    let r = api
        .patch(&format!("/v2/attributes/{other}"), json!({"key": "dup"}))
        .await;
    r.assert_error(400, "bad_request");
    assert!(r.message().contains("already exists"));
    // Patching an attribute with its own key is not a duplicate.
    let r = api
        .patch(&format!("/v2/attributes/{other}"), json!({"key": "other"}))
        .await;
    assert_eq!(r.status, 200);
}

#[tokio::test]
async fn fx_projects_hold_at_most_100_unarchived_attributes() {
    let api = Api::new();
    let mut ids = Vec::new();
    for i in 0..100 {
        ids.push(api.create_attribute(FX, &format!("a{i}")).await);
    }
    let r = api
        .post("/v2/attributes", json!({"project_id": FX, "key": "a100"}))
        .await;
    r.assert_error(400, "bad_request");
    assert!(
        r.message().contains("at most 100 unarchived attributes"),
        "{}",
        r.message()
    );
    // Creating it archived is allowed, un-archiving it is not.
    let r = api
        .post(
            "/v2/attributes",
            json!({"project_id": FX, "key": "a100", "archived": true}),
        )
        .await;
    assert_eq!(r.status, 201);
    let archived_id = r.body["id"].as_i64().unwrap();
    let r = api
        .patch(
            &format!("/v2/attributes/{archived_id}"),
            json!({"archived": false}),
        )
        .await;
    r.assert_error(400, "bad_request");
    // Archive one: now the un-archive fits.
    assert_eq!(
        api.delete(&format!("/v2/attributes/{}", ids[0]))
            .await
            .status,
        204
    );
    let r = api
        .patch(
            &format!("/v2/attributes/{archived_id}"),
            json!({"archived": false}),
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.text);
    // Web projects have no such cap.
    for i in 0..101 {
        api.create_attribute(WEB, &format!("w{i}")).await;
    }
}

#[tokio::test]
async fn missing_attribute_is_404_and_bad_id_is_400() {
    let api = Api::new();
    api.get("/v2/attributes/26000000000")
        .await
        .assert_error(404, "not_found");
    api.patch("/v2/attributes/26000000000", json!({}))
        .await
        .assert_error(404, "not_found");
    api.delete("/v2/attributes/26000000000")
        .await
        .assert_error(404, "not_found");
    api.get("/v2/attributes/abc")
        .await
        .assert_error(400, "bad_request");
}
