//! "Run after dbt": a sync may declare `after = { dbt_run_results = "target/run_results.json",
//! models = ["beta_testers"] }` and runs when that file reports a successful run of those
//! models newer than the last one seen. The service reads the file every few seconds (it is
//! small and local); the last `generated_at` that triggered a run is kept in the state store,
//! so each successful dbt run starts one sync run, across restarts too.
//!
//! dbt writes `run_results.json` after every `dbt run` / `dbt build`: `metadata.generated_at`
//! and one entry per node in `results`, with its `unique_id` (`model.<project>.<name>`) and
//! `status` (`success`, `error`, `skipped` …).

use std::io::Read;
use std::path::{Path, PathBuf};
use std::time::Duration;

use chrono::{DateTime, Utc};
use serde::Deserialize;

/// How often the file is read.
pub const POLL: Duration = Duration::from_secs(5);

/// The largest `run_results.json` read (a project of many thousands of models stays far
/// below it).
pub const MAX_FILE: u64 = 64 * 1024 * 1024;

/// A sync's `after = { dbt_run_results, models }`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DbtTrigger {
    /// The `run_results.json` dbt writes.
    pub run_results: PathBuf,
    /// The models whose successful run triggers the sync: a name (`beta_testers`) or a
    /// unique id (`model.analytics.beta_testers`).
    pub models: Vec<String>,
}

#[derive(Debug, Deserialize)]
struct RunResults {
    metadata: Metadata,
    #[serde(default)]
    results: Vec<NodeResult>,
}

#[derive(Debug, Deserialize)]
struct Metadata {
    generated_at: String,
}

#[derive(Debug, Deserialize)]
struct NodeResult {
    unique_id: String,
    status: String,
}

/// What the file says now.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Verdict {
    /// A successful run of every model, generated at this time, newer than the last seen.
    Run(DateTime<Utc>),
    /// Nothing new for this sync (no file yet, the same run, or a run that did not build all
    /// its models successfully: the next successful one triggers).
    Wait,
}

fn matches(model: &str, unique_id: &str) -> bool {
    unique_id == model
        || unique_id
            .strip_prefix("model.")
            .and_then(|rest| rest.rsplit_once('.'))
            .is_some_and(|(_, name)| name == model)
}

/// Reads `trigger`'s file and decides, given the `generated_at` of the last run that
/// triggered (`last_seen`).
///
/// # Errors
/// A message naming the file, when it exists but cannot be read or is not dbt's run results.
pub fn check(trigger: &DbtTrigger, last_seen: Option<DateTime<Utc>>) -> Result<Verdict, String> {
    let Some(text) = read(&trigger.run_results)? else {
        return Ok(Verdict::Wait);
    };
    let results: RunResults = serde_json::from_str(&text).map_err(|e| {
        format!(
            "{} is not dbt's run_results.json ({e}); point dbt_run_results at target/run_results.json",
            trigger.run_results.display()
        )
    })?;
    let generated_at = DateTime::parse_from_rfc3339(results.metadata.generated_at.trim())
        .map_err(|_| {
            format!(
                "{}: metadata.generated_at is not a time",
                trigger.run_results.display()
            )
        })?
        .with_timezone(&Utc);
    if last_seen.is_some_and(|seen| generated_at <= seen) {
        return Ok(Verdict::Wait);
    }
    let all_succeeded = trigger.models.iter().all(|model| {
        results
            .results
            .iter()
            .any(|node| matches(model, &node.unique_id) && node.status == "success")
    });
    Ok(if all_succeeded {
        Verdict::Run(generated_at)
    } else {
        Verdict::Wait
    })
}

/// The file's text, `None` when it does not exist (yet).
fn read(path: &Path) -> Result<Option<String>, String> {
    let file = match std::fs::File::open(path) {
        Ok(file) => file,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
        Err(e) => return Err(format!("{} cannot be read: {e}", path.display())),
    };
    let mut text = String::new();
    file.take(MAX_FILE + 1)
        .read_to_string(&mut text)
        .map_err(|e| format!("{} cannot be read: {e}", path.display()))?;
    if text.len() as u64 > MAX_FILE {
        return Err(format!(
            "{} is larger than {} MiB; point dbt_run_results at dbt's target/run_results.json",
            path.display(),
            MAX_FILE / 1024 / 1024
        ));
    }
    Ok(Some(text))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn file(dir: &Path, at: &str, statuses: &[(&str, &str)]) -> PathBuf {
        let results: Vec<_> = statuses
            .iter()
            .map(|(id, status)| serde_json::json!({"unique_id": id, "status": status, "execution_time": 1.0}))
            .collect();
        let path = dir.join("run_results.json");
        std::fs::write(
            &path,
            serde_json::json!({"metadata": {"dbt_version": "1.8.0", "generated_at": at}, "results": results, "elapsed_time": 3.2}).to_string(),
        )
        .unwrap();
        path
    }

    #[test]
    fn a_new_successful_run_of_every_model_triggers_once() {
        let dir = tempfile::tempdir().unwrap();
        let trigger = DbtTrigger {
            run_results: dir.path().join("run_results.json"),
            models: vec!["beta_testers".into(), "model.analytics.segments".into()],
        };
        assert_eq!(check(&trigger, None).unwrap(), Verdict::Wait, "no file yet");
        let at = "2026-12-03T10:00:00.123456Z";
        file(
            dir.path(),
            at,
            &[
                ("model.analytics.beta_testers", "success"),
                ("model.analytics.segments", "success"),
                ("test.analytics.unique_id", "pass"),
            ],
        );
        let Verdict::Run(seen) = check(&trigger, None).unwrap() else {
            panic!("a successful run triggers");
        };
        assert_eq!(check(&trigger, Some(seen)).unwrap(), Verdict::Wait, "once");
        // A newer run where one model failed does not trigger.
        file(
            dir.path(),
            "2026-12-03T11:00:00Z",
            &[
                ("model.analytics.beta_testers", "success"),
                ("model.analytics.segments", "error"),
            ],
        );
        assert_eq!(check(&trigger, Some(seen)).unwrap(), Verdict::Wait);
        // Nor one that did not build a model at all (dbt run --select other).
        file(
            dir.path(),
            "2026-12-03T11:30:00Z",
            &[("model.analytics.beta_testers", "success")],
        );
        assert_eq!(check(&trigger, Some(seen)).unwrap(), Verdict::Wait);
        file(
            dir.path(),
            "2026-12-03T12:00:00Z",
            &[
                ("model.analytics.beta_testers", "success"),
                ("model.analytics.segments", "success"),
            ],
        );
        assert!(matches!(
            check(&trigger, Some(seen)).unwrap(),
            Verdict::Run(_)
        ));
    }

    #[test]
    fn a_file_that_is_not_run_results_says_so() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("run_results.json");
        std::fs::write(&path, "{\"nodes\": {}}").unwrap();
        let trigger = DbtTrigger {
            run_results: path,
            models: vec!["m".into()],
        };
        let error = check(&trigger, None).unwrap_err();
        assert!(error.contains("not dbt's run_results.json"), "{error}");
        // Names are matched exactly, not as prefixes or in other node types.
        assert!(!matches("beta", "model.analytics.beta_testers"));
        assert!(!matches("beta", "seed.analytics.beta"));
        assert!(matches("beta", "model.analytics.beta"));
    }
}
