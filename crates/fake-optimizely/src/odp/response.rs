//! Answers of the ODP REST API v3: the gateway's `{"message": ...}` bodies, the application's
//! `{"title", "status", "timestamp", "detail"}` envelope, and 202 Accepted.
//!
//! Two layers answer `/v3` requests on the real service (docs/ODP-API.md §1, §5): an AWS API
//! Gateway in front (403 `Forbidden` / `Missing Authentication Token`, 429, 413, 502, 504 with
//! a bare `{"message": ...}`), and the application behind it (the `title` envelope, with
//! `detail.invalids` or `detail.message`). Every `timestamp` is UTC ISO 8601 with
//! milliseconds (`2022-07-01T16:04:06.786Z`, §10.1). Bodies are compact JSON (the service is
//! Java, not the Python of v2).
//!
//! INFERRED: the `x-amzn-requestid` header (API Gateway sends one on every answer; no ODP
//! source shows headers); 503's body (§5 names none; API Gateway's wording is used); the
//! bodies of the gateway answers (§5, from AWS's defaults).

use bytes::Bytes;
use http::header::{CONTENT_TYPE, HeaderName, HeaderValue, RETRY_AFTER};
use http::{Response, StatusCode};
use serde_json::{Value, json};

/// The current time the way ODP writes it: `2022-07-01T16:04:06.786Z`.
pub(crate) fn odp_timestamp() -> String {
    chrono::Utc::now()
        .format("%Y-%m-%dT%H:%M:%S%.3fZ")
        .to_string()
}

/// An ODP answer under construction.
#[derive(Clone, Debug)]
pub(crate) struct OdpAnswer {
    pub(crate) status: StatusCode,
    pub(crate) body: Value,
    pub(crate) headers: Vec<(HeaderName, String)>,
}

/// A handler's outcome: the answer, or the error answer that ends it early.
pub(crate) type Reply = Result<OdpAnswer, OdpAnswer>;

impl OdpAnswer {
    pub(crate) fn json(status: StatusCode, body: Value) -> Self {
        Self {
            status,
            body,
            headers: Vec::new(),
        }
    }

    pub(crate) fn ok(body: Value) -> Self {
        Self::json(StatusCode::OK, body)
    }

    /// 202 `{"title":"Accepted","status":202,"timestamp":…}` (docs/ODP-API.md §2).
    pub(crate) fn accepted() -> Self {
        Self::json(StatusCode::ACCEPTED, envelope(StatusCode::ACCEPTED))
    }

    /// A gateway answer: `{"message": message}`.
    pub(crate) fn gateway(status: StatusCode, message: &str) -> Self {
        Self::json(status, json!({"message": message}))
    }

    /// 403 `{"message":"Forbidden"}`: missing, unknown or too weak `x-api-key` (§1, §10.2).
    pub(crate) fn forbidden() -> Self {
        Self::gateway(StatusCode::FORBIDDEN, "Forbidden")
    }

    /// 403 `{"message":"Missing Authentication Token"}`: no such route (INFERRED body,
    /// §10.2; API Gateway's answer to a path or method it has no resource for).
    pub(crate) fn missing_route() -> Self {
        Self::gateway(StatusCode::FORBIDDEN, "Missing Authentication Token")
    }

    /// 429 `{"message":"Too Many Requests"}` (INFERRED, §5), with `Retry-After` if given.
    pub(crate) fn throttled(retry_after_secs: Option<u64>) -> Self {
        let answer = Self::gateway(StatusCode::TOO_MANY_REQUESTS, "Too Many Requests");
        match retry_after_secs {
            Some(secs) => answer.with_header(RETRY_AFTER, secs.to_string()),
            None => answer,
        }
    }

    /// 413 `{"message":"Request Too Long"}` (INFERRED, §5).
    pub(crate) fn too_long() -> Self {
        Self::gateway(StatusCode::PAYLOAD_TOO_LARGE, "Request Too Long")
    }

    /// 400 with `detail.invalids` (ingest items `{event, message}` or schema items
    /// `{field, reason}`).
    pub(crate) fn invalids(items: Vec<Value>) -> Self {
        let mut body = envelope(StatusCode::BAD_REQUEST);
        body["detail"] = json!({ "invalids": items });
        Self::json(StatusCode::BAD_REQUEST, body)
    }

    /// 400 with `detail.invalids` holding one `{field, reason}`.
    pub(crate) fn invalid_field(field: &str, reason: &str) -> Self {
        Self::invalids(vec![json!({"field": field, "reason": reason})])
    }

    /// An application error with `detail.message`.
    pub(crate) fn detail(status: StatusCode, message: impl Into<String>) -> Self {
        let mut body = envelope(status);
        body["detail"] = json!({ "message": message.into() });
        Self::json(status, body)
    }

    /// 404 `{"title":"Not Found",…,"detail":{"message":…}}`.
    pub(crate) fn not_found(message: impl Into<String>) -> Self {
        Self::detail(StatusCode::NOT_FOUND, message)
    }

    /// What an injected fault with `status` answers on a `/v3` route (§10.10): the gateway
    /// bodies for 403, 413, 429, 502, 503 and 504, the application envelope otherwise.
    pub(crate) fn injected(status: StatusCode) -> Self {
        match status.as_u16() {
            403 => Self::forbidden(),
            413 => Self::too_long(),
            429 => Self::throttled(None),
            502 => Self::gateway(status, "Internal server error"),
            503 => Self::gateway(status, "Service Unavailable"),
            504 => Self::gateway(status, "Endpoint request timed out"),
            _ => Self::json(status, envelope(status)),
        }
    }

    pub(crate) fn with_header(mut self, name: HeaderName, value: impl Into<String>) -> Self {
        self.headers.push((name, value.into()));
        self
    }

    /// Builds the HTTP response.
    pub(crate) fn into_response(self) -> Response<Bytes> {
        let body = serde_json::to_vec(&self.body).unwrap_or_default();
        let mut response = Response::new(Bytes::from(body));
        *response.status_mut() = self.status;
        let headers = response.headers_mut();
        headers.insert(CONTENT_TYPE, HeaderValue::from_static("application/json"));
        headers.insert(
            HeaderName::from_static("x-amzn-requestid"),
            header_value(&uuid::Uuid::new_v4().to_string()),
        );
        for (name, value) in self.headers {
            headers.append(name, header_value(&value));
        }
        response
    }
}

/// `{"title": <reason>, "status": <code>, "timestamp": <now>}`.
fn envelope(status: StatusCode) -> Value {
    json!({
        "title": status.canonical_reason().unwrap_or("Error"),
        "status": status.as_u16(),
        "timestamp": odp_timestamp(),
    })
}

fn header_value(value: &str) -> HeaderValue {
    // Values are numbers and UUIDs the fake built itself; fall back rather than panic.
    HeaderValue::from_str(value).unwrap_or_else(|_| HeaderValue::from_static("invalid"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn timestamps_have_milliseconds() {
        let re = regex::Regex::new(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$").unwrap();
        assert!(re.is_match(&odp_timestamp()));
    }

    #[test]
    fn envelopes() {
        let a = OdpAnswer::accepted();
        assert_eq!(a.body["title"], "Accepted");
        assert_eq!(a.body["status"], 202);
        let e = OdpAnswer::invalids(vec![json!({"event": 0, "message": "m"})]);
        assert_eq!(e.body["title"], "Bad Request");
        assert_eq!(e.body["detail"]["invalids"][0]["event"], 0);
        let i = OdpAnswer::injected(StatusCode::INTERNAL_SERVER_ERROR);
        assert_eq!(i.body["title"], "Internal Server Error");
        assert_eq!(i.body["status"], 500);
        let g = OdpAnswer::injected(StatusCode::GATEWAY_TIMEOUT);
        assert_eq!(g.body, json!({"message": "Endpoint request timed out"}));
    }
}
