//! Backends: one per upstream, `mode http` for routed traffic and `mode tcp`
//! for TLS passthrough.
//!
//! Passive health (`com.docker.lb.max_fails` / `fail_timeout`): nginx stops
//! sending to a server for `fail_timeout` after `max_fails` failed attempts.
//! HAProxy's equivalent is `observe layer4 error-limit N on-error mark-down`
//! (N consecutive connection errors on live traffic mark the server down),
//! which needs `check` to bring the server back: a TCP connect check every
//! `fail_timeout` (`inter`), `rise 1`, `fall N`. Without either label no
//! checks are configured and `option redispatch` retries elsewhere.
//! `max_fails=0` disables the accounting, as in nginx.

use sluice_plugin_kit::{RoutePolicy, Server, SlotServer, TlsVerify, Upstream};

use crate::cfg::Cfg;
use crate::settings::Config;
use crate::{policy, quote, slots};

/// HAProxy's server weight range (1 keeps a server in rotation).
const MAX_WEIGHT: u32 = 256;
/// nginx's default `fail_timeout`.
const DEFAULT_FAIL_TIMEOUT: u32 = 10;
const MAX_FALL: u32 = 1000;

#[derive(Clone, Copy, PartialEq, Eq)]
pub enum Mode {
    Http,
    Tcp,
}

pub fn http_name(upstream: &Upstream) -> String {
    crate::routes::backend_name(upstream)
}

pub fn tcp_name(upstream: &Upstream) -> String {
    format!("pt_{}", upstream.name)
}

/// Renders `upstream` as a backend. Names and the cookie name were checked
/// by [`crate::input`].
pub fn render(
    cfg: &mut Cfg,
    upstream: &Upstream,
    mode: Mode,
    config: &Config,
    route_policy: Option<&RoutePolicy>,
) {
    let name = match mode {
        Mode::Http => http_name(upstream),
        Mode::Tcp => tcp_name(upstream),
    };
    cfg.section(format!("backend {name}"));
    cfg.line(if mode == Mode::Http {
        "mode http"
    } else {
        "mode tcp"
    });
    cfg.line(if upstream.ip_hash {
        "balance source"
    } else {
        "balance roundrobin"
    });
    let sticky = match (&upstream.sticky_cookie, mode) {
        (Some(name), Mode::Http) => quote::word(name).ok(),
        _ => None,
    };
    if let Some(name) = &sticky {
        // The label names the app's own session cookie (Interlock hashed it in
        // nginx). `insert` would replace the app's cookie with HAProxy's and
        // strip it from requests, losing the session; `prefix` keeps the app's
        // cookie and tags its value with the server that issued it.
        cfg.line(format!("cookie {name} prefix nocache"));
    }
    if mode == Mode::Http && !config.hide_info_headers {
        cfg.line("http-response set-header x-upstream-addr %[bc_dst]:%[bc_dst_port]");
    }
    // Passthrough hosts with a policy were refused (`policy::check`).
    let route_policy = route_policy.filter(|_| mode == Mode::Http);
    if let Some(p) = route_policy {
        policy::write(cfg, p);
    }
    let proto = policy::server_options(route_policy);
    let tls = (mode == Mode::Http && upstream.tls).then(|| tls(upstream.tls_verify, config));
    if slots::eligible(&name, upstream, config) {
        let count = slots::count(upstream.servers.len(), config.server_slots);
        for (i, server) in slots::assign(&upstream.servers, count)
            .into_iter()
            .enumerate()
        {
            let slot = format!("slot{}", i + 1);
            let before = format!("server {slot} ");
            let mut after = String::new();
            if sticky.is_some() {
                after.push_str(&format!(" cookie {slot}"));
            }
            if let Some(tls) = &tls {
                after.push(' ');
                after.push_str(tls);
            }
            after.push_str(&proto);
            let (value, held) = match server {
                Some(s) => {
                    let weight = s.weight.clamp(1, MAX_WEIGHT);
                    let value = format!("{} weight {weight}", address(s));
                    let held = SlotServer {
                        address: s.address.clone(),
                        port: s.port,
                        weight,
                    };
                    (value, Some(held))
                }
                // As HAProxy's runtime leaves a slot it empties.
                None => ("0.0.0.0:0 weight 1 disabled".to_owned(), None),
            };
            cfg.slot_line((&name, &slot), held, [&before, &value, &after]);
        }
        return;
    }
    for (name, server) in server_names(&upstream.servers) {
        let mut line = format!(
            "server {name} {} weight {}",
            address(server),
            server.weight.clamp(1, MAX_WEIGHT)
        );
        if sticky.is_some() {
            line.push_str(&format!(" cookie {name}"));
        }
        // A health check's `check` (in `proto`) supersedes the passive one.
        if let Some(check) = health(server).filter(|_| !proto.contains(" check ")) {
            line.push(' ');
            line.push_str(&check);
        }
        if let Some(tls) = &tls {
            line.push(' ');
            line.push_str(tls);
        }
        line.push_str(&proto);
        cfg.line(line);
    }
}

/// `ip:port`, with IPv6 in brackets.
pub fn address(server: &Server) -> String {
    if server.address.contains(':') {
        format!("[{}]:{}", server.address, server.port)
    } else {
        format!("{}:{}", server.address, server.port)
    }
}

/// Names derived from the address so a sticky cookie keeps pointing at the
/// same task across renders; repeats get a numeric suffix.
fn server_names(servers: &[Server]) -> Vec<(String, &Server)> {
    let mut seen = std::collections::BTreeMap::<String, u32>::new();
    servers
        .iter()
        .map(|s| {
            let base: String = format!("s_{}_{}", s.address, s.port)
                .chars()
                .map(|c| if c.is_ascii_alphanumeric() { c } else { '_' })
                .collect();
            let n = seen.entry(base.clone()).or_insert(0);
            *n += 1;
            let name = if *n == 1 { base } else { format!("{base}_{n}") };
            (name, s)
        })
        .collect()
}

fn health(server: &Server) -> Option<String> {
    if server.max_fails == Some(0)
        || (server.max_fails.is_none() && server.fail_timeout_seconds.is_none())
    {
        return None;
    }
    let fall = server.max_fails.unwrap_or(1).clamp(1, MAX_FALL);
    let inter = server
        .fail_timeout_seconds
        .unwrap_or(DEFAULT_FAIL_TIMEOUT)
        .clamp(1, i32::MAX as u32 / 1000);
    Some(format!(
        "check inter {inter}s fall {fall} rise 1 observe layer4 error-limit {fall} on-error mark-down"
    ))
}

/// Upstream TLS; the SNI (and, with `required`, the name checked against the
/// certificate) is the request's host.
fn tls(verify: TlsVerify, config: &Config) -> String {
    match verify {
        TlsVerify::None => "ssl verify none sni var(txn.host)".to_string(),
        TlsVerify::Required => format!(
            "ssl verify required ca-file {} sni var(txn.host)",
            config.ca_file
        ),
    }
}

#[cfg(test)]
#[path = "backend_tests.rs"]
mod tests;
