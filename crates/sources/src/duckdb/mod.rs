//! The DuckDB source: a `.duckdb` file opened read-only, or an in-memory database whose
//! models read CSV, Parquet and JSON files in SQL (`read_csv_auto('users.csv')`).
//!
//! DuckDB's API blocks, so every method here blocks; [`Source`](crate::Source) runs them off
//! the async runtime. One database is opened per source and each operation gets a fresh
//! connection to it (connections are cheap, and a connection serves one query at a time), so
//! several syncs can read concurrently. Reading runs on a thread of its own that owns its
//! connection and feeds a bounded [`RowStream`].
//!
//! Opening a database takes DuckDB some 40 ms of work in a fresh process (its catalog of
//! functions, then its SQL grammar on the first statement). It runs on a thread of its own
//! too, so that a run's other first steps (the state store, the API's first requests) go on
//! meanwhile; the first operation waits for it, and gets its error if it failed.
//!
//! Relative file paths in models are resolved against the base directory the caller gives
//! (the config file's folder), through DuckDB's `file_search_path` setting: the process's
//! working directory is never changed.
//!
//! How DuckDB's types become [`Value`](optisync_core::Value)s (any of them may also be
//! `Null`):
//!
//! | DuckDB type | Value |
//! |---|---|
//! | `VARCHAR`, `ENUM` | `Text` |
//! | `TINYINT` … `BIGINT`, `UTINYINT` … `UINTEGER` | `Int` |
//! | `UBIGINT`, `HUGEINT`, `UHUGEINT` | `Int`, or `Text` in decimal when beyond `i64` |
//! | `FLOAT`, `DOUBLE` | `Float` (a `FLOAT` keeps its shortest digits: `0.1` stays `0.1`) |
//! | `DECIMAL(p, 0)` | `Int`, or `Text` when beyond `i64` |
//! | `DECIMAL(p, s)`, p ≤ 15 | `Float` (exact: same digits back) |
//! | `DECIMAL(p, s)`, p > 15 | `Text`, exact (`123456789012345678.125`) |
//! | `BOOLEAN` | `Bool` |
//! | `JSON` | `Json`, parsed; `Text`, as DuckDB wrote it, when a number in it would lose digits as a float |
//! | `LIST`, `ARRAY`, `STRUCT`, `MAP`, `UNION` | `Json` (map keys as strings) |
//! | `DATE` | `Text`, `2024-01-02` |
//! | `TIMESTAMP` (`_S`, `_MS`, `_NS`) | `Text`, `2024-01-02T03:04:05.123` |
//! | `TIMESTAMP WITH TIME ZONE` | `Text`, the instant in UTC: `2024-01-02T03:04:05Z` |
//! | `TIME` | `Text`, `03:04:05` |
//! | `INTERVAL` | `Text`, an ISO 8601 duration: `P1Y2DT3H` |
//! | `UUID` | `Text`, `a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11` |
//! | the `NULL` type | `Null` |
//! | `BLOB`, `BIT`, `GEOMETRY`, `VARIANT`, others | refused: [`SourceError::UnsupportedColumn`] naming the column |
//!
//! A cell that cannot be converted (JSON nested deeper than
//! [`MAX_JSON_DEPTH`](optisync_core::value::MAX_JSON_DEPTH), a date or timestamp beyond the
//! years -262143 to 262142, such a value inside a list or struct) is `Invalid`, with why: its
//! row is rejected, the others go on.

mod convert;
mod temporal;
mod types;

use std::fmt;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, OnceLock, PoisonError};
use std::thread::{self, JoinHandle};

use ::duckdb::{AccessMode, Config, Connection};
use tracing::debug;

use crate::batch::Batch;
use crate::column::{Column, ColumnKind};
use crate::error::{Result, SourceError};
use crate::stream::{self, BATCH_ROWS, RowStream};
use convert::BatchDecoder;

/// Where the DuckDB source reads from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DuckDbConfig {
    /// A `.duckdb` file, opened read-only; `None` for an in-memory database whose models read
    /// files. A relative path is taken relative to `base_dir`.
    pub path: Option<PathBuf>,
    /// The folder that relative paths (the database file, and files read by models) are
    /// resolved against: normally the config file's folder.
    pub base_dir: PathBuf,
}

/// A DuckDB warehouse, open and ready to run models.
#[derive(Clone)]
pub struct DuckDbSource {
    inner: Arc<Inner>,
}

struct Inner {
    /// The database once open (or why it could not be opened).
    root: OnceLock<std::result::Result<Root, String>>,
    /// The thread opening the database, until the first operation (or the drop) joins it
    /// and keeps its result in `root`.
    opening: Mutex<Option<JoinHandle<std::result::Result<Root, String>>>>,
    /// The reader threads that may still be running: one per stream, which ends a moment
    /// after its stream (it still closes the statement and its connection).
    readers: Mutex<Vec<JoinHandle<()>>>,
    /// What is open, for messages: `DuckDB database /x/warehouse.duckdb` or
    /// `in-memory DuckDB`.
    label: String,
}

/// An open database.
struct Root {
    /// The connection new ones are cloned from; the mutex only guards the cloning
    /// (`Connection` is not `Sync`).
    connection: Mutex<Connection>,
    /// Where DuckDB spills what does not fit in memory (`temp_directory`, as optisync set it
    /// at the open; relative to the process's working folder, as for DuckDB). DuckDB creates
    /// the folder only when it first spills, and removes what it put there when the database
    /// closes. `None` when the setting was left to DuckDB (the database's path is not UTF-8):
    /// the database is then closed as usual.
    spill: Option<PathBuf>,
}

impl fmt::Debug for DuckDbSource {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("DuckDbSource")
            .field("database", &self.inner.label)
            .finish_non_exhaustive()
    }
}

impl DuckDbSource {
    /// Starts opening the database: the file read-only (a model can never change the
    /// warehouse), or a new in-memory database. A missing file is
    /// [`SourceError::MissingDatabase`] at once; it is never created. DuckDB's own work runs
    /// on a thread of its own: a file it cannot open is [`SourceError::Unavailable`] from the
    /// first operation, as when the database fails later.
    pub fn open(config: &DuckDbConfig) -> Result<Self> {
        let base_dir =
            std::path::absolute(&config.base_dir).unwrap_or_else(|_| config.base_dir.clone());
        let search_path = utf8(&base_dir, "base directory")?.to_owned();
        let path = match &config.path {
            Some(path) => {
                let path = base_dir.join(path);
                if !path.exists() {
                    return Err(SourceError::MissingDatabase { path });
                }
                Some(path)
            }
            None => None,
        };
        let label = match &path {
            Some(path) => format!("DuckDB database {}", path.display()),
            None => "in-memory DuckDB".to_owned(),
        };
        let opening = {
            let label = label.clone();
            let base_dir = base_dir.clone();
            thread::Builder::new()
                .name("optisync-duckdb-open".to_owned())
                .spawn(move || {
                    let root =
                        open_root(path.as_deref(), &search_path).map_err(|e| e.to_string())?;
                    debug!(database = %label, base_dir = %base_dir.display(), "opened DuckDB");
                    Ok(root)
                })
                .map_err(|e| SourceError::Unavailable {
                    target: "a thread to open DuckDB".to_owned(),
                    message: e.to_string(),
                })?
        };
        Ok(Self {
            inner: Arc::new(Inner {
                root: OnceLock::new(),
                opening: Mutex::new(Some(opening)),
                readers: Mutex::new(Vec::new()),
                label,
            }),
        })
    }

    /// The open database, once the thread opening it is done.
    fn root(&self) -> Result<&Root> {
        self.inner
            .opened()
            .as_ref()
            .map_err(|message| SourceError::Unavailable {
                target: self.inner.label.clone(),
                message: message.clone(),
            })
    }

    /// Gives the database up without closing it, for a process about to exit, when closing
    /// it would only free memory: the file is open read-only (or the database lives in
    /// memory), and DuckDB never created its temporary folder, so it has nothing to write or
    /// remove. Freeing DuckDB's catalog takes several milliseconds; the exit takes the memory
    /// back at once. Otherwise (the database spilled, or failed to open) the source is handed
    /// back, to be closed as usual.
    ///
    /// Nothing of this source may be in use any more: no stream still being read.
    pub fn leave_to_exit(self) -> std::result::Result<(), Self> {
        // No thread may be inside DuckDB when the process exits: the readers are done with
        // their streams, and end as soon as they have closed their statements.
        let readers = std::mem::take(
            &mut *self
                .inner
                .readers
                .lock()
                .unwrap_or_else(PoisonError::into_inner),
        );
        for reader in readers {
            // A reader that panicked is gone all the same.
            let _ = reader.join();
        }
        let nothing_to_remove = match self.inner.root.get() {
            Some(Ok(root)) => root.spill.as_ref().is_some_and(|folder| !folder.exists()),
            _ => false,
        };
        if nothing_to_remove {
            // Never closed: the last reference is gone with the process.
            std::mem::forget(self);
            Ok(())
        } else {
            Err(self)
        }
    }

    /// Checks that the database answers a trivial query.
    pub fn check(&self) -> Result<()> {
        let connection = self.connect()?;
        connection
            .query_row("SELECT 1", [], |row| row.get::<_, i64>(0))
            .map(drop)
            .map_err(|e| self.unavailable(&e))
    }

    /// The model's columns, without running it: DuckDB binds the query (resolving tables,
    /// files and types) but computes no row.
    pub fn describe(&self, model: &str) -> Result<Vec<Column>> {
        let connection = self.connect()?;
        let model = trim_model(model);
        let mut described: Vec<(String, String)> = Vec::new();
        {
            let mut statement = connection
                .prepare(&format!("DESCRIBE {model}"))
                .map_err(model_error)?;
            let rows = statement
                .query_map([], |row| Ok((row.get(0)?, row.get(1)?)))
                .map_err(model_error)?;
            for row in rows {
                described.push(row.map_err(model_error)?);
            }
        }
        let statement = connection.prepare(model).map_err(model_error)?;
        if statement.column_count() != described.len() {
            return Err(SourceError::Model {
                message: format!(
                    "DuckDB described {} columns but the model has {}",
                    described.len(),
                    statement.column_count()
                ),
            });
        }
        Ok(described
            .into_iter()
            .enumerate()
            .map(|(index, (name, type_name))| Column {
                kind: types::decoding(&statement.column_logical_type(index)).kind,
                name,
                type_name,
            })
            .collect())
    }

    /// Runs the model and streams its rows. Returns once DuckDB has started producing rows,
    /// so that errors in the model (SQL errors, unsupported column types) are reported here;
    /// errors found later (a failing cast on some row) arrive as the stream's last item.
    pub fn stream(&self, model: &str) -> Result<RowStream> {
        let connection = self.connect()?;
        let interrupt = connection.interrupt_handle();
        let model = trim_model(model).to_owned();
        let source = self.clone();
        let (ready_tx, ready_rx) = std::sync::mpsc::sync_channel(1);
        let reader = thread::Builder::new()
            .name("optisync-duckdb-reader".to_owned())
            .spawn(move || {
                let cancel = Box::new(move || interrupt.interrupt());
                read(&source, &connection, &model, cancel, &ready_tx);
            })
            .map_err(|e| SourceError::Unavailable {
                target: "a reader thread".to_owned(),
                message: e.to_string(),
            })?;
        {
            let mut readers = self
                .inner
                .readers
                .lock()
                .unwrap_or_else(PoisonError::into_inner);
            readers.retain(|reader| !reader.is_finished());
            readers.push(reader);
        }
        ready_rx.recv().map_err(|_| SourceError::ReaderLost)?
    }

    /// A new connection to the database (the file search path is the database's default).
    fn connect(&self) -> Result<Connection> {
        self.root()?
            .connection
            .lock()
            // The guarded connection is only cloned, never left half-changed by a panic.
            .unwrap_or_else(PoisonError::into_inner)
            .try_clone()
            .map_err(|e| self.unavailable(&e))
    }

    fn unavailable(&self, error: &::duckdb::Error) -> SourceError {
        SourceError::Unavailable {
            target: self.inner.label.clone(),
            message: error.to_string(),
        }
    }
}

impl Inner {
    /// What the thread opening the database opened, waiting for it the first time. Callers
    /// that come while another waits block until it is done.
    fn opened(&self) -> &std::result::Result<Root, String> {
        self.root.get_or_init(|| {
            let thread = self
                .opening
                .lock()
                .unwrap_or_else(PoisonError::into_inner)
                .take();
            thread.map_or_else(
                || Err("it was not opened".to_owned()),
                |thread| {
                    thread.join().unwrap_or_else(|_| {
                        Err("the thread opening it stopped unexpectedly".to_owned())
                    })
                },
            )
        })
    }
}

impl Drop for Inner {
    /// A source dropped before its first use (another part of the run failed to start)
    /// still waits for DuckDB to finish opening: the process must not exit under it.
    fn drop(&mut self) {
        self.opened();
    }
}

/// Opens the database DuckDB-side, with the file search path as the database's default, so
/// that every connection has it without a statement of its own, and the spill folder set, so
/// that the exit knows it without asking DuckDB: reading the setting back is a query of its
/// own, about 2 ms before the model on a no-op run.
fn open_root(path: Option<&Path>, search_path: &str) -> ::duckdb::Result<Root> {
    // DuckDB's asynchronous I/O threads (four per core by default) serve writes to files and
    // HTTP; a model only reads, and DuckDB does their work inline when there are none. Not
    // starting them takes a few threads off every open and every exit.
    let mut config = Config::default()
        .with("async_threads", "0")?
        .with("file_search_path", search_path)?;
    let spill = spill_folder(path);
    // A path that is not UTF-8 keeps DuckDB's default, unknown here: the close at the exit
    // stays.
    if let Some(folder) = &spill {
        config = config.with("temp_directory", folder)?;
    }
    let root = match path {
        Some(path) => Connection::open_with_flags(path, config.access_mode(AccessMode::ReadOnly)?)?,
        None => Connection::open_in_memory_with_flags(config)?,
    };
    Ok(Root {
        connection: Mutex::new(root),
        spill: spill.map(PathBuf::from),
    })
}

/// The folder DuckDB spills into by default: beside a database file, its name followed by
/// `.tmp`; for an in-memory database, `.tmp` in the process's working folder.
fn spill_folder(path: Option<&Path>) -> Option<String> {
    match path {
        Some(path) => path.to_str().map(|path| format!("{path}.tmp")),
        None => Some(".tmp".to_owned()),
    }
}

type Ready = std::sync::mpsc::SyncSender<Result<RowStream>>;

/// The reader thread: runs the model, hands the stream back through `ready`, then fills it.
fn read(
    source: &DuckDbSource,
    connection: &Connection,
    model: &str,
    cancel: Box<dyn FnOnce() + Send + Sync>,
    ready: &Ready,
) {
    let started = start(source, connection, model);
    let mut statement = match started {
        Ok(statement) => statement,
        Err(error) => {
            // The caller is waiting on `ready`; if it is gone nobody needs the error.
            let _ = ready.send(Err(error));
            return;
        }
    };
    let json_text = match statement.json_text() {
        Ok(json_text) => json_text,
        Err(error) => {
            let _ = ready.send(Err(error));
            return;
        }
    };
    let batches = match statement.statement.stream_arrow([]) {
        Ok(batches) => batches,
        Err(error) => {
            let _ = ready.send(Err(model_error(error)));
            return;
        }
    };
    let columns: Arc<[String]> = batches
        .get_schema()
        .fields()
        .iter()
        .map(|field| field.name().clone())
        .collect();
    if columns.len() != json_text.len() {
        let _ = ready.send(Err(SourceError::Model {
            message: format!(
                "DuckDB returned {} columns where {} were prepared",
                columns.len(),
                json_text.len()
            ),
        }));
        return;
    }
    let decoder = BatchDecoder::new(Arc::clone(&columns), json_text);
    let (sender, stream) = stream::channel(Arc::clone(&columns), Some(cancel));
    if ready.send(Ok(stream)).is_err() {
        return;
    }
    // DuckDB's chunks (2,048 rows) are decoded onto the end of the batch being gathered
    // (see `stream`), which is handed over once full.
    let mut pending = Batch::empty(Arc::clone(&columns));
    let mut rows = 0u64;
    for batch in batches {
        let decoded = batch
            .map_err(model_error)
            .and_then(|b| decoder.decode_onto(&b, &mut pending));
        if let Err(error) = decoded {
            return sender.blocking_fail(error);
        }
        while pending.is_full() {
            let rest = pending.split_off(BATCH_ROWS);
            let full = std::mem::replace(&mut pending, rest);
            rows += full.len() as u64;
            if sender.blocking_send(full).is_err() {
                debug!(rows, "row stream dropped before its end");
                return;
            }
        }
    }
    rows += pending.len() as u64;
    if sender.blocking_send(pending).is_ok() {
        debug!(rows, "model read");
        sender.blocking_finish();
    }
}

/// A prepared model with the decoding of each column.
struct Prepared<'conn> {
    statement: ::duckdb::Statement<'conn>,
    decodings: Vec<types::Decoding>,
    source: DuckDbSource,
    model: String,
}

impl Prepared<'_> {
    /// Per column, whether its text is JSON; refuses the first column that cannot be carried.
    fn json_text(&self) -> Result<Vec<bool>> {
        if let Some(index) = self
            .decodings
            .iter()
            .position(|d| d.kind == ColumnKind::Unsupported)
        {
            return Err(self.unsupported(index));
        }
        Ok(self.decodings.iter().map(|d| d.json_text).collect())
    }

    /// The error for column `index`, with DuckDB's own name of its type (looked up only on
    /// this error path, by describing the model).
    fn unsupported(&self, index: usize) -> SourceError {
        match self.source.describe(&self.model) {
            Ok(columns) => match columns.into_iter().nth(index) {
                Some(column) => SourceError::UnsupportedColumn {
                    hint: types::unsupported_hint(&column.type_name),
                    column: column.name,
                    type_name: column.type_name,
                },
                None => SourceError::Model {
                    message: format!("column {index} has a type optisync cannot sync"),
                },
            },
            Err(error) => error,
        }
    }
}

fn start<'conn>(
    source: &DuckDbSource,
    connection: &'conn Connection,
    model: &str,
) -> Result<Prepared<'conn>> {
    let statement = connection.prepare(model).map_err(model_error)?;
    let decodings = (0..statement.column_count())
        .map(|index| types::decoding(&statement.column_logical_type(index)))
        .collect();
    Ok(Prepared {
        statement,
        decodings,
        source: source.clone(),
        model: model.to_owned(),
    })
}

/// A model as DuckDB should see it: without surrounding blanks or trailing semicolons
/// (`DESCRIBE select 1;;` would not parse).
fn trim_model(model: &str) -> &str {
    model
        .trim()
        .trim_end_matches(|c: char| c == ';' || c.is_whitespace())
}

fn model_error(error: ::duckdb::Error) -> SourceError {
    SourceError::Model {
        message: error.to_string(),
    }
}

fn utf8<'a>(path: &'a Path, what: &str) -> Result<&'a str> {
    path.to_str().ok_or_else(|| SourceError::Unavailable {
        target: format!("{what} {}", path.display()),
        message: "the path is not valid UTF-8, which DuckDB requires".to_owned(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn models_lose_trailing_semicolons() {
        assert_eq!(trim_model("  select 1 ;\n ; "), "select 1");
        assert_eq!(trim_model("select ';'"), "select ';'");
    }
}
