//! The agent's own Prometheus metrics, one scrape target per proxy replica
//! (`SLUICE_METRICS_ADDR`, `AgentMetricsPort` in config.toml):
//!
//! - `sluice_agent_*`: the revisions this replica applied and refused, and
//!   how long each reload took (validate and load);
//! - `sluice_proxy_*`: per-host traffic for a proxy that logs its requests
//!   to the agent's socket ([`socket`], [`traffic`]; nginx with
//!   `TrafficMetrics = true`).
//!
//! Labels are bounded: the cluster, a refusal reason, a status class, and
//! the hosts and upstreams of the installed config (capped; a removed
//! route's series go with it). Never a client address, a task or a revision
//! hash.

pub mod serve;
pub mod socket;
pub mod traffic;

use std::sync::Mutex;
use std::sync::atomic::AtomicU64;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use hyper::body::Bytes;
use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::metrics::histogram::Histogram;
use prometheus_client::registry::{Registry, Unit};

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct ClusterLabel {
    cluster: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct ReasonLabel {
    /// `unverified` (signature, cluster or sequence refused) or `invalid`
    /// (the files did not install or the proxy's check refused them).
    reason: &'static str,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct RouteLabels {
    host: String,
    upstream: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct RequestLabels {
    host: String,
    upstream: String,
    /// `2xx`, ...
    code: &'static str,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct HostLabel {
    host: String,
}

/// Why a revision was refused.
#[derive(Clone, Copy, Debug)]
pub enum Refusal {
    Unverified,
    Invalid,
}

type FloatGauge = Gauge<f64, AtomicU64>;
type Histograms<L> = Family<L, Histogram, fn() -> Histogram>;

/// Reload times: a small config loads in milliseconds, nginx with 10k
/// hosts in seconds.
const RELOAD_BUCKETS: [f64; 12] = [
    0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0,
];
/// Request times, as Prometheus's client libraries default them.
const REQUEST_BUCKETS: [f64; 11] = [
    0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0,
];

pub struct AgentMetrics {
    registry: Registry,
    reloads: Counter,
    reload_duration: Histogram,
    runtime_updates: Counter,
    refused: Family<ReasonLabel, Counter>,
    applied_timestamp: FloatGauge,
    requests: Family<RequestLabels, Counter>,
    request_duration: Histograms<HostLabel>,
    upstream_errors: Family<RouteLabels, Counter>,
    connections_active: Gauge,
    lines_refused: Counter,
    routes: Mutex<traffic::Routes>,
    /// The last encoding and when it was made: scrapes within a second
    /// share it, so any number of them costs one encoding.
    encoded: Mutex<Option<(Instant, Bytes)>>,
}

/// How long one encoding serves scrapes.
const ENCODING_LIFETIME: Duration = Duration::from_secs(1);
const CODES: [&str; 5] = ["1xx", "2xx", "3xx", "4xx", "5xx"];

impl AgentMetrics {
    pub fn new(cluster: &str) -> AgentMetrics {
        let mut registry = Registry::with_prefix("sluice");
        let info: Family<ClusterLabel, Gauge> = Family::default();
        info.get_or_create(&ClusterLabel {
            cluster: cluster.to_owned(),
        })
        .set(1);
        registry.register(
            "agent_info",
            "The cluster this proxy replica serves (always 1)",
            info,
        );
        let reloads = Counter::default();
        registry.register(
            "agent_reloads",
            "Revisions this replica loaded into the running proxy",
            reloads.clone(),
        );
        let reload_duration = Histogram::new(RELOAD_BUCKETS);
        registry.register_with_unit(
            "agent_reload_duration",
            "From a revision's arrival to the proxy told to load it: install, the proxy's own check, reload",
            Unit::Seconds,
            reload_duration.clone(),
        );
        let runtime_updates = Counter::default();
        registry.register(
            "agent_runtime_updates",
            "Revisions applied through the proxy's runtime API (server slots set), with no reload",
            runtime_updates.clone(),
        );
        let refused = Family::<ReasonLabel, Counter>::default();
        for reason in ["unverified", "invalid"] {
            let _ = refused.get_or_create(&ReasonLabel { reason });
        }
        registry.register(
            "agent_refused_revisions",
            "Revisions refused (the proxy kept serving the last good one), by reason",
            refused.clone(),
        );
        let applied_timestamp = FloatGauge::default();
        registry.register_with_unit(
            "agent_revision_applied_timestamp",
            "When the revision the proxy serves was applied",
            Unit::Seconds,
            applied_timestamp.clone(),
        );
        let requests = Family::<RequestLabels, Counter>::default();
        registry.register(
            "proxy_http_requests",
            "Requests answered, by host (the server's name), upstream and status class",
            requests.clone(),
        );
        let request_duration: Histograms<HostLabel> =
            Family::new_with_constructor(|| Histogram::new(REQUEST_BUCKETS));
        registry.register_with_unit(
            "proxy_http_request_duration",
            "Time to answer a request, by host",
            Unit::Seconds,
            request_duration.clone(),
        );
        let upstream_errors = Family::<RouteLabels, Counter>::default();
        registry.register(
            "proxy_upstream_errors",
            "Tries to reach an upstream that failed to connect or timed out",
            upstream_errors.clone(),
        );
        let connections_active = Gauge::default();
        registry.register(
            "proxy_connections_active",
            "Client connections open, as of the last request logged",
            connections_active.clone(),
        );
        let lines_refused = Counter::default();
        registry.register(
            "proxy_traffic_lines_refused",
            "Datagrams on the traffic socket that were not traffic lines",
            lines_refused.clone(),
        );
        AgentMetrics {
            registry,
            reloads,
            reload_duration,
            runtime_updates,
            refused,
            applied_timestamp,
            requests,
            request_duration,
            upstream_errors,
            connections_active,
            lines_refused,
            routes: Mutex::new(traffic::Routes::default()),
            encoded: Mutex::new(None),
        }
    }

    /// A revision loaded (the first one at the proxy's start counts as applied, not as a reload).
    pub fn applied(&self, took: Option<Duration>) {
        if let Some(took) = took {
            self.reloads.inc();
            self.reload_duration.observe(took.as_secs_f64());
        }
        let now = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .unwrap_or_default()
            .as_secs_f64();
        self.applied_timestamp.set(now);
    }

    /// A revision applied at runtime: no reload.
    pub fn runtime_applied(&self) {
        self.runtime_updates.inc();
        let now = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .unwrap_or_default()
            .as_secs_f64();
        self.applied_timestamp.set(now);
    }

    /// A revision is installed: traffic gets labels only for the hosts and
    /// upstreams its files name, and the series of those it no longer names
    /// go.
    pub fn installed<'f>(&self, files: impl IntoIterator<Item = &'f str>) {
        // Collected before the lock: the traffic thread counts meanwhile.
        let names = traffic::names_in(files);
        let mut routes = self.routes.lock().unwrap_or_else(|p| p.into_inner());
        let gone = routes.install_names(names);
        if gone.is_empty() {
            return;
        }
        let hosts = routes.hosts();
        for (host, upstream) in gone {
            for code in CODES {
                self.requests.remove(&RequestLabels {
                    host: host.clone(),
                    upstream: upstream.clone(),
                    code,
                });
            }
            if !hosts.contains(host.as_str()) {
                self.request_duration
                    .remove(&HostLabel { host: host.clone() });
            }
            self.upstream_errors.remove(&RouteLabels { host, upstream });
        }
    }

    pub fn refused(&self, why: Refusal) {
        let reason = match why {
            Refusal::Unverified => "unverified",
            Refusal::Invalid => "invalid",
        };
        self.refused.get_or_create(&ReasonLabel { reason }).inc();
    }

    /// One datagram from the traffic socket.
    pub fn traffic_line(&self, datagram: &[u8]) {
        let request = match traffic::parse(datagram) {
            Ok(r) => r,
            Err(traffic::Refused::Malformed) => {
                self.lines_refused.inc();
                return;
            }
        };
        let (host, upstream) = self
            .routes
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .labels(&request);
        self.request_duration
            .get_or_create(&HostLabel { host: host.clone() })
            .observe(request.seconds);
        if request.upstream_errors > 0 {
            self.upstream_errors
                .get_or_create(&RouteLabels {
                    host: host.clone(),
                    upstream: upstream.clone(),
                })
                .inc_by(u64::from(request.upstream_errors));
        }
        self.requests
            .get_or_create(&RequestLabels {
                host,
                upstream,
                code: request.code,
            })
            .inc();
        if let Some(n) = request.connections_active {
            self.connections_active.set(n);
        }
    }

    /// The OpenMetrics text, made at most once a second.
    pub fn encode_shared(&self) -> Bytes {
        let mut slot = self.encoded.lock().unwrap_or_else(|p| p.into_inner());
        if let Some((at, text)) = slot.as_ref()
            && at.elapsed() < ENCODING_LIFETIME
        {
            return text.clone();
        }
        let text = Bytes::from(self.encode());
        *slot = Some((Instant::now(), text.clone()));
        text
    }

    /// The OpenMetrics text.
    pub fn encode(&self) -> String {
        let mut out = String::new();
        prometheus_client::encoding::text::encode(&mut out, &self.registry)
            .expect("writing to a String cannot fail");
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn traffic_lines_become_series() {
        let m = AgentMetrics::new("east");
        m.installed(["server_name a.test; upstream up_a {} server_name b.test;"]);
        let line = |rest: &str| format!("<190>Dec  3 16:28:11 sluice: {rest}");
        m.traffic_line(line("a.test\tup_a\t200\t0.004\t200\t3").as_bytes());
        m.traffic_line(line("a.test\tup_a\t200\t0.2\t502, 200\t2").as_bytes());
        m.traffic_line(line("b.test\t\t503\t0.000\t\t1").as_bytes());
        m.traffic_line(b"garbage");
        // A host the config does not name.
        m.traffic_line(line("evil.test\tup_a\t200\t0.1\t200\t1").as_bytes());
        let text = m.encode();
        for want in [
            r#"sluice_agent_info{cluster="east"} 1"#,
            r#"sluice_proxy_http_requests_total{host="a.test",upstream="up_a",code="2xx"} 2"#,
            r#"sluice_proxy_http_requests_total{host="b.test",upstream="",code="5xx"} 1"#,
            r#"sluice_proxy_http_request_duration_seconds_count{host="a.test"} 2"#,
            r#"sluice_proxy_http_request_duration_seconds_bucket{le="0.005",host="a.test"} 1"#,
            r#"sluice_proxy_upstream_errors_total{host="a.test",upstream="up_a"} 1"#,
            "sluice_proxy_connections_active 1",
            "sluice_proxy_traffic_lines_refused_total 1",
            r#"sluice_agent_refused_revisions_total{reason="invalid"} 0"#,
            r#"sluice_proxy_http_requests_total{host="_other",upstream="_other",code="2xx"} 1"#,
        ] {
            assert!(text.contains(want), "missing {want} in\n{text}");
        }
        assert!(!text.contains("evil.test"), "{text}");
        // The next revision drops b.test: its series go, a.test's stay.
        m.installed(["server_name a.test; upstream up_a {}"]);
        let text = m.encode();
        assert!(!text.contains("b.test"), "{text}");
        assert!(text.contains(r#"host="a.test""#), "{text}");
    }

    #[test]
    fn reloads_and_refusals_are_counted() {
        let m = AgentMetrics::new("east");
        m.applied(None);
        m.applied(Some(Duration::from_millis(30)));
        m.refused(Refusal::Invalid);
        m.refused(Refusal::Unverified);
        m.refused(Refusal::Unverified);
        let text = m.encode();
        for want in [
            "sluice_agent_reloads_total 1",
            "sluice_agent_reload_duration_seconds_count 1",
            r#"sluice_agent_refused_revisions_total{reason="unverified"} 2"#,
            r#"sluice_agent_refused_revisions_total{reason="invalid"} 1"#,
        ] {
            assert!(text.contains(want), "missing {want} in\n{text}");
        }
        assert!(!text.contains("sluice_agent_revision_applied_timestamp_seconds 0\n"));
    }
}
