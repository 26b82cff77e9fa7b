//! optisync's core: the records a model yields, their mapping to Optimizely fields, the rules
//! rows must pass, and the pure planner that turns (desired rows, delivered state, remote
//! state, mode) into a plan. Nothing here does I/O, reads the clock or the environment, or
//! draws random numbers; the engine around it fetches, sends and records.
//!
//! Crate map, in data-flow order:
//!
//! - [`value`]: [`Value`] (one cell) and [`Record`] (one row with shared column names).
//! - [`kind`]: [`SyncKind`], what a sync writes and how, which cannot hold a pair the
//!   product does not offer; [`rules`]: what one object type means, as data its
//!   destination module (in the engine) fills in.
//! - [`mapping`]: destination [`Field`]s, the user's [`Mapping`], the audience
//!   [`NameTemplate`], and [`BoundMapping`], which maps records to [`DesiredRow`]s.
//! - [`validate`]: item rules (list ids, keys, categories, list size, PII heuristic).
//! - [`conditions`]: audience condition parsing, validation, comparison, serialization.
//! - [`fields`]: validated field values ([`Fields`]) and how they compare.
//! - [`hash`]: the stable content hash stored with delivered definitions.
//! - [`remote`] and [`delivered`]: what Optimizely holds, and what optisync last delivered.
//! - [`profiles`]: an ODP-attribute sync's users and values ([`ProfileRows`] as read,
//!   [`ProfileState`] as delivered).
//! - [`planner`]: [`plan_list`], [`plan_definitions`] and [`plan_profiles`].
//! - [`plan`]: the serializable [`SyncPlan`] they return, with guardrails and refusals.
//! - [`error`]: the crate's error types.

// unwrap is fine in tests: a panic there is the failure report.
#![cfg_attr(test, allow(clippy::unwrap_used))]

pub mod conditions;
pub mod delivered;
pub mod error;
pub mod fields;
pub mod hash;
pub mod ids;
pub mod kind;
pub mod mapping;
mod object;
pub mod plan;
pub mod planner;
pub mod profiles;
pub mod remote;
pub mod rules;
pub mod stats;
pub mod validate;
pub mod value;

pub use conditions::Conditions;
pub use delivered::{DeliveredDefinitions, DeliveredObject};
pub use error::{ConditionsError, MappingError, MappingErrors, ParseNameError, RecordShapeError};
pub use fields::{FieldValue, Fields};
pub use hash::{ContentHash, content_hash};
pub use ids::{Ids, IdsIter, ModelIds, RejectedId};
pub use kind::{DefinitionKind, DefinitionMode, KindError, ListMode, SyncKind};
pub use mapping::{BoundMapping, DesiredRow, Field, Mapping, NameTemplate, RowProblem};
pub use plan::{
    Change, DefinitionPlan, Drift, FieldChange, Guardrail, ListBase, ListChange, ListPlan,
    PLAN_FORMAT_VERSION, PROFILES_PER_REQUEST, PlanBody, ProfilePlan, ProfileSample, Refusal,
    RejectedRow, Skip, StateRecord, SyncPlan,
};
pub use planner::{
    DEFAULT_MAX_REMOVAL_PERCENT, DefinitionOptions, DefinitionPlanInput, ListOptions,
    ListPlanInput, ProfileOptions, ProfilePlanInput, plan_definitions, plan_list, plan_profiles,
};
pub use profiles::{ProfileNumber, ProfileRows, ProfileState, ProfileValue, ValueTable};
pub use remote::{RemoteList, RemoteObject};
pub use rules::{DefinitionRules, Matching, ObjectRules};
pub use stats::{RunDetails, RunStats, StepTiming};
pub use validate::{EventCategory, PiiKind};
pub use value::{Record, Value};
