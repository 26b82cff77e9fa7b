//! Committing outcomes to state. Definition outcomes are kept in a [`Recorder`] and written in
//! batches of at most [`BATCH_SIZE`] changes ([`Store::apply_batch`]: snapshot changes and
//! intent outcomes in one transaction), so a crash loses at most one batch of bookkeeping,
//! never delivered data. The snapshot only advances for what Optimizely acknowledged; a
//! rejected request records its outcome and nothing else, so the row is planned again.

use optisync_core::{ContentHash, Fields};
use optisync_state::{Batch, DefinitionChange, IntentId, Outcome, Store};

use crate::error::{Error, Result};

/// Changes per committed batch.
pub const BATCH_SIZE: usize = 50;

/// Collects outcomes and commits them in batches.
#[derive(Debug)]
pub struct Recorder {
    sync: String,
    batch: Batch,
    /// Changes in the current batch (snapshot entries plus outcomes of rejected requests).
    pending: usize,
    /// Batches committed so far.
    pub batches: u64,
}

impl Recorder {
    /// An empty recorder for `sync`.
    pub fn new(sync: &str) -> Self {
        Self {
            sync: sync.to_owned(),
            batch: Batch::default(),
            pending: 0,
            batches: 0,
        }
    }

    /// Records that the object for `primary_key` holds `fields` (acknowledged, adopted, or
    /// matched with no request), with the outcome of the intent behind it if any.
    pub fn delivered(
        &mut self,
        store: &mut Store,
        primary_key: &str,
        remote_id: i64,
        fields: &Fields,
        hash: ContentHash,
        intent: Option<IntentId>,
    ) -> Result<()> {
        let fields = serde_json::to_value(fields).unwrap_or(serde_json::Value::Null);
        self.batch.changes.push(DefinitionChange::Upsert {
            primary_key: primary_key.to_owned(),
            remote_id: Some(remote_id),
            content_hash: hash.to_string(),
            fields,
        });
        if let Some(intent) = intent {
            self.batch.outcomes.push((
                intent,
                Outcome::Acknowledged {
                    remote_id: Some(remote_id),
                },
            ));
        }
        self.bump(store)
    }

    /// Records a final outcome that changes nothing in the snapshot (rejected, not applied).
    pub fn outcome(&mut self, store: &mut Store, intent: IntentId, outcome: Outcome) -> Result<()> {
        self.batch.outcomes.push((intent, outcome));
        self.bump(store)
    }

    fn bump(&mut self, store: &mut Store) -> Result<()> {
        self.pending += 1;
        if self.pending >= BATCH_SIZE {
            self.flush(store)?;
        }
        Ok(())
    }

    /// Commits what is pending.
    pub fn flush(&mut self, store: &mut Store) -> Result<()> {
        if self.batch.is_empty() {
            return Ok(());
        }
        let batch = std::mem::take(&mut self.batch);
        store
            .apply_batch(&self.sync, &batch)
            .map_err(Error::state(&self.sync))?;
        tracing::debug!(sync = %self.sync, changes = self.pending, "state batch committed");
        self.pending = 0;
        self.batches += 1;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn commits_in_batches_of_at_most_fifty() {
        let dir = tempfile::tempdir().unwrap();
        let mut store = Store::open(dir.path()).unwrap();
        let mut recorder = Recorder::new("s");
        for i in 0..120 {
            recorder
                .delivered(
                    &mut store,
                    &format!("k{i}"),
                    i,
                    &Fields::new(),
                    ContentHash(1),
                    None,
                )
                .unwrap();
        }
        assert_eq!(recorder.batches, 2);
        assert_eq!(store.definitions("s").unwrap().len(), 100);
        recorder.flush(&mut store).unwrap();
        assert_eq!(recorder.batches, 3);
        assert_eq!(store.definitions("s").unwrap().len(), 120);
    }
}
