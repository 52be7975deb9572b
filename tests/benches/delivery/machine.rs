//! What the numbers were measured on.

use serde_json::{Value, json};
use sluice_tests::swarm::cli::Docker;

pub fn describe(docker: &Docker) -> Value {
    let read = |path: &str| std::fs::read_to_string(path).unwrap_or_default();
    let meminfo = read("/proc/meminfo");
    let mem_kib: u64 = meminfo
        .lines()
        .find_map(|l| l.strip_prefix("MemTotal:"))
        .and_then(|v| v.split_whitespace().next()?.parse().ok())
        .unwrap_or_default();
    let cpu = read("/proc/cpuinfo")
        .lines()
        .find_map(|l| {
            l.strip_prefix("model name")?
                .split_once(':')
                .map(|(_, m)| m.trim().to_owned())
        })
        .unwrap_or_default();
    let os = read("/etc/os-release")
        .lines()
        .find_map(|l| {
            l.strip_prefix("PRETTY_NAME=")
                .map(|v| v.trim_matches('"').to_owned())
        })
        .unwrap_or_default();
    let version = |what: &str| {
        docker
            .try_run(&["version", "--format", what])
            .map(|v| v.trim().to_owned())
            .unwrap_or_else(|e| e)
    };
    json!({
        "nproc": std::thread::available_parallelism().map_or(0, |n| n.get()),
        "cpu": cpu,
        "memory_gib": (mem_kib as f64 / 1024.0 / 1024.0 * 10.0).round() / 10.0,
        "kernel": read("/proc/sys/kernel/osrelease").trim(),
        "os": os,
        "docker_engine": version("{{.Server.Version}}"),
        "docker_cli": version("{{.Client.Version}}"),
        "swarm_nodes": docker.lines(&["node", "ls", "--format", "{{.Hostname}}"]).len(),
    })
}

/// One line for the table's heading.
pub fn line(m: &Value) -> String {
    format!(
        "{} CPUs ({}), {} GiB, kernel {}, {}, Docker engine {} (CLI {}), {} Swarm nodes",
        m["nproc"],
        m["cpu"].as_str().unwrap_or("?"),
        m["memory_gib"],
        m["kernel"].as_str().unwrap_or("?"),
        m["os"].as_str().unwrap_or("?"),
        m["docker_engine"].as_str().unwrap_or("?"),
        m["docker_cli"].as_str().unwrap_or("?"),
        m["swarm_nodes"],
    )
}
