//! ODP keys (docs/ODP-API.md §1, §10.2): 403 `Forbidden` without a key or with an unknown
//! one, the public key refused where the private one is needed, 403 `Missing Authentication
//! Token` for unknown routes, never 401.
#![allow(clippy::unwrap_used)]

mod support;

use fake_optimizely::{FakeOptimizely, RateLimits, Seed};
use serde_json::json;
use support::odp::{Odp, PRIVATE, PUBLIC, VARIABLES_QUERY, assert_accepted, assert_forbidden};
use support::{TOKEN, test_seed};

/// One request per ODP route, each valid for the private key.
async fn every_route(odp: &Odp) -> Vec<(&'static str, u16, String)> {
    let profile = json!({"attributes": {"fs_user_id": "u1"}});
    let graphql = json!({"query": VARIABLES_QUERY, "variables": {"userId": "u1", "audiences": []}});
    let field = json!({"name": "plan", "display_name": "Plan", "type": "string"});
    let identifier =
        json!({"name": "crm_id", "display_name": "CRM ID", "merge_confidence": "high"});
    let event =
        json!({"type": "fullstack", "action": "identified", "identifiers": {"fs_user_id": "u1"}});
    let mut out = Vec::new();
    for (name, r) in [
        ("POST /v3/profiles", odp.upsert(profile).await),
        (
            "GET /v3/profiles",
            odp.get("/v3/profiles?fs_user_id=u1").await,
        ),
        (
            "GET /v3/schema/objects",
            odp.get("/v3/schema/objects").await,
        ),
        (
            "GET /v3/schema/objects/{object}",
            odp.get("/v3/schema/objects/customers").await,
        ),
        (
            "GET /v3/schema/objects/{object}/fields",
            odp.get("/v3/schema/objects/customers/fields").await,
        ),
        (
            "GET /v3/schema/objects/{object}/fields/{field}",
            odp.get("/v3/schema/objects/customers/fields/email").await,
        ),
        (
            "POST /v3/schema/objects/{object}/fields",
            odp.post("/v3/schema/objects/customers/fields", field).await,
        ),
        (
            "POST /v3/schema/identifiers",
            odp.post("/v3/schema/identifiers", identifier).await,
        ),
        ("POST /v3/graphql", odp.post("/v3/graphql", graphql).await),
        (
            "POST /v3/events",
            odp.post("/v3/events", json!([event])).await,
        ),
    ] {
        out.push((name, r.status, r.text));
    }
    out
}

#[tokio::test]
async fn the_private_key_opens_every_route() {
    let odp = Odp::new();
    for (name, status, text) in every_route(&odp).await {
        assert!((200..300).contains(&status), "{name}: {status} {text}");
    }
}

#[tokio::test]
async fn no_key_or_an_unknown_key_is_403_forbidden_everywhere_and_never_401() {
    let odp = Odp::new();
    for key in [None, Some("not-a-key"), Some(""), Some(TOKEN)] {
        for (name, status, text) in every_route(&odp.as_key(key)).await {
            assert_eq!(status, 403, "{key:?} {name}: {text}");
            assert_eq!(text, r#"{"message":"Forbidden"}"#, "{key:?} {name}");
        }
    }
    assert!(odp.fake.odp_profiles().is_empty(), "nothing was written");
    assert!(odp.fake.odp_events().is_empty());
}

#[tokio::test]
async fn the_public_key_sends_and_queries_segments_but_reads_nothing_private() {
    let odp = Odp::new();
    let results = every_route(&odp.public()).await;
    let allowed = ["POST /v3/profiles", "POST /v3/graphql", "POST /v3/events"];
    for (name, status, text) in results {
        if allowed.contains(&name) {
            assert!((200..300).contains(&status), "{name}: {status} {text}");
        } else {
            assert_eq!(status, 403, "{name}: {text}");
            assert_eq!(text, r#"{"message":"Forbidden"}"#, "{name}");
        }
    }
    // The public key's upsert went through: the private key reads it back.
    assert_eq!(odp.get("/v3/profiles?fs_user_id=u1").await.status, 200);
    assert!(odp.fake.odp_profile("fs_user_id", "u1").is_some());
}

#[tokio::test]
async fn unknown_routes_and_methods_are_403_missing_authentication_token_with_or_without_a_key() {
    let odp = Odp::new();
    for who in [odp.clone(), odp.as_key(None), odp.public()] {
        for (method, path) in [
            (http::Method::GET, "/v3/nothing"),
            (http::Method::GET, "/v3"),
            (http::Method::GET, "/v3/segments"),
            (http::Method::DELETE, "/v3/profiles"),
            (http::Method::GET, "/v3/graphql"),
            (http::Method::PUT, "/v3/schema/objects/customers/fields"),
        ] {
            let r = who.try_send(method.clone(), path, None).await.unwrap();
            assert_eq!(r.status, 403, "{method} {path}: {}", r.text);
            assert_eq!(r.body, json!({"message": "Missing Authentication Token"}));
        }
    }
    let log = odp.fake.requests();
    assert_eq!(log[0].path_template, "(unknown)");
    assert_eq!(log[3].path_template, "/v3/profiles");
}

#[tokio::test]
async fn answers_are_json_with_an_api_gateway_request_id() {
    let odp = Odp::new();
    let r = odp
        .upsert(json!({"attributes": {"email": "a@example.com"}}))
        .await;
    assert_accepted(&r);
    assert_eq!(r.header("content-type"), Some("application/json"));
    let id = r.header("x-amzn-requestid").unwrap();
    assert!(uuid::Uuid::parse_str(id).is_ok(), "{id}");
    let r = odp.as_key(None).get("/v3/schema/objects").await;
    assert_forbidden(&r);
    assert!(r.header("x-amzn-requestid").is_some());
}

#[tokio::test]
async fn without_an_odp_account_every_key_is_refused() {
    let mut seed = test_seed();
    seed.odp = None;
    let odp = Odp::with_seed(seed);
    assert_forbidden(&odp.get("/v3/schema/objects").await);
    assert_forbidden(
        &odp.public()
            .upsert(json!({"attributes": {"vuid": "v"}}))
            .await,
    );
    assert!(odp.fake.odp_keys().is_none());
    // An empty fake too.
    let empty = Odp {
        fake: FakeOptimizely::empty(),
        key: Some(PRIVATE.to_owned()),
    };
    assert_forbidden(&empty.get("/v3/schema/objects").await);
}

#[tokio::test]
async fn seeded_keys_replace_the_demo_ones_and_the_private_key_defaults_to_public_dot_secret() {
    let seed = Seed {
        rate_limits: RateLimits::unlimited(),
        odp: Some(fake_optimizely::OdpSeed {
            public_key: Some("W4WzcEs-ABgXorzY7h1LCQ-eu1".to_owned()),
            ..Default::default()
        }),
        ..Seed::default()
    };
    let odp = Odp::with_seed(seed);
    let (public, private) = odp.fake.odp_keys().unwrap();
    assert_eq!(public, "W4WzcEs-ABgXorzY7h1LCQ-eu1");
    assert_eq!(
        private,
        "W4WzcEs-ABgXorzY7h1LCQ-eu1.fake-odp-private-secret"
    );
    assert_forbidden(&odp.get("/v3/schema/objects").await);
    assert_forbidden(
        &odp.as_key(Some(PUBLIC))
            .post("/v3/events", json!({"type": "t"}))
            .await,
    );
    assert_eq!(
        odp.as_key(Some(&private))
            .get("/v3/schema/objects")
            .await
            .status,
        200
    );
    assert_eq!(
        odp.as_key(Some(&public))
            .post("/v3/events", json!({"type": "t"}))
            .await
            .status,
        202
    );
    // The private key's secret is not shown by the admin state.
    let state = odp.fake.state();
    assert_eq!(state["odp"]["public_key"], public);
    assert_eq!(state["odp"]["private_key"], "****cret");
}
