//! A rate limit shared by every process that uses one state directory: each request first
//! reserves a time slot in the `request_slots` table. Slots are handed out in order inside a
//! `BEGIN IMMEDIATE` transaction, so two processes syncing with the same token never reserve
//! the same capacity, and together they stay under the quota.
//!
//! The rule is a sliding window: at most `per_second` slots in any second and `per_minute`
//! in any minute. A new slot goes no earlier than now and no earlier than the last slot
//! handed out, so no slot lies after it; the window ending at the new slot then holds
//! fewer than N slots exactly when the N-th most recent slot is a full window older.

use std::path::Path;
use std::sync::{Mutex, PoisonError};
use std::time::Duration;

use rusqlite::{Connection, TransactionBehavior, params};

use crate::clock;
use crate::error::Result;
use crate::store::{self, DB_FILE_NAME, StoreOptions};

/// Extra spacing past each window's edge, so that clocks read a moment apart on either
/// side (here and at the server) never see one request too many.
const GUARD_MS: i64 = 25;

/// The request ledger of one quota (one token) in one state directory.
#[derive(Debug)]
pub struct RequestLedger {
    conn: Mutex<Connection>,
    quota: String,
}

impl RequestLedger {
    /// Opens the ledger of `quota` (an identifier of the token, never the token itself) in
    /// the state directory `dir`, which [`Store::open`](crate::Store::open) has prepared.
    ///
    /// # Errors
    /// [`Error::Sqlite`](crate::Error::Sqlite) when the database cannot be opened.
    pub fn open(dir: &Path, quota: &str) -> Result<Self> {
        let conn = store::connect(&dir.join(DB_FILE_NAME), &StoreOptions::default())?;
        Ok(Self {
            conn: Mutex::new(conn),
            quota: quota.to_owned(),
        })
    }

    /// Reserves the next slot for one request and returns how long to wait until it.
    ///
    /// # Errors
    /// [`Error::Sqlite`](crate::Error::Sqlite) when the database cannot be written.
    pub fn reserve(&self, per_second: Option<u32>, per_minute: Option<u32>) -> Result<Duration> {
        let mut conn = self.conn.lock().unwrap_or_else(PoisonError::into_inner);
        let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
        let now = clock::to_millis(clock::now());
        tx.execute(
            "DELETE FROM request_slots WHERE quota = ?1 AND at_ms < ?2",
            params![self.quota, now - 61_000],
        )?;
        let slots: Vec<i64> = {
            let mut statement = tx.prepare_cached(
                "SELECT at_ms FROM request_slots WHERE quota = ?1 ORDER BY at_ms",
            )?;
            let rows = statement.query_map(params![self.quota], |row| row.get(0))?;
            rows.collect::<rusqlite::Result<_>>()?
        };
        let at = next_slot(&slots, now, per_second, per_minute);
        tx.execute(
            "INSERT INTO request_slots (quota, at_ms) VALUES (?1, ?2)",
            params![self.quota, at],
        )?;
        tx.commit()?;
        Ok(Duration::from_millis(u64::try_from(at - now).unwrap_or(0)))
    }
}

/// The earliest slot at or after `now` and after every slot in `slots` (sorted) that keeps
/// each window under its quota.
fn next_slot(slots: &[i64], now: i64, per_second: Option<u32>, per_minute: Option<u32>) -> i64 {
    let mut at = now.max(slots.last().copied().unwrap_or(now));
    for (quota, window) in [(per_second, 1_000), (per_minute, 60_000)] {
        let Some(quota) = quota.map(|q| q as usize).filter(|q| *q > 0) else {
            continue;
        };
        if slots.len() >= quota {
            at = at.max(slots[slots.len() - quota] + window + GUARD_MS);
        }
    }
    at
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn slots_keep_every_window_under_its_quota() {
        assert_eq!(next_slot(&[], 1_000, Some(2), None), 1_000);
        assert_eq!(next_slot(&[1_000], 1_000, Some(2), None), 1_000);
        // Two in the last second: the third waits until the first is a second old.
        assert_eq!(
            next_slot(&[1_000, 1_000], 1_000, Some(2), None),
            2_000 + GUARD_MS
        );
        // Never before a slot already handed out.
        assert_eq!(next_slot(&[5_000], 1_000, Some(10), None), 5_000);
        let minute: Vec<i64> = (0..120).map(|i| i * 10).collect();
        assert_eq!(
            next_slot(&minute, 1_200, Some(1_000), Some(120)),
            60_000 + GUARD_MS
        );
        assert_eq!(next_slot(&[1, 2, 3], 10, None, None), 10);
    }

    #[test]
    fn two_ledgers_on_one_directory_share_the_quota() {
        let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
        let _store = crate::Store::open(dir.path()).unwrap_or_else(|e| panic!("{e}"));
        let a = RequestLedger::open(dir.path(), "token-a").unwrap_or_else(|e| panic!("{e}"));
        let b = RequestLedger::open(dir.path(), "token-a").unwrap_or_else(|e| panic!("{e}"));
        let other = RequestLedger::open(dir.path(), "token-b").unwrap_or_else(|e| panic!("{e}"));
        let waits: Vec<Duration> = [&a, &b, &a, &b]
            .iter()
            .map(|l| l.reserve(Some(2), None).unwrap_or_else(|e| panic!("{e}")))
            .collect();
        assert!(waits[0] < Duration::from_millis(100) && waits[1] < Duration::from_millis(100));
        assert!(waits[2] >= Duration::from_millis(900), "{waits:?}");
        assert!(waits[3] >= Duration::from_millis(900), "{waits:?}");
        // Another token has its own quota.
        let free = other
            .reserve(Some(2), None)
            .unwrap_or_else(|e| panic!("{e}"));
        assert!(free < Duration::from_millis(100));
    }
}
