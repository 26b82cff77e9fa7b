//! The JSON API through the router: access rules, triggers (409 while running, idempotency
//! keys), pause and resume, runs paging, health and readiness.

#![allow(clippy::unwrap_used)]

mod support;

use axum::body::Body;
use axum::http::{Request, StatusCode};
use http_body_util::BodyExt;
use optisync_serve::Schedule;
use optisync_serve::http::{Access, ApiToken, router};
use serde_json::Value;
use support::{service, settle, sync};
use tower::ServiceExt;

const TOKEN: &str = "serve-token-1234";

async fn call(
    app: &axum::Router,
    method: &str,
    uri: &str,
    token: Option<&str>,
    key: Option<&str>,
) -> (StatusCode, Value) {
    let mut request = Request::builder().method(method).uri(uri);
    if let Some(token) = token {
        request = request.header("authorization", format!("Bearer {token}"));
    }
    if let Some(key) = key {
        request = request.header("idempotency-key", key);
    }
    let response = app
        .clone()
        .oneshot(request.body(Body::empty()).unwrap())
        .await
        .unwrap();
    let status = response.status();
    let bytes = response.into_body().collect().await.unwrap().to_bytes();
    let body = serde_json::from_slice(&bytes).unwrap_or(Value::Null);
    (status, body)
}

fn access(reads_need_token: bool) -> Access {
    Access {
        token: ApiToken::new(TOKEN),
        reads_need_token,
    }
}

#[tokio::test(start_paused = true)]
async fn triggers_need_the_token_and_never_run_a_sync_twice_at_once() {
    let dir = tempfile::tempdir().unwrap();
    let state = dir.path().join("state");
    let (service, runner) = service(
        &state,
        "2026-12-03T10:00:00Z",
        vec![sync("beta", Schedule::Manual)],
    );
    let hold = runner.hold_runs();
    let app = router(service.clone(), access(false));

    let (status, body) = call(&app, "POST", "/api/syncs/beta/runs", None, None).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    assert_eq!(body["error"]["kind"], "unauthorized");
    assert!(!body.to_string().contains(TOKEN));
    let (status, body) = call(&app, "POST", "/api/syncs/beta/runs", Some("wrong"), None).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    assert!(!body.to_string().contains(TOKEN));

    let (status, body) = call(&app, "POST", "/api/syncs/nope/runs", Some(TOKEN), None).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    assert!(body["error"]["message"].as_str().unwrap().contains("nope"));

    let (status, body) = call(
        &app,
        "POST",
        "/api/syncs/beta/runs",
        Some(TOKEN),
        Some("k1"),
    )
    .await;
    assert_eq!(status, StatusCode::ACCEPTED, "{body}");
    assert_eq!(body["replayed"], false);
    settle().await;
    assert_eq!(runner.seen().len(), 1);

    // The same key again: the first answer, no new run.
    let (status, again) = call(
        &app,
        "POST",
        "/api/syncs/beta/runs",
        Some(TOKEN),
        Some("k1"),
    )
    .await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(again["replayed"], true);
    assert_eq!(again["started_at"], body["started_at"]);

    // Another key while the run is in flight: 409.
    let (status, body) = call(
        &app,
        "POST",
        "/api/syncs/beta/runs",
        Some(TOKEN),
        Some("k2"),
    )
    .await;
    assert_eq!(status, StatusCode::CONFLICT);
    assert!(
        body["error"]["message"]
            .as_str()
            .unwrap()
            .contains("in flight"),
        "{body}"
    );
    let (_, doc) = call(&app, "GET", "/api/syncs/beta", None, None).await;
    assert_eq!(doc["running"], true);

    hold.add_permits(10);
    settle().await;
    assert_eq!(service.in_flight(), 0);
    let (_, doc) = call(&app, "GET", "/api/syncs/beta", None, None).await;
    assert_eq!(doc["running"], false);
    assert_eq!(doc["last_run"]["status"], "succeeded");
    assert_eq!(doc["schedule"], "manual");
    assert_eq!(runner.seen().len(), 1);
}

#[tokio::test(start_paused = true)]
async fn pause_and_resume_through_the_api() {
    let dir = tempfile::tempdir().unwrap();
    let state = dir.path().join("state");
    let (service, _runner) = service(
        &state,
        "2026-12-03T10:00:00Z",
        vec![sync("beta", Schedule::cron("*/15 * * * *", None).unwrap())],
    );
    let app = router(service.clone(), access(false));
    let (status, _) = call(&app, "POST", "/api/syncs/beta/pause", None, None).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    let (status, body) = call(&app, "POST", "/api/syncs/beta/pause", Some(TOKEN), None).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(body["paused"], true);
    let (_, doc) = call(&app, "GET", "/api/syncs", None, None).await;
    assert_eq!(doc["syncs"][0]["paused"], true);
    let (status, body) = call(&app, "POST", "/api/syncs/beta/runs", Some(TOKEN), None).await;
    assert_eq!(status, StatusCode::CONFLICT);
    assert!(
        body["error"]["message"]
            .as_str()
            .unwrap()
            .contains("resume")
    );
    let (status, _) = call(&app, "POST", "/api/syncs/beta/resume", Some(TOKEN), None).await;
    assert_eq!(status, StatusCode::OK);
    let (_, doc) = call(&app, "GET", "/api/syncs/beta", None, None).await;
    assert_eq!(doc["paused"], false);
    let (status, _) = call(&app, "POST", "/api/syncs/zzz/pause", Some(TOKEN), None).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
}

#[tokio::test(start_paused = true)]
async fn without_a_token_writes_are_forbidden_and_reads_can_require_it() {
    let dir = tempfile::tempdir().unwrap();
    let state = dir.path().join("state");
    let (service, _runner) = service(
        &state,
        "2026-12-03T10:00:00Z",
        vec![sync("beta", Schedule::Manual)],
    );
    let open = router(
        service.clone(),
        Access {
            token: None,
            reads_need_token: false,
        },
    );
    let (status, body) = call(&open, "POST", "/api/syncs/beta/runs", Some("x"), None).await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    assert!(
        body["error"]["message"]
            .as_str()
            .unwrap()
            .contains("api_token")
    );
    let (status, _) = call(&open, "GET", "/api/syncs", None, None).await;
    assert_eq!(status, StatusCode::OK);

    let closed = router(service, access(true));
    for uri in ["/api/syncs", "/api/syncs/beta", "/api/runs", "/api/runs/x"] {
        let (status, _) = call(&closed, "GET", uri, None, None).await;
        assert_eq!(status, StatusCode::UNAUTHORIZED, "{uri}");
    }
    let (status, _) = call(&closed, "GET", "/api/syncs", Some(TOKEN), None).await;
    assert_eq!(status, StatusCode::OK);
    // Health and readiness stay open for probes.
    let (status, body) = call(&closed, "GET", "/healthz", None, None).await;
    assert_eq!(
        (status, body["status"].as_str()),
        (StatusCode::OK, Some("ok"))
    );
    let (status, body) = call(&closed, "GET", "/readyz", None, None).await;
    assert_eq!(
        (status, body["status"].as_str()),
        (StatusCode::OK, Some("ready"))
    );
}

#[tokio::test(start_paused = true)]
async fn runs_page_newest_first_with_a_cursor() {
    let dir = tempfile::tempdir().unwrap();
    let state = dir.path().join("state");
    let (service, _runner) = service(
        &state,
        "2026-12-03T10:00:00Z",
        vec![sync("a", Schedule::Manual), sync("b", Schedule::Manual)],
    );
    let mut ids = Vec::new();
    {
        let mut store = optisync_state::Store::open(&state).unwrap();
        for i in 0..5 {
            ids.push(store.start_run(if i % 2 == 0 { "a" } else { "b" }).unwrap());
        }
        store
            .add_rejected_rows(
                &ids[4],
                &[optisync_state::RejectedRow {
                    primary_key: Some("u1".into()),
                    field: Some("user_id".into()),
                    reason: "contains a comma".into(),
                    request_id: None,
                }],
            )
            .unwrap();
    }
    let app = router(service, access(false));
    let (status, page) = call(&app, "GET", "/api/runs?limit=2", None, None).await;
    assert_eq!(status, StatusCode::OK);
    let got: Vec<&str> = page["runs"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["id"].as_str().unwrap())
        .collect();
    assert_eq!(got, [ids[4].as_str(), ids[3].as_str()]);
    let next = page["next_before"].as_str().unwrap();
    let (_, page) = call(
        &app,
        "GET",
        &format!("/api/runs?limit=2&before={next}"),
        None,
        None,
    )
    .await;
    let got: Vec<&str> = page["runs"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["id"].as_str().unwrap())
        .collect();
    assert_eq!(got, [ids[2].as_str(), ids[1].as_str()]);
    let (_, page) = call(&app, "GET", "/api/runs?sync=a", None, None).await;
    assert_eq!(page["runs"].as_array().unwrap().len(), 3);
    assert!(page["next_before"].is_null());
    for bad in [
        "/api/runs?limit=0",
        "/api/runs?limit=501",
        "/api/runs?before=nope",
    ] {
        let (status, _) = call(&app, "GET", bad, None, None).await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{bad}");
    }
    let (status, _) = call(&app, "GET", "/api/runs?sync=zzz", None, None).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    let (status, run) = call(&app, "GET", &format!("/api/runs/{}", ids[4]), None, None).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(run["sync"], "a");
    assert_eq!(run["status"], "running");
    assert_eq!(run["rejected"][0]["reason"], "contains a comma");
    let (status, _) = call(&app, "GET", "/api/runs/nope", None, None).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
}

async fn page(app: &axum::Router, uri: &str) -> (StatusCode, String) {
    let response = app
        .clone()
        .oneshot(Request::get(uri).body(Body::empty()).unwrap())
        .await
        .unwrap();
    let status = response.status();
    let bytes = response.into_body().collect().await.unwrap().to_bytes();
    (status, String::from_utf8(bytes.to_vec()).unwrap())
}

#[tokio::test(start_paused = true)]
async fn the_pages_show_syncs_runs_and_rejected_rows_escaped() {
    let dir = tempfile::tempdir().unwrap();
    let state = dir.path().join("state");
    let (service, runner) = service(
        &state,
        "2026-12-03T10:00:00Z",
        vec![
            sync("beta", Schedule::cron("*/15 * * * *", None).unwrap()),
            sync("events", Schedule::Manual),
        ],
    );
    runner.queue("events", vec![optisync_serve::Outcome::Failed]);
    service
        .start_run("events", optisync_serve::Trigger::Api)
        .unwrap();
    settle().await;
    service.pause("beta", "api").unwrap().unwrap();
    let run_id = {
        let store = optisync_state::Store::open(&state).unwrap();
        store.last_run("events").unwrap().unwrap().id
    };
    {
        let mut store = optisync_state::Store::open(&state).unwrap();
        store
            .add_rejected_rows(
                &run_id,
                &[optisync_state::RejectedRow {
                    primary_key: Some("<script>alert(1)</script>".into()),
                    field: Some("key".into()),
                    reason: "longer than 64 characters".into(),
                    request_id: Some("req-1".into()),
                }],
            )
            .unwrap();
    }
    let app = router(service, access(false));
    let (status, html) = page(&app, "/").await;
    assert_eq!(status, StatusCode::OK);
    assert!(html.contains("data-sync=\"beta\""), "{html}");
    assert!(html.contains("badge paused"), "{html}");
    assert!(html.contains("badge failed"), "{html}");
    assert!(html.contains("it broke"), "{html}");
    assert!(html.contains(&format!("/runs/{run_id}")), "{html}");
    // Nothing in flight: no refresh.
    assert!(!html.contains("http-equiv=\"refresh\""));
    let (status, html) = page(&app, &format!("/runs/{run_id}")).await;
    assert_eq!(status, StatusCode::OK);
    assert!(html.contains("longer than 64 characters"), "{html}");
    assert!(
        !html.contains("<script>alert(1)</script>"),
        "row keys are escaped"
    );
    assert!(
        html.contains("&#60;script&#62;") || html.contains("&lt;script&gt;"),
        "{html}"
    );
    let (status, _) = page(&app, "/runs/nope").await;
    assert_eq!(status, StatusCode::NOT_FOUND);
}

async fn post_form(app: &axum::Router, uri: &str, body: &str) -> (StatusCode, String, String) {
    let response = app
        .clone()
        .oneshot(
            Request::post(uri)
                .header("content-type", "application/x-www-form-urlencoded")
                .body(Body::from(body.to_owned()))
                .unwrap(),
        )
        .await
        .unwrap();
    let status = response.status();
    let location = response
        .headers()
        .get("location")
        .map(|v| v.to_str().unwrap().to_owned())
        .unwrap_or_default();
    let bytes = response.into_body().collect().await.unwrap().to_bytes();
    (status, location, String::from_utf8(bytes.to_vec()).unwrap())
}

#[tokio::test(start_paused = true)]
async fn the_page_buttons_pause_resume_and_run_with_the_typed_token_only() {
    let dir = tempfile::tempdir().unwrap();
    let state = dir.path().join("state");
    let (service, runner) = service(
        &state,
        "2026-12-03T10:00:00Z",
        vec![sync("beta", Schedule::Manual)],
    );
    let app = router(service.clone(), access(false));
    let (_, html) = page(&app, "/").await;
    assert!(html.contains("formaction=\"/syncs/beta/pause\""), "{html}");
    assert!(html.contains("formaction=\"/syncs/beta/run\""), "{html}");
    assert!(html.contains("type=\"password\""), "{html}");
    assert!(!html.contains(TOKEN), "the page never holds the token");

    // A wrong or missing token changes nothing and says nothing of the right one.
    for body in ["token=wrong", "token=", ""] {
        let (status, _, text) = post_form(&app, "/syncs/beta/pause", body).await;
        assert_eq!(status, StatusCode::UNAUTHORIZED, "{body}");
        assert!(!text.contains(TOKEN));
    }
    assert!(!service.is_paused("beta").unwrap());

    let (status, location, _) =
        post_form(&app, "/syncs/beta/pause", &format!("token={TOKEN}")).await;
    assert_eq!(status, StatusCode::SEE_OTHER);
    assert_eq!(location, "/?done=pause&sync=beta");
    assert!(service.is_paused("beta").unwrap());
    let (_, html) = page(&app, &location).await;
    assert!(html.contains("Paused beta."), "{html}");
    assert!(html.contains("formaction=\"/syncs/beta/resume\""), "{html}");
    // A paused sync does not run.
    let (status, _, text) = post_form(&app, "/syncs/beta/run", &format!("token={TOKEN}")).await;
    assert_eq!(status, StatusCode::CONFLICT);
    assert!(text.contains("paused"), "{text}");

    let (status, location, _) =
        post_form(&app, "/syncs/beta/resume", &format!("token={TOKEN}")).await;
    assert_eq!(
        (status, location.as_str()),
        (StatusCode::SEE_OTHER, "/?done=resume&sync=beta")
    );
    assert!(!service.is_paused("beta").unwrap());
    let (status, location, _) = post_form(&app, "/syncs/beta/run", &format!("token={TOKEN}")).await;
    assert_eq!(
        (status, location.as_str()),
        (StatusCode::SEE_OTHER, "/?done=run&sync=beta")
    );
    settle().await;
    assert_eq!(runner.seen_at("beta").len(), 1);

    // Unknown syncs and actions; a notice naming no sync of the config shows nothing.
    let (status, _, _) = post_form(&app, "/syncs/nope/pause", &format!("token={TOKEN}")).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    let (status, _, _) = post_form(&app, "/syncs/beta/delete", &format!("token={TOKEN}")).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    let (_, html) = page(&app, "/?done=pause&sync=%3Cb%3Eevil").await;
    assert!(!html.contains("evil"), "{html}");

    // Without a token configured the page offers no buttons, and posts are refused.
    let open = router(
        service,
        Access {
            token: None,
            reads_need_token: false,
        },
    );
    let (_, html) = page(&open, "/").await;
    assert!(!html.contains("formaction"), "{html}");
    assert!(html.contains("needs [serve] api_token"), "{html}");
    let (status, _, _) = post_form(&open, "/syncs/beta/pause", "token=anything").await;
    assert_eq!(status, StatusCode::FORBIDDEN);
}

#[tokio::test(start_paused = true)]
async fn a_run_shows_its_plan_steps_and_drift() {
    let dir = tempfile::tempdir().unwrap();
    let state = dir.path().join("state");
    let (service, _runner) = service(
        &state,
        "2026-12-03T10:00:00Z",
        vec![sync("beta", Schedule::Manual)],
    );
    service
        .start_run("beta", optisync_serve::Trigger::Api)
        .unwrap();
    settle().await;
    let app = router(service, access(false));
    let (_, sync) = call(&app, "GET", "/api/syncs/beta", None, None).await;
    assert_eq!(sync["last_drift"]["missing_count"], 1, "{sync}");
    let run_id = sync["last_run"]["id"].as_str().unwrap().to_owned();
    assert!(
        sync["last_run"].get("details").is_none(),
        "details only in a run's own document"
    );
    let (status, run) = call(&app, "GET", &format!("/api/runs/{run_id}"), None, None).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(run["details"]["steps"][2]["step"], "send", "{run}");
    assert_eq!(run["details"]["steps"][2]["ms"], 1003, "{run}");
    assert!(
        run["details"]["plan_text"]
            .as_str()
            .unwrap()
            .contains("u-<3>")
    );

    let (_, html) = page(&app, &format!("/runs/{run_id}")).await;
    assert!(html.contains("id=\"plan\""), "{html}");
    assert!(
        html.contains("u-&#60;3&#62;") || html.contains("u-&lt;3&gt;"),
        "plan text is escaped\n{html}"
    );
    assert!(html.contains("1003 ms"), "{html}");
    assert!(html.contains("1 missing"), "{html}");
    let (_, html) = page(&app, "/").await;
    assert!(html.contains("drift: 1 missing, 1 unexpected"), "{html}");
}
