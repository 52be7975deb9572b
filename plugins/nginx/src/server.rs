//! http `server` blocks: the catch-all default server, and each host's plain
//! HTTP server and loopback TLS-terminating server.

use sluice_plugin_kit::{BackendProtocol, Host, TlsFiles, TlsVerify, Upstream};

use crate::http::{PROXY_HEADERS, write_info_headers};
use crate::policy::{self, Policies};
use crate::quote::{Arg, Quoted, quoted};
use crate::routes::{Action, Body, Location};
use crate::settings::Config;
use crate::writer::{Conf, Piece};

const UNAVAILABLE_PAGE: &str = "<html><head><title>503 Service Unavailable</title></head>\
<body><h1>503 Service Unavailable</h1><p>No service is available for this host.</p></body></html>";

/// What the proxied locations of one render share.
#[derive(Clone, Copy)]
pub struct Site<'a> {
    pub cfg: &'a Config,
    pub policies: &'a Policies<'a>,
    /// For the info headers a location with headers of its own repeats.
    pub server_info: &'a str,
}

/// A location's lines that proxy to `upstream`: its policy (if any), then
/// `proxy_pass` (or `grpc_pass`). `tls`: the location serves TLS.
fn write_proxied(
    c: &mut Conf,
    upstream: &Upstream,
    uri: Option<&str>,
    websocket: bool,
    site: Site,
    tls: bool,
) {
    let Some(p) = site.policies.get(&upstream.name) else {
        write_proxy(c, upstream, uri, websocket, site.cfg);
        return;
    };
    policy::write(c, p, tls, |c| {
        write_info_headers(c, site.cfg, site.server_info)
    });
    if p.protocol == BackendProtocol::Grpc && !upstream.servers.is_empty() {
        // gRPC paths are the method's: no context-root rewrite applies.
        let scheme = if upstream.tls { "grpcs" } else { "grpc" };
        c.directive("grpc_pass", [Arg(&[scheme, "://", &upstream.name])]);
        if upstream.tls {
            c.directive("grpc_ssl_server_name", ["on"]);
            c.directive("grpc_ssl_name", ["$host"]);
            if upstream.tls_verify == TlsVerify::Required {
                c.directive("grpc_ssl_verify", ["on"]);
                c.directive(
                    "grpc_ssl_trusted_certificate",
                    [quoted(&site.cfg.trusted_certificate)],
                );
            }
        }
        return;
    }
    // Request headers of its own made `policy::write` repeat the inherited
    // proxy headers already; the websocket ones come after.
    let repeated = !p.request_headers.is_empty();
    write_pass(c, upstream, uri, websocket, site.cfg, !repeated);
}

/// Lines that send the request to `upstream`. An upstream without servers
/// has no block (nginx refuses empty ones), so it answers 503.
pub fn write_proxy(
    c: &mut Conf,
    upstream: &Upstream,
    uri: Option<&str>,
    websocket: bool,
    cfg: &Config,
) {
    write_pass(c, upstream, uri, websocket, cfg, true);
}

/// [`write_proxy`]; `proxy_headers`: whether a websocket location repeats
/// the inherited proxy headers (false when the location already has).
fn write_pass(
    c: &mut Conf,
    upstream: &Upstream,
    uri: Option<&str>,
    websocket: bool,
    cfg: &Config,
    proxy_headers: bool,
) {
    if upstream.servers.is_empty() {
        c.directive("return", ["503"]);
        return;
    }
    let scheme = if upstream.tls { "https" } else { "http" };
    c.directive(
        "proxy_pass",
        [Arg(&[scheme, "://", &upstream.name, uri.unwrap_or("")])],
    );
    if upstream.tls {
        c.directive("proxy_ssl_server_name", ["on"]);
        c.directive("proxy_ssl_name", ["$host"]);
        if upstream.tls_verify == TlsVerify::Required {
            c.directive("proxy_ssl_verify", ["on"]);
            c.directive(
                "proxy_ssl_trusted_certificate",
                [quoted(&cfg.trusted_certificate)],
            );
            c.directive("proxy_ssl_verify_depth", ["4"]);
        } else {
            c.directive("proxy_ssl_verify", ["off"]);
        }
    }
    if websocket {
        // A location that sets any proxy_set_header inherits none from http{}.
        c.directive("proxy_http_version", ["1.1"]);
        if proxy_headers {
            for (name, value) in PROXY_HEADERS {
                c.directive("proxy_set_header", [*name, *value]);
            }
        }
        c.directive("proxy_set_header", ["Upgrade", "$http_upgrade"]);
        c.directive("proxy_set_header", ["Connection", "$connection_upgrade"]);
    }
}

fn write_location(c: &mut Conf, loc: &Location, site: Site, tls: bool) {
    let exact = if loc.exact { "= " } else { "" };
    let head = ("location ", exact, Arg(&[&loc.path]));
    c.block(head, |c| match &loc.action {
        Action::Proxy {
            upstream,
            uri,
            websocket,
        } => write_proxied(c, upstream, uri.as_deref(), *websocket, site, tls),
        Action::SlashRedirect(target) => c.directive(
            "return",
            ["301".into(), quoted(&format!("{target}$is_args$args"))],
        ),
        Action::NotFound => c.directive("return", ["404"]),
    });
}

fn write_body(c: &mut Conf, body: &Body, site: Site, tls: bool) {
    match body {
        Body::Redirect(target) => c.directive(
            "return",
            ["302".into(), quoted(&format!("{target}$request_uri"))],
        ),
        Body::Locations(locs) => {
            for loc in locs {
                write_location(c, loc, site, tls);
            }
        }
    }
}

/// The server for requests naming no known host: the default backend, or a
/// 503 page plus `/nginx_status` for health checks.
pub fn write_default_server(
    c: &mut Conf,
    http_port: u16,
    default_backend: Option<&Upstream>,
    site: Site,
) {
    c.block("server", |c| {
        c.directive("listen", [http_port.to_string(), "default_server".into()]);
        c.directive("server_name", ["_"]);
        write_default_locations(c, default_backend, site, false);
    });
}

/// The shared TLS port's default server, for TLS names (and Host headers) no
/// host has: the cluster's first certificate, as HAProxy's first crt-list
/// line, and then what the HTTP port's default server does.
pub fn write_default_tls_server(
    c: &mut Conf,
    port: u16,
    tls: &TlsFiles,
    default_backend: Option<&Upstream>,
    site: Site,
) {
    c.block("server", |c| {
        write_tls_listen(c, port, tls, true, site.cfg);
        c.directive("server_name", ["_"]);
        write_default_locations(c, default_backend, site, true);
    });
}

/// On the shared TLS port, the names whose TLS passes through to their own
/// servers: a request naming one arrived on a connection a client reused
/// for it (HTTP/2 coalescing: the certificate it saw covers that name too),
/// and 421 makes the client retry on a connection of its own, which the SNI
/// router then passes through.
pub fn write_misdirected_server(
    c: &mut Conf,
    port: u16,
    tls: &TlsFiles,
    names: &[&str],
    cfg: &Config,
) {
    c.block("server", |c| {
        write_tls_listen(c, port, tls, false, cfg);
        c.directive("server_name", names.iter().copied());
        c.directive("return", ["421"]);
    });
}

fn write_default_locations(
    c: &mut Conf,
    default_backend: Option<&Upstream>,
    site: Site,
    tls: bool,
) {
    match default_backend {
        Some(u) => c.block("location /", |c| {
            write_proxied(c, u, None, false, site, tls)
        }),
        None => {
            c.block("location /", |c| {
                c.directive("default_type", ["text/html"]);
                c.directive("return", ["503".into(), quoted(UNAVAILABLE_PAGE)]);
            });
            c.block("location /nginx_status", |c| {
                c.line("stub_status;");
                c.directive("access_log", ["off"]);
            });
        }
    }
}

/// The shared loopback `ssl proxy_protocol` listener behind the SNI router
/// (HTTP/2 offered by ALPN unless `HTTP2 = false`), with the client's address
/// taken from the PROXY header.
fn write_tls_listen(c: &mut Conf, port: u16, tls: &TlsFiles, default: bool, cfg: &Config) {
    let address = ("127.0.0.1:", port);
    let mut args: Vec<&dyn Piece> = vec![&address, &"ssl"];
    if cfg.http2 {
        args.push(&"http2");
    }
    args.push(&"proxy_protocol");
    if default {
        args.push(&"default_server");
    }
    c.directive("listen", args);
    c.directive("ssl_certificate", [Quoted(&[&tls.cert_path])]);
    // No key file: the certificate file is a combined PEM holding the key.
    let key = tls.key_path.as_deref().unwrap_or(&tls.cert_path);
    c.directive("ssl_certificate_key", [Quoted(&[key])]);
    c.directive("set_real_ip_from", ["127.0.0.1/32"]);
    c.directive("real_ip_header", ["proxy_protocol"]);
}

/// The host's server on the HTTP port.
pub fn write_http_server(c: &mut Conf, host: &Host, body: &Body, http_port: u16, site: Site) {
    c.block("server", |c| {
        c.directive("listen", [http_port]);
        c.directive("server_name", [host.name.as_str()]);
        write_body(c, body, site, false);
    });
}

/// The host's TLS-terminating server, reached from the stream SNI router on
/// the shared loopback port with a PROXY header carrying the client address.
pub fn write_tls_server(c: &mut Conf, host: &Host, body: &Body, port: u16, site: Site) {
    let Some(tls) = &host.tls else { return };
    c.block("server", |c| {
        write_tls_listen(c, port, tls, false, site.cfg);
        c.directive("server_name", [host.name.as_str()]);
        write_body(c, body, site, true);
    });
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::routes::{Scheme, body};
    use crate::tests::fixtures::{host, redirect, tls_files, upstream};

    fn cfg() -> Config {
        Config::from_settings(&[])
    }

    fn site<'a>(cfg: &'a Config, policies: &'a Policies<'a>) -> Site<'a> {
        Site {
            cfg,
            policies,
            server_info: "sluice/test",
        }
    }

    #[test]
    fn proxy_lines() {
        let mut plain = upstream("a", &[("10.0.0.1", 80)]);
        let mut c = Conf::new();
        write_proxy(&mut c, &plain, None, false, &cfg());
        assert_eq!(c.finish(), "proxy_pass http://a;\n");

        plain.tls = true;
        plain.tls_verify = TlsVerify::None;
        let mut c = Conf::new();
        write_proxy(&mut c, &plain, Some("/"), false, &cfg());
        assert_eq!(
            c.finish(),
            "proxy_pass https://a/;\nproxy_ssl_server_name on;\nproxy_ssl_name $host;\nproxy_ssl_verify off;\n"
        );

        plain.tls_verify = TlsVerify::Required;
        let mut c = Conf::new();
        write_proxy(&mut c, &plain, None, true, &cfg());
        let text = c.finish();
        for want in [
            "proxy_pass https://a;",
            "proxy_ssl_verify on;",
            "proxy_ssl_trusted_certificate \"/etc/ssl/certs/ca-certificates.crt\";",
            "proxy_http_version 1.1;",
            "proxy_set_header Upgrade $http_upgrade;",
            "proxy_set_header Connection $connection_upgrade;",
            "proxy_set_header X-Real-IP $remote_addr;",
            "proxy_set_header Host $http_host;",
        ] {
            assert!(
                text.lines().any(|l| l == want),
                "missing {want:?} in\n{text}"
            );
        }

        let empty = upstream("e", &[]);
        let mut c = Conf::new();
        write_proxy(&mut c, &empty, None, false, &cfg());
        assert_eq!(c.finish(), "return 503;\n");
    }

    #[test]
    fn http_redirect_server() {
        let mut h = host("old.com");
        h.redirects = vec![redirect(Some("http"), "https://new.com/")];
        let mut c = Conf::new();
        let (cfg, none) = (cfg(), Policies::default());
        write_http_server(&mut c, &h, &body(&h, Scheme::Http).0, 80, site(&cfg, &none));
        assert_eq!(
            c.finish(),
            "server {\n    listen 80;\n    server_name old.com;\n    return 302 \"https://new.com$request_uri\";\n}\n"
        );
    }

    #[test]
    fn tls_server_with_combined_pem() {
        let mut h = host("a.com");
        h.upstream = Some(upstream("a", &[("10.0.0.1", 80)]));
        h.tls = Some(tls_files("/run/secrets/a.pem", None));
        let mut c = Conf::new();
        let (cfg, none) = (cfg(), Policies::default());
        write_tls_server(
            &mut c,
            &h,
            &body(&h, Scheme::Https).0,
            10443,
            site(&cfg, &none),
        );
        let text = c.finish();
        assert!(
            text.contains("listen 127.0.0.1:10443 ssl http2 proxy_protocol;"),
            "{text}"
        );
        assert!(
            text.contains("ssl_certificate \"/run/secrets/a.pem\";"),
            "{text}"
        );
        assert!(
            text.contains("ssl_certificate_key \"/run/secrets/a.pem\";"),
            "{text}"
        );
        assert!(
            text.contains("location / {\n        proxy_pass http://a;"),
            "{text}"
        );
    }
}
