//! Checks on the route data before anything is rendered: every string that
//! reaches the config must read back as the value it is, never as syntax.
//! All problems are collected, each naming the element at fault.

use std::net::IpAddr;

use rustc_hash::{FxHashMap, FxHashSet};

use sluice_plugin_kit::{Diagnostic, RenderInput, Severity, Upstream};

use crate::quote::{has_control, has_dollar};
use crate::upstream::same_upstream;

fn problem(key: String, message: String) -> Diagnostic {
    Diagnostic {
        severity: Severity::Error,
        key: Some(key),
        message,
    }
}

/// A host name nginx can take bare in `server_name` and a `map`: DNS labels of
/// [a-z0-9_-], optionally led by a `*.` wildcard.
pub fn host_name(name: &str) -> Result<(), String> {
    let body = name.strip_prefix("*.").unwrap_or(name);
    let label_ok = |l: &str| {
        !l.is_empty()
            && l.len() <= 63
            && l.bytes()
                .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-' || b == b'_')
    };
    // `_` alone is the default server's name.
    if name.len() <= 253 && name != "_" && body.split('.').all(label_ok) {
        Ok(())
    } else {
        Err(format!(
            "host name {name:?} is not a lower-case DNS name ([a-z0-9_-] labels, optional leading `*.`)"
        ))
    }
}

fn path_char(c: char) -> bool {
    c.is_ascii_alphanumeric() || "-._~!&'()*+,=:@%/".contains(c)
}

/// A URL path used in `location` and `proxy_pass`: starts with `/`, RFC 3986
/// path characters except `$` and `;` (nginx variables and statement ends).
pub fn url_path(path: &str) -> Result<(), String> {
    if path.starts_with('/') && path.len() <= 1024 && path.chars().all(path_char) {
        Ok(())
    } else {
        Err(format!(
            "path {path:?} must start with `/` and hold only URL path characters (no `$`, `;`, spaces, quotes)"
        ))
    }
}

/// The form a context root takes in the config: no trailing slash, except `/`.
pub fn normalize_root(path: &str) -> &str {
    let trimmed = path.trim_end_matches('/');
    if trimmed.is_empty() { "/" } else { trimmed }
}

pub fn redirect_target(target: &str) -> Result<(), String> {
    let authority = target
        .strip_prefix("https://")
        .or_else(|| target.strip_prefix("http://"));
    let prefix_ok = match authority {
        Some(rest) => !rest.is_empty() && !rest.starts_with('/'),
        None => target.starts_with('/'),
    };
    let chars_ok = target
        .bytes()
        .all(|b| b.is_ascii_graphic() && !b"\"'\\$".contains(&b));
    if prefix_ok && chars_ok && target.len() <= 2048 {
        Ok(())
    } else {
        Err(format!(
            "redirect target {target:?} must be an http(s):// URL or a path, without spaces, quotes, `\\` or `$`"
        ))
    }
}

fn file_path(path: &str) -> Result<(), String> {
    if path.starts_with('/') && !has_control(path) && !has_dollar(path) {
        Ok(())
    } else {
        Err(format!(
            "file path {path:?} must be absolute, without control characters or `$`"
        ))
    }
}

/// RFC 6265 cookie-name token.
pub fn cookie_name(name: &str) -> Result<(), String> {
    let ok = !name.is_empty()
        && name.len() <= 256
        && name
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"!#$%&'*+-.^_`|~".contains(&b));
    if ok {
        Ok(())
    } else {
        Err(format!(
            "sticky cookie name {name:?} is not a valid cookie name"
        ))
    }
}

pub fn upstream_name(name: &str) -> Result<(), String> {
    let ok = !name.is_empty()
        && name.len() <= 200
        && name
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_');
    if ok {
        Ok(())
    } else {
        Err(format!(
            "upstream name {name:?} must be non-empty [a-z0-9_]"
        ))
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
            out.push(problem(skey(), "port 0 cannot be proxied to".into()));
        }
        if s.weight == 0 {
            out.push(problem(skey(), "weight must be at least 1".into()));
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
            "the HTTP port must not be 0".into(),
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
    if has_control(&c.server_info) || has_dollar(&c.server_info) {
        out.push(problem(
            "cluster.server-info".into(),
            format!(
                "{:?} must not contain control characters or `$`",
                c.server_info
            ),
        ));
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
            out.push(problem(key(), "host appears twice".into()));
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
                "two different upstreams share this name".into(),
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn host_names() {
        for ok in [
            "a.com",
            "demo.local",
            "*.example.org",
            "xn--bcher-kva.example",
            "my_svc",
            "a-b.c",
        ] {
            assert_eq!(host_name(ok), Ok(()), "{ok}");
        }
        for bad in [
            "",
            "A.com",
            "a.com;} server {",
            "a com",
            "a..com",
            "a.com.",
            "*",
            "a.*.com",
            "~regex",
            "a.com\n",
            "host:80",
            "_",
            "${x}",
            &"a".repeat(64),
        ] {
            assert!(host_name(bad).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn paths() {
        for ok in [
            "/",
            "/app",
            "/app/",
            "/a-b_c.d~e",
            "/%20x",
            "/it's",
            "/a:b@c",
        ] {
            assert_eq!(url_path(ok), Ok(()), "{ok}");
        }
        for bad in [
            "", "app", "/a b", "/a;b", "/a{b", "/a}b", "/$uri", "/a\"b", "/a\nb", "/a\\b", "/a#b",
            "/a?b",
        ] {
            assert!(url_path(bad).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn normalized_roots() {
        for (input, want) in [
            ("/app", "/app"),
            ("/app/", "/app"),
            ("/", "/"),
            ("//", "/"),
            ("/a/b//", "/a/b"),
        ] {
            assert_eq!(normalize_root(input), want);
        }
    }

    #[test]
    fn redirect_targets() {
        for ok in [
            "https://new.example.com",
            "http://a.b:8080/x",
            "/elsewhere",
            "https://a.b/?q=1&r=2;x",
        ] {
            assert_eq!(redirect_target(ok), Ok(()), "{ok}");
        }
        for bad in [
            "",
            "ftp://x",
            "https://",
            "http:///x",
            "https://a b",
            "https://x\n",
            "https://$host",
            "https://a\";",
            "example.com",
            "https://a'b",
        ] {
            assert!(redirect_target(bad).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn cookie_names() {
        for ok in ["session", "JSESSIONID", "connect.sid", "a-b", "x$y"] {
            assert_eq!(cookie_name(ok), Ok(()), "{ok}");
        }
        for bad in ["", "a b", "a;b", "a=b", "a\"b", "a{b", "a\nb"] {
            assert!(cookie_name(bad).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn upstream_names() {
        assert_eq!(upstream_name("demo_local"), Ok(()));
        for bad in ["", "Demo", "a-b", "a;b", "a b"] {
            assert!(upstream_name(bad).is_err(), "{bad:?}");
        }
    }
}
