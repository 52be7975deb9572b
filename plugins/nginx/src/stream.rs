//! The top-level stream{} block (reference §4.1 item 6): one public TLS
//! listener routes by SNI to a loopback port (see [`crate::ports`]):
//! terminated hosts to the http servers' shared TLS port, passthrough hosts to
//! a port that strips the PROXY header, reads SNI again and relays raw TLS to
//! the host's servers.

use sluice_plugin_kit::Upstream;

use crate::hash_size;
use crate::http::access_log_args;
use crate::ports::Loopback;
use crate::settings::Config;
use crate::upstream::write_stream_upstream;
use crate::writer::Conf;

pub enum Hop<'a> {
    /// Terminated by the http servers on the shared TLS port.
    Terminated,
    /// Relay raw TLS to this upstream.
    Passthrough(&'a Upstream),
}

/// One host reachable through the SNI router.
pub struct Route<'a> {
    pub host: &'a str,
    pub hop: Hop<'a>,
}

/// Words `map` reads as its own parameters, not as source values.
const MAP_PARAMETERS: &[&str] = &["default", "hostnames", "include", "volatile"];

const ROUTE_VARIABLE: &str = "$sluice_tls_backend";
const PASSTHROUGH_VARIABLE: &str = "$sluice_passthrough";

const LOG_FORMAT: &str = "'$remote_addr [$time_local] $protocol $status $bytes_sent $bytes_received \
$session_time \"$ssl_preread_server_name\" \"$upstream_addr\"'";

/// Nothing is written without TLS routes or `TCPOptions`, so clusters
/// without TLS need no stream module. `default_tls`: TLS names no route has
/// go to the terminated port's default server (else their connections are
/// closed).
pub fn write(
    c: &mut Conf,
    routes: &[Route],
    default_tls: bool,
    loopback: Loopback,
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
            write_sni_router(c, routes, default_tls, loopback, https_port, cfg);
        }
    });
}

/// A `map` of SNI names (`hostnames`: `*.example.com` matches as in
/// server_name) to `value(route)`, for the routes it gives one.
fn write_sni_map<'a>(
    c: &mut Conf,
    variable: &str,
    default: Option<String>,
    routes: &'a [Route<'a>],
    value: impl Fn(&'a Route<'a>) -> Option<String>,
) {
    c.block(
        format_args!("map $ssl_preread_server_name {variable}"),
        |c| {
            c.line("hostnames;");
            if let Some(d) = default {
                c.directive("default", [d]);
            }
            for r in routes {
                let Some(v) = value(r) else { continue };
                // A host named like one of map's own parameters is escaped.
                if MAP_PARAMETERS.contains(&r.host) {
                    c.directive(&format!("\\{}", r.host), [v]);
                } else {
                    c.directive(r.host, [v]);
                }
            }
        },
    );
}

fn write_sni_router(
    c: &mut Conf,
    routes: &[Route],
    default_tls: bool,
    loopback: Loopback,
    https_port: u16,
    cfg: &Config,
) {
    // Both maps share the stream level's hash sizes. A 64-byte bucket
    // holds one ~30-character name: from ~1,500 names nginx then finds no
    // hash within any max size and warns "could not build optimal map_hash";
    // once the max size must grow, buckets hold two.
    let max = hash_size::max_size(routes.len(), 2048);
    let floor = if max.is_some() { 128 } else { 64 };
    let bucket = hash_size::bucket_size(routes.iter().map(|r| r.host), floor);
    if bucket > 64 {
        c.directive("map_hash_bucket_size", [bucket.to_string()]);
    }
    if let Some(max) = max {
        c.directive("map_hash_max_size", [max.to_string()]);
    }
    let terminated = format!("127.0.0.1:{}", loopback.terminated);
    let passthrough = format!("127.0.0.1:{}", loopback.passthrough);
    write_sni_map(
        c,
        ROUTE_VARIABLE,
        default_tls.then(|| terminated.clone()),
        routes,
        |r| {
            Some(match r.hop {
                Hop::Terminated => terminated.clone(),
                Hop::Passthrough(_) => passthrough.clone(),
            })
        },
    );
    let mut written: Vec<&str> = Vec::new();
    for r in routes {
        let Hop::Passthrough(u) = r.hop else { continue };
        if !written.contains(&u.name.as_str()) {
            write_stream_upstream(c, &u.name, u, cfg);
            written.push(&u.name);
        }
    }
    if !written.is_empty() {
        // The upstream's name: `proxy_pass $variable` looks it up among the
        // upstream blocks above (and nothing else resolves: no resolver).
        write_sni_map(c, PASSTHROUGH_VARIABLE, None, routes, |r| match r.hop {
            Hop::Passthrough(u) => Some(u.name.clone()),
            Hop::Terminated => None,
        });
        c.block("server", |c| {
            c.directive("listen", [passthrough.as_str(), "proxy_protocol"]);
            c.directive("ssl_preread", ["on"]);
            c.directive("proxy_pass", [PASSTHROUGH_VARIABLE]);
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

    const LOOPBACK: Loopback = Loopback {
        terminated: 10443,
        passthrough: 10444,
    };

    /// The stream block for `routes`, with a default TLS server.
    fn written(routes: &[Route]) -> String {
        let mut c = Conf::new();
        write(
            &mut c,
            routes,
            true,
            LOOPBACK,
            443,
            &Config::from_settings(&[]),
        );
        c.finish()
    }

    #[test]
    fn no_routes_no_block() {
        let mut c = Conf::new();
        write(
            &mut c,
            &[],
            false,
            LOOPBACK,
            443,
            &Config::from_settings(&[]),
        );
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
        write(&mut c, &[], false, LOOPBACK, 443, &cfg);
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
                hop: Hop::Terminated,
            },
            Route {
                host: "secure.example.org",
                hop: Hop::Passthrough(&pt),
            },
            Route {
                host: "*.secure.example.org",
                hop: Hop::Passthrough(&pt),
            },
            Route {
                host: "default",
                hop: Hop::Terminated,
            },
        ];
        let text = written(&routes);
        let want = "\
    map $ssl_preread_server_name $sluice_tls_backend {
        hostnames;
        default 127.0.0.1:10443;
        app.example.org 127.0.0.1:10443;
        secure.example.org 127.0.0.1:10444;
        *.secure.example.org 127.0.0.1:10444;
        \\default 127.0.0.1:10443;
    }
    upstream secure {
        server 10.0.4.9:8443 weight=1;
    }
    map $ssl_preread_server_name $sluice_passthrough {
        hostnames;
        secure.example.org secure;
        *.secure.example.org secure;
    }
    server {
        listen 127.0.0.1:10444 proxy_protocol;
        ssl_preread on;
        proxy_pass $sluice_passthrough;
    }
    server {
        listen 443;
        ssl_preread on;
        proxy_pass $sluice_tls_backend;
        proxy_protocol on;
    }
}
";
        assert!(text.ends_with(want), "{text}");
    }

    #[test]
    fn terminated_only_has_no_passthrough_hop() {
        let routes = [Route {
            host: "app.example.org",
            hop: Hop::Terminated,
        }];
        let text = written(&routes);
        assert!(!text.contains("10444"), "{text}");
        assert!(!text.contains("$sluice_passthrough"), "{text}");
    }
}
