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
use crate::kind::{DefinitionMode, SyncKind};
use crate::mapping::{DesiredRow, Field};
use crate::plan::{
    Change, DefinitionPlan, FieldChange, Guardrail, PlanBody, Refusal, Skip, StateRecord, SyncPlan,
};
use crate::remote::{RemoteIndex, RemoteObject};
use crate::rules::{DefinitionRules, Matching};
use crate::validate::{EventCategory, check_key};
use crate::value::Value;

use super::{check_empty_model, reject};

/// The default of `max_creates`: more creates than this in one run are blocked until
/// overridden (objects can be archived but never deleted, so a runaway model is costly).
pub const DEFAULT_MAX_CREATES: u64 = 1000;

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
    /// The most unarchived objects of the kind the project may hold (the kind's
    /// [`DefinitionRules::fx_unarchived_limit`] on Feature Experimentation), `None` for no
    /// limit.
    pub unarchived_limit: Option<u64>,
    /// `max_creates`: a run creating more objects is blocked ([`Guardrail::TooManyCreates`]);
    /// `None` sets no limit.
    pub max_creates: Option<u64>,
    /// `--allow-many-creates`: let a run through the creates guardrail, with a warning.
    pub allow_many_creates: bool,
}

/// Everything [`plan_definitions`] needs.
#[derive(Debug, Clone, PartialEq)]
pub struct DefinitionPlanInput {
    /// The sync's name.
    pub sync: String,
    /// What the sync writes: its destination's rules.
    pub rules: &'static DefinitionRules,
    /// `upsert` or `insert`.
    pub mode: DefinitionMode,
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
    /// The text identifying the object in the project (its rules' identity field).
    fn identity(&self, rules: &DefinitionRules) -> &str {
        self.fields.text(rules.identity).unwrap_or_default()
    }
}

/// Plans a definition run; see the module documentation for the rules.
pub fn plan_definitions(input: DefinitionPlanInput) -> SyncPlan {
    let DefinitionPlanInput {
        sync,
        rules,
        mode,
        project_id,
        rows,
        delivered,
        remote,
        options,
    } = input;
    let object = rules.object.object;
    let kind = SyncKind::Definition {
        kind: rules.kind,
        mode,
    };
    let mut plan = SyncPlan::new(sync, kind);
    let mut body = DefinitionPlan::default();
    plan.rows_read = rows.len() as u64;
    if let Some(name) = &options.fixed_audience_name
        && rows.len() != 1
    {
        plan.refusal = Some(Refusal::FixedNameRows {
            name: name.clone(),
            rows: rows.len() as u64,
        });
    }
    if mode == DefinitionMode::Upsert {
        check_empty_model(&mut plan, options.last_run_rows, options.allow_empty);
    }

    let rows = unique_primary_keys(&mut plan, rows);
    let mut candidates = Vec::with_capacity(rows.len());
    for (primary_key, row) in rows {
        match desired_fields(rules, row) {
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
    let candidates = unique_identities(&mut plan, rules, candidates);

    let index = RemoteIndex::new(&remote, rules.identity);
    let matches = match_remote(
        &mut plan,
        rules,
        project_id,
        &candidates,
        &delivered,
        &index,
    );

    for (candidate, matched) in candidates.into_iter().zip(matches) {
        let Some(matched) = matched else {
            continue;
        };
        let Some(i) = matched else {
            let mut fields = candidate.fields.clone();
            (rules.create_defaults)(&mut fields);
            body.changes.push(Change::Create {
                fields,
                primary_key: candidate.primary_key,
                hash: candidate.hash,
            });
            continue;
        };
        let existing = &index.objects[i];
        let ours = delivered.get(&candidate.primary_key);
        if mode == DefinitionMode::Insert {
            if ours.is_some_and(|d| d.remote_id == existing.id) {
                body.unchanged += 1;
            } else {
                let message = format!(
                    "{object} {:?} already exists in project {project_id} (id {}); use upsert to update it",
                    candidate.identity(rules),
                    existing.id
                );
                body.skipped.push(Skip::AlreadyExists {
                    primary_key: candidate.primary_key,
                    remote_id: existing.id,
                    message,
                });
            }
            continue;
        }
        let Candidate {
            primary_key,
            fields,
            hash,
        } = candidate;
        let (changed, unarchive) = diff(rules, &fields, existing);
        if changed.is_empty() && !unarchive {
            body.unchanged += 1;
            let current = ours.is_some_and(|d| d.remote_id == existing.id && d.hash == hash);
            if !current {
                body.record_only.push(StateRecord {
                    primary_key,
                    remote_id: existing.id,
                    fields,
                    hash,
                });
            }
        } else {
            body.changes.push(Change::Update {
                primary_key,
                remote_id: existing.id,
                changed,
                unarchive,
                fields,
                hash,
            });
        }
    }

    if let Some(limit) = options.unarchived_limit {
        check_unarchived_limit(&mut plan, object, &body, &remote, limit);
    }

    if let Some(max_creates) = options.max_creates {
        check_creates(
            &mut plan,
            &body,
            object,
            max_creates,
            options.allow_many_creates,
        );
    }

    if let Some(note) = rules.create_note
        && body
            .changes
            .iter()
            .any(|c| matches!(c, Change::Create { .. }))
    {
        plan.warnings.push(note.to_owned());
    }

    body.changes
        .sort_by(|a, b| a.primary_key().cmp(b.primary_key()));
    body.skipped
        .sort_by(|a, b| a.primary_key().cmp(b.primary_key()));
    body.record_only
        .sort_by(|a, b| a.primary_key.cmp(&b.primary_key));
    plan.body = PlanBody::Definitions(body);
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
            // A key column the source could not read says so (mapping.rs); else null or empty.
            None if row.problems.iter().any(|p| p.field == "primary_key") => {
                for p in row
                    .problems
                    .into_iter()
                    .filter(|p| p.field == "primary_key")
                {
                    reject(plan, None, "primary_key", p.reason);
                }
            }
            None => reject(plan, None, "primary_key", "primary key is null or empty"),
            Some(pk) => {
                let n = counts.get(&pk).copied().unwrap_or(1);
                if n > 1 {
                    let reason = format!(
                        "primary key {} appears in {n} rows; all of them are rejected until it is unique",
                        crate::value::quoted(&pk)
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
    rules: &DefinitionRules,
    candidates: Vec<Candidate>,
) -> Vec<Candidate> {
    let object = rules.object.object;
    let mut by_identity: HashMap<&str, Vec<&str>> = HashMap::new();
    for c in &candidates {
        by_identity
            .entry(c.identity(rules))
            .or_default()
            .push(&c.primary_key);
    }
    let clashing: HashMap<String, String> = by_identity
        .into_iter()
        .filter(|(_, pks)| pks.len() > 1)
        .map(|(identity, pks)| {
            let pks: Vec<String> = pks.iter().map(|pk| crate::value::shown(pk)).collect();
            (identity.to_owned(), pks.join(", "))
        })
        .collect();
    if clashing.is_empty() {
        return candidates;
    }
    let field = rules.identity;
    let mut out = Vec::with_capacity(candidates.len());
    for c in candidates {
        match clashing.get(c.identity(rules)) {
            Some(pks) => {
                let reason = format!(
                    "{field} {} is produced by several rows (primary keys {pks}); each {object} needs its own {field}",
                    crate::value::quoted(c.identity(rules))
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
    rules: &DefinitionRules,
    project_id: i64,
    candidates: &[Candidate],
    delivered: &DeliveredDefinitions,
    index: &RemoteIndex<'_>,
) -> Vec<Option<Option<usize>>> {
    let object = rules.object.object;
    let field = rules.identity;
    if rules.matching == Matching::ByIdentity {
        return candidates
            .iter()
            .map(|c| Some(index.find(c.identity(rules))))
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
        let name = c.identity(rules);
        match index.all(name) {
            [] => {}
            [i] => {
                let id = index.objects[*i].id;
                if let Some(owner) = claimed.get(&id) {
                    let reason = format!(
                        "{object} {name:?} (id {id}) is already managed by this sync for primary key {owner:?}; give this row another {field}"
                    );
                    reject(plan, Some(c.primary_key.clone()), field.as_str(), reason);
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
                    "ambiguous: {} {object}s in project {project_id} have the {field} {name:?} (ids {}); rename all but one in Optimizely so the row can be matched",
                    several.len(),
                    ids.join(", ")
                );
                reject(plan, Some(c.primary_key.clone()), field.as_str(), reason);
                result[n] = None;
            }
        }
    }
    result
}

/// The fields to PATCH, and whether to un-archive. Only fields the row has a value for are
/// compared; archived is handled apart so an archived match is brought back unless the row
/// itself asks for `archived = true`.
fn diff(
    rules: &DefinitionRules,
    desired: &Fields,
    existing: &RemoteObject,
) -> (Vec<FieldChange>, bool) {
    let mut changed = Vec::new();
    for (field, value) in desired.iter() {
        let skip =
            field == Field::Archived || (field == rules.identity && !rules.identity_is_updatable());
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
fn desired_fields(
    rules: &DefinitionRules,
    row: DesiredRow,
) -> Result<Fields, Vec<(String, String)>> {
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
    let required = rules.identity;
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
        // Fields of list and ODP attributes, which no definition takes.
        Field::UserId | Field::Value => Ok(None),
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
                crate::value::quoted(&value.as_text().unwrap_or_default())
            )),
        },
    }
}

/// The creates guardrail: blocks a run creating more than `max_creates` objects unless
/// `--allow-many-creates` was given (then it only warns).
fn check_creates(
    plan: &mut SyncPlan,
    body: &DefinitionPlan,
    object: &str,
    max_creates: u64,
    allow: bool,
) {
    let creates = body
        .changes
        .iter()
        .filter(|c| matches!(c, Change::Create { .. }))
        .count() as u64;
    if creates <= max_creates {
        return;
    }
    let guardrail = Guardrail::TooManyCreates {
        object: object.to_owned(),
        creates,
        max_creates,
    };
    if allow {
        plan.warnings
            .push(format!("--allow-many-creates given: {guardrail}"));
    } else {
        plan.guardrails.push(guardrail);
    }
}

/// Refuses a plan that would take the project past its limit of unarchived objects of the
/// kind. A project already over it is not refused for plans that do not add to it.
fn check_unarchived_limit(
    plan: &mut SyncPlan,
    object: &str,
    body: &DefinitionPlan,
    remote: &[RemoteObject],
    limit: u64,
) {
    let before = remote.iter().filter(|o| !o.archived).count() as u64;
    let mut after = before;
    for change in &body.changes {
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
        plan.refusal = Some(Refusal::UnarchivedLimit {
            object: object.to_owned(),
            unarchived_after: after,
            limit,
        });
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::delivered::DeliveredObject;
    use crate::plan::Guardrail;
    use crate::rules::samples;
    use serde_json::json;

    const PROJECT: i64 = 12345;

    fn row(pk: &str, values: &[(Field, Value)]) -> DesiredRow {
        DesiredRow {
            primary_key: Some(pk.to_owned()),
            values: values.iter().cloned().collect(),
            problems: Vec::new(),
        }
    }

    fn text(s: &str) -> FieldValue {
        FieldValue::Text(s.to_owned())
    }

    fn remote(id: i64, archived: bool, fields: &[(Field, FieldValue)]) -> RemoteObject {
        RemoteObject {
            id,
            archived,
            fields: Fields(fields.iter().cloned().collect()),
        }
    }

    fn input(
        rules: &'static DefinitionRules,
        mode: DefinitionMode,
        rows: Vec<DesiredRow>,
    ) -> DefinitionPlanInput {
        DefinitionPlanInput {
            sync: "s".into(),
            rules,
            mode,
            project_id: PROJECT,
            rows,
            delivered: DeliveredDefinitions::new(),
            remote: Vec::new(),
            options: DefinitionOptions::default(),
        }
    }

    fn conditions(json: serde_json::Value) -> Value {
        Value::Json(json)
    }

    #[test]
    fn upsert_creates_missing_events_with_api_defaults() {
        let plan = plan_definitions(input(
            &samples::CUSTOM_EVENT,
            DefinitionMode::Upsert,
            vec![row("add_to_cart", &[(Field::Key, "add_to_cart".into())])],
        ));
        match plan.changes() {
            [Change::Create { fields, hash, .. }] => {
                assert_eq!(fields.get(Field::Name), Some(&text("add_to_cart")));
                assert_eq!(fields.get(Field::Category), Some(&text("other")));
                // The hash covers the row's own fields, not the defaults.
                let own = Fields::new().with(Field::Key, text("add_to_cart"));
                assert_eq!(*hash, content_hash(&own));
            }
            other => panic!("{other:?}"),
        }
        assert_eq!(plan.request_count(), 1);
        assert!(plan.warnings.iter().any(|w| w.contains("a few minutes")));
    }

    #[test]
    fn upsert_patches_only_differing_fields() {
        let mut i = input(
            &samples::CUSTOM_EVENT,
            DefinitionMode::Upsert,
            vec![row(
                "e",
                &[
                    (Field::Key, "e".into()),
                    (Field::Name, "New name".into()),
                    (Field::Description, "same".into()),
                    (Field::Category, "Purchase".into()),
                ],
            )],
        );
        i.remote = vec![remote(
            9,
            false,
            &[
                (Field::Key, text("e")),
                (Field::Name, text("Old name")),
                (Field::Description, text("same")),
                (Field::Category, text("other")),
            ],
        )];
        let plan = plan_definitions(i);
        let [
            Change::Update {
                remote_id,
                changed,
                unarchive,
                ..
            },
        ] = plan.changes()
        else {
            panic!("{:?}", plan.changes());
        };
        assert_eq!(*remote_id, 9);
        assert!(!unarchive);
        let fields: Vec<Field> = changed.iter().map(|c| c.field).collect();
        assert_eq!(fields, vec![Field::Name, Field::Category]);
        assert_eq!(changed[0].before, Some(text("Old name")));
        assert_eq!(changed[1].after, text("purchase"));
    }

    #[test]
    fn unchanged_rows_send_nothing_and_record_state_only_when_needed() {
        let fields = Fields::new()
            .with(Field::Key, text("plan_tier"))
            .with(Field::Name, text("Plan tier"));
        let r = row(
            "plan_tier",
            &[
                (Field::Key, "plan_tier".into()),
                (Field::Name, "Plan tier".into()),
            ],
        );
        let mut i = input(&samples::ATTRIBUTE, DefinitionMode::Upsert, vec![r]);
        i.remote = vec![remote(
            1,
            false,
            &[
                (Field::Key, text("plan_tier")),
                (Field::Name, text("Plan tier")),
                (Field::Description, text("")),
            ],
        )];
        let plan = plan_definitions(i.clone());
        assert_eq!(plan.request_count(), 0);
        assert_eq!(plan.unchanged(), 1);
        assert_eq!(
            plan.record_only().len(),
            1,
            "adopted: state must learn the id"
        );

        i.delivered.insert(
            "plan_tier".into(),
            DeliveredObject {
                remote_id: 1,
                hash: content_hash(&fields),
                fields,
            },
        );
        let plan = plan_definitions(i);
        assert!(plan.is_noop(), "{plan:?}");
    }

    #[test]
    fn archived_matches_are_unarchived() {
        let mut i = input(
            &samples::ATTRIBUTE,
            DefinitionMode::Upsert,
            vec![row("k", &[(Field::Key, "k".into())])],
        );
        i.remote = vec![remote(3, true, &[(Field::Key, text("k"))])];
        let plan = plan_definitions(i.clone());
        assert!(matches!(
            plan.changes(),
            [Change::Update { unarchive: true, changed, .. }] if changed.is_empty()
        ));
        // A row that asks to stay archived is left archived.
        i.rows = vec![row(
            "k",
            &[
                (Field::Key, "k".into()),
                (Field::Archived, Value::Bool(true)),
            ],
        )];
        assert_eq!(plan_definitions(i).request_count(), 0);
    }

    #[test]
    fn conditions_compare_as_json_and_null_never_clears_them() {
        let existing = Conditions::from_api_string(
            r#"["and", {"match_type": "exact", "name": "tier", "type": "custom_attribute", "value": "gold"}]"#,
        );
        let remote_audience = remote(
            7,
            false,
            &[
                (Field::Name, text("Gold")),
                (Field::Conditions, FieldValue::Conditions(existing)),
            ],
        );
        let same = json!(["and", {"type": "custom_attribute", "name": "tier", "value": "gold", "match_type": "exact"}]);
        for value in [conditions(same), Value::Null, Value::from("")] {
            let mut i = input(
                &samples::AUDIENCE,
                DefinitionMode::Upsert,
                vec![row(
                    "gold",
                    &[(Field::Name, "Gold".into()), (Field::Conditions, value)],
                )],
            );
            i.remote = vec![remote_audience.clone()];
            assert_eq!(plan_definitions(i).request_count(), 0);
        }
        let mut i = input(
            &samples::AUDIENCE,
            DefinitionMode::Upsert,
            vec![row(
                "gold",
                &[
                    (Field::Name, "Gold".into()),
                    (
                        Field::Conditions,
                        Value::from(
                            "[\"or\", {\"type\": \"custom_attribute\", \"name\": \"tier\", \"value\": \"gold\"}]",
                        ),
                    ),
                ],
            )],
        );
        i.remote = vec![remote_audience];
        let plan = plan_definitions(i);
        assert!(
            matches!(plan.changes(), [Change::Update { changed, .. }] if changed[0].field == Field::Conditions)
        );
    }

    #[test]
    fn audiences_without_conditions_are_created_without_the_field() {
        for value in [
            Value::Null,
            Value::from("everyone"),
            conditions(json!(["everyone"])),
        ] {
            let plan = plan_definitions(input(
                &samples::AUDIENCE,
                DefinitionMode::Upsert,
                vec![row(
                    "a",
                    &[(Field::Name, "All".into()), (Field::Conditions, value)],
                )],
            ));
            let [Change::Create { fields, .. }] = plan.changes() else {
                panic!("{plan:?}");
            };
            assert_eq!(fields.get(Field::Conditions), None);
        }
    }

    #[test]
    fn insert_reports_existing_objects_and_leaves_them_alone() {
        let mut i = input(
            &samples::CUSTOM_EVENT,
            DefinitionMode::Insert,
            vec![
                row("new", &[(Field::Key, "new".into())]),
                row(
                    "old",
                    &[(Field::Key, "old".into()), (Field::Name, "changed".into())],
                ),
            ],
        );
        i.remote = vec![remote(
            42,
            false,
            &[(Field::Key, text("old")), (Field::Name, text("Old"))],
        )];
        let plan = plan_definitions(i.clone());
        assert_eq!(plan.request_count(), 1);
        assert!(
            matches!(&plan.changes()[0], Change::Create { primary_key, .. } if primary_key == "new")
        );
        let [
            Skip::AlreadyExists {
                remote_id: 42,
                message,
                ..
            },
        ] = plan.skipped()
        else {
            panic!("{plan:?}");
        };
        assert_eq!(
            message,
            "custom_event \"old\" already exists in project 12345 (id 42); use upsert to update it"
        );
        // Once the object is ours, insert just counts it as unchanged.
        i.delivered.insert(
            "old".into(),
            DeliveredObject {
                remote_id: 42,
                hash: ContentHash(0),
                fields: Fields::new(),
            },
        );
        let plan = plan_definitions(i);
        assert!(plan.skipped().is_empty());
        assert_eq!(plan.unchanged(), 1);
    }

    #[test]
    fn null_and_duplicate_primary_keys_are_rejected() {
        let mut no_key = row("x", &[(Field::Key, "x".into())]);
        no_key.primary_key = None;
        let plan = plan_definitions(input(
            &samples::ATTRIBUTE,
            DefinitionMode::Upsert,
            vec![
                no_key,
                row("d", &[(Field::Key, "d1".into())]),
                row("d", &[(Field::Key, "d2".into())]),
                row("ok", &[(Field::Key, "ok".into())]),
            ],
        ));
        assert_eq!(plan.changes().len(), 1);
        assert_eq!(plan.rejected.len(), 3);
        assert!(plan.rejected[0].reason.contains("null or empty"));
        assert!(plan.rejected[1].reason.contains("appears in 2 rows"));
        assert!(plan.rejected[2].reason.contains("appears in 2 rows"));
        assert!(
            plan.rejected
                .iter()
                .all(|r| r.field.as_deref() == Some("primary_key"))
        );
    }

    #[test]
    fn bad_values_are_rejected_naming_the_field() {
        let plan = plan_definitions(input(
            &samples::CUSTOM_EVENT,
            DefinitionMode::Upsert,
            vec![
                row("a", &[(Field::Key, "a/b".into())]),
                row(
                    "b",
                    &[
                        (Field::Key, "b".into()),
                        (Field::Category, "checkout".into()),
                    ],
                ),
                row(
                    "c",
                    &[(Field::Key, "c".into()), (Field::Archived, "maybe".into())],
                ),
                row("d", &[(Field::Key, Value::Null)]),
            ],
        ));
        assert!(plan.changes().is_empty());
        let fields: Vec<_> = plan
            .rejected
            .iter()
            .map(|r| r.field.as_deref().unwrap_or(""))
            .collect();
        assert_eq!(fields, vec!["key", "category", "archived", "key"]);
        assert!(
            plan.rejected[1]
                .reason
                .contains("unknown category `checkout`")
        );

        let plan = plan_definitions(input(
            &samples::AUDIENCE,
            DefinitionMode::Upsert,
            vec![row(
                "a",
                &[
                    (Field::Name, "A".into()),
                    (
                        Field::Conditions,
                        conditions(json!(["and", {"type": "t", "match_type": "near"}])),
                    ),
                ],
            )],
        ));
        assert_eq!(plan.rejected.len(), 1);
        assert_eq!(plan.rejected[0].field.as_deref(), Some("conditions"));
        assert!(
            plan.rejected[0].reason.contains("$[1].match_type"),
            "{:?}",
            plan.rejected
        );
    }

    #[test]
    fn audiences_match_by_recorded_id_then_by_exact_name() {
        let mut i = input(
            &samples::AUDIENCE,
            DefinitionMode::Upsert,
            vec![
                row("1", &[(Field::Name, "Renamed".into())]),
                row("2", &[(Field::Name, "By name".into())]),
                row("3", &[(Field::Name, "Twice".into())]),
            ],
        );
        i.remote = vec![
            remote(100, false, &[(Field::Name, text("Original"))]),
            remote(200, false, &[(Field::Name, text("By name"))]),
            remote(300, false, &[(Field::Name, text("Twice"))]),
            remote(301, true, &[(Field::Name, text("Twice"))]),
        ];
        i.delivered.insert(
            "1".into(),
            DeliveredObject {
                remote_id: 100,
                hash: ContentHash(0),
                fields: Fields::new(),
            },
        );
        let plan = plan_definitions(i);
        let [
            Change::Update {
                remote_id: 100,
                changed,
                ..
            },
        ] = plan.changes()
        else {
            panic!("{plan:?}");
        };
        assert_eq!(changed[0].after, text("Renamed"));
        assert_eq!(plan.record_only().len(), 1);
        assert_eq!(plan.record_only()[0].remote_id, 200);
        let [rejected] = &plan.rejected[..] else {
            panic!("{plan:?}");
        };
        assert!(
            rejected.reason.starts_with("ambiguous: 2 audiences"),
            "{rejected:?}"
        );
        assert!(rejected.reason.contains("300, 301"));
    }

    #[test]
    fn a_name_owned_by_another_primary_key_is_not_taken_over() {
        let mut i = input(
            &samples::AUDIENCE,
            DefinitionMode::Upsert,
            vec![
                row("a", &[(Field::Name, "X".into())]),
                row("b", &[(Field::Name, "Y".into())]),
            ],
        );
        i.remote = vec![remote(5, false, &[(Field::Name, text("Y"))])];
        i.delivered.insert(
            "a".into(),
            DeliveredObject {
                remote_id: 5,
                hash: ContentHash(0),
                fields: Fields::new(),
            },
        );
        let plan = plan_definitions(i);
        assert_eq!(plan.changes().len(), 1, "a renames audience 5 to X");
        assert_eq!(plan.rejected.len(), 1);
        assert!(
            plan.rejected[0]
                .reason
                .contains("already managed by this sync for primary key \"a\"")
        );
    }

    #[test]
    fn rows_sharing_a_key_or_name_are_rejected() {
        let plan = plan_definitions(input(
            &samples::ATTRIBUTE,
            DefinitionMode::Upsert,
            vec![
                row("1", &[(Field::Key, "k".into())]),
                row("2", &[(Field::Key, "k".into())]),
                row("3", &[(Field::Key, "other".into())]),
            ],
        ));
        assert_eq!(plan.changes().len(), 1);
        assert_eq!(plan.rejected.len(), 2);
        assert!(
            plan.rejected[0].reason.contains("primary keys 1, 2"),
            "{:?}",
            plan.rejected
        );
    }

    #[test]
    fn rows_leaving_the_model_change_nothing() {
        let mut i = input(&samples::ATTRIBUTE, DefinitionMode::Upsert, vec![]);
        i.delivered.insert(
            "gone".into(),
            DeliveredObject {
                remote_id: 1,
                hash: ContentHash(0),
                fields: Fields::new(),
            },
        );
        i.remote = vec![remote(1, false, &[(Field::Key, text("gone"))])];
        assert!(plan_definitions(i).is_noop());
    }

    #[test]
    fn fx_attribute_limit_is_refused_before_sending() {
        let existing: Vec<RemoteObject> = (0..99)
            .map(|n| remote(n, false, &[(Field::Key, text(&format!("a{n}")))]))
            .collect();
        let mut i = input(
            &samples::ATTRIBUTE,
            DefinitionMode::Upsert,
            vec![row("x", &[(Field::Key, "x".into())])],
        );
        i.remote = existing;
        i.options.unarchived_limit = samples::ATTRIBUTE.fx_unarchived_limit;
        assert!(
            plan_definitions(i.clone()).refusal.is_none(),
            "100 is allowed"
        );
        i.rows.push(row("y", &[(Field::Key, "y".into())]));
        let plan = plan_definitions(i);
        let refusal = plan.refusal.unwrap();
        assert!(matches!(
            refusal,
            Refusal::UnarchivedLimit {
                unarchived_after: 101,
                limit: 100,
                ..
            }
        ));
    }

    #[test]
    fn fixed_audience_names_need_exactly_one_row() {
        let mut i = input(&samples::AUDIENCE, DefinitionMode::Upsert, vec![]);
        i.options.fixed_audience_name = Some("VIP".into());
        i.rows = vec![row("VIP", &[(Field::Name, "VIP".into())]); 2];
        let plan = plan_definitions(i.clone());
        assert!(plan.refusal.unwrap().to_string().contains("returned 2"));
        i.rows.truncate(1);
        assert!(plan_definitions(i).refusal.is_none());
    }

    #[test]
    fn empty_model_guardrail_applies_to_upsert_only() {
        let mut i = input(&samples::ATTRIBUTE, DefinitionMode::Upsert, vec![]);
        i.options.last_run_rows = Some(3);
        assert!(matches!(
            plan_definitions(i.clone()).guardrails[..],
            [Guardrail::EmptyModel { last_run_rows: 3 }]
        ));
        i.mode = DefinitionMode::Insert;
        assert!(plan_definitions(i.clone()).guardrails.is_empty());
        i.mode = DefinitionMode::Upsert;
        i.options.allow_empty = true;
        assert!(plan_definitions(i).guardrails.is_empty());
    }

    #[test]
    fn creates_over_max_creates_are_blocked_until_allowed() {
        let rows: Vec<DesiredRow> = (0..5)
            .map(|n| {
                row(
                    &format!("k{n}"),
                    &[(Field::Key, Value::Text(format!("k{n}")))],
                )
            })
            .collect();
        let mut i = input(&samples::ATTRIBUTE, DefinitionMode::Upsert, rows);
        // Updates do not count: k0 exists with another description.
        i.remote = vec![remote(1, false, &[(Field::Key, text("k0"))])];
        i.options.max_creates = Some(4);
        assert!(
            plan_definitions(i.clone()).guardrails.is_empty(),
            "4 creates"
        );
        i.options.max_creates = Some(3);
        let plan = plan_definitions(i.clone());
        assert_eq!(
            plan.guardrails,
            vec![Guardrail::TooManyCreates {
                object: "attribute".into(),
                creates: 4,
                max_creates: 3
            }]
        );
        i.options.allow_many_creates = true;
        let plan = plan_definitions(i.clone());
        assert!(plan.guardrails.is_empty());
        assert!(
            plan.warnings
                .iter()
                .any(|w| w.starts_with("--allow-many-creates given")),
            "{:?}",
            plan.warnings
        );
        i.options.max_creates = None;
        i.options.allow_many_creates = false;
        assert!(plan_definitions(i).guardrails.is_empty(), "no limit");
    }

    #[test]
    fn mapping_problems_become_rejected_rows() {
        let mut r = row("a", &[]);
        r.problems.push(crate::mapping::RowProblem {
            field: "name".into(),
            reason: "audience_name uses column `n`, which is null in this row".into(),
        });
        let plan = plan_definitions(input(&samples::AUDIENCE, DefinitionMode::Upsert, vec![r]));
        assert_eq!(plan.rejected.len(), 1, "{:?}", plan.rejected);
        assert!(plan.rejected[0].reason.contains("column `n`"));
    }
}
