//! Sluice's metrics scraped by a real Prometheus (Debian's `prometheus`,
//! run as a Swarm service on the real two-node Swarm with the scrape config
//! of examples/monitoring), and read back through Prometheus's HTTP API:
//! - the proxy replicas, found by Swarm service discovery and scraped on
//!   their overlay network: reloads, and the requests the test sent, per host
//!   (nginx's traffic counted by the agent);
//! - the daemon: rounds, renders, routed services, and the convergence
//!   histogram (publication → a proxy replica applied it) after a route
//!   change under hitless delivery;
//! - every query of examples/monitoring's Grafana dashboard.

use std::process::Command;
use std::time::Duration;

use sluice_tests::ports::free_port;
use sluice_tests::swarm::config::{self, Seed};
use sluice_tests::swarm::http;
use sluice_tests::swarm::images;
use sluice_tests::swarm::poll::until;
use sluice_tests::swarm::{Node, Scenario, serial, swarm};

const PORT: u16 = 18099;
const SSL_PORT: u16 = 18499;
/// The agents' metrics port (`AgentMetricsPort`).
const AGENT_METRICS_PORT: u16 = 9102;

fn example(name: &str) -> String {
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../examples/monitoring")
        .join(name);
    std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

/// examples/monitoring's scrape config for a scenario: its NETWORKS rules
/// keep `network`, its NAMES rules the services matching `names`, and it
/// scrapes and discovers every second.
fn scrape_config(network: &str, names: &str) -> String {
    let mut scrape = example("prometheus.yml");
    for (from, to) in [
        (
            "regex: 'sluice_sluice|ucp-interlock-proxy.*'",
            format!("regex: '{names}'"),
        ),
        (
            "regex: 'eastnet|westnet|sluice_default'",
            format!("regex: '{network}'"),
        ),
        ("regex: 'eastnet|westnet'", format!("regex: '{network}'")),
        ("scrape_interval: 15s", "scrape_interval: 1s".to_owned()),
        ("refresh_interval: 15s", "refresh_interval: 1s".to_owned()),
    ] {
        assert!(
            scrape.contains(from),
            "examples/monitoring/prometheus.yml lost {from:?}"
        );
        scrape = scrape.replace(from, &to);
    }
    scrape
}

/// Prometheus as a Swarm service `PREFIX-prometheus` on the manager (the
/// scenario removes it), with the Docker socket for service discovery.
struct Prometheus {
    addr: String,
    port: u16,
}

impl Prometheus {
    fn start(s: &Scenario, network: &str, config: &str) -> Prometheus {
        let image = s.step("prometheus image", images::prometheus);
        let file = std::env::temp_dir().join(format!("{}-prometheus.yml", s.prefix));
        std::fs::write(&file, config).unwrap();
        let config_name = format!("{}-prometheus-yml", s.prefix);
        s.manager
            .run(&["config", "create", &config_name, file.to_str().unwrap()]);
        let _ = std::fs::remove_file(&file);
        let port = free_port();
        let name = format!("{}-prometheus", s.prefix);
        let publish = format!("mode=host,published={port},target=9090");
        let docker_sock = format!(
            "type=bind,source={},target=/var/run/docker.sock",
            s.env.manager_sock
        );
        let config_mount = format!("source={config_name},target=/etc/prometheus/prometheus.yml");
        s.manager.run(&[
            "service",
            "create",
            "--detach",
            "--no-resolve-image",
            "--name",
            &name,
            "--label",
            "sluice.test=1",
            "--network",
            network,
            "--constraint",
            "node.role==manager",
            "--mount",
            &docker_sock,
            "--config",
            &config_mount,
            "--publish",
            &publish,
            &image,
            "--config.file=/etc/prometheus/prometheus.yml",
            "--storage.tsdb.path=/tmp/prometheus",
            "--web.listen-address=:9090",
        ]);
        Prometheus {
            addr: s.env.manager_addr.clone(),
            port,
        }
    }

    fn api(&self, path: &str) -> Result<serde_json::Value, String> {
        let r = http::get(&self.addr, self.port, &self.addr, path)?;
        let doc: serde_json::Value =
            serde_json::from_str(&r.body).map_err(|e| format!("{e}: {}", r.body))?;
        if doc["status"] != "success" {
            return Err(format!("{path}: {}", r.body));
        }
        Ok(doc)
    }

    /// An instant query's samples.
    fn samples(&self, promql: &str) -> Result<Vec<serde_json::Value>, String> {
        let doc = self.api(&format!("/api/v1/query?query={}", encode(promql)))?;
        Ok(doc["data"]["result"]
            .as_array()
            .cloned()
            .unwrap_or_default())
    }

    /// The value of an instant query's single sample, or why there is none.
    fn query(&self, promql: &str) -> Result<f64, String> {
        match self.samples(promql)?.as_slice() {
            [one] => one["value"][1]
                .as_str()
                .and_then(|v| v.parse().ok())
                .ok_or_else(|| format!("no value in {one}")),
            more => Err(format!("{promql}: {more:?}")),
        }
    }

    /// Polls `promql` until its single value satisfies `ok` (90 s at most),
    /// says how long that took, and returns the value.
    fn wait_for(&self, promql: &str, ok: impl Fn(f64) -> bool) -> f64 {
        let (v, took) = until(promql, Duration::from_secs(90), || {
            let v = self.query(promql)?;
            if ok(v) {
                Ok(v)
            } else {
                Err(format!("{promql} = {v}"))
            }
        });
        println!(
            "[metrics] {promql} = {v} (in Prometheus after {:.1} s)",
            took.as_secs_f64()
        );
        v
    }

    /// The active targets of `job`: "SCRAPE_URL HEALTH" (with the `service`
    /// label first, when the job sets one).
    fn targets(&self, job: &str) -> Vec<String> {
        let targets = self.api("/api/v1/targets").expect("targets");
        targets["data"]["activeTargets"]
            .as_array()
            .into_iter()
            .flatten()
            .filter(|t| t["labels"]["job"] == job)
            .map(|t| {
                let service = t["labels"]["service"]
                    .as_str()
                    .map_or(String::new(), |s| format!("{s} "));
                format!("{service}{} {}", t["scrapeUrl"], t["health"])
            })
            .collect()
    }

    /// Every metric name Prometheus has.
    fn names(&self) -> Result<Vec<String>, String> {
        let doc = self.api("/api/v1/label/__name__/values")?;
        Ok(doc["data"]
            .as_array()
            .into_iter()
            .flatten()
            .filter_map(|v| v.as_str().map(str::to_owned))
            .collect())
    }
}

/// Percent-encoding for a query parameter.
fn encode(s: &str) -> String {
    s.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => {
                (b as char).to_string()
            }
            _ => format!("%{b:02X}"),
        })
        .collect()
}

#[test]
fn prometheus_scrapes_the_daemon_and_the_proxy_replicas_found_in_the_swarm() {
    let _serial = serial();
    let Some(env) = swarm("metrics") else {
        return;
    };
    let mut s = Scenario::new(env, "e2e-metrics");
    let p = s.prefix.clone();
    let agent_image = s.step("agent image", || {
        images::nginx_agent(env!("CARGO_BIN_EXE_test-agent"))
    });
    let (api_port, metrics_port) = (free_port(), free_port());
    let listen = format!(":{api_port}");
    // The daemon listens on the manager's bridge address, which Prometheus's
    // container reaches through its gateway.
    let seed = config::seed_with(
        env,
        &p,
        PORT,
        SSL_PORT,
        Seed::hitless(&agent_image, &listen),
    );
    let east_cluster = format!("ServiceCluster=\"{p}-east\"\n");
    let east_config = "[Extensions.east.Config]\n";
    assert!(seed.contains(&east_cluster) && seed.contains(east_config));
    let config = format!(
        "MetricsAddr = \"{}:{metrics_port}\"\n{}",
        env.manager_addr,
        seed.replace(
            &east_cluster,
            &format!("{east_cluster}    AgentMetricsPort = {AGENT_METRICS_PORT}\n"),
        )
        .replace(
            east_config,
            &format!("{east_config}      TrafficMetrics = true\n")
        )
    );
    let (demoeast, _) = s.seed_services();
    // A service that carries Sluice's label without being one of its
    // proxies: the example's NAMES rule keeps it out of the scrape.
    s.whoami_labelled(
        "impostor",
        &format!("{p}-eastnet"),
        "east",
        1,
        &[],
        &[("com.docker.sluice.metrics-port", "8000")],
    );

    // examples/monitoring's scrape config, for this scenario's network, with
    // a fast scrape, and the daemon (a process here, not a Swarm service) as
    // a static target.
    let eastnet = format!("{p}-eastnet");
    let scrape = scrape_config(&eastnet, &format!("{p}-proxy-.*"))
        + &format!(
            "\n  - job_name: sluice-daemon\n    static_configs:\n      - targets: ['{}:{metrics_port}']\n",
            env.manager_addr
        );
    let prometheus = Prometheus::start(&s, &eastnet, &scrape);
    s.start_daemon(&config);
    let t = s.wait_served(
        Node::East,
        PORT,
        "demo.A",
        &demoeast,
        Duration::from_secs(120),
    );
    s.timing("daemon start -> demo.A 200 via east", t);

    // A route change: its revision's convergence is measured by the agent's report.
    let late = s.seed_service("late", "east", "late.test");
    let t = s.wait_served(
        Node::East,
        PORT,
        "late.test",
        &late,
        Duration::from_secs(60),
    );
    s.timing("new service -> late.test 200", t);
    // For a moment after an nginx reload its old workers (the revision
    // before late.test) still take new connections: the counted traffic
    // starts once late.test answered five times in a row.
    sluice_tests::swarm::poll::until(
        "late.test served by every worker",
        Duration::from_secs(10),
        || {
            for _ in 0..5 {
                let r = s.get(Node::East, PORT, "late.test")?;
                if r.status != 200 {
                    return Err(format!("{r:?}"));
                }
            }
            Ok(())
        },
    );
    // Traffic the test counts: demo.A and late.test answered by the
    // services, and one host nobody routes (the default server's 503).
    let sent = 12;
    for host in ["demo.A", "late.test"] {
        for _ in 0..sent {
            let r = s.get(Node::East, PORT, host).expect(host);
            assert_eq!(r.status, 200, "{host}: {r:?}");
        }
    }
    let r = s.get(Node::East, PORT, "nobody.test").expect("nobody.test");
    assert_eq!(r.status, 503, "{r:?}");

    let want = |promql: String, ok: &dyn Fn(f64) -> bool| prometheus.wait_for(&promql, ok);
    // The proxy replica, found by Swarm discovery and scraped on eastnet.
    want("sum(sluice_agent_info{cluster=\"east\"})".into(), &|v| {
        v == 1.0
    });
    // Host names are lower-cased as the proxy's config holds them.
    for host in ["demo.a", "late.test"] {
        want(
            format!(
                "sum(sluice_proxy_http_requests_total{{cluster=\"east\",host=\"{host}\",code=\"2xx\"}})"
            ),
            &|v| v >= f64::from(sent),
        );
    }
    want(
        "sum(sluice_proxy_http_requests_total{cluster=\"east\",code=\"5xx\"})".into(),
        &|v| v >= 1.0,
    );
    want(
        "sum(sluice_agent_reloads_total{cluster=\"east\"})".into(),
        &|v| v >= 1.0,
    );

    // Under load every request is counted: the proxy service sets the
    // traffic socket's queue (net.unix.max_dgram_qlen) in its container.
    let container = s.manager.lines(&[
        "ps",
        "--filter",
        &format!("label=com.docker.swarm.service.name={p}-proxy-east"),
        "--format",
        "{{.ID}}",
    ]);
    let qlen = s.manager.run(&[
        "exec",
        &container[0],
        "cat",
        "/proc/sys/net/unix/max_dgram_qlen",
    ]);
    assert_eq!(qlen.trim(), "1024", "the proxy container's datagram queue");
    let demo = "sum(sluice_proxy_http_requests_total{cluster=\"east\",host=\"demo.a\"})";
    // Settled: the same value over two scrapes.
    let (before, _) = until("a settled count", Duration::from_secs(30), || {
        let a = prometheus.query(demo)?;
        std::thread::sleep(Duration::from_millis(2500));
        let b = prometheus.query(demo)?;
        if a == b {
            Ok(b)
        } else {
            Err(format!("{a} then {b}"))
        }
    });
    let (threads, each) = (4, 500);
    let started = std::time::Instant::now();
    let clients: Vec<_> = (0..threads)
        .map(|_| {
            let addr = env.manager_addr.clone();
            std::thread::spawn(move || {
                for _ in 0..each {
                    let r = http::get(&addr, PORT, "demo.A", "/").expect("demo.A");
                    assert_eq!(r.status, 200, "{r:?}");
                }
            })
        })
        .collect();
    for c in clients {
        c.join().unwrap();
    }
    let rate = f64::from(threads * each) / started.elapsed().as_secs_f64();
    let burst = f64::from(threads * each);
    want(format!("{demo} - {before}"), &move |v| v == burst);
    println!("[metrics] {burst} requests at {rate:.0}/s through the east proxy: all counted");
    let agents = prometheus.targets("sluice");
    println!("[metrics] replicas found by Swarm discovery: {agents:?}");
    assert_eq!(
        agents.len(),
        1,
        "one east replica, scraped once, and not the impostor: {agents:?}"
    );

    // The daemon.
    let east = "{cluster=\"east\"}";
    want("sluice_reconcile_rounds_total".into(), &|v| v > 0.0);
    want(format!("sluice_routed_services{east}"), &|v| v == 2.0);
    want(
        format!("sluice_render_duration_seconds_count{east}"),
        &|v| v >= 2.0,
    );
    // The route change, on the east proxy's replica (which started with the
    // first revision, so that one is not convergence and not counted).
    let applied = want(
        format!("sluice_publish_to_applied_seconds_count{east}"),
        &|v| v >= 1.0,
    );
    let sum = want(
        format!("sluice_publish_to_applied_seconds_sum{east}"),
        &|v| v > 0.0,
    );
    println!(
        "[metrics] convergence, publication -> applied: {applied} observations, mean {:.3} s",
        sum / applied
    );
    want(format!("sluice_agent_reports_total{east}"), &|v| v > 0.0);
    want("sluice_swarm_read_duration_seconds_count".into(), &|v| {
        v > 0.0
    });
    want(format!("sluice_apply_duration_seconds_count{east}"), &|v| {
        v > 0.0
    });
    // nginx's plugin grows its memory while rendering: more than nothing,
    // less than the 512 MiB limit.
    want(format!("sluice_plugin_memory_peak_bytes{east}"), &|v| {
        v > 0.0 && v < 512.0 * 1024.0 * 1024.0
    });

    dashboard_queries_answer(&prometheus);
}

/// Metrics that exist only once something failed (or on HAProxy clusters,
/// which this scenario has none of), and filters that are empty while
/// nothing is wrong.
fn may_be_empty(expr: &str) -> bool {
    [
        "sluice_cluster_failures_total",
        "sluice_proxy_upstream_errors_total",
        "haproxy_",
        "> 0",
    ]
    .iter()
    .any(|m| expr.contains(m))
}

/// Every query of the Grafana dashboard runs, names metrics Prometheus has
/// (a renamed metric breaks this), and answers with data.
fn dashboard_queries_answer(prometheus: &Prometheus) {
    let dashboard: serde_json::Value =
        serde_json::from_str(&example("grafana-dashboard.json")).expect("dashboard JSON");
    let exprs: Vec<String> = dashboard["panels"]
        .as_array()
        .expect("panels")
        .iter()
        .flat_map(|p| p["targets"].as_array().cloned().unwrap_or_default())
        .filter_map(|t| t["expr"].as_str().map(str::to_owned))
        .collect();
    assert!(exprs.len() > 15, "{} queries", exprs.len());
    let names = prometheus.names().expect("metric names");
    for expr in &exprs {
        let promql = expr
            .replace("$__rate_interval", "1m")
            .replace("$cluster", ".*")
            .replace("$host", ".*");
        for name in metric_names(&promql) {
            assert!(
                names.contains(&name) || may_be_empty(&name),
                "the dashboard's {expr:?} names {name}, which Prometheus does not have"
            );
        }
        // rate() needs two scrapes of a series in its window.
        until(
            &format!("the dashboard's {expr:?} to answer"),
            Duration::from_secs(30),
            || {
                let samples = prometheus
                    .samples(&promql)
                    .unwrap_or_else(|e| panic!("the dashboard's {expr:?} does not run: {e}"));
                if !samples.is_empty() || may_be_empty(expr) {
                    Ok(())
                } else {
                    Err("no data".to_owned())
                }
            },
        );
    }
    println!(
        "[metrics] all {} dashboard queries run and answer",
        exprs.len()
    );
}

/// The metric names in a query: words starting `sluice_` or `haproxy_`.
fn metric_names(promql: &str) -> Vec<String> {
    promql
        .split(|c: char| !(c.is_ascii_alphanumeric() || c == '_'))
        .filter(|w| w.starts_with("sluice_") || w.starts_with("haproxy_"))
        .map(str::to_owned)
        .collect()
}

/// The example's second job: HAProxy's own exporter (`MetricsPort`), found
/// by the label the operator puts on the proxy service (`ProxyLabels`),
/// with per-backend (per host) response counts.
#[test]
fn prometheus_scrapes_haproxys_exporter_found_in_the_swarm() {
    let _serial = serial();
    let Some(env) = swarm("haproxy_exporter") else {
        return;
    };
    let mut s = Scenario::new(env, "e2e-hapx");
    let p = s.prefix.clone();
    let net = s.network("net");
    let cluster = config::Cluster {
        name: "hap".into(),
        plugin: "haproxy",
        proxy_image: env.haproxy_image.clone(),
        networks: vec![net.clone()],
        region: "east",
        port: 18102,
        ssl_port: 18502,
    };
    let web = s.whoami(
        "web",
        &net,
        "east",
        1,
        &[
            ("hosts", "hap.test"),
            ("port", "8000"),
            ("service_cluster", &cluster.service_cluster(&p)),
        ],
    );
    // As docs/metrics.md says: the exporter's port, and the label that
    // points Prometheus at it (the built config ends in ProxyLabels).
    let config = config::build(env, &p, std::slice::from_ref(&cluster))
        + "    \"com.docker.sluice.haproxy-exporter-port\" = \"9101\"\n  \
           [Extensions.hap.Config]\n    MetricsPort = 9101\n";
    let prometheus = Prometheus::start(&s, &net, &scrape_config(&net, &cluster.proxy_service(&p)));
    s.start_daemon(&config);
    let t = s.wait_served(
        Node::East,
        18102,
        "hap.test",
        &web,
        Duration::from_secs(120),
    );
    s.timing("daemon start -> hap.test 200", t);
    let sent = 10;
    for _ in 0..sent {
        let r = s.get(Node::East, 18102, "hap.test").expect("hap.test");
        assert_eq!(r.status, 200, "{r:?}");
    }
    let promql = "sum(haproxy_backend_http_responses_total{job=\"haproxy\",cluster=\"hap\",proxy=~\".*hap_test.*\",code=\"2xx\"})";
    prometheus.wait_for(promql, |v| v >= f64::from(sent));
    let found = prometheus.targets("haproxy");
    assert_eq!(
        found.len(),
        1,
        "one HAProxy replica, scraped once: {found:?}"
    );
    println!("[metrics] HAProxy exporters found by Swarm discovery: {found:?}");
}

/// The DOM of `url` after its scripts ran, from a real headless Chromium.
fn browser_dom(url: &str) -> String {
    let out = Command::new("chromium")
        .args([
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--disable-dev-shm-usage",
            "--virtual-time-budget=4000",
            "--dump-dom",
            url,
        ])
        .output()
        .expect("run chromium (Debian package `chromium`)");
    assert!(
        out.status.success(),
        "chromium: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

#[test]
fn status_page_shows_routes_exclusions_and_new_services_in_a_browser() {
    let _serial = serial();
    let Some(env) = swarm("status_page") else {
        return;
    };
    let mut s = Scenario::new(env, "e2e-page");
    let p = s.prefix.clone();
    let net = s.network("net");
    let cluster = config::Cluster::nginx_east(env, "east", &net, 18100, 18500);
    let sc = cluster.service_cluster(&p);
    let web = s.routed_whoami("web", &net, "east", "page.test", &sc);
    // A label value that would be markup if the page ever wrote it as HTML.
    let payload = "<img src=x onerror=alert(1)>";
    let bad = s.whoami(
        "bad",
        &net,
        "east",
        1,
        &[
            ("hosts", "bad.test"),
            ("port", payload),
            ("service_cluster", &sc),
        ],
    );
    let metrics_port = free_port();
    let config = format!(
        "MetricsAddr = \"127.0.0.1:{metrics_port}\"\nStatusPage = true\n{}",
        config::build(env, &p, std::slice::from_ref(&cluster))
    );
    s.start_daemon(&config);
    let t = s.wait_served(
        Node::East,
        18100,
        "page.test",
        &web,
        Duration::from_secs(120),
    );
    s.timing("daemon start -> page.test 200", t);

    let url = format!("http://127.0.0.1:{metrics_port}/status");
    let dom = browser_dom(&url);
    for want in [
        "Cluster east",
        "page.test",
        web.as_str(),
        bad.as_str(),
        "com.docker.lb.port",
    ] {
        assert!(dom.contains(want), "{want} not on the page:\n{dom}");
    }
    // The payload is text on the page, never an element.
    assert!(
        dom.contains("&lt;img src=x onerror=alert(1)&gt;"),
        "the bad label's value is not shown as text:\n{dom}"
    );
    assert!(
        !dom.contains("<img"),
        "the label value became markup:\n{dom}"
    );

    // A new service: in the page's data within a second of its creation,
    // and on the page the browser shows.
    let late = s.routed_whoami("late", &net, "east", "late.test", &sc);
    let (_, took) = until("late.test in status.json", Duration::from_secs(30), || {
        let r = http::get("127.0.0.1", metrics_port, "127.0.0.1", "/status.json")?;
        if r.body.contains("late.test") && r.body.contains(&late) {
            Ok(())
        } else {
            Err("not yet".to_string())
        }
    });
    println!(
        "[status page] a new service was in status.json {:.2} s after `docker service create` returned (the page polls it every second)",
        took.as_secs_f64()
    );
    let dom = browser_dom(&url);
    assert!(
        dom.contains("late.test"),
        "late.test not on the page:\n{dom}"
    );
}
