//! `GET /metrics` (and the status page, when on) on `MetricsAddr`: plain
//! HTTP without credentials (metrics say nothing secret: cluster names,
//! counts and times), so Prometheus scrapes it as it scrapes anything else.
//! The operator turns it on by setting `MetricsAddr`, and chooses where it
//! listens.
//!
//! Whoever can reach it gets little of the daemon ([`sluice_scrape`]'s
//! limits), so it can never take the file descriptors or time the agents'
//! API needs.

use std::future::Future;
use std::sync::Arc;

use axum::Router;
use axum::extract::State;
use axum::http::header;
use axum::response::IntoResponse;
use axum::routing::get;
use hyper::body::Incoming;
use tower::ServiceExt;

use super::Metrics;

const CONTENT_TYPE: &str = "application/openmetrics-text; version=1.0.0; charset=utf-8";

pub fn router(metrics: Arc<Metrics>) -> Router {
    Router::new()
        .route("/metrics", get(scrape))
        .with_state(metrics)
}

async fn scrape(State(metrics): State<Arc<Metrics>>) -> impl IntoResponse {
    ([(header::CONTENT_TYPE, CONTENT_TYPE)], metrics.encode())
}

/// Scrapers (and status page readers) at once.
const MAX_CONNECTIONS: usize = 32;

/// Serve `router` until `shutdown` completes, with the limits of
/// [`sluice_scrape`] (32 connections, one request each, 30 s in all).
pub async fn run(
    listener: tokio::net::TcpListener,
    router: Router,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    let service = hyper::service::service_fn(move |req: hyper::Request<Incoming>| {
        router.clone().oneshot(req)
    });
    sluice_scrape::serve(listener, "metrics", MAX_CONNECTIONS, service, shutdown).await;
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
}
