//! The request log and the counters the admin API exposes for assertions.
//!
//! `/v2` and `/v3` (ODP) traffic is recorded (admin calls are not). Tokens and ODP API keys
//! appear as their last four characters only. A write is a POST, PATCH, PUT or DELETE, except
//! `POST /v3/graphql`, which only reads. `at_ms` is milliseconds on the tokio clock since the fake was created,
//! so tests on a paused clock can assert the exact spacing of a client's requests.

use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// Entries kept in the log; older ones are forgotten (the counters are not).
const MAX_ENTRIES: usize = 100_000;

/// Where a request's connection was dropped by a fault.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum DropPoint {
    /// Before the request was handled: nothing was applied.
    BeforeWrite,
    /// After the request was handled: its write (if any) was applied.
    AfterWrite,
}

/// One logged request.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct RequestLogEntry {
    /// Position in the log, from 1.
    pub seq: u64,
    /// HTTP method.
    pub method: String,
    /// Path as requested, without the query.
    pub path: String,
    /// Query string, if any.
    pub query: Option<String>,
    /// Route template, e.g. `/v2/attributes/{id}` (`(unknown)` for unknown paths).
    pub path_template: String,
    /// Status answered; 0 when the connection was dropped without an answer.
    pub status: u16,
    /// Status the request produced before its connection was dropped after the write.
    pub applied_status: Option<u16>,
    /// Set when a fault dropped the connection.
    pub dropped: Option<DropPoint>,
    /// Wall-clock time, RFC 3339.
    pub time: String,
    /// Milliseconds since the fake was created, on the tokio clock.
    pub at_ms: u64,
    /// Last four characters of the bearer token (`/v2`) or `x-api-key` (`/v3`), if one was
    /// sent.
    pub token_last4: Option<String>,
}

/// Requests counted by method, path template and status.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct RouteCount {
    /// HTTP method.
    pub method: String,
    /// Route template.
    pub path_template: String,
    /// Status answered (0: connection dropped).
    pub status: u16,
    /// How many.
    pub count: u64,
}

/// Counters over all `/v2` and `/v3` requests since the fake was created or reset.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Stats {
    /// Every `/v2` and `/v3` request, faulted ones included.
    pub total_requests: u64,
    /// Requests answered 429 (rate limit or fault).
    pub total_429: u64,
    /// Writes (POST/PATCH/PUT/DELETE but `POST /v3/graphql`) answered 2xx.
    pub writes: u64,
    /// Writes that were applied: `writes` plus those dropped (or held and dropped) after a
    /// successful write.
    pub writes_applied: u64,
    /// Connections dropped by a fault.
    pub dropped: u64,
    /// Counts by method, path template and status, sorted.
    pub by_route: Vec<RouteCount>,
}

impl Stats {
    /// The count for one method + template + status (0 when none).
    pub fn count(&self, method: &str, path_template: &str, status: u16) -> u64 {
        self.by_route
            .iter()
            .filter(|r| {
                r.method == method && r.path_template == path_template && r.status == status
            })
            .map(|r| r.count)
            .sum()
    }
}

/// Log plus counters.
#[derive(Clone, Debug, Default)]
pub(crate) struct Journal {
    entries: std::collections::VecDeque<RequestLogEntry>,
    next_seq: u64,
    total_requests: u64,
    total_429: u64,
    writes: u64,
    writes_applied: u64,
    dropped: u64,
    by_route: BTreeMap<(String, String, u16), u64>,
}

/// Route templates that take a POST but write nothing.
const READS_BY_POST: [&str; 1] = ["/v3/graphql"];

fn is_write(method: &str, template: &str) -> bool {
    matches!(method, "POST" | "PATCH" | "DELETE" | "PUT") && !READS_BY_POST.contains(&template)
}

impl Journal {
    pub(crate) fn record(&mut self, mut entry: RequestLogEntry) {
        self.next_seq += 1;
        entry.seq = self.next_seq;
        self.total_requests += 1;
        if entry.status == 429 {
            self.total_429 += 1;
        }
        if entry.dropped.is_some() {
            self.dropped += 1;
        }
        if is_write(&entry.method, &entry.path_template) {
            if (200..300).contains(&entry.status) {
                self.writes += 1;
                self.writes_applied += 1;
            } else if entry
                .applied_status
                .is_some_and(|s| (200..300).contains(&s))
            {
                self.writes_applied += 1;
            }
        }
        *self
            .by_route
            .entry((
                entry.method.clone(),
                entry.path_template.clone(),
                entry.status,
            ))
            .or_default() += 1;
        if self.entries.len() == MAX_ENTRIES {
            self.entries.pop_front();
        }
        self.entries.push_back(entry);
    }

    pub(crate) fn entries(&self) -> Vec<RequestLogEntry> {
        self.entries.iter().cloned().collect()
    }

    pub(crate) fn stats(&self) -> Stats {
        Stats {
            total_requests: self.total_requests,
            total_429: self.total_429,
            writes: self.writes,
            writes_applied: self.writes_applied,
            dropped: self.dropped,
            by_route: self
                .by_route
                .iter()
                .map(|((method, path_template, status), count)| RouteCount {
                    method: method.clone(),
                    path_template: path_template.clone(),
                    status: *status,
                    count: *count,
                })
                .collect(),
        }
    }
}
