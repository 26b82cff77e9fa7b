//! What a model returns, described without running it: each column's name, the warehouse's
//! name for its type, and the kind of [`Value`](optisync_core::Value) its cells arrive as.

use std::fmt;

/// One column of a model's result.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Column {
    /// The column's name as the model returns it (what a mapping refers to).
    pub name: String,
    /// The warehouse's own spelling of the type, e.g. `VARCHAR`, `DECIMAL(18,2)`,
    /// `STRUCT(a INTEGER)`; shown to users, never parsed.
    pub type_name: String,
    /// Which [`Value`](optisync_core::Value) variant the column's cells become.
    pub kind: ColumnKind,
}

/// The [`Value`](optisync_core::Value) variant a column's cells become (besides
/// [`Value::Null`](optisync_core::Value::Null), which any column may hold, and
/// [`Value::Invalid`](optisync_core::Value::Invalid), for a cell that could not be
/// converted).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum ColumnKind {
    /// [`Value::Text`](optisync_core::Value::Text): text, enums, UUIDs, dates and times in
    /// ISO 8601, and decimals too wide for a float to hold exactly.
    Text,
    /// [`Value::Int`](optisync_core::Value::Int): integers of any width. The few values of
    /// unsigned 64-bit and 128-bit columns that do not fit an `i64` arrive as
    /// [`Value::Text`](optisync_core::Value::Text) in decimal, so no digit is ever lost.
    Int,
    /// [`Value::Float`](optisync_core::Value::Float): floating point numbers and decimals of
    /// at most 15 digits (which a float holds exactly).
    Float,
    /// [`Value::Bool`](optisync_core::Value::Bool).
    Bool,
    /// [`Value::Json`](optisync_core::Value::Json): JSON columns and nested values (lists,
    /// arrays, structs, maps, unions). A JSON cell holding a number that a float would round
    /// arrives as [`Value::Text`](optisync_core::Value::Text), as the warehouse wrote it.
    Json,
    /// Always [`Value::Null`](optisync_core::Value::Null): a column of the `NULL` type, e.g.
    /// `select null as x`.
    Null,
    /// A type optisync cannot carry faithfully (binary data, bit strings, geometries): the
    /// model is refused when it runs, with [`SourceError::UnsupportedColumn`](crate::SourceError::UnsupportedColumn).
    Unsupported,
}

impl fmt::Display for ColumnKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            ColumnKind::Text => "text",
            ColumnKind::Int => "integer",
            ColumnKind::Float => "float",
            ColumnKind::Bool => "boolean",
            ColumnKind::Json => "json",
            ColumnKind::Null => "null",
            ColumnKind::Unsupported => "unsupported",
        })
    }
}
