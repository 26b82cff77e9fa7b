//! Shared helpers for the integration tests: a seeded fake and a tiny in-process client
//! (`odp` has the ODP one).
#![allow(dead_code, clippy::unwrap_used)]

pub(crate) mod odp;

use bytes::Bytes;
use fake_optimizely::{
    ConnectionDropped, DEMO_FX_PROJECT_ID, DEMO_WEB_PROJECT_ID, FakeOptimizely, RateLimits, Seed,
    TokenSeed, demo_seed,
};
use http::{HeaderMap, Method, Request};
use serde_json::{Value, json};

pub(crate) const TOKEN: &str = "2:test-token-with-access-1234";
pub(crate) const OTHER_TOKEN: &str = "2:test-token-other-5678";
pub(crate) const WEB: i64 = DEMO_WEB_PROJECT_ID;
pub(crate) const FX: i64 = DEMO_FX_PROJECT_ID;
/// Exists, but only `OTHER_TOKEN` may use it.
pub(crate) const FOREIGN: i64 = 20_000_000_003;
/// Does not exist.
pub(crate) const MISSING: i64 = 29_999_999_999;

/// The demo seed for `TOKEN`, plus a project only `OTHER_TOKEN` may use; no rate limits.
pub(crate) fn test_seed() -> Seed {
    let mut seed = demo_seed(TOKEN);
    seed.tokens.push(TokenSeed {
        token: OTHER_TOKEN.to_owned(),
        project_ids: vec![FOREIGN],
    });
    seed.projects
        .push(json!({"id": FOREIGN, "platform": "web", "name": "Foreign"}));
    seed.rate_limits = RateLimits::unlimited();
    seed
}

/// A decoded response.
#[derive(Debug)]
pub(crate) struct Resp {
    pub(crate) status: u16,
    pub(crate) headers: HeaderMap,
    pub(crate) text: String,
    pub(crate) body: Value,
}

impl Resp {
    pub(crate) fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name).and_then(|v| v.to_str().ok())
    }

    pub(crate) fn message(&self) -> &str {
        self.body["message"].as_str().unwrap_or("")
    }

    /// Asserts the v2 error envelope with the given status and code.
    pub(crate) fn assert_error(&self, status: u16, code: &str) {
        assert_eq!(self.status, status, "{}", self.text);
        assert_eq!(self.body["code"], code, "{}", self.text);
        assert!(!self.message().is_empty(), "{}", self.text);
        let uuid = self.body["uuid"].as_str().unwrap();
        assert!(uuid::Uuid::parse_str(uuid).is_ok(), "uuid {uuid}");
    }
}

/// An in-process client of a fake.
#[derive(Clone, Debug)]
pub(crate) struct Api {
    pub(crate) fake: FakeOptimizely,
    pub(crate) token: Option<String>,
}

impl Api {
    pub(crate) fn new() -> Self {
        Self::with_seed(test_seed())
    }

    pub(crate) fn with_seed(seed: Seed) -> Self {
        Self {
            fake: FakeOptimizely::new(seed).unwrap(),
            token: Some(TOKEN.to_owned()),
        }
    }

    pub(crate) fn as_token(&self, token: Option<&str>) -> Self {
        Self {
            fake: self.fake.clone(),
            token: token.map(str::to_owned),
        }
    }

    pub(crate) async fn try_send(
        &self,
        method: Method,
        path: &str,
        body: Option<Vec<u8>>,
    ) -> Result<Resp, ConnectionDropped> {
        let mut builder = Request::builder()
            .method(method)
            .uri(path)
            .header("host", "fake.test:4010");
        if let Some(token) = &self.token {
            builder = builder.header("authorization", format!("Bearer {token}"));
        }
        if body.is_some() {
            builder = builder.header("content-type", "application/json");
        }
        let request = builder.body(Bytes::from(body.unwrap_or_default())).unwrap();
        let response = self.fake.handle(request).await?;
        let status = response.status().as_u16();
        let headers = response.headers().clone();
        let text = String::from_utf8(response.into_body().to_vec()).unwrap();
        let body = if text.is_empty() {
            Value::Null
        } else {
            serde_json::from_str(&text).unwrap()
        };
        Ok(Resp {
            status,
            headers,
            text,
            body,
        })
    }

    pub(crate) async fn send(&self, method: Method, path: &str, body: Option<Vec<u8>>) -> Resp {
        self.try_send(method, path, body).await.unwrap()
    }

    pub(crate) async fn get(&self, path: &str) -> Resp {
        self.send(Method::GET, path, None).await
    }

    pub(crate) async fn post(&self, path: &str, body: Value) -> Resp {
        self.send(Method::POST, path, Some(body.to_string().into_bytes()))
            .await
    }

    pub(crate) async fn patch(&self, path: &str, body: Value) -> Resp {
        self.send(Method::PATCH, path, Some(body.to_string().into_bytes()))
            .await
    }

    pub(crate) async fn delete(&self, path: &str) -> Resp {
        self.send(Method::DELETE, path, None).await
    }

    /// Creates an attribute and returns its id (asserting 201).
    pub(crate) async fn create_attribute(&self, project_id: i64, key: &str) -> i64 {
        let r = self
            .post(
                "/v2/attributes",
                json!({"project_id": project_id, "key": key}),
            )
            .await;
        assert_eq!(r.status, 201, "{}", r.text);
        r.body["id"].as_i64().unwrap()
    }
}

/// Asserts an RFC 3339 UTC timestamp with microseconds.
pub(crate) fn assert_timestamp(value: &Value) {
    let s = value
        .as_str()
        .unwrap_or_else(|| panic!("not a string: {value}"));
    let re = regex::Regex::new(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{6}Z$").unwrap();
    assert!(re.is_match(s), "bad timestamp {s}");
}

/// Asserts a server-assigned 11-digit id.
pub(crate) fn assert_id(value: &Value) -> i64 {
    let id = value
        .as_i64()
        .unwrap_or_else(|| panic!("not an id: {value}"));
    assert_eq!(id.to_string().len(), 11, "id {id}");
    id
}
