//! The public TLS port: a `mode tcp` frontend reads the SNI of the
//! ClientHello, sends passthrough hosts' raw TLS to their servers and
//! everything else, with a PROXY header so client addresses survive, to the
//! loopback frontend that terminates TLS with the crt-list.
//!
//! SNI precedence is nginx's `map { hostnames; }`: exact names first, then
//! wildcards longest suffix first (`-m end .suffix`, so `*.a.b` never takes
//! `a.b`). A terminated host is only routed explicitly when a passthrough
//! wildcard would otherwise take it; everything else reaches the terminator
//! as the default. crt-list lines carry wildcard names as they are: HAProxy
//! picks certificates by exact SNI, then by `*.` filter (one label deep).

use sluice_plugin_kit::Host;

use crate::backend;
use crate::cfg::Cfg;
use crate::wildcard;

pub const TCP_FRONTEND: &str = "fe_tls";
pub const TERMINATE_BACKEND: &str = "be_tls_terminate";
pub const REJECT_BACKEND: &str = "be_tls_reject";
pub const HTTPS_FRONTEND: &str = "fe_https";

/// First loopback port tried for the TLS-terminating frontend.
const LOOPBACK_BASE_PORT: u16 = 10443;

/// A loopback port for the terminating frontend that is none of the
/// cluster's ports (HAProxy binds with SO_REUSEPORT, so a clash would not
/// fail but would split traffic between frontends).
pub fn loopback_port(taken: &[u16]) -> u16 {
    (LOOPBACK_BASE_PORT..=u16::MAX)
        .find(|p| !taken.contains(p))
        .expect("a free port above 10443")
}

/// Hosts whose TLS is terminated here.
pub fn terminated(hosts: &[Host]) -> impl Iterator<Item = &Host> {
    hosts.iter().filter(|h| !h.passthrough && h.tls.is_some())
}

/// Hosts whose TLS goes through untouched (they need servers to go to).
pub fn passthrough(hosts: &[Host]) -> impl Iterator<Item = &Host> {
    hosts
        .iter()
        .filter(|h| h.passthrough && h.upstream.is_some())
}

/// `mode tcp` frontend on the public TLS port; `loopback` is the
/// terminating frontend's port when any host is terminated.
pub fn render_tcp_frontend(cfg: &mut Cfg, https_port: u16, hosts: &[Host], loopback: Option<u16>) {
    cfg.section(format!("frontend {TCP_FRONTEND}"));
    cfg.line(format!("bind :{https_port}"));
    cfg.line("mode tcp");
    cfg.line("option tcplog");
    cfg.line("tcp-request inspect-delay 5s");
    cfg.line("tcp-request content accept if { req.ssl_hello_type 1 }");
    let terminating = loopback.is_some();
    for (backend, condition) in sni_rules(hosts, terminating) {
        cfg.line(format!("use_backend {backend} if {condition}"));
    }
    match loopback {
        Some(port) => {
            cfg.line(format!("default_backend {TERMINATE_BACKEND}"));
            cfg.section(format!("backend {TERMINATE_BACKEND}"));
            cfg.line("mode tcp");
            cfg.line(format!("server loopback 127.0.0.1:{port} send-proxy-v2"));
        }
        // Nothing terminates TLS here: unknown names are refused at once.
        None => {
            cfg.line(format!("default_backend {REJECT_BACKEND}"));
            cfg.section(format!("backend {REJECT_BACKEND}"));
            cfg.line("mode tcp");
            cfg.line("tcp-request content reject");
        }
    }
}

/// `(backend, condition)` in the order HAProxy must try them.
fn sni_rules(hosts: &[Host], terminating: bool) -> Vec<(String, String)> {
    let mut rules: Vec<(&str, String)> = passthrough(hosts)
        .filter_map(|h| Some((h.name.as_str(), backend::tcp_name(h.upstream.as_ref()?))))
        .collect();
    let pt_wild = wildcard::longest_first(rules.iter().map(|(n, _)| *n));
    // Terminated names a passthrough wildcard would otherwise take.
    let shadowed: Vec<&str> = terminated(hosts)
        .filter(|_| terminating)
        .map(|h| h.name.as_str())
        .filter(|n| pt_wild.iter().any(|w| wildcard::covers(w, n)))
        .collect();
    rules.extend(
        shadowed
            .into_iter()
            .map(|n| (n, TERMINATE_BACKEND.to_string())),
    );
    // Exact names first (a stable sort keeps them in host order), then
    // wildcards longest suffix first.
    rules.sort_by_key(|(n, _)| wildcard::suffix(n).map(|s| std::cmp::Reverse(s.len())));
    rules
        .into_iter()
        .map(|(n, backend)| {
            let condition = match wildcard::suffix(n) {
                Some(s) => format!("{{ req.ssl_sni,lower -m end {s} }}"),
                None => format!("{{ req.ssl_sni,lower -m str {n} }}"),
            };
            (backend, condition)
        })
        .collect()
}

/// `bind` arguments of the terminating frontend.
/// `http2`: offer HTTP/2 by ALPN. Requests are routed by their Host (h2's
/// `:authority`), so a connection a browser reuses for another name its
/// certificate covers still reaches that name's backend.
pub fn https_bind(port: u16, crt_list: &str, http2: bool) -> String {
    let alpn = if http2 { " alpn h2,http/1.1" } else { "" };
    format!("127.0.0.1:{port} ssl crt-list {crt_list}{alpn} accept-proxy")
}

/// One `<pem> <sni>` line per terminated host; the first line's certificate
/// also serves clients that send no (or an unknown) SNI.
pub fn crt_list(hosts: &[Host]) -> String {
    terminated(hosts)
        .filter_map(|h| {
            h.tls
                .as_ref()
                .map(|t| format!("{} {}\n", t.cert_path, h.name))
        })
        .collect()
}

#[cfg(test)]
#[path = "tls_tests.rs"]
mod tests;
