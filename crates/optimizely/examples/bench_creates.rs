//! Benchmark: how close the client gets to the Feature Experimentation quota without being
//! refused. Starts the fake Optimizely over real TCP on 127.0.0.1 with the real FX limits
//! (2/s, 120/min), sends N attribute creates through a client that uses its FX default
//! limiter, and prints the wall time against the floor the quota allows ((N - 1) / 2 s), plus
//! the 429s the fake answered (target 0).
//!
//! Run: `cargo run --release -p optisync-optimizely --example bench_creates [N]` (N = 120).
//! The creates alternate between two FX projects: an FX project holds at most 100 unarchived
//! attributes, and both projects share the token's quota, so the pacing is the same.

use std::error::Error;
use std::net::SocketAddr;
use std::time::Instant;

use fake_optimizely::{FakeOptimizely, RateLimits, Seed, TokenSeed};
use optisync_optimizely::{ApiToken, Client, ClientConfig, NewAttribute, Product};
use serde_json::json;

const TOKEN: &str = "2:bench-token-abcdefghijklmnopqrstuvwxyz0123456789ABCDEF";
const PROJECTS: [i64; 2] = [40_000_000_001, 40_000_000_002];

#[tokio::main]
async fn main() -> Result<(), Box<dyn Error>> {
    let n: usize = match std::env::args().nth(1) {
        Some(arg) => arg.parse()?,
        None => 120,
    };
    let seed = Seed {
        tokens: vec![TokenSeed { token: TOKEN.to_owned(), project_ids: PROJECTS.to_vec() }],
        projects: PROJECTS
            .iter()
            .map(|id| json!({"id": id, "name": format!("Bench FX {id}"), "platform": "custom", "is_flags_enabled": true}))
            .collect(),
        rate_limits: RateLimits::default(),
        ..Seed::default()
    };
    let limits = seed.rate_limits.clone();
    let fake = FakeOptimizely::new(seed)?;
    let running = fake.serve(SocketAddr::from(([127, 0, 0, 1], 0))).await?;

    let mut config = ClientConfig::new(ApiToken::new(TOKEN));
    config.api_url = running.base_url().parse()?;
    let client = Client::new(config)?;
    // Learning the product sets the token's limiter to the FX default (2/s, 120/min).
    let project = client.get_project(PROJECTS[0]).await?;
    assert_eq!(
        project.product(),
        Product::FeatureExperimentation,
        "the bench seeds FX projects"
    );
    let limit = client.limiter().limit();

    let started = Instant::now();
    for i in 0..n {
        let project_id = PROJECTS[i % PROJECTS.len()];
        client
            .create_attribute(&NewAttribute::new(project_id, format!("bench_{i:04}")))
            .await?;
    }
    let wall = started.elapsed().as_secs_f64();
    let stats = fake.stats();
    let log = fake.requests();
    running.shutdown().await;
    if std::env::var_os("BENCH_VERBOSE").is_some() {
        // Arrival times at the fake, to see how close the pacing runs to the quota.
        for entry in &log {
            println!(
                "{:>8} ms  {} {} -> {}",
                entry.at_ms, entry.method, entry.path, entry.status
            );
        }
    }

    let floor = (n.saturating_sub(1)) as f64 / 2.0;
    println!(
        "fake limits:     {:?}/s, {:?}/min (FX)",
        limits.fx_per_second, limits.fx_per_minute
    );
    println!(
        "client limiter:  {:?}/s, {:?}/min",
        limit.per_second, limit.per_minute
    );
    println!("creates:         {n}");
    println!("wall time:       {wall:.3} s");
    println!("floor:           {floor:.3} s  ((N-1)/2)");
    if floor > 0.0 {
        println!("ratio:           {:.4}  (target <= 1.05)", wall / floor);
    }
    println!("429s received:   {}  (target 0)", stats.total_429);
    println!(
        "requests sent:   {}  (1 project read + {n} creates + retries)",
        stats.total_requests
    );
    println!(
        "creates applied: {}",
        stats.count("POST", "/v2/attributes", 201)
    );
    Ok(())
}
