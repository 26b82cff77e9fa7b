//! `optisync serve`: one process that runs every sync of the config on its schedule and
//! serves what they are doing.
//!
//! Crate map:
//! - [`schedule`]: when a sync runs by itself (cron in a time zone, an interval, manual).
//! - [`runner`]: the [`Runner`] the binary implements: one run of one sync, over the engine.
//! - [`service`]: the [`Service`]: which syncs run, are paused or back off, and the one way a
//!   run starts ([`Service::start_run`]), whoever asks.
//! - [`scheduler`]: one task per scheduled sync: ticks, catch-up after downtime, skips.
//! - [`dbt`]: "run after dbt": a new successful run of some models in dbt's run results.
//! - [`clock`]: wall-clock time read through tokio, so schedules are tested on a paused clock.
//! - [`http`]: the JSON API, health and readiness, metrics, and who may call what.
//! - [`alerts`]: alerts on a change of a sync's health, signed, delivered in the background.
//! - [`metrics`]: runs, rows, requests, throttling and waits in Prometheus' text format.
//! - [`error`]: schedules that cannot be read, addresses that cannot be bound.

// unwrap is fine in tests: a panic there is the failure report.
#![cfg_attr(test, allow(clippy::unwrap_used))]

pub mod alerts;
pub mod clock;
pub mod dbt;
pub mod error;
pub mod http;
pub mod metrics;
pub mod runner;
pub mod schedule;
pub mod scheduler;
pub mod service;

pub use error::{ScheduleError, ServeError};
pub use runner::{Outcome, RunOutcome, Runner};
pub use schedule::Schedule;
pub use service::{Service, SyncInfo, Trigger};
