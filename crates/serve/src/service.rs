//! The service's state and its rules: which syncs exist, which are running, paused or
//! backing off, and how a run starts and ends. The scheduler ([`crate::scheduler`]) and the
//! HTTP API ([`crate::http`]) both go through [`Service::start_run`], so the rules hold
//! whoever asks:
//! - never two runs of one sync at once: a start while one is in flight is refused (a
//!   scheduled tick is then recorded as skipped, a trigger answered 409);
//! - a paused sync does not start (pauses live in the state store and survive restarts);
//! - a sync whose runs keep failing backs off: after two failed runs in a row, scheduled ticks
//!   are skipped until a wait that doubles with each failure (1 minute, 2, 4 … at most 1 hour)
//!   has passed since the last failure; a trigger through the API is not held back;
//! - once the service is stopping, nothing new starts.

use std::collections::{HashMap, VecDeque};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

use chrono::{DateTime, TimeDelta, Utc};
use optisync_state::Store;
use tokio::sync::Notify;

use crate::alerts::{AlertSettings, Alerts, Health};
use crate::clock::Clock;
use crate::metrics::Metrics;
use crate::runner::{Outcome, RunOutcome, Runner};
use crate::schedule::Schedule;

/// Failed runs in a row after which scheduled ticks back off.
pub const BACKOFF_AFTER_FAILURES: u32 = 2;
/// The first backoff wait.
pub const BACKOFF_FIRST: Duration = Duration::from_secs(60);
/// The longest backoff wait.
pub const BACKOFF_MAX: Duration = Duration::from_secs(3600);

/// How long an `Idempotency-Key` is remembered.
pub const IDEMPOTENCY_TTL: Duration = Duration::from_secs(24 * 3600);
/// How many `Idempotency-Key`s are remembered at most (the oldest are forgotten first).
pub const IDEMPOTENCY_CAPACITY: usize = 10_000;

/// A sync as the service knows it.
#[derive(Debug, Clone)]
pub struct SyncInfo {
    /// Its name in the config.
    pub name: String,
    /// Its object type (`list_attribute`, `audience` …).
    pub object: String,
    /// Its mode (`mirror`, `upsert` …).
    pub mode: String,
    /// When it runs by itself.
    pub schedule: Schedule,
    /// Whether it also runs after each successful dbt run of some models.
    pub after: Option<crate::dbt::DbtTrigger>,
}

/// What started a run.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Trigger {
    /// A scheduled tick.
    Schedule,
    /// The one run that makes up for ticks missed while the service was down.
    CatchUp,
    /// `POST /api/syncs/{name}/runs`.
    Api,
    /// A new successful dbt run of the models the sync runs after.
    Dbt,
}

impl Trigger {
    /// The name used in JSON and logs.
    pub fn as_str(self) -> &'static str {
        match self {
            Trigger::Schedule => "schedule",
            Trigger::CatchUp => "catch_up",
            Trigger::Api => "api",
            Trigger::Dbt => "dbt",
        }
    }
}

/// Why a run did not start.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum NotStarted {
    /// No sync of that name.
    Unknown,
    /// A run of the sync is in flight, since this time.
    Running(DateTime<Utc>),
    /// The sync is paused.
    Paused,
    /// Scheduled ticks are held back after failures until this time.
    BackingOff {
        /// Failed runs in a row.
        failures: u32,
        /// When the next attempt may start.
        until: DateTime<Utc>,
    },
    /// The service is stopping.
    Stopping,
    /// The state store could not say whether the sync is paused.
    State(String),
}

impl std::fmt::Display for NotStarted {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            NotStarted::Unknown => f.write_str("no sync of that name"),
            NotStarted::Running(since) => write!(
                f,
                "a run of this sync is still in flight (started {})",
                since.to_rfc3339_opts(chrono::SecondsFormat::Secs, true)
            ),
            NotStarted::Paused => f.write_str("the sync is paused"),
            NotStarted::BackingOff { failures, until } => write!(
                f,
                "backing off after {failures} failed runs in a row; next attempt at {}",
                until.to_rfc3339_opts(chrono::SecondsFormat::Secs, true)
            ),
            NotStarted::Stopping => f.write_str("the service is stopping"),
            NotStarted::State(reason) => write!(f, "the state store failed: {reason}"),
        }
    }
}

/// What the service knows of a sync between runs, in memory.
#[derive(Debug, Clone, Default)]
pub struct Live {
    /// When the run in flight started.
    pub running: Option<DateTime<Utc>>,
    /// When the last run started (any trigger).
    pub last_start: Option<DateTime<Utc>>,
    /// The next scheduled tick.
    pub next_tick: Option<DateTime<Utc>>,
    /// Failed runs in a row.
    pub consecutive_failures: u32,
    /// When the last failed run ended.
    pub last_failure_at: Option<DateTime<Utc>>,
    /// When the last successful run ended (or started, from history).
    pub last_success: Option<DateTime<Utc>>,
    /// Whether the last run that said anything of health was unhealthy (failed, rejected
    /// rows, blocked).
    pub last_unhealthy: bool,
}

/// One sync: what the config says and what is happening.
#[derive(Debug)]
pub(crate) struct Slot {
    pub(crate) info: SyncInfo,
    pub(crate) live: Mutex<Live>,
    /// Wakes the sync's scheduler when something changed its next tick (a run started,
    /// a resume) or the service is stopping.
    pub(crate) wake: Notify,
}

impl Slot {
    pub(crate) fn live(&self) -> MutexGuard<'_, Live> {
        // A panic while holding this short lock leaves plain data behind; keep using it.
        self.live
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }
}

/// A remembered answer to a trigger with an `Idempotency-Key`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Remembered {
    /// The sync it triggered.
    pub sync: String,
    /// When the run it started started.
    pub started_at: DateTime<Utc>,
}

#[derive(Debug, Default)]
struct IdempotencyKeys {
    by_key: HashMap<String, (Remembered, tokio::time::Instant)>,
    order: VecDeque<String>,
}

impl IdempotencyKeys {
    fn get(&mut self, key: &str) -> Option<Remembered> {
        self.forget_expired();
        self.by_key.get(key).map(|(r, _)| r.clone())
    }

    fn insert(&mut self, key: String, remembered: Remembered) {
        self.forget_expired();
        while self.order.len() >= IDEMPOTENCY_CAPACITY {
            if let Some(oldest) = self.order.pop_front() {
                self.by_key.remove(&oldest);
            }
        }
        self.order.push_back(key.clone());
        self.by_key
            .insert(key, (remembered, tokio::time::Instant::now()));
    }

    fn forget_expired(&mut self) {
        while let Some(oldest) = self.order.front() {
            match self.by_key.get(oldest) {
                Some((_, at)) if at.elapsed() < IDEMPOTENCY_TTL => break,
                _ => {
                    if let Some(key) = self.order.pop_front() {
                        self.by_key.remove(&key);
                    }
                }
            }
        }
    }
}

/// The service: every sync of the config, the runner, the state store.
pub struct Service {
    slots: Vec<Arc<Slot>>,
    runner: Arc<dyn Runner>,
    store: Mutex<Store>,
    clock: Clock,
    stopping: AtomicBool,
    in_flight: AtomicUsize,
    idle: Notify,
    idempotency: Mutex<IdempotencyKeys>,
    metrics: Metrics,
    alerts: std::sync::OnceLock<Alerts>,
    started_at: DateTime<Utc>,
}

impl std::fmt::Debug for Service {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Service")
            .field("syncs", &self.slots.len())
            .field("in_flight", &self.in_flight.load(Ordering::SeqCst))
            .finish_non_exhaustive()
    }
}

impl Service {
    /// A service over `syncs`, run by `runner`, remembering pauses and skipped ticks in
    /// `store`. What each sync's last runs were is read from the store's history.
    pub fn new(
        syncs: Vec<SyncInfo>,
        runner: Arc<dyn Runner>,
        store: Store,
        clock: Clock,
    ) -> Arc<Service> {
        let metrics = Metrics::new(syncs.iter().map(|s| s.name.as_str()));
        let slots = syncs
            .into_iter()
            .map(|info| {
                let live = history(&store, &info.name);
                Arc::new(Slot {
                    info,
                    live: Mutex::new(live),
                    wake: Notify::new(),
                })
            })
            .collect();
        let started_at = clock.now();
        Arc::new(Service {
            slots,
            runner,
            store: Mutex::new(store),
            clock,
            stopping: AtomicBool::new(false),
            in_flight: AtomicUsize::new(0),
            idle: Notify::new(),
            idempotency: Mutex::new(IdempotencyKeys::default()),
            metrics,
            alerts: std::sync::OnceLock::new(),
            started_at,
        })
    }

    /// The service's clock.
    pub fn clock(&self) -> &Clock {
        &self.clock
    }

    /// Raises alerts from now on, delivered to `settings.webhooks` in the background; each
    /// sync starts from the health its run history shows. Only the first call counts.
    pub fn enable_alerts(&self, settings: AlertSettings) {
        let initial = self
            .slots
            .iter()
            .map(|slot| {
                let live = slot.live();
                let failing = live.consecutive_failures > 0 || live.last_unhealthy;
                (
                    slot.info.name.clone(),
                    Health {
                        failing,
                        stale: false,
                    },
                )
            })
            .collect();
        if self.alerts.set(Alerts::start(settings, initial)).is_err() {
            tracing::warn!("alerts were already enabled");
        }
    }

    /// Checks every scheduled sync for "no successful run for N intervals" (at most one
    /// alert per sync until its next success).
    pub fn check_stale(&self) {
        let Some(alerts) = self.alerts.get() else {
            return;
        };
        let now = self.clock.now();
        for slot in &self.slots {
            let Some(interval) = slot.info.schedule.typical_interval(now) else {
                continue;
            };
            let (last_success, paused) =
                (slot.live().last_success, self.is_paused(&slot.info.name));
            if paused.unwrap_or(true) {
                continue;
            }
            alerts.check_stale(
                &slot.info.name,
                last_success,
                self.started_at,
                interval,
                now,
            );
        }
    }

    /// The service's metrics.
    pub fn metrics(&self) -> &Metrics {
        &self.metrics
    }

    /// The syncs, in config order.
    pub fn syncs(&self) -> impl Iterator<Item = &SyncInfo> {
        self.slots.iter().map(|slot| &slot.info)
    }

    pub(crate) fn slots(&self) -> &[Arc<Slot>] {
        &self.slots
    }

    pub(crate) fn slot(&self, name: &str) -> Option<&Arc<Slot>> {
        self.slots.iter().find(|slot| slot.info.name == name)
    }

    /// What is known of `sync` now, or `None` for an unknown name.
    pub fn live(&self, sync: &str) -> Option<Live> {
        self.slot(sync).map(|slot| slot.live().clone())
    }

    /// The state store, for short calls.
    pub fn store(&self) -> MutexGuard<'_, Store> {
        // SQLite keeps its own consistency; a panic elsewhere does not spoil the connection.
        self.store
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// Whether `sync` is paused (false when the store cannot say; the error is logged).
    pub fn is_paused(&self, sync: &str) -> Result<bool, String> {
        self.store()
            .pause(sync)
            .map(|pause| pause.is_some())
            .map_err(|e| e.to_string())
    }

    /// Pauses `sync`: it does not start by schedule or trigger until resumed. A run in
    /// flight finishes. Returns `None` for an unknown sync.
    ///
    /// # Errors
    /// The state store's message.
    pub fn pause(&self, sync: &str, by: &str) -> Result<Option<()>, String> {
        if self.slot(sync).is_none() {
            return Ok(None);
        }
        self.store()
            .pause_sync(sync, by)
            .map_err(|e| e.to_string())?;
        tracing::info!(sync, by, "sync paused");
        Ok(Some(()))
    }

    /// Resumes `sync` on its schedule (no catch-up for ticks missed while paused). Returns
    /// `None` for an unknown sync.
    ///
    /// # Errors
    /// The state store's message.
    pub fn resume(&self, sync: &str) -> Result<Option<()>, String> {
        let Some(slot) = self.slot(sync) else {
            return Ok(None);
        };
        self.store().resume_sync(sync).map_err(|e| e.to_string())?;
        tracing::info!(sync, "sync resumed");
        slot.wake.notify_one();
        Ok(Some(()))
    }

    /// Whether the service is stopping (nothing new starts).
    pub fn is_stopping(&self) -> bool {
        self.stopping.load(Ordering::SeqCst)
    }

    /// Runs in flight.
    pub fn in_flight(&self) -> usize {
        self.in_flight.load(Ordering::SeqCst)
    }

    /// Stops starting runs and wakes every scheduler so it ends.
    pub fn stop_starting(&self) {
        self.stopping.store(true, Ordering::SeqCst);
        for slot in &self.slots {
            slot.wake.notify_one();
        }
        self.idle.notify_waiters();
    }

    /// Waits until no run is in flight, or `timeout` has passed; returns whether none is.
    pub async fn wait_idle(&self, timeout: Duration) -> bool {
        let wait = async {
            loop {
                let idle = self.idle.notified();
                if self.in_flight() == 0 {
                    return;
                }
                idle.await;
            }
        };
        tokio::time::timeout(timeout, wait).await.is_ok()
    }

    /// When scheduled ticks of a sync with this history may start again, if it is backing
    /// off.
    fn backoff_until(live: &Live) -> Option<DateTime<Utc>> {
        if live.consecutive_failures < BACKOFF_AFTER_FAILURES {
            return None;
        }
        let doublings = live.consecutive_failures - BACKOFF_AFTER_FAILURES;
        let wait = BACKOFF_FIRST
            .checked_mul(1u32.checked_shl(doublings.min(31)).unwrap_or(u32::MAX))
            .unwrap_or(BACKOFF_MAX)
            .min(BACKOFF_MAX);
        let until = live
            .last_failure_at?
            .checked_add_signed(TimeDelta::from_std(wait).ok()?)?;
        Some(until)
    }

    /// Starts a run of `sync` in the background, if the rules allow: returns when it started
    /// (the run goes on after), or why it did not.
    pub fn start_run(
        self: &Arc<Self>,
        sync: &str,
        trigger: Trigger,
    ) -> Result<DateTime<Utc>, NotStarted> {
        let slot = self.slot(sync).ok_or(NotStarted::Unknown)?.clone();
        if self.is_stopping() {
            return Err(NotStarted::Stopping);
        }
        if self.is_paused(sync).map_err(NotStarted::State)? {
            return Err(NotStarted::Paused);
        }
        let now = self.clock.now();
        {
            let mut live = slot.live();
            if let Some(since) = live.running {
                return Err(NotStarted::Running(since));
            }
            if trigger != Trigger::Api
                && let Some(until) = Self::backoff_until(&live)
                && now < until
            {
                return Err(NotStarted::BackingOff {
                    failures: live.consecutive_failures,
                    until,
                });
            }
            live.running = Some(now);
            live.last_start = Some(now);
            self.in_flight.fetch_add(1, Ordering::SeqCst);
            self.metrics.run_started();
        }
        slot.wake.notify_one();
        tracing::info!(sync, trigger = trigger.as_str(), "run starting");
        let service = Arc::clone(self);
        tokio::spawn(async move {
            // The run's future is polled in a task of its own so that a panic in it ends that
            // run, not the service.
            let runner = Arc::clone(&service.runner);
            let name = slot.info.name.clone();
            let outcome = match tokio::spawn(async move { runner.run(&name).await }).await {
                Ok(outcome) => outcome,
                Err(error) => RunOutcome {
                    outcome: Outcome::Failed,
                    run_id: None,
                    exit_code: 1,
                    message: Some(format!("the run ended unexpectedly: {error}")),
                    counts: Default::default(),
                },
            };
            service.finish_run(&slot, now, outcome);
        });
        Ok(now)
    }

    fn finish_run(&self, slot: &Slot, started: DateTime<Utc>, outcome: RunOutcome) {
        let sync = slot.info.name.as_str();
        let ended = self.clock.now();
        let took = (ended - started).to_std().unwrap_or_default();
        self.metrics.run_finished(
            sync,
            outcome.outcome,
            &outcome.counts,
            took,
            ended.timestamp_millis() as f64 / 1000.0,
        );
        match outcome.outcome {
            Outcome::Locked => {
                let reason = format!(
                    "the sync was locked by another process: {}",
                    outcome.message.as_deref().unwrap_or("no details")
                );
                tracing::warn!(sync, %reason, "run skipped");
                self.metrics.tick_skipped(sync);
                if let Err(e) = self.store().record_skipped_tick(sync, started, &reason) {
                    tracing::warn!(sync, error = %e, "could not record the skipped run");
                }
            }
            Outcome::Succeeded | Outcome::RejectedRows => {
                tracing::info!(
                    sync,
                    outcome = outcome.outcome.as_str(),
                    run = outcome.run_id.as_deref().unwrap_or(""),
                    "run finished"
                );
            }
            Outcome::Blocked | Outcome::Failed | Outcome::Interrupted => {
                tracing::warn!(
                    sync,
                    outcome = outcome.outcome.as_str(),
                    run = outcome.run_id.as_deref().unwrap_or(""),
                    message = outcome.message.as_deref().unwrap_or(""),
                    "run did not deliver"
                );
            }
        }
        {
            let mut live = slot.live();
            live.running = None;
            if outcome.outcome == Outcome::Failed {
                live.consecutive_failures = live.consecutive_failures.saturating_add(1);
                live.last_failure_at = Some(ended);
            } else if outcome.outcome.health().is_some() {
                live.consecutive_failures = 0;
            }
            if let Some(healthy) = outcome.outcome.health() {
                live.last_unhealthy = !healthy;
            }
            if outcome.outcome == Outcome::Succeeded {
                live.last_success = Some(ended);
            }
            if let Some(alerts) = self.alerts.get() {
                alerts.run_finished(sync, &outcome, ended);
            }
        }
        slot.wake.notify_one();
        if self.in_flight.fetch_sub(1, Ordering::SeqCst) == 1 {
            self.idle.notify_waiters();
        }
    }

    /// Records a scheduled tick that did not start a run (logged; a failure to record is
    /// logged too).
    pub(crate) fn record_skip(&self, sync: &str, tick: DateTime<Utc>, reason: &NotStarted) {
        let reason = reason.to_string();
        tracing::info!(sync, %reason, "scheduled run skipped");
        self.metrics.tick_skipped(sync);
        if let Err(e) = self.store().record_skipped_tick(sync, tick, &reason) {
            tracing::warn!(sync, error = %e, "could not record the skipped tick");
        }
    }

    /// Triggers a run through the API. With an idempotency `key` seen before (for the same
    /// sync, in the last 24 hours), starts nothing and returns the first answer again, as
    /// `Ok((started_at, true))`.
    pub fn trigger(
        self: &Arc<Self>,
        sync: &str,
        key: Option<&str>,
    ) -> Result<(DateTime<Utc>, bool), NotStarted> {
        let mut keys = self
            .idempotency
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        if let Some(key) = key
            && let Some(seen) = keys.get(key)
            && seen.sync == sync
        {
            return Ok((seen.started_at, true));
        }
        let started_at = self.start_run(sync, Trigger::Api)?;
        if let Some(key) = key {
            keys.insert(
                key.to_owned(),
                Remembered {
                    sync: sync.to_owned(),
                    started_at,
                },
            );
        }
        Ok((started_at, false))
    }

    /// When the next tick of `sync` would be backed off until, if it is.
    pub fn backing_off_until(&self, sync: &str) -> Option<DateTime<Utc>> {
        let slot = self.slot(sync)?;
        let live = slot.live();
        Self::backoff_until(&live).filter(|until| *until > self.clock.now())
    }
}

/// What the store's history says of a sync at start: when its last run started, and its
/// failed runs in a row (for the backoff).
fn history(store: &Store, sync: &str) -> Live {
    let mut live = Live::default();
    let runs = match store.runs(&optisync_state::RunFilter {
        sync: Some(sync.to_owned()),
        limit: Some(32),
        before: None,
    }) {
        Ok(runs) => runs,
        Err(error) => {
            tracing::warn!(sync, %error, "could not read the run history");
            return live;
        }
    };
    live.last_start = runs.first().map(|run| run.started_at);
    use optisync_state::RunStatus;
    live.last_success = runs
        .iter()
        .find(|run| run.status == RunStatus::Succeeded)
        .map(|run| run.finished_at.unwrap_or(run.started_at));
    live.last_unhealthy = runs
        .iter()
        .find(|run| {
            !matches!(
                run.status,
                RunStatus::Locked | RunStatus::Interrupted | RunStatus::Running
            )
        })
        .is_some_and(|run| run.status != RunStatus::Succeeded);
    for run in &runs {
        match run.status {
            optisync_state::RunStatus::Failed => {
                live.consecutive_failures += 1;
                if live.last_failure_at.is_none() {
                    live.last_failure_at = run.finished_at.or(Some(run.started_at));
                }
            }
            optisync_state::RunStatus::Locked
            | optisync_state::RunStatus::Interrupted
            | optisync_state::RunStatus::Running => {}
            _ => break,
        }
    }
    live
}
