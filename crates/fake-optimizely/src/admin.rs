//! The admin API under `/__admin` (no authentication, not logged, not rate limited).
//!
//! | method + path | does |
//! |---|---|
//! | `POST /__admin/seed` | merge a seed (same JSON as the seed file); its `rate_limits` apply only when the key is present |
//! | `POST /__admin/reset` | empty everything; with a seed body, reset to that seed |
//! | `GET /__admin/state` | every object as JSON, tokens redacted to the last 4 characters |
//! | `GET /__admin/requests` | the request log |
//! | `GET /__admin/stats` | counters by method + path template + status, 429s, writes |
//! | `GET`/`POST`/`DELETE /__admin/faults` | list / add (one rule or a list) / clear fault rules |
//! | `GET /__admin/holds` | `{"held": n, "holding": m}`: requests held by `hold_*` faults in all, and now |
//! | `POST /__admin/holds/release` | answer every request held now |
//! | `POST /__admin/holds/drop` | close the connections of every request held now, unanswered |
//! | `GET`/`PATCH /__admin/rate_limits` | read / change rate limits live (fields absent keep their value, `null` disables) |
//! | `GET /__admin/odp/profiles` | every ODP profile's attributes; with `?<identifier>=<value>`, that one profile (404 if none) |
//! | `GET /__admin/odp/profile_writes` | every accepted `POST /v3/profiles` item, as sent (`request`, `index`, `attributes`) |
//! | `GET /__admin/odp/events` | the events `POST /v3/events` accepted |
//! | `GET`/`POST /__admin/odp/segments` | list / add or replace segments (one or a list, `{"name", "rule"}`) |
//! | `GET`/`POST`/`DELETE /__admin/odp/refused_identifiers` | list / add (one or a list, `{"field", "value"}`) / clear refused identifier values |
//!
//! ODP settings (`strict`, `apply_delay_ms`, keys, fields, ...) change through
//! `POST /__admin/seed` with an `odp` part, which merges like the rest of a seed.
//!
//! Errors answer 400 (bad body) or 404 (unknown admin path) with `{"error": "..."}`.

use crate::fake::FakeOptimizely;
use crate::faults::FaultRule;
use crate::odp::{OdpSegmentSeed, RefusedIdentifier};
use crate::rate_limit::RateLimits;
use crate::seed::Seed;
use bytes::Bytes;
use http::header::{CONTENT_TYPE, HeaderValue};
use http::{Method, Response, StatusCode};
use serde::Serialize;
use serde::de::DeserializeOwned;
use serde_json::{Value, json};

fn reply<T: Serialize>(status: StatusCode, body: &T) -> Response<Bytes> {
    let bytes = serde_json::to_vec_pretty(body).unwrap_or_default();
    let mut response = Response::new(Bytes::from(bytes));
    *response.status_mut() = status;
    response
        .headers_mut()
        .insert(CONTENT_TYPE, HeaderValue::from_static("application/json"));
    response
}

fn error(status: StatusCode, message: impl Into<String>) -> Response<Bytes> {
    reply(status, &json!({"error": message.into()}))
}

/// A refused admin request: 400 with this message.
#[derive(Debug)]
struct BadRequest(String);

impl<E: std::fmt::Display> From<E> for BadRequest {
    fn from(error: E) -> Self {
        Self(error.to_string())
    }
}

fn parse_json(body: &[u8]) -> Result<Value, BadRequest> {
    serde_json::from_slice(body).map_err(|e| BadRequest(format!("body is not valid JSON: {e}")))
}

/// One object or a list of them.
fn one_or_many<T: DeserializeOwned>(raw: Value) -> Result<Vec<T>, BadRequest> {
    Ok(if raw.is_array() {
        serde_json::from_value(raw)?
    } else {
        vec![serde_json::from_value(raw)?]
    })
}

fn summary(fake: &FakeOptimizely) -> Value {
    let state = fake.state();
    let count = |kind: &str| {
        state
            .get(kind)
            .and_then(Value::as_array)
            .map_or(0, Vec::len)
    };
    json!({
        "ok": true,
        "tokens": count("tokens"),
        "projects": count("projects"),
        "attributes": count("attributes"),
        "audiences": count("audiences"),
        "events": count("events"),
        "list_attributes": count("list_attributes"),
        "environments": count("environments"),
        "odp": state.get("odp").is_some_and(|odp| !odp.is_null()),
    })
}

/// Answers one admin request.
pub(crate) fn handle(
    fake: &FakeOptimizely,
    method: &Method,
    path: &str,
    query: Option<&str>,
    body: &[u8],
) -> Response<Bytes> {
    let path = path.trim_end_matches('/');
    let result = if path.starts_with("/__admin/odp/") {
        run_odp(fake, method, path, query, body)
    } else {
        run(fake, method, path, body)
    };
    match result {
        Ok(response) => response,
        Err(BadRequest(message)) => error(StatusCode::BAD_REQUEST, message),
    }
}

fn run(
    fake: &FakeOptimizely,
    method: &Method,
    path: &str,
    body: &[u8],
) -> Result<Response<Bytes>, BadRequest> {
    Ok(match (method.as_str(), path) {
        ("POST", "/__admin/seed") => {
            let raw = parse_json(body)?;
            let with_limits = raw.get("rate_limits").is_some();
            let seed: Seed = serde_json::from_value(raw)?;
            fake.apply_seed(&seed, with_limits)?;
            reply(StatusCode::OK, &summary(fake))
        }
        ("POST", "/__admin/reset") => {
            if body.iter().all(u8::is_ascii_whitespace) {
                fake.reset();
            } else {
                let seed: Seed = serde_json::from_value(parse_json(body)?)?;
                fake.reset_to(seed)?;
            }
            reply(StatusCode::OK, &summary(fake))
        }
        ("GET", "/__admin/state") => reply(StatusCode::OK, &fake.state()),
        ("GET", "/__admin/requests") => reply(StatusCode::OK, &fake.requests()),
        ("GET", "/__admin/stats") => reply(StatusCode::OK, &fake.stats()),
        ("GET", "/__admin/faults") => reply(StatusCode::OK, &fake.faults()),
        ("POST", "/__admin/faults") => {
            for rule in one_or_many::<FaultRule>(parse_json(body)?)? {
                fake.add_fault(rule);
            }
            reply(StatusCode::OK, &fake.faults())
        }
        ("DELETE", "/__admin/faults") => {
            fake.clear_faults();
            let mut response = Response::new(Bytes::new());
            *response.status_mut() = StatusCode::NO_CONTENT;
            response
        }
        ("GET", "/__admin/holds") => reply(StatusCode::OK, &fake.held()),
        ("POST", "/__admin/holds/release") => {
            fake.release_held();
            reply(StatusCode::OK, &fake.held())
        }
        ("POST", "/__admin/holds/drop") => {
            fake.drop_held();
            reply(StatusCode::OK, &fake.held())
        }
        ("GET", "/__admin/rate_limits") => reply(StatusCode::OK, &fake.rate_limits()),
        ("PATCH", "/__admin/rate_limits") => {
            let patch = parse_json(body)?;
            let Value::Object(patch) = patch else {
                return Err(BadRequest("body must be a JSON object".into()));
            };
            let mut current = serde_json::to_value(fake.rate_limits())?;
            if let Value::Object(map) = &mut current {
                map.extend(patch);
            }
            let limits: RateLimits = serde_json::from_value(current)?;
            fake.set_rate_limits(limits.clone());
            reply(StatusCode::OK, &limits)
        }
        _ => error(
            StatusCode::NOT_FOUND,
            format!("no admin endpoint {} {path}", method.as_str()),
        ),
    })
}

fn run_odp(
    fake: &FakeOptimizely,
    method: &Method,
    path: &str,
    query: Option<&str>,
    body: &[u8],
) -> Result<Response<Bytes>, BadRequest> {
    Ok(match (method.as_str(), path) {
        ("GET", "/__admin/odp/profiles") => match crate::routes::parse_query(query).as_slice() {
            [] => reply(StatusCode::OK, &fake.odp_profiles()),
            [(identifier, value)] => match fake.odp_profile(identifier, value) {
                Some(profile) => reply(StatusCode::OK, &profile),
                None => error(
                    StatusCode::NOT_FOUND,
                    format!("no ODP profile for {identifier} = {value}"),
                ),
            },
            _ => return Err(BadRequest("give at most one identifier=value".into())),
        },
        ("GET", "/__admin/odp/profile_writes") => reply(StatusCode::OK, &fake.odp_profile_writes()),
        ("GET", "/__admin/odp/events") => reply(StatusCode::OK, &fake.odp_events()),
        ("GET", "/__admin/odp/segments") => reply(StatusCode::OK, &fake.odp_segments()),
        ("POST", "/__admin/odp/segments") => {
            for segment in one_or_many::<OdpSegmentSeed>(parse_json(body)?)? {
                fake.add_odp_segment(segment)?;
            }
            reply(StatusCode::OK, &fake.odp_segments())
        }
        ("GET", "/__admin/odp/refused_identifiers") => {
            reply(StatusCode::OK, &fake.refused_odp_identifiers())
        }
        ("POST", "/__admin/odp/refused_identifiers") => {
            for refused in one_or_many::<RefusedIdentifier>(parse_json(body)?)? {
                fake.refuse_odp_identifier(refused)?;
            }
            reply(StatusCode::OK, &fake.refused_odp_identifiers())
        }
        ("DELETE", "/__admin/odp/refused_identifiers") => {
            fake.clear_refused_odp_identifiers();
            let mut response = Response::new(Bytes::new());
            *response.status_mut() = StatusCode::NO_CONTENT;
            response
        }
        _ => error(
            StatusCode::NOT_FOUND,
            format!("no admin endpoint {} {path}", method.as_str()),
        ),
    })
}
