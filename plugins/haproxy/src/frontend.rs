//! The HTTP frontends: plain HTTP on the cluster's port, and the loopback
//! one behind TLS termination. Both route the same way: the Host header
//! (lower-cased, port stripped) and the path are looked up in the
//! frontend's map file; redirects and context-root rewrites are per-host
//! rules in front of that. When the frontend serves a wildcard host, the
//! Host header is first resolved to its virtual host (`txn.vhost`: the exact
//! name, else the longest matching `*.suffix`) and everything after routes on
//! that instead.

use crate::cfg::Cfg;
use crate::quote;
use crate::routes::{Redirect, Rewrite, Scheme, Table};
use crate::settings::Config;

/// Everything a frontend needs besides its route table.
pub struct Frontend<'a> {
    pub name: &'a str,
    /// The full `bind` line arguments.
    pub bind: String,
    pub scheme: Scheme,
    /// Absolute path of the map file (checked by `check::file_path`).
    pub map_path: &'a str,
    /// The virtual-host maps, when the route table has wildcard hosts.
    pub vhost_maps: Option<VhostMaps<'a>>,
    /// Backend for requests no route takes.
    pub fallback: &'a str,
    /// `x-server-info` value, already a quoted log-format word.
    pub server_info: &'a str,
    /// Names whose TLS passes through to their own servers: a request for
    /// one that no route here takes came on a connection a client reused
    /// (HTTP/2 coalescing) and is answered 421, so it retries on its own.
    pub misdirected: Vec<&'a str>,
}

/// Absolute paths of the files [`crate::wildcard`] describes.
pub struct VhostMaps<'a> {
    pub exact: &'a str,
    pub suffixes: &'a str,
}

pub const STATS_URI: &str = "/haproxy?stats";

pub fn render(cfg: &mut Cfg, fe: &Frontend, table: &Table, config: &Config) {
    cfg.section(format!("frontend {}", fe.name));
    cfg.line(format!("bind {}", fe.bind));
    cfg.line("mode http");
    cfg.line("option httplog");
    cfg.line("option forwardfor");
    cfg.line("unique-id-format %[uuid]");
    stats(cfg, config);
    cfg.line("http-request set-var(txn.host) req.hdr(host),field(1,:),lower");
    let vhost = match &fe.vhost_maps {
        Some(maps) => {
            cfg.line(format!(
                "http-request set-var(txn.vhost) var(txn.host),map_str({})",
                maps.exact
            ));
            cfg.line(format!(
                "http-request set-var(txn.vhost) var(txn.host),map_end({}) if !{{ var(txn.vhost) -m found }}",
                maps.suffixes
            ));
            "txn.vhost"
        }
        None => "txn.host",
    };
    cfg.line("http-request set-var(txn.path) path");
    cfg.line(format!(
        "http-request set-var(txn.backend) var({vhost}),concat(,txn.path),map_beg({})",
        fe.map_path
    ));
    cfg.line("http-request set-header X-Real-IP %[src]");
    cfg.line(format!(
        "http-request set-header X-Forwarded-Proto {}",
        fe.scheme.as_str()
    ));
    cfg.line("http-request set-header x-request-id %[unique-id]");
    if !config.hide_info_headers {
        cfg.line("http-response set-header x-request-id %[unique-id]");
        cfg.line("http-response set-header x-proxy-id %[hostname]");
        cfg.line(format!(
            "http-response set-header x-server-info {}",
            fe.server_info
        ));
    }
    for r in &table.redirects {
        redirect(cfg, vhost, r);
    }
    for r in &table.rewrites {
        rewrite(cfg, vhost, r);
    }
    for name in &fe.misdirected {
        let test = match name.strip_prefix('*') {
            Some(suffix) => format!("{{ var(txn.host) -m end {} }}", word(suffix)),
            None => host_is("txn.host", &word(name)),
        };
        cfg.line(format!(
            "http-request return status 421 if !{{ var(txn.backend) -m found }} {test}"
        ));
    }
    cfg.line("use_backend %[var(txn.backend)] if { var(txn.backend) -m found }");
    cfg.line(format!("default_backend {}", fe.fallback));
}

/// The stats page only behind `AdminUser`/`AdminPass`: on every routed host,
/// it would show anyone the cluster's backends and addresses.
fn stats(cfg: &mut Cfg, config: &Config) {
    let Some(auth) = &config.stats_auth else {
        return;
    };
    cfg.line("stats enable");
    cfg.line(format!("stats uri {STATS_URI}"));
    cfg.line("stats refresh 5s");
    cfg.line(format!("stats auth {auth}"));
}

/// `var` holds the request's (virtual) host; `host` may be a `*.` pattern,
/// which `-m str` compares literally.
fn host_is(var: &str, host: &str) -> String {
    format!("{{ var({var}) -m str {host} }}")
}

fn word(s: &str) -> String {
    // Route elements were checked to be printable before rendering.
    quote::word(s).expect("route element checked before rendering")
}

/// `302 <target><request uri>`: HAProxy's `prefix` redirect appends the
/// original path and query to the prefix.
fn redirect(cfg: &mut Cfg, var: &str, r: &Redirect) {
    let target = word(&quote::log_format_literal(&r.target));
    cfg.line(format!(
        "http-request redirect code 302 prefix {target} if {}",
        host_is(var, &r.host)
    ));
}

/// `/app` → 301 `/app/` (query kept); `/app/x` → `/x`.
fn rewrite(cfg: &mut Cfg, var: &str, r: &Rewrite) {
    let host = host_is(var, &r.host);
    let exact = format!("{{ path -m str {} }}", word(&r.prefix));
    let slash = quote::log_format_literal(&format!("{}/", r.prefix));
    cfg.line(format!(
        "http-request redirect code 301 location {} if {host} {exact} {{ query -m found }}",
        word(&format!("{slash}?%[query]"))
    ));
    cfg.line(format!(
        "http-request redirect code 301 location {} if {host} {exact}",
        word(&slash)
    ));
    let under = format!("{{ path_beg {} }}", word(&format!("{}/", r.prefix)));
    let longer: String = r
        .longer
        .iter()
        .map(|l| format!(" !{{ path_beg {} }}", word(l)))
        .collect();
    // `bytes` drops the prefix's length (the prefix is ASCII) and keeps its `/`.
    cfg.line(format!(
        "http-request set-path %[path,bytes({})] if {host} {under}{longer}",
        r.prefix.len()
    ));
}

#[cfg(test)]
#[path = "frontend_tests.rs"]
mod tests;
