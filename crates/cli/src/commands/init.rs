//! `optisync init`: writes a commented starter `optisync.toml`; with `--example`, also a
//! small sample warehouse (CSV files read by the embedded DuckDB) that the starter config's
//! syncs read, so `validate` and `plan` work straight away.

use std::path::Path;

use anyhow::Context;

use crate::error::CliError;

/// The starter config: every table and key, commented.
pub const STARTER: &str = r#"# optisync configuration. Reference: docs/config.schema.json and the README.
# Secrets are never written here: they come from the environment or a file.

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

# A list attribute (Web Experimentation only): its members mirror the model.
[[sync]]
name = "beta_testers"
object = "list_attribute"
list_attribute_id = 4567              # create it under Audiences > Attributes and copy its id
mode = "mirror"                       # or "add" / "remove"
model = "select user_id from read_csv_auto('users.csv') where beta"
mapping = { user_id = "user_id" }

# Custom events, created when missing, updated when changed.
[[sync]]
name = "events"
object = "custom_event"
mode = "upsert"                       # or "insert": never touch existing events
model = "select event_key, event_name, category from read_csv_auto('events.csv')"
mapping = { key = "event_key", name = "event_name", category = "category" }
"#;

const USERS_CSV: &str = "user_id,beta,plan\nu-1001,true,pro\nu-1002,false,free\nu-1003,true,free\nu-1004,true,pro\nu-1005,false,pro\n";
const EVENTS_CSV: &str = "event_key,event_name,category\nsigned_up,Signed up,sign_up\nadded_to_cart,Added to cart,add_to_cart\npurchased,Purchased,purchase\n";

/// Writes the starter files into the config's folder; refuses to overwrite.
pub fn run(config_path: &Path, example: bool) -> Result<Vec<String>, CliError> {
    let dir = config_path
        .parent()
        .filter(|p| !p.as_os_str().is_empty())
        .unwrap_or(Path::new("."));
    let mut files = vec![(config_path.to_path_buf(), STARTER)];
    if example {
        files.push((dir.join("users.csv"), USERS_CSV));
        files.push((dir.join("events.csv"), EVENTS_CSV));
    }
    for (path, _) in &files {
        if path.exists() {
            return Err(CliError::Config(crate::error::ConfigError::Invalid(
                format!(
                    "{} already exists; move it away or pass --config with another path",
                    path.display()
                ),
            )));
        }
    }
    let mut written = Vec::new();
    for (path, content) in files {
        std::fs::write(&path, content).with_context(|| format!("writing {}", path.display()))?;
        written.push(path.display().to_string());
    }
    Ok(written)
}
