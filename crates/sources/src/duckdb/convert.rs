//! Turning DuckDB's result chunks (Arrow record batches) into optisync [`Batch`]es.
//!
//! Arrow is DuckDB's fastest way out: values arrive column by column in typed buffers, so
//! each column is decoded with one type dispatch per chunk and a tight loop over its values,
//! instead of a dynamic lookup per cell. The only allocations per row are the row's value
//! vector and the text of text cells; column names are shared by every record.
//! Nested values (lists, structs, maps, unions) are decoded column-wise too, children first,
//! then moved (never copied) into their parents' JSON.
//!
//! A cell that cannot be converted (a timestamp beyond the years optisync can write, JSON
//! nested too deeply to read, such a value inside a list or struct) becomes
//! [`Value::Invalid`] with why: it rejects its row only, never the batch. Only what is wrong
//! with a whole column (a type optisync cannot carry) is an error.

use std::collections::HashMap;
use std::fmt::Write;
use std::sync::Arc;

use ::duckdb::arrow::array::{Array, AsArray, GenericStringArray, OffsetSizeTrait, RecordBatch};
use ::duckdb::arrow::datatypes::{
    ArrowPrimitiveType, DataType, Date32Type, Date64Type, Decimal128Type, Float32Type, Float64Type,
    Int8Type, Int16Type, Int32Type, Int64Type, IntervalDayTimeType, IntervalMonthDayNanoType,
    IntervalUnit, IntervalYearMonthType, Time32MillisecondType, Time32SecondType,
    Time64MicrosecondType, Time64NanosecondType, TimeUnit, TimestampMicrosecondType,
    TimestampMillisecondType, TimestampNanosecondType, TimestampSecondType, UInt8Type, UInt16Type,
    UInt32Type, UInt64Type,
};
use optisync_core::Value;
use serde_json::Value as Json;

use super::temporal::{self, Unit};
use super::types::decimal_kind;
use crate::batch::{Batch, Cells, Texts};
use crate::column::ColumnKind;
use crate::error::{Result, SourceError};

/// Decodes every chunk of one result into records.
#[derive(Debug)]
pub(super) struct BatchDecoder {
    columns: Arc<[String]>,
    /// Per column: its text holds JSON to parse.
    json_text: Vec<bool>,
}

impl BatchDecoder {
    /// A decoder for a result with these column names; `json_text[i]` says column `i` is
    /// DuckDB's `JSON` type.
    pub(super) fn new(columns: Arc<[String]>, json_text: Vec<bool>) -> Self {
        Self { columns, json_text }
    }

    /// Decodes the chunk's rows onto the end of `onto`, a batch over the same columns. A
    /// text column goes straight from Arrow's buffer into `onto`'s, in one copy; other
    /// columns are decoded, then moved.
    pub(super) fn decode_onto(&self, batch: &RecordBatch, onto: &mut Batch) -> Result<()> {
        let width = self.columns.len();
        if batch.num_columns() != width {
            return Err(SourceError::BadValue {
                column: self.columns.join(", "),
                message: format!(
                    "DuckDB returned {} columns where {width} were announced",
                    batch.num_columns()
                ),
            });
        }
        onto.extend_columns(batch.num_rows(), |index, cells| {
            let array = batch.column(index).as_ref();
            let json_text = self.json_text.get(index).copied().unwrap_or(false);
            if !json_text {
                if cells.len() == 0 && !matches!(cells, Cells::Texts(_)) {
                    *cells = Cells::Texts(Texts::default());
                }
                if let Cells::Texts(texts) = cells
                    && append_text_cells(array, texts)
                {
                    return Ok(());
                }
            }
            let mut values = Vec::with_capacity(array.len());
            decode_column(array, json_text, &self.columns[index], &mut values)?;
            let mut decoded = Cells::Values(values);
            cells.append(&mut decoded);
            Ok(())
        })
    }
}

/// Appends a text column's cells to `texts`: from Arrow's buffer whole when it checks out
/// ([`append_texts`]), else cell by cell. `false`, leaving `texts` as it was, for a column
/// that is not text.
fn append_text_cells(array: &dyn Array, texts: &mut Texts) -> bool {
    if append_texts(array, texts) {
        return true;
    }
    match array.data_type() {
        DataType::Utf8 => array.as_string::<i32>().iter().for_each(|t| texts.push(t)),
        DataType::LargeUtf8 => array.as_string::<i64>().iter().for_each(|t| texts.push(t)),
        DataType::Utf8View => array.as_string_view().iter().for_each(|t| texts.push(t)),
        _ => return false,
    }
    true
}

/// Appends a text column's cells to `texts` straight from Arrow's buffer; `false`, leaving
/// `texts` as it was, for another type or a buffer that does not check out.
fn append_texts(array: &dyn Array, texts: &mut Texts) -> bool {
    fn offsets<O: OffsetSizeTrait>(array: &GenericStringArray<O>, texts: &mut Texts) -> bool {
        let offsets = array.value_offsets();
        let (Some(first), Some(last)) = (offsets.first(), offsets.last()) else {
            return false;
        };
        let (first, last) = (first.as_usize(), last.as_usize());
        let Some(text) = array
            .value_data()
            .get(first..last)
            .and_then(|bytes| std::str::from_utf8(bytes).ok())
        else {
            return false;
        };
        let ends = offsets
            .iter()
            .skip(1)
            .map(|end| end.as_usize().wrapping_sub(first));
        texts.extend_from_buffer(text, ends, |index| array.is_null(index))
    }
    match array.data_type() {
        DataType::Utf8 => offsets(array.as_string::<i32>(), texts),
        DataType::LargeUtf8 => offsets(array.as_string::<i64>(), texts),
        _ => false,
    }
}

/// Where a column's decoded cells go, in row order.
trait Sink {
    fn push(&mut self, value: Value);
}

impl Sink for Vec<Value> {
    #[inline]
    fn push(&mut self, value: Value) {
        Vec::push(self, value);
    }
}

fn bad_value(column: &str, message: impl Into<String>) -> SourceError {
    SourceError::BadValue {
        column: column.to_owned(),
        message: message.into(),
    }
}

/// Decodes one column (any Arrow type DuckDB produces) into `sink`.
fn decode_column(
    array: &dyn Array,
    json_text: bool,
    column: &str,
    sink: &mut impl Sink,
) -> Result<()> {
    match array.data_type() {
        DataType::Null => (0..array.len()).for_each(|_| sink.push(Value::Null)),
        DataType::Boolean => {
            for value in array.as_boolean() {
                sink.push(value.map_or(Value::Null, Value::Bool));
            }
        }
        DataType::Int8 => primitive::<Int8Type>(array, sink, |v| Value::Int(v.into())),
        DataType::Int16 => primitive::<Int16Type>(array, sink, |v| Value::Int(v.into())),
        DataType::Int32 => primitive::<Int32Type>(array, sink, |v| Value::Int(v.into())),
        DataType::Int64 => primitive::<Int64Type>(array, sink, Value::Int),
        DataType::UInt8 => primitive::<UInt8Type>(array, sink, |v| Value::Int(v.into())),
        DataType::UInt16 => primitive::<UInt16Type>(array, sink, |v| Value::Int(v.into())),
        DataType::UInt32 => primitive::<UInt32Type>(array, sink, |v| Value::Int(v.into())),
        DataType::UInt64 => primitive::<UInt64Type>(array, sink, |v| {
            i64::try_from(v).map_or_else(|_| Value::Text(v.to_string()), Value::Int)
        }),
        DataType::Float32 => {
            let mut text = String::new();
            primitive::<Float32Type>(array, sink, |v| Value::Float(widen(v, &mut text)));
        }
        DataType::Float64 => primitive::<Float64Type>(array, sink, Value::Float),
        DataType::Decimal128(width, scale) => {
            let width = *width;
            let Ok(scale) = u8::try_from(*scale) else {
                return Err(bad_value(
                    column,
                    "decimals with a negative scale are not supported",
                ));
            };
            match decimal_kind(width, scale) {
                ColumnKind::Int => primitive::<Decimal128Type>(array, sink, |v| {
                    i64::try_from(v).map_or_else(|_| Value::Text(v.to_string()), Value::Int)
                }),
                ColumnKind::Float => {
                    // Exact: |v| < 10^15 < 2^53 and 10^scale (scale < 15) are exact doubles,
                    // and IEEE division rounds correctly, so this is the double nearest the
                    // decimal, whose shortest rendering is the decimal's own digits.
                    let divisor = 10f64.powi(i32::from(scale));
                    primitive::<Decimal128Type>(array, sink, |v| Value::Float(v as f64 / divisor));
                }
                _ => primitive::<Decimal128Type>(array, sink, |v| {
                    Value::Text(decimal_text(v, scale))
                }),
            }
        }
        DataType::Utf8 => strings(array.as_string::<i32>().iter(), json_text, sink),
        DataType::LargeUtf8 => strings(array.as_string::<i64>().iter(), json_text, sink),
        DataType::Utf8View => strings(array.as_string_view().iter(), json_text, sink),
        DataType::Dictionary(_, _) => {
            // DuckDB's ENUM: decode the (few) distinct values once, then copy per row.
            let dictionary = array.as_any_dictionary();
            let mut distinct = Vec::with_capacity(dictionary.values().len());
            decode_column(
                dictionary.values().as_ref(),
                json_text,
                column,
                &mut distinct,
            )?;
            let keys = dictionary.keys();
            for (row, key) in dictionary.normalized_keys().into_iter().enumerate() {
                if keys.is_null(row) {
                    sink.push(Value::Null);
                } else {
                    sink.push(distinct.get(key).cloned().unwrap_or(Value::Null));
                }
            }
        }
        DataType::Date32 => try_primitive::<Date32Type>(array, sink, "date", |days| {
            temporal::date(days).map(Value::Text)
        }),
        DataType::Date64 => try_primitive::<Date64Type>(array, sink, "date", |millis| {
            let days = i32::try_from(millis.div_euclid(86_400_000)).ok()?;
            temporal::date(days).map(Value::Text)
        }),
        DataType::Timestamp(unit, zone) => {
            let utc = zone.is_some();
            let to_text = move |unit: Unit| {
                move |value: i64| temporal::timestamp(value, unit, utc).map(Value::Text)
            };
            match unit {
                TimeUnit::Second => {
                    try_primitive::<TimestampSecondType>(
                        array,
                        sink,
                        "timestamp",
                        to_text(Unit::Second),
                    );
                }
                TimeUnit::Millisecond => try_primitive::<TimestampMillisecondType>(
                    array,
                    sink,
                    "timestamp",
                    to_text(Unit::Milli),
                ),
                TimeUnit::Microsecond => try_primitive::<TimestampMicrosecondType>(
                    array,
                    sink,
                    "timestamp",
                    to_text(Unit::Micro),
                ),
                TimeUnit::Nanosecond => try_primitive::<TimestampNanosecondType>(
                    array,
                    sink,
                    "timestamp",
                    to_text(Unit::Nano),
                ),
            }
        }
        DataType::Time32(TimeUnit::Second) => {
            try_primitive::<Time32SecondType>(array, sink, "time", |v| {
                temporal::time(v.into(), Unit::Second).map(Value::Text)
            });
        }
        DataType::Time32(_) => try_primitive::<Time32MillisecondType>(array, sink, "time", |v| {
            temporal::time(v.into(), Unit::Milli).map(Value::Text)
        }),
        DataType::Time64(TimeUnit::Nanosecond) => {
            try_primitive::<Time64NanosecondType>(array, sink, "time", |v| {
                temporal::time(v, Unit::Nano).map(Value::Text)
            });
        }
        DataType::Time64(_) => try_primitive::<Time64MicrosecondType>(array, sink, "time", |v| {
            temporal::time(v, Unit::Micro).map(Value::Text)
        }),
        DataType::Interval(IntervalUnit::MonthDayNano) => {
            primitive::<IntervalMonthDayNanoType>(array, sink, |v| {
                Value::Text(temporal::interval(v.months, v.days, v.nanoseconds))
            });
        }
        DataType::Interval(IntervalUnit::DayTime) => {
            primitive::<IntervalDayTimeType>(array, sink, |v| {
                let nanos = i64::from(v.milliseconds) * 1_000_000;
                Value::Text(temporal::interval(0, v.days, nanos))
            });
        }
        DataType::Interval(IntervalUnit::YearMonth) => {
            primitive::<IntervalYearMonthType>(array, sink, |months| {
                Value::Text(temporal::interval(months, 0, 0))
            });
        }
        DataType::FixedSizeBinary(16) => {
            // DuckDB's UUID when exported losslessly: 16 bytes, written in the usual form.
            for bytes in array.as_fixed_size_binary() {
                sink.push(bytes.map_or(Value::Null, |b| Value::Text(uuid_text(b))));
            }
        }
        DataType::List(_)
        | DataType::LargeList(_)
        | DataType::FixedSizeList(_, _)
        | DataType::Struct(_)
        | DataType::Map(_, _)
        | DataType::Union(_, _) => {
            let json = json_column(array, column)?;
            for (row, value) in json.into_iter().enumerate() {
                // A null nested value is SQL NULL, not a JSON null.
                if array.is_null(row) {
                    sink.push(Value::Null);
                } else {
                    sink.push(value.map_or_else(Value::Invalid, Value::Json));
                }
            }
        }
        other => {
            return Err(bad_value(
                column,
                format!("values of Arrow type {other} cannot be converted"),
            ));
        }
    }
    Ok(())
}

/// A primitive column through an infallible conversion; skips the null checks when the
/// chunk has no nulls (the common case).
#[inline]
fn primitive<T: ArrowPrimitiveType>(
    array: &dyn Array,
    sink: &mut impl Sink,
    mut convert: impl FnMut(T::Native) -> Value,
) {
    let array = array.as_primitive::<T>();
    if array.null_count() == 0 {
        for value in array.values().iter() {
            sink.push(convert(*value));
        }
    } else {
        for value in array {
            sink.push(value.map_or(Value::Null, &mut convert));
        }
    }
}

/// A primitive column through a conversion that can find a value out of range; such a
/// value becomes [`Value::Invalid`], naming `what` it is (`timestamp`, `date`, `time`).
fn try_primitive<T: ArrowPrimitiveType>(
    array: &dyn Array,
    sink: &mut impl Sink,
    what: &str,
    mut convert: impl FnMut(T::Native) -> Option<Value>,
) {
    for value in array.as_primitive::<T>() {
        match value {
            None => sink.push(Value::Null),
            Some(raw) => sink.push(convert(raw).unwrap_or_else(|| out_of_range(what))),
        }
    }
}

fn out_of_range(what: &str) -> Value {
    Value::Invalid(format!(
        "the {what} is outside the years optisync can write (-262143 to 262142); \
         cast it to VARCHAR in the model, or filter it out"
    ))
}

/// A text column; with `json_text`, each value is read as JSON
/// ([`Value::from_json_text`]: one that cannot be read rejects its row, not the batch).
fn strings<'a>(
    values: impl Iterator<Item = Option<&'a str>>,
    json_text: bool,
    sink: &mut impl Sink,
) {
    if json_text {
        for value in values {
            sink.push(value.map_or(Value::Null, Value::from_json_text));
        }
    } else {
        for value in values {
            sink.push(value.map_or(Value::Null, |text| Value::Text(text.to_owned())));
        }
    }
}

/// A `REAL` as the double with the same shortest decimal rendering (`0.1f32` becomes `0.1`,
/// not `0.10000000149011612`): what the user sees in DuckDB is what optisync sends.
fn widen(value: f32, buffer: &mut String) -> f64 {
    if !value.is_finite() {
        return f64::from(value);
    }
    buffer.clear();
    // Infallible: writing to a String cannot fail.
    let _ = write!(buffer, "{value}");
    buffer.parse().unwrap_or_else(|_| f64::from(value))
}

/// A decimal's exact text: `12345` with scale 2 is `123.45`.
fn decimal_text(value: i128, scale: u8) -> String {
    let digits = value.unsigned_abs().to_string();
    let scale = usize::from(scale);
    let mut out = String::with_capacity(digits.len() + 3);
    if value < 0 {
        out.push('-');
    }
    if scale == 0 {
        out.push_str(&digits);
    } else if digits.len() > scale {
        let (whole, fraction) = digits.split_at(digits.len() - scale);
        out.push_str(whole);
        out.push('.');
        out.push_str(fraction);
    } else {
        out.push_str("0.");
        out.extend(std::iter::repeat_n('0', scale - digits.len()));
        out.push_str(&digits);
    }
    out
}

fn uuid_text(bytes: &[u8]) -> String {
    let mut out = String::with_capacity(36);
    for (index, byte) in bytes.iter().enumerate() {
        if matches!(index, 4 | 6 | 8 | 10) {
            out.push('-');
        }
        // Infallible: writing to a String cannot fail.
        let _ = write!(out, "{byte:02x}");
    }
    out
}

/// One nested value as JSON, or why it cannot be converted (a part that cannot be makes its
/// whole row's value [`Value::Invalid`]).
type Part = std::result::Result<Json, String>;

/// A whole column as JSON values (nulls as JSON null), for nested types and their children.
fn json_column(array: &dyn Array, column: &str) -> Result<Vec<Part>> {
    let len = array.len();
    match array.data_type() {
        DataType::List(_) => list_json(array.as_list::<i32>(), column),
        DataType::LargeList(_) => list_json(array.as_list::<i64>(), column),
        DataType::FixedSizeList(_, _) => {
            let list = array.as_fixed_size_list();
            let mut items = json_column(list.values().as_ref(), column)?;
            let size = usize::try_from(list.value_length()).unwrap_or_default();
            Ok((0..len)
                .map(|row| {
                    if list.is_null(row) {
                        return Ok(Json::Null);
                    }
                    let start = list.value_offset_at(row);
                    take_range(&mut items, start, start + size).map(Json::Array)
                })
                .collect())
        }
        DataType::Struct(fields) => {
            let parent = array.as_struct();
            let mut children = parent
                .columns()
                .iter()
                .map(|child| json_column(child.as_ref(), column))
                .collect::<Result<Vec<_>>>()?;
            Ok((0..len)
                .map(|row| {
                    if parent.is_null(row) {
                        return Ok(Json::Null);
                    }
                    fields
                        .iter()
                        .zip(children.iter_mut())
                        .map(|(field, child)| {
                            let value = take(child, row)?;
                            Ok((field.name().clone(), value))
                        })
                        .collect::<std::result::Result<_, String>>()
                        .map(Json::Object)
                })
                .collect())
        }
        DataType::Map(_, _) => {
            let map = array.as_map();
            let mut keys = json_column(map.keys().as_ref(), column)?;
            let mut values = json_column(map.values().as_ref(), column)?;
            let offsets = map.value_offsets();
            Ok((0..len)
                .map(|row| {
                    if map.is_null(row) {
                        return Ok(Json::Null);
                    }
                    let (start, end) = offset_range(offsets, row);
                    (start..end)
                        .map(|entry| {
                            let key = match take(&mut keys, entry)? {
                                Json::String(text) => text,
                                other => other.to_string(),
                            };
                            Ok((key, take(&mut values, entry)?))
                        })
                        .collect::<std::result::Result<_, String>>()
                        .map(Json::Object)
                })
                .collect())
        }
        DataType::Union(_, _) => {
            let union = array.as_union();
            let mut members: HashMap<i8, Vec<Part>> = HashMap::new();
            let mut out = Vec::with_capacity(len);
            for row in 0..len {
                let type_id = union.type_id(row);
                let member = match members.entry(type_id) {
                    std::collections::hash_map::Entry::Occupied(entry) => entry.into_mut(),
                    std::collections::hash_map::Entry::Vacant(entry) => {
                        entry.insert(json_column(union.child(type_id).as_ref(), column)?)
                    }
                };
                out.push(take(member, union.value_offset(row)));
            }
            Ok(out)
        }
        DataType::Binary | DataType::LargeBinary | DataType::BinaryView => Err(bad_value(
            column,
            "binary data inside a nested value cannot be sent; convert it in the model",
        )),
        _ => {
            let mut values = Vec::with_capacity(len);
            decode_column(array, false, column, &mut values)?;
            Ok(values.into_iter().map(value_json).collect())
        }
    }
}

fn list_json<O: OffsetSizeTrait>(
    list: &::duckdb::arrow::array::GenericListArray<O>,
    column: &str,
) -> Result<Vec<Part>> {
    let mut items = json_column(list.values().as_ref(), column)?;
    let offsets = list.value_offsets();
    Ok((0..list.len())
        .map(|row| {
            if list.is_null(row) {
                return Ok(Json::Null);
            }
            let start = offsets[row].as_usize();
            let end = offsets[row + 1].as_usize();
            take_range(&mut items, start, end).map(Json::Array)
        })
        .collect())
}

fn offset_range(offsets: &[i32], row: usize) -> (usize, usize) {
    let at = |i: usize| {
        offsets
            .get(i)
            .and_then(|&o| usize::try_from(o).ok())
            .unwrap_or_default()
    };
    (at(row), at(row + 1))
}

/// Moves the part at `index` out (each child value belongs to exactly one parent); a JSON
/// null past the end.
fn take(parts: &mut [Part], index: usize) -> Part {
    parts.get_mut(index).map_or(Ok(Json::Null), |part| {
        std::mem::replace(part, Ok(Json::Null))
    })
}

/// Moves `items[start..end]` out (Arrow list offsets never overlap, so each child value
/// belongs to exactly one parent); the first reason when one of them cannot be converted.
fn take_range(
    items: &mut [Part],
    start: usize,
    end: usize,
) -> std::result::Result<Vec<Json>, String> {
    match items.get_mut(start..end) {
        Some(slice) => slice
            .iter_mut()
            .map(|part| std::mem::replace(part, Ok(Json::Null)))
            .collect(),
        None => Ok(Vec::new()),
    }
}

/// A scalar inside a nested value, as JSON. Non-finite floats, which JSON cannot write,
/// become their names as strings rather than silently turning into null.
fn value_json(value: Value) -> Part {
    Ok(match value {
        Value::Null => Json::Null,
        Value::Bool(b) => Json::Bool(b),
        Value::Int(i) => Json::from(i),
        Value::Float(f) => serde_json::Number::from_f64(f)
            .map_or_else(|| Json::String(f.to_string()), Json::Number),
        Value::Text(text) => Json::String(text),
        Value::Json(json) => json,
        Value::Invalid(reason) => return Err(reason),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn decimal_text_is_exact() {
        assert_eq!(decimal_text(12_345, 2), "123.45");
        assert_eq!(decimal_text(-5, 3), "-0.005");
        assert_eq!(decimal_text(0, 2), "0.00");
        assert_eq!(decimal_text(42, 0), "42");
        assert_eq!(
            decimal_text(123_456_789_012_345_678_901_234_567, 10),
            "12345678901234567.8901234567"
        );
    }

    #[test]
    fn reals_keep_their_digits() {
        let mut buffer = String::new();
        assert_eq!(widen(0.1, &mut buffer), 0.1);
        assert_eq!(widen(-2.5e-7, &mut buffer), -2.5e-7);
        assert!(widen(f32::NAN, &mut buffer).is_nan());
    }

    /// The cells as a chunk appends them to an empty column.
    fn taken(array: &dyn Array) -> Texts {
        let mut texts = Texts::default();
        assert!(append_text_cells(array, &mut texts));
        texts
    }

    /// What copying the cells one by one gives.
    fn copied<O: OffsetSizeTrait>(array: &GenericStringArray<O>) -> Texts {
        let mut texts = Texts::default();
        array.iter().for_each(|t| texts.push(t));
        texts
    }

    #[test]
    fn a_string_array_is_taken_whole_with_its_nulls_and_offsets() {
        use ::duckdb::arrow::array::StringArray;
        let array = StringArray::from(vec![Some("u1"), None, Some(""), Some("é2"), None]);
        assert_eq!(taken(&array), copied(&array));
        // A slice starts at an offset other than 0.
        let sliced = array.slice(1, 3);
        assert_eq!(taken(&sliced), copied(&sliced));
        assert_eq!(taken(&sliced).get(2), Some(Some("é2")));
    }

    #[test]
    fn a_null_that_holds_bytes_is_copied_cell_by_cell() {
        use ::duckdb::arrow::array::StringArray;
        use ::duckdb::arrow::buffer::{Buffer, NullBuffer, OffsetBuffer, ScalarBuffer};
        let offsets = OffsetBuffer::new(ScalarBuffer::from(vec![0i32, 2, 5, 7]));
        let values = Buffer::from("u1bada2".as_bytes());
        let nulls = NullBuffer::from(vec![true, false, true]);
        let array = StringArray::new(offsets, values, Some(nulls));
        let texts = taken(&array);
        assert_eq!(texts, copied(&array));
        assert_eq!(texts.get(1), Some(None));
        assert_eq!(texts.get(2), Some(Some("a2")));
    }

    #[test]
    fn uuids_are_hyphenated() {
        let bytes: Vec<u8> = (0u8..16).collect();
        assert_eq!(uuid_text(&bytes), "00010203-0405-0607-0809-0a0b0c0d0e0f");
    }
}
