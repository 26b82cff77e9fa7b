//! List attributes: Web only, whole-list replacement, unique names, placeholders.
#![allow(clippy::unwrap_used)]

mod support;

use fake_optimizely::DEMO_LIST_ATTRIBUTE_ID;
use serde_json::json;
use support::{Api, FX, WEB, assert_id, assert_timestamp};

fn body(name: &str) -> serde_json::Value {
    json!({"project_id": WEB, "name": name, "key_field": "uid", "list_type": "cookies"})
}

#[tokio::test]
async fn create_and_read_back_content_and_placeholders() {
    let api = Api::new();
    let mut b = body("vips");
    b["list_content"] = json!("a,b,c");
    b["aws_secret_key"] = json!("sent-by-client");
    let r = api.post("/v2/list_attributes", b).await;
    assert_eq!(r.status, 201, "{}", r.text);
    let id = assert_id(&r.body["id"]);
    assert_timestamp(&r.body["created"]);
    assert_timestamp(&r.body["last_modified"]);
    assert_eq!(r.body["list_content"], "a,b,c");
    assert_eq!(r.body["description"], "");
    assert_eq!(r.body["archived"], false);
    assert_eq!(r.body["account_id"], 12_345_678_901_i64);
    for field in ["aws_access_key", "aws_secret_key", "s3_path"] {
        let v = r.body[field].as_str().unwrap();
        assert!(
            v.to_lowercase().contains("fake"),
            "{field} = {v} must be an obvious placeholder"
        );
    }
    assert!(!r.text.contains("sent-by-client"));
    let r = api.get(&format!("/v2/list_attributes/{id}")).await;
    assert_eq!(r.status, 200);
    assert_eq!(r.body["list_content"], "a,b,c");
}

#[tokio::test]
async fn patch_replaces_the_whole_list_and_keeps_it_when_absent() {
    let api = Api::new();
    let path = format!("/v2/list_attributes/{DEMO_LIST_ATTRIBUTE_ID}");
    let full = |content: Option<&str>| {
        let mut b = json!({"name": "demo_members", "key_field": "optimizely_user_id", "list_type": "cookies"});
        if let Some(c) = content {
            b["list_content"] = json!(c);
        }
        b
    };
    let r = api.patch(&path, full(Some("u1,u2,u3"))).await;
    assert_eq!(r.status, 200, "{}", r.text);
    assert_eq!(r.body["list_content"], "u1,u2,u3");
    let r = api.patch(&path, full(Some("u4"))).await;
    assert_eq!(
        r.body["list_content"], "u4",
        "no append: the list is replaced"
    );
    let r = api.patch(&path, full(None)).await;
    assert_eq!(r.body["list_content"], "u4");
    let r = api.patch(&path, full(Some(""))).await;
    assert_eq!(r.body["list_content"], "");
    assert_eq!(api.fake.state()["list_attributes"][0]["list_content"], "");
}

#[tokio::test]
async fn name_list_type_and_key_field_are_required_on_create_and_update() {
    let api = Api::new();
    let r = api
        .post(
            "/v2/list_attributes",
            json!({"project_id": WEB, "name": "n", "key_field": "k"}),
        )
        .await;
    r.assert_error(400, "bad_request");
    assert!(
        r.message().contains("'list_type' is required"),
        "{}",
        r.message()
    );
    let r = api
        .post(
            "/v2/list_attributes",
            json!({"project_id": WEB, "name": "n", "list_type": "cookies"}),
        )
        .await;
    r.assert_error(400, "bad_request");
    assert!(
        r.message().contains("'key_field' is required"),
        "{}",
        r.message()
    );
    let r = api
        .patch(
            &format!("/v2/list_attributes/{DEMO_LIST_ATTRIBUTE_ID}"),
            json!({"list_content": "x"}),
        )
        .await;
    r.assert_error(400, "bad_request");
    let r = api.post("/v2/list_attributes", json!({"project_id": WEB, "name": "has space", "key_field": "k", "list_type": "cookies"})).await;
    r.assert_error(400, "bad_request");
    assert!(
        r.message().contains("'name' must match the pattern"),
        "{}",
        r.message()
    );
    let r = api
        .post(
            "/v2/list_attributes",
            json!({"project_id": WEB, "name": "n", "key_field": "k", "list_type": "emails"}),
        )
        .await;
    r.assert_error(400, "bad_request");
    assert!(
        r.message().contains("'list_type' must be one of"),
        "{}",
        r.message()
    );
}

#[tokio::test]
async fn names_are_unique_per_project() {
    let api = Api::new();
    let r = api.post("/v2/list_attributes", body("demo_members")).await;
    r.assert_error(400, "bad_request");
    assert!(r.message().contains("already exists"), "{}", r.message());
    let id = api.post("/v2/list_attributes", body("second")).await.body["id"]
        .as_i64()
        .unwrap();
    let r = api
        .patch(
            &format!("/v2/list_attributes/{id}"),
            json!({"name": "demo_members", "key_field": "k", "list_type": "cookies"}),
        )
        .await;
    r.assert_error(400, "bad_request");
    assert!(r.message().contains("already exists"));
}

#[tokio::test]
async fn archive_keeps_the_list_readable_and_listed() {
    let api = Api::new();
    let r = api
        .delete(&format!("/v2/list_attributes/{DEMO_LIST_ATTRIBUTE_ID}"))
        .await;
    assert_eq!(r.status, 204);
    assert!(r.text.is_empty());
    let r = api
        .get(&format!("/v2/list_attributes?project_id={WEB}"))
        .await;
    assert_eq!(r.status, 200);
    assert_eq!(r.body[0]["archived"], true);
    assert!(
        r.header("link").is_none(),
        "list attributes are not paginated"
    );
}

#[tokio::test]
async fn list_returns_everything_unpaginated() {
    let api = Api::new();
    for i in 0..30 {
        assert_eq!(
            api.post("/v2/list_attributes", body(&format!("l{i}")))
                .await
                .status,
            201
        );
    }
    let r = api
        .get(&format!("/v2/list_attributes?project_id={WEB}&per_page=5"))
        .await;
    assert_eq!(r.body.as_array().unwrap().len(), 31);
}

#[tokio::test]
async fn feature_experimentation_projects_have_no_list_attributes() {
    let api = Api::new();
    let mut b = body("fx_list");
    b["project_id"] = json!(FX);
    for r in [
        api.post("/v2/list_attributes", b).await,
        api.get(&format!("/v2/list_attributes?project_id={FX}"))
            .await,
    ] {
        r.assert_error(400, "bad_request");
        assert!(
            r.message()
                .contains("not available in Optimizely Feature Experimentation"),
            "{}",
            r.message()
        );
    }
}
