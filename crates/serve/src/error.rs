//! The errors of the service: a schedule that cannot be read (refused at start, naming the
//! sync), and an address the HTTP server cannot bind.

use std::net::SocketAddr;

/// A `schedule` the service cannot use.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ScheduleError {
    /// A cron expression croner refuses, or one that matches no date.
    #[error(
        "cron expression \"{expression}\" is invalid: {reason}; write five fields (minute hour \
         day-of-month month day-of-week), e.g. \"*/15 * * * *\", or a nickname such as \"@hourly\""
    )]
    Cron {
        /// The expression as written (not a secret).
        expression: String,
        /// croner's reason.
        reason: String,
    },
    /// A time zone that is not in the IANA database.
    #[error(
        "time zone \"{zone}\" is not an IANA time zone; write one such as \"Europe/Berlin\" or \
         \"America/New_York\" (UTC when left out)"
    )]
    Zone {
        /// The zone as written (not a secret).
        zone: String,
    },
    /// An interval outside the range `every` accepts.
    #[error("the interval must be between 1s and 366 days, e.g. \"10min\"")]
    Interval,
}

/// Why the service could not start.
#[derive(Debug, thiserror::Error)]
pub enum ServeError {
    /// The address is taken or not ours to bind.
    #[error("cannot listen on {address}: {reason}")]
    Bind {
        /// The address asked for.
        address: SocketAddr,
        /// What the system said, with a hint.
        reason: String,
    },
    /// The state store failed.
    #[error("state store: {0}")]
    State(#[from] optisync_state::Error),
    /// Serving stopped on an I/O error.
    #[error("serving HTTP failed: {0}")]
    Io(#[from] std::io::Error),
}
