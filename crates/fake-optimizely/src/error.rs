//! Errors of the fake server: what a caller of the library can branch on.
//!
//! API-level failures (400, 401, 404, ...) are not Rust errors here: they are answers the fake
//! gives on purpose, built in `response.rs`. This file holds the cases where the fake itself
//! cannot do what it was asked: a seed it cannot load, a connection it was told to drop.

use thiserror::Error;

/// A seed (file, admin body or [`crate::Seed`] value) that cannot be loaded.
#[derive(Debug, Error)]
pub enum SeedError {
    /// The seed file could not be read.
    #[error("cannot read seed file {path}: {source}")]
    Read {
        /// The file that was asked for.
        path: String,
        /// What the operating system said.
        #[source]
        source: std::io::Error,
    },
    /// The seed is not valid JSON or does not have the seed's shape.
    #[error("seed is not valid: {0}")]
    Json(#[from] serde_json::Error),
    /// One object of the seed is malformed (wrong field type, missing key, ...).
    #[error("seed {kind} #{index}: {message}")]
    InvalidObject {
        /// The kind of object (`projects`, `attributes`, ...).
        kind: &'static str,
        /// Its position in the seed's list.
        index: usize,
        /// What is wrong with it.
        message: String,
    },
    /// An object refers to a project that neither the seed nor the current state has.
    #[error("seed {kind} #{index} refers to project {project_id}, which does not exist")]
    UnknownProject {
        /// The kind of object (`attributes`, `audiences`, ...).
        kind: &'static str,
        /// Its position in the seed's list.
        index: usize,
        /// The project it names.
        project_id: i64,
    },
}

/// The fake was told (by a fault rule) to drop the connection without answering.
///
/// Returned by [`crate::FakeOptimizely::handle`]; the TCP server turns it into a closed
/// connection with no HTTP response at all. In-process callers should treat it like a
/// connection reset.
#[derive(Debug, Error, Clone, Copy, PartialEq, Eq)]
#[error("connection dropped by fault injection ({})", if *.after_write { "after the write was applied" } else { "before the request was processed" })]
pub struct ConnectionDropped {
    /// Whether the request had been applied (its write done) before the drop.
    pub after_write: bool,
}
