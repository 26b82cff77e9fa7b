//! Pagination of attributes, audiences and events: pages, `Link`, `X-Record-Total`.
#![allow(clippy::unwrap_used)]

mod support;

use serde_json::json;
use support::{Api, FX, WEB};

fn ids(r: &support::Resp) -> Vec<i64> {
    r.body
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v["id"].as_i64().unwrap())
        .collect()
}

#[tokio::test]
async fn default_page_is_25_with_next_and_last_links() {
    let api = Api::new();
    let mut created = Vec::new();
    for i in 0..60 {
        created.push(api.create_attribute(WEB, &format!("a{i:02}")).await);
    }
    let r = api.get(&format!("/v2/attributes?project_id={WEB}")).await;
    assert_eq!(r.status, 200);
    assert_eq!(ids(&r), created[..25]);
    assert_eq!(r.header("x-record-total"), Some("60"));
    assert_eq!(
        r.header("link"),
        Some(
            "<http://fake.test:4010/v2/attributes?project_id=20000000001&page=2&per_page=25>; rel=next, \
             <http://fake.test:4010/v2/attributes?project_id=20000000001&page=3&per_page=25>; rel=last"
        )
    );
    let r = api
        .get(&format!("/v2/attributes?project_id={WEB}&page=3"))
        .await;
    assert_eq!(ids(&r), created[50..]);
    let link = r.header("link").unwrap();
    assert!(!link.contains("rel=next"), "{link}");
    assert!(link.contains("page=2&per_page=25>; rel=prev"), "{link}");
    let r = api
        .get(&format!("/v2/attributes?project_id={WEB}&page=4"))
        .await;
    assert_eq!(r.status, 200);
    assert!(ids(&r).is_empty());
}

#[tokio::test]
async fn following_next_links_visits_every_item_once() {
    let api = Api::new();
    for i in 0..7 {
        api.post(
            "/v2/audiences",
            json!({"project_id": FX, "name": format!("a{i}")}),
        )
        .await;
    }
    let mut url = format!("/v2/audiences?project_id={FX}&per_page=3");
    let mut seen = Vec::new();
    let mut pages = 0;
    loop {
        let r = api.get(&url).await;
        pages += 1;
        seen.extend(ids(&r));
        let Some(next) = r
            .header("link")
            .unwrap()
            .split(", ")
            .find(|l| l.ends_with("rel=next"))
        else {
            break;
        };
        let full = next.trim_start_matches('<').split('>').next().unwrap();
        url = full.trim_start_matches("http://fake.test:4010").to_owned();
    }
    assert_eq!(pages, 3);
    assert_eq!(seen.len(), 7);
    seen.dedup();
    assert_eq!(seen.len(), 7);
}

#[tokio::test]
async fn per_page_bounds() {
    let api = Api::new();
    for i in 0..120 {
        api.post(
            &format!("/v2/projects/{FX}/custom_events"),
            json!({"key": format!("e{i}")}),
        )
        .await;
    }
    let r = api
        .get(&format!("/v2/events?project_id={FX}&per_page=100"))
        .await;
    assert_eq!(r.body.as_array().unwrap().len(), 100);
    assert_eq!(r.header("x-record-total"), Some("120"));
    for bad in [
        "per_page=101",
        "per_page=0",
        "page=0",
        "page=-2",
        "per_page=ten",
    ] {
        let r = api.get(&format!("/v2/events?project_id={FX}&{bad}")).await;
        r.assert_error(400, "bad_request");
        assert!(
            r.message().contains(bad.split('=').next().unwrap()),
            "{bad}: {}",
            r.message()
        );
    }
}

#[tokio::test]
async fn empty_list_has_total_zero() {
    let api = Api::new();
    let r = api.get(&format!("/v2/audiences?project_id={WEB}")).await;
    assert_eq!(r.text, "[]");
    assert_eq!(r.header("x-record-total"), Some("0"));
    assert!(!r.header("link").unwrap().contains("rel=next"));
}
