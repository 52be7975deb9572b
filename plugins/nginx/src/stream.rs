//! The top-level stream{} block (reference §4.1 item 6): one public TLS
//! listener routes by SNI to a loopback port per host; terminated hosts' ports
//! are http servers, passthrough hosts' ports strip the PROXY header and relay
//! raw TLS to the host's servers.

use sluice_plugin_kit::Upstream;

use crate::hash_size;
use crate::http::access_log_args;
use crate::settings::Config;
use crate::upstream::write_stream_upstream;
use crate::writer::Conf;

pub enum Hop<'a> {
    /// A TLS-terminating http server listens on the port.
    Terminated,
    /// Relay raw TLS to this upstream.
    Passthrough(&'a Upstream),
}

/// One host reachable through the SNI router.
pub struct Route<'a> {
    pub host: &'a str,
    pub port: u16,
    pub hop: Hop<'a>,
}

/// Words `map` reads as its own parameters, not as source values.
const MAP_PARAMETERS: &[&str] = &["default", "hostnames", "include", "volatile"];

const ROUTE_VARIABLE: &str = "$sluice_tls_backend";

const LOG_FORMAT: &str = "'$remote_addr [$time_local] $protocol $status $bytes_sent $bytes_received \
$session_time \"$ssl_preread_server_name\" \"$upstream_addr\"'";

/// Nothing is written without TLS routes or `TCPOptions`, so clusters
/// without TLS need no stream module. `default_port`: where TLS names no
/// route has go (else their connections are closed).
pub fn write(
    c: &mut Conf,
    routes: &[Route],
    default_port: Option<u16>,
    https_port: u16,
    cfg: &Config,
) {
    if routes.is_empty() && cfg.tcp_options.is_empty() {
        return;
    }
    c.block("stream", |c| {
        c.line(&format!("log_format stream {LOG_FORMAT};"));
        c.directive(
            "access_log",
            access_log_args(&cfg.access_log_path, "stream"),
        );
        for line in &cfg.tcp_options {
            c.line(line);
        }
        if !routes.is_empty() {
            write_sni_router(c, routes, default_port, https_port, cfg);
        }
    });
}

fn write_sni_router(
    c: &mut Conf,
    routes: &[Route],
    default_port: Option<u16>,
    https_port: u16,
    cfg: &Config,
) {
    let bucket = hash_size::bucket_size(routes.iter().map(|r| r.host), 64);
    if bucket > 64 {
        c.directive("map_hash_bucket_size", [bucket.to_string()]);
    }
    if let Some(max) = hash_size::max_size(routes.len(), 2048) {
        c.directive("map_hash_max_size", [max.to_string()]);
    }
    c.block(
        format_args!("map $ssl_preread_server_name {ROUTE_VARIABLE}"),
        |c| {
            // `hostnames` lets `*.example.com` hosts match as in server_name.
            c.line("hostnames;");
            if let Some(port) = default_port {
                c.directive("default", [("127.0.0.1:", port)]);
            }
            for r in routes {
                // A host named like one of map's own parameters is escaped.
                if MAP_PARAMETERS.contains(&r.host) {
                    let escaped = format!("\\{}", r.host);
                    c.directive(&escaped, [("127.0.0.1:", r.port)]);
                } else {
                    c.directive(r.host, [("127.0.0.1:", r.port)]);
                }
            }
        },
    );
    let mut written: Vec<&str> = Vec::new();
    for r in routes {
        let Hop::Passthrough(u) = r.hop else { continue };
        if !written.contains(&u.name.as_str()) {
            write_stream_upstream(c, &u.name, u, cfg);
            written.push(&u.name);
        }
        c.block("server", |c| {
            c.directive(
                "listen",
                [format!("127.0.0.1:{}", r.port), "proxy_protocol".into()],
            );
            c.directive("proxy_pass", [u.name.as_str()]);
        });
    }
    c.block("server", |c| {
        c.directive("listen", [https_port.to_string()]);
        c.directive("ssl_preread", ["on"]);
        c.directive("proxy_pass", [ROUTE_VARIABLE]);
        c.directive("proxy_protocol", ["on"]);
    });
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::tests::fixtures::upstream;

    #[test]
    fn no_routes_no_block() {
        let mut c = Conf::new();
        write(&mut c, &[], None, 443, &Config::from_settings(&[]));
        assert_eq!(c.finish(), "");
    }

    #[test]
    fn tcp_options_alone_get_a_block() {
        let cfg = Config::from_settings(&[sluice_plugin_kit::Setting {
            key: "TCPOptions".into(),
            value: sluice_plugin_kit::SettingValue::TextList(vec![
                "server { listen 5432; proxy_pass 10.0.0.1:5432; }".into(),
            ]),
        }]);
        let mut c = Conf::new();
        write(&mut c, &[], None, 443, &cfg);
        let text = c.finish();
        assert!(text.starts_with("stream {\n"), "{text}");
        assert!(
            text.contains("    server { listen 5432; proxy_pass 10.0.0.1:5432; }\n"),
            "{text}"
        );
        assert!(!text.contains("ssl_preread on"), "{text}");
    }

    #[test]
    fn routes_and_passthrough() {
        let pt = upstream("secure", &[("10.0.4.9", 8443)]);
        let routes = [
            Route {
                host: "app.example.org",
                port: 10443,
                hop: Hop::Terminated,
            },
            Route {
                host: "secure.example.org",
                port: 10444,
                hop: Hop::Passthrough(&pt),
            },
            Route {
                host: "*.secure.example.org",
                port: 10445,
                hop: Hop::Passthrough(&pt),
            },
        ];
        let mut c = Conf::new();
        write(
            &mut c,
            &routes,
            Some(10446),
            443,
            &Config::from_settings(&[]),
        );
        let text = c.finish();
        for want in [
            "        default 127.0.0.1:10446;",
            "        app.example.org 127.0.0.1:10443;",
            "        secure.example.org 127.0.0.1:10444;",
            "        *.secure.example.org 127.0.0.1:10445;",
            "        server 10.0.4.9:8443 weight=1;",
            "        listen 127.0.0.1:10444 proxy_protocol;",
            "        listen 127.0.0.1:10445 proxy_protocol;",
            "        proxy_pass secure;",
            "        listen 443;",
            "        proxy_pass $sluice_tls_backend;",
        ] {
            assert!(
                text.lines().any(|l| l == want),
                "missing {want:?} in\n{text}"
            );
        }
        assert_eq!(
            text.matches("upstream secure {").count(),
            1,
            "shared upstream written once"
        );
    }
}
