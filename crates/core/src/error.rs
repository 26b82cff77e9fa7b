//! The errors of optisync-core: one type per thing a caller can get wrong before planning
//! (a mapping that does not fit the model, a malformed audience-name template, a record of the
//! wrong shape, an unknown enum name). Problems found in individual rows are not errors here:
//! the planner turns them into [`RejectedRow`](crate::RejectedRow)s and goes on.

use std::fmt;

use crate::mapping::Field;

/// A mapping, primary key or audience-name template that does not fit the object type or the
/// model's columns. Reported by `validate` before anything runs.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum MappingError {
    /// The mapping names a destination field optisync does not know at all.
    #[error("mapping names unknown field `{name}`; {object} syncs can map: {allowed}")]
    UnknownField {
        /// The name as written in the config.
        name: String,
        /// The sync's object type.
        object: &'static str,
        /// The fields this object type offers, comma-separated.
        allowed: String,
    },
    /// The field exists, but not on this object type.
    #[error("{object} has no field `{field}`; {object} syncs can map: {allowed}")]
    FieldNotForObject {
        /// The field.
        field: Field,
        /// The sync's object type.
        object: &'static str,
        /// The fields this object type offers, comma-separated.
        allowed: String,
    },
    /// A required field is not mapped.
    #[error("mapping must set `{field}` for {object} syncs (e.g. {field} = \"some_column\")")]
    MissingRequired {
        /// The field.
        field: Field,
        /// The sync's object type.
        object: &'static str,
    },
    /// A mapping entry names no column.
    #[error("mapping `{field}` names no column")]
    EmptyColumn {
        /// The field.
        field: Field,
    },
    /// Something names a column the model does not return.
    #[error(
        "{used_by} uses column `{column}`, which the model does not return; columns: {available}"
    )]
    MissingColumn {
        /// What names the column: "mapping `name`", "primary_key", "audience_name".
        used_by: String,
        /// The missing column.
        column: String,
        /// The model's columns, comma-separated.
        available: String,
    },
    /// The `audience_name` template cannot be parsed.
    #[error("audience_name {template:?}: {problem}")]
    Template {
        /// The template as written.
        template: String,
        /// What is wrong and where.
        problem: String,
    },
}

/// Every problem found in one mapping, so `validate` can report them all at once.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub struct MappingErrors(pub Vec<MappingError>);

impl fmt::Display for MappingErrors {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, error) in self.0.iter().enumerate() {
            if i > 0 {
                f.write_str("\n")?;
            }
            write!(f, "{error}")?;
        }
        Ok(())
    }
}

/// An audience `conditions` value that is not valid condition JSON, with where it goes wrong.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("conditions at {path}: {problem}")]
pub struct ConditionsError {
    /// A JSON path to the offending element, e.g. `$[2][1].match_type`.
    pub path: String,
    /// What is wrong there.
    pub problem: String,
}

/// A record whose value count does not match its column count.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("record has {values} values for {columns} columns")]
pub struct RecordShapeError {
    /// Number of columns.
    pub columns: usize,
    /// Number of values given.
    pub values: usize,
}

/// A name that is not one of an enum's spellings (object type, mode, field, category).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("unknown {what} `{given}`; expected one of: {expected}")]
pub struct ParseNameError {
    /// What was being parsed ("object type", "mode", ...).
    pub what: &'static str,
    /// The text given.
    pub given: String,
    /// The accepted spellings, comma-separated.
    pub expected: String,
}
