//! What each of a host's servers does with a request: the locations and
//! where they send it, or the redirect that replaces them. Pure planning; the
//! `server` module writes the result.

use std::borrow::Cow;

use sluice_plugin_kit::{Host, Redirect, Upstream};

use sluice_plugin_kit::rules::normalize_root;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Scheme {
    Http,
    Https,
}

impl Scheme {
    fn name(self) -> &'static str {
        match self {
            Scheme::Http => "http",
            Scheme::Https => "https",
        }
    }
}

#[derive(Debug)]
pub enum Action<'a> {
    /// `proxy_pass` to the upstream; `uri` replaces the matched prefix (how a
    /// context root with rewrite strips its path).
    Proxy {
        upstream: &'a Upstream,
        uri: Option<String>,
        websocket: bool,
    },
    /// Add the trailing slash a rewriting context root needs, keeping the query.
    SlashRedirect(String),
    NotFound,
}

#[derive(Debug)]
pub struct Location<'a> {
    pub exact: bool,
    /// Borrowed where it can be: a 10k-host cluster has 10k `/` locations.
    pub path: Cow<'a, str>,
    pub action: Action<'a>,
}

#[derive(Debug)]
pub enum Body<'a> {
    /// `return 302 <target>$request_uri` for the whole server.
    Redirect(String),
    Locations(Vec<Location<'a>>),
}

/// The redirect that applies to requests arriving with `scheme`: one naming
/// that scheme first, else one that names none.
pub fn redirect_for(host: &Host, scheme: Scheme) -> Option<&Redirect> {
    let named = host
        .redirects
        .iter()
        .find(|r| r.scheme.as_deref() == Some(scheme.name()));
    named.or_else(|| host.redirects.iter().find(|r| r.scheme.is_none()))
}

/// The redirect target as written before `$request_uri`: without trailing
/// slashes, which the request URI brings.
fn redirect_base(target: &str) -> String {
    let is_url = target.starts_with("http://") || target.starts_with("https://");
    if is_url {
        target.trim_end_matches('/').to_string()
    } else {
        target.to_string()
    }
}

/// The route for `path` if it had no location of its own: the longest context
/// root that covers it, else the host's upstream.
fn fallback<'a>(host: &'a Host, path: &str) -> Option<Action<'a>> {
    let covering = host
        .context_roots
        .iter()
        .filter(|cr| normalize_root(&cr.path) != "/")
        .filter(|cr| {
            let root = normalize_root(&cr.path);
            if cr.rewrite {
                path.starts_with(&format!("{root}/"))
            } else {
                path.starts_with(root)
            }
        })
        .max_by_key(|cr| normalize_root(&cr.path).len());
    if let Some(cr) = covering {
        let root = normalize_root(&cr.path);
        let uri = cr.rewrite.then(|| path[root.len()..].to_string());
        return Some(Action::Proxy {
            upstream: &cr.upstream,
            uri,
            websocket: false,
        });
    }
    let root = host
        .context_roots
        .iter()
        .find(|cr| normalize_root(&cr.path) == "/");
    let upstream = root.map(|cr| &cr.upstream).or(host.upstream.as_ref())?;
    Some(Action::Proxy {
        upstream,
        uri: None,
        websocket: false,
    })
}

/// The locations of a host's (non-redirecting) server, and warnings about
/// routes that cannot be served.
pub fn locations(host: &Host) -> (Vec<Location<'_>>, Vec<String>) {
    let mut warnings = Vec::new();
    let mut locs = Vec::new();
    let root = host
        .context_roots
        .iter()
        .find(|cr| normalize_root(&cr.path) == "/");
    if root.is_some() && host.upstream.is_some() {
        warnings.push(format!(
            "host {:?}: context root \"/\" takes over the host's own upstream",
            host.name
        ));
    }
    locs.push(Location {
        exact: false,
        path: Cow::Borrowed("/"),
        action: fallback(host, "/").unwrap_or(Action::NotFound),
    });
    for cr in &host.context_roots {
        let path = normalize_root(&cr.path);
        if path == "/" {
            continue;
        }
        if cr.rewrite {
            locs.push(Location {
                exact: true,
                path: Cow::Borrowed(path),
                action: Action::SlashRedirect(format!("{path}/")),
            });
            locs.push(Location {
                exact: false,
                path: Cow::Owned(format!("{path}/")),
                action: Action::Proxy {
                    upstream: &cr.upstream,
                    uri: Some("/".into()),
                    websocket: false,
                },
            });
        } else {
            locs.push(Location {
                exact: false,
                path: Cow::Borrowed(path),
                action: Action::Proxy {
                    upstream: &cr.upstream,
                    uri: None,
                    websocket: false,
                },
            });
        }
    }
    for ws in &host.websocket_endpoints {
        // A location at that path already exists: it carries the upgrade.
        if let Some(loc) = locs.iter_mut().find(|l| !l.exact && &l.path == ws) {
            match &mut loc.action {
                Action::Proxy { websocket, .. } => *websocket = true,
                _ => warnings.push(format!(
                    "host {:?}: websocket endpoint {ws:?} has no upstream",
                    host.name
                )),
            }
            continue;
        }
        // The exact slash-redirect of a rewriting root becomes the websocket.
        if let Some(loc) = locs.iter_mut().find(|l| l.exact && &l.path == ws) {
            let cr = host
                .context_roots
                .iter()
                .find(|cr| cr.rewrite && normalize_root(&cr.path) == ws);
            if let Some(cr) = cr {
                loc.action = Action::Proxy {
                    upstream: &cr.upstream,
                    uri: Some("/".into()),
                    websocket: true,
                };
            }
            continue;
        }
        match fallback(host, ws) {
            Some(Action::Proxy { upstream, uri, .. }) => locs.push(Location {
                exact: false,
                path: Cow::Borrowed(ws.as_str()),
                action: Action::Proxy {
                    upstream,
                    uri,
                    websocket: true,
                },
            }),
            _ => warnings.push(format!(
                "host {:?}: websocket endpoint {ws:?} has no upstream; skipped",
                host.name
            )),
        }
    }
    (locs, warnings)
}

/// What the host's server for `scheme` does.
pub fn body(host: &Host, scheme: Scheme) -> (Body<'_>, Vec<String>) {
    match redirect_for(host, scheme) {
        Some(r) => (Body::Redirect(redirect_base(&r.target)), Vec::new()),
        None => {
            let (locs, warnings) = locations(host);
            (Body::Locations(locs), warnings)
        }
    }
}

/// Whether the host gets a server on the HTTP port. Passthrough hosts only
/// for a redirect (Interlock rendered none, so HTTP->HTTPS could not work).
pub fn has_http_server(host: &Host) -> bool {
    let redirect = redirect_for(host, Scheme::Http).is_some();
    if host.passthrough {
        redirect
    } else {
        redirect || host.upstream.is_some() || !host.context_roots.is_empty()
    }
}

/// Whether the host gets a TLS-terminating server.
pub fn has_tls_server(host: &Host) -> bool {
    host.tls.is_some() && !host.passthrough
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::tests::fixtures::{context_root, host, redirect, upstream};

    /// One line per location: `[=]path -> upstream[uri][ ws]`, `-> 301 target`, `-> 404`.
    fn summary(host: &Host) -> Vec<String> {
        let (locs, _) = locations(host);
        locs.iter()
            .map(|l| {
                let m = if l.exact { "=" } else { "" };
                let a = match &l.action {
                    Action::Proxy {
                        upstream,
                        uri,
                        websocket,
                    } => format!(
                        "{}{}{}",
                        upstream.name,
                        uri.as_deref().unwrap_or(""),
                        if *websocket { " ws" } else { "" }
                    ),
                    Action::SlashRedirect(t) => format!("301 {t}"),
                    Action::NotFound => "404".into(),
                };
                format!("{m}{} -> {a}", l.path)
            })
            .collect()
    }

    #[test]
    fn location_table() {
        let up = |n: &str| upstream(n, &[("10.0.0.1", 80)]);
        let cases: Vec<(&str, Host, Vec<&str>)> = vec![
            (
                "plain host",
                {
                    let mut h = host("a.com");
                    h.upstream = Some(up("a"));
                    h
                },
                vec!["/ -> a"],
            ),
            (
                "only context roots",
                {
                    let mut h = host("a.com");
                    h.context_roots = vec![
                        context_root("/api", false, up("api")),
                        context_root("/app/", true, up("app")),
                    ];
                    h
                },
                vec![
                    "/ -> 404",
                    "/api -> api",
                    "=/app -> 301 /app/",
                    "/app/ -> app/",
                ],
            ),
            (
                "websocket at root",
                {
                    let mut h = host("a.com");
                    h.upstream = Some(up("a"));
                    h.websocket_endpoints = vec!["/".into(), "/ws".into()];
                    h
                },
                vec!["/ -> a ws", "/ws -> a ws"],
            ),
            (
                "websocket under rewriting root",
                {
                    let mut h = host("a.com");
                    h.upstream = Some(up("a"));
                    h.context_roots = vec![context_root("/app", true, up("app"))];
                    h.websocket_endpoints = vec!["/app/ws".into(), "/app".into(), "/other".into()];
                    h
                },
                vec![
                    "/ -> a",
                    "=/app -> app/ ws",
                    "/app/ -> app/",
                    "/app/ws -> app/ws ws",
                    "/other -> a ws",
                ],
            ),
            (
                "websocket on plain root",
                {
                    let mut h = host("a.com");
                    h.context_roots = vec![context_root("/api", false, up("api"))];
                    h.websocket_endpoints =
                        vec!["/api".into(), "/api/live".into(), "/nowhere".into()];
                    h
                },
                vec!["/ -> 404", "/api -> api ws", "/api/live -> api ws"],
            ),
            (
                "context root slash",
                {
                    let mut h = host("a.com");
                    h.context_roots = vec![context_root("/", false, up("r"))];
                    h
                },
                vec!["/ -> r"],
            ),
        ];
        for (name, h, want) in cases {
            assert_eq!(summary(&h), want, "{name}");
        }
    }

    #[test]
    fn redirects_by_scheme() {
        let mut h = host("a.com");
        h.redirects = vec![
            redirect(Some("https"), "https://b.com/"),
            redirect(None, "https://c.com"),
        ];
        assert!(matches!(body(&h, Scheme::Https).0, Body::Redirect(t) if t == "https://b.com"));
        assert!(matches!(body(&h, Scheme::Http).0, Body::Redirect(t) if t == "https://c.com"));
        h.redirects = vec![redirect(Some("http"), "https://a.com")];
        assert!(matches!(body(&h, Scheme::Http).0, Body::Redirect(_)));
        assert!(matches!(body(&h, Scheme::Https).0, Body::Locations(_)));
    }

    #[test]
    fn servers_per_host() {
        let mut h = host("a.com");
        assert!(!has_http_server(&h), "nothing to serve");
        h.upstream = Some(upstream("a", &[("10.0.0.1", 443)]));
        h.passthrough = true;
        assert!(!has_http_server(&h), "passthrough without redirect");
        h.redirects = vec![redirect(Some("http"), "https://a.com")];
        assert!(has_http_server(&h), "passthrough with http redirect");
        h.redirects = vec![redirect(Some("https"), "https://b.com")];
        assert!(
            !has_http_server(&h),
            "https redirect does not apply to http"
        );
        assert!(!has_tls_server(&h));
    }
}
