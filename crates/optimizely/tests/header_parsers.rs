//! Property tests of the parsers of what a server says about waiting (`Retry-After`,
//! `X-RateLimit-Reset`, `Date`): whatever the text and whatever the clock, they never panic
//! and never hand the client a wait above [`MAX_SERVER_WAIT`].

#![allow(clippy::unwrap_used)] // a failing unwrap is a failing test

use std::time::{Duration, SystemTime};

use http::{HeaderMap, HeaderValue};
use optisync_optimizely::{
    MAX_SERVER_WAIT, ServerWait, parse_rate_limit_reset, parse_retry_after, server_wait,
};
use proptest::prelude::*;

/// The last second `httpdate` can write (9999-12-31T23:59:59Z).
const LAST_HTTP_DATE: u64 = 253_402_300_799;

fn at(seconds: u64) -> SystemTime {
    SystemTime::UNIX_EPOCH + Duration::from_secs(seconds)
}

fn capped(wait: Option<ServerWait>) -> Result<(), TestCaseError> {
    if let Some(ServerWait::For(wait)) = wait {
        prop_assert!(wait <= MAX_SERVER_WAIT, "{wait:?}");
    }
    Ok(())
}

/// Text a hostile server could send for a number: digits of any length, floats in every
/// notation, signs, junk.
fn numberish() -> impl Strategy<Value = String> {
    prop_oneof![
        any::<u64>().prop_map(|n| n.to_string()),
        any::<u128>().prop_map(|n| n.to_string()),
        any::<i64>().prop_map(|n| n.to_string()),
        any::<f64>().prop_map(|f| f.to_string()),
        any::<f64>().prop_map(|f| format!("{f:e}")),
        "[0-9]{1,400}",
        "[-+]?[0-9]{0,30}(\\.[0-9]{0,30})?([eE][-+]?[0-9]{1,5})?",
        prop::sample::select(vec![
            "inf", "-inf", "NaN", "infinity", "1e19", "1e308", "1e309", "-0", "0x10", " 5 ", "",
        ])
        .prop_map(str::to_owned),
        ".{0,64}",
    ]
}

fn http_date() -> impl Strategy<Value = String> {
    (0..=LAST_HTTP_DATE).prop_map(|s| httpdate::fmt_http_date(at(s)))
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(2000))]

    #[test]
    fn rate_limit_reset_never_panics_and_stays_capped(value in numberish(), now in 0..=LAST_HTTP_DATE) {
        capped(parse_rate_limit_reset(&value, at(now)))?;
    }

    #[test]
    fn retry_after_never_panics_and_stays_capped(
        value in prop_oneof![numberish(), http_date()],
        date in proptest::option::of(prop_oneof![http_date(), ".{0,40}"]),
        now in 0..=LAST_HTTP_DATE,
    ) {
        let mut headers = HeaderMap::new();
        if let Some(date) = date.and_then(|d| HeaderValue::from_str(&d).ok()) {
            headers.insert(http::header::DATE, date);
        }
        capped(parse_retry_after(&value, &headers, at(now)))?;
    }

    #[test]
    fn server_wait_never_panics_and_stays_capped(
        retry_after in proptest::option::of(prop_oneof![numberish(), http_date()]),
        reset in proptest::option::of(numberish()),
        date in proptest::option::of(http_date()),
        now in 0..=LAST_HTTP_DATE,
    ) {
        let mut headers = HeaderMap::new();
        for (name, value) in [("retry-after", retry_after), ("x-ratelimit-reset", reset), ("date", date)] {
            if let Some(value) = value.and_then(|v| HeaderValue::from_str(&v).ok()) {
                headers.insert(name, value);
            }
        }
        capped(server_wait(&headers, at(now)))?;
    }

    #[test]
    fn a_seconds_value_above_the_cap_is_too_long(seconds in (MAX_SERVER_WAIT.as_secs() + 1)..1_000_000_000u64) {
        let now = at(1_700_000_000);
        let mut headers = HeaderMap::new();
        headers.insert("retry-after", HeaderValue::from_str(&seconds.to_string()).unwrap());
        let is_too_long = matches!(
            server_wait(&headers, now),
            Some(ServerWait::TooLong { header: "Retry-After", .. })
        );
        prop_assert!(is_too_long);
        let is_too_long = matches!(
            parse_rate_limit_reset(&seconds.to_string(), now),
            Some(ServerWait::TooLong { header: "X-RateLimit-Reset", .. })
        );
        prop_assert!(is_too_long);
    }

    #[test]
    fn a_seconds_value_within_the_cap_is_exact(seconds in 0..=MAX_SERVER_WAIT.as_secs()) {
        let now = at(1_700_000_000);
        let expected = Some(ServerWait::For(Duration::from_secs(seconds)));
        prop_assert_eq!(parse_rate_limit_reset(&seconds.to_string(), now), expected);
        prop_assert_eq!(parse_retry_after(&seconds.to_string(), &HeaderMap::new(), now), expected);
    }
}

#[test]
fn the_cap_is_fifteen_minutes() {
    assert_eq!(MAX_SERVER_WAIT, Duration::from_secs(900));
}
