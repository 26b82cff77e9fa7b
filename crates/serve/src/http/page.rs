//! The status page (`GET /`) and a run's page (`GET /runs/{id}`): HTML rendered on the
//! server from askama templates (`templates/`, checked when the crate compiles), readable
//! without JavaScript on a laptop and a phone. The status page refreshes itself every 5
//! seconds while a run is in flight. Read access as for the JSON API.

use askama::Template;
use axum::extract::{Form, Path, Query, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{Html, IntoResponse, Redirect, Response};
use chrono::Utc;
use optisync_core::RejectedRow;
use serde::Deserialize;

use super::AppState;
use super::api::{RunDocument, SyncDocument, all_sync_documents, full_run_document, refused, time};
use crate::service::{NotStarted, Service};

/// The most rejected rows a run page lists (`GET /api/runs/{id}` has them all).
pub const REJECTED_SHOWN: usize = 500;

/// `GET /`.
#[derive(Debug, Template)]
#[template(path = "status.html")]
struct StatusPage {
    syncs: Vec<SyncDocument>,
    /// Whether the page offers pause, resume and run (a token is configured).
    writes_enabled: bool,
    /// What the last action from the page did.
    notice: Option<String>,
    refresh: bool,
    generated_at: String,
    version: &'static str,
}

/// `GET /runs/{id}`.
#[derive(Debug, Template)]
#[template(path = "run.html")]
struct RunPage {
    run: RunDocument,
    /// The first [`REJECTED_SHOWN`] rejected rows.
    rejected: Vec<RejectedRow>,
    /// How many rejected rows there are in all.
    rejected_total: usize,
    refresh: bool,
    generated_at: String,
    version: &'static str,
}

fn html(page: Result<String, askama::Error>) -> Response {
    match page {
        Ok(body) => Html(body).into_response(),
        Err(error) => (
            StatusCode::INTERNAL_SERVER_ERROR,
            format!("the page could not be rendered: {error}"),
        )
            .into_response(),
    }
}

fn text(status: StatusCode, message: &str) -> Response {
    (status, Html(format!("<!doctype html><title>optisync</title><p>{message}</p><p><a href=\"/\">All syncs</a></p>"))).into_response()
}

/// The query of the status page after an action: what was done to which sync.
#[derive(Debug, Deserialize)]
pub(crate) struct StatusQuery {
    done: Option<String>,
    sync: Option<String>,
}

/// The fixed sentence for an action done from the page; nothing from the query is shown
/// unless it names a sync of the config.
fn notice(service: &Service, query: &StatusQuery) -> Option<String> {
    let sync = query.sync.as_deref()?;
    let sync = service.syncs().find(|s| s.name == sync)?;
    let what = match query.done.as_deref()? {
        "pause" => "Paused",
        "resume" => "Resumed",
        "run" => "Started a run of",
        _ => return None,
    };
    Some(format!("{what} {}.", sync.name))
}

pub(crate) async fn status(
    State(app): State<AppState>,
    headers: HeaderMap,
    Query(query): Query<StatusQuery>,
) -> Response {
    if let Err(refusal) = app.access.check_read(&headers) {
        return refused(refusal);
    }
    let notice = notice(&app.service, &query);
    let Ok(syncs) = all_sync_documents(&app.service) else {
        return text(
            StatusCode::INTERNAL_SERVER_ERROR,
            "the state store could not be read; see the service's log",
        );
    };
    let refresh = syncs.iter().any(|s| s.running);
    html(
        StatusPage {
            syncs,
            writes_enabled: app.access.writes_enabled(),
            notice,
            refresh,
            generated_at: time(Utc::now()),
            version: env!("CARGO_PKG_VERSION"),
        }
        .render(),
    )
}

pub(crate) async fn run(
    State(app): State<AppState>,
    headers: HeaderMap,
    Path(id): Path<String>,
) -> Response {
    if let Err(refusal) = app.access.check_read(&headers) {
        return refused(refusal);
    }
    let mut run = match full_run_document(&app.service, &id) {
        Ok(Some(found)) => found,
        Ok(None) => return text(StatusCode::NOT_FOUND, "No run has that id."),
        Err(_) => {
            return text(
                StatusCode::INTERNAL_SERVER_ERROR,
                "the state store could not be read; see the service's log",
            );
        }
    };
    let refresh = run.finished_at.is_none();
    let mut rejected = run.rejected.take().unwrap_or_default();
    let rejected_total = rejected.len();
    rejected.truncate(REJECTED_SHOWN);
    html(
        RunPage {
            run,
            rejected,
            rejected_total,
            refresh,
            generated_at: time(Utc::now()),
            version: env!("CARGO_PKG_VERSION"),
        }
        .render(),
    )
}

/// The body of a form posted from the status page.
#[derive(Debug, Deserialize)]
pub(crate) struct ActionForm {
    token: Option<String>,
}

/// `POST /syncs/{name}/{pause|resume|run}` from the status page's buttons: the same rules as
/// the API, the token from the page's token field; answered by a redirect back to the page,
/// which says what was done.
pub(crate) async fn action(
    State(app): State<AppState>,
    headers: HeaderMap,
    Path((name, action)): Path<(String, String)>,
    Form(form): Form<ActionForm>,
) -> Response {
    if !matches!(action.as_str(), "pause" | "resume" | "run") {
        return text(
            StatusCode::NOT_FOUND,
            "No such action: a sync can be paused, resumed or run.",
        );
    }
    match app.access.check_form(&headers, form.token.as_deref()) {
        Ok(()) => {}
        Err(super::auth::Refusal::NoTokenConfigured) => {
            return text(
                StatusCode::FORBIDDEN,
                "Changes from this page are disabled: set [serve] api_token (from the environment or a file) to enable them.",
            );
        }
        Err(super::auth::Refusal::Unauthorized) => {
            return text(
                StatusCode::UNAUTHORIZED,
                "That is not the API token set in [serve] api_token. Go back and type it again.",
            );
        }
    }
    if app.service.live(&name).is_none() {
        return text(StatusCode::NOT_FOUND, "No sync has that name.");
    }
    let result = match action.as_str() {
        "pause" => app
            .service
            .pause(&name, "page")
            .map(|_| ())
            .map_err(NotStarted::State),
        "resume" => app
            .service
            .resume(&name)
            .map(|_| ())
            .map_err(NotStarted::State),
        _ => app.service.trigger(&name, None).map(|_| ()),
    };
    match result {
        Ok(()) => Redirect::to(&format!(
            "/?done={action}&sync={}",
            url::form_urlencoded::byte_serialize(name.as_bytes()).collect::<String>()
        ))
        .into_response(),
        Err(NotStarted::State(_)) => text(
            StatusCode::INTERNAL_SERVER_ERROR,
            "the state store could not be written; see the service's log",
        ),
        Err(reason) => text(StatusCode::CONFLICT, &format!("Not started: {reason}.")),
    }
}
