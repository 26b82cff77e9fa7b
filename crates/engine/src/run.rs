//! One run of one sync, end to end: take the sync's lock, mark runs a killed process left
//! `running` as interrupted, start a run record, plan (or check a saved plan), settle the
//! intents a killed run left unresolved, stop at guardrails and refusals before any request,
//! apply, store rejected rows with the run, and record the run's counts and result.

use optisync_core::{Change, SyncPlan};
use optisync_core::{RejectedRow, RunDetails, RunStats};
use optisync_optimizely::{Client, Product};
use optisync_sources::{Source, SourceError};
use optisync_state::{LockHolder, RunFinish, RunStatus, Store};
use serde::Serialize;

use crate::apply::{Applied, apply};
use crate::error::{Error, Result};
use crate::plan::{PreparedPlan, prepare};
use crate::reconcile::settle_unresolved;
use crate::saved::{check_fresh, check_remote};
use crate::spec::{RunOptions, SyncSpec, Target};

/// How a run ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum RunResult {
    /// Everything planned was delivered (or there was nothing to do).
    Succeeded,
    /// Delivered, but some rows were rejected (exit code 5).
    RejectedRows,
    /// A guardrail blocked it before any request (exit code 7).
    Blocked,
    /// A refusal stopped it before any request (exit code 7, like a guardrail).
    Refused,
}

/// What a run did.
#[derive(Debug, Clone, Serialize)]
pub struct RunReport {
    /// The run's id in state.
    pub run_id: String,
    /// How it ended.
    pub result: RunResult,
    /// The plan it applied.
    pub plan: SyncPlan,
    /// Rows read, changes, requests, rejected rows.
    pub counts: RunStats,
    /// Rows rejected, by the plan or by Optimizely (with request ids).
    pub rejected: Vec<RejectedRow>,
    /// Notes for the user (adoptions, warnings of the plan).
    pub notes: Vec<String>,
    /// Writes of an interrupted run settled before planning.
    pub settled_intents: usize,
}

/// What becomes of the warehouse once the last model announced is read (see
/// [`Engine::release_source_after_next_read`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Release {
    /// Closed on a thread of its own, which the engine waits for when it is dropped: for a
    /// process that goes on (`serve`).
    Close,
    /// Left to the process's exit when closing it would only free memory (a DuckDB database
    /// that wrote nothing, see `Source::leave_to_exit`), closed as by [`Release::Close`]
    /// otherwise: for a process that exits once the engine is done (`plan`, `sync`).
    AtExit,
}

/// A thread closing the warehouse: the process must not end under it, so dropping this
/// waits for it.
#[derive(Debug, Default)]
struct Closing(Option<std::thread::JoinHandle<()>>);

impl Drop for Closing {
    fn drop(&mut self) {
        if let Some(thread) = self.0.take()
            && thread.join().is_err()
        {
            tracing::warn!("closing the warehouse failed unexpectedly");
        }
    }
}

/// The engine: the source, the client and the state store of one process, and the project.
#[derive(Debug)]
pub struct Engine {
    /// The warehouse; `None` once let go (see [`Engine::release_source_after_next_read`]).
    source: Option<Source>,
    /// Whether, and how, to let the warehouse go once the next plan has read its model.
    release_after_read: Option<Release>,
    client: Client,
    /// The ODP client, for ODP-attribute syncs ([`Engine::set_odp`]).
    odp: Option<Client>,
    store: Store,
    target: Target,
    /// Whether this process has read the project (its product, whether it is archived). A
    /// project whose product an earlier run read is trusted until a plan has something to
    /// send (ADR 0013).
    project_read: bool,
    holder: String,
    /// What the run in progress keeps for its page (plan text, step timings, drift), written
    /// with the run's end in one commit.
    details: RunDetails,
    /// The warehouse being closed on a thread of its own; waited for when the engine is
    /// dropped, last (fields drop in order), so the state store closes meanwhile.
    closing: Closing,
}

impl Engine {
    /// Returns an engine ready to plan and run syncs on `project_id`. The project's product
    /// decides rate limits and what is allowed: when the state store remembers it from an
    /// earlier run, it is used as it is and the project is read only before the first plan
    /// with something to send (so a run with nothing to do costs only its own reads);
    /// otherwise the project is read now. `holder` describes this process in lock messages
    /// (e.g. `optisync sync`).
    pub async fn connect(
        source: Source,
        client: Client,
        store: Store,
        project_id: i64,
        holder: impl Into<String>,
    ) -> Result<Self> {
        let (product, project_read) = match remembered_product(&store, project_id) {
            Some(product) => (product, false),
            None => (read_project(&client, &store, project_id).await?, true),
        };
        Ok(Self {
            source: Some(source),
            release_after_read: None,
            client,
            odp: None,
            store,
            target: Target {
                project_id,
                product,
            },
            project_read,
            holder: holder.into(),
            details: RunDetails::default(),
            closing: Closing::default(),
        })
    }

    /// Reads the project, unless this process already did: refuses one that was archived
    /// since an earlier run read it, or whose product is no longer the one remembered.
    async fn confirm_project(&mut self) -> Result<()> {
        if self.project_read {
            return Ok(());
        }
        let project_id = self.target.project_id;
        let product = read_project(&self.client, &self.store, project_id).await?;
        if product != self.target.product {
            return Err(Error::Project {
                project_id,
                message: format!(
                    "is now a {} project, not the {} project an earlier run read; run again to plan for it",
                    crate::policy::product_name(product),
                    crate::policy::product_name(self.target.product),
                ),
                in_config: false,
            });
        }
        self.project_read = true;
        Ok(())
    }

    /// Says that the next plan (of [`Engine::plan`] or [`Engine::sync`]) reads the last
    /// model of this engine's life: once it is read, the warehouse is closed on a thread of
    /// its own. Closing DuckDB frees its whole catalog, several milliseconds that then overlap
    /// the rest of the run instead of following it. A later plan that needs the warehouse
    /// fails as unavailable.
    ///
    /// With [`Release::AtExit`], a warehouse whose closing would only free memory is not
    /// closed at all: the process's exit takes the memory back at once.
    pub fn release_source_after_next_read(&mut self, release: Release) {
        self.release_after_read = Some(release);
    }

    /// Lets the warehouse go as `release` says: closed in the background (inline if no thread
    /// can be started), or left to the process's exit.
    fn release_source(&mut self, release: Release) {
        let Some(mut source) = self.source.take() else {
            return;
        };
        if release == Release::AtExit {
            match source.leave_to_exit() {
                Ok(()) => return,
                Err(kept) => source = kept,
            }
        }
        // On failure the closure, and the source with it, is dropped here.
        if let Ok(thread) = std::thread::Builder::new()
            .name("optisync-close-source".to_owned())
            .spawn(move || drop(source))
        {
            self.closing = Closing(Some(thread));
        }
    }

    /// Gives the engine the ODP client its ODP-attribute syncs write through.
    pub fn set_odp(&mut self, odp: Client) {
        self.odp = Some(odp);
    }

    /// The ODP client, if one was given.
    pub fn odp(&self) -> Option<&Client> {
        self.odp.as_ref()
    }

    /// The rate limit `plan`'s writes are paced by: ODP's for an ODP plan, Optimizely's
    /// otherwise.
    pub fn rate_limit_for(&self, plan: &SyncPlan) -> optisync_optimizely::RateLimit {
        match (&self.odp, plan.profiles()) {
            (Some(odp), Some(_)) => odp.limiter().limit(),
            _ => self.client.limiter().limit(),
        }
    }

    /// Requests of both clients (Optimizely's and ODP's) so far.
    pub fn request_counts(&self) -> optisync_optimizely::RequestCounts {
        let mut counts = self.client.request_counts();
        if let Some(odp) = &self.odp {
            let more = odp.request_counts();
            counts.reads += more.reads;
            counts.writes += more.writes;
            counts.throttled += more.throttled;
        }
        counts
    }

    /// Reads ODP's customer schema before an ODP plan sends anything: a field or identifier
    /// that does not exist is an error naming the fix (ODP would drop such values without a
    /// word), and values the field cannot hold become rejected rows.
    async fn confirm_odp(&self, spec: &SyncSpec, prepared: &mut PreparedPlan) -> Result<()> {
        use crate::destination::odp_attribute::{Schema, check_values, read_schema};
        let target_error = |message: String| Error::Target {
            sync: spec.name.clone(),
            message,
        };
        let (Some(odp), Some(target)) = (&self.odp, &spec.odp) else {
            return Err(target_error(
                "an odp_attribute sync needs the [odp] table in the config (its private key)"
                    .to_owned(),
            ));
        };
        let schema = read_schema(odp, &target.identifier, &target.field)
            .await
            .map_err(|source| Error::Api {
                sync: spec.name.clone(),
                what: "reading ODP's customer schema".to_owned(),
                source,
            })?;
        let field_type = match schema {
            Schema::Ready(field_type) => field_type,
            Schema::Unusable(message) => return Err(target_error(message)),
        };
        let value_mapped = spec.mapping.column(optisync_core::Field::Value).is_some();
        check_values(&mut prepared.plan, field_type, value_mapped).map_err(target_error)?;
        prepared.odp_field = Some(field_type);
        Ok(())
    }

    /// The project.
    pub fn target(&self) -> Target {
        self.target
    }

    /// The state store.
    pub fn store(&self) -> &Store {
        &self.store
    }

    /// The client.
    pub fn client(&self) -> &Client {
        &self.client
    }

    /// Plans one sync without sending or recording anything.
    ///
    /// A plan with something to send, and nothing stopping it, reads the project first if
    /// this process has not (see [`Engine::connect`]), so that a project archived since is
    /// refused here, as it would be by the run.
    pub async fn plan(&mut self, spec: &SyncSpec, options: RunOptions) -> Result<PreparedPlan> {
        let Some(source) = &self.source else {
            return Err(Error::Source {
                sync: spec.name.clone(),
                source: SourceError::Unavailable {
                    target: "the warehouse".to_owned(),
                    message: "it was closed after the last read this run announced".to_owned(),
                },
            });
        };
        let prepared = prepare(
            source,
            &self.client,
            &self.store,
            spec,
            self.target,
            options,
        )
        .await;
        if let Some(release) = self.release_after_read.take() {
            self.release_source(release);
        }
        let mut prepared = prepared?;
        // A plan that a refusal or a guardrail stops sends nothing: no need to read the
        // project (or ODP's schema) for it (a run of it would be stopped before any request
        // too). An ODP plan writes to ODP alone.
        if prepared.plan.request_count() > 0 && !prepared.plan.is_blocked() {
            if prepared.plan.profiles().is_some() {
                self.confirm_odp(spec, &mut prepared).await?;
            } else {
                self.confirm_project().await?;
            }
        }
        Ok(prepared)
    }

    /// Runs one sync: plans it (or applies `saved`, refused when stale) and sends the plan.
    pub async fn sync(
        &mut self,
        spec: &SyncSpec,
        options: RunOptions,
        saved: Option<PreparedPlan>,
    ) -> Result<RunReport> {
        let holder = LockHolder::this_process(self.holder.clone());
        let lock = self
            .store
            .acquire_lock(&spec.name, &holder)
            .map_err(Error::state(&spec.name))?;
        let interrupted = self
            .store
            .mark_interrupted_runs(&spec.name)
            .map_err(Error::state(&spec.name))?;
        if interrupted > 0 {
            tracing::warn!(sync = %spec.name, runs = interrupted, "marked interrupted runs");
        }
        let run_id = self
            .store
            .start_run(&spec.name)
            .map_err(Error::state(&spec.name))?;
        tracing::info!(sync = %spec.name, run = %run_id, "run started");
        let result = self.run(spec, options, saved, &run_id).await;
        let outcome = match result {
            Ok(report) => Ok(report),
            Err(error) => {
                let status = if error.interrupted_by().is_some() {
                    RunStatus::Interrupted
                } else {
                    RunStatus::Failed
                };
                let finish = RunFinish {
                    status,
                    counts: RunStats::default(),
                    error: Some(error.to_string()),
                };
                let details = std::mem::take(&mut self.details);
                let planned = details.plan_text.is_some() || !details.steps.is_empty();
                if let Err(e) =
                    self.store
                        .finish_run_with(&run_id, &finish, planned.then_some(&details))
                {
                    tracing::warn!(sync = %spec.name, error = %e, "could not record the failed run");
                }
                Err(error)
            }
        };
        if let Err(e) = lock.release() {
            tracing::warn!(sync = %spec.name, error = %e, "could not release the lock");
        }
        outcome
    }

    async fn run(
        &mut self,
        spec: &SyncSpec,
        options: RunOptions,
        saved: Option<PreparedPlan>,
        run_id: &str,
    ) -> Result<RunReport> {
        let requests_before = self.request_counts();
        self.details = RunDetails::default();
        let (prepared, list) = match saved {
            Some(mut saved) => {
                let checking = std::time::Instant::now();
                let version = self
                    .store
                    .state_version(&spec.name)
                    .map_err(Error::state(&spec.name))?;
                check_fresh(&saved, spec, self.target.project_id, version)?;
                // What a killed run of this sync may have written is not a change made
                // outside optisync; these intents are settled below.
                let unresolved = self
                    .store
                    .unresolved_intents(&spec.name)
                    .map_err(Error::state(&spec.name))?;
                let list =
                    check_remote(&self.client, spec, self.target, &mut saved, &unresolved).await?;
                self.details.step("check", checking.elapsed());
                (saved, list)
            }
            None => {
                // Reading and planning send nothing: a stop asked meanwhile ends them at once.
                let mut prepared = tokio::select! {
                    prepared = self.plan(spec, options) => prepared?,
                    () = crate::interrupt::wait() => return Err(interrupted(spec, 0, 0)),
                };
                let list = prepared.list.take();
                self.details.steps.append(&mut prepared.steps);
                (prepared, list)
            }
        };
        // What the run page shows, kept with the run's end however it ends: a run that fails
        // while sending still shows its plan.
        self.details.plan_text = Some(crate::plan_text::render(
            &prepared.plan,
            self.rate_limit_for(&prepared.plan),
        ));
        self.details.drift = prepared.plan.list().and_then(|l| l.drift.clone());
        let settled = settle_unresolved(
            &mut self.store,
            spec,
            &prepared.plan,
            list.as_ref().and_then(|l| l.list_content.as_deref()),
        )?;
        let plan = &prepared.plan;
        let mut counts = planned(plan);
        counts.reads = self.request_counts().reads - requests_before.reads;
        counts.throttled = self.request_counts().throttled - requests_before.throttled;
        let mut notes = plan.warnings.clone();
        let finish = |store: &mut Store,
                      details: &RunDetails,
                      status,
                      counts: &RunStats,
                      error: Option<String>| {
            store
                .finish_run_with(
                    run_id,
                    &RunFinish {
                        status,
                        counts: *counts,
                        error,
                    },
                    Some(details),
                )
                .map_err(Error::state(&spec.name))
        };
        if let Some(refusal) = &plan.refusal {
            let message = format!("sync {}: {refusal}", spec.name);
            finish(
                &mut self.store,
                &self.details,
                RunStatus::Failed,
                &counts,
                Some(message),
            )?;
            return Ok(self.report(
                run_id,
                RunResult::Refused,
                prepared,
                counts,
                vec![],
                notes,
                settled,
            ));
        }
        if !plan.guardrails.is_empty() {
            let message = plan
                .guardrails
                .iter()
                .map(ToString::to_string)
                .collect::<Vec<_>>()
                .join("; ");
            finish(
                &mut self.store,
                &self.details,
                RunStatus::Blocked,
                &counts,
                Some(message),
            )?;
            return Ok(self.report(
                run_id,
                RunResult::Blocked,
                prepared,
                counts,
                vec![],
                notes,
                settled,
            ));
        }

        // A saved plan was made by another process: the project (or ODP's schema) is read
        // before its first write here too.
        let mut prepared = prepared;
        if prepared.plan.request_count() > 0 {
            if prepared.plan.profiles().is_some() {
                if prepared.odp_field.is_none() {
                    self.confirm_odp(spec, &mut prepared).await?;
                }
            } else {
                self.confirm_project().await?;
            }
        }
        let plan = &prepared.plan;
        // A safe point: nothing of this plan was sent yet.
        if crate::interrupt::requested().is_some() {
            let planned = plan.request_count();
            return Err(interrupted(spec, 0, planned));
        }
        let sending = std::time::Instant::now();
        let applied: Applied = apply(
            &self.client,
            &mut self.store,
            spec,
            self.target,
            run_id,
            &prepared,
            list.as_ref(),
            self.odp.as_ref(),
        )
        .await?;
        self.details.step("send", sending.elapsed());
        let mut rejected: Vec<RejectedRow> = plan.rejected.to_vec();
        rejected.extend(applied.rejected);
        if !rejected.is_empty() {
            self.store
                .add_rejected_rows(run_id, &rejected)
                .map_err(Error::state(&spec.name))?;
        }
        notes.extend(applied.notes);
        counts.creates = applied.creates;
        counts.updates = applied.updates;
        counts.list_added = applied.list_added;
        counts.list_removed = applied.list_removed;
        counts.requests_sent = applied.requests_sent;
        // Creates whose answer was lost list the objects again.
        counts.reads = self.request_counts().reads - requests_before.reads;
        counts.throttled = self.request_counts().throttled - requests_before.throttled;
        counts.rejected = rejected.len() as u64;
        let (status, result) = if rejected.is_empty() {
            (RunStatus::Succeeded, RunResult::Succeeded)
        } else {
            (RunStatus::RejectedRows, RunResult::RejectedRows)
        };
        finish(&mut self.store, &self.details, status, &counts, None)?;
        tracing::info!(sync = %spec.name, run = %run_id, requests = counts.requests_sent, rejected = counts.rejected, "run finished");
        Ok(self.report(run_id, result, prepared, counts, rejected, notes, settled))
    }

    #[allow(clippy::too_many_arguments)]
    fn report(
        &self,
        run_id: &str,
        result: RunResult,
        prepared: PreparedPlan,
        counts: RunStats,
        rejected: Vec<RejectedRow>,
        notes: Vec<String>,
        settled_intents: usize,
    ) -> RunReport {
        RunReport {
            run_id: run_id.to_owned(),
            result,
            plan: prepared.plan,
            counts,
            rejected,
            notes,
            settled_intents,
        }
    }
}

/// The product an earlier run read for `project_id`, when it is one optisync writes to (the
/// store remembers whatever `check` saw, refused products included).
fn remembered_product(store: &Store, project_id: i64) -> Option<Product> {
    let name = store
        .remembered_product(project_id)
        .map_err(|error| {
            tracing::warn!(%error, "could not read the project's product from the state store");
        })
        .ok()
        .flatten()?;
    Product::from_name(&name).filter(|product| crate::policy::product_refusal(*product).is_none())
}

/// Reads the project: refuses one optisync does not write to, remembers its product for the
/// next process, and returns it.
async fn read_project(client: &Client, store: &Store, project_id: i64) -> Result<Product> {
    let project = client.get_project(project_id).await.map_err(|e| {
        let (message, in_config) = if e.is_not_found() {
            (
                "not found: check the numeric id in Settings > Project".to_owned(),
                true,
            )
        } else if e.kind() == optisync_optimizely::ErrorKind::Auth {
            (
                format!("authentication failed: the token is invalid, revoked, or has no access to project {project_id}; SDK keys and datafile access tokens cannot be used"),
                true,
            )
        } else {
            (format!("cannot be read: {e}"), false)
        };
        Error::Project {
            project_id,
            message,
            in_config,
        }
    })?;
    if let Some(message) = crate::policy::project_refusal(&project) {
        return Err(Error::Project {
            project_id,
            message,
            in_config: true,
        });
    }
    let product = project.product();
    // The next process paces its first requests by this product's quota, and need not read
    // the project before it has something to send. Losing this costs only a slower start
    // and one read, never correctness.
    if let Err(error) = store.remember_product(project_id, product.as_str()) {
        tracing::warn!(%error, "could not remember the project's product in the state store");
    }
    Ok(product)
}

/// The error of a run stopped by a signal at a safe point.
fn interrupted(spec: &SyncSpec, sent: u64, planned: u64) -> Error {
    Error::Interrupted {
        sync: spec.name.clone(),
        signal: crate::interrupt::requested().unwrap_or(15),
        sent,
        planned,
    }
}

/// The counts a plan gives before anything is sent: rows read and what it would do.
fn planned(plan: &SyncPlan) -> RunStats {
    let planned_creates = plan
        .changes()
        .iter()
        .filter(|c| matches!(c, Change::Create { .. }))
        .count() as u64;
    RunStats {
        rows_read: plan.rows_read,
        planned_creates,
        planned_updates: plan.changes().len() as u64 - planned_creates
            + plan.profiles().map_or(0, |p| p.upserts.len() as u64),
        planned_removes: plan.list().map_or(0, |l| l.removed.len() as u64)
            + plan.profiles().map_or(0, |p| p.leavers),
        ..RunStats::default()
    }
}
