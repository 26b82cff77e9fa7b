//! Faults, holds, the request log and the counters on `/v3` routes (docs/ODP-API.md §10.10):
//! ODP's bodies for injected statuses, drops before and after the write, holding the N-th
//! `POST /v3/profiles`, and ODP requests in the journal like v2 ones.
#![allow(clippy::unwrap_used)]

mod support;

use fake_optimizely::{ConnectionDropped, DropPoint, FaultAction, FaultRule};
use http::Method;
use serde_json::{Value, json};
use std::time::Duration;
use support::odp::{Odp, PRIVATE, assert_accepted, assert_odp_timestamp};
use tokio::time::Instant;

fn rule(method: &str, template: &str, times: u32, action: FaultAction) -> FaultRule {
    FaultRule {
        method: method.to_owned(),
        path_template: template.to_owned(),
        times,
        action,
    }
}

fn status(status: u16, retry_after: Option<u64>) -> FaultAction {
    FaultAction::Status {
        status,
        retry_after,
    }
}

fn profile(id: &str) -> Vec<u8> {
    json!([{"attributes": {"fs_user_id": id, "in_beta": true}}])
        .to_string()
        .into_bytes()
}

#[tokio::test]
async fn injected_statuses_answer_with_odps_bodies() {
    let odp = Odp::new();
    for (code, expected) in [
        (502, json!({"message": "Internal server error"})),
        (503, json!({"message": "Service Unavailable"})),
        (504, json!({"message": "Endpoint request timed out"})),
        (429, json!({"message": "Too Many Requests"})),
        (403, json!({"message": "Forbidden"})),
    ] {
        odp.fake
            .add_fault(rule("POST", "/v3/profiles", 1, status(code, None)));
        let r = odp.post_raw("/v3/profiles", profile("u1")).await;
        assert_eq!(r.status, code);
        assert_eq!(r.body, expected, "{code}");
    }
    odp.fake
        .add_fault(rule("POST", "/v3/profiles", 1, status(500, Some(3))));
    let r = odp.post_raw("/v3/profiles", profile("u1")).await;
    assert_eq!(r.status, 500);
    assert_eq!(r.body["title"], "Internal Server Error");
    assert_eq!(r.body["status"], 500);
    assert_odp_timestamp(&r.body["timestamp"]);
    assert_eq!(r.header("retry-after"), Some("3"));
    assert!(
        odp.fake.odp_profiles().is_empty(),
        "a faulted request writes nothing"
    );
    // Used up: the next one goes through.
    assert_accepted(&odp.post_raw("/v3/profiles", profile("u1")).await);
}

#[tokio::test]
async fn faults_match_v3_templates_and_act_before_the_key_is_checked() {
    let odp = Odp::new();
    odp.fake.add_fault(rule(
        "GET",
        "/v3/schema/objects/{object}/fields/{field}",
        1,
        status(504, None),
    ));
    odp.fake
        .add_fault(rule("POST", "/v3/graphql", 1, status(500, None)));
    // Another route is not affected.
    assert_eq!(
        odp.get("/v3/schema/objects/customers/fields").await.status,
        200
    );
    let r = odp
        .as_key(None)
        .get("/v3/schema/objects/customers/fields/email")
        .await;
    assert_eq!(r.status, 504, "{}", r.text);
    let r = odp.post("/v3/graphql", json!({"query": "{x}"})).await;
    assert_eq!(r.status, 500);
    assert!(odp.fake.faults().is_empty());
}

#[tokio::test]
async fn drops_before_and_after_the_write() {
    let odp = Odp::new();
    odp.fake.add_fault(rule(
        "POST",
        "/v3/profiles",
        1,
        FaultAction::DropBeforeWrite,
    ));
    odp.fake
        .add_fault(rule("POST", "/v3/profiles", 1, FaultAction::DropAfterWrite));
    let err = odp
        .try_send(Method::POST, "/v3/profiles", Some(profile("before")))
        .await
        .unwrap_err();
    assert_eq!(err, ConnectionDropped { after_write: false });
    assert!(odp.fake.odp_profile("fs_user_id", "before").is_none());
    let err = odp
        .try_send(Method::POST, "/v3/profiles", Some(profile("after")))
        .await
        .unwrap_err();
    assert_eq!(err, ConnectionDropped { after_write: true });
    assert!(
        odp.fake.odp_profile("fs_user_id", "after").is_some(),
        "applied"
    );
    let log = odp.fake.requests();
    assert_eq!(log[0].dropped, Some(DropPoint::BeforeWrite));
    assert_eq!(log[1].dropped, Some(DropPoint::AfterWrite));
    assert_eq!(log[1].applied_status, Some(202));
    let stats = odp.fake.stats();
    assert_eq!(
        (stats.writes, stats.writes_applied, stats.dropped),
        (0, 1, 2)
    );
}

#[tokio::test]
async fn the_third_post_of_profiles_is_held_until_let_go() {
    let odp = Odp::new();
    // The oldest matching rule wins: two pass untouched, the third is held before its write.
    odp.fake.add_fault(rule(
        "POST",
        "/v3/profiles",
        2,
        FaultAction::Delay { millis: 0 },
    ));
    odp.fake.add_fault(rule(
        "POST",
        "/v3/profiles",
        1,
        FaultAction::HoldBeforeWrite,
    ));
    // Other ODP traffic (and v2) passes by.
    assert_eq!(odp.get("/v3/profiles?fs_user_id=x").await.status, 404);
    for id in ["a", "b"] {
        assert_accepted(&odp.post_raw("/v3/profiles", profile(id)).await);
    }
    let held_before = odp.fake.held().held;
    let third = tokio::spawn({
        let odp = odp.clone();
        async move {
            odp.try_send(Method::POST, "/v3/profiles", Some(profile("c")))
                .await
        }
    });
    odp.fake.wait_held(held_before + 1).await;
    assert_eq!(odp.fake.held().holding, 1);
    assert!(
        odp.fake.odp_profile("fs_user_id", "c").is_none(),
        "held before the write"
    );
    assert_eq!(odp.fake.stats().writes_applied, 2);
    odp.fake.release_held();
    let r = third.await.unwrap().unwrap();
    assert_accepted(&r);
    assert!(odp.fake.odp_profile("fs_user_id", "c").is_some());
    assert_eq!(odp.fake.stats().writes_applied, 3);
}

#[tokio::test]
async fn a_held_answer_after_the_write_then_dropped_leaves_the_write_applied() {
    let odp = Odp::new();
    odp.fake
        .add_fault(rule("POST", "*", u32::MAX, FaultAction::HoldAfterWrite));
    let task = tokio::spawn({
        let odp = odp.clone();
        async move {
            odp.try_send(Method::POST, "/v3/profiles", Some(profile("h")))
                .await
        }
    });
    odp.fake.wait_held(1).await;
    assert!(odp.fake.odp_profile("fs_user_id", "h").is_some());
    odp.fake.drop_held();
    assert_eq!(
        task.await.unwrap().unwrap_err(),
        ConnectionDropped { after_write: true }
    );
    assert_eq!(odp.fake.stats().writes_applied, 1);
}

#[tokio::test(start_paused = true)]
async fn delays_on_v3_use_the_tokio_clock() {
    let odp = Odp::new();
    odp.fake.add_fault(rule(
        "POST",
        "/v3/graphql",
        1,
        FaultAction::Delay { millis: 10_000 },
    ));
    let body = json!({"query": support::odp::VARIABLES_QUERY, "variables": {"userId": "x", "audiences": []}});
    // The SDKs time out after 10 s (docs/ODP-API.md §6): one that waits 9 s gets nothing.
    let timed = tokio::time::timeout(
        Duration::from_secs(9),
        odp.post("/v3/graphql", body.clone()),
    )
    .await;
    assert!(timed.is_err());
    odp.fake.add_fault(rule(
        "POST",
        "/v3/graphql",
        1,
        FaultAction::Delay { millis: 10_000 },
    ));
    let start = Instant::now();
    assert_eq!(odp.post("/v3/graphql", body).await.status, 200);
    assert_eq!(start.elapsed(), Duration::from_secs(10));
}

#[tokio::test]
async fn odp_requests_are_logged_and_counted_like_v2_ones() {
    let odp = Odp::new();
    assert_accepted(&odp.post_raw("/v3/profiles", profile("u1")).await);
    odp.get("/v3/schema/objects/customers/fields/in_beta").await;
    odp.as_key(None).get("/v3/schema/objects").await;
    odp.post("/v3/graphql", json!({"query": "{x}"})).await;
    let log = odp.fake.requests();
    let rows: Vec<(&str, &str, u16, Option<&str>)> = log
        .iter()
        .map(|e| {
            (
                e.method.as_str(),
                e.path_template.as_str(),
                e.status,
                e.token_last4.as_deref(),
            )
        })
        .collect();
    let last4 = &PRIVATE[PRIVATE.len() - 4..];
    assert_eq!(
        rows,
        [
            ("POST", "/v3/profiles", 202, Some(last4)),
            (
                "GET",
                "/v3/schema/objects/{object}/fields/{field}",
                200,
                Some(last4)
            ),
            ("GET", "/v3/schema/objects", 403, None),
            ("POST", "/v3/graphql", 200, Some(last4)),
        ]
    );
    assert_eq!(log[1].path, "/v3/schema/objects/customers/fields/in_beta");
    let stats = odp.fake.stats();
    assert_eq!(stats.total_requests, 4);
    assert_eq!(stats.writes, 1, "the GraphQL POST is a read");
    assert_eq!(stats.count("GET", "/v3/schema/objects", 403), 1);
    let admin: Value = odp.get("/__admin/stats").await.body;
    assert_eq!(admin["total_requests"], 4, "admin calls are not logged");
    // Admin fault rules take /v3 templates too.
    let r = odp
        .post(
            "/__admin/faults",
            json!({"method": "POST", "path_template": "/v3/events", "action": {"type": "status", "status": 503}}),
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.text);
    let r = odp.post("/v3/events", json!({"type": "t"})).await;
    assert_eq!(r.status, 503);
    assert_eq!(r.body, json!({"message": "Service Unavailable"}));
}
