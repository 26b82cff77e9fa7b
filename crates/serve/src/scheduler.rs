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
