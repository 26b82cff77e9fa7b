//! The `optisync.toml` file: raw serde types (`*Config`, `deny_unknown_fields`), loading, and
//! validation into plain types that the rest of the program uses.
//!
//! Secrets are never written in the file: a secret is a reference (`{ env = "NAME" }` or
//! `{ file = "PATH" }`) resolved at run time into a redacting [`ApiToken`]. No message quotes
//! a value from the file that may be a secret (`syntax` for parse errors, `secret` for
//! references); every number is range-checked (`duration` for durations).

mod duration;
mod secret;
mod sync;
mod syntax;

pub use duration::{DurationRange, REQUEST_TIMEOUT, STATEMENT_TIMEOUT, parse_duration};
pub use secret::{MAX_SECRET_FILE, SecretKind};
pub use sync::Sync;

use std::collections::BTreeMap;
use std::fmt;
use std::path::{Path, PathBuf};

use optisync_optimizely::{ApiToken, DEFAULT_API_URL, RateLimit, validate_api_url};
use schemars::JsonSchema;
use serde::Deserialize;
use url::Url;

use crate::error::{CliError, ConfigError};

/// The file as written by the user.
#[derive(Debug, Clone, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct FileConfig {
    /// Where and as whom to talk to Optimizely.
    pub optimizely: OptimizelyConfig,
    /// The warehouse the models run on.
    pub source: Option<SourceConfig>,
    /// The syncs, in the order they run.
    #[serde(default, rename = "sync")]
    pub syncs: Vec<SyncConfig>,
    /// Where state lives; defaults to `.optisync/` beside the config file.
    pub state_dir: Option<PathBuf>,
    /// `optisync serve`: its address, API token and stop grace period.
    pub serve: Option<ServeConfig>,
    /// Optimizely Data Platform, for `odp_attribute` syncs: its private key and region.
    pub odp: Option<OdpConfig>,
}

/// The `[odp]` table.
#[derive(Debug, Clone, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct OdpConfig {
    /// Where ODP's private API key is read from (ODP: Settings > APIs).
    pub private_key: SecretConfig,
    /// `"us"`, `"eu"` or `"au"`; default: the key's (a `-eu1` or `-au1` suffix), else `"us"`.
    pub region: Option<String>,
    /// Only for the fake server or a proxy (ends in `/v3`); https is required except on
    /// loopback.
    pub api_url: Option<String>,
    /// Overrides the Profiles API's 10 requests a second.
    pub rate_limit: Option<RateLimitConfig>,
    /// How long one request may take before it counts as failed, e.g. `"30s"` (the default).
    pub timeout: Option<String>,
}

/// The `[serve]` table.
#[derive(Debug, Clone, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ServeConfig {
    /// `"127.0.0.1:8080"` (the default); `--bind` overrides it. Binding anything but
    /// loopback requires `api_token`.
    pub bind: Option<String>,
    /// The bearer token the API's mutating endpoints (trigger, pause, resume) require, from
    /// the environment or a file; without it they are disabled.
    pub api_token: Option<SecretConfig>,
    /// Whether read endpoints (`/api/...`) require the token too; default: only when bound
    /// to anything but loopback.
    pub reads_need_token: Option<bool>,
    /// How long a stop (SIGTERM, SIGINT) waits for runs in flight before stopping them at
    /// their next safe point, e.g. `"25s"` (the default).
    pub grace_period: Option<String>,
    /// Webhooks that get an alert when a sync's health changes.
    #[serde(default)]
    pub alerts: Vec<AlertConfig>,
    /// A run rejecting more rows than this raises an alert; off when left out.
    pub alert_rejected_rows_over: Option<u64>,
    /// No successful run for this many intervals of a sync's schedule raises an alert
    /// (default 3; 0 turns it off).
    pub alert_stale_after_intervals: Option<u32>,
}

/// One webhook of `[serve] alerts`.
#[derive(Debug, Clone, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct AlertConfig {
    /// The webhook URL, from the environment or a file (Slack's URLs are secrets); a Slack
    /// incoming-webhook URL gets Slack's format.
    pub url: SecretConfig,
    /// The key alerts are signed with (HMAC-SHA256, header `X-Optisync-Signature`), from the
    /// environment or a file; unsigned without one.
    pub secret: Option<SecretConfig>,
}

/// A sync's `schedule`: a cron expression (UTC), `"manual"`, or a table.
#[derive(Debug, Clone, Deserialize, JsonSchema)]
#[serde(untagged)]
pub enum ScheduleConfig {
    /// `"*/15 * * * *"` (read in UTC) or `"manual"` (runs only when triggered).
    Text(String),
    /// `{ cron = "0 6 * * *", tz = "Europe/Berlin" }` or `{ every = "10min" }`.
    Table(ScheduleTable),
}

/// `schedule = { … }`.
#[derive(Debug, Clone, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ScheduleTable {
    /// A cron expression: five fields, or a nickname such as `@hourly`.
    pub cron: Option<String>,
    /// The IANA time zone the cron expression is read in (default UTC).
    pub tz: Option<String>,
    /// An interval, counted from the start of the previous run, e.g. `"10min"`.
    pub every: Option<String>,
}

/// The `[optimizely]` table.
#[derive(Debug, Clone, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct OptimizelyConfig {
    /// The numeric project id, or a pasted project URL.
    pub project_id: ProjectIdConfig,
    /// Where the personal access token is read from.
    pub token: SecretConfig,
    /// Only for the fake server or a proxy; https is required except on loopback.
    pub api_url: Option<String>,
    /// Overrides the rate limit chosen from the project's product.
    pub rate_limit: Option<RateLimitConfig>,
    /// How long one request may take before it counts as failed, e.g. `"30s"` (the default).
    pub timeout: Option<String>,
    /// `"http://HOST:PORT"`: the proxy https requests are tunnelled through (CONNECT), instead
    /// of `HTTPS_PROXY` / `ALL_PROXY`; `"none"`: never a proxy. `NO_PROXY` is respected, and
    /// a loopback api_url never uses a proxy. May hold credentials: it is never printed.
    pub proxy: Option<String>,
}

/// A project id as written: a number, or a string holding a number or a project URL.
#[derive(Debug, Clone, Deserialize, JsonSchema)]
#[serde(untagged)]
pub enum ProjectIdConfig {
    /// `project_id = 12345678901`
    Number(i64),
    /// `project_id = "12345678901"` or `"https://app.optimizely.com/v2/projects/12345678901/..."`
    Text(String),
}

/// Where a secret is read from.
#[derive(Clone, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "lowercase")]
pub enum SecretConfig {
    /// The name of an environment variable.
    Env(String),
    /// A file whose content (trimmed) is the secret.
    File(PathBuf),
}

impl fmt::Debug for SecretConfig {
    // The reference is not secret, but print it in the same shape users write it.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Env(name) => write!(f, "{{ env = {name:?} }}"),
            Self::File(path) => write!(f, "{{ file = {:?} }}", path.display()),
        }
    }
}

impl SecretConfig {
    /// A relative secret file is read relative to the config file's directory, so the
    /// config means the same whatever the working directory.
    fn relative_to(self, base: &Path) -> Self {
        match self {
            Self::File(path) if path.is_relative() => Self::File(base.join(path)),
            other => other,
        }
    }
}

/// `rate_limit = { per_second = 2, per_minute = 120 }`
#[derive(Debug, Clone, Copy, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct RateLimitConfig {
    /// Requests per second; omit for no per-second quota.
    pub per_second: Option<u32>,
    /// Requests per minute; omit for no per-minute quota.
    pub per_minute: Option<u32>,
}

/// The `[source]` table.
#[derive(Debug, Clone, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields, tag = "type", rename_all = "lowercase")]
pub enum SourceConfig {
    /// The embedded warehouse: a `.duckdb` file, or in-memory DuckDB reading files in SQL.
    Duckdb {
        /// The database file; omit for an in-memory database.
        path: Option<PathBuf>,
    },
    /// A PostgreSQL server.
    Postgres {
        /// The connection URL (`postgres://USER:PASSWORD@HOST:PORT/DATABASE`), from the
        /// environment or a file.
        url: SecretConfig,
        /// `disable`, `prefer` (default), `require` or `verify-full`.
        sslmode: Option<String>,
        /// e.g. `"30s"`, `"5min"`, `"1h"`; a model running longer is cancelled.
        statement_timeout: Option<String>,
        /// Shown in the server's `pg_stat_activity`; default `optisync`.
        application_name: Option<String>,
    },
    /// A MySQL or MariaDB server.
    Mysql {
        /// The connection URL (`mysql://USER:PASSWORD@HOST:3306/DATABASE`), from the
        /// environment or a file.
        url: SecretConfig,
        /// `disable`, `prefer` (default), `require` or `verify-full`.
        sslmode: Option<String>,
        /// e.g. `"30s"`, `"5min"`, `"1h"`; a model running longer is stopped.
        statement_timeout: Option<String>,
    },
    /// A Snowflake account, through its REST protocol.
    Snowflake {
        /// The account identifier: `orgname-accountname`, or a locator such as
        /// `xy12345.eu-west-1`.
        account: String,
        /// The login name.
        user: String,
        /// The password, from the environment or a file; or give `private_key`.
        password: Option<SecretConfig>,
        /// An RSA private key (PKCS#8 PEM) whose public key is set on the user, from a file
        /// or the environment; or give `password`.
        private_key: Option<SecretConfig>,
        /// The warehouse that runs the models.
        warehouse: Option<String>,
        /// The role to use.
        role: Option<String>,
        /// The database unqualified names resolve in.
        database: Option<String>,
        /// The schema unqualified names resolve in.
        schema: Option<String>,
        /// `https://ACCOUNT.snowflakecomputing.com` unless given (a private link; plain
        /// `http://` only on this machine, for an emulator).
        url: Option<String>,
        /// e.g. `"30s"`, `"5min"`, `"1h"`; a model running longer is cancelled.
        statement_timeout: Option<String>,
    },
    /// An Amazon Redshift cluster or Serverless workgroup: the PostgreSQL protocol, rows read
    /// through a cursor.
    Redshift {
        /// The connection URL (`postgres://USER:PASSWORD@HOST:5439/DATABASE`), from the
        /// environment or a file.
        url: SecretConfig,
        /// `disable`, `prefer` (default), `require` or `verify-full`.
        sslmode: Option<String>,
        /// e.g. `"30s"`, `"5min"`, `"1h"`; a model running longer is cancelled.
        statement_timeout: Option<String>,
        /// Shown in the server's session views; default `optisync`.
        application_name: Option<String>,
        /// Rows per `FETCH` from the cursor: 1 to 100000, default 1000 (the most a
        /// single-node cluster allows).
        fetch_rows: Option<u32>,
    },
}

/// An `object` name of the config: one of the registered object types, checked when the
/// file is read (an unknown one is reported with its position, never its text).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ObjectName(pub &'static str);

/// A `mode` name of the config, checked like [`ObjectName`]; whether the object takes it is
/// checked once both are known.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ModeName(pub &'static str);

fn closed_name<'de, D: serde::Deserializer<'de>>(
    deserializer: D,
    names: &'static [&'static str],
) -> Result<&'static str, D::Error> {
    let given = String::deserialize(deserializer)?;
    names
        .iter()
        .copied()
        .find(|n| *n == given)
        .ok_or_else(|| serde::de::Error::unknown_variant(&given, names))
}

impl<'de> Deserialize<'de> for ObjectName {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        closed_name(deserializer, &optisync_core::kind::OBJECT_NAMES).map(ObjectName)
    }
}

impl<'de> Deserialize<'de> for ModeName {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        closed_name(deserializer, &optisync_core::kind::MODE_NAMES).map(ModeName)
    }
}

fn string_enum(names: &[&'static str]) -> schemars::Schema {
    schemars::json_schema!({ "type": "string", "enum": names })
}

impl JsonSchema for ObjectName {
    fn schema_name() -> std::borrow::Cow<'static, str> {
        "ObjectName".into()
    }
    fn json_schema(_: &mut schemars::SchemaGenerator) -> schemars::Schema {
        string_enum(&optisync_core::kind::OBJECT_NAMES)
    }
}

impl JsonSchema for ModeName {
    fn schema_name() -> std::borrow::Cow<'static, str> {
        "ModeName".into()
    }
    fn json_schema(_: &mut schemars::SchemaGenerator) -> schemars::Schema {
        string_enum(&optisync_core::kind::MODE_NAMES)
    }
}

/// One `[[sync]]` table.
#[derive(Debug, Clone, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct SyncConfig {
    /// Unique name, used on the command line and in state.
    pub name: String,
    /// `list_attribute`, `audience`, `attribute`, `custom_event` or `odp_attribute`.
    pub object: ObjectName,
    /// `add`, `remove`, `mirror` (lists, ODP attributes) or `upsert`, `insert` (definitions).
    pub mode: ModeName,
    /// The SQL query run on the source.
    pub model: String,
    /// Destination field → model column.
    #[serde(default)]
    pub mapping: BTreeMap<String, String>,
    /// Model columns identifying a row; lists default to the `user_id` mapping.
    pub primary_key: Option<Vec<String>>,
    /// Target setting of list-attribute syncs.
    pub list_attribute_id: Option<i64>,
    /// Target setting of audience syncs: a fixed name or a `{column}` template.
    pub audience_name: Option<String>,
    /// Lets ids that look like e-mail addresses or phone numbers into a list.
    #[serde(default)]
    pub allow_pii: bool,
    /// Mirror/remove runs removing more than this share of the list are blocked.
    pub max_removal_percent: Option<f64>,
    /// Audience, attribute and custom-event runs creating more objects than this (default
    /// 1000) are blocked; `--allow-many-creates` lets one run through.
    pub max_creates: Option<u64>,
    /// ODP-attribute syncs: the ODP identifier the model's `user_id` is sent as (default
    /// `fs_user_id`, what Feature Experimentation's SDKs look users up by; `vuid`, `email`, …).
    pub identifier: Option<String>,
    /// ODP-attribute syncs: the customer field written (e.g. `in_beta`, a boolean field).
    pub field: Option<String>,
    /// When `serve` runs it: `"*/15 * * * *"` (UTC), `{ cron = "…", tz = "Europe/Berlin" }`,
    /// `{ every = "10min" }` or `"manual"` (the default: only when triggered).
    pub schedule: Option<ScheduleConfig>,
    /// `serve` also runs it after each successful dbt run of these models:
    /// `{ dbt_run_results = "target/run_results.json", models = ["beta_testers"] }`.
    pub after: Option<AfterConfig>,
}

/// A sync's `after` table.
#[derive(Debug, Clone, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct AfterConfig {
    /// dbt's `run_results.json` (relative to the config file's folder if written so).
    pub dbt_run_results: PathBuf,
    /// The models (names or unique ids) whose successful run triggers the sync.
    pub models: Vec<String>,
}

/// A validated, resolved `[optimizely]` table.
#[derive(Debug, Clone)]
pub struct Optimizely {
    /// The numeric project id.
    pub project_id: i64,
    /// The token reference, resolved on demand by [`Optimizely::token`].
    pub token: SecretConfig,
    /// The API base URL (ends in `/v2`).
    pub api_url: Url,
    /// A user override of the rate limit.
    pub rate_limit: Option<RateLimit>,
    /// A user override of the per-request timeout.
    pub timeout: Option<std::time::Duration>,
    /// Which proxy the client may use (`proxy`, default: the environment's https proxy).
    pub proxy: optisync_optimizely::ProxyPolicy,
}

/// The validated `[source]` table: every value parsed once, when the config is read.
#[derive(Debug, Clone)]
pub enum Warehouse {
    /// The embedded DuckDB: a `.duckdb` file, or in memory (`None`) over files the models read.
    DuckDb {
        /// The database file, relative to the config's folder if written so.
        path: Option<PathBuf>,
    },
    /// A MySQL or MariaDB server.
    Mysql(MysqlWarehouse),
    /// A Snowflake account.
    Snowflake(SnowflakeWarehouse),
    /// A PostgreSQL or Redshift server.
    Postgres {
        /// Which one: how rows are read.
        server: optisync_sources::Server,
        /// The connection URL's reference (it holds a password: resolved only when opened).
        url: SecretConfig,
        /// TLS mode.
        sslmode: optisync_sources::SslMode,
        /// The longest a model may run.
        statement_timeout: Option<std::time::Duration>,
        /// Shown in the server's `pg_stat_activity`.
        application_name: String,
    },
}

/// The validated `[source]` of a Snowflake account.
#[derive(Debug, Clone)]
pub struct SnowflakeWarehouse {
    /// The account identifier.
    pub account: String,
    /// The login name.
    pub user: String,
    /// The credential's reference: a password, or a private key (resolved only when opened).
    pub credential: (SnowflakeCredential, SecretConfig),
    /// Warehouse, role, database, schema.
    pub warehouse: Option<String>,
    /// See `warehouse`.
    pub role: Option<String>,
    /// See `warehouse`.
    pub database: Option<String>,
    /// See `warehouse`.
    pub schema: Option<String>,
    /// The service's URL, when not the account's.
    pub url: Option<String>,
    /// The longest a model may run.
    pub statement_timeout: Option<std::time::Duration>,
}

/// Which credential a Snowflake source signs in with.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SnowflakeCredential {
    /// `password`.
    Password,
    /// `private_key`.
    PrivateKey,
}

/// The validated `[source]` of a MySQL or MariaDB server.
#[derive(Debug, Clone)]
pub struct MysqlWarehouse {
    /// The connection URL's reference (it holds a password: resolved only when opened).
    pub url: SecretConfig,
    /// TLS mode.
    pub sslmode: optisync_sources::SslMode,
    /// The longest a model may run.
    pub statement_timeout: Option<std::time::Duration>,
}

/// The validated configuration.
#[derive(Debug, Clone)]
pub struct Config {
    /// Where the file was read from.
    pub path: PathBuf,
    /// The Optimizely side.
    pub optimizely: Optimizely,
    /// The warehouse; `None` means the embedded in-memory DuckDB.
    pub source: Option<Warehouse>,
    /// The syncs, in the order they run.
    pub syncs: Vec<Sync>,
    /// The state directory.
    pub state_dir: PathBuf,
    /// `optisync serve`'s settings.
    pub serve: Serve,
    /// Optimizely Data Platform, when the config has an `[odp]` table.
    pub odp: Option<Odp>,
}

/// ODP's region: which host its API is on (docs/ODP-API.md#1-hosts-base-path-keys).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OdpRegion {
    /// `https://api.zaius.com/v3`.
    Us,
    /// `https://api.eu1.odp.optimizely.com/v3`.
    Eu,
    /// `https://api.au1.odp.optimizely.com/v3`.
    Au,
}

impl OdpRegion {
    /// The API's base URL in this region.
    pub fn api_url(self) -> &'static str {
        match self {
            OdpRegion::Us => optisync_optimizely::DEFAULT_ODP_API_URL,
            OdpRegion::Eu => "https://api.eu1.odp.optimizely.com/v3",
            OdpRegion::Au => "https://api.au1.odp.optimizely.com/v3",
        }
    }

    /// The region a key belongs to: ODP's keys carry `-eu1` or `-au1` in their public part
    /// outside the US (docs/ODP-API.md#1-hosts-base-path-keys).
    pub fn of_key(key: &str) -> OdpRegion {
        let public = key.rsplit_once('.').map_or(key, |(public, _)| public);
        if public.ends_with("-eu1") {
            OdpRegion::Eu
        } else if public.ends_with("-au1") {
            OdpRegion::Au
        } else {
            OdpRegion::Us
        }
    }
}

/// A validated `[odp]` table.
#[derive(Debug, Clone)]
pub struct Odp {
    /// The private key's reference, resolved on demand.
    pub private_key: SecretConfig,
    /// The region, when the config names it (else the key's).
    pub region: Option<OdpRegion>,
    /// An api_url override.
    pub api_url: Option<Url>,
    /// A rate limit override.
    pub rate_limit: Option<RateLimit>,
    /// A timeout override.
    pub timeout: Option<std::time::Duration>,
}

impl Odp {
    /// The private key, read from where the config says.
    pub fn key(&self) -> Result<ApiToken, ConfigError> {
        resolve_secret(&self.private_key, SecretKind::OdpKey).map(ApiToken::new)
    }

    /// The API's base URL for `key`: the override, the configured region's, or the key's.
    pub fn api_url_for(&self, key: &ApiToken) -> Url {
        if let Some(url) = &self.api_url {
            return url.clone();
        }
        let region = self
            .region
            .unwrap_or_else(|| OdpRegion::of_key(key.expose()));
        // A constant that parses: a failure here is a bug caught by the unit tests.
        Url::parse(region.api_url()).expect("the region URLs are valid URLs")
    }
}

/// The validated `[serve]` table.
#[derive(Debug, Clone)]
pub struct Serve {
    /// The address to listen on, when the config sets one.
    pub bind: Option<std::net::SocketAddr>,
    /// The API token's reference, resolved when `serve` starts.
    pub api_token: Option<SecretConfig>,
    /// Whether read endpoints require the token (`None`: only off loopback).
    pub reads_need_token: Option<bool>,
    /// How long a stop waits for runs in flight.
    pub grace_period: std::time::Duration,
    /// Alert webhooks: URL and signing key references, resolved when `serve` starts.
    pub alerts: Vec<(SecretConfig, Option<SecretConfig>)>,
    /// A run rejecting more rows than this raises an alert.
    pub alert_rejected_rows_over: Option<u64>,
    /// No success for this many intervals raises an alert (0: never).
    pub alert_stale_after_intervals: u32,
}

/// `[serve] grace_period`: from 0 s (stop runs at their next safe point at once) to 1 hour.
pub const GRACE_PERIOD: DurationRange = DurationRange {
    min: std::time::Duration::ZERO,
    max: std::time::Duration::from_secs(3600),
};

/// A sync's `schedule = { every = … }`: from 1 s to 366 days.
pub const SCHEDULE_INTERVAL: DurationRange = DurationRange {
    min: optisync_serve::schedule::MIN_INTERVAL,
    max: optisync_serve::schedule::MAX_INTERVAL,
};

/// The default `[serve] alert_stale_after_intervals`.
pub const DEFAULT_STALE_AFTER_INTERVALS: u32 = 3;

/// The default `[serve] grace_period`: under the 30 s most supervisors (systemd,
/// Kubernetes) wait before they kill.
pub const DEFAULT_GRACE_PERIOD: std::time::Duration = std::time::Duration::from_secs(25);

/// The largest config file read: models are SQL text, and a few hundred of them fit.
pub const MAX_CONFIG_FILE: u64 = 4 * 1024 * 1024;

impl Config {
    /// Reads and validates the file at `path`, reading at most [`MAX_CONFIG_FILE`] bytes.
    pub fn load(path: &Path) -> Result<Self, ConfigError> {
        use std::io::Read;
        let read_error = |source| ConfigError::Read {
            path: path.to_path_buf(),
            source,
        };
        let mut bytes = Vec::new();
        std::fs::File::open(path)
            .and_then(|file| file.take(MAX_CONFIG_FILE + 1).read_to_end(&mut bytes))
            .map_err(read_error)?;
        if bytes.len() as u64 > MAX_CONFIG_FILE {
            return Err(ConfigError::Invalid(format!(
                "{} is larger than {} MiB; check that --config names the config file",
                path.display(),
                MAX_CONFIG_FILE / 1024 / 1024
            )));
        }
        let text = String::from_utf8(bytes).map_err(|e| {
            read_error(std::io::Error::new(
                std::io::ErrorKind::InvalidData,
                e.utf8_error(),
            ))
        })?;
        Self::parse(&text, path)
    }

    /// Parses and validates `text` as if read from `path`.
    pub fn parse(text: &str, path: &Path) -> Result<Self, ConfigError> {
        let raw: FileConfig = toml::from_str(text).map_err(|e| ConfigError::Syntax {
            path: path.to_path_buf(),
            message: syntax::message(text, &e),
        })?;
        Self::validate(raw, path)
    }

    fn validate(raw: FileConfig, path: &Path) -> Result<Self, ConfigError> {
        let base = path.parent().map(Path::to_path_buf).unwrap_or_default();
        let project_id = parse_project_id(&raw.optimizely.project_id)?;
        let api_url = parse_api_url(raw.optimizely.api_url.as_deref())?;
        let rate_limit = raw
            .optimizely
            .rate_limit
            .map(validate_rate_limit)
            .transpose()?;
        let timeout = raw
            .optimizely
            .timeout
            .as_deref()
            .map(|t| {
                parse_duration(t, REQUEST_TIMEOUT).map_err(|e| {
                    ConfigError::Invalid(format!("[optimizely] timeout {} {e}", secret::shown(t)))
                })
            })
            .transpose()?;
        secret::check_reference(&raw.optimizely.token, SecretKind::Token)?;
        let syncs = sync::parse_all(raw.syncs, &base).map_err(ConfigError::Problems)?;
        let odp = raw.odp.map(|odp| validate_odp(odp, &base)).transpose()?;
        if odp.is_none()
            && let Some(sync) = syncs
                .iter()
                .find(|s| matches!(s.spec.kind, optisync_core::SyncKind::OdpAttribute { .. }))
        {
            return Err(ConfigError::Invalid(format!(
                "sync {}: object = \"odp_attribute\" needs an [odp] table with private_key = {{ env = \"ODP_PRIVATE_KEY\" }} (ODP: Settings > APIs)",
                sync.name()
            )));
        }
        let serve = validate_serve(raw.serve, &base)?;
        let state_dir = match raw.state_dir {
            Some(dir) if dir.is_absolute() => dir,
            Some(dir) => base.join(dir),
            None => base.join(".optisync"),
        };
        Ok(Self {
            path: path.to_path_buf(),
            optimizely: Optimizely {
                project_id,
                token: raw.optimizely.token.relative_to(&base),
                api_url,
                rate_limit,
                timeout,
                proxy: optisync_optimizely::ProxyPolicy::from_config(
                    raw.optimizely.proxy.as_deref(),
                )
                .map_err(|e| ConfigError::Invalid(e.to_string()))?,
            },
            source: raw.source.map(|s| validate_source(s, &base)).transpose()?,
            syncs,
            state_dir,
            serve,
            odp,
        })
    }

    /// The syncs named on the command line, or all of them when none is named. A name that
    /// is not in the config is a usage error.
    pub fn select_syncs(&self, names: &[String]) -> Result<Vec<&Sync>, CliError> {
        if names.is_empty() {
            return Ok(self.syncs.iter().collect());
        }
        names
            .iter()
            .map(|name| {
                self.syncs
                    .iter()
                    .find(|s| s.name() == name)
                    .ok_or_else(|| unknown_sync(name, &self.syncs))
            })
            .collect()
    }

    /// The specs of the syncs named on the command line (all when none is named).
    pub fn select_specs(
        &self,
        names: &[String],
    ) -> Result<Vec<optisync_engine::SyncSpec>, CliError> {
        Ok(self
            .select_syncs(names)?
            .into_iter()
            .map(|s| s.spec.clone())
            .collect())
    }
}

/// A sync named on the command line that the config does not have. The name came from the
/// command line, not the file, so it is quoted.
fn unknown_sync(name: &str, syncs: &[Sync]) -> CliError {
    let known: Vec<&str> = syncs.iter().map(Sync::name).collect();
    CliError::usage(
        format!("no sync named {name:?} in the config"),
        if known.is_empty() {
            "the config has no [[sync]] yet".to_owned()
        } else {
            format!("name one of: {}", known.join(", "))
        },
    )
}

impl Optimizely {
    /// Resolves the token reference. Never logs or returns the secret in clear.
    pub fn token(&self) -> Result<ApiToken, ConfigError> {
        resolve_secret(&self.token, SecretKind::Token).map(ApiToken::new)
    }
}

/// The JSON Schema of the config file, as committed in `docs/config.schema.json`.
pub fn json_schema() -> serde_json::Value {
    let schema = schemars::schema_for!(FileConfig);
    serde_json::to_value(&schema).unwrap_or_default()
}

/// Parses `[source]`, making its file paths relative to the config's folder.
fn validate_source(source: SourceConfig, base: &Path) -> Result<Warehouse, ConfigError> {
    Ok(match source {
        SourceConfig::Duckdb { path } => Warehouse::DuckDb { path },
        SourceConfig::Postgres {
            url,
            sslmode,
            statement_timeout,
            application_name,
        } => postgres_source(
            optisync_sources::Server::Postgres,
            url,
            sslmode,
            statement_timeout,
            application_name,
            base,
        )?,
        SourceConfig::Mysql {
            url,
            sslmode,
            statement_timeout,
        } => {
            secret::check_reference(&url, SecretKind::WarehouseUrl)?;
            Warehouse::Mysql(MysqlWarehouse {
                url: url.relative_to(base),
                sslmode: parse_sslmode(sslmode)?,
                statement_timeout: parse_statement_timeout(statement_timeout)?,
            })
        }
        SourceConfig::Snowflake {
            account,
            user,
            password,
            private_key,
            warehouse,
            role,
            database,
            schema,
            url,
            statement_timeout,
        } => {
            let credential = match (password, private_key) {
                (Some(password), None) => {
                    secret::check_reference(&password, SecretKind::WarehousePassword)?;
                    (SnowflakeCredential::Password, password.relative_to(base))
                }
                (None, Some(key)) => {
                    secret::check_reference(&key, SecretKind::WarehouseKey)?;
                    (SnowflakeCredential::PrivateKey, key.relative_to(base))
                }
                _ => {
                    return Err(ConfigError::Invalid(
                        "[source]: a Snowflake source needs exactly one of password = { env = \"SNOWFLAKE_PASSWORD\" } or private_key = { file = \"PATH\" }".to_owned(),
                    ));
                }
            };
            if let Some(url) = &url {
                check_snowflake_url(url)?;
            }
            Warehouse::Snowflake(SnowflakeWarehouse {
                account,
                user,
                credential,
                warehouse,
                role,
                database,
                schema,
                url,
                statement_timeout: parse_statement_timeout(statement_timeout)?,
            })
        }
        SourceConfig::Redshift {
            url,
            sslmode,
            statement_timeout,
            application_name,
            fetch_rows,
        } => {
            let fetch_rows = fetch_rows.unwrap_or(optisync_sources::DEFAULT_FETCH_ROWS);
            if !(1..=optisync_sources::MAX_FETCH_ROWS).contains(&fetch_rows) {
                return Err(ConfigError::Invalid(format!(
                    "[source] fetch_rows must be between 1 and {} (rows per FETCH; 1000 at most on a single-node cluster), not {fetch_rows}",
                    optisync_sources::MAX_FETCH_ROWS
                )));
            }
            postgres_source(
                optisync_sources::Server::Redshift { fetch_rows },
                url,
                sslmode,
                statement_timeout,
                application_name,
                base,
            )?
        }
    })
}

/// The validated `[source]` of a server speaking the PostgreSQL protocol.
fn postgres_source(
    server: optisync_sources::Server,
    url: SecretConfig,
    sslmode: Option<String>,
    statement_timeout: Option<String>,
    application_name: Option<String>,
    base: &Path,
) -> Result<Warehouse, ConfigError> {
    secret::check_reference(&url, SecretKind::WarehouseUrl)?;
    Ok(Warehouse::Postgres {
        server,
        url: url.relative_to(base),
        sslmode: parse_sslmode(sslmode)?,
        statement_timeout: parse_statement_timeout(statement_timeout)?,
        application_name: application_name.unwrap_or_else(|| "optisync".to_owned()),
    })
}

/// A Snowflake `url`: HTTPS, or plain HTTP to this machine only (an emulator), so that a
/// password never crosses a network in clear. Not quoted in messages: it may be private.
fn check_snowflake_url(url: &str) -> Result<(), ConfigError> {
    let parsed = url::Url::parse(url).map_err(|_| {
        ConfigError::Invalid(
            "[source] url: not a URL; write https://ACCOUNT.snowflakecomputing.com or leave it out"
                .to_owned(),
        )
    })?;
    let loopback = match parsed.host() {
        Some(url::Host::Domain(host)) => host == "localhost",
        Some(url::Host::Ipv4(ip)) => ip.is_loopback(),
        Some(url::Host::Ipv6(ip)) => ip.is_loopback(),
        None => false,
    };
    match parsed.scheme() {
        "https" => Ok(()),
        "http" if loopback => Ok(()),
        _ => Err(ConfigError::Invalid(
            "[source] url: must be https:// (plain http:// only to this machine, for an emulator)"
                .to_owned(),
        )),
    }
}

/// `sslmode` under `[source]`; `prefer` when omitted.
fn parse_sslmode(sslmode: Option<String>) -> Result<optisync_sources::SslMode, ConfigError> {
    Ok(sslmode
        .as_deref()
        .map(str::parse::<optisync_sources::SslMode>)
        .transpose()
        .map_err(|e| ConfigError::Invalid(format!("[source] sslmode: {e}")))?
        .unwrap_or_default())
}

/// `statement_timeout` under `[source]`.
fn parse_statement_timeout(
    timeout: Option<String>,
) -> Result<Option<std::time::Duration>, ConfigError> {
    timeout
        .as_deref()
        .map(|timeout| {
            parse_duration(timeout, STATEMENT_TIMEOUT).map_err(|e| {
                ConfigError::Invalid(format!(
                    "[source] statement_timeout {} {e}",
                    secret::shown(timeout)
                ))
            })
        })
        .transpose()
}

/// Checks the `[serve]` table.
fn validate_serve(raw: Option<ServeConfig>, base: &Path) -> Result<Serve, ConfigError> {
    let Some(raw) = raw else {
        return Ok(Serve {
            bind: None,
            api_token: None,
            reads_need_token: None,
            grace_period: DEFAULT_GRACE_PERIOD,
            alerts: Vec::new(),
            alert_rejected_rows_over: None,
            alert_stale_after_intervals: DEFAULT_STALE_AFTER_INTERVALS,
        });
    };
    let mut alerts = Vec::with_capacity(raw.alerts.len());
    for alert in raw.alerts {
        secret::check_reference(&alert.url, SecretKind::AlertUrl)?;
        if let Some(key) = &alert.secret {
            secret::check_reference(key, SecretKind::AlertSecret)?;
        }
        alerts.push((
            alert.url.relative_to(base),
            alert.secret.map(|key| key.relative_to(base)),
        ));
    }
    let bind = raw
        .bind
        .as_deref()
        .map(|text| {
            text.trim().parse::<std::net::SocketAddr>().map_err(|_| {
                ConfigError::Invalid(format!(
                    "[serve] bind {} is not an address and port; write e.g. \"127.0.0.1:8080\"",
                    secret::shown(text)
                ))
            })
        })
        .transpose()?;
    if let Some(token) = &raw.api_token {
        secret::check_reference(token, SecretKind::ServeToken)?;
    }
    let grace_period = match raw.grace_period.as_deref() {
        Some(text) => parse_duration(text, GRACE_PERIOD).map_err(|e| {
            ConfigError::Invalid(format!("[serve] grace_period {} {e}", secret::shown(text)))
        })?,
        None => DEFAULT_GRACE_PERIOD,
    };
    Ok(Serve {
        bind,
        api_token: raw.api_token.map(|t| t.relative_to(base)),
        reads_need_token: raw.reads_need_token,
        grace_period,
        alerts,
        alert_rejected_rows_over: raw.alert_rejected_rows_over,
        alert_stale_after_intervals: raw
            .alert_stale_after_intervals
            .unwrap_or(DEFAULT_STALE_AFTER_INTERVALS),
    })
}

/// Reads a secret from its reference: a variable or a small regular file, whose content
/// (trimmed) must not be empty. Messages name the variable or file, never the content.
pub fn resolve_secret(secret: &SecretConfig, kind: SecretKind) -> Result<String, ConfigError> {
    secret::resolve(secret, kind)
}

const PROJECT_ID_HELP: &str = "project id must be the numeric id, e.g. from https://app.optimizely.com/v2/projects/12345678901";

/// Accepts a number, a string of digits, or a pasted URL containing `/projects/<digits>`.
pub fn parse_project_id(raw: &ProjectIdConfig) -> Result<i64, ConfigError> {
    match raw {
        ProjectIdConfig::Number(n) if *n > 0 => Ok(*n),
        ProjectIdConfig::Number(n) => Err(ConfigError::Invalid(format!(
            "[optimizely] project_id {n}: {PROJECT_ID_HELP}"
        ))),
        ProjectIdConfig::Text(text) => {
            let text = text.trim();
            if !text.is_empty() && text.bytes().all(|b| b.is_ascii_digit()) {
                // All digits: either an id, or too many digits to be one (never rounded).
                return match text.parse::<i64>() {
                    Ok(n) if n > 0 => Ok(n),
                    Ok(_) => Err(ConfigError::Invalid(format!(
                        "[optimizely] project_id {text}: {PROJECT_ID_HELP}"
                    ))),
                    Err(_) => Err(ConfigError::Invalid(format!(
                        "[optimizely] project_id has {} digits, more than any id (at most {}); {PROJECT_ID_HELP}",
                        text.len(),
                        i64::MAX.to_string().len()
                    ))),
                };
            }
            if let Some(n) = project_id_from_url(text) {
                return Ok(n);
            }
            Err(ConfigError::Invalid(format!(
                "[optimizely] project_id {}: {PROJECT_ID_HELP}",
                secret::shown(text)
            )))
        }
    }
}

fn project_id_from_url(text: &str) -> Option<i64> {
    let url = Url::parse(text).ok()?;
    let mut segments = url.path_segments()?;
    while let Some(segment) = segments.next() {
        if segment == "projects" {
            return segments.next()?.parse::<i64>().ok().filter(|n| *n > 0);
        }
    }
    None
}

/// Parses `api_url`, requiring https except for loopback hosts (the client's rule). The URL
/// may hold credentials, so messages show it only once [`validate_api_url`] has refused those,
/// and then without them.
pub fn parse_api_url(raw: Option<&str>) -> Result<Url, ConfigError> {
    parse_versioned_url(
        raw.unwrap_or(DEFAULT_API_URL),
        "[optimizely]",
        "/v2",
        DEFAULT_API_URL,
    )
}

/// An API base URL of the table `table` that must end in `version`.
fn parse_versioned_url(
    text: &str,
    table: &str,
    version: &str,
    example: &str,
) -> Result<Url, ConfigError> {
    let url = Url::parse(text).map_err(|e| {
        ConfigError::Invalid(format!(
            "{table} api_url is not a URL ({e}); write e.g. \"{example}\", or omit it to use that"
        ))
    })?;
    validate_api_url(&url).map_err(|e| ConfigError::Invalid(format!("{table} {e}")))?;
    // Every path optisync calls starts after the version: without it every request would
    // answer 404 (or ODP's 403), reported as something that does not exist.
    if !url.path().trim_end_matches('/').ends_with(version) {
        // validate_api_url refused credentials, a query and a fragment: what is left is
        // scheme, host, port and path.
        let shown = url.as_str();
        return Err(ConfigError::Invalid(format!(
            "{table} api_url {shown} must end in {version}, e.g. \"{}{version}\"",
            shown.trim_end_matches('/')
        )));
    }
    Ok(url)
}

/// Checks the `[odp]` table.
fn validate_odp(raw: OdpConfig, base: &Path) -> Result<Odp, ConfigError> {
    secret::check_reference(&raw.private_key, SecretKind::OdpKey)?;
    let region = match raw.region.as_deref().map(str::trim) {
        None => None,
        Some("us") => Some(OdpRegion::Us),
        Some("eu") => Some(OdpRegion::Eu),
        Some("au") => Some(OdpRegion::Au),
        // Not quoted: a closed set of names, and anything else may be a pasted key.
        Some(_) => {
            return Err(ConfigError::Invalid(
                "[odp] region is not a region; write \"us\", \"eu\" or \"au\" (where your ODP account lives), or omit it".to_owned(),
            ));
        }
    };
    let api_url = raw
        .api_url
        .as_deref()
        .map(|text| {
            parse_versioned_url(
                text,
                "[odp]",
                "/v3",
                optisync_optimizely::DEFAULT_ODP_API_URL,
            )
        })
        .transpose()?;
    let rate_limit = raw
        .rate_limit
        .map(|r| validate_rate_limit_of(r, "[odp]"))
        .transpose()?;
    let timeout = raw
        .timeout
        .as_deref()
        .map(|t| {
            parse_duration(t, REQUEST_TIMEOUT).map_err(|e| {
                ConfigError::Invalid(format!("[odp] timeout {} {e}", secret::shown(t)))
            })
        })
        .transpose()?;
    Ok(Odp {
        private_key: raw.private_key.relative_to(base),
        region,
        api_url,
        rate_limit,
        timeout,
    })
}

/// The largest `rate_limit` numbers: the limiter spaces requests in milliseconds and keeps
/// one slot per request of the last minute, and no API quota comes near these.
pub const MAX_PER_SECOND: u32 = 1_000;
/// See [`MAX_PER_SECOND`].
pub const MAX_PER_MINUTE: u32 = 60_000;

fn validate_rate_limit(raw: RateLimitConfig) -> Result<RateLimit, ConfigError> {
    validate_rate_limit_of(raw, "[optimizely]")
}

fn validate_rate_limit_of(raw: RateLimitConfig, table: &str) -> Result<RateLimit, ConfigError> {
    for (key, value, max) in [
        ("per_second", raw.per_second, MAX_PER_SECOND),
        ("per_minute", raw.per_minute, MAX_PER_MINUTE),
    ] {
        if let Some(n) = value
            && n > max
        {
            return Err(ConfigError::Invalid(format!(
                "{table} rate_limit {key} = {n} is above {max}; write a number from 1 to {max}, or omit rate_limit to use the API's quota"
            )));
        }
    }
    if raw.per_second == Some(0) || raw.per_minute == Some(0) {
        return Err(ConfigError::Invalid(format!(
            "{table} rate_limit: a quota of 0 would never send; omit the key for no quota"
        )));
    }
    if raw.per_second.is_none() && raw.per_minute.is_none() {
        return Err(ConfigError::Invalid(format!(
            "{table} rate_limit needs per_second, per_minute or both"
        )));
    }
    Ok(RateLimit {
        per_second: raw.per_second,
        per_minute: raw.per_minute,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(text: &str) -> Result<Config, ConfigError> {
        Config::parse(text, Path::new("/etc/optisync/optisync.toml"))
    }

    const HEAD: &str =
        "[optimizely]\nproject_id = 12345678901\ntoken = { env = \"OPTIMIZELY_TOKEN\" }\n";

    fn list(schedule: &str) -> String {
        sync(&format!(
            "object = \"list_attribute\"\nmode = \"mirror\"\nlist_attribute_id = 1\nmapping = {{ user_id = \"u\" }}\n{schedule}"
        ))
    }

    #[test]
    fn schedules_are_cron_in_a_zone_intervals_or_manual() {
        use optisync_serve::Schedule;
        let schedule = |text: &str| parse(&list(text)).map(|c| c.syncs[0].schedule.to_string());
        assert_eq!(schedule("").unwrap(), "manual");
        assert_eq!(schedule("schedule = \"manual\"").unwrap(), "manual");
        assert_eq!(
            schedule("schedule = \"*/15 * * * *\"").unwrap(),
            "cron \"*/15 * * * *\" (UTC)"
        );
        assert_eq!(
            schedule("schedule = { cron = \"0 6 * * *\", tz = \"Europe/Berlin\" }").unwrap(),
            "cron \"0 6 * * *\" (Europe/Berlin)"
        );
        assert_eq!(
            schedule("schedule = { every = \"10min\" }").unwrap(),
            "every 10min"
        );
        let problem = |text: &str| schedule(text).unwrap_err().to_string();
        assert!(problem("schedule = \"61 * * * *\"").contains("sync s: schedule: cron expression"));
        assert!(problem("schedule = { cron = \"0 6 * * *\", tz = \"Nowhere\" }").contains("IANA"));
        assert!(
            problem("schedule = { every = \"10min\", tz = \"UTC\" }").contains("tz only applies")
        );
        assert!(problem("schedule = { every = \"0s\" }").contains("out of range"));
        assert!(problem("schedule = { cron = \"* * * * *\", every = \"1s\" }").contains("either"));
        assert!(matches!(
            parse(&list("")).unwrap().syncs[0].schedule,
            Schedule::Manual
        ));
    }

    #[test]
    fn after_dbt_is_relative_to_the_config_and_needs_models() {
        let config = parse(&list(
            "after = { dbt_run_results = \"dbt/target/run_results.json\", models = [\"beta\"] }",
        ))
        .unwrap();
        let after = config.syncs[0].after.clone().unwrap();
        assert_eq!(
            after.run_results,
            Path::new("/etc/optisync/dbt/target/run_results.json")
        );
        assert_eq!(after.models, ["beta"]);
        let error = parse(&list(
            "after = { dbt_run_results = \"r.json\", models = [] }",
        ))
        .unwrap_err()
        .to_string();
        assert!(error.contains("sync s: after: models is empty"), "{error}");
    }

    #[test]
    fn the_serve_table_is_checked() {
        let config = parse(&format!(
            "{HEAD}[serve]\nbind = \"0.0.0.0:9000\"\napi_token = {{ env = \"OPTISYNC_API_TOKEN\" }}\ngrace_period = \"5s\"\nalerts = [{{ url = {{ env = \"HOOK\" }} }}]\n"
        ))
        .unwrap();
        assert_eq!(config.serve.bind.unwrap().port(), 9000);
        assert_eq!(config.serve.grace_period, std::time::Duration::from_secs(5));
        assert_eq!(config.serve.alerts.len(), 1);
        assert_eq!(config.serve.alert_stale_after_intervals, 3);
        let defaults = parse(HEAD).unwrap();
        assert_eq!(defaults.serve.grace_period, DEFAULT_GRACE_PERIOD);
        assert!(defaults.serve.bind.is_none());
        let problem = |table: &str| {
            parse(&format!("{HEAD}[serve]\n{table}\n"))
                .unwrap_err()
                .to_string()
        };
        assert!(problem("bind = \"localhost\"").contains("[serve] bind"));
        assert!(problem("grace_period = \"2h\"").contains("grace_period"));
        // A token pasted where its variable's name belongs is refused and not shown.
        let pasted = "Zk8xQm4rT2pLcVh3WnB5dUc3aEt0Rm1Ob1M2";
        let message = problem(&format!("api_token = {{ env = \"{pasted}\" }}"));
        assert!(message.contains("[serve] api_token"), "{message}");
        assert!(!message.contains(pasted), "{message}");
    }

    #[test]
    fn minimal_config_uses_public_api_and_state_beside_the_file() {
        let config = parse(HEAD).unwrap();
        assert_eq!(config.optimizely.project_id, 12_345_678_901);
        assert_eq!(
            config.optimizely.api_url.as_str(),
            "https://api.optimizely.com/v2"
        );
        assert_eq!(config.state_dir, PathBuf::from("/etc/optisync/.optisync"));
        assert!(config.syncs.is_empty());
    }

    #[test]
    fn project_id_accepts_digits_in_a_string_and_pasted_urls() {
        for (raw, want) in [
            ("\"12345678901\"", 12_345_678_901),
            ("\" 42 \"", 42),
            (
                "\"https://app.optimizely.com/v2/projects/26592390574/audiences\"",
                26_592_390_574,
            ),
            (
                "\"https://app.optimizely.com/v2/projects/26592390574\"",
                26_592_390_574,
            ),
        ] {
            let text = HEAD.replace("12345678901", raw);
            assert_eq!(parse(&text).unwrap().optimizely.project_id, want, "{raw}");
        }
    }

    #[test]
    fn project_name_is_refused_with_the_url_hint() {
        for raw in [
            "\"My Project\"",
            "0",
            "-5",
            "\"https://example.com/nothing\"",
        ] {
            let text = HEAD.replace("12345678901", raw);
            let err = parse(&text).unwrap_err().to_string();
            assert!(err.contains(PROJECT_ID_HELP), "{raw}: {err}");
        }
    }

    #[test]
    fn unknown_keys_are_errors_with_their_name() {
        let err = parse(&format!("{HEAD}colour = \"blue\"\n"))
            .unwrap_err()
            .to_string();
        assert!(err.contains("unknown field `colour`"), "{err}");
        let err = parse(&format!("{HEAD}[[sync]]\nname = \"a\"\nobject = \"attribute\"\nmode = \"upsert\"\nmodel = \"x\"\nmapingg = {{}}\n"))
            .unwrap_err()
            .to_string();
        assert!(err.contains("unknown field `mapingg`"), "{err}");
    }

    #[test]
    fn api_url_must_be_https_unless_loopback() {
        for ok in [
            "https://api.example.com/v2",
            "http://127.0.0.1:4010/v2",
            "http://localhost:1/v2",
            "http://[::1]:9/v2",
        ] {
            assert!(parse_api_url(Some(ok)).is_ok(), "{ok}");
        }
        let err = parse_api_url(Some("http://10.0.0.5/v2"))
            .unwrap_err()
            .to_string();
        assert!(err.contains("uses plain http to a remote host"), "{err}");
        assert!(parse_api_url(Some("ftp://x/v2")).is_err());
        assert!(parse_api_url(Some("not a url")).is_err());
    }

    #[test]
    fn relative_token_file_is_relative_to_the_config() {
        let text = HEAD.replace(
            "{ env = \"OPTIMIZELY_TOKEN\" }",
            "{ file = \"secrets/token\" }",
        );
        let config = parse(&text).unwrap();
        match config.optimizely.token {
            SecretConfig::File(path) => {
                assert_eq!(path, PathBuf::from("/etc/optisync/secrets/token"))
            }
            SecretConfig::Env(_) => panic!("expected a file"),
        }
    }

    #[test]
    fn rate_limit_override_is_validated() {
        let config = parse(&format!("{HEAD}rate_limit = {{ per_minute = 50 }}\n")).unwrap();
        assert_eq!(
            config.optimizely.rate_limit,
            Some(RateLimit {
                per_second: None,
                per_minute: Some(50)
            })
        );
        assert!(parse(&format!("{HEAD}rate_limit = {{ per_second = 0 }}\n")).is_err());
        assert!(parse(&format!("{HEAD}rate_limit = {{}}\n")).is_err());
    }

    fn sync(body: &str) -> String {
        format!("{HEAD}[[sync]]\nname = \"s\"\nmodel = \"select 1\"\n{body}")
    }

    const ODP_SYNC: &str = "object = \"odp_attribute\"\nmode = \"mirror\"\nfield = \"in_beta\"\nmapping = { user_id = \"id\" }\n";

    #[test]
    fn odp_syncs_need_the_odp_table_a_field_and_plain_names() {
        let err = parse(&sync(ODP_SYNC)).unwrap_err().to_string();
        assert!(err.contains("needs an [odp] table"), "{err}");
        let odp = "[odp]\nprivate_key = { env = \"ODP_PRIVATE_KEY\" }\n";
        let config = parse(&format!("{odp}{}", sync(ODP_SYNC))).unwrap();
        let target = config.syncs[0].spec.odp.clone().unwrap();
        assert_eq!(
            (target.identifier.as_str(), target.field.as_str()),
            ("fs_user_id", "in_beta")
        );
        let missing = ODP_SYNC.replace("field = \"in_beta\"\n", "");
        let err = parse(&format!("{odp}{}", sync(&missing)))
            .unwrap_err()
            .to_string();
        assert!(err.contains("field is required"), "{err}");
        let pasted = ODP_SYNC.replace("in_beta", "sk_live_SECRET value");
        let err = parse(&format!("{odp}{}", sync(&pasted)))
            .unwrap_err()
            .to_string();
        assert!(
            err.contains("not an ODP field name") && !err.contains("SECRET"),
            "{err}"
        );
        let stray =
            "object = \"attribute\"\nmode = \"upsert\"\nfield = \"x\"\nmapping = { key = \"k\" }\n";
        let err = parse(&sync(stray)).unwrap_err().to_string();
        assert!(
            err.contains("field only applies to object = \"odp_attribute\""),
            "{err}"
        );
    }

    #[test]
    fn the_odp_host_follows_the_region_then_the_key() {
        let odp = |extra: &str| Odp {
            private_key: SecretConfig::Env("K".into()),
            region: match extra {
                "eu" => Some(OdpRegion::Eu),
                _ => None,
            },
            api_url: None,
            rate_limit: None,
            timeout: None,
        };
        let host = |o: &Odp, key: &str| o.api_url_for(&ApiToken::new(key)).to_string();
        assert_eq!(host(&odp(""), "abc.def"), "https://api.zaius.com/v3");
        assert_eq!(
            host(&odp(""), "abc-eu1.def"),
            "https://api.eu1.odp.optimizely.com/v3"
        );
        assert_eq!(
            host(&odp(""), "abc-au1.def"),
            "https://api.au1.odp.optimizely.com/v3"
        );
        assert_eq!(
            host(&odp("eu"), "abc.def"),
            "https://api.eu1.odp.optimizely.com/v3"
        );
        let err = parse(&format!(
            "[odp]\nprivate_key = {{ env = \"K\" }}\nregion = \"mars-and-a-pasted-key\"\n{HEAD}"
        ))
        .unwrap_err()
        .to_string();
        assert!(err.contains("\"us\", \"eu\" or \"au\""), "{err}");
        assert!(!err.contains("pasted"), "{err}");
        let err = parse(&format!(
            "[odp]\nprivate_key = {{ env = \"K\" }}\napi_url = \"http://127.0.0.1:9/v2\"\n{HEAD}"
        ))
        .unwrap_err()
        .to_string();
        assert!(err.contains("must end in /v3"), "{err}");
    }

    #[test]
    fn target_settings_are_required_per_object_type() {
        let err = parse(&sync("object = \"list_attribute\"\nmode = \"mirror\"\n"))
            .unwrap_err()
            .to_string();
        assert!(err.contains("list_attribute_id is required"), "{err}");
        let err = parse(&sync("object = \"audience\"\nmode = \"upsert\"\n"))
            .unwrap_err()
            .to_string();
        assert!(err.contains("audience_name is required"), "{err}");
        let err = parse(&sync("object = \"attribute\"\nmode = \"mirror\"\n"))
            .unwrap_err()
            .to_string();
        assert!(
            err.contains("mode mirror is not available for attribute"),
            "{err}"
        );
        let err = parse(&sync(
            "object = \"attribute\"\nmode = \"upsert\"\nlist_attribute_id = 3\n",
        ))
        .unwrap_err()
        .to_string();
        assert!(err.contains("list_attribute_id only applies"), "{err}");
        assert!(
            parse(&sync(
                "object = \"list_attribute\"\nmode = \"add\"\nlist_attribute_id = 3\nmapping = { user_id = \"u\" }\n"
            ))
            .is_ok()
        );
    }

    #[test]
    fn every_problem_of_every_sync_is_reported_at_once() {
        let text = format!(
            "{}[[sync]]\nname = \"t\"\nobject = \"custom_event\"\nmode = \"upsert\"\nmodel = \"x\"\nmapping = {{ key = \"k\", conditions = \"c\" }}\nmax_removal_percent = 101.0\n",
            sync(
                "object = \"list_attribute\"\nmode = \"mirror\"\nmax_creates = 5\nmapping = { user_id = \"u\" }\n"
            )
        );
        let err = parse(&text).unwrap_err();
        let ConfigError::Problems(problems) = &err else {
            panic!("{err}");
        };
        assert_eq!(problems.len(), 4, "{err}");
        for expected in [
            "sync s: list_attribute_id is required",
            "sync s: max_creates only applies",
            "sync t: max_removal_percent must be a number from 0 to 100",
            "sync t: mapping:",
        ] {
            assert!(
                problems.iter().any(|p| p.starts_with(expected)),
                "{expected}: {err}"
            );
        }
        assert!(
            err.to_string()
                .starts_with("invalid config: 4 problems:\n  - "),
            "{err}"
        );
    }

    #[test]
    fn a_parsed_sync_holds_its_spec() {
        let config = parse(&sync(
            "object = \"audience\"\nmode = \"upsert\"\naudience_name = \"{segment}\"\nmapping = { conditions = \"c\" }\n",
        ))
        .unwrap();
        let spec = &config.syncs[0].spec;
        assert_eq!(spec.kind.object(), "audience");
        assert!(spec.audience_name.is_some());
        assert_eq!(
            spec.max_removal_percent,
            optisync_core::DEFAULT_MAX_REMOVAL_PERCENT
        );
        assert_eq!(
            spec.max_creates,
            optisync_core::planner::DEFAULT_MAX_CREATES
        );
    }

    #[test]
    fn sync_names_are_unique_and_selectable() {
        let two = format!(
            "{}[[sync]]\nname = \"s\"\nobject = \"attribute\"\nmode = \"insert\"\nmodel = \"x\"\n",
            sync("object = \"attribute\"\nmode = \"upsert\"\n")
        );
        assert!(
            parse(&two)
                .unwrap_err()
                .to_string()
                .contains("two syncs are named \"s\"")
        );
        let config = parse(&sync(
            "object = \"attribute\"\nmode = \"upsert\"\nmapping = { key = \"k\" }\n",
        ))
        .unwrap();
        assert_eq!(config.select_syncs(&[]).unwrap().len(), 1);
        let err = config
            .select_syncs(&["nope".into()])
            .unwrap_err()
            .to_string();
        assert!(
            err.contains("no sync named \"nope\"") && err.contains("name one of: s"),
            "{err}"
        );
    }

    #[test]
    fn durations_are_range_checked_per_key() {
        let config = parse(&format!("{HEAD}timeout = \"1.5s\"\n")).unwrap();
        assert_eq!(
            config.optimizely.timeout,
            Some(std::time::Duration::from_millis(1500))
        );
        for (timeout, range) in [
            ("100000000000000000000000s", "from 1ms to 1h"),
            ("0s", "from 1ms to 1h"),
            ("2h", "from 1ms to 1h"),
        ] {
            let err = parse(&format!("{HEAD}timeout = \"{timeout}\"\n"))
                .unwrap_err()
                .to_string();
            assert!(err.contains("[optimizely] timeout"), "{err}");
            assert!(err.contains(range), "{err}");
        }
        let source = "[source]\ntype = \"postgres\"\nurl = { env = \"WAREHOUSE_URL\" }\n";
        let err = parse(&format!(
            "{HEAD}{source}statement_timeout = \"100000000000000000000000s\"\n"
        ))
        .unwrap_err()
        .to_string();
        assert!(
            err.contains("[source] statement_timeout") && err.contains("from 1ms to 24h"),
            "{err}"
        );
        assert!(parse(&format!("{HEAD}{source}statement_timeout = \"24h\"\n")).is_ok());
    }

    #[test]
    fn quotas_and_percentages_have_ranges() {
        for (quota, max) in [
            ("per_second = 1001", "1000"),
            ("per_second = 4294967295", "1000"),
            ("per_minute = 60001", "60000"),
        ] {
            let err = parse(&format!("{HEAD}rate_limit = {{ {quota} }}\n"))
                .unwrap_err()
                .to_string();
            assert!(err.contains(&format!("from 1 to {max}")), "{err}");
        }
        let list = "object = \"list_attribute\"\nmode = \"mirror\"\nlist_attribute_id = 3\nmapping = { user_id = \"u\" }\n";
        for p in ["nan", "inf", "-inf", "-0.5", "100.5"] {
            let err = parse(&sync(&format!("{list}max_removal_percent = {p}\n")))
                .unwrap_err()
                .to_string();
            assert!(
                err.contains("max_removal_percent must be a number from 0 to 100"),
                "{p}: {err}"
            );
        }
        assert!(parse(&sync(&format!("{list}max_removal_percent = 100.0\n"))).is_ok());
    }

    #[test]
    fn ids_never_lose_digits() {
        let err = parse(&HEAD.replace("12345678901", "123456789012345678901234567890"))
            .unwrap_err()
            .to_string();
        assert!(err.contains("project_id must be a whole number"), "{err}");
        let err = parse(&HEAD.replace("12345678901", "\"123456789012345678901234567890\""))
            .unwrap_err()
            .to_string();
        assert!(err.contains("project_id has 30 digits"), "{err}");
        let err = parse(&HEAD.replace(
            "12345678901",
            "\"https://app.optimizely.com/v2/projects/123456789012345678901234567890\"",
        ))
        .unwrap_err()
        .to_string();
        assert!(err.contains(PROJECT_ID_HELP), "{err}");
        let err = parse(&sync(
            "object = \"list_attribute\"\nmode = \"add\"\nlist_attribute_id = 0\n",
        ))
        .unwrap_err()
        .to_string();
        assert!(err.contains("list_attribute_id 0 is not an id"), "{err}");
    }

    #[test]
    fn no_config_error_quotes_a_secret() {
        let token = "2:Ab3dEfGh1jKlMn0pQrStUvWxYz0123456789";
        for text in [
            HEAD.replace("{ env = \"OPTIMIZELY_TOKEN\" }", &format!("\"{token}\"")),
            HEAD.replace("OPTIMIZELY_TOKEN\" }", &format!("{token}\" }}")),
            HEAD.replace(
                "{ env = \"OPTIMIZELY_TOKEN\" }",
                &format!("{{ file = \"{token}\" }}"),
            ),
            HEAD.replace(
                "{ env = \"OPTIMIZELY_TOKEN\" }",
                &format!("{{ value = \"{token}\" }}"),
            ),
            format!("{HEAD}project = \"{token}\"\n"),
            format!("{HEAD}timeout = \"{token}\"\n"),
            HEAD.replace("12345678901", &format!("\"{token}\"")),
        ] {
            let err = parse(&text).unwrap_err().to_string();
            assert!(!err.contains("Ab3dEfGh"), "{text}\n{err}");
        }
        for api_url in [
            "http://user:Ab3dEfGh@10.0.0.5/v2",
            "https://user:Ab3dEfGh@api.example.com",
            "not a url Ab3dEfGh",
        ] {
            let err = parse(&format!("{HEAD}api_url = \"{api_url}\"\n"))
                .unwrap_err()
                .to_string();
            assert!(!err.contains("Ab3dEfGh"), "{api_url}: {err}");
            assert!(err.contains("[optimizely] api_url"), "{err}");
        }
    }

    #[test]
    fn secret_debug_never_shows_the_value_it_points_to() {
        let secret = SecretConfig::Env("OPTIMIZELY_TOKEN".into());
        assert_eq!(format!("{secret:?}"), "{ env = \"OPTIMIZELY_TOKEN\" }");
    }
}
