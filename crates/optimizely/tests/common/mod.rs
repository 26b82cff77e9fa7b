//! A scripted in-process transport for the client's integration tests: it answers from a
//! queue of canned steps (then a fallback) and records every attempt with its tokio instant,
//! so tests on a paused clock can assert exact attempt counts and delays.

#![allow(clippy::unwrap_used)] // a failing unwrap is a failing test
#![allow(dead_code, unreachable_pub)] // each test binary uses a different subset

use std::collections::VecDeque;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use bytes::Bytes;
use optisync_optimizely::{
    ApiToken, Backoff, Client, ClientConfig, Jitter, RateLimit, RateLimiter, Transport,
    TransportError, TransportFuture,
};
use tokio::time::Instant;

pub const TOKEN: &str = "2:scripted-secret-token-abcdefghijklmnopqrstuvwxyz0123WXYZ";

/// One canned reaction.
#[derive(Debug, Clone)]
pub enum Step {
    Respond {
        status: u16,
        headers: Vec<(String, String)>,
        body: String,
    },
    Fail(TransportError),
    /// Never answers (the client's timeout fires).
    Hang,
}

impl Step {
    pub fn json(status: u16, body: serde_json::Value) -> Step {
        Step::Respond {
            status,
            headers: vec![],
            body: body.to_string(),
        }
    }

    pub fn status(status: u16) -> Step {
        Step::Respond {
            status,
            headers: vec![],
            body: String::new(),
        }
    }

    pub fn error(status: u16, code: &str, message: &str) -> Step {
        Step::json(
            status,
            serde_json::json!({"code": code, "message": message, "uuid": "uuid-1"}),
        )
    }

    pub fn header(mut self, name: &str, value: impl ToString) -> Step {
        if let Step::Respond { headers, .. } = &mut self {
            headers.push((name.to_owned(), value.to_string()));
        }
        self
    }
}

/// What the transport saw.
#[derive(Debug, Clone)]
pub struct Sent {
    pub at: Instant,
    pub method: String,
    pub uri: String,
    pub headers: http::HeaderMap,
    pub body: Bytes,
}

#[derive(Debug)]
pub struct Scripted {
    steps: Mutex<VecDeque<Step>>,
    fallback: Step,
    sent: Mutex<Vec<Sent>>,
}

impl Scripted {
    /// Answers with `steps` in order, then `fallback` forever.
    pub fn new(steps: Vec<Step>, fallback: Step) -> Arc<Scripted> {
        Arc::new(Scripted {
            steps: Mutex::new(steps.into()),
            fallback,
            sent: Mutex::new(vec![]),
        })
    }

    /// `steps`, then an empty JSON object forever.
    pub fn steps(steps: Vec<Step>) -> Arc<Scripted> {
        Scripted::new(
            steps,
            Step::json(200, serde_json::json!({"id": 1, "key": "k", "name": "n"})),
        )
    }

    pub fn sent(&self) -> Vec<Sent> {
        self.sent.lock().unwrap().clone()
    }

    pub fn attempts(&self) -> usize {
        self.sent.lock().unwrap().len()
    }

    /// Seconds between consecutive attempts.
    pub fn gaps(&self) -> Vec<f64> {
        let sent = self.sent();
        sent.windows(2)
            .map(|w| (w[1].at - w[0].at).as_secs_f64())
            .collect()
    }
}

impl Transport for Scripted {
    fn send(&self, req: http::Request<Bytes>) -> TransportFuture<'_> {
        let (parts, body) = req.into_parts();
        self.sent.lock().unwrap().push(Sent {
            at: Instant::now(),
            method: parts.method.to_string(),
            uri: parts.uri.to_string(),
            headers: parts.headers,
            body,
        });
        let step = self
            .steps
            .lock()
            .unwrap()
            .pop_front()
            .unwrap_or_else(|| self.fallback.clone());
        Box::pin(async move {
            match step {
                Step::Respond {
                    status,
                    headers,
                    body,
                } => {
                    let mut resp = http::Response::builder().status(status);
                    for (name, value) in headers {
                        resp = resp.header(name, value);
                    }
                    Ok(resp.body(Bytes::from(body)).unwrap())
                }
                Step::Fail(err) => Err(err),
                Step::Hang => std::future::pending().await,
            }
        })
    }
}

/// A config for the scripted server: loopback URL, no jitter, no quota unless given.
pub fn config() -> ClientConfig {
    let mut config = ClientConfig::new(ApiToken::new(TOKEN));
    config.api_url = "http://127.0.0.1:9/v2".parse().unwrap();
    config.backoff = Backoff {
        jitter: Jitter::None,
        ..Backoff::default()
    };
    config.rate_limit = Some(RateLimit::UNLIMITED);
    config
}

/// A client with its own limiter (tests run in parallel on separate paused clocks).
pub fn client_with(config: ClientConfig, transport: Arc<Scripted>) -> Client {
    let limiter = RateLimiter::new(config.rate_limit.unwrap_or(RateLimit::UNLIMITED));
    Client::with_parts(config, transport, limiter).unwrap()
}

pub fn client(transport: Arc<Scripted>) -> Client {
    client_with(config(), transport)
}

pub fn secs(d: Duration) -> f64 {
    d.as_secs_f64()
}
