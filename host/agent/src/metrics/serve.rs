//! `GET /metrics` on `SLUICE_METRICS_ADDR`, with the limits of
//! [`sluice_scrape`]: plain HTTP without credentials, like any exporter;
//! it says nothing secret (cluster, hosts of the proxy's config, counts).

use std::convert::Infallible;
use std::future::Future;
use std::sync::Arc;

use http_body_util::Full;
use hyper::body::{Bytes, Incoming};
use hyper::{Request, Response, StatusCode, header};

use super::AgentMetrics;

const CONTENT_TYPE: &str = "application/openmetrics-text; version=1.0.0; charset=utf-8";

pub async fn run(
    listener: tokio::net::TcpListener,
    metrics: Arc<AgentMetrics>,
    shutdown: impl Future<Output = ()>,
) {
    let service = hyper::service::service_fn(move |req: Request<Incoming>| {
        let metrics = metrics.clone();
        async move {
            let wanted = req.method() == hyper::Method::GET && req.uri().path() == "/metrics";
            // Encoding thousands of series is CPU work: off the runtime
            // that applies revisions.
            let text = match wanted {
                true => tokio::task::spawn_blocking(move || metrics.encode_shared())
                    .await
                    .ok(),
                false => None,
            };
            Ok::<_, Infallible>(answer(text))
        }
    });
    sluice_scrape::serve(
        listener,
        "agent metrics",
        MAX_CONNECTIONS,
        service,
        shutdown,
    )
    .await;
}

/// Scrapers at once: one Prometheus (or two) per replica.
const MAX_CONNECTIONS: usize = 8;

fn answer(text: Option<Bytes>) -> Response<Full<Bytes>> {
    let mut response = if let Some(text) = text {
        let mut r = Response::new(Full::new(text));
        r.headers_mut().insert(
            header::CONTENT_TYPE,
            header::HeaderValue::from_static(CONTENT_TYPE),
        );
        r
    } else {
        let mut r = Response::new(Full::new(Bytes::from_static(b"not found\n")));
        *r.status_mut() = StatusCode::NOT_FOUND;
        r
    };
    response.headers_mut().insert(
        header::CONNECTION,
        header::HeaderValue::from_static("close"),
    );
    response
}
