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

// The value rules are Sluice's own (the crate the host checks labels with),
// so this plugin refuses nothing the host accepted; each is strict enough for
// Caddy's placeholders (`{}`) and path wildcards (`*`).
use sluice_input_rules::{
    cookie_name, file_path, host_name, plain_text, redirect_target, url_path,
};

fn upstream(out: &mut Vec<Diagnostic>, host: &str, u: &Upstream) {
    if let Some(c) = &u.sticky_cookie
        && let Err(e) = cookie_name(c)
    {
        out.push(problem(
            "com.docker.lb.sticky_session_cookie",
            format!("host {host}: {e}"),
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
    if let Err(e) = plain_text(&c.server_info) {
        out.push(problem("server-info", format!("server info {e}")));
    }
    if let Some(d) = &input.default_backend {
        upstream(&mut out, "(default backend)", d);
    }
    for h in &input.hosts {
        if let Err(e) = host_name(&h.name) {
            out.push(problem("com.docker.lb.hosts", e.to_string()));
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
            if let Err(e) = url_path(&r.path) {
                out.push(problem(
                    "com.docker.lb.context_root",
                    format!("host {}: {e}", h.name),
                ));
            }
            upstream(&mut out, &h.name, &r.upstream);
        }
        for w in &h.websocket_endpoints {
            if let Err(e) = url_path(w) {
                out.push(problem(
                    "com.docker.lb.websocket_endpoints",
                    format!("host {}: {e}", h.name),
                ));
            }
        }
        for r in &h.redirects {
            if let Err(e) = redirect_target(&r.target) {
                out.push(problem(
                    "com.docker.lb.redirects",
                    format!("host {}: {e}", h.name),
                ));
            }
        }
        if let Some(t) = &h.tls {
            let bad = file_path(&t.cert_path).is_err()
                || t.key_path.as_deref().is_some_and(|k| file_path(k).is_err());
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

    /// The shared rules hold Caddy's own needs: no placeholders, no wildcards.
    #[test]
    fn values_caddy_would_misread_are_refused() {
        assert!(url_path("/a*").is_err());
        assert!(url_path("/{x}").is_err());
        assert!(redirect_target("https://{host}").is_err());
        assert!(file_path("/a{b}").is_err());
        assert!(plain_text("a{b}").is_err());
        assert!(host_name("a}").is_err());
    }
}
