//! `optisync demo`: optisync end to end with no setup. It writes a sample warehouse (50,000
//! users in segments, plus audience, attribute and event definitions, as CSV and JSON files
//! that DuckDB queries in SQL) and two configs into a directory, starts the fake Optimizely
//! in-process (the Web and Feature Experimentation projects of `demo_seed`, with raised rate
//! limits), then runs check, plan and sync of every object type and mode, syncs again to
//! show a no-op (zero write requests, counted by the fake), changes some rows to show an
//! incremental plan and sync, and prints what the fake holds.

use std::fmt::Write as _;
use std::path::{Path, PathBuf};

use anyhow::Context;
use clap::Args;
use fake_optimizely::{
    DEMO_FX_PROJECT_ID, DEMO_LIST_ATTRIBUTE_ID, DEMO_ODP_PRIVATE_KEY, DEMO_ODP_SEGMENT,
    DEMO_WEB_PROJECT_ID, FakeOptimizely, RateLimits, demo_seed,
};
use schemars::JsonSchema;
use serde::Serialize;
use serde_json::{Value, json};

use crate::commands::check::{self, CheckOutput};
use crate::commands::plan::{self, PlanArgs, PlanOutput};
use crate::commands::run_flags::RunFlags;
use crate::commands::sync::{self, SyncArgs, SyncOutput};
use crate::config::Config;
use crate::error::CliError;
use crate::exit::{Exit, worst};
use crate::output::{OutputFormat, print_json};

/// `optisync demo`.
#[derive(Debug, Args)]
pub struct DemoArgs {
    /// Where the demo writes its config (default: a new temporary directory).
    #[arg(long)]
    pub dir: Option<PathBuf>,
    /// Then keep the fake running and start `optisync serve` on it, with short schedules, a
    /// warehouse that changes every 20 s, a row Optimizely refuses and an alert receiver; open
    /// the printed address to watch. Ctrl-C stops it.
    #[arg(long)]
    pub serve: bool,
}

/// The `--output json` document of `demo`: each command it ran, with the document that
/// command prints with `--output json`.
#[derive(Debug, Serialize, JsonSchema)]
pub struct DemoOutput {
    /// The folder holding the demo's warehouse and configs.
    pub dir: String,
    /// The commands, in the order run.
    pub steps: Vec<DemoStep>,
    /// Write requests that reached the fake during the second run of every sync (0: a run
    /// over unchanged data sends nothing).
    pub second_run_writes: u64,
}

/// One command the demo ran.
#[derive(Debug, Serialize, JsonSchema)]
pub struct DemoStep {
    /// The command line, as a user would type it.
    pub command: String,
    /// What the command would have exited with.
    pub exit_code: u8,
    /// Its verb and output.
    #[serde(flatten)]
    pub output: DemoStepOutput,
}

/// The output of one command of the demo, tagged with its verb.
#[derive(Debug, Serialize, JsonSchema)]
#[serde(tag = "verb", content = "output", rename_all = "snake_case")]
pub enum DemoStepOutput {
    /// `optisync check`.
    Check(CheckOutput),
    /// `optisync plan`.
    Plan(PlanOutput),
    /// `optisync sync`.
    Sync(SyncOutput),
}

/// The token the demo's fake accepts. It is shaped like a personal access token.
const DEMO_TOKEN: &str = "2:demo-token-for-the-in-process-fake-optimizely-server";

/// Users in the sample warehouse.
const USERS: usize = 50_000;

/// The list attribute the `add` sync writes.
const NEWSLETTER_LIST_ID: i64 = 30_000_000_002;
/// The list attribute the `remove` sync writes; seeded with members.
const SUPPRESSION_LIST_ID: i64 = 30_000_000_003;
/// Members the suppression list starts with.
const SUPPRESSION_SEEDED: usize = 2_000;

/// The demo's raised rate limits (the real ones would make the demo take minutes).
const DEMO_PER_SECOND: u32 = 100;
/// ODP profile requests a second in the demo (ODP allows 10).
const DEMO_ODP_PER_SECOND: u32 = 100;
const DEMO_PER_MINUTE: u32 = 6_000;

/// Runs the demo.
pub async fn run(args: DemoArgs, format: OutputFormat) -> Result<Exit, CliError> {
    let dir = demo_dir(args.dir.clone())?;
    let mut seed = demo_seed(DEMO_TOKEN);
    seed.rate_limits = RateLimits {
        fx_per_second: Some(DEMO_PER_SECOND),
        fx_per_minute: Some(DEMO_PER_MINUTE),
        web_per_minute: Some(DEMO_PER_MINUTE),
        odp_profiles_per_second: Some(DEMO_ODP_PER_SECOND),
        ..seed.rate_limits
    };
    let suppressed = (1..=SUPPRESSION_SEEDED).map(user_id).collect::<Vec<_>>();
    seed.list_attributes
        .push(list_attribute(NEWSLETTER_LIST_ID, "demo_newsletter", ""));
    seed.list_attributes.push(list_attribute(
        SUPPRESSION_LIST_ID,
        "demo_suppression",
        &suppressed.join(","),
    ));
    let fake = FakeOptimizely::new(seed).context("seeding the fake server")?;
    let running = fake
        .serve(([127, 0, 0, 1], 0).into())
        .await
        .context("starting the fake server")?;
    say(
        format,
        &format!(
            "fake Optimizely listening on {} (rate limits raised to {DEMO_PER_SECOND}/s and {DEMO_PER_MINUTE}/min for the demo; the real API allows 2/s and 120/min on Feature Experimentation, 100/min on Web)",
            running.base_url()
        ),
    );

    write_private(&dir.join("token"), DEMO_TOKEN)?;
    write_private(&dir.join("odp_key"), DEMO_ODP_PRIVATE_KEY)?;
    write_warehouse(&dir, false)?;
    say(
        format,
        &format!(
            "wrote a sample warehouse of {USERS} users, 8 segments, attributes and events in {}",
            dir.display()
        ),
    );
    let web = dir.join("web.toml");
    let fx = dir.join("fx.toml");
    write_file(&web, &web_config(&running.base_url()))?;
    write_file(
        &fx,
        &fx_config(&running.base_url(), &running.odp_base_url()),
    )?;
    say(
        format,
        &format!("wrote {} and {}", web.display(), fx.display()),
    );

    let mut exit = Exit::Success;
    let mut steps = Vec::new();
    for config in [&web, &fx] {
        let command = format!("optisync check --config {}", config.display());
        say(format, &format!("\n$ {command}"));
        let loaded = Config::load(config)?;
        let report = check::run(&loaded).await?;
        if format == OutputFormat::Text {
            report.print(format);
        }
        let code = if report.passed() {
            Exit::Success
        } else {
            Exit::CheckFailed
        };
        exit = worst(exit, code);
        steps.push(DemoStep {
            command,
            exit_code: code.code(),
            output: DemoStepOutput::Check(report.to_output()),
        });
    }

    for config in [&web, &fx] {
        exit = worst(exit, plan(config, format, &mut steps).await?);
        exit = worst(exit, sync(config, format, &mut steps).await?);
    }

    say(
        format,
        "\n# Running every sync again: nothing changed, so nothing is sent.",
    );
    let before = fake.stats().writes;
    for config in [&web, &fx] {
        exit = worst(exit, sync(config, format, &mut steps).await?);
    }
    let writes = fake.stats().writes - before;
    say(
        format,
        &format!("second run: {writes} write requests reached the fake (its own counters)"),
    );

    say(
        format,
        "\n# Changing the warehouse: some users leave the beta and join the newsletter, a segment is renamed, an attribute is described better, an event is added.",
    );
    write_warehouse(&dir, true)?;
    for config in [&web, &fx] {
        exit = worst(exit, plan(config, format, &mut steps).await?);
        exit = worst(exit, sync(config, format, &mut steps).await?);
    }

    say(format, "\n# What the fake Optimizely holds now");
    say(format, &holdings(&fake.state()));
    say(format, &odp_holdings(&fake));
    if args.serve {
        let served = serve(&dir, &running.base_url(), format).await;
        running.shutdown().await;
        return served;
    }
    running.shutdown().await;
    say(
        format,
        &format!(
            "\nTry it yourself: optisync plan --config {} (the fake is stopped now; run `fake-optimizely` to serve one)",
            web.display()
        ),
    );
    if format == OutputFormat::Json {
        print_json(&DemoOutput {
            dir: dir.display().to_string(),
            steps,
            second_run_writes: writes,
        });
    }
    Ok(exit)
}

async fn plan(
    config: &Path,
    format: OutputFormat,
    steps: &mut Vec<DemoStep>,
) -> Result<Exit, CliError> {
    let command = format!("optisync plan --config {}", config.display());
    say(format, &format!("\n$ {command}"));
    let args = PlanArgs {
        flags: flags(),
        out: None,
        detailed_exitcode: false,
    };
    let (output, exit) = plan::plan(&args, config, format).await?;
    steps.push(DemoStep {
        command,
        exit_code: exit.code(),
        output: DemoStepOutput::Plan(output),
    });
    Ok(exit)
}

async fn sync(
    config: &Path,
    format: OutputFormat,
    steps: &mut Vec<DemoStep>,
) -> Result<Exit, CliError> {
    let command = format!("optisync sync --config {}", config.display());
    say(format, &format!("\n$ {command}"));
    let args = SyncArgs {
        flags: flags(),
        plan: None,
    };
    let (output, exit) = sync::sync(&args, config, format).await?;
    steps.push(DemoStep {
        command,
        exit_code: exit.code(),
        output: DemoStepOutput::Sync(output),
    });
    Ok(exit)
}

fn flags() -> RunFlags {
    RunFlags {
        syncs: Vec::new(),
        full_resync: false,
        allow_empty: false,
        allow_large_removal: false,
        allow_many_creates: false,
        adopt_existing: false,
        replace: false,
    }
}

fn say(format: OutputFormat, line: &str) {
    if format == OutputFormat::Text {
        crate::outln!("{line}");
    }
}

fn user_id(n: usize) -> String {
    format!("user-{n:06}")
}

fn list_attribute(id: i64, name: &str, content: &str) -> Value {
    json!({
        "id": id,
        "project_id": DEMO_WEB_PROJECT_ID,
        "name": name,
        "description": "",
        "key_field": "optimizely_user_id",
        "list_type": "cookies",
        "list_content": content,
    })
}

/// Writes the sample warehouse; `changed` writes the second version of it.
fn write_warehouse(dir: &Path, changed: bool) -> Result<(), CliError> {
    let mut users = String::from("user_id,segment,newsletter,churned\n");
    for n in 1..=USERS {
        // Deterministic segments: every 10th user is in the beta; after the change, users
        // 1-500 of them have left it and every 97th user has joined it.
        let mut beta = n % 10 == 0;
        if changed {
            beta = (beta && n > 5_000) || n % 97 == 0;
        }
        let segment = if beta { "beta" } else { "general" };
        let newsletter = n % 3 == 0 || (changed && n % 7 == 0);
        let churned = n <= SUPPRESSION_SEEDED && n % 20 == 0;
        let _ = writeln!(users, "{},{segment},{newsletter},{churned}", user_id(n));
    }
    write_file(&dir.join("users.csv"), &users)?;

    let segments = [
        ("s1", "Power users", "Users on the pro plan", "pro"),
        ("s2", "Trial users", "Users in their trial", "trial"),
        ("s3", "Free users", "Users on the free plan", "free"),
        ("s4", "Team accounts", "Users on a team plan", "team"),
        (
            "s5",
            "Enterprise",
            "Users on an enterprise contract",
            "enterprise",
        ),
        ("s6", "Students", "Users with an education discount", "edu"),
        ("s7", "Partners", "Users from partner agencies", "partner"),
        ("s8", "Internal", "Our own staff", "internal"),
    ];
    let mut lines = String::new();
    for (id, name, about, plan) in segments {
        let name = if changed && id == "s2" {
            "Trial users (14 days)"
        } else {
            name
        };
        let conditions = json!(["and", ["or", {
            "type": "custom_attribute", "name": "plan", "match_type": "exact", "value": plan
        }]])
        .to_string();
        let _ = writeln!(
            lines,
            "{}",
            json!({"segment_id": id, "segment_name": name, "about": about, "conditions": conditions})
        );
    }
    write_file(&dir.join("segments.jsonl"), &lines)?;

    let mut attributes = String::new();
    for (key, about) in [
        ("plan", "The user's plan"),
        ("country", "ISO country code"),
        ("signup_cohort", "Month of signup"),
        ("lifetime_value", "Revenue to date, banded"),
    ] {
        let about = if changed && key == "country" {
            "ISO 3166-1 alpha-2 country code"
        } else {
            about
        };
        let _ = writeln!(
            attributes,
            "{}",
            json!({"attr_key": key, "attr_name": key.replace('_', " "), "about": about, "kind": "upsert"})
        );
    }
    for key in ["legacy_segment", "legacy_region"] {
        let _ = writeln!(
            attributes,
            "{}",
            json!({"attr_key": key, "attr_name": key, "about": "Kept for old experiments", "kind": "insert"})
        );
    }
    write_file(&dir.join("attributes.jsonl"), &attributes)?;

    let mut events = String::new();
    let mut list = vec![
        ("signup", "Signed up", "sign_up", "upsert"),
        ("checkout", "Checked out", "purchase", "upsert"),
        ("add_to_cart", "Added to cart", "add_to_cart", "upsert"),
        ("search", "Searched", "search", "insert"),
        ("share", "Shared", "share", "insert"),
    ];
    if changed {
        list.push(("subscribe", "Subscribed", "subscribe", "upsert"));
    }
    for (key, name, category, kind) in list {
        let _ = writeln!(
            events,
            "{}",
            json!({"event_key": key, "event_name": name, "category": category, "kind": kind})
        );
    }
    write_file(&dir.join("events.jsonl"), &events)?;
    Ok(())
}

/// The token of the demo's `serve` API.
const DEMO_API_TOKEN: &str = "demo-api-token";

/// `demo --serve`: `optisync serve` on the demo's fake, with the Web syncs every 10 to 15 s,
/// an attribute sync whose model holds a key Optimizely refuses (a rejected row, and an
/// alert), a warehouse that flips between its two versions every 20 s, and alerts printed by
/// a receiver in this process. Runs until a signal stops the service.
async fn serve(dir: &Path, api_url: &str, format: OutputFormat) -> Result<Exit, CliError> {
    let alerts = alert_receiver().await?;
    write_private(&dir.join("api_token"), DEMO_API_TOKEN)?;
    write_file(
        &dir.join("labels.csv"),
        "attr_key,about\ndemo_label,A label the demo keeps\nnot a valid key!,Optimizely refuses this key\n",
    )?;
    let config = web_config(api_url)
        .replace(
            "mapping = { user_id = \"user_id\" }\n\n[[sync]]\nname = \"newsletter\"",
            "mapping = { user_id = \"user_id\" }\nschedule = { every = \"10s\" }\n\n[[sync]]\nname = \"newsletter\"",
        )
        .replace(
            "where newsletter\"\nmapping = { user_id = \"user_id\" }\n",
            "where newsletter\"\nmapping = { user_id = \"user_id\" }\nschedule = { every = \"15s\" }\n",
        );
    let config = format!(
        "{config}
[[sync]]
name = \"labels\"
object = \"attribute\"
mode = \"upsert\"
model = \"select attr_key, about from read_csv('labels.csv')\"
mapping = {{ key = \"attr_key\", description = \"about\" }}
schedule = {{ every = \"30s\" }}

[serve]
bind = \"127.0.0.1:0\"
api_token = {{ file = \"api_token\" }}
grace_period = \"5s\"
alerts = [{{ url = {{ file = \"alert_url\" }} }}]
"
    );
    write_private(&dir.join("alert_url"), &alerts)?;
    let path = dir.join("serve.toml");
    write_file(&path, &config)?;
    say(
        format,
        &format!(
            "\n# Serving: {} runs every sync on its schedule. Open the address below (its Pause, Resume and Run now buttons take the token {DEMO_API_TOKEN}); the warehouse changes every 20 s, the labels sync has a row Optimizely refuses (a rejected row and an alert). Trigger a run from a shell:\n#   curl -X POST -H 'Authorization: Bearer {DEMO_API_TOKEN}' http://ADDRESS/api/syncs/beta_testers/runs\n# Ctrl-C stops it.",
            path.display()
        ),
    );
    let flipper = {
        let dir = dir.to_path_buf();
        tokio::spawn(async move {
            let mut changed = false;
            loop {
                tokio::time::sleep(std::time::Duration::from_secs(20)).await;
                changed = !changed;
                if let Err(e) = write_warehouse(&dir, changed) {
                    tracing::warn!(error = %e, "the demo could not change its warehouse");
                }
            }
        })
    };
    let args = crate::commands::serve::ServeArgs { bind: None };
    let result = crate::commands::serve::run(&args, &path).await;
    flipper.abort();
    result
}

/// A webhook receiver in this process that prints each alert it gets; returns its URL.
async fn alert_receiver() -> Result<String, CliError> {
    use axum::routing::post;
    let app = axum::Router::new().route(
        "/alerts",
        post(|body: String| async move {
            crate::outln!("alert received: {body}");
            crate::stdout::flush();
            "ok"
        }),
    );
    let listener = tokio::net::TcpListener::bind(("127.0.0.1", 0))
        .await
        .context("starting the demo's alert receiver")?;
    let address = listener
        .local_addr()
        .context("starting the demo's alert receiver")?;
    tokio::spawn(async move { axum::serve(listener, app).await });
    Ok(format!("http://{address}/alerts"))
}

fn web_config(api_url: &str) -> String {
    format!(
        r#"# Written by `optisync demo`: list attributes on the Web Experimentation project.
[optimizely]
project_id = {DEMO_WEB_PROJECT_ID}
token = {{ file = "token" }}
api_url = "{api_url}"
rate_limit = {{ per_second = {DEMO_PER_SECOND}, per_minute = {DEMO_PER_MINUTE} }}

[[sync]]
name = "beta_testers"
object = "list_attribute"
list_attribute_id = {DEMO_LIST_ATTRIBUTE_ID}
mode = "mirror"
model = "select user_id from read_csv('users.csv') where segment = 'beta'"
mapping = {{ user_id = "user_id" }}

[[sync]]
name = "newsletter"
object = "list_attribute"
list_attribute_id = {NEWSLETTER_LIST_ID}
mode = "add"
model = "select user_id from read_csv('users.csv') where newsletter"
mapping = {{ user_id = "user_id" }}

[[sync]]
name = "churn_suppression"
object = "list_attribute"
list_attribute_id = {SUPPRESSION_LIST_ID}
mode = "remove"
model = "select user_id from read_csv('users.csv') where churned"
mapping = {{ user_id = "user_id" }}
"#
    )
}

fn fx_config(api_url: &str, odp_url: &str) -> String {
    format!(
        r#"# Written by `optisync demo`: definitions on the Feature Experimentation project, and
# the beta segment on ODP profiles for its flags to target.
[optimizely]
project_id = {DEMO_FX_PROJECT_ID}
token = {{ file = "token" }}
api_url = "{api_url}"
rate_limit = {{ per_second = {DEMO_PER_SECOND}, per_minute = {DEMO_PER_MINUTE} }}

[odp]
private_key = {{ file = "odp_key" }}
api_url = "{odp_url}"
rate_limit = {{ per_second = {DEMO_ODP_PER_SECOND} }}

[[sync]]
name = "beta_segment"
object = "odp_attribute"
mode = "mirror"
identifier = "fs_user_id"
field = "in_beta"
model = "select user_id from read_csv('users.csv') where segment = 'beta'"
mapping = {{ user_id = "user_id" }}

[[sync]]
name = "segments"
object = "audience"
mode = "upsert"
audience_name = "{{segment_name}}"
model = "select segment_id, segment_name, about, conditions from read_json_auto('segments.jsonl')"
primary_key = ["segment_id"]
mapping = {{ description = "about", conditions = "conditions" }}

[[sync]]
name = "vip_audience"
object = "audience"
mode = "insert"
audience_name = "All VIP customers"
model = "select 'vip' as id, 'Every customer with a VIP flag' as about"
primary_key = ["id"]
mapping = {{ description = "about" }}

[[sync]]
name = "attributes"
object = "attribute"
mode = "upsert"
model = "select attr_key, about from read_json_auto('attributes.jsonl') where kind = 'upsert'"
mapping = {{ key = "attr_key", description = "about" }}

[[sync]]
name = "legacy_attributes"
object = "attribute"
mode = "insert"
model = "select attr_key, about from read_json_auto('attributes.jsonl') where kind = 'insert'"
mapping = {{ key = "attr_key", description = "about" }}

[[sync]]
name = "events"
object = "custom_event"
mode = "upsert"
model = "select event_key, event_name, category from read_json_auto('events.jsonl') where kind = 'upsert'"
mapping = {{ key = "event_key", name = "event_name", category = "category" }}

[[sync]]
name = "extra_events"
object = "custom_event"
mode = "insert"
model = "select event_key, event_name, category from read_json_auto('events.jsonl') where kind = 'insert'"
mapping = {{ key = "event_key", name = "event_name", category = "category" }}
"#
    )
}

/// The ODP side: who holds the field, and what an FX SDK is told for two users.
fn odp_holdings(fake: &FakeOptimizely) -> String {
    let members = fake.odp_profiles_with("in_beta", true).len();
    let mut out = format!("  ODP: {members} customer profiles with in_beta = true\n");
    for n in [5_010, 1_010] {
        let user = user_id(n);
        let qualified = fake.odp_qualified("fs_user_id", &user, DEMO_ODP_SEGMENT);
        let _ = writeln!(
            out,
            "  ODP segment {DEMO_ODP_SEGMENT} asked for {user} by an FX SDK: {}",
            match qualified {
                Some(true) => "qualified",
                Some(false) => "not qualified",
                None => "unknown user",
            }
        );
    }
    out
}

/// Counts per object type and project, and list sizes.
fn holdings(state: &Value) -> String {
    let mut out = String::new();
    for (kind, label) in [
        ("audiences", "audiences"),
        ("attributes", "attributes"),
        ("events", "events"),
    ] {
        let items = state[kind].as_array().cloned().unwrap_or_default();
        for project in [DEMO_WEB_PROJECT_ID, DEMO_FX_PROJECT_ID] {
            let n = items
                .iter()
                .filter(|o| o["project_id"].as_i64() == Some(project))
                .count();
            if n > 0 {
                let _ = writeln!(out, "  project {project}: {n} {label}");
            }
        }
    }
    for list in state["list_attributes"]
        .as_array()
        .cloned()
        .unwrap_or_default()
    {
        let members = list["list_content"]
            .as_str()
            .map_or(0, |c| c.split(',').filter(|s| !s.is_empty()).count());
        let _ = writeln!(
            out,
            "  list attribute {} ({}): {members} members",
            list["id"],
            list["name"].as_str().unwrap_or("?")
        );
    }
    out
}

fn demo_dir(dir: Option<PathBuf>) -> Result<PathBuf, CliError> {
    let dir = match dir {
        Some(dir) => dir,
        None => std::env::temp_dir().join(format!("optisync-demo-{}", std::process::id())),
    };
    std::fs::create_dir_all(&dir).with_context(|| format!("creating {}", dir.display()))?;
    Ok(dir)
}

fn write_file(path: &Path, content: &str) -> Result<(), CliError> {
    std::fs::write(path, content).with_context(|| format!("writing {}", path.display()))?;
    Ok(())
}

fn write_private(path: &Path, content: &str) -> Result<(), CliError> {
    use std::io::Write;
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create(true).truncate(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        options.mode(0o600);
    }
    let mut file = options
        .open(path)
        .with_context(|| format!("writing {}", path.display()))?;
    file.write_all(content.as_bytes())
        .with_context(|| format!("writing {}", path.display()))?;
    Ok(())
}
