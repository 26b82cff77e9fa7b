//! `optisync check`: read-only checks against the real systems, each problem one clear line
//! with its fix (docs/PRODUCT-RULES.md#problem-messages).
//!
//! The checks only read: `GET /projects/{id}` and `GET /list_attributes/{id}`. They stop early
//! where later checks could only repeat the same cause (no project, no point asking for its
//! list attributes).

use optisync_core::SyncKind;
use optisync_engine::policy::{kind_refusal, product_name, project_refusal};
use optisync_optimizely::{ApiToken, Client, Error as ApiError, ErrorKind, Product, Project};
use schemars::JsonSchema;
use serde::Serialize;

use crate::config::{Config, SecretConfig};
use crate::error::CliError;
use crate::output::{OutputFormat, print_json};

/// How serious a finding is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, JsonSchema)]
#[serde(rename_all = "lowercase")]
pub enum Level {
    /// Checked and fine.
    Ok,
    /// Works, but the user should know.
    Warning,
    /// Blocks syncing; `check` exits 4.
    Problem,
}

/// One line of the report.
#[derive(Debug, Clone, Serialize, JsonSchema)]
pub struct Finding {
    /// How serious.
    pub level: Level,
    /// The sync it concerns, if any.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub sync: Option<String>,
    /// What was found and, for problems, how to fix it.
    pub message: String,
}

/// The `--output json` document of `check`.
#[derive(Debug, Clone, Serialize, JsonSchema)]
pub struct CheckOutput {
    /// True when nothing blocks syncing (exit code 0; otherwise 4).
    pub passed: bool,
    /// The detected product, when the project could be read.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub product: Option<String>,
    /// In the order checked.
    pub findings: Vec<Finding>,
}

/// Everything `check` found.
#[derive(Debug, Clone, Default)]
pub struct CheckReport {
    /// In the order checked.
    pub findings: Vec<Finding>,
    /// The detected product, when the project could be read.
    pub product: Option<String>,
}

impl CheckReport {
    /// The report as the JSON document.
    pub fn to_output(&self) -> CheckOutput {
        CheckOutput {
            passed: self.passed(),
            product: self.product.clone(),
            findings: self.findings.clone(),
        }
    }

    /// Prints the report: one line per finding, then the verdict.
    pub fn print(&self, format: OutputFormat) {
        if format == OutputFormat::Json {
            print_json(&self.to_output());
            return;
        }
        for finding in &self.findings {
            let tag = match finding.level {
                Level::Ok => "ok",
                Level::Warning => "warning",
                Level::Problem => "problem",
            };
            crate::outln!("{tag}: {}", finding.message);
        }
        let problems = self
            .findings
            .iter()
            .filter(|f| f.level == Level::Problem)
            .count();
        if problems == 0 {
            crate::outln!("check passed");
        } else {
            crate::outln!("check failed: {problems} problem(s)");
        }
    }

    /// True when nothing blocks syncing.
    pub fn passed(&self) -> bool {
        self.findings.iter().all(|f| f.level != Level::Problem)
    }

    fn push(&mut self, level: Level, sync: Option<&str>, message: impl Into<String>) {
        self.findings.push(Finding {
            level,
            sync: sync.map(str::to_owned),
            message: message.into(),
        });
    }
}

/// The warehouse answers, and every sync's model is accepted by it (described, not run: a
/// check never computes a model's rows).
async fn check_source(config: &Config, report: &mut CheckReport) {
    let source = match crate::warehouse::open(config) {
        Ok(source) => source,
        Err(error) => {
            report.push(Level::Problem, None, format!("warehouse: {error}"));
            return;
        }
    };
    if let Err(error) = source.check().await {
        report.push(Level::Problem, None, format!("warehouse: {error}"));
        return;
    }
    report.push(
        Level::Ok,
        None,
        format!("warehouse ({}) answers", source.kind()),
    );
    for sync in &config.syncs {
        match source.describe(&sync.spec.model).await {
            Ok(columns) => report.push(
                Level::Ok,
                Some(&sync.spec.name),
                format!(
                    "sync {}: model accepted ({})",
                    sync.spec.name,
                    crate::output::count(columns.len() as u64, "column")
                ),
            ),
            Err(error) => report.push(
                Level::Problem,
                Some(&sync.spec.name),
                format!(
                    "sync {}: model: {error}; fix the model in the config",
                    sync.spec.name
                ),
            ),
        }
    }
}

/// The message for an SDK key pasted where a personal token belongs.
pub const SDK_KEY_WARNING: &str = "this looks like an SDK key; the REST API needs a personal access token from Profile > API Access";

/// Attempts per request made by `check` (1 s + 2 s of backoff at most).
const CHECK_ATTEMPTS: u32 = 3;

/// Runs every check. Config errors (unreadable token, bad id) are returned as errors: they
/// exit 3 like in every verb.
pub async fn run(config: &Config) -> Result<CheckReport, CliError> {
    run_with(config, &CheckArgs::default()).await
}

/// `check`'s switches.
#[derive(Debug, Clone, Default, clap::Args)]
pub struct CheckArgs {
    /// Create the ODP customer fields that `odp_attribute` syncs write and ODP lacks (a
    /// boolean field, for a sync that maps no `value`): the one thing `check` ever writes.
    #[arg(long)]
    pub create_fields: bool,
}

/// [`run`] with the command line's switches.
pub async fn run_with(config: &Config, args: &CheckArgs) -> Result<CheckReport, CliError> {
    // The untouched starter config would send its example ids to the real API.
    crate::commands::init::refuse_placeholders(config)?;
    let mut report = CheckReport::default();
    check_source(config, &mut report).await;
    let project_id = config.optimizely.project_id;
    let token = config.optimizely.token()?;
    token_warnings(&config.optimizely.token, &token, &mut report);

    // Through the state store's request ledger, like every verb that calls the API, so that
    // a `plan` right after shares the same quota. A state folder that cannot be used is a
    // problem of its own; the checks go on with this process's own quota.
    let store = match crate::connect::open_store(config) {
        Ok(store) => Some(store),
        Err(error) => {
            report.push(Level::Problem, None, format!("state: {error}"));
            None
        }
    };
    if let Some(odp) = &config.odp {
        check_odp(config, odp, store.as_ref(), args.create_fields, &mut report).await?;
    }
    // A diagnosis should answer within seconds: retry a flaky network, but not for a minute.
    let client = crate::connect::client(config, token, store.as_ref(), Some(CHECK_ATTEMPTS))?;
    let project = match client.get_project(project_id).await {
        Ok(project) => project,
        Err(err) => {
            report.push(Level::Problem, None, project_error(project_id, &err));
            return Ok(report);
        }
    };
    if let Some(store) = &store
        && let Err(error) = store.remember_product(project_id, project.product().as_str())
    {
        tracing::warn!(%error, "could not remember the project's product in the state store");
    }
    let Some(product) = check_project(&project, &mut report) else {
        return Ok(report);
    };
    report.product = Some(product_name(product).to_owned());

    if config.syncs.iter().any(|s| s.spec.odp.is_some()) {
        let key = config.odp.as_ref().and_then(|odp| odp.key().ok());
        check_datafile_integration(&client, project_id, key.as_ref(), &mut report).await;
    }
    for sync in &config.syncs {
        let kind @ SyncKind::List { .. } = sync.spec.kind else {
            continue;
        };
        let Some(list_id) = sync.spec.list_attribute_id else {
            continue;
        };
        check_list_attribute(
            &client,
            project_id,
            kind,
            product,
            sync.name(),
            list_id,
            &mut report,
        )
        .await;
    }
    Ok(report)
}

/// ODP: the private key reads the customer schema, and each ODP-attribute sync's identifier
/// and field exist there, with a type its values fit (ADR 0018).
async fn check_odp(
    config: &Config,
    odp: &crate::config::Odp,
    store: Option<&optisync_state::Store>,
    create_fields: bool,
    report: &mut CheckReport,
) -> Result<(), CliError> {
    use optisync_engine::destination::odp_attribute::{CUSTOMERS, FieldType, Schema, judge_schema};
    let client = crate::connect::odp_client(odp, &config.optimizely.proxy, store)?;
    let mut fields = match client.odp_fields(CUSTOMERS).await {
        Ok(fields) => fields,
        Err(error) => {
            report.push(
                Level::Problem,
                None,
                format!("ODP: reading the customer schema failed: {error}"),
            );
            return Ok(());
        }
    };
    report.push(
        Level::Ok,
        None,
        format!(
            "ODP: the private key reads the customer schema ({})",
            crate::output::count(fields.len() as u64, "field")
        ),
    );
    for sync in &config.syncs {
        let Some(target) = &sync.spec.odp else {
            continue;
        };
        let name = sync.name();
        let value_mapped = sync
            .spec
            .mapping
            .column(optisync_core::Field::Value)
            .is_some();
        if create_fields && !fields.iter().any(|f| f.name == target.field) {
            if value_mapped {
                report.push(
                    Level::Problem,
                    Some(name),
                    format!(
                        "sync {name}: ODP has no customer field {:?}, and --create-fields creates only boolean fields (for syncs without a `value` mapping); create it in ODP with the type of the sync's values (Settings > Objects & Fields > Customers)",
                        target.field
                    ),
                );
                continue;
            }
            let new = optisync_optimizely::NewOdpField {
                name: target.field.clone(),
                display_name: display_name(&target.field),
                field_type: "boolean".to_owned(),
                description: format!("Set by the optisync sync {name}"),
            };
            match client.odp_create_field(CUSTOMERS, &new).await {
                Ok(created) => {
                    report.push(
                        Level::Ok,
                        Some(name),
                        format!(
                            "sync {name}: created the boolean customer field {:?} in ODP",
                            target.field
                        ),
                    );
                    fields.push(created);
                }
                Err(error) => {
                    report.push(
                        Level::Problem,
                        Some(name),
                        format!(
                            "sync {name}: creating the customer field {:?} failed: {error}",
                            target.field
                        ),
                    );
                    continue;
                }
            }
        }
        match judge_schema(&fields, &target.identifier, &target.field) {
            Schema::Unusable(message) => {
                report.push(
                    Level::Problem,
                    Some(name),
                    format!("sync {name}: {message}"),
                );
            }
            Schema::Ready(field_type) => {
                if !value_mapped && field_type != FieldType::Boolean {
                    report.push(
                        Level::Problem,
                        Some(name),
                        format!(
                            "sync {name}: ODP's customer field {:?} is a {} field, but the sync maps no `value` column, so every user would get `true`; map one or write to a boolean field",
                            target.field,
                            field_type.as_str()
                        ),
                    );
                    continue;
                }
                report.push(
                    Level::Ok,
                    Some(name),
                    format!(
                        "sync {name}: ODP customer field {:?} ({}) exists; users are sent as {:?}, which must be the user id your app passes to the Feature Experimentation SDK, or nobody qualifies",
                        target.field,
                        field_type.as_str(),
                        target.identifier
                    ),
                );
            }
        }
    }
    Ok(())
}

/// `in_beta` as ODP's UI would name it: `In Beta`.
fn display_name(field: &str) -> String {
    field
        .split('_')
        .filter(|w| !w.is_empty())
        .map(|w| {
            let mut chars = w.chars();
            chars.next().map_or_else(String::new, |c| {
                c.to_ascii_uppercase().to_string() + chars.as_str()
            })
        })
        .collect::<Vec<_>>()
        .join(" ")
}

/// Whether the project's datafiles declare the ODP integration the FX SDKs need to ask ODP
/// for a user's segments, and for the same ODP account as the config's key.
async fn check_datafile_integration(
    client: &Client,
    project_id: i64,
    odp_key: Option<&ApiToken>,
    report: &mut CheckReport,
) {
    let environments = match client.environments(project_id).await {
        Ok(environments) => environments,
        Err(error) => {
            report.push(
                Level::Warning,
                None,
                format!("ODP integration: the project's environments could not be read: {error}"),
            );
            return;
        }
    };
    // The private key is `<public key>.<secret>` (docs/ODP-API.md#1-hosts-base-path-keys).
    let public = odp_key.and_then(|k| k.expose().rsplit_once('.').map(|(p, _)| p.to_owned()));
    for environment in environments.iter().filter(|e| e.archived != Some(true)) {
        let label = environment
            .key
            .as_deref()
            .or(environment.name.as_deref())
            .filter(|k| k.len() <= 64 && !k.chars().any(char::is_control))
            .map_or_else(
                || format!("environment {}", environment.id),
                |k| format!("environment {k}"),
            );
        match client.datafile_odp_integration(environment.id).await {
            Ok(Some(integration)) => {
                if let (Some(public), Some(declared)) = (&public, &integration.public_key)
                    && public != declared
                {
                    report.push(
                        Level::Problem,
                        None,
                        format!(
                            "ODP integration: the datafile of {label} names another ODP account than the [odp] private_key; the SDKs would look users up where optisync does not write. Use that account's key, or connect this account in the project's settings (Settings > Integrations > Optimizely Data Platform)"
                        ),
                    );
                } else {
                    report.push(
                        Level::Ok,
                        None,
                        format!("ODP integration: the datafile of {label} declares it; SDKs with ODP enabled can fetch the segments"),
                    );
                }
            }
            Ok(None) => report.push(
                Level::Warning,
                None,
                format!(
                    "ODP integration: the datafile of {label} does not declare it, so SDKs there cannot fetch ODP segments; connect ODP in the project (Settings > Integrations > Optimizely Data Platform) and enable Real-Time Audiences"
                ),
            ),
            Err(error) => report.push(
                Level::Warning,
                None,
                format!("ODP integration: the datafile of {label} could not be read: {error}"),
            ),
        }
    }
}

fn token_warnings(source: &SecretConfig, token: &ApiToken, report: &mut CheckReport) {
    if token.looks_like_sdk_key() {
        report.push(Level::Warning, None, SDK_KEY_WARNING);
    }
    if let SecretConfig::File(path) = source
        && let Some(mode) = file_mode(path)
        && mode & 0o077 != 0
    {
        report.push(
            Level::Warning,
            None,
            format!(
                "token file {} is readable by group or others (mode {:o}); run `chmod 600 {}`",
                path.display(),
                mode & 0o777,
                path.display()
            ),
        );
    }
}

#[cfg(unix)]
fn file_mode(path: &std::path::Path) -> Option<u32> {
    use std::os::unix::fs::PermissionsExt;
    std::fs::metadata(path).ok().map(|m| m.permissions().mode())
}

#[cfg(not(unix))]
fn file_mode(_path: &std::path::Path) -> Option<u32> {
    None
}

/// The message for a failed `GET /projects/{id}`.
fn project_error(project_id: i64, err: &ApiError) -> String {
    match err.kind() {
        ErrorKind::Auth => auth_message(project_id),
        _ if err.status() == Some(404) => {
            format!("project {project_id} not found: check the numeric id in Settings > Project")
        }
        _ => format!("cannot read project {project_id}: {err}"),
    }
}

/// The message for 401 and 403 (docs/PRODUCT-RULES.md#problem-messages).
pub fn auth_message(project_id: i64) -> String {
    format!(
        "authentication failed: the token is invalid, revoked, or has no access to project {project_id}; SDK keys and datafile access tokens cannot be used"
    )
}

/// Checks status and product with the engine's policy; returns the product when syncing
/// can go on.
fn check_project(project: &Project, report: &mut CheckReport) -> Option<Product> {
    let id = project.id;
    let name = project.name.as_deref().unwrap_or("");
    if let Some(refusal) = project_refusal(project) {
        report.push(
            Level::Problem,
            None,
            format!("project {id} ({name}) {refusal}"),
        );
        return None;
    }
    let product = project.product();
    report.push(
        Level::Ok,
        None,
        format!(
            "project {id} ({name}) is an active {} project",
            product_name(product)
        ),
    );
    Some(product)
}

async fn check_list_attribute(
    client: &Client,
    project_id: i64,
    kind: SyncKind,
    product: Product,
    sync: &str,
    list_id: i64,
    report: &mut CheckReport,
) {
    if let Some(refusal) = kind_refusal(kind, product) {
        report.push(
            Level::Problem,
            Some(sync),
            format!("sync {sync}: {refusal}"),
        );
        return;
    }
    match client.get_list_attribute(list_id).await {
        Ok(list) if list.project_id != Some(project_id) => report.push(
            Level::Problem,
            Some(sync),
            format!(
                "sync {sync}: list attribute {list_id} belongs to project {}, not {project_id}; use a list attribute of project {project_id}",
                list.project_id.map_or_else(|| "unknown".to_owned(), |p| p.to_string())
            ),
        ),
        Ok(list) if list.archived.unwrap_or(false) => report.push(
            Level::Problem,
            Some(sync),
            format!(
                "sync {sync}: list attribute {list_id} ({}) is archived; unarchive it in Optimizely or point list_attribute_id at an active one",
                list.name
            ),
        ),
        Ok(list) => report.push(
            Level::Ok,
            Some(sync),
            format!(
                "sync {sync}: list attribute {list_id} ({}) exists and is usable",
                list.name
            ),
        ),
        Err(err) if err.status() == Some(404) => report.push(
            Level::Problem,
            Some(sync),
            format!(
                "sync {sync}: list attribute {list_id} not found in project {project_id}; create it under Audiences > Attributes and copy its id"
            ),
        ),
        Err(err) if err.kind() == ErrorKind::Auth => {
            report.push(Level::Problem, Some(sync), format!("sync {sync}: {}", auth_message(project_id)));
        }
        Err(err) => report.push(
            Level::Problem,
            Some(sync),
            format!("sync {sync}: cannot read list attribute {list_id}: {err}"),
        ),
    }
}
