//! optisync's state store: one SQLite file (`.optisync/state.db` by default) that remembers,
//! per sync, what optisync has delivered to Optimizely, the history of runs with their counts
//! and rejected rows, the write intents that make crashed runs recoverable, and the lock that
//! keeps two runs of one sync apart. It speaks in plain types (strings, integers, JSON values
//! and its own small structs); the engine maps its domain types onto them.
//!
//! The API is synchronous because SQLite is: every call blocks on file I/O (and, for writes,
//! on the busy timeout while another process holds the write lock). Async callers should run
//! calls through `tokio::task::spawn_blocking` or keep the [`Store`] on a dedicated thread. A
//! [`Store`] is `Send` but not `Sync`; open one per thread, or share one behind a mutex.
//!
//! Crate map:
//!
//! - [`state_dir`]: where the state lives for a configured `state_dir`
//!   ([`state_dir::locate`]) and whether that folder is safe: owner-only, the user's own, not
//!   a link; optisync never changes the permissions of anything it did not create.
//! - [`store`]: [`Store`], opening a state folder for runs ([`Store::open`]) or read-only
//!   ([`Store::open_read_only`]), and connection settings ([`StoreOptions`]).
//! - [`schema`]: the ordered migrations and the schema version kept in `PRAGMA user_version`.
//! - [`sync_state`]: the per-sync state version (bumped on every state change) and
//!   [`Store::reset`].
//! - [`definitions`]: the delivered snapshot of definition syncs and [`Store::apply_batch`],
//!   which commits up to one batch of outcomes at a time.
//! - [`lists`]: the delivered member list of list-attribute syncs, stored as one blob.
//! - [`profiles`]: what ODP-attribute syncs delivered, one row per user, recorded batch by
//!   batch.
//! - [`runs`]: run history ([`RunRecord`]) and the rows each run rejected ([`RejectedRow`]).
//! - [`intents`]: write intents recorded before a request and their outcomes after it.
//! - [`lock`]: the per-sync run lock ([`LockGuard`]) and how a gone holder is detected;
//!   private helpers read process liveness from `/proc` (`process`) and store instants as
//!   Unix milliseconds (`clock`).
//! - [`controls`]: what `serve` keeps across restarts: paused syncs and the scheduled ticks
//!   it did not run, with why.
//! - [`projects`]: the product of each project seen, so a process paces its first requests by
//!   the project's own quota.
//! - [`quota`]: [`RequestLedger`], request slots that keep every process using this state
//!   directory under one token's rate limit together.
//! - [`private_file`]: writing a file only its owner can read, replacing an older one
//!   atomically (saved plans hold member ids).
//! - [`error`]: [`Error`], whose variants are the cases a caller branches on.

// unwrap is fine in tests: a panic there is the failure report.
#![cfg_attr(test, allow(clippy::unwrap_used))]

mod clock;
pub mod controls;
pub mod definitions;
pub mod error;
pub mod intents;
pub mod lists;
pub mod lock;
pub mod private_file;
mod process;
pub mod profiles;
pub mod projects;
pub mod quota;
pub mod runs;
pub mod schema;
pub mod state_dir;
pub mod store;
pub mod sync_state;

pub use controls::{Pause, SkippedTick};
pub use definitions::{Batch, DefinitionChange, DefinitionRecord};
pub use error::{Error, Result};
pub use intents::{IntentId, IntentRecord, NewIntent, Operation, Outcome};
pub use lists::{DeliveredList, ListSummary};
pub use lock::{DEFAULT_LOCK_EXPIRY, LockGuard, LockHolder, LockInfo};
pub use optisync_core::RejectedRow;
pub use quota::{RequestLedger, SlotId};
pub use runs::{MAX_PLAN_TEXT, RunCounts, RunFilter, RunFinish, RunRecord, RunStatus};
pub use schema::SCHEMA_VERSION;
pub use state_dir::Access;
pub use store::{DB_FILE_NAME, DEFAULT_BUSY_TIMEOUT, DEFAULT_DIR_NAME, Store, StoreOptions};
