//! `optisync serve`: every sync of the config on its schedule in one process, with the JSON
//! API, health and readiness (`optisync_serve`). This module wires the service to the
//! engine: [`EngineRunner`] runs one sync the way `optisync sync NAME` does, and [`run`]
//! binds, starts the schedulers and stops gracefully.
//!
//! Stopping: the first SIGTERM or SIGINT stops new runs and waits for the runs in flight up
//! to `[serve] grace_period`; shortly before it ends, the runs still going are asked to stop
//! at their next safe point (as `optisync sync` does on a signal); then the process exits 0.
//! A second signal exits at once (143 or 130); the next start settles the write in flight
//! like a killed run's.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use clap::Args;
use optisync_engine::{RunOptions, RunResult};
use optisync_serve::alerts::{AlertSettings, Webhook};
use optisync_serve::clock::Clock;
use optisync_serve::http::{Access, ApiToken, RouterSwitch};
use optisync_serve::runner::BoxFuture;
use optisync_serve::{Outcome, RunOutcome, Runner, Service, SyncInfo};
use optisync_state::{RunFinish, RunStatus};

use crate::config::{Config, SecretKind, resolve_secret};
use crate::connect;
use crate::error::{CliError, ConfigError, ErrorObject};
use crate::exit::Exit;

/// `optisync serve`.
#[derive(Debug, Args)]
pub struct ServeArgs {
    /// The address and port to listen on (default: `[serve] bind`, else 127.0.0.1:8080).
    /// Anything but loopback requires `[serve] api_token`.
    #[arg(long, value_name = "ADDRESS:PORT")]
    pub bind: Option<SocketAddr>,
}

/// Runs one sync the way `optisync sync NAME` does: its own warehouse connection, client and
/// state store connection per run (the request ledger in the state store keeps runs on one
/// token under its rate limit together), on a thread of its own with a runtime of its own:
/// the engine keeps its state store (a SQLite connection, usable from one thread at a time)
/// across its awaits, and a thread per run also keeps one run's blocking calls away from the
/// service's.
#[derive(Debug)]
pub struct EngineRunner {
    config: Arc<Config>,
}

impl Runner for EngineRunner {
    fn run<'a>(&'a self, sync: &'a str) -> BoxFuture<'a, RunOutcome> {
        let config = Arc::clone(&self.config);
        let name = sync.to_owned();
        Box::pin(async move {
            let (done, outcome) = tokio::sync::oneshot::channel();
            let thread_name = name.clone();
            let spawned = std::thread::Builder::new()
                .name("optisync-run".to_owned())
                .spawn(move || {
                    let outcome = match tokio::runtime::Builder::new_current_thread()
                        .enable_all()
                        .build()
                    {
                        Ok(runtime) => runtime.block_on(run_sync(&config, &thread_name)),
                        Err(e) => outcome_of_error(
                            &thread_name,
                            Exit::Internal,
                            format!("cannot start a runtime for the run: {e}"),
                        ),
                    };
                    let _ = done.send(outcome);
                });
            if let Err(e) = spawned {
                return outcome_of_error(
                    &name,
                    Exit::Internal,
                    format!("cannot start a thread for the run: {e}"),
                );
            }
            outcome.await.unwrap_or_else(|_| {
                outcome_of_error(
                    &name,
                    Exit::Internal,
                    "the run ended unexpectedly (its thread panicked); see the log".to_owned(),
                )
            })
        })
    }
}

async fn run_sync(config: &Config, name: &str) -> RunOutcome {
    let Some(sync) = config.syncs.iter().find(|s| s.name() == name) else {
        return outcome_of_error(name, Exit::Internal, "the sync is not in the config".into());
    };
    let mut engine = match connect::connect(config, "optisync serve").await {
        Ok(engine) => engine,
        Err(error) => {
            let message = format!("{error:#}");
            return failed_before_start(config, name, error.exit(), message);
        }
    };
    engine.release_source_after_next_read(optisync_engine::Release::Close);
    match engine.sync(&sync.spec, RunOptions::default(), None).await {
        Ok(report) => {
            let (outcome, exit) = match report.result {
                RunResult::Succeeded => (Outcome::Succeeded, Exit::Success),
                RunResult::RejectedRows => (Outcome::RejectedRows, Exit::RejectedRows),
                RunResult::Blocked | RunResult::Refused => (Outcome::Blocked, Exit::Guardrail),
            };
            RunOutcome {
                outcome,
                run_id: Some(report.run_id),
                exit_code: exit.code(),
                message: None,
                counts: report.counts,
            }
        }
        Err(error) => {
            let (exit, object) = ErrorObject::from_engine(name, error);
            outcome_of_error(name, exit, object.message)
        }
    }
}

/// A run that failed before the engine could record it (the warehouse, the state store or
/// the project could not be opened): recorded here, so the history shows it.
fn failed_before_start(config: &Config, name: &str, exit: Exit, message: String) -> RunOutcome {
    let mut outcome = outcome_of_error(name, exit, message.clone());
    match connect::open_store(config) {
        Ok(mut store) => {
            let recorded = store.start_run(name).and_then(|run_id| {
                store.finish_run(
                    &run_id,
                    &RunFinish {
                        status: RunStatus::Failed,
                        counts: Default::default(),
                        error: Some(message),
                    },
                )?;
                Ok(run_id)
            });
            match recorded {
                Ok(run_id) => outcome.run_id = Some(run_id),
                Err(e) => {
                    tracing::warn!(sync = name, error = %e, "could not record the failed run");
                }
            }
        }
        Err(e) => tracing::warn!(sync = name, error = %e, "could not open the state store"),
    }
    outcome
}

fn outcome_of_error(sync: &str, exit: Exit, message: String) -> RunOutcome {
    let outcome = match exit {
        Exit::Locked => Outcome::Locked,
        Exit::Interrupted | Exit::Terminated => Outcome::Interrupted,
        _ => Outcome::Failed,
    };
    tracing::debug!(sync, code = exit.code(), "run ended with an error");
    RunOutcome {
        outcome,
        run_id: None,
        exit_code: exit.code(),
        message: Some(message),
        counts: Default::default(),
    }
}

/// Everything a generation of the service needs, read and checked from the config: loading
/// one does every fallible step (config, secrets, webhooks, the state store), so a reload
/// whose config is wrong is refused before the running generation is touched.
struct Setup {
    config: Config,
    bind: SocketAddr,
    access: Access,
    syncs: Vec<SyncInfo>,
    alerts: AlertSettings,
    store: optisync_state::Store,
}

impl Setup {
    fn load(args: &ServeArgs, config_path: &std::path::Path) -> Result<Setup, CliError> {
        let config = Config::load(config_path)?;
        crate::commands::init::refuse_placeholders(&config)?;
        let bind = args
            .bind
            .or(config.serve.bind)
            .unwrap_or_else(|| SocketAddr::from(([127, 0, 0, 1], 8080)));
        let token = match &config.serve.api_token {
            Some(reference) => ApiToken::new(&resolve_secret(reference, SecretKind::ServeToken)?),
            None => None,
        };
        let loopback = bind.ip().is_loopback();
        if !loopback && token.is_none() {
            return Err(CliError::Config(ConfigError::Invalid(format!(
                "serve: listening on {bind} exposes the API beyond this machine; set [serve] \
                 api_token first ({}), or bind 127.0.0.1",
                SecretKind::ServeToken.example()
            ))));
        }
        let access = Access {
            token,
            reads_need_token: config.serve.reads_need_token.unwrap_or(!loopback),
        };
        let syncs = config
            .syncs
            .iter()
            .map(|sync| SyncInfo {
                name: sync.name().to_owned(),
                object: sync.spec.kind.object().to_owned(),
                mode: sync.spec.kind.mode().to_owned(),
                schedule: sync.schedule.clone(),
                after: sync.after.clone(),
            })
            .collect();
        let alerts = alert_settings(&config)?;
        let store = connect::open_store(&config)?;
        Ok(Setup {
            config,
            bind,
            access,
            syncs,
            alerts,
            store,
        })
    }
}

/// One generation of the service: the syncs of one reading of the config, their schedulers
/// and the router answering for them. A reload (SIGHUP) retires one and starts the next; the
/// HTTP server, and the socket it listens on, stay.
struct Generation {
    service: Arc<Service>,
    schedulers: Vec<tokio::task::JoinHandle<()>>,
    grace: Duration,
}

impl Generation {
    /// Starts the schedulers of `setup` and points `switch` at its router.
    fn start(setup: Setup, switch: &RouterSwitch) -> Generation {
        let Setup {
            config,
            access,
            syncs,
            alerts,
            store,
            ..
        } = setup;
        let grace = config.serve.grace_period;
        let runner = Arc::new(EngineRunner {
            config: Arc::new(config),
        });
        let service = Service::new(syncs, runner, store, Clock::System);
        if !alerts.webhooks.is_empty() {
            tracing::info!(webhooks = alerts.webhooks.len(), "alerts enabled");
        }
        service.enable_alerts(alerts);
        switch.set(optisync_serve::http::router(Arc::clone(&service), access));
        let schedulers = optisync_serve::scheduler::spawn(&service);
        Generation {
            service,
            schedulers,
            grace,
        }
    }

    /// Starts nothing more and stops the schedulers (runs in flight go on).
    fn stop_starting(&self) {
        self.service.stop_starting();
        for scheduler in &self.schedulers {
            scheduler.abort();
        }
    }
}

/// Runs the service until a signal stops it; SIGHUP reloads the config.
pub async fn run(args: &ServeArgs, config_path: &std::path::Path) -> Result<Exit, CliError> {
    let setup = Setup::load(args, config_path)?;
    let bind = setup.bind;
    let listener = optisync_serve::http::bind(bind)
        .await
        .map_err(|e| CliError::Config(ConfigError::Invalid(format!("serve: {e}"))))?;
    let address = listener.local_addr().unwrap_or(bind);
    let count = setup.syncs.len();
    let switch = RouterSwitch::new(axum::Router::new());
    let mut generation = Generation::start(setup, &switch);
    // Listening for signals before saying where to reach the service: a stop sent as soon
    // as it answers is a graceful one, and so is a reload.
    let mut stops = Stops::new();
    let mut reloads = Reloads::new();
    let stop_http = Arc::new(tokio::sync::Notify::new());
    let http = {
        let stop = Arc::clone(&stop_http);
        tokio::spawn(optisync_serve::http::serve(
            listener,
            switch.router(),
            async move { stop.notified().await },
        ))
    };
    crate::outln!("optisync serve: listening on http://{address} ({count} syncs)");
    crate::stdout::flush();
    tracing::info!(%address, syncs = count, "serving");

    let first = loop {
        tokio::select! {
            signal = stops.next() => break signal,
            () = reloads.next() => {
                let (next, stopped) =
                    reload(args, config_path, generation, address, &switch, &mut stops).await;
                generation = next;
                if let Some(signal) = stopped {
                    break signal;
                }
            }
        }
    };
    stop(&generation, first, stops).await;
    stop_http.notify_one();
    // Open connections get a moment to finish their answer, not more.
    match tokio::time::timeout(Duration::from_secs(5), http).await {
        Ok(Ok(Ok(()))) | Err(_) => {}
        Ok(Ok(Err(e))) => tracing::warn!(error = %e, "the HTTP server stopped with an error"),
        Ok(Err(e)) => tracing::warn!(error = %e, "the HTTP server ended unexpectedly"),
    }
    tracing::info!("stopped");
    Ok(Exit::Success)
}

/// Reloads the config. A config that does not load is refused with its error, and the
/// running generation goes on. Otherwise the running generation starts nothing new, its runs
/// in flight finish, and a generation of the new config takes over (pauses, run history and
/// the dbt runs seen are in the state store and carry over). The address stays: moving it
/// needs a restart. Returns the generation now running, and the stop signal that came while
/// runs were finishing, if one did.
async fn reload(
    args: &ServeArgs,
    config_path: &std::path::Path,
    old: Generation,
    address: SocketAddr,
    switch: &RouterSwitch,
    stops: &mut Stops,
) -> (Generation, Option<i32>) {
    tracing::info!("SIGHUP: reloading the config");
    let setup = match Setup::load(args, config_path) {
        Ok(setup) => setup,
        Err(error) => {
            tracing::error!(
                "reload refused, still running on the previous config: {error:#}; fix the config and send SIGHUP again"
            );
            return (old, None);
        }
    };
    if args.bind.is_none() && setup.bind != address && setup.bind.port() != 0 {
        tracing::warn!(
            bind = %setup.bind,
            "[serve] bind changed: a reload keeps listening on {address}; restart to move"
        );
    }
    old.stop_starting();
    let in_flight = old.service.in_flight();
    if in_flight > 0 {
        tracing::info!(
            runs_in_flight = in_flight,
            "waiting for the runs in flight before reloading"
        );
        tokio::select! {
            _ = old.service.wait_idle(Duration::MAX) => {}
            signal = stops.next() => return (old, Some(signal)),
        }
    }
    let count = setup.syncs.len();
    let next = Generation::start(setup, switch);
    tracing::info!(syncs = count, "config reloaded");
    (next, None)
}

/// Stops gracefully after the first stop signal: no new runs; the runs in flight get most of
/// the grace period to finish, and the rest to reach their next safe point; a second signal
/// exits at once.
async fn stop(generation: &Generation, first: i32, mut stops: Stops) {
    let service = &generation.service;
    let grace = generation.grace;
    tracing::warn!(
        runs_in_flight = service.in_flight(),
        grace_period = ?grace,
        "stopping: no new runs; waiting for the runs in flight (send the signal again to stop at once)"
    );
    generation.stop_starting();
    tokio::spawn(async move {
        let second = stops.next().await;
        tracing::warn!("stopping at once: the next start settles the request that was in flight");
        crate::stdout::flush();
        std::process::exit(i32::from(crate::signals::exit_for(second).code()));
    });
    let margin = (grace / 5).min(Duration::from_secs(5));
    if !service.wait_idle(grace.saturating_sub(margin)).await {
        tracing::warn!("runs still in flight: stopping them at their next safe point");
        optisync_engine::interrupt::request(first);
        if !service.wait_idle(margin).await {
            tracing::warn!(
                runs_in_flight = service.in_flight(),
                "the grace period is over; the next start settles what was in flight"
            );
        }
    }
}

/// The alert settings, with every webhook's URL and key read now: a missing variable or file
/// is refused at start, naming the key, never the value.
fn alert_settings(config: &Config) -> Result<AlertSettings, CliError> {
    let mut webhooks = Vec::with_capacity(config.serve.alerts.len());
    for (url, secret) in &config.serve.alerts {
        let url = resolve_secret(url, SecretKind::AlertUrl)?;
        let parsed = url::Url::parse(url.trim())
            .ok()
            .filter(|u| matches!(u.scheme(), "https" | "http") && u.host_str().is_some());
        if parsed.is_none() {
            return Err(CliError::Config(ConfigError::Invalid(format!(
                "{} is not an http(s) URL (it is not shown here); write the webhook's URL",
                SecretKind::AlertUrl.key()
            ))));
        }
        let secret = secret
            .as_ref()
            .map(|key| resolve_secret(key, SecretKind::AlertSecret))
            .transpose()?;
        webhooks.push(Webhook {
            url: url.trim().to_owned(),
            secret,
        });
    }
    Ok(AlertSettings {
        webhooks,
        rejected_rows_over: config.serve.alert_rejected_rows_over,
        stale_after_intervals: config.serve.alert_stale_after_intervals,
    })
}

/// SIGHUP, listened for from creation on.
struct Reloads(Option<tokio::signal::unix::Signal>);

impl Reloads {
    fn new() -> Reloads {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::hangup()) {
            Ok(hup) => Reloads(Some(hup)),
            Err(_) => {
                tracing::warn!("cannot listen for SIGHUP; the config cannot be reloaded");
                Reloads(None)
            }
        }
    }

    /// Waits for the next SIGHUP.
    async fn next(&mut self) {
        match &mut self.0 {
            Some(hup) => {
                hup.recv().await;
            }
            None => std::future::pending().await,
        }
    }
}

/// SIGTERM and SIGINT, listened for from creation on.
struct Stops(Option<(tokio::signal::unix::Signal, tokio::signal::unix::Signal)>);

impl Stops {
    fn new() -> Stops {
        use tokio::signal::unix::{SignalKind, signal};
        match (
            signal(SignalKind::terminate()),
            signal(SignalKind::interrupt()),
        ) {
            (Ok(term), Ok(int)) => Stops(Some((term, int))),
            _ => {
                tracing::warn!(
                    "cannot listen for SIGTERM and SIGINT; they will stop optisync at once"
                );
                Stops(None)
            }
        }
    }

    /// Waits for the next SIGTERM or SIGINT and returns its number.
    async fn next(&mut self) -> i32 {
        match &mut self.0 {
            Some((term, int)) => tokio::select! {
                _ = term.recv() => 15,
                _ = int.recv() => 2,
            },
            None => std::future::pending().await,
        }
    }
}
