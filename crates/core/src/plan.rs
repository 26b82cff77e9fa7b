//! The plan of one sync run: what would be sent, what was rejected, what blocks the run. These
//! types are what `plan` prints and what `plan --out plan.json` writes (and `sync --plan`
//! reads back), so their serialized form is part of optisync's interface: fields are only ever
//! added, and [`PLAN_FORMAT_VERSION`] changes when a reader would misread an old file.
//!
//! Everything in a plan is sorted (changes, skips and records by primary key; rejected rows
//! by primary key, field and reason; list ids in byte order), so the same inputs always give
//! the same plan whatever order the model returned its rows in.

use std::fmt;

use serde::{Deserialize, Serialize};

use crate::fields::{FieldValue, Fields};
use crate::hash::ContentHash;
use crate::ids::Ids;
use crate::kind::{ListMode, SyncKind};
use crate::mapping::Field;
use crate::profiles::{ProfileState, ProfileValue};
use crate::validate::LIST_TOO_LARGE_HINT;

/// Version of the serialized plan format. Version 3 split the body by kind (a tagged
/// `list` or `definitions` body) and spelled the kind as `object` and `mode` checked
/// together; older files are refused with a message to plan again.
pub const PLAN_FORMAT_VERSION: u32 = 3;

/// The plan of one sync.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
pub struct SyncPlan {
    /// The sync's name.
    pub sync: String,
    /// What it writes and how (serialized as `object` and `mode`).
    #[serde(flatten)]
    pub kind: SyncKind,
    /// Rows the model returned.
    pub rows_read: u64,
    /// What the run would send and record, by kind.
    pub body: PlanBody,
    /// Rows that cannot be sent, with the reason. Not advanced in state, so planned again
    /// next run.
    pub rejected: Vec<RejectedRow>,
    /// Things the user should know that do not block the run.
    pub warnings: Vec<String>,
    /// Guardrails that block the run until overridden.
    pub guardrails: Vec<Guardrail>,
    /// Why the run cannot go ahead at all (no override).
    pub refusal: Option<Refusal>,
}

/// What a plan would send and record: one list update, or one request per object.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum PlanBody {
    /// A list-attribute sync.
    List(ListPlan),
    /// An audience, attribute or custom-event sync.
    Definitions(DefinitionPlan),
    /// An ODP-attribute sync: one customer field on each user's profile.
    Profiles(ProfilePlan),
}

/// The most profiles ODP takes in one request (docs/ODP-API.md#profiles).
pub const PROFILES_PER_REQUEST: usize = 500;

/// The body of an ODP-attribute plan.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
pub struct ProfilePlan {
    /// The ODP identifier the user ids are sent as (`fs_user_id`, `vuid`, `email`, …).
    pub identifier: String,
    /// The customer field written.
    pub field: String,
    /// Valid distinct users whose field already holds their value: no request.
    pub unchanged: u64,
    /// The profiles to send, sorted by id, each with its new value (`null` clears the
    /// field: `false` for a boolean field).
    pub upserts: ProfileState,
    /// Users given a value they did not have (new, or cleared before).
    pub joiners: u64,
    /// Users whose value changes to another value.
    pub changed: u64,
    /// Users whose field is cleared (mirror: they left the model; remove: they are in it).
    pub leavers: u64,
    /// Users this sync had given a value before the run (`None` when it never delivered).
    pub set_before: Option<u64>,
    /// Model ids that appeared more than once with the same value (each counted once).
    pub duplicates: u64,
    /// Up to 10 of the profiles sent, joiners and changes first, then leavers.
    pub samples: Vec<ProfileSample>,
}

/// One profile of a plan's sample.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
pub struct ProfileSample {
    /// The user id (masked when it looks like personal data).
    pub id: String,
    /// What this sync delivered before (`None`: nothing).
    pub before: Option<ProfileValue>,
    /// What will be sent.
    pub after: ProfileValue,
}

/// The body of a list-attribute plan.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
pub struct ListPlan {
    /// Valid distinct ids in the model (see [`ListChange`] for the rest).
    pub unchanged: u64,
    /// The list update; `None` when the run is refused before one is computed.
    pub list: Option<ListChange>,
}

/// The body of a definition plan.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
pub struct DefinitionPlan {
    /// Valid rows that need no request.
    pub unchanged: u64,
    /// Definition requests, one per object, sorted by primary key.
    pub changes: Vec<Change>,
    /// Rows deliberately not sent (insert mode: the object already exists).
    pub skipped: Vec<Skip>,
    /// Rows that need no request but whose state record must be written or refreshed
    /// (matched an existing object, or state was missing or stale).
    pub record_only: Vec<StateRecord>,
}

impl SyncPlan {
    /// An empty plan of the body `kind` calls for.
    pub fn new(sync: String, kind: SyncKind) -> Self {
        let body = match kind {
            SyncKind::List { .. } => PlanBody::List(ListPlan::default()),
            SyncKind::Definition { .. } => PlanBody::Definitions(DefinitionPlan::default()),
            SyncKind::OdpAttribute { .. } => PlanBody::Profiles(ProfilePlan::default()),
        };
        Self {
            sync,
            kind,
            rows_read: 0,
            body,
            rejected: Vec::new(),
            warnings: Vec::new(),
            guardrails: Vec::new(),
            refusal: None,
        }
    }

    /// Definition requests (none for a list).
    pub fn changes(&self) -> &[Change] {
        match &self.body {
            PlanBody::List(_) | PlanBody::Profiles(_) => &[],
            PlanBody::Definitions(d) => &d.changes,
        }
    }

    /// Rows deliberately not sent (none for a list).
    pub fn skipped(&self) -> &[Skip] {
        match &self.body {
            PlanBody::List(_) | PlanBody::Profiles(_) => &[],
            PlanBody::Definitions(d) => &d.skipped,
        }
    }

    /// State records to write without a request (none for a list).
    pub fn record_only(&self) -> &[StateRecord] {
        match &self.body {
            PlanBody::List(_) | PlanBody::Profiles(_) => &[],
            PlanBody::Definitions(d) => &d.record_only,
        }
    }

    /// The list update, for a list plan that computed one.
    pub fn list(&self) -> Option<&ListChange> {
        match &self.body {
            PlanBody::List(l) => l.list.as_ref(),
            PlanBody::Definitions(_) | PlanBody::Profiles(_) => None,
        }
    }

    /// The profiles to send, for an ODP-attribute plan.
    pub fn profiles(&self) -> Option<&ProfilePlan> {
        match &self.body {
            PlanBody::Profiles(p) => Some(p),
            PlanBody::List(_) | PlanBody::Definitions(_) => None,
        }
    }

    /// Rows (definitions) or distinct ids (lists) that need no request.
    pub fn unchanged(&self) -> u64 {
        match &self.body {
            PlanBody::List(l) => l.unchanged,
            PlanBody::Definitions(d) => d.unchanged,
            PlanBody::Profiles(p) => p.unchanged,
        }
    }

    /// HTTP write requests applying the plan takes: one per definition change, one PATCH for
    /// a changed list, one per batch of at most [`PROFILES_PER_REQUEST`] profiles. (The
    /// engine adds its own reads.)
    pub fn request_count(&self) -> u64 {
        match &self.body {
            PlanBody::List(l) => u64::from(l.list.as_ref().is_some_and(|l| l.patch)),
            PlanBody::Definitions(d) => d.changes.len() as u64,
            PlanBody::Profiles(p) => p.upserts.len().div_ceil(PROFILES_PER_REQUEST) as u64,
        }
    }

    /// Whether applying the plan sends anything.
    pub fn has_changes(&self) -> bool {
        self.request_count() > 0
    }

    /// Whether the run must not go ahead (a refusal, or a guardrail not overridden).
    pub fn is_blocked(&self) -> bool {
        self.refusal.is_some() || !self.guardrails.is_empty()
    }

    /// Whether the plan sends nothing and records nothing: the state already matches.
    pub fn is_noop(&self) -> bool {
        !self.has_changes() && self.record_only().is_empty() && self.skipped().is_empty()
    }
}

/// One definition request.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "action", rename_all = "snake_case")]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
pub enum Change {
    /// `POST` a new object.
    Create {
        /// The row's primary key.
        primary_key: String,
        /// The body's fields (API defaults filled in: a custom event's `name` is its key and
        /// its `category` is `other` unless mapped).
        fields: Fields,
        /// [`content_hash`](crate::content_hash) of the row's mapped fields, to record in
        /// state once the object exists.
        hash: ContentHash,
    },
    /// `PATCH` the fields that differ.
    Update {
        /// The row's primary key.
        primary_key: String,
        /// The object to patch.
        remote_id: i64,
        /// The fields to send, with their current and new values.
        changed: Vec<FieldChange>,
        /// Whether to send `archived: false` (the match is archived).
        unarchive: bool,
        /// All the row's mapped fields, to record in state.
        fields: Fields,
        /// Their content hash.
        hash: ContentHash,
    },
}

impl Change {
    /// The row's primary key.
    pub fn primary_key(&self) -> &str {
        match self {
            Change::Create { primary_key, .. } | Change::Update { primary_key, .. } => primary_key,
        }
    }
}

/// One field of an update.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
pub struct FieldChange {
    /// The field.
    pub field: Field,
    /// What Optimizely holds now (`None`: unset).
    pub before: Option<FieldValue>,
    /// What will be sent.
    pub after: FieldValue,
}

/// A row that needs no request but whose state record must be written.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
pub struct StateRecord {
    /// The row's primary key.
    pub primary_key: String,
    /// The object it is matched to.
    pub remote_id: i64,
    /// The row's mapped fields.
    pub fields: Fields,
    /// Their content hash.
    pub hash: ContentHash,
}

/// A row deliberately not sent.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "reason", rename_all = "snake_case")]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
pub enum Skip {
    /// Insert mode: an object with this key or name already exists.
    AlreadyExists {
        /// The row's primary key.
        primary_key: String,
        /// The existing object.
        remote_id: i64,
        /// "… already exists in project P (id N); use upsert to update it".
        message: String,
    },
}

impl Skip {
    /// The row's primary key.
    pub fn primary_key(&self) -> &str {
        match self {
            Skip::AlreadyExists { primary_key, .. } => primary_key,
        }
    }
}

/// A row that cannot be sent, whether the planner refused it or Optimizely did: the one
/// shape plans, run reports, the state store and the command line's output share. Field
/// order gives the plan's sort order.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
pub struct RejectedRow {
    /// The row's primary key (for lists: the id), if it has one.
    pub primary_key: Option<String>,
    /// The field or setting at fault (`primary_key`, `user_id`, `conditions`, …).
    pub field: Option<String>,
    /// Why, in words that do not depend on the sync.
    pub reason: String,
    /// Optimizely's `uuid` / `x-request-id`, when the API refused the row (for support).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub request_id: Option<String>,
}

/// Where a list's new content is computed from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
pub enum ListBase {
    /// What optisync last delivered.
    Delivered,
    /// The list's current content as the API returned it (first run, or `--adopt-existing`).
    RemoteContent,
    /// Nothing (mirror, or `--replace`).
    Empty,
}

/// The one list update of a list-attribute sync.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
pub struct ListChange {
    /// The list attribute.
    pub list_attribute_id: i64,
    /// Members before (the API's content if returned, else the delivered list); `None` when
    /// neither is known (first mirror run on a list whose content the API did not return).
    pub before_count: Option<u64>,
    /// Members after.
    pub after_count: u64,
    /// Members added, sorted.
    pub added: Ids,
    /// Members removed, sorted.
    pub removed: Ids,
    /// The complete list to send, sorted; the engine sends it comma-joined in one PATCH
    /// (see [`ListChange::list_content`]) and records it as the delivered list.
    pub after: Ids,
    /// Whether a PATCH is needed. False when the list already holds exactly `after`; the
    /// engine still records `after` as delivered.
    pub patch: bool,
    /// What the new list was built on.
    pub base: ListBase,
    /// Model ids that appeared more than once (each counted once).
    pub duplicates: u64,
    /// The API's content differs from what optisync delivered (edited by hand).
    pub drift: Option<Drift>,
}

impl ListChange {
    /// The `list_content` string to send.
    pub fn list_content(&self) -> String {
        self.after.join(',')
    }
}

/// How the list's current content differs from what optisync last delivered.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
pub struct Drift {
    /// Members optisync delivered.
    pub delivered_count: u64,
    /// Members the API returned.
    pub remote_count: u64,
    /// Delivered members no longer in the list.
    pub missing_count: u64,
    /// Members in the list that optisync did not deliver.
    pub unexpected_count: u64,
    /// Up to 10 of the missing members.
    pub missing_sample: Vec<String>,
    /// Up to 10 of the unexpected members.
    pub unexpected_sample: Vec<String>,
}

/// A check that blocks a run until the user overrides it (exit code 7).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
pub enum Guardrail {
    /// The model returned no rows while the last run had some.
    EmptyModel {
        /// Rows of the last run.
        last_run_rows: u64,
    },
    /// The run would remove more than the allowed share of the list.
    LargeRemoval {
        /// Members removed.
        removed: u64,
        /// Members before.
        before: u64,
        /// The configured limit, in percent.
        max_percent: f64,
    },
    /// Ids look like e-mail addresses or phone numbers.
    Pii {
        /// How many look like e-mail addresses.
        emails: u64,
        /// How many look like phone numbers.
        phones: u64,
        /// A few of them, masked.
        samples: Vec<String>,
    },
    /// The run would create more objects than `max_creates` allows: a model that suddenly
    /// returns far more rows than usual (a join gone wrong, a missing filter) would otherwise
    /// fill the project with objects that can only be archived, never deleted.
    TooManyCreates {
        /// What it would create (its `object` name).
        object: String,
        /// Objects the run would create.
        creates: u64,
        /// The sync's `max_creates`.
        max_creates: u64,
    },
}

impl Guardrail {
    /// How to override it.
    pub fn override_hint(&self) -> &'static str {
        match self {
            Guardrail::EmptyModel { .. } => "--allow-empty",
            Guardrail::LargeRemoval { .. } => "--allow-large-removal",
            Guardrail::Pii { .. } => "allow_pii = true",
            Guardrail::TooManyCreates { .. } => "--allow-many-creates",
        }
    }
}

impl fmt::Display for Guardrail {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Guardrail::EmptyModel { last_run_rows } => write!(
                f,
                "the model returned 0 rows but the last run had {last_run_rows}, which usually means an upstream job failed; check the model, or pass --allow-empty to sync anyway"
            ),
            Guardrail::LargeRemoval {
                removed,
                before,
                max_percent,
            } => {
                let percent = if *before == 0 {
                    0.0
                } else {
                    *removed as f64 * 100.0 / *before as f64
                };
                write!(
                    f,
                    "this run would remove {removed} of {before} members ({percent:.1}%), more than max_removal_percent = {max_percent}; pass --allow-large-removal if that is intended"
                )
            }
            Guardrail::Pii {
                emails,
                phones,
                samples,
            } => write!(
                f,
                "{} ids look like personal data ({emails} e-mail addresses, {phones} phone numbers; e.g. {}); Optimizely's terms forbid personal data in lists. Send pseudonymous ids, or set allow_pii = true on the sync if these are not personal data",
                emails + phones,
                samples.join(", ")
            ),
            Guardrail::TooManyCreates {
                object,
                creates,
                max_creates,
            } => write!(
                f,
                "this run would create {creates} objects ({object}), more than max_creates = {max_creates}; check the model, then pass --allow-many-creates to allow it once, or raise max_creates on the sync in the config"
            ),
        }
    }
}

/// Why a run cannot go ahead at all. Nothing is sent.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
pub enum Refusal {
    /// First add/remove run on a list whose content the API did not return.
    UnknownListContent {
        /// The list attribute.
        list_attribute_id: i64,
        /// The mode.
        mode: ListMode,
        /// Whether `--adopt-existing` was given (it needs the content too).
        adopt_requested: bool,
    },
    /// The comma-joined list exceeds the size limit.
    ListTooLarge {
        /// Its size in bytes.
        bytes: u64,
        /// The limit in bytes.
        limit: u64,
    },
    /// Feature Experimentation's limit of unarchived objects of the kind (attributes)
    /// would be passed.
    UnarchivedLimit {
        /// The object type (its `object` name).
        object: String,
        /// Unarchived objects after the plan.
        unarchived_after: u64,
        /// The limit.
        limit: u64,
    },
    /// A saved plan whose remote objects or list changed in Optimizely after it was made
    /// (edited by hand, or by another tool): applying it would silently undo or ignore those
    /// edits. Counts are of changes made outside optisync.
    RemoteChanged {
        /// The object type (its `object` name).
        object: String,
        /// List members added, or objects created (whose key or name a planned create uses).
        added: u64,
        /// List members removed, or objects deleted.
        removed: u64,
        /// Objects whose fields changed (definitions).
        changed: u64,
        /// Whether the list's content could be read when the plan was made but not now.
        content_unreadable: bool,
    },
    /// A fixed audience name with a model that did not return exactly one row.
    FixedNameRows {
        /// The fixed name.
        name: String,
        /// Rows returned.
        rows: u64,
    },
}

impl fmt::Display for Refusal {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Refusal::UnknownListContent {
                list_attribute_id,
                mode,
                adopt_requested,
            } => {
                write!(
                    f,
                    "list attribute {list_attribute_id} may already hold members that optisync did not write, and the API did not return its content, so mode {mode} cannot build on it"
                )?;
                if *adopt_requested {
                    f.write_str(" (--adopt-existing needs that content too)")?;
                }
                let result = if *mode == ListMode::Remove {
                    "an empty list"
                } else {
                    "the model's ids"
                };
                write!(
                    f,
                    "; pass --replace to overwrite the list with {result}, or use mode mirror"
                )
            }
            Refusal::ListTooLarge { bytes, limit } => write!(
                f,
                "the list would be {bytes} bytes, over the {limit}-byte limit of a list attribute; {LIST_TOO_LARGE_HINT}"
            ),
            Refusal::UnarchivedLimit {
                object,
                unarchived_after,
                limit,
            } => write!(
                f,
                "this run would leave {unarchived_after} unarchived {}s, but Feature Experimentation allows at most {limit} per project; archive unused ones or take rows out of the model",
                object.replace('_', " ")
            ),
            Refusal::FixedNameRows { name, rows } => write!(
                f,
                "audience_name {name:?} is a fixed name, so the model must return exactly one row, but it returned {rows}; use a template such as \"{{segment_name}}\" for one audience per row"
            ),
            Refusal::RemoteChanged {
                object,
                added,
                removed,
                changed,
                content_unreadable,
            } => {
                f.write_str("Optimizely changed since the plan was made: ")?;
                if *content_unreadable {
                    f.write_str("the list's content was readable then and is not now")?;
                } else if object == crate::kind::LIST_ATTRIBUTE {
                    write!(
                        f,
                        "{added} {} added, {removed} removed outside optisync",
                        if *added == 1 { "member" } else { "members" }
                    )?;
                } else {
                    let objects = format!("{}s", object.replace('_', " "));
                    write!(
                        f,
                        "{changed} changed, {removed} deleted and {added} created outside optisync among the {objects} this plan updates, records or creates"
                    )?;
                }
                f.write_str("; the saved plan was not applied, nothing was sent; run `optisync plan` again (with --out to save it)")
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn guardrail_messages_name_their_override() {
        let cases = [
            Guardrail::EmptyModel { last_run_rows: 10 },
            Guardrail::LargeRemoval {
                removed: 30,
                before: 100,
                max_percent: 20.0,
            },
            Guardrail::Pii {
                emails: 1,
                phones: 0,
                samples: vec!["j***@example.com".into()],
            },
            Guardrail::TooManyCreates {
                object: "attribute".into(),
                creates: 1500,
                max_creates: 1000,
            },
        ];
        for g in cases {
            assert!(g.to_string().contains(g.override_hint()), "{g}");
        }
        let g = Guardrail::LargeRemoval {
            removed: 30,
            before: 100,
            max_percent: 20.0,
        };
        assert!(g.to_string().contains("30 of 100 members (30.0%)"));
    }

    #[test]
    fn too_many_creates_says_how_many_the_limit_and_how_to_override() {
        let g = Guardrail::TooManyCreates {
            object: "audience".into(),
            creates: 1500,
            max_creates: 1000,
        };
        let text = g.to_string();
        for part in [
            "create 1500 objects (audience)",
            "max_creates = 1000",
            "--allow-many-creates",
        ] {
            assert!(text.contains(part), "{text}");
        }
    }

    #[test]
    fn remote_changed_counts_what_moved_and_says_to_plan_again() {
        let list = Refusal::RemoteChanged {
            object: "list_attribute".into(),
            added: 1,
            removed: 2,
            changed: 0,
            content_unreadable: false,
        };
        assert!(list.to_string().contains(
            "Optimizely changed since the plan was made: 1 member added, 2 removed outside optisync"
        ), "{list}");
        assert!(
            list.to_string().contains("run `optisync plan` again"),
            "{list}"
        );
        let defs = Refusal::RemoteChanged {
            object: "attribute".into(),
            added: 0,
            removed: 0,
            changed: 1,
            content_unreadable: false,
        };
        assert!(
            defs.to_string().contains(
                "1 changed, 0 deleted and 0 created outside optisync among the attributes"
            ),
            "{defs}"
        );
    }

    #[test]
    fn list_too_large_says_how_to_split() {
        let r = Refusal::ListTooLarge {
            bytes: 6_000_000,
            limit: 5_000_000,
        };
        assert!(r.to_string().contains(
            "split the audience across several list attributes and OR them in one audience"
        ));
    }

    #[test]
    fn request_count_counts_changes_and_the_list_patch() {
        let kind = SyncKind::parse("attribute", "upsert").unwrap();
        let mut plan = SyncPlan::new("s".into(), kind);
        assert_eq!(plan.request_count(), 0);
        assert!(plan.is_noop());
        let PlanBody::Definitions(body) = &mut plan.body else {
            panic!("a definition plan has a definitions body");
        };
        body.changes.push(Change::Create {
            primary_key: "a".into(),
            fields: Fields::new(),
            hash: ContentHash(1),
        });
        assert_eq!(plan.request_count(), 1);
        let mut plan = SyncPlan::new(
            "s".into(),
            SyncKind::parse("list_attribute", "add").unwrap(),
        );
        assert_eq!(plan.request_count(), 0);
        let PlanBody::List(body) = &mut plan.body else {
            panic!("a list plan has a list body");
        };
        body.list = Some(ListChange {
            list_attribute_id: 1,
            before_count: Some(0),
            after_count: 1,
            added: Ids::from(vec!["x".to_owned()]),
            removed: Ids::new(),
            after: Ids::from(vec!["x".to_owned()]),
            patch: true,
            base: ListBase::Delivered,
            duplicates: 0,
            drift: None,
        });
        assert_eq!(plan.request_count(), 1);
        let json = serde_json::to_value(&plan).unwrap();
        assert_eq!(json["object"], "list_attribute");
        assert_eq!(json["mode"], "add");
        assert_eq!(json["body"]["type"], "list");
        assert_eq!(serde_json::from_value::<SyncPlan>(json).unwrap(), plan);
    }

    #[test]
    fn plans_serialize_with_tagged_changes() {
        let change = Change::Update {
            primary_key: "k".into(),
            remote_id: 5,
            changed: vec![FieldChange {
                field: Field::Name,
                before: Some(FieldValue::Text("a".into())),
                after: FieldValue::Text("b".into()),
            }],
            unarchive: false,
            fields: Fields::new(),
            hash: ContentHash(0xabc),
        };
        let json = serde_json::to_value(&change).unwrap();
        assert_eq!(json["action"], "update");
        assert_eq!(json["changed"][0]["field"], "name");
        assert_eq!(json["hash"], "0000000000000abc");
        let back: Change = serde_json::from_value(json).unwrap();
        assert_eq!(back, change);
    }
}
