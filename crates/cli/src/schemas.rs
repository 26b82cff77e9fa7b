//! The JSON Schema of each verb's `--output json` document, committed under
//! `docs/output-schemas/` (one file per verb, plus `error.schema.json` for the document a verb
//! prints when it ends with an error), and one per document of `optisync serve`'s JSON API
//! (`serve-*.schema.json`). They are generated from the output types, like the
//! config's schema, and a test fails when a committed file drifts from them.

use optisync_serve::http::api;
use schemars::JsonSchema;

use crate::commands::{check, demo, init, plan, reset, runs, status, sync, validate};
use crate::error::ErrorOutput;

/// Every schema, by file name under `docs/output-schemas/`.
pub fn output_schemas() -> Vec<(&'static str, serde_json::Value)> {
    vec![
        ("check.schema.json", schema::<check::CheckOutput>()),
        ("demo.schema.json", schema::<demo::DemoOutput>()),
        ("error.schema.json", schema::<ErrorOutput>()),
        ("init.schema.json", schema::<init::InitOutput>()),
        ("plan.schema.json", schema::<plan::PlanOutput>()),
        ("reset.schema.json", schema::<reset::ResetOutput>()),
        ("runs.schema.json", schema::<runs::RunsOutput>()),
        ("runs-show.schema.json", schema::<runs::RunShowOutput>()),
        ("status.schema.json", schema::<status::StatusOutput>()),
        ("sync.schema.json", schema::<sync::SyncOutput>()),
        ("validate.schema.json", schema::<validate::ValidateOutput>()),
        // `optisync serve`'s JSON API.
        ("serve-syncs.schema.json", schema::<api::SyncsDocument>()),
        ("serve-sync.schema.json", schema::<api::SyncDocument>()),
        ("serve-runs.schema.json", schema::<api::RunsDocument>()),
        ("serve-run.schema.json", schema::<api::RunDocument>()),
        (
            "serve-trigger.schema.json",
            schema::<api::TriggerDocument>(),
        ),
        ("serve-pause.schema.json", schema::<api::PauseDocument>()),
        ("serve-error.schema.json", schema::<api::ErrorDocument>()),
    ]
}

/// The schema of what `T` serializes to (the document printed, not what could be read back).
fn schema<T: JsonSchema>() -> serde_json::Value {
    let generator = schemars::generate::SchemaSettings::default()
        .for_serialize()
        .into_generator();
    serde_json::to_value(generator.into_root_schema_for::<T>()).unwrap_or_default()
}
