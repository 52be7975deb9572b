//! The daemon's HTTP API on `ListenAddr`, for the proxy agents (hitless
//! delivery) and for `sluice status`:
//!
//! - `GET /v1/clusters/{name}/revision?have=HASH[&replica=R][&wait=S]`:
//!   long-poll; the cluster's newest revision ([`wire::RevisionDoc`]) as soon
//!   as its hash is not `have`, else 204 after the poll timeout (30 s).
//! - `POST /v1/clusters/{name}/status`: an agent's [`wire::AgentReport`].
//! - `GET /v1/status`: [`wire::StatusDoc`].
//!
//! Every request carries `Authorization: Bearer <token>`, the token of its
//! cluster ([`auth`]); `/v1/status` takes the admin token or any cluster's.
//! The reconcile loop publishes through a [`Publisher`], which paces each
//! cluster's revisions so a burst of Swarm changes is one or two reloads.

pub mod auth;
pub mod pacer;
pub mod publisher;
mod routes;
pub mod store;
pub mod wire;

use std::future::Future;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

pub use auth::Keyring;
pub use publisher::Publisher;
pub use store::Store;

/// How long a long-poll waits before answering 204.
pub const POLL_TIMEOUT: Duration = Duration::from_secs(30);

/// What the API serves.
#[derive(Clone, Debug)]
pub struct Api {
    pub store: Arc<Store>,
    pub keys: Arc<Keyring>,
    pub poll_timeout: Duration,
}

impl Api {
    pub fn new(store: Arc<Store>, keys: Arc<Keyring>) -> Api {
        Api {
            store,
            keys,
            poll_timeout: POLL_TIMEOUT,
        }
    }
}

/// Serve `api` on `listener` until `shutdown` completes; pending long-polls
/// then answer 204 at once.
pub async fn run(
    listener: tokio::net::TcpListener,
    api: Api,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    let (closing_tx, closing) = tokio::sync::watch::channel(false);
    let app = routes::router(Arc::new(routes::Shared { api, closing }));
    axum::serve(listener, app)
        .with_graceful_shutdown(async move {
            shutdown.await;
            let _ = closing_tx.send(true);
        })
        .await
}

#[derive(Debug, thiserror::Error)]
#[error("ListenAddr {value:?}: expected [HOST]:PORT, e.g. \":8080\" or \"127.0.0.1:8080\"")]
pub struct ListenAddrError {
    pub value: String,
}

/// `ListenAddr` in Go's form: `:8080` means every address.
pub fn listen_addr(value: &str) -> Result<SocketAddr, ListenAddrError> {
    let err = || ListenAddrError {
        value: value.to_owned(),
    };
    let full = if value.starts_with(':') {
        format!("0.0.0.0{value}")
    } else {
        value.to_owned()
    };
    full.parse().map_err(|_| err())
}

#[cfg(test)]
#[path = "api_tests.rs"]
mod api_tests;
