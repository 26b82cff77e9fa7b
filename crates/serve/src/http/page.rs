//! The status page (`GET /`) and a run's page (`GET /runs/{id}`): HTML rendered on the
//! server from askama templates (`templates/`, checked when the crate compiles), readable
//! without JavaScript on a laptop and a phone. The status page refreshes itself every 5
//! seconds while a run is in flight. Read access as for the JSON API.

use askama::Template;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{Html, IntoResponse, Response};
use chrono::Utc;
use optisync_core::RejectedRow;

use super::AppState;
use super::api::{
    RunDocument, SyncDocument, all_sync_documents, refused, run_document, run_with_rejected, time,
};

/// `GET /`.
#[derive(Debug, Template)]
#[template(path = "status.html")]
struct StatusPage {
    syncs: Vec<SyncDocument>,
    refresh: bool,
    generated_at: String,
    version: &'static str,
}

/// `GET /runs/{id}`.
#[derive(Debug, Template)]
#[template(path = "run.html")]
struct RunPage {
    run: RunDocument,
    rejected: Vec<RejectedRow>,
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

pub(crate) async fn status(State(app): State<AppState>, headers: HeaderMap) -> Response {
    if let Err(refusal) = app.access.check_read(&headers) {
        return refused(refusal);
    }
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
    let (run, rejected) = match run_with_rejected(&app.service, &id) {
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
    html(
        RunPage {
            run: run_document(run),
            rejected,
            refresh,
            generated_at: time(Utc::now()),
            version: env!("CARGO_PKG_VERSION"),
        }
        .render(),
    )
}
