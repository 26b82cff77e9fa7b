//! The transport: one HTTP exchange, no policy. The client owns auth, limits, retries and
//! timeouts; a transport only moves bytes and says how far a failed request got. Tests plug in
//! scripted or in-process transports; production uses [`ReqwestTransport`] (rustls).

use std::fmt;
use std::future::Future;
use std::pin::Pin;
use std::time::Duration;

use bytes::Bytes;

use crate::error::TransportError;

/// The future a [`Transport`] returns.
pub type TransportFuture<'a> =
    Pin<Box<dyn Future<Output = Result<http::Response<Bytes>, TransportError>> + Send + 'a>>;

/// Sends one HTTP request and returns the whole answer.
pub trait Transport: Send + Sync + fmt::Debug + 'static {
    /// Sends `req`. Errors must say whether the request may have reached the server.
    fn send(&self, req: http::Request<Bytes>) -> TransportFuture<'_>;
}

/// The real transport: reqwest with rustls, no redirects (a redirect would carry the token to
/// wherever it points), connection reuse.
#[derive(Debug, Clone)]
pub struct ReqwestTransport {
    client: reqwest::Client,
}

impl ReqwestTransport {
    /// A transport whose connection attempts give up after `connect_timeout`. (The client
    /// applies its own per-attempt timeout around every request as well.)
    pub fn new(connect_timeout: Duration) -> Result<Self, TransportError> {
        let client = reqwest::Client::builder()
            .redirect(reqwest::redirect::Policy::none())
            .connect_timeout(connect_timeout)
            .build()
            .map_err(|e| TransportError::NotSent(describe(&e)))?;
        Ok(ReqwestTransport { client })
    }
}

impl Transport for ReqwestTransport {
    fn send(&self, req: http::Request<Bytes>) -> TransportFuture<'_> {
        Box::pin(async move {
            let req = reqwest::Request::try_from(req)
                .map_err(|e| TransportError::NotSent(describe(&e)))?;
            let resp = self.client.execute(req).await.map_err(|e| {
                if e.is_connect() || e.is_builder() {
                    TransportError::NotSent(describe(&e))
                } else {
                    TransportError::MaybeSent(describe(&e))
                }
            })?;
            let status = resp.status();
            let version = resp.version();
            let headers = resp.headers().clone();
            let body = resp
                .bytes()
                .await
                .map_err(|e| TransportError::MaybeSent(describe(&e)))?;
            let mut out = http::Response::new(body);
            *out.status_mut() = status;
            *out.version_mut() = version;
            *out.headers_mut() = headers;
            Ok(out)
        })
    }
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
