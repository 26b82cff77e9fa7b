//! A faithful fake of the Optimizely REST API v2 and of Optimizely Data Platform's (ODP) REST
//! API v3, for tests, benchmarks and the demo.
//!
//! On `/v2` it serves the endpoints optisync uses (projects, attributes, audiences, events and
//! custom events, list attributes, environments and their datafiles) with the real API's
//! status codes, defaults, error envelope and headers; validates request bodies against
//! Optimizely's own OpenAPI file (`spec/swagger-web.json`); enforces per-token rate limits;
//! and lets tests inject faults and inspect everything through an admin API. Behaviour the
//! spec leaves open follows `docs/OPTIMIZELY-API.md#choices-the-fake-makes`; each such choice
//! is marked INFERRED where it is made.
//!
//! On `/v3` it is an ODP account (docs/ODP-API.md §10): profile upserts and reads, the schema
//! API, the GraphQL segment query of the FX SDKs over seeded segments, events; with ODP's keys
//! (`x-api-key`), error bodies and rate limits, and the same faults, holds, log and counters
//! as `/v2`. INFERRED behaviour is marked the same way.
//!
//! The same [`FakeOptimizely::handle`] serves in-process calls (usable on a paused tokio
//! clock) and real TCP ([`FakeOptimizely::serve`], the `fake-optimizely` binary); one base URL
//! serves both APIs.
//!
//! # Crate map
//!
//! | module | responsibility |
//! |---|---|
//! | `fake` | [`FakeOptimizely`]: shared state and the request pipeline |
//! | `server` | TCP serving with hyper, [`RunningFake`], real connection drops |
//! | `routes` | method + path → endpoint and path template; query parsing |
//! | `api` | v2: authentication, rate limiting, one handler file per object kind and what they share (`api::kind`); environments and datafiles (`api::environments`) |
//! | `odp` | ODP v3: routes, keys, dispatch and events (`odp/mod.rs`); profiles (`odp::profiles`), schema (`odp::schema`), GraphQL (`odp::graphql`), segments (`odp::segments`), its seed ([`OdpSeed`], `odp::seed`) and answers (`odp::response`) |
//! | `schema` | body validation against the Swagger definitions |
//! | `conditions` | audience condition grammar and Python-style re-serialisation |
//! | `pagination` | `page` / `per_page`, `Link` and `X-Record-Total` |
//! | `rate_limit` | [`RateLimits`] and the exact sliding-window limiter (v2 and ODP) |
//! | `faults` | [`FaultRule`] / [`FaultAction`]: injected statuses, delays, drops, holds |
//! | `holds` | requests held until the test lets them go ([`HoldCounts`]) |
//! | `journal` | request log ([`RequestLogEntry`]) and counters ([`Stats`]) |
//! | `admin` | the `/__admin` API |
//! | `seed` | [`Seed`], [`TokenSeed`], [`demo_seed`] |
//! | `store` | typed records (environments included), ids, timestamps, the ODP account, state snapshot |
//! | `response` | success answers, the error envelope, common headers |
//! | `json_format` | JSON text written the way the real (Python) server writes it |
//! | `error` | [`SeedError`], [`ConnectionDropped`] |
//!
//! # Example
//!
//! ```
//! # async fn run() -> Result<(), Box<dyn std::error::Error>> {
//! use fake_optimizely::{FakeOptimizely, RateLimits, demo_seed};
//! let seed = fake_optimizely::Seed { rate_limits: RateLimits::unlimited(), ..demo_seed("2:token") };
//! let fake = FakeOptimizely::new(seed)?;
//! let request = http::Request::get("/v2/projects/20000000001")
//!     .header("authorization", "Bearer 2:token")
//!     .body(bytes::Bytes::new())?;
//! let response = fake.handle(request).await?;
//! assert_eq!(response.status(), 200);
//! # Ok(())
//! # }
//! # tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap().block_on(run()).unwrap();
//! ```

#![cfg_attr(test, allow(clippy::unwrap_used))]

mod admin;
mod api;
mod conditions;
mod error;
mod fake;
mod faults;
mod holds;
mod journal;
mod json_format;
mod odp;
mod pagination;
mod rate_limit;
mod response;
mod routes;
mod schema;
mod seed;
mod server;
mod store;

pub use error::{ConnectionDropped, SeedError};
pub use fake::FakeOptimizely;
pub use faults::{FaultAction, FaultRule};
pub use holds::HoldCounts;
pub use journal::{DropPoint, RequestLogEntry, RouteCount, Stats};
pub use odp::{
    DEMO_ODP_PRIVATE_KEY, DEMO_ODP_PUBLIC_KEY, OdpFieldSeed, OdpProfileWrite, OdpSeed,
    OdpSegmentRule, OdpSegmentSeed, RefusedIdentifier,
};
pub use rate_limit::{Product, RateLimits};
pub use schema::SWAGGER_JSON;
pub use seed::{
    DEMO_FX_PROJECT_ID, DEMO_LIST_ATTRIBUTE_ID, DEMO_ODP_SEGMENT, DEMO_WEB_PROJECT_ID, Seed,
    TokenSeed, demo_seed,
};
pub use server::RunningFake;
