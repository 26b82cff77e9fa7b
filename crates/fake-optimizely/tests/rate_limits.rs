//! Rate limits on a paused clock: exact counts per second and per minute, Retry-After,
//! optional X-RateLimit-* headers, buckets per (token, product), live changes.
#![allow(clippy::unwrap_used)]

mod support;

use fake_optimizely::RateLimits;
use serde_json::json;
use std::time::Duration;
use support::{Api, FX, OTHER_TOKEN, WEB, test_seed};
use tokio::time::{Instant, advance};

fn api_with(limits: RateLimits) -> Api {
    let mut seed = test_seed();
    seed.rate_limits = limits;
    let api = Api::with_seed(seed);
    // OTHER_TOKEN gets an FX project of its own for the per-token test.
    api.fake
        .seed(fake_optimizely::Seed {
            tokens: vec![fake_optimizely::TokenSeed {
                token: OTHER_TOKEN.to_owned(),
                project_ids: vec![FX],
            }],
            rate_limits: api.fake.rate_limits(),
            ..Default::default()
        })
        .unwrap();
    api
}

fn fx_path() -> String {
    format!("/v2/projects/{FX}")
}

#[tokio::test(start_paused = true)]
async fn fx_two_per_second_exactly() {
    let api = api_with(RateLimits::default());
    assert_eq!(api.get(&fx_path()).await.status, 200);
    assert_eq!(api.get(&fx_path()).await.status, 200);
    let r = api.get(&fx_path()).await;
    r.assert_error(429, "too_many_requests");
    assert_eq!(r.header("retry-after"), Some("1"));
    assert!(
        r.header("x-ratelimit-remaining").is_none(),
        "headers off by default"
    );
    advance(Duration::from_millis(999)).await;
    assert_eq!(api.get(&fx_path()).await.status, 429);
    advance(Duration::from_millis(1)).await;
    assert_eq!(api.get(&fx_path()).await.status, 200);
    assert_eq!(api.get(&fx_path()).await.status, 200);
    assert_eq!(api.get(&fx_path()).await.status, 429);
    assert_eq!(api.fake.stats().total_429, 3);
}

#[tokio::test(start_paused = true)]
async fn paced_at_two_per_second_120_fit_in_59_5_seconds_and_the_121st_is_refused() {
    let api = api_with(RateLimits::default());
    let start = Instant::now();
    for i in 0..120 {
        if i > 0 {
            advance(Duration::from_millis(500)).await;
        }
        let r = api.get(&fx_path()).await;
        assert_eq!(r.status, 200, "request {i} at {:?}", start.elapsed());
    }
    assert_eq!(start.elapsed(), Duration::from_millis(59_500));
    advance(Duration::from_millis(400)).await; // t = 59.9 s, per-second window is free
    let r = api.get(&fx_path()).await;
    r.assert_error(429, "too_many_requests");
    assert_eq!(
        r.header("retry-after"),
        Some("1"),
        "the first request leaves the minute at 60 s"
    );
    advance(Duration::from_millis(100)).await; // t = 60 s
    assert_eq!(api.get(&fx_path()).await.status, 200);
}

#[tokio::test(start_paused = true)]
async fn greedy_client_following_retry_after_gets_120_in_59_seconds() {
    let api = api_with(RateLimits::default());
    let start = Instant::now();
    let (mut ok, mut refused) = (0, 0);
    while ok < 120 {
        let r = api.get(&fx_path()).await;
        if r.status == 200 {
            ok += 1;
        } else {
            assert_eq!(r.status, 429);
            refused += 1;
            let wait: u64 = r.header("retry-after").unwrap().parse().unwrap();
            advance(Duration::from_secs(wait)).await;
        }
    }
    assert_eq!(start.elapsed(), Duration::from_secs(59));
    assert_eq!(refused, 59);
    // Same minute: the 121st is refused even though the per-second window is free.
    advance(Duration::from_millis(999)).await;
    let r = api.get(&fx_path()).await;
    assert_eq!(r.status, 429);
    assert_eq!(r.header("retry-after"), Some("1"));
    let stats = api.fake.stats();
    assert_eq!(stats.total_429, 60);
    assert_eq!(stats.count("GET", "/v2/projects/{id}", 200), 120);
}

#[tokio::test(start_paused = true)]
async fn refused_requests_do_not_use_quota() {
    let api = api_with(RateLimits::default());
    api.get(&fx_path()).await;
    api.get(&fx_path()).await;
    for _ in 0..50 {
        assert_eq!(api.get(&fx_path()).await.status, 429);
    }
    advance(Duration::from_secs(1)).await;
    assert_eq!(api.get(&fx_path()).await.status, 200);
    assert_eq!(api.get(&fx_path()).await.status, 200);
}

#[tokio::test(start_paused = true)]
async fn web_is_100_per_minute_with_no_per_second_quota() {
    let api = api_with(RateLimits::default());
    let path = format!("/v2/attributes?project_id={WEB}");
    for i in 0..100 {
        assert_eq!(api.get(&path).await.status, 200, "request {i}");
    }
    let r = api.get(&path).await;
    r.assert_error(429, "too_many_requests");
    assert_eq!(r.header("retry-after"), Some("60"));
    advance(Duration::from_millis(59_999)).await;
    let r = api.get(&path).await;
    assert_eq!(r.status, 429);
    assert_eq!(r.header("retry-after"), Some("1"));
    advance(Duration::from_millis(1)).await;
    assert_eq!(api.get(&path).await.status, 200);
}

#[tokio::test(start_paused = true)]
async fn buckets_are_per_token_and_per_product() {
    let api = api_with(RateLimits::default());
    api.get(&fx_path()).await;
    api.get(&fx_path()).await;
    assert_eq!(api.get(&fx_path()).await.status, 429);
    // Same token, Web project: its own bucket. Writes and list endpoints count too.
    assert_eq!(api.get(&format!("/v2/projects/{WEB}")).await.status, 200);
    assert_eq!(
        api.post("/v2/attributes", json!({"project_id": WEB, "key": "k"}))
            .await
            .status,
        201
    );
    // Other token on the same FX project: its own bucket.
    let other = api.as_token(Some(OTHER_TOKEN));
    assert_eq!(other.get(&fx_path()).await.status, 200);
    // The quota follows the product of the targeted object (an FX attribute by id).
    advance(Duration::from_secs(1)).await;
    let id = api.create_attribute(FX, "fx_attr").await;
    api.get(&format!("/v2/attributes/{id}")).await;
    assert_eq!(api.get(&format!("/v2/attributes/{id}")).await.status, 429);
}

#[tokio::test(start_paused = true)]
async fn unauthenticated_requests_use_no_quota() {
    let api = api_with(RateLimits::default());
    for _ in 0..10 {
        assert_eq!(
            api.as_token(Some("2:nobody")).get(&fx_path()).await.status,
            401
        );
    }
    assert_eq!(api.get(&fx_path()).await.status, 200);
    assert_eq!(api.get(&fx_path()).await.status, 200);
}

#[tokio::test(start_paused = true)]
async fn retry_after_can_be_switched_off() {
    let api = api_with(RateLimits {
        retry_after: false,
        ..RateLimits::default()
    });
    api.get(&fx_path()).await;
    api.get(&fx_path()).await;
    let r = api.get(&fx_path()).await;
    r.assert_error(429, "too_many_requests");
    assert!(r.header("retry-after").is_none());
}

#[tokio::test(start_paused = true)]
async fn rate_limit_headers_when_switched_on() {
    let api = api_with(RateLimits {
        rate_limit_headers: true,
        ..RateLimits::default()
    });
    let path = format!("/v2/projects/{WEB}");
    let r = api.get(&path).await;
    assert_eq!(r.header("x-ratelimit-limit"), Some("100"));
    assert_eq!(r.header("x-ratelimit-remaining"), Some("99"));
    assert_eq!(r.header("x-ratelimit-reset"), Some("60"));
    advance(Duration::from_secs(20)).await;
    let r = api.get(&path).await;
    assert_eq!(r.header("x-ratelimit-remaining"), Some("98"));
    assert_eq!(r.header("x-ratelimit-reset"), Some("40"));
    // FX: the per-second window governs once it is the tighter one.
    let r = api.get(&fx_path()).await;
    assert_eq!(r.header("x-ratelimit-limit"), Some("2"));
    assert_eq!(r.header("x-ratelimit-remaining"), Some("1"));
    api.get(&fx_path()).await;
    let r = api.get(&fx_path()).await;
    assert_eq!(r.status, 429);
    assert_eq!(r.header("x-ratelimit-remaining"), Some("0"));
    assert_eq!(r.header("x-ratelimit-reset"), Some("1"));
    assert_eq!(r.header("retry-after"), Some("1"));
}

#[tokio::test(start_paused = true)]
async fn limits_change_live_through_the_api_and_admin() {
    let api = api_with(RateLimits::default());
    api.get(&fx_path()).await;
    api.get(&fx_path()).await;
    assert_eq!(api.get(&fx_path()).await.status, 429);
    api.fake.set_rate_limits(RateLimits {
        fx_per_second: Some(5),
        ..RateLimits::default()
    });
    assert_eq!(api.get(&fx_path()).await.status, 200);
    // Admin PATCH: null disables a quota, absent fields keep their value.
    let r = api
        .patch(
            "/__admin/rate_limits",
            json!({"fx_per_second": null, "fx_per_minute": 4}),
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.text);
    assert_eq!(r.body["fx_per_second"], serde_json::Value::Null);
    assert_eq!(r.body["fx_per_minute"], 4);
    assert_eq!(r.body["web_per_minute"], 100);
    assert_eq!(
        api.get(&fx_path()).await.status,
        200,
        "the 4th of the minute fits"
    );
    assert_eq!(api.get(&fx_path()).await.status, 429, "the 5th does not");
    assert_eq!(api.fake.rate_limits().fx_per_minute, Some(4));
    api.fake.set_rate_limits(RateLimits::unlimited());
    for _ in 0..500 {
        assert_eq!(api.get(&fx_path()).await.status, 200);
    }
}
