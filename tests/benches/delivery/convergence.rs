//! Convergence: from a new labelled service's task running (the engine's
//! timestamp of that state) to the first 200 through its cluster's proxy.

use std::time::{Duration, Instant, SystemTime};

use sluice_tests::swarm::logs;

use crate::engine::Engine;
use crate::probe;
use crate::setup::{Mode, Scene};

/// How long one sample may take (rolling: a proxy task replacement).
const TIMEOUT: Duration = Duration::from_secs(90);
/// Proxy poll period: the resolution of the measurement.
const PROBE_EVERY: Duration = Duration::from_millis(5);

#[derive(Clone, Debug)]
pub struct Sample {
    pub service: String,
    /// `service create` returned → task running.
    pub start_s: f64,
    /// Task running → first 200 through the proxy.
    pub converge_s: f64,
    /// Task running → the daemon's first delivery after it (hitless: the
    /// revision published to the agents; rolling: the proxy service
    /// written): how long detection and rendering took.
    pub detect_s: Option<f64>,
}

/// `n` new services `PREFIX-{tag}NN` on the first network, in `cluster`,
/// one at a time; each waits for the last to settle.
pub fn samples(scene: &Scene, engine: &Engine, cluster: &str, tag: &str, n: usize) -> Vec<Sample> {
    let mut out = Vec::new();
    for i in 1..=n {
        settle(scene, cluster);
        let short = format!("{tag}{i:02}");
        let host = format!("{short}.bench");
        let service = format!("{}-{short}", scene.s.prefix);
        let addr = scene.addr(cluster);
        // Polling starts before the service exists: nothing can be missed.
        let poller = {
            let (host, service) = (host.clone(), service.clone());
            std::thread::spawn(move || {
                probe::first_served(addr, &host, &service, PROBE_EVERY, TIMEOUT)
            })
        };
        let net = scene.networks[0].clone();
        let mark = logs::mark();
        let created = Instant::now();
        let created_wall = SystemTime::now();
        scene.backend(&short, &net, cluster, &host);
        let running = wait_running(engine, &service, created);
        let served = poller.join().expect("the poller does not panic");
        let (Some(running), Some(served)) = (running, served) else {
            panic!(
                "{service}: task running at {running:?}, served at {served:?} (timeout {TIMEOUT:?})"
            );
        };
        let secs = |later: SystemTime, earlier: SystemTime| {
            later
                .duration_since(earlier)
                .map_or_else(|e| -e.duration().as_secs_f64(), |d| d.as_secs_f64())
        };
        let sample = Sample {
            service,
            start_s: secs(running, created_wall),
            converge_s: secs(served, running),
            detect_s: delivered_after(&logs::since(mark), scene, cluster, running)
                .map(|at| secs(at, running)),
        };
        println!(
            "[bench] {:<8} {cluster:<5} {:<24} task running after {:5.2}s, then first 200 after {:6.3}s (daemon delivered after {:?})",
            scene.mode.name(),
            sample.service,
            sample.start_s,
            sample.converge_s,
            sample.detect_s,
        );
        out.push(sample);
    }
    out
}

/// When the daemon's log (timestamped lines) shows its first delivery to
/// `cluster` at or after `running`.
fn delivered_after(
    log: &str,
    scene: &Scene,
    cluster: &str,
    running: SystemTime,
) -> Option<SystemTime> {
    let (event, field) = match scene.mode {
        Mode::Hitless => (
            "revision published to the proxy agents",
            format!("cluster={cluster}"),
        ),
        Mode::Rolling => (
            "proxy service reconciled",
            format!("service={}", scene.proxy_service(cluster)),
        ),
    };
    log.lines()
        .filter(|l| l.contains(event) && l.contains(&field))
        .filter_map(|l| {
            let stamp = l.split_whitespace().next()?;
            chrono::DateTime::parse_from_rfc3339(stamp)
                .ok()
                .map(SystemTime::from)
        })
        .find(|at| *at >= running)
}

/// The engine's time the service's task reached running; polled every 20 ms.
fn wait_running(engine: &Engine, service: &str, since: Instant) -> Option<SystemTime> {
    while since.elapsed() < TIMEOUT {
        match engine.running_since(service) {
            Ok(Some(at)) => return Some(at),
            Ok(None) => {}
            Err(e) => eprintln!("[bench] {e}"),
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    None
}

/// Lets the previous change finish before the next sample: hitless, past
/// the pacer's spacing of publications; rolling, until no proxy update runs.
pub fn settle(scene: &Scene, cluster: &str) {
    match scene.mode {
        Mode::Hitless => std::thread::sleep(Duration::from_millis(700)),
        Mode::Rolling => {
            scene
                .s
                .settled_state(&scene.proxy_service(cluster), TIMEOUT);
            std::thread::sleep(Duration::from_millis(1000));
        }
    }
}
