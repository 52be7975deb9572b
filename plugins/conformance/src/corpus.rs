//! The built-in route sets every renderer is run on: the smallest inputs, each
//! feature of the data model on its own and all together, and a large cluster.

use sluice_render::wit::latest::{
    Cluster, ContextRoot, Redirect, RenderInput, Server, Setting, TlsFiles, TlsVerify, Upstream,
    VirtualHost,
};

/// One route set.
#[derive(Clone, Debug)]
pub struct Case {
    pub name: String,
    pub input: RenderInput,
    /// Must render; other cases may be refused with a diagnostic (a proxy
    /// without some feature), which the report counts.
    pub required: bool,
}

/// Number of services in the large case, unless the caller asks otherwise.
pub const LARGE_SERVICES: usize = 10_000;

pub fn server(address: &str, port: u16, service: &str) -> Server {
    Server {
        address: address.into(),
        port,
        weight: 1,
        max_fails: None,
        fail_timeout_seconds: None,
        service: service.into(),
    }
}

pub fn upstream(name: &str, servers: Vec<Server>) -> Upstream {
    Upstream {
        name: name.into(),
        servers,
        sticky_cookie: None,
        ip_hash: false,
        tls: false,
        tls_verify: TlsVerify::None,
    }
}

/// `host` routed to one upstream named after it, with one server.
pub fn simple_host(name: &str, address: &str) -> VirtualHost {
    let up = upstream_name(name);
    VirtualHost {
        name: name.into(),
        upstream: Some(upstream(&up, vec![server(address, 8080, &up)])),
        context_roots: vec![],
        websocket_endpoints: vec![],
        redirects: vec![],
        tls: None,
        passthrough: false,
    }
}

/// The identifier form of a host name, as the planner makes it.
pub fn upstream_name(host: &str) -> String {
    host.chars()
        .map(|c| if c.is_ascii_alphanumeric() { c } else { '_' })
        .collect::<String>()
        .to_ascii_lowercase()
}

pub fn cluster(config_path: &str, settings: Vec<Setting>) -> Cluster {
    Cluster {
        name: "conformance".into(),
        service_cluster: "conformance".into(),
        http_port: 80,
        https_port: 443,
        config_path: config_path.into(),
        settings,
        server_info: format!("sluice/{} conformance", env!("CARGO_PKG_VERSION")),
    }
}

pub fn input(config_path: &str, settings: &[Setting], mut hosts: Vec<VirtualHost>) -> RenderInput {
    hosts.sort_by(|a, b| a.name.cmp(&b.name));
    RenderInput {
        cluster: cluster(config_path, settings.to_vec()),
        hosts,
        default_backend: None,
    }
}

fn context_roots() -> VirtualHost {
    let mut h = simple_host("roots.example.org", "10.1.0.1");
    h.context_roots = vec![
        ContextRoot {
            path: "/api/v2".into(),
            rewrite: true,
            upstream: upstream("roots_api", vec![server("10.1.0.2", 9000, "api")]),
        },
        ContextRoot {
            path: "/static".into(),
            rewrite: false,
            upstream: upstream("roots_static", vec![server("10.1.0.3", 80, "static")]),
        },
    ];
    h
}

fn roots_only() -> VirtualHost {
    let mut h = context_roots();
    h.name = "rootsonly.example.org".into();
    h.upstream = None;
    h
}

fn websockets() -> VirtualHost {
    let mut h = simple_host("ws.example.org", "10.2.0.1");
    h.websocket_endpoints = vec!["/socket".into(), "/live/feed".into()];
    h
}

fn redirects() -> Vec<VirtualHost> {
    let mut both = simple_host("old.example.org", "10.3.0.1");
    both.upstream = None;
    both.redirects = vec![Redirect {
        scheme: None,
        target: "https://new.example.org".into(),
    }];
    let mut by_scheme = simple_host("moved.example.org", "10.3.0.2");
    by_scheme.redirects = vec![
        Redirect {
            scheme: Some("http".into()),
            target: "https://moved.example.org".into(),
        },
        Redirect {
            scheme: Some("https".into()),
            target: "https://new.example.org/moved".into(),
        },
    ];
    by_scheme.tls = Some(TlsFiles {
        cert_path: "/run/secrets/moved.pem".into(),
        key_path: None,
    });
    // Both kinds for one host, the schemeless first: HTTP requests take the
    // one naming http (docs/plugins.md).
    let mut either = simple_host("either.example.org", "10.3.0.3");
    either.upstream = None;
    either.redirects = vec![
        Redirect {
            scheme: None,
            target: "https://any.example.org".into(),
        },
        Redirect {
            scheme: Some("http".into()),
            target: "https://named.example.org".into(),
        },
    ];
    vec![both, by_scheme, either]
}

fn tls_termination() -> Vec<VirtualHost> {
    let mut combined = simple_host("secure.example.org", "10.4.0.1");
    combined.tls = Some(TlsFiles {
        cert_path: "/run/secrets/secure.pem".into(),
        key_path: None,
    });
    let mut split = simple_host("split.example.org", "10.4.0.2");
    split.tls = Some(TlsFiles {
        cert_path: "/run/secrets/split.crt".into(),
        key_path: Some("/run/secrets/split.key".into()),
    });
    vec![combined, split]
}

fn passthrough() -> VirtualHost {
    let mut h = simple_host("pass.example.org", "10.5.0.1");
    h.passthrough = true;
    if let Some(u) = &mut h.upstream {
        u.servers[0].port = 8443;
    }
    h
}

fn backend_tls() -> Vec<VirtualHost> {
    let mut verify = simple_host("verified.example.org", "10.6.0.1");
    let mut skip = simple_host("unverified.example.org", "10.6.0.2");
    for (h, v) in [
        (&mut verify, TlsVerify::Required),
        (&mut skip, TlsVerify::None),
    ] {
        if let Some(u) = &mut h.upstream {
            u.tls = true;
            u.tls_verify = v;
            u.servers[0].port = 8443;
        }
    }
    vec![verify, skip]
}

fn sticky() -> VirtualHost {
    let mut h = simple_host("sticky.example.org", "10.7.0.1");
    if let Some(u) = &mut h.upstream {
        u.sticky_cookie = Some("session_id".into());
        u.servers
            .push(server("10.7.0.2", 8080, "sticky_example_org"));
    }
    h
}

fn ip_hash() -> VirtualHost {
    let mut h = simple_host("hash.example.org", "10.8.0.1");
    if let Some(u) = &mut h.upstream {
        u.ip_hash = true;
        u.servers.push(server("10.8.0.2", 8080, "hash_example_org"));
    }
    h
}

fn weights_and_health() -> VirtualHost {
    let mut h = simple_host("weighted.example.org", "10.9.0.1");
    if let Some(u) = &mut h.upstream {
        u.servers = vec![
            Server {
                weight: 3,
                max_fails: Some(3),
                fail_timeout_seconds: Some(10),
                ..server("10.9.0.1", 8080, "web_v1")
            },
            Server {
                weight: 1,
                max_fails: Some(3),
                fail_timeout_seconds: Some(10),
                ..server("fd00::9", 8080, "web_v2")
            },
        ];
    }
    h
}

fn empty_upstream() -> VirtualHost {
    let mut h = simple_host("empty.example.org", "10.10.0.1");
    if let Some(u) = &mut h.upstream {
        u.servers.clear();
    }
    h
}

fn default_backend() -> Upstream {
    upstream("fallback", vec![server("10.11.0.1", 8080, "fallback")])
}

fn idn_hosts() -> Vec<VirtualHost> {
    // bücher.example, 中国.中国 (pseudo), пример.com, and a wildcard.
    [
        "xn--bcher-kva.example",
        "xn--fiqs8s.xn--fiqz9s",
        "xn--e1afmkfd.com",
    ]
    .iter()
    .enumerate()
    .map(|(n, h)| simple_host(h, &format!("10.12.0.{}", n + 1)))
    .collect()
}

fn every_feature() -> (Vec<VirtualHost>, Upstream) {
    let mut hosts = vec![
        context_roots(),
        roots_only(),
        websockets(),
        passthrough(),
        sticky(),
        ip_hash(),
        weights_and_health(),
        empty_upstream(),
    ];
    hosts.extend(redirects());
    hosts.extend(tls_termination());
    hosts.extend(backend_tls());
    hosts.extend(idn_hosts());
    (hosts, default_backend())
}

/// `n` services, each with one host, two tasks, and every tenth a context root.
pub fn large(config_path: &str, settings: &[Setting], n: usize) -> RenderInput {
    let hosts = (0..n)
        .map(|i| {
            let name = format!("svc{i:05}.example.com");
            let a = |k: usize| format!("10.{}.{}.{}", 100 + k, (i >> 8) & 0xff, i & 0xff);
            let mut h = simple_host(&name, &a(0));
            if let Some(u) = &mut h.upstream {
                u.servers.push(server(&a(1), 8080, &u.name.clone()));
            }
            if i % 10 == 0 {
                let up = format!("{}_api", upstream_name(&name));
                h.context_roots.push(ContextRoot {
                    path: "/api".into(),
                    rewrite: true,
                    upstream: upstream(&up, vec![server(&a(2), 9000, &up)]),
                });
            }
            h
        })
        .collect();
    input(config_path, settings, hosts)
}

/// Every built-in case, rendered at `config_path` with `settings`.
pub fn cases(config_path: &str, settings: &[Setting], large_services: usize) -> Vec<Case> {
    let case = |name: &str, required: bool, hosts: Vec<VirtualHost>| Case {
        name: name.into(),
        input: input(config_path, settings, hosts),
        required,
    };
    let mut out = vec![
        case("empty cluster", true, vec![]),
        case(
            "one host",
            true,
            vec![simple_host("demo.example.org", "10.0.0.5")],
        ),
        case("context roots", false, vec![context_roots(), roots_only()]),
        case("websockets", false, vec![websockets()]),
        case("redirects", false, redirects()),
        case("tls termination", false, tls_termination()),
        case("tls passthrough", false, vec![passthrough()]),
        case("backend tls", false, backend_tls()),
        case("sticky cookie", false, vec![sticky()]),
        case("ip hash", false, vec![ip_hash()]),
        case("weights and health", false, vec![weights_and_health()]),
        case("empty upstream", false, vec![empty_upstream()]),
        case("idn hosts", false, idn_hosts()),
    ];
    let mut default = case(
        "default backend",
        false,
        vec![simple_host("a.example.org", "10.0.0.6")],
    );
    default.input.default_backend = Some(default_backend());
    out.push(default);
    let (hosts, fallback) = every_feature();
    let mut all = case("every feature", false, hosts);
    all.input.default_backend = Some(fallback);
    out.push(all);
    // The main file goes where the cluster says, not where the plugin likes.
    let mut moved = case(
        "custom config path",
        true,
        vec![simple_host("demo.example.org", "10.0.0.5")],
    );
    moved.input.cluster.config_path = custom_config_path(config_path);
    out.push(moved);
    out.push(Case {
        name: format!("{large_services} services"),
        input: large(config_path, settings, large_services),
        required: true,
    });
    out
}

/// Same file name as the default, in another directory.
fn custom_config_path(default: &str) -> String {
    let file = std::path::Path::new(default)
        .file_name()
        .map(|f| f.to_string_lossy().into_owned())
        .unwrap_or_else(|| "proxy.conf".into());
    format!("/srv/sluice-conformance/{file}")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cases_are_well_formed() {
        let cases = cases("/etc/proxy/proxy.conf", &[], 50);
        assert_eq!(cases.len(), 17);
        for c in &cases {
            let names: Vec<_> = c.input.hosts.iter().map(|h| &h.name).collect();
            let mut sorted = names.clone();
            sorted.sort();
            sorted.dedup();
            assert_eq!(names, sorted, "{}: hosts sorted and unique", c.name);
        }
        assert_eq!(cases.last().unwrap().input.hosts.len(), 50);
        assert_eq!(
            custom_config_path("/etc/nginx/nginx.conf"),
            "/srv/sluice-conformance/nginx.conf"
        );
    }
}
