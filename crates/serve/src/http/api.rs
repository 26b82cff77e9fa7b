//! The JSON API: its documents (each with a JSON Schema, like the command line's `--output
//! json`) and its handlers. Errors have one shape, `{"error": {"kind", "message"}}`, and
//! never quote a secret.

use std::sync::Arc;

use axum::Json;
use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use chrono::{DateTime, SecondsFormat, Utc};
use optisync_core::{Drift, RejectedRow, RunDetails, RunStats};
use optisync_state::{RunFilter, RunRecord};
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use super::AppState;
use super::auth::Refusal;
use crate::schedule::Schedule;
use crate::service::{NotStarted, Service};

/// The most runs one `GET /api/runs` returns.
pub const MAX_RUNS_PER_PAGE: usize = 500;
/// Runs per page when `limit` is not given.
pub const DEFAULT_RUNS_PER_PAGE: usize = 50;
/// The longest `Idempotency-Key` accepted.
pub const MAX_IDEMPOTENCY_KEY: usize = 255;

/// `GET /api/syncs`.
#[derive(Debug, Clone, Serialize, JsonSchema)]
pub struct SyncsDocument {
    /// Every sync of the config, in config order.
    pub syncs: Vec<SyncDocument>,
}

/// One sync: `GET /api/syncs/{name}`, and each entry of `GET /api/syncs`.
#[derive(Debug, Clone, Serialize, JsonSchema)]
pub struct SyncDocument {
    /// Its name.
    pub name: String,
    /// Its object type.
    pub object: String,
    /// Its mode.
    pub mode: String,
    /// When it runs by itself, e.g. `cron "*/15 * * * *" (UTC)`, `every 10min`, `manual`.
    pub schedule: String,
    /// `cron`, `every` or `manual`.
    pub schedule_kind: String,
    /// The next scheduled tick (RFC 3339, UTC), if any.
    pub next_run_at: Option<String>,
    /// Whether it is paused (by the API or the page).
    pub paused: bool,
    /// When it was paused.
    pub paused_at: Option<String>,
    /// Whether a run is in flight.
    pub running: bool,
    /// When the run in flight started.
    pub running_since: Option<String>,
    /// Failed runs in a row.
    pub consecutive_failures: u32,
    /// Until when scheduled ticks are held back after failures.
    pub backing_off_until: Option<String>,
    /// Its newest recorded run.
    pub last_run: Option<RunDocument>,
    /// Rows rejected by its newest run, retried by the next.
    pub rejected_rows_pending: u64,
    /// The drift its newest run found: members of the list that changed outside optisync
    /// (list syncs; absent when there was none).
    pub last_drift: Option<Drift>,
    /// Its newest scheduled tick that did not run, and why.
    pub last_skipped: Option<SkippedDocument>,
}

/// A scheduled tick that did not start a run.
#[derive(Debug, Clone, Serialize, JsonSchema)]
pub struct SkippedDocument {
    /// The tick's time.
    pub tick_at: String,
    /// Why it did not run.
    pub reason: String,
}

/// One run (`GET /api/runs/{id}`, and each entry of `GET /api/runs`).
#[derive(Debug, Clone, Serialize, JsonSchema)]
pub struct RunDocument {
    /// Its id.
    pub id: String,
    /// Its sync.
    pub sync: String,
    /// `running`, `succeeded`, `failed`, `rejected_rows`, `blocked`, `locked` or
    /// `interrupted`.
    pub status: String,
    /// When it started (RFC 3339, UTC).
    pub started_at: String,
    /// When it finished.
    pub finished_at: Option<String>,
    /// How long it took.
    pub duration_ms: Option<u64>,
    /// What it counted.
    pub counts: RunStats,
    /// The error that ended or blocked it.
    pub error: Option<String>,
    /// The rows it rejected (only in `GET /api/runs/{id}`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub rejected: Option<Vec<RejectedRow>>,
    /// Its plan as text, its steps' timings and the drift it found (only in
    /// `GET /api/runs/{id}`, and only for a run that got as far as a plan).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub details: Option<RunDetails>,
}

/// `GET /api/runs`.
#[derive(Debug, Clone, Serialize, JsonSchema)]
pub struct RunsDocument {
    /// Runs, newest first.
    pub runs: Vec<RunDocument>,
    /// Pass as `before` for the next page; absent on the last page.
    pub next_before: Option<String>,
}

/// The answer to `POST /api/syncs/{name}/runs`.
#[derive(Debug, Clone, Serialize, JsonSchema)]
pub struct TriggerDocument {
    /// The sync.
    pub sync: String,
    /// When the run started.
    pub started_at: String,
    /// Whether this answer repeats an earlier one with the same `Idempotency-Key` (no new
    /// run was started).
    pub replayed: bool,
}

/// The answer to pause and resume.
#[derive(Debug, Clone, Serialize, JsonSchema)]
pub struct PauseDocument {
    /// The sync.
    pub sync: String,
    /// Whether it is paused now.
    pub paused: bool,
}

/// Every error of the API.
#[derive(Debug, Clone, Serialize, JsonSchema)]
pub struct ErrorDocument {
    /// The error.
    pub error: ErrorBody,
}

/// What went wrong.
#[derive(Debug, Clone, Serialize, JsonSchema)]
pub struct ErrorBody {
    /// `unauthorized`, `forbidden`, `not_found`, `conflict`, `bad_request` or `internal`.
    pub kind: String,
    /// What is wrong and how to fix it.
    pub message: String,
}

/// An error answer.
pub(crate) fn error(status: StatusCode, kind: &str, message: impl Into<String>) -> Response {
    let mut response = (
        status,
        Json(ErrorDocument {
            error: ErrorBody {
                kind: kind.to_owned(),
                message: message.into(),
            },
        }),
    )
        .into_response();
    if status == StatusCode::UNAUTHORIZED {
        response
            .headers_mut()
            .insert(header::WWW_AUTHENTICATE, HeaderValue::from_static("Bearer"));
    }
    response
}

pub(crate) fn refused(refusal: Refusal) -> Response {
    match refusal {
        Refusal::Unauthorized => error(
            StatusCode::UNAUTHORIZED,
            "unauthorized",
            "this endpoint needs the header `Authorization: Bearer <token>` with the token set \
             in [serve] api_token",
        ),
        Refusal::NoTokenConfigured => error(
            StatusCode::FORBIDDEN,
            "forbidden",
            "this endpoint is disabled: set [serve] api_token (from the environment or a file) \
             to enable it",
        ),
    }
}

fn unknown_sync(name: &str) -> Response {
    // Sync names come from the config, not from secrets; an unknown one is echoed only
    // when short and plain, so the answer never carries a pasted blob.
    let shown = if name.len() <= 64
        && name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || "_-.".contains(c))
    {
        format!("no sync named \"{name}\"")
    } else {
        "no sync of that name".to_owned()
    };
    error(
        StatusCode::NOT_FOUND,
        "not_found",
        format!("{shown}; GET /api/syncs lists them"),
    )
}

fn internal(message: impl std::fmt::Display) -> Response {
    error(
        StatusCode::INTERNAL_SERVER_ERROR,
        "internal",
        format!("the state store failed: {message}"),
    )
}

pub(crate) fn time(at: DateTime<Utc>) -> String {
    at.to_rfc3339_opts(SecondsFormat::Millis, true)
}

pub(crate) fn run_document(run: RunRecord) -> RunDocument {
    RunDocument {
        status: run.status.as_str().to_owned(),
        started_at: time(run.started_at),
        finished_at: run.finished_at.map(time),
        duration_ms: run.duration_ms,
        counts: run.counts,
        error: run.error,
        id: run.id,
        sync: run.sync,
        rejected: None,
        details: None,
    }
}

/// The document of one sync, from the service's memory and the state store.
pub(crate) fn sync_document(service: &Service, name: &str) -> Result<SyncDocument, String> {
    let Some(info) = service.syncs().find(|s| s.name == name) else {
        return Err(format!("no sync {name}"));
    };
    let live = service.live(name).unwrap_or_default();
    let store = service.store();
    let pause = store.pause(name).map_err(|e| e.to_string())?;
    let last_run = store.last_run(name).map_err(|e| e.to_string())?;
    let pending = store
        .pending_rejected_count(name)
        .map_err(|e| e.to_string())?;
    let last_drift = match &last_run {
        Some(run) => store
            .run_drift(&run.id)
            .map_err(|e| e.to_string())?
            .filter(|drift| drift.missing_count > 0 || drift.unexpected_count > 0),
        None => None,
    };
    let last_skipped = store
        .skipped_ticks(name, 1)
        .map_err(|e| e.to_string())?
        .pop();
    drop(store);
    Ok(SyncDocument {
        name: info.name.clone(),
        object: info.object.clone(),
        mode: info.mode.clone(),
        schedule: info.schedule.to_string(),
        schedule_kind: match info.schedule {
            Schedule::Cron { .. } => "cron",
            Schedule::Every(_) => "every",
            Schedule::Manual => "manual",
        }
        .to_owned(),
        next_run_at: if pause.is_some() {
            None
        } else {
            live.next_tick.map(time)
        },
        paused: pause.is_some(),
        paused_at: pause.map(|p| time(p.paused_at)),
        running: live.running.is_some(),
        running_since: live.running.map(time),
        consecutive_failures: live.consecutive_failures,
        backing_off_until: service.backing_off_until(name).map(time),
        last_run: last_run.map(run_document),
        rejected_rows_pending: pending,
        last_drift,
        last_skipped: last_skipped.map(|s| SkippedDocument {
            tick_at: time(s.tick_at),
            reason: s.reason,
        }),
    })
}

/// The document of every sync, in config order.
pub(crate) fn all_sync_documents(service: &Service) -> Result<Vec<SyncDocument>, String> {
    let names: Vec<String> = service.syncs().map(|s| s.name.clone()).collect();
    names
        .iter()
        .map(|name| sync_document(service, name))
        .collect()
}

/// A run with the rows it rejected and its details, `None` for an unknown id.
pub(crate) fn full_run_document(
    service: &Service,
    id: &str,
) -> Result<Option<RunDocument>, String> {
    let store = service.store();
    let Some(run) = store.run(id).map_err(|e| e.to_string())? else {
        return Ok(None);
    };
    let rejected = store.rejected_rows(&run.id).map_err(|e| e.to_string())?;
    let details = store.run_details(&run.id).map_err(|e| e.to_string())?;
    drop(store);
    let mut doc = run_document(run);
    doc.rejected = Some(rejected);
    doc.details = details;
    Ok(Some(doc))
}

pub(crate) async fn list_syncs(State(app): State<AppState>, headers: HeaderMap) -> Response {
    if let Err(refusal) = app.access.check_read(&headers) {
        return refused(refusal);
    }
    match all_sync_documents(&app.service) {
        Ok(syncs) => Json(SyncsDocument { syncs }).into_response(),
        Err(e) => internal(e),
    }
}

pub(crate) async fn get_sync(
    State(app): State<AppState>,
    headers: HeaderMap,
    Path(name): Path<String>,
) -> Response {
    if let Err(refusal) = app.access.check_read(&headers) {
        return refused(refusal);
    }
    if app.service.live(&name).is_none() {
        return unknown_sync(&name);
    }
    match sync_document(&app.service, &name) {
        Ok(doc) => Json(doc).into_response(),
        Err(e) => internal(e),
    }
}

/// The query of `GET /api/runs`.
#[derive(Debug, Deserialize)]
pub(crate) struct RunsQuery {
    sync: Option<String>,
    limit: Option<usize>,
    before: Option<String>,
}

pub(crate) async fn list_runs(
    State(app): State<AppState>,
    headers: HeaderMap,
    Query(query): Query<RunsQuery>,
) -> Response {
    if let Err(refusal) = app.access.check_read(&headers) {
        return refused(refusal);
    }
    if let Some(sync) = &query.sync
        && app.service.live(sync).is_none()
    {
        return unknown_sync(sync);
    }
    let limit = query.limit.unwrap_or(DEFAULT_RUNS_PER_PAGE);
    if limit == 0 || limit > MAX_RUNS_PER_PAGE {
        return error(
            StatusCode::BAD_REQUEST,
            "bad_request",
            format!("limit must be between 1 and {MAX_RUNS_PER_PAGE}"),
        );
    }
    // One more than asked says whether there is a next page.
    let filter = RunFilter {
        sync: query.sync,
        limit: Some(limit + 1),
        before: query.before,
    };
    let result = app.service.store().runs(&filter);
    let mut runs = match result {
        Ok(runs) => runs,
        Err(optisync_state::Error::RunNotFound(_)) => {
            return error(
                StatusCode::BAD_REQUEST,
                "bad_request",
                "before must be the id of a run, e.g. the next_before of the previous page",
            );
        }
        Err(e) => return internal(e),
    };
    let next_before = if runs.len() > limit {
        runs.truncate(limit);
        runs.last().map(|run| run.id.clone())
    } else {
        None
    };
    Json(RunsDocument {
        runs: runs.into_iter().map(run_document).collect(),
        next_before,
    })
    .into_response()
}

pub(crate) async fn get_run(
    State(app): State<AppState>,
    headers: HeaderMap,
    Path(id): Path<String>,
) -> Response {
    if let Err(refusal) = app.access.check_read(&headers) {
        return refused(refusal);
    }
    match full_run_document(&app.service, &id) {
        Ok(Some(doc)) => Json(doc).into_response(),
        Ok(None) => error(
            StatusCode::NOT_FOUND,
            "not_found",
            "no run of that id; GET /api/runs lists them",
        ),
        Err(e) => internal(e),
    }
}

pub(crate) async fn trigger(
    State(app): State<AppState>,
    headers: HeaderMap,
    Path(name): Path<String>,
) -> Response {
    if let Err(refusal) = app.access.check_write(&headers) {
        return refused(refusal);
    }
    let key = match headers.get("idempotency-key") {
        None => None,
        Some(value) => match value.to_str() {
            Ok(key) if !key.is_empty() && key.len() <= MAX_IDEMPOTENCY_KEY => Some(key),
            _ => {
                return error(
                    StatusCode::BAD_REQUEST,
                    "bad_request",
                    format!(
                        "Idempotency-Key must be 1 to {MAX_IDEMPOTENCY_KEY} visible ASCII \
                         characters, e.g. a UUID"
                    ),
                );
            }
        },
    };
    match app.service.trigger(&name, key) {
        Ok((started_at, replayed)) => (
            if replayed {
                StatusCode::OK
            } else {
                StatusCode::ACCEPTED
            },
            Json(TriggerDocument {
                sync: name,
                started_at: time(started_at),
                replayed,
            }),
        )
            .into_response(),
        Err(NotStarted::Unknown) => unknown_sync(&name),
        Err(NotStarted::State(e)) => internal(e),
        Err(reason @ NotStarted::Paused) => error(
            StatusCode::CONFLICT,
            "conflict",
            format!("{reason}; POST /api/syncs/{name}/resume first"),
        ),
        Err(reason) => error(StatusCode::CONFLICT, "conflict", reason.to_string()),
    }
}

pub(crate) async fn pause(
    State(app): State<AppState>,
    headers: HeaderMap,
    Path(name): Path<String>,
) -> Response {
    set_paused(app, headers, name, true)
}

pub(crate) async fn resume(
    State(app): State<AppState>,
    headers: HeaderMap,
    Path(name): Path<String>,
) -> Response {
    set_paused(app, headers, name, false)
}

fn set_paused(app: AppState, headers: HeaderMap, name: String, paused: bool) -> Response {
    if let Err(refusal) = app.access.check_write(&headers) {
        return refused(refusal);
    }
    let result = if paused {
        app.service.pause(&name, "api")
    } else {
        app.service.resume(&name)
    };
    match result {
        Ok(Some(())) => Json(PauseDocument { sync: name, paused }).into_response(),
        Ok(None) => unknown_sync(&name),
        Err(e) => internal(e),
    }
}

/// `GET /healthz`: the process is up.
pub(crate) async fn healthz() -> Response {
    Json(serde_json::json!({ "status": "ok" })).into_response()
}

/// `GET /readyz`: the state store takes writes.
pub(crate) async fn readyz(State(app): State<AppState>) -> Response {
    let service: &Arc<Service> = &app.service;
    match service.store().check_writable() {
        Ok(()) => Json(serde_json::json!({ "status": "ready" })).into_response(),
        Err(e) => (
            StatusCode::SERVICE_UNAVAILABLE,
            Json(serde_json::json!({
                "status": "not_ready",
                "reason": format!("the state store does not take writes: {e}"),
            })),
        )
            .into_response(),
    }
}

/// `GET /metrics`: Prometheus' text format. Open like the other read endpoints.
pub(crate) async fn metrics(State(app): State<AppState>, headers: HeaderMap) -> Response {
    if let Err(refusal) = app.access.check_read(&headers) {
        return refused(refusal);
    }
    (
        [(
            header::CONTENT_TYPE,
            HeaderValue::from_static("text/plain; version=0.0.4; charset=utf-8"),
        )],
        app.service.metrics().render(),
    )
        .into_response()
}
