//! What every client of this process has done, for `optisync serve`'s metrics: HTTP attempts
//! by kind (read or write) and answer (a status code, or none: not sent, no answer), throttled
//! answers (429 and 503), retries, and the time spent waiting for the rate limit. Process-wide
//! counters, because the quota they describe is the token's, shared by every client.
//!
//! Only counters: reading them ([`snapshot`]) never blocks a request for long.

use std::collections::BTreeMap;
use std::sync::Mutex;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

/// What a request was, for counting.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum RequestClass {
    /// GET: listings, the project, a list attribute.
    Read,
    /// POST, PATCH, DELETE.
    Write,
}

impl RequestClass {
    /// `read` or `write`.
    pub fn as_str(self) -> &'static str {
        match self {
            RequestClass::Read => "read",
            RequestClass::Write => "write",
        }
    }
}

/// How a request attempt ended, for counting.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Answer {
    /// An HTTP status.
    Status(u16),
    /// Not sent, no answer in time, or the connection failed.
    None,
}

static ATTEMPTS: Mutex<BTreeMap<(RequestClass, Answer), u64>> = Mutex::new(BTreeMap::new());
static THROTTLED: AtomicU64 = AtomicU64::new(0);
static RETRIES: AtomicU64 = AtomicU64::new(0);
static WAIT_MICROS: AtomicU64 = AtomicU64::new(0);

/// The counters at one moment.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Snapshot {
    /// Attempts by class and answer.
    pub attempts: BTreeMap<(RequestClass, Answer), u64>,
    /// Answers 429 or 503 (throttled).
    pub throttled: u64,
    /// Attempts after the first of a request.
    pub retries: u64,
    /// Time spent waiting for the rate limit (this process's limiter and the shared ledger).
    pub rate_limit_wait: Duration,
}

pub(crate) fn attempt(class: RequestClass, answer: Answer, retry: bool) {
    *ATTEMPTS
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner)
        .entry((class, answer))
        .or_default() += 1;
    if matches!(answer, Answer::Status(429 | 503)) {
        THROTTLED.fetch_add(1, Ordering::Relaxed);
    }
    if retry {
        RETRIES.fetch_add(1, Ordering::Relaxed);
    }
}

pub(crate) fn waited(wait: Duration) {
    let micros = u64::try_from(wait.as_micros()).unwrap_or(u64::MAX);
    let _ = WAIT_MICROS.fetch_update(Ordering::Relaxed, Ordering::Relaxed, |total| {
        Some(total.saturating_add(micros))
    });
}

/// The counters now.
pub fn snapshot() -> Snapshot {
    Snapshot {
        attempts: ATTEMPTS
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .clone(),
        throttled: THROTTLED.load(Ordering::Relaxed),
        retries: RETRIES.load(Ordering::Relaxed),
        rate_limit_wait: Duration::from_micros(WAIT_MICROS.load(Ordering::Relaxed)),
    }
}
