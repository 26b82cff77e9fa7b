//! Answers of the v2 API: success bodies, the error envelope and the headers every
//! response carries.
//!
//! Errors use the v2 envelope `{"code": ..., "message": ..., "uuid": ...}` (docs/OPTIMIZELY-API.md#error-envelope);
//! `code` is derived from the status (`bad_request`, `unauthorized`, `forbidden`,
//! `not_found`, `too_many_requests`, ...; only `not_found` is confirmed, the others are
//! INFERRED). Every response carries `x-request-id` (a UUID) and
//! `access-control-expose-headers: Link,X-Record-Total`, as observed on the real API.

use crate::json_format::to_python_json;
use bytes::Bytes;
use http::header::{CONTENT_TYPE, HeaderName, HeaderValue};
use http::{Response, StatusCode};
use serde_json::{Value, json};

/// An answer under construction.
#[derive(Clone, Debug)]
pub(crate) struct Answer {
    pub(crate) status: StatusCode,
    pub(crate) body: Option<Value>,
    pub(crate) headers: Vec<(HeaderName, String)>,
}

impl Answer {
    pub(crate) fn json(status: StatusCode, body: Value) -> Self {
        Self {
            status,
            body: Some(body),
            headers: Vec::new(),
        }
    }

    pub(crate) fn ok(body: Value) -> Self {
        Self::json(StatusCode::OK, body)
    }

    pub(crate) fn created(body: Value) -> Self {
        Self::json(StatusCode::CREATED, body)
    }

    pub(crate) fn no_content() -> Self {
        Self {
            status: StatusCode::NO_CONTENT,
            body: None,
            headers: Vec::new(),
        }
    }

    pub(crate) fn with_header(mut self, name: HeaderName, value: impl Into<String>) -> Self {
        self.headers.push((name, value.into()));
        self
    }

    /// Builds the HTTP response, adding the headers every v2 response carries.
    pub(crate) fn into_response(self) -> Response<Bytes> {
        let request_id = uuid::Uuid::new_v4().to_string();
        let body = match &self.body {
            Some(value) => Bytes::from(to_python_json(value)),
            None => Bytes::new(),
        };
        let mut response = Response::new(body);
        *response.status_mut() = self.status;
        let headers = response.headers_mut();
        if self.body.is_some() {
            headers.insert(CONTENT_TYPE, HeaderValue::from_static("application/json"));
        }
        headers.insert(
            HeaderName::from_static("x-request-id"),
            header_value(&request_id),
        );
        headers.insert(
            HeaderName::from_static("access-control-expose-headers"),
            HeaderValue::from_static("Link,X-Record-Total"),
        );
        for (name, value) in self.headers {
            headers.append(name, header_value(&value));
        }
        response
    }
}

fn header_value(value: &str) -> HeaderValue {
    // Values are ids, numbers and URLs the fake built itself; fall back rather than panic.
    HeaderValue::from_str(value).unwrap_or_else(|_| HeaderValue::from_static("invalid"))
}

/// A v2 error answer.
#[derive(Clone, Debug)]
pub(crate) struct ApiError {
    pub(crate) status: StatusCode,
    pub(crate) message: String,
    pub(crate) headers: Vec<(HeaderName, String)>,
}

impl ApiError {
    pub(crate) fn new(status: StatusCode, message: impl Into<String>) -> Self {
        Self {
            status,
            message: message.into(),
            headers: Vec::new(),
        }
    }

    pub(crate) fn bad_request(message: impl Into<String>) -> Self {
        Self::new(StatusCode::BAD_REQUEST, message)
    }

    pub(crate) fn unauthorized(message: impl Into<String>) -> Self {
        Self::new(StatusCode::UNAUTHORIZED, message)
    }

    pub(crate) fn forbidden(message: impl Into<String>) -> Self {
        Self::new(StatusCode::FORBIDDEN, message)
    }

    pub(crate) fn not_found(message: impl Into<String>) -> Self {
        Self::new(StatusCode::NOT_FOUND, message)
    }

    pub(crate) fn with_header(mut self, name: HeaderName, value: impl Into<String>) -> Self {
        self.headers.push((name, value.into()));
        self
    }

    pub(crate) fn into_answer(self) -> Answer {
        let body = json!({
            "code": error_code(self.status),
            "message": self.message,
            "uuid": uuid::Uuid::new_v4().to_string(),
        });
        Answer {
            status: self.status,
            body: Some(body),
            headers: self.headers,
        }
    }
}

/// The envelope's `code` for a status.
pub(crate) fn error_code(status: StatusCode) -> &'static str {
    match status.as_u16() {
        400 => "bad_request",
        401 => "unauthorized",
        403 => "forbidden",
        404 => "not_found",
        405 => "method_not_allowed",
        409 => "conflict",
        429 => "too_many_requests",
        500 => "internal_server_error",
        502 => "bad_gateway",
        503 => "service_unavailable",
        504 => "gateway_timeout",
        _ => "error",
    }
}
