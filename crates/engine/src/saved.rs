//! Saved plans: what `plan --out FILE` writes and `sync --plan FILE` applies exactly (ADR
//! 0006). Each sync's entry carries the sync's state version and config hash when it was
//! planned; a plan whose sync has run, been reset or been edited since is refused as stale
//! rather than applied to a state it was not made for.
//!
//! The file also records what Optimizely held of what each plan builds on ([`RemoteSeen`]):
//! a list's content (its member count and a hash of the sorted members; the members
//! themselves follow from the plan, since they are the plan's `after` without its `added`,
//! plus its `removed`), and, for definitions, a fingerprint of every object the plan updates
//! or records in state. Before sending anything, `sync --plan` reads Optimizely again and
//! compares ([`check_remote`]): a list edited by hand, an object edited or deleted, or an
//! object created with the key or name a planned create uses, makes the plan refused with
//! [`Refusal::RemoteChanged`] (exit code 7), because applying it would silently overwrite or
//! ignore that edit, which a fresh plan reports as drift.

use std::collections::{BTreeMap, HashMap, HashSet};

use optisync_core::{
    Change, ContentHash, DefinitionRules, Ids, ListChange, Refusal, RemoteList, RemoteObject,
    SyncKind, SyncPlan, content_hash,
};
use optisync_optimizely::{Client, ListAttribute};
use optisync_state::{IntentRecord, Operation};
use serde::{Deserialize, Serialize};

use crate::apply::list_hash;
use crate::error::{Error, Result};
use crate::plan::PreparedPlan;
use crate::remote::{list_objects, read_list};
use crate::spec::{SyncSpec, Target};
use optisync_core::hash::Fnv;

/// Version of the saved-plan file format. Version 2 added [`SavedPlan::remote_seen`];
/// version 3 split each plan's body by kind (a tagged `list` or `definitions` body).
pub const SAVED_PLAN_FORMAT: u32 = 3;

/// A plan file.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct SavedPlan {
    /// [`SAVED_PLAN_FORMAT`] of the writer.
    pub format_version: u32,
    /// When it was made (RFC 3339).
    pub created_at: String,
    /// One entry per sync planned.
    pub syncs: Vec<PreparedPlan>,
    /// What Optimizely held of what each sync's plan builds on, by sync name.
    pub remote_seen: BTreeMap<String, RemoteSeen>,
}

/// The first field of a plan file, read before the rest so that a file of another format is
/// named as such rather than reported as a parse error deep inside.
#[derive(Deserialize)]
struct Header {
    format_version: Option<u32>,
}

impl SavedPlan {
    /// A plan file of `syncs`, made now.
    pub fn new(syncs: Vec<PreparedPlan>) -> Self {
        let remote_seen = syncs
            .iter()
            .map(|p| (p.plan.sync.clone(), p.seen()))
            .collect();
        Self {
            format_version: SAVED_PLAN_FORMAT,
            created_at: chrono::Utc::now().to_rfc3339(),
            syncs,
            remote_seen,
        }
    }

    /// Reads a plan file's text, refusing a file of another format version.
    pub fn from_json(text: &str) -> Result<Self> {
        let header: Header = serde_json::from_str(text).map_err(|e| Error::PlanFile {
            message: format!("it is not an optisync plan file ({e})"),
        })?;
        match header.format_version {
            Some(SAVED_PLAN_FORMAT) => {}
            Some(found) => {
                return Err(Error::PlanFile {
                    message: format!(
                        "it was written in plan-file format {found}, and this version of optisync applies format {SAVED_PLAN_FORMAT} only (older plans are laid out differently); run `optisync plan --out FILE` again and apply the new file"
                    ),
                });
            }
            None => {
                return Err(Error::PlanFile {
                    message: "it is not an optisync plan file (it has no format_version)"
                        .to_owned(),
                });
            }
        }
        serde_json::from_str(text).map_err(|e| Error::PlanFile {
            message: format!(
                "it is not a valid optisync plan file ({e}); run `optisync plan --out FILE` again"
            ),
        })
    }

    /// The entry of `sync`, if the file has one, with what Optimizely held when it was made.
    pub fn entry(&self, sync: &str) -> Option<PreparedPlan> {
        let mut entry = self.syncs.iter().find(|p| p.plan.sync == sync)?.clone();
        entry.remote_seen = self.remote_seen.get(sync).cloned().unwrap_or_default();
        Some(entry)
    }
}

/// What Optimizely held, when a plan was made, of what the plan builds on.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum RemoteSeen {
    /// Nothing recorded: a plan made for printing only, or an entry missing from a file.
    #[default]
    Unrecorded,
    /// A list attribute.
    List {
        /// Its content; `None` when the API did not return it (nothing to compare then).
        content: Option<ListSeen>,
    },
    /// ODP profiles: ODP cannot list who holds a field, so there is nothing to compare; the
    /// sync's state version (checked first) is what a saved ODP plan is made from.
    Profiles,
    /// Audiences, attributes or custom events.
    Definitions {
        /// Every object the plan updates or records in state, as it was, sorted by primary
        /// key. (A planned create needs no record: no object had its key or name.)
        objects: Vec<ObjectSeen>,
    },
}

/// A list's content when the plan was made.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ListSeen {
    /// Distinct members.
    pub members: u64,
    /// [`members_hash`] of the sorted distinct members.
    pub hash: String,
}

/// One remote object a plan builds on, as it was.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ObjectSeen {
    /// The model row matched to it.
    pub primary_key: String,
    /// Optimizely's id.
    pub id: i64,
    /// Whether it was archived.
    pub archived: bool,
    /// [`content_hash`] of its fields.
    pub hash: ContentHash,
}

/// A hash of a sorted set of members, each followed by a comma.
pub fn members_hash<'a>(members: impl IntoIterator<Item = &'a str>) -> String {
    let mut hash = Fnv::new();
    for id in members {
        hash.write(id.as_bytes());
        hash.write(b",");
    }
    format!("{:016x}", hash.finish())
}

/// What a list plan saw: the list's content as the planner measured it, rebuilt from the
/// plan. When the content is known the planner measures against it, so that content is the
/// plan's `after` without `added`, plus `removed` (all sorted sets).
pub fn list_seen(plan: &SyncPlan, content_known: bool) -> RemoteSeen {
    let content = plan.list().filter(|_| content_known).map(|change| {
        let (mut members, mut hash) = (0u64, Fnv::new());
        seen_members(change, |id| {
            members += 1;
            hash.write(id.as_bytes());
            hash.write(b",");
        });
        ListSeen {
            members,
            hash: format!("{:016x}", hash.finish()),
        }
    });
    RemoteSeen::List { content }
}

/// Calls `each` with every member of the content a list plan was measured against, in
/// order: the sorted merge of `after − added` and `removed`.
fn seen_members<'a>(change: &'a ListChange, mut each: impl FnMut(&'a str)) {
    let (after, added, removed) = (&change.after, &change.added, &change.removed);
    let (mut a, mut b, mut r) = (0, 0, 0);
    loop {
        // The next member of after − added (added ⊆ after, both sorted).
        let mut kept = None;
        while let Some(x) = after.get(a) {
            match added.get(b) {
                Some(y) if y == x => {
                    a += 1;
                    b += 1;
                }
                Some(y) if y < x => b += 1,
                _ => {
                    kept = Some(x);
                    break;
                }
            }
        }
        match (kept, removed.get(r)) {
            (Some(x), Some(y)) if y < x => {
                each(y);
                r += 1;
            }
            (Some(x), _) => {
                each(x);
                a += 1;
            }
            (None, Some(y)) => {
                each(y);
                r += 1;
            }
            (None, None) => break,
        }
    }
}

/// What a definitions plan saw: the fingerprint of every object its updates and state
/// records were matched to. `fingerprints` holds every listed object's (archived, hash).
pub fn definitions_seen(
    plan: &SyncPlan,
    fingerprints: &HashMap<i64, (bool, ContentHash)>,
) -> RemoteSeen {
    let updates = plan.changes().iter().filter_map(|c| match c {
        Change::Update {
            primary_key,
            remote_id,
            ..
        } => Some((primary_key, *remote_id)),
        Change::Create { .. } => None,
    });
    let records = plan
        .record_only()
        .iter()
        .map(|r| (&r.primary_key, r.remote_id));
    let mut objects: Vec<ObjectSeen> = updates
        .chain(records)
        .filter_map(|(primary_key, id)| {
            let (archived, hash) = *fingerprints.get(&id)?;
            Some(ObjectSeen {
                primary_key: primary_key.clone(),
                id,
                archived,
                hash,
            })
        })
        .collect();
    objects.sort_by(|a, b| a.primary_key.cmp(&b.primary_key));
    RemoteSeen::Definitions { objects }
}

/// The fingerprint of a listed object, as [`definitions_seen`] takes it.
pub fn fingerprint(object: &RemoteObject) -> (i64, (bool, ContentHash)) {
    (object.id, (object.archived, content_hash(&object.fields)))
}

/// Checks that `saved` still applies to `spec` at `state_version` on `project_id`.
pub fn check_fresh(
    saved: &PreparedPlan,
    spec: &SyncSpec,
    project_id: i64,
    state_version: u64,
) -> Result<()> {
    let stale = |reason: String| {
        Err(Error::StalePlan {
            sync: spec.name.clone(),
            reason,
        })
    };
    if saved.project_id != project_id {
        return stale(format!(
            "it was made for project {}, the config now names project {project_id}",
            saved.project_id
        ));
    }
    if saved.config_hash != spec.config_hash(project_id) {
        return stale("the sync's config changed since it was made".to_owned());
    }
    if saved.state_version != state_version {
        return stale(format!(
            "the sync's state moved since it was made (version {} then, {state_version} now: another run or a reset happened)",
            saved.state_version
        ));
    }
    let recorded = matches!(
        (&saved.remote_seen, spec.kind),
        (RemoteSeen::List { .. }, SyncKind::List { .. })
            | (RemoteSeen::Profiles, SyncKind::OdpAttribute { .. })
            | (RemoteSeen::Definitions { .. }, SyncKind::Definition { .. })
    );
    if !recorded {
        return stale(
            "the plan file does not record what Optimizely held when it was made".to_owned(),
        );
    }
    Ok(())
}

/// Reads what Optimizely holds now of what the saved plan builds on and compares it with
/// what the plan saw. When they differ, the plan gets [`Refusal::RemoteChanged`] and nothing
/// will be sent. Writes of this sync that a killed run may have made (`unresolved` intents)
/// are not counted as changes made outside optisync. A plan already refused or blocked is
/// left as it is. Returns the list attribute (list plans), which the PATCH sends back.
pub async fn check_remote(
    client: &Client,
    spec: &SyncSpec,
    target: Target,
    saved: &mut PreparedPlan,
    unresolved: &[IntentRecord],
) -> Result<Option<ListAttribute>> {
    let blocked = saved.plan.is_blocked();
    let refusal = match &saved.remote_seen {
        RemoteSeen::List { content } => {
            if saved.plan.list().is_none() {
                return Ok(None);
            }
            let (attribute, now) = read_list(client, spec, target).await?;
            let ours = attribute
                .list_content
                .as_deref()
                .map(list_hash)
                .is_some_and(|hash| {
                    unresolved
                        .iter()
                        .any(|i| i.operation == Operation::ListPatch && i.body_hash == hash)
                });
            let refusal = match (content, saved.plan.list()) {
                (Some(seen), Some(change)) if !blocked && !ours => list_changed(seen, change, now),
                _ => None,
            };
            if let Some(refusal) = refusal {
                saved.plan.refusal = Some(refusal);
            }
            return Ok(Some(attribute));
        }
        RemoteSeen::Definitions { objects } if !blocked => match spec.kind.definition() {
            Some(kind) => {
                let now = list_objects(client, spec, target).await?;
                let rules = crate::destination::definition(kind).rules();
                definitions_changed(rules, &saved.plan, objects, &now, unresolved)
            }
            None => None,
        },
        _ => None,
    };
    if let Some(refusal) = refusal {
        saved.plan.refusal = Some(refusal);
    }
    Ok(None)
}

/// The refusal for a list whose content is not what the plan saw.
fn list_changed(seen: &ListSeen, change: &ListChange, now: RemoteList) -> Option<Refusal> {
    let refusal = |added, removed, content_unreadable| Refusal::RemoteChanged {
        object: optisync_core::kind::LIST_ATTRIBUTE.to_owned(),
        added,
        removed,
        changed: 0,
        content_unreadable,
    };
    let RemoteList::Known(now) = now else {
        return Some(refusal(0, 0, true));
    };
    let now = now.into_sorted_set();
    if now.len() as u64 == seen.members && members_hash(now.iter()) == seen.hash {
        return None;
    }
    let mut then = Vec::with_capacity(seen.members.try_into().unwrap_or(0));
    seen_members(change, |id| then.push(id));
    let then: Ids = then.into_iter().collect();
    let (added, removed) = difference_counts(&now, &then);
    Some(refusal(added, removed, false))
}

/// `(|a − b|, |b − a|)` of two sorted sets.
fn difference_counts(a: &Ids, b: &Ids) -> (u64, u64) {
    let (mut i, mut j) = (0, 0);
    let (mut only_a, mut only_b) = (0u64, 0u64);
    loop {
        match (a.get(i), b.get(j)) {
            (Some(x), Some(y)) => match x.cmp(y) {
                std::cmp::Ordering::Less => {
                    only_a += 1;
                    i += 1;
                }
                std::cmp::Ordering::Greater => {
                    only_b += 1;
                    j += 1;
                }
                std::cmp::Ordering::Equal => {
                    i += 1;
                    j += 1;
                }
            },
            (Some(_), None) => {
                only_a += 1;
                i += 1;
            }
            (None, Some(_)) => {
                only_b += 1;
                j += 1;
            }
            (None, None) => return (only_a, only_b),
        }
    }
}

/// The refusal for definitions whose objects are not what the plan saw: an object it
/// updates or records was edited or deleted, or one now holds a key or name it creates.
fn definitions_changed(
    rules: &DefinitionRules,
    plan: &SyncPlan,
    seen: &[ObjectSeen],
    now: &[RemoteObject],
    unresolved: &[IntentRecord],
) -> Option<Refusal> {
    let ours: HashSet<&str> = unresolved
        .iter()
        .filter_map(|i| i.primary_key.as_deref())
        .collect();
    let by_id: HashMap<i64, &RemoteObject> = now.iter().map(|o| (o.id, o)).collect();
    let (mut changed, mut removed) = (0u64, 0u64);
    for s in seen
        .iter()
        .filter(|s| !ours.contains(s.primary_key.as_str()))
    {
        match by_id.get(&s.id) {
            None => removed += 1,
            Some(o) if o.archived != s.archived || content_hash(&o.fields) != s.hash => {
                changed += 1;
            }
            Some(_) => {}
        }
    }
    let identity = rules.identity;
    let taken: HashSet<&str> = now.iter().filter_map(|o| o.fields.text(identity)).collect();
    let added = plan
        .changes()
        .iter()
        .filter_map(|c| match c {
            Change::Create {
                primary_key,
                fields,
                ..
            } if !ours.contains(primary_key.as_str()) => fields.text(identity),
            _ => None,
        })
        .filter(|id| taken.contains(id))
        .count() as u64;
    (changed + removed + added > 0).then_some(Refusal::RemoteChanged {
        object: rules.object.object.to_owned(),
        added,
        removed,
        changed,
        content_unreadable: false,
    })
}

#[cfg(test)]
mod tests {
    use optisync_core::{
        DefinitionKind, DefinitionMode, Field, Fields, ListBase, ListPlan, PlanBody,
    };

    use super::*;

    fn ids(list: &[&str]) -> Ids {
        list.iter().copied().collect()
    }

    fn change(after: &[&str], added: &[&str], removed: &[&str]) -> ListChange {
        ListChange {
            list_attribute_id: 1,
            before_count: None,
            after_count: after.len() as u64,
            added: ids(added),
            removed: ids(removed),
            after: ids(after),
            patch: true,
            base: ListBase::Empty,
            duplicates: 0,
            drift: None,
        }
    }

    #[test]
    fn the_seen_list_is_after_without_added_plus_removed() {
        // Seen: a, c, d, f. Model: b, c, d, e (mirror).
        let c = change(&["b", "c", "d", "e"], &["b", "e"], &["a", "f"]);
        let mut seen = Vec::new();
        seen_members(&c, |id| seen.push(id));
        assert_eq!(seen, ["a", "c", "d", "f"]);
        let plan = SyncPlan {
            body: PlanBody::List(ListPlan {
                unchanged: 0,
                list: Some(c),
            }),
            ..serde_json::from_value(serde_json::json!({
                "sync": "s", "object": "list_attribute", "mode": "mirror", "rows_read": 0,
                "body": {"type": "list", "unchanged": 0, "list": null}, "rejected": [],
                "warnings": [], "guardrails": [], "refusal": null
            }))
            .unwrap()
        };
        let RemoteSeen::List {
            content: Some(recorded),
        } = list_seen(&plan, true)
        else {
            panic!("content recorded");
        };
        assert_eq!(recorded.members, 4);
        assert_eq!(recorded.hash, members_hash(["a", "c", "d", "f"]));
        assert_eq!(list_seen(&plan, false), RemoteSeen::List { content: None });

        let c = plan.list().unwrap().clone();
        let same = RemoteList::Known(ids(&["f", "d", "c", "a", "a"]));
        assert_eq!(list_changed(&recorded, &c, same), None);
        let edited = RemoteList::Known(ids(&["a", "c", "d", "x", "y"]));
        assert_eq!(
            list_changed(&recorded, &c, edited),
            Some(Refusal::RemoteChanged {
                object: "list_attribute".into(),
                added: 2,
                removed: 1,
                changed: 0,
                content_unreadable: false,
            })
        );
        assert!(matches!(
            list_changed(&recorded, &c, RemoteList::Unknown),
            Some(Refusal::RemoteChanged {
                content_unreadable: true,
                ..
            })
        ));
    }

    fn object(id: i64, key: &str, description: &str) -> RemoteObject {
        let mut fields = Fields::new();
        fields.insert(Field::Key, optisync_core::FieldValue::Text(key.into()));
        fields.insert(
            Field::Description,
            optisync_core::FieldValue::Text(description.into()),
        );
        RemoteObject {
            id,
            archived: false,
            fields,
        }
    }

    #[test]
    fn definitions_refuse_edited_deleted_and_newly_taken_objects() {
        let plan_json = serde_json::json!({
            "sync": "s", "object": "attribute", "mode": "upsert", "rows_read": 3,
            "rejected": [], "warnings": [], "guardrails": [], "refusal": null,
            "body": {"type": "definitions", "unchanged": 0, "skipped": [], "changes": [
                {"action": "create", "primary_key": "new", "fields": {"key": "new"}, "hash": "0000000000000001"},
                {"action": "update", "primary_key": "k1", "remote_id": 1, "changed": [], "unarchive": false, "fields": {"key": "k1"}, "hash": "0000000000000002"}
            ],
            "record_only": [
                {"primary_key": "k2", "remote_id": 2, "fields": {"key": "k2"}, "hash": "0000000000000003"}
            ]}
        });
        let plan: SyncPlan = serde_json::from_value(plan_json).unwrap();
        assert_eq!(
            plan.kind,
            SyncKind::Definition {
                kind: DefinitionKind::Attribute,
                mode: DefinitionMode::Upsert
            }
        );
        let rules = crate::destination::definition(DefinitionKind::Attribute).rules();
        let then = [object(1, "k1", "one"), object(2, "k2", "two")];
        let fingerprints = then.iter().map(fingerprint).collect();
        let RemoteSeen::Definitions { objects } = definitions_seen(&plan, &fingerprints) else {
            panic!("definitions");
        };
        assert_eq!(objects.len(), 2);
        let check = |now: &[RemoteObject]| definitions_changed(rules, &plan, &objects, now, &[]);
        assert_eq!(check(&then), None);
        let edited = [object(1, "k1", "edited by hand"), object(2, "k2", "two")];
        assert!(matches!(
            check(&edited),
            Some(Refusal::RemoteChanged {
                changed: 1,
                removed: 0,
                added: 0,
                ..
            })
        ));
        let deleted_and_taken = [object(1, "k1", "one"), object(3, "new", "by hand")];
        assert!(matches!(
            check(&deleted_and_taken),
            Some(Refusal::RemoteChanged {
                changed: 0,
                removed: 1,
                added: 1,
                ..
            })
        ));

        // A killed run of this plan created `new` and updated k1: its own writes, not drift.
        let intent = |key: &str, operation| IntentRecord {
            id: optisync_state::IntentId(1),
            run_id: "r".into(),
            sync: "s".into(),
            primary_key: Some(key.into()),
            operation,
            body_hash: String::new(),
            created_at: chrono::Utc::now(),
            outcome: None,
            resolved_at: None,
        };
        let unresolved = [
            intent("new", Operation::Create),
            intent("k1", Operation::Update),
        ];
        let resumed = [
            object(1, "k1", "changed"),
            object(2, "k2", "two"),
            object(3, "new", ""),
        ];
        assert_eq!(
            definitions_changed(rules, &plan, &objects, &resumed, &unresolved),
            None
        );
    }

    #[test]
    fn a_file_of_another_format_is_refused_with_advice() {
        let error = SavedPlan::from_json(r#"{"format_version": 1, "created_at": "", "syncs": []}"#)
            .unwrap_err();
        let text = error.to_string();
        assert!(text.contains("format 1"), "{text}");
        assert!(
            text.contains("run `optisync plan --out FILE` again"),
            "{text}"
        );
        assert!(SavedPlan::from_json("[1, 2]").is_err());
        let empty = SavedPlan::new(Vec::new());
        let back = SavedPlan::from_json(&serde_json::to_string(&empty).unwrap()).unwrap();
        assert!(back.syncs.is_empty() && back.remote_seen.is_empty());
    }
}
