//! Dates, times, timestamps and intervals as ISO 8601 text, which is how optisync carries
//! them (Optimizely's fields are text, and ISO 8601 sorts and compares as text). Timestamps
//! with a time zone are instants and end in `Z`; those without one are written as they are.
//! Fractions of a second use 3, 6 or 9 digits as needed, and none when zero.
//! DuckDB's `infinity` and `-infinity` stay those words.

use std::fmt::Write;

use chrono::{DateTime, Datelike, NaiveDate, NaiveDateTime, Timelike};

const NANOS_PER_SECOND: i64 = 1_000_000_000;
const SECONDS_PER_DAY: i64 = 86_400;

/// The unit of a timestamp's or time's integer value.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Unit {
    Second,
    Milli,
    Micro,
    Nano,
}

impl Unit {
    fn per_second(self) -> i64 {
        match self {
            Unit::Second => 1,
            Unit::Milli => 1_000,
            Unit::Micro => 1_000_000,
            Unit::Nano => NANOS_PER_SECOND,
        }
    }
}

/// A date given as days since 1970-01-01; `None` when out of the representable range.
pub(super) fn date(days: i32) -> Option<String> {
    // DuckDB's infinite dates are the extreme day numbers.
    if days == i32::MAX {
        return Some("infinity".to_owned());
    }
    if days == -i32::MAX {
        return Some("-infinity".to_owned());
    }
    let date = DateTime::from_timestamp(i64::from(days) * SECONDS_PER_DAY, 0)?.date_naive();
    let mut out = String::with_capacity(10);
    write_date(&mut out, date);
    Some(out)
}

/// A timestamp given as a count of `unit` since 1970-01-01T00:00:00; with `utc`, an instant
/// written with a `Z`. `None` when out of the representable range.
pub(super) fn timestamp(value: i64, unit: Unit, utc: bool) -> Option<String> {
    // DuckDB's infinite timestamps are the extreme counts.
    if value == i64::MAX {
        return Some("infinity".to_owned());
    }
    if value == -i64::MAX {
        return Some("-infinity".to_owned());
    }
    let per_second = unit.per_second();
    let seconds = value.div_euclid(per_second);
    let nanos = value.rem_euclid(per_second) * (NANOS_PER_SECOND / per_second);
    let nanos = u32::try_from(nanos).ok()?;
    let at = DateTime::from_timestamp(seconds, nanos)?.naive_utc();
    let mut out = String::with_capacity(32);
    write_date_time(&mut out, at);
    if utc {
        out.push('Z');
    }
    Some(out)
}

/// A time of day given as a count of `unit` since midnight. DuckDB allows `24:00:00`, the end
/// of a day, which is valid ISO 8601 too. `None` when out of range.
pub(super) fn time(value: i64, unit: Unit) -> Option<String> {
    let per_second = unit.per_second();
    let total_nanos = value.checked_mul(NANOS_PER_SECOND / per_second)?;
    if !(0..=SECONDS_PER_DAY * NANOS_PER_SECOND).contains(&total_nanos) {
        return None;
    }
    let seconds = total_nanos / NANOS_PER_SECOND;
    let nanos = total_nanos % NANOS_PER_SECOND;
    let mut out = String::with_capacity(18);
    // Infallible: writing to a String cannot fail.
    let _ = write!(
        out,
        "{:02}:{:02}:{:02}",
        seconds / 3600,
        seconds / 60 % 60,
        seconds % 60
    );
    write_fraction(&mut out, nanos);
    Some(out)
}

/// An interval as an ISO 8601 duration, e.g. `P1Y2M3DT4H5M6.5S`; components keep their own
/// sign, since DuckDB's months, days and time are independent (`1 month -1 day`).
pub(super) fn interval(months: i32, days: i32, nanos: i64) -> String {
    let mut out = String::from("P");
    let (years, months) = (months / 12, months % 12);
    // Infallible: writing to a String cannot fail.
    for (amount, designator) in [
        (i64::from(years), 'Y'),
        (i64::from(months), 'M'),
        (i64::from(days), 'D'),
    ] {
        if amount != 0 {
            let _ = write!(out, "{amount}{designator}");
        }
    }
    if nanos != 0 {
        out.push('T');
        let sign = if nanos < 0 { "-" } else { "" };
        let magnitude = nanos.unsigned_abs();
        let total_seconds = magnitude / 1_000_000_000;
        let (hours, minutes, seconds) = (
            total_seconds / 3600,
            total_seconds / 60 % 60,
            total_seconds % 60,
        );
        let fraction = magnitude % 1_000_000_000;
        if hours != 0 {
            let _ = write!(out, "{sign}{hours}H");
        }
        if minutes != 0 {
            let _ = write!(out, "{sign}{minutes}M");
        }
        if seconds != 0 || fraction != 0 {
            let _ = write!(out, "{sign}{seconds}");
            // In range: the remainder of a division by 10^9.
            write_fraction(&mut out, i64::try_from(fraction).unwrap_or_default());
            out.push('S');
        }
    }
    if out.len() == 1 {
        out.push_str("T0S");
    }
    out
}

fn write_date(out: &mut String, date: NaiveDate) {
    let year = date.year();
    // Infallible: writing to a String cannot fail.
    let _ = if year < 0 {
        write!(out, "-{:04}", year.unsigned_abs())
    } else {
        write!(out, "{year:04}")
    };
    let _ = write!(out, "-{:02}-{:02}", date.month(), date.day());
}

fn write_date_time(out: &mut String, at: NaiveDateTime) {
    write_date(out, at.date());
    // Infallible: writing to a String cannot fail.
    let _ = write!(
        out,
        "T{:02}:{:02}:{:02}",
        at.hour(),
        at.minute(),
        at.second()
    );
    write_fraction(out, i64::from(at.nanosecond()));
}

/// `.123`, `.123456` or `.123456789` (as few groups of three as exact), nothing for zero.
fn write_fraction(out: &mut String, nanos: i64) {
    // Infallible: writing to a String cannot fail.
    let _ = if nanos == 0 {
        Ok(())
    } else if nanos % 1_000_000 == 0 {
        write!(out, ".{:03}", nanos / 1_000_000)
    } else if nanos % 1_000 == 0 {
        write!(out, ".{:06}", nanos / 1_000)
    } else {
        write!(out, ".{nanos:09}")
    };
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dates_are_iso() {
        assert_eq!(date(0).as_deref(), Some("1970-01-01"));
        assert_eq!(date(19_724).as_deref(), Some("2024-01-02"));
        assert_eq!(date(-1).as_deref(), Some("1969-12-31"));
        assert_eq!(date(i32::MAX).as_deref(), Some("infinity"));
        assert_eq!(date(-i32::MAX).as_deref(), Some("-infinity"));
    }

    #[test]
    fn timestamps_are_iso_with_minimal_fractions() {
        let micros = 1_704_164_645_000_000; // 2024-01-02T03:04:05
        assert_eq!(
            timestamp(micros, Unit::Micro, false).as_deref(),
            Some("2024-01-02T03:04:05")
        );
        assert_eq!(
            timestamp(micros + 120_000, Unit::Micro, true).as_deref(),
            Some("2024-01-02T03:04:05.120Z")
        );
        assert_eq!(
            timestamp(micros + 1, Unit::Micro, false).as_deref(),
            Some("2024-01-02T03:04:05.000001")
        );
        assert_eq!(
            timestamp(-1, Unit::Nano, false).as_deref(),
            Some("1969-12-31T23:59:59.999999999")
        );
        assert_eq!(
            timestamp(1_704_164_645, Unit::Second, false).as_deref(),
            Some("2024-01-02T03:04:05")
        );
        assert_eq!(
            timestamp(i64::MAX, Unit::Micro, false).as_deref(),
            Some("infinity")
        );
    }

    #[test]
    fn times_and_intervals() {
        assert_eq!(
            time(3_723_500_000, Unit::Micro).as_deref(),
            Some("01:02:03.500")
        );
        assert_eq!(
            time(86_400_000_000, Unit::Micro).as_deref(),
            Some("24:00:00")
        );
        assert_eq!(time(-1, Unit::Micro), None);
        assert_eq!(interval(14, 3, 3_723_500_000_000), "P1Y2M3DT1H2M3.500S");
        assert_eq!(interval(1, -1, 0), "P1M-1D");
        assert_eq!(interval(0, 0, -5_000_000_000), "PT-5S");
        assert_eq!(interval(0, 0, 0), "PT0S");
    }
}
