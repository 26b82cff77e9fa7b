//! Retries, in two separate parts:
//! - *whether* to retry: [`decide`] turns one attempt's outcome into a [`Verdict`] from the
//!   method (is it idempotent?) and the status or transport failure;
//! - *when*: [`Backoff`] (1 s doubling to a 60 s cap, with jitter) and the server's own
//!   instructions ([`server_wait`]: `Retry-After` as seconds or an HTTP date, else
//!   `X-RateLimit-Reset`).
//!
//! A create (POST) is retried only when the server certainly did not act on it: a 429, or a
//! connection that never opened. Timeouts, lost connections and 5xx answers to a POST are
//! returned to the caller as an unknown outcome, because the object may exist and the API has
//! no idempotency keys; the engine re-lists and adopts it instead of creating a duplicate.
//! (A 503 to a POST still pauses the limiter, but is not retried: a proxy can answer 503 after
//! the application stored the object.)

use std::sync::Mutex;
use std::time::{Duration, SystemTime};

use http::{HeaderMap, Method, StatusCode};
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};

/// How backoff delays are randomised so that several clients do not retry in step.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Jitter {
    /// Exactly the exponential delay (tests).
    None,
    /// Uniform in `[delay / 2, delay]`: spreads retries while keeping a floor, so a throttled
    /// client never hammers the server right away.
    Equal,
    /// Uniform in `[0, delay]`.
    Full,
}

/// Exponential backoff: `initial`, doubled per retry, capped at `max`, then jittered.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Backoff {
    /// Delay before the first retry.
    pub initial: Duration,
    /// Cap on the delay.
    pub max: Duration,
    /// Randomisation.
    pub jitter: Jitter,
    /// Seed for the jitter; `None` seeds from the OS. Set it in tests for exact delays.
    pub seed: Option<u64>,
}

impl Default for Backoff {
    fn default() -> Self {
        Backoff {
            initial: Duration::from_secs(1),
            max: Duration::from_secs(60),
            jitter: Jitter::Equal,
            seed: None,
        }
    }
}

impl Backoff {
    /// The delay before retry number `retry` (1 for the first retry), before jitter.
    pub fn base_delay(&self, retry: u32) -> Duration {
        let doublings = retry.saturating_sub(1).min(31);
        self.initial
            .saturating_mul(1_u32 << doublings)
            .min(self.max)
    }

    /// The jittered delay before retry number `retry`.
    pub fn delay(&self, retry: u32, rng: &mut impl Rng) -> Duration {
        let base = self.base_delay(retry);
        let nanos = u64::try_from(base.as_nanos()).unwrap_or(u64::MAX);
        match self.jitter {
            Jitter::None => base,
            Jitter::Equal => Duration::from_nanos(rng.random_range(nanos / 2..=nanos)),
            Jitter::Full => Duration::from_nanos(rng.random_range(0..=nanos)),
        }
    }

    /// A random source for this policy.
    pub(crate) fn rng(&self) -> Mutex<StdRng> {
        Mutex::new(match self.seed {
            Some(seed) => StdRng::seed_from_u64(seed),
            None => StdRng::from_os_rng(),
        })
    }
}

/// What the client does after one attempt.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Verdict {
    /// The answer is final (success or an error that retrying cannot fix).
    Done,
    /// Throttled (429/503): pause the whole limiter, then retry if attempts remain.
    RetryThrottled,
    /// Transient failure of an idempotent request: back off, then retry.
    RetryTransient,
    /// The server asked to slow down, but the request cannot be repeated safely (a POST that
    /// got 503): pause the limiter, then return the error.
    PauseThenFail,
    /// The outcome is unknown and the request is not idempotent: return it as is.
    Fail,
}

/// How an attempt ended, as far as retrying cares.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Attempt {
    /// The server answered with this status.
    Status(StatusCode),
    /// The connection never opened: nothing was sent.
    NotSent,
    /// Timeout or lost connection after the request may have been written.
    MaybeSent,
}

/// True for methods that can be repeated without changing the outcome. (PATCH in this API
/// sets fields to given values, so it is idempotent in practice.)
pub(crate) fn is_idempotent(method: &Method) -> bool {
    method != Method::POST
}

/// Whether to retry.
pub(crate) fn decide(idempotent: bool, attempt: Attempt) -> Verdict {
    match attempt {
        Attempt::NotSent => Verdict::RetryTransient,
        Attempt::MaybeSent if idempotent => Verdict::RetryTransient,
        Attempt::MaybeSent => Verdict::Fail,
        Attempt::Status(status) if status == StatusCode::TOO_MANY_REQUESTS => {
            // A 429 is a refusal before any work: safe to repeat even for a POST.
            Verdict::RetryThrottled
        }
        Attempt::Status(status) if status == StatusCode::SERVICE_UNAVAILABLE => {
            if idempotent {
                Verdict::RetryThrottled
            } else {
                Verdict::PauseThenFail
            }
        }
        Attempt::Status(status) if status.is_server_error() => {
            if idempotent {
                Verdict::RetryTransient
            } else {
                Verdict::Fail
            }
        }
        Attempt::Status(_) => Verdict::Done,
    }
}

/// The longest wait a server may ask for and get. Optimizely's quotas reset within a minute;
/// a few minutes covers any real maintenance window. A longer wait (or an absurd number, such
/// as `X-RateLimit-Reset: 1e19`) ends the request as throttled at once: a run that stops with
/// a message is better than one that hangs for hours on a bogus header.
pub const MAX_SERVER_WAIT: Duration = Duration::from_secs(15 * 60);

/// What a 429/503 answer asks for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ServerWait {
    /// Wait this long before the next request; never more than [`MAX_SERVER_WAIT`].
    For(Duration),
    /// The server asked for more than [`MAX_SERVER_WAIT`].
    TooLong {
        /// What it asked for, in whole seconds (`u64::MAX` for a number beyond counting).
        seconds: u64,
        /// The header that asked (`Retry-After` or `X-RateLimit-Reset`).
        header: &'static str,
    },
}

impl ServerWait {
    fn seconds(seconds: u64, header: &'static str) -> ServerWait {
        if seconds > MAX_SERVER_WAIT.as_secs() {
            ServerWait::TooLong { seconds, header }
        } else {
            ServerWait::For(Duration::from_secs(seconds))
        }
    }

    fn duration(wait: Duration, header: &'static str) -> ServerWait {
        if wait > MAX_SERVER_WAIT {
            ServerWait::TooLong {
                seconds: wait.as_secs(),
                header,
            }
        } else {
            ServerWait::For(wait)
        }
    }

    /// Fractional seconds, already known to be finite and not negative.
    fn fractional(seconds: f64, header: &'static str) -> ServerWait {
        if seconds > MAX_SERVER_WAIT.as_secs_f64() {
            // The saturating cast is the intent: anything this large only needs to read as huge.
            #[allow(clippy::cast_possible_truncation, clippy::cast_sign_loss)]
            let whole = seconds as u64;
            return ServerWait::TooLong {
                seconds: whole,
                header,
            };
        }
        match Duration::try_from_secs_f64(seconds) {
            Ok(wait) => ServerWait::duration(wait, header),
            Err(_) => ServerWait::TooLong {
                seconds: u64::MAX,
                header,
            },
        }
    }
}

/// The wait a 429/503 answer asks for: `Retry-After` (delay-seconds or an HTTP date), else
/// `X-RateLimit-Reset`. `None` when neither is present or readable (the caller then backs off).
///
/// An HTTP date is measured against the answer's own `Date` header when there is one, so
/// clock skew between client and server does not change the wait; otherwise against `now`.
/// No value, however large or malformed, panics or yields a wait above [`MAX_SERVER_WAIT`].
pub fn server_wait(headers: &HeaderMap, now: SystemTime) -> Option<ServerWait> {
    if let Some(wait) = header_str(headers, http::header::RETRY_AFTER)
        .and_then(|value| parse_retry_after(value, headers, now))
    {
        return Some(wait);
    }
    let reset = header_str(headers, "x-ratelimit-reset")?;
    parse_rate_limit_reset(reset, now)
}

fn header_str(headers: &HeaderMap, name: impl http::header::AsHeaderName) -> Option<&str> {
    headers.get(name)?.to_str().ok().map(str::trim)
}

/// Parses a `Retry-After` value: delay-seconds, or an HTTP date (a date in the past means
/// "now"). A number of seconds too long to hold is [`ServerWait::TooLong`].
pub fn parse_retry_after(value: &str, headers: &HeaderMap, now: SystemTime) -> Option<ServerWait> {
    const HEADER: &str = "Retry-After";
    let value = value.trim();
    if !value.is_empty() && value.bytes().all(|b| b.is_ascii_digit()) {
        let seconds = value.parse::<u64>().unwrap_or(u64::MAX);
        return Some(ServerWait::seconds(seconds, HEADER));
    }
    let at = httpdate::parse_http_date(value).ok()?;
    let reference = header_str(headers, http::header::DATE)
        .and_then(|d| httpdate::parse_http_date(d).ok())
        .unwrap_or(now);
    let wait = at.duration_since(reference).unwrap_or(Duration::ZERO);
    Some(ServerWait::duration(wait, HEADER))
}

/// Parses `X-RateLimit-Reset`: seconds until the quota resets. Values that look like a Unix
/// timestamp (after 2001) are read as one, since some servers send that instead. Every step
/// is checked: a value beyond any sane time is [`ServerWait::TooLong`], never an overflow.
pub fn parse_rate_limit_reset(value: &str, now: SystemTime) -> Option<ServerWait> {
    const HEADER: &str = "X-RateLimit-Reset";
    const EPOCH_THRESHOLD: f64 = 1_000_000_000.0;
    let seconds = value.trim().parse::<f64>().ok()?;
    if seconds.is_nan() || seconds < 0.0 {
        return None;
    }
    if seconds.is_infinite() {
        return Some(ServerWait::TooLong {
            seconds: u64::MAX,
            header: HEADER,
        });
    }
    if seconds >= EPOCH_THRESHOLD {
        // Both are far below 2^53 s for any real clock, so the difference is exact enough;
        // a clock before 1970 counts as 1970.
        let now = now
            .duration_since(SystemTime::UNIX_EPOCH)
            .unwrap_or(Duration::ZERO)
            .as_secs_f64();
        let until = seconds - now;
        if until <= 0.0 {
            return Some(ServerWait::For(Duration::ZERO));
        }
        return Some(ServerWait::fractional(until, HEADER));
    }
    Some(ServerWait::fractional(seconds, HEADER))
}

#[cfg(test)]
#[allow(clippy::unwrap_used)] // a failing unwrap is a failing test
mod tests {
    use super::*;
    use http::HeaderValue;

    fn wait(seconds: u64) -> ServerWait {
        ServerWait::For(Duration::from_secs(seconds))
    }

    fn headers(pairs: &[(&'static str, &str)]) -> HeaderMap {
        let mut map = HeaderMap::new();
        for (name, value) in pairs {
            map.insert(*name, HeaderValue::from_str(value).unwrap());
        }
        map
    }

    #[test]
    fn backoff_doubles_from_one_second_to_a_sixty_second_cap() {
        let backoff = Backoff {
            jitter: Jitter::None,
            ..Backoff::default()
        };
        let delays: Vec<u64> = (1..=9).map(|r| backoff.base_delay(r).as_secs()).collect();
        assert_eq!(delays, vec![1, 2, 4, 8, 16, 32, 60, 60, 60]);
        assert_eq!(backoff.base_delay(1000), Duration::from_secs(60));
        let mut rng = StdRng::seed_from_u64(1);
        assert_eq!(backoff.delay(3, &mut rng), Duration::from_secs(4));
    }

    #[test]
    fn jitter_stays_in_bounds_and_is_reproducible() {
        let equal = Backoff {
            seed: Some(7),
            ..Backoff::default()
        };
        let full = Backoff {
            jitter: Jitter::Full,
            ..equal
        };
        let mut rng = StdRng::seed_from_u64(7);
        for retry in 1..=10 {
            let base = equal.base_delay(retry);
            let d = equal.delay(retry, &mut rng);
            assert!(d >= base / 2 && d <= base, "{d:?} vs {base:?}");
            let d = full.delay(retry, &mut rng);
            assert!(d <= base);
        }
        let a: Vec<_> = (1..5)
            .map(|r| equal.delay(r, &mut StdRng::seed_from_u64(3)))
            .collect();
        let b: Vec<_> = (1..5)
            .map(|r| equal.delay(r, &mut StdRng::seed_from_u64(3)))
            .collect();
        assert_eq!(a, b);
    }

    #[test]
    fn retry_after_seconds() {
        let now = SystemTime::now();
        assert_eq!(
            server_wait(&headers(&[("retry-after", "7")]), now),
            Some(wait(7))
        );
    }

    #[test]
    fn retry_after_http_date_against_the_date_header() {
        let now = SystemTime::now();
        let h = headers(&[
            ("retry-after", "Wed, 21 Oct 2015 07:28:30 GMT"),
            ("date", "Wed, 21 Oct 2015 07:28:00 GMT"),
        ]);
        assert_eq!(server_wait(&h, now), Some(wait(30)));
    }

    #[test]
    fn retry_after_http_date_against_the_local_clock() {
        let now = httpdate::parse_http_date("Wed, 21 Oct 2015 07:28:00 GMT").unwrap();
        let h = headers(&[("retry-after", "Wed, 21 Oct 2015 07:28:12 GMT")]);
        assert_eq!(server_wait(&h, now), Some(wait(12)));
        let past = headers(&[("retry-after", "Wed, 21 Oct 2015 07:27:00 GMT")]);
        assert_eq!(server_wait(&past, now), Some(wait(0)));
    }

    #[test]
    fn rate_limit_reset_is_the_fallback() {
        let now = SystemTime::UNIX_EPOCH + Duration::from_secs(1_700_000_000);
        assert_eq!(
            server_wait(&headers(&[("x-ratelimit-reset", "12")]), now),
            Some(wait(12))
        );
        assert_eq!(
            server_wait(&headers(&[("x-ratelimit-reset", "1700000030")]), now),
            Some(wait(30))
        );
        // Retry-After wins when both are present; garbage falls through.
        assert_eq!(
            server_wait(
                &headers(&[("retry-after", "3"), ("x-ratelimit-reset", "12")]),
                now
            ),
            Some(wait(3))
        );
        assert_eq!(
            server_wait(
                &headers(&[("retry-after", "soon"), ("x-ratelimit-reset", "12")]),
                now
            ),
            Some(wait(12))
        );
        assert_eq!(server_wait(&HeaderMap::new(), now), None);
    }

    #[test]
    fn absurd_waits_are_too_long_not_a_panic() {
        let now = SystemTime::UNIX_EPOCH + Duration::from_secs(1_700_000_000);
        let too_long = |name: &'static str, value: &str| {
            matches!(
                server_wait(&headers(&[(name, value)]), now),
                Some(ServerWait::TooLong { .. })
            )
        };
        for value in [
            "1e19",
            "1e300",
            "inf",
            "18446744073709551616",
            "9999999999999",
        ] {
            assert!(too_long("x-ratelimit-reset", value), "{value}");
        }
        for value in ["901", "86400", "99999999999999999999999999"] {
            assert!(too_long("retry-after", value), "{value}");
        }
        assert!(too_long("retry-after", "Fri, 31 Dec 9999 23:59:59 GMT"));
        assert_eq!(
            server_wait(&headers(&[("retry-after", "900")]), now),
            Some(wait(900))
        );
        let Some(ServerWait::TooLong { seconds, header }) =
            server_wait(&headers(&[("x-ratelimit-reset", "1e19")]), now)
        else {
            panic!("1e19 is not too long")
        };
        assert!(seconds > 9_999_999_990_000_000_000, "{seconds}");
        assert_eq!(header, "X-RateLimit-Reset");
        // Unreadable values fall back to backoff.
        for value in ["NaN", "-5", "", "soon"] {
            assert_eq!(
                server_wait(&headers(&[("x-ratelimit-reset", value)]), now),
                None,
                "{value}"
            );
        }
        // A reset time in the past means now.
        assert_eq!(
            server_wait(&headers(&[("x-ratelimit-reset", "1600000000")]), now),
            Some(wait(0))
        );
    }

    #[test]
    fn whether_to_retry() {
        use Verdict::*;
        let s = |c: u16| Attempt::Status(StatusCode::from_u16(c).unwrap());
        for method in [Method::GET, Method::PATCH, Method::DELETE] {
            assert_eq!(decide(is_idempotent(&method), s(200)), Done);
            assert_eq!(decide(is_idempotent(&method), s(404)), Done);
            assert_eq!(decide(is_idempotent(&method), s(429)), RetryThrottled);
            assert_eq!(decide(is_idempotent(&method), s(503)), RetryThrottled);
            assert_eq!(decide(is_idempotent(&method), s(500)), RetryTransient);
            assert_eq!(
                decide(is_idempotent(&method), Attempt::MaybeSent),
                RetryTransient
            );
            assert_eq!(
                decide(is_idempotent(&method), Attempt::NotSent),
                RetryTransient
            );
        }
        assert_eq!(decide(false, s(201)), Done);
        assert_eq!(decide(false, s(400)), Done);
        assert_eq!(decide(false, s(429)), RetryThrottled);
        assert_eq!(decide(false, s(503)), PauseThenFail);
        assert_eq!(decide(false, s(500)), Fail);
        assert_eq!(decide(false, Attempt::MaybeSent), Fail);
        assert_eq!(decide(false, Attempt::NotSent), RetryTransient);
    }
}
