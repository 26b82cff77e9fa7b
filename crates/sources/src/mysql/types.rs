//! How each MySQL column type's values (as the binary protocol of a prepared statement sends
//! them) become [`Value`]s; the table is in the [module docs](super).

use mysql_async::consts::{ColumnFlags, ColumnType};
use mysql_async::{Column, Value as MyValue};
use optisync_core::Value;

use crate::batch::{Cells, Texts};
use crate::column::ColumnKind;

/// The character set number of binary strings (`BINARY`, `VARBINARY`, `BLOB`).
const BINARY_CHARSET: u16 = 63;

/// How a column's values become [`Value`]s.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum CellType {
    /// Character strings, `ENUM`, `SET`, and a column of NULLs.
    Text,
    /// `TINYINT(1)`, MySQL's `BOOLEAN`.
    Bool,
    /// Integers and `YEAR`.
    Int,
    /// `FLOAT` and `DOUBLE`.
    Float,
    /// `DECIMAL`: exact, as PostgreSQL's `numeric`.
    Decimal,
    /// MySQL's `JSON`.
    Json,
    /// `DATE`.
    Date,
    /// `DATETIME`: a wall-clock time.
    DateTime,
    /// `TIMESTAMP`: an instant, sent in the session's time zone, UTC.
    Timestamp,
    /// `TIME`: a duration up to ±838 hours.
    Time,
    /// A type optisync cannot carry, with the cast that fixes it.
    Unsupported {
        /// What to write in the model instead.
        hint: &'static str,
    },
}

impl CellType {
    /// The decoding of a column.
    pub(super) fn of(column: &Column) -> CellType {
        let binary = column.character_set() == BINARY_CHARSET;
        match column.column_type() {
            ColumnType::MYSQL_TYPE_TINY if column.column_length() == 1 => CellType::Bool,
            ColumnType::MYSQL_TYPE_TINY
            | ColumnType::MYSQL_TYPE_SHORT
            | ColumnType::MYSQL_TYPE_INT24
            | ColumnType::MYSQL_TYPE_LONG
            | ColumnType::MYSQL_TYPE_LONGLONG
            | ColumnType::MYSQL_TYPE_YEAR => CellType::Int,
            ColumnType::MYSQL_TYPE_FLOAT | ColumnType::MYSQL_TYPE_DOUBLE => CellType::Float,
            ColumnType::MYSQL_TYPE_DECIMAL | ColumnType::MYSQL_TYPE_NEWDECIMAL => CellType::Decimal,
            ColumnType::MYSQL_TYPE_JSON => CellType::Json,
            ColumnType::MYSQL_TYPE_DATE | ColumnType::MYSQL_TYPE_NEWDATE => CellType::Date,
            ColumnType::MYSQL_TYPE_DATETIME | ColumnType::MYSQL_TYPE_DATETIME2 => {
                CellType::DateTime
            }
            ColumnType::MYSQL_TYPE_TIMESTAMP | ColumnType::MYSQL_TYPE_TIMESTAMP2 => {
                CellType::Timestamp
            }
            ColumnType::MYSQL_TYPE_TIME | ColumnType::MYSQL_TYPE_TIME2 => CellType::Time,
            ColumnType::MYSQL_TYPE_NULL => CellType::Text,
            ColumnType::MYSQL_TYPE_ENUM | ColumnType::MYSQL_TYPE_SET => CellType::Text,
            ColumnType::MYSQL_TYPE_VARCHAR
            | ColumnType::MYSQL_TYPE_VAR_STRING
            | ColumnType::MYSQL_TYPE_STRING
            | ColumnType::MYSQL_TYPE_TINY_BLOB
            | ColumnType::MYSQL_TYPE_MEDIUM_BLOB
            | ColumnType::MYSQL_TYPE_LONG_BLOB
            | ColumnType::MYSQL_TYPE_BLOB => {
                // ENUM and SET columns arrive as strings with a flag saying so.
                if binary && !column.flags().contains(ColumnFlags::ENUM_FLAG) {
                    CellType::Unsupported {
                        hint: "convert it in the model, e.g. HEX(column), or CONVERT(column USING utf8mb4) for text stored as bytes",
                    }
                } else {
                    CellType::Text
                }
            }
            ColumnType::MYSQL_TYPE_BIT => CellType::Unsupported {
                hint: "cast it in the model, e.g. CAST(column AS UNSIGNED)",
            },
            ColumnType::MYSQL_TYPE_GEOMETRY => CellType::Unsupported {
                hint: "convert it in the model, e.g. ST_AsText(column)",
            },
            _ => CellType::Unsupported {
                hint: "cast it in the model, e.g. CAST(column AS CHAR)",
            },
        }
    }

    /// The [`Value`] variant its cells become.
    pub(super) fn kind(self) -> ColumnKind {
        match self {
            CellType::Text
            | CellType::Date
            | CellType::DateTime
            | CellType::Timestamp
            | CellType::Time => ColumnKind::Text,
            CellType::Bool => ColumnKind::Bool,
            CellType::Int => ColumnKind::Int,
            CellType::Float | CellType::Decimal => ColumnKind::Float,
            CellType::Json => ColumnKind::Json,
            CellType::Unsupported { .. } => ColumnKind::Unsupported,
        }
    }

    /// An empty column of this type: text in one buffer, the others as values.
    pub(super) fn cells(&self) -> Cells {
        match self {
            CellType::Text => Cells::Texts(Texts::default()),
            _ => Cells::Values(Vec::new()),
        }
    }

    /// Appends one cell (`None`, a cell already taken, cannot happen and counts as NULL).
    pub(super) fn push(self, value: Option<MyValue>, cells: &mut Cells) {
        let value = value.unwrap_or(MyValue::NULL);
        if let (CellType::Text, Cells::Texts(texts)) = (self, &mut *cells) {
            match &value {
                MyValue::NULL => return texts.push(None),
                MyValue::Bytes(bytes) => {
                    if let Ok(text) = std::str::from_utf8(bytes) {
                        return texts.push(Some(text));
                    }
                }
                _ => {}
            }
        }
        let decoded = self.decode(value);
        match cells {
            Cells::Values(values) => values.push(decoded),
            Cells::Texts(_) => cells.push_value(decoded),
        }
    }

    /// Decodes one value.
    pub(super) fn decode(self, value: MyValue) -> Value {
        match (self, value) {
            (_, MyValue::NULL) => Value::Null,
            (CellType::Bool, MyValue::Int(i)) => Value::Bool(i != 0),
            (CellType::Bool, MyValue::UInt(u)) => Value::Bool(u != 0),
            (_, MyValue::Int(i)) => Value::Int(i),
            (_, MyValue::UInt(u)) => {
                i64::try_from(u).map_or_else(|_| Value::Text(u.to_string()), Value::Int)
            }
            // The shortest text that reads back as the same f32, as MySQL shows it (1.1, not
            // 1.100000023841858).
            (_, MyValue::Float(f)) => f
                .to_string()
                .parse::<f64>()
                .map_or(Value::Float(f64::from(f)), Value::Float),
            (_, MyValue::Double(d)) => Value::Float(d),
            (CellType::Date, MyValue::Date(year, month, day, ..)) => {
                Value::Text(format!("{year:04}-{month:02}-{day:02}"))
            }
            (cell, MyValue::Date(year, month, day, hour, minute, second, micros)) => {
                let mut text = format!(
                    "{year:04}-{month:02}-{day:02}T{hour:02}:{minute:02}:{second:02}{}",
                    fraction(micros)
                );
                if cell == CellType::Timestamp {
                    text.push('Z');
                }
                Value::Text(text)
            }
            (_, MyValue::Time(negative, days, hours, minutes, seconds, micros)) => {
                let hours = u64::from(days) * 24 + u64::from(hours);
                Value::Text(format!(
                    "{}{hours:02}:{minutes:02}:{seconds:02}{}",
                    if negative { "-" } else { "" },
                    fraction(micros)
                ))
            }
            (cell, MyValue::Bytes(bytes)) => {
                let Ok(text) = std::str::from_utf8(&bytes) else {
                    return Value::Invalid(
                        "the text is not valid UTF-8; convert it in the model (e.g. with CONVERT(column USING utf8mb4) or HEX(column))"
                            .to_owned(),
                    );
                };
                match cell {
                    CellType::Decimal => crate::decimal::decimal(text),
                    CellType::Json => Value::from_json_text(text),
                    CellType::Int => text.parse().map_or_else(
                        |_| Value::Invalid(format!("{text:?} is not an integer")),
                        Value::Int,
                    ),
                    CellType::Float => text.parse().map_or_else(
                        |_| Value::Invalid(format!("{text:?} is not a number")),
                        Value::Float,
                    ),
                    CellType::Bool => match text {
                        "0" => Value::Bool(false),
                        "1" => Value::Bool(true),
                        _ => Value::Invalid(format!("{text:?} is not a boolean")),
                    },
                    _ => Value::Text(text.to_owned()),
                }
            }
        }
    }
}

/// `.5`, `.000001`, or nothing: microseconds without trailing zeros.
fn fraction(micros: u32) -> String {
    if micros == 0 {
        return String::new();
    }
    let digits = format!(".{micros:06}");
    digits.trim_end_matches('0').to_owned()
}

/// The type as users write it: `varchar`, `bigint unsigned`, `json`.
pub(super) fn type_name(column: &Column) -> String {
    let binary = column.character_set() == BINARY_CHARSET;
    let name = match column.column_type() {
        ColumnType::MYSQL_TYPE_TINY if column.column_length() == 1 => "tinyint(1)",
        ColumnType::MYSQL_TYPE_TINY => "tinyint",
        ColumnType::MYSQL_TYPE_SHORT => "smallint",
        ColumnType::MYSQL_TYPE_INT24 => "mediumint",
        ColumnType::MYSQL_TYPE_LONG => "int",
        ColumnType::MYSQL_TYPE_LONGLONG => "bigint",
        ColumnType::MYSQL_TYPE_YEAR => "year",
        ColumnType::MYSQL_TYPE_FLOAT => "float",
        ColumnType::MYSQL_TYPE_DOUBLE => "double",
        ColumnType::MYSQL_TYPE_DECIMAL | ColumnType::MYSQL_TYPE_NEWDECIMAL => "decimal",
        ColumnType::MYSQL_TYPE_JSON => "json",
        ColumnType::MYSQL_TYPE_DATE | ColumnType::MYSQL_TYPE_NEWDATE => "date",
        ColumnType::MYSQL_TYPE_DATETIME | ColumnType::MYSQL_TYPE_DATETIME2 => "datetime",
        ColumnType::MYSQL_TYPE_TIMESTAMP | ColumnType::MYSQL_TYPE_TIMESTAMP2 => "timestamp",
        ColumnType::MYSQL_TYPE_TIME | ColumnType::MYSQL_TYPE_TIME2 => "time",
        ColumnType::MYSQL_TYPE_NULL => "null",
        ColumnType::MYSQL_TYPE_BIT => "bit",
        ColumnType::MYSQL_TYPE_GEOMETRY => "geometry",
        ColumnType::MYSQL_TYPE_VECTOR => "vector",
        _ if column.flags().contains(ColumnFlags::ENUM_FLAG) => "enum",
        _ if column.flags().contains(ColumnFlags::SET_FLAG) => "set",
        ColumnType::MYSQL_TYPE_VARCHAR | ColumnType::MYSQL_TYPE_VAR_STRING if binary => "varbinary",
        ColumnType::MYSQL_TYPE_VARCHAR | ColumnType::MYSQL_TYPE_VAR_STRING => "varchar",
        ColumnType::MYSQL_TYPE_STRING if binary => "binary",
        ColumnType::MYSQL_TYPE_STRING => "char",
        ColumnType::MYSQL_TYPE_TINY_BLOB
        | ColumnType::MYSQL_TYPE_MEDIUM_BLOB
        | ColumnType::MYSQL_TYPE_LONG_BLOB
        | ColumnType::MYSQL_TYPE_BLOB
            if binary =>
        {
            "blob"
        }
        ColumnType::MYSQL_TYPE_TINY_BLOB
        | ColumnType::MYSQL_TYPE_MEDIUM_BLOB
        | ColumnType::MYSQL_TYPE_LONG_BLOB
        | ColumnType::MYSQL_TYPE_BLOB => "text",
        _ => "unknown",
    };
    let unsigned = column.flags().contains(ColumnFlags::UNSIGNED_FLAG)
        && !matches!(
            column.column_type(),
            ColumnType::MYSQL_TYPE_YEAR
                | ColumnType::MYSQL_TYPE_DECIMAL
                | ColumnType::MYSQL_TYPE_NEWDECIMAL
        );
    if unsigned && CellType::of(column).kind() == ColumnKind::Int {
        format!("{name} unsigned")
    } else {
        name.to_owned()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn values_decode_by_their_column() {
        assert_eq!(CellType::Bool.decode(MyValue::Int(1)), Value::Bool(true));
        assert_eq!(
            CellType::Int.decode(MyValue::UInt(u64::MAX)),
            Value::from("18446744073709551615")
        );
        assert_eq!(CellType::Int.decode(MyValue::UInt(7)), Value::Int(7));
        assert_eq!(
            CellType::Float.decode(MyValue::Float(1.1)),
            Value::Float(1.1)
        );
        assert_eq!(
            CellType::Decimal.decode(MyValue::Bytes(b"12.50".to_vec())),
            Value::Float(12.5)
        );
        assert_eq!(
            CellType::Decimal.decode(MyValue::Bytes(b"123456789012345678.125".to_vec())),
            Value::from("123456789012345678.125")
        );
        assert_eq!(
            CellType::Date.decode(MyValue::Date(2024, 1, 2, 0, 0, 0, 0)),
            Value::from("2024-01-02")
        );
        assert_eq!(
            CellType::DateTime.decode(MyValue::Date(2024, 1, 2, 3, 4, 5, 500_000)),
            Value::from("2024-01-02T03:04:05.5")
        );
        assert_eq!(
            CellType::Timestamp.decode(MyValue::Date(2024, 1, 2, 3, 4, 5, 0)),
            Value::from("2024-01-02T03:04:05Z")
        );
        assert_eq!(
            CellType::Time.decode(MyValue::Time(true, 34, 22, 59, 59, 1)),
            Value::from("-838:59:59.000001")
        );
        assert!(matches!(
            CellType::Text.decode(MyValue::Bytes(vec![0xff, 0xfe])),
            Value::Invalid(_)
        ));
        // MySQL's JSON type (MariaDB has none: its JSON is text).
        assert_eq!(
            CellType::Json.decode(MyValue::Bytes(br#"{"a": [1, true]}"#.to_vec())),
            Value::Json(serde_json::json!({"a": [1, true]}))
        );
    }

    #[test]
    fn a_text_column_keeps_one_buffer_until_a_cell_it_cannot_hold() {
        let mut cells = CellType::Text.cells();
        CellType::Text.push(Some(MyValue::Bytes(b"a".to_vec())), &mut cells);
        CellType::Text.push(Some(MyValue::NULL), &mut cells);
        assert!(matches!(cells, Cells::Texts(_)));
        CellType::Text.push(Some(MyValue::Bytes(vec![0xff])), &mut cells);
        CellType::Text.push(Some(MyValue::Bytes(b"b".to_vec())), &mut cells);
        let Cells::Values(values) = cells else {
            panic!("values expected")
        };
        assert_eq!(values[0], Value::from("a"));
        assert_eq!(values[1], Value::Null);
        assert!(matches!(values[2], Value::Invalid(_)));
        assert_eq!(values[3], Value::from("b"));
    }
}
