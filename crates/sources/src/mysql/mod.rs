//! The MySQL and MariaDB source.
//!
//! Every operation opens its own connection (TCP as the URL says, never a local socket the
//! server names), sets the session up (`utf8mb4`, time zone UTC, the statement timeout) and
//! runs the model inside `START TRANSACTION READ ONLY`. The model is first *prepared*: the
//! server parses it and reports its columns without running it, which is what `validate`
//! and `check` use. A prepared statement is one statement (a `;` followed by another is a
//! syntax error), and a model whose statement has no result columns (`INSERT`, `DROP
//! TABLE`, `CALL`, `SELECT … INTO OUTFILE`) is refused before it runs, so no model can
//! change the warehouse: MySQL's DDL would commit and escape a read-only transaction. A
//! query that still tries to write (`INSERT … RETURNING` on MariaDB, a function that writes)
//! fails on the read-only transaction, which optisync explains.
//!
//! Rows come through the binary protocol of the prepared statement, so numbers and dates
//! arrive typed, and stream: the reading task turns them into batches (of at most
//! [`BATCH_ROWS`] rows or about [`BATCH_BYTES`] bytes), and the bounded channel to the engine
//! holds the server back when the engine falls behind. A stream dropped before its end has its query killed (`KILL QUERY`
//! from a second connection), as PostgreSQL's is cancelled.
//!
//! How MySQL types become [`Value`](optisync_core::Value)s (any may also be `Null`):
//!
//! | MySQL type | Value |
//! |---|---|
//! | `CHAR`, `VARCHAR`, `TEXT` (any size), `ENUM`, `SET` | `Text` |
//! | `TINYINT(1)` (MySQL's `BOOLEAN`) | `Bool` |
//! | other integers, `YEAR` | `Int`; an unsigned `BIGINT` above 2^63-1 as `Text`, exact |
//! | `FLOAT`, `DOUBLE` | `Float` |
//! | `DECIMAL` | `Int` when integral and within `i64`; `Float` when at most 15 significant digits; else `Text`, exact |
//! | `JSON` (MySQL) | `Json`, parsed (MariaDB's `JSON` is `LONGTEXT`: `Text`) |
//! | `DATE`, `TIME` | `Text`: `2024-01-02`, `-838:59:59.5` |
//! | `DATETIME` | `Text`: `2024-01-02T03:04:05.5` |
//! | `TIMESTAMP` | `Text`, the instant in UTC: `2024-01-02T03:04:05Z` |
//! | `BINARY`, `VARBINARY`, `BLOB`, `BIT`, spatial types, `VECTOR` | refused: [`SourceError::UnsupportedColumn`] naming the column and the cast |
//!
//! Text that is not UTF-8 (a column in another character set that `utf8mb4` cannot
//! represent arrives converted by the server, so this is a defence) makes its cell
//! `Invalid`: its row is rejected, the others go on.

mod types;

use std::fmt;
use std::sync::Arc;
use std::time::Duration;

use futures_util::StreamExt;
use mysql_async::prelude::Queryable;
use mysql_async::{Conn, Opts, OptsBuilder, Row, SslOpts};
use tracing::debug;

use crate::batch::{Batch, Cells};
use crate::column::Column;
use crate::error::{Result, SourceError};
use crate::server::{full_error, redact, transport_fix, trim_model, with_fix};
use crate::ssl_mode::SslMode;
use crate::stream::{self, RowStream};
#[cfg(doc)]
use crate::stream::{BATCH_BYTES, BATCH_ROWS};
use types::CellType;

/// Where the MySQL source connects and how.
#[derive(Clone)]
pub struct MysqlConfig {
    /// `mysql://user:password@host:port/database` (a secret: never logged or shown).
    pub url: String,
    /// TLS.
    pub sslmode: SslMode,
    /// A model running longer is stopped by the server.
    pub statement_timeout: Option<Duration>,
}

impl fmt::Debug for MysqlConfig {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("MysqlConfig")
            .field("url", &"<secret>")
            .field("sslmode", &self.sslmode)
            .field("statement_timeout", &self.statement_timeout)
            .finish()
    }
}

/// A MySQL or MariaDB warehouse. Cheap to clone.
#[derive(Clone)]
pub struct MysqlSource {
    inner: Arc<Inner>,
}

struct Inner {
    /// The URL's options, TLS not yet applied.
    opts: Opts,
    sslmode: SslMode,
    statement_timeout: Option<Duration>,
    /// `MySQL at host:port/database as user`, for messages (no password).
    label: String,
}

impl fmt::Debug for MysqlSource {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("MysqlSource")
            .field("target", &self.inner.label)
            .field("sslmode", &self.inner.sslmode)
            .finish_non_exhaustive()
    }
}

impl MysqlSource {
    /// Checks the URL; connects only when used. A URL that does not parse is
    /// [`SourceError::Unavailable`] with the reason, never with the URL itself.
    pub fn new(config: &MysqlConfig) -> Result<Self> {
        let opts = Opts::from_url(&config.url).map_err(|e| SourceError::Unavailable {
            target: "MySQL".to_owned(),
            message: format!(
                "the connection URL is not valid ({}); expected mysql://USER:PASSWORD@HOST:PORT/DATABASE",
                redact(&e.to_string(), &config.url)
            ),
        })?;
        let label = format!(
            "MySQL at {}:{}/{} as {}",
            opts.ip_or_hostname(),
            opts.tcp_port(),
            opts.db_name().unwrap_or("(no database)"),
            opts.user().unwrap_or("(default user)")
        );
        Ok(Self {
            inner: Arc::new(Inner {
                opts,
                sslmode: config.sslmode,
                statement_timeout: config.statement_timeout,
                label,
            }),
        })
    }

    /// Connects, authenticates and runs `SELECT 1`.
    pub async fn check(&self) -> Result<()> {
        let mut conn = self.connect().await?;
        conn.query_drop("SELECT 1")
            .await
            .map_err(|e| self.unavailable(&e))?;
        disconnect(conn).await;
        Ok(())
    }

    /// The model's columns, from a prepared statement: the server parses the model and
    /// reports its columns, but runs nothing.
    pub async fn describe(&self, model: &str) -> Result<Vec<Column>> {
        let mut conn = self.connect().await?;
        let model = trim_model(model);
        let statement = prepare(&mut conn, model).await?;
        let columns = statement
            .columns()
            .iter()
            .map(|column| Column {
                name: column.name_str().into_owned(),
                type_name: types::type_name(column),
                kind: CellType::of(column).kind(),
            })
            .collect();
        disconnect(conn).await;
        Ok(columns)
    }

    /// Runs the model in a read-only transaction and streams its rows. Errors in the model
    /// (syntax, an unknown table, a statement that is not a query, an unsupported column
    /// type) are returned here; errors while rows are produced (a timeout, a write refused
    /// by the read-only transaction) end the stream.
    pub async fn stream(&self, model: &str) -> Result<RowStream> {
        let mut conn = self.connect().await?;
        let model = trim_model(model).to_owned();
        conn.query_drop("START TRANSACTION READ ONLY")
            .await
            .map_err(|e| self.unavailable(&e))?;
        let statement = prepare(&mut conn, &model).await?;
        let cells = statement
            .columns()
            .iter()
            .map(|column| {
                let cell = CellType::of(column);
                match cell {
                    CellType::Unsupported { hint } => Err(SourceError::UnsupportedColumn {
                        column: column.name_str().into_owned(),
                        type_name: types::type_name(column),
                        hint,
                    }),
                    cell => Ok(cell),
                }
            })
            .collect::<Result<Vec<_>>>()?;
        let columns: Arc<[String]> = statement
            .columns()
            .iter()
            .map(|c| c.name_str().into_owned())
            .collect();
        let hook = {
            let source = self.clone();
            let id = conn.id();
            Box::new(move || {
                if let Ok(runtime) = tokio::runtime::Handle::try_current() {
                    runtime.spawn(async move { source.kill_query(id).await });
                }
            })
        };
        let (sender, stream) = stream::channel(Arc::clone(&columns), Some(hook));
        let timeout = self.inner.statement_timeout;
        tokio::spawn(async move {
            let mut reader = Reader {
                builders: cells.iter().map(CellType::cells).collect(),
                cells,
                columns,
                rows: 0,
                sent: 0,
            };
            let result = match conn.exec_iter(&statement, ()).await {
                Ok(mut result) => match result.stream::<Row>().await {
                    Ok(Some(mut rows)) => loop {
                        match rows.next().await {
                            Some(Ok(row)) => {
                                reader.push(row);
                                if reader.is_full() && !reader.send(&sender).await {
                                    return;
                                }
                            }
                            Some(Err(error)) => break Err(error),
                            None => break Ok(()),
                        }
                    },
                    Ok(None) => Ok(()),
                    Err(error) => Err(error),
                },
                Err(error) => Err(error),
            };
            match result {
                Ok(()) => {
                    if reader.send(&sender).await {
                        debug!(rows = reader.sent, "model read");
                        sender.finish().await;
                    }
                }
                Err(error) => sender.fail(model_error(&error, timeout)).await,
            }
            disconnect(conn).await;
        });
        Ok(stream)
    }

    /// The options of a new connection: TLS as `sslmode` says (`plain` drops it, for
    /// `prefer` falling back), never through a local socket the server names.
    fn connect_opts(&self, plain: bool) -> Opts {
        let ssl = match (plain, self.inner.sslmode) {
            (true, _) | (_, SslMode::Disable) => None,
            (false, SslMode::Prefer | SslMode::Require) => Some(
                SslOpts::default()
                    .with_danger_accept_invalid_certs(true)
                    .with_danger_skip_domain_validation(true),
            ),
            (false, SslMode::VerifyFull) => Some(SslOpts::default()),
        };
        OptsBuilder::from_opts(self.inner.opts.clone())
            .prefer_socket(false)
            .ssl_opts(ssl)
            .into()
    }

    /// A new session, set up: UTF-8, UTC, the statement timeout.
    async fn connect(&self) -> Result<Conn> {
        let mut conn = match Conn::new(self.connect_opts(false)).await {
            Ok(conn) => conn,
            Err(mysql_async::Error::Driver(
                mysql_async::DriverError::NoClientSslFlagFromServer,
            )) if self.inner.sslmode == SslMode::Prefer => {
                debug!(target = %self.inner.label, "no TLS offered; plain TCP (sslmode = prefer)");
                Conn::new(self.connect_opts(true))
                    .await
                    .map_err(|e| self.unavailable(&e))?
            }
            Err(error) => return Err(self.unavailable(&error)),
        };
        let mut setup = String::from("SET NAMES utf8mb4, time_zone = '+00:00'");
        if let Some(timeout) = self.inner.statement_timeout {
            // MariaDB and MySQL name the limit differently (seconds and milliseconds).
            let mariadb = conn
                .query_first::<String, _>("SELECT VERSION()")
                .await
                .map_err(|e| self.unavailable(&e))?
                .is_some_and(|version| version.contains("MariaDB"));
            if mariadb {
                setup.push_str(&format!(
                    ", SESSION max_statement_time = {}",
                    timeout.as_secs_f64()
                ));
            } else {
                setup.push_str(&format!(
                    ", SESSION max_execution_time = {}",
                    timeout.as_millis()
                ));
            }
        }
        conn.query_drop(setup)
            .await
            .map_err(|e| self.unavailable(&e))?;
        debug!(target = %self.inner.label, "connected");
        Ok(conn)
    }

    /// Stops the query of session `id` from a second session: the stream was dropped before
    /// its end. Best effort: the query may have ended already.
    async fn kill_query(&self, id: u32) {
        if let Ok(mut conn) = self.connect().await {
            let _ = conn.query_drop(format!("KILL QUERY {id}")).await;
            disconnect(conn).await;
        }
    }

    fn unavailable(&self, error: &mysql_async::Error) -> SourceError {
        SourceError::Unavailable {
            target: self.inner.label.clone(),
            message: connection_message(error, self.inner.sslmode),
        }
    }
}

/// What a model that is not a query is told.
const NOT_A_QUERY: &str = "a model must be a query (SELECT, or WITH … SELECT); optisync never runs a statement that could change the warehouse";

/// Prepares `model`, refusing before it can run a statement that does not start as a query
/// or has no result columns.
async fn prepare(conn: &mut Conn, model: &str) -> Result<mysql_async::Statement> {
    if !starts_as_query(model) {
        return Err(SourceError::Model {
            message: format!("the model does not start with SELECT or WITH: {NOT_A_QUERY}"),
        });
    }
    let statement = conn.prep(model).await.map_err(|e| model_error(&e, None))?;
    if statement.columns().is_empty() {
        let _ = conn.close(statement).await;
        return Err(SourceError::Model {
            message: format!("the model returns no columns: {NOT_A_QUERY}"),
        });
    }
    Ok(statement)
}

/// Ends a session politely; a session that cannot be ended is dropped.
async fn disconnect(conn: Conn) {
    if let Err(error) = conn.disconnect().await {
        debug!(%error, "MySQL session not ended cleanly");
    }
}

/// The reading task's rows, gathered column by column until they make a batch.
struct Reader {
    cells: Vec<CellType>,
    builders: Vec<Cells>,
    columns: Arc<[String]>,
    /// Rows gathered and not yet sent.
    rows: usize,
    /// Rows sent so far.
    sent: u64,
}

impl Reader {
    fn push(&mut self, row: Row) {
        for ((value, cell), builder) in row
            .unwrap_raw()
            .into_iter()
            .zip(&self.cells)
            .zip(&mut self.builders)
        {
            cell.push(value, builder);
        }
        self.rows += 1;
    }

    /// Whether the gathered rows make a batch to hand over.
    fn is_full(&self) -> bool {
        crate::batch::cells_are_full(&self.builders, self.rows)
    }

    /// Sends the gathered rows; false when the engine is gone.
    async fn send(&mut self, sender: &stream::BatchSender) -> bool {
        let cells = self.cells.iter().map(CellType::cells).collect();
        let full = std::mem::replace(&mut self.builders, cells);
        let rows = std::mem::take(&mut self.rows);
        // Every column got one cell per row.
        let batch = Batch::from_cells(Arc::clone(&self.columns), full)
            .unwrap_or_else(|_| Batch::empty(Arc::clone(&self.columns)));
        debug_assert_eq!(batch.len(), rows);
        self.sent += rows as u64;
        if sender.send(batch).await.is_err() {
            debug!(rows = self.sent, "row stream dropped before its end");
            return false;
        }
        true
    }
}

/// An error of the model, explained.
fn model_error(error: &mysql_async::Error, timeout: Option<Duration>) -> SourceError {
    let mysql_async::Error::Server(server) = error else {
        return SourceError::Model {
            message: full_error(error),
        };
    };
    let mut message = format!(
        "{} (error {}, SQLSTATE {})",
        server.message, server.code, server.state
    );
    match server.code {
        // ER_CANT_EXECUTE_IN_READ_ONLY_TRANSACTION
        1792 => message.push_str(
            "; the model tried to change the warehouse: optisync runs every model in a read-only transaction, so a model must only read (SELECT)",
        ),
        // MySQL's max_execution_time, MariaDB's max_statement_time.
        3024 | 1969 => message.push_str(&match timeout {
            Some(t) => format!(
                "; the model ran longer than statement_timeout ({} s); raise statement_timeout under [source] or make the model faster",
                t.as_secs_f64()
            ),
            None => "; the server's time limit stopped the model; set statement_timeout under [source] or make the model faster".to_owned(),
        }),
        _ => {}
    }
    SourceError::Model { message }
}

/// What went wrong connecting, with the fix when it is one the user can make.
fn connection_message(error: &mysql_async::Error, sslmode: SslMode) -> String {
    if let mysql_async::Error::Server(server) = error {
        let fix = match server.code {
            // ER_ACCESS_DENIED_ERROR, ER_DBACCESS_DENIED_ERROR
            1045 => "check the user and password in the connection URL (`url` under [source])",
            1044 => {
                "this user may not use that database; check the user and the database in the URL, or GRANT SELECT on it"
            }
            // ER_BAD_DB_ERROR
            1049 => "check the database name at the end of the URL",
            // ER_CON_COUNT_ERROR, ER_TOO_MANY_USER_CONNECTIONS
            1040 | 1203 => "the server is at its connection limit; try again later",
            // ER_HOST_NOT_PRIVILEGED
            1130 => {
                "the server refused this user from this address; check the user's host in the server's grants"
            }
            _ => "",
        };
        return with_fix(
            &format!(
                "{} (error {}, SQLSTATE {})",
                server.message, server.code, server.state
            ),
            fix,
        );
    }
    let text = full_error(error);
    let no_tls = matches!(
        error,
        mysql_async::Error::Driver(mysql_async::DriverError::NoClientSslFlagFromServer)
    );
    let fix = transport_fix(&text, sslmode, no_tls);
    with_fix(&text, fix)
}

/// Whether the model's first word, after blanks and comments, starts a query: `SELECT`,
/// `WITH`, `VALUES`, `TABLE`, or a parenthesis. MySQL's executable comments (`/*! … */`)
/// are code, not comments, and so are not skipped.
fn starts_as_query(model: &str) -> bool {
    let mut rest = model;
    loop {
        rest = rest.trim_start();
        if let Some(after) = rest.strip_prefix("--").or_else(|| rest.strip_prefix('#')) {
            rest = after.split_once('\n').map_or("", |(_, next)| next);
        } else if rest.starts_with("/*") && !rest.starts_with("/*!") && !rest.starts_with("/*M!") {
            match rest.split_once("*/") {
                Some((_, next)) => rest = next,
                None => return false,
            }
        } else {
            break;
        }
    }
    if rest.starts_with('(') {
        return true;
    }
    let word: String = rest
        .chars()
        .take_while(char::is_ascii_alphabetic)
        .collect::<String>()
        .to_ascii_lowercase();
    matches!(word.as_str(), "select" | "with" | "values" | "table")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_url_never_shows() {
        let config = MysqlConfig {
            url: "mysql://u:hunter2@db:3307/wh".to_owned(),
            sslmode: SslMode::Require,
            statement_timeout: None,
        };
        assert!(!format!("{config:?}").contains("hunter2"));
        let source = MysqlSource::new(&config).unwrap();
        assert_eq!(source.inner.label, "MySQL at db:3307/wh as u");
        assert!(!format!("{source:?}").contains("hunter2"));
        let bad = MysqlConfig {
            url: "mysql://u:hunter2@db:notaport/wh".to_owned(),
            ..config
        };
        let error = MysqlSource::new(&bad).unwrap_err().to_string();
        assert!(!error.contains("hunter2"), "{error}");
        assert!(error.contains("not valid"), "{error}");
    }

    #[test]
    fn only_a_query_may_be_a_model() {
        for query in [
            "select 1",
            "  SELECT 1",
            "with x as (select 1) select * from x",
            "-- a comment\nselect 1",
            "# a comment\n/* another */ select 1",
            "(select 1) union (select 2)",
            "values (1)",
        ] {
            assert!(starts_as_query(query), "{query}");
        }
        for other in [
            "insert into t values (1)",
            "delete from t",
            "drop table t",
            "/*!50000 drop table t */",
            "/* unclosed",
            "-- only a comment",
            "call p()",
            "set @a = 1",
            "selectx",
        ] {
            assert!(!starts_as_query(other), "{other}");
        }
    }
}
