//! ODP rate limits on a paused clock (docs/ODP-API.md §5, §10.3): Profiles 10 requests/s per
//! key as an exact sliding window, 429 `{"message":"Too Many Requests"}` without
//! `Retry-After`, GraphQL 500/s, events unlimited, limits from the seed and live.
#![allow(clippy::unwrap_used)]

mod support;

use fake_optimizely::RateLimits;
use serde_json::json;
use std::time::Duration;
use support::odp::{Odp, PUBLIC, VARIABLES_QUERY};
use support::test_seed;
use tokio::time::advance;

fn odp_with(limits: RateLimits) -> Odp {
    let mut seed = test_seed();
    seed.rate_limits = limits;
    Odp::with_seed(seed)
}

async fn upsert(odp: &Odp, i: usize) -> u16 {
    odp.upsert(json!({"attributes": {"fs_user_id": format!("u{i}")}}))
        .await
        .status
}

#[tokio::test(start_paused = true)]
async fn the_eleventh_profiles_request_within_a_second_is_429_until_the_first_leaves_the_window() {
    let odp = odp_with(RateLimits::default());
    for i in 0..10 {
        assert_eq!(upsert(&odp, i).await, 202, "request {i}");
    }
    let r = odp
        .upsert(json!({"attributes": {"fs_user_id": "u10"}}))
        .await;
    assert_eq!(r.status, 429);
    assert_eq!(r.text, r#"{"message":"Too Many Requests"}"#);
    assert!(r.header("retry-after").is_none());
    assert!(
        odp.fake.odp_profile("fs_user_id", "u10").is_none(),
        "refused, not applied"
    );
    // Reads share the Profiles quota.
    assert_eq!(odp.get("/v3/profiles?fs_user_id=u1").await.status, 429);
    advance(Duration::from_millis(999)).await;
    assert_eq!(upsert(&odp, 10).await, 429);
    advance(Duration::from_millis(1)).await;
    assert_eq!(upsert(&odp, 10).await, 202);
    let stats = odp.fake.stats();
    assert_eq!(stats.count("POST", "/v3/profiles", 202), 11);
    assert_eq!(stats.count("POST", "/v3/profiles", 429), 2);
    assert_eq!(stats.count("GET", "/v3/profiles", 429), 1);
    assert_eq!(stats.total_429, 3);
}

#[tokio::test(start_paused = true)]
async fn paced_at_ten_per_second_nothing_is_refused_and_the_window_slides() {
    let odp = odp_with(RateLimits::default());
    // 100 ms apart: the 11th comes exactly 1 s after the 1st, when it has left the window.
    for i in 0..50 {
        if i > 0 {
            advance(Duration::from_millis(100)).await;
        }
        assert_eq!(upsert(&odp, i).await, 202, "request {i}");
    }
    // Ten at once now: the window holds the last ten paced ones, so all are refused until
    // 100 ms pass, then one fits.
    assert_eq!(upsert(&odp, 50).await, 429);
    advance(Duration::from_millis(100)).await;
    assert_eq!(upsert(&odp, 50).await, 202);
    assert_eq!(upsert(&odp, 51).await, 429);
}

#[tokio::test(start_paused = true)]
async fn buckets_are_per_key_and_per_api_family() {
    let odp = odp_with(RateLimits::default());
    for i in 0..10 {
        assert_eq!(upsert(&odp, i).await, 202);
    }
    assert_eq!(upsert(&odp, 10).await, 429);
    // The public key has its own Profiles bucket.
    assert_eq!(upsert(&odp.public(), 10).await, 202);
    // Schema (10/s), GraphQL (500/s) and events (none) are other families.
    assert_eq!(odp.get("/v3/schema/objects").await.status, 200);
    let graphql = json!({"query": VARIABLES_QUERY, "variables": {"userId": "u1", "audiences": ["beta_users"]}});
    assert_eq!(odp.post("/v3/graphql", graphql).await.status, 200);
    for _ in 0..50 {
        assert_eq!(
            odp.post("/v3/events", json!({"type": "t"})).await.status,
            202
        );
    }
    // v2 is unaffected (and unlimited here).
    let v2 = support::Api::with_seed(test_seed());
    assert_eq!(
        v2.get(&format!("/v2/projects/{}", support::FX))
            .await
            .status,
        200
    );
}

#[tokio::test(start_paused = true)]
async fn graphql_allows_500_per_second_and_schema_10() {
    let odp = odp_with(RateLimits::default());
    let graphql =
        json!({"query": VARIABLES_QUERY, "variables": {"userId": "nobody", "audiences": []}});
    for i in 0..500 {
        let r = odp.public().post("/v3/graphql", graphql.clone()).await;
        assert_eq!(r.status, 200, "request {i}");
    }
    let r = odp.public().post("/v3/graphql", graphql.clone()).await;
    assert_eq!(r.status, 429);
    assert_eq!(r.body, json!({"message": "Too Many Requests"}));
    for _ in 0..10 {
        assert_eq!(odp.get("/v3/schema/objects/customers").await.status, 200);
    }
    assert_eq!(odp.get("/v3/schema/objects/customers").await.status, 429);
    advance(Duration::from_secs(1)).await;
    assert_eq!(odp.public().post("/v3/graphql", graphql).await.status, 200);
}

#[tokio::test(start_paused = true)]
async fn refused_requests_use_no_quota() {
    let odp = odp_with(RateLimits::default());
    // Unknown keys and the public key on a private route are refused before the limiter.
    for _ in 0..20 {
        assert_eq!(upsert(&odp.as_key(Some("nope")), 0).await, 403);
        assert_eq!(odp.public().get("/v3/profiles?vuid=x").await.status, 403);
    }
    for i in 0..10 {
        assert_eq!(upsert(&odp, i).await, 202);
    }
    for _ in 0..20 {
        assert_eq!(upsert(&odp, 99).await, 429);
    }
    advance(Duration::from_secs(1)).await;
    assert_eq!(upsert(&odp, 10).await, 202);
    assert_eq!(upsert(&odp.public(), 11).await, 202);
}

#[tokio::test(start_paused = true)]
async fn limits_come_from_the_seed_and_change_live() {
    let odp = odp_with(RateLimits {
        odp_profiles_per_second: Some(2),
        odp_retry_after: true,
        ..RateLimits::default()
    });
    assert_eq!(upsert(&odp, 0).await, 202);
    advance(Duration::from_millis(300)).await;
    assert_eq!(upsert(&odp, 1).await, 202);
    let r = odp.upsert(json!({"attributes": {"vuid": "v"}})).await;
    assert_eq!(r.status, 429);
    assert_eq!(r.header("retry-after"), Some("1"), "switched on");
    // Admin PATCH: null disables the quota.
    let r = odp
        .try_send(
            http::Method::PATCH,
            "/__admin/rate_limits",
            Some(
                json!({"odp_profiles_per_second": null})
                    .to_string()
                    .into_bytes(),
            ),
        )
        .await
        .unwrap();
    assert_eq!(r.status, 200, "{}", r.text);
    assert_eq!(r.body["odp_graphql_per_second"], 500);
    for i in 0..100 {
        assert_eq!(upsert(&odp, i).await, 202);
    }
    // RateLimits::unlimited() switches ODP's quotas off too.
    odp.fake.set_rate_limits(RateLimits {
        odp_profiles_per_second: Some(1),
        ..RateLimits::unlimited()
    });
    assert_eq!(upsert(&odp, 0).await, 429, "the last second holds 100");
    odp.fake.set_rate_limits(RateLimits::unlimited());
    for i in 0..100 {
        assert_eq!(upsert(&odp.as_key(Some(PUBLIC)), i).await, 202);
    }
}
