//! The admin API and the Rust-side admin methods: seed, reset, state, requests, stats, and
//! seed files.
#![allow(clippy::unwrap_used)]

mod support;

use fake_optimizely::{FakeOptimizely, RateLimits, Seed, SeedError};
use serde_json::json;
use std::io::Write;
use support::{Api, FX, TOKEN, WEB};

#[tokio::test]
async fn seed_merges_objects_and_keeps_limits_unless_given() {
    let api = Api::new();
    let r = api
        .post(
            "/__admin/seed",
            json!({
                "projects": [{"id": 20000000009_i64, "platform": "custom", "is_flags_enabled": true}],
                "tokens": [{"token": "2:new-token-9999", "project_ids": [20000000009_i64]}],
                "attributes": [{"project_id": 20000000009_i64, "key": "seeded", "name": "ignored"}],
                "events": [{"project_id": 20000000009_i64, "key": "ev"}]
            }),
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.text);
    assert_eq!(r.body["projects"], 4);
    assert_eq!(
        api.fake.rate_limits(),
        RateLimits::unlimited(),
        "no rate_limits key: kept"
    );
    let new = api.as_token(Some("2:new-token-9999"));
    let r = new.get("/v2/attributes?project_id=20000000009").await;
    assert_eq!(r.status, 200);
    assert_eq!(r.body[0]["key"], "seeded");
    assert_eq!(r.body[0]["name"], "seeded", "FX attribute name is its key");
    assert_eq!(r.body[0]["id"].as_i64().unwrap().to_string().len(), 11);
    let r = new.get("/v2/events?project_id=20000000009").await;
    assert_eq!(r.body[0]["name"], "ev");
    assert_eq!(r.body[0]["category"], "other");
    // The original token still works.
    assert_eq!(api.get(&format!("/v2/projects/{FX}")).await.status, 200);
    // rate_limits given: applied.
    api.post(
        "/__admin/seed",
        json!({"rate_limits": {"web_per_minute": 7}}),
    )
    .await;
    assert_eq!(api.fake.rate_limits().web_per_minute, Some(7));
    // Invalid seeds are 400 and change nothing.
    let r = api
        .post(
            "/__admin/seed",
            json!({"attributes": [{"project_id": 1, "key": "x"}]}),
        )
        .await;
    assert_eq!(r.status, 400);
    assert!(
        r.body["error"].as_str().unwrap().contains("project 1"),
        "{}",
        r.text
    );
    let r = api.post("/__admin/seed", json!({"projekts": []})).await;
    assert_eq!(r.status, 400);
}

#[tokio::test]
async fn reset_empties_everything_or_resets_to_a_body_seed() {
    let api = Api::new();
    api.create_attribute(WEB, "a").await;
    api.fake.add_fault(fake_optimizely::FaultRule {
        method: "*".into(),
        path_template: "*".into(),
        times: 5,
        action: fake_optimizely::FaultAction::Delay { millis: 1 },
    });
    let r = api.send(http::Method::POST, "/__admin/reset", None).await;
    assert_eq!(r.status, 200);
    let state = api.fake.state();
    for kind in [
        "tokens",
        "projects",
        "attributes",
        "audiences",
        "events",
        "list_attributes",
        "faults",
    ] {
        assert!(state[kind].as_array().unwrap().is_empty(), "{kind}");
    }
    assert_eq!(api.fake.stats().total_requests, 0);
    assert!(api.fake.requests().is_empty());
    assert_eq!(api.fake.rate_limits(), RateLimits::default());
    api.get(&format!("/v2/projects/{FX}"))
        .await
        .assert_error(401, "unauthorized");

    let seed = serde_json::to_value(support::test_seed()).unwrap();
    let r = api.post("/__admin/reset", seed).await;
    assert_eq!(r.status, 200, "{}", r.text);
    assert_eq!(api.get(&format!("/v2/projects/{FX}")).await.status, 200);
    assert_eq!(api.fake.rate_limits(), RateLimits::unlimited());
}

#[tokio::test]
async fn state_has_every_object_with_list_content_and_redacted_tokens() {
    let api = Api::new();
    api.create_attribute(WEB, "a").await;
    api.post("/v2/audiences", json!({"project_id": FX, "name": "aud"}))
        .await;
    api.post(
        &format!("/v2/projects/{FX}/custom_events"),
        json!({"key": "e"}),
    )
    .await;
    api.patch(
        "/v2/list_attributes/30000000001",
        json!({"name": "demo_members", "key_field": "optimizely_user_id", "list_type": "cookies", "list_content": "x,y"}),
    )
    .await;
    let r = api.get("/__admin/state").await;
    assert_eq!(r.status, 200);
    let state = &r.body;
    assert_eq!(state["projects"].as_array().unwrap().len(), 3);
    assert_eq!(state["attributes"][0]["key"], "a");
    assert_eq!(state["audiences"][0]["name"], "aud");
    assert_eq!(state["events"][0]["key"], "e");
    assert_eq!(state["list_attributes"][0]["list_content"], "x,y");
    let tokens: Vec<&str> = state["tokens"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| t["token"].as_str().unwrap())
        .collect();
    assert_eq!(
        tokens,
        ["****5678", "****1234"],
        "sorted by token, redacted"
    );
    assert!(!r.text.contains(TOKEN), "full tokens never leave the fake");
    assert_eq!(
        state["rate_limits"]["fx_per_second"],
        serde_json::Value::Null
    );
}

#[tokio::test]
async fn request_log_and_stats() {
    let api = Api::new();
    let id = api.create_attribute(WEB, "a").await;
    api.patch(&format!("/v2/attributes/{id}"), json!({"name": "A"}))
        .await;
    api.delete(&format!("/v2/attributes/{id}")).await;
    api.get(&format!("/v2/attributes/{id}")).await;
    api.get("/v2/attributes/26000000000").await;
    api.post("/v2/attributes", json!({"project_id": WEB})).await;
    api.as_token(None).get("/v2/events/1").await;
    api.get("/__admin/state").await; // admin calls are not logged

    let r = api.get("/__admin/requests").await;
    let log = r.body.as_array().unwrap();
    assert_eq!(log.len(), 7);
    assert_eq!(log[0]["method"], "POST");
    assert_eq!(log[0]["path"], "/v2/attributes");
    assert_eq!(log[0]["path_template"], "/v2/attributes");
    assert_eq!(log[0]["status"], 201);
    assert_eq!(log[0]["token_last4"], "1234");
    assert_eq!(log[0]["seq"], 1);
    assert_eq!(log[1]["path_template"], "/v2/attributes/{id}");
    assert_eq!(log[6]["token_last4"], serde_json::Value::Null);
    assert!(log[0]["time"].as_str().unwrap().ends_with('Z'));
    assert!(!r.text.contains(TOKEN));

    let stats = api.get("/__admin/stats").await.body;
    assert_eq!(stats["total_requests"], 7);
    assert_eq!(
        stats["writes"], 3,
        "POST 201, PATCH 200, DELETE 204; the 400 POST is not a write"
    );
    assert_eq!(stats["total_429"], 0);
    let typed = api.fake.stats();
    assert_eq!(typed.count("GET", "/v2/attributes/{id}", 200), 1);
    assert_eq!(typed.count("GET", "/v2/attributes/{id}", 404), 1);
    assert_eq!(typed.count("POST", "/v2/attributes", 400), 1);
    assert_eq!(typed.count("GET", "/v2/events/{id}", 401), 1);
    assert_eq!(typed.by_route.iter().map(|r| r.count).sum::<u64>(), 7);
}

#[tokio::test]
async fn unknown_admin_paths_are_404() {
    let api = Api::new();
    let r = api.get("/__admin/nothing").await;
    assert_eq!(r.status, 404);
    assert!(r.body["error"].is_string());
    let r = api.get("/__admin/rate_limits").await;
    assert_eq!(r.body["retry_after"], true);
}

#[test]
fn example_seed_file_loads() {
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/examples/seed.json");
    let seed = Seed::from_file(path).unwrap();
    assert_eq!(seed.rate_limits, RateLimits::default());
    let fake = FakeOptimizely::new(seed).unwrap();
    let state = fake.state();
    assert_eq!(state["projects"].as_array().unwrap().len(), 2);
    assert_eq!(state["attributes"].as_array().unwrap().len(), 2);
    assert_eq!(state["events"].as_array().unwrap().len(), 3);
    assert_eq!(state["list_attributes"][0]["list_content"], "user-1,user-2");
    assert_eq!(state["audiences"][0]["id"], 26664170206_i64);
    assert_eq!(state["environments"].as_array().unwrap().len(), 4);
    assert_eq!(
        state["odp"]["project_ids"],
        serde_json::json!([20000000002_i64])
    );
    assert_eq!(
        fake.odp_qualified("email", "user-1@example.com", "beta_with_email"),
        Some(true)
    );
}

#[test]
fn seed_file_errors_say_what_is_wrong() {
    let err = Seed::from_file("/nonexistent/seed.json").unwrap_err();
    assert!(matches!(err, SeedError::Read { .. }), "{err}");
    let mut file = tempfile::NamedTempFile::new().unwrap();
    write!(file, "{{\"projects\": [{{\"id\": \"x\"}}]}}").unwrap();
    let seed = Seed::from_file(file.path()).unwrap();
    let err = FakeOptimizely::new(seed).unwrap_err();
    assert!(
        matches!(
            err,
            SeedError::InvalidObject {
                kind: "projects",
                index: 0,
                ..
            }
        ),
        "{err}"
    );
    let mut file = tempfile::NamedTempFile::new().unwrap();
    write!(file, "not json").unwrap();
    assert!(matches!(
        Seed::from_file(file.path()),
        Err(SeedError::Json(_))
    ));
}

#[test]
fn seed_round_trips_through_json() {
    let seed = support::test_seed();
    let text = serde_json::to_string(&seed).unwrap();
    let back = Seed::from_json(&text).unwrap();
    assert_eq!(back.tokens, seed.tokens);
    assert_eq!(back.projects, seed.projects);
    assert_eq!(back.rate_limits, seed.rate_limits);
}
