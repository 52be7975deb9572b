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
    // What each revision costs the agent with metrics on: collecting the
    // names of a config the size of the render bench's (10k hosts, ~4.4 MB).
    let big: String = (0..10_000)
        .map(|i| {
            format!(
                "upstream host{i}_example_com {{\n    zone host{i}_example_com_backend 64k;\n    server 10.0.{}.{}:8080 weight=1;\n    server 10.1.{}.{}:8080 weight=1;\n}}\nserver {{\n    listen 80;\n    server_name host{i}.example.com;\n    location / {{\n        proxy_pass http://host{i}_example_com;\n    }}\n}}\n",
                i / 250,
                i % 250,
                i / 250,
                i % 250
            )
        })
        .collect();
    for round in 0..3 {
        let started = Instant::now();
        metrics.installed([big.as_str()]);
        println!(
            "round {round}: names of a {:.1} MB config (10k hosts) collected in {:.1} ms",
            big.len() as f64 / 1e6,
            started.elapsed().as_secs_f64() * 1000.0
        );
    }
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
