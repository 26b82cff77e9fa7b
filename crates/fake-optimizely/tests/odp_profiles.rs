//! `POST /v3/profiles` and `GET /v3/profiles` (docs/ODP-API.md §2, §3, §10.4, §10.5): body
//! shapes, the 500-item cap, identifiers inside `attributes`, whole-request 400s with item
//! indexes and nothing applied, null clearing, lenient and strict handling of unknown fields
//! and misfit values, refused identifier values, reads, and the apply delay.
#![allow(clippy::unwrap_used)]

mod support;

use fake_optimizely::{OdpSeed, RefusedIdentifier, Seed};
use serde_json::{Map, Value, json};
use std::time::Duration;
use support::odp::{
    Odp, assert_accepted, assert_odp_timestamp, invalid_events, invalids, upsert_ok,
};
use support::test_seed;

fn attrs(value: Value) -> Map<String, Value> {
    match value {
        Value::Object(map) => map,
        other => panic!("not an object: {other}"),
    }
}

fn strict() -> Odp {
    let odp = Odp::new();
    odp.fake.set_odp_strict(true);
    odp
}

#[tokio::test]
async fn one_object_or_an_array_with_identifiers_inside_attributes() {
    let odp = Odp::new();
    let r = odp
        .upsert(json!({"attributes": {"fs_user_id": "u1", "in_beta": true, "first_name": "Ada"}}))
        .await;
    assert_accepted(&r);
    let r = odp
        .upsert(json!([
            {"attributes": {"fs_user_id": "u2", "in_beta": false}},
            {"attributes": {"email": "c@example.com", "vuid": "vuid_c", "city": "Oslo"}},
        ]))
        .await;
    assert_accepted(&r);
    assert_eq!(
        odp.fake.odp_profile("fs_user_id", "u1").unwrap(),
        attrs(json!({"fs_user_id": "u1", "in_beta": true, "first_name": "Ada"}))
    );
    assert_eq!(
        odp.fake.odp_profile("vuid", "vuid_c").unwrap(),
        attrs(json!({"email": "c@example.com", "vuid": "vuid_c", "city": "Oslo"}))
    );
    assert_eq!(odp.fake.odp_profiles().len(), 3);
    assert_eq!(odp.fake.odp_profiles_with("in_beta", true).len(), 1);
    assert_eq!(
        odp.fake.odp_profiles_with("in_beta", false)[0]["fs_user_id"],
        "u2"
    );
    // Every accepted item is recorded as sent, with its request and index.
    let writes = odp.fake.odp_profile_writes();
    assert_eq!(writes.len(), 3);
    assert_eq!((writes[2].request, writes[2].index), (2, 1));
    assert_eq!(writes[2].attributes["city"], "Oslo");
}

#[tokio::test]
async fn an_upsert_updates_the_profile_its_identifier_finds_and_null_clears_a_field() {
    let odp = Odp::new();
    upsert_ok(
        &odp,
        json!({"fs_user_id": "u1", "in_beta": true, "city": "Oslo"}),
    )
    .await;
    upsert_ok(
        &odp,
        json!({"fs_user_id": "u1", "in_beta": null, "zip": "0150"}),
    )
    .await;
    assert_eq!(
        odp.fake.odp_profile("fs_user_id", "u1").unwrap(),
        attrs(json!({"fs_user_id": "u1", "city": "Oslo", "zip": "0150"}))
    );
    // A second identifier joins the same profile; both find it afterwards.
    upsert_ok(&odp, json!({"fs_user_id": "u1", "email": "u1@example.com"})).await;
    assert_eq!(
        odp.fake.odp_profile("email", "u1@example.com").unwrap()["city"],
        "Oslo"
    );
    assert_eq!(odp.fake.odp_profiles().len(), 1);
}

#[tokio::test]
async fn values_are_coerced_to_the_field_type_or_dropped_silently() {
    let odp = Odp::new();
    let r = odp
        .upsert(json!({"attributes": {
            "fs_user_id": "u1",
            "in_beta": "yes",
            "first_name": 42,
            "no_such_field": "x",
            "city": "Oslo",
        }}))
        .await;
    assert_accepted(&r);
    assert_eq!(
        odp.fake.odp_profile("fs_user_id", "u1").unwrap(),
        attrs(json!({"fs_user_id": "u1", "city": "Oslo"})),
        "unknown field and misfit values dropped, the rest applied"
    );
    for (sent, stored) in [
        (json!("true"), json!(true)),
        (json!("0"), json!(false)),
        (json!(1), json!(true)),
        (json!(false), json!(false)),
    ] {
        upsert_ok(&odp, json!({"fs_user_id": "u1", "in_beta": sent})).await;
        assert_eq!(
            odp.fake.odp_profile("fs_user_id", "u1").unwrap()["in_beta"],
            stored
        );
    }
    // A number identifier is its text.
    upsert_ok(&odp, json!({"fs_user_id": 99, "city": "Rome"})).await;
    assert_eq!(
        odp.get("/v3/profiles?fs_user_id=99").await.body["attributes"]["fs_user_id"],
        "99"
    );
}

#[tokio::test]
async fn strict_mode_reports_unknown_fields_and_misfit_values_as_invalids() {
    let odp = strict();
    let r = odp
        .upsert(json!([
            {"attributes": {"fs_user_id": "ok", "in_beta": true}},
            {"attributes": {"fs_user_id": "u1", "no_such_field": "x"}},
            {"attributes": {"fs_user_id": "u2", "in_beta": "yes"}},
            {"identifiers": {"fs_user_id": "u3"}, "attributes": {"fs_user_id": "u3"}},
        ]))
        .await;
    let items = invalids(&r);
    assert_eq!(
        items,
        vec![
            json!({"event": 1, "message": "unknown field 'no_such_field'"}),
            json!({"event": 2, "message": "invalid value for field 'in_beta' (boolean): \"yes\""}),
            json!({"event": 3, "message": "unknown property identifiers"}),
        ]
    );
    assert!(odp.fake.odp_profiles().is_empty(), "nothing applied");
    assert!(odp.fake.odp_profile_writes().is_empty());
    // Lenient (the default): the same body is accepted, `identifiers` ignored.
    odp.fake.set_odp_strict(false);
    assert_accepted(
        &odp.upsert(
            json!({"identifiers": {"fs_user_id": "u3"}, "attributes": {"fs_user_id": "u3"}}),
        )
        .await,
    );
}

#[tokio::test]
async fn the_whole_request_is_refused_with_the_index_of_every_bad_item_and_nothing_applied() {
    let odp = Odp::new();
    let r = odp
        .upsert(json!([
            {"attributes": {"fs_user_id": "fine"}},
            {"attributes": {"first_name": "No Identifier"}},
            {"profile": {"fs_user_id": "x"}},
            "not an object",
            {"attributes": {"fs_user_id": "u4", "city": {"nested": true}}},
            {"attributes": {"fs_user_id": null, "email": ""}},
            {"attributes": "x"},
        ]))
        .await;
    assert_eq!(invalid_events(&r), [1, 2, 3, 4, 5, 6]);
    let messages: Vec<String> = invalids(&r)
        .iter()
        .map(|i| i["message"].as_str().unwrap().to_owned())
        .collect();
    assert_eq!(
        messages[0],
        "missing identifier: one of 'email', 'vuid', 'fs_user_id' is required"
    );
    assert_eq!(messages[1], "missing 'attributes' field");
    assert_eq!(
        messages[3],
        "field 'city' must be a string, number, boolean or null"
    );
    assert!(odp.fake.odp_profiles().is_empty(), "not even item 0");
    assert!(odp.fake.odp_profile_writes().is_empty());
}

#[tokio::test]
async fn body_level_refusals() {
    let odp = Odp::new();
    let r = odp.post_raw("/v3/profiles", b"{not json".to_vec()).await;
    assert_eq!(invalid_events(&r), [0]);
    assert!(
        invalids(&r)[0]["message"]
            .as_str()
            .unwrap()
            .starts_with("Unable to parse request body")
    );
    let r = odp.upsert(json!("a string")).await;
    assert_eq!(invalid_events(&r), [0]);
    // An empty batch does nothing and is accepted.
    assert_accepted(&odp.upsert(json!([])).await);
}

#[tokio::test]
async fn at_most_500_items_per_request() {
    let odp = Odp::new();
    let batch = |n: usize| {
        Value::Array(
            (0..n)
                .map(|i| json!({"attributes": {"fs_user_id": format!("u{i}"), "in_beta": true}}))
                .collect(),
        )
    };
    let r = odp.upsert(batch(501)).await;
    assert_eq!(
        invalids(&r),
        vec![
            json!({"event": 500, "message": "too many objects: at most 500 per request, got 501"})
        ]
    );
    assert!(odp.fake.odp_profiles().is_empty());
    assert_accepted(&odp.upsert(batch(500)).await);
    assert_eq!(odp.fake.odp_profiles_with("in_beta", true).len(), 500);
}

#[tokio::test]
async fn an_identifier_the_schema_lacks_identifies_nothing() {
    let mut seed = test_seed();
    seed.odp = Some(OdpSeed {
        identifiers: Some(vec!["email".to_owned(), "vuid".to_owned()]),
        ..OdpSeed::default()
    });
    let odp = Odp::with_seed(seed);
    let r = odp
        .upsert(json!({"attributes": {"fs_user_id": "u1"}}))
        .await;
    assert_eq!(
        invalids(&r),
        vec![
            json!({"event": 0, "message": "missing identifier: one of 'email', 'vuid' is required"})
        ]
    );
    // With a known identifier beside it, the unknown one is dropped like any unknown field.
    upsert_ok(&odp, json!({"vuid": "v1", "fs_user_id": "u1"})).await;
    assert_eq!(
        odp.fake.odp_profile("vuid", "v1").unwrap(),
        attrs(json!({"vuid": "v1"}))
    );
    let r = odp.get("/v3/profiles?fs_user_id=u1").await;
    assert_eq!(r.status, 400, "{}", r.text);
}

#[tokio::test]
async fn refused_identifier_values_make_a_400_naming_exactly_their_items_so_the_rest_can_be_resent()
{
    let odp = Odp::new();
    odp.fake
        .refuse_odp_identifier(RefusedIdentifier::new("fs_user_id", "u3"))
        .unwrap();
    odp.fake
        .refuse_odp_identifier(RefusedIdentifier {
            field: None,
            value: "bad@example.com".to_owned(),
        })
        .unwrap();
    let items: Vec<Value> = (0..6)
        .map(|i| json!({"attributes": {"fs_user_id": format!("u{i}"), "in_beta": true}}))
        .chain([json!({"attributes": {"vuid": "v", "email": "bad@example.com"}})])
        .collect();
    let r = odp.upsert(Value::Array(items.clone())).await;
    assert_eq!(invalid_events(&r), [3, 6]);
    assert!(
        invalids(&r)[0]["message"]
            .as_str()
            .unwrap()
            .contains("refused (injected by fake-optimizely)")
    );
    assert!(odp.fake.odp_profiles().is_empty(), "nothing applied");
    // The client drops the refused items and sends the rest.
    let rest: Vec<Value> = items
        .iter()
        .enumerate()
        .filter(|(i, _)| ![3, 6].contains(i))
        .map(|(_, item)| item.clone())
        .collect();
    assert_accepted(&odp.upsert(Value::Array(rest)).await);
    assert_eq!(odp.fake.odp_profiles_with("in_beta", true).len(), 5);
    assert!(odp.fake.odp_profile("fs_user_id", "u3").is_none());
    // Cleared: u3 goes through.
    odp.fake.clear_refused_odp_identifiers();
    upsert_ok(&odp, json!({"fs_user_id": "u3"})).await;
}

#[tokio::test]
async fn reading_a_profile_by_one_identifier() {
    let odp = Odp::new();
    upsert_ok(
        &odp,
        json!({"fs_user_id": "u1", "email": "u1@example.com", "in_beta": true}),
    )
    .await;
    let r = odp.get("/v3/profiles?email=u1%40example.com").await;
    assert_eq!(r.status, 200, "{}", r.text);
    assert_eq!(
        r.body,
        json!({"attributes": {"fs_user_id": "u1", "email": "u1@example.com", "in_beta": true}})
    );
    let r = odp.get("/v3/profiles?fs_user_id=nobody").await;
    assert_eq!(r.status, 404);
    assert_eq!(r.body["title"], "Not Found");
    assert_eq!(r.body["status"], 404);
    assert_odp_timestamp(&r.body["timestamp"]);
    assert_eq!(
        r.body["detail"]["message"],
        "Unable to find profile for fs_user_id = nobody"
    );
    for query in ["", "?foo=1", "?email=a&vuid=b", "?first_name=Ada"] {
        let r = odp.get(&format!("/v3/profiles{query}")).await;
        assert_eq!(r.status, 400, "{query}: {}", r.text);
        assert_eq!(r.body["title"], "Bad Request");
    }
}

#[tokio::test(start_paused = true)]
async fn writes_can_be_applied_after_a_delay_on_the_tokio_clock() {
    let mut seed = test_seed();
    seed.odp.as_mut().unwrap().apply_delay_ms = Some(5_000);
    let odp = Odp::with_seed(seed);
    upsert_ok(&odp, json!({"fs_user_id": "u1", "in_beta": true})).await;
    assert_eq!(odp.get("/v3/profiles?fs_user_id=u1").await.status, 404);
    assert!(odp.fake.odp_profile("fs_user_id", "u1").is_none());
    assert_eq!(
        odp.fake.odp_profile_writes().len(),
        1,
        "the write is recorded at once"
    );
    tokio::time::advance(Duration::from_millis(4_999)).await;
    assert_eq!(odp.get("/v3/profiles?fs_user_id=u1").await.status, 404);
    tokio::time::advance(Duration::from_millis(1)).await;
    assert_eq!(odp.get("/v3/profiles?fs_user_id=u1").await.status, 200);
    assert_eq!(odp.fake.odp_profiles_with("in_beta", true).len(), 1);
}

#[tokio::test]
async fn seeded_profiles_and_the_admin_api() {
    let mut seed = test_seed();
    let odp_seed = seed.odp.as_mut().unwrap();
    odp_seed.profiles = vec![attrs(json!({"fs_user_id": "seeded", "in_beta": true}))];
    odp_seed.refused_identifiers = vec![RefusedIdentifier::new("vuid", "v-bad")];
    let odp = Odp::with_seed(seed);
    let r = odp.get("/__admin/odp/profiles").await;
    assert_eq!(r.body, json!([{"fs_user_id": "seeded", "in_beta": true}]));
    let r = odp.get("/__admin/odp/profiles?fs_user_id=seeded").await;
    assert_eq!(r.body, json!({"fs_user_id": "seeded", "in_beta": true}));
    assert_eq!(
        odp.get("/__admin/odp/profiles?fs_user_id=x").await.status,
        404
    );
    let r = odp
        .post(
            "/__admin/odp/refused_identifiers",
            json!([{"field": "fs_user_id", "value": "u9"}]),
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.text);
    assert_eq!(r.body.as_array().unwrap().len(), 2);
    let r = odp
        .upsert(json!([{"attributes": {"fs_user_id": "u9"}}, {"attributes": {"vuid": "v-bad"}}]))
        .await;
    assert_eq!(invalid_events(&r), [0, 1]);
    let r = odp
        .try_send(
            http::Method::DELETE,
            "/__admin/odp/refused_identifiers",
            None,
        )
        .await
        .unwrap();
    assert_eq!(r.status, 204);
    upsert_ok(&odp, json!({"fs_user_id": "u9"})).await;
    let r = odp.get("/__admin/odp/profile_writes").await;
    assert_eq!(
        r.body,
        json!([{"request": 1, "index": 0, "attributes": {"fs_user_id": "u9"}}])
    );
    // Strict mode through a seed merged by the admin API; keys stay.
    let r = odp
        .post("/__admin/seed", json!({"odp": {"strict": true}}))
        .await;
    assert_eq!(r.status, 200, "{}", r.text);
    assert_eq!(r.body["odp"], true);
    assert_eq!(
        invalid_events(
            &odp.upsert(json!({"attributes": {"fs_user_id": "u9", "x": 1}}))
                .await
        ),
        [0]
    );
    // A seeded profile that does not fit the schema is refused.
    let bad = Seed {
        odp: Some(OdpSeed {
            profiles: vec![attrs(json!({"fs_user_id": "u", "in_beta": "maybe"}))],
            ..OdpSeed::default()
        }),
        ..Seed::default()
    };
    assert!(odp.fake.seed(bad).is_err());
}
