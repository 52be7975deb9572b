//! Checks on the route data before anything is rendered: every string that
//! reaches the config must read back as the value it is, never as syntax.
//! All problems are collected, each naming the element at fault.

use std::net::IpAddr;

use rustc_hash::{FxHashMap, FxHashSet};

use sluice_plugin_kit::rules::{
    self, cookie_name, file_path, host_name, normalize_root, redirect_target, upstream_name,
    url_path,
};
use sluice_plugin_kit::{Diagnostic, RenderInput, Severity, Upstream};

use crate::upstream::same_upstream;

fn problem(key: String, message: impl Into<String>) -> Diagnostic {
    Diagnostic {
        severity: Severity::Error,
        key: Some(key),
        message: message.into(),
    }
}

// Keys are built only when there is a problem to name: formatting one per
// host and server up front cost more than the checks on a 10k-host cluster.
fn check_upstream(u: &Upstream, out: &mut Vec<Diagnostic>) {
    let key = || format!("upstreams[{:?}]", u.name);
    if let Err(e) = upstream_name(&u.name) {
        out.push(problem(key(), e));
    }
    if let Some(c) = &u.sticky_cookie
        && let Err(e) = cookie_name(c)
    {
        out.push(problem(format!("{}.sticky-cookie", key()), e));
    }
    for (n, s) in u.servers.iter().enumerate() {
        let skey = || format!("{}.servers[{n}] (service {:?})", key(), s.service);
        if s.address.parse::<IpAddr>().is_err() {
            out.push(problem(
                skey(),
                format!("address {:?} is not an IPv4 or IPv6 literal", s.address),
            ));
        }
        if s.port == 0 {
            out.push(problem(skey(), "port 0 cannot be proxied to"));
        }
        if s.weight == 0 {
            out.push(problem(skey(), "weight must be at least 1"));
        }
    }
}

/// Every upstream of the input: default backend, then host by host.
pub fn all_upstreams(input: &RenderInput) -> Vec<&Upstream> {
    let mut all: Vec<&Upstream> = input.default_backend.iter().collect();
    for h in &input.hosts {
        all.extend(h.upstream.iter());
        all.extend(h.context_roots.iter().map(|c| &c.upstream));
    }
    all
}

/// Check the whole input; an empty list means it can be rendered.
pub fn check(input: &RenderInput) -> Vec<Diagnostic> {
    let mut out = Vec::new();
    let c = &input.cluster;
    if c.http_port == 0 {
        out.push(problem(
            "cluster.http-port".into(),
            "the HTTP port must not be 0",
        ));
    }
    let any_tls = input.hosts.iter().any(|h| h.tls.is_some() || h.passthrough);
    if any_tls && (c.https_port == 0 || c.https_port == c.http_port) {
        out.push(problem(
            "cluster.https-port".into(),
            format!(
                "TLS hosts need an HTTPS port other than 0 and the HTTP port {}",
                c.http_port
            ),
        ));
    }
    if let Err(e) = rules::plain_text(&c.server_info) {
        out.push(problem("cluster.server-info".into(), e));
    }
    if let Err(e) = file_path(&c.config_path) {
        out.push(problem("cluster.config-path".into(), e));
    }

    // Sets, not scans of the earlier items: clusters have 10k+ hosts.
    let mut seen_hosts = FxHashSet::default();
    seen_hosts.reserve(input.hosts.len());
    for h in &input.hosts {
        let key = || format!("hosts[{:?}]", h.name);
        if let Err(e) = host_name(&h.name) {
            out.push(problem(key(), e));
        }
        if !seen_hosts.insert(h.name.as_str()) {
            out.push(problem(key(), "host appears twice"));
        }
        for (i, cr) in h.context_roots.iter().enumerate() {
            let ckey = || format!("{}.context-roots[{:?}]", key(), cr.path);
            if let Err(e) = url_path(&cr.path) {
                out.push(problem(ckey(), e));
            }
            let norm = normalize_root(&cr.path);
            if h.context_roots[..i]
                .iter()
                .any(|o| normalize_root(&o.path) == norm)
            {
                out.push(problem(
                    ckey(),
                    format!("context root {norm:?} is given twice"),
                ));
            }
        }
        for w in &h.websocket_endpoints {
            if let Err(e) = url_path(w) {
                out.push(problem(format!("{}.websocket-endpoints[{w:?}]", key()), e));
            }
        }
        for r in &h.redirects {
            let rkey = || format!("{}.redirects[{:?}]", key(), r.target);
            if let Err(e) = redirect_target(&r.target) {
                out.push(problem(rkey(), e));
            }
            if let Some(s) = &r.scheme
                && s != "http"
                && s != "https"
            {
                out.push(problem(
                    rkey(),
                    format!("scheme {s:?} must be \"http\" or \"https\""),
                ));
            }
        }
        if let Some(t) = &h.tls {
            if let Err(e) = file_path(&t.cert_path) {
                out.push(problem(format!("{}.tls.cert-path", key()), e));
            }
            if let Some(k) = &t.key_path
                && let Err(e) = file_path(k)
            {
                out.push(problem(format!("{}.tls.key-path", key()), e));
            }
        }
    }

    let mut first: FxHashMap<&str, &Upstream> = FxHashMap::default();
    first.reserve(input.hosts.len() + 1);
    for u in all_upstreams(input) {
        // Each distinct upstream once; a differing twin is an error.
        match first.get(u.name.as_str()) {
            Some(o) if !same_upstream(o, u) => out.push(problem(
                format!("upstreams[{:?}]", u.name),
                "two different upstreams share this name",
            )),
            Some(_) => {}
            None => {
                first.insert(u.name.as_str(), u);
                check_upstream(u, &mut out);
            }
        }
    }
    out
}
