//! `optisync demo`: shows optisync working with no setup. It starts the fake Optimizely
//! server in-process (a Web and a Feature Experimentation project), writes a config and a
//! token file into a fresh directory, and runs `check` against the fake.

use std::path::PathBuf;

use anyhow::Context;
use fake_optimizely::{FakeOptimizely, demo_seed};

use crate::check;
use crate::cli::{DemoArgs, OutputFormat};
use crate::config::Config;
use crate::error::CliError;
use crate::exit::Exit;
use crate::output;

/// The token the demo's fake accepts. It is shaped like a personal access token.
const DEMO_TOKEN: &str = "2:demo-token-for-the-in-process-fake-optimizely-server";

/// Runs the demo.
pub async fn run(args: DemoArgs, format: OutputFormat) -> Result<Exit, CliError> {
    let dir = demo_dir(args.dir)?;
    let fake = FakeOptimizely::new(demo_seed(DEMO_TOKEN)).context("seeding the fake server")?;
    let running = fake
        .serve(([127, 0, 0, 1], 0).into())
        .await
        .context("starting the fake server")?;
    say(
        format,
        &format!("fake Optimizely listening on {}", running.base_url()),
    );

    let token_path = dir.join("token");
    write_private(&token_path, DEMO_TOKEN)?;
    let config_path = dir.join("optisync.toml");
    let config_text = demo_config(&running.base_url());
    std::fs::write(&config_path, &config_text)
        .with_context(|| format!("writing {}", config_path.display()))?;
    say(format, &format!("wrote {}", config_path.display()));

    let config = Config::load(&config_path)?;
    say(format, "\n$ optisync check");
    let report = check::run(&config).await?;
    output::print_check(&report, format);
    running.shutdown().await;
    Ok(if report.passed() {
        Exit::Success
    } else {
        Exit::CheckFailed
    })
}

fn say(format: OutputFormat, line: &str) {
    if format == OutputFormat::Text {
        println!("{line}");
    }
}

fn demo_dir(dir: Option<PathBuf>) -> Result<PathBuf, CliError> {
    let dir = match dir {
        Some(dir) => dir,
        None => std::env::temp_dir().join(format!("optisync-demo-{}", std::process::id())),
    };
    std::fs::create_dir_all(&dir).with_context(|| format!("creating {}", dir.display()))?;
    Ok(dir)
}

fn write_private(path: &std::path::Path, content: &str) -> Result<(), CliError> {
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

fn demo_config(api_url: &str) -> String {
    format!(
        r#"# Written by `optisync demo`: a Web Experimentation project on the in-process fake.
[optimizely]
project_id = {web}
token = {{ file = "token" }}
api_url = "{api_url}"

[[sync]]
name = "beta_testers"
object = "list_attribute"
list_attribute_id = {list}
mode = "mirror"
model = "select user_id from beta_testers"
mapping = {{ user_id = "user_id" }}
"#,
        web = fake_optimizely::DEMO_WEB_PROJECT_ID,
        list = fake_optimizely::DEMO_LIST_ATTRIBUTE_ID,
    )
}
