//! A plain-HTTP listener for scrapers: the daemon's `/metrics` and status
//! page on `MetricsAddr`, and a proxy agent's `/metrics`.
//!
//! They answer without credentials, so whoever reaches the address is a
//! stranger, and gets little: a few connections at a time (the caller's
//! limit; more are closed as they arrive), one request each, [`REQUEST_HEAD`] to send it and
//! [`LIFETIME`] in all. A scrape can so never take the file descriptors or
//! the time the rest of the process needs.

use std::convert::Infallible;
use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

use hyper::body::{Body, Incoming};
use hyper::service::Service;
use hyper::{Request, Response};
use hyper_util::rt::{TokioIo, TokioTimer};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::Semaphore;

/// To send the request head.
pub const REQUEST_HEAD: Duration = Duration::from_secs(5);
/// A connection's whole life, slow reads of the answer included.
pub const LIFETIME: Duration = Duration::from_secs(30);
/// After shutdown, for the answers being written.
const DRAIN: Duration = Duration::from_secs(5);

/// Serve `service` on `listener`, at most `max_connections` at once, until
/// `shutdown` completes (then at most 5 s more for the answers being
/// written).
pub async fn serve<S, B>(
    listener: TcpListener,
    what: &'static str,
    max_connections: usize,
    service: S,
    shutdown: impl Future<Output = ()>,
) where
    S: Service<Request<Incoming>, Response = Response<B>, Error = Infallible>
        + Clone
        + Send
        + 'static,
    S::Future: Send + 'static,
    B: Body + Send + 'static,
    B::Data: Send,
    B::Error: Into<Box<dyn std::error::Error + Send + Sync>>,
{
    let permits = Arc::new(Semaphore::new(max_connections));
    let graceful = hyper_util::server::graceful::GracefulShutdown::new();
    tokio::pin!(shutdown);
    loop {
        let tcp = tokio::select! {
            tcp = accept(&listener, what) => tcp,
            () = &mut shutdown => break,
        };
        let Ok(permit) = permits.clone().try_acquire_owned() else {
            tracing::debug!(
                limit = max_connections,
                "{what}: connection limit reached, closing a new connection"
            );
            continue;
        };
        let service = service.clone();
        let watcher = graceful.watcher();
        tokio::spawn(async move {
            let _permit = permit;
            let conn = hyper::server::conn::http1::Builder::new()
                .timer(TokioTimer::new())
                .header_read_timeout(REQUEST_HEAD)
                .keep_alive(false)
                .serve_connection(TokioIo::new(tcp), service);
            let _ = tokio::time::timeout(LIFETIME, watcher.watch(conn)).await;
        });
    }
    drop(listener);
    let _ = tokio::time::timeout(DRAIN, graceful.shutdown()).await;
}

/// The next connection; a failed accept (out of file descriptors and the
/// like) is said and retried after a pause that lets some close.
pub async fn accept(listener: &TcpListener, what: &str) -> TcpStream {
    loop {
        match listener.accept().await {
            Ok((tcp, _)) => return tcp,
            Err(e) => {
                tracing::warn!("{what}: accepting a connection: {e}");
                tokio::time::sleep(Duration::from_millis(100)).await;
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use bytes::Bytes;
    use http_body_util::Full;
    use tokio::io::{AsyncReadExt, AsyncWriteExt};

    const MAX_CONNECTIONS: usize = 32;

    async fn start() -> (std::net::SocketAddr, tokio::sync::oneshot::Sender<()>) {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
        let service = hyper::service::service_fn(|_req: Request<Incoming>| async {
            Ok::<_, Infallible>(Response::new(Full::new(Bytes::from_static(b"hello"))))
        });
        tokio::spawn(serve(
            listener,
            "test",
            MAX_CONNECTIONS,
            service,
            async move {
                let _ = stopped.await;
            },
        ));
        (addr, stop)
    }

    async fn get(addr: std::net::SocketAddr) -> String {
        let mut s = TcpStream::connect(addr).await.unwrap();
        let _ = s.write_all(b"GET / HTTP/1.1\r\nHost: x\r\n\r\n").await;
        let mut reply = String::new();
        let _ = s.read_to_string(&mut reply).await;
        reply
    }

    #[tokio::test]
    async fn one_request_then_closed() {
        let (addr, _stop) = start().await;
        let reply = get(addr).await;
        assert!(reply.starts_with("HTTP/1.1 200"), "{reply}");
        // read_to_string returned: the server closed after one answer.
        assert!(reply.ends_with("hello"), "{reply}");
    }

    /// Whoever reaches the listener holds at most MAX_CONNECTIONS: one more
    /// is closed unanswered, and the slots come back when they are let go.
    #[tokio::test]
    async fn idle_connections_cannot_take_more_than_their_share() {
        let (addr, _stop) = start().await;
        let mut idle = Vec::new();
        for _ in 0..MAX_CONNECTIONS {
            idle.push(TcpStream::connect(addr).await.unwrap());
        }
        // Let the server take them all before the next one arrives.
        tokio::time::sleep(Duration::from_millis(200)).await;
        assert_eq!(
            get(addr).await,
            "",
            "a connection beyond the limit was served"
        );
        drop(idle);
        tokio::time::sleep(Duration::from_millis(200)).await;
        assert!(
            get(addr).await.starts_with("HTTP/1.1 200"),
            "the slots did not come back"
        );
    }

    #[tokio::test]
    async fn a_silent_connection_is_cut_after_the_head_limit() {
        let (addr, _stop) = start().await;
        let mut s = TcpStream::connect(addr).await.unwrap();
        let started = std::time::Instant::now();
        let mut buf = Vec::new();
        let _ = tokio::time::timeout(REQUEST_HEAD * 3, s.read_to_end(&mut buf)).await;
        let took = started.elapsed();
        assert!(
            took < REQUEST_HEAD * 2,
            "a connection that sent nothing was held {took:?}"
        );
    }
}
