//! The PostgreSQL source, and the Redshift source, which speaks the same protocol.
//!
//! Every operation opens its own connection. A model runs inside a `READ ONLY` transaction,
//! so it can never change the warehouse: a model that writes fails with the server's own
//! "cannot execute … in a read-only transaction", which optisync explains. The model's
//! columns come from a prepared statement (parsed and planned, not run). Rows then come in
//! text, one of two ways ([`Server`]):
//! - PostgreSQL: `COPY (model) TO STDOUT`, the way `psql \copy` reads them: the server
//!   formats each value once, the client splits lines and decodes each cell by its
//!   column's type (see [`text`]).
//! - Redshift, which refuses `COPY … TO STDOUT`: a cursor declared in the transaction
//!   (`DECLARE … CURSOR FOR model`), read `FETCH FORWARD n` rows at a time through the
//!   simple query protocol, whose rows are text too and decode the same way. Redshift
//!   materialises a cursor's whole result on its leader node when the first row is fetched
//!   (see the README for the size limits that follows).
//!
//! A bounded channel between the reading task and the engine keeps memory flat whatever the
//! model's size: when the engine falls behind, reading pauses (TCP holds the server back,
//! or the next `FETCH` waits).
//!
//! The session is set up so that text is unambiguous: `DateStyle = ISO`, `TimeZone = UTC`,
//! `IntervalStyle = iso_8601`, `extra_float_digits = 1` (shortest exact floats).
//!
//! How Postgres types become [`Value`](optisync_core::Value)s (any may also be `Null`):
//!
//! | Postgres type | Value |
//! |---|---|
//! | `text`, `varchar`, `char`, `name`, `citext`, enums, `uuid`, `inet`, `cidr`, `macaddr`, `xml`, `money` | `Text` |
//! | `int2`, `int4`, `int8`, `oid` | `Int` |
//! | `float4`, `float8` | `Float` |
//! | `numeric` | `Int` when integral and within `i64`; `Float` when at most 15 significant digits; else `Text`, exact |
//! | `bool` | `Bool` |
//! | `json`, `jsonb` | `Json`, parsed; `Text`, as sent, when a number in it would lose digits as a float |
//! | arrays of the above | `Json` arrays |
//! | `date`, `time`, `timetz` | `Text`, ISO 8601 |
//! | `timestamp` | `Text`, `2024-01-02T03:04:05.123` |
//! | `timestamptz` | `Text`, the instant in UTC: `2024-01-02T03:04:05Z` |
//! | `interval` | `Text`, an ISO 8601 duration: `P1Y2DT3H` |
//! | domains | as their base type |
//! | `bytea`, `bit`, `varbit`, geometric types, ranges, composite types, others | refused: [`SourceError::UnsupportedColumn`] naming the column |
//!
//! A cell that cannot be converted (JSON nested deeper than
//! [`MAX_JSON_DEPTH`](optisync_core::value::MAX_JSON_DEPTH)) is `Invalid`, with why: its row
//! is rejected, the others go on.

pub mod text;
mod tls;

use std::fmt;
use std::str::FromStr;
use std::sync::Arc;
use std::time::Duration;

use futures_util::StreamExt;
use tokio_postgres::error::{ErrorPosition, SqlState};
use tokio_postgres::types::{Kind, Type};
use tokio_postgres::{Client, SimpleQueryMessage, Statement};
use tracing::debug;

use crate::column::{Column, ColumnKind};
use crate::error::{Result, SourceError};
use crate::server::{full_error, redact, transport_fix, trim_model, with_fix};
use crate::stream::{self, RowStream};
#[cfg(doc)]
use crate::stream::{BATCH_BYTES, BATCH_ROWS};
use text::{CellType, RowDecoder};

pub use crate::ssl_mode::SslMode;

/// Which server speaks the protocol: it decides how rows are read.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Server {
    /// PostgreSQL: rows through `COPY (model) TO STDOUT`.
    #[default]
    Postgres,
    /// Amazon Redshift (or anything refusing `COPY … TO STDOUT`): rows through a cursor,
    /// `fetch_rows` at a time (1 to [`MAX_FETCH_ROWS`]; Redshift's single-node clusters
    /// take at most 1,000).
    Redshift {
        /// Rows per `FETCH FORWARD`.
        fetch_rows: u32,
    },
}

/// The most rows one `FETCH` may ask for: what one answer holds in memory at once.
pub const MAX_FETCH_ROWS: u32 = 100_000;

/// Rows per `FETCH` unless told otherwise: the most a Redshift single-node cluster allows.
pub const DEFAULT_FETCH_ROWS: u32 = 1_000;

impl Server {
    /// The server's name in messages.
    fn name(self) -> &'static str {
        match self {
            Server::Postgres => "PostgreSQL",
            Server::Redshift { .. } => "Redshift",
        }
    }
}

/// Where the Postgres source connects and how.
#[derive(Clone)]
pub struct PostgresConfig {
    /// `postgres://user:password@host:port/database?…` (a secret: never logged or shown).
    pub url: String,
    /// TLS; overrides any `sslmode` in the URL.
    pub sslmode: SslMode,
    /// A model running longer is cancelled by the server.
    pub statement_timeout: Option<Duration>,
    /// Shown in `pg_stat_activity`.
    pub application_name: String,
    /// PostgreSQL or Redshift.
    pub server: Server,
}

impl fmt::Debug for PostgresConfig {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("PostgresConfig")
            .field("url", &"<secret>")
            .field("sslmode", &self.sslmode)
            .field("statement_timeout", &self.statement_timeout)
            .field("application_name", &self.application_name)
            .field("server", &self.server)
            .finish()
    }
}

/// A PostgreSQL warehouse. Cheap to clone.
#[derive(Clone)]
pub struct PostgresSource {
    inner: Arc<Inner>,
}

struct Inner {
    connect: tokio_postgres::Config,
    server: Server,
    sslmode: SslMode,
    statement_timeout: Option<Duration>,
    /// `PostgreSQL at host:port/database as user` (or `Redshift at …`), for messages (no
    /// password).
    label: String,
}

impl fmt::Debug for PostgresSource {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("PostgresSource")
            .field("target", &self.inner.label)
            .field("server", &self.inner.server)
            .field("sslmode", &self.inner.sslmode)
            .finish_non_exhaustive()
    }
}

impl PostgresSource {
    /// Checks the URL; connects only when used. A URL that does not parse is
    /// [`SourceError::Unavailable`] with the reason, never with the URL itself.
    pub fn new(config: &PostgresConfig) -> Result<Self> {
        if let Server::Redshift { fetch_rows } = config.server
            && !(1..=MAX_FETCH_ROWS).contains(&fetch_rows)
        {
            return Err(SourceError::Unavailable {
                target: config.server.name().to_owned(),
                message: format!(
                    "fetch_rows must be between 1 and {MAX_FETCH_ROWS}, not {fetch_rows}"
                ),
            });
        }
        let mut connect = tokio_postgres::Config::from_str(&config.url).map_err(|e| {
            SourceError::Unavailable {
                target: config.server.name().to_owned(),
                message: format!(
                    "the connection URL is not valid ({}); expected postgres://USER:PASSWORD@HOST:PORT/DATABASE",
                    redact(&e.to_string(), &config.url)
                ),
            }
        })?;
        connect.application_name(&config.application_name);
        connect.ssl_mode(match config.sslmode {
            SslMode::Disable => tokio_postgres::config::SslMode::Disable,
            SslMode::Prefer => tokio_postgres::config::SslMode::Prefer,
            SslMode::Require | SslMode::VerifyFull => tokio_postgres::config::SslMode::Require,
        });
        if connect.get_connect_timeout().is_none() {
            connect.connect_timeout(Duration::from_secs(15));
        }
        let label = label(config.server, &connect);
        Ok(Self {
            inner: Arc::new(Inner {
                connect,
                server: config.server,
                sslmode: config.sslmode,
                statement_timeout: config.statement_timeout,
                label,
            }),
        })
    }

    /// `postgres` or `redshift`, as the config names it.
    pub fn kind(&self) -> &'static str {
        match self.inner.server {
            Server::Postgres => "postgres",
            Server::Redshift { .. } => "redshift",
        }
    }

    /// Connects, authenticates and runs `SELECT 1`.
    pub async fn check(&self) -> Result<()> {
        let client = self.connect().await?;
        client
            .simple_query("SELECT 1")
            .await
            .map(drop)
            .map_err(|e| self.unavailable(&e))
    }

    /// The model's columns, from a prepared statement: Postgres parses and plans the model
    /// but runs nothing.
    pub async fn describe(&self, model: &str) -> Result<Vec<Column>> {
        let client = self.connect().await?;
        let model = trim_model(model);
        client
            .batch_execute("BEGIN READ ONLY")
            .await
            .map_err(|e| self.unavailable(&e))?;
        let statement = client
            .prepare(model)
            .await
            .map_err(|e| model_error(&e, model, Some(0), self.inner.statement_timeout))?;
        Ok(statement
            .columns()
            .iter()
            .map(|c| Column {
                name: c.name().to_owned(),
                type_name: type_name(c.type_()),
                kind: CellType::of(c.type_()).kind(),
            })
            .collect())
    }

    /// Runs the model in a read-only transaction and streams its rows. Errors in the model
    /// (syntax, unknown table, an unsupported column type) are returned here; errors while
    /// rows are produced (a failing cast, a statement timeout) end the stream.
    pub async fn stream(&self, model: &str) -> Result<RowStream> {
        let client = self.connect().await?;
        let model = trim_model(model).to_owned();
        let timeout = self.inner.statement_timeout;
        client
            .batch_execute("BEGIN READ ONLY")
            .await
            .map_err(|e| self.unavailable(&e))?;
        let statement = client
            .prepare(&model)
            .await
            .map_err(|e| model_error(&e, &model, Some(0), timeout))?;
        let cells = cell_types(&statement)?;
        let columns: Arc<[String]> = statement
            .columns()
            .iter()
            .map(|c| c.name().to_owned())
            .collect();
        let cancel = client.cancel_token();
        let hook = Box::new(move || {
            if let Ok(runtime) = tokio::runtime::Handle::try_current() {
                runtime.spawn(async move {
                    // The query is being abandoned; if it already ended there is nothing to cancel.
                    let _ = cancel.cancel_query(tokio_postgres::NoTls).await;
                });
            }
        });
        let (sender, stream) = stream::channel(Arc::clone(&columns), Some(hook));
        let reader = Reader {
            sender,
            decoder: RowDecoder::new(cells),
            columns,
            model,
            timeout,
            rows: 0,
        };
        match self.inner.server {
            Server::Postgres => {
                let copy = client
                    .copy_out(&format!("{COPY_PREFIX}{}) TO STDOUT", reader.model))
                    .await
                    .map_err(|e| {
                        model_error(&e, &reader.model, Some(COPY_PREFIX.len()), timeout)
                    })?;
                // The client is owned by the task so that the connection lives as long as the
                // rows are read.
                tokio::spawn(reader.copy(client, copy));
            }
            Server::Redshift { fetch_rows } => {
                client
                    .batch_execute(&format!("{DECLARE_PREFIX}{}", reader.model))
                    .await
                    .map_err(|e| declare_error(&e, &reader.model, timeout))?;
                tokio::spawn(reader.fetch(client, fetch_rows));
            }
        }
        Ok(stream)
    }

    /// A new session, set up for unambiguous text values.
    async fn connect(&self) -> Result<Client> {
        let connected = match self.inner.sslmode {
            SslMode::Disable => {
                let (client, connection) = self
                    .inner
                    .connect
                    .connect(tokio_postgres::NoTls)
                    .await
                    .map_err(|e| self.unavailable(&e))?;
                spawn_connection(connection);
                client
            }
            mode => {
                let tls = tls::connector(mode == SslMode::VerifyFull).map_err(|message| {
                    SourceError::Unavailable {
                        target: self.inner.label.clone(),
                        message,
                    }
                })?;
                let (client, connection) = self
                    .inner
                    .connect
                    .connect(tls)
                    .await
                    .map_err(|e| self.unavailable(&e))?;
                spawn_connection(connection);
                client
            }
        };
        let mut setup = String::from(
            "SET DateStyle = 'ISO, YMD'; SET TimeZone = 'UTC'; SET extra_float_digits = 1;",
        );
        if let Some(timeout) = self.inner.statement_timeout {
            setup.push_str(&format!(
                " SET statement_timeout = {};",
                timeout.as_millis()
            ));
        }
        connected
            .batch_execute(&setup)
            .await
            .map_err(|e| self.unavailable(&e))?;
        // Not every server of the protocol knows IntervalStyle (Redshift does not); intervals
        // then come in the server's own style.
        if let Err(error) = connected
            .batch_execute("SET IntervalStyle = 'iso_8601'")
            .await
        {
            debug!(%error, "IntervalStyle not set");
        }
        debug!(target = %self.inner.label, "connected");
        Ok(connected)
    }

    fn unavailable(&self, error: &tokio_postgres::Error) -> SourceError {
        SourceError::Unavailable {
            target: self.inner.label.clone(),
            message: connection_message(error, &self.inner),
        }
    }
}

fn spawn_connection<S, T>(connection: tokio_postgres::Connection<S, T>)
where
    S: tokio::io::AsyncRead + tokio::io::AsyncWrite + Unpin + Send + 'static,
    T: tokio_postgres::tls::TlsStream + Unpin + Send + 'static,
{
    tokio::spawn(async move {
        if let Err(error) = connection.await {
            debug!(%error, "PostgreSQL connection ended with an error");
        }
    });
}

/// The task reading a model's rows into the engine's channel, in batches of at most
/// [`BATCH_ROWS`] rows or about [`BATCH_BYTES`] bytes.
struct Reader {
    sender: stream::BatchSender,
    decoder: RowDecoder,
    columns: Arc<[String]>,
    model: String,
    timeout: Option<Duration>,
    /// Rows sent so far.
    rows: u64,
}

impl Reader {
    /// Reads `COPY … TO STDOUT` to its end.
    async fn copy(mut self, _client: Client, copy: tokio_postgres::CopyOutStream) {
        let mut copy = std::pin::pin!(copy);
        while let Some(chunk) = copy.next().await {
            let chunk = match chunk {
                Ok(chunk) => chunk,
                Err(error) => {
                    let error =
                        model_error(&error, &self.model, Some(COPY_PREFIX.len()), self.timeout);
                    return self.sender.fail(error).await;
                }
            };
            if let Err(error) = self.decoder.push(&chunk) {
                return self
                    .sender
                    .fail(error.into_source_error(&self.columns))
                    .await;
            }
            if !self.send_full().await {
                return;
            }
        }
        if let Err(error) = self.decoder.finish() {
            return self
                .sender
                .fail(error.into_source_error(&self.columns))
                .await;
        }
        self.finish().await;
    }

    /// Reads the declared cursor `fetch_rows` rows at a time until a `FETCH` returns none.
    async fn fetch(mut self, client: Client, fetch_rows: u32) {
        let fetch = format!("FETCH FORWARD {fetch_rows} FROM {CURSOR}");
        loop {
            let answer = match client.simple_query(&fetch).await {
                Ok(answer) => answer,
                Err(error) => {
                    let error = model_error(&error, &self.model, None, self.timeout);
                    return self.sender.fail(error).await;
                }
            };
            let mut fetched = 0usize;
            for message in &answer {
                if let SimpleQueryMessage::Row(row) = message {
                    fetched += 1;
                    let cells = (0..row.len()).map(|index| row.get(index));
                    if let Err(error) = self.decoder.push_row(cells) {
                        return self
                            .sender
                            .fail(error.into_source_error(&self.columns))
                            .await;
                    }
                }
            }
            if fetched == 0 {
                break;
            }
            if !self.send_full().await {
                return;
            }
        }
        self.finish().await;
    }

    /// Sends what is decoded once it makes a batch; false when the engine is gone.
    async fn send_full(&mut self) -> bool {
        !self.decoder.is_full() || self.send_decoded().await
    }

    /// Sends every decoded row, in batches of at most [`BATCH_ROWS`]; false when the engine
    /// is gone.
    async fn send_decoded(&mut self) -> bool {
        let batch = self.decoder.take(&self.columns);
        self.rows += batch.len() as u64;
        if self.sender.send_split(batch).await.is_err() {
            debug!(rows = self.rows, "row stream dropped before its end");
            return false;
        }
        true
    }

    /// Sends the last rows and ends the stream.
    async fn finish(mut self) {
        if self.send_decoded().await {
            debug!(rows = self.rows, "model read");
            self.sender.finish().await;
        }
    }
}

/// Each column's decoding; the first column optisync cannot carry refuses the model.
fn cell_types(statement: &Statement) -> Result<Vec<CellType>> {
    statement
        .columns()
        .iter()
        .map(|column| {
            let cell = CellType::of(column.type_());
            if cell.kind() == ColumnKind::Unsupported {
                return Err(SourceError::UnsupportedColumn {
                    column: column.name().to_owned(),
                    type_name: type_name(column.type_()),
                    hint: unsupported_hint(column.type_()),
                });
            }
            Ok(cell)
        })
        .collect()
}

fn unsupported_hint(ty: &Type) -> &'static str {
    match ty.kind() {
        Kind::Composite(_) => "convert it in the model, e.g. to_json(column)",
        Kind::Range(_) | Kind::Multirange(_) => {
            "select its bounds, e.g. lower(column) and upper(column)"
        }
        _ if *ty == Type::BYTEA => "convert it in the model, e.g. encode(column, 'hex')",
        _ => "cast it in the model, e.g. column::text",
    }
}

/// The type as users write it: `int8`, `text[]`, `my_enum`.
fn type_name(ty: &Type) -> String {
    match ty.kind() {
        Kind::Array(element) => format!("{}[]", element.name()),
        _ => ty.name().to_owned(),
    }
}

/// The error of declaring the cursor over `model`: the model's own, and when the server
/// stumbled on its very first word, that a cursor only takes a query (an `INSERT`, say, is
/// not one; PostgreSQL's `COPY` would have run it and the read-only transaction refused it).
fn declare_error(
    error: &tokio_postgres::Error,
    model: &str,
    timeout: Option<Duration>,
) -> SourceError {
    let mut explained = model_error(error, model, Some(DECLARE_PREFIX.len()), timeout);
    let at_first_word = error.as_db_error().is_some_and(|db| {
        *db.code() == SqlState::SYNTAX_ERROR
            && matches!(db.position(), Some(ErrorPosition::Original(p)) if *p as usize == DECLARE_PREFIX.len() + 1)
    });
    if let (true, SourceError::Model { message }) = (at_first_word, &mut explained) {
        message.push_str(
            "; a model must be a query (SELECT, or WITH … SELECT): optisync reads its rows through a cursor, which only a query can feed",
        );
    }
    explained
}

/// `PostgreSQL at host:port/database as user` (or `Redshift at …`).
fn label(server: Server, config: &tokio_postgres::Config) -> String {
    use tokio_postgres::config::Host;
    let host = match config.get_hosts().first() {
        Some(Host::Tcp(host)) => host.clone(),
        Some(Host::Unix(path)) => path.display().to_string(),
        None => "localhost".to_owned(),
    };
    let port = config.get_ports().first().copied().unwrap_or(5432);
    let user = config.get_user().unwrap_or("(default user)");
    let database = config.get_dbname().unwrap_or(user);
    format!("{} at {host}:{port}/{database} as {user}", server.name())
}

/// Connecting or setting up failed: what happened and how to fix it.
fn connection_message(error: &tokio_postgres::Error, inner: &Inner) -> String {
    if let Some(db) = error.as_db_error() {
        let fix = match *db.code() {
            SqlState::INVALID_PASSWORD => {
                "check the user and password in the connection URL (`url` under [source])"
            }
            SqlState::INVALID_AUTHORIZATION_SPECIFICATION => {
                "the server refused this user from this address; check the user in the URL and the server's pg_hba.conf"
            }
            SqlState::INVALID_CATALOG_NAME => "check the database name at the end of the URL",
            SqlState::TOO_MANY_CONNECTIONS => {
                "the server is at its connection limit; try again later"
            }
            _ => "",
        };
        return with_fix(
            &format!("{} (SQLSTATE {})", db.message(), db.code().code()),
            fix,
        );
    }
    let text = full_error(error);
    let no_tls = text.to_lowercase().contains("server does not support tls");
    let fix = transport_fix(&text, inner.sslmode, no_tls);
    with_fix(&text, fix)
}

/// What the model is wrapped in to stream it from PostgreSQL.
const COPY_PREFIX: &str = "COPY (";

/// The cursor the Redshift way of reading declares, in the model's own transaction.
const CURSOR: &str = "optisync_rows";

/// What the model is wrapped in to read it through [`CURSOR`].
const DECLARE_PREFIX: &str = "DECLARE optisync_rows CURSOR FOR ";

/// The model failed: Postgres's message, where in the model, and what it means. `offset` is
/// how many characters preceded the model in the statement sent.
/// `error` of the model, explained; `offset` is where the model starts in the statement the
/// server answered, `None` when that statement was not the model (a `FETCH`), so that a
/// position in it says nothing about the model.
fn model_error(
    error: &tokio_postgres::Error,
    model: &str,
    offset: Option<usize>,
    timeout: Option<Duration>,
) -> SourceError {
    let Some(db) = error.as_db_error() else {
        return SourceError::Model {
            message: full_error(error),
        };
    };
    let mut message = format!("{} (SQLSTATE {})", db.message(), db.code().code());
    if let (Some(ErrorPosition::Original(position)), Some(offset)) = (db.position(), offset) {
        message.push_str(&position_note(
            model,
            (*position as usize).saturating_sub(offset),
        ));
    }
    if let Some(detail) = db.detail() {
        message.push_str(&format!("; {detail}"));
    }
    if let Some(hint) = db.hint() {
        message.push_str(&format!("; hint: {hint}"));
    }
    match *db.code() {
        SqlState::READ_ONLY_SQL_TRANSACTION => message.push_str(
            "; the model tried to change the warehouse: optisync runs every model in a read-only transaction, so a model must only read (SELECT)",
        ),
        SqlState::QUERY_CANCELED if db.message().contains("statement timeout") => {
            message.push_str(&match timeout {
                Some(t) => format!(
                    "; the model ran longer than statement_timeout ({} s); raise statement_timeout under [source] or make the model faster",
                    t.as_secs_f64()
                ),
                None => "; the server's statement_timeout stopped the model; set statement_timeout under [source] or make the model faster".to_owned(),
            });
        }
        _ => {}
    }
    SourceError::Model { message }
}

/// ` at line L, column C: `…text…``, for a 1-based character position in `model`.
fn position_note(model: &str, position: usize) -> String {
    let Some((offset, _)) = model.char_indices().nth(position.saturating_sub(1)) else {
        return format!(" at character {position}");
    };
    let before = &model[..offset];
    let line = before.matches('\n').count() + 1;
    let column = before.rsplit('\n').next().map_or(0, |l| l.chars().count()) + 1;
    let excerpt: String = model[offset..].chars().take(30).collect();
    format!(
        " at line {line}, column {column}, near `{}`",
        excerpt.trim_end()
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sslmodes_parse_and_print() {
        for mode in ["disable", "prefer", "require", "verify-full"] {
            assert_eq!(mode.parse::<SslMode>().unwrap().to_string(), mode);
        }
        let error = "verify-ca".parse::<SslMode>().unwrap_err();
        assert!(
            error.contains("disable, prefer, require, verify-full"),
            "{error}"
        );
    }

    #[test]
    fn the_url_never_shows() {
        let config = PostgresConfig {
            url: "postgres://u:hunter2@db:5433/wh".to_owned(),
            sslmode: SslMode::Require,
            statement_timeout: None,
            application_name: "optisync".to_owned(),
            server: Server::Postgres,
        };
        assert!(!format!("{config:?}").contains("hunter2"));
        let source = PostgresSource::new(&config).unwrap();
        assert_eq!(source.inner.label, "PostgreSQL at db:5433/wh as u");
        assert!(!format!("{source:?}").contains("hunter2"));
        let bad = PostgresConfig {
            url: "postgres://u:hunter2@db:notaport/wh".to_owned(),
            ..config.clone()
        };
        let error = PostgresSource::new(&bad).unwrap_err().to_string();
        assert!(!error.contains("hunter2"), "{error}");
        assert!(error.contains("not valid"), "{error}");
        let redshift = PostgresConfig {
            server: Server::Redshift { fetch_rows: 1000 },
            ..config.clone()
        };
        let source = PostgresSource::new(&redshift).unwrap();
        assert_eq!(source.inner.label, "Redshift at db:5433/wh as u");
        assert_eq!(source.kind(), "redshift");
        for fetch_rows in [0, MAX_FETCH_ROWS + 1] {
            let wrong = PostgresConfig {
                server: Server::Redshift { fetch_rows },
                ..config.clone()
            };
            let error = PostgresSource::new(&wrong).unwrap_err().to_string();
            assert!(
                error.contains("fetch_rows must be between 1 and"),
                "{error}"
            );
        }
    }

    #[test]
    fn positions_point_into_the_model() {
        let model = "select a,\n  b frm t";
        assert_eq!(
            position_note(model, 15),
            " at line 2, column 5, near `frm t`"
        );
        assert_eq!(position_note("x", 99), " at character 99");
        assert_eq!(trim_model(" select 1 ;\n; "), "select 1");
    }
}
