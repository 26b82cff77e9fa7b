//! `optisync init`: writes a commented starter `optisync.toml`; with `--example`, also a
//! small sample warehouse (CSV files read by the embedded DuckDB) that the starter config's
//! syncs read, so `validate` and `plan` work straight away. The starter holds a sync of each
//! kind a new user meets first: a list attribute (Web Experimentation), and an attribute, the
//! audiences that target it, and custom events (Web and Feature Experimentation).
//!
//! Its project and list attribute ids are placeholders; [`refuse_placeholders`] stops every
//! verb that talks to Optimizely while they are still there, before any request.

use std::path::Path;

use anyhow::Context;
use clap::Args;
use schemars::JsonSchema;
use serde::Serialize;

use crate::config::{Config, SecretConfig};
use crate::error::{CliError, ConfigError};
use crate::output::{OutputFormat, print_json};

/// `optisync init`.
#[derive(Debug, Args)]
pub struct InitArgs {
    /// Also write a small sample warehouse (CSV files) that the starter syncs read.
    #[arg(long)]
    pub example: bool,
}

/// The `--output json` document of `init`.
#[derive(Debug, Serialize, JsonSchema)]
pub struct InitOutput {
    /// The files written, in order.
    pub written: Vec<String>,
}

/// The starter's `project_id`.
pub const PLACEHOLDER_PROJECT_ID: i64 = 12_345_678_901;
/// The starter's `list_attribute_id`.
pub const PLACEHOLDER_LIST_ATTRIBUTE_ID: i64 = 4567;
/// Tokens copied from examples rather than from Profile > API Access (the README's
/// `export OPTIMIZELY_TOKEN=...`).
const PLACEHOLDER_TOKENS: &[&str] = &["...", "…", "<token>", "YOUR_TOKEN"];

/// The starter config: every table and key, commented.
pub const STARTER: &str = r#"# optisync configuration. Reference: docs/config.schema.json and the README.
# Secrets are never written here: they come from the environment or a file.
# The ids below are placeholders: `check`, `plan` and `sync` refuse to run until you replace them.

[optimizely]
# The numeric project id (Settings > Project), or the project's URL pasted as a string.
project_id = 12345678901
# A personal access token (Profile > API Access). SDK keys do not work with the REST API.
token = { env = "OPTIMIZELY_TOKEN" }     # or { file = "/run/secrets/optimizely_token" }
# api_url = "http://127.0.0.1:4010/v2"   # only for the fake server or a proxy; https otherwise
# rate_limit = { per_second = 2, per_minute = 120 }   # default chosen from the project's product

[source]
type = "duckdb"
# path = "warehouse.duckdb"   # omit for an in-memory DuckDB whose models read CSV/Parquet/JSON files

# A list attribute (Web Experimentation only; delete this sync on a Feature Experimentation
# project): its members mirror the model.
[[sync]]
name = "beta_testers"
object = "list_attribute"
list_attribute_id = 4567              # create it under Audiences > Attributes and copy its id
mode = "mirror"                       # or "add" / "remove"
model = "select user_id from read_csv_auto('users.csv') where beta"
mapping = { user_id = "user_id" }

# Custom attributes (Web and Feature Experimentation), created when missing, updated when
# changed. Feature Experimentation targets on attributes where Web uses list attributes.
[[sync]]
name = "user_attributes"
object = "attribute"
mode = "upsert"                       # or "insert": never touch existing attributes
model = "select attr_key, about from read_csv_auto('attributes.csv')"
mapping = { key = "attr_key", description = "about" }

# One audience per plan, targeting the `plan` attribute above (Web and Feature Experimentation).
[[sync]]
name = "plan_audiences"
object = "audience"
mode = "upsert"
audience_name = "{plan} plan users"   # a template: one audience per row, named from the row
model = """
select distinct
  plan,
  'Users on the ' || plan || ' plan' as about,
  '["and", ["or", {"type": "custom_attribute", "name": "plan", "match_type": "exact", "value": "'
    || plan || '"}]]' as conditions
from read_csv_auto('users.csv')
"""
mapping = { description = "about", conditions = "conditions" }

# Custom events, created when missing, updated when changed.
[[sync]]
name = "events"
object = "custom_event"
mode = "upsert"                       # or "insert": never touch existing events
model = "select event_key, event_name, category from read_csv_auto('events.csv')"
mapping = { key = "event_key", name = "event_name", category = "category" }
"#;

const USERS_CSV: &str = "user_id,beta,plan\nu-1001,true,pro\nu-1002,false,free\nu-1003,true,free\nu-1004,true,pro\nu-1005,false,pro\n";
const ATTRIBUTES_CSV: &str = "attr_key,about\nplan,The plan the user is on\nbeta,Whether the user tries features before everyone else\n";
const EVENTS_CSV: &str = "event_key,event_name,category\nsigned_up,Signed up,sign_up\nadded_to_cart,Added to cart,add_to_cart\npurchased,Purchased,purchase\n";

/// Prints the files written.
pub fn print(written: Vec<String>, format: OutputFormat) {
    match format {
        OutputFormat::Json => print_json(&InitOutput { written }),
        OutputFormat::Text => {
            for file in &written {
                crate::outln!("wrote {file}");
            }
        }
    }
}

/// Refuses a config that still holds the starter's placeholders (the project id, a list
/// attribute id, or a token copied from an example), naming each key to fill in. Offline: it
/// reads the config and the token's source, and sends nothing. An invalid config (exit
/// code 3), since the fix is in the config.
pub fn refuse_placeholders(config: &Config) -> Result<(), ConfigError> {
    let mut keys = Vec::new();
    if config.optimizely.project_id == PLACEHOLDER_PROJECT_ID {
        keys.push(format!(
            "[optimizely] project_id is the example's {PLACEHOLDER_PROJECT_ID}: write your project's numeric id (Settings > Project)"
        ));
    }
    // An unset variable or a missing file is reported where the token is read.
    if let Ok(token) = config.optimizely.token()
        && PLACEHOLDER_TOKENS.contains(&token.expose().trim())
    {
        let source = match &config.optimizely.token {
            SecretConfig::Env(name) => format!("environment variable {name}"),
            SecretConfig::File(path) => format!("file {}", path.display()),
        };
        keys.push(format!(
            "the token in {source} is a placeholder: put a personal access token from Profile > API Access there"
        ));
    }
    for sync in &config.syncs {
        if sync.spec.list_attribute_id == Some(PLACEHOLDER_LIST_ATTRIBUTE_ID) {
            keys.push(format!(
                "sync {}: list_attribute_id is the example's {PLACEHOLDER_LIST_ATTRIBUTE_ID}: create the list attribute under Audiences > Attributes and write its id",
                sync.spec.name
            ));
        }
    }
    if keys.is_empty() {
        return Ok(());
    }
    Err(ConfigError::Fix {
        message: format!(
            "the config still holds placeholder values from `optisync init`: {}",
            keys.join("; ")
        ),
        hint: "fill them in and run the command again; nothing was sent to Optimizely".to_owned(),
    })
}

/// Writes the starter files into the config's folder; refuses to overwrite.
pub fn run(config_path: &Path, example: bool) -> Result<Vec<String>, CliError> {
    let dir = config_path
        .parent()
        .filter(|p| !p.as_os_str().is_empty())
        .unwrap_or(Path::new("."));
    let mut files = vec![(config_path.to_path_buf(), STARTER)];
    if example {
        files.push((dir.join("users.csv"), USERS_CSV));
        files.push((dir.join("attributes.csv"), ATTRIBUTES_CSV));
        files.push((dir.join("events.csv"), EVENTS_CSV));
    }
    for (path, _) in &files {
        if path.exists() {
            return Err(CliError::usage(
                format!("{} already exists", path.display()),
                "move it away, or pass --config with another path",
            ));
        }
    }
    let mut written = Vec::new();
    for (path, content) in files {
        std::fs::write(&path, content).with_context(|| format!("writing {}", path.display()))?;
        written.push(path.display().to_string());
    }
    Ok(written)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_starter_holds_the_placeholders_that_are_refused() {
        assert!(STARTER.contains(&format!("project_id = {PLACEHOLDER_PROJECT_ID}\n")));
        assert!(STARTER.contains(&format!(
            "list_attribute_id = {PLACEHOLDER_LIST_ATTRIBUTE_ID} "
        )));
    }
}
