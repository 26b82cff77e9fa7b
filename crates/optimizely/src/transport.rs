//! The transport: one HTTP exchange, no policy. The client owns auth, limits, retries and
//! timeouts; a transport only moves bytes and says how far a failed request got. Tests plug in
//! scripted or in-process transports; production uses [`ReqwestTransport`] (rustls).
//!
//! A transport reads at most what the request can legitimately get back: the client puts a
//! [`BodyLimit`] in every request's extensions (the one the object kind names, see
//! `resource.rs`), and the transport
//! stops reading a successful answer that grows beyond it ([`TransportError::TooLarge`]) and
//! keeps only the first [`MAX_ERROR_BODY`] bytes of an error answer. A server or proxy that
//! streams forever therefore costs a bounded amount of memory and time.

use std::fmt;
use std::future::Future;
use std::pin::Pin;
use std::time::Duration;

use bytes::{Bytes, BytesMut};

use crate::error::TransportError;
use crate::proxy::ChosenProxy;

/// The future a [`Transport`] returns.
pub type TransportFuture<'a> =
    Pin<Box<dyn Future<Output = Result<http::Response<Bytes>, TransportError>> + Send + 'a>>;

/// Sends one HTTP request and returns the whole answer.
pub trait Transport: Send + Sync + fmt::Debug + 'static {
    /// Sends `req`. Errors must say whether the request may have reached the server. A
    /// [`BodyLimit`] in the request's extensions bounds the answer's body.
    fn send(&self, req: http::Request<Bytes>) -> TransportFuture<'_>;
}

/// The most bytes a successful answer to a request may have, carried in the request's
/// extensions. Requests without one get [`BodyLimit::DEFAULT`].
///
/// The transport enforces it but does not choose it: each kind of object names its own
/// ([`crate::Object::LIMIT`], [`crate::Resource::PAGE_LIMIT`] and
/// [`crate::Resource::LISTING_LIMIT`]), starting from the general sizes below.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct BodyLimit(pub u64);

impl BodyLimit {
    /// For requests that name no limit: a page of objects ([`BodyLimit::PAGE`]).
    pub const DEFAULT: BodyLimit = BodyLimit::PAGE;

    /// One object: a project, attribute, audience or event, or an empty answer. Audience
    /// conditions are the largest field; 4 MiB is hundreds of times a real audience.
    pub const OBJECT: BodyLimit = BodyLimit(4 << 20);

    /// One page of at most 100 objects ([`crate::PER_PAGE`]): 16 MiB, 160 KiB per object.
    pub const PAGE: BodyLimit = BodyLimit(16 << 20);

    /// All pages of one listing together: 256 MiB, far beyond any project's objects (100 000
    /// objects of 2.5 KiB each).
    pub const LISTING: BodyLimit = BodyLimit(256 << 20);

    /// The limit as a size for messages ("31.5 MB", "64 KiB").
    pub fn describe(self) -> String {
        describe_bytes(self.0)
    }
}

/// The most bytes of an error answer that are read. Optimizely's error envelope is a few
/// hundred bytes; a proxy's HTML error page is a few KiB. The rest is not needed: the
/// message shows at most a short excerpt.
pub const MAX_ERROR_BODY: usize = 64 << 10;

/// The real transport: reqwest with rustls, no redirects (a redirect would carry the token to
/// wherever it points), connection reuse, and exactly the proxy the client chose (the
/// environment is never consulted by reqwest itself).
#[derive(Clone)]
pub struct ReqwestTransport {
    client: reqwest::Client,
    /// Text that must never appear in an error message (the proxy URL and its credentials).
    secrets: Vec<String>,
}

impl ReqwestTransport {
    /// A direct transport (no proxy) whose connection attempts give up after
    /// `connect_timeout`. (The client applies its own per-attempt timeout around every
    /// request as well.)
    pub fn new(connect_timeout: Duration) -> Result<Self, TransportError> {
        ReqwestTransport::build(connect_timeout, None)
    }

    /// A transport whose https requests go through `proxy` as a CONNECT tunnel.
    pub(crate) fn build(
        connect_timeout: Duration,
        proxy: Option<&ChosenProxy>,
    ) -> Result<Self, TransportError> {
        let mut builder = reqwest::Client::builder()
            .redirect(reqwest::redirect::Policy::none())
            .connect_timeout(connect_timeout)
            // Never read HTTP_PROXY, HTTPS_PROXY, ALL_PROXY or the system settings here:
            // `proxy.rs` decided, and only for https.
            .no_proxy();
        let mut secrets = Vec::new();
        if let Some(proxy) = proxy {
            secrets = proxy.url.secrets();
            // `Proxy::https` applies to https URLs only, which reqwest tunnels with CONNECT:
            // the proxy never sees the Authorization header or a body.
            let https = reqwest::Proxy::https(proxy.url.expose().clone()).map_err(|_| {
                TransportError::NotSent(format!("the proxy from {} cannot be used", proxy.source))
            })?;
            builder = builder.proxy(https);
            tracing::debug!(proxy = %proxy.url, source = proxy.source, "requests go through a proxy");
        } else {
            tracing::debug!("requests go directly to the API (no proxy)");
        }
        let client = builder
            .build()
            .map_err(|e| TransportError::NotSent(scrub(&describe(&e), &secrets)))?;
        Ok(ReqwestTransport { client, secrets })
    }

    fn scrub(&self, text: String) -> String {
        scrub(&text, &self.secrets)
    }
}

impl fmt::Debug for ReqwestTransport {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ReqwestTransport")
            .field("proxy", &!self.secrets.is_empty())
            .finish_non_exhaustive()
    }
}

impl Transport for ReqwestTransport {
    fn send(&self, req: http::Request<Bytes>) -> TransportFuture<'_> {
        Box::pin(async move {
            let limit = req
                .extensions()
                .get::<BodyLimit>()
                .copied()
                .unwrap_or(BodyLimit::DEFAULT);
            let req = reqwest::Request::try_from(req)
                .map_err(|e| TransportError::NotSent(self.scrub(describe(&e))))?;
            let mut resp = self.client.execute(req).await.map_err(|e| {
                let text = self.scrub(describe(&e));
                if e.is_connect() || e.is_builder() {
                    TransportError::NotSent(text)
                } else {
                    TransportError::MaybeSent(text)
                }
            })?;
            let status = resp.status();
            let version = resp.version();
            let headers = std::mem::take(resp.headers_mut());
            let body = read_body(&mut resp, status, limit)
                .await
                .map_err(|e| match e {
                    TransportError::NotSent(t) => TransportError::NotSent(self.scrub(t)),
                    TransportError::MaybeSent(t) => TransportError::MaybeSent(self.scrub(t)),
                    other => other,
                })?;
            let mut out = http::Response::new(body);
            *out.status_mut() = status;
            *out.version_mut() = version;
            *out.headers_mut() = headers;
            Ok(out)
        })
    }
}

/// Reads the body chunk by chunk: a successful answer up to `limit` (beyond it, an error,
/// decided from `Content-Length` before reading when the server sends one), an error answer
/// up to [`MAX_ERROR_BODY`] (the rest is dropped unread).
async fn read_body(
    resp: &mut reqwest::Response,
    status: http::StatusCode,
    limit: BodyLimit,
) -> Result<Bytes, TransportError> {
    let success = status.is_success();
    let too_large = || TransportError::TooLarge {
        status: status.as_u16(),
        limit: limit.0,
    };
    if success && resp.content_length().is_some_and(|len| len > limit.0) {
        return Err(too_large());
    }
    let keep = if success {
        usize::try_from(limit.0).unwrap_or(usize::MAX)
    } else {
        MAX_ERROR_BODY
    };
    // Room for the whole answer at once when the server says its length (bounded by what is
    // kept): a 5 MB list read into a growing buffer was copied and its memory touched twice.
    let announced = resp
        .content_length()
        .and_then(|len| usize::try_from(len).ok())
        .map_or(0, |len| len.min(keep));
    let mut body = BytesMut::with_capacity(announced);
    while let Some(chunk) = resp
        .chunk()
        .await
        .map_err(|e| TransportError::MaybeSent(describe(&e)))?
    {
        let room = keep.saturating_sub(body.len());
        if chunk.len() > room {
            if success {
                return Err(too_large());
            }
            body.extend_from_slice(&chunk[..room]);
            break;
        }
        body.extend_from_slice(&chunk);
    }
    Ok(body.freeze())
}

/// "31.5 MB"-style sizes for messages.
pub(crate) fn describe_bytes(bytes: u64) -> String {
    const KIB: u64 = 1 << 10;
    const MIB: u64 = 1 << 20;
    if bytes >= MIB {
        let tenths = bytes.saturating_mul(10) / MIB;
        format!("{}.{} MiB", tenths / 10, tenths % 10)
    } else if bytes >= KIB {
        format!("{} KiB", bytes / KIB)
    } else {
        format!("{bytes} bytes")
    }
}

fn scrub(text: &str, secrets: &[String]) -> String {
    let mut text = text.to_owned();
    for secret in secrets.iter().filter(|s| s.len() >= 3) {
        if text.contains(secret.as_str()) {
            text = text.replace(secret.as_str(), "***");
        }
    }
    text
}

/// The error and its causes on one line ("error sending request: connection refused").
fn describe(err: &(dyn std::error::Error + 'static)) -> String {
    let mut text = err.to_string();
    let mut source = err.source();
    while let Some(cause) = source {
        let cause_text = cause.to_string();
        if !text.contains(&cause_text) {
            text.push_str(": ");
            text.push_str(&cause_text);
        }
        source = cause.source();
    }
    text
}

#[cfg(test)]
#[allow(clippy::unwrap_used)] // a failing unwrap is a failing test
mod tests {
    use super::*;

    #[test]
    fn sizes_read_well() {
        assert_eq!(describe_bytes(512), "512 bytes");
        assert_eq!(describe_bytes(MAX_ERROR_BODY as u64), "64 KiB");
        assert_eq!(BodyLimit::PAGE.describe(), "16.0 MiB");
        assert_eq!(BodyLimit::LISTING.describe(), "256.0 MiB");
    }

    #[test]
    fn secrets_are_scrubbed() {
        let secrets = vec!["http://a:pw-123@p:1/".to_owned(), "pw-123".to_owned()];
        assert_eq!(
            scrub("tunnel via http://a:pw-123@p:1/ failed (pw-123)", &secrets),
            "tunnel via *** failed (***)"
        );
    }
}
