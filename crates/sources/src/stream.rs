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
//! Batches are large, because every handover can wake the engine's thread, and a wakeup
//! costs more than the rows it brings when they are few: DuckDB yields 2,048 rows at a time,
//! and a ten-million-row list read that handed over 4,096 rows at a time woke the engine
//! about 2,500 times and spent a fifth of its time on it. A batch is therefore handed over
//! once it holds [`BATCH_ROWS`] rows or about [`BATCH_BYTES`] bytes, whichever comes first,
//! so that a wide model's batches stay as small in memory as a narrow one's.
//!
//! The end of the rows is an explicit message: a reader that dies half way is reported as
//! [`SourceError::ReaderLost`], never mistaken for a short model (which, in a mirror sync,
//! would remove the missing members).

use std::fmt;
use std::sync::Arc;

use tokio::sync::mpsc;

use crate::batch::Batch;
use crate::error::{Result, SourceError};

/// The most rows in one batch.
pub const BATCH_ROWS: usize = 32_768;

/// About the most bytes of cells in one batch (see `Batch::is_full`): a reader hands a
/// batch over once it holds [`BATCH_ROWS`] rows or this much, whichever comes first.
pub const BATCH_BYTES: usize = 1 << 20;

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

    /// Hands over every row of `batch` in batches of at most [`BATCH_ROWS`] (a reader that
    /// decodes a large answer at once); an error when the engine is gone.
    pub(crate) async fn send_split(&self, mut batch: Batch) -> Result<(), StreamDropped> {
        while batch.len() > BATCH_ROWS {
            let rest = batch.split_off(BATCH_ROWS);
            self.send(batch).await?;
            batch = rest;
        }
        self.send(batch).await
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
