//! Durations written in the config (`"500ms"`, `"30s"`, `"5min"`, `"1h"`), parsed with integer
//! arithmetic only. Every product and sum is checked and every key has a range, so text such
//! as `"100000000000000000000000s"` is an error naming the allowed range, never a panic, a
//! float rounding to something else, or a wait of centuries.

use std::time::Duration;

use crate::error::DurationError;

/// The durations one key accepts, both ends included.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DurationRange {
    /// The shortest.
    pub min: Duration,
    /// The longest.
    pub max: Duration,
}

/// `[optimizely] timeout`, the time one request attempt may take: from 1 ms (zero would fail
/// every request) to 1 hour (an attempt is retried up to 5 times, so a longer one would only
/// hide a dead connection).
pub const REQUEST_TIMEOUT: DurationRange = DurationRange {
    min: Duration::from_millis(1),
    max: Duration::from_secs(3600),
};

/// `[source] statement_timeout`, after which PostgreSQL cancels a model: from 1 ms (the server
/// counts in milliseconds and reads 0 as "no limit", so anything shorter would remove the
/// limit instead of tightening it) to 24 hours (omit the key for the server's own setting).
pub const STATEMENT_TIMEOUT: DurationRange = DurationRange {
    min: Duration::from_millis(1),
    max: Duration::from_secs(24 * 3600),
};

/// Nanoseconds per unit, for the units the config accepts.
const UNITS: [(&str, u128); 4] = [
    ("ms", 1_000_000),
    ("s", 1_000_000_000),
    ("min", 60_000_000_000),
    ("h", 3_600_000_000_000),
];

/// Fraction digits beyond this many are below a nanosecond for every unit, and ignored.
const MAX_FRACTION_DIGITS: usize = 18;

/// Parses `text` (a number, an optional fraction, a unit: `"1.5s"`, `"5min"`) into a duration
/// within `range`. Anything that does not fit, including numbers too large to compute, is
/// [`DurationError::OutOfRange`]; the result is never outside `range`.
pub fn parse_duration(text: &str, range: DurationRange) -> Result<Duration, DurationError> {
    let text = text.trim();
    let split = text
        .find(|c: char| !c.is_ascii_digit() && c != '.')
        .unwrap_or(text.len());
    let (number, unit) = text.split_at(split);
    let (whole, fraction) = number.split_once('.').unwrap_or((number, ""));
    if (whole.is_empty() && fraction.is_empty()) || fraction.contains('.') {
        return Err(DurationError::NotADuration);
    }
    let per_unit = UNITS
        .iter()
        .find(|(name, _)| *name == unit.trim())
        .map(|(_, nanos)| *nanos)
        .ok_or(DurationError::UnknownUnit)?;
    let out_of_range = || DurationError::OutOfRange {
        min: display(range.min),
        max: display(range.max),
    };
    let whole_nanos = digits_value(whole)
        .and_then(|n| n.checked_mul(per_unit))
        .ok_or_else(out_of_range)?;
    let fraction = &fraction[..fraction.len().min(MAX_FRACTION_DIGITS)];
    // At most 18 digits times at most 3.6e12 ns: far below u128::MAX.
    let fraction_nanos = digits_value(fraction)
        .and_then(|n| n.checked_mul(per_unit))
        .and_then(|n| n.checked_div(10u128.checked_pow(u32::try_from(fraction.len()).ok()?)?))
        .ok_or_else(out_of_range)?;
    let nanos = whole_nanos
        .checked_add(fraction_nanos)
        .ok_or_else(out_of_range)?;
    if nanos < range.min.as_nanos() || nanos > range.max.as_nanos() {
        return Err(out_of_range());
    }
    let nanos = u64::try_from(nanos).map_err(|_| out_of_range())?;
    Ok(Duration::from_nanos(nanos))
}

/// The value of a string of ASCII digits (empty is 0), or `None` when it overflows.
fn digits_value(digits: &str) -> Option<u128> {
    digits.bytes().try_fold(0u128, |n, b| {
        n.checked_mul(10)?
            .checked_add(u128::from(b.checked_sub(b'0')?))
    })
}

/// A range end as the config would write it: `1h`, `5min`, `30s`, `500ms`.
pub(crate) fn display(duration: Duration) -> String {
    let millis = duration.as_millis();
    let secs = duration.as_secs();
    if !duration.subsec_nanos().is_multiple_of(1_000_000) {
        format!("{}ns", duration.as_nanos())
    } else if duration.subsec_millis() != 0 || secs == 0 {
        format!("{millis}ms")
    } else if secs.is_multiple_of(3600) {
        format!("{}h", secs / 3600)
    } else if secs.is_multiple_of(60) {
        format!("{}min", secs / 60)
    } else {
        format!("{secs}s")
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    const WIDE: DurationRange = DurationRange {
        min: Duration::ZERO,
        max: Duration::from_secs(24 * 3600),
    };

    #[test]
    fn units_and_fractions() {
        for (text, want) in [
            ("500ms", Duration::from_millis(500)),
            ("30s", Duration::from_secs(30)),
            (" 30 s ", Duration::from_secs(30)),
            ("5min", Duration::from_secs(300)),
            ("2h", Duration::from_secs(7200)),
            ("1.5s", Duration::from_millis(1500)),
            (".25s", Duration::from_millis(250)),
            ("0.5min", Duration::from_secs(30)),
            ("1.000000001s", Duration::from_nanos(1_000_000_001)),
            ("0.0000000000000000000009s", Duration::ZERO),
        ] {
            assert_eq!(parse_duration(text, WIDE), Ok(want), "{text}");
        }
    }

    #[test]
    fn malformed_text_is_named_as_such() {
        for text in [
            "", "soon", "s", ".s", "1..2s", "1.2.3s", "-1s", "+1s", "1e3s",
        ] {
            let err = parse_duration(text, WIDE).unwrap_err();
            assert!(
                matches!(
                    err,
                    DurationError::NotADuration | DurationError::UnknownUnit
                ),
                "{text}: {err:?}"
            );
        }
        assert_eq!(parse_duration("30", WIDE), Err(DurationError::UnknownUnit));
        assert_eq!(parse_duration("30d", WIDE), Err(DurationError::UnknownUnit));
    }

    #[test]
    fn huge_numbers_are_out_of_range_not_a_panic() {
        for text in [
            "100000000000000000000000s",
            "99999999999999999999999999999999999999999999999h",
            "18446744073709551616s",
            "25h",
            "1441min",
        ] {
            let err = parse_duration(text, WIDE).unwrap_err();
            assert_eq!(
                err,
                DurationError::OutOfRange {
                    min: "0ms".into(),
                    max: "24h".into()
                },
                "{text}"
            );
        }
        assert_eq!(parse_duration("24h", WIDE), Ok(Duration::from_secs(86_400)));
    }

    #[test]
    fn each_key_has_its_range() {
        assert!(parse_duration("0s", REQUEST_TIMEOUT).is_err());
        assert!(parse_duration("0.1ms", REQUEST_TIMEOUT).is_err());
        assert!(parse_duration("1ms", REQUEST_TIMEOUT).is_ok());
        assert!(parse_duration("1h", REQUEST_TIMEOUT).is_ok());
        assert!(parse_duration("61min", REQUEST_TIMEOUT).is_err());
        assert!(parse_duration("0ms", STATEMENT_TIMEOUT).is_err());
        assert!(parse_duration("24h", STATEMENT_TIMEOUT).is_ok());
        assert!(parse_duration("25h", STATEMENT_TIMEOUT).is_err());
        let err = parse_duration("2h", REQUEST_TIMEOUT)
            .unwrap_err()
            .to_string();
        assert!(err.contains("from 1ms to 1h"), "{err}");
    }

    #[test]
    fn range_ends_display_as_written() {
        assert_eq!(display(Duration::from_secs(3600)), "1h");
        assert_eq!(display(Duration::from_secs(86_400)), "24h");
        assert_eq!(display(Duration::from_secs(300)), "5min");
        assert_eq!(display(Duration::from_secs(30)), "30s");
        assert_eq!(display(Duration::from_millis(1)), "1ms");
        assert_eq!(display(Duration::from_millis(1500)), "1500ms");
        assert_eq!(display(Duration::from_nanos(5)), "5ns");
    }

    proptest! {
        #[test]
        fn any_text_parses_within_the_range_or_fails(text in "\\PC{0,40}") {
            for range in [REQUEST_TIMEOUT, STATEMENT_TIMEOUT, WIDE] {
                if let Ok(d) = parse_duration(&text, range) {
                    prop_assert!(d >= range.min && d <= range.max, "{text:?} gave {d:?}");
                }
            }
        }

        #[test]
        fn numeric_text_parses_within_the_range_or_fails(
            text in "[0-9]{0,40}(\\.[0-9]{0,40})? ?(ms|s|min|h|)",
        ) {
            for range in [REQUEST_TIMEOUT, STATEMENT_TIMEOUT, WIDE] {
                if let Ok(d) = parse_duration(&text, range) {
                    prop_assert!(d >= range.min && d <= range.max, "{text:?} gave {d:?}");
                }
            }
        }

        #[test]
        fn whole_seconds_round_trip(secs in 0u64..=86_400) {
            prop_assert_eq!(parse_duration(&format!("{secs}s"), WIDE), Ok(Duration::from_secs(secs)));
        }
    }
}
