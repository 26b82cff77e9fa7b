//! Serving the fake over real TCP (HTTP/1.1), with graceful shutdown.
//!
//! An accept loop hands each connection to hyper's HTTP/1 server. Requests are collected
//! into `Bytes` and passed to [`FakeOptimizely::handle`]; when it returns
//! [`ConnectionDropped`](crate::ConnectionDropped) the service fails, and hyper closes the
//! connection without writing any response: the client sees the connection end, exactly
//! what a crash between the write and the answer looks like.

use crate::fake::FakeOptimizely;
use bytes::Bytes;
use http::{Request, Response};
use http_body_util::{BodyExt, Full};
use hyper::body::Incoming;
use hyper::server::conn::http1;
use hyper::service::service_fn;
use hyper_util::rt::TokioIo;
use std::net::SocketAddr;
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::oneshot;
use tokio::task::{JoinHandle, JoinSet};

type BoxError = Box<dyn std::error::Error + Send + Sync>;

/// A fake being served on a TCP address. The server runs until [`shutdown`](Self::shutdown)
/// or until its tokio runtime ends; dropping this handle does not stop it.
#[derive(Debug)]
pub struct RunningFake {
    /// The address actually bound (the real port when asked for port 0).
    pub addr: SocketAddr,
    stop: oneshot::Sender<()>,
    task: JoinHandle<()>,
}

impl RunningFake {
    /// `http://HOST:PORT/v2`, the API base URL to give a client.
    pub fn base_url(&self) -> String {
        format!("{}/v2", self.root_url())
    }

    /// `http://HOST:PORT/v3`, the ODP API base URL to give a client.
    pub fn odp_base_url(&self) -> String {
        format!("{}/v3", self.root_url())
    }

    /// `http://HOST:PORT`, where `/__admin/...` lives (and the `host` the datafiles' ODP
    /// integration names unless the seed gives one).
    pub fn root_url(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// Stops accepting, closes open connections and waits for the accept loop to end.
    pub async fn shutdown(self) {
        let _ = self.stop.send(());
        if let Err(error) = self.task.await {
            tracing::warn!(%error, "fake server task ended abnormally");
        }
    }
}

impl FakeOptimizely {
    /// Binds `addr` (use port 0 for a free port) and serves this fake on it from a task of
    /// the current tokio runtime.
    pub async fn serve(&self, addr: SocketAddr) -> std::io::Result<RunningFake> {
        let listener = TcpListener::bind(addr).await?;
        let addr = listener.local_addr()?;
        let (stop, stopped) = oneshot::channel();
        let task = tokio::spawn(accept_loop(self.clone(), listener, stopped));
        tracing::info!(%addr, "fake Optimizely listening");
        Ok(RunningFake { addr, stop, task })
    }
}

async fn accept_loop(
    fake: FakeOptimizely,
    listener: TcpListener,
    mut stopped: oneshot::Receiver<()>,
) {
    let mut connections = JoinSet::new();
    loop {
        tokio::select! {
            _ = &mut stopped => break,
            accepted = listener.accept() => match accepted {
                Ok((stream, peer)) => {
                    connections.spawn(serve_connection(fake.clone(), stream, peer));
                }
                Err(error) => {
                    // Typically out of file descriptors; back off briefly rather than spin.
                    tracing::warn!(%error, "accept failed");
                    tokio::time::sleep(std::time::Duration::from_millis(50)).await;
                }
            },
            Some(_) = connections.join_next(), if !connections.is_empty() => {}
        }
    }
    connections.shutdown().await;
}

async fn answer(
    fake: FakeOptimizely,
    req: Request<Incoming>,
) -> Result<Response<Full<Bytes>>, BoxError> {
    let (parts, body) = req.into_parts();
    let body: Bytes = body.collect().await?.to_bytes();
    match fake.handle(Request::from_parts(parts, body)).await {
        Ok(response) => Ok(response.map(Full::new)),
        Err(dropped) => Err(Box::new(dropped)),
    }
}

async fn serve_connection(fake: FakeOptimizely, stream: TcpStream, peer: SocketAddr) {
    let service = service_fn(move |req: Request<Incoming>| answer(fake.clone(), req));
    if let Err(error) = http1::Builder::new()
        .serve_connection(TokioIo::new(stream), service)
        .await
    {
        tracing::debug!(%peer, %error, "connection closed");
    }
}
