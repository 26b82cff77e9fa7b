//! A cell DuckDB returns that optisync cannot convert rejects its row only: JSON nested
//! deeper than optisync reads, and timestamps, dates and times beyond the years optisync can
//! write (also inside lists and structs), arrive as `Value::Invalid` with why, while the
//! other cells and rows arrive intact. JSON whose numbers a float would round stays text.

#![cfg(feature = "duckdb")]
#![allow(clippy::unwrap_used)]

mod warehouse;

use optisync_core::Value;
use serde_json::json;
use warehouse::{in_memory, rows};

fn reason(value: &Value) -> &str {
    value
        .invalid_reason()
        .unwrap_or_else(|| panic!("expected an invalid cell, got {value:?}"))
}

#[test]
fn over_deep_json_is_an_invalid_cell_and_the_other_rows_arrive() {
    let dir = tempfile::tempdir().unwrap();
    let source = in_memory(dir.path());
    let rows = rows(
        &source,
        "select * from (values \
            (1, '[\"and\", {\"type\": \"custom_attribute\"}]'::JSON), \
            (2, (repeat('[', 300) || repeat(']', 300))::JSON), \
            (3, '{\"n\": 123456789012345678901234567890}'::JSON), \
            (4, null::JSON) \
         ) t(id, conditions) order by id",
    );
    assert_eq!(rows.len(), 4);
    assert_eq!(
        rows[0][1],
        Value::Json(json!(["and", {"type": "custom_attribute"}]))
    );
    assert!(reason(&rows[1][1]).contains("nested 300 levels deep"));
    assert_eq!(rows[1][0], Value::Int(2));
    assert_eq!(
        rows[2][1],
        Value::from("{\"n\": 123456789012345678901234567890}")
    );
    assert_eq!(rows[3][1], Value::Null);
}

#[test]
fn out_of_range_temporal_values_are_invalid_cells_even_when_nested() {
    let dir = tempfile::tempdir().unwrap();
    let source = in_memory(dir.path());
    let rows = rows(
        &source,
        "select id, ts, [ts] as list, {'at': ts} as object, tz from (values \
            (1, timestamp '2024-01-02 03:04:05', to_timestamp(0)), \
            (2, make_timestamp(290000, 1, 1, 0, 0, 0), to_timestamp(9000000000000)), \
            (3, null, null) \
         ) t(id, ts, tz) order by id",
    );
    assert_eq!(rows.len(), 3);
    assert_eq!(rows[0][1], Value::from("2024-01-02T03:04:05"));
    assert_eq!(rows[0][2], Value::Json(json!(["2024-01-02T03:04:05"])));
    assert_eq!(
        rows[0][3],
        Value::Json(json!({"at": "2024-01-02T03:04:05"}))
    );
    assert_eq!(rows[0][4], Value::from("1970-01-01T00:00:00Z"));
    for (column, cell) in rows[1].iter().enumerate().skip(1) {
        let reason = reason(cell);
        assert!(
            reason.contains("timestamp is outside the years optisync can write"),
            "column {column}: {reason}"
        );
        assert!(reason.contains("cast it to VARCHAR"), "{reason}");
    }
    assert_eq!(
        rows[2][1..],
        [
            Value::Null,
            Value::Json(json!([null])),
            Value::Json(json!({"at": null})),
            Value::Null
        ]
    );
}
