//! `GET /metrics` (and the status page, when on) on `MetricsAddr`: plain
//! HTTP without credentials (metrics say nothing secret: cluster names,
//! counts and times), so Prometheus scrapes it as it scrapes anything else.
//! The operator turns it on by setting `MetricsAddr`, and chooses where it
//! listens.
//!
//! Whoever can reach it gets little of the daemon: a few connections at a
//! time, one request each, cut after a short lifetime, so it can never take
//! the file descriptors or time the agents' API needs.

use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

use axum::Router;
use axum::extract::State;
use axum::http::header;
use axum::response::IntoResponse;
use axum::routing::get;
use hyper::body::Incoming;
use hyper_util::rt::{TokioIo, TokioTimer};
use tokio::sync::Semaphore;
use tower::ServiceExt;

use super::Metrics;

const CONTENT_TYPE: &str = "application/openmetrics-text; version=1.0.0; charset=utf-8";

/// Open connections at once; more are closed as they arrive.
const MAX_CONNECTIONS: usize = 32;
/// To send the request head.
const REQUEST_HEAD: Duration = Duration::from_secs(5);
/// A connection's whole life, slow reads of the answer included.
const LIFETIME: Duration = Duration::from_secs(30);

pub fn router(metrics: Arc<Metrics>) -> Router {
    Router::new()
        .route("/metrics", get(scrape))
        .with_state(metrics)
}

async fn scrape(State(metrics): State<Arc<Metrics>>) -> impl IntoResponse {
    ([(header::CONTENT_TYPE, CONTENT_TYPE)], metrics.encode())
}

/// Serve `router` until `shutdown` completes (then at most 5 s more for the
/// answers being written).
pub async fn run(
    listener: tokio::net::TcpListener,
    router: Router,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    let permits = Arc::new(Semaphore::new(MAX_CONNECTIONS));
    let graceful = hyper_util::server::graceful::GracefulShutdown::new();
    tokio::pin!(shutdown);
    loop {
        let tcp = tokio::select! {
            tcp = crate::serve::accept(&listener, "metrics") => tcp,
            () = &mut shutdown => break,
        };
        let Ok(permit) = permits.clone().try_acquire_owned() else {
            continue;
        };
        let app = router.clone();
        let watcher = graceful.watcher();
        tokio::spawn(async move {
            let _permit = permit;
            let service = hyper::service::service_fn(move |req: hyper::Request<Incoming>| {
                app.clone().oneshot(req)
            });
            let conn = hyper::server::conn::http1::Builder::new()
                .timer(TokioTimer::new())
                .header_read_timeout(REQUEST_HEAD)
                .keep_alive(false)
                .serve_connection(TokioIo::new(tcp), service);
            let _ = tokio::time::timeout(LIFETIME, watcher.watch(conn)).await;
        });
    }
    drop(listener);
    let _ = tokio::time::timeout(Duration::from_secs(5), graceful.shutdown()).await;
    Ok(())
}
#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn scraped_over_http() {
        let metrics = Arc::new(Metrics::new());
        metrics.rounds.inc();
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
        let server = tokio::spawn(run(listener, router(metrics), async move {
            let _ = stopped.await;
        }));
        let mut s = tokio::net::TcpStream::connect(addr).await.unwrap();
        use tokio::io::{AsyncReadExt, AsyncWriteExt};
        s.write_all(b"GET /metrics HTTP/1.0\r\nHost: x\r\n\r\n")
            .await
            .unwrap();
        let mut reply = String::new();
        s.read_to_string(&mut reply).await.unwrap();
        assert!(reply.starts_with("HTTP/1.0 200"), "{reply}");
        assert!(reply.contains("application/openmetrics-text"), "{reply}");
        assert!(reply.contains("sluice_reconcile_rounds_total 1"), "{reply}");
        let _ = stop.send(());
        server.await.unwrap().unwrap();
    }

    /// Whoever reaches the listener holds at most MAX_CONNECTIONS: one more
    /// is closed unanswered, and the slots come back when they are let go.
    #[tokio::test]
    async fn idle_connections_cannot_take_more_than_their_share() {
        use tokio::io::{AsyncReadExt, AsyncWriteExt};
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
        let server = tokio::spawn(run(
            listener,
            router(Arc::new(Metrics::new())),
            async move {
                let _ = stopped.await;
            },
        ));
        let scrape = || async move {
            let mut s = tokio::net::TcpStream::connect(addr).await.unwrap();
            let _ = s.write_all(b"GET /metrics HTTP/1.0\r\n\r\n").await;
            let mut reply = String::new();
            let _ = s.read_to_string(&mut reply).await;
            reply
        };
        let mut idle = Vec::new();
        for _ in 0..MAX_CONNECTIONS {
            idle.push(tokio::net::TcpStream::connect(addr).await.unwrap());
        }
        // Let the server take them all before the next one arrives.
        tokio::time::sleep(Duration::from_millis(200)).await;
        assert_eq!(
            scrape().await,
            "",
            "a connection beyond the limit was served"
        );
        drop(idle);
        tokio::time::sleep(Duration::from_millis(200)).await;
        assert!(
            scrape().await.starts_with("HTTP/1.0 200"),
            "the slots did not come back"
        );
        let _ = stop.send(());
        server.await.unwrap().unwrap();
    }
}
