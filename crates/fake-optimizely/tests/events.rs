//! Events: custom-event writes under the project path, reads of every kind via /events.
#![allow(clippy::unwrap_used)]

mod support;

use serde_json::json;
use support::{Api, FOREIGN, FX, MISSING, WEB, assert_id, assert_timestamp, test_seed};

#[tokio::test]
async fn create_custom_event_defaults_like_the_real_server() {
    let api = Api::new();
    let r = api
        .post(
            &format!("/v2/projects/{FX}/custom_events"),
            json!({"event_type": "custom", "key": "add_to_cart", "description": "Item added",
                   "project_id": 1, "is_classic": true}),
        )
        .await;
    assert_eq!(r.status, 201, "{}", r.text);
    assert_id(&r.body["id"]);
    assert_timestamp(&r.body["created"]);
    assert_eq!(r.body["name"], "add_to_cart");
    assert_eq!(r.body["category"], "other");
    assert_eq!(r.body["event_type"], "custom");
    assert_eq!(r.body["project_id"], FX, "project_id comes from the path");
    assert_eq!(r.body["is_classic"], false);
    assert_eq!(r.body["archived"], false);
    let keys: Vec<&String> = r.body.as_object().unwrap().keys().collect();
    assert_eq!(
        keys,
        [
            "archived",
            "category",
            "created",
            "description",
            "event_type",
            "id",
            "is_classic",
            "key",
            "name",
            "project_id"
        ],
        "the create response has exactly the fields the real API answers"
    );
}

#[tokio::test]
async fn custom_event_with_properties_category_and_name() {
    let api = Api::new();
    let r = api
        .post(
            &format!("/v2/projects/{WEB}/custom_events"),
            json!({"key": "buy", "name": "Buy", "category": "purchase",
                   "event_properties": [{"name": "amount", "data_type": "number"}]}),
        )
        .await;
    assert_eq!(r.status, 201, "{}", r.text);
    assert_eq!(r.body["name"], "Buy");
    assert_eq!(r.body["category"], "purchase");
    assert_eq!(r.body["event_properties"][0]["data_type"], "number");
}

#[tokio::test]
async fn list_returns_all_kinds_and_get_reads_one() {
    let mut seed = test_seed();
    seed.events = vec![
        json!({"project_id": WEB, "key": "home", "event_type": "pageview", "page_id": 123}),
        json!({"project_id": WEB, "key": "cta", "event_type": "click"}),
        json!({"project_id": WEB, "key": "legacy", "event_type": "classic_custom", "is_classic": true}),
    ];
    let api = Api::with_seed(seed);
    let r = api
        .post(
            &format!("/v2/projects/{WEB}/custom_events"),
            json!({"key": "signup"}),
        )
        .await;
    let id = r.body["id"].as_i64().unwrap();
    let list = api.get(&format!("/v2/events?project_id={WEB}")).await;
    assert_eq!(list.status, 200);
    let types: Vec<&str> = list
        .body
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["event_type"].as_str().unwrap())
        .collect();
    assert_eq!(
        types,
        ["pageview", "click", "custom"],
        "classic events hidden by default"
    );
    let with_classic = api
        .get(&format!("/v2/events?project_id={WEB}&include_classic=true"))
        .await;
    assert_eq!(with_classic.body.as_array().unwrap().len(), 4);
    let one = api.get(&format!("/v2/events/{id}")).await;
    assert_eq!(one.status, 200);
    assert_eq!(one.body["key"], "signup");
    assert_timestamp(&one.body["last_modified"]);
    assert_eq!(one.body["is_editable"], true);
    api.get("/v2/events/26000000000")
        .await
        .assert_error(404, "not_found");
}

#[tokio::test]
async fn keys_are_unique_among_all_events_of_the_project_including_archived() {
    let mut seed = test_seed();
    seed.events = vec![json!({"project_id": FX, "key": "pv", "event_type": "pageview"})];
    let api = Api::with_seed(seed);
    let path = format!("/v2/projects/{FX}/custom_events");
    let r = api.post(&path, json!({"key": "pv"})).await;
    r.assert_error(400, "bad_request");
    assert!(r.message().contains("already exists"));
    let r = api.post(&path, json!({"key": "e1"})).await;
    let id = r.body["id"].as_i64().unwrap();
    assert_eq!(api.delete(&format!("{path}/{id}")).await.status, 204);
    let r = api.post(&path, json!({"key": "e1"})).await;
    r.assert_error(400, "bad_request");
    assert!(r.message().contains("already exists"));
    assert_eq!(
        api.post(
            &format!("/v2/projects/{WEB}/custom_events"),
            json!({"key": "e1"})
        )
        .await
        .status,
        201
    );
}

#[tokio::test]
async fn patch_and_archive_custom_events() {
    let api = Api::new();
    let path = format!("/v2/projects/{FX}/custom_events");
    let id = api.post(&path, json!({"key": "k"})).await.body["id"]
        .as_i64()
        .unwrap();
    let r = api
        .patch(
            &format!("{path}/{id}"),
            json!({"name": "Nice", "category": "convert", "description": "x"}),
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.text);
    assert_eq!(r.body["name"], "Nice");
    assert_eq!(r.body["category"], "convert");
    assert_eq!(r.body["key"], "k");
    let r = api
        .patch(&format!("{path}/{id}"), json!({"category": "bogus"}))
        .await;
    r.assert_error(400, "bad_request");
    assert!(
        r.message().contains("'category' must be one of"),
        "{}",
        r.message()
    );
    let r = api.delete(&format!("{path}/{id}")).await;
    assert_eq!(r.status, 204);
    assert!(r.text.is_empty());
    let r = api.get(&format!("/v2/events/{id}")).await;
    assert_eq!(r.body["archived"], true);
    // Wrong project in the path, missing event, non-custom event: 404.
    api.patch(&format!("/v2/projects/{WEB}/custom_events/{id}"), json!({}))
        .await
        .assert_error(404, "not_found");
    api.delete(&format!("{path}/26000000000"))
        .await
        .assert_error(404, "not_found");
    // Unknown project 404, foreign project 403.
    api.post(
        &format!("/v2/projects/{MISSING}/custom_events"),
        json!({"key": "a"}),
    )
    .await
    .assert_error(404, "not_found");
    api.post(
        &format!("/v2/projects/{FOREIGN}/custom_events"),
        json!({"key": "a"}),
    )
    .await
    .assert_error(403, "forbidden");
}

#[tokio::test]
async fn non_custom_events_cannot_be_edited_through_custom_events() {
    let mut seed = test_seed();
    seed.events = vec![
        json!({"id": 26000000001_i64, "project_id": WEB, "key": "cta", "event_type": "click"}),
    ];
    let api = Api::with_seed(seed);
    api.patch(
        &format!("/v2/projects/{WEB}/custom_events/26000000001"),
        json!({"name": "x"}),
    )
    .await
    .assert_error(404, "not_found");
}
