//! Planning audience, attribute and custom-event syncs: one model row is one object.
//!
//! Order of work, each step dropping the rows it rejects:
//! 1. primary keys: null/empty → rejected; a key shared by several rows → every one of those
//!    rows rejected (picking one would depend on row order, which must not matter);
//! 2. field values validated into [`Fields`] (key rules, category, archived, conditions
//!    grammar); every problem becomes its own rejected row naming the field;
//! 3. identities (key, or audience name) shared by several rows → all of them rejected;
//! 4. matching to the remote index: attributes and custom events by key; audiences by the id
//!    state recorded for the primary key, else by exact name (two or more audiences with the
//!    name → rejected as ambiguous);
//! 5. mode: insert creates what is missing and reports the rest as already existing; upsert
//!    also patches the fields that differ and un-archives archived matches.
//!
//! Null or unmapped fields never change anything remote: an update only sends fields the row
//! provides a value for, and API defaults (a custom event's name = key, category = `other`)
//! are filled in on create only, so a name set by hand is not overwritten by the key.

use std::collections::hash_map::Entry;
use std::collections::{HashMap, HashSet};

use crate::conditions::Conditions;
use crate::delivered::DeliveredDefinitions;
use crate::fields::{FieldValue, Fields, same_value};
use crate::hash::{ContentHash, content_hash};
use crate::mapping::{DesiredRow, Field};
use crate::object::{Mode, ObjectType};
use crate::plan::{Change, FieldChange, Refusal, Skip, StateRecord, SyncPlan};
use crate::remote::{RemoteIndex, RemoteObject};
use crate::validate::{EventCategory, check_key};
use crate::value::Value;

use super::{check_empty_model, reject};

/// Feature Experimentation's limit of unarchived attributes per project.
pub const FX_UNARCHIVED_ATTRIBUTE_LIMIT: u64 = 100;

/// Settings of a definition run.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct DefinitionOptions {
    /// `--allow-empty`.
    pub allow_empty: bool,
    /// Rows the last successful run read, for the empty-model guardrail.
    pub last_run_rows: Option<u64>,
    /// The audience name when `audience_name` is fixed (no placeholders): the model must
    /// then return exactly one row.
    pub fixed_audience_name: Option<String>,
    /// The most unarchived attributes the project may hold: `Some(100)` on Feature
    /// Experimentation projects ([`FX_UNARCHIVED_ATTRIBUTE_LIMIT`]), `None` on Web.
    pub unarchived_attribute_limit: Option<u64>,
}

/// Everything [`plan_definitions`] needs.
#[derive(Debug, Clone, PartialEq)]
pub struct DefinitionPlanInput {
    /// The sync's name.
    pub sync: String,
    /// `audience`, `attribute` or `custom_event`.
    pub object: ObjectType,
    /// `upsert` or `insert`.
    pub mode: Mode,
    /// The project, for messages.
    pub project_id: i64,
    /// The model's rows, mapped (see [`BoundMapping::desired_row`](crate::BoundMapping::desired_row)).
    pub rows: Vec<DesiredRow>,
    /// What this sync delivered before, by primary key.
    pub delivered: DeliveredDefinitions,
    /// The project's existing objects of this type, archived ones included.
    pub remote: Vec<RemoteObject>,
    /// Settings.
    pub options: DefinitionOptions,
}

/// A row that passed validation.
struct Candidate {
    primary_key: String,
    fields: Fields,
    hash: ContentHash,
}

impl Candidate {
    /// The text identifying the object in the project: key, or audience name.
    fn identity(&self, object: ObjectType) -> &str {
        let field = if object == ObjectType::Audience {
            Field::Name
        } else {
            Field::Key
        };
        self.fields.text(field).unwrap_or_default()
    }
}

/// Plans a definition run; see the module documentation for the rules.
pub fn plan_definitions(input: DefinitionPlanInput) -> SyncPlan {
    let DefinitionPlanInput {
        sync,
        object,
        mode,
        project_id,
        rows,
        delivered,
        remote,
        options,
    } = input;
    let mut plan = SyncPlan::new(sync, object, mode);
    plan.rows_read = rows.len() as u64;
    if !object.is_definition() || !object.allows(mode) {
        plan.refusal = Some(Refusal::ModeNotAllowed { object, mode });
        return plan;
    }
    if object == ObjectType::Audience
        && let Some(name) = &options.fixed_audience_name
        && rows.len() != 1
    {
        plan.refusal = Some(Refusal::FixedNameRows {
            name: name.clone(),
            rows: rows.len() as u64,
        });
    }
    if mode == Mode::Upsert {
        check_empty_model(&mut plan, options.last_run_rows, options.allow_empty);
    }

    let rows = unique_primary_keys(&mut plan, rows);
    let mut candidates = Vec::with_capacity(rows.len());
    for (primary_key, row) in rows {
        match desired_fields(object, row) {
            Ok(fields) => {
                let hash = content_hash(&fields);
                candidates.push(Candidate {
                    primary_key,
                    fields,
                    hash,
                });
            }
            Err(problems) => {
                for (field, reason) in problems {
                    reject(&mut plan, Some(primary_key.clone()), &field, reason);
                }
            }
        }
    }
    candidates.sort_unstable_by(|a, b| a.primary_key.cmp(&b.primary_key));
    let candidates = unique_identities(&mut plan, object, candidates);

    let index = RemoteIndex::new(&remote);
    let matches = match_remote(
        &mut plan,
        object,
        project_id,
        &candidates,
        &delivered,
        &index,
    );

    for (candidate, matched) in candidates.into_iter().zip(matches) {
        let Candidate {
            primary_key,
            fields,
            hash,
        } = candidate;
        let Some(matched) = matched else {
            continue;
        };
        let Some(i) = matched else {
            plan.changes.push(Change::Create {
                fields: with_create_defaults(object, &fields),
                primary_key,
                hash,
            });
            continue;
        };
        let existing = &index.objects[i];
        let ours = delivered.get(&primary_key);
        if mode == Mode::Insert {
            if ours.is_some_and(|d| d.remote_id == existing.id) {
                plan.unchanged += 1;
            } else {
                let identity = Candidate {
                    primary_key: String::new(),
                    fields,
                    hash,
                };
                let message = format!(
                    "{} {:?} already exists in project {project_id} (id {}); use upsert to update it",
                    object,
                    identity.identity(object),
                    existing.id
                );
                plan.skipped.push(Skip::AlreadyExists {
                    primary_key,
                    remote_id: existing.id,
                    message,
                });
            }
            continue;
        }
        let (changed, unarchive) = diff(object, &fields, existing);
        if changed.is_empty() && !unarchive {
            plan.unchanged += 1;
            let current = ours.is_some_and(|d| d.remote_id == existing.id && d.hash == hash);
            if !current {
                plan.record_only.push(StateRecord {
                    primary_key,
                    remote_id: existing.id,
                    fields,
                    hash,
                });
            }
        } else {
            plan.changes.push(Change::Update {
                primary_key,
                remote_id: existing.id,
                changed,
                unarchive,
                fields,
                hash,
            });
        }
    }

    if object == ObjectType::Attribute
        && let Some(limit) = options.unarchived_attribute_limit
    {
        check_attribute_limit(&mut plan, &remote, limit);
    }

    plan.changes
        .sort_by(|a, b| a.primary_key().cmp(b.primary_key()));
    plan.skipped
        .sort_by(|a, b| a.primary_key().cmp(b.primary_key()));
    plan.record_only
        .sort_by(|a, b| a.primary_key.cmp(&b.primary_key));
    plan.rejected.sort_unstable();
    plan
}

/// Drops rows without a primary key and every row of a primary key that occurs more than
/// once, rejecting them; returns the rest with their key.
fn unique_primary_keys(plan: &mut SyncPlan, rows: Vec<DesiredRow>) -> Vec<(String, DesiredRow)> {
    let mut counts: HashMap<String, usize> = HashMap::with_capacity(rows.len());
    for row in &rows {
        if let Some(pk) = &row.primary_key {
            *counts.entry(pk.clone()).or_default() += 1;
        }
    }
    let mut out = Vec::with_capacity(rows.len());
    for mut row in rows {
        match row.primary_key.take() {
            None => reject(plan, None, "primary_key", "primary key is null or empty"),
            Some(pk) => {
                let n = counts.get(&pk).copied().unwrap_or(1);
                if n > 1 {
                    let reason = format!(
                        "primary key {pk:?} appears in {n} rows; all of them are rejected until it is unique"
                    );
                    reject(plan, Some(pk), "primary_key", reason);
                } else {
                    out.push((pk, row));
                }
            }
        }
    }
    out
}

/// Rejects every row whose identity (key, or audience name) another row also has: they
/// would all write to the same object.
fn unique_identities(
    plan: &mut SyncPlan,
    object: ObjectType,
    candidates: Vec<Candidate>,
) -> Vec<Candidate> {
    let mut by_identity: HashMap<&str, Vec<&str>> = HashMap::new();
    for c in &candidates {
        by_identity
            .entry(c.identity(object))
            .or_default()
            .push(&c.primary_key);
    }
    let clashing: HashMap<String, String> = by_identity
        .into_iter()
        .filter(|(_, pks)| pks.len() > 1)
        .map(|(identity, pks)| (identity.to_owned(), pks.join(", ")))
        .collect();
    if clashing.is_empty() {
        return candidates;
    }
    let field = if object == ObjectType::Audience {
        Field::Name
    } else {
        Field::Key
    };
    let mut out = Vec::with_capacity(candidates.len());
    for c in candidates {
        match clashing.get(c.identity(object)) {
            Some(pks) => {
                let reason = format!(
                    "{field} {:?} is produced by several rows (primary keys {pks}); each {object} needs its own {field}",
                    c.identity(object)
                );
                reject(plan, Some(c.primary_key), field.as_str(), reason);
            }
            None => out.push(c),
        }
    }
    out
}

/// For each candidate (in order): `None` if rejected here, `Some(None)` if nothing matches,
/// `Some(Some(index))` for the matched remote object.
fn match_remote(
    plan: &mut SyncPlan,
    object: ObjectType,
    project_id: i64,
    candidates: &[Candidate],
    delivered: &DeliveredDefinitions,
    index: &RemoteIndex<'_>,
) -> Vec<Option<Option<usize>>> {
    if object != ObjectType::Audience {
        return candidates
            .iter()
            .map(|c| Some(index.by_key(c.identity(object))))
            .collect();
    }
    // Ids recorded in state win over names, so they are claimed first; candidates are
    // sorted by primary key, which keeps the outcome independent of row order.
    let mut result: Vec<Option<Option<usize>>> = vec![Some(None); candidates.len()];
    let mut claimed: HashMap<i64, &str> = HashMap::new();
    let mut by_state = HashSet::new();
    for (n, c) in candidates.iter().enumerate() {
        let Some(d) = delivered.get(&c.primary_key) else {
            continue;
        };
        if let Some(i) = index.by_id(d.remote_id)
            && let Entry::Vacant(slot) = claimed.entry(d.remote_id)
        {
            slot.insert(&c.primary_key);
            result[n] = Some(Some(i));
            by_state.insert(n);
        }
    }
    for (n, c) in candidates.iter().enumerate() {
        if by_state.contains(&n) {
            continue;
        }
        let name = c.identity(object);
        match index.by_name(name) {
            [] => {}
            [i] => {
                let id = index.objects[*i].id;
                if let Some(owner) = claimed.get(&id) {
                    let reason = format!(
                        "audience {name:?} (id {id}) is already managed by this sync for primary key {owner:?}; give this row another name"
                    );
                    reject(plan, Some(c.primary_key.clone()), "name", reason);
                    result[n] = None;
                } else {
                    claimed.insert(id, &c.primary_key);
                    result[n] = Some(Some(*i));
                }
            }
            several => {
                let ids: Vec<String> = several
                    .iter()
                    .map(|i| index.objects[*i].id.to_string())
                    .collect();
                let reason = format!(
                    "ambiguous: {} audiences in project {project_id} are named {name:?} (ids {}); rename all but one in Optimizely so the row can be matched",
                    several.len(),
                    ids.join(", ")
                );
                reject(plan, Some(c.primary_key.clone()), "name", reason);
                result[n] = None;
            }
        }
    }
    result
}

/// The fields to PATCH, and whether to un-archive. Only fields the row has a value for are
/// compared; archived is handled apart so an archived match is brought back unless the row
/// itself asks for `archived = true`.
fn diff(object: ObjectType, desired: &Fields, existing: &RemoteObject) -> (Vec<FieldChange>, bool) {
    let mut changed = Vec::new();
    for (field, value) in desired.iter() {
        let skip =
            field == Field::Archived || (field == Field::Key && object != ObjectType::Audience);
        if skip {
            continue;
        }
        let before = existing.fields.get(field);
        if !same_value(value, before) {
            changed.push(FieldChange {
                field,
                before: before.cloned(),
                after: value.clone(),
            });
        }
    }
    let wants_archived = matches!(desired.get(Field::Archived), Some(FieldValue::Bool(true)));
    let unarchive = existing.archived && !wants_archived;
    if wants_archived && !existing.archived {
        changed.push(FieldChange {
            field: Field::Archived,
            before: Some(FieldValue::Bool(false)),
            after: FieldValue::Bool(true),
        });
    }
    (changed, unarchive)
}

/// Validates a row's values into fields, or lists every problem as (field, reason).
fn desired_fields(object: ObjectType, row: DesiredRow) -> Result<Fields, Vec<(String, String)>> {
    let mut problems: Vec<(String, String)> = row
        .problems
        .into_iter()
        .map(|p| (p.field, p.reason))
        .collect();
    let mut fields = Fields::new();
    for (field, value) in &row.values {
        let field = *field;
        match field_value(field, value) {
            Ok(Some(v)) => fields.insert(field, v),
            Ok(None) => {}
            Err(reason) => problems.push((field.as_str().to_owned(), reason)),
        }
    }
    let required = if object == ObjectType::Audience {
        Field::Name
    } else {
        Field::Key
    };
    let already_reported = problems.iter().any(|(f, _)| f == required.as_str());
    if fields.get(required).is_none() && !already_reported {
        problems.push((
            required.as_str().to_owned(),
            format!("{required} is null or empty"),
        ));
    }
    if problems.is_empty() {
        Ok(fields)
    } else {
        Err(problems)
    }
}

/// One value as a destination field value: `Ok(None)` means "not given" (null), which never
/// changes anything.
fn field_value(field: Field, value: &Value) -> Result<Option<FieldValue>, String> {
    match field {
        Field::UserId => Ok(None),
        Field::Key => match value.as_id_text() {
            None => Err("key is null or empty".to_owned()),
            Some(key) => {
                check_key(&key)?;
                Ok(Some(FieldValue::Text(key.into_owned())))
            }
        },
        Field::Name => Ok(value
            .as_text()
            .map(|n| n.trim().to_owned())
            .filter(|n| !n.is_empty())
            .map(FieldValue::Text)),
        Field::Description => Ok(value.as_text().map(|d| FieldValue::Text(d.into_owned()))),
        Field::Conditions => Conditions::from_value(value)
            .map(|c| c.map(FieldValue::Conditions))
            .map_err(|e| e.to_string()),
        Field::Category => match value.as_id_text() {
            None => Ok(None),
            Some(text) => text
                .parse::<EventCategory>()
                .map(|c| Some(FieldValue::Text(c.as_str().to_owned())))
                .map_err(|e| e.to_string()),
        },
        Field::Archived => match value.as_bool() {
            Ok(b) => Ok(b.map(FieldValue::Bool)),
            Err(()) => Err(format!(
                "archived must be a boolean (true/false), got {}",
                value.as_text().unwrap_or_default()
            )),
        },
    }
}

fn with_create_defaults(object: ObjectType, fields: &Fields) -> Fields {
    let mut out = fields.clone();
    if object == ObjectType::CustomEvent {
        if out.get(Field::Name).is_none()
            && let Some(key) = out.get(Field::Key).cloned()
        {
            out.insert(Field::Name, key);
        }
        if out.get(Field::Category).is_none() {
            out.insert(
                Field::Category,
                FieldValue::Text(EventCategory::Other.as_str().to_owned()),
            );
        }
    }
    out
}

/// Refuses a plan that would take the project past the unarchived-attribute limit. A project
/// already over it is not refused for plans that do not add to it.
fn check_attribute_limit(plan: &mut SyncPlan, remote: &[RemoteObject], limit: u64) {
    let before = remote.iter().filter(|o| !o.archived).count() as u64;
    let mut after = before;
    for change in &plan.changes {
        match change {
            Change::Create { fields, .. } => {
                if !matches!(fields.get(Field::Archived), Some(FieldValue::Bool(true))) {
                    after += 1;
                }
            }
            Change::Update {
                changed, unarchive, ..
            } => {
                if *unarchive {
                    after += 1;
                }
                if changed.iter().any(|c| c.field == Field::Archived) {
                    after = after.saturating_sub(1);
                }
            }
        }
    }
    if after > limit && after > before {
        plan.refusal = Some(Refusal::AttributeLimit {
            unarchived_after: after,
            limit,
        });
    }
}
