//! How the store represents instants: UTC, stored as integer Unix milliseconds (compact,
//! ordered, and compared in SQL without parsing), read back as [`DateTime<Utc>`].

use chrono::{DateTime, Utc};

use crate::error::{Error, Result};

/// The current instant, truncated to what the store keeps (milliseconds).
pub(crate) fn now() -> DateTime<Utc> {
    // Round-tripping through millis keeps values equal to what a later read returns.
    from_millis(Utc::now().timestamp_millis()).unwrap_or_else(|_| Utc::now())
}

/// An instant as stored.
pub(crate) fn to_millis(at: DateTime<Utc>) -> i64 {
    at.timestamp_millis()
}

/// A stored instant; out-of-range values mean the file was damaged.
pub(crate) fn from_millis(millis: i64) -> Result<DateTime<Utc>> {
    DateTime::from_timestamp_millis(millis)
        .ok_or_else(|| Error::Corrupt(format!("timestamp out of range: {millis}")))
}

/// A stored optional instant.
pub(crate) fn from_millis_opt(millis: Option<i64>) -> Result<Option<DateTime<Utc>>> {
    millis.map(from_millis).transpose()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn now_round_trips_through_storage() {
        let at = now();
        assert_eq!(from_millis(to_millis(at)).unwrap(), at);
    }

    #[test]
    fn absurd_timestamps_are_corrupt() {
        assert!(matches!(from_millis(i64::MAX), Err(Error::Corrupt(_))));
    }
}
