//! Builders for render inputs.

use sluice_plugin_kit::*;

pub fn server(address: &str, port: u16) -> Server {
    Server {
        address: address.into(),
        port,
        weight: 1,
        max_fails: None,
        fail_timeout_seconds: None,
        service: "svc".into(),
    }
}

pub fn upstream(name: &str, servers: &[(&str, u16)]) -> Upstream {
    Upstream {
        name: name.into(),
        servers: servers.iter().map(|(a, p)| server(a, *p)).collect(),
        sticky_cookie: None,
        ip_hash: false,
        tls: false,
        tls_verify: TlsVerify::None,
    }
}

pub fn host(name: &str) -> Host {
    Host {
        name: name.into(),
        upstream: None,
        context_roots: Vec::new(),
        websocket_endpoints: Vec::new(),
        redirects: Vec::new(),
        tls: None,
        passthrough: false,
    }
}

/// A host with one upstream named after it.
pub fn simple_host(name: &str, addr: &str) -> Host {
    let mut h = host(name);
    h.upstream = Some(upstream(
        &name.replace(['.', '-', '*'], "_"),
        &[(addr, 8080)],
    ));
    h
}

pub fn context_root(path: &str, rewrite: bool, upstream: Upstream) -> ContextRoot {
    ContextRoot {
        path: path.into(),
        rewrite,
        upstream,
    }
}

pub fn redirect(scheme: Option<&str>, target: &str) -> Redirect {
    Redirect {
        scheme: scheme.map(String::from),
        target: target.into(),
    }
}

pub fn tls_files(cert: &str, key: Option<&str>) -> TlsFiles {
    TlsFiles {
        cert_path: cert.into(),
        key_path: key.map(String::from),
    }
}

pub fn input(hosts: Vec<Host>, settings: Vec<Setting>) -> RenderInput {
    RenderInput {
        cluster: Cluster {
            name: "east".into(),
            service_cluster: "east".into(),
            http_port: 80,
            https_port: 443,
            config_path: "/etc/nginx/nginx.conf".into(),
            settings,
            server_info: "sluice/0.1.0".into(),
        },
        hosts,
        default_backend: None,
    }
}

pub fn text(key: &str, v: &str) -> Setting {
    Setting {
        key: key.into(),
        value: SettingValue::Text(v.into()),
    }
}

pub fn int(key: &str, v: i64) -> Setting {
    Setting {
        key: key.into(),
        value: SettingValue::Integer(v),
    }
}

pub fn boolean(key: &str, v: bool) -> Setting {
    Setting {
        key: key.into(),
        value: SettingValue::Boolean(v),
    }
}

pub fn list(key: &str, v: &[&str]) -> Setting {
    Setting {
        key: key.into(),
        value: SettingValue::TextList(v.iter().map(|s| s.to_string()).collect()),
    }
}

/// The config text of a successful render.
pub fn rendered(input: &RenderInput) -> String {
    match crate::render::render(input, &[]) {
        Ok(r) => r.files.into_iter().next().expect("main file").contents,
        Err(e) => panic!("render failed: {e:?}"),
    }
}
