//! Retry behaviour on a paused clock: exact attempt counts and delays for 429 (each way the
//! server can say how long to wait), 503, 5xx bursts, timeouts, and creates whose outcome is
//! unknown.

#![allow(clippy::unwrap_used)] // a failing unwrap is a failing test

mod common;

use std::time::{Duration, SystemTime};

use common::{Scripted, Step, client, client_with, config};
use optisync_optimizely::{
    Backoff, ErrorKind, Jitter, NewAttribute, Phase, RateLimit, RateLimiter, TransportError,
};
use tokio::time::Instant;

const OK_ATTR: &str = r#"{"id": 7, "key": "plan", "project_id": 1}"#;

fn ok() -> Step {
    Step::Respond {
        status: 200,
        headers: vec![],
        body: OK_ATTR.into(),
    }
}

fn created() -> Step {
    Step::Respond {
        status: 201,
        headers: vec![],
        body: OK_ATTR.into(),
    }
}

#[tokio::test(start_paused = true)]
async fn http_429_with_retry_after_seconds_waits_exactly_that_long() {
    let t = Scripted::steps(vec![
        Step::error(429, "too_many", "slow down").header("Retry-After", 7),
        ok(),
    ]);
    let attr = client(t.clone()).get_attribute(7).await.unwrap();
    assert_eq!(attr.id, 7);
    assert_eq!(t.attempts(), 2);
    assert_eq!(t.gaps(), vec![7.0]);
}

#[tokio::test(start_paused = true)]
async fn http_429_with_retry_after_http_date_waits_until_that_date() {
    let date = SystemTime::UNIX_EPOCH + Duration::from_secs(1_700_000_000);
    let t = Scripted::steps(vec![
        Step::status(429)
            .header("Date", httpdate::fmt_http_date(date))
            .header(
                "Retry-After",
                httpdate::fmt_http_date(date + Duration::from_secs(12)),
            ),
        ok(),
    ]);
    client(t.clone()).get_attribute(7).await.unwrap();
    assert_eq!(t.gaps(), vec![12.0]);
}

#[tokio::test(start_paused = true)]
async fn http_429_with_x_ratelimit_reset_waits_that_many_seconds() {
    let t = Scripted::steps(vec![Step::status(429).header("X-RateLimit-Reset", 4), ok()]);
    client(t.clone()).get_attribute(7).await.unwrap();
    assert_eq!(t.gaps(), vec![4.0]);
}

#[tokio::test(start_paused = true)]
async fn http_429_without_headers_backs_off_1_2_4_8() {
    let t = Scripted::steps(vec![
        Step::status(429),
        Step::status(429),
        Step::status(429),
        Step::status(429),
        ok(),
    ]);
    client(t.clone()).get_attribute(7).await.unwrap();
    assert_eq!(t.attempts(), 5);
    assert_eq!(t.gaps(), vec![1.0, 2.0, 4.0, 8.0]);
}

#[tokio::test(start_paused = true)]
async fn backoff_is_capped_at_60_seconds() {
    let t = Scripted::new(vec![], Step::status(429));
    let mut cfg = config();
    cfg.max_attempts = 9;
    let err = client_with(cfg, t.clone())
        .get_attribute(7)
        .await
        .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Throttled);
    assert_eq!(err.attempts(), 9);
    assert_eq!(t.gaps(), vec![1.0, 2.0, 4.0, 8.0, 16.0, 32.0, 60.0, 60.0]);
}

#[tokio::test(start_paused = true)]
async fn jittered_backoff_stays_within_half_and_full_delay() {
    let t = Scripted::new(vec![], Step::status(429));
    let mut cfg = config();
    cfg.max_attempts = 9;
    cfg.backoff = Backoff {
        jitter: Jitter::Equal,
        seed: Some(42),
        ..Backoff::default()
    };
    client_with(cfg, t.clone())
        .get_attribute(7)
        .await
        .unwrap_err();
    let bases = [1.0, 2.0, 4.0, 8.0, 16.0, 32.0, 60.0, 60.0];
    let gaps = t.gaps();
    assert_eq!(gaps.len(), bases.len());
    for (gap, base) in gaps.iter().zip(bases) {
        assert!(
            *gap >= base / 2.0 && *gap <= base,
            "gap {gap} for base {base}"
        );
    }
    // Same seed, same delays.
    let again = Scripted::new(vec![], Step::status(429));
    let mut cfg = config();
    cfg.max_attempts = 9;
    cfg.backoff = Backoff {
        jitter: Jitter::Equal,
        seed: Some(42),
        ..Backoff::default()
    };
    client_with(cfg, again.clone())
        .get_attribute(7)
        .await
        .unwrap_err();
    assert_eq!(again.gaps(), gaps);
}

#[tokio::test(start_paused = true)]
async fn http_503_is_retried_after_retry_after() {
    let t = Scripted::steps(vec![Step::status(503).header("Retry-After", 3), ok()]);
    client(t.clone()).get_attribute(7).await.unwrap();
    assert_eq!(t.gaps(), vec![3.0]);
}

#[tokio::test(start_paused = true)]
async fn a_burst_of_500s_then_success() {
    let t = Scripted::steps(vec![
        Step::status(500),
        Step::status(502),
        Step::status(500),
        ok(),
    ]);
    let started = Instant::now();
    client(t.clone()).get_attribute(7).await.unwrap();
    assert_eq!(t.attempts(), 4);
    assert_eq!(t.gaps(), vec![1.0, 2.0, 4.0]);
    assert_eq!(started.elapsed(), Duration::from_secs(7));
}

#[tokio::test(start_paused = true)]
async fn five_attempts_then_the_last_error() {
    let t = Scripted::steps(vec![
        Step::status(500),
        Step::status(500),
        Step::status(500),
        Step::status(500),
        Step::error(502, "bad_gateway", "upstream fell over").header("x-request-id", "req-5"),
        ok(),
    ]);
    let err = client(t.clone()).get_attribute(7).await.unwrap_err();
    assert_eq!(t.attempts(), 5);
    assert_eq!(t.gaps(), vec![1.0, 2.0, 4.0, 8.0]);
    assert_eq!(err.kind(), ErrorKind::Transient);
    assert_eq!(err.status(), Some(502));
    assert_eq!(err.request_id(), Some("req-5"));
    assert_eq!(err.attempts(), 5);
    assert!(err.to_string().contains("after 5 attempts"), "{err}");
    assert!(err.to_string().contains("upstream fell over"), "{err}");
}

#[tokio::test(start_paused = true)]
async fn timeouts_are_retried_for_reads() {
    let t = Scripted::steps(vec![Step::Hang, Step::Hang, ok()]);
    let started = Instant::now();
    client(t.clone()).get_attribute(7).await.unwrap();
    assert_eq!(t.attempts(), 3);
    // 30 s timeout, 1 s backoff, 30 s timeout, 2 s backoff.
    assert_eq!(t.gaps(), vec![31.0, 32.0]);
    assert_eq!(started.elapsed(), Duration::from_secs(63));
}

#[tokio::test(start_paused = true)]
async fn a_timeout_uses_the_configured_duration() {
    let t = Scripted::new(vec![], Step::Hang);
    let mut cfg = config();
    cfg.timeout = Duration::from_secs(5);
    cfg.max_attempts = 2;
    let started = Instant::now();
    let err = client_with(cfg, t.clone())
        .get_attribute(7)
        .await
        .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Transient);
    assert_eq!(err.phase(), &Phase::MaybeSent);
    assert_eq!(started.elapsed(), Duration::from_secs(11));
    assert!(err.to_string().contains("no answer within 5 s"), "{err}");
}

#[tokio::test(start_paused = true)]
async fn a_create_that_timed_out_is_not_retried() {
    let t = Scripted::steps(vec![Step::Hang, created()]);
    let started = Instant::now();
    let err = client(t.clone())
        .create_attribute(&NewAttribute::new(1, "plan"))
        .await
        .unwrap_err();
    assert_eq!(t.attempts(), 1);
    assert_eq!(started.elapsed(), Duration::from_secs(30));
    assert_eq!(err.phase(), &Phase::MaybeSent);
    assert!(err.outcome_unknown());
}

#[tokio::test(start_paused = true)]
async fn a_create_whose_connection_dropped_is_not_retried() {
    let t = Scripted::steps(vec![
        Step::Fail(TransportError::MaybeSent("connection reset by peer".into())),
        created(),
    ]);
    let err = client(t.clone())
        .create_attribute(&NewAttribute::new(1, "plan"))
        .await
        .unwrap_err();
    assert_eq!(t.attempts(), 1);
    assert_eq!(err.kind(), ErrorKind::Transient);
    assert_eq!(err.phase(), &Phase::MaybeSent);
    assert!(err.outcome_unknown());
}

#[tokio::test(start_paused = true)]
async fn a_create_with_a_5xx_answer_is_not_retried_and_reported_as_unknown() {
    let t = Scripted::steps(vec![Step::status(500), created()]);
    let err = client(t.clone())
        .create_attribute(&NewAttribute::new(1, "plan"))
        .await
        .unwrap_err();
    assert_eq!(t.attempts(), 1);
    assert_eq!(err.status(), Some(500));
    assert!(err.outcome_unknown());
}

#[tokio::test(start_paused = true)]
async fn a_create_that_never_connected_is_retried() {
    let t = Scripted::steps(vec![
        Step::Fail(TransportError::NotSent("connection refused".into())),
        created(),
    ]);
    let attr = client(t.clone())
        .create_attribute(&NewAttribute::new(1, "plan"))
        .await
        .unwrap();
    assert_eq!(attr.key, "plan");
    assert_eq!(t.gaps(), vec![1.0]);
}

#[tokio::test(start_paused = true)]
async fn a_throttled_create_is_retried() {
    let t = Scripted::steps(vec![Step::status(429).header("Retry-After", 2), created()]);
    client(t.clone())
        .create_attribute(&NewAttribute::new(1, "plan"))
        .await
        .unwrap();
    assert_eq!(t.gaps(), vec![2.0]);
}

#[tokio::test(start_paused = true)]
async fn a_create_with_503_pauses_the_limiter_but_is_not_retried() {
    let t = Scripted::steps(vec![Step::status(503).header("Retry-After", 9)]);
    let c = client(t.clone());
    let started = Instant::now();
    let err = c
        .create_attribute(&NewAttribute::new(1, "plan"))
        .await
        .unwrap_err();
    assert!(err.outcome_unknown());
    assert_eq!(t.attempts(), 1);
    c.get_attribute(7).await.unwrap();
    assert_eq!(started.elapsed(), Duration::from_secs(9));
}

#[tokio::test(start_paused = true)]
async fn connection_errors_on_reads_are_retried_with_backoff() {
    let t = Scripted::steps(vec![
        Step::Fail(TransportError::NotSent("connection refused".into())),
        Step::Fail(TransportError::MaybeSent("connection reset".into())),
        ok(),
    ]);
    client(t.clone()).get_attribute(7).await.unwrap();
    assert_eq!(t.gaps(), vec![1.0, 2.0]);
}

#[tokio::test(start_paused = true)]
async fn a_huge_server_wait_fails_fast_as_throttled() {
    let t = Scripted::steps(vec![Step::status(429).header("Retry-After", 86_400)]);
    let started = Instant::now();
    let err = client(t.clone()).get_attribute(7).await.unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Throttled);
    assert_eq!(started.elapsed(), Duration::ZERO);
    assert_eq!(t.attempts(), 1);
}

#[tokio::test(start_paused = true)]
async fn a_429_pauses_every_client_sharing_the_limiter() {
    let limiter = RateLimiter::new(RateLimit::UNLIMITED);
    let a_transport = Scripted::steps(vec![Step::status(429).header("Retry-After", 10), ok()]);
    let b_transport = Scripted::steps(vec![ok()]);
    let a = optisync_optimizely::Client::with_parts(config(), a_transport.clone(), limiter.clone())
        .unwrap();
    let b =
        optisync_optimizely::Client::with_parts(config(), b_transport.clone(), limiter).unwrap();
    let started = Instant::now();
    let first = tokio::spawn(async move { a.get_attribute(7).await });
    tokio::time::sleep(Duration::from_secs(1)).await;
    b.get_attribute(7).await.unwrap();
    first.await.unwrap().unwrap();
    assert_eq!(b_transport.sent()[0].at - started, Duration::from_secs(10));
    assert_eq!(a_transport.gaps(), vec![10.0]);
}

#[tokio::test(start_paused = true)]
async fn retries_pass_the_limiter() {
    // 1 request per second: the 500's backoff (1 s) and the limiter's spacing coincide, and
    // a 0.5 s backoff would still have to wait for the limiter.
    let t = Scripted::steps(vec![Step::status(500), Step::status(500), ok()]);
    let mut cfg = config();
    cfg.rate_limit = Some(RateLimit {
        per_second: Some(1),
        per_minute: None,
    });
    cfg.backoff = Backoff {
        initial: Duration::from_millis(100),
        jitter: Jitter::None,
        ..Backoff::default()
    };
    client_with(cfg, t.clone()).get_attribute(7).await.unwrap();
    assert_eq!(t.gaps(), vec![1.0, 1.0]);
}
