//! Which proxy, if any, the client's requests go through. The decision is made once, when the
//! client is built, from the configured [`ProxyPolicy`], the `api_url` and the environment,
//! and handed to the transport as one explicit proxy (or none): the HTTP library never reads
//! the environment itself.
//!
//! The rules, and why:
//! - only an `https` `api_url` ever goes through a proxy, and only as a `CONNECT` tunnel, so
//!   the proxy sees the host name and port but never the `Authorization` header or a body;
//! - `HTTP_PROXY` / `http_proxy` are ignored: they would route plain-http requests, token
//!   included, through the proxy in clear (plain http is only accepted to loopback anyway);
//! - `HTTPS_PROXY` / `https_proxy` are honoured, then `ALL_PROXY` / `all_proxy`;
//! - a loopback `api_url` (the fake server, a local tunnel) never goes through a proxy;
//! - `NO_PROXY` / `no_proxy` is respected: `*`, host names (which also cover their
//!   sub-domains; a leading dot is optional), IP addresses and CIDR blocks.
//!
//! A proxy URL may hold credentials (`http://user:password@proxy:3128`), so it is a secret
//! in messages and logs: errors say *which* setting is wrong, never what it holds, and logs
//! show the proxy's host and port only.

use std::fmt;
use std::net::IpAddr;

use url::{Host, Url};

use crate::error::Error;

/// How the client picks its proxy.
#[derive(Clone, Default, PartialEq, Eq)]
pub enum ProxyPolicy {
    /// `HTTPS_PROXY` / `https_proxy`, else `ALL_PROXY` / `all_proxy`, for an https `api_url`
    /// that `NO_PROXY` / `no_proxy` does not cover (the default).
    #[default]
    Environment,
    /// This proxy (an `http://` or `https://` URL) for an https `api_url` that `NO_PROXY` /
    /// `no_proxy` does not cover; the environment's proxy variables are not read.
    Url(ProxyUrl),
    /// Never a proxy.
    Disabled,
}

impl ProxyPolicy {
    /// Reads the config's `proxy` value: absent means [`ProxyPolicy::Environment`], `"none"`
    /// means [`ProxyPolicy::Disabled`], anything else must be a proxy URL. The error message
    /// never repeats the value, which may hold a password.
    pub fn from_config(value: Option<&str>) -> Result<ProxyPolicy, Error> {
        match value.map(str::trim) {
            None => Ok(ProxyPolicy::Environment),
            Some(v) if v.eq_ignore_ascii_case("none") => Ok(ProxyPolicy::Disabled),
            Some(v) => ProxyUrl::parse(v, "[optimizely] proxy")
                .map(ProxyPolicy::Url)
                .map_err(|e| e.map_message(|m| format!("{m}, or \"none\" for no proxy"))),
        }
    }
}

impl fmt::Debug for ProxyPolicy {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ProxyPolicy::Environment => f.write_str("Environment"),
            ProxyPolicy::Url(url) => f.debug_tuple("Url").field(url).finish(),
            ProxyPolicy::Disabled => f.write_str("Disabled"),
        }
    }
}

/// A proxy URL. `Debug` and `Display` show only its scheme, host and port, never
/// credentials or a path.
#[derive(Clone, PartialEq, Eq)]
pub struct ProxyUrl(Url);

impl ProxyUrl {
    /// Parses a proxy URL; a value without a scheme (`proxy.corp:3128`) is read as `http://`,
    /// as curl does. `what` names the setting in the error ("HTTPS_PROXY").
    pub fn parse(value: &str, what: &str) -> Result<ProxyUrl, Error> {
        let value = value.trim();
        let with_scheme = if value.contains("://") {
            value.to_owned()
        } else {
            format!("http://{value}")
        };
        let url = Url::parse(&with_scheme).map_err(|_| {
            Error::config(format!(
                "{what} is not a valid URL; write it as http://HOST:PORT"
            ))
        })?;
        if !matches!(url.scheme(), "http" | "https") {
            return Err(Error::config(format!(
                "{what} must be an http:// or https:// URL (requests to Optimizely are tunnelled through it with CONNECT)"
            )));
        }
        if url.host().is_none() || url.cannot_be_a_base() {
            return Err(Error::config(format!(
                "{what} has no host; write it as http://HOST:PORT"
            )));
        }
        Ok(ProxyUrl(url))
    }

    /// The URL in clear, for the HTTP library only.
    pub(crate) fn expose(&self) -> &Url {
        &self.0
    }

    /// The text that may hold a secret (the whole URL, its password), so the transport can
    /// scrub it from error text it did not write.
    pub(crate) fn secrets(&self) -> Vec<String> {
        let mut secrets = vec![self.0.as_str().to_owned()];
        if let Some(password) = self.0.password().filter(|p| !p.is_empty()) {
            secrets.push(password.to_owned());
        }
        secrets
    }
}

impl fmt::Display for ProxyUrl {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let host = self.0.host_str().unwrap_or("?");
        match self.0.port_or_known_default() {
            Some(port) => write!(f, "{}://{host}:{port}", self.0.scheme()),
            None => write!(f, "{}://{host}", self.0.scheme()),
        }
    }
}

impl fmt::Debug for ProxyUrl {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "ProxyUrl({self})")
    }
}

/// The proxy the requests to `api_url` go through, and where it came from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct ChosenProxy {
    pub(crate) url: ProxyUrl,
    /// The config key or environment variable that named it.
    pub(crate) source: &'static str,
}

/// Variables read for an https `api_url`, in order. `HTTP_PROXY` is deliberately absent.
const HTTPS_PROXY_VARS: [&str; 4] = ["HTTPS_PROXY", "https_proxy", "ALL_PROXY", "all_proxy"];

/// Decides the proxy for requests to `api_url`. `env` reads an environment variable (a
/// closure so tests need not change the process environment).
pub(crate) fn choose(
    policy: &ProxyPolicy,
    api_url: &Url,
    env: impl Fn(&str) -> Option<String>,
) -> Result<Option<ChosenProxy>, Error> {
    if matches!(policy, ProxyPolicy::Disabled) {
        return Ok(None);
    }
    // Plain http is only accepted to loopback, and loopback never needs a proxy; and a
    // proxy must never see a request in clear.
    if api_url.scheme() != "https" || is_loopback(api_url) {
        return Ok(None);
    }
    let no_proxy = ["NO_PROXY", "no_proxy"]
        .into_iter()
        .find_map(|name| env(name).filter(|v| !v.trim().is_empty()));
    if let Some(list) = no_proxy
        && no_proxy_covers(&list, api_url)
    {
        tracing::debug!("NO_PROXY covers the API host; connecting directly");
        return Ok(None);
    }
    match policy {
        ProxyPolicy::Disabled => Ok(None),
        ProxyPolicy::Url(url) => Ok(Some(ChosenProxy {
            url: url.clone(),
            source: "[optimizely] proxy",
        })),
        ProxyPolicy::Environment => {
            for name in HTTPS_PROXY_VARS {
                let Some(value) = env(name).filter(|v| !v.trim().is_empty()) else {
                    continue;
                };
                let url = ProxyUrl::parse(&value, &format!("the environment variable {name}"))
                    .map_err(|e| {
                        e.map_message(|m| {
                            format!("{m}, or unset it, or set proxy = \"none\" under [optimizely]")
                        })
                    })?;
                return Ok(Some(ChosenProxy { url, source: name }));
            }
            Ok(None)
        }
    }
}

/// True for `localhost`, `127.0.0.0/8` and `::1`.
fn is_loopback(url: &Url) -> bool {
    match url.host() {
        Some(Host::Domain(d)) => d.eq_ignore_ascii_case("localhost"),
        Some(Host::Ipv4(ip)) => ip.is_loopback(),
        Some(Host::Ipv6(ip)) => ip.is_loopback(),
        None => false,
    }
}

/// True when an entry of a `NO_PROXY` list covers the host of `url`.
fn no_proxy_covers(list: &str, url: &Url) -> bool {
    let ip = match url.host() {
        Some(Host::Ipv4(ip)) => Some(IpAddr::V4(ip)),
        Some(Host::Ipv6(ip)) => Some(IpAddr::V6(ip)),
        _ => None,
    };
    let host = url
        .host_str()
        .unwrap_or_default()
        .trim_start_matches('[')
        .trim_end_matches(']')
        .trim_end_matches('.')
        .to_ascii_lowercase();
    list.split([',', ' '])
        .map(str::trim)
        .filter(|e| !e.is_empty())
        .any(|entry| entry_covers(entry, &host, ip))
}

fn entry_covers(entry: &str, host: &str, ip: Option<IpAddr>) -> bool {
    if entry == "*" {
        return true;
    }
    if let Some(ip) = ip {
        let bare = entry.trim_start_matches('[').trim_end_matches(']');
        if let Ok(entry_ip) = bare.parse::<IpAddr>() {
            return entry_ip == ip;
        }
        if let Some((net, bits)) = entry.split_once('/')
            && let (Ok(net), Ok(bits)) = (net.parse::<IpAddr>(), bits.parse::<u32>())
        {
            return in_cidr(ip, net, bits);
        }
    }
    // `host:port` entries: the port is not compared (the API has one origin).
    let name = match entry.rsplit_once(':') {
        Some((name, port)) if !name.contains(':') && port.bytes().all(|b| b.is_ascii_digit()) => {
            name
        }
        _ => entry,
    };
    let name = name
        .trim_start_matches("*.")
        .trim_start_matches('.')
        .trim_end_matches('.')
        .to_ascii_lowercase();
    if name.is_empty() {
        return false;
    }
    host == name
        || host
            .strip_suffix(name.as_str())
            .is_some_and(|prefix| prefix.ends_with('.'))
}

fn in_cidr(ip: IpAddr, net: IpAddr, bits: u32) -> bool {
    match (ip, net) {
        (IpAddr::V4(ip), IpAddr::V4(net)) if bits <= 32 => {
            let mask = u32::MAX.checked_shl(32 - bits).unwrap_or(0);
            u32::from(ip) & mask == u32::from(net) & mask
        }
        (IpAddr::V6(ip), IpAddr::V6(net)) if bits <= 128 => {
            let mask = u128::MAX.checked_shl(128 - bits).unwrap_or(0);
            u128::from(ip) & mask == u128::from(net) & mask
        }
        _ => false,
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)] // a failing unwrap is a failing test
mod tests {
    use super::*;
    use std::collections::HashMap;

    const SECRET_PROXY: &str = "http://alice:s3cret-pw@proxy.corp:3128";

    fn env(pairs: &[(&str, &str)]) -> impl Fn(&str) -> Option<String> {
        let map: HashMap<String, String> = pairs
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect();
        move |name| map.get(name).cloned()
    }

    fn chosen(policy: &ProxyPolicy, api_url: &str, vars: &[(&str, &str)]) -> Option<String> {
        choose(policy, &Url::parse(api_url).unwrap(), env(vars))
            .unwrap()
            .map(|c| format!("{} from {}", c.url, c.source))
    }

    const API: &str = "https://api.optimizely.com/v2";

    #[test]
    fn http_proxy_variables_are_never_used() {
        let vars = [("HTTP_PROXY", "http://p:1"), ("http_proxy", "http://p:1")];
        assert_eq!(chosen(&ProxyPolicy::Environment, API, &vars), None);
        assert_eq!(
            chosen(&ProxyPolicy::Environment, "http://127.0.0.1:4010/v2", &vars),
            None
        );
    }

    #[test]
    fn https_proxy_then_all_proxy_for_https_urls() {
        assert_eq!(
            chosen(
                &ProxyPolicy::Environment,
                API,
                &[
                    ("ALL_PROXY", "http://all:2"),
                    ("https_proxy", "http://lower:1")
                ]
            )
            .unwrap(),
            "http://lower:1 from https_proxy"
        );
        assert_eq!(
            chosen(&ProxyPolicy::Environment, API, &[("ALL_PROXY", "all:2")]).unwrap(),
            "http://all:2 from ALL_PROXY"
        );
        assert_eq!(
            chosen(
                &ProxyPolicy::Environment,
                API,
                &[
                    ("HTTPS_PROXY", "http://upper:3"),
                    ("https_proxy", "http://lower:1")
                ]
            )
            .unwrap(),
            "http://upper:3 from HTTPS_PROXY"
        );
    }

    #[test]
    fn loopback_and_plain_http_never_use_a_proxy() {
        let vars = [("HTTPS_PROXY", "http://p:1"), ("ALL_PROXY", "http://p:1")];
        for url in [
            "http://127.0.0.1:4010/v2",
            "https://127.0.0.1:4010/v2",
            "https://localhost/v2",
            "https://[::1]:9/v2",
        ] {
            assert_eq!(chosen(&ProxyPolicy::Environment, url, &vars), None, "{url}");
            let explicit = ProxyPolicy::from_config(Some("http://p:1")).unwrap();
            assert_eq!(chosen(&explicit, url, &vars), None, "{url}");
        }
    }

    #[test]
    fn no_proxy_is_respected() {
        let with = |no: &str| {
            chosen(
                &ProxyPolicy::Environment,
                API,
                &[("HTTPS_PROXY", "http://p:1"), ("NO_PROXY", no)],
            )
        };
        assert!(with("*").is_none());
        assert!(with("optimizely.com").is_none());
        assert!(with(".optimizely.com").is_none());
        assert!(with("example.com, api.optimizely.com").is_none());
        assert!(with("api.optimizely.com:443").is_none());
        assert!(with("notoptimizely.com").is_some());
        assert!(with("example.com").is_some());
        let ip = |no: &str| {
            chosen(
                &ProxyPolicy::Environment,
                "https://10.1.2.3/v2",
                &[("https_proxy", "http://p:1"), ("no_proxy", no)],
            )
        };
        assert!(ip("10.1.2.3").is_none());
        assert!(ip("10.0.0.0/8").is_none());
        assert!(ip("10.1.2.0/24").is_none());
        assert!(ip("10.1.3.0/24").is_some());
        assert!(ip("10.1.2.4").is_some());
        // An explicit proxy honours NO_PROXY as well.
        let explicit = ProxyPolicy::from_config(Some("http://p:1")).unwrap();
        assert_eq!(
            chosen(&explicit, API, &[("no_proxy", "optimizely.com")]),
            None
        );
    }

    #[test]
    fn an_explicit_proxy_or_none_overrides_the_environment() {
        let vars = [("HTTPS_PROXY", "http://env:1")];
        let explicit = ProxyPolicy::from_config(Some("http://conf:2")).unwrap();
        assert_eq!(
            chosen(&explicit, API, &vars).unwrap(),
            "http://conf:2 from [optimizely] proxy"
        );
        let none = ProxyPolicy::from_config(Some("none")).unwrap();
        assert_eq!(none, ProxyPolicy::Disabled);
        assert_eq!(chosen(&none, API, &vars), None);
        assert_eq!(
            ProxyPolicy::from_config(None).unwrap(),
            ProxyPolicy::Environment
        );
    }

    #[test]
    fn proxy_credentials_never_show() {
        let policy = ProxyPolicy::from_config(Some(SECRET_PROXY)).unwrap();
        let shown = format!("{policy:?}");
        assert_eq!(shown, "Url(ProxyUrl(http://proxy.corp:3128))");
        let ProxyPolicy::Url(url) = &policy else {
            panic!("not a URL policy")
        };
        assert_eq!(url.to_string(), "http://proxy.corp:3128");
        assert!(url.secrets().contains(&"s3cret-pw".to_owned()));
        for bad in [
            "socks5://alice:s3cret-pw@proxy.corp:1080",
            "http://alice:s3cret-pw@",
            "ftp://alice:s3cret-pw@proxy.corp",
        ] {
            let err = ProxyPolicy::from_config(Some(bad)).unwrap_err();
            assert_eq!(err.kind(), crate::ErrorKind::Config);
            assert!(!err.to_string().contains("s3cret"), "{err}");
            assert!(err.to_string().contains("[optimizely] proxy"), "{err}");
        }
        let err = choose(
            &ProxyPolicy::Environment,
            &Url::parse(API).unwrap(),
            env(&[("HTTPS_PROXY", "gopher://alice:s3cret-pw@x")]),
        )
        .unwrap_err();
        assert!(!err.to_string().contains("s3cret"), "{err}");
        assert!(err.to_string().contains("HTTPS_PROXY"), "{err}");
    }
}
