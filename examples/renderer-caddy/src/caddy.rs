//! The Caddy JSON document: one HTTP server, one HTTPS server when any host
//! terminates TLS, certificates loaded from the files the labels name.
//! Automatic HTTPS is off: Sluice, not Caddy, owns certificates.

use serde_json::{Value, json};

use crate::settings::Settings;
use crate::sluice::renderer::types::{RenderInput, TlsFiles, VirtualHost};
use crate::upstream;

fn unavailable() -> Value {
    json!({ "handler": "static_response", "status_code": 503, "body": "no backend\n" })
}

/// Proxy to the upstream, or 503 when it has no servers.
fn proxy(u: Option<&crate::sluice::renderer::types::Upstream>, s: &Settings) -> Value {
    u.and_then(|u| upstream::handler(u, s))
        .unwrap_or_else(unavailable)
}

fn route(host: &str, paths: Option<Vec<String>>, handle: Vec<Value>) -> Value {
    let mut m = json!({ "host": [host] });
    if let Some(p) = paths {
        m["path"] = json!(p);
    }
    json!({ "match": [m], "handle": handle, "terminal": true })
}

/// One host's routes for `scheme` ("http" or "https").
fn host_routes(h: &VirtualHost, scheme: &str, s: &Settings) -> Vec<Value> {
    let mut out = Vec::new();
    if let Some(r) = h
        .redirects
        .iter()
        .find(|r| r.scheme.as_deref().is_none_or(|x| x == scheme))
    {
        let location = format!("{}{{http.request.uri}}", r.target);
        out.push(route(
            &h.name,
            None,
            vec![json!({
                "handler": "static_response",
                "status_code": 302,
                "headers": { "Location": [location] },
            })],
        ));
        return out;
    }
    for c in &h.context_roots {
        let root = c.path.trim_end_matches('/');
        let paths = if root.is_empty() {
            vec!["/*".to_string()]
        } else {
            vec![root.to_string(), format!("{root}/*")]
        };
        let mut handle = Vec::new();
        if c.rewrite && !root.is_empty() {
            handle.push(json!({ "handler": "rewrite", "strip_path_prefix": root }));
        }
        handle.push(proxy(Some(&c.upstream), s));
        out.push(route(&h.name, Some(paths), handle));
    }
    // reverse_proxy upgrades websockets by itself; endpoints only need a route.
    for w in &h.websocket_endpoints {
        out.push(route(
            &h.name,
            Some(vec![w.clone(), format!("{}/*", w.trim_end_matches('/'))]),
            vec![proxy(h.upstream.as_ref(), s)],
        ));
    }
    out.push(route(&h.name, None, vec![proxy(h.upstream.as_ref(), s)]));
    out
}

fn server(listen: u16, routes: Vec<Value>, fallback: Value, info: Option<&str>) -> Value {
    let mut routes = routes;
    routes.push(json!({ "handle": [fallback] }));
    if let Some(info) = info {
        routes.insert(
            0,
            json!({ "handle": [{
                "handler": "headers",
                "response": { "set": { "X-Server-Info": [info] } },
            }]}),
        );
    }
    json!({
        "listen": [format!(":{listen}")],
        "routes": routes,
        "automatic_https": { "disable": true },
    })
}

fn load_file(t: &TlsFiles) -> Value {
    // A combined PEM serves as both: Caddy picks the blocks it needs.
    json!({ "certificate": t.cert_path, "key": t.key_path.as_ref().unwrap_or(&t.cert_path) })
}

pub fn config(input: &RenderInput, s: &Settings) -> Value {
    let c = &input.cluster;
    let info = (!s.hide_info_headers).then_some(c.server_info.as_str());
    let fallback = proxy(input.default_backend.as_ref(), s);
    let http: Vec<Value> = input
        .hosts
        .iter()
        .flat_map(|h| host_routes(h, "http", s))
        .collect();
    let mut servers = json!({ "http": server(c.http_port, http, fallback.clone(), info) });
    let tls_hosts: Vec<&VirtualHost> = input.hosts.iter().filter(|h| h.tls.is_some()).collect();
    let mut apps = json!({});
    if !tls_hosts.is_empty() {
        let https: Vec<Value> = tls_hosts
            .iter()
            .flat_map(|h| host_routes(h, "https", s))
            .collect();
        let mut srv = server(c.https_port, https, fallback, info);
        srv["tls_connection_policies"] = json!([{}]);
        servers["https"] = srv;
        let files: Vec<Value> = tls_hosts
            .iter()
            .filter_map(|h| h.tls.as_ref())
            .map(load_file)
            .collect();
        apps["tls"] = json!({ "certificates": { "load_files": files } });
    }
    apps["http"] = json!({ "servers": servers });
    json!({
        "admin": { "listen": s.admin_listen },
        "apps": apps,
    })
}
