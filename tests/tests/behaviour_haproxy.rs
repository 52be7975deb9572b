//! What clients see through the real HAProxy, configured by the bundled
//! plugin (scenarios in `sluice_tests::scenarios`).

sluice_tests::behaviour_tests!(sluice_tests::proxy::Kind::Haproxy);

/// `MetricsPort`: HAProxy's Prometheus exporter counts each host's traffic
/// (one backend per routed host) as clients sent it.
#[test]
fn exporter_counts_responses_per_host() {
    use sluice::wit::latest::{Setting, SettingValue};
    use sluice_tests::backend::Backend;
    use sluice_tests::client::HostClient;
    use sluice_tests::inputs;
    use sluice_tests::proxy::{Kind, Proxy, Routes, Workdir};

    let (a, b) = (
        Backend::http("a", "127.0.0.11"),
        Backend::http("b", "127.0.0.12"),
    );
    let upstream =
        |name: &str, be: &Backend| inputs::upstream(name, &[(be.ip().as_str(), be.port())]);
    let port = sluice_tests::ports::free_port();
    let proxy = Proxy::start_with(
        Kind::Haproxy,
        Workdir::new(Kind::Haproxy, "metrics"),
        Routes::hosts(vec![
            inputs::host("a.test", upstream("a_test", &a)),
            inputs::host("b.test", upstream("b_test", &b)),
        ]),
        vec![Setting {
            key: "MetricsPort".into(),
            value: SettingValue::Integer(i64::from(port)),
        }],
    );
    for _ in 0..3 {
        assert_eq!(
            HostClient::http("a.test", proxy.http_port).get("/").status,
            200
        );
    }
    for _ in 0..2 {
        assert_eq!(
            HostClient::http("b.test", proxy.http_port).get("/").status,
            200
        );
    }
    let metrics = HostClient::http("127.0.0.1", port).get("/metrics");
    assert_eq!(metrics.status, 200, "{metrics:?}");
    let count = |upstream: &str| -> u64 {
        metrics
            .body
            .lines()
            .filter(|l| l.starts_with("haproxy_backend_http_responses_total{"))
            .filter(|l| l.contains(upstream) && l.contains("code=\"2xx\""))
            .filter_map(|l| l.rsplit(' ').next()?.parse::<u64>().ok())
            .sum()
    };
    assert_eq!(
        (count("a_test"), count("b_test")),
        (3, 2),
        "{}",
        metrics.body
    );
}
sluice_tests::policy_tests!(sluice_tests::proxy::Kind::Haproxy);
