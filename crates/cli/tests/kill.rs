//! Crash safety, proven by killing: the real `optisync sync` runs against the fake, is killed
//! with SIGKILL at chosen points, and is then run again to completion. The fake must end up
//! holding exactly what the model says: no duplicate audience, attribute or event, no lost or
//! extra list member. A further run must send nothing (state agrees with Optimizely), and no
//! rerun may be refused by the killed run's stale lock.
//!
//! Every kill is triggered by what the fake has seen, never by a clock: the fake holds each
//! write of the run (`hold_before_write` or `hold_after_write`) and lets the run go on one
//! write at a time until the chosen one, and the run is killed while that write is held.
//! So each cut lands exactly where intended, and the test checks that it did:
//!
//! - before the k-th write: the request was sent and never applied;
//! - after the k-th write: applied, the run killed before it learns so (the case a retry must
//!   never duplicate);
//! - during the run's first read, before anything was written.
//!
//! Every cut point is covered for every object type, and some seeds kill twice before the
//! final run.

#![allow(clippy::unwrap_used)]

mod common;

use std::process::{Child, Command, Stdio};
use std::time::Duration;

use common::{Case, Rng, Scenario, scenario};
use fake_optimizely::{FaultAction, FaultRule};

/// Runs per object type that end in a kill before the final run (each cut point at least
/// once; the rest are second kills).
const SEEDS: u64 = 16;
/// A generous bound on waiting for an event; reached only when something is broken.
const PATIENCE: Duration = Duration::from_secs(120);

/// Where a run is killed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Cut {
    /// The k-th write of the run (from 1) is sent and held, unapplied.
    BeforeWrite(u64),
    /// The k-th write is applied and its answer held.
    AfterWrite(u64),
    /// The run's first read is held.
    FirstRead,
}

impl Cut {
    /// Every cut of a run that has `writes` writes to send.
    fn all(writes: u64) -> Vec<Cut> {
        let mut cuts = vec![Cut::FirstRead];
        for k in 1..=writes {
            cuts.push(Cut::BeforeWrite(k));
            cuts.push(Cut::AfterWrite(k));
        }
        cuts
    }

    /// Writes the fake has applied for the run when it is killed.
    fn applied(self) -> u64 {
        match self {
            Cut::BeforeWrite(k) => k - 1,
            Cut::AfterWrite(k) => k,
            Cut::FirstRead => 0,
        }
    }

    /// The fault rules that hold the requests leading to this cut.
    fn rules(self) -> Vec<FaultRule> {
        let hold = |method: &str, times: u32, action: FaultAction| FaultRule {
            method: method.to_owned(),
            path_template: "*".to_owned(),
            times,
            action,
        };
        match self {
            Cut::FirstRead => vec![hold("GET", 1, FaultAction::HoldBeforeWrite)],
            Cut::BeforeWrite(_) | Cut::AfterWrite(_) => {
                let action = if matches!(self, Cut::BeforeWrite(_)) {
                    FaultAction::HoldBeforeWrite
                } else {
                    FaultAction::HoldAfterWrite
                };
                // The scenarios write with POST (creates) and PATCH (the list).
                ["POST", "PATCH"]
                    .into_iter()
                    .map(|method| hold(method, u32::MAX, action.clone()))
                    .collect()
            }
        }
    }

    /// How many holds the run passes through, the last one being the kill.
    fn holds(self) -> u64 {
        match self {
            Cut::BeforeWrite(k) | Cut::AfterWrite(k) => k,
            Cut::FirstRead => 1,
        }
    }
}

async fn kill_many(scenario: Scenario) {
    let first_cuts = Cut::all(scenario.writes);
    let mut kills = 0;
    for seed in 0..SEEDS.max(first_cuts.len() as u64) {
        let mut rng = Rng::new(seed + 1);
        let case = Case::new(scenario.project, "", &scenario.sync).await;
        case.write(scenario.file, &scenario.model);
        case.patient();
        let mut cuts = vec![first_cuts[seed as usize % first_cuts.len()]];
        let remaining = scenario.writes - cuts[0].applied();
        if remaining > 0 && rng.below(10) < 3 {
            let second = Cut::all(remaining);
            cuts.push(second[rng.below(second.len() as u64) as usize]);
        }
        for cut in cuts.iter().copied() {
            run_and_kill(&case, cut, &scenario).await;
            kills += 1;
        }
        // The final run goes to the end, then a run that must have nothing left to send.
        case.fake.clear_faults();
        let out = case.expect(&["sync"], 0).await;
        let held = (scenario.held)(&case);
        assert_eq!(
            held, scenario.expected,
            "{} seed {seed} cuts {cuts:?}: the fake does not hold what the model says\n{out}",
            scenario.name
        );
        let before = case.writes();
        case.expect(&["sync"], 0).await;
        assert_eq!(
            case.writes(),
            before,
            "{} seed {seed}: state and Optimizely disagree after recovery",
            scenario.name
        );
        case.stop().await;
    }
    println!(
        "{}: {kills} runs killed, each where intended",
        scenario.name
    );
}

/// Runs `optisync sync` in the case's dir and kills it at `cut`, which it must reach.
async fn run_and_kill(case: &Case, cut: Cut, scenario: &Scenario) {
    case.fake.clear_faults();
    for rule in cut.rules() {
        case.fake.add_fault(rule);
    }
    let applied_before = case.fake.stats().writes_applied;
    let held_before = case.fake.held().held;
    let mut child = Command::new(env!("CARGO_BIN_EXE_optisync"))
        .current_dir(case.path())
        .arg("sync")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    for hold in 1..=cut.holds() {
        let reached = tokio::time::timeout(PATIENCE, case.fake.wait_held(held_before + hold)).await;
        if reached.is_err() {
            let status = child.try_wait().unwrap();
            kill(child).await;
            panic!(
                "{} {cut:?}: the run never reached hold {hold} (exit status {status:?})",
                scenario.name
            );
        }
        if hold < cut.holds() {
            case.fake.release_held();
        }
    }
    // The run is parked on the cut's request, still alive: check it is where intended, then
    // kill it there.
    assert!(
        child.try_wait().unwrap().is_none(),
        "{cut:?}: the run ended"
    );
    assert_eq!(case.fake.held().holding, 1, "{cut:?}: one request held");
    assert_eq!(
        case.fake.stats().writes_applied - applied_before,
        cut.applied(),
        "{} {cut:?}: writes applied when the kill comes",
        scenario.name
    );
    kill(child).await;
    // Let go of the dead run's request (if its connection is not gone already): closed
    // unanswered, and one held before its write is never applied.
    case.fake.drop_held();
}

/// SIGKILL, then reaped (off the runtime's workers, which serve the fake), so its pid is
/// gone: the next run must recover its lock by itself.
async fn kill(mut child: Child) {
    tokio::task::spawn_blocking(move || {
        child.kill().unwrap();
        child.wait().unwrap();
    })
    .await
    .unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn killed_attribute_syncs_end_exactly_as_the_model_says() {
    kill_many(scenario("attribute")).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn killed_custom_event_syncs_end_exactly_as_the_model_says() {
    kill_many(scenario("custom_event")).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn killed_audience_syncs_end_exactly_as_the_model_says() {
    kill_many(scenario("audience")).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn killed_list_syncs_end_exactly_as_the_model_says() {
    kill_many(scenario("list_attribute")).await;
}
