//! The errors a source reports, one variant per case a caller tells apart: the warehouse
//! cannot be opened or reached, the model itself is wrong (with the warehouse's own message),
//! the model returns a column optisync cannot carry, or reading stopped half way.

use std::path::PathBuf;

/// What went wrong while opening a source, describing a model or reading its rows.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum SourceError {
    /// The configured DuckDB database file does not exist. A source never creates one: a
    /// model must not be able to change the warehouse, and an empty new file would only hide
    /// a wrong path.
    #[error(
        "DuckDB database {} does not exist; fix `path` under [source] (relative paths are \
         resolved against the config file's folder), or run `optisync init --example` to \
         create a sample warehouse",
        path.display()
    )]
    MissingDatabase {
        /// The path as resolved against the base directory.
        path: PathBuf,
    },

    /// The warehouse exists but could not be opened or reached.
    #[error("cannot open {target}: {message}")]
    Unavailable {
        /// What was being opened, e.g. `DuckDB database warehouse.duckdb`.
        target: String,
        /// The warehouse's own message.
        message: String,
    },

    /// The model failed in the warehouse (syntax error, unknown table, a write on a read-only
    /// database, a runtime error while computing rows). The message is the warehouse's own,
    /// unchanged; callers prefix it with the sync's name.
    #[error("model failed: {message}")]
    Model {
        /// The warehouse's message.
        message: String,
    },

    /// The model returns a column whose type has no faithful [`Value`](optisync_core::Value).
    #[error("column `{column}` has type {type_name}, which optisync cannot sync; {hint}")]
    UnsupportedColumn {
        /// The column's name in the model.
        column: String,
        /// The warehouse's name for the type.
        type_name: String,
        /// How to change the model so that it works.
        hint: &'static str,
    },

    /// A column could not be converted as a whole (binary data inside a nested value, a
    /// result of the wrong shape). A single cell that cannot be converted is not an error:
    /// it arrives as [`Value::Invalid`](optisync_core::Value::Invalid) and rejects its row.
    #[error("column `{column}`: {message}")]
    BadValue {
        /// The column's name in the model.
        column: String,
        /// What was wrong with the value.
        message: String,
    },

    /// The reader stopped without saying why (its thread panicked or was torn down). Not
    /// expected; reported rather than mistaken for the end of the rows.
    #[error("the source's reader stopped unexpectedly before the end of the rows")]
    ReaderLost,
}

/// Shorthand for results of this crate.
pub type Result<T, E = SourceError> = std::result::Result<T, E>;
