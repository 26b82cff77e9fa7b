//! `[[sync]]` tables parsed into the engine's [`SyncSpec`] when the config is read: the kind,
//! the target settings, the mapping and the audience name template are checked once, here,
//! and every problem of every sync is reported at once. Nothing after loading checks them
//! again.

use optisync_core::{DEFAULT_MAX_REMOVAL_PERCENT, Mapping, NameTemplate, SyncKind};
use optisync_engine::SyncSpec;
use optisync_engine::destination::object_rules;
use optisync_engine::spec::OdpTarget;

use optisync_serve::Schedule;
use optisync_serve::dbt::DbtTrigger;

use super::{ScheduleConfig, SyncConfig, secret};

/// A validated `[[sync]]`.
#[derive(Debug, Clone)]
pub struct Sync {
    /// Everything a run of the sync needs.
    pub spec: SyncSpec,
    /// When `serve` runs it ([`Schedule::Manual`] when the config gives no schedule).
    pub schedule: Schedule,
    /// Whether `serve` also runs it after each successful dbt run of some models.
    pub after: Option<DbtTrigger>,
}

impl Sync {
    /// The sync's name.
    pub fn name(&self) -> &str {
        &self.spec.name
    }
}

/// Parses every sync, collecting all problems: empty and repeated names, then each sync's
/// own (see [`parse`]).
pub(super) fn parse_all(
    raw: Vec<SyncConfig>,
    base: &std::path::Path,
) -> Result<Vec<Sync>, Vec<String>> {
    let mut problems = Vec::new();
    let mut seen = std::collections::BTreeSet::new();
    let mut syncs = Vec::with_capacity(raw.len());
    for sync in raw {
        if sync.name.trim().is_empty() {
            problems.push("a [[sync]] has an empty name; give every sync a unique name".into());
            continue;
        }
        if !seen.insert(sync.name.clone()) {
            problems.push(format!(
                "two syncs are named {}; sync names must be unique",
                secret::shown(&sync.name)
            ));
            continue;
        }
        match parse(sync, base) {
            Ok(sync) => syncs.push(sync),
            Err(mut found) => problems.append(&mut found),
        }
    }
    if problems.is_empty() {
        Ok(syncs)
    } else {
        Err(problems)
    }
}

/// Parses one sync: its kind, the settings its object type needs and refuses, its
/// guardrails, its mapping and its audience name template. Every problem is named with the
/// sync and the key, and says what to write instead.
fn parse(raw: SyncConfig, base: &std::path::Path) -> Result<Sync, Vec<String>> {
    // Each problem as said after "sync NAME: ".
    let mut problems: Vec<String> = Vec::new();
    let named = |problems: Vec<String>| {
        problems
            .into_iter()
            .map(|p| format!("sync {}: {p}", raw.name))
            .collect::<Vec<_>>()
    };
    let kind = match SyncKind::parse(raw.object.0, raw.mode.0) {
        Ok(kind) => kind,
        Err(e) => {
            return Err(named(vec![e.to_string()]));
        }
    };
    let rules = object_rules(kind);
    match (kind, raw.list_attribute_id) {
        (SyncKind::List { .. }, None) => problems.push(
            "list_attribute_id is required for object = \"list_attribute\"; create the list attribute under Audiences > Attributes and copy its id".into(),
        ),
        (SyncKind::List { .. }, Some(id)) if id <= 0 => problems.push(format!(
            "list_attribute_id {id} is not an id; copy the list attribute's id (a positive number) from Audiences > Attributes"
        )),
        (SyncKind::Definition { .. }, Some(_)) => problems.push(
            "list_attribute_id only applies to object = \"list_attribute\"; remove it".into(),
        ),
        // Said with the other ODP settings below.
        (SyncKind::OdpAttribute { .. }, _) => {}
        _ => {}
    }
    if raw.max_creates.is_some()
        && matches!(kind, SyncKind::List { .. } | SyncKind::OdpAttribute { .. })
    {
        problems.push(
            "max_creates only applies to audience, attribute and custom_event syncs; remove it"
                .into(),
        );
    }
    let odp = match kind {
        SyncKind::OdpAttribute { .. } => {
            let identifier = raw.identifier.as_deref().unwrap_or(DEFAULT_ODP_IDENTIFIER);
            let identifier = odp_name("identifier", identifier, &mut problems);
            let field = match raw.field.as_deref() {
                Some(field) => odp_name("field", field, &mut problems),
                None => {
                    problems.push(
                        "field is required for object = \"odp_attribute\": the ODP customer field to write, e.g. field = \"in_beta\""
                            .into(),
                    );
                    None
                }
            };
            if raw.list_attribute_id.is_some() {
                problems.push(
                    "list_attribute_id only applies to object = \"list_attribute\"; remove it"
                        .into(),
                );
            }
            identifier
                .zip(field)
                .map(|(identifier, field)| OdpTarget { identifier, field })
        }
        _ => {
            for (key, given) in [("identifier", &raw.identifier), ("field", &raw.field)] {
                if given.is_some() {
                    problems.push(format!(
                        "{key} only applies to object = \"odp_attribute\"; remove it"
                    ));
                }
            }
            None
        }
    };
    // NaN and the infinities are outside the range too.
    if let Some(p) = raw.max_removal_percent
        && !(p.is_finite() && (0.0..=100.0).contains(&p))
    {
        problems.push(format!(
            "max_removal_percent must be a number from 0 to 100, not {p}"
        ));
    }
    let audience_name = match raw.audience_name.as_deref() {
        Some(text) if rules.named_by_template && !text.trim().is_empty() => {
            match NameTemplate::parse(text) {
                Ok(template) => Some(template),
                Err(e) => {
                    problems.push(format!("audience_name: {e}"));
                    None
                }
            }
        }
        _ if rules.named_by_template => {
            problems.push(format!(
                "audience_name is required for object = \"{}\" (a fixed name, or a template such as \"{{segment_name}}\")",
                kind.object()
            ));
            None
        }
        Some(_) => {
            problems.push("audience_name only applies to object = \"audience\"; remove it".into());
            None
        }
        None => None,
    };
    let schedule = match parse_schedule(raw.schedule.as_ref()) {
        Ok(schedule) => Some(schedule),
        Err(e) => {
            problems.push(format!("schedule: {e}"));
            None
        }
    };
    let after = match &raw.after {
        Some(after) if after.models.iter().all(|m| m.trim().is_empty()) => {
            problems.push(
                "after: models is empty; name the dbt models whose successful run starts this sync, e.g. models = [\"beta_testers\"]".into(),
            );
            None
        }
        Some(after) => Some(DbtTrigger {
            run_results: if after.dbt_run_results.is_absolute() {
                after.dbt_run_results.clone()
            } else {
                base.join(&after.dbt_run_results)
            },
            models: after
                .models
                .iter()
                .map(|m| m.trim().to_owned())
                .filter(|m| !m.is_empty())
                .collect(),
        }),
        None => None,
    };
    let mapping = match Mapping::new(rules, raw.mapping.iter()) {
        Ok(mapping) => Some(mapping),
        Err(errors) => {
            for e in &errors.0 {
                problems.push(format!("mapping: {e}"));
            }
            None
        }
    };
    match mapping {
        Some(mapping) if problems.is_empty() => Ok(Sync {
            schedule: schedule.unwrap_or(Schedule::Manual),
            after,
            spec: SyncSpec {
                name: raw.name,
                kind,
                model: raw.model,
                mapping,
                primary_key: raw.primary_key.unwrap_or_default(),
                list_attribute_id: raw.list_attribute_id,
                audience_name,
                allow_pii: raw.allow_pii,
                max_removal_percent: raw
                    .max_removal_percent
                    .unwrap_or(DEFAULT_MAX_REMOVAL_PERCENT),
                max_creates: raw
                    .max_creates
                    .unwrap_or(optisync_core::planner::DEFAULT_MAX_CREATES),
                odp,
            },
        }),
        _ => Err(named(problems)),
    }
}

/// The ODP identifier an `odp_attribute` sync sends its ids as when the config names none:
/// the one Feature Experimentation's SDKs look users up by (docs/ODP-API.md#graphql).
pub(super) const DEFAULT_ODP_IDENTIFIER: &str = "fs_user_id";

/// The longest ODP field or identifier name optisync accepts.
const MAX_ODP_NAME: usize = 64;

/// An ODP field or identifier name as ODP's schema allows it (lower case letters, digits and
/// underscores, starting with a letter; docs/ODP-API.md#schema), or a problem. A name that is
/// not one is not quoted: it may be anything pasted.
fn odp_name(key: &str, name: &str, problems: &mut Vec<String>) -> Option<String> {
    let name = name.trim();
    let valid = name.len() <= MAX_ODP_NAME
        && name.starts_with(|c: char| c.is_ascii_lowercase())
        && name
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_');
    if valid {
        Some(name.to_owned())
    } else {
        problems.push(format!(
            "{key} is not an ODP {key} name; ODP names are lower case letters, digits and underscores, starting with a letter (at most {MAX_ODP_NAME}), e.g. {}",
            if key == "field" { "\"in_beta\"" } else { "\"fs_user_id\"" }
        ));
        None
    }
}

/// A `schedule` as written: a cron expression (UTC), `"manual"`, `{ cron, tz }` or
/// `{ every }`. Cron expressions and zones are not secrets; they are quoted in messages.
fn parse_schedule(raw: Option<&ScheduleConfig>) -> Result<Schedule, String> {
    match raw {
        None => Ok(Schedule::Manual),
        Some(ScheduleConfig::Text(text)) if text.trim() == "manual" => Ok(Schedule::Manual),
        Some(ScheduleConfig::Text(text)) => {
            Schedule::cron(text, None).map_err(|e| e.to_string())
        }
        Some(ScheduleConfig::Table(table)) => match (&table.cron, &table.every) {
            (Some(cron), None) => {
                Schedule::cron(cron, table.tz.as_deref()).map_err(|e| e.to_string())
            }
            (None, Some(every)) if table.tz.is_none() => {
                let interval = super::parse_duration(every, super::SCHEDULE_INTERVAL)
                    .map_err(|e| format!("every {} {e}", secret::shown(every)))?;
                Schedule::every(interval).map_err(|e| e.to_string())
            }
            (None, Some(_)) => Err("tz only applies to cron; remove it from an every schedule".into()),
            _ => Err(
                "write either { cron = \"*/15 * * * *\", tz = \"Europe/Berlin\" } or { every = \"10min\" }"
                    .into(),
            ),
        },
    }
}
