//! 10,000 routes through real nginx and HAProxy on the test Swarm
//! (tests/swarm/up.sh): one hitless proxy on the manager, the routes spread
//! over a few real whoami backends (each service's `com.docker.lb.hosts`
//! names many hosts), then route changes under steady load.
//!
//!     cargo bench -p sluice-tests --bench routes_swarm
//!     BENCH_ROUTES=10000 BENCH_BACKENDS=10 BENCH_CHANGES=20 BENCH_PLUGINS=nginx,haproxy \
//!         cargo bench -p sluice-tests --bench routes_swarm
//!
//! Per plugin: daemon start → the last route served; then `BENCH_CHANGES`
//! route changes (a `docker service update` of one backend's host label,
//! each awaited until served, 400 ms apart so each is its own reload) while
//! a client asks an unchanged host every 10 ms on a new connection. Printed:
//! label update → served per change, the agents' apply time (publication →
//! replica reported it applied: what a reload costs through the agent), the
//! reloads counted, the proxy container's memory (PSS of all its processes:
//! at rest, and the peak sampled every 50 ms during the changes) and the
//! failed requests. Results go to `target/bench-routes-swarm.json`. Not part
//! of `cargo test`; everything it creates is named `routes-PLUGIN-*` and goes
//! at the end.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use serde_json::{Value, json};
use sluice_tests::bench_run;
use sluice_tests::ports::free_port;
use sluice_tests::procs;
use sluice_tests::swarm::config::{self, Cluster, Delivery};
use sluice_tests::swarm::keyed::KeyedDaemon;
use sluice_tests::swarm::{Node, Scenario, SwarmEnv, images, swarm};

/// The load: one request every 10 ms, bounded in count and time.
const LOAD_EVERY: Duration = Duration::from_millis(10);
const LOAD_MAX_REQUESTS: u64 = 200_000;
const LOAD_MAX_TIME: Duration = Duration::from_secs(20 * 60);
/// Memory is sampled this often during the changes.
const SAMPLE_EVERY: Duration = Duration::from_millis(50);
const SERVED_TIMEOUT: Duration = Duration::from_secs(600);
const CLUSTER: &str = "routes";

fn env_usize(key: &str, default: usize) -> usize {
    std::env::var(key)
        .ok()
        .map(|v| v.parse().unwrap_or_else(|_| panic!("{key}: a number")))
        .unwrap_or(default)
}

fn main() {
    if !bench_run::requested() {
        return;
    }
    let Some(env) = swarm("routes_swarm bench") else {
        return;
    };
    let routes = env_usize("BENCH_ROUTES", 10_000);
    let backends = env_usize("BENCH_BACKENDS", 10).max(1);
    let changes = env_usize("BENCH_CHANGES", 20);
    let plugins: Vec<&'static str> =
        bench_run::list("BENCH_PLUGINS", vec!["nginx", "haproxy"], |s| match s {
            "nginx" => "nginx",
            "haproxy" => "haproxy",
            other => panic!("BENCH_PLUGINS: nginx or haproxy, not {other:?}"),
        });
    println!(
        "routes_swarm bench: {routes} routes over {backends} whoami backends, one hitless proxy on \
         the manager, {changes} route changes under steady load"
    );
    let rows: Vec<Value> = plugins
        .iter()
        .map(|p| measure(env, p, routes, backends, changes))
        .collect();
    println!();
    println!(
        "| proxy | routes | daemon start → last route served | route change: label update → served, p50 (max) | agent apply (publication → applied), mean | reloads / changes | proxy memory PSS at rest / peak during changes | failed requests |"
    );
    println!("| --- | ---: | ---: | ---: | ---: | ---: | ---: | --- |");
    for r in &rows {
        println!(
            "| {} | {} | {:.1} s | {:.2} s ({:.2}) | {:.2} s | {} / {} | {:.0} / {:.0} MiB | {} of {} |",
            r["plugin"].as_str().unwrap_or("?"),
            r["routes"],
            r["start_s"].as_f64().unwrap_or(f64::NAN),
            r["change_p50_s"].as_f64().unwrap_or(f64::NAN),
            r["change_max_s"].as_f64().unwrap_or(f64::NAN),
            r["apply_mean_s"].as_f64().unwrap_or(f64::NAN),
            r["reloads"],
            r["changes"],
            r["pss_rest_mib"].as_f64().unwrap_or(f64::NAN),
            r["pss_peak_mib"].as_f64().unwrap_or(f64::NAN),
            r["failed_requests"],
            r["requests"],
        );
    }
    let out = bench_run::target_dir().join("bench-routes-swarm.json");
    std::fs::write(&out, serde_json::to_string_pretty(&rows).expect("json"))
        .expect("write bench-routes-swarm.json");
    println!("written to {}", out.display());
}

/// The hosts of backend `b`: `h<b>-<j>.routes.bench`.
fn hosts(b: usize, n: usize) -> String {
    (0..n)
        .map(|j| format!("h{b}-{j}.routes.bench"))
        .collect::<Vec<_>>()
        .join(",")
}

fn measure(
    env: &'static SwarmEnv,
    plugin: &'static str,
    routes: usize,
    backends: usize,
    changes: usize,
) -> Value {
    let s = Scenario::new(env, &format!("routes-{plugin}"));
    let p = s.prefix.clone();
    let agent = env!("CARGO_BIN_EXE_test-agent");
    let image = match plugin {
        "nginx" => images::nginx_agent(agent),
        _ => images::haproxy_agent(agent),
    };
    let (port, ssl_port, api_port, metrics_port) =
        (free_port(), free_port(), free_port(), free_port());
    let net = s.step("network", || s.network("net"));
    let cluster = Cluster::east(CLUSTER, plugin, &image, &net, (port, ssl_port));
    let sc = cluster.service_cluster(&p);
    let per_backend = routes.div_ceil(backends);
    let services: Vec<String> = s.step("backends", || {
        (0..backends)
            .map(|b| {
                let hosts = hosts(b, per_backend.min(routes - b * per_backend));
                s.whoami(
                    &format!("b{b}"),
                    &net,
                    "east",
                    1,
                    &[
                        ("hosts", &hosts),
                        ("port", "8000"),
                        ("service_cluster", &sc),
                    ],
                )
            })
            .collect()
    });
    let churn = s.whoami(
        "churn",
        &net,
        "east",
        1,
        &[
            ("hosts", "churn-0.routes.bench"),
            ("port", "8000"),
            ("service_cluster", &sc),
        ],
    );
    let config = format!(
        "MetricsAddr = \"127.0.0.1:{metrics_port}\"\n{}",
        config::build_with(
            env,
            &p,
            std::slice::from_ref(&cluster),
            Delivery::Hitless { api_port }
        )
    );
    let started = Instant::now();
    let daemon = KeyedDaemon::start(&config, &p, api_port);
    let last_backend = backends - 1;
    let last_host = format!(
        "h{last_backend}-{}.routes.bench",
        (routes - last_backend * per_backend).min(per_backend) - 1
    );
    s.wait_served(
        Node::East,
        port,
        &last_host,
        &services[last_backend],
        SERVED_TIMEOUT,
    );
    s.wait_served(
        Node::East,
        port,
        "churn-0.routes.bench",
        &churn,
        SERVED_TIMEOUT,
    );
    let start_s = started.elapsed().as_secs_f64();
    println!("[routes {plugin}] daemon start -> {last_host} served: {start_s:.1} s");

    let proxy = cluster.proxy_service(&p);
    let container = s.manager.container_ids(&proxy);
    assert_eq!(container.len(), 1, "one proxy container: {container:?}");
    let pid: i32 = s
        .manager
        .run(&["inspect", "-f", "{{.State.Pid}}", &container[0]])
        .trim()
        .parse()
        .expect("the proxy container's pid");
    let pss = move || procs::mib(procs::cgroup(pid).iter().map(|p| p.pss_kib).sum());
    // Let the start's workers go before reading memory at rest.
    std::thread::sleep(Duration::from_secs(5));
    let pss_rest = pss();

    let stop = Arc::new(AtomicBool::new(false));
    let sampler = {
        let stop = stop.clone();
        std::thread::spawn(move || {
            let mut peak: f64 = 0.0;
            while !stop.load(Ordering::Relaxed) {
                peak = peak.max(pss());
                std::thread::sleep(SAMPLE_EVERY);
            }
            peak
        })
    };
    let load = {
        let (stop, addr) = (stop.clone(), env.manager_addr.clone());
        let (host, service) = ("h0-0.routes.bench".to_owned(), services[0].clone());
        std::thread::spawn(move || {
            let (mut requests, mut failed, mut first) = (0u64, 0u64, Vec::new());
            let t = Instant::now();
            while !stop.load(Ordering::Relaxed)
                && requests < LOAD_MAX_REQUESTS
                && t.elapsed() < LOAD_MAX_TIME
            {
                requests += 1;
                match sluice_tests::swarm::http::get(&addr, port, &host, "/") {
                    Ok(r) if r.status == 200 && r.whoami_name() == Some(service.as_str()) => {}
                    Ok(r) => {
                        failed += 1;
                        if first.len() < 5 {
                            first.push(format!("status {}", r.status));
                        }
                    }
                    Err(e) => {
                        failed += 1;
                        if first.len() < 5 {
                            first.push(e);
                        }
                    }
                }
                std::thread::sleep(LOAD_EVERY);
            }
            (requests, failed, first)
        })
    };
    let reloads_before = daemon.reloads(CLUSTER).unwrap_or_else(|e| panic!("{e}"));
    let applied_before = applied(metrics_port);
    let mut change_s = Vec::new();
    for i in 1..=changes {
        // Past the pacer's spacing: each change is a revision of its own.
        std::thread::sleep(Duration::from_millis(400));
        let host = format!("churn-{i}.routes.bench");
        let t = Instant::now();
        s.manager
            .label_add(&churn, &format!("com.docker.lb.hosts={host}"));
        s.wait_served(Node::East, port, &host, &churn, SERVED_TIMEOUT);
        change_s.push(t.elapsed().as_secs_f64());
    }
    // The last reload's old workers drain while the load goes on.
    std::thread::sleep(Duration::from_secs(3));
    stop.store(true, Ordering::Relaxed);
    let pss_peak = sampler.join().expect("the memory sampler");
    let (requests, failed, first_failures) = load.join().expect("the load");
    let reloads = daemon.reloads(CLUSTER).unwrap_or_else(|e| panic!("{e}")) - reloads_before;
    let applied_after = applied(metrics_port);
    let apply_mean = (applied_after.1 > applied_before.1)
        .then(|| (applied_after.0 - applied_before.0) / (applied_after.1 - applied_before.1));
    let change_p50 = bench_run::median(change_s.clone());
    let change_max = change_s.iter().copied().fold(0.0, f64::max);
    println!(
        "[routes {plugin}] {changes} route changes: label update -> served p50 {change_p50:.2} s, \
         max {change_max:.2} s; agent apply mean {}; {reloads} reloads; proxy PSS at rest \
         {pss_rest:.0} MiB, peak {pss_peak:.0} MiB; {failed} of {requests} requests failed \
         (first: {first_failures:?})",
        apply_mean.map_or("-".to_owned(), |m| format!("{m:.2} s")),
    );
    drop(daemon);
    json!({
        "plugin": plugin,
        "routes": routes,
        "backends": backends,
        "start_s": start_s,
        "changes": changes,
        "change_s": change_s,
        "change_p50_s": change_p50,
        "change_max_s": change_max,
        "apply_mean_s": apply_mean,
        "reloads": reloads,
        "pss_rest_mib": pss_rest,
        "pss_peak_mib": pss_peak,
        "requests": requests,
        "failed_requests": failed,
    })
}

/// `sluice_publish_to_applied_seconds{cluster="routes"}`: (sum, count).
fn applied(metrics_port: u16) -> (f64, f64) {
    let text = sluice_tests::swarm::http::get("127.0.0.1", metrics_port, "metrics", "/metrics")
        .map(|r| r.body)
        .unwrap_or_default();
    let value = |name: &str| {
        let prefix = format!("{name}{{cluster=\"{CLUSTER}\"}} ");
        text.lines()
            .find_map(|l| l.strip_prefix(prefix.as_str()))
            .and_then(|v| v.trim().parse().ok())
            .unwrap_or(0.0)
    };
    (
        value("sluice_publish_to_applied_seconds_sum"),
        value("sluice_publish_to_applied_seconds_count"),
    )
}
