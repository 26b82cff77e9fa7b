//! The client's settings and their validation (no I/O): where the API is, which token, the
//! quota, the per-attempt timeout and the retry budget. `api_url` must be https unless it
//! points at this machine (the fake server, a local proxy).

use std::net::IpAddr;
use std::time::Duration;

use url::{Host, Url};

use crate::error::Error;
use crate::rate_limit::RateLimit;
use crate::retry::Backoff;
use crate::token::ApiToken;

/// The public API.
pub const DEFAULT_API_URL: &str = "https://api.optimizely.com/v2";

/// Optimizely Data Platform's REST API in the US region (docs/ODP-API.md#hosts).
pub const DEFAULT_ODP_API_URL: &str = "https://api.zaius.com/v3";

/// Which API a client speaks: how its key is sent, how its errors read, and which part of
/// the config a message points to.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum Api {
    /// Optimizely's REST API v2: `Authorization: Bearer <personal access token>`.
    #[default]
    Optimizely,
    /// Optimizely Data Platform's REST API v3: `x-api-key: <private key>`.
    Odp,
}

impl Api {
    /// The config table that configures it.
    pub fn config_table(self) -> &'static str {
        match self {
            Api::Optimizely => "[optimizely]",
            Api::Odp => "[odp]",
        }
    }

    /// Its name in messages.
    pub fn name(self) -> &'static str {
        match self {
            Api::Optimizely => "Optimizely's API",
            Api::Odp => "ODP's API",
        }
    }

    /// What a 401 or 403 means, after "authentication failed".
    pub(crate) fn auth_hint(self) -> &'static str {
        match self {
            Api::Optimizely => {
                "the token is invalid, revoked, or has no access to this object (SDK keys and datafile access tokens cannot be used)"
            }
            Api::Odp => {
                "the ODP key is invalid or revoked, or is the public key where the private key is needed (Settings > APIs in ODP)"
            }
        }
    }
}

/// Settings for a [`Client`](crate::Client).
#[derive(Debug, Clone)]
pub struct ClientConfig {
    /// Which API: Optimizely's (the default) or ODP's.
    pub api: Api,
    /// Base URL, e.g. `https://api.optimizely.com/v2`.
    pub api_url: Url,
    /// The personal access token.
    pub token: ApiToken,
    /// The quota; `None` chooses the product's default once the project is known
    /// ([`RateLimit::for_product`]), and a conservative one before.
    pub rate_limit: Option<RateLimit>,
    /// Time allowed for one attempt (connect, send, full answer).
    pub timeout: Duration,
    /// Attempts per request, the first included.
    pub max_attempts: u32,
    /// `User-Agent` header.
    pub user_agent: String,
    /// Backoff between retries and on 429/503 without a server-given wait.
    pub backoff: Backoff,
    /// A quota shared with other processes using the same token, asked before every
    /// attempt after the in-process limiter; `None` limits this process alone.
    pub shared_quota: Option<std::sync::Arc<dyn crate::SharedQuota>>,
}

impl ClientConfig {
    /// Defaults: the public API, product rate limits, 30 s per attempt, 5 attempts.
    pub fn new(token: ApiToken) -> Self {
        ClientConfig {
            api: Api::Optimizely,
            // A constant that parses: a failure here is a bug caught by the unit tests.
            api_url: Url::parse(DEFAULT_API_URL).expect("DEFAULT_API_URL is a valid URL"),
            token,
            rate_limit: None,
            timeout: Duration::from_secs(30),
            max_attempts: 5,
            user_agent: format!("optisync/{}", env!("CARGO_PKG_VERSION")),
            backoff: Backoff::default(),
            shared_quota: None,
        }
    }

    /// ODP's defaults: the US host, 10 requests a second (the Profiles API's documented
    /// limit, docs/ODP-API.md#rate-limits), 30 s per attempt, 5 attempts.
    pub fn odp(key: ApiToken) -> Self {
        ClientConfig {
            api: Api::Odp,
            // A constant that parses: a failure here is a bug caught by the unit tests.
            api_url: Url::parse(DEFAULT_ODP_API_URL).expect("DEFAULT_ODP_API_URL is a valid URL"),
            rate_limit: Some(RateLimit {
                per_second: Some(10),
                per_minute: None,
            }),
            ..ClientConfig::new(key)
        }
    }

    /// Checks the settings without touching the network.
    pub fn validate(&self) -> Result<(), Error> {
        validate_api_url(&self.api_url)?;
        if self.token.is_empty() {
            return Err(Error::config("the API token is empty"));
        }
        if !self.token.expose().bytes().all(|b| b.is_ascii_graphic()) {
            return Err(Error::config(format!(
                "the API token ({}) contains spaces or non-ASCII characters; paste the token exactly as Optimizely shows it",
                self.token
            )));
        }
        if self.max_attempts == 0 {
            return Err(Error::config("max_attempts must be at least 1"));
        }
        if self.timeout.is_zero() {
            return Err(Error::config(
                "the request timeout must be longer than zero",
            ));
        }
        if let Some(limit) = self.rate_limit
            && (limit.per_second == Some(0) || limit.per_minute == Some(0))
        {
            {
                return Err(Error::config(
                    "a rate limit of 0 would never send a request",
                ));
            }
        }
        Ok(())
    }
}

/// https anywhere; plain http only to a loopback host, where nothing crosses a network.
///
/// Credentials are refused first, and no message shows them: the URL in a message is shown
/// without user, password, query and fragment.
pub fn validate_api_url(url: &Url) -> Result<(), Error> {
    if !url.username().is_empty() || url.password().is_some() {
        return Err(Error::config(
            "api_url must not contain credentials (user:password@); remove them: the token is sent in the Authorization header",
        ));
    }
    let shown = shown(url);
    if url.cannot_be_a_base() || url.host().is_none() {
        return Err(Error::config(format!(
            "api_url {shown} is not an http(s) base URL; write e.g. \"{DEFAULT_API_URL}\""
        )));
    }
    if url.query().is_some() || url.fragment().is_some() {
        return Err(Error::config(format!(
            "api_url {shown} must not have a query (?…) or fragment (#…); remove it"
        )));
    }
    match url.scheme() {
        "https" => Ok(()),
        "http" if is_loopback(url) => Ok(()),
        "http" => Err(Error::config(format!(
            "api_url {shown} uses plain http to a remote host, which would send the token unencrypted; use https (http is only allowed for 127.0.0.1, ::1 and localhost)"
        ))),
        other => Err(Error::config(format!(
            "api_url {shown} has scheme {other}; use https"
        ))),
    }
}

/// `url` for a message: scheme, host, port and path, never user, password, query or
/// fragment, any of which may hold a secret.
fn shown(url: &Url) -> String {
    let mut shown = url.clone();
    // Both fail only for URLs that cannot have credentials, which is what is wanted.
    let _ = shown.set_username("");
    let _ = shown.set_password(None);
    shown.set_query(None);
    shown.set_fragment(None);
    shown.to_string()
}

fn is_loopback(url: &Url) -> bool {
    match url.host() {
        Some(Host::Domain(d)) => d.eq_ignore_ascii_case("localhost"),
        Some(Host::Ipv4(ip)) => IpAddr::V4(ip).is_loopback(),
        Some(Host::Ipv6(ip)) => IpAddr::V6(ip).is_loopback(),
        None => false,
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)] // a failing unwrap is a failing test
mod tests {
    use super::*;
    use crate::ErrorKind;

    fn check(url: &str) -> Result<(), Error> {
        validate_api_url(&Url::parse(url).unwrap())
    }

    #[test]
    fn defaults() {
        let config = ClientConfig::new(ApiToken::new("2:abcdefghijklmnopqrstuvwxyz"));
        assert_eq!(config.api_url.as_str(), "https://api.optimizely.com/v2");
        assert_eq!(config.timeout, Duration::from_secs(30));
        assert_eq!(config.max_attempts, 5);
        assert!(config.user_agent.starts_with("optisync/"));
        assert!(config.validate().is_ok());
    }

    #[test]
    fn https_or_loopback_only() {
        assert!(check("https://api.optimizely.com/v2").is_ok());
        assert!(check("http://127.0.0.1:4010/v2").is_ok());
        assert!(check("http://127.8.9.1/v2").is_ok());
        assert!(check("http://[::1]:4010/v2").is_ok());
        assert!(check("http://LocalHost:4010/v2").is_ok());
        let err = check("http://api.optimizely.com/v2").unwrap_err();
        assert_eq!(err.kind(), ErrorKind::Config);
        assert!(err.to_string().contains("https"));
        assert!(check("http://10.0.0.1/v2").is_err());
        assert!(check("http://localhost.evil.com/v2").is_err());
        assert!(check("ftp://127.0.0.1/v2").is_err());
        assert!(check("https://user:pw@api.optimizely.com/v2").is_err());
    }

    #[test]
    fn no_message_shows_credentials_query_or_fragment() {
        for url in [
            "http://user:hunter2@10.0.0.1/v2",
            "https://user:hunter2@api.example.com/v2?key=hunter2",
            "ftp://user:hunter2@127.0.0.1/v2",
            "https://hunter2@api.example.com/v2",
            "https://:hunter2@api.example.com/v2",
            "https://api.example.com/v2?token=hunter2",
            "https://api.example.com/v2#hunter2",
            "http://10.0.0.1/v2?token=hunter2",
        ] {
            let err = check(url).unwrap_err();
            assert_eq!(err.kind(), ErrorKind::Config, "{url}");
            assert!(!err.to_string().contains("hunter2"), "{url}: {err}");
        }
        let err = check("http://user:hunter2@10.0.0.1/v2").unwrap_err();
        assert!(
            err.to_string().contains("must not contain credentials"),
            "{err}"
        );
    }

    #[test]
    fn bad_tokens_are_config_errors_without_the_token() {
        let config = ClientConfig::new(ApiToken::new("2:abc def-ghijklmnopqrstuvwxyz"));
        let err = config.validate().unwrap_err();
        assert_eq!(err.kind(), ErrorKind::Config);
        assert!(!err.to_string().contains("abc def"));
    }
}
