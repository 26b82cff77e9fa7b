//! `GET /v2/environments?project_id=` and `GET /v2/environments/{id}/datafile`: environments per
//! project, and datafiles whose `integrations` name the ODP account (docs/ODP-API.md §7) when
//! the project is integrated, and nothing otherwise; over TCP, an SDK's whole path from the
//! datafile to `/v3/graphql`.
#![allow(clippy::unwrap_used)]

mod support;

use fake_optimizely::{FakeOptimizely, OdpSeed, Seed};
use serde_json::{Value, json};
use std::net::SocketAddr;
use support::odp::{PUBLIC, VARIABLES_QUERY, upsert_ok};
use support::{Api, FOREIGN, FX, MISSING, TOKEN, WEB, assert_id, assert_timestamp, test_seed};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

async fn environments(api: &Api, project_id: i64) -> Vec<Value> {
    let r = api
        .get(&format!("/v2/environments?project_id={project_id}"))
        .await;
    assert_eq!(r.status, 200, "{}", r.text);
    r.body.as_array().unwrap().clone()
}

async fn datafile(api: &Api, project_id: i64, key: &str) -> Value {
    let envs = environments(api, project_id).await;
    let env = envs.iter().find(|e| e["key"] == key).unwrap();
    let r = api
        .get(&format!("/v2/environments/{}/datafile", env["id"]))
        .await;
    assert_eq!(r.status, 200, "{}", r.text);
    r.body
}

#[tokio::test]
async fn every_project_has_production_and_development_by_default() {
    let api = Api::new();
    for project_id in [FX, WEB] {
        let envs = environments(&api, project_id).await;
        let keys: Vec<(&str, &str, bool, i64)> = envs
            .iter()
            .map(|e| {
                (
                    e["key"].as_str().unwrap(),
                    e["name"].as_str().unwrap(),
                    e["is_primary"].as_bool().unwrap(),
                    e["priority"].as_i64().unwrap(),
                )
            })
            .collect();
        assert_eq!(
            keys,
            [
                ("production", "Production", true, 1),
                ("development", "Development", false, 2)
            ]
        );
        for env in &envs {
            assert_id(&env["id"]);
            assert_eq!(env["project_id"], project_id);
            assert_eq!(env["archived"], false);
            assert_timestamp(&env["created"]);
            let datafile = &env["datafile"];
            assert_eq!(datafile["id"].as_i64().unwrap().to_string().len(), 16);
            let sdk_key = datafile["sdk_key"].as_str().unwrap();
            assert_eq!(sdk_key.len(), 22);
            assert!(sdk_key.chars().all(|c| c.is_ascii_alphanumeric()));
            assert_eq!(
                datafile["url"],
                format!("https://cdn.optimizely.com/datafiles/{sdk_key}.json")
            );
            assert_eq!(datafile["revision"], 1);
            assert!(datafile["latest_file_size"].as_u64().unwrap() > 100);
            let one = api.get(&format!("/v2/environments/{}", env["id"])).await;
            assert_eq!(&one.body, env);
        }
    }
    let fx = environments(&api, FX).await;
    let web = environments(&api, WEB).await;
    assert_ne!(fx[0]["datafile"]["sdk_key"], web[0]["datafile"]["sdk_key"]);
    // Paginated like every list.
    let r = api
        .get(&format!("/v2/environments?project_id={FX}&per_page=1"))
        .await;
    assert_eq!(r.body.as_array().unwrap().len(), 1);
    assert_eq!(r.header("x-record-total"), Some("2"));
}

#[tokio::test]
async fn access_and_errors_follow_the_other_v2_endpoints() {
    let api = Api::new();
    api.get(&format!("/v2/environments?project_id={FOREIGN}"))
        .await
        .assert_error(403, "forbidden");
    api.get(&format!("/v2/environments?project_id={MISSING}"))
        .await
        .assert_error(404, "not_found");
    api.get("/v2/environments")
        .await
        .assert_error(400, "bad_request");
    api.as_token(None)
        .get(&format!("/v2/environments?project_id={FX}"))
        .await
        .assert_error(401, "unauthorized");
    api.get("/v2/environments/1/datafile")
        .await
        .assert_error(404, "not_found");
    api.get("/v2/environments/x/datafile")
        .await
        .assert_error(400, "bad_request");
    let other = api.as_token(Some(support::OTHER_TOKEN));
    let foreign = environments(&other, FOREIGN).await;
    api.get(&format!("/v2/environments/{}/datafile", foreign[0]["id"]))
        .await
        .assert_error(403, "forbidden");
    let r = api
        .post(
            "/v2/environments",
            json!({"project_id": FX, "key": "staging", "name": "Staging"}),
        )
        .await;
    r.assert_error(405, "method_not_allowed");
}

#[tokio::test]
async fn the_datafile_of_an_integrated_project_names_the_fake_as_odp_host_with_the_public_key() {
    let api = Api::new();
    let df = datafile(&api, FX, "production").await;
    assert_eq!(
        df["integrations"],
        json!([{"key": "odp", "host": "http://fake.test:4010", "publicKey": PUBLIC}])
    );
    assert_eq!(df["version"], "4");
    assert_eq!(df["projectId"], FX.to_string());
    assert_eq!(df["environmentKey"], "production");
    let envs = environments(&api, FX).await;
    assert_eq!(df["sdkKey"], envs[0]["datafile"]["sdk_key"]);
    let df = datafile(&api, FX, "development").await;
    assert_eq!(df["integrations"][0]["key"], "odp");
    // The Web project is not integrated: no ODP entry.
    let df = datafile(&api, WEB, "production").await;
    assert_eq!(df["integrations"], json!([]));
}

#[tokio::test]
async fn a_seeded_host_and_projects_without_odp() {
    let mut seed = test_seed();
    seed.odp.as_mut().unwrap().host = Some("https://api.zaius.com/".to_owned());
    let api = Api::with_seed(seed);
    let df = datafile(&api, FX, "production").await;
    assert_eq!(df["integrations"][0]["host"], "https://api.zaius.com");
    let mut seed = test_seed();
    seed.odp = None;
    let api = Api::with_seed(seed);
    assert_eq!(
        datafile(&api, FX, "production").await["integrations"],
        json!([])
    );
    // A later seed integrates it.
    api.fake
        .seed(Seed {
            odp: Some(OdpSeed {
                project_ids: vec![FX],
                ..OdpSeed::default()
            }),
            rate_limits: api.fake.rate_limits(),
            ..Seed::default()
        })
        .unwrap();
    assert_eq!(
        datafile(&api, FX, "production").await["integrations"][0]["publicKey"],
        PUBLIC
    );
    // An integration with a project that does not exist is refused.
    let bad = Seed {
        odp: Some(OdpSeed {
            project_ids: vec![MISSING],
            ..OdpSeed::default()
        }),
        ..Seed::default()
    };
    assert!(api.fake.seed(bad).is_err());
}

#[tokio::test]
async fn seeded_environments_replace_the_defaults() {
    let mut seed = test_seed();
    seed.environments = vec![
        json!({"project_id": FX, "key": "staging", "is_primary": true, "sdk_key": "SeededSdkKey0000000001"}),
        json!({"project_id": FX, "key": "qa", "archived": true, "revision": 7}),
    ];
    let api = Api::with_seed(seed);
    let envs = environments(&api, FX).await;
    let keys: Vec<&str> = envs.iter().map(|e| e["key"].as_str().unwrap()).collect();
    assert_eq!(keys, ["staging", "qa"]);
    assert_eq!(envs[0]["datafile"]["sdk_key"], "SeededSdkKey0000000001");
    assert_eq!(envs[1]["archived"], true);
    assert_eq!(envs[1]["datafile"]["revision"], 7);
    assert_eq!(
        environments(&api, WEB).await.len(),
        2,
        "other projects keep the defaults"
    );
}

#[tokio::test]
async fn the_datafile_holds_the_projects_attributes_events_and_audiences_with_segments_typed() {
    let api = Api::new();
    let attribute = api.create_attribute(FX, "plan").await;
    let r = api
        .post(
            &format!("/v2/projects/{FX}/custom_events"),
            json!({"key": "purchase"}),
        )
        .await;
    assert_eq!(r.status, 201, "{}", r.text);
    let segment = r#"["and", ["or", {"type": "third_party_dimension", "name": "odp.audiences", "match_type": "qualified", "value": "beta_users"}]]"#;
    let plain = r#"["and", {"type": "custom_attribute", "name": "plan", "match_type": "exact", "value": "pro"}]"#;
    let mut ids = Vec::new();
    for (name, conditions) in [("Beta", segment), ("Pro", plain)] {
        let r = api
            .post(
                "/v2/audiences",
                json!({"project_id": FX, "name": name, "conditions": conditions}),
            )
            .await;
        assert_eq!(r.status, 201, "{}", r.text);
        ids.push(r.body["id"].as_i64().unwrap().to_string());
    }
    let df = datafile(&api, FX, "production").await;
    assert_eq!(
        df["attributes"],
        json!([{"id": attribute.to_string(), "key": "plan"}])
    );
    assert_eq!(df["events"][0]["key"], "purchase");
    assert_eq!(
        df["typedAudiences"],
        json!([{"id": ids[0], "name": "Beta", "conditions": ["and", ["or", {
            "type": "third_party_dimension", "name": "odp.audiences", "match": "qualified", "value": "beta_users"
        }]]}])
    );
    let audiences = df["audiences"].as_array().unwrap();
    assert_eq!(audiences.len(), 2);
    assert!(
        audiences[0]["conditions"]
            .as_str()
            .unwrap()
            .contains("$opt_dummy_attribute")
    );
    let pro: Value = serde_json::from_str(audiences[1]["conditions"].as_str().unwrap()).unwrap();
    assert_eq!(pro[1]["match"], "exact");
    assert!(pro[1].get("match_type").is_none());
}

/// A raw HTTP/1.1 exchange with extra headers; returns (status, body).
async fn exchange(
    addr: SocketAddr,
    method: &str,
    path: &str,
    headers: &[(&str, &str)],
    body: &str,
) -> (u16, Value) {
    let mut stream = TcpStream::connect(addr).await.unwrap();
    let extra: String = headers
        .iter()
        .map(|(n, v)| format!("{n}: {v}\r\n"))
        .collect();
    let request = format!(
        "{method} {path} HTTP/1.1\r\nHost: {addr}\r\n{extra}Content-Type: application/json\r\n\
         Content-Length: {}\r\nConnection: close\r\n\r\n{body}",
        body.len()
    );
    stream.write_all(request.as_bytes()).await.unwrap();
    let mut received = Vec::new();
    stream.read_to_end(&mut received).await.unwrap();
    let text = String::from_utf8(received).unwrap();
    let status = text.split(' ').nth(1).unwrap().parse().unwrap();
    let body = text.split("\r\n\r\n").nth(1).unwrap();
    (status, serde_json::from_str(body).unwrap())
}

#[tokio::test]
async fn over_tcp_an_sdk_finds_odp_in_the_datafile_and_asks_it_for_segments() {
    let fake = FakeOptimizely::new(test_seed()).unwrap();
    let running = fake.serve("127.0.0.1:0".parse().unwrap()).await.unwrap();
    let addr = running.addr;
    assert_eq!(running.odp_base_url(), format!("http://{addr}/v3"));
    let odp = support::odp::Odp {
        fake: fake.clone(),
        key: Some(support::odp::PRIVATE.to_owned()),
    };
    upsert_ok(&odp, json!({"fs_user_id": "user-1", "in_beta": true})).await;

    let bearer = format!("Bearer {TOKEN}");
    let auth = [("Authorization", bearer.as_str())];
    let (status, envs) = exchange(
        addr,
        "GET",
        &format!("/v2/environments?project_id={FX}"),
        &auth,
        "",
    )
    .await;
    assert_eq!(status, 200);
    let (status, df) = exchange(
        addr,
        "GET",
        &format!("/v2/environments/{}/datafile", envs[0]["id"]),
        &auth,
        "",
    )
    .await;
    assert_eq!(status, 200);
    let integration = &df["integrations"][0];
    let host = integration["host"].as_str().unwrap();
    assert_eq!(host, running.root_url());
    let key = integration["publicKey"].as_str().unwrap();
    // What the Python SDK sends to `{host}/v3/graphql`.
    let body = json!({"query": VARIABLES_QUERY, "variables": {"userId": "user-1", "audiences": ["beta_users"]}});
    let path = format!(
        "{}/v3/graphql",
        host.trim_start_matches(&running.root_url())
    );
    let (status, answer) = exchange(
        addr,
        "POST",
        &path,
        &[("x-api-key", key)],
        &body.to_string(),
    )
    .await;
    assert_eq!(status, 200);
    assert_eq!(
        answer["data"]["customer"]["audiences"]["edges"],
        json!([{"node": {"name": "beta_users", "state": "qualified"}}])
    );
    running.shutdown().await;
}
