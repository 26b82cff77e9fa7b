//! Pagination of list endpoints: `page` / `per_page` and the `Link` / `X-Record-Total`
//! headers.
//!
//! `page` is 1-based (default 1), `per_page` defaults to 25 and may be at most 100 (more is
//! a 400), as in the spec. A page past the end is an empty list. `Link` holds full URLs
//! with unquoted `rel` values (`next`, `prev`, `last`), the form third-party clients parse;
//! `X-Record-Total` is the number of items over all pages (INFERRED meaning, docs/OPTIMIZELY-API.md#pagination).

use crate::response::{Answer, ApiError};
use http::header::HeaderName;
use serde_json::Value;

/// Default `per_page`.
pub(crate) const DEFAULT_PER_PAGE: usize = 25;
/// Largest accepted `per_page`.
pub(crate) const MAX_PER_PAGE: usize = 100;

/// The request facts pagination needs to build its links.
#[derive(Clone, Copy, Debug)]
pub(crate) struct PageRequest<'a> {
    /// `http://host:port` of the request.
    pub(crate) origin: &'a str,
    pub(crate) path: &'a str,
    pub(crate) raw_query: Option<&'a str>,
    pub(crate) query: &'a [(String, String)],
}

fn positive(query: &[(String, String)], name: &str, default: usize) -> Result<usize, ApiError> {
    let Some((_, raw)) = query.iter().rev().find(|(k, _)| k == name) else {
        return Ok(default);
    };
    match raw.parse::<usize>() {
        Ok(n) if n >= 1 => Ok(n),
        _ => Err(ApiError::bad_request(format!(
            "query parameter '{name}' must be a positive integer, got {raw:?}"
        ))),
    }
}

fn link(req: &PageRequest<'_>, page: usize, per_page: usize) -> String {
    let mut parts: Vec<&str> = req
        .raw_query
        .unwrap_or("")
        .split('&')
        .filter(|p| !p.is_empty())
        .filter(|p| {
            let key = p.split('=').next().unwrap_or("");
            key != "page" && key != "per_page"
        })
        .collect();
    let paging = format!("page={page}&per_page={per_page}");
    parts.push(&paging);
    format!("{}{}?{}", req.origin, req.path, parts.join("&"))
}

/// Cuts `items` to the requested page and answers 200 with the pagination headers.
pub(crate) fn paginate(req: &PageRequest<'_>, items: Vec<Value>) -> Result<Answer, ApiError> {
    let page = positive(req.query, "page", 1)?;
    let per_page = positive(req.query, "per_page", DEFAULT_PER_PAGE)?;
    if per_page > MAX_PER_PAGE {
        return Err(ApiError::bad_request(format!(
            "query parameter 'per_page' must be at most {MAX_PER_PAGE}, got {per_page}"
        )));
    }
    let total = items.len();
    let last = total.div_ceil(per_page).max(1);
    let start = (page - 1).saturating_mul(per_page);
    let body: Vec<Value> = items.into_iter().skip(start).take(per_page).collect();
    let mut links = Vec::new();
    if page < last {
        links.push(format!("<{}>; rel=next", link(req, page + 1, per_page)));
    }
    if page > 1 {
        links.push(format!(
            "<{}>; rel=prev",
            link(req, (page - 1).min(last), per_page)
        ));
    }
    links.push(format!("<{}>; rel=last", link(req, last, per_page)));
    Ok(Answer::ok(Value::Array(body))
        .with_header(HeaderName::from_static("link"), links.join(", "))
        .with_header(HeaderName::from_static("x-record-total"), total.to_string()))
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn q(pairs: &[(&str, &str)]) -> Vec<(String, String)> {
        pairs
            .iter()
            .map(|(a, b)| (a.to_string(), b.to_string()))
            .collect()
    }

    #[test]
    fn second_page_of_three_has_next_prev_last() {
        let query = q(&[("project_id", "7"), ("page", "2"), ("per_page", "2")]);
        let req = PageRequest {
            origin: "http://h:1",
            path: "/v2/attributes",
            raw_query: Some("project_id=7&page=2&per_page=2"),
            query: &query,
        };
        let items: Vec<Value> = (0..5).map(|i| json!(i)).collect();
        let answer = paginate(&req, items).unwrap();
        assert_eq!(answer.body, Some(json!([2, 3])));
        let link = &answer.headers[0].1;
        assert_eq!(
            link,
            "<http://h:1/v2/attributes?project_id=7&page=3&per_page=2>; rel=next, \
             <http://h:1/v2/attributes?project_id=7&page=1&per_page=2>; rel=prev, \
             <http://h:1/v2/attributes?project_id=7&page=3&per_page=2>; rel=last"
        );
        assert_eq!(answer.headers[1].1, "5");
    }

    #[test]
    fn bad_values_are_400() {
        for (k, v) in [
            ("per_page", "101"),
            ("page", "0"),
            ("page", "x"),
            ("per_page", "-1"),
        ] {
            let query = q(&[(k, v)]);
            let req = PageRequest {
                origin: "http://h",
                path: "/v2/x",
                raw_query: None,
                query: &query,
            };
            let err = paginate(&req, vec![]).unwrap_err();
            assert_eq!(err.status, 400, "{k}={v}");
        }
    }
}
