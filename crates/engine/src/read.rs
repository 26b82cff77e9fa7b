//! Reading a sync's model: streams the source's batches (bounded, so a large model never sits
//! twice in memory) and maps them through core's [`BoundMapping`](optisync_core::BoundMapping):
//! a list sync takes the `user_id` column whole, an ODP-attribute sync each row's `user_id`
//! and `value`, a definition sync maps each record to a [`DesiredRow`].
//! Rows with problems are kept: the planner turns their problems into rejected rows and the
//! run goes on for the others.

use optisync_core::{DesiredRow, Mapping, ModelIds, ProfileRows, SyncKind, Value};
use optisync_sources::Source;

use crate::error::{Error, Result};
use crate::progress::Progress;
use crate::spec::SyncSpec;

/// The model's rows, mapped.
#[derive(Debug, Clone)]
pub enum ModelRows {
    /// A list-attribute sync's `user_id` values, checked as they were read.
    List(ModelIds),
    /// A definition sync's rows.
    Definitions(Vec<DesiredRow>),
    /// An ODP-attribute sync's users and values, checked as they were read.
    Profiles(ProfileRows),
}

impl ModelRows {
    /// Rows the model returned.
    pub fn len(&self) -> usize {
        match self {
            ModelRows::List(ids) => ids.read as usize,
            ModelRows::Definitions(rows) => rows.len(),
            ModelRows::Profiles(rows) => rows.read as usize,
        }
    }

    /// Whether the model returned no rows.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

/// Runs the model and maps every row with `mapping` (the sync's, adjusted for the product).
pub async fn read_model(source: &Source, spec: &SyncSpec, mapping: &Mapping) -> Result<ModelRows> {
    let source_err = |source| Error::Source {
        sync: spec.name.clone(),
        source,
    };
    let started = std::time::Instant::now();
    let mut stream = source.stream(&spec.model).await.map_err(source_err)?;
    let bound = mapping
        .bind(
            stream.columns(),
            &spec.primary_key,
            spec.audience_name.as_ref(),
        )
        .map_err(|errors| Error::Mapping {
            sync: spec.name.clone(),
            errors,
        })?;
    let is_list = matches!(spec.kind, SyncKind::List { .. });
    let is_profiles = matches!(spec.kind, SyncKind::OdpAttribute { .. });
    let mut profiles = ProfileRows::new();
    let mut ids = ModelIds::new();
    let mut rows = Vec::new();
    let mut read: u64 = 0;
    let mut progress = Progress::new(&spec.name, "reading model", "rows");
    while let Some(batch) = stream.next_batch().await {
        let batch = batch.map_err(source_err)?;
        read += batch.len() as u64;
        if is_list {
            // The id column whole: a list sync never looks at a row's other values.
            let rows = batch.len();
            let taken = bound
                .user_id_index()
                .is_some_and(|index| batch.take_ids(index, &mut ids));
            if !taken {
                ids.extend(std::iter::repeat_n(Value::Null, rows));
            }
        } else if is_profiles {
            let (user_id, value) = (bound.user_id_index(), bound.value_index());
            for record in batch {
                let cell = |index: Option<usize>| index.and_then(|i| record.value(i));
                profiles.push(cell(user_id).unwrap_or(&Value::Null), cell(value));
            }
        } else {
            rows.extend(batch.into_iter().map(|record| bound.desired_row(&record)));
        }
        progress.update(read, None);
    }
    tracing::info!(sync = %spec.name, rows = read, elapsed_ms = started.elapsed().as_millis(), "model read");
    Ok(if is_list {
        ModelRows::List(ids)
    } else if is_profiles {
        ModelRows::Profiles(profiles)
    } else {
        ModelRows::Definitions(rows)
    })
}
