//! Body validation against the Swagger definitions, over the wire: required, type, enum,
//! pattern, maxLength, nested arrays, invalid JSON. Every violation is a 400 envelope
//! naming the field, and nothing is written.
#![allow(clippy::unwrap_used)]

mod support;

use fake_optimizely::DEMO_LIST_ATTRIBUTE_ID;
use http::Method;
use serde_json::{Value, json};
use support::{Api, FX, WEB};

async fn expect_400(api: &Api, method: Method, path: &str, body: Value, expected: &str) {
    let r = api
        .send(method.clone(), path, Some(body.to_string().into_bytes()))
        .await;
    r.assert_error(400, "bad_request");
    assert!(
        r.message().contains(expected),
        "{method} {path} {body}: message {:?} lacks {expected:?}",
        r.message()
    );
}

#[tokio::test]
async fn required_fields() {
    let api = Api::new();
    expect_400(
        &api,
        Method::POST,
        "/v2/attributes",
        json!({"project_id": FX}),
        "field 'key' is required",
    )
    .await;
    expect_400(
        &api,
        Method::POST,
        "/v2/attributes",
        json!({"key": "k"}),
        "field 'project_id' is required",
    )
    .await;
    expect_400(
        &api,
        Method::POST,
        &format!("/v2/projects/{FX}/custom_events"),
        json!({"name": "n"}),
        "field 'key' is required",
    )
    .await;
    expect_400(
        &api,
        Method::POST,
        "/v2/list_attributes",
        json!({"project_id": WEB, "key_field": "k", "list_type": "cookies"}),
        "field 'name' is required",
    )
    .await;
}

#[tokio::test]
async fn types() {
    let api = Api::new();
    expect_400(
        &api,
        Method::POST,
        "/v2/attributes",
        json!({"project_id": "123", "key": "k"}),
        "field 'project_id' must be an integer, not a string",
    )
    .await;
    expect_400(
        &api,
        Method::POST,
        "/v2/attributes",
        json!({"project_id": FX, "key": "k", "archived": "yes"}),
        "field 'archived' must be a boolean, not a string",
    )
    .await;
    expect_400(
        &api,
        Method::POST,
        "/v2/attributes",
        json!({"project_id": FX, "key": "k", "description": 3}),
        "field 'description' must be a string, not an integer",
    )
    .await;
    expect_400(
        &api,
        Method::POST,
        "/v2/audiences",
        json!({"project_id": FX, "segmentation": 1}),
        "field 'segmentation' must be a boolean",
    )
    .await;
    expect_400(
        &api,
        Method::POST,
        &format!("/v2/projects/{FX}/custom_events"),
        json!({"key": "k", "event_properties": {"name": "x"}}),
        "field 'event_properties' must be an array, not an object",
    )
    .await;
    expect_400(
        &api,
        Method::POST,
        &format!("/v2/projects/{FX}/custom_events"),
        json!({"key": "k", "event_properties": ["x"]}),
        "field 'event_properties[0]' must be an object, not a string",
    )
    .await;
    expect_400(
        &api,
        Method::POST,
        "/v2/attributes",
        json!({"project_id": 1.5, "key": "k"}),
        "must be an integer, not a number",
    )
    .await;
    expect_400(
        &api,
        Method::POST,
        "/v2/attributes",
        json!({"project_id": FX, "key": null}),
        "field 'key' must be a string, not null",
    )
    .await;
    expect_400(
        &api,
        Method::POST,
        "/v2/attributes",
        json!([1, 2]),
        "request body must be a JSON object",
    )
    .await;
}

#[tokio::test]
async fn enums_including_refs() {
    let api = Api::new();
    let events = format!("/v2/projects/{FX}/custom_events");
    expect_400(&api, Method::POST, &events, json!({"key": "k", "category": "checkout"}), "field 'category' must be one of: add_to_cart, save, search, share, purchase, convert, sign_up, subscribe, other").await;
    expect_400(
        &api,
        Method::POST,
        &events,
        json!({"key": "k", "event_type": "click"}),
        "field 'event_type' must be one of: custom",
    )
    .await;
    expect_400(
        &api,
        Method::POST,
        &events,
        json!({"key": "k", "event_properties": [{"name": "p", "data_type": "date"}]}),
        "field 'event_properties[0].data_type' must be one of: boolean, number, string",
    )
    .await;
    expect_400(
        &api,
        Method::PATCH,
        &format!("/v2/list_attributes/{DEMO_LIST_ATTRIBUTE_ID}"),
        json!({"name": "n", "key_field": "k", "list_type": "cookie"}),
        "field 'list_type' must be one of: cookies, query_parameters, zip_codes, js_variables",
    )
    .await;
    // Every category of the spec is accepted.
    for (i, category) in [
        "add_to_cart",
        "save",
        "search",
        "share",
        "purchase",
        "convert",
        "sign_up",
        "subscribe",
        "other",
    ]
    .iter()
    .enumerate()
    {
        let r = api
            .post(
                &events,
                json!({"key": format!("e{i}"), "category": category}),
            )
            .await;
        assert_eq!(r.status, 201, "{category}");
    }
}

#[tokio::test]
async fn patterns() {
    let api = Api::new();
    expect_400(
        &api,
        Method::POST,
        "/v2/attributes",
        json!({"project_id": FX, "key": "a/b"}),
        "field 'key' must match the pattern ^[a-zA-Z0-9_\\- .]+$",
    )
    .await;
    expect_400(
        &api,
        Method::POST,
        &format!("/v2/projects/{FX}/custom_events"),
        json!({"key": "é"}),
        "field 'key' must match the pattern",
    )
    .await;
    expect_400(
        &api,
        Method::POST,
        "/v2/attributes",
        json!({"project_id": FX, "key": ""}),
        "field 'key' must match the pattern",
    )
    .await;
    let id = api.create_attribute(FX, "ok key-1.x_y").await;
    expect_400(
        &api,
        Method::PATCH,
        &format!("/v2/attributes/{id}"),
        json!({"key": "bad!"}),
        "field 'key' must match the pattern",
    )
    .await;
}

#[tokio::test]
async fn max_length() {
    let api = Api::new();
    let long = "k".repeat(65);
    expect_400(
        &api,
        Method::POST,
        "/v2/attributes",
        json!({"project_id": FX, "key": long}),
        "field 'key' must be at most 64 characters long (got 65)",
    )
    .await;
    expect_400(
        &api,
        Method::POST,
        &format!("/v2/projects/{FX}/custom_events"),
        json!({"key": long}),
        "at most 64 characters",
    )
    .await;
    let id = api.create_attribute(FX, &"k".repeat(64)).await;
    expect_400(
        &api,
        Method::PATCH,
        &format!("/v2/attributes/{id}"),
        json!({"key": long}),
        "at most 64 characters",
    )
    .await;
}

#[tokio::test]
async fn invalid_json_is_400_and_nothing_is_written() {
    let api = Api::new();
    for path in ["/v2/attributes", "/v2/audiences", "/v2/list_attributes"] {
        let r = api
            .send(Method::POST, path, Some(b"{\"key\": ".to_vec()))
            .await;
        r.assert_error(400, "bad_request");
        assert!(r.message().contains("not valid JSON"), "{}", r.message());
    }
    let r = api.send(Method::POST, "/v2/attributes", None).await;
    r.assert_error(400, "bad_request");
    let state = api.fake.state();
    assert!(state["attributes"].as_array().unwrap().is_empty());
    assert!(state["audiences"].as_array().unwrap().is_empty());
    assert_eq!(state["list_attributes"].as_array().unwrap().len(), 1);
}
