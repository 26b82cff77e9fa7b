//! Item rules checked before anything is sent: list member ids (docs/PRODUCT-RULES.md#list-item-rules), keys of
//! attributes and custom events, custom event categories, the size of a whole list, and the
//! personal-data heuristic behind the PII guardrail. Pure checks; the planner decides what a
//! failed check means for the run. Also which characters are hidden ([`is_hidden_char`]):
//! controls and invisible formatting, refused in list ids and escaped in messages.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

use crate::error::ParseNameError;
use crate::object::parse_enum_name;
use crate::value::shown;

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
    /// Holds a control or invisible character (see [`is_hidden_char`]).
    HiddenChar {
        /// The character.
        char: char,
        /// Its position, in characters from 1.
        at: usize,
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
            ListIdProblem::HiddenChar { char, at } => write!(
                f,
                "user_id contains the control or invisible character U+{:04X} at character {at}; \
                 an id holding it would not match the one your site sends, so remove it in the \
                 model (e.g. with regexp_replace)",
                u32::from(*char)
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
    // Printable ASCII, what nearly every id is, holds no hidden character.
    if !id.bytes().all(|b| (0x20..0x7f).contains(&b))
        && let Some((at, char)) = id.chars().enumerate().find(|(_, c)| is_hidden_char(*c))
    {
        return Err(ListIdProblem::HiddenChar { char, at: at + 1 });
    }
    Ok(())
}

/// Whether `id` is an ordinary list id, one that [`check_list_id`] accepts and
/// [`looks_like_pii`] does not flag, found in one pass over its bytes: 1 to
/// [`MAX_LIST_ID_CHARS`] bytes of printable ASCII, no space at either end, no comma, no `@`,
/// and either some byte no phone number holds or neither a `+` nor a separator. Nearly every
/// id is; `false` only means the full checks must decide.
pub fn is_plain_list_id(id: &str) -> bool {
    is_plain_list_id_bytes(id.as_bytes())
}

/// [`is_plain_list_id`] of an id's bytes: only ASCII passes, so bytes that pass are text.
#[inline]
pub(crate) fn is_plain_list_id_bytes(bytes: &[u8]) -> bool {
    let (Some(&first), Some(&last)) = (bytes.first(), bytes.last()) else {
        return false;
    };
    if bytes.len() > MAX_LIST_ID_CHARS || first == b' ' || last == b' ' {
        return false;
    }
    let mut printable = true;
    let mut phone_bytes_only = true;
    let mut plus_or_separator = false;
    for &b in bytes {
        printable &= is_plain_byte(b);
        let separator = is_phone_separator(b);
        phone_bytes_only &= b.is_ascii_digit() || separator;
        plus_or_separator |= separator;
    }
    printable && (!phone_bytes_only || !plus_or_separator)
}

/// A byte a plain list id may hold: printable ASCII, not a comma (the list's separator), not
/// `@` (an email's).
#[inline]
fn is_plain_byte(b: u8) -> bool {
    (0x20..0x7f).contains(&b) && b != b',' && b != b'@'
}

/// A byte a phone number holds besides its digits.
#[inline]
fn is_phone_separator(b: u8) -> bool {
    matches!(b, b' ' | b'-' | b'.' | b'(' | b')' | b'+')
}

/// Whether every id laid end to end in `text`, each ending at the next of `ends` (offsets
/// into `text`, increasing), is [`is_plain_list_id`]: the same answer as asking of each id,
/// found faster. The bytes are checked over the whole text at once, in blocks the compiler
/// can check many bytes at a time; then each id's length, its ends, and a byte no phone
/// number holds, which is nearly always its first.
pub(crate) fn are_plain_list_ids(text: &[u8], ends: &[usize]) -> bool {
    let used = ends.last().copied().unwrap_or(0);
    let Some(used_text) = text.get(..used) else {
        return false;
    };
    if !used_text.chunks(64).all(|block| {
        block
            .iter()
            .fold(true, |plain, &b| plain & is_plain_byte(b))
    }) {
        return false;
    }
    let mut start = 0;
    ends.iter().all(|&end| {
        let Some(id) = text.get(start..end) else {
            return false;
        };
        start = end;
        let (Some(&first), Some(&last)) = (id.first(), id.last()) else {
            return false;
        };
        id.len() <= MAX_LIST_ID_CHARS
            && first != b' '
            && last != b' '
            && (id
                .iter()
                .any(|&b| !b.is_ascii_digit() && !is_phone_separator(b))
                || !id.iter().any(|&b| is_phone_separator(b)))
    })
}

/// Whether a character is a control character or invisible formatting: C0 and C1 controls
/// (line feed, carriage return, NUL, tab, escape, …) and DEL; zero-width characters
/// (U+200B to U+200D, U+2060, the byte order mark U+FEFF, the soft hyphen U+00AD); marks
/// and overrides of writing direction (U+061C, U+200E, U+200F, U+202A to U+202E, U+2066 to
/// U+2069); line and paragraph separators (U+2028, U+2029); invisible operators and tags
/// (U+2061 to U+2064, U+206A to U+206F, U+FFF9 to U+FFFB, U+E0000 to U+E007F). Such a
/// character changes an id without showing, and in a terminal it can move the cursor or
/// reverse the text around it.
pub fn is_hidden_char(c: char) -> bool {
    c.is_control()
        || matches!(
            c,
            '\u{00AD}'
                | '\u{061C}'
                | '\u{180E}'
                | '\u{200B}'..='\u{200F}'
                | '\u{2028}'..='\u{202E}'
                | '\u{2060}'..='\u{206F}'
                | '\u{FEFF}'
                | '\u{FFF9}'..='\u{FFFB}'
                | '\u{E0000}'..='\u{E007F}'
        )
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
            // The text comes from a row: it may be long or hold control characters.
            e.given = shown(s);
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

    proptest::proptest! {
        /// Asked of a whole column at once or of each id, the answer is the same.
        #[test]
        fn plain_ids_are_found_alike_in_a_column_and_one_by_one(
            ids in proptest::collection::vec(
                proptest::prop_oneof![
                    "[a-z0-9_-]{1,20}",
                    "[0-9 .()+-]{1,16}",
                    "[ -~]{0,12}",
                    "\\PC{0,6}",
                ],
                0..12,
            ),
            long in proptest::bool::ANY,
        ) {
            let mut ids = ids;
            if long {
                ids.push("x".repeat(MAX_LIST_ID_CHARS + 1));
            }
            let text: String = ids.concat();
            let ends: Vec<usize> = ids
                .iter()
                .scan(0, |end, id| {
                    *end += id.len();
                    Some(*end)
                })
                .collect();
            let one_by_one = ids.iter().all(|id| is_plain_list_id(id));
            proptest::prop_assert_eq!(are_plain_list_ids(text.as_bytes(), &ends), one_by_one);
        }
    }

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
    fn list_ids_with_hidden_characters_are_refused() {
        for (id, char, at) in [
            ("u\n1", '\n', 2),
            ("u1\r", '\r', 3),
            ("\0u1", '\0', 1),
            ("u\t1", '\t', 2),
            ("u\u{1b}[2J", '\u{1b}', 2),
            ("u\u{7f}", '\u{7f}', 2),
            ("u\u{85}1", '\u{85}', 2),
            ("u\u{9b}1", '\u{9b}', 2),
            ("u\u{200b}1", '\u{200b}', 2),
            ("u\u{200c}1", '\u{200c}', 2),
            ("u\u{200d}1", '\u{200d}', 2),
            ("u\u{2060}1", '\u{2060}', 2),
            ("\u{feff}u1", '\u{feff}', 1),
            ("u1\u{202e}", '\u{202e}', 3),
            ("é\u{2066}", '\u{2066}', 2),
            ("u\u{2028}1", '\u{2028}', 2),
            ("u\u{e0041}", '\u{e0041}', 2),
        ] {
            assert_eq!(
                check_list_id(id),
                Err(ListIdProblem::HiddenChar { char, at }),
                "{id:?}"
            );
        }
        for fine in ["u1", "user 1", "ünïcødé-42", "用户", "a~b!c"] {
            assert_eq!(check_list_id(fine), Ok(()), "{fine}");
        }
        let message = check_list_id("a\u{202e}b").unwrap_err().to_string();
        assert!(message.contains("U+202E at character 2"), "{message}");
        assert!(!message.chars().any(is_hidden_char), "{message}");
    }

    /// Every string of up to four characters over an alphabet of the bytes the checks care
    /// about, and longer ones built from them: a plain id is one the full checks accept
    /// unchanged and do not flag.
    #[test]
    fn a_plain_list_id_passes_every_full_check() {
        let alphabet = [
            "a", "Z", "0", "7", " ", ",", "@", ".", "-", "(", ")", "+", "_", "~", "\t", "é",
            "\u{7f}",
        ];
        let mut ids = vec![String::new()];
        let mut frontier = vec![String::new()];
        for _ in 0..4 {
            frontier = frontier
                .iter()
                .flat_map(|s| alphabet.iter().map(move |c| format!("{s}{c}")))
                .collect();
            ids.extend(frontier.iter().cloned());
        }
        for phone_like in [
            "0123456789",
            "+4915112345678",
            "(030) 1234-5678",
            "1234567890123456",
        ] {
            ids.push(phone_like.to_owned());
        }
        ids.extend(["a@b.co".to_owned(), "x".repeat(100), "x".repeat(101)]);
        let mut plain = 0;
        for id in &ids {
            if is_plain_list_id(id) {
                plain += 1;
                assert_eq!(id.trim(), id, "{id:?}");
                assert_eq!(check_list_id(id), Ok(()), "{id:?}");
                assert_eq!(looks_like_pii(id), None, "{id:?}");
            }
        }
        assert!(plain > ids.len() / 10, "{plain} of {}", ids.len());
        for ordinary in [
            "user_000123",
            "0123456789",
            "a1b2",
            "x".repeat(100).as_str(),
            "c-42.7",
        ] {
            assert!(is_plain_list_id(ordinary), "{ordinary}");
        }
        for other in [
            "",
            " u1",
            "u1 ",
            "a,b",
            "a@b.co",
            "+4915112345678",
            "ü1",
            "u\t1",
        ] {
            assert!(!is_plain_list_id(other), "{other:?}");
        }
    }

    #[test]
    fn a_category_from_a_row_is_shown_bounded() {
        let given = format!("\u{1b}]0;{}", "x".repeat(100_000));
        let message = given.parse::<EventCategory>().unwrap_err().to_string();
        assert!(message.len() < 400, "{message}");
        assert!(message.contains("(100004 bytes)"), "{message}");
        assert!(!message.chars().any(is_hidden_char), "{message}");
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
