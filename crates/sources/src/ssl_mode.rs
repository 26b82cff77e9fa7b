//! `sslmode` under `[source]`, shared by the warehouses reached over the network.

use std::fmt;
use std::str::FromStr;

/// `sslmode` under `[source]`, with libpq's meaning (MySQL's `ssl-mode` names the same
/// choices `DISABLED`, `PREFERRED`, `REQUIRED` and `VERIFY_IDENTITY`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum SslMode {
    /// Plain TCP only.
    Disable,
    /// TLS if the server offers it (certificate not verified), else plain TCP.
    #[default]
    Prefer,
    /// TLS, certificate not verified: encrypted, but not protected from an impostor.
    Require,
    /// TLS with a certificate valid for the host, signed by a public authority.
    VerifyFull,
}

impl FromStr for SslMode {
    type Err = String;

    fn from_str(s: &str) -> std::result::Result<Self, String> {
        match s {
            "disable" => Ok(SslMode::Disable),
            "prefer" => Ok(SslMode::Prefer),
            "require" => Ok(SslMode::Require),
            "verify-full" => Ok(SslMode::VerifyFull),
            other => Err(format!(
                "unknown sslmode `{other}`; expected one of: disable, prefer, require, verify-full"
            )),
        }
    }
}

impl fmt::Display for SslMode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            SslMode::Disable => "disable",
            SslMode::Prefer => "prefer",
            SslMode::Require => "require",
            SslMode::VerifyFull => "verify-full",
        })
    }
}
