//! What ODP-attribute syncs delivered: per sync, one row per user with the value ODP
//! acknowledged (as a JSON scalar; `null` for a cleared field), and the identifier and field
//! the rows are for.
//!
//! Unlike a list, profiles are written in batches of at most 500 over minutes, and each batch
//! is recorded as soon as ODP acknowledges it, so that a killed run re-sends at most the
//! batch in flight: one row per user, upserted, in a `WITHOUT ROWID` table whose key order
//! (sync, id) is the byte order the planner wants.

use optisync_core::{ProfileState, ProfileValue};
use rusqlite::{OptionalExtension, params};

use crate::error::{Error, Result};
use crate::store::Store;
use crate::sync_state;

impl Store {
    /// What the sync delivered to `identifier` / `field`, sorted by id; `None` when it never
    /// delivered, or delivered to another identifier or field (the rows then say nothing
    /// about this one).
    ///
    /// # Errors
    /// [`Error::Corrupt`] for a stored value that is not a JSON scalar, [`Error::Sqlite`]
    /// otherwise.
    pub fn delivered_profiles(
        &self,
        sync: &str,
        identifier: &str,
        field: &str,
    ) -> Result<Option<ProfileState>> {
        let target: Option<(String, String)> = self
            .conn
            .prepare_cached("SELECT identifier, field FROM profile_targets WHERE sync = ?1")?
            .query_row(params![sync], |row| Ok((row.get(0)?, row.get(1)?)))
            .optional()?;
        if target.as_ref().map(|(i, f)| (i.as_str(), f.as_str())) != Some((identifier, field)) {
            return Ok(None);
        }
        let mut state = ProfileState::new();
        let mut stmt = self.conn.prepare_cached(
            "SELECT id, value FROM delivered_profiles WHERE sync = ?1 ORDER BY id",
        )?;
        let mut rows = stmt.query(params![sync])?;
        // The last value decoded: consecutive users nearly always share one.
        let mut last: Option<(Vec<u8>, ProfileValue)> = None;
        while let Some(row) = rows.next()? {
            let corrupt = |e: rusqlite::types::FromSqlError| {
                Error::Corrupt(format!("delivered profile: {e}"))
            };
            let id = row.get_ref(0)?.as_str().map_err(corrupt)?;
            let raw = row.get_ref(1)?.as_bytes().map_err(corrupt)?;
            let value = match &last {
                Some((bytes, value)) if bytes == raw => value.clone(),
                _ => {
                    let value: ProfileValue = serde_json::from_slice(raw)
                        .map_err(|e| Error::Corrupt(format!("delivered profile value: {e}")))?;
                    last = Some((raw.to_vec(), value.clone()));
                    value
                }
            };
            state.push(id, value);
        }
        state.ids = std::mem::take(&mut state.ids).into_sorted_set();
        Ok(Some(state))
    }

    /// How many users the sync delivered to its current identifier and field, and how many
    /// of them hold a value (not cleared).
    ///
    /// # Errors
    /// [`Error::Sqlite`] on database failure.
    pub fn delivered_profile_counts(&self, sync: &str) -> Result<(u64, u64)> {
        let (all, set): (i64, i64) = self
            .conn
            .prepare_cached(
                "SELECT count(*), coalesce(sum(value <> 'null'), 0) FROM delivered_profiles WHERE sync = ?1",
            )?
            .query_row(params![sync], |row| Ok((row.get(0)?, row.get(1)?)))?;
        Ok((
            crate::error::to_u64(all, "profile count")?,
            crate::error::to_u64(set, "profile count")?,
        ))
    }

    /// Records profiles ODP acknowledged, in one transaction: each user's value replaces what
    /// was stored. When the sync's rows were for another identifier or field, they are
    /// dropped first. Returns the new state version.
    ///
    /// # Errors
    /// [`Error::Sqlite`] on database failure.
    pub fn record_profiles<'a>(
        &mut self,
        sync: &str,
        identifier: &str,
        field: &str,
        profiles: impl IntoIterator<Item = (&'a str, &'a ProfileValue)>,
    ) -> Result<u64> {
        // Encoded before taking the write lock, so other processes wait as little as possible.
        let encoded: Vec<(&str, String)> = profiles
            .into_iter()
            .map(|(id, value)| {
                serde_json::to_string(value)
                    .map(|v| (id, v))
                    .map_err(|e| Error::InvalidArgument(format!("profile value: {e}")))
            })
            .collect::<Result<_>>()?;
        let tx = self.write()?;
        sync_state::ensure_sync(&tx, sync)?;
        let target: Option<(String, String)> = tx
            .prepare_cached("SELECT identifier, field FROM profile_targets WHERE sync = ?1")?
            .query_row(params![sync], |row| Ok((row.get(0)?, row.get(1)?)))
            .optional()?;
        if target.as_ref().map(|(i, f)| (i.as_str(), f.as_str())) != Some((identifier, field)) {
            tx.execute(
                "DELETE FROM delivered_profiles WHERE sync = ?1",
                params![sync],
            )?;
            tx.execute(
                "INSERT INTO profile_targets (sync, identifier, field) VALUES (?1, ?2, ?3) \
                 ON CONFLICT (sync) DO UPDATE SET identifier = excluded.identifier, field = excluded.field",
                params![sync, identifier, field],
            )?;
        }
        {
            let mut insert = tx.prepare_cached(
                "INSERT INTO delivered_profiles (sync, id, value) VALUES (?1, ?2, ?3) \
                 ON CONFLICT (sync, id) DO UPDATE SET value = excluded.value",
            )?;
            for (id, value) in &encoded {
                insert.execute(params![sync, id, value])?;
            }
        }
        let version = sync_state::bump_version(&tx, sync)?;
        tx.commit()?;
        Ok(version)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::StoreOptions;

    fn store() -> (tempfile::TempDir, Store) {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open_with(&dir.path().join("state"), StoreOptions::default()).unwrap();
        (dir, store)
    }

    #[test]
    fn profiles_are_recorded_batch_by_batch_and_read_back_sorted() {
        let (_dir, mut store) = store();
        assert_eq!(
            store
                .delivered_profiles("s", "fs_user_id", "in_beta")
                .unwrap(),
            None
        );
        let gold = ProfileValue::Text("gold".into());
        let v1 = store
            .record_profiles(
                "s",
                "fs_user_id",
                "in_beta",
                [("b", &ProfileValue::Bool(true)), ("a", &gold)],
            )
            .unwrap();
        let v2 = store
            .record_profiles(
                "s",
                "fs_user_id",
                "in_beta",
                [
                    ("b", &ProfileValue::Cleared),
                    ("c", &ProfileValue::Bool(true)),
                ],
            )
            .unwrap();
        assert!(v2 > v1);
        let state = store
            .delivered_profiles("s", "fs_user_id", "in_beta")
            .unwrap()
            .unwrap();
        assert!(state.ids.is_sorted_set());
        let got: Vec<_> = state
            .iter()
            .map(|(i, v)| (i.to_owned(), v.clone()))
            .collect();
        assert_eq!(
            got,
            [
                ("a".to_owned(), gold),
                ("b".to_owned(), ProfileValue::Cleared),
                ("c".to_owned(), ProfileValue::Bool(true)),
            ]
        );
        assert_eq!(store.delivered_profile_counts("s").unwrap(), (3, 2));
    }

    #[test]
    fn another_identifier_or_field_starts_afresh() {
        let (_dir, mut store) = store();
        let t = ProfileValue::Bool(true);
        store
            .record_profiles("s", "fs_user_id", "in_beta", [("a", &t)])
            .unwrap();
        assert_eq!(
            store.delivered_profiles("s", "vuid", "in_beta").unwrap(),
            None
        );
        assert_eq!(
            store
                .delivered_profiles("s", "fs_user_id", "other")
                .unwrap(),
            None
        );
        store
            .record_profiles("s", "fs_user_id", "other", [("b", &t)])
            .unwrap();
        let state = store
            .delivered_profiles("s", "fs_user_id", "other")
            .unwrap()
            .unwrap();
        assert_eq!(state.ids.to_vec(), ["b"]);
        store.reset("s").unwrap();
        assert_eq!(
            store
                .delivered_profiles("s", "fs_user_id", "other")
                .unwrap(),
            None
        );
        assert_eq!(store.delivered_profile_counts("s").unwrap(), (0, 0));
    }
}
