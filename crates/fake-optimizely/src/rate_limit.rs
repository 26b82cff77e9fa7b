//! Per-token rate limits: the quotas, and the sliding-window limiter that enforces them.
//!
//! Quotas (docs/PRODUCT-RULES.md#rate-limits-and-retries, docs/OPTIMIZELY-API.md#rate-limits): Feature Experimentation 2 requests/s and 120/min,
//! Web Experimentation 100/min, all configurable. A request counts against the bucket of
//! (token, product of the project it targets). ODP (`/v3`) requests count against the bucket
//! of (API key, API family): Profiles 10/s and GraphQL 500/s (docs/ODP-API.md §5), Schema
//! 10/s (INFERRED there), events unlimited. Windows are exact sliding windows over the
//! times of the requests that were *accepted*: a refused request does not use quota. A
//! request at `t` is allowed when fewer than `limit` accepted requests lie in `(t - window, t]`.
//! All timing uses `tokio::time::Instant`, so the limiter runs on a paused test clock.
//!
//! INFERRED (docs/OPTIMIZELY-API.md#rate-limits: no number or header is published for v2): the algorithm (exact
//! sliding windows), `Retry-After` as whole seconds rounded up until the refused request
//! would fit, and the optional `X-RateLimit-*` headers: `Limit` is the quota with the fewest
//! requests left, `Remaining` what is left of it after this request, `Reset` the whole
//! seconds until its oldest counted request leaves the window.
//!
//! INFERRED for ODP (docs/ODP-API.md §5, §10.3): the limit is per key and per API family, and
//! enforced as the same exact sliding window as v2 rather than §10.3's token bucket (with a
//! burst as large as the per-second quota the two admit the same first second, and a test can
//! reason about a window exactly); a 429 carries no `Retry-After` unless `odp_retry_after`.

use serde::{Deserialize, Serialize};
use std::collections::{HashMap, VecDeque};
use std::time::Duration;
use tokio::time::Instant;

const SECOND: Duration = Duration::from_secs(1);
const MINUTE: Duration = Duration::from_secs(60);

/// The rate limits the fake enforces, and which rate-limit headers it sends.
///
/// JSON shape (seed `rate_limits`, `PATCH /__admin/rate_limits`):
/// `{"fx_per_second": 2, "fx_per_minute": 120, "web_per_minute": 100, "retry_after": true,
/// "rate_limit_headers": false, "odp_profiles_per_second": 10, "odp_graphql_per_second": 500,
/// "odp_schema_per_second": 10, "odp_retry_after": false}`. A missing field keeps its default;
/// `null` disables that quota.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct RateLimits {
    /// Requests per second per token on Feature Experimentation projects (default 2).
    pub fx_per_second: Option<u32>,
    /// Requests per minute per token on Feature Experimentation projects (default 120).
    pub fx_per_minute: Option<u32>,
    /// Requests per minute per token on Web Experimentation projects (default 100).
    pub web_per_minute: Option<u32>,
    /// Send `Retry-After` (whole seconds until the quota frees) on 429 (default true).
    pub retry_after: bool,
    /// Send `X-RateLimit-Limit`, `-Remaining` and `-Reset` (default false: the real API was
    /// not seen sending them, so clients must work without).
    pub rate_limit_headers: bool,
    /// ODP Profiles API (`/v3/profiles`) requests per second per API key (default 10).
    pub odp_profiles_per_second: Option<u32>,
    /// ODP GraphQL (`/v3/graphql`) requests per second per API key (default 500).
    pub odp_graphql_per_second: Option<u32>,
    /// ODP schema (`/v3/schema/**`) requests per second per API key (default 10, INFERRED).
    pub odp_schema_per_second: Option<u32>,
    /// Send `Retry-After` on an ODP 429 (default false: ODP documents none).
    pub odp_retry_after: bool,
}

impl Default for RateLimits {
    fn default() -> Self {
        Self {
            fx_per_second: Some(2),
            fx_per_minute: Some(120),
            web_per_minute: Some(100),
            retry_after: true,
            rate_limit_headers: false,
            odp_profiles_per_second: Some(10),
            odp_graphql_per_second: Some(500),
            odp_schema_per_second: Some(10),
            odp_retry_after: false,
        }
    }
}

impl RateLimits {
    /// No quota at all, ODP's included (for tests and benchmarks that are not about rate
    /// limits).
    pub fn unlimited() -> Self {
        Self {
            fx_per_second: None,
            fx_per_minute: None,
            web_per_minute: None,
            odp_profiles_per_second: None,
            odp_graphql_per_second: None,
            odp_schema_per_second: None,
            ..Self::default()
        }
    }

    fn odp_quotas(&self, api: OdpApi) -> Vec<(Duration, u32)> {
        let limit = match api {
            OdpApi::Profiles => self.odp_profiles_per_second,
            OdpApi::GraphQl => self.odp_graphql_per_second,
            OdpApi::Schema => self.odp_schema_per_second,
            OdpApi::Events => None,
        };
        limit.map(|l| (SECOND, l)).into_iter().collect()
    }

    fn quotas(&self, product: Product) -> Vec<(Duration, u32)> {
        let pairs = match product {
            Product::FeatureExperimentation => {
                [(SECOND, self.fx_per_second), (MINUTE, self.fx_per_minute)]
            }
            Product::Web => [(SECOND, None), (MINUTE, self.web_per_minute)],
        };
        pairs
            .into_iter()
            .filter_map(|(window, limit)| limit.map(|l| (window, l)))
            .collect()
    }
}

/// The Optimizely product a project belongs to, which decides its quotas and features.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Product {
    /// Web Experimentation: `platform: "web"`.
    Web,
    /// Feature Experimentation: `platform: "custom"` with `is_flags_enabled: true`. Other
    /// non-web projects (legacy Full Stack, mobile) are treated like it, which is the stricter
    /// choice for both quotas and features.
    FeatureExperimentation,
}

/// The ODP API family a `/v3` request belongs to, which decides its quota.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub(crate) enum OdpApi {
    /// `/v3/profiles`.
    Profiles,
    /// `/v3/graphql`.
    GraphQl,
    /// `/v3/schema/**`.
    Schema,
    /// `/v3/events`: no limit (docs/ODP-API.md §5).
    Events,
}

/// Whose requests share one window: a v2 token on one product, or an ODP key on one API.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
enum BucketKey {
    V2(String, Product),
    Odp(String, OdpApi),
}

/// Values for the `X-RateLimit-*` headers.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct QuotaHeaders {
    pub(crate) limit: u32,
    pub(crate) remaining: u32,
    pub(crate) reset_secs: u64,
}

/// What the limiter decided about one request.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Decision {
    /// Go ahead; `None` when no quota applies.
    Allowed(Option<QuotaHeaders>),
    /// 429: `retry_after_secs` is the whole number of seconds until a slot frees.
    Refused {
        retry_after_secs: u64,
        headers: QuotaHeaders,
    },
}

/// Sliding-window limiter keyed by (token, product) for v2 and (key, API) for ODP.
#[derive(Debug, Default)]
pub(crate) struct Limiter {
    buckets: HashMap<BucketKey, VecDeque<Instant>>,
}

fn ceil_secs(d: Duration) -> u64 {
    d.as_nanos().div_ceil(1_000_000_000) as u64
}

impl Limiter {
    /// Decides whether `token` may make one more request on a `product` project at `now`,
    /// and records it when allowed.
    pub(crate) fn check(
        &mut self,
        token: &str,
        product: Product,
        limits: &RateLimits,
        now: Instant,
    ) -> Decision {
        let quotas = limits.quotas(product);
        self.check_bucket(BucketKey::V2(token.to_owned(), product), &quotas, now)
    }

    /// Decides whether ODP key `key` may make one more request to `api` at `now`, and
    /// records it when allowed.
    pub(crate) fn check_odp(
        &mut self,
        key: &str,
        api: OdpApi,
        limits: &RateLimits,
        now: Instant,
    ) -> Decision {
        let quotas = limits.odp_quotas(api);
        self.check_bucket(BucketKey::Odp(key.to_owned(), api), &quotas, now)
    }

    fn check_bucket(
        &mut self,
        key: BucketKey,
        quotas: &[(Duration, u32)],
        now: Instant,
    ) -> Decision {
        if quotas.is_empty() {
            return Decision::Allowed(None);
        }
        let bucket = self.buckets.entry(key).or_default();
        let longest = quotas.iter().map(|q| q.0).max().unwrap_or(MINUTE);
        while bucket
            .front()
            .is_some_and(|t| now.saturating_duration_since(*t) >= longest)
        {
            bucket.pop_front();
        }
        // For each quota: how many accepted requests are in its window, and the oldest one.
        let in_window = |window: Duration| -> Vec<Instant> {
            bucket
                .iter()
                .copied()
                .filter(|t| now.saturating_duration_since(*t) < window)
                .collect()
        };
        let mut wait = Duration::ZERO;
        let mut refused = false;
        let mut governing: Option<QuotaHeaders> = None;
        for &(window, limit) in quotas {
            let times = in_window(window);
            let count = times.len() as u32;
            let (remaining, reset) = if count >= limit {
                refused = true;
                // The request that must leave the window before one more fits.
                let leave_at = times
                    .get((count - limit) as usize)
                    .map_or(now + window, |t| *t + window);
                let w = leave_at.saturating_duration_since(now);
                wait = wait.max(w);
                (0, ceil_secs(w))
            } else {
                let oldest = times.first().copied().unwrap_or(now);
                let reset = ceil_secs((oldest + window).saturating_duration_since(now));
                (limit - count - 1, reset)
            };
            let candidate = QuotaHeaders {
                limit,
                remaining,
                reset_secs: reset,
            };
            governing = match governing {
                Some(g) if g.remaining < candidate.remaining => Some(g),
                _ => Some(candidate),
            };
        }
        let headers = governing.unwrap_or(QuotaHeaders {
            limit: 0,
            remaining: 0,
            reset_secs: 0,
        });
        if refused {
            Decision::Refused {
                retry_after_secs: ceil_secs(wait).max(1),
                headers,
            }
        } else {
            bucket.push_back(now);
            Decision::Allowed(Some(headers))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn fx() -> RateLimits {
        RateLimits::default()
    }

    #[tokio::test(start_paused = true)]
    async fn two_per_second_then_refused_with_retry_after_one() {
        let mut l = Limiter::default();
        let now = Instant::now();
        let p = Product::FeatureExperimentation;
        assert!(matches!(l.check("t", p, &fx(), now), Decision::Allowed(_)));
        assert!(matches!(l.check("t", p, &fx(), now), Decision::Allowed(_)));
        assert_eq!(
            l.check("t", p, &fx(), now),
            Decision::Refused {
                retry_after_secs: 1,
                headers: QuotaHeaders {
                    limit: 2,
                    remaining: 0,
                    reset_secs: 1
                }
            }
        );
        // Just before the second is over: still refused; at exactly one second: allowed.
        let almost = now + Duration::from_millis(999);
        assert!(matches!(
            l.check("t", p, &fx(), almost),
            Decision::Refused { .. }
        ));
        assert!(matches!(
            l.check("t", p, &fx(), now + SECOND),
            Decision::Allowed(_)
        ));
    }

    #[tokio::test(start_paused = true)]
    async fn buckets_are_per_token_and_product() {
        let mut l = Limiter::default();
        let now = Instant::now();
        let p = Product::FeatureExperimentation;
        l.check("a", p, &fx(), now);
        l.check("a", p, &fx(), now);
        assert!(matches!(l.check("b", p, &fx(), now), Decision::Allowed(_)));
        assert!(matches!(
            l.check("a", Product::Web, &fx(), now),
            Decision::Allowed(_)
        ));
        assert!(matches!(
            l.check("a", p, &fx(), now),
            Decision::Refused { .. }
        ));
    }

    #[tokio::test(start_paused = true)]
    async fn web_minute_quota_and_reset_header() {
        let mut l = Limiter::default();
        let start = Instant::now();
        let p = Product::Web;
        for i in 0..100u64 {
            let d = l.check("t", p, &fx(), start + Duration::from_millis(i * 100));
            let Decision::Allowed(Some(h)) = d else {
                panic!("{i}: {d:?}")
            };
            assert_eq!(h.remaining, 99 - i as u32);
        }
        let at = start + Duration::from_millis(10_050);
        assert_eq!(
            l.check("t", p, &fx(), at),
            Decision::Refused {
                retry_after_secs: 50,
                headers: QuotaHeaders {
                    limit: 100,
                    remaining: 0,
                    reset_secs: 50
                }
            }
        );
        assert!(matches!(
            l.check("t", p, &fx(), start + MINUTE),
            Decision::Allowed(_)
        ));
    }

    #[test]
    fn defaults_and_json_shape() {
        let d: RateLimits = serde_json::from_str("{}").unwrap();
        assert_eq!(d, RateLimits::default());
        let off: RateLimits =
            serde_json::from_str(r#"{"fx_per_second": null, "retry_after": false}"#).unwrap();
        assert_eq!(off.fx_per_second, None);
        assert_eq!(off.fx_per_minute, Some(120));
        assert!(!off.retry_after);
        assert!(RateLimits::unlimited().quotas(Product::Web).is_empty());
        assert!(
            RateLimits::unlimited()
                .odp_quotas(OdpApi::Profiles)
                .is_empty()
        );
        assert_eq!(d.odp_quotas(OdpApi::Profiles), [(SECOND, 10)]);
        assert_eq!(d.odp_quotas(OdpApi::GraphQl), [(SECOND, 500)]);
        assert!(d.odp_quotas(OdpApi::Events).is_empty());
    }

    #[tokio::test(start_paused = true)]
    async fn odp_buckets_are_per_key_and_api_and_apart_from_v2() {
        let mut l = Limiter::default();
        let now = Instant::now();
        let limits = RateLimits::default();
        for _ in 0..10 {
            assert!(matches!(
                l.check_odp("k", OdpApi::Profiles, &limits, now),
                Decision::Allowed(_)
            ));
        }
        assert!(matches!(
            l.check_odp("k", OdpApi::Profiles, &limits, now),
            Decision::Refused { .. }
        ));
        assert!(matches!(
            l.check_odp("k", OdpApi::GraphQl, &limits, now),
            Decision::Allowed(_)
        ));
        assert!(matches!(
            l.check_odp("other", OdpApi::Profiles, &limits, now),
            Decision::Allowed(_)
        ));
        assert!(matches!(
            l.check("k", Product::FeatureExperimentation, &limits, now),
            Decision::Allowed(_)
        ));
        assert!(matches!(
            l.check_odp("k", OdpApi::Profiles, &limits, now + SECOND),
            Decision::Allowed(_)
        ));
    }
}
