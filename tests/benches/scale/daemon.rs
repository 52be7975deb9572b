//! The daemon at scale: the real `sluice run` (release build) against a
//! replayed Swarm of the bench cluster (two tasks per service) served by
//! [`fake_docker`], with one hitless nginx cluster.
//!
//! Per size: the time from start to the first revision; the daemon's RSS at
//! rest (after its start-up task polling) and its peak (`VmHWM`); then for
//! [`CHANGES`] one-service changes (a service's `com.docker.lb.hosts`, with
//! the engine's `service update` event) the time from the event to the new
//! revision (`sluice_revision_timestamp_seconds`: set when the revision is
//! rendered, right before it is offered to the agents) and the daemon's CPU
//! time over that span; then a burst of [`BURST`] changes within about a
//! second and the revisions it made the daemon publish. All traffic stays on
//! 127.0.0.1.

use super::fake_docker;

use std::io::{Read, Write};
use std::net::TcpStream;
use std::process::Stdio;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use serde_json::{Value, json};
use sluice_tests::bench_run;
use sluice_tests::bench_snapshot::{labels, snapshot_json};
use sluice_tests::ports::free_port;
use sluice_tests::procs::{self, mib};

use fake_docker::FakeDocker;

const CHANGES: usize = 10;
/// The daemon polls every task fast for its first 15 s (services may be
/// converging as it starts): changes are measured after that, and its RSS
/// at rest once it has been quiet for a while (it hands free memory back
/// after `sluice::allocator::QUIET`).
pub const SETTLE: Duration = Duration::from_secs(18);
/// Services changed at once, one every 10 ms.
const BURST: usize = 100;
/// The burst's changes are this far apart (100 of them: a second).
const BURST_SPACING: Duration = Duration::from_millis(10);
/// How long publications are watched after the burst starts: its second,
/// the pacer's longest hold (2 s) and its spacing after it.
const BURST_WATCH: Duration = Duration::from_secs(5);
const START_TIMEOUT: Duration = Duration::from_secs(600);

/// The daemon's `/metrics` text.
fn metrics(metrics_port: u16) -> Option<String> {
    let mut s = TcpStream::connect(("127.0.0.1", metrics_port)).ok()?;
    s.set_read_timeout(Some(Duration::from_secs(5))).ok()?;
    s.write_all(b"GET /metrics HTTP/1.0\r\nHost: bench\r\n\r\n")
        .ok()?;
    let mut text = String::new();
    s.read_to_string(&mut text).ok()?;
    Some(text)
}

/// The value of the first series named `name` (with its labels, if any).
fn series(text: &str, name: &str) -> Option<f64> {
    text.lines()
        .find(|l| l.starts_with(name) && l[name.len()..].starts_with([' ', '{']))
        .and_then(|l| l.rsplit(' ').next()?.parse().ok())
}

/// `sluice_revision_timestamp_seconds{cluster="main"}` from the daemon's
/// `/metrics`, if it has one yet.
pub fn revision_timestamp(metrics_port: u16) -> Option<f64> {
    series(&metrics(metrics_port)?, "sluice_revision_timestamp_seconds")
}

/// (Swarm read seconds, reads, render seconds, renders) so far.
fn stage_totals(metrics_port: u16) -> [f64; 4] {
    let text = metrics(metrics_port).unwrap_or_default();
    [
        "sluice_swarm_read_duration_seconds_sum",
        "sluice_swarm_read_duration_seconds_count",
        "sluice_render_duration_seconds_sum",
        "sluice_render_duration_seconds_count",
    ]
    .map(|name| series(&text, name).unwrap_or(0.0))
}

fn unix_now() -> f64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .expect("clock")
        .as_secs_f64()
}

pub fn config(dir: &std::path::Path, docker: &FakeDocker, metrics_port: u16) -> String {
    format!(
        r#"ListenAddr = "127.0.0.1:0"
DockerURL = "tcp://{docker}"
PollInterval = "60s"
MetricsAddr = "127.0.0.1:{metrics_port}"

[Extensions.main]
  Plugin = "nginx"
  ServiceCluster = ""
  Delivery = "hitless"
  ProxyImage = "sluice-bench/not-run:1"
  ProxyServiceName = "sluice-bench-proxy"
  ProxyConfigPath = "{conf}"
  [Extensions.main.Config]
    WorkerProcesses = "auto"
    MaxConnections = 4096
"#,
        docker = docker.addr,
        conf = dir.join("nginx.conf").display(),
    )
}

/// The replayed Swarm of `services` services (one node, the secrets their
/// TLS labels name) and the services' IDs.
pub fn replayed_state(services: usize) -> (Value, Vec<String>) {
    let mut state: Value = serde_json::from_str(&snapshot_json(services)).expect("snapshot");
    state["nodes"] = json!([{
        "ID": "node000000000000000000000", "Version": {"Index": 1},
        "Spec": {"Role": "manager", "Availability": "active", "Labels": {}},
        "Description": {"Hostname": "bench"},
        "Status": {"State": "ready", "Addr": "127.0.0.1"},
        "ManagerStatus": {"Leader": true, "Reachability": "reachable", "Addr": "127.0.0.1:2377"}
    }]);
    // The Docker secrets the TLS labels name (their contents stay in Swarm).
    let secrets: Vec<Value> = state["services"]
        .as_array()
        .expect("services")
        .iter()
        .flat_map(|s| {
            let l = &s["Spec"]["Labels"];
            [&l["com.docker.lb.ssl_cert"], &l["com.docker.lb.ssl_key"]]
                .into_iter()
                .filter_map(|v| v.as_str().map(String::from))
        })
        .enumerate()
        .map(|(n, name)| json!({"ID": format!("secret{n:019}"), "Version": {"Index": 1}, "Spec": {"Name": name}}))
        .collect();
    state["secrets"] = json!(secrets);
    let ids: Vec<String> = state["services"]
        .as_array()
        .expect("services")
        .iter()
        .map(|s| s["ID"].as_str().expect("ID").to_owned())
        .collect();
    (state, ids)
}

pub async fn measure(sluice: &std::path::Path, services: usize) -> Value {
    let (state, ids) = replayed_state(services);
    let docker = FakeDocker::start(state).await;
    let dir = tempfile::tempdir().expect("tempdir");
    let metrics_port = free_port();
    let config_path = dir.path().join("config.toml");
    std::fs::write(&config_path, config(dir.path(), &docker, metrics_port)).expect("config");
    let log = std::fs::File::create(dir.path().join("daemon.log")).expect("log");
    let started = Instant::now();
    let mut daemon = tokio::process::Command::new(sluice)
        .args(["run", "-c"])
        .arg(&config_path)
        // BENCH_DAEMON_LOG: the daemon's RUST_LOG, to look into a run (its
        // log is then kept as target/bench-scale-daemon-<services>.log).
        .env(
            "RUST_LOG",
            std::env::var("BENCH_DAEMON_LOG").unwrap_or_else(|_| "warn".into()),
        )
        .stdin(Stdio::null())
        .stdout(log.try_clone().expect("log"))
        .stderr(log)
        .kill_on_drop(true)
        .spawn()
        .expect("start sluice run");
    let pid = daemon.id().expect("daemon pid") as i32;
    let mut last = loop {
        if let Some(ts) = revision_timestamp(metrics_port) {
            break ts;
        }
        if let Ok(Some(status)) = daemon.try_wait() {
            panic!(
                "sluice run exited ({status}) before its first revision:\n{}",
                std::fs::read_to_string(dir.path().join("daemon.log")).unwrap_or_default()
            );
        }
        assert!(
            started.elapsed() < START_TIMEOUT,
            "no revision within {START_TIMEOUT:?}"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    };
    let first = started.elapsed().as_secs_f64();
    tokio::time::sleep(SETTLE).await;
    let rest_rss = procs::status_kib(pid, "VmRSS:");
    // Of which the binary's own pages (file) and the heap (anonymous).
    let (rest_file, rest_anon) = (
        procs::status_kib(pid, "RssFile:"),
        procs::status_kib(pid, "RssAnon:"),
    );

    let mut latencies = Vec::new();
    let mut cpu = Vec::new();
    let before = stage_totals(metrics_port);
    for k in 0..CHANGES {
        let i = k * (services / CHANGES) + 3;
        let mut l = labels(i);
        l["com.docker.lb.hosts"] = json!(format!("svc-{i}-v{k}.bench.example.com"));
        let cpu_before = procs::cpu_seconds(pid);
        let sent = unix_now();
        docker.update_service(&ids[i], l);
        let ts = loop {
            match revision_timestamp(metrics_port) {
                Some(ts) if ts != last => break ts,
                _ => {}
            }
            assert!(
                unix_now() - sent < 120.0,
                "change {k}: no new revision within 120 s"
            );
            tokio::time::sleep(Duration::from_millis(2)).await;
        };
        cpu.push(procs::cpu_seconds(pid) - cpu_before);
        latencies.push(ts - sent);
        last = ts;
        // Apart, so each change is its own round.
        tokio::time::sleep(Duration::from_millis(500)).await;
    }
    let after = stage_totals(metrics_port);
    // A burst: BURST services change within a second; the agents are
    // offered at most two revisions (the pacer), whatever the rounds.
    let published = || {
        metrics(metrics_port)
            .and_then(|t| series(&t, "sluice_revisions_published_total"))
            .unwrap_or(0.0)
    };
    let published_before = published();
    let burst_started = Instant::now();
    // When each publication came, from the burst's start: what explains a
    // count above two.
    let watch = tokio::task::spawn_blocking(move || {
        let mut at = Vec::new();
        let mut seen = published_before;
        while burst_started.elapsed() < BURST_WATCH {
            let now = metrics(metrics_port)
                .and_then(|t| series(&t, "sluice_revisions_published_total"))
                .unwrap_or(seen);
            if now > seen {
                at.push(burst_started.elapsed().as_secs_f64());
                seen = now;
            }
            std::thread::sleep(Duration::from_millis(10));
        }
        at
    });
    // Within one second: change b is sent at b × 10 ms, however long the
    // one before took to send.
    for b in 0..BURST {
        let i = (b * 7919 + 11) % services;
        let mut l = labels(i);
        l["com.docker.lb.hosts"] = json!(format!("svc-{i}-burst.bench.example.com"));
        tokio::time::sleep_until((burst_started + BURST_SPACING * b as u32).into()).await;
        docker.update_service(&ids[i], l);
    }
    let burst_sent = burst_started.elapsed().as_secs_f64();
    let published_at = watch.await.expect("the publication watch");
    let burst_publications = published() - published_before;
    let mean = |sum: usize, count: usize| {
        let n = after[count] - before[count];
        if n > 0.0 {
            (after[sum] - before[sum]) / n
        } else {
            0.0
        }
    };
    let (read_mean, render_mean) = (mean(0, 1), mean(2, 3));
    let (rss, hwm) = (
        procs::status_kib(pid, "VmRSS:"),
        procs::status_kib(pid, "VmHWM:"),
    );
    let _ = daemon.kill().await;
    // A daemon that failed to apply (the fake lacking an answer) would time
    // something else: say so.
    let log = std::fs::read_to_string(dir.path().join("daemon.log")).unwrap_or_default();
    if std::env::var_os("BENCH_DAEMON_LOG").is_some() {
        let kept = bench_run::target_dir().join(format!("bench-scale-daemon-{services}.log"));
        std::fs::write(&kept, &log).expect("keep the daemon's log");
    }
    let complaints: Vec<&str> = log
        .lines()
        // The plan's own findings about the bench's labels are expected.
        .filter(|l| l.contains("ERROR") || l.contains("WARN"))
        .filter(|l| !l.contains("daemon::findings"))
        .collect();
    if let Some(first) = complaints.first() {
        println!(
            "    daemon logged {} warnings/errors; first: {first}",
            complaints.len()
        );
    }

    let p50 = bench_run::median(latencies.clone());
    let max = latencies.iter().copied().fold(0.0, f64::max);
    let cpu_p50 = bench_run::median(cpu.clone());
    println!(
        "{services:>6} services | first revision {first:>6.2} s | RSS at rest {:>5.0} MiB \
         ({:.0} file, {:.0} anonymous), \
         after changes {:>5.0} MiB, peak {:>5.0} MiB | event -> revision p50 {:>6.3} s, \
         max {:>6.3} s | CPU per change p50 {:>6.3} s | mean Swarm read {:>5.1} ms, render {:>5.1} ms | \
         burst of {BURST} in {burst_sent:.2} s: {burst_publications} revisions published \
         (at {})",
        mib(rest_rss),
        mib(rest_file),
        mib(rest_anon),
        mib(rss),
        mib(hwm),
        p50,
        max,
        cpu_p50,
        read_mean * 1000.0,
        render_mean * 1000.0,
        published_at
            .iter()
            .map(|t| format!("+{t:.2} s"))
            .collect::<Vec<_>>()
            .join(", "),
    );
    json!({
        "services": services,
        "first_revision_s": first,
        "rss_rest_mib": mib(rest_rss),
        "rss_rest_file_mib": mib(rest_file),
        "rss_rest_anon_mib": mib(rest_anon),
        "rss_after_changes_mib": mib(rss),
        "rss_peak_mib": mib(hwm),
        "event_to_revision_s": latencies,
        "event_to_revision_p50_s": p50,
        "cpu_per_change_s": cpu,
        "swarm_read_mean_s": read_mean,
        "render_mean_s": render_mean,
        "burst_changes": BURST,
        "burst_seconds": burst_sent,
        "burst_revisions_published": burst_publications,
        "burst_published_at_s": published_at,
    })
}
