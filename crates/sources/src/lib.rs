//! Sources of optisync: where a sync's rows come from. A source runs a sync's model (a SQL
//! query) on a warehouse and hands its rows to the engine as typed
//! [`Record`](optisync_core::Record)s, in bounded batches, so that memory stays flat however
//! large the model is.
//!
//! Crate map:
//!
//! - [`source`] holds [`Source`], the warehouse the config names, with `check`, `describe` and
//!   `stream`, and why it is an enum.
//! - [`stream`] holds [`RowStream`], the bounded stream of [`Batch`]es (rows held column by
//!   column), usable from async and blocking code.
//! - [`column`](mod@column) holds [`Column`] and [`ColumnKind`]: what `describe` reports.
//! - `duckdb` (feature `duckdb`, on by default) holds [`DuckDbSource`] and [`DuckDbConfig`], a
//!   read-only `.duckdb` file or an in-memory DuckDB reading CSV / Parquet / JSON files; its
//!   module docs hold the table of how each DuckDB type becomes a
//!   [`Value`](optisync_core::Value).
//! - `postgres` (feature `postgres`, on by default) holds [`PostgresSource`] and
//!   [`PostgresConfig`]: models run in a read-only transaction and stream through `COPY`
//!   (PostgreSQL) or a cursor (Redshift, [`Server`]); its
//!   module docs hold the table of how each Postgres type becomes a
//!   [`Value`](optisync_core::Value).
//! - `mysql` (feature `mysql`, on by default) holds [`MysqlSource`] and [`MysqlConfig`]:
//!   MySQL and MariaDB, models prepared first, run in a read-only transaction and streamed;
//!   its module docs hold the table of types.
//! - [`error`] holds [`SourceError`].

// Built without any warehouse feature, the crate is only its types: the plumbing that the
// warehouses share is then unused.
#![cfg_attr(
    not(any(
        feature = "duckdb",
        feature = "postgres",
        feature = "mysql",
        feature = "snowflake"
    )),
    allow(dead_code, unused_variables)
)]

pub mod batch;
pub mod column;
#[cfg(any(feature = "postgres", feature = "mysql", feature = "snowflake"))]
mod decimal;
#[cfg(feature = "duckdb")]
pub mod duckdb;
pub mod error;
#[cfg(feature = "memory")]
pub mod memory;
#[cfg(feature = "mysql")]
pub mod mysql;
#[cfg(feature = "postgres")]
pub mod postgres;
#[cfg(any(feature = "postgres", feature = "mysql", feature = "snowflake"))]
mod server;
#[cfg(feature = "snowflake")]
pub mod snowflake;
pub mod source;
pub mod ssl_mode;
pub mod stream;

pub use batch::{Batch, Cells, Records, Texts};
pub use column::{Column, ColumnKind};
#[cfg(feature = "duckdb")]
pub use duckdb::{DuckDbConfig, DuckDbSource};
pub use error::{Result, SourceError};
#[cfg(feature = "memory")]
pub use memory::MemorySource;
#[cfg(feature = "mysql")]
pub use mysql::{MysqlConfig, MysqlSource};
#[cfg(feature = "postgres")]
pub use postgres::{DEFAULT_FETCH_ROWS, MAX_FETCH_ROWS, PostgresConfig, PostgresSource, Server};
#[cfg(feature = "snowflake")]
pub use snowflake::{SnowflakeAuth, SnowflakeConfig, SnowflakeSource};
pub use source::Source;
pub use ssl_mode::SslMode;
pub use stream::{BATCH_BYTES, BATCH_ROWS, QUEUED_BATCHES, RowStream};
