//! Decimals that arrive as text (PostgreSQL's `numeric`, MySQL's `DECIMAL`).

use optisync_core::Value;

/// A decimal's text as a [`Value`], by the same rule as DuckDB's decimals, so that no
/// digit is ever lost: an integer when integral and within `i64`, a float when at most 15
/// significant digits, else the exact text.
pub(crate) fn decimal(text: &str) -> Value {
    if !text.contains(['.', 'e', 'E', 'N', 'I'])
        && let Ok(int) = text.parse::<i64>()
    {
        return Value::Int(int);
    }
    let digits = text
        .chars()
        .filter(char::is_ascii_digit)
        .collect::<String>();
    let significant = digits.trim_start_matches('0').trim_end_matches('0').len();
    match text.parse::<f64>() {
        Ok(float) if float.is_finite() && significant <= 15 => Value::Float(float),
        _ => Value::Text(text.to_owned()),
    }
}
