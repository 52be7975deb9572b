//! HTTP through the proxy from the host, a fresh connection per request (a
//! pooled one would hide a proxy that stops accepting): first-200 waits and
//! the steady load whose failures are counted.

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::thread::JoinHandle;
use std::time::{Duration, Instant, SystemTime};

const TIMEOUT: Duration = Duration::from_secs(3);

/// `GET path` with `Host: host`: (status, body), or why no answer came.
pub fn get(addr: SocketAddr, host: &str, path: &str) -> Result<(u16, String), String> {
    let mut s = TcpStream::connect_timeout(&addr, TIMEOUT).map_err(|e| format!("connect: {e}"))?;
    s.set_read_timeout(Some(TIMEOUT)).ok();
    // One segment: a request in several small writes can wait ~40 ms on
    // Nagle and delayed ACKs, which would show up as latency here.
    s.set_nodelay(true).ok();
    let request =
        format!("GET {path} HTTP/1.0\r\nHost: {host}\r\nUser-Agent: sluice-bench\r\n\r\n");
    s.write_all(request.as_bytes())
        .map_err(|e| format!("send: {e}"))?;
    let mut raw = Vec::new();
    s.read_to_end(&mut raw).map_err(|e| format!("read: {e}"))?;
    let text = String::from_utf8_lossy(&raw);
    let status = text
        .split_whitespace()
        .nth(1)
        .and_then(|c| c.parse().ok())
        .ok_or_else(|| format!("not HTTP: {:?}", text.lines().next()))?;
    Ok((status, text.into_owned()))
}

/// Whether the answer is whoami service `service`'s 200.
pub fn served_by(reply: &Result<(u16, String), String>, service: &str) -> bool {
    let name = format!("Name: {service}\r\n");
    let name_lf = format!("Name: {service}\n");
    matches!(reply, Ok((200, body)) if body.contains(&name) || body.contains(&name_lf))
}

/// Polls every `period` until `host` answers 200 from `service`: the wall
/// time of that answer, or None after `timeout`.
pub fn first_served(
    addr: SocketAddr,
    host: &str,
    service: &str,
    period: Duration,
    timeout: Duration,
) -> Option<SystemTime> {
    let started = Instant::now();
    while started.elapsed() < timeout {
        if served_by(&get(addr, host, "/"), service) {
            return Some(SystemTime::now());
        }
        std::thread::sleep(period);
    }
    None
}

/// What the steady load saw.
#[derive(Clone, Debug, Default)]
pub struct LoadCounts {
    pub requests: u64,
    pub ok: u64,
    /// No answer: refused, reset, timed out.
    pub errors: u64,
    /// 5xx answers (the host always routes: no 503 is intended here).
    pub status_5xx: u64,
    /// Anything else that is not the service's 200.
    pub other: u64,
    pub seconds: f64,
    /// The first few failures, for the report.
    pub samples: Vec<String>,
}

impl LoadCounts {
    pub fn failed(&self) -> u64 {
        self.errors + self.status_5xx + self.other
    }
}

/// A client loop against one host, one request at a time every `period`,
/// until stopped or its bounds (`max_requests`, `max_time`) are reached.
pub struct Load {
    stop: Arc<AtomicBool>,
    thread: JoinHandle<LoadCounts>,
}

impl Load {
    pub fn start(
        addr: SocketAddr,
        host: String,
        service: String,
        period: Duration,
        max_requests: u64,
        max_time: Duration,
    ) -> Load {
        let stop = Arc::new(AtomicBool::new(false));
        let flag = stop.clone();
        let thread = std::thread::spawn(move || {
            let started = Instant::now();
            let mut c = LoadCounts::default();
            while !flag.load(Ordering::Relaxed)
                && c.requests < max_requests
                && started.elapsed() < max_time
            {
                let reply = get(addr, &host, "/");
                c.requests += 1;
                let failure = match &reply {
                    _ if served_by(&reply, &service) => {
                        c.ok += 1;
                        None
                    }
                    Err(e) => {
                        c.errors += 1;
                        Some(e.clone())
                    }
                    Ok((status, _)) if *status >= 500 => {
                        c.status_5xx += 1;
                        Some(format!("status {status}"))
                    }
                    Ok((status, _)) => {
                        c.other += 1;
                        Some(format!("status {status}"))
                    }
                };
                if let Some(f) = failure
                    && c.samples.len() < 5
                {
                    c.samples
                        .push(format!("{:.1}s: {f}", started.elapsed().as_secs_f64()));
                }
                std::thread::sleep(period);
            }
            c.seconds = started.elapsed().as_secs_f64();
            c
        });
        Load { stop, thread }
    }

    pub fn finish(self) -> LoadCounts {
        self.stop.store(true, Ordering::Relaxed);
        self.thread.join().expect("the load thread does not panic")
    }
}
