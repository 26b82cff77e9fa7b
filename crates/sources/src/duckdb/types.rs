//! Which [`ColumnKind`] each DuckDB type becomes, decided once per column from DuckDB's
//! logical type (the Arrow type alone cannot tell a `JSON` column from a `VARCHAR` one), and
//! how to fix a model whose column cannot be carried.
//!
//! Decimals: `DECIMAL(p, 0)` is an integer (ids are often stored so) and becomes
//! [`ColumnKind::Int`]; with a scale, up to 15 digits become [`ColumnKind::Float`], which
//! holds every such value exactly and writes it back with the same digits; wider decimals
//! (e.g. `sum()` of a decimal, which DuckDB widens to 38 digits) become exact decimal
//! [`ColumnKind::Text`], because rounding a number a user will compare or display is worse
//! than handing it over as text.

use ::duckdb::core::{LogicalTypeHandle, LogicalTypeId};

use crate::column::ColumnKind;

/// Digits a float holds exactly: every decimal of at most this many significant digits
/// survives a round trip through an `f64` (IEEE 754 doubles hold 15 to 17).
pub(super) const FLOAT_EXACT_DIGITS: u8 = 15;

/// How a column's cells are produced.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) struct Decoding {
    /// What the column's cells become.
    pub(super) kind: ColumnKind,
    /// Text cells hold JSON to parse (DuckDB's `JSON` type travels as text).
    pub(super) json_text: bool,
}

/// The kind of a decimal with this precision and scale (see the module docs).
pub(super) fn decimal_kind(width: u8, scale: u8) -> ColumnKind {
    if scale == 0 {
        ColumnKind::Int
    } else if width <= FLOAT_EXACT_DIGITS {
        ColumnKind::Float
    } else {
        ColumnKind::Text
    }
}

/// How a result column of this logical type is decoded.
pub(super) fn decoding(logical: &LogicalTypeHandle) -> Decoding {
    let Ok(id) = logical.try_id() else {
        return Decoding {
            kind: ColumnKind::Unsupported,
            json_text: false,
        };
    };
    let json_text = id == LogicalTypeId::Varchar && is_json_alias(logical);
    let kind = if json_text {
        ColumnKind::Json
    } else {
        kind_of(logical, id)
    };
    Decoding { kind, json_text }
}

fn is_json_alias(logical: &LogicalTypeHandle) -> bool {
    logical
        .get_alias()
        .is_some_and(|alias| alias.eq_ignore_ascii_case("json"))
}

fn kind_of(logical: &LogicalTypeHandle, id: LogicalTypeId) -> ColumnKind {
    use LogicalTypeId as Id;
    match id {
        Id::Boolean => ColumnKind::Bool,
        Id::Tinyint
        | Id::Smallint
        | Id::Integer
        | Id::Bigint
        | Id::UTinyint
        | Id::USmallint
        | Id::UInteger
        | Id::UBigint
        | Id::Hugeint
        | Id::UHugeint
        | Id::IntegerLiteral => ColumnKind::Int,
        Id::Float | Id::Double => ColumnKind::Float,
        Id::Decimal => decimal_kind(logical.decimal_width(), logical.decimal_scale()),
        Id::Varchar
        | Id::StringLiteral
        | Id::Enum
        | Id::Uuid
        | Id::Date
        | Id::Time
        | Id::TimeNs
        | Id::Timestamp
        | Id::TimestampS
        | Id::TimestampMs
        | Id::TimestampNs
        | Id::TimestampTZ
        | Id::Interval => ColumnKind::Text,
        Id::List | Id::Array | Id::Struct | Id::Map | Id::Union => {
            if nested_is_supported(logical) {
                ColumnKind::Json
            } else {
                ColumnKind::Unsupported
            }
        }
        Id::SqlNull => ColumnKind::Null,
        _ => ColumnKind::Unsupported,
    }
}

/// Whether every type inside a nested type can be written as JSON.
fn nested_is_supported(logical: &LogicalTypeHandle) -> bool {
    (0..logical.num_children()).all(|index| {
        let child = logical.child(index);
        match child.try_id() {
            Ok(id) => !matches!(kind_of(&child, id), ColumnKind::Unsupported),
            Err(_) => false,
        }
    })
}

/// What to tell the user about a column that cannot be carried, given DuckDB's type name.
pub(super) fn unsupported_hint(type_name: &str) -> &'static str {
    let upper = type_name.to_ascii_uppercase();
    if upper.contains("BLOB") {
        "binary data cannot be sent to Optimizely: convert it in the model, e.g. \
         `to_base64(column)` or `hex(column)`, or leave the column out"
    } else if upper.contains("GEOMETRY") {
        "convert it in the model, e.g. `ST_AsText(column)`, or leave the column out"
    } else {
        "cast it in the model, e.g. `column::VARCHAR`, or leave the column out"
    }
}
