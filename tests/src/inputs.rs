//! Render inputs built in code, for tests that exercise the plugin host
//! without going through the planner.

use ::sluice::wit::latest::{
    Cluster, RenderInput, Server, Setting, TlsVerify, Upstream, VirtualHost,
};

fn server(address: &str, port: u16, service: &str) -> Server {
    Server {
        address: address.into(),
        port,
        weight: 1,
        max_fails: None,
        fail_timeout_seconds: None,
        service: service.into(),
    }
}

/// An upstream named `name` with the given servers.
pub fn upstream(name: &str, servers: &[(&str, u16)]) -> Upstream {
    Upstream {
        name: name.into(),
        servers: servers.iter().map(|(a, p)| server(a, *p, name)).collect(),
        sticky_cookie: None,
        ip_hash: false,
        tls: false,
        tls_verify: TlsVerify::None,
    }
}

/// A plain host routed to `up`.
pub fn host(name: &str, up: Upstream) -> VirtualHost {
    VirtualHost {
        name: name.into(),
        upstream: Some(up),
        context_roots: vec![],
        websocket_endpoints: vec![],
        redirects: vec![],
        tls: None,
        passthrough: false,
    }
}

/// Cluster "east" on ports 80/443 with the given config path and settings.
pub fn cluster(config_path: &str, settings: Vec<Setting>) -> Cluster {
    Cluster {
        name: "east".into(),
        service_cluster: "east".into(),
        http_port: 80,
        https_port: 443,
        config_path: config_path.into(),
        settings,
        server_info: "sluice/test".into(),
    }
}

/// One host, `demo.local`, with one server.
pub fn one_host(config_path: &str) -> RenderInput {
    RenderInput {
        cluster: cluster(config_path, vec![]),
        hosts: vec![host(
            "demo.local",
            upstream("demo_local", &[("10.0.0.5", 8000)]),
        )],
        default_backend: None,
    }
}
