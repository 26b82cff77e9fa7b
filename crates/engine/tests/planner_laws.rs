//! Laws of the planner, checked on generated inputs: planning a state against itself is
//! empty, applying a plan reaches the desired state, row order does not matter, and the list
//! modes keep their promises (add never removes, remove never adds, mirror is the model).
//! `apply_*` below simulate what the engine and Optimizely do with a plan.

#![allow(clippy::unwrap_used)]

use std::collections::{BTreeMap, BTreeSet};

use optisync_core::{
    Change, Conditions, DefinitionKind, DefinitionMode, DefinitionOptions, DefinitionPlanInput,
    DeliveredDefinitions, DeliveredObject, DesiredRow, Field, FieldValue, Fields, Ids, ListMode,
    ListOptions, ListPlanInput, RemoteList, RemoteObject, SyncPlan, Value, plan_definitions,
    plan_list,
};
use optisync_engine::destination::definition;
use proptest::prelude::*;
use serde_json::json;

// ---------- lists ----------

fn id_strategy() -> impl Strategy<Value = Value> {
    prop_oneof![
        8 => (0u8..40).prop_map(|n| Value::from(format!("u{n}"))),
        2 => (0i64..40).prop_map(Value::Int),
        1 => Just(Value::Null),
        1 => Just(Value::from("  ")),
        1 => Just(Value::from("a,b")),
        1 => (0u8..40).prop_map(|n| Value::from(format!(" u{n} "))),
    ]
}

fn member_set() -> impl Strategy<Value = BTreeSet<String>> {
    proptest::collection::btree_set((0u8..40).prop_map(|n| format!("u{n}")), 0..30)
}

fn list_mode() -> impl Strategy<Value = ListMode> {
    prop_oneof![
        Just(ListMode::Add),
        Just(ListMode::Remove),
        Just(ListMode::Mirror)
    ]
}

fn valid_ids(ids: &[Value]) -> BTreeSet<String> {
    ids.iter()
        .filter_map(Value::as_id_text)
        .filter(|id| !id.contains(','))
        .map(|id| id.into_owned())
        .collect()
}

fn list_input(
    mode: ListMode,
    ids: Vec<Value>,
    delivered: Option<Vec<String>>,
    remote: RemoteList,
) -> ListPlanInput {
    ListPlanInput {
        sync: "list".into(),
        mode,
        list_attribute_id: 1,
        ids: ids.into_iter().collect(),
        delivered: delivered.map(Ids::from),
        remote,
        options: ListOptions {
            // Guardrails are checked elsewhere; here they would only hide the laws.
            allow_pii: true,
            allow_large_removal: true,
            allow_empty: true,
            ..ListOptions::default()
        },
    }
}

/// What Optimizely holds after the plan is applied (and what the engine records).
fn apply_list(plan: &SyncPlan, before: &BTreeSet<String>) -> BTreeSet<String> {
    let list = plan.list().unwrap();
    if list.patch {
        list.after.iter().map(str::to_owned).collect()
    } else {
        before.clone()
    }
}

proptest! {
    #[test]
    fn list_modes_keep_their_promises(
        mode in list_mode(),
        ids in proptest::collection::vec(id_strategy(), 0..40),
        delivered in member_set(),
    ) {
        let model = valid_ids(&ids);
        let plan = plan_list(list_input(mode, ids, Some(delivered.iter().cloned().collect()), RemoteList::Unknown));
        prop_assert!(plan.refusal.is_none());
        let list = plan.list().unwrap();
        let after: BTreeSet<String> = list.after.iter().map(str::to_owned).collect();
        prop_assert_eq!(after.len(), list.after.len(), "no duplicates in the list");
        prop_assert!(list.after.is_sorted_set(), "sorted");
        let expected: BTreeSet<String> = match mode {
            ListMode::Mirror => model.clone(),
            ListMode::Add => delivered.union(&model).cloned().collect(),
            _ => delivered.difference(&model).cloned().collect(),
        };
        prop_assert_eq!(&after, &expected);
        match mode {
            ListMode::Add => prop_assert!(delivered.is_subset(&after) && list.removed.is_empty()),
            ListMode::Remove => prop_assert!(after.is_subset(&delivered) && list.added.is_empty()),
            _ => {}
        }
        // added/removed describe exactly the difference from what the list held.
        let added: BTreeSet<String> = after.difference(&delivered).cloned().collect();
        let removed: BTreeSet<String> = delivered.difference(&after).cloned().collect();
        prop_assert_eq!(list.added.iter().map(str::to_owned).collect::<BTreeSet<_>>(), added);
        prop_assert_eq!(list.removed.iter().map(str::to_owned).collect::<BTreeSet<_>>(), removed);
        prop_assert_eq!(list.patch, after != delivered);
        prop_assert_eq!(plan.request_count(), u64::from(after != delivered));
    }

    #[test]
    fn list_plan_against_its_own_result_is_empty(
        mode in list_mode(),
        ids in proptest::collection::vec(id_strategy(), 0..40),
        delivered in member_set(),
        remote_known in any::<bool>(),
    ) {
        let remote = if remote_known {
            RemoteList::Known(delivered.iter().cloned().collect())
        } else {
            RemoteList::Unknown
        };
        let first = plan_list(list_input(mode, ids.clone(), Some(delivered.iter().cloned().collect()), remote));
        let now = apply_list(&first, &delivered);
        let remote = if remote_known { RemoteList::Known(now.iter().cloned().collect()) } else { RemoteList::Unknown };
        let second = plan_list(list_input(mode, ids, Some(now.iter().cloned().collect()), remote));
        prop_assert!(!second.has_changes(), "{:?}", second.list());
        prop_assert!(second.list().unwrap().drift.is_none());
    }

    #[test]
    fn list_plan_ignores_row_order(
        mode in list_mode(),
        (ids, shuffled) in proptest::collection::vec(id_strategy(), 0..40)
            .prop_flat_map(|v| (Just(v.clone()), Just(v).prop_shuffle())),
        delivered in member_set(),
    ) {
        let mut reversed_delivered: Vec<String> = delivered.iter().cloned().collect();
        reversed_delivered.reverse();
        let a = plan_list(list_input(mode, ids, Some(delivered.iter().cloned().collect()), RemoteList::Unknown));
        let b = plan_list(list_input(mode, shuffled, Some(reversed_delivered), RemoteList::Unknown));
        prop_assert_eq!(a, b);
    }
}

// ---------- definitions ----------

const PROJECT: i64 = 777;

#[derive(Debug, Clone)]
struct World {
    object: DefinitionKind,
    mode: DefinitionMode,
    rows: Vec<DesiredRow>,
    remote: Vec<RemoteObject>,
}

fn maybe_text(pool: &'static [&'static str]) -> impl Strategy<Value = Option<Value>> {
    prop_oneof![
        1 => Just(None),
        1 => Just(Some(Value::Null)),
        4 => proptest::sample::select(pool).prop_map(|s| Some(Value::from(s))),
    ]
}

const NAMES: &[&str] = &["Alpha", "Beta", "Gamma", ""];
const DESCRIPTIONS: &[&str] = &["", "one", "two"];
const CATEGORIES: &[&str] = &["other", "purchase", "Sign_Up", "bogus"];

fn condition_value() -> impl Strategy<Value = Option<Value>> {
    prop_oneof![
        Just(None),
        Just(Some(Value::Null)),
        Just(Some(Value::from("everyone"))),
        (0i64..3).prop_map(|n| Some(Value::Json(
            json!(["and", {"type": "custom_attribute", "name": "tier", "value": n}])
        ))),
        Just(Some(Value::from(
            "[\"or\", {\"type\": \"custom_attribute\", \"match_type\": \"exists\", \"name\": \"a\"}]"
        ))),
        Just(Some(Value::from("[\"nand\"]"))),
    ]
}

fn archived_value() -> impl Strategy<Value = Option<Value>> {
    prop_oneof![
        4 => Just(None),
        1 => Just(Some(Value::Bool(true))),
        1 => Just(Some(Value::Bool(false))),
        1 => Just(Some(Value::Null)),
    ]
}

fn row_strategy(object: DefinitionKind) -> impl Strategy<Value = DesiredRow> {
    (
        0u8..6,
        0u8..6,
        maybe_text(NAMES),
        maybe_text(DESCRIPTIONS),
        maybe_text(CATEGORIES),
        condition_value(),
        archived_value(),
        prop::bool::weighted(0.05),
    )
        .prop_map(
            move |(pk, key, name, description, category, conditions, archived, no_pk)| {
                let mut values = BTreeMap::new();
                let key_text = format!("k{key}");
                let mut primary_key = Some(format!("p{pk}"));
                match object {
                    DefinitionKind::Audience => {
                        // Audiences always carry a rendered name; vary it by the key pool.
                        values.insert(Field::Name, Value::from(format!("Audience {key}")));
                        if let Some(c) = conditions {
                            values.insert(Field::Conditions, c);
                        }
                    }
                    _ => {
                        values.insert(Field::Key, Value::from(key_text.clone()));
                        primary_key = Some(key_text);
                        if let Some(n) = name {
                            values.insert(Field::Name, n);
                        }
                        if object == DefinitionKind::CustomEvent
                            && let Some(c) = category
                        {
                            values.insert(Field::Category, c);
                        }
                    }
                }
                if let Some(d) = description {
                    values.insert(Field::Description, d);
                }
                if let Some(a) = archived {
                    values.insert(Field::Archived, a);
                }
                DesiredRow {
                    primary_key: if no_pk { None } else { primary_key },
                    values,
                    problems: Vec::new(),
                }
            },
        )
}

fn remote_strategy(object: DefinitionKind) -> impl Strategy<Value = Vec<RemoteObject>> {
    proptest::collection::vec(
        (
            0u8..8,
            any::<bool>(),
            maybe_text(NAMES),
            maybe_text(DESCRIPTIONS),
            condition_value(),
        ),
        0..6,
    )
    .prop_map(move |items| {
        let mut seen_keys = BTreeSet::new();
        let mut out = Vec::new();
        for (n, (key, archived, name, description, conditions)) in items.into_iter().enumerate() {
            let mut fields = Fields::new();
            match object {
                DefinitionKind::Audience => {
                    // Names may repeat remotely (that is how ambiguity arises).
                    fields.insert(Field::Name, FieldValue::Text(format!("Audience {key}")));
                    if let Some(Value::Json(c)) = conditions {
                        fields.insert(
                            Field::Conditions,
                            FieldValue::Conditions(Conditions::from_api_string(&c.to_string())),
                        );
                    }
                }
                _ => {
                    // Keys are unique per project.
                    if !seen_keys.insert(key) {
                        continue;
                    }
                    fields.insert(Field::Key, FieldValue::Text(format!("k{key}")));
                    if let Some(Value::Text(n)) = name {
                        fields.insert(Field::Name, FieldValue::Text(n));
                    }
                    if object == DefinitionKind::CustomEvent {
                        fields.insert(Field::Category, FieldValue::Text("other".into()));
                    }
                }
            }
            if let Some(Value::Text(d)) = description {
                fields.insert(Field::Description, FieldValue::Text(d));
            }
            out.push(RemoteObject {
                id: 1000 + n as i64,
                archived,
                fields,
            });
        }
        out
    })
}

fn world() -> impl Strategy<Value = World> {
    (
        prop_oneof![
            Just(DefinitionKind::Audience),
            Just(DefinitionKind::Attribute),
            Just(DefinitionKind::CustomEvent)
        ],
        prop_oneof![Just(DefinitionMode::Upsert), Just(DefinitionMode::Insert)],
    )
        .prop_flat_map(|(object, mode)| {
            (
                Just(object),
                Just(mode),
                proptest::collection::vec(row_strategy(object), 0..10),
                remote_strategy(object),
            )
        })
        .prop_map(|(object, mode, rows, remote)| World {
            object,
            mode,
            rows,
            remote,
        })
}

fn def_input(
    w: &World,
    rows: Vec<DesiredRow>,
    delivered: DeliveredDefinitions,
    remote: Vec<RemoteObject>,
) -> DefinitionPlanInput {
    DefinitionPlanInput {
        sync: "defs".into(),
        rules: definition(w.object).rules(),
        mode: w.mode,
        project_id: PROJECT,
        rows,
        delivered,
        remote,
        options: DefinitionOptions::default(),
    }
}

/// What Optimizely and the state store hold after the plan is applied.
fn apply_definitions(
    plan: &SyncPlan,
    mut remote: Vec<RemoteObject>,
    mut delivered: DeliveredDefinitions,
) -> (Vec<RemoteObject>, DeliveredDefinitions) {
    let mut next_id = remote.iter().map(|o| o.id).max().unwrap_or(0) + 1;
    for change in plan.changes() {
        match change {
            Change::Create {
                primary_key,
                fields,
                hash,
            } => {
                let archived = matches!(fields.get(Field::Archived), Some(FieldValue::Bool(true)));
                let mut stored = fields.clone();
                stored.0.remove(&Field::Archived);
                remote.push(RemoteObject {
                    id: next_id,
                    archived,
                    fields: stored,
                });
                delivered.insert(
                    primary_key.clone(),
                    DeliveredObject {
                        remote_id: next_id,
                        hash: *hash,
                        fields: fields.clone(),
                    },
                );
                next_id += 1;
            }
            Change::Update {
                primary_key,
                remote_id,
                changed,
                unarchive,
                fields,
                hash,
            } => {
                let object = remote.iter_mut().find(|o| o.id == *remote_id).unwrap();
                if *unarchive {
                    object.archived = false;
                }
                for c in changed {
                    match (c.field, &c.after) {
                        (Field::Archived, FieldValue::Bool(b)) => object.archived = *b,
                        (field, value) => object.fields.insert(field, value.clone()),
                    }
                }
                delivered.insert(
                    primary_key.clone(),
                    DeliveredObject {
                        remote_id: *remote_id,
                        hash: *hash,
                        fields: fields.clone(),
                    },
                );
            }
        }
    }
    for record in plan.record_only() {
        delivered.insert(
            record.primary_key.clone(),
            DeliveredObject {
                remote_id: record.remote_id,
                hash: record.hash,
                fields: record.fields.clone(),
            },
        );
    }
    (remote, delivered)
}

fn blank_is_equal(desired: &FieldValue, actual: Option<&FieldValue>) -> bool {
    match (desired, actual) {
        (d, Some(a)) => d == a,
        (FieldValue::Text(s), None) => s.is_empty(),
        _ => false,
    }
}

proptest! {
    #[test]
    fn definition_plan_against_its_own_result_is_empty(w in world()) {
        let first = plan_definitions(def_input(&w, w.rows.clone(), DeliveredDefinitions::new(), w.remote.clone()));
        prop_assert!(first.refusal.is_none());
        let (remote, delivered) = apply_definitions(&first, w.remote.clone(), DeliveredDefinitions::new());
        let second = plan_definitions(def_input(&w, w.rows.clone(), delivered.clone(), remote.clone()));
        prop_assert_eq!(second.request_count(), 0, "{:#?}", second.changes());
        prop_assert!(second.record_only().is_empty(), "{:#?}", second.record_only());
        prop_assert_eq!(&second.rejected, &first.rejected);
        // A third run after applying the (empty) second plan is still empty.
        let (remote2, delivered2) = apply_definitions(&second, remote.clone(), delivered.clone());
        prop_assert_eq!(&remote2, &remote);
        prop_assert_eq!(delivered2, delivered);
    }

    #[test]
    fn upsert_reaches_the_desired_state(w in world()) {
        prop_assume!(w.mode == DefinitionMode::Upsert);
        let plan = plan_definitions(def_input(&w, w.rows.clone(), DeliveredDefinitions::new(), w.remote.clone()));
        let (remote, delivered) = apply_definitions(&plan, w.remote.clone(), DeliveredDefinitions::new());
        let rejected: BTreeSet<Option<String>> = plan.rejected.iter().map(|r| r.primary_key.clone()).collect();
        for row in &w.rows {
            let Some(pk) = &row.primary_key else { continue };
            if rejected.contains(&Some(pk.clone())) {
                prop_assert!(plan.changes().iter().all(|c| c.primary_key() != pk), "rejected and sent: {}", pk);
                continue;
            }
            let record = delivered.get(pk);
            prop_assert!(record.is_some(), "row {} not delivered", pk);
            let object = remote.iter().find(|o| o.id == record.unwrap().remote_id).unwrap();
            for (field, value) in record.unwrap().fields.iter() {
                if field == Field::Archived {
                    continue;
                }
                prop_assert!(blank_is_equal(value, object.fields.get(field)), "{} {:?}: {:?} vs {:?}", pk, field, value, object.fields.get(field));
            }
            let wants_archived = matches!(record.unwrap().fields.get(Field::Archived), Some(FieldValue::Bool(true)));
            prop_assert_eq!(object.archived, wants_archived);
        }
        // Nothing outside the model was touched.
        for before in &w.remote {
            let touched = plan.changes().iter().any(|c| matches!(c, Change::Update { remote_id, .. } if *remote_id == before.id));
            if !touched {
                prop_assert!(remote.contains(before));
            }
        }
    }

    #[test]
    fn definition_plan_ignores_row_order(
        (w, shuffled) in world().prop_flat_map(|w| {
            let rows = w.rows.clone();
            (Just(w), Just(rows).prop_shuffle())
        })
    ) {
        let a = plan_definitions(def_input(&w, w.rows.clone(), DeliveredDefinitions::new(), w.remote.clone()));
        let b = plan_definitions(def_input(&w, shuffled, DeliveredDefinitions::new(), w.remote.clone()));
        prop_assert_eq!(a, b);
    }

    #[test]
    fn insert_never_updates(w in world()) {
        prop_assume!(w.mode == DefinitionMode::Insert);
        let plan = plan_definitions(def_input(&w, w.rows.clone(), DeliveredDefinitions::new(), w.remote.clone()));
        let only_creates = plan.changes().iter().all(|c| matches!(c, Change::Create { .. }));
        prop_assert!(only_creates, "insert planned an update");
        prop_assert!(plan.record_only().is_empty());
    }
}
