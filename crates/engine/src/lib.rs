//! optisync's engine: the only place where the source, the pure planner, the Optimizely
//! client and the state store meet. A run of one sync flows through the modules in this
//! order:
//!
//! - [`spec`]: what to run: a validated [`SyncSpec`] (plain types, not the command line's
//!   config), the user's [`RunOptions`] and the [`Target`] project.
//! - [`read`]: streams the model from the source and maps each record through core's
//!   `BoundMapping` into list ids or desired rows.
//! - [`remote`]: what Optimizely holds now: every object of the sync's type (all pages,
//!   archived too) as core's `RemoteObject`s, or the list attribute and its content.
//! - [`plan`]: gathers delivered state and calls core's pure planner ([`PreparedPlan`]).
//! - [`plan_text`]: the plan as text, as `optisync plan` prints it and as a run keeps it.
//! - [`saved`]: plan files ([`SavedPlan`]) and the staleness check of `sync --plan`.
//! - [`apply`]: sends the plan through the client: an intent before every write, its
//!   outcome after; one whole-list PATCH per run, one request per definition.
//! - [`reconcile`]: creates whose outcome is unknown or answered "already exists" (re-list,
//!   adopt, un-archive), and the unresolved intents of a killed run.
//! - [`record`]: commits outcomes to state in batches of at most 50, only for what
//!   Optimizely acknowledged.
//! - [`progress`]: progress events of the long steps, for a progress bar or a log line.
//! - [`run`]: the [`Engine`]: lock, interrupted runs, plan, guardrails, apply, run record.
//! - [`interrupt`]: a stop asked by a signal, honoured at the run's safe points.
//! - [`error`]: [`Error`], whose variants are the cases callers branch on.
//!
//! The state store is synchronous (SQLite); its calls here are short (one row or one batch)
//! and made between requests that the rate limit spaces out, so they run inline.

// unwrap is fine in tests: a panic there is the failure report.
#![cfg_attr(test, allow(clippy::unwrap_used))]

pub mod apply;
pub mod destination;
pub mod error;
pub mod interrupt;
pub mod plan;
pub mod plan_text;
pub mod policy;
pub mod progress;
pub mod read;
pub mod reconcile;
pub mod record;
pub mod remote;
pub mod run;
pub mod saved;
pub mod spec;

pub use error::{Error, Result};
pub use plan::PreparedPlan;
pub use run::{Engine, Release, RunReport, RunResult};
pub use saved::{SAVED_PLAN_FORMAT, SavedPlan};
pub use spec::{RunOptions, SyncSpec, Target};
