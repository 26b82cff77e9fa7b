//! Every client call against the fake Optimizely server, in process and on a paused clock:
//! create / list / get / update for each object type (archived through the fake's own API),
//! pagination beyond 100 objects, duplicates, 404, 401, the fake's rate limits, and injected
//! faults.

#![allow(clippy::unwrap_used)] // a failing unwrap is a failing test

use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use fake_optimizely::{
    DEMO_FX_PROJECT_ID, DEMO_LIST_ATTRIBUTE_ID, DEMO_WEB_PROJECT_ID, FakeOptimizely, FaultAction,
    FaultRule, RateLimits, Seed, demo_seed,
};
use optisync_optimizely::{
    ApiToken, AttributeUpdate, AudienceUpdate, Backoff, Client, ClientConfig, CustomEventUpdate,
    ErrorKind, EventCategory, Jitter, ListAttributeUpdate, ListType, NewAttribute, NewAudience,
    NewCustomEvent, NewListAttribute, Phase, Product, RateLimit, RateLimiter, Transport,
    TransportError, TransportFuture,
};
use tokio::time::Instant;

const TOKEN: &str = "2:fake-server-token-abcdefghijklmnopqrstuvwxyz0123456789AB";

/// Calls the fake's request handler directly; a dropped connection is a lost connection.
#[derive(Debug)]
struct InProcess(FakeOptimizely);

impl Transport for InProcess {
    fn send(&self, req: http::Request<Bytes>) -> TransportFuture<'_> {
        Box::pin(async move {
            // Whether or not the fake applied the write, the client only sees a connection
            // that closed after the request was written.
            self.0
                .handle(req)
                .await
                .map_err(|dropped| TransportError::MaybeSent(dropped.to_string()))
        })
    }
}

fn unlimited_seed() -> Seed {
    Seed {
        rate_limits: RateLimits::unlimited(),
        ..demo_seed(TOKEN)
    }
}

fn config(token: &str) -> ClientConfig {
    let mut config = ClientConfig::new(ApiToken::new(token));
    config.api_url = "http://127.0.0.1:4010/v2".parse().unwrap();
    config.backoff = Backoff {
        jitter: Jitter::None,
        ..Backoff::default()
    };
    config.rate_limit = Some(RateLimit::UNLIMITED);
    config
}

fn client_for(fake: &FakeOptimizely, config: ClientConfig) -> Client {
    let limiter = RateLimiter::new(config.rate_limit.unwrap_or(RateLimit::UNLIMITED));
    Client::with_parts(config, Arc::new(InProcess(fake.clone())), limiter).unwrap()
}

/// Archives an object the way another user of the API would, by sending the fake the API's
/// own archive call: the client has no archive calls, since optisync never archives.
async fn archive_in_fake(fake: &FakeOptimizely, path: &str) {
    let req = http::Request::builder()
        .method(http::Method::DELETE)
        .uri(format!("http://127.0.0.1:4010/v2{path}"))
        .header(http::header::AUTHORIZATION, format!("Bearer {TOKEN}"))
        .body(Bytes::new())
        .unwrap();
    let resp = fake.handle(req).await.unwrap();
    assert!(resp.status().is_success(), "DELETE {path}: {resp:?}");
}

fn setup() -> (FakeOptimizely, Client) {
    let fake = FakeOptimizely::new(unlimited_seed()).unwrap();
    let client = client_for(&fake, config(TOKEN));
    (fake, client)
}

#[tokio::test(start_paused = true)]
async fn projects_and_their_products() {
    let (_fake, client) = setup();
    let web = client.get_project(DEMO_WEB_PROJECT_ID).await.unwrap();
    assert_eq!(web.product(), Product::Web);
    assert!(!web.is_archived());
    let fx = client.get_project(DEMO_FX_PROJECT_ID).await.unwrap();
    assert_eq!(fx.product(), Product::FeatureExperimentation);
    assert_eq!(fx.id, DEMO_FX_PROJECT_ID);
}

#[tokio::test(start_paused = true)]
async fn attributes_round_trip() {
    let (fake, client) = setup();
    let mut new = NewAttribute::new(DEMO_FX_PROJECT_ID, "plan");
    new.description = Some("billing plan".into());
    let created = client.create_attribute(&new).await.unwrap();
    assert_eq!(created.key, "plan");
    assert_eq!(created.project_id, Some(DEMO_FX_PROJECT_ID));
    assert_eq!(client.get_attribute(created.id).await.unwrap(), created);

    let update = AttributeUpdate {
        description: Some("the plan".into()),
        ..Default::default()
    };
    let updated = client.update_attribute(created.id, &update).await.unwrap();
    assert_eq!(updated.description.as_deref(), Some("the plan"));
    assert_eq!(updated.key, "plan");

    let listed = client.list_attributes(DEMO_FX_PROJECT_ID).await.unwrap();
    assert!(listed.iter().any(|a| a.id == created.id));

    archive_in_fake(&fake, &format!("/attributes/{}", created.id)).await;
    assert!(
        client
            .get_attribute(created.id)
            .await
            .unwrap()
            .is_archived()
    );
}

#[tokio::test(start_paused = true)]
async fn audiences_round_trip() {
    let (_fake, client) = setup();
    let conditions = r#"["and", {"type": "custom_attribute", "name": "plan", "value": "pro", "match_type": "exact"}]"#;
    let created = client
        .create_audience(&NewAudience::new(
            DEMO_FX_PROJECT_ID,
            "Pro users",
            conditions,
        ))
        .await
        .unwrap();
    assert_eq!(created.name.as_deref(), Some("Pro users"));
    let parsed: serde_json::Value =
        serde_json::from_str(created.conditions.as_deref().unwrap()).unwrap();
    assert_eq!(
        parsed,
        serde_json::from_str::<serde_json::Value>(conditions).unwrap()
    );

    let update = AudienceUpdate {
        name: Some("Pro".into()),
        ..Default::default()
    };
    assert_eq!(
        client
            .update_audience(created.id, &update)
            .await
            .unwrap()
            .name
            .as_deref(),
        Some("Pro")
    );
    assert_eq!(
        client
            .get_audience(created.id)
            .await
            .unwrap()
            .name
            .as_deref(),
        Some("Pro")
    );
    assert!(
        client
            .list_audiences(DEMO_FX_PROJECT_ID)
            .await
            .unwrap()
            .iter()
            .any(|a| a.id == created.id)
    );

    // Audiences have no DELETE: archiving one is an update.
    let archive = AudienceUpdate {
        archived: Some(true),
        ..Default::default()
    };
    assert!(
        client
            .update_audience(created.id, &archive)
            .await
            .unwrap()
            .is_archived()
    );
    assert!(client.get_audience(created.id).await.unwrap().is_archived());
}

#[tokio::test(start_paused = true)]
async fn custom_events_round_trip() {
    let (fake, client) = setup();
    let mut new = NewCustomEvent::new("purchased");
    new.category = Some(EventCategory::Purchase);
    let created = client
        .create_custom_event(DEMO_FX_PROJECT_ID, &new)
        .await
        .unwrap();
    assert!(created.is_custom());
    assert_eq!(created.key.as_deref(), Some("purchased"));

    let update = CustomEventUpdate {
        name: Some("Purchased".into()),
        ..Default::default()
    };
    let updated = client
        .update_custom_event(DEMO_FX_PROJECT_ID, created.id, &update)
        .await
        .unwrap();
    assert_eq!(updated.name.as_deref(), Some("Purchased"));
    assert_eq!(
        client.get_event(created.id).await.unwrap().name.as_deref(),
        Some("Purchased")
    );

    let events = client.list_custom_events(DEMO_FX_PROJECT_ID).await.unwrap();
    assert_eq!(events.iter().filter(|e| e.id == created.id).count(), 1);
    assert!(
        client
            .list_events(DEMO_FX_PROJECT_ID)
            .await
            .unwrap()
            .iter()
            .any(|e| e.id == created.id)
    );

    archive_in_fake(
        &fake,
        &format!(
            "/projects/{DEMO_FX_PROJECT_ID}/custom_events/{}",
            created.id
        ),
    )
    .await;
    assert!(client.get_event(created.id).await.unwrap().is_archived());
}

#[tokio::test(start_paused = true)]
async fn list_attributes_round_trip() {
    let (fake, client) = setup();
    let seeded = client
        .get_list_attribute(DEMO_LIST_ATTRIBUTE_ID)
        .await
        .unwrap();
    assert_eq!(seeded.project_id, Some(DEMO_WEB_PROJECT_ID));

    let new = NewListAttribute {
        project_id: DEMO_WEB_PROJECT_ID,
        name: "beta_testers".into(),
        key_field: "uid".into(),
        list_type: ListType::Cookies,
        list_content: Some("u1,u2".into()),
        description: None,
        archived: None,
    };
    let created = client.create_list_attribute(&new).await.unwrap();
    assert_eq!(created.name, "beta_testers");
    assert_eq!(created.list_type, Some(ListType::Cookies));

    let update = ListAttributeUpdate {
        name: Some("beta_testers".into()),
        key_field: Some("uid".into()),
        list_type: Some(ListType::Cookies),
        list_content: Some("u3".into()),
        ..Default::default()
    };
    client
        .update_list_attribute(created.id, &update)
        .await
        .unwrap();
    let read = client.get_list_attribute(created.id).await.unwrap();
    if let Some(content) = read.list_content {
        assert_eq!(content, "u3", "a PATCH replaces the whole list");
    }

    let lists = client
        .list_list_attributes(DEMO_WEB_PROJECT_ID)
        .await
        .unwrap();
    let ids: Vec<i64> = lists.iter().map(|l| l.id).collect();
    assert!(
        ids.contains(&created.id) && ids.contains(&DEMO_LIST_ATTRIBUTE_ID),
        "{ids:?}"
    );

    archive_in_fake(&fake, &format!("/list_attributes/{}", created.id)).await;
    assert!(
        client
            .get_list_attribute(created.id)
            .await
            .unwrap()
            .is_archived()
    );
}

#[tokio::test(start_paused = true)]
async fn lists_page_through_more_than_100_objects() {
    let (fake, client) = setup();
    for i in 0..205 {
        client
            .create_attribute(&NewAttribute::new(
                DEMO_WEB_PROJECT_ID,
                format!("attr_{i:03}"),
            ))
            .await
            .unwrap();
    }
    let before = fake.stats().count("GET", "/v2/attributes", 200);
    let all = client.list_attributes(DEMO_WEB_PROJECT_ID).await.unwrap();
    assert_eq!(all.len(), 205);
    let mut keys: Vec<&str> = all.iter().map(|a| a.key.as_str()).collect();
    keys.sort_unstable();
    keys.dedup();
    assert_eq!(keys.len(), 205);
    assert_eq!(fake.stats().count("GET", "/v2/attributes", 200) - before, 3);
}

#[tokio::test(start_paused = true)]
async fn duplicates_are_recognised() {
    let (_fake, client) = setup();
    client
        .create_attribute(&NewAttribute::new(DEMO_FX_PROJECT_ID, "plan"))
        .await
        .unwrap();
    let err = client
        .create_attribute(&NewAttribute::new(DEMO_FX_PROJECT_ID, "plan"))
        .await
        .unwrap_err();
    assert!(err.is_duplicate(), "{err}");
    assert_eq!(err.kind(), ErrorKind::Rejected);
    assert!(!err.outcome_unknown());

    client
        .create_custom_event(DEMO_FX_PROJECT_ID, &NewCustomEvent::new("bought"))
        .await
        .unwrap();
    let err = client
        .create_custom_event(DEMO_FX_PROJECT_ID, &NewCustomEvent::new("bought"))
        .await
        .unwrap_err();
    assert!(err.is_duplicate(), "{err}");
}

#[tokio::test(start_paused = true)]
async fn missing_objects_are_not_found() {
    let (_fake, client) = setup();
    let err = client.get_project(12_345_678).await.unwrap_err();
    assert!(err.is_not_found(), "{err}");
    assert_eq!(err.kind(), ErrorKind::Rejected);
    assert!(err.uuid().is_some());
    let err = client.get_attribute(999).await.unwrap_err();
    assert!(err.is_not_found(), "{err}");
    let err = client.get_list_attribute(999).await.unwrap_err();
    assert_eq!(err.status(), Some(404));
}

#[tokio::test(start_paused = true)]
async fn an_unknown_token_is_an_auth_error_without_the_token() {
    let fake = FakeOptimizely::new(unlimited_seed()).unwrap();
    let stranger = "2:unknown-token-zyxwvutsrqponmlkjihgfedcba9876543210QRST";
    let client = client_for(&fake, config(stranger));
    let err = client.get_project(DEMO_FX_PROJECT_ID).await.unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Auth);
    assert_eq!(err.status(), Some(401));
    assert_eq!(err.attempts(), 1);
    let shown = format!("{err} {err:?}");
    assert!(
        !shown.contains(stranger) && !shown.contains("zyxwvuts"),
        "{shown}"
    );
}

#[tokio::test(start_paused = true)]
async fn without_pacing_the_fakes_429s_are_honoured() {
    // The client's own limiter is off, so the fake's FX quota (2/s) refuses the burst and
    // the client waits out each Retry-After.
    let fake = FakeOptimizely::new(demo_seed(TOKEN)).unwrap();
    let client = client_for(&fake, config(TOKEN));
    let started = Instant::now();
    for i in 0..6 {
        client
            .create_attribute(&NewAttribute::new(DEMO_FX_PROJECT_ID, format!("k{i}")))
            .await
            .unwrap();
    }
    let stats = fake.stats();
    assert!(stats.total_429 > 0, "{stats:?}");
    assert_eq!(stats.count("POST", "/v2/attributes", 201), 6);
    assert!(started.elapsed() >= Duration::from_secs(2));
}

#[tokio::test(start_paused = true)]
async fn with_fx_pacing_the_fake_never_refuses() {
    let fake = FakeOptimizely::new(demo_seed(TOKEN)).unwrap();
    let mut cfg = config(TOKEN);
    cfg.rate_limit = None;
    let client = client_for(&fake, cfg);
    let started = Instant::now();
    assert_eq!(
        client
            .get_project(DEMO_FX_PROJECT_ID)
            .await
            .unwrap()
            .product(),
        Product::FeatureExperimentation
    );
    assert_eq!(client.limiter().limit(), RateLimit::FEATURE_EXPERIMENTATION);
    let mut tasks = Vec::new();
    for t in 0..4 {
        let client = client.clone();
        tasks.push(tokio::spawn(async move {
            for i in 0..30 {
                let event = NewCustomEvent::new(format!("e_{t}_{i}"));
                client
                    .create_custom_event(DEMO_FX_PROJECT_ID, &event)
                    .await
                    .unwrap();
            }
        }));
    }
    for task in tasks {
        task.await.unwrap();
    }
    let stats = fake.stats();
    assert_eq!(stats.total_429, 0, "{stats:?}");
    assert_eq!(stats.total_requests, 121);
    // 121 starts at 2/s, the 121st also bound by the minute window.
    assert_eq!(started.elapsed(), Duration::from_secs(60));
}

#[tokio::test(start_paused = true)]
async fn injected_503s_are_retried_after_retry_after() {
    let (fake, client) = setup();
    fake.add_fault(FaultRule {
        method: "GET".into(),
        path_template: "/v2/projects/{id}".into(),
        times: 2,
        action: FaultAction::Status {
            status: 503,
            retry_after: Some(3),
        },
    });
    let started = Instant::now();
    client.get_project(DEMO_WEB_PROJECT_ID).await.unwrap();
    assert_eq!(started.elapsed(), Duration::from_secs(6));
    assert_eq!(fake.stats().count("GET", "/v2/projects/{id}", 503), 2);
}

#[tokio::test(start_paused = true)]
async fn a_create_dropped_after_the_write_is_reported_unknown_and_can_be_adopted() {
    let (fake, client) = setup();
    fake.add_fault(FaultRule {
        method: "POST".into(),
        path_template: "/v2/attributes".into(),
        times: 1,
        action: FaultAction::DropAfterWrite,
    });
    let err = client
        .create_attribute(&NewAttribute::new(DEMO_FX_PROJECT_ID, "tier"))
        .await
        .unwrap_err();
    assert_eq!(err.phase(), &Phase::MaybeSent);
    assert!(err.outcome_unknown());
    assert_eq!(
        fake.stats().count("POST", "/v2/attributes", 201) + fake.stats().dropped,
        1
    );
    // The engine's move: re-list and adopt instead of creating again.
    let existing = client.list_attributes(DEMO_FX_PROJECT_ID).await.unwrap();
    assert_eq!(existing.iter().filter(|a| a.key == "tier").count(), 1);
}
