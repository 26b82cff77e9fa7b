//! The rate limiter every HTTP attempt passes, and the process-wide registry that gives every
//! client using the same token the same limiter (Optimizely counts requests per token).
//!
//! The limiter hands out start times ("slots") in arrival order, so concurrent callers are
//! served first come, first served. Two quotas hold at once:
//! - `per_second = n`: consecutive starts are at least `1 s / n` apart (rounded up to the
//!   nanosecond), so no half-open one-second window ever holds more than `n` starts and a long
//!   run is paced evenly instead of in bursts;
//! - `per_minute = m`: no half-open 60-second window holds more than `m` starts (an exact
//!   sliding window over the last `m` slots).
//!
//! With 2/s and 120/min, 120 starts from a fresh limiter span exactly 59.5 s.
//!
//! The server counts *arrivals*, and arrivals jitter by a few milliseconds (timer rounding,
//! scheduling, the network): with exact pacing, two starts exactly one window apart arrive
//! inside one window about half of the time and get a 429. So the limiters that clients get
//! from the [`LimiterRegistry`] add a small guard ([`RateLimiter::NETWORK_GUARD`], 10 ms) to
//! each window: `n` per-second spacings span 1 s plus the guard (505 ms apart at 2/s, 101 ms
//! at ODP's 10/s), and the minute window is 60 s plus the guard. That costs 1% at most, and
//! no refusals.
//! [`RateLimiter::new`] is exact (guard zero).
//! [`RateLimiter::pause_until`] stops everyone (a 429 or 503 means the shared quota is spent):
//! slots not yet reached are cancelled and their holders queue again after the pause.
//! Everything is timed with `tokio::time`, so tests run it on a paused clock.

use std::collections::hash_map::RandomState;
use std::collections::{HashMap, VecDeque};
use std::fmt;
use std::hash::BuildHasher;
use std::sync::{Arc, Mutex, MutexGuard, OnceLock};
use std::time::Duration;

use tokio::sync::watch;
use tokio::time::Instant;

use crate::model::Product;
use crate::token::ApiToken;

const MINUTE: Duration = Duration::from_secs(60);

/// Request quotas for one token. `None` means no quota of that length.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub struct RateLimit {
    /// Maximum starts per second (paced evenly).
    pub per_second: Option<u32>,
    /// Maximum starts in any 60-second window.
    pub per_minute: Option<u32>,
}

impl RateLimit {
    /// No quota at all (tests, or a proxy that limits by itself).
    pub const UNLIMITED: RateLimit = RateLimit {
        per_second: None,
        per_minute: None,
    };

    /// Feature Experimentation's published numbers: 2 requests/s and 120/min.
    pub const FEATURE_EXPERIMENTATION: RateLimit = RateLimit {
        per_second: Some(2),
        per_minute: Some(120),
    };

    /// Web Experimentation: 100 requests/min (docs/PRODUCT-RULES.md#rate-limits-and-retries).
    pub const WEB: RateLimit = RateLimit {
        per_second: None,
        per_minute: Some(100),
    };

    /// The default quota for a product. Products without a figure of their own get the
    /// Feature Experimentation one, the strictest documented.
    pub const fn for_product(product: Product) -> RateLimit {
        match product {
            Product::Web => RateLimit::WEB,
            Product::FeatureExperimentation
            | Product::LegacyFullStack
            | Product::Mobile
            | Product::Classic => RateLimit::FEATURE_EXPERIMENTATION,
        }
    }

    /// Minimum spacing between starts implied by `per_second`, with `guard` added to the
    /// one-second window (not to each spacing): `n` consecutive spacings span the window plus
    /// the guard, rounded up so that `n` spaced starts never fit in it.
    fn spacing(self, guard: Duration) -> Option<Duration> {
        let n = self.per_second.filter(|n| *n > 0)?;
        let window =
            1_000_000_000_u64.saturating_add(u64::try_from(guard.as_nanos()).unwrap_or(u64::MAX));
        let nanos = window.div_ceil(u64::from(n));
        Some(Duration::from_nanos(nanos))
    }
}

impl fmt::Display for RateLimit {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match (self.per_second, self.per_minute) {
            (Some(s), Some(m)) => write!(f, "{s}/s and {m}/min"),
            (Some(s), None) => write!(f, "{s}/s"),
            (None, Some(m)) => write!(f, "{m}/min"),
            (None, None) => f.write_str("no quota"),
        }
    }
}

/// A shared rate limiter; cloning it is cheap and clones share the quota.
#[derive(Clone)]
pub struct RateLimiter {
    inner: Arc<Inner>,
}

struct Inner {
    state: Mutex<State>,
    /// Bumped on every pause so waiting callers wake up and queue again.
    pauses: watch::Sender<u64>,
}

struct State {
    limit: RateLimit,
    /// Added to the per-second spacing and to the minute window.
    guard: Duration,
    /// Set once a caller configured the quota explicitly; product defaults then stop
    /// overriding it.
    explicit: bool,
    /// Granted slots in time order (past ones still count against the minute window).
    slots: VecDeque<Slot>,
    paused_until: Option<Instant>,
    next_ticket: u64,
}

#[derive(Clone, Copy)]
struct Slot {
    at: Instant,
    ticket: u64,
}

impl Slot {
    fn permit(self) -> Permit {
        Permit {
            at: self.at,
            ticket: self.ticket,
        }
    }
}

/// A granted slot: when it starts, and the ticket that identifies it to
/// [`RateLimiter::departed`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Permit {
    /// The slot's start.
    pub at: Instant,
    ticket: u64,
}

impl RateLimiter {
    /// Margin the registry's limiters keep against jitter in arrival times.
    pub const NETWORK_GUARD: Duration = Duration::from_millis(10);

    /// A limiter that enforces the quota exactly.
    pub fn new(limit: RateLimit) -> Self {
        RateLimiter::with_guard(limit, Duration::ZERO)
    }

    /// A limiter that keeps starts further apart than the quota strictly requires: the
    /// one-second window its spacing divides, and the minute window, both grow by `guard`.
    pub fn with_guard(limit: RateLimit, guard: Duration) -> Self {
        let (pauses, _) = watch::channel(0);
        RateLimiter {
            inner: Arc::new(Inner {
                state: Mutex::new(State {
                    limit,
                    guard,
                    explicit: false,
                    slots: VecDeque::new(),
                    paused_until: None,
                    next_ticket: 0,
                }),
                pauses,
            }),
        }
    }

    fn state(&self) -> MutexGuard<'_, State> {
        // The lock is never held across an await or user code, so a poisoned lock can only
        // come from a panic inside this module's short critical sections; the state is still
        // consistent (every section leaves it valid before any operation that could panic).
        self.inner
            .state
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    /// The current quota.
    pub fn limit(&self) -> RateLimit {
        self.state().limit
    }

    /// Sets the quota, and marks it as chosen by the user: later product defaults
    /// ([`RateLimiter::set_default_limit`]) no longer change it.
    pub fn set_limit(&self, limit: RateLimit) {
        let mut state = self.state();
        state.limit = limit;
        state.explicit = true;
    }

    /// Sets the quota unless one was set explicitly. Returns whether it changed anything.
    pub fn set_default_limit(&self, limit: RateLimit) -> bool {
        let mut state = self.state();
        if state.explicit || state.limit == limit {
            return false;
        }
        state.limit = limit;
        true
    }

    /// Waits for a slot and returns its start time. Callers are served in arrival order;
    /// after a pause, the callers that were waiting queue again behind the pause.
    ///
    /// Dropping the future while it waits keeps its slot reserved: the quota stays
    /// conservative rather than risking a burst.
    pub async fn acquire(&self) -> Instant {
        self.acquire_permit().await.at
    }

    /// [`RateLimiter::acquire`], also returning the slot's ticket for
    /// [`RateLimiter::departed`].
    pub async fn acquire_permit(&self) -> Permit {
        loop {
            let (slot, mut pauses) = {
                let mut state = self.state();
                let slot = state.reserve(Instant::now());
                (slot, self.inner.pauses.subscribe())
            };
            if slot.at <= Instant::now() {
                return slot.permit();
            }
            tokio::select! {
                () = tokio::time::sleep_until(slot.at) => {}
                // The sender lives as long as `self`, so this never fails; either way the
                // slot is re-checked below.
                _ = pauses.changed() => {}
            }
            let still_held = self.state().slots.iter().any(|s| s.ticket == slot.ticket);
            if still_held {
                // Woken by a pause that left this slot in place (it was already due when the
                // pause came): it stands, so wait for it if not yet reached.
                tokio::time::sleep_until(slot.at).await;
                return slot.permit();
            }
            // The slot was cancelled by a pause: queue again.
        }
    }

    /// Records that the request of `permit` left at `at`. A task is not always scheduled the
    /// moment its slot comes (a loaded machine wakes it tens of milliseconds late), and the
    /// server counts the request when it arrives: the slot moves to the real departure, so
    /// the slots handed out after it keep their spacing from when it really left.
    pub fn departed(&self, permit: Permit, at: Instant) {
        let mut state = self.state();
        let Some(slot) = state.slots.iter_mut().find(|s| s.ticket == permit.ticket) else {
            return;
        };
        if at <= slot.at {
            return;
        }
        slot.at = at;
        // The window check needs the slots in time order.
        state.slots.make_contiguous().sort_by_key(|s| s.at);
    }

    /// Stops every caller until `until`: no slot starts before it. Slots that were handed out
    /// but not yet reached are cancelled; their holders queue again after the pause.
    pub fn pause_until(&self, until: Instant) {
        let now = Instant::now();
        {
            let mut state = self.state();
            state.paused_until = Some(state.paused_until.map_or(until, |p| p.max(until)));
            state.slots.retain(|s| s.at <= now);
        }
        self.inner.pauses.send_modify(|n| *n = n.wrapping_add(1));
    }

    /// The end of the current pause, if one is in force.
    pub fn paused_until(&self) -> Option<Instant> {
        self.state().paused_until.filter(|p| *p > Instant::now())
    }
}

impl State {
    /// Hands out the earliest slot that keeps both quotas and the pause.
    fn reserve(&mut self, now: Instant) -> Slot {
        self.prune(now);
        let mut at = now;
        if let Some(paused) = self.paused_until {
            at = at.max(paused);
        }
        if let Some(last) = self.slots.back() {
            // Slots stay in time order, which is what makes the window check below exact.
            at = at.max(last.at);
            if let Some(spacing) = self.limit.spacing(self.guard) {
                at = at.max(last.at + spacing);
            }
        }
        if let Some(per_minute) = self.limit.per_minute.filter(|m| *m > 0) {
            let per_minute = per_minute as usize;
            if self.slots.len() >= per_minute {
                // The slot `per_minute` places back must have left the window.
                let oldest_in_window = self.slots[self.slots.len() - per_minute].at;
                at = at.max(oldest_in_window + MINUTE + self.guard);
            }
        }
        let slot = Slot {
            at,
            ticket: self.next_ticket,
        };
        self.next_ticket = self.next_ticket.wrapping_add(1);
        self.slots.push_back(slot);
        slot
    }

    /// Forgets past slots that no quota can need any more. Future slots (held by waiting
    /// callers) are kept so a pause can find and cancel them.
    fn prune(&mut self, now: Instant) {
        let keep = self.limit.per_minute.map_or(1, |m| (m as usize).max(1));
        while self.slots.len() > 1 {
            let Some(first) = self.slots.front() else {
                break;
            };
            let too_old = first.at + MINUTE + self.guard <= now;
            let beyond_quota = self.slots.len() > keep && first.at <= now;
            if too_old || beyond_quota {
                self.slots.pop_front();
            } else {
                break;
            }
        }
    }
}

impl fmt::Debug for RateLimiter {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let state = self.state();
        f.debug_struct("RateLimiter")
            .field("limit", &state.limit)
            .field("guard", &state.guard)
            .field("explicit", &state.explicit)
            .field("slots", &state.slots.len())
            .field("paused_until", &state.paused_until)
            .finish()
    }
}

/// One limiter per token for the whole process. Tokens are identified by a keyed hash (the
/// key is random per process), so the registry never holds or prints a token in clear.
pub struct LimiterRegistry {
    hasher: RandomState,
    limiters: Mutex<HashMap<u64, RateLimiter>>,
}

impl LimiterRegistry {
    /// An empty registry (tests use their own; the client uses [`LimiterRegistry::global`]).
    pub fn new() -> Self {
        LimiterRegistry {
            hasher: RandomState::new(),
            limiters: Mutex::new(HashMap::new()),
        }
    }

    /// The process-wide registry.
    pub fn global() -> &'static LimiterRegistry {
        static GLOBAL: OnceLock<LimiterRegistry> = OnceLock::new();
        GLOBAL.get_or_init(LimiterRegistry::new)
    }

    /// The limiter for `token`, created with `initial` (and [`RateLimiter::NETWORK_GUARD`])
    /// if this is the token's first use. An existing limiter keeps its quota.
    pub fn limiter(&self, token: &ApiToken, initial: RateLimit) -> RateLimiter {
        let key = self.hasher.hash_one(token.expose());
        let mut limiters = self.limiters.lock().unwrap_or_else(|p| p.into_inner());
        limiters
            .entry(key)
            .or_insert_with(|| RateLimiter::with_guard(initial, RateLimiter::NETWORK_GUARD))
            .clone()
    }

    /// How many tokens have a limiter.
    pub fn len(&self) -> usize {
        self.limiters
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .len()
    }

    /// True when no token has a limiter yet.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

impl Default for LimiterRegistry {
    fn default() -> Self {
        LimiterRegistry::new()
    }
}

impl fmt::Debug for LimiterRegistry {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("LimiterRegistry")
            .field("tokens", &self.len())
            .finish()
    }
}

/// A quota shared with other processes that use the same token, e.g. a ledger of request
/// slots in a file they all open. The client asks it before every attempt, after its own
/// in-process limiter, and waits as long as it says. It may block (it is called off the
/// async workers).
pub trait SharedQuota: Send + Sync + fmt::Debug {
    /// Reserves a slot for one request under `limit`: how long to wait before sending, and
    /// the slot to confirm with [`SharedQuota::sent`] once the request has left. An error
    /// is logged and the request goes on under the in-process limit alone.
    fn reserve(&self, limit: RateLimit) -> Result<Reservation, String>;

    /// Tells the quota that the request of `slot` left at `departed` (later than its slot
    /// when the process was not scheduled in time). The default does nothing.
    fn sent(&self, _slot: i64, _departed: std::time::SystemTime) -> Result<(), String> {
        Ok(())
    }
}

/// What [`SharedQuota::reserve`] hands out.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Reservation {
    /// How long to wait before sending.
    pub wait: Duration,
    /// The slot to confirm once the request has left, if the quota tracks them.
    pub slot: Option<i64>,
}

#[cfg(test)]
#[allow(clippy::unwrap_used)] // a failing unwrap is a failing test
mod tests {
    use super::*;

    fn secs(start: Instant, at: Instant) -> f64 {
        (at - start).as_secs_f64()
    }

    #[tokio::test(start_paused = true)]
    async fn a_late_departure_moves_its_slot_and_keeps_the_window_exact() {
        let limiter = RateLimiter::new(RateLimit {
            per_second: Some(2),
            per_minute: Some(3),
        });
        let start = Instant::now();
        let first = limiter.acquire_permit().await;
        assert_eq!(first.at, start);
        // Woken 80 ms late: the next slot keeps its 500 ms from the real departure.
        tokio::time::advance(Duration::from_millis(80)).await;
        limiter.departed(first, Instant::now());
        let second = limiter.acquire_permit().await;
        assert_eq!(second.at - start, Duration::from_millis(580));
        limiter.departed(second, second.at);
        let third = limiter.acquire_permit().await;
        assert_eq!(third.at - start, Duration::from_millis(1080));
        // A departure reported for an earlier time than the slot moves nothing.
        limiter.departed(third, start);
        // Three per minute: the fourth waits for the (moved) first to leave the window.
        let fourth = limiter.acquire().await;
        assert_eq!(fourth - start, Duration::from_millis(60_080));
    }

    /// Asserts no half-open window of `window` holds more than `max` instants.
    fn assert_window(times: &[Instant], window: Duration, max: usize) {
        let mut sorted = times.to_vec();
        sorted.sort();
        for (i, t) in sorted.iter().enumerate() {
            let in_window = sorted[i..].iter().take_while(|u| **u < *t + window).count();
            assert!(in_window <= max, "{in_window} starts within {window:?}");
        }
    }

    #[tokio::test(start_paused = true)]
    async fn fx_limits_pace_120_starts_over_59_5_seconds() {
        let limiter = RateLimiter::new(RateLimit::FEATURE_EXPERIMENTATION);
        let start = Instant::now();
        let mut times = Vec::new();
        for _ in 0..120 {
            times.push(limiter.acquire().await);
        }
        assert_eq!(Instant::now() - start, Duration::from_millis(59_500));
        assert_window(&times, Duration::from_secs(1), 2);
        assert_window(&times, MINUTE, 120);
        // The 121st must wait for the first to leave the minute window.
        assert_eq!(secs(start, limiter.acquire().await), 60.0);
    }

    #[tokio::test(start_paused = true)]
    async fn the_guard_widens_spacing_and_window() {
        let limiter = RateLimiter::with_guard(
            RateLimit {
                per_second: Some(2),
                per_minute: Some(3),
            },
            Duration::from_millis(10),
        );
        let start = Instant::now();
        let mut at = Vec::new();
        for _ in 0..4 {
            at.push((limiter.acquire().await - start).as_millis());
        }
        assert_eq!(at, vec![0, 505, 1010, 60_010]);
    }

    #[tokio::test(start_paused = true)]
    async fn per_minute_only_allows_a_burst_then_waits_a_full_window() {
        let limiter = RateLimiter::new(RateLimit {
            per_second: None,
            per_minute: Some(3),
        });
        let start = Instant::now();
        let mut at = Vec::new();
        for _ in 0..7 {
            at.push(secs(start, limiter.acquire().await));
        }
        assert_eq!(at, vec![0.0, 0.0, 0.0, 60.0, 60.0, 60.0, 120.0]);
    }

    #[tokio::test(start_paused = true)]
    async fn odd_per_second_rounds_up() {
        let limiter = RateLimiter::new(RateLimit {
            per_second: Some(3),
            per_minute: None,
        });
        let mut times = Vec::new();
        for _ in 0..30 {
            times.push(limiter.acquire().await);
        }
        assert_window(&times, Duration::from_secs(1), 3);
    }

    #[tokio::test(start_paused = true)]
    async fn unlimited_never_waits() {
        let limiter = RateLimiter::new(RateLimit::UNLIMITED);
        let start = Instant::now();
        for _ in 0..1000 {
            limiter.acquire().await;
        }
        assert_eq!(Instant::now(), start);
    }

    #[tokio::test(start_paused = true)]
    async fn concurrent_callers_share_the_quota_fairly() {
        let limiter = RateLimiter::new(RateLimit::FEATURE_EXPERIMENTATION);
        let start = Instant::now();
        let mut tasks = Vec::new();
        for _ in 0..10 {
            let limiter = limiter.clone();
            tasks.push(tokio::spawn(async move {
                let mut times = Vec::new();
                for _ in 0..12 {
                    times.push(limiter.acquire().await);
                }
                times
            }));
        }
        let mut all = Vec::new();
        let mut finish = Vec::new();
        for task in tasks {
            let times = task.await.unwrap();
            finish.push(secs(start, *times.last().unwrap()));
            all.extend(times);
        }
        assert_eq!(all.len(), 120);
        assert_eq!(Instant::now() - start, Duration::from_millis(59_500));
        assert_window(&all, Duration::from_secs(1), 2);
        // First come, first served: no task is starved until the others are done.
        assert!(finish.iter().all(|f| *f >= 50.0), "{finish:?}");
    }

    #[tokio::test(start_paused = true)]
    async fn pause_stops_everyone_including_waiting_callers() {
        let limiter = RateLimiter::new(RateLimit {
            per_second: Some(1),
            per_minute: None,
        });
        let start = Instant::now();
        assert_eq!(secs(start, limiter.acquire().await), 0.0);
        let waiting = {
            let limiter = limiter.clone();
            tokio::spawn(async move { limiter.acquire().await })
        };
        // Let the waiter take slot 1.0, then pause everyone for 10 s.
        tokio::time::sleep(Duration::from_millis(100)).await;
        limiter.pause_until(start + Duration::from_secs(10));
        assert_eq!(secs(start, waiting.await.unwrap()), 10.0);
        assert_eq!(secs(start, limiter.acquire().await), 11.0);
        assert!(limiter.paused_until().is_none());
    }

    #[tokio::test(start_paused = true)]
    async fn a_shorter_pause_never_shortens_a_longer_one() {
        let limiter = RateLimiter::new(RateLimit::UNLIMITED);
        let start = Instant::now();
        limiter.pause_until(start + Duration::from_secs(5));
        limiter.pause_until(start + Duration::from_secs(2));
        assert_eq!(secs(start, limiter.acquire().await), 5.0);
    }

    #[test]
    fn product_defaults() {
        assert_eq!(
            RateLimit::for_product(Product::FeatureExperimentation),
            RateLimit {
                per_second: Some(2),
                per_minute: Some(120)
            }
        );
        assert_eq!(
            RateLimit::for_product(Product::Web),
            RateLimit {
                per_second: None,
                per_minute: Some(100)
            }
        );
    }

    #[test]
    fn explicit_limits_win_over_defaults() {
        let limiter = RateLimiter::new(RateLimit::FEATURE_EXPERIMENTATION);
        assert!(limiter.set_default_limit(RateLimit::WEB));
        assert_eq!(limiter.limit(), RateLimit::WEB);
        limiter.set_limit(RateLimit::UNLIMITED);
        assert!(!limiter.set_default_limit(RateLimit::WEB));
        assert_eq!(limiter.limit(), RateLimit::UNLIMITED);
    }

    #[test]
    fn registry_shares_per_token_and_hides_tokens() {
        let registry = LimiterRegistry::new();
        let secret = "2:registry-secret-value-0123456789";
        let a = registry.limiter(&ApiToken::new(secret), RateLimit::WEB);
        let b = registry.limiter(&ApiToken::new(secret), RateLimit::UNLIMITED);
        let c = registry.limiter(
            &ApiToken::new("2:another-token-abcdefghijk"),
            RateLimit::WEB,
        );
        assert!(Arc::ptr_eq(&a.inner, &b.inner));
        assert!(!Arc::ptr_eq(&a.inner, &c.inner));
        assert_eq!(b.limit(), RateLimit::WEB);
        assert_eq!(b.state().guard, RateLimiter::NETWORK_GUARD);
        assert_eq!(registry.len(), 2);
        assert!(!format!("{registry:?}").contains("registry-secret"));
    }
}
