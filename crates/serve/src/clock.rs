//! The service's wall clock. Schedules are wall-clock times (cron in a zone), but every wait
//! goes through `tokio::time`, so the tests run the scheduler on a paused clock: a
//! [`Clock::starting_at`] reads wall-clock time as a fixed instant plus the time tokio says
//! has passed, and advancing tokio's paused clock moves it.

use std::time::Duration;

use chrono::{DateTime, TimeDelta, Utc};
use tokio::time::Instant;

/// The longest single wait: the clock is read again at least this often, so a wall clock that
/// steps (NTP, a suspended laptop) delays a tick by at most this much.
pub const MAX_WAIT: Duration = Duration::from_secs(30);

/// Where the service reads the time.
#[derive(Debug, Clone)]
pub enum Clock {
    /// The system's wall clock.
    System,
    /// `base` at `origin`, moving with tokio's clock (paused in tests).
    Tokio {
        /// The wall-clock time at `origin`.
        base: DateTime<Utc>,
        /// tokio's instant when the clock read `base`.
        origin: Instant,
    },
}

impl Clock {
    /// A clock that reads `base` now and moves with tokio's clock.
    pub fn starting_at(base: DateTime<Utc>) -> Clock {
        Clock::Tokio {
            base,
            origin: Instant::now(),
        }
    }

    /// The current wall-clock time.
    pub fn now(&self) -> DateTime<Utc> {
        match self {
            Clock::System => Utc::now(),
            Clock::Tokio { base, origin } => TimeDelta::from_std(origin.elapsed())
                .ok()
                .and_then(|elapsed| base.checked_add_signed(elapsed))
                .unwrap_or(*base),
        }
    }

    /// Waits until the wall clock reads `at` (at once if it already does), in steps of at
    /// most [`MAX_WAIT`].
    pub async fn sleep_until(&self, at: DateTime<Utc>) {
        loop {
            let Ok(left) = (at - self.now()).to_std() else {
                return;
            };
            if left.is_zero() {
                return;
            }
            tokio::time::sleep(left.min(MAX_WAIT)).await;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test(start_paused = true)]
    async fn a_tokio_clock_moves_with_paused_time() {
        let base = DateTime::from_timestamp(1_800_000_000, 0).unwrap();
        let clock = Clock::starting_at(base);
        assert_eq!(clock.now(), base);
        let at = base + TimeDelta::hours(5);
        clock.sleep_until(at).await;
        assert_eq!(clock.now(), at);
        // A time in the past returns at once.
        clock.sleep_until(base).await;
        assert_eq!(clock.now(), at);
    }
}
