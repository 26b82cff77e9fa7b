//! Planning an ODP-attribute sync (docs/PRODUCT-RULES.md#odp-attributes). ODP cannot list
//! who holds a field, so the plan compares the model with what this sync delivered (one
//! value per user, kept in state) and sends only profiles whose value changes:
//!
//! - **add**: each model user gets its value (`true` when no value column is mapped); users
//!   who left the model keep theirs.
//! - **remove**: each model user's field is cleared; nobody is given a value.
//! - **mirror**: add, and users this sync set before who left the model are cleared.
//!
//! A cleared field is `false` for a boolean field and `null` otherwise: the destination
//! knows the field's type, the plan says "cleared". Everything is sorted by id, so the same
//! inputs give the same plan in any row order.

use crate::kind::{ListMode, SyncKind};
use crate::plan::{Guardrail, PlanBody, ProfilePlan, ProfileSample, RejectedRow, SyncPlan};
use crate::profiles::{ProfileRows, ProfileState, ProfileValue};
use crate::validate::{looks_like_pii, mask_pii};

use super::list::DEFAULT_MAX_REMOVAL_PERCENT;
use super::{check_empty_model, check_pii};

/// How many profiles a plan's sample shows.
const SAMPLE: usize = 10;

/// User switches for an ODP-attribute run.
#[derive(Debug, Clone, PartialEq)]
pub struct ProfileOptions {
    /// `allow_pii = true` on the sync.
    pub allow_pii: bool,
    /// `--allow-empty`.
    pub allow_empty: bool,
    /// `--allow-large-removal`.
    pub allow_large_removal: bool,
    /// `max_removal_percent` (default 20).
    pub max_removal_percent: f64,
    /// Rows the last successful run read, for the empty-model guardrail.
    pub last_run_rows: Option<u64>,
}

impl Default for ProfileOptions {
    fn default() -> Self {
        Self {
            allow_pii: false,
            allow_empty: false,
            allow_large_removal: false,
            max_removal_percent: DEFAULT_MAX_REMOVAL_PERCENT,
            last_run_rows: None,
        }
    }
}

/// Everything [`plan_profiles`] needs.
#[derive(Debug, Clone, PartialEq)]
pub struct ProfilePlanInput {
    /// The sync's name.
    pub sync: String,
    /// `add`, `remove` or `mirror`.
    pub mode: ListMode,
    /// The ODP identifier the ids are sent as.
    pub identifier: String,
    /// The customer field written.
    pub field: String,
    /// The model's rows, checked as they were read, any order.
    pub rows: ProfileRows,
    /// What this sync delivered, sorted by id (`None`: never, or `--full-resync`).
    pub delivered: Option<ProfileState>,
    /// User switches.
    pub options: ProfileOptions,
}

/// Plans an ODP-attribute run.
///
/// - Ids and values are validated as they are read (rejected rows); an id the model returns
///   twice with the same value counts once, with different values it is rejected.
/// - Only profiles whose value differs from what this sync delivered are sent; with nothing
///   delivered, every model user is.
/// - Guardrails: empty model; large removal (mirror and remove: more of the users this sync
///   set would be cleared than `max_removal_percent` allows); ids that look like personal
///   data, unless the identifier is `email`.
pub fn plan_profiles(input: ProfilePlanInput) -> SyncPlan {
    let ProfilePlanInput {
        sync,
        mode,
        identifier,
        field,
        rows,
        delivered,
        options,
    } = input;
    let mut plan = SyncPlan::new(sync, SyncKind::OdpAttribute { mode });
    plan.rows_read = rows.read;
    let ProfileRows {
        rows: model,
        mut rejected,
        looking_like_pii,
        ..
    } = rows;
    let (model, duplicates) = sorted_model(model, &mut rejected);
    plan.rejected = rejected;
    plan.rejected.sort_unstable();
    check_empty_model(&mut plan, options.last_run_rows, options.allow_empty);
    if identifier != "email" && looking_like_pii > 0 {
        check_pii(
            &mut plan,
            &model.ids,
            options.allow_pii,
            &format!(" as {identifier}"),
        );
    }

    let empty = ProfileState::new();
    let delivered_state = delivered.as_ref().unwrap_or(&empty);
    let set_before = delivered.as_ref().map(|d| {
        d.values
            .iter()
            .filter(|v| *d.table.get(**v) != ProfileValue::Cleared)
            .count() as u64
    });

    let mut body = ProfilePlan {
        identifier,
        field,
        duplicates,
        set_before,
        ..ProfilePlan::default()
    };
    let mut leaver_samples = Vec::new();
    let mut send = |id: &str, before: Option<&ProfileValue>, after: ProfileValue| {
        let body = &mut body;
        let sample = ProfileSample {
            id: shown_id(id),
            before: before.cloned(),
            after: after.clone(),
        };
        let was_set = before.is_some_and(|b| *b != ProfileValue::Cleared);
        if after == ProfileValue::Cleared {
            body.leavers += 1;
            if leaver_samples.len() < SAMPLE {
                leaver_samples.push(sample);
            }
        } else {
            if was_set {
                body.changed += 1;
            } else {
                body.joiners += 1;
            }
            if body.samples.len() < SAMPLE {
                body.samples.push(sample);
            }
        }
        body.upserts.push(id, after);
    };
    let mut unchanged = 0u64;
    let mut cleared_of_set = 0u64;
    merge(&model, delivered_state, |id, wanted, before| {
        let after = match (mode, wanted) {
            (_, None) if mode != ListMode::Mirror => return,
            // Mirror: a user this sync set who left the model.
            (_, None) => ProfileValue::Cleared,
            (ListMode::Remove, Some(_)) => ProfileValue::Cleared,
            (_, Some(value)) => value.clone(),
        };
        if before == Some(&after) {
            if wanted.is_some() {
                unchanged += 1;
            }
            return;
        }
        if after == ProfileValue::Cleared && before.is_some_and(|b| *b != ProfileValue::Cleared) {
            cleared_of_set += 1;
        }
        send(id, before, after);
    });
    body.unchanged = unchanged;
    body.upserts.ids = std::mem::take(&mut body.upserts.ids).into_sorted_set();
    let room = SAMPLE.saturating_sub(body.samples.len());
    body.samples.extend(leaver_samples.into_iter().take(room));

    if matches!(mode, ListMode::Mirror | ListMode::Remove)
        && let Some(before) = set_before.filter(|n| *n > 0)
        && cleared_of_set as f64 * 100.0 > options.max_removal_percent * before as f64
    {
        let guardrail = Guardrail::LargeRemoval {
            removed: cleared_of_set,
            before,
            max_percent: options.max_removal_percent,
        };
        if options.allow_large_removal {
            plan.warnings
                .push(format!("--allow-large-removal given: {guardrail}"));
        } else {
            plan.guardrails.push(guardrail);
        }
    }
    if duplicates > 0 {
        plan.warnings.push(format!(
            "{duplicates} user ids appear more than once in the model with the same value; each is sent once"
        ));
    }
    plan.body = PlanBody::Profiles(body);
    plan
}

/// The model's users sorted by id, each once, and how many duplicates (same id, same value)
/// were dropped. An id with different values is rejected: which one is meant is not known.
fn sorted_model(model: ProfileState, rejected: &mut Vec<RejectedRow>) -> (ProfileState, u64) {
    let Some(positions) = model.ids.sorted_positions() else {
        // Over four billion rows: such a model cannot have been read into memory.
        return (ProfileState::new(), 0);
    };
    let mut kept = Vec::with_capacity(positions.len());
    let mut duplicates = 0u64;
    let mut start = 0;
    while start < positions.len() {
        let id = model.ids.get(positions[start] as usize).unwrap_or_default();
        let mut end = start + 1;
        while end < positions.len() && model.ids.get(positions[end] as usize) == Some(id) {
            end += 1;
        }
        let group = &positions[start..end];
        let first = model.values[group[0] as usize];
        if group.iter().all(|p| model.values[*p as usize] == first) {
            duplicates += (group.len() - 1) as u64;
            kept.push(group[0]);
        } else {
            let mut values: Vec<&ProfileValue> = group
                .iter()
                .map(|p| model.table.get(model.values[*p as usize]))
                .collect();
            values.sort_unstable();
            values.dedup();
            let shown: Vec<String> = values.iter().take(3).map(ToString::to_string).collect();
            rejected.push(RejectedRow {
                primary_key: Some(crate::value::shown(id)),
                field: Some("value".to_owned()),
                reason: format!(
                    "the model returns this user {} times with {} different values ({}{}); return one row per user",
                    group.len(),
                    values.len(),
                    shown.join(", "),
                    if values.len() > 3 { ", …" } else { "" }
                ),
                request_id: None,
            });
        }
        start = end;
    }
    let values = kept.iter().map(|p| model.values[*p as usize]).collect();
    let ids = model.ids.select(kept);
    (
        ProfileState {
            ids,
            values,
            table: model.table,
        },
        duplicates,
    )
}

/// Walks the sorted model and the sorted delivered state together, calling `each` with every
/// id, its model value (`None`: not in the model) and its delivered value (`None`: never
/// delivered).
fn merge<'a>(
    model: &'a ProfileState,
    delivered: &'a ProfileState,
    mut each: impl FnMut(&'a str, Option<&'a ProfileValue>, Option<&'a ProfileValue>),
) {
    let (mut m, mut d) = (
        model.ids.iter().enumerate(),
        delivered.ids.iter().enumerate(),
    );
    let (mut x, mut y) = (m.next(), d.next());
    loop {
        match (x, y) {
            (Some((i, p)), Some((j, q))) => match p.cmp(q) {
                std::cmp::Ordering::Less => {
                    each(p, Some(model.value_at(i)), None);
                    x = m.next();
                }
                std::cmp::Ordering::Greater => {
                    each(q, None, Some(delivered.value_at(j)));
                    y = d.next();
                }
                std::cmp::Ordering::Equal => {
                    each(p, Some(model.value_at(i)), Some(delivered.value_at(j)));
                    x = m.next();
                    y = d.next();
                }
            },
            (Some((i, p)), None) => {
                each(p, Some(model.value_at(i)), None);
                x = m.next();
            }
            (None, Some((j, q))) => {
                each(q, None, Some(delivered.value_at(j)));
                y = d.next();
            }
            (None, None) => return,
        }
    }
}

/// An id as a plan shows it: masked when it looks like personal data.
fn shown_id(id: &str) -> String {
    if looks_like_pii(id).is_some() {
        mask_pii(id)
    } else {
        crate::value::shown(id)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::value::Value;

    fn rows(pairs: &[(&str, Option<Value>)]) -> ProfileRows {
        let mut rows = ProfileRows::new();
        for (id, value) in pairs {
            rows.push(&Value::Text((*id).to_owned()), value.as_ref());
        }
        rows
    }

    fn state(pairs: &[(&str, ProfileValue)]) -> ProfileState {
        let mut state = ProfileState::new();
        for (id, value) in pairs {
            state.push(id, value.clone());
        }
        state
    }

    fn plan(
        mode: ListMode,
        model: &[(&str, Option<Value>)],
        delivered: Option<&[(&str, ProfileValue)]>,
    ) -> SyncPlan {
        plan_profiles(ProfilePlanInput {
            sync: "s".into(),
            mode,
            identifier: "fs_user_id".into(),
            field: "in_beta".into(),
            rows: rows(model),
            delivered: delivered.map(state),
            options: ProfileOptions::default(),
        })
    }

    fn sent(plan: &SyncPlan) -> Vec<(String, ProfileValue)> {
        plan.profiles()
            .unwrap()
            .upserts
            .iter()
            .map(|(id, v)| (id.to_owned(), v.clone()))
            .collect()
    }

    const T: ProfileValue = ProfileValue::Bool(true);
    const C: ProfileValue = ProfileValue::Cleared;

    #[test]
    fn a_first_run_sends_every_model_user_sorted() {
        let p = plan(ListMode::Add, &[("b", None), ("a", None)], None);
        assert_eq!(sent(&p), [("a".into(), T), ("b".into(), T)]);
        let body = p.profiles().unwrap();
        assert_eq!((body.joiners, body.changed, body.leavers), (2, 0, 0));
        assert_eq!(body.set_before, None);
        assert_eq!(p.request_count(), 1);
    }

    #[test]
    fn only_changed_profiles_are_sent() {
        let gold = || Some(Value::Text("gold".into()));
        let silver = ProfileValue::Text("silver".into());
        let p = plan(
            ListMode::Add,
            &[("a", gold()), ("b", gold()), ("c", gold())],
            Some(&[
                ("a", ProfileValue::Text("gold".into())),
                ("b", silver.clone()),
                ("z", silver),
            ]),
        );
        assert_eq!(
            sent(&p),
            [
                ("b".into(), ProfileValue::Text("gold".into())),
                ("c".into(), ProfileValue::Text("gold".into()))
            ]
        );
        let body = p.profiles().unwrap();
        assert_eq!((body.unchanged, body.joiners, body.changed), (1, 1, 1));
    }

    #[test]
    fn mirror_clears_leavers_this_sync_set_and_nobody_else() {
        let p = plan(
            ListMode::Mirror,
            &[("a", None), ("b", None)],
            Some(&[("a", T), ("c", T), ("d", C)]),
        );
        assert_eq!(sent(&p), [("b".into(), T), ("c".into(), C)]);
        let body = p.profiles().unwrap();
        assert_eq!(
            (body.joiners, body.leavers, body.set_before),
            (1, 1, Some(2))
        );
        // 1 of 2 set users cleared = 50% > 20%.
        assert!(matches!(
            p.guardrails[..],
            [Guardrail::LargeRemoval {
                removed: 1,
                before: 2,
                ..
            }]
        ));
    }

    #[test]
    fn remove_clears_model_users_once() {
        let p = plan(
            ListMode::Remove,
            &[("a", None), ("b", None), ("c", None)],
            Some(&[("a", T), ("b", C)]),
        );
        assert_eq!(sent(&p), [("a".into(), C), ("c".into(), C)]);
        assert_eq!(p.profiles().unwrap().unchanged, 1);
    }

    #[test]
    fn add_never_clears() {
        let p = plan(ListMode::Add, &[("a", None)], Some(&[("a", T), ("b", T)]));
        assert!(sent(&p).is_empty());
        assert!(p.is_noop());
    }

    #[test]
    fn duplicates_count_once_and_conflicting_values_are_rejected() {
        let p = plan(
            ListMode::Add,
            &[
                ("a", None),
                ("a", None),
                ("b", Some(Value::Int(1))),
                ("b", Some(Value::Int(2))),
            ],
            None,
        );
        assert_eq!(sent(&p), [("a".into(), T)]);
        assert_eq!(p.profiles().unwrap().duplicates, 1);
        assert_eq!(p.rejected.len(), 1);
        assert!(
            p.rejected[0]
                .reason
                .contains("2 times with 2 different values (1, 2)"),
            "{}",
            p.rejected[0].reason
        );
    }

    #[test]
    fn pii_looking_ids_are_a_guardrail_unless_the_identifier_is_email() {
        let model = [("jane@example.com", None)];
        let p = plan(ListMode::Add, &model, None);
        assert!(matches!(
            p.guardrails[..],
            [Guardrail::Pii { emails: 1, .. }]
        ));
        assert_eq!(p.profiles().unwrap().samples[0].id, "j***@example.com");
        let p = plan_profiles(ProfilePlanInput {
            identifier: "email".into(),
            ..ProfilePlanInput {
                sync: "s".into(),
                mode: ListMode::Add,
                identifier: String::new(),
                field: "in_beta".into(),
                rows: rows(&model),
                delivered: None,
                options: ProfileOptions::default(),
            }
        });
        assert!(p.guardrails.is_empty());
    }

    #[test]
    fn row_order_does_not_matter_and_batches_are_counted() {
        let ids: Vec<String> = (0..1201).map(|i| format!("u{i:05}")).collect();
        let forward: Vec<(&str, Option<Value>)> = ids.iter().map(|i| (i.as_str(), None)).collect();
        let mut backward = forward.clone();
        backward.reverse();
        let a = plan(ListMode::Mirror, &forward, None);
        let b = plan(ListMode::Mirror, &backward, None);
        assert_eq!(a, b);
        assert_eq!(a.request_count(), 3);
        assert!(a.profiles().unwrap().upserts.ids.is_sorted_set());
    }

    #[test]
    fn an_empty_model_after_a_full_one_is_a_guardrail() {
        let p = plan_profiles(ProfilePlanInput {
            sync: "s".into(),
            mode: ListMode::Mirror,
            identifier: "fs_user_id".into(),
            field: "in_beta".into(),
            rows: ProfileRows::new(),
            delivered: Some(state(&[("a", T)])),
            options: ProfileOptions {
                last_run_rows: Some(1),
                ..ProfileOptions::default()
            },
        });
        assert!(
            p.guardrails
                .iter()
                .any(|g| matches!(g, Guardrail::EmptyModel { .. }))
        );
    }
}
