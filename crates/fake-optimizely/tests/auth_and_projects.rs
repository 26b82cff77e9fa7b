//! Authentication (401), access (403), missing objects (404), projects and common headers.
#![allow(clippy::unwrap_used)]

mod support;

use http::Method;
use serde_json::json;
use support::{Api, FOREIGN, FX, MISSING, OTHER_TOKEN, WEB};

#[tokio::test]
async fn get_project_shapes_web_and_fx() {
    let api = Api::new();
    let r = api.get(&format!("/v2/projects/{FX}")).await;
    assert_eq!(r.status, 200);
    assert_eq!(r.body["id"], FX);
    assert_eq!(r.body["platform"], "custom");
    assert_eq!(r.body["is_flags_enabled"], true);
    assert_eq!(r.body["status"], "active");
    assert_eq!(r.body["account_id"], 12_345_678_901_i64);
    let r = api.get(&format!("/v2/projects/{WEB}")).await;
    assert_eq!(r.body["platform"], "web");
    api.get(&format!("/v2/projects/{MISSING}"))
        .await
        .assert_error(404, "not_found");
    api.get(&format!("/v2/projects/{FOREIGN}"))
        .await
        .assert_error(403, "forbidden");
    api.get("/v2/projects/my-project")
        .await
        .assert_error(400, "bad_request");
}

#[tokio::test]
async fn missing_or_unknown_tokens_are_401() {
    let api = Api::new();
    let paths = [
        format!("/v2/projects/{WEB}"),
        format!("/v2/attributes?project_id={WEB}"),
        "/v2/attributes/1".to_owned(),
    ];
    for path in &paths {
        api.as_token(None)
            .get(path)
            .await
            .assert_error(401, "unauthorized");
        api.as_token(Some("2:not-a-known-token"))
            .get(path)
            .await
            .assert_error(401, "unauthorized");
    }
    // A token sent with another scheme is not a bearer token.
    let r = api.as_token(None);
    let request = http::Request::get(format!("/v2/projects/{WEB}"))
        .header("authorization", format!("Token {}", support::TOKEN))
        .body(bytes::Bytes::new())
        .unwrap();
    let response = r.fake.handle(request).await.unwrap();
    assert_eq!(response.status(), 401);
}

#[tokio::test]
async fn a_known_token_without_access_gets_403_everywhere() {
    let api = Api::new();
    let id = api.create_attribute(WEB, "mine").await;
    let other = api.as_token(Some(OTHER_TOKEN));
    other
        .get(&format!("/v2/projects/{WEB}"))
        .await
        .assert_error(403, "forbidden");
    other
        .get(&format!("/v2/attributes/{id}"))
        .await
        .assert_error(403, "forbidden");
    other
        .patch(&format!("/v2/attributes/{id}"), json!({"name": "x"}))
        .await
        .assert_error(403, "forbidden");
    other
        .delete(&format!("/v2/attributes/{id}"))
        .await
        .assert_error(403, "forbidden");
    other
        .get(&format!("/v2/attributes?project_id={WEB}"))
        .await
        .assert_error(403, "forbidden");
    other
        .get(&format!("/v2/audiences?project_id={WEB}"))
        .await
        .assert_error(403, "forbidden");
    other
        .get(&format!("/v2/events?project_id={WEB}"))
        .await
        .assert_error(403, "forbidden");
    other
        .get(&format!("/v2/list_attributes?project_id={WEB}"))
        .await
        .assert_error(403, "forbidden");
    other
        .post(
            "/v2/attributes",
            json!({"project_id": WEB, "key": "theirs"}),
        )
        .await
        .assert_error(403, "forbidden");
    other
        .post("/v2/audiences", json!({"project_id": WEB, "name": "a"}))
        .await
        .assert_error(403, "forbidden");
    // And the object is unchanged.
    assert_eq!(
        api.get(&format!("/v2/attributes/{id}")).await.body["archived"],
        false
    );
}

#[tokio::test]
async fn list_endpoints_need_a_numeric_existing_project_id() {
    let api = Api::new();
    for kind in ["attributes", "audiences", "events", "list_attributes"] {
        let r = api.get(&format!("/v2/{kind}")).await;
        r.assert_error(400, "bad_request");
        assert!(
            r.message().contains("project_id"),
            "{kind}: {}",
            r.message()
        );
        api.get(&format!("/v2/{kind}?project_id=abc"))
            .await
            .assert_error(400, "bad_request");
        api.get(&format!("/v2/{kind}?project_id={MISSING}"))
            .await
            .assert_error(404, "not_found");
        let ok = api.get(&format!("/v2/{kind}?project_id={WEB}")).await;
        assert_eq!(ok.status, 200, "{kind}");
        assert!(ok.body.is_array(), "{kind}: bare JSON array");
    }
    api.post("/v2/attributes", json!({"project_id": MISSING, "key": "k"}))
        .await
        .assert_error(404, "not_found");
}

#[tokio::test]
async fn every_response_carries_request_id_and_expose_headers() {
    let api = Api::new();
    let responses = [
        api.get(&format!("/v2/projects/{WEB}")).await,
        api.get(&format!("/v2/projects/{MISSING}")).await,
        api.as_token(None).get("/v2/events/1").await,
        api.post("/v2/attributes", json!({"project_id": WEB, "key": "h"}))
            .await,
        api.delete("/v2/list_attributes/30000000001").await,
        api.get("/v2/unknown").await,
    ];
    let mut ids = std::collections::HashSet::new();
    for r in &responses {
        let id = r.header("x-request-id").unwrap();
        assert!(uuid::Uuid::parse_str(id).is_ok(), "{id}");
        ids.insert(id.to_owned());
        assert_eq!(
            r.header("access-control-expose-headers"),
            Some("Link,X-Record-Total")
        );
        assert!(
            r.header("x-ratelimit-limit").is_none(),
            "rate-limit headers are off by default"
        );
    }
    assert_eq!(ids.len(), responses.len(), "request ids are unique");
}

#[tokio::test]
async fn unknown_paths_and_methods() {
    let api = Api::new();
    api.get("/v2/experiments?project_id=1")
        .await
        .assert_error(404, "not_found");
    api.send(Method::PUT, "/v2/attributes/1", Some(b"{}".to_vec()))
        .await
        .assert_error(405, "method_not_allowed");
    api.send(
        Method::GET,
        &format!("/v2/projects/{FX}/custom_events"),
        None,
    )
    .await
    .assert_error(405, "method_not_allowed");
}
