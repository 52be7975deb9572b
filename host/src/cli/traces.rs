//! `--otlp-endpoint`: each reconcile round as an OpenTelemetry trace
//! (round → observe, plan, and per cluster render, publish, apply), sent
//! over OTLP/HTTP (protobuf) to a collector. Off unless the flag (or the
//! standard `OTEL_EXPORTER_OTLP_ENDPOINT`) is set.
//!
//! Spans go out in batches from a thread of the SDK's own, so a slow or
//! absent collector never holds up a round: the SDK drops what it cannot
//! send.

use std::sync::OnceLock;

use anyhow::Context;
use opentelemetry::trace::TracerProvider as _;
use opentelemetry_otlp::WithExportConfig;
use opentelemetry_sdk::Resource;
use opentelemetry_sdk::trace::SdkTracerProvider;

static PROVIDER: OnceLock<SdkTracerProvider> = OnceLock::new();

/// The tracing layer exporting Sluice's spans to `endpoint` (the collector's
/// base URL, e.g. `http://otel-collector:4318`; traces go to `/v1/traces`).
pub fn layer<S>(endpoint: &str) -> anyhow::Result<impl tracing_subscriber::Layer<S>>
where
    S: tracing::Subscriber + for<'span> tracing_subscriber::registry::LookupSpan<'span>,
{
    let url = format!("{}/v1/traces", endpoint.trim_end_matches('/'));
    if !url.starts_with("http://") {
        anyhow::bail!(
            "--otlp-endpoint {endpoint:?}: expected http://HOST:PORT (OTLP over plain HTTP; run a collector on an internal network)"
        );
    }
    let exporter = opentelemetry_otlp::SpanExporter::builder()
        .with_http()
        .with_endpoint(&url)
        .build()
        .with_context(|| format!("--otlp-endpoint {endpoint:?}"))?;
    let provider = SdkTracerProvider::builder()
        .with_batch_exporter(exporter)
        .with_resource(Resource::builder().with_service_name("sluice").build())
        .build();
    let tracer = provider.tracer("sluice");
    let _ = PROVIDER.set(provider);
    Ok(tracing_opentelemetry::layer().with_tracer(tracer))
}

/// Send what is still batched (at exit).
pub fn flush() {
    if let Some(provider) = PROVIDER.get()
        && let Err(e) = provider.shutdown()
    {
        eprintln!("sluice: sending the last traces: {e}");
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The endpoint comes from a flag or the environment: anything but a
    /// plain http:// base URL is refused, naming the flag, before any
    /// exporter exists.
    #[test]
    fn only_plain_http_endpoints_are_taken() {
        for bad in [
            "https://collector:4318",
            "collector:4318",
            "file:///etc/passwd",
            "",
        ] {
            let err = layer::<tracing_subscriber::Registry>(bad)
                .err()
                .unwrap_or_else(|| panic!("{bad:?} was taken"));
            assert!(err.to_string().contains("--otlp-endpoint"), "{err}");
        }
        assert!(
            PROVIDER.get().is_none(),
            "no exporter for a refused endpoint"
        );
    }
}
