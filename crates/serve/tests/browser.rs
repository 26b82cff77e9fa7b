//! The status page and a run page in a real headless Chromium (Debian's `chromium`, which
//! `scripts/test` installs; `OPTISYNC_CHROMIUM` names another binary): the DOM it renders
//! holds the sync rows, a failed run's reason and a paused sync, and screenshots at laptop
//! and phone widths are saved under `target/screenshots/` for people to look at.

#![allow(clippy::unwrap_used)]

mod support;

use std::path::PathBuf;
use std::process::Command;

use optisync_serve::http::{Access, router};
use optisync_serve::{Outcome, Schedule, Trigger};
use support::{service, settle, sync};

fn chromium() -> String {
    std::env::var("OPTISYNC_CHROMIUM").unwrap_or_else(|_| "chromium".to_owned())
}

/// Runs headless Chromium on `url` with `args`; returns stdout.
fn browse(args: &[String], url: &str, profile: &std::path::Path) -> String {
    let out = Command::new(chromium())
        .args([
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--disable-quic",
            "--no-first-run",
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-sync",
            "--hide-scrollbars",
        ])
        .arg(format!("--user-data-dir={}", profile.display()))
        .args(args)
        .arg(url)
        .output()
        .unwrap_or_else(|e| {
            panic!("chromium cannot be started ({e}); run scripts/test, which installs it")
        });
    assert!(
        out.status.success(),
        "chromium failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).unwrap()
}

fn screenshots() -> PathBuf {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../target/screenshots");
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_pages_render_in_chromium_with_syncs_a_failed_run_and_a_paused_sync() {
    let dir = tempfile::tempdir().unwrap();
    let state = dir.path().join("state");
    let (service, runner) = service(
        &state,
        "2026-12-03T10:00:00Z",
        vec![
            sync(
                "beta_testers",
                Schedule::cron("*/15 * * * *", None).unwrap(),
            ),
            sync(
                "segments",
                Schedule::every(std::time::Duration::from_secs(600)).unwrap(),
            ),
            sync("events", Schedule::Manual),
        ],
    );
    runner.queue("segments", vec![Outcome::Failed]);
    for name in ["beta_testers", "segments", "events"] {
        service.start_run(name, Trigger::Api).unwrap();
        settle().await;
    }
    assert!(service.wait_idle(std::time::Duration::from_secs(30)).await);
    service.pause("events", "api").unwrap().unwrap();
    let failed = optisync_state::Store::open(&state)
        .unwrap()
        .last_run("segments")
        .unwrap()
        .unwrap()
        .id;
    let succeeded = optisync_state::Store::open(&state)
        .unwrap()
        .last_run("beta_testers")
        .unwrap()
        .unwrap()
        .id;

    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    let app = router(
        service,
        Access {
            token: optisync_serve::http::ApiToken::new("browser-token"),
            reads_need_token: false,
        },
    );
    tokio::spawn(async move { axum::serve(listener, app).await });

    let profile = tempfile::tempdir().unwrap();
    let status_url = format!("{base}/");
    let run_url = format!("{base}/runs/{failed}");
    let plan_url = format!("{base}/runs/{succeeded}");
    let (dom, run_dom, plan_dom) = {
        let profile = profile.path().to_path_buf();
        let (status_url, run_url, plan_url) =
            (status_url.clone(), run_url.clone(), plan_url.clone());
        tokio::task::spawn_blocking(move || {
            (
                browse(&["--dump-dom".into()], &status_url, &profile),
                browse(&["--dump-dom".into()], &run_url, &profile),
                browse(&["--dump-dom".into()], &plan_url, &profile),
            )
        })
        .await
        .unwrap()
    };
    for name in ["beta_testers", "segments", "events"] {
        assert!(
            dom.contains(&format!("data-sync=\"{name}\"")),
            "{name}\n{dom}"
        );
    }
    assert!(dom.contains("badge failed"), "{dom}");
    assert!(dom.contains("it broke"), "the failed run's reason\n{dom}");
    assert!(dom.contains("badge paused"), "{dom}");
    assert!(dom.contains("every 10min"), "{dom}");
    assert!(run_dom.contains("it broke"), "{run_dom}");
    assert!(run_dom.contains(&failed), "{run_dom}");
    // The buttons: a paused sync offers Resume, the others Pause and Run now, all posting
    // the one token field's form.
    assert!(dom.contains("formaction=\"/syncs/events/resume\""), "{dom}");
    assert!(
        dom.contains("formaction=\"/syncs/segments/pause\""),
        "{dom}"
    );
    assert!(
        dom.contains("formaction=\"/syncs/beta_testers/run\""),
        "{dom}"
    );
    assert!(dom.contains("drift: 1 missing, 1 unexpected"), "{dom}");
    // A run page with its plan, steps and drift.
    assert!(plan_dom.contains("id=\"plan\""), "{plan_dom}");
    assert!(plan_dom.contains("1003 ms"), "{plan_dom}");
    assert!(plan_dom.contains("u-&lt;3&gt;"), "{plan_dom}");

    let shots = screenshots();
    let profile = profile.path().to_path_buf();
    tokio::task::spawn_blocking(move || {
        for (name, url, size) in [
            ("status-laptop.png", &status_url, "1280,800"),
            ("status-phone.png", &status_url, "390,844"),
            ("run-laptop.png", &run_url, "1280,800"),
            ("run-plan-laptop.png", &plan_url, "1280,800"),
            ("run-plan-phone.png", &plan_url, "390,844"),
        ] {
            let path = shots.join(name);
            let _ = std::fs::remove_file(&path);
            browse(
                &[
                    format!("--screenshot={}", path.display()),
                    format!("--window-size={size}"),
                ],
                url,
                &profile,
            );
            let bytes = std::fs::read(&path).unwrap();
            assert!(bytes.starts_with(b"\x89PNG"), "{name} is a PNG");
        }
    })
    .await
    .unwrap();
}
