//! The client and its request loop: every attempt waits for the shared limiter, is sent with
//! auth and a per-attempt timeout, and its outcome goes to [`crate::retry`] to decide whether
//! and when to try again. Answers become typed values or an [`Error`] that knows its kind and
//! phase. The typed calls themselves are in `endpoints.rs`.
//!
//! Nothing a server sends can crash or stall a run: waits it asks for are capped
//! ([`MAX_SERVER_WAIT`]), bodies are bounded per kind of object ([`BodyLimit`]), an HTML page
//! where JSON was expected (a captive portal, a proxy's login page, a wrong `api_url`) is
//! named as such, and header values are shortened before they reach a message.

use std::fmt;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, SystemTime};

use bytes::Bytes;
use http::header::{AUTHORIZATION, CONTENT_TYPE, USER_AGENT};
use http::{HeaderValue, Method, StatusCode};
use rand::rngs::StdRng;
use serde::Deserialize;
use serde::de::DeserializeOwned;
use tokio::time::Instant;
use url::Url;

use crate::config::ClientConfig;
use crate::error::{Error, ErrorKind, Phase, TransportError};
use crate::model::Product;
use crate::proxy::{self, ProxyPolicy};
use crate::rate_limit::{LimiterRegistry, RateLimit, RateLimiter};
use crate::retry::{self, Attempt, MAX_SERVER_WAIT, ServerWait, Verdict};
use crate::transport::{BodyLimit, MAX_ERROR_BODY, ReqwestTransport, Transport};

/// Quota used before the project's product is known: both documented numbers at once
/// (2/s from Feature Experimentation, 100/min from Web), which is safe for either.
const BEFORE_PRODUCT_IS_KNOWN: RateLimit = RateLimit {
    per_second: Some(2),
    per_minute: Some(100),
};

/// A wait for the rate limit longer than this is logged with its cause; shorter ones are the
/// ordinary pacing of a run.
const WAIT_WORTH_SAYING: Duration = Duration::from_secs(1);

/// Longest error body kept in a message when the body is not Optimizely's envelope.
const MAX_BODY_IN_MESSAGE: usize = 300;

/// Longest text taken from a server's error envelope into a message (and a rejected row's
/// reason). Optimizely's messages are one sentence.
const MAX_API_MESSAGE: usize = 1000;

/// Longest `x-request-id` kept (real ones are a UUID, 36 characters).
const MAX_REQUEST_ID: usize = 100;

/// A typed Optimizely REST API v2 client. Cheap to clone; clones share everything.
#[derive(Clone)]
pub struct Client {
    inner: Arc<Inner>,
}

struct Inner {
    config: ClientConfig,
    transport: Arc<dyn Transport>,
    limiter: RateLimiter,
    authorization: HeaderValue,
    user_agent: HeaderValue,
    rng: Mutex<StdRng>,
    /// HTTP requests handed to the transport: reads (GET) and writes (everything else).
    reads: AtomicU64,
    writes: AtomicU64,
    /// Answers 429 or 503 (throttled).
    throttled: AtomicU64,
}

/// How many HTTP requests a client has handed to its transport (each attempt counts).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct RequestCounts {
    /// GET requests.
    pub reads: u64,
    /// POST, PATCH and DELETE requests.
    pub writes: u64,
    /// Answers 429 or 503: the API said "too many requests".
    pub throttled: u64,
}

impl Client {
    /// A client over HTTPS (reqwest + rustls), sharing the process-wide limiter of its token,
    /// with the proxy the environment names ([`ProxyPolicy::Environment`]).
    pub fn new(config: ClientConfig) -> Result<Client, Error> {
        Client::with_proxy(config, &ProxyPolicy::Environment)
    }

    /// A client over HTTPS (reqwest + rustls), sharing the process-wide limiter of its token,
    /// whose requests go through the proxy `policy` chooses for `api_url` (see `proxy.rs`).
    pub fn with_proxy(config: ClientConfig, policy: &ProxyPolicy) -> Result<Client, Error> {
        config.validate()?;
        let chosen = proxy::choose(policy, &config.api_url, |name| std::env::var(name).ok())?;
        // Not the user's doing (the TLS backend or the system's certificates): internal.
        let transport = ReqwestTransport::build(config.timeout, chosen.as_ref()).map_err(|e| {
            Error::new(
                ErrorKind::Internal,
                Phase::NotSent,
                format!("cannot set up the HTTP client: {e}"),
            )
            .with_source(e)
        })?;
        Client::with_transport(config, Arc::new(transport))
    }

    /// A client over any transport (tests, in-process fakes), sharing the process-wide limiter
    /// of its token.
    pub fn with_transport(
        config: ClientConfig,
        transport: Arc<dyn Transport>,
    ) -> Result<Client, Error> {
        let limiter = LimiterRegistry::global().limiter(
            &config.token,
            config.rate_limit.unwrap_or(BEFORE_PRODUCT_IS_KNOWN),
        );
        Client::with_parts(config, transport, limiter)
    }

    /// A client over any transport with a given limiter (tests that must not share the
    /// process-wide one). An explicit `config.rate_limit` is applied to the limiter.
    pub fn with_parts(
        config: ClientConfig,
        transport: Arc<dyn Transport>,
        limiter: RateLimiter,
    ) -> Result<Client, Error> {
        config.validate()?;
        if let Some(limit) = config.rate_limit {
            limiter.set_limit(limit);
        }
        let credential = match config.api {
            crate::config::Api::Optimizely => format!("Bearer {}", config.token.expose()),
            crate::config::Api::Odp => config.token.expose().to_owned(),
        };
        let mut authorization = HeaderValue::from_str(&credential).map_err(|_| {
            Error::config("the API token contains characters not allowed in a header")
        })?;
        // Keeps the value out of any header dump (http's Debug prints "Sensitive").
        authorization.set_sensitive(true);
        let user_agent = HeaderValue::from_str(&config.user_agent)
            .map_err(|_| Error::config("user_agent contains characters not allowed in a header"))?;
        let rng = config.backoff.rng();
        Ok(Client {
            inner: Arc::new(Inner {
                config,
                transport,
                limiter,
                authorization,
                user_agent,
                rng,
                reads: AtomicU64::new(0),
                writes: AtomicU64::new(0),
                throttled: AtomicU64::new(0),
            }),
        })
    }

    /// The HTTP requests this client has handed to its transport so far.
    pub fn request_counts(&self) -> RequestCounts {
        RequestCounts {
            reads: self.inner.reads.load(Ordering::Relaxed),
            writes: self.inner.writes.load(Ordering::Relaxed),
            throttled: self.inner.throttled.load(Ordering::Relaxed),
        }
    }

    /// The limiter this client's requests pass.
    pub fn limiter(&self) -> &RateLimiter {
        &self.inner.limiter
    }

    /// The settings the client was built with.
    pub fn config(&self) -> &ClientConfig {
        &self.inner.config
    }

    /// Applies the product's default quota unless one was configured.
    pub(crate) fn adopt_product_limit(&self, limit: RateLimit) {
        if self.inner.config.rate_limit.is_none() && self.inner.limiter.set_default_limit(limit) {
            tracing::debug!(?limit, "rate limit set from the project's product");
        }
    }

    /// Paces requests by `product`'s quota before the project has been read (the product
    /// a previous run saw, remembered in state), unless the config chose a quota. Until
    /// then the client assumes the strictest numbers of every product. Reading the project
    /// ([`Client::get_project`]) sets the quota from what the API says, whatever was assumed.
    pub fn assume_product(&self, product: Product) {
        let limit = RateLimit::for_product(product);
        if self.inner.config.rate_limit.is_none() && self.inner.limiter.set_default_limit(limit) {
            tracing::debug!(
                ?limit,
                product = product.as_str(),
                "rate limit set from the product a previous run saw"
            );
        }
    }

    /// The URL of an API path: `segments` appended to `api_url`, then `query`.
    pub(crate) fn url(&self, segments: &[&str], query: &[(&str, String)]) -> Result<Url, Error> {
        let mut url = self.inner.config.api_url.clone();
        url.path_segments_mut()
            .map_err(|()| Error::config("api_url cannot be a base URL"))?
            .pop_if_empty()
            .extend(segments);
        if !query.is_empty() {
            let mut pairs = url.query_pairs_mut();
            for (name, value) in query {
                pairs.append_pair(name, value);
            }
        }
        Ok(url)
    }

    /// True when `url` is on the same origin as `api_url` (the only place the token may go).
    pub(crate) fn same_origin(&self, url: &Url) -> bool {
        url.origin() == self.inner.config.api_url.origin()
    }

    /// Sends a request with a JSON body and decodes the JSON answer, of at most `limit`.
    pub(crate) async fn send_json<T: DeserializeOwned>(
        &self,
        method: Method,
        url: Url,
        body: &impl serde::Serialize,
        limit: BodyLimit,
    ) -> Result<T, Error> {
        let body = serde_json::to_vec(body).map_err(|e| {
            Error::new(
                ErrorKind::Internal,
                Phase::NotSent,
                format!("cannot encode the request body: {e}"),
            )
        })?;
        let resp = self
            .execute(method.clone(), &url, Some(Bytes::from(body)), limit)
            .await?;
        self.decode(&method, &url, resp)
    }

    /// Sends a bodiless request and decodes the JSON answer, of at most `limit`.
    pub(crate) async fn get_json<T: DeserializeOwned>(
        &self,
        url: Url,
        limit: BodyLimit,
    ) -> Result<T, Error> {
        let resp = self.execute(Method::GET, &url, None, limit).await?;
        self.decode(&Method::GET, &url, resp)
    }

    /// Decodes a 2xx body.
    pub(crate) fn decode<T: DeserializeOwned>(
        &self,
        method: &Method,
        url: &Url,
        resp: http::Response<Bytes>,
    ) -> Result<T, Error> {
        serde_json::from_slice(resp.body()).map_err(|e| {
            let status = resp.status().as_u16();
            let phase = Phase::Responded {
                status,
                code: None,
                message: None,
                uuid: None,
                request_id: request_id(resp.headers()),
            };
            if is_html(&resp) {
                return Error::new(
                    ErrorKind::Internal,
                    phase,
                    html_message(method, url, status),
                );
            }
            Error::new(
                ErrorKind::Internal,
                phase,
                format!(
                    "{method} {}: unexpected response body (HTTP {status}): {e}",
                    show_path(url)
                ),
            )
            .with_source(e)
        })
    }

    /// Waits for a slot of the quota shared with other processes, if there is one; returns
    /// the slot to confirm once the request has left.
    async fn wait_for_shared_quota(&self) -> Option<i64> {
        let shared = self.inner.config.shared_quota.clone()?;
        let limit = self.inner.limiter.limit();
        // The wait counts from when the ledger read the clock, a moment after this: sleeping
        // until `asked + wait` keeps the hand-over to and from the blocking thread out of it,
        // instead of adding it to every request (each slot counts from the last departure).
        let asked = tokio::time::Instant::now();
        match tokio::task::spawn_blocking(move || shared.reserve(limit)).await {
            // The ledger is a file other processes write: an implausible wait is a damaged
            // ledger, not a reason to hang.
            Ok(Ok(reserved)) if reserved.wait > MAX_SERVER_WAIT => {
                tracing::warn!(
                    wait_s = reserved.wait.as_secs(),
                    "the shared rate limit asks for an implausible wait; limiting this process alone"
                );
                reserved.slot
            }
            Ok(Ok(reserved)) => {
                if reserved.wait > WAIT_WORTH_SAYING {
                    tracing::info!(
                        wait_ms = u64::try_from(reserved.wait.as_millis()).unwrap_or(u64::MAX),
                        %limit,
                        "waiting for the rate limit shared with other optisync runs on this token: their requests of the last minute used the quota"
                    );
                }
                if !reserved.wait.is_zero() {
                    tokio::time::sleep_until(asked + reserved.wait).await;
                }
                reserved.slot
            }
            Ok(Err(error)) => {
                tracing::warn!(%error, "the shared rate limit is unavailable; limiting this process alone");
                None
            }
            Err(error) => {
                tracing::warn!(%error, "the shared rate limit is unavailable; limiting this process alone");
                None
            }
        }
    }

    /// Tells the shared quota when the request of `slot` left: its slot moves there if it
    /// left late (see the ledger). Called once the request is answered, so that recording it
    /// never delays the request; the next request of this process is reserved after that.
    async fn shared_quota_sent(&self, slot: i64, departed: SystemTime) {
        let Some(shared) = self.inner.config.shared_quota.clone() else {
            return;
        };
        match tokio::task::spawn_blocking(move || shared.sent(slot, departed)).await {
            Ok(Ok(())) => {}
            Ok(Err(error)) => {
                tracing::warn!(%error, "could not record a request in the shared rate limit");
            }
            Err(error) => {
                tracing::warn!(%error, "could not record a request in the shared rate limit");
            }
        }
    }

    /// Sends one request with retries. Returns the 2xx answer (of at most `limit` bytes), or
    /// the final error.
    pub(crate) async fn execute(
        &self,
        method: Method,
        url: &Url,
        body: Option<Bytes>,
        limit: BodyLimit,
    ) -> Result<http::Response<Bytes>, Error> {
        let idempotent = retry::is_idempotent(&method);
        self.execute_with(method, url, body, limit, idempotent)
            .await
    }

    /// [`Client::execute`] for a request whose repetition is harmless or not, whatever its
    /// method says (an ODP profile upsert is a POST that sets values: repeating it changes
    /// nothing).
    pub(crate) async fn execute_with(
        &self,
        method: Method,
        url: &Url,
        body: Option<Bytes>,
        limit: BodyLimit,
        idempotent: bool,
    ) -> Result<http::Response<Bytes>, Error> {
        let inner = &*self.inner;
        let path = show_path(url);
        let non_idempotent = !idempotent;
        let mut attempt: u32 = 0;
        loop {
            attempt += 1;
            let asked = Instant::now();
            let permit = inner.limiter.acquire_permit().await;
            let waited = asked.elapsed();
            if waited > WAIT_WORTH_SAYING {
                tracing::info!(
                    wait_ms = u64::try_from(waited.as_millis()).unwrap_or(u64::MAX),
                    limit = %inner.limiter.limit(),
                    paused = inner.limiter.paused_until().is_some(),
                    "waited for the rate limit: this process's requests of the last minute used the quota"
                );
            }
            let slot = self.wait_for_shared_quota().await;
            crate::telemetry::waited(asked.elapsed());
            let request = self.build(&method, url, body.clone(), limit)?;
            let counter = if method == Method::GET {
                &inner.reads
            } else {
                &inner.writes
            };
            counter.fetch_add(1, Ordering::Relaxed);
            // The request leaves now, which may be later than its slot (see `departed`).
            inner.limiter.departed(permit, Instant::now());
            let departed = SystemTime::now();
            let outcome =
                tokio::time::timeout(inner.config.timeout, inner.transport.send(request)).await;
            if let Some(slot) = slot {
                self.shared_quota_sent(slot, departed).await;
            }
            let (kind_of_attempt, result) = match outcome {
                // A transport that ignores the limit is held to it here.
                Ok(Ok(resp)) if resp.status().is_success() && over(resp.body(), limit.0) => {
                    let status = resp.status().as_u16();
                    return Err(self
                        .too_large(&method, url, status, limit)
                        .with_attempts(attempt, non_idempotent));
                }
                Ok(Ok(resp)) => (Attempt::Status(resp.status()), Ok(truncate_error(resp))),
                Ok(Err(TransportError::TooLarge { status, .. })) => {
                    // Reading it again would cost as much again: not retried.
                    return Err(self
                        .too_large(&method, url, status, limit)
                        .with_attempts(attempt, non_idempotent));
                }
                Ok(Err(err)) => {
                    let kind = match err {
                        TransportError::NotSent(_) => Attempt::NotSent,
                        _ => Attempt::MaybeSent,
                    };
                    let message = inner.config.token.scrub(&format!("{method} {path}: {err}"));
                    (
                        kind,
                        Err(Error::new(ErrorKind::Transient, err.phase(), message).with_source(err)),
                    )
                }
                Err(_elapsed) => {
                    let message = format!(
                        "{method} {path}: no answer within {} s",
                        inner.config.timeout.as_secs_f64()
                    );
                    (
                        Attempt::MaybeSent,
                        Err(Error::new(ErrorKind::Transient, Phase::MaybeSent, message)),
                    )
                }
            };
            let status = result.as_ref().ok().map(|r| r.status().as_u16());
            if matches!(status, Some(429 | 503)) {
                inner.throttled.fetch_add(1, Ordering::Relaxed);
            }
            crate::telemetry::attempt(
                if method == Method::GET {
                    crate::telemetry::RequestClass::Read
                } else {
                    crate::telemetry::RequestClass::Write
                },
                status.map_or(
                    crate::telemetry::Answer::None,
                    crate::telemetry::Answer::Status,
                ),
                attempt > 1,
            );
            let req_id = result.as_ref().ok().and_then(|r| request_id(r.headers()));
            tracing::debug!(
                method = %method,
                path = %path,
                status,
                attempt,
                request_id = req_id.as_deref(),
                "optimizely request"
            );

            let verdict = retry::decide(idempotent, kind_of_attempt);
            let headers = result.as_ref().ok().map(|r| r.headers().clone());
            let error = match result {
                Ok(resp) if resp.status().is_success() => return Ok(resp),
                Ok(resp) => self.error_from_response(&method, url, resp),
                Err(err) => err,
            };
            let give_up = |error: Error| {
                let error = if attempt > 1 {
                    error.map_message(|m| format!("{m} (after {attempt} attempts)"))
                } else {
                    error
                };
                Err(error.with_attempts(attempt, non_idempotent))
            };
            match verdict {
                Verdict::Done | Verdict::Fail => return give_up(error),
                Verdict::RetryThrottled | Verdict::PauseThenFail => {
                    let server = headers
                        .as_ref()
                        .and_then(|h| retry::server_wait(h, SystemTime::now()));
                    let wait = match server {
                        Some(ServerWait::For(wait)) => wait,
                        Some(ServerWait::TooLong { seconds, header }) => {
                            return give_up(
                                self.wait_too_long(&method, url, &error, seconds, header),
                            );
                        }
                        None => self.backoff(attempt),
                    };
                    // Checked although every wait here is capped: an overflow must never panic.
                    let Some(until) = Instant::now().checked_add(wait) else {
                        let seconds = wait.as_secs();
                        return give_up(
                            self.wait_too_long(&method, url, &error, seconds, "the wait"),
                        );
                    };
                    // The quota is per token: everyone sharing it must wait, not just us.
                    inner.limiter.pause_until(until);
                    if verdict == Verdict::PauseThenFail || attempt >= inner.config.max_attempts {
                        return give_up(error);
                    }
                    tracing::warn!(
                        method = %method, path = %path, status, attempt,
                        wait_ms = u64::try_from(wait.as_millis()).unwrap_or(u64::MAX),
                        "throttled; pausing every request with this token"
                    );
                }
                Verdict::RetryTransient => {
                    if attempt >= inner.config.max_attempts {
                        return give_up(error);
                    }
                    let wait = self.backoff(attempt);
                    tracing::warn!(
                        method = %method, path = %path, status, attempt,
                        wait_ms = u64::try_from(wait.as_millis()).unwrap_or(u64::MAX),
                        error = %error,
                        "transient failure; retrying"
                    );
                    tokio::time::sleep(wait).await;
                }
            }
        }
    }

    fn backoff(&self, attempt: u32) -> Duration {
        let mut rng = self.inner.rng.lock().unwrap_or_else(|p| p.into_inner());
        self.inner.config.backoff.delay(attempt, &mut *rng)
    }

    /// The error for an answer larger than the request can legitimately get.
    fn too_large(&self, method: &Method, url: &Url, status: u16, limit: BodyLimit) -> Error {
        Error::new(
            ErrorKind::Internal,
            Phase::Responded {
                status,
                code: None,
                message: None,
                uuid: None,
                request_id: None,
            },
            format!(
                "{method} {}: the answer (HTTP {status}) is larger than {}, the most this request can legitimately return; optisync stopped reading it. Check that api_url (and the proxy, if any) leads to Optimizely's API",
                show_origin_path(url),
                limit.describe()
            ),
        )
    }

    /// The error for a server-requested wait beyond [`MAX_SERVER_WAIT`].
    fn wait_too_long(
        &self,
        method: &Method,
        url: &Url,
        error: &Error,
        seconds: u64,
        header: &str,
    ) -> Error {
        Error::new(
            ErrorKind::Throttled,
            error.phase().clone(),
            format!(
                "{method} {}: rate limited; {} asks to wait {} ({header}), longer than the {} optisync waits, so the run stops here rather than hang. Run it again later; if this repeats, check that api_url (and the proxy, if any) leads to Optimizely's API",
                show_path(url),
                show_origin(url),
                describe_wait(seconds),
                describe_wait(MAX_SERVER_WAIT.as_secs()),
            ),
        )
    }

    fn build(
        &self,
        method: &Method,
        url: &Url,
        body: Option<Bytes>,
        limit: BodyLimit,
    ) -> Result<http::Request<Bytes>, Error> {
        let has_body = body.is_some();
        let mut request = http::Request::builder()
            .method(method.clone())
            .uri(url.as_str())
            .header(self.auth_header(), self.inner.authorization.clone())
            .header(USER_AGENT, self.inner.user_agent.clone())
            .header(
                http::header::ACCEPT,
                HeaderValue::from_static("application/json"),
            );
        if has_body {
            request = request.header(CONTENT_TYPE, HeaderValue::from_static("application/json"));
        }
        request = request.extension(limit);
        request.body(body.unwrap_or_default()).map_err(|e| {
            Error::new(
                ErrorKind::Internal,
                Phase::NotSent,
                format!("cannot build request for {url}: {e}"),
            )
        })
    }

    /// The header the credential goes in.
    fn auth_header(&self) -> http::HeaderName {
        match self.inner.config.api {
            crate::config::Api::Optimizely => AUTHORIZATION,
            crate::config::Api::Odp => http::HeaderName::from_static("x-api-key"),
        }
    }

    /// Turns a non-2xx answer into an error with kind, phase and a human message.
    fn error_from_response(
        &self,
        method: &Method,
        url: &Url,
        resp: http::Response<Bytes>,
    ) -> Error {
        let token = &self.inner.config.token;
        let path = show_path(url);
        let status = resp.status();
        let request_id = request_id(resp.headers());
        let html = is_html(&resp);
        let envelope: Option<Envelope> = if html {
            None
        } else {
            serde_json::from_slice(resp.body()).ok()
        };
        let invalid_items = envelope
            .as_ref()
            .and_then(|e| e.detail.as_ref())
            .map(|detail| invalid_items(detail, token))
            .unwrap_or_default();
        let (code, api_message, uuid) = match envelope {
            Some(e) => (
                e.code.map(|c| shorten(&c, MAX_REQUEST_ID)),
                e.message
                    .or_else(|| e.messages.map(|m| m.to_string()))
                    .or_else(|| odp_message(e.title.as_deref(), e.detail.as_ref()))
                    .map(|m| shorten(&m, MAX_API_MESSAGE)),
                e.uuid.map(|u| shorten(&u, MAX_REQUEST_ID)),
            ),
            None if html => (None, None, None),
            None => (None, body_excerpt(resp.body()), None),
        };
        let api_message = api_message.map(|m| token.scrub(&m));
        let kind = match status {
            StatusCode::UNAUTHORIZED | StatusCode::FORBIDDEN => ErrorKind::Auth,
            StatusCode::TOO_MANY_REQUESTS => ErrorKind::Throttled,
            s if s.is_server_error() => ErrorKind::Transient,
            _ => ErrorKind::Rejected,
        };
        let what = match (kind, status) {
            (ErrorKind::Auth, _) => "authentication failed",
            (ErrorKind::Throttled, _) => "rate limited",
            (ErrorKind::Transient, _) => "server error",
            (_, StatusCode::NOT_FOUND) => "not found",
            (_, s) if s.is_redirection() => "unexpected redirect (check api_url)",
            _ => "rejected",
        };
        if html {
            // Auth, throttling and server errors keep their kind (and their retries); any
            // other HTML answer is no refusal of the request by Optimizely (so never a
            // rejected row) but a wrong server in the way.
            let kind = if kind == ErrorKind::Rejected {
                ErrorKind::Internal
            } else {
                kind
            };
            let message = html_message(method, url, status.as_u16());
            let phase = Phase::Responded {
                status: status.as_u16(),
                code,
                message: api_message,
                uuid,
                request_id,
            };
            return Error::new(kind, phase, token.scrub(&message));
        }
        let mut message = format!("{method} {path}: {what} (HTTP {}", status.as_u16());
        if let Some(code) = &code {
            message.push_str(&format!(" {code}"));
        }
        message.push(')');
        if let Some(text) = &api_message {
            message.push_str(&format!(": {text}"));
        }
        if kind == ErrorKind::Auth {
            message.push_str("; ");
            message.push_str(self.inner.config.api.auth_hint());
        }
        let refs: Vec<String> = [("uuid", &uuid), ("request id", &request_id)]
            .into_iter()
            .filter_map(|(label, v)| v.as_ref().map(|v| format!("{label} {v}")))
            .collect();
        if !refs.is_empty() {
            message.push_str(&format!(" [{}]", refs.join(", ")));
        }
        let phase = Phase::Responded {
            status: status.as_u16(),
            code,
            message: api_message,
            uuid,
            request_id,
        };
        Error::new(kind, phase, token.scrub(&message)).with_invalid_items(invalid_items)
    }
}

/// The items an ODP 400 names by index (`detail.invalids[].event`, or `index`), with their
/// reason (`message`, or `reason`), at most 500: a request holds no more.
fn invalid_items(detail: &serde_json::Value, token: &crate::ApiToken) -> Vec<crate::InvalidItem> {
    let Some(invalids) = detail.get("invalids").and_then(serde_json::Value::as_array) else {
        return Vec::new();
    };
    invalids
        .iter()
        .take(500)
        .filter_map(|item| {
            let index = item
                .get("event")
                .or_else(|| item.get("index"))
                .and_then(serde_json::Value::as_u64)
                .and_then(|i| usize::try_from(i).ok())?;
            let reason = item
                .get("message")
                .or_else(|| item.get("reason"))
                .and_then(serde_json::Value::as_str)
                .unwrap_or("refused");
            Some(crate::InvalidItem {
                index,
                reason: token.scrub(&shorten(reason, MAX_API_MESSAGE)),
            })
        })
        .collect()
}

/// Optimizely's error envelope, and ODP's (`title`, `detail`; docs/ODP-API.md#errors).
#[derive(Deserialize)]
struct Envelope {
    code: Option<String>,
    message: Option<String>,
    messages: Option<serde_json::Value>,
    uuid: Option<String>,
    title: Option<String>,
    detail: Option<serde_json::Value>,
}

/// The message of an ODP error: its title, then its detail (a sentence, or the invalid
/// fields with their reasons).
fn odp_message(title: Option<&str>, detail: Option<&serde_json::Value>) -> Option<String> {
    let detail = match detail {
        Some(serde_json::Value::String(text)) => Some(text.clone()),
        Some(serde_json::Value::Object(object)) => {
            let invalids = object
                .get("invalids")
                .and_then(serde_json::Value::as_array)
                .map(|invalids| {
                    invalids
                        .iter()
                        .take(10)
                        .map(|i| {
                            let text = |key: &str| {
                                i.get(key)
                                    .and_then(serde_json::Value::as_str)
                                    .unwrap_or("?")
                            };
                            format!("{}: {}", text("field"), text("reason"))
                        })
                        .collect::<Vec<_>>()
                        .join("; ")
                });
            invalids.or_else(|| {
                object
                    .get("message")
                    .and_then(serde_json::Value::as_str)
                    .map(str::to_owned)
            })
        }
        _ => None,
    };
    match (title, detail) {
        (Some(title), Some(detail)) => Some(format!("{title}: {detail}")),
        (Some(title), None) => Some(title.to_owned()),
        (None, detail) => detail,
    }
}

fn request_id(headers: &http::HeaderMap) -> Option<String> {
    headers
        .get("x-request-id")?
        .to_str()
        .ok()
        .map(|id| shorten(id, MAX_REQUEST_ID))
}

/// At most `max` characters of `text`, with `…` when cut.
fn shorten(text: &str, max: usize) -> String {
    match text.char_indices().nth(max) {
        Some((cut, _)) => format!("{}…", &text[..cut]),
        None => text.to_owned(),
    }
}

/// True when a body is longer than `limit` bytes.
fn over(body: &Bytes, limit: u64) -> bool {
    u64::try_from(body.len()).map_or(true, |len| len > limit)
}

/// An error answer with at most [`MAX_ERROR_BODY`] bytes of body (transports other than
/// reqwest's may hand over more; the message needs only the start).
fn truncate_error(resp: http::Response<Bytes>) -> http::Response<Bytes> {
    if resp.status().is_success() || resp.body().len() <= MAX_ERROR_BODY {
        return resp;
    }
    resp.map(|body| body.slice(..MAX_ERROR_BODY))
}

/// True when the answer is an HTML page: says so in `Content-Type`, or starts with `<`.
fn is_html(resp: &http::Response<Bytes>) -> bool {
    let declared = resp
        .headers()
        .get(CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| {
            let v = v.trim_start().to_ascii_lowercase();
            v.starts_with("text/html") || v.starts_with("application/xhtml")
        });
    declared
        || resp
            .body()
            .iter()
            .find(|b| !b.is_ascii_whitespace())
            .is_some_and(|b| *b == b'<')
}

/// What to say about an HTML page where JSON was expected.
fn html_message(method: &Method, url: &Url, status: u16) -> String {
    format!(
        "{method} {}: got an HTML page (HTTP {status}) instead of JSON. A captive portal, a proxy's login or error page, or a server that is not the API answered; check api_url (under [optimizely], or [odp] for ODP), and the proxy (the proxy key, or HTTPS_PROXY / ALL_PROXY)",
        show_origin_path(url)
    )
}

/// `scheme://host[:port]` of a URL: never its credentials, path or query.
pub(crate) fn show_origin(url: &Url) -> String {
    let host = url.host_str().unwrap_or("?");
    match url.port() {
        Some(port) => format!("{}://{host}:{port}", url.scheme()),
        None => format!("{}://{host}", url.scheme()),
    }
}

/// `scheme://host[:port]/path` of a URL: never its credentials or query.
pub(crate) fn show_origin_path(url: &Url) -> String {
    format!("{}{}", show_origin(url), url.path())
}

/// A wait for messages: "900 s", "15 min", "3 h", "115740740740740 days".
fn describe_wait(seconds: u64) -> String {
    match seconds {
        0..120 => format!("{seconds} s"),
        120..7_200 => format!("{} min", seconds / 60),
        7_200..172_800 => format!("{} h", seconds / 3_600),
        _ => format!("{} days", seconds / 86_400),
    }
}

fn body_excerpt(body: &[u8]) -> Option<String> {
    let text = String::from_utf8_lossy(body);
    let text = text.trim();
    if text.is_empty() {
        return None;
    }
    let mut excerpt: String = text.chars().take(MAX_BODY_IN_MESSAGE).collect();
    if excerpt.len() < text.len() {
        excerpt.push('…');
    }
    Some(excerpt)
}

/// The path and query of a URL, as shown in logs and messages (the host is the same for every
/// request and would only add noise).
pub(crate) fn show_path(url: &Url) -> String {
    match url.query() {
        Some(q) => format!("{}?{q}", url.path()),
        None => url.path().to_owned(),
    }
}

impl fmt::Debug for Client {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // The Authorization header value is deliberately left out.
        f.debug_struct("Client")
            .field("api_url", &self.inner.config.api_url.as_str())
            .field("token", &self.inner.config.token)
            .field("limiter", &self.inner.limiter)
            .field("transport", &self.inner.transport)
            .finish()
    }
}
