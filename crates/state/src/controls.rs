//! What the service (`optisync serve`) keeps across restarts beside the run history: which
//! syncs are paused, and the scheduled ticks it did not run, with the reason (a run of the
//! sync still in flight, its lock held by another process, a backoff after failures). Skipped
//! ticks are history for people reading the status page; the newest [`MAX_SKIPPED_TICKS`]
//! per sync are kept.

use chrono::{DateTime, Utc};
use rusqlite::{OptionalExtension, params};

use crate::clock;
use crate::error::Result;
use crate::store::Store;

/// Skipped ticks kept per sync; older ones are deleted as new ones are recorded.
pub const MAX_SKIPPED_TICKS: i64 = 1000;

/// A paused sync.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Pause {
    /// When it was paused.
    pub paused_at: DateTime<Utc>,
    /// Who paused it, as the caller described them (e.g. `api`).
    pub paused_by: String,
}

/// A scheduled tick that did not start a run.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SkippedTick {
    /// The sync.
    pub sync: String,
    /// The tick's time.
    pub tick_at: DateTime<Utc>,
    /// Why it did not run.
    pub reason: String,
}

impl Store {
    /// Pauses `sync` (no effect when it already is); returns whether it was running before.
    ///
    /// # Errors
    /// [`crate::Error::Sqlite`] on database failure.
    pub fn pause_sync(&mut self, sync: &str, by: &str) -> Result<bool> {
        let tx = self.write()?;
        let changed = tx
            .prepare_cached(
                "INSERT INTO sync_pauses (sync, paused_at, paused_by) VALUES (?1, ?2, ?3) \
                 ON CONFLICT (sync) DO NOTHING",
            )?
            .execute(params![sync, clock::to_millis(clock::now()), by])?;
        tx.commit()?;
        Ok(changed > 0)
    }

    /// Resumes `sync`; returns whether it was paused.
    ///
    /// # Errors
    /// [`crate::Error::Sqlite`] on database failure.
    pub fn resume_sync(&mut self, sync: &str) -> Result<bool> {
        let tx = self.write()?;
        let changed = tx
            .prepare_cached("DELETE FROM sync_pauses WHERE sync = ?1")?
            .execute(params![sync])?;
        tx.commit()?;
        Ok(changed > 0)
    }

    /// Whether `sync` is paused, and since when.
    ///
    /// # Errors
    /// [`crate::Error::Corrupt`] for a damaged time, [`crate::Error::Sqlite`] otherwise.
    pub fn pause(&self, sync: &str) -> Result<Option<Pause>> {
        let row = self
            .conn
            .prepare_cached("SELECT paused_at, paused_by FROM sync_pauses WHERE sync = ?1")?
            .query_row(params![sync], |row| {
                Ok((row.get::<_, i64>(0)?, row.get::<_, String>(1)?))
            })
            .optional()?;
        row.map(|(at, by)| {
            Ok(Pause {
                paused_at: clock::from_millis(at)?,
                paused_by: by,
            })
        })
        .transpose()
    }

    /// Records a scheduled tick of `sync` that did not start a run.
    ///
    /// # Errors
    /// [`crate::Error::Sqlite`] on database failure.
    pub fn record_skipped_tick(
        &mut self,
        sync: &str,
        tick_at: DateTime<Utc>,
        reason: &str,
    ) -> Result<()> {
        let tx = self.write()?;
        tx.prepare_cached("INSERT INTO skipped_ticks (sync, tick_at, reason) VALUES (?1, ?2, ?3)")?
            .execute(params![sync, clock::to_millis(tick_at), reason])?;
        tx.prepare_cached(
            "DELETE FROM skipped_ticks WHERE sync = ?1 AND seq <= \
             (SELECT seq FROM skipped_ticks WHERE sync = ?1 ORDER BY seq DESC \
              LIMIT 1 OFFSET ?2)",
        )?
        .execute(params![sync, MAX_SKIPPED_TICKS])?;
        tx.commit()?;
        Ok(())
    }

    /// The newest skipped ticks of `sync`, newest first, at most `limit`.
    ///
    /// # Errors
    /// [`crate::Error::Corrupt`] for a damaged time, [`crate::Error::Sqlite`] otherwise.
    pub fn skipped_ticks(&self, sync: &str, limit: usize) -> Result<Vec<SkippedTick>> {
        let limit = i64::try_from(limit).unwrap_or(i64::MAX);
        let mut stmt = self.conn.prepare_cached(
            "SELECT tick_at, reason FROM skipped_ticks WHERE sync = ?1 \
             ORDER BY seq DESC LIMIT ?2",
        )?;
        let rows = stmt
            .query_map(params![sync, limit], |row| {
                Ok((row.get::<_, i64>(0)?, row.get::<_, String>(1)?))
            })?
            .collect::<rusqlite::Result<Vec<_>>>()?;
        rows.into_iter()
            .map(|(at, reason)| {
                Ok(SkippedTick {
                    sync: sync.to_owned(),
                    tick_at: clock::from_millis(at)?,
                    reason,
                })
            })
            .collect()
    }

    /// The `generated_at` of the dbt run that last started a run of `sync`, as recorded.
    ///
    /// # Errors
    /// [`crate::Error::Sqlite`] on database failure.
    pub fn dbt_seen(&self, sync: &str) -> Result<Option<String>> {
        Ok(self
            .conn
            .prepare_cached("SELECT generated_at FROM dbt_seen WHERE sync = ?1")?
            .query_row(params![sync], |row| row.get::<_, String>(0))
            .optional()?)
    }

    /// Records that the dbt run generated at `generated_at` started a run of `sync`.
    ///
    /// # Errors
    /// [`crate::Error::Sqlite`] on database failure.
    pub fn set_dbt_seen(&mut self, sync: &str, generated_at: &str) -> Result<()> {
        let tx = self.write()?;
        tx.prepare_cached(
            "INSERT INTO dbt_seen (sync, generated_at) VALUES (?1, ?2) \
             ON CONFLICT (sync) DO UPDATE SET generated_at = excluded.generated_at",
        )?
        .execute(params![sync, generated_at])?;
        tx.commit()?;
        Ok(())
    }

    /// Whether the store takes writes now: a write transaction begins and is rolled back.
    /// What `GET /readyz` asks.
    ///
    /// # Errors
    /// [`crate::Error::Sqlite`] when it does not (read-only file, full disk, a lock held past
    /// the busy timeout).
    pub fn check_writable(&mut self) -> Result<()> {
        let tx = self.write()?;
        // A real write to the file (journalled, then undone), not only a lock.
        tx.prepare_cached(
            "INSERT INTO skipped_ticks (sync, tick_at, reason) VALUES ('', 0, 'readiness')",
        )?
        .execute([])?;
        tx.rollback()?;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn store() -> (tempfile::TempDir, Store) {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open(&dir.path().join("state")).unwrap();
        (dir, store)
    }

    #[test]
    fn a_pause_survives_reopening_and_resume_clears_it() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("state");
        {
            let mut store = Store::open(&path).unwrap();
            assert!(store.pause("beta").unwrap().is_none());
            assert!(store.pause_sync("beta", "api").unwrap());
            assert!(!store.pause_sync("beta", "api").unwrap());
        }
        let mut store = Store::open(&path).unwrap();
        let pause = store.pause("beta").unwrap().unwrap();
        assert_eq!(pause.paused_by, "api");
        assert!(store.pause("other").unwrap().is_none());
        assert!(store.resume_sync("beta").unwrap());
        assert!(!store.resume_sync("beta").unwrap());
        assert!(store.pause("beta").unwrap().is_none());
    }

    #[test]
    fn skipped_ticks_are_kept_newest_first_and_bounded() {
        let (_dir, mut store) = store();
        let at = DateTime::from_timestamp(1_800_000_000, 0).unwrap();
        for i in 0..(MAX_SKIPPED_TICKS + 5) {
            let tick = at + chrono::TimeDelta::seconds(i);
            store
                .record_skipped_tick("beta", tick, &format!("reason {i}"))
                .unwrap();
        }
        store.record_skipped_tick("other", at, "x").unwrap();
        let ticks = store.skipped_ticks("beta", usize::MAX).unwrap();
        assert_eq!(ticks.len() as i64, MAX_SKIPPED_TICKS);
        assert_eq!(ticks[0].reason, format!("reason {}", MAX_SKIPPED_TICKS + 4));
        assert_eq!(ticks.last().unwrap().reason, "reason 5");
        assert_eq!(store.skipped_ticks("other", 10).unwrap().len(), 1);
        assert_eq!(store.skipped_ticks("beta", 2).unwrap().len(), 2);
    }

    #[test]
    fn the_last_dbt_run_seen_is_kept_per_sync() {
        let (_dir, mut store) = store();
        assert_eq!(store.dbt_seen("beta").unwrap(), None);
        store.set_dbt_seen("beta", "2026-12-03T10:00:00Z").unwrap();
        store.set_dbt_seen("beta", "2026-12-03T11:00:00Z").unwrap();
        assert_eq!(
            store.dbt_seen("beta").unwrap().as_deref(),
            Some("2026-12-03T11:00:00Z")
        );
        assert_eq!(store.dbt_seen("other").unwrap(), None);
    }

    #[test]
    fn a_writable_store_is_ready() {
        let (_dir, mut store) = store();
        store.check_writable().unwrap();
        store.check_writable().unwrap();
    }
}
