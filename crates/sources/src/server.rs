//! What the warehouses reached over a network share: how a model is trimmed, how errors
//! and their causes are said with their fix, and how a secret URL is kept out of messages.

use crate::ssl_mode::SslMode;

/// A model as a server should see it: without surrounding blanks or trailing semicolons
/// (inside `COPY (…)` or a cursor a semicolon is a syntax error).
pub(crate) fn trim_model(model: &str) -> &str {
    model
        .trim()
        .trim_end_matches(|c: char| c == ';' || c.is_whitespace())
}

/// The error with its causes, e.g. `error connecting to server: Connection refused (os error 111)`.
pub(crate) fn full_error(error: &(dyn std::error::Error + 'static)) -> String {
    let mut text = error.to_string();
    let mut source = error.source();
    while let Some(cause) = source {
        let said = cause.to_string();
        if !text.contains(&said) {
            text.push_str(": ");
            text.push_str(&said);
        }
        source = cause.source();
    }
    text
}

/// `message`, then `; fix` when there is one.
pub(crate) fn with_fix(message: &str, fix: &str) -> String {
    if fix.is_empty() {
        message.to_owned()
    } else {
        format!("{message}; {fix}")
    }
}

/// The fix for a problem reaching a server (`text` is the error, in any case), or `""`.
/// `no_tls` says the server offered no TLS while `sslmode` asked for it.
pub(crate) fn transport_fix(text: &str, sslmode: SslMode, no_tls: bool) -> &'static str {
    let lower = text.to_lowercase();
    if lower.contains("connection refused") {
        "check the host and port in the URL and that the server is running and accepts TCP connections"
    } else if lower.contains("timed out") || lower.contains("timeout") {
        "the server did not answer in time; check the host, the port and any firewall in between"
    } else if no_tls {
        "the server does not offer TLS; set sslmode = \"prefer\" or \"disable\" under [source] if plain TCP is acceptable"
    } else if lower.contains("certificate") || lower.contains("tls") || lower.contains("handshake")
    {
        if sslmode == SslMode::VerifyFull {
            "with sslmode = \"verify-full\" the server's certificate must be signed by a public authority and valid for the host in the URL; sslmode = \"require\" encrypts without verifying"
        } else {
            "TLS could not be set up; check the server's TLS settings or set sslmode under [source]"
        }
    } else if lower.contains("failed to lookup")
        || lower.contains("name or service not known")
        || lower.contains("no address")
    {
        "the host name does not resolve; check the host in the URL"
    } else {
        ""
    }
}

/// `text` with any occurrence of the secret URL replaced.
pub(crate) fn redact(text: &str, url: &str) -> String {
    if url.is_empty() {
        text.to_owned()
    } else {
        text.replace(url, "<url>")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn models_lose_their_trailing_semicolons() {
        assert_eq!(trim_model(" select 1 ;\n; "), "select 1");
    }

    #[test]
    fn transport_problems_get_their_fix() {
        assert!(
            transport_fix("Connection refused (os error 111)", SslMode::Prefer, false)
                .contains("host and port")
        );
        assert!(transport_fix("anything", SslMode::Require, true).contains("does not offer TLS"));
        assert!(
            transport_fix("invalid peer certificate", SslMode::VerifyFull, false)
                .contains("verify-full")
        );
        assert_eq!(transport_fix("something else", SslMode::Prefer, false), "");
        assert_eq!(
            redact("bad postgres://u:p@h/db here", "postgres://u:p@h/db"),
            "bad <url> here"
        );
    }
}
