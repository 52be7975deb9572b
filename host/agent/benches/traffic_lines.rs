//! The agent's cost per traffic line (parse and count), on one core:
//!
//!   cargo bench -p sluice-agent --bench traffic_lines
//!
//! nginx sends one line per request; the agent must keep up with the
//! proxy's request rate while sharing its CPU.

use std::time::Instant;

use sluice_agent::metrics::AgentMetrics;

fn main() {
    let metrics = AgentMetrics::new("bench");
    let hosts: Vec<Vec<u8>> = (0..1000)
        .map(|i| {
            format!("<190>Dec  3 16:28:11 sluice: host{i}.example.com\thost{i}_example_com\t200\t0.004\t200\t3")
                .into_bytes()
        })
        .collect();
    let config: String = (0..1000)
        .map(|i| format!("server_name host{i}.example.com; upstream host{i}_example_com {{}}\n"))
        .collect();
    metrics.installed([config.as_str()]);
    let lines = 2_000_000;
    for round in 0..3 {
        let started = Instant::now();
        for i in 0..lines {
            metrics.traffic_line(&hosts[i % hosts.len()]);
        }
        let took = started.elapsed();
        println!(
            "round {round}: {lines} lines over 1000 hosts in {:.2} s: {:.0} ns per line, {:.1} M lines/s",
            took.as_secs_f64(),
            took.as_nanos() as f64 / lines as f64,
            lines as f64 / took.as_secs_f64() / 1e6
        );
    }
}
