//! Failed requests under steady load: a client loop on an unchanged host of
//! `main` while another service of `main` changes its host label `n` times,
//! each change awaited (served) before the next.

use std::time::{Duration, Instant};

use sluice_tests::swarm::logs;

use crate::convergence::settle;
use crate::probe::{self, Load, LoadCounts};
use crate::setup::{Mode, Scene};

/// The load's bounds: one request at a time, every 10 ms, and never more
/// than this many or this long.
const LOAD_EVERY: Duration = Duration::from_millis(10);
const LOAD_MAX_REQUESTS: u64 = 200_000;
const LOAD_MAX_TIME: Duration = Duration::from_secs(30 * 60);
const CHANGE_TIMEOUT: Duration = Duration::from_secs(90);

#[derive(Debug)]
pub struct ChurnResult {
    pub changes: usize,
    pub load: LoadCounts,
    /// Label change command issued → its new host served, per change.
    pub change_s: Vec<f64>,
    pub proxy_updates: usize,
    /// Hitless: reloads the agents reported over the phase.
    pub reloads: Option<u64>,
}

pub fn under_reconfiguration(scene: &Scene, n: usize) -> ChurnResult {
    settle(scene, "main");
    let prefix = &scene.s.prefix;
    let (stable, churn) = (format!("{prefix}-stable"), format!("{prefix}-churn"));
    let addr = scene.addr("main");
    let reloads_before = reloads(scene);
    let mark = logs::mark();
    let load = Load::start(
        addr,
        "stable.bench".into(),
        stable,
        LOAD_EVERY,
        LOAD_MAX_REQUESTS,
        LOAD_MAX_TIME,
    );
    let mut change_s = Vec::new();
    for i in 1..=n {
        // Past the pacer's spacing, so that each change is a reload.
        std::thread::sleep(Duration::from_millis(400));
        let host = format!("churn-{i}.bench");
        let t = Instant::now();
        scene
            .s
            .manager
            .label_add(&churn, &format!("com.docker.lb.hosts={host}"));
        probe::first_served(addr, &host, &churn, LOAD_EVERY, CHANGE_TIMEOUT)
            .unwrap_or_else(|| panic!("{host} never served"));
        change_s.push(t.elapsed().as_secs_f64());
    }
    settle(scene, "main");
    let load = load.finish();
    let proxy_updates = proxy_updates(&logs::since(mark), &scene.proxy_service("main"));
    let reloads = reloads(scene)
        .zip(reloads_before)
        .map(|(after, before)| after - before);
    println!(
        "[bench] {:<8} steady load: {} requests, {} failed ({} no answer, {} 5xx, {} other) during {n} changes; {proxy_updates} proxy service updates, reloads {reloads:?}; first failures: {:?}",
        scene.mode.name(),
        load.requests,
        load.failed(),
        load.errors,
        load.status_5xx,
        load.other,
        load.samples
    );
    ChurnResult {
        changes: n,
        load,
        change_s,
        proxy_updates,
        reloads,
    }
}

/// Hitless: the reloads `main`'s agents reported so far.
pub fn reloads(scene: &Scene) -> Option<u64> {
    (scene.mode == Mode::Hitless).then(|| {
        scene
            .daemon
            .reloads("main")
            .unwrap_or_else(|e| panic!("{e}"))
    })
}

/// The daemon's writes to proxy service `service` in `log`.
pub fn proxy_updates(log: &str, service: &str) -> usize {
    let field = format!("service={service}");
    log.lines()
        .filter(|l| l.contains("proxy service reconciled") && l.contains(&field))
        .count()
}
