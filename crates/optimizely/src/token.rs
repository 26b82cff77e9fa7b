//! The API token as a redacting type: it can be logged, debugged and stored in configs that
//! derive `Debug` without ever printing the secret. The only way to the clear text is
//! [`ApiToken::expose`], which the client calls when it builds the `Authorization` header.

use std::fmt;

/// How many characters of the token may be shown (docs/PRODUCT-RULES.md#token: "at most its last 4").
const SHOWN: usize = 4;

/// Tokens shorter than this are shown as `***` only: revealing 4 characters of a short token
/// would reveal too large a share of it.
const MIN_LEN_TO_SHOW_TAIL: usize = 16;

/// An Optimizely personal access token (or OAuth access token).
///
/// `Debug` prints `ApiToken(***abcd)` and `Display` prints `***abcd`: at most the last four
/// characters, and none for short values.
#[derive(Clone, PartialEq, Eq)]
pub struct ApiToken(String);

impl ApiToken {
    /// Wraps a token. Surrounding whitespace (a trailing newline from a token file) is removed,
    /// because it can never be part of a valid token and would break the header.
    pub fn new(token: impl Into<String>) -> Self {
        let raw: String = token.into();
        let trimmed = raw.trim();
        if trimmed.len() == raw.len() {
            ApiToken(raw)
        } else {
            ApiToken(trimmed.to_owned())
        }
    }

    /// The secret in clear. Use it only to build the `Authorization` header.
    pub fn expose(&self) -> &str {
        &self.0
    }

    /// The last four characters, when the token is long enough for them to be shown safely.
    pub fn last4(&self) -> Option<&str> {
        if self.0.chars().count() < MIN_LEN_TO_SHOW_TAIL {
            return None;
        }
        let start = self
            .0
            .char_indices()
            .rev()
            .nth(SHOWN - 1)
            .map_or(0, |(i, _)| i);
        Some(&self.0[start..])
    }

    /// True when the value has the shape of an SDK key (20 to 24 ASCII letters and digits),
    /// which the REST API does not accept. A hint for a warning, never a reason to refuse:
    /// OAuth tokens have no documented shape.
    pub fn looks_like_sdk_key(&self) -> bool {
        (20..=24).contains(&self.0.len()) && self.0.bytes().all(|b| b.is_ascii_alphanumeric())
    }

    /// True when the token is empty.
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// Replaces every occurrence of the token in `text` by its redacted form. Used on text
    /// that came back from the server or the network stack, which could echo the header.
    pub(crate) fn scrub(&self, text: &str) -> String {
        if self.0.len() < SHOWN || !text.contains(self.0.as_str()) {
            return text.to_owned();
        }
        text.replace(self.0.as_str(), &self.to_string())
    }
}

impl From<String> for ApiToken {
    fn from(value: String) -> Self {
        ApiToken::new(value)
    }
}

impl From<&str> for ApiToken {
    fn from(value: &str) -> Self {
        ApiToken::new(value)
    }
}

impl fmt::Display for ApiToken {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.last4() {
            Some(tail) => write!(f, "***{tail}"),
            None => f.write_str("***"),
        }
    }
}

impl fmt::Debug for ApiToken {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "ApiToken({self})")
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)] // a failing unwrap is a failing test
mod tests {
    use super::*;

    const PERSONAL: &str = "2:abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ01";

    #[test]
    fn debug_and_display_show_only_the_last_four() {
        let token = ApiToken::new(PERSONAL);
        assert_eq!(format!("{token:?}"), "ApiToken(***YZ01)");
        assert_eq!(token.to_string(), "***YZ01");
        assert!(!format!("{token:?}").contains("abcdefgh"));
    }

    #[test]
    fn short_tokens_show_nothing() {
        let token = ApiToken::new("secret");
        assert_eq!(format!("{token:?}"), "ApiToken(***)");
        assert_eq!(token.last4(), None);
    }

    #[test]
    fn a_config_that_derives_debug_stays_safe() {
        #[derive(Debug)]
        #[allow(dead_code)]
        struct Config {
            token: ApiToken,
        }
        let shown = format!(
            "{:?}",
            Config {
                token: ApiToken::new(PERSONAL)
            }
        );
        assert!(!shown.contains(PERSONAL));
        assert!(shown.contains("***YZ01"));
    }

    #[test]
    fn whitespace_from_a_token_file_is_trimmed() {
        assert_eq!(ApiToken::new(format!("{PERSONAL}\n")).expose(), PERSONAL);
    }

    #[test]
    fn last4_is_char_safe() {
        let token = ApiToken::new("ééééééééééééééééééé€€€€");
        assert_eq!(token.last4(), Some("€€€€"));
    }

    #[test]
    fn sdk_key_shape() {
        assert!(ApiToken::new("AbCdEf1234567890XyZ12").looks_like_sdk_key());
        assert!(ApiToken::new("AbCdEf1234567890XyZ123").looks_like_sdk_key());
        assert!(!ApiToken::new(PERSONAL).looks_like_sdk_key());
        assert!(!ApiToken::new("AbCdEf1234567890XyZ").looks_like_sdk_key());
        assert!(!ApiToken::new("AbCdEf1234567890XyZ1234_").looks_like_sdk_key());
    }

    #[test]
    fn scrub_removes_the_secret() {
        let token = ApiToken::new(PERSONAL);
        let text = format!("bad header Bearer {PERSONAL}!");
        assert_eq!(token.scrub(&text), "bad header Bearer ***YZ01!");
    }
}
