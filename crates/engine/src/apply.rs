//! Sending a plan through the client: one request per definition change, one whole-list
//! PATCH for a list (ADR 0004), one request per batch of ODP profiles (ADR 0018). Every write is preceded by a recorded intent and followed by
//! its outcome; state only advances for what Optimizely acknowledged. A row the API refuses
//! becomes a rejected row with the API's message and request id, and the run goes on; a
//! failure that is not about the row (auth, throttling or network after all retries) stops
//! the run, leaving the request's intent to be settled by the next run.

use optisync_core::RejectedRow;
use optisync_core::{
    Change, Field, FieldChange, FieldValue, Fields, PROFILES_PER_REQUEST, ProfilePlan,
    ProfileValue, StateRecord,
};
use optisync_optimizely::{Client, Error as ApiError, ErrorKind, ListAttribute, Phase};
use optisync_state::{IntentId, NewIntent, Operation, Outcome, Store};

use crate::destination::odp_attribute::{self, FieldType};
use crate::destination::{Definition, list_attribute};
use crate::error::{Error, Result};
use crate::plan::PreparedPlan;
use crate::progress::Progress;
use crate::reconcile::{Found, adopted_record, find_created};
use crate::record::Recorder;
use crate::spec::{SyncSpec, Target};

/// What applying a plan did.
#[derive(Debug, Clone, Default)]
pub struct Applied {
    /// Write requests sent (creates, updates, un-archives, the list PATCH).
    pub requests_sent: u64,
    /// Objects created (or adopted after an unknown outcome).
    pub creates: u64,
    /// Objects updated.
    pub updates: u64,
    /// List members added (ODP: profiles given a value).
    pub list_added: u64,
    /// List members removed (ODP: profiles whose field was cleared).
    pub list_removed: u64,
    /// Rows Optimizely refused, with its message and request id.
    pub rejected: Vec<RejectedRow>,
    /// Notes for the user (adoptions).
    pub notes: Vec<String>,
}

/// One sync's context while applying.
struct Ctx<'a> {
    client: &'a Client,
    store: &'a mut Store,
    spec: &'a SyncSpec,
    target: Target,
    run_id: &'a str,
    applied: Applied,
    recorder: Recorder,
}

/// Sends `prepared`'s plan. `list` is the list attribute read for this run (lists only);
/// `odp` the ODP client (ODP-attribute plans only).
#[allow(clippy::too_many_arguments)]
pub async fn apply(
    client: &Client,
    store: &mut Store,
    spec: &SyncSpec,
    target: Target,
    run_id: &str,
    prepared: &PreparedPlan,
    list: Option<&ListAttribute>,
    odp: Option<&Client>,
) -> Result<Applied> {
    let mut ctx = Ctx {
        client,
        store,
        spec,
        target,
        run_id,
        applied: Applied::default(),
        recorder: Recorder::new(&spec.name),
    };
    let plan = &prepared.plan;
    if let Some(change) = plan.list() {
        apply_list(&mut ctx, change, list).await?;
    }
    if let Some(body) = plan.profiles().filter(|p| !p.upserts.is_empty()) {
        let (Some(odp), Some(field_type)) = (odp, prepared.odp_field) else {
            return Err(Error::Target {
                sync: spec.name.clone(),
                message: "ODP's schema was not read before sending".to_owned(),
            });
        };
        apply_profiles(&mut ctx, odp, body, field_type).await?;
    }
    for record in plan.record_only() {
        record_state(&mut ctx, record, None)?;
    }
    let total = plan.changes().len() as u64;
    let mut progress = Progress::new(&spec.name, "sending changes", "requests");
    for (done, change) in plan.changes().iter().enumerate() {
        // A safe point: every write before this one has its outcome recorded.
        if let Some(signal) = crate::interrupt::requested() {
            ctx.recorder.flush(ctx.store)?;
            return Err(Error::Interrupted {
                sync: spec.name.clone(),
                signal,
                sent: ctx.applied.requests_sent,
                planned: total,
            });
        }
        let result = match change {
            Change::Create {
                primary_key,
                fields,
                hash,
            } => create(&mut ctx, primary_key, fields, *hash).await,
            Change::Update {
                primary_key,
                remote_id,
                changed,
                unarchive,
                fields,
                hash,
            } => {
                let record = StateRecord {
                    primary_key: primary_key.clone(),
                    remote_id: *remote_id,
                    fields: fields.clone(),
                    hash: *hash,
                };
                update(&mut ctx, &record, changed, *unarchive).await
            }
        };
        if let Err(e) = result {
            // Keep what was acknowledged before the failure.
            ctx.recorder.flush(ctx.store)?;
            return Err(e);
        }
        progress.update(done as u64 + 1, Some(total));
    }
    ctx.recorder.flush(ctx.store)?;
    Ok(ctx.applied)
}

/// Sends an ODP plan's profiles in batches of at most [`PROFILES_PER_REQUEST`], recording
/// each batch ODP accepts before the next is sent: a run stopped anywhere re-sends at most
/// the batch in flight, which sets the same values again. Profiles ODP names as invalid
/// become rejected rows and the rest of their batch is sent again without them; a refusal
/// that names none rejects its whole batch. Any other failure stops the run.
async fn apply_profiles(
    ctx: &mut Ctx<'_>,
    odp: &Client,
    body: &ProfilePlan,
    field_type: FieldType,
) -> Result<()> {
    let sync = ctx.spec.name.clone();
    let total = body.upserts.len();
    let batches = total.div_ceil(PROFILES_PER_REQUEST) as u64;
    let mut progress = Progress::new(&sync, "sending profiles", "requests");
    let mut start = 0;
    let mut done = 0u64;
    while start < total {
        // A safe point: every batch before this one is recorded.
        if let Some(signal) = crate::interrupt::requested() {
            return Err(Error::Interrupted {
                sync: sync.clone(),
                signal,
                sent: done,
                planned: batches,
            });
        }
        let end = (start + PROFILES_PER_REQUEST).min(total);
        let mut positions: Vec<usize> = (start..end).collect();
        let mut items = odp_attribute::items(body, start..end, field_type);
        loop {
            ctx.applied.requests_sent += 1;
            match odp.odp_upsert_profiles(&items).await {
                Ok(()) => {
                    record_profiles(ctx, body, &positions)?;
                    break;
                }
                Err(e) if e.kind() == ErrorKind::Rejected => {
                    let named: Vec<(usize, String)> = e
                        .invalid_items()
                        .iter()
                        .filter(|i| i.index < positions.len())
                        .map(|i| (i.index, i.reason.clone()))
                        .collect();
                    let refuse = |ctx: &mut Ctx<'_>, position: usize, reason: String| {
                        ctx.applied.rejected.push(RejectedRow {
                            primary_key: body
                                .upserts
                                .ids
                                .get(position)
                                .map(optisync_core::value::shown),
                            field: Some("user_id".to_owned()),
                            reason: format!("ODP refused this profile: {reason}"),
                            request_id: e.request_id().map(str::to_owned),
                        });
                    };
                    if named.is_empty() {
                        let reason = e.api_message().map_or_else(|| e.to_string(), str::to_owned);
                        for &position in &positions {
                            refuse(ctx, position, reason.clone());
                        }
                        break;
                    }
                    let mut keep = vec![true; positions.len()];
                    for (index, reason) in named {
                        if std::mem::replace(&mut keep[index], false) {
                            refuse(ctx, positions[index], reason);
                        }
                    }
                    let mut flags = keep.iter();
                    positions.retain(|_| flags.next().copied().unwrap_or(false));
                    let mut flags = keep.iter();
                    items.retain(|_| flags.next().copied().unwrap_or(false));
                    if positions.is_empty() {
                        break;
                    }
                    tracing::warn!(
                        sync = %sync,
                        refused = keep.iter().filter(|k| !**k).count(),
                        "ODP refused some profiles of a batch; sending the rest again"
                    );
                }
                Err(e) => {
                    return Err(Error::Api {
                        sync: sync.clone(),
                        what: format!("sending profiles to ODP (batch {} of {batches})", done + 1),
                        source: e,
                    });
                }
            }
        }
        done += 1;
        progress.update(done, Some(batches));
        start = end;
    }
    Ok(())
}

/// Records the profiles at `positions` of `body` as delivered, and counts them.
fn record_profiles(ctx: &mut Ctx<'_>, body: &ProfilePlan, positions: &[usize]) -> Result<()> {
    let sync = ctx.spec.name.as_str();
    let profiles = positions
        .iter()
        .filter_map(|&p| Some((body.upserts.ids.get(p)?, body.upserts.value_at(p))));
    ctx.store
        .record_profiles(sync, &body.identifier, &body.field, profiles)
        .map_err(Error::state(sync))?;
    for &p in positions {
        if *body.upserts.value_at(p) == ProfileValue::Cleared {
            ctx.applied.list_removed += 1;
        } else {
            ctx.applied.list_added += 1;
        }
    }
    Ok(())
}

/// A hex hash of a list's `list_content`, stored with the delivered list and as the PATCH
/// intent's body hash.
pub(crate) fn list_hash(content: &str) -> String {
    optisync_core::hash::hex(content.as_bytes())
}

async fn apply_list(
    ctx: &mut Ctx<'_>,
    change: &optisync_core::ListChange,
    list: Option<&ListAttribute>,
) -> Result<()> {
    let sync = ctx.spec.name.as_str();
    let content = change.list_content();
    let hash = list_hash(&content);
    if !change.patch {
        let stored = ctx
            .store
            .delivered_list_summary(sync)
            .map_err(Error::state(sync))?;
        let same = stored.is_some_and(|s| {
            s.content_hash == hash && s.list_attribute_id == change.list_attribute_id
        });
        if !same {
            ctx.store
                .replace_delivered_list(
                    sync,
                    change.list_attribute_id,
                    &hash,
                    change.after.iter(),
                    &[],
                )
                .map_err(Error::state(sync))?;
        }
        return Ok(());
    }
    let Some(list) = list else {
        return Err(Error::Target {
            sync: sync.to_owned(),
            message: format!(
                "list attribute {} could not be read before sending",
                change.list_attribute_id
            ),
        });
    };
    let intent = intent(ctx, None, Operation::ListPatch, hash.clone())?;
    ctx.applied.requests_sent += 1;
    tracing::info!(sync, members = change.after_count, "sending the list");
    match list_attribute::write(ctx.client, list, content).await {
        Ok(()) => {
            ctx.store
                .replace_delivered_list(
                    sync,
                    change.list_attribute_id,
                    &hash,
                    change.after.iter(),
                    &[(intent, Outcome::Acknowledged { remote_id: None })],
                )
                .map_err(Error::state(sync))?;
            ctx.applied.list_added = change.added.len() as u64;
            ctx.applied.list_removed = change.removed.len() as u64;
            Ok(())
        }
        Err(e) if e.kind() == ErrorKind::Rejected => {
            let row = rejected(None, "list_content", &e);
            ctx.store
                .record_outcome(intent, &rejected_outcome(&e))
                .map_err(Error::state(sync))?;
            ctx.applied.rejected.push(row);
            Ok(())
        }
        Err(e) => Err(stop(ctx, intent, e, "sending the list")),
    }
}

fn record_state(ctx: &mut Ctx<'_>, record: &StateRecord, intent: Option<IntentId>) -> Result<()> {
    ctx.recorder.delivered(
        ctx.store,
        &record.primary_key,
        record.remote_id,
        &record.fields,
        record.hash,
        intent,
    )
}

fn intent(
    ctx: &mut Ctx<'_>,
    primary_key: Option<&str>,
    operation: Operation,
    body_hash: String,
) -> Result<IntentId> {
    ctx.store
        .record_intent(&NewIntent {
            run_id: ctx.run_id.to_owned(),
            primary_key: primary_key.map(str::to_owned),
            operation,
            body_hash,
        })
        .map_err(Error::state(&ctx.spec.name))
}

async fn create(
    ctx: &mut Ctx<'_>,
    primary_key: &str,
    fields: &Fields,
    hash: optisync_core::ContentHash,
) -> Result<()> {
    let mut id = intent(ctx, Some(primary_key), Operation::Create, hash.to_string())?;
    // The client's attempt budget and backoff, as for any transient failure; but each new
    // attempt only after a fresh listing proved the previous one did not create the object.
    let attempts = ctx.client.config().max_attempts.max(1);
    let backoff = ctx.client.config().backoff;
    for attempt in 1..=attempts {
        ctx.applied.requests_sent += 1;
        let error = match destination(ctx.spec)?
            .create(ctx.client, ctx.target.project_id, fields)
            .await
        {
            Ok(remote_id) => {
                tracing::info!(sync = %ctx.spec.name, key = primary_key, remote_id, "created");
                let record = StateRecord {
                    primary_key: primary_key.to_owned(),
                    remote_id,
                    fields: fields.clone(),
                    hash,
                };
                ctx.applied.creates += 1;
                return record_state(ctx, &record, Some(id));
            }
            Err(e) => e,
        };
        if !(error.outcome_unknown() || error.is_duplicate()) {
            return reject_or_stop(ctx, id, primary_key, &error);
        }
        tracing::warn!(sync = %ctx.spec.name, key = primary_key, error = %error, "create outcome unknown or duplicate; re-listing");
        match find_created(ctx.client, ctx.spec, ctx.target, fields).await? {
            Found::Exists(object) => {
                let record = adopted_record(primary_key, &object);
                ctx.applied.notes.push(format!(
                    "sync {}: row {primary_key}: adopted existing {} {} after {}",
                    ctx.spec.name,
                    ctx.spec.kind.object(),
                    object.id,
                    if error.is_duplicate() {
                        "a duplicate answer"
                    } else {
                        "a create whose answer was lost"
                    }
                ));
                ctx.applied.creates += 1;
                record_state(ctx, &record, Some(id))?;
                if object.archived {
                    let unarchived = StateRecord { ..record };
                    return update(ctx, &unarchived, &[], true).await;
                }
                return Ok(());
            }
            Found::Absent if error.is_duplicate() || attempt == attempts => {
                return reject_or_stop(ctx, id, primary_key, &error);
            }
            Found::Absent => {
                ctx.recorder.outcome(ctx.store, id, Outcome::NotApplied)?;
                tokio::time::sleep(backoff.base_delay(attempt)).await;
                id = intent(ctx, Some(primary_key), Operation::Create, hash.to_string())?;
            }
        }
    }
    Ok(())
}

async fn update(
    ctx: &mut Ctx<'_>,
    record: &StateRecord,
    changed: &[FieldChange],
    unarchive: bool,
) -> Result<()> {
    let id = intent(
        ctx,
        Some(&record.primary_key),
        Operation::Update,
        record.hash.to_string(),
    )?;
    ctx.applied.requests_sent += 1;
    let (fields, archived) = update_body(changed, unarchive);
    match destination(ctx.spec)?
        .update(
            ctx.client,
            ctx.target.project_id,
            record.remote_id,
            &fields,
            archived,
        )
        .await
    {
        Ok(()) => {
            tracing::info!(sync = %ctx.spec.name, key = %record.primary_key, remote_id = record.remote_id, "updated");
            ctx.applied.updates += 1;
            record_state(ctx, record, Some(id))
        }
        Err(e) => reject_or_stop(ctx, id, &record.primary_key, &e),
    }
}

/// A refused row is rejected and the run goes on; anything else stops the run.
fn reject_or_stop(
    ctx: &mut Ctx<'_>,
    intent: IntentId,
    primary_key: &str,
    error: &ApiError,
) -> Result<()> {
    if error.kind() == ErrorKind::Rejected {
        tracing::warn!(sync = %ctx.spec.name, key = primary_key, status = ?error.status(), request_id = ?error.request_id(), "rejected by Optimizely");
        ctx.applied
            .rejected
            .push(rejected(Some(primary_key), "request", error));
        return ctx
            .recorder
            .outcome(ctx.store, intent, rejected_outcome(error));
    }
    Err(stop(ctx, intent, error.clone(), "sending a change"))
}

/// Records what is known of a failed request that stops the run and returns the error.
fn stop(ctx: &mut Ctx<'_>, intent: IntentId, error: ApiError, what: &str) -> Error {
    let outcome = if matches!(error.phase(), Phase::NotSent) {
        Outcome::NotApplied
    } else {
        Outcome::Unknown {
            reason: error.to_string(),
        }
    };
    if let Err(e) = ctx.recorder.outcome(ctx.store, intent, outcome) {
        tracing::warn!(sync = %ctx.spec.name, error = %e, "could not record an outcome");
    }
    Error::api(&ctx.spec.name, what)(error)
}

fn rejected(primary_key: Option<&str>, field: &str, error: &ApiError) -> RejectedRow {
    RejectedRow {
        primary_key: primary_key.map(str::to_owned),
        field: Some(field.to_owned()),
        reason: error
            .api_message()
            .map_or_else(|| error.to_string(), str::to_owned),
        request_id: error
            .uuid()
            .or_else(|| error.request_id())
            .map(str::to_owned),
    }
}

fn rejected_outcome(error: &ApiError) -> Outcome {
    Outcome::Rejected {
        reason: error
            .api_message()
            .map_or_else(|| error.to_string(), str::to_owned),
        request_id: error
            .uuid()
            .or_else(|| error.request_id())
            .map(str::to_owned),
    }
}

/// The sync's definition destination (a definition plan is only made for a definition sync).
fn destination(spec: &SyncSpec) -> Result<&'static dyn Definition> {
    spec.kind
        .definition()
        .map(crate::destination::definition)
        .ok_or_else(|| Error::Target {
            sync: spec.name.clone(),
            message: "a definition change in a list sync's plan".to_owned(),
        })
}

/// The fields an update sends, and `archived` when it changes (or un-archives).
fn update_body(changed: &[FieldChange], unarchive: bool) -> (Fields, Option<bool>) {
    let mut fields = Fields::new();
    for change in changed {
        fields.insert(change.field, change.after.clone());
    }
    let archived = match fields.get(Field::Archived) {
        Some(FieldValue::Bool(b)) => Some(*b),
        _ => unarchive.then_some(false),
    };
    (fields, archived)
}
