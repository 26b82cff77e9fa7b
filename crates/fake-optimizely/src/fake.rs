//! [`FakeOptimizely`]: the shared state and the request pipeline both the TCP server and
//! in-process callers go through.
//!
//! Pipeline of one request: admin paths (`/__admin/...`) go to `admin.rs`, unlogged. Every
//! other request is routed (`/v3/...` to ODP's table, everything else to v2's), then the
//! first matching fault rule (if any) acts: answer a status, delay, hold, or drop the
//! connection before or after the request is handled. Then `api::dispatch` (v2) or
//! `odp::dispatch` (ODP) authenticates, rate-limits and runs the endpoint. The request is
//! logged and counted, and the response gets the headers its API always sends. A fault's
//! status answer has the body of the API it hits: v2's envelope, or ODP's (§10.10 of
//! docs/ODP-API.md).
//!
//! State lives behind one `std::sync::Mutex`, never held across an `.await`, so the fake
//! is usable from any runtime and from tests on a paused tokio clock.

use crate::api::{self, ApiContext, ApiRequest};
use crate::error::{ConnectionDropped, SeedError};
use crate::faults::{FaultAction, FaultRule, Faults};
use crate::holds::{HoldCounts, Holds, Verdict};
use crate::journal::{DropPoint, Journal, RequestLogEntry, Stats};
use crate::odp::{
    self, OdpAnswer, OdpContext, OdpEndpoint, OdpProfileWrite, OdpRequest, OdpSegmentSeed,
    RefusedIdentifier,
};
use crate::rate_limit::{Limiter, RateLimits};
use crate::response::ApiError;
use crate::routes::{self, Endpoint, Routed, UNKNOWN_TEMPLATE};
use crate::seed::{self, Seed};
use crate::store::{Store, last4, now_timestamp};
use bytes::Bytes;
use http::header::{AUTHORIZATION, HOST, HeaderName, RETRY_AFTER};
use http::{Request, Response, StatusCode};
use serde_json::{Map, Value};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;
use tokio::time::Instant;

/// A fake Optimizely REST API v2 and ODP REST API v3. Cheap to clone: clones share the same
/// state.
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
    /// four characters, plus the current rate limits and fault rules, and the ODP account
    /// (`odp`: keys with the private one redacted, fields, segments, profiles).
    pub fn state(&self) -> Value {
        let mut core = self.lock();
        if let Some(account) = core.store.odp.as_mut() {
            account.profiles.settle(Instant::now());
        }
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

    /// Counters over all `/v2` and `/v3` requests.
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
        let raw_query = parts.uri.query().map(str::to_owned);
        if path == "/__admin" || path.starts_with("/__admin/") {
            return Ok(crate::admin::handle(
                self,
                &parts.method,
                &path,
                raw_query.as_deref(),
                &body,
            ));
        }
        let method = parts.method.as_str().to_owned();
        let routing = if odp::is_odp_path(&path) {
            Routing::Odp(odp::route(&parts.method, &path))
        } else {
            Routing::V2(routes::route(&parts.method, &path))
        };
        let credential_header = match routing {
            Routing::V2(_) => AUTHORIZATION,
            Routing::Odp(_) => HeaderName::from_static("x-api-key"),
        };
        let credential = parts
            .headers
            .get(credential_header)
            .and_then(|v| v.to_str().ok())
            .map(str::to_owned);
        let token_last4 = match routing {
            Routing::V2(_) => credential
                .as_deref()
                .and_then(|v| v.split_whitespace().nth(1))
                .map(last4),
            Routing::Odp(_) => credential.as_deref().map(|key| last4(key.trim())),
        };
        let origin = match parts.headers.get(HOST).and_then(|v| v.to_str().ok()) {
            Some(host) => format!("http://{host}"),
            None => match parts.uri.authority() {
                Some(authority) => format!("http://{authority}"),
                None => "http://localhost".to_owned(),
            },
        };
        let template = routing.template();
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
                let response = routing.injected(status, retry_after);
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
        let mut response = {
            let mut guard = self.lock();
            let core = &mut *guard;
            match &routing {
                Routing::V2(Routed::Found {
                    endpoint, params, ..
                }) => {
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
                    api::dispatch(ctx, credential.as_deref(), &req).into_response()
                }
                Routing::V2(Routed::MethodNotAllowed { template }) => ApiError::new(
                    StatusCode::METHOD_NOT_ALLOWED,
                    format!("method {method} is not allowed on {template}"),
                )
                .into_answer()
                .into_response(),
                Routing::V2(Routed::NotFound) => {
                    ApiError::not_found(format!("no such resource: {path}"))
                        .into_answer()
                        .into_response()
                }
                Routing::Odp(routed) => {
                    let params: &[String] = match routed {
                        Routed::Found { params, .. } => params,
                        _ => &[],
                    };
                    let req = OdpRequest {
                        params,
                        query: &query,
                        body: &body,
                    };
                    let ctx = OdpContext {
                        account: core.store.odp.as_mut(),
                        limiter: &mut core.limiter,
                        limits: &core.limits,
                        now: Instant::now(),
                    };
                    odp::dispatch(ctx, routed, credential.as_deref(), &req).into_response()
                }
            }
        };
        if duplicate_after_write && response.status().is_success() {
            entry.applied_status = Some(response.status().as_u16());
            response = routing.duplicate();
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

    /// Runs `f` on the ODP account with the writes due by now applied, if there is an
    /// account.
    fn with_odp<T>(&self, f: impl FnOnce(&mut odp::OdpAccount) -> T) -> Option<T> {
        let mut core = self.lock();
        let account = core.store.odp.as_mut()?;
        account.profiles.settle(Instant::now());
        Some(f(account))
    }

    /// The ODP account's public and private keys, if a seed made the account.
    pub fn odp_keys(&self) -> Option<(String, String)> {
        self.with_odp(|a| (a.public_key.clone(), a.private_key.clone()))
    }

    /// The attributes (identifiers included) of the ODP profile that identifier
    /// `identifier` = `value` finds, as `GET /v3/profiles?<identifier>=<value>` answers them.
    /// Writes still waiting for the account's apply delay are not in it yet.
    pub fn odp_profile(&self, identifier: &str, value: &str) -> Option<Map<String, Value>> {
        self.with_odp(|a| a.profiles.find(identifier, value).cloned())
            .flatten()
    }

    /// Every ODP profile's attributes, oldest profile first.
    pub fn odp_profiles(&self) -> Vec<Map<String, Value>> {
        self.with_odp(|a| a.profiles.all()).unwrap_or_default()
    }

    /// The attributes of every ODP profile whose `field` holds `value` (numbers compared by
    /// value), oldest first: e.g. `odp_profiles_with("in_beta", true)`.
    pub fn odp_profiles_with(
        &self,
        field: &str,
        value: impl Into<Value>,
    ) -> Vec<Map<String, Value>> {
        let value = value.into();
        self.with_odp(|a| a.profiles.with(field, &value))
            .unwrap_or_default()
    }

    /// Every item of every accepted `POST /v3/profiles`, as sent, oldest first (the last
    /// 100,000). Refused requests write nothing and are not in it.
    pub fn odp_profile_writes(&self) -> Vec<OdpProfileWrite> {
        self.with_odp(|a| a.profiles.writes()).unwrap_or_default()
    }

    /// The events accepted by `POST /v3/events`, oldest first (the last 100,000).
    pub fn odp_events(&self) -> Vec<Value> {
        self.with_odp(|a| a.events.iter().cloned().collect())
            .unwrap_or_default()
    }

    /// Whether the ODP profile identifier = value finds is in `segment` now (`None`: no
    /// such profile or segment), as `POST /v3/graphql` would say.
    pub fn odp_qualified(&self, identifier: &str, value: &str, segment: &str) -> Option<bool> {
        self.with_odp(|a| {
            let attributes = a.profiles.find(identifier, value)?;
            a.qualifies(segment, attributes)
        })
        .flatten()
    }

    /// Adds (or replaces) an ODP segment. Fails when there is no ODP account or the rule
    /// names a field the customers object lacks.
    pub fn add_odp_segment(&self, segment: OdpSegmentSeed) -> Result<(), SeedError> {
        let invalid = |message: String| SeedError::InvalidObject {
            kind: "odp.segments",
            index: 0,
            message,
        };
        self.with_odp(|a| a.add_segment(segment))
            .ok_or_else(|| invalid("there is no ODP account: seed one first".to_owned()))?
            .map_err(invalid)
    }

    /// Makes `POST /v3/profiles` refuse items with this identifier value (fault injection:
    /// the request answers 400 naming exactly those items). Fails when there is no ODP
    /// account.
    pub fn refuse_odp_identifier(&self, refused: RefusedIdentifier) -> Result<(), SeedError> {
        self.with_odp(|a| {
            if !a.refused.contains(&refused) {
                a.refused.push(refused);
            }
        })
        .ok_or_else(|| SeedError::InvalidObject {
            kind: "odp.refused_identifiers",
            index: 0,
            message: "there is no ODP account: seed one first".to_owned(),
        })
    }

    /// The ODP segments, by id.
    pub fn odp_segments(&self) -> Vec<OdpSegmentSeed> {
        self.with_odp(|a| a.segments.values().cloned().collect())
            .unwrap_or_default()
    }

    /// The identifier values `POST /v3/profiles` refuses now.
    pub fn refused_odp_identifiers(&self) -> Vec<RefusedIdentifier> {
        self.with_odp(|a| a.refused.clone()).unwrap_or_default()
    }

    /// Refuses no identifier value any more.
    pub fn clear_refused_odp_identifiers(&self) {
        self.with_odp(|a| a.refused.clear());
    }

    /// Switches ODP's strict mode: unknown fields and misfit values in `POST /v3/profiles`
    /// answer 400 instead of being dropped. No effect without an ODP account.
    pub fn set_odp_strict(&self, strict: bool) {
        self.with_odp(|a| a.strict = strict);
    }

    fn record(&self, mut entry: RequestLogEntry) {
        let elapsed = Instant::now().saturating_duration_since(self.inner.epoch);
        entry.at_ms = u64::try_from(elapsed.as_millis()).unwrap_or(u64::MAX);
        self.lock().journal.record(entry);
    }
}

/// A request routed in the API its path belongs to.
#[derive(Debug)]
enum Routing {
    V2(Routed<Endpoint>),
    Odp(Routed<OdpEndpoint>),
}

impl Routing {
    /// The route's template (for the log, the stats and fault rules).
    fn template(&self) -> &'static str {
        fn of<E>(routed: &Routed<E>) -> &'static str {
            match routed {
                Routed::Found { template, .. } | Routed::MethodNotAllowed { template } => template,
                Routed::NotFound => UNKNOWN_TEMPLATE,
            }
        }
        match self {
            Self::V2(routed) => of(routed),
            Self::Odp(routed) => of(routed),
        }
    }

    /// What a `status` fault answers, in this API's shape.
    fn injected(&self, status: StatusCode, retry_after: Option<u64>) -> Response<Bytes> {
        match self {
            Self::V2(_) => {
                let mut error = ApiError::new(
                    status,
                    format!(
                        "{} (injected by fake-optimizely)",
                        status.canonical_reason().unwrap_or("error")
                    ),
                );
                if let Some(secs) = retry_after {
                    error = error.with_header(RETRY_AFTER, secs.to_string());
                }
                error.into_answer().into_response()
            }
            Self::Odp(_) => {
                let mut answer = OdpAnswer::injected(status);
                if let Some(secs) = retry_after {
                    answer = answer.with_header(RETRY_AFTER, secs.to_string());
                }
                answer.into_response()
            }
        }
    }

    /// What a `duplicate_after_write` fault answers once the write is applied.
    fn duplicate(&self) -> Response<Bytes> {
        match self {
            Self::V2(_) => ApiError::new(
                StatusCode::BAD_REQUEST,
                "Another entity already exists with this same key (injected by fake-optimizely after applying the write)",
            )
            .into_answer()
            .into_response(),
            Self::Odp(_) => OdpAnswer::invalid_field(
                "name",
                "already used by another field (injected by fake-optimizely after applying the write)",
            )
            .into_response(),
        }
    }
}
