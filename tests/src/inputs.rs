//! Render inputs built in code, for tests that exercise the plugin host
//! without going through the planner.

use ::sluice::wit::latest::{
    Cluster, ContextRoot, Redirect, RenderInput, Server, Setting, TlsFiles, TlsVerify, Upstream,
    VirtualHost,
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

/// An upstream whose servers are `(address, port, weight, service)`.
pub fn weighted_upstream(name: &str, servers: &[(&str, u16, u32, &str)]) -> Upstream {
    let mut up = upstream(name, &[]);
    up.servers = servers
        .iter()
        .map(|(a, p, w, svc)| Server {
            weight: *w,
            ..server(a, *p, svc)
        })
        .collect();
    up
}

/// A host with nothing routed yet (set its context roots, redirects...).
pub fn bare_host(name: &str) -> VirtualHost {
    VirtualHost {
        upstream: None,
        ..host(name, upstream(name, &[]))
    }
}

pub fn context_root(path: &str, rewrite: bool, up: Upstream) -> ContextRoot {
    ContextRoot {
        path: path.into(),
        rewrite,
        upstream: up,
    }
}

pub fn redirect(scheme: Option<&str>, target: &str) -> Redirect {
    Redirect {
        scheme: scheme.map(String::from),
        target: target.into(),
    }
}

/// TLS termination with a combined certificate + key PEM.
pub fn combined_pem(path: &str) -> TlsFiles {
    TlsFiles {
        cert_path: path.into(),
        key_path: None,
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
