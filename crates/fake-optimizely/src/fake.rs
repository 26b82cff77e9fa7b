//! [`FakeOptimizely`]: the shared state and the request pipeline both the TCP server and
//! in-process callers go through.
//!
//! Pipeline of one request: admin paths (`/__admin/...`) go to `admin.rs`, unlogged. Every
//! other request is routed, then the first matching fault rule (if any) acts: answer a
//! status, delay, hold, or drop the connection before or after the request is handled. Then
//! `api::dispatch` authenticates, rate-limits and runs the endpoint. The request is logged
//! and counted, and the response gets the headers every v2 response carries.
//!
//! State lives behind one `std::sync::Mutex`, never held across an `.await`, so the fake
//! is usable from any runtime and from tests on a paused tokio clock.

use crate::api::{self, ApiContext, ApiRequest};
use crate::error::{ConnectionDropped, SeedError};
use crate::faults::{FaultAction, FaultRule, Faults};
use crate::holds::{HoldCounts, Holds, Verdict};
use crate::journal::{DropPoint, Journal, RequestLogEntry, Stats};
use crate::rate_limit::{Limiter, RateLimits};
use crate::response::{Answer, ApiError};
use crate::routes::{self, Routed, UNKNOWN_TEMPLATE};
use crate::seed::{self, Seed};
use crate::store::{Store, last4, now_timestamp};
use bytes::Bytes;
use http::header::{AUTHORIZATION, HOST};
use http::{Request, Response, StatusCode};
use serde_json::Value;
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;
use tokio::time::Instant;

/// A fake Optimizely REST API v2. Cheap to clone: clones share the same state.
#[derive(Clone, Debug)]
pub struct FakeOptimizely {
    inner: Arc<Inner>,
}

#[derive(Debug)]
struct Inner {
    core: Mutex<Core>,
    /// Apart from `core`: held requests wait on it, and must not keep the lock.
    holds: Holds,
    epoch: Instant,
}

#[derive(Debug, Default)]
struct Core {
    store: Store,
    limits: RateLimits,
    limiter: Limiter,
    faults: Faults,
    journal: Journal,
}

impl Default for FakeOptimizely {
    fn default() -> Self {
        Self::empty()
    }
}

impl FakeOptimizely {
    /// A fake loaded with `seed` (its objects, tokens and rate limits).
    pub fn new(seed: Seed) -> Result<Self, SeedError> {
        let fake = Self::empty();
        fake.seed(seed)?;
        Ok(fake)
    }

    /// A fake with no tokens, no projects and the default rate limits.
    pub fn empty() -> Self {
        Self {
            inner: Arc::new(Inner {
                core: Mutex::new(Core::default()),
                holds: Holds::default(),
                epoch: Instant::now(),
            }),
        }
    }

    fn lock(&self) -> MutexGuard<'_, Core> {
        // A panic while holding the lock leaves plain data behind; keep serving it.
        self.inner
            .core
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    /// Merges `seed` into the current state and applies its rate limits.
    pub fn seed(&self, seed: Seed) -> Result<(), SeedError> {
        self.apply_seed(&seed, true)
    }

    pub(crate) fn apply_seed(&self, seed: &Seed, with_limits: bool) -> Result<(), SeedError> {
        let mut core = self.lock();
        seed::apply(&mut core.store, seed)?;
        if with_limits {
            core.limits = seed.rate_limits.clone();
        }
        Ok(())
    }

    /// Forgets everything: objects, tokens, faults, the request log, counters and rate
    /// limit history; rate limits go back to their defaults.
    pub fn reset(&self) {
        *self.lock() = Core::default();
    }

    /// [`reset`](Self::reset), then [`seed`](Self::seed).
    pub fn reset_to(&self, seed: Seed) -> Result<(), SeedError> {
        let mut fresh = Core::default();
        seed::apply(&mut fresh.store, &seed)?;
        fresh.limits = seed.rate_limits;
        *self.lock() = fresh;
        Ok(())
    }

    /// Every object of every kind, list contents included, tokens redacted to their last
    /// four characters, plus the current rate limits and fault rules.
    pub fn state(&self) -> Value {
        let core = self.lock();
        let mut state = core.store.snapshot();
        if let Value::Object(map) = &mut state {
            map.insert(
                "rate_limits".into(),
                serde_json::to_value(&core.limits).unwrap_or(Value::Null),
            );
            map.insert(
                "faults".into(),
                serde_json::to_value(core.faults.list()).unwrap_or(Value::Null),
            );
        }
        state
    }

    /// Counters over all `/v2` requests.
    pub fn stats(&self) -> Stats {
        self.lock().journal.stats()
    }

    /// The request log, oldest first.
    pub fn requests(&self) -> Vec<RequestLogEntry> {
        self.lock().journal.entries()
    }

    /// Adds a fault rule (after the existing ones).
    pub fn add_fault(&self, rule: FaultRule) {
        self.lock().faults.add(rule);
    }

    /// Removes every fault rule.
    pub fn clear_faults(&self) {
        self.lock().faults.clear();
    }

    /// The fault rules still active, with their remaining `times`.
    pub fn faults(&self) -> Vec<FaultRule> {
        self.lock().faults.list()
    }

    /// How many requests a `hold_*` fault has held since the fake was created, and how many
    /// are held now.
    pub fn held(&self) -> HoldCounts {
        self.inner.holds.counts()
    }

    /// Waits until `count` requests in all have been held since the fake was created (so
    /// the `count`-th held request is parked, or was let go). Put a timeout around it.
    pub async fn wait_held(&self, count: u64) {
        self.inner.holds.wait_held(count).await;
    }

    /// Lets every request held now go on: handled (if not yet) and answered.
    pub fn release_held(&self) {
        self.inner.holds.let_go(Verdict::Answer);
    }

    /// Closes the connection of every request held now without answering it; one held
    /// before its write is not handled at all.
    pub fn drop_held(&self) {
        self.inner.holds.let_go(Verdict::Drop);
    }

    /// Replaces the rate limits; requests already counted stay counted.
    pub fn set_rate_limits(&self, limits: RateLimits) {
        self.lock().limits = limits;
    }

    /// The rate limits in force.
    pub fn rate_limits(&self) -> RateLimits {
        self.lock().limits.clone()
    }

    /// Handles one request, exactly as the TCP server does.
    ///
    /// `Err(ConnectionDropped)` means a fault rule asked for the connection to be closed
    /// without an answer; treat it like a connection reset.
    pub async fn handle(&self, req: Request<Bytes>) -> Result<Response<Bytes>, ConnectionDropped> {
        let (parts, body) = req.into_parts();
        let path = parts.uri.path().to_owned();
        if path == "/__admin" || path.starts_with("/__admin/") {
            return Ok(crate::admin::handle(self, &parts.method, &path, &body));
        }
        let method = parts.method.as_str().to_owned();
        let raw_query = parts.uri.query().map(str::to_owned);
        let authorization = parts
            .headers
            .get(AUTHORIZATION)
            .and_then(|v| v.to_str().ok())
            .map(str::to_owned);
        let token_last4 = authorization
            .as_deref()
            .and_then(|v| v.split_whitespace().nth(1))
            .map(last4);
        let origin = match parts.headers.get(HOST).and_then(|v| v.to_str().ok()) {
            Some(host) => format!("http://{host}"),
            None => match parts.uri.authority() {
                Some(authority) => format!("http://{authority}"),
                None => "http://localhost".to_owned(),
            },
        };
        let routed = routes::route(&parts.method, &path);
        let template = match &routed {
            Routed::Found { template, .. } | Routed::MethodNotAllowed { template } => template,
            Routed::NotFound => UNKNOWN_TEMPLATE,
        };
        let mut entry = RequestLogEntry {
            seq: 0,
            method: method.clone(),
            path: path.clone(),
            query: raw_query.clone(),
            path_template: template.to_owned(),
            status: 0,
            applied_status: None,
            dropped: None,
            time: now_timestamp(),
            at_ms: 0,
            token_last4,
        };

        let fault = self.lock().faults.take(&method, template);
        let mut drop_after_write = false;
        let mut delay_after_write = None;
        let mut duplicate_after_write = false;
        let mut hold_after_write = false;
        match fault {
            Some(FaultAction::Status {
                status,
                retry_after,
            }) => {
                let status =
                    StatusCode::from_u16(status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
                let mut error = ApiError::new(
                    status,
                    format!(
                        "{} (injected by fake-optimizely)",
                        status.canonical_reason().unwrap_or("error")
                    ),
                );
                if let Some(secs) = retry_after {
                    error = error.with_header(http::header::RETRY_AFTER, secs.to_string());
                }
                let response = error.into_answer().into_response();
                entry.status = response.status().as_u16();
                self.record(entry);
                return Ok(response);
            }
            Some(FaultAction::Delay { millis }) => {
                tokio::time::sleep(Duration::from_millis(millis)).await;
            }
            Some(FaultAction::DropBeforeWrite) => {
                entry.dropped = Some(DropPoint::BeforeWrite);
                self.record(entry);
                return Err(ConnectionDropped { after_write: false });
            }
            Some(FaultAction::DropAfterWrite) => drop_after_write = true,
            Some(FaultAction::DelayAfterWrite { millis }) => {
                delay_after_write = Some(Duration::from_millis(millis));
            }
            Some(FaultAction::DuplicateAfterWrite) => duplicate_after_write = true,
            Some(FaultAction::HoldBeforeWrite) => {
                let verdict = self.inner.holds.hold().await;
                if verdict == Verdict::Drop {
                    entry.dropped = Some(DropPoint::BeforeWrite);
                    self.record(entry);
                    return Err(ConnectionDropped { after_write: false });
                }
            }
            Some(FaultAction::HoldAfterWrite) => hold_after_write = true,
            None => {}
        }

        let query = routes::parse_query(raw_query.as_deref());
        let answer = {
            let mut guard = self.lock();
            let core = &mut *guard;
            match &routed {
                Routed::Found {
                    endpoint, params, ..
                } => {
                    let req = ApiRequest {
                        endpoint: *endpoint,
                        params,
                        query: &query,
                        raw_query: raw_query.as_deref(),
                        path: &path,
                        origin: &origin,
                        body: &body,
                        token: "",
                    };
                    let ctx = ApiContext {
                        store: &mut core.store,
                        limiter: &mut core.limiter,
                        limits: &core.limits,
                        now: Instant::now(),
                    };
                    api::dispatch(ctx, authorization.as_deref(), &req)
                }
                Routed::MethodNotAllowed { template } => ApiError::new(
                    StatusCode::METHOD_NOT_ALLOWED,
                    format!("method {method} is not allowed on {template}"),
                )
                .into_answer(),
                Routed::NotFound => {
                    ApiError::not_found(format!("no such resource: {path}")).into_answer()
                }
            }
        };
        let mut response = Answer::into_response(answer);
        if duplicate_after_write && response.status().is_success() {
            entry.applied_status = Some(response.status().as_u16());
            response = ApiError::new(
                StatusCode::BAD_REQUEST,
                "Another entity already exists with this same key (injected by fake-optimizely after applying the write)",
            )
            .into_answer()
            .into_response();
        }
        let status = response.status().as_u16();
        tracing::debug!(%method, path = %path, status, "request");
        if drop_after_write {
            entry.applied_status = Some(status);
            entry.dropped = Some(DropPoint::AfterWrite);
            self.record(entry);
            return Err(ConnectionDropped { after_write: true });
        }
        entry.status = status;
        self.record(entry);
        if let Some(delay) = delay_after_write {
            // The write is applied and logged; a client that gives up (or dies) now never
            // learns that it was.
            tokio::time::sleep(delay).await;
        }
        // Logged as answered before the hold, like the delay above: once held, the request
        // may end unanswered (dropped, or its client gone) and its log must not depend on
        // which.
        if hold_after_write && self.inner.holds.hold().await == Verdict::Drop {
            return Err(ConnectionDropped { after_write: true });
        }
        Ok(response)
    }

    fn record(&self, mut entry: RequestLogEntry) {
        let elapsed = Instant::now().saturating_duration_since(self.inner.epoch);
        entry.at_ms = u64::try_from(elapsed.as_millis()).unwrap_or(u64::MAX);
        self.lock().journal.record(entry);
    }
}
