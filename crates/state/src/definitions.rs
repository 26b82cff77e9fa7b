//! The delivered snapshot of definition syncs (audiences, attributes, custom events): per
//! primary key, the remote object's id, the content hash and the field values optisync last
//! delivered. The engine commits outcomes in batches (at most 50 changes by the product's
//! rule); [`Store::apply_batch`] writes one batch, snapshot changes and intent outcomes
//! together, in one transaction, so a crash loses at most the batch in flight and never
//! leaves an outcome recorded without its state (or the reverse).

use std::collections::BTreeMap;

use chrono::{DateTime, Utc};
use rusqlite::params;

use crate::clock;
use crate::error::{Error, Result};
use crate::intents::{self, IntentId, Outcome};
use crate::store::Store;
use crate::sync_state;

/// What was delivered for one primary key.
#[derive(Debug, Clone, PartialEq)]
pub struct DefinitionRecord {
    /// The Optimizely object's id, once known.
    pub remote_id: Option<i64>,
    /// The content hash of the delivered fields, as the engine computes it.
    pub content_hash: String,
    /// The delivered field values.
    pub fields: serde_json::Value,
    /// When this entry was last written.
    pub updated_at: DateTime<Utc>,
}

/// One change to a sync's snapshot.
#[derive(Debug, Clone, PartialEq)]
pub enum DefinitionChange {
    /// Insert or replace the entry for `primary_key`. A `remote_id` of `None` keeps the id
    /// already stored, so a known id is never forgotten by accident.
    Upsert {
        /// The row's primary key.
        primary_key: String,
        /// The Optimizely object's id, if known.
        remote_id: Option<i64>,
        /// The content hash of `fields`.
        content_hash: String,
        /// The delivered field values.
        fields: serde_json::Value,
    },
}

/// One batch of bookkeeping: snapshot changes and the outcomes of the intents behind them.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Batch {
    /// Changes to the definitions snapshot.
    pub changes: Vec<DefinitionChange>,
    /// Outcomes of recorded intents.
    pub outcomes: Vec<(IntentId, Outcome)>,
}

impl Batch {
    /// Whether the batch holds nothing.
    pub fn is_empty(&self) -> bool {
        self.changes.is_empty() && self.outcomes.is_empty()
    }
}

impl Store {
    /// The sync's delivered snapshot, keyed and sorted by primary key; empty for a sync
    /// never delivered.
    ///
    /// # Errors
    /// [`Error::Corrupt`] when stored JSON or a timestamp does not decode, [`Error::Sqlite`]
    /// otherwise.
    pub fn definitions(&self, sync: &str) -> Result<BTreeMap<String, DefinitionRecord>> {
        let mut stmt = self.conn.prepare_cached(
            "SELECT primary_key, remote_id, content_hash, fields, updated_at \
             FROM definitions WHERE sync = ?1",
        )?;
        let mut rows = stmt.query(params![sync])?;
        let mut snapshot = BTreeMap::new();
        while let Some(row) = rows.next()? {
            let primary_key: String = row.get(0)?;
            let fields: String = row.get(3)?;
            let fields = serde_json::from_str(&fields).map_err(|err| {
                Error::Corrupt(format!(
                    "fields of '{primary_key}' in sync '{sync}' are not JSON: {err}"
                ))
            })?;
            let record = DefinitionRecord {
                remote_id: row.get(1)?,
                content_hash: row.get(2)?,
                fields,
                updated_at: clock::from_millis(row.get(4)?)?,
            };
            snapshot.insert(primary_key, record);
        }
        Ok(snapshot)
    }

    /// Applies one batch in one transaction: snapshot changes in order, then intent
    /// outcomes. Returns the sync's state version afterwards (bumped when the batch has
    /// snapshot changes). Either all of the batch is stored or none of it.
    ///
    /// # Errors
    /// [`Error::IntentNotFound`] / [`Error::IntentAlreadyResolved`] for a bad outcome (the
    /// whole batch is then rolled back), [`Error::Sqlite`] otherwise.
    pub fn apply_batch(&mut self, sync: &str, batch: &Batch) -> Result<u64> {
        let tx = self.write()?;
        sync_state::ensure_sync(&tx, sync)?;
        let now = clock::to_millis(clock::now());
        {
            let mut upsert = tx.prepare_cached(
                "INSERT INTO definitions \
                 (sync, primary_key, remote_id, content_hash, fields, updated_at) \
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6) \
                 ON CONFLICT (sync, primary_key) DO UPDATE SET \
                 remote_id = coalesce(excluded.remote_id, definitions.remote_id), \
                 content_hash = excluded.content_hash, fields = excluded.fields, \
                 updated_at = excluded.updated_at",
            )?;
            for change in &batch.changes {
                match change {
                    DefinitionChange::Upsert {
                        primary_key,
                        remote_id,
                        content_hash,
                        fields,
                    } => {
                        upsert.execute(params![
                            sync,
                            primary_key,
                            remote_id,
                            content_hash,
                            fields.to_string(),
                            now
                        ])?;
                    }
                }
            }
        }
        for (id, outcome) in &batch.outcomes {
            intents::resolve(&tx, *id, outcome)?;
        }
        let version = if batch.changes.is_empty() {
            let version: i64 = tx.query_row(
                "SELECT state_version FROM syncs WHERE name = ?1",
                params![sync],
                |row| row.get(0),
            )?;
            crate::error::to_u64(version, "state version")?
        } else {
            sync_state::bump_version(&tx, sync)?
        };
        tx.commit()?;
        Ok(version)
    }
}
