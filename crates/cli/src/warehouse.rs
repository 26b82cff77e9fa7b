//! Opening the warehouse the config's `[source]` table names, for every verb that reads
//! models (`validate`, `check`, `plan`, `sync`, `demo`).

use optisync_sources::{
    DuckDbConfig, MysqlConfig, PostgresConfig, SnowflakeAuth, SnowflakeConfig, Source,
};

use crate::config::{Config, SecretKind, SnowflakeCredential, Warehouse, resolve_secret};
use crate::error::ConfigError;

/// Opens the configured source. A config without `[source]` means the embedded in-memory
/// DuckDB, whose models read files relative to the config file's folder.
pub fn open(config: &Config) -> Result<Source, ConfigError> {
    let base_dir = config
        .path
        .parent()
        .map(std::path::Path::to_path_buf)
        .unwrap_or_default();
    match &config.source {
        None => open_duckdb(None, base_dir),
        Some(Warehouse::DuckDb { path }) => open_duckdb(path.clone(), base_dir),
        Some(Warehouse::Snowflake(snowflake)) => {
            let (kind, secret) = &snowflake.credential;
            let auth = match kind {
                SnowflakeCredential::Password => {
                    SnowflakeAuth::Password(resolve_secret(secret, SecretKind::WarehousePassword)?)
                }
                SnowflakeCredential::PrivateKey => {
                    SnowflakeAuth::KeyPair(resolve_secret(secret, SecretKind::WarehouseKey)?)
                }
            };
            let config = SnowflakeConfig {
                account: snowflake.account.clone(),
                user: snowflake.user.clone(),
                auth,
                warehouse: snowflake.warehouse.clone(),
                role: snowflake.role.clone(),
                database: snowflake.database.clone(),
                schema: snowflake.schema.clone(),
                url: snowflake.url.clone(),
                statement_timeout: snowflake.statement_timeout,
            };
            Source::snowflake(&config).map_err(|e| ConfigError::Invalid(format!("[source]: {e}")))
        }
        Some(Warehouse::Mysql(mysql)) => {
            let config = MysqlConfig {
                url: resolve_secret(&mysql.url, SecretKind::WarehouseUrl)?,
                sslmode: mysql.sslmode,
                statement_timeout: mysql.statement_timeout,
            };
            Source::mysql(&config).map_err(|e| ConfigError::Invalid(format!("[source]: {e}")))
        }
        Some(Warehouse::Postgres {
            server,
            url,
            sslmode,
            statement_timeout,
            application_name,
        }) => {
            let invalid = |e: String| ConfigError::Invalid(format!("[source]: {e}"));
            let config = PostgresConfig {
                url: resolve_secret(url, SecretKind::WarehouseUrl)?,
                sslmode: *sslmode,
                statement_timeout: *statement_timeout,
                application_name: application_name.clone(),
                server: *server,
            };
            Source::postgres(&config).map_err(|e| invalid(e.to_string()))
        }
    }
}

fn open_duckdb(
    path: Option<std::path::PathBuf>,
    base_dir: std::path::PathBuf,
) -> Result<Source, ConfigError> {
    Source::duckdb(&DuckDbConfig { path, base_dir })
        .map_err(|e| ConfigError::Invalid(format!("[source]: {e}")))
}
