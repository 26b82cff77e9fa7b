//! A runner of the tests' own: it records when each run started (by the service's clock),
//! records the run in the state store like the engine does, answers with outcomes the test
//! queues, and can hold a run in flight until the test lets it go.

#![allow(dead_code, unreachable_pub, clippy::unwrap_used)]

use std::collections::{HashMap, VecDeque};
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

use chrono::{DateTime, Utc};
use optisync_serve::clock::Clock;
use optisync_serve::runner::BoxFuture;
use optisync_serve::{Outcome, RunOutcome, Runner, Schedule, Service, SyncInfo};
use optisync_state::{RunFinish, RunStatus, Store};
use tokio::sync::Semaphore;

/// One run as the fake runner saw it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Seen {
    pub sync: String,
    pub at: DateTime<Utc>,
}

#[derive(Debug)]
pub struct FakeRunner {
    pub clock: Clock,
    pub state_dir: PathBuf,
    pub seen: Mutex<Vec<Seen>>,
    outcomes: Mutex<HashMap<String, VecDeque<Outcome>>>,
    default_outcome: Mutex<Outcome>,
    /// When set, each run waits for a permit before it ends.
    pub hold: Mutex<Option<Arc<Semaphore>>>,
    /// Signalled when a run starts.
    pub started: tokio::sync::Notify,
}

impl FakeRunner {
    pub fn new(clock: Clock, state_dir: &Path) -> Arc<FakeRunner> {
        Arc::new(FakeRunner {
            clock,
            state_dir: state_dir.to_path_buf(),
            seen: Mutex::new(Vec::new()),
            outcomes: Mutex::new(HashMap::new()),
            default_outcome: Mutex::new(Outcome::Succeeded),
            hold: Mutex::new(None),
            started: tokio::sync::Notify::new(),
        })
    }

    pub fn seen(&self) -> Vec<Seen> {
        self.seen.lock().unwrap().clone()
    }

    pub fn seen_at(&self, sync: &str) -> Vec<String> {
        self.seen()
            .into_iter()
            .filter(|s| s.sync == sync)
            .map(|s| s.at.to_rfc3339())
            .collect()
    }

    pub fn always(&self, outcome: Outcome) {
        *self.default_outcome.lock().unwrap() = outcome;
    }

    /// Answers the next runs of `sync` with `outcomes`, in order.
    pub fn queue(&self, sync: &str, outcomes: Vec<Outcome>) {
        self.outcomes
            .lock()
            .unwrap()
            .entry(sync.to_owned())
            .or_default()
            .extend(outcomes);
    }

    /// Holds every run in flight until `release` gives it a permit.
    pub fn hold_runs(&self) -> Arc<Semaphore> {
        let semaphore = Arc::new(Semaphore::new(0));
        *self.hold.lock().unwrap() = Some(Arc::clone(&semaphore));
        semaphore
    }
}

impl Runner for FakeRunner {
    fn run<'a>(&'a self, sync: &'a str) -> BoxFuture<'a, RunOutcome> {
        Box::pin(async move {
            self.seen.lock().unwrap().push(Seen {
                sync: sync.to_owned(),
                at: self.clock.now(),
            });
            self.started.notify_waiters();
            let outcome = self
                .outcomes
                .lock()
                .unwrap()
                .get_mut(sync)
                .and_then(VecDeque::pop_front)
                .unwrap_or(*self.default_outcome.lock().unwrap());
            let mut store = Store::open(&self.state_dir).unwrap();
            let run_id = store.start_run(sync).unwrap();
            let hold = self.hold.lock().unwrap().clone();
            if let Some(hold) = hold {
                hold.acquire().await.unwrap().forget();
            }
            let status = match outcome {
                Outcome::Succeeded => RunStatus::Succeeded,
                Outcome::RejectedRows => RunStatus::RejectedRows,
                Outcome::Blocked => RunStatus::Blocked,
                Outcome::Failed => RunStatus::Failed,
                Outcome::Locked => RunStatus::Locked,
                Outcome::Interrupted => RunStatus::Interrupted,
            };
            let details = details(sync);
            store
                .finish_run_with(
                    &run_id,
                    &RunFinish {
                        status,
                        counts: Default::default(),
                        error: (outcome == Outcome::Failed).then(|| "it broke".to_owned()),
                    },
                    (outcome == Outcome::Succeeded).then_some(&details),
                )
                .unwrap();
            RunOutcome {
                outcome,
                run_id: Some(run_id),
                exit_code: if outcome == Outcome::Failed { 1 } else { 0 },
                message: (outcome == Outcome::Failed).then(|| "it broke".to_owned()),
                counts: optisync_core::RunStats {
                    rows_read: 3,
                    ..Default::default()
                },
            }
        })
    }
}

/// What the engine keeps with a list run: its plan text, step timings and drift.
pub fn details(sync: &str) -> optisync_core::RunDetails {
    let mut details = optisync_core::RunDetails {
        plan_text: Some(format!(
            "sync {sync} (list_attribute mirror): 3 rows read\n  + 1 member: u-<3>\n  - 1 member: u-9\n"
        )),
        steps: Vec::new(),
        drift: Some(optisync_core::Drift {
            delivered_count: 3,
            remote_count: 3,
            missing_count: 1,
            unexpected_count: 1,
            missing_sample: vec!["u-2".to_owned()],
            unexpected_sample: vec!["u-9".to_owned()],
        }),
    };
    details.step("read", std::time::Duration::from_millis(41));
    details.step("plan", std::time::Duration::from_millis(2));
    details.step("send", std::time::Duration::from_millis(1003));
    details
}

pub fn utc(text: &str) -> DateTime<Utc> {
    DateTime::parse_from_rfc3339(text)
        .unwrap()
        .with_timezone(&Utc)
}

pub fn sync(name: &str, schedule: Schedule) -> SyncInfo {
    SyncInfo {
        name: name.to_owned(),
        object: "list_attribute".to_owned(),
        mode: "mirror".to_owned(),
        schedule,
        after: None,
    }
}

/// A service over `syncs` with a fake runner, on a clock that reads `now` at start.
pub fn service(
    state_dir: &Path,
    now: &str,
    syncs: Vec<SyncInfo>,
) -> (Arc<Service>, Arc<FakeRunner>) {
    let clock = Clock::starting_at(utc(now));
    let runner = FakeRunner::new(clock.clone(), state_dir);
    let store = Store::open(state_dir).unwrap();
    let service = Service::new(syncs, runner.clone(), store, clock);
    (service, runner)
}

/// Lets paused time run until the clock reads `at`, and the tasks woken on the way settle.
pub async fn run_until(service: &Service, at: &str) {
    service.clock().sleep_until(utc(at)).await;
    settle().await;
}

/// Lets every task that is ready run (paused time does not move while they do).
pub async fn settle() {
    for _ in 0..50 {
        tokio::task::yield_now().await;
    }
}
