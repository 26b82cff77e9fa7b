//! Alerts on a change of state, never on every run: a sync going from healthy to failing (a
//! run ending in the exit-code classes 1, 3, 5 or 7: failed, rejected rows, blocked), its
//! recovery (the next run that succeeds), rejected rows over a threshold, and "no successful
//! run for N times its interval". Each alert goes to every webhook as JSON signed with
//! HMAC-SHA256, or in Slack's incoming-webhook format when the URL is Slack's.
//!
//! Delivery is one queue per webhook, each worked off by a task of its own, with retries and
//! backoff: a webhook that is down or slow never delays a run nor another webhook, and a full
//! queue drops the alert with a log line rather than holding anyone up.
//!
//! Signature: the header `X-Optisync-Signature: t=<unix seconds>,v1=<hex>` where `<hex>` is
//! HMAC-SHA256 over `<unix seconds>.<body>` with the webhook's secret. A receiver recomputes
//! it, compares in constant time, and refuses timestamps older than a few minutes.

use std::collections::HashMap;
use std::fmt;
use std::sync::Mutex;
use std::time::Duration;

use chrono::{DateTime, Utc};
use hmac::{KeyInit, Mac, SimpleHmac};
use serde::Serialize;
use sha2::Sha256;
use tokio::sync::mpsc;

use crate::runner::{Outcome, RunOutcome};

/// Alerts waiting for delivery at most; more are dropped (and logged).
pub const QUEUE: usize = 1000;
/// Delivery attempts per alert and webhook.
pub const ATTEMPTS: u32 = 5;
/// The wait before the second attempt; it doubles for each next one.
pub const FIRST_RETRY: Duration = Duration::from_secs(1);
/// How long one delivery attempt may take.
pub const TIMEOUT: Duration = Duration::from_secs(10);
/// The header carrying the signature.
pub const SIGNATURE_HEADER: &str = "X-Optisync-Signature";

/// Where alerts go.
#[derive(Clone)]
pub struct Webhook {
    /// The URL (it may hold a secret, as Slack's do: never printed).
    pub url: String,
    /// The HMAC key; unsigned without one.
    pub secret: Option<String>,
}

impl fmt::Debug for Webhook {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Webhook(<redacted>)")
    }
}

impl Webhook {
    /// Whether the URL is a Slack incoming webhook (then the body is Slack's format).
    pub fn is_slack(&self) -> bool {
        url::Url::parse(&self.url)
            .ok()
            .and_then(|u| {
                u.host_str()
                    .map(|h| h.eq_ignore_ascii_case("hooks.slack.com"))
            })
            .unwrap_or(false)
    }
}

/// What alerts are raised, and where they go.
#[derive(Debug, Clone, Default)]
pub struct AlertSettings {
    /// Where they go; no alerts without one.
    pub webhooks: Vec<Webhook>,
    /// A run rejecting more rows than this raises an alert (none when `None`).
    pub rejected_rows_over: Option<u64>,
    /// No successful run for this many intervals raises an alert.
    pub stale_after_intervals: u32,
}

/// What changed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum AlertKind {
    /// Was healthy, now a run failed, rejected rows or was blocked.
    SyncFailing,
    /// Was failing, now a run succeeded.
    SyncRecovered,
    /// A run rejected more rows than the threshold.
    RejectedRows,
    /// No successful run for N times its interval.
    SyncStale,
}

/// One alert: the JSON body sent to webhooks.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Alert {
    /// What changed.
    #[serde(rename = "type")]
    pub kind: AlertKind,
    /// The sync.
    pub sync: String,
    /// When (RFC 3339, UTC).
    pub at: String,
    /// The run that caused it, if one did.
    pub run_id: Option<String>,
    /// That run's result.
    pub result: Option<String>,
    /// The exit code the same run would have had from `optisync sync`.
    pub exit_code: Option<u8>,
    /// What went wrong, free of secrets.
    pub message: String,
    /// Rows the run rejected.
    pub rejected: Option<u64>,
}

impl Alert {
    fn slack_text(&self) -> String {
        let head = match self.kind {
            AlertKind::SyncFailing => "is failing",
            AlertKind::SyncRecovered => "recovered",
            AlertKind::RejectedRows => "rejected rows",
            AlertKind::SyncStale => "has had no successful run for too long",
        };
        format!("optisync: sync `{}` {head}. {}", self.sync, self.message)
    }
}

/// Per sync: what the last alerts said, so the next only goes out on a change.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Health {
    /// The last run that said anything of health failed.
    pub failing: bool,
    /// The stale alert went out and no success came since.
    pub stale: bool,
}

/// Decides which alerts a finished run raises, and updates `health`. Pure, for tests.
pub fn on_run(
    settings: &AlertSettings,
    health: &mut Health,
    sync: &str,
    outcome: &RunOutcome,
    at: DateTime<Utc>,
) -> Vec<Alert> {
    let mut alerts = Vec::new();
    let alert = |kind: AlertKind, message: String| Alert {
        kind,
        sync: sync.to_owned(),
        at: at.to_rfc3339_opts(chrono::SecondsFormat::Secs, true),
        run_id: outcome.run_id.clone(),
        result: Some(outcome.outcome.as_str().to_owned()),
        exit_code: Some(outcome.exit_code),
        message,
        rejected: Some(outcome.counts.rejected),
    };
    match outcome.outcome.health() {
        Some(false) if !health.failing => {
            health.failing = true;
            let message = outcome
                .message
                .clone()
                .unwrap_or_else(|| match outcome.outcome {
                    Outcome::RejectedRows => format!(
                        "the run rejected {} rows; they are retried on the next run",
                        outcome.counts.rejected
                    ),
                    Outcome::Blocked => "a guardrail blocked the run before any request".into(),
                    _ => "the run failed".into(),
                });
            alerts.push(alert(AlertKind::SyncFailing, message));
        }
        Some(true) => {
            if health.failing {
                alerts.push(alert(
                    AlertKind::SyncRecovered,
                    "the run succeeded".to_owned(),
                ));
            }
            health.failing = false;
            health.stale = false;
        }
        _ => {}
    }
    if let Some(threshold) = settings.rejected_rows_over
        && outcome.counts.rejected > threshold
    {
        alerts.push(alert(
            AlertKind::RejectedRows,
            format!(
                "the run rejected {}, more than the threshold of {threshold}",
                rows(outcome.counts.rejected)
            ),
        ));
    }
    alerts
}

/// `1 row`, `2 rows`.
fn rows(count: u64) -> String {
    if count == 1 {
        "1 row".to_owned()
    } else {
        format!("{count} rows")
    }
}

/// Decides whether a sync whose last success was `last_success` (or that never succeeded
/// since `since`) is stale at `now` for an `interval` schedule, and updates `health`.
pub fn on_check(
    settings: &AlertSettings,
    health: &mut Health,
    sync: &str,
    last_success: Option<DateTime<Utc>>,
    since: DateTime<Utc>,
    interval: Duration,
    now: DateTime<Utc>,
) -> Option<Alert> {
    if health.stale || settings.stale_after_intervals == 0 {
        return None;
    }
    let limit = interval.checked_mul(settings.stale_after_intervals)?;
    let limit = chrono::TimeDelta::from_std(limit).ok()?;
    let from = last_success.unwrap_or(since);
    if now - from <= limit {
        return None;
    }
    health.stale = true;
    Some(Alert {
        kind: AlertKind::SyncStale,
        sync: sync.to_owned(),
        at: now.to_rfc3339_opts(chrono::SecondsFormat::Secs, true),
        run_id: None,
        result: None,
        exit_code: None,
        message: match last_success {
            Some(at) => format!(
                "no successful run since {}, more than {} intervals",
                at.to_rfc3339_opts(chrono::SecondsFormat::Secs, true),
                settings.stale_after_intervals
            ),
            None => format!(
                "no successful run since the service started, more than {} intervals ago",
                settings.stale_after_intervals
            ),
        },
        rejected: None,
    })
}

/// The signature header's value for `body` sent at `timestamp` (Unix seconds).
pub fn signature(secret: &str, timestamp: i64, body: &[u8]) -> String {
    // HMAC takes keys of any length, so this never fails; an empty MAC would never verify.
    let hex = match <SimpleHmac<Sha256> as KeyInit>::new_from_slice(secret.as_bytes()) {
        Ok(mut mac) => {
            mac.update(timestamp.to_string().as_bytes());
            mac.update(b".");
            mac.update(body);
            mac.finalize()
                .into_bytes()
                .iter()
                .map(|b| format!("{b:02x}"))
                .collect::<String>()
        }
        Err(_) => String::new(),
    };
    format!("t={timestamp},v1={hex}")
}

/// Raises alerts and delivers them in the background.
#[derive(Debug)]
pub struct Alerts {
    settings: AlertSettings,
    health: Mutex<HashMap<String, Health>>,
    /// One queue per webhook, each worked off by a task of its own, so a webhook that is
    /// down delays only its own deliveries.
    queues: Vec<mpsc::Sender<Alert>>,
}

impl Alerts {
    /// Starts the delivery task on the current runtime. `initial` is each sync's health as
    /// the run history says at start, so a restart does not announce a failure again.
    pub fn start(settings: AlertSettings, initial: HashMap<String, Health>) -> Alerts {
        let queues = settings
            .webhooks
            .iter()
            .enumerate()
            .map(|(index, webhook)| {
                let (queue, receiver) = mpsc::channel(QUEUE);
                tokio::spawn(deliver(index, webhook.clone(), receiver));
                queue
            })
            .collect();
        Alerts {
            settings,
            health: Mutex::new(initial),
            queues,
        }
    }

    /// The settings.
    pub fn settings(&self) -> &AlertSettings {
        &self.settings
    }

    fn health(&self) -> std::sync::MutexGuard<'_, HashMap<String, Health>> {
        self.health
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// A run of `sync` ended.
    pub fn run_finished(&self, sync: &str, outcome: &RunOutcome, at: DateTime<Utc>) {
        let alerts = {
            let mut health = self.health();
            let entry = health.entry(sync.to_owned()).or_default();
            on_run(&self.settings, entry, sync, outcome, at)
        };
        for alert in alerts {
            self.send(alert);
        }
    }

    /// Checks whether `sync` has gone without a success for too long.
    pub fn check_stale(
        &self,
        sync: &str,
        last_success: Option<DateTime<Utc>>,
        since: DateTime<Utc>,
        interval: Duration,
        now: DateTime<Utc>,
    ) {
        let alert = {
            let mut health = self.health();
            let entry = health.entry(sync.to_owned()).or_default();
            on_check(
                &self.settings,
                entry,
                sync,
                last_success,
                since,
                interval,
                now,
            )
        };
        if let Some(alert) = alert {
            self.send(alert);
        }
    }

    fn send(&self, alert: Alert) {
        tracing::warn!(sync = %alert.sync, kind = ?alert.kind, message = %alert.message, "alert");
        for (index, queue) in self.queues.iter().enumerate() {
            if let Err(error) = queue.try_send(alert.clone()) {
                tracing::warn!(webhook = index + 1, %error, "alert dropped: the webhook's delivery queue is full or closed");
            }
        }
    }
}

async fn deliver(index: usize, webhook: Webhook, mut receiver: mpsc::Receiver<Alert>) {
    let client = match reqwest::Client::builder().timeout(TIMEOUT).build() {
        Ok(client) => client,
        Err(error) => {
            tracing::warn!(%error, "alerts cannot be delivered: no HTTP client");
            return;
        }
    };
    while let Some(alert) = receiver.recv().await {
        deliver_one(&client, index, &webhook, &alert).await;
    }
}

async fn deliver_one(client: &reqwest::Client, index: usize, webhook: &Webhook, alert: &Alert) {
    let body = if webhook.is_slack() {
        serde_json::json!({ "text": alert.slack_text() }).to_string()
    } else {
        serde_json::to_string(alert).unwrap_or_default()
    };
    let mut wait = FIRST_RETRY;
    for attempt in 1..=ATTEMPTS {
        let mut request = client
            .post(&webhook.url)
            .header(reqwest::header::CONTENT_TYPE, "application/json")
            .body(body.clone());
        if let Some(secret) = &webhook.secret {
            let timestamp = Utc::now().timestamp();
            request = request.header(
                SIGNATURE_HEADER,
                signature(secret, timestamp, body.as_bytes()),
            );
        }
        // The URL may hold a secret: errors are reported without it.
        match request.send().await {
            Ok(response) if response.status().is_success() => return,
            Ok(response) => tracing::warn!(
                webhook = index + 1,
                status = response.status().as_u16(),
                attempt,
                "alert webhook refused the alert"
            ),
            Err(error) => tracing::warn!(
                webhook = index + 1,
                attempt,
                timeout = error.is_timeout(),
                connect = error.is_connect(),
                "alert webhook could not be reached"
            ),
        }
        if attempt < ATTEMPTS {
            tokio::time::sleep(wait).await;
            wait = wait.saturating_mul(2);
        }
    }
    tracing::warn!(webhook = index + 1, sync = %alert.sync, "alert not delivered after {ATTEMPTS} attempts");
}

#[cfg(test)]
mod tests {
    use super::*;

    fn outcome(outcome: Outcome, rejected: u64) -> RunOutcome {
        RunOutcome {
            outcome,
            run_id: Some("r".into()),
            exit_code: 0,
            message: None,
            counts: optisync_core::RunStats {
                rejected,
                ..Default::default()
            },
        }
    }

    fn kinds(alerts: &[Alert]) -> Vec<AlertKind> {
        alerts.iter().map(|a| a.kind).collect()
    }

    #[test]
    fn alerts_go_out_on_a_change_of_state_only() {
        let settings = AlertSettings {
            rejected_rows_over: Some(10),
            stale_after_intervals: 3,
            ..Default::default()
        };
        let mut health = Health::default();
        let at = Utc::now();
        let mut run = |o: Outcome, rejected: u64| {
            kinds(&on_run(
                &settings,
                &mut health,
                "s",
                &outcome(o, rejected),
                at,
            ))
        };
        assert_eq!(run(Outcome::Succeeded, 0), []);
        assert_eq!(run(Outcome::Failed, 0), [AlertKind::SyncFailing]);
        assert_eq!(run(Outcome::Failed, 0), []);
        assert_eq!(run(Outcome::Blocked, 0), []);
        // A lock held elsewhere or an interruption says nothing of health.
        assert_eq!(run(Outcome::Locked, 0), []);
        assert_eq!(run(Outcome::Interrupted, 0), []);
        assert_eq!(run(Outcome::Succeeded, 0), [AlertKind::SyncRecovered]);
        assert_eq!(run(Outcome::Succeeded, 0), []);
        assert_eq!(
            run(Outcome::RejectedRows, 11),
            [AlertKind::SyncFailing, AlertKind::RejectedRows]
        );
        assert_eq!(run(Outcome::RejectedRows, 3), []);
        assert_eq!(run(Outcome::RejectedRows, 12), [AlertKind::RejectedRows]);
    }

    #[test]
    fn a_sync_without_success_for_n_intervals_is_stale_once() {
        let settings = AlertSettings {
            stale_after_intervals: 3,
            ..Default::default()
        };
        let mut health = Health::default();
        let start = DateTime::from_timestamp(1_800_000_000, 0).unwrap();
        let minute = Duration::from_secs(60);
        let at = |m: i64| start + chrono::TimeDelta::minutes(m);
        let check = |health: &mut Health, last: Option<i64>, now: i64| {
            on_check(&settings, health, "s", last.map(at), start, minute, at(now)).is_some()
        };
        assert!(!check(&mut health, Some(0), 3));
        assert!(check(&mut health, Some(0), 4));
        assert!(!check(&mut health, Some(0), 10), "once, not on every check");
        // A success clears it.
        let mut after = health;
        on_run(
            &settings,
            &mut after,
            "s",
            &outcome(Outcome::Succeeded, 0),
            at(11),
        );
        assert!(!after.stale);
        assert!(!check(&mut after, Some(11), 13));
        assert!(check(&mut after, Some(11), 15));
        // Never succeeded: counted from the start.
        assert!(check(&mut Health::default(), None, 4));
    }

    #[test]
    fn signatures_are_hmac_sha256_over_timestamp_and_body() {
        // Computed independently: Python's hmac.new(b"key", b'1700000000.{"a":1}', sha256).
        let sig = signature("key", 1_700_000_000, b"{\"a\":1}");
        assert_eq!(
            sig,
            "t=1700000000,v1=a438e398bfafc57e4396bb7fc2304422f0f768e965d073ca313cb52e22e6ad03"
        );
        assert_ne!(sig, signature("other", 1_700_000_000, b"{\"a\":1}"));
        assert_ne!(sig, signature("key", 1_700_000_001, b"{\"a\":1}"));
        assert!(
            Webhook {
                url: "https://hooks.slack.com/services/T/B/X".into(),
                secret: None
            }
            .is_slack()
        );
        assert!(
            !Webhook {
                url: "https://example.com/hook".into(),
                secret: None
            }
            .is_slack()
        );
        assert_eq!(
            format!(
                "{:?}",
                Webhook {
                    url: "https://hooks.slack.com/services/T/B/X".into(),
                    secret: Some("s".into())
                }
            ),
            "Webhook(<redacted>)"
        );
    }
}
