//! Creates whose outcome is not known. The API has no idempotency keys, so a create that
//! timed out, lost its connection, or was answered "already exists" is never blindly sent
//! again: the project's objects are listed afresh and the row's object is looked up by its
//! identity (key for attributes and custom events, exact name for audiences). Found, it is
//! adopted (and un-archived if archived); not found, the create did not happen.
//!
//! The same lookup settles the intents a killed run left unresolved, when the next run
//! starts: for those, the fresh plan already matched every row to what Optimizely holds.

use optisync_core::{Change, Fields, RemoteObject, StateRecord, SyncPlan, content_hash};
use optisync_optimizely::Client;
use optisync_state::{IntentRecord, Operation, Outcome, Store};

use crate::error::{Error, Result};
use crate::remote::list_objects;
use crate::spec::{SyncSpec, Target};

/// What a fresh listing says about a create.
#[derive(Debug, Clone)]
pub enum Found {
    /// The object exists.
    Exists(RemoteObject),
    /// It does not: the create did not take effect.
    Absent,
}

/// Re-lists the project's objects and looks for the one `fields` identifies.
pub async fn find_created(
    client: &Client,
    spec: &SyncSpec,
    target: Target,
    fields: &Fields,
) -> Result<Found> {
    let Some(kind) = spec.kind.definition() else {
        return Ok(Found::Absent);
    };
    let field = crate::destination::definition(kind).rules().identity;
    let Some(identity) = fields.text(field) else {
        return Ok(Found::Absent);
    };
    let objects = list_objects(client, spec, target).await?;
    let mut matches = objects
        .into_iter()
        .filter(|o| o.fields.text(field) == Some(identity))
        .collect::<Vec<_>>();
    // Prefer the unarchived object should the API list two.
    matches.sort_by_key(|o| o.archived);
    Ok(matches
        .into_iter()
        .next()
        .map_or(Found::Absent, Found::Exists))
}

/// The state record to keep for an adopted object: its own current fields and their hash,
/// so that the next plan compares the row with what Optimizely really holds.
pub fn adopted_record(primary_key: &str, object: &RemoteObject) -> StateRecord {
    StateRecord {
        primary_key: primary_key.to_owned(),
        remote_id: object.id,
        fields: object.fields.clone(),
        hash: content_hash(&object.fields),
    }
}

/// Settles the sync's unresolved intents (left by a killed run) against a fresh plan, before
/// anything is sent. A list PATCH took effect if the list's current content is what it
/// sent; a definition write took effect if the plan found the row's object in Optimizely
/// (a create is then adopted by the plan's state records instead of being sent again).
/// `current_list_content` is the list's content as the API returned it, if any.
/// Returns how many intents were settled.
pub fn settle_unresolved(
    store: &mut Store,
    spec: &SyncSpec,
    plan: &SyncPlan,
    current_list_content: Option<&str>,
) -> Result<usize> {
    let intents = store
        .unresolved_intents(&spec.name)
        .map_err(Error::state(&spec.name))?;
    // Hashed only when there is something to settle: a list of a few megabytes takes
    // milliseconds to hash, and nearly every run has nothing unresolved.
    let current_list_hash = if intents.is_empty() {
        None
    } else {
        current_list_content.map(crate::apply::list_hash)
    };
    let mut settled = 0;
    for intent in &intents {
        let outcome = settle_one(intent, plan, current_list_hash.as_deref());
        tracing::info!(sync = %spec.name, key = ?intent.primary_key, operation = intent.operation.as_str(), "settling a write of an interrupted run");
        store
            .record_outcome(intent.id, &outcome)
            .map_err(Error::state(&spec.name))?;
        settled += 1;
    }
    Ok(settled)
}

fn settle_one(intent: &IntentRecord, plan: &SyncPlan, current_list_hash: Option<&str>) -> Outcome {
    match intent.operation {
        Operation::ListPatch => {
            if current_list_hash == Some(intent.body_hash.as_str()) {
                Outcome::Acknowledged { remote_id: None }
            } else {
                Outcome::NotApplied
            }
        }
        Operation::Create | Operation::Update => {
            let Some(key) = intent.primary_key.as_deref() else {
                return Outcome::NotApplied;
            };
            let pending = plan.changes().iter().any(|c| c.primary_key() == key);
            if intent.operation != Operation::Create {
                return if pending {
                    Outcome::NotApplied
                } else {
                    Outcome::Acknowledged { remote_id: None }
                };
            }
            let matched = plan
                .record_only()
                .iter()
                .find(|r| r.primary_key == key)
                .map(|r| r.remote_id)
                .or_else(|| {
                    plan.changes().iter().find_map(|c| match c {
                        Change::Update {
                            primary_key,
                            remote_id,
                            ..
                        } if primary_key == key => Some(*remote_id),
                        _ => None,
                    })
                });
            match matched {
                Some(remote_id) => Outcome::Acknowledged {
                    remote_id: Some(remote_id),
                },
                None => Outcome::NotApplied,
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use optisync_core::{ContentHash, DefinitionPlan, Fields, PlanBody, SyncKind};
    use optisync_state::IntentId;

    use super::*;

    fn intent(operation: Operation, key: Option<&str>, body_hash: &str) -> IntentRecord {
        IntentRecord {
            id: IntentId(1),
            run_id: "r".into(),
            sync: "s".into(),
            primary_key: key.map(str::to_owned),
            operation,
            body_hash: body_hash.into(),
            created_at: chrono::Utc::now(),
            outcome: None,
            resolved_at: None,
        }
    }

    /// A fresh plan that still creates `creating`, updates object 7 for `updating`, and found
    /// object 9 already there for `found`.
    fn plan(creating: &str, updating: &str, found: &str) -> SyncPlan {
        let kind = SyncKind::parse("attribute", "upsert").unwrap_or_else(|e| panic!("{e}"));
        let mut plan = SyncPlan::new("s".into(), kind);
        plan.body = PlanBody::Definitions(DefinitionPlan {
            unchanged: 0,
            changes: vec![
                Change::Create {
                    primary_key: creating.into(),
                    fields: Fields::new(),
                    hash: ContentHash(1),
                },
                Change::Update {
                    primary_key: updating.into(),
                    remote_id: 7,
                    changed: vec![],
                    unarchive: false,
                    fields: Fields::new(),
                    hash: ContentHash(2),
                },
            ],
            skipped: vec![],
            record_only: vec![StateRecord {
                primary_key: found.into(),
                remote_id: 9,
                fields: Fields::new(),
                hash: ContentHash(3),
            }],
        });
        plan
    }

    #[test]
    fn a_killed_runs_writes_are_settled_by_what_the_fresh_plan_found() {
        let plan = plan("new", "edited", "made");
        let acknowledged = |remote_id| Outcome::Acknowledged { remote_id };
        // A create the fresh plan still wants did not happen; one whose object the plan found
        // did, and is adopted with its id; one the plan matched to an update did too.
        assert_eq!(
            settle_one(&intent(Operation::Create, Some("new"), "h"), &plan, None),
            Outcome::NotApplied
        );
        assert_eq!(
            settle_one(&intent(Operation::Create, Some("made"), "h"), &plan, None),
            acknowledged(Some(9))
        );
        assert_eq!(
            settle_one(&intent(Operation::Create, Some("edited"), "h"), &plan, None),
            acknowledged(Some(7))
        );
        // An update the plan still wants did not take; one it no longer needs did.
        assert_eq!(
            settle_one(&intent(Operation::Update, Some("edited"), "h"), &plan, None),
            Outcome::NotApplied
        );
        assert_eq!(
            settle_one(&intent(Operation::Update, Some("made"), "h"), &plan, None),
            acknowledged(None)
        );
        // A write without a key cannot be matched to a row.
        assert_eq!(
            settle_one(&intent(Operation::Create, None, "h"), &plan, None),
            Outcome::NotApplied
        );
        // A list PATCH took effect exactly when the list now holds what it sent.
        let patch = intent(Operation::ListPatch, None, "abc");
        assert_eq!(settle_one(&patch, &plan, Some("abc")), acknowledged(None));
        assert_eq!(settle_one(&patch, &plan, Some("abd")), Outcome::NotApplied);
        assert_eq!(settle_one(&patch, &plan, None), Outcome::NotApplied);
    }
}
