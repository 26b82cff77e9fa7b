//! Which endpoint a request is for: method + path to an [`Endpoint`] and its path template.
//!
//! Path templates (`/v2/attributes/{id}`, `/v2/projects/{project_id}/custom_events/{id}`,
//! `/v3/profiles`) name a route in the request log, the stats and fault rules. The v2 table
//! lives here; ODP's `/v3` table lives in `odp/mod.rs` and is matched by the same
//! [`route_in`].

use http::Method;

/// One endpoint of the v2 API the fake serves.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Endpoint {
    GetProject,
    ListAttributes,
    CreateAttribute,
    GetAttribute,
    UpdateAttribute,
    ArchiveAttribute,
    ListAudiences,
    CreateAudience,
    GetAudience,
    UpdateAudience,
    ListEvents,
    GetEvent,
    CreateCustomEvent,
    UpdateCustomEvent,
    ArchiveCustomEvent,
    ListListAttributes,
    CreateListAttribute,
    GetListAttribute,
    UpdateListAttribute,
    ArchiveListAttribute,
    ListEnvironments,
    GetEnvironment,
    GetDatafile,
}

/// The outcome of routing, for an API whose endpoints are `E`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) enum Routed<E> {
    /// A known endpoint, with the raw path parameters in path order.
    Found {
        endpoint: E,
        template: &'static str,
        params: Vec<String>,
    },
    /// The path exists but not with this method.
    MethodNotAllowed { template: &'static str },
    /// No such path.
    NotFound,
}

/// Template for requests that match no route.
pub(crate) const UNKNOWN_TEMPLATE: &str = "(unknown)";

/// One path template and the endpoint each method reaches on it.
pub(crate) type Row<E> = (&'static str, &'static [(Method, E)]);

const ROUTES: &[Row<Endpoint>] = &[
    ("/v2/projects/{id}", &[(Method::GET, Endpoint::GetProject)]),
    (
        "/v2/attributes",
        &[
            (Method::GET, Endpoint::ListAttributes),
            (Method::POST, Endpoint::CreateAttribute),
        ],
    ),
    (
        "/v2/attributes/{id}",
        &[
            (Method::GET, Endpoint::GetAttribute),
            (Method::PATCH, Endpoint::UpdateAttribute),
            (Method::DELETE, Endpoint::ArchiveAttribute),
        ],
    ),
    (
        "/v2/audiences",
        &[
            (Method::GET, Endpoint::ListAudiences),
            (Method::POST, Endpoint::CreateAudience),
        ],
    ),
    (
        "/v2/audiences/{id}",
        &[
            (Method::GET, Endpoint::GetAudience),
            (Method::PATCH, Endpoint::UpdateAudience),
        ],
    ),
    ("/v2/events", &[(Method::GET, Endpoint::ListEvents)]),
    ("/v2/events/{id}", &[(Method::GET, Endpoint::GetEvent)]),
    (
        "/v2/projects/{project_id}/custom_events",
        &[(Method::POST, Endpoint::CreateCustomEvent)],
    ),
    (
        "/v2/projects/{project_id}/custom_events/{id}",
        &[
            (Method::PATCH, Endpoint::UpdateCustomEvent),
            (Method::DELETE, Endpoint::ArchiveCustomEvent),
        ],
    ),
    (
        "/v2/list_attributes",
        &[
            (Method::GET, Endpoint::ListListAttributes),
            (Method::POST, Endpoint::CreateListAttribute),
        ],
    ),
    (
        "/v2/list_attributes/{id}",
        &[
            (Method::GET, Endpoint::GetListAttribute),
            (Method::PATCH, Endpoint::UpdateListAttribute),
            (Method::DELETE, Endpoint::ArchiveListAttribute),
        ],
    ),
    (
        "/v2/environments",
        &[(Method::GET, Endpoint::ListEnvironments)],
    ),
    (
        "/v2/environments/{environment_id}",
        &[(Method::GET, Endpoint::GetEnvironment)],
    ),
    (
        "/v2/environments/{environment_id}/datafile",
        &[(Method::GET, Endpoint::GetDatafile)],
    ),
];

fn segments(path: &str) -> Vec<&str> {
    path.trim_end_matches('/')
        .split('/')
        .filter(|s| !s.is_empty())
        .collect()
}

fn match_template(template: &str, path: &[&str]) -> Option<Vec<String>> {
    let pattern = segments(template);
    if pattern.len() != path.len() {
        return None;
    }
    let mut params = Vec::new();
    for (p, s) in pattern.iter().zip(path) {
        if p.starts_with('{') {
            params.push((*s).to_owned());
        } else if p != s {
            return None;
        }
    }
    Some(params)
}

/// Routes a v2 request.
pub(crate) fn route(method: &Method, path: &str) -> Routed<Endpoint> {
    route_in(ROUTES, method, path)
}

/// Routes a request through `table`.
pub(crate) fn route_in<E: Copy>(table: &[Row<E>], method: &Method, path: &str) -> Routed<E> {
    let path = segments(path);
    for (template, methods) in table {
        if let Some(params) = match_template(template, &path) {
            return match methods.iter().find(|(m, _)| m == method) {
                Some((_, endpoint)) => Routed::Found {
                    endpoint: *endpoint,
                    template,
                    params,
                },
                None => Routed::MethodNotAllowed { template },
            };
        }
    }
    Routed::NotFound
}

/// Splits a raw query string into decoded `(name, value)` pairs (`+` is a space,
/// `%XX` escapes are decoded; malformed escapes are kept as they are).
pub(crate) fn parse_query(raw: Option<&str>) -> Vec<(String, String)> {
    raw.unwrap_or("")
        .split('&')
        .filter(|pair| !pair.is_empty())
        .map(|pair| {
            let (name, value) = pair.split_once('=').unwrap_or((pair, ""));
            (percent_decode(name), percent_decode(value))
        })
        .collect()
}

fn percent_decode(raw: &str) -> String {
    let bytes = raw.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        match bytes[i] {
            b'+' => out.push(b' '),
            b'%' if i + 2 < bytes.len() => {
                let hex = std::str::from_utf8(&bytes[i + 1..i + 3]).ok();
                match hex.and_then(|h| u8::from_str_radix(h, 16).ok()) {
                    Some(b) => {
                        out.push(b);
                        i += 2;
                    }
                    None => out.push(b'%'),
                }
            }
            b => out.push(b),
        }
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn routes_every_template() {
        assert_eq!(
            route(&Method::PATCH, "/v2/projects/12/custom_events/34"),
            Routed::Found {
                endpoint: Endpoint::UpdateCustomEvent,
                template: "/v2/projects/{project_id}/custom_events/{id}",
                params: vec!["12".into(), "34".into()],
            }
        );
        assert!(matches!(
            route(&Method::GET, "/v2/attributes/"),
            Routed::Found {
                endpoint: Endpoint::ListAttributes,
                ..
            }
        ));
        assert_eq!(
            route(&Method::DELETE, "/v2/audiences/5"),
            Routed::MethodNotAllowed {
                template: "/v2/audiences/{id}"
            }
        );
        assert_eq!(route(&Method::GET, "/v2/nothing"), Routed::NotFound);
        assert_eq!(route(&Method::GET, "/v1/projects/1"), Routed::NotFound);
        assert_eq!(
            route(&Method::GET, "/v2/environments/7/datafile"),
            Routed::Found {
                endpoint: Endpoint::GetDatafile,
                template: "/v2/environments/{environment_id}/datafile",
                params: vec!["7".into()],
            }
        );
    }

    #[test]
    fn query_decoding() {
        assert_eq!(
            parse_query(Some("project_id=12&name=a+b%2Cc&flag&bad=%zz&end=%4")),
            vec![
                ("project_id".to_string(), "12".to_string()),
                ("name".to_string(), "a b,c".to_string()),
                ("flag".to_string(), String::new()),
                ("bad".to_string(), "%zz".to_string()),
                ("end".to_string(), "%4".to_string()),
            ]
        );
        assert!(parse_query(None).is_empty());
    }
}
