//! The pure planner: from (desired rows, delivered state, remote state, mode, options) to a
//! [`SyncPlan`]. No I/O, no clock, no randomness: the same inputs always give the same plan,
//! whatever order the rows come in. [`plan_list`] handles list attributes (one whole-list
//! PATCH per run); [`plan_definitions`] handles audiences, attributes and custom events (one
//! request per object); [`plan_profiles`] handles ODP attributes (profiles whose value
//! changes, in batches). The rules are docs/PRODUCT-RULES.md#list-attributes, #definitions and #guardrails.

mod definitions;
mod list;
mod profiles;

pub use definitions::{
    DEFAULT_MAX_CREATES, DefinitionOptions, DefinitionPlanInput, plan_definitions,
};
pub use list::{DEFAULT_MAX_REMOVAL_PERCENT, ListOptions, ListPlanInput, plan_list};
pub use profiles::{ProfileOptions, ProfilePlanInput, plan_profiles};

use crate::ids::Ids;
use crate::plan::{Guardrail, RejectedRow, SyncPlan};
use crate::validate::{PiiKind, looks_like_pii, mask_pii};

/// The empty-model guardrail (docs/PRODUCT-RULES.md#empty-model), shared by mirror and upsert runs.
fn check_empty_model(plan: &mut SyncPlan, last_run_rows: Option<u64>, allow_empty: bool) {
    let Some(last_run_rows) = last_run_rows.filter(|n| *n > 0) else {
        return;
    };
    if plan.rows_read > 0 {
        return;
    }
    let guardrail = Guardrail::EmptyModel { last_run_rows };
    if allow_empty {
        plan.warnings.push(format!(
            "--allow-empty given: the model returned 0 rows (last run: {last_run_rows})"
        ));
    } else {
        plan.guardrails.push(guardrail);
    }
}

/// The personal-data guardrail (docs/PRODUCT-RULES.md#personal-data-in-lists) over the ids a
/// run sends: blocks the run when some look like e-mail addresses or phone numbers, or with
/// `allow_pii` warns instead (`sent_as` ends the warning, e.g. " as fs_user_id").
fn check_pii(plan: &mut SyncPlan, ids: &Ids, allow_pii: bool, sent_as: &str) {
    let (mut emails, mut phones) = (0u64, 0u64);
    let mut samples = Vec::new();
    for id in ids.iter() {
        let Some(kind) = looks_like_pii(id) else {
            continue;
        };
        match kind {
            PiiKind::Email => emails += 1,
            PiiKind::Phone => phones += 1,
        }
        if samples.len() < 3 {
            samples.push(mask_pii(id));
        }
    }
    if emails + phones == 0 {
        return;
    }
    if allow_pii {
        plan.warnings.push(format!(
            "allow_pii = true: sending {} ids that look like e-mail addresses or phone numbers{sent_as}",
            emails + phones
        ));
    } else {
        plan.guardrails.push(Guardrail::Pii {
            emails,
            phones,
            samples,
        });
    }
}

fn reject(
    plan: &mut SyncPlan,
    primary_key: Option<String>,
    field: &str,
    reason: impl Into<String>,
) {
    plan.rejected.push(RejectedRow {
        // A row's key is its value: bounded and escaped, as every value shown in a message.
        primary_key: primary_key.map(|key| crate::value::shown(&key)),
        field: Some(field.to_owned()),
        reason: reason.into(),
        request_id: None,
    });
}
