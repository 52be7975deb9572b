//! The daemon's Prometheus metrics (OpenMetrics text on `MetricsAddr`).
//!
//! Names follow Prometheus conventions: `sluice_` prefix, base units
//! (`_seconds`), counters end in `_total`. Labels are bounded: the cluster
//! (an Extension name), a failure class, a label name from the labels
//! table; never a service, task, address or revision hash.
//!
//! [`Metrics`] is shared (`Arc`): the reconcile loop, the API's store (agent
//! reports) and the scheduler record into it; [`serve`] encodes it on
//! `GET /metrics`.

pub mod serve;

use std::sync::atomic::AtomicU64;

use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::metrics::histogram::{Histogram, exponential_buckets};
use prometheus_client::registry::{Registry, Unit};

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct ClusterLabel {
    pub cluster: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct FailureLabels {
    pub cluster: String,
    /// `transient` or `permanent` (the error policy's class).
    pub class: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct ExcludedLabels {
    /// The label at fault (`com.docker.lb.port`), or `other` when the reason
    /// names none of the labels table's.
    pub label: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct AcmeStateLabel {
    /// `waiting`, `ordering`, `issued` or `failed`.
    pub state: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct AcmeResultLabel {
    /// `issued` or `failed`.
    pub result: String,
}

type FloatGauge = Gauge<f64, AtomicU64>;

pub struct Metrics {
    registry: Registry,
    pub rounds: Counter,
    pub round_failures: Counter,
    pub event_stream_reconnects: Counter,
    pub cluster_failures: Family<FailureLabels, Counter>,
    pub render_duration: Family<ClusterLabel, Histogram>,
    pub routed_services: Family<ClusterLabel, Gauge>,
    pub excluded_services: Family<ExcludedLabels, Gauge>,
    pub revision_timestamp: Family<ClusterLabel, FloatGauge>,
    pub revisions_published: Family<ClusterLabel, Counter>,
    pub publish_to_applied: Family<ClusterLabel, Histogram>,
    pub agent_reports: Family<ClusterLabel, Counter>,
    pub swarm_read_duration: Histogram,
    pub apply_duration: Family<ClusterLabel, Histogram>,
    pub plugin_memory: Family<ClusterLabel, Gauge>,
    pub acme_hosts: Family<AcmeStateLabel, Gauge>,
    pub acme_orders: Family<AcmeResultLabel, Counter>,
    pub acme_certificate_expiry: Family<ClusterLabel, Gauge>,
}

impl Default for Metrics {
    fn default() -> Self {
        Metrics::new()
    }
}

impl Metrics {
    pub fn new() -> Metrics {
        let mut registry = Registry::with_prefix("sluice");
        let rounds = Counter::default();
        registry.register(
            "reconcile_rounds",
            "Reconcile rounds (observe, plan, render, apply) started",
            rounds.clone(),
        );
        let round_failures = Counter::default();
        registry.register(
            "reconcile_round_failures",
            "Rounds that could not read the Swarm (the proxies keep what they run)",
            round_failures.clone(),
        );
        let event_stream_reconnects = Counter::default();
        registry.register(
            "event_stream_reconnects",
            "Times the Docker event stream was subscribed again",
            event_stream_reconnects.clone(),
        );
        let cluster_failures = Family::<FailureLabels, Counter>::default();
        registry.register(
            "cluster_failures",
            "Failed loads, renders and applies of a cluster, by the error policy's class",
            cluster_failures.clone(),
        );
        // 1 ms to ~16 s.
        let render_duration = Family::<ClusterLabel, Histogram>::new_with_constructor(|| {
            Histogram::new(exponential_buckets(0.001, 2.0, 15))
        });
        registry.register_with_unit(
            "render_duration",
            "Time to render a cluster's revision in its plugin (fresh renders only)",
            Unit::Seconds,
            render_duration.clone(),
        );
        let routed_services = Family::<ClusterLabel, Gauge>::default();
        registry.register(
            "routed_services",
            "Services routed by the cluster in the last plan",
            routed_services.clone(),
        );
        let excluded_services = Family::<ExcludedLabels, Gauge>::default();
        registry.register(
            "excluded_services",
            "Services left out of routing in the last plan, by the label at fault",
            excluded_services.clone(),
        );
        let revision_timestamp = Family::<ClusterLabel, FloatGauge>::default();
        registry.register_with_unit(
            "revision_timestamp",
            "When the cluster's current revision was first rendered (Unix time)",
            Unit::Seconds,
            revision_timestamp.clone(),
        );
        let revisions_published = Family::<ClusterLabel, Counter>::default();
        registry.register(
            "revisions_published",
            "Revisions offered to the cluster's agents (hitless delivery; a burst of changes is paced into at most two)",
            revisions_published.clone(),
        );
        // 10 ms to ~80 s.
        let publish_to_applied = Family::<ClusterLabel, Histogram>::new_with_constructor(|| {
            Histogram::new(exponential_buckets(0.01, 2.0, 14))
        });
        registry.register_with_unit(
            "publish_to_applied",
            "From a revision's publication to a proxy replica reporting it applied (hitless delivery)",
            Unit::Seconds,
            publish_to_applied.clone(),
        );
        let agent_reports = Family::<ClusterLabel, Counter>::default();
        registry.register(
            "agent_reports",
            "Reports received from proxy agents",
            agent_reports.clone(),
        );
        // 1 ms to ~16 s.
        let swarm_read_duration = Histogram::new(exponential_buckets(0.001, 2.0, 15));
        registry.register_with_unit(
            "swarm_read_duration",
            "Time to read the Swarm's state from the Docker API (services, tasks, networks, nodes, secrets) at the start of a round",
            Unit::Seconds,
            swarm_read_duration.clone(),
        );
        let apply_duration = Family::<ClusterLabel, Histogram>::new_with_constructor(|| {
            Histogram::new(exponential_buckets(0.001, 2.0, 15))
        });
        registry.register_with_unit(
            "apply_duration",
            "Time to bring a cluster's proxy service (and config objects) in line through the Docker API",
            Unit::Seconds,
            apply_duration.clone(),
        );
        let plugin_memory = Family::<ClusterLabel, Gauge>::default();
        registry.register_with_unit(
            "plugin_memory_peak",
            "The largest linear memory the cluster's plugin grew to in its last render",
            Unit::Bytes,
            plugin_memory.clone(),
        );
        let acme_hosts = Family::<AcmeStateLabel, Gauge>::default();
        registry.register(
            "acme_hosts",
            "sluice.tls = acme hosts by where their certificate stands ([ACME] configured)",
            acme_hosts.clone(),
        );
        let acme_orders = Family::<AcmeResultLabel, Counter>::default();
        registry.register(
            "acme_orders",
            "Certificate orders sent to the ACME directory, by result",
            acme_orders.clone(),
        );
        let acme_certificate_expiry = Family::<ClusterLabel, Gauge>::default();
        registry.register_with_unit(
            "acme_certificate_expiry_earliest",
            "When the cluster's first ACME certificate to expire ends (Unix time)",
            Unit::Seconds,
            acme_certificate_expiry.clone(),
        );
        Metrics {
            registry,
            rounds,
            round_failures,
            event_stream_reconnects,
            cluster_failures,
            render_duration,
            routed_services,
            excluded_services,
            revision_timestamp,
            revisions_published,
            publish_to_applied,
            agent_reports,
            swarm_read_duration,
            apply_duration,
            plugin_memory,
            acme_hosts,
            acme_orders,
            acme_certificate_expiry,
        }
    }

    pub fn cluster(name: &str) -> ClusterLabel {
        ClusterLabel {
            cluster: name.to_owned(),
        }
    }

    /// The OpenMetrics text of everything.
    pub fn encode(&self) -> String {
        let mut out = String::new();
        prometheus_client::encoding::text::encode(&mut out, &self.registry)
            .expect("writing to a String does not fail");
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_follow_prometheus_conventions() {
        let m = Metrics::new();
        m.rounds.inc();
        m.render_duration
            .get_or_create(&Metrics::cluster("east"))
            .observe(0.004);
        m.publish_to_applied
            .get_or_create(&Metrics::cluster("east"))
            .observe(0.2);
        m.cluster_failures
            .get_or_create(&FailureLabels {
                cluster: "east".into(),
                class: "permanent".into(),
            })
            .inc();
        let text = m.encode();
        for line in [
            "# TYPE sluice_reconcile_rounds counter",
            "sluice_reconcile_rounds_total 1",
            "# UNIT sluice_render_duration_seconds seconds",
            "sluice_render_duration_seconds_count{cluster=\"east\"} 1",
            "sluice_publish_to_applied_seconds_bucket{le=\"0.32\",cluster=\"east\"} 1",
            "sluice_cluster_failures_total{cluster=\"east\",class=\"permanent\"} 1",
            "# EOF",
        ] {
            assert!(text.contains(line), "{line} in:\n{text}");
        }
        for name in text
            .lines()
            .filter(|l| !l.starts_with('#'))
            .filter_map(|l| l.split(['{', ' ']).next())
        {
            assert!(name.starts_with("sluice_"), "{name}");
        }
    }

    /// Every series a cluster can have, made.
    fn populate(m: &Metrics, name: &str) {
        let c = Metrics::cluster(name);
        for class in ["transient", "permanent"] {
            m.cluster_failures
                .get_or_create(&FailureLabels {
                    cluster: name.into(),
                    class: class.into(),
                })
                .inc();
        }
        m.render_duration.get_or_create(&c).observe(0.1);
        m.routed_services.get_or_create(&c).set(10_000);
        m.revision_timestamp.get_or_create(&c).set(1.0);
        m.revisions_published.get_or_create(&c).inc();
        m.publish_to_applied.get_or_create(&c).observe(0.1);
        m.agent_reports.get_or_create(&c).inc();
        m.apply_duration.get_or_create(&c).observe(0.1);
        m.plugin_memory.get_or_create(&c).set(1);
    }

    fn samples(m: &Metrics) -> usize {
        m.encode().lines().filter(|l| !l.starts_with('#')).count()
    }

    /// The count docs/metrics.md states: whatever the number of services,
    /// 21 series (and the excluded-services gauges) plus 60 per cluster.
    #[test]
    fn series_are_bounded_per_cluster() {
        let m = Metrics::new();
        m.swarm_read_duration.observe(0.1);
        populate(&m, "east");
        let one = samples(&m);
        populate(&m, "west");
        let per_cluster = samples(&m) - one;
        assert_eq!(per_cluster, 60);
        assert_eq!(one - per_cluster, 21);
    }
}
