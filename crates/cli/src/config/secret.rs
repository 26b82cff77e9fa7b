//! Secret references (`{ env = "NAME" }`, `{ file = "PATH" }`): checking them offline,
//! reading them safely, and telling whether a piece of config text may be a secret.
//!
//! A secret file is read only when it is a regular file (after following symlinks) of at most
//! [`MAX_SECRET_FILE`] bytes, checked before it is opened, so a FIFO without a writer or a
//! link to `/dev/zero` is an error naming the file instead of a hang or an endless read. Config
//! text that may be a secret (a token pasted where a variable name belongs, a URL with a
//! password) is never quoted in a message: the message names the key and what to write.

use std::io::Read;
use std::path::Path;

use crate::config::SecretConfig;
use crate::error::ConfigError;

/// The largest secret file read. A token is under 1 KiB and a warehouse URL a few hundred
/// bytes; anything larger is not the file the config meant.
pub const MAX_SECRET_FILE: u64 = 64 * 1024;

/// What a secret reference points to, for messages and examples.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SecretKind {
    /// `[optimizely] token`.
    Token,
    /// `[source] url`.
    WarehouseUrl,
    /// `[source] password` (Snowflake).
    WarehousePassword,
    /// `[source] private_key` (Snowflake).
    WarehouseKey,
    /// `[odp] private_key`.
    OdpKey,
    /// `[serve] api_token`.
    ServeToken,
    /// `[serve] alerts` `url`.
    AlertUrl,
    /// `[serve] alerts` `secret`.
    AlertSecret,
}

impl SecretKind {
    /// The key path, as messages name it.
    pub fn key(self) -> &'static str {
        match self {
            Self::Token => "[optimizely] token",
            Self::WarehouseUrl => "[source] url",
            Self::WarehousePassword => "[source] password",
            Self::WarehouseKey => "[source] private_key",
            Self::OdpKey => "[odp] private_key",
            Self::ServeToken => "[serve] api_token",
            Self::AlertUrl => "[serve] alerts url",
            Self::AlertSecret => "[serve] alerts secret",
        }
    }

    /// What the secret is, in a sentence.
    fn noun(self) -> &'static str {
        match self {
            Self::Token => "the token",
            Self::WarehouseUrl => "the warehouse URL",
            Self::WarehousePassword => "the warehouse password",
            Self::WarehouseKey => "the private key",
            Self::OdpKey => "the ODP private key",
            Self::ServeToken => "the API token",
            Self::AlertUrl => "the webhook URL",
            Self::AlertSecret => "the signing key",
        }
    }

    /// How the key is written, as an example.
    pub fn example(self) -> &'static str {
        match self {
            Self::Token => {
                "token = { env = \"OPTIMIZELY_TOKEN\" } (the NAME of an environment variable holding the token) or token = { file = \"PATH\" } (a file holding only the token, chmod 600)"
            }
            Self::WarehouseUrl => {
                "url = { env = \"WAREHOUSE_URL\" } (the NAME of an environment variable holding the URL) or url = { file = \"PATH\" } (a file holding only the URL, chmod 600)"
            }
            Self::WarehousePassword => {
                "password = { env = \"SNOWFLAKE_PASSWORD\" } (the NAME of an environment variable holding the password) or password = { file = \"PATH\" } (a file holding only the password, chmod 600)"
            }
            Self::WarehouseKey => {
                "private_key = { file = \"PATH\" } (a PKCS#8 PEM file, chmod 600) or private_key = { env = \"SNOWFLAKE_PRIVATE_KEY\" } (the NAME of an environment variable holding the PEM)"
            }
            Self::OdpKey => {
                "private_key = { env = \"ODP_PRIVATE_KEY\" } (the NAME of an environment variable holding the key) or private_key = { file = \"PATH\" } (a file holding only the key, chmod 600)"
            }
            Self::ServeToken => {
                "api_token = { env = \"OPTISYNC_API_TOKEN\" } (the NAME of an environment variable holding the token) or api_token = { file = \"PATH\" } (a file holding only the token, chmod 600)"
            }
            Self::AlertUrl => {
                "url = { env = \"ALERT_WEBHOOK_URL\" } (the NAME of an environment variable holding the URL) or url = { file = \"PATH\" } (a file holding only the URL, chmod 600)"
            }
            Self::AlertSecret => {
                "secret = { env = \"ALERT_WEBHOOK_SECRET\" } (the NAME of an environment variable holding the key) or secret = { file = \"PATH\" } (a file holding only the key, chmod 600)"
            }
        }
    }
}

/// Checks a reference without reading it: a variable name or file path that looks like the
/// secret itself is refused, and not quoted.
pub(crate) fn check_reference(secret: &SecretConfig, kind: SecretKind) -> Result<(), ConfigError> {
    let (written, looks_wrong) = match secret {
        SecretConfig::Env(name) if name.trim().is_empty() => {
            return Err(ConfigError::Invalid(format!(
                "{}: {{ env = \"\" }} names no variable; write {}",
                kind.key(),
                kind.example()
            )));
        }
        SecretConfig::Env(name) => ("env", env_name_looks_like_secret(name)),
        SecretConfig::File(path) => ("file", path_looks_like_secret(&path.to_string_lossy())),
    };
    if looks_wrong {
        return Err(ConfigError::Invalid(format!(
            "{key}: the {written} = … value looks like {noun} itself, not the {what} (it is not shown here); put {noun} in {place} and write its {label} here: {example}. If this config file was shared or committed, treat {noun} as exposed and replace it",
            key = kind.key(),
            noun = kind.noun(),
            what = if written == "env" {
                "name of an environment variable"
            } else {
                "path of a file"
            },
            place = if written == "env" {
                "an environment variable"
            } else {
                "a file"
            },
            label = if written == "env" { "NAME" } else { "PATH" },
            example = kind.example(),
        )));
    }
    Ok(())
}

/// Reads a secret: the variable's value or the file's content, trimmed, never empty.
pub(crate) fn resolve(secret: &SecretConfig, kind: SecretKind) -> Result<String, ConfigError> {
    check_reference(secret, kind)?;
    let what = kind.key();
    let value = match secret {
        SecretConfig::Env(name) => match std::env::var(name) {
            Ok(v) => v,
            Err(std::env::VarError::NotPresent) => {
                return Err(ConfigError::Invalid(format!(
                    "{what}: environment variable {name} is not set; export it, or use {{ file = \"PATH\" }} to read the secret from a file"
                )));
            }
            Err(std::env::VarError::NotUnicode(_)) => {
                return Err(ConfigError::Invalid(format!(
                    "{what}: environment variable {name} is not valid UTF-8; set it to {} exactly as issued",
                    kind.noun()
                )));
            }
        },
        SecretConfig::File(path) => read_file(path, what)?,
    };
    let value = value.trim().to_owned();
    if value.is_empty() {
        let place = match secret {
            SecretConfig::Env(name) => format!("environment variable {name}"),
            SecretConfig::File(path) => format!("file {}", path.display()),
        };
        return Err(ConfigError::Invalid(format!(
            "{what}: {place} is empty; put {} in it",
            kind.noun()
        )));
    }
    Ok(value)
}

/// Reads a secret file: a regular file (symlinks followed) of at most [`MAX_SECRET_FILE`]
/// bytes. The kind of file is checked before opening it, because opening a FIFO waits for a
/// writer; what was opened is checked again, and the read is bounded whatever it is.
pub(crate) fn read_file(path: &Path, what: &str) -> Result<String, ConfigError> {
    let shown = path.display();
    let cannot = |e: std::io::Error| {
        ConfigError::Invalid(match e.kind() {
            std::io::ErrorKind::NotFound => format!(
                "{what}: the secret file {shown} does not exist; create it holding only the secret (chmod 600), or correct the path in {{ file = \"PATH\" }}"
            ),
            _ => format!("{what}: cannot read the secret file {shown}: {e}"),
        })
    };
    let not_regular = |meta: &std::fs::Metadata| {
        ConfigError::Invalid(format!(
            "{what}: the secret file {shown} is {}, not a regular file; point {{ file = \"PATH\" }} at a regular file holding only the secret",
            file_kind(meta)
        ))
    };
    let too_large = || {
        ConfigError::Invalid(format!(
            "{what}: the secret file {shown} is larger than {} KiB; it must hold only the secret, so check that the path points at the right file",
            MAX_SECRET_FILE / 1024
        ))
    };
    let meta = std::fs::metadata(path).map_err(cannot)?;
    if !meta.is_file() {
        return Err(not_regular(&meta));
    }
    if meta.len() > MAX_SECRET_FILE {
        return Err(too_large());
    }
    let file = std::fs::File::open(path).map_err(cannot)?;
    // The path may have been swapped between the check and the open.
    let meta = file.metadata().map_err(cannot)?;
    if !meta.is_file() {
        return Err(not_regular(&meta));
    }
    let mut bytes = Vec::new();
    file.take(MAX_SECRET_FILE + 1)
        .read_to_end(&mut bytes)
        .map_err(cannot)?;
    if bytes.len() as u64 > MAX_SECRET_FILE {
        return Err(too_large());
    }
    String::from_utf8(bytes).map_err(|_| {
        ConfigError::Invalid(format!(
            "{what}: the secret file {shown} is not UTF-8 text; it must hold only the secret"
        ))
    })
}

/// "a folder", "a FIFO (named pipe)", … for messages.
fn file_kind(meta: &std::fs::Metadata) -> &'static str {
    use std::os::unix::fs::FileTypeExt;
    let kind = meta.file_type();
    if kind.is_dir() {
        "a folder"
    } else if kind.is_fifo() {
        "a FIFO (named pipe)"
    } else if kind.is_char_device() {
        "a character device"
    } else if kind.is_block_device() {
        "a block device"
    } else if kind.is_socket() {
        "a socket"
    } else {
        "not a regular file"
    }
}

/// True when `text`, written where a value of the config goes, may be a secret: an
/// Optimizely token (`2:…`), a URL with a user or password, or a long random-looking word.
pub(crate) fn looks_like_secret(text: &str) -> bool {
    has_token_shape(text) || has_url_credentials(text) || has_random_word(text)
}

/// `text` quoted for a message, or a placeholder when it may be a secret. Long text is cut.
pub(crate) fn shown(text: &str) -> String {
    const MAX_CHARS: usize = 40;
    if looks_like_secret(text) {
        return "(value not shown: it looks like a secret)".to_owned();
    }
    if text.chars().count() > MAX_CHARS {
        let cut: String = text.chars().take(MAX_CHARS).collect();
        return format!("{:?}…", cut);
    }
    format!("{text:?}")
}

/// An environment variable name is a word of letters, digits, `_`, `.` and `-`; a token, a
/// URL or a random-looking word is the secret pasted in its place.
fn env_name_looks_like_secret(name: &str) -> bool {
    !name
        .chars()
        .all(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '.' | '-'))
        || has_random_word(name)
}

/// A path is text with `/`; a token or a URL is the secret pasted in its place.
fn path_looks_like_secret(path: &str) -> bool {
    has_token_shape(path) || path.contains("://")
}

/// Digits, a colon and at least 16 token characters: Optimizely's personal access tokens.
fn has_token_shape(text: &str) -> bool {
    text.match_indices(':').any(|(at, _)| {
        let before = &text[..at];
        let digits = before
            .chars()
            .rev()
            .take_while(char::is_ascii_digit)
            .count();
        let after = text[at + 1..]
            .chars()
            .take_while(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '-'))
            .count();
        digits > 0 && after >= 16
    })
}

/// `scheme://user[:password]@host`.
fn has_url_credentials(text: &str) -> bool {
    text.match_indices("://").any(|(at, sep)| {
        let rest = &text[at + sep.len()..];
        let authority = rest.split(['/', '?', '#']).next().unwrap_or_default();
        authority.contains('@')
    })
}

/// A word (between separators) of 20 or more letters and digits, mixing at least two of lower
/// case, upper case and digits and at least 10 different characters, as random keys do;
/// names are short words joined by `_`, and `100000000000000000000000s` is no key.
fn has_random_word(text: &str) -> bool {
    text.split(|c: char| !c.is_ascii_alphanumeric())
        .any(|word| {
            let classes = [
                word.chars().any(|c| c.is_ascii_lowercase()),
                word.chars().any(|c| c.is_ascii_uppercase()),
                word.chars().any(|c| c.is_ascii_digit()),
            ];
            let distinct = word
                .bytes()
                .collect::<std::collections::BTreeSet<u8>>()
                .len();
            word.len() >= 20 && classes.iter().filter(|c| **c).count() >= 2 && distinct >= 10
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    const TOKEN: &str = "2:Ab3dEfGh1jKlMn0pQrStUvWxYz_0123456789-abc";

    #[test]
    fn tokens_urls_with_passwords_and_random_words_look_like_secrets() {
        for text in [
            TOKEN,
            "postgres://u:pw@db.example.com/wh",
            "https://user@api.example.com/v2",
            "Ab3dEfGh1jKlMn0pQrStUvWxYz",
            "prefix 12:abcdefghijklmnopqrst suffix",
        ] {
            assert!(looks_like_secret(text), "{text}");
        }
        for text in [
            "OPTIMIZELY_TOKEN",
            "optimizely_token_prod_2",
            "https://api.optimizely.com/v2",
            "select user_id from read_csv('users.csv')",
            "30s",
            "My Project",
            "12:30",
            "100000000000000000000000s",
        ] {
            assert!(!looks_like_secret(text), "{text}");
        }
    }

    #[test]
    fn references_holding_the_secret_are_refused_unquoted() {
        for reference in [
            SecretConfig::Env(TOKEN.into()),
            SecretConfig::Env("Ab3dEfGh1jKlMn0pQrStUvWxYz".into()),
            SecretConfig::File(TOKEN.into()),
        ] {
            let err = check_reference(&reference, SecretKind::Token)
                .unwrap_err()
                .to_string();
            assert!(err.contains("looks like the token itself"), "{err}");
            assert!(err.contains("[optimizely] token"), "{err}");
            assert!(!err.contains("Ab3dEfGh"), "{err}");
        }
        let err = check_reference(
            &SecretConfig::Env("postgres://u:hunter2@h/db".into()),
            SecretKind::WarehouseUrl,
        )
        .unwrap_err()
        .to_string();
        assert!(err.contains("looks like the warehouse URL itself"), "{err}");
        assert!(!err.contains("hunter2"), "{err}");
        for ok in [
            SecretConfig::Env("OPTIMIZELY_TOKEN".into()),
            SecretConfig::Env("optimizely.token-prod_2".into()),
            SecretConfig::File("secrets/token".into()),
            SecretConfig::File("/etc/optisync/12:30/token".into()),
        ] {
            assert!(check_reference(&ok, SecretKind::Token).is_ok(), "{ok:?}");
        }
    }

    #[test]
    fn a_secret_file_must_be_a_small_regular_file() {
        let dir = tempfile::tempdir().unwrap();
        let token = dir.path().join("token");
        std::fs::write(&token, format!("{TOKEN}\n")).unwrap();
        assert_eq!(read_file(&token, "t").unwrap().trim(), TOKEN);

        let err = read_file(dir.path(), "t").unwrap_err().to_string();
        assert!(err.contains("is a folder, not a regular file"), "{err}");
        let err = read_file(Path::new("/dev/zero"), "t")
            .unwrap_err()
            .to_string();
        assert!(err.contains("a character device"), "{err}");
        let link = dir.path().join("link");
        std::os::unix::fs::symlink("/dev/zero", &link).unwrap();
        let err = read_file(&link, "t").unwrap_err().to_string();
        assert!(err.contains("a character device"), "{err}");

        let big = dir.path().join("big");
        std::fs::write(&big, vec![b'a'; MAX_SECRET_FILE as usize + 1]).unwrap();
        let err = read_file(&big, "t").unwrap_err().to_string();
        assert!(err.contains("larger than 64 KiB"), "{err}");
        std::fs::write(&big, vec![b'a'; MAX_SECRET_FILE as usize]).unwrap();
        assert!(read_file(&big, "t").is_ok());

        let err = read_file(&dir.path().join("nope"), "t")
            .unwrap_err()
            .to_string();
        assert!(err.contains("does not exist"), "{err}");
    }

    #[test]
    fn shown_quotes_plain_text_and_hides_secrets() {
        assert_eq!(shown("soon"), "\"soon\"");
        assert!(!shown(TOKEN).contains("Ab3d"));
        assert!(shown(&"x".repeat(100)).ends_with('…'));
    }
}
