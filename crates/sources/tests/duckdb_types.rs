//! How each DuckDB type becomes a `Value`, checked against real DuckDB.

#![cfg(feature = "duckdb")]
// Helpers outside `#[test]` functions unwrap too: a failure there is a test failure.
#![allow(clippy::unwrap_used)]

mod warehouse;

use optisync_core::Value;
use optisync_sources::{ColumnKind, SourceError};
use serde_json::json;
use warehouse::{in_memory, run_error, single_row};

/// (SQL expression, expected value, expected kind), each checked on its own column.
fn cases() -> Vec<(&'static str, Value, ColumnKind)> {
    use ColumnKind as K;
    vec![
        ("'héllo'::varchar", Value::from("héllo"), K::Text),
        ("42::tinyint", Value::Int(42), K::Int),
        ("(-300)::smallint", Value::Int(-300), K::Int),
        ("70000::integer", Value::Int(70_000), K::Int),
        ("9000000000::bigint", Value::Int(9_000_000_000), K::Int),
        ("200::utinyint", Value::Int(200), K::Int),
        ("60000::usmallint", Value::Int(60_000), K::Int),
        ("4000000000::uinteger", Value::Int(4_000_000_000), K::Int),
        ("7::ubigint", Value::Int(7), K::Int),
        (
            "18446744073709551615::ubigint",
            Value::from("18446744073709551615"),
            K::Int,
        ),
        ("(-5)::hugeint", Value::Int(-5), K::Int),
        (
            "170141183460469231731687303715884105727::hugeint",
            Value::from("170141183460469231731687303715884105727"),
            K::Int,
        ),
        ("12::uhugeint", Value::Int(12), K::Int),
        ("1.5::float", Value::Float(1.5), K::Float),
        ("0.1::real", Value::Float(0.1), K::Float),
        ("2.25::double", Value::Float(2.25), K::Float),
        ("12.34::decimal(4,2)", Value::Float(12.34), K::Float),
        (
            "123456789012345678.125::decimal(38,3)",
            Value::from("123456789012345678.125"),
            K::Text,
        ),
        ("(-0.5)::decimal(20,2)", Value::from("-0.50"), K::Text),
        (
            "123456789012::decimal(18,0)",
            Value::Int(123_456_789_012),
            K::Int,
        ),
        ("true", Value::Bool(true), K::Bool),
        (
            "'{\"a\": [1, 2], \"b\": null}'::json",
            Value::Json(json!({"a": [1, 2], "b": null})),
            K::Json,
        ),
        ("[1, 2, 3]", Value::Json(json!([1, 2, 3])), K::Json),
        ("['a', null]", Value::Json(json!(["a", null])), K::Json),
        (
            "{'a': 1, 'b': 'x', 'c': [true]}",
            Value::Json(json!({"a": 1, "b": "x", "c": [true]})),
            K::Json,
        ),
        (
            "map {'k': 1, 'l': 2}",
            Value::Json(json!({"k": 1, "l": 2})),
            K::Json,
        ),
        ("map {1: 'one'}", Value::Json(json!({"1": "one"})), K::Json),
        ("[1, 2]::integer[2]", Value::Json(json!([1, 2])), K::Json),
        (
            "[{'d': 1.5::decimal(3,1)}, null]",
            Value::Json(json!([{"d": 1.5}, null])),
            K::Json,
        ),
        (
            "union_value(num := 2)::union(num integer, str varchar)",
            Value::Json(json!(2)),
            K::Json,
        ),
        ("date '2024-01-02'", Value::from("2024-01-02"), K::Text),
        (
            "timestamp '2024-01-02 03:04:05.123'",
            Value::from("2024-01-02T03:04:05.123"),
            K::Text,
        ),
        (
            "timestamp '2024-01-02 03:04:05'",
            Value::from("2024-01-02T03:04:05"),
            K::Text,
        ),
        (
            "'2024-01-02 03:04:05.5+02'::timestamptz",
            Value::from("2024-01-02T01:04:05.500Z"),
            K::Text,
        ),
        (
            "'2024-01-02 03:04:05'::timestamp_s",
            Value::from("2024-01-02T03:04:05"),
            K::Text,
        ),
        (
            "'2024-01-02 03:04:05.123456789'::timestamp_ns",
            Value::from("2024-01-02T03:04:05.123456789"),
            K::Text,
        ),
        ("time '01:02:03.25'", Value::from("01:02:03.250"), K::Text),
        (
            "interval '1 year 2 days 3 hours'",
            Value::from("P1Y2DT3H"),
            K::Text,
        ),
        (
            "'a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11'::uuid",
            Value::from("a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11"),
            K::Text,
        ),
        ("'b'::enum('a', 'b')", Value::from("b"), K::Text),
        ("null", Value::Null, K::Null),
        ("null::varchar", Value::Null, K::Text),
        ("null::json", Value::Null, K::Json),
        ("null::integer[]", Value::Null, K::Json),
        ("null::bigint", Value::Null, K::Int),
    ]
}

#[test]
fn every_type_maps_to_its_value() {
    let dir = tempfile::tempdir().unwrap();
    let source = in_memory(dir.path());
    let mut failures = Vec::new();
    for (expression, expected, kind) in cases() {
        let model = format!("select {expression} as c");
        let described = source.describe(&model).unwrap();
        let record = single_row(&source, &model);
        let got = record.get("c").cloned();
        if got.as_ref() != Some(&expected) || described[0].kind != kind {
            failures.push(format!(
                "{expression} ({}): got {got:?} / {:?}, expected {expected:?} / {kind:?}",
                described[0].type_name, described[0].kind
            ));
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

#[test]
fn all_types_in_one_row_keep_their_order() {
    let dir = tempfile::tempdir().unwrap();
    let source = in_memory(dir.path());
    let cases = cases();
    let select: Vec<String> = cases
        .iter()
        .enumerate()
        .map(|(i, (expression, _, _))| format!("{expression} as c{i}"))
        .collect();
    let record = single_row(&source, &format!("select {}", select.join(", ")));
    let expected: Vec<Value> = cases.into_iter().map(|(_, value, _)| value).collect();
    assert_eq!(record.values(), expected.as_slice());
    assert_eq!(record.columns()[3], "c3");
}

#[test]
fn nulls_in_every_kind_of_column() {
    let dir = tempfile::tempdir().unwrap();
    let source = in_memory(dir.path());
    let rows = warehouse::rows(
        &source,
        "select * from (values
            (1, 'a', 1.5, true, [1], date '2024-01-01', '{}'::json),
            (null, null, null, null, null, null, null)
         ) t(i, s, f, b, l, d, j) order by i nulls last",
    );
    assert_eq!(rows[1], vec![Value::Null; 7]);
    assert_eq!(rows[0][4], Value::Json(json!([1])));
}

#[test]
fn blob_columns_are_refused_naming_the_column() {
    let dir = tempfile::tempdir().unwrap();
    let source = in_memory(dir.path());
    let model = "select 1 as id, '\\x00\\xff'::blob as avatar";
    let described = source.describe(model).unwrap();
    assert_eq!(described[1].kind, ColumnKind::Unsupported);
    let error = run_error(&source, model);
    let message = error.to_string();
    assert!(
        matches!(&error, SourceError::UnsupportedColumn { column, .. } if column == "avatar"),
        "{error:?}"
    );
    assert!(message.contains("`avatar`"), "{message}");
    assert!(message.contains("BLOB"), "{message}");
    assert!(message.contains("to_base64"), "{message}");

    let nested = run_error(&source, "select [''::blob] as blobs");
    assert!(
        matches!(&nested, SourceError::UnsupportedColumn { column, .. } if column == "blobs"),
        "{nested:?}"
    );
}
