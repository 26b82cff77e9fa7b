//! Decoding Snowflake result sets: the JSON row sets (every cell a string or null) and the
//! Arrow row sets (record batches in Snowflake's own encodings), column by column, by the
//! `rowtype` the query answer describes. Pure code: the session hands it what it fetched.

use std::sync::Arc;

use arrow_array::cast::AsArray;
use arrow_array::types::{
    Date32Type, Decimal128Type, Float64Type, Int8Type, Int16Type, Int32Type, Int64Type,
};
use arrow_array::{Array, ArrayRef, RecordBatch};
use arrow_schema::DataType;
use optisync_core::Value;
use serde::Deserialize;

use crate::batch::{Batch, Cells, Texts};
use crate::column::ColumnKind;

/// One column of a query answer's `rowtype`.
#[derive(Debug, Clone, Deserialize)]
pub(crate) struct RowType {
    pub(crate) name: String,
    /// `fixed`, `real`, `text`, `boolean`, `date`, `time`, `timestamp_ntz`, `timestamp_ltz`,
    /// `timestamp_tz`, `variant`, `object`, `array`, `binary`, …
    #[serde(rename = "type")]
    pub(crate) kind: String,
    #[serde(default)]
    pub(crate) scale: Option<i64>,
}

/// How a column's cells become [`Value`]s.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum CellType {
    Text,
    Bool,
    /// `NUMBER` with scale 0.
    Int,
    /// `NUMBER` with a scale: exact, as PostgreSQL's `numeric`.
    Decimal {
        scale: u32,
    },
    Float,
    Date,
    /// Time of day; `scale` digits of fraction in the Arrow encoding.
    Time {
        scale: u32,
    },
    /// A wall-clock timestamp.
    Timestamp {
        scale: u32,
    },
    /// An instant (`TIMESTAMP_LTZ`, `TIMESTAMP_TZ`), written in UTC.
    Instant {
        scale: u32,
    },
    /// `VARIANT`, `OBJECT`, `ARRAY`: JSON text.
    Json,
    Unsupported {
        hint: &'static str,
    },
}

impl CellType {
    pub(crate) fn of(row_type: &RowType) -> CellType {
        let scale = u32::try_from(row_type.scale.unwrap_or(0).clamp(0, 9)).unwrap_or(0);
        match row_type.kind.to_ascii_lowercase().as_str() {
            "text" => CellType::Text,
            "boolean" => CellType::Bool,
            "fixed" if scale == 0 => CellType::Int,
            "fixed" => CellType::Decimal { scale },
            "real" => CellType::Float,
            "date" => CellType::Date,
            "time" => CellType::Time { scale },
            "timestamp_ntz" => CellType::Timestamp { scale },
            "timestamp_ltz" | "timestamp_tz" => CellType::Instant { scale },
            "variant" | "object" | "array" => CellType::Json,
            "binary" => CellType::Unsupported {
                hint: "convert it in the model, e.g. HEX_ENCODE(column)",
            },
            "geography" | "geometry" => CellType::Unsupported {
                hint: "convert it in the model, e.g. ST_ASWKT(column)",
            },
            _ => CellType::Unsupported {
                hint: "cast it in the model, e.g. column::varchar",
            },
        }
    }

    pub(crate) fn kind(self) -> ColumnKind {
        match self {
            CellType::Text
            | CellType::Date
            | CellType::Time { .. }
            | CellType::Timestamp { .. }
            | CellType::Instant { .. } => ColumnKind::Text,
            CellType::Bool => ColumnKind::Bool,
            CellType::Int => ColumnKind::Int,
            CellType::Decimal { .. } | CellType::Float => ColumnKind::Float,
            CellType::Json => ColumnKind::Json,
            CellType::Unsupported { .. } => ColumnKind::Unsupported,
        }
    }

    /// Decodes one cell of a JSON row set.
    fn decode_json(self, text: &str) -> Value {
        match self {
            CellType::Text => Value::Text(text.to_owned()),
            CellType::Bool => match text {
                "1" | "true" | "TRUE" => Value::Bool(true),
                "0" | "false" | "FALSE" => Value::Bool(false),
                _ => Value::Invalid(format!("{text:?} is not a boolean")),
            },
            CellType::Int | CellType::Decimal { .. } => crate::decimal::decimal(text),
            CellType::Float => match text {
                "NaN" => Value::Float(f64::NAN),
                "inf" | "Infinity" => Value::Float(f64::INFINITY),
                "-inf" | "-Infinity" => Value::Float(f64::NEG_INFINITY),
                _ => text.parse().map_or_else(
                    |_| Value::Invalid(format!("{text:?} is not a number")),
                    Value::Float,
                ),
            },
            CellType::Date => text.parse::<i64>().map_or_else(
                |_| Value::Invalid(format!("{text:?} is not a date")),
                |days| Value::Text(date(days)),
            ),
            // Seconds since midnight, or since the epoch, with up to nine digits of fraction;
            // TIMESTAMP_TZ adds the time zone after a space (the instant is already UTC).
            CellType::Time { .. } => seconds_and_nanos(text)
                .map_or_else(|| invalid_time(text), |(s, n)| Value::Text(time(s, n))),
            CellType::Timestamp { .. } => seconds_and_nanos(text).map_or_else(
                || invalid_time(text),
                |(s, n)| Value::Text(timestamp(s, n, false)),
            ),
            CellType::Instant { .. } => {
                let epoch = text.split(' ').next().unwrap_or(text);
                seconds_and_nanos(epoch).map_or_else(
                    || invalid_time(text),
                    |(s, n)| Value::Text(timestamp(s, n, true)),
                )
            }
            CellType::Json => Value::from_json_text(text),
            CellType::Unsupported { .. } => Value::Invalid("unsupported type".to_owned()),
        }
    }

    /// An empty column of this type: text in one buffer, the others as values.
    fn cells(self) -> Cells {
        match self {
            CellType::Text => Cells::Texts(Texts::default()),
            _ => Cells::Values(Vec::new()),
        }
    }
}

fn invalid_time(text: &str) -> Value {
    Value::Invalid(format!("{text:?} is not a time Snowflake sends"))
}

/// `"1704164645.123"` → (1704164645, 123000000); negative values keep the fraction's sign.
fn seconds_and_nanos(text: &str) -> Option<(i64, u32)> {
    let (whole, fraction) = text.split_once('.').unwrap_or((text, ""));
    let seconds: i64 = whole.parse().ok()?;
    if fraction.len() > 9 || !fraction.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    let nanos: u32 = format!("{fraction:0<9}").parse().ok()?;
    if nanos > 0 && (seconds < 0 || whole.starts_with('-')) {
        // -1.5 s is 2 s before the epoch plus 0.5 s.
        Some((seconds.checked_sub(1)?, 1_000_000_000 - nanos))
    } else {
        Some((seconds, nanos))
    }
}

/// Days since 1970-01-01 as `YYYY-MM-DD` (the proleptic Gregorian calendar).
fn date(days: i64) -> String {
    let (year, month, day) = civil(days);
    format!("{year:04}-{month:02}-{day:02}")
}

/// Days since the epoch to (year, month, day), after Howard Hinnant's `civil_from_days`.
fn civil(days: i64) -> (i64, u32, u32) {
    // Saturating: a hostile day count gives a nonsense year, never an overflow.
    let z = days.saturating_add(719_468);
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1_460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = u32::try_from(doy - (153 * mp + 2) / 5 + 1).unwrap_or(1);
    let month = u32::try_from(if mp < 10 { mp + 3 } else { mp - 9 }).unwrap_or(1);
    let year = era
        .saturating_mul(400)
        .saturating_add(yoe)
        .saturating_add(i64::from(month <= 2));
    (year, month, day)
}

/// `.5`, `.000001`, or nothing: nanoseconds without trailing zeros.
fn fraction(nanos: u32) -> String {
    if nanos == 0 {
        return String::new();
    }
    format!(".{nanos:09}").trim_end_matches('0').to_owned()
}

fn time(seconds: i64, nanos: u32) -> String {
    let seconds = seconds.rem_euclid(86_400);
    format!(
        "{:02}:{:02}:{:02}{}",
        seconds / 3_600,
        seconds % 3_600 / 60,
        seconds % 60,
        fraction(nanos)
    )
}

/// Seconds since the epoch as `2024-01-02T03:04:05.5`, with `Z` for an instant.
fn timestamp(seconds: i64, nanos: u32, instant: bool) -> String {
    let days = seconds.div_euclid(86_400);
    format!(
        "{}T{}{}",
        date(days),
        time(seconds.rem_euclid(86_400), nanos),
        if instant { "Z" } else { "" }
    )
}

/// Splits a value scaled by 10^`scale` into seconds and nanoseconds.
fn scaled(value: i64, scale: u32) -> (i64, u32) {
    let unit = 10_i64.pow(scale);
    let nanos = value.rem_euclid(unit) * 10_i64.pow(9 - scale);
    (value.div_euclid(unit), u32::try_from(nanos).unwrap_or(0))
}

/// The rows of a query answer as they are decoded into one [`Batch`].
#[derive(Debug)]
pub(crate) struct Decoder {
    cells: Vec<CellType>,
    values: Vec<Cells>,
    rows: usize,
}

impl Decoder {
    pub(crate) fn new(cells: Vec<CellType>) -> Self {
        let values = cells.iter().map(|c| c.cells()).collect();
        Self {
            cells,
            values,
            rows: 0,
        }
    }

    /// Whether the rows decoded so far make a batch to hand over.
    pub(crate) fn is_full(&self) -> bool {
        crate::batch::cells_are_full(&self.values, self.rows)
    }

    /// The rows decoded so far, as a batch over `columns`.
    pub(crate) fn take(&mut self, columns: &Arc<[String]>) -> Batch {
        let values = self
            .values
            .iter_mut()
            .zip(&self.cells)
            .map(|(column, cell)| std::mem::replace(column, cell.cells()))
            .collect();
        self.rows = 0;
        Batch::from_cells(Arc::clone(columns), values)
            .unwrap_or_else(|_| Batch::empty(Arc::clone(columns)))
    }

    /// Appends the rows of a JSON row set: arrays of strings or nulls.
    pub(crate) fn push_json(&mut self, rows: &[Vec<Option<String>>]) -> Result<(), String> {
        for row in rows {
            if row.len() != self.cells.len() {
                return Err(format!(
                    "Snowflake sent a row of {} cells for {} columns",
                    row.len(),
                    self.cells.len()
                ));
            }
            for (index, cell) in row.iter().enumerate() {
                let kind = self.cells[index];
                match (&mut self.values[index], cell) {
                    (Cells::Texts(texts), cell) if kind == CellType::Text => {
                        texts.push(cell.as_deref());
                    }
                    (column, None) => column.push_value(Value::Null),
                    (column, Some(text)) => column.push_value(kind.decode_json(text)),
                }
            }
            self.rows += 1;
        }
        Ok(())
    }

    /// Appends the rows of an Arrow record batch.
    pub(crate) fn push_arrow(&mut self, batch: &RecordBatch) -> Result<(), String> {
        if batch.num_columns() != self.cells.len() {
            return Err(format!(
                "Snowflake sent {} Arrow columns for {} columns",
                batch.num_columns(),
                self.cells.len()
            ));
        }
        for (index, array) in batch.columns().iter().enumerate() {
            let kind = self.cells[index];
            arrow_column(kind, array, &mut self.values[index])?;
        }
        self.rows += batch.num_rows();
        Ok(())
    }
}

/// Appends one Arrow column's cells, decoded by `kind`.
fn arrow_column(kind: CellType, array: &ArrayRef, cells: &mut Cells) -> Result<(), String> {
    let unexpected = || {
        format!(
            "Snowflake sent a {kind:?} column as Arrow {}, which optisync does not read",
            array.data_type()
        )
    };
    if let (CellType::Text, Cells::Texts(texts)) = (kind, &mut *cells) {
        match array.data_type() {
            DataType::Utf8 => {
                let strings = array.as_string::<i32>();
                (0..strings.len())
                    .for_each(|i| texts.push(strings.is_valid(i).then(|| strings.value(i))));
                return Ok(());
            }
            DataType::LargeUtf8 => {
                let strings = array.as_string::<i64>();
                (0..strings.len())
                    .for_each(|i| texts.push(strings.is_valid(i).then(|| strings.value(i))));
                return Ok(());
            }
            DataType::Null => {
                (0..array.len()).for_each(|_| texts.push(None));
                return Ok(());
            }
            _ => return Err(unexpected()),
        }
    }
    let integer = |i: usize| -> Option<i64> {
        match array.data_type() {
            DataType::Int8 => Some(i64::from(array.as_primitive::<Int8Type>().value(i))),
            DataType::Int16 => Some(i64::from(array.as_primitive::<Int16Type>().value(i))),
            DataType::Int32 => Some(i64::from(array.as_primitive::<Int32Type>().value(i))),
            DataType::Int64 => Some(array.as_primitive::<Int64Type>().value(i)),
            DataType::Date32 => Some(i64::from(array.as_primitive::<Date32Type>().value(i))),
            _ => None,
        }
    };
    for i in 0..array.len() {
        if array.is_null(i) {
            cells.push_value(Value::Null);
            continue;
        }
        let value = match kind {
            CellType::Text => match array.data_type() {
                DataType::Utf8 => Value::Text(array.as_string::<i32>().value(i).to_owned()),
                DataType::LargeUtf8 => Value::Text(array.as_string::<i64>().value(i).to_owned()),
                _ => return Err(unexpected()),
            },
            CellType::Json => match array.data_type() {
                DataType::Utf8 => Value::from_json_text(array.as_string::<i32>().value(i)),
                DataType::LargeUtf8 => Value::from_json_text(array.as_string::<i64>().value(i)),
                _ => return Err(unexpected()),
            },
            CellType::Bool => match array.data_type() {
                DataType::Boolean => Value::Bool(array.as_boolean().value(i)),
                _ => return Err(unexpected()),
            },
            CellType::Float => match array.data_type() {
                DataType::Float64 => Value::Float(array.as_primitive::<Float64Type>().value(i)),
                _ => return Err(unexpected()),
            },
            CellType::Int | CellType::Decimal { .. } => {
                let scale = match kind {
                    CellType::Decimal { scale } => scale,
                    _ => 0,
                };
                let unscaled = match array.data_type() {
                    DataType::Decimal128(_, _) => array.as_primitive::<Decimal128Type>().value(i),
                    _ => i128::from(integer(i).ok_or_else(unexpected)?),
                };
                number(unscaled, scale)
            }
            CellType::Date => Value::Text(date(integer(i).ok_or_else(unexpected)?)),
            CellType::Time { scale } => {
                let (s, n) = scaled(integer(i).ok_or_else(unexpected)?, scale);
                Value::Text(time(s, n))
            }
            CellType::Timestamp { scale } | CellType::Instant { scale } => {
                let instant = matches!(kind, CellType::Instant { .. });
                let (s, n) = match array.data_type() {
                    DataType::Struct(_) => {
                        epoch_of_struct(array, i, scale).ok_or_else(unexpected)?
                    }
                    _ => scaled(integer(i).ok_or_else(unexpected)?, scale),
                };
                Value::Text(timestamp(s, n, instant))
            }
            CellType::Unsupported { .. } => return Err(unexpected()),
        };
        cells.push_value(value);
    }
    Ok(())
}

/// A timestamp Snowflake sent as a struct: `epoch` (seconds) with `fraction` (nanoseconds),
/// or `epoch` scaled by 10^scale without a fraction; a `timezone` field is ignored, since
/// the epoch is already UTC.
fn epoch_of_struct(array: &ArrayRef, i: usize, scale: u32) -> Option<(i64, u32)> {
    let fields = array.as_struct();
    let epoch = fields
        .column_by_name("epoch")?
        .as_primitive_opt::<Int64Type>()?
        .value(i);
    match fields.column_by_name("fraction") {
        Some(fraction) => {
            let nanos = fraction.as_primitive_opt::<Int32Type>()?.value(i);
            Some((epoch, u32::try_from(nanos).ok()?))
        }
        None => Some(scaled(epoch, scale)),
    }
}

/// An integer scaled by 10^`scale` as a [`Value`]: no digit lost.
fn number(unscaled: i128, scale: u32) -> Value {
    if scale == 0 {
        return i64::try_from(unscaled)
            .map_or_else(|_| Value::Text(unscaled.to_string()), Value::Int);
    }
    let digits = unscaled.unsigned_abs().to_string();
    let scale = scale as usize;
    let padded = format!("{digits:0>width$}", width = scale + 1);
    let (whole, fraction) = padded.split_at(padded.len() - scale);
    let sign = if unscaled < 0 { "-" } else { "" };
    crate::decimal::decimal(&format!("{sign}{whole}.{fraction}"))
}

#[cfg(test)]
mod tests {
    use super::*;
    use arrow_array::{BooleanArray, Float64Array, Int64Array, StringArray, StructArray};
    use arrow_schema::{Field, Fields};

    fn row_type(kind: &str, scale: i64) -> RowType {
        RowType {
            name: "c".into(),
            kind: kind.into(),
            scale: Some(scale),
        }
    }

    #[test]
    fn json_cells_decode_by_their_rowtype() {
        let cases: &[(&str, i64, &str, Value)] = &[
            ("fixed", 0, "42", Value::Int(42)),
            (
                "fixed",
                0,
                "123456789012345678901234567890",
                Value::from("123456789012345678901234567890"),
            ),
            ("fixed", 2, "12.50", Value::Float(12.5)),
            ("real", 0, "2.25", Value::Float(2.25)),
            ("boolean", 0, "1", Value::Bool(true)),
            ("date", 0, "19724", Value::from("2024-01-02")),
            ("date", 0, "-1", Value::from("1969-12-31")),
            ("time", 9, "11045.500000000", Value::from("03:04:05.5")),
            (
                "timestamp_ntz",
                9,
                "1704164645.123000000",
                Value::from("2024-01-02T03:04:05.123"),
            ),
            (
                "timestamp_ltz",
                9,
                "1704164645.000000000",
                Value::from("2024-01-02T03:04:05Z"),
            ),
            (
                "timestamp_tz",
                9,
                "1704164645.000000000 1560",
                Value::from("2024-01-02T03:04:05Z"),
            ),
            (
                "timestamp_ntz",
                3,
                "-1.500",
                Value::from("1969-12-31T23:59:58.5"),
            ),
            (
                "variant",
                0,
                "{\"a\": [1]}",
                Value::Json(serde_json::json!({"a": [1]})),
            ),
        ];
        for (kind, scale, text, expected) in cases {
            let cell = CellType::of(&row_type(kind, *scale));
            assert_eq!(&cell.decode_json(text), expected, "{kind} {text}");
        }
        assert!(matches!(
            CellType::of(&row_type("binary", 0)),
            CellType::Unsupported { .. }
        ));
    }

    #[test]
    fn json_rows_become_a_batch_and_a_ragged_row_is_refused() {
        let columns: Arc<[String]> = vec!["id".to_owned(), "n".to_owned()].into();
        let mut decoder = Decoder::new(vec![CellType::Text, CellType::Int]);
        decoder
            .push_json(&[vec![Some("a".into()), Some("1".into())], vec![None, None]])
            .unwrap();
        let batch = decoder.take(&columns);
        assert_eq!(batch.len(), 2);
        assert_eq!(batch.column(1).unwrap()[0], Value::Int(1));
        assert_eq!(batch.column(0).unwrap()[1], Value::Null);
        assert!(decoder.push_json(&[vec![Some("a".into())]]).is_err());
    }

    #[test]
    fn arrow_columns_decode_in_snowflakes_encodings() {
        let epoch = Int64Array::from(vec![1_704_164_645]);
        let fraction = arrow_array::Int32Array::from(vec![500_000_000]);
        let timestamps = StructArray::new(
            Fields::from(vec![
                Field::new("epoch", DataType::Int64, false),
                Field::new("fraction", DataType::Int32, false),
            ]),
            vec![Arc::new(epoch) as ArrayRef, Arc::new(fraction) as ArrayRef],
            None,
        );
        let batch = RecordBatch::try_from_iter(vec![
            (
                "t",
                Arc::new(StringArray::from(vec![Some("x")])) as ArrayRef,
            ),
            ("n", Arc::new(Int64Array::from(vec![1250])) as ArrayRef),
            ("b", Arc::new(BooleanArray::from(vec![true])) as ArrayRef),
            ("f", Arc::new(Float64Array::from(vec![1.5])) as ArrayRef),
            ("ts", Arc::new(timestamps) as ArrayRef),
            (
                "tm",
                Arc::new(Int64Array::from(vec![11_045_500_000_000])) as ArrayRef,
            ),
        ])
        .unwrap();
        let mut decoder = Decoder::new(vec![
            CellType::Text,
            CellType::Decimal { scale: 2 },
            CellType::Bool,
            CellType::Float,
            CellType::Instant { scale: 9 },
            CellType::Time { scale: 9 },
        ]);
        decoder.push_arrow(&batch).unwrap();
        let columns: Arc<[String]> = ["t", "n", "b", "f", "ts", "tm"]
            .iter()
            .map(|s| (*s).to_owned())
            .collect();
        let values: Vec<Value> = decoder
            .take(&columns)
            .into_iter()
            .next()
            .unwrap()
            .into_values();
        assert_eq!(
            values,
            vec![
                Value::from("x"),
                Value::Float(12.5),
                Value::Bool(true),
                Value::Float(1.5),
                Value::from("2024-01-02T03:04:05.5Z"),
                Value::from("03:04:05.5"),
            ]
        );
    }

    #[test]
    fn calendar_days_are_right_far_from_the_epoch() {
        assert_eq!(date(0), "1970-01-01");
        assert_eq!(date(19_723), "2024-01-01");
        assert_eq!(date(-719_162), "0001-01-01");
        assert_eq!(date(2_932_896), "9999-12-31");
        assert_eq!(number(-5, 2), Value::Float(-0.05));
        // Numbers a hostile server could send: no overflow, no panic.
        let _ = date(i64::MAX);
        let _ = date(i64::MIN);
        let _ = timestamp(i64::MAX, 999_999_999, true);
        let _ = timestamp(i64::MIN, 0, false);
        assert_eq!(seconds_and_nanos("-9223372036854775808.5"), None);
        assert!(matches!(
            CellType::Date.decode_json("9223372036854775807"),
            Value::Text(_)
        ));
        assert_eq!(
            number(i128::from(i64::MAX) + 1, 0),
            Value::from("9223372036854775808")
        );
    }
}
