//! Per-sync bookkeeping that spans the other tables: the sync's row, its state version and
//! resetting a sync.
//!
//! The state version is a counter per sync, bumped in the same transaction as every change
//! to what the planner reads (the definitions snapshot, the delivered list, a reset). A plan
//! saved with `plan --out` records the version it was made from; `sync --plan` compares it
//! with [`Store::state_version`] and refuses a plan whose state has moved. The counter lives in
//! the `syncs` row, which a reset keeps, so a reset also makes older plans stale.

use rusqlite::{OptionalExtension, Transaction, params};

use crate::clock;
use crate::error::{Result, to_u64};
use crate::store::Store;

/// Makes sure the sync's row exists (other tables reference it).
pub(crate) fn ensure_sync(tx: &Transaction<'_>, sync: &str) -> Result<()> {
    tx.prepare_cached("INSERT INTO syncs (name) VALUES (?1) ON CONFLICT (name) DO NOTHING")?
        .execute(params![sync])?;
    Ok(())
}

/// Bumps the sync's state version and returns the new value.
pub(crate) fn bump_version(tx: &Transaction<'_>, sync: &str) -> Result<u64> {
    ensure_sync(tx, sync)?;
    let version: i64 = tx
        .prepare_cached(
            "UPDATE syncs SET state_version = state_version + 1 WHERE name = ?1 \
             RETURNING state_version",
        )?
        .query_row(params![sync], |row| row.get(0))?;
    to_u64(version, "state version")
}

impl Store {
    /// The sync's state version: 0 for a sync never seen, then bumped by every
    /// [`apply_batch`](Store::apply_batch) with changes,
    /// [`replace_delivered_list`](Store::replace_delivered_list) and [`reset`](Store::reset).
    ///
    /// # Errors
    /// [`crate::Error::Sqlite`] on database failure.
    pub fn state_version(&self, sync: &str) -> Result<u64> {
        let version: Option<i64> = self
            .conn
            .prepare_cached("SELECT state_version FROM syncs WHERE name = ?1")?
            .query_row(params![sync], |row| row.get(0))
            .optional()?;
        to_u64(version.unwrap_or(0), "state version")
    }

    /// The names of all syncs the store has seen (state, runs or both), sorted.
    ///
    /// # Errors
    /// [`crate::Error::Sqlite`] on database failure.
    pub fn sync_names(&self) -> Result<Vec<String>> {
        let mut stmt = self
            .conn
            .prepare_cached("SELECT name FROM syncs ORDER BY name")?;
        let names = stmt
            .query_map([], |row| row.get(0))?
            .collect::<rusqlite::Result<_>>()?;
        Ok(names)
    }

    /// Forgets everything the store knows about the sync's delivered state, in one
    /// transaction: the definitions snapshot, the delivered list, the delivered profiles and
    /// the write intents. The
    /// next run starts fresh, as on first use.
    ///
    /// Run history is kept for the record, but its runs are marked
    /// [`before_reset`](crate::RunRecord::before_reset): they no longer count as the "last run"
    /// for guardrails and their rejected rows are no longer pending. The lock is left alone:
    /// callers should hold it while resetting. Returns the new state version.
    ///
    /// # Errors
    /// [`crate::Error::Sqlite`] on database failure.
    pub fn reset(&mut self, sync: &str) -> Result<u64> {
        let tx = self.write()?;
        ensure_sync(&tx, sync)?;
        tx.execute("DELETE FROM definitions WHERE sync = ?1", params![sync])?;
        tx.execute("DELETE FROM delivered_lists WHERE sync = ?1", params![sync])?;
        tx.execute(
            "DELETE FROM delivered_profiles WHERE sync = ?1",
            params![sync],
        )?;
        tx.execute("DELETE FROM profile_targets WHERE sync = ?1", params![sync])?;
        tx.execute("DELETE FROM write_intents WHERE sync = ?1", params![sync])?;
        tx.execute(
            "UPDATE runs SET before_reset = 1 WHERE sync = ?1",
            params![sync],
        )?;
        tx.execute(
            "UPDATE syncs SET reset_at = ?2 WHERE name = ?1",
            params![sync, clock::to_millis(clock::now())],
        )?;
        let version = bump_version(&tx, sync)?;
        tx.commit()?;
        tracing::info!(sync, "sync state reset");
        Ok(version)
    }
}
