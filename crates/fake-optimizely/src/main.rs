//! The `fake-optimizely` binary: serve a fake Optimizely REST API v2 (and, when the seed has
//! an ODP account, ODP's REST API v3) on a TCP address.
//!
//! `fake-optimizely --listen 127.0.0.1:0 [--seed FILE] [--demo-token TOKEN]` prints
//! `listening on http://HOST:PORT/v2` as its first line on stdout: the API base, ready to be
//! a config's `api_url` (ODP's base is beside it at `http://HOST:PORT/v3`, the admin API at
//! `http://HOST:PORT/__admin`). It logs to stderr and serves until SIGTERM or Ctrl-C.

use anyhow::Context;
use clap::Parser;
use fake_optimizely::{FakeOptimizely, Seed, demo_seed};
use std::io::Write;
use std::net::SocketAddr;
use std::path::PathBuf;

/// A fake Optimizely REST API v2 (and ODP REST API v3) for tests and trying configurations.
#[derive(Debug, Parser)]
#[command(name = "fake-optimizely", version)]
struct Args {
    /// Address to listen on; port 0 picks a free port.
    #[arg(long, default_value = "127.0.0.1:4010")]
    listen: SocketAddr,
    /// Seed file (JSON: tokens, projects, attributes, audiences, events, list_attributes,
    /// environments, rate_limits, odp).
    #[arg(long)]
    seed: Option<PathBuf>,
    /// Also load the demo seed (one Web and one Feature Experimentation project, and an ODP
    /// account) for this token.
    #[arg(long)]
    demo_token: Option<String>,
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    tracing_subscriber::fmt()
        .with_writer(std::io::stderr)
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env()
                .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("fake_optimizely=info")),
        )
        .init();
    let args = Args::parse();

    let fake = FakeOptimizely::empty();
    if let Some(token) = &args.demo_token {
        fake.seed(demo_seed(token))
            .context("loading the demo seed")?;
    }
    if let Some(path) = &args.seed {
        let seed = Seed::from_file(path)?;
        fake.seed(seed)
            .with_context(|| format!("loading seed file {}", path.display()))?;
    }

    let running = fake
        .serve(args.listen)
        .await
        .with_context(|| format!("cannot listen on {}", args.listen))?;
    // Handlers first: a signal sent as soon as the address is printed must stop us gracefully.
    let stop = stop_signal()?;
    let mut stdout = std::io::stdout();
    writeln!(stdout, "listening on {}", running.base_url())?;
    stdout.flush()?;

    stop.await?;
    tracing::info!("stopping");
    running.shutdown().await;
    Ok(())
}

/// Registers the SIGINT and SIGTERM handlers now and returns a future that ends on either.
fn stop_signal() -> anyhow::Result<impl std::future::Future<Output = anyhow::Result<()>>> {
    #[cfg(unix)]
    {
        use tokio::signal::unix::{SignalKind, signal};
        let mut term = signal(SignalKind::terminate())?;
        let mut int = signal(SignalKind::interrupt())?;
        Ok(async move {
            tokio::select! {
                _ = int.recv() => {}
                _ = term.recv() => {}
            }
            Ok(())
        })
    }
    #[cfg(not(unix))]
    Ok(async {
        tokio::signal::ctrl_c().await?;
        Ok(())
    })
}
