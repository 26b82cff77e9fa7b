//! The Snowflake source: Snowflake's REST protocol, spoken directly over HTTPS.
//!
//! A session starts with a login (`/session/v1/login-request`: password, or a key-pair
//! JWT) and ends with a logout. Each model is first described without running
//! (`describeOnly`): its columns, and its statement type, which must be a query; anything
//! else is refused before it runs (Snowflake has no read-only transaction, so this is what
//! keeps a model from changing the warehouse, with the grants of the user). Then the query
//! runs; its answer holds the first rows (a JSON row set, or an Arrow one in base64) and the
//! URLs of the other chunks, fetched one at a time as the engine takes the rows, so memory
//! stays bounded by a chunk. A query still running after Snowflake's wait is polled at its
//! result URL. A stream dropped before its end aborts its query, and a long read keeps the
//! session alive with heartbeats.
//!
//! Snowflake keeps unquoted identifiers in upper case; a column whose name has no lower-case
//! letter is named in lower case (`USER_ID` is `user_id`), so that mappings read as the
//! model was written. A quoted mixed-case name (`"userId"`) stays as it is.
//!
//! How Snowflake types become [`Value`](optisync_core::Value)s (any may also be `Null`):
//!
//! | Snowflake type | Value |
//! |---|---|
//! | `VARCHAR`, `CHAR`, `STRING`, `TEXT` | `Text` |
//! | `NUMBER(p, 0)` (`INT`, `BIGINT`…) | `Int`; beyond `i64` as `Text`, exact |
//! | `NUMBER(p, s)` | `Int` when integral and within `i64`; `Float` when at most 15 significant digits; else `Text`, exact |
//! | `FLOAT`, `DOUBLE` | `Float` |
//! | `BOOLEAN` | `Bool` |
//! | `VARIANT`, `OBJECT`, `ARRAY` | `Json`, parsed |
//! | `DATE`, `TIME` | `Text`: `2024-01-02`, `03:04:05.5` |
//! | `TIMESTAMP_NTZ` | `Text`: `2024-01-02T03:04:05.5` |
//! | `TIMESTAMP_LTZ`, `TIMESTAMP_TZ` | `Text`, the instant in UTC: `2024-01-02T03:04:05Z` |
//! | `BINARY`, `GEOGRAPHY`, `GEOMETRY`, `VECTOR` | refused: [`SourceError::UnsupportedColumn`] naming the column and the cast |

mod rowset;

use std::fmt;
use std::io::Read;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use base64::Engine as _;
use serde::Deserialize;
use serde_json::{Value as Json, json};
use tracing::debug;

use crate::column::Column;
use crate::error::{Result, SourceError};
use crate::server::{full_error, trim_model};
use crate::stream::{self, RowStream};
#[cfg(doc)]
use crate::stream::{BATCH_BYTES, BATCH_ROWS};
use rowset::{CellType, Decoder, RowType};

/// The statement type id of a query (`SELECT`, `WITH … SELECT`, `SHOW` is not one).
const SELECT_STATEMENT: u64 = 0x1000;

/// The most bytes one answer or chunk may hold: a chunk is a few to a few tens of MB.
const MAX_BODY: usize = 256 * 1024 * 1024;

/// The longest optisync waits for a query Snowflake reports as still running: Snowflake's
/// own default statement timeout, two days.
const MAX_WAIT: Duration = Duration::from_secs(2 * 24 * 3_600);

/// How often a session reading a long model says it is alive (Snowflake ends sessions idle
/// for four hours).
const HEARTBEAT: Duration = Duration::from_secs(30 * 60);

/// How a Snowflake user signs in.
#[derive(Clone)]
pub enum SnowflakeAuth {
    /// A password (a secret).
    Password(String),
    /// An RSA private key in PKCS#8 PEM (a secret), whose public key is set on the user.
    KeyPair(String),
}

/// Where the Snowflake source connects and how.
#[derive(Clone)]
pub struct SnowflakeConfig {
    /// The account identifier: `orgname-accountname`, or a locator such as
    /// `xy12345.eu-west-1`.
    pub account: String,
    /// The login name.
    pub user: String,
    /// The credential.
    pub auth: SnowflakeAuth,
    /// The warehouse that runs the models.
    pub warehouse: Option<String>,
    /// The role to use.
    pub role: Option<String>,
    /// The database and schema unqualified names resolve in.
    pub database: Option<String>,
    /// See `database`.
    pub schema: Option<String>,
    /// `https://ACCOUNT.snowflakecomputing.com` unless given (a private link, an emulator).
    pub url: Option<String>,
    /// A model running longer is cancelled by Snowflake.
    pub statement_timeout: Option<Duration>,
}

impl fmt::Debug for SnowflakeAuth {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            SnowflakeAuth::Password(_) => "Password(<secret>)",
            SnowflakeAuth::KeyPair(_) => "KeyPair(<secret>)",
        })
    }
}

impl fmt::Debug for SnowflakeConfig {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SnowflakeConfig")
            .field("account", &self.account)
            .field("user", &self.user)
            .field("auth", &"<secret>")
            .field("warehouse", &self.warehouse)
            .field("role", &self.role)
            .field("database", &self.database)
            .field("schema", &self.schema)
            .field("url", &self.url)
            .finish_non_exhaustive()
    }
}

/// A Snowflake warehouse. Cheap to clone.
#[derive(Clone)]
pub struct SnowflakeSource {
    inner: Arc<Inner>,
}

struct Inner {
    config: SnowflakeConfig,
    base: String,
    http: reqwest::Client,
    /// `Snowflake account ACCOUNT as USER`, for messages.
    label: String,
    sequence: AtomicU64,
}

impl fmt::Debug for SnowflakeSource {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SnowflakeSource")
            .field("target", &self.inner.label)
            .finish_non_exhaustive()
    }
}

/// A signed-in session.
struct Session {
    source: SnowflakeSource,
    token: String,
}

/// The `data` of a query answer.
#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
struct QueryData {
    #[serde(default)]
    rowtype: Vec<RowType>,
    #[serde(default)]
    query_result_format: Option<String>,
    #[serde(default)]
    rowset: Option<Vec<Vec<Option<String>>>>,
    #[serde(default)]
    rowset_base64: Option<String>,
    #[serde(default)]
    chunks: Vec<Chunk>,
    #[serde(default)]
    chunk_headers: Option<serde_json::Map<String, Json>>,
    #[serde(default)]
    qrmk: Option<String>,
    #[serde(default)]
    statement_type_id: Option<u64>,
    #[serde(default)]
    query_id: Option<String>,
}

#[derive(Debug, Deserialize)]
struct Chunk {
    url: String,
}

impl SnowflakeSource {
    /// Checks the settings; connects only when used.
    pub fn new(config: &SnowflakeConfig) -> Result<Self> {
        let invalid = |message: String| SourceError::Unavailable {
            target: "Snowflake".to_owned(),
            message,
        };
        if config.account.is_empty()
            || !config
                .account
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.'))
        {
            return Err(invalid(
                "the account must be an account identifier such as orgname-accountname or xy12345.eu-west-1".to_owned(),
            ));
        }
        let base = match &config.url {
            Some(url) => url.trim_end_matches('/').to_owned(),
            None => format!("https://{}.snowflakecomputing.com", config.account),
        };
        let http = reqwest::Client::builder()
            .connect_timeout(Duration::from_secs(15))
            .timeout(Duration::from_secs(600))
            .build()
            .map_err(|e| invalid(format!("cannot set up HTTPS: {e}")))?;
        Ok(Self {
            inner: Arc::new(Inner {
                label: format!("Snowflake account {} as {}", config.account, config.user),
                config: config.clone(),
                base,
                http,
                sequence: AtomicU64::new(0),
            }),
        })
    }

    /// Signs in and runs `SELECT 1`.
    pub async fn check(&self) -> Result<()> {
        let session = self.login().await?;
        let answer = session.query("SELECT 1", false).await;
        session.logout().await;
        answer.map(drop)
    }

    /// The model's columns, described without running it.
    pub async fn describe(&self, model: &str) -> Result<Vec<Column>> {
        let session = self.login().await?;
        let described = session.describe_query(model).await;
        session.logout().await;
        Ok(described?
            .rowtype
            .iter()
            .map(|row_type| Column {
                name: column_name(&row_type.name),
                type_name: row_type.kind.to_ascii_lowercase(),
                kind: CellType::of(row_type).kind(),
            })
            .collect())
    }

    /// Runs the model and streams its rows, chunk by chunk.
    pub async fn stream(&self, model: &str) -> Result<RowStream> {
        let session = self.login().await?;
        let model = trim_model(model).to_owned();
        let described = session.describe_query(&model).await?;
        let mut cells = Vec::with_capacity(described.rowtype.len());
        for row_type in &described.rowtype {
            match CellType::of(row_type) {
                CellType::Unsupported { hint } => {
                    session.logout().await;
                    return Err(SourceError::UnsupportedColumn {
                        column: row_type.name.clone(),
                        type_name: row_type.kind.to_ascii_lowercase(),
                        hint,
                    });
                }
                cell => cells.push(cell),
            }
        }
        let columns: Arc<[String]> = described
            .rowtype
            .iter()
            .map(|r| column_name(&r.name))
            .collect();
        let request_id = uuid::Uuid::new_v4().to_string();
        let data = session.query_with_id(&model, false, &request_id).await?;
        let session = Arc::new(session);
        let hook = {
            let (session, model, request_id) =
                (Arc::clone(&session), model.clone(), request_id.clone());
            Box::new(move || {
                if let Ok(runtime) = tokio::runtime::Handle::try_current() {
                    runtime.spawn(async move { session.abort(&model, &request_id).await });
                }
            })
        };
        let (sender, stream) = stream::channel(Arc::clone(&columns), Some(hook));
        tokio::spawn(async move {
            let heartbeat = {
                let session = Arc::clone(&session);
                tokio::spawn(async move {
                    let mut every = tokio::time::interval(HEARTBEAT);
                    every.tick().await;
                    loop {
                        every.tick().await;
                        session.heartbeat().await;
                    }
                })
            };
            let mut decoder = Decoder::new(cells);
            let mut sent = 0u64;
            let read = async {
                decode_rowset(&mut decoder, &data)?;
                for (index, chunk) in data.chunks.iter().enumerate() {
                    if decoder.is_full()
                        && !send_decoded(&mut decoder, &columns, &sender, &mut sent).await
                    {
                        return Ok(false);
                    }
                    let body = session
                        .source
                        .chunk(chunk, &data)
                        .await
                        .map_err(|message| SourceError::Model {
                            message: format!("chunk {} of the result: {message}", index + 1),
                        })?;
                    decode_chunk(&mut decoder, &data, &body)?;
                }
                Ok::<bool, SourceError>(true)
            };
            match read.await {
                Ok(true) => {
                    if send_decoded(&mut decoder, &columns, &sender, &mut sent).await {
                        debug!(rows = sent, "model read");
                        sender.finish().await;
                    }
                }
                Ok(false) => {}
                Err(error) => sender.fail(error).await,
            }
            heartbeat.abort();
            session.logout().await;
        });
        Ok(stream)
    }

    async fn login(&self) -> Result<Session> {
        let config = &self.inner.config;
        let account_name = config
            .account
            .split('.')
            .next()
            .unwrap_or(&config.account)
            .to_ascii_uppercase();
        let mut data = json!({
            "CLIENT_APP_ID": "optisync",
            "CLIENT_APP_VERSION": env!("CARGO_PKG_VERSION"),
            "ACCOUNT_NAME": account_name,
            "LOGIN_NAME": config.user,
            "SESSION_PARAMETERS": {
                "TIMEZONE": "UTC",
                "CLIENT_SESSION_KEEP_ALIVE": false,
            },
        });
        if let Some(timeout) = config.statement_timeout {
            data["SESSION_PARAMETERS"]["STATEMENT_TIMEOUT_IN_SECONDS"] =
                json!(timeout.as_secs().max(1));
        }
        match &config.auth {
            SnowflakeAuth::Password(password) => data["PASSWORD"] = json!(password),
            SnowflakeAuth::KeyPair(pem) => {
                let token = jwt(&account_name, &config.user, pem)
                    .map_err(|message| self.unavailable(message))?;
                data["AUTHENTICATOR"] = json!("SNOWFLAKE_JWT");
                data["TOKEN"] = json!(token);
            }
        }
        let mut url = reqwest::Url::parse(&format!("{}/session/v1/login-request", self.inner.base))
            .map_err(|e| self.unavailable(format!("the URL is not valid ({e})")))?;
        {
            let mut query = url.query_pairs_mut();
            query.append_pair("requestId", &uuid::Uuid::new_v4().to_string());
            for (key, value) in [
                ("databaseName", &config.database),
                ("schemaName", &config.schema),
                ("warehouse", &config.warehouse),
                ("roleName", &config.role),
            ] {
                if let Some(value) = value {
                    query.append_pair(key, value);
                }
            }
        }
        let answer = self
            .post(url, None, &json!({ "data": data }))
            .await
            .map_err(|message| self.unavailable(message))?;
        let token = answer["data"]["token"]
            .as_str()
            .ok_or_else(|| self.unavailable(self.refusal(&answer)))?
            .to_owned();
        debug!(target = %self.inner.label, "signed in");
        Ok(Session {
            source: self.clone(),
            token,
        })
    }

    /// POSTs `body` as JSON and reads the JSON answer, checked for `success`.
    async fn post(
        &self,
        url: reqwest::Url,
        token: Option<&str>,
        body: &Json,
    ) -> std::result::Result<Json, String> {
        let mut request = self
            .inner
            .http
            .post(url)
            .header("Accept", "application/snowflake")
            .header(
                "User-Agent",
                concat!("optisync/", env!("CARGO_PKG_VERSION")),
            )
            .header("Content-Type", "application/json")
            .body(body.to_string());
        if let Some(token) = token {
            request = request.header("Authorization", format!("Snowflake Token=\"{token}\""));
        }
        let response = request.send().await.map_err(|e| connection_problem(&e))?;
        self.answer(response).await
    }

    /// Reads a JSON answer, bounded, checked for `success`.
    async fn answer(&self, response: reqwest::Response) -> std::result::Result<Json, String> {
        let status = response.status();
        let body = bounded_body(response).await?;
        let answer: Json = serde_json::from_slice(&body).map_err(|_| {
            format!("Snowflake answered HTTP {status} with a body that is not JSON; check the account (and `url`, if set)")
        })?;
        if answer["success"].as_bool() == Some(true) {
            return Ok(answer);
        }
        if matches!(answer["code"].as_str(), Some("333333" | "333334")) {
            // Still running: the caller polls.
            return Ok(answer);
        }
        Err(self.refusal(&answer))
    }

    /// Downloads one chunk of a result, with the headers the answer gave for it.
    async fn chunk(&self, chunk: &Chunk, data: &QueryData) -> std::result::Result<Vec<u8>, String> {
        let mut request = self.inner.http.get(&chunk.url);
        if let Some(headers) = &data.chunk_headers {
            for (key, value) in headers {
                if let Some(value) = value.as_str() {
                    request = request.header(key.as_str(), value);
                }
            }
        } else if let Some(qrmk) = &data.qrmk {
            request = request
                .header("x-amz-server-side-encryption-customer-algorithm", "AES256")
                .header("x-amz-server-side-encryption-customer-key", qrmk);
        }
        let response = request.send().await.map_err(|e| connection_problem(&e))?;
        if !response.status().is_success() {
            return Err(format!(
                "downloading it answered HTTP {}",
                response.status()
            ));
        }
        let body = bounded_body(response).await?;
        // Chunks are stored gzipped; the storage may or may not have said so.
        if body.starts_with(&[0x1f, 0x8b]) {
            let mut plain = Vec::new();
            flate2::read::MultiGzDecoder::new(body.as_slice())
                .take(MAX_BODY as u64 + 1)
                .read_to_end(&mut plain)
                .map_err(|e| format!("it does not unzip ({e})"))?;
            if plain.len() > MAX_BODY {
                return Err(format!("it is larger than {MAX_BODY} bytes unzipped"));
            }
            return Ok(plain);
        }
        Ok(body)
    }

    /// [`refusal`] of `answer`, with the password taken out should the server have echoed
    /// it (a server answer is never trusted to leave it out).
    fn refusal(&self, answer: &Json) -> String {
        let text = refusal(answer);
        match &self.inner.config.auth {
            SnowflakeAuth::Password(password) if !password.is_empty() => {
                text.replace(password.as_str(), "<password>")
            }
            _ => text,
        }
    }

    fn unavailable(&self, message: String) -> SourceError {
        SourceError::Unavailable {
            target: self.inner.label.clone(),
            message,
        }
    }
}

impl Session {
    async fn describe_query(&self, model: &str) -> Result<QueryData> {
        let data = self.query(trim_model(model), true).await?;
        if data
            .statement_type_id
            .is_some_and(|id| id & 0xF000 != SELECT_STATEMENT)
        {
            return Err(SourceError::Model {
                message: "the model is not a query: a model must be a query (SELECT, or WITH … SELECT); optisync never runs a statement that could change the warehouse".to_owned(),
            });
        }
        Ok(data)
    }

    async fn query(&self, sql: &str, describe_only: bool) -> Result<QueryData> {
        let request_id = uuid::Uuid::new_v4().to_string();
        self.query_with_id(sql, describe_only, &request_id).await
    }

    /// Runs `sql` and waits for its answer, polling while Snowflake says it still runs.
    async fn query_with_id(
        &self,
        sql: &str,
        describe_only: bool,
        request_id: &str,
    ) -> Result<QueryData> {
        let source = &self.source;
        let model_error = |message: String| SourceError::Model { message };
        let mut url =
            reqwest::Url::parse(&format!("{}/queries/v1/query-request", source.inner.base))
                .map_err(|e| source.unavailable(format!("the URL is not valid ({e})")))?;
        url.query_pairs_mut().append_pair("requestId", request_id);
        let submitted = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map_or(0, |d| d.as_millis());
        let body = json!({
            "sqlText": sql,
            "asyncExec": false,
            "sequenceId": source.inner.sequence.fetch_add(1, Ordering::Relaxed) + 1,
            "querySubmissionTime": submitted,
            "describeOnly": describe_only,
        });
        let mut answer = source
            .post(url, Some(&self.token), &body)
            .await
            .map_err(model_error)?;
        let mut pause = Duration::from_millis(250);
        // Snowflake stops a query at its statement timeout (two days unless set); an answer
        // that says "still running" past it is not believed forever.
        let patience = source.inner.config.statement_timeout.map_or(MAX_WAIT, |t| {
            t.saturating_add(Duration::from_secs(60)).min(MAX_WAIT)
        });
        let deadline = tokio::time::Instant::now() + patience;
        while matches!(answer["code"].as_str(), Some("333333" | "333334")) {
            if tokio::time::Instant::now() >= deadline {
                return Err(model_error(format!(
                    "Snowflake still reported the query running after {} s; set statement_timeout under [source] or make the model faster",
                    patience.as_secs()
                )));
            }
            let path = answer["data"]["getResultUrl"]
                .as_str()
                .ok_or_else(|| {
                    model_error("Snowflake said the query runs but gave no result URL".to_owned())
                })?
                .to_owned();
            tokio::time::sleep(pause).await;
            pause = (pause * 2).min(Duration::from_secs(5));
            let url = reqwest::Url::parse(&format!("{}{path}", source.inner.base))
                .map_err(|e| model_error(format!("the result URL is not valid ({e})")))?;
            let response = source
                .inner
                .http
                .get(url)
                .header("Accept", "application/snowflake")
                .header(
                    "Authorization",
                    format!("Snowflake Token=\"{}\"", self.token),
                )
                .send()
                .await
                .map_err(|e| model_error(connection_problem(&e)))?;
            answer = source.answer(response).await.map_err(model_error)?;
        }
        // Taken, not cloned: the first rows can be most of the answer.
        let data: QueryData = serde_json::from_value(answer["data"].take()).map_err(|e| {
            model_error(format!(
                "Snowflake's answer is not one optisync reads ({e})"
            ))
        })?;
        debug!(query_id = ?data.query_id, describe_only, "query answered");
        Ok(data)
    }

    async fn abort(&self, sql: &str, request_id: &str) {
        let base = &self.source.inner.base;
        if let Ok(mut url) = reqwest::Url::parse(&format!("{base}/queries/v1/abort-request")) {
            url.query_pairs_mut()
                .append_pair("requestId", &uuid::Uuid::new_v4().to_string());
            let body = json!({ "sqlText": sql, "requestId": request_id });
            let _ = self.source.post(url, Some(&self.token), &body).await;
        }
        self.logout().await;
    }

    async fn heartbeat(&self) {
        let Ok(url) = reqwest::Url::parse(&format!("{}/session/heartbeat", self.source.inner.base))
        else {
            return;
        };
        if let Err(error) = self.source.post(url, Some(&self.token), &json!({})).await {
            debug!(%error, "Snowflake heartbeat failed");
        }
    }

    async fn logout(&self) {
        if let Ok(mut url) = reqwest::Url::parse(&format!("{}/session", self.source.inner.base)) {
            url.query_pairs_mut().append_pair("delete", "true");
            if let Err(error) = self.source.post(url, Some(&self.token), &json!({})).await {
                debug!(%error, "Snowflake session not ended cleanly");
            }
        }
    }
}

/// Sends every decoded row in batches of at most [`BATCH_ROWS`] rows (a chunk may hold more);
/// false when the engine is gone.
async fn send_decoded(
    decoder: &mut Decoder,
    columns: &Arc<[String]>,
    sender: &stream::BatchSender,
    sent: &mut u64,
) -> bool {
    let batch = decoder.take(columns);
    *sent += batch.len() as u64;
    if sender.send_split(batch).await.is_err() {
        debug!(rows = *sent, "row stream dropped before its end");
        return false;
    }
    true
}

/// Decodes the rows the query answer itself carries.
fn decode_rowset(decoder: &mut Decoder, data: &QueryData) -> Result<()> {
    let broken = |message: String| SourceError::Model { message };
    match data.query_result_format.as_deref() {
        Some("arrow") => {
            let encoded = data.rowset_base64.as_deref().unwrap_or_default();
            if encoded.is_empty() {
                return Ok(());
            }
            let bytes = base64::engine::general_purpose::STANDARD
                .decode(encoded)
                .map_err(|e| broken(format!("Snowflake's Arrow rows are not base64 ({e})")))?;
            decode_arrow(decoder, &bytes)
        }
        _ => decoder
            .push_json(data.rowset.as_deref().unwrap_or_default())
            .map_err(broken),
    }
}

/// Decodes a downloaded chunk: Arrow IPC, or JSON rows without their outer brackets.
fn decode_chunk(decoder: &mut Decoder, data: &QueryData, body: &[u8]) -> Result<()> {
    let broken = |message: String| SourceError::Model { message };
    if data.query_result_format.as_deref() == Some("arrow") {
        return decode_arrow(decoder, body);
    }
    let mut text = Vec::with_capacity(body.len() + 2);
    text.push(b'[');
    text.extend_from_slice(body);
    text.push(b']');
    let rows: Vec<Vec<Option<String>>> = serde_json::from_slice(&text)
        .map_err(|e| broken(format!("a JSON chunk of the result does not parse ({e})")))?;
    decoder.push_json(&rows).map_err(broken)
}

fn decode_arrow(decoder: &mut Decoder, bytes: &[u8]) -> Result<()> {
    let broken = |message: String| SourceError::Model { message };
    let reader = arrow_ipc::reader::StreamReader::try_new(std::io::Cursor::new(bytes), None)
        .map_err(|e| broken(format!("Snowflake's Arrow rows do not read ({e})")))?;
    for batch in reader {
        let batch =
            batch.map_err(|e| broken(format!("Snowflake's Arrow rows do not read ({e})")))?;
        decoder.push_arrow(&batch).map_err(broken)?;
    }
    Ok(())
}

/// Reads a response body, refusing one larger than [`MAX_BODY`].
async fn bounded_body(mut response: reqwest::Response) -> std::result::Result<Vec<u8>, String> {
    let mut body = Vec::new();
    while let Some(chunk) = response.chunk().await.map_err(|e| connection_problem(&e))? {
        if body.len() + chunk.len() > MAX_BODY {
            return Err(format!(
                "Snowflake's answer is larger than {MAX_BODY} bytes"
            ));
        }
        body.extend_from_slice(&chunk);
    }
    Ok(body)
}

/// Snowflake's refusal (`code`, `message`), with the fix when the user can make it.
fn refusal(answer: &Json) -> String {
    let code = answer["code"].as_str().unwrap_or("");
    let message = answer["message"].as_str().unwrap_or("no message");
    let fix = match code {
        "390100" | "390101" => "; check the user and the password (or key) under [source]",
        "390144" | "394304" => {
            "; check the private key under [source] and the public key set on the user (ALTER USER … SET RSA_PUBLIC_KEY)"
        }
        "390201" | "390189" => {
            "; check the database, schema, warehouse and role under [source], and the role's grants"
        }
        "390112" | "390114" => "; the session expired: run again",
        _ => "",
    };
    let mut text = message.chars().take(500).collect::<String>();
    if !code.is_empty() {
        text.push_str(&format!(" (code {code})"));
    }
    text.push_str(fix);
    text
}

/// A transport problem, said plainly (never with the URL's query, which holds nothing
/// secret here but may be long).
fn connection_problem(error: &reqwest::Error) -> String {
    let mut text = match error.url() {
        Some(url) => full_error(error).replace(url.as_str(), url.path()),
        None => full_error(error),
    };
    let lower = text.to_lowercase();
    if lower.contains("dns") || lower.contains("resolve") {
        text.push_str("; the account's host name does not resolve: check `account` under [source]");
    } else if lower.contains("connection refused") {
        text.push_str("; nothing answers there: check `account` (and `url`, if set)");
    } else if lower.contains("timed out") {
        text.push_str(
            "; Snowflake did not answer in time: check the network and any proxy in between",
        );
    }
    text
}

/// The key-pair JWT Snowflake asks for: RS256, issued by `ACCOUNT.USER.SHA256:fingerprint`
/// of the public key, for an hour.
fn jwt(account: &str, user: &str, pem: &str) -> std::result::Result<String, String> {
    use ring::signature::{KeyPair, RSA_PKCS1_SHA256, RsaKeyPair};
    let der = pem_body(pem, "PRIVATE KEY").ok_or_else(|| {
        "the private key is not a PKCS#8 PEM (-----BEGIN PRIVATE KEY-----); convert it with `openssl pkcs8 -topk8 -nocrypt`".to_owned()
    })?;
    let key = RsaKeyPair::from_pkcs8(&der)
        .map_err(|e| format!("the private key is not an RSA key optisync can use ({e})"))?;
    let public = spki(key.public_key().as_ref());
    let fingerprint = base64::engine::general_purpose::STANDARD
        .encode(ring::digest::digest(&ring::digest::SHA256, &public));
    let user = user.to_ascii_uppercase();
    let now = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_secs());
    let url = base64::engine::general_purpose::URL_SAFE_NO_PAD;
    let header = url.encode(br#"{"alg":"RS256","typ":"JWT"}"#);
    let claims = url.encode(
        json!({
            "iss": format!("{account}.{user}.SHA256:{fingerprint}"),
            "sub": format!("{account}.{user}"),
            "iat": now,
            "exp": now + 3_600,
        })
        .to_string(),
    );
    let signing_input = format!("{header}.{claims}");
    let mut signature = vec![0; key.public().modulus_len()];
    key.sign(
        &RSA_PKCS1_SHA256,
        &ring::rand::SystemRandom::new(),
        signing_input.as_bytes(),
        &mut signature,
    )
    .map_err(|_| "the private key could not sign".to_owned())?;
    Ok(format!("{signing_input}.{}", url.encode(signature)))
}

/// The base64 body of a PEM block of `label`.
fn pem_body(pem: &str, label: &str) -> Option<Vec<u8>> {
    let begin = format!("-----BEGIN {label}-----");
    let end = format!("-----END {label}-----");
    let start = pem.find(&begin)? + begin.len();
    let stop = pem[start..].find(&end)? + start;
    let body: String = pem[start..stop]
        .chars()
        .filter(|c| !c.is_whitespace())
        .collect();
    base64::engine::general_purpose::STANDARD.decode(body).ok()
}

/// An RSA public key (PKCS#1 DER) wrapped as a SubjectPublicKeyInfo, the form whose SHA-256
/// Snowflake shows as the key's fingerprint.
fn spki(pkcs1: &[u8]) -> Vec<u8> {
    // AlgorithmIdentifier { rsaEncryption, NULL }.
    const ALGORITHM: &[u8] = &[
        0x30, 0x0d, 0x06, 0x09, 0x2a, 0x86, 0x48, 0x86, 0xf7, 0x0d, 0x01, 0x01, 0x01, 0x05, 0x00,
    ];
    let mut bit_string = vec![0x00];
    bit_string.extend_from_slice(pkcs1);
    let bit_string = der(0x03, &bit_string);
    let mut content = ALGORITHM.to_vec();
    content.extend_from_slice(&bit_string);
    der(0x30, &content)
}

/// A DER value of `tag` around `content`.
fn der(tag: u8, content: &[u8]) -> Vec<u8> {
    let mut out = vec![tag];
    let len = content.len();
    if len < 0x80 {
        out.push(u8::try_from(len).unwrap_or(0));
    } else {
        let bytes: Vec<u8> = len
            .to_be_bytes()
            .into_iter()
            .skip_while(|&b| b == 0)
            .collect();
        out.push(0x80 | u8::try_from(bytes.len()).unwrap_or(0));
        out.extend_from_slice(&bytes);
    }
    out.extend_from_slice(content);
    out
}

/// A column's name as optisync shows it: Snowflake keeps unquoted identifiers in upper
/// case, so a name without lower-case letters is taken in lower case (`USER_ID` is
/// `user_id`, as the model was most likely written); a quoted mixed-case name stays as is.
fn column_name(name: &str) -> String {
    if name.chars().any(char::is_lowercase) {
        name.to_owned()
    } else {
        name.to_lowercase()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_credential_never_shows() {
        let config = SnowflakeConfig {
            account: "xy12345.eu-west-1".into(),
            user: "loader".into(),
            auth: SnowflakeAuth::Password("hunter2".into()),
            warehouse: None,
            role: None,
            database: None,
            schema: None,
            url: None,
            statement_timeout: None,
        };
        assert!(!format!("{config:?}").contains("hunter2"));
        let source = SnowflakeSource::new(&config).unwrap();
        assert_eq!(
            source.inner.base,
            "https://xy12345.eu-west-1.snowflakecomputing.com"
        );
        assert_eq!(column_name("USER_ID"), "user_id");
        assert_eq!(column_name("userId"), "userId");
        let bad = SnowflakeConfig {
            account: "evil.com/x?".into(),
            ..config
        };
        assert!(SnowflakeSource::new(&bad).is_err());
    }

    #[test]
    fn an_echoed_password_is_taken_out_of_a_refusal() {
        let source = SnowflakeSource::new(&SnowflakeConfig {
            account: "test".into(),
            user: "loader".into(),
            auth: SnowflakeAuth::Password("hunter2".into()),
            warehouse: None,
            role: None,
            database: None,
            schema: None,
            url: None,
            statement_timeout: None,
        })
        .unwrap();
        let answer =
            json!({"success": false, "code": "390100", "message": "no user with password hunter2"});
        let text = source.refusal(&answer);
        assert!(
            !text.contains("hunter2") && text.contains("<password>"),
            "{text}"
        );
    }

    #[test]
    fn refusals_say_what_to_fix() {
        let answer = json!({"success": false, "code": "390100", "message": "Incorrect username or password was specified."});
        let text = refusal(&answer);
        assert!(
            text.contains("Incorrect username") && text.contains("check the user"),
            "{text}"
        );
    }

    #[test]
    fn the_key_pair_jwt_names_the_key_snowflake_knows_and_verifies() {
        // A key made for this test only (openssl genpkey), and the SHA-256 of its public key
        // as `openssl pkey -pubout -outform DER | openssl dgst -sha256 -binary | base64`
        // prints it: what Snowflake shows as RSA_PUBLIC_KEY_FP.
        let pem = include_str!("testdata/throwaway_key.p8");
        let fingerprint = "urC86cS2pfkJHVxbLdVh9Rt1nw5uT4VpFdTnUpiTnJg=";
        let token = jwt("XY12345", "loader", pem).unwrap();
        let parts: Vec<&str> = token.split('.').collect();
        assert_eq!(parts.len(), 3);
        let url = base64::engine::general_purpose::URL_SAFE_NO_PAD;
        let claims: Json = serde_json::from_slice(&url.decode(parts[1]).unwrap()).unwrap();
        assert_eq!(
            claims["iss"],
            format!("XY12345.LOADER.SHA256:{fingerprint}")
        );
        assert_eq!(claims["sub"], "XY12345.LOADER");
        assert_eq!(
            claims["exp"].as_u64().unwrap() - claims["iat"].as_u64().unwrap(),
            3_600
        );
        // The signature verifies with the key's public half.
        let der = pem_body(pem, "PRIVATE KEY").unwrap();
        let key = ring::signature::RsaKeyPair::from_pkcs8(&der).unwrap();
        let public = ring::signature::UnparsedPublicKey::new(
            &ring::signature::RSA_PKCS1_2048_8192_SHA256,
            ring::signature::KeyPair::public_key(&key).as_ref().to_vec(),
        );
        public
            .verify(
                format!("{}.{}", parts[0], parts[1]).as_bytes(),
                &url.decode(parts[2]).unwrap(),
            )
            .unwrap();
        // Not a PKCS#8 PEM: said how to convert it.
        let error = jwt(
            "XY12345",
            "loader",
            "-----BEGIN RSA PRIVATE KEY-----\nAA==\n-----END RSA PRIVATE KEY-----",
        )
        .unwrap_err();
        assert!(error.contains("openssl pkcs8"), "{error}");
    }

    #[test]
    fn der_lengths_use_the_long_form_past_127_bytes() {
        assert_eq!(der(0x04, &[1, 2]), vec![0x04, 2, 1, 2]);
        let long = der(0x04, &[0; 300]);
        assert_eq!(&long[..4], &[0x04, 0x82, 0x01, 0x2c]);
    }
}
