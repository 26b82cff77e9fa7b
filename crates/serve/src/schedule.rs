//! When a sync runs by itself: a cron expression read in an IANA time zone (UTC by default), a
//! fixed interval, or never (`manual`: only the API starts it). Parsing checks everything once,
//! when the config is read, so a bad expression or zone is refused at start naming the sync.
//!
//! Cron is computed by `croner`, which follows Vixie cron and the Open Cron Pattern
//! Specification across daylight-saving changes (its README, "Daylight Saving Time"):
//! - in a skipped hour (spring forward), a fixed-time job runs at the first minute after the
//!   gap on the same day, and interval or wildcard occurrences inside the gap are skipped;
//! - in a repeated hour (fall back), a fixed-time job runs once, at the first pass, and
//!   interval or wildcard jobs run on each pass.
//!
//! Searches move in real time: the next tick is always after the instant given, so a sequence
//! of ticks never goes back, whatever the wall clock does.

use std::fmt;
use std::str::FromStr;
use std::time::Duration;

use chrono::{DateTime, TimeDelta, Utc};
use chrono_tz::Tz;
use croner::Cron;
use croner::parser::{CronParser, Seconds};

use crate::error::ScheduleError;

/// The shortest interval `every` accepts: a sync cannot usefully run more often, and each run
/// costs at least one request.
pub const MIN_INTERVAL: Duration = Duration::from_secs(1);

/// The longest interval `every` accepts (a year): anything longer is a mistake.
pub const MAX_INTERVAL: Duration = Duration::from_secs(366 * 24 * 3600);

/// When a sync runs by itself.
#[derive(Clone)]
pub enum Schedule {
    /// On each tick of a cron expression, read in a time zone.
    Cron {
        /// The expression as written (for display).
        expression: String,
        /// The parsed expression.
        cron: Box<Cron>,
        /// The zone its wall-clock times are read in.
        zone: Tz,
    },
    /// Every so long, counted from the start of the previous run.
    Every(Duration),
    /// Never by itself: runs only when triggered through the API.
    Manual,
}

impl fmt::Debug for Schedule {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.to_string())
    }
}

impl PartialEq for Schedule {
    fn eq(&self, other: &Self) -> bool {
        self.to_string() == other.to_string()
    }
}

impl fmt::Display for Schedule {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Schedule::Cron {
                expression, zone, ..
            } => {
                if *zone == Tz::UTC {
                    write!(f, "cron \"{expression}\" (UTC)")
                } else {
                    write!(f, "cron \"{expression}\" ({})", zone.name())
                }
            }
            Schedule::Every(interval) => write!(f, "every {}", format_interval(*interval)),
            Schedule::Manual => f.write_str("manual"),
        }
    }
}

impl Schedule {
    /// A cron schedule: five fields (minute, hour, day of month, month, day of week) or a
    /// nickname such as `@hourly`, read in `zone` (an IANA name such as `Europe/Berlin`; UTC
    /// when `None`).
    ///
    /// # Errors
    /// [`ScheduleError::Cron`] for an expression croner refuses (with its reason),
    /// [`ScheduleError::Zone`] for a zone that is not in the IANA database.
    pub fn cron(expression: &str, zone: Option<&str>) -> Result<Schedule, ScheduleError> {
        let zone = match zone {
            None => Tz::UTC,
            Some(name) => Tz::from_str(name.trim()).map_err(|_| ScheduleError::Zone {
                zone: name.to_owned(),
            })?,
        };
        let cron = CronParser::builder()
            .seconds(Seconds::Disallowed)
            .build()
            .parse(expression)
            .map_err(|e| ScheduleError::Cron {
                expression: expression.to_owned(),
                reason: e.to_string(),
            })?;
        let schedule = Schedule::Cron {
            expression: expression.trim().to_owned(),
            cron: Box::new(cron),
            zone,
        };
        // An expression that parses but never matches (30 February) is refused now rather
        // than found idle later.
        if schedule.next_after(DateTime::<Utc>::UNIX_EPOCH).is_none()
            && schedule.next_after(Utc::now()).is_none()
        {
            return Err(ScheduleError::Cron {
                expression: expression.to_owned(),
                reason: "it matches no date".to_owned(),
            });
        }
        Ok(schedule)
    }

    /// An interval schedule.
    ///
    /// # Errors
    /// [`ScheduleError::Interval`] when `interval` is outside [`MIN_INTERVAL`] ..=
    /// [`MAX_INTERVAL`].
    pub fn every(interval: Duration) -> Result<Schedule, ScheduleError> {
        if !(MIN_INTERVAL..=MAX_INTERVAL).contains(&interval) {
            return Err(ScheduleError::Interval);
        }
        Ok(Schedule::Every(interval))
    }

    /// The first tick strictly after `after`, or `None` when there is none (a manual
    /// schedule, or a cron expression past its last date). For an interval, `after` is the
    /// start of the previous run and the tick is one interval later.
    pub fn next_after(&self, after: DateTime<Utc>) -> Option<DateTime<Utc>> {
        match self {
            Schedule::Cron { cron, zone, .. } => {
                let local = after.with_timezone(zone);
                cron.find_next_occurrence(&local, false)
                    .ok()
                    .map(|t| t.with_timezone(&Utc))
            }
            Schedule::Every(interval) => {
                let step = TimeDelta::from_std(*interval).ok()?;
                after.checked_add_signed(step)
            }
            Schedule::Manual => None,
        }
    }

    /// The latest tick at or before `at`, for cron schedules: the tick a service that was down
    /// at `at` missed last. `None` for other schedules, or when there is none.
    pub fn latest_at_or_before(&self, at: DateTime<Utc>) -> Option<DateTime<Utc>> {
        match self {
            Schedule::Cron { cron, zone, .. } => {
                let local = at.with_timezone(zone);
                cron.find_previous_occurrence(&local, true)
                    .ok()
                    .map(|t| t.with_timezone(&Utc))
            }
            Schedule::Every(_) | Schedule::Manual => None,
        }
    }

    /// How long a tick usually lasts: the interval, or for cron the gap between the two ticks
    /// after `at` (used for "no successful run for N intervals" and the failure backoff).
    pub fn typical_interval(&self, at: DateTime<Utc>) -> Option<Duration> {
        match self {
            Schedule::Every(interval) => Some(*interval),
            Schedule::Cron { .. } => {
                let first = self.next_after(at)?;
                let second = self.next_after(first)?;
                (second - first).to_std().ok()
            }
            Schedule::Manual => None,
        }
    }
}

/// `90s` → `1min 30s`: a short human form of an interval.
pub fn format_interval(interval: Duration) -> String {
    let mut seconds = interval.as_secs();
    let millis = interval.subsec_millis();
    let mut parts = Vec::new();
    for (unit, size) in [("d", 86_400), ("h", 3_600), ("min", 60)] {
        if seconds >= size {
            parts.push(format!("{}{unit}", seconds / size));
            seconds %= size;
        }
    }
    if seconds > 0 || (parts.is_empty() && millis == 0) {
        parts.push(format!("{seconds}s"));
    }
    if millis > 0 {
        parts.push(format!("{millis}ms"));
    }
    parts.join(" ")
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    fn utc(text: &str) -> DateTime<Utc> {
        DateTime::parse_from_rfc3339(text)
            .unwrap()
            .with_timezone(&Utc)
    }

    fn ticks(schedule: &Schedule, from: &str, count: usize) -> Vec<String> {
        let mut at = utc(from);
        let mut out = Vec::new();
        for _ in 0..count {
            at = schedule.next_after(at).unwrap();
            out.push(at.to_rfc3339());
        }
        out
    }

    #[test]
    fn a_cron_expression_ticks_in_utc_by_default() {
        let schedule = Schedule::cron("*/15 * * * *", None).unwrap();
        assert_eq!(
            ticks(&schedule, "2026-12-03T10:07:00Z", 3),
            [
                "2026-12-03T10:15:00+00:00",
                "2026-12-03T10:30:00+00:00",
                "2026-12-03T10:45:00+00:00"
            ]
        );
        // Strictly after: a tick at the instant given is not returned again.
        assert_eq!(
            schedule.next_after(utc("2026-12-03T10:15:00Z")),
            Some(utc("2026-12-03T10:30:00Z"))
        );
        assert_eq!(schedule.to_string(), "cron \"*/15 * * * *\" (UTC)");
    }

    #[test]
    fn a_cron_expression_is_read_in_its_zone() {
        let schedule = Schedule::cron("0 9 * * mon-fri", Some("Europe/Berlin")).unwrap();
        // Thursday 3 December 2026, 09:00 in Berlin is 08:00 UTC (CET, UTC+1).
        assert_eq!(
            ticks(&schedule, "2026-12-03T07:00:00Z", 3),
            [
                "2026-12-03T08:00:00+00:00",
                "2026-12-04T08:00:00+00:00",
                "2026-12-07T08:00:00+00:00"
            ]
        );
    }

    // America/New_York springs forward on 8 March 2026: 02:00 EST becomes 03:00 EDT, so
    // 02:xx does not exist that day.
    #[test]
    fn a_fixed_time_in_the_spring_gap_runs_right_after_it() {
        let schedule = Schedule::cron("30 2 * * *", Some("America/New_York")).unwrap();
        assert_eq!(
            ticks(&schedule, "2026-03-07T12:00:00Z", 3),
            [
                // 8 March: 02:30 does not exist; the job runs once, at 03:00 EDT.
                "2026-03-08T07:00:00+00:00",
                // 9 and 10 March, 02:30 EDT.
                "2026-03-09T06:30:00+00:00",
                "2026-03-10T06:30:00+00:00"
            ]
        );
    }

    #[test]
    fn interval_jobs_skip_the_spring_gap() {
        let schedule = Schedule::cron("*/30 * * * *", Some("America/New_York")).unwrap();
        // 01:30 EST is 06:30 UTC; the next wall-clock half hour is 03:00 EDT = 07:00 UTC.
        assert_eq!(
            ticks(&schedule, "2026-03-08T06:15:00Z", 3),
            [
                "2026-03-08T06:30:00+00:00",
                "2026-03-08T07:00:00+00:00",
                "2026-03-08T07:30:00+00:00"
            ]
        );
    }

    // America/New_York falls back on 1 November 2026: 02:00 EDT becomes 01:00 EST, so 01:xx
    // happens twice.
    #[test]
    fn a_fixed_time_in_the_repeated_hour_runs_once() {
        let schedule = Schedule::cron("30 1 * * *", Some("America/New_York")).unwrap();
        assert_eq!(
            ticks(&schedule, "2026-10-31T12:00:00Z", 3),
            [
                // 1 November 01:30 EDT (first pass).
                "2026-11-01T05:30:00+00:00",
                // Not 06:30 UTC (01:30 EST, second pass): the next is 2 November 01:30 EST.
                "2026-11-02T06:30:00+00:00",
                "2026-11-03T06:30:00+00:00"
            ]
        );
    }

    #[test]
    fn interval_jobs_run_on_both_passes_of_the_repeated_hour() {
        let schedule = Schedule::cron("0,30 * * * *", Some("America/New_York")).unwrap();
        assert_eq!(
            ticks(&schedule, "2026-11-01T04:45:00Z", 5),
            [
                // 01:00 and 01:30 EDT.
                "2026-11-01T05:00:00+00:00",
                "2026-11-01T05:30:00+00:00",
                // 01:00 and 01:30 EST.
                "2026-11-01T06:00:00+00:00",
                "2026-11-01T06:30:00+00:00",
                // 02:00 EST.
                "2026-11-01T07:00:00+00:00"
            ]
        );
    }

    #[test]
    fn the_latest_missed_tick_is_found_for_a_catch_up() {
        let schedule = Schedule::cron("0 * * * *", None).unwrap();
        assert_eq!(
            schedule.latest_at_or_before(utc("2026-12-03T10:59:59Z")),
            Some(utc("2026-12-03T10:00:00Z"))
        );
        assert_eq!(
            schedule.latest_at_or_before(utc("2026-12-03T10:00:00Z")),
            Some(utc("2026-12-03T10:00:00Z"))
        );
        assert_eq!(
            Schedule::every(Duration::from_secs(60))
                .unwrap()
                .latest_at_or_before(utc("2026-12-03T10:00:00Z")),
            None
        );
    }

    #[test]
    fn intervals_count_from_the_previous_start_and_have_a_range() {
        let schedule = Schedule::every(Duration::from_secs(600)).unwrap();
        assert_eq!(
            schedule.next_after(utc("2026-12-03T10:07:00Z")),
            Some(utc("2026-12-03T10:17:00Z"))
        );
        assert_eq!(schedule.to_string(), "every 10min");
        assert_eq!(
            schedule.typical_interval(Utc::now()),
            Some(Duration::from_secs(600))
        );
        assert!(Schedule::every(Duration::from_millis(999)).is_err());
        assert!(Schedule::every(MAX_INTERVAL + Duration::from_secs(1)).is_err());
        assert_eq!(Schedule::Manual.next_after(Utc::now()), None);
    }

    #[test]
    fn bad_expressions_and_zones_are_refused_with_their_reason() {
        for bad in [
            "",
            "* * * *",
            "61 * * * *",
            "* * * * * *",
            "every 5 minutes",
        ] {
            let error = Schedule::cron(bad, None).unwrap_err();
            assert!(
                matches!(error, ScheduleError::Cron { .. }),
                "{bad:?}: {error}"
            );
        }
        assert!(matches!(
            Schedule::cron("0 0 30 2 *", None).unwrap_err(),
            ScheduleError::Cron { .. }
        ));
        let error = Schedule::cron("* * * * *", Some("Mars/Olympus")).unwrap_err();
        assert!(matches!(error, ScheduleError::Zone { .. }));
        assert!(error.to_string().contains("Mars/Olympus"), "{error}");
        assert!(Schedule::cron("@hourly", Some("Asia/Kolkata")).is_ok());
    }

    #[test]
    fn typical_interval_of_a_cron_is_the_gap_between_ticks() {
        let schedule = Schedule::cron("*/15 * * * *", None).unwrap();
        assert_eq!(
            schedule.typical_interval(Utc.with_ymd_and_hms(2026, 12, 3, 10, 1, 0).unwrap()),
            Some(Duration::from_secs(900))
        );
    }

    #[test]
    fn intervals_print_shortly() {
        assert_eq!(format_interval(Duration::from_secs(90)), "1min 30s");
        assert_eq!(format_interval(Duration::from_secs(3600)), "1h");
        assert_eq!(format_interval(Duration::from_millis(1500)), "1s 500ms");
        assert_eq!(format_interval(Duration::ZERO), "0s");
    }
}
