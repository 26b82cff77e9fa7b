//! The message for a config file that is not valid TOML or does not match the config types.
//!
//! `toml`'s own message quotes the offending line, and serde's quotes the value it found
//! (`unknown variant `2:abc…``): a token or a warehouse URL pasted into the file would be
//! printed twice. This message is built instead from the error's position alone: the line and
//! column, the key path (`[optimizely] token`, `[[sync]] "members" mode`), and what to write.
//! No value written in the file is quoted; key names are, unless they look like a secret.

use std::ops::Range;

use toml::de::{DeTable, DeValue};

use super::secret::{SecretKind, looks_like_secret};

/// Keys whose values may hold a secret: a secret reference, or a URL with credentials.
const SECRET_KEYS: [&str; 4] = ["token", "url", "api_url", "proxy"];

/// One step of a key path.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Segment {
    /// A key in a table.
    Key(String),
    /// An element of an array (of tables), with its `name` when it has one.
    Index(usize, Option<String>),
}

/// `line L, column C, at KEY: WHAT` for a parse or type error in `text`.
pub(super) fn message(text: &str, error: &toml::de::Error) -> String {
    let span = error.span();
    let mut path = span
        .as_ref()
        .map(|span| key_path(text, span.start))
        .unwrap_or_default();
    let raw = error.message();
    // A secret reference reached through `[source]`'s `type` tag reports the table's span,
    // not the key's: the only reference in it is `url`.
    if raw.ends_with("expected `env` or `file`") && path == [Segment::Key("source".into())] {
        path.push(Segment::Key("url".into()));
    }
    if let Some(at) = path
        .iter()
        .position(|s| matches!(s, Segment::Key(k) if SECRET_KEYS.contains(&k.as_str())))
    {
        // Below a secret key is only what the user wrote in it.
        path.truncate(at + 1);
    }
    let mut parts = Vec::new();
    if let Some(span) = &span {
        let (line, column) = line_column(text, span.start);
        parts.push(format!("line {line}, column {column}"));
    }
    if !path.is_empty() {
        parts.push(format!("at {}", render(&path)));
    }
    let what = explain(&path, raw);
    if parts.is_empty() {
        what
    } else {
        format!("{}: {what}", parts.join(", "))
    }
}

/// What is wrong, without any value found in the file.
fn explain(path: &[Segment], raw: &str) -> String {
    let leaf = path.iter().rev().find_map(|s| match s {
        Segment::Key(k) => Some(k.as_str()),
        Segment::Index(..) => None,
    });
    let table = match path.first() {
        Some(Segment::Key(table)) if path.len() > 1 => table.as_str(),
        _ => "",
    };
    match (table, leaf) {
        ("optimizely", Some("token")) => secret_reference(SecretKind::Token),
        ("source", Some("url")) => secret_reference(SecretKind::WarehouseUrl),
        ("optimizely", Some(key @ ("api_url" | "proxy"))) => format!(
            "{key} must be a URL in quotes{}; what is written here is not shown, as a URL may hold credentials",
            if key == "api_url" {
                ", e.g. api_url = \"https://api.optimizely.com/v2\""
            } else {
                ""
            }
        ),
        (_, Some(key)) if SECRET_KEYS.contains(&key) => format!(
            "{key} holds something that is not valid here; what is written is not shown, as it may hold a secret"
        ),
        ("optimizely", Some(key @ ("per_second" | "per_minute"))) if is_about_a_number(raw) => {
            let max = if key == "per_second" {
                super::MAX_PER_SECOND
            } else {
                super::MAX_PER_MINUTE
            };
            format!("{key} must be a whole number from 1 to {max}")
        }
        (_, Some(key @ ("project_id" | "list_attribute_id"))) if is_about_a_number(raw) => {
            let also = if key == "project_id" {
                ", or the project's URL in quotes"
            } else {
                ""
            };
            format!(
                "{key} must be a whole number, the id as Optimizely shows it (at most {} digits){also}",
                i64::MAX.to_string().len()
            )
        }
        _ => without_found_values(raw),
    }
}

fn secret_reference(kind: SecretKind) -> String {
    format!(
        "write where the secret is kept, not the secret itself: {}. What is written here is not shown; if it is the secret and this file was shared or committed, treat the secret as exposed and replace it",
        kind.example()
    )
}

/// True for the errors of a number that is no `i64` id: too large for TOML's integers, a
/// float, a negative number where an unsigned one is expected, or (for `project_id`, which
/// takes a number or a string) any other type.
fn is_about_a_number(raw: &str) -> bool {
    raw.starts_with("invalid type: integer")
        || raw.starts_with("invalid type: floating point")
        || raw.starts_with("invalid value: integer")
        || raw.starts_with("data did not match any variant")
}

/// serde's message with the value it found left out: `invalid type: string "…", expected a
/// boolean` becomes `invalid type: string, expected a boolean`; unknown keys stay named when
/// they look like key names.
fn without_found_values(raw: &str) -> String {
    const EXPECTED: &str = ", expected ";
    let expected = |rest: &str| {
        rest.rfind(EXPECTED)
            .map(|at| rest[at..].to_owned())
            .unwrap_or_default()
    };
    for prefix in ["invalid type: ", "invalid value: "] {
        if let Some(rest) = raw.strip_prefix(prefix) {
            let kind = UNEXPECTED_KINDS
                .iter()
                .find(|k| rest.starts_with(**k))
                .copied()
                .unwrap_or("a value");
            return format!("{prefix}{kind}{}", expected(rest));
        }
    }
    if let Some(rest) = raw.strip_prefix("unknown variant `") {
        return format!("unknown value{}", expected(rest));
    }
    if let Some(rest) = raw.strip_prefix("unknown field `") {
        let name = rest.split('`').next().unwrap_or_default();
        if is_plain_key(name) {
            return raw.to_owned();
        }
        return format!("unknown field (name not shown){}", expected(rest));
    }
    if looks_like_secret(raw) {
        return "this value is not valid here (not shown: it looks like a secret)".to_owned();
    }
    raw.to_owned()
}

/// serde's `Unexpected` kinds, longest first where one starts another.
const UNEXPECTED_KINDS: [&str; 16] = [
    "boolean",
    "integer",
    "floating point",
    "character",
    "string",
    "byte array",
    "unit value",
    "Option value",
    "newtype struct",
    "sequence",
    "map",
    "enum",
    "unit variant",
    "newtype variant",
    "tuple variant",
    "struct variant",
];

/// A key as a config would name it: short, plain, not a pasted secret.
fn is_plain_key(key: &str) -> bool {
    !key.is_empty()
        && key.len() <= 64
        && key
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '-'))
        && !looks_like_secret(key)
}

/// 1-based line and column (in characters) of byte `offset`.
fn line_column(text: &str, offset: usize) -> (usize, usize) {
    let mut offset = offset.min(text.len());
    while !text.is_char_boundary(offset) {
        offset -= 1;
    }
    let before = &text[..offset];
    let line = before.matches('\n').count() + 1;
    let line_start = before.rfind('\n').map_or(0, |at| at + 1);
    (line, before[line_start..].chars().count() + 1)
}

/// The key path at byte `offset`: from the parsed document when it parses, else from the
/// text (the table header above, the key left of `=` on the line).
fn key_path(text: &str, offset: usize) -> Vec<Segment> {
    match DeTable::parse(text) {
        Ok(table) => find(table.get_ref(), offset).unwrap_or_default(),
        Err(_) => key_path_from_lines(text, offset),
    }
}

/// The deepest entry whose key or value covers `offset`. A table's span is only its header,
/// so every table is searched, not only those whose span covers `offset`.
fn find(table: &DeTable<'_>, offset: usize) -> Option<Vec<Segment>> {
    let covers = |span: Range<usize>| span.contains(&offset);
    for (key, value) in table {
        let here = Segment::Key(key.get_ref().to_string());
        let deeper = match value.get_ref() {
            DeValue::Table(inner) => find(inner, offset),
            DeValue::Array(items) => items.iter().enumerate().find_map(|(i, item)| {
                let name = item
                    .get_ref()
                    .as_table()
                    .and_then(|t| t.get("name"))
                    .and_then(|n| n.get_ref().as_str())
                    .map(str::to_owned);
                let index = Segment::Index(i, name);
                let below = item.get_ref().as_table().and_then(|t| find(t, offset));
                match below {
                    Some(mut path) => {
                        path.insert(0, index);
                        Some(path)
                    }
                    None if covers(item.span()) => Some(vec![index]),
                    None => None,
                }
            }),
            _ => None,
        };
        if let Some(mut path) = deeper {
            path.insert(0, here);
            return Some(path);
        }
        if covers(key.span()) || covers(value.span()) {
            return Some(vec![here]);
        }
    }
    None
}

/// For text that does not parse: the last `[table]` header above the line of `offset`, and
/// the key left of `=` on that line.
fn key_path_from_lines(text: &str, offset: usize) -> Vec<Segment> {
    let (line, _) = line_column(text, offset);
    let lines: Vec<&str> = text.lines().collect();
    let mut path = Vec::new();
    if lines
        .get(line.saturating_sub(1))
        .is_some_and(|l| l.trim_start().starts_with('['))
    {
        // The problem is in a table header: the line and column say it all.
        return path;
    }
    if let Some(header) = lines[..line.saturating_sub(1).min(lines.len())]
        .iter()
        .rev()
        .map(|l| l.trim())
        .find(|l| l.starts_with('['))
    {
        let name = header
            .trim_start_matches('[')
            .split(']')
            .next()
            .unwrap_or_default()
            .trim();
        path.push(Segment::Key(name.to_owned()));
        if header.starts_with("[[") {
            path.push(Segment::Index(usize::MAX, None));
        }
    }
    if let Some((key, _)) = lines
        .get(line.saturating_sub(1))
        .and_then(|l| l.split_once('='))
    {
        let key = key.trim();
        if !key.starts_with('[') && !key.is_empty() {
            path.push(Segment::Key(key.to_owned()));
        }
    }
    path
}

/// `[optimizely] token`, `[[sync]] "members" mode`, `state_dir`.
fn render(path: &[Segment]) -> String {
    let key = |k: &str| {
        if is_plain_key(k) {
            k.to_owned()
        } else {
            "(a key not shown)".to_owned()
        }
    };
    let mut out = String::new();
    let mut rest = path;
    if let [Segment::Key(table), Segment::Index(i, name), tail @ ..] = path {
        out.push_str(&format!("[[{}]]", key(table)));
        match name {
            Some(name) if !looks_like_secret(name) => out.push_str(&format!(" {name:?}")),
            _ if *i != usize::MAX => out.push_str(&format!(" number {}", i + 1)),
            _ => {}
        }
        rest = tail;
    } else if let [Segment::Key(table), tail @ ..] = path
        && ["optimizely", "source"].contains(&table.as_str())
    {
        out.push_str(&format!("[{table}]"));
        rest = tail;
    }
    let tail: Vec<String> = rest
        .iter()
        .map(|s| match s {
            Segment::Key(k) => key(k),
            Segment::Index(i, _) => format!("item {}", i.saturating_add(1)),
        })
        .collect();
    if !tail.is_empty() {
        if !out.is_empty() {
            out.push(' ');
        }
        out.push_str(&tail.join("."));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    const SECRET: &str = "Ab3dEfGh1jKlMn0pQrStUvWxYz";

    fn error_of(text: &str) -> String {
        let err = toml::from_str::<crate::config::FileConfig>(text).unwrap_err();
        message(text, &err)
    }

    const HEAD: &str = "[optimizely]\nproject_id = 1\n";

    #[test]
    fn a_pasted_token_is_located_and_never_quoted() {
        for (line, expect_column) in [
            (format!("token = \"2:{SECRET}\""), 9),
            (format!("token = {{ value = \"2:{SECRET}\" }}"), 11),
            (
                format!("token = {{ env = \"A\", file = \"2:{SECRET}\" }}"),
                9,
            ),
            (format!("token = 2:{SECRET}"), 9),
            (format!("token = {{ \"2:{SECRET}\" = 1 }}"), 11),
        ] {
            let text = format!("{HEAD}{line}\n");
            let msg = error_of(&text);
            assert!(!msg.contains(SECRET), "{line}: {msg}");
            assert!(
                msg.starts_with(&format!(
                    "line 3, column {expect_column}, at [optimizely] token:"
                )),
                "{line}: {msg}"
            );
            assert!(msg.contains("{ env = \"OPTIMIZELY_TOKEN\" }"), "{msg}");
        }
    }

    #[test]
    fn a_pasted_warehouse_url_is_never_quoted() {
        let text = |line: &str| {
            format!("{HEAD}token = {{ env = \"T\" }}\n[source]\ntype = \"postgres\"\n{line}\n")
        };
        for line in [
            "url = \"postgres://u:hunter2@db/wh\"",
            "url = { value = \"postgres://u:hunter2@db/wh\" }",
            "url = { \"postgres://u:hunter2@db/wh\" = 1 }",
        ] {
            let msg = error_of(&text(line));
            assert!(!msg.contains("hunter2"), "{line}: {msg}");
            assert!(msg.contains("at [source] url:"), "{line}: {msg}");
            assert!(msg.contains("url = { env = \"WAREHOUSE_URL\" }"), "{msg}");
        }
        // `[source]` is read through its `type` tag, which loses the key's position.
        let msg = error_of(&text("url = { env = 5 }"));
        assert!(
            msg.contains("at [source]: invalid type: integer, expected a string"),
            "{msg}"
        );
    }

    #[test]
    fn api_url_of_the_wrong_type_is_not_quoted() {
        let text =
            format!("{HEAD}token = {{ env = \"T\" }}\napi_url = [\"https://u:hunter2@h/v2\"]\n");
        let msg = error_of(&text);
        assert!(!msg.contains("hunter2"), "{msg}");
        assert!(
            msg.contains("line 4, column 11, at [optimizely] api_url:"),
            "{msg}"
        );
    }

    #[test]
    fn found_values_are_left_out_and_keys_kept() {
        let base = format!("{HEAD}token = {{ env = \"T\" }}\n");
        let msg = error_of(&format!("{base}colour = \"blue\"\n"));
        assert!(
            msg.contains("unknown field `colour`, expected one of"),
            "{msg}"
        );
        assert!(
            msg.starts_with("line 4, column 1, at [optimizely] colour"),
            "{msg}"
        );
        let msg = error_of(&format!("{base}\"2:{SECRET}\" = 1\n"));
        assert!(!msg.contains(SECRET), "{msg}");
        assert!(msg.contains("unknown field (name not shown)"), "{msg}");
        let msg = error_of(&format!(
            "{base}[[sync]]\nname = \"a\"\nobject = \"attribute\"\nmode = \"upsert\"\nmodel = \"x\"\n[[sync]]\nname = \"members\"\nobject = \"attribute\"\nmode = \"2:{SECRET}\"\n"
        ));
        assert!(!msg.contains(SECRET), "{msg}");
        assert!(
            msg.contains("at [[sync]] \"members\" mode: unknown value, expected"),
            "{msg}"
        );
        let msg = error_of(&format!(
            "{base}[[sync]]\nname = \"a\"\nobject = \"attribute\"\nmode = \"upsert\"\nmodel = \"x\"\nallow_pii = \"2:{SECRET}, expected x\"\n"
        ));
        assert!(!msg.contains(SECRET), "{msg}");
        assert!(
            msg.contains("invalid type: string, expected a boolean"),
            "{msg}"
        );
    }

    #[test]
    fn a_huge_id_is_a_clear_error() {
        let msg = error_of(
            "[optimizely]\nproject_id = 123456789012345678901234567890\ntoken = { env = \"T\" }\n",
        );
        assert!(
            msg.contains("at [optimizely] project_id: project_id must be a whole number"),
            "{msg}"
        );
        assert!(msg.contains("at most 19 digits"), "{msg}");
        let msg = error_of(&format!(
            "{HEAD}token = {{ env = \"T\" }}\n[[sync]]\nname = \"l\"\nobject = \"list_attribute\"\nmode = \"add\"\nmodel = \"x\"\nlist_attribute_id = 123456789012345678901234567890\n"
        ));
        assert!(
            msg.contains(
                "at [[sync]] \"l\" list_attribute_id: list_attribute_id must be a whole number"
            ),
            "{msg}"
        );
    }

    #[test]
    fn a_quota_out_of_u32_names_the_range() {
        for n in ["4294967296", "-1", "1.5"] {
            let msg = error_of(&format!(
                "{HEAD}token = {{ env = \"T\" }}\nrate_limit = {{ per_minute = {n} }}\n"
            ));
            assert!(
                msg.contains("at [optimizely] rate_limit.per_minute: per_minute must be a whole number from 1 to 60000"),
                "{n}: {msg}"
            );
        }
    }

    #[test]
    fn a_broken_table_header_is_located_by_line_only() {
        let msg = error_of(&format!(
            "{HEAD}token = {{ env = \"T\" }}\n[[sync]\nname = 'x'\n"
        ));
        assert!(msg.starts_with("line 4, column 8: "), "{msg}");
    }

    #[test]
    fn a_syntax_error_names_its_line_and_table() {
        let msg = error_of(&format!("{HEAD}token = {{ env = \"T\" }}\ntimeout = 30s\n"));
        assert!(msg.starts_with("line 4, column"), "{msg}");
        assert!(msg.contains("at [optimizely] timeout"), "{msg}");
    }

    #[test]
    fn columns_count_characters() {
        assert_eq!(line_column("ab\ncdé f", 9), (2, 6));
        assert_eq!(line_column("x", 99), (1, 2));
    }
}
