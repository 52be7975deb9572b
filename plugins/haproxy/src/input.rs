//! Refuses render input that cannot be written into haproxy.cfg safely.
//! Every diagnostic names the label (or cluster field) and the host at fault.

use sluice_plugin_kit::{Diagnostic, Host, RenderInput, Upstream};

use crate::check::{self, invalid};

pub fn check(input: &RenderInput) -> Vec<Diagnostic> {
    let mut d = Vec::new();
    let c = &input.cluster;
    if let Err(e) = check::file_path(&c.config_path) {
        d.push(invalid("ProxyConfigPath", format!("config path: {e}")));
    }
    if c.http_port == 0 {
        d.push(invalid("TargetPort", "the HTTP port must not be 0"));
    }
    if c.https_port == 0 {
        d.push(invalid("TargetSSLPort", "the TLS port must not be 0"));
    }
    let uses_tls = input.hosts.iter().any(|h| h.passthrough || h.tls.is_some());
    if uses_tls && c.http_port == c.https_port {
        d.push(invalid(
            "TargetSSLPort",
            format!("the TLS port equals the HTTP port ({})", c.http_port),
        ));
    }
    if let Err(e) = check::plain_text(&c.server_info) {
        d.push(invalid("server-info", format!("server info {e}")));
    }
    if let Some(up) = &input.default_backend {
        upstream(&mut d, "default_backend", up);
    }
    for h in &input.hosts {
        host(&mut d, h);
    }
    d
}

fn host(d: &mut Vec<Diagnostic>, h: &Host) {
    if let Err(e) = check::host_name(&h.name) {
        d.push(invalid("com.docker.lb.hosts", e));
        // Later messages would only repeat the bad name.
        return;
    }
    let at = |e: String| format!("host {}: {e}", h.name);
    if let Some(up) = &h.upstream {
        upstream(d, &h.name, up);
    }
    for ctx in &h.context_roots {
        if let Err(e) = check::url_path(&ctx.path) {
            d.push(invalid("com.docker.lb.context_root", at(e.into())));
        }
        upstream(d, &h.name, &ctx.upstream);
    }
    for ws in &h.websocket_endpoints {
        if let Err(e) = check::url_path(ws) {
            d.push(invalid("com.docker.lb.websocket_endpoints", at(e.into())));
        }
    }
    for r in &h.redirects {
        if let Err(e) = check::redirect_target(&r.target) {
            d.push(invalid("com.docker.lb.redirects", at(e.into())));
        }
        if let Some(s) = &r.scheme
            && !s.eq_ignore_ascii_case("http")
            && !s.eq_ignore_ascii_case("https")
        {
            d.push(invalid(
                "com.docker.lb.redirects",
                at(format!("redirect scheme {s:?} is neither http nor https")),
            ));
        }
    }
    if let Some(tls) = &h.tls
        && let Err(e) = check::file_path(&tls.cert_path)
    {
        d.push(invalid(
            "com.docker.lb.ssl_cert",
            at(format!("certificate {e}")),
        ));
    }
}

fn upstream(d: &mut Vec<Diagnostic>, owner: &str, up: &Upstream) {
    let at = |e: String| format!("{owner}: {e}");
    if let Err(e) = check::upstream_name(&up.name) {
        d.push(invalid("upstream", at(e.into())));
    }
    if let Some(cookie) = &up.sticky_cookie
        && let Err(e) = check::cookie_name(cookie)
    {
        d.push(invalid("com.docker.lb.sticky_session_cookie", at(e.into())));
    }
    for s in &up.servers {
        if s.address.parse::<std::net::IpAddr>().is_err() {
            d.push(invalid(
                "com.docker.lb.port",
                at(format!(
                    "server address {:?} of service {} is not an IP address",
                    s.address, s.service
                )),
            ));
        }
        if s.port == 0 {
            d.push(invalid(
                "com.docker.lb.port",
                at(format!(
                    "server {} of service {} has port 0",
                    s.address, s.service
                )),
            ));
        }
    }
}
