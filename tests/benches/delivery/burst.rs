//! Reloads per cluster for a burst: `n` services of `main` change their host
//! label within about a second (Engine API updates fired from threads); how
//! often `main`'s proxy reloads (hitless: the agents' counters) or is
//! updated (rolling: the daemon's proxy service writes), and `idle`'s, which
//! no change concerns.

use std::collections::BTreeSet;
use std::time::{Duration, Instant};

use serde_json::Value;
use sluice_tests::swarm::logs;

use crate::churn::proxy_updates;
use crate::engine::Engine;
use crate::probe;
use crate::setup::{Mode, Scene};

const SERVED_TIMEOUT: Duration = Duration::from_secs(300);
const THREADS: usize = 25;

#[derive(Debug)]
pub struct BurstResult {
    pub changes: usize,
    /// First update sent → last update answered.
    pub burst_s: f64,
    /// First update sent → every new host served.
    pub converged_s: f64,
    pub reloads_affected: Option<u64>,
    pub reloads_unaffected: Option<u64>,
    pub updates_affected: usize,
    pub updates_unaffected: usize,
}

pub fn burst(scene: &Scene, engine: &Engine, n: usize) -> BurstResult {
    let prefix = scene.s.prefix.clone();
    let net = scene.networks[0].clone();
    let names: Vec<String> = (0..n).map(|i| format!("b{i:03}")).collect();
    scene.s.step(&format!("create {n} burst services"), || {
        std::thread::scope(|scope| {
            for chunk in names.chunks(n.div_ceil(4).max(1)) {
                let net = &net;
                scope.spawn(move || {
                    for short in chunk {
                        scene.backend(short, net, "main", &format!("{short}.bench"));
                    }
                });
            }
        });
    });
    let hosts = |suffix: &str| -> Vec<(String, String)> {
        names
            .iter()
            .map(|s| (format!("{s}{suffix}.bench"), format!("{prefix}-{s}")))
            .collect()
    };
    let t = Instant::now();
    all_served(scene, hosts(""));
    scene
        .s
        .timing(&format!("all {n} burst hosts served"), t.elapsed());
    quiet(scene);

    let services: Vec<Value> = names
        .iter()
        .map(|s| {
            engine
                .service(&format!("{prefix}-{s}"))
                .unwrap_or_else(|e| panic!("{e}"))
        })
        .collect();
    let count = |cluster: &str| {
        (scene.mode == Mode::Hitless).then(|| {
            scene
                .daemon
                .reloads(cluster)
                .unwrap_or_else(|e| panic!("{e}"))
        })
    };
    let before = (count("main"), count("idle"));
    let mark = logs::mark();
    let started = Instant::now();
    std::thread::scope(|scope| {
        for chunk in services.chunks(n.div_ceil(THREADS).max(1)) {
            scope.spawn(move || {
                for svc in chunk {
                    let name = svc["Spec"]["Name"].as_str().unwrap_or_default();
                    let short = name.trim_start_matches(&format!("{}-", scene.s.prefix));
                    engine
                        .set_label(svc, "com.docker.lb.hosts", &format!("{short}-v2.bench"))
                        .unwrap_or_else(|e| panic!("{e}"));
                }
            });
        }
    });
    let burst_s = started.elapsed().as_secs_f64();
    all_served(scene, hosts("-v2"));
    let converged_s = started.elapsed().as_secs_f64();
    quiet(scene);
    let after = (count("main"), count("idle"));
    let log = logs::since(mark);
    let delta = |a: Option<u64>, b: Option<u64>| a.zip(b).map(|(a, b)| a - b);
    let result = BurstResult {
        changes: n,
        burst_s,
        converged_s,
        reloads_affected: delta(after.0, before.0),
        reloads_unaffected: delta(after.1, before.1),
        updates_affected: proxy_updates(&log, &scene.proxy_service("main")),
        updates_unaffected: proxy_updates(&log, &scene.proxy_service("idle")),
    };
    println!("[bench] {:<8} burst: {result:?}", scene.mode.name());
    result
}

/// Polls every pending host through `main` until each has answered 200
/// from its service once.
fn all_served(scene: &Scene, hosts: Vec<(String, String)>) {
    let addr = scene.addr("main");
    let mut pending: BTreeSet<(String, String)> = hosts.into_iter().collect();
    let started = Instant::now();
    while !pending.is_empty() {
        assert!(
            started.elapsed() < SERVED_TIMEOUT,
            "{} hosts never served, e.g. {:?}",
            pending.len(),
            pending.first()
        );
        scene.daemon.alive().unwrap_or_else(|e| panic!("{e}"));
        pending.retain(|(host, service)| !probe::served_by(&probe::get(addr, host, "/"), service));
        if !pending.is_empty() {
            std::thread::sleep(Duration::from_millis(50));
        }
    }
}

/// Until nothing is in flight: the pacer's last publication and the
/// agents' reports (hitless), or the proxy updates (rolling).
fn quiet(scene: &Scene) {
    if scene.mode == Mode::Rolling {
        for cluster in ["main", "idle"] {
            scene
                .s
                .settled_state(&scene.proxy_service(cluster), SERVED_TIMEOUT);
        }
    }
    std::thread::sleep(Duration::from_secs(3));
}
