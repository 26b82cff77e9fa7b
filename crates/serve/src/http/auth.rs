//! Who may call what. Mutating endpoints (trigger, pause, resume) always need the API token;
//! read endpoints need it when the service is told so (by default: when bound to anything but
//! loopback). The token is compared in constant time, and no answer hints at it.

use std::fmt;

use axum::http::HeaderMap;
use axum::http::header::AUTHORIZATION;
use subtle::ConstantTimeEq;

/// The API token `serve` accepts, from the environment or a file. Never printed.
#[derive(Clone)]
pub struct ApiToken(String);

impl ApiToken {
    /// A token; `None` when `text` is empty after trimming.
    pub fn new(text: &str) -> Option<ApiToken> {
        let text = text.trim();
        (!text.is_empty()).then(|| ApiToken(text.to_owned()))
    }

    /// Whether `given` is this token, in time independent of where they differ.
    fn matches(&self, given: &str) -> bool {
        bool::from(self.0.as_bytes().ct_eq(given.as_bytes()))
    }
}

impl fmt::Debug for ApiToken {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("ApiToken(<redacted>)")
    }
}

/// Who may call what.
#[derive(Debug, Clone)]
pub struct Access {
    /// The token; without one, mutating endpoints are disabled.
    pub token: Option<ApiToken>,
    /// Whether read endpoints need the token too.
    pub reads_need_token: bool,
}

/// Why a request is refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Refusal {
    /// No token, or the wrong one (401).
    Unauthorized,
    /// The endpoint needs a token and none is configured (403).
    NoTokenConfigured,
}

impl Access {
    /// Checks a request to a mutating endpoint.
    pub fn check_write(&self, headers: &HeaderMap) -> Result<(), Refusal> {
        match &self.token {
            None => Err(Refusal::NoTokenConfigured),
            Some(token) => check(token, headers),
        }
    }

    /// Checks a request to a read endpoint.
    pub fn check_read(&self, headers: &HeaderMap) -> Result<(), Refusal> {
        if !self.reads_need_token {
            return Ok(());
        }
        match &self.token {
            None => Err(Refusal::NoTokenConfigured),
            Some(token) => check(token, headers),
        }
    }

    /// Whether a form posted from the status page may change something: the token typed in
    /// its token field (or a bearer token, as for the API). A page on another site cannot
    /// post it, not knowing the token.
    pub fn check_form(&self, headers: &HeaderMap, typed: Option<&str>) -> Result<(), Refusal> {
        let Some(token) = &self.token else {
            return Err(Refusal::NoTokenConfigured);
        };
        match typed.map(str::trim) {
            Some(typed) if !typed.is_empty() => {
                if token.matches(typed) {
                    Ok(())
                } else {
                    Err(Refusal::Unauthorized)
                }
            }
            _ => check(token, headers),
        }
    }

    /// Whether changes can be made at all (a token is configured).
    pub fn writes_enabled(&self) -> bool {
        self.token.is_some()
    }
}

fn check(token: &ApiToken, headers: &HeaderMap) -> Result<(), Refusal> {
    let given = headers
        .get(AUTHORIZATION)
        .and_then(|value| value.to_str().ok())
        .and_then(|value| {
            let (scheme, rest) = value.split_once(' ')?;
            scheme.eq_ignore_ascii_case("bearer").then(|| rest.trim())
        })
        .ok_or(Refusal::Unauthorized)?;
    if token.matches(given) {
        Ok(())
    } else {
        Err(Refusal::Unauthorized)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn headers(value: &str) -> HeaderMap {
        let mut headers = HeaderMap::new();
        headers.insert(AUTHORIZATION, value.parse().unwrap());
        headers
    }

    #[test]
    fn only_the_right_bearer_token_passes() {
        let access = Access {
            token: ApiToken::new("s3cret-token"),
            reads_need_token: false,
        };
        assert_eq!(access.check_write(&headers("Bearer s3cret-token")), Ok(()));
        assert_eq!(access.check_write(&headers("bearer s3cret-token")), Ok(()));
        for wrong in [
            "Bearer s3cret-toke",
            "Bearer s3cret-token2",
            "Basic s3cret-token",
            "s3cret-token",
            "Bearer ",
        ] {
            assert_eq!(
                access.check_write(&headers(wrong)),
                Err(Refusal::Unauthorized),
                "{wrong}"
            );
        }
        assert_eq!(
            access.check_write(&HeaderMap::new()),
            Err(Refusal::Unauthorized)
        );
        assert_eq!(access.check_read(&HeaderMap::new()), Ok(()));
    }

    #[test]
    fn without_a_token_writes_are_disabled_and_reads_follow_the_setting() {
        let access = Access {
            token: None,
            reads_need_token: false,
        };
        assert_eq!(
            access.check_write(&headers("Bearer anything")),
            Err(Refusal::NoTokenConfigured)
        );
        assert_eq!(access.check_read(&HeaderMap::new()), Ok(()));
        let access = Access {
            token: ApiToken::new("t"),
            reads_need_token: true,
        };
        assert_eq!(
            access.check_read(&HeaderMap::new()),
            Err(Refusal::Unauthorized)
        );
        assert_eq!(access.check_read(&headers("Bearer t")), Ok(()));
        assert!(ApiToken::new("  ").is_none());
        assert_eq!(
            format!("{:?}", ApiToken::new("t").unwrap()),
            "ApiToken(<redacted>)"
        );
    }
}
