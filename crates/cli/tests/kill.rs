//! Crash safety, proven by killing: the real `optisync sync` runs against the fake with
//! latency added to every request (and a pause between applying each write and answering
//! it), is killed with SIGKILL at seeded moments, and is then run again to completion. The
//! fake must end up holding exactly what the model says: no duplicate audience, attribute or
//! event, no lost or extra list member. A further run must send nothing (state agrees with
//! Optimizely), and no rerun may be refused by the killed run's stale lock.
//!
//! Half the seeds kill right after the fake applied the k-th write, while it waits to answer:
//! the run dies between a write's request and its response, the case a retry must never
//! duplicate. The other half kill at a random moment of the run. Some seeds kill twice
//! before the final run.

#![allow(clippy::unwrap_used)]

mod common;

use std::time::{Duration, Instant};

use common::{Case, Rng, Scenario, scenario};
use fake_optimizely::{FakeOptimizely, FaultAction, FaultRule};

/// Seeds per object type; at least [`MIN_KILLED`] of their cuts must land while the run is
/// still going (a random cut can come after a short run has ended).
const SEEDS: u64 = 24;
const MIN_KILLED: u64 = 20;
/// Added before every read and after every write, so a run lasts long enough to be cut.
const LATENCY_MS: u64 = 25;
fn slow(fake: &FakeOptimizely) {
    for method in ["POST", "PATCH"] {
        fake.add_fault(FaultRule {
            method: method.to_owned(),
            path_template: "*".to_owned(),
            times: u32::MAX,
            action: FaultAction::DelayAfterWrite { millis: LATENCY_MS },
        });
    }
    fake.add_fault(FaultRule {
        method: "*".to_owned(),
        path_template: "*".to_owned(),
        times: u32::MAX,
        action: FaultAction::Delay { millis: LATENCY_MS },
    });
}

/// How a seed cuts the run.
#[derive(Debug, Clone, Copy)]
enum Cut {
    /// Right after the fake applied this many writes (counted from the run's start), while
    /// it waits to answer the last one.
    AfterWrite(u64),
    /// This long after the process started.
    At(Duration),
}

async fn kill_many(scenario: Scenario) {
    let mut killed = 0;
    let mut between_request_and_response = 0;
    for seed in 0..SEEDS {
        let mut rng = Rng::new(seed + 1);
        let case = Case::new(scenario.project, "", &scenario.sync).await;
        case.write(scenario.file, &scenario.model);
        slow(&case.fake);
        let kills = 1 + u64::from(rng.below(10) < 3);
        let mut cuts = Vec::new();
        for _ in 0..kills {
            let cut = if seed % 2 == 0 && cuts.is_empty() {
                Cut::AfterWrite(1 + rng.below(scenario.writes))
            } else {
                Cut::At(Duration::from_millis(20 + rng.below(400)))
            };
            cuts.push(cut);
        }
        for cut in cuts.iter().copied() {
            let runner = Runner {
                dir: case.path().to_path_buf(),
                fake: case.fake.clone(),
            };
            // Off the runtime's workers, which serve the fake meanwhile.
            let was_running = tokio::task::spawn_blocking(move || runner.run_and_kill(cut))
                .await
                .unwrap();
            if was_running {
                killed += 1;
                if matches!(cut, Cut::AfterWrite(_)) {
                    between_request_and_response += 1;
                }
            }
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
        "{}: {SEEDS} seeds, {killed} runs killed, {between_request_and_response} of them between a write's request and its response",
        scenario.name
    );
    assert!(
        killed >= MIN_KILLED,
        "{}: only {killed} runs were cut",
        scenario.name
    );
    assert!(between_request_and_response >= SEEDS / 2 - 2);
}

/// Runs `optisync sync` in a case's dir from a blocking thread and kills it at a cut.
struct Runner {
    dir: std::path::PathBuf,
    fake: FakeOptimizely,
}

impl Runner {
    /// Returns whether the run was still going when cut (it may finish first).
    fn run_and_kill(&self, cut: Cut) -> bool {
        let writes_before = self.fake.stats().writes_applied;
        let started = Instant::now();
        let mut child = std::process::Command::new(env!("CARGO_BIN_EXE_optisync"))
            .current_dir(&self.dir)
            .arg("sync")
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null())
            .spawn()
            .unwrap();
        loop {
            if child.try_wait().unwrap().is_some() {
                return false;
            }
            let due = match cut {
                Cut::AfterWrite(k) => self.fake.stats().writes_applied >= writes_before + k,
                Cut::At(after) => started.elapsed() >= after,
            };
            if due {
                child.kill().unwrap();
                // Reaped, so its pid is gone: the next run must recover its lock by itself.
                child.wait().unwrap();
                return true;
            }
            if started.elapsed() > Duration::from_secs(60) {
                child.kill().unwrap();
                panic!("a sync under test ran for a minute");
            }
            std::thread::sleep(Duration::from_micros(500));
        }
    }
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
