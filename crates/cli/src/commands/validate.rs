//! `optisync validate`: checks the config before anything is sent. Loading it already checks
//! syntax, unknown keys and each sync's kind, target settings, mapping and audience name
//! template (every problem at once); then each model is described on the warehouse, without
//! running it, to check that every mapped and primary-key column exists.

use clap::Args;
use optisync_sources::Source;
use schemars::JsonSchema;
use serde::Serialize;

use crate::config::Sync;
use crate::output::{OutputFormat, print_json};

/// `optisync validate`.
#[derive(Debug, Args)]
pub struct ValidateArgs {
    /// Sync names (default: every sync in the config).
    pub syncs: Vec<String>,
}

/// The `--output json` document of `validate`.
#[derive(Debug, Clone, Serialize, JsonSchema)]
pub struct ValidateOutput {
    /// True when no sync has a problem (exit code 0; otherwise 3).
    pub passed: bool,
    /// One entry per sync validated, in config order.
    pub syncs: Vec<SyncValidation>,
}

/// What `validate` found for one sync.
#[derive(Debug, Clone, Serialize, JsonSchema)]
pub struct SyncValidation {
    /// The sync's name.
    pub sync: String,
    /// The model's columns as `[name, warehouse type]` pairs, when it could be described.
    pub columns: Vec<(String, String)>,
    /// Problems, each naming the sync and how to fix it. Empty when the sync is valid.
    pub problems: Vec<String>,
}

/// The whole report.
#[derive(Debug, Clone, Default)]
pub struct ValidationReport {
    /// One entry per sync, in config order.
    pub syncs: Vec<SyncValidation>,
}

impl ValidationReport {
    /// True when no sync has a problem.
    pub fn passed(&self) -> bool {
        self.syncs.iter().all(|s| s.problems.is_empty())
    }
}

/// Prints the report: the columns each model returns, then one line per problem.
pub fn print(report: &ValidationReport, format: OutputFormat) {
    match format {
        OutputFormat::Json => print_json(&ValidateOutput {
            passed: report.passed(),
            syncs: report.syncs.clone(),
        }),
        OutputFormat::Text => {
            for sync in &report.syncs {
                let columns: Vec<String> = sync
                    .columns
                    .iter()
                    .map(|(name, ty)| format!("{name} {ty}"))
                    .collect();
                if sync.problems.is_empty() {
                    crate::outln!(
                        "ok: sync {}: model returns {}",
                        sync.sync,
                        columns.join(", ")
                    );
                }
                for problem in &sync.problems {
                    crate::outln!("problem: {problem}");
                }
            }
            if report.passed() {
                crate::outln!("config is valid");
            } else {
                let n: usize = report.syncs.iter().map(|s| s.problems.len()).sum();
                crate::outln!("config is invalid: {n} problem(s)");
            }
        }
    }
}

/// Validates every selected sync against the source.
pub async fn run(source: &Source, syncs: &[&Sync]) -> ValidationReport {
    let mut report = ValidationReport::default();
    for sync in syncs {
        report.syncs.push(validate_sync(source, sync).await);
    }
    report
}

/// The model's columns, and whether the sync's (already parsed) mapping binds to them.
async fn validate_sync(source: &Source, sync: &Sync) -> SyncValidation {
    let spec = &sync.spec;
    let name = &spec.name;
    let mut result = SyncValidation {
        sync: name.clone(),
        columns: Vec::new(),
        problems: Vec::new(),
    };
    let columns = match source.describe(&spec.model).await {
        Ok(columns) => columns,
        Err(e) => {
            result
                .problems
                .push(format!("sync {name}: the model cannot run: {e}"));
            return result;
        }
    };
    result.columns = columns
        .iter()
        .map(|c| (c.name.clone(), c.type_name.clone()))
        .collect();
    let names: Vec<String> = columns.iter().map(|c| c.name.clone()).collect();
    if let Err(errors) = spec
        .mapping
        .bind(&names, &spec.primary_key, spec.audience_name.as_ref())
    {
        result
            .problems
            .extend(errors.0.iter().map(|e| format!("sync {name}: {e}")));
    }
    result
}
