//! Reading the `Link` response header (RFC 8288) to find the next page. Optimizely writes
//! `rel=next` unquoted; quoted values and several relations in one `rel` are accepted too.

use http::HeaderMap;
use url::Url;

/// The URL of the `rel=next` link, resolved against `current`. `None` when there is none.
pub(crate) fn next_link(headers: &HeaderMap, current: &Url) -> Option<Url> {
    headers
        .get_all(http::header::LINK)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(parse_links)
        .find(|(_, rels)| rels.iter().any(|r| r.eq_ignore_ascii_case("next")))
        .and_then(|(target, _)| current.join(&target).ok())
}

/// True when the answer carries a `Link` header at all (then its absence of `next` is
/// authoritative and the page-size heuristic is not needed).
pub(crate) fn has_links(headers: &HeaderMap) -> bool {
    headers.contains_key(http::header::LINK)
}

/// Splits one header value into `(target, relations)` pairs.
fn parse_links(value: &str) -> Vec<(String, Vec<String>)> {
    let mut links = Vec::new();
    let mut rest = value;
    while let Some(open) = rest.find('<') {
        let after = &rest[open + 1..];
        let Some(close) = after.find('>') else { break };
        let target = after[..close].trim().to_owned();
        let params_and_more = &after[close + 1..];
        // Parameters run until the next link; a URL cannot start before the next '<'.
        let end = params_and_more.find('<').unwrap_or(params_and_more.len());
        let params = &params_and_more[..end];
        let mut rels = Vec::new();
        for param in params.split([';', ',']) {
            let Some((name, value)) = param.split_once('=') else {
                continue;
            };
            if name.trim().eq_ignore_ascii_case("rel") {
                let value = value.trim().trim_matches('"');
                rels.extend(value.split_whitespace().map(str::to_owned));
            }
        }
        links.push((target, rels));
        rest = &params_and_more[end..];
    }
    links
}

#[cfg(test)]
#[allow(clippy::unwrap_used)] // a failing unwrap is a failing test
mod tests {
    use super::*;
    use http::HeaderValue;

    fn headers(values: &[&str]) -> HeaderMap {
        let mut map = HeaderMap::new();
        for v in values {
            map.append(http::header::LINK, HeaderValue::from_str(v).unwrap());
        }
        map
    }

    #[test]
    fn finds_unquoted_next() {
        let current = Url::parse("https://api.optimizely.com/v2/attributes?page=1").unwrap();
        let h = headers(&[
            "<https://api.optimizely.com/v2/attributes?page=1&per_page=100>; rel=prev, <https://api.optimizely.com/v2/attributes?page=3&per_page=100>; rel=next, <https://api.optimizely.com/v2/attributes?page=9&per_page=100>; rel=last",
        ]);
        assert_eq!(
            next_link(&h, &current).unwrap().as_str(),
            "https://api.optimizely.com/v2/attributes?page=3&per_page=100"
        );
    }

    #[test]
    fn quoted_relative_and_split_headers() {
        let current = Url::parse("http://127.0.0.1:4010/v2/events?page=1").unwrap();
        let h = headers(&[
            "</v2/events?page=1>; rel=\"first\"",
            "</v2/events?page=2>; rel=\"next last\"",
        ]);
        assert_eq!(
            next_link(&h, &current).unwrap().as_str(),
            "http://127.0.0.1:4010/v2/events?page=2"
        );
        assert!(has_links(&h));
    }

    #[test]
    fn no_next() {
        let current = Url::parse("https://x.test/v2/a").unwrap();
        assert!(
            next_link(
                &headers(&["<https://x.test/v2/a?page=1>; rel=prev"]),
                &current
            )
            .is_none()
        );
        assert!(next_link(&HeaderMap::new(), &current).is_none());
        assert!(!has_links(&HeaderMap::new()));
    }
}
