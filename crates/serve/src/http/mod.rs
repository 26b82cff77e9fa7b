//! The HTTP side of the service: the status page ([`page`]), the JSON API ([`api`]), who
//! may call what ([`auth`]), and the listener. It binds loopback unless told otherwise;
//! binding anything else needs the API token (checked where the service is configured).

pub mod api;
pub mod auth;
pub mod page;

use std::future::Future;
use std::net::SocketAddr;
use std::sync::Arc;

use axum::Router;
use axum::routing::{get, post};
use tokio::net::TcpListener;

use crate::error::ServeError;
use crate::service::Service;

pub use auth::{Access, ApiToken};

/// What every handler sees.
#[derive(Debug, Clone)]
pub struct AppState {
    /// The service.
    pub service: Arc<Service>,
    /// Who may call what.
    pub access: Arc<Access>,
}

/// The routes.
pub fn router(service: Arc<Service>, access: Access) -> Router {
    let state = AppState {
        service,
        access: Arc::new(access),
    };
    Router::new()
        .route("/", get(page::status))
        .route("/runs/{id}", get(page::run))
        .route("/syncs/{name}/{action}", post(page::action))
        .route("/healthz", get(api::healthz))
        .route("/readyz", get(api::readyz))
        .route("/metrics", get(api::metrics))
        .route("/api/syncs", get(api::list_syncs))
        .route("/api/syncs/{name}", get(api::get_sync))
        .route("/api/syncs/{name}/runs", post(api::trigger))
        .route("/api/syncs/{name}/pause", post(api::pause))
        .route("/api/syncs/{name}/resume", post(api::resume))
        .route("/api/runs", get(api::list_runs))
        .route("/api/runs/{id}", get(api::get_run))
        .with_state(state)
}

/// Binds `address`, with a message that says what to do when it is taken.
///
/// # Errors
/// [`ServeError::Bind`].
pub async fn bind(address: SocketAddr) -> Result<TcpListener, ServeError> {
    TcpListener::bind(address).await.map_err(|e| {
        let reason = match e.kind() {
            std::io::ErrorKind::AddrInUse => {
                "the port is in use by another process; stop it or pass another \
                 --bind address, e.g. 127.0.0.1:8081"
                    .to_owned()
            }
            std::io::ErrorKind::PermissionDenied => {
                "permission denied; ports below 1024 need privileges: pick a port above 1023"
                    .to_owned()
            }
            std::io::ErrorKind::AddrNotAvailable => {
                "this machine has no such address; use 127.0.0.1 or 0.0.0.0".to_owned()
            }
            _ => e.to_string(),
        };
        ServeError::Bind { address, reason }
    })
}

/// The router of the service generation now running, behind one HTTP server that outlives
/// reloads: every request, on a new connection or a kept-alive one, goes to the router set
/// last, so nobody is answered by a generation that was replaced.
#[derive(Debug, Clone)]
pub struct RouterSwitch(Arc<std::sync::RwLock<Router>>);

impl RouterSwitch {
    /// A switch answering with `router` until [`RouterSwitch::set`].
    pub fn new(router: Router) -> RouterSwitch {
        RouterSwitch(Arc::new(std::sync::RwLock::new(router)))
    }

    /// Answers every request from now on with `router`.
    pub fn set(&self, router: Router) {
        *self
            .0
            .write()
            .unwrap_or_else(std::sync::PoisonError::into_inner) = router;
    }

    fn current(&self) -> Router {
        self.0
            .read()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .clone()
    }

    /// The router to serve: it hands each request to the current one.
    pub fn router(&self) -> Router {
        let switch = self.clone();
        Router::new().fallback(move |request: axum::extract::Request| {
            let current = switch.current();
            async move {
                use tower::ServiceExt;
                match current.oneshot(request).await {
                    Ok(response) => response,
                    Err(never) => match never {},
                }
            }
        })
    }
}

/// Serves `router` on `listener` until `shutdown` completes; requests in flight then finish.
///
/// # Errors
/// [`ServeError::Io`] when accepting connections fails for good.
pub async fn serve(
    listener: TcpListener,
    router: Router,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> Result<(), ServeError> {
    axum::serve(listener, router)
        .with_graceful_shutdown(shutdown)
        .await?;
    Ok(())
}
