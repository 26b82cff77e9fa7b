//! Whole runs of the engine without the binary: an in-memory warehouse, the fake Optimizely
//! over TCP and a real state store. Each object type goes through a first run, a no-op run and
//! an incremental run; a guardrail and a rejected row end a run as the product says.

// unwrap is fine in tests: a panic there is the failure report.
#![allow(clippy::unwrap_used)]

use fake_optimizely::{FakeOptimizely, RunningFake, Seed};
use optisync_core::{DEFAULT_MAX_REMOVAL_PERCENT, Mapping, NameTemplate, SyncKind, Value};
use optisync_engine::destination::object_rules;
use optisync_engine::{Engine, RunOptions, RunResult, SyncSpec};
use optisync_optimizely::{ApiToken, Client, ClientConfig, RateLimit};
use optisync_sources::{MemorySource, Source};
use optisync_state::Store;
use serde_json::json;

const TOKEN: &str = "2:enginetoken_abcdefghijklmnopqrstuvwxyz0123456789ABCD";
const WEB: i64 = 31_000_000_001;
const LIST: i64 = 31_000_000_101;
const MODEL: &str = "select * from model";

struct Case {
    fake: FakeOptimizely,
    running: RunningFake,
    warehouse: MemorySource,
    engine: Engine,
    dir: tempfile::TempDir,
}

impl Case {
    async fn new() -> Self {
        let seed: Seed = serde_json::from_value(json!({
            "tokens": [{"token": TOKEN, "project_ids": [WEB]}],
            "projects": [{"id": WEB, "name": "Web", "platform": "web"}],
            "list_attributes": [{"id": LIST, "project_id": WEB, "name": "beta",
                "key_field": "user_id", "list_type": "cookies", "list_content": ""}],
            "rate_limits": {"fx_per_second": null, "fx_per_minute": null, "web_per_minute": null}
        }))
        .unwrap();
        let fake = FakeOptimizely::new(seed).unwrap();
        let running = fake.serve(([127, 0, 0, 1], 0).into()).await.unwrap();
        let dir = tempfile::tempdir().unwrap();
        let warehouse = MemorySource::new();
        let engine = connect(&running, &dir, &warehouse).await.unwrap();
        Case {
            fake,
            running,
            warehouse,
            engine,
            dir,
        }
    }

    /// Another process on the same state folder.
    async fn reconnect(&mut self) {
        self.engine = connect(&self.running, &self.dir, &self.warehouse)
            .await
            .unwrap();
    }

    fn project_reads(&self) -> usize {
        self.fake
            .requests()
            .iter()
            .filter(|r| r.method == "GET" && r.path_template == "/v2/projects/{id}")
            .count()
    }

    fn rows(&self, columns: &[&str], rows: &[&[&str]]) {
        let rows = rows
            .iter()
            .map(|row| row.iter().map(|cell| Value::from(*cell)).collect())
            .collect();
        self.warehouse.set(MODEL, columns, rows);
    }

    async fn sync(&mut self, spec: &SyncSpec) -> optisync_engine::RunReport {
        self.engine
            .sync(spec, RunOptions::default(), None)
            .await
            .unwrap()
    }

    fn writes(&self) -> usize {
        self.fake
            .requests()
            .iter()
            .filter(|r| r.method != "GET")
            .count()
    }
}

async fn connect(
    running: &RunningFake,
    dir: &tempfile::TempDir,
    warehouse: &MemorySource,
) -> optisync_engine::Result<Engine> {
    let mut config = ClientConfig::new(ApiToken::new(TOKEN.to_owned()));
    config.api_url = running.base_url().parse().unwrap();
    config.rate_limit = Some(RateLimit::UNLIMITED);
    let client = Client::new(config).unwrap();
    let store = Store::open(dir.path()).unwrap();
    Engine::connect(
        Source::Memory(warehouse.clone()),
        client,
        store,
        WEB,
        "tests",
    )
    .await
}

fn spec(object: &str, mode: &str, mapping: &[(&str, &str)]) -> SyncSpec {
    let kind = SyncKind::parse(object, mode).unwrap();
    SyncSpec {
        name: format!("{object}s"),
        kind,
        model: MODEL.into(),
        mapping: Mapping::new(object_rules(kind), mapping.iter().copied()).unwrap(),
        primary_key: vec![],
        list_attribute_id: (object == "list_attribute").then_some(LIST),
        audience_name: (object == "audience").then(|| NameTemplate::parse("{segment}").unwrap()),
        allow_pii: false,
        max_removal_percent: DEFAULT_MAX_REMOVAL_PERCENT,
        max_creates: optisync_core::planner::DEFAULT_MAX_CREATES,
        odp: None,
    }
}

#[tokio::test]
async fn every_definition_kind_goes_through_first_noop_and_incremental_runs() {
    for (object, mapping, rows, changed) in [
        (
            "attribute",
            vec![("key", "key"), ("description", "description")],
            vec![vec!["plan", "Plan"], vec!["tier", "Tier"]],
            vec!["tier", "Tier, renamed"],
        ),
        (
            "custom_event",
            vec![("key", "key"), ("description", "description")],
            vec![vec!["signup", "Signed up"], vec!["buy", "Bought"]],
            vec!["buy", "Bought something"],
        ),
        (
            "audience",
            vec![("description", "description")],
            vec![
                vec!["Gold", "Gold members"],
                vec!["Silver", "Silver members"],
            ],
            vec!["Silver", "Silver and up"],
        ),
    ] {
        let mut case = Case::new().await;
        let first_column = if object == "audience" {
            "segment"
        } else {
            "key"
        };
        let columns = [first_column, "description"];
        let as_rows = |rows: &[Vec<&str>]| {
            rows.iter()
                .map(|r| r.iter().map(|c| Value::from(*c)).collect())
                .collect::<Vec<Vec<Value>>>()
        };
        case.warehouse.set(MODEL, &columns, as_rows(&rows));
        let spec = spec(object, "upsert", &mapping);

        let first = case.sync(&spec).await;
        assert_eq!(first.result, RunResult::Succeeded, "{object}");
        assert_eq!(first.counts.creates, 2, "{object}");
        assert_eq!(case.writes(), 2, "{object}: one create per row");

        let noop = case.sync(&spec).await;
        assert_eq!(
            noop.counts.requests_sent, 0,
            "{object}: a no-op run writes nothing"
        );
        assert_eq!(
            noop.counts.reads, 1,
            "{object}: a no-op run reads one page of the project's objects, the fewest possible"
        );
        assert_eq!(case.writes(), 2, "{object}");

        let mut rows = rows.clone();
        rows[1] = changed.clone();
        case.warehouse.set(MODEL, &columns, as_rows(&rows));
        let incremental = case.sync(&spec).await;
        assert_eq!(incremental.counts.updates, 1, "{object}");
        assert_eq!(incremental.counts.creates, 0, "{object}");
        assert_eq!(
            case.writes(),
            3,
            "{object}: one PATCH for the one changed row"
        );
    }
}

#[tokio::test]
async fn a_list_sync_sends_one_patch_per_change_and_none_when_nothing_changed() {
    let mut case = Case::new().await;
    let spec = spec("list_attribute", "mirror", &[("user_id", "id")]);
    case.rows(&["id"], &[&["u1"], &["u2"], &["u3"]]);
    let first = case.sync(&spec).await;
    assert_eq!(first.result, RunResult::Succeeded);
    assert_eq!(first.counts.list_added, 3);
    assert_eq!(case.writes(), 1);

    let noop = case.sync(&spec).await;
    assert_eq!(noop.counts.requests_sent, 0);
    assert_eq!(noop.counts.reads, 1, "one GET of the list");
    assert_eq!(case.writes(), 1);

    case.rows(&["id"], &[&["u1"], &["u2"], &["u3"], &["u4"], &["u5"]]);
    let more = case.sync(&spec).await;
    assert_eq!((more.counts.list_added, more.counts.list_removed), (2, 0));
    assert_eq!(case.writes(), 2);
}

#[tokio::test]
async fn a_run_keeps_its_plan_text_step_timings_and_drift_with_its_record() {
    let mut case = Case::new().await;
    let spec = spec("list_attribute", "mirror", &[("user_id", "id")]);
    case.rows(&["id"], &[&["u1"], &["u2"], &["u3"]]);
    let first = case.sync(&spec).await;
    let details = case
        .engine
        .store()
        .run_details(&first.run_id)
        .unwrap()
        .unwrap();
    let steps: Vec<&str> = details.steps.iter().map(|s| s.step.as_str()).collect();
    assert_eq!(steps, ["read", "plan", "send"]);
    let text = details.plan_text.unwrap();
    assert!(text.contains("u1") && text.contains("3 rows"), "{text}");

    // A member removed outside optisync: the next plan finds the drift, and the run keeps it.
    let mut list = case.fake.state()["list_attributes"][0].clone();
    list["list_content"] = json!("u1,u2");
    case.fake
        .seed(
            serde_json::from_value(json!({
                "list_attributes": [list],
                "rate_limits": {"fx_per_second": null, "fx_per_minute": null, "web_per_minute": null}
            }))
            .unwrap(),
        )
        .unwrap();
    let second = case.sync(&spec).await;
    let drift = case
        .engine
        .store()
        .run_details(&second.run_id)
        .unwrap()
        .unwrap()
        .drift
        .unwrap();
    assert_eq!(
        (drift.missing_count, drift.unexpected_count),
        (1, 0),
        "{drift:?}"
    );
    assert_eq!(drift.missing_sample, ["u3"]);

    // A blocked run keeps its plan (with the guardrail) too.
    case.rows(&["id"], &[]);
    let blocked = case.sync(&spec).await;
    assert_eq!(blocked.result, RunResult::Blocked);
    let details = case
        .engine
        .store()
        .run_details(&blocked.run_id)
        .unwrap()
        .unwrap();
    assert!(details.plan_text.is_some());
    assert!(!details.steps.iter().any(|s| s.step == "send"));
}

#[tokio::test]
async fn a_process_that_remembers_the_project_reads_it_only_before_sending() {
    let mut case = Case::new().await;
    let spec = spec("list_attribute", "mirror", &[("user_id", "id")]);
    case.rows(&["id"], &[&["u1"], &["u2"]]);
    assert_eq!(
        case.project_reads(),
        1,
        "a new state folder: the project is read first"
    );
    case.sync(&spec).await;

    // A scheduled no-op run in a new process costs one read in all: the list.
    case.reconnect().await;
    let noop = case.sync(&spec).await;
    assert_eq!(noop.counts.requests_sent, 0);
    assert_eq!(noop.counts.reads, 1, "the list only");
    assert_eq!(case.project_reads(), 1, "the remembered product is enough");

    // With something to send, the project is read (once per process) before the first write:
    // a project archived since the last read is refused and nothing is written.
    let archived: Seed = serde_json::from_value(json!({
        "projects": [{"id": WEB, "name": "Web", "platform": "web", "status": "archived"}],
        "rate_limits": {"fx_per_second": null, "fx_per_minute": null, "web_per_minute": null}
    }))
    .unwrap();
    case.fake.seed(archived).unwrap();
    case.rows(&["id"], &[&["u1"], &["u2"], &["u3"]]);
    let error = case
        .engine
        .sync(&spec, RunOptions::default(), None)
        .await
        .unwrap_err();
    assert!(error.to_string().contains("is archived"), "{error}");
    assert!(
        error.is_config(),
        "the fix is the project id or the project"
    );
    assert_eq!(case.project_reads(), 2);
    assert_eq!(case.writes(), 1, "only the first run's write");

    // `plan` refuses it the same way.
    let error = case
        .engine
        .plan(&spec, RunOptions::default())
        .await
        .unwrap_err();
    assert!(error.to_string().contains("is archived"), "{error}");
    assert_eq!(case.writes(), 1);
}

#[tokio::test]
async fn a_large_removal_is_blocked_before_any_request_and_a_bad_row_is_rejected() {
    let mut case = Case::new().await;
    let spec = spec("list_attribute", "mirror", &[("user_id", "id")]);
    case.rows(&["id"], &[&["u1"], &["u2"], &["u3"], &["u4"]]);
    case.sync(&spec).await;
    let writes = case.writes();

    // Three of four members leave: more than the 20% the sync allows.
    case.rows(&["id"], &[&["u1"]]);
    let blocked = case.sync(&spec).await;
    assert_eq!(blocked.result, RunResult::Blocked);
    assert_eq!(case.writes(), writes, "a blocked run sends nothing");

    // An id with a comma cannot be a list member: rejected, and the rest goes on.
    case.rows(&["id"], &[&["u1"], &["u2"], &["u3"], &["u4"], &["a,b"]]);
    let rejected = case.sync(&spec).await;
    assert_eq!(rejected.result, RunResult::RejectedRows);
    assert_eq!(rejected.rejected.len(), 1);
    assert_eq!(rejected.counts.rejected, 1);
}

#[tokio::test]
async fn long_steps_report_typed_progress_to_an_observer() {
    use std::sync::{Arc, Mutex};

    use optisync_engine::progress::{self, ProgressEvent};

    // The observer is the process's: it also sees the other tests' runs, so this test's
    // sync has a name of its own, and a failed assertion must not poison the others.
    let seen: Arc<Mutex<Vec<ProgressEvent>>> = Arc::default();
    let sink = Arc::clone(&seen);
    assert!(progress::observe(move |event| {
        sink.lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .push(event.clone());
    }));
    progress::set_interval(std::time::Duration::ZERO);

    let mut case = Case::new().await;
    let mut spec = spec("attribute", "upsert", &[("key", "key")]);
    spec.name = "observed".to_owned();
    case.rows(&["key"], &[&["a"], &["b"], &["c"]]);
    case.sync(&spec).await;

    let seen: Vec<ProgressEvent> = seen
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner)
        .iter()
        .filter(|e| e.sync == "observed")
        .cloned()
        .collect();
    let sending: Vec<&ProgressEvent> = seen
        .iter()
        .filter(|e| e.step == "sending changes")
        .collect();
    assert!(
        sending
            .iter()
            .any(|e| !e.finished && e.total == Some(3) && e.unit == "requests"),
        "{sending:?}"
    );
    assert!(
        sending.last().is_some_and(|e| e.finished && e.done == 3),
        "the step ends with a finished event: {sending:?}"
    );
    assert!(seen.iter().any(|e| e.step == "reading model"), "{seen:?}");
}

#[tokio::test]
async fn the_warehouse_is_let_go_after_the_last_announced_read() {
    // A source with something to close (here, the engine tests' in-memory tables) is closed
    // whether the process goes on or is about to exit.
    for release in [
        optisync_engine::Release::Close,
        optisync_engine::Release::AtExit,
    ] {
        let mut case = Case::new().await;
        let spec = spec("list_attribute", "mirror", &[("user_id", "id")]);
        case.rows(&["id"], &[&["u1"], &["u2"]]);
        case.engine.release_source_after_next_read(release);
        let run = case.sync(&spec).await;
        assert_eq!(run.result, RunResult::Succeeded);
        assert_eq!(run.counts.list_added, 2);
        // The read it announced was the last: another plan finds the warehouse closed.
        let error = case
            .engine
            .plan(&spec, RunOptions::default())
            .await
            .unwrap_err();
        let message = error.to_string();
        assert!(message.contains("closed"), "{release:?}: {message}");
        assert!(
            matches!(
                error,
                optisync_engine::Error::Source {
                    source: optisync_sources::SourceError::Unavailable { .. },
                    ..
                }
            ),
            "{release:?}: {message}"
        );
    }
}
