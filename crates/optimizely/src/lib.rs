//! Typed client for the Optimizely REST API v2, as optisync uses it.
//!
//! # Map
//!
//! - [`Client`] (`client.rs`): the request loop. Every attempt passes the token's shared
//!   [`RateLimiter`], carries `Authorization: Bearer …` and a per-attempt timeout, and is
//!   retried or not by `retry.rs`. The typed calls (`endpoints.rs`): one generic call per
//!   operation ([`Client::get`], [`Client::list`], [`Client::create`], [`Client::update`])
//!   with pagination (`pagination.rs`: `per_page=100`, `Link: rel=next`, else the short-page
//!   rule), and the calls by name (`list_attributes`, `create_custom_event`, …) over them.
//! - [`Object`], [`Resource`] (`resource.rs`): what each kind of object (projects,
//!   attributes, audiences, events / custom events, list attributes) is to the API: its
//!   paths, whether writes name the project ([`WriteScope`]), its bodies, its [`Paging`].
//! - [`ClientConfig`] (`config.rs`): settings and their offline validation (https except to
//!   loopback).
//! - [`ApiToken`] (`token.rs`): the secret, redacted in `Debug`/`Display`.
//! - [`RateLimit`], [`RateLimiter`], [`LimiterRegistry`] (`rate_limit.rs`): per-second and
//!   per-minute quotas enforced exactly on `tokio::time`, FIFO slots, a whole-limiter pause
//!   on 429/503, one limiter per token per process.
//! - `retry.rs`: *whether* to retry ([`Backoff`] and [`Jitter`] say *when*); `Retry-After`
//!   and `X-RateLimit-Reset` parsing ([`server_wait`]), checked and capped at
//!   [`MAX_SERVER_WAIT`].
//! - [`Transport`] (`transport.rs`): one HTTP exchange; [`ReqwestTransport`] in production,
//!   scripted or in-process ones in tests. Every request carries a [`BodyLimit`], the one
//!   its kind of object names ([`Object::LIMIT`], [`Resource::PAGE_LIMIT`]), and answers are
//!   read no further.
//! - [`ProxyPolicy`] (`proxy.rs`): which proxy, if any: https only, as a CONNECT tunnel,
//!   never for loopback, `HTTP_PROXY` ignored, `NO_PROXY` respected.
//! - [`telemetry`]: process-wide counters of attempts by class and status, throttled
//!   answers, retries and rate-limit waits, for `serve`'s metrics.
//! - [`Error`] (`error.rs`): [`ErrorKind`] (config, auth, throttled, transient, rejected,
//!   internal) and [`Phase`] (not sent, maybe sent, responded with Optimizely's `code`,
//!   `message`, `uuid` and `x-request-id`).
//! - `odp.rs`: the calls to Optimizely Data Platform's REST API v3 on a client built with
//!   [`ClientConfig::odp`] ([`Api::Odp`]: the key in `x-api-key`, ODP's error envelope):
//!   profile upserts in batches and the customer schema.
//! - `model/`: the API's objects ([`Project`] and [`Product`], [`Attribute`], [`Audience`],
//!   [`Event`], [`ListAttribute`], with their create and partial-update bodies).
//!
//! # Creates whose outcome is unknown
//!
//! The API has no idempotency keys. A POST that timed out, lost its connection or got a 5xx
//! answer is not retried here; [`Error::outcome_unknown`] tells the caller to re-list and
//! adopt the object if it was created. A duplicate key on create is [`Error::is_duplicate`].

mod client;
mod config;
mod endpoints;
mod error;
mod model;
mod odp;
mod pagination;
mod proxy;
mod rate_limit;
mod resource;
mod retry;
mod token;
mod transport;

pub mod telemetry;

pub use client::{Client, RequestCounts};
pub use config::{Api, ClientConfig, DEFAULT_API_URL, DEFAULT_ODP_API_URL, validate_api_url};
pub use endpoints::PER_PAGE;
pub use error::{Error, ErrorKind, InvalidItem, Phase, TransportError};
pub use model::{
    Attribute, AttributeUpdate, Audience, AudienceUpdate, ConditionType, CustomEventUpdate, Event,
    EventCategory, EventType, ListAttribute, ListAttributeUpdate, ListType, NewAttribute,
    NewAudience, NewCustomEvent, NewListAttribute, Platform, Product, Project, ProjectStatus,
};
pub use odp::{Environment, MAX_PROFILES_PER_REQUEST, NewOdpField, OdpField, OdpIntegration};
pub use proxy::{ProxyPolicy, ProxyUrl};
pub use rate_limit::{LimiterRegistry, Permit, RateLimit, RateLimiter, Reservation, SharedQuota};
pub use resource::{Object, Paging, Resource, WriteScope};
pub use retry::{
    Backoff, Jitter, MAX_SERVER_WAIT, ServerWait, parse_rate_limit_reset, parse_retry_after,
    server_wait,
};
pub use token::ApiToken;
pub use transport::{BodyLimit, MAX_ERROR_BODY, ReqwestTransport, Transport, TransportFuture};
