//! `POST /v3/graphql` as the FX SDKs use it (docs/ODP-API.md §6, §10.7), over segments seeded
//! as rules on profile fields (§10.8); and `POST /v3/events` (§10.9).
#![allow(clippy::unwrap_used)]

mod support;

use fake_optimizely::{DEMO_ODP_SEGMENT, OdpSegmentRule, OdpSegmentSeed};
use serde_json::json;
use support::odp::{Odp, VARIABLES_QUERY, edges, inlined_query, invalid_events, pairs, upsert_ok};

/// The demo account with `member` (in_beta true), `outsider` (in_beta false) and a vuid user.
async fn with_users() -> Odp {
    let odp = Odp::new();
    upsert_ok(
        &odp,
        json!({"fs_user_id": "member", "in_beta": true, "city": "Oslo"}),
    )
    .await;
    upsert_ok(&odp, json!({"fs_user_id": "outsider", "in_beta": false})).await;
    upsert_ok(&odp, json!({"vuid": "vuid_abc", "in_beta": true})).await;
    odp
}

#[tokio::test]
async fn the_variables_form_answers_qualified_and_not_qualified() {
    let odp = with_users().await;
    let r = odp.segments_of("member", &[DEMO_ODP_SEGMENT]).await;
    assert_eq!(
        r.body,
        json!({"data": {"customer": {"audiences": {"edges": [
            {"node": {"name": "beta_users", "state": "qualified"}}
        ]}}}})
    );
    assert_eq!(r.header("content-type"), Some("application/json"));
    let r = odp.segments_of("outsider", &[DEMO_ODP_SEGMENT]).await;
    assert_eq!(edges(&r), pairs(&[("beta_users", "not_qualified")]));
    // The public key (the datafile's) is what the SDKs send.
    let r = odp
        .public()
        .segments_of("member", &[DEMO_ODP_SEGMENT])
        .await;
    assert_eq!(edges(&r), pairs(&[("beta_users", "qualified")]));
}

#[tokio::test]
async fn the_inlined_form_with_fs_user_id_or_vuid() {
    let odp = with_users().await;
    for (identifier, user, state) in [
        ("fs_user_id", "member", "qualified"),
        ("fs_user_id", "outsider", "not_qualified"),
        ("vuid", "vuid_abc", "qualified"),
    ] {
        let query = inlined_query(identifier, user, &[DEMO_ODP_SEGMENT]);
        let r = odp
            .public()
            .post("/v3/graphql", json!({ "query": query }))
            .await;
        assert_eq!(edges(&r), pairs(&[("beta_users", state)]), "{user}");
    }
}

#[tokio::test]
async fn unknown_segments_are_left_out_and_an_empty_subset_gives_no_edges() {
    let odp = with_users().await;
    let r = odp
        .segments_of(
            "member",
            &["no_such_segment", DEMO_ODP_SEGMENT, DEMO_ODP_SEGMENT],
        )
        .await;
    assert_eq!(edges(&r), pairs(&[("beta_users", "qualified")]));
    assert_eq!(
        edges(&odp.segments_of("member", &["no_such_segment"]).await),
        []
    );
    assert_eq!(edges(&odp.segments_of("member", &[]).await), []);
}

#[tokio::test]
async fn an_unknown_customer_is_the_invalid_identifier_error_with_a_null_customer() {
    let odp = with_users().await;
    let r = odp.segments_of("nobody", &[DEMO_ODP_SEGMENT]).await;
    assert_eq!(r.status, 200);
    assert_eq!(
        r.body,
        json!({
            "errors": [{
                "message": "Exception while fetching data (/customer) : java.lang.RuntimeException: could not resolve _fs_user_id = nobody",
                "locations": [{"line": 1, "column": 47}],
                "path": ["customer"],
                "extensions": {"code": "INVALID_IDENTIFIER_EXCEPTION", "classification": "DataFetchingException"},
            }],
            "data": {"customer": null},
        })
    );
    let query = inlined_query("vuid", "vuid_nobody", &[DEMO_ODP_SEGMENT]);
    let r = odp.post("/v3/graphql", json!({ "query": query })).await;
    assert_eq!(r.status, 200);
    let error = &r.body["errors"][0];
    assert_eq!(
        error["message"],
        "Exception while fetching data (/customer) : java.lang.RuntimeException: could not resolve _vuid = vuid_nobody"
    );
    assert_eq!(error["locations"], json!([{"line": 1, "column": 8}]));
    assert_eq!(error["extensions"]["code"], "INVALID_IDENTIFIER_EXCEPTION");
    assert_eq!(r.body["data"], json!({"customer": null}));
    // Known by another identifier is not known by this one.
    let r = odp.segments_of("vuid_abc", &[DEMO_ODP_SEGMENT]).await;
    assert_eq!(
        r.body["errors"][0]["extensions"]["code"],
        "INVALID_IDENTIFIER_EXCEPTION"
    );
}

#[tokio::test]
async fn a_query_that_does_not_parse_is_an_invalid_syntax_error() {
    let odp = with_users().await;
    let broken = "query {customer(fs_user_id: \"member\") {audiences(subset: [\"beta_users\"]) {edges {node {name state}}}}";
    let r = odp.post("/v3/graphql", json!({ "query": broken })).await;
    assert_eq!(r.status, 200);
    assert_eq!(
        r.body,
        json!({"errors": [{
            "message": format!("Invalid Syntax : offending token '<EOF>' at line 1 column {}", broken.len() + 1),
            "locations": [{"line": 1, "column": broken.len() + 1}],
            "extensions": {"classification": "InvalidSyntax"},
        }]})
    );
    let r = odp
        .post(
            "/v3/graphql",
            json!({"query": "query {customer(fs_user_id: member) {x}}}"}),
        )
        .await;
    assert_eq!(
        r.body["errors"][0]["message"], "Invalid Syntax : offending token '}' at line 1 column 41",
        "an extra closing brace"
    );
    let r = odp
        .post(
            "/v3/graphql",
            json!({"query": "query {customer(fs_user_id: ) {x}}"}),
        )
        .await;
    assert_eq!(
        r.body["errors"][0]["message"],
        "Invalid Syntax : offending token ')' at line 1 column 29"
    );
    assert!(r.body.get("data").is_none());
}

#[tokio::test]
async fn a_query_asking_for_what_the_schema_lacks_is_a_validation_error() {
    let odp = with_users().await;
    for (query, kind) in [
        (
            "{customer(fs_user_id: \"member\") {audiences {edges {node {name colour}}}}}",
            "FieldUndefined@[customer/audiences/edges/node/colour]",
        ),
        (
            "{customer(crm_id: \"member\") {audiences {edges {node {name}}}}}",
            "UnknownArgument@[customer]",
        ),
        (
            "{customer(fs_user_id: $user) {audiences {edges {node {name}}}}}",
            "UndefinedVariable@[customer]",
        ),
        (
            "{customer(fs_user_id: \"member\")}",
            "SubselectionRequired@[customer]",
        ),
        (
            "{customer(fs_user_id: \"member\") {audiences {edges {node {name {x}}}}}}",
            "SubselectionNotAllowed@[customer/audiences/edges/node/name]",
        ),
        (
            "{profile(fs_user_id: \"member\") {name}}",
            "FieldUndefined@[profile]",
        ),
    ] {
        let r = odp.post("/v3/graphql", json!({ "query": query })).await;
        assert_eq!(r.status, 200);
        let message = r.body["errors"][0]["message"].as_str().unwrap_or_default();
        assert!(
            message.starts_with(&format!("Validation error ({kind}) : ")),
            "{query}: {}",
            r.text
        );
        assert_eq!(
            r.body["errors"][0]["extensions"]["classification"],
            "ValidationError"
        );
        assert!(r.body.get("data").is_none(), "{query}");
    }
}

#[tokio::test]
async fn membership_follows_the_profile_and_segments_are_simple_rules() {
    let odp = with_users().await;
    assert_eq!(
        edges(&odp.segments_of("outsider", &[DEMO_ODP_SEGMENT]).await),
        pairs(&[("beta_users", "not_qualified")])
    );
    upsert_ok(&odp, json!({"fs_user_id": "outsider", "in_beta": "true"})).await;
    assert_eq!(
        edges(&odp.segments_of("outsider", &[DEMO_ODP_SEGMENT]).await),
        pairs(&[("beta_users", "qualified")])
    );
    assert_eq!(
        odp.fake
            .odp_qualified("fs_user_id", "outsider", DEMO_ODP_SEGMENT),
        Some(true)
    );
    upsert_ok(&odp, json!({"fs_user_id": "outsider", "in_beta": null})).await;
    assert_eq!(
        odp.fake
            .odp_qualified("fs_user_id", "outsider", DEMO_ODP_SEGMENT),
        Some(false)
    );

    odp.fake
        .add_odp_segment(OdpSegmentSeed::new(
            "in_oslo",
            OdpSegmentRule::equals("city", "Oslo"),
        ))
        .unwrap();
    odp.fake
        .add_odp_segment(OdpSegmentSeed::new(
            "beta_or_oslo",
            OdpSegmentRule::Or(vec![
                OdpSegmentRule::equals("in_beta", true),
                OdpSegmentRule::equals("city", "Oslo"),
            ]),
        ))
        .unwrap();
    // Through the admin API: AND of a number literal and "is set".
    let r = odp
        .post(
            "/__admin/odp/segments",
            json!({"name": "scored_beta", "rule": {"and": [
                {"equals": {"field": "in_beta", "value": true}},
                {"is_set": {"field": "zip"}},
            ]}}),
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.text);
    let all = ["beta_users", "in_oslo", "beta_or_oslo", "scored_beta"];
    assert_eq!(
        edges(&odp.segments_of("member", &all).await),
        pairs(&[
            ("beta_users", "qualified"),
            ("in_oslo", "qualified"),
            ("beta_or_oslo", "qualified"),
            ("scored_beta", "not_qualified"),
        ])
    );
    upsert_ok(
        &odp,
        json!({"fs_user_id": "member", "zip": "0150", "city": null}),
    )
    .await;
    assert_eq!(
        edges(&odp.segments_of("member", &all).await),
        pairs(&[
            ("beta_users", "qualified"),
            ("in_oslo", "not_qualified"),
            ("beta_or_oslo", "qualified"),
            ("scored_beta", "qualified"),
        ])
    );
    // A rule on a field the schema lacks is refused.
    let r = odp
        .post(
            "/__admin/odp/segments",
            json!({"name": "x", "rule": {"equals": {"field": "nope", "value": 1}}}),
        )
        .await;
    assert_eq!(r.status, 400, "{}", r.text);
    assert_eq!(
        odp.get("/__admin/odp/segments")
            .await
            .body
            .as_array()
            .unwrap()
            .len(),
        4
    );
}

#[tokio::test]
async fn number_literals_compare_by_value() {
    let odp = Odp::new();
    let r = odp
        .post(
            "/v3/schema/objects/customers/fields",
            json!({"name": "score", "display_name": "Score", "type": "number"}),
        )
        .await;
    assert_eq!(r.status, 200);
    odp.fake
        .add_odp_segment(OdpSegmentSeed::new(
            "top",
            OdpSegmentRule::equals("score", 10),
        ))
        .unwrap();
    upsert_ok(&odp, json!({"fs_user_id": "a", "score": "10.0"})).await;
    upsert_ok(&odp, json!({"fs_user_id": "b", "score": 9})).await;
    assert_eq!(
        edges(&odp.segments_of("a", &["top"]).await),
        pairs(&[("top", "qualified")])
    );
    assert_eq!(
        edges(&odp.segments_of("b", &["top"]).await),
        pairs(&[("top", "not_qualified")])
    );
}

#[tokio::test]
async fn aliases_typenames_defaults_and_no_subset() {
    let odp = with_users().await;
    odp.fake
        .add_odp_segment(OdpSegmentSeed::new(
            "everyone_in_oslo",
            OdpSegmentRule::equals("city", "Oslo"),
        ))
        .unwrap();
    let query = "# a comment\nquery Segments($id: String = \"member\") {\n  me: customer(fs_user_id: $id) {\n    __typename\n    audiences { edges { node { name state description } } }\n  }\n}";
    let r = odp
        .post("/v3/graphql", json!({ "query": query, "variables": null }))
        .await;
    assert_eq!(
        r.body,
        json!({"data": {"me": {"__typename": "Customer", "audiences": {"edges": [
            {"node": {"name": "beta_users", "state": "qualified", "description": ""}},
            {"node": {"name": "everyone_in_oslo", "state": "qualified", "description": ""}},
        ]}}}}),
        "{}",
        r.text
    );
    let r = odp
        .post(
            "/v3/graphql",
            json!({"query": query, "variables": {"id": "nobody"}}),
        )
        .await;
    assert_eq!(r.body["data"], json!({"me": null}));
    assert_eq!(r.body["errors"][0]["path"], json!(["me"]));
    assert_eq!(
        r.body["errors"][0]["locations"],
        json!([{"line": 3, "column": 3}])
    );
}

#[tokio::test]
async fn bodies_that_are_not_a_graphql_request_are_400() {
    let odp = Odp::new();
    for body in [
        b"{".to_vec(),
        b"{}".to_vec(),
        br#"{"query": 1}"#.to_vec(),
        br#"{"query": "{a}", "variables": []}"#.to_vec(),
    ] {
        let r = odp.post_raw("/v3/graphql", body).await;
        assert_eq!(r.status, 400, "{}", r.text);
        assert_eq!(r.body["title"], "Bad Request");
    }
    // Not a write, for the counters.
    assert_eq!(odp.fake.stats().writes, 0);
    let r = odp
        .post(
            "/v3/graphql",
            json!({"query": VARIABLES_QUERY, "variables": {"userId": "x", "audiences": []}}),
        )
        .await;
    assert_eq!(r.status, 200);
    assert_eq!(odp.fake.stats().writes, 0);
}

#[tokio::test]
async fn events_are_accepted_with_202_and_kept_for_tests() {
    let odp = Odp::new();
    let identified = json!({
        "type": "fullstack", "action": "identified",
        "identifiers": {"vuid": "vuid_1", "fs_user_id": "u1"},
        "data": {"idempotence_id": "x", "data_source_type": "sdk"},
    });
    let r = odp
        .public()
        .post("/v3/events", json!([identified.clone()]))
        .await;
    assert_eq!(r.status, 202, "{}", r.text);
    assert_eq!(r.body["title"], "Accepted");
    assert_eq!(odp.fake.odp_events(), std::slice::from_ref(&identified));
    let r = odp
        .post(
            "/v3/events",
            json!([identified, {"action": "x"}, {"type": 3}]),
        )
        .await;
    assert_eq!(invalid_events(&r), [1, 2]);
    assert_eq!(
        r.body["detail"]["invalids"][0]["message"],
        "missing 'type' field"
    );
    assert_eq!(
        odp.fake.odp_events().len(),
        1,
        "nothing of a refused batch is kept"
    );
    assert_eq!(
        odp.get("/__admin/odp/events")
            .await
            .body
            .as_array()
            .unwrap()
            .len(),
        1
    );
}
