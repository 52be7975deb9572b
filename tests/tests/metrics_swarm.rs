//! The daemon's `/metrics` scraped by a real Prometheus (Debian's
//! `prometheus`) on the real two-node Swarm, and read back through
//! Prometheus's HTTP API: rounds, renders, routed services, and the
//! convergence histogram (publication → a proxy replica applied it) after a
//! route change under hitless delivery.

use std::process::{Child, Command, Stdio};
use std::time::Duration;

use sluice_tests::ports::free_port;
use sluice_tests::swarm::config::{self, Seed};
use sluice_tests::swarm::http;
use sluice_tests::swarm::images;
use sluice_tests::swarm::poll::until;
use sluice_tests::swarm::{Node, Scenario, serial, swarm};

const PORT: u16 = 18099;
const SSL_PORT: u16 = 18499;

/// Prometheus, stopped when dropped.
struct Prometheus {
    child: Child,
    port: u16,
    dir: std::path::PathBuf,
}

impl Prometheus {
    fn start(target: &str) -> Prometheus {
        let dir = std::env::temp_dir().join(format!("sluice-prometheus-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        let config = dir.join("prometheus.yml");
        std::fs::write(
            &config,
            format!(
                "global:\n  scrape_interval: 1s\nscrape_configs:\n  - job_name: sluice\n    \
                 static_configs:\n      - targets: ['{target}']\n"
            ),
        )
        .unwrap();
        let port = free_port();
        let child = Command::new("prometheus")
            .arg(format!("--config.file={}", config.display()))
            .arg(format!(
                "--storage.tsdb.path={}",
                dir.join("data").display()
            ))
            .arg(format!("--web.listen-address=127.0.0.1:{port}"))
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("run prometheus (Debian package `prometheus`)");
        Prometheus { child, port, dir }
    }

    /// The value of an instant query's single sample, or why there is none.
    fn query(&self, promql: &str) -> Result<f64, String> {
        let path = format!("/api/v1/query?query={}", encode(promql));
        let r = http::get("127.0.0.1", self.port, "127.0.0.1", &path)?;
        let doc: serde_json::Value =
            serde_json::from_str(&r.body).map_err(|e| format!("{e}: {}", r.body))?;
        let result = &doc["data"]["result"];
        match result.as_array().map(Vec::as_slice) {
            Some([one]) => one["value"][1]
                .as_str()
                .and_then(|v| v.parse().ok())
                .ok_or_else(|| format!("no value in {one}")),
            _ => Err(format!("{promql}: {result}")),
        }
    }
}

impl Drop for Prometheus {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
        let _ = std::fs::remove_dir_all(&self.dir);
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
fn prometheus_scrapes_rounds_routes_and_convergence() {
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
    let config = format!(
        "MetricsAddr = \"127.0.0.1:{metrics_port}\"\n{}",
        config::seed_with(
            env,
            &p,
            PORT,
            SSL_PORT,
            Seed {
                proxy_image: Some(&agent_image),
                delivery: Some("hitless"),
                listen: Some(&listen),
            },
        )
    );
    let (demoeast, _) = s.seed_services();
    let prometheus = Prometheus::start(&format!("127.0.0.1:{metrics_port}"));
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

    let east = "{cluster=\"east\"}";
    let want = |promql: String, ok: fn(f64) -> bool| {
        let (v, took) = until(&promql, Duration::from_secs(60), || {
            let v = prometheus.query(&promql)?;
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
    };
    want("sluice_reconcile_rounds_total".into(), |v| v > 0.0);
    want(format!("sluice_routed_services{east}"), |v| v == 2.0);
    want(format!("sluice_render_duration_seconds_count{east}"), |v| {
        v >= 2.0
    });
    // The route change, on the east proxy's replica (which started with the
    // first revision, so that one is not convergence and not counted).
    let applied = want(
        format!("sluice_publish_to_applied_seconds_count{east}"),
        |v| v >= 1.0,
    );
    let sum = want(
        format!("sluice_publish_to_applied_seconds_sum{east}"),
        |v| v > 0.0,
    );
    println!(
        "[metrics] convergence, publication -> applied: {applied} observations, mean {:.3} s",
        sum / applied
    );
    want(format!("sluice_agent_reports_total{east}"), |v| v > 0.0);
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
    let cluster = config::Cluster {
        name: "east".into(),
        plugin: "nginx",
        proxy_image: env.nginx_image.clone(),
        networks: vec![net.clone()],
        region: "east",
        port: 18100,
        ssl_port: 18500,
    };
    let sc = cluster.service_cluster(&p);
    let web = s.whoami(
        "web",
        &net,
        "east",
        1,
        &[
            ("hosts", "page.test"),
            ("port", "8000"),
            ("service_cluster", &sc),
        ],
    );
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
    let late = s.whoami(
        "late",
        &net,
        "east",
        1,
        &[
            ("hosts", "late.test"),
            ("port", "8000"),
            ("service_cluster", &sc),
        ],
    );
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
