//! Fault injection in-process: statuses with and without Retry-After, delays, drops before
//! and after the write, holds, matching by method and path template, `times`.
#![allow(clippy::unwrap_used)]

mod support;

use fake_optimizely::{ConnectionDropped, DropPoint, FaultAction, FaultRule};
use http::Method;
use serde_json::json;
use std::time::Duration;
use support::{Api, FX, WEB};
use tokio::time::Instant;

fn rule(method: &str, template: &str, times: u32, action: FaultAction) -> FaultRule {
    FaultRule {
        method: method.to_owned(),
        path_template: template.to_owned(),
        times,
        action,
    }
}

#[tokio::test]
async fn status_faults_with_and_without_retry_after_for_the_next_n_requests() {
    let api = Api::new();
    api.fake.add_fault(rule(
        "POST",
        "/v2/attributes",
        2,
        FaultAction::Status {
            status: 503,
            retry_after: Some(7),
        },
    ));
    api.fake.add_fault(rule(
        "POST",
        "/v2/attributes",
        1,
        FaultAction::Status {
            status: 429,
            retry_after: None,
        },
    ));
    let body = json!({"project_id": WEB, "key": "k"});
    for _ in 0..2 {
        let r = api.post("/v2/attributes", body.clone()).await;
        r.assert_error(503, "service_unavailable");
        assert_eq!(r.header("retry-after"), Some("7"));
        assert!(r.header("x-request-id").is_some());
    }
    let r = api.post("/v2/attributes", body.clone()).await;
    r.assert_error(429, "too_many_requests");
    assert!(r.header("retry-after").is_none());
    // Rules used up: the request goes through, and nothing was written before.
    assert_eq!(api.post("/v2/attributes", body).await.status, 201);
    assert_eq!(api.fake.state()["attributes"].as_array().unwrap().len(), 1);
    // Other routes were never affected.
    assert_eq!(
        api.get(&format!("/v2/attributes?project_id={WEB}"))
            .await
            .status,
        200
    );
    let stats = api.fake.stats();
    assert_eq!(stats.total_429, 1);
    assert_eq!(stats.count("POST", "/v2/attributes", 503), 2);
    assert_eq!(stats.writes, 1);
}

#[tokio::test]
async fn faults_match_path_templates_and_wildcards() {
    let api = Api::new();
    let id = api.create_attribute(FX, "k").await;
    api.fake.add_fault(rule(
        "patch",
        "/v2/attributes/{id}",
        1,
        FaultAction::Status {
            status: 500,
            retry_after: None,
        },
    ));
    api.get(&format!("/v2/attributes/{id}")).await; // GET does not match
    api.patch(&format!("/v2/attributes/{id}"), json!({"description": "x"}))
        .await
        .assert_error(500, "internal_server_error");
    api.fake.add_fault(rule(
        "*",
        "*",
        1,
        FaultAction::Status {
            status: 502,
            retry_after: None,
        },
    ));
    api.get("/v2/events/1")
        .await
        .assert_error(502, "bad_gateway");
    assert!(api.fake.faults().is_empty());
}

#[tokio::test(start_paused = true)]
async fn delay_faults_slow_the_response_on_the_tokio_clock() {
    let api = Api::new();
    api.fake.add_fault(rule(
        "GET",
        "/v2/projects/{id}",
        1,
        FaultAction::Delay { millis: 30_000 },
    ));
    let start = Instant::now();
    let r = api.get(&format!("/v2/projects/{FX}")).await;
    assert_eq!(r.status, 200);
    assert_eq!(start.elapsed(), Duration::from_secs(30));
    let start = Instant::now();
    api.get(&format!("/v2/projects/{FX}")).await;
    assert_eq!(start.elapsed(), Duration::ZERO);
    // A client timeout shorter than the delay sees no answer.
    api.fake.add_fault(rule(
        "GET",
        "/v2/projects/{id}",
        1,
        FaultAction::Delay { millis: 10_000 },
    ));
    let timed = tokio::time::timeout(
        Duration::from_secs(5),
        api.get(&format!("/v2/projects/{FX}")),
    )
    .await;
    assert!(timed.is_err());
}

#[tokio::test]
async fn drop_before_write_leaves_state_unchanged() {
    let api = Api::new();
    api.fake.add_fault(rule(
        "POST",
        "/v2/attributes",
        1,
        FaultAction::DropBeforeWrite,
    ));
    let body = json!({"project_id": WEB, "key": "k"})
        .to_string()
        .into_bytes();
    let err = api
        .try_send(Method::POST, "/v2/attributes", Some(body.clone()))
        .await
        .unwrap_err();
    assert_eq!(err, ConnectionDropped { after_write: false });
    assert!(
        api.fake.state()["attributes"]
            .as_array()
            .unwrap()
            .is_empty()
    );
    let log = api.fake.requests();
    assert_eq!(log.len(), 1);
    assert_eq!(log[0].status, 0);
    assert_eq!(log[0].dropped, Some(DropPoint::BeforeWrite));
    let stats = api.fake.stats();
    assert_eq!(
        (stats.writes, stats.writes_applied, stats.dropped),
        (0, 0, 1)
    );
    // The retry succeeds.
    assert_eq!(
        api.try_send(Method::POST, "/v2/attributes", Some(body))
            .await
            .unwrap()
            .status,
        201
    );
}

#[tokio::test]
async fn drop_after_write_applies_the_write_without_answering() {
    let api = Api::new();
    api.fake.add_fault(rule(
        "POST",
        "/v2/attributes",
        1,
        FaultAction::DropAfterWrite,
    ));
    let body = json!({"project_id": WEB, "key": "k"})
        .to_string()
        .into_bytes();
    let err = api
        .try_send(Method::POST, "/v2/attributes", Some(body.clone()))
        .await
        .unwrap_err();
    assert_eq!(err, ConnectionDropped { after_write: true });
    let attrs = api.fake.state()["attributes"].clone();
    assert_eq!(attrs.as_array().unwrap().len(), 1);
    assert_eq!(attrs[0]["key"], "k");
    let log = api.fake.requests();
    assert_eq!(log[0].dropped, Some(DropPoint::AfterWrite));
    assert_eq!(log[0].applied_status, Some(201));
    let stats = api.fake.stats();
    assert_eq!(
        (stats.writes, stats.writes_applied, stats.dropped),
        (0, 1, 1)
    );
    // A blind retry now hits the duplicate: exactly what a client must handle.
    let r = api
        .try_send(Method::POST, "/v2/attributes", Some(body))
        .await
        .unwrap();
    r.assert_error(400, "bad_request");
    assert!(r.message().contains("already exists"));
}

/// Sends `POST /v2/attributes` for `key` from a task, so the test can act while it is held.
fn post_in_background(
    api: &Api,
    key: &str,
) -> tokio::task::JoinHandle<Result<support::Resp, ConnectionDropped>> {
    let api = api.clone();
    let body = json!({"project_id": WEB, "key": key})
        .to_string()
        .into_bytes();
    tokio::spawn(async move {
        api.try_send(Method::POST, "/v2/attributes", Some(body))
            .await
    })
}

fn attribute_keys(api: &Api) -> Vec<String> {
    api.fake.state()["attributes"]
        .as_array()
        .unwrap()
        .iter()
        .map(|a| a["key"].as_str().unwrap().to_owned())
        .collect()
}

#[tokio::test]
async fn hold_before_write_parks_the_request_until_it_is_released_or_dropped() {
    let api = Api::new();
    api.fake.add_fault(rule(
        "POST",
        "/v2/attributes",
        2,
        FaultAction::HoldBeforeWrite,
    ));
    let first = post_in_background(&api, "a");
    api.fake.wait_held(1).await;
    assert_eq!(api.fake.held().holding, 1);
    assert!(attribute_keys(&api).is_empty(), "held before the write");
    assert!(api.fake.requests().is_empty(), "logged when it ends");
    api.fake.release_held();
    assert_eq!(first.await.unwrap().unwrap().status, 201);
    assert_eq!(attribute_keys(&api), ["a"]);

    let second = post_in_background(&api, "b");
    api.fake.wait_held(2).await;
    api.fake.drop_held();
    assert_eq!(
        second.await.unwrap().unwrap_err(),
        ConnectionDropped { after_write: false }
    );
    assert_eq!(
        attribute_keys(&api),
        ["a"],
        "a dropped hold applies nothing"
    );
    assert_eq!(api.fake.requests()[1].dropped, Some(DropPoint::BeforeWrite));
    assert_eq!(api.fake.held().holding, 0);
}

#[tokio::test]
async fn hold_after_write_applies_the_write_then_parks_the_answer() {
    let api = Api::new();
    api.fake.add_fault(rule(
        "POST",
        "/v2/attributes",
        u32::MAX,
        FaultAction::HoldAfterWrite,
    ));
    let first = post_in_background(&api, "a");
    api.fake.wait_held(1).await;
    assert_eq!(
        attribute_keys(&api),
        ["a"],
        "applied while the answer is held"
    );
    api.fake.drop_held();
    assert_eq!(
        first.await.unwrap().unwrap_err(),
        ConnectionDropped { after_write: true }
    );
    // Logged when the hold began, as answered: the fake's part was done.
    assert_eq!(api.fake.requests()[0].status, 201);
    let second = post_in_background(&api, "b");
    api.fake.wait_held(2).await;
    // Letting go settles only what is held now: the next request is held again.
    api.fake.release_held();
    assert_eq!(second.await.unwrap().unwrap().status, 201);
    let stats = api.fake.stats();
    assert_eq!((stats.writes, stats.writes_applied), (2, 2));
    let third = post_in_background(&api, "c");
    api.fake.wait_held(3).await;
    assert!(!third.is_finished());
    let r = api.get("/__admin/holds").await;
    assert_eq!(r.body, json!({"held": 3, "holding": 1}));
    let r = api.post("/__admin/holds/release", json!({})).await;
    assert_eq!(r.status, 200, "{}", r.text);
    assert_eq!(third.await.unwrap().unwrap().status, 201);
}

#[tokio::test]
async fn faults_act_before_authentication_and_rate_limits() {
    let api = Api::new();
    api.fake.add_fault(rule(
        "GET",
        "/v2/projects/{id}",
        1,
        FaultAction::Status {
            status: 503,
            retry_after: Some(1),
        },
    ));
    api.as_token(None)
        .get(&format!("/v2/projects/{FX}"))
        .await
        .assert_error(503, "service_unavailable");
}

#[tokio::test]
async fn admin_api_adds_lists_and_clears_faults() {
    let api = Api::new();
    let r = api
        .post(
            "/__admin/faults",
            json!([
                {"method": "POST", "path_template": "/v2/audiences", "times": 3,
                 "action": {"type": "status", "status": 500}},
                {"method": "GET", "path_template": "/v2/events/{id}",
                 "action": {"type": "drop_before_write"}}
            ]),
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.text);
    assert_eq!(r.body.as_array().unwrap().len(), 2);
    assert_eq!(r.body[1]["times"], 1);
    let r = api
        .post("/__admin/faults", json!({"method": "GET", "path_template": "*", "action": {"type": "delay", "millis": 1}}))
        .await;
    assert_eq!(r.body.as_array().unwrap().len(), 3);
    assert_eq!(
        api.get("/__admin/faults")
            .await
            .body
            .as_array()
            .unwrap()
            .len(),
        3
    );
    let r = api
        .post(
            "/__admin/faults",
            json!({"method": "GET", "path_template": "*", "action": {"type": "explode"}}),
        )
        .await;
    assert_eq!(r.status, 400);
    assert_eq!(api.delete("/__admin/faults").await.status, 204);
    assert!(api.fake.faults().is_empty());
    assert_eq!(
        api.post("/v2/audiences", json!({"project_id": FX}))
            .await
            .status,
        201
    );
}
