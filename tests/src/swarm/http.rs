//! A minimal HTTP/1.0 GET with a chosen Host header, over a fresh connection
//! each time: no pooling, so nothing outlives a proxy task being replaced.

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::time::Duration;

const TIMEOUT: Duration = Duration::from_secs(3);

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Reply {
    pub status: u16,
    /// Status line and headers.
    pub head: String,
    pub body: String,
}

impl Reply {
    /// The `Name:` line of a whoami answer (`WHOAMI_NAME`, the service name).
    pub fn whoami_name(&self) -> Option<&str> {
        self.field("Name")
    }

    /// The `Hostname:` line of a whoami answer (the task's container).
    pub fn whoami_hostname(&self) -> Option<&str> {
        self.field("Hostname")
    }

    /// A response header's value (case-insensitive name).
    pub fn header(&self, name: &str) -> Option<&str> {
        self.head.lines().skip(1).find_map(|l| {
            let (k, v) = l.split_once(':')?;
            k.trim().eq_ignore_ascii_case(name).then(|| v.trim())
        })
    }

    fn field(&self, key: &str) -> Option<&str> {
        self.body
            .lines()
            .find_map(|l| l.strip_prefix(key)?.strip_prefix(':'))
            .map(str::trim)
    }
}

/// `GET path` at `addr:port` with `Host: host`.
pub fn get(addr: &str, port: u16, host: &str, path: &str) -> Result<Reply, String> {
    let at = format!("{addr}:{port}");
    let sock: SocketAddr = at.parse().map_err(|e| format!("{at}: {e}"))?;
    let mut stream =
        TcpStream::connect_timeout(&sock, TIMEOUT).map_err(|e| format!("connect {at}: {e}"))?;
    stream.set_read_timeout(Some(TIMEOUT)).ok();
    stream.set_write_timeout(Some(TIMEOUT)).ok();
    // One segment: a request split over several small writes waits on
    // Nagle and delayed ACKs (~40 ms) with some servers, skewing latencies.
    stream.set_nodelay(true).ok();
    write!(
        stream,
        "GET {path} HTTP/1.0\r\nHost: {host}\r\nUser-Agent: sluice-e2e\r\n\r\n"
    )
    .map_err(|e| format!("send to {at}: {e}"))?;
    let mut raw = Vec::new();
    stream
        .read_to_end(&mut raw)
        .map_err(|e| format!("read from {at}: {e}"))?;
    let text = String::from_utf8_lossy(&raw);
    let (head, body) = text
        .split_once("\r\n\r\n")
        .ok_or_else(|| format!("{at}: no complete HTTP answer: {text:?}"))?;
    let status = head
        .split_whitespace()
        .nth(1)
        .and_then(|s| s.parse().ok())
        .ok_or_else(|| format!("{at}: bad status line in {head:?}"))?;
    Ok(Reply {
        status,
        head: head.to_owned(),
        body: body.to_owned(),
    })
}
