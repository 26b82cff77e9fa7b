//! The v2 endpoints: authentication, rate limiting, then one handler per endpoint.
//!
//! Order of checks for every `/v2` request (after faults, see `fake.rs`):
//! 1. bearer token missing or unknown → 401 `unauthorized` (no quota used: there is no
//!    bucket for an unknown token);
//! 2. rate limit of (token, product of the targeted project) → 429 `too_many_requests`;
//! 3. the endpoint's own checks: ids, body (JSON, then the spec's schema), project
//!    existence (404) and access (403), uniqueness and product rules (400).
//!
//! The project a request targets is found from the path, the `project_id` query parameter,
//! the body's `project_id` or the object addressed. When it cannot be found (unknown object,
//! missing parameter) the request counts against the token's Feature Experimentation bucket
//! if the token can use any FX project, else its Web bucket: the stricter choice, so a
//! client cannot get extra quota from failing requests.
//!
//! INFERRED where the spec is silent: a non-numeric id in a path is 400 (the spec's
//! "Invalid Project ID supplied" for projects, applied to every kind); a create whose body
//! names a project that does not exist is 404 `not_found`, like the list endpoints; the
//! rate limit is checked before access, so a 403 uses quota like any answered request.

mod attributes;
mod audiences;
mod environments;
mod events;
mod kind;
mod list_attributes;
mod projects;

use crate::pagination::PageRequest;
use crate::rate_limit::{Decision, Limiter, Product, QuotaHeaders, RateLimits};
use crate::response::{Answer, ApiError};
use crate::routes::Endpoint;
use crate::store::{
    Attribute, Audience, Environment, Event, ListAttribute, Project, Store, Stored,
};
use http::StatusCode;
use http::header::HeaderName;
use serde_json::{Map, Value};
use tokio::time::Instant;

/// Everything a handler needs to know about the request.
#[derive(Debug)]
pub(crate) struct ApiRequest<'a> {
    pub(crate) endpoint: Endpoint,
    pub(crate) params: &'a [String],
    pub(crate) query: &'a [(String, String)],
    pub(crate) raw_query: Option<&'a str>,
    pub(crate) path: &'a str,
    pub(crate) origin: &'a str,
    pub(crate) body: &'a [u8],
    pub(crate) token: &'a str,
}

impl ApiRequest<'_> {
    pub(crate) fn page_request(&self) -> PageRequest<'_> {
        PageRequest {
            origin: self.origin,
            path: self.path,
            raw_query: self.raw_query,
            query: self.query,
        }
    }

    /// Path parameter `index` as an id (400 when it is not a number).
    pub(crate) fn path_id(&self, index: usize) -> Result<i64, ApiError> {
        let raw = self.params.get(index).map_or("", String::as_str);
        raw.parse::<i64>()
            .map_err(|_| ApiError::bad_request(format!("invalid id in path: {raw:?}")))
    }

    /// The required `project_id` query parameter of list endpoints.
    pub(crate) fn query_project_id(&self) -> Result<i64, ApiError> {
        let Some((_, raw)) = self.query.iter().find(|(k, _)| k == "project_id") else {
            return Err(ApiError::bad_request(
                "query parameter 'project_id' is required",
            ));
        };
        raw.parse::<i64>().map_err(|_| {
            ApiError::bad_request(format!(
                "query parameter 'project_id' must be an integer, got {raw:?}"
            ))
        })
    }

    pub(crate) fn query_flag(&self, name: &str) -> bool {
        self.query
            .iter()
            .any(|(k, v)| k == name && matches!(v.as_str(), "true" | "True" | "1"))
    }

    /// The body parsed as JSON and checked against spec definition `definition`.
    pub(crate) fn validated_body(&self, definition: &str) -> Result<Map<String, Value>, ApiError> {
        let value: Value = serde_json::from_slice(self.body)
            .map_err(|e| ApiError::bad_request(format!("request body is not valid JSON: {e}")))?;
        crate::schema::validate(definition, &value).map_err(ApiError::bad_request)?;
        match value {
            Value::Object(map) => Ok(map),
            // `validate` refuses anything but an object.
            _ => Err(ApiError::bad_request("request body must be a JSON object")),
        }
    }
}

/// Reads an optional string field of a validated body (`null` counts as absent).
pub(crate) fn opt_str(body: &Map<String, Value>, name: &str) -> Option<String> {
    body.get(name).and_then(Value::as_str).map(str::to_owned)
}

/// Reads an optional boolean field of a validated body.
pub(crate) fn opt_bool(body: &Map<String, Value>, name: &str) -> Option<bool> {
    body.get(name).and_then(Value::as_bool)
}

/// Reads an optional integer field of a validated body.
pub(crate) fn opt_i64(body: &Map<String, Value>, name: &str) -> Option<i64> {
    body.get(name).and_then(Value::as_i64)
}

/// A partial update: overwrites `field` with the body's string `name`, if it has one.
pub(crate) fn patch_str(body: &Map<String, Value>, name: &str, field: &mut String) {
    if let Some(value) = opt_str(body, name) {
        *field = value;
    }
}

/// A partial update: overwrites `field` with the body's boolean `name`, if it has one.
pub(crate) fn patch_bool(body: &Map<String, Value>, name: &str, field: &mut bool) {
    if let Some(value) = opt_bool(body, name) {
        *field = value;
    }
}

/// The project `project_id`, if it exists (404) and `token` may use it (403).
pub(crate) fn accessible_project<'s>(
    store: &'s Store,
    token: &str,
    project_id: i64,
) -> Result<&'s Project, ApiError> {
    let Some(project) = store.projects.get(&project_id) else {
        return Err(ApiError::not_found(format!(
            "project {project_id} not found"
        )));
    };
    if !store.can_access(token, project_id) {
        return Err(ApiError::forbidden(format!(
            "you do not have permission to access project {project_id}"
        )));
    }
    Ok(project)
}

/// 403 unless `token` may use `project_id` (for objects that exist).
pub(crate) fn check_access(store: &Store, token: &str, project_id: i64) -> Result<(), ApiError> {
    accessible_project(store, token, project_id).map(|_| ())
}

fn bearer_token(authorization: Option<&str>) -> Option<&str> {
    let value = authorization?.trim();
    let (scheme, token) = value.split_once(' ')?;
    if !scheme.eq_ignore_ascii_case("bearer") {
        return None;
    }
    let token = token.trim();
    (!token.is_empty()).then_some(token)
}

/// Which project a request is about, as far as can be told without validating it.
fn target_project(store: &Store, req: &ApiRequest<'_>) -> Option<i64> {
    use Endpoint::*;
    match req.endpoint {
        GetProject | CreateCustomEvent | UpdateCustomEvent | ArchiveCustomEvent => {
            req.path_id(0).ok()
        }
        ListAttributes | ListAudiences | ListEvents | ListListAttributes | ListEnvironments => {
            req.query_project_id().ok()
        }
        CreateAttribute | CreateAudience | CreateListAttribute => {
            serde_json::from_slice::<Value>(req.body)
                .ok()?
                .get("project_id")?
                .as_i64()
        }
        GetAttribute | UpdateAttribute | ArchiveAttribute => owner::<Attribute>(store, req),
        GetAudience | UpdateAudience => owner::<Audience>(store, req),
        GetEvent => owner::<Event>(store, req),
        GetListAttribute | UpdateListAttribute | ArchiveListAttribute => {
            owner::<ListAttribute>(store, req)
        }
        GetEnvironment | GetDatafile => owner::<Environment>(store, req),
    }
}

/// The project of the object of kind `K` that path parameter 0 names, if it exists.
fn owner<K: Stored>(store: &Store, req: &ApiRequest<'_>) -> Option<i64> {
    K::table(store)
        .get(&req.path_id(0).ok()?)
        .map(Stored::project_id)
}

fn fallback_product(store: &Store, token: &str) -> Product {
    let any_fx = store.tokens.get(token).is_some_and(|ids| {
        ids.iter()
            .any(|id| store.product_of(*id) == Some(Product::FeatureExperimentation))
    });
    if any_fx {
        Product::FeatureExperimentation
    } else {
        Product::Web
    }
}

fn quota_headers(headers: QuotaHeaders) -> [(HeaderName, String); 3] {
    [
        (
            HeaderName::from_static("x-ratelimit-limit"),
            headers.limit.to_string(),
        ),
        (
            HeaderName::from_static("x-ratelimit-remaining"),
            headers.remaining.to_string(),
        ),
        (
            HeaderName::from_static("x-ratelimit-reset"),
            headers.reset_secs.to_string(),
        ),
    ]
}

/// The mutable parts of the fake a `/v2` request touches.
#[derive(Debug)]
pub(crate) struct ApiContext<'a> {
    pub(crate) store: &'a mut Store,
    pub(crate) limiter: &'a mut Limiter,
    pub(crate) limits: &'a RateLimits,
    pub(crate) now: Instant,
}

/// Answers one routed `/v2` request.
pub(crate) fn dispatch(
    ctx: ApiContext<'_>,
    authorization: Option<&str>,
    req: &ApiRequest<'_>,
) -> Answer {
    let Some(token) = bearer_token(authorization) else {
        return ApiError::unauthorized(
            "missing credentials: send 'Authorization: Bearer <personal access token>'",
        )
        .into_answer();
    };
    if !ctx.store.knows_token(token) {
        return ApiError::unauthorized("invalid credentials: the token is not valid").into_answer();
    }
    let product = target_project(ctx.store, req)
        .and_then(|id| ctx.store.product_of(id))
        .unwrap_or_else(|| fallback_product(ctx.store, token));
    let quota = match ctx.limiter.check(token, product, ctx.limits, ctx.now) {
        Decision::Refused {
            retry_after_secs,
            headers,
        } => {
            let mut error = ApiError::new(
                StatusCode::TOO_MANY_REQUESTS,
                "rate limit exceeded: too many requests for this token, slow down",
            );
            if ctx.limits.retry_after {
                error = error.with_header(http::header::RETRY_AFTER, retry_after_secs.to_string());
            }
            if ctx.limits.rate_limit_headers {
                for (name, value) in quota_headers(headers) {
                    error = error.with_header(name, value);
                }
            }
            tracing::debug!(token_last4 = %crate::store::last4(token), ?product, "rate limited");
            return error.into_answer();
        }
        Decision::Allowed(quota) => quota,
    };
    let mut answer = match handle_endpoint(ctx.store, &ApiRequest { token, ..*req }) {
        Ok(answer) => answer,
        Err(error) => error.into_answer(),
    };
    if let (true, Some(quota)) = (ctx.limits.rate_limit_headers, quota) {
        answer.headers.extend(quota_headers(quota));
    }
    answer
}

fn handle_endpoint(store: &mut Store, req: &ApiRequest<'_>) -> Result<Answer, ApiError> {
    use Endpoint::*;
    match req.endpoint {
        GetProject => projects::get(store, req),
        ListAttributes => attributes::list(store, req),
        CreateAttribute => attributes::create(store, req),
        GetAttribute => kind::get::<Attribute>(store, req, check_access),
        UpdateAttribute => attributes::update(store, req),
        ArchiveAttribute => attributes::archive(store, req),
        ListAudiences => audiences::list(store, req),
        CreateAudience => audiences::create(store, req),
        GetAudience => kind::get::<Audience>(store, req, check_access),
        UpdateAudience => audiences::update(store, req),
        ListEvents => events::list(store, req),
        GetEvent => kind::get::<Event>(store, req, check_access),
        CreateCustomEvent => events::create_custom(store, req),
        UpdateCustomEvent => events::update_custom(store, req),
        ArchiveCustomEvent => events::archive_custom(store, req),
        ListListAttributes => list_attributes::list(store, req),
        CreateListAttribute => list_attributes::create(store, req),
        GetListAttribute => kind::get::<ListAttribute>(store, req, list_attributes::web_only),
        UpdateListAttribute => list_attributes::update(store, req),
        ArchiveListAttribute => list_attributes::archive(store, req),
        ListEnvironments => environments::list(store, req),
        GetEnvironment => environments::get(store, req),
        GetDatafile => environments::datafile(store, req),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bearer_parsing() {
        assert_eq!(bearer_token(Some("Bearer abc")), Some("abc"));
        assert_eq!(bearer_token(Some("bearer  abc ")), Some("abc"));
        assert_eq!(bearer_token(Some("Token abc")), None);
        assert_eq!(bearer_token(Some("Bearer ")), None);
        assert_eq!(bearer_token(None), None);
    }
}
