//! One task per scheduled sync: it waits for the next tick and asks the service to start a
//! run ([`Service::start_run`]); a tick the service refuses (a run in flight, a backoff) is
//! recorded as skipped with the reason; a paused sync's ticks pass silently.
//!
//! Missed ticks: at start, a cron sync whose last run (by any process, from the state
//! store's history) began before its latest due tick runs once now, however many ticks were
//! missed; an interval sync runs now when its last run began an interval ago or more, or
//! never ran. A cron sync that never ran waits for its first tick.

use std::sync::Arc;

use chrono::{DateTime, Utc};

use crate::schedule::Schedule;
use crate::service::{NotStarted, Service, Slot, Trigger};

/// Starts the scheduler of every sync with a schedule, and the check for syncs without a
/// success for too long, on the current runtime. The schedulers end when the service stops
/// starting runs.
pub fn spawn(service: &Arc<Service>) -> Vec<tokio::task::JoinHandle<()>> {
    let mut tasks: Vec<_> = service
        .slots()
        .iter()
        .filter(|slot| !matches!(slot.info.schedule, Schedule::Manual))
        .map(|slot| {
            let service = Arc::clone(service);
            let slot = Arc::clone(slot);
            tokio::spawn(async move { run_schedule(&service, &slot).await })
        })
        .collect();
    for slot in service.slots() {
        if let Some(trigger) = slot.info.after.clone() {
            let service = Arc::clone(service);
            let slot = Arc::clone(slot);
            tasks.push(tokio::spawn(async move {
                watch_dbt(&service, &slot, &trigger).await;
            }));
        }
    }
    let checker = Arc::clone(service);
    tasks.push(tokio::spawn(async move {
        // Staleness changes slowly: once a minute is soon enough.
        let mut every = tokio::time::interval(STALE_CHECK);
        every.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        while !checker.is_stopping() {
            every.tick().await;
            checker.check_stale();
        }
    }));
    tasks
}

/// How often syncs are checked for "no successful run for N intervals".
pub const STALE_CHECK: std::time::Duration = std::time::Duration::from_secs(60);

/// The first tick to wait for, after starting a catch-up run if one is due.
fn start(service: &Arc<Service>, slot: &Slot) -> DateTime<Utc> {
    let now = service.clock().now();
    let last_start = slot.live().last_start;
    let catch_up = match &slot.info.schedule {
        Schedule::Cron { .. } => match (slot.info.schedule.latest_at_or_before(now), last_start) {
            (Some(latest), Some(last)) => last < latest,
            _ => false,
        },
        Schedule::Every(_) => match last_start {
            Some(last) => slot
                .info
                .schedule
                .next_after(last)
                .is_none_or(|due| due <= now),
            None => true,
        },
        Schedule::Manual => false,
    };
    if catch_up {
        tick(service, slot, now, Trigger::CatchUp);
        return now;
    }
    match (&slot.info.schedule, last_start) {
        // The next interval tick is an interval after the last run, whoever started it.
        (Schedule::Every(_), Some(last)) => last,
        _ => now,
    }
}

async fn run_schedule(service: &Arc<Service>, slot: &Slot) {
    let mut anchor = start(service, slot);
    loop {
        if service.is_stopping() {
            break;
        }
        // An interval counts from the last run's start, so a run triggered by hand moves the
        // next tick; a cron tick counts from the last tick.
        let after = match &slot.info.schedule {
            Schedule::Every(_) => slot
                .live()
                .last_start
                .map_or(anchor, |last| last.max(anchor)),
            _ => anchor,
        };
        let due = slot.info.schedule.next_after(after);
        slot.live().next_tick = due;
        let Some(due) = due else {
            // No tick ever again: wait for the stop.
            slot.wake.notified().await;
            continue;
        };
        let woken = slot.wake.notified();
        tokio::select! {
            () = service.clock().sleep_until(due) => {}
            () = woken => continue,
        }
        if service.is_stopping() {
            break;
        }
        anchor = due;
        tick(service, slot, due, Trigger::Schedule);
    }
    slot.live().next_tick = None;
}

fn tick(service: &Arc<Service>, slot: &Slot, at: DateTime<Utc>, trigger: Trigger) {
    match service.start_run(&slot.info.name, trigger) {
        Ok(_) => {}
        Err(NotStarted::Paused) => {
            tracing::debug!(sync = %slot.info.name, "paused: tick passed");
        }
        Err(NotStarted::Stopping) => {}
        Err(reason) => service.record_skip(&slot.info.name, at, &reason),
    }
}

/// Reads the sync's dbt run results every [`crate::dbt::POLL`] and starts a run for each new
/// successful run of its models. A run that cannot start because one is in flight is tried
/// again at the next read; a paused sync lets the dbt run pass.
async fn watch_dbt(service: &Arc<Service>, slot: &Slot, trigger: &crate::dbt::DbtTrigger) {
    let sync = slot.info.name.as_str();
    let mut last_error: Option<String> = None;
    while !service.is_stopping() {
        let seen = service
            .store()
            .dbt_seen(sync)
            .ok()
            .flatten()
            .and_then(|at| DateTime::parse_from_rfc3339(&at).ok())
            .map(|at| at.with_timezone(&Utc));
        match crate::dbt::check(trigger, seen) {
            Ok(crate::dbt::Verdict::Run(generated_at)) => {
                last_error = None;
                let started = service.start_run(sync, Trigger::Dbt);
                let settled = match &started {
                    Ok(_) => true,
                    Err(NotStarted::Paused) => true,
                    Err(NotStarted::Running(_)) => false,
                    Err(reason) => {
                        service.record_skip(sync, service.clock().now(), reason);
                        true
                    }
                };
                if settled {
                    let at = generated_at.to_rfc3339_opts(chrono::SecondsFormat::AutoSi, true);
                    if let Err(e) = service.store().set_dbt_seen(sync, &at) {
                        tracing::warn!(sync, error = %e, "could not record the dbt run seen");
                    }
                    tracing::info!(sync, dbt_generated_at = %at, started = started.is_ok(), "dbt run seen");
                }
            }
            Ok(crate::dbt::Verdict::Wait) => last_error = None,
            Err(error) => {
                // Said once, not every few seconds.
                if last_error.as_deref() != Some(error.as_str()) {
                    tracing::warn!(sync, %error, "cannot read the dbt run results");
                    last_error = Some(error);
                }
            }
        }
        tokio::time::sleep(crate::dbt::POLL).await;
    }
}
