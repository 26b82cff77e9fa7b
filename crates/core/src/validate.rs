//! Item rules checked before anything is sent: list member ids (PRODUCT.md §4.1), keys of
//! attributes and custom events, custom event categories, the size of a whole list, and the
//! personal-data heuristic behind the PII guardrail. Pure checks; the planner decides what a
//! failed check means for the run.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

use crate::error::ParseNameError;
use crate::object::parse_enum_name;

/// Longest list member id, in characters (the limit of Optimizely's list uploads).
pub const MAX_LIST_ID_CHARS: usize = 100;

/// Largest `list_content` optisync sends, in bytes of the comma-joined list. Optimizely
/// documents 5 MB for list uploads; the decimal megabyte is the safer reading.
pub const MAX_LIST_CONTENT_BYTES: usize = 5_000_000;

/// Longest attribute or custom event key, in characters.
pub const MAX_KEY_CHARS: usize = 64;

/// What to do when a list is too large.
pub const LIST_TOO_LARGE_HINT: &str =
    "split the audience across several list attributes and OR them in one audience";

/// Why a list member id cannot be sent.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ListIdProblem {
    /// Null, or empty after trimming.
    Empty,
    /// Contains the list separator.
    Comma,
    /// Longer than [`MAX_LIST_ID_CHARS`].
    TooLong {
        /// Its length in characters.
        chars: usize,
    },
}

impl fmt::Display for ListIdProblem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ListIdProblem::Empty => f.write_str("user_id is null or empty"),
            ListIdProblem::Comma => f.write_str(
                "user_id contains a comma, which separates members in Optimizely's list content",
            ),
            ListIdProblem::TooLong { chars } => write!(
                f,
                "user_id is {chars} characters long; list members can be at most {MAX_LIST_ID_CHARS}"
            ),
        }
    }
}

/// Checks one list member id (already trimmed, see [`Value::as_id_text`](crate::Value::as_id_text)).
pub fn check_list_id(id: &str) -> Result<(), ListIdProblem> {
    if id.is_empty() {
        return Err(ListIdProblem::Empty);
    }
    if id.contains(',') {
        return Err(ListIdProblem::Comma);
    }
    // Byte length bounds character count from above, so most ids skip the char walk.
    if id.len() > MAX_LIST_ID_CHARS {
        let chars = id.chars().count();
        if chars > MAX_LIST_ID_CHARS {
            return Err(ListIdProblem::TooLong { chars });
        }
    }
    Ok(())
}

/// The byte length of the comma-joined list, computed without joining it.
pub fn list_content_len(ids: &[String]) -> usize {
    ids.iter().map(String::len).sum::<usize>() + ids.len().saturating_sub(1)
}

/// Splits a `list_content` string as Optimizely returns it into trimmed, non-empty ids.
/// Newlines count as separators too, since uploaded files hold one id per line.
pub fn split_list_content(content: &str) -> Vec<String> {
    content
        .split([',', '\n', '\r'])
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .map(str::to_owned)
        .collect()
}

/// Checks an attribute or custom event key: 1 to 64 characters of letters, digits, `_`,
/// `-`, `.` and space (the API's pattern). Returns the reason when it fails.
pub fn check_key(key: &str) -> Result<(), String> {
    if key.is_empty() {
        return Err("key is null or empty".to_owned());
    }
    let chars = key.chars().count();
    if chars > MAX_KEY_CHARS {
        return Err(format!(
            "key is {chars} characters long; at most {MAX_KEY_CHARS} are allowed"
        ));
    }
    if let Some(bad) = key
        .chars()
        .find(|c| !(c.is_ascii_alphanumeric() || matches!(c, '_' | '-' | '.' | ' ')))
    {
        return Err(format!(
            "key contains {bad:?}; only letters, digits, `_`, `-`, `.` and spaces are allowed"
        ));
    }
    Ok(())
}

/// A custom event's category (the API's enum).
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Default, Serialize, Deserialize,
)]
#[serde(rename_all = "snake_case")]
pub enum EventCategory {
    /// `add_to_cart`
    AddToCart,
    /// `save`
    Save,
    /// `search`
    Search,
    /// `share`
    Share,
    /// `purchase`
    Purchase,
    /// `convert`
    Convert,
    /// `sign_up`
    SignUp,
    /// `subscribe`
    Subscribe,
    /// `other`, the API's default.
    #[default]
    Other,
}

impl EventCategory {
    /// Every category.
    pub const ALL: [EventCategory; 9] = [
        EventCategory::AddToCart,
        EventCategory::Save,
        EventCategory::Search,
        EventCategory::Share,
        EventCategory::Purchase,
        EventCategory::Convert,
        EventCategory::SignUp,
        EventCategory::Subscribe,
        EventCategory::Other,
    ];

    /// The API spelling.
    pub fn as_str(self) -> &'static str {
        match self {
            EventCategory::AddToCart => "add_to_cart",
            EventCategory::Save => "save",
            EventCategory::Search => "search",
            EventCategory::Share => "share",
            EventCategory::Purchase => "purchase",
            EventCategory::Convert => "convert",
            EventCategory::SignUp => "sign_up",
            EventCategory::Subscribe => "subscribe",
            EventCategory::Other => "other",
        }
    }
}

impl fmt::Display for EventCategory {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for EventCategory {
    type Err = ParseNameError;
    /// Accepts the API spelling in any case, with surrounding spaces.
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let normal = s.trim().to_ascii_lowercase();
        parse_enum_name(
            "category",
            &normal,
            &EventCategory::ALL,
            EventCategory::as_str,
        )
        .map_err(|mut e| {
            e.given = s.to_owned();
            e
        })
    }
}

/// The kind of personal data an id seems to be.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum PiiKind {
    /// Looks like an e-mail address.
    Email,
    /// Looks like a phone number.
    Phone,
}

/// Whether an id looks like personal data. Deliberately narrow, because a guardrail that
/// fires on ordinary ids gets switched off: plain digit strings are never taken for phone
/// numbers (numeric user ids are common); a phone number needs a leading `+` with 8 to 15
/// digits, or phone-style separators (space, `-`, `.`, parentheses) with 10 to 15 digits.
pub fn looks_like_pii(id: &str) -> Option<PiiKind> {
    if looks_like_email(id) {
        Some(PiiKind::Email)
    } else if looks_like_phone(id) {
        Some(PiiKind::Phone)
    } else {
        None
    }
}

fn looks_like_email(id: &str) -> bool {
    let Some((local, domain)) = id.rsplit_once('@') else {
        return false;
    };
    if local.is_empty() || local.contains(char::is_whitespace) {
        return false;
    }
    let labels: Vec<&str> = domain.split('.').collect();
    let Some(tld) = labels.last() else {
        return false;
    };
    labels.len() >= 2
        && labels
            .iter()
            .all(|l| !l.is_empty() && l.chars().all(|c| c.is_alphanumeric() || c == '-'))
        && tld.chars().count() >= 2
        && tld.chars().all(char::is_alphabetic)
}

fn looks_like_phone(id: &str) -> bool {
    let (plus, rest) = match id.strip_prefix('+') {
        Some(rest) => (true, rest),
        None => (false, id),
    };
    let mut digits = 0usize;
    let mut separators = 0usize;
    for c in rest.chars() {
        match c {
            '0'..='9' => digits += 1,
            ' ' | '-' | '.' | '(' | ')' => separators += 1,
            _ => return false,
        }
    }
    if !rest.starts_with(|c: char| c.is_ascii_digit() || c == '(') {
        return false;
    }
    if plus {
        (8..=15).contains(&digits)
    } else {
        separators > 0 && (10..=15).contains(&digits)
    }
}

/// A sample of a personal-data id safe to print: enough to find it, not enough to read it.
pub fn mask_pii(id: &str) -> String {
    if let Some((local, domain)) = id.rsplit_once('@') {
        let first: String = local.chars().take(1).collect();
        return format!("{first}***@{domain}");
    }
    let chars: Vec<char> = id.chars().collect();
    let tail: String = chars[chars.len().saturating_sub(2)..].iter().collect();
    format!("***{tail}")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn list_id_rules() {
        assert_eq!(check_list_id(""), Err(ListIdProblem::Empty));
        assert_eq!(check_list_id("a,b"), Err(ListIdProblem::Comma));
        assert_eq!(check_list_id(&"x".repeat(100)), Ok(()));
        assert_eq!(
            check_list_id(&"x".repeat(101)),
            Err(ListIdProblem::TooLong { chars: 101 })
        );
        // 100 characters of 2 bytes each are still 100 characters.
        assert_eq!(check_list_id(&"é".repeat(100)), Ok(()));
        assert!(ListIdProblem::Comma.to_string().contains("comma"));
    }

    #[test]
    fn list_content_length_matches_the_joined_string() {
        let ids: Vec<String> = ["a", "bc", "def"].iter().map(|s| (*s).to_owned()).collect();
        assert_eq!(list_content_len(&ids), ids.join(",").len());
        assert_eq!(list_content_len(&[]), 0);
        assert_eq!(
            split_list_content(" a, b,,c\n d "),
            vec!["a", "b", "c", "d"]
        );
        assert!(split_list_content("").is_empty());
    }

    #[test]
    fn key_rules() {
        assert!(check_key("add_to_cart").is_ok());
        assert!(check_key("Plan tier-2.v1").is_ok());
        assert!(check_key(&"k".repeat(64)).is_ok());
        assert!(
            check_key(&"k".repeat(65))
                .unwrap_err()
                .contains("65 characters")
        );
        assert!(check_key("a/b").unwrap_err().contains("'/'"));
        assert!(check_key("é").is_err());
        assert!(check_key("").is_err());
    }

    #[test]
    fn categories_parse_in_any_case_and_default_to_other() {
        assert_eq!(
            "Add_To_Cart ".parse::<EventCategory>().unwrap(),
            EventCategory::AddToCart
        );
        assert_eq!(EventCategory::default(), EventCategory::Other);
        let e = "checkout".parse::<EventCategory>().unwrap_err();
        assert!(e.to_string().contains("sign_up, subscribe, other"), "{e}");
        for c in EventCategory::ALL {
            assert_eq!(serde_json::to_string(&c).unwrap(), format!("\"{c}\""));
        }
    }

    #[test]
    fn pii_heuristic_flags_emails_and_phones_but_not_plain_ids() {
        assert_eq!(looks_like_pii("jane.doe@example.com"), Some(PiiKind::Email));
        assert_eq!(looks_like_pii("a@b.co"), Some(PiiKind::Email));
        assert_eq!(looks_like_pii("+14155552671"), Some(PiiKind::Phone));
        assert_eq!(looks_like_pii("+44 20 7946 0958"), Some(PiiKind::Phone));
        assert_eq!(looks_like_pii("(415) 555-2671"), Some(PiiKind::Phone));
        assert_eq!(looks_like_pii("415-555-2671"), Some(PiiKind::Phone));
        for id in [
            "1234567890",
            "123456789012345",
            "u_42",
            "5f2b9c1e-8a1d-4c3e-9b7a-2d1e0f3a4b5c",
            "2024-01-15",
            "user@localhost",
            "@handle",
            "a@b.c0m",
            "+12",
        ] {
            assert_eq!(looks_like_pii(id), None, "{id}");
        }
    }

    #[test]
    fn pii_samples_are_masked() {
        assert_eq!(mask_pii("jane@example.com"), "j***@example.com");
        assert_eq!(mask_pii("+14155552671"), "***71");
    }
}
