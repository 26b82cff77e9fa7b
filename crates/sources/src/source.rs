//! [`Source`]: the one type the engine holds for "where rows come from", whichever warehouse
//! the config names.
//!
//! Why an enum and not a trait object: the set of warehouses is closed and chosen at compile
//! time (one cargo feature each), and the operations are async. An enum needs no boxing and
//! no `async_trait`, keeps `Source` `Clone + Send + Sync` for free, and makes adding a
//! warehouse a compile-checked change: every `match` below must learn the new variant. Each
//! variant's type offers the same three operations with the same meaning:
//!
//! - `check`: the warehouse is reachable.
//! - `describe(model)`: the model's columns and types, without computing rows.
//! - `stream(model)`: the model's rows as a bounded [`RowStream`].
//!
//! DuckDB's calls block, so they run on tokio's blocking pool; Postgres's client is async,
//! so its calls are awaited directly and a task feeds its [`RowStream`].

use crate::column::Column;
use crate::error::Result;
#[cfg(feature = "duckdb")]
use crate::error::SourceError;
use crate::stream::RowStream;

#[cfg(feature = "duckdb")]
use crate::duckdb::{DuckDbConfig, DuckDbSource};
#[cfg(feature = "memory")]
use crate::memory::MemorySource;
#[cfg(feature = "mysql")]
use crate::mysql::{MysqlConfig, MysqlSource};
#[cfg(feature = "postgres")]
use crate::postgres::{PostgresConfig, PostgresSource};
#[cfg(feature = "snowflake")]
use crate::snowflake::{SnowflakeConfig, SnowflakeSource};

/// A warehouse that runs models. Cheap to clone; clones share the open database.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub enum Source {
    /// The embedded DuckDB.
    #[cfg(feature = "duckdb")]
    DuckDb(DuckDbSource),
    /// A PostgreSQL or Redshift server.
    #[cfg(feature = "postgres")]
    Postgres(PostgresSource),
    /// A MySQL or MariaDB server.
    #[cfg(feature = "mysql")]
    Mysql(MysqlSource),
    /// A Snowflake account.
    #[cfg(feature = "snowflake")]
    Snowflake(SnowflakeSource),
    /// Tables held in memory, for tests of the engine.
    #[cfg(feature = "memory")]
    Memory(MemorySource),
}

impl Source {
    /// Opens a DuckDB source (see [`DuckDbSource::open`]). Blocking, but brief: it opens a
    /// file or creates an empty in-memory database.
    #[cfg(feature = "duckdb")]
    pub fn duckdb(config: &DuckDbConfig) -> Result<Self> {
        DuckDbSource::open(config).map(Source::DuckDb)
    }

    /// A Postgres source (see [`PostgresSource::new`]): checks the URL, connects when used.
    #[cfg(feature = "postgres")]
    pub fn postgres(config: &PostgresConfig) -> Result<Self> {
        PostgresSource::new(config).map(Source::Postgres)
    }

    /// A MySQL or MariaDB source (see [`MysqlSource::new`]): checks the URL, connects when
    /// used.
    #[cfg(feature = "mysql")]
    pub fn mysql(config: &MysqlConfig) -> Result<Self> {
        MysqlSource::new(config).map(Source::Mysql)
    }

    /// A Snowflake source (see [`SnowflakeSource::new`]): checks the settings, connects
    /// when used.
    #[cfg(feature = "snowflake")]
    pub fn snowflake(config: &SnowflakeConfig) -> Result<Self> {
        SnowflakeSource::new(config).map(Source::Snowflake)
    }

    /// The warehouse's kind as written in the config (`duckdb`, `postgres`, `redshift`,
    /// `mysql`).
    pub fn kind(&self) -> &'static str {
        match *self {
            #[cfg(feature = "duckdb")]
            Source::DuckDb(_) => "duckdb",
            #[cfg(feature = "postgres")]
            Source::Postgres(ref source) => source.kind(),
            #[cfg(feature = "mysql")]
            Source::Mysql(_) => "mysql",
            #[cfg(feature = "snowflake")]
            Source::Snowflake(_) => "snowflake",
            #[cfg(feature = "memory")]
            Source::Memory(_) => "memory",
        }
    }

    /// Gives the warehouse up without closing it, for a process about to exit, when closing
    /// would only free memory (see `DuckDbSource::leave_to_exit`); a source with something
    /// to close (a DuckDB that spilled, a session with a server) is handed back.
    pub fn leave_to_exit(self) -> std::result::Result<(), Self> {
        match self {
            #[cfg(feature = "duckdb")]
            Source::DuckDb(source) => source.leave_to_exit().map_err(Source::DuckDb),
            #[allow(unreachable_patterns)]
            other => Err(other),
        }
    }

    /// Checks that the warehouse is reachable and answers a query.
    pub async fn check(&self) -> Result<()> {
        match *self {
            #[cfg(feature = "duckdb")]
            Source::DuckDb(ref source) => {
                let source = source.clone();
                blocking(move || source.check()).await
            }
            #[cfg(feature = "postgres")]
            Source::Postgres(ref source) => source.check().await,
            #[cfg(feature = "mysql")]
            Source::Mysql(ref source) => source.check().await,
            #[cfg(feature = "snowflake")]
            Source::Snowflake(ref source) => source.check().await,
            #[cfg(feature = "memory")]
            Source::Memory(ref source) => source.check(),
        }
    }

    /// The model's columns, names and types, without running it (for `validate`: mappings
    /// are checked against these).
    pub async fn describe(&self, model: &str) -> Result<Vec<Column>> {
        match *self {
            #[cfg(feature = "duckdb")]
            Source::DuckDb(ref source) => {
                let (source, model) = (source.clone(), model.to_owned());
                blocking(move || source.describe(&model)).await
            }
            #[cfg(feature = "postgres")]
            Source::Postgres(ref source) => source.describe(model).await,
            #[cfg(feature = "mysql")]
            Source::Mysql(ref source) => source.describe(model).await,
            #[cfg(feature = "snowflake")]
            Source::Snowflake(ref source) => source.describe(model).await,
            #[cfg(feature = "memory")]
            Source::Memory(ref source) => source.describe(model),
        }
    }

    /// Runs the model and streams its rows. Errors in the model itself are returned here;
    /// errors that appear while reading end the stream.
    pub async fn stream(&self, model: &str) -> Result<RowStream> {
        match *self {
            #[cfg(feature = "duckdb")]
            Source::DuckDb(ref source) => {
                let (source, model) = (source.clone(), model.to_owned());
                blocking(move || source.stream(&model)).await
            }
            #[cfg(feature = "postgres")]
            Source::Postgres(ref source) => source.stream(model).await,
            #[cfg(feature = "mysql")]
            Source::Mysql(ref source) => source.stream(model).await,
            #[cfg(feature = "snowflake")]
            Source::Snowflake(ref source) => source.stream(model).await,
            #[cfg(feature = "memory")]
            Source::Memory(ref source) => source.stream(model),
        }
    }
}

/// Runs blocking warehouse work on tokio's blocking pool.
#[cfg(feature = "duckdb")]
async fn blocking<T: Send + 'static>(
    work: impl FnOnce() -> Result<T> + Send + 'static,
) -> Result<T> {
    tokio::task::spawn_blocking(work)
        .await
        .unwrap_or_else(|_| Err(SourceError::ReaderLost))
}
