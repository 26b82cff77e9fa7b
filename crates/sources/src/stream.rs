//! The stream of a model's rows: [`Batch`]es handed from the reader that runs the query to
//! the engine through a bounded channel.
//!
//! Why a channel fed by a reader of its own: DuckDB's API blocks, and a model can take long
//! to compute its first row, so reading belongs off the async runtime's workers; Postgres'
//! client is async and will feed the same channel from a task. The engine consumes either the
//! same way, with [`RowStream::next_batch`] in async code or [`RowStream::blocking_next_batch`]
//! in blocking code. The channel holds at most [`QUEUED_BATCHES`] batches of at most
//! [`BATCH_ROWS`] rows, so memory stays bounded whatever the model's size: when the engine
//! falls behind, the reader waits.
//!
//! A batch holds its rows column by column: one vector of values per column rather than one
//! record per row. The reader then allocates a few vectors per batch instead of one per row,
//! and a list sync takes its id column whole, without touching each row; on a 250,000-member
//! list plan, per-row records spent more time allocating, counting references and freeing
//! across the two threads than DuckDB spent reading.
//!
//! The end of the rows is an explicit message: a reader that dies half way is reported as
//! [`SourceError::ReaderLost`], never mistaken for a short model (which, in a mirror sync,
//! would remove the missing members).

use std::fmt;
use std::sync::Arc;

use optisync_core::{Record, Value};
use tokio::sync::mpsc;

use crate::error::{Result, SourceError};

/// Some of a model's rows, column by column. Iterating it by value yields [`Record`]s.
#[derive(Debug, Clone, PartialEq)]
pub struct Batch {
    columns: Arc<[String]>,
    /// One vector per column, each [`Batch::len`] long.
    values: Vec<Vec<Value>>,
    rows: usize,
}

impl Batch {
    /// A batch of `values` (one vector per column of `columns`); fails when the column count
    /// differs or the columns are not all the same length.
    pub fn new(columns: Arc<[String]>, values: Vec<Vec<Value>>) -> Result<Self> {
        let rows = values.first().map_or(0, Vec::len);
        if values.len() != columns.len() || values.iter().any(|v| v.len() != rows) {
            return Err(SourceError::BadValue {
                column: columns.join(", "),
                message: format!(
                    "a batch of {} columns has {} value lists of lengths {:?}",
                    columns.len(),
                    values.len(),
                    values.iter().map(Vec::len).collect::<Vec<_>>()
                ),
            });
        }
        Ok(Self {
            columns,
            values,
            rows,
        })
    }

    /// An empty batch over `columns`.
    pub(crate) fn empty(columns: Arc<[String]>) -> Self {
        let values = columns.iter().map(|_| Vec::new()).collect();
        Self {
            columns,
            values,
            rows: 0,
        }
    }

    /// How many rows it holds.
    pub fn len(&self) -> usize {
        self.rows
    }

    /// Whether it holds no row.
    pub fn is_empty(&self) -> bool {
        self.rows == 0
    }

    /// The column names.
    pub fn columns(&self) -> &Arc<[String]> {
        &self.columns
    }

    /// The values of column `index`, one per row; `None` past the last column.
    pub fn column(&self, index: usize) -> Option<&[Value]> {
        self.values.get(index).map(Vec::as_slice)
    }

    /// The values of column `index`, taking the batch apart; `None` past the last column.
    pub fn into_column(mut self, index: usize) -> Option<Vec<Value>> {
        (index < self.values.len()).then(|| self.values.swap_remove(index))
    }

    /// Moves the rows of `other` (which must have the same columns) to the end of this one.
    pub(crate) fn append(&mut self, other: &mut Batch) {
        debug_assert_eq!(self.columns, other.columns);
        for (mine, theirs) in self.values.iter_mut().zip(&mut other.values) {
            mine.append(theirs);
        }
        self.rows += std::mem::take(&mut other.rows);
    }

    /// Splits off the rows from `at` on into a batch of their own.
    pub(crate) fn split_off(&mut self, at: usize) -> Batch {
        let at = at.min(self.rows);
        let values = self.values.iter_mut().map(|v| v.split_off(at)).collect();
        let rest = Batch {
            columns: Arc::clone(&self.columns),
            values,
            rows: self.rows - at,
        };
        self.rows = at;
        rest
    }
}

impl IntoIterator for Batch {
    type Item = Record;
    type IntoIter = Records;

    fn into_iter(self) -> Records {
        Records {
            columns: self.columns,
            values: self.values.into_iter().map(Vec::into_iter).collect(),
            left: self.rows,
        }
    }
}

/// A batch's rows as [`Record`]s, in order.
#[derive(Debug)]
pub struct Records {
    columns: Arc<[String]>,
    values: Vec<std::vec::IntoIter<Value>>,
    left: usize,
}

impl Iterator for Records {
    type Item = Record;

    fn next(&mut self) -> Option<Record> {
        if self.left == 0 {
            return None;
        }
        self.left -= 1;
        let row = self
            .values
            .iter_mut()
            .map(|column| column.next().unwrap_or(Value::Null))
            .collect();
        // Every column holds `left` more values, so the shape always fits.
        Record::new(Arc::clone(&self.columns), row).ok()
    }

    fn size_hint(&self) -> (usize, Option<usize>) {
        (self.left, Some(self.left))
    }
}

impl ExactSizeIterator for Records {}

/// The most rows in one batch.
pub const BATCH_ROWS: usize = 4096;

/// The most batches waiting between the reader and the engine.
pub const QUEUED_BATCHES: usize = 4;

/// What travels from the reader to the stream.
enum Message {
    Batch(Batch),
    Failed(SourceError),
    Done,
}

/// Called when the stream is dropped before the end, to stop the query early.
type CancelHook = Box<dyn FnOnce() + Send + Sync>;

/// A model's rows, in batches of at most [`BATCH_ROWS`]. Dropping it before the end stops
/// the query.
pub struct RowStream {
    columns: Arc<[String]>,
    receiver: mpsc::Receiver<Message>,
    ended: bool,
    cancel: Option<CancelHook>,
}

impl fmt::Debug for RowStream {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("RowStream")
            .field("columns", &self.columns)
            .field("ended", &self.ended)
            .finish_non_exhaustive()
    }
}

impl RowStream {
    /// The model's column names, in order; every record of the stream shares this list.
    pub fn columns(&self) -> &Arc<[String]> {
        &self.columns
    }

    /// The next batch (never empty), an error, or `None` after the last batch. After an error
    /// the stream ends: the next call returns `None`.
    pub async fn next_batch(&mut self) -> Option<Result<Batch>> {
        if self.ended {
            return None;
        }
        let message = self.receiver.recv().await;
        self.settle(message)
    }

    /// Like [`RowStream::next_batch`], for blocking code (e.g. inside
    /// `tokio::task::spawn_blocking`). Panics if called from async code, like
    /// tokio's own blocking receive.
    pub fn blocking_next_batch(&mut self) -> Option<Result<Batch>> {
        if self.ended {
            return None;
        }
        let message = self.receiver.blocking_recv();
        self.settle(message)
    }

    fn settle(&mut self, message: Option<Message>) -> Option<Result<Batch>> {
        match message {
            Some(Message::Batch(batch)) => Some(Ok(batch)),
            Some(Message::Done) => {
                self.finish();
                None
            }
            Some(Message::Failed(error)) => {
                self.finish();
                Some(Err(error))
            }
            None => {
                self.finish();
                Some(Err(SourceError::ReaderLost))
            }
        }
    }

    /// The reader has finished on its own: nothing left to cancel.
    fn finish(&mut self) {
        self.ended = true;
        self.cancel = None;
    }
}

impl Drop for RowStream {
    fn drop(&mut self) {
        // Closing the channel stops the reader at its next send; the hook also interrupts a
        // query still computing its first rows, which may take long.
        self.receiver.close();
        if let Some(cancel) = self.cancel.take() {
            cancel();
        }
    }
}

/// The reader's end of a [`RowStream`].
#[derive(Debug)]
pub(crate) struct BatchSender {
    sender: mpsc::Sender<Message>,
}

/// The engine has dropped the stream; the reader should stop.
#[derive(Debug)]
pub(crate) struct StreamDropped;

impl BatchSender {
    /// Hands over a batch, waiting while the channel is full. Blocking: for readers on a
    /// thread of their own.
    pub(crate) fn blocking_send(&self, batch: Batch) -> Result<(), StreamDropped> {
        if batch.is_empty() {
            return Ok(());
        }
        self.sender
            .blocking_send(Message::Batch(batch))
            .map_err(|_| StreamDropped)
    }

    /// Hands over a batch, waiting while the channel is full: for readers that are tasks.
    pub(crate) async fn send(&self, batch: Batch) -> Result<(), StreamDropped> {
        if batch.is_empty() {
            return Ok(());
        }
        self.sender
            .send(Message::Batch(batch))
            .await
            .map_err(|_| StreamDropped)
    }

    /// Says the rows are complete (from a task).
    pub(crate) async fn finish(self) {
        // A dropped stream no longer cares how reading ended.
        let _ = self.sender.send(Message::Done).await;
    }

    /// Reports the error that stopped reading (from a task).
    pub(crate) async fn fail(self, error: SourceError) {
        let _ = self.sender.send(Message::Failed(error)).await;
    }

    /// Says the rows are complete.
    pub(crate) fn blocking_finish(self) {
        // A dropped stream no longer cares how reading ended.
        let _ = self.sender.blocking_send(Message::Done);
    }

    /// Reports the error that stopped reading.
    pub(crate) fn blocking_fail(self, error: SourceError) {
        // As above: nobody is left to tell.
        let _ = self.sender.blocking_send(Message::Failed(error));
    }
}

/// A new stream over `columns`, and the sender its reader fills. `cancel`, if given, runs
/// when the stream is dropped before its end.
pub(crate) fn channel(
    columns: Arc<[String]>,
    cancel: Option<CancelHook>,
) -> (BatchSender, RowStream) {
    let (sender, receiver) = mpsc::channel(QUEUED_BATCHES);
    let stream = RowStream {
        columns,
        receiver,
        ended: false,
        cancel,
    };
    (BatchSender { sender }, stream)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn batch(ids: std::ops::Range<i64>) -> Batch {
        let columns: Arc<[String]> = Arc::from(vec!["id".to_owned(), "name".to_owned()]);
        let values = vec![
            ids.clone().map(Value::Int).collect(),
            ids.map(|i| Value::from(format!("n{i}"))).collect(),
        ];
        Batch::new(columns, values).unwrap()
    }

    fn ids(batch: &Batch) -> Vec<i64> {
        batch
            .column(0)
            .unwrap()
            .iter()
            .map(|v| match v {
                Value::Int(i) => *i,
                other => panic!("{other:?}"),
            })
            .collect()
    }

    #[test]
    fn a_batch_yields_its_rows_in_order() {
        let records: Vec<Record> = batch(0..3).into_iter().collect();
        assert_eq!(records.len(), 3);
        assert_eq!(records[2].get("id"), Some(&Value::Int(2)));
        assert_eq!(records[2].get("name"), Some(&Value::from("n2")));
    }

    #[test]
    fn batches_append_and_split_by_row() {
        let mut a = batch(0..3);
        a.append(&mut batch(3..10));
        assert_eq!(a.len(), 10);
        let rest = a.split_off(4);
        assert_eq!((ids(&a), ids(&rest)), (vec![0, 1, 2, 3], (4..10).collect()));
        assert_eq!(rest.column(1).unwrap()[0], Value::from("n4"));
        assert_eq!(rest.into_column(1).unwrap().len(), 6);
    }

    #[test]
    fn a_ragged_batch_is_refused() {
        let columns: Arc<[String]> = Arc::from(vec!["a".to_owned(), "b".to_owned()]);
        let ragged = vec![vec![Value::Null], vec![]];
        assert!(Batch::new(Arc::clone(&columns), ragged).is_err());
        assert!(Batch::new(columns, vec![vec![Value::Null]]).is_err());
    }
}
