//! An in-process ODP client (`x-api-key`) for the `odp_*` tests, and the assertions they share.
#![allow(dead_code, clippy::unwrap_used)]

use super::{Resp, TOKEN, test_seed};
use bytes::Bytes;
use fake_optimizely::{
    ConnectionDropped, DEMO_ODP_PRIVATE_KEY, DEMO_ODP_PUBLIC_KEY, FakeOptimizely, Seed,
};
use http::{Method, Request};
use serde_json::{Value, json};

pub(crate) const PUBLIC: &str = DEMO_ODP_PUBLIC_KEY;
pub(crate) const PRIVATE: &str = DEMO_ODP_PRIVATE_KEY;

/// The Python and Go SDKs' segment query (docs/ODP-API.md §6).
pub(crate) const VARIABLES_QUERY: &str = "query($userId: String, $audiences: [String]) {customer(fs_user_id: $userId) {audiences(subset: $audiences) {edges {node {name state}}}}}";

/// The JavaScript SDK's inlined query for `user` and `segments`, with `identifier`
/// (`fs_user_id` or `vuid`).
pub(crate) fn inlined_query(identifier: &str, user: &str, segments: &[&str]) -> String {
    let list = segments
        .iter()
        .map(|s| format!("\"{s}\""))
        .collect::<Vec<_>>()
        .join(",");
    format!(
        "query {{customer({identifier} : \"{user}\") {{audiences(subset: [{list}]) {{edges {{node {{name state}}}}}}}}}}"
    )
}

/// An in-process ODP client of a fake.
#[derive(Clone, Debug)]
pub(crate) struct Odp {
    pub(crate) fake: FakeOptimizely,
    pub(crate) key: Option<String>,
}

impl Odp {
    /// The demo seed (ODP account with `in_beta` and `beta_users`), no rate limits, private
    /// key.
    pub(crate) fn new() -> Self {
        Self::with_seed(test_seed())
    }

    pub(crate) fn with_seed(seed: Seed) -> Self {
        Self {
            fake: FakeOptimizely::new(seed).unwrap(),
            key: Some(PRIVATE.to_owned()),
        }
    }

    pub(crate) fn as_key(&self, key: Option<&str>) -> Self {
        Self {
            fake: self.fake.clone(),
            key: key.map(str::to_owned),
        }
    }

    pub(crate) fn public(&self) -> Self {
        self.as_key(Some(PUBLIC))
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
            .header("host", "fake.test:4010")
            // A v2 token must not count as an ODP key.
            .header("authorization", format!("Bearer {TOKEN}"));
        if let Some(key) = &self.key {
            builder = builder.header("x-api-key", key);
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
            serde_json::from_str(&text).unwrap_or_else(|e| panic!("{e}: {text}"))
        };
        Ok(Resp {
            status,
            headers,
            text,
            body,
        })
    }

    pub(crate) async fn get(&self, path: &str) -> Resp {
        self.try_send(Method::GET, path, None).await.unwrap()
    }

    pub(crate) async fn post(&self, path: &str, body: Value) -> Resp {
        self.post_raw(path, body.to_string().into_bytes()).await
    }

    pub(crate) async fn post_raw(&self, path: &str, body: Vec<u8>) -> Resp {
        self.try_send(Method::POST, path, Some(body)).await.unwrap()
    }

    /// `POST /v3/profiles`.
    pub(crate) async fn upsert(&self, body: Value) -> Resp {
        self.post("/v3/profiles", body).await
    }

    /// `POST /v3/graphql` with the variables form for `user` and `segments`.
    pub(crate) async fn segments_of(&self, user: &str, segments: &[&str]) -> Resp {
        self.post(
            "/v3/graphql",
            json!({"query": VARIABLES_QUERY, "variables": {"userId": user, "audiences": segments}}),
        )
        .await
    }
}

/// Upserts one profile and asserts 202.
pub(crate) async fn upsert_ok(odp: &Odp, attributes: Value) {
    let r = odp.upsert(json!({ "attributes": attributes })).await;
    assert_accepted(&r);
}

/// Asserts an ODP timestamp: UTC ISO 8601 with milliseconds.
pub(crate) fn assert_odp_timestamp(value: &Value) {
    let s = value
        .as_str()
        .unwrap_or_else(|| panic!("not a string: {value}"));
    let re = regex::Regex::new(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$").unwrap();
    assert!(re.is_match(s), "bad timestamp {s}");
}

/// Asserts 202 `{"title":"Accepted","status":202,"timestamp":…}`.
pub(crate) fn assert_accepted(r: &Resp) {
    assert_eq!(r.status, 202, "{}", r.text);
    assert_eq!(r.body["title"], "Accepted", "{}", r.text);
    assert_eq!(r.body["status"], 202);
    assert_odp_timestamp(&r.body["timestamp"]);
    assert_eq!(r.body.as_object().unwrap().len(), 3, "{}", r.text);
}

/// Asserts 403 `{"message":"Forbidden"}`.
pub(crate) fn assert_forbidden(r: &Resp) {
    assert_eq!(r.status, 403, "{}", r.text);
    assert_eq!(r.body, json!({"message": "Forbidden"}));
}

/// Asserts a 400 envelope and returns its `detail.invalids`.
pub(crate) fn invalids(r: &Resp) -> Vec<Value> {
    assert_eq!(r.status, 400, "{}", r.text);
    assert_eq!(r.body["title"], "Bad Request", "{}", r.text);
    assert_eq!(r.body["status"], 400);
    assert_odp_timestamp(&r.body["timestamp"]);
    r.body["detail"]["invalids"]
        .as_array()
        .unwrap_or_else(|| panic!("no detail.invalids: {}", r.text))
        .clone()
}

/// The `event` indexes of a 400's `invalids`, in order.
pub(crate) fn invalid_events(r: &Resp) -> Vec<u64> {
    invalids(r)
        .iter()
        .map(|i| i["event"].as_u64().unwrap())
        .collect()
}

/// Asserts `edges` of a successful segment query: `(name, state)` pairs in order.
pub(crate) fn edges(r: &Resp) -> Vec<(String, String)> {
    assert_eq!(r.status, 200, "{}", r.text);
    assert!(r.body.get("errors").is_none(), "{}", r.text);
    r.body["data"]["customer"]["audiences"]["edges"]
        .as_array()
        .unwrap_or_else(|| panic!("no edges: {}", r.text))
        .iter()
        .map(|e| {
            (
                e["node"]["name"].as_str().unwrap().to_owned(),
                e["node"]["state"].as_str().unwrap().to_owned(),
            )
        })
        .collect()
}

pub(crate) fn pairs(items: &[(&str, &str)]) -> Vec<(String, String)> {
    items
        .iter()
        .map(|(a, b)| ((*a).to_owned(), (*b).to_owned()))
        .collect()
}
