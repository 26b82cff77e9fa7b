//! Planning a list-attribute sync. The API replaces the whole list on every update, so the
//! plan is the complete new list, computed from a base (what optisync delivered, or the
//! list's current content, or nothing) and the model's ids by the mode:
//! mirror = model; add = base ∪ model; remove = base − model. Everything works on sorted,
//! deduplicated [`Ids`] (one text buffer per list, not a string per id) with linear merges, so
//! a 10-million-member list plans in O(n log n) for the sort and O(n) after it.

use std::cmp::Ordering;

use crate::ids::{Ids, ModelIds, gallop_below};
use crate::kind::{ListMode, SyncKind};
use crate::plan::{Drift, Guardrail, ListBase, ListChange, ListPlan, PlanBody, Refusal, SyncPlan};
use crate::remote::RemoteList;
use crate::validate::MAX_LIST_CONTENT_BYTES;

use super::{check_empty_model, check_pii, reject};

/// The default of `max_removal_percent`.
pub const DEFAULT_MAX_REMOVAL_PERCENT: f64 = 20.0;

/// How many sample ids a drift report or guardrail carries.
const SAMPLE: usize = 10;

/// User switches for a list run.
#[derive(Debug, Clone, PartialEq)]
pub struct ListOptions {
    /// `--adopt-existing`: build on the list's current content (if the API returned it)
    /// rather than on what optisync delivered.
    pub adopt_existing: bool,
    /// `--replace`: build on nothing; the list is overwritten with what the mode computes
    /// from the model alone.
    pub replace: bool,
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

impl Default for ListOptions {
    fn default() -> Self {
        Self {
            adopt_existing: false,
            replace: false,
            allow_pii: false,
            allow_empty: false,
            allow_large_removal: false,
            max_removal_percent: DEFAULT_MAX_REMOVAL_PERCENT,
            last_run_rows: None,
        }
    }
}

/// Everything [`plan_list`] needs.
#[derive(Debug, Clone, PartialEq)]
pub struct ListPlanInput {
    /// The sync's name.
    pub sync: String,
    /// `add`, `remove` or `mirror`.
    pub mode: ListMode,
    /// The target list attribute.
    pub list_attribute_id: i64,
    /// The model's `user_id` values, checked as they were read, any order.
    pub ids: ModelIds,
    /// The list optisync last delivered (any order); `None` if this sync never delivered.
    pub delivered: Option<Ids>,
    /// The list's current content, if the API returned it.
    pub remote: RemoteList,
    /// User switches.
    pub options: ListOptions,
}

/// Plans a list-attribute run.
///
/// - Ids are validated (null/empty, comma, over 100 characters → rejected rows); duplicates
///   count once.
/// - Base: `--replace` → nothing; `--adopt-existing` with known content → that content;
///   else the delivered list; on a first run, the content the API returned. A first add or
///   remove run with neither is refused (mirror needs no base).
/// - Added/removed are measured against what the list holds now: the API's content if known,
///   else the delivered list. No PATCH when nothing changes.
/// - Guardrails: empty model (mirror), large removal (mirror, remove), PII (ids sent from
///   the model). Refusal: the joined list over 5 MB.
pub fn plan_list(input: ListPlanInput) -> SyncPlan {
    let ListPlanInput {
        sync,
        mode,
        list_attribute_id,
        ids,
        delivered,
        remote,
        options,
    } = input;
    let mut plan = SyncPlan::new(sync, SyncKind::List { mode });
    plan.rows_read = ids.read;

    let ModelIds {
        valid,
        rejected,
        looking_like_pii,
        ..
    } = ids;
    for rejected in rejected {
        reject(&mut plan, rejected.id, "user_id", rejected.problem);
    }
    let read_valid = valid.len();
    let model = valid.into_sorted_set();
    let duplicates = (read_valid - model.len()) as u64;
    plan.rejected.sort_unstable();
    check_empty_model(&mut plan, options.last_run_rows, options.allow_empty);

    let delivered = delivered.map(Ids::into_sorted_set);
    let remote = match remote {
        RemoteList::Known(members) => Some(members.into_sorted_set()),
        RemoteList::Unknown => None,
    };

    let base_kind = if options.replace || mode == ListMode::Mirror {
        ListBase::Empty
    } else if options.adopt_existing && remote.is_some() {
        ListBase::RemoteContent
    } else if delivered.is_some() {
        ListBase::Delivered
    } else if remote.is_some() {
        ListBase::RemoteContent
    } else {
        plan.refusal = Some(Refusal::UnknownListContent {
            list_attribute_id,
            mode,
            adopt_requested: options.adopt_existing,
        });
        return plan;
    };
    if options.adopt_existing && remote.is_none() && !options.replace && mode != ListMode::Mirror {
        plan.warnings.push(
            "--adopt-existing has no effect: the API did not return the list's content".to_owned(),
        );
    }
    let empty = Ids::new();
    let base: &Ids = match base_kind {
        ListBase::Empty => &empty,
        ListBase::Delivered => delivered.as_ref().unwrap_or(&empty),
        ListBase::RemoteContent => remote.as_ref().unwrap_or(&empty),
    };
    if delivered.is_none() && base_kind == ListBase::RemoteContent && !base.is_empty() {
        plan.warnings.push(format!(
            "list attribute {list_attribute_id} already holds {} members that optisync did not write; this run builds on them",
            base.len()
        ));
    }

    if mode != ListMode::Remove && looking_like_pii > 0 {
        check_pii(&mut plan, &model, options.allow_pii, "");
    }
    let after = match mode {
        ListMode::Add => union(base, &model),
        ListMode::Remove => difference(base, &model),
        ListMode::Mirror => model,
    };

    // What the list holds now: the API's word if we have it, else our own record.
    let current = remote.as_ref().or(delivered.as_ref());
    if current.is_none() && mode == ListMode::Mirror {
        plan.warnings.push(format!(
            "the API did not return the content of list attribute {list_attribute_id}; this first run replaces whatever it holds"
        ));
    }
    let (added, removed) = match current {
        Some(current) => differences(&after, current),
        None => (after.clone(), Ids::new()),
    };
    let patch = current.is_none() || !added.is_empty() || !removed.is_empty();

    let drift = match (&delivered, &remote) {
        (Some(d), Some(r)) if d != r => Some(drift(d, r)),
        _ => None,
    };
    if let Some(drift) = &drift {
        plan.warnings.push(format!(
            "list attribute {list_attribute_id} was edited outside optisync: {} delivered members are missing and {} members were added by hand",
            drift.missing_count, drift.unexpected_count
        ));
    }

    if matches!(mode, ListMode::Mirror | ListMode::Remove)
        && let Some(before) = current.map(Ids::len).filter(|n| *n > 0)
        && removed.len() as f64 * 100.0 > options.max_removal_percent * before as f64
    {
        let guardrail = Guardrail::LargeRemoval {
            removed: removed.len() as u64,
            before: before as u64,
            max_percent: options.max_removal_percent,
        };
        if options.allow_large_removal {
            plan.warnings
                .push(format!("--allow-large-removal given: {guardrail}"));
        } else {
            plan.guardrails.push(guardrail);
        }
    }

    if patch {
        let bytes = after.joined_len();
        if bytes > MAX_LIST_CONTENT_BYTES {
            plan.refusal = Some(Refusal::ListTooLarge {
                bytes: bytes as u64,
                limit: MAX_LIST_CONTENT_BYTES as u64,
            });
        }
    }
    if duplicates > 0 {
        plan.warnings.push(format!(
            "{duplicates} user ids appear more than once in the model; each is sent once"
        ));
    }

    let unchanged = match current {
        Some(current) => (current.len() - removed.len()) as u64,
        None => 0,
    };
    let list = Some(ListChange {
        list_attribute_id,
        before_count: current.map(|c| c.len() as u64),
        after_count: after.len() as u64,
        added,
        removed,
        after,
        patch,
        base: base_kind,
        duplicates,
        drift,
    });
    plan.body = PlanBody::List(ListPlan { unchanged, list });
    plan
}

/// Walks two sorted sets together, calling `each` with every id, its position on the side
/// that holds it (`a`'s when both do), and which sides hold it.
fn merge<'a>(a: &'a Ids, b: &'a Ids, mut each: impl FnMut(&'a str, usize, bool, bool)) {
    let (mut a_ids, mut b_ids) = (a.iter(), b.iter());
    let (mut x, mut y) = (a_ids.next(), b_ids.next());
    let (mut i, mut j) = (0, 0);
    loop {
        match (x, y) {
            (Some(p), Some(q)) => match p.cmp(q) {
                Ordering::Less => {
                    each(p, i, true, false);
                    i += 1;
                    x = a_ids.next();
                }
                Ordering::Greater => {
                    each(q, j, false, true);
                    j += 1;
                    y = b_ids.next();
                }
                Ordering::Equal => {
                    each(p, i, true, true);
                    i += 1;
                    j += 1;
                    x = a_ids.next();
                    y = b_ids.next();
                }
            },
            (Some(p), None) => {
                each(p, i, true, false);
                i += 1;
                x = a_ids.next();
            }
            (None, Some(q)) => {
                each(q, j, false, true);
                j += 1;
                y = b_ids.next();
            }
            (None, None) => break,
        }
    }
}

/// `a ∪ b` of two sorted sets.
fn union(a: &Ids, b: &Ids) -> Ids {
    let mut out = Ids::with_capacity(a.len() + b.len(), a.joined_len() + b.joined_len());
    merge(a, b, |id, _, _, _| out.push(id));
    out
}

/// `a − b` of two sorted sets: a selection of `a`'s ids, sharing its buffer (four bytes per
/// id, however long the ids).
fn difference(a: &Ids, b: &Ids) -> Ids {
    if b.is_empty() {
        return a.clone();
    }
    if !a.selectable() {
        let mut out = Ids::new();
        merge(a, b, |id, _, in_a, in_b| {
            if in_a && !in_b {
                out.push(id);
            }
        });
        return out;
    }
    // Reserved, not touched: only the positions written take memory.
    let mut positions = Vec::with_capacity(a.len());
    merge(a, b, |_, position, in_a, in_b| {
        if in_a && !in_b {
            // `a` is selectable: every position fits.
            positions.push(position as u32);
        }
    });
    a.select(positions)
}

/// `a − b` and `b − a` of two sorted sets, in one walk: selections of `a`'s and `b`'s ids.
///
/// Where one side runs ahead of the other (a ten-million-id model against a list of a
/// quarter of a million), the walk gallops: it finds the end of the run by doubling steps and
/// a binary search, and takes the run's positions whole, instead of comparing every id on
/// the way. The bytes of each difference follow from the bytes both sides share, so no id of
/// a run is looked at.
fn differences(a: &Ids, b: &Ids) -> (Ids, Ids) {
    if a.is_empty() || b.is_empty() {
        return (a.clone(), b.clone());
    }
    if !a.selectable() || !b.selectable() {
        return (difference(a, b), difference(b, a));
    }
    // Reserved, not touched: only the positions written take memory.
    let (mut only_a, mut only_b) = (Vec::with_capacity(a.len()), Vec::with_capacity(b.len()));
    let (mut i, mut j, mut shared_bytes) = (0, 0, 0);
    // Both are selectable: every position fits a `u32`.
    let run = |from: usize, to: usize| from as u32..to as u32;
    while i < a.len() && j < b.len() {
        let (p, q) = (at(a, i), at(b, j));
        match p.cmp(q) {
            Ordering::Less => {
                let end = gallop(a, i, q);
                only_a.extend(run(i, end));
                i = end;
            }
            Ordering::Greater => {
                let end = gallop(b, j, p);
                only_b.extend(run(j, end));
                j = end;
            }
            Ordering::Equal => {
                shared_bytes += p.len();
                i += 1;
                j += 1;
            }
        }
    }
    only_a.extend(run(i, a.len()));
    only_b.extend(run(j, b.len()));
    (
        a.select_increasing(only_a, a.bytes().saturating_sub(shared_bytes)),
        b.select_increasing(only_b, b.bytes().saturating_sub(shared_bytes)),
    )
}

/// The id at position `i` of `ids`, which has one there.
fn at(ids: &Ids, i: usize) -> &str {
    ids.get(i).unwrap_or_default()
}

/// The first position after `from` whose id is not below `target`, in the sorted set `ids`
/// whose id at `from` is below it.
fn gallop(ids: &Ids, from: usize, target: &str) -> usize {
    let after = from + 1;
    after
        + gallop_below(ids.len().saturating_sub(after), |k| {
            ids.get(after + k).is_some_and(|id| id < target)
        })
}

/// Counts and samples `a − b` without keeping the whole difference.
fn difference_summary(a: &Ids, b: &Ids) -> (u64, Vec<String>) {
    let mut count = 0u64;
    let mut sample = Vec::new();
    merge(a, b, |id, _, in_a, in_b| {
        if in_a && !in_b {
            count += 1;
            if sample.len() < SAMPLE {
                sample.push(id.to_owned());
            }
        }
    });
    (count, sample)
}

fn drift(delivered: &Ids, remote: &Ids) -> Drift {
    let (missing_count, missing_sample) = difference_summary(delivered, remote);
    let (unexpected_count, unexpected_sample) = difference_summary(remote, delivered);
    Drift {
        delivered_count: delivered.len() as u64,
        remote_count: remote.len() as u64,
        missing_count,
        unexpected_count,
        missing_sample,
        unexpected_sample,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::value::Value;

    fn ids(items: &[&str]) -> ModelIds {
        items.iter().map(|s| Value::from(*s)).collect()
    }

    fn strings(items: &[&str]) -> Vec<String> {
        items.iter().map(|s| (*s).to_owned()).collect()
    }

    fn input(mode: ListMode, model: &[&str], delivered: Option<&[&str]>) -> ListPlanInput {
        ListPlanInput {
            sync: "beta".into(),
            mode,
            list_attribute_id: 4567,
            ids: ids(model),
            delivered: delivered.map(|d| strings(d).into()),
            remote: RemoteList::Unknown,
            options: ListOptions::default(),
        }
    }

    fn list(plan: &SyncPlan) -> &ListChange {
        plan.list().unwrap()
    }

    #[test]
    fn mirror_sends_exactly_the_model() {
        let plan = plan_list(input(ListMode::Mirror, &["c", "a", "b"], Some(&["a", "z"])));
        let l = list(&plan);
        assert_eq!(l.after, strings(&["a", "b", "c"]));
        assert_eq!(l.added, strings(&["b", "c"]));
        assert_eq!(l.removed, strings(&["z"]));
        assert!(l.patch);
        assert_eq!(plan.request_count(), 1);
        assert_eq!(l.list_content(), "a,b,c");
    }

    #[test]
    fn add_keeps_delivered_members() {
        let plan = plan_list(input(ListMode::Add, &["c", "a"], Some(&["a", "z"])));
        let l = list(&plan);
        assert_eq!(l.after, strings(&["a", "c", "z"]));
        assert_eq!(l.added, strings(&["c"]));
        assert!(l.removed.is_empty());
        assert_eq!(l.base, ListBase::Delivered);
    }

    #[test]
    fn remove_takes_model_ids_out() {
        let plan = plan_list(input(
            ListMode::Remove,
            &["a", "q"],
            Some(&["a", "b", "c", "d", "e", "f"]),
        ));
        let l = list(&plan);
        assert_eq!(l.after, strings(&["b", "c", "d", "e", "f"]));
        assert_eq!(l.removed, strings(&["a"]));
        assert!(l.added.is_empty());
    }

    #[test]
    fn nothing_changed_means_no_patch() {
        let plan = plan_list(input(ListMode::Mirror, &["b", "a"], Some(&["a", "b"])));
        assert!(!list(&plan).patch);
        assert_eq!(plan.request_count(), 0);
        assert!(plan.is_noop());
        assert_eq!(plan.unchanged(), 2);
    }

    #[test]
    fn bad_ids_are_rejected_and_duplicates_count_once() {
        let mut values = ids(&[" u1 ", "u1", "a,b", "", "u2"]);
        values.push(Value::Null);
        values.push(Value::Int(42));
        values.push(Value::from("x".repeat(101)));
        let mut i = input(ListMode::Mirror, &[], None);
        i.ids = values;
        let plan = plan_list(i);
        let l = list(&plan);
        assert_eq!(l.after, strings(&["42", "u1", "u2"]));
        assert_eq!(l.duplicates, 1);
        assert_eq!(plan.rejected.len(), 4);
        assert_eq!(plan.rejected[0].primary_key, None);
        assert!(plan.rejected.iter().any(|r| r.reason.contains("comma")));
        assert!(
            plan.rejected
                .iter()
                .any(|r| r.reason.contains("101 characters"))
        );
        assert!(plan.warnings.iter().any(|w| w.contains("more than once")));
    }

    #[test]
    fn drift_is_reported_when_the_api_content_differs() {
        let mut i = input(ListMode::Add, &["n"], Some(&["a", "b"]));
        i.remote = RemoteList::Known(Ids::from(strings(&["b", "hand"])));
        let plan = plan_list(i);
        let l = list(&plan);
        let drift = l.drift.as_ref().unwrap();
        assert_eq!((drift.missing_count, drift.unexpected_count), (1, 1));
        assert_eq!(drift.missing_sample, strings(&["a"]));
        // add builds on the delivered list, and the diff is against what the list holds.
        assert_eq!(l.after, strings(&["a", "b", "n"]));
        assert_eq!(l.added, strings(&["a", "n"]));
        assert_eq!(l.removed, strings(&["hand"]));
    }

    #[test]
    fn adopt_existing_builds_on_the_api_content() {
        let mut i = input(ListMode::Add, &["n"], Some(&["a"]));
        i.remote = RemoteList::Known(Ids::from(strings(&["hand"])));
        i.options.adopt_existing = true;
        let plan = plan_list(i);
        assert_eq!(list(&plan).after, strings(&["hand", "n"]));
        assert_eq!(list(&plan).base, ListBase::RemoteContent);
    }

    #[test]
    fn first_add_or_remove_on_unknown_content_is_refused() {
        for mode in [ListMode::Add, ListMode::Remove] {
            let plan = plan_list(input(mode, &["a"], None));
            let refusal = plan.refusal.as_ref().unwrap();
            assert!(matches!(refusal, Refusal::UnknownListContent { .. }));
            assert!(refusal.to_string().contains("--replace"));
            assert!(plan.is_blocked());
        }
        let mut i = input(ListMode::Add, &["a"], None);
        i.options.adopt_existing = true;
        let plan = plan_list(i);
        assert!(
            plan.refusal
                .unwrap()
                .to_string()
                .contains("--adopt-existing needs")
        );
        let mut i = input(ListMode::Add, &["a"], None);
        i.options.replace = true;
        let plan = plan_list(i);
        assert!(plan.refusal.is_none());
        assert_eq!(list(&plan).after, strings(&["a"]));
        // Mirror needs no base.
        let plan = plan_list(input(ListMode::Mirror, &["a"], None));
        assert!(plan.refusal.is_none());
        assert_eq!(list(&plan).before_count, None);
        assert!(list(&plan).patch);
    }

    #[test]
    fn first_add_builds_on_known_content() {
        let mut i = input(ListMode::Add, &["n"], None);
        i.remote = RemoteList::Known(Ids::from(strings(&["old"])));
        let plan = plan_list(i);
        assert!(plan.refusal.is_none());
        assert_eq!(list(&plan).after, strings(&["n", "old"]));
        assert!(plan.warnings.iter().any(|w| w.contains("did not write")));
    }

    #[test]
    fn large_removals_are_blocked_unless_allowed() {
        let delivered = ["a", "b", "c", "d", "e"];
        let plan = plan_list(input(ListMode::Mirror, &["a", "b", "c"], Some(&delivered)));
        assert!(matches!(
            plan.guardrails[..],
            [Guardrail::LargeRemoval {
                removed: 2,
                before: 5,
                ..
            }]
        ));
        let plan = plan_list(input(
            ListMode::Mirror,
            &["a", "b", "c", "d"],
            Some(&delivered),
        ));
        assert!(plan.guardrails.is_empty(), "20% is not more than 20%");
        let mut i = input(ListMode::Remove, &["a", "b"], Some(&delivered));
        i.options.allow_large_removal = true;
        let plan = plan_list(i);
        assert!(plan.guardrails.is_empty());
        assert!(
            plan.warnings
                .iter()
                .any(|w| w.contains("--allow-large-removal"))
        );
    }

    #[test]
    fn empty_model_is_blocked_after_a_run_with_rows() {
        let mut i = input(ListMode::Mirror, &[], Some(&["a"]));
        i.options.last_run_rows = Some(1);
        let plan = plan_list(i.clone());
        assert!(
            plan.guardrails
                .iter()
                .any(|g| matches!(g, Guardrail::EmptyModel { last_run_rows: 1 }))
        );
        i.options.allow_empty = true;
        i.options.allow_large_removal = true;
        assert!(!plan_list(i).is_blocked());
    }

    #[test]
    fn pii_blocks_unless_allowed() {
        let plan = plan_list(input(ListMode::Add, &["jane@example.com", "u1"], Some(&[])));
        match &plan.guardrails[..] {
            [
                Guardrail::Pii {
                    emails: 1, samples, ..
                },
            ] => assert_eq!(samples[0], "j***@example.com"),
            other => panic!("{other:?}"),
        }
        let mut i = input(ListMode::Add, &["jane@example.com"], Some(&[]));
        i.options.allow_pii = true;
        assert!(plan_list(i).guardrails.is_empty());
        // remove sends no model ids, so they are not checked.
        let plan = plan_list(input(ListMode::Remove, &["jane@example.com"], Some(&[])));
        assert!(plan.guardrails.is_empty());
    }

    #[test]
    fn lists_over_five_megabytes_are_refused() {
        let big: ModelIds = (0..500_000)
            .map(|i| Value::from(format!("user-{i:07}")))
            .collect();
        let mut i = input(ListMode::Mirror, &[], None);
        i.ids = big;
        let plan = plan_list(i);
        let refusal = plan.refusal.unwrap();
        assert!(matches!(refusal, Refusal::ListTooLarge { .. }));
        assert!(refusal.to_string().contains("OR them in one audience"));
    }

    #[test]
    fn set_operations() {
        let a = Ids::from(strings(&["a", "c", "e"]));
        let b = Ids::from(strings(&["b", "c", "d"]));
        assert_eq!(union(&a, &b), strings(&["a", "b", "c", "d", "e"]));
        assert_eq!(union(&a, &Ids::new()), a);
        assert_eq!(difference(&a, &b), strings(&["a", "e"]));
        assert_eq!(difference_summary(&b, &a), (2, strings(&["b", "d"])));
    }

    #[test]
    fn both_differences_in_one_walk_are_the_two_differences() {
        let sets = [
            Ids::new(),
            Ids::from(strings(&["a"])),
            Ids::from(strings(&["a", "c", "e"])),
            Ids::from(strings(&["b", "c", "d"])),
            Ids::from(strings(&["a", "b", "c", "d", "e", "f"])),
        ];
        for a in &sets {
            for b in &sets {
                let (only_a, only_b) = differences(a, b);
                assert_eq!(only_a, difference(a, b), "{a:?} − {b:?}");
                assert_eq!(only_b, difference(b, a), "{b:?} − {a:?}");
            }
        }
        // Over selections too: the sorted sets the planner works on.
        let a = Ids::from(strings(&["e", "a", "c", "a"])).into_sorted_set();
        let b = Ids::from(strings(&["d", "c", "b"])).into_sorted_set();
        assert_eq!(
            differences(&a, &b),
            (
                Ids::from(strings(&["a", "e"])),
                Ids::from(strings(&["b", "d"]))
            )
        );
    }

    proptest::proptest! {
        /// Sets of very different sizes and long runs on either side, as the gallop meets
        /// them, over whole buffers and selections alike; the bytes follow the ids.
        #[test]
        fn differences_match_sets_of_strings(
            a in proptest::collection::btree_set("[a-c]{1,4}", 0..120),
            b in proptest::collection::btree_set("[a-c]{1,4}", 0..12),
            select_a in proptest::bool::ANY,
        ) {
            let sorted = |set: &std::collections::BTreeSet<String>, select: bool| {
                let ids: Ids = set.iter().rev().collect();
                if select { ids.into_sorted_set() } else { set.iter().collect() }
            };
            for (a, b) in [(&a, &b), (&b, &a)] {
                let (ids_a, ids_b) = (sorted(a, select_a), sorted(b, !select_a));
                let (only_a, only_b) = differences(&ids_a, &ids_b);
                let expected_a: Vec<String> = a.difference(b).cloned().collect();
                let expected_b: Vec<String> = b.difference(a).cloned().collect();
                proptest::prop_assert_eq!(only_a.to_vec(), expected_a.clone());
                proptest::prop_assert_eq!(only_b.to_vec(), expected_b.clone());
                proptest::prop_assert_eq!(only_a.joined_len(), expected_a.join(",").len());
                proptest::prop_assert_eq!(only_b.joined_len(), expected_b.join(",").len());
                proptest::prop_assert!(only_a.is_sorted_set() && only_b.is_sorted_set());
            }
        }
    }
}
