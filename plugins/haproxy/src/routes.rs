//! Which backend serves each host and path prefix, per HTTP frontend.
//!
//! HAProxy looks the route up in a map file keyed by `<host><prefix>`
//! (`map_beg` on the lower-cased, port-less Host header followed by the path),
//! so the map is sorted longest key first: HAProxy returns the first matching
//! line, which then is the longest prefix, as nginx's `location` would.
//! A wildcard host's routes are keyed by its pattern (`*.example.org/app`):
//! the frontend first resolves the Host header to the virtual host that
//! serves it (see [`crate::wildcard`]), so host precedence is decided before
//! any path is looked at, as with nginx's `server_name`.

use sluice_plugin_kit::{Host, Upstream};

use crate::wildcard;

/// Which frontend a route table is for.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Scheme {
    Http,
    Https,
}

impl Scheme {
    pub fn as_str(self) -> &'static str {
        match self {
            Scheme::Http => "http",
            Scheme::Https => "https",
        }
    }
}

/// One host + path prefix → backend line of the map.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Route {
    pub host: String,
    /// Without trailing `/`, except the host's default route `/`.
    pub prefix: String,
    pub backend: String,
}

impl Route {
    pub fn key(&self) -> String {
        format!("{}{}", self.host, self.prefix)
    }
}

/// A context root with `context_root_rewrite`: `<prefix>` is redirected to
/// `<prefix>/`, and `<prefix>/…` loses the prefix, unless a longer route of
/// the same host (`longer`) took the request.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Rewrite {
    pub host: String,
    pub prefix: String,
    pub longer: Vec<String>,
}

/// A `302 <target><uri>` for every request to `host` on this frontend.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Redirect {
    pub host: String,
    pub target: String,
}

#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Table {
    /// Longest key first.
    pub routes: Vec<Route>,
    pub rewrites: Vec<Rewrite>,
    pub redirects: Vec<Redirect>,
    /// Every virtual host (exact or wildcard) this frontend answers for,
    /// sorted: an exact name here keeps a wildcard from taking its requests.
    pub names: Vec<String>,
}

impl Table {
    /// Whether requests must be resolved to a virtual host before routing.
    pub fn has_wildcards(&self) -> bool {
        self.names.iter().any(|n| wildcard::is_wildcard(n))
    }
}

pub fn backend_name(upstream: &Upstream) -> String {
    format!("up_{}", upstream.name)
}

/// Whether `host` is served (routes and redirects) by this frontend: plain
/// HTTP serves every host except for passthrough ones' routes; the TLS
/// frontend serves the hosts it terminates.
fn serves_routes(host: &Host, scheme: Scheme) -> bool {
    match scheme {
        Scheme::Http => !host.passthrough,
        Scheme::Https => !host.passthrough && host.tls.is_some(),
    }
}

/// The redirect for requests arriving with `scheme`: one naming that scheme
/// wins over one naming none, whatever their order (docs/plugins.md).
fn redirect_for(host: &Host, scheme: Scheme) -> Option<&sluice_plugin_kit::Redirect> {
    let named = host.redirects.iter().find(|r| {
        r.scheme
            .as_deref()
            .is_some_and(|s| s.eq_ignore_ascii_case(scheme.as_str()))
    });
    named.or_else(|| host.redirects.iter().find(|r| r.scheme.is_none()))
}

fn serves_redirects(host: &Host, scheme: Scheme) -> bool {
    match scheme {
        Scheme::Http => true,
        Scheme::Https => !host.passthrough && host.tls.is_some(),
    }
}

/// `/app/` and `/app` are the same context root.
fn normalize(path: &str) -> String {
    let trimmed = path.trim_end_matches('/');
    if trimmed.is_empty() {
        "/".to_string()
    } else {
        trimmed.to_string()
    }
}

pub fn table(hosts: &[Host], scheme: Scheme) -> Table {
    let mut t = Table::default();
    for host in hosts {
        let before = (t.routes.len(), t.redirects.len());
        if serves_redirects(host, scheme)
            && let Some(r) = redirect_for(host, scheme)
        {
            t.redirects.push(Redirect {
                host: host.name.clone(),
                target: r.target.clone(),
            });
        }
        if serves_routes(host, scheme) {
            host_routes(host, &mut t);
        }
        // As nginx: a host has a server when something is routed or
        // redirected for it, and every terminated host has a TLS server.
        let terminated = scheme == Scheme::Https && serves_routes(host, scheme);
        if terminated || before != (t.routes.len(), t.redirects.len()) {
            t.names.push(host.name.clone());
        }
    }
    t.names.sort();
    t.names.dedup();
    t.routes.sort_by(|a, b| {
        b.key()
            .len()
            .cmp(&a.key().len())
            .then_with(|| a.key().cmp(&b.key()))
    });
    t
}

fn host_routes(host: &Host, t: &mut Table) {
    let mut routes: Vec<Route> = Vec::new();
    let add = |prefix: String, upstream: &Upstream, routes: &mut Vec<Route>| {
        // Context roots come first, so they win over a websocket endpoint or
        // the default route with the same path.
        let fresh = !routes.iter().any(|r| r.prefix == prefix);
        if fresh {
            routes.push(Route {
                host: host.name.clone(),
                prefix,
                backend: backend_name(upstream),
            });
        }
        fresh
    };
    let mut rewritten = Vec::new();
    for ctx in &host.context_roots {
        let prefix = normalize(&ctx.path);
        if add(prefix.clone(), &ctx.upstream, &mut routes) && ctx.rewrite && prefix != "/" {
            rewritten.push(prefix);
        }
    }
    if let Some(up) = &host.upstream {
        // HAProxy relays Upgrade requests natively, so a websocket endpoint
        // only needs a route of its own when another route would take its path.
        for ws in &host.websocket_endpoints {
            add(normalize(ws), up, &mut routes);
        }
        add("/".to_string(), up, &mut routes);
    }
    for prefix in rewritten {
        let longer = routes
            .iter()
            .filter(|r| r.prefix.len() > prefix.len() && r.prefix.starts_with(&prefix))
            .map(|r| r.prefix.clone())
            .collect();
        t.rewrites.push(Rewrite {
            host: host.name.clone(),
            prefix,
            longer,
        });
    }
    t.routes.extend(routes);
}

/// The map file: one `<host><prefix> <backend>` line per route.
pub fn map_file(table: &Table) -> String {
    table
        .routes
        .iter()
        .map(|r| format!("{} {}\n", r.key(), r.backend))
        .collect()
}

#[cfg(test)]
#[path = "routes_tests.rs"]
mod tests;
