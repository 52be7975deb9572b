//! What this plugin refuses before rendering. Values end up inside JSON
//! strings, which serde_json escapes, but Caddy reads some strings again:
//! `{…}` is a placeholder in header values and paths, `*` a wildcard in path
//! matchers. Such characters are refused rather than escaped.

use std::net::IpAddr;

use crate::sluice::renderer::types::{Diagnostic, RenderInput, Severity, Upstream};

fn problem(key: &str, message: String) -> Diagnostic {
    Diagnostic {
        severity: Severity::Error,
        key: Some(key.into()),
        message,
    }
}

/// Lower-case DNS name ([a-z0-9-_] labels, A-labels included), optional `*.`.
pub fn host_name(name: &str) -> bool {
    let body = name.strip_prefix("*.").unwrap_or(name);
    name.len() <= 253
        && body.split('.').all(|l| {
            !l.is_empty()
                && l.len() <= 63
                && l.bytes()
                    .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-' || b == b'_')
        })
}

/// A URL path: `/` then unreserved, sub-delim (but `*`), `:`, `@`, `%`, `/`.
pub fn url_path(path: &str) -> bool {
    path.starts_with('/')
        && path.len() <= 1024
        && path
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || "-._~!$&'()+,;=:@%/".contains(c))
}

/// http(s) URL or path, printable ASCII without quotes, spaces, braces.
pub fn redirect_target(t: &str) -> bool {
    let rest = t
        .strip_prefix("https://")
        .or_else(|| t.strip_prefix("http://"));
    let prefix_ok = match rest {
        Some(r) => !r.is_empty() && !r.starts_with('/'),
        None => t.starts_with('/'),
    };
    prefix_ok
        && t.len() <= 2048
        && t.bytes()
            .all(|b| b.is_ascii_graphic() && !b"\"'\\{}<>`".contains(&b))
}

/// RFC 6265 cookie-name token.
pub fn cookie_name(n: &str) -> bool {
    !n.is_empty()
        && n.len() <= 256
        && n.bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"!#$%&'*+-.^_`|~".contains(&b))
}

fn file_path(p: &str) -> bool {
    p.starts_with('/') && !p.chars().any(|c| c.is_control() || c == '{' || c == '}')
}

fn upstream(out: &mut Vec<Diagnostic>, host: &str, u: &Upstream) {
    if let Some(c) = &u.sticky_cookie
        && !cookie_name(c)
    {
        out.push(problem(
            "com.docker.lb.sticky_session_cookie",
            format!("host {host}: cookie name {c:?} is not an RFC 6265 token"),
        ));
    }
    for s in &u.servers {
        if s.address.parse::<IpAddr>().is_err() || s.port == 0 || s.weight == 0 {
            out.push(problem(
                "server",
                format!(
                    "host {host}, service {:?}: {:?} port {} weight {} is not a usable server",
                    s.service, s.address, s.port, s.weight
                ),
            ));
        }
    }
}

/// Every problem in the input, each naming the label and host at fault.
pub fn input(input: &RenderInput) -> Vec<Diagnostic> {
    let mut out = Vec::new();
    let c = &input.cluster;
    if c.server_info
        .chars()
        .any(|ch| ch.is_control() || ch == '{' || ch == '}')
    {
        out.push(problem(
            "server-info",
            format!(
                "server info {:?} has control characters or braces",
                c.server_info
            ),
        ));
    }
    if let Some(d) = &input.default_backend {
        upstream(&mut out, "(default backend)", d);
    }
    for h in &input.hosts {
        if !host_name(&h.name) {
            out.push(problem(
                "com.docker.lb.hosts",
                format!("host {:?} is not a lower-case DNS name", h.name),
            ));
            continue;
        }
        if h.passthrough {
            out.push(problem(
                "com.docker.lb.ssl_passthrough",
                format!(
                    "host {}: Caddy's standard build cannot route raw TLS by SNI (it needs the caddy-l4 module)",
                    h.name
                ),
            ));
        }
        if let Some(u) = &h.upstream {
            upstream(&mut out, &h.name, u);
        }
        for r in &h.context_roots {
            if !url_path(&r.path) {
                out.push(problem(
                    "com.docker.lb.context_root",
                    format!(
                        "host {}: context root {:?} is not a plain URL path",
                        h.name, r.path
                    ),
                ));
            }
            upstream(&mut out, &h.name, &r.upstream);
        }
        for w in &h.websocket_endpoints {
            if !url_path(w) {
                out.push(problem(
                    "com.docker.lb.websocket_endpoints",
                    format!("host {}: endpoint {w:?} is not a plain URL path", h.name),
                ));
            }
        }
        for r in &h.redirects {
            if !redirect_target(&r.target) {
                out.push(problem(
                    "com.docker.lb.redirects",
                    format!(
                        "host {}: redirect target {:?} is not an http(s) URL or path",
                        h.name, r.target
                    ),
                ));
            }
        }
        if let Some(t) = &h.tls {
            let bad =
                !file_path(&t.cert_path) || t.key_path.as_deref().is_some_and(|k| !file_path(k));
            if bad {
                out.push(problem(
                    "com.docker.lb.ssl_cert",
                    format!(
                        "host {}: certificate or key path is not an absolute file path",
                        h.name
                    ),
                ));
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn values() {
        type Check = fn(&str) -> bool;
        let cases: &[(&str, Check, &[&str], &[&str])] = &[
            (
                "host",
                host_name,
                &["a.example", "xn--bcher-kva.example", "*.a.b"],
                &["A.b", "a b", "a;b", "a.b\n", "a}"],
            ),
            (
                "path",
                url_path,
                &["/", "/api/v2", "/a;b"],
                &["", "a", "/a b", "/a*", "/{x}", "/a\"b", "/a#b"],
            ),
            (
                "target",
                redirect_target,
                &["https://a.b/x", "/y"],
                &["ftp://x", "https://a b", "https://{host}", "x"],
            ),
            (
                "cookie",
                cookie_name,
                &["session", "a#b"],
                &["", "a b", "a;b", "a=b", "a\"b"],
            ),
        ];
        for (name, check, good, bad) in cases {
            for g in *good {
                assert!(check(g), "{name} should accept {g:?}");
            }
            for b in *bad {
                assert!(!check(b), "{name} should refuse {b:?}");
            }
        }
    }
}
