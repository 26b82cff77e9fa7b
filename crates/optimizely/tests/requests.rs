//! What the client puts on the wire and how it reads answers: paths and verbs of every call,
//! headers, partial PATCH bodies, pagination over `Link` headers and page sizes, and how
//! error answers become kinds and messages (never with the token).

#![allow(clippy::unwrap_used)] // a failing unwrap is a failing test

mod common;

use std::time::Duration;

use common::{Scripted, Step, TOKEN, client, client_with, config};
use optisync_optimizely::{
    Attribute, AttributeUpdate, AudienceUpdate, Client, CustomEventUpdate, ErrorKind, Event,
    ListAttribute, ListAttributeUpdate, ListType, NewAttribute, NewAudience, NewCustomEvent,
    NewListAttribute, Phase, Project, RateLimit, RateLimiter,
};
use serde_json::{Value, json};
use tokio::time::Instant;

fn items(range: std::ops::Range<i64>) -> Value {
    Value::Array(
        range
            .map(|i| json!({"id": i, "key": format!("k{i}"), "name": format!("n{i}")}))
            .collect(),
    )
}

/// Each request sent, as `METHOD /path?query`.
fn calls(t: &Scripted) -> Vec<String> {
    t.sent()
        .iter()
        .map(|s| {
            let path = s.uri.trim_start_matches("http://127.0.0.1:9");
            format!("{} {path}", s.method)
        })
        .collect()
}

fn body(sent: &common::Sent) -> Value {
    serde_json::from_slice(&sent.body).unwrap()
}

#[tokio::test(start_paused = true)]
async fn every_call_uses_the_documented_verb_and_path() {
    let obj = json!({"id": 5, "key": "k", "name": "n"});
    let t = Scripted::new(vec![], Step::json(200, obj.clone()));
    let c = client(t.clone());
    c.get_project(1).await.unwrap();
    c.get_attribute(5).await.unwrap();
    c.create_attribute(&NewAttribute::new(1, "k"))
        .await
        .unwrap();
    c.update_attribute(5, &AttributeUpdate::default())
        .await
        .unwrap();
    c.get_audience(5).await.unwrap();
    c.create_audience(&NewAudience::new(1, "a", "[\"and\"]"))
        .await
        .unwrap();
    c.update_audience(5, &AudienceUpdate::default())
        .await
        .unwrap();
    c.get_event(5).await.unwrap();
    c.create_custom_event(1, &NewCustomEvent::new("k"))
        .await
        .unwrap();
    c.update_custom_event(1, 5, &CustomEventUpdate::default())
        .await
        .unwrap();
    c.get_list_attribute(5).await.unwrap();
    let new_list = NewListAttribute {
        project_id: 1,
        name: "vip".into(),
        key_field: "uid".into(),
        list_type: ListType::Cookies,
        list_content: Some("a,b".into()),
        description: None,
        archived: None,
    };
    c.create_list_attribute(&new_list).await.unwrap();
    c.update_list_attribute(5, &ListAttributeUpdate::default())
        .await
        .unwrap();
    assert_eq!(
        calls(&t),
        vec![
            "GET /v2/projects/1",
            "GET /v2/attributes/5",
            "POST /v2/attributes",
            "PATCH /v2/attributes/5",
            "GET /v2/audiences/5",
            "POST /v2/audiences",
            "PATCH /v2/audiences/5",
            "GET /v2/events/5",
            "POST /v2/projects/1/custom_events",
            "PATCH /v2/projects/1/custom_events/5",
            "GET /v2/list_attributes/5",
            "POST /v2/list_attributes",
            "PATCH /v2/list_attributes/5",
        ]
    );
    let sent = t.sent();
    assert_eq!(body(&sent[2]), json!({"project_id": 1, "key": "k"}));
    assert_eq!(body(&sent[8]), json!({"key": "k", "event_type": "custom"}));
    assert_eq!(
        body(&sent[11]),
        json!({"project_id": 1, "name": "vip", "key_field": "uid", "list_type": "cookies", "list_content": "a,b"})
    );
}

#[tokio::test(start_paused = true)]
async fn the_generic_calls_take_each_kinds_paths_from_its_resource() {
    let obj = json!({"id": 5, "key": "k", "name": "n"});
    let mut steps = vec![Step::json(200, obj); 4];
    steps.extend([Step::json(200, json!([])), Step::json(200, json!([]))]);
    let t = Scripted::steps(steps);
    let c = client(t.clone());
    let _: Project = c.get(1).await.unwrap();
    let _: Event = c.get(5).await.unwrap();
    let _: Event = c.create(1, &NewCustomEvent::new("k")).await.unwrap();
    let _: Attribute = c.update((), 5, &AttributeUpdate::default()).await.unwrap();
    let _: Vec<ListAttribute> = c.list(1).await.unwrap();
    let _: Vec<Event> = c.list(1).await.unwrap();
    assert_eq!(
        calls(&t),
        vec![
            "GET /v2/projects/1",
            "GET /v2/events/5",
            "POST /v2/projects/1/custom_events",
            "PATCH /v2/attributes/5",
            "GET /v2/list_attributes?project_id=1",
            "GET /v2/events?project_id=1&include_classic=false&per_page=100&page=1",
        ]
    );
}

#[tokio::test(start_paused = true)]
async fn headers_carry_auth_user_agent_and_content_type() {
    let t = Scripted::new(vec![], Step::json(200, json!({"id": 5, "key": "k"})));
    let c = client(t.clone());
    c.get_attribute(5).await.unwrap();
    let update = AttributeUpdate {
        description: Some("d".into()),
        ..Default::default()
    };
    c.update_attribute(5, &update).await.unwrap();
    let sent = t.sent();
    for s in &sent {
        assert_eq!(
            s.headers["authorization"],
            format!("Bearer {TOKEN}").as_str()
        );
        assert!(s.headers["authorization"].is_sensitive());
        assert_eq!(
            s.headers["user-agent"],
            format!("optisync/{}", env!("CARGO_PKG_VERSION")).as_str()
        );
    }
    assert!(sent[0].headers.get("content-type").is_none());
    assert_eq!(sent[1].headers["content-type"], "application/json");
    // Partial PATCH: only the field that is set.
    assert_eq!(body(&sent[1]), json!({"description": "d"}));
}

#[tokio::test(start_paused = true)]
async fn lists_follow_link_next_headers() {
    let link = |page: u32| {
        format!(
            "<http://127.0.0.1:9/v2/attributes?project_id=1&per_page=100&page={page}>; rel=next"
        )
    };
    let t = Scripted::steps(vec![
        Step::json(200, items(0..100))
            .header("Link", link(2))
            .header("X-Record-Total", 205),
        Step::json(200, items(100..200)).header("Link", link(3)),
        Step::json(200, items(200..205)).header(
            "Link",
            "<http://127.0.0.1:9/v2/attributes?project_id=1&per_page=100&page=2>; rel=prev",
        ),
    ]);
    let all = client(t.clone()).list_attributes(1).await.unwrap();
    assert_eq!(all.len(), 205);
    assert_eq!(all[204].id, 204);
    let uris: Vec<String> = t.sent().into_iter().map(|s| s.uri).collect();
    assert_eq!(
        uris,
        vec![
            "http://127.0.0.1:9/v2/attributes?project_id=1&per_page=100&page=1",
            "http://127.0.0.1:9/v2/attributes?project_id=1&per_page=100&page=2",
            "http://127.0.0.1:9/v2/attributes?project_id=1&per_page=100&page=3",
        ]
    );
}

#[tokio::test(start_paused = true)]
async fn without_links_a_short_page_ends_the_list() {
    let t = Scripted::steps(vec![
        Step::json(200, items(0..100)),
        Step::json(200, items(100..137)),
    ]);
    let all = client(t.clone()).list_audiences(1).await.unwrap();
    assert_eq!(all.len(), 137);
    assert_eq!(t.attempts(), 2);
    assert!(
        t.sent()[1]
            .uri
            .ends_with("/v2/audiences?project_id=1&per_page=100&page=2")
    );

    let t = Scripted::steps(vec![
        Step::json(200, items(0..100)),
        Step::json(200, json!([])),
    ]);
    assert_eq!(
        client(t.clone()).list_audiences(1).await.unwrap().len(),
        100
    );
    assert_eq!(t.attempts(), 2);
}

#[tokio::test(start_paused = true)]
async fn a_link_header_without_next_is_the_last_page_even_when_full() {
    let t = Scripted::steps(vec![
        Step::json(200, items(0..100))
            .header("Link", "<http://127.0.0.1:9/v2/events?page=1>; rel=first"),
    ]);
    assert_eq!(client(t.clone()).list_events(1).await.unwrap().len(), 100);
    assert_eq!(t.attempts(), 1);
    assert!(t.sent()[0].uri.contains("include_classic=false"));
}

#[tokio::test(start_paused = true)]
async fn a_next_link_to_another_host_is_not_followed() {
    let t = Scripted::steps(vec![Step::json(200, items(0..100)).header(
        "Link",
        "<https://evil.example/v2/attributes?page=2>; rel=next",
    )]);
    let err = client(t.clone()).list_attributes(1).await.unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Internal);
    assert_eq!(t.attempts(), 1);
}

#[tokio::test(start_paused = true)]
async fn custom_events_are_filtered_from_all_events() {
    let t = Scripted::steps(vec![Step::json(
        200,
        json!([
            {"id": 1, "key": "a", "event_type": "custom"},
            {"id": 2, "key": "b", "event_type": "click", "page_id": 9},
            {"id": 3, "key": "c", "event_type": "pageview"},
            {"id": 4, "key": "d", "event_type": "custom", "archived": true}
        ]),
    )]);
    let events = client(t.clone()).list_custom_events(1).await.unwrap();
    assert_eq!(events.iter().map(|e| e.id).collect::<Vec<_>>(), vec![1, 4]);
}

#[tokio::test(start_paused = true)]
async fn list_attributes_are_fetched_without_paging_parameters() {
    let t = Scripted::steps(vec![Step::json(200, json!([{"id": 3, "name": "vip"}]))]);
    let lists = client(t.clone()).list_list_attributes(1).await.unwrap();
    assert_eq!(lists[0].name, "vip");
    assert_eq!(
        t.sent()[0].uri,
        "http://127.0.0.1:9/v2/list_attributes?project_id=1"
    );
}

#[tokio::test(start_paused = true)]
async fn unauthorized_and_forbidden_are_auth_errors_without_the_token() {
    for status in [401, 403] {
        let t = Scripted::steps(vec![Step::json(
            status,
            json!({"code": "unauthorized", "message": format!("bad token {TOKEN}"), "uuid": "u-401"}),
        )]);
        let err = client(t.clone()).get_project(1).await.unwrap_err();
        assert_eq!(err.kind(), ErrorKind::Auth);
        assert_eq!(err.status(), Some(status));
        assert_eq!(t.attempts(), 1);
        let shown = format!("{err} {err:?}");
        assert!(!shown.contains(TOKEN), "{shown}");
        assert!(!shown.contains("scripted-secret"), "{shown}");
        assert!(shown.contains("authentication failed"), "{shown}");
        assert!(shown.contains("u-401"), "{shown}");
    }
}

#[tokio::test(start_paused = true)]
async fn not_found_is_rejected_with_the_envelope() {
    let t = Scripted::steps(vec![
        Step::error(404, "not_found", "Project not found").header("x-request-id", "req-404"),
    ]);
    let err = client(t.clone()).get_project(12345678).await.unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Rejected);
    assert!(err.is_not_found());
    assert_eq!(err.api_code(), Some("not_found"));
    assert_eq!(err.api_message(), Some("Project not found"));
    assert_eq!(err.uuid(), Some("uuid-1"));
    assert_eq!(err.request_id(), Some("req-404"));
    assert_eq!(
        err.to_string(),
        "GET /v2/projects/12345678: not found (HTTP 404 not_found): Project not found [uuid uuid-1, request id req-404]"
    );
}

#[tokio::test(start_paused = true)]
async fn duplicates_are_recognised() {
    let t = Scripted::steps(vec![Step::error(
        400,
        "bad_request",
        "Attribute with key plan already exists",
    )]);
    let err = client(t.clone())
        .create_attribute(&NewAttribute::new(1, "plan"))
        .await
        .unwrap_err();
    assert!(err.is_duplicate());
    assert!(!err.outcome_unknown());
    assert_eq!(err.kind(), ErrorKind::Rejected);
    assert_eq!(t.attempts(), 1);
}

#[tokio::test(start_paused = true)]
async fn a_non_json_error_body_is_kept_short_in_the_message() {
    let long = "x".repeat(5000);
    let t = Scripted::steps(vec![Step::Respond {
        status: 422,
        headers: vec![],
        body: long,
    }]);
    let err = client(t).get_attribute(1).await.unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Rejected);
    assert!(err.to_string().len() < 400);
}

#[tokio::test(start_paused = true)]
async fn an_unreadable_success_body_is_internal() {
    let t = Scripted::steps(vec![Step::Respond {
        status: 200,
        headers: vec![],
        body: "<html>".into(),
    }]);
    let err = client(t).get_attribute(1).await.unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Internal);
    assert!(matches!(err.phase(), Phase::Responded { status: 200, .. }));
}

#[tokio::test(start_paused = true)]
async fn the_project_product_chooses_the_default_quota() {
    let fx = json!({"id": 1, "platform": "custom", "is_flags_enabled": true, "status": "active"});
    let web = json!({"id": 2, "platform": "web"});
    let t = Scripted::steps(vec![Step::json(200, fx), Step::json(200, web)]);
    let mut cfg = config();
    cfg.rate_limit = None;
    let limiter = RateLimiter::new(RateLimit::UNLIMITED);
    let c = Client::with_parts(cfg, t.clone(), limiter.clone()).unwrap();
    c.get_project(1).await.unwrap();
    assert_eq!(limiter.limit(), RateLimit::FEATURE_EXPERIMENTATION);
    c.get_project(2).await.unwrap();
    assert_eq!(limiter.limit(), RateLimit::WEB);

    // An explicit quota is never replaced.
    let t = Scripted::steps(vec![Step::json(200, json!({"id": 2, "platform": "web"}))]);
    let limiter = RateLimiter::new(RateLimit::UNLIMITED);
    let c = Client::with_parts(config(), t, limiter.clone()).unwrap();
    c.get_project(2).await.unwrap();
    assert_eq!(limiter.limit(), RateLimit::UNLIMITED);
}

#[tokio::test(start_paused = true)]
async fn ten_tasks_share_one_fx_limiter_exactly() {
    let t = Scripted::new(vec![], Step::json(200, json!({"id": 1, "key": "k"})));
    let mut cfg = config();
    cfg.rate_limit = Some(RateLimit::FEATURE_EXPERIMENTATION);
    let c = client_with(cfg, t.clone());
    let started = Instant::now();
    let mut tasks = Vec::new();
    for task in 0..10 {
        let c = c.clone();
        tasks.push(tokio::spawn(async move {
            for i in 0..12 {
                c.get_attribute(task * 100 + i).await.unwrap();
            }
        }));
    }
    for task in tasks {
        task.await.unwrap();
    }
    assert_eq!(t.attempts(), 120);
    assert_eq!(started.elapsed(), Duration::from_millis(59_500));
    let times: Vec<Instant> = t.sent().iter().map(|s| s.at).collect();
    for (i, at) in times.iter().enumerate() {
        let within_1s = times[i..]
            .iter()
            .filter(|u| **u < *at + Duration::from_secs(1))
            .count();
        assert!(
            within_1s <= 2,
            "{within_1s} requests within 1 s of attempt {i}"
        );
    }
}

#[test]
fn config_errors_come_before_any_request() {
    let mut cfg = config();
    cfg.api_url = "http://api.optimizely.com/v2".parse().unwrap();
    let err = Client::new(cfg).unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Config);
    assert_eq!(err.phase(), &Phase::NotSent);
    assert!(!err.to_string().contains(TOKEN));
}

#[tokio::test]
async fn client_debug_never_shows_the_token() {
    let c = client(Scripted::steps(vec![]));
    let shown = format!("{c:?}");
    assert!(!shown.contains("scripted-secret"), "{shown}");
    assert!(shown.contains("***WXYZ"), "{shown}");
}

#[tokio::test]
async fn clients_with_the_same_token_share_the_process_limiter() {
    let mut cfg = config();
    cfg.token = optisync_optimizely::ApiToken::new("2:shared-registry-token-0123456789abcdef");
    let a = Client::with_transport(cfg.clone(), Scripted::steps(vec![])).unwrap();
    let b = Client::new(cfg).unwrap();
    a.limiter().set_limit(RateLimit {
        per_second: Some(7),
        per_minute: None,
    });
    assert_eq!(
        b.limiter().limit(),
        RateLimit {
            per_second: Some(7),
            per_minute: None
        }
    );
}
