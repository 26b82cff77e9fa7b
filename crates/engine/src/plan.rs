//! Planning one sync: gathers the planner's inputs (the model's rows, what state says was
//! delivered, what Optimizely holds, the last run's row count for the empty-model guardrail)
//! and calls core's pure planner. Nothing is written anywhere; the [`PreparedPlan`] carries
//! the sync's state version and config hash so that a saved copy can be checked later.

use optisync_core::{
    ContentHash, DefinitionOptions, DefinitionPlanInput, DeliveredDefinitions, DeliveredObject,
    Fields, Ids, ListOptions, ListPlanInput, Mapping, ModelIds, ProfileOptions, ProfilePlanInput,
    RemoteList, RunDetails, StepTiming, SyncKind, SyncPlan, plan_definitions, plan_list,
    plan_profiles,
};
use optisync_optimizely::{Client, ListAttribute, Product};
use optisync_sources::Source;
use optisync_state::Store;
use serde::{Deserialize, Serialize};

use crate::error::{Error, Result};
use crate::read::{ModelRows, read_model};
use crate::remote::{list_objects, read_list};
use crate::saved::{RemoteSeen, definitions_seen, fingerprint, list_seen};
use crate::spec::{RunOptions, SyncSpec, Target};

/// A plan with what is needed to apply it and to check a saved copy.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct PreparedPlan {
    /// The sync's state version when the plan was made.
    pub state_version: u64,
    /// [`SyncSpec::config_hash`] of the sync it was made for.
    pub config_hash: String,
    /// The project it was made for.
    pub project_id: i64,
    /// The plan itself.
    pub plan: SyncPlan,
    /// The list attribute as read (lists only): its name, type and key field go back with
    /// the PATCH.
    #[serde(skip)]
    pub list: Option<ListAttribute>,
    /// What Optimizely held of what the plan builds on; a plan file keeps it beside the
    /// plan ([`SavedPlan`](crate::SavedPlan)), and `sync --plan` compares it with what
    /// Optimizely holds then. [`RemoteSeen::Unrecorded`] for a list plan made here: see
    /// [`PreparedPlan::seen`].
    #[serde(skip)]
    pub remote_seen: RemoteSeen,
    /// For a list plan made here: whether the API returned the list's content.
    #[serde(skip)]
    pub list_content_known: Option<bool>,
    /// How long reading and planning took (empty for a plan read from a file).
    #[serde(skip)]
    pub steps: Vec<StepTiming>,
    /// For an ODP plan whose schema was read: the type of its customer field (what a
    /// cleared value is sent as).
    #[serde(skip)]
    pub odp_field: Option<crate::destination::odp_attribute::FieldType>,
}

impl PreparedPlan {
    /// What Optimizely held of what the plan builds on, as a plan file records it:
    /// [`PreparedPlan::remote_seen`], or for a list plan made here the count and hash of
    /// the content it was measured against. That walks the whole list, so it is computed
    /// only when a plan file is written, not for every plan.
    pub fn seen(&self) -> RemoteSeen {
        match self.list_content_known {
            Some(known) => list_seen(&self.plan, known),
            None => self.remote_seen.clone(),
        }
    }
}

/// Reads the model and Optimizely's current objects and plans one sync.
pub async fn prepare(
    source: &Source,
    client: &Client,
    store: &Store,
    spec: &SyncSpec,
    target: Target,
    options: RunOptions,
) -> Result<PreparedPlan> {
    let state_err = Error::state(&spec.name);
    let state_version = store.state_version(&spec.name).map_err(state_err)?;
    let last_run_rows = store
        .last_applied_run(&spec.name)
        .map_err(Error::state(&spec.name))?
        .map(|run| run.counts.rows_read);
    let (mapping, mapping_warning) = spec.effective_mapping(target.product);

    let mut list = None;
    let mut list_content_known = None;
    let remote_seen;
    let mut steps = RunDetails::default();
    let mut started = std::time::Instant::now();
    let mut plan = match spec.kind {
        SyncKind::List { mode } => {
            let (attribute, remote, ids, delivered) =
                read_list_inputs(source, client, store, spec, target, &mapping, options).await?;
            tracing::debug!(sync = %spec.name, elapsed_ms = started.elapsed().as_millis(), "list, model and delivered list read");
            steps.step("read", started.elapsed());
            started = std::time::Instant::now();
            let input = ListPlanInput {
                sync: spec.name.clone(),
                mode,
                list_attribute_id: attribute.id,
                ids,
                delivered,
                remote,
                options: ListOptions {
                    adopt_existing: options.adopt_existing,
                    replace: options.replace,
                    allow_pii: spec.allow_pii,
                    allow_empty: options.allow_empty,
                    allow_large_removal: options.allow_large_removal,
                    max_removal_percent: spec.max_removal_percent,
                    last_run_rows,
                },
            };
            list = Some(attribute);
            let content_known = matches!(input.remote, RemoteList::Known(_));
            let plan = plan_list(input);
            remote_seen = RemoteSeen::Unrecorded;
            list_content_known = Some(content_known);
            plan
        }
        SyncKind::OdpAttribute { mode } => {
            let Some(target) = spec.odp.as_ref() else {
                return Err(Error::Target {
                    sync: spec.name.clone(),
                    message: "an odp_attribute sync needs `identifier` and `field`".to_owned(),
                });
            };
            // ODP cannot list who holds a field: the model and what this sync delivered are
            // all a plan reads. They are read at the same time: the delivered profiles come
            // from the state store while the warehouse's reader thread runs the query.
            let model = async {
                match read_model(source, spec, &mapping).await? {
                    ModelRows::Profiles(rows) => Ok(rows),
                    _ => Err(Error::Target {
                        sync: spec.name.clone(),
                        message: "the model did not yield profile rows".to_owned(),
                    }),
                }
            };
            // Polled last, so the model's reader is already running while this blocks.
            let delivered = async {
                if options.full_resync {
                    return Ok(None);
                }
                store
                    .delivered_profiles(&spec.name, &target.identifier, &target.field)
                    .map_err(Error::state(&spec.name))
            };
            let (rows, delivered) = tokio::try_join!(model, delivered)?;
            steps.step("read", started.elapsed());
            started = std::time::Instant::now();
            remote_seen = RemoteSeen::Profiles;
            plan_profiles(ProfilePlanInput {
                sync: spec.name.clone(),
                mode,
                identifier: target.identifier.clone(),
                field: target.field.clone(),
                rows,
                delivered,
                options: ProfileOptions {
                    allow_pii: spec.allow_pii,
                    allow_empty: options.allow_empty,
                    allow_large_removal: options.allow_large_removal,
                    max_removal_percent: spec.max_removal_percent,
                    last_run_rows,
                },
            })
        }
        SyncKind::Definition { kind, mode } => {
            let rules = crate::destination::definition(kind).rules();
            // Optimizely's objects and the model are read at the same time: a no-op run
            // then takes as long as the slower of the two, not both.
            let model = async {
                match read_model(source, spec, &mapping).await? {
                    ModelRows::Definitions(rows) => Ok(rows),
                    ModelRows::List(_) | ModelRows::Profiles(_) => Err(Error::Target {
                        sync: spec.name.clone(),
                        message: "the model did not yield definition rows".to_owned(),
                    }),
                }
            };
            let (remote, rows) = tokio::try_join!(list_objects(client, spec, target), model)?;
            steps.step("read", started.elapsed());
            started = std::time::Instant::now();
            let delivered = if options.full_resync {
                DeliveredDefinitions::new()
            } else {
                delivered_definitions(store, &spec.name)?
            };
            let fixed_audience_name = spec
                .audience_name
                .as_ref()
                .filter(|t| t.is_fixed())
                .map(|t| t.as_str().to_owned());
            let unarchived_limit = rules
                .fx_unarchived_limit
                .filter(|_| target.product == Product::FeatureExperimentation);
            let fingerprints = remote.iter().map(fingerprint).collect();
            let plan = plan_definitions(DefinitionPlanInput {
                sync: spec.name.clone(),
                rules,
                mode,
                project_id: target.project_id,
                rows,
                delivered,
                remote,
                options: DefinitionOptions {
                    allow_empty: options.allow_empty,
                    last_run_rows,
                    fixed_audience_name,
                    unarchived_limit,
                    max_creates: Some(spec.max_creates),
                    allow_many_creates: options.allow_many_creates,
                },
            });
            remote_seen = definitions_seen(&plan, &fingerprints);
            plan
        }
    };
    tracing::debug!(sync = %spec.name, elapsed_ms = started.elapsed().as_millis(), "planned");
    steps.step("plan", started.elapsed());
    if let Some(warning) = mapping_warning {
        plan.warnings.push(warning);
    }
    Ok(PreparedPlan {
        state_version,
        config_hash: spec.config_hash(target.project_id),
        project_id: target.project_id,
        plan,
        list,
        remote_seen,
        list_content_known,
        steps: steps.steps,
        odp_field: None,
    })
}

/// A list sync's inputs: the list attribute and its content, the model's ids, and the list
/// optisync last delivered (`None` on a first run or with `--full-resync`).
///
/// The three are read at the same time, since each takes about as long as the others on a
/// large list: the list attribute (one GET of up to 5 MB, then parsed) on a runtime worker,
/// the model here while its reader thread runs the query, and the delivered list from state
/// while both are under way. An error in either read stops the other.
async fn read_list_inputs(
    source: &Source,
    client: &Client,
    store: &Store,
    spec: &SyncSpec,
    target: Target,
    mapping: &Mapping,
    options: RunOptions,
) -> Result<(ListAttribute, RemoteList, ModelIds, Option<Ids>)> {
    // Each side is made a sorted set where it is read, in parallel with the other reads,
    // so the planner finds two of its three sets sorted already.
    let listing = tokio::spawn({
        let (client, spec) = (client.clone(), spec.clone());
        async move {
            let (attribute, remote) = read_list(&client, &spec, target).await?;
            let remote = match remote {
                RemoteList::Known(members) => RemoteList::Known(members.into_sorted_set()),
                RemoteList::Unknown => RemoteList::Unknown,
            };
            Ok((attribute, remote))
        }
    });
    let listing = async {
        listing
            .await
            .unwrap_or_else(|error| std::panic::resume_unwind(error.into_panic()))
    };
    let model = async {
        match read_model(source, spec, mapping).await? {
            ModelRows::List(ids) => Ok(ids),
            ModelRows::Definitions(_) | ModelRows::Profiles(_) => Err(Error::Target {
                sync: spec.name.clone(),
                message: "the model did not yield list ids".to_owned(),
            }),
        }
    };
    // Polled last, so the model's reader is already running while this blocks.
    let delivered = async {
        if options.full_resync {
            return Ok(None);
        }
        Ok(store
            .delivered_list(&spec.name)
            .map_err(Error::state(&spec.name))?
            .filter(|d| Some(d.list_attribute_id) == spec.list_attribute_id)
            .map(|d| d.members.into_sorted_set()))
    };
    let ((attribute, remote), ids, delivered) = tokio::try_join!(listing, model, delivered)?;
    Ok((attribute, remote, ids, delivered))
}

/// The definitions snapshot as the planner takes it. An entry without a remote id or whose
/// stored hash or fields do not decode is left out: the planner then matches the row to
/// Optimizely's objects afresh, which is always safe.
fn delivered_definitions(store: &Store, sync: &str) -> Result<DeliveredDefinitions> {
    let records = store.definitions(sync).map_err(Error::state(sync))?;
    let mut delivered = DeliveredDefinitions::new();
    for (primary_key, record) in records {
        let (Some(remote_id), Ok(hash), Ok(fields)) = (
            record.remote_id,
            record.content_hash.parse::<ContentHash>(),
            serde_json::from_value::<Fields>(record.fields),
        ) else {
            tracing::warn!(sync, key = %primary_key, "ignoring an undecodable state entry");
            continue;
        };
        delivered.insert(
            primary_key,
            DeliveredObject {
                remote_id,
                hash,
                fields,
            },
        );
    }
    Ok(delivered)
}
