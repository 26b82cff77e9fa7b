//! A fake of Optimizely Data Platform's REST API v3 (`/v3/...`), served by the same
//! [`FakeOptimizely`](crate::FakeOptimizely) as the v2 API. docs/ODP-API.md §10 is the
//! specification; behaviour it marks INFERRED is marked so where it is made.
//!
//! | route template | method | key | answer |
//! |---|---|---|---|
//! | `/v3/profiles` | POST | public or private | 202 upsert (`profiles.rs`) |
//! | `/v3/profiles` | GET | private | 200 one profile (`profiles.rs`) |
//! | `/v3/schema/objects` | GET | private | 200 objects (`schema.rs`) |
//! | `/v3/schema/objects/{object}` | GET | private | 200 object |
//! | `/v3/schema/objects/{object}/fields` | GET, POST | private | 200 fields / 200 created field |
//! | `/v3/schema/objects/{object}/fields/{field}` | GET | private | 200 field |
//! | `/v3/schema/identifiers` | POST | private | 201 created identifier |
//! | `/v3/graphql` | POST | public or private | 200 `customer.audiences` (`graphql.rs`) |
//! | `/v3/events` | POST | public or private | 202 |
//!
//! Order of checks for every `/v3` request (after faults, see `fake.rs`; §10.3): the route
//! (none → 403 `Missing Authentication Token`), the `x-api-key` (missing or unknown → 403
//! `Forbidden`; the public key where the private one is needed → 403 `Forbidden`), the rate
//! limit of (key, API family) (→ 429), the body size (over 10 MB → 413), then the endpoint.
//!
//! INFERRED (§1, §10.2): which calls take the public key (the table above); a route that
//! exists with another method is answered like an unknown one, as API Gateway does; an
//! account that was never seeded knows no key, so every `/v3` call is 403.

mod graphql;
mod profiles;
mod response;
mod schema;
mod seed;
mod segments;

pub use profiles::OdpProfileWrite;
pub(crate) use profiles::Profiles;
pub(crate) use response::OdpAnswer;
pub(crate) use seed::apply as apply_seed;
pub use seed::{
    DEMO_ODP_PRIVATE_KEY, DEMO_ODP_PUBLIC_KEY, OdpFieldSeed, OdpSeed, RefusedIdentifier,
};
pub use segments::{OdpSegmentRule, OdpSegmentSeed};

use crate::rate_limit::{Decision, Limiter, OdpApi, RateLimits};
use crate::routes::{Routed, Row, route_in};
use crate::store::redact;
use http::Method;
use response::Reply;
use schema::Schema;
use serde_json::{Value, json};
use std::collections::{BTreeMap, BTreeSet, VecDeque};
use std::time::Duration;
use tokio::time::Instant;

/// The largest body a `/v3` call takes (INFERRED: API Gateway's 10 MB, §5).
const MAX_BODY_BYTES: usize = 10 * 1024 * 1024;
/// Events kept for [`OdpAccount::events`]; older ones are forgotten.
const MAX_EVENTS_KEPT: usize = 100_000;

/// One endpoint of the ODP API the fake serves.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum OdpEndpoint {
    UpsertProfiles,
    GetProfile,
    ListObjects,
    GetObject,
    ListFields,
    CreateField,
    GetField,
    CreateIdentifier,
    GraphQl,
    Events,
}

impl OdpEndpoint {
    /// The API family whose quota the call uses.
    fn api(self) -> OdpApi {
        use OdpEndpoint::*;
        match self {
            UpsertProfiles | GetProfile => OdpApi::Profiles,
            ListObjects | GetObject | ListFields | CreateField | GetField | CreateIdentifier => {
                OdpApi::Schema
            }
            GraphQl => OdpApi::GraphQl,
            Events => OdpApi::Events,
        }
    }

    /// Whether the public key is refused (§1 table, §10.2).
    fn needs_private_key(self) -> bool {
        !matches!(self, Self::UpsertProfiles | Self::GraphQl | Self::Events)
    }
}

const ROUTES: &[Row<OdpEndpoint>] = &[
    (
        "/v3/profiles",
        &[
            (Method::POST, OdpEndpoint::UpsertProfiles),
            (Method::GET, OdpEndpoint::GetProfile),
        ],
    ),
    (
        "/v3/schema/objects",
        &[(Method::GET, OdpEndpoint::ListObjects)],
    ),
    (
        "/v3/schema/objects/{object}",
        &[(Method::GET, OdpEndpoint::GetObject)],
    ),
    (
        "/v3/schema/objects/{object}/fields",
        &[
            (Method::GET, OdpEndpoint::ListFields),
            (Method::POST, OdpEndpoint::CreateField),
        ],
    ),
    (
        "/v3/schema/objects/{object}/fields/{field}",
        &[(Method::GET, OdpEndpoint::GetField)],
    ),
    (
        "/v3/schema/identifiers",
        &[(Method::POST, OdpEndpoint::CreateIdentifier)],
    ),
    ("/v3/graphql", &[(Method::POST, OdpEndpoint::GraphQl)]),
    ("/v3/events", &[(Method::POST, OdpEndpoint::Events)]),
];

/// Whether a path belongs to the ODP API.
pub(crate) fn is_odp_path(path: &str) -> bool {
    path == "/v3" || path.starts_with("/v3/")
}

/// Routes a `/v3` request.
pub(crate) fn route(method: &Method, path: &str) -> Routed<OdpEndpoint> {
    route_in(ROUTES, method, path)
}

/// Which of the account's keys a request sent.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum KeyKind {
    Public,
    Private,
}

/// The ODP account: keys, schema, profiles, segments and the fault-injection settings.
#[derive(Clone, Debug)]
pub(crate) struct OdpAccount {
    pub(crate) public_key: String,
    pub(crate) private_key: String,
    /// The datafile integration's `host`; `None`: the fake's own base URL.
    pub(crate) host: Option<String>,
    /// Projects whose datafile lists the integration.
    pub(crate) project_ids: BTreeSet<i64>,
    pub(crate) strict: bool,
    pub(crate) apply_delay: Duration,
    pub(crate) schema: Schema,
    pub(crate) profiles: Profiles,
    /// By lower-cased id (ids are case-insensitive, §8).
    pub(crate) segments: BTreeMap<String, OdpSegmentSeed>,
    pub(crate) refused: Vec<RefusedIdentifier>,
    /// Bodies' items of accepted `POST /v3/events`, oldest first.
    pub(crate) events: VecDeque<Value>,
}

impl OdpAccount {
    fn new(schema: Schema) -> Self {
        Self {
            public_key: DEMO_ODP_PUBLIC_KEY.to_owned(),
            private_key: DEMO_ODP_PRIVATE_KEY.to_owned(),
            host: None,
            project_ids: BTreeSet::new(),
            strict: false,
            apply_delay: Duration::ZERO,
            schema,
            profiles: Profiles::default(),
            segments: BTreeMap::new(),
            refused: Vec::new(),
            events: VecDeque::new(),
        }
    }

    fn key_kind(&self, key: &str) -> Option<KeyKind> {
        if key == self.private_key {
            Some(KeyKind::Private)
        } else if key == self.public_key {
            Some(KeyKind::Public)
        } else {
            None
        }
    }

    /// Adds or replaces a segment after checking it against the schema.
    pub(crate) fn add_segment(&mut self, segment: OdpSegmentSeed) -> Result<(), String> {
        segment.check(&self.schema)?;
        self.segments.insert(segment.name.to_lowercase(), segment);
        Ok(())
    }

    /// Whether the profile with these attributes is in segment `name` (`None`: no such
    /// segment).
    pub(crate) fn qualifies(
        &self,
        name: &str,
        attributes: &serde_json::Map<String, Value>,
    ) -> Option<bool> {
        self.segments
            .get(&name.to_lowercase())
            .map(|s| s.rule.matches(attributes))
    }

    /// The account as `GET /__admin/state` shows it (the private key redacted).
    pub(crate) fn snapshot(&self) -> Value {
        let customers: Vec<Value> = self
            .schema
            .object("customers")
            .map(|o| o.fields.iter().map(schema::Field::view).collect())
            .unwrap_or_default();
        json!({
            "public_key": self.public_key,
            "private_key": redact(&self.private_key),
            "host": self.host,
            "project_ids": self.project_ids,
            "strict": self.strict,
            "apply_delay_ms": u64::try_from(self.apply_delay.as_millis()).unwrap_or(u64::MAX),
            "identifiers": self.schema.identifiers(),
            "customer_fields": customers,
            "segments": self.segments.values().collect::<Vec<_>>(),
            "refused_identifiers": self.refused,
            "profiles": self.profiles.all(),
            "events": self.events.len(),
        })
    }
}

/// Everything an ODP handler needs about the request.
#[derive(Debug)]
pub(crate) struct OdpRequest<'a> {
    pub(crate) params: &'a [String],
    pub(crate) query: &'a [(String, String)],
    pub(crate) body: &'a [u8],
}

/// The mutable parts of the fake a `/v3` request touches.
#[derive(Debug)]
pub(crate) struct OdpContext<'a> {
    pub(crate) account: Option<&'a mut OdpAccount>,
    pub(crate) limiter: &'a mut Limiter,
    pub(crate) limits: &'a RateLimits,
    pub(crate) now: Instant,
}

/// Answers one `/v3` request.
pub(crate) fn dispatch(
    ctx: OdpContext<'_>,
    routed: &Routed<OdpEndpoint>,
    api_key: Option<&str>,
    req: &OdpRequest<'_>,
) -> OdpAnswer {
    let Routed::Found { endpoint, .. } = routed else {
        return OdpAnswer::missing_route();
    };
    let Some(account) = ctx.account else {
        return OdpAnswer::forbidden();
    };
    let Some((key, kind)) = api_key
        .map(str::trim)
        .and_then(|key| account.key_kind(key).map(|kind| (key, kind)))
    else {
        return OdpAnswer::forbidden();
    };
    if kind == KeyKind::Public && endpoint.needs_private_key() {
        return OdpAnswer::forbidden();
    }
    if let Decision::Refused {
        retry_after_secs, ..
    } = ctx
        .limiter
        .check_odp(key, endpoint.api(), ctx.limits, ctx.now)
    {
        tracing::debug!(key_last4 = %crate::store::last4(key), api = ?endpoint.api(), "ODP rate limited");
        return OdpAnswer::throttled(ctx.limits.odp_retry_after.then_some(retry_after_secs));
    }
    if req.body.len() > MAX_BODY_BYTES {
        return OdpAnswer::too_long();
    }
    account.profiles.settle(ctx.now);
    handle_endpoint(account, *endpoint, req, ctx.now).unwrap_or_else(|error| error)
}

fn param<'r>(req: &'r OdpRequest<'_>, index: usize) -> &'r str {
    req.params.get(index).map_or("", String::as_str)
}

fn handle_endpoint(
    account: &mut OdpAccount,
    endpoint: OdpEndpoint,
    req: &OdpRequest<'_>,
    now: Instant,
) -> Reply {
    use OdpEndpoint::*;
    match endpoint {
        UpsertProfiles => {
            let rules = profiles::Rules {
                schema: &account.schema,
                refused: &account.refused,
                strict: account.strict,
            };
            profiles::upsert(
                &mut account.profiles,
                rules,
                account.apply_delay,
                req.body,
                now,
            )
        }
        GetProfile => profiles::read(&account.profiles, &account.schema, req.query),
        ListObjects => schema::list_objects(&account.schema),
        GetObject => schema::get_object(&account.schema, param(req, 0)),
        ListFields => schema::list_fields(&account.schema, param(req, 0)),
        CreateField => schema::create_field(&mut account.schema, param(req, 0), req.body),
        GetField => schema::get_field(&account.schema, param(req, 0), param(req, 1)),
        CreateIdentifier => schema::create_identifier(&mut account.schema, req.body),
        GraphQl => graphql::answer(account, req.body),
        Events => events(account, req.body),
    }
}

/// `POST /v3/events`: one event object or an array; each needs a `type` (the message is the
/// real one, docs/ODP-API.md §2). Accepted events are kept for tests, not interpreted
/// (INFERRED: they change no profile; §10.9 asks only for the 202).
fn events(account: &mut OdpAccount, body: &[u8]) -> Reply {
    let refuse =
        |message: String| OdpAnswer::invalids(vec![json!({"event": 0, "message": message})]);
    let value: Value = serde_json::from_slice(body)
        .map_err(|e| refuse(format!("Unable to parse request body: {e}")))?;
    let items: Vec<Value> = match value {
        Value::Array(items) => items,
        Value::Object(_) => vec![value],
        _ => {
            return Err(refuse(
                "request body must be an object or an array of objects".to_owned(),
            ));
        }
    };
    let invalids: Vec<Value> = items
        .iter()
        .enumerate()
        .filter(|(_, item)| !item.get("type").is_some_and(Value::is_string))
        .map(|(index, _)| json!({"event": index, "message": "missing 'type' field"}))
        .collect();
    if !invalids.is_empty() {
        return Err(OdpAnswer::invalids(invalids));
    }
    for item in items {
        if account.events.len() == MAX_EVENTS_KEPT {
            account.events.pop_front();
        }
        account.events.push_back(item);
    }
    Ok(OdpAnswer::accepted())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn routes_and_key_needs() {
        assert!(matches!(
            route(&Method::GET, "/v3/schema/objects/customers/fields/in_beta"),
            Routed::Found {
                endpoint: OdpEndpoint::GetField,
                template: "/v3/schema/objects/{object}/fields/{field}",
                ..
            }
        ));
        assert_eq!(
            route(&Method::DELETE, "/v3/profiles"),
            Routed::MethodNotAllowed {
                template: "/v3/profiles"
            }
        );
        assert_eq!(route(&Method::GET, "/v3/nothing"), Routed::NotFound);
        assert!(is_odp_path("/v3/profiles"));
        assert!(!is_odp_path("/v30/profiles"));
        assert!(OdpEndpoint::GetProfile.needs_private_key());
        assert!(!OdpEndpoint::UpsertProfiles.needs_private_key());
    }
}
