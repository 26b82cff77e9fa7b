//! `GET /metrics`: the service in Prometheus' text format (0.0.4), through the `prometheus`
//! crate. Names follow Prometheus' conventions: the unit in the name (`_seconds`), `_total`
//! on counters, labels for what varies (`sync`, `result`, `class`, `status`).
//!
//! Runs are counted as they end ([`Metrics::run_finished`]). The Optimizely client's counters
//! (requests by class and status, throttled answers, retries, rate-limit waits) are
//! process-wide (`optisync_optimizely::telemetry`) and copied in at each scrape.

use std::sync::Mutex;
use std::time::Duration;

use optisync_core::RunStats;
use optisync_optimizely::telemetry::{self, Answer, Snapshot};
use prometheus::{
    Counter, Encoder, GaugeVec, HistogramOpts, HistogramVec, IntCounter, IntCounterVec, IntGauge,
    IntGaugeVec, Opts, Registry, TextEncoder,
};

use crate::runner::Outcome;

/// Every metric of the service.
#[derive(Debug)]
pub struct Metrics {
    registry: Registry,
    runs: IntCounterVec,
    duration: HistogramVec,
    rows_read: IntCounterVec,
    rows_planned: IntCounterVec,
    rows_sent: IntCounterVec,
    rows_rejected: IntCounterVec,
    skipped: IntCounterVec,
    last_success: GaugeVec,
    in_flight: IntGauge,
    requests: IntCounterVec,
    throttled: IntCounter,
    retries: IntCounter,
    wait: Counter,
    /// The client's counters at the previous scrape, to add only what is new.
    seen: Mutex<Snapshot>,
}

/// Run durations from 50 ms to about 3.5 hours.
const DURATION_BUCKETS: [f64; 12] = [
    0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 10.0, 30.0, 60.0, 300.0, 1800.0, 12600.0,
];

// The metric definitions below are constants; registering them fails only on a name clash
// or an invalid name, which the unit test below would catch.
#[allow(clippy::expect_used)]
impl Metrics {
    /// Registers every metric; `syncs` start at zero so they appear before their first run.
    pub fn new<'a>(syncs: impl IntoIterator<Item = &'a str>) -> Metrics {
        let registry = Registry::new();
        let counter = |name: &str, help: &str, labels: &[&str]| {
            let metric = IntCounterVec::new(Opts::new(name, help), labels).expect("valid metric");
            registry
                .register(Box::new(metric.clone()))
                .expect("unique metric");
            metric
        };
        let runs = counter(
            "optisync_runs_total",
            "Runs that ended, by sync and result (succeeded, rejected_rows, blocked, failed, locked, interrupted).",
            &["sync", "result"],
        );
        let rows_read = counter(
            "optisync_rows_read_total",
            "Rows the syncs' models returned.",
            &["sync"],
        );
        let rows_planned = counter(
            "optisync_rows_planned_total",
            "Changes planned: objects to create or update, list members to remove.",
            &["sync"],
        );
        let rows_sent = counter(
            "optisync_rows_sent_total",
            "Changes Optimizely acknowledged: objects created or updated, list members added or removed.",
            &["sync"],
        );
        let rows_rejected = counter(
            "optisync_rows_rejected_total",
            "Rows rejected, by the plan or by Optimizely.",
            &["sync"],
        );
        let skipped = counter(
            "optisync_ticks_skipped_total",
            "Scheduled ticks that did not start a run (a run in flight, a lock held elsewhere, a backoff).",
            &["sync"],
        );
        let requests = counter(
            "optisync_requests_total",
            "HTTP attempts to Optimizely, retries included, by class (read, write) and status (none: no answer).",
            &["class", "status"],
        );
        let duration = HistogramVec::new(
            HistogramOpts::new("optisync_run_duration_seconds", "How long runs took.")
                .buckets(DURATION_BUCKETS.to_vec()),
            &["sync"],
        )
        .expect("valid metric");
        registry
            .register(Box::new(duration.clone()))
            .expect("unique metric");
        let last_success = GaugeVec::new(
            Opts::new(
                "optisync_sync_last_success_timestamp_seconds",
                "When the sync's last successful run ended (Unix time).",
            ),
            &["sync"],
        )
        .expect("valid metric");
        registry
            .register(Box::new(last_success.clone()))
            .expect("unique metric");
        let in_flight =
            IntGauge::new("optisync_runs_in_flight", "Runs in flight.").expect("valid metric");
        registry
            .register(Box::new(in_flight.clone()))
            .expect("unique metric");
        let throttled = IntCounter::new(
            "optisync_throttled_responses_total",
            "Answers 429 or 503 from Optimizely.",
        )
        .expect("valid metric");
        registry
            .register(Box::new(throttled.clone()))
            .expect("unique metric");
        let retries = IntCounter::new(
            "optisync_request_retries_total",
            "HTTP attempts after the first of a request.",
        )
        .expect("valid metric");
        registry
            .register(Box::new(retries.clone()))
            .expect("unique metric");
        let wait = Counter::new(
            "optisync_rate_limit_wait_seconds_total",
            "Time requests waited for the rate limit.",
        )
        .expect("valid metric");
        registry
            .register(Box::new(wait.clone()))
            .expect("unique metric");
        let build = IntGaugeVec::new(
            Opts::new("optisync_build_info", "The running build (always 1)."),
            &["version"],
        )
        .expect("valid metric");
        registry
            .register(Box::new(build.clone()))
            .expect("unique metric");
        build.with_label_values(&[env!("CARGO_PKG_VERSION")]).set(1);
        for sync in syncs {
            for metric in [
                &rows_read,
                &rows_planned,
                &rows_sent,
                &rows_rejected,
                &skipped,
            ] {
                metric.with_label_values(&[sync]).reset();
            }
        }
        Metrics {
            registry,
            runs,
            duration,
            rows_read,
            rows_planned,
            rows_sent,
            rows_rejected,
            skipped,
            last_success,
            in_flight,
            requests,
            throttled,
            retries,
            wait,
            seen: Mutex::new(Snapshot::default()),
        }
    }

    /// A run started.
    pub fn run_started(&self) {
        self.in_flight.inc();
    }

    /// A run of `sync` ended so, after `took`, at Unix time `ended`.
    pub fn run_finished(
        &self,
        sync: &str,
        outcome: Outcome,
        counts: &RunStats,
        took: Duration,
        ended: f64,
    ) {
        self.in_flight.dec();
        self.runs.with_label_values(&[sync, outcome.as_str()]).inc();
        if outcome == Outcome::Locked {
            return;
        }
        self.duration
            .with_label_values(&[sync])
            .observe(took.as_secs_f64());
        self.rows_read
            .with_label_values(&[sync])
            .inc_by(counts.rows_read);
        self.rows_planned.with_label_values(&[sync]).inc_by(
            counts
                .planned_creates
                .saturating_add(counts.planned_updates)
                .saturating_add(counts.planned_removes),
        );
        self.rows_sent.with_label_values(&[sync]).inc_by(
            counts
                .creates
                .saturating_add(counts.updates)
                .saturating_add(counts.list_added)
                .saturating_add(counts.list_removed),
        );
        self.rows_rejected
            .with_label_values(&[sync])
            .inc_by(counts.rejected);
        if outcome == Outcome::Succeeded {
            self.last_success.with_label_values(&[sync]).set(ended);
        }
    }

    /// A scheduled tick of `sync` did not start a run.
    pub fn tick_skipped(&self, sync: &str) {
        self.skipped.with_label_values(&[sync]).inc();
    }

    /// The text exposition of every metric, with the client's counters brought up to date.
    pub fn render(&self) -> String {
        self.take_client_counters(telemetry::snapshot());
        let mut out = Vec::new();
        if let Err(error) = TextEncoder::new().encode(&self.registry.gather(), &mut out) {
            tracing::warn!(%error, "could not encode the metrics");
        }
        String::from_utf8(out).unwrap_or_default()
    }

    fn take_client_counters(&self, now: Snapshot) {
        let mut seen = self
            .seen
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        for ((class, answer), count) in &now.attempts {
            let before = seen.attempts.get(&(*class, *answer)).copied().unwrap_or(0);
            let status = match answer {
                Answer::Status(code) => code.to_string(),
                Answer::None => "none".to_owned(),
            };
            self.requests
                .with_label_values(&[class.as_str(), status.as_str()])
                .inc_by(count.saturating_sub(before));
        }
        self.throttled
            .inc_by(now.throttled.saturating_sub(seen.throttled));
        self.retries
            .inc_by(now.retries.saturating_sub(seen.retries));
        let waited = now.rate_limit_wait.saturating_sub(seen.rate_limit_wait);
        self.wait.inc_by(waited.as_secs_f64());
        *seen = now;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn runs_are_counted_by_sync_and_result() {
        let metrics = Metrics::new(["beta", "events"]);
        metrics.run_started();
        let counts = RunStats {
            rows_read: 10,
            planned_creates: 2,
            creates: 2,
            rejected: 1,
            ..RunStats::default()
        };
        metrics.run_finished(
            "beta",
            Outcome::RejectedRows,
            &counts,
            Duration::from_millis(300),
            1.8e9,
        );
        metrics.run_started();
        metrics.run_finished(
            "beta",
            Outcome::Succeeded,
            &RunStats::default(),
            Duration::from_secs(2),
            1.9e9,
        );
        let text = metrics.render();
        for line in [
            "optisync_runs_total{result=\"rejected_rows\",sync=\"beta\"} 1",
            "optisync_runs_total{result=\"succeeded\",sync=\"beta\"} 1",
            "optisync_rows_read_total{sync=\"beta\"} 10",
            "optisync_rows_read_total{sync=\"events\"} 0",
            "optisync_rows_sent_total{sync=\"beta\"} 2",
            "optisync_rows_rejected_total{sync=\"beta\"} 1",
            "optisync_run_duration_seconds_count{sync=\"beta\"} 2",
            "optisync_sync_last_success_timestamp_seconds{sync=\"beta\"} 1900000000",
            "optisync_runs_in_flight 0",
            "optisync_build_info{version=",
        ] {
            assert!(text.contains(line), "{line}\n{text}");
        }
    }
}
