//! A warehouse held in memory: each model is a fixed table of rows given in advance, looked
//! up by the model's exact SQL text. It runs no SQL. The engine's own tests use it to run
//! plans and syncs without a database (the feature `memory`); the binary never offers it.

use std::collections::HashMap;
use std::sync::{Arc, RwLock};

use optisync_core::Value;

use crate::batch::Batch;
use crate::column::{Column, ColumnKind};
use crate::error::{Result, SourceError};
use crate::stream::{BATCH_ROWS, RowStream, channel};

/// A model's table: column names and rows.
#[derive(Debug, Clone, Default)]
struct Table {
    columns: Vec<String>,
    rows: Vec<Vec<Value>>,
}

/// The in-memory warehouse. Clones share the tables, so a test can change a model's rows
/// between two runs of one engine.
#[derive(Debug, Clone, Default)]
pub struct MemorySource {
    tables: Arc<RwLock<HashMap<String, Table>>>,
}

impl MemorySource {
    /// An empty warehouse: every model is refused until set.
    pub fn new() -> Self {
        Self::default()
    }

    /// Makes `model` return `rows` (each as long as `columns`) from now on.
    pub fn set(&self, model: &str, columns: &[&str], rows: Vec<Vec<Value>>) {
        let table = Table {
            columns: columns.iter().map(|c| (*c).to_owned()).collect(),
            rows,
        };
        self.tables
            .write()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .insert(model.to_owned(), table);
    }

    fn table(&self, model: &str) -> Result<Table> {
        self.tables
            .read()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .get(model)
            .cloned()
            .ok_or_else(|| SourceError::Model {
                message: "no such model in the in-memory warehouse".to_owned(),
            })
    }

    /// Always reachable.
    pub fn check(&self) -> Result<()> {
        Ok(())
    }

    /// The model's columns; a column's kind is that of its first non-null cell (text when
    /// every cell is null).
    pub fn describe(&self, model: &str) -> Result<Vec<Column>> {
        let table = self.table(model)?;
        Ok(table
            .columns
            .iter()
            .enumerate()
            .map(|(i, name)| {
                let kind = table
                    .rows
                    .iter()
                    .filter_map(|row| row.get(i))
                    .find(|v| !matches!(v, Value::Null))
                    .map_or(ColumnKind::Text, kind_of);
                Column {
                    name: name.clone(),
                    type_name: format!("{kind:?}").to_uppercase(),
                    kind,
                }
            })
            .collect())
    }

    /// The model's rows, in batches of at most [`BATCH_ROWS`], fed by a task like a real
    /// warehouse's reader.
    pub fn stream(&self, model: &str) -> Result<RowStream> {
        let table = self.table(model)?;
        let columns: Arc<[String]> = table.columns.into();
        let (sender, stream) = channel(Arc::clone(&columns), None);
        tokio::spawn(async move {
            for chunk in table.rows.chunks(BATCH_ROWS) {
                let mut values = vec![Vec::with_capacity(chunk.len()); columns.len()];
                for row in chunk {
                    for (i, column) in values.iter_mut().enumerate() {
                        column.push(row.get(i).cloned().unwrap_or(Value::Null));
                    }
                }
                let batch = match Batch::new(Arc::clone(&columns), values) {
                    Ok(batch) => batch,
                    Err(error) => return sender.fail(error).await,
                };
                if sender.send(batch).await.is_err() {
                    return;
                }
            }
            sender.finish().await;
        });
        Ok(stream)
    }
}

fn kind_of(value: &Value) -> ColumnKind {
    match value {
        Value::Int(_) => ColumnKind::Int,
        Value::Float(_) => ColumnKind::Float,
        Value::Bool(_) => ColumnKind::Bool,
        Value::Json(_) => ColumnKind::Json,
        _ => ColumnKind::Text,
    }
}
