//! The daemon's HTTPS API on `ListenAddr`, for the proxy agents (hitless
//! delivery) and for `sluice status`:
//!
//! - `GET /v2/clusters/{name}/revision?have=HASH[&replica=R][&wait=S]`:
//!   long-poll; the cluster's newest revision ([`wire::RevisionDoc`]) as soon
//!   as its hash is not `have`, else 204 after the poll timeout (30 s). The
//!   body is signed (the `sluice-signature` header, [`crate::trust::signing`]).
//! - `POST /v2/clusters/{name}/status`: an agent's [`wire::AgentReport`].
//! - `GET /v2/status`: [`wire::StatusDoc`].
//!
//! TLS only, with the agent channel's CA ([`crate::trust`]). The cluster
//! routes need both the cluster's client certificate and its bearer token
//! ([`auth`]); `/v2/status` takes the admin token (every cluster) or a
//! cluster's token (that cluster only). Connections are capped, and a peer
//! gets [`Limits`] to finish its handshake and each request head, so
//! half-open connections cannot starve the agents.
//! The reconcile loop publishes through a [`Publisher`], which paces each
//! cluster's revisions so a burst of Swarm changes is one or two reloads.

pub mod auth;
pub mod pacer;
pub mod publisher;
mod routes;
pub mod store;
/// The documents of the agent channel (crate `sluice-wire`).
pub use sluice_wire::docs as wire;

use std::future::Future;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use hyper::body::Incoming;
use hyper_util::rt::{TokioIo, TokioTimer};
use tokio::sync::Semaphore;
use tower::ServiceExt;

pub use auth::Keyring;
pub use publisher::Publisher;
pub use store::Store;

/// How long a long-poll waits before answering 204.
pub const POLL_TIMEOUT: Duration = Duration::from_secs(30);

/// What one peer may hold of the server.
#[derive(Clone, Copy, Debug)]
pub struct Limits {
    /// Open connections; more are closed as they arrive.
    pub max_connections: usize,
    /// Of those, connections without a client certificate (`sluice status`,
    /// or anybody): they can never take the agents' slots.
    pub max_anonymous: usize,
    /// How long a connection without a client certificate may stay open,
    /// whatever it does (slow reads and writes included).
    pub anonymous_lifetime: Duration,
    /// From accept to a finished TLS handshake.
    pub handshake: Duration,
    /// To send a request head, also while a kept-alive connection idles.
    pub request_head: Duration,
    /// Request bodies (agent reports) larger than this are refused.
    pub max_body: usize,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            max_connections: 2048,
            max_anonymous: 64,
            anonymous_lifetime: Duration::from_secs(30),
            handshake: Duration::from_secs(10),
            request_head: Duration::from_secs(15),
            max_body: 64 * 1024,
        }
    }
}

/// What the API serves.
#[derive(Clone, Debug)]
pub struct Api {
    pub store: Arc<Store>,
    pub keys: Arc<Keyring>,
    pub poll_timeout: Duration,
    pub limits: Limits,
}

impl Api {
    pub fn new(store: Arc<Store>, keys: Arc<Keyring>) -> Api {
        Api {
            store,
            keys,
            poll_timeout: POLL_TIMEOUT,
            limits: Limits::default(),
        }
    }
}

/// The client certificate a connection presented (DER), if any.
#[derive(Clone, Debug, Default)]
pub(crate) struct PeerCert(pub Option<Arc<Vec<u8>>>);

/// Serve `api` over TLS (`tls`, see [`crate::trust::tls::server_config`])
/// on `listener` until `shutdown` completes; pending long-polls then answer
/// 204 at once.
pub async fn run(
    listener: tokio::net::TcpListener,
    api: Api,
    tls: Arc<rustls::ServerConfig>,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    let limits = api.limits;
    let (closing_tx, closing) = tokio::sync::watch::channel(false);
    let app = routes::router(Arc::new(routes::Shared { api, closing }));
    let acceptor = tokio_rustls::TlsAcceptor::from(tls);
    let permits = Arc::new(Semaphore::new(limits.max_connections));
    let anonymous = Arc::new(Semaphore::new(limits.max_anonymous));
    let graceful = hyper_util::server::graceful::GracefulShutdown::new();
    tokio::pin!(shutdown);
    loop {
        let tcp = tokio::select! {
            tcp = sluice_scrape::accept(&listener, "API") => tcp,
            () = &mut shutdown => break,
        };
        let Ok(permit) = permits.clone().try_acquire_owned() else {
            tracing::debug!(
                limit = limits.max_connections,
                "API: connection limit reached, closing a new connection"
            );
            continue;
        };
        let _ = tcp.set_nodelay(true);
        let acceptor = acceptor.clone();
        let app = app.clone();
        let watcher = graceful.watcher();
        let anonymous = anonymous.clone();
        tokio::spawn(async move {
            let _permit = permit;
            let stream = match tokio::time::timeout(limits.handshake, acceptor.accept(tcp)).await {
                Ok(Ok(stream)) => stream,
                Ok(Err(e)) => {
                    tracing::debug!("API: TLS handshake refused: {e}");
                    return;
                }
                Err(_) => return,
            };
            let peer = PeerCert(
                stream
                    .get_ref()
                    .1
                    .peer_certificates()
                    .and_then(|c| c.first())
                    .map(|c| Arc::new(c.to_vec())),
            );
            // A chain from the channel's CA was verified in the handshake:
            // only a daemon-issued certificate gets past this point with one.
            let (_anonymous, lifetime) = match &peer.0 {
                Some(_) => (None, None),
                None => match anonymous.try_acquire_owned() {
                    Ok(p) => (Some(p), Some(limits.anonymous_lifetime)),
                    Err(_) => {
                        tracing::debug!(
                            "API: too many connections without a client certificate, closing one"
                        );
                        return;
                    }
                },
            };
            let service = hyper::service::service_fn(move |mut req: hyper::Request<Incoming>| {
                req.extensions_mut().insert(peer.clone());
                app.clone().oneshot(req)
            });
            // Without a certificate: one request per connection (the answer
            // says `Connection: close`), so no client pools a connection
            // that the lifetime limit will cut.
            let conn = hyper::server::conn::http1::Builder::new()
                .timer(TokioTimer::new())
                .header_read_timeout(limits.request_head)
                .keep_alive(lifetime.is_none())
                .serve_connection(TokioIo::new(stream), service);
            let served = watcher.watch(conn);
            let result = match lifetime {
                Some(limit) => match tokio::time::timeout(limit, served).await {
                    Ok(r) => r,
                    Err(_) => return,
                },
                None => served.await,
            };
            if let Err(e) = result {
                tracing::debug!("API connection: {e}");
            }
        });
    }
    drop(listener);
    let _ = closing_tx.send(true);
    // Long-polls answer at once; anything slower is cut.
    let _ = tokio::time::timeout(Duration::from_secs(5), graceful.shutdown()).await;
    Ok(())
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
