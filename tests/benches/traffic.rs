//! What nginx's per-host traffic metrics cost (`TrafficMetrics = true`, the
//! agent counting one datagram per request), and whether every request is
//! counted under load: the real nginx and the bundled plugin on loopback, the
//! agent's socket receiver in-process, keep-alive clients on threads.
//!
//!   cargo bench -p sluice-tests --bench traffic
//!
//! Prints requests/s with the traffic log off and on (alternating rounds,
//! medians), and how many of the requests sent the agent counted.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::sync::Arc;
use std::time::{Duration, Instant};

use sluice::wit::latest::{Setting, SettingValue};
use sluice_agent::metrics::AgentMetrics;
use sluice_tests::backend::Backend;
use sluice_tests::inputs;
use sluice_tests::proxy::{Kind, Proxy, Routes, Workdir};

const CLIENTS: usize = 4;
const PER_CLIENT: usize = 5_000;
const ROUNDS: usize = 5;
/// The nginx plugin's socket (the agent's default SLUICE_TRAFFIC_SOCKET).
const SOCKET: &str = "/run/sluice-agent/traffic.sock";

/// `n` keep-alive GETs of `host` (a new connection when nginx closes one,
/// after its `keepalive_requests`); panics on anything but 200.
fn client(port: u16, host: &str, n: usize) {
    let request = format!("GET / HTTP/1.1\r\nHost: {host}\r\n\r\n");
    let connect = || {
        let stream = TcpStream::connect(("127.0.0.1", port)).expect("connect to nginx");
        stream.set_nodelay(true).unwrap();
        (stream.try_clone().unwrap(), BufReader::new(stream))
    };
    let (mut writer, mut reader) = connect();
    let mut line = String::new();
    for _ in 0..n {
        writer.write_all(request.as_bytes()).unwrap();
        let (mut length, mut close) = (0usize, false);
        line.clear();
        reader.read_line(&mut line).unwrap();
        assert!(line.starts_with("HTTP/1.1 200"), "{line:?}");
        loop {
            line.clear();
            reader.read_line(&mut line).unwrap();
            if line == "\r\n" {
                break;
            }
            let lower = line.to_ascii_lowercase();
            if let Some(v) = lower.strip_prefix("content-length:") {
                length = v.trim().parse().unwrap();
            }
            close |= lower.starts_with("connection: close");
        }
        let mut body = vec![0; length];
        reader.read_exact(&mut body).unwrap();
        if close {
            (writer, reader) = connect();
        }
    }
}

/// Requests/s for CLIENTS × PER_CLIENT requests.
fn load(port: u16) -> f64 {
    let started = Instant::now();
    let threads: Vec<_> = (0..CLIENTS)
        .map(|_| std::thread::spawn(move || client(port, "a.test", PER_CLIENT)))
        .collect();
    for t in threads {
        t.join().unwrap();
    }
    (CLIENTS * PER_CLIENT) as f64 / started.elapsed().as_secs_f64()
}

fn counted(metrics: &AgentMetrics) -> f64 {
    metrics
        .encode()
        .lines()
        .filter(|l| l.starts_with("sluice_proxy_http_requests_total{host=\"a.test\""))
        .filter_map(|l| l.rsplit(' ').next()?.parse::<f64>().ok())
        .sum()
}

fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(f64::total_cmp);
    v[v.len() / 2]
}

fn main() {
    let metrics = Arc::new(AgentMetrics::new("bench"));
    let socket =
        sluice_agent::metrics::socket::bind(std::path::Path::new(SOCKET)).expect("bind the socket");
    sluice_agent::metrics::socket::receive(socket, std::path::Path::new(SOCKET), metrics.clone())
        .expect("receiver thread");

    let backend = Backend::http("a", "127.0.0.1");
    let start = |traffic: bool| {
        let routes = Routes::hosts(vec![inputs::host(
            "a.test",
            inputs::upstream("a_test", &[(&backend.ip(), backend.port())]),
        )]);
        let extra = vec![Setting {
            key: "TrafficMetrics".into(),
            value: SettingValue::Boolean(traffic),
        }];
        Proxy::start_with(
            Kind::Nginx,
            Workdir::new(Kind::Nginx, "traffic-bench"),
            routes,
            extra,
        )
    };
    let (mut off, mut on, mut lost) = (Vec::new(), Vec::new(), Vec::new());
    for round in 0..ROUNDS {
        for traffic in [false, true] {
            let proxy = start(traffic);
            // As the agent does on each revision: its names become labels.
            metrics.installed([proxy.config()]);
            let before = counted(&metrics);
            let rps = load(proxy.http_port);
            // Lines in flight reach the agent within moments.
            std::thread::sleep(Duration::from_millis(500));
            let got = counted(&metrics) - before;
            drop(proxy);
            let sent = (CLIENTS * PER_CLIENT) as f64;
            println!(
                "round {round} traffic {}: {rps:.0} requests/s, counted {got:.0} of {sent:.0}",
                if traffic { "on " } else { "off" }
            );
            if traffic {
                on.push(rps);
                lost.push(sent - got);
            } else {
                off.push(rps);
                assert_eq!(got, 0.0, "counted with the traffic log off");
            }
        }
    }
    let (off, on) = (median(off), median(on));
    // The proxy service sets 1024 in its container; here it is the host's.
    let qlen = std::fs::read_to_string("/proc/sys/net/unix/max_dgram_qlen").unwrap_or_default();
    println!(
        "nginx, {CLIENTS} keep-alive clients x {PER_CLIENT} requests, median of {ROUNDS}: traffic log off {off:.0} requests/s, on {on:.0} requests/s ({:+.1}%); requests not counted per round: {lost:?} (net.unix.max_dgram_qlen {})",
        (on / off - 1.0) * 100.0,
        qlen.trim()
    );
}
