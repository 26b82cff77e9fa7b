//! Alerts reach a local webhook receiver signed, exactly once per change of a sync's health,
//! in order; a webhook that is down delays no run. Real time, real HTTP: every wait is on an
//! event (a run ended, the receiver got a request), under a deadline.

#![allow(clippy::unwrap_used)]

mod support;

use std::sync::Arc;
use std::time::Duration;

use axum::body::Bytes;
use axum::http::HeaderMap;
use axum::routing::post;
use optisync_serve::alerts::{AlertSettings, SIGNATURE_HEADER, Webhook, signature};
use optisync_serve::clock::Clock;
use optisync_serve::service::Trigger;
use optisync_serve::{Outcome, Schedule, Service};
use serde_json::Value;
use support::{FakeRunner, sync};
use tokio::sync::mpsc;

const SECRET: &str = "webhook-secret";

/// A receiver on loopback; every request it gets comes out of the channel.
async fn receiver() -> (String, mpsc::UnboundedReceiver<(HeaderMap, Bytes)>) {
    let (tx, rx) = mpsc::unbounded_channel();
    let app = axum::Router::new().route(
        "/hook",
        post(move |headers: HeaderMap, body: Bytes| {
            let tx = tx.clone();
            async move {
                let _ = tx.send((headers, body));
                "ok"
            }
        }),
    );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let address = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, app).await });
    (format!("http://{address}/hook"), rx)
}

async fn run_once(service: &Arc<Service>, sync: &str) {
    service.start_run(sync, Trigger::Api).unwrap();
    assert!(service.wait_idle(Duration::from_secs(60)).await);
}

async fn next_alert(rx: &mut mpsc::UnboundedReceiver<(HeaderMap, Bytes)>) -> Value {
    let (headers, body) = tokio::time::timeout(Duration::from_secs(60), rx.recv())
        .await
        .expect("an alert arrives")
        .unwrap();
    let header = headers[SIGNATURE_HEADER].to_str().unwrap();
    let timestamp: i64 = header
        .strip_prefix("t=")
        .and_then(|rest| rest.split(',').next())
        .unwrap()
        .parse()
        .unwrap();
    assert_eq!(
        header,
        signature(SECRET, timestamp, &body),
        "a valid signature"
    );
    assert!((chrono::Utc::now().timestamp() - timestamp).abs() < 300);
    serde_json::from_slice(&body).unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn alerts_arrive_signed_once_per_change_and_a_dead_webhook_delays_nothing() {
    let (url, mut rx) = receiver().await;
    // A port nobody listens on: every delivery there fails and is retried in the background.
    let dead = {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        format!("http://{}/hook", listener.local_addr().unwrap())
    };
    let dir = tempfile::tempdir().unwrap();
    let state = dir.path().join("state");
    let clock = Clock::System;
    let runner = FakeRunner::new(clock.clone(), &state);
    let service = Service::new(
        vec![sync("beta", Schedule::Manual)],
        runner.clone(),
        optisync_state::Store::open(&state).unwrap(),
        clock,
    );
    service.enable_alerts(AlertSettings {
        webhooks: vec![
            Webhook {
                url: dead,
                secret: Some(SECRET.into()),
            },
            Webhook {
                url,
                secret: Some(SECRET.into()),
            },
        ],
        rejected_rows_over: None,
        stale_after_intervals: 3,
    });
    runner.queue(
        "beta",
        vec![
            Outcome::Succeeded,
            Outcome::Failed,
            Outcome::Failed,
            Outcome::Succeeded,
            Outcome::Succeeded,
            Outcome::Failed,
        ],
    );
    // All six runs end without waiting for any delivery.
    for _ in 0..6 {
        run_once(&service, "beta").await;
    }
    assert_eq!(runner.seen().len(), 6);
    // Three changes of state, in order, each once (one webhook's deliveries are sequential),
    // whatever the dead webhook is doing.
    let first = next_alert(&mut rx).await;
    assert_eq!(first["type"], "sync_failing");
    assert_eq!(first["sync"], "beta");
    assert_eq!(first["result"], "failed");
    assert_eq!(first["message"], "it broke");
    let second = next_alert(&mut rx).await;
    assert_eq!(second["type"], "sync_recovered");
    let third = next_alert(&mut rx).await;
    assert_eq!(third["type"], "sync_failing");
}
